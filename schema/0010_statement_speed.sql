-- 0010_statement_speed: a statement line costs one index fewer to store.
--
-- Every line an import stores is written into each index of statement_lines,
-- a million times for a million lines.  ix_statement_lines_day (account,
-- value_date) serves no query: lines are read by id (matching, reconciliation
-- lists), by statement (the import's recon_items, through
-- ix_statement_lines_statement, which the foreign key needs too), and by
-- account and bank reference (reconcile.c, settlement.c), where the account
-- prefix of uq_statement_lines_key serves as well as this index did.
ALTER TABLE statement_lines DROP INDEX ix_statement_lines_day;
