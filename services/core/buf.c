/*
 * buf.c - allocation that aborts on failure, a growable byte buffer, and the
 * JSON writing helpers.
 */
#include "core/buf.h"

#include <assert.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/text.h"

/* The first allocation of a buffer: most JSON responses fit, so one malloc. */
#define BUF_INITIAL_CAP 256

/* ---- allocation ---------------------------------------------------------- */

_Noreturn void fg_oom(void)
{
    static const char message[] = "feegate: out of memory\n";
    fputs(message, stderr);
    abort();
}

/* malloc(0) may return NULL; every allocation here asks for at least 1 byte
 * so NULL always means failure. */
static size_t nonzero(size_t n) { return n == 0 ? 1 : n; }

void *fg_malloc(size_t n)
{
    void *p = malloc(nonzero(n));
    if (p == NULL)
        fg_oom();
    return p;
}

void *fg_calloc(size_t n, size_t size)
{
    void *p = calloc(nonzero(n), nonzero(size));
    if (p == NULL)
        fg_oom();
    return p;
}

void *fg_realloc(void *p, size_t n)
{
    void *q = realloc(p, nonzero(n));
    if (q == NULL)
        fg_oom();
    return q;
}

char *fg_strdup(const char *s)
{
    assert(s != NULL);
    return fg_strndup(s, strlen(s));
}

char *fg_strndup(const char *s, size_t n)
{
    assert(s != NULL || n == 0);
    size_t len = s != NULL ? strnlen(s, n) : 0;
    if (len == SIZE_MAX)
        fg_oom();
    char *p = fg_malloc(len + 1);
    if (len > 0)
        memcpy(p, s, len);
    p[len] = '\0';
    return p;
}

/* ---- buffer -------------------------------------------------------------- */

void fg_buf_reserve(fg_buf_t *b, size_t extra)
{
    assert(b != NULL);
    size_t need;
    /* len + extra + the NUL that always follows the data */
    if (__builtin_add_overflow(b->len, extra, &need) || __builtin_add_overflow(need, 1, &need))
        fg_oom();
    if (need <= b->cap)
        return;
    size_t cap = b->cap < BUF_INITIAL_CAP ? BUF_INITIAL_CAP : b->cap;
    while (cap < need) {
        if (__builtin_mul_overflow(cap, 2, &cap))
            cap = need;
    }
    b->data = fg_realloc(b->data, cap);
    b->cap = cap;
    b->data[b->len] = '\0';
}

void fg_buf_append(fg_buf_t *b, const void *p, size_t n)
{
    assert(p != NULL || n == 0);
    fg_buf_reserve(b, n);
    if (n > 0)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
}

void fg_buf_puts(fg_buf_t *b, const char *s)
{
    assert(s != NULL);
    fg_buf_append(b, s, strlen(s));
}

void fg_buf_putc(fg_buf_t *b, char c) { fg_buf_append(b, &c, 1); }

void fg_buf_printf(fg_buf_t *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fg_buf_reserve(b, 0);
    size_t room = b->cap - b->len;
    int n = vsnprintf(b->data + b->len, room, fmt, ap);
    va_end(ap);
    if (n < 0)
        fg_oom(); /* glibc fails only when it cannot allocate */
    if ((size_t)n >= room) {
        fg_buf_reserve(b, (size_t)n);
        va_start(ap, fmt);
        vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
        va_end(ap);
    }
    b->len += (size_t)n;
}

void fg_buf_reset(fg_buf_t *b)
{
    assert(b != NULL);
    b->len = 0;
    if (b->cap > 0)
        b->data[0] = '\0';
}

void fg_buf_free(fg_buf_t *b)
{
    assert(b != NULL);
    free(b->data);
    *b = (fg_buf_t)FG_BUF_INIT;
}

char *fg_buf_steal(fg_buf_t *b, size_t *len)
{
    fg_buf_reserve(b, 0); /* a never-used buffer still hands out "" */
    char *data = b->data;
    if (len != NULL)
        *len = b->len;
    *b = (fg_buf_t)FG_BUF_INIT;
    return data;
}

/* ---- JSON ---------------------------------------------------------------- */

#define LINE_SEPARATOR 0x2028u
#define PARAGRAPH_SEPARATOR 0x2029u

/* The escape for an ASCII byte, or NULL if it goes out as it is. */
static const char *ascii_escape(unsigned char c, char scratch[8])
{
    switch (c) {
    case '"': return "\\\"";
    case '\\': return "\\\\";
    case '\n': return "\\n";
    case '\r': return "\\r";
    case '\t': return "\\t";
    case '\b': return "\\b";
    case '\f': return "\\f";
    default: break;
    }
    if (c >= 0x20)
        return NULL;
    snprintf(scratch, 8, "\\u%04x", c);
    return scratch;
}

void fg_json_str(fg_buf_t *b, const char *s, size_t n)
{
    assert(s != NULL || n == 0);
    fg_buf_reserve(b, n + 2);
    fg_buf_putc(b, '"');
    size_t plain = 0; /* start of the bytes not yet copied */
    for (size_t i = 0; i < n;) {
        char scratch[8];
        const char *escape = NULL;
        size_t len = 1;
        if ((unsigned char)s[i] < 0x80) {
            escape = ascii_escape((unsigned char)s[i], scratch);
        } else {
            uint32_t cp;
            int seq = fg_utf8_decode(s + i, n - i, &cp);
            /* Malformed bytes become U+FFFD so the output is always valid
             * JSON; U+2028/9 are escaped because JavaScript forbids them raw. */
            if (seq == 0)
                escape = "\\ufffd";
            else if (cp == LINE_SEPARATOR)
                escape = "\\u2028";
            else if (cp == PARAGRAPH_SEPARATOR)
                escape = "\\u2029";
            len = seq == 0 ? 1 : (size_t)seq;
        }
        if (escape != NULL) {
            fg_buf_append(b, s + plain, i - plain);
            fg_buf_puts(b, escape);
            plain = i + len;
        }
        i += len;
    }
    fg_buf_append(b, s + plain, n - plain);
    fg_buf_putc(b, '"');
}

void fg_json_cstr(fg_buf_t *b, const char *s)
{
    if (s == NULL)
        fg_buf_puts(b, "null");
    else
        fg_json_str(b, s, strlen(s));
}

void fg_json_strn(fg_buf_t *b, const char *s, size_t n)
{
    if (s == NULL)
        fg_buf_puts(b, "null");
    else
        fg_json_str(b, s, n);
}

void fg_json_key(fg_buf_t *b, int comma, const char *key)
{
    assert(key != NULL);
    if (comma)
        fg_buf_putc(b, ',');
    fg_json_str(b, key, strlen(key));
    fg_buf_putc(b, ':');
}

void fg_json_kv_str(fg_buf_t *b, int comma, const char *key, const char *val)
{
    fg_json_key(b, comma, key);
    fg_json_cstr(b, val);
}

void fg_json_kv_strn(fg_buf_t *b, int comma, const char *key, const char *val, size_t n)
{
    fg_json_key(b, comma, key);
    fg_json_strn(b, val, n);
}

void fg_json_kv_int(fg_buf_t *b, int comma, const char *key, int64_t val)
{
    fg_json_key(b, comma, key);
    fg_buf_printf(b, "%" PRId64, val);
}

void fg_json_kv_bool(fg_buf_t *b, int comma, const char *key, int val)
{
    fg_json_key(b, comma, key);
    fg_buf_puts(b, val ? "true" : "false");
}

void fg_json_kv_null(fg_buf_t *b, int comma, const char *key)
{
    fg_json_key(b, comma, key);
    fg_buf_puts(b, "null");
}
