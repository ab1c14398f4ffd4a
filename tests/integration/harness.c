/*
 * harness.c - server processes, HTTP clients (libcurl), database checks.
 */
#define _GNU_SOURCE
#include "harness.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <mysql.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* Like ck_assert_msg, but silent on success: the harness also runs in main(),
 * outside any test, where Check cannot record a passing assertion. */
#define need(cond, ...)                                                                                                \
    do {                                                                                                               \
        if (!(cond)) {                                                                                                 \
            fprintf(stderr, __VA_ARGS__);                                                                              \
            fputc('\n', stderr);                                                                                       \
            ck_abort_msg(__VA_ARGS__);                                                                                 \
        }                                                                                                              \
    } while (0)

const char *const fgt_proto_names[FGT_PROTOS] = {"HTTP/1.1", "h2c", "h2 over TLS"};

static const char *bin(void)
{
    const char *b = getenv("FEEGATE_BIN");
    if (b == NULL || b[0] == '\0')
        b = getenv("FEEGATE_BIN_DEFAULT");
    need(b != NULL && b[0] != '\0', "FEEGATE_BIN is not set");
    return b;
}

static int free_port(void)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(a);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    need(fd >= 0, "%s failed", "fd");
    need(bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0, "%s failed", "bind(fd, (struct sockaddr *)&a, sizeof(a))");
    need(getsockname(fd, (struct sockaddr *)&a, &len) == 0, "%s failed", "getsockname(fd, (struct sockaddr *)&a, &len)");
    close(fd);
    return ntohs(a.sin_port);
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

void fgt_server_start(fgt_server_t *s, const char *const *extra_env)
{
    char http[64], https[64];
    s->http_port = free_port();
    s->https_port = free_port();
    snprintf(s->log_path, sizeof(s->log_path), "/tmp/feegate-it-%d-%d.log", (int)getpid(), s->http_port);
    snprintf(http, sizeof(http), "127.0.0.1:%d", s->http_port);
    snprintf(https, sizeof(https), "127.0.0.1:%d", s->https_port);
    pid_t pid = fork();
    need(pid >= 0, "%s failed", "pid");
    if (pid == 0) {
        FILE *log = freopen(s->log_path, "w", stdout);
        if (log == NULL || dup2(fileno(stdout), 2) < 0)
            _exit(127);
        setenv("FEEGATE_HTTP_LISTEN", http, 1);
        setenv("FEEGATE_HTTPS_LISTEN", https, 1);
        setenv("FEEGATE_LOG_REQUESTS", "false", 1);
        setenv("FEEGATE_ORDERS_SWEEP_INTERVAL_MS", "100", 1);
        setenv("FEEGATE_SERVER_THREADS", "2", 1);
        setenv("FEEGATE_DB_POOL_SIZE", "16", 1);
        setenv("FEEGATE_PUBLIC_BASE_URL", "https://pay.example.gov.vn", 1);
        setenv("FEEGATE_SANDBOX_SECRET", "it-sandbox-secret", 1);
        for (const char *const *e = extra_env; e != NULL && *e != NULL; e++)
            putenv((char *)*e);
        execl(bin(), bin(), "serve", (char *)NULL);
        _exit(127);
    }
    s->pid = pid;
    for (int i = 0; i < 200; i++) {
        fgt_resp_t r = fgt_req(s, FGT_HTTP1, "GET", "/healthz", NULL, NULL, NULL, 0, NULL);
        long status = r.status;
        fgt_resp_free(&r);
        if (status == 200)
            return;
        int st;
        if (waitpid(pid, &st, WNOHANG) == pid)
            need(0, "feegate serve exited at start (see %s)", s->log_path);
        sleep_ms(100);
    }
    need(0, "feegate serve did not answer /healthz (see %s)", s->log_path);
}

static void check_log(const fgt_server_t *s)
{
    char line[1024];
    FILE *f = fopen(s->log_path, "r");
    if (f == NULL)
        return;
    while (fgets(line, sizeof(line), f) != NULL)
        need(strstr(line, "AddressSanitizer") == NULL && strstr(line, "LeakSanitizer") == NULL &&
                          strstr(line, "runtime error:") == NULL,
                      "sanitizer report in %s: %s", s->log_path, line);
    fclose(f);
}

int fgt_server_stop(fgt_server_t *s)
{
    int st = 0;
    kill(s->pid, SIGTERM);
    for (int i = 0; i < 600; i++) {
        if (waitpid(s->pid, &st, WNOHANG) == s->pid) {
            check_log(s);
            return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
        }
        sleep_ms(50);
    }
    kill(s->pid, SIGKILL);
    waitpid(s->pid, &st, 0);
    need(0, "feegate serve did not stop within 30 s of SIGTERM");
    return -1;
}

/* ---- CLI ----------------------------------------------------------------- */

static void run_capture(const char *const argv[], char *out, size_t cap)
{
    int fds[2];
    need(pipe(fds) == 0, "%s failed", "pipe(fds)");
    pid_t pid = fork();
    if (pid == 0) {
        dup2(fds[1], 1);
        close(fds[0]);
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    close(fds[1]);
    size_t n = 0;
    ssize_t got;
    while (n + 1 < cap && (got = read(fds[0], out + n, cap - n - 1)) > 0)
        n += (size_t)got;
    out[n] = '\0';
    close(fds[0]);
    int st;
    waitpid(pid, &st, 0);
    need(WIFEXITED(st) && WEXITSTATUS(st) == 0, "%s %s failed: %s", argv[0], argv[1], out);
}

static void json_field(const char *json, const char *name, char *out, size_t cap)
{
    char err[128];
    yajl_val v = yajl_tree_parse(json, err, sizeof(err));
    need(v != NULL, "not JSON: %s", json);
    const char *path[] = {name, NULL};
    yajl_val f = yajl_tree_get(v, path, yajl_t_string);
    need(f != NULL, "no %s in %s", name, json);
    snprintf(out, cap, "%s", f->u.string);
    yajl_tree_free(v);
}

int fgt_cli(const char *const argv[], const char *input, char *out, size_t cap)
{
    int in_fds[2], out_fds[2];
    need(pipe(in_fds) == 0 && pipe(out_fds) == 0, "pipe");
    pid_t pid = fork();
    if (pid == 0) {
        dup2(in_fds[0], 0);
        dup2(out_fds[1], 1);
        close(in_fds[1]);
        close(out_fds[0]);
        execv(bin(), (char *const *)argv);
        _exit(127);
    }
    close(in_fds[0]);
    close(out_fds[1]);
    if (input != NULL && write(in_fds[1], input, strlen(input)) < 0)
        need(0, "cannot write to the CLI");
    close(in_fds[1]);
    size_t n = 0;
    ssize_t got;
    while (n + 1 < cap && (got = read(out_fds[0], out + n, cap - n - 1)) > 0)
        n += (size_t)got;
    out[n] = '\0';
    close(out_fds[0]);
    int st;
    waitpid(pid, &st, 0);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

void fgt_merchant(const char *name, char *id, char *key)
{
    char out[512];
    const char *argv[] = {bin(), "admin", "merchant", "create", "--name", name, NULL};
    run_capture(argv, out, sizeof(out));
    json_field(out, "id", id, 64);
    json_field(out, "api_key", key, 64);
}

int fgt_ledger_check(void)
{
    pid_t pid = fork();
    if (pid == 0) {
        int null = open("/dev/null", 1);
        dup2(null, 1);
        execl(bin(), bin(), "ledger", "check", (char *)NULL);
        _exit(127);
    }
    int st;
    waitpid(pid, &st, 0);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

const char *fgt_unique(const char *prefix)
{
    static char buf[96];
    static unsigned counter;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    snprintf(buf, sizeof(buf), "%s-%d-%lld%09ld-%u", prefix, (int)getpid(), (long long)ts.tv_sec, ts.tv_nsec,
             counter++);
    return buf;
}

/* ---- HTTP ---------------------------------------------------------------- */

typedef struct {
    char *data;
    size_t len;
} sink_t;

static size_t sink_write(char *p, size_t size, size_t n, void *arg)
{
    sink_t *s = arg;
    size_t len = size * n;
    s->data = realloc(s->data, s->len + len + 1);
    need(s->data != NULL, "out of memory");
    memcpy(s->data + s->len, p, len);
    s->len += len;
    s->data[s->len] = '\0';
    return len;
}

typedef struct {
    CURL *curl;
    struct curl_slist *headers;
    sink_t body, head;
} easy_t;

static void easy_setup(easy_t *e, const fgt_server_t *s, fgt_proto_t proto, const char *method, const char *path,
                       const char *key, const char *idem, const char *body, size_t body_len, const char *extra)
{
    char url[512], h[512];
    memset(e, 0, sizeof(*e));
    e->curl = curl_easy_init();
    snprintf(url, sizeof(url), "%s://127.0.0.1:%d%s", proto == FGT_H2TLS ? "https" : "http",
             proto == FGT_H2TLS ? s->https_port : s->http_port, path);
    curl_easy_setopt(e->curl, CURLOPT_URL, url);
    curl_easy_setopt(e->curl, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(e->curl, CURLOPT_HTTP_VERSION,
                     proto == FGT_HTTP1 ? CURL_HTTP_VERSION_1_1
                     : proto == FGT_H2C ? CURL_HTTP_VERSION_2_PRIOR_KNOWLEDGE
                                        : CURL_HTTP_VERSION_2TLS);
    curl_easy_setopt(e->curl, CURLOPT_SSL_VERIFYPEER, 0L); /* the server's ephemeral certificate */
    curl_easy_setopt(e->curl, CURLOPT_SSL_VERIFYHOST, 0L);
    curl_easy_setopt(e->curl, CURLOPT_TIMEOUT, 120L);
    curl_easy_setopt(e->curl, CURLOPT_WRITEFUNCTION, sink_write);
    curl_easy_setopt(e->curl, CURLOPT_WRITEDATA, &e->body);
    curl_easy_setopt(e->curl, CURLOPT_HEADERFUNCTION, sink_write);
    curl_easy_setopt(e->curl, CURLOPT_HEADERDATA, &e->head);
    e->headers = curl_slist_append(NULL, "Expect:");
    e->headers = curl_slist_append(e->headers, "Content-Type: application/json");
    if (key != NULL) {
        snprintf(h, sizeof(h), "Authorization: Bearer %s", key);
        e->headers = curl_slist_append(e->headers, h);
    }
    if (idem != NULL) {
        snprintf(h, sizeof(h), "Idempotency-Key: %s", idem);
        e->headers = curl_slist_append(e->headers, h);
    }
    if (extra != NULL)
        e->headers = curl_slist_append(e->headers, extra);
    curl_easy_setopt(e->curl, CURLOPT_HTTPHEADER, e->headers);
    if (body != NULL) {
        curl_easy_setopt(e->curl, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(e->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
    }
}

static fgt_resp_t easy_finish(easy_t *e, CURLcode rc)
{
    fgt_resp_t r;
    char err[128];
    memset(&r, 0, sizeof(r));
    if (rc == CURLE_OK) {
        curl_easy_getinfo(e->curl, CURLINFO_RESPONSE_CODE, &r.status);
        curl_easy_getinfo(e->curl, CURLINFO_HTTP_VERSION, &r.http_version);
    }
    r.body = e->body.data != NULL ? e->body.data : calloc(1, 1);
    r.body_len = e->body.len;
    r.headers = e->head.data != NULL ? e->head.data : calloc(1, 1);
    for (char *p = r.headers; *p; p++)
        if (*p >= 'A' && *p <= 'Z')
            *p = (char)(*p - 'A' + 'a'); /* header names compare case-insensitively */
    r.json = r.body_len > 0 ? yajl_tree_parse(r.body, err, sizeof(err)) : NULL;
    curl_slist_free_all(e->headers);
    curl_easy_cleanup(e->curl);
    return r;
}

fgt_resp_t fgt_req(const fgt_server_t *s, fgt_proto_t proto, const char *method, const char *path, const char *key,
                   const char *idem, const char *body, size_t body_len, const char *extra)
{
    easy_t e;
    easy_setup(&e, s, proto, method, path, key, idem, body, body != NULL && body_len == 0 ? strlen(body) : body_len,
               extra);
    CURLcode rc = curl_easy_perform(e.curl);
    fgt_resp_t r = easy_finish(&e, rc);
    if (rc == CURLE_OK && proto != FGT_HTTP1)
        need(r.http_version == CURL_HTTP_VERSION_2_0, "%s did not negotiate HTTP/2", fgt_proto_names[proto]);
    return r;
}

void fgt_req_many(const fgt_server_t *s, fgt_proto_t proto, int n, const char *method, const char *path,
                  const char *key, const char *idem, const char *body, const char *extra, fgt_resp_t *out)
{
    fgt_req_many_over(s, proto, n, n, method, path, key, idem, body, extra, out);
}

void fgt_req_many_over(const fgt_server_t *s, fgt_proto_t proto, int n, int connections, const char *method,
                       const char *path, const char *key, const char *idem, const char *body, const char *extra,
                       fgt_resp_t *out)
{
    CURLM *multi = curl_multi_init();
    easy_t *e = calloc((size_t)n, sizeof(*e));
    /* one connection per request: every request is in flight at once
     * (libcurl 7.88 reports framing errors when it multiplexes many POSTs
     * over one prior-knowledge h2c connection; h2load does that part) */
    curl_multi_setopt(multi, CURLMOPT_PIPELINING, CURLPIPE_NOTHING);
    curl_multi_setopt(multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, (long)connections);
    for (int i = 0; i < n; i++) {
        easy_setup(&e[i], s, proto, method, path, key, idem, body, body != NULL ? strlen(body) : 0, extra);
        if (connections == n)
            curl_easy_setopt(e[i].curl, CURLOPT_FRESH_CONNECT, 1L);
        curl_multi_add_handle(multi, e[i].curl);
    }
    int running = 1;
    while (running) {
        curl_multi_perform(multi, &running);
        if (running)
            curl_multi_poll(multi, NULL, 0, 1000, NULL);
    }
    CURLMsg *msg;
    int left;
    CURLcode codes[4096] = {0};
    while ((msg = curl_multi_info_read(multi, &left)) != NULL)
        for (int i = 0; i < n; i++)
            if (msg->msg == CURLMSG_DONE && e[i].curl == msg->easy_handle)
                codes[i] = msg->data.result;
    for (int i = 0; i < n; i++) {
        if (codes[i] != CURLE_OK)
            fprintf(stderr, "request %d of %d: %s\n", i, n, curl_easy_strerror(codes[i]));
        curl_multi_remove_handle(multi, e[i].curl);
        out[i] = easy_finish(&e[i], codes[i]);
    }
    free(e);
    curl_multi_cleanup(multi);
}

void fgt_resp_free(fgt_resp_t *r)
{
    if (r->json != NULL)
        yajl_tree_free(r->json);
    free(r->body);
    free(r->headers);
    memset(r, 0, sizeof(*r));
}

static yajl_val at_path(const fgt_resp_t *r, va_list ap)
{
    const char *path[8];
    int n = 0;
    const char *p;
    while ((p = va_arg(ap, const char *)) != NULL && n < 7)
        path[n++] = p;
    path[n] = NULL;
    return r->json != NULL ? yajl_tree_get(r->json, path, yajl_t_any) : NULL;
}

const char *fgt_str(const fgt_resp_t *r, ...)
{
    va_list ap;
    va_start(ap, r);
    yajl_val v = at_path(r, ap);
    va_end(ap);
    return v != NULL && YAJL_IS_STRING(v) ? v->u.string : NULL;
}

long long fgt_int(const fgt_resp_t *r, ...)
{
    va_list ap;
    va_start(ap, r);
    yajl_val v = at_path(r, ap);
    va_end(ap);
    need(v != NULL && YAJL_IS_INTEGER(v), "no integer at that path in %.300s", r->body);
    return YAJL_GET_INTEGER(v);
}

const char *fgt_header(const fgt_resp_t *r, const char *name)
{
    static char value[512];
    size_t n = strlen(name);
    for (const char *p = r->headers; p != NULL && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
        if (strncmp(p, name, n) == 0 && p[n] == ':') {
            const char *v = p + n + 1;
            while (*v == ' ')
                v++;
            size_t len = strcspn(v, "\r\n");
            snprintf(value, sizeof(value), "%.*s", (int)len, v);
            return value;
        }
    }
    return NULL;
}

void fgt_expect_at(const fgt_resp_t *r, long status, const char *code, const char *file, int line)
{
    need(r->status == status, "%s:%d: status %ld, wanted %ld: %.400s", file, line, r->status, status,
                  r->body != NULL ? r->body : "");
    if (code != NULL) {
        const char *got = fgt_str(r, "error", "code", NULL);
        need(got != NULL && strcmp(got, code) == 0, "%s:%d: error code %s, wanted %s: %.400s", file, line,
                      got != NULL ? got : "(none)", code, r->body);
        need(fgt_str(r, "error", "type", NULL) != NULL && fgt_str(r, "error", "message", NULL) != NULL,
                      "%s:%d: error lacks type or message", file, line);
    }
}

/* ---- database ------------------------------------------------------------ */

static MYSQL *db_open(void)
{
    MYSQL *m = mysql_init(NULL);
    const char *sock = getenv("FEEGATE_DB_SOCKET");
    need(mysql_real_connect(m, "localhost", getenv("FEEGATE_DB_USER") ? getenv("FEEGATE_DB_USER") : "feegate",
                                     getenv("FEEGATE_DB_PASSWORD") ? getenv("FEEGATE_DB_PASSWORD") : "feegate",
                                     getenv("FEEGATE_DB_NAME") ? getenv("FEEGATE_DB_NAME") : "feegate", 0, sock, 0) != NULL,
                  "database: %s", mysql_error(m));
    return m;
}

static MYSQL_STMT *db_run(MYSQL *m, const char *sql, const char *a, const char *b)
{
    MYSQL_STMT *st = mysql_stmt_init(m);
    MYSQL_BIND p[2];
    unsigned long lens[2];
    const char *args[2] = {a, b};
    memset(p, 0, sizeof(p));
    need(mysql_stmt_prepare(st, sql, strlen(sql)) == 0, "%s: %s", sql, mysql_stmt_error(st));
    for (unsigned i = 0; i < mysql_stmt_param_count(st) && i < 2; i++) {
        lens[i] = strlen(args[i]);
        p[i].buffer_type = MYSQL_TYPE_STRING;
        p[i].buffer = (void *)args[i];
        p[i].buffer_length = lens[i];
        p[i].length = &lens[i];
    }
    need(mysql_stmt_bind_param(st, p) == 0, "%s failed", "mysql_stmt_bind_param(st, p)");
    need(mysql_stmt_execute(st) == 0, "%s: %s", sql, mysql_stmt_error(st));
    return st;
}

long long fgt_db_int(const char *sql, const char *a, const char *b)
{
    MYSQL *m = db_open();
    MYSQL_STMT *st = db_run(m, sql, a, b);
    long long v = 0;
    my_bool is_null = 0;
    MYSQL_BIND r;
    memset(&r, 0, sizeof(r));
    r.buffer_type = MYSQL_TYPE_LONGLONG;
    r.buffer = &v;
    r.is_null = &is_null;
    need(mysql_stmt_bind_result(st, &r) == 0, "%s failed", "mysql_stmt_bind_result(st, &r)");
    int rc = mysql_stmt_fetch(st);
    need(rc == 0 || rc == MYSQL_NO_DATA, "fetch: %s", mysql_stmt_error(st));
    mysql_stmt_close(st);
    mysql_close(m);
    return rc == MYSQL_NO_DATA || is_null ? -1 : v;
}

void fgt_db_exec(const char *sql, const char *a)
{
    MYSQL *m = db_open();
    MYSQL_STMT *st = db_run(m, sql, a, NULL);
    mysql_stmt_close(st);
    mysql_commit(m);
    mysql_close(m);
}

unsigned fgt_db_try(const char *sql, const char *a)
{
    MYSQL *m = db_open();
    MYSQL_STMT *st = mysql_stmt_init(m);
    MYSQL_BIND p;
    unsigned long len = a != NULL ? strlen(a) : 0;
    unsigned err = 0;
    memset(&p, 0, sizeof(p));
    if (mysql_stmt_prepare(st, sql, strlen(sql)) != 0) {
        err = mysql_stmt_errno(st);
    } else {
        if (mysql_stmt_param_count(st) > 0) {
            p.buffer_type = MYSQL_TYPE_STRING;
            p.buffer = (void *)a;
            p.buffer_length = len;
            p.length = &len;
            mysql_stmt_bind_param(st, &p);
        }
        if (mysql_stmt_execute(st) != 0)
            err = mysql_stmt_errno(st);
    }
    mysql_stmt_close(st);
    mysql_rollback(m);
    mysql_close(m);
    return err;
}

int fgt_run(Suite *suite)
{
    curl_global_init(CURL_GLOBAL_ALL);
    SRunner *runner = srunner_create(suite);
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    curl_global_cleanup();
    return failed == 0 ? 0 : 1;
}
