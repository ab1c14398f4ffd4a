/*
 * recon_counts.h - what one reconciliation item counts for in its bank
 * account's business day (recon_day_totals, schema/0026): the columns, and
 * the same counts summed over items as SQL (p: the items' table prefix, ""
 * or "i."), and the items as one derived table.  The triggers of schema/0026 keep the table; the import adds the
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

/* Statement lines the import matched as it stored them (schema/0029) have
 * no recon_items row: each is a matched bank_line item of its account on its
 * value day (the line's amount, the feed's payment, rule 'reference').  Their
 * public item id is FG_RECON_LINE_ITEM_BASE + the line's id: one id space
 * with the rows' ids (AUTO_INCREMENT, far below), so a list of items pages
 * on one key. */
#define FG_RECON_LINE_ITEM_BASE ((int64_t)1 << 50)
#define FG_RECON_LINE_ITEM_BASE_SQL "1125899906842624"
#define FG_RECON_LINE_ITEM_DETAIL "the bank feed recorded this transfer"

/* Every item with the columns FG_RECON_COUNTS reads, as a derived table:
 * recon_items' rows (items_where: "" or "WHERE ...") and the lines matched as
 * stored (lines_where: "" or "AND ..." on statement_lines). */
#define FG_RECON_ALL_ITEMS(items_where, lines_where)                                                                   \
    "(SELECT kind, account, business_day, amount, state, resolution FROM recon_items " items_where                     \
    " UNION ALL SELECT 'bank_line', account, value_date, amount, 'matched', NULL FROM statement_lines WHERE "          \
    "payment_id IS NOT NULL " lines_where ")"

#endif
