/*
 * recon_counts.h - what one reconciliation item counts for in its bank
 * account's business day (recon_day_totals, schema/0026): the columns, and
 * the same counts summed over items as SQL (p: the items' table prefix, ""
 * or "i.").  The triggers of schema/0026 keep the table; the import adds the
 * statement lines it inserts (recon/totals.c); `feegate ledger check` holds
 * the table against the items; `feegate reports rebuild` recounts it.
 */
#ifndef FG_RECON_COUNTS_H
#define FG_RECON_COUNTS_H

#define FG_RECON_COUNT_COLUMNS                                                                                         \
    "items, line_count, credits, debits, matched, suggested, bank_only, ledger_only, amount_mismatch, duplicate, "     \
    "resolved, open_items"
#define FG_RECON_COUNTS_N 12
#define FG_RECON_COUNTS_ZERO "0 0 0 0 0 0 0 0 0 0 0 0"

#define FG_RECON_COUNTS(p)                                                                                             \
    "COUNT(*), SUM(" p "kind = 'bank_line'), SUM(IF(" p "kind = 'bank_line' AND " p "amount > 0, " p "amount, 0)), "   \
    "SUM(IF(" p "kind = 'bank_line' AND " p "amount < 0, -" p "amount, 0)), SUM(" p "state = 'matched'), "             \
    "SUM(" p "state = 'suggested'), SUM(" p "state = 'bank_only'), SUM(" p "state = 'ledger_only'), "                  \
    "SUM(" p "state = 'amount_mismatch'), SUM(" p "state = 'duplicate'), SUM(" p "resolution IS NOT NULL), "           \
    "SUM(" p "state <> 'matched' AND " p "resolution IS NULL)"

#endif
