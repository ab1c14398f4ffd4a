/*
 * test_payouts.c - what the city pays each merchant: payout accounts set by
 * an admin (API and CLI), payouts against the merchant's ledger balance
 * (validation, the over-balance refusal, reference reuse, idempotent replay,
 * eight at once never overdrawing), a batch and its bulk-transfer CSV read
 * back, and the statement's debit lines matched by the rule 'payout' (one per
 * payout, by its id or its reference, or one for a batch's total), the
 * payouts paid, and `feegate ledger check` green; the merchant paid out hears
 * reconciliation.completed when that day closes.  The pure reading of a
 * bank's memo is tested first, without the server.
 */
#define _GNU_SOURCE /* mkstemps */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "harness.h"
#include "recon/recon_internal.h"

#define SEPAY_KEY "it-sepay-key"
static fgt_server_t srv;
static char finance[128], auditor[128], admin[128];

/* ---- helpers ------------------------------------------------------------------------ */

/* `feegate admin merchant set-payout-account`; its exit status, stdout in out. */
static int cli_set_account(const char *merchant, const char *bin, const char *number, const char *name, char *out,
                           size_t cap)
{
    char err[1024];
    const char *args[] = {"admin",     "merchant", "set-payout-account",
                          merchant,    "--bin",    bin,
                          "--account", number,     "--name",
                          name,        NULL};
    return fgt_cli_run(args, NULL, NULL, out, cap, err, sizeof(err));
}

/* A new merchant, with a payout account at Vietcombank when with_account. */
static void merchant_new(fgt_merchant_t *m, int with_account)
{
    char out[1024];
    fgt_merchant_create("Trường Tiểu học Chi Trả", m->id, m->key);
    if (with_account)
        ck_assert_int_eq(cli_set_account(m->id, "970436", "0071000123456", "TRUONG TIEU HOC CHI TRA", out, sizeof(out)),
                         0);
}

/* The merchant collects amount: an order paid by a transfer the SePay feed
 * reports (Dr clearing:vietqr, Cr the merchant). */
/* A transfer of amount naming the order with this code, through the SePay feed. */
static void transfer_in(const char *code, long long amount)
{
    static long long transfers;
    char body[1024], ref[64];
    snprintf(ref, sizeof(ref), "FT%s", fgt_unique("f"));
    snprintf(body, sizeof(body),
             "{\"id\":%lld,\"gateway\":\"Vietcombank\",\"transactionDate\":\"2026-12-02 09:00:00\","
             "\"accountNumber\":\"0011001932418\",\"code\":null,\"content\":\"HOC PHI %s\",\"transferType\":\"in\","
             "\"transferAmount\":%lld,\"accumulated\":0,\"subAccount\":null,\"referenceCode\":\"%s\","
             "\"description\":\"\"}",
             /* the feed's id: unique across runs and the suite's forked tests */
             ((long long)time(NULL) % 100000000) * 100000 + (getpid() % 1000) * 100 + transfers++ % 100, code, amount,
             ref);
    const char *headers[] = {"Authorization: Apikey " SEPAY_KEY, "Content-Type: application/json", NULL};
    fgt_response_t r = fgt_request(&srv, FGT_H2C, "POST", "/v1/webhooks/sepay", headers, body, 0);
    ck_assert_int_eq(r.status, 200);
    fgt_response_free(&r);
}

/* An order of amount, paid by a transfer; its code in code[16] (may be NULL). */
static void fund_order(const fgt_merchant_t *m, long long amount, char *code_out)
{
    char code[16];
    fgt_response_t r = fgt_order_create(&srv, FGT_H2C, m->key, NULL, fgt_unique("HD"), amount, NULL);
    fgt_expect(r, 201, NULL);
    snprintf(code, sizeof(code), "%s", fgt_json_str(&r, "code", NULL));
    fgt_response_free(&r);
    transfer_in(code, amount);
    ck_assert_int_eq(fgt_db_int("SELECT COUNT(*) FROM orders WHERE code = ? AND status = 'paid'", code, NULL), 1);
    if (code_out != NULL)
        memcpy(code_out, code, sizeof(code));
}

static void fund(const fgt_merchant_t *m, long long amount) { fund_order(m, amount, NULL); }

/* The merchant's balance as the ledger API reads it (credit-normal). */
static long long balance_of(const char *merchant)
{
    char path[160];
    snprintf(path, sizeof(path), "/v1/ledger/accounts/liabilities:merchant:%s", merchant);
    fgt_response_t r = fgt_req(&srv, FGT_H2C, "GET", path, auditor, NULL, NULL, 0, NULL);
    fgt_expect(r, 200, NULL);
    long long balance = fgt_json_int(&r, "balance", NULL);
    fgt_response_free(&r);
    return balance;
}

/* The sum of a ledger account's entries (debit positive). */
static long long entries_of(const char *code)
{
    return fgt_db_int("SELECT COALESCE(SUM(e.amount), 0) FROM ledger_entries e JOIN ledger_accounts a ON "
                      "a.id = e.account_id WHERE a.code = ?",
                      code, NULL);
}

static char *payout_body(const char *merchant, long long amount, const char *reference)
{
    char escaped[256];
    size_t n = 0;
    for (const char *c = reference; *c != '\0' && n + 2 < sizeof(escaped); c++) {
        if (*c == '"' || *c == '\\')
            escaped[n++] = '\\';
        escaped[n++] = *c;
    }
    escaped[n] = '\0';
    char *body = malloc(512);
    ck_assert_ptr_nonnull(body);
    snprintf(body, 512, "{\"merchant_id\":\"%s\",\"amount\":%lld,\"reference\":\"%s\"}", merchant, amount, escaped);
    return body;
}

/* POST /v1/payouts as finance. */
static fgt_response_t payout(const char *merchant, long long amount, const char *reference, const char *idem)
{
    char *body = payout_body(merchant, amount, reference);
    fgt_response_t r = fgt_req(&srv, FGT_H2C, "POST", "/v1/payouts", finance, idem, body, 0, NULL);
    free(body);
    return r;
}

/* A payout made: its id in id (FGT_ID_CAP). */
/* A pending refund of amount of one of the merchant's succeeded payments
 * (those meeting where, an SQL condition on p): a payout of try leaves it
 * refused, naming balance; then the refund fails. */
static void held_back_by(const char *merchant, const char *where, long long amount, long long try, long long balance)
{
    char pending[FGT_ID_CAP], sql[640];
    snprintf(pending, sizeof(pending), "%s", fgt_unique("rfd_"));
    snprintf(sql, sizeof(sql),
             "INSERT INTO refunds (public_id, payment_id, merchant_id, amount, currency, status, reason, "
             "next_query_at, created_at, updated_at) SELECT ?, p.id, p.merchant_id, %lld, 'VND', 'pending', "
             "'held back', NULL, 0, 0 FROM payments p JOIN merchants m ON m.id = p.merchant_id WHERE m.public_id = "
             "'%s' AND p.status = 'succeeded' AND %s LIMIT 1",
             amount, merchant, where);
    fgt_db_exec(sql, pending);
    ck_assert_int_eq(fgt_db_int("SELECT COUNT(*) FROM refunds WHERE public_id = ?", pending, NULL), 1);
    fgt_response_t r = payout(merchant, try, fgt_unique("c"), NULL);
    fgt_expect_error(r, 422, "invalid_request", "payout_exceeds_balance");
    ck_assert_int_eq(fgt_json_int(&r, "error", "balance", NULL), balance);
    fgt_response_free(&r);
    fgt_db_exec("UPDATE refunds SET status = 'failed' WHERE public_id = ?", pending);
}

static void payout_made(const char *merchant, long long amount, const char *reference, char *id)
{
    fgt_response_t r = payout(merchant, amount, reference, NULL);
    fgt_expect(r, 201, NULL);
    snprintf(id, FGT_ID_CAP, "%s", fgt_json_str(&r, "id", NULL));
    fgt_response_free(&r);
}

static const char *payout_status(const char *id)
{
    static char status[32];
    char path[128];
    snprintf(path, sizeof(path), "/v1/payouts/%s", id);
    fgt_response_t r = fgt_req(&srv, FGT_H2C, "GET", path, auditor, NULL, NULL, 0, NULL);
    fgt_expect(r, 200, NULL);
    snprintf(status, sizeof(status), "%s", fgt_json_str(&r, "status", NULL));
    fgt_response_free(&r);
    return status;
}

/* POST /v1/payout-batches for account; the answer. */
static fgt_response_t batch_create(const char *account)
{
    char body[128];
    snprintf(body, sizeof(body), "{\"account\":\"%s\"}", account);
    return fgt_req(&srv, FGT_H2C, "POST", "/v1/payout-batches", finance, NULL, body, 0, NULL);
}

/* Batches every payout left pending by earlier tests, so the next batch
 * holds only this test's (paid from the configured collection account, as
 * another bank writes it). */
static void batch_leftovers(void)
{
    fgt_response_t r = batch_create("0011-001 932418");
    ck_assert(r.status == 201 || r.status == 409);
    fgt_response_free(&r);
}

/* A bank's rewrite of a memo: upper case, every mark a space. */
static void bank_rewrite(const char *in, char *out, size_t cap)
{
    size_t n = 0;
    for (; *in != '\0' && n + 1 < cap; in++) {
        char c = *in;
        out[n++] = c >= 'a' && c <= 'z'                               ? (char)(c - 'a' + 'A')
                   : (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') ? c
                                                                      : ' ';
    }
    out[n] = '\0';
}

typedef struct {
    const char *ref, *memo;
    long long amount; /* < 0: a debit */
} line_t;

/* A camt.053 of account for day (yyyy-mm-dd), opening at opening the day
 * before, with these lines, balancing (as test_reconcile.c writes them). */
static char *statement_on(const char *account, const char *day, const char *before, long long opening,
                          const line_t *lines, int n)
{
    size_t cap = 4096 + (size_t)n * 1024;
    char *out = malloc(cap);
    ck_assert_ptr_nonnull(out);
    char compact[16];
    snprintf(compact, sizeof(compact), "%.4s%.2s%.2s", day, day + 5, day + 8);
    long long closing = opening;
    for (int i = 0; i < n; i++)
        closing += lines[i].amount;
    int len = snprintf(out, cap,
                       "<?xml version=\"1.0\"?>\n<Document xmlns=\"urn:iso:std:iso:20022:tech:xsd:camt.053.001.08\">"
                       "<BkToCstmrStmt><GrpHdr><MsgId>%s</MsgId><CreDtTm>2026-12-02T23:59:00+07:00</CreDtTm></GrpHdr>"
                       "<Stmt><Id>%s-%s</Id><Acct><Id><Othr><Id>%s</Id></Othr></Id><Ccy>VND</Ccy></Acct>"
                       "<Bal><Tp><CdOrPrtry><Cd>OPBD</Cd></CdOrPrtry></Tp><Amt Ccy=\"VND\">%lld</Amt>"
                       "<CdtDbtInd>CRDT</CdtDbtInd><Dt><Dt>%s</Dt></Dt></Bal>"
                       "<Bal><Tp><CdOrPrtry><Cd>CLBD</Cd></CdOrPrtry></Tp><Amt Ccy=\"VND\">%lld</Amt>"
                       "<CdtDbtInd>CRDT</CdtDbtInd><Dt><Dt>%s</Dt></Dt></Bal>\n",
                       fgt_unique("M"), account, compact, account, opening, before, closing, day);
    for (int i = 0; i < n; i++) {
        long long a = lines[i].amount;
        len += snprintf(out + len, cap - (size_t)len,
                        "<Ntry><Amt Ccy=\"VND\">%lld</Amt><CdtDbtInd>%s</CdtDbtInd><Sts><Cd>BOOK</Cd></Sts>"
                        "<BookgDt><Dt>%s</Dt></BookgDt><ValDt><Dt>%s</Dt></ValDt>"
                        "<AcctSvcrRef>%s</AcctSvcrRef><NtryDtls><TxDtls><RmtInf><Ustrd>%s</Ustrd></RmtInf></TxDtls>"
                        "</NtryDtls></Ntry>\n",
                        a < 0 ? -a : a, a < 0 ? "DBIT" : "CRDT", day, day, lines[i].ref, lines[i].memo);
    }
    snprintf(out + len, cap - (size_t)len, "</Stmt></BkToCstmrStmt></Document>\n");
    return out;
}

/* Imports a statement of account for 2026-12-03 opening at 900,000,000 and
 * waits until the matching job has decided every line of the account; the
 * import's id in import_id (FGT_ID_CAP) unless NULL. */
static void import_and_match(const char *account, const line_t *lines, int n, char *import_id)
{
    char auth[200];
    char *file = statement_on(account, "2026-12-03", "2026-12-02", 900000000, lines, n);
    snprintf(auth, sizeof(auth), "Authorization: Bearer %s", finance);
    const char *headers[] = {auth, "Content-Type: application/xml", NULL};
    fgt_response_t r = fgt_request(&srv, FGT_H2C, "POST", "/v1/statements", headers, file, 0);
    fgt_expect(r, 201, NULL);
    ck_assert_int_eq(fgt_json_int(&r, "new_lines", NULL), n);
    if (import_id != NULL)
        snprintf(import_id, FGT_ID_CAP, "%s", fgt_json_str(&r, "id", NULL));
    fgt_response_free(&r);
    free(file);
    for (int i = 0; i < 300; i++) {
        if (fgt_db_int("SELECT COUNT(*) FROM recon_items WHERE account = ? AND state = 'unmatched'", account, NULL) ==
            0)
            return;
        fgt_sleep_ms(100);
    }
    ck_abort_msg("lines of %s still unmatched after 30 s", account);
}

/* Makes account one of the city's by importing its statement of
 * 2026-12-02, without lines, closing at the 900,000,000 the statement of
 * import_and_match opens with. */
static void account_opened(const char *account)
{
    char auth[200];
    char *file = statement_on(account, "2026-12-02", "2026-12-01", 900000000, NULL, 0);
    snprintf(auth, sizeof(auth), "Authorization: Bearer %s", finance);
    const char *headers[] = {auth, "Content-Type: application/xml", NULL};
    fgt_response_t r = fgt_request(&srv, FGT_H2C, "POST", "/v1/statements", headers, file, 0);
    fgt_expect(r, 201, NULL);
    fgt_response_free(&r);
    free(file);
}

/* Pages through the import's lines (two a page) for the one whose id is
 * line_id; its bank reference in bank_ref (64), and 1, or 0 when none is. */
static int line_listed(const char *import_id, long long line_id, char *bank_ref)
{
    char path[200], cursor[64] = "";
    int found = 0;
    for (int pages = 0; pages < 100; pages++) {
        snprintf(path, sizeof(path), "/v1/statements/%s/lines?limit=2%s%s", import_id, cursor[0] ? "&cursor=" : "",
                 cursor);
        fgt_response_t r = fgt_req(&srv, FGT_H2C, "GET", path, auditor, NULL, NULL, 0, NULL);
        fgt_expect(r, 200, NULL);
        yajl_val data = fgt_json_array(&r, "data", NULL);
        for (size_t i = 0; i < data->u.array.len; i++) {
            yajl_val id = fgt_val_at(data->u.array.values[i], "id", NULL);
            ck_assert(id != NULL && YAJL_IS_INTEGER(id));
            if (YAJL_GET_INTEGER(id) == line_id) {
                snprintf(bank_ref, 64, "%s", fgt_val_str(data->u.array.values[i], "bank_ref", NULL));
                found++;
            }
        }
        const char *next = fgt_json_str(&r, "next_cursor", NULL);
        snprintf(cursor, sizeof(cursor), "%s", next != NULL ? next : "");
        fgt_response_free(&r);
        if (cursor[0] == '\0')
            return found;
    }
    ck_abort_msg("the lines of %s never end", import_id);
    return 0;
}

/* The state and rule of the item of the line with this bank reference. */
static void item_of(const char *account, const char *ref, char *state, char *rule)
{
    long long s = fgt_db_int("SELECT FIELD(i.state, 'matched', 'bank_only', 'amount_mismatch') FROM recon_items i "
                             "JOIN statement_lines l ON l.id = i.line_id WHERE l.account = ? AND l.bank_ref = ?",
                             account, ref);
    long long k = fgt_db_int("SELECT FIELD(i.rule, 'payout') FROM recon_items i JOIN statement_lines l ON l.id = "
                             "i.line_id WHERE l.account = ? AND l.bank_ref = ?",
                             account, ref);
    static const char *const STATES[] = {"other", "matched", "bank_only", "amount_mismatch"};
    snprintf(state, 32, "%s", s >= 0 && s <= 3 ? STATES[s] : "other");
    snprintf(rule, 32, "%s", k == 1 ? "payout" : "other");
}

/* ---- files read back by an independent reader ----------------------------------------- */

/* A file the service answered, read back by tests/integration/read_report.py (Python's csv
 * module, openpyxl), which lives beside this file.  Its JSON summary (free it). */
static yajl_val read_back(const fgt_response_t *r, const char *kind)
{
    char path[64], cmd[1200];
    snprintf(path, sizeof(path), "/tmp/feegate-payout-test-XXXXXX.%s", kind); /* openpyxl goes by the extension */
    int fd = mkstemps(path, (int)strlen(kind) + 1);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, r->body, r->body_len), (ssize_t)r->body_len);
    close(fd);
    const char *slash = strrchr(__FILE__, '/'); /* CMake compiles the sources by their absolute paths */
    snprintf(cmd, sizeof(cmd), "/usr/bin/python3 %.*s/read_report.py %s %s",
             slash != NULL ? (int)(slash - __FILE__) : 1, slash != NULL ? __FILE__ : ".", kind, path);
    FILE *p = popen(cmd, "r");
    ck_assert_ptr_nonnull(p);
    static char out[1 << 20];
    size_t n = fread(out, 1, sizeof(out) - 1, p);
    out[n] = '\0';
    ck_assert_int_eq(pclose(p), 0);
    unlink(path);
    char err[200];
    yajl_val v = yajl_tree_parse(out, err, sizeof(err));
    ck_assert_msg(v != NULL, "read_report.py printed no JSON: %s", out);
    return v;
}

static long long val_int(yajl_val v, const char *a, const char *b)
{
    yajl_val x = fgt_val_at(v, a, b, NULL);
    ck_assert_msg(x != NULL && YAJL_IS_INTEGER(x), "no integer at %s%s%s", a, b != NULL ? "." : "", b != NULL ? b : "");
    return YAJL_GET_INTEGER(x);
}

/* The CSV cell at row (0: the first after the header), column. */
static const char *cell(yajl_val csv, size_t row, size_t col)
{
    yajl_val rows = fgt_val_at(csv, "cells", NULL);
    ck_assert(YAJL_IS_ARRAY(rows) && row < YAJL_GET_ARRAY(rows)->len);
    yajl_val r = YAJL_GET_ARRAY(rows)->values[row];
    ck_assert(YAJL_IS_ARRAY(r) && col < YAJL_GET_ARRAY(r)->len);
    ck_assert(YAJL_IS_STRING(YAJL_GET_ARRAY(r)->values[col]));
    return YAJL_GET_STRING(YAJL_GET_ARRAY(r)->values[col]);
}

/* A summed column of a report: its JSON key and CSV header, and its XLSX header. */
typedef struct {
    const char *key, *label;
} column_t;

/* The report at path (with a query, without format=) as JSON, CSV and XLSX, read back: the same
 * rows, and each column's JSON total is the sum of its CSV column, of its XLSX column and the
 * XLSX totals row's value.  Returns the JSON answer (free it). */
static fgt_response_t files_agree(const char *path, const column_t *cols, int n)
{
    char file_path[400];
    fgt_response_t j = fgt_req(&srv, FGT_H2C, "GET", path, auditor, NULL, NULL, 0, NULL);
    fgt_expect(j, 200, NULL);
    long long rows = (long long)YAJL_GET_ARRAY(fgt_json_array(&j, "data", NULL))->len;
    ck_assert_int_gt(rows, 0);
    snprintf(file_path, sizeof(file_path), "%s&format=csv", path);
    fgt_response_t r = fgt_req(&srv, FGT_H2C, "GET", file_path, auditor, NULL, NULL, 0, NULL);
    fgt_expect(r, 200, NULL);
    yajl_val csv = read_back(&r, "csv");
    fgt_response_free(&r);
    ck_assert(YAJL_IS_TRUE(fgt_val_at(csv, "bom", NULL)));
    ck_assert_int_eq(val_int(csv, "bare_lf", NULL), 0);
    ck_assert_int_eq(val_int(csv, "rows", NULL), rows);
    snprintf(file_path, sizeof(file_path), "%s&format=xlsx", path);
    r = fgt_req(&srv, FGT_H2C, "GET", file_path, auditor, NULL, NULL, 0, NULL);
    fgt_expect(r, 200, NULL);
    yajl_val x = read_back(&r, "xlsx");
    fgt_response_free(&r);
    ck_assert_int_eq(val_int(x, "rows", NULL), rows);
    ck_assert_str_eq(fgt_val_str(x, "freeze", NULL), "A2");
    for (int i = 0; i < n; i++) {
        long long total = fgt_json_int(&j, "totals", cols[i].key, NULL);
        ck_assert_msg(val_int(csv, "sums", cols[i].key) == total, "%s: CSV %s %lld, JSON %lld", path, cols[i].key,
                      val_int(csv, "sums", cols[i].key), total);
        ck_assert_msg(val_int(x, "sums", cols[i].label) == total, "%s: XLSX %s %lld, JSON %lld", path, cols[i].label,
                      val_int(x, "sums", cols[i].label), total);
        ck_assert_int_eq(val_int(x, "totals", cols[i].label), total);
    }
    yajl_tree_free(csv);
    yajl_tree_free(x);
    return j;
}

/* ---- the memo as a bank rewrites it (pure) ------------------------------------------- */

START_TEST(a_bank_memo_names_references_and_ids)
{
    char key[FG_PAYOUT_MATCH_KEY_MAX + 1];
    ck_assert_uint_eq(fg_payout_match_key("hp-T11/2026", 11, key), 9);
    ck_assert_str_eq(key, "HPT112026");
    ck_assert_uint_eq(fg_payout_match_key(" -/ ", 4, key), 0);

    fg_payout_text_t *t = malloc(sizeof(*t));
    ck_assert_ptr_nonnull(t);
    const char *memo = "MBVCB.123 CT TU TP HCM HP T11 2026 CHI TRA";
    fg_payout_text(memo, strlen(memo), t);
    ck_assert_int_eq(fg_payout_text_names(t, "HPT112026", 9), 1); /* split by spaces: still the words */
    ck_assert_int_eq(fg_payout_text_names(t, "T112026", 7), 1);
    ck_assert_int_eq(fg_payout_text_names(t, "PT112026", 8), 0); /* not at a word's start */
    ck_assert_int_eq(fg_payout_text_names(t, "HPT11202", 8), 0); /* not at a word's end */
    ck_assert_int_eq(fg_payout_text_names(t, "CHITRA", 6), 1);
    ck_assert_int_eq(fg_payout_text_names(t, "", 0), 0);

    /* ids as banks write them: upper case, the underscore gone or a space */
    const char *ids = "CHI TRA HP T11 PO 01JF7Q3ZK8Y2M4N6P8R0T2V4W6 POB_01JF7Q3ZK8Y2M4N6P8R0T2V4W7 "
                      "XPO01JF7Q3ZK8Y2M4N6P8R0T2V4W8 PO01JF7Q3ZK8Y2M4N6P8R0T2V4W9Z po01jf7q3zk8y2m4n6p8r0t2v4wa";
    fg_payout_text(ids, strlen(ids), t);
    char payouts[4][FG_ID_CAP], batches[4][FG_ID_CAP];
    int np = 0, nb = 0;
    fg_payout_text_ids(t, payouts, &np, batches, &nb, 4);
    ck_assert_int_eq(np, 2);
    ck_assert_str_eq(payouts[0], "po_01JF7Q3ZK8Y2M4N6P8R0T2V4W6");
    ck_assert_str_eq(payouts[1], "po_01JF7Q3ZK8Y2M4N6P8R0T2V4WA"); /* lower case read as upper */
    ck_assert_int_eq(nb, 1);
    ck_assert_str_eq(batches[0], "pob_01JF7Q3ZK8Y2M4N6P8R0T2V4W7");
    free(t);

    /* payout accounts */
    const char *field = NULL;
    fg_payout_account_t ok = {"970436", "0071000123456", "NGUYEN VAN A"};
    ck_assert_int_eq(fg_payout_account_check(&ok, &field), 0);
    fg_payout_account_t bad_bin = {"97043", "0071000123456", "NGUYEN VAN A"};
    ck_assert_int_eq(fg_payout_account_check(&bad_bin, &field), FG_EINVALID);
    ck_assert_str_eq(field, "bank_bin");
    fg_payout_account_t bad_number = {"970436", "0071-000", "NGUYEN VAN A"};
    ck_assert_int_eq(fg_payout_account_check(&bad_number, &field), FG_EINVALID);
    ck_assert_str_eq(field, "account_number");
    fg_payout_account_t bad_name = {"970436", "0071000123456", "NGUYEN\tVAN A"};
    ck_assert_int_eq(fg_payout_account_check(&bad_name, &field), FG_EINVALID);
    ck_assert_str_eq(field, "account_name");
    fg_payout_account_t unknown_bin = {"999999", "0071000123456", "NGUYEN VAN A"};
    ck_assert_int_eq(fg_payout_account_check(&unknown_bin, &field), FG_ENOTFOUND);
    ck_assert_str_eq(field, "bank_bin");
    ck_assert_str_eq(fg_payout_bank_name("970436"), "Vietcombank");
    ck_assert_str_eq(fg_payout_bank_name("970454"), "BVBank"); /* the bill page's list, not a shorter one */
    ck_assert_ptr_null(fg_payout_bank_name("999999"));
}
END_TEST

/* ---- payout accounts --------------------------------------------------------------- */

START_TEST(an_admin_sets_where_a_merchant_is_paid)
{
    fgt_merchant_t m;
    char out[1024], path[160];
    merchant_new(&m, 0);
    fund(&m, 5000000);
    /* no account yet: no payout */
    fgt_response_t r = payout(m.id, 1000000, fgt_unique("NOACC"), NULL);
    fgt_expect_error(r, 422, "invalid_request", "payout_account_missing");
    fgt_response_free(&r);
    ck_assert_int_eq(fgt_db_int("SELECT COUNT(*) FROM payouts p JOIN merchants m ON m.id = p.merchant_id WHERE "
                                "m.public_id = ?",
                                m.id, NULL),
                     0);

    /* the command line refuses a bad BIN, then sets it */
    ck_assert_int_eq(cli_set_account(m.id, "97043X", "0071000123456", "TRUONG A", out, sizeof(out)), 2);
    ck_assert_int_eq(cli_set_account(m.id, "970999", "0071000123456", "TRUONG A", out, sizeof(out)), 2);
    ck_assert_int_eq(cli_set_account("mer_01JF7Q3ZK8Y2M4N6P8R0T2V4W6", "970436", "1", "A", out, sizeof(out)), 1);
    ck_assert_int_eq(cli_set_account(m.id, "970415", "0071000123456", "TRUONG A", out, sizeof(out)), 0);
    ck_assert_ptr_nonnull(strstr(out, "\"bank_name\":\"VietinBank\""));

    /* the API: admins only, audited with the account before and after */
    snprintf(path, sizeof(path), "/v1/merchants/%s/payout-account", m.id);
    const char *body = "{\"bank_bin\":\"970436\",\"account_number\":\"0071000999888\",\"account_name\":\"TRUONG B\"}";
    r = fgt_req(&srv, FGT_H2C, "POST", path, finance, NULL, body, 0, NULL);
    ck_assert_int_eq(r.status, 403);
    fgt_response_free(&r);
    r = fgt_req(&srv, FGT_H2C, "POST", path, admin, NULL,
                "{\"bank_bin\":\"970436\",\"account_number\":\"00710 00\",\"account_name\":\"TRUONG B\"}", 0, NULL);
    fgt_expect_error(r, 422, "invalid_request", "invalid_payout_account");
    ck_assert_str_eq(fgt_json_str(&r, "error", "field", NULL), "account_number");
    fgt_response_free(&r);
    /* six digits no member bank of NAPAS has: the transfer would come back */
    r = fgt_req(&srv, FGT_H2C, "POST", path, admin, NULL,
                "{\"bank_bin\":\"970999\",\"account_number\":\"0071000999888\",\"account_name\":\"TRUONG B\"}", 0,
                NULL);
    fgt_expect_error(r, 422, "invalid_request", "unknown_bank");
    ck_assert_str_eq(fgt_json_str(&r, "error", "field", NULL), "bank_bin");
    fgt_response_free(&r);
    r = fgt_req(&srv, FGT_H2C, "POST", path, admin, NULL, "{\"bank_bin\":\"970436\",\"iban\":\"x\"}", 0, NULL);
    fgt_expect_error(r, 400, "invalid_request", "unknown_field");
    fgt_response_free(&r);
    r = fgt_req(&srv, FGT_H2C, "POST", "/v1/merchants/mer_nobody/payout-account", admin, NULL, body, 0, NULL);
    fgt_expect_error(r, 404, "not_found", "merchant_not_found");
    fgt_response_free(&r);
    r = fgt_req(&srv, FGT_H2C, "POST", path, admin, NULL, body, 0, NULL);
    fgt_expect(r, 200, NULL);
    ck_assert_str_eq(fgt_json_str(&r, "payout_account", "account_number", NULL), "0071000999888");
    ck_assert_str_eq(fgt_json_str(&r, "payout_account", "bank_name", NULL), "Vietcombank");
    fgt_response_free(&r);
    ck_assert_int_eq(fgt_db_int("SELECT COUNT(*) FROM audit_log WHERE action = 'merchant.payout_account.set' AND "
                                "object = ? AND before_json LIKE '%0071000123456%' AND after_json LIKE "
                                "'%0071000999888%'",
                                m.id, NULL),
                     1);

    /* the payout takes the account as it is when made */
    char id[FGT_ID_CAP];
    payout_made(m.id, 1000000, fgt_unique("ACC"), id);
    snprintf(path, sizeof(path), "/v1/payouts/%s", id);
    r = fgt_req(&srv, FGT_H2C, "GET", path, auditor, NULL, NULL, 0, NULL);
    fgt_expect(r, 200, NULL);
    ck_assert_str_eq(fgt_json_str(&r, "beneficiary", "account_number", NULL), "0071000999888");
    ck_assert_str_eq(fgt_json_str(&r, "beneficiary", "account_name", NULL), "TRUONG B");
    ck_assert_str_eq(fgt_json_str(&r, "beneficiary", "bank_bin", NULL), "970436");
    fgt_response_free(&r);
    ck_assert_int_eq(fgt_ledger_check(), 0);
}
END_TEST

/* ---- payouts --------------------------------------------------------------------------- */

START_TEST(a_payout_is_checked_before_it_is_made)
{
    fgt_merchant_t m;
    merchant_new(&m, 1);
    fund(&m, 3000000);
    char body[512];
    static const struct {
        const char *body_fmt; /* %s: the merchant */
        long status;
        const char *code, *field;
    } CASES[] = {
        {"{\"merchant_id\":\"%s\",\"amount\":0,\"reference\":\"R1\"}", 422, "amount_invalid", "amount"},
        {"{\"merchant_id\":\"%s\",\"amount\":-5,\"reference\":\"R1\"}", 422, "amount_invalid", "amount"},
        {"{\"merchant_id\":\"%s\",\"amount\":1000000000000001,\"reference\":\"R1\"}", 422, "amount_too_large",
         "amount"},
        {"{\"merchant_id\":\"%s\",\"amount\":99999999999999999999999,\"reference\":\"R1\"}", 422, "amount_too_large",
         "amount"},
        {"{\"merchant_id\":\"%s\",\"amount\":1.5,\"reference\":\"R1\"}", 400, "invalid_type", "amount"},
        {"{\"merchant_id\":\"%s\",\"amount\":\"100\",\"reference\":\"R1\"}", 400, "invalid_type", "amount"},
        {"{\"merchant_id\":\"%s\",\"reference\":\"R1\"}", 400, "missing_field", "amount"},
        {"{\"merchant_id\":\"%s\",\"amount\":100,\"reference\":\"\"}", 422, "empty_string", "reference"},
        {"{\"merchant_id\":\"%s\",\"amount\":100,\"reference\":\"---\"}", 422, "invalid_reference", "reference"},
        {"{\"merchant_id\":\"%s\",\"amount\":100,\"reference\":\"H\\u1ecdc ph\\u00ed\"}", 422, "invalid_reference",
         "reference"},
        {"{\"merchant_id\":\"%s\",\"amount\":100,\"reference\":"
         "\"R1234567890123456789012345678901234567890123456789012345678901234\"}",
         422, "string_too_long", "reference"},
        {"{\"merchant_id\":\"%s\",\"amount\":100,\"reference\":\"R1\",\"currency\":\"USD\"}", 422,
         "currency_not_supported", "currency"},
        {"{\"merchant_id\":\"%s\",\"amount\":100,\"reference\":\"R1\",\"note\":\"x\"}", 400, "unknown_field", "note"},
    };
    for (size_t i = 0; i < sizeof(CASES) / sizeof(CASES[0]); i++) {
        snprintf(body, sizeof(body), CASES[i].body_fmt, m.id);
        fgt_response_t r = fgt_req(&srv, FGT_H2C, "POST", "/v1/payouts", finance, NULL, body, 0, NULL);
        ck_assert_msg(r.status == CASES[i].status, "case %zu: %ld %s", i, r.status, r.body);
        ck_assert_str_eq(fgt_json_str(&r, "error", "code", NULL), CASES[i].code);
        ck_assert_str_eq(fgt_json_str(&r, "error", "field", NULL), CASES[i].field);
        fgt_response_free(&r);
    }
    /* an unknown merchant; a role that may not pay */
    fgt_response_t r = payout("mer_01JF7Q3ZK8Y2M4N6P8R0T2V4W6", 100, "R1", NULL);
    fgt_expect_error(r, 404, "not_found", "merchant_not_found");
    fgt_response_free(&r);
    snprintf(body, sizeof(body), "{\"merchant_id\":\"%s\",\"amount\":100,\"reference\":\"R1\"}", m.id);
    r = fgt_req(&srv, FGT_H2C, "POST", "/v1/payouts", auditor, NULL, body, 0, NULL);
    ck_assert_int_eq(r.status, 403);
    fgt_response_free(&r);
    /* nothing was made, and the balance is whole */
    ck_assert_int_eq(fgt_db_int("SELECT COUNT(*) FROM payouts p JOIN merchants m ON m.id = p.merchant_id WHERE "
                                "m.public_id = ?",
                                m.id, NULL),
                     0);
    ck_assert_int_eq(balance_of(m.id), 3000000);
}
END_TEST

START_TEST(a_payout_spends_the_merchants_balance)
{
    fgt_merchant_t m;
    char id[FGT_ID_CAP], ref[64], path[200];
    char code[16];
    merchant_new(&m, 1);
    fund_order(&m, 10000000, code);
    snprintf(ref, sizeof(ref), "HP-T11/2026 %s", fgt_unique("a"));
    fgt_response_t r = payout(m.id, 4000000, ref, NULL);
    fgt_expect(r, 201, NULL);
    snprintf(id, sizeof(id), "%s", fgt_json_str(&r, "id", NULL));
    ck_assert_int_eq(strncmp(id, "po_", 3), 0);
    ck_assert_str_eq(fgt_json_str(&r, "merchant_id", NULL), m.id);
    ck_assert_int_eq(fgt_json_int(&r, "amount", NULL), 4000000);
    ck_assert_str_eq(fgt_json_str(&r, "currency", NULL), "VND");
    ck_assert_str_eq(fgt_json_str(&r, "reference", NULL), ref);
    ck_assert_str_eq(fgt_json_str(&r, "status", NULL), "pending");
    ck_assert_ptr_nonnull(fgt_json_str(&r, "created_at", NULL));
    ck_assert(fgt_json_is_null(&r, "batch_id", NULL));
    char journal[64];
    snprintf(journal, sizeof(journal), "%s", fgt_json_str(&r, "journal_id", NULL));
    fgt_response_free(&r);
    /* Dr merchant, Cr payouts in transit, in one journal */
    ck_assert_int_eq(balance_of(m.id), 6000000);
    ck_assert_int_eq(fgt_db_int("SELECT SUM(e.amount) FROM ledger_entries e JOIN journals j ON j.id = e.journal_id "
                                "JOIN ledger_accounts a ON a.id = e.account_id WHERE j.public_id = ? AND a.code = "
                                "'liabilities:payouts_in_transit'",
                                journal, NULL),
                     -4000000);
    /* audited: who, the balance before, the payout and the balance after */
    ck_assert_int_eq(fgt_db_int("SELECT COUNT(*) FROM audit_log WHERE action = 'payout.create' AND object = ? AND "
                                "actor LIKE 'finance@%' AND JSON_VALUE(before_json, '$.balance') = 10000000 AND "
                                "JSON_VALUE(after_json, '$.balance') = 6000000 AND JSON_VALUE(after_json, "
                                "'$.payout.amount') = 4000000",
                                id, NULL),
                     1);

    /* more than what is left: refused, naming the balance */
    r = payout(m.id, 6000001, fgt_unique("b"), NULL);
    fgt_expect_error(r, 422, "invalid_request", "payout_exceeds_balance");
    ck_assert_int_eq(fgt_json_int(&r, "error", "balance", NULL), 6000000);
    ck_assert_ptr_nonnull(strstr(fgt_json_str(&r, "error", "message", NULL), "6000000"));
    fgt_response_free(&r);
    /* a refund whose outcome is not known yet keeps its amount back: when it is made, it comes out of what the
     * merchant is owed, and that must not have been paid out meanwhile */
    held_back_by(m.id, "1=1", 1500000, 6000000, 4500000);
    /* but a refund of money that never reached the merchant (paid again for a paid bill: held as
     * unapplied) does not come out of what the merchant is owed: it keeps nothing back */
    transfer_in(code, 700000);
    held_back_by(m.id, "p.amount_applied = 0 AND p.amount_unapplied = 700000", 700000, 6000001, 6000000);

    /* the same reference again: the same payout, or a conflict */
    r = payout(m.id, 4000000, ref, NULL);
    fgt_expect(r, 200, NULL);
    ck_assert_str_eq(fgt_json_str(&r, "id", NULL), id);
    fgt_response_free(&r);
    r = payout(m.id, 3000000, ref, NULL);
    fgt_expect_error(r, 409, "conflict", "duplicate_reference");
    ck_assert_str_eq(fgt_json_str(&r, "error", "existing_payout_id", NULL), id);
    fgt_response_free(&r);
    ck_assert_int_eq(balance_of(m.id), 6000000);

    /* Idempotency-Key: the first answer replayed byte for byte */
    const char *key = fgt_unique("idem");
    char ref2[64];
    snprintf(ref2, sizeof(ref2), "%s", fgt_unique("c"));
    fgt_response_t first = payout(m.id, 1000000, ref2, key);
    fgt_expect(first, 201, NULL);
    fgt_response_t again = payout(m.id, 1000000, ref2, key);
    fgt_expect(again, 201, NULL);
    ck_assert_str_eq(again.body, first.body);
    ck_assert_str_eq(fgt_header(&again, "idempotent-replayed"), "true");
    fgt_response_free(&again);
    again = payout(m.id, 999, ref2, key); /* another body under the key */
    fgt_expect_error(again, 422, "idempotency", "idempotency_key_reused");
    fgt_response_free(&again);
    fgt_response_free(&first);
    ck_assert_int_eq(balance_of(m.id), 5000000);
    /* the merchant's statement shows them: what it was funded, what was paid out, what is left */
    char spath[200], today[11];
    time_t now = time(NULL) + 7 * 3600;
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(today, sizeof(today), "%Y-%m-%d", &tm);
    snprintf(spath, sizeof(spath), "/v1/reports/merchant-statement?merchant_id=%s&from=%s&to=%s", m.id, today, today);
    /* as JSON, and as CSV and XLSX read back: the files' columns add up to the JSON answer's */
    static const column_t STATEMENT[] = {{"collections", "Thu / Collections"},
                                         {"refunds", "Hoàn trả / Refunds"},
                                         {"fees", "Phí / Fees"},
                                         {"payouts", "Đã chuyển / Payouts"},
                                         {"adjustments", "Điều chỉnh / Adjustments"}};
    fgt_response_t st = files_agree(spath, STATEMENT, 5);
    ck_assert_int_eq(fgt_json_int(&st, "payouts", NULL), 5000000);
    ck_assert_int_eq(fgt_json_int(&st, "totals", "payouts", NULL), 5000000);
    ck_assert_int_eq(fgt_json_int(&st, "totals", "collections", NULL), 10000000);
    ck_assert_int_eq(fgt_json_int(&st, "closing_balance", NULL), 5000000);
    ck_assert_int_eq(fgt_json_int(&st, "opening_balance", NULL) + fgt_json_int(&st, "collections", NULL) +
                         fgt_json_int(&st, "adjustments", NULL) - fgt_json_int(&st, "refunds", NULL) -
                         fgt_json_int(&st, "payouts", NULL),
                     5000000);
    fgt_response_free(&st);
    /* a refusal under a key is replayed too */
    key = fgt_unique("idem");
    char ref3[64];
    snprintf(ref3, sizeof(ref3), "%s", fgt_unique("d"));
    first = payout(m.id, 7000000, ref3, key);
    fgt_expect_error(first, 422, "invalid_request", "payout_exceeds_balance");
    again = payout(m.id, 7000000, ref3, key);
    ck_assert_str_eq(again.body, first.body);
    ck_assert_str_eq(fgt_header(&again, "idempotent-replayed"), "true");
    fgt_response_free(&first);
    fgt_response_free(&again);

    /* read: one, a filtered list in pages, any staff role */
    snprintf(path, sizeof(path), "/v1/payouts/%s", id);
    r = fgt_req(&srv, FGT_H2C, "GET", path, auditor, NULL, NULL, 0, NULL);
    fgt_expect(r, 200, NULL);
    ck_assert_str_eq(fgt_json_str(&r, "reference", NULL), ref);
    fgt_response_free(&r);
    r = fgt_req(&srv, FGT_H2C, "GET", "/v1/payouts/po_01JF7Q3ZK8Y2M4N6P8R0T2V4W6", auditor, NULL, NULL, 0, NULL);
    fgt_expect_error(r, 404, "not_found", "payout_not_found");
    fgt_response_free(&r);
    snprintf(path, sizeof(path), "/v1/payouts?merchant_id=%s&status=pending&limit=1", m.id);
    r = fgt_req(&srv, FGT_H2C, "GET", path, auditor, NULL, NULL, 0, NULL);
    fgt_expect(r, 200, NULL);
    yajl_val data = fgt_json_array(&r, "data", NULL);
    ck_assert_int_eq(data->u.array.len, 1);
    ck_assert_str_eq(fgt_val_str(data->u.array.values[0], "reference", NULL), ref2); /* newest first */
    char cursor[64];
    snprintf(cursor, sizeof(cursor), "%s", fgt_json_str(&r, "next_cursor", NULL));
    fgt_response_free(&r);
    snprintf(path, sizeof(path), "/v1/payouts?merchant_id=%s&status=pending&limit=1&cursor=%s", m.id, cursor);
    r = fgt_req(&srv, FGT_H2C, "GET", path, auditor, NULL, NULL, 0, NULL);
    fgt_expect(r, 200, NULL);
    data = fgt_json_array(&r, "data", NULL);
    ck_assert_int_eq(data->u.array.len, 1);
    ck_assert_str_eq(fgt_val_str(data->u.array.values[0], "id", NULL), id);
    ck_assert(fgt_json_is_null(&r, "next_cursor", NULL));
    fgt_response_free(&r);
    snprintf(path, sizeof(path), "/v1/payouts?merchant_id=%s&status=paid", m.id);
    r = fgt_req(&srv, FGT_H2C, "GET", path, auditor, NULL, NULL, 0, NULL);
    fgt_expect(r, 200, NULL);
    ck_assert_int_eq(fgt_json_array(&r, "data", NULL)->u.array.len, 0);
    fgt_response_free(&r);
    r = fgt_req(&srv, FGT_H2C, "GET", "/v1/payouts?status=sent", auditor, NULL, NULL, 0, NULL);
    fgt_expect_error(r, 400, "invalid_request", "invalid_status");
    fgt_response_free(&r);
    ck_assert_int_eq(fgt_ledger_check(), 0);
}
END_TEST

/* Eight payouts of one merchant at once, together more than its balance:
 * the merchant's row lock makes them one at a time, so exactly as many are
 * made as the balance holds and it never goes below zero. */
static void concurrent_round(fgt_proto_t proto)
{
    enum { N = 8 };
    fgt_merchant_t m;
    merchant_new(&m, 1);
    fund(&m, 10000000);
    char auth[200], *bodies[N];
    snprintf(auth, sizeof(auth), "Authorization: Bearer %s", finance);
    const char *headers[] = {auth, NULL};
    fgt_request_t reqs[N];
    fgt_response_t out[N];
    for (int i = 0; i < N; i++) {
        bodies[i] = payout_body(m.id, 3000000, fgt_unique("C"));
        reqs[i] = (fgt_request_t){"POST", "/v1/payouts", headers, bodies[i], 0, NULL};
    }
    fgt_request_all(&srv, proto, N, N, reqs, NULL, NULL, out);
    int made = 0, refused = 0;
    for (int i = 0; i < N; i++) {
        if (out[i].status == 201) {
            made++;
        } else {
            fgt_expect_error(out[i], 422, "invalid_request", "payout_exceeds_balance");
            refused++;
        }
        fgt_response_free(&out[i]);
        free(bodies[i]);
    }
    ck_assert_int_eq(made, 3);
    ck_assert_int_eq(refused, 5);
    ck_assert_int_eq(balance_of(m.id), 1000000);
    ck_assert_int_eq(fgt_db_int("SELECT SUM(p.amount) FROM payouts p JOIN merchants m ON m.id = p.merchant_id WHERE "
                                "m.public_id = ?",
                                m.id, NULL),
                     9000000);
}

START_TEST(concurrent_payouts_never_overdraw)
{
    concurrent_round(FGT_HTTP1);
    concurrent_round(FGT_H2C);
    ck_assert_int_eq(fgt_ledger_check(), 0);
}
END_TEST

/* ---- batches, the file, the statement ----------------------------------------------- */

START_TEST(a_batch_file_and_its_statement_lines)
{
    fgt_merchant_t a, b;
    char p1[FGT_ID_CAP], p2[FGT_ID_CAP], p3[FGT_ID_CAP], account[40], ref1[64], ref2[64], ref3[64], out[1024];
    merchant_new(&a, 1);
    merchant_new(&b, 0);
    /* B's account with a name with a comma, at a bank the list does not name (set before such
     * BINs were refused: written straight) */
    ck_assert_int_eq(cli_set_account(b.id, "970436", "1234567890", "CONG TY NUOC, CHI NHANH 2", out, sizeof(out)), 0);
    fgt_db_exec("UPDATE merchants SET payout_bank_bin = '970999' WHERE public_id = ?", b.id);
    fund(&a, 8000000);
    fund(&b, 5000000);
    batch_leftovers();
    snprintf(account, sizeof(account), "%s", fgt_account("VCBP"));
    snprintf(ref1, sizeof(ref1), "HP-T11/%s", fgt_unique("a"));
    snprintf(ref2, sizeof(ref2), "=HP T12 \"%s\"", fgt_unique("b")); /* looks like a formula, has quotes */
    snprintf(ref3, sizeof(ref3), "NUOC-%s", fgt_unique("c"));
    payout_made(a.id, 1500000, ref1, p1);
    payout_made(a.id, 2500000, ref2, p2);
    payout_made(b.id, 2000000, ref3, p3);
    account_opened(account);

    /* the batch: every pending payout, audited */
    fgt_response_t r = batch_create(account);
    fgt_expect(r, 201, NULL);
    char batch[FGT_ID_CAP], file_path[160];
    snprintf(batch, sizeof(batch), "%s", fgt_json_str(&r, "id", NULL));
    ck_assert_int_eq(strncmp(batch, "pob_", 4), 0);
    ck_assert_int_eq(fgt_json_int(&r, "payout_count", NULL), 3);
    ck_assert_int_eq(fgt_json_int(&r, "total", NULL), 6000000);
    long long batch_count = fgt_json_int(&r, "payout_count", NULL), batch_total = fgt_json_int(&r, "total", NULL);
    ck_assert_str_eq(fgt_json_str(&r, "status", NULL), "pending");
    ck_assert_int_eq(fgt_json_int(&r, "pending_left", NULL), 0);
    snprintf(file_path, sizeof(file_path), "%s", fgt_json_str(&r, "file", NULL));
    fgt_response_free(&r);
    ck_assert_str_eq(payout_status(p1), "batched");
    ck_assert_int_eq(fgt_db_int("SELECT COUNT(*) FROM audit_log WHERE action = 'payout_batch.create' AND object = ? "
                                "AND JSON_LENGTH(after_json, '$.payouts') = 3",
                                batch, NULL),
                     1);
    r = batch_create(account); /* nothing left */
    fgt_expect_error(r, 409, "conflict", "no_pending_payouts");
    fgt_response_free(&r);
    r = fgt_req(&srv, FGT_H2C, "POST", "/v1/payout-batches", finance, NULL, "{\"account\":\"VCB/0011\"}", 0, NULL);
    fgt_expect_error(r, 422, "invalid_request", "invalid_account");
    fgt_response_free(&r);

    /* the file, read back by Python's csv module: BOM, CRLF, header, one row per payout, the
     * batch's total */
    r = fgt_req(&srv, FGT_H2C, "GET", file_path, auditor, NULL, NULL, 0, NULL);
    ck_assert_int_eq(r.status, 200);
    ck_assert_str_eq(fgt_header(&r, "content-type"), "text/csv; charset=utf-8");
    yajl_val csv = read_back(&r, "csv");
    fgt_response_free(&r);
    ck_assert(YAJL_IS_TRUE(fgt_val_at(csv, "bom", NULL)));
    ck_assert(YAJL_IS_TRUE(fgt_val_at(csv, "crlf", NULL)));
    ck_assert_int_eq(val_int(csv, "bare_lf", NULL), 0);
    ck_assert_int_eq(val_int(csv, "rows", NULL), batch_count);
    static const char *const HEADER[] = {
        "beneficiary_account", "beneficiary_name", "bank_bin", "bank_name", "amount", "currency", "memo",
        "payout_id",           "merchant_id"};
    yajl_val header = fgt_val_at(csv, "header", NULL);
    ck_assert_int_eq(YAJL_GET_ARRAY(header)->len, 9);
    for (size_t c = 0; c < 9; c++)
        ck_assert_str_eq(YAJL_GET_STRING(YAJL_GET_ARRAY(header)->values[c]), HEADER[c]);
    ck_assert_int_eq(val_int(csv, "sums", "amount"), batch_total);
    for (size_t i = 0; i < 3; i++) {
        ck_assert_int_eq(YAJL_GET_ARRAY(YAJL_GET_ARRAY(fgt_val_at(csv, "cells", NULL))->values[i])->len, 9);
        ck_assert_str_eq(cell(csv, i, 5), "VND");
        ck_assert_ptr_nonnull(strstr(cell(csv, i, 6), cell(csv, i, 7))); /* the memo names the payout */
    }
    /* in id order: A's two, then B's */
    ck_assert_str_eq(cell(csv, 0, 7), p1);
    ck_assert_str_eq(cell(csv, 0, 0), "0071000123456");
    ck_assert_str_eq(cell(csv, 0, 1), "TRUONG TIEU HOC CHI TRA");
    ck_assert_str_eq(cell(csv, 0, 2), "970436");
    ck_assert_str_eq(cell(csv, 0, 3), "Vietcombank");
    ck_assert_str_eq(cell(csv, 0, 4), "1500000");
    ck_assert_str_eq(cell(csv, 0, 8), a.id);
    char memo[200];
    snprintf(memo, sizeof(memo), "%s %s", ref1, p1);
    ck_assert_str_eq(cell(csv, 0, 6), memo);
    snprintf(memo, sizeof(memo), "'%s %s", ref2, p2); /* neutralized for a spreadsheet, quotes kept */
    ck_assert_str_eq(cell(csv, 1, 6), memo);
    ck_assert_str_eq(cell(csv, 1, 4), "2500000");
    ck_assert_str_eq(cell(csv, 2, 1), "CONG TY NUOC, CHI NHANH 2");
    ck_assert_str_eq(cell(csv, 2, 3), "");
    ck_assert_str_eq(cell(csv, 2, 4), "2000000");
    yajl_tree_free(csv);

    /* the statement: the bank paid each transfer on its own line, memos
     * rewritten; one names its payout's id, one only its reference, one
     * its id; and a debit nothing names */
    char m1[200], m2[200], m3[200], r1[40], r2[40], r3[40], r4[40], text[200];
    snprintf(text, sizeof(text), "CT DEN %s %s", ref1, p1);
    bank_rewrite(text, m1, sizeof(m1));
    snprintf(text, sizeof(text), "IBFT %s", ref3);
    bank_rewrite(text, m2, sizeof(m2));
    snprintf(text, sizeof(text), "%s", p2);
    bank_rewrite(text, m3, sizeof(m3));
    snprintf(r1, sizeof(r1), "FT%s", fgt_unique("1"));
    snprintf(r2, sizeof(r2), "FT%s", fgt_unique("2"));
    snprintf(r3, sizeof(r3), "FT%s", fgt_unique("3"));
    snprintf(r4, sizeof(r4), "FT%s", fgt_unique("4"));
    line_t lines[] = {
        {r1, m1, -1500000},
        {r2, m2, -2000000},
        {r3, m3, -2500000},
        {r4, "CHUYEN TIEN DIEN THANG 11", -777000},
    };
    long long transit_before = entries_of("liabilities:payouts_in_transit");
    char import_id[FGT_ID_CAP];
    import_and_match(account, lines, 4, import_id);
    char state[32], rule[32];
    for (int i = 0; i < 3; i++) {
        item_of(account, lines[i].ref, state, rule);
        ck_assert_str_eq(state, "matched");
        ck_assert_str_eq(rule, "payout");
    }
    item_of(account, r4, state, rule);
    ck_assert_str_eq(state, "bank_only"); /* an exception, as any debit nothing explains */
    /* the morning's reconciliation summary of the account, as JSON, CSV and XLSX read back */
    static const column_t RECON[] = {{"lines", "Số dòng sao kê / Lines"},
                                     {"credits", "Ghi có / Credits"},
                                     {"debits", "Ghi nợ / Debits"},
                                     {"matched", "Khớp / Matched"},
                                     {"bank_only", "Chỉ ngân hàng / Bank only"},
                                     {"open", "Còn mở / Open"}};
    char rpath[200];
    snprintf(rpath, sizeof(rpath), "/v1/reports/reconciliation?from=2026-12-02&to=2026-12-03&account=%s", account);
    r = files_agree(rpath, RECON, 6);
    ck_assert_int_eq(fgt_json_int(&r, "totals", "lines", NULL), 4);
    ck_assert_int_eq(fgt_json_int(&r, "totals", "debits", NULL), 6000000 + 777000);
    ck_assert_int_eq(fgt_json_int(&r, "totals", "matched", NULL), 3);
    ck_assert_int_eq(fgt_json_int(&r, "totals", "bank_only", NULL), 1);
    ck_assert_int_eq(fgt_json_int(&r, "totals", "open", NULL), 1);
    fgt_response_free(&r);
    /* without account=: every account's, this one's among them */
    r = fgt_req(&srv, FGT_H2C, "GET", "/v1/reports/reconciliation?from=2026-12-03&to=2026-12-03", auditor, NULL, NULL,
                0, NULL);
    fgt_expect(r, 200, NULL);
    yajl_val days = fgt_json_array(&r, "data", NULL);
    int listed = 0;
    for (size_t i = 0; i < YAJL_GET_ARRAY(days)->len; i++)
        listed += strcmp(fgt_val_str(YAJL_GET_ARRAY(days)->values[i], "account", NULL), account) == 0;
    ck_assert_int_eq(listed, 1);
    fgt_response_free(&r);
    ck_assert_str_eq(payout_status(p1), "paid");
    ck_assert_str_eq(payout_status(p2), "paid");
    ck_assert_str_eq(payout_status(p3), "paid");
    char path[160];
    snprintf(path, sizeof(path), "/v1/payouts/%s", p3);
    r = fgt_req(&srv, FGT_H2C, "GET", path, auditor, NULL, NULL, 0, NULL);
    fgt_expect(r, 200, NULL);
    ck_assert_int_eq(fgt_json_int(&r, "statement_line_id", NULL),
                     fgt_db_int("SELECT id FROM statement_lines WHERE account = ? AND bank_ref = ?", account, r2));
    ck_assert_ptr_nonnull(fgt_json_str(&r, "paid_at", NULL));
    ck_assert_ptr_nonnull(fgt_json_str(&r, "paid_journal_id", NULL));
    /* a client joins it to the statement's lines, as listed */
    char listed_ref[64];
    ck_assert_int_eq(line_listed(import_id, fgt_json_int(&r, "statement_line_id", NULL), listed_ref), 1);
    ck_assert_str_eq(listed_ref, r2);
    fgt_response_free(&r);
    /* its payouts all paid, the batch is paid */
    snprintf(path, sizeof(path), "/v1/payout-batches/%s", batch);
    r = fgt_req(&srv, FGT_H2C, "GET", path, auditor, NULL, NULL, 0, NULL);
    fgt_expect(r, 200, NULL);
    ck_assert_str_eq(fgt_json_str(&r, "status", NULL), "paid");
    fgt_response_free(&r);
    /* in effect Dr merchant, Cr bank: in transit down by the three, the
     * unreconciled account holds only the unexplained debit */
    ck_assert_int_eq(entries_of("liabilities:payouts_in_transit") - transit_before, 6000000);
    char code[120];
    snprintf(code, sizeof(code), "assets:bank_unreconciled:%s", account);
    ck_assert_int_eq(entries_of(code), 777000);
    snprintf(code, sizeof(code), "assets:bank:%s", account);
    ck_assert_int_eq(entries_of(code), 900000000 - 6000000 - 777000);
    ck_assert_int_eq(balance_of(a.id), 8000000 - 4000000);
    ck_assert_int_eq(balance_of(b.id), 5000000 - 2000000);
    ck_assert_int_eq(fgt_ledger_check(), 0);
}
END_TEST

/* A batch is paid from one of the city's bank accounts, the ones a finance
 * user knows feegate knows: the configured collection account, or one whose
 * statements are imported.  Any other would wait for ever for a statement
 * showing the debit: refused, naming the field, and nothing is batched. */
START_TEST(a_batch_is_paid_from_an_account_of_the_city)
{
    fgt_merchant_t m;
    char p1[FGT_ID_CAP], p2[FGT_ID_CAP], account[40];
    merchant_new(&m, 1);
    fund(&m, 3000000);
    batch_leftovers();
    payout_made(m.id, 1000000, fgt_unique("K1"), p1);
    long long batches = fgt_db_int("SELECT COUNT(*) FROM payout_batches", NULL, NULL);
    snprintf(account, sizeof(account), "%s", fgt_account("ACBK"));
    const char *const unknown[] = {"99999", account};
    for (size_t i = 0; i < sizeof(unknown) / sizeof(unknown[0]); i++) {
        fgt_response_t r = batch_create(unknown[i]);
        fgt_expect_error(r, 422, "invalid_request", "unknown_account");
        ck_assert_str_eq(fgt_json_str(&r, "error", "field", NULL), "account");
        fgt_response_free(&r);
    }
    ck_assert_str_eq(payout_status(p1), "pending");
    ck_assert_int_eq(fgt_db_int("SELECT COUNT(*) FROM payout_batches", NULL, NULL), batches);
    ck_assert_int_eq(fgt_db_int("SELECT COUNT(*) FROM audit_log WHERE action = 'payout_batch.create' AND "
                                "JSON_SEARCH(after_json, 'one', ?) IS NOT NULL",
                                p1, NULL),
                     0);

    /* an account of dollars, its statement imported: no debit of dong will ever show on it */
    char dollars[40], auth[200], file[400];
    snprintf(dollars, sizeof(dollars), "%s", fgt_account("ACUSD"));
    snprintf(file, sizeof(file),
             "account,currency,booking_date,value_date,amount,bank_ref,end_to_end,counterparty,memo\n"
             "%s,USD,opening,2026-12-01,100.00,,,,\n%s,USD,closing,2026-12-01,100.00,,,,\n",
             dollars, dollars);
    snprintf(auth, sizeof(auth), "Authorization: Bearer %s", finance);
    const char *headers[] = {auth, "Content-Type: text/csv", NULL};
    fgt_response_t r = fgt_request(&srv, FGT_H2C, "POST", "/v1/statements", headers, file, 0);
    fgt_expect(r, 201, NULL);
    fgt_response_free(&r);
    r = batch_create(dollars);
    fgt_expect_error(r, 422, "invalid_request", "account_currency");
    ck_assert_str_eq(fgt_json_str(&r, "error", "field", NULL), "account");
    fgt_response_free(&r);
    ck_assert_str_eq(payout_status(p1), "pending");
    ck_assert_int_eq(fgt_db_int("SELECT COUNT(*) FROM payout_batches", NULL, NULL), batches);

    /* its statement imported, the account is the city's */
    account_opened(account);
    r = batch_create(account);
    fgt_expect(r, 201, NULL);
    ck_assert_str_eq(fgt_json_str(&r, "account", NULL), account);
    ck_assert_int_eq(fgt_json_int(&r, "payout_count", NULL), 1);
    fgt_response_free(&r);
    ck_assert_str_eq(payout_status(p1), "batched");
    /* the configured collection account, in any spelling */
    payout_made(m.id, 500000, fgt_unique("K2"), p2);
    r = batch_create("0011.001.932418");
    fgt_expect(r, 201, NULL);
    ck_assert_str_eq(fgt_json_str(&r, "account", NULL), "0011001932418");
    fgt_response_free(&r);
    ck_assert_str_eq(payout_status(p2), "batched");
    ck_assert_int_eq(fgt_ledger_check(), 0);
}
END_TEST

START_TEST(a_batch_paid_in_one_line)
{
    fgt_merchant_t m;
    char p1[FGT_ID_CAP], p2[FGT_ID_CAP], p3[FGT_ID_CAP], account[40], other[40];
    merchant_new(&m, 1);
    fund(&m, 9000000);
    batch_leftovers();
    snprintf(account, sizeof(account), "%s", fgt_account("VCBB"));
    snprintf(other, sizeof(other), "%s", fgt_account("BIDVO"));
    payout_made(m.id, 1000000, fgt_unique("W1"), p1);
    payout_made(m.id, 2000000, fgt_unique("W2"), p2);
    account_opened(account);
    fgt_response_t r = batch_create(account);
    fgt_expect(r, 201, NULL);
    char batch[FGT_ID_CAP];
    snprintf(batch, sizeof(batch), "%s", fgt_json_str(&r, "id", NULL));
    fgt_response_free(&r);
    /* a payout in no batch, paid from any account by its own line */
    payout_made(m.id, 500000, fgt_unique("W3"), p3);

    char mb[200], mw[200], m3[200], mo[200], text[200], rb[40], rw[40], r3[40], ro[40];
    snprintf(text, sizeof(text), "CHI TRA DOT 1 %s", batch);
    bank_rewrite(text, mb, sizeof(mb));
    snprintf(text, sizeof(text), "CHI TRA %s", p1); /* an id with another amount */
    bank_rewrite(text, mw, sizeof(mw));
    snprintf(text, sizeof(text), "%s", p3);
    bank_rewrite(text, m3, sizeof(m3));
    snprintf(text, sizeof(text), "%s", p2); /* a batched payout, from another account */
    bank_rewrite(text, mo, sizeof(mo));
    snprintf(rb, sizeof(rb), "FT%s", fgt_unique("b"));
    snprintf(rw, sizeof(rw), "FT%s", fgt_unique("w"));
    snprintf(r3, sizeof(r3), "FT%s", fgt_unique("3"));
    snprintf(ro, sizeof(ro), "FT%s", fgt_unique("o"));
    line_t other_lines[] = {{ro, mo, -2000000}};
    import_and_match(other, other_lines, 1, NULL);
    char state[32], rule[32];
    item_of(other, ro, state, rule);
    ck_assert_str_eq(state, "bank_only");
    ck_assert_str_eq(rule, "payout");
    ck_assert_str_eq(payout_status(p2), "batched");

    line_t lines[] = {{rw, mw, -1234567}, {rb, mb, -3000000}, {r3, m3, -500000}};
    char import_id[FGT_ID_CAP];
    import_and_match(account, lines, 3, import_id);
    item_of(account, rw, state, rule);
    ck_assert_str_eq(state, "amount_mismatch");
    item_of(account, rb, state, rule);
    ck_assert_str_eq(state, "matched");
    ck_assert_str_eq(rule, "payout");
    item_of(account, r3, state, rule);
    ck_assert_str_eq(state, "matched");
    ck_assert_str_eq(payout_status(p1), "paid");
    ck_assert_str_eq(payout_status(p2), "paid");
    ck_assert_str_eq(payout_status(p3), "paid");
    char path[160];
    snprintf(path, sizeof(path), "/v1/payout-batches/%s", batch);
    r = fgt_req(&srv, FGT_H2C, "GET", path, auditor, NULL, NULL, 0, NULL);
    fgt_expect(r, 200, NULL);
    ck_assert_str_eq(fgt_json_str(&r, "status", NULL), "paid");
    ck_assert_int_eq(fgt_json_int(&r, "statement_line_id", NULL),
                     fgt_db_int("SELECT id FROM statement_lines WHERE account = ? AND bank_ref = ?", account, rb));
    char listed_ref[64];
    ck_assert_int_eq(line_listed(import_id, fgt_json_int(&r, "statement_line_id", NULL), listed_ref), 1);
    ck_assert_str_eq(listed_ref, rb);
    fgt_response_free(&r);
    /* one journal for the batch's total */
    ck_assert_int_eq(fgt_db_int("SELECT COUNT(DISTINCT p.paid_journal_id) FROM payouts p JOIN payout_batches b ON "
                                "b.id = p.batch_id WHERE b.public_id = ?",
                                batch, NULL),
                     1);
    char code[120];
    snprintf(code, sizeof(code), "assets:bank_unreconciled:%s", account);
    ck_assert_int_eq(entries_of(code), 1234567); /* only the mismatch waits */
    ck_assert_int_eq(balance_of(m.id), 9000000 - 3500000);
    ck_assert_int_eq(fgt_ledger_check(), 0);
}
END_TEST

/* A payout is the merchant's money too: when the day whose statement shows
 * it leave is closed, the merchant hears reconciliation.completed, naming
 * the payout, though no payment of its own is on that account. */
START_TEST(a_merchant_paid_out_hears_its_day_reconciled)
{
    fgt_merchant_t m;
    char p1[FGT_ID_CAP], account[40], ref[40], memo[200], text[200], body[200], rec[64], path[160];
    merchant_new(&m, 1);
    fund(&m, 2500000);
    snprintf(account, sizeof(account), "%s", fgt_account("VCBR"));
    payout_made(m.id, 1500000, fgt_unique("R1"), p1);
    snprintf(text, sizeof(text), "CHI TRA %s", p1);
    bank_rewrite(text, memo, sizeof(memo));
    snprintf(ref, sizeof(ref), "FT%s", fgt_unique("r"));
    line_t lines[] = {{ref, memo, -1500000}};
    import_and_match(account, lines, 1, NULL);
    ck_assert_str_eq(payout_status(p1), "paid");

    snprintf(body, sizeof(body), "{\"account\":\"%s\",\"from\":\"2026-12-03\",\"to\":\"2026-12-03\"}", account);
    fgt_response_t r = fgt_req(&srv, FGT_H2C, "POST", "/v1/reconciliations", finance, NULL, body, 0, NULL);
    fgt_expect(r, 201, NULL);
    snprintf(rec, sizeof(rec), "%s", fgt_json_str(&r, "id", NULL));
    fgt_response_free(&r);
    snprintf(path, sizeof(path), "/v1/reconciliations/%s/close", rec);
    r = fgt_req(&srv, FGT_H2C, "POST", path, finance, NULL, "{}", 0, NULL);
    fgt_expect(r, 200, NULL);
    fgt_response_free(&r);

    static const char *const EVENT = "FROM events e JOIN merchants x ON x.id = e.merchant_id WHERE x.public_id = ? "
                                     "AND e.type = 'reconciliation.completed' AND JSON_VALUE(e.payload, '$.id') = ?";
    char sql[400];
    snprintf(sql, sizeof(sql), "SELECT COUNT(*) %s", EVENT);
    ck_assert_int_eq(fgt_db_int(sql, m.id, rec), 1);
    snprintf(sql, sizeof(sql), "SELECT JSON_VALUE(e.payload, '$.payouts') %s", EVENT);
    ck_assert_int_eq(fgt_db_int(sql, m.id, rec), 1);
    snprintf(sql, sizeof(sql), "SELECT JSON_VALUE(e.payload, '$.payout_amount') %s", EVENT);
    ck_assert_int_eq(fgt_db_int(sql, m.id, rec), 1500000);
    snprintf(sql, sizeof(sql), "SELECT JSON_VALUE(e.payload, '$.payments') %s", EVENT);
    ck_assert_int_eq(fgt_db_int(sql, m.id, rec), 0); /* its collections came in on another account */
}
END_TEST

int main(void)
{
    Suite *s = suite_create("payouts");
    TCase *pure = tcase_create("memo");
    tcase_add_test(pure, a_bank_memo_names_references_and_ids);
    suite_add_tcase(s, pure);
    TCase *tc = tcase_create("payouts");
    tcase_set_timeout(tc, 180);
    tcase_add_test(tc, an_admin_sets_where_a_merchant_is_paid);
    tcase_add_test(tc, a_payout_is_checked_before_it_is_made);
    tcase_add_test(tc, a_payout_spends_the_merchants_balance);
    tcase_add_test(tc, concurrent_payouts_never_overdraw);
    tcase_add_test(tc, a_batch_file_and_its_statement_lines);
    tcase_add_test(tc, a_batch_paid_in_one_line);
    tcase_add_test(tc, a_merchant_paid_out_hears_its_day_reconciled);
    tcase_add_test(tc, a_batch_is_paid_from_an_account_of_the_city);
    suite_add_tcase(s, tc);
    fgt_staff_token("finance", finance);
    fgt_staff_token("auditor", auditor);
    fgt_staff_token("admin", admin);
    const char *env[] = {"FEEGATE_SEPAY_API_KEY=" SEPAY_KEY, "FEEGATE_VIETQR_BANK_BIN=970436",
                         "FEEGATE_VIETQR_ACCOUNT_NO=0011001932418", NULL};
    fgt_server_start(&srv, env);
    int rc = fgt_run(s);
    if (fgt_server_stop(&srv) != 0)
        rc = 1;
    return rc;
}
