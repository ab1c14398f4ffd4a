/*
 * fuzz_stmt.h - what the statement targets share (recon/statement.h): the
 * file fed in chunks of a size the first byte picks (a reader must give the
 * same result for any split), a sink that checks what every reader
 * promises, and the whole-buffer parse the result must agree with.
 */
#ifndef FG_FUZZ_STMT_H
#define FG_FUZZ_STMT_H

#include "fuzz.h"

#include "core/text.h"
#include "recon/statement.h"

typedef struct {
    int open; /* between statement() and statement_end() */
    uint64_t lines, statements;
    int64_t sum; /* of the amounts, wrapping: compared, not used */
} fuzz_stmt_seen_t;

static void fuzz_stmt_check_text(const char *s, size_t cap)
{
    FUZZ_CHECK(fuzz_terminated(s, cap));
    FUZZ_CHECK(fg_utf8_valid(s, strlen(s)));
}

static int fuzz_stmt_statement(void *arg, const fg_stmt_header_t *h)
{
    fuzz_stmt_seen_t *seen = arg;
    FUZZ_CHECK(!seen->open);
    seen->open = 1;
    seen->statements++;
    fuzz_stmt_check_text(h->id, sizeof(h->id));
    fuzz_stmt_check_text(h->account, sizeof(h->account));
    FUZZ_CHECK(fuzz_terminated(h->currency, sizeof(h->currency)));
    return 0;
}

static int fuzz_stmt_line(void *arg, const fg_stmt_header_t *h, const fg_stmt_line_t *l)
{
    fuzz_stmt_seen_t *seen = arg;
    (void)h;
    FUZZ_CHECK(seen->open);
    FUZZ_CHECK(l->amount != 0);
    FUZZ_CHECK(l->booking_date == 0 || (l->booking_date >= 19700101 && l->booking_date <= 99991231));
    fuzz_stmt_check_text(l->bank_ref, sizeof(l->bank_ref));
    fuzz_stmt_check_text(l->end_to_end, sizeof(l->end_to_end));
    fuzz_stmt_check_text(l->counterparty, sizeof(l->counterparty));
    fuzz_stmt_check_text(l->memo, sizeof(l->memo));
    fuzz_stmt_check_text(l->type, sizeof(l->type));
    seen->lines++;
    seen->sum = (int64_t)((uint64_t)seen->sum + (uint64_t)l->amount);
    return 0;
}

static int fuzz_stmt_end(void *arg, const fg_stmt_header_t *h)
{
    fuzz_stmt_seen_t *seen = arg;
    (void)h;
    FUZZ_CHECK(seen->open);
    seen->open = 0;
    return 0;
}

/* Parses data as format twice (whole, and in chunks of 1 + mode % 64
 * bytes), checks both runs agree, and sniffs the format. */
static void fuzz_stmt_run(fg_stmt_format_t format, unsigned mode, const uint8_t *data, size_t size)
{
    fuzz_stmt_seen_t whole = {0}, chunked = {0};
    fg_stmt_sink_t sink = {&whole, fuzz_stmt_statement, fuzz_stmt_line, fuzz_stmt_end};
    fg_stmt_error_t err;
    const char *text = (const char *)data;
    int rc_whole = fg_stmt_parse(format, text, size, &sink, &err);
    FUZZ_CHECK(rc_whole == 0 || rc_whole == FG_EINVALID);
    if (rc_whole != 0)
        FUZZ_CHECK(err.message[0] != '\0' && fuzz_terminated(err.message, sizeof(err.message)));
    else
        FUZZ_CHECK(!whole.open);

    sink.arg = &chunked;
    fg_stmt_parser_t *p = fg_stmt_parser_new(format, &sink);
    FUZZ_CHECK(p != NULL);
    size_t step = 1 + mode % 64;
    int rc = 0;
    for (size_t at = 0; at < size && rc == 0; at += step)
        rc = fg_stmt_parser_feed(p, text + at, size - at < step ? size - at : step, &err);
    if (rc == 0)
        rc = fg_stmt_parser_finish(p, &err);
    fg_stmt_parser_free(p);
    FUZZ_CHECK((rc == 0) == (rc_whole == 0));
    if (rc == 0)
        FUZZ_CHECK(chunked.lines == whole.lines && chunked.statements == whole.statements && chunked.sum == whole.sum);

    fg_stmt_format_t sniffed;
    if (fg_stmt_format_sniff(text, size, &sniffed) == 0)
        FUZZ_CHECK(sniffed < FG_STMT_FORMAT_COUNT);
}

#endif
