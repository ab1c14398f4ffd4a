/* Unit tests for services/recon/camt.c: camt.053 and camt.054 read as a stream */
#include <check.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "recon/statement.h"

#ifndef FEEGATE_SOURCE_DIR
#error "FEEGATE_SOURCE_DIR must name the source tree (tests/unit/CMakeLists.txt)"
#endif

#define DATA_DIR FEEGATE_SOURCE_DIR "/tests/unit/data/"
#define SEEN_MAX 8
#define TRANSCRIPT_MAX (64 * 1024)

/* ---- a sink that records everything -------------------------------------- */

typedef struct {
    int statements, ends, lines;
    fg_stmt_header_t begin[SEEN_MAX], end[SEEN_MAX];
    fg_stmt_line_t line[SEEN_MAX];
    int stop_at_line; /* the sink answers 42 at this line (1-based), 0 never */
    char transcript[TRANSCRIPT_MAX];
    size_t transcript_len;
} seen_t;

static void note(seen_t *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void note(seen_t *s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(s->transcript + s->transcript_len, TRANSCRIPT_MAX - s->transcript_len, fmt, ap);
    va_end(ap);
    ck_assert_int_ge(n, 0);
    ck_assert_uint_lt(s->transcript_len + (size_t)n, TRANSCRIPT_MAX);
    s->transcript_len += (size_t)n;
}

static void note_header(seen_t *s, char kind, const fg_stmt_header_t *h)
{
    note(s, "%c %s|%s|%s|open %d %" PRId64 " %d|close %d %" PRId64 " %d|%d-%d|%" PRId64 "\n", kind, h->id, h->account,
         h->currency, h->has_opening, h->opening, (int)h->opening_date, h->has_closing, h->closing,
         (int)h->closing_date, (int)h->from_date, (int)h->to_date, h->sequence);
}

static int on_statement(void *arg, const fg_stmt_header_t *h)
{
    seen_t *s = arg;
    if (s->statements < SEEN_MAX)
        s->begin[s->statements] = *h;
    s->statements++;
    note_header(s, 'S', h);
    return 0;
}

static int on_line(void *arg, const fg_stmt_header_t *h, const fg_stmt_line_t *l)
{
    seen_t *s = arg;
    if (s->lines < SEEN_MAX)
        s->line[s->lines] = *l;
    s->lines++;
    note(s, "L %s %" PRId64 "|%d|%d|%d|%s|%s|%s|%s|%s|%u\n", h->id, l->amount, l->reversal, (int)l->booking_date,
         (int)l->value_date, l->bank_ref, l->end_to_end, l->counterparty, l->memo, l->type, (unsigned)l->source_line);
    return s->lines == s->stop_at_line ? 42 : 0;
}

static int on_end(void *arg, const fg_stmt_header_t *h)
{
    seen_t *s = arg;
    if (s->ends < SEEN_MAX)
        s->end[s->ends] = *h;
    s->ends++;
    note_header(s, 'E', h);
    return 0;
}

static seen_t *seen_new(void)
{
    seen_t *s = calloc(1, sizeof(*s));
    ck_assert_ptr_nonnull(s);
    return s;
}

static fg_stmt_sink_t sink_of(seen_t *s) { return (fg_stmt_sink_t){s, on_statement, on_line, on_end}; }

static int parse(fg_stmt_format_t format, const char *data, size_t len, seen_t *s, fg_stmt_error_t *err)
{
    fg_stmt_sink_t sink = sink_of(s);
    memset(err, 0, sizeof(*err));
    return fg_stmt_parse(format, data, len, &sink, err);
}

/* Feeds data in chunks of the sizes next_size gives (cycled), then finishes. */
static int parse_chunked(fg_stmt_format_t format, const char *data, size_t len, size_t (*next_size)(void *), void *arg,
                         seen_t *s, fg_stmt_error_t *err)
{
    fg_stmt_sink_t sink = sink_of(s);
    fg_stmt_parser_t *p = fg_stmt_parser_new(format, &sink);
    ck_assert_ptr_nonnull(p);
    int rc = 0;
    for (size_t at = 0; at < len && rc == 0;) {
        size_t n = next_size(arg);
        if (n > len - at)
            n = len - at;
        rc = fg_stmt_parser_feed(p, data + at, n, err);
        at += n;
    }
    if (rc == 0)
        rc = fg_stmt_parser_finish(p, err);
    fg_stmt_parser_free(p);
    return rc;
}

/* ---- texts ----------------------------------------------------------------- */

static char *load(const char *name, size_t *len)
{
    char path[512];
    snprintf(path, sizeof(path), "%s%s", DATA_DIR, name);
    FILE *f = fopen(path, "rb");
    ck_assert_msg(f != NULL, "cannot open %s", path);
    char *buf = malloc(1 << 20);
    ck_assert_ptr_nonnull(buf);
    *len = fread(buf, 1, (1 << 20) - 1, f);
    buf[*len] = '\0';
    fclose(f);
    return buf;
}

/* text with every `from` replaced by `to`; the caller frees it. */
static char *replace(const char *text, const char *from, const char *to)
{
    size_t from_len = strlen(from), to_len = strlen(to), count = 0;
    if (from_len == 0)
        return strdup(text);
    for (const char *p = strstr(text, from); p != NULL; p = strstr(p + from_len, from))
        count++;
    char *out = malloc(strlen(text) + count * (to_len + 1) + 1);
    ck_assert_ptr_nonnull(out);
    char *o = out;
    for (const char *p = text;;) {
        const char *hit = strstr(p, from);
        if (hit == NULL) {
            strcpy(o, p);
            break;
        }
        memcpy(o, p, (size_t)(hit - p));
        o += hit - p;
        memcpy(o, to, to_len);
        o += to_len;
        p = hit + from_len;
    }
    return out;
}

/* Replaces in place (frees the old text). */
static char *swap(char *text, const char *from, const char *to)
{
    ck_assert_msg(strstr(text, from) != NULL, "\"%s\" is not in the text", from);
    char *out = replace(text, from, to);
    free(text);
    return out;
}

/* Every element written with the prefix "camt:" and the namespace bound to it. */
static char *prefixed(const char *text)
{
    char *out = malloc(strlen(text) * 2 + 1);
    ck_assert_ptr_nonnull(out);
    char *o = out;
    for (const char *p = text; *p != '\0'; p++) {
        *o++ = *p;
        if (p[0] == '<' && p[1] == '/') {
            *o++ = *++p;
            memcpy(o, "camt:", 5), o += 5;
        } else if (p[0] == '<' && p[1] >= 'A' && p[1] <= 'Z') {
            memcpy(o, "camt:", 5), o += 5;
        }
    }
    *o = '\0';
    return swap(out, "xmlns=", "xmlns:camt=");
}

/* ---- the shared samples -------------------------------------------------- */

static void expect_line(const fg_stmt_line_t *l, int64_t amount, int32_t booked, int32_t value, const char *bank_ref,
                        const char *end_to_end, const char *counterparty, const char *memo, const char *type,
                        uint32_t source_line)
{
    ck_assert_int_eq(l->amount, amount);
    ck_assert_int_eq(l->reversal, 0);
    ck_assert_int_eq(l->booking_date, booked);
    ck_assert_int_eq(l->value_date, value);
    ck_assert_str_eq(l->bank_ref, bank_ref);
    ck_assert_str_eq(l->end_to_end, end_to_end);
    ck_assert_str_eq(l->counterparty, counterparty);
    ck_assert_str_eq(l->memo, memo);
    ck_assert_str_eq(l->type, type);
    ck_assert_uint_eq(l->source_line, source_line);
}

START_TEST(sample_camt053)
{
    size_t len;
    char *xml = load("camt053_vnd_sample.xml", &len);
    seen_t *s = seen_new();
    fg_stmt_error_t err;
    ck_assert_int_eq(parse(FG_STMT_CAMT053, xml, len, s, &err), 0);
    ck_assert_int_eq(s->statements, 1);
    ck_assert_int_eq(s->ends, 1);
    ck_assert_int_eq(s->lines, 2);

    const fg_stmt_header_t *h = &s->begin[0];
    ck_assert_str_eq(h->id, "0011001932418-20250905");
    ck_assert_str_eq(h->account, "0011001932418");
    ck_assert_str_eq(h->currency, "VND");
    ck_assert_int_eq(h->sequence, 248);
    ck_assert_int_eq(h->from_date, 20250905);
    ck_assert_int_eq(h->to_date, 20250905);
    ck_assert_int_eq(h->has_opening, 1);
    ck_assert_int_eq(h->opening, 100000000);
    ck_assert_int_eq(h->opening_date, 20250904);
    ck_assert_int_eq(h->has_closing, 0); /* the closing balance comes with statement_end */

    expect_line(&s->line[0], 15000000, 20250905, 20250905, "FT25248ABC123", "HP2025-000123", "NGUYEN VAN A",
                "HP2025-000123 HOC PHI HK1", "PMNT/RCDT/DMCT", 32);
    /* a debit: the counterparty is the creditor (none here); NOTPROVIDED is no reference */
    expect_line(&s->line[1], -5500, 20250905, 20250905, "FEE0001", "", "", "PHI CHUYEN KHOAN", "ACMT/MDOP/CHRG", 55);

    const fg_stmt_header_t *e = &s->end[0];
    ck_assert_str_eq(e->id, "0011001932418-20250905");
    ck_assert_int_eq(e->has_opening, 1);
    ck_assert_int_eq(e->opening, 100000000);
    ck_assert_int_eq(e->has_closing, 1);
    ck_assert_int_eq(e->closing, 114994500);
    ck_assert_int_eq(e->closing_date, 20250905);
    ck_assert_int_eq(e->opening + s->line[0].amount + s->line[1].amount, e->closing);
    free(s);
    free(xml);
}
END_TEST

START_TEST(sample_camt054)
{
    size_t len;
    char *xml = load("camt054_vnd_sample.xml", &len);
    seen_t *s = seen_new();
    fg_stmt_error_t err;
    ck_assert_int_eq(parse(FG_STMT_CAMT054, xml, len, s, &err), 0);
    ck_assert_int_eq(s->statements, 1);
    ck_assert_int_eq(s->ends, 1);
    ck_assert_int_eq(s->lines, 1);
    for (int i = 0; i < 2; i++) {
        const fg_stmt_header_t *h = i == 0 ? &s->begin[0] : &s->end[0];
        ck_assert_str_eq(h->id, "NTF-20250905-000777");
        ck_assert_str_eq(h->account, "0011001932418");
        ck_assert_str_eq(h->currency, "VND");
        ck_assert_int_eq(h->has_opening, 0);
        ck_assert_int_eq(h->has_closing, 0);
        ck_assert_int_eq(h->opening_date, 0);
        ck_assert_int_eq(h->closing_date, 0);
        ck_assert_int_eq(h->from_date, 0);
        ck_assert_int_eq(h->to_date, 0);
        ck_assert_int_eq(h->sequence, 0);
    }
    /* BookgDt as DtTm: the date part as written */
    expect_line(&s->line[0], 15000000, 20250905, 20250905, "FT25248ABC123", "HP2025-000123", "NGUYEN VAN A",
                "HP2025-000123 HOC PHI HK1", "PMNT/RCDT/DMCT", 15);
    free(s);
    free(xml);
}
END_TEST

/* The transcript of a whole-buffer parse, which must succeed. */
static seen_t *read_ok(fg_stmt_format_t format, const char *xml)
{
    seen_t *s = seen_new();
    fg_stmt_error_t err;
    int rc = parse(format, xml, strlen(xml), s, &err);
    ck_assert_msg(rc == 0, "rc %d: %s (at %s)", rc, err.message, err.element);
    return s;
}

static void expect_same(fg_stmt_format_t format, const char *xml, const seen_t *want)
{
    seen_t *got = read_ok(format, xml);
    ck_assert_str_eq(got->transcript, want->transcript);
    free(got);
}

/* Versions 001.04 and 001.08 (Sts/Cd, Dbtr/Pty/Nm), a prefix, no namespace. */
static void check_versions(fg_stmt_format_t format, const char *file, const char *ns)
{
    size_t len;
    char *xml = load(file, &len);
    seen_t *want = read_ok(format, xml);
    char ns04[64], ns08[64];
    snprintf(ns04, sizeof(ns04), "%.13s04", ns);
    snprintf(ns08, sizeof(ns08), "%.13s08", ns);

    char *v04 = replace(xml, ns, ns04);
    expect_same(format, v04, want);

    char *v08 = replace(xml, ns, ns08);
    v08 = swap(v08, "<Sts>BOOK</Sts>", "<Sts><Cd>BOOK</Cd></Sts>");
    v08 = swap(v08, "<Dbtr><Nm>NGUYEN VAN A</Nm></Dbtr>", "<Dbtr><Pty><Nm>NGUYEN VAN A</Nm></Pty></Dbtr>");
    expect_same(format, v08, want);

    char *with_prefix = prefixed(v08);
    ck_assert_ptr_nonnull(strstr(with_prefix, "<camt:Document xmlns:camt="));
    expect_same(format, with_prefix, want);

    char *attribute = malloc(strlen(ns) + 64);
    sprintf(attribute, " xmlns=\"urn:iso:std:iso:20022:tech:xsd:%s\"", ns);
    char *bare = replace(xml, attribute, "");
    ck_assert_ptr_null(strstr(bare, "xmlns"));
    expect_same(format, bare, want);

    free(attribute);
    free(bare);
    free(with_prefix);
    free(v08);
    free(v04);
    free(want);
    free(xml);
}

START_TEST(versions_and_prefixes)
{
    check_versions(FG_STMT_CAMT053, "camt053_vnd_sample.xml", "camt.053.001.02");
    check_versions(FG_STMT_CAMT054, "camt054_vnd_sample.xml", "camt.054.001.02");
}
END_TEST

/* The other versions of the range are read too, the ones outside it are not. */
START_TEST(version_range)
{
    size_t len;
    char *xml = load("camt053_vnd_sample.xml", &len);
    seen_t *want = read_ok(FG_STMT_CAMT053, xml);
    static const char *const ok[] = {"03", "05", "06", "07"};
    static const char *const refused[] = {"01", "09", "13", "2", "020", "0a"};
    char ns[64];
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        snprintf(ns, sizeof(ns), "camt.053.001.%s", ok[i]);
        char *v = replace(xml, "camt.053.001.02", ns);
        expect_same(FG_STMT_CAMT053, v, want);
        free(v);
    }
    for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
        snprintf(ns, sizeof(ns), "camt.053.001.%s", refused[i]);
        char *v = replace(xml, "camt.053.001.02", ns);
        seen_t *s = seen_new();
        fg_stmt_error_t err;
        ck_assert_int_eq(parse(FG_STMT_CAMT053, v, strlen(v), s, &err), FG_EINVALID);
        ck_assert_msg(strstr(err.message, "version") != NULL, "%s", err.message);
        ck_assert_int_eq(err.line, 2);
        ck_assert_int_eq(s->statements, 0);
        free(s);
        free(v);
    }
    free(want);
    free(xml);
}
END_TEST

/* ---- chunk boundaries ---------------------------------------------------- */

typedef struct {
    size_t first, rest;
    int calls;
} split_t;

static size_t split_size(void *arg)
{
    split_t *s = arg;
    return s->calls++ == 0 ? s->first : s->rest;
}

static size_t random_size(void *arg)
{
    unsigned *seed = arg;
    *seed = *seed * 1103515245u + 12345u;
    return 1 + (*seed >> 16) % 97;
}

static void check_chunks(fg_stmt_format_t format, const char *file)
{
    size_t len;
    char *xml = load(file, &len);
    seen_t *want = read_ok(format, xml);
    fg_stmt_error_t err;
    /* every split point into two chunks */
    for (size_t at = 0; at <= len; at++) {
        split_t split = {at, len, 0};
        seen_t *s = seen_new();
        ck_assert_int_eq(parse_chunked(format, xml, len, split_size, &split, s, &err), 0);
        ck_assert_str_eq(s->transcript, want->transcript);
        free(s);
    }
    /* one byte at a time */
    split_t bytes = {1, 1, 0};
    seen_t *s = seen_new();
    ck_assert_int_eq(parse_chunked(format, xml, len, split_size, &bytes, s, &err), 0);
    ck_assert_str_eq(s->transcript, want->transcript);
    free(s);
    /* random sizes */
    for (unsigned round = 0; round < 200; round++) {
        unsigned seed = round;
        s = seen_new();
        ck_assert_int_eq(parse_chunked(format, xml, len, random_size, &seed, s, &err), 0);
        ck_assert_str_eq(s->transcript, want->transcript);
        free(s);
    }
    free(want);
    free(xml);
}

START_TEST(chunk_boundaries)
{
    check_chunks(FG_STMT_CAMT053, "camt053_vnd_sample.xml");
    check_chunks(FG_STMT_CAMT054, "camt054_vnd_sample.xml");
}
END_TEST

/* ---- several statements, the other shapes -------------------------------- */

static const char MULTI[] =
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
    "<Document xmlns=\"urn:iso:std:iso:20022:tech:xsd:camt.053.001.08\">\n"
    "<BkToCstmrStmt>\n"
    "<GrpHdr><MsgId>M1</MsgId><CreDtTm>2025-09-06T00:10:00+07:00</CreDtTm></GrpHdr>\n"
    "<Stmt>\n" /* 5 */
    "  <Id>A-1</Id>\n"
    "  <Acct><Id><Othr><Id>0011001932418</Id></Othr></Id><Ccy>VND</Ccy></Acct>\n"
    "  <Bal><Tp><CdOrPrtry><Cd>OPBD</Cd></CdOrPrtry></Tp><Amt Ccy=\"VND\">500</Amt>"
    "<CdtDbtInd>DBIT</CdtDbtInd><Dt><Dt>2025-09-05</Dt></Dt></Bal>\n"
    "  <Bal><Tp><CdOrPrtry><Cd>CLBD</Cd></CdOrPrtry></Tp><Amt Ccy=\"VND\">1500</Amt>"
    "<CdtDbtInd>CRDT</CdtDbtInd><Dt><Dt>2025-09-05</Dt></Dt></Bal>\n"
    "  <Ntry>\n" /* 10 */
    "    <Amt Ccy=\"VND\">2000</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts><Cd>BOOK</Cd></Sts>\n"
    "    <BookgDt><Dt>2025-09-05</Dt></BookgDt>\n"
    "    <BkTxCd><Prtry><Cd>NTRF</Cd><Issr>VCB</Issr></Prtry></BkTxCd>\n"
    "    <NtryDtls><TxDtls><RltdPties><Dbtr><Pty><Nm>TRAN THI B</Nm></Pty></Dbtr></RltdPties>"
    "<RmtInf><Ustrd>HP2025-000124</Ustrd></RmtInf></TxDtls></NtryDtls>\n"
    "  </Ntry>\n"
    "</Stmt>\n"
    "<Stmt>\n" /* 17 */
    "  <Id>B-2</Id>\n"
    "  <ElctrncSeqNb>9</ElctrncSeqNb>\n"
    "  <FrToDt><FrDtTm>2025-09-01T00:00:00Z</FrDtTm><ToDtTm>2025-09-30T23:59:59.999+07:00</ToDtTm></FrToDt>\n"
    "  <Acct><Id><IBAN>DE89370400440532013000</IBAN></Id><Ccy>USD</Ccy></Acct>\n"
    "  <Bal><Tp><CdOrPrtry><Cd>PRCD</Cd></CdOrPrtry></Tp><Amt Ccy=\"USD\">10.5</Amt>"
    "<CdtDbtInd>CRDT</CdtDbtInd><Dt><DtTm>2025-08-31T23:59:59</DtTm></Dt></Bal>\n"
    "  <Bal><Tp><CdOrPrtry><Cd>ITBD</Cd></CdOrPrtry></Tp><Amt Ccy=\"USD\">999.99</Amt>"
    "<CdtDbtInd>CRDT</CdtDbtInd><Dt><Dt>2025-09-15</Dt></Dt></Bal>\n"
    "  <Ntry>\n" /* 24 */
    "    <Amt Ccy=\"USD\">1.25</Amt><CdtDbtInd>DBIT</CdtDbtInd><RvslInd>true</RvslInd><Sts>BOOK</Sts>\n"
    "    <ValDt><DtTm>2025-09-02T10:00:00+07:00</DtTm></ValDt>\n"
    "    <AmtDtls><InstdAmt><Amt Ccy=\"EUR\">1.10</Amt></InstdAmt></AmtDtls>\n"
    "    <NtryDtls><TxDtls><Refs><AcctSvcrRef>TX-REF-1</AcctSvcrRef><EndToEndId>E2E-1</EndToEndId></Refs>"
    "<RltdPties><Dbtr><Nm>NOT US</Nm></Dbtr><Cdtr><Nm>SUPPLIER LTD</Nm></Cdtr></RltdPties>"
    "<RmtInf><Ustrd>INVOICE 77</Ustrd><Ustrd>  SECOND\n  LINE </Ustrd><Ustrd></Ustrd><Ustrd>THIRD</Ustrd></RmtInf>"
    "</TxDtls>\n"
    "    <TxDtls><Refs><EndToEndId>E2E-2</EndToEndId></Refs><RmtInf><Ustrd>NOT READ</Ustrd></RmtInf></TxDtls>"
    "</NtryDtls>\n"
    "  </Ntry>\n"
    "  <Ntry><Amt Ccy=\"USD\">5.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts><Cd>PDNG</Cd></Sts></Ntry>\n"
    "  <Ntry><Amt Ccy=\"USD\">7</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts>INFO</Sts></Ntry>\n"
    "  <Bal><Tp><CdOrPrtry><Cd>OPBD</Cd></CdOrPrtry></Tp><Amt Ccy=\"USD\">1</Amt>"
    "<CdtDbtInd>CRDT</CdtDbtInd><Dt><Dt>2025-09-01</Dt></Dt></Bal>\n"
    "  <Bal><Tp><CdOrPrtry><Cd>CLBD</Cd></CdOrPrtry></Tp><Amt Ccy=\"USD\">9.25</Amt>"
    "<CdtDbtInd>CRDT</CdtDbtInd><Dt><Dt>2025-09-30+07:00</Dt></Dt></Bal>\n"
    "</Stmt>\n"
    "<Stmt><Id>C-3</Id><Acct><Id><Othr><Id>42</Id></Othr></Id><Ccy>VND</Ccy></Acct></Stmt>\n"
    "</BkToCstmrStmt>\n"
    "</Document>\n";

START_TEST(several_statements)
{
    seen_t *s = read_ok(FG_STMT_CAMT053, MULTI);
    ck_assert_int_eq(s->statements, 3);
    ck_assert_int_eq(s->ends, 3);
    ck_assert_int_eq(s->lines, 2);

    const fg_stmt_header_t *a = &s->end[0];
    ck_assert_str_eq(a->id, "A-1");
    ck_assert_str_eq(a->account, "0011001932418");
    ck_assert_str_eq(a->currency, "VND");
    ck_assert_int_eq(a->opening, -500);
    ck_assert_int_eq(a->closing, 1500);
    ck_assert_int_eq(a->sequence, 0);
    const fg_stmt_line_t *l = &s->line[0];
    ck_assert_int_eq(l->amount, 2000);
    ck_assert_int_eq(l->booking_date, 20250905);
    ck_assert_int_eq(l->value_date, 20250905); /* only BookgDt given */
    ck_assert_str_eq(l->type, "NTRF");
    ck_assert_str_eq(l->counterparty, "TRAN THI B");
    ck_assert_str_eq(l->memo, "HP2025-000124");
    ck_assert_str_eq(l->bank_ref, "");
    ck_assert_uint_eq(l->source_line, 10);

    /* statement() saw the PRCD opening; the OPBD after the entries does not
     * change it, the CLBD after them closes the statement */
    const fg_stmt_header_t *b = &s->begin[1];
    ck_assert_str_eq(b->id, "B-2");
    ck_assert_str_eq(b->account, "DE89370400440532013000");
    ck_assert_str_eq(b->currency, "USD");
    ck_assert_int_eq(b->sequence, 9);
    ck_assert_int_eq(b->from_date, 20250901);
    ck_assert_int_eq(b->to_date, 20250930);
    ck_assert_int_eq(b->has_opening, 1);
    ck_assert_int_eq(b->opening, 1050);
    ck_assert_int_eq(b->opening_date, 20250831);
    ck_assert_int_eq(b->has_closing, 0);
    b = &s->end[1];
    ck_assert_int_eq(b->opening, 1050);
    ck_assert_int_eq(b->has_closing, 1);
    ck_assert_int_eq(b->closing, 925);
    ck_assert_int_eq(b->closing_date, 20250930);
    l = &s->line[1];
    ck_assert_int_eq(l->amount, -125);
    ck_assert_int_eq(l->reversal, 1);
    ck_assert_int_eq(l->booking_date, 20250902);
    ck_assert_int_eq(l->value_date, 20250902);
    ck_assert_str_eq(l->bank_ref, "TX-REF-1"); /* TxDtls/Refs/AcctSvcrRef when the entry has none */
    ck_assert_str_eq(l->end_to_end, "E2E-1");
    ck_assert_str_eq(l->counterparty, "SUPPLIER LTD");
    ck_assert_str_eq(l->memo, "INVOICE 77 SECOND LINE THIRD");
    ck_assert_str_eq(l->type, "");
    ck_assert_uint_eq(l->source_line, 24);
    ck_assert_int_eq(b->opening + l->amount, b->closing);

    const fg_stmt_header_t *c = &s->end[2];
    ck_assert_str_eq(c->id, "C-3");
    ck_assert_int_eq(c->has_opening, 0);
    ck_assert_int_eq(c->has_closing, 0);
    ck_assert_str_eq(s->begin[2].id, "C-3");
    free(s);
}
END_TEST

START_TEST(sink_stops)
{
    size_t len;
    char *xml = load("camt053_vnd_sample.xml", &len);
    seen_t *s = seen_new();
    s->stop_at_line = 1;
    fg_stmt_error_t err;
    ck_assert_int_eq(parse(FG_STMT_CAMT053, xml, len, s, &err), 42);
    ck_assert_int_eq(s->lines, 1);
    ck_assert_int_eq(s->ends, 0);
    free(s);
    free(xml);
}
END_TEST

/* ---- refusals ------------------------------------------------------------ */

static const char HEAD[] = "<?xml version=\"1.0\"?>\n"
                           "<Document xmlns=\"urn:iso:std:iso:20022:tech:xsd:camt.053.001.02\">\n"
                           "<BkToCstmrStmt>\n"
                           "<Stmt>\n"
                           "<Id>S1</Id>\n"
                           "<Acct><Id><Othr><Id>123</Id></Othr></Id><Ccy>VND</Ccy></Acct>\n";
static const char TAIL[] = "</Stmt>\n</BkToCstmrStmt>\n</Document>\n";
/* The entry starts on line 7, its Amt on line 8. */
static const char ENTRY[] = "<Ntry>\n"
                            "<Amt Ccy=\"VND\">1000</Amt>\n"
                            "<CdtDbtInd>CRDT</CdtDbtInd>\n"
                            "<Sts>BOOK</Sts>\n"
                            "<BookgDt><Dt>2025-09-05</Dt></BookgDt>\n"
                            "<AcctSvcrRef>R1</AcctSvcrRef>\n"
                            "<NtryDtls><TxDtls><RmtInf><Ustrd>MEMO</Ustrd></RmtInf></TxDtls></NtryDtls>\n"
                            "</Ntry>\n";

/* HEAD + the entry with `from` replaced by `to` + TAIL. */
static char *with_entry(const char *from, const char *to)
{
    char *entry = replace(ENTRY, from, to);
    ck_assert_msg(strcmp(entry, ENTRY) != 0 || strcmp(from, to) == 0, "\"%s\" is not in the entry", from);
    char *doc = malloc(sizeof(HEAD) + strlen(entry) + sizeof(TAIL));
    ck_assert_ptr_nonnull(doc);
    sprintf(doc, "%s%s%s", HEAD, entry, TAIL);
    free(entry);
    return doc;
}

/* Parses xml as format, whole and one byte at a time; both must refuse it
 * the same way, with message in the message and at line (0: any). */
static void expect_refused(fg_stmt_format_t format, const char *xml, size_t len, const char *message, uint32_t line,
                           const char *element)
{
    seen_t *s = seen_new();
    fg_stmt_error_t err, err_bytes;
    ck_assert_int_eq(parse(format, xml, len, s, &err), FG_EINVALID);
    ck_assert_msg(strstr(err.message, message) != NULL, "\"%s\" does not say \"%s\"", err.message, message);
    if (line != 0) {
        ck_assert_uint_eq(err.line, line);
        char prefix[32];
        snprintf(prefix, sizeof(prefix), "line %u: ", (unsigned)line);
        ck_assert_msg(strncmp(err.message, prefix, strlen(prefix)) == 0, "\"%s\"", err.message);
    }
    if (element != NULL)
        ck_assert_str_eq(err.element, element);
    free(s);
    if (len > 100000)
        return;
    s = seen_new();
    split_t bytes = {1, 1, 0};
    memset(&err_bytes, 0, sizeof(err_bytes));
    ck_assert_int_eq(parse_chunked(format, xml, len, split_size, &bytes, s, &err_bytes), FG_EINVALID);
    ck_assert_str_eq(err_bytes.message, err.message);
    ck_assert_str_eq(err_bytes.element, err.element);
    free(s);
}

static void expect_entry_refused(const char *from, const char *to, const char *message, uint32_t line,
                                 const char *element)
{
    char *doc = with_entry(from, to);
    expect_refused(FG_STMT_CAMT053, doc, strlen(doc), message, line, element);
    free(doc);
}

START_TEST(entry_template_reads)
{
    char *doc = with_entry("", "");
    seen_t *s = read_ok(FG_STMT_CAMT053, doc);
    ck_assert_int_eq(s->lines, 1);
    ck_assert_int_eq(s->line[0].amount, 1000);
    ck_assert_str_eq(s->line[0].memo, "MEMO");
    ck_assert_uint_eq(s->line[0].source_line, 7);
    free(s);
    free(doc);
    /* zero decimals are no fraction; the account's currency has none */
    doc = with_entry(">1000<", ">15000000.00<");
    s = read_ok(FG_STMT_CAMT053, doc);
    ck_assert_int_eq(s->line[0].amount, 15000000);
    free(s);
    free(doc);
    /* a time with a zone falls on its GMT+7 day; a time without one, or a date, is read as written */
    static const struct {
        const char *booked;
        int32_t day;
    } times[] = {
        {"<DtTm>2026-12-02T17:00:00Z</DtTm>", 20261203},      {"<DtTm>2026-12-02T16:59:59.999Z</DtTm>", 20261202},
        {"<DtTm>2026-12-02T18:30:00+00:00</DtTm>", 20261203}, {"<DtTm>2026-12-03T00:30:00+07:00</DtTm>", 20261203},
        {"<DtTm>2026-12-03T06:00:00+09:00</DtTm>", 20261203}, {"<DtTm>2026-12-02T20:00:00-05:00</DtTm>", 20261203},
        {"<DtTm>2026-12-31T23:30:00</DtTm>", 20261231},       {"<DtTm>2026-12-31T20:00:00Z</DtTm>", 20270101},
        {"<DtTm>2024-02-28T20:00:00Z</DtTm>", 20240229},      {"<Dt>2026-12-02Z</Dt>", 20261202}};
    for (size_t i = 0; i < sizeof(times) / sizeof(times[0]); i++) {
        doc = with_entry("<Dt>2025-09-05</Dt>", times[i].booked);
        s = read_ok(FG_STMT_CAMT053, doc);
        ck_assert_msg(s->line[0].booking_date == times[i].day, "%s: %d", times[i].booked, s->line[0].booking_date);
        free(s);
        free(doc);
    }
    /* CDATA and character references are text like any other */
    doc = with_entry(">MEMO<", "><![CDATA[HP2025 <A> & B]]> &amp; &#67;&#x20;D<");
    s = read_ok(FG_STMT_CAMT053, doc);
    ck_assert_str_eq(s->line[0].memo, "HP2025 <A> & B & C D");
    free(s);
    free(doc);
    /* the longest texts each field takes */
    char ref[FG_STMT_REF_MAX + 32];
    snprintf(ref, sizeof(ref), ">%0*d<", FG_STMT_REF_MAX, 7);
    doc = with_entry(">R1<", ref);
    s = read_ok(FG_STMT_CAMT053, doc);
    ck_assert_uint_eq(strlen(s->line[0].bank_ref), FG_STMT_REF_MAX);
    free(s);
    free(doc);
    char *memo = malloc(FG_STMT_MEMO_MAX + 8);
    memset(memo, 'M', FG_STMT_MEMO_MAX + 2);
    memo[0] = '>';
    memo[FG_STMT_MEMO_MAX + 1] = '<';
    memo[FG_STMT_MEMO_MAX + 2] = '\0';
    doc = with_entry(">MEMO<", memo);
    s = read_ok(FG_STMT_CAMT053, doc);
    ck_assert_uint_eq(strlen(s->line[0].memo), FG_STMT_MEMO_MAX);
    free(s);
    free(doc);
    free(memo);
}
END_TEST

START_TEST(refused_amounts)
{
    expect_entry_refused(">1000<", ">1.5<", "amount \"1.5\" has decimals; VND has none", 8, "Stmt/Ntry/Amt");
    expect_entry_refused(">1000<", ">15000000.50<", "amount \"15000000.50\" has decimals; VND has none", 8,
                         "Stmt/Ntry/Amt");
    expect_entry_refused(">1000<", ">-5<", "amount \"-5\" is not a decimal number", 8, "Stmt/Ntry/Amt");
    expect_entry_refused(">1000<", ">1,000<", "is not a decimal number", 8, NULL);
    expect_entry_refused(">1000<", "><", "amount \"\" is not a decimal number", 8, NULL);
    expect_entry_refused(">1000<", ">0<", "entry R1 has the amount 0", 8, NULL);
    expect_entry_refused(">1000<", ">99999999999999999999<", "is too large", 8, NULL);
    expect_entry_refused(">1000<", ">1000000000000001<", "is too large", 8, NULL);
    expect_entry_refused("<Amt Ccy=\"VND\">1000</Amt>\n", "\n", "entry R1 has no Amt", 7, "Stmt/Ntry/Amt");
    expect_entry_refused("Ccy=\"VND\"", "Ccy=\"USD\"", "entry R1 is in USD, the account in VND", 8, "Stmt/Ntry/Amt");
    expect_entry_refused(" Ccy=\"VND\"", "", "Amt has no Ccy attribute", 8, NULL);
    expect_entry_refused("Ccy=\"VND\"", "Ccy=\"VNDX\"", "Amt@Ccy \"VNDX\" is not a currency code", 8, NULL);
    expect_entry_refused("Ccy=\"VND\"", "Ccy=\"XYZ\"", "currency \"XYZ\" is not an ISO 4217 code", 8, NULL);
}
END_TEST

START_TEST(refused_entries)
{
    expect_entry_refused("<CdtDbtInd>CRDT</CdtDbtInd>", "", "entry R1 has no CdtDbtInd", 7, "Stmt/Ntry/CdtDbtInd");
    expect_entry_refused(">CRDT<", ">CREDIT<", "CdtDbtInd \"CREDIT\" is neither CRDT nor DBIT", 7, NULL);
    expect_entry_refused("2025-09-05", "2025-02-30", "BookgDt/Dt \"2025-02-30\" is not a date that exists", 11,
                         "Stmt/Ntry/BookgDt/Dt");
    expect_entry_refused("2025-09-05", "2025-13-01", "is not a date that exists", 11, NULL);
    expect_entry_refused("2025-09-05", "05/09/2025", "is not a date that exists", 11, NULL);
    expect_entry_refused("<Dt>2025-09-05</Dt>", "<DtTm>2025-09-05T25:00:00</DtTm>", "is not a date", 11, NULL);
    expect_entry_refused("<BookgDt><Dt>2025-09-05</Dt></BookgDt>", "", "has neither BookgDt nor ValDt", 7, NULL);
    expect_entry_refused("<Sts>BOOK</Sts>", "", "entry R1 has no Sts", 7, "Stmt/Ntry/Sts");
    expect_entry_refused("<Sts>BOOK</Sts>", "<Sts>BOOK</Sts><RvslInd>maybe</RvslInd>", "RvslInd \"maybe\"", 10, NULL);

    char *ustrd = malloc(4000);
    memset(ustrd, 'U', 3002);
    ustrd[0] = '>';
    ustrd[3001] = '<';
    ustrd[3002] = '\0';
    expect_entry_refused(">MEMO<", ustrd, "the remittance text (RmtInf/Ustrd, joined) is longer than 2048 bytes", 13,
                         "Stmt/Ntry/NtryDtls/TxDtls/RmtInf/Ustrd");
    /* two lines that fit alone but not joined */
    memset(ustrd, 'U', 1202);
    memcpy(ustrd, ">", 1);
    strcpy(ustrd + 1201, "</Ustrd><Ustrd>");
    memset(ustrd + 1216, 'V', 1200);
    strcpy(ustrd + 2416, "<");
    expect_entry_refused(">MEMO<", ustrd, "longer than 2048 bytes", 13, NULL);
    free(ustrd);

    char ref[128];
    snprintf(ref, sizeof(ref), ">%0*d<", FG_STMT_REF_MAX + 1, 7);
    expect_entry_refused(">R1<", ref, "Ntry/AcctSvcrRef is longer than 64 bytes", 12, "Stmt/Ntry/AcctSvcrRef");
    char name[256];
    memset(name, 'N', sizeof(name));
    memcpy(name, "<RltdPties><Dbtr><Nm>", 21);
    strcpy(name + 21 + FG_STMT_NAME_MAX + 1, "</Nm></Dbtr></RltdPties><RmtInf>");
    expect_entry_refused("<RmtInf>", name, "RltdPties/Dbtr/Nm is longer than 140 bytes", 13, NULL);
}
END_TEST

START_TEST(refused_statements)
{
    char doc[2048];
    /* a currency the account does not have; a second closing balance */
    snprintf(doc, sizeof(doc), "%s%s%s", HEAD,
             "<Bal><Tp><CdOrPrtry><Cd>OPBD</Cd></CdOrPrtry></Tp><Amt Ccy=\"USD\">1.00</Amt>"
             "<CdtDbtInd>CRDT</CdtDbtInd><Dt><Dt>2025-09-04</Dt></Dt></Bal>\n",
             TAIL);
    expect_refused(FG_STMT_CAMT053, doc, strlen(doc), "balance OPBD is in USD, the account in VND", 7, "Stmt/Bal/Amt");
    snprintf(doc, sizeof(doc), "%s%s%s", HEAD,
             "<Bal><Tp><CdOrPrtry><Cd>CLBD</Cd></CdOrPrtry></Tp><Amt Ccy=\"VND\">1</Amt>"
             "<Dt><Dt>2025-09-04</Dt></Dt></Bal>\n",
             TAIL);
    expect_refused(FG_STMT_CAMT053, doc, strlen(doc), "balance CLBD has no CdtDbtInd", 7, NULL);
    snprintf(doc, sizeof(doc), "%s%s%s", HEAD,
             "<Bal><Tp><CdOrPrtry><Cd>CLBD</Cd></CdOrPrtry></Tp><Amt Ccy=\"VND\">1</Amt>"
             "<CdtDbtInd>CRDT</CdtDbtInd></Bal>\n"
             "<Bal><Tp><CdOrPrtry><Cd>CLBD</Cd></CdOrPrtry></Tp><Amt Ccy=\"VND\">2</Amt>"
             "<CdtDbtInd>CRDT</CdtDbtInd></Bal>\n",
             TAIL);
    expect_refused(FG_STMT_CAMT053, doc, strlen(doc), "a second closing balance (CLBD)", 8, "Stmt/Bal");
    snprintf(doc, sizeof(doc), "%s%s%s", HEAD,
             "<Bal><Tp><CdOrPrtry><Cd>OPBD</Cd></CdOrPrtry></Tp><Amt Ccy=\"VND\">1.5</Amt>"
             "<CdtDbtInd>CRDT</CdtDbtInd></Bal>\n",
             TAIL);
    expect_refused(FG_STMT_CAMT053, doc, strlen(doc), "balance OPBD: amount \"1.5\" has decimals; VND has none", 7,
                   NULL);

    /* the statement's own fields */
    char *bad = replace(HEAD, "<Ccy>VND</Ccy>", "<Ccy>vnd</Ccy>");
    snprintf(doc, sizeof(doc), "%s%s%s", bad, ENTRY, TAIL);
    expect_refused(FG_STMT_CAMT053, doc, strlen(doc), "Acct/Ccy \"vnd\" is not an ISO 4217 code", 6, "Stmt/Acct/Ccy");
    free(bad);
    bad = replace(HEAD, "<Ccy>VND</Ccy>", "");
    snprintf(doc, sizeof(doc), "%s%s", bad, TAIL);
    expect_refused(FG_STMT_CAMT053, doc, strlen(doc), "Stmt S1 names no currency", 4, "Stmt/Acct/Ccy");
    free(bad);
    bad = replace(HEAD, "<Id>S1</Id>", "");
    snprintf(doc, sizeof(doc), "%s%s%s", bad, ENTRY, TAIL);
    expect_refused(FG_STMT_CAMT053, doc, strlen(doc), "the Stmt at line 4 has no Id", 4, "Stmt/Id");
    free(bad);
    bad = replace(HEAD, "<Id><Othr><Id>123</Id></Othr></Id>", "");
    snprintf(doc, sizeof(doc), "%s%s%s", bad, ENTRY, TAIL);
    expect_refused(FG_STMT_CAMT053, doc, strlen(doc), "Stmt S1 has no account", 4, "Stmt/Acct");
    free(bad);
    bad = replace(HEAD, "<Id>S1</Id>", "<Id>S1</Id><ElctrncSeqNb>12a</ElctrncSeqNb>");
    snprintf(doc, sizeof(doc), "%s%s", bad, TAIL);
    expect_refused(FG_STMT_CAMT053, doc, strlen(doc), "ElctrncSeqNb \"12a\" is not a number", 5, NULL);
    free(bad);
    bad = replace(HEAD, "<Id>123</Id>", "<Id>0123456789012345678901234567890123456789</Id>");
    snprintf(doc, sizeof(doc), "%s%s", bad, TAIL);
    expect_refused(FG_STMT_CAMT053, doc, strlen(doc),
                   "Acct/Id/Othr/Id \"01234567890123456789012345678901...\" is not an account number: 1 to 34", 6,
                   "Stmt/Acct/Id/Othr/Id");
    free(bad);

    /* no statement at all */
    static const char EMPTY[] = "<Document xmlns=\"urn:iso:std:iso:20022:tech:xsd:camt.053.001.02\">"
                                "<BkToCstmrStmt><GrpHdr><MsgId>X</MsgId></GrpHdr></BkToCstmrStmt></Document>\n";
    expect_refused(FG_STMT_CAMT053, EMPTY, strlen(EMPTY), "the file holds no statement (<Stmt>)", 0, NULL);
    static const char EMPTY54[] = "<Document><BkToCstmrDbtCdtNtfctn/></Document>";
    expect_refused(FG_STMT_CAMT054, EMPTY54, strlen(EMPTY54), "the file holds no notification (<Ntfctn>)", 0, NULL);
}
END_TEST

START_TEST(refused_formats)
{
    size_t len53, len54;
    char *x53 = load("camt053_vnd_sample.xml", &len53);
    char *x54 = load("camt054_vnd_sample.xml", &len54);
    expect_refused(FG_STMT_CAMT053, x54, len54, "this is a camt.054.001.02 document, not camt.053", 2, "Document");
    expect_refused(FG_STMT_CAMT054, x53, len53, "this is a camt.053.001.02 document, not camt.054", 2, NULL);
    /* without a namespace the message element tells */
    char *bare = replace(x54, " xmlns=\"urn:iso:std:iso:20022:tech:xsd:camt.054.001.02\"", "");
    expect_refused(FG_STMT_CAMT053, bare, strlen(bare),
                   "<BkToCstmrDbtCdtNtfctn> is a camt.054 notification, not camt.053", 3,
                   "Document/BkToCstmrDbtCdtNtfctn");
    free(bare);
    /* a namespace saying camt.053 over a camt.054 message */
    bare = replace(x54, "camt.054.001.02", "camt.053.001.02");
    expect_refused(FG_STMT_CAMT053, bare, strlen(bare), "is a camt.054 notification, not camt.053", 3, NULL);
    free(bare);
    bare = replace(x53, "camt.053.001.02", "camt.052.001.02");
    expect_refused(FG_STMT_CAMT053, bare, strlen(bare), "this is a camt.052.001.02 document, not camt.053", 2, NULL);
    free(bare);
    bare = replace(x53, "urn:iso:std:iso:20022:tech:xsd:camt.053.001.02", "urn:example:statements");
    expect_refused(FG_STMT_CAMT053, bare, strlen(bare), "the namespace \"urn:example:statements\" is not ISO 20022's",
                   2, NULL);
    free(bare);
    bare = replace(x53, "Document", "Statement");
    expect_refused(FG_STMT_CAMT053, bare, strlen(bare), "the root element is <Statement>, not <Document>", 2, NULL);
    free(bare);
    bare = replace(x53, "BkToCstmrStmt", "BkToCstmrAcctRpt");
    expect_refused(FG_STMT_CAMT053, bare, strlen(bare), "<BkToCstmrAcctRpt> is not a camt.053 message", 3, NULL);
    free(bare);
    free(x53);
    free(x54);

    static const char MT940[] = ":20:STMT1\n:25:0011001932418\n:28C:1/1\n:60F:C250904VND100000000,\n";
    expect_refused(FG_STMT_CAMT053, MT940, strlen(MT940), "the XML is malformed", 1, NULL);
    expect_refused(FG_STMT_CAMT053, "", 0, "malformed", 0, NULL);
    static const char BINARY[] = "\x89PNG\r\n\x1a\n\0\0\0\rIHDR\xff\xfe\x01";
    expect_refused(FG_STMT_CAMT054, BINARY, sizeof(BINARY) - 1, "the XML is malformed", 1, NULL);
}
END_TEST

START_TEST(refused_truncated)
{
    size_t len;
    char *xml = load("camt053_vnd_sample.xml", &len);
    size_t complete = (size_t)(strstr(xml, "</Document>") - xml) + strlen("</Document>");
    for (size_t cut = 0; cut < complete; cut++) {
        seen_t *s = seen_new();
        fg_stmt_error_t err;
        ck_assert_int_eq(parse(FG_STMT_CAMT053, xml, cut, s, &err), FG_EINVALID);
        ck_assert_int_le(s->lines, 2);
        ck_assert_msg(strncmp(err.message, "line ", 5) == 0, "%s", err.message);
        ck_assert_uint_gt(err.line, 0);
        free(s);
    }
    expect_refused(FG_STMT_CAMT053, xml, (size_t)(strstr(xml, "<AcctSvcrRef>FEE0001") - xml),
                   "the file ends inside <Ntry>: it is cut short", 0, "Stmt/Ntry");
    /* the same bytes as a whole are fine */
    seen_t *s = seen_new();
    fg_stmt_error_t err;
    ck_assert_int_eq(parse(FG_STMT_CAMT053, xml, complete, s, &err), 0);
    free(s);
    /* junk after the document */
    char *junk = malloc(len + 16);
    sprintf(junk, "%s<Stmt/>", xml);
    expect_refused(FG_STMT_CAMT053, junk, strlen(junk), "junk after document element", 0, NULL);
    free(junk);
    free(xml);
}
END_TEST

START_TEST(refused_hostile_xml)
{
    static const char LAUGHS[] =
        "<?xml version=\"1.0\"?>\n"
        "<!DOCTYPE lolz [\n"
        " <!ENTITY lol \"lol\">\n"
        " <!ENTITY lol1 \"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\">\n"
        " <!ENTITY lol2 \"&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;\">\n"
        " <!ENTITY lol3 \"&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;\">\n"
        "]>\n"
        "<Document xmlns=\"urn:iso:std:iso:20022:tech:xsd:camt.053.001.02\"><BkToCstmrStmt><Stmt><Id>&lol3;</Id>"
        "</Stmt></BkToCstmrStmt></Document>\n";
    expect_refused(FG_STMT_CAMT053, LAUGHS, strlen(LAUGHS), "a DOCTYPE declaration is refused", 2, NULL);
    static const char EXTERNAL[] = "<?xml version=\"1.0\"?>\n<!DOCTYPE Document SYSTEM \"file:///etc/passwd\">\n"
                                   "<Document><BkToCstmrStmt><Stmt><Id>x</Id></Stmt></BkToCstmrStmt></Document>\n";
    expect_refused(FG_STMT_CAMT053, EXTERNAL, strlen(EXTERNAL), "DOCTYPE", 2, NULL);
    /* an entity never declared */
    char *undeclared = with_entry(">MEMO<", ">&xxe;<");
    expect_refused(FG_STMT_CAMT053, undeclared, strlen(undeclared), "undefined entity", 13, NULL);
    free(undeclared);

    /* nesting without end */
    char *deep = malloc(64 * 1024);
    strcpy(deep, "<Document><BkToCstmrStmt><Stmt>");
    for (int i = 0; i < 100; i++)
        strcat(deep, "<A>");
    expect_refused(FG_STMT_CAMT053, deep, strlen(deep), "elements nest deeper than 64 levels", 1, NULL);

    /* a name expat would keep: too long, or one too many */
    size_t n = (size_t)sprintf(deep, "<Document><BkToCstmrStmt><");
    memset(deep + n, 'N', 200);
    strcpy(deep + n + 200, "/></BkToCstmrStmt></Document>");
    expect_refused(FG_STMT_CAMT053, deep, strlen(deep), "is longer than 128 bytes", 1, NULL);
    free(deep);
    size_t cap = 2200 * 16 + 256;
    char *names = malloc(cap);
    n = (size_t)sprintf(names, "<Document><BkToCstmrStmt>\n");
    for (int i = 0; i < 2200; i++)
        n += (size_t)sprintf(names + n, "<E%d/>\n", i);
    strcpy(names + n, "</BkToCstmrStmt></Document>\n");
    expect_refused(FG_STMT_CAMT053, names, strlen(names), "more than 2048 different element and attribute names", 0,
                   NULL);
    free(names);

    /* a comment (or a tag) that never ends is not buffered without bound */
    size_t big = 3u * 1024 * 1024;
    char *comment = malloc(big + 64);
    n = (size_t)sprintf(comment, "<Document><!--");
    memset(comment + n, 'c', big - n);
    comment[big] = '\0';
    expect_refused(FG_STMT_CAMT053, comment, big, "runs over 1048576 bytes", 1, NULL);
    n = (size_t)sprintf(comment, "<Document a=\"");
    memset(comment + n, 'v', big - n);
    expect_refused(FG_STMT_CAMT053, comment, big, "runs over 1048576 bytes", 1, NULL);
    /* a long text outside any field is read and dropped as it comes */
    n = (size_t)sprintf(comment, "<Document><BkToCstmrStmt><GrpHdr><AddtlInf>");
    memset(comment + n, 't', big - n);
    strcpy(comment + big - 200, "</AddtlInf></GrpHdr><Stmt><Id>S</Id><Acct><Id><IBAN>X</IBAN></Id><Ccy>VND</Ccy>"
                                "</Acct></Stmt></BkToCstmrStmt></Document>");
    seen_t *s = read_ok(FG_STMT_CAMT053, comment);
    ck_assert_int_eq(s->ends, 1);
    free(s);
    free(comment);
}
END_TEST

/* ---- mutations ----------------------------------------------------------- */

static unsigned next_random(unsigned *seed)
{
    *seed = *seed * 1103515245u + 12345u;
    return *seed >> 8;
}

/* A copy of xml with a few bytes changed, dropped or repeated. */
static char *mutate(const char *xml, size_t len, unsigned *seed, size_t *out_len)
{
    char *out = malloc(len * 2 + 1);
    ck_assert_ptr_nonnull(out);
    memcpy(out, xml, len);
    size_t n = len;
    for (unsigned edits = 1 + next_random(seed) % 4; edits > 0 && n > 1; edits--) {
        size_t at = next_random(seed) % n, span = 1 + next_random(seed) % 16;
        if (span > n - at)
            span = n - at;
        switch (next_random(seed) % 4) {
        case 0: out[at] = (char)next_random(seed); break;
        case 1: out[at] = "<>/=\"&;:. \n0123456789"[next_random(seed) % 22]; break;
        case 2: /* drop span bytes */
            memmove(out + at, out + at + span, n - at - span);
            n -= span;
            break;
        default: /* repeat span bytes */
            if (n + span <= len * 2) {
                memmove(out + at + span, out + at, n - at);
                n += span;
            }
            break;
        }
    }
    out[n] = '\0';
    *out_len = n;
    return out;
}

/* Damaged samples are read or refused, never crash, and the outcome (every
 * callback, or the error) does not depend on how the bytes are chunked. */
static void check_mutations(fg_stmt_format_t format, const char *xml, size_t len, unsigned rounds)
{
    int refused = 0;
    for (unsigned round = 0; round < rounds; round++) {
        unsigned seed = round * 7919u + 1u;
        size_t n;
        char *bad = mutate(xml, len, &seed, &n);
        seen_t *whole = seen_new(), *chunked = seen_new();
        fg_stmt_error_t err, err_chunked;
        memset(&err_chunked, 0, sizeof(err_chunked));
        int rc = parse(format, bad, n, whole, &err);
        int rc_chunked = parse_chunked(format, bad, n, random_size, &seed, chunked, &err_chunked);
        ck_assert_msg(rc == 0 || rc == FG_EINVALID, "round %u: rc %d", round, rc);
        ck_assert_int_eq(rc_chunked, rc);
        ck_assert_str_eq(chunked->transcript, whole->transcript);
        if (rc != 0) {
            refused++;
            ck_assert_msg(strncmp(err.message, "line ", 5) == 0, "round %u: %s", round, err.message);
            ck_assert_str_eq(err_chunked.message, err.message);
            ck_assert_str_eq(err_chunked.element, err.element);
        }
        for (int i = 0; i < whole->lines && i < SEEN_MAX; i++)
            ck_assert_int_ne(whole->line[i].amount, 0);
        free(chunked);
        free(whole);
        free(bad);
    }
    ck_assert_int_gt(refused, (int)rounds / 4);
}

START_TEST(mutations)
{
    /* FEEGATE_MUTATION_ROUNDS=200000 for a longer run */
    const char *env = getenv("FEEGATE_MUTATION_ROUNDS");
    unsigned rounds = env != NULL ? (unsigned)strtoul(env, NULL, 10) : 2000;
    size_t len53, len54;
    char *x53 = load("camt053_vnd_sample.xml", &len53);
    char *x54 = load("camt054_vnd_sample.xml", &len54);
    check_mutations(FG_STMT_CAMT053, x53, len53, rounds);
    check_mutations(FG_STMT_CAMT054, x54, len54, rounds);
    check_mutations(FG_STMT_CAMT053, MULTI, strlen(MULTI), rounds);
    free(x54);
    free(x53);
}
END_TEST

/* ---- a long statement, streamed ------------------------------------------ */

#define LONG_ENTRIES 200000
#define LONG_CHUNK (64 * 1024)

typedef struct {
    long long lines;
    int64_t sum, opening, closing;
    uint32_t last_line;
    int out_of_order, statements, ends;
    long rss_at_start_kb;
} tally_t;

static long rss_kb(void)
{
    long pages = 0, resident = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (f == NULL)
        return 0;
    if (fscanf(f, "%ld %ld", &pages, &resident) != 2)
        resident = 0;
    fclose(f);
    return resident * (sysconf(_SC_PAGESIZE) / 1024);
}

static int tally_statement(void *arg, const fg_stmt_header_t *h)
{
    tally_t *t = arg;
    t->statements++;
    t->opening = h->opening;
    return 0;
}

static int tally_line(void *arg, const fg_stmt_header_t *h, const fg_stmt_line_t *l)
{
    tally_t *t = arg;
    /* no ck_assert here: Check's bookkeeping allocates, and this measures the parser's */
    t->out_of_order += l->source_line <= t->last_line;
    t->last_line = l->source_line;
    t->lines++;
    t->sum += l->amount;
    if (t->lines == 10000)
        t->rss_at_start_kb = rss_kb();
    return 0;
}

static int tally_end(void *arg, const fg_stmt_header_t *h)
{
    tally_t *t = arg;
    t->ends++;
    t->closing = h->closing;
    return 0;
}

static int64_t long_amount(int i) { return (i % 3 == 0 ? -1 : 1) * (int64_t)(i % 997 + 1) * 1000; }

START_TEST(long_statement_streams)
{
    int64_t sum = 0;
    for (int i = 0; i < LONG_ENTRIES; i++)
        sum += long_amount(i);
    const int64_t opening = 5000000000;

    tally_t tally = {0};
    fg_stmt_sink_t sink = {&tally, tally_statement, tally_line, tally_end};
    fg_stmt_parser_t *p = fg_stmt_parser_new(FG_STMT_CAMT053, &sink);
    ck_assert_ptr_nonnull(p);
    char *chunk = malloc(LONG_CHUNK + 4096);
    size_t used = (size_t)sprintf(chunk,
                                  "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                                  "<Document xmlns=\"urn:iso:std:iso:20022:tech:xsd:camt.053.001.08\">\n"
                                  "<BkToCstmrStmt><Stmt><Id>LONG</Id>\n"
                                  "<Acct><Id><Othr><Id>0011001932418</Id></Othr></Id><Ccy>VND</Ccy></Acct>\n"
                                  "<Bal><Tp><CdOrPrtry><Cd>OPBD</Cd></CdOrPrtry></Tp><Amt Ccy=\"VND\">%" PRId64
                                  "</Amt><CdtDbtInd>CRDT</CdtDbtInd><Dt><Dt>2025-09-04</Dt></Dt></Bal>\n"
                                  "<Bal><Tp><CdOrPrtry><Cd>CLBD</Cd></CdOrPrtry></Tp><Amt Ccy=\"VND\">%" PRId64
                                  "</Amt><CdtDbtInd>CRDT</CdtDbtInd><Dt><Dt>2025-09-05</Dt></Dt></Bal>\n",
                                  opening, opening + sum);
    long long fed = 0;
    fg_stmt_error_t err;
    for (int i = 0; i <= LONG_ENTRIES; i++) {
        if (i < LONG_ENTRIES) {
            int64_t amount = long_amount(i);
            used += (size_t)sprintf(
                chunk + used,
                "<Ntry><Amt Ccy=\"VND\">%" PRId64 "</Amt><CdtDbtInd>%s</CdtDbtInd><Sts><Cd>BOOK</Cd></Sts>"
                "<BookgDt><Dt>2025-09-05</Dt></BookgDt><AcctSvcrRef>FT%08d</AcctSvcrRef>"
                "<BkTxCd><Domn><Cd>PMNT</Cd><Fmly><Cd>RCDT</Cd><SubFmlyCd>DMCT</SubFmlyCd></Fmly></Domn></BkTxCd>\n"
                "<NtryDtls><TxDtls><Refs><EndToEndId>HP2025-%06d</EndToEndId></Refs>"
                "<RltdPties><Dbtr><Pty><Nm>PAYER %d</Nm></Pty></Dbtr></RltdPties>"
                "<RmtInf><Ustrd>HP2025-%06d HOC PHI</Ustrd></RmtInf></TxDtls></NtryDtls></Ntry>\n",
                amount < 0 ? -amount : amount, amount < 0 ? "DBIT" : "CRDT", i, i, i, i);
        } else {
            used += (size_t)sprintf(chunk + used, "</Stmt></BkToCstmrStmt></Document>\n");
        }
        while (used >= LONG_CHUNK || (i == LONG_ENTRIES && used > 0)) {
            size_t n = used < LONG_CHUNK ? used : LONG_CHUNK;
            int rc = fg_stmt_parser_feed(p, chunk, n, &err);
            ck_assert_msg(rc == 0, "rc %d: %s", rc, err.message);
            fed += (long long)n;
            memmove(chunk, chunk + n, used - n);
            used -= n;
        }
    }
    ck_assert_int_eq(fg_stmt_parser_finish(p, &err), 0);
    fg_stmt_parser_free(p);
    free(chunk);

    ck_assert_int_gt(fed, FG_STMT_FILE_MAX); /* more than the API and the CLI take */
    ck_assert_int_eq(tally.statements, 1);
    ck_assert_int_eq(tally.ends, 1);
    ck_assert_int_eq(tally.lines, LONG_ENTRIES);
    ck_assert_int_eq(tally.out_of_order, 0);
    ck_assert_int_eq(tally.sum, sum);
    ck_assert_int_eq(tally.opening, opening);
    ck_assert_int_eq(tally.closing, opening + sum);
    /* what the parser holds does not grow with the file: the resident size
     * after 190,000 more entries (about 90 MB more input) is within a few MB
     * of what it was after the first 10,000 */
    long grown_kb = rss_kb() - tally.rss_at_start_kb;
    fprintf(stderr, "long statement: %lld bytes fed, resident size grew by %ld kB\n", fed, grown_kb);
    ck_assert_msg(grown_kb < 8 * 1024, "resident size grew by %ld kB", grown_kb);
}
END_TEST

static Suite *stmt_camt_suite(void)
{
    Suite *s = suite_create("stmt_camt");
    TCase *tc = tcase_create("camt");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, sample_camt053);
    tcase_add_test(tc, sample_camt054);
    tcase_add_test(tc, versions_and_prefixes);
    tcase_add_test(tc, version_range);
    tcase_add_test(tc, chunk_boundaries);
    tcase_add_test(tc, several_statements);
    tcase_add_test(tc, sink_stops);
    tcase_add_test(tc, entry_template_reads);
    tcase_add_test(tc, refused_amounts);
    tcase_add_test(tc, refused_entries);
    tcase_add_test(tc, refused_statements);
    tcase_add_test(tc, refused_formats);
    tcase_add_test(tc, refused_truncated);
    tcase_add_test(tc, refused_hostile_xml);
    tcase_add_test(tc, mutations);
    tcase_add_test(tc, long_statement_streams);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(stmt_camt_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
