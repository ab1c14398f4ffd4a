-- 0013_import_matches: what a statement's import matched as it stored it.
--
-- A line whose bank reference is a transfer the SePay feed recorded at the
-- same amount is matched as its item is written (recon/match.c, rule 1): the
-- item keeps the feed's payment, and the statement the one journal that moved
-- those lines out of the unreconciled account.
ALTER TABLE recon_items ADD COLUMN payment_id BIGINT UNSIGNED NULL AFTER journal_id;
ALTER TABLE statements ADD COLUMN match_journal_id BIGINT UNSIGNED NULL AFTER gap;
