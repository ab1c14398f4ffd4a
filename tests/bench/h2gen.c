/*
 * h2gen.c - an HTTP/2 (h2c, prior knowledge) load generator whose every
 * request can differ: h2load sends one body and one header set, but a real
 * create-order needs a unique merchant_ref and Idempotency-Key, and a real
 * sandbox notification a fresh signature.
 *
 *   h2gen -p PORT -c CONNECTIONS -m STREAMS -d SECONDS -k API_KEY
 *         -M orders|get|sandbox [-i IDS_FILE] [-o IDS_OUT] [-s SECRET]
 *
 * orders:  POST /v1/orders, unique body and key; writes created ids to -o.
 * get:     GET /v1/orders/{id} cycling over the ids in -i.
 * sandbox: POST /v1/webhooks/sandbox, one signed success per payment id in -i
 *          (lines "pay_… amount"); stops when the list is used up.
 * Prints one line: requests=N seconds=S rate=R p50_us=A p99_us=B ok=O other=X
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <nghttp2/nghttp2.h>
#include <openssl/hmac.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define CONNECTIONS_MAX 256
#define LATENCIES_MAX 8000000 /* 8 M samples: far beyond a 60 s run here */
#define BODY_MAX 512
#define IDS_KEEP 10000

typedef enum { MODE_ORDERS, MODE_GET, MODE_SANDBOX } mode_t_;

typedef struct {
    char body[BODY_MAX];
    size_t len, sent;
    char path[128];
    char idem[64];
    char sig[160];
    int64_t start_ns;
    int status;
    char resp[256];
    size_t resp_len;
} stream_t;

typedef struct {
    int fd;
    nghttp2_session *session;
    int inflight;
} conn_t;

static struct {
    int port, conns, streams, seconds;
    const char *key, *ids_in, *ids_out, *secret;
    mode_t_ mode;
    char **ids;
    long long *amounts;
    size_t id_count, next_id;
    uint64_t seq;
    int64_t deadline_ns;
    int64_t *lat;
    size_t lat_n;
    uint64_t ok, other;
    FILE *out;
    size_t written;
    int stopping;
    char run_tag[32];
} g;

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static ssize_t send_cb(nghttp2_session *s, const uint8_t *data, size_t len, int flags, void *user)
{
    conn_t *c = user;
    ssize_t n = send(c->fd, data, len, MSG_NOSIGNAL);
    if (n < 0)
        return errno == EAGAIN ? NGHTTP2_ERR_WOULDBLOCK : NGHTTP2_ERR_CALLBACK_FAILURE;
    return n;
}

static ssize_t body_cb(nghttp2_session *s, int32_t id, uint8_t *buf, size_t len, uint32_t *flags,
                       nghttp2_data_source *src, void *user)
{
    stream_t *st = src->ptr;
    size_t n = st->len - st->sent < len ? st->len - st->sent : len;
    memcpy(buf, st->body + st->sent, n);
    st->sent += n;
    if (st->sent == st->len)
        *flags |= NGHTTP2_DATA_FLAG_EOF;
    return (ssize_t)n;
}

static int header_cb(nghttp2_session *s, const nghttp2_frame *f, const uint8_t *name, size_t nlen,
                     const uint8_t *value, size_t vlen, uint8_t flags, void *user)
{
    stream_t *st = nghttp2_session_get_stream_user_data(s, f->hd.stream_id);
    if (st != NULL && nlen == 7 && memcmp(name, ":status", 7) == 0)
        st->status = atoi((const char *)value);
    return 0;
}

static int data_cb(nghttp2_session *s, uint8_t flags, int32_t id, const uint8_t *data, size_t len, void *user)
{
    stream_t *st = nghttp2_session_get_stream_user_data(s, id);
    if (st != NULL && st->resp_len < sizeof(st->resp) - 1) {
        size_t n = len < sizeof(st->resp) - 1 - st->resp_len ? len : sizeof(st->resp) - 1 - st->resp_len;
        memcpy(st->resp + st->resp_len, data, n);
        st->resp_len += n;
    }
    return 0;
}

static int submit(conn_t *c);

static int close_cb(nghttp2_session *s, int32_t id, uint32_t err, void *user)
{
    conn_t *c = user;
    stream_t *st = nghttp2_session_get_stream_user_data(s, id);
    if (st == NULL)
        return 0;
    if (g.lat_n < LATENCIES_MAX)
        g.lat[g.lat_n++] = now_ns() - st->start_ns;
    int good = g.mode == MODE_ORDERS ? st->status == 201 : st->status == 200;
    if (good)
        g.ok++;
    else if (g.other++ < 5)
        fprintf(stderr, "h2gen: status %d: %.*s\n", st->status, (int)st->resp_len, st->resp);
    if (good && g.mode == MODE_ORDERS && g.out != NULL && g.written < IDS_KEEP) {
        st->resp[st->resp_len] = '\0';
        char *found = strstr(st->resp, "\"id\":\"");
        if (found != NULL) {
            fprintf(g.out, "%.30s\n", found + 6);
            g.written++;
        }
    }
    free(st);
    c->inflight--;
    if (!g.stopping)
        submit(c);
    return 0;
}

static void sign(stream_t *st)
{
    unsigned char mac[32];
    unsigned int mac_len = 0;
    char msg[BODY_MAX + 32], hex[65];
    long t = (long)time(NULL);
    int n = snprintf(msg, sizeof(msg), "%ld.%s", t, st->body);
    HMAC(EVP_sha256(), g.secret, (int)strlen(g.secret), (unsigned char *)msg, (size_t)n, mac, &mac_len);
    for (int i = 0; i < 32; i++)
        sprintf(hex + 2 * i, "%02x", mac[i]);
    snprintf(st->sig, sizeof(st->sig), "t=%ld,v1=%s", t, hex);
}

static int submit(conn_t *c)
{
    if (now_ns() >= g.deadline_ns || (g.mode == MODE_SANDBOX && g.next_id >= g.id_count)) {
        g.stopping = 1;
        return -1;
    }
    stream_t *st = calloc(1, sizeof(*st));
    uint64_t n = g.seq++;
    char auth[160];
    snprintf(auth, sizeof(auth), "Bearer %s", g.key);
    nghttp2_nv hdrs[8];
    int h = 0;
#define NV(n_, v_) hdrs[h++] = (nghttp2_nv){(uint8_t *)(n_), (uint8_t *)(v_), strlen(n_), strlen(v_), 0}
    if (g.mode == MODE_ORDERS) {
        st->len = (size_t)snprintf(st->body, BODY_MAX,
                                   "{\"merchant_ref\":\"B%s-%llu\",\"fee_type\":\"utility\",\"category\":\"water\","
                                   "\"amount\":250000,\"currency\":\"VND\",\"description\":\"Tiền nước tháng 11\","
                                   "\"payer\":{\"name\":\"Nguyễn Văn A\",\"ref\":\"KH%06llu\"}}",
                                   g.run_tag, (unsigned long long)n, (unsigned long long)(n % 1000000));
        snprintf(st->idem, sizeof(st->idem), "bench-%s-%llu", g.run_tag, (unsigned long long)n);
        snprintf(st->path, sizeof(st->path), "/v1/orders");
    } else if (g.mode == MODE_GET) {
        snprintf(st->path, sizeof(st->path), "/v1/orders/%s", g.ids[n % g.id_count]);
    } else {
        size_t i = g.next_id++;
        st->len = (size_t)snprintf(st->body, BODY_MAX,
                                   "{\"payment_id\":\"%s\",\"provider_txn_id\":\"SBX%s%zu\",\"status\":\"succeeded\","
                                   "\"amount\":%lld}", g.ids[i], g.run_tag, i, g.amounts[i]);
        snprintf(st->path, sizeof(st->path), "/v1/webhooks/sandbox");
        sign(st);
    }
    NV(":method", st->len > 0 ? "POST" : "GET");
    NV(":path", st->path);
    NV(":scheme", "http");
    NV(":authority", "127.0.0.1");
    if (g.mode != MODE_SANDBOX)
        NV("authorization", auth);
    if (st->idem[0])
        NV("idempotency-key", st->idem);
    if (st->sig[0])
        NV("x-signature", st->sig);
    if (st->len > 0)
        NV("content-type", "application/json");
    nghttp2_data_provider dp = {.source.ptr = st, .read_callback = body_cb};
    st->start_ns = now_ns();
    if (nghttp2_submit_request(c->session, NULL, hdrs, (size_t)h, st->len > 0 ? &dp : NULL, st) < 0) {
        free(st);
        return -1;
    }
    c->inflight++;
    return 0;
}

static int connect_one(conn_t *c)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)g.port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int one = 1;
    c->fd = socket(AF_INET, SOCK_STREAM, 0);
    if (connect(c->fd, (struct sockaddr *)&a, sizeof(a)) != 0)
        return -1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    fcntl(c->fd, F_SETFL, O_NONBLOCK);
    nghttp2_session_callbacks *cb;
    nghttp2_session_callbacks_new(&cb);
    nghttp2_session_callbacks_set_send_callback(cb, send_cb);
    nghttp2_session_callbacks_set_on_header_callback(cb, header_cb);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, data_cb);
    nghttp2_session_callbacks_set_on_stream_close_callback(cb, close_cb);
    nghttp2_session_client_new(&c->session, cb, c);
    nghttp2_session_callbacks_del(cb);
    nghttp2_settings_entry s[] = {{NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, 100}};
    nghttp2_submit_settings(c->session, NGHTTP2_FLAG_NONE, s, 1);
    for (int i = 0; i < g.streams; i++)
        submit(c);
    return nghttp2_session_send(c->session) == 0 ? 0 : -1;
}

static int cmp(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

static void load_ids(void)
{
    FILE *f = fopen(g.ids_in, "r");
    char line[256];
    size_t cap = 1024;
    if (f == NULL) {
        perror(g.ids_in);
        exit(2);
    }
    g.ids = malloc(cap * sizeof(char *));
    g.amounts = malloc(cap * sizeof(long long));
    while (fgets(line, sizeof(line), f) != NULL) {
        char id[128];
        long long amount = 0;
        if (sscanf(line, "%127s %lld", id, &amount) < 1)
            continue;
        if (g.id_count == cap) {
            cap *= 2;
            g.ids = realloc(g.ids, cap * sizeof(char *));
            g.amounts = realloc(g.amounts, cap * sizeof(long long));
        }
        g.ids[g.id_count] = strdup(id);
        g.amounts[g.id_count++] = amount;
    }
    fclose(f);
}

int main(int argc, char **argv)
{
    int opt;
    g.port = 18180, g.conns = 32, g.streams = 8, g.seconds = 30, g.secret = "";
    while ((opt = getopt(argc, argv, "p:c:m:d:k:M:i:o:s:")) != -1) {
        switch (opt) {
        case 'p': g.port = atoi(optarg); break;
        case 'c': g.conns = atoi(optarg); break;
        case 'm': g.streams = atoi(optarg); break;
        case 'd': g.seconds = atoi(optarg); break;
        case 'k': g.key = optarg; break;
        case 'i': g.ids_in = optarg; break;
        case 'o': g.ids_out = optarg; break;
        case 's': g.secret = optarg; break;
        case 'M': g.mode = strcmp(optarg, "get") == 0 ? MODE_GET : strcmp(optarg, "sandbox") == 0 ? MODE_SANDBOX
                                                                                                   : MODE_ORDERS;
            break;
        default: fprintf(stderr, "usage: see the comment at the top of h2gen.c\n"); return 2;
        }
    }
    if (g.conns < 1 || g.conns > CONNECTIONS_MAX || g.key == NULL || (g.mode != MODE_ORDERS && g.ids_in == NULL)) {
        fprintf(stderr, "h2gen: bad arguments\n");
        return 2;
    }
    if (g.ids_in != NULL)
        load_ids();
    if (g.ids_out != NULL)
        g.out = fopen(g.ids_out, "w");
    snprintf(g.run_tag, sizeof(g.run_tag), "%lx%x", (long)time(NULL), (unsigned)getpid());
    g.lat = malloc(LATENCIES_MAX * sizeof(int64_t));
    int64_t start = now_ns();
    g.deadline_ns = start + (int64_t)g.seconds * 1000000000;
    conn_t conns[CONNECTIONS_MAX];
    int ep = epoll_create1(0);
    for (int i = 0; i < g.conns; i++) {
        if (connect_one(&conns[i]) != 0) {
            perror("h2gen: connect");
            return 1;
        }
        struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &conns[i]};
        epoll_ctl(ep, EPOLL_CTL_ADD, conns[i].fd, &ev);
    }
    int live = g.conns;
    while (live > 0) {
        struct epoll_event evs[64];
        int n = epoll_wait(ep, evs, 64, 100);
        for (int i = 0; i < n; i++) {
            conn_t *c = evs[i].data.ptr;
            uint8_t buf[65536];
            ssize_t r;
            while ((r = recv(c->fd, buf, sizeof(buf), 0)) > 0)
                if (nghttp2_session_mem_recv(c->session, buf, (size_t)r) < 0)
                    break;
            if (r == 0 || (r < 0 && errno != EAGAIN)) { /* the server closed: its streams failed */
                fprintf(stderr, "h2gen: connection closed with %d requests in flight\n", c->inflight);
                g.other += (uint64_t)c->inflight;
                c->inflight = 0;
                epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
                continue;
            }
            nghttp2_session_send(c->session);
        }
        live = 0;
        for (int i = 0; i < g.conns; i++)
            if (conns[i].inflight > 0) {
                live++;
                nghttp2_session_send(conns[i].session);
            }
    }
    double secs = (double)(now_ns() - start) / 1e9;
    qsort(g.lat, g.lat_n, sizeof(int64_t), cmp);
    int64_t p50 = g.lat_n ? g.lat[g.lat_n / 2] : 0, p99 = g.lat_n ? g.lat[(size_t)((double)g.lat_n * 0.99)] : 0;
    printf("requests=%zu seconds=%.2f rate=%.0f p50_us=%lld p99_us=%lld ok=%llu other=%llu\n", g.lat_n, secs,
           (double)g.lat_n / secs, (long long)(p50 / 1000), (long long)(p99 / 1000), (unsigned long long)g.ok,
           (unsigned long long)g.other);
    if (g.out != NULL)
        fclose(g.out);
    for (int i = 0; i < g.conns; i++) {
        nghttp2_session_del(conns[i].session);
        close(conns[i].fd);
    }
    return g.other == 0 ? 0 : 1;
}
