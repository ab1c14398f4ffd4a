/*
 * payouts.c - what the city pays each merchant out of what it collected for
 * them (docs/RECONCILIATION.md, "Payouts to merchants"): payouts, their
 * batches and the bank's bulk-transfer file, and where each merchant's money
 * goes.
 *
 * Finance makes a payout against the merchant's ledger balance:
 *
 *     Dr liabilities:merchant:{id}          amount
 *     Cr liabilities:payouts_in_transit     amount
 *
 * under the merchant's row lock, so two payouts of one merchant are made one
 * after the other and never both spend the same balance.  A batch gathers the
 * pending payouts into one file for the bank; the statement line that shows
 * the money leave is matched in payouts_match.c (Dr in transit, Cr the
 * unreconciled bank account), so that in the end the ledger holds Dr
 * merchant, Cr bank.
 */
#include "recon/recon_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/banks.h"
#include "core/csvw.h"
#include "core/money.h"
#include "core/text.h"
#include "ledger/ledger.h"
#include "staff/staff.h"

static const char *const STATUSES[FG_PAYOUT_STATUS_COUNT] = {"pending", "batched", "paid"};
#define PAYOUT_STATUS_SQL(column) "(FIELD(" column ", 'pending', 'batched', 'paid') - 1)"

const char *fg_payout_status_name(fg_payout_status_t s)
{
    return (unsigned)s < FG_PAYOUT_STATUS_COUNT ? STATUSES[s] : "?";
}

int fg_payout_status_parse(const char *text, size_t len, fg_payout_status_t *out)
{
    for (int i = 0; i < FG_PAYOUT_STATUS_COUNT; i++)
        if (strlen(STATUSES[i]) == len && memcmp(STATUSES[i], text, len) == 0) {
            *out = (fg_payout_status_t)i;
            return 0;
        }
    return FG_EINVALID;
}

static int is_digit(char c) { return c >= '0' && c <= '9'; }
static int is_alnum(char c) { return is_digit(c) || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'); }

/* ---- payout accounts --------------------------------------------------------------- */

const char *fg_payout_bank_name(const char *bank_bin)
{
    const fg_bank_t *bank = fg_bank_find(bank_bin);
    return bank != NULL ? bank->short_name : NULL;
}

int fg_payout_account_check(const fg_payout_account_t *a, const char **field)
{
    size_t n;
    *field = "bank_bin";
    if (a->bank_bin == NULL || strlen(a->bank_bin) != FG_PAYOUT_BANK_BIN_LEN ||
        strspn(a->bank_bin, "0123456789") != FG_PAYOUT_BANK_BIN_LEN)
        return FG_EINVALID;
    if (fg_bank_find(a->bank_bin) == NULL) /* no member of NAPAS: the transfer would come back */
        return FG_ENOTFOUND;
    *field = "account_number";
    if (a->account_no == NULL || (n = strlen(a->account_no)) == 0 || n > FG_PAYOUT_ACCOUNT_NO_MAX)
        return FG_EINVALID;
    for (size_t i = 0; i < n; i++)
        if (!is_alnum(a->account_no[i]))
            return FG_EINVALID;
    *field = "account_name";
    if (a->account_name == NULL || (n = strlen(a->account_name)) == 0 || !fg_utf8_valid(a->account_name, n) ||
        fg_utf8_length(a->account_name, n) > FG_PAYOUT_ACCOUNT_NAME_MAX || a->account_name[0] == ' ' ||
        a->account_name[n - 1] == ' ')
        return FG_EINVALID;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)a->account_name[i] < 0x20 || a->account_name[i] == 0x7f)
            return FG_EINVALID;
    *field = NULL;
    return 0;
}

/* {"bank_bin","bank_name","account_number","account_name"}, or null when
 * the merchant has none. */
static void account_json(fg_buf_t *b, const char *bin, const char *number, const char *name)
{
    if (bin == NULL || bin[0] == '\0') {
        fg_buf_puts(b, "null");
        return;
    }
    fg_buf_putc(b, '{');
    fg_json_kv_str(b, 0, "bank_bin", bin);
    fg_json_kv_str(b, 1, "bank_name", fg_payout_bank_name(bin));
    fg_json_kv_str(b, 1, "account_number", number);
    fg_json_kv_str(b, 1, "account_name", name);
    fg_buf_putc(b, '}');
}

/* The merchant's row, locked: every payout and account change of one
 * merchant goes through it. */
static const char SQL_MERCHANT_LOCK[] =
    "SELECT id, COALESCE(payout_bank_bin, ''), COALESCE(payout_account_no, ''), COALESCE(payout_account_name, '') "
    "FROM merchants WHERE public_id = ? FOR UPDATE";
/* Written by every payout (schema/0034): on a cluster the lock above is one
 * node's, and the balance check rests on a row both racers write. */
static const char SQL_PAYOUT_COUNT[] = "UPDATE merchants SET payouts_made = payouts_made + 1 WHERE id = ?";
static const char SQL_ACCOUNT_SET[] =
    "UPDATE merchants SET payout_bank_bin = ?, payout_account_no = ?, payout_account_name = ? WHERE id = ?";

typedef struct {
    int64_t id;
    fg_buf_t bin, number, name;
} merchant_t;

static void merchant_free(merchant_t *m)
{
    fg_buf_free(&m->bin);
    fg_buf_free(&m->number);
    fg_buf_free(&m->name);
}

static const char *text_of(const fg_buf_t *b) { return b->data != NULL ? b->data : ""; }

static int merchant_lock(fg_db_t *db, const char *public_id, merchant_t *m)
{
    fg_stmt_t s;
    int rc = fg_stmt_init(&s, db, SQL_MERCHANT_LOCK);
    if (rc != 0)
        return rc;
    fg_stmt_cstr(&s, public_id);
    fg_stmt_out_int(&s, &m->id, NULL);
    fg_stmt_out_text(&s, &m->bin, NULL);
    fg_stmt_out_text(&s, &m->number, NULL);
    fg_stmt_out_text(&s, &m->name, NULL);
    return fg_stmt_one(&s);
}

int fg_payout_account_set(fg_db_t *db, const char *merchant_id, const fg_payout_account_t *a, const char *actor,
                          fg_buf_t *json)
{
    merchant_t m = {0};
    fg_buf_t before = FG_BUF_INIT, after = FG_BUF_INIT;
    fg_stmt_t s;
    const char *field;
    int rc = fg_payout_account_check(a, &field) != 0 ? FG_EINVALID : 0; /* not a missing merchant */
    if (rc != 0 || (rc = merchant_lock(db, merchant_id, &m)) != 0 || (rc = fg_stmt_init(&s, db, SQL_ACCOUNT_SET)) != 0)
        goto Exit;
    fg_stmt_cstr(&s, a->bank_bin);
    fg_stmt_cstr(&s, a->account_no);
    fg_stmt_cstr(&s, a->account_name);
    fg_stmt_int(&s, m.id);
    if ((rc = fg_stmt_exec(&s)) != 0)
        goto Exit;
    account_json(&before, text_of(&m.bin), text_of(&m.number), text_of(&m.name));
    fg_buf_putc(&after, '{');
    fg_json_kv_str(&after, 0, "merchant_id", merchant_id);
    fg_json_key(&after, 1, "payout_account");
    account_json(&after, a->bank_bin, a->account_no, a->account_name);
    fg_buf_putc(&after, '}');
    if ((rc = fg_audit_log(db, actor, "merchant.payout_account.set", merchant_id, before.data, after.data)) != 0)
        goto Exit;
    if (json != NULL)
        fg_buf_append(json, after.data, after.len);
Exit:
    merchant_free(&m);
    fg_buf_free(&before);
    fg_buf_free(&after);
    return rc;
}

/* ---- the command line ---------------------------------------------------------------- */

typedef struct {
    const char *merchant;
    fg_payout_account_t account;
    fg_buf_t json;
} cli_set_t;

static int cli_set_tx(fg_db_t *db, void *arg)
{
    cli_set_t *c = arg;
    fg_buf_reset(&c->json);
    return fg_payout_account_set(db, c->merchant, &c->account, "cli", &c->json);
}

/* Reads --bin, --account and --name from argv[5..] into c.  0, or -1 after
 * naming an argument that is unknown, repeated or without its value: a
 * misspelt flag would otherwise be passed over. */
static int cli_options(int argc, char **argv, cli_set_t *c)
{
    static const char *const NAMES[] = {"--bin", "--account", "--name"};
    const char **values[] = {&c->account.bank_bin, &c->account.account_no, &c->account.account_name};
    for (int i = 5; i < argc; i += 2) {
        int k = 0;
        while (k < 3 && strcmp(argv[i], NAMES[k]) != 0)
            k++;
        if (k == 3 || *values[k] != NULL || i + 1 >= argc) {
            fprintf(stderr, "feegate: %s argument \"%.100s\"\n",
                    k == 3               ? "unknown"
                    : *values[k] != NULL ? "repeated"
                                         : "missing value for",
                    argv[i]);
            return -1;
        }
        *values[k] = argv[i + 1];
    }
    return 0;
}

int fg_payout_cli_set_account(const fg_config_t *cfg, int argc, char **argv)
{
    char err[512];
    const char *field;
    fg_db_t *db = NULL;
    cli_set_t c = {.merchant = argc > 4 ? argv[4] : NULL, .json = FG_BUF_INIT};
    if (c.merchant == NULL || c.merchant[0] == '-' || cli_options(argc, argv, &c) != 0 || c.account.bank_bin == NULL ||
        c.account.account_no == NULL || c.account.account_name == NULL) {
        fprintf(stderr, "feegate: admin merchant set-payout-account needs MERCHANT --bin BIN --account NUMBER "
                        "--name NAME\n");
        return 2;
    }
    int checked = fg_payout_account_check(&c.account, &field);
    if (checked == FG_ENOTFOUND) {
        fprintf(stderr, "feegate: --bin %s is no NAPAS member bank feegate knows (the BIN VietQR gives the bank)\n",
                c.account.bank_bin);
        return 2;
    }
    if (checked != 0) {
        const char *flag = strcmp(field, "bank_bin") == 0         ? "--bin"
                           : strcmp(field, "account_number") == 0 ? "--account"
                                                                  : "--name";
        fprintf(stderr,
                "feegate: %s is invalid: --bin is 6 digits, --account 1 to %d letters and digits, --name 1 to %d "
                "characters without control characters or spaces at either end\n",
                flag, FG_PAYOUT_ACCOUNT_NO_MAX, FG_PAYOUT_ACCOUNT_NAME_MAX);
        return 2;
    }
    if (fg_db_open(&db, cfg, err, sizeof(err)) != 0) {
        fprintf(stderr, "feegate: %s\n", err);
        return 1;
    }
    int rc = fg_db_tx(db, cli_set_tx, &c);
    if (rc == 0)
        printf("%s\n", c.json.data);
    else if (rc == FG_ENOTFOUND)
        fprintf(stderr, "feegate: no merchant %s\n", c.merchant);
    else
        fprintf(stderr, "feegate: cannot set the payout account: %s (%s)\n", fg_strerror(rc), fg_db_error(db));
    fg_buf_free(&c.json);
    fg_db_close(db);
    return rc == 0 ? 0 : 1;
}

/* ---- the request ------------------------------------------------------------------------ */

static const char *const INPUT_FIELDS[] = {"merchant_id", "amount", "reference", "currency"};

/* amount: an integer of minor units, 1..10^15 (as an order's). */
static int parse_amount(yajl_val v, int64_t *out, fg_field_error_t *err)
{
    if (v == NULL || YAJL_IS_NULL(v))
        return fg_field_fail(err, FG_FIELD_MALFORMED, "missing_field", "amount", "amount is required");
    const char *raw = YAJL_IS_NUMBER(v) ? v->u.number.r : NULL;
    const char *digits = raw != NULL && raw[0] == '-' ? raw + 1 : raw;
    if (digits == NULL || digits[0] == '\0' || strspn(digits, "0123456789") != strlen(digits))
        return fg_field_fail(err, FG_FIELD_MALFORMED, "invalid_type", "amount",
                             "amount must be an integer number of minor units");
    if (!YAJL_IS_INTEGER(v) || YAJL_GET_INTEGER(v) > FG_AMOUNT_MAX) /* digits beyond int64 too */
        return fg_field_fail(err, FG_FIELD_UNACCEPTABLE, "amount_too_large", "amount", "amount must be at most %lld",
                             FG_AMOUNT_MAX);
    if (YAJL_GET_INTEGER(v) < FG_AMOUNT_MIN)
        return fg_field_fail(err, FG_FIELD_UNACCEPTABLE, "amount_invalid", "amount",
                             "amount must be a positive integer");
    *out = YAJL_GET_INTEGER(v);
    return 0;
}

int fg_payout_reference_ok(const char *reference, size_t len)
{
    char key[FG_PAYOUT_MATCH_KEY_MAX + 1];
    return fg_printable_ascii(reference, len, FG_PAYOUT_REFERENCE_MAX) && fg_payout_match_key(reference, len, key) > 0;
}

int fg_payout_input_parse(yajl_val root, fg_payout_input_t *in, fg_field_error_t *err)
{
    const char *currency = NULL;
    memset(in, 0, sizeof(*in));
    for (size_t i = 0; i < root->u.object.len; i++) {
        size_t k = 0;
        while (k < sizeof(INPUT_FIELDS) / sizeof(INPUT_FIELDS[0]) && strcmp(INPUT_FIELDS[k], root->u.object.keys[i]))
            k++;
        if (k == sizeof(INPUT_FIELDS) / sizeof(INPUT_FIELDS[0]))
            return fg_field_fail(err, FG_FIELD_MALFORMED, "unknown_field", root->u.object.keys[i],
                                 "unknown field; a payout has merchant_id, amount, reference and currency");
    }
    /* a longer id names no merchant: looked up all the same, answered 404 */
    if (fg_json_required_string(fg_json_member(root, "merchant_id"), "merchant_id", 255, &in->merchant_id, err) != 0 ||
        parse_amount(fg_json_member(root, "amount"), &in->amount, err) != 0 ||
        fg_json_required_string(fg_json_member(root, "reference"), "reference", FG_PAYOUT_REFERENCE_MAX, &in->reference,
                                err) != 0 ||
        fg_json_string(fg_json_member(root, "currency"), "currency", 3, 0, &currency, err) != 0)
        return -1;
    if (!fg_payout_reference_ok(in->reference, strlen(in->reference)))
        return fg_field_fail(err, FG_FIELD_UNACCEPTABLE, "invalid_reference", "reference",
                             "reference must be 1 to %d printable ASCII characters, with a letter or digit",
                             FG_PAYOUT_REFERENCE_MAX);
    if (currency != NULL && strcmp(currency, FG_PAYOUT_CURRENCY) != 0)
        return fg_field_fail(err, FG_FIELD_UNACCEPTABLE, "currency_not_supported", "currency",
                             "payouts are made in " FG_PAYOUT_CURRENCY " only");
    return 0;
}

/* ---- reading payouts ------------------------------------------------------------------- */

/* clang-format off */
#define PAYOUT_SELECT                                                                                                  \
    "SELECT p.id, p.public_id, m.public_id, p.currency, p.reference, p.bank_bin, p.account_no, p.account_name, "        \
    "b.public_id, j.public_id, jp.public_id, p.created_by, " PAYOUT_STATUS_SQL("p.status") ", p.amount, "              \
    "COALESCE(p.paid_line_id, 0), COALESCE(p.paid_item_id, 0), COALESCE(p.paid_at, 0), p.created_at, p.updated_at "   \
    "FROM payouts p JOIN merchants m ON m.id = p.merchant_id LEFT JOIN payout_batches b ON b.id = p.batch_id "         \
    "LEFT JOIN journals j ON j.id = p.journal_id LEFT JOIN journals jp ON jp.id = p.paid_journal_id "
/* clang-format on */
static const char SQL_PAYOUT_BY_PUBLIC_ID[] = PAYOUT_SELECT "WHERE p.public_id = ?";
static const char SQL_PAYOUT_BY_ID[] = PAYOUT_SELECT "WHERE p.id = ?";
static const char SQL_PAYOUT_LIST[] = PAYOUT_SELECT
    "WHERE p.id < ? AND (? IS NULL OR p.merchant_id = (SELECT x.id FROM merchants x WHERE x.public_id = ?)) "
    "AND (? IS NULL OR p.batch_id = (SELECT y.id FROM payout_batches y WHERE y.public_id = ?)) "
    "AND (? IS NULL OR p.status = ?) ORDER BY p.id DESC LIMIT ?";

static void payout_bind(fg_stmt_t *s, fg_payout_t *p)
{
    fg_stmt_out_int(s, &p->id, NULL);
    fg_buf_t *texts[] = {&p->public_id,  &p->merchant_id,     &p->currency,     &p->reference,
                         &p->bank_bin,   &p->account_no,      &p->account_name, &p->batch_id,
                         &p->journal_id, &p->paid_journal_id, &p->created_by};
    for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++)
        fg_stmt_out_text(s, texts[i], NULL);
    fg_stmt_out_enum(s, &p->status, FG_PAYOUT_STATUS_COUNT);
    int64_t *ints[] = {&p->amount, &p->paid_line_id, &p->paid_item_id, &p->paid_at, &p->created_at, &p->updated_at};
    for (size_t i = 0; i < sizeof(ints) / sizeof(ints[0]); i++)
        fg_stmt_out_int(s, ints[i], NULL);
}

void fg_payout_free(fg_payout_t *p)
{
    fg_buf_t *texts[] = {&p->public_id,  &p->merchant_id,     &p->currency,     &p->reference,
                         &p->bank_bin,   &p->account_no,      &p->account_name, &p->batch_id,
                         &p->journal_id, &p->paid_journal_id, &p->created_by};
    for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++)
        fg_buf_free(texts[i]);
}

static void kv_time(fg_buf_t *b, const char *key, int64_t ms)
{
    char t[32];
    if (ms == 0) {
        fg_json_kv_null(b, 1, key);
        return;
    }
    fg_time_format_rfc3339(ms, 0, t, sizeof(t));
    fg_json_kv_str(b, 1, key, t);
}

/* An optional text (empty: null). */
static void kv_text(fg_buf_t *b, const char *key, const fg_buf_t *v)
{
    if (v->len == 0)
        fg_json_kv_null(b, 1, key);
    else
        fg_json_kv_strn(b, 1, key, v->data, v->len);
}

/* An optional row id (0: null). */
static void kv_id(fg_buf_t *b, const char *key, int64_t v)
{
    if (v == 0)
        fg_json_kv_null(b, 1, key);
    else
        fg_json_kv_int(b, 1, key, v);
}

void fg_payout_json(fg_buf_t *b, const fg_payout_t *p)
{
    fg_buf_putc(b, '{');
    fg_json_kv_strn(b, 0, "id", p->public_id.data, p->public_id.len);
    fg_json_kv_str(b, 1, "object", "payout");
    fg_json_kv_strn(b, 1, "merchant_id", p->merchant_id.data, p->merchant_id.len);
    fg_json_kv_int(b, 1, "amount", p->amount);
    fg_json_kv_strn(b, 1, "currency", p->currency.data, p->currency.len);
    fg_json_kv_strn(b, 1, "reference", p->reference.data, p->reference.len);
    fg_json_kv_str(b, 1, "status", fg_payout_status_name(p->status));
    fg_json_key(b, 1, "beneficiary");
    account_json(b, text_of(&p->bank_bin), text_of(&p->account_no), text_of(&p->account_name));
    kv_text(b, "batch_id", &p->batch_id);
    kv_text(b, "journal_id", &p->journal_id);
    kv_time(b, "paid_at", p->paid_at);
    kv_id(b, "statement_line_id", p->paid_line_id);
    kv_id(b, "reconciliation_item_id", p->paid_item_id);
    kv_text(b, "paid_journal_id", &p->paid_journal_id);
    fg_json_kv_strn(b, 1, "created_by", p->created_by.data, p->created_by.len);
    kv_time(b, "created_at", p->created_at);
    kv_time(b, "updated_at", p->updated_at);
    fg_buf_putc(b, '}');
}

static int payout_read(fg_db_t *db, const char *sql, const char *public_id, size_t len, int64_t id, fg_payout_t *out)
{
    fg_stmt_t s;
    int rc = fg_stmt_init(&s, db, sql);
    if (rc != 0)
        return rc;
    if (public_id != NULL)
        fg_stmt_str(&s, public_id, len);
    else
        fg_stmt_int(&s, id);
    payout_bind(&s, out);
    return fg_stmt_one(&s);
}

int fg_payout_get(fg_db_t *db, const char *public_id, size_t len, fg_payout_t *out)
{
    return payout_read(db, SQL_PAYOUT_BY_PUBLIC_ID, public_id, len, 0, out);
}

int fg_payout_list(fg_db_t *db, const fg_payout_query_t *q, const fg_page_t *page, fg_payout_each_fn each, void *arg,
                   int *more)
{
    fg_stmt_t s;
    fg_payout_t row = {0};
    int64_t count = 0;
    const char *status = q->has_status ? fg_payout_status_name(q->status) : NULL;
    *more = 0;
    int rc = fg_stmt_init(&s, db, SQL_PAYOUT_LIST);
    if (rc != 0)
        goto Exit;
    fg_stmt_int(&s, page->cursor != 0 ? page->cursor : INT64_MAX); /* newest first */
    fg_stmt_cstr(&s, q->merchant_id);
    fg_stmt_cstr(&s, q->merchant_id);
    fg_stmt_cstr(&s, q->batch_id);
    fg_stmt_cstr(&s, q->batch_id);
    fg_stmt_cstr(&s, status);
    fg_stmt_cstr(&s, status);
    fg_stmt_int(&s, page->limit + 1); /* one more tells whether a next page exists */
    payout_bind(&s, &row);
    if ((rc = fg_stmt_exec(&s)) != 0)
        goto Exit;
    while ((rc = fg_stmt_fetch(&s)) == 1) {
        if (count == page->limit) {
            fg_stmt_done(&s);
            break;
        }
        count++;
        each(&row, arg);
    }
    if (rc < 0)
        goto Exit;
    *more = rc == 1;
    rc = 0;
Exit:
    fg_payout_free(&row);
    return rc;
}

/* ---- making a payout --------------------------------------------------------------------- */

static const char SQL_BY_REFERENCE[] = "SELECT id, amount FROM payouts WHERE merchant_id = ? AND reference = ?";
static const char SQL_INSERT[] =
    "INSERT INTO payouts (public_id, merchant_id, amount, currency, reference, match_key, status, bank_bin, "
    "account_no, account_name, journal_id, created_by, created_at, updated_at) "
    "VALUES (?, ?, ?, ?, ?, ?, 'pending', ?, ?, ?, ?, ?, ?, ?)";

/* The merchant's ledger balance in the payout currency. */
static int ledger_balance(fg_db_t *db, const char *merchant_id, int64_t *balance)
{
    char code[FG_ACCOUNT_CODE_MAX + 1];
    fg_ledger_account_t account;
    snprintf(code, sizeof(code), "liabilities:merchant:%s", merchant_id);
    int rc = fg_ledger_account_find(db, code, FG_PAYOUT_CURRENCY, &account);
    if (rc == FG_ENOTFOUND) {
        *balance = 0; /* never paid anything */
        return 0;
    }
    if (rc != 0 || (rc = fg_ledger_account_balance(db, &account, -1)) != 0)
        return rc;
    *balance = account.balance;
    return 0;
}

/* Refunds of the merchant's payments whose outcome is not known yet: each
 * debits the merchant's account when it is made, for the part of it that
 * was applied to the order (payments/split.c: the rest comes out of
 * unapplied money).  Of one payment's, no more than it applied. */
static const char SQL_REFUNDS_PENDING[] =
    "SELECT COALESCE(SUM(x.held), 0) FROM (SELECT LEAST(SUM(r.amount), MAX(p.amount_applied)) AS held FROM refunds "
    "r FORCE INDEX (ix_refunds_pending) JOIN payments p ON p.id = r.payment_id WHERE r.status = 'pending' AND "
    "r.merchant_id = ? AND r.currency = ? GROUP BY r.payment_id) x";

/* What may be paid out to the merchant in the payout currency: its ledger
 * balance (what the city owes it, less every payout made so far, each
 * debited when made), less what its refunds still pending may take from it
 * (of each payment's, at most what the payment applied: one that applied
 * less than its refunds' sum, having refunds made already, still errs on
 * the side of paying less).  A refund takes the merchant row shared as it begins
 * (payments/refunds.c), so one begun at the same moment commits before this
 * read or waits for the payout.  On a Galera cluster that lock is the
 * node's own: a refund begun on another node at that moment can still take
 * the merchant's balance below zero, and later payouts wait until it is
 * back above their amount. */
static int merchant_balance(fg_db_t *db, int64_t merchant, const char *merchant_id, int64_t *balance)
{
    int64_t pending = 0;
    fg_stmt_t s;
    int rc = fg_stmt_init(&s, db, SQL_REFUNDS_PENDING);
    if (rc != 0)
        return rc;
    fg_stmt_int(&s, merchant);
    fg_stmt_cstr(&s, FG_PAYOUT_CURRENCY);
    fg_stmt_out_int(&s, &pending, NULL);
    if ((rc = fg_stmt_one(&s)) != 0 || (rc = ledger_balance(db, merchant_id, balance)) != 0)
        return rc;
    return __builtin_sub_overflow(*balance, pending, balance) ? FG_EOVERFLOW : 0;
}

int fg_payout_available(fg_db_t *db, uint64_t merchant, const char *merchant_id, int64_t *available)
{
    return merchant_balance(db, (int64_t)merchant, merchant_id, available);
}

/* The payout of the merchant with this reference: 1 (*id, *amount), 0 none,
 * or < 0. */
static int by_reference(fg_db_t *db, int64_t merchant, const char *reference, int64_t *id, int64_t *amount)
{
    fg_stmt_t s;
    int rc = fg_stmt_init(&s, db, SQL_BY_REFERENCE);
    if (rc != 0)
        return rc;
    fg_stmt_int(&s, merchant);
    fg_stmt_cstr(&s, reference);
    fg_stmt_out_int(&s, id, NULL);
    fg_stmt_out_int(&s, amount, NULL);
    rc = fg_stmt_one(&s);
    return rc == 0 ? 1 : rc == FG_ENOTFOUND ? 0 : rc;
}

/* Posts the payout's journal and stores it; *id is its row. */
static int payout_insert(fg_db_t *db, const fg_payout_input_t *in, const merchant_t *m, const char *actor, int64_t now,
                         int64_t *id)
{
    char public_id[FG_ID_CAP], merchant_account[FG_ACCOUNT_CODE_MAX + 1], memo[200], key[FG_PAYOUT_MATCH_KEY_MAX + 1];
    int64_t journal = 0;
    fg_stmt_t s;
    if (fg_id_new("po_", public_id, sizeof(public_id)) < 0)
        return FG_EIO;
    snprintf(merchant_account, sizeof(merchant_account), "liabilities:merchant:%s", in->merchant_id);
    snprintf(memo, sizeof(memo), "payout %s to %s: %s", public_id, in->merchant_id, in->reference);
    fg_journal_t j = {.kind = "payout", .memo = memo};
    fg_journal_add(&j, merchant_account, (uint64_t)m->id, FG_PAYOUT_CURRENCY, in->amount);
    fg_journal_add(&j, FG_PAYOUT_IN_TRANSIT_ACCOUNT, 0, FG_PAYOUT_CURRENCY, -in->amount);
    int rc = fg_ledger_post_now(db, &j, now, &journal);
    if (rc != 0 || (rc = fg_stmt_init(&s, db, SQL_INSERT)) != 0)
        return rc;
    fg_payout_match_key(in->reference, strlen(in->reference), key);
    fg_stmt_cstr(&s, public_id);
    fg_stmt_int(&s, m->id);
    fg_stmt_int(&s, in->amount);
    fg_stmt_cstr(&s, FG_PAYOUT_CURRENCY);
    fg_stmt_cstr(&s, in->reference);
    fg_stmt_cstr(&s, key);
    fg_stmt_cstr(&s, m->bin.data);
    fg_stmt_cstr(&s, m->number.data);
    fg_stmt_cstr(&s, m->name.data);
    fg_stmt_int(&s, journal);
    fg_stmt_cstr(&s, actor);
    fg_stmt_int(&s, now);
    fg_stmt_int(&s, now);
    if ((rc = fg_stmt_exec(&s)) != 0)
        return rc;
    *id = (int64_t)fg_stmt_insert_id(&s);
    return 0;
}

static int payout_audit(fg_db_t *db, const fg_payout_t *p, const char *actor, int64_t balance)
{
    fg_buf_t before = FG_BUF_INIT, after = FG_BUF_INIT;
    fg_buf_putc(&before, '{');
    fg_json_kv_strn(&before, 0, "merchant_id", p->merchant_id.data, p->merchant_id.len);
    fg_json_kv_int(&before, 1, "balance", balance);
    fg_buf_putc(&before, '}');
    fg_buf_puts(&after, "{\"payout\":");
    fg_payout_json(&after, p);
    fg_json_kv_int(&after, 1, "balance", balance - p->amount); /* amount <= balance: no overflow */
    fg_buf_putc(&after, '}');
    int rc = fg_audit_log(db, actor, "payout.create", p->public_id.data, before.data, after.data);
    fg_buf_free(&before);
    fg_buf_free(&after);
    return rc;
}

int fg_payout_create(fg_db_t *db, const fg_payout_input_t *in, const char *actor, int64_t now,
                     fg_payout_outcome_t *outcome, int64_t *balance, fg_payout_t *out)
{
    merchant_t m = {0};
    int64_t id = 0, amount = 0;
    *balance = 0;
    int rc = merchant_lock(db, in->merchant_id, &m);
    if (rc == FG_ENOTFOUND) {
        *outcome = FG_PAYOUT_NO_MERCHANT;
        rc = 0;
        goto Exit;
    }
    if (rc != 0 || (rc = by_reference(db, m.id, in->reference, &id, &amount)) < 0)
        goto Exit;
    if (rc == 1) {
        /* the same payout asked for again (a retry without its key), or another */
        *outcome = amount == in->amount ? FG_PAYOUT_SAME : FG_PAYOUT_REFERENCE_TAKEN;
        rc = payout_read(db, SQL_PAYOUT_BY_ID, NULL, 0, id, out);
        goto Exit;
    }
    if (m.bin.len == 0 || m.number.len == 0 || m.name.len == 0) {
        *outcome = FG_PAYOUT_NO_ACCOUNT;
        goto Exit;
    }
    /* read under the merchant's lock: a payout made meanwhile has committed
     * and is in it (each statement reads the newest commits) */
    if ((rc = merchant_balance(db, m.id, in->merchant_id, balance)) != 0)
        goto Exit;
    if (in->amount > *balance) {
        *outcome = FG_PAYOUT_EXCEEDS_BALANCE;
        goto Exit;
    }
    *outcome = FG_PAYOUT_MADE;
    fg_stmt_t s;
    if ((rc = fg_stmt_init(&s, db, SQL_PAYOUT_COUNT)) != 0)
        goto Exit;
    fg_stmt_int(&s, m.id);
    if ((rc = fg_stmt_exec(&s)) != 0 || (rc = payout_insert(db, in, &m, actor, now, &id)) != 0 ||
        (rc = payout_read(db, SQL_PAYOUT_BY_ID, NULL, 0, id, out)) != 0)
        goto Exit;
    rc = payout_audit(db, out, actor, *balance);
Exit:
    merchant_free(&m);
    return rc;
}

/* ---- batches ------------------------------------------------------------------------------ */

/* clang-format off */
#define BATCH_SELECT                                                                                                   \
    "SELECT b.id, b.public_id, b.account, b.currency, b.created_by, j.public_id, b.status = 'paid', "                  \
    "b.payout_count, b.total, COALESCE(b.paid_line_id, 0), COALESCE(b.paid_item_id, 0), COALESCE(b.paid_at, 0), "      \
    "b.created_at, b.updated_at FROM payout_batches b LEFT JOIN journals j ON j.id = b.paid_journal_id "
/* clang-format on */
static const char SQL_BATCH_BY_PUBLIC_ID[] = BATCH_SELECT "WHERE b.public_id = ?";
static const char SQL_BATCH_BY_ID[] = BATCH_SELECT "WHERE b.id = ?";
/* Oldest first; locked, so two batches never take one payout. */
static const char SQL_PENDING[] = "SELECT id, public_id, amount FROM payouts WHERE status = 'pending' AND currency = ? "
                                  "ORDER BY id LIMIT ? FOR UPDATE";
static const char SQL_BATCH_INSERT[] =
    "INSERT INTO payout_batches (public_id, match_key, account, currency, payout_count, total, created_by, "
    "created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)";
static const char SQL_BATCH_TAKE[] =
    "UPDATE payouts SET status = 'batched', batch_id = ?, updated_at = ? WHERE id = ? AND status = 'pending'";
static const char SQL_LEFT_OVER[] = "SELECT COUNT(*) FROM payouts WHERE status = 'pending'";
static const char SQL_FILE_ROWS[] =
    "SELECT p.account_no, p.account_name, p.bank_bin, p.amount, p.currency, p.reference, p.public_id, m.public_id "
    "FROM payouts p JOIN merchants m ON m.id = p.merchant_id WHERE p.batch_id = ? ORDER BY p.id";

void fg_payout_batch_free(fg_payout_batch_t *b)
{
    fg_buf_free(&b->public_id);
    fg_buf_free(&b->account);
    fg_buf_free(&b->currency);
    fg_buf_free(&b->created_by);
    fg_buf_free(&b->paid_journal_id);
}

static int batch_read(fg_db_t *db, const char *sql, const char *public_id, size_t len, int64_t id,
                      fg_payout_batch_t *out)
{
    fg_stmt_t s;
    int64_t paid = 0;
    int rc = fg_stmt_init(&s, db, sql);
    if (rc != 0)
        return rc;
    if (public_id != NULL)
        fg_stmt_str(&s, public_id, len);
    else
        fg_stmt_int(&s, id);
    fg_stmt_out_int(&s, &out->id, NULL);
    fg_stmt_out_text(&s, &out->public_id, NULL);
    fg_stmt_out_text(&s, &out->account, NULL);
    fg_stmt_out_text(&s, &out->currency, NULL);
    fg_stmt_out_text(&s, &out->created_by, NULL);
    fg_stmt_out_text(&s, &out->paid_journal_id, NULL);
    fg_stmt_out_int(&s, &paid, NULL);
    int64_t *ints[] = {&out->payout_count, &out->total,      &out->paid_line_id, &out->paid_item_id,
                       &out->paid_at,      &out->created_at, &out->updated_at};
    for (size_t i = 0; i < sizeof(ints) / sizeof(ints[0]); i++)
        fg_stmt_out_int(&s, ints[i], NULL);
    rc = fg_stmt_one(&s);
    out->paid = paid != 0;
    out->left_over = -1; /* known only as a batch is made */
    return rc;
}

int fg_payout_batch_get(fg_db_t *db, const char *public_id, size_t len, fg_payout_batch_t *out)
{
    return batch_read(db, SQL_BATCH_BY_PUBLIC_ID, public_id, len, 0, out);
}

void fg_payout_batch_json(fg_buf_t *b, const fg_payout_batch_t *batch)
{
    fg_buf_putc(b, '{');
    fg_json_kv_strn(b, 0, "id", batch->public_id.data, batch->public_id.len);
    fg_json_kv_str(b, 1, "object", "payout_batch");
    /* what the bank upload's description and a line paying the whole batch name */
    fg_json_kv_strn(b, 1, "reference", batch->public_id.data, batch->public_id.len);
    fg_json_kv_strn(b, 1, "account", batch->account.data, batch->account.len);
    fg_json_kv_strn(b, 1, "currency", batch->currency.data, batch->currency.len);
    fg_json_kv_int(b, 1, "payout_count", batch->payout_count);
    fg_json_kv_int(b, 1, "total", batch->total);
    fg_json_kv_str(b, 1, "status", batch->paid ? "paid" : "pending");
    fg_json_key(b, 1, "file");
    fg_buf_puts(b, "\"/v1/payout-batches/");
    fg_buf_append(b, batch->public_id.data, batch->public_id.len); /* a public id: nothing to escape */
    fg_buf_puts(b, "/file\"");
    kv_id(b, "statement_line_id", batch->paid_line_id);
    kv_id(b, "reconciliation_item_id", batch->paid_item_id);
    kv_text(b, "paid_journal_id", &batch->paid_journal_id);
    kv_time(b, "paid_at", batch->paid_at);
    fg_json_kv_strn(b, 1, "created_by", batch->created_by.data, batch->created_by.len);
    kv_time(b, "created_at", batch->created_at);
    if (batch->left_over >= 0)
        fg_json_kv_int(b, 1, "pending_left", batch->left_over);
    fg_buf_putc(b, '}');
}

/* The pending payouts a batch takes, in id order: ids[], their public ids as
 * a JSON array, the total.  *count may be 0. */
typedef struct {
    int64_t ids[FG_PAYOUT_BATCH_MAX];
    int count;
    int64_t total;
    fg_buf_t public_ids;
} taken_t;

static int take_pending(fg_db_t *db, taken_t *t)
{
    fg_stmt_t s;
    fg_buf_t public_id = FG_BUF_INIT;
    int64_t id = 0, amount = 0;
    int rc = fg_stmt_init(&s, db, SQL_PENDING);
    if (rc != 0)
        return rc;
    fg_stmt_cstr(&s, FG_PAYOUT_CURRENCY);
    fg_stmt_int(&s, FG_PAYOUT_BATCH_MAX);
    fg_stmt_out_int(&s, &id, NULL);
    fg_stmt_out_text(&s, &public_id, NULL);
    fg_stmt_out_int(&s, &amount, NULL);
    if ((rc = fg_stmt_exec(&s)) != 0)
        goto Exit;
    fg_buf_putc(&t->public_ids, '[');
    while ((rc = fg_stmt_fetch(&s)) == 1) {
        int64_t total;
        /* a batch's total is one amount on the statement: at most 10^15 */
        if (fg_money_add(t->total, amount, &total) != 0 || total > FG_AMOUNT_MAX) {
            fg_stmt_done(&s);
            rc = 0;
            break;
        }
        t->total = total;
        if (t->count > 0)
            fg_buf_putc(&t->public_ids, ',');
        fg_json_str(&t->public_ids, public_id.data, public_id.len);
        t->ids[t->count++] = id;
    }
    fg_buf_putc(&t->public_ids, ']');
    rc = rc < 0 ? rc : 0;
Exit:
    fg_buf_free(&public_id);
    return rc;
}

static int batch_insert(fg_db_t *db, const char *account, const taken_t *t, const char *actor, int64_t now, int64_t *id)
{
    char public_id[FG_ID_CAP], key[FG_PAYOUT_MATCH_KEY_MAX + 1];
    fg_stmt_t s;
    if (fg_id_new("pob_", public_id, sizeof(public_id)) < 0)
        return FG_EIO;
    fg_payout_match_key(public_id, strlen(public_id), key);
    int rc = fg_stmt_init(&s, db, SQL_BATCH_INSERT);
    if (rc != 0)
        return rc;
    fg_stmt_cstr(&s, public_id);
    fg_stmt_cstr(&s, key);
    fg_stmt_cstr(&s, account);
    fg_stmt_cstr(&s, FG_PAYOUT_CURRENCY);
    fg_stmt_int(&s, t->count);
    fg_stmt_int(&s, t->total);
    fg_stmt_cstr(&s, actor);
    fg_stmt_int(&s, now);
    fg_stmt_int(&s, now);
    if ((rc = fg_stmt_exec(&s)) != 0)
        return rc;
    *id = (int64_t)fg_stmt_insert_id(&s);
    return 0;
}

/* Marks the taken payouts batched, in one round trip (array binding). */
static int batch_take(fg_db_t *db, const taken_t *t, int64_t batch, int64_t now)
{
    int64_t *batches = fg_malloc((size_t)t->count * sizeof(int64_t));
    int64_t *times = fg_malloc((size_t)t->count * sizeof(int64_t));
    uint64_t changed = 0;
    for (int i = 0; i < t->count; i++) {
        batches[i] = batch;
        times[i] = now;
    }
    fg_db_column_t cols[] = {{FG_DB_V_INT, batches, NULL, NULL},
                             {FG_DB_V_INT, times, NULL, NULL},
                             {FG_DB_V_INT, t->ids, NULL, NULL}};
    int rc = fg_db_bulk(db, SQL_BATCH_TAKE, cols, 3, (unsigned)t->count, &changed);
    if (rc == 0 && changed != (uint64_t)t->count)
        rc = FG_ERETRY; /* locked as pending, so never: re-run rather than batch less than counted */
    free(batches);
    free(times);
    return rc;
}

/* Whether key (an account as statements key it) is one of the city's that
 * may pay a batch: an account a statement was imported for, whose
 * statements are in the payouts' currency, or a collection account of the
 * configuration (vietqr.account_no, an entry of sepay.accounts) no
 * statement has named yet.  Only a statement of the batch's account can
 * show the debit that pays it: on any other account its payouts would wait
 * for ever, and a dollar account's statement never shows a debit of dong.
 * 1, 0 (not the city's), FG_EUNSUPPORTED (its statements are in another
 * currency), or a database code. */
static int city_account_known(fg_db_t *db, const fg_config_t *cfg, const char *key)
{
    /* the currency of the account's statement imported last (ix_statements_account) */
    static const char SQL_CURRENCY_OF[] = "SELECT currency FROM statements WHERE account = ? ORDER BY id DESC LIMIT 1";
    size_t key_len = strlen(key);
    char configured[FG_STMT_ACCOUNT_MAX + 1];
    fg_buf_t currency = FG_BUF_INIT;
    fg_stmt_t s;
    int rc = fg_stmt_init(&s, db, SQL_CURRENCY_OF);
    if (rc != 0)
        return rc;
    fg_stmt_str(&s, key, key_len);
    fg_stmt_out_text(&s, &currency, NULL);
    rc = fg_stmt_one(&s);
    int same = currency.data != NULL && strcmp(currency.data, FG_PAYOUT_CURRENCY) == 0;
    fg_buf_free(&currency);
    if (rc == 0)
        return same ? 1 : FG_EUNSUPPORTED;
    if (rc != FG_ENOTFOUND)
        return rc;
    const char *p = cfg->vietqr_account_no;
    if (p != NULL && fg_bank_account_key(p, strlen(p), configured, sizeof(configured), FG_STMT_ACCOUNT_MAX) >= 0 &&
        strcmp(configured, key) == 0)
        return 1;
    for (p = cfg->sepay_accounts; p != NULL && *p != '\0';) { /* keyed at start-up, comma separated */
        size_t n = strcspn(p, ",");
        if (n == key_len && memcmp(p, key, n) == 0)
            return 1;
        p += n + (p[n] == ',');
    }
    return 0;
}

/* The accounts handed out so far by fg_payout_batch_accounts, keyed. */
typedef struct {
    char keys[FG_PAYOUT_BATCH_ACCOUNTS_MAX][FG_STMT_ACCOUNT_MAX + 1];
    int count;
    fg_payout_account_each_fn each;
    void *arg;
} accounts_seen_t;

/* Hands key on unless it was handed on before or the list is full. */
static void account_offer(accounts_seen_t *seen, const char *key, size_t len)
{
    if (len == 0 || len > FG_STMT_ACCOUNT_MAX || seen->count == FG_PAYOUT_BATCH_ACCOUNTS_MAX)
        return;
    for (int i = 0; i < seen->count; i++)
        if (strlen(seen->keys[i]) == len && memcmp(seen->keys[i], key, len) == 0)
            return;
    memcpy(seen->keys[seen->count], key, len);
    seen->keys[seen->count][len] = '\0';
    seen->each(seen->keys[seen->count++], seen->arg);
}

int fg_payout_batch_accounts(fg_db_t *db, const fg_config_t *cfg, fg_payout_account_each_fn each, void *arg)
{
    /* each account's statement imported last (ix_statements_account), when in the payouts' currency */
    static const char SQL_STATEMENT_ACCOUNTS[] =
        "SELECT s.account FROM statements s WHERE s.id IN (SELECT MAX(id) FROM statements GROUP BY account) "
        "AND s.currency = '" FG_PAYOUT_CURRENCY "' ORDER BY s.account LIMIT ?";
    char configured[FG_STMT_ACCOUNT_MAX + 1];
    accounts_seen_t *seen = fg_calloc(1, sizeof(*seen));
    fg_buf_t account = FG_BUF_INIT;
    fg_stmt_t s;
    seen->each = each;
    seen->arg = arg;
    /* the same accounts, in the same keying, as city_account_known accepts */
    const char *p = cfg->vietqr_account_no;
    if (p != NULL && fg_bank_account_key(p, strlen(p), configured, sizeof(configured), FG_STMT_ACCOUNT_MAX) >= 0)
        account_offer(seen, configured, strlen(configured));
    for (p = cfg->sepay_accounts; p != NULL && *p != '\0';) { /* keyed at start-up, comma separated */
        size_t n = strcspn(p, ",");
        account_offer(seen, p, n);
        p += n + (p[n] == ',');
    }
    int rc = fg_stmt_init(&s, db, SQL_STATEMENT_ACCOUNTS);
    if (rc != 0)
        goto Exit;
    fg_stmt_int(&s, FG_PAYOUT_BATCH_ACCOUNTS_MAX);
    fg_stmt_out_text(&s, &account, NULL);
    if ((rc = fg_stmt_exec(&s)) != 0)
        goto Exit;
    while ((rc = fg_stmt_fetch(&s)) == 1)
        account_offer(seen, text_of(&account), account.len);
    rc = rc < 0 ? rc : 0;
Exit:
    fg_buf_free(&account);
    free(seen);
    return rc;
}

int fg_payout_batch_create(fg_db_t *db, const fg_config_t *cfg, const char *account, const char *actor, int64_t now,
                           fg_payout_batch_t *out)
{
    taken_t *t = NULL;
    fg_buf_t after = FG_BUF_INIT;
    fg_stmt_t s;
    int64_t id = 0;
    int rc;
    char key[FG_STMT_ACCOUNT_MAX + 1]; /* as statements key it: its debit lines are the batch's */
    if (account == NULL || fg_bank_account_key(account, strlen(account), key, sizeof(key), FG_STMT_ACCOUNT_MAX) < 0)
        return FG_EINVALID;
    account = key;
    if ((rc = city_account_known(db, cfg, key)) <= 0)
        return rc == 0 ? FG_ENOTFOUND : rc;
    t = fg_calloc(1, sizeof(*t));
    t->public_ids = (fg_buf_t)FG_BUF_INIT;
    if ((rc = take_pending(db, t)) != 0)
        goto Exit;
    if (t->count == 0) {
        rc = FG_ESTATE;
        goto Exit;
    }
    if ((rc = batch_insert(db, account, t, actor, now, &id)) != 0 || (rc = batch_take(db, t, id, now)) != 0 ||
        (rc = batch_read(db, SQL_BATCH_BY_ID, NULL, 0, id, out)) != 0 ||
        (rc = fg_stmt_init(&s, db, SQL_LEFT_OVER)) != 0)
        goto Exit;
    fg_stmt_out_int(&s, &out->left_over, NULL);
    if ((rc = fg_stmt_one(&s)) != 0)
        goto Exit;
    fg_buf_puts(&after, "{\"batch\":");
    fg_payout_batch_json(&after, out);
    fg_json_key(&after, 1, "payouts");
    fg_buf_append(&after, t->public_ids.data, t->public_ids.len);
    fg_buf_putc(&after, '}');
    rc = fg_audit_log(db, actor, "payout_batch.create", out->public_id.data, NULL, after.data);
Exit:
    fg_buf_free(&after);
    fg_buf_free(&t->public_ids);
    free(t);
    return rc;
}

static const char *const FILE_COLUMNS[] = {
    "beneficiary_account", "beneficiary_name", "bank_bin", "bank_name", "amount", "currency", "memo",
    "payout_id",           "merchant_id",      NULL};

int fg_payout_batch_file(fg_db_t *db, const fg_payout_batch_t *batch, fg_buf_t *csv)
{
    fg_stmt_t s;
    fg_buf_t number = FG_BUF_INIT, name = FG_BUF_INIT, bin = FG_BUF_INIT, currency = FG_BUF_INIT,
             reference = FG_BUF_INIT, payout = FG_BUF_INIT, merchant = FG_BUF_INIT, memo = FG_BUF_INIT;
    int64_t amount = 0, rows = 0, total = 0;
    int rc = fg_stmt_init(&s, db, SQL_FILE_ROWS);
    if (rc != 0)
        return rc;
    fg_stmt_int(&s, batch->id);
    fg_stmt_out_text(&s, &number, NULL);
    fg_stmt_out_text(&s, &name, NULL);
    fg_stmt_out_text(&s, &bin, NULL);
    fg_stmt_out_int(&s, &amount, NULL);
    fg_stmt_out_text(&s, &currency, NULL);
    fg_stmt_out_text(&s, &reference, NULL);
    fg_stmt_out_text(&s, &payout, NULL);
    fg_stmt_out_text(&s, &merchant, NULL);
    if ((rc = fg_stmt_exec(&s)) != 0)
        goto Exit;
    fg_csv_header(csv, FILE_COLUMNS);
    while ((rc = fg_stmt_fetch(&s)) == 1) {
        /* the memo: the merchant's reference, then the payout's own id, which
         * matching finds even when the bank shortens or rewrites the rest */
        fg_buf_reset(&memo);
        fg_buf_printf(&memo, "%s %s", text_of(&reference), text_of(&payout));
        fg_csv_text(csv, 0, number.data, number.len);
        fg_csv_text(csv, 1, name.data, name.len);
        fg_csv_text(csv, 1, bin.data, bin.len);
        fg_csv_cstr(csv, 1, fg_payout_bank_name(text_of(&bin)));
        fg_csv_int(csv, 1, amount);
        fg_csv_text(csv, 1, currency.data, currency.len);
        fg_csv_text(csv, 1, memo.data, memo.len);
        fg_csv_text(csv, 1, payout.data, payout.len);
        fg_csv_text(csv, 1, merchant.data, merchant.len);
        fg_csv_end_row(csv);
        rows++;
        if (fg_money_add(total, amount, &total) != 0) {
            fg_stmt_done(&s);
            rc = FG_EOVERFLOW;
            goto Exit;
        }
    }
    /* the file must be the batch that was counted, or nobody uploads it */
    rc = rc < 0 ? rc : rows != batch->payout_count || total != batch->total ? FG_ECHECKSUM : 0;
Exit:
    fg_buf_free(&number);
    fg_buf_free(&name);
    fg_buf_free(&bin);
    fg_buf_free(&currency);
    fg_buf_free(&reference);
    fg_buf_free(&payout);
    fg_buf_free(&merchant);
    fg_buf_free(&memo);
    return rc;
}
