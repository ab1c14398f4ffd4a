/*
 * csvw.c - RFC 4180 output with a BOM (csvw.h).
 */
#include "core/csvw.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

void fg_csv_header(fg_buf_t *b, const char *const *names)
{
    fg_buf_puts(b, FG_CSV_BOM);
    for (size_t i = 0; names[i] != NULL; i++)
        fg_csv_cstr(b, i > 0, names[i]);
    fg_csv_end_row(b);
}

void fg_csv_text(fg_buf_t *b, int comma, const char *s, size_t n)
{
    if (comma)
        fg_buf_putc(b, ',');
    if (s == NULL || n == 0)
        return;
    int formula = s[0] == '=' || s[0] == '+' || s[0] == '-' || s[0] == '@' || s[0] == '\t' || s[0] == '\r';
    int quote = 0;
    for (size_t i = 0; i < n && !quote; i++)
        quote = s[i] == ',' || s[i] == '"' || s[i] == '\r' || s[i] == '\n';
    if (quote)
        fg_buf_putc(b, '"');
    if (formula)
        fg_buf_putc(b, '\'');
    size_t from = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] != '"')
            continue;
        fg_buf_append(b, s + from, i + 1 - from); /* the quote, then its double */
        fg_buf_putc(b, '"');
        from = i + 1;
    }
    fg_buf_append(b, s + from, n - from);
    if (quote)
        fg_buf_putc(b, '"');
}

void fg_csv_cstr(fg_buf_t *b, int comma, const char *s) { fg_csv_text(b, comma, s, s != NULL ? strlen(s) : 0); }

void fg_csv_int(fg_buf_t *b, int comma, int64_t v)
{
    char tmp[24];
    int n = snprintf(tmp, sizeof(tmp), "%" PRId64, v);
    if (comma)
        fg_buf_putc(b, ',');
    fg_buf_append(b, tmp, (size_t)n);
}

void fg_csv_end_row(fg_buf_t *b) { fg_buf_append(b, "\r\n", 2); }
