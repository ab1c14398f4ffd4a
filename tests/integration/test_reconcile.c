/*
 * test_reconcile.c - a day of bank statements held against the ledger:
 * orders paid through the SePay feed and some the feed never reported, a
 * camt.053 of the collection account imported, the matching job's rules
 * (reference, order codes in a rewritten memo, one line for two orders,
 * wrong amount, amount-and-date suggestion, nothing), one money one effect
 * between the feed and the statement, a transfer only the ledger knows
 * (ledger_only), the reconciliation's summary, staff resolutions, and
 * `feegate ledger check` at the end.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "harness.h"
#include "staff_client.h"
#include "ledger/recon_counts.h"

#define SANDBOX_SECRET "it-reconcile-sandbox"
#define SEPAY_KEY "it-sepay-key"

static fgt_server_t srv;
static fgt_merchant_t mer;
static char finance[128], auditor[128];

typedef struct {
    char id[64], code[16];
    long long amount;
} order_t;

/* A new order of amount; allow_partial: it takes part payments. */
static order_t new_order_partial(long long amount, int allow_partial)
{
    order_t o;
    char body[256];
    snprintf(body, sizeof(body),
             "{\"merchant_ref\":\"%s\",\"fee_type\":\"tuition\",\"amount\":%lld,\"currency\":\"VND\","
             "\"allow_partial\":%s}",
             fgt_unique("R"), amount, allow_partial ? "true" : "false");
    fgt_response_t r = fgt_req(&srv, FGT_H2C, "POST", "/v1/orders", mer.key, NULL, body, 0, NULL);
    fgt_expect(r, 201, NULL);
    snprintf(o.id, sizeof(o.id), "%s", fgt_json_str(&r, "id", NULL));
    snprintf(o.code, sizeof(o.code), "%s", fgt_json_str(&r, "code", NULL));
    o.amount = amount;
    fgt_response_free(&r);
    return o;
}

static order_t new_order(long long amount) { return new_order_partial(amount, 0); }

static const char *order_status(const order_t *o)
{
    static char status[32];
    char path[128];
    snprintf(path, sizeof(path), "/v1/orders/%s", o->id);
    fgt_response_t r = fgt_req(&srv, FGT_H2C, "GET", path, mer.key, NULL, NULL, 0, NULL);
    fgt_expect(r, 200, NULL);
    snprintf(status, sizeof(status), "%s", fgt_json_str(&r, "status", NULL));
    fgt_response_free(&r);
    return status;
}

/* The SePay feed reports a transfer, "in" or "out"; its answer's HTTP status. */
static long feed_of(const char *type, long long sepay_id, const char *account, const char *ref, long long amount,
                    const char *content)
{
    char body[1024];
    snprintf(body, sizeof(body),
             "{\"id\":%lld,\"gateway\":\"Vietcombank\",\"transactionDate\":\"2026-12-02 09:00:00\","
             "\"accountNumber\":\"%s\",\"code\":null,\"content\":\"%s\",\"transferType\":\"%s\","
             "\"transferAmount\":%lld,\"accumulated\":0,\"subAccount\":null,\"referenceCode\":\"%s\","
             "\"description\":\"\"}",
             sepay_id, account, content, type, amount, ref);
    const char *headers[] = {"Authorization: Apikey " SEPAY_KEY, "Content-Type: application/json", NULL};
    fgt_response_t r = fgt_request(&srv, FGT_H2C, "POST", "/v1/webhooks/sepay", headers, body, 0);
    long status = r.status;
    fgt_response_free(&r);
    return status;
}

static long feed(long long sepay_id, const char *account, const char *ref, long long amount, const char *content)
{
    return feed_of("in", sepay_id, account, ref, amount, content);
}

/* The business day (GMT+7) days_ago days before today, as yyyy-mm-dd. */
static void business_day(int days_ago, char out[16])
{
    time_t t = time(NULL) + 7 * 3600 - (time_t)days_ago * 86400;
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 16, "%Y-%m-%d", &tm);
}

static long long payments_of(const order_t *o)
{
    return fgt_db_int("SELECT COUNT(*) FROM payments p JOIN orders x ON x.id = p.order_id WHERE x.public_id = ? "
                      "AND p.status = 'succeeded'",
                      o->id, NULL);
}

typedef struct {
    const char *ref, *memo;
    long long amount; /* < 0: a debit */
} line_t;

/* A camt.053 of account for day (yyyy-mm-dd) opening at opening the day
 * before, with these lines, balancing. */
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

/* A camt.053 of account for 2026-12-02, opening at 500,000,000. */
static char *statement(const char *account, const line_t *lines, int n)
{
    return statement_on(account, "2026-12-02", "2026-12-01", 500000000, lines, n);
}

/* POST /v1/statements of a camt.053 as finance. */
static fgt_response_t post_statement(const char *file)
{
    char auth[200];
    snprintf(auth, sizeof(auth), "Authorization: Bearer %s", finance);
    const char *headers[] = {auth, "Content-Type: application/xml", NULL};
    return fgt_request(&srv, FGT_H2C, "POST", "/v1/statements", headers, file, 0);
}

/* A line's item state: its recon_items row's, or matched when the import
 * matched it as it stored it (the line keeps the payment, no row). */
static const char *state_of(const char *account, const char *ref)
{
    static char state[32];
    static const char *const NAMES[] = {"?",         "unmatched",   "matched",         "suggested",
                                        "bank_only", "ledger_only", "amount_mismatch", "duplicate"};
    long long k =
        fgt_db_int("SELECT IF(i.id IS NULL, IF(l.payment_id IS NULL, 0, 2), FIELD(i.state, 'unmatched', "
                   "'matched', 'suggested', 'bank_only', 'ledger_only', 'amount_mismatch', 'duplicate')) FROM "
                   "statement_lines l LEFT JOIN recon_items i ON i.line_id = l.id WHERE l.account = ? AND "
                   "l.bank_ref = ?",
                   account, ref);
    snprintf(state, sizeof(state), "%s", k >= 0 && k <= 7 ? NAMES[k] : "?");
    return state;
}

/* A line's item id, as the API names it (rci_ and this number). */
static long long item_of(const char *account, const char *ref)
{
    return fgt_db_int("SELECT COALESCE(i.id, IF(l.payment_id IS NULL, 0, l.id + " FG_RECON_LINE_ITEM_BASE_SQL ")) "
                      "FROM statement_lines l LEFT JOIN recon_items i ON i.line_id = l.id WHERE l.account = ? AND "
                      "l.bank_ref = ?",
                      account, ref);
}

/* Waits until the matching job has decided every line of account: the job
 * works through every instance's undecided lines in the shared database, a
 * batch a round, so after other suites it may have a backlog. */
static void wait_decided(const char *account)
{
    for (int i = 0; i < 1200; i++) {
        if (fgt_db_int("SELECT COUNT(*) FROM recon_items WHERE account = ? AND state = 'unmatched'", account, NULL) ==
            0)
            return;
        fgt_sleep_ms(100);
    }
    ck_abort_msg("lines of %s still unmatched after 120 s", account);
}

/* The sum of a ledger account's entries: prefix + account. */
static long long account_balance(const char *prefix, const char *account)
{
    char code[120];
    snprintf(code, sizeof(code), "%s%s", prefix, account);
    return fgt_db_int("SELECT COALESCE(SUM(e.amount), 0) FROM ledger_entries e JOIN ledger_accounts a ON "
                      "a.id = e.account_id WHERE a.code = ?",
                      code, NULL);
}

START_TEST(a_day_reconciled)
{
    char account[40], ref_a[40], ref_b[40], ref_cd[40], ref_e[40], ref_f[40], ref_x[40], ref_fee[40], memo_b[300],
        memo_cd[300], memo_e[200];
    snprintf(account, sizeof(account), "%s", fgt_account("VCBA"));
    snprintf(ref_a, sizeof(ref_a), "FT%s", fgt_unique("a"));
    snprintf(ref_b, sizeof(ref_b), "FT%s", fgt_unique("b"));
    snprintf(ref_cd, sizeof(ref_cd), "FT%s", fgt_unique("c"));
    snprintf(ref_e, sizeof(ref_e), "FT%s", fgt_unique("e"));
    snprintf(ref_f, sizeof(ref_f), "FT%s", fgt_unique("f"));
    snprintf(ref_x, sizeof(ref_x), "FT%s", fgt_unique("x"));
    snprintf(ref_fee, sizeof(ref_fee), "FEE%s", fgt_unique("g"));
    order_t a = new_order(4500000), b = new_order(2000000), c = new_order(1500000), d = new_order(1700000),
            e = new_order(800000);
    /* F's amount is unique to this run, so the suggestion names it */
    long long f_amount = 1000000 + (long long)(fgt_db_int("SELECT COUNT(*) FROM orders", NULL, NULL) % 900000);
    order_t f = new_order(f_amount), g = new_order(600000);

    /* the feed reports A's transfer; B's it never reports */
    ck_assert_int_eq(feed(900000000 + f_amount, account, ref_a, 4500000, a.code), 200);
    ck_assert_str_eq(order_status(&a), "paid");

    /* the bank rewrites memos: upper case, its prefix, a code split by a wrap */
    snprintf(memo_b, sizeof(memo_b),
             "MBVCB.4525077405.9P0019630833 CT tu 0351000646393 NGUYEN VAN A toi %s HOC PHI %.5s %s", account, b.code,
             b.code + 5);
    snprintf(memo_cd, sizeof(memo_cd), "TRAN VAN C NOP HOC PHI 2 CON %s %s", c.code, d.code);
    snprintf(memo_e, sizeof(memo_e), "HOC PHI %s", e.code);
    line_t lines[] = {
        {ref_a, "HOC PHI", 4500000},       /* rule 1: the feed's transfer */
        {ref_b, memo_b, 2000000},          /* rule 2: the code in a rewritten memo */
        {ref_cd, memo_cd, 3200000},        /* rule 2: one line, two orders */
        {ref_e, memo_e, 700000},           /* a code, but not what the order owes */
        {ref_f, "CHUYEN TIEN", f_amount},  /* rule 3: a suggestion only */
        {ref_x, "UNG HO QUY LOP", 123457}, /* nothing */
        {ref_fee, "PHI QUAN LY TAI KHOAN", -15000},
    };
    char *file = statement(account, lines, 7);
    fgt_response_t r = post_statement(file);
    fgt_expect(r, 201, NULL);
    ck_assert_int_eq(fgt_json_int(&r, "new_lines", NULL), 7);
    fgt_response_free(&r);
    wait_decided(account);

    ck_assert_str_eq(state_of(account, ref_a), "matched");
    ck_assert_int_eq(payments_of(&a), 1); /* matched, nothing new */
    /* matched as it was stored: the line keeps the feed's payment, no item row */
    ck_assert_int_eq(fgt_db_int("SELECT COUNT(*) FROM statement_lines l JOIN payments p ON p.id = l.payment_id JOIN "
                                "orders o ON o.id = p.order_id WHERE l.bank_ref = ? AND o.public_id = ?",
                                ref_a, a.id),
                     1);
    ck_assert_int_eq(fgt_db_int("SELECT COUNT(*) FROM recon_items i JOIN statement_lines l ON l.id = i.line_id "
                                "WHERE l.bank_ref = ?",
                                ref_a, NULL),
                     0);
    ck_assert_int_gt(item_of(account, ref_a), FG_RECON_LINE_ITEM_BASE);
    ck_assert_str_eq(state_of(account, ref_b), "matched");
    ck_assert_str_eq(order_status(&b), "paid");
    ck_assert_str_eq(state_of(account, ref_cd), "matched");
    ck_assert_str_eq(order_status(&c), "paid");
    ck_assert_str_eq(order_status(&d), "paid");
    ck_assert_str_eq(state_of(account, ref_e), "amount_mismatch");
    ck_assert_str_eq(order_status(&e), "open");
    ck_assert_str_eq(state_of(account, ref_f), "suggested");
    ck_assert_str_eq(order_status(&f), "open"); /* a suggestion is never applied */
    ck_assert_int_eq(fgt_db_int("SELECT COUNT(*) FROM recon_links k JOIN recon_items i ON i.id = k.item_id JOIN "
                                "statement_lines l ON l.id = i.line_id JOIN orders o ON o.id = k.order_id "
                                "WHERE l.bank_ref = ? AND o.public_id = ? AND k.suggested = 1",
                                ref_f, f.id),
                     1);
    ck_assert_str_eq(state_of(account, ref_x), "bank_only");
    ck_assert_str_eq(state_of(account, ref_fee), "bank_only");

    /* one money, one effect: the feed reports B's transfer late */
    ck_assert_int_eq(feed(910000000 + f_amount, account, ref_b, 2000000, b.code), 200);
    ck_assert_int_eq(payments_of(&b), 1);

    /* G's transfer the feed applied and no statement shows: ledger_only
     * (the server runs with recon.ledger_only_after_days 0) */
    char ref_g[40];
    snprintf(ref_g, sizeof(ref_g), "FT%s", fgt_unique("h"));
    ck_assert_int_eq(feed(930000000 + f_amount, account, ref_g, g.amount, g.code), 200);
    ck_assert_str_eq(order_status(&g), "paid");

    /* the reconciliation of the statement's day up to today (GMT+7) */
    char body[200], today[16];
    business_day(0, today);
    snprintf(body, sizeof(body), "{\"account\":\"%s\",\"from\":\"2026-12-02\",\"to\":\"%s\"}", account, today);
    char rec_key[48];
    snprintf(rec_key, sizeof(rec_key), "%s", fgt_unique("rec"));
    r = fgt_req(&srv, FGT_H2C, "POST", "/v1/reconciliations", finance, rec_key, body, 0, NULL);
    fgt_expect(r, 201, NULL);
    char id[64], path[160];
    snprintf(id, sizeof(id), "%s", fgt_json_str(&r, "id", NULL));
    fgt_response_free(&r);
    /* sent again with its key (a timeout, a retry): the same reconciliation, no second one */
    r = fgt_req(&srv, FGT_H2C, "POST", "/v1/reconciliations", finance, rec_key, body, 0, NULL);
    fgt_expect(r, 201, NULL);
    ck_assert_str_eq(fgt_json_str(&r, "id", NULL), id);
    fgt_response_free(&r);
    ck_assert_int_eq(fgt_db_int("SELECT COUNT(*) FROM reconciliations WHERE account = ?", account, NULL), 1);
    wait_decided(account); /* undecided lines were looked at again */
    snprintf(path, sizeof(path), "/v1/reconciliations/%s", id);
    r = fgt_req(&srv, FGT_H2C, "GET", path, auditor, NULL, NULL, 0, NULL);
    fgt_expect(r, 200, NULL);
    ck_assert_int_eq(fgt_json_int(&r, "items", NULL), 8);
    ck_assert_int_eq(fgt_json_int(&r, "matched", NULL), 3);
    ck_assert_int_eq(fgt_json_int(&r, "states", "ledger_only", "count", NULL), 1);
    ck_assert_int_eq(fgt_json_int(&r, "states", "ledger_only", "amount", NULL), 600000);
    ck_assert_int_eq(fgt_json_int(&r, "states", "amount_mismatch", "count", NULL), 1);
    ck_assert_int_eq(fgt_json_int(&r, "states", "suggested", "count", NULL), 1);
    ck_assert_int_eq(fgt_json_int(&r, "states", "bank_only", "count", NULL), 2);
    ck_assert_int_eq(fgt_json_int(&r, "exceptions", NULL), 5);
    long long closing = 500000000 + 4500000 + 2000000 + 3200000 + 700000 + f_amount + 123457 - 15000;
    ck_assert_int_eq(fgt_json_int(&r, "bank_closing", NULL), closing);
    /* the ledger's bank account is the bank's; what reconciliation has not
     * explained yet sits apart: E, F and X recorded as unapplied money (they
     * pay no order by themselves), the bank's fee still unreconciled */
    ck_assert_int_eq(fgt_json_int(&r, "ledger_balance", NULL), closing);
    ck_assert_int_eq(fgt_json_int(&r, "difference", NULL), 0);
    ck_assert_int_eq(fgt_json_int(&r, "unreconciled", NULL), 700000 + f_amount + 123457 - 15000);
    ck_assert_int_eq(fgt_json_int(&r, "unapplied", NULL), 700000 + f_amount + 123457);
    ck_assert_int_eq(fgt_json_int(&r, "in_transit", "vietqr", "count", NULL), 1); /* G's */
    ck_assert_int_eq(fgt_json_int(&r, "in_transit", "vietqr", "amount", NULL), 600000);
    fgt_response_free(&r);
    ck_assert_int_eq(account_balance("assets:bank:", account), closing);
    ck_assert_int_eq(account_balance("equity:opening_balances:", account), -500000000);
    ck_assert_int_eq(account_balance("assets:bank_unreconciled:", account), 15000); /* the fee, a debit */
    snprintf(path, sizeof(path), "/v1/reconciliations/%s/items?state=bank_only", id);
    r = fgt_req(&srv, FGT_H2C, "GET", path, auditor, NULL, NULL, 0, NULL);
    fgt_expect(r, 200, NULL);
    yajl_val data = fgt_json_array(&r, "data", NULL);
    ck_assert_ptr_nonnull(data);
    ck_assert_int_eq(data->u.array.len, 2);
    fgt_response_free(&r);
    /* the matched items a page at a time: the rows' (B, then C and D's line), then A's
     * line, matched as it was stored, under the same cursor */
    const long long matched_ids[3] = {item_of(account, ref_b), item_of(account, ref_cd), item_of(account, ref_a)};
    ck_assert_int_lt(matched_ids[0], matched_ids[1]);
    char cursor[40] = "";
    for (int k = 0; k < 3; k++) {
        snprintf(path, sizeof(path), "/v1/reconciliations/%s/items?state=matched&limit=1%s%s", id,
                 k > 0 ? "&cursor=" : "", cursor);
        r = fgt_req(&srv, FGT_H2C, "GET", path, auditor, NULL, NULL, 0, NULL);
        fgt_expect(r, 200, NULL);
        data = fgt_json_array(&r, "data", NULL);
        ck_assert_int_eq(data->u.array.len, 1);
        yajl_val item = data->u.array.values[0];
        yajl_val item_id = fgt_val_at(item, "id", NULL), amount = fgt_val_at(item, "amount", NULL);
        ck_assert(item_id != NULL && YAJL_IS_INTEGER(item_id));
        ck_assert_int_eq(YAJL_GET_INTEGER(item_id), matched_ids[k]);
        ck_assert_str_eq(fgt_val_str(item, "state", NULL), "matched");
        if (k == 2) {
            ck_assert_str_eq(fgt_val_str(item, "rule", NULL), "reference");
            ck_assert_str_eq(fgt_val_str(item, "bank_ref", NULL), ref_a);
            ck_assert(amount != NULL && YAJL_IS_INTEGER(amount) && YAJL_GET_INTEGER(amount) == 4500000);
            ck_assert(fgt_json_is_null(&r, "next_cursor", NULL));
        } else {
            snprintf(cursor, sizeof(cursor), "%s", fgt_json_str(&r, "next_cursor", NULL));
        }
        fgt_response_free(&r);
    }
    /* a matched item is no exception, however it was matched */
    char rpath[200], rbody[300];
    snprintf(rpath, sizeof(rpath), "/v1/reconciliations/%s/items/%lld/resolve", id, item_of(account, ref_a));
    r = fgt_req(&srv, FGT_H2C, "POST", rpath, finance, NULL, "{\"action\":\"accept\",\"note\":\"checked\"}", 0, NULL);
    fgt_expect(r, 409, "item_not_exception");
    fgt_response_free(&r);
    snprintf(rpath, sizeof(rpath), "/v1/reconciliations/%s/items/%lld/resolve", id, item_of(account, ref_a) + 1000000);
    r = fgt_req(&srv, FGT_H2C, "POST", rpath, finance, NULL, "{\"action\":\"accept\",\"note\":\"checked\"}", 0, NULL);
    fgt_expect(r, 404, NULL);
    fgt_response_free(&r);
    /* staff resolve the exceptions, each with a note, audited */
    long long audits = fgt_db_int("SELECT COUNT(*) FROM audit_log WHERE action = 'reconciliation_item.resolve'", NULL,
                                  NULL);
    snprintf(rpath, sizeof(rpath), "/v1/reconciliations/%s/items/%lld/resolve", id, item_of(account, ref_x));
    r = fgt_req(&srv, FGT_H2C, "POST", rpath, finance, NULL, "{\"action\":\"accept\"}", 0, NULL);
    fgt_expect(r, 422, "note_required");
    fgt_response_free(&r);
    r = fgt_req(&srv, FGT_H2C, "POST", rpath, finance, NULL,
                "{\"action\":\"accept\",\"note\":\"donation to the class fund, confirmed by phone\"}", 0, NULL);
    fgt_expect(r, 200, NULL);
    ck_assert_str_eq(fgt_json_str(&r, "resolution", NULL), "accept");
    fgt_response_free(&r);
    r = fgt_req(&srv, FGT_H2C, "POST", rpath, finance, NULL, "{\"action\":\"accept\",\"note\":\"again\"}", 0, NULL);
    fgt_expect(r, 409, "item_resolved");
    fgt_response_free(&r);
    /* the suggestion applied by hand: F is paid through the same pipeline */
    snprintf(rpath, sizeof(rpath), "/v1/reconciliations/%s/items/%lld/resolve", id, item_of(account, ref_f));
    snprintf(rbody, sizeof(rbody),
             "{\"action\":\"apply\",\"note\":\"parent called: this is F's fee\",\"orders\":[{\"order\":\"%s\","
             "\"amount\":%lld}]}",
             f.id, f_amount);
    r = fgt_req(&srv, FGT_H2C, "POST", rpath, finance, NULL, rbody, 0, NULL);
    fgt_expect(r, 200, NULL);
    fgt_response_free(&r);
    ck_assert_str_eq(order_status(&f), "paid");
    ck_assert_int_eq(payments_of(&f), 1);
    r = fgt_req(&srv, FGT_H2C, "POST", rpath, finance, NULL, "{\"action\":\"undo\",\"note\":\"oops\"}", 0, NULL);
    fgt_expect(r, 422, "undo_not_supported");
    fgt_response_free(&r);
    /* E's line cannot pay E (it owes more and takes no part payment) */
    snprintf(rpath, sizeof(rpath), "/v1/reconciliations/%s/items/%lld/resolve", id, item_of(account, ref_e));
    snprintf(rbody, sizeof(rbody),
             "{\"action\":\"apply\",\"note\":\"try E\",\"orders\":[{\"order\":\"%s\",\"amount\":700000}]}", e.id);
    r = fgt_req(&srv, FGT_H2C, "POST", rpath, finance, NULL, rbody, 0, NULL);
    fgt_expect(r, 422, "order_not_payable");
    fgt_response_free(&r);
    ck_assert_str_eq(order_status(&e), "open");
    /* a matched line is not an exception */
    snprintf(rpath, sizeof(rpath), "/v1/reconciliations/%s/items/%lld/resolve", id, item_of(account, ref_b));
    r = fgt_req(&srv, FGT_H2C, "POST", rpath, finance, NULL, "{\"action\":\"accept\",\"note\":\"x\"}", 0, NULL);
    fgt_expect(r, 409, "item_not_exception");
    fgt_response_free(&r);
    ck_assert_int_eq(fgt_db_int("SELECT COUNT(*) FROM audit_log WHERE action = 'reconciliation_item.resolve'", NULL,
                                NULL),
                     audits + 2); /* X accepted, F applied */
    /* closing: not while exceptions are open (E's mismatch, the fee, G's
     * transfer only the ledger knows) */
    char cpath[200];
    snprintf(cpath, sizeof(cpath), "/v1/reconciliations/%s/close", id);
    r = fgt_req(&srv, FGT_H2C, "POST", cpath, finance, NULL, "{}", 0, NULL);
    fgt_expect(r, 409, "reconciliation_open_items");
    ck_assert_int_eq(fgt_json_int(&r, "error", "open_items", NULL), 3);
    fgt_response_free(&r);
    long long open_ids[3] = {item_of(account, ref_e), item_of(account, ref_fee),
                             fgt_db_int("SELECT id FROM recon_items WHERE account = ? AND transfer_ref = ?", account,
                                        ref_g)};
    /* the bank's fee is written off, taken back, and written off again */
    long long write_offs = fgt_db_int("SELECT COUNT(*) FROM journals WHERE kind = 'write_off'", NULL, NULL);
    long long reversals = fgt_db_int("SELECT COUNT(*) FROM journals WHERE kind = 'reversal'", NULL, NULL);
    static const char *const fee_actions[] = {"write_off", "undo", "write_off"};
    snprintf(rpath, sizeof(rpath), "/v1/reconciliations/%s/items/%lld/resolve", id, open_ids[1]);
    for (int i = 0; i < 3; i++) {
        snprintf(rbody, sizeof(rbody), "{\"action\":\"%s\",\"note\":\"the bank's account fee, step %d\"}",
                 fee_actions[i], i);
        r = fgt_req(&srv, FGT_H2C, "POST", rpath, finance, NULL, rbody, 0, NULL);
        fgt_expect(r, 200, NULL);
        fgt_response_free(&r);
    }
    ck_assert_int_eq(fgt_db_int("SELECT COUNT(*) FROM journals WHERE kind = 'write_off'", NULL, NULL), write_offs + 2);
    ck_assert_int_eq(fgt_db_int("SELECT COUNT(*) FROM journals WHERE kind = 'reversal'", NULL, NULL), reversals + 1);
    r = fgt_req(&srv, FGT_H2C, "POST", rpath, finance, NULL, "{\"action\":\"undo\",\"note\":\"x\"}", 0, NULL);
    fgt_expect(r, 200, NULL);
    fgt_response_free(&r);
    r = fgt_req(&srv, FGT_H2C, "POST", rpath, finance, NULL, "{\"action\":\"undo\",\"note\":\"y\"}", 0, NULL);
    fgt_expect(r, 409, "item_not_resolved");
    fgt_response_free(&r);
    for (int i = 0; i < 3; i++) {
        ck_assert_int_gt(open_ids[i], 0);
        snprintf(rpath, sizeof(rpath), "/v1/reconciliations/%s/items/%lld/resolve", id, open_ids[i]);
        r = fgt_req(&srv, FGT_H2C, "POST", rpath, finance, NULL,
                    i == 1 ? "{\"action\":\"write_off\",\"note\":\"the bank's account fee\"}"
                           : "{\"action\":\"accept\",\"note\":\"investigated with the bank\"}",
                    0, NULL);
        fgt_expect(r, 200, NULL);
        fgt_response_free(&r);
    }
    r = fgt_req(&srv, FGT_H2C, "POST", cpath, finance, NULL, "{}", 0, NULL);
    fgt_expect(r, 200, NULL);
    ck_assert(fgt_json_int(&r, "closed_days", NULL) >= 2);
    fgt_response_free(&r);
    ck_assert_int_eq(fgt_db_int("SELECT COUNT(*) FROM recon_closed_days WHERE account = ? AND day = 20261202", account,
                                NULL),
                     1);
    /* a closed day never changes: its write-off is not undone */
    reversals = fgt_db_int("SELECT COUNT(*) FROM journals WHERE kind = 'reversal'", NULL, NULL);
    snprintf(rpath, sizeof(rpath), "/v1/reconciliations/%s/items/%lld/resolve", id, open_ids[1]);
    r = fgt_req(&srv, FGT_H2C, "POST", rpath, finance, NULL, "{\"action\":\"undo\",\"note\":\"too late\"}", 0, NULL);
    fgt_expect(r, 409, "day_closed");
    fgt_response_free(&r);
    ck_assert_int_eq(fgt_db_int("SELECT COUNT(*) FROM journals WHERE kind = 'reversal'", NULL, NULL), reversals);
    char fee_item[24];
    snprintf(fee_item, sizeof(fee_item), "%lld", open_ids[1]);
    ck_assert_int_eq(fgt_db_int("SELECT COUNT(*) FROM recon_items WHERE id = ? AND resolution = 'write_off'", fee_item,
                                NULL),
                     1);
    /* the morning report of the closed day: the bank's closing is the ledger's, nothing open */
    snprintf(path, sizeof(path), "/v1/reports/reconciliation?from=2026-12-02&to=2026-12-02&account=%s", account);
    r = fgt_req(&srv, FGT_H2C, "GET", path, auditor, NULL, NULL, 0, NULL);
    fgt_expect(r, 200, NULL);
    yajl_val day_rows = fgt_json_array(&r, "data", NULL);
    ck_assert_int_eq(YAJL_GET_ARRAY(day_rows)->len, 1);
    yajl_val day_row = YAJL_GET_ARRAY(day_rows)->values[0];
    ck_assert_str_eq(fgt_val_str(day_row, "status", NULL), "closed");
    ck_assert_str_eq(fgt_val_str(day_row, "day", NULL), "2026-12-02");
    ck_assert_int_eq(YAJL_GET_INTEGER(fgt_val_at(day_row, "bank_closing", NULL)), closing);
    ck_assert_int_eq(YAJL_GET_INTEGER(fgt_val_at(day_row, "ledger_balance", NULL)), closing);
    ck_assert_int_eq(YAJL_GET_INTEGER(fgt_val_at(day_row, "difference", NULL)), 0);
    ck_assert_int_eq(YAJL_GET_INTEGER(fgt_val_at(day_row, "open", NULL)), 0);
    ck_assert_int_eq(YAJL_GET_INTEGER(fgt_val_at(day_row, "credits", NULL)) -
                         YAJL_GET_INTEGER(fgt_val_at(day_row, "debits", NULL)),
                     closing - 500000000);
    ck_assert_int_eq(YAJL_GET_INTEGER(fgt_val_at(day_row, "matched", NULL)), 3);
    /* balances and their difference are not added up across days: a gap kept 30 days is one gap */
    const char *totals = strstr(r.body, "\"totals\":{");
    ck_assert_ptr_nonnull(totals);
    ck_assert_ptr_nonnull(strstr(totals, "\"matched\":3"));
    ck_assert_ptr_null(strstr(totals, "difference"));
    ck_assert_ptr_null(strstr(totals, "bank_closing"));
    fgt_response_free(&r);
    r = fgt_req(&srv, FGT_H2C, "GET", path, mer.key, NULL, NULL, 0, NULL);
    ck_assert_int_eq(r.status, 403); /* staff only */
    fgt_response_free(&r);
    /* the merchant hears that its collections of the period are reconciled:
     * A's, B's, C's and D's transfers matched, F's applied by staff; once */
    ck_assert_int_eq(fgt_db_int("SELECT COUNT(*) FROM events WHERE type = 'reconciliation.completed' AND "
                                "JSON_VALUE(payload, '$.id') = ?",
                                id, NULL),
                     1);
    ck_assert_int_eq(fgt_db_int("SELECT JSON_VALUE(payload, '$.payments') FROM events WHERE type = "
                                "'reconciliation.completed' AND JSON_VALUE(payload, '$.id') = ?",
                                id, NULL),
                     5);
    ck_assert_int_eq(fgt_db_int("SELECT JSON_VALUE(payload, '$.amount') FROM events WHERE type = "
                                "'reconciliation.completed' AND JSON_VALUE(payload, '$.id') = ?",
                                id, NULL),
                     4500000 + 2000000 + 3200000 + f_amount);
    r = fgt_req(&srv, FGT_H2C, "POST", cpath, finance, NULL, "{}", 0, NULL);
    fgt_expect(r, 200, NULL);
    fgt_response_free(&r);
    ck_assert_int_eq(fgt_db_int("SELECT COUNT(*) FROM events WHERE type = 'reconciliation.completed' AND "
                                "JSON_VALUE(payload, '$.id') = ?",
                                id, NULL),
                     1);
    /* a later period that takes in the closed day closes only its new day, and tells of that
     * alone: the day before it was told of once (nothing of this merchant's came on the new day) */
    char body2[200], id2[64];
    snprintf(body2, sizeof(body2), "{\"account\":\"%s\",\"from\":\"2026-12-02\",\"to\":\"2026-12-03\"}", account);
    r = fgt_req(&srv, FGT_H2C, "POST", "/v1/reconciliations", finance, NULL, body2, 0, NULL);
    fgt_expect(r, 201, NULL);
    snprintf(id2, sizeof(id2), "%s", fgt_json_str(&r, "id", NULL));
    fgt_response_free(&r);
    snprintf(rpath, sizeof(rpath), "/v1/reconciliations/%s/close", id2);
    r = fgt_req(&srv, FGT_H2C, "POST", rpath, finance, NULL, NULL, 0, NULL);
    fgt_expect(r, 200, NULL);
    fgt_response_free(&r);
    ck_assert_int_eq(fgt_db_int("SELECT COUNT(*) FROM recon_closed_days WHERE account = ? AND day = 20261203", account,
                                NULL),
                     1);
    ck_assert_int_eq(fgt_db_int("SELECT COUNT(*) FROM events WHERE type = 'reconciliation.completed' AND "
                                "JSON_VALUE(payload, '$.id') = ?",
                                id2, NULL),
                     0);
    /* and reads it where it reads every event (listed once settled) */
    int listed = 0;
    for (int i = 0; i < 100 && !listed; i++) {
        r = fgt_req(&srv, FGT_H2C, "GET", "/v1/events?type=reconciliation.completed", mer.key, NULL, NULL, 0, NULL);
        fgt_expect(r, 200, NULL);
        listed = strstr(r.body, id) != NULL;
        fgt_response_free(&r);
        if (!listed)
            fgt_sleep_ms(100);
    }
    ck_assert_msg(listed, "reconciliation.completed %s never listed", id);
    /* every line explained: the fee written off, the rest matched, applied
     * or kept (accepted) as unapplied money */
    ck_assert_int_eq(account_balance("assets:bank_unreconciled:", account), 0);
    ck_assert_int_eq(account_balance("assets:bank:", account), closing);
    /* a line for the closed day that arrives later is reconciled on the next open day */
    char ref_late[40];
    snprintf(ref_late, sizeof(ref_late), "FT%s", fgt_unique("l"));
    line_t late[] = {{ref_late, "NOP TIEN MUON", 50000}};
    char *late_file = statement(account, late, 1);
    r = post_statement(late_file);
    fgt_expect(r, 201, NULL);
    fgt_response_free(&r);
    ck_assert_int_gt(fgt_db_int("SELECT i.business_day FROM recon_items i JOIN statement_lines l ON l.id = i.line_id "
                                "WHERE l.account = ? AND l.bank_ref = ?",
                                account, ref_late),
                     20261202);
    free(late_file);
    /* an auditor reads, never starts one */
    r = fgt_req(&srv, FGT_H2C, "POST", "/v1/reconciliations", auditor, NULL, body, 0, NULL);
    ck_assert_int_eq(r.status, 403);
    fgt_response_free(&r);
    free(file);
    ck_assert_int_eq(fgt_ledger_check(), 0);
}
END_TEST

static long long import_status(const char *file, long long *gaps)
{
    fgt_response_t r = post_statement(file);
    long long status = r.status;
    if (gaps != NULL)
        *gaps = fgt_json_int(&r, "gaps", NULL);
    fgt_response_free(&r);
    return status;
}

START_TEST(a_missing_statement_is_a_gap)
{
    /* 2 December, then 4 December (its opening shows 3 December's money the
     * ledger has not seen: a gap), then the missing 3 December */
    char account[40], r1[40], r3[40], r4[40];
    snprintf(account, sizeof(account), "%s", fgt_account("VCBG"));
    snprintf(r1, sizeof(r1), "FT%s", fgt_unique("g"));
    snprintf(r3, sizeof(r3), "FT%s", fgt_unique("g"));
    snprintf(r4, sizeof(r4), "FT%s", fgt_unique("g"));
    line_t l2[] = {{r1, "CHUYEN TIEN", 100000}}, l3[] = {{r3, "CHUYEN TIEN", 250000}},
           l4[] = {{r4, "CHUYEN TIEN", 1000}};
    char *f2 = statement_on(account, "2026-12-02", "2026-12-01", 500000000, l2, 1);
    char *f4 = statement_on(account, "2026-12-04", "2026-12-03", 500350000, l4, 1);
    char *f3 = statement_on(account, "2026-12-03", "2026-12-02", 500100000, l3, 1);
    long long gaps = -1;
    ck_assert_int_eq(import_status(f2, &gaps), 201);
    ck_assert_int_eq(gaps, 0);
    ck_assert_int_eq(import_status(f4, &gaps), 201);
    ck_assert_int_eq(gaps, 1);
    ck_assert_int_eq(fgt_db_int("SELECT amount FROM recon_items WHERE account = ? AND kind = 'balance_gap'", account,
                                NULL),
                     250000);
    ck_assert_int_eq(account_balance("assets:bank:", account), 500351000);
    /* its detail says the day as a date and the amounts with their currency */
    char detail[300];
    ck_assert(fgt_db_str("SELECT detail FROM recon_items WHERE account = ? AND kind = 'balance_gap'", account, NULL,
                         detail, sizeof(detail)));
    ck_assert_msg(strstr(detail, "at the end of 2026-12-03 is 500350000 VND; the ledger's bank account held "
                                 "500100000 VND") != NULL,
                  "%s", detail);
    /* the missing day arrives: its lines, and the gap taken back on its day */
    ck_assert_int_eq(import_status(f3, &gaps), 201);
    ck_assert_int_eq(gaps, 0);
    ck_assert_int_eq(fgt_db_int("SELECT COUNT(*) FROM recon_items WHERE account = ? AND kind = 'balance_gap' AND "
                                "business_day = 20261203",
                                account, NULL),
                     2);
    ck_assert_int_eq(fgt_db_int("SELECT SUM(amount) FROM recon_items WHERE account = ? AND kind = 'balance_gap'",
                                account, NULL),
                     0);
    ck_assert_int_eq(account_balance("assets:bank:", account), 500351000);
    wait_decided(account);
    /* the days reconciled: each line and gap resolved, then closed */
    char body[200], id[64], path[200];
    snprintf(body, sizeof(body), "{\"account\":\"%s\",\"from\":\"2026-12-02\",\"to\":\"2026-12-04\"}", account);
    fgt_response_t r = fgt_req(&srv, FGT_H2C, "POST", "/v1/reconciliations", finance, NULL, body, 0, NULL);
    fgt_expect(r, 201, NULL);
    snprintf(id, sizeof(id), "%s", fgt_json_str(&r, "id", NULL));
    fgt_response_free(&r);
    wait_decided(account);
    snprintf(path, sizeof(path), "/v1/reconciliations/%s", id);
    r = fgt_req(&srv, FGT_H2C, "GET", path, auditor, NULL, NULL, 0, NULL);
    fgt_expect(r, 200, NULL);
    ck_assert_int_eq(fgt_json_int(&r, "bank_closing", NULL), 500351000);
    ck_assert_int_eq(fgt_json_int(&r, "ledger_balance", NULL), 500351000);
    ck_assert_int_eq(fgt_json_int(&r, "unreconciled", NULL), 351000);
    ck_assert_int_eq(fgt_json_int(&r, "unapplied", NULL), 351000);
    fgt_response_free(&r);
    /* a gap is not money to apply or send back */
    long long gap = fgt_db_int("SELECT MIN(id) FROM recon_items WHERE account = ? AND kind = 'balance_gap'", account,
                               NULL);
    snprintf(path, sizeof(path), "/v1/reconciliations/%s/items/%lld/resolve", id, gap);
    r = fgt_req(&srv, FGT_H2C, "POST", path, finance, NULL, "{\"action\":\"refund\",\"note\":\"x\"}", 0, NULL);
    ck_assert_int_eq(r.status, 422);
    fgt_response_free(&r);
    for (int i = 0; i < 5; i++) {
        long long item = fgt_db_int("SELECT MIN(id) FROM recon_items WHERE account = ? AND state <> 'matched' AND "
                                    "resolution IS NULL",
                                    account, NULL);
        ck_assert_int_gt(item, 0);
        snprintf(path, sizeof(path), "/v1/reconciliations/%s/items/%lld/resolve", id, item);
        r = fgt_req(&srv, FGT_H2C, "POST", path, finance, NULL,
                    "{\"action\":\"accept\",\"note\":\"the statement of 3 December came late\"}", 0, NULL);
        fgt_expect(r, 200, NULL);
        fgt_response_free(&r);
    }
    snprintf(path, sizeof(path), "/v1/reconciliations/%s/close", id);
    r = fgt_req(&srv, FGT_H2C, "POST", path, finance, NULL, "{}", 0, NULL);
    fgt_expect(r, 200, NULL);
    fgt_response_free(&r);
    /* the gaps cancel: nothing unexplained left in the unreconciled account
     * but the lines kept as unapplied money */
    ck_assert_int_eq(account_balance("assets:bank_unreconciled:", account), 0);
    ck_assert_int_eq(fgt_db_int("SELECT SUM(amount) FROM recon_items WHERE account = ? AND unapplied = 1", account,
                                NULL),
                     351000);
    free(f2);
    free(f3);
    free(f4);
    ck_assert_int_eq(fgt_ledger_check(), 0);
}
END_TEST

/* POST /v1/statements?format=csv (feegate's own layout) as finance; the
 * answer's status, and its gaps and new lines. */
static long long import_csv(const char *file, long long *gaps, long long *new_lines)
{
    char auth[200];
    snprintf(auth, sizeof(auth), "Authorization: Bearer %s", finance);
    const char *headers[] = {auth, "Content-Type: text/csv", NULL};
    fgt_response_t r = fgt_request(&srv, FGT_H2C, "POST", "/v1/statements?format=csv", headers, file, 0);
    long long status = r.status;
    *gaps = fgt_json_int(&r, "gaps", NULL);
    *new_lines = fgt_json_int(&r, "new_lines", NULL);
    fgt_response_free(&r);
    return status;
}

/* The reconciliation summary's row of account's day (yyyy-mm-dd), its
 * figures written out; *closing gets its bank_closing, *ledger its
 * ledger_balance. */
static void summary_row(const char *account, const char *day, char *out, size_t cap, long long *closing,
                        long long *ledger)
{
    char path[200];
    snprintf(path, sizeof(path), "/v1/reports/reconciliation?from=%s&to=%s&account=%s", day, day, account);
    fgt_response_t r = fgt_req(&srv, FGT_H2C, "GET", path, auditor, NULL, NULL, 0, NULL);
    fgt_expect(r, 200, NULL);
    yajl_val rows = fgt_json_array(&r, "data", NULL);
    ck_assert_int_eq(YAJL_GET_ARRAY(rows)->len, 1);
    yajl_val row = YAJL_GET_ARRAY(rows)->values[0];
    static const char *const figures[] = {"lines",    "credits", "debits",       "matched",        "bank_only",
                                          "resolved", "open",    "bank_closing", "ledger_balance", "difference"};
    size_t len = (size_t)snprintf(out, cap, "%s %s", fgt_val_str(row, "day", NULL), fgt_val_str(row, "status", NULL));
    for (size_t i = 0; i < sizeof(figures) / sizeof(figures[0]) && len < cap; i++)
        len += (size_t)snprintf(out + len, cap - len, " %s=%lld", figures[i],
                                YAJL_GET_INTEGER(fgt_val_at(row, figures[i], NULL)));
    *closing = YAJL_GET_INTEGER(fgt_val_at(row, "bank_closing", NULL));
    *ledger = YAJL_GET_INTEGER(fgt_val_at(row, "ledger_balance", NULL));
    fgt_response_free(&r);
}

/* Reconciles the period day..day of account, accepting every exception, and answers its close. */
static fgt_response_t reconcile_and_close(const char *account, const char *day)
{
    char body[200], id[64], path[200];
    snprintf(body, sizeof(body), "{\"account\":\"%s\",\"from\":\"%s\",\"to\":\"%s\"}", account, day, day);
    fgt_response_t r = fgt_req(&srv, FGT_H2C, "POST", "/v1/reconciliations", finance, NULL, body, 0, NULL);
    fgt_expect(r, 201, NULL);
    snprintf(id, sizeof(id), "%s", fgt_json_str(&r, "id", NULL));
    fgt_response_free(&r);
    wait_decided(account);
    char d[16];
    snprintf(d, sizeof(d), "%.4s%.2s%.2s", day, day + 5, day + 8);
    for (int i = 0; i < 10; i++) {
        long long item = fgt_db_int("SELECT COALESCE(MIN(id), 0) FROM recon_items WHERE account = ? AND state <> "
                                    "'matched' AND resolution IS NULL AND business_day = ?",
                                    account, d);
        if (item == 0)
            break;
        snprintf(path, sizeof(path), "/v1/reconciliations/%s/items/%lld/resolve", id, item);
        r = fgt_req(&srv, FGT_H2C, "POST", path, finance, NULL, "{\"action\":\"accept\",\"note\":\"checked\"}", 0,
                    NULL);
        fgt_expect(r, 200, NULL);
        fgt_response_free(&r);
    }
    snprintf(path, sizeof(path), "/v1/reconciliations/%s/close", id);
    return fgt_req(&srv, FGT_H2C, "POST", path, finance, NULL, NULL, 0, NULL);
}

/* Imports a statement of account with one line of amount on day (its reference: prefix and the
 * account) between an opening dated opening_day and the closing it makes; *gaps, *new_lines as
 * the import says. */
static void day_statement(const char *account, const char *opening_day, long long opening, const char *day,
                          long long amount, const char *prefix, long long *gaps, long long *new_lines)
{
    char file[1024];
    snprintf(file, sizeof(file),
             "account,currency,booking_date,value_date,amount,bank_ref,end_to_end,counterparty,memo\n"
             "%s,VND,opening,%s,%lld,,,,\n%s,VND,%s,%s,%lld,%s%s,,NGUYEN VAN A,NOP TIEN\n"
             "%s,VND,closing,%s,%lld,,,,\n",
             account, opening_day, opening, account, day, day, amount, prefix, account, account, day, opening + amount);
    ck_assert_int_eq(import_csv(file, gaps, new_lines), 201);
}

/* Two days of one account, each with its statement: the day before and yesterday. */
static void two_days_of_statements(const char *account, const char *before, const char *day)
{
    char opening_day[16];
    business_day(3, opening_day);
    long long gaps = -1, new_lines = -1;
    day_statement(account, opening_day, 50000000, before, 1000, "A", &gaps, &new_lines);
    day_statement(account, before, 50001000, day, 2000, "B", &gaps, &new_lines);
    ck_assert_int_eq(gaps, 0);
    wait_decided(account);
}

/* The bank's corrected export of the day before: one more line (C, 500). */
static void corrected_day_before(const char *account, const char *before)
{
    char opening_day[16], file[2048];
    business_day(3, opening_day);
    long long gaps = -1, new_lines = -1;
    snprintf(file, sizeof(file),
             "account,currency,booking_date,value_date,amount,bank_ref,end_to_end,counterparty,memo\n"
             "%s,VND,opening,%s,50000000,,,,\n"
             "%s,VND,%s,%s,1000,A%s,,NGUYEN VAN A,NOP TIEN\n"
             "%s,VND,%s,%s,500,C%s,,LE VAN C,NOP TIEN\n"
             "%s,VND,closing,%s,50001500,,,,\n",
             account, opening_day, account, before, before, account, account, before, before, account, account, before);
    ck_assert_int_eq(import_csv(file, &gaps, &new_lines), 201);
    ck_assert_int_eq(new_lines, 1);
    wait_decided(account);
}

static long long closed_days_of(const char *account, const char *day)
{
    char d[16];
    snprintf(d, sizeof(d), "%.4s%.2s%.2s", day, day + 5, day + 8);
    return fgt_db_int("SELECT COUNT(*) FROM recon_closed_days WHERE account = ? AND day = ?", account, d);
}

/* An account's days close in order: yesterday cannot close while the day
 * before, which the bank booked a line on, is open (409 earlier_day_open
 * naming it), since a line of the day before that the bank sends after
 * yesterday closed would go past it and the day before could never close.
 * Closed in order, the corrected export's late line goes to today and both
 * days stay what they closed with. */
START_TEST(an_accounts_days_close_in_order)
{
    char account[40], day[16], before[16];
    snprintf(account, sizeof(account), "%s", fgt_account("ORD"));
    business_day(1, day);
    business_day(2, before);
    two_days_of_statements(account, before, day);
    fgt_response_t r = reconcile_and_close(account, day); /* yesterday first */
    fgt_expect_error(r, 409, "conflict", "earlier_day_open");
    ck_assert_str_eq(fgt_json_str(&r, "error", "day", NULL), before);
    ck_assert_ptr_nonnull(strstr(fgt_json_str(&r, "error", "message", NULL), before));
    fgt_response_free(&r);
    ck_assert_int_eq(closed_days_of(account, day), 0);
    r = reconcile_and_close(account, before);
    fgt_expect(r, 200, NULL);
    fgt_response_free(&r);
    r = reconcile_and_close(account, day);
    fgt_expect(r, 200, NULL);
    fgt_response_free(&r);
    ck_assert_int_eq(closed_days_of(account, before), 1);
    ck_assert_int_eq(closed_days_of(account, day), 1);
    corrected_day_before(account, before);
    char today[16], d[16];
    business_day(0, today);
    snprintf(d, sizeof(d), "%.4s%.2s%.2s", today, today + 5, today + 8);
    ck_assert_int_eq(fgt_db_int("SELECT COALESCE(SUM(amount), -1) FROM bank_postings WHERE account = ? AND day = ? "
                                "AND kind = 'lines'",
                                account, d),
                     500);
    ck_assert_int_eq(fgt_ledger_check(), 0);
}
END_TEST

/* A day the bank booked nothing on (the day before yesterday) is no reason
 * to keep yesterday open; but once yesterday closed, that day never changes:
 * the bank's late export of it brings a line that goes, posting and item,
 * to today, and its closing is kept as late (the day's balance stays the
 * one yesterday's close read).  Today then reconciles and closes with it. */
START_TEST(a_late_line_of_a_day_before_the_last_closed_one_goes_to_the_open_day)
{
    char account[40], a[16], b[16], c[16], today[16], opening_day[16], d[16];
    snprintf(account, sizeof(account), "%s", fgt_account("HOL"));
    business_day(4, opening_day);
    business_day(3, a);
    business_day(2, b);
    business_day(1, c);
    business_day(0, today);
    long long gaps = -1, new_lines = -1;
    day_statement(account, opening_day, 50000000, a, 1000, "A", &gaps, &new_lines);
    day_statement(account, b, 50001000, c, 2000, "C", &gaps, &new_lines);
    ck_assert_int_eq(gaps, 0);
    wait_decided(account);
    fgt_response_t r = reconcile_and_close(account, a);
    fgt_expect(r, 200, NULL);
    fgt_response_free(&r);
    r = reconcile_and_close(account, c); /* the day between has nothing to reconcile */
    fgt_expect(r, 200, NULL);
    fgt_response_free(&r);
    /* the bank's late export of the day between */
    day_statement(account, a, 50001000, b, 700, "B", &gaps, &new_lines);
    ck_assert_int_eq(new_lines, 1);
    ck_assert_int_eq(gaps, 0);
    wait_decided(account);
    snprintf(d, sizeof(d), "%.4s%.2s%.2s", today, today + 5, today + 8);
    ck_assert_int_eq(fgt_db_int("SELECT COUNT(*) FROM recon_items i JOIN statement_lines l ON l.id = i.line_id WHERE "
                                "l.account = ? AND l.amount = 700 AND i.business_day = ?",
                                account, d),
                     1);
    ck_assert_int_eq(fgt_db_int("SELECT COALESCE(SUM(amount), -1) FROM bank_postings WHERE account = ? AND day = ? "
                                "AND kind = 'lines'",
                                account, d),
                     700);
    ck_assert_int_eq(fgt_db_int("SELECT COUNT(*) FROM statements WHERE account = ? AND late_closing = 1", account,
                                NULL),
                     1);
    r = reconcile_and_close(account, today);
    fgt_expect(r, 200, NULL);
    fgt_response_free(&r);
    ck_assert_int_eq(fgt_ledger_check(), 0);
}
END_TEST

/* The day after a closed day was imported with an opening gap (the bank's
 * statement of it opened 30,000 higher than the closed day closed: a line
 * of the closed day the ledger had not seen), then the bank's corrected
 * export of the closed day brings that line.  It goes after the closed day,
 * onto the day whose closing the ledger was held to: held again, a gap
 * takes the same money back out there, and that day still closes (before,
 * the gap and the line both counted it: 409 bank_balance_differs, and every
 * later day held up behind it). */
START_TEST(a_late_line_after_a_gap_that_explained_it_counts_once)
{
    char account[40], a[16], b[16], opening_day[16], file[2048], d[16];
    snprintf(account, sizeof(account), "%s", fgt_account("GAP"));
    business_day(4, opening_day);
    business_day(3, a);
    business_day(2, b);
    long long gaps = -1, new_lines = -1;
    day_statement(account, opening_day, 1000000, a, 100000, "A", &gaps, &new_lines);
    wait_decided(account);
    fgt_response_t r = reconcile_and_close(account, a);
    fgt_expect(r, 200, NULL);
    fgt_response_free(&r);
    day_statement(account, a, 1130000, b, 50000, "B", &gaps, &new_lines);
    ck_assert_int_eq(gaps, 1); /* the opening 30,000 above what the closed day closed with */
    snprintf(file, sizeof(file),
             "account,currency,booking_date,value_date,amount,bank_ref,end_to_end,counterparty,memo\n"
             "%s,VND,opening,%s,1000000,,,,\n%s,VND,%s,%s,100000,A%s,,NGUYEN VAN A,NOP TIEN\n"
             "%s,VND,%s,%s,30000,L%s,,LE VAN L,NOP TIEN\n%s,VND,closing,%s,1130000,,,,\n",
             account, opening_day, account, a, a, account, account, a, a, account, account, a);
    ck_assert_int_eq(import_csv(file, &gaps, &new_lines), 201);
    ck_assert_int_eq(new_lines, 1);
    wait_decided(account);
    snprintf(d, sizeof(d), "%.4s%.2s%.2s", b, b + 5, b + 8);
    /* the day's ledger balance is its statement's again */
    ck_assert_int_eq(fgt_db_int("SELECT COALESCE(SUM(amount), 0) FROM bank_postings WHERE account = ? AND day <= ?",
                                account, d),
                     1180000);
    r = reconcile_and_close(account, b);
    fgt_expect(r, 200, NULL);
    fgt_response_free(&r);
    ck_assert_int_eq(fgt_ledger_check(), 0);
}
END_TEST

/* A database whose days were closed out of order, and whose late export
 * was taken, before days closed in order (yesterday's row written straight,
 * as such a close did; the export's closing not marked late, as it was not
 * then): the day before, whose late line went after yesterday, reads a
 * statement closing the ledger's bank balance at its end is not, and
 * closing it is refused (409 bank_balance_differs) rather than closing a day
 * `feegate ledger check` would find wrong. */
START_TEST(a_day_that_would_close_with_a_bank_difference_is_refused)
{
    char account[40], day[16], before[16], d[16];
    snprintf(account, sizeof(account), "%s", fgt_account("OOO"));
    business_day(1, day);
    business_day(2, before);
    two_days_of_statements(account, before, day);
    fgt_response_t r = reconcile_and_close(account, day); /* its items resolved; refused today */
    fgt_expect_error(r, 409, "conflict", "earlier_day_open");
    fgt_response_free(&r);
    snprintf(d, sizeof(d), "%.4s%.2s%.2s", day, day + 5, day + 8);
    char sql[300];
    snprintf(sql, sizeof(sql),
             "INSERT INTO recon_closed_days (account, day, reconciliation_id, closed_by, closed_at) VALUES (?, %s, 0, "
             "'finance@example.vn', 0)",
             d);
    fgt_db_exec(sql, account);
    corrected_day_before(account, before);
    fgt_db_exec("UPDATE statements SET late_closing = 0 WHERE account = ?", account);
    r = reconcile_and_close(account, before);
    fgt_expect_error(r, 409, "conflict", "bank_balance_differs");
    ck_assert_str_eq(fgt_json_str(&r, "error", "day", NULL), before);
    fgt_response_free(&r);
    ck_assert_int_eq(closed_days_of(account, before), 0);
    ck_assert_int_eq(fgt_ledger_check(), 0);
}
END_TEST

/* A closed day never changes, whatever is imported after it closed (an
 * outside tester's case): the bank's end-of-day export again, and a
 * corrected export of the closed day with new lines whose opening row is
 * dated the closed day itself and differs from the ledger's balance the day
 * before (an open day).  The new lines and the gap go to the first open day
 * after the closed one; the late statement's closing is kept as the bank
 * sent it but is not the closed day's. */
START_TEST(a_closed_day_never_changes_whatever_is_imported_after)
{
    char account[40], day[16], before[16], d[16], ref1[40], ref2[40], ref3[40], ref4[40], file[2048], again[2048],
        late[2048], body[200], id[64], path[200], row_closed[600], row_after[600];
    snprintf(account, sizeof(account), "%s", fgt_account("VCBK"));
    business_day(1, day);    /* the day to close: yesterday, over */
    business_day(2, before); /* the day before, left open */
    snprintf(d, sizeof(d), "%.4s%.2s%.2s", day, day + 5, day + 8);
    snprintf(ref1, sizeof(ref1), "FT%s", fgt_unique("k"));
    snprintf(ref2, sizeof(ref2), "FE%s", fgt_unique("k"));
    snprintf(ref3, sizeof(ref3), "FT%s", fgt_unique("k"));
    snprintf(ref4, sizeof(ref4), "FE%s", fgt_unique("k"));
    /* the day's statement: 100,000,000 at the end of the day before, 1,204,201 in */
    snprintf(file, sizeof(file),
             "account,currency,booking_date,value_date,amount,bank_ref,end_to_end,counterparty,memo\n"
             "%s,VND,opening,%s,100000000,,,,\n"
             "%s,VND,%s,%s,1215201,%s,,TRAN VAN AN,NOP TIEN\n"
             "%s,VND,%s,%s,-11000,%s,,,PHI SMS BANKING\n"
             "%s,VND,closing,%s,101204201,,,,\n",
             account, before, account, day, day, ref1, account, day, day, ref2, account, day);
    long long gaps = -1, new_lines = -1;
    ck_assert_int_eq(import_csv(file, &gaps, &new_lines), 201);
    ck_assert_int_eq(gaps, 0);
    ck_assert_int_eq(new_lines, 2);
    wait_decided(account);
    /* reconciled and closed */
    snprintf(body, sizeof(body), "{\"account\":\"%s\",\"from\":\"%s\",\"to\":\"%s\"}", account, day, day);
    fgt_response_t r = fgt_req(&srv, FGT_H2C, "POST", "/v1/reconciliations", finance, NULL, body, 0, NULL);
    fgt_expect(r, 201, NULL);
    snprintf(id, sizeof(id), "%s", fgt_json_str(&r, "id", NULL));
    fgt_response_free(&r);
    wait_decided(account);
    for (int i = 0; i < 10; i++) {
        long long item = fgt_db_int("SELECT COALESCE(MIN(id), 0) FROM recon_items WHERE account = ? AND state <> "
                                    "'matched' AND resolution IS NULL",
                                    account, NULL);
        if (item == 0)
            break;
        snprintf(path, sizeof(path), "/v1/reconciliations/%s/items/%lld/resolve", id, item);
        r = fgt_req(&srv, FGT_H2C, "POST", path, finance, NULL,
                    "{\"action\":\"accept\",\"note\":\"investigated with the bank\"}", 0, NULL);
        fgt_expect(r, 200, NULL);
        fgt_response_free(&r);
    }
    snprintf(path, sizeof(path), "/v1/reconciliations/%s/close", id);
    r = fgt_req(&srv, FGT_H2C, "POST", path, finance, NULL, "{}", 0, NULL);
    fgt_expect(r, 200, NULL);
    fgt_response_free(&r);
    long long closing = 0, ledger = 0;
    summary_row(account, day, row_closed, sizeof(row_closed), &closing, &ledger);
    ck_assert_ptr_nonnull(strstr(row_closed, " closed "));
    ck_assert_int_eq(closing, 101204201);
    ck_assert_int_eq(ledger, 101204201);
    ck_assert_int_eq(fgt_ledger_check(), 0);

    /* the bank's end-of-day export again, another file of the same lines
     * (CRLF): nothing new, no gap, the day as it closed */
    size_t n = 0;
    for (const char *p = file; *p != '\0' && n + 2 < sizeof(again); p++) {
        if (*p == '\n')
            again[n++] = '\r';
        again[n++] = *p;
    }
    again[n] = '\0';
    ck_assert_int_eq(import_csv(again, &gaps, &new_lines), 201);
    ck_assert_int_eq(gaps, 0);
    ck_assert_int_eq(new_lines, 0);
    summary_row(account, day, row_after, sizeof(row_after), &closing, &ledger);
    ck_assert_str_eq(row_after, row_closed);

    /* a corrected export of the closed day: new lines, its opening row dated
     * the closed day, and the day before (open) held less than it says */
    snprintf(late, sizeof(late),
             "account,currency,booking_date,value_date,amount,bank_ref,end_to_end,counterparty,memo\n"
             "%s,VND,opening,%s,101204201,,,,\n"
             "%s,VND,%s,%s,2500000,%s,,NGO BAO CHAU,NOP HOC PHI CON\n"
             "%s,VND,%s,%s,-11000,%s,,,PHI SMS BANKING\n"
             "%s,VND,closing,%s,103693201,,,,\n",
             account, day, account, day, day, ref3, account, day, day, ref4, account, day);
    ck_assert_int_eq(import_csv(late, &gaps, &new_lines), 201);
    ck_assert_int_eq(new_lines, 2);
    ck_assert_int_eq(gaps, 1);
    /* the closed day reads what it closed with */
    summary_row(account, day, row_after, sizeof(row_after), &closing, &ledger);
    ck_assert_str_eq(row_after, row_closed);
    snprintf(path, sizeof(path), "/v1/reconciliations/%s", id);
    r = fgt_req(&srv, FGT_H2C, "GET", path, auditor, NULL, NULL, 0, NULL);
    fgt_expect(r, 200, NULL);
    ck_assert_int_eq(fgt_json_int(&r, "bank_closing", NULL), 101204201);
    ck_assert_int_eq(fgt_json_int(&r, "ledger_balance", NULL), 101204201);
    fgt_response_free(&r);
    /* nothing posted at or before the closed day since it closed: the new
     * lines and the gap are on the first open day after it */
    ck_assert_int_eq(fgt_db_int("SELECT COALESCE(SUM(amount), 0) FROM bank_postings WHERE account = ? AND day <= ?",
                                account, d),
                     101204201);
    ck_assert_int_eq(fgt_db_int("SELECT COUNT(*) FROM recon_items WHERE account = ? AND kind = 'balance_gap' AND "
                                "amount = 1204201 AND business_day > ?",
                                account, d),
                     1);
    ck_assert_int_eq(fgt_db_int("SELECT COUNT(*) FROM recon_items i JOIN statement_lines l ON l.id = i.line_id "
                                "WHERE l.account = ? AND i.business_day > ?",
                                account, d),
                     2);
    /* the ledger's bank account is what the bank says now, and more by the gap to resolve */
    ck_assert_int_eq(account_balance("assets:bank:", account), 103693201 + 1204201);
    /* the statement keeps what the bank sent, marked as no closed day's
     * closing (as is the end-of-day export imported again) */
    ck_assert_int_eq(fgt_db_int("SELECT COUNT(*) FROM statements WHERE account = ? AND closing = 103693201 AND "
                                "closing_date = ? AND late_closing = 1",
                                account, d),
                     1);
    ck_assert_int_eq(fgt_db_int("SELECT COUNT(*) FROM statements WHERE account = ? AND late_closing = 1", account,
                                NULL),
                     2);
    ck_assert_int_eq(fgt_ledger_check(), 0);
}
END_TEST

START_TEST(statement_first_then_the_feed)
{
    /* the statement applies a transfer the feed reports afterwards, and the
     * reverse order gives the same single payment (a_day_reconciled) */
    char account[40], ref[40], memo[120];
    snprintf(account, sizeof(account), "%s", fgt_account("VCBS"));
    snprintf(ref, sizeof(ref), "FT%s", fgt_unique("s"));
    order_t o = new_order(3000000);
    snprintf(memo, sizeof(memo), "IBFT %s", o.code);
    line_t lines[] = {{ref, memo, 3000000}};
    char *file = statement(account, lines, 1);
    fgt_response_t r = post_statement(file);
    fgt_expect(r, 201, NULL);
    fgt_response_free(&r);
    wait_decided(account);
    ck_assert_str_eq(state_of(account, ref), "matched");
    ck_assert_str_eq(order_status(&o), "paid");
    long long sepay_id = 920000000 + fgt_db_int("SELECT COUNT(*) FROM payments", NULL, NULL);
    ck_assert_int_eq(feed(sepay_id, account, ref, 3000000, o.code), 200);
    ck_assert_int_eq(payments_of(&o), 1);
    ck_assert_int_eq(fgt_db_int("SELECT COUNT(*) FROM journals j JOIN payments p ON p.id = j.payment_id JOIN orders "
                                "x ON x.id = p.order_id WHERE x.public_id = ?",
                                o.id, NULL),
                     1);
    free(file);
    ck_assert_int_eq(fgt_ledger_check(), 0);
}
END_TEST

/* One transfer, its account spelt one way by the feed and another by the
 * statement: one record of it, one payment.  Were the spellings two keys,
 * the statement line would not find the feed's record and would pay the
 * order again (or, paid already, hold the money as unapplied). */
START_TEST(one_account_however_spelt)
{
    char account[40], feed_spelling[48], statement_spelling[48], ref[40], memo[120], body[256];
    snprintf(account, sizeof(account), "%s", fgt_account("VCB"));
    snprintf(feed_spelling, sizeof(feed_spelling), "%.3s-%s", account, account + 3);
    for (char *p = feed_spelling; *p != '\0'; p++)
        *p = (char)(*p >= 'A' && *p <= 'Z' ? *p - 'A' + 'a' : *p);
    snprintf(statement_spelling, sizeof(statement_spelling), "%.3s %.4s.%s", account, account + 3, account + 7);
    snprintf(ref, sizeof(ref), "FT%s", fgt_unique("o"));
    order_t o = new_order(2200000);
    snprintf(memo, sizeof(memo), "IBFT %s", o.code);
    long long sepay_id = 925000000 + fgt_db_int("SELECT COUNT(*) FROM payments", NULL, NULL);
    ck_assert_int_eq(feed(sepay_id, feed_spelling, ref, 2200000, o.code), 200);
    ck_assert_str_eq(order_status(&o), "paid");
    ck_assert_int_eq(fgt_db_int("SELECT COUNT(*) FROM bank_transfers WHERE account = ? AND bank_ref = ?", account, ref),
                     1);

    line_t lines[] = {{ref, memo, 2200000}};
    char *file = statement(statement_spelling, lines, 1);
    fgt_response_t r = post_statement(file);
    fgt_expect(r, 201, NULL);
    ck_assert_str_eq(fgt_json_str(&r, "account", NULL), account);
    fgt_response_free(&r);
    wait_decided(account);
    ck_assert_str_eq(state_of(account, ref), "matched");
    ck_assert_int_eq(payments_of(&o), 1);
    ck_assert_int_eq(fgt_db_int("SELECT COUNT(*) FROM bank_transfers WHERE bank_ref = ?", ref, NULL), 1);
    ck_assert_int_eq(account_balance("assets:bank_unreconciled:", account), 0);

    /* staff may name it either way too: one reconciliation of the one account */
    snprintf(body, sizeof(body), "{\"account\":\"%s\",\"from\":\"2026-12-02\",\"to\":\"2026-12-02\"}", feed_spelling);
    r = fgt_req(&srv, FGT_H2C, "POST", "/v1/reconciliations", finance, fgt_unique("rk"), body, 0, NULL);
    fgt_expect(r, 201, NULL);
    ck_assert_str_eq(fgt_json_str(&r, "account", NULL), account);
    fgt_response_free(&r);
    /* and one that is no account number is told so */
    r = fgt_req(&srv, FGT_H2C, "POST", "/v1/reconciliations", finance, fgt_unique("rk"),
                "{\"account\":\"VCB/0011\",\"from\":\"2026-12-02\",\"to\":\"2026-12-02\"}", 0, NULL);
    fgt_expect(r, 422, "invalid_account");
    fgt_response_free(&r);
    /* a period's day left out or of the wrong type is the request's shape (400); one that is no date, 422 */
    static const struct {
        const char *body;
        long status;
        const char *code, *field;
    } BAD[] = {
        {"{\"account\":\"0011\",\"from\":\"2026-12-02\"}", 400, "missing_field", "to"},
        {"{\"account\":\"0011\",\"to\":\"2026-12-02\"}", 400, "missing_field", "from"},
        {"{\"account\":\"0011\",\"from\":20261202,\"to\":\"2026-12-02\"}", 400, "invalid_type", "from"},
        {"{\"account\":\"0011\",\"from\":\"2026-12-02\",\"to\":\"2026-02-30\"}", 422, "invalid_date", "to"},
        {"{\"account\":\"0011\",\"from\":\"\",\"to\":\"2026-12-02\"}", 422, "invalid_date", "from"},
        {"{\"account\":\"0011\",\"from\":\"2026-12-02T00:00:00Z\",\"to\":\"2026-12-02\"}", 422, "invalid_date", "from"},
    };
    for (size_t i = 0; i < sizeof(BAD) / sizeof(BAD[0]); i++) {
        r = fgt_req(&srv, FGT_H2C, "POST", "/v1/reconciliations", finance, fgt_unique("rk"), BAD[i].body, 0, NULL);
        fgt_expect(r, BAD[i].status, BAD[i].code);
        ck_assert_str_eq(fgt_json_str(&r, "error", "field", NULL), BAD[i].field);
        fgt_response_free(&r);
    }
    free(file);
    ck_assert_int_eq(fgt_ledger_check(), 0);
}
END_TEST

/* A transfer the feed applied on a day that is closed already (closed by an
 * earlier reconciliation of the account) is ledger_only on the first open
 * day, as a late statement line is: a closed day's items stay final, and the
 * ledger check stays green. */
START_TEST(a_closed_days_late_transfer_is_ledger_only_on_the_next_open_day)
{
    char account[40], ref[40], body[256], day_text[48];
    snprintf(account, sizeof(account), "%s", fgt_account("VCBL"));
    snprintf(ref, sizeof(ref), "FT%s", fgt_unique("l"));
    order_t o = new_order(700000);
    long long sepay_id = 930000000 + fgt_db_int("SELECT COUNT(*) FROM payments", NULL, NULL);
    ck_assert_int_eq(feed(sepay_id, account, ref, 700000, o.code), 200);
    ck_assert_str_eq(order_status(&o), "paid");
    long long day = fgt_db_int("SELECT DATE_FORMAT(DATE_ADD('1970-01-01', INTERVAL ((created_at + 25200000) DIV "
                               "86400000) DAY), '%Y%m%d') + 0 FROM bank_transfers WHERE account = ? AND bank_ref = ?",
                               account, ref);
    ck_assert_int_gt(day, 20260000);
    char sql[256];
    snprintf(sql, sizeof(sql),
             "INSERT INTO recon_closed_days (account, day, reconciliation_id, closed_by, closed_at) "
             "VALUES (?, %lld, 0, 'an earlier reconciliation', 0)",
             day);
    fgt_db_exec(sql, account);
    snprintf(day_text, sizeof(day_text), "%04lld-%02lld-%02lld", day / 10000, day / 100 % 100, day % 100);
    snprintf(body, sizeof(body), "{\"account\":\"%s\",\"from\":\"%s\",\"to\":\"%s\"}", account, day_text, day_text);
    fgt_response_t r = fgt_req(&srv, FGT_H2C, "POST", "/v1/reconciliations", finance, NULL, body, 0, NULL);
    fgt_expect(r, 201, NULL);
    fgt_response_free(&r);
    ck_assert_int_eq(fgt_db_int("SELECT COUNT(*) FROM recon_items WHERE account = ? AND transfer_ref = ? AND "
                                "state = 'ledger_only'",
                                account, ref),
                     1);
    ck_assert_int_gt(fgt_db_int("SELECT business_day FROM recon_items WHERE account = ? AND transfer_ref = ?", account,
                                ref),
                     day);
    ck_assert_int_eq(fgt_ledger_check(), 0);
}
END_TEST

/* A transfer going out of the account (a payout to a merchant) that the
 * feed reports credits nothing, and is not money in transit: no ledger_only
 * item for staff to clear before the period closes. */
START_TEST(an_outgoing_transfer_is_no_money_in_transit)
{
    char account[40], ref[40], body[256], today[16];
    snprintf(account, sizeof(account), "%s", fgt_account("VCBO"));
    snprintf(ref, sizeof(ref), "FT%s", fgt_unique("o"));
    long long sepay_id = 940000000 + fgt_db_int("SELECT COUNT(*) FROM payments", NULL, NULL);
    ck_assert_int_eq(feed_of("out", sepay_id, account, ref, 2500000, "CHI TRA TRUONG TIEU HOC A"), 200);
    ck_assert_int_eq(fgt_db_int("SELECT COUNT(*) FROM bank_transfers WHERE account = ? AND bank_ref = ?", account, ref),
                     0);
    business_day(0, today);
    snprintf(body, sizeof(body), "{\"account\":\"%s\",\"from\":\"%s\",\"to\":\"%s\"}", account, today, today);
    fgt_response_t r = fgt_req(&srv, FGT_H2C, "POST", "/v1/reconciliations", finance, NULL, body, 0, NULL);
    fgt_expect(r, 201, NULL);
    fgt_response_free(&r);
    ck_assert_int_eq(fgt_db_int("SELECT COUNT(*) FROM recon_items WHERE account = ?", account, NULL), 0);
    ck_assert_int_eq(fgt_ledger_check(), 0);
}
END_TEST

/* A transfer the feed applied that no statement showed, written off by staff
 * as ledger_only: when a later statement shows its line after all, the
 * write-off is reversed (by the statement, audited) and the line matched, so
 * the clearing account is cleared once, not twice. */
START_TEST(a_late_line_reverses_the_write_off_of_its_transfer)
{
    char account[40], ref[40], body[256], today[16], yesterday[16], id[64], rpath[200], item_text[24], sql[160];
    static const char CLEARING[] = "SELECT COALESCE(SUM(e.amount), 0) FROM ledger_entries e JOIN ledger_accounts a ON "
                                   "a.id = e.account_id WHERE a.code = 'assets:clearing:vietqr'";
    snprintf(account, sizeof(account), "%s", fgt_account("VCBW"));
    snprintf(ref, sizeof(ref), "FT%s", fgt_unique("w"));
    business_day(0, today);
    business_day(1, yesterday);
    long long clearing = fgt_db_int(CLEARING, NULL, NULL);
    order_t o = new_order(640000);
    long long sepay_id = 950000000 + fgt_db_int("SELECT COUNT(*) FROM payments", NULL, NULL);
    ck_assert_int_eq(feed(sepay_id, account, ref, 640000, o.code), 200);
    ck_assert_int_eq(fgt_db_int(CLEARING, NULL, NULL), clearing + 640000);

    /* no statement shows it: ledger_only (recon.ledger_only_after_days 0), written off */
    snprintf(body, sizeof(body), "{\"account\":\"%s\",\"from\":\"%s\",\"to\":\"%s\"}", account, today, today);
    fgt_response_t r = fgt_req(&srv, FGT_H2C, "POST", "/v1/reconciliations", finance, NULL, body, 0, NULL);
    fgt_expect(r, 201, NULL);
    snprintf(id, sizeof(id), "%s", fgt_json_str(&r, "id", NULL));
    fgt_response_free(&r);
    long long item = fgt_db_int("SELECT id FROM recon_items WHERE account = ? AND transfer_ref = ? AND state = "
                                "'ledger_only'",
                                account, ref);
    ck_assert_int_gt(item, 0);
    snprintf(item_text, sizeof(item_text), "%lld", item);
    snprintf(rpath, sizeof(rpath), "/v1/reconciliations/%s/items/%lld/resolve", id, item);
    r = fgt_req(&srv, FGT_H2C, "POST", rpath, finance, NULL,
                "{\"action\":\"write_off\",\"note\":\"the bank never showed this transfer\"}", 0, NULL);
    fgt_expect(r, 200, NULL);
    fgt_response_free(&r);
    long long write_off = fgt_db_int("SELECT resolution_journal_id FROM recon_items WHERE id = ?", item_text, NULL);
    ck_assert_int_gt(write_off, 0);
    ck_assert_int_eq(fgt_db_int(CLEARING, NULL, NULL), clearing);

    /* the bank's statement shows the line after all */
    line_t lines[] = {{ref, "CK hoc phi", 640000}};
    char *file = statement_on(account, today, yesterday, 500000000, lines, 1);
    r = post_statement(file);
    fgt_expect(r, 201, NULL);
    fgt_response_free(&r);
    wait_decided(account);
    ck_assert_int_eq(fgt_db_int("SELECT COUNT(*) FROM recon_items WHERE id = ? AND state = 'matched' AND resolution IS "
                                "NULL AND resolution_journal_id IS NULL",
                                item_text, NULL),
                     1);
    snprintf(sql, sizeof(sql), "SELECT COUNT(*) FROM journals WHERE kind = 'reversal' AND reverses_id = %lld",
             write_off);
    ck_assert_int_eq(fgt_db_int(sql, NULL, NULL), 1);
    snprintf(sql, sizeof(sql), "item:%lld", item);
    ck_assert_int_eq(fgt_db_int("SELECT COUNT(*) FROM audit_log WHERE actor = 'system:statement' AND action = "
                                "'reconciliation_item.undo' AND object = ?",
                                sql, NULL),
                     1);
    /* the transfer's money went through clearing once: in with the payment, out with the line */
    ck_assert_int_eq(fgt_db_int(CLEARING, NULL, NULL), clearing);
    free(file);
    ck_assert_int_eq(fgt_ledger_check(), 0);
}
END_TEST

/* A feed transfer without the bank's reference is recorded under its SePay
 * id, so that no statement line showing it, it comes up as ledger_only for
 * staff rather than sitting unseen in clearing. */
START_TEST(a_feed_transfer_without_a_reference_is_still_reconciled)
{
    char account[40], body[256], today[16], ref[48];
    snprintf(account, sizeof(account), "%s", fgt_account("VCBN"));
    order_t o = new_order(330000);
    long long sepay_id = 960000000 + fgt_db_int("SELECT COUNT(*) FROM payments", NULL, NULL);
    ck_assert_int_eq(feed(sepay_id, account, "", 330000, o.code), 200);
    ck_assert_str_eq(order_status(&o), "paid");
    snprintf(ref, sizeof(ref), "SEPAY-%lld", sepay_id);
    ck_assert_int_eq(fgt_db_int("SELECT COUNT(*) FROM bank_transfers WHERE account = ? AND bank_ref = ? AND "
                                "payment_id IS NOT NULL",
                                account, ref),
                     1);
    business_day(0, today);
    snprintf(body, sizeof(body), "{\"account\":\"%s\",\"from\":\"%s\",\"to\":\"%s\"}", account, today, today);
    fgt_response_t r = fgt_req(&srv, FGT_H2C, "POST", "/v1/reconciliations", finance, NULL, body, 0, NULL);
    fgt_expect(r, 201, NULL);
    fgt_response_free(&r);
    ck_assert_int_eq(fgt_db_int("SELECT COUNT(*) FROM recon_items WHERE account = ? AND transfer_ref = ? AND state = "
                                "'ledger_only'",
                                account, ref),
                     1);
    /* the same delivery again changes nothing */
    ck_assert_int_eq(feed(sepay_id, account, "", 330000, o.code), 200);
    ck_assert_int_eq(payments_of(&o), 1);
    ck_assert_int_eq(fgt_ledger_check(), 0);
}
END_TEST

/* The `paid_out` of item in the items list of reconciliation rec: 1 true, 0 false (the field is
 * always there, a boolean). */
static int paid_out_of(const char *rec, long long item)
{
    char path[200];
    snprintf(path, sizeof(path), "/v1/reconciliations/%s/items?limit=500", rec);
    fgt_response_t r = fgt_req(&srv, FGT_H2C, "GET", path, auditor, NULL, NULL, 0, NULL);
    fgt_expect(r, 200, NULL);
    yajl_val data = fgt_json_array(&r, "data", NULL);
    int found = -1;
    for (size_t i = 0; i < data->u.array.len && found < 0; i++) {
        yajl_val it = data->u.array.values[i];
        if (YAJL_GET_INTEGER(fgt_val_at(it, "id", NULL)) != item)
            continue;
        yajl_val v = fgt_val_at(it, "paid_out", NULL);
        ck_assert_msg(v != NULL && (YAJL_IS_TRUE(v) || YAJL_IS_FALSE(v)), "item %lld has no boolean paid_out", item);
        found = YAJL_IS_TRUE(v);
    }
    fgt_response_free(&r);
    ck_assert_msg(found >= 0, "item %lld is not listed", item);
    return found;
}

/* The row of item on the staff page of reconciliation rec, as finance sees it, into out. */
static void page_row(const char *rec, long long item, char *out, size_t cap)
{
    static char session[200];
    if (session[0] == '\0') {
        char email[128];
        user_create("finance", NULL, email);
        fgt_response_t login = login_on(&srv, FGT_HTTP1, email, PASSWORD, session, sizeof(session));
        ck_assert_int_eq(login.status, 303);
        fgt_response_free(&login);
    }
    char path[200], start[64];
    snprintf(path, sizeof(path), "/staff/reconciliations/%s", rec);
    fgt_response_t r = get(&srv, FGT_HTTP1, session, path);
    ck_assert_int_eq(r.status, 200);
    snprintf(start, sizeof(start), "<tr data-item=\"%lld\"", item);
    const char *row = strstr(r.body, start);
    ck_assert_msg(row != NULL, "item %lld is not on the page", item);
    const char *end = strstr(row, "</tr>");
    ck_assert_ptr_nonnull(end);
    snprintf(out, cap, "%.*s", (int)(end - row), row);
    fgt_response_free(&r);
}

START_TEST(a_line_listed_twice_is_a_duplicate)
{
    char account[40], ref[40];
    snprintf(account, sizeof(account), "%s", fgt_account("VCBD"));
    snprintf(ref, sizeof(ref), "FT%s", fgt_unique("d"));
    /* the bank lists one transfer twice (and its closing counts both) */
    line_t lines[] = {{ref, "CHUYEN TIEN", 70001}, {ref, "CHUYEN TIEN", 70001}};
    char *file = statement(account, lines, 2);
    fgt_response_t r = post_statement(file);
    fgt_expect(r, 201, NULL);
    ck_assert_int_eq(fgt_json_int(&r, "new_lines", NULL), 2);
    fgt_response_free(&r);
    wait_decided(account);
    ck_assert_int_eq(fgt_db_int("SELECT COUNT(*) FROM recon_items WHERE account = ? AND state = 'duplicate'", account,
                                NULL),
                     1);
    ck_assert_int_eq(fgt_db_int("SELECT COUNT(*) FROM recon_items WHERE account = ? AND state = 'bank_only'", account,
                                NULL),
                     1);
    /* the same file again adds nothing */
    r = post_statement(file);
    fgt_expect(r, 200, NULL);
    fgt_response_free(&r);
    ck_assert_int_eq(fgt_db_int("SELECT COUNT(*) FROM statement_lines WHERE account = ?", account, NULL), 2);
    /* the money that is not ours goes back to the payer: owed to them until it leaves */
    char body[200], id[64], path[200];
    snprintf(body, sizeof(body), "{\"account\":\"%s\",\"from\":\"2026-12-02\",\"to\":\"2026-12-02\"}", account);
    r = fgt_req(&srv, FGT_H2C, "POST", "/v1/reconciliations", finance, NULL, body, 0, NULL);
    fgt_expect(r, 201, NULL);
    snprintf(id, sizeof(id), "%s", fgt_json_str(&r, "id", NULL));
    fgt_response_free(&r);
    wait_decided(account);
    long long item = fgt_db_int("SELECT id FROM recon_items WHERE account = ? AND state = 'bank_only'", account, NULL);
    snprintf(path, sizeof(path), "/v1/reconciliations/%s/items/%lld/resolve", id, item);
    long long owed = fgt_db_int("SELECT COUNT(*) FROM journals WHERE kind = 'payer_refund'", NULL, NULL);
    r = fgt_req(&srv, FGT_H2C, "POST", path, finance, NULL,
                "{\"action\":\"refund\",\"note\":\"sent to us by mistake; the payer asked for it back\"}", 0, NULL);
    fgt_expect(r, 200, NULL);
    ck_assert_str_eq(fgt_json_str(&r, "resolution", NULL), "refund");
    fgt_response_free(&r);
    ck_assert_int_eq(fgt_db_int("SELECT COUNT(*) FROM journals WHERE kind = 'payer_refund'", NULL, NULL), owed + 1);
    /* owed to the payer, not yet sent: the item says so, and its page offers undo */
    char row[8192];
    ck_assert_int_eq(paid_out_of(id, item), 0);
    page_row(id, item, row, sizeof(row));
    ck_assert_ptr_nonnull(strstr(row, "<option value=\"undo\">"));
    ck_assert_ptr_null(strstr(row, "data-undo=\"unsupported\""));
    /* the next day the money leaves, its memo naming the line that brought it */
    char ref_out[40], memo_out[120];
    snprintf(ref_out, sizeof(ref_out), "FT%s", fgt_unique("o"));
    snprintf(memo_out, sizeof(memo_out), "HOAN TIEN CHUYEN NHAM %s", ref);
    line_t out_lines[] = {{ref_out, memo_out, -70001}};
    char *next = statement_on(account, "2026-12-03", "2026-12-02", 500000000 + 2 * 70001, out_lines, 1);
    r = post_statement(next);
    fgt_expect(r, 201, NULL);
    fgt_response_free(&r);
    wait_decided(account);
    ck_assert_str_eq(state_of(account, ref_out), "matched");
    char item_text[24];
    snprintf(item_text, sizeof(item_text), "%lld", item);
    ck_assert_int_eq(fgt_db_int("SELECT paid_out_by FROM recon_items WHERE id = ?", item_text, NULL),
                     item_of(account, ref_out));
    /* owed no more: what the refund owed and what left sum to nothing */
    ck_assert_int_eq(fgt_db_int("SELECT COALESCE(SUM(e.amount), 0) FROM ledger_entries e JOIN ledger_accounts a ON "
                                "a.id = e.account_id JOIN recon_items i ON e.journal_id IN (i.resolution_journal_id, "
                                "i.journal_id) WHERE a.code = 'liabilities:payer_refunds' AND i.account = ?",
                                account, NULL),
                     0);
    /* and the refund is not undone once its money left: the item says it left, and its page offers
     * no undo (only a form the server would refuse) but says why */
    ck_assert_int_eq(paid_out_of(id, item), 1);
    page_row(id, item, row, sizeof(row));
    ck_assert_ptr_null(strstr(row, "value=\"undo\""));
    ck_assert_ptr_null(strstr(row, "data-form=\"resolve\""));
    ck_assert_ptr_nonnull(strstr(row, "data-undo=\"unsupported\""));
    ck_assert_ptr_nonnull(strstr(row, "data-resolution=\"refund\""));
    r = fgt_req(&srv, FGT_H2C, "POST", path, finance, NULL, "{\"action\":\"undo\",\"note\":\"x\"}", 0, NULL);
    fgt_expect(r, 422, "undo_not_supported");
    fgt_response_free(&r);
    free(next);
    free(file);
    ck_assert_int_eq(fgt_ledger_check(), 0);
}
END_TEST

START_TEST(statements_of_one_account_imported_at_once)
{
    /* two days of one account arrive at the same moment, in either order:
     * the ledger's bank account ends at the later closing, and any gap the
     * one shows before the other came is taken back */
    for (int round = 0; round < 3; round++) {
        char account[40], r1[40], r2[40], r3[40];
        snprintf(account, sizeof(account), "%s", fgt_account("VCBC"));
        snprintf(r1, sizeof(r1), "FT%s", fgt_unique("c"));
        snprintf(r2, sizeof(r2), "FT%s", fgt_unique("c"));
        snprintf(r3, sizeof(r3), "FT%s", fgt_unique("c"));
        line_t l1[] = {{r1, "CHUYEN TIEN", 100000}}, l2[] = {{r2, "CHUYEN TIEN", 200000}}, l3[] = {{r3, "PHI", -3000}};
        char *f1 = statement_on(account, "2026-12-02", "2026-12-01", 500000000, l1, 1);
        char *f2 = statement_on(account, "2026-12-03", "2026-12-02", 500100000, l2, 1);
        char *f3 = statement_on(account, "2026-12-04", "2026-12-03", 500300000, l3, 1);
        ck_assert_int_eq(import_status(f1, NULL), 201);
        char auth[200];
        snprintf(auth, sizeof(auth), "Authorization: Bearer %s", finance);
        const char *headers[] = {auth, "Content-Type: application/xml", NULL};
        fgt_request_t reqs[2] = {{"POST", "/v1/statements", headers, round % 2 ? f3 : f2, 0, NULL},
                                 {"POST", "/v1/statements", headers, round % 2 ? f2 : f3, 0, NULL}};
        fgt_response_t out[2];
        fgt_request_all(&srv, FGT_HTTP1, 2, 2, reqs, NULL, NULL, out);
        for (int i = 0; i < 2; i++) {
            fgt_expect(out[i], 201, NULL);
            fgt_response_free(&out[i]);
        }
        ck_assert_int_eq(account_balance("assets:bank:", account), 500297000);
        ck_assert_int_eq(fgt_db_int("SELECT COALESCE(SUM(amount), 0) FROM recon_items WHERE account = ? AND kind = "
                                    "'balance_gap'",
                                    account, NULL),
                         0);
        free(f1);
        free(f2);
        free(f3);
    }
    ck_assert_int_eq(fgt_ledger_check(), 0);
}
END_TEST

START_TEST(two_lines_pay_one_order_in_parts)
{
    /* an order that takes part payments: two transfers naming it, each paying
     * what it brings; a third finds nothing owed and pays nothing */
    char account[40], r1[40], r2[40], r3[40], m[80];
    snprintf(account, sizeof(account), "%s", fgt_account("VCBP"));
    snprintf(r1, sizeof(r1), "FT%s", fgt_unique("p"));
    snprintf(r2, sizeof(r2), "FT%s", fgt_unique("p"));
    snprintf(r3, sizeof(r3), "FT%s", fgt_unique("p"));
    order_t o = new_order_partial(3000000, 1);
    snprintf(m, sizeof(m), "HOC PHI DOT 1 %s", o.code);
    line_t lines[] = {{r1, m, 1000000}, {r2, m, 2000000}, {r3, m, 500000}};
    char *file = statement(account, lines, 3);
    ck_assert_int_eq(import_status(file, NULL), 201);
    wait_decided(account);
    ck_assert_str_eq(state_of(account, r1), "matched");
    ck_assert_str_eq(state_of(account, r2), "matched");
    ck_assert_str_eq(order_status(&o), "paid");
    ck_assert_int_eq(payments_of(&o), 2);
    /* the third: nothing is owed any more, never a negative residual */
    ck_assert_str_eq(state_of(account, r3), "amount_mismatch");
    free(file);
    /* the payer's receipt names the bank's reference of the line that paid, not its key */
    char receipt[64];
    snprintf(receipt, sizeof(receipt), "/pay/%s/receipt", o.code);
    fgt_response_t r = fgt_request(&srv, FGT_HTTP1, "GET", receipt, NULL, NULL, 0);
    ck_assert_int_eq(r.status, 200);
    ck_assert_ptr_nonnull(strstr(r.body, "data-provider-ref"));
    ck_assert_ptr_null(strstr(r.body, "line:"));
    ck_assert_msg(strstr(r.body, r1) != NULL || strstr(r.body, r2) != NULL, "%.3000s", r.body);
    fgt_response_free(&r);
    ck_assert_int_eq(fgt_ledger_check(), 0);
}
END_TEST

/* Rule 3 offers what orders still owe: a partly paid order owing exactly the line's amount is
 * offered; an order of that amount already paid, and one owing a dong more, are not. */
START_TEST(rule_3_offers_what_orders_still_owe)
{
    char account[40], refs[3][40], memo[80];
    snprintf(account, sizeof(account), "%s", fgt_account("VCBS"));
    for (int i = 0; i < 3; i++)
        snprintf(refs[i], sizeof(refs[i]), "FT%s", fgt_unique("s"));
    const char *ref = refs[0], *feed_p = refs[1], *feed_q = refs[2];
    /* an odd amount of this run's own, so no other suite's order owes it */
    long long owed = 7000001 + 2 * (fgt_db_int("SELECT COUNT(*) FROM orders", NULL, NULL) % 400000);
    order_t p = new_order_partial(owed + 500000, 1);
    snprintf(memo, sizeof(memo), "HOC PHI %s", p.code);
    long long base = 950000000 + fgt_db_int("SELECT COUNT(*) FROM payments", NULL, NULL);
    ck_assert_int_eq(feed(base, account, feed_p, 500000, memo), 200);
    ck_assert_str_eq(order_status(&p), "partially_paid");
    order_t q = new_order(owed), more = new_order(owed + 1);
    snprintf(memo, sizeof(memo), "HOC PHI %s", q.code);
    ck_assert_int_eq(feed(base + 1, account, feed_q, owed, memo), 200);
    ck_assert_str_eq(order_status(&q), "paid");

    /* and a gateway's payout of the same amount before its settlement file (no fee schedule
     * here): the gateway's money, never offered to a bill */
    char payout_ref[40];
    snprintf(payout_ref, sizeof(payout_ref), "FT%s", fgt_unique("v"));
    line_t lines[] = {{ref, "CHUYEN TIEN", owed}, {payout_ref, "VNPAY SETTLEMENT BATCH VNPSTL20251130 1 TXN", owed}};
    char *file = statement(account, lines, 2);
    ck_assert_int_eq(import_status(file, NULL), 201);
    wait_decided(account);
    ck_assert_str_eq(state_of(account, ref), "suggested");
    ck_assert_str_eq(state_of(account, payout_ref), "bank_only");
    ck_assert_int_eq(fgt_db_int("SELECT COUNT(*) FROM recon_links k JOIN recon_items i ON i.id = k.item_id JOIN "
                                "statement_lines l ON l.id = i.line_id WHERE l.bank_ref = ?",
                                payout_ref, NULL),
                     0);
    /* one order offered, and it is p */
    ck_assert_int_eq(fgt_db_int("SELECT COUNT(*) FROM recon_links k JOIN recon_items i ON i.id = k.item_id JOIN "
                                "statement_lines l ON l.id = i.line_id WHERE l.bank_ref = ? AND k.suggested = 1",
                                ref, NULL),
                     1);
    ck_assert_int_eq(fgt_db_int("SELECT COUNT(*) FROM recon_links k JOIN recon_items i ON i.id = k.item_id JOIN "
                                "statement_lines l ON l.id = i.line_id JOIN orders o ON o.id = k.order_id "
                                "WHERE l.bank_ref = ? AND k.suggested = 1 AND o.public_id = ?",
                                ref, p.id),
                     1);
    ck_assert_str_eq(order_status(&p), "partially_paid"); /* offered, never applied */
    ck_assert_str_eq(order_status(&more), "open");
    free(file);
}
END_TEST

/* A new order of amount the feed pays through transfer ref of account (a
 * SePay id from base up), its memo ("HOC PHI <code>", 80 bytes) into memo. */
static order_t fed_order(long long base, const char *account, const char *ref, long long amount, char *memo)
{
    order_t o = new_order(amount);
    snprintf(memo, 80, "HOC PHI %s", o.code);
    ck_assert_int_eq(feed(base + fgt_db_int("SELECT COUNT(*) FROM payments", NULL, NULL), account, ref, amount, memo),
                     200);
    return o;
}

/* Pays o through the sandbox as provider transaction txn. */
static void pay_sandbox(const order_t *o, const char *txn)
{
    char path[160], note[300], header[200], pay[64];
    snprintf(path, sizeof(path), "/v1/orders/%s/payments", o->id);
    fgt_response_t r = fgt_req(&srv, FGT_H2C, "POST", path, mer.key, NULL, "{\"method\":\"sandbox\"}", 0, NULL);
    fgt_expect(r, 201, NULL);
    snprintf(pay, sizeof(pay), "%s", fgt_json_str(&r, "id", NULL));
    fgt_response_free(&r);
    snprintf(note, sizeof(note),
             "{\"payment_id\":\"%s\",\"provider_txn_id\":\"%s\",\"status\":\"succeeded\",\"amount\":%lld}", pay, txn,
             o->amount);
    fgt_sandbox_signature(SANDBOX_SECRET, note, header, sizeof(header));
    const char *headers[] = {header, NULL};
    r = fgt_request(&srv, FGT_H2C, "POST", "/v1/webhooks/sandbox", headers, note, strlen(note));
    ck_assert_int_eq(r.status, 200);
    fgt_response_free(&r);
}

/* Rule 1 looks up the transactions of gateways whose money comes payment by
 * payment (VietQR): a VNPay transaction number (paid to the city in a
 * settlement batch) that a bank reference happens to equal is not the
 * line's money. */
START_TEST(a_gateway_transaction_number_is_no_bank_reference)
{
    char account[40], txn[40];
    snprintf(account, sizeof(account), "%s", fgt_account("VCBG"));
    snprintf(txn, sizeof(txn), "%08lld", (long long)(time(NULL) % 100000000));
    order_t paid = new_order(310000);
    pay_sandbox(&paid, txn);
    /* the payment as a VNPay one: its number is VNPay's 8 digits */
    fgt_db_exec("UPDATE payments SET adapter = 'vnpay' WHERE provider_txn_id = ?", txn);
    line_t lines[] = {{txn, "CHUYEN TIEN", 310000}};
    char *file = statement(account, lines, 1);
    ck_assert_int_eq(import_status(file, NULL), 201);
    wait_decided(account);
    ck_assert_str_ne(state_of(account, txn), "matched");
    ck_assert_int_eq(fgt_db_int("SELECT COUNT(*) FROM recon_links k JOIN payments p ON p.id = k.payment_id WHERE "
                                "p.provider_txn_id = ?",
                                txn, NULL),
                     0);
    fgt_db_exec("UPDATE payments SET adapter = 'sandbox' WHERE provider_txn_id = ?", txn);
    free(file);
}
END_TEST

/* Rule 1 gives a provider's transaction to one line: a second line naming it
 * (another bank reference, the same end-to-end id) is not its money too, and
 * the payment is cleared once. */
START_TEST(a_provider_transaction_matches_one_line_only)
{
    char account[40], ref1[40], ref2[40], txn[40];
    snprintf(account, sizeof(account), "%s", fgt_account("VCBE"));
    snprintf(ref1, sizeof(ref1), "FT%s", fgt_unique("e"));
    snprintf(ref2, sizeof(ref2), "FT%s", fgt_unique("e"));
    snprintf(txn, sizeof(txn), "TXN%s", fgt_unique("e"));
    order_t card = new_order(270000);
    pay_sandbox(&card, txn);
    line_t lines[] = {{ref1, "TT THE", 270000}, {ref2, "TT THE", 270000}};
    char *file = statement(account, lines, 2);
    /* both lines carry the transaction as their end-to-end id */
    size_t cap = strlen(file) + 256;
    char *named = malloc(cap), *out = named;
    ck_assert_ptr_nonnull(named);
    for (const char *at = file, *hit; *at != '\0'; at = hit + strlen("<TxDtls>")) {
        hit = strstr(at, "<TxDtls>");
        if (hit == NULL) {
            out += sprintf(out, "%s", at);
            break;
        }
        out += sprintf(out, "%.*s<TxDtls><Refs><EndToEndId>%s</EndToEndId></Refs>", (int)(hit - at), at, txn);
    }
    ck_assert_int_eq(import_status(named, NULL), 201);
    wait_decided(account);
    ck_assert_int_eq(fgt_db_int("SELECT COUNT(*) FROM recon_items i JOIN statement_lines l ON l.id = i.line_id WHERE "
                                "l.account = ? AND i.state = 'matched' AND i.rule = 'reference'",
                                account, NULL),
                     1);
    ck_assert_int_eq(fgt_db_int("SELECT COUNT(*) FROM recon_links k JOIN payments p ON p.id = k.payment_id WHERE "
                                "p.provider_txn_id = ? AND k.suggested = 0",
                                txn, NULL),
                     1);
    ck_assert_int_eq(payments_of(&card), 1);
    free(file);
    free(named);
    ck_assert_int_eq(fgt_ledger_check(), 0);
}
END_TEST

/* A statement's lines are decided MATCH_SET_MAX to a set
 * (services/recon/match.c): each keeps the outcome it would have alone, an
 * earlier line's payment is seen by a later line naming the same order,
 * and the sets show on /metrics, none of them failed. */
#define GROUPED_PAID 40
#define GROUPED_LINES (GROUPED_PAID + 8)
START_TEST(a_statements_lines_share_transactions_and_keep_their_own_outcomes)
{
    static const char WORKS[] = "feegate_db_group_works_total{group=\"recon.match.set\"}";
    static const char FAILED[] = "feegate_db_group_failed_total{group=\"recon.match.set\"}";
    char account[40], refs[GROUPED_LINES][40], memos[GROUPED_LINES][80];
    order_t orders[GROUPED_PAID];
    line_t lines[GROUPED_LINES];
    snprintf(account, sizeof(account), "%s", fgt_account("VCBG"));
    for (int i = 0; i < GROUPED_LINES; i++)
        snprintf(refs[i], sizeof(refs[i]), "FT%s", fgt_unique("g"));
    for (int i = 0; i < GROUPED_PAID; i++) {
        orders[i] = new_order(150000 + 1000 * i);
        snprintf(memos[i], sizeof(memos[i]), "MBVCB.%d CT tu 0351 HOC PHI %s", 4525077 + i, orders[i].code);
        lines[i] = (line_t){refs[i], memos[i], orders[i].amount};
    }
    /* the first order named again for one dong more: amount_mismatch, pays nothing */
    snprintf(memos[GROUPED_PAID], sizeof(memos[0]), "HOC PHI %s", orders[0].code);
    lines[GROUPED_PAID] = (line_t){refs[GROUPED_PAID], memos[GROUPED_PAID], orders[0].amount + 1};
    /* the second order named again, after the line that pays it: nothing owed by then */
    snprintf(memos[GROUPED_PAID + 1], sizeof(memos[0]), "HOC PHI %s", orders[1].code);
    lines[GROUPED_PAID + 1] = (line_t){refs[GROUPED_PAID + 1], memos[GROUPED_PAID + 1], orders[1].amount};
    /* a transfer the feed recorded first: matched by reference, nothing posted twice */
    order_t fed = fed_order(940000000, account, refs[GROUPED_PAID + 2], 777000, memos[GROUPED_PAID + 2]);
    lines[GROUPED_PAID + 2] = (line_t){refs[GROUPED_PAID + 2], memos[GROUPED_PAID + 2], 777000};
    /* money naming nothing, at an amount no order owes */
    lines[GROUPED_PAID + 3] = (line_t){refs[GROUPED_PAID + 3], "CHUYEN TIEN", 3};
    /* one line paying two orders */
    order_t two[2] = {new_order(210000), new_order(320000)};
    snprintf(memos[GROUPED_PAID + 4], sizeof(memos[0]), "HOC PHI 2 CON %s %s", two[0].code, two[1].code);
    lines[GROUPED_PAID + 4] = (line_t){refs[GROUPED_PAID + 4], memos[GROUPED_PAID + 4], 530000};
    /* a provider's transaction the bank shows (rule 1): matched, nothing paid again */
    order_t card = new_order(430000);
    pay_sandbox(&card, refs[GROUPED_PAID + 5]);
    lines[GROUPED_PAID + 5] = (line_t){refs[GROUPED_PAID + 5], "TT THE", 430000};
    /* the feed's transfer at another amount than the line's: amount_mismatch by reference */
    order_t short_fed = fed_order(950000000, account, refs[GROUPED_PAID + 6], 640000, memos[GROUPED_PAID + 6]);
    lines[GROUPED_PAID + 6] = (line_t){refs[GROUPED_PAID + 6], memos[GROUPED_PAID + 6], 640001};
    /* the bank's fee, a debit: decided by itself, in the same transaction */
    lines[GROUPED_PAID + 7] = (line_t){refs[GROUPED_PAID + 7], "PHI QUAN LY TAI KHOAN", -11000};
    long long works_before = fgt_metric_or_zero(&srv, WORKS), failed_before = fgt_metric_or_zero(&srv, FAILED);
    char *file = statement(account, lines, GROUPED_LINES);
    ck_assert_int_eq(import_status(file, NULL), 201);
    wait_decided(account);
    for (int i = 0; i < GROUPED_PAID; i++) {
        ck_assert_str_eq(state_of(account, refs[i]), "matched");
        ck_assert_str_eq(order_status(&orders[i]), "paid");
        ck_assert_int_eq(payments_of(&orders[i]), 1);
    }
    ck_assert_str_eq(state_of(account, refs[GROUPED_PAID]), "amount_mismatch");
    ck_assert_str_eq(state_of(account, refs[GROUPED_PAID + 1]), "amount_mismatch");
    ck_assert_str_eq(state_of(account, refs[GROUPED_PAID + 2]), "matched");
    ck_assert_int_eq(payments_of(&fed), 1);
    ck_assert_str_eq(state_of(account, refs[GROUPED_PAID + 3]), "bank_only");
    ck_assert_str_eq(state_of(account, refs[GROUPED_PAID + 4]), "matched");
    ck_assert_str_eq(order_status(&two[0]), "paid");
    ck_assert_str_eq(order_status(&two[1]), "paid");
    ck_assert_str_eq(state_of(account, refs[GROUPED_PAID + 5]), "matched");
    ck_assert_int_eq(payments_of(&card), 1);
    ck_assert_int_eq(fgt_db_int("SELECT COUNT(*) FROM recon_links k JOIN recon_items i ON i.id = k.item_id JOIN "
                                "statement_lines l ON l.id = i.line_id JOIN payments p ON p.id = k.payment_id WHERE "
                                "l.bank_ref = ? AND p.provider_txn_id = l.bank_ref AND i.rule = 'reference'",
                                refs[GROUPED_PAID + 5], NULL),
                     1);
    ck_assert_str_eq(state_of(account, refs[GROUPED_PAID + 6]), "amount_mismatch");
    ck_assert_int_eq(payments_of(&short_fed), 1);
    ck_assert_str_eq(state_of(account, refs[GROUPED_PAID + 7]), "bank_only");
    /* every line's item decided in a set (the import stored them in one, so
     * one round claimed them all; the lines naming an order another names,
     * and the debit, decided by themselves after the others, in the same
     * transaction), but the feed's transfer the import matched */
    ck_assert_int_ge(fgt_metric_or_zero(&srv, WORKS) - works_before, GROUPED_LINES - 1);
    ck_assert_int_eq(fgt_metric_or_zero(&srv, FAILED), failed_before);
    /* what the lines brought sits where it belongs: the orders' money in
     * VietQR clearing, the sandbox payment's cleared, the rest unapplied */
    ck_assert_int_eq(fgt_db_int("SELECT COUNT(*) FROM recon_items WHERE account = ? AND journal_id IS NULL AND "
                                "state = 'matched' AND rule = 'order_code'",
                                account, NULL),
                     0);
    free(file);
    ck_assert_int_eq(fgt_ledger_check(), 0);
}
END_TEST

/* A business day closes once it is over (recon.close_after_hour 24, the
 * default): a statement of it may still come, and its closing balance would
 * show the closed day a difference no one can resolve.  A day past closes. */
/* A dollar account's reconciliation names its currency, the account's (its statements'), and so
 * does each item: its states, unreconciled and unapplied are cents, not dong (before, the object
 * named none and a client could not tell). An account no statement has named is VND's. */
START_TEST(a_dollar_accounts_reconciliation_names_its_currency)
{
    char account[40], file[1024], auth[200], body[200], id[64], path[200];
    snprintf(account, sizeof(account), "%s", fgt_account("USDR"));
    snprintf(file, sizeof(file),
             "account,currency,booking_date,value_date,amount,bank_ref,end_to_end,counterparty,memo\n"
             "%s,USD,opening,2026-11-23,1000.00,,,,\n"
             "%s,USD,2026-11-24,2026-11-24,12.34,C%s,,NGUYEN VAN A,HOC PHI\n"
             "%s,USD,2026-11-24,2026-11-24,-0.50,D%s,,,PHI\n"
             "%s,USD,closing,2026-11-24,1011.84,,,,\n",
             account, account, account, account, account, account);
    snprintf(auth, sizeof(auth), "Authorization: Bearer %s", finance);
    const char *headers[] = {auth, "Content-Type: text/csv", NULL};
    fgt_response_t r = fgt_request(&srv, FGT_H2C, "POST", "/v1/statements", headers, file, 0);
    fgt_expect(r, 201, NULL);
    fgt_response_free(&r);
    wait_decided(account);
    snprintf(body, sizeof(body), "{\"account\":\"%s\",\"from\":\"2026-11-24\",\"to\":\"2026-11-24\"}", account);
    r = fgt_req(&srv, FGT_H2C, "POST", "/v1/reconciliations", finance, NULL, body, 0, NULL);
    fgt_expect(r, 201, NULL);
    ck_assert_str_eq(fgt_json_str(&r, "currency", NULL), "USD");
    snprintf(id, sizeof(id), "%s", fgt_json_str(&r, "id", NULL));
    fgt_response_free(&r);
    wait_decided(account);
    snprintf(path, sizeof(path), "/v1/reconciliations/%s", id);
    r = fgt_req(&srv, FGT_H2C, "GET", path, auditor, NULL, NULL, 0, NULL);
    fgt_expect(r, 200, NULL);
    ck_assert_str_eq(fgt_json_str(&r, "currency", NULL), "USD");
    ck_assert_int_eq(fgt_json_int(&r, "unreconciled", NULL), 1184); /* 12.34 - 0.50 USD, in cents */
    ck_assert_int_eq(fgt_json_int(&r, "bank_closing", NULL), 101184);
    fgt_response_free(&r);
    snprintf(path, sizeof(path), "/v1/reconciliations/%s/items", id);
    r = fgt_req(&srv, FGT_H2C, "GET", path, auditor, NULL, NULL, 0, NULL);
    fgt_expect(r, 200, NULL);
    yajl_val data = fgt_json_array(&r, "data", NULL);
    ck_assert_int_eq(data->u.array.len, 2);
    for (size_t i = 0; i < data->u.array.len; i++) {
        yajl_val it = data->u.array.values[i];
        yajl_val amount = fgt_val_at(it, "amount", NULL);
        ck_assert(amount != NULL && YAJL_IS_INTEGER(amount));
        ck_assert(YAJL_GET_INTEGER(amount) == 1234 || YAJL_GET_INTEGER(amount) == -50);
        ck_assert_str_eq(fgt_val_str(it, "currency", NULL), "USD");
    }
    fgt_response_free(&r);
    /* its 12.34 USD applied to a bill of đồng: refused (it would have paid 1,234 ₫), nothing resolved */
    order_t vnd = new_order_partial(5000, 1);
    char ref[64], apply[300];
    snprintf(ref, sizeof(ref), "C%s", account);
    long long credit = item_of(account, ref);
    ck_assert_int_gt(credit, 0);
    snprintf(path, sizeof(path), "/v1/reconciliations/%s/items/%lld/resolve", id, credit);
    snprintf(apply, sizeof(apply),
             "{\"action\":\"apply\",\"note\":\"hoc phi\",\"orders\":[{\"order\":\"%s\",\"amount\":1234}]}", vnd.id);
    r = fgt_req(&srv, FGT_H2C, "POST", path, finance, NULL, apply, 0, NULL);
    fgt_expect_error(r, 422, "invalid_request", "order_currency");
    fgt_response_free(&r);
    ck_assert_int_eq(fgt_db_int("SELECT amount_paid FROM orders WHERE public_id = ?", vnd.id, NULL), 0);
    char item_id[24];
    snprintf(item_id, sizeof(item_id), "%lld", credit);
    ck_assert_int_eq(fgt_db_int("SELECT resolution IS NULL FROM recon_items WHERE id = ?", item_id, NULL), 1);
    /* an account no statement has named yet: VND, the city's */
    snprintf(body, sizeof(body), "{\"account\":\"%s\",\"from\":\"2026-11-24\",\"to\":\"2026-11-24\"}",
             fgt_account("NOST"));
    r = fgt_req(&srv, FGT_H2C, "POST", "/v1/reconciliations", finance, NULL, body, 0, NULL);
    fgt_expect(r, 201, NULL);
    ck_assert_str_eq(fgt_json_str(&r, "currency", NULL), "VND");
    fgt_response_free(&r);
}
END_TEST

START_TEST(a_day_closes_once_it_is_over)
{
    static const char *const env[] = {"FEEGATE_RECON_CLOSE_AFTER_HOUR=24", NULL};
    fgt_server_t strict;
    fgt_server_start(&strict, env);
    char account[40], body[200], path[160], day[3][16];
    snprintf(account, sizeof(account), "%s", fgt_account("CLS"));
    business_day(3, day[0]);
    business_day(0, day[1]);
    business_day(-1, day[2]);
    for (int i = 0; i < 3; i++) {
        snprintf(body, sizeof(body), "{\"account\":\"%s\",\"from\":\"%s\",\"to\":\"%s\"}", account, day[0], day[i]);
        fgt_response_t r = fgt_req(&strict, FGT_H2C, "POST", "/v1/reconciliations", finance, fgt_unique("cl"), body, 0,
                                   NULL);
        fgt_expect(r, 201, NULL);
        snprintf(path, sizeof(path), "/v1/reconciliations/%s/close", fgt_json_str(&r, "id", NULL));
        fgt_response_free(&r);
        r = fgt_req(&strict, FGT_H2C, "POST", path, finance, fgt_unique("cc"), "{}", 0, NULL);
        if (i == 0) { /* three days ago: over */
            fgt_expect(r, 200, NULL);
            ck_assert_ptr_nonnull(strstr(r.body, "\"closed\":true"));
        } else { /* today, tomorrow: not over; nothing closed */
            fgt_expect(r, 409, "day_not_over");
            ck_assert_msg(strstr(fgt_json_str(&r, "error", "message", NULL), "00:00 GMT+7") != NULL, "%s", r.body);
        }
        fgt_response_free(&r);
    }
    char today_compact[16];
    snprintf(today_compact, sizeof(today_compact), "%.4s%.2s%.2s", day[1], day[1] + 5, day[1] + 8);
    ck_assert_int_eq(fgt_db_int("SELECT COUNT(*) FROM recon_closed_days WHERE account = ? AND day >= ?", account,
                                today_compact),
                     0);
    ck_assert_int_eq(fgt_server_stop(&strict), 0);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("reconcile");
    TCase *tc = tcase_create("day");
    tcase_set_timeout(tc, 180);
    tcase_add_test(tc, a_day_reconciled);
    tcase_add_test(tc, statement_first_then_the_feed);
    tcase_add_test(tc, one_account_however_spelt);
    tcase_add_test(tc, a_missing_statement_is_a_gap);
    tcase_add_test(tc, a_closed_day_never_changes_whatever_is_imported_after);
    tcase_add_test(tc, an_accounts_days_close_in_order);
    tcase_add_test(tc, a_day_that_would_close_with_a_bank_difference_is_refused);
    tcase_add_test(tc, a_late_line_of_a_day_before_the_last_closed_one_goes_to_the_open_day);
    tcase_add_test(tc, a_late_line_after_a_gap_that_explained_it_counts_once);
    tcase_add_test(tc, two_lines_pay_one_order_in_parts);
    tcase_add_test(tc, rule_3_offers_what_orders_still_owe);
    tcase_add_test(tc, a_statements_lines_share_transactions_and_keep_their_own_outcomes);
    tcase_add_test(tc, statements_of_one_account_imported_at_once);
    tcase_add_test(tc, a_line_listed_twice_is_a_duplicate);
    tcase_add_test(tc, a_closed_days_late_transfer_is_ledger_only_on_the_next_open_day);
    tcase_add_test(tc, a_late_line_reverses_the_write_off_of_its_transfer);
    tcase_add_test(tc, a_provider_transaction_matches_one_line_only);
    tcase_add_test(tc, a_gateway_transaction_number_is_no_bank_reference);
    tcase_add_test(tc, an_outgoing_transfer_is_no_money_in_transit);
    tcase_add_test(tc, a_feed_transfer_without_a_reference_is_still_reconciled);
    tcase_add_test(tc, a_day_closes_once_it_is_over);
    tcase_add_test(tc, a_dollar_accounts_reconciliation_names_its_currency);
    suite_add_tcase(s, tc);
    fgt_merchant_create("Trường THCS Đối Soát", mer.id, mer.key);
    fgt_staff_token("finance", finance);
    fgt_staff_token("auditor", auditor);
    const char *env[] = {"FEEGATE_SEPAY_API_KEY=" SEPAY_KEY,
                         "FEEGATE_SANDBOX_SECRET=" SANDBOX_SECRET,
                         "FEEGATE_RECON_LEDGER_ONLY_AFTER_DAYS=0",
                         "FEEGATE_RECON_CLOSE_AFTER_HOUR=0",
                         "FEEGATE_VIETQR_BANK_BIN=970436",
                         "FEEGATE_VIETQR_ACCOUNT_NO=0011001932418",
                         NULL};
    fgt_server_start(&srv, env);
    int rc = fgt_run(s);
    if (fgt_server_stop(&srv) != 0)
        rc = 1;
    return rc;
}
