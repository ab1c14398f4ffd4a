/*
 * protocol.c - protocol text shared by the adapters (see protocol.h).
 */
#include "protocol.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void fg_form_encode(fg_buf_t *b, const char *s, size_t n)
{
    static const char HEX[] = "0123456789ABCDEF";
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
            c == '.') {
            fg_buf_putc(b, (char)c);
        } else if (c == ' ') {
            fg_buf_putc(b, '+');
        } else {
            char esc[3] = {'%', HEX[c >> 4], HEX[c & 15]};
            fg_buf_append(b, esc, 3);
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

static char *decode(const char *s, size_t n)
{
    char *out = fg_malloc(n + 1);
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        int hi, lo;
        if (s[i] == '+') {
            out[o++] = ' ';
        } else if (s[i] == '%' && i + 2 < n && (hi = hex_value(s[i + 1])) >= 0 &&
                   (lo = hex_value(s[i + 2])) >= 0) {
            out[o++] = (char)(hi << 4 | lo);
            i += 2;
        } else {
            out[o++] = s[i];
        }
    }
    out[o] = '\0';
    return out;
}

void fg_params_parse(fg_params_t *p, const char *s, size_t n)
{
    memset(p, 0, sizeof(*p));
    const char *end = s + n;
    while (s != NULL && s < end) {
        const char *amp = memchr(s, '&', (size_t)(end - s));
        const char *stop = amp != NULL ? amp : end;
        const char *eq = memchr(s, '=', (size_t)(stop - s));
        const char *name_end = eq != NULL ? eq : stop;
        if (name_end > s) {
            if (p->count == FG_PARAMS_MAX) {
                p->truncated = 1;
                break;
            }
            const char *v = eq != NULL ? eq + 1 : stop;
            p->names[p->count] = decode(s, (size_t)(name_end - s));
            p->values[p->count] = decode(v, (size_t)(stop - v));
            p->count++;
        }
        s = stop + 1;
    }
}

const char *fg_params_get(const fg_params_t *p, const char *name)
{
    for (int i = 0; i < p->count; i++)
        if (strcmp(p->names[i], name) == 0)
            return p->values[i];
    return NULL;
}

void fg_params_free(fg_params_t *p)
{
    for (int i = 0; i < p->count; i++) {
        free(p->names[i]);
        free(p->values[i]);
    }
    p->count = 0;
}

void fg_format_gmt7(int64_t ms, char out[15])
{
    time_t t = (time_t)(ms / 1000 + FG_GMT7_OFFSET_S);
    struct tm tm;
    if (gmtime_r(&t, &tm) == NULL || strftime(out, 15, "%Y%m%d%H%M%S", &tm) != 14)
        snprintf(out, 15, "00000000000000");
}

int fg_parse_digits(const char *s, int64_t *out)
{
    int64_t v = 0;
    size_t n = s != NULL ? strlen(s) : 0;
    if (n == 0 || n > 18)
        return FG_EINVALID;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return FG_EINVALID;
        v = v * 10 + (s[i] - '0'); /* 18 digits fit int64 */
    }
    *out = v;
    return 0;
}

int fg_json_text(yajl_val obj, const char *name, char *out, size_t cap)
{
    const char *path[] = {name, NULL};
    yajl_val v = obj != NULL ? yajl_tree_get(obj, path, yajl_t_any) : NULL;
    int n;
    out[0] = '\0';
    if (v != NULL && YAJL_IS_STRING(v))
        n = snprintf(out, cap, "%s", YAJL_GET_STRING(v));
    else if (v != NULL && YAJL_IS_INTEGER(v))
        n = snprintf(out, cap, "%lld", (long long)YAJL_GET_INTEGER(v));
    else
        return FG_ENOTFOUND;
    if (n < 0 || (size_t)n >= cap) {
        out[0] = '\0';
        return FG_ETOOLONG;
    }
    return 0;
}

void fg_hex_lower(char *s)
{
    for (; *s != '\0'; s++)
        if (*s >= 'A' && *s <= 'F')
            *s = (char)(*s + ('a' - 'A'));
}
