/*
 * h2gen.c - an HTTP/2 load generator whose every request differs.
 *
 * h2load sends one body and one header set; a real create-order needs a
 * unique merchant_ref and Idempotency-Key, and a sandbox payment webhook a
 * fresh signature.  h2gen keeps C connections x M concurrent streams busy over
 * cleartext HTTP/2 with prior knowledge (client preface + SETTINGS, no
 * Upgrade), single-threaded on epoll, for a fixed duration, and records the
 * latency of every request (submit -> stream closed, in ns).
 *
 *   h2gen -p PORT -c CONNECTIONS -m STREAMS -d SECONDS [-k API_KEY]
 *         -M orders|get|sandbox|vnpay|sepay|refunds [-i IN_FILE] [-o IDS_OUT] [-n IDS_KEEP] [-s SECRET]
 *
 *   orders   POST /v1/orders: a unique JSON body (merchant_ref "B<run>-<n>")
 *            and a unique Idempotency-Key per request; 201 expected.  With -o,
 *            the first IDS_KEEP (10,000) created order ids, one a line.
 *   get      GET /v1/orders/{id}, cycling over the ids in IN_FILE; 200 expected.
 *   sandbox  POST /v1/webhooks/sandbox: one signed "succeeded" notification per
 *            line "pay_… amount" of IN_FILE; stops early when the list is used
 *            up; 200 expected.
 *   vnpay    GET /v1/webhooks/vnpay?…: one successful IPN per line "pay_… amount"
 *            of IN_FILE, signed with -s (vnpay.hash_secret) for -T
 *            (vnpay.tmn_code); 200 with "RspCode":"00" expected.
 *   refunds  POST /v1/payments/{id}/refunds: one refund per line "pay_… amount"
 *            of IN_FILE (the payments of the -k key's merchant), a unique
 *            Idempotency-Key each; stops early when the list is used up; 201
 *            expected.
 *   sepay    POST /v1/webhooks/sepay: one incoming transfer per line
 *            "ORDERCODE amount" of IN_FILE, the code inside a payer's memo,
 *            Authorization: Apikey -s (sepay.api_key); 200 expected.
 *
 * Prints one line on stdout:
 *   requests=N seconds=S rate=R p50_us=A p99_us=B ok=O other=X statuses=CODE:COUNT,…
 * where requests counts every answered request, rate is requests / seconds
 * (first submit to last answer), other counts answers with an unexpected
 * status plus requests lost with their connection, and statuses lists the
 * unexpected statuses ("-" when none; 0 means reset or lost).  The first few
 * unexpected answers are echoed on stderr.  Exit status: 0 when other == 0.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <nghttp2/nghttp2.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define CONNECTIONS_MAX 1024
#define STREAMS_MAX 256
#define BODY_MAX 512
/* Bytes of each answer kept: enough for {"id":"ord_<26>" and an error line. */
#define HEAD_KEEP 240
/* Stop pulling frames from nghttp2 while this much output is unsent. */
#define OUT_HIGH_WATER 65536
/* After the duration, in-flight requests get this long to finish. */
#define DRAIN_TIMEOUT_NS (10LL * 1000000000)
/* Unexpected answers echoed on stderr. */
#define ECHO_MAX 5
#define STATUS_SLOTS 600

typedef enum { MODE_ORDERS, MODE_GET, MODE_SANDBOX, MODE_VNPAY, MODE_SEPAY, MODE_REFUNDS } gen_mode_t;

typedef struct conn conn_t;

/* One request in flight; each connection owns M of them. */
typedef struct stream {
    conn_t *conn;
    struct stream *next_free;
    int64_t start_ns;
    int status;
    size_t body_len, body_sent, head_len;
    char path[1200];
    char idem[64];
    char sig[160];
    char body[BODY_MAX];
    char head[HEAD_KEEP + 1];
} stream_t;

struct conn {
    int fd;
    int dead;
    int epollout; /* EPOLLOUT is registered: unsent output is waiting */
    int inflight;
    nghttp2_session *session;
    stream_t *slots, *free_slots;
    uint8_t *out; /* serialized frames not yet accepted by the socket */
    size_t out_len, out_off, out_cap;
};

static struct {
    /* options */
    int port, conns, streams, seconds;
    size_t ids_keep;
    const char *key, *in_path, *ids_path, *secret, *tmn_code;
    gen_mode_t mode;
    int expect;
    const char *expect_body; /* the answer must contain this too (NULL: the status is enough) */
    /* input list (get, sandbox) */
    char **ids;
    long long *amounts;
    size_t id_count, next_id;
    /* state */
    int ep;
    char run_tag[24];
    char auth[256];
    char authority[32];
    uint64_t seq;
    int64_t start_ns, deadline_ns, last_done_ns;
    int stopping;
    /* results */
    int64_t *lat;
    size_t lat_n, lat_cap;
    uint64_t ok, other, echoed;
    uint64_t status_count[STATUS_SLOTS];
    FILE *ids_out;
    size_t ids_written;
} g;

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void *xrealloc(void *p, size_t n)
{
    p = realloc(p, n);
    if (p == NULL) {
        fprintf(stderr, "h2gen: out of memory\n");
        exit(2);
    }
    return p;
}

/* ---- results ------------------------------------------------------------- */

static void record_latency(int64_t ns)
{
    if (g.lat_n == g.lat_cap) {
        g.lat_cap = g.lat_cap ? g.lat_cap * 2 : 1 << 20;
        g.lat = xrealloc(g.lat, g.lat_cap * sizeof(g.lat[0]));
    }
    g.lat[g.lat_n++] = ns;
}

static void count_unexpected(int status, const char *head, size_t head_len)
{
    g.other++;
    g.status_count[status >= 0 && status < STATUS_SLOTS ? status : 0]++;
    if (g.echoed++ < ECHO_MAX)
        fprintf(stderr, "h2gen: status %d: %.*s\n", status, (int)head_len, head);
}

/* Writes the order id of a 201 answer ({"id":"ord_…",…) to the ids file. */
static void keep_order_id(const stream_t *st)
{
    static const char KEY[] = "\"id\":\"";
    const char *p = strstr(st->head, KEY);
    if (p == NULL)
        return;
    p += sizeof(KEY) - 1;
    const char *end = strchr(p, '"');
    if (end == NULL)
        return;
    fprintf(g.ids_out, "%.*s\n", (int)(end - p), p);
    g.ids_written++;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

/* Nearest-rank percentile of the sorted samples, in microseconds. */
static long long percentile_us(double p)
{
    if (g.lat_n == 0)
        return 0;
    size_t rank = (size_t)(p * (double)g.lat_n + 0.999999);
    if (rank < 1)
        rank = 1;
    return (long long)(g.lat[rank - 1] / 1000);
}

/* ---- requests ------------------------------------------------------------ */

static ssize_t body_cb(nghttp2_session *s, int32_t id, uint8_t *buf, size_t len, uint32_t *flags,
                       nghttp2_data_source *src, void *user)
{
    stream_t *st = src->ptr;
    size_t n = st->body_len - st->body_sent;
    if (n > len)
        n = len;
    memcpy(buf, st->body + st->body_sent, n);
    st->body_sent += n;
    if (st->body_sent == st->body_len)
        *flags |= NGHTTP2_DATA_FLAG_EOF;
    return (ssize_t)n;
}

/* HMAC-SHA256(secret, "<t>.<body>") as the sandbox adapter checks it. */
static void sign(stream_t *st)
{
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int mac_len = 0;
    char msg[BODY_MAX + 32], hex[2 * EVP_MAX_MD_SIZE + 1];
    long t = (long)time(NULL);
    int n = snprintf(msg, sizeof(msg), "%ld.%s", t, st->body);
    HMAC(EVP_sha256(), g.secret, (int)strlen(g.secret), (unsigned char *)msg, (size_t)n, mac, &mac_len);
    for (unsigned i = 0; i < mac_len; i++)
        snprintf(hex + 2 * i, 3, "%02x", mac[i]);
    snprintf(st->sig, sizeof(st->sig), "t=%ld,v1=%s", t, hex);
}

/* Appends key=value to a VNPay query, form-encoded the way VNPay signs it:
 * space as '+', every byte but A-Z a-z 0-9 - _ . as %XX. */
static size_t vnp_put(char *out, size_t at, size_t cap, const char *key, const char *value)
{
    static const char HEX[] = "0123456789ABCDEF";
    const char *parts[2] = {key, value};
    if (at > 0 && at + 1 < cap)
        out[at++] = '&';
    for (int k = 0; k < 2; k++) {
        if (k == 1 && at + 1 < cap)
            out[at++] = '=';
        for (const unsigned char *p = (const unsigned char *)parts[k]; *p != '\0' && at + 3 < cap; p++) {
            if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-' ||
                *p == '_' || *p == '.') {
                out[at++] = (char)*p;
            } else if (*p == ' ') {
                out[at++] = '+';
            } else {
                out[at++] = '%';
                out[at++] = HEX[*p >> 4];
                out[at++] = HEX[*p & 15];
            }
        }
    }
    out[at] = '\0';
    return at;
}

/* A successful VNPay IPN for payment i: the vnp_* parameters in key order,
 * signed with HMAC-SHA512 over the encoded string (PROTOCOLS.md). */
static void vnpay_ipn(stream_t *st, size_t i)
{
    char amount[32], txn_no[32], bank_no[64], when[16], q[900];
    time_t t = time(NULL) + 7 * 3600; /* vnp_PayDate is GMT+7 */
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(when, sizeof(when), "%Y%m%d%H%M%S", &tm);
    snprintf(amount, sizeof(amount), "%lld", g.amounts[i] * 100);
    snprintf(txn_no, sizeof(txn_no), "%llu", (unsigned long long)(14000000 + g.seq));
    snprintf(bank_no, sizeof(bank_no), "VNP%s%zu", g.run_tag, i);
    size_t n = 0;
    n = vnp_put(q, n, sizeof(q), "vnp_Amount", amount);
    n = vnp_put(q, n, sizeof(q), "vnp_BankCode", "NCB");
    n = vnp_put(q, n, sizeof(q), "vnp_BankTranNo", bank_no);
    n = vnp_put(q, n, sizeof(q), "vnp_CardType", "ATM");
    n = vnp_put(q, n, sizeof(q), "vnp_OrderInfo", "Thanh toan hoa don");
    n = vnp_put(q, n, sizeof(q), "vnp_PayDate", when);
    n = vnp_put(q, n, sizeof(q), "vnp_ResponseCode", "00");
    n = vnp_put(q, n, sizeof(q), "vnp_TmnCode", g.tmn_code);
    n = vnp_put(q, n, sizeof(q), "vnp_TransactionNo", txn_no);
    n = vnp_put(q, n, sizeof(q), "vnp_TransactionStatus", "00");
    n = vnp_put(q, n, sizeof(q), "vnp_TxnRef", g.ids[i]);
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int mac_len = 0;
    char hex[2 * EVP_MAX_MD_SIZE + 1];
    HMAC(EVP_sha512(), g.secret, (int)strlen(g.secret), (unsigned char *)q, n, mac, &mac_len);
    for (unsigned k = 0; k < mac_len; k++)
        snprintf(hex + 2 * k, 3, "%02x", mac[k]);
    snprintf(st->path, sizeof(st->path), "/v1/webhooks/vnpay?%s&vnp_SecureHash=%s", q, hex);
}

/* A SePay incoming-transfer notification whose memo carries order code i
 * inside the kind of text payers type. */
static void sepay_transfer(stream_t *st, size_t i)
{
    char when[24];
    time_t t = time(NULL) + 7 * 3600; /* transactionDate is GMT+7 */
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm);
    unsigned long long id = (unsigned long long)(time(NULL) % 100000) * 10000000ULL + g.seq;
    st->body_len = (size_t)snprintf(
        st->body, sizeof(st->body),
        "{\"id\":%llu,\"gateway\":\"Vietcombank\",\"transactionDate\":\"%s\",\"accountNumber\":\"0011001932418\","
        "\"code\":null,\"content\":\"NGUYEN VAN A chuyen tien HP %s\",\"transferType\":\"in\","
        "\"transferAmount\":%lld,\"accumulated\":0,\"subAccount\":null,\"referenceCode\":\"FT%s%zu\","
        "\"description\":\"\"}",
        id, when, g.ids[i], g.amounts[i], g.run_tag, i);
    snprintf(st->path, sizeof(st->path), "/v1/webhooks/sepay");
}

/* Fills st for the next request of the mode; 0 when the input is used up. */
static int build_request(stream_t *st)
{
    unsigned long long n = g.seq++;
    st->idem[0] = st->sig[0] = '\0';
    st->body_len = 0;
    switch (g.mode) {
    case MODE_ORDERS:
        st->body_len = (size_t)
            snprintf(st->body, sizeof(st->body),
                     "{\"merchant_ref\":\"B%s-%llu\",\"fee_type\":\"utility\",\"category\":\"water\",\"amount\":250000,"
                     "\"currency\":\"VND\",\"description\":\"Tiền nước tháng 11\","
                     "\"payer\":{\"name\":\"Nguyễn Văn A\",\"ref\":\"KH%06llu\"}}",
                     g.run_tag, n, n % 1000000);
        snprintf(st->idem, sizeof(st->idem), "bench-%s-%llu", g.run_tag, n);
        snprintf(st->path, sizeof(st->path), "/v1/orders");
        return 1;
    case MODE_GET: snprintf(st->path, sizeof(st->path), "/v1/orders/%s", g.ids[n % g.id_count]); return 1;
    case MODE_SANDBOX: {
        if (g.next_id >= g.id_count)
            return 0;
        size_t i = g.next_id++;
        st->body_len = (size_t)snprintf(st->body, sizeof(st->body),
                                        "{\"payment_id\":\"%s\",\"provider_txn_id\":\"SBX%s%zu\","
                                        "\"status\":\"succeeded\",\"amount\":%lld}",
                                        g.ids[i], g.run_tag, i, g.amounts[i]);
        snprintf(st->path, sizeof(st->path), "/v1/webhooks/sandbox");
        sign(st);
        return 1;
    }
    case MODE_REFUNDS: {
        if (g.next_id >= g.id_count)
            return 0;
        size_t i = g.next_id++;
        st->body_len = (size_t)snprintf(st->body, sizeof(st->body),
                                        "{\"amount\":%lld,\"reason\":\"Hoàn tiền thu trùng\"}", g.amounts[i]);
        snprintf(st->idem, sizeof(st->idem), "bench-%s-rf-%zu", g.run_tag, i);
        snprintf(st->path, sizeof(st->path), "/v1/payments/%s/refunds", g.ids[i]);
        return 1;
    }
    case MODE_VNPAY:
    case MODE_SEPAY: {
        if (g.next_id >= g.id_count)
            return 0;
        size_t i = g.next_id++;
        if (g.mode == MODE_VNPAY)
            vnpay_ipn(st, i);
        else
            sepay_transfer(st, i);
        return 1;
    }
    }
    return 0;
}

/* Starts one more request on c if a slot is free and the run goes on. */
static void submit(conn_t *c)
{
    if (g.stopping || c->dead || c->free_slots == NULL)
        return;
    int64_t t = now_ns();
    if (t >= g.deadline_ns) {
        g.stopping = 1;
        return;
    }
    stream_t *st = c->free_slots;
    if (!build_request(st)) {
        g.stopping = 1;
        return;
    }
    /* The strings outlive the stream (slot or static): nghttp2 need not copy them. */
    const uint8_t NOCOPY = NGHTTP2_NV_FLAG_NO_COPY_NAME | NGHTTP2_NV_FLAG_NO_COPY_VALUE;
    nghttp2_nv hdrs[8];
    size_t h = 0;
#define NV(name_, value_, flags_)                                                                                      \
    hdrs[h++] = (nghttp2_nv){(uint8_t *)(name_), (uint8_t *)(value_), strlen(name_), strlen(value_),                   \
                             (uint8_t)(NOCOPY | (flags_))}
    NV(":method", st->body_len > 0 ? "POST" : "GET", 0);
    NV(":path", st->path, 0);
    NV(":scheme", "http", 0);
    NV(":authority", g.authority, 0);
    if (g.auth[0])
        NV("authorization", g.auth, 0);
    /* unique values: not worth an HPACK table entry */
    if (st->idem[0])
        NV("idempotency-key", st->idem, NGHTTP2_NV_FLAG_NO_INDEX);
    if (st->sig[0])
        NV("x-signature", st->sig, NGHTTP2_NV_FLAG_NO_INDEX);
    if (st->body_len > 0)
        NV("content-type", "application/json", 0);
#undef NV
    nghttp2_data_provider dp = {.source.ptr = st, .read_callback = body_cb};
    st->status = 0;
    st->body_sent = st->head_len = 0;
    st->head[0] = '\0';
    st->start_ns = t;
    if (nghttp2_submit_request(c->session, NULL, hdrs, h, st->body_len > 0 ? &dp : NULL, st) < 0) {
        fprintf(stderr, "h2gen: nghttp2_submit_request failed\n");
        g.stopping = 1;
        return;
    }
    c->free_slots = st->next_free;
    c->inflight++;
}

/* ---- nghttp2 callbacks --------------------------------------------------- */

static int header_cb(nghttp2_session *s, const nghttp2_frame *f, const uint8_t *name, size_t nlen, const uint8_t *value,
                     size_t vlen, uint8_t flags, void *user)
{
    if (nlen != 7 || memcmp(name, ":status", 7) != 0)
        return 0;
    stream_t *st = nghttp2_session_get_stream_user_data(s, f->hd.stream_id);
    if (st != NULL) {
        int status = 0;
        for (size_t i = 0; i < vlen && value[i] >= '0' && value[i] <= '9'; i++)
            status = status * 10 + (value[i] - '0');
        st->status = status;
    }
    return 0;
}

static int data_cb(nghttp2_session *s, uint8_t flags, int32_t id, const uint8_t *data, size_t len, void *user)
{
    stream_t *st = nghttp2_session_get_stream_user_data(s, id);
    if (st != NULL && st->head_len < HEAD_KEEP) {
        size_t n = HEAD_KEEP - st->head_len < len ? HEAD_KEEP - st->head_len : len;
        memcpy(st->head + st->head_len, data, n);
        st->head_len += n;
        st->head[st->head_len] = '\0';
    }
    return 0;
}

static int close_cb(nghttp2_session *s, int32_t id, uint32_t err, void *user)
{
    conn_t *c = user;
    stream_t *st = nghttp2_session_get_stream_user_data(s, id);
    if (st == NULL)
        return 0;
    int64_t t = now_ns();
    record_latency(t - st->start_ns);
    g.last_done_ns = t;
    if (st->status == g.expect && err == NGHTTP2_NO_ERROR &&
        (g.expect_body == NULL || strstr(st->head, g.expect_body) != NULL)) {
        g.ok++;
        if (g.mode == MODE_ORDERS && g.ids_out != NULL && g.ids_written < g.ids_keep)
            keep_order_id(st);
    } else {
        count_unexpected(st->status, st->head, st->head_len);
    }
    st->next_free = c->free_slots;
    c->free_slots = st;
    c->inflight--;
    submit(c);
    return 0;
}

/* ---- connections --------------------------------------------------------- */

static void set_epollout(conn_t *c, int on)
{
    if (c->epollout == on)
        return;
    struct epoll_event ev = {.events = EPOLLIN | (on ? EPOLLOUT : 0), .data.ptr = c};
    epoll_ctl(g.ep, EPOLL_CTL_MOD, c->fd, &ev);
    c->epollout = on;
}

/* Requests lost with a connection count as failures. */
static void conn_fail(conn_t *c, const char *why)
{
    if (c->dead)
        return;
    if (c->inflight > 0 || !g.stopping)
        fprintf(stderr, "h2gen: connection %s with %d requests in flight\n", why, c->inflight);
    for (int i = 0; i < c->inflight; i++)
        count_unexpected(0, "", 0);
    c->inflight = 0;
    c->dead = 1;
    epoll_ctl(g.ep, EPOLL_CTL_DEL, c->fd, NULL);
}

/* Serializes pending frames into one buffer and writes as much as the socket
 * takes: one send() for many frames, EPOLLOUT only when the socket is full. */
static void conn_flush(conn_t *c)
{
    while (!c->dead) {
        while (c->out_off < c->out_len) {
            ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL);
            if (n < 0 && errno == EINTR)
                continue;
            if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
                set_epollout(c, 1);
                return;
            }
            if (n < 0) {
                conn_fail(c, "failed on send");
                return;
            }
            c->out_off += (size_t)n;
        }
        c->out_off = c->out_len = 0;
        for (;;) {
            const uint8_t *data;
            ssize_t n = nghttp2_session_mem_send(c->session, &data);
            if (n < 0) {
                conn_fail(c, "failed in nghttp2");
                return;
            }
            if (n == 0)
                break;
            if (c->out_len + (size_t)n > c->out_cap) {
                c->out_cap = (c->out_len + (size_t)n) * 2;
                c->out = xrealloc(c->out, c->out_cap);
            }
            memcpy(c->out + c->out_len, data, (size_t)n);
            c->out_len += (size_t)n;
            if (c->out_len >= OUT_HIGH_WATER)
                break;
        }
        if (c->out_len == 0) {
            set_epollout(c, 0);
            return;
        }
    }
}

static void conn_read(conn_t *c)
{
    static uint8_t buf[1 << 17];
    while (!c->dead) {
        ssize_t n = recv(c->fd, buf, sizeof(buf), 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;
        if (n <= 0) {
            conn_fail(c, n == 0 ? "closed by the server" : "failed on recv");
            return;
        }
        if (nghttp2_session_mem_recv(c->session, buf, (size_t)n) < 0) {
            conn_fail(c, "got a protocol error");
            return;
        }
    }
}

static int conn_open(conn_t *c)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)g.port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int one = 1;
    memset(c, 0, sizeof(*c));
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (c->fd < 0 || connect(c->fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
        perror("h2gen: connect");
        return -1;
    }
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    fcntl(c->fd, F_SETFL, fcntl(c->fd, F_GETFL) | O_NONBLOCK);

    nghttp2_session_callbacks *cb;
    nghttp2_session_callbacks_new(&cb);
    nghttp2_session_callbacks_set_on_header_callback(cb, header_cb);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, data_cb);
    nghttp2_session_callbacks_set_on_stream_close_callback(cb, close_cb);
    int rc = nghttp2_session_client_new(&c->session, cb, c);
    nghttp2_session_callbacks_del(cb);
    if (rc != 0)
        return -1;
    /* The library sends the client preface before this SETTINGS frame. */
    nghttp2_settings_entry s[] = {{NGHTTP2_SETTINGS_ENABLE_PUSH, 0}, {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, 1 << 20}};
    nghttp2_submit_settings(c->session, NGHTTP2_FLAG_NONE, s, sizeof(s) / sizeof(s[0]));

    c->slots = calloc((size_t)g.streams, sizeof(stream_t));
    if (c->slots == NULL)
        return -1;
    for (int i = g.streams - 1; i >= 0; i--) {
        c->slots[i].conn = c;
        c->slots[i].next_free = c->free_slots;
        c->free_slots = &c->slots[i];
    }
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
    return epoll_ctl(g.ep, EPOLL_CTL_ADD, c->fd, &ev);
}

/* ---- input --------------------------------------------------------------- */

/* Reads lines "id [amount]". */
static void load_ids(void)
{
    FILE *f = fopen(g.in_path, "r");
    char line[256];
    size_t cap = 0;
    if (f == NULL) {
        perror(g.in_path);
        exit(2);
    }
    while (fgets(line, sizeof(line), f) != NULL) {
        char id[128];
        long long amount = 0;
        if (sscanf(line, "%127s %lld", id, &amount) < 1)
            continue;
        if (g.id_count == cap) {
            cap = cap ? cap * 2 : 1024;
            g.ids = xrealloc(g.ids, cap * sizeof(g.ids[0]));
            g.amounts = xrealloc(g.amounts, cap * sizeof(g.amounts[0]));
        }
        g.ids[g.id_count] = strdup(id);
        g.amounts[g.id_count++] = amount;
    }
    fclose(f);
    if (g.id_count == 0) {
        fprintf(stderr, "h2gen: %s holds no ids\n", g.in_path);
        exit(2);
    }
}

static void usage(void)
{
    fprintf(stderr, "usage: h2gen -p PORT -c CONNS -m STREAMS -d SECONDS [-k API_KEY]\n"
                    "             -M orders|get|sandbox|vnpay|sepay|refunds [-i IN_FILE] [-o IDS_OUT] [-n IDS_KEEP]\n"
                    "             [-s SECRET] [-T VNPAY_TMN_CODE]\n");
    exit(2);
}

static void parse_args(int argc, char **argv)
{
    int opt;
    g.port = 18180, g.conns = 32, g.streams = 8, g.seconds = 30, g.ids_keep = 10000, g.secret = "";
    g.tmn_code = "";
    while ((opt = getopt(argc, argv, "p:c:m:d:k:M:i:o:n:s:T:")) != -1) {
        switch (opt) {
        case 'p': g.port = atoi(optarg); break;
        case 'c': g.conns = atoi(optarg); break;
        case 'm': g.streams = atoi(optarg); break;
        case 'd': g.seconds = atoi(optarg); break;
        case 'k': g.key = optarg; break;
        case 'i': g.in_path = optarg; break;
        case 'o': g.ids_path = optarg; break;
        case 'n': g.ids_keep = (size_t)atol(optarg); break;
        case 's': g.secret = optarg; break;
        case 'T': g.tmn_code = optarg; break;
        case 'M':
            if (strcmp(optarg, "orders") == 0)
                g.mode = MODE_ORDERS;
            else if (strcmp(optarg, "get") == 0)
                g.mode = MODE_GET;
            else if (strcmp(optarg, "sandbox") == 0)
                g.mode = MODE_SANDBOX;
            else if (strcmp(optarg, "vnpay") == 0)
                g.mode = MODE_VNPAY;
            else if (strcmp(optarg, "sepay") == 0)
                g.mode = MODE_SEPAY;
            else if (strcmp(optarg, "refunds") == 0)
                g.mode = MODE_REFUNDS;
            else
                usage();
            break;
        default: usage();
        }
    }
    if (g.port < 1 || g.port > 65535 || g.conns < 1 || g.conns > CONNECTIONS_MAX || g.streams < 1 ||
        g.streams > STREAMS_MAX || g.seconds < 1 ||
        ((g.mode == MODE_ORDERS || g.mode == MODE_GET || g.mode == MODE_REFUNDS) && g.key == NULL) ||
        (g.mode != MODE_ORDERS && g.in_path == NULL))
        usage();
    g.expect = g.mode == MODE_ORDERS || g.mode == MODE_REFUNDS ? 201 : 200;
    /* VNPay's IPN answers 200 whatever happened: the RspCode tells */
    g.expect_body = g.mode == MODE_VNPAY ? "\"RspCode\":\"00\"" : NULL;
}

/* ---- main ---------------------------------------------------------------- */

int main(int argc, char **argv)
{
    parse_args(argc, argv);
    if (g.in_path != NULL)
        load_ids();
    if (g.ids_path != NULL && (g.ids_out = fopen(g.ids_path, "w")) == NULL) {
        perror(g.ids_path);
        return 2;
    }
    if (g.mode == MODE_ORDERS || g.mode == MODE_GET || g.mode == MODE_REFUNDS)
        snprintf(g.auth, sizeof(g.auth), "Bearer %s", g.key);
    else if (g.mode == MODE_SEPAY)
        snprintf(g.auth, sizeof(g.auth), "Apikey %s", g.secret);
    snprintf(g.authority, sizeof(g.authority), "127.0.0.1:%d", g.port);
    /* unique per run, so refs and keys never collide with an earlier run's */
    snprintf(g.run_tag, sizeof(g.run_tag), "%lx%x", (long)time(NULL), (unsigned)getpid());

    g.ep = epoll_create1(EPOLL_CLOEXEC);
    conn_t *conns = calloc((size_t)g.conns, sizeof(conn_t));
    if (g.ep < 0 || conns == NULL)
        return 2;
    for (int i = 0; i < g.conns; i++)
        if (conn_open(&conns[i]) != 0)
            return 1;

    g.start_ns = g.last_done_ns = now_ns();
    g.deadline_ns = g.start_ns + (int64_t)g.seconds * 1000000000;
    for (int i = 0; i < g.conns; i++) {
        for (int k = 0; k < g.streams; k++)
            submit(&conns[i]);
        conn_flush(&conns[i]);
    }

    int64_t give_up_ns = g.deadline_ns + DRAIN_TIMEOUT_NS;
    for (;;) {
        int64_t t = now_ns();
        if (!g.stopping && t >= g.deadline_ns)
            g.stopping = 1;
        if (g.stopping) {
            int busy = 0;
            for (int i = 0; i < g.conns && !busy; i++)
                busy = !conns[i].dead && conns[i].inflight > 0;
            if (!busy)
                break;
            if (t >= give_up_ns) {
                for (int i = 0; i < g.conns; i++)
                    conn_fail(&conns[i], "timed out");
                break;
            }
        }
        int wait_ms = g.stopping ? 100 : (int)((g.deadline_ns - t) / 1000000) + 1;
        struct epoll_event evs[CONNECTIONS_MAX];
        int n = epoll_wait(g.ep, evs, CONNECTIONS_MAX, wait_ms);
        for (int i = 0; i < n; i++) {
            conn_t *c = evs[i].data.ptr;
            if (evs[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP))
                conn_read(c);
            conn_flush(c); /* the answers read above submitted new requests */
        }
    }

    double secs = (double)(g.last_done_ns - g.start_ns) / 1e9;
    qsort(g.lat, g.lat_n, sizeof(g.lat[0]), cmp_i64);
    printf("requests=%zu seconds=%.2f rate=%.0f p50_us=%lld p99_us=%lld ok=%llu other=%llu statuses=", g.lat_n, secs,
           secs > 0 ? (double)g.lat_n / secs : 0.0, percentile_us(0.50), percentile_us(0.99), (unsigned long long)g.ok,
           (unsigned long long)g.other);
    int listed = 0;
    for (int s = 0; s < STATUS_SLOTS; s++)
        if (g.status_count[s] > 0)
            printf("%s%d:%llu", listed++ ? "," : "", s, (unsigned long long)g.status_count[s]);
    printf("%s\n", listed ? "" : "-");

    if (g.ids_out != NULL)
        fclose(g.ids_out);
    for (int i = 0; i < g.conns; i++) {
        nghttp2_session_del(conns[i].session);
        close(conns[i].fd);
        free(conns[i].slots);
        free(conns[i].out);
    }
    free(conns);
    free(g.lat);
    for (size_t i = 0; i < g.id_count; i++)
        free(g.ids[i]);
    free(g.ids);
    free(g.amounts);
    return g.other == 0 ? 0 : 1;
}
