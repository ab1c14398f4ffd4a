-- 0015_payouts: what the city pays each merchant out of what it collected for them
-- (docs/RECONCILIATION.md, "Payouts to merchants").
--
-- A payout posts, when finance makes it, Dr liabilities:merchant:{id} /
-- Cr liabilities:payouts_in_transit: the merchant is owed that much less,
-- and the money is promised but still in the city's bank.  A batch gathers
-- the payouts not yet in one into a bulk-transfer file for the bank.  The
-- debit line of the bank statement that shows the money leaving (one per
-- payout, or one for a batch's total) is matched by the rule 'payout':
-- Dr liabilities:payouts_in_transit / Cr assets:bank_unreconciled:{account},
-- so that after the statement the ledger holds, in effect, Dr merchant /
-- Cr bank.

-- Where a merchant's money is sent: a Vietnamese bank by its NAPAS BIN, an
-- account number and the account holder's name, set by an admin (audited).
ALTER TABLE merchants
  ADD COLUMN payout_bank_bin     CHAR(6)      NULL,
  ADD COLUMN payout_account_no   VARCHAR(34)  NULL,
  ADD COLUMN payout_account_name VARCHAR(100) NULL;

-- A batch: the payouts of one bulk-transfer file, paid from one of the
-- city's accounts.  Its reference (the public id) names it in the upload,
-- and a statement line that pays the whole batch names it in its memo.
CREATE TABLE payout_batches (
  id              BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  public_id       VARCHAR(40)     NOT NULL,
  -- the public id upper-cased, letters and digits only: how a bank's memo shows it
  match_key       VARCHAR(64)     NOT NULL,
  account         VARCHAR(34)     NOT NULL,
  currency        CHAR(3)         NOT NULL,
  payout_count    INT UNSIGNED    NOT NULL,
  total           BIGINT          NOT NULL,
  status          ENUM('pending','paid') NOT NULL DEFAULT 'pending',
  paid_line_id    BIGINT UNSIGNED NULL,
  paid_item_id    BIGINT UNSIGNED NULL,
  paid_journal_id BIGINT UNSIGNED NULL,
  paid_at         BIGINT          NULL,
  created_by      VARCHAR(300)    NOT NULL,
  created_at      BIGINT          NOT NULL,
  updated_at      BIGINT          NOT NULL,
  PRIMARY KEY (id),
  UNIQUE KEY uq_payout_batches_public_id (public_id),
  CONSTRAINT ck_payout_batches_total CHECK (total BETWEEN 1 AND 1000000000000000 AND payout_count > 0)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- A payout: pending (in no batch yet) -> batched -> paid (a statement line
-- showed the money leave).  The beneficiary is the merchant's payout account
-- as it was when finance made the payout: what was approved is what is sent.
CREATE TABLE payouts (
  id              BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  public_id       VARCHAR(40)     NOT NULL,
  merchant_id     BIGINT UNSIGNED NOT NULL,
  amount          BIGINT          NOT NULL,
  currency        CHAR(3)         NOT NULL,
  reference       VARCHAR(64)     NOT NULL,
  -- the reference upper-cased, letters and digits only: how a bank's memo shows it
  match_key       VARCHAR(64)     NOT NULL,
  status          ENUM('pending','batched','paid') NOT NULL DEFAULT 'pending',
  bank_bin        CHAR(6)         NOT NULL,
  account_no      VARCHAR(34)     NOT NULL,
  account_name    VARCHAR(100)    NOT NULL,
  batch_id        BIGINT UNSIGNED NULL,
  journal_id      BIGINT UNSIGNED NOT NULL,
  paid_line_id    BIGINT UNSIGNED NULL,
  paid_item_id    BIGINT UNSIGNED NULL,
  paid_journal_id BIGINT UNSIGNED NULL,
  paid_at         BIGINT          NULL,
  created_by      VARCHAR(300)    NOT NULL,
  created_at      BIGINT          NOT NULL,
  updated_at      BIGINT          NOT NULL,
  PRIMARY KEY (id),
  UNIQUE KEY uq_payouts_public_id (public_id),
  UNIQUE KEY uq_payouts_reference (merchant_id, reference),
  -- a batch takes the pending payouts in id order (the key ends in the primary key)
  KEY ix_payouts_status (status),
  -- the matching rule's candidates: unpaid payouts of a line's amount
  KEY ix_payouts_unpaid (status, amount),
  KEY ix_payouts_batch (batch_id),
  CONSTRAINT ck_payouts_amount CHECK (amount BETWEEN 1 AND 1000000000000000),
  CONSTRAINT fk_payouts_merchant FOREIGN KEY (merchant_id) REFERENCES merchants (id),
  CONSTRAINT fk_payouts_batch FOREIGN KEY (batch_id) REFERENCES payout_batches (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

ALTER TABLE recon_items
  MODIFY rule ENUM('reference','order_code','amount_date','settlement','payer_refund','payout') NULL;
