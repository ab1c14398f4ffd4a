-- 0042_statements_late_closing: a statement whose closing day was closed
-- already when it was imported.
--
-- A closed day never changes (docs/RECONCILIATION.md, "Resolving and
-- closing").  The summary of a day (reports, a reconciliation) and `feegate
-- ledger check` read the day's bank closing as the closing of its last
-- statement; a statement of a closed day imported afterwards (the bank's
-- end-of-day export again, a corrected export with new lines) keeps its
-- closing as the bank sent it, but marked here: it is not the closed day's
-- closing, which stays the one the day closed with.  The import writes it,
-- under the account's lock, so it is exact where comparing times is not.
ALTER TABLE statements
  ADD COLUMN late_closing TINYINT NOT NULL DEFAULT 0 AFTER gap;
