/*
 * whbench.c - the merchant side of the outbound-webhook benchmark
 * (tests/bench/webhooks): an HTTP/1.1 receiver (keep-alive, one thread per
 * connection) that verifies every Feegate-Signature like a merchant would,
 * and, for latency, a driver that pays orders through the signed sandbox
 * webhook and times each payment's commit to its webhook's arrival.
 *
 *   whbench throughput -l PORT -w WHSEC -n EVENTS [-t TIMEOUT_S]
 *     waits for EVENTS distinct events; prints
 *     "events=N seconds=S rate=R duplicates=D bad=B"
 *   whbench latency -l PORT -w WHSEC -s SERVER_PORT -k SANDBOX_SECRET -i FILE -r RATE -d SECONDS
 *     FILE holds "pay_id amount" lines (pending sandbox payments); sends
 *     RATE notifications per second for SECONDS; the commit time of a
 *     payment is when its notification's 200 came back (the commit precedes
 *     it); its arrival is when payment.succeeded reached the receiver.
 *     Prints "payments=N delivered=M p50_ms=A p99_ms=B max_ms=C bad=D"
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <yajl/yajl_tree.h>
#include "bench_common.h"

/* Distinct ids tracked: the largest run the script makes, with room. */
#define IDS_MAX (1 << 21)
#define REQUEST_MAX (1 << 20)

static const char *webhook_secret;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static atomic_int bad;

/* ---- a set of ids: open addressing, id -> slot ------------------------------- */

typedef struct {
    char *key;
    int64_t value; /* arrival ns (receiver) or commit ns (driver) */
    int seen;
} slot_t;

static slot_t *table;
static size_t table_cap;

static uint64_t hash(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

/* The slot of key, created if absent (call with mu held). */
static slot_t *lookup(const char *key)
{
    size_t i = (size_t)hash(key) & (table_cap - 1);
    while (table[i].key != NULL && strcmp(table[i].key, key) != 0)
        i = (i + 1) & (table_cap - 1);
    if (table[i].key == NULL)
        table[i].key = strdup(key);
    return &table[i];
}

/* ---- the receiver ---------------------------------------------------------------- */

static int64_t first_ns, last_ns;
static int64_t distinct, duplicates;
static int latency_mode;

static int signature_ok(const char *header, const char *body, size_t body_len)
{
    char copy[512], hex[65];
    long long t = -1;
    unsigned char mac[32];
    unsigned mac_len = 0;
    snprintf(copy, sizeof(copy), "%s", header);
    for (char *save = NULL, *p = strtok_r(copy, ",", &save); p != NULL; p = strtok_r(NULL, ",", &save)) {
        if (strncmp(p, "t=", 2) == 0) {
            t = atoll(p + 2);
        } else if (strncmp(p, "v1=", 3) == 0 && t > 0) {
            char head[32];
            int n = snprintf(head, sizeof(head), "%lld.", t);
            unsigned char *msg = malloc((size_t)n + body_len);
            memcpy(msg, head, (size_t)n);
            memcpy(msg + n, body, body_len);
            HMAC(EVP_sha256(), webhook_secret, (int)strlen(webhook_secret), msg, (size_t)n + body_len, mac, &mac_len);
            free(msg);
            for (unsigned k = 0; k < mac_len; k++)
                snprintf(hex + 2 * k, 3, "%02x", mac[k]);
            if (strlen(p + 3) == 64 && CRYPTO_memcmp(hex, p + 3, 64) == 0)
                return 1;
        }
    }
    return 0;
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
            snprintf(out, cap, "%.*s", (int)strcspn(v, "\r\n"), v);
            return out;
        }
    }
    return NULL;
}

/* Records one delivered event. */
static void record(const char *body, size_t len, const char *signature)
{
    char err[128];
    int64_t now = bench_now_ns();
    if (!signature_ok(signature, body, len)) {
        atomic_fetch_add(&bad, 1);
        return;
    }
    yajl_val root = yajl_tree_parse(body, err, sizeof(err));
    const char *id_path[] = {"id", NULL}, *type_path[] = {"type", NULL}, *obj_path[] = {"data", "object", "id", NULL};
    yajl_val id = root ? yajl_tree_get(root, id_path, yajl_t_string) : NULL;
    yajl_val type = root ? yajl_tree_get(root, type_path, yajl_t_string) : NULL;
    yajl_val obj = root ? yajl_tree_get(root, obj_path, yajl_t_string) : NULL;
    const char *id_text = id != NULL ? YAJL_GET_STRING(id) : NULL;
    const char *type_text = type != NULL ? YAJL_GET_STRING(type) : NULL;
    const char *obj_text = obj != NULL ? YAJL_GET_STRING(obj) : NULL;
    if (id_text == NULL || type_text == NULL) {
        atomic_fetch_add(&bad, 1);
    } else {
        pthread_mutex_lock(&mu);
        if (latency_mode) {
            if (strcmp(type_text, "payment.succeeded") == 0 && obj_text != NULL) {
                slot_t *s = lookup(obj_text);
                if (s->seen & 2)
                    duplicates++;
                else if (s->seen & 1) /* its commit time is known: latency */
                    s->value = now - s->value;
                else
                    s->value = now; /* arrived before the driver saw its 200 (possible, rare) */
                s->seen |= 2;
            }
        } else {
            slot_t *s = lookup(id_text);
            if (s->seen) {
                duplicates++;
            } else {
                s->seen = 1;
                distinct++;
                if (first_ns == 0)
                    first_ns = now;
                last_ns = now;
            }
        }
        pthread_mutex_unlock(&mu);
    }
    if (root != NULL)
        yajl_tree_free(root);
}

static void *connection(void *arg)
{
    int fd = (int)(intptr_t)arg;
    char *buf = malloc(REQUEST_MAX + 1);
    size_t have = 0;
    for (;;) {
        char *end;
        while ((end = memmem(buf, have, "\r\n\r\n", 4)) == NULL) {
            ssize_t k = recv(fd, buf + have, REQUEST_MAX - have, 0);
            if (k <= 0)
                goto Exit;
            have += (size_t)k;
        }
        size_t head_len = (size_t)(end - buf) + 4;
        char head[8192], cl[32], sig[512];
        snprintf(head, sizeof(head), "%.*s", (int)(head_len - 2), buf);
        size_t body_len = header_value(head, "Content-Length", cl, sizeof(cl)) ? (size_t)atol(cl) : 0;
        if (head_len + body_len > REQUEST_MAX)
            goto Exit;
        while (have < head_len + body_len) {
            ssize_t k = recv(fd, buf + have, REQUEST_MAX - have, 0);
            if (k <= 0)
                goto Exit;
            have += (size_t)k;
        }
        char saved = buf[head_len + body_len];
        buf[head_len + body_len] = '\0';
        if (header_value(head, "Feegate-Signature", sig, sizeof(sig)))
            record(buf + head_len, body_len, sig);
        else
            atomic_fetch_add(&bad, 1);
        buf[head_len + body_len] = saved;
        static const char ok[] = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
        if (send(fd, ok, sizeof(ok) - 1, MSG_NOSIGNAL) < 0)
            goto Exit;
        memmove(buf, buf + head_len + body_len, have - head_len - body_len);
        have -= head_len + body_len;
    }
Exit:
    free(buf);
    close(fd);
    return NULL;
}

static void *acceptor(void *arg)
{
    int listener = (int)(intptr_t)arg;
    for (;;) {
        int fd = accept4(listener, NULL, NULL, SOCK_CLOEXEC);
        if (fd < 0)
            continue;
        int on = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
        pthread_t t;
        pthread_create(&t, NULL, connection, (void *)(intptr_t)fd);
        pthread_detach(t);
    }
    return NULL;
}

static void listen_on(int port)
{
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    int on = 1, fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0 || listen(fd, 1024) != 0) {
        fprintf(stderr, "whbench: cannot listen on %d: %s\n", port, strerror(errno));
        exit(1);
    }
    pthread_t t;
    pthread_create(&t, NULL, acceptor, (void *)(intptr_t)fd);
    pthread_detach(t);
}

/* ---- throughput ------------------------------------------------------------------------- */

static int throughput(int64_t events, int timeout_s)
{
    int64_t deadline = bench_now_ns() + (int64_t)timeout_s * 1000000000LL, idle_since = bench_now_ns(), seen = 0;
    for (;;) {
        pthread_mutex_lock(&mu);
        int64_t n = distinct;
        pthread_mutex_unlock(&mu);
        if (n != seen) {
            seen = n;
            idle_since = bench_now_ns();
        }
        if (n >= events || bench_now_ns() > deadline || (n > 0 && bench_now_ns() - idle_since > 30 * 1000000000LL))
            break;
        struct timespec ts = {0, 10 * 1000000L};
        nanosleep(&ts, NULL);
    }
    pthread_mutex_lock(&mu);
    double secs = (double)(last_ns - first_ns) / 1e9;
    printf("events=%lld seconds=%.2f rate=%.0f duplicates=%lld bad=%d\n", (long long)distinct, secs,
           secs > 0 ? (double)distinct / secs : 0.0, (long long)duplicates, atomic_load(&bad));
    pthread_mutex_unlock(&mu);
    return distinct >= events ? 0 : 1;
}

/* ---- latency ------------------------------------------------------------------------------ */

static size_t sink(char *p, size_t size, size_t n, void *arg)
{
    (void)p;
    (void)arg;
    return size * n;
}

static int latency(int server_port, const char *sandbox_secret, const char *file, int rate, int seconds)
{
    FILE *f = fopen(file, "r");
    if (f == NULL) {
        fprintf(stderr, "whbench: %s: %s\n", file, strerror(errno));
        return 1;
    }
    CURL *curl = curl_easy_init();
    char url[128], line[256];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/v1/webhooks/sandbox", server_port);
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, sink);
    curl_easy_setopt(curl, CURLOPT_PROXY, "");
    int64_t start = bench_now_ns(), sent = 0, failed = 0;
    int64_t total = (int64_t)rate * seconds;
    static char **ids;
    ids = calloc((size_t)total, sizeof(char *));
    while (sent < total && fgets(line, sizeof(line), f) != NULL) {
        char pay[64];
        long long amount;
        if (sscanf(line, "%63s %lld", pay, &amount) != 2)
            continue;
        int64_t due = start + sent * 1000000000LL / rate;
        while (bench_now_ns() < due) {
            int64_t wait = due - bench_now_ns();
            struct timespec ts = {0, wait > 0 ? (long)wait : 0};
            nanosleep(&ts, NULL);
        }
        char body[300], msg[400], hex[65], header[200], txn[48];
        unsigned char mac[32];
        unsigned mac_len = 0;
        snprintf(txn, sizeof(txn), "WHB%lld-%lld", (long long)getpid(), (long long)sent);
        snprintf(body, sizeof(body),
                 "{\"payment_id\":\"%s\",\"provider_txn_id\":\"%s\",\"status\":\"succeeded\",\"amount\":%lld}", pay,
                 txn, amount);
        long long t = (long long)time(NULL);
        int n = snprintf(msg, sizeof(msg), "%lld.%s", t, body);
        HMAC(EVP_sha256(), sandbox_secret, (int)strlen(sandbox_secret), (unsigned char *)msg, (size_t)n, mac, &mac_len);
        for (unsigned k = 0; k < mac_len; k++)
            snprintf(hex + 2 * k, 3, "%02x", mac[k]);
        snprintf(header, sizeof(header), "X-Signature: t=%lld,v1=%s", t, hex);
        struct curl_slist *h = curl_slist_append(NULL, header);
        h = curl_slist_append(h, "Content-Type: application/json");
        curl_easy_setopt(curl, CURLOPT_HTTPHEADER, h);
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
        long status = 0;
        CURLcode rc = curl_easy_perform(curl);
        curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
        int64_t committed = bench_now_ns();
        curl_slist_free_all(h);
        ids[sent++] = strdup(pay);
        if (rc != CURLE_OK || status != 200) {
            failed++;
            continue;
        }
        pthread_mutex_lock(&mu);
        slot_t *s = lookup(pay);
        if (s->seen & 2)
            s->value = 0; /* arrived before the 200 came back: no measurable delay */
        else
            s->value = committed;
        s->seen |= 1;
        pthread_mutex_unlock(&mu);
    }
    fclose(f);
    curl_easy_cleanup(curl);
    /* stragglers: up to 10 s */
    int64_t deadline = bench_now_ns() + 10000000000LL;
    int64_t delivered = 0, *samples = malloc((size_t)(sent + 1) * sizeof(int64_t));
    for (;;) {
        delivered = 0;
        pthread_mutex_lock(&mu);
        for (int64_t i = 0; i < sent; i++) {
            slot_t *s = lookup(ids[i]);
            if (s->seen == 3)
                samples[delivered++] = s->value;
        }
        pthread_mutex_unlock(&mu);
        if (delivered >= sent - failed || bench_now_ns() > deadline)
            break;
        struct timespec ts = {0, 50 * 1000000L};
        nanosleep(&ts, NULL);
    }
    qsort(samples, (size_t)delivered, sizeof(int64_t), bench_cmp);
    double p50 = delivered ? (double)samples[delivered / 2] / 1e6 : 0;
    double p99 = delivered
                     ? (double)samples[(delivered * 99) / 100 < delivered ? (delivered * 99) / 100 : delivered - 1] /
                           1e6
                     : 0;
    double max = delivered ? (double)samples[delivered - 1] / 1e6 : 0;
    printf("payments=%lld failed=%lld delivered=%lld rate=%d p50_ms=%.1f p99_ms=%.1f max_ms=%.1f duplicates=%lld "
           "bad=%d\n",
           (long long)sent, (long long)failed, (long long)delivered, rate, p50, p99, max, (long long)duplicates,
           atomic_load(&bad));
    for (int64_t i = 0; i < sent; i++)
        free(ids[i]);
    free(ids);
    free(samples);
    return delivered >= sent - failed ? 0 : 1;
}

static void usage(void)
{
    fprintf(stderr, "usage: whbench throughput -l PORT -w WHSEC -n EVENTS [-t TIMEOUT_S]\n"
                    "       whbench latency -l PORT -w WHSEC -s SERVER_PORT -k SANDBOX_SECRET -i FILE -r RATE "
                    "-d SECONDS\n");
    exit(2);
}

int main(int argc, char **argv)
{
    if (argc < 2)
        usage();
    const char *mode = argv[1], *sandbox_secret = NULL, *file = NULL;
    int port = 0, server_port = 0, rate = 100, seconds = 10, timeout_s = 600;
    long long events = 0;
    for (int i = 2; i + 1 < argc; i += 2) {
        const char *o = argv[i], *v = argv[i + 1];
        if (strcmp(o, "-l") == 0)
            port = atoi(v);
        else if (strcmp(o, "-w") == 0)
            webhook_secret = v;
        else if (strcmp(o, "-n") == 0)
            events = atoll(v);
        else if (strcmp(o, "-t") == 0)
            timeout_s = atoi(v);
        else if (strcmp(o, "-s") == 0)
            server_port = atoi(v);
        else if (strcmp(o, "-k") == 0)
            sandbox_secret = v;
        else if (strcmp(o, "-i") == 0)
            file = v;
        else if (strcmp(o, "-r") == 0)
            rate = atoi(v);
        else if (strcmp(o, "-d") == 0)
            seconds = atoi(v);
        else
            usage();
    }
    if (port <= 0 || webhook_secret == NULL || rate <= 0)
        usage();
    table_cap = IDS_MAX;
    table = calloc(table_cap, sizeof(slot_t));
    curl_global_init(CURL_GLOBAL_DEFAULT);
    listen_on(port);
    if (strcmp(mode, "throughput") == 0 && events > 0 && events < IDS_MAX / 2)
        return throughput(events, timeout_s);
    if (strcmp(mode, "latency") == 0 && server_port > 0 && sandbox_secret != NULL && file != NULL) {
        latency_mode = 1;
        return latency(server_port, sandbox_secret, file, rate, seconds);
    }
    usage();
    return 2;
}
