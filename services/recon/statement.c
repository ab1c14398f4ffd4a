/*
 * statement.c - statement formats by name, Content-Type and first bytes,
 * and the parser that dispatches to each format's reader.
 */
#include "recon/statement_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "core/day.h"
#include "core/text.h"

struct fg_stmt_parser {
    const fg_stmt_reader_t *reader;
    void *state;
    fg_stmt_sink_t sink;
    int failed;
};

static const char *const NAMES[FG_STMT_FORMAT_COUNT] = {"camt.053", "camt.054", "mt940", "csv", "csv-vn"};

static const struct {
    const char *name;
    fg_stmt_format_t format;
} ALIASES[] = {
    {"camt.053", FG_STMT_CAMT053}, {"camt053", FG_STMT_CAMT053}, {"camt.054", FG_STMT_CAMT054},
    {"camt054", FG_STMT_CAMT054},  {"mt940", FG_STMT_MT940},     {"swift-mt940", FG_STMT_MT940},
    {"csv", FG_STMT_CSV},          {"csv-vn", FG_STMT_CSV_VN},   {"csv-vcb", FG_STMT_CSV_VN},
};

const char *fg_stmt_format_name(fg_stmt_format_t f) { return (unsigned)f < FG_STMT_FORMAT_COUNT ? NAMES[f] : "?"; }

int fg_stmt_format_parse(const char *text, size_t len, fg_stmt_format_t *out)
{
    for (size_t i = 0; i < sizeof(ALIASES) / sizeof(ALIASES[0]); i++)
        if (strlen(ALIASES[i].name) == len && strncasecmp(ALIASES[i].name, text, len) == 0) {
            *out = ALIASES[i].format;
            return 0;
        }
    return FG_EINVALID;
}

/* The media type of a Content-Type value, lower-cased, without parameters. */
static void media_type(const char *value, char *out, size_t cap)
{
    size_t n = 0;
    while (*value == ' ')
        value++;
    for (; *value != '\0' && *value != ';' && *value != ' ' && n + 1 < cap; value++)
        out[n++] = (char)((*value >= 'A' && *value <= 'Z') ? *value + 32 : *value);
    out[n] = '\0';
}

int fg_stmt_format_from_content_type(const char *value, fg_stmt_format_t *out)
{
    char type[64];
    if (value == NULL)
        return FG_ENOTFOUND;
    media_type(value, type, sizeof(type));
    if (strcmp(type, "application/vnd.swift.mt940") == 0 || strcmp(type, "text/x-mt940") == 0) {
        *out = FG_STMT_MT940;
        return 0;
    }
    if (strcmp(type, "text/csv") == 0) {
        const char *profile = strstr(value, "profile=");
        *out = profile != NULL && (strncasecmp(profile + 8, "vn", 2) == 0 || strncasecmp(profile + 8, "\"vn", 3) == 0)
                   ? FG_STMT_CSV_VN
                   : FG_STMT_CSV;
        return 0;
    }
    if (strcmp(type, "application/xml") == 0 || strcmp(type, "text/xml") == 0 ||
        strcmp(type, "application/octet-stream") == 0 || strcmp(type, "text/plain") == 0 || type[0] == '\0')
        return FG_ENOTFOUND;
    return FG_EINVALID;
}

static int contains(const char *head, size_t len, const char *needle)
{
    size_t n = strlen(needle);
    for (size_t i = 0; i + n <= len; i++)
        if (memcmp(head + i, needle, n) == 0)
            return 1;
    return 0;
}

/* An MT940 tag (":20:") at the start of a line: inside a line it is any
 * text's, a time of day ("09:20:11") in a CSV export's date cells among them. */
static int tag_at_line_start(const char *head, size_t len, const char *tag)
{
    char after_newline[8];
    size_t n = strlen(tag);
    snprintf(after_newline, sizeof(after_newline), "\n%s", tag);
    return (len >= n && memcmp(head, tag, n) == 0) || contains(head, len, after_newline);
}

int fg_stmt_format_sniff(const char *head, size_t len, fg_stmt_format_t *out)
{
    size_t skip = 0;
    if (len >= 3 && memcmp(head, "\xEF\xBB\xBF", 3) == 0)
        skip = 3; /* a UTF-8 byte order mark */
    head += skip;
    len -= skip;
    if (len > FG_STMT_SNIFF_MAX) /* a file says what it is at its start: a 64 MiB upload is not read through */
        len = FG_STMT_SNIFF_MAX;
    if (contains(head, len, "camt.053.001.") || contains(head, len, "<BkToCstmrStmt")) {
        *out = FG_STMT_CAMT053;
    } else if (contains(head, len, "camt.054.001.") || contains(head, len, "<BkToCstmrDbtCdtNtfctn")) {
        *out = FG_STMT_CAMT054;
    } else if (tag_at_line_start(head, len, ":20:") &&
               (tag_at_line_start(head, len, ":25:") || tag_at_line_start(head, len, ":60F:"))) {
        *out = FG_STMT_MT940;
    } else if (contains(head, len, "Opening balance") || contains(head, len, "STATEMENT OF ACCOUNT") ||
               contains(head, len,
                        "Ng\xC3\xA0y giao d\xE1\xBB\x8B"
                        "ch")) {
        *out = FG_STMT_CSV_VN;
    } else if (len >= 7 && memcmp(head, "account", 7) == 0) {
        *out = FG_STMT_CSV;
    } else {
        return FG_ENOTFOUND;
    }
    return 0;
}

int fg_stmt_fail(fg_stmt_error_t *err, uint32_t line, const char *element, const char *fmt, ...)
{
    va_list ap;
    err->line = line;
    snprintf(err->element, sizeof(err->element), "%s", element != NULL ? element : "");
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof(err->message), fmt, ap);
    va_end(ap);
    return FG_EINVALID;
}

const char *fg_stmt_excerpt(const char *s, size_t n, char out[40])
{
    size_t k = 0;
    for (; k < n && k < 32; k++)
        out[k] = s[k] >= 0x20 && s[k] < 0x7f && s[k] != '"' ? s[k] : '?';
    if (n > 32)
        out[k++] = '.', out[k++] = '.', out[k++] = '.';
    out[k] = '\0';
    return out;
}

int fg_stmt_account(const char *s, size_t n, char out[FG_STMT_ACCOUNT_MAX + 1], uint32_t line, const char *element,
                    const char *what, fg_stmt_error_t *err)
{
    char shown[40], at[24] = "";
    if (fg_bank_account_key(s, n, out, FG_STMT_ACCOUNT_MAX + 1, FG_STMT_ACCOUNT_MAX) > 0)
        return 0;
    if (line > 0)
        snprintf(at, sizeof(at), "line %u: ", (unsigned)line);
    return fg_stmt_fail(err, line, element,
                        "%s%s \"%s\" is not an account number: 1 to %d letters and digits (spaces, dots and dashes "
                        "aside)",
                        at, what, fg_stmt_excerpt(s, n, shown), FG_STMT_ACCOUNT_MAX);
}

int fg_stmt_date(int y, int m, int d, int32_t *out) { return fg_day_make(y, m, d, out) == 0 ? 0 : FG_EINVALID; }

fg_stmt_parser_t *fg_stmt_parser_new(fg_stmt_format_t format, const fg_stmt_sink_t *sink)
{
    fg_stmt_parser_t *p = calloc(1, sizeof(*p));
    if (p == NULL)
        return NULL;
    p->sink = *sink;
    p->reader = format == FG_STMT_CAMT053 || format == FG_STMT_CAMT054 ? &fg_stmt_camt_reader
                : format == FG_STMT_MT940                              ? &fg_stmt_mt940_reader
                                                                       : &fg_stmt_csv_reader;
    if ((p->state = p->reader->create(format, &p->sink)) == NULL) {
        free(p);
        return NULL;
    }
    return p;
}

int fg_stmt_parser_feed(fg_stmt_parser_t *p, const char *data, size_t len, fg_stmt_error_t *err)
{
    if (p->failed)
        return fg_stmt_fail(err, 0, NULL, "the parser stopped at an earlier error");
    int rc = p->reader->feed(p->state, data, len, err);
    p->failed = rc != 0;
    return rc;
}

int fg_stmt_parser_finish(fg_stmt_parser_t *p, fg_stmt_error_t *err)
{
    if (p->failed)
        return fg_stmt_fail(err, 0, NULL, "the parser stopped at an earlier error");
    int rc = p->reader->finish(p->state, err);
    p->failed = 1;
    return rc;
}

void fg_stmt_parser_free(fg_stmt_parser_t *p)
{
    if (p == NULL)
        return;
    p->reader->destroy(p->state);
    free(p);
}

int fg_stmt_parse(fg_stmt_format_t format, const char *data, size_t len, const fg_stmt_sink_t *sink,
                  fg_stmt_error_t *err)
{
    fg_stmt_parser_t *p = fg_stmt_parser_new(format, sink);
    if (p == NULL)
        return FG_ENOMEM;
    int rc = fg_stmt_parser_feed(p, data, len, err);
    if (rc == 0)
        rc = fg_stmt_parser_finish(p, err);
    fg_stmt_parser_free(p);
    return rc;
}
