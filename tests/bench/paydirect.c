/*
 * paydirect.c - the raw rate of the payment-success transaction: the very
 * statements the server's sandbox webhook issues for one notification
 * (inbox row, lock payment, lock order, settle order, settle payment,
 * journal, entries, the events of the payment and the order, COMMIT),
 * straight from C threads, one connection each, READ COMMITTED.
 *
 *   paydirect -S SOCKET -u USER -p PASSWORD -D DATABASE -i PAYMENTS_FILE -c THREADS -d SECONDS
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

static const char *sock, *user, *password, *database;
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

/* Binds "s" (string) and "i" (long long) arguments and executes; results
 * are buffered and discarded, except the first integer columns into out[]. */
static void run(MYSQL *m, MYSQL_STMT *st, long long *out, int outs, const char *types, ...)
{
    MYSQL_BIND b[16], r[32];
    unsigned long lens[16];
    long long ints[16];
    va_list ap;
    va_start(ap, types);
    memset(b, 0, sizeof(b));
    for (int i = 0; types[i]; i++) {
        if (types[i] == 's') {
            char *s = va_arg(ap, char *);
            lens[i] = strlen(s);
            b[i].buffer_type = MYSQL_TYPE_STRING;
            b[i].buffer = s;
            b[i].buffer_length = lens[i];
            b[i].length = &lens[i];
        } else {
            ints[i] = va_arg(ap, long long);
            b[i].buffer_type = MYSQL_TYPE_LONGLONG;
            b[i].buffer = &ints[i];
        }
    }
    va_end(ap);
    if (mysql_stmt_bind_param(st, b) || mysql_stmt_execute(st))
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
        snprintf(body, sizeof(body), "{\"payment_id\":\"%s\",\"provider_txn_id\":\"%s\",\"status\":\"succeeded\","
                                     "\"amount\":100000}", pay, txn);
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
    while ((opt = getopt(argc, argv, "S:u:p:D:i:c:d:")) != -1) {
        switch (opt) {
        case 'S': sock = optarg; break;
        case 'u': user = optarg; break;
        case 'p': password = optarg; break;
        case 'D': database = optarg; break;
        case 'i': file = optarg; break;
        case 'c': threads = atoi(optarg); break;
        case 'd': seconds = atoi(optarg); break;
        default: return 2;
        }
    }
    if (sock == NULL || file == NULL || threads < 1 || threads > THREADS_MAX)
        return 2;
    mysql_library_init(0, NULL, NULL);
    load(file);
    load_accounts();
    pthread_t tid[THREADS_MAX];
    worker_t w[THREADS_MAX];
    int64_t start = bench_now_ns();
    deadline_ns = start + (int64_t)seconds * 1000000000;
    for (int i = 0; i < threads; i++) {
        w[i] = (worker_t){malloc(id_count * sizeof(int64_t)), 0, id_count, i};
        pthread_create(&tid[i], NULL, work, &w[i]);
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
