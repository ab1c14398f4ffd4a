-- 0029_line_matches: a statement line matched as it is stored carries its
-- match itself (docs/RECONCILIATION.md, "Lines matched as they are stored").
--
-- Most lines of a collection account are transfers the bank feed (SePay)
-- recorded already, each with the payment it made.  The import matches them
-- as it stores them (rule 1: the feed's transfer, same reference and amount)
-- and such a line was a recon_items row that never changed again: half of an
-- import's rows and most of its index writes.  Now the line keeps the
-- payment (`payment_id`, written with the line, never changed: the line
-- stays append-only) and has no recon_items row; it is a matched bank_line
-- item on its value day wherever items are read (ledger/recon_counts.h: the
-- summary, the items list, the day totals and their rebuild, the reports,
-- the change feed, the ledger check, the merchants a closed day notifies).  Every other line (not the feed's, a duplicate, a
-- debit, a line of a closed day, a payout) has its item as before; a line
-- never has both.
--
-- ix_statement_lines_day serves the period reads of those matched lines
-- (the summary and the items list of a reconciliation).
ALTER TABLE statement_lines
  ADD COLUMN payment_id BIGINT UNSIGNED NULL AFTER duplicate,
  ADD KEY ix_statement_lines_day (account, value_date);
