/*
 * page.c - ?limit= and ?cursor= (page.h).
 */
#include "core/page.h"

#include <assert.h>

static const char BASE36[] = "0123456789abcdefghijklmnopqrstuvwxyz";

_Static_assert(FG_PAGE_LIMIT_DEFAULT >= 1 && FG_PAGE_LIMIT_DEFAULT <= FG_PAGE_LIMIT_MAX,
               "the default is a valid limit");

static int parse_limit(const char *s, size_t len, int64_t *out)
{
    int64_t n = 0;
    if (len == 0 || len > 3)
        return -1;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        n = n * 10 + (s[i] - '0');
    }
    if (n < 1 || n > FG_PAGE_LIMIT_MAX)
        return -1;
    *out = n;
    return 0;
}

static int parse_cursor(const char *s, size_t len, int64_t *out)
{
    uint64_t n = 0;
    if (len > FG_PAGE_CURSOR_LEN_MAX)
        return -1;
    for (size_t i = 0; i < len; i++) {
        int d;
        if (s[i] >= '0' && s[i] <= '9')
            d = s[i] - '0';
        else if (s[i] >= 'a' && s[i] <= 'z')
            d = s[i] - 'a' + 10;
        else
            return -1;
        if (n > ((uint64_t)INT64_MAX - (uint64_t)d) / 36)
            return -1; /* past INT64_MAX: never one we gave out */
        n = n * 36 + (uint64_t)d;
    }
    if (n == 0)
        return -1;
    *out = (int64_t)n;
    return 0;
}

fg_page_error_t fg_page_parse(const char *limit, size_t limit_len, const char *cursor, size_t cursor_len,
                              fg_page_t *out)
{
    fg_page_t page = {FG_PAGE_LIMIT_DEFAULT, 0};
    if (limit != NULL && parse_limit(limit, limit_len, &page.limit) != 0)
        return FG_PAGE_BAD_LIMIT;
    if (cursor != NULL && cursor_len > 0 && parse_cursor(cursor, cursor_len, &page.cursor) != 0)
        return FG_PAGE_BAD_CURSOR;
    *out = page;
    return FG_PAGE_OK;
}

void fg_page_cursor_json(fg_buf_t *b, int64_t key)
{
    char tmp[FG_PAGE_CURSOR_LEN_MAX], out[FG_PAGE_CURSOR_LEN_MAX + 1];
    int n = 0;
    assert(key > 0);
    for (uint64_t v = (uint64_t)key; v > 0; v /= 36)
        tmp[n++] = BASE36[v % 36];
    for (int i = 0; i < n; i++)
        out[i] = tmp[n - 1 - i];
    out[n] = '\0';
    fg_json_cstr(b, out);
}

void fg_page_close(fg_buf_t *b, int more, int64_t last_key)
{
    fg_buf_puts(b, "],\"next_cursor\":");
    if (more)
        fg_page_cursor_json(b, last_key);
    else
        fg_buf_puts(b, "null");
    fg_buf_putc(b, '}');
}
