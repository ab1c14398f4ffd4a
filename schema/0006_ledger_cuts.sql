-- 0006_ledger_cuts: balance checkpoints taken on a proven cut.
--
-- The checkpoints of 0002 were cut by entry time (created_at before a
-- horizon) but recorded as "every entry up to id N".  Ids are handed out at
-- INSERT, stamps when a transaction's body runs, and a group commit inserts at
-- COMMIT, so an entry with an id below N could carry a stamp after the horizon:
-- covered by the checkpoint without being in its sum.  Balances read from such
-- a checkpoint were wrong.
--
-- Checkpoints are append-only, so the wrong rows are not corrected in place:
-- the old table is kept, renamed, for the record (`feegate ledger check`
-- counts how many of its rows were wrong) and is never read again.  The new
-- table's rows belong to an epoch; balances read only the newest epoch.
-- `feegate ledger rebuild-checkpoints` opens a new, empty epoch and fills it:
-- a repair that appends, never edits.  Every checkpoint of the new table
-- covers exactly the entries with id <= upto_entry_id, cut at an id below
-- which nothing can still commit (services/db/settle.h).
RENAME TABLE ledger_checkpoints TO ledger_checkpoints_superseded;
-- its trigger moved with it; the name goes to the new table's
DROP TRIGGER ledger_checkpoints_no_update;
CREATE TRIGGER ledger_checkpoints_superseded_no_update BEFORE UPDATE ON ledger_checkpoints_superseded FOR EACH ROW
  SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'superseded checkpoints are kept for the record';
CREATE TRIGGER ledger_checkpoints_superseded_no_delete BEFORE DELETE ON ledger_checkpoints_superseded FOR EACH ROW
  SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'superseded checkpoints are kept for the record';

CREATE TABLE ledger_checkpoint_epochs (
  id          BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  actor       VARCHAR(254)    NOT NULL,
  reason      VARCHAR(200)    NOT NULL,
  created_at  BIGINT          NOT NULL,
  PRIMARY KEY (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

INSERT INTO ledger_checkpoint_epochs (actor, reason, created_at)
  VALUES ('migrate', 'migration 0006: checkpoints cut at a settled entry id', UNIX_TIMESTAMP(NOW(3)) * 1000);

-- balance: the sum of the account's entries with id <= upto_entry_id (debit
-- positive); entry_count: how many; as_of: the latest created_at among them,
-- so a balance "at" time t may start from a checkpoint only if as_of <= t.
CREATE TABLE ledger_checkpoints (
  epoch_id      BIGINT UNSIGNED NOT NULL,
  account_id    BIGINT UNSIGNED NOT NULL,
  upto_entry_id BIGINT UNSIGNED NOT NULL,
  balance       BIGINT          NOT NULL,
  as_of         BIGINT          NOT NULL,
  entry_count   BIGINT          NOT NULL,
  created_at    BIGINT          NOT NULL,
  PRIMARY KEY (epoch_id, account_id, upto_entry_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TRIGGER ledger_checkpoints_no_update BEFORE UPDATE ON ledger_checkpoints FOR EACH ROW
  SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'ledger_checkpoints are append-only: rebuild into a new epoch';
CREATE TRIGGER ledger_checkpoints_no_delete BEFORE DELETE ON ledger_checkpoints FOR EACH ROW
  SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'ledger_checkpoints are append-only: rebuild into a new epoch';
CREATE TRIGGER ledger_checkpoint_epochs_no_update BEFORE UPDATE ON ledger_checkpoint_epochs FOR EACH ROW
  SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'ledger_checkpoint_epochs are append-only';
CREATE TRIGGER ledger_checkpoint_epochs_no_delete BEFORE DELETE ON ledger_checkpoint_epochs FOR EACH ROW
  SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'ledger_checkpoint_epochs are append-only';

-- A probe row per connection that proves a read of INNODB_TRX fresh
-- (services/db/settle.h): inserted in a transaction that is always rolled
-- back, so the table stays empty.
CREATE TABLE settle_probes (
  connection_id BIGINT UNSIGNED NOT NULL,
  PRIMARY KEY (connection_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
