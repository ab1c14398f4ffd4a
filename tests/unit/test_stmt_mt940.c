/* Unit tests for services/recon/mt940.c (through statement.h) */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "recon/statement.h"
#include "stmt_test.h"

/* Three statements: a SWIFT envelope, :60M:/:62M:, an entry date in the next
 * year and one in the previous year, RC and RD, a funds code, NONREF, no bank
 * reference, a supplementary line as the memo, :86: on two lines, a
 * statement's own :86:, :64: and :65:, USD with cents, a block ended by the
 * next :20: and one by the end of the file. */
static const char MULTI[] = "{1:F01BFTVVNVXAXXX0000000000}{2:O9401200250905BFTVVNVXAXXX00000000002509051200N}{4:\n"
                            ":20:MULTI1\n"
                            ":25:VN/0011001932418\n"
                            ":28C:7/2\n"
                            ":60M:D251230VND2000000,\n"
                            ":61:2512311231C5000000,NTRFHP2025-000124//FT25365A\n"
                            ":86:HP2025-000124 HOC PHI\n"
                            "TRAN THI D LOP 3A\n"
                            ":61:2512310102D1000000,NCHGREF-XYZ//B1\n"
                            ":86:PHI\n"
                            ":61:251231RC200000,NTRFE2E-9//REV1\n"
                            ":64:C251231VND1800000,\n"
                            ":62M:C251231VND1800000,\n"
                            ":86:STATEMENT INFO\n"
                            "-}\n"
                            "{5:{CHK:123456789ABC}}\n"
                            ":20:MULTI2\n"
                            ":25:DE89370400440532013000\n"
                            ":28C:00008\n"
                            ":60F:C260101USD1000,00\n"
                            ":61:2601011231RD12,34NMSCNONREF\n"
                            "ORIGINAL DEBIT RETURNED\n"
                            ":61:260102CR100,5NTRFINV42//BANK42\n"
                            ":86:INVOICE 42\n"
                            ":62F:C260102USD1112,84\n"
                            ":65:C260103USD1112,84\n"
                            ":20:MULTI3\n"
                            ":25:0011001932418\n"
                            ":60F:C260102VND0,\n"
                            ":62F:C260102VND0,\n";

static void expect_line(const fg_stmt_line_t *l, uint32_t source_line, int64_t amount, int reversal, int32_t booked,
                        int32_t value, const char *bank_ref, const char *e2e, const char *type, const char *memo)
{
    ck_assert_uint_eq(l->source_line, source_line);
    ck_assert_int_eq(l->amount, amount);
    ck_assert_int_eq(l->reversal, reversal);
    ck_assert_int_eq(l->booking_date, booked);
    ck_assert_int_eq(l->value_date, value);
    ck_assert_str_eq(l->bank_ref, bank_ref);
    ck_assert_str_eq(l->end_to_end, e2e);
    ck_assert_str_eq(l->counterparty, "");
    ck_assert_str_eq(l->type, type);
    ck_assert_str_eq(l->memo, memo);
}

/* ---- the shared sample --------------------------------------------------- */

START_TEST(sample_every_field)
{
    size_t len;
    char *data = read_sample("mt940_vnd_sample.sta", &len);
    rec_t *r = rec_new();
    fg_stmt_error_t err;
    ck_assert_msg(parse_whole(FG_STMT_MT940, data, len, r, &err) == 0, "%s", err.message);
    ck_assert_int_eq(r->statements, 1);
    ck_assert_int_eq(r->ends, 1);
    ck_assert_int_eq(r->lines, 2);
    const fg_stmt_header_t *h = &r->end[0];
    ck_assert_str_eq(r->header[0].id, "STMT20250905/00001/001");
    ck_assert_str_eq(h->id, "STMT20250905/00001/001");
    ck_assert_str_eq(h->account, "0011001932418");
    ck_assert_str_eq(h->currency, "VND");
    ck_assert_int_eq(h->has_opening, 1);
    ck_assert_int_eq(h->opening, 100000000);
    ck_assert_int_eq(h->opening_date, 20250904);
    ck_assert_int_eq(h->has_closing, 1);
    ck_assert_int_eq(h->closing, 114994500);
    ck_assert_int_eq(h->closing_date, 20250905);
    ck_assert_int_eq(h->from_date, 0);
    ck_assert_int_eq(h->to_date, 0);
    ck_assert_int_eq(h->sequence, 1);
    /* statement() comes before the closing balance is known */
    ck_assert_int_eq(r->header[0].has_closing, 0);
    ck_assert_int_eq(r->header[0].opening, 100000000);
    expect_line(&r->line[0], 5, 15000000, 0, 20250905, 20250905, "FT25248ABC123", "HP2025-000123", "NTRF",
                "HP2025-000123 HOC PHI HK1 NGUYEN VAN A");
    expect_line(&r->line[1], 7, -5500, 0, 20250905, 20250905, "FEE0001", "", "NCHG", "PHI CHUYEN KHOAN");
    rec_free(r);
    free(data);
}
END_TEST

START_TEST(sample_in_chunks)
{
    size_t len;
    char *data = read_sample("mt940_vnd_sample.sta", &len);
    rec_free(expect_same_in_chunks(FG_STMT_MT940, data, len));
    free(data);
}
END_TEST

/* LF instead of CRLF, trailing spaces, a byte order mark: the same statement. */
START_TEST(sample_line_ends_and_spaces)
{
    size_t len;
    char *data = read_sample("mt940_vnd_sample.sta", &len);
    char *lf = malloc(3 + len * 3);
    ck_assert_ptr_nonnull(lf);
    memcpy(lf, "\xEF\xBB\xBF", 3);
    size_t n = 3;
    for (size_t i = 0; i < len; i++) {
        if (data[i] == '\r')
            continue;
        if (data[i] == '\n')
            lf[n++] = ' ', lf[n++] = ' ';
        lf[n++] = data[i];
    }
    fg_stmt_error_t err;
    rec_t *a = rec_new(), *b = rec_new();
    ck_assert_int_eq(parse_whole(FG_STMT_MT940, data, len, a, &err), 0);
    ck_assert_msg(parse_whole(FG_STMT_MT940, lf, n, b, &err) == 0, "%s", err.message);
    ck_assert_str_eq(a->transcript, b->transcript);
    rec_free(expect_same_in_chunks(FG_STMT_MT940, lf, n));
    rec_free(a);
    rec_free(b);
    free(lf);
    free(data);
}
END_TEST

START_TEST(sample_prefixes)
{
    size_t len;
    char *data = read_sample("mt940_vnd_sample.sta", &len);
    expect_prefixes_refused(FG_STMT_MT940, data, len);
    free(data);
}
END_TEST

/* ---- several statements -------------------------------------------------- */

START_TEST(multi_statement)
{
    rec_t *r = rec_new();
    fg_stmt_error_t err;
    ck_assert_msg(parse_whole(FG_STMT_MT940, MULTI, strlen(MULTI), r, &err) == 0, "%s", err.message);
    ck_assert_int_eq(r->statements, 3);
    ck_assert_int_eq(r->ends, 3);
    ck_assert_int_eq(r->lines, 5);

    const fg_stmt_header_t *a = &r->end[0], *b = &r->end[1], *c = &r->end[2];
    ck_assert_str_eq(a->id, "MULTI1/7/2");
    ck_assert_str_eq(a->account, "0011001932418"); /* after the country code, as SePay and camt name it */
    ck_assert_str_eq(a->currency, "VND");
    ck_assert_int_eq(a->opening, -2000000);
    ck_assert_int_eq(a->opening_date, 20251230);
    ck_assert_int_eq(a->closing, 1800000);
    ck_assert_int_eq(a->closing_date, 20251231);
    ck_assert_int_eq(a->sequence, 7);
    expect_line(&r->line[0], 6, 5000000, 0, 20251231, 20251231, "FT25365A", "HP2025-000124", "NTRF",
                "HP2025-000124 HOC PHI TRAN THI D LOP 3A");
    expect_line(&r->line[1], 9, -1000000, 0, 20260102, 20251231, "B1", "REF-XYZ", "NCHG", "PHI");
    expect_line(&r->line[2], 11, -200000, 1, 20251231, 20251231, "REV1", "E2E-9", "NTRF", "");

    ck_assert_str_eq(b->id, "MULTI2/00008");
    ck_assert_str_eq(b->account, "DE89370400440532013000");
    ck_assert_str_eq(b->currency, "USD");
    ck_assert_int_eq(b->opening, 100000);
    ck_assert_int_eq(b->opening_date, 20260101);
    ck_assert_int_eq(b->closing, 111284);
    ck_assert_int_eq(b->closing_date, 20260102);
    ck_assert_int_eq(b->sequence, 8);
    expect_line(&r->line[3], 21, 1234, 1, 20251231, 20260101, "", "", "NMSC", "ORIGINAL DEBIT RETURNED");
    expect_line(&r->line[4], 23, 10050, 0, 20260102, 20260102, "BANK42", "INV42", "NTRF", "INVOICE 42");

    ck_assert_str_eq(c->id, "MULTI3");
    ck_assert_str_eq(c->currency, "VND");
    ck_assert_int_eq(c->sequence, 0);
    ck_assert_int_eq(c->opening, 0);
    ck_assert_int_eq(c->closing, 0);
    ck_assert_int_eq(c->has_closing, 1);
    rec_free(r);
}
END_TEST

START_TEST(multi_in_chunks)
{
    rec_free(expect_same_in_chunks(FG_STMT_MT940, MULTI, strlen(MULTI)));
    expect_prefixes_refused(FG_STMT_MT940, MULTI, strlen(MULTI));
}
END_TEST

START_TEST(sink_stops)
{
    rec_t *r = rec_new();
    r->stop_at_line = 1;
    fg_stmt_error_t err;
    ck_assert_int_eq(parse_whole(FG_STMT_MT940, MULTI, strlen(MULTI), r, &err), 99);
    ck_assert_int_eq(r->lines, 1);
    rec_free(r);
}
END_TEST

/* ---- refusals ------------------------------------------------------------ */

#define HEAD ":20:STMT1\n:25:0011001932418\n:28C:1/1\n:60F:C250904VND100000000,\n"

START_TEST(refuses_amounts)
{
    expect_refused(FG_STMT_MT940, HEAD ":61:2509050905C15000000,50NTRFX\n:62F:C250905VND115000000,\n", 5,
                   "\"15000000,50\" has decimals; VND has none");
    expect_refused(FG_STMT_MT940, HEAD ":61:2509050905CNTRFX//Y\n:62F:C250905VND100000000,\n", 5, "no amount");
    expect_refused(FG_STMT_MT940, HEAD ":61:2509050905C0,NTRFX\n:62F:C250905VND100000000,\n", 5, "zero");
    expect_refused(FG_STMT_MT940, HEAD ":61:2509050905C1.500.000,NTRFX\n", 5, "transaction type");
    expect_refused(FG_STMT_MT940, HEAD ":61:2509050905C1,2,3NTRFX\n", 5, "not an amount");
    expect_refused(FG_STMT_MT940, HEAD ":61:2509050905C99999999999999999999,NTRFX\n", 5, "too large");
    expect_refused(FG_STMT_MT940, HEAD ":61:2509050905C15,\n", 5, "transaction type");
    expect_refused(FG_STMT_MT940, HEAD ":61:2509050905X15,NTRFX\n", 5, "no C, D, RC or RD");
    expect_refused(FG_STMT_MT940, ":20:S\n:25:1\n:60F:C250904USD1,234\n", 3, "more decimals than USD's 2");
    expect_refused(FG_STMT_MT940, ":20:S\n:25:1\n:60F:C250904VND\n", 3, "is not C|D YYMMDD");
    expect_refused(FG_STMT_MT940, ":20:S\n:25:1\n:60F:C250904VNDX\n", 3, "not an amount");
    expect_refused(FG_STMT_MT940, ":20:S\n:25:1\n:60F:C250904XYZ5,\n", 3, "no known currency");
    expect_refused(FG_STMT_MT940, ":20:S\n:25:1\n:60F:X250904VND5,\n", 3, "C|D");
}
END_TEST

START_TEST(refuses_dates)
{
    expect_refused(FG_STMT_MT940, HEAD ":61:2502310905C15,NTRFX\n", 5, "\"250231\" is not a date YYMMDD");
    expect_refused(FG_STMT_MT940, HEAD ":61:2509050230C15,NTRFX\n", 5, "entry date \"0230\"");
    expect_refused(FG_STMT_MT940, HEAD ":61:25090C15,NTRFX\n", 5, "value date");
    expect_refused(FG_STMT_MT940, ":20:S\n:25:1\n:60F:C251304VND5,\n", 3, "not a date");
}
END_TEST

START_TEST(refuses_balances)
{
    expect_refused(FG_STMT_MT940, HEAD ":61:2509050905C15,NTRFX\n:62F:C250905VND100000016,\n-\n", 6,
                   "closing balance 100000016 is not the opening balance plus the lines (100000015)");
    /* "250,000" in VND is not 250 */
    expect_refused(FG_STMT_MT940, HEAD ":61:2509050905C250,000NTRFX\n", 5, "decimals");
    expect_refused(FG_STMT_MT940, HEAD ":62F:C250905USD100000000,\n", 5,
                   "closing balance in USD, the statement is in VND");
    expect_refused(FG_STMT_MT940, HEAD ":61:2509050905C15,NTRFX\n:20:NEXT\n", 6, "without its closing balance");
    expect_refused(FG_STMT_MT940, HEAD ":61:2509050905C15,NTRFX\n:86:memo\n", 6, "end of the file without its closing");
    expect_refused(FG_STMT_MT940, HEAD ":61:2509050905C15,NTRFX\n-\n", 6, "without its closing balance");
    expect_refused(FG_STMT_MT940, HEAD ":60F:C250904VND1,\n", 5, "second opening balance");
    expect_refused(FG_STMT_MT940, HEAD ":62F:C250905VND100000000,\n:62F:C250905VND100000000,\n", 6,
                   "second closing balance");
}
END_TEST

START_TEST(refuses_structure)
{
    expect_refused(FG_STMT_MT940, "", 0, "no MT940 statement");
    expect_refused(FG_STMT_MT940, "\r\n\r\n", 0, "no MT940 statement");
    expect_refused(FG_STMT_MT940, "hello\n" HEAD, 1, "outside any statement");
    expect_refused(FG_STMT_MT940, ":25:0011001932418\n", 1, "outside any statement");
    expect_refused(FG_STMT_MT940, HEAD ":62F:C250905VND100000000,\n-\n:61:2509050905C15,NTRFX\n", 7,
                   "outside any statement");
    expect_refused(FG_STMT_MT940, HEAD ":62F:C250905VND100000000,\n-\nTRAILING TEXT\n", 7, "outside any statement");
    expect_refused(FG_STMT_MT940, ":20:S\n:61:2509050905C15,NTRFX\n", 2, "before the opening balance");
    expect_refused(FG_STMT_MT940, ":20:S\n:60F:C250904VND5,\n", 2, "no :25: account");
    expect_refused(FG_STMT_MT940, HEAD ":62F:C250905VND100000000,\n:61:2509050905C15,NTRFX\n", 6,
                   "after the closing balance");
    expect_refused(FG_STMT_MT940, HEAD ":25:other\n", 5, ":25: after the opening balance");
    expect_refused(FG_STMT_MT940, ":20:S\n:25:1\n:28C:ABC\n", 3, ":28C:");
    expect_refused(FG_STMT_MT940, ":20:S\nstray text\n", 2, "is not a field");
    expect_refused(FG_STMT_MT940, ":20:\n", 1, "no reference");
    expect_refused(FG_STMT_MT940, ":20:S\n:25:\n", 2, "no account");
    expect_refused(FG_STMT_MT940, HEAD ":61:2509050905C15,NTRFX\nSUPPLEMENT\nSECOND\n", 7, "second supplementary");
    expect_refused_n(FG_STMT_MT940, ":20:S\0X\n", 8, 1, "NUL");
    expect_refused(FG_STMT_MT940, ":20:S\xff\xfe\n", 1, "not UTF-8");
}
END_TEST

START_TEST(refuses_long_fields)
{
    char text[8192];
    /* a line over the line limit */
    int n = snprintf(text, sizeof(text), "%s:86:", HEAD);
    memset(text + n, 'A', 5000);
    text[n + 5000] = '\0';
    expect_refused(FG_STMT_MT940, text, 5, "longer than");
    /* a narrative over the memo limit, on many lines: "START" and 34 times " " and 60 bytes */
    n = snprintf(text, sizeof(text), "%s:61:2509050905C15,NTRFX\n:86:START\n", HEAD);
    for (int i = 0; i < 40; i++)
        n += snprintf(text + n, sizeof(text) - (size_t)n, "%s\n",
                      "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789ABCDEFGHIJKLMNOPQRSTUVWX");
    expect_refused(FG_STMT_MT940, text, 6 + 34, "narrative is longer than 2048");
    expect_refused(FG_STMT_MT940, ":20:ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789\n", 1, "longer than 35");
    expect_refused(FG_STMT_MT940, ":20:S\n:25:ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789\n", 2, "1 to 34 letters and digits");
    expect_refused(FG_STMT_MT940, HEAD ":61:2509050905C15,NTRFABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789\n", 5,
                   "customer reference");
    expect_refused(FG_STMT_MT940, HEAD ":61:2509050905C15,NTRFX//ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789\n", 5,
                   "bank reference");
}
END_TEST

START_TEST(refuses_garbage)
{
    expect_garbage_refused(FG_STMT_MT940, HEAD);
    /* a single bad line stops the parser: later input is refused too */
    rec_t *r = rec_new();
    fg_stmt_sink_t sink = rec_sink(r);
    fg_stmt_parser_t *p = fg_stmt_parser_new(FG_STMT_MT940, &sink);
    fg_stmt_error_t err;
    ck_assert_int_eq(fg_stmt_parser_feed(p, "garbage\n", 8, &err), FG_EINVALID);
    ck_assert_int_eq(fg_stmt_parser_feed(p, HEAD, strlen(HEAD), &err), FG_EINVALID);
    ck_assert_int_eq(fg_stmt_parser_finish(p, &err), FG_EINVALID);
    fg_stmt_parser_free(p);
    rec_free(r);
}
END_TEST

/* ---- a large file -------------------------------------------------------- */

#define BIG_LINES 200000

START_TEST(large_file)
{
    rec_t *r = rec_new();
    r->keep_transcript = 0;
    fg_stmt_sink_t sink = rec_sink(r);
    gen_t *g = calloc(1, sizeof(*g));
    ck_assert_ptr_nonnull(g);
    g->parser = fg_stmt_parser_new(FG_STMT_MT940, &sink);
    ck_assert_ptr_nonnull(g->parser);
    gen_printf(g, ":20:BIG\r\n:25:0011001932418\r\n:28C:1/1\r\n:60F:C250101VND0,\r\n");
    int64_t sum = 0;
    for (int i = 0; i < BIG_LINES; i++) {
        int64_t amount = (int64_t)(i % 997 + 1) * 1000;
        int debit = i % 3 == 0;
        sum += debit ? -amount : amount;
        gen_printf(g, ":61:2501010101%c%lld,NTRFHP%06d//FT%d\r\n", debit ? 'D' : 'C', (long long)amount, i, i);
        if (i % 2 == 0)
            gen_printf(g, ":86:HOC PHI %d\r\n", i);
    }
    gen_printf(g, ":62F:%c250101VND%lld,\r\n-\r\n", sum < 0 ? 'D' : 'C', (long long)(sum < 0 ? -sum : sum));
    ck_assert_uint_gt(g->total_bytes, 8u * GEN_CHUNK_BYTES);
    ck_assert_msg(gen_finish(g) == 0, "%s", g->err.message);
    ck_assert_int_eq(r->lines, BIG_LINES);
    ck_assert_int_eq(r->sum, sum);
    ck_assert_int_eq(r->end[0].closing, sum);
    fg_stmt_parser_free(g->parser);
    free(g);
    rec_free(r);
}
END_TEST

static Suite *mt940_suite(void)
{
    Suite *s = suite_create("stmt_mt940");
    TCase *tc = tcase_create("mt940");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, sample_every_field);
    tcase_add_test(tc, sample_in_chunks);
    tcase_add_test(tc, sample_line_ends_and_spaces);
    tcase_add_test(tc, sample_prefixes);
    tcase_add_test(tc, multi_statement);
    tcase_add_test(tc, multi_in_chunks);
    tcase_add_test(tc, sink_stops);
    tcase_add_test(tc, refuses_amounts);
    tcase_add_test(tc, refuses_dates);
    tcase_add_test(tc, refuses_balances);
    tcase_add_test(tc, refuses_structure);
    tcase_add_test(tc, refuses_long_fields);
    tcase_add_test(tc, refuses_garbage);
    tcase_add_test(tc, large_file);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(mt940_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
