/*
 * protocol.c - protocol text shared by the adapters (see protocol.h).
 */
#include "protocol.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "core/text.h"

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
            p->names[p->count] = fg_form_decode(s, (size_t)(name_end - s), NULL);
            p->values[p->count] = fg_form_decode(v, (size_t)(stop - v), NULL);
            for (int i = 0; i < p->count; i++)
                if (strcmp(p->names[i], p->names[p->count]) == 0) {
                    p->again[i] = p->again[p->count] = 1;
                    if (p->repeated == NULL)
                        p->repeated = p->names[i];
                }
            p->count++;
        }
        s = stop + 1;
    }
}

const char *fg_params_get(const fg_params_t *p, const char *name)
{
    for (int i = 0; i < p->count; i++)
        if (strcmp(p->names[i], name) == 0)
            return p->again[i] ? NULL : p->values[i];
    return NULL;
}

void fg_params_free(fg_params_t *p)
{
    for (int i = 0; i < p->count; i++) {
        free(p->names[i]);
        free(p->values[i]);
    }
    p->count = 0;
    p->repeated = NULL;
}

void fg_format_gmt7(int64_t ms, char out[15])
{
    time_t t = (time_t)(ms / 1000 + FG_GMT7_OFFSET_S);
    struct tm tm;
    if (gmtime_r(&t, &tm) == NULL || strftime(out, 15, "%Y%m%d%H%M%S", &tm) != 14)
        snprintf(out, 15, "00000000000000");
}

/* Days from 1970-01-01 to y-m-d (proleptic Gregorian, y >= 1970). */
static int64_t days_since_epoch(int64_t y, int64_t m, int64_t d)
{
    static const int BEFORE[12] = {0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334};
    int64_t leap_days = (y - 1) / 4 - (y - 1) / 100 + (y - 1) / 400 - (1969 / 4 - 1969 / 100 + 1969 / 400);
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return (y - 1970) * 365 + leap_days + BEFORE[m - 1] + (m > 2 && leap) + d - 1;
}

int fg_parse_gmt7(const char *s, int64_t *ms)
{
    static const int DAYS[12] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int64_t f[6];
    static const int WIDTH[6] = {4, 2, 2, 2, 2, 2};
    if (s == NULL || strlen(s) != 14)
        return FG_EINVALID;
    for (int i = 0, at = 0; i < 6; at += WIDTH[i], i++) {
        f[i] = 0;
        for (int k = 0; k < WIDTH[i]; k++) {
            if (s[at + k] < '0' || s[at + k] > '9')
                return FG_EINVALID;
            f[i] = f[i] * 10 + (s[at + k] - '0');
        }
    }
    int leap = (f[0] % 4 == 0 && f[0] % 100 != 0) || f[0] % 400 == 0;
    if (f[0] < 1970 || f[1] < 1 || f[1] > 12 || f[2] < 1 || f[2] > DAYS[f[1] - 1] ||
        (f[1] == 2 && f[2] == 29 && !leap) || f[3] > 23 || f[4] > 59 || f[5] > 59)
        return FG_EINVALID;
    int64_t seconds = days_since_epoch(f[0], f[1], f[2]) * 86400 + f[3] * 3600 + f[4] * 60 + f[5];
    *ms = (seconds - FG_GMT7_OFFSET_S) * 1000; /* year <= 9999: far inside int64 */
    return 0;
}

int fg_notify_fresh(int64_t at_ms, int64_t now_ms, const char *what, char *reason, size_t cap)
{
    /* now_ms is a clock reading (0 .. a few 10^12): no overflow either way */
    if (at_ms < now_ms - FG_NOTIFY_MAX_AGE_MS) {
        snprintf(reason, cap, "%s is more than 7 days old: a replay", what);
        return FG_EINVALID;
    }
    if (at_ms > now_ms + FG_NOTIFY_MAX_AHEAD_MS) {
        snprintf(reason, cap, "%s is more than 1 hour in the future", what);
        return FG_EINVALID;
    }
    return 0;
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
