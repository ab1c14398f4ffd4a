/*
 * dbdirect.c - the database's own limit for a create-order: the very
 * transaction the server issues (INSERT order, INSERT idempotency key with
 * its ~600-byte answer, COMMIT), straight from C threads, one connection
 * each, READ COMMITTED and autocommit off like the server's sessions.
 *
 *   dbdirect -S SOCKET -u USER -p PASSWORD -D DATABASE -m MERCHANT_PUBLIC_ID -c THREADS -d SECONDS
 * Prints: requests=N seconds=S rate=R p50_us=A p99_us=B
 */
#define _GNU_SOURCE
#include <mysql.h>
#include "bench_common.h"
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define THREADS_MAX 512
#define SAMPLES_PER_THREAD 400000

static const char *sock, *user, *password, *database, *merchant;
static int seconds = 30;
static long long merchant_id;
static int64_t deadline_ns;

static const char SQL_ORDER[] =
    "INSERT INTO orders (public_id, merchant_id, merchant_ref, fee_type, category, amount, currency, allow_partial, "
    "payer_name, payer_ref, payer_phone, payer_email, description, due_at, expires_at, metadata, code, created_at, "
    "updated_at) VALUES (?, ?, ?, 'utility', 'water', 250000, 'VND', 0, 'Nguyễn Văn A', ?, NULL, NULL, "
    "'Tiền nước tháng 11', NULL, NULL, NULL, ?, ?, ?)";
static const char SQL_KEY[] =
    "INSERT INTO idempotency_keys (scope, idem_key, fingerprint, state, status_code, response_body, created_at, "
    "expires_at) VALUES (?, ?, UNHEX(SHA2(?, 256)), 'done', 201, ?, ?, ?)";

typedef struct {
    int index;
    int64_t *lat;
    size_t n;
} worker_t;

static MYSQL *open_db(void)
{
    MYSQL *m = mysql_init(NULL);
    if (mysql_real_connect(m, "localhost", user, password, database, 0, sock, 0) == NULL ||
        mysql_query(m, "SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED") != 0 || mysql_autocommit(m, 0)) {
        fprintf(stderr, "dbdirect: %s\n", mysql_error(m));
        exit(1);
    }
    return m;
}

static void bind_str(MYSQL_BIND *b, char *s, unsigned long *len)
{
    memset(b, 0, sizeof(*b));
    *len = strlen(s);
    b->buffer_type = MYSQL_TYPE_STRING;
    b->buffer = s;
    b->buffer_length = *len;
    b->length = len;
}

static void bind_int(MYSQL_BIND *b, long long *v)
{
    memset(b, 0, sizeof(*b));
    b->buffer_type = MYSQL_TYPE_LONGLONG;
    b->buffer = v;
}

static void *work(void *arg)
{
    worker_t *w = arg;
    MYSQL *m = open_db();
    MYSQL_STMT *so = mysql_stmt_init(m), *sk = mysql_stmt_init(m);
    if (mysql_stmt_prepare(so, SQL_ORDER, strlen(SQL_ORDER)) || mysql_stmt_prepare(sk, SQL_KEY, strlen(SQL_KEY))) {
        fprintf(stderr, "dbdirect: prepare: %s\n", mysql_error(m));
        exit(1);
    }
    char id[40], ref[64], payer_ref[16], code[16], key[64], scope[40], body[700];
    unsigned long lens[12];
    long long mid = merchant_id, now, expires;
    MYSQL_BIND bo[7], bk[6];
    snprintf(scope, sizeof(scope), "%s", merchant);
    for (unsigned long long n = 0; bench_now_ns() < deadline_ns; n++) {
        now = (long long)time(NULL) * 1000;
        expires = now + 86400000LL;
        snprintf(id, sizeof(id), "ord_D%02d%020llu%05d", w->index, n, getpid() % 100000);
        snprintf(ref, sizeof(ref), "D%d-%d-%llu", getpid(), w->index, n);
        snprintf(payer_ref, sizeof(payer_ref), "KH%06llu", n % 1000000);
        snprintf(code, sizeof(code), "%02X%09llX", (unsigned)(w->index + (getpid() % 64) * 4) & 0xff,
                 (n * 7919ULL + (unsigned long long)getpid()) & 0xFFFFFFFFFULL);
        snprintf(key, sizeof(key), "direct-%d-%d-%llu", getpid(), w->index, n);
        int blen = snprintf(body, sizeof(body), "{\"id\":\"%s\",\"object\":\"order\",\"merchant_ref\":\"%s\"", id, ref);
        memset(body + blen, ' ', 560);
        body[blen + 560] = '}';
        body[blen + 561] = '\0';
        bind_str(&bo[0], id, &lens[0]);
        bind_int(&bo[1], &mid);
        bind_str(&bo[2], ref, &lens[1]);
        bind_str(&bo[3], payer_ref, &lens[2]);
        bind_str(&bo[4], code, &lens[3]);
        bind_int(&bo[5], &now);
        bind_int(&bo[6], &now);
        bind_str(&bk[0], scope, &lens[4]);
        bind_str(&bk[1], key, &lens[5]);
        bind_str(&bk[2], body, &lens[6]);
        bind_str(&bk[3], body, &lens[7]);
        bind_int(&bk[4], &now);
        bind_int(&bk[5], &expires);
        int64_t t0 = bench_now_ns();
        if (mysql_stmt_bind_param(so, bo) || mysql_stmt_execute(so) || mysql_stmt_bind_param(sk, bk) ||
            mysql_stmt_execute(sk) || mysql_commit(m)) {
            fprintf(stderr, "dbdirect: %s\n", mysql_error(m));
            mysql_rollback(m);
            continue;
        }
        if (w->n < SAMPLES_PER_THREAD)
            w->lat[w->n++] = bench_now_ns() - t0;
    }
    mysql_stmt_close(so);
    mysql_stmt_close(sk);
    mysql_close(m);
    mysql_thread_end();
    return NULL;
}

int main(int argc, char **argv)
{
    int opt, threads = 32;
    while ((opt = getopt(argc, argv, "S:u:p:D:m:c:d:")) != -1) {
        switch (opt) {
        case 'S': sock = optarg; break;
        case 'u': user = optarg; break;
        case 'p': password = optarg; break;
        case 'D': database = optarg; break;
        case 'm': merchant = optarg; break;
        case 'c': threads = atoi(optarg); break;
        case 'd': seconds = atoi(optarg); break;
        default: return 2;
        }
    }
    if (sock == NULL || merchant == NULL || threads < 1 || threads > THREADS_MAX)
        return 2;
    mysql_library_init(0, NULL, NULL);
    MYSQL *m = open_db();
    char q[200];
    snprintf(q, sizeof(q), "SELECT id FROM merchants WHERE public_id = '%.40s'", merchant);
    if (strspn(merchant, "mer_0123456789ABCDEFGHJKMNPQRSTVWXYZ") != strlen(merchant) || mysql_query(m, q) != 0)
        return 1;
    MYSQL_RES *res = mysql_store_result(m);
    MYSQL_ROW row = res != NULL ? mysql_fetch_row(res) : NULL;
    if (row == NULL)
        return 1;
    merchant_id = atoll(row[0]);
    mysql_free_result(res);
    mysql_close(m);
    pthread_t tid[THREADS_MAX];
    worker_t w[THREADS_MAX];
    int64_t start = bench_now_ns();
    deadline_ns = start + (int64_t)seconds * 1000000000;
    for (int i = 0; i < threads; i++) {
        w[i] = (worker_t){i, malloc(SAMPLES_PER_THREAD * sizeof(int64_t)), 0};
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
