/*
 * sign.c - the pure parts of outbound webhooks: signatures, secrets, the
 * retry schedule, event types, the envelope, and the SSRF guard on endpoint
 * URLs and addresses.
 */
#include "webhooks/webhooks.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <curl/curl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- signatures and secrets ------------------------------------------------ */

void fg_webhook_sign(const char *secret, int64_t t, const char *body, size_t body_len,
                     char hex_out[2 * FG_SHA256_LEN + 1])
{
    fg_buf_t msg = FG_BUF_INIT;
    uint8_t mac[FG_SHA256_LEN];
    fg_buf_printf(&msg, "%lld.", (long long)t);
    fg_buf_append(&msg, body, body_len);
    fg_hmac_sha256(secret, strlen(secret), msg.data, msg.len, mac);
    fg_hex_encode(mac, sizeof(mac), hex_out);
    fg_buf_free(&msg);
}

void fg_webhook_signature_header(const char *secret, const char *previous_secret, int64_t t, const char *body,
                                 size_t body_len, char *out, size_t cap)
{
    char current[2 * FG_SHA256_LEN + 1], previous[2 * FG_SHA256_LEN + 1];
    fg_webhook_sign(secret, t, body, body_len, current);
    if (previous_secret != NULL && previous_secret[0] != '\0') {
        fg_webhook_sign(previous_secret, t, body, body_len, previous);
        snprintf(out, cap, "t=%lld,v1=%s,v1=%s", (long long)t, current, previous);
    } else {
        snprintf(out, cap, "t=%lld,v1=%s", (long long)t, current);
    }
}

int fg_webhook_secret_new(char *out, size_t cap)
{
    uint8_t raw[FG_WEBHOOK_SECRET_RANDOM_BYTES];
    char encoded[2 * FG_WEBHOOK_SECRET_RANDOM_BYTES];
    _Static_assert(sizeof("whsec_") + 4 * ((FG_WEBHOOK_SECRET_RANDOM_BYTES + 2) / 3) <= FG_WEBHOOK_SECRET_CAP,
                   "a secret fits its buffer");
    if (cap < FG_WEBHOOK_SECRET_CAP || fg_random_bytes(raw, sizeof(raw)) != 0)
        return FG_EIO;
    fg_base64url_encode(raw, sizeof(raw), encoded);
    snprintf(out, cap, "whsec_%s", encoded);
    return 0;
}

/* ---- the retry schedule ------------------------------------------------------ */

int64_t fg_webhook_retry_delay_ms(int64_t base_ms, int attempts, int jitter_permille)
{
    int64_t delay = base_ms > 0 ? base_ms : 1;
    for (int i = 1; i < attempts && delay < FG_WEBHOOK_RETRY_DELAY_MAX_MS; i++)
        delay *= 2; /* delay < 6 h before doubling: no overflow */
    if (delay > FG_WEBHOOK_RETRY_DELAY_MAX_MS)
        delay = FG_WEBHOOK_RETRY_DELAY_MAX_MS;
    if (jitter_permille < 0)
        jitter_permille = 0;
    if (jitter_permille > 1000)
        jitter_permille = 1000;
    int64_t half = delay / 2;
    return half + (delay - half) * jitter_permille / 1000;
}

/* ---- event types ---------------------------------------------------------------- */

static const char *const EVENT_TYPES[] = {
    "order.paid",     "order.partially_paid", "order.expired", "order.cancelled",          "payment.succeeded",
    "payment.failed", "refund.succeeded",     "refund.failed", "reconciliation.completed", "reminder.sent",
};

int fg_webhook_event_type_known(const char *type, size_t len)
{
    for (size_t i = 0; i < sizeof(EVENT_TYPES) / sizeof(EVENT_TYPES[0]); i++)
        if (strlen(EVENT_TYPES[i]) == len && memcmp(EVENT_TYPES[i], type, len) == 0)
            return 1;
    return 0;
}

int fg_webhook_subscribed(const char *events, const char *type)
{
    size_t type_len = strlen(type);
    const char *p = events;
    while (*p != '\0') {
        size_t n = strcspn(p, ",");
        if ((n == 1 && p[0] == '*') || (n == type_len && memcmp(p, type, n) == 0))
            return 1;
        p += n;
        if (*p == ',')
            p++;
    }
    return 0;
}

void fg_webhook_envelope(fg_buf_t *out, const char *public_id, const char *type, int64_t created_ms,
                         const char *payload, size_t payload_len)
{
    fg_buf_putc(out, '{');
    fg_json_kv_str(out, 0, "id", public_id);
    fg_json_kv_str(out, 1, "object", "event");
    fg_json_kv_str(out, 1, "type", type);
    fg_json_kv_int(out, 1, "created", created_ms / 1000);
    fg_buf_puts(out, ",\"data\":{\"object\":");
    if (payload_len > 0)
        fg_buf_append(out, payload, payload_len);
    else
        fg_buf_puts(out, "null");
    fg_buf_puts(out, "}}");
}

/* ---- the SSRF guard ----------------------------------------------------------- */

typedef struct {
    uint32_t net, mask;
} v4_range_t;

#define V4(a, b, c, d) (((uint32_t)(a) << 24) | ((uint32_t)(b) << 16) | ((uint32_t)(c) << 8) | (uint32_t)(d))
#define PREFIX(bits) ((uint32_t)(0xffffffffULL << (32 - (bits))))

/* IPv4 ranges no merchant receiver lives in (RFC 6890's special-purpose
 * registry, less the few globally reachable entries). */
static const v4_range_t V4_FORBIDDEN[] = {
    {V4(0, 0, 0, 0), PREFIX(8)},       /* "this network" */
    {V4(10, 0, 0, 0), PREFIX(8)},      /* private */
    {V4(100, 64, 0, 0), PREFIX(10)},   /* carrier-grade NAT */
    {V4(127, 0, 0, 0), PREFIX(8)},     /* loopback */
    {V4(169, 254, 0, 0), PREFIX(16)},  /* link-local, cloud metadata */
    {V4(172, 16, 0, 0), PREFIX(12)},   /* private */
    {V4(192, 0, 0, 0), PREFIX(24)},    /* IETF protocol assignments */
    {V4(192, 0, 2, 0), PREFIX(24)},    /* documentation */
    {V4(192, 88, 99, 0), PREFIX(24)},  /* 6to4 relay anycast */
    {V4(192, 168, 0, 0), PREFIX(16)},  /* private */
    {V4(198, 18, 0, 0), PREFIX(15)},   /* benchmarking */
    {V4(198, 51, 100, 0), PREFIX(24)}, /* documentation */
    {V4(203, 0, 113, 0), PREFIX(24)},  /* documentation */
    {V4(224, 0, 0, 0), PREFIX(4)},     /* multicast */
    {V4(240, 0, 0, 0), PREFIX(4)},     /* reserved, broadcast */
};

static int v4_forbidden(uint32_t a)
{
    for (size_t i = 0; i < sizeof(V4_FORBIDDEN) / sizeof(V4_FORBIDDEN[0]); i++)
        if ((a & V4_FORBIDDEN[i].mask) == V4_FORBIDDEN[i].net)
            return 1;
    return 0;
}

static uint32_t v4_at(const uint8_t *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | (uint32_t)p[3];
}

static int v6_forbidden(const uint8_t *b)
{
    static const uint8_t zeros[12] = {0};
    static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    static const uint8_t nat64[12] = {0, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0};
    /* IPv4 carried inside IPv6 is judged as IPv4 (:: and ::1 fall in 0/8) */
    if (memcmp(b, zeros, 12) == 0 || memcmp(b, mapped, 12) == 0 || memcmp(b, nat64, 12) == 0)
        return v4_forbidden(v4_at(b + 12));
    if (b[0] == 0x20 && b[1] == 0x02) /* 6to4: 2002:AABB:CCDD::/48 */
        return v4_forbidden(v4_at(b + 2));
    if (b[0] == 0x00 && b[1] == 0x64 && b[2] == 0xff && b[3] == 0x9b && b[4] == 0x00 && b[5] == 0x01)
        return 1; /* 64:ff9b:1::/48 local-use NAT64 */
    if (b[0] == 0x01 && b[1] == 0x00 && memcmp(b + 2, zeros, 6) == 0)
        return 1; /* 100::/64 discard-only */
    if (b[0] == 0x20 && b[1] == 0x01 && b[2] < 0x02)
        return 1; /* 2001::/23 IETF protocol assignments (Teredo, ORCHID, ...) */
    if (b[0] == 0x20 && b[1] == 0x01 && b[2] == 0x0d && b[3] == 0xb8)
        return 1; /* 2001:db8::/32 documentation */
    if ((b[0] & 0xfe) == 0xfc)
        return 1; /* fc00::/7 unique local */
    if (b[0] == 0xfe && (b[1] & 0xc0) == 0x80)
        return 1; /* fe80::/10 link-local */
    if (b[0] == 0xfe && (b[1] & 0xc0) == 0xc0)
        return 1; /* fec0::/10 site-local (deprecated) */
    if (b[0] == 0xff)
        return 1; /* multicast */
    return 0;
}

int fg_webhook_addr_forbidden(const struct sockaddr *addr)
{
    if (addr->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)addr;
        return v4_forbidden(ntohl(in->sin_addr.s_addr));
    }
    if (addr->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)addr;
        return v6_forbidden(in6->sin6_addr.s6_addr);
    }
    return 1; /* unix sockets and anything else: never */
}

static int url_fail(const char **code, char *msg, size_t cap, const char *c, const char *text)
{
    *code = c;
    snprintf(msg, cap, "%s", text);
    return FG_EINVALID;
}

/* A name every resolver answers with loopback (RFC 6761). */
static int is_localhost(const char *host, size_t n)
{
    static const char NAME[] = "localhost";
    size_t k = sizeof(NAME) - 1;
    if (n > 0 && host[n - 1] == '.')
        n--; /* "localhost." */
    return n >= k && strncasecmp(host + n - k, NAME, k) == 0 && (n == k || host[n - k - 1] == '.');
}

/* RFC 1035 §2.3.4: a name is at most 255 octets on the wire, which is 253
 * characters as text (no trailing dot); a label at most 63. */
#define DNS_NAME_MAX 253
#define DNS_LABEL_MAX 63

/* A host name a resolver can look up (RFC 1123 §2.1): dot-separated labels
 * of 1..DNS_LABEL_MAX letters, digits and hyphens, none starting or ending
 * with a hyphen, DNS_NAME_MAX in all; one trailing dot (the root) allowed. */
static int dns_name_valid(const char *name, size_t n)
{
    if (n > 0 && name[n - 1] == '.')
        n--;
    if (n == 0 || n > DNS_NAME_MAX)
        return 0;
    size_t label = 0;
    for (size_t i = 0; i <= n; i++) {
        if (i == n || name[i] == '.') {
            if (label == 0 || label > DNS_LABEL_MAX || name[i - 1] == '-')
                return 0;
            label = 0;
        } else if (isalnum((unsigned char)name[i]) || (name[i] == '-' && label > 0)) {
            label++;
        } else {
            return 0;
        }
    }
    return 1;
}

/* Refuses a host that is a forbidden address (an IP literal, in any form
 * the resolver takes: 2130706433, 0x7f.0.0.1, [::ffff:127.0.0.1]) or
 * localhost.  A name is not resolved here: a resolver that never answers
 * would hold the database worker of the request (glibc waits 10 s and
 * more), and the delivery judges the very address it connects to
 * (fg_webhook_addr_forbidden at connect), which a name resolved now could
 * change before (DNS rebinding) anyway. */
static int check_host(const char *host, int allow_private, const char **code, char *msg, size_t cap)
{
    char bare[256];
    size_t n = strlen(host);
    if (n >= 2 && host[0] == '[' && host[n - 1] == ']') { /* IPv6 literal */
        host++;
        n -= 2;
    }
    if (n == 0 || n >= sizeof(bare))
        return url_fail(code, msg, cap, "invalid_url", "the URL's host is not valid");
    memcpy(bare, host, n);
    bare[n] = '\0';
    if (is_localhost(bare, n)) {
        if (allow_private)
            return 0;
        return url_fail(code, msg, cap, "url_not_allowed", "the URL's host is a loopback name");
    }
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICHOST};
    struct addrinfo *res = NULL;
    if (getaddrinfo(bare, NULL, &hints, &res) != 0 || res == NULL) {
        /* a name: judged at each delivery's connect, but only one a resolver
         * could ever answer ("-", "a..b" would fail every delivery for days) */
        if (!dns_name_valid(bare, n))
            return url_fail(code, msg, cap, "invalid_url",
                            "the URL's host must be an IP address or a DNS name (labels of letters, digits and "
                            "hyphens)");
        return 0;
    }
    int forbidden = 0;
    for (const struct addrinfo *ai = res; ai != NULL; ai = ai->ai_next)
        forbidden |= fg_webhook_addr_forbidden(ai->ai_addr);
    freeaddrinfo(res);
    if (forbidden && !allow_private)
        return url_fail(code, msg, cap, "url_not_allowed", "the URL's host is a private, loopback or reserved address");
    return 0;
}

int fg_webhook_url_check(const char *url, int allow_private, const char **code, char *msg, size_t msg_cap)
{
    size_t len = strlen(url);
    int rc = FG_EINVALID;
    char *scheme = NULL, *host = NULL, *user = NULL, *password = NULL, *fragment = NULL, *port = NULL;
    if (len == 0 || len > FG_WEBHOOK_URL_MAX)
        return url_fail(code, msg, msg_cap, "invalid_url", "url must be 1 to 2048 bytes");
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)url[i] <= 0x20 || (unsigned char)url[i] >= 0x7f)
            return url_fail(code, msg, msg_cap, "invalid_url", "url must be printable ASCII without spaces");
    CURLU *u = curl_url();
    if (u == NULL)
        fg_oom();
    if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK) {
        rc = url_fail(code, msg, msg_cap, "invalid_url", "url is not an absolute http(s) URL");
        goto Exit;
    }
    if (strcmp(scheme, "https") != 0 && !(allow_private && strcmp(scheme, "http") == 0)) {
        rc = url_fail(code, msg, msg_cap, "url_not_allowed",
                      allow_private ? "url must use https or http" : "url must use https");
        goto Exit;
    }
    /* curl reads "https:///x" as host x; what is stored and sent is the text, which names no host */
    size_t scheme_len = strlen(scheme);
    if (strncmp(url + scheme_len, "://", 3) != 0 || strchr("/?#", url[scheme_len + 3]) != NULL) {
        rc = url_fail(code, msg, msg_cap, "invalid_url", "url must name a host: scheme://host/path");
        goto Exit;
    }
    if (curl_url_get(u, CURLUPART_USER, &user, 0) == CURLUE_OK ||
        curl_url_get(u, CURLUPART_PASSWORD, &password, 0) == CURLUE_OK) {
        rc = url_fail(code, msg, msg_cap, "invalid_url", "url must not carry a user name or password");
        goto Exit;
    }
    if (curl_url_get(u, CURLUPART_FRAGMENT, &fragment, 0) == CURLUE_OK) {
        rc = url_fail(code, msg, msg_cap, "invalid_url", "url must not have a fragment");
        goto Exit;
    }
    /* a port, when given, is 1..65535 (curl takes "0", and the delivery could never connect) */
    if (curl_url_get(u, CURLUPART_PORT, &port, 0) == CURLUE_OK && (atol(port) < 1 || atol(port) > 65535)) {
        rc = url_fail(code, msg, msg_cap, "invalid_url", "the URL's port must be 1 to 65535");
        goto Exit;
    }
    rc = check_host(host, allow_private, code, msg, msg_cap);
Exit:
    curl_free(port);
    curl_free(scheme);
    curl_free(host);
    curl_free(user);
    curl_free(password);
    curl_free(fragment);
    curl_url_cleanup(u);
    return rc;
}
