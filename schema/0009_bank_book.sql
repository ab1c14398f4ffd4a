-- 0009_bank_book: the bank account in the ledger mirrors its statements
-- (docs/RECONCILIATION.md, "The bank account in the ledger").
--
-- Every statement line posts, when imported, Dr assets:bank:{account} /
-- Cr assets:bank_unreconciled:{account} (one journal per statement and
-- business day).  Reconciliation then moves each line's amount out of the
-- unreconciled account to where the money belongs: a matched transfer or
-- payout to its clearing account, a resolution to unapplied money, a
-- write-off or a payer refund.  So the ledger's bank account always equals
-- what the bank says, and assets:bank_unreconciled:{account} holds exactly
-- what reconciliation has not explained yet.
--
-- The first opening balance of an account comes from
-- equity:opening_balances:{account}; an opening that differs from the
-- ledger's bank balance of the day before is a gap, posted against the
-- unreconciled account and listed as an item to resolve.
ALTER TABLE ledger_accounts MODIFY kind ENUM('asset','liability','income','expense','equity') NOT NULL;

-- The bank account's postings by business day (GMT+7), so its ledger balance
-- at the end of any day is one indexed sum: what `feegate ledger check`
-- holds against the closing balance of every closed day.
CREATE TABLE bank_postings (
  id            BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  account       VARCHAR(34)     NOT NULL,
  currency      CHAR(3)         NOT NULL,
  day           INT             NOT NULL,
  kind          ENUM('lines','opening','gap') NOT NULL,
  statement_id  BIGINT UNSIGNED NOT NULL,
  amount        BIGINT          NOT NULL,
  journal_id    BIGINT UNSIGNED NOT NULL,
  created_at    BIGINT          NOT NULL,
  PRIMARY KEY (id),
  KEY ix_bank_postings_day (account, day),
  KEY ix_bank_postings_statement (statement_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- A gap between a statement's opening and the ledger's bank balance is an
-- item of its own; every item knows its currency and the journal that moved
-- its amount out of the unreconciled account when it matched.
ALTER TABLE recon_items
  MODIFY kind ENUM('bank_line','ledger_posting','balance_gap') NOT NULL,
  ADD COLUMN statement_id BIGINT UNSIGNED NULL AFTER transfer_ref,
  ADD COLUMN currency CHAR(3) NOT NULL DEFAULT 'VND' AFTER amount,
  ADD COLUMN journal_id BIGINT UNSIGNED NULL AFTER rule;

-- A credit line that names no order (bank_only, suggested, or naming orders
-- that owe another amount) is money all the same: the matching job records
-- it as unapplied (Dr unreconciled, Cr liabilities:unapplied) and says so
-- here; a later match or resolution takes it from there.
ALTER TABLE recon_items ADD COLUMN unapplied TINYINT NOT NULL DEFAULT 0 AFTER journal_id;

-- The matching job claims unmatched items in id order (recon/match.c).
ALTER TABLE recon_items DROP INDEX ix_recon_items_work, ADD INDEX ix_recon_items_work (state, id);

-- Lines are held against settlement batches by reference as they come in.
ALTER TABLE settlement_batches ADD KEY ix_settlement_batches_ref (batch_ref);
