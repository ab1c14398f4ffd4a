/*
 * dbdirect.c - limit B: what MariaDB itself sustains for the transaction a
 * create-order with an Idempotency-Key issues, with no HTTP server in front.
 *
 * Each of THREADS threads owns one connection set up exactly like a server
 * pool connection (services/db/db.c: utf8mb4, CLIENT_FOUND_ROWS, READ
 * COMMITTED, UTC, strict sql_mode, autocommit off) and loops until the
 * duration is over on the server's own statements, with the server's
 * parameter types (services/orders/store.c, services/http/idempotency.c):
 *
 *   INSERT INTO orders (... 19 columns ...)             -- ULID public_id, random code
 *   INSERT INTO idempotency_keys (... 'done', 201, ...) -- SHA-256 fingerprint, ~600-byte answer
 *   COMMIT
 *
 * Values are what h2gen's create-orders produce (same fee type, amount, payer,
 * description; merchant_ref "D<run>-<thread>-<n>"), and the stored answer is
 * the order's JSON as the API renders it.  Everything but the three round
 * trips is prepared before the clock starts: the latency is the database's.
 *
 *   dbdirect -S SOCKET -u USER -p PASSWORD -D DATABASE -m MERCHANT_PUBLIC_ID -c THREADS -d SECONDS
 *
 * Prints one line on stdout:
 *   requests=N seconds=S rate=R p50_us=A p99_us=B errors=E
 * requests counts committed transactions, rate is requests / seconds (start
 * to the last thread's end), p50/p99 the latency from the first INSERT to
 * COMMIT returning.  Exit status: 0 when no transaction failed.
 */
#define _GNU_SOURCE
#include <mysql.h>
#include <openssl/sha.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#define THREADS_MAX 1024
#define ERRORS_ECHOED 5
/* The server's Idempotency-Key lifetime (services/http/http.h). */
#define IDEM_TTL_MS (24LL * 3600 * 1000)

/* Verbatim from services/orders/store.c and services/http/idempotency.c. */
static const char SQL_INSERT_ORDER[] =
    "INSERT INTO orders (public_id, merchant_id, merchant_ref, fee_type, category, amount, currency, allow_partial, "
    "payer_name, payer_ref, payer_phone, payer_email, description, due_at, expires_at, metadata, code, created_at, "
    "updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";
static const char SQL_INSERT_KEY[] =
    "INSERT INTO idempotency_keys (scope, idem_key, fingerprint, state, status_code, response_body, created_at, "
    "expires_at) VALUES (?, ?, ?, 'done', ?, ?, ?, ?)";

/* Verbatim from services/db/db.c. */
static const char *const SESSION_SETUP[] = {
    "SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED",
    "SET SESSION time_zone = '+00:00'",
    ("SET SESSION sql_mode = 'STRICT_ALL_TABLES,NO_ZERO_DATE,NO_ZERO_IN_DATE,ERROR_FOR_DIVISION_BY_ZERO,"
     "NO_ENGINE_SUBSTITUTION'"),
};

static const char CROCKFORD[33] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/* What h2gen sends for every order. */
#define FEE_TYPE "utility"
#define CATEGORY "water"
#define AMOUNT 250000
#define CURRENCY "VND"
#define PAYER_NAME "Nguyễn Văn A"
#define DESCRIPTION "Tiền nước tháng 11"
/* The server's default public.base_url (the pay_url in the stored answer). */
#define BASE_URL "http://127.0.0.1:8080"

static struct {
    const char *socket, *user, *password, *database, *merchant;
    int threads, seconds;
    long long merchant_id;
    char run_tag[24];
    int64_t deadline_ns;
    atomic_uint_fast64_t errors;
} g;

typedef struct {
    int index;
    uint64_t rng;
    int64_t *lat;
    size_t n, cap;
} worker_t;

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* xorshift64*: the ids need to be spread like random ones, not be secret. */
static uint64_t next_random(uint64_t *state)
{
    uint64_t x = *state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *state = x;
    return x * 0x2545F4914F6CDD1DULL;
}

/* "ord_" + ULID: 48-bit milliseconds then 80 random bits, 26 Crockford symbols
 * (like fg_id_new: time-ordered, so inserts land at the b-tree's right edge). */
static void new_public_id(worker_t *w, int64_t ms, char out[31])
{
    uint8_t b[16];
    uint64_t r1 = next_random(&w->rng), r2 = next_random(&w->rng);
    for (int i = 0; i < 6; i++)
        b[i] = (uint8_t)((uint64_t)ms >> (40 - 8 * i));
    memcpy(b + 6, &r1, 8);
    memcpy(b + 14, &r2, 2);
    memcpy(out, "ord_", 4);
    /* 26 symbols of 5 bits cover 130 bits: the top two are zero */
    for (int i = 0; i < 26; i++) {
        unsigned v = 0;
        for (int bit = 129 - 5 * i; bit > 124 - 5 * i; bit--)
            v = v << 1 | (bit < 128 ? (unsigned)(b[15 - bit / 8] >> (bit % 8)) & 1u : 0u);
        out[4 + i] = CROCKFORD[v];
    }
    out[30] = '\0';
}

/* 10 random Crockford symbols and the Luhn mod 32 check (fg_order_code_new). */
static void new_code(worker_t *w, char out[12])
{
    uint64_t r = next_random(&w->rng);
    int sum = 0, factor = 2;
    for (int i = 0; i < 10; i++)
        out[i] = CROCKFORD[(r >> (5 * i)) & 31];
    for (int i = 9; i >= 0; i--) {
        int addend = factor * (int)((r >> (5 * i)) & 31);
        sum += addend / 32 + addend % 32;
        factor = factor == 2 ? 1 : 2;
    }
    out[10] = CROCKFORD[(32 - sum % 32) % 32];
    out[11] = '\0';
}

static void rfc3339(int64_t ms, char out[32])
{
    time_t s = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&s, &tm);
    strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* ---- binding ------------------------------------------------------------- */

/* One transaction's values; the statements are bound to these once. */
typedef struct {
    char public_id[31], merchant_ref[64], payer_ref[16], code[12];
    char idem_key[64], scope[48];
    unsigned char fingerprint[SHA256_DIGEST_LENGTH];
    char request[512], answer[1024];
    long long merchant_id, amount, allow_partial, status_code, created_at, expires_at;
    unsigned long public_id_len, merchant_ref_len, payer_ref_len, code_len, idem_key_len, scope_len, fingerprint_len,
        answer_len;
    unsigned long fee_type_len, category_len, currency_len, payer_name_len, description_len;
} tx_values_t;

static void bind_bytes(MYSQL_BIND *b, enum enum_field_types type, const void *buf, unsigned long *len)
{
    memset(b, 0, sizeof(*b));
    b->buffer_type = type;
    b->buffer = (void *)buf;
    b->length = len;
}

static void bind_const(MYSQL_BIND *b, const char *s, unsigned long *len)
{
    *len = strlen(s);
    bind_bytes(b, MYSQL_TYPE_STRING, s, len);
    b->buffer_length = *len;
}

static void bind_int(MYSQL_BIND *b, long long *v)
{
    memset(b, 0, sizeof(*b));
    b->buffer_type = MYSQL_TYPE_LONGLONG;
    b->buffer = v;
}

static void bind_null(MYSQL_BIND *b)
{
    memset(b, 0, sizeof(*b));
    b->buffer_type = MYSQL_TYPE_NULL;
}

/* The server's types: strings as STRING, NULLs as NULL, key/fingerprint/body as BLOB. */
static void bind_order(MYSQL_BIND bo[19], tx_values_t *v)
{
    bind_bytes(&bo[0], MYSQL_TYPE_STRING, v->public_id, &v->public_id_len);
    bind_int(&bo[1], &v->merchant_id);
    bind_bytes(&bo[2], MYSQL_TYPE_STRING, v->merchant_ref, &v->merchant_ref_len);
    bind_const(&bo[3], FEE_TYPE, &v->fee_type_len);
    bind_const(&bo[4], CATEGORY, &v->category_len);
    bind_int(&bo[5], &v->amount);
    bind_const(&bo[6], CURRENCY, &v->currency_len);
    bind_int(&bo[7], &v->allow_partial);
    bind_const(&bo[8], PAYER_NAME, &v->payer_name_len);
    bind_bytes(&bo[9], MYSQL_TYPE_STRING, v->payer_ref, &v->payer_ref_len);
    bind_null(&bo[10]); /* payer_phone */
    bind_null(&bo[11]); /* payer_email */
    bind_const(&bo[12], DESCRIPTION, &v->description_len);
    bind_null(&bo[13]); /* due_at */
    bind_null(&bo[14]); /* expires_at */
    bind_null(&bo[15]); /* metadata */
    bind_bytes(&bo[16], MYSQL_TYPE_STRING, v->code, &v->code_len);
    bind_int(&bo[17], &v->created_at);
    bind_int(&bo[18], &v->created_at); /* updated_at */
}

static void bind_key(MYSQL_BIND bk[7], tx_values_t *v)
{
    bind_bytes(&bk[0], MYSQL_TYPE_STRING, v->scope, &v->scope_len);
    bind_bytes(&bk[1], MYSQL_TYPE_BLOB, v->idem_key, &v->idem_key_len);
    bind_bytes(&bk[2], MYSQL_TYPE_BLOB, v->fingerprint, &v->fingerprint_len);
    bind_int(&bk[3], &v->status_code);
    bind_bytes(&bk[4], MYSQL_TYPE_BLOB, v->answer, &v->answer_len);
    bind_int(&bk[5], &v->created_at);
    bind_int(&bk[6], &v->expires_at);
}

/* Fills v with order n of worker w: the values, the request the API would
 * have received, its fingerprint and the answer the API stores. */
static void make_order(worker_t *w, unsigned long long n, tx_values_t *v)
{
    char when[32];
    int64_t ms = wall_ms();
    v->created_at = ms;
    v->expires_at = ms + IDEM_TTL_MS;
    new_public_id(w, ms, v->public_id);
    new_code(w, v->code);
    snprintf(v->merchant_ref, sizeof(v->merchant_ref), "D%s-%d-%llu", g.run_tag, w->index, n);
    snprintf(v->payer_ref, sizeof(v->payer_ref), "KH%06llu", n % 1000000);
    snprintf(v->idem_key, sizeof(v->idem_key), "bench-%s-d%d-%llu", g.run_tag, w->index, n);

    /* fg_idem_fingerprint: SHA-256 of "POST\n/v1/orders\n<length>\n<body>" */
    int body_len = snprintf(v->request, sizeof(v->request),
                            "{\"merchant_ref\":\"%s\",\"fee_type\":\"" FEE_TYPE "\",\"category\":\"" CATEGORY
                            "\",\"amount\":%d,\"currency\":\"" CURRENCY "\",\"description\":\"" DESCRIPTION
                            "\",\"payer\":{\"name\":\"" PAYER_NAME "\",\"ref\":\"%s\"}}",
                            v->merchant_ref, AMOUNT, v->payer_ref);
    char fp_input[600];
    int fp_len = snprintf(fp_input, sizeof(fp_input), "POST\n/v1/orders\n%d\n%s", body_len, v->request);
    SHA256((const unsigned char *)fp_input, (size_t)fp_len, v->fingerprint);

    /* fg_order_json */
    rfc3339(ms, when);
    int answer_len = snprintf(
        v->answer, sizeof(v->answer),
        "{\"id\":\"%s\",\"object\":\"order\",\"merchant_id\":\"%s\",\"merchant_ref\":\"%s\",\"fee_type\":\"" FEE_TYPE
        "\",\"category\":\"" CATEGORY "\",\"amount\":%d,\"currency\":\"" CURRENCY "\",\"amount_paid\":0,"
        "\"amount_refunded\":0,\"allow_partial\":false,\"status\":\"open\",\"payer\":{\"name\":\"" PAYER_NAME
        "\",\"ref\":\"%s\",\"phone\":null,\"email\":null},\"description\":\"" DESCRIPTION "\",\"due_at\":null,"
        "\"expires_at\":null,\"metadata\":{},\"code\":\"%s\",\"pay_url\":\"" BASE_URL "/pay/%s\","
        "\"created_at\":\"%s\",\"updated_at\":\"%s\"}",
        v->public_id, g.merchant, v->merchant_ref, AMOUNT, v->payer_ref, v->code, v->code, when, when);

    v->public_id_len = strlen(v->public_id);
    v->merchant_ref_len = strlen(v->merchant_ref);
    v->payer_ref_len = strlen(v->payer_ref);
    v->code_len = strlen(v->code);
    v->idem_key_len = strlen(v->idem_key);
    v->answer_len = (unsigned long)answer_len;
}

/* ---- connections --------------------------------------------------------- */

static void die(MYSQL *m, const char *what)
{
    fprintf(stderr, "dbdirect: %s: %s\n", what, m != NULL ? mysql_error(m) : "out of memory");
    exit(1);
}

/* A connection set up like the server's (services/db/db.c connect_now). */
static MYSQL *open_db(void)
{
    MYSQL *m = mysql_init(NULL);
    my_bool off = 0;
    if (m == NULL)
        die(NULL, "mysql_init");
    mysql_optionsv(m, MYSQL_SET_CHARSET_NAME, "utf8mb4");
    mysql_optionsv(m, MYSQL_OPT_RECONNECT, &off);
    if (mysql_real_connect(m, "localhost", g.user, g.password, g.database, 0, g.socket, CLIENT_FOUND_ROWS) == NULL)
        die(m, "connect");
    for (size_t i = 0; i < sizeof(SESSION_SETUP) / sizeof(SESSION_SETUP[0]); i++)
        if (mysql_query(m, SESSION_SETUP[i]) != 0)
            die(m, SESSION_SETUP[i]);
    if (mysql_autocommit(m, 0) != 0)
        die(m, "autocommit");
    return m;
}

static MYSQL_STMT *prepare(MYSQL *m, const char *sql)
{
    MYSQL_STMT *s = mysql_stmt_init(m);
    if (s == NULL || mysql_stmt_prepare(s, sql, strlen(sql)) != 0)
        die(m, "prepare");
    return s;
}

static void record(worker_t *w, int64_t ns)
{
    if (w->n == w->cap) {
        w->cap = w->cap ? w->cap * 2 : 65536;
        w->lat = realloc(w->lat, w->cap * sizeof(w->lat[0]));
        if (w->lat == NULL)
            die(NULL, "latency samples");
    }
    w->lat[w->n++] = ns;
}

static void *work(void *arg)
{
    worker_t *w = arg;
    tx_values_t v;
    MYSQL_BIND bo[19], bk[7];

    mysql_thread_init();
    MYSQL *m = open_db();
    MYSQL_STMT *so = prepare(m, SQL_INSERT_ORDER), *sk = prepare(m, SQL_INSERT_KEY);
    memset(&v, 0, sizeof(v));
    v.merchant_id = g.merchant_id;
    v.amount = AMOUNT;
    v.allow_partial = 0;
    v.status_code = 201;
    v.fingerprint_len = sizeof(v.fingerprint);
    snprintf(v.scope, sizeof(v.scope), "%s", g.merchant);
    v.scope_len = strlen(v.scope);
    bind_order(bo, &v);
    bind_key(bk, &v);
    /* The binds point at v; each execute reads its current contents. */
    if (mysql_stmt_bind_param(so, bo) != 0 || mysql_stmt_bind_param(sk, bk) != 0)
        die(m, "bind");

    for (unsigned long long n = 0; now_ns() < g.deadline_ns; n++) {
        make_order(w, n, &v);
        int64_t t0 = now_ns();
        if (mysql_stmt_execute(so) != 0 || mysql_stmt_execute(sk) != 0 || mysql_commit(m) != 0) {
            if (atomic_fetch_add(&g.errors, 1) < ERRORS_ECHOED)
                fprintf(stderr, "dbdirect: %u %s\n", mysql_errno(m), mysql_error(m));
            mysql_rollback(m);
            continue;
        }
        record(w, now_ns() - t0);
    }
    mysql_stmt_close(so);
    mysql_stmt_close(sk);
    mysql_close(m);
    mysql_thread_end();
    return NULL;
}

/* ---- main ---------------------------------------------------------------- */

static void lookup_merchant(void)
{
    MYSQL *m = open_db();
    char escaped[2 * 64 + 1], q[256];
    if (strlen(g.merchant) > 64)
        die(m, "merchant id too long");
    mysql_real_escape_string(m, escaped, g.merchant, (unsigned long)strlen(g.merchant));
    snprintf(q, sizeof(q), "SELECT id FROM merchants WHERE public_id = '%s'", escaped);
    if (mysql_query(m, q) != 0)
        die(m, "merchant lookup");
    MYSQL_RES *res = mysql_store_result(m);
    MYSQL_ROW row = res != NULL ? mysql_fetch_row(res) : NULL;
    if (row == NULL) {
        fprintf(stderr, "dbdirect: no merchant %s\n", g.merchant);
        exit(1);
    }
    g.merchant_id = atoll(row[0]);
    mysql_free_result(res);
    mysql_close(m);
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

/* Nearest-rank percentile of sorted samples, in microseconds. */
static long long percentile_us(const int64_t *sorted, size_t n, double p)
{
    if (n == 0)
        return 0;
    size_t rank = (size_t)(p * (double)n + 0.999999);
    return (long long)(sorted[(rank < 1 ? 1 : rank) - 1] / 1000);
}

static void usage(void)
{
    fprintf(stderr, "usage: dbdirect -S SOCKET -u USER -p PASSWORD -D DATABASE -m MERCHANT_PUBLIC_ID "
                    "-c THREADS -d SECONDS\n");
    exit(2);
}

int main(int argc, char **argv)
{
    int opt;
    g.user = "feegate", g.password = "", g.database = "feegate_bench", g.threads = 32, g.seconds = 30;
    while ((opt = getopt(argc, argv, "S:u:p:D:m:c:d:")) != -1) {
        switch (opt) {
        case 'S': g.socket = optarg; break;
        case 'u': g.user = optarg; break;
        case 'p': g.password = optarg; break;
        case 'D': g.database = optarg; break;
        case 'm': g.merchant = optarg; break;
        case 'c': g.threads = atoi(optarg); break;
        case 'd': g.seconds = atoi(optarg); break;
        default: usage();
        }
    }
    if (g.socket == NULL || g.merchant == NULL || g.threads < 1 || g.threads > THREADS_MAX || g.seconds < 1)
        usage();
    snprintf(g.run_tag, sizeof(g.run_tag), "%lx%x", (long)time(NULL), (unsigned)getpid());
    if (mysql_library_init(0, NULL, NULL) != 0)
        die(NULL, "mysql_library_init");
    lookup_merchant();

    pthread_t *tid = calloc((size_t)g.threads, sizeof(pthread_t));
    worker_t *w = calloc((size_t)g.threads, sizeof(worker_t));
    if (tid == NULL || w == NULL)
        die(NULL, "threads");
    int64_t start = now_ns();
    g.deadline_ns = start + (int64_t)g.seconds * 1000000000;
    for (int i = 0; i < g.threads; i++) {
        w[i].index = i;
        if (getrandom(&w[i].rng, sizeof(w[i].rng), 0) != sizeof(w[i].rng) || w[i].rng == 0)
            w[i].rng = 0x9E3779B97F4A7C15ULL * (uint64_t)(i + 1) ^ (uint64_t)start;
        if (pthread_create(&tid[i], NULL, work, &w[i]) != 0)
            die(NULL, "pthread_create");
    }
    size_t total = 0;
    for (int i = 0; i < g.threads; i++) {
        pthread_join(tid[i], NULL);
        total += w[i].n;
    }
    double secs = (double)(now_ns() - start) / 1e9;

    int64_t *all = malloc((total + 1) * sizeof(int64_t));
    if (all == NULL)
        die(NULL, "latency samples");
    size_t k = 0;
    for (int i = 0; i < g.threads; i++) {
        memcpy(all + k, w[i].lat, w[i].n * sizeof(int64_t));
        k += w[i].n;
        free(w[i].lat);
    }
    qsort(all, total, sizeof(int64_t), cmp_i64);
    unsigned long long errors = (unsigned long long)atomic_load(&g.errors);
    printf("requests=%zu seconds=%.2f rate=%.0f p50_us=%lld p99_us=%lld errors=%llu\n", total, secs,
           (double)total / secs, percentile_us(all, total, 0.50), percentile_us(all, total, 0.99), errors);
    free(all);
    free(w);
    free(tid);
    mysql_library_end();
    return errors == 0 ? 0 : 1;
}
