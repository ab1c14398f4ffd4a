/*
 * text.c - UTF-8 validation, JSON nesting depth, printable ASCII, RFC 3339
 * timestamps and the wall clock.
 */
#include "core/text.h"

#include <assert.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include "core/buf.h"

#define MS_PER_SECOND 1000
#define SECONDS_PER_MINUTE 60
#define MINUTES_PER_HOUR 60

/* ---- UTF-8 --------------------------------------------------------------- */

#define UNICODE_MAX 0x10FFFFu
#define SURROGATE_FIRST 0xD800u
#define SURROGATE_LAST 0xDFFFu

static bool is_continuation(unsigned char c) { return (c & 0xC0u) == 0x80u; }

int fg_utf8_decode(const char *s, size_t n, uint32_t *code_point)
{
    assert(s != NULL && n >= 1 && code_point != NULL);
    const unsigned char *u = (const unsigned char *)s;
    /* Smallest code point per sequence length, to reject overlong forms. */
    static const uint32_t min_for_len[5] = {0, 0, 0x80, 0x800, 0x10000};
    int len;
    uint32_t cp;
    if (u[0] < 0x80) {
        *code_point = u[0];
        return 1;
    } else if ((u[0] & 0xE0u) == 0xC0u) {
        len = 2, cp = u[0] & 0x1Fu;
    } else if ((u[0] & 0xF0u) == 0xE0u) {
        len = 3, cp = u[0] & 0x0Fu;
    } else if ((u[0] & 0xF8u) == 0xF0u) {
        len = 4, cp = u[0] & 0x07u;
    } else {
        return 0; /* continuation byte or 0xF8..0xFF */
    }
    if (n < (size_t)len)
        return 0;
    for (int i = 1; i < len; i++) {
        if (!is_continuation(u[i]))
            return 0;
        cp = cp << 6 | (u[i] & 0x3Fu);
    }
    if (cp < min_for_len[len] || cp > UNICODE_MAX || (cp >= SURROGATE_FIRST && cp <= SURROGATE_LAST))
        return 0;
    *code_point = cp;
    return len;
}

int fg_utf8_valid(const char *s, size_t n)
{
    assert(s != NULL || n == 0);
    for (size_t i = 0; i < n;) {
        uint32_t cp;
        int len = fg_utf8_decode(s + i, n - i, &cp);
        if (len == 0)
            return 0;
        i += (size_t)len;
    }
    return 1;
}

size_t fg_utf8_length(const char *s, size_t n)
{
    assert(s != NULL || n == 0);
    size_t count = 0;
    for (size_t i = 0; i < n; i++)
        count += !is_continuation((unsigned char)s[i]);
    return count;
}

size_t fg_utf8_prefix(const char *s, size_t n, size_t max)
{
    assert(s != NULL || n == 0);
    if (n <= max)
        return n;
    size_t i = max; /* s[max] exists: the first byte cut off, or part of the character it is in */
    while (i > 0 && is_continuation((unsigned char)s[i]))
        i--;
    return i;
}

/* ---- JSON nesting and ASCII ---------------------------------------------- */

int fg_json_shape(const char *s, size_t n, int max_depth, int *comment)
{
    assert(s != NULL || n == 0);
    assert(max_depth >= 0 && max_depth < INT_MAX);
    int depth = 0, deepest = 0;
    bool in_string = false;
    if (comment != NULL)
        *comment = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (in_string) {
            if (c == '\\')
                i++; /* the escaped character cannot end the string */
            else if (c == '"')
                in_string = false;
        } else if (c == '"') {
            in_string = true;
        } else if (c == '[' || c == '{') {
            if (++depth > max_depth)
                return max_depth + 1;
            if (depth > deepest)
                deepest = depth;
        } else if ((c == ']' || c == '}') && depth > 0) {
            depth--;
        } else if (c == '/' && comment != NULL) {
            *comment = 1;
            return deepest;
        }
    }
    return deepest;
}

int fg_json_depth(const char *s, size_t n, int max_depth) { return fg_json_shape(s, n, max_depth, NULL); }

int fg_json_has_comment(const char *s, size_t n)
{
    int comment;
    fg_json_shape(s, n, INT_MAX - 1, &comment);
    return comment;
}

int fg_printable_ascii(const char *s, size_t n, size_t max)
{
    if (n == 0 || n > max)
        return 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < 0x20 || s[i] > 0x7e)
            return 0;
    }
    return 1;
}

int fg_bank_account_key(const char *s, size_t n, char *out, size_t cap, size_t max)
{
    assert(max < cap);
    size_t len = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == ' ' || c == '.' || c == '-')
            continue;
        if (!((c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')) || len == max)
            return -1;
        out[len++] = c >= 'a' && c <= 'z' ? (char)(c - 'a' + 'A') : c;
    }
    out[len] = '\0';
    return len > 0 ? (int)len : -1;
}

/* ---- RFC 3339 ------------------------------------------------------------ */

/* "YYYY-MM-DDTHH:MM:SS" */
#define RFC3339_DATE_TIME_LEN 19
/* "+HH:MM" */
#define RFC3339_OFFSET_LEN 6

/* Reads exactly count decimal digits at s into *value. */
static bool read_digits(const char *s, int count, int *value)
{
    int v = 0;
    for (int i = 0; i < count; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        v = v * 10 + (s[i] - '0');
    }
    *value = v;
    return true;
}

static bool is_leap_year(int year) { return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0; }

static int days_in_month(int year, int month)
{
    static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return month == 2 && is_leap_year(year) ? 29 : days[month - 1];
}

/* Parses "YYYY-MM-DDTHH:MM:SS" into *tm, checking every range. */
static bool parse_date_time(const char *s, struct tm *tm)
{
    int year, month, day, hour, minute, second;
    if (!read_digits(s, 4, &year) || s[4] != '-' || !read_digits(s + 5, 2, &month) || s[7] != '-' ||
        !read_digits(s + 8, 2, &day) || (s[10] != 'T' && s[10] != 't') || !read_digits(s + 11, 2, &hour) ||
        s[13] != ':' || !read_digits(s + 14, 2, &minute) || s[16] != ':' || !read_digits(s + 17, 2, &second))
        return false;
    /* Leap seconds (":60") are refused: nothing we talk to sends them. */
    if (month < 1 || month > 12 || day < 1 || day > days_in_month(year, month) || hour > 23 || minute > 59 ||
        second > 59)
        return false;
    *tm = (struct tm){.tm_year = year - 1900,
                      .tm_mon = month - 1,
                      .tm_mday = day,
                      .tm_hour = hour,
                      .tm_min = minute,
                      .tm_sec = second};
    return true;
}

/* Parses "Z" or "+HH:MM"/"-HH:MM" filling exactly n bytes; offset east of UTC. */
static bool parse_offset(const char *s, size_t n, int *offset_s)
{
    if (n == 1 && (s[0] == 'Z' || s[0] == 'z')) {
        *offset_s = 0;
        return true;
    }
    int hours, minutes;
    if (n != RFC3339_OFFSET_LEN || (s[0] != '+' && s[0] != '-') || !read_digits(s + 1, 2, &hours) || s[3] != ':' ||
        !read_digits(s + 4, 2, &minutes) || hours > 23 || minutes > 59)
        return false;
    int offset = (hours * MINUTES_PER_HOUR + minutes) * SECONDS_PER_MINUTE;
    *offset_s = s[0] == '-' ? -offset : offset;
    return true;
}

int fg_time_parse_rfc3339(const char *s, size_t n, int64_t *out_ms)
{
    assert(s != NULL || n == 0);
    struct tm tm;
    if (n < RFC3339_DATE_TIME_LEN + 1 || !parse_date_time(s, &tm))
        return FG_EINVALID;
    size_t i = RFC3339_DATE_TIME_LEN;
    int fraction_ms = 0;
    if (s[i] == '.') {
        size_t start = ++i;
        for (; i < n && s[i] >= '0' && s[i] <= '9'; i++) {
            if (i - start < 3)
                fraction_ms = fraction_ms * 10 + (s[i] - '0');
        }
        if (i == start)
            return FG_EINVALID;
        for (size_t digits = i - start; digits < 3; digits++)
            fraction_ms *= 10;
    }
    int offset_s;
    if (!parse_offset(s + i, n - i, &offset_s))
        return FG_EINVALID;
    int64_t seconds = (int64_t)timegm(&tm) - offset_s;
    *out_ms = seconds * MS_PER_SECOND + fraction_ms;
    return 0;
}

int fg_time_format_rfc3339(int64_t ms, int with_ms, char *buf, size_t cap)
{
    assert(buf != NULL && cap >= 32);
    int64_t seconds = ms / MS_PER_SECOND;
    int64_t millis = ms % MS_PER_SECOND;
    if (millis < 0) {
        millis += MS_PER_SECOND;
        seconds--;
    }
    time_t t = (time_t)seconds;
    struct tm tm;
    if (gmtime_r(&t, &tm) == NULL) {
        buf[0] = '\0';
        return FG_ERANGE; /* the year does not fit an int */
    }
    int len;
    if (with_ms)
        len = snprintf(buf, cap, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                       tm.tm_hour, tm.tm_min, tm.tm_sec, (int)millis);
    else
        len = snprintf(buf, cap, "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                       tm.tm_hour, tm.tm_min, tm.tm_sec);
    assert(len > 0 && (size_t)len < cap);
    return len;
}

int64_t fg_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * MS_PER_SECOND + ts.tv_nsec / (1000 * 1000);
}

static int hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

char *fg_form_decode(const char *s, size_t n, size_t *len)
{
    char *out = fg_malloc(n + 1);
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        int hi, lo;
        if (s[i] == '+') {
            out[o++] = ' ';
        } else if (s[i] == '%' && i + 2 < n && (hi = hex_digit(s[i + 1])) >= 0 && (lo = hex_digit(s[i + 2])) >= 0) {
            out[o++] = (char)(hi << 4 | lo);
            i += 2;
        } else {
            out[o++] = s[i];
        }
    }
    out[o] = '\0';
    if (len != NULL)
        *len = o;
    return out;
}

void fg_sleep_ms(int64_t ms)
{
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

const char *fg_headers_get(const char *headers, size_t len, const char *name, fg_buf_t *scratch)
{
    size_t n = strlen(name);
    const char *p = headers, *end = headers + len;
    while (p != NULL && p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *line_end = nl != NULL ? nl : end;
        if ((size_t)(line_end - p) > n + 1 && memcmp(p, name, n) == 0 && p[n] == ':' && p[n + 1] == ' ') {
            fg_buf_reset(scratch);
            fg_buf_append(scratch, p + n + 2, (size_t)(line_end - p - n - 2));
            return scratch->data;
        }
        p = nl != NULL ? nl + 1 : NULL;
    }
    return NULL;
}

char *fg_list_next(const char **p)
{
    while (**p != '\0') {
        const char *at = *p, *comma = strchr(at, ','), *end = comma != NULL ? comma : at + strlen(at);
        *p = comma != NULL ? comma + 1 : end;
        while (at < end && *at == ' ')
            at++;
        size_t n = (size_t)(end - at);
        while (n > 0 && at[n - 1] == ' ')
            n--;
        if (n > 0)
            return fg_strndup(at, n);
    }
    return NULL;
}
