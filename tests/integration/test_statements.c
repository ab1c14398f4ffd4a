/*
 * test_statements.c - bank statements in: POST /v1/statements and
 * `feegate statements import` against the real binary and MariaDB.  Files
 * are written here in each format's layout (the shared samples' shape) for
 * an account of their own, so that every case starts from nothing.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "harness.h"

static fgt_server_t srv;
static char finance[128], auditor[128];

/* ---- files ---------------------------------------------------------------------------- */

/* A camt.053 day of account: opening, a credit of credit (ref FT<tag>1, the
 * memo naming memo) and a fee debit of 5,500 (ref FEE<tag>), closing as
 * given (opening + credit - 5500 balances). */
static char *camt053(const char *account, const char *tag, const char *day, const char *prev_day, long long opening,
                     long long credit, long long closing, const char *memo)
{
    char *out = malloc(8192);
    ck_assert_ptr_nonnull(out);
    snprintf(out, 8192,
             "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
             "<Document xmlns=\"urn:iso:std:iso:20022:tech:xsd:camt.053.001.02\">\n"
             "<BkToCstmrStmt><GrpHdr><MsgId>M-%s</MsgId><CreDtTm>%sT23:59:00+07:00</CreDtTm></GrpHdr>\n"
             "<Stmt><Id>%s-%s</Id><ElctrncSeqNb>1</ElctrncSeqNb><CreDtTm>%sT23:59:00+07:00</CreDtTm>\n"
             "<Acct><Id><Othr><Id>%s</Id></Othr></Id><Ccy>VND</Ccy></Acct>\n"
             "<Bal><Tp><CdOrPrtry><Cd>OPBD</Cd></CdOrPrtry></Tp><Amt Ccy=\"VND\">%lld</Amt>"
             "<CdtDbtInd>CRDT</CdtDbtInd><Dt><Dt>%s</Dt></Dt></Bal>\n"
             "<Bal><Tp><CdOrPrtry><Cd>CLBD</Cd></CdOrPrtry></Tp><Amt Ccy=\"VND\">%lld</Amt>"
             "<CdtDbtInd>CRDT</CdtDbtInd><Dt><Dt>%s</Dt></Dt></Bal>\n"
             "<Ntry><Amt Ccy=\"VND\">%lld</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts>BOOK</Sts>"
             "<BookgDt><Dt>%s</Dt></BookgDt><ValDt><Dt>%s</Dt></ValDt><AcctSvcrRef>FT%s1</AcctSvcrRef>"
             "<NtryDtls><TxDtls><Refs><EndToEndId>NOTPROVIDED</EndToEndId></Refs>"
             "<RmtInf><Ustrd>%s</Ustrd></RmtInf></TxDtls></NtryDtls></Ntry>\n"
             "<Ntry><Amt Ccy=\"VND\">5500</Amt><CdtDbtInd>DBIT</CdtDbtInd><Sts>BOOK</Sts>"
             "<BookgDt><Dt>%s</Dt></BookgDt><ValDt><Dt>%s</Dt></ValDt><AcctSvcrRef>FEE%s</AcctSvcrRef>"
             "<NtryDtls><TxDtls><RmtInf><Ustrd>PHI CHUYEN KHOAN</Ustrd></RmtInf></TxDtls></NtryDtls></Ntry>\n"
             "</Stmt></BkToCstmrStmt></Document>\n",
             tag, day, account, day, day, account, opening, prev_day, closing, day, credit, day, day, tag, memo, day,
             day, tag);
    return out;
}

/* The same day as MT940 (dates YYMMDD from day "20YY-MM-DD"). */
static char *mt940(const char *account, const char *tag, const char *day, const char *prev_day, long long opening,
                   long long credit, long long closing)
{
    char *out = malloc(4096);
    ck_assert_ptr_nonnull(out);
    char d[7], p[7];
    snprintf(d, sizeof(d), "%.2s%.2s%.2s", day + 2, day + 5, day + 8);
    snprintf(p, sizeof(p), "%.2s%.2s%.2s", prev_day + 2, prev_day + 5, prev_day + 8);
    snprintf(out, 4096,
             ":20:STMT%s\r\n:25:%s\r\n:28C:00001/001\r\n:60F:C%sVND%lld,\r\n"
             ":61:%s%.4sC%lld,NTRFNONREF//FT%s1\r\n:86:HOC PHI\r\n"
             ":61:%s%.4sD5500,NCHGNONREF//FEE%s\r\n:86:PHI CHUYEN KHOAN\r\n"
             ":62F:C%sVND%lld,\r\n-\r\n",
             tag, account, p, opening, d, d + 2, credit, tag, d, d + 2, tag, d, closing);
    return out;
}

static fgt_response_t post_file(const char *token, const char *content_type, const char *query, const char *body)
{
    char auth[200], type[120], path[160];
    snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token);
    snprintf(type, sizeof(type), "Content-Type: %s", content_type);
    snprintf(path, sizeof(path), "/v1/statements%s", query != NULL ? query : "");
    const char *headers[] = {auth, type, NULL};
    return fgt_request(&srv, FGT_H2C, "POST", path, headers, body, 0);
}

static long long imports_of(const char *account)
{
    return fgt_db_int("SELECT COUNT(*) FROM statements WHERE account = ?", account, NULL);
}

static long long lines_of(const char *account)
{
    return fgt_db_int("SELECT COUNT(*) FROM statement_lines WHERE account = ?", account, NULL);
}

static fgt_response_t get_as(const char *token, const char *path)
{
    char auth[200];
    snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token);
    const char *headers[] = {auth, NULL};
    return fgt_request(&srv, FGT_H2C, "GET", path, headers, NULL, 0);
}

/* ---- cases ------------------------------------------------------------------------------ */

START_TEST(camt053_imports_once)
{
    char account[40];
    snprintf(account, sizeof(account), "%s", fgt_account("ACCA"));
    const char *tag = fgt_unique("T");
    char *file = camt053(account, tag, "2026-12-02", "2026-12-01", 100000000, 15000000, 114994500, "HOC PHI HK1");
    fgt_response_t r = post_file(finance, "application/xml", NULL, file);
    fgt_expect(r, 201, NULL);
    ck_assert_str_eq(fgt_json_str(&r, "object", NULL), "statement_import");
    ck_assert_str_eq(fgt_json_str(&r, "format", NULL), "camt.053");
    ck_assert_str_eq(fgt_json_str(&r, "account", NULL), account);
    ck_assert_int_eq(fgt_json_int(&r, "lines", NULL), 2);
    ck_assert_int_eq(fgt_json_int(&r, "new_lines", NULL), 2);
    ck_assert_int_eq(fgt_json_int(&r, "credits", NULL), 15000000);
    ck_assert_int_eq(fgt_json_int(&r, "debits", NULL), 5500);
    ck_assert(fgt_json_is_null(&r, "duplicate_of", NULL));
    char id[64];
    snprintf(id, sizeof(id), "%s", fgt_json_str(&r, "id", NULL));
    fgt_response_free(&r);
    /* the reconciliation report of the day reads the same totals, both sizes,
     * as a bank statement's summary writes them */
    char path[200];
    snprintf(path, sizeof(path), "/v1/reports/reconciliation?from=2026-12-02&to=2026-12-02&account=%s", account);
    r = get_as(auditor, path);
    fgt_expect(r, 200, NULL);
    yajl_val days = fgt_json_array(&r, "data", NULL);
    ck_assert_uint_eq(days->u.array.len, 1);
    ck_assert_int_eq(fgt_val_at(days->u.array.values[0], "credits", NULL)->u.number.i, 15000000);
    ck_assert_int_eq(fgt_val_at(days->u.array.values[0], "debits", NULL)->u.number.i, 5500);
    fgt_response_free(&r);
    ck_assert_int_eq(lines_of(account), 2);
    ck_assert_int_eq(fgt_db_int("SELECT amount FROM statement_lines WHERE account = ? AND amount < 0", account, NULL),
                     -5500);

    /* the same file again: the import it made, nothing added */
    r = post_file(finance, "application/xml", NULL, file);
    fgt_expect(r, 200, NULL);
    ck_assert_str_eq(fgt_json_str(&r, "duplicate_of", NULL), id);
    ck_assert_str_eq(fgt_json_str(&r, "id", NULL), id);
    /* with that import's own figures, not zeros */
    ck_assert_str_eq(fgt_json_str(&r, "account", NULL), account);
    ck_assert_str_eq(fgt_json_str(&r, "currency", NULL), "VND");
    ck_assert_int_eq(fgt_json_int(&r, "statements", NULL), 1);
    ck_assert_int_eq(fgt_json_int(&r, "lines", NULL), 2);
    ck_assert_int_eq(fgt_json_int(&r, "new_lines", NULL), 2);
    ck_assert_int_eq(fgt_json_int(&r, "credits", NULL), 15000000);
    ck_assert_int_eq(fgt_json_int(&r, "debits", NULL), 5500);
    fgt_response_free(&r);
    ck_assert_int_eq(imports_of(account), 1);
    ck_assert_int_eq(lines_of(account), 2);
    free(file);
}
END_TEST

/* GET /v1/statements[/{id}[/lines]]: what was imported, read back by any
 * staff reader, newest first, with each statement and its lines a page at
 * a time. */
START_TEST(imports_are_read_back_with_their_statements_and_lines)
{
    char account[40], id[64], path[256];
    snprintf(account, sizeof(account), "%s", fgt_account("ACCR"));
    char *file = camt053(account, fgt_unique("T"), "2026-12-03", "2026-12-02", 200000000, 7000000, 206994500,
                         "HOC PHI &lt;lop 5A&gt;");
    fgt_response_t r = post_file(finance, "application/xml", NULL, file);
    fgt_expect(r, 201, NULL);
    snprintf(id, sizeof(id), "%s", fgt_json_str(&r, "id", NULL));
    fgt_response_free(&r);
    free(file);
    /* the list, newest first: this import is the first (an auditor reads too) */
    r = get_as(auditor, "/v1/statements?limit=1");
    fgt_expect(r, 200, NULL);
    yajl_val data = fgt_json_array(&r, "data", NULL);
    ck_assert_uint_eq(data->u.array.len, 1);
    ck_assert_str_eq(fgt_val_str(data->u.array.values[0], "id", NULL), id);
    ck_assert_str_eq(fgt_val_str(data->u.array.values[0], "account", NULL), account);
    ck_assert_str_eq(fgt_val_str(data->u.array.values[0], "format", NULL), "camt.053");
    ck_assert_int_eq(strncmp(fgt_val_str(data->u.array.values[0], "imported_by", NULL), "staff:", 6), 0);
    ck_assert(!fgt_json_is_null(&r, "next_cursor", NULL) ||
              fgt_db_int("SELECT COUNT(*) FROM statement_imports", NULL, NULL) == 1);
    fgt_response_free(&r);
    /* one import: its statement with balances and dates */
    snprintf(path, sizeof(path), "/v1/statements/%s", id);
    r = get_as(finance, path);
    fgt_expect(r, 200, NULL);
    ck_assert_str_eq(fgt_json_str(&r, "id", NULL), id);
    ck_assert_int_eq(fgt_json_int(&r, "lines", NULL), 2);
    ck_assert_int_eq(fgt_json_int(&r, "credits", NULL), 7000000);
    ck_assert_int_eq(fgt_json_int(&r, "debits", NULL), 5500);
    ck_assert_int_eq(fgt_json_int(&r, "gaps", NULL), 0);
    yajl_val st = fgt_json_array(&r, "statement_list", NULL);
    ck_assert_uint_eq(st->u.array.len, 1);
    ck_assert_int_eq(fgt_val_at(st->u.array.values[0], "opening", NULL)->u.number.i, 200000000);
    ck_assert_int_eq(fgt_val_at(st->u.array.values[0], "closing", NULL)->u.number.i, 206994500);
    ck_assert_str_eq(fgt_val_str(st->u.array.values[0], "closing_date", NULL), "2026-12-03");
    ck_assert_int_eq(fgt_val_at(st->u.array.values[0], "credits", NULL)->u.number.i, 7000000);
    ck_assert_int_eq(fgt_val_at(st->u.array.values[0], "debits", NULL)->u.number.i, 5500);
    fgt_response_free(&r);
    /* its lines, one a page, in file order */
    snprintf(path, sizeof(path), "/v1/statements/%s/lines?limit=1", id);
    r = get_as(finance, path);
    fgt_expect(r, 200, NULL);
    data = fgt_json_array(&r, "data", NULL);
    ck_assert_uint_eq(data->u.array.len, 1);
    ck_assert_int_eq(fgt_val_at(data->u.array.values[0], "amount", NULL)->u.number.i, 7000000);
    ck_assert_str_eq(fgt_val_str(data->u.array.values[0], "value_date", NULL), "2026-12-03");
    ck_assert_ptr_nonnull(strstr(fgt_val_str(data->u.array.values[0], "memo", NULL), "<lop 5A>"));
    char cursor[64];
    snprintf(cursor, sizeof(cursor), "%s", fgt_json_str(&r, "next_cursor", NULL));
    fgt_response_free(&r);
    snprintf(path, sizeof(path), "/v1/statements/%s/lines?limit=1&cursor=%s", id, cursor);
    r = get_as(finance, path);
    fgt_expect(r, 200, NULL);
    data = fgt_json_array(&r, "data", NULL);
    ck_assert_uint_eq(data->u.array.len, 1);
    ck_assert_int_eq(fgt_val_at(data->u.array.values[0], "amount", NULL)->u.number.i, -5500);
    ck_assert(fgt_json_is_null(&r, "next_cursor", NULL));
    fgt_response_free(&r);
    /* an unknown import, a bad cursor */
    r = get_as(finance, "/v1/statements/imp_00000000000000000000000000");
    fgt_expect_error(r, 404, "not_found", "statement_import_not_found");
    fgt_response_free(&r);
    r = get_as(finance, "/v1/statements/imp_00000000000000000000000000/lines");
    fgt_expect_error(r, 404, "not_found", "statement_import_not_found");
    fgt_response_free(&r);
    r = get_as(finance, "/v1/statements?cursor=!!");
    ck_assert_int_eq(r.status, 400);
    fgt_response_free(&r);
}
END_TEST

START_TEST(overlapping_export_adds_only_new_lines)
{
    char account[40];
    snprintf(account, sizeof(account), "%s", fgt_account("ACCO"));
    const char *tag = fgt_unique("T");
    char *camt = camt053(account, tag, "2026-12-02", "2026-12-01", 100000000, 15000000, 114994500, "HOC PHI");
    fgt_response_t r = post_file(finance, "application/xml", NULL, camt);
    fgt_expect(r, 201, NULL);
    fgt_response_free(&r);
    /* the same day exported as MT940: the same bank references, so the
     * same lines; another file, so a new import */
    char *sta = mt940(account, tag, "2026-12-02", "2026-12-01", 100000000, 15000000, 114994500);
    r = post_file(finance, "text/plain", "?format=mt940", sta);
    fgt_expect(r, 201, NULL);
    ck_assert_int_eq(fgt_json_int(&r, "lines", NULL), 2);
    ck_assert_int_eq(fgt_json_int(&r, "new_lines", NULL), 0);
    ck_assert_int_eq(fgt_json_int(&r, "overlapped_lines", NULL), 2);
    fgt_response_free(&r);
    ck_assert_int_eq(lines_of(account), 2);

    /* the next day opens where this one closed: no gap; a day that opens
     * elsewhere is stored and shows its gap */
    const char *tag2 = fgt_unique("U");
    char *next = camt053(account, tag2, "2026-12-03", "2026-12-02", 114994500, 1000000, 115989000, "NUOC T11");
    r = post_file(finance, "application/xml", NULL, next);
    fgt_expect(r, 201, NULL);
    ck_assert_int_eq(fgt_json_int(&r, "gaps", NULL), 0);
    fgt_response_free(&r);
    const char *tag3 = fgt_unique("V");
    char *gap = camt053(account, tag3, "2026-12-04", "2026-12-03", 120000000, 1000000, 120994500, "DIEN T11");
    r = post_file(finance, "application/xml", NULL, gap);
    fgt_expect(r, 201, NULL);
    ck_assert_int_eq(fgt_json_int(&r, "gaps", NULL), 1);
    fgt_response_free(&r);
    ck_assert_int_eq(fgt_db_int("SELECT gap FROM statements WHERE account = ? AND gap IS NOT NULL", account, NULL),
                     120000000 - 115989000);
    free(camt);
    free(sta);
    free(next);
    free(gap);
}
END_TEST

/* Lines without a bank reference keyed by an end-to-end id that is not
 * unique (an app's fixed text on every transfer it makes): two payers' equal
 * transfers of one day, in two files, are two lines; the first file's line
 * sent again in a later file is not a third. */
START_TEST(equal_end_to_end_ids_of_two_payers_are_two_lines)
{
    char account[40], file[1024];
    snprintf(account, sizeof(account), "%s", fgt_account("E2EE"));
    static const char HEADER[] =
        "account,currency,booking_date,value_date,amount,bank_ref,end_to_end,counterparty,memo\n";
    snprintf(file, sizeof(file), "%s%s,VND,2026-12-02,2026-12-02,500000,,VCBMOBILE,NGUYEN VAN A,HP 7Z50K5DDM7F\n",
             HEADER, account);
    fgt_response_t r = post_file(finance, "text/csv", NULL, file);
    fgt_expect(r, 201, NULL);
    ck_assert_int_eq(fgt_json_int(&r, "new_lines", NULL), 1);
    fgt_response_free(&r);
    snprintf(file, sizeof(file),
             "%s%s,VND,2026-12-02,2026-12-02,500000,,VCBMOBILE,TRAN THI B,HP 2WENRPDZH34\n"
             "%s,VND,2026-12-02,2026-12-02,500000,,VCBMOBILE,NGUYEN VAN A,HP 7Z50K5DDM7F\n",
             HEADER, account, account);
    r = post_file(finance, "text/csv", NULL, file);
    fgt_expect(r, 201, NULL);
    ck_assert_int_eq(fgt_json_int(&r, "new_lines", NULL), 1);
    ck_assert_int_eq(fgt_json_int(&r, "overlapped_lines", NULL), 1);
    fgt_response_free(&r);
    ck_assert_int_eq(lines_of(account), 2);
    ck_assert_int_eq(fgt_db_int("SELECT COUNT(*) FROM statement_lines WHERE account = ? AND memo = ?", account,
                                "HP 2WENRPDZH34"),
                     1);
}
END_TEST

/* A day the bank splits into pages (:62M: then :60M:) with the same
 * reference-less fee on each: two lines, both stored; the same file again
 * adds nothing, and a later export repeating both pages neither.  A reversal
 * reusing its original's reference is a line of its own. */
START_TEST(a_day_in_pages_keeps_each_pages_lines)
{
    char account[40], file[1024], reversal[1024];
    snprintf(account, sizeof(account), "%s", fgt_account("ACCP"));
    const char *tag = fgt_unique("T");
    snprintf(file, sizeof(file),
             ":20:P1%s\r\n:25:%s\r\n:28C:00001/001\r\n:60F:C261201VND1000000,\r\n"
             ":61:2612021202D11000,NCHGNONREF\r\n:86:PHI SMS\r\n:62M:C261202VND989000,\r\n-\r\n"
             ":20:P2%s\r\n:25:%s\r\n:28C:00001/002\r\n:60M:C261202VND989000,\r\n"
             ":61:2612021202D11000,NCHGNONREF\r\n:86:PHI SMS\r\n:62F:C261202VND978000,\r\n-\r\n",
             tag, account, tag, account);
    fgt_response_t r = post_file(finance, "text/plain", "?format=mt940", file);
    fgt_expect(r, 201, NULL);
    ck_assert_int_eq(fgt_json_int(&r, "lines", NULL), 2);
    ck_assert_int_eq(fgt_json_int(&r, "new_lines", NULL), 2);
    fgt_response_free(&r);
    ck_assert_int_eq(lines_of(account), 2);
    /* both pages again in another export (another statement id): nothing new */
    char again[1024];
    snprintf(again, sizeof(again), "%s", file);
    char *p = strstr(again, ":20:P1");
    ck_assert_ptr_nonnull(p);
    p[4] = 'Q';
    r = post_file(finance, "text/plain", "?format=mt940", again);
    fgt_expect(r, 201, NULL);
    ck_assert_int_eq(fgt_json_int(&r, "new_lines", NULL), 0);
    ck_assert_int_eq(fgt_json_int(&r, "overlapped_lines", NULL), 2);
    fgt_response_free(&r);
    ck_assert_int_eq(lines_of(account), 2);
    /* a transfer in, then its reversal under the same reference */
    snprintf(reversal, sizeof(reversal),
             ":20:R%s\r\n:25:%s\r\n:28C:00002/001\r\n:60F:C261202VND978000,\r\n"
             ":61:2612031203C50000,NTRFNONREF//FTR%s\r\n:86:CHUYEN NHAM\r\n"
             ":61:2612031203RC50000,NTRFNONREF//FTR%s\r\n:86:HOAN CHUYEN NHAM\r\n"
             ":62F:C261203VND978000,\r\n-\r\n",
             tag, account, tag, tag);
    r = post_file(finance, "text/plain", "?format=mt940", reversal);
    fgt_expect(r, 201, NULL);
    ck_assert_int_eq(fgt_json_int(&r, "new_lines", NULL), 2);
    fgt_response_free(&r);
    ck_assert_int_eq(lines_of(account), 4);
}
END_TEST

START_TEST(unbalanced_statement_stores_nothing)
{
    char account[40];
    snprintf(account, sizeof(account), "%s", fgt_account("ACCB"));
    char *file = camt053(account, fgt_unique("T"), "2026-12-02", "2026-12-01", 100000000, 15000000, 114999999, "X");
    fgt_response_t r = post_file(finance, "application/xml", NULL, file);
    fgt_expect_error(r, 422, "invalid_request", "statement_unbalanced");
    ck_assert_int_eq(fgt_json_int(&r, "error", "opening", NULL), 100000000);
    ck_assert_int_eq(fgt_json_int(&r, "error", "lines_total", NULL), 14994500);
    ck_assert_int_eq(fgt_json_int(&r, "error", "expected_closing", NULL), 114994500);
    ck_assert_int_eq(fgt_json_int(&r, "error", "closing", NULL), 114999999);
    fgt_response_free(&r);
    /* an MT940 whose closing is not its opening plus its lines: the same 422 and figures */
    char *sta = mt940(account, fgt_unique("T"), "2026-12-02", "2026-12-01", 100000000, 15000000, 114999999);
    r = post_file(finance, "application/vnd.swift.mt940", NULL, sta);
    fgt_expect_error(r, 422, "invalid_request", "statement_unbalanced");
    ck_assert_int_eq(fgt_json_int(&r, "error", "opening", NULL), 100000000);
    ck_assert_int_eq(fgt_json_int(&r, "error", "expected_closing", NULL), 114994500);
    ck_assert_int_eq(fgt_json_int(&r, "error", "closing", NULL), 114999999);
    fgt_response_free(&r);
    /* a camt.053 without its opening balance cannot be checked: refused, not taken unchecked */
    char *open_less = camt053(account, fgt_unique("T"), "2026-12-02", "2026-12-01", 100000000, 15000000, 114994500,
                              "Z");
    char *opbd = strstr(open_less, "OPBD");
    ck_assert_ptr_nonnull(opbd);
    memcpy(opbd, "ITBD", 4); /* an interim balance: no opening */
    r = post_file(finance, "application/xml", NULL, open_less);
    fgt_expect_error(r, 400, "invalid_request", "invalid_statement");
    ck_assert_ptr_nonnull(strstr(fgt_json_str(&r, "error", "message", NULL), "no opening balance"));
    fgt_response_free(&r);
    ck_assert_int_eq(imports_of(account), 0);
    ck_assert_int_eq(lines_of(account), 0);
    free(file);
    free(sta);
    free(open_less);
}
END_TEST

/* An account holds one currency: a statement of it in another is refused
 * whole (its reconciliations, reports and payout batches read the account's
 * currency off its statements; a dollar line among dong read 11.800,00 USD). */
START_TEST(an_account_holds_one_currency)
{
    char account[40], file[1024];
    snprintf(account, sizeof(account), "%s", fgt_account("CUR"));
    snprintf(file, sizeof(file),
             "account,currency,booking_date,value_date,amount,bank_ref,end_to_end,counterparty,memo\n"
             "%s,VND,opening,2026-12-01,1000000,,,,\n%s,VND,2026-12-02,2026-12-02,180000,V%s,,,HOC PHI\n"
             "%s,VND,closing,2026-12-02,1180000,,,,\n",
             account, account, account, account);
    fgt_response_t r = post_file(finance, "text/csv", NULL, file);
    fgt_expect(r, 201, NULL);
    fgt_response_free(&r);
    snprintf(file, sizeof(file),
             "account,currency,booking_date,value_date,amount,bank_ref,end_to_end,counterparty,memo\n"
             "%s,USD,2026-12-03,2026-12-03,12.34,U%s,,,TUITION\n",
             account, account);
    r = post_file(finance, "text/csv", NULL, file);
    fgt_expect_error(r, 400, "invalid_request", "invalid_statement");
    ck_assert_msg(strstr(fgt_json_str(&r, "error", "message", NULL), "holds VND, not USD") != NULL, "%s",
                  fgt_json_str(&r, "error", "message", NULL));
    fgt_response_free(&r);
    ck_assert_int_eq(imports_of(account), 1);
    ck_assert_int_eq(lines_of(account), 1);
}
END_TEST

START_TEST(bad_files_are_refused_naming_the_place)
{
    char account[40];
    snprintf(account, sizeof(account), "%s", fgt_account("ACCX"));
    char *file = camt053(account, fgt_unique("T"), "2026-12-02", "2026-12-01", 100000000, 15000000, 114994500, "Y");
    /* truncated XML */
    file[strlen(file) / 2] = '\0';
    fgt_response_t r = post_file(finance, "application/xml", NULL, file);
    fgt_expect_error(r, 400, "invalid_request", "invalid_statement");
    ck_assert_int_gt(fgt_json_int(&r, "error", "line", NULL), 0);
    fgt_response_free(&r);
    /* a decimal VND amount */
    char *sta = mt940(account, fgt_unique("T"), "2026-12-02", "2026-12-01", 100000000, 15000000, 114994500);
    char *comma = strstr(sta, "15000000,");
    ck_assert_ptr_nonnull(comma);
    memcpy(comma + 8, ",5", 2); /* "1500000,5": decimals in VND */
    r = post_file(finance, "application/vnd.swift.mt940", NULL, sta);
    fgt_expect_error(r, 400, "invalid_request", "invalid_statement");
    ck_assert_int_gt(fgt_json_int(&r, "error", "line", NULL), 0);
    fgt_response_free(&r);
    /* balances beyond any amount (the lines still add up): refused before the bank book's sums could overflow */
    char *huge = mt940(account, fgt_unique("T"), "2026-12-02", "2026-12-01", 9000000000000000000LL, 5500,
                       9000000000000000000LL);
    r = post_file(finance, "application/vnd.swift.mt940", NULL, huge);
    fgt_expect_error(r, 400, "invalid_request", "invalid_statement");
    ck_assert_ptr_nonnull(strstr(fgt_json_str(&r, "error", "message", NULL), "balance is beyond"));
    fgt_response_free(&r);
    free(huge);
    /* dated tomorrow (GMT+7): no bank books on a day that has not begun; a wrong date never
     * reaches the ledger, nor a day to come that could be reconciled and closed */
    char today[16], tomorrow[16];
    time_t t = time(NULL) + 7 * 3600;
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(today, sizeof(today), "%Y-%m-%d", &tm);
    t += 86400;
    gmtime_r(&t, &tm);
    strftime(tomorrow, sizeof(tomorrow), "%Y-%m-%d", &tm);
    char *ahead = mt940(account, fgt_unique("T"), tomorrow, today, 100000000, 15000000, 114994500);
    r = post_file(finance, "application/vnd.swift.mt940", NULL, ahead);
    fgt_expect_error(r, 400, "invalid_request", "invalid_statement");
    ck_assert_msg(strstr(fgt_json_str(&r, "error", "message", NULL), "a day that has not begun") != NULL, "%s",
                  fgt_json_str(&r, "error", "message", NULL));
    ck_assert_int_gt(fgt_json_int(&r, "error", "line", NULL), 0);
    fgt_response_free(&r);
    free(ahead);
    char csv[1024];
    snprintf(csv, sizeof(csv),
             "account,currency,booking_date,value_date,amount,bank_ref,end_to_end,counterparty,memo\n"
             "%s,VND,opening,%s,1000,,,,\n"
             "%s,VND,closing,%s,1000,,,,\n",
             account, today, account, tomorrow);
    r = post_file(finance, "text/csv", NULL, csv);
    fgt_expect_error(r, 400, "invalid_request", "invalid_statement");
    ck_assert_msg(strstr(fgt_json_str(&r, "error", "message", NULL), "closing balance is dated") != NULL, "%s",
                  fgt_json_str(&r, "error", "message", NULL));
    fgt_response_free(&r);
    /* a camt.053 whose period (FrToDt) begins tomorrow, or after its first line: the bank book
     * would post its opening on that day (an opening of a day to come, and a gap the day the lines
     * were booked) */
    static const char *const STARTS[] = {NULL, "2026-12-05"};
    for (int i = 0; i < 2; i++) {
        char *camt = camt053(account, fgt_unique("T"), "2026-12-02", "2026-12-01", 100000000, 15000000, 114994500,
                             "HOC PHI");
        char *acct = strstr(camt, "</CreDtTm>\n<Acct>");
        ck_assert_ptr_nonnull(acct);
        char period[200], *with = malloc(strlen(camt) + sizeof(period));
        ck_assert_ptr_nonnull(with);
        snprintf(period, sizeof(period),
                 "<FrToDt><FrDtTm>%sT00:00:00+07:00</FrDtTm><ToDtTm>%sT23:59:59+07:00</ToDtTm>"
                 "</FrToDt>",
                 i == 0 ? tomorrow : STARTS[i], i == 0 ? tomorrow : STARTS[i]);
        size_t head = (size_t)(acct - camt) + strlen("</CreDtTm>");
        snprintf(with, strlen(camt) + sizeof(period), "%.*s%s%s", (int)head, camt, period, camt + head);
        r = post_file(finance, "application/xml", NULL, with);
        fgt_expect_error(r, 400, "invalid_request", "invalid_statement");
        const char *message = fgt_json_str(&r, "error", "message", NULL);
        ck_assert_msg(strstr(message, i == 0 ? "a day that has not begun" : "after its first line (2026-12-02)") !=
                          NULL,
                      "%s", message);
        fgt_response_free(&r);
        free(with);
        free(camt);
    }
    ck_assert_int_eq(imports_of(account), 0);
    ck_assert_int_eq(lines_of(account), 0);
    /* not a statement at all, and a format that does not exist */
    r = post_file(finance, "application/octet-stream", NULL, "hello, world\n");
    fgt_expect_error(r, 400, "invalid_request", "unknown_format");
    fgt_response_free(&r);
    r = post_file(finance, "application/xml", "?format=camt.999", "<x/>");
    fgt_expect(r, 400, "invalid_format");
    fgt_response_free(&r);
    ck_assert_int_eq(imports_of(account), 0);
    free(file);
    free(sta);
}
END_TEST

START_TEST(only_finance_and_admin_import)
{
    char account[40];
    snprintf(account, sizeof(account), "%s", fgt_account("ACCR"));
    char *file = camt053(account, fgt_unique("T"), "2026-12-02", "2026-12-01", 100000000, 15000000, 114994500, "Z");
    fgt_response_t r = post_file(auditor, "application/xml", NULL, file);
    ck_assert_int_eq(r.status, 403);
    fgt_response_free(&r);
    r = post_file("not-a-token", "application/xml", NULL, file);
    ck_assert_int_eq(r.status, 401);
    fgt_response_free(&r);
    ck_assert_int_eq(imports_of(account), 0);
    free(file);
}
END_TEST

START_TEST(csv_exports_import)
{
    char account[40], file[2300];
    snprintf(account, sizeof(account), "%s", fgt_account("99V"));
    /* a Vietnamese bank's bilingual export, as downloaded (BOM, quoted, a wrapped memo) */
    snprintf(
        file, sizeof(file),
        "\xEF\xBB\xBF\"SAO K\xC3\x8A T\xC3\x80I KHO\xE1\xBA\xA2N / STATEMENT OF ACCOUNT\",,,,,,\r\n"
        "\"S\xE1\xBB\x91 t\xC3\xA0i kho\xE1\xBA\xA3n / Account number: %s\",,,,,,\r\n"
        "\"T\xE1\xBB\xAB ng\xC3\xA0y / From: 02/12/2026  \xC4\x90\xE1\xBA\xBFn ng\xC3\xA0y / To: 02/12/2026\",,,,,,\r\n"
        "\"S\xE1\xBB\x91 d\xC6\xB0 \xC4\x91\xE1\xBA\xA7u k\xE1\xBB\xB3 / Opening balance\",,,,,\"100.000.000\",\r\n"
        "\"STT / No.\",\"Ng\xC3\xA0y giao d\xE1\xBB\x8B"
        "ch / Transaction date\",\"S\xE1\xBB\x91 tham chi\xE1\xBA\xBFu / "
        "Reference\",\"Ghi n\xE1\xBB\xA3 / Debit\",\"Ghi c\xC3\xB3 / Credit\",\"S\xE1\xBB\x91 d\xC6\xB0 / Balance\","
        "\"N\xE1\xBB\x99i dung chi ti\xE1\xBA\xBFt / Description\"\r\n"
        "1,\"02/12/2026\",\"%s-1\",,\"4.500.000\",\"104.500.000\",\"NOP HOC PHI\r\n 7Z50K5DDM7F\"\r\n"
        "2,\"02/12/2026\",\"%s-2\",\"15.000\",,\"104.485.000\",\"PHI QUAN LY\"\r\n"
        "\"S\xE1\xBB\x91 d\xC6\xB0 cu\xE1\xBB\x91i k\xE1\xBB\xB3 / Closing balance\",,,,,\"104.485.000\",\r\n",
        account, account, account);
    fgt_response_t r = post_file(finance, "text/csv; profile=vn", NULL, file);
    fgt_expect(r, 201, NULL);
    ck_assert_str_eq(fgt_json_str(&r, "format", NULL), "csv-vn");
    ck_assert_str_eq(fgt_json_str(&r, "account", NULL), account);
    ck_assert_int_eq(fgt_json_int(&r, "new_lines", NULL), 2);
    ck_assert_int_eq(fgt_json_int(&r, "credits", NULL), 4500000);
    ck_assert_int_eq(fgt_json_int(&r, "debits", NULL), 15000);
    fgt_response_free(&r);
    char memo_sql[200];
    snprintf(memo_sql, sizeof(memo_sql), "SELECT COUNT(*) FROM statement_lines WHERE account = ? AND memo = ?");
    ck_assert_int_eq(fgt_db_int(memo_sql, account, "NOP HOC PHI 7Z50K5DDM7F"), 1);
    /* the closing balance is the period's last day's: a reconciliation of that day compares it */
    char body[160], path[120];
    snprintf(body, sizeof(body), "{\"account\":\"%s\",\"from\":\"2026-12-02\",\"to\":\"2026-12-02\"}", account);
    r = fgt_req(&srv, FGT_H2C, "POST", "/v1/reconciliations", finance, fgt_unique("rec"), body, 0, NULL);
    fgt_expect(r, 201, NULL);
    snprintf(path, sizeof(path), "/v1/reconciliations/%s", fgt_json_str(&r, "id", NULL));
    fgt_response_free(&r);
    r = fgt_req(&srv, FGT_H2C, "GET", path, finance, NULL, NULL, 0, NULL);
    fgt_expect(r, 200, NULL);
    ck_assert_int_eq(fgt_json_int(&r, "bank_closing", NULL), 104485000);
    fgt_response_free(&r);

    /* our own layout, found by its first bytes (no Content-Type of its own) */
    char own[40];
    snprintf(own, sizeof(own), "%s", fgt_account("OWNW"));
    snprintf(file, sizeof(file),
             "account,currency,booking_date,value_date,amount,bank_ref,end_to_end,counterparty,memo\n"
             "%s,VND,opening,2026-12-01,1000000,,,,\n"
             "%s,VND,2026-12-02,2026-12-02,250000,R%s,,NGUYEN THI B,NUOC T11\n"
             "%s,VND,closing,2026-12-02,1250000,,,,\n",
             own, own, own, own);
    r = post_file(finance, "application/octet-stream", NULL, file);
    fgt_expect(r, 201, NULL);
    ck_assert_str_eq(fgt_json_str(&r, "format", NULL), "csv");
    ck_assert_int_eq(fgt_json_int(&r, "new_lines", NULL), 1);
    fgt_response_free(&r);
    ck_assert_int_eq(lines_of(own), 1);
}
END_TEST

START_TEST(the_same_file_at_once_imports_once)
{
    char account[40], auth[200];
    snprintf(account, sizeof(account), "%s", fgt_account("ACCP"));
    char *file = camt053(account, fgt_unique("T"), "2026-12-02", "2026-12-01", 100000000, 15000000, 114994500, "P");
    snprintf(auth, sizeof(auth), "Authorization: Bearer %s", finance);
    const char *headers[] = {auth, "Content-Type: application/xml", NULL};
    enum { N = 8 };
    fgt_request_t reqs[N];
    fgt_response_t out[N];
    for (int i = 0; i < N; i++)
        reqs[i] = (fgt_request_t){"POST", "/v1/statements", headers, file, 0, NULL};
    fgt_request_all(&srv, FGT_H2C, 1, N, reqs, NULL, NULL, out);
    int created = 0, duplicates = 0;
    char first[64] = "";
    for (int i = 0; i < N; i++) {
        ck_assert_msg(out[i].status == 201 || out[i].status == 200, "answer %d: %ld %s", i, out[i].status, out[i].body);
        created += out[i].status == 201;
        duplicates += out[i].status == 200;
        const char *id = fgt_json_str(&out[i], "id", NULL);
        if (first[0] == '\0')
            snprintf(first, sizeof(first), "%s", id);
        ck_assert_str_eq(id, first); /* one import, named by every answer */
        fgt_response_free(&out[i]);
    }
    ck_assert_int_eq(created, 1);
    ck_assert_int_eq(duplicates, N - 1);
    ck_assert_int_eq(imports_of(account), 1);
    ck_assert_int_eq(lines_of(account), 2);
    free(file);
}
END_TEST

START_TEST(cli_imports_a_file)
{
    char account[40], path[] = "/tmp/fg-statement-XXXXXX", out[2048], err[1024];
    snprintf(account, sizeof(account), "%s", fgt_account("ACCC"));
    char *sta = mt940(account, fgt_unique("T"), "2026-12-02", "2026-12-01", 100000000, 15000000, 114994500);
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, sta, strlen(sta)), (ssize_t)strlen(sta));
    close(fd);
    const char *args[] = {"statements", "import", path, NULL};
    ck_assert_int_eq(fgt_cli_run(args, NULL, NULL, out, sizeof(out), err, sizeof(err)), 0);
    ck_assert_msg(strstr(out, "\"format\":\"mt940\"") != NULL, "%s", out);
    ck_assert_msg(strstr(out, "\"new_lines\":2") != NULL, "%s", out);
    ck_assert_int_eq(fgt_cli_run(args, NULL, NULL, out, sizeof(out), err, sizeof(err)), 0);
    ck_assert_msg(strstr(out, "\"duplicate_of\":\"imp_") != NULL, "%s", out);
    ck_assert_int_eq(lines_of(account), 2);
    unlink(path);
    free(sta);
}
END_TEST

/* An MT940 day of account with one credit per reference: refs[i] for
 * 100,000 + i VND, opening 0, closing their sum. */
/* Line i's amount is amounts[i], or 100,000 + i when amounts is NULL. */
static char *mt940_lines(const char *account, const char *tag, char *const *refs, const int *amounts, int n)
{
    size_t cap = 256 + (size_t)n * (64 + 2 * 32); /* a reference is under 32 bytes */
    char *out = malloc(cap);
    ck_assert_ptr_nonnull(out);
    long long sum = 0;
    size_t len = (size_t)snprintf(out, cap, ":20:%s\r\n:25:%s\r\n:28C:00001/001\r\n:60F:C261201VND0,\r\n", tag,
                                  account);
    for (int i = 0; i < n; i++) {
        int amount = amounts != NULL ? amounts[i] : 100000 + i;
        len += (size_t)snprintf(out + len, cap - len, ":61:2612021202C%d,NTRFNONREF//%s\r\n:86:HOC PHI %s\r\n", amount,
                                refs[i], refs[i]);
        sum += amount;
        ck_assert_uint_lt(len, cap);
    }
    snprintf(out + len, cap - len, ":62F:C261202VND%lld,\r\n-\r\n", sum);
    return out;
}

/* Files of more than one batch (a thousand lines): after a batch that
 * overlapped, the next ones are first asked for their known keys; what is
 * stored and counted is what INSERT IGNORE alone would give, whether the
 * known lines come in a run or alternate with new ones. */
START_TEST(long_overlapping_exports_add_only_new_lines)
{
    enum { FIRST = 1500, LONGER = 2600, PAIRS = 1300 };
    char account[40], *refs[LONGER], *mixed[2 * PAIRS];
    snprintf(account, sizeof(account), "%s", fgt_account("ACCL"));
    const char *tag = fgt_unique("R");
    for (int i = 0; i < LONGER; i++) {
        refs[i] = malloc(32);
        snprintf(refs[i], 32, "%s%d", tag, i);
    }
    static int amounts[2 * PAIRS]; /* a known reference keeps its amount: 100,000 + its place in the first files */
    for (int i = 0; i < PAIRS; i++) {
        mixed[2 * i] = refs[i];
        amounts[2 * i] = 100000 + i;
        mixed[2 * i + 1] = malloc(32);
        snprintf(mixed[2 * i + 1], 32, "%sN%d", tag, i);
        amounts[2 * i + 1] = 100000 + 2 * i + 1;
    }
    char *first = mt940_lines(account, "DAY-A", refs, NULL, FIRST);
    char *longer = mt940_lines(account, "DAY-B", refs, NULL, LONGER);
    char *alternating = mt940_lines(account, "DAY-C", mixed, amounts, 2 * PAIRS);

    fgt_response_t r = post_file(finance, "text/plain", "?format=mt940", first);
    fgt_expect(r, 201, NULL);
    ck_assert_int_eq(fgt_json_int(&r, "new_lines", NULL), FIRST);
    fgt_response_free(&r);
    /* the first 1,500 known (a batch and a half), then 1,100 new */
    r = post_file(finance, "text/plain", "?format=mt940", longer);
    fgt_expect(r, 201, NULL);
    ck_assert_int_eq(fgt_json_int(&r, "lines", NULL), LONGER);
    ck_assert_int_eq(fgt_json_int(&r, "new_lines", NULL), LONGER - FIRST);
    ck_assert_int_eq(fgt_json_int(&r, "overlapped_lines", NULL), FIRST);
    fgt_response_free(&r);
    ck_assert_int_eq(lines_of(account), LONGER);
    /* known and new lines alternating over three batches */
    r = post_file(finance, "text/plain", "?format=mt940", alternating);
    fgt_expect(r, 201, NULL);
    ck_assert_int_eq(fgt_json_int(&r, "new_lines", NULL), PAIRS);
    ck_assert_int_eq(fgt_json_int(&r, "overlapped_lines", NULL), PAIRS);
    fgt_response_free(&r);
    ck_assert_int_eq(lines_of(account), LONGER + PAIRS);
    ck_assert_int_eq(fgt_db_int("SELECT COUNT(DISTINCT bank_ref) FROM statement_lines WHERE account = ?", account,
                                NULL),
                     LONGER + PAIRS);
    /* every stored line is an item, once */
    ck_assert_int_eq(fgt_db_int("SELECT COUNT(*) FROM recon_items i JOIN statement_lines l ON l.id = i.line_id "
                                "WHERE l.account = ?",
                                account, NULL),
                     LONGER + PAIRS);
    /* a new line keeps its own values when known rows around it were dropped */
    char ref[32];
    snprintf(ref, sizeof(ref), "%sN%d", tag, PAIRS - 1);
    ck_assert_int_eq(fgt_db_int("SELECT amount FROM statement_lines WHERE account = ? AND bank_ref = ?", account, ref),
                     100000 + 2 * PAIRS - 1);
    for (int i = 0; i < LONGER; i++)
        free(refs[i]);
    for (int i = 0; i < PAIRS; i++)
        free(mixed[2 * i + 1]);
    free(first);
    free(longer);
    free(alternating);
}
END_TEST

/* A bank reference is one booked line: a later file giving it another amount
 * is refused whole (skipped as overlapped, the new amount would be lost
 * without a word), whether the line comes in a file's first batch (stored
 * through INSERT IGNORE) or after a batch that overlapped (probed first). */
START_TEST(a_known_reference_with_another_amount_is_refused)
{
    enum { FIRST = 1100 };
    char account[40], *refs[FIRST + 1];
    snprintf(account, sizeof(account), "%s", fgt_account("ACCK"));
    const char *tag = fgt_unique("K");
    for (int i = 0; i <= FIRST; i++) {
        refs[i] = malloc(32);
        snprintf(refs[i], 32, "%s%d", tag, i);
    }
    char *first = mt940_lines(account, "DAY-A", refs, NULL, FIRST);
    fgt_response_t r = post_file(finance, "text/plain", "?format=mt940", first);
    fgt_expect(r, 201, NULL);
    fgt_response_free(&r);
    ck_assert_int_eq(lines_of(account), FIRST);

    /* a short file: a new line, then reference 5 at the place that gives it 100,001 (it was 100,005) */
    char *two[2] = {refs[FIRST], refs[5]};
    char *changed = mt940_lines(account, "DAY-B", two, NULL, 2);
    r = post_file(finance, "text/plain", "?format=mt940", changed);
    fgt_expect_error(r, 400, "invalid_request", "invalid_statement");
    const char *message = fgt_json_str(&r, "error", "message", NULL);
    ck_assert_msg(strstr(message, refs[5]) != NULL && strstr(message, "100005 VND") != NULL &&
                      strstr(message, "100001 VND") != NULL,
                  "%s", message);
    ck_assert_int_eq(fgt_json_int(&r, "error", "line", NULL), 7); /* the second :61: line */
    fgt_response_free(&r);
    ck_assert_int_eq(lines_of(account), FIRST); /* the new line was not kept either */

    /* a long one: its first batch all known, then reference 1,001 at place 1,000 (100,000 + 1,000) */
    char *shifted[FIRST];
    for (int i = 0; i < FIRST; i++)
        shifted[i] = refs[i < 1000 ? i : i + 1];
    char *longer = mt940_lines(account, "DAY-C", shifted, NULL, FIRST);
    r = post_file(finance, "text/plain", "?format=mt940", longer);
    fgt_expect_error(r, 400, "invalid_request", "invalid_statement");
    message = fgt_json_str(&r, "error", "message", NULL);
    ck_assert_msg(strstr(message, refs[1001]) != NULL && strstr(message, "101001 VND") != NULL, "%s", message);
    fgt_response_free(&r);
    ck_assert_int_eq(lines_of(account), FIRST);
    ck_assert_int_eq(imports_of(account), 1);

    /* a reference the bank gave two lines of a statement, listed in the other order next time:
     * the same two lines, overlapped, not a changed one */
    char twice[32];
    snprintf(twice, sizeof(twice), "%sP", tag);
    char *pair[2] = {twice, twice};
    static const int there[2] = {300000, 7000}, back[2] = {7000, 300000};
    char *first_pair = mt940_lines(account, "DAY-E", pair, there, 2);
    char *swapped = mt940_lines(account, "DAY-F", pair, back, 2);
    r = post_file(finance, "text/plain", "?format=mt940", first_pair);
    fgt_expect(r, 201, NULL);
    ck_assert_int_eq(fgt_json_int(&r, "new_lines", NULL), 2);
    fgt_response_free(&r);
    r = post_file(finance, "text/plain", "?format=mt940", swapped);
    fgt_expect(r, 201, NULL);
    ck_assert_int_eq(fgt_json_int(&r, "overlapped_lines", NULL), 2);
    fgt_response_free(&r);
    free(first_pair);
    free(swapped);

    /* the same lines with their own amounts still overlap as before */
    char *again = mt940_lines(account, "DAY-D", refs, NULL, FIRST + 1);
    r = post_file(finance, "text/plain", "?format=mt940", again);
    fgt_expect(r, 201, NULL);
    ck_assert_int_eq(fgt_json_int(&r, "new_lines", NULL), 1);
    ck_assert_int_eq(fgt_json_int(&r, "overlapped_lines", NULL), FIRST);
    fgt_response_free(&r);
    for (int i = 0; i <= FIRST; i++)
        free(refs[i]);
    free(first);
    free(changed);
    free(longer);
    free(again);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("statements");
    TCase *tc = tcase_create("import");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, camt053_imports_once);
    tcase_add_test(tc, imports_are_read_back_with_their_statements_and_lines);
    tcase_add_test(tc, overlapping_export_adds_only_new_lines);
    tcase_add_test(tc, a_day_in_pages_keeps_each_pages_lines);
    tcase_add_test(tc, equal_end_to_end_ids_of_two_payers_are_two_lines);
    tcase_add_test(tc, unbalanced_statement_stores_nothing);
    tcase_add_test(tc, bad_files_are_refused_naming_the_place);
    tcase_add_test(tc, an_account_holds_one_currency);
    tcase_add_test(tc, only_finance_and_admin_import);
    tcase_add_test(tc, csv_exports_import);
    tcase_add_test(tc, the_same_file_at_once_imports_once);
    tcase_add_test(tc, cli_imports_a_file);
    tcase_add_test(tc, long_overlapping_exports_add_only_new_lines);
    tcase_add_test(tc, a_known_reference_with_another_amount_is_refused);
    suite_add_tcase(s, tc);
    fgt_staff_token("finance", finance);
    fgt_staff_token("auditor", auditor);
    fgt_server_start(&srv, NULL);
    int rc = fgt_run(s);
    if (fgt_server_stop(&srv) != 0)
        rc = 1;
    return rc;
}
