/*
 * paydirect.c - the raw rate of the payment-success transaction: the very
 * statements the server's sandbox webhook issues for one notification
 * (inbox row, lock payment, lock order, settle order, settle payment,
 * journal, entries, the events of the payment and the order, COMMIT),
 * straight from C threads, one connection each, READ COMMITTED.
 *
 * With -g G (> 1), each transaction settles G payments the way the server's
 * group commit does: per payment the two locks and two updates, then for all
 * G the inbox rows, journals (RETURNING id), entries and events as one
 * multi-row INSERT each, and one COMMIT: the database's limit for the
 * server's own statement shape.  With -w as well, the locks and updates are
 * set-wise too, as the server applies a set of notifications: one locking
 * read of the G payments and their orders (in public id order), one UPDATE
 * of the orders and one of the payments driven by a JSON array of their
 * values (G up to 256).
 *
 *   paydirect -S SOCKET -u USER -p PASSWORD -D DATABASE -i PAYMENTS_FILE -c THREADS -d SECONDS [-g G [-w]]
 * PAYMENTS_FILE: lines "pay_… amount" of pending sandbox payments.
 * Prints: requests=N seconds=S rate=R p50_us=A p99_us=B
 */
#define _GNU_SOURCE
#include <mysql.h>
#include "bench_common.h"
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define THREADS_MAX 256
#define MERCHANTS_MAX 100000

#define GROUP_MAX 256

static const char *sock, *user, *password, *database;
static int group = 1, setwise = 0;
static char **ids;
static size_t id_count;
static atomic_size_t next_id;
static int64_t deadline_ns;
static long long merchant_account[MERCHANTS_MAX]; /* merchant id -> liability account id */
static long long clearing_account;

enum { S_INBOX, S_PAY, S_ORDER, S_ORDER_UPD, S_PAY_UPD, S_JOURNAL, S_ENTRIES, S_EVENT, S_COUNT };
static const char *const SQL[S_COUNT] = {
    "INSERT INTO webhook_inbox (adapter, provider_event_id, status, reason, method, query, headers, body, "
    "response_status, response_body, received_at) VALUES ('sandbox', ?, 'applied', NULL, 'POST', NULL, ?, ?, 200, "
    "'{\"received\":true}', ?)",
    "SELECT p.id, p.order_id, p.merchant_id, p.public_id, p.adapter, p.currency, p.status, p.provider_txn_id, "
    "(SELECT o.public_id FROM orders o WHERE o.id = p.order_id), (SELECT m.public_id FROM merchants m WHERE m.id = "
    "p.merchant_id), p.amount, p.amount_received, p.amount_applied, p.amount_unapplied, p.amount_refunded, "
    "p.amount_refunding, p.created_at, p.updated_at FROM payments p WHERE p.public_id = ? AND (? = 0 OR p.merchant_id = ?) "
    "FOR UPDATE",
    "SELECT id, public_id, merchant_ref, fee_type, category, amount, currency, amount_paid, amount_refunded, allow_partial, "
    "status, payer_name, payer_ref, payer_phone, payer_email, description, due_at, expires_at, metadata, code, created_at, "
    "updated_at FROM orders WHERE id = ? FOR UPDATE",
    "UPDATE orders SET amount_paid = ?, status = 'paid', updated_at = ? WHERE id = ? AND amount_paid = 0",
    "UPDATE payments SET status = 'succeeded', provider_txn_id = ?, amount_received = ?, amount_applied = ?, "
    "amount_unapplied = 0, provider_payload = ?, updated_at = ? WHERE id = ? AND status <> 'succeeded'",
    "INSERT INTO journals (public_id, kind, payment_id, refund_id, reverses_id, memo, created_at) "
    "VALUES (?, 'payment', ?, NULL, NULL, ?, ?)",
    "INSERT INTO ledger_entries (journal_id, account_id, amount, currency, created_at) VALUES "
    "(?, ?, ?, 'VND', ?), (?, ?, ?, 'VND', ?)",
    "INSERT INTO events (public_id, merchant_id, type, order_id, payload, created_at) VALUES (?, ?, ?, ?, ?, ?)",
};

static void die(MYSQL *m, const char *what)
{
    fprintf(stderr, "paydirect: %s: %s\n", what, mysql_error(m));
    exit(1);
}

/* Parameters of one statement, appended in order. */
typedef struct {
    MYSQL_BIND b[GROUP_MAX * 12];
    long long ints[GROUP_MAX * 12];
    unsigned long lens[GROUP_MAX * 12];
    int n;
} params_t;

static void p_int(params_t *p, long long v)
{
    MYSQL_BIND *b = memset(&p->b[p->n], 0, sizeof(MYSQL_BIND));
    p->ints[p->n] = v;
    b->buffer_type = MYSQL_TYPE_LONGLONG;
    b->buffer = &p->ints[p->n++];
}

static void p_str(params_t *p, const char *s)
{
    MYSQL_BIND *b = memset(&p->b[p->n], 0, sizeof(MYSQL_BIND));
    p->lens[p->n] = strlen(s);
    b->buffer_type = MYSQL_TYPE_STRING;
    b->buffer = (void *)s;
    b->buffer_length = p->lens[p->n];
    b->length = &p->lens[p->n++];
}

/* Binds "s" (string) and "i" (long long) arguments and executes; results
 * are buffered and discarded, except the first integer columns into out[]. */
static void run(MYSQL *m, MYSQL_STMT *st, long long *out, int outs, const char *types, ...)
{
    static __thread params_t p;
    MYSQL_BIND r[32];
    va_list ap;
    va_start(ap, types);
    p.n = 0;
    for (int i = 0; types[i]; i++) {
        if (types[i] == 's')
            p_str(&p, va_arg(ap, char *));
        else
            p_int(&p, va_arg(ap, long long));
    }
    va_end(ap);
    if (mysql_stmt_bind_param(st, p.b) || mysql_stmt_execute(st))
        die(m, mysql_stmt_error(st));
    if (mysql_stmt_field_count(st) > 0) {
        memset(r, 0, sizeof(r));
        for (int i = 0; i < 32; i++)
            r[i].buffer_type = MYSQL_TYPE_NULL; /* columns not wanted are skipped */
        for (int i = 0; i < outs; i++) {
            r[i].buffer_type = MYSQL_TYPE_LONGLONG;
            r[i].buffer = &out[i];
        }
        mysql_stmt_store_result(st);
        if (outs > 0) {
            mysql_stmt_bind_result(st, r);
            mysql_stmt_fetch(st);
        }
        mysql_stmt_free_result(st);
    }
}

static MYSQL *open_db(void)
{
    MYSQL *m = mysql_init(NULL);
    if (mysql_real_connect(m, "localhost", user, password, database, 0, sock, 0) == NULL ||
        mysql_query(m, "SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED") != 0 || mysql_autocommit(m, 0))
        die(m, "connect");
    return m;
}

typedef struct {
    int64_t *lat;
    size_t n, cap;
    int index;
} worker_t;

static void *work(void *arg)
{
    worker_t *w = arg;
    MYSQL *m = open_db();
    MYSQL_STMT *st[S_COUNT];
    for (int i = 0; i < S_COUNT; i++) {
        st[i] = mysql_stmt_init(m);
        if (mysql_stmt_prepare(st[i], SQL[i], strlen(SQL[i])))
            die(m, SQL[i]);
    }
    char body[256], txn[64], jid[40], eid[40];
    for (;;) {
        size_t k = atomic_fetch_add(&next_id, 1);
        if (k >= id_count || bench_now_ns() >= deadline_ns)
            break;
        const char *pay = ids[k];
        long long now = (long long)time(NULL) * 1000, pr[3] = {0}, order_id = 0, journal;
        snprintf(txn, sizeof(txn), "DIRECT-%d-%zu", (int)getpid(), k);
        snprintf(body, sizeof(body),
                 "{\"payment_id\":\"%s\",\"provider_txn_id\":\"%s\",\"status\":\"succeeded\","
                 "\"amount\":100000}",
                 pay, txn);
        snprintf(jid, sizeof(jid), "jrn_D%07d%018zu", (int)getpid(), k);
        int64_t t0 = bench_now_ns();
        run(m, st[S_INBOX], NULL, 0, "sssi", txn, "x-signature: t=0,v1=0\ncontent-type: application/json\n", body, now);
        run(m, st[S_PAY], pr, 3, "sii", pay, 0LL, 0LL);
        order_id = pr[1];
        run(m, st[S_ORDER], NULL, 0, "i", order_id);
        run(m, st[S_ORDER_UPD], NULL, 0, "iii", 100000LL, now, order_id);
        run(m, st[S_PAY_UPD], NULL, 0, "siisii", txn, 100000LL, 100000LL, body, now, pr[0]);
        run(m, st[S_JOURNAL], NULL, 0, "sisi", jid, pr[0], pay, now);
        journal = (long long)mysql_stmt_insert_id(st[S_JOURNAL]);
        long long account = pr[2] < MERCHANTS_MAX ? merchant_account[pr[2]] : 0;
        run(m, st[S_ENTRIES], NULL, 0, "iiiiiiii", journal, clearing_account, 100000LL, now, journal, account,
            -100000LL, now);
        snprintf(eid, sizeof(eid), "evt_DP%07d%017zu", (int)getpid(), k);
        run(m, st[S_EVENT], NULL, 0, "sisisi", eid, pr[2], "payment.succeeded", order_id, body, now);
        snprintf(eid, sizeof(eid), "evt_DO%07d%017zu", (int)getpid(), k);
        run(m, st[S_EVENT], NULL, 0, "sisisi", eid, pr[2], "order.paid", order_id, body, now);
        if (mysql_commit(m))
            die(m, "commit");
        if (w->n < w->cap)
            w->lat[w->n++] = bench_now_ns() - t0;
    }
    for (int i = 0; i < S_COUNT; i++)
        mysql_stmt_close(st[i]);
    mysql_close(m);
    mysql_thread_end();
    return NULL;
}

/* ---- -g: G payments per transaction, appends as multi-row INSERTs -------- */

enum { M_INBOX, M_JOURNAL, M_ENTRIES, M_EVENTS, M_COUNT };
static char *multi_sql[M_COUNT];

static char *rows_sql(const char *head, const char *row, int n, const char *tail)
{
    size_t cap = strlen(head) + (size_t)n * (strlen(row) + 2) + strlen(tail) + 1;
    char *sql = malloc(cap), *at = sql;
    at += sprintf(at, "%s", head);
    for (int i = 0; i < n; i++)
        at += sprintf(at, "%s%s", i > 0 ? ", " : "", row);
    sprintf(at, "%s", tail);
    return sql;
}

static void build_multi(void)
{
    multi_sql[M_INBOX] =
        rows_sql("INSERT INTO webhook_inbox (adapter, provider_event_id, status, reason, method, query, "
                 "headers, body, response_status, response_body, received_at) VALUES ",
                 "('sandbox', ?, 'applied', NULL, 'POST', NULL, ?, ?, 200, '{\"received\":true}', ?)", group, "");
    multi_sql[M_JOURNAL] = rows_sql("INSERT INTO journals (public_id, kind, payment_id, refund_id, reverses_id, memo, "
                                    "created_at) VALUES ",
                                    "(?, 'payment', ?, NULL, NULL, ?, ?)", group, " RETURNING id");
    multi_sql[M_ENTRIES] = rows_sql("INSERT INTO ledger_entries (journal_id, account_id, amount, currency, created_at) "
                                    "VALUES ",
                                    "(?, ?, ?, 'VND', ?)", 2 * group, "");
    multi_sql[M_EVENTS] = rows_sql("INSERT INTO events (public_id, merchant_id, type, order_id, payload, created_at) "
                                   "VALUES ",
                                   "(?, ?, ?, ?, ?, ?)", 2 * group, "");
}

static void p_exec(MYSQL *m, MYSQL_STMT *st, params_t *p, long long *out, int want)
{
    if (mysql_stmt_bind_param(st, p->b) || mysql_stmt_execute(st))
        die(m, mysql_stmt_error(st));
    p->n = 0;
    if (want == 0)
        return;
    long long id = 0;
    MYSQL_BIND r;
    memset(&r, 0, sizeof(r));
    r.buffer_type = MYSQL_TYPE_LONGLONG;
    r.buffer = &id;
    if (mysql_stmt_store_result(st) || mysql_stmt_bind_result(st, &r))
        die(m, mysql_stmt_error(st));
    for (int i = 0; mysql_stmt_fetch(st) == 0; i++)
        if (i < want)
            out[i] = id;
    mysql_stmt_free_result(st);
}

/* ---- -w: the locks and updates of a set, one statement each ------------------ */

enum { W_LOCK, W_ORDERS, W_PAYMENTS, W_COUNT };
static const char *const SET_SQL[W_COUNT] = {
    "SELECT j.i, p.id, p.order_id, p.merchant_id, p.public_id, p.adapter, p.currency, p.status, p.provider_txn_id, "
    "p.amount, p.amount_received, o.public_id, o.merchant_ref, o.fee_type, o.amount, o.amount_paid, o.status, "
    "o.payer_name, o.payer_email, o.description, o.code FROM JSON_TABLE(?, '$[*]' COLUMNS (i INT PATH '$[0]', pid "
    "VARCHAR(64) PATH '$[1]')) j STRAIGHT_JOIN payments p ON p.public_id = j.pid JOIN orders o ON o.id = p.order_id "
    "FOR UPDATE",
    "UPDATE JSON_TABLE(?, '$[*]' COLUMNS (id BIGINT UNSIGNED PATH '$[0]', paid BIGINT PATH '$[1]', prev BIGINT PATH "
    "'$[2]', now BIGINT PATH '$[3]', st VARCHAR(16) PATH '$[4]')) j STRAIGHT_JOIN orders o ON o.id = j.id SET "
    "o.amount_paid = j.paid, o.status = j.st, o.updated_at = j.now WHERE o.amount_paid = j.prev",
    "UPDATE JSON_TABLE(?, '$[*]' COLUMNS (id BIGINT UNSIGNED PATH '$[0]', now BIGINT PATH '$[1]', txn VARCHAR(64) "
    "PATH '$[2]', raw MEDIUMTEXT PATH '$[3]', received BIGINT PATH '$[4]', applied BIGINT PATH '$[5]', unapplied "
    "BIGINT PATH '$[6]', receipt VARCHAR(40) PATH '$[7]')) j STRAIGHT_JOIN payments p ON p.id = j.id SET p.status = "
    "'succeeded', p.provider_txn_id = NULLIF(j.txn, ''), p.amount_received = j.received, p.amount_applied = "
    "j.applied, p.amount_unapplied = j.unapplied, p.provider_payload = j.raw, p.updated_at = j.now, p.receipt_id = "
    "NULLIF(j.receipt, '') WHERE p.status <> 'succeeded'",
};

typedef struct {
    const char *pid;
    int g;
} pair_t;

static int by_pid(const void *a, const void *b) { return strcmp(((const pair_t *)a)->pid, ((const pair_t *)b)->pid); }

/* Executes st with one string parameter; with out, reads every row's first
 * four integer columns (member, payment, order, merchant). */
static void run_json(MYSQL *m, MYSQL_STMT *st, const char *json, long long (*out)[4], int rows)
{
    MYSQL_BIND b, r[32];
    unsigned long len = strlen(json);
    long long v[4];
    memset(&b, 0, sizeof(b));
    b.buffer_type = MYSQL_TYPE_STRING;
    b.buffer = (void *)json;
    b.buffer_length = len;
    b.length = &len;
    if (mysql_stmt_bind_param(st, &b) || mysql_stmt_execute(st))
        die(m, mysql_stmt_error(st));
    if (out == NULL) {
        if ((int)mysql_stmt_affected_rows(st) != rows)
            die(m, "a set update changed fewer rows than it named");
        return;
    }
    memset(r, 0, sizeof(r));
    for (int i = 0; i < 32; i++)
        r[i].buffer_type = MYSQL_TYPE_NULL; /* the other columns are read, not kept */
    for (int i = 0; i < 4; i++) {
        r[i].buffer_type = MYSQL_TYPE_LONGLONG;
        r[i].buffer = &v[i];
    }
    if (mysql_stmt_store_result(st) || mysql_stmt_bind_result(st, r))
        die(m, mysql_stmt_error(st));
    int got = 0;
    for (int rc; (rc = mysql_stmt_fetch(st)) == 0 || rc == MYSQL_DATA_TRUNCATED;)
        if (v[0] >= 0 && v[0] < rows) {
            memcpy(out[v[0]], v, sizeof(v));
            got++;
        }
    mysql_stmt_free_result(st);
    if (got != rows)
        die(m, "the set's lock found fewer payments than it named");
}

static void *work_grouped(void *arg)
{
    worker_t *w = arg;
    MYSQL *m = open_db();
    MYSQL_STMT *st[S_COUNT], *ms[M_COUNT];
    static __thread params_t par;
    for (int i = 0; i < S_COUNT; i++) {
        st[i] = mysql_stmt_init(m);
        if (mysql_stmt_prepare(st[i], SQL[i], strlen(SQL[i])))
            die(m, SQL[i]);
    }
    for (int i = 0; i < M_COUNT; i++) {
        ms[i] = mysql_stmt_init(m);
        if (mysql_stmt_prepare(ms[i], multi_sql[i], strlen(multi_sql[i])))
            die(m, multi_sql[i]);
    }
    MYSQL_STMT *ws[W_COUNT];
    for (int i = 0; i < W_COUNT; i++) {
        ws[i] = mysql_stmt_init(m);
        if (mysql_stmt_prepare(ws[i], SET_SQL[i], strlen(SET_SQL[i])))
            die(m, SET_SQL[i]);
    }
    static __thread char body[GROUP_MAX][256], txn[GROUP_MAX][64], jid[GROUP_MAX][40], eid[GROUP_MAX][2][40];
    static __thread long long order[GROUP_MAX], merchant[GROUP_MAX], journal[GROUP_MAX], payment[GROUP_MAX];
    static __thread long long found[GROUP_MAX][4];
    static __thread pair_t pairs[GROUP_MAX];
    char *json = malloc((size_t)GROUP_MAX * 512 + 16);
    for (;;) {
        size_t k = atomic_fetch_add(&next_id, (size_t)group);
        if (k + (size_t)group > id_count || bench_now_ns() >= deadline_ns)
            break;
        long long now = (long long)time(NULL) * 1000;
        int64_t t0 = bench_now_ns();
        for (int g = 0; g < group; g++) {
            const char *pay = ids[k + (size_t)g];
            long long pr[3] = {0};
            snprintf(txn[g], sizeof(txn[g]), "DIRECT-%d-%zu", (int)getpid(), k + (size_t)g);
            snprintf(body[g], sizeof(body[g]),
                     "{\"payment_id\":\"%s\",\"provider_txn_id\":\"%s\","
                     "\"status\":\"succeeded\",\"amount\":100000}",
                     pay, txn[g]);
            snprintf(jid[g], sizeof(jid[g]), "jrn_G%07d%018zu", (int)getpid(), k + (size_t)g);
            snprintf(eid[g][0], sizeof(eid[g][0]), "evt_GP%07d%017zu", (int)getpid(), k + (size_t)g);
            snprintf(eid[g][1], sizeof(eid[g][1]), "evt_GO%07d%017zu", (int)getpid(), k + (size_t)g);
            if (setwise) {
                pairs[g] = (pair_t){pay, g};
                continue;
            }
            run(m, st[S_PAY], pr, 3, "sii", pay, 0LL, 0LL);
            payment[g] = pr[0];
            order[g] = pr[1];
            merchant[g] = pr[2];
            run(m, st[S_ORDER], NULL, 0, "i", order[g]);
            run(m, st[S_ORDER_UPD], NULL, 0, "iii", 100000LL, now, order[g]);
            run(m, st[S_PAY_UPD], NULL, 0, "siisii", txn[g], 100000LL, 100000LL, body[g], now, payment[g]);
        }
        if (setwise) {
            char *at = json;
            qsort(pairs, (size_t)group, sizeof(pairs[0]), by_pid);
            for (int g = 0; g < group; g++)
                at += sprintf(at, "%c[%d,\"%s\"]", g == 0 ? '[' : ',', pairs[g].g, pairs[g].pid);
            sprintf(at, "]");
            run_json(m, ws[W_LOCK], json, found, group);
            at = json;
            for (int g = 0; g < group; g++) {
                payment[g] = found[g][1];
                order[g] = found[g][2];
                merchant[g] = found[g][3];
                at += sprintf(at, "%c[%lld,100000,0,%lld,\"paid\"]", g == 0 ? '[' : ',', order[g], now);
            }
            sprintf(at, "]");
            run_json(m, ws[W_ORDERS], json, NULL, group);
            at = json;
            for (int g = 0; g < group; g++) /* the body is JSON without quotes to escape but its own */
                at += sprintf(at, "%c[%lld,%lld,\"%s\",\"%s\",100000,100000,0,\"\"]", g == 0 ? '[' : ',', payment[g],
                              now, txn[g], "{}");
            sprintf(at, "]");
            run_json(m, ws[W_PAYMENTS], json, NULL, group);
        }
        for (int g = 0; g < group; g++) {
            p_str(&par, txn[g]);
            p_str(&par, "x-signature: t=0,v1=0\ncontent-type: application/json\n");
            p_str(&par, body[g]);
            p_int(&par, now);
        }
        p_exec(m, ms[M_INBOX], &par, NULL, 0);
        for (int g = 0; g < group; g++) {
            p_str(&par, jid[g]);
            p_int(&par, payment[g]);
            p_str(&par, ids[k + (size_t)g]);
            p_int(&par, now);
        }
        p_exec(m, ms[M_JOURNAL], &par, journal, group);
        for (int g = 0; g < group; g++) {
            long long account = merchant[g] < MERCHANTS_MAX ? merchant_account[merchant[g]] : 0;
            p_int(&par, journal[g]);
            p_int(&par, clearing_account);
            p_int(&par, 100000LL);
            p_int(&par, now);
            p_int(&par, journal[g]);
            p_int(&par, account);
            p_int(&par, -100000LL);
            p_int(&par, now);
        }
        p_exec(m, ms[M_ENTRIES], &par, NULL, 0);
        for (int g = 0; g < group; g++)
            for (int e = 0; e < 2; e++) {
                p_str(&par, eid[g][e]);
                p_int(&par, merchant[g]);
                p_str(&par, e == 0 ? "payment.succeeded" : "order.paid");
                p_int(&par, order[g]);
                p_str(&par, body[g]);
                p_int(&par, now);
            }
        p_exec(m, ms[M_EVENTS], &par, NULL, 0);
        if (mysql_commit(m))
            die(m, "commit");
        for (int g = 0; g < group && w->n < w->cap; g++)
            w->lat[w->n++] = bench_now_ns() - t0;
    }
    for (int i = 0; i < S_COUNT; i++)
        mysql_stmt_close(st[i]);
    for (int i = 0; i < M_COUNT; i++)
        mysql_stmt_close(ms[i]);
    for (int i = 0; i < W_COUNT; i++)
        mysql_stmt_close(ws[i]);
    free(json);
    mysql_close(m);
    mysql_thread_end();
    return NULL;
}

static void load(const char *path)
{
    FILE *f = fopen(path, "r");
    char line[256];
    size_t cap = 1024;
    if (f == NULL) {
        perror(path);
        exit(2);
    }
    ids = malloc(cap * sizeof(char *));
    while (fgets(line, sizeof(line), f) != NULL) {
        char id[128];
        if (sscanf(line, "%127s", id) != 1)
            continue;
        if (id_count == cap)
            ids = realloc(ids, (cap *= 2) * sizeof(char *));
        ids[id_count++] = strdup(id);
    }
    fclose(f);
}

static void load_accounts(void)
{
    MYSQL *m = open_db();
    if (mysql_query(m, "SELECT id, COALESCE(merchant_id, 0), code FROM ledger_accounts WHERE currency = 'VND'"))
        die(m, "accounts");
    MYSQL_RES *res = mysql_store_result(m);
    MYSQL_ROW row;
    while ((row = mysql_fetch_row(res)) != NULL) {
        long long id = atoll(row[0]), merchant = atoll(row[1]);
        if (merchant > 0 && merchant < MERCHANTS_MAX)
            merchant_account[merchant] = id;
        if (strcmp(row[2], "assets:clearing:sandbox") == 0)
            clearing_account = id;
    }
    mysql_free_result(res);
    mysql_close(m);
}

int main(int argc, char **argv)
{
    int opt, threads = 32, seconds = 15;
    const char *file = NULL;
    while ((opt = getopt(argc, argv, "S:u:p:D:i:c:d:g:w")) != -1) {
        switch (opt) {
        case 'S': sock = optarg; break;
        case 'u': user = optarg; break;
        case 'p': password = optarg; break;
        case 'D': database = optarg; break;
        case 'i': file = optarg; break;
        case 'c': threads = atoi(optarg); break;
        case 'd': seconds = atoi(optarg); break;
        case 'g': group = atoi(optarg); break;
        case 'w': setwise = 1; break;
        default: return 2;
        }
    }
    if (sock == NULL || file == NULL || threads < 1 || threads > THREADS_MAX || group < 1 || group > GROUP_MAX ||
        (setwise && group < 2))
        return 2;
    if (group > 1)
        build_multi();
    mysql_library_init(0, NULL, NULL);
    load(file);
    load_accounts();
    pthread_t tid[THREADS_MAX];
    worker_t w[THREADS_MAX];
    int64_t start = bench_now_ns();
    deadline_ns = start + (int64_t)seconds * 1000000000;
    for (int i = 0; i < threads; i++) {
        w[i] = (worker_t){malloc(id_count * sizeof(int64_t)), 0, id_count, i};
        pthread_create(&tid[i], NULL, group > 1 ? work_grouped : work, &w[i]);
    }
    int64_t *lat[THREADS_MAX];
    size_t counts[THREADS_MAX];
    for (int i = 0; i < threads; i++) {
        pthread_join(tid[i], NULL);
        lat[i] = w[i].lat;
        counts[i] = w[i].n;
    }
    bench_summary(lat, counts, threads, start);
    mysql_library_end();
    return 0;
}
