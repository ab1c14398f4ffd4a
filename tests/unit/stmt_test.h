/*
 * stmt_test.h - what the statement reader suites share: a sink that records
 * what it is given (the first statements and lines whole, a transcript of
 * everything, counts and sums), feeding a parser in chunks of every shape,
 * and the sample files.
 */
#ifndef FG_TEST_STMT_TEST_H
#define FG_TEST_STMT_TEST_H

#include <check.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "recon/statement.h"

/* The statements and lines a recorder keeps whole; the rest are counted. */
#define REC_STATEMENTS_MAX 4
#define REC_LINES_MAX 8

typedef struct {
    int statements, ends, lines;
    int64_t sum;
    fg_stmt_header_t header[REC_STATEMENTS_MAX], end[REC_STATEMENTS_MAX];
    fg_stmt_line_t line[REC_LINES_MAX];
    int keep_transcript;
    char *transcript;
    size_t transcript_len, transcript_cap;
    int stop_at_line; /* line() returns 99 on this line (1-based), 0: never */
} rec_t;

static inline rec_t *rec_new(void)
{
    rec_t *r = calloc(1, sizeof(*r));
    ck_assert_ptr_nonnull(r);
    r->keep_transcript = 1;
    return r;
}

static inline void rec_free(rec_t *r)
{
    if (r != NULL)
        free(r->transcript);
    free(r);
}

__attribute__((format(printf, 2, 3))) static inline void rec_log(rec_t *r, const char *fmt, ...)
{
    if (!r->keep_transcript)
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    ck_assert_int_ge(n, 0);
    if (r->transcript_len + (size_t)n + 1 > r->transcript_cap) {
        r->transcript_cap = (r->transcript_len + (size_t)n + 1) * 2;
        r->transcript = realloc(r->transcript, r->transcript_cap);
        ck_assert_ptr_nonnull(r->transcript);
    }
    va_start(ap, fmt);
    vsnprintf(r->transcript + r->transcript_len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    r->transcript_len += (size_t)n;
}

static inline void rec_header(rec_t *r, const char *what, const fg_stmt_header_t *h)
{
    rec_log(r,
            "%s id=%s account=%s currency=%s opening=%d:%" PRId64 "@%d closing=%d:%" PRId64
            "@%d period=%d-%d seq=%" PRId64 "\n",
            what, h->id, h->account, h->currency, h->has_opening, h->opening, h->opening_date, h->has_closing,
            h->closing, h->closing_date, h->from_date, h->to_date, h->sequence);
}

static inline int rec_statement(void *arg, const fg_stmt_header_t *h)
{
    rec_t *r = arg;
    if (r->statements < REC_STATEMENTS_MAX)
        r->header[r->statements] = *h;
    r->statements++;
    rec_header(r, "statement", h);
    return 0;
}

static inline int rec_line(void *arg, const fg_stmt_header_t *h, const fg_stmt_line_t *l)
{
    rec_t *r = arg;
    (void)h;
    if (r->lines < REC_LINES_MAX)
        r->line[r->lines] = *l;
    r->lines++;
    r->sum += l->amount;
    rec_log(r,
            "line %u amount=%" PRId64 " reversal=%d booked=%d value=%d bank_ref=%s e2e=%s party=%s type=%s memo=%s\n",
            l->source_line, l->amount, l->reversal, l->booking_date, l->value_date, l->bank_ref, l->end_to_end,
            l->counterparty, l->type, l->memo);
    return r->stop_at_line != 0 && r->lines == r->stop_at_line ? 99 : 0;
}

static inline int rec_end(void *arg, const fg_stmt_header_t *h)
{
    rec_t *r = arg;
    if (r->ends < REC_STATEMENTS_MAX)
        r->end[r->ends] = *h;
    r->ends++;
    rec_header(r, "end", h);
    return 0;
}

static inline fg_stmt_sink_t rec_sink(rec_t *r)
{
    fg_stmt_sink_t sink = {r, rec_statement, rec_line, rec_end};
    return sink;
}

/* Feeds data in chunks of sizes[0], sizes[1], … (cycling; 0 = the rest),
 * then finishes.  The first error's code, or 0. */
static inline int feed_chunks(fg_stmt_format_t format, const char *data, size_t len, const size_t *sizes, size_t nsizes,
                              rec_t *r, fg_stmt_error_t *err)
{
    fg_stmt_sink_t sink = rec_sink(r);
    fg_stmt_parser_t *p = fg_stmt_parser_new(format, &sink);
    ck_assert_ptr_nonnull(p);
    int rc = 0;
    for (size_t at = 0, k = 0; rc == 0 && at < len; k++) {
        size_t n = sizes[k % nsizes] == 0 || sizes[k % nsizes] > len - at ? len - at : sizes[k % nsizes];
        rc = fg_stmt_parser_feed(p, data + at, n, err);
        at += n;
    }
    if (rc == 0)
        rc = fg_stmt_parser_finish(p, err);
    fg_stmt_parser_free(p);
    return rc;
}

static inline int parse_whole(fg_stmt_format_t format, const char *data, size_t len, rec_t *r, fg_stmt_error_t *err)
{
    fg_stmt_sink_t sink = rec_sink(r);
    return fg_stmt_parse(format, data, len, &sink, err);
}

/* Parses text[0..len) and expects FG_EINVALID on `line` (named in the
 * message too) with a message holding `needle`. */
static inline void expect_refused_n(fg_stmt_format_t format, const char *text, size_t len, uint32_t line,
                                    const char *needle)
{
    rec_t *r = rec_new();
    fg_stmt_error_t err;
    memset(&err, 0, sizeof(err));
    int rc = parse_whole(format, text, len, r, &err);
    ck_assert_msg(rc == FG_EINVALID, "accepted (%d): %s", rc, text);
    ck_assert_msg(err.line == line, "error on line %u, expected %u: %s", err.line, line, err.message);
    ck_assert_msg(strstr(err.message, needle) != NULL, "message \"%s\" lacks \"%s\"", err.message, needle);
    char prefix[32];
    if (line > 0) {
        snprintf(prefix, sizeof(prefix), "line %u", line);
        ck_assert_msg(strstr(err.message, prefix) != NULL, "message \"%s\" does not name line %u", err.message, line);
    }
    rec_free(r);
}

static inline void expect_refused(fg_stmt_format_t format, const char *text, uint32_t line, const char *needle)
{
    expect_refused_n(format, text, strlen(text), line, needle);
}

/* Parses data whole, then in two chunks split at every byte, one byte at a
 * time and in random chunk sizes, and requires the same transcript and result
 * every time.  Returns the whole parse's recorder (rec_free it). */
static inline rec_t *expect_same_in_chunks(fg_stmt_format_t format, const char *data, size_t len)
{
    fg_stmt_error_t err;
    rec_t *whole = rec_new();
    int expected = parse_whole(format, data, len, whole, &err);
    ck_assert_msg(expected == 0, "refused: %s", err.message);
    for (size_t split = 0; split <= len; split++) {
        rec_t *r = rec_new();
        size_t sizes[2] = {split, 0};
        ck_assert_int_eq(feed_chunks(format, data, len, sizes, split == 0 ? 1 : 2, r, &err), 0);
        ck_assert_msg(r->transcript_len == whole->transcript_len &&
                          memcmp(r->transcript, whole->transcript, r->transcript_len) == 0,
                      "split at %zu differs:\n%s\nexpected:\n%s", split, r->transcript, whole->transcript);
        rec_free(r);
    }
    unsigned seed = 12345;
    for (int round = 0; round < 50; round++) {
        size_t sizes[64];
        for (size_t k = 0; k < 64; k++) {
            seed = seed * 1103515245u + 12345u;
            sizes[k] = round == 0 ? 1 : 1 + (seed >> 16) % (round < 25 ? 7u : 97u);
        }
        rec_t *r = rec_new();
        ck_assert_int_eq(feed_chunks(format, data, len, sizes, 64, r, &err), 0);
        ck_assert_msg(r->transcript_len == whole->transcript_len &&
                          memcmp(r->transcript, whole->transcript, r->transcript_len) == 0,
                      "random chunks (round %d) differ:\n%s", round, r->transcript);
        rec_free(r);
    }
    return whole;
}

/* Every prefix of a valid file is refused, or read as a prefix of what the
 * whole file reads as (a cut after the last significant byte of a
 * statement): never a crash, never a statement or line the file does not hold. */
static inline void expect_prefixes_refused(fg_stmt_format_t format, const char *data, size_t len)
{
    fg_stmt_error_t err;
    rec_t *whole = rec_new();
    ck_assert_int_eq(parse_whole(format, data, len, whole, &err), 0);
    for (size_t cut = 0; cut < len; cut++) {
        rec_t *r = rec_new();
        int rc = parse_whole(format, data, cut, r, &err);
        if (rc == 0)
            ck_assert_msg(r->transcript_len <= whole->transcript_len &&
                              memcmp(r->transcript, whole->transcript, r->transcript_len) == 0,
                          "the first %zu bytes read as another file:\n%s", cut, r->transcript);
        else
            ck_assert_int_eq(rc, FG_EINVALID);
        rec_free(r);
    }
    rec_free(whole);
}

/* Random bytes, and random bytes after a valid start: refused, never a crash. */
static inline void expect_garbage_refused(fg_stmt_format_t format, const char *start)
{
    unsigned seed = 777;
    for (int round = 0; round < 200; round++) {
        size_t n = strlen(start) + 1 + (size_t)round * 37, at = round % 2 ? strlen(start) : 0;
        char *buf = malloc(n);
        ck_assert_ptr_nonnull(buf);
        memcpy(buf, start, at);
        for (size_t i = at; i < n; i++) {
            seed = seed * 1103515245u + 12345u;
            buf[i] = (char)(seed >> 16);
        }
        rec_t *r = rec_new();
        fg_stmt_error_t err;
        ck_assert_int_eq(parse_whole(format, buf, n, r, &err), FG_EINVALID);
        ck_assert(err.message[0] != '\0');
        rec_free(r);
        free(buf);
    }
}

/* A file under tests/unit/data, whole, NUL-terminated (free() it). */
static inline char *read_sample(const char *name, size_t *len)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/tests/unit/data/%s", FEEGATE_SOURCE_DIR, name);
    FILE *f = fopen(path, "rb");
    ck_assert_msg(f != NULL, "cannot open %s", path);
    char *buf = malloc(1 << 16);
    ck_assert_ptr_nonnull(buf);
    *len = fread(buf, 1, (1 << 16) - 1, f);
    buf[*len] = '\0';
    fclose(f);
    return buf;
}

/* A large generated file, fed as it is written, in chunks of GEN_CHUNK_BYTES. */
#define GEN_CHUNK_BYTES (64 * 1024)

typedef struct {
    fg_stmt_parser_t *parser;
    char buf[GEN_CHUNK_BYTES];
    size_t len;
    int rc;
    fg_stmt_error_t err;
    size_t total_bytes;
} gen_t;

__attribute__((format(printf, 2, 3))) static inline void gen_printf(gen_t *g, const char *fmt, ...)
{
    char text[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    ck_assert(n > 0 && (size_t)n < sizeof(text));
    for (int i = 0; i < n; i++) {
        if (g->len == GEN_CHUNK_BYTES) {
            if (g->rc == 0)
                g->rc = fg_stmt_parser_feed(g->parser, g->buf, g->len, &g->err);
            g->len = 0;
        }
        g->buf[g->len++] = text[i];
    }
    g->total_bytes += (size_t)n;
}

static inline int gen_finish(gen_t *g)
{
    if (g->rc == 0 && g->len > 0)
        g->rc = fg_stmt_parser_feed(g->parser, g->buf, g->len, &g->err);
    if (g->rc == 0)
        g->rc = fg_stmt_parser_finish(g->parser, &g->err);
    return g->rc;
}

#endif
