/*
 * resolve.c - staff resolve an exception: an item left suggested, bank_only
 * or amount_mismatch gets an action, a required note, and an audit_log row
 * (who, when, the item before and after) in the same transaction.
 *
 * A bank line's money sits in assets:bank_unreconciled:{account} from its
 * import (bank.c), or in liabilities:unapplied once the matching job
 * recorded a credit naming no order; call that the source.
 *
 *   accept  investigated: nothing moves;
 *   apply   a credit line's money to one or several orders, each paid through
 *           the notification pipeline (fg_recon_pay_order) as the matching
 *           job would (Dr clearing:vietqr, Cr merchant), and the line's
 *           money leaves the source for that clearing account: in effect
 *           Dr unapplied, Cr merchant; what the orders do not take stays
 *           (or is recorded as) unapplied money, never dropped;
 *   write_off  the difference goes to recon.write_off_account: a line's
 *           amount leaves the source (Dr source, Cr write-off for a credit;
 *           the other way for a debit), less what the ledger holds of it (a
 *           mismatch by reference: Cr that clearing account); money the
 *           feed applied that the bank never showed goes out (Dr write-off,
 *           Cr clearing:vietqr);
 *   refund  a credit line's money goes back to the payer: it is owed to them
 *           (Dr source, Cr liabilities:payer_refunds) until the outgoing
 *           transfer leaves;
 *   undo    takes a resolution back: a reversing journal for what it posted,
 *           and the item is an exception again.  An apply is not undone here:
 *           its payments are refunded like any other.
 *
 * A settlement_row item (payout.c: a gateway's settlement row that differs
 * from the ledger) holds no bank money: its amount is the gateway's figure
 * less ours.  It is accepted, or written off between the gateway's clearing
 * account and the write-off account (Dr clearing, Cr write-off when the
 * gateway paid more than the ledger holds, e.g. for a transaction we lack;
 * the other way when it paid less); apply and refund do not apply to it.
 */
#include "recon/recon_internal.h"

#include <stdio.h>
#include <string.h>
#include "core/money.h"
#include "core/text.h"
#include "ledger/ledger.h"
#include "ledger/recon_counts.h"
#include "orders/orders.h"
#include "staff/staff.h"

static const char SQL_ITEM[] =
    "SELECT COALESCE(i.line_id, 0), i.account, i.business_day, i.amount, i.state, COALESCE(i.resolution, ''), "
    "COALESCE(i.resolution_journal_id, 0), i.kind, i.currency, i.unapplied, i.paid_out_by IS NOT NULL, "
    "COALESCE(i.gateway, '') FROM recon_items i WHERE i.id = ? FOR UPDATE";
/* A line matched as it was stored (ledger/recon_counts.h): a matched item,
 * which nothing resolves; read for the same answers as any matched item. */
static const char SQL_LINE_ITEM[] =
    "SELECT l.id, l.account, l.value_date, l.amount, 'matched', '', 0, 'bank_line', l.currency, 0, 0, '' FROM "
    "statement_lines l WHERE l.id = ? AND l.payment_id IS NOT NULL";
/* Money the ledger holds already for the item: the feed's transfer or a
 * provider's payment it matched by reference at another amount. */
static const char SQL_HELD[] =
    "SELECT p.adapter, SUM(k.amount) FROM recon_links k JOIN payments p ON p.id = k.payment_id WHERE k.item_id = ? "
    "AND k.suggested = 0 GROUP BY p.adapter ORDER BY p.adapter LIMIT 1";
static const char SQL_JOURNAL_LINES[] =
    "SELECT a.code, COALESCE(a.merchant_id, 0), e.currency, e.amount FROM ledger_entries e JOIN ledger_accounts a "
    "ON a.id = e.account_id WHERE e.journal_id = ? ORDER BY e.id";
static const char SQL_UNRESOLVE[] = "UPDATE recon_items SET resolution = NULL, resolved_by = NULL, resolved_at = NULL, "
                                    "note = NULL, resolution_journal_id = NULL, updated_at = ? WHERE id = ?";
static const char SQL_ORDER[] = "SELECT id, amount, amount_paid, allow_partial, " FG_ORDER_STATUS_SQL(
    "status") ", COALESCE(expires_at, 0), expires_at IS NOT NULL, currency FROM orders WHERE public_id = ? FOR UPDATE";
static const char SQL_RESOLVE[] = "UPDATE recon_items SET resolution = ?, resolved_by = ?, resolved_at = ?, note = ?, "
                                  "resolution_journal_id = ?, updated_at = ? WHERE id = ?";
static const char SQL_LINK[] =
    "INSERT INTO recon_links (item_id, seq, payment_id, order_id, amount, suggested) SELECT ?, COALESCE(MAX(seq), "
    "0) + 1, ?, ?, ?, 0 FROM recon_links WHERE item_id = ?";

typedef struct {
    const fg_config_t *cfg;
    const fg_reconciliation_t *rec;
    int64_t item_id;
    const fg_recon_resolution_t *in;
    const char *actor;
    fg_recon_resolved_t *out;
    int64_t journal_id; /* what the resolution posted, 0 = nothing */
    /* the item */
    int ledger_posting;                   /* a transfer the feed applied, not a bank line */
    char source[FG_ACCOUNT_CODE_MAX + 1]; /* where a bank line's money sits: unreconciled or unapplied */
    char currency[4];
    char held_adapter[16]; /* the ledger holds held_amount of this money already (a mismatch by reference) */
    int64_t held_amount;
} resolve_t;

/* What the ledger already holds of the item's money. */
static int find_held(fg_db_t *db, resolve_t *r)
{
    fg_stmt_t s;
    fg_buf_t adapter = FG_BUF_INIT;
    r->held_adapter[0] = '\0';
    r->held_amount = 0;
    int rc = fg_stmt_init(&s, db, SQL_HELD);
    if (rc != 0)
        return rc;
    fg_stmt_int(&s, r->item_id);
    fg_stmt_out_text(&s, &adapter, NULL);
    fg_stmt_out_int(&s, &r->held_amount, NULL);
    if ((rc = fg_stmt_one(&s)) == 0)
        snprintf(r->held_adapter, sizeof(r->held_adapter), "%s", adapter.data);
    fg_buf_free(&adapter);
    return rc == FG_ENOTFOUND ? 0 : rc;
}

/* The write-off journal of an item of amount (a line's signed amount, a
 * gap's, or a ledger_only item's). */
static int write_off(fg_db_t *db, resolve_t *r, int64_t amount, int64_t now)
{
    const char *to = r->cfg->recon_write_off_account;
    char memo[160], clearing[FG_ACCOUNT_CODE_MAX + 1];
    if (to == NULL || fg_account_kind_of(to) < 0)
        return FG_EUNSUPPORTED;
    snprintf(memo, sizeof(memo), "reconciliation item %lld written off", (long long)r->item_id);
    fg_journal_t j = {.kind = "write_off", .memo = memo};
    if (r->ledger_posting) {
        /* money the feed reported that the bank never showed goes out */
        fg_journal_add(&j, to, 0, r->currency, amount);
        fg_journal_add(&j, "assets:clearing:vietqr", 0, r->currency, -amount);
    } else {
        /* the bank's amount leaves where it sits; what the ledger held of it
         * (a mismatch) leaves its clearing account; the difference goes to
         * the write-off account */
        int64_t rest;
        snprintf(clearing, sizeof(clearing), "assets:clearing:%s", r->held_adapter[0] ? r->held_adapter : "vietqr");
        if (fg_money_sub(amount, r->held_amount, &rest) != 0)
            return FG_EOVERFLOW;
        fg_journal_add(&j, r->source, 0, r->currency, amount);
        fg_journal_add(&j, clearing, 0, r->currency, -r->held_amount);
        fg_journal_add(&j, to, 0, r->currency, -rest);
        if (j.count < 2)
            return 0; /* nothing to move */
    }
    return fg_ledger_post_now(db, &j, now, &r->journal_id);
}

/* The write-off of a settlement_row item: its amount (the gateway's figure
 * less ours) between the gateway's clearing account and the write-off
 * account. */
static int write_off_row(fg_db_t *db, resolve_t *r, const char *gateway, int64_t amount, int64_t now)
{
    const char *to = r->cfg->recon_write_off_account;
    char memo[160], clearing[FG_ACCOUNT_CODE_MAX + 1];
    if (to == NULL || fg_account_kind_of(to) < 0 || gateway[0] == '\0')
        return FG_EUNSUPPORTED;
    snprintf(memo, sizeof(memo), "reconciliation item %lld written off: a %s settlement row", (long long)r->item_id,
             gateway);
    snprintf(clearing, sizeof(clearing), "assets:clearing:%s", gateway);
    fg_journal_t j = {.kind = "write_off", .memo = memo};
    fg_journal_add(&j, clearing, 0, r->currency, amount);
    fg_journal_add(&j, to, 0, r->currency, -amount);
    return j.count < 2 ? 0 : fg_ledger_post_now(db, &j, now, &r->journal_id);
}

/* The reversing journal of journal_id. */
static int reverse(fg_db_t *db, int64_t journal_id, int64_t item_id, int64_t now)
{
    fg_stmt_t s;
    fg_buf_t code = FG_BUF_INIT, currency = FG_BUF_INIT;
    int64_t merchant = 0, amount = 0, reversal = 0;
    char memo[120];
    snprintf(memo, sizeof(memo), "undo of the resolution of reconciliation item %lld", (long long)item_id);
    fg_journal_t j = {.kind = "reversal", .reverses_id = journal_id, .memo = memo};
    int rc = fg_stmt_init(&s, db, SQL_JOURNAL_LINES);
    if (rc != 0)
        return rc;
    fg_stmt_int(&s, journal_id);
    fg_stmt_out_text(&s, &code, NULL);
    fg_stmt_out_int(&s, &merchant, NULL);
    fg_stmt_out_text(&s, &currency, NULL);
    fg_stmt_out_int(&s, &amount, NULL);
    if ((rc = fg_stmt_exec(&s)) == 0) {
        while ((rc = fg_stmt_fetch(&s)) == 1 && j.count < FG_JOURNAL_LINES_MAX)
            fg_journal_add(&j, code.data, (uint64_t)merchant, currency.data, -amount);
        rc = rc < 0 ? rc : 0;
    }
    fg_buf_free(&code);
    fg_buf_free(&currency);
    if (rc != 0)
        return rc;
    return fg_ledger_post_now(db, &j, now, &reversal);
}

static void item_json(fg_buf_t *b, int64_t id, const char *state, const char *resolution, int64_t amount,
                      const char *note)
{
    fg_buf_putc(b, '{');
    fg_json_kv_int(b, 0, "id", id);
    fg_json_kv_str(b, 1, "state", state);
    if (resolution != NULL && resolution[0] != '\0')
        fg_json_kv_str(b, 1, "resolution", resolution);
    else
        fg_json_kv_null(b, 1, "resolution");
    fg_json_kv_int(b, 1, "amount", amount);
    if (note != NULL)
        fg_json_kv_str(b, 1, "note", note);
    fg_buf_putc(b, '}');
}

/* ---- a write-off the bank statement shows wrong ---------------------------------- */

/* The feed's transfers written off as ledger_only whose line a statement now
 * shows: by the lines of a statement (its id), or by one line's reference. */
static const char SQL_SHOWN_WRITE_OFFS_OF_STATEMENT[] =
    "SELECT r.id, r.state, r.amount, COALESCE(r.resolution_journal_id, 0) FROM recon_items r JOIN statement_lines l "
    "ON r.account = l.account AND r.transfer_ref = l.bank_ref WHERE l.statement_id = ? AND r.kind = "
    "'ledger_posting' AND r.resolution = 'write_off' ORDER BY r.id FOR UPDATE";
static const char SQL_SHOWN_WRITE_OFFS_OF_REF[] =
    "SELECT r.id, r.state, r.amount, COALESCE(r.resolution_journal_id, 0) FROM recon_items r WHERE r.account = ? AND "
    "r.transfer_ref = ? AND r.kind = 'ledger_posting' AND r.resolution = 'write_off' ORDER BY r.id FOR UPDATE";

#define SHOWN_WRITE_OFFS_MAX 64

/* Up to SHOWN_WRITE_OFFS_MAX of them at a time; *more when there may be more. */
static int undo_shown_write_offs(fg_db_t *db, int64_t statement_id, const char *account, const char *bank_ref,
                                 size_t bank_ref_len, int64_t now, int *more)
{
    fg_stmt_t s;
    fg_buf_t state = FG_BUF_INIT;
    int64_t id = 0, amount = 0, journal = 0;
    struct {
        int64_t id, amount, journal;
        char state[24];
    } found[SHOWN_WRITE_OFFS_MAX];
    int n = 0;
    int rc = fg_stmt_init(&s, db, statement_id != 0 ? SQL_SHOWN_WRITE_OFFS_OF_STATEMENT : SQL_SHOWN_WRITE_OFFS_OF_REF);
    if (rc != 0)
        return rc;
    if (statement_id != 0) {
        fg_stmt_int(&s, statement_id);
    } else {
        fg_stmt_cstr(&s, account);
        fg_stmt_str(&s, bank_ref, bank_ref_len);
    }
    fg_stmt_out_int(&s, &id, NULL);
    fg_stmt_out_text(&s, &state, NULL);
    fg_stmt_out_int(&s, &amount, NULL);
    fg_stmt_out_int(&s, &journal, NULL);
    if ((rc = fg_stmt_exec(&s)) == 0) {
        while ((rc = fg_stmt_fetch(&s)) == 1 && n < SHOWN_WRITE_OFFS_MAX) {
            found[n].id = id, found[n].amount = amount, found[n].journal = journal;
            snprintf(found[n].state, sizeof(found[n].state), "%s", state.data);
            n++;
        }
        fg_stmt_done(&s);
        rc = rc < 0 ? rc : 0;
    }
    fg_buf_free(&state);
    /* each: the write-off reversed (the money did come: the line now clears
     * the clearing account, which the write-off had cleared already), the
     * item unresolved, and both in the audit log */
    for (int i = 0; rc == 0 && i < n; i++) {
        char object[40];
        fg_buf_t before = FG_BUF_INIT, after = FG_BUF_INIT;
        snprintf(object, sizeof(object), "item:%lld", (long long)found[i].id);
        item_json(&before, found[i].id, found[i].state, "write_off", found[i].amount, NULL);
        item_json(&after, found[i].id, found[i].state, NULL, found[i].amount,
                  "a bank statement shows the transfer after all: its write-off is reversed");
        if ((found[i].journal == 0 || (rc = reverse(db, found[i].journal, found[i].id, now)) == 0) &&
            (rc = fg_stmt_init(&s, db, SQL_UNRESOLVE)) == 0) {
            fg_stmt_int(&s, now);
            fg_stmt_int(&s, found[i].id);
            if ((rc = fg_stmt_exec(&s)) == 0)
                rc = fg_audit_log(db, "system:statement", "reconciliation_item.undo", object, before.data, after.data);
        }
        fg_buf_free(&before);
        fg_buf_free(&after);
    }
    *more = n == SHOWN_WRITE_OFFS_MAX;
    return rc;
}

int fg_recon_undo_shown_write_offs(fg_db_t *db, int64_t statement_id, const char *account, const char *bank_ref,
                                   size_t bank_ref_len, int64_t now)
{
    int more = 1, rc = 0;
    while (rc == 0 && more) /* each round unresolves what it found: the next finds the rest */
        rc = undo_shown_write_offs(db, statement_id, account, bank_ref, bank_ref_len, now, &more);
    return rc;
}

static int apply_orders(fg_db_t *db, resolve_t *r, int64_t line_id, int64_t amount, int64_t now)
{
    int64_t total = 0;
    int rc;
    for (int i = 0; i < r->in->order_count; i++) {
        const fg_recon_allocation_t *a = &r->in->orders[i];
        fg_stmt_t s;
        int64_t id, order_amount, paid, partial, expires, has_expiry, payable, payment = 0;
        fg_order_status_t status = FG_ORDER_OPEN;
        if ((rc = fg_stmt_init(&s, db, SQL_ORDER)) != 0)
            return rc;
        fg_stmt_cstr(&s, a->order_id);
        fg_stmt_out_int(&s, &id, NULL);
        fg_stmt_out_int(&s, &order_amount, NULL);
        fg_stmt_out_int(&s, &paid, NULL);
        fg_stmt_out_int(&s, &partial, NULL);
        fg_stmt_out_enum(&s, &status, FG_ORDER_STATUS_COUNT);
        fg_stmt_out_int(&s, &expires, NULL);
        fg_stmt_out_int(&s, &has_expiry, NULL);
        fg_buf_t currency = FG_BUF_INIT;
        fg_stmt_out_text(&s, &currency, NULL);
        rc = fg_stmt_one(&s);
        /* a line of one currency pays no order of another: 12.34 USD is not 1,234 đồng */
        int other_currency = rc == 0 && (currency.data == NULL || strcmp(currency.data, r->currency) != 0);
        fg_buf_free(&currency);
        if (rc != 0) {
            r->out->bad_order = i;
            return rc; /* FG_ENOTFOUND: no such order */
        }
        if (other_currency) {
            r->out->bad_order = i;
            r->out->order_currency = 1;
            return FG_ESTATE;
        }
        if (!fg_order_accepts_payment(fg_order_effective_status(status, (int)has_expiry, expires, now)) ||
            fg_order_payable_amount(order_amount, paid, (int)partial, a->amount, &payable) != 0) {
            r->out->bad_order = i;
            return FG_ESTATE;
        }
        if (fg_money_add(total, a->amount, &total) != 0 || total > amount) {
            r->out->bad_order = i;
            return FG_EEXCEEDS;
        }
        if ((rc = fg_recon_pay_order(db, r->cfg, r->item_id, line_id, id, a->amount, 100 + i, &payment)) != 0 ||
            (rc = fg_stmt_init(&s, db, SQL_LINK)) != 0)
            return rc;
        fg_stmt_int(&s, r->item_id);
        fg_stmt_int(&s, payment);
        fg_stmt_int(&s, id);
        fg_stmt_int(&s, a->amount);
        fg_stmt_int(&s, r->item_id);
        if ((rc = fg_stmt_exec(&s)) != 0)
            return rc;
    }
    r->out->unapplied = amount - total;
    /* the line's money leaves where it sat: what the orders took to the
     * clearing account their payments were posted from, the rest (money all
     * the same) as unapplied, for a later resolution */
    char memo[120];
    snprintf(memo, sizeof(memo), "statement line %lld applied by staff", (long long)line_id);
    fg_journal_t j = {.kind = "bank_match", .memo = memo};
    if (strcmp(r->source, "liabilities:unapplied") == 0) {
        fg_journal_add(&j, r->source, 0, r->currency, total);
    } else {
        fg_journal_add(&j, r->source, 0, r->currency, amount);
        fg_journal_add(&j, "liabilities:unapplied", 0, r->currency, -r->out->unapplied);
    }
    fg_journal_add(&j, "assets:clearing:vietqr", 0, r->currency, -total);
    return j.count < 2 ? 0 : fg_ledger_post_now(db, &j, now, &r->journal_id);
}

static int resolve_tx(fg_db_t *db, void *arg)
{
    resolve_t *r = arg;
    fg_stmt_t s;
    fg_buf_t account = FG_BUF_INIT, state = FG_BUF_INIT, resolution = FG_BUF_INIT, before = FG_BUF_INIT,
             after = FG_BUF_INIT;
    fg_buf_t kind = FG_BUF_INIT, currency = FG_BUF_INIT, gateway = FG_BUF_INIT;
    int64_t line_id = 0, day = 0, amount = 0, journal = 0, unapplied = 0, paid_out = 0, now = fg_now_ms();
    char object[40];
    r->out->bad_order = -1;
    r->out->unapplied = 0;
    r->out->day_closed = 0;
    r->out->order_currency = 0; /* a retry answers for itself */
    r->journal_id = 0;
    int of_line = r->item_id >= FG_RECON_LINE_ITEM_BASE;
    /* the account's lock first, as an import and a close take it: a close
     * never counts this item as it was while its resolution changes */
    int rc = fg_recon_account_lock(db, r->rec->account, now);
    if (rc != 0 || (rc = fg_stmt_init(&s, db, of_line ? SQL_LINE_ITEM : SQL_ITEM)) != 0)
        goto Exit;
    fg_stmt_int(&s, of_line ? r->item_id - FG_RECON_LINE_ITEM_BASE : r->item_id);
    fg_stmt_out_int(&s, &line_id, NULL);
    fg_stmt_out_text(&s, &account, NULL);
    fg_stmt_out_int(&s, &day, NULL);
    fg_stmt_out_int(&s, &amount, NULL);
    fg_stmt_out_text(&s, &state, NULL);
    fg_stmt_out_text(&s, &resolution, NULL);
    fg_stmt_out_int(&s, &journal, NULL);
    fg_stmt_out_text(&s, &kind, NULL);
    fg_stmt_out_text(&s, &currency, NULL);
    fg_stmt_out_int(&s, &unapplied, NULL);
    fg_stmt_out_int(&s, &paid_out, NULL);
    fg_stmt_out_text(&s, &gateway, NULL);
    if ((rc = fg_stmt_one(&s)) != 0 || (rc = find_held(db, r)) != 0)
        goto Exit;
    r->ledger_posting = strcmp(kind.data, "ledger_posting") == 0;
    int settlement_row = strcmp(kind.data, "settlement_row") == 0;
    snprintf(r->out->kind, sizeof(r->out->kind), "%s", kind.data);
    snprintf(r->currency, sizeof(r->currency), "%s", currency.data);
    if (unapplied)
        snprintf(r->source, sizeof(r->source), "liabilities:unapplied");
    else
        fg_recon_unreconciled_account(account.data, r->source);
    /* only an item of this reconciliation */
    if (strcmp(account.data, r->rec->account) != 0 || day < r->rec->from_day || day > r->rec->to_day) {
        rc = FG_ENOTFOUND;
        goto Exit;
    }
    snprintf(r->out->state, sizeof(r->out->state), "%s", state.data);
    snprintf(object, sizeof(object), "item:%lld", (long long)r->item_id);
    if (r->in->action == FG_RECON_UNDO) {
        if (resolution.len == 0) {
            rc = FG_ESTATE; /* nothing to undo */
            goto Exit;
        }
        /* a closed day never changes (its items were final when it closed) */
        int32_t open = 0;
        if ((rc = fg_recon_open_day(db, account.data, (int32_t)day, &open)) != 0 && rc != FG_ERANGE)
            goto Exit;
        if (rc == FG_ERANGE || open != day) {
            r->out->day_closed = 1;
            rc = FG_ESTATE;
            goto Exit;
        }
        if (strcmp(resolution.data, "apply") == 0 || paid_out) {
            snprintf(r->out->resolution, sizeof(r->out->resolution), "%s", resolution.data);
            rc = FG_EUNSUPPORTED; /* its payments are refunded like any other; a refund's money has left */
            goto Exit;
        }
        item_json(&before, r->item_id, state.data, resolution.data, amount, NULL);
        if ((journal != 0 && (rc = reverse(db, journal, r->item_id, now)) != 0) ||
            (rc = fg_stmt_init(&s, db, SQL_UNRESOLVE)) != 0)
            goto Exit;
        fg_stmt_int(&s, now);
        fg_stmt_int(&s, r->item_id);
        if ((rc = fg_stmt_exec(&s)) != 0)
            goto Exit;
        item_json(&after, r->item_id, state.data, NULL, amount, r->in->note);
        if ((rc = fg_audit_log(db, r->actor, "reconciliation_item.undo", object, before.data, after.data)) != 0)
            goto Exit;
        r->out->resolution[0] = '\0';
        fg_buf_reset(&r->out->json);
        fg_buf_append(&r->out->json, after.data, after.len);
        goto Exit;
    }
    if (resolution.len > 0) {
        snprintf(r->out->resolution, sizeof(r->out->resolution), "%s", resolution.data);
        rc = FG_ECONFLICT; /* resolved already: undo it first */
        goto Exit;
    }
    if (strcmp(state.data, "suggested") != 0 && strcmp(state.data, "bank_only") != 0 &&
        strcmp(state.data, "amount_mismatch") != 0 && strcmp(state.data, "ledger_only") != 0 &&
        strcmp(state.data, "duplicate") != 0) {
        rc = FG_ESTATE; /* matched, or still being matched: not an exception */
        goto Exit;
    }
    item_json(&before, r->item_id, state.data, NULL, amount, NULL);
    if (settlement_row && (r->in->action == FG_RECON_APPLY || r->in->action == FG_RECON_REFUND)) {
        rc = FG_EUNSUPPORTED; /* no bank money of its own to apply or send back */
        goto Exit;
    }
    if (settlement_row && r->in->action == FG_RECON_WRITE_OFF) {
        if ((rc = write_off_row(db, r, gateway.data != NULL ? gateway.data : "", amount, now)) != 0)
            goto Exit;
    } else if (r->in->action == FG_RECON_APPLY) {
        if (amount <= 0 || line_id == 0 || r->held_amount != 0) {
            rc = FG_EUNSUPPORTED; /* a debit, or money the ledger holds already, is not money to apply */
            goto Exit;
        }
        if ((rc = apply_orders(db, r, line_id, amount, now)) != 0)
            goto Exit;
    } else if (r->in->action == FG_RECON_WRITE_OFF && (rc = write_off(db, r, amount, now)) != 0) {
        goto Exit;
    } else if (r->in->action == FG_RECON_REFUND) {
        if (amount <= 0 || line_id == 0 || r->held_amount != 0) {
            rc = FG_EUNSUPPORTED; /* only a credit at the bank the ledger holds nothing of goes back */
            goto Exit;
        }
        char memo[120];
        snprintf(memo, sizeof(memo), "reconciliation item %lld: to be returned to the payer", (long long)r->item_id);
        fg_journal_t j = {.kind = "payer_refund", .memo = memo};
        fg_journal_add(&j, r->source, 0, r->currency, amount);
        fg_journal_add(&j, "liabilities:payer_refunds", 0, r->currency, -amount);
        if ((rc = fg_ledger_post_now(db, &j, now, &r->journal_id)) != 0)
            goto Exit;
    }
    static const char *const ACTIONS[] = {"accept", "apply", "write_off", "undo", "refund"};
    const char *action = ACTIONS[r->in->action];
    if ((rc = fg_stmt_init(&s, db, SQL_RESOLVE)) != 0)
        goto Exit;
    fg_stmt_cstr(&s, action);
    fg_stmt_cstr(&s, r->actor);
    fg_stmt_int(&s, now);
    fg_stmt_cstr(&s, r->in->note);
    fg_stmt_int_or_null(&s, r->journal_id != 0 ? &r->journal_id : NULL);
    fg_stmt_int(&s, now);
    fg_stmt_int(&s, r->item_id);
    if ((rc = fg_stmt_exec(&s)) != 0)
        goto Exit;
    item_json(&after, r->item_id, state.data, action, amount, r->in->note);
    if ((rc = fg_audit_log(db, r->actor, "reconciliation_item.resolve", object, before.data, after.data)) != 0)
        goto Exit;
    snprintf(r->out->resolution, sizeof(r->out->resolution), "%s", action);
    fg_buf_reset(&r->out->json);
    fg_buf_append(&r->out->json, after.data, after.len);
Exit:
    fg_buf_free(&kind);
    fg_buf_free(&currency);
    fg_buf_free(&gateway);
    fg_buf_free(&account);
    fg_buf_free(&state);
    fg_buf_free(&resolution);
    fg_buf_free(&before);
    fg_buf_free(&after);
    return rc;
}

int fg_recon_resolve(fg_db_t *db, const fg_config_t *cfg, const fg_reconciliation_t *rec, int64_t item_id,
                     const fg_recon_resolution_t *in, const char *actor, fg_recon_resolved_t *out)
{
    if (in->note == NULL || in->note[0] == '\0')
        return FG_EINVALID;
    resolve_t r = {.cfg = cfg, .rec = rec, .item_id = item_id, .in = in, .actor = actor, .out = out};
    return fg_db_tx(db, resolve_tx, &r);
}
