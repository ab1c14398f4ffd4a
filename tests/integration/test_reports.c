/*
 * test_reports.c - collections and outstanding reports (docs/REPORTS.md):
 * totals that agree across JSON, CSV and XLSX (read back with Python's csv
 * module and openpyxl) and with the ledger, GMT+7 business days, aging by
 * due date, tenant isolation, refused queries, and the rollups counting a
 * journal that commits late exactly once while rollup jobs race.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <mysql.h>
#include <pthread.h>
#include <stdatomic.h>
#include "core/crypto.h"
#include "core/day.h"
#include "core/text.h"
#include "db/settle.h"
#include "harness.h"
#include "recon/recon.h"
#include "reports/reports.h"

static fgt_server_t srv;
static char mer_a[64], key_a[64], mer_b[64], key_b[64], mer_c[64], key_c[64], staff[96];
static const char SECRET[] = "it-sandbox-secret";

static void new_order(const char *key, const char *fee_type, const char *category, const char *klass, long long amount,
                      const char *extra, char *id)
{
    char body[800];
    snprintf(body, sizeof(body),
             "{\"merchant_ref\":\"%s\",\"fee_type\":\"%s\",%s%s%s\"amount\":%lld,\"currency\":\"VND\","
             "\"payer\":{\"name\":\"Nguyễn Văn An\",\"ref\":\"HS-%s\"},\"metadata\":{\"class\":\"%s\"}%s}",
             fgt_unique("RP"), fee_type, category ? "\"category\":\"" : "", category ? category : "",
             category ? "\"," : "", amount, klass, klass, extra ? extra : "");
    fgt_response_t r = fgt_req(&srv, FGT_H2C, "POST", "/v1/orders", key, NULL, body, 0, NULL);
    fgt_expect(r, 201, NULL);
    snprintf(id, 40, "%s", fgt_json_str(&r, "id", NULL));
    fgt_response_free(&r);
}

/* Pays amount of the order through the sandbox: a payment, then its signed notification. */
static void pay(const char *key, const char *order, long long amount, char *payment)
{
    char path[128], body[300], header[200], msg[512], hex[2 * FG_SHA256_LEN + 1];
    snprintf(path, sizeof(path), "/v1/orders/%s/payments", order);
    snprintf(body, sizeof(body), "{\"method\":\"sandbox\",\"amount\":%lld}", amount);
    fgt_response_t r = fgt_req(&srv, FGT_H2C, "POST", path, key, fgt_unique("pk"), body, 0, NULL);
    fgt_expect(r, 201, NULL);
    snprintf(payment, 40, "%s", fgt_json_str(&r, "id", NULL));
    fgt_response_free(&r);
    snprintf(body, sizeof(body),
             "{\"payment_id\":\"%s\",\"provider_txn_id\":\"%s\",\"status\":\"succeeded\","
             "\"amount\":%lld}",
             payment, fgt_unique("TX"), amount);
    long long t = (long long)time(NULL);
    uint8_t mac[FG_SHA256_LEN];
    snprintf(msg, sizeof(msg), "%lld.%s", t, body);
    fg_hmac_sha256(SECRET, strlen(SECRET), msg, strlen(msg), mac);
    fg_hex_encode(mac, sizeof(mac), hex);
    snprintf(header, sizeof(header), "X-Signature: t=%lld,v1=%s", t, hex);
    r = fgt_req(&srv, FGT_HTTP1, "POST", "/v1/webhooks/sandbox", NULL, NULL, body, 0, header);
    ck_assert_int_eq(r.status, 200);
    fgt_response_free(&r);
}

static fgt_response_t report(const char *auth, const char *path)
{
    return fgt_req(&srv, FGT_H2C, "GET", path, auth, NULL, NULL, 0, NULL);
}

static void today_plus(int days, char out[11]) { fg_day_format(fg_day_of_ms(fg_now_ms() + days * FG_DAY_MS), out); }

/* A merchant's credit-normal balance, from its ledger entries. */
static long long merchant_balance(const char *mer)
{
    char code[96];
    snprintf(code, sizeof(code), "liabilities:merchant:%s", mer);
    return -fgt_db_int("SELECT COALESCE(SUM(e.amount), 0) FROM ledger_entries e JOIN ledger_accounts a "
                       "ON a.id = e.account_id WHERE a.code = ?",
                       code, NULL);
}

/* The file a report answered, read back by tests/integration/read_report.py. */
static yajl_val read_back(const fgt_response_t *r, const char *kind)
{
    char path[64], cmd[600];
    snprintf(path, sizeof(path), "/tmp/feegate-report-test-XXXXXX.%s", kind); /* openpyxl goes by the extension */
    int fd = mkstemps(path, (int)strlen(kind) + 1);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, r->body, r->body_len), (ssize_t)r->body_len);
    close(fd);
    snprintf(cmd, sizeof(cmd), "/usr/bin/python3 %s/read_report.py %s %s", FGT_SOURCE_DIR, kind, path);
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

/* A summed column of a report: its JSON key and CSV header, its XLSX header, and whether it is money. */
typedef struct {
    const char *key, *label;
    int money;
} column_t;

/* The report at path (a query without format=) as JSON, CSV and XLSX, the files read back by
 * read_report.py: the same rows, and each column's JSON total is the sum of its CSV column
 * (Python's csv module) and of its XLSX column (openpyxl) and the XLSX totals row's value; the
 * CSV with BOM and CRLF only; the XLSX with its header frozen, money as #,##0 and every column's
 * width set, the first one's width_a characters (libxlsxwriter adds the padding Excel shows).
 * Returns the JSON answer (free it). */
static fgt_response_t files_agree(const char *auth, const char *path, const column_t *cols, int n, int width_a)
{
    char file_path[400];
    fgt_response_t j = report(auth, path);
    fgt_expect(j, 200, NULL);
    long long rows = (long long)YAJL_GET_ARRAY(fgt_json_array(&j, "data", NULL))->len;
    ck_assert_int_gt(rows, 0); /* an empty table has no column to sum */
    const char *sep = strchr(path, '?') != NULL ? "&" : "?";

    snprintf(file_path, sizeof(file_path), "%s%sformat=csv", path, sep);
    fgt_response_t r = report(auth, file_path);
    fgt_expect(r, 200, NULL);
    ck_assert_ptr_nonnull(strstr(fgt_header(&r, "content-type"), "text/csv"));
    yajl_val csv = read_back(&r, "csv");
    ck_assert(YAJL_IS_TRUE(fgt_val_at(csv, "bom", NULL)));
    ck_assert(YAJL_IS_TRUE(fgt_val_at(csv, "crlf", NULL)));
    ck_assert_int_eq(val_int(csv, "bare_lf", NULL), 0);
    ck_assert_int_eq(val_int(csv, "rows", NULL), rows);
    fgt_response_free(&r);

    snprintf(file_path, sizeof(file_path), "%s%sformat=xlsx", path, sep);
    r = report(auth, file_path);
    fgt_expect(r, 200, NULL);
    ck_assert_ptr_nonnull(strstr(fgt_header(&r, "content-type"), "spreadsheetml"));
    yajl_val x = read_back(&r, "xlsx");
    fgt_response_free(&r);
    ck_assert_int_eq(val_int(x, "rows", NULL), rows);
    ck_assert_str_eq(fgt_val_str(x, "freeze", NULL), "A2");
    /* widths: set for every column (a column left at the default has no <col> entry at all) */
    yajl_val header = fgt_val_at(x, "header", NULL);
    ck_assert(YAJL_IS_ARRAY(header));
    for (size_t c = 0; c < YAJL_GET_ARRAY(header)->len && c < 26; c++) {
        char letter[2] = {(char)('A' + c), '\0'};
        yajl_val w = fgt_val_at(x, "widths", letter, NULL);
        ck_assert_msg(w != NULL && YAJL_IS_NUMBER(w), "%s: column %s has no width", path, letter);
    }
    /* every amount exactly its decimal (read_report.py lists a cell that is not) */
    ck_assert_msg(YAJL_GET_ARRAY(fgt_val_at(x, "inexact", NULL))->len == 0, "%s: amounts that are not their decimal",
                  path);
    double a = YAJL_GET_DOUBLE(fgt_val_at(x, "widths", "A", NULL));
    ck_assert_msg(a >= width_a && a < width_a + 1, "%s: column A is %.2f wide, not %d", path, a, width_a);

    for (int i = 0; i < n; i++) {
        long long total = fgt_json_int(&j, "totals", cols[i].key, NULL);
        ck_assert_msg(val_int(csv, "sums", cols[i].key) == total, "%s: CSV %s %lld, JSON %lld", path, cols[i].key,
                      val_int(csv, "sums", cols[i].key), total);
        ck_assert_msg(val_int(x, "sums", cols[i].label) == total, "%s: XLSX %s %lld, JSON %lld", path, cols[i].label,
                      val_int(x, "sums", cols[i].label), total);
        ck_assert_int_eq(val_int(x, "totals", cols[i].label), total);
        if (cols[i].money)
            ck_assert_str_eq(fgt_val_str(x, "formats", cols[i].label, NULL), "#,##0");
    }
    yajl_tree_free(csv);
    yajl_tree_free(x);
    return j;
}

/* The same report from the rollups and from the period's journals. */
static void same_report(const char *auth, const char *from, const char *to, const char *group_by)
{
    char path[300];
    snprintf(path, sizeof(path), "/v1/reports/collections?from=%s&to=%s&group_by=%s", from, to, group_by);
    fgt_response_t a = report(auth, path);
    fgt_expect(a, 200, NULL);
    strcat(path, "&source=journals");
    fgt_response_t b = report(auth, path);
    fgt_expect(b, 200, NULL);
    ck_assert_msg(strcmp(a.body, b.body) == 0, "group_by=%s: rollups %s, journals %s", group_by, a.body, b.body);
    ck_assert_int_gt(YAJL_GET_ARRAY(fgt_json_array(&a, "data", NULL))->len, 0);
    fgt_response_free(&a);
    fgt_response_free(&b);
}

/* Each way the rollups answer: every merchant's days; the city's days; whole months with
 * ragged ends; one merchant's days. */
static void same_from_rollups_and_journals(const char *from, const char *to)
{
    same_report(staff, from, to, "day,merchant,fee_type,category,adapter");
    same_report(staff, from, to, "fee_type,category,adapter");
    same_report(staff, from, to, "month,fee_type,adapter");
    same_report(staff, from, to, "merchant,category");
    same_report(key_a, from, to, "day,category,adapter");
}

START_TEST(collections_agree_across_json_csv_xlsx_and_the_ledger)
{
    char o[6][40], p[6][40], from[11], to[11], path[300];
    long long before_a = merchant_balance(mer_a);
    new_order(key_a, "tuition", "hoc-phi", "5A", 4500000, NULL, o[0]);
    new_order(key_a, "tuition", "hoc-phi", "5A", 1500000, NULL, o[1]);
    new_order(key_a, "tuition", "hoc-phi", "5B", 2500000, NULL, o[2]);
    new_order(key_a, "utility", "water", "5B", 120000, NULL, o[3]);
    new_order(key_b, "procedure", NULL, "x", 50000, NULL, o[4]);
    for (int i = 0; i < 4; i++)
        pay(key_a, o[i], i == 0 ? 4500000 : i == 1 ? 1500000 : i == 2 ? 2500000 : 120000, p[i]);
    pay(key_b, o[4], 50000, p[4]);
    snprintf(path, sizeof(path), "/v1/payments/%s/refunds", p[1]);
    fgt_response_t r = fgt_req(&srv, FGT_H2C, "POST", path, key_a, NULL, "{\"amount\":300000}", 0, NULL);
    fgt_expect(r, 201, NULL);
    fgt_response_free(&r);
    today_plus(-1, from);
    today_plus(1, to);

    /* merchant A's key: its own rows only, by class */
    snprintf(path, sizeof(path), "/v1/reports/collections?from=%s&to=%s&group_by=fee_type,metadata.class", from, to);
    r = report(key_a, path);
    fgt_expect(r, 200, NULL);
    yajl_val rows = fgt_json_array(&r, "data", NULL);
    ck_assert_int_eq(YAJL_GET_ARRAY(rows)->len, 3); /* tuition 5A, tuition 5B, utility 5B */
    ck_assert_str_eq(fgt_val_str(YAJL_GET_ARRAY(rows)->values[0], "fee_type", NULL), "tuition");
    ck_assert_str_eq(fgt_val_str(YAJL_GET_ARRAY(rows)->values[0], "metadata.class", NULL), "5A");
    ck_assert_int_eq(val_int(YAJL_GET_ARRAY(rows)->values[0], "count", NULL), 2);
    ck_assert_int_eq(val_int(YAJL_GET_ARRAY(rows)->values[0], "collected", NULL), 6000000);
    ck_assert_int_eq(val_int(YAJL_GET_ARRAY(rows)->values[0], "refunded", NULL), 300000);
    ck_assert_int_eq(val_int(YAJL_GET_ARRAY(rows)->values[0], "net", NULL), 5700000);
    ck_assert_int_eq(val_int(YAJL_GET_ARRAY(rows)->values[0], "fees", NULL), 0);
    ck_assert_int_eq(fgt_json_int(&r, "totals", "collected", NULL), 8620000);
    ck_assert_int_eq(fgt_json_int(&r, "totals", "refunded", NULL), 300000);
    ck_assert_int_eq(fgt_json_int(&r, "totals", "count", NULL), 4);
    /* with the ledger: what the period added to the merchant's account */
    ck_assert_int_eq(fgt_json_int(&r, "totals", "net", NULL), merchant_balance(mer_a) - before_a);
    long long net = fgt_json_int(&r, "totals", "net", NULL);
    fgt_response_free(&r);

    /* CSV: BOM, CRLF, one header row, the same sums */
    snprintf(path, sizeof(path), "/v1/reports/collections?from=%s&to=%s&group_by=fee_type,metadata.class&format=csv",
             from, to);
    r = report(key_a, path);
    fgt_expect(r, 200, NULL);
    ck_assert_ptr_nonnull(strstr(fgt_header(&r, "content-type"), "text/csv"));
    ck_assert_ptr_nonnull(strstr(fgt_header(&r, "content-disposition"), ".csv"));
    yajl_val csv = read_back(&r, "csv");
    ck_assert(YAJL_IS_TRUE(fgt_val_at(csv, "bom", NULL)));
    ck_assert(YAJL_IS_TRUE(fgt_val_at(csv, "crlf", NULL)));
    ck_assert_int_eq(val_int(csv, "rows", NULL), 3);
    ck_assert_int_eq(val_int(csv, "sums", "net"), net);
    ck_assert_int_eq(val_int(csv, "sums", "collected"), 8620000);
    ck_assert_int_eq(val_int(csv, "sums", "count"), 4);
    yajl_tree_free(csv);
    fgt_response_free(&r);

    /* XLSX: the same sums, VND format, dates as dates, header frozen, totals row */
    snprintf(path, sizeof(path), "/v1/reports/collections?from=%s&to=%s&group_by=day,merchant&format=xlsx", from, to);
    r = report(staff, path);
    fgt_expect(r, 200, NULL);
    ck_assert_ptr_nonnull(strstr(fgt_header(&r, "content-type"), "spreadsheetml"));
    yajl_val x = read_back(&r, "xlsx");
    ck_assert_str_eq(fgt_val_str(x, "freeze", NULL), "A2");
    ck_assert_str_eq(fgt_val_str(x, "formats", "Đã thu / Collected", NULL), "#,##0");
    ck_assert_ptr_nonnull(fgt_val_at(x, "dates", "Ngày / Day", NULL));
    long long xlsx_collected = val_int(x, "sums", "Đã thu / Collected");
    ck_assert_int_eq(val_int(x, "totals", "Đã thu / Collected"), xlsx_collected);
    yajl_tree_free(x);
    fgt_response_free(&r);
    snprintf(path, sizeof(path), "/v1/reports/collections?from=%s&to=%s&group_by=day,merchant", from, to);
    r = report(staff, path);
    fgt_expect(r, 200, NULL);
    ck_assert_int_eq(fgt_json_int(&r, "totals", "collected", NULL), xlsx_collected);
    ck_assert_int_ge(xlsx_collected, 8620000 + 50000); /* staff see both merchants */
    fgt_response_free(&r);
    /* a day and its month side by side: each column its own value */
    snprintf(path, sizeof(path), "/v1/reports/collections?from=%s&to=%s&group_by=day,month", from, to);
    r = report(staff, path);
    fgt_expect(r, 200, NULL);
    yajl_val by_day = fgt_json_array(&r, "data", NULL);
    ck_assert_int_ge((int)by_day->u.array.len, 1);
    const char *day_text = fgt_val_str(by_day->u.array.values[0], "day", NULL),
               *month_text = fgt_val_str(by_day->u.array.values[0], "month", NULL);
    ck_assert_msg(day_text != NULL && month_text != NULL && strlen(day_text) == 10 && strlen(month_text) == 7 &&
                      strncmp(day_text, month_text, 7) == 0,
                  "day %s, month %s", day_text, month_text);
    fgt_response_free(&r);

    /* the rollups (with the ledger above their watermark) and the period's journals agree,
     * before and after `feegate reports rebuild` has rolled everything up */
    same_from_rollups_and_journals(from, to);
    char out[256];
    const char *rebuild[] = {"feegate", "reports", "rebuild", NULL};
    ck_assert_int_eq(fgt_cli(rebuild, NULL, out, sizeof(out)), 0);
    ck_assert_ptr_nonnull(strstr(out, "\"upto_entry_id\":"));
    ck_assert_int_gt(fgt_db_int("SELECT upto_entry_id FROM report_watermarks WHERE name = 'collections'", NULL, NULL),
                     0);
    ck_assert_int_eq(fgt_db_int("SELECT COALESCE(SUM(collected), 0) FROM report_daily r JOIN merchants m ON "
                                "m.id = r.merchant_id WHERE m.public_id = ?",
                                mer_a, NULL),
                     8620000);
    ck_assert_int_eq(fgt_db_int("SELECT COALESCE(SUM(refunded), 0) FROM report_daily r JOIN merchants m ON "
                                "m.id = r.merchant_id WHERE m.public_id = ?",
                                mer_a, NULL),
                     300000);
    same_from_rollups_and_journals(from, to);
    /* a payment after the rebuild is read from the ledger above the watermark */
    new_order(key_a, "tuition", "hoc-phi", "5A", 10000, NULL, o[5]);
    pay(key_a, o[5], 10000, p[5]);
    same_from_rollups_and_journals(from, to);

    /* staff narrowed to merchant B; merchant A cannot ask for B */
    snprintf(path, sizeof(path), "/v1/reports/collections?from=%s&to=%s&merchant_id=%s&group_by=merchant", from, to,
             mer_b);
    r = report(staff, path);
    fgt_expect(r, 200, NULL);
    ck_assert_int_eq(YAJL_GET_ARRAY(fgt_json_array(&r, "data", NULL))->len, 1);
    ck_assert_str_eq(fgt_val_str(YAJL_GET_ARRAY(fgt_json_array(&r, "data", NULL))->values[0], "merchant_id", NULL),
                     mer_b);
    ck_assert_int_eq(fgt_json_int(&r, "totals", "collected", NULL), 50000);
    fgt_response_free(&r);
    r = report(key_a, path);
    fgt_expect(r, 404, "merchant_not_found");
    fgt_response_free(&r);
    r = report(key_b, path);
    fgt_expect(r, 200, NULL);
    ck_assert_int_eq(fgt_json_int(&r, "totals", "collected", NULL), 50000);
    fgt_response_free(&r);

    /* the merchant's statement over the same days: opening + movements = closing = the ledger */
    snprintf(path, sizeof(path), "/v1/reports/merchant-statement?from=%s&to=%s", from, to);
    r = report(key_a, path);
    fgt_expect(r, 200, NULL);
    ck_assert_int_eq(fgt_json_int(&r, "collections", NULL), 8620000 + 10000);
    ck_assert_int_eq(fgt_json_int(&r, "refunds", NULL), 300000);
    ck_assert_int_eq(fgt_json_int(&r, "closing_balance", NULL), merchant_balance(mer_a));
    ck_assert_int_eq(fgt_json_int(&r, "opening_balance", NULL) + fgt_json_int(&r, "collections", NULL) -
                         fgt_json_int(&r, "refunds", NULL) - fgt_json_int(&r, "payouts", NULL) -
                         fgt_json_int(&r, "fees", NULL) + fgt_json_int(&r, "adjustments", NULL),
                     fgt_json_int(&r, "closing_balance", NULL));
    ck_assert_str_eq(fgt_json_str(&r, "merchant_id", NULL), mer_a);
    fgt_response_free(&r);
    r = report(staff, path); /* staff must name the merchant */
    fgt_expect(r, 400, "missing_field");
    fgt_response_free(&r);
    /* a period from the calendar's first day: nothing came before it (the opening is 0, not
     * today's balance), so the statement still balances to the ledger */
    r = report(key_a, "/v1/reports/merchant-statement?from=1970-01-01&to=1970-12-31");
    fgt_expect(r, 200, NULL);
    ck_assert_int_eq(fgt_json_int(&r, "opening_balance", NULL), 0);
    ck_assert_int_eq(fgt_json_int(&r, "closing_balance", NULL), 0);
    fgt_response_free(&r);
    /* and its CSV and XLSX, read back: the day's movements add up to the JSON answer's */
    static const column_t STATEMENT[] = {{"collections", "Thu / Collections", 1},
                                         {"refunds", "Hoàn trả / Refunds", 1},
                                         {"fees", "Phí / Fees", 1},
                                         {"payouts", "Đã chuyển / Payouts", 1},
                                         {"adjustments", "Điều chỉnh / Adjustments", 1}};
    snprintf(path, sizeof(path), "/v1/reports/merchant-statement?from=%s&to=%s&merchant_id=%s", from, to, mer_a);
    r = files_agree(staff, path, STATEMENT, 5, 12);
    ck_assert_int_eq(fgt_json_int(&r, "totals", "collections", NULL), 8620000 + 10000);
    ck_assert_int_eq(fgt_json_int(&r, "totals", "collections", NULL), fgt_json_int(&r, "collections", NULL));
    ck_assert_int_eq(fgt_json_int(&r, "totals", "refunds", NULL), fgt_json_int(&r, "refunds", NULL));
    fgt_response_free(&r);
    ck_assert_int_eq(fgt_ledger_check(), 0);
}
END_TEST

/* Runs one statement of a posted payment: in the transaction held open on `held`, or, NULL,
 * committed at once. */
static void run_sql(MYSQL *held, const char *sql)
{
    if (held != NULL)
        ck_assert_msg(mysql_query(held, sql) == 0, "%s: %s", sql, mysql_error(held));
    else
        fgt_db_exec(sql, NULL);
}

/* A payment as the service posts one, written here so that it can carry any time or stay
 * uncommitted: an order of merchant mer (public id), its succeeded sandbox payment (provider
 * transaction id in txn, 40 bytes, when not NULL) and its balanced payment journal, at at_ms.
 * The service stamps postings with the current time, so a posting at 23:30 UTC on 1 November
 * 2026 is written this way (this suite's own database), as is a payment whose transaction
 * commits late (held: a connection inside a transaction; its first write is the order, so its
 * ledger entries come after another write of it, as db/settle.h requires). */
static void posted_payment(MYSQL *held, const char *mer, long long at_ms, long long amount, char *txn)
{
    char sql[1200], ref[40];
    snprintf(ref, sizeof(ref), "%s", fgt_unique("HIST"));
    if (txn != NULL)
        snprintf(txn, 40, "%s", ref);
    snprintf(sql, sizeof(sql),
             "INSERT INTO orders (public_id, merchant_id, merchant_ref, fee_type, amount, currency, amount_paid, "
             "status, code, created_at, updated_at) SELECT CONCAT('ord_h', LEFT(REPLACE(UUID(), '-', ''), 26)), "
             "m.id, '%s', 'tuition', %lld, 'VND', %lld, 'paid', LEFT(UPPER(REPLACE(UUID(), '-', '')), 11), "
             "%lld - 3600000, %lld FROM merchants m WHERE m.public_id = '%s'",
             ref, amount, amount, at_ms, at_ms, mer);
    run_sql(held, sql);
    snprintf(sql, sizeof(sql),
             "INSERT INTO payments (public_id, order_id, merchant_id, adapter, amount, amount_received, "
             "amount_applied, currency, status, provider_txn_id, created_at, updated_at) SELECT "
             "CONCAT('pay_h', LEFT(REPLACE(UUID(), '-', ''), 26)), o.id, o.merchant_id, 'sandbox', %lld, %lld, %lld, "
             "'VND', 'succeeded', '%s', %lld - 60000, %lld FROM orders o WHERE o.merchant_ref = '%s'",
             amount, amount, amount, ref, at_ms, at_ms, ref);
    run_sql(held, sql);
    snprintf(sql, sizeof(sql),
             "INSERT INTO journals (public_id, kind, payment_id, memo, created_at) SELECT "
             "CONCAT('jrn_h', LEFT(REPLACE(UUID(), '-', ''), 26)), 'payment', p.id, p.public_id, %lld "
             "FROM payments p WHERE p.provider_txn_id = '%s'",
             at_ms, ref);
    run_sql(held, sql);
    snprintf(sql, sizeof(sql),
             "INSERT INTO ledger_entries (journal_id, account_id, amount, currency, created_at) "
             "SELECT j.id, a.id, IF(a.code LIKE 'assets:%%', %lld, -%lld), 'VND', %lld FROM journals j "
             "JOIN payments p ON p.id = j.payment_id JOIN merchants m ON m.id = p.merchant_id "
             "JOIN ledger_accounts a ON a.code IN ('assets:clearing:sandbox', CONCAT('liabilities:merchant:', "
             "m.public_id)) WHERE p.provider_txn_id = '%s'",
             amount, amount, at_ms, ref);
    run_sql(held, sql);
}

static long long collected_on(const char *day, const char *auth)
{
    char path[200];
    snprintf(path, sizeof(path), "/v1/reports/collections?from=%s&to=%s&group_by=day", day, day);
    fgt_response_t r = report(auth, path);
    fgt_expect(r, 200, NULL);
    long long v = fgt_json_int(&r, "totals", "collected", NULL);
    yajl_val rows = fgt_json_array(&r, "data", NULL);
    if (v > 0)
        ck_assert_str_eq(fgt_val_str(YAJL_GET_ARRAY(rows)->values[0], "day", NULL), day);
    fgt_response_free(&r);
    return v;
}

START_TEST(a_payment_at_2330_utc_belongs_to_the_next_business_day)
{
    char order[40], pay_id[40];
    new_order(key_c, "tuition", "hoc-phi", "9C", 700000, NULL, order);
    pay(key_c, order, 700000, pay_id);                          /* the merchant's and the adapter's accounts exist */
    posted_payment(NULL, mer_c, 1793575800000LL, 333000, NULL); /* 2026-11-01T23:30:00Z = 06:30 on the 2nd in GMT+7 */
    posted_payment(NULL, mer_c, 1793552399999LL, 1000, NULL);   /* 2026-11-01T16:59:59.999Z = 23:59:59.999 on the 1st */
    posted_payment(NULL, mer_c, 1793552400000LL, 20000, NULL);  /* 2026-11-01T17:00:00Z = midnight starting the 2nd */
    ck_assert_int_eq(collected_on("2026-11-01", key_c), 1000);
    ck_assert_int_eq(collected_on("2026-11-02", key_c), 353000);
    ck_assert_int_eq(collected_on("2026-11-02", staff), 353000);
    ck_assert_int_eq(collected_on("2026-11-02", key_a), 0); /* another merchant's money is not A's */
    char path[200];
    snprintf(path, sizeof(path), "/v1/reports/collections?from=2026-10-01&to=2026-11-30&group_by=month,merchant");
    fgt_response_t r = report(key_c, path);
    fgt_expect(r, 200, NULL);
    yajl_val rows = fgt_json_array(&r, "data", NULL);
    ck_assert_int_eq(YAJL_GET_ARRAY(rows)->len, 1);
    ck_assert_str_eq(fgt_val_str(YAJL_GET_ARRAY(rows)->values[0], "month", NULL), "2026-11");
    ck_assert_str_eq(fgt_val_str(YAJL_GET_ARRAY(rows)->values[0], "merchant_name", NULL), "Trường THCS Lê Lợi");
    ck_assert_int_eq(val_int(YAJL_GET_ARRAY(rows)->values[0], "count", NULL), 3);
    fgt_response_free(&r);
    /* whole months from the monthly rollup, the ragged ends from the daily one */
    char out[256], err[2048], tomorrow[11];
    const char *rebuild[] = {"reports", "rebuild", NULL};
    int status = fgt_cli_run(rebuild, NULL, NULL, out, sizeof(out), err, sizeof(err));
    ck_assert_msg(status == 0, "feegate reports rebuild: %d %s %s", status, out, err);
    today_plus(1, tomorrow);
    ck_assert_int_eq(collected_on("2026-11-02", key_c), 353000);
    same_report(staff, "2026-10-15", tomorrow, "merchant,fee_type");
    same_report(staff, "2026-11-01", "2026-11-30", "merchant");
    same_report(staff, "2026-11-02", "2026-11-30", "merchant,adapter");
    same_report(key_c, "2026-10-15", tomorrow, "month");
    ck_assert_int_eq(fgt_ledger_check(), 0);
}
END_TEST

static void due_in(int days, char *out, size_t cap)
{
    time_t t = time(NULL) + (time_t)days * 86400;
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, cap, ",\"due_at\":\"%Y-%m-%dT%H:%M:%SZ\"", &tm);
}

static yajl_val row_where(yajl_val rows, const char *key, const char *value)
{
    for (size_t i = 0; i < YAJL_GET_ARRAY(rows)->len; i++) {
        const char *v = fgt_val_str(YAJL_GET_ARRAY(rows)->values[i], key, NULL);
        if (v != NULL && strcmp(v, value) == 0)
            return YAJL_GET_ARRAY(rows)->values[i];
    }
    return NULL;
}

START_TEST(outstanding_orders_aged_by_due_date)
{
    char o[6][40], p[40], due[80], path[300];
    new_order(key_c, "tuition", "hoc-phi", "7X", 100000, NULL, o[0]); /* no due date: not due */
    due_in(5, due, sizeof(due));
    new_order(key_c, "tuition", "hoc-phi", "7X", 200000, due, o[1]); /* not due yet */
    due_in(-10, due, sizeof(due));
    char partial[120];
    snprintf(partial, sizeof(partial), "%s,\"allow_partial\":true", due);
    new_order(key_c, "tuition", "hoc-phi", "7X", 500000, partial, o[2]); /* 10 days late, 100000 paid */
    due_in(-45, due, sizeof(due));
    new_order(key_c, "tuition", "hoc-phi", "7X", 400000, due, o[3]);
    due_in(-90, due, sizeof(due));
    new_order(key_c, "utility", "water", "7X", 300000, due, o[4]);
    new_order(key_c, "tuition", "hoc-phi", "7X", 900000, due, o[5]); /* paid: not owed */
    pay(key_c, o[2], 100000, p);
    pay(key_c, o[5], 900000, p);

    snprintf(path, sizeof(path), "/v1/reports/outstanding?group_by=metadata.class");
    fgt_response_t r = report(key_c, path);
    fgt_expect(r, 200, NULL);
    yajl_val row = row_where(fgt_json_array(&r, "data", NULL), "metadata.class", "7X");
    ck_assert_ptr_nonnull(row);
    ck_assert_int_eq(val_int(row, "count", NULL), 5);
    ck_assert_int_eq(val_int(row, "owed", NULL), 100000 + 200000 + 400000 + 400000 + 300000);
    ck_assert_int_eq(val_int(row, "not_due", NULL), 300000);
    ck_assert_int_eq(val_int(row, "overdue_1_30", NULL), 400000);
    ck_assert_int_eq(val_int(row, "overdue_31_60", NULL), 400000);
    ck_assert_int_eq(val_int(row, "overdue_over_60", NULL), 300000);
    fgt_response_free(&r);

    /* one row per order, most overdue first, with the payer to call */
    snprintf(path, sizeof(path), "/v1/reports/outstanding?group_by=fee_type&detail=orders");
    r = report(key_c, path);
    fgt_expect(r, 200, NULL);
    yajl_val rows = fgt_json_array(&r, "data", NULL);
    yajl_val first = YAJL_GET_ARRAY(rows)->values[0];
    ck_assert_str_eq(fgt_val_str(first, "fee_type", NULL), "tuition");
    ck_assert_str_eq(fgt_val_str(first, "bucket", NULL), "31_60");
    ck_assert_str_eq(fgt_val_str(first, "payer_name", NULL), "Nguyễn Văn An");
    ck_assert_str_eq(fgt_val_str(first, "payer_ref", NULL), "HS-7X");
    ck_assert_int_ge(val_int(first, "days_past_due", NULL), 44);
    yajl_val late = row_where(rows, "order_id", o[2]);
    ck_assert_ptr_nonnull(late);
    ck_assert_int_eq(val_int(late, "paid", NULL), 100000);
    ck_assert_int_eq(val_int(late, "owed", NULL), 400000);
    ck_assert_str_eq(fgt_val_str(late, "bucket", NULL), "1_30");
    ck_assert_ptr_null(row_where(rows, "order_id", o[5]));
    long long owed = fgt_json_int(&r, "totals", "owed", NULL);
    fgt_response_free(&r);
    snprintf(path, sizeof(path), "/v1/reports/outstanding?group_by=fee_type&detail=orders&format=csv");
    r = report(key_c, path);
    fgt_expect(r, 200, NULL);
    ck_assert_ptr_nonnull(strstr(r.body, "Nguyễn Văn An"));
    yajl_val csv = read_back(&r, "csv");
    ck_assert_int_eq(val_int(csv, "sums", "owed"), owed);
    yajl_tree_free(csv);
    fgt_response_free(&r);

    /* the grouped and the detailed report as CSV and XLSX, read back: the JSON answer's totals */
    static const column_t AGED[] = {{"count", "Số hóa đơn / Orders", 0},
                                    {"owed", "Còn nợ / Owed", 1},
                                    {"not_due", "Chưa đến hạn / Not due", 1},
                                    {"overdue_1_30", "Quá hạn 1–30 ngày / 1–30 days", 1},
                                    {"overdue_31_60", "Quá hạn 31–60 ngày / 31–60 days", 1},
                                    {"overdue_over_60", "Quá hạn trên 60 ngày / Over 60 days", 1}};
    r = files_agree(key_c, "/v1/reports/outstanding?group_by=metadata.class", AGED, 6, 16);
    ck_assert_int_ge(fgt_json_int(&r, "totals", "owed", NULL), 1400000);
    fgt_response_free(&r);
    static const column_t ORDERS[] = {{"amount", "Số tiền / Amount", 1},
                                      {"paid", "Đã nộp / Paid", 1},
                                      {"owed", "Còn nợ / Owed", 1}};
    r = files_agree(key_c, "/v1/reports/outstanding?group_by=fee_type&detail=orders", ORDERS, 3, 14);
    ck_assert_int_eq(fgt_json_int(&r, "totals", "owed", NULL), owed);
    fgt_response_free(&r);

    /* as of yesterday none of these orders existed */
    char yesterday[11];
    today_plus(-1, yesterday);
    snprintf(path, sizeof(path), "/v1/reports/outstanding?as_of=%s&group_by=metadata.class", yesterday);
    r = report(key_c, path);
    fgt_expect(r, 200, NULL);
    ck_assert_ptr_null(row_where(fgt_json_array(&r, "data", NULL), "metadata.class", "7X"));
    fgt_response_free(&r);
    /* other merchants see none of them */
    snprintf(path, sizeof(path), "/v1/reports/outstanding?group_by=metadata.class");
    r = report(key_a, path);
    fgt_expect(r, 200, NULL);
    ck_assert_ptr_null(row_where(fgt_json_array(&r, "data", NULL), "metadata.class", "7X"));
    fgt_response_free(&r);
}
END_TEST

START_TEST(bad_queries_are_refused)
{
    static const struct {
        const char *path;
        long status;
        const char *code;
    } CASES[] = {
        {"/v1/reports/collections?to=2026-01-01", 400, "missing_field"},
        {"/v1/reports/collections?from=2026-02-30&to=2026-03-01", 400, "invalid_date"},
        {"/v1/reports/collections?from=2026-03-02&to=2026-03-01", 400, "invalid_period"},
        {"/v1/reports/collections?from=2024-01-01&to=2026-03-01", 422, "period_too_long"},
        {"/v1/reports/merchant-statement?from=1970-01-01&to=9999-12-31", 422, "period_too_long"},
        {"/v1/reports/merchant-statement?from=2026-03-02&to=2026-03-01", 400, "invalid_period"},
        {"/v1/reports/collections?from=2026-01-01&to=2026-01-02&group_by=weekday", 400, "invalid_group_by"},
        {"/v1/reports/collections?from=2026-01-01&to=2026-01-02&group_by=day,day", 400, "invalid_group_by"},
        {"/v1/reports/collections?from=2026-01-01&to=2026-01-02&group_by=metadata.a%27b", 400, "invalid_group_by"},
        {"/v1/reports/collections?from=2026-01-01&to=2026-01-02&format=pdf", 400, "invalid_format"},
        {"/v1/reports/outstanding?group_by=day", 400, "invalid_group_by"},
        {"/v1/reports/outstanding?as_of=yesterday", 400, "invalid_date"},
        {"/v1/reports/outstanding?detail=all", 400, "invalid_detail"},
        {"/v1/reports/outstanding?merchant_id=mer_nope", 404, "merchant_not_found"},
    };
    for (size_t i = 0; i < sizeof(CASES) / sizeof(CASES[0]); i++) {
        fgt_response_t r = report(key_a, CASES[i].path);
        fgt_expect(r, CASES[i].status, CASES[i].code);
        fgt_response_free(&r);
    }
    fgt_response_t r = report(NULL, "/v1/reports/outstanding");
    ck_assert_int_eq(r.status, 401);
    fgt_response_free(&r);
    r = report("fg_staff_not-a-real-token", "/v1/reports/outstanding");
    ck_assert_int_eq(r.status, 401);
    fgt_response_free(&r);
}
END_TEST

START_TEST(a_staff_account_scoped_to_one_merchant_reads_its_reports_only)
{
    char email[128], out[512], token[96], path[300], from[11], to[11];
    snprintf(email, sizeof(email), "ketoan@%s.edu.vn", fgt_unique("s"));
    const char *bad[] = {"feegate", "admin",  "user",    "create",     "--email",
                         email,     "--role", "auditor", "--merchant", "mer_01ARZ3NDEKTSV4RRFFQ69G5FAV",
                         NULL};
    ck_assert_int_eq(fgt_cli(bad, "correct horse battery staple\n", out, sizeof(out)), 1); /* no such merchant */
    const char *create[] = {"feegate", "admin",   "user",       "create", "--email", email,
                            "--role",  "auditor", "--merchant", mer_c,    NULL};
    ck_assert_int_eq(fgt_cli(create, "correct horse battery staple\n", out, sizeof(out)), 0);
    const char *tok[] = {"feegate", "admin", "token", "create", "--email", email, NULL};
    ck_assert_int_eq(fgt_cli(tok, NULL, out, sizeof(out)), 0);
    const char *t = strstr(out, "\"token\":\"");
    ck_assert_ptr_nonnull(t);
    snprintf(token, sizeof(token), "%.*s", (int)strcspn(t + 9, "\""), t + 9);

    char order[40], pay_id[40];
    new_order(key_c, "tuition", "hoc-phi", "6S", 80000, NULL, order);
    pay(key_c, order, 80000, pay_id);
    today_plus(-1, from);
    today_plus(1, to);
    snprintf(path, sizeof(path), "/v1/reports/collections?from=%s&to=%s&group_by=merchant", from, to);
    fgt_response_t r = report(token, path);
    fgt_expect(r, 200, NULL);
    yajl_val rows = fgt_json_array(&r, "data", NULL);
    ck_assert_int_eq(YAJL_GET_ARRAY(rows)->len, 1); /* C's own, though A and B collected too */
    ck_assert_str_eq(fgt_val_str(YAJL_GET_ARRAY(rows)->values[0], "merchant_id", NULL), mer_c);
    fgt_response_free(&r);
    snprintf(path, sizeof(path), "/v1/reports/collections?from=%s&to=%s&merchant_id=%s", from, to, mer_a);
    r = report(token, path);
    fgt_expect(r, 404, "merchant_not_found");
    fgt_response_free(&r);
    snprintf(path, sizeof(path), "/v1/reports/merchant-statement?from=%s&to=%s", from, to);
    r = report(token, path);
    fgt_expect(r, 200, NULL);
    ck_assert_str_eq(fgt_json_str(&r, "merchant_id", NULL), mer_c);
    fgt_response_free(&r);
    /* nothing of the city's */
    static const char *const CITY[] = {"/v1/reports/reconciliation?from=2026-12-01&to=2026-12-02",
                                       "/v1/ledger/accounts", "/v1/reconciliations/rec_x"};
    for (size_t i = 0; i < sizeof(CITY) / sizeof(CITY[0]); i++) {
        r = report(token, CITY[i]);
        fgt_expect(r, 403, "merchant_scoped_staff");
        fgt_response_free(&r);
    }
    /* and merchant A's key cannot read C's statement */
    snprintf(path, sizeof(path), "/v1/reports/merchant-statement?from=%s&to=%s&merchant_id=%s", from, to, mer_c);
    r = report(key_a, path);
    fgt_expect(r, 404, "merchant_not_found");
    fgt_response_free(&r);
}
END_TEST

/* ---- the rollups when a journal commits late ---------------------------------------------- */

/* Rollup jobs racing one another: each with its own connection and its own settled marks, as
 * each instance's sweeper keeps them, running rounds of a few entries until told to stop. */
#define RACERS 2
static struct {
    fg_config_t cfg;
    atomic_int stop, failures, rounds;
} rollup_race;

static void *rollup_racer(void *arg)
{
    (void)arg;
    mysql_thread_init();
    fg_db_t *db = fgt_db_open(&rollup_race.cfg);
    fg_settle_queue_t q = FG_SETTLE_QUEUE_INIT("SELECT COALESCE(MAX(id), 0) FROM ledger_entries", 1);
    while (!atomic_load(&rollup_race.stop)) {
        int rc = fg_settle_round(db, &q, fg_now_ms());
        if (rc != 0 && rc != FG_EUNAVAILABLE)
            atomic_fetch_add(&rollup_race.failures, 1);
        /* small rounds, so that the racers take turns within one range of entries */
        rc = fg_report_rollup_round(db, q.settled[0], 3, NULL);
        if (rc < 0)
            atomic_fetch_add(&rollup_race.failures, 1);
        else if (rc == 1)
            atomic_fetch_add(&rollup_race.rounds, 1);
        /* a pause between rounds: each settle round's probe must see InnoDB refresh its list of
         * open transactions, which it does only after 100 ms without a reader (db/settle.c), and the
         * server's own settle job and the other racer read it too */
        fg_sleep_ms(250);
    }
    fg_settle_queue_free(&q);
    fg_db_close(db);
    mysql_thread_end();
    return NULL;
}

static long long watermark(void)
{
    return fgt_db_int("SELECT upto_entry_id FROM report_watermarks WHERE name = 'collections'", NULL, NULL);
}

/* Waits (up to 60 s) for the rollups' watermark to reach entry id upto. */
static void watermark_reaches(long long upto)
{
    for (int i = 0; i < 600 && watermark() < upto; i++)
        fgt_sleep_ms(100);
    ck_assert_msg(watermark() >= upto, "the rollups' watermark is %lld, not yet %lld", watermark(), upto);
}

/* The merchant's collections today from the rollups (with the ledger above their watermark) and
 * from the period's journals (the full scan): the same answer, the count and collected given. */
static void collections_today(const char *key, long long count, long long collected)
{
    char from[11], to[11], path[300];
    today_plus(-1, from);
    today_plus(1, to);
    snprintf(path, sizeof(path), "/v1/reports/collections?from=%s&to=%s&group_by=day,merchant,adapter", from, to);
    same_report(key, from, to, "day,merchant,adapter");
    fgt_response_t r = report(key, path);
    fgt_expect(r, 200, NULL);
    ck_assert_int_eq(fgt_json_int(&r, "totals", "count", NULL), count);
    ck_assert_int_eq(fgt_json_int(&r, "totals", "collected", NULL), collected);
    fgt_response_free(&r);
}

/* The rollups themselves (not the ledger above their watermark): the merchant's payments and
 * what they collected in each of the three tables. */
static void rolled_up(const char *mer, long long count, long long collected)
{
    static const char *const SQL[][2] = {
        {"SELECT COALESCE(SUM(r.payments), 0) FROM report_daily r JOIN merchants m ON m.id = r.merchant_id WHERE "
         "m.public_id = ?",
         "SELECT COALESCE(SUM(r.collected), 0) FROM report_daily r JOIN merchants m ON m.id = r.merchant_id WHERE "
         "m.public_id = ?"},
        {"SELECT COALESCE(SUM(r.payments), 0) FROM report_monthly r JOIN merchants m ON m.id = r.merchant_id WHERE "
         "m.public_id = ?",
         "SELECT COALESCE(SUM(r.collected), 0) FROM report_monthly r JOIN merchants m ON m.id = r.merchant_id WHERE "
         "m.public_id = ?"},
    };
    for (size_t i = 0; i < sizeof(SQL) / sizeof(SQL[0]); i++) {
        ck_assert_int_eq(fgt_db_int(SQL[i][0], mer, NULL), count);
        ck_assert_int_eq(fgt_db_int(SQL[i][1], mer, NULL), collected);
    }
}

/* A payment's journal stays uncommitted, with ledger entry ids below those of later payments,
 * while they commit and rollup jobs race rounds of a few entries each: no job steps over it
 * (the watermark stays below its first entry), the reports leave it out and agree with the
 * full scan; once it commits it is rolled up, once: the rollups, the reports from them and the
 * full scan all count every payment exactly once. */
/* A connection of its own, read committed as the service's writers run (an INSERT ... SELECT
 * then reads its sources without locking them). */
static MYSQL *connect_read_committed(void)
{
    MYSQL *m = mysql_init(NULL);
    const char *user = getenv("FEEGATE_DB_USER"), *pass = getenv("FEEGATE_DB_PASSWORD");
    ck_assert_ptr_nonnull(mysql_real_connect(m, "localhost", user != NULL ? user : "feegate",
                                             pass != NULL ? pass : "feegate", getenv("FEEGATE_DB_NAME"), 0,
                                             getenv("FEEGATE_DB_SOCKET"), 0));
    ck_assert_int_eq(mysql_query(m, "SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED"), 0);
    return m;
}

START_TEST(a_late_commit_is_rolled_up_exactly_once)
{
    char mer[64], key[64], order[40], payment[40], held_txn[40], sql[300];
    fgt_merchant_create("Trường Mầm non Hoa Sen", mer, key);
    new_order(key, "tuition", "hoc-phi", "M1", 100000, NULL, order);
    pay(key, order, 100000, payment); /* the merchant's account exists */
    long long count = 1, collected = 100000;

    fgt_config_load(&rollup_race.cfg);
    atomic_store(&rollup_race.stop, 0);
    atomic_store(&rollup_race.failures, 0);
    atomic_store(&rollup_race.rounds, 0);
    pthread_t racers[RACERS];
    for (int i = 0; i < RACERS; i++)
        ck_assert_int_eq(pthread_create(&racers[i], NULL, rollup_racer, NULL), 0);
    watermark_reaches(fgt_db_int("SELECT MAX(id) FROM ledger_entries", NULL, NULL));
    rolled_up(mer, count, collected);

    /* the late one: written, its entries numbered, not committed */
    /* read committed: repeatable read would lock the orders the INSERT ... SELECTs below scan
     * and the gaps between them, and hold up the later orders */
    MYSQL *held = connect_read_committed();
    ck_assert_int_eq(mysql_query(held, "START TRANSACTION"), 0);
    posted_payment(held, mer, fg_now_ms(), 777000, held_txn);
    snprintf(sql, sizeof(sql),
             "SELECT MIN(e.id) FROM ledger_entries e JOIN journals j ON j.id = e.journal_id JOIN payments p ON "
             "p.id = j.payment_id WHERE p.provider_txn_id = '%s'",
             held_txn);
    ck_assert_int_eq(mysql_query(held, sql), 0);
    MYSQL_RES *res = mysql_store_result(held);
    MYSQL_ROW row = mysql_fetch_row(res);
    ck_assert(row != NULL && row[0] != NULL);
    long long held_first = atoll(row[0]);
    mysql_free_result(res);

    /* later payments commit meanwhile, their entries numbered after the held one's */
    for (int i = 0; i < 3; i++) {
        new_order(key, "tuition", "hoc-phi", "M1", 200000 + i, NULL, order);
        pay(key, order, 200000 + i, payment);
        count++;
        collected += 200000 + i;
    }
    ck_assert_int_gt(fgt_db_int("SELECT MAX(id) FROM ledger_entries", NULL, NULL), held_first);
    fgt_sleep_ms(2500); /* the racers have had many turns, and fresh lists of transactions */
    ck_assert_int_lt(watermark(), held_first);
    collections_today(key, count, collected); /* the later ones read from the ledger above the watermark */

    ck_assert_int_eq(mysql_query(held, "COMMIT"), 0);
    mysql_close(held);
    count++;
    collected += 777000;
    collections_today(key, count, collected); /* at once, before any round has run */
    watermark_reaches(fgt_db_int("SELECT MAX(id) FROM ledger_entries", NULL, NULL));
    atomic_store(&rollup_race.stop, 1);
    for (int i = 0; i < RACERS; i++)
        ck_assert_int_eq(pthread_join(racers[i], NULL), 0);
    ck_assert_int_eq(atomic_load(&rollup_race.failures), 0);
    ck_assert_int_ge(atomic_load(&rollup_race.rounds), 2);
    fg_config_free(&rollup_race.cfg);
    rolled_up(mer, count, collected);
    collections_today(key, count, collected);
    ck_assert_int_eq(fgt_ledger_check(), 0);
}
END_TEST

/* ---- the reconciliation summary's day totals ------------------------------------------------ */

/* A recount of recon_day_totals racing the item writes below, on a connection of its own. */
static struct {
    fg_config_t cfg;
    atomic_int stop, failures, rounds;
} recount_race;

static void *recount_racer(void *arg)
{
    (void)arg;
    mysql_thread_init();
    fg_db_t *db = fgt_db_open(&recount_race.cfg);
    while (!atomic_load(&recount_race.stop)) {
        int64_t days = 0, corrected = 0;
        int rc = fg_recon_totals_rebuild(db, &days, &corrected);
        /* the writes below go through the triggers: a recount never finds anything to correct */
        if (rc != 0 || corrected != 0 || days == 0)
            atomic_fetch_add(&recount_race.failures, 1);
        else
            atomic_fetch_add(&recount_race.rounds, 1);
    }
    fg_db_close(db);
    mysql_thread_end();
    return NULL;
}

/* The summary's row of one day against the items themselves. */
static void summary_counts_items(const char *account, const char *day)
{
    static const char *const KEYS[] = {"matched", "suggested", "ledger_only", "amount_mismatch", "resolved", "open"};
    static const char *const SQL[] = {"SUM(state = 'matched')",      "SUM(state = 'suggested')",
                                      "SUM(state = 'ledger_only')",  "SUM(state = 'amount_mismatch')",
                                      "SUM(resolution IS NOT NULL)", "SUM(state <> 'matched' AND resolution IS NULL)"};
    char path[200], sql[300];
    snprintf(path, sizeof(path), "/v1/reports/reconciliation?from=%s&to=%s&account=%s", day, day, account);
    fgt_response_t r = report(staff, path);
    fgt_expect(r, 200, NULL);
    yajl_val rows = fgt_json_array(&r, "data", NULL);
    long long items = fgt_db_int("SELECT COUNT(*) FROM recon_items WHERE account = ? AND business_day = "
                                 "REPLACE(?, '-', '')",
                                 account, day);
    ck_assert_int_eq(YAJL_GET_ARRAY(rows)->len, items > 0 ? 1 : 0);
    for (size_t k = 0; items > 0 && k < sizeof(KEYS) / sizeof(KEYS[0]); k++) {
        snprintf(sql, sizeof(sql),
                 "SELECT COALESCE(%s, 0) FROM recon_items WHERE account = ? AND business_day = REPLACE(?, '-', '')",
                 SQL[k]);
        ck_assert_msg(val_int(YAJL_GET_ARRAY(rows)->values[0], KEYS[k], NULL) == fgt_db_int(sql, account, day),
                      "%s on %s: the summary says %lld", KEYS[k], day,
                      val_int(YAJL_GET_ARRAY(rows)->values[0], KEYS[k], NULL));
    }
    /* and says what counting the items themselves says, to the byte */
    snprintf(path + strlen(path), sizeof(path) - strlen(path), "&source=items");
    fgt_response_t scan = report(staff, path);
    fgt_expect(scan, 200, NULL);
    ck_assert_str_eq(scan.body, r.body);
    fgt_response_free(&scan);
    /* the account spelt with a dash and in lower case is the same account */
    char spelt[64];
    snprintf(spelt, sizeof(spelt), "%.2s-%s", account, account + 2);
    for (char *p = spelt; *p != '\0'; p++)
        *p = (char)(*p >= 'A' && *p <= 'Z' ? *p - 'A' + 'a' : *p);
    snprintf(path, sizeof(path), "/v1/reports/reconciliation?from=%s&to=%s&account=%s", day, day, spelt);
    scan = report(staff, path);
    fgt_expect(scan, 200, NULL);
    ck_assert_str_eq(scan.body, r.body);
    fgt_response_free(&scan);
    /* an empty account is every account, as none */
    snprintf(path, sizeof(path), "/v1/reports/reconciliation?from=%s&to=%s&account=", day, day);
    scan = report(staff, path);
    fgt_expect(scan, 200, NULL);
    fgt_response_free(&scan);
    fgt_response_free(&r);
}

START_TEST(reconciliation_day_totals_follow_every_item_change_and_a_rebuild_under_writes)
{
    static const char *const STATES[] = {"ledger_only", "matched", "suggested", "amount_mismatch"};
    static const char *const DAYS[] = {"2026-11-01", "2026-11-02", "2026-11-03", "2026-11-04"};
    enum { ITEMS = 40, WRITES = 240 };
    char account[40], sql[400];
    snprintf(account, sizeof(account), "%s", fgt_account("RT"));
    for (int i = 0; i < ITEMS; i++) {
        snprintf(sql, sizeof(sql),
                 "INSERT INTO recon_items (kind, transfer_ref, account, business_day, amount, currency, state, "
                 "created_at, updated_at) VALUES ('ledger_posting', 'T%d', ?, %d, %d, 'VND', '%s', 0, 0)",
                 i, 20261101 + i % 4, 1000 * (i + 1), STATES[i % 4]);
        fgt_db_exec(sql, account);
    }
    for (int d = 0; d < 4; d++)
        summary_counts_items(account, DAYS[d]);
    fgt_response_t r = report(staff, "/v1/reports/reconciliation?from=2026-11-01&to=2026-11-04&source=lines");
    fgt_expect(r, 400, "invalid_source");
    fgt_response_free(&r);

    /* a recount runs over and over while items change state, get resolved and unresolved,
     * move between days, in transactions that hold their rows a while, some rolled back */
    fgt_config_load(&recount_race.cfg);
    atomic_store(&recount_race.stop, 0);
    atomic_store(&recount_race.failures, 0);
    atomic_store(&recount_race.rounds, 0);
    pthread_t racer;
    ck_assert_int_eq(pthread_create(&racer, NULL, recount_racer, NULL), 0);
    MYSQL *w = connect_read_committed();
    unsigned seed = 7;
    for (int n = 0; n < WRITES; n++) {
        int item = (int)(rand_r(&seed) % ITEMS), what = (int)(rand_r(&seed) % 4);
        ck_assert_int_eq(mysql_query(w, "START TRANSACTION"), 0);
        if (what == 0)
            snprintf(sql, sizeof(sql),
                     "UPDATE recon_items SET state = '%s' WHERE account = '%s' AND transfer_ref = 'T%d'",
                     STATES[rand_r(&seed) % 4], account, item);
        else if (what == 1)
            snprintf(sql, sizeof(sql),
                     "UPDATE recon_items SET resolution = IF(resolution IS NULL, 'accept', NULL) WHERE account = '%s' "
                     "AND transfer_ref = 'T%d'",
                     account, item);
        else if (what == 2)
            snprintf(sql, sizeof(sql),
                     "UPDATE recon_items SET business_day = %d WHERE account = '%s' AND transfer_ref = 'T%d'",
                     20261101 + (int)(rand_r(&seed) % 4), account, item);
        else
            snprintf(sql, sizeof(sql),
                     "UPDATE recon_items SET note = 'a note, counted nowhere' WHERE account = '%s' AND transfer_ref "
                     "= 'T%d'",
                     account, item);
        ck_assert_msg(mysql_query(w, sql) == 0, "%s: %s", sql, mysql_error(w));
        if (n % 16 == 0)
            fgt_sleep_ms(30); /* held: a recount of its day waits for it */
        ck_assert_int_eq(mysql_query(w, n % 9 == 4 ? "ROLLBACK" : "COMMIT"), 0);
    }
    mysql_close(w);
    fgt_sleep_ms(300);
    atomic_store(&recount_race.stop, 1);
    ck_assert_int_eq(pthread_join(racer, NULL), 0);
    ck_assert_int_eq(atomic_load(&recount_race.failures), 0);
    ck_assert_int_ge(atomic_load(&recount_race.rounds), 1);
    fg_config_free(&recount_race.cfg);
    for (int d = 0; d < 4; d++)
        summary_counts_items(account, DAYS[d]);
    ck_assert_int_eq(fgt_ledger_check(), 0);

    /* totals that went wrong are found by the ledger check and mended by the rebuild */
    fgt_db_exec("UPDATE recon_day_totals SET matched = matched + 5 WHERE account = ? AND business_day = 20261102",
                account);
    ck_assert_int_ne(fgt_ledger_check(), 0);
    char out[512], err[2048];
    const char *rebuild[] = {"reports", "rebuild", NULL};
    int status = fgt_cli_run(rebuild, NULL, NULL, out, sizeof(out), err, sizeof(err));
    ck_assert_msg(status == 0, "feegate reports rebuild: %d %s %s", status, out, err);
    ck_assert_msg(strstr(out, "\"recon_days_corrected\":1,") != NULL, "%s", out);
    summary_counts_items(account, "2026-11-02");
    ck_assert_int_eq(fgt_ledger_check(), 0);
}
END_TEST

/* ---- the outstanding report's sums ------------------------------------------------------------ */

/* A recount and a fold of the outstanding sums racing the order writes below, each on a connection
 * of its own. */
static struct {
    fg_config_t cfg;
    atomic_int stop, failures, recounts, folds;
} owed_race;

static void *owed_recounter(void *arg)
{
    (void)arg;
    mysql_thread_init();
    fg_db_t *db = fgt_db_open(&owed_race.cfg);
    while (!atomic_load(&owed_race.stop)) {
        int64_t merchants = 0, corrected = 0;
        int rc = fg_report_owed_rebuild(db, &merchants, &corrected);
        /* every write goes through the triggers: a recount never finds anything to correct */
        if (rc != 0 || corrected != 0 || merchants == 0)
            atomic_fetch_add(&owed_race.failures, 1);
        else
            atomic_fetch_add(&owed_race.recounts, 1);
    }
    fg_db_close(db);
    mysql_thread_end();
    return NULL;
}

static void *owed_folder(void *arg)
{
    (void)arg;
    mysql_thread_init();
    fg_db_t *db = fgt_db_open(&owed_race.cfg);
    while (!atomic_load(&owed_race.stop)) {
        int64_t folded = 0;
        if (fg_report_owed_fold(db, 7, &folded) != 0) /* small folds: many of them, some splitting a key's changes */
            atomic_fetch_add(&owed_race.failures, 1);
        else if (folded > 0)
            atomic_fetch_add(&owed_race.folds, 1);
    }
    fg_db_close(db);
    mysql_thread_end();
    return NULL;
}

/* The outstanding report from the sums and from the orders themselves, the same to the byte. */
static void same_outstanding(const char *auth, const char *group_by)
{
    char path[200];
    snprintf(path, sizeof(path), "/v1/reports/outstanding?group_by=%s", group_by);
    fgt_response_t a = report(auth, path);
    fgt_expect(a, 200, NULL);
    strcat(path, "&source=orders");
    fgt_response_t b = report(auth, path);
    fgt_expect(b, 200, NULL);
    ck_assert_msg(strcmp(a.body, b.body) == 0, "group_by=%s: sums %s, orders %s", group_by, a.body, b.body);
    ck_assert_int_gt(YAJL_GET_ARRAY(fgt_json_array(&a, "data", NULL))->len, 0);
    fgt_response_free(&a);
    fgt_response_free(&b);
}

static void outstanding_from_sums_and_orders(const char *key)
{
    same_outstanding(staff, "merchant");
    same_outstanding(staff, "merchant,fee_type,category");
    same_outstanding(staff, "category");
    same_outstanding(key, "fee_type,category");
    same_outstanding(key, "merchant");
}

START_TEST(outstanding_sums_follow_every_order_change_and_a_rebuild_under_writes)
{
    static const char *const STATUS[] = {"open", "partially_paid", "paid", "cancelled", "expired"};
    static const char *const CATEGORY[] = {"NULL", "'hoc-phi'", "'ban-tru'"};
    enum { ORDERS = 30, WRITES = 240 };
    char mer[64], key[64], order[ORDERS][40], due[80], paid[40], sql[400];
    fgt_merchant_create("Trường Tiểu học Kim Đồng", mer, key);
    for (int i = 0; i < ORDERS; i++) {
        due_in(i % 5 == 0 ? 0 : 40 - 9 * (i % 11), due, sizeof(due));
        new_order(key, i % 3 ? "tuition" : "utility", i % 4 ? "hoc-phi" : NULL, "K1", 100000 + 1000 * i,
                  i % 5 == 0 ? NULL : due, order[i]);
    }
    pay(key, order[1], 101000, paid); /* paid in full through the application: owes nothing */
    outstanding_from_sums_and_orders(key);
    fgt_response_t r = report(key, "/v1/reports/outstanding?group_by=merchant&source=ledger");
    fgt_expect(r, 400, "invalid_source");
    fgt_response_free(&r);

    /* a recount and a fold run over and over while the orders change what they owe, where
     * they are counted and whether they count at all, in transactions that hold their rows a
     * while, some rolled back */
    fgt_config_load(&owed_race.cfg);
    atomic_store(&owed_race.stop, 0);
    atomic_store(&owed_race.failures, 0);
    atomic_store(&owed_race.recounts, 0);
    atomic_store(&owed_race.folds, 0);
    pthread_t recounter, folder;
    ck_assert_int_eq(pthread_create(&recounter, NULL, owed_recounter, NULL), 0);
    ck_assert_int_eq(pthread_create(&folder, NULL, owed_folder, NULL), 0);
    MYSQL *w = connect_read_committed();
    unsigned seed = 11;
    long long now = (long long)fg_now_ms();
    for (int n = 0; n < WRITES; n++) {
        const char *o = order[2 + rand_r(&seed) % (ORDERS - 2)];
        int what = (int)(rand_r(&seed) % 6);
        ck_assert_int_eq(mysql_query(w, "START TRANSACTION"), 0);
        if (what == 0)
            snprintf(sql, sizeof(sql), "UPDATE orders SET status = '%s' WHERE public_id = '%s'",
                     STATUS[rand_r(&seed) % 5], o);
        else if (what == 1)
            snprintf(sql, sizeof(sql), "UPDATE orders SET amount = %u WHERE public_id = '%s'",
                     1000 * (1 + rand_r(&seed) % 50), o);
        else if (what == 2)
            snprintf(sql, sizeof(sql),
                     "UPDATE orders SET due_at = IF(%u = 0, NULL, %lld - %u * 86400000) WHERE "
                     "public_id = '%s'",
                     rand_r(&seed) % 4, now, rand_r(&seed) % 100, o);
        else if (what == 3)
            snprintf(sql, sizeof(sql), "UPDATE orders SET category = %s WHERE public_id = '%s'",
                     CATEGORY[rand_r(&seed) % 3], o);
        else if (what == 4)
            snprintf(sql, sizeof(sql),
                     "UPDATE orders SET fee_type = IF(fee_type = 'tuition', 'procedure', "
                     "'tuition') WHERE public_id = '%s'",
                     o);
        else
            snprintf(sql, sizeof(sql),
                     "UPDATE orders SET updated_at = updated_at + 1, payer_name = 'Trần Thị "
                     "Bình' WHERE public_id = '%s'",
                     o); /* counted nowhere */
        if (mysql_query(w, sql) != 0) {
            /* chosen as a deadlock's victim beside the recount's locking read: rolled back, as a
             * client that retries would see it; this write is simply not made */
            ck_assert_msg(mysql_errno(w) == 1213, "%s: %s", sql, mysql_error(w));
            ck_assert_int_eq(mysql_query(w, "ROLLBACK"), 0);
            continue;
        }
        if (n % 16 == 0)
            fgt_sleep_ms(30); /* held: a recount of its merchant waits for it */
        ck_assert_int_eq(mysql_query(w, n % 9 == 4 ? "ROLLBACK" : "COMMIT"), 0);
        if (n % 60 == 59)
            outstanding_from_sums_and_orders(key); /* whatever has been folded so far */
    }
    fgt_sleep_ms(300);
    atomic_store(&owed_race.stop, 1);
    ck_assert_int_eq(pthread_join(recounter, NULL), 0);
    ck_assert_int_eq(pthread_join(folder, NULL), 0);
    ck_assert_int_eq(atomic_load(&owed_race.failures), 0);
    ck_assert_int_ge(atomic_load(&owed_race.recounts), 1);
    ck_assert_int_ge(atomic_load(&owed_race.folds), 1);
    fg_config_free(&owed_race.cfg);
    outstanding_from_sums_and_orders(key);
    ck_assert_int_eq(fgt_ledger_check(), 0);

    /* an open order past expires_at that the sweeper has not expired yet owes nothing, and one
     * that commits late is counted once it commits */
    snprintf(sql, sizeof(sql), "UPDATE orders SET status = 'open', expires_at = %lld WHERE public_id = '%s'",
             now - 1000, order[2]);
    ck_assert_int_eq(mysql_query(w, sql), 0);
    ck_assert_int_eq(mysql_query(w, "COMMIT"), 0);
    outstanding_from_sums_and_orders(key);
    ck_assert_int_eq(mysql_query(w, "START TRANSACTION"), 0);
    snprintf(sql, sizeof(sql),
             "UPDATE orders SET status = 'open', amount = 777000, expires_at = NULL WHERE "
             "public_id = '%s'",
             order[3]);
    ck_assert_int_eq(mysql_query(w, sql), 0);
    long long before = fgt_db_int("SELECT COALESCE(SUM(owed), 0) FROM owed_changes", NULL, NULL) +
                       fgt_db_int("SELECT COALESCE(SUM(owed), 0) FROM owed_totals", NULL, NULL);
    fgt_sleep_ms(1500); /* the server's sweeper folds meanwhile: not the uncommitted change */
    outstanding_from_sums_and_orders(key);
    ck_assert_int_eq(mysql_query(w, "COMMIT"), 0);
    ck_assert_int_ne(fgt_db_int("SELECT COALESCE(SUM(owed), 0) FROM owed_changes", NULL, NULL) +
                         fgt_db_int("SELECT COALESCE(SUM(owed), 0) FROM owed_totals", NULL, NULL),
                     before);
    outstanding_from_sums_and_orders(key);
    mysql_close(w);
    ck_assert_int_eq(fgt_ledger_check(), 0);

    /* sums that went wrong are found by the ledger check and mended by the rebuild */
    fgt_db_exec("UPDATE owed_totals SET owed = owed + 5 WHERE merchant_id = (SELECT id FROM merchants WHERE "
                "public_id = ?) LIMIT 1",
                mer);
    ck_assert_int_ne(fgt_ledger_check(), 0);
    char out[512], err[2048];
    const char *rebuild[] = {"reports", "rebuild", NULL};
    int status = fgt_cli_run(rebuild, NULL, NULL, out, sizeof(out), err, sizeof(err));
    ck_assert_msg(status == 0, "feegate reports rebuild: %d %s %s", status, out, err);
    ck_assert_msg(strstr(out, "\"owed_merchants_corrected\":1}") != NULL, "%s", out);
    outstanding_from_sums_and_orders(key);
    ck_assert_int_eq(fgt_ledger_check(), 0);
}
END_TEST

/* ---- reports from a read server (db.read_socket, db.read_host) ------------------------------ */

/* Runs a shell command; its first line of output into out (may be NULL). */
static int shell(const char *cmd, char *out, size_t cap)
{
    FILE *p = popen(cmd, "r");
    ck_assert_ptr_nonnull(p);
    char line[512];
    if (out != NULL)
        out[0] = '\0';
    while (fgets(line, sizeof(line), p) != NULL)
        if (out != NULL && out[0] == '\0') {
            size_t n = strcspn(line, "\n");
            ck_assert_uint_lt(n, cap);
            memcpy(out, line, n);
            out[n] = '\0';
        }
    return pclose(p);
}

/* A second MariaDB server stands in for a replica, holding what the primary does not: the
 * reports of a server with db.read_socket come from it (the staff token is checked on the
 * primary, which the read server knows nothing of), a server without one reads the primary;
 * when the read server goes away the reports read the primary again, and say so once. */
START_TEST(reports_read_from_the_read_server_and_the_primary_when_it_is_gone)
{
    char dir[128], cmd[600], sock[256], account[40], path[200], env_read[300];
    snprintf(dir, sizeof(dir), "/tmp/fgt-replica-%d", (int)getpid());
    snprintf(cmd, sizeof(cmd), "'%s/../../deploy/mariadb' start '%s' 2>/dev/null | sed -n 's/^socket=//p' | tail -n 1",
             FGT_SOURCE_DIR, dir);
    ck_assert_int_eq(shell(cmd, sock, sizeof(sock)), 0);
    ck_assert_msg(sock[0] == '/', "deploy/mariadb printed no socket");
    char sock_env[300], out[4096], err[4096];
    const char *db_name = getenv("FEEGATE_DB_NAME"); /* the suite's (FEEGATE_TEST_DATABASE) */
    ck_assert_ptr_nonnull(db_name);
    ck_assert_uint_eq(strspn(db_name, "abcdefghijklmnopqrstuvwxyz0123456789_"), strlen(db_name));
    snprintf(cmd, sizeof(cmd),
             "mariadb -S '%s' -ufeegate -pfeegate -e 'CREATE DATABASE %s CHARACTER SET utf8mb4 COLLATE utf8mb4_bin'",
             sock, db_name);
    ck_assert_int_eq(shell(cmd, NULL, 0), 0); /* the suite's database, as on the primary */
    snprintf(sock_env, sizeof(sock_env), "FEEGATE_DB_SOCKET=%s", sock);
    const char *replica_env[] = {sock_env, NULL}, *migrate[] = {"migrate", NULL};
    ck_assert_msg(fgt_cli_run(migrate, replica_env, NULL, out, sizeof(out), err, sizeof(err)) == 0, "%s%s", out, err);
    snprintf(account, sizeof(account), "%s", fgt_account("RPL"));
    snprintf(cmd, sizeof(cmd),
             "mariadb -S '%s' -ufeegate -pfeegate %s"
             " -e \"INSERT INTO recon_day_totals VALUES ('%s', 20261120, "
             "7, 7, 700000, 0, 5, 1, 1, 0, 0, 0, 0, 2)\"",
             sock, db_name, account);
    ck_assert_int_eq(shell(cmd, NULL, 0), 0);

    snprintf(env_read, sizeof(env_read), "FEEGATE_DB_READ_SOCKET=%s", sock);
    const char *env[] = {"FEEGATE_SANDBOX_SECRET=it-sandbox-secret", env_read, NULL};
    fgt_server_t reading;
    fgt_server_start(&reading, env);
    snprintf(path, sizeof(path), "/v1/reports/reconciliation?from=2026-11-20&to=2026-11-20&account=%s", account);
    fgt_response_t r = fgt_req(&reading, FGT_H2C, "GET", path, staff, NULL, NULL, 0, NULL);
    fgt_expect(r, 200, NULL);
    yajl_val rows = fgt_json_array(&r, "data", NULL);
    ck_assert_int_eq(YAJL_GET_ARRAY(rows)->len, 1);
    ck_assert_int_eq(val_int(YAJL_GET_ARRAY(rows)->values[0], "matched", NULL), 5);
    fgt_response_free(&r);
    r = report(staff, path); /* the primary has no such day */
    fgt_expect(r, 200, NULL);
    ck_assert_int_eq(YAJL_GET_ARRAY(fgt_json_array(&r, "data", NULL))->len, 0);
    fgt_response_free(&r);
    /* writes still go to the primary: an order made through the reading server is there */
    r = fgt_order_create(&reading, FGT_H2C, key_a, NULL, fgt_unique("RPL"), 12000, NULL);
    fgt_expect(r, 201, NULL);
    ck_assert_int_eq(fgt_db_int("SELECT COUNT(*) FROM orders WHERE public_id = ?", fgt_json_str(&r, "id", NULL), NULL),
                     1);
    fgt_response_free(&r);

    snprintf(cmd, sizeof(cmd), "'%s/../../deploy/mariadb' stop '%s' >/dev/null 2>&1", FGT_SOURCE_DIR, dir);
    ck_assert_int_eq(shell(cmd, NULL, 0), 0);
    r = fgt_req(&reading, FGT_H2C, "GET", path, staff, NULL, NULL, 0, NULL);
    fgt_expect(r, 200, NULL);
    ck_assert_int_eq(YAJL_GET_ARRAY(fgt_json_array(&r, "data", NULL))->len, 0); /* the primary's answer */
    fgt_response_free(&r);
    snprintf(cmd, sizeof(cmd), "grep -c 'the read server does not answer' '%s'", reading.log_path);
    char count[32];
    shell(cmd, count, sizeof(count));
    ck_assert_str_eq(count, "1");
    ck_assert_int_eq(fgt_server_stop(&reading), 0);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    ck_assert_int_eq(shell(cmd, NULL, 0), 0);
}
END_TEST

/* ---- currencies ---------------------------------------------------------------------------- */

/* An order in currency, as new_order makes a VND one (no metadata). */
static void new_order_in(const char *key, const char *currency, long long amount, const char *extra, char *id)
{
    char body[400];
    snprintf(body, sizeof(body),
             "{\"merchant_ref\":\"%s\",\"fee_type\":\"tuition\",\"category\":\"hoc-phi\",\"amount\":%lld,"
             "\"currency\":\"%s\",\"payer\":{\"name\":\"Trần Thị Bình\",\"ref\":\"HS-CUR\"}%s}",
             fgt_unique("CUR"), amount, currency, extra != NULL ? extra : "");
    fgt_response_t r = fgt_req(&srv, FGT_H2C, "POST", "/v1/orders", key, NULL, body, 0, NULL);
    fgt_expect(r, 201, NULL);
    snprintf(id, 40, "%s", fgt_json_str(&r, "id", NULL));
    fgt_response_free(&r);
}

/* The row of data (an array of rows) whose currency is currency; fails the test when there is none. */
static yajl_val row_in(yajl_val data, const char *currency)
{
    for (size_t i = 0; i < YAJL_GET_ARRAY(data)->len; i++) {
        const char *c = fgt_val_str(YAJL_GET_ARRAY(data)->values[i], "currency", NULL);
        if (c != NULL && strcmp(c, currency) == 0)
            return YAJL_GET_ARRAY(data)->values[i];
    }
    ck_abort_msg("no row in %s", currency);
    return NULL;
}

/* A report of two currencies: no `totals`, and one entry of totals_by_currency per currency, VND
 * first, each with key's total. */
static void totals_per_currency(const fgt_response_t *r, const char *key, long long vnd, long long usd)
{
    ck_assert_msg(fgt_json_is_null(r, "totals", NULL), "a total of two currencies: %s", r->body);
    yajl_val by = fgt_json_array(r, "totals_by_currency", NULL);
    ck_assert_int_eq(YAJL_GET_ARRAY(by)->len, 2);
    ck_assert_str_eq(fgt_val_str(YAJL_GET_ARRAY(by)->values[0], "currency", NULL), "VND");
    ck_assert_str_eq(fgt_val_str(YAJL_GET_ARRAY(by)->values[1], "currency", NULL), "USD");
    ck_assert_int_eq(val_int(YAJL_GET_ARRAY(by)->values[0], key, NULL), vnd);
    ck_assert_int_eq(val_int(YAJL_GET_ARRAY(by)->values[1], key, NULL), usd);
}

/* The currency sums of a file read back: column's sum over the rows of each currency. */
static void file_sums(yajl_val file, const char *column, long long vnd, long long usd)
{
    ck_assert_int_eq(val_int(fgt_val_at(file, "sums_by_currency", "VND", NULL), column, NULL), vnd);
    ck_assert_int_eq(val_int(fgt_val_at(file, "sums_by_currency", "USD", NULL), column, NULL), usd);
}

START_TEST(a_merchants_usd_and_vnd_payments_of_one_day_are_reported_apart)
{
    /* one school, one day, one fee type, category and method: a VND and a USD payment (100 = 1.00 USD),
     * and a VND and a USD bill still open */
    char mer[64], key[64], vnd[40], usd[40], open_vnd[40], open_usd[40], pv[40], pu[40];
    char from[11], to[11], path[400], due[200];
    fgt_merchant_create("Trường Quốc tế Sài Gòn", mer, key);
    new_order_in(key, "VND", 250000, NULL, vnd);
    new_order_in(key, "USD", 100, NULL, usd);
    today_plus(10, from);
    snprintf(due, sizeof(due), ",\"due_at\":\"%sT10:00:00Z\"", from);
    new_order_in(key, "VND", 300000, due, open_vnd);
    new_order_in(key, "USD", 2500, due, open_usd);
    pay(key, vnd, 250000, pv);
    pay(key, usd, 100, pu);
    today_plus(-1, from);
    today_plus(1, to);

    /* the rollups have both payments (a round of the server's sweeper): the reports read them */
    long long last = fgt_db_int("SELECT MAX(e.id) FROM ledger_entries e JOIN journals j ON j.id = e.journal_id "
                                "JOIN payments p ON p.id = j.payment_id WHERE p.public_id = ?",
                                pu, NULL);
    for (int i = 0; i < 300 && fgt_db_int("SELECT upto_entry_id FROM report_watermarks WHERE name = 'collections'",
                                          NULL, NULL) < last;
         i++)
        fgt_sleep_ms(100);
    /* collections: a row per currency, for its key and for staff (the city's rollup too) */
    snprintf(path, sizeof(path), "/v1/reports/collections?from=%s&to=%s&group_by=adapter&merchant_id=%s", from, to,
             mer);
    fgt_response_t r = report(staff, path);
    fgt_expect(r, 200, NULL);
    yajl_val data = fgt_json_array(&r, "data", NULL);
    ck_assert_int_eq(YAJL_GET_ARRAY(data)->len, 2);
    ck_assert_str_eq(fgt_val_str(YAJL_GET_ARRAY(data)->values[0], "currency", NULL), "VND"); /* VND first */
    ck_assert_str_eq(fgt_val_str(YAJL_GET_ARRAY(data)->values[0], "adapter", NULL), "sandbox");
    ck_assert_int_eq(val_int(row_in(data, "VND"), "collected", NULL), 250000);
    ck_assert_int_eq(val_int(row_in(data, "VND"), "count", NULL), 1);
    ck_assert_int_eq(val_int(row_in(data, "USD"), "collected", NULL), 100);
    ck_assert_int_eq(val_int(row_in(data, "USD"), "net", NULL), 100);
    ck_assert_int_eq(val_int(row_in(data, "USD"), "count", NULL), 1);
    totals_per_currency(&r, "collected", 250000, 100);
    fgt_response_free(&r);
    snprintf(path, sizeof(path), "/v1/reports/collections?from=%s&to=%s&group_by=day,fee_type,category", from, to);
    r = report(key, path);
    fgt_expect(r, 200, NULL);
    ck_assert_int_eq(YAJL_GET_ARRAY(fgt_json_array(&r, "data", NULL))->len, 2);
    totals_per_currency(&r, "collected", 250000, 100);
    fgt_response_free(&r);
    snprintf(path, sizeof(path), "/v1/reports/collections?from=%s&to=%s&group_by=adapter", from, to);
    r = report(staff, path); /* every merchant: the city's days */
    fgt_expect(r, 200, NULL);
    ck_assert_int_eq(val_int(row_in(fgt_json_array(&r, "data", NULL), "USD"), "collected", NULL), 100);
    fgt_response_free(&r);
    /* the rollups hold each currency's sums apart */
    static const char *const ROLLUPS[] = {
        "SELECT SUM(collected) FROM report_daily r JOIN merchants m ON m.id = r.merchant_id "
        "WHERE m.public_id = ? AND r.currency = ?",
        "SELECT SUM(collected) FROM report_monthly r JOIN merchants m ON m.id = r.merchant_id "
        "WHERE m.public_id = ? AND r.currency = ?",
    };
    for (int i = 0; i < 2; i++) {
        ck_assert_int_eq(fgt_db_int(ROLLUPS[i], mer, "VND"), 250000);
        ck_assert_int_eq(fgt_db_int(ROLLUPS[i], mer, "USD"), 100);
    }
    ck_assert_int_ge(fgt_db_int("SELECT SUM(collected) FROM report_daily_city WHERE currency = ?", "USD", NULL), 100);

    /* the rollups answer as the journals do, for every way they are read */
    same_report(key, from, to, "day,category,adapter");
    same_report(staff, from, to, "merchant,fee_type");
    same_report(staff, from, to, "month,adapter");
    same_report(staff, from, to, "adapter");

    /* ?currency=: one currency's rows, and `totals` as before, naming it */
    snprintf(path, sizeof(path), "/v1/reports/collections?from=%s&to=%s&group_by=adapter&currency=USD", from, to);
    r = report(key, path);
    fgt_expect(r, 200, NULL);
    ck_assert_int_eq(YAJL_GET_ARRAY(fgt_json_array(&r, "data", NULL))->len, 1);
    ck_assert_int_eq(fgt_json_int(&r, "totals", "collected", NULL), 100);
    ck_assert_str_eq(fgt_json_str(&r, "totals", "currency", NULL), "USD");
    fgt_response_free(&r);
    snprintf(path, sizeof(path), "/v1/reports/collections?from=%s&to=%s&currency=usd", from, to);
    r = report(key, path);
    fgt_expect_error(r, 400, "invalid_request", "invalid_currency");
    fgt_response_free(&r);

    /* the files: a currency column (the last), and the sums of each currency apart */
    snprintf(path, sizeof(path), "/v1/reports/collections?from=%s&to=%s&group_by=adapter&format=csv", from, to);
    r = report(key, path);
    fgt_expect(r, 200, NULL);
    ck_assert_int_eq(strncmp(r.body + 3, "adapter,count,collected,refunded,net,fees,currency\r\n", 52), 0);
    yajl_val csv = read_back(&r, "csv");
    fgt_response_free(&r);
    file_sums(csv, "collected", 250000, 100);
    yajl_tree_free(csv);
    snprintf(path, sizeof(path), "/v1/reports/collections?from=%s&to=%s&group_by=adapter&format=xlsx", from, to);
    r = report(key, path);
    fgt_expect(r, 200, NULL);
    yajl_val x = read_back(&r, "xlsx");
    fgt_response_free(&r);
    file_sums(x, "Đã thu / Collected", 250000, 100);
    ck_assert_int_eq(val_int(fgt_val_at(x, "totals_by_currency", "VND", NULL), "Đã thu / Collected", NULL), 250000);
    ck_assert_int_eq(val_int(fgt_val_at(x, "totals_by_currency", "USD", NULL), "Đã thu / Collected", NULL), 100);
    yajl_tree_free(x);

    /* outstanding: from the sums and from the orders, a row per currency */
    snprintf(path, sizeof(path), "/v1/reports/outstanding?group_by=merchant&merchant_id=%s", mer);
    r = report(staff, path);
    fgt_expect(r, 200, NULL);
    data = fgt_json_array(&r, "data", NULL);
    ck_assert_int_eq(YAJL_GET_ARRAY(data)->len, 2);
    ck_assert_int_eq(val_int(row_in(data, "VND"), "owed", NULL), 300000);
    ck_assert_int_eq(val_int(row_in(data, "VND"), "not_due", NULL), 300000);
    ck_assert_int_eq(val_int(row_in(data, "USD"), "owed", NULL), 2500);
    ck_assert_int_eq(val_int(row_in(data, "USD"), "count", NULL), 1);
    totals_per_currency(&r, "owed", 300000, 2500);
    strcat(path, "&source=orders");
    fgt_response_t scan = report(staff, path);
    fgt_expect(scan, 200, NULL);
    ck_assert_str_eq(scan.body, r.body);
    fgt_response_free(&scan);
    fgt_response_free(&r);
    r = report(key, "/v1/reports/outstanding?detail=orders&format=csv");
    fgt_expect(r, 200, NULL);
    csv = read_back(&r, "csv");
    fgt_response_free(&r);
    file_sums(csv, "owed", 300000, 2500);
    yajl_tree_free(csv);
    r = report(key, "/v1/reports/outstanding?group_by=fee_type&currency=USD");
    fgt_expect(r, 200, NULL);
    ck_assert_int_eq(fgt_json_int(&r, "totals", "owed", NULL), 2500);
    fgt_response_free(&r);

    /* the merchant statement is one currency's account: VND unless asked */
    snprintf(path, sizeof(path), "/v1/reports/merchant-statement?from=%s&to=%s", from, to);
    r = report(key, path);
    fgt_expect(r, 200, NULL);
    ck_assert_str_eq(fgt_json_str(&r, "currency", NULL), "VND");
    ck_assert_int_eq(fgt_json_int(&r, "collections", NULL), 250000);
    fgt_response_free(&r);
    strcat(path, "&currency=USD");
    r = report(key, path);
    fgt_expect(r, 200, NULL);
    ck_assert_str_eq(fgt_json_str(&r, "currency", NULL), "USD");
    ck_assert_int_eq(fgt_json_int(&r, "collections", NULL), 100);
    ck_assert_int_eq(fgt_json_int(&r, "closing_balance", NULL), 100);
    fgt_response_free(&r);

    /* the ledger check holds the sums per currency: a USD sum filed as EUR is caught */
    ck_assert_int_eq(fgt_ledger_check(), 0);
    r = report(key, "/v1/reports/outstanding?group_by=merchant"); /* the sweeper has folded the changes */
    fgt_response_free(&r);
    for (int i = 0; i < 300 && fgt_db_int("SELECT COUNT(*) FROM owed_changes c JOIN merchants m ON m.id = "
                                          "c.merchant_id WHERE m.public_id = ?",
                                          mer, NULL) > 0;
         i++)
        fgt_sleep_ms(100);
    fgt_db_exec("UPDATE owed_totals SET currency = 'EUR' WHERE currency = 'USD' AND merchant_id = "
                "(SELECT id FROM merchants WHERE public_id = ?)",
                mer);
    ck_assert_int_ne(fgt_ledger_check(), 0);
    fgt_db_exec("UPDATE owed_totals SET currency = 'USD' WHERE currency = 'EUR' AND merchant_id = "
                "(SELECT id FROM merchants WHERE public_id = ?)",
                mer);
    ck_assert_int_eq(fgt_ledger_check(), 0);
}
END_TEST

/* [decimal text, number format] of the n-th amount of column in currency's rows of an XLSX file
 * read back (read_report.py's cells_by_currency). */
static void xlsx_cell(yajl_val x, const char *currency, const char *column, size_t n, const char *text,
                      const char *format)
{
    yajl_val cells = fgt_val_at(x, "cells_by_currency", currency, column, NULL);
    ck_assert_msg(cells != NULL && YAJL_IS_ARRAY(cells) && YAJL_GET_ARRAY(cells)->len > n, "no %s %s cell %zu",
                  currency, column, n);
    yajl_val cell = YAJL_GET_ARRAY(cells)->values[n];
    ck_assert_str_eq(YAJL_GET_STRING(YAJL_GET_ARRAY(cell)->values[0]), text);
    ck_assert_str_eq(YAJL_GET_STRING(YAJL_GET_ARRAY(cell)->values[1]), format);
}

/* XLSX amounts are major units in their currency's format: 9,273.22 USD is the number 9273.22 in
 * #,##0.00 (the double nearest that decimal: the file's text for it is 9273.219999999999, which
 * reads back as that double), 10^15 VND the number 1000000000000000 in #,##0; the largest order of
 * cents, 9,999,999,999,999.99, a number still; a sum past 10^15 minor units is the text of its
 * exact decimal, not a formula a double would round. JSON and CSV stay minor units. */
START_TEST(xlsx_amounts_are_major_units_in_their_currencys_format)
{
    char mer[64], key[64], id[40], pid[40], from[11], to[11], path[400], lot[80];
    fgt_merchant_create("Trường Quốc tế Nam Sài Gòn", mer, key);
    static const struct {
        const char *currency, *lot;
        long long amount;
    } ORDERS[] = {{"VND", "a", 1000000000000000LL},
                  {"VND", "b", 1234567},
                  {"USD", "c", 927322},
                  {"USD", "d", 999999999999999LL}};
    for (size_t i = 0; i < sizeof(ORDERS) / sizeof(ORDERS[0]); i++) {
        snprintf(lot, sizeof(lot), ",\"metadata\":{\"lot\":\"%s\"}", ORDERS[i].lot);
        new_order_in(key, ORDERS[i].currency, ORDERS[i].amount, lot, id);
        pay(key, id, ORDERS[i].amount, pid);
    }
    today_plus(-1, from);
    today_plus(1, to);
    /* a row per lot (its currency's), read from the journals */
    snprintf(path, sizeof(path), "/v1/reports/collections?from=%s&to=%s&group_by=metadata.lot&format=xlsx", from, to);
    fgt_response_t r = report(key, path);
    fgt_expect(r, 200, NULL);
    yajl_val x = read_back(&r, "xlsx");
    fgt_response_free(&r);
    ck_assert_int_eq(val_int(x, "rows", NULL), 4);
    ck_assert_int_eq(YAJL_GET_ARRAY(fgt_val_at(x, "inexact", NULL))->len, 0);
    const char *collected = "Đã thu / Collected";
    xlsx_cell(x, "VND", collected, 0, "1000000000000000", "#,##0");
    xlsx_cell(x, "VND", collected, 1, "1234567", "#,##0");
    xlsx_cell(x, "USD", collected, 0, "9273.22", "#,##0.00");
    xlsx_cell(x, "USD", collected, 1, "9999999999999.99", "#,##0.00");
    xlsx_cell(x, "USD", "Hoàn trả / Refunded", 0, "0", "#,##0.00");
    file_sums(x, collected, 1000000001234567LL, 1000000000927321LL);
    /* the totals: past 10^15 minor units, the exact decimal as text */
    ck_assert_int_eq(val_int(fgt_val_at(x, "totals_by_currency", "VND", NULL), collected, NULL), 1000000001234567LL);
    ck_assert_int_eq(val_int(fgt_val_at(x, "totals_by_currency", "USD", NULL), collected, NULL), 1000000000927321LL);
    yajl_tree_free(x);
    /* one currency: a number total by SUM, in that currency's format */
    snprintf(path, sizeof(path), "/v1/reports/collections?from=%s&to=%s&group_by=metadata.lot&currency=USD&format=xlsx",
             from, to);
    r = report(key, path);
    fgt_expect(r, 200, NULL);
    x = read_back(&r, "xlsx");
    fgt_response_free(&r);
    ck_assert_str_eq(fgt_val_str(x, "formats", collected, NULL), "#,##0.00");
    ck_assert_int_eq(val_int(x, "totals", collected), 1000000000927321LL);
    yajl_tree_free(x);
    /* JSON and CSV: minor units */
    snprintf(path, sizeof(path), "/v1/reports/collections?from=%s&to=%s&group_by=metadata.lot&format=csv", from, to);
    r = report(key, path);
    fgt_expect(r, 200, NULL);
    ck_assert_ptr_nonnull(strstr(r.body, ",927322,"));
    ck_assert_ptr_nonnull(strstr(r.body, ",999999999999999,"));
    fgt_response_free(&r);
    /* a merchant statement of a USD account: its amounts in cents' format too */
    char mer2[64], key2[64];
    fgt_merchant_create("Trường Quốc tế Bắc Sài Gòn", mer2, key2);
    new_order_in(key2, "USD", 927322, NULL, id);
    pay(key2, id, 927322, pid);
    snprintf(path, sizeof(path), "/v1/reports/merchant-statement?from=%s&to=%s&currency=USD&format=xlsx", from, to);
    r = report(key2, path);
    fgt_expect(r, 200, NULL);
    x = read_back(&r, "xlsx");
    fgt_response_free(&r);
    ck_assert_str_eq(fgt_val_str(x, "formats", "Thu / Collections", NULL), "#,##0.00");
    ck_assert_int_eq(val_int(x, "sums", "Thu / Collections"), 927322);
    ck_assert_int_eq(val_int(x, "sums", "Số dư cuối ngày / Closing"), 927322);
    ck_assert_int_eq(YAJL_GET_ARRAY(fgt_val_at(x, "inexact", NULL))->len, 0);
    yajl_tree_free(x);
}
END_TEST

/* The reconciliation summary keeps each account's currency: a dollar account's lines are cents,
 * summed apart from the dong account's (totals null, totals_by_currency one each), and written in
 * dollars in the XLSX form (before, 1,234.56 USD was the number 123,456 there, and the totals
 * added cents to dong). */
START_TEST(reconciliation_summary_keeps_each_accounts_currency)
{
    char finance[96], vnd[40], usd[40], file[800], auth[200], path[200];
    fgt_staff_token("finance", finance);
    snprintf(vnd, sizeof(vnd), "%s", fgt_account("RCV"));
    snprintf(usd, sizeof(usd), "%s", fgt_account("RCU"));
    snprintf(auth, sizeof(auth), "Authorization: Bearer %s", finance);
    const char *headers[] = {auth, "Content-Type: text/csv", NULL};
    static const struct {
        const char *currency, *opening, *credit, *debit, *closing;
    } FILES[] = {{"VND", "1000000", "250000", "-50000", "1200000"}, {"USD", "100.00", "1234.56", "-0.56", "1334.00"}};
    for (int i = 0; i < 2; i++) {
        const char *acc = i == 0 ? vnd : usd;
        snprintf(file, sizeof(file),
                 "account,currency,booking_date,value_date,amount,bank_ref,end_to_end,counterparty,memo\n"
                 "%s,%s,opening,2026-10-06,%s,,,,\n"
                 "%s,%s,2026-10-07,2026-10-07,%s,C%s,,NGUYEN VAN A,HOC PHI\n"
                 "%s,%s,2026-10-07,2026-10-07,%s,D%s,,,PHI\n"
                 "%s,%s,closing,2026-10-07,%s,,,,\n",
                 acc, FILES[i].currency, FILES[i].opening, acc, FILES[i].currency, FILES[i].credit, acc, acc,
                 FILES[i].currency, FILES[i].debit, acc, acc, FILES[i].currency, FILES[i].closing);
        fgt_response_t r = fgt_request(&srv, FGT_H2C, "POST", "/v1/statements", headers, file, 0);
        fgt_expect(r, 201, NULL);
        fgt_response_free(&r);
    }
    /* each account alone: its currency, its own units, totals of one currency */
    static const long long CREDITS[] = {250000, 123456}, DEBITS[] = {50000, 56};
    for (int i = 0; i < 2; i++) {
        snprintf(path, sizeof(path), "/v1/reports/reconciliation?from=2026-10-07&to=2026-10-07&account=%s",
                 i == 0 ? vnd : usd);
        fgt_response_t r = report(staff, path);
        fgt_expect(r, 200, NULL);
        yajl_val rows = fgt_json_array(&r, "data", NULL);
        ck_assert_int_eq(YAJL_GET_ARRAY(rows)->len, 1);
        yajl_val row = YAJL_GET_ARRAY(rows)->values[0];
        ck_assert_str_eq(fgt_val_str(row, "currency", NULL), FILES[i].currency);
        ck_assert_int_eq(val_int(row, "credits", NULL), CREDITS[i]);
        ck_assert_int_eq(val_int(row, "debits", NULL), DEBITS[i]);
        ck_assert_str_eq(fgt_json_str(&r, "totals", "currency", NULL), FILES[i].currency);
        ck_assert_int_eq(fgt_json_int(&r, "totals", "credits", NULL), CREDITS[i]);
        fgt_response_free(&r);
    }
    /* both: no sum of dong and cents */
    snprintf(path, sizeof(path), "/v1/reports/reconciliation?from=2026-10-07&to=2026-10-07");
    fgt_response_t r = report(staff, path);
    fgt_expect(r, 200, NULL);
    ck_assert(fgt_json_is_null(&r, "totals", NULL));
    yajl_val by = fgt_json_array(&r, "totals_by_currency", NULL);
    int seen = 0;
    for (size_t i = 0; i < YAJL_GET_ARRAY(by)->len; i++) {
        yajl_val t = YAJL_GET_ARRAY(by)->values[i];
        if (strcmp(fgt_val_str(t, "currency", NULL), "USD") == 0) {
            ck_assert_int_eq(val_int(t, "credits", NULL), 123456);
            seen++;
        }
    }
    ck_assert_int_eq(seen, 1);
    fgt_response_free(&r);
    /* the spreadsheet: dollars in #,##0.00, dong in #,##0 */
    snprintf(path, sizeof(path), "/v1/reports/reconciliation?from=2026-10-07&to=2026-10-07&format=xlsx");
    r = report(staff, path);
    fgt_expect(r, 200, NULL);
    yajl_val x = read_back(&r, "xlsx");
    fgt_response_free(&r);
    xlsx_cell(x, "USD", "Ghi có / Credits", 0, "1234.56", "#,##0.00");
    xlsx_cell(x, "USD", "Số dư ngân hàng / Bank closing", 0, "1334", "#,##0.00");
    xlsx_cell(x, "VND", "Ghi có / Credits", 0, "250000", "#,##0");
    ck_assert_int_eq(YAJL_GET_ARRAY(fgt_val_at(x, "inexact", NULL))->len, 0);
    yajl_tree_free(x);

    /* ?currency= keeps that currency's accounts, as in the other reports: the dollar account's row
     * alone, totals that currency's and named, the currency echoed (before, it was ignored: the dong
     * account's row came too and totals was null) */
    const char *const ACCOUNTS[] = {vnd, usd};
    for (int i = 0; i < 2; i++) {
        snprintf(path, sizeof(path), "/v1/reports/reconciliation?from=2026-10-07&to=2026-10-07&currency=%s",
                 FILES[i].currency);
        r = report(staff, path);
        fgt_expect(r, 200, NULL);
        ck_assert_str_eq(fgt_json_str(&r, "currency", NULL), FILES[i].currency);
        yajl_val rows = fgt_json_array(&r, "data", NULL);
        int mine = 0;
        for (size_t k = 0; k < YAJL_GET_ARRAY(rows)->len; k++) {
            yajl_val row = YAJL_GET_ARRAY(rows)->values[k];
            ck_assert_str_eq(fgt_val_str(row, "currency", NULL), FILES[i].currency);
            ck_assert_str_ne(fgt_val_str(row, "account", NULL), ACCOUNTS[1 - i]);
            mine += strcmp(fgt_val_str(row, "account", NULL), ACCOUNTS[i]) == 0;
        }
        ck_assert_int_eq(mine, 1);
        ck_assert_str_eq(fgt_json_str(&r, "totals", "currency", NULL), FILES[i].currency);
        if (i == 1) /* the day's only dollar account */
            ck_assert_int_eq(fgt_json_int(&r, "totals", "credits", NULL), 123456);
        fgt_response_free(&r);
    }
    /* the files too: the CSV of the dollars has no dong account */
    r = report(staff, "/v1/reports/reconciliation?from=2026-10-07&to=2026-10-07&currency=USD&format=csv");
    fgt_expect(r, 200, NULL);
    ck_assert_ptr_nonnull(strstr(r.body, usd));
    ck_assert_ptr_null(strstr(r.body, vnd));
    fgt_response_free(&r);
    /* checked as the other reports check it: an upper-case ISO 4217 code, else 400 */
    static const char *const BAD[] = {"usd", "US", "ZZZ"};
    for (size_t i = 0; i < sizeof(BAD) / sizeof(BAD[0]); i++) {
        snprintf(path, sizeof(path), "/v1/reports/reconciliation?from=2026-10-07&to=2026-10-07&currency=%s", BAD[i]);
        r = report(staff, path);
        fgt_expect_error(r, 400, "invalid_request", "invalid_currency");
        fgt_response_free(&r);
    }
}
END_TEST

int main(void)
{
    Suite *s = suite_create("reports");
    TCase *tc = tcase_create("reports");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, collections_agree_across_json_csv_xlsx_and_the_ledger);
    tcase_add_test(tc, a_payment_at_2330_utc_belongs_to_the_next_business_day);
    tcase_add_test(tc, outstanding_orders_aged_by_due_date);
    tcase_add_test(tc, bad_queries_are_refused);
    tcase_add_test(tc, a_staff_account_scoped_to_one_merchant_reads_its_reports_only);
    tcase_add_test(tc, a_late_commit_is_rolled_up_exactly_once);
    tcase_add_test(tc, reconciliation_day_totals_follow_every_item_change_and_a_rebuild_under_writes);
    tcase_add_test(tc, outstanding_sums_follow_every_order_change_and_a_rebuild_under_writes);
    tcase_add_test(tc, reports_read_from_the_read_server_and_the_primary_when_it_is_gone);
    tcase_add_test(tc, a_merchants_usd_and_vnd_payments_of_one_day_are_reported_apart);
    tcase_add_test(tc, xlsx_amounts_are_major_units_in_their_currencys_format);
    tcase_add_test(tc, reconciliation_summary_keeps_each_accounts_currency);
    suite_add_tcase(s, tc);
    fgt_merchant_create("Trường Tiểu học Hòa Bình", mer_a, key_a);
    fgt_merchant_create("Phường Bến Nghé", mer_b, key_b);
    fgt_merchant_create("Trường THCS Lê Lợi", mer_c, key_c);
    fgt_staff_token("auditor", staff);
    const char *env[] = {"FEEGATE_SANDBOX_SECRET=it-sandbox-secret", NULL};
    fgt_server_start(&srv, env);
    int rc = fgt_run(s);
    if (fgt_server_stop(&srv) != 0)
        rc = 1;
    return rc;
}
