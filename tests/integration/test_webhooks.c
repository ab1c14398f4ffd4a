/*
 * test_webhooks.c - outbound merchant webhooks end to end: the real server
 * (one or two instances, killed with SIGKILL in one scenario) on the private
 * MariaDB, events made by really creating, paying and cancelling orders,
 * and a receiver inside this test (plain sockets, one thread per connection)
 * that verifies every signature and records what arrived and when.
 *
 * Each test starts the servers it needs, so that none delivers for another.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <mysql.h>
#include "core/crypto.h"
#include "core/ids.h"
#include "core/text.h"
#include "harness.h"
#include "webhooks/webhooks.h"

static const char SANDBOX_SECRET[] = "it-sandbox-secret";
#define RETRY_BASE_MS 100

/* ---- the receiver ------------------------------------------------------------- */

#define HITS_MAX 4096
#define SECRETS_MAX 2

typedef struct {
    char event_id[64], type[40], order_id[64];
    int attempt;
    int v1_count;
    unsigned secrets_matched; /* bit i: a v1 value verified with secrets[i] */
    long long received_ms, answered_ms;
    int answer; /* the status sent (0: none yet) */
} hit_t;

typedef struct {
    int port;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cond;
    int listen_fd;
    int stop, down;
    int hold_from;          /* requests from the hold_from-th on get no answer while >= 0 */
    int active;             /* connection threads alive */
    int connections;        /* accepted, ever */
    int fail_attempts_upto; /* answer 500 to attempts 1..N of every event */
    int delay_ms;
    int bad; /* requests with no valid signature, a stale t, or a bad shape */
    char secrets[SECRETS_MAX][80];
    int n;
    hit_t hits[HITS_MAX];
} receiver_t;

static long long mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int open_listener(int port)
{
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    int on = 1, fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
    if (bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0 || listen(fd, 256) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* Verifies "t=…,v1=…[,v1=…]" over body against every configured secret. */
static int verify(receiver_t *r, const char *header, const char *body, size_t body_len, hit_t *h)
{
    char copy[512];
    long long t = -1;
    snprintf(copy, sizeof(copy), "%s", header);
    for (char *save = NULL, *part = strtok_r(copy, ",", &save); part != NULL; part = strtok_r(NULL, ",", &save)) {
        if (strncmp(part, "t=", 2) == 0) {
            t = atoll(part + 2);
            continue;
        }
        if (strncmp(part, "v1=", 3) != 0 || t < 0)
            return 0;
        h->v1_count++;
        for (int i = 0; i < SECRETS_MAX; i++) {
            if (r->secrets[i][0] == '\0')
                continue;
            char msg_head[32];
            unsigned char mac[32];
            unsigned mac_len = 0;
            char hex[65];
            int head = snprintf(msg_head, sizeof(msg_head), "%lld.", t);
            /* HMAC(secret, t + "." + body), computed independently of the server */
            size_t msg_len = (size_t)head + body_len;
            unsigned char *msg = malloc(msg_len);
            memcpy(msg, msg_head, (size_t)head);
            memcpy(msg + head, body, body_len);
            HMAC(EVP_sha256(), r->secrets[i], (int)strlen(r->secrets[i]), msg, msg_len, mac, &mac_len);
            free(msg);
            for (unsigned k = 0; k < mac_len; k++)
                snprintf(hex + 2 * k, 3, "%02x", mac[k]);
            if (strlen(part + 3) == 64 && CRYPTO_memcmp(hex, part + 3, 64) == 0)
                h->secrets_matched |= 1u << i;
        }
    }
    long long skew = t - (long long)time(NULL);
    return t > 0 && skew <= 300 && skew >= -300 && h->secrets_matched != 0;
}

static const char *header_value(const char *head, const char *name, char *out, size_t cap)
{
    size_t n = strlen(name);
    for (const char *p = strstr(head, "\r\n"); p != NULL; p = strstr(p + 2, "\r\n")) {
        const char *line = p + 2;
        if (strncasecmp(line, name, n) == 0 && line[n] == ':') {
            const char *v = line + n + 1;
            while (*v == ' ')
                v++;
            size_t len = strcspn(v, "\r\n");
            snprintf(out, cap, "%.*s", (int)len, v);
            return out;
        }
    }
    return NULL;
}

/* Reads one request: the head into head (NUL-terminated), the body into
 * *body (malloc'd).  0 or -1. */
static int read_request(int fd, char *head, size_t head_cap, char **body, size_t *body_len)
{
    size_t got = 0;
    char *end = NULL;
    char *buf = malloc(1 << 20);
    while (end == NULL) {
        ssize_t k = recv(fd, buf + got, (1 << 20) - 1 - got, 0);
        if (k <= 0) {
            free(buf);
            return -1;
        }
        got += (size_t)k;
        buf[got] = '\0';
        end = strstr(buf, "\r\n\r\n");
    }
    size_t head_len = (size_t)(end - buf) + 2;
    snprintf(head, head_cap, "%.*s", (int)head_len, buf);
    char cl[32];
    size_t want = header_value(head, "Content-Length", cl, sizeof(cl)) != NULL ? (size_t)atol(cl) : 0;
    size_t have = got - head_len - 2;
    while (have < want) {
        ssize_t k = recv(fd, buf + got, (1 << 20) - 1 - got, 0);
        if (k <= 0) {
            free(buf);
            return -1;
        }
        got += (size_t)k;
        have += (size_t)k;
    }
    *body = malloc(want + 1);
    memcpy(*body, end + 4, want);
    (*body)[want] = '\0';
    *body_len = want;
    free(buf);
    return 0;
}

static void parse_envelope(const char *body, hit_t *h, int *ok)
{
    char err[128];
    yajl_val root = yajl_tree_parse(body, err, sizeof(err));
    const char *id = root ? fgt_val_str(root, "id", NULL) : NULL;
    const char *type = root ? fgt_val_str(root, "type", NULL) : NULL;
    yajl_val created = root ? fgt_val_at(root, "created", NULL) : NULL;
    const char *object_id = root ? fgt_val_str(root, "data", "object", "id", NULL) : NULL;
    const char *order_id = root ? fgt_val_str(root, "data", "object", "order_id", NULL) : NULL;
    if (id == NULL || type == NULL || created == NULL || !YAJL_IS_INTEGER(created) || object_id == NULL ||
        strcmp(id, h->event_id) != 0)
        *ok = 0;
    if (type != NULL)
        snprintf(h->type, sizeof(h->type), "%s", type);
    if (order_id != NULL)
        snprintf(h->order_id, sizeof(h->order_id), "%s", order_id);
    else if (object_id != NULL && strncmp(object_id, "ord_", 4) == 0)
        snprintf(h->order_id, sizeof(h->order_id), "%s", object_id);
    if (root != NULL)
        yajl_tree_free(root);
}

typedef struct {
    receiver_t *r;
    int fd;
} conn_arg_t;

static void *serve_connection(void *arg)
{
    conn_arg_t *c = arg;
    receiver_t *r = c->r;
    char head[8192], sig[512], evt[64], att[16], ua[64];
    char *body = NULL;
    size_t body_len = 0;
    struct timeval tv = {20, 0};
    setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    if (read_request(c->fd, head, sizeof(head), &body, &body_len) == 0) {
        hit_t h;
        memset(&h, 0, sizeof(h));
        h.received_ms = mono_ms();
        int ok = strncmp(head, "POST ", 5) == 0 && header_value(head, "Feegate-Signature", sig, sizeof(sig)) &&
                 header_value(head, "Feegate-Event-Id", evt, sizeof(evt)) &&
                 header_value(head, "Feegate-Delivery-Attempt", att, sizeof(att)) &&
                 header_value(head, "User-Agent", ua, sizeof(ua)) && strncmp(ua, "feegate/", 8) == 0;
        if (ok) {
            snprintf(h.event_id, sizeof(h.event_id), "%s", evt);
            h.attempt = atoi(att);
            pthread_mutex_lock(&r->mu);
            ok = verify(r, sig, body, body_len, &h);
            pthread_mutex_unlock(&r->mu);
            parse_envelope(body, &h, &ok);
        }
        pthread_mutex_lock(&r->mu);
        int index = r->n < HITS_MAX ? r->n++ : -1;
        if (!ok)
            r->bad++;
        if (index >= 0)
            r->hits[index] = h;
        while (r->hold_from >= 0 && index >= r->hold_from && !r->stop)
            pthread_cond_wait(&r->cond, &r->mu);
        int delay = r->delay_ms, status = h.attempt <= r->fail_attempts_upto ? 500 : 200;
        pthread_mutex_unlock(&r->mu);
        if (delay > 0)
            fgt_sleep_ms(delay);
        const char *text = status == 200 ? "accepted" : "receiver says no";
        char out[256];
        int len = snprintf(out, sizeof(out),
                           "HTTP/1.1 %d %s\r\nContent-Type: text/plain\r\nContent-Length: %zu\r\n"
                           "Connection: close\r\n\r\n%s",
                           status, status == 200 ? "OK" : "Internal Server Error", strlen(text), text);
        pthread_mutex_lock(&r->mu);
        if (index >= 0) {
            r->hits[index].answer = status;
            r->hits[index].answered_ms = mono_ms();
        }
        pthread_mutex_unlock(&r->mu);
        if (send(c->fd, out, (size_t)len, MSG_NOSIGNAL) < 0) {
            /* the sender is gone (killed): it will send again */
        }
    }
    free(body);
    close(c->fd);
    pthread_mutex_lock(&r->mu);
    r->active--;
    pthread_cond_broadcast(&r->cond);
    pthread_mutex_unlock(&r->mu);
    free(c);
    return NULL;
}

static void *accept_loop(void *arg)
{
    receiver_t *r = arg;
    for (;;) {
        pthread_mutex_lock(&r->mu);
        int stop = r->stop, down = r->down;
        pthread_mutex_unlock(&r->mu);
        if (stop)
            break;
        if (down && r->listen_fd >= 0) {
            close(r->listen_fd);
            r->listen_fd = -1;
        } else if (!down && r->listen_fd < 0) {
            r->listen_fd = open_listener(r->port);
        }
        if (r->listen_fd < 0) {
            fgt_sleep_ms(10);
            continue;
        }
        struct pollfd p = {.fd = r->listen_fd, .events = POLLIN};
        if (poll(&p, 1, 20) <= 0)
            continue;
        int fd = accept4(r->listen_fd, NULL, NULL, SOCK_CLOEXEC);
        if (fd < 0)
            continue;
        conn_arg_t *c = malloc(sizeof(*c));
        c->r = r;
        c->fd = fd;
        pthread_t t;
        pthread_mutex_lock(&r->mu);
        r->active++;
        r->connections++;
        pthread_mutex_unlock(&r->mu);
        pthread_create(&t, NULL, serve_connection, c);
        pthread_detach(t);
    }
    if (r->listen_fd >= 0)
        close(r->listen_fd);
    return NULL;
}

static receiver_t *receiver_start(const char *secret)
{
    receiver_t *r = calloc(1, sizeof(*r));
    pthread_mutex_init(&r->mu, NULL);
    pthread_cond_init(&r->cond, NULL);
    snprintf(r->secrets[0], sizeof(r->secrets[0]), "%s", secret != NULL ? secret : "");
    r->hold_from = -1;
    r->listen_fd = open_listener(0);
    ck_assert_int_ge(r->listen_fd, 0);
    struct sockaddr_in a;
    socklen_t len = sizeof(a);
    getsockname(r->listen_fd, (struct sockaddr *)&a, &len);
    r->port = ntohs(a.sin_port);
    pthread_create(&r->thread, NULL, accept_loop, r);
    return r;
}

static void receiver_stop(receiver_t *r)
{
    pthread_mutex_lock(&r->mu);
    r->stop = 1;
    pthread_cond_broadcast(&r->cond);
    pthread_mutex_unlock(&r->mu);
    pthread_join(r->thread, NULL);
    pthread_mutex_lock(&r->mu);
    while (r->active > 0)
        pthread_cond_wait(&r->cond, &r->mu);
    pthread_mutex_unlock(&r->mu);
    free(r);
}

static void receiver_set(receiver_t *r, int *field, int value)
{
    pthread_mutex_lock(&r->mu);
    *field = value;
    pthread_cond_broadcast(&r->cond);
    pthread_mutex_unlock(&r->mu);
}

static void receiver_secret(receiver_t *r, int i, const char *secret)
{
    pthread_mutex_lock(&r->mu);
    snprintf(r->secrets[i], sizeof(r->secrets[i]), "%s", secret);
    pthread_mutex_unlock(&r->mu);
}

/* Copies the hits so far (at most cap) into out; returns how many. */
static int receiver_hits(receiver_t *r, hit_t *out, int cap)
{
    pthread_mutex_lock(&r->mu);
    int n = r->n < cap ? r->n : cap;
    memcpy(out, r->hits, (size_t)n * sizeof(hit_t));
    pthread_mutex_unlock(&r->mu);
    return n;
}

static int receiver_connections(receiver_t *r)
{
    pthread_mutex_lock(&r->mu);
    int n = r->connections;
    pthread_mutex_unlock(&r->mu);
    return n;
}

static int receiver_bad(receiver_t *r)
{
    pthread_mutex_lock(&r->mu);
    int bad = r->bad;
    pthread_mutex_unlock(&r->mu);
    return bad;
}

/* The first hit of event id answered 200 (or NULL). */
static const hit_t *accepted(const hit_t *hits, int n, const char *event_id)
{
    for (int i = 0; i < n; i++)
        if (hits[i].answer == 200 && strcmp(hits[i].event_id, event_id) == 0)
            return &hits[i];
    return NULL;
}

/* ---- the API ----------------------------------------------------------------- */

static void server_start(fgt_server_t *s, int allow_private)
{
    const char *env[] = {"FEEGATE_SANDBOX_SECRET=it-sandbox-secret",
                         allow_private ? "FEEGATE_WEBHOOKS_ALLOW_PRIVATE=true" : "FEEGATE_WEBHOOKS_ALLOW_PRIVATE=false",
                         "FEEGATE_WEBHOOKS_RETRY_BASE_MS=100", NULL};
    fgt_server_start(s, env);
}

static void server_kill(fgt_server_t *s)
{
    int st;
    kill(s->pid, SIGKILL);
    waitpid(s->pid, &st, 0);
    ck_assert(WIFSIGNALED(st));
    unlink(s->log_path);
    s->pid = 0;
}

static void merchant(fgt_merchant_t *m) { fgt_merchant_create(fgt_unique("Trường THCS Webhook"), m->id, m->key); }

/* Creates an endpoint; id and secret hold 64 bytes. */
static void endpoint_create(const fgt_server_t *s, const fgt_merchant_t *m, const char *url, const char *events,
                            char *id, char *secret)
{
    char body[512];
    snprintf(body, sizeof(body), "{\"url\":\"%s\",\"events\":%s,\"description\":\"kế toán\"}", url, events);
    fgt_response_t r = fgt_req(s, FGT_H2C, "POST", "/v1/webhook-endpoints", m->key, NULL, body, 0, NULL);
    fgt_expect(r, 201, NULL);
    snprintf(id, 64, "%s", fgt_json_str(&r, "id", NULL));
    snprintf(secret, 64, "%s", fgt_json_str(&r, "secret", NULL));
    ck_assert_int_eq(strncmp(secret, "whsec_", 6), 0);
    ck_assert_str_eq(fgt_json_str(&r, "status", NULL), "enabled");
    fgt_response_free(&r);
}

static void endpoint_delete(const fgt_server_t *s, const fgt_merchant_t *m, const char *id)
{
    char path[128];
    snprintf(path, sizeof(path), "/v1/webhook-endpoints/%.63s", id); /* an id is shorter */
    fgt_response_t r = fgt_req(s, FGT_H2C, "DELETE", path, m->key, NULL, NULL, 0, NULL);
    fgt_expect(r, 200, NULL);
    fgt_response_free(&r);
}

static void receiver_url(const receiver_t *r, char *url, size_t cap)
{
    snprintf(url, cap, "http://127.0.0.1:%d/hooks/feegate", r->port);
}

static void order_new(const fgt_server_t *s, const fgt_merchant_t *m, long long amount, int partial, char *id)
{
    char extra[64];
    snprintf(extra, sizeof(extra), ",\"allow_partial\":%s", partial ? "true" : "false");
    fgt_response_t r = fgt_order_create(s, FGT_H2C, m->key, NULL, fgt_unique("WH"), amount, extra);
    fgt_expect(r, 201, NULL);
    snprintf(id, 64, "%s", fgt_json_str(&r, "id", NULL));
    fgt_response_free(&r);
}

static void order_cancel(const fgt_server_t *s, const fgt_merchant_t *m, const char *id)
{
    char path[128];
    int len = snprintf(path, sizeof(path), "/v1/orders/%s/cancel", id);
    ck_assert(len > 0 && (size_t)len < sizeof(path));
    fgt_response_t r = fgt_req(s, FGT_H2C, "POST", path, m->key, NULL, NULL, 0, NULL);
    fgt_expect(r, 200, NULL);
    fgt_response_free(&r);
}

/* Pays amount of an order through the sandbox: a payment, then the signed
 * sandbox notification of its success. */
static void order_pay(const fgt_server_t *s, const fgt_merchant_t *m, const char *order, long long amount)
{
    char path[128], body[160], note[300], header[200], msg[400], hex[65], pay[64];
    uint8_t mac[FG_SHA256_LEN];
    snprintf(path, sizeof(path), "/v1/orders/%s/payments", order);
    snprintf(body, sizeof(body), "{\"method\":\"sandbox\",\"amount\":%lld}", amount);
    fgt_response_t r = fgt_req(s, FGT_H2C, "POST", path, m->key, NULL, body, 0, NULL);
    fgt_expect(r, 201, NULL);
    snprintf(pay, sizeof(pay), "%s", fgt_json_str(&r, "id", NULL));
    fgt_response_free(&r);
    snprintf(note, sizeof(note),
             "{\"payment_id\":\"%s\",\"provider_txn_id\":\"%s\",\"status\":\"succeeded\",\"amount\":%lld}", pay,
             fgt_unique("TX"), amount);
    long long t = (long long)time(NULL);
    snprintf(msg, sizeof(msg), "%lld.%s", t, note);
    fg_hmac_sha256(SANDBOX_SECRET, strlen(SANDBOX_SECRET), msg, strlen(msg), mac);
    fg_hex_encode(mac, sizeof(mac), hex);
    snprintf(header, sizeof(header), "X-Signature: t=%lld,v1=%s", t, hex);
    r = fgt_req(s, FGT_HTTP1, "POST", "/v1/webhooks/sandbox", NULL, NULL, note, 0, header);
    fgt_expect(r, 200, NULL);
    fgt_response_free(&r);
}

/* n orders in one batch; ids hold 64 bytes each. */
static void orders_batch(const fgt_server_t *s, const fgt_merchant_t *m, int n, char (*ids)[64])
{
    size_t cap = (size_t)n * 160 + 64, len = 0;
    char *body = malloc(cap);
    len += (size_t)snprintf(body + len, cap - len, "{\"orders\":[");
    for (int i = 0; i < n; i++)
        len += (size_t)snprintf(body + len, cap - len,
                                "%s{\"merchant_ref\":\"%s\",\"fee_type\":\"utility\",\"amount\":%d,"
                                "\"currency\":\"VND\"}",
                                i ? "," : "", fgt_unique("B"), 10000 + i);
    snprintf(body + len, cap - len, "]}");
    fgt_response_t r = fgt_req(s, FGT_H2C, "POST", "/v1/orders/batch", m->key, NULL, body, 0, NULL);
    fgt_expect(r, 200, NULL);
    yajl_val data = fgt_json_array(&r, "data", NULL);
    ck_assert_int_eq((int)data->u.array.len, n);
    for (int i = 0; i < n; i++)
        snprintf(ids[i], 64, "%s", fgt_val_str(data->u.array.values[i], "id", NULL));
    fgt_response_free(&r);
    free(body);
}

/* Cancels every order at once (concurrent requests over h2c). */
static void orders_cancel_all(const fgt_server_t *s, const fgt_merchant_t *m, int n, char (*ids)[64])
{
    char auth[128];
    snprintf(auth, sizeof(auth), "Authorization: Bearer %s", m->key);
    const char *headers[] = {auth, NULL};
    fgt_request_t *reqs = calloc((size_t)n, sizeof(*reqs));
    char(*paths)[128] = calloc((size_t)n, sizeof(*paths));
    fgt_response_t *out = calloc((size_t)n, sizeof(*out));
    for (int i = 0; i < n; i++) {
        int len = snprintf(paths[i], sizeof(*paths), "/v1/orders/%s/cancel", ids[i]);
        ck_assert(len > 0 && (size_t)len < sizeof(*paths));
        reqs[i] = (fgt_request_t){"POST", paths[i], headers, NULL, 0, NULL};
    }
    fgt_request_all(s, FGT_H2C, 4, n, reqs, NULL, NULL, out);
    for (int i = 0; i < n; i++) {
        fgt_expect(out[i], 200, NULL);
        fgt_response_free(&out[i]);
    }
    free(reqs);
    free(paths);
    free(out);
}

/* Waits (up to 15 s) until the fan-out has read every event committed so
 * far: its mark has reached the newest event and no gap below it is open (a
 * rolled-back id is proven dead within about two settle rounds).  The event
 * log itself lists every committed event at once (it is paged by the change
 * sequencer's numbers); the deliveries follow the fan-out. */
static void wait_log_pageable(void)
{
    long long deadline = mono_ms() + 15000;
    while (fgt_db_int("SELECT (SELECT COALESCE(MAX(id), 0) FROM events) <= "
                      "(SELECT last_event_id FROM webhook_fanout WHERE id = 1) "
                      "AND NOT EXISTS (SELECT 1 FROM webhook_fanout_gaps)",
                      NULL, NULL) != 1) {
        ck_assert_msg(mono_ms() < deadline, "the event log did not become pageable within 15 s");
        fgt_sleep_ms(50);
    }
}

/* The merchant's events of one order, oldest first (ids hold 64 bytes). */
static int events_of_order(const fgt_server_t *s, const fgt_merchant_t *m, const char *order, char (*ids)[64], int cap)
{
    char path[256], cursor[64] = "";
    int n = 0;
    wait_log_pageable();
    for (;;) {
        /* small pages: the cursor is exercised too */
        snprintf(path, sizeof(path), "/v1/events?limit=7%s%s", cursor[0] ? "&cursor=" : "", cursor);
        fgt_response_t r = fgt_req(s, FGT_H2C, "GET", path, m->key, NULL, NULL, 0, NULL);
        fgt_expect(r, 200, NULL);
        yajl_val data = fgt_json_array(&r, "data", NULL);
        for (size_t i = 0; i < data->u.array.len; i++) {
            yajl_val e = data->u.array.values[i];
            const char *oid = fgt_val_str(e, "data", "object", "order_id", NULL);
            const char *obj = fgt_val_str(e, "data", "object", "id", NULL);
            if (oid == NULL)
                oid = obj;
            if (oid != NULL && strcmp(oid, order) == 0 && n < cap)
                snprintf(ids[n++], 64, "%s", fgt_val_str(e, "id", NULL));
        }
        const char *next = fgt_json_str(&r, "next_cursor", NULL);
        if (next != NULL)
            snprintf(cursor, sizeof(cursor), "%s", next);
        fgt_response_free(&r);
        if (next == NULL)
            return n;
    }
}

static long long metric(const fgt_server_t *s, const char *name)
{
    fgt_response_t r = fgt_metrics(s);
    ck_assert_int_eq(r.status, 200);
    char key[128];
    snprintf(key, sizeof(key), "\n%s ", name);
    const char *p = strstr(r.body, key);
    long long v = p != NULL ? atoll(p + strlen(key)) : -1;
    fgt_response_free(&r);
    return v;
}

/* The failed deliveries' counter, by reason. */
#define FAILED_EXHAUSTED "feegate_webhook_deliveries_failed_total{reason=\"retries_exhausted\"}"
#define FAILED_DELETED "feegate_webhook_deliveries_failed_total{reason=\"endpoint_deleted\"}"

static long long pending_of(const char *endpoint)
{
    return fgt_db_int("SELECT COUNT(*) FROM webhook_deliveries d JOIN webhook_endpoints w ON w.id = d.endpoint_id "
                      "WHERE w.public_id = ? AND d.status = 'pending'",
                      endpoint, NULL);
}

static long long delivered_of(const char *endpoint)
{
    return fgt_db_int("SELECT COUNT(*) FROM webhook_deliveries d JOIN webhook_endpoints w ON w.id = d.endpoint_id "
                      "WHERE w.public_id = ? AND d.status = 'delivered'",
                      endpoint, NULL);
}

/* Waits (up to timeout_ms) until the receiver accepted every event of ids. */
static int wait_accepted(receiver_t *rc, char (*ids)[64], int n, long timeout_ms)
{
    static hit_t hits[HITS_MAX];
    long long deadline = mono_ms() + timeout_ms;
    for (;;) {
        int got = receiver_hits(rc, hits, HITS_MAX), missing = 0;
        for (int i = 0; i < n; i++)
            missing += accepted(hits, got, ids[i]) == NULL;
        if (missing == 0)
            return 1;
        if (mono_ms() > deadline)
            return 0;
        fgt_sleep_ms(50);
    }
}

/* ---- endpoints: the API ------------------------------------------------------- */

START_TEST(endpoint_routes_and_tenant_isolation)
{
    fgt_server_t s;
    fgt_merchant_t a, b;
    char id[64], secret[64], path[160], idem[64];
    server_start(&s, 1);
    merchant(&a);
    merchant(&b);
    endpoint_create(&s, &a, "http://127.0.0.1:9/hook", "[\"order.paid\",\"order.cancelled\",\"order.paid\"]", id,
                    secret);
    ck_assert_int_eq(strncmp(id, "whe_", 4), 0);

    /* bad input: 400 for shape, 422 for values, nothing written */
    long long before = fgt_db_int("SELECT COUNT(*) FROM webhook_endpoints", NULL, NULL);
    static const struct {
        const char *body;
        long status;
        const char *code;
    } BAD[] = {
        {"{\"events\":[\"*\"]}", 400, "missing_field"},
        {"{\"url\":\"https://a.example\"}", 400, "missing_field"},
        {"{\"url\":\"https://a.example\",\"events\":[\"*\"],\"secret\":\"x\"}", 400, "unknown_field"},
        {"{\"url\":42,\"events\":[\"*\"]}", 400, "invalid_type"},
        {"{\"url\":\"http://127.0.0.1/\",\"events\":\"order.paid\"}", 400, "invalid_type"},
        {"{\"url\":\"http://127.0.0.1/\",\"events\":[]}", 422, "invalid_events"},
        {"{\"url\":\"http://127.0.0.1/\",\"events\":[\"order.eaten\"]}", 422, "unknown_event_type"},
        {"{\"url\":\"ftp://127.0.0.1/\",\"events\":[\"*\"]}", 422, "url_not_allowed"},
        {"{\"url\":\"not a url\",\"events\":[\"*\"]}", 422, "invalid_url"},
        {"{\"url\":\"https://u:p@127.0.0.1/\",\"events\":[\"*\"]}", 422, "invalid_url"},
        {"[1]", 400, "invalid_json"},
    };
    for (size_t i = 0; i < sizeof(BAD) / sizeof(BAD[0]); i++) {
        fgt_response_t r = fgt_req(&s, FGT_H2C, "POST", "/v1/webhook-endpoints", a.key, NULL, BAD[i].body, 0, NULL);
        fgt_expect_error(r, BAD[i].status, "invalid_request", BAD[i].code);
        fgt_response_free(&r);
    }
    ck_assert_int_eq(fgt_db_int("SELECT COUNT(*) FROM webhook_endpoints", NULL, NULL), before);

    /* read, list: the secret is never shown again */
    snprintf(path, sizeof(path), "/v1/webhook-endpoints/%s", id);
    fgt_response_t r = fgt_req(&s, FGT_HTTP1, "GET", path, a.key, NULL, NULL, 0, NULL);
    fgt_expect(r, 200, NULL);
    ck_assert_ptr_null(fgt_json_str(&r, "secret", NULL));
    ck_assert_int_eq((int)fgt_json_array(&r, "events", NULL)->u.array.len, 2); /* duplicates dropped */
    ck_assert_str_eq(fgt_json_str(&r, "description", NULL), "kế toán");
    fgt_response_free(&r);
    r = fgt_req(&s, FGT_H2TLS, "GET", "/v1/webhook-endpoints?limit=500", a.key, NULL, NULL, 0, NULL);
    fgt_expect(r, 200, NULL);
    ck_assert_ptr_nonnull(strstr(r.body, id));
    ck_assert_ptr_null(strstr(r.body, "whsec_"));
    fgt_response_free(&r);

    /* another merchant: 404 everywhere, and an empty list */
    const char *methods[] = {"GET", "POST", "DELETE"};
    for (int i = 0; i < 3; i++) {
        r = fgt_req(&s, FGT_H2C, methods[i], path, b.key, NULL, i == 1 ? "{\"events\":[\"*\"]}" : NULL, 0, NULL);
        fgt_expect_error(r, 404, "not_found", "endpoint_not_found");
        fgt_response_free(&r);
    }
    const char *suffixes[] = {"/deliveries", "/rotate-secret", "/disable"};
    for (int i = 0; i < 3; i++) {
        char p2[200];
        snprintf(p2, sizeof(p2), "%s%s", path, suffixes[i]);
        r = fgt_req(&s, FGT_H2C, i == 0 ? "GET" : "POST", p2, b.key, NULL, NULL, 0, NULL);
        fgt_expect_error(r, 404, "not_found", "endpoint_not_found");
        fgt_response_free(&r);
    }
    r = fgt_req(&s, FGT_H2C, "GET", "/v1/webhook-endpoints", b.key, NULL, NULL, 0, NULL);
    ck_assert_ptr_null(strstr(r.body, id));
    fgt_response_free(&r);
    r = fgt_req(&s, FGT_H2C, "GET", "/v1/webhook-endpoints", NULL, NULL, NULL, 0, NULL);
    fgt_expect_error(r, 401, "authentication", NULL);
    fgt_response_free(&r);

    /* update, disable, enable */
    r = fgt_req(&s, FGT_H2C, "POST", path, a.key, NULL, "{\"events\":[\"*\"],\"description\":null}", 0, NULL);
    fgt_expect(r, 200, NULL);
    ck_assert_str_eq(fgt_val_str(fgt_json_array(&r, "events", NULL)->u.array.values[0], NULL), "*");
    ck_assert(fgt_json_is_null(&r, "description", NULL));
    fgt_response_free(&r);
    snprintf(path, sizeof(path), "/v1/webhook-endpoints/%s/disable", id);
    r = fgt_req(&s, FGT_H2C, "POST", path, a.key, NULL, NULL, 0, NULL);
    fgt_expect(r, 200, NULL);
    ck_assert_str_eq(fgt_json_str(&r, "status", NULL), "disabled");
    ck_assert_str_eq(fgt_json_str(&r, "disabled_reason", NULL), "merchant");
    fgt_response_free(&r);
    snprintf(path, sizeof(path), "/v1/webhook-endpoints/%s/enable", id);
    r = fgt_req(&s, FGT_H2C, "POST", path, a.key, NULL, NULL, 0, NULL);
    fgt_expect(r, 200, NULL);
    ck_assert_str_eq(fgt_json_str(&r, "status", NULL), "enabled");
    ck_assert(fgt_json_is_null(&r, "disabled_reason", NULL));
    fgt_response_free(&r);

    /* rotation: a new secret, shown once; the old one signs for 24 h more;
     * the Idempotency-Key replays the same answer */
    snprintf(path, sizeof(path), "/v1/webhook-endpoints/%s/rotate-secret", id);
    snprintf(idem, sizeof(idem), "%s", fgt_unique("rot"));
    r = fgt_req(&s, FGT_H2C, "POST", path, a.key, idem, NULL, 0, NULL);
    fgt_expect(r, 200, NULL);
    char rotated[64];
    snprintf(rotated, sizeof(rotated), "%s", fgt_json_str(&r, "secret", NULL));
    ck_assert_str_ne(rotated, secret);
    ck_assert_ptr_nonnull(fgt_json_str(&r, "secret_rotation_ends_at", NULL));
    fgt_response_t again = fgt_req(&s, FGT_H2C, "POST", path, a.key, idem, NULL, 0, NULL);
    fgt_expect(again, 200, NULL);
    ck_assert_str_eq(again.body, r.body);
    ck_assert_str_eq(fgt_header(&again, "idempotent-replayed"), "true");
    fgt_response_free(&again);
    fgt_response_free(&r);

    /* Idempotency-Key on create: one endpoint, the same answer twice */
    snprintf(idem, sizeof(idem), "%s", fgt_unique("ep"));
    const char *create = "{\"url\":\"http://127.0.0.1:9/other\",\"events\":[\"order.paid\"]}";
    r = fgt_req(&s, FGT_H2C, "POST", "/v1/webhook-endpoints", a.key, idem, create, 0, NULL);
    again = fgt_req(&s, FGT_H2TLS, "POST", "/v1/webhook-endpoints", a.key, idem, create, 0, NULL);
    fgt_expect(r, 201, NULL);
    fgt_expect(again, 201, NULL);
    ck_assert_str_eq(again.body, r.body);
    ck_assert_int_eq(fgt_db_int("SELECT COUNT(*) FROM webhook_endpoints WHERE public_id = ?",
                                fgt_json_str(&r, "id", NULL), NULL),
                     1);
    char second[64];
    snprintf(second, sizeof(second), "%s", fgt_json_str(&r, "id", NULL));
    fgt_response_free(&again);
    fgt_response_free(&r);
    r = fgt_req(&s, FGT_H2C, "POST", "/v1/webhook-endpoints", a.key, idem,
                "{\"url\":\"http://127.0.0.1:9/changed\",\"events\":[\"order.paid\"]}", 0, NULL);
    fgt_expect_error(r, 422, "idempotency", "idempotency_key_reused");
    fgt_response_free(&r);

    /* delete: gone for good */
    endpoint_delete(&s, &a, id);
    endpoint_delete(&s, &a, second);
    snprintf(path, sizeof(path), "/v1/webhook-endpoints/%s", id);
    r = fgt_req(&s, FGT_H2C, "GET", path, a.key, NULL, NULL, 0, NULL);
    fgt_expect_error(r, 404, "not_found", "endpoint_not_found");
    fgt_response_free(&r);
    ck_assert_int_eq(fgt_server_stop(&s), 0);
}
END_TEST

/* ---- delivery: signed, complete, visible ---------------------------------------- */

START_TEST(payments_and_cancellations_are_delivered_signed)
{
    fgt_server_t s;
    fgt_merchant_t m, other;
    char ep[64], secret[64], url[128], paid[64], cancelled[64], ids[8][64], path[256];
    server_start(&s, 1);
    merchant(&m);
    merchant(&other);
    receiver_t *rc = receiver_start(NULL);
    receiver_url(rc, url, sizeof(url));
    endpoint_create(&s, &m, url, "[\"*\"]", ep, secret);
    receiver_secret(rc, 0, secret);

    order_new(&s, &m, 250000, 0, paid);
    order_pay(&s, &m, paid, 250000);
    order_new(&s, &m, 90000, 0, cancelled);
    order_cancel(&s, &m, cancelled);
    char other_order[64];
    order_new(&s, &other, 1000, 0, other_order); /* another merchant's event: never sent here */
    order_cancel(&s, &other, other_order);

    int n = events_of_order(&s, &m, paid, ids, 8);
    ck_assert_int_eq(n, 2);
    n += events_of_order(&s, &m, cancelled, ids + 2, 6);
    ck_assert_int_eq(n, 3);
    ck_assert_msg(wait_accepted(rc, ids, n, 15000), "every event arrives");

    static hit_t hits[HITS_MAX];
    int got = receiver_hits(rc, hits, HITS_MAX);
    ck_assert_int_eq(receiver_bad(rc), 0);
    ck_assert_int_eq(got, 3); /* once each, nothing else */
    const hit_t *first = accepted(hits, got, ids[0]), *second = accepted(hits, got, ids[1]);
    ck_assert_str_eq(first->type, "payment.succeeded");
    ck_assert_str_eq(second->type, "order.paid");
    ck_assert_str_eq(second->order_id, paid);
    ck_assert_int_ge(second->received_ms, first->answered_ms); /* one order's events in order */
    ck_assert_str_eq(accepted(hits, got, ids[2])->type, "order.cancelled");
    for (int i = 0; i < got; i++) {
        ck_assert_int_eq(hits[i].attempt, 1);
        ck_assert_int_eq(hits[i].v1_count, 1);
    }

    /* the event log and the delivery log agree */
    snprintf(path, sizeof(path), "/v1/events/%s", ids[1]);
    fgt_response_t r = fgt_req(&s, FGT_H2C, "GET", path, m.key, NULL, NULL, 0, NULL);
    fgt_expect(r, 200, NULL);
    ck_assert_str_eq(fgt_json_str(&r, "type", NULL), "order.paid");
    ck_assert_str_eq(fgt_json_str(&r, "data", "object", "status", NULL), "paid");
    fgt_response_free(&r);
    r = fgt_req(&s, FGT_H2C, "GET", path, other.key, NULL, NULL, 0, NULL);
    fgt_expect_error(r, 404, "not_found", "event_not_found");
    fgt_response_free(&r);
    r = fgt_req(&s, FGT_H2C, "GET", "/v1/events?type=order.paid&limit=500", m.key, NULL, NULL, 0, NULL);
    fgt_expect(r, 200, NULL);
    ck_assert_int_eq((int)fgt_json_array(&r, "data", NULL)->u.array.len, 1);
    fgt_response_free(&r);
    snprintf(path, sizeof(path), "/v1/events?after=%s", ids[0]);
    r = fgt_req(&s, FGT_H2C, "GET", path, m.key, NULL, NULL, 0, NULL);
    fgt_expect(r, 200, NULL);
    ck_assert_int_eq((int)fgt_json_array(&r, "data", NULL)->u.array.len, 2);
    ck_assert_str_eq(fgt_val_str(fgt_json_array(&r, "data", NULL)->u.array.values[0], "id", NULL), ids[1]);
    fgt_response_free(&r);
    r = fgt_req(&s, FGT_H2C, "GET", "/v1/events?type=order.eaten", m.key, NULL, NULL, 0, NULL);
    fgt_expect_error(r, 400, "invalid_request", "invalid_type");
    fgt_response_free(&r);
    snprintf(path, sizeof(path), "/v1/webhook-endpoints/%s/deliveries?status=delivered", ep);
    for (int tries = 0; tries < 100 && delivered_of(ep) < 3; tries++)
        fgt_sleep_ms(20); /* the receiver answered; the outcome is being recorded */
    r = fgt_req(&s, FGT_H2C, "GET", path, m.key, NULL, NULL, 0, NULL);
    fgt_expect(r, 200, NULL);
    yajl_val data = fgt_json_array(&r, "data", NULL);
    ck_assert_int_eq((int)data->u.array.len, 3);
    yajl_val d0 = data->u.array.values[0];
    ck_assert_int_eq(YAJL_GET_INTEGER(fgt_val_at(d0, "last_response_code", NULL)), 200);
    ck_assert_str_eq(fgt_val_str(d0, "last_response_body", NULL), "accepted");
    ck_assert_int_eq(YAJL_GET_INTEGER(fgt_val_at(d0, "attempts", NULL)), 1);
    fgt_response_free(&r);
    ck_assert_int_ge(metric(&s, "feegate_webhook_deliveries_delivered_total"), 3);
    ck_assert_int_ge(metric(&s, "feegate_webhook_deliveries_pending"), 0);

    /* rotation: both secrets sign for 24 h */
    snprintf(path, sizeof(path), "/v1/webhook-endpoints/%s/rotate-secret", ep);
    r = fgt_req(&s, FGT_H2C, "POST", path, m.key, NULL, NULL, 0, NULL);
    fgt_expect(r, 200, NULL);
    receiver_secret(rc, 1, fgt_json_str(&r, "secret", NULL));
    fgt_response_free(&r);
    char later[64], later_ids[2][64];
    order_new(&s, &m, 5000, 0, later);
    order_cancel(&s, &m, later);
    ck_assert_int_eq(events_of_order(&s, &m, later, later_ids, 2), 1);
    ck_assert(wait_accepted(rc, later_ids, 1, 15000));
    got = receiver_hits(rc, hits, HITS_MAX);
    const hit_t *h = accepted(hits, got, later_ids[0]);
    ck_assert_int_eq(h->v1_count, 2);
    ck_assert_uint_eq(h->secrets_matched, 3u); /* one v1 from the new secret, one from the old */

    /* redelivery: a new delivery of the same event, attempt 1 again */
    snprintf(path, sizeof(path), "/v1/events/%s/redeliver", ids[2]);
    r = fgt_req(&s, FGT_H2C, "POST", path, m.key, fgt_unique("rd"), NULL, 0, NULL);
    fgt_expect(r, 201, NULL);
    ck_assert_int_eq(YAJL_GET_INTEGER(
                         fgt_val_at(fgt_json_array(&r, "data", NULL)->u.array.values[0], "redelivery", NULL)),
                     1);
    fgt_response_free(&r);
    r = fgt_req(&s, FGT_H2C, "POST", path, other.key, NULL, NULL, 0, NULL);
    fgt_expect_error(r, 404, "not_found", "event_not_found");
    fgt_response_free(&r);
    long long deadline = mono_ms() + 10000;
    int copies = 0;
    while (copies < 2 && mono_ms() < deadline) {
        got = receiver_hits(rc, hits, HITS_MAX);
        copies = 0;
        for (int i = 0; i < got; i++)
            copies += strcmp(hits[i].event_id, ids[2]) == 0 && hits[i].answer == 200;
        fgt_sleep_ms(20);
    }
    ck_assert_int_eq(copies, 2);
    ck_assert_int_eq(receiver_bad(rc), 0);
    endpoint_delete(&s, &m, ep);
    ck_assert_int_eq(fgt_server_stop(&s), 0);
    receiver_stop(rc);
}
END_TEST

/* ---- retries ---------------------------------------------------------------------- */

START_TEST(failed_attempts_are_retried_with_growing_delays)
{
    enum { FAILS = 4 };
    fgt_server_t s;
    fgt_merchant_t m;
    char ep[64], secret[64], url[128], order[64], ids[1][64], path[256];
    server_start(&s, 1);
    merchant(&m);
    receiver_t *rc = receiver_start(NULL);
    receiver_url(rc, url, sizeof(url));
    endpoint_create(&s, &m, url, "[\"order.cancelled\"]", ep, secret);
    receiver_secret(rc, 0, secret);
    receiver_set(rc, &rc->fail_attempts_upto, FAILS);
    order_new(&s, &m, 70000, 0, order);
    order_cancel(&s, &m, order);
    ck_assert_int_eq(events_of_order(&s, &m, order, ids, 1), 1);

    /* while it fails, the delivery shows the receiver's answer */
    snprintf(path, sizeof(path), "/v1/webhook-endpoints/%s/deliveries", ep);
    long long deadline = mono_ms() + 5000;
    int seen_failure = 0;
    while (!seen_failure && mono_ms() < deadline) {
        fgt_response_t r = fgt_req(&s, FGT_H2C, "GET", path, m.key, NULL, NULL, 0, NULL);
        yajl_val list = fgt_json_array(&r, "data", NULL);
        yajl_val d = list->u.array.len > 0 ? list->u.array.values[0] : NULL;
        yajl_val code = d != NULL ? fgt_val_at(d, "last_response_code", NULL) : NULL;
        if (code != NULL && YAJL_IS_INTEGER(code) && YAJL_GET_INTEGER(code) == 500) {
            ck_assert_str_eq(fgt_val_str(d, "status", NULL), "pending");
            ck_assert_str_eq(fgt_val_str(d, "last_response_body", NULL), "receiver says no");
            ck_assert_ptr_nonnull(fgt_val_str(d, "next_attempt_at", NULL));
            seen_failure = 1;
        }
        fgt_response_free(&r);
    }
    ck_assert(seen_failure);
    ck_assert(wait_accepted(rc, ids, 1, 20000));

    static hit_t hits[HITS_MAX];
    int got = receiver_hits(rc, hits, HITS_MAX);
    ck_assert_int_eq(got, FAILS + 1);
    for (int i = 0; i < got; i++) {
        ck_assert_int_eq(hits[i].attempt, i + 1); /* every attempt once, in order */
        ck_assert_str_eq(hits[i].event_id, ids[0]);
    }
    /* delays: base·2^(n-1) with equal jitter, so each in [base·2^(n-2), base·2^(n-1)]
     * and never shorter than the one before (allowing 60 ms of scheduling) */
    long long gap_prev = 0;
    for (int i = 1; i < got; i++) {
        long long gap = hits[i].received_ms - hits[i - 1].answered_ms;
        long long full = (long long)RETRY_BASE_MS << (i - 1);
        ck_assert_int_ge(gap, full / 2 - 10);
        ck_assert_int_le(gap, full + 400);
        ck_assert_int_ge(gap + 60, gap_prev);
        gap_prev = gap;
    }
    for (int tries = 0; tries < 100 && delivered_of(ep) < 1; tries++)
        fgt_sleep_ms(20);
    fgt_response_t r = fgt_req(&s, FGT_H2C, "GET", path, m.key, NULL, NULL, 0, NULL);
    yajl_val d = fgt_json_array(&r, "data", NULL)->u.array.values[0];
    ck_assert_str_eq(fgt_val_str(d, "status", NULL), "delivered");
    ck_assert_int_eq(YAJL_GET_INTEGER(fgt_val_at(d, "attempts", NULL)), FAILS + 1);
    fgt_response_free(&r);
    ck_assert_int_ge(metric(&s, "feegate_webhook_attempts_retried_total"), FAILS);
    endpoint_delete(&s, &m, ep);
    ck_assert_int_eq(fgt_server_stop(&s), 0);
    receiver_stop(rc);
}
END_TEST

START_TEST(three_days_of_failure_fail_the_delivery_and_disable_the_endpoint)
{
    fgt_server_t s;
    fgt_merchant_t m;
    char ep[64], secret[64], url[128], order[64], path[160];
    server_start(&s, 1);
    merchant(&m);
    receiver_t *rc = receiver_start(NULL);
    receiver_url(rc, url, sizeof(url));
    endpoint_create(&s, &m, url, "[\"*\"]", ep, secret);
    receiver_secret(rc, 0, secret);
    receiver_set(rc, &rc->fail_attempts_upto, 1000000);
    order_new(&s, &m, 70000, 0, order);
    order_cancel(&s, &m, order);
    long long deadline = mono_ms() + 10000;
    while (fgt_db_int("SELECT failing_since FROM webhook_endpoints WHERE public_id = ?", ep, NULL) <= 0 &&
           mono_ms() < deadline)
        fgt_sleep_ms(20);
    /* three days pass (for this delivery and this endpoint) */
    fgt_db_exec("UPDATE webhook_deliveries d JOIN webhook_endpoints w ON w.id = d.endpoint_id "
                "SET d.created_at = d.created_at - 259200000 WHERE w.public_id = ?",
                ep);
    fgt_db_exec("UPDATE webhook_endpoints SET failing_since = failing_since - 259200000 WHERE public_id = ?", ep);
    deadline = mono_ms() + 15000;
    while (fgt_db_int("SELECT COUNT(*) FROM webhook_deliveries d JOIN webhook_endpoints w ON w.id = d.endpoint_id "
                      "WHERE w.public_id = ? AND d.status = 'failed'",
                      ep, NULL) < 1 &&
           mono_ms() < deadline)
        fgt_sleep_ms(20);
    snprintf(path, sizeof(path), "/v1/webhook-endpoints/%s/deliveries?status=failed", ep);
    fgt_response_t r = fgt_req(&s, FGT_H2C, "GET", path, m.key, NULL, NULL, 0, NULL);
    fgt_expect(r, 200, NULL);
    yajl_val data = fgt_json_array(&r, "data", NULL);
    ck_assert_int_eq((int)data->u.array.len, 1);
    ck_assert(YAJL_IS_NULL(fgt_val_at(data->u.array.values[0], "next_attempt_at", NULL)));
    ck_assert_ptr_nonnull(strstr(fgt_val_str(data->u.array.values[0], "last_error", NULL), "HTTP 500"));
    fgt_response_free(&r);
    snprintf(path, sizeof(path), "/v1/webhook-endpoints/%s", ep);
    r = fgt_req(&s, FGT_H2C, "GET", path, m.key, NULL, NULL, 0, NULL);
    ck_assert_str_eq(fgt_json_str(&r, "status", NULL), "disabled");
    ck_assert_str_eq(fgt_json_str(&r, "disabled_reason", NULL), "failing");
    fgt_response_free(&r);
    ck_assert_int_ge(metric(&s, FAILED_EXHAUSTED), 1);
    ck_assert_int_eq(metric(&s, FAILED_DELETED), 0);
    /* a disabled endpoint gets no new deliveries */
    long long before = fgt_db_int("SELECT COUNT(*) FROM webhook_deliveries d JOIN webhook_endpoints w "
                                  "ON w.id = d.endpoint_id WHERE w.public_id = ?",
                                  ep, NULL);
    order_new(&s, &m, 70000, 0, order);
    order_cancel(&s, &m, order);
    fgt_sleep_ms(500);
    ck_assert_int_eq(fgt_db_int("SELECT COUNT(*) FROM webhook_deliveries d JOIN webhook_endpoints w "
                                "ON w.id = d.endpoint_id WHERE w.public_id = ?",
                                ep, NULL),
                     before);
    endpoint_delete(&s, &m, ep);
    ck_assert_int_eq(fgt_server_stop(&s), 0);
    receiver_stop(rc);
}
END_TEST

/* ---- at least once, across SIGKILL ---------------------------------------------------- */

/* Deliveries still pending when their endpoint is deleted fail for good:
 * the failed counter counts them, under their own reason, once the delete
 * committed; a delete that finds nothing counts nothing. */
START_TEST(a_deleted_endpoints_pending_deliveries_are_counted_failed)
{
    enum { ORDERS = 3 };
    fgt_server_t s;
    fgt_merchant_t m;
    char ep[64], secret[64], url[128], order[64], path[128];
    server_start(&s, 1);
    merchant(&m);
    receiver_t *rc = receiver_start(NULL);
    receiver_url(rc, url, sizeof(url));
    endpoint_create(&s, &m, url, "[\"order.cancelled\"]", ep, secret);
    receiver_secret(rc, 0, secret);
    receiver_set(rc, &rc->fail_attempts_upto, 1000000); /* never accepted: they stay pending */
    for (int i = 0; i < ORDERS; i++) {
        order_new(&s, &m, 70000, 0, order);
        order_cancel(&s, &m, order);
    }
    long long deadline = mono_ms() + 10000;
    while (pending_of(ep) < ORDERS && mono_ms() < deadline)
        fgt_sleep_ms(20);
    ck_assert_int_eq(pending_of(ep), ORDERS);
    ck_assert_int_eq(metric(&s, FAILED_DELETED), 0);

    endpoint_delete(&s, &m, ep);
    ck_assert_int_eq(pending_of(ep), 0);
    ck_assert_int_eq(fgt_db_int("SELECT COUNT(*) FROM webhook_deliveries d JOIN webhook_endpoints w ON "
                                "w.id = d.endpoint_id WHERE w.public_id = ? AND d.status = 'failed' AND "
                                "d.last_error = 'endpoint deleted'",
                                ep, NULL),
                     ORDERS);
    ck_assert_int_eq(metric(&s, FAILED_DELETED), ORDERS);
    ck_assert_int_eq(metric(&s, FAILED_EXHAUSTED), 0);
    /* deleted already: 404, and nothing more is counted */
    snprintf(path, sizeof(path), "/v1/webhook-endpoints/%s", ep);
    fgt_response_t r = fgt_req(&s, FGT_H2C, "DELETE", path, m.key, NULL, NULL, 0, NULL);
    fgt_expect(r, 404, NULL);
    fgt_response_free(&r);
    ck_assert_int_eq(metric(&s, FAILED_DELETED), ORDERS);
    ck_assert_int_eq(fgt_server_stop(&s), 0);
    receiver_stop(rc);
}
END_TEST

START_TEST(sigkill_mid_delivery_loses_nothing)
{
    enum { N = 30 };
    fgt_server_t s;
    fgt_merchant_t m;
    char ep[64], secret[64], url[128];
    static char orders[N][64], ids[N][64];
    server_start(&s, 1);
    merchant(&m);
    receiver_t *rc = receiver_start(NULL);
    receiver_url(rc, url, sizeof(url));
    endpoint_create(&s, &m, url, "[\"order.cancelled\"]", ep, secret);
    receiver_secret(rc, 0, secret);
    receiver_set(rc, &rc->hold_from, 5); /* answers 5, then holds what comes: attempts in flight */
    orders_batch(&s, &m, N, orders);
    orders_cancel_all(&s, &m, N, orders);
    for (int i = 0; i < N; i++)
        ck_assert_int_eq(events_of_order(&s, &m, orders[i], &ids[i], 1), 1);

    static hit_t hits[HITS_MAX];
    long long deadline = mono_ms() + 15000;
    int answered = 0, held = 0;
    while ((answered < 5 || held < 3) && mono_ms() < deadline) {
        int got = receiver_hits(rc, hits, HITS_MAX);
        answered = held = 0;
        for (int i = 0; i < got; i++) {
            answered += hits[i].answer == 200;
            held += hits[i].answer == 0;
        }
        fgt_sleep_ms(5);
    }
    ck_assert_int_eq(answered, 5);
    ck_assert_int_ge(held, 3);
    for (int tries = 0; tries < 100 && delivered_of(ep) < 5; tries++)
        fgt_sleep_ms(20);
    server_kill(&s); /* in the middle: some delivered, some sent and never answered */
    ck_assert_int_eq(delivered_of(ep), 5);
    ck_assert_int_eq(pending_of(ep), N - 5);
    receiver_set(rc, &rc->hold_from, -1); /* the held ones answer a sender that is gone */

    fgt_server_t again;
    server_start(&again, 1); /* claimed attempts come back when their leases run out */
    deadline = mono_ms() + 60000;
    while (pending_of(ep) > 0 && mono_ms() < deadline)
        fgt_sleep_ms(100);
    ck_assert_int_eq(pending_of(ep), 0);
    ck_assert_int_eq(delivered_of(ep), N);
    ck_assert(wait_accepted(rc, ids, N, 1000));
    int got = receiver_hits(rc, hits, HITS_MAX), resent = 0;
    for (int i = 0; i < got; i++) {
        resent += hits[i].attempt > 1;
        for (int k = 0; k < i; k++) /* never one attempt twice */
            ck_assert(!(strcmp(hits[i].event_id, hits[k].event_id) == 0 && hits[i].attempt == hits[k].attempt));
    }
    if (resent == 0)
        for (int i = 0; i < got; i++)
            fprintf(stderr, "hit %d %s attempt %d answer %d recv %lld ans %lld\n", i, hits[i].event_id, hits[i].attempt,
                    hits[i].answer, hits[i].received_ms, hits[i].answered_ms);
    ck_assert_int_gt(resent, 0); /* the interrupted ones were made again */
    ck_assert_int_eq(receiver_bad(rc), 0);
    endpoint_delete(&again, &m, ep);
    ck_assert_int_eq(fgt_server_stop(&again), 0);
    receiver_stop(rc);
}
END_TEST

/* ---- two instances, one database ------------------------------------------------------ */

START_TEST(two_instances_share_deliveries_without_duplicates)
{
    enum { N = 60 };
    fgt_server_t a, b;
    fgt_merchant_t m;
    char ep[64], secret[64], url[128];
    static char orders[N][64], ids[N][64];
    server_start(&a, 1);
    server_start(&b, 1);
    merchant(&m);
    receiver_t *rc = receiver_start(NULL);
    receiver_url(rc, url, sizeof(url));
    endpoint_create(&a, &m, url, "[\"*\"]", ep, secret);
    receiver_secret(rc, 0, secret);
    receiver_set(rc, &rc->delay_ms, 100);
    orders_batch(&b, &m, N, orders);
    orders_cancel_all(&a, &m, N / 2, orders);
    orders_cancel_all(&b, &m, N / 2, orders + N / 2);
    for (int i = 0; i < N; i++)
        ck_assert_int_eq(events_of_order(&a, &m, orders[i], &ids[i], 1), 1);
    ck_assert(wait_accepted(rc, ids, N, 30000));
    long long deadline = mono_ms() + 5000;
    while (delivered_of(ep) < N && mono_ms() < deadline)
        fgt_sleep_ms(20);
    ck_assert_int_eq(delivered_of(ep), N);

    static hit_t hits[HITS_MAX];
    int got = receiver_hits(rc, hits, HITS_MAX);
    ck_assert_int_eq(got, N); /* each event exactly once */
    for (int i = 0; i < got; i++) {
        ck_assert_int_eq(hits[i].attempt, 1);
        for (int k = 0; k < i; k++)
            ck_assert_str_ne(hits[i].event_id, hits[k].event_id);
    }
    long long by_a = metric(&a, "feegate_webhook_deliveries_delivered_total");
    long long by_b = metric(&b, "feegate_webhook_deliveries_delivered_total");
    ck_assert_int_eq(by_a + by_b, N);
    ck_assert_msg(by_a > 0 && by_b > 0, "both instances delivered (%lld + %lld)", by_a, by_b);
    endpoint_delete(&a, &m, ep);
    ck_assert_int_eq(fgt_server_stop(&a), 0);
    ck_assert_int_eq(fgt_server_stop(&b), 0);
    receiver_stop(rc);
}
END_TEST

/* A merchant pauses and resumes its endpoint while an attempt is on its way: the attempt is
 * not made due again and sent a second time at once (it was, the enable making every parked
 * row due); it records its own outcome, once. */
START_TEST(an_endpoint_paused_and_resumed_mid_attempt_gets_it_once)
{
    fgt_server_t s;
    fgt_merchant_t m;
    char ep[64], secret[64], url[128], path[160];
    static char orders[1][64];
    server_start(&s, 1);
    merchant(&m);
    receiver_t *rc = receiver_start(NULL);
    receiver_url(rc, url, sizeof(url));
    endpoint_create(&s, &m, url, "[\"*\"]", ep, secret);
    receiver_secret(rc, 0, secret);
    receiver_set(rc, &rc->delay_ms, 3000); /* it answers after 3 s */
    orders_batch(&s, &m, 1, orders);
    orders_cancel_all(&s, &m, 1, orders); /* order.cancelled */
    static hit_t hits[HITS_MAX];
    long long deadline = mono_ms() + 10000;
    while (receiver_hits(rc, hits, HITS_MAX) == 0 && mono_ms() < deadline)
        fgt_sleep_ms(20);
    ck_assert_int_eq(receiver_hits(rc, hits, HITS_MAX), 1);
    const char *const steps[] = {"disable", "enable"};
    for (int i = 0; i < 2; i++) {
        snprintf(path, sizeof(path), "/v1/webhook-endpoints/%s/%s", ep, steps[i]);
        fgt_response_t r = fgt_req(&s, FGT_H2C, "POST", path, m.key, NULL, NULL, 0, NULL);
        fgt_expect(r, 200, NULL);
        fgt_response_free(&r);
    }
    deadline = mono_ms() + 8000;
    while (delivered_of(ep) < 1 && mono_ms() < deadline)
        fgt_sleep_ms(50);
    ck_assert_int_eq(delivered_of(ep), 1);
    fgt_sleep_ms(500); /* a second copy, if one were sent, has reached the receiver by now */
    int got = receiver_hits(rc, hits, HITS_MAX);
    ck_assert_msg(got == 1, "the event was sent %d times", got);
    ck_assert_int_eq(hits[0].attempt, 1);
    endpoint_delete(&s, &m, ep);
    ck_assert_int_eq(fgt_server_stop(&s), 0);
    receiver_stop(rc);
}
END_TEST

/* ---- a receiver down for a while ------------------------------------------------------- */

/* Pending deliveries of the endpoint due before an earlier one of their
 * order that failed and waits for its retry (not in flight): they could not
 * be sent before it, and each claim would read them and pass them over. */
static long long due_before_their_blocker(const char *endpoint)
{
    char sql[900];
    snprintf(sql, sizeof(sql),
             "SELECT COUNT(*) FROM webhook_deliveries l JOIN webhook_deliveries e ON e.endpoint_id = "
             "l.endpoint_id AND e.order_id = l.order_id AND e.event_id < l.event_id JOIN webhook_endpoints w ON "
             "w.id = l.endpoint_id WHERE w.public_id = ? AND l.status = 'pending' AND e.status = 'pending' AND "
             "e.attempts > 0 AND e.next_attempt_at <> e.last_attempt_at + %lld AND l.next_attempt_at < "
             "e.next_attempt_at",
             (long long)FG_WEBHOOK_LEASE_MS);
    return fgt_db_int(sql, endpoint, NULL);
}

/* A delivery made while an earlier one of its order waits for a retry
 * (here 30 to 60 s away, past an attempt's lease) is due with that retry. */
START_TEST(a_later_event_is_due_with_its_orders_retry)
{
    fgt_server_t s;
    fgt_merchant_t m;
    char ep[64], secret[64], url[128], order[64], sql[600];
    const char *env[] = {"FEEGATE_SANDBOX_SECRET=it-sandbox-secret", "FEEGATE_WEBHOOKS_ALLOW_PRIVATE=true",
                         "FEEGATE_WEBHOOKS_RETRY_BASE_MS=60000", NULL};
    fgt_server_start(&s, env);
    merchant(&m);
    receiver_t *rc = receiver_start(NULL);
    receiver_url(rc, url, sizeof(url));
    endpoint_create(&s, &m, url, "[\"*\"]", ep, secret);
    receiver_secret(rc, 0, secret);
    receiver_set(rc, &rc->down, 1);
    fgt_sleep_ms(100);
    order_new(&s, &m, 100000, 1, order);
    order_pay(&s, &m, order, 40000);
    snprintf(sql, sizeof(sql),
             "SELECT COUNT(*) FROM webhook_deliveries d JOIN webhook_endpoints w ON w.id = d.endpoint_id JOIN orders "
             "o ON o.id = d.order_id WHERE w.public_id = ? AND o.public_id = ? AND d.attempts > 0 AND "
             "d.next_attempt_at > d.last_attempt_at + %lld",
             (long long)FG_WEBHOOK_LEASE_MS);
    for (int i = 0; i < 300 && fgt_db_int(sql, ep, order) == 0; i++)
        fgt_sleep_ms(50);
    ck_assert_int_gt(fgt_db_int(sql, ep, order), 0); /* one failed, its retry half a minute away */
    const char *count = "SELECT COUNT(*) FROM webhook_deliveries d JOIN orders o ON o.id = d.order_id WHERE "
                        "o.public_id = ?";
    long long before = fgt_db_int(count, order, NULL);
    order_pay(&s, &m, order, 60000);
    for (int i = 0; i < 300 && fgt_db_int(count, order, NULL) == before; i++)
        fgt_sleep_ms(50);
    ck_assert_int_gt(fgt_db_int(count, order, NULL), before);
    ck_assert_int_eq(due_before_their_blocker(ep), 0);
    endpoint_delete(&s, &m, ep);
    ck_assert_int_eq(fgt_server_stop(&s), 0);
    receiver_stop(rc);
}
END_TEST

START_TEST(receiver_down_for_a_while_gets_everything_in_order)
{
    enum { ORDERS = 9, EVENTS_MAX = 64 };
    fgt_server_t s;
    fgt_merchant_t m;
    char ep[64], secret[64], url[128];
    static char orders[ORDERS][64], ids[EVENTS_MAX][64];
    int per_order[ORDERS];
    server_start(&s, 1);
    merchant(&m);
    receiver_t *rc = receiver_start(NULL);
    receiver_url(rc, url, sizeof(url));
    endpoint_create(&s, &m, url, "[\"*\"]", ep, secret);
    receiver_secret(rc, 0, secret);
    receiver_set(rc, &rc->down, 1);
    fgt_sleep_ms(100); /* the accept loop notices within one 20 ms poll and closes its listener */
    ck_assert_int_eq(receiver_connections(rc), 0);
    for (int i = 0; i < ORDERS; i++) {
        int kind = i % 3;
        order_new(&s, &m, 100000, kind == 0, orders[i]);
        if (kind == 0) { /* partially paid, then paid: four events */
            order_pay(&s, &m, orders[i], 40000);
            order_pay(&s, &m, orders[i], 60000);
        } else if (kind == 1) { /* paid at once: two events */
            order_pay(&s, &m, orders[i], 100000);
        } else {
            order_cancel(&s, &m, orders[i]);
        }
    }
    fgt_sleep_ms(2500); /* attempts fail (connection refused) and back off */
    ck_assert_int_gt(fgt_db_int("SELECT MAX(d.attempts) FROM webhook_deliveries d JOIN webhook_endpoints w "
                                "ON w.id = d.endpoint_id WHERE w.public_id = ?",
                                ep, NULL),
                     1);
    ck_assert_int_eq(receiver_connections(rc), 0);
    /* an order's later deliveries wait behind its earlier one's retry, not due before it (every
     * claim would read and pass them over) */
    ck_assert_int_gt(fgt_db_int("SELECT COUNT(*) FROM webhook_deliveries d JOIN webhook_endpoints w ON w.id = "
                                "d.endpoint_id WHERE w.public_id = ? AND d.attempts = 0 AND d.status = 'pending'",
                                ep, NULL),
                     0);
    ck_assert_int_eq(due_before_their_blocker(ep), 0);
    receiver_set(rc, &rc->down, 0);

    int n = 0;
    for (int i = 0; i < ORDERS; i++) {
        per_order[i] = events_of_order(&s, &m, orders[i], ids + n, EVENTS_MAX - n);
        ck_assert_int_eq(per_order[i], i % 3 == 0 ? 4 : i % 3 == 1 ? 2 : 1);
        n += per_order[i];
    }
    ck_assert(wait_accepted(rc, ids, n, 20000));
    static hit_t hits[HITS_MAX];
    int got = receiver_hits(rc, hits, HITS_MAX);
    /* per order: no event arrived before the one before it was accepted */
    for (int i = 0, at = 0; i < ORDERS; at += per_order[i], i++)
        for (int k = 1; k < per_order[i]; k++) {
            const hit_t *prev = accepted(hits, got, ids[at + k - 1]);
            for (int h = 0; h < got; h++)
                if (strcmp(hits[h].event_id, ids[at + k]) == 0)
                    ck_assert_msg(hits[h].received_ms >= prev->answered_ms, "%s (%s) arrived before %s was accepted",
                                  hits[h].event_id, hits[h].type, prev->event_id);
        }
    ck_assert_int_eq(receiver_bad(rc), 0);
    endpoint_delete(&s, &m, ep);
    ck_assert_int_eq(fgt_server_stop(&s), 0);
    receiver_stop(rc);
}
END_TEST

/* A connection of the test's own to the suite's database, for what it holds
 * open itself (a transaction the server must wait for). */
static void raw_connect(MYSQL *db)
{
    const char *user = getenv("FEEGATE_DB_USER"), *pass = getenv("FEEGATE_DB_PASSWORD");
    const char *name = getenv("FEEGATE_DB_NAME");
    ck_assert_ptr_nonnull(mysql_real_connect(db, "localhost", user != NULL ? user : "feegate",
                                             pass != NULL ? pass : "feegate", name != NULL ? name : "feegate", 0,
                                             getenv("FEEGATE_DB_SOCKET"), 0));
}

/* ---- redeliveries made at once -------------------------------------------------------------- */

typedef struct {
    const fgt_server_t *s;
    const fgt_merchant_t *m;
    char path[128];
    fgt_response_t r;
} redeliver_arg_t;

static void *redeliver_thread(void *arg)
{
    redeliver_arg_t *a = arg;
    a->r = fgt_req(a->s, FGT_H2C, "POST", a->path, a->m->key, NULL, NULL, 0, NULL);
    return NULL;
}

/* Writes a delivery of event numbered n directly (as another instance's
 * transaction would), copied from its first; completed < 0: none. */
static void delivery_row(const char *event, int n, const char *status, long long created, long long completed)
{
    char id[FG_ID_CAP], sql[768], at[32] = "NULL";
    if (completed >= 0)
        snprintf(at, sizeof(at), "%lld", completed);
    ck_assert_int_ge(fg_id_new("whd_", id, FG_ID_CAP), 0);
    snprintf(sql, sizeof(sql),
             "INSERT INTO webhook_deliveries (public_id, endpoint_id, event_id, order_id, redelivery, status, "
             "attempts, next_attempt_at, event_created_at, created_at, completed_at) SELECT '%s', d.endpoint_id, "
             "d.event_id, d.order_id, %d, '%s', 1, NULL, d.event_created_at, %lld, %s FROM webhook_deliveries d "
             "JOIN events e ON e.id = d.event_id WHERE e.public_id = '%s' AND d.redelivery = 0",
             id, n, status, created, at, event);
    MYSQL *db = mysql_init(NULL);
    raw_connect(db);
    ck_assert_int_eq(mysql_query(db, sql), 0);
    ck_assert_int_eq((int)mysql_affected_rows(db), 1);
    mysql_close(db);
}

/* Two redeliveries of one event to one endpoint made at once both read the
 * same next number; the second to insert it must take the next one, not
 * answer the first's delivery as its own (two asked, two are sent).  Then
 * the bounds on that history: at most FG_WEBHOOK_REDELIVERIES_MAX
 * redeliveries, and ended deliveries deleted past their retention. */
START_TEST(redeliveries_made_at_once_are_each_their_own)
{
    fgt_server_t s;
    fgt_merchant_t m;
    char ep[64], secret[64], url[128], order[64], event[1][64], held[FG_ID_CAP], sql[768];
    server_start(&s, 1);
    merchant(&m);
    receiver_t *rc = receiver_start(NULL);
    receiver_url(rc, url, sizeof(url));
    endpoint_create(&s, &m, url, "[\"*\"]", ep, secret);
    receiver_secret(rc, 0, secret);
    order_new(&s, &m, 30000, 0, order);
    order_cancel(&s, &m, order);
    ck_assert_int_eq(events_of_order(&s, &m, order, event, 1), 1);
    ck_assert(wait_accepted(rc, event, 1, 15000));

    /* another redelivery takes number 1 and has not committed yet (parked: never sent) */
    MYSQL *db = mysql_init(NULL);
    raw_connect(db);
    ck_assert_int_ge(fg_id_new("whd_", held, FG_ID_CAP), 0);
    ck_assert_int_eq(mysql_query(db, "START TRANSACTION"), 0);
    snprintf(sql, sizeof(sql),
             "INSERT INTO webhook_deliveries (public_id, endpoint_id, event_id, order_id, redelivery, status, "
             "attempts, next_attempt_at, event_created_at, created_at) SELECT '%s', d.endpoint_id, d.event_id, "
             "d.order_id, 1, 'pending', 0, NULL, d.event_created_at, 0 FROM webhook_deliveries d JOIN events e "
             "ON e.id = d.event_id WHERE e.public_id = '%s' AND d.redelivery = 0",
             held, event[0]);
    ck_assert_int_eq(mysql_query(db, sql), 0);
    ck_assert_int_eq((int)mysql_affected_rows(db), 1);

    redeliver_arg_t a = {.s = &s, .m = &m};
    snprintf(a.path, sizeof(a.path), "/v1/events/%s/redeliver", event[0]);
    pthread_t t;
    ck_assert_int_eq(pthread_create(&t, NULL, redeliver_thread, &a), 0);
    fgt_sleep_ms(700); /* the request reads number 1 as free and waits on the held row's key */
    ck_assert_int_eq(mysql_query(db, "COMMIT"), 0);
    pthread_join(t, NULL);
    mysql_close(db);
    fgt_expect(a.r, 201, NULL);
    yajl_val d = fgt_json_array(&a.r, "data", NULL)->u.array.values[0];
    ck_assert_str_ne(fgt_val_str(d, "id", NULL), held);
    ck_assert_int_eq(YAJL_GET_INTEGER(fgt_val_at(d, "redelivery", NULL)), 2);
    fgt_response_free(&a.r);
    ck_assert_int_eq(fgt_db_int("SELECT COUNT(*) FROM webhook_deliveries d JOIN events e ON e.id = d.event_id "
                                "WHERE e.public_id = ?",
                                event[0], NULL),
                     3);

    /* redeliveries are history kept for each: a bounded number of them */
    long long now = fg_now_ms();
    delivery_row(event[0], FG_WEBHOOK_REDELIVERIES_MAX, "delivered", now, now);
    fgt_response_t r = fgt_req(&s, FGT_H2C, "POST", a.path, m.key, NULL, NULL, 0, NULL);
    fgt_expect(r, 409, "redelivery_limit");
    fgt_response_free(&r);
    ck_assert_int_eq(fgt_db_int("SELECT COUNT(*) FROM webhook_deliveries d JOIN events e ON e.id = d.event_id "
                                "WHERE e.public_id = ?",
                                event[0], NULL),
                     4);
    /* named to no endpoint, a redelivery passes over one at its limit and goes to the others */
    char ep2[64], secret2[64];
    endpoint_create(&s, &m, url, "[\"*\"]", ep2, secret2);
    r = fgt_req(&s, FGT_H2C, "POST", a.path, m.key, NULL, NULL, 0, NULL);
    fgt_expect(r, 201, NULL);
    yajl_val made = fgt_json_array(&r, "data", NULL);
    ck_assert_int_eq((int)made->u.array.len, 1);
    ck_assert_str_eq(fgt_val_str(made->u.array.values[0], "endpoint_id", NULL), ep2);
    fgt_response_free(&r);
    endpoint_delete(&s, &m, ep2);

    /* ended deliveries are deleted once past their retention (90 days), oldest first; younger
     * ones and pending ones stay (a new instance's sweeper prunes at once) */
    long long day = 86400000LL;
    delivery_row(event[0], 30, "delivered", now - 200 * day, now - 91 * day);
    delivery_row(event[0], 31, "failed", now - 200 * day, now - 120 * day);
    delivery_row(event[0], 32, "delivered", now - 200 * day, now - 89 * day);
    delivery_row(event[0], 33, "pending", now - 200 * day, -1);
    fgt_server_t pruner;
    server_start(&pruner, 1);
    const char *count_sql = "SELECT COUNT(*) FROM webhook_deliveries d JOIN events e ON e.id = d.event_id WHERE "
                            "e.public_id = ? AND d.redelivery >= 30";
    for (int i = 0; i < 150 && fgt_db_int(count_sql, event[0], NULL) != 2; i++)
        fgt_sleep_ms(100);
    ck_assert_int_eq(fgt_db_int(count_sql, event[0], NULL), 2);
    ck_assert_int_eq(fgt_db_int("SELECT COUNT(*) FROM webhook_deliveries d JOIN events e ON e.id = d.event_id WHERE "
                                "e.public_id = ? AND d.redelivery IN (32, 33)",
                                event[0], NULL),
                     2);
    ck_assert_int_eq(fgt_server_stop(&pruner), 0);
    endpoint_delete(&s, &m, ep);
    ck_assert_int_eq(fgt_server_stop(&s), 0);
    receiver_stop(rc);
}
END_TEST

/* ---- fairness --------------------------------------------------------------------------------- */

/* Requests the receiver holds unanswered now. */
static int receiver_held(receiver_t *r)
{
    pthread_mutex_lock(&r->mu);
    int held = 0;
    for (int i = 0; i < r->n; i++)
        held += r->hits[i].answer == 0;
    pthread_mutex_unlock(&r->mu);
    return held;
}

/* A merchant whose receivers hang, with a backlog older than anyone else's,
 * holds at most its share of the attempts in flight (32 of an instance's
 * 128, however many endpoints it has) and never keeps another merchant's
 * deliveries waiting behind its own: the claim looks past the rows its caps
 * hold back.  A merchant has at most 16 live endpoints. */
START_TEST(a_hanging_merchant_never_holds_back_another)
{
    enum { ORDERS = 100, ENDPOINTS = 3 };
    fgt_server_t s;
    fgt_merchant_t slow, other;
    char ep[16][64], secret[64], url[128], other_ep[64], order[64], event[1][64];
    static char orders[ORDERS][64];
    server_start(&s, 1);
    merchant(&slow);
    merchant(&other);
    receiver_t *hang = receiver_start(NULL), *quick = receiver_start(NULL);
    receiver_set(hang, &hang->hold_from, 0);
    receiver_url(hang, url, sizeof(url));
    for (int i = 0; i < ENDPOINTS; i++)
        endpoint_create(&s, &slow, url, "[\"*\"]", ep[i], secret);
    orders_batch(&s, &slow, ORDERS, orders);
    orders_cancel_all(&s, &slow, ORDERS, orders);
    /* 300 deliveries due; 16 an endpoint would put 48 in flight */
    long long deadline = mono_ms() + 15000;
    while (receiver_held(hang) < 32 && mono_ms() < deadline)
        fgt_sleep_ms(20);
    fgt_sleep_ms(500); /* claims made meanwhile would add more */
    ck_assert_int_eq(receiver_held(hang), 32);

    receiver_url(quick, url, sizeof(url));
    endpoint_create(&s, &other, url, "[\"*\"]", other_ep, secret);
    receiver_secret(quick, 0, secret);
    order_new(&s, &other, 50000, 0, order);
    order_cancel(&s, &other, order);
    ck_assert_int_eq(events_of_order(&s, &other, order, event, 1), 1);
    /* the hanging attempts run into their 15 s timeout long after this */
    ck_assert_msg(wait_accepted(quick, event, 1, 5000), "another merchant's delivery waited behind the backlog");
    ck_assert_int_eq(receiver_held(hang), 32);
    ck_assert_int_eq(receiver_bad(quick), 0);

    /* the backlog drains once the receiver answers */
    receiver_set(hang, &hang->hold_from, -1);
    deadline = mono_ms() + 30000;
    for (int i = 0; i < ENDPOINTS; i++)
        while (delivered_of(ep[i]) < ORDERS && mono_ms() < deadline)
            fgt_sleep_ms(50);
    for (int i = 0; i < ENDPOINTS; i++)
        ck_assert_int_eq(delivered_of(ep[i]), ORDERS);

    /* the sixteenth live endpoint is the last */
    for (int i = ENDPOINTS; i < 16; i++)
        endpoint_create(&s, &slow, url, "[\"order.paid\"]", ep[i], secret);
    char body[256];
    snprintf(body, sizeof(body), "{\"url\":\"%s\",\"events\":[\"order.paid\"]}", url);
    fgt_response_t r = fgt_req(&s, FGT_H2C, "POST", "/v1/webhook-endpoints", slow.key, NULL, body, 0, NULL);
    fgt_expect(r, 409, "endpoint_limit");
    fgt_response_free(&r);
    ck_assert_int_eq(fgt_db_int("SELECT COUNT(*) FROM webhook_endpoints e JOIN merchants m ON m.id = e.merchant_id "
                                "WHERE m.public_id = ? AND e.deleted_at IS NULL",
                                slow.id, NULL),
                     16);
    endpoint_delete(&s, &slow, ep[15]);
    endpoint_create(&s, &slow, url, "[\"order.paid\"]", ep[15], secret);
    for (int i = 0; i < 16; i++)
        endpoint_delete(&s, &slow, ep[i]);
    endpoint_delete(&s, &other, other_ep);
    ck_assert_int_eq(fgt_server_stop(&s), 0);
    receiver_stop(hang);
    receiver_stop(quick);
}
END_TEST

/* ---- the SSRF guard ------------------------------------------------------------------------ */

/* GET /v1/events?after= never steps over an event that commits late: events
 * are listed in the order the change sequencer numbers them after commit
 * (changes/changes.h), so while a transaction holds an event uncommitted the
 * merchant's later events are listed at once, and a reader that has already
 * read past them gets the held event after it commits, numbered after them.
 * A rolled-back event holds nothing back. */
/* Waits up to 15 s for the event's one delivery: the fan-out has taken it. */
static void wait_fanned_out(const char *event, const char *what)
{
    long long deadline = mono_ms() + 15000;
    while (fgt_db_int("SELECT COUNT(*) FROM webhook_deliveries d JOIN events e ON e.id = d.event_id "
                      "WHERE e.public_id = ?",
                      event, NULL) != 1) {
        ck_assert_msg(mono_ms() < deadline, "%s was not fanned out within 15 s", what);
        fgt_sleep_ms(50);
    }
}

static void hold_event(MYSQL *db, const fgt_merchant_t *m, const char *order, char *held)
{
    char sql[512];
    raw_connect(db);
    ck_assert_int_ge(fg_id_new("evt_", held, FG_ID_CAP), 0);
    long long merchant_id = fgt_db_int("SELECT id FROM merchants WHERE public_id = ?", m->id, NULL);
    ck_assert_int_eq(mysql_query(db, "START TRANSACTION"), 0);
    /* as every writer of events does: the change first, then its event */
    snprintf(sql, sizeof(sql), "UPDATE orders SET updated_at = updated_at + 1 WHERE public_id = '%s'", order);
    ck_assert_int_eq(mysql_query(db, sql), 0);
    snprintf(sql, sizeof(sql),
             "INSERT INTO events (public_id, merchant_id, type, order_id, payload, created_at) "
             "VALUES ('%s', %lld, 'order.cancelled', NULL, '{}', 0)",
             held, merchant_id);
    ck_assert_int_eq(mysql_query(db, sql), 0);
}

/* The events after `after` listed within timeout_ms: waits for the page to
 * be non-empty; returns it (free it). */
static fgt_response_t events_after(const fgt_server_t *s, const fgt_merchant_t *m, const char *after, long timeout_ms)
{
    char path[160];
    snprintf(path, sizeof(path), "/v1/events?after=%s", after);
    long long deadline = mono_ms() + timeout_ms;
    for (;;) {
        fgt_response_t r = fgt_req(s, FGT_H2C, "GET", path, m->key, NULL, NULL, 0, NULL);
        fgt_expect(r, 200, NULL);
        if (fgt_json_array(&r, "data", NULL)->u.array.len > 0 || mono_ms() > deadline)
            return r;
        fgt_response_free(&r);
        fgt_sleep_ms(20);
    }
}

START_TEST(event_list_never_skips_a_late_commit)
{
    fgt_server_t s;
    fgt_merchant_t m;
    char first[64], second[64], third[64], held[FG_ID_CAP], ids[4][64], after[64], ep[64], secret[64];
    server_start(&s, 1);
    merchant(&m);
    /* an endpoint for every event: the fan-out must deliver the late one too */
    endpoint_create(&s, &m, "http://127.0.0.1:9/hook", "[\"*\"]", ep, secret);
    order_new(&s, &m, 1000, 0, first);
    order_cancel(&s, &m, first);
    ck_assert_int_eq(events_of_order(&s, &m, first, ids, 4), 1);
    snprintf(after, sizeof(after), "%s", ids[0]);

    /* committed late: the events after it are listed meanwhile */
    MYSQL *db = mysql_init(NULL);
    hold_event(db, &m, first, held);
    order_new(&s, &m, 1000, 0, second);
    order_cancel(&s, &m, second);
    fgt_response_t r = events_after(&s, &m, after, 10000);
    yajl_val data = fgt_json_array(&r, "data", NULL);
    ck_assert_int_eq((int)data->u.array.len, 1);
    ck_assert_str_eq(fgt_val_str(data->u.array.values[0], "data", "object", "id", NULL), second);
    snprintf(after, sizeof(after), "%s", fgt_val_str(data->u.array.values[0], "id", NULL));
    fgt_response_free(&r);
    r = events_after(&s, &m, after, 500); /* the reader is past it: nothing yet */
    ck_assert_int_eq((int)fgt_json_array(&r, "data", NULL)->u.array.len, 0);
    fgt_response_free(&r);
    ck_assert_int_eq(mysql_query(db, "COMMIT"), 0);
    mysql_close(db);
    r = events_after(&s, &m, after, 10000); /* and still gets it, after what it read */
    data = fgt_json_array(&r, "data", NULL);
    ck_assert_int_eq((int)data->u.array.len, 1);
    ck_assert_str_eq(fgt_val_str(data->u.array.values[0], "id", NULL), held);
    fgt_response_free(&r);
    ck_assert_int_gt(fgt_db_int("SELECT seq FROM events WHERE public_id = ?", held, NULL),
                     fgt_db_int("SELECT seq FROM events WHERE public_id = ?", after, NULL));
    ck_assert_int_lt(fgt_db_int("SELECT id FROM events WHERE public_id = ?", held, NULL),
                     fgt_db_int("SELECT id FROM events WHERE public_id = ?", after, NULL));
    /* the fan-out had passed its id (a gap) and delivers it once it commits */
    wait_fanned_out(held, "the late event");
    snprintf(after, sizeof(after), "%s", held);

    /* rolled back: holds nothing back, and never appears */
    db = mysql_init(NULL);
    hold_event(db, &m, first, held);
    order_new(&s, &m, 1000, 0, third);
    order_cancel(&s, &m, third);
    r = events_after(&s, &m, after, 10000);
    data = fgt_json_array(&r, "data", NULL);
    ck_assert_int_eq((int)data->u.array.len, 1);
    ck_assert_str_eq(fgt_val_str(data->u.array.values[0], "data", "object", "id", NULL), third);
    snprintf(after, sizeof(after), "%s", fgt_val_str(data->u.array.values[0], "id", NULL));
    fgt_response_free(&r);
    ck_assert_int_eq(mysql_query(db, "ROLLBACK"), 0);
    mysql_close(db);
    r = events_after(&s, &m, after, 500);
    ck_assert_int_eq((int)fgt_json_array(&r, "data", NULL)->u.array.len, 0);
    fgt_response_free(&r);
    ck_assert_int_eq(fgt_db_int("SELECT COUNT(*) FROM events WHERE public_id = ?", held, NULL), 0);

    /* a late event far below the next one (a transaction's hundreds of events,
     * ids stepping by a cluster's size): still fanned out once it commits */
    db = mysql_init(NULL);
    hold_event(db, &m, first, held);
    ck_assert_int_eq(mysql_query(db, "SELECT LAST_INSERT_ID()"), 0);
    MYSQL_RES *res = mysql_store_result(db);
    ck_assert_ptr_nonnull(res);
    MYSQL_ROW row = mysql_fetch_row(res);
    ck_assert_ptr_nonnull(row);
    long long held_id = atoll(row[0]);
    mysql_free_result(res);
    char far[FG_ID_CAP], sql[400];
    ck_assert_int_ge(fg_id_new("evt_", far, FG_ID_CAP), 0);
    snprintf(sql, sizeof(sql),
             "INSERT INTO events (id, public_id, merchant_id, type, order_id, payload, created_at) SELECT %lld, ?, "
             "id, 'order.cancelled', NULL, '{}', 0 FROM merchants WHERE public_id = '%s'",
             held_id + 5000, m.id);
    fgt_db_exec(sql, far);
    wait_fanned_out(far, "the far event");
    ck_assert_int_eq(mysql_query(db, "COMMIT"), 0);
    mysql_close(db);
    wait_fanned_out(held, "the event 5,000 ids below");
    wait_log_pageable(); /* its gap is proven dead and dropped */
    ck_assert_int_eq(fgt_server_stop(&s), 0);
}
END_TEST

START_TEST(private_addresses_are_refused_without_the_switch)
{
    fgt_server_t s;
    fgt_merchant_t m;
    char url[128], sql[512], public_id[FG_ID_CAP], order[64], path[160];
    server_start(&s, 0);
    merchant(&m);
    receiver_t *rc = receiver_start("whsec_unused");
    static const char *const REFUSED[] = {
        "http://127.0.0.1:9/hook", /* http at all */
        "https://127.0.0.1/hook",  "https://localhost/hook",   "https://10.0.0.7/hook",
        "https://172.16.5.4/hook", "https://192.168.1.1/hook", "https://169.254.169.254/latest",
        "https://100.64.0.1/hook", "https://0.0.0.0/hook",     "https://[::1]/hook",
        "https://[fd00::1]/hook",  "https://[fe80::1]/hook",   "https://[::ffff:127.0.0.1]/hook",
        "https://2130706433/hook", "https://0x7f.0.0.1/hook",
    };
    for (size_t i = 0; i < sizeof(REFUSED) / sizeof(REFUSED[0]); i++) {
        char body[256];
        snprintf(body, sizeof(body), "{\"url\":\"%s\",\"events\":[\"*\"]}", REFUSED[i]);
        fgt_response_t r = fgt_req(&s, FGT_H2C, "POST", "/v1/webhook-endpoints", m.key, NULL, body, 0, NULL);
        ck_assert_msg(r.status == 422, "%s: %ld %s", REFUSED[i], r.status, r.body);
        fgt_expect_error(r, 422, "invalid_request", "url_not_allowed");
        ck_assert_str_eq(fgt_json_str(&r, "error", "field", NULL), "url");
        fgt_response_free(&r);
    }
    ck_assert_int_eq(fgt_db_int("SELECT COUNT(*) FROM webhook_endpoints w JOIN merchants m ON m.id = w.merchant_id "
                                "WHERE m.public_id = ?",
                                m.id, NULL),
                     0);

    /* A URL whose name resolved to a public address when it was registered
     * and to a private one now (DNS rebinding): the guard on the connecting
     * socket refuses it. */
    ck_assert_int_gt(fg_id_new("whe_", public_id, sizeof(public_id)), 0);
    snprintf(url, sizeof(url), "https://127.0.0.1:%d/hook", rc->port);
    snprintf(sql, sizeof(sql),
             "INSERT INTO webhook_endpoints (public_id, merchant_id, url, events, status, secret, created_at, "
             "updated_at) SELECT '%s', id, '%s', '*', 'enabled', 'whsec_unused', 0, 0 FROM merchants "
             "WHERE public_id = ?",
             public_id, url);
    fgt_db_exec(sql, m.id);
    order_new(&s, &m, 1000, 0, order);
    order_cancel(&s, &m, order);
    long long deadline = mono_ms() + 10000;
    while (fgt_db_int("SELECT COUNT(*) FROM webhook_deliveries d JOIN webhook_endpoints w ON w.id = d.endpoint_id "
                      "WHERE w.public_id = ? AND d.last_error LIKE 'refused to connect%'",
                      public_id, NULL) < 1 &&
           mono_ms() < deadline)
        fgt_sleep_ms(20);
    snprintf(path, sizeof(path), "/v1/webhook-endpoints/%s/deliveries", public_id);
    fgt_response_t r = fgt_req(&s, FGT_H2C, "GET", path, m.key, NULL, NULL, 0, NULL);
    fgt_expect(r, 200, NULL);
    yajl_val d = fgt_json_array(&r, "data", NULL)->u.array.values[0];
    ck_assert_str_eq(fgt_val_str(d, "status", NULL), "pending");
    ck_assert_ptr_nonnull(strstr(fgt_val_str(d, "last_error", NULL), "refused to connect"));
    ck_assert(YAJL_IS_NULL(fgt_val_at(d, "last_response_code", NULL)));
    fgt_response_free(&r);
    ck_assert_int_eq(receiver_connections(rc), 0); /* nothing ever reached the private address */
    endpoint_delete(&s, &m, public_id);
    ck_assert_int_eq(fgt_server_stop(&s), 0);
    receiver_stop(rc);
}
END_TEST

int main(void)
{
    Suite *suite = suite_create("webhooks");
    TCase *tc = fgt_tcase(suite, "outbound", NULL, NULL);
    tcase_add_test(tc, endpoint_routes_and_tenant_isolation);
    tcase_add_test(tc, payments_and_cancellations_are_delivered_signed);
    tcase_add_test(tc, failed_attempts_are_retried_with_growing_delays);
    tcase_add_test(tc, three_days_of_failure_fail_the_delivery_and_disable_the_endpoint);
    tcase_add_test(tc, a_deleted_endpoints_pending_deliveries_are_counted_failed);
    tcase_add_test(tc, receiver_down_for_a_while_gets_everything_in_order);
    tcase_add_test(tc, a_later_event_is_due_with_its_orders_retry);
    tcase_add_test(tc, two_instances_share_deliveries_without_duplicates);
    tcase_add_test(tc, an_endpoint_paused_and_resumed_mid_attempt_gets_it_once);
    tcase_add_test(tc, private_addresses_are_refused_without_the_switch);
    tcase_add_test(tc, event_list_never_skips_a_late_commit);
    tcase_add_test(tc, sigkill_mid_delivery_loses_nothing);
    tcase_add_test(tc, a_hanging_merchant_never_holds_back_another);
    tcase_add_test(tc, redeliveries_made_at_once_are_each_their_own);
    return fgt_run(suite);
}
