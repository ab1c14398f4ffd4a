/*
 * payouts_match.c - the matching job's rule 'payout': the debit line that
 * shows a merchant payout leave the city's bank (docs/RECONCILIATION.md,
 * "Payouts to merchants").
 *
 * The batch file gives each transfer the memo "<reference> <payout id>"; a
 * bank pays a batch either as one debit line per transfer or as one line for
 * the batch's total, its memo naming the batch (its id, the upload's
 * description).  Banks rewrite memos: upper case, diacritics and punctuation
 * gone, spaces moved, the memo cut short.  So a line is read as its letters
 * and digits, upper-cased, with the word boundaries of the original
 * (fg_payout_text): an id or a reference is named when it stands there as
 * whole words, whatever separates its parts.  In order:
 *
 *   1. a payout id the line names, unpaid, of the line's amount;
 *   2. a batch id the line names, unpaid, of the line's amount as its total,
 *      every payout of it still unpaid;
 *   3. the one unpaid payout of the line's amount whose reference the line
 *      names (two such: ambiguous, an exception for staff);
 *
 * a batched payout only from its batch's account.  The match posts
 *
 *     Dr liabilities:payouts_in_transit              amount
 *     Cr assets:bank_unreconciled:{account}          amount
 *
 * (the import posted the line Dr unreconciled / Cr bank), so the ledger
 * holds, in effect, Dr merchant / Cr bank, and marks the payout(s) paid with
 * the line and its item.  A line that names a payout or batch that does not
 * fit (another amount, paid already, another account) is an exception
 * saying so; one that names none is left to the other rules.
 */
#include "recon/recon_internal.h"

#include <assert.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/ids.h"
#include "ledger/ledger.h"

/* Ids one line is read for (a memo that lists more is read that far). */
#define NAMED_MAX 8
/* Unpaid payouts of one amount held against a line's texts by their
 * reference: beyond this, the oldest are; a line for a newer one waits for
 * a reconciliation to send it back to matching. */
#define CANDIDATES_MAX 1000
/* The texts of a line: memo, bank reference, end-to-end id. */
#define TEXTS 3

#define STATUS_SQL(column) "(FIELD(" column ", 'pending', 'batched', 'paid') - 1)"

/* ---- reading a bank's text ---------------------------------------------------------- */

static const char *str(const fg_buf_t *b) { return b->data != NULL ? b->data : ""; }
static int is_alnum(char c) { return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'); }
static char upper(char c) { return c >= 'a' && c <= 'z' ? (char)(c - 'a' + 'A') : c; }

size_t fg_payout_match_key(const char *text, size_t len, char out[FG_PAYOUT_MATCH_KEY_MAX + 1])
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        if (!is_alnum(text[i]))
            continue;
        if (n < FG_PAYOUT_MATCH_KEY_MAX)
            out[n] = upper(text[i]);
        n++;
    }
    out[n < FG_PAYOUT_MATCH_KEY_MAX ? n : FG_PAYOUT_MATCH_KEY_MAX] = '\0';
    return n;
}

void fg_payout_text(const char *text, size_t len, fg_payout_text_t *out)
{
    int boundary = 1;
    out->len = 0;
    for (size_t i = 0; i < len && out->len < FG_PAYOUT_TEXT_MAX; i++) {
        if (!is_alnum(text[i])) { /* a space, punctuation, a byte of a non-ASCII letter */
            boundary = 1;
            continue;
        }
        out->word_start[out->len] = (unsigned char)boundary;
        out->key[out->len++] = upper(text[i]);
        boundary = 0;
    }
    out->word_start[out->len] = 1;
}

int fg_payout_text_names(const fg_payout_text_t *t, const char *key, size_t klen)
{
    if (klen == 0 || klen > t->len)
        return 0;
    for (size_t i = 0; i + klen <= t->len; i++)
        if (t->word_start[i] && t->word_start[i + klen] && memcmp(t->key + i, key, klen) == 0)
            return 1;
    return 0;
}

/* Appends prefix + the 26 symbols at t->key[at..] to list when they are a
 * whole id not listed yet. */
static void id_at(const fg_payout_text_t *t, size_t at, const char *prefix, char (*list)[FG_ID_CAP], int *count,
                  int max)
{
    char id[FG_ID_CAP];
    if (*count >= max || at + FG_ULID_LEN > t->len || !t->word_start[at + FG_ULID_LEN])
        return;
    int n = snprintf(id, sizeof(id), "%s%.*s", prefix, FG_ULID_LEN, t->key + at);
    if (!fg_id_valid(prefix, id, (size_t)n))
        return;
    for (int i = 0; i < *count; i++)
        if (strcmp(list[i], id) == 0)
            return;
    memcpy(list[(*count)++], id, (size_t)n + 1);
}

void fg_payout_text_ids(const fg_payout_text_t *t, char (*payouts)[FG_ID_CAP], int *payout_count,
                        char (*batches)[FG_ID_CAP], int *batch_count, int max)
{
    /* "po_" + ULID reads "PO" + 26 symbols, "pob_" + ULID "POB" + 26: a
     * ULID never starts with B (its first symbol is 0-7) */
    for (size_t i = 0; i + 2 <= t->len; i++) {
        if (!t->word_start[i] || t->key[i] != 'P' || t->key[i + 1] != 'O')
            continue;
        if (i + 2 < t->len && t->key[i + 2] == 'B')
            id_at(t, i + 3, "pob_", batches, batch_count, max);
        else
            id_at(t, i + 2, "po_", payouts, payout_count, max);
    }
}

/* ---- the rule ------------------------------------------------------------------------ */

/* clang-format off */
static const char SQL_NAMED_PAYOUT[] =
    "SELECT p.id, p.amount, p.currency, " STATUS_SQL("p.status") ", COALESCE(p.batch_id, 0), COALESCE(b.account, "
    "''), COALESCE(p.paid_line_id, 0) FROM payouts p LEFT JOIN payout_batches b ON b.id = p.batch_id "
    "WHERE p.public_id = ?";
static const char SQL_CANDIDATES[] =
    "SELECT p.id, p.public_id, p.match_key, COALESCE(p.batch_id, 0) FROM payouts p LEFT JOIN payout_batches b ON "
    "b.id = p.batch_id WHERE p.status IN ('pending', 'batched') AND p.amount = ? AND p.currency = ? AND "
    "(p.batch_id IS NULL OR b.account = ?) ORDER BY p.id LIMIT ?";
static const char SQL_BATCH_LOCK[] = "SELECT id, account, currency, total, payout_count, status = 'paid', "
                                     "COALESCE(paid_line_id, 0) FROM payout_batches WHERE public_id = ? FOR UPDATE";
static const char SQL_BATCH_LOCK_ID[] = "SELECT id FROM payout_batches WHERE id = ? FOR UPDATE";
static const char SQL_PAYOUT_LOCK[] =
    "SELECT " STATUS_SQL("status") ", COALESCE(batch_id, 0), amount, public_id FROM payouts WHERE id = ? FOR UPDATE";
/* clang-format on */
static const char SQL_BATCH_UNPAID[] =
    "SELECT COUNT(*), COALESCE(SUM(amount), 0) FROM payouts WHERE batch_id = ? AND status = 'batched'";
static const char SQL_PAID_PAYOUT[] = "UPDATE payouts SET status = 'paid', paid_line_id = ?, paid_item_id = ?, "
                                      "paid_journal_id = ?, paid_at = ?, updated_at = ? WHERE id = ?";
static const char SQL_PAID_BATCH_PAYOUTS[] =
    "UPDATE payouts SET status = 'paid', paid_line_id = ?, paid_item_id = ?, paid_journal_id = ?, paid_at = ?, "
    "updated_at = ? WHERE batch_id = ? AND status = 'batched'";
static const char SQL_PAID_BATCH[] = "UPDATE payout_batches SET status = 'paid', paid_line_id = ?, paid_item_id = ?, "
                                     "paid_journal_id = ?, paid_at = ?, updated_at = ? WHERE id = ?";
/* A batch whose payouts were paid one line each is paid with the last. */
static const char SQL_BATCH_DONE[] =
    "UPDATE payout_batches SET status = 'paid', paid_at = ?, updated_at = ? WHERE id = ? AND status = 'pending' AND "
    "NOT EXISTS (SELECT 1 FROM payouts WHERE batch_id = ? AND status <> 'paid')";

typedef struct {
    fg_db_t *db;
    const fg_recon_line_t *line;
    int64_t item_id, amount, now; /* amount: what left, > 0 */
    fg_payout_text_t texts[TEXTS];
    fg_recon_payout_result_t *out;
    /* the first reason a named payout or batch did not fit */
    const char *why_state;
    char why[300];
} rule_t;

static void not_fit(rule_t *r, const char *state, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void not_fit(rule_t *r, const char *state, const char *fmt, ...)
{
    if (r->why_state != NULL)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->why, sizeof(r->why), fmt, ap);
    va_end(ap);
    r->why_state = state;
}

static void decided(rule_t *r, const char *state, const char *detail)
{
    r->out->decided = 1;
    r->out->state = state;
    snprintf(r->out->detail, sizeof(r->out->detail), "%s", detail);
}

/* Dr liabilities:payouts_in_transit, Cr where the line's money sits (the
 * unreconciled account since its import). */
static int post_paid(rule_t *r, const char *what)
{
    char source[FG_ACCOUNT_CODE_MAX + 1], memo[200];
    const fg_recon_line_t *l = r->line;
    if (l->unapplied)
        snprintf(source, sizeof(source), "liabilities:unapplied");
    else
        fg_recon_unreconciled_account(l->account, source);
    snprintf(memo, sizeof(memo), "statement line %lld: %s left the bank", (long long)l->line_id, what);
    fg_journal_t j = {.kind = "payout_paid", .memo = memo};
    fg_journal_add(&j, FG_PAYOUT_IN_TRANSIT_ACCOUNT, 0, l->currency, r->amount);
    fg_journal_add(&j, source, 0, l->currency, -r->amount);
    return fg_ledger_post_now(r->db, &j, r->now, &r->out->journal_id);
}

/* Pays the payout with row id, which an unlocked read found in batch (0:
 * none): the batch's row is locked first, as a whole batch's match locks it,
 * then the payout's.  1 paid; 0 paid meanwhile by another line; or < 0
 * (FG_ERETRY: it was batched meanwhile, run the match again). */
static int pay_payout(rule_t *r, int64_t id, int64_t batch, const char *how)
{
    fg_stmt_t s;
    fg_buf_t public_id = FG_BUF_INIT;
    fg_payout_status_t status = FG_PAYOUT_PENDING;
    int64_t batch_now = 0, amount = 0, one = 0;
    char what[120];
    int rc = 0;
    if (batch != 0) {
        if ((rc = fg_stmt_init(&s, r->db, SQL_BATCH_LOCK_ID)) != 0)
            goto Exit;
        fg_stmt_int(&s, batch);
        fg_stmt_out_int(&s, &one, NULL);
        if ((rc = fg_stmt_one(&s)) != 0)
            goto Exit;
    }
    if ((rc = fg_stmt_init(&s, r->db, SQL_PAYOUT_LOCK)) != 0)
        goto Exit;
    fg_stmt_int(&s, id);
    fg_stmt_out_enum(&s, &status, FG_PAYOUT_STATUS_COUNT);
    fg_stmt_out_int(&s, &batch_now, NULL);
    fg_stmt_out_int(&s, &amount, NULL);
    fg_stmt_out_text(&s, &public_id, NULL);
    if ((rc = fg_stmt_one(&s)) != 0)
        goto Exit;
    if (status == FG_PAYOUT_PAID)
        goto Exit; /* rc 0: another line paid it first */
    if (batch_now != batch) {
        rc = FG_ERETRY;
        goto Exit;
    }
    assert(amount == r->amount && "a payout is paid only by a line of its amount");
    snprintf(what, sizeof(what), "payout %s", str(&public_id));
    if ((rc = post_paid(r, what)) != 0 || (rc = fg_stmt_init(&s, r->db, SQL_PAID_PAYOUT)) != 0)
        goto Exit;
    fg_stmt_int(&s, r->line->line_id);
    fg_stmt_int(&s, r->item_id);
    fg_stmt_int(&s, r->out->journal_id);
    fg_stmt_int(&s, r->now);
    fg_stmt_int(&s, r->now);
    fg_stmt_int(&s, id);
    if ((rc = fg_stmt_exec(&s)) != 0)
        goto Exit;
    if (batch != 0) {
        if ((rc = fg_stmt_init(&s, r->db, SQL_BATCH_DONE)) != 0)
            goto Exit;
        fg_stmt_int(&s, r->now);
        fg_stmt_int(&s, r->now);
        fg_stmt_int(&s, batch);
        fg_stmt_int(&s, batch);
        if ((rc = fg_stmt_exec(&s)) != 0)
            goto Exit;
    }
    char detail[200];
    snprintf(detail, sizeof(detail), "payout %s left the bank (named by its %s)", str(&public_id), how);
    decided(r, "matched", detail);
    rc = 1;
Exit:
    fg_buf_free(&public_id);
    return rc;
}

/* 1. The payouts the line names by id.  1 when one was paid, else 0 (why
 * not, noted) or < 0. */
static int by_payout_id(rule_t *r, char (*ids)[FG_ID_CAP], int count)
{
    fg_stmt_t s;
    fg_buf_t currency = FG_BUF_INIT, account = FG_BUF_INIT;
    int rc = 0;
    for (int i = 0; i < count && rc == 0; i++) {
        int64_t id = 0, amount = 0, batch = 0, paid_line = 0;
        fg_payout_status_t status = FG_PAYOUT_PENDING;
        if ((rc = fg_stmt_init(&s, r->db, SQL_NAMED_PAYOUT)) != 0)
            break;
        fg_stmt_cstr(&s, ids[i]);
        fg_stmt_out_int(&s, &id, NULL);
        fg_stmt_out_int(&s, &amount, NULL);
        fg_stmt_out_text(&s, &currency, NULL);
        fg_stmt_out_enum(&s, &status, FG_PAYOUT_STATUS_COUNT);
        fg_stmt_out_int(&s, &batch, NULL);
        fg_stmt_out_text(&s, &account, NULL);
        fg_stmt_out_int(&s, &paid_line, NULL);
        if ((rc = fg_stmt_one(&s)) == FG_ENOTFOUND) {
            rc = 0; /* letters that only look like an id */
            continue;
        }
        if (rc != 0)
            break;
        if (status == FG_PAYOUT_PAID)
            not_fit(r, "bank_only", "names payout %s, paid already by statement line %lld", ids[i],
                    (long long)paid_line);
        else if (strcmp(str(&currency), r->line->currency) != 0 || amount != r->amount)
            not_fit(r, "amount_mismatch", "names payout %s of %lld %s, the line is %lld", ids[i], (long long)amount,
                    str(&currency), (long long)r->amount);
        else if (batch != 0 && strcmp(str(&account), r->line->account) != 0)
            not_fit(r, "bank_only", "names payout %s, which its batch pays from account %s", ids[i], str(&account));
        else
            rc = pay_payout(r, id, batch, "id");
    }
    fg_buf_free(&currency);
    fg_buf_free(&account);
    return rc;
}

/* The whole of batch id (count payouts, all unpaid, counted under its lock)
 * paid by the line: one journal for the total, each payout and the batch
 * paid.  1, or < 0. */
static int batch_paid(rule_t *r, int64_t id, int64_t count, const char *public_id)
{
    fg_stmt_t s;
    char detail[200];
    snprintf(detail, sizeof(detail), "payout batch %s", public_id);
    int rc = post_paid(r, detail);
    if (rc != 0)
        return rc;
    const char *sql[] = {SQL_PAID_BATCH_PAYOUTS, SQL_PAID_BATCH};
    for (int k = 0; k < 2; k++) {
        if ((rc = fg_stmt_init(&s, r->db, sql[k])) != 0)
            return rc;
        fg_stmt_int(&s, r->line->line_id);
        fg_stmt_int(&s, r->item_id);
        fg_stmt_int(&s, r->out->journal_id);
        fg_stmt_int(&s, r->now);
        fg_stmt_int(&s, r->now);
        fg_stmt_int(&s, id);
        if ((rc = fg_stmt_exec(&s)) != 0)
            return rc;
        if (k == 0 && fg_stmt_affected(&s) != (uint64_t)count)
            return FG_ERETRY; /* counted under the lock: never */
    }
    snprintf(detail, sizeof(detail), "payout batch %s left the bank: %lld payouts", public_id, (long long)count);
    decided(r, "matched", detail);
    return 1;
}

/* 2. A batch the line names by id, paid whole.  1 when paid, else 0 (why
 * not, noted) or < 0. */
static int by_batch(rule_t *r, const char *public_id)
{
    fg_stmt_t s;
    fg_buf_t account = FG_BUF_INIT, currency = FG_BUF_INIT;
    int64_t id = 0, total = 0, count = 0, paid = 0, paid_line = 0, unpaid = 0, unpaid_sum = 0;
    int rc = fg_stmt_init(&s, r->db, SQL_BATCH_LOCK);
    if (rc != 0)
        goto Exit;
    fg_stmt_cstr(&s, public_id);
    fg_stmt_out_int(&s, &id, NULL);
    fg_stmt_out_text(&s, &account, NULL);
    fg_stmt_out_text(&s, &currency, NULL);
    fg_stmt_out_int(&s, &total, NULL);
    fg_stmt_out_int(&s, &count, NULL);
    fg_stmt_out_int(&s, &paid, NULL);
    fg_stmt_out_int(&s, &paid_line, NULL);
    if ((rc = fg_stmt_one(&s)) != 0) {
        rc = rc == FG_ENOTFOUND ? 0 : rc;
        goto Exit;
    }
    if (paid) {
        not_fit(r, "bank_only", "names payout batch %s, paid already", public_id);
        goto Exit;
    }
    if (strcmp(str(&account), r->line->account) != 0) {
        not_fit(r, "bank_only", "names payout batch %s, paid from account %s", public_id, str(&account));
        goto Exit;
    }
    if (strcmp(str(&currency), r->line->currency) != 0 || total != r->amount) {
        not_fit(r, "amount_mismatch", "names payout batch %s of %lld %s, the line is %lld", public_id, (long long)total,
                str(&currency), (long long)r->amount);
        goto Exit;
    }
    /* under the batch's lock: no line pays one of its payouts meanwhile */
    if ((rc = fg_stmt_init(&s, r->db, SQL_BATCH_UNPAID)) != 0)
        goto Exit;
    fg_stmt_int(&s, id);
    fg_stmt_out_int(&s, &unpaid, NULL);
    fg_stmt_out_int(&s, &unpaid_sum, NULL);
    if ((rc = fg_stmt_one(&s)) != 0)
        goto Exit;
    if (unpaid != count || unpaid_sum != total) {
        not_fit(r, "bank_only", "names payout batch %s, but %lld of its %lld payouts were paid by lines of their own",
                public_id, (long long)(count - unpaid), (long long)count);
        goto Exit;
    }
    rc = batch_paid(r, id, count, public_id);
Exit:
    fg_buf_free(&account);
    fg_buf_free(&currency);
    return rc;
}

/* Whether any of the line's texts names key. */
static int line_names(const rule_t *r, const char *key, size_t klen)
{
    for (int i = 0; i < TEXTS; i++)
        if (fg_payout_text_names(&r->texts[i], key, klen))
            return 1;
    return 0;
}

/* 3. The one unpaid payout of the line's amount whose reference the line
 * names.  1 when decided, else 0 or < 0. */
static int by_reference(rule_t *r)
{
    fg_stmt_t s;
    fg_buf_t public_id = FG_BUF_INIT, key = FG_BUF_INIT;
    int64_t id = 0, batch = 0, found_id[2] = {0}, found_batch[2] = {0};
    char found[2][FG_ID_CAP];
    int n = 0;
    int rc = fg_stmt_init(&s, r->db, SQL_CANDIDATES);
    if (rc != 0)
        return rc;
    fg_stmt_int(&s, r->amount);
    fg_stmt_cstr(&s, r->line->currency);
    fg_stmt_cstr(&s, r->line->account);
    fg_stmt_int(&s, CANDIDATES_MAX);
    fg_stmt_out_int(&s, &id, NULL);
    fg_stmt_out_text(&s, &public_id, NULL);
    fg_stmt_out_text(&s, &key, NULL);
    fg_stmt_out_int(&s, &batch, NULL);
    if ((rc = fg_stmt_exec(&s)) != 0)
        goto Exit;
    while ((rc = fg_stmt_fetch(&s)) == 1) {
        if (!line_names(r, str(&key), key.len))
            continue;
        found_id[n] = id;
        found_batch[n] = batch;
        snprintf(found[n], sizeof(found[n]), "%s", str(&public_id));
        if (++n == 2) {
            fg_stmt_done(&s);
            break;
        }
    }
    if (rc < 0 || n == 0) {
        rc = rc < 0 ? rc : 0;
        goto Exit;
    }
    if (n == 2) {
        char detail[300];
        snprintf(detail, sizeof(detail),
                 "names the reference of several unpaid payouts of %lld (%s, %s, …): which one left is not known",
                 (long long)r->amount, found[0], found[1]);
        decided(r, "bank_only", detail);
        rc = 1;
        goto Exit;
    }
    rc = pay_payout(r, found_id[0], found_batch[0], "reference");
Exit:
    fg_buf_free(&public_id);
    fg_buf_free(&key);
    return rc;
}

int fg_recon_by_merchant_payout(fg_db_t *db, const fg_recon_line_t *line, int64_t item_id, int64_t now,
                                fg_recon_payout_result_t *out)
{
    char payouts[NAMED_MAX][FG_ID_CAP], batches[NAMED_MAX][FG_ID_CAP];
    int payout_count = 0, batch_count = 0, rc = 0;
    memset(out, 0, sizeof(*out));
    if (line->amount >= 0 || line->amount == INT64_MIN)
        return 0;                         /* money leaving is a debit */
    rule_t *r = fg_calloc(1, sizeof(*r)); /* three texts: 12 KiB, off a worker's stack */
    r->db = db;
    r->line = line;
    r->item_id = item_id;
    r->amount = -line->amount;
    r->now = now;
    r->out = out;
    fg_payout_text(line->memo, line->memo_len, &r->texts[0]);
    fg_payout_text(line->bank_ref, strlen(line->bank_ref), &r->texts[1]);
    fg_payout_text(line->end_to_end, strlen(line->end_to_end), &r->texts[2]);
    for (int i = 0; i < TEXTS; i++)
        fg_payout_text_ids(&r->texts[i], payouts, &payout_count, batches, &batch_count, NAMED_MAX);
    if ((rc = by_payout_id(r, payouts, payout_count)) != 0)
        goto Exit;
    for (int i = 0; i < batch_count && rc == 0; i++)
        rc = by_batch(r, batches[i]);
    if (rc != 0 || (rc = by_reference(r)) != 0)
        goto Exit;
    if (r->why_state != NULL)
        decided(r, r->why_state, r->why);
Exit:
    free(r);
    return rc < 0 ? rc : 0;
}
