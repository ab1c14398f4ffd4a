/* Unit tests for services/recon/csv.c (through statement.h): csv-vn and csv */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "recon/statement.h"
#include "stmt_test.h"

static void expect_line(const fg_stmt_line_t *l, uint32_t source_line, int64_t amount, int32_t booked, int32_t value,
                        const char *bank_ref, const char *e2e, const char *party, const char *memo)
{
    ck_assert_uint_eq(l->source_line, source_line);
    ck_assert_int_eq(l->amount, amount);
    ck_assert_int_eq(l->reversal, 0);
    ck_assert_int_eq(l->booking_date, booked);
    ck_assert_int_eq(l->value_date, value);
    ck_assert_str_eq(l->bank_ref, bank_ref);
    ck_assert_str_eq(l->end_to_end, e2e);
    ck_assert_str_eq(l->counterparty, party);
    ck_assert_str_eq(l->type, "");
    ck_assert_str_eq(l->memo, memo);
}

/* ---- csv-vn: the shared sample ------------------------------------------- */

START_TEST(vn_sample_every_field)
{
    size_t len;
    char *data = read_sample("vcb_statement_sample.csv", &len);
    rec_t *r = rec_new();
    fg_stmt_error_t err;
    ck_assert_msg(parse_whole(FG_STMT_CSV_VN, data, len, r, &err) == 0, "%s", err.message);
    ck_assert_int_eq(r->statements, 1);
    ck_assert_int_eq(r->ends, 1);
    ck_assert_int_eq(r->lines, 4);
    const fg_stmt_header_t *h = &r->end[0];
    ck_assert_str_eq(h->id, "");
    ck_assert_str_eq(h->account, "0011001932418");
    ck_assert_str_eq(h->currency, "VND");
    ck_assert_int_eq(h->has_opening, 1);
    ck_assert_int_eq(h->opening, 100000000);
    ck_assert_int_eq(h->opening_date, 0);
    ck_assert_int_eq(h->has_closing, 1);
    ck_assert_int_eq(h->closing, 113735000);
    ck_assert_int_eq(h->closing_date, 20261202); /* the period's last day */
    ck_assert_int_eq(h->from_date, 20261202);
    ck_assert_int_eq(h->to_date, 20261202);
    ck_assert_int_eq(h->sequence, 0);
    ck_assert_int_eq(r->header[0].has_closing, 0);
    ck_assert_int_eq(r->header[0].opening, 100000000);
    ck_assert_str_eq(r->header[0].account, "0011001932418");
    expect_line(&r->line[0], 6, 4500000, 20261202, 20261202, "5213 - 40123", "", "",
                "MBVCB.4525077405.9P0019630833 CT tu 0351000646393 NGUYEN VAN A toi 0011001932418 HOC PHI 7Z50K5DDM7F");
    expect_line(&r->line[1], 7, 250000, 20261202, 20261202, "5213 - 40124", "", "",
                "IBFT NGUYEN THI B CHUYEN TIEN NUOC T11 KH0001");
    expect_line(&r->line[2], 8, -15000, 20261202, 20261202, "5213 - 40125", "", "", "PHI QUAN LY TAI KHOAN T11/2026");
    /* the memo wraps inside its quoted cell: both codes, one space between them */
    expect_line(&r->line[3], 9, 9000000, 20261202, 20261202, "5213 - 40126", "", "",
                "TRAN VAN C NOP HOC PHI 2 CON 2WENRPDZH34 T6AT430PCT3");
    ck_assert_int_eq(r->sum, 13735000);
    rec_free(r);
    free(data);
}
END_TEST

START_TEST(vn_sample_in_chunks)
{
    size_t len;
    char *data = read_sample("vcb_statement_sample.csv", &len);
    rec_free(expect_same_in_chunks(FG_STMT_CSV_VN, data, len));
    expect_prefixes_refused(FG_STMT_CSV_VN, data, len);
    free(data);
}
END_TEST

/* Without the byte order mark, with CRLF everywhere (inside the quoted memo
 * too): the same statement. */
START_TEST(vn_sample_crlf_without_bom)
{
    size_t len;
    char *data = read_sample("vcb_statement_sample.csv", &len);
    ck_assert(len > 3 && memcmp(data, "\xEF\xBB\xBF", 3) == 0);
    char *crlf = malloc(len * 2);
    ck_assert_ptr_nonnull(crlf);
    size_t n = 0;
    for (size_t i = 3; i < len; i++) {
        if (data[i] == '\n')
            crlf[n++] = '\r';
        crlf[n++] = data[i];
    }
    fg_stmt_error_t err;
    rec_t *a = rec_new(), *b = rec_new();
    ck_assert_int_eq(parse_whole(FG_STMT_CSV_VN, data, len, a, &err), 0);
    ck_assert_msg(parse_whole(FG_STMT_CSV_VN, crlf, n, b, &err) == 0, "%s", err.message);
    ck_assert_str_eq(a->transcript, b->transcript);
    rec_free(expect_same_in_chunks(FG_STMT_CSV_VN, crlf, n));
    rec_free(a);
    rec_free(b);
    free(crlf);
    free(data);
}
END_TEST

/* ---- csv-vn: other layouts ----------------------------------------------- */

/* BIDV's column order (date, description, debit, credit, balance), names in
 * Vietnamese only, in capitals, one decomposed (GHI CÓ with a combining
 * acute); the account number in the cell after its label; the opening row
 * after the header; a date cell with the document number on a second line; a
 * memo with a comma and doubled quotes; a totals row; a note after the
 * closing row; CRLF and no byte order mark. */
static const char BIDV[] =
    "\"NGÂN HÀNG TMCP ĐẦU TƯ VÀ PHÁT TRIỂN VIỆT NAM\",,,,\r\n"
    "\"Số tài khoản:\",\"21510001234567\",,,\r\n"
    "\"Loại tiền / Currency: VND\",,,,\r\n"
    "\"Từ ngày: 01/12/2026 - Đến ngày: 02/12/2026\",,,,\r\n"
    "\"NGÀY GIAO DỊCH\",\"DIỄN GIẢI\",\"GHI NỢ\",\"GHI CO\xCC\x81\",\"SỐ DƯ\"\r\n"
    "\"Số dư đầu kỳ\",,,,\"5.000.000\"\r\n"
    "\"01/12/2026\r\n0012345\",\"CK DEN TU NGUYEN VAN A, HOC PHI \"\"7Z50K5DDM7F\"\"\",,\"1.500.000\","
    "\"6.500.000\"\r\n"
    "02/12/2026,PHI SMS,11.000,,6.489.000\r\n"
    "\"02/12/2026\",\"NOP TIEN MAT\",,\"500.000\",\r\n"
    "\"Tổng cộng / Total\",,\"11.000\",\"2.000.000\",\r\n"
    "\"Số dư cuối kỳ\",,,,\"6.989.000\"\r\n"
    "\"Người lập biểu / Prepared by\",,,,\r\n";

START_TEST(vn_bidv_order)
{
    rec_t *r = rec_new();
    fg_stmt_error_t err;
    ck_assert_msg(parse_whole(FG_STMT_CSV_VN, BIDV, strlen(BIDV), r, &err) == 0, "%s", err.message);
    ck_assert_int_eq(r->statements, 1);
    ck_assert_int_eq(r->ends, 1);
    ck_assert_int_eq(r->lines, 3);
    const fg_stmt_header_t *h = &r->end[0];
    ck_assert_str_eq(h->account, "21510001234567");
    ck_assert_str_eq(h->currency, "VND");
    ck_assert_int_eq(h->opening, 5000000);
    ck_assert_int_eq(h->closing, 6989000);
    ck_assert_int_eq(h->from_date, 20261201);
    ck_assert_int_eq(h->to_date, 20261202);
    ck_assert_int_eq(h->closing_date, 20261202);
    expect_line(&r->line[0], 7, 1500000, 20261201, 20261201, "", "", "",
                "CK DEN TU NGUYEN VAN A, HOC PHI \"7Z50K5DDM7F\"");
    expect_line(&r->line[1], 9, -11000, 20261202, 20261202, "", "", "", "PHI SMS");
    expect_line(&r->line[2], 10, 500000, 20261202, 20261202, "", "", "", "NOP TIEN MAT");
    rec_free(r);
    rec_free(expect_same_in_chunks(FG_STMT_CSV_VN, BIDV, strlen(BIDV)));
    expect_prefixes_refused(FG_STMT_CSV_VN, BIDV, strlen(BIDV));
}
END_TEST

#define VN_COLUMNS                                                                                                               \
    "\"STT / No.\",\"Ngày giao dịch / Transaction date\",\"Số tham chiếu / Reference\",\"Ghi nợ / Debit\",\"Ghi có / " \
    "Credit\",\"Số dư / Balance\",\"Nội dung chi tiết / Description\"\n"

START_TEST(vn_currency_title)
{
    static const char USD[] = "\"Số tài khoản / Account number: 0071000123456\",,,,,,\n"
                              "\"Loại tiền / Currency: USD\",,,,,,\n" VN_COLUMNS
                              "\"Số dư đầu kỳ / Opening balance\",,,,,\"1.000,00\",\n"
                              "1,\"03/12/2026\",\"R1\",,\"1.234,56\",\"2.234,56\",\"WIRE\"\n"
                              "2,\"03/12/2026\",\"R2\",\"0,06\",,,\"FEE\"\n"
                              "\"Số dư cuối kỳ / Closing balance\",,,,,\"2.234,50\",\n";
    rec_t *r = rec_new();
    fg_stmt_error_t err;
    ck_assert_msg(parse_whole(FG_STMT_CSV_VN, USD, strlen(USD), r, &err) == 0, "%s", err.message);
    ck_assert_str_eq(r->end[0].currency, "USD");
    ck_assert_str_eq(r->end[0].account, "0071000123456");
    ck_assert_int_eq(r->end[0].opening, 100000);
    ck_assert_int_eq(r->end[0].closing, 223450);
    ck_assert_int_eq(r->end[0].from_date, 0);
    expect_line(&r->line[0], 5, 123456, 20261203, 20261203, "R1", "", "", "WIRE");
    expect_line(&r->line[1], 6, -6, 20261203, 20261203, "R2", "", "", "FEE");
    rec_free(r);
    expect_refused(FG_STMT_CSV_VN,
                   "\"Số tài khoản / Account number: 0071000123456\",,,,,,\n"
                   "\"Loại tiền / Currency: USD\",,,,,,\n" VN_COLUMNS
                   "\"Số dư đầu kỳ / Opening balance\",,,,,\"1.000,00\",\n"
                   "1,\"03/12/2026\",\"R1\",,\"1.234,567\",,\"WIRE\"\n",
                   5, "credit \"1.234,567\" has more decimals than USD's 2");
    expect_refused(FG_STMT_CSV_VN, "\"Loại tiền / Currency: XYZ\"\n", 1, "currency \"XYZ\" is not an ISO 4217 code");
}
END_TEST

/* ---- csv-vn: refusals ---------------------------------------------------- */

#define VN_HEAD                                                                                                        \
    "\"Số tài khoản / Account number: 0011001932418\",,,,,,\n"                                                    \
    "\"Số dư đầu kỳ / Opening balance\",,,,,\"100.000.000\",\n" VN_COLUMNS
#define VN_CLOSING "\"Số dư cuối kỳ / Closing balance\",,,,,\"101.500.000\",\n"

/* An opening row before the header whose Balance cell is padded with spaces,
 * as exports pad cells: read whole, not cut to the first forty bytes. */
START_TEST(vn_padded_opening_before_the_header)
{
    static const char PADDED[] = "\"Số tài khoản / Account number: 0011001932418\",,,,,,\n"
                                 "\"Số dư đầu kỳ / Opening balance\",,,,,\"                               "
                                 "1.500.000.000   \",\n" VN_COLUMNS
                                 "1,\"02/12/2026\",\"R\",,\"1.500.000\",\"1.501.500.000\",\"X\"\n"
                                 "\"Số dư cuối kỳ / Closing balance\",,,,,\"1.501.500.000\",\n";
    rec_t *r = rec_new();
    fg_stmt_error_t err;
    ck_assert_msg(parse_whole(FG_STMT_CSV_VN, PADDED, strlen(PADDED), r, &err) == 0, "%s", err.message);
    ck_assert_int_eq(r->ends, 1);
    ck_assert_int_eq(r->end[0].opening, 1500000000);
    ck_assert_int_eq(r->end[0].closing, 1501500000);
    ck_assert_int_eq(r->end[0].closing_date, 0); /* no period in the title: the balance's day is unknown */
    rec_free(r);
}
END_TEST

/* The account number in the title as banks write it: in groups, or followed
 * by its currency or holder; every spelling is the one account. */
START_TEST(vn_account_number_spellings)
{
    static const char *const TITLES[] = {"0011001932418", "0011 001 932418", "0011-001-932418 VND",
                                         "0011.001.932418 - CONG TY NUOC A", "  0011 001932418   (VND)"};
    for (size_t i = 0; i < sizeof(TITLES) / sizeof(TITLES[0]); i++) {
        char file[1024];
        snprintf(file, sizeof(file),
                 "\"Số tài khoản / Account number: %s\",,,,,,\n"
                 "\"Số dư đầu kỳ / Opening balance\",,,,,\"100.000.000\",\n" VN_COLUMNS
                 "1,\"02/12/2026\",\"R\",,\"1.500.000\",\"101.500.000\",\"X\"\n" VN_CLOSING,
                 TITLES[i]);
        rec_t *r = rec_new();
        fg_stmt_error_t err;
        ck_assert_msg(parse_whole(FG_STMT_CSV_VN, file, strlen(file), r, &err) == 0, "%s: %s", TITLES[i], err.message);
        ck_assert_int_eq(r->ends, 1);
        ck_assert_msg(strcmp(r->end[0].account, "0011001932418") == 0, "%s read as %s", TITLES[i], r->end[0].account);
        rec_free(r);
    }
}
END_TEST

/* The format is told by the file's start: each shared sample as itself; a
 * bank's CSV whose date cells carry times ("09:20:11", "14:25:03": ":20:" and
 * ":25:" inside lines) is csv-vn, not MT940; a marker past the first 4 KiB
 * says nothing. */
START_TEST(formats_are_told_by_the_start_of_the_file)
{
    static const struct {
        const char *sample;
        fg_stmt_format_t format;
    } samples[] = {{"vcb_statement_sample.csv", FG_STMT_CSV_VN},
                   {"mt940_vnd_sample.sta", FG_STMT_MT940},
                   {"camt053_vnd_sample.xml", FG_STMT_CAMT053},
                   {"camt054_vnd_sample.xml", FG_STMT_CAMT054}};
    fg_stmt_format_t f;
    for (size_t i = 0; i < sizeof(samples) / sizeof(samples[0]); i++) {
        size_t len;
        char *data = read_sample(samples[i].sample, &len);
        ck_assert_int_eq(fg_stmt_format_sniff(data, len, &f), 0);
        ck_assert_int_eq(f, samples[i].format);
        free(data);
    }
    static const char TIMES[] = "\"Số tài khoản / Account number: 0011001932418\",,,,,,\n"
                                "\"Số dư đầu kỳ / Opening balance\",,,,,\"100.000.000\",\n" VN_COLUMNS
                                "1,\"02/12/2026 09:20:11\",\"R1\",,\"1.000\",\"100.001.000\",\"A\"\n"
                                "2,\"02/12/2026 14:25:03\",\"R2\",,\"1.000\",\"100.002.000\",\"B\"\n";
    ck_assert_int_eq(fg_stmt_format_sniff(TIMES, strlen(TIMES), &f), 0);
    ck_assert_int_eq(f, FG_STMT_CSV_VN);
    char late[8192];
    memset(late, ' ', sizeof(late));
    memcpy(late + 5000, "\n:20:X\n:25:Y\n", 13);
    ck_assert_int_eq(fg_stmt_format_sniff(late, sizeof(late), &f), FG_ENOTFOUND);
    memcpy(late, ":20:X\n:25:Y\n", 12);
    ck_assert_int_eq(fg_stmt_format_sniff(late, sizeof(late), &f), 0);
    ck_assert_int_eq(f, FG_STMT_MT940);
}
END_TEST

START_TEST(vn_refuses_amounts)
{
    expect_refused(FG_STMT_CSV_VN, VN_HEAD "1,\"02/12/2026\",\"R\",,\"1.500.000,5\",,\"X\"\n" VN_CLOSING, 4,
                   "credit \"1.500.000,5\" has decimals; VND has none");
    expect_refused(FG_STMT_CSV_VN, VN_HEAD "1,\"02/12/2026\",\"R\",,,\"100.000.000\",\"X\"\n", 4,
                   "neither a debit nor a credit");
    expect_refused(FG_STMT_CSV_VN, VN_HEAD "1,\"02/12/2026\",\"R\",\"0\",\"0\",,\"X\"\n", 4,
                   "neither a debit nor a credit");
    expect_refused(FG_STMT_CSV_VN, VN_HEAD "1,\"02/12/2026\",\"R\",\"1.000\",\"2.000\",,\"X\"\n", 4,
                   "both a debit and a credit");
    expect_refused(FG_STMT_CSV_VN, VN_HEAD "1,\"02/12/2026\",\"R\",,\"1,500,000\",,\"X\"\n", 4,
                   "\"1,500,000\" is not an amount like 1.500.000");
    expect_refused(FG_STMT_CSV_VN, VN_HEAD "1,\"02/12/2026\",\"R\",,\"1.50.000\",,\"X\"\n", 4, "not an amount");
    expect_refused(FG_STMT_CSV_VN, VN_HEAD "1,\"02/12/2026\",\"R\",,\"1.500.\",,\"X\"\n", 4, "not an amount");
    expect_refused(FG_STMT_CSV_VN, VN_HEAD "1,\"02/12/2026\",\"R\",,\"-1.000\",,\"X\"\n", 4, "negative");
    expect_refused(FG_STMT_CSV_VN, VN_HEAD "1,\"02/12/2026\",\"R\",,\"abc\",,\"X\"\n", 4, "not an amount");
    expect_refused(FG_STMT_CSV_VN, VN_HEAD "1,\"02/12/2026\",\"R\",,\"9.999.999.999.999.999.999.999\",,\"X\"\n", 4,
                   "too large");
}
END_TEST

START_TEST(vn_refuses_dates)
{
    expect_refused(FG_STMT_CSV_VN, VN_HEAD "1,\"31/02/2026\",\"R\",,\"1.500.000\",,\"X\"\n" VN_CLOSING, 4,
                   "transaction date \"31/02/2026\" does not exist");
    expect_refused(FG_STMT_CSV_VN, VN_HEAD "1,\"2026-12-02\",\"R\",,\"1.500.000\",,\"X\"\n", 4,
                   "is not a date dd/mm/yyyy");
    expect_refused(FG_STMT_CSV_VN, VN_HEAD "1,,\"R\",,\"1.500.000\",,\"X\"\n", 4, "is not a date dd/mm/yyyy");
    expect_refused(FG_STMT_CSV_VN, VN_HEAD "1,\"02/12/26\",\"R\",,\"1.500.000\",,\"X\"\n", 4, "not a date");
    expect_refused(FG_STMT_CSV_VN, "\"Từ ngày / From: 30/02/2026  Đến ngày / To: 02/12/2026\"\n", 1,
                   "\"30/02/2026\" does not exist");
}
END_TEST

START_TEST(vn_refuses_balances)
{
    expect_refused(FG_STMT_CSV_VN, VN_HEAD "1,\"02/12/2026\",\"R\",,\"1.500.000\",\"101.500.001\",\"X\"\n" VN_CLOSING,
                   4, "balance 101.500.001 is not the opening balance plus the lines so far (101.500.000)");
    expect_refused(FG_STMT_CSV_VN,
                   VN_HEAD "1,\"02/12/2026\",\"R\",,\"1.500.000\",,\"X\"\n"
                           "\"Số dư cuối kỳ / Closing balance\",,,,,\"101.000.000\",\n",
                   5, "closing balance 101.000.000 is not the opening balance plus the lines (101.500.000)");
    expect_refused(FG_STMT_CSV_VN,
                   VN_HEAD "1,\"02/12/2026\",\"R\",,\"1.500.000\",,\"X\"\n"
                           "\"Tổng cộng / Total\",,,\"5\",\"1.500.000\",,\n",
                   5, "total debit 5 is not the sum of the lines (0)");
    expect_refused(FG_STMT_CSV_VN, VN_HEAD "1,\"02/12/2026\",\"R\",,\"1.500.000\",,\"X\"\n", 4,
                   "ends without the closing balance row");
    expect_refused(FG_STMT_CSV_VN, VN_HEAD VN_CLOSING, 4, "closing balance 101.500.000 is not");
    expect_refused(FG_STMT_CSV_VN,
                   VN_HEAD "1,\"02/12/2026\",\"R\",,\"1.500.000\",,\"X\"\n" VN_CLOSING
                           "2,\"02/12/2026\",\"R\",,\"1.000\",,\"X\"\n",
                   6, "an amount after the closing balance row");
    expect_refused(FG_STMT_CSV_VN, VN_HEAD "\"Số dư đầu kỳ / Opening balance\",,,,,\"1\",\n", 4,
                   "a second opening balance row");
    expect_refused(
        FG_STMT_CSV_VN,
        "\"Số tài khoản / Account number: 0011001932418\"\n\"Số dư đầu kỳ / Opening balance\",,,,,,\n" VN_COLUMNS, 2,
        "nothing in the Balance column");
}
END_TEST

START_TEST(vn_refuses_structure)
{
    expect_refused(FG_STMT_CSV_VN, "", 0, "no header row");
    expect_refused(FG_STMT_CSV_VN, "\"SAO KÊ TÀI KHOẢN / STATEMENT OF ACCOUNT\"\nsomething\n", 2, "no header row");
    expect_refused(FG_STMT_CSV_VN,
                   "\"Số tài khoản / Account number: 0011001932418\"\n" VN_COLUMNS
                   "1,\"02/12/2026\",\"R\",,\"1.500.000\",,\"X\"\n",
                   3, "before the opening balance row");
    expect_refused(FG_STMT_CSV_VN, "\"Số tài khoản / Account number: 0011001932418\"\n" VN_COLUMNS, 2,
                   "no opening balance row");
    expect_refused(FG_STMT_CSV_VN, "\"Số dư đầu kỳ / Opening balance\",,,,,\"100.000.000\",\n" VN_COLUMNS, 1,
                   "no account number");
    expect_refused(FG_STMT_CSV_VN, "\"Số tài khoản / Account number: 00110019/32418\"\n", 1, "account number");
    expect_refused(FG_STMT_CSV_VN,
                   "\"Số tài khoản / Account number: 0011001932418\"\n"
                   "\"Số dư cuối kỳ / Closing balance\",,,,,\"1\",\n",
                   2, "before the header row");
    expect_refused(FG_STMT_CSV_VN, "\"Ngày giao dịch\",\"Ghi nợ\",\"Ghi có\",\"Số dư\",\"Debit\"\n", 1,
                   "column 5 names a column named before it");
    char many[4096];
    size_t n = 0;
    for (int i = 0; i < 101; i++)
        n += (size_t)snprintf(many + n, sizeof(many) - n, "title %d\n", i);
    expect_refused(FG_STMT_CSV_VN, many, 101, "no header row naming the columns in the first 100 rows");
}
END_TEST

START_TEST(vn_refuses_cells)
{
    /* an unterminated quote at the end of the file names the line it opened on */
    expect_refused(FG_STMT_CSV_VN, VN_HEAD "1,\"02/12/2026\",\"R\",,\"1.000\",,\"unterminated\nmore\n", 4,
                   "never closed");
    expect_refused(FG_STMT_CSV_VN, VN_HEAD "1,\"02/12/2026\"x,\"R\",,\"1.000\",,\"X\"\n", 4,
                   "text after the closing quote");
    expect_refused_n(FG_STMT_CSV_VN, "a,b\0c\n", 6, 1, "NUL");
    expect_refused(FG_STMT_CSV_VN, "\"\xC3\x28\"\n", 1, "not UTF-8");
    char text[20000];
    int n = snprintf(text, sizeof(text), "%s1,\"02/12/2026\",\"R\",,\"1.000\",,\"", VN_HEAD);
    memset(text + n, 'M', 3000);
    strcpy(text + n + 3000, "\"\n");
    expect_refused(FG_STMT_CSV_VN, text, 4, "the description is longer than 2048 bytes");
    n = snprintf(text, sizeof(text), "%s1,\"02/12/2026\",\"", VN_HEAD);
    memset(text + n, 'R', 65);
    strcpy(text + n + 65, "\",,\"1.000\",,\"X\"\n");
    expect_refused(FG_STMT_CSV_VN, text, 4, "the reference is longer than 64 bytes");
    n = snprintf(text, sizeof(text), "%s1,\"02/12/2026\",\"R\",,\"1.000\",,\"", VN_HEAD);
    memset(text + n, 'M', 9000);
    strcpy(text + n + 9000, "\"\n");
    expect_refused(FG_STMT_CSV_VN, text, 4, "the row is longer than 8192 bytes");
    memset(text, ',', 100);
    strcpy(text + 100, "\n");
    expect_refused(FG_STMT_CSV_VN, text, 1, "more than 64 cells");
    /* a line break inside a quoted cell counts: the error is on the row's first line */
    expect_refused(FG_STMT_CSV_VN, VN_HEAD "1,\"02/12/2026\",\"R\",,\"1.000\",,\"two\nlines\"\n2,x\n", 6,
                   "is not a date");
}
END_TEST

START_TEST(vn_refuses_garbage) { expect_garbage_refused(FG_STMT_CSV_VN, VN_HEAD); }
END_TEST

/* ---- csv: our own layout ------------------------------------------------- */

#define OWN_HEADER "account,currency,booking_date,value_date,amount,bank_ref,end_to_end,counterparty,memo\n"

static const char OWN[] = OWN_HEADER "0011001932418,VND,opening,2026-12-01,100000000,,,,\n"
                                     "0011001932418,VND,2026-12-02,,4500000,FT1,HP2025-000123,NGUYEN VAN A,\"HOC PHI, "
                                     "HK1 \"\"A\"\"\"\n"
                                     "0011001932418,VND,2026-12-02,2026-12-03,-15000,FEE1,,,\"PHI\n"
                                     "QUAN LY\"\n"
                                     "\n"
                                     "0011001932418,VND,closing,2026-12-02,104485000,,,,\n";

START_TEST(own_every_field)
{
    rec_t *r = rec_new();
    fg_stmt_error_t err;
    ck_assert_msg(parse_whole(FG_STMT_CSV, OWN, strlen(OWN), r, &err) == 0, "%s", err.message);
    ck_assert_int_eq(r->statements, 1);
    ck_assert_int_eq(r->ends, 1);
    ck_assert_int_eq(r->lines, 2);
    const fg_stmt_header_t *h = &r->end[0];
    ck_assert_str_eq(h->id, "");
    ck_assert_str_eq(h->account, "0011001932418");
    ck_assert_str_eq(h->currency, "VND");
    ck_assert_int_eq(h->has_opening, 1);
    ck_assert_int_eq(h->opening, 100000000);
    ck_assert_int_eq(h->opening_date, 20261201);
    ck_assert_int_eq(h->has_closing, 1);
    ck_assert_int_eq(h->closing, 104485000);
    ck_assert_int_eq(h->closing_date, 20261202);
    expect_line(&r->line[0], 3, 4500000, 20261202, 20261202, "FT1", "HP2025-000123", "NGUYEN VAN A",
                "HOC PHI, HK1 \"A\"");
    expect_line(&r->line[1], 4, -15000, 20261202, 20261203, "FEE1", "", "", "PHI QUAN LY");
    rec_free(r);
    rec_free(expect_same_in_chunks(FG_STMT_CSV, OWN, strlen(OWN)));
}
END_TEST

START_TEST(own_without_balances)
{
    static const char USD[] =
        "\xEF\xBB\xBF"
        "account,currency,booking_date,value_date,amount,bank_ref,end_to_end,counterparty,memo\r\n"
        "ACC-1,USD,2026-12-02,,12.50,,,,\r\n"
        "acc 1,USD,2026-12-02,,-0.05,,,,"; /* one account, spelt two ways */
    rec_t *r = rec_new();
    fg_stmt_error_t err;
    ck_assert_msg(parse_whole(FG_STMT_CSV, USD, strlen(USD), r, &err) == 0, "%s", err.message);
    ck_assert_int_eq(r->statements, 1);
    ck_assert_int_eq(r->ends, 1);
    ck_assert_int_eq(r->lines, 2);
    ck_assert_str_eq(r->end[0].account, "ACC1"); /* as every record keys it */
    ck_assert_str_eq(r->end[0].currency, "USD");
    ck_assert_int_eq(r->end[0].has_opening, 0);
    ck_assert_int_eq(r->end[0].has_closing, 0);
    expect_line(&r->line[0], 2, 1250, 20261202, 20261202, "", "", "", "");
    expect_line(&r->line[1], 3, -5, 20261202, 20261202, "", "", "", "");
    rec_free(r);
    rec_free(expect_same_in_chunks(FG_STMT_CSV, USD, strlen(USD)));
}
END_TEST

#define OWN_ROW(rest) "0011001932418,VND," rest "\n"

START_TEST(own_refusals)
{
    expect_refused(FG_STMT_CSV, "", 0, "the file is empty");
    expect_refused(FG_STMT_CSV, "account,currency,booking_date\n", 1, "the first row is not the header");
    expect_refused(FG_STMT_CSV,
                   "Account,currency,booking_date,value_date,amount,bank_ref,end_to_end,counterparty,memo\n", 1,
                   "not the header");
    expect_refused(FG_STMT_CSV, OWN_HEADER, 1, "no rows after the header");
    expect_refused(FG_STMT_CSV, OWN_HEADER OWN_ROW("2026-12-02,,100,,,,") "0011001932418,USD,2026-12-02,,100,,,,\n", 3,
                   "currency USD, the file is in VND");
    expect_refused(FG_STMT_CSV, OWN_HEADER OWN_ROW("2026-12-02,,100,,,,") "999,VND,2026-12-02,,100,,,,\n", 3,
                   "the file's account is \"0011001932418\"");
    expect_refused(FG_STMT_CSV, OWN_HEADER "1,XXX,2026-12-02,,100,,,,\n", 2,
                   "currency \"XXX\" is not an ISO 4217 code");
    expect_refused(FG_STMT_CSV, OWN_HEADER ",VND,2026-12-02,,100,,,,\n", 2, "account \"\" is not an account number");
    expect_refused(FG_STMT_CSV, OWN_HEADER "1,USD,2026-12-02,,12.345,,,,\n", 2,
                   "amount \"12.345\" has more decimals than USD's 2");
    expect_refused(FG_STMT_CSV, OWN_HEADER OWN_ROW("2026-12-02,,1.5,,,,"), 2,
                   "amount \"1.5\" has decimals; VND has none");
    expect_refused(FG_STMT_CSV, OWN_HEADER OWN_ROW("2026-12-02,,1.500.000,,,,"), 2, "is not an amount");
    expect_refused(FG_STMT_CSV, OWN_HEADER OWN_ROW("2026-12-02,,1,500,,,,"), 2, "10 cells, the layout has 9");
    expect_refused(FG_STMT_CSV, OWN_HEADER OWN_ROW("2026-12-02,,12.,,,,"), 2, "is not an amount");
    expect_refused(FG_STMT_CSV, OWN_HEADER OWN_ROW("2026-12-02,,,,,,"), 2, "is not an amount");
    expect_refused(FG_STMT_CSV, OWN_HEADER OWN_ROW("2026-12-02,,0,,,,"), 2, "amount is zero");
    expect_refused(FG_STMT_CSV, OWN_HEADER OWN_ROW("2026-02-30,,100,,,,"), 2,
                   "booking_date \"2026-02-30\" is not a date");
    expect_refused(FG_STMT_CSV, OWN_HEADER OWN_ROW("02/12/2026,,100,,,,"), 2, "is not a date yyyy-mm-dd");
    expect_refused(FG_STMT_CSV, OWN_HEADER OWN_ROW("2026-12-02,2026-13-01,100,,,,"), 2, "value_date");
    expect_refused(FG_STMT_CSV, OWN_HEADER OWN_ROW("2026-12-02,,100,,,"), 2, "8 cells, the layout has 9");
    expect_refused(FG_STMT_CSV, OWN_HEADER OWN_ROW("opening,,100,,,,") OWN_ROW("closing,,101,,,,"), 3,
                   "closing balance 101 is not the opening balance plus the lines (100)");
    /* VND has no minor units: "250.000" is a thousands group, never 250 */
    expect_refused(FG_STMT_CSV, OWN_HEADER OWN_ROW("2026-12-02,,250.000,,,,"), 2, "has decimals; VND has none");
    expect_refused(FG_STMT_CSV, OWN_HEADER OWN_ROW("closing,,100,,,,") OWN_ROW("2026-12-02,,100,,,,"), 3,
                   "a row after the closing row");
    expect_refused(FG_STMT_CSV, OWN_HEADER OWN_ROW("2026-12-02,,100,,,,") OWN_ROW("opening,,100,,,,"), 3,
                   "the opening row must come before");
    expect_refused(FG_STMT_CSV, OWN_HEADER OWN_ROW("2026-12-02,,100,,,,\"unterminated"), 2, "never closed");
    char text[4096];
    int n = snprintf(text, sizeof(text), "%s0011001932418,VND,2026-12-02,,100,,,,", OWN_HEADER);
    memset(text + n, 'M', 2049);
    text[n + 2049] = '\0';
    expect_refused(FG_STMT_CSV, text, 2, "memo is longer than 2048 bytes");
    n = snprintf(text, sizeof(text), "%s0011001932418,VND,2026-12-02,,100,,,", OWN_HEADER);
    memset(text + n, 'P', 141);
    strcpy(text + n + 141, ",\n");
    expect_refused(FG_STMT_CSV, text, 2, "counterparty is longer than 140 bytes");
}
END_TEST

START_TEST(own_refuses_garbage) { expect_garbage_refused(FG_STMT_CSV, OWN_HEADER); }
END_TEST

/* ---- large files --------------------------------------------------------- */

#define BIG_ROWS 200000

/* v >= 0 written as csv-vn writes it: "1.000.000.000". */
static const char *dotted(int64_t v, char out[32])
{
    char plain[32];
    int n = snprintf(plain, sizeof(plain), "%lld", (long long)v), k = 0;
    for (int i = 0; i < n; i++) {
        if (i > 0 && (n - i) % 3 == 0)
            out[k++] = '.';
        out[k++] = plain[i];
    }
    out[k] = '\0';
    return out;
}

static void large_file(fg_stmt_format_t format)
{
    rec_t *r = rec_new();
    r->keep_transcript = 0;
    fg_stmt_sink_t sink = rec_sink(r);
    gen_t *g = calloc(1, sizeof(*g));
    ck_assert_ptr_nonnull(g);
    g->parser = fg_stmt_parser_new(format, &sink);
    ck_assert_ptr_nonnull(g->parser);
    int64_t balance = 1000000000, sum = 0;
    char a[32], b[32];
    if (format == FG_STMT_CSV_VN)
        gen_printf(g,
                   "\xEF\xBB\xBF\"Số tài khoản / Account number: 0011001932418\",,,,,,\r\n"
                   "\"Số dư đầu kỳ / Opening balance\",,,,,\"1.000.000.000\",\r\n%s",
                   VN_COLUMNS);
    else
        gen_printf(g, "%s0011001932418,VND,opening,,%lld,,,,\n", OWN_HEADER, (long long)balance);
    for (int i = 0; i < BIG_ROWS; i++) {
        int64_t amount = (int64_t)(i % 997 + 1) * 1000;
        int debit = i % 3 == 0;
        sum += debit ? -amount : amount;
        balance += debit ? -amount : amount;
        if (format == FG_STMT_CSV_VN && debit)
            gen_printf(g, "%d,\"02/12/2026\",\"5213 - %d\",\"%s\",,\"%s\",\"HOC PHI\nHS%06d\"\r\n", i, i,
                       dotted(amount, a), dotted(balance, b), i);
        else if (format == FG_STMT_CSV_VN)
            gen_printf(g, "%d,\"02/12/2026\",\"5213 - %d\",,\"%s\",\"%s\",\"HOC PHI\nHS%06d\"\r\n", i, i,
                       dotted(amount, a), dotted(balance, b), i);
        else
            gen_printf(g, "0011001932418,VND,2026-12-02,,%lld,FT%d,HS%06d,,\"HOC PHI\nHS%06d\"\n",
                       (long long)(debit ? -amount : amount), i, i, i);
    }
    if (format == FG_STMT_CSV_VN)
        gen_printf(g, "\"Số dư cuối kỳ / Closing balance\",,,,,\"%s\",\r\n", dotted(balance, b));
    else
        gen_printf(g, "0011001932418,VND,closing,,%lld,,,,\n", (long long)balance);
    ck_assert_uint_gt(g->total_bytes, 8u * GEN_CHUNK_BYTES);
    ck_assert_msg(gen_finish(g) == 0, "%s", g->err.message);
    ck_assert_int_eq(r->lines, BIG_ROWS);
    ck_assert_int_eq(r->sum, sum);
    ck_assert_int_eq(r->end[0].closing, balance);
    fg_stmt_parser_free(g->parser);
    free(g);
    rec_free(r);
}

START_TEST(vn_large_file) { large_file(FG_STMT_CSV_VN); }
END_TEST

START_TEST(own_large_file) { large_file(FG_STMT_CSV); }
END_TEST

static Suite *csv_suite(void)
{
    Suite *s = suite_create("stmt_csv");
    TCase *tc = tcase_create("csv");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, vn_sample_every_field);
    tcase_add_test(tc, vn_sample_in_chunks);
    tcase_add_test(tc, vn_sample_crlf_without_bom);
    tcase_add_test(tc, vn_bidv_order);
    tcase_add_test(tc, vn_currency_title);
    tcase_add_test(tc, vn_refuses_amounts);
    tcase_add_test(tc, vn_refuses_dates);
    tcase_add_test(tc, vn_refuses_balances);
    tcase_add_test(tc, vn_refuses_structure);
    tcase_add_test(tc, vn_refuses_cells);
    tcase_add_test(tc, vn_refuses_garbage);
    tcase_add_test(tc, vn_padded_opening_before_the_header);
    tcase_add_test(tc, vn_account_number_spellings);
    tcase_add_test(tc, formats_are_told_by_the_start_of_the_file);
    tcase_add_test(tc, own_every_field);
    tcase_add_test(tc, own_without_balances);
    tcase_add_test(tc, own_refusals);
    tcase_add_test(tc, own_refuses_garbage);
    tcase_add_test(tc, vn_large_file);
    tcase_add_test(tc, own_large_file);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(csv_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
