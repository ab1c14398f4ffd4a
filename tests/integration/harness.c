/*
 * harness.c - server processes, the CLI, HTTP clients (libcurl) and
 * database checks (MariaDB Connector/C) for the integration suites.
 */
#define _GNU_SOURCE
#include "harness.h"

#include "core/crypto.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <mysql.h>
#include <netinet/in.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

const char *const fgt_proto_names[FGT_PROTOS] = {"HTTP/1.1", "h2c", "h2 over TLS"};

/* Set by fgt_run: from then on failures are reported to Check. */
static int in_suite;

static void fail_now(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

static void fail_now(const char *fmt, ...)
{
    char msg[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (!in_suite) {
        fprintf(stderr, "harness: %s\n", msg);
        exit(1);
    }
    ck_abort_msg("%s", msg);
    abort(); /* not reached */
}

/* Like ck_assert_msg, but usable outside a test too. */
#define need(cond, ...)                                                                                                \
    do {                                                                                                               \
        if (!(cond))                                                                                                   \
            fail_now(__VA_ARGS__);                                                                                     \
    } while (0)

static const char *bin(void)
{
    const char *b = getenv("FEEGATE_BIN"); /* the caller's binary wins over this build's */
    if (b == NULL || b[0] == '\0')
        b = getenv("FEEGATE_BIN_DEFAULT");
    need(b != NULL && b[0] != '\0', "FEEGATE_BIN is not set");
    return b;
}

void fgt_sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

const char *fgt_unique(const char *prefix)
{
    /* each thread its own ring, one counter for all: unique across the suite's threads */
    static __thread char ring[8][96];
    static __thread unsigned slot;
    static unsigned counter;
    unsigned n = __atomic_fetch_add(&counter, 1, __ATOMIC_RELAXED);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    char *buf = ring[slot++ % 8];
    snprintf(buf, sizeof(ring[0]), "%s-%d-%lld%03ld-%u", prefix, (int)getpid(), (long long)ts.tv_sec,
             ts.tv_nsec / 1000000, n);
    return buf;
}

const char *fgt_account(const char *prefix)
{
    const char *u = fgt_unique(prefix);
    static __thread char ring[8][96];
    static __thread unsigned slot;
    char *buf = ring[slot++ % 8];
    size_t n = 0;
    for (; *u != '\0' && n + 1 < sizeof(ring[0]); u++)
        if (*u != '-')
            buf[n++] = *u >= 'a' && *u <= 'z' ? (char)(*u - 'a' + 'A') : *u;
    buf[n] = '\0';
    return buf;
}

/* ---- child processes -------------------------------------------------------- */

/* In a freshly forked child: dies with its parent, gets the extra "KEY=VALUE"
 * entries (they win over the inherited ones), then execs the binary. */
static void exec_feegate(pid_t parent, const char *const *args, const char *const *extra_env)
{
    const char *argv[16];
    int n = 0;
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (getppid() != parent)
        _exit(127);
    argv[n++] = bin();
    for (const char *const *a = args; *a != NULL && n < 15; a++)
        argv[n++] = *a;
    argv[n] = NULL;
    for (const char *const *e = extra_env; e != NULL && *e != NULL; e++)
        putenv((char *)*e);
    execv(argv[0], (char *const *)argv);
    _exit(127);
}

static int wait_status(int st) { return WIFEXITED(st) ? WEXITSTATUS(st) : -1; }

/* ---- the server ----------------------------------------------------------------- */

/* Binds a loopback socket to port (0: one the kernel picks) and closes it:
 * the port it had, or 0 when port is taken. */
static int probe_port(int port)
{
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK),
                            .sin_port = htons((uint16_t)port)};
    socklen_t len = sizeof(a);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    need(fd >= 0, "socket: %s", strerror(errno));
    int bound = bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
    need(bound || port != 0, "bind: %s", strerror(errno));
    if (bound)
        need(getsockname(fd, (struct sockaddr *)&a, &len) == 0, "getsockname: %s", strerror(errno));
    close(fd);
    return bound ? ntohs(a.sin_port) : 0;
}

/* With FEEGATE_TEST_PORTS=LOW-HIGH (below the kernel's ephemeral ports), a port of that
 * range, tried from a place of this process's own one after another: a suite that runs
 * beside the others (tests/CMakeLists.txt) never picks a port another suite was given by
 * the kernel and has not bound yet.  Else one the kernel picks. */
int fgt_free_port(void)
{
    const char *range = getenv("FEEGATE_TEST_PORTS");
    if (range == NULL || range[0] == '\0')
        return probe_port(0);
    static int tried;
    int low = 0, high = 0;
    need(sscanf(range, "%d-%d", &low, &high) == 2 && low > 1024 && high >= low && high < 65536,
         "FEEGATE_TEST_PORTS=%s: LOW-HIGH", range);
    int span = high - low + 1;
    for (int i = 0; i < span; i++) {
        int port = probe_port(low + (int)(((long)getpid() * 7919 + tried++) % span));
        if (port != 0)
            return port;
    }
    fail_now("no free port in FEEGATE_TEST_PORTS=%s", range);
}

static void print_log(const fgt_server_t *s)
{
    char line[1024];
    FILE *f = fopen(s->log_path, "r");
    if (f == NULL)
        return;
    fprintf(stderr, "---- %s ----\n", s->log_path);
    while (fgets(line, sizeof(line), f) != NULL)
        fputs(line, stderr);
    fprintf(stderr, "---- end of %s ----\n", s->log_path);
    fclose(f);
}

static long http_status(const fgt_server_t *s, const char *path)
{
    fgt_response_t r = fgt_request(s, FGT_HTTP1, "GET", path, NULL, NULL, 0);
    long status = r.status;
    fgt_response_free(&r);
    return status;
}

const char *const fgt_suite_env[] = {"FEEGATE_LOG_REQUESTS=false", "FEEGATE_ORDERS_SWEEP_INTERVAL_MS=100",
                                     "FEEGATE_SERVER_THREADS=2", "FEEGATE_DB_POOL_SIZE=16",
                                     /* every suite runs from loopback: the limits stay on, far above them */
                                     "FEEGATE_LIMITS_ADDRESS_PER_MINUTE=600000", "FEEGATE_LIMITS_ADDRESS_BURST=100000",
                                     "FEEGATE_LIMITS_REJECTED_PER_MINUTE=600000",
                                     "FEEGATE_LIMITS_REJECTED_BURST=100000", NULL};

void fgt_server_start(fgt_server_t *s, const char *const *extra_env)
{
    char http[64], https[64], metrics[64];
    memset(s, 0, sizeof(*s));
    s->http_port = fgt_free_port();
    do
        s->https_port = fgt_free_port();
    while (s->https_port == s->http_port);
    do
        s->metrics_port = fgt_free_port();
    while (s->metrics_port == s->http_port || s->metrics_port == s->https_port);
    snprintf(s->log_path, sizeof(s->log_path), "/tmp/feegate-it-%d-%d.log", (int)getpid(), s->http_port);
    snprintf(http, sizeof(http), "FEEGATE_HTTP_LISTEN=127.0.0.1:%d", s->http_port);
    snprintf(https, sizeof(https), "FEEGATE_HTTPS_LISTEN=127.0.0.1:%d", s->https_port);
    snprintf(metrics, sizeof(metrics), "FEEGATE_METRICS_LISTEN=127.0.0.1:%d", s->metrics_port);
    const char *env[32] = {http, https, metrics};
    int n = 3;
    for (const char *const *e = fgt_suite_env; *e != NULL; e++)
        env[n++] = *e;
    for (const char *const *e = extra_env; e != NULL && *e != NULL && n < 31; e++)
        env[n++] = *e;
    env[n] = NULL;
    const char *args[] = {"serve", NULL};
    int log = open(s->log_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    need(log >= 0, "%s: %s", s->log_path, strerror(errno));
    pid_t parent = getpid();
    s->pid = fork();
    need(s->pid >= 0, "fork: %s", strerror(errno));
    if (s->pid == 0) {
        if (dup2(log, 1) < 0 || dup2(log, 2) < 0)
            _exit(127);
        exec_feegate(parent, args, env);
    }
    close(log);
    long long deadline = now_ms() + 20000;
    while (http_status(s, "/healthz") != 200) {
        int st;
        if (waitpid(s->pid, &st, WNOHANG) == s->pid) {
            print_log(s);
            fail_now("feegate serve exited with status %d at start (log above)", wait_status(st));
        }
        if (now_ms() > deadline) {
            print_log(s);
            fail_now("feegate serve did not answer /healthz within 20 s (log above)");
        }
        fgt_sleep_ms(20);
    }
}

static int log_is_clean(const fgt_server_t *s, char *bad, size_t cap)
{
    static const char *const MARKS[] = {"ERROR: AddressSanitizer", "runtime error:", "LeakSanitizer"};
    char line[1024];
    int clean = 1;
    FILE *f = fopen(s->log_path, "r");
    need(f != NULL, "cannot read %s", s->log_path);
    while (clean && fgets(line, sizeof(line), f) != NULL)
        for (size_t i = 0; i < sizeof(MARKS) / sizeof(MARKS[0]); i++)
            if (strstr(line, MARKS[i]) != NULL) {
                snprintf(bad, cap, "%s", line);
                clean = 0;
            }
    fclose(f);
    return clean;
}

int fgt_server_stop(fgt_server_t *s)
{
    int st = 0;
    need(s->pid > 0, "the server is not running");
    kill(s->pid, SIGTERM);
    long long deadline = now_ms() + 30000;
    while (waitpid(s->pid, &st, WNOHANG) != s->pid) {
        if (now_ms() > deadline) {
            kill(s->pid, SIGKILL);
            waitpid(s->pid, &st, 0);
            s->pid = 0;
            print_log(s);
            fail_now("feegate serve did not stop within 30 s of SIGTERM (log above)");
        }
        fgt_sleep_ms(10);
    }
    s->pid = 0;
    char bad[1024];
    if (!log_is_clean(s, bad, sizeof(bad))) {
        print_log(s);
        fail_now("sanitizer report in %s: %s", s->log_path, bad);
    }
    int status = wait_status(st);
    if (status != 0)
        print_log(s);
    else
        unlink(s->log_path);
    return status;
}

/* ---- the CLI ------------------------------------------------------------------------- */

/* A pipe being read to its end into a NUL-terminated buffer (NULL: discarded). */
typedef struct {
    int fd;
    char *out;
    size_t cap, len;
} capture_t;

/* Reads every capture to its end, whichever writes first. */
static void capture_all(capture_t *c, int n)
{
    struct pollfd p[2];
    char scratch[4096];
    int open_count = n;
    for (int i = 0; i < n; i++) {
        p[i] = (struct pollfd){.fd = c[i].fd, .events = POLLIN};
        if (c[i].out != NULL && c[i].cap > 0)
            c[i].out[0] = '\0';
    }
    while (open_count > 0) {
        if (poll(p, (nfds_t)n, -1) < 0) {
            need(errno == EINTR, "poll: %s", strerror(errno));
            continue;
        }
        for (int i = 0; i < n; i++) {
            if (p[i].fd < 0 || p[i].revents == 0)
                continue;
            ssize_t got = read(p[i].fd, scratch, sizeof(scratch));
            if (got < 0 && errno == EINTR)
                continue;
            if (got <= 0) {
                p[i].fd = -1;
                open_count--;
                continue;
            }
            size_t keep = c[i].out == NULL || c[i].len + 1 >= c[i].cap ? 0 : c[i].cap - c[i].len - 1;
            keep = keep < (size_t)got ? keep : (size_t)got;
            if (keep > 0) {
                memcpy(c[i].out + c[i].len, scratch, keep);
                c[i].len += keep;
                c[i].out[c[i].len] = '\0';
            }
        }
    }
}

int fgt_cli_run(const char *const *args, const char *const *extra_env, const char *input, char *out, size_t out_cap,
                char *err, size_t err_cap)
{
    int in_fds[2], out_fds[2], err_fds[2];
    need(pipe2(in_fds, O_CLOEXEC) == 0 && pipe2(out_fds, O_CLOEXEC) == 0 && pipe2(err_fds, O_CLOEXEC) == 0, "pipe: %s",
         strerror(errno));
    pid_t parent = getpid();
    pid_t pid = fork();
    need(pid >= 0, "fork: %s", strerror(errno));
    if (pid == 0) {
        if (dup2(in_fds[0], 0) < 0 || dup2(out_fds[1], 1) < 0 || dup2(err_fds[1], 2) < 0)
            _exit(127);
        exec_feegate(parent, args, extra_env);
    }
    close(in_fds[0]);
    close(out_fds[1]);
    close(err_fds[1]);
    if (input != NULL && write(in_fds[1], input, strlen(input)) != (ssize_t)strlen(input))
        fail_now("cannot write to the CLI's stdin");
    close(in_fds[1]);
    capture_t c[2] = {{out_fds[0], out, out_cap, 0}, {err_fds[0], err, err_cap, 0}};
    capture_all(c, 2);
    close(out_fds[0]);
    close(err_fds[0]);
    int st;
    while (waitpid(pid, &st, 0) < 0)
        need(errno == EINTR, "waitpid: %s", strerror(errno));
    return wait_status(st);
}

int fgt_cli_run_to(const char *stdout_path, const char *const *args, const char *const *extra_env, const char *input,
                   char *err, size_t err_cap, int timeout_ms)
{
    int in_fds[2], err_fds[2];
    need(pipe2(in_fds, O_CLOEXEC) == 0 && pipe2(err_fds, O_CLOEXEC) == 0, "pipe: %s", strerror(errno));
    int out_fd = open(stdout_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    need(out_fd >= 0, "%s: %s", stdout_path, strerror(errno));
    pid_t parent = getpid();
    pid_t pid = fork();
    need(pid >= 0, "fork: %s", strerror(errno));
    if (pid == 0) {
        if (dup2(in_fds[0], 0) < 0 || dup2(out_fd, 1) < 0 || dup2(err_fds[1], 2) < 0)
            _exit(127);
        exec_feegate(parent, args, extra_env);
    }
    close(in_fds[0]);
    close(out_fd);
    close(err_fds[1]);
    if (input != NULL && write(in_fds[1], input, strlen(input)) != (ssize_t)strlen(input))
        fail_now("cannot write to the CLI's stdin");
    close(in_fds[1]);
    /* stderr is read as it comes, so that a chatty child never blocks on a full pipe */
    size_t len = 0;
    long long deadline = now_ms() + timeout_ms;
    int st = 0, timed_out = 0;
    if (err != NULL && err_cap > 0)
        err[0] = '\0';
    for (;;) {
        struct pollfd p = {.fd = err_fds[0], .events = POLLIN};
        long long left = deadline - now_ms();
        if (left <= 0) {
            timed_out = 1;
            kill(pid, SIGKILL);
            break;
        }
        int ready = poll(&p, 1, (int)(left < 100 ? left : 100));
        if (ready < 0 && errno != EINTR)
            fail_now("poll: %s", strerror(errno));
        if (ready <= 0)
            continue;
        char chunk[4096];
        ssize_t got = read(err_fds[0], chunk, sizeof(chunk));
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            break; /* every writer has closed it: the child has exited */
        size_t keep = err == NULL || len + 1 >= err_cap ? 0 : err_cap - len - 1;
        keep = keep < (size_t)got ? keep : (size_t)got;
        if (keep > 0) {
            memcpy(err + len, chunk, keep);
            len += keep;
            err[len] = '\0';
        }
    }
    close(err_fds[0]);
    while (waitpid(pid, &st, 0) < 0)
        need(errno == EINTR, "waitpid: %s", strerror(errno));
    return timed_out ? -2 : wait_status(st);
}

int fgt_cli(const char *const argv[], const char *input, char *out, size_t cap)
{
    return fgt_cli_run(argv + 1, NULL, input, out, cap, NULL, 0);
}

/* The orders and payments whose latest change in the feed is not their row
 * as it is (but for updated_at, which bookkeeping updates move without a
 * change): a change written by its transaction (schema/0032_derived_rows.sql)
 * that differs from what the triggers of schema/0016_changes.sql write, or a
 * write whose change is missing or out of order.  Read over the last
 * FEED_CHECK_WINDOW changes (the suites share one database, and a scan of
 * every change at every check grew with it): each entity changed there, its
 * latest change against its row.  Their public ids, or "".  A description
 * is compared as its value (JSON_VALUE), not by JSON_EQUALS: a change written
 * by its transaction escapes U+2028 and U+2029 (\u2028), which JSON_EQUALS
 * takes for another text. */
#define FEED_CHECK_WINDOW 20000
#define FEED_CHECK_LATEST(entity)                                                                                      \
    "(SELECT entity_id, MAX(id) AS id FROM change_log WHERE id > CAST(? AS UNSIGNED) AND entity = '" entity            \
    "' GROUP BY entity_id) l "
static const char SQL_FEED_ORDERS[] =
    "SELECT COALESCE(GROUP_CONCAT(o.public_id ORDER BY o.id SEPARATOR ' '), '') FROM " FEED_CHECK_LATEST(
        "order") "JOIN change_log c ON c.id = l.id JOIN orders o ON o.id = l.entity_id WHERE (c.object_id <> "
                 "o.public_id OR c.merchant_id <> o.merchant_id OR NOT JSON_EQUALS(JSON_REMOVE(c.data, '$[17]'), "
                 "JSON_ARRAY(o.merchant_ref, o.fee_type, o.category, o.amount, o.currency, o.amount_paid, "
                 "o.amount_refunded, o.allow_partial <> 0, o.status, o.payer_name, o.payer_ref, JSON_EXTRACT(c.data, "
                 "'$[11]'), o.due_at, o.expires_at, JSON_QUERY(COALESCE(NULLIF(o.metadata, ''), '{}'), '$'), o.code, "
                 "o.created_at)) OR NOT (JSON_VALUE(c.data, '$[11]') <=> o.description))";
static const char SQL_FEED_PAYMENTS[] =
    "SELECT COALESCE(GROUP_CONCAT(p.public_id ORDER BY p.id SEPARATOR ' '), '') FROM " FEED_CHECK_LATEST(
        "payment") "JOIN change_log c ON c.id = l.id JOIN payments p ON p.id = l.entity_id WHERE (c.object_id <> "
                   "p.public_id OR c.merchant_id <> p.merchant_id OR c.parent_id <> p.order_id OR NOT "
                   "JSON_EQUALS(JSON_REMOVE(c.data, '$[11]'), JSON_ARRAY(p.adapter, p.amount, p.amount_received, "
                   "p.amount_applied, p.amount_unapplied, p.currency, p.amount_refunded, p.status, p.provider_txn_id, "
                   "p.failure_reason, p.created_at)))";

int fgt_ledger_check(void)
{
    static char out[16384], err[4096];
    const char *args[] = {"ledger", "check", NULL};
    int status = fgt_cli_run(args, NULL, NULL, out, sizeof(out), err, sizeof(err));
    if (status != 0) /* say why in the suite's output */
        fprintf(stderr, "feegate ledger check exited %d:\n%s%s\n", status, out, err);
    /* and the change feed holds every order and payment as it is */
    const char *const feeds[][2] = {{"orders", SQL_FEED_ORDERS}, {"payments", SQL_FEED_PAYMENTS}};
    char from[24];
    long long last = fgt_db_int("SELECT COALESCE(MAX(id), 0) FROM change_log", NULL, NULL);
    snprintf(from, sizeof(from), "%lld", last > FEED_CHECK_WINDOW ? last - FEED_CHECK_WINDOW : 0);
    for (size_t i = 0; i < sizeof(feeds) / sizeof(feeds[0]); i++) {
        fgt_db_str(feeds[i][1], from, NULL, out, sizeof(out));
        if (out[0] != '\0') {
            fprintf(stderr, "the change feed's latest change is not the row of these %s: %.2000s\n", feeds[i][0], out);
            status = status != 0 ? status : 1;
        }
    }
    return status;
}

static void copy_field(yajl_val root, const char *name, char *out, const char *text)
{
    const char *v = fgt_val_str(root, name, NULL);
    need(v != NULL && strlen(v) < FGT_ID_CAP, "no \"%s\" in %s", name, text);
    snprintf(out, FGT_ID_CAP, "%s", v);
}

void fgt_merchant_create(const char *name, char *id_out, char *key_out)
{
    char out[1024], err[1024], parse_error[128];
    const char *args[] = {"admin", "merchant", "create", "--name", name, NULL};
    int status = fgt_cli_run(args, NULL, NULL, out, sizeof(out), err, sizeof(err));
    need(status == 0, "feegate admin merchant create exited %d: %s", status, err);
    need(strchr(out, '\n') == out + strlen(out) - 1, "not one line: %s", out);
    yajl_val root = yajl_tree_parse(out, parse_error, sizeof(parse_error));
    need(root != NULL, "not JSON: %s", out);
    copy_field(root, "id", id_out, out);
    copy_field(root, "api_key", key_out, out);
    yajl_tree_free(root);
    need(strncmp(id_out, "mer_", 4) == 0, "merchant id %s", id_out);
}

/* ---- HTTP ------------------------------------------------------------------------------ */

typedef struct {
    char *data;
    size_t len, cap;
} sink_t;

/* Grows by doubling: a 16 MiB answer comes in a thousand pieces, and a realloc that
 * copies each time (as ASan's does) would copy gigabytes. */
static size_t sink_write(char *p, size_t size, size_t n, void *arg)
{
    sink_t *s = arg;
    size_t len = size * n;
    if (s->len + len + 1 > s->cap) {
        size_t cap = s->cap < 4096 ? 4096 : s->cap;
        while (cap < s->len + len + 1)
            cap *= 2;
        char *grown = realloc(s->data, cap);
        need(grown != NULL, "out of memory");
        s->data = grown;
        s->cap = cap;
    }
    memcpy(s->data + s->len, p, len);
    s->len += len;
    s->data[s->len] = '\0';
    return len;
}

typedef struct {
    CURL *curl;
    struct curl_slist *headers;
    sink_t body, head;
    fgt_proto_t proto;
} transfer_t;

static long upload_pace; /* bytes per second a request body is sent at; 0 = as fast as it goes */

void fgt_upload_pace(long bytes_per_s) { upload_pace = bytes_per_s; }

static void transfer_setup(transfer_t *t, const fgt_server_t *s, fgt_proto_t proto, const fgt_request_t *q)
{
    char *url = NULL;
    memset(t, 0, sizeof(*t));
    t->proto = proto;
    t->curl = curl_easy_init();
    need(t->curl != NULL, "curl_easy_init failed");
    /* a path of any length (a VNPay query can be long): libcurl copies the URL */
    need(asprintf(&url, "%s://127.0.0.1:%d%s", proto == FGT_H2TLS ? "https" : "http",
                  proto == FGT_H2TLS ? s->https_port : s->http_port, q->path) > 0,
         "out of memory");
    curl_easy_setopt(t->curl, CURLOPT_URL, url);
    free(url);
    curl_easy_setopt(t->curl, CURLOPT_CUSTOMREQUEST, q->method);
    curl_easy_setopt(t->curl, CURLOPT_HTTP_VERSION,
                     proto == FGT_HTTP1 ? CURL_HTTP_VERSION_1_1
                     : proto == FGT_H2C ? CURL_HTTP_VERSION_2_PRIOR_KNOWLEDGE
                                        : CURL_HTTP_VERSION_2TLS);
    curl_easy_setopt(t->curl, CURLOPT_SSL_VERIFYPEER, 0L); /* the server's ephemeral certificate */
    curl_easy_setopt(t->curl, CURLOPT_SSL_VERIFYHOST, 0L);
    curl_easy_setopt(t->curl, CURLOPT_TIMEOUT, 120L);
    curl_easy_setopt(t->curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(t->curl, CURLOPT_WRITEFUNCTION, sink_write);
    curl_easy_setopt(t->curl, CURLOPT_WRITEDATA, &t->body);
    curl_easy_setopt(t->curl, CURLOPT_HEADERFUNCTION, sink_write);
    curl_easy_setopt(t->curl, CURLOPT_HEADERDATA, &t->head);
    if (q->source != NULL)
        curl_easy_setopt(t->curl, CURLOPT_INTERFACE, q->source);
    t->headers = curl_slist_append(NULL, "Expect:"); /* no 100-continue round trip */
    int typed = 0;                                   /* the caller names its own Content-Type */
    for (const char *const *h = q->headers; h != NULL && *h != NULL; h++) {
        t->headers = curl_slist_append(t->headers, *h);
        typed |= strncasecmp(*h, "content-type:", 13) == 0;
    }
    if (q->body != NULL && !typed)
        t->headers = curl_slist_append(t->headers, "Content-Type: application/json");
    curl_easy_setopt(t->curl, CURLOPT_HTTPHEADER, t->headers);
    int bodiless = strcmp(q->method, "GET") == 0 || strcmp(q->method, "HEAD") == 0 || strcmp(q->method, "DELETE") == 0;
    if (q->body != NULL || !bodiless) {
        const char *body = q->body != NULL ? q->body : "";
        size_t len = q->body_len != 0 ? q->body_len : strlen(body);
        curl_easy_setopt(t->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
        curl_easy_setopt(t->curl, CURLOPT_POSTFIELDS, body);
        if (upload_pace > 0)
            curl_easy_setopt(t->curl, CURLOPT_MAX_SEND_SPEED_LARGE, (curl_off_t)upload_pace);
    }
}

/* Takes what a finished transfer received and releases its handle (the
 * connection stays in its multi handle's cache, if any). */
static fgt_response_t transfer_collect(transfer_t *t, CURLcode rc)
{
    fgt_response_t r;
    memset(&r, 0, sizeof(r));
    r.curl_code = (int)rc;
    if (rc == CURLE_OK) {
        curl_easy_getinfo(t->curl, CURLINFO_RESPONSE_CODE, &r.status);
        curl_easy_getinfo(t->curl, CURLINFO_HTTP_VERSION, &r.http_version);
    }
    r.body = t->body.data != NULL ? t->body.data : calloc(1, 1);
    r.body_len = t->body.len;
    r.headers = t->head.data != NULL ? t->head.data : calloc(1, 1);
    need(r.body != NULL && r.headers != NULL, "out of memory");
    curl_slist_free_all(t->headers);
    curl_easy_cleanup(t->curl);
    if (rc == CURLE_OK && t->proto != FGT_HTTP1)
        need(r.http_version == CURL_HTTP_VERSION_2_0, "%s did not negotiate HTTP/2 (got version %ld)",
             fgt_proto_names[t->proto], r.http_version);
    return r;
}

static void response_parse(fgt_response_t *r)
{
    char parse_error[128];
    r->json = r->body_len > 0 ? yajl_tree_parse(r->body, parse_error, sizeof(parse_error)) : NULL;
}

static fgt_response_t transfer_finish(transfer_t *t, CURLcode rc)
{
    fgt_response_t r = transfer_collect(t, rc);
    response_parse(&r);
    return r;
}

fgt_response_t fgt_request(const fgt_server_t *s, fgt_proto_t proto, const char *method, const char *path,
                           const char *const *headers, const char *body, size_t body_len)
{
    transfer_t t;
    fgt_request_t q = {method, path, headers, body, body_len, NULL};
    transfer_setup(&t, s, proto, &q);
    CURLcode rc = curl_easy_perform(t.curl);
    return transfer_finish(&t, rc);
}

int fgt_tcp_connect(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    need(fd >= 0, "socket: %s", strerror(errno));
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    need(connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0, "connect to port %d: %s", port, strerror(errno));
    return fd;
}

struct fgt_tls {
    int fd;
    SSL_CTX *ctx;
    SSL *ssl;
};

fgt_tls_t *fgt_tls_connect(int port, const char *alpn, int max_version, const char *ciphers)
{
    fgt_tls_t *t = calloc(1, sizeof(*t));
    need(t != NULL, "out of memory");
    t->fd = fgt_tcp_connect(port);
    t->ctx = SSL_CTX_new(TLS_client_method());
    need(t->ctx != NULL, "SSL_CTX_new");
    SSL_CTX_set_security_level(t->ctx, 0); /* offer old versions and suites: the server must refuse them */
    SSL_CTX_set_min_proto_version(t->ctx, 0);
    if (max_version != 0)
        SSL_CTX_set_max_proto_version(t->ctx, max_version);
    if (ciphers != NULL)
        need(SSL_CTX_set_cipher_list(t->ctx, ciphers) == 1, "cipher list %s", ciphers);
    if (alpn != NULL)
        SSL_CTX_set_alpn_protos(t->ctx, (const unsigned char *)alpn, (unsigned)strlen(alpn));
    t->ssl = SSL_new(t->ctx);
    SSL_set_fd(t->ssl, t->fd);
    if (SSL_connect(t->ssl) != 1) {
        fgt_tls_close(t);
        return NULL;
    }
    return t;
}

int fgt_tls_write(fgt_tls_t *t, const void *bytes, size_t len) { return SSL_write(t->ssl, bytes, (int)len); }

int fgt_tls_read(fgt_tls_t *t, char *out, size_t cap, int timeout_ms)
{
    struct pollfd p = {.fd = t->fd, .events = POLLIN};
    if (SSL_pending(t->ssl) == 0 && poll(&p, 1, timeout_ms) <= 0) {
        out[0] = '\0';
        return -1;
    }
    int n = SSL_read(t->ssl, out, (int)cap - 1);
    n = n < 0 ? 0 : n;
    out[n] = '\0';
    return n;
}

void fgt_tls_peer_cn(fgt_tls_t *t, char *out, size_t cap)
{
    out[0] = '\0';
    X509 *x = SSL_get1_peer_certificate(t->ssl);
    if (x == NULL)
        return;
    X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName, out, (int)cap);
    X509_free(x);
}

void fgt_tls_close(fgt_tls_t *t)
{
    if (t == NULL)
        return;
    SSL_free(t->ssl);
    SSL_CTX_free(t->ctx);
    close(t->fd);
    free(t);
}

void fgt_sandbox_signature(const char *secret, const char *body, char *header, size_t cap)
{
    long long t = (long long)time(NULL);
    char *msg = NULL, hex[2 * FG_SHA256_LEN + 1];
    uint8_t mac[FG_SHA256_LEN];
    need(asprintf(&msg, "%lld.%s", t, body) > 0, "out of memory");
    fg_hmac_sha256(secret, strlen(secret), msg, strlen(msg), mac);
    fg_hex_encode(mac, sizeof(mac), hex);
    snprintf(header, cap, "X-Signature: t=%lld,v1=%s", t, hex);
    free(msg);
}

fgt_response_t fgt_metrics(const fgt_server_t *s)
{
    fgt_server_t metrics = *s;
    metrics.http_port = s->metrics_port;
    return fgt_request(&metrics, FGT_HTTP1, "GET", "/metrics", NULL, NULL, 0);
}

static long long metric_sample(const fgt_server_t *s, const char *series)
{
    fgt_response_t r = fgt_metrics(s);
    size_t n = strlen(series);
    long long v = -1;
    for (const char *line = r.body; line != NULL && *line != '\0' && v < 0;) {
        if (strncmp(line, series, n) == 0 && line[n] == ' ')
            v = strtoll(line + n + 1, NULL, 10);
        line = strchr(line, '\n');
        line = line != NULL ? line + 1 : NULL;
    }
    fgt_response_free(&r);
    return v;
}

long long fgt_metric(const fgt_server_t *s, const char *series)
{
    long long v = metric_sample(s, series);
    ck_assert_msg(v >= 0, "no sample %s in /metrics", series);
    return v;
}

long long fgt_metric_or_zero(const fgt_server_t *s, const char *series)
{
    long long v = metric_sample(s, series);
    return v < 0 ? 0 : v;
}

fgt_response_t fgt_request_from(const fgt_server_t *s, fgt_proto_t proto, const char *source, const char *method,
                                const char *path, const char *const *headers, const char *body, size_t body_len)
{
    transfer_t t;
    fgt_request_t q = {method, path, headers, body, body_len, source};
    transfer_setup(&t, s, proto, &q);
    CURLcode rc = curl_easy_perform(t.curl);
    return transfer_finish(&t, rc);
}

struct fgt_idle {
    transfer_t t;
};

fgt_idle_t *fgt_idle_open(const fgt_server_t *s, fgt_proto_t proto)
{
    fgt_idle_t *c = calloc(1, sizeof(*c));
    fgt_request_t q = {"GET", "/healthz", NULL, NULL, 0, NULL};
    long status = 0;
    need(c != NULL, "out of memory");
    transfer_setup(&c->t, s, proto, &q);
    CURLcode rc = curl_easy_perform(c->t.curl);
    curl_easy_getinfo(c->t.curl, CURLINFO_RESPONSE_CODE, &status);
    need(rc == CURLE_OK && status == 200, "GET /healthz over %s: %s, status %ld", fgt_proto_names[proto],
         curl_easy_strerror(rc), status);
    free(c->t.body.data);
    free(c->t.head.data);
    c->t.body = c->t.head = (sink_t){NULL, 0, 0};
    return c; /* the handle keeps its connection until cleaned up */
}

void fgt_idle_close(fgt_idle_t *c)
{
    curl_slist_free_all(c->t.headers);
    curl_easy_cleanup(c->t.curl);
    free(c);
}

/* The headers of an fgt_req call, in caller-provided storage. */
typedef struct {
    char auth[256], idem[1024];
    const char *list[4];
} api_headers_t;

static const char *const *api_headers(api_headers_t *h, const char *key, const char *idem, const char *extra)
{
    int n = 0;
    if (key != NULL) {
        snprintf(h->auth, sizeof(h->auth), "Authorization: Bearer %s", key);
        h->list[n++] = h->auth;
    }
    if (idem != NULL) {
        snprintf(h->idem, sizeof(h->idem), "Idempotency-Key: %s", idem);
        h->list[n++] = h->idem;
    }
    if (extra != NULL)
        h->list[n++] = extra;
    h->list[n] = NULL;
    return h->list;
}

fgt_response_t fgt_req(const fgt_server_t *s, fgt_proto_t proto, const char *method, const char *path, const char *key,
                       const char *idem, const char *body, size_t body_len, const char *extra)
{
    api_headers_t h;
    return fgt_request(s, proto, method, path, api_headers(&h, key, idem, extra), body, body_len);
}

/* Runs the multi handle until every transfer is done, calling tick (if
 * any) on every turn until it returns non-zero; records each transfer's
 * result in codes[transfer - base]. */
static void run_multi(CURLM *multi, transfer_t *base, CURLcode *codes, fgt_tick_fn tick, void *tick_arg)
{
    int running = 1, ticking = tick != NULL;
    while (running) {
        need(curl_multi_perform(multi, &running) == CURLM_OK, "curl_multi_perform failed");
        CURLMsg *msg;
        int left;
        while ((msg = curl_multi_info_read(multi, &left)) != NULL) {
            if (msg->msg != CURLMSG_DONE)
                continue;
            transfer_t *done;
            curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&done);
            codes[done - base] = msg->data.result;
        }
        if (ticking && tick(tick_arg) != 0)
            ticking = 0;
        if (running)
            curl_multi_poll(multi, NULL, 0, ticking ? 5 : 1000, NULL);
    }
}

/* Opens an HTTP/2 connection in the multi handle's cache with one GET
 * /healthz, for the transfers that follow to share.  Over h2c this is an
 * HTTP/1.1 Upgrade: libcurl 7.88 fails every transfer that reuses a
 * prior-knowledge connection ("Error in the HTTP2 framing layer", curl issue
 * 10634, fixed in 7.89), but reuses an upgraded one correctly. */
static void open_shared_connection(CURLM *multi, const fgt_server_t *s, fgt_proto_t proto)
{
    transfer_t warm;
    CURLcode code = CURLE_OK;
    fgt_request_t q = {"GET", "/healthz", NULL, NULL, 0, NULL};
    transfer_setup(&warm, s, proto, &q);
    if (proto == FGT_H2C)
        curl_easy_setopt(warm.curl, CURLOPT_HTTP_VERSION, CURL_HTTP_VERSION_2_0);
    curl_easy_setopt(warm.curl, CURLOPT_PRIVATE, (char *)&warm);
    curl_multi_add_handle(multi, warm.curl);
    run_multi(multi, &warm, &code, NULL, NULL);
    curl_multi_remove_handle(multi, warm.curl);
    fgt_response_t r = transfer_finish(&warm, code);
    need(r.status == 200, "cannot open an HTTP/2 connection over %s: %s", fgt_proto_names[proto],
         curl_easy_strerror(code));
    fgt_response_free(&r);
}

void fgt_request_all(const fgt_server_t *s, fgt_proto_t proto, int connections, int n, const fgt_request_t *reqs,
                     fgt_tick_fn tick, void *tick_arg, fgt_response_t *out)
{
    CURLM *multi = curl_multi_init();
    transfer_t *t = calloc((size_t)n, sizeof(*t));
    CURLcode *codes = calloc((size_t)n, sizeof(*codes));
    long *new_connections = calloc((size_t)n, sizeof(*new_connections));
    need(multi != NULL && t != NULL && codes != NULL && new_connections != NULL, "out of memory");
    int multiplex = proto != FGT_HTTP1;
    curl_multi_setopt(multi, CURLMOPT_PIPELINING, multiplex ? CURLPIPE_MULTIPLEX : CURLPIPE_NOTHING);
    curl_multi_setopt(multi, CURLMOPT_MAX_HOST_CONNECTIONS, (long)connections);
    curl_multi_setopt(multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, (long)connections);
    curl_multi_setopt(multi, CURLMOPT_MAX_CONCURRENT_STREAMS, (long)n);
    if (multiplex)
        open_shared_connection(multi, s, proto);
    for (int i = 0; i < n; i++) {
        transfer_setup(&t[i], s, proto, &reqs[i]);
        if (proto == FGT_H2C)
            curl_easy_setopt(t[i].curl, CURLOPT_HTTP_VERSION, CURL_HTTP_VERSION_2_0);
        if (multiplex)
            curl_easy_setopt(t[i].curl, CURLOPT_PIPEWAIT, 1L);
        else if (connections >= n)
            curl_easy_setopt(t[i].curl, CURLOPT_FRESH_CONNECT, 1L);
        curl_easy_setopt(t[i].curl, CURLOPT_PRIVATE, (char *)&t[i]);
        curl_multi_add_handle(multi, t[i].curl);
    }
    run_multi(multi, t, codes, tick, tick_arg);
    for (int i = 0; i < n; i++) {
        if (codes[i] != CURLE_OK)
            fprintf(stderr, "request %d of %d over %s: %s\n", i, n, fgt_proto_names[proto],
                    curl_easy_strerror(codes[i]));
        curl_easy_getinfo(t[i].curl, CURLINFO_NUM_CONNECTS, &new_connections[i]);
        curl_multi_remove_handle(multi, t[i].curl);
        out[i] = transfer_collect(&t[i], codes[i]);
    }
    curl_multi_cleanup(multi); /* closes the connections before the slower parsing */
    for (int i = 0; i < n; i++) {
        response_parse(&out[i]);
        need(!multiplex || connections != 1 || codes[i] != CURLE_OK || new_connections[i] == 0,
             "request %d did not share the one %s connection", i, fgt_proto_names[proto]);
    }
    free(new_connections);
    free(codes);
    free(t);
}

void fgt_req_many_over(const fgt_server_t *s, fgt_proto_t proto, int n, int connections, const char *method,
                       const char *path, const char *key, const char *idem, const char *body, const char *extra,
                       fgt_response_t *out)
{
    api_headers_t h;
    fgt_request_t *reqs = calloc((size_t)n, sizeof(*reqs));
    need(reqs != NULL, "out of memory");
    for (int i = 0; i < n; i++)
        reqs[i] = (fgt_request_t){method, path, api_headers(&h, key, idem, extra), body, 0, NULL};
    fgt_request_all(s, proto, connections, n, reqs, NULL, NULL, out);
    free(reqs);
}

void fgt_req_many(const fgt_server_t *s, fgt_proto_t proto, int n, const char *method, const char *path,
                  const char *key, const char *idem, const char *body, const char *extra, fgt_response_t *out)
{
    fgt_req_many_over(s, proto, n, proto == FGT_HTTP1 ? n : 1, method, path, key, idem, body, extra, out);
}

void fgt_response_free(fgt_response_t *r)
{
    if (r->json != NULL)
        yajl_tree_free(r->json);
    free(r->body);
    free(r->headers);
    memset(r, 0, sizeof(*r));
}

/* ---- reading responses ---------------------------------------------------------------- */

#define PATH_MAX_KEYS 8

static yajl_val at_path(yajl_val v, va_list ap)
{
    const char *path[PATH_MAX_KEYS + 1];
    int n = 0;
    const char *key;
    while ((key = va_arg(ap, const char *)) != NULL) {
        need(n < PATH_MAX_KEYS, "JSON path too long");
        path[n++] = key;
    }
    path[n] = NULL;
    return v != NULL ? yajl_tree_get(v, path, yajl_t_any) : NULL;
}

yajl_val fgt_val_at(yajl_val v, ...)
{
    va_list ap;
    va_start(ap, v);
    yajl_val found = at_path(v, ap);
    va_end(ap);
    return found;
}

const char *fgt_val_str(yajl_val v, ...)
{
    va_list ap;
    va_start(ap, v);
    yajl_val found = at_path(v, ap);
    va_end(ap);
    return found != NULL && YAJL_IS_STRING(found) ? found->u.string : NULL;
}

const char *fgt_json_str(const fgt_response_t *r, ...)
{
    va_list ap;
    va_start(ap, r);
    yajl_val found = at_path(r->json, ap);
    va_end(ap);
    return found != NULL && YAJL_IS_STRING(found) ? found->u.string : NULL;
}

long long fgt_json_int(const fgt_response_t *r, ...)
{
    va_list ap;
    va_start(ap, r);
    yajl_val found = at_path(r->json, ap);
    va_end(ap);
    need(found != NULL && YAJL_IS_INTEGER(found), "no integer at that path in %.400s", r->body);
    return YAJL_GET_INTEGER(found);
}

yajl_val fgt_json_array(const fgt_response_t *r, ...)
{
    va_list ap;
    va_start(ap, r);
    yajl_val found = at_path(r->json, ap);
    va_end(ap);
    need(found != NULL && YAJL_IS_ARRAY(found), "no array at that path in %.400s", r->body);
    return found;
}

int fgt_json_is_null(const fgt_response_t *r, ...)
{
    va_list ap;
    va_start(ap, r);
    yajl_val found = at_path(r->json, ap);
    va_end(ap);
    return found != NULL && YAJL_IS_NULL(found);
}

const char *fgt_header(const fgt_response_t *r, const char *name)
{
    static char value[1024];
    size_t n = strlen(name);
    for (const char *p = r->headers; *p != '\0'; p += strcspn(p, "\n") + (p[strcspn(p, "\n")] == '\n')) {
        if (strncasecmp(p, name, n) == 0 && p[n] == ':') {
            const char *v = p + n + 1;
            v += strspn(v, " \t");
            snprintf(value, sizeof(value), "%.*s", (int)strcspn(v, "\r\n"), v);
            return value;
        }
    }
    return NULL;
}

void fgt_expect_at(const fgt_response_t *r, long status, const char *type, const char *code, const char *file, int line)
{
    need(r->status == status, "%s:%d: status %ld (%s), wanted %ld: %.600s", file, line, r->status,
         curl_easy_strerror((CURLcode)r->curl_code), status, r->body != NULL ? r->body : "");
    if (status < 400)
        return;
    const char *got_type = fgt_json_str(r, "error", "type", NULL), *got_code = fgt_json_str(r, "error", "code", NULL);
    need(got_type != NULL && got_code != NULL && fgt_json_str(r, "error", "message", NULL) != NULL,
         "%s:%d: not an error of the shape {\"error\":{\"type\",\"code\",\"message\"}}: %.600s", file, line, r->body);
    need(type == NULL || strcmp(got_type, type) == 0, "%s:%d: error type %s, wanted %s", file, line, got_type, type);
    need(code == NULL || strcmp(got_code, code) == 0, "%s:%d: error code %s, wanted %s: %.600s", file, line, got_code,
         code, r->body);
    const char *content_type = fgt_header(r, "content-type");
    need(content_type != NULL && strcmp(content_type, "application/json; charset=utf-8") == 0, "%s:%d: Content-Type %s",
         file, line, content_type != NULL ? content_type : "(none)");
}

/* ---- orders ------------------------------------------------------------------------------- */

char *fgt_order_body(const char *ref, long long amount, const char *extra)
{
    char *body;
    need(asprintf(&body, "{\"merchant_ref\":\"%s\",\"fee_type\":\"utility\",\"amount\":%lld,\"currency\":\"VND\"%s}",
                  ref, amount, extra != NULL ? extra : "") > 0,
         "out of memory");
    return body;
}

fgt_response_t fgt_order_create(const fgt_server_t *s, fgt_proto_t proto, const char *key, const char *idem,
                                const char *ref, long long amount, const char *extra)
{
    char *body = fgt_order_body(ref, amount, extra);
    fgt_response_t r = fgt_req(s, proto, "POST", "/v1/orders", key, idem, body, 0, NULL);
    free(body);
    return r;
}

static const char SQL_ORDERS[] =
    "SELECT COUNT(*) FROM orders o JOIN merchants m ON m.id = o.merchant_id WHERE m.public_id = ?";
static const char SQL_ORDERS_WITH_REF[] = "SELECT COUNT(*) FROM orders o JOIN merchants m ON m.id = o.merchant_id "
                                          "WHERE m.public_id = ? AND o.merchant_ref = ?";

long long fgt_db_orders(const char *merchant_id) { return fgt_db_int(SQL_ORDERS, merchant_id, NULL); }

long long fgt_db_orders_with_ref(const char *merchant_id, const char *ref)
{
    return fgt_db_int(SQL_ORDERS_WITH_REF, merchant_id, ref);
}

/* ---- the database ----------------------------------------------------------------------- */

static const char *env_or(const char *name, const char *fallback)
{
    const char *v = getenv(name);
    return v != NULL && v[0] != '\0' ? v : fallback;
}

static MYSQL *db_open(void)
{
    MYSQL *m = mysql_init(NULL);
    need(m != NULL, "out of memory");
    mysql_optionsv(m, MYSQL_SET_CHARSET_NAME, "utf8mb4");
    need(mysql_real_connect(m, "localhost", env_or("FEEGATE_DB_USER", "feegate"),
                            env_or("FEEGATE_DB_PASSWORD", "feegate"), env_or("FEEGATE_DB_NAME", "feegate"), 0,
                            getenv("FEEGATE_DB_SOCKET"), 0) != NULL,
         "database: %s", mysql_error(m));
    return m;
}

/* Prepares sql, binds the string parameters it has (a, then b) and executes
 * it; returns the MariaDB error number (0 = done) and the statement. */
static unsigned db_run(MYSQL *m, const char *sql, const char *a, const char *b, MYSQL_STMT **out)
{
    MYSQL_STMT *st = mysql_stmt_init(m);
    MYSQL_BIND p[2];
    unsigned long lens[2];
    const char *args[2] = {a, b};
    need(st != NULL, "out of memory");
    *out = st;
    memset(p, 0, sizeof(p));
    if (mysql_stmt_prepare(st, sql, strlen(sql)) != 0)
        return mysql_stmt_errno(st);
    unsigned count = (unsigned)mysql_stmt_param_count(st);
    need(count <= 2, "%s: more than two parameters", sql);
    for (unsigned i = 0; i < count; i++) {
        need(args[i] != NULL, "%s: parameter %u missing", sql, i + 1);
        lens[i] = strlen(args[i]);
        p[i].buffer_type = MYSQL_TYPE_STRING;
        p[i].buffer = (void *)args[i];
        p[i].buffer_length = lens[i];
        p[i].length = &lens[i];
    }
    if ((count > 0 && mysql_stmt_bind_param(st, p) != 0) || mysql_stmt_execute(st) != 0)
        return mysql_stmt_errno(st);
    return 0;
}

static MYSQL_STMT *db_must_run(MYSQL *m, const char *sql, const char *a, const char *b)
{
    MYSQL_STMT *st;
    need(db_run(m, sql, a, b, &st) == 0, "%s: %s", sql, mysql_stmt_error(st));
    return st;
}

/* Fetches the next row's first column as an integer: 1 with *v set (-1 for
 * NULL), 0 after the last row. */
static int fetch_int(MYSQL_STMT *st, long long *v)
{
    my_bool is_null = 0;
    MYSQL_BIND r;
    memset(&r, 0, sizeof(r));
    r.buffer_type = MYSQL_TYPE_LONGLONG;
    r.buffer = v;
    r.is_null = &is_null;
    need(mysql_stmt_bind_result(st, &r) == 0, "bind result: %s", mysql_stmt_error(st));
    int rc = mysql_stmt_fetch(st);
    need(rc == 0 || rc == MYSQL_NO_DATA || rc == MYSQL_DATA_TRUNCATED, "fetch: %s", mysql_stmt_error(st));
    if (rc == MYSQL_NO_DATA)
        return 0;
    if (is_null)
        *v = -1;
    return 1;
}

long long fgt_db_int(const char *sql, const char *a, const char *b)
{
    MYSQL *m = db_open();
    MYSQL_STMT *st = db_must_run(m, sql, a, b);
    long long v = -1;
    if (!fetch_int(st, &v))
        v = -1;
    mysql_stmt_close(st);
    mysql_close(m);
    return v;
}

int fgt_db_str(const char *sql, const char *a, const char *b, char *out, size_t cap)
{
    MYSQL *m = db_open();
    MYSQL_STMT *st = db_must_run(m, sql, a, b);
    my_bool is_null = 0;
    unsigned long len = 0;
    MYSQL_BIND r;
    memset(&r, 0, sizeof(r));
    r.buffer_type = MYSQL_TYPE_STRING;
    r.buffer = out;
    r.buffer_length = cap;
    r.length = &len;
    r.is_null = &is_null;
    need(cap > 0, "fgt_db_str needs room");
    need(mysql_stmt_bind_result(st, &r) == 0, "bind result: %s", mysql_stmt_error(st));
    int rc = mysql_stmt_fetch(st);
    need(rc == 0 || rc == MYSQL_NO_DATA, "fetch: %s (a value longer than %zu?)", mysql_stmt_error(st), cap - 1);
    int found = rc == 0 && !is_null;
    if (!found)
        out[0] = '\0';
    else
        out[len < cap ? len : cap - 1] = '\0';
    mysql_stmt_close(st);
    mysql_close(m);
    return found;
}

int fgt_db_ints(const char *sql, long long *out, int cap)
{
    MYSQL *m = db_open();
    MYSQL_STMT *st = db_must_run(m, sql, NULL, NULL);
    int n = 0;
    long long v;
    need(mysql_stmt_store_result(st) == 0, "%s: %s", sql, mysql_stmt_error(st));
    while (n < cap && fetch_int(st, &v))
        out[n++] = v;
    mysql_stmt_close(st);
    mysql_close(m);
    return n;
}

/* A test's own write races the server's background jobs like any other
 * writer: a deadlock (1213) or lock-wait timeout (1205) is tried again. */
void fgt_db_exec(const char *sql, const char *a)
{
    for (int attempt = 0;; attempt++) {
        MYSQL *m = db_open();
        MYSQL_STMT *st;
        unsigned err = db_run(m, sql, a, NULL, &st);
        if (err == 0) {
            mysql_stmt_close(st);
            need(mysql_commit(m) == 0, "commit: %s", mysql_error(m));
            mysql_close(m);
            return;
        }
        char msg[512];
        snprintf(msg, sizeof(msg), "%s", mysql_stmt_error(st));
        mysql_stmt_close(st);
        mysql_close(m);
        need((err == 1213 || err == 1205) && attempt < 20, "%s: %s", sql, msg);
        fgt_sleep_ms(20 + attempt * 20);
    }
}

unsigned fgt_db_try(const char *sql, const char *a)
{
    MYSQL *m = db_open();
    MYSQL_STMT *st;
    mysql_autocommit(m, 0);
    unsigned err = db_run(m, sql, a, NULL, &st);
    mysql_stmt_close(st);
    mysql_rollback(m);
    mysql_close(m);
    return err;
}

void fgt_db_kill(long long id)
{
    char sql[64];
    MYSQL *m = db_open();
    snprintf(sql, sizeof(sql), "KILL CONNECTION %lld", id);
    /* the connection may have ended on its own meanwhile (1094: unknown thread) */
    need(mysql_query(m, sql) == 0 || mysql_errno(m) == 1094, "%s: %s", sql, mysql_error(m));
    mysql_close(m);
}

/* ---- a database of the suite's own --------------------------------------------------------- */

/* Drops and creates the database name, makes it FEEGATE_DB_NAME of this process and of every
 * server and command it starts, and migrates it. */
static void own_database(const char *name)
{
    need(name[0] != '\0' && strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789_") == strlen(name) && strlen(name) < 64,
         "database name %s: lower-case letters, digits and _ only", name);
    char sql[192];
    snprintf(sql, sizeof(sql), "DROP DATABASE IF EXISTS %s", name);
    fgt_db_exec(sql, NULL);
    snprintf(sql, sizeof(sql), "CREATE DATABASE %s CHARACTER SET utf8mb4 COLLATE utf8mb4_bin", name);
    fgt_db_exec(sql, NULL);
    need(setenv("FEEGATE_DB_NAME", name, 1) == 0, "setenv: %s", strerror(errno));
    char out[8192], err[4096];
    const char *migrate[] = {"migrate", NULL};
    int status = fgt_cli_run(migrate, NULL, NULL, out, sizeof(out), err, sizeof(err));
    need(status == 0, "feegate migrate of %s exited %d: %s%s", name, status, out, err);
}

/* ctest names each suite's database in FEEGATE_TEST_DATABASE (tests/integration/CMakeLists.txt):
 * it is made before main, so that everything the suite does, its set-up included, happens there;
 * one suite's rows never reach another's checks, and the checks that read the whole database
 * (feegate ledger check) read the suite's own rows. */
__attribute__((constructor)) static void suite_database(void)
{
    const char *name = getenv("FEEGATE_TEST_DATABASE");
    if (name != NULL && name[0] != '\0')
        own_database(name);
}

/* ---- running suites ------------------------------------------------------------------------ */

TCase *fgt_tcase(Suite *suite, const char *name, void (*setup)(void), void (*teardown)(void))
{
    TCase *tc = tcase_create(name);
    tcase_set_timeout(tc, 120);
    if (setup != NULL || teardown != NULL)
        tcase_add_checked_fixture(tc, setup, teardown);
    suite_add_tcase(suite, tc);
    return tc;
}

int fgt_run(Suite *suite)
{
    need(curl_global_init(CURL_GLOBAL_ALL) == 0, "curl_global_init failed");
    need(access(bin(), X_OK) == 0, "%s is not an executable: %s", bin(), strerror(errno)); /* fail early, clearly */
    signal(SIGPIPE, SIG_IGN); /* a child that exits early must not kill us */
    in_suite = 1;
    SRunner *runner = srunner_create(suite);
    srunner_run_all(runner, CK_ENV); /* CK_VERBOSITY, CK_RUN_CASE… */
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    curl_global_cleanup();
    return failed == 0 ? 0 : 1;
}

/* ---- the domain without HTTP ---------------------------------------------------- */

void fgt_config_load(fg_config_t *cfg)
{
    char err[256];
    need(fg_config_load(cfg, NULL, err, sizeof(err)) == 0, "configuration: %s", err);
}

fg_db_t *fgt_db_open(const fg_config_t *cfg)
{
    char err[256];
    fg_db_t *db = NULL;
    need(fg_db_open(&db, cfg, err, sizeof(err)) == 0, "%s", err);
    return db;
}

void fgt_staff_token(const char *role, char *token)
{
    char email[128], out[512], err[1024];
    snprintf(email, sizeof(email), "%s@%s.gov.vn", role, fgt_unique("s"));
    const char *create[] = {"admin", "user", "create", "--email", email, "--role", role, NULL};
    int status = fgt_cli_run(create, NULL, "correct horse battery staple\n", out, sizeof(out), err, sizeof(err));
    need(status == 0, "admin user create exited %d: %s%s", status, out, err);
    need(strstr(out, "\"id\":\"usr_") != NULL, "admin user create printed no id: %s", out);
    const char *tok[] = {"admin", "token", "create", "--email", email, NULL};
    status = fgt_cli_run(tok, NULL, NULL, out, sizeof(out), err, sizeof(err));
    need(status == 0, "admin token create exited %d: %s%s", status, out, err);
    const char *t = strstr(out, "\"token\":\"");
    need(t != NULL, "admin token create printed no token: %s", out);
    snprintf(token, 96, "%.*s", (int)strcspn(t + 9, "\""), t + 9);
}
