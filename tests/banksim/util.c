/*
 * util.c - buffers, text encodings, HMACs, GMT+7 dates and JSON input for the
 * bank simulator.
 */
#include "banksim.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- memory: out of memory aborts here, in one place ----------------------- */

static void out_of_memory(void)
{
    fputs("banksim: out of memory\n", stderr);
    abort();
}

void *bs_malloc(size_t n)
{
    void *p = malloc(n != 0 ? n : 1);
    if (p == NULL)
        out_of_memory();
    return p;
}

void *bs_calloc(size_t count, size_t n)
{
    void *p = calloc(count != 0 ? count : 1, n != 0 ? n : 1);
    if (p == NULL)
        out_of_memory();
    return p;
}

char *bs_strndup(const char *s, size_t n)
{
    char *p = bs_malloc(n + 1);
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

char *bs_strdup(const char *s) { return bs_strndup(s, strlen(s)); }

/* ---- buffers ---------------------------------------------------------------- */

static void reserve(bs_buf_t *b, size_t extra)
{
    if (b->len + extra + 1 <= b->cap)
        return;
    size_t cap = b->cap != 0 ? b->cap : 256;
    while (cap < b->len + extra + 1)
        cap *= 2;
    char *p = realloc(b->data, cap);
    if (p == NULL)
        out_of_memory();
    b->data = p;
    b->cap = cap;
}

void bs_buf_append(bs_buf_t *b, const void *p, size_t n)
{
    reserve(b, n);
    if (n != 0)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
}

void bs_buf_puts(bs_buf_t *b, const char *s) { bs_buf_append(b, s, strlen(s)); }

void bs_buf_putc(bs_buf_t *b, char c) { bs_buf_append(b, &c, 1); }

void bs_buf_printf(bs_buf_t *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    reserve(b, (size_t)n);
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

const char *bs_buf_cstr(bs_buf_t *b) { return b->data != NULL ? b->data : ""; }

void bs_buf_free(bs_buf_t *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

char *bs_buf_take(bs_buf_t *b)
{
    char *p = b->data != NULL ? b->data : bs_strdup("");
    b->data = NULL;
    b->len = b->cap = 0;
    return p;
}

/* ---- text encodings ----------------------------------------------------------- */

void bs_json_strn(bs_buf_t *b, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    bs_buf_putc(b, '"');
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\') {
            bs_buf_putc(b, '\\');
            bs_buf_putc(b, (char)c);
        } else if (c == '\n') {
            bs_buf_puts(b, "\\n");
        } else if (c == '\r') {
            bs_buf_puts(b, "\\r");
        } else if (c == '\t') {
            bs_buf_puts(b, "\\t");
        } else if (c < 0x20 || c == 0x7f) {
            char u[7] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15], '\0'};
            bs_buf_puts(b, u);
        } else {
            bs_buf_putc(b, (char)c);
        }
    }
    bs_buf_putc(b, '"');
}

void bs_json_str(bs_buf_t *b, const char *s)
{
    if (s == NULL)
        bs_buf_puts(b, "null");
    else
        bs_json_strn(b, s, strlen(s));
}

void bs_xml_escape(bs_buf_t *b, const char *s)
{
    for (; s != NULL && *s != '\0'; s++) {
        switch (*s) {
        case '&': bs_buf_puts(b, "&amp;"); break;
        case '<': bs_buf_puts(b, "&lt;"); break;
        case '>': bs_buf_puts(b, "&gt;"); break;
        case '"': bs_buf_puts(b, "&quot;"); break;
        case '\'': bs_buf_puts(b, "&#39;"); break;
        default:
            /* control characters are not allowed in XML 1.0 text */
            bs_buf_putc(b, (unsigned char)*s < 0x20 ? ' ' : *s);
        }
    }
}

void bs_form_encode(bs_buf_t *b, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    for (; *s != '\0'; s++) {
        unsigned char c = (unsigned char)*s;
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
            c == '.') {
            bs_buf_putc(b, (char)c);
        } else if (c == ' ') {
            bs_buf_putc(b, '+');
        } else {
            char e[3] = {'%', hex[c >> 4], hex[c & 15]};
            bs_buf_append(b, e, 3);
        }
    }
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

char *bs_url_decode(const char *s, size_t n)
{
    char *out = bs_malloc(n + 1);
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        int hi, lo;
        if (s[i] == '+') {
            out[o++] = ' ';
        } else if (s[i] == '%' && i + 2 < n && (hi = hex_value(s[i + 1])) >= 0 && (lo = hex_value(s[i + 2])) >= 0) {
            out[o++] = (char)(hi * 16 + lo);
            i += 2;
        } else {
            out[o++] = s[i];
        }
    }
    out[o] = '\0';
    return out;
}

void bs_params_parse(bs_params_t *p, const char *s, size_t n)
{
    const char *end = s + n;
    p->count = 0;
    while (s < end && p->count < BS_PARAMS_MAX) {
        const char *amp = memchr(s, '&', (size_t)(end - s));
        const char *stop = amp != NULL ? amp : end;
        const char *eq = memchr(s, '=', (size_t)(stop - s));
        const char *name_end = eq != NULL ? eq : stop;
        if (name_end > s) {
            p->names[p->count] = bs_url_decode(s, (size_t)(name_end - s));
            const char *v = eq != NULL ? eq + 1 : stop;
            p->values[p->count] = bs_url_decode(v, (size_t)(stop - v));
            p->count++;
        }
        s = stop + 1;
    }
}

const char *bs_params_get(const bs_params_t *p, const char *name)
{
    for (int i = 0; i < p->count; i++)
        if (strcmp(p->names[i], name) == 0)
            return p->values[i];
    return NULL;
}

void bs_params_free(bs_params_t *p)
{
    for (int i = 0; i < p->count; i++) {
        free(p->names[i]);
        free(p->values[i]);
    }
    p->count = 0;
}

/* ---- crypto ------------------------------------------------------------------ */

static void hmac_hex(const EVP_MD *md, const char *key, const char *msg, size_t len, char *out)
{
    static const char hex[] = "0123456789abcdef";
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int mac_len = 0;
    if (HMAC(md, key, (int)strlen(key), (const unsigned char *)msg, len, mac, &mac_len) == NULL) {
        fputs("banksim: HMAC failed\n", stderr);
        abort();
    }
    for (unsigned int i = 0; i < mac_len; i++) {
        out[2 * i] = hex[mac[i] >> 4];
        out[2 * i + 1] = hex[mac[i] & 15];
    }
    out[2 * mac_len] = '\0';
}

void bs_hmac_sha512_hex(const char *key, const char *msg, size_t len, char out[129])
{
    hmac_hex(EVP_sha512(), key, msg, len, out);
}

void bs_hmac_sha256_hex(const char *key, const char *msg, size_t len, char out[65])
{
    hmac_hex(EVP_sha256(), key, msg, len, out);
}

int bs_equal_ct(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la != lb)
        return 0;
    return CRYPTO_memcmp(a, b, la) == 0;
}

void bs_forge_hex(char *sig)
{
    if (sig[0] != '\0')
        sig[0] = sig[0] == '0' ? '1' : '0';
}

/* ---- time and identifiers ------------------------------------------------------- */

int64_t bs_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void bs_format_gmt7(int64_t ms, const char *fmt, char *out, size_t cap)
{
    time_t t = (time_t)(ms / 1000) + BS_TZ_OFFSET_S;
    struct tm tm;
    gmtime_r(&t, &tm);
    if (strftime(out, cap, fmt, &tm) == 0 && cap > 0)
        out[0] = '\0';
}

void bs_business_date(int64_t ms, char out[11]) { bs_format_gmt7(ms, "%Y-%m-%d", out, 11); }

int bs_date_valid(const char *s)
{
    if (strlen(s) != 10 || s[4] != '-' || s[7] != '-')
        return 0;
    for (int i = 0; i < 10; i++)
        if (i != 4 && i != 7 && (s[i] < '0' || s[i] > '9'))
            return 0;
    static const int month_days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int year = atoi(s), month = (s[5] - '0') * 10 + (s[6] - '0');
    int day = (s[8] - '0') * 10 + (s[9] - '0');
    if (month < 1 || month > 12 || day < 1)
        return 0;
    int leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    return day <= month_days[month - 1] + (month == 2 && leap);
}

/* The sequence starts at the centiseconds since this epoch (about 5e9 in
 * 2025), so a run that starts a second after another skips 100 numbers: a
 * restart reuses none unless the previous run issued more than 100 a second
 * for its whole life. */
#define ID_EPOCH_MS INT64_C(1700000000000)

int64_t bs_next_id(void)
{
    static atomic_llong next;
    long long expected = 0;
    atomic_compare_exchange_strong(&next, &expected, (long long)((bs_now_ms() - ID_EPOCH_MS) / 10));
    return (int64_t)atomic_fetch_add(&next, 1) + 1;
}

int bs_sleep_ms(int64_t ms)
{
    const int64_t step_ms = 10;
    for (int64_t slept = 0; slept < ms; slept += step_ms) {
        if (atomic_load(&bs_stopping))
            return 1;
        int64_t now = ms - slept < step_ms ? ms - slept : step_ms;
        struct timespec ts = {0, (long)now * 1000000L};
        nanosleep(&ts, NULL);
    }
    return atomic_load(&bs_stopping) ? 1 : 0;
}

/* ---- JSON input --------------------------------------------------------------- */

static yajl_val member(yajl_val obj, const char *name)
{
    if (obj == NULL || !YAJL_IS_OBJECT(obj))
        return NULL;
    for (size_t i = 0; i < obj->u.object.len; i++)
        if (strcmp(obj->u.object.keys[i], name) == 0)
            return obj->u.object.values[i];
    return NULL;
}

const char *bs_json_get_str(yajl_val obj, const char *name)
{
    yajl_val v = member(obj, name);
    return v != NULL && YAJL_IS_STRING(v) ? YAJL_GET_STRING(v) : NULL;
}

int bs_json_get_int(yajl_val obj, const char *name, int64_t *out)
{
    yajl_val v = member(obj, name);
    if (v == NULL)
        return -1;
    if (YAJL_IS_INTEGER(v)) {
        *out = YAJL_GET_INTEGER(v);
        return 0;
    }
    if (!YAJL_IS_STRING(v))
        return -1;
    const char *s = YAJL_GET_STRING(v);
    int negative = *s == '-';
    if (negative)
        s++;
    if (*s == '\0' || strlen(s) > 18)
        return -1;
    int64_t n = 0;
    for (; *s != '\0'; s++) {
        if (*s < '0' || *s > '9')
            return -1;
        n = n * 10 + (*s - '0');
    }
    *out = negative ? -n : n;
    return 0;
}

int bs_json_get_bool(yajl_val obj, const char *name, int dflt)
{
    yajl_val v = member(obj, name);
    if (v == NULL)
        return dflt;
    if (YAJL_IS_TRUE(v))
        return 1;
    if (YAJL_IS_FALSE(v))
        return 0;
    return dflt;
}

yajl_val bs_json_parse_object(const char *body, size_t n)
{
    char *copy = bs_strndup(body != NULL ? body : "", n);
    char err[128];
    yajl_val v = yajl_tree_parse(copy, err, sizeof(err));
    free(copy);
    if (v != NULL && !YAJL_IS_OBJECT(v)) {
        yajl_tree_free(v);
        v = NULL;
    }
    return v;
}
