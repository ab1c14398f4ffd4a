-- 0008_reconciliation: what reconciliation made of each statement line
-- (docs/DESIGN.md §7).
--
-- recon_items: one row per statement line (and, later, per ledger posting
-- the bank never showed), in exactly one state.  A line starts 'unmatched';
-- the matching job claims unmatched items (lease_until, FOR UPDATE SKIP
-- LOCKED, so any number of instances share the work) and moves each to
-- matched, suggested, bank_only or amount_mismatch, recording the rule.
-- recon_links: the payments and orders an item matched, or suggests.
-- bank_transfers: one money, one effect.  A credit transfer to a collection
-- account is applied once, keyed by the bank's own reference, whichever of
-- the bank feed (SePay) and a statement brings it first; the second finds
-- the row and matches the payment the first made.
CREATE TABLE recon_items (
  id            BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  kind          ENUM('bank_line','ledger_posting') NOT NULL,
  line_id       BIGINT UNSIGNED NULL,
  -- a ledger_posting item: the bank reference of the transfer the feed applied
  transfer_ref  VARCHAR(100)    NULL,
  account       VARCHAR(100)    NOT NULL,
  business_day  INT             NOT NULL,
  amount        BIGINT          NOT NULL,
  state         ENUM('unmatched','matched','suggested','bank_only','ledger_only','amount_mismatch','duplicate')
                NOT NULL,
  rule          ENUM('reference','order_code','amount_date','settlement') NULL,
  detail        VARCHAR(300)    NULL,
  lease_until   BIGINT          NULL,
  -- a staff resolution of an exception (audited in audit_log)
  resolution    ENUM('apply','write_off','accept','refund') NULL,
  resolved_by   VARCHAR(254)    NULL,
  resolved_at   BIGINT          NULL,
  note          VARCHAR(1000)   NULL,
  -- the journal the resolution posted (a write-off, an apply's rest), which undo reverses
  resolution_journal_id BIGINT UNSIGNED NULL,
  created_at    BIGINT          NOT NULL,
  updated_at    BIGINT          NOT NULL,
  PRIMARY KEY (id),
  UNIQUE KEY uq_recon_items_line (line_id),
  UNIQUE KEY uq_recon_items_transfer (account, transfer_ref),
  KEY ix_recon_items_work (state, lease_until),
  KEY ix_recon_items_day (account, business_day, state)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE recon_links (
  item_id       BIGINT UNSIGNED NOT NULL,
  seq           INT UNSIGNED    NOT NULL,
  payment_id    BIGINT UNSIGNED NULL,
  order_id      BIGINT UNSIGNED NULL,
  amount        BIGINT          NOT NULL,
  suggested     TINYINT         NOT NULL,
  PRIMARY KEY (item_id, seq),
  KEY ix_recon_links_payment (payment_id),
  CONSTRAINT fk_recon_links_item FOREIGN KEY (item_id) REFERENCES recon_items (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE bank_transfers (
  account       VARCHAR(100)    NOT NULL,
  bank_ref      VARCHAR(100)    NOT NULL,
  source        ENUM('feed','statement') NOT NULL,
  payment_id    BIGINT UNSIGNED NULL,
  amount        BIGINT          NOT NULL,
  created_at    BIGINT          NOT NULL,
  PRIMARY KEY (account, bank_ref)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- A reconciliation: an account over a period of business days (GMT+7), as
-- staff asked for it.  Creating one sends the period's undecided lines back
-- to the matching job (payments may have arrived since); its summary and
-- items are read live from recon_items.
CREATE TABLE reconciliations (
  id            BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  public_id     VARCHAR(40)     NOT NULL,
  account       VARCHAR(34)     NOT NULL,
  from_day      INT             NOT NULL,
  to_day        INT             NOT NULL,
  created_by    VARCHAR(300)    NOT NULL,
  created_at    BIGINT          NOT NULL,
  PRIMARY KEY (id),
  UNIQUE KEY uq_reconciliations_public_id (public_id),
  KEY ix_reconciliations_account (account, from_day)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- A closed business day of an account: every item of it was matched or
-- resolved when it closed, and it never changes afterwards; a line for it
-- that arrives later is reconciled on the next open day (recon/import.c).
CREATE TABLE recon_closed_days (
  account            VARCHAR(100)    NOT NULL,
  day                INT             NOT NULL,
  reconciliation_id  BIGINT UNSIGNED NOT NULL,
  closed_by          VARCHAR(254)    NOT NULL,
  closed_at          BIGINT          NOT NULL,
  PRIMARY KEY (account, day)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- Gateway settlements: a gateway (VNPay, MoMo) pays a day's collections to
-- the bank in one batch, net of its fees, and lists the batch's transactions
-- in a settlement file.  The payout line on the statement, once its batch is
-- known, posts Dr assets:bank:{account} (net), Dr expenses:fees:{gateway}
-- (fees), Cr assets:clearing:{gateway} (gross).
CREATE TABLE settlement_batches (
  id            BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  gateway       VARCHAR(16)     NOT NULL,
  batch_ref     VARCHAR(64)     NOT NULL,
  currency      CHAR(3)         NOT NULL,
  row_count     INT UNSIGNED    NOT NULL,
  gross         BIGINT          NOT NULL,
  fees          BIGINT          NOT NULL,
  net           BIGINT          NOT NULL,
  line_id       BIGINT UNSIGNED NULL,
  journal_id    BIGINT UNSIGNED NULL,
  imported_by   VARCHAR(300)    NOT NULL,
  created_at    BIGINT          NOT NULL,
  PRIMARY KEY (id),
  UNIQUE KEY uq_settlement_batches_ref (gateway, batch_ref)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE settlement_rows (
  batch_id        BIGINT UNSIGNED NOT NULL,
  seq             INT UNSIGNED    NOT NULL,
  transaction_no  VARCHAR(64)     NOT NULL,
  order_ref       VARCHAR(64)     NOT NULL,
  kind            ENUM('payment','refund') NOT NULL,
  amount          BIGINT          NOT NULL,
  fee             BIGINT          NOT NULL,
  net             BIGINT          NOT NULL,
  PRIMARY KEY (batch_id, seq),
  KEY ix_settlement_rows_txn (transaction_no),
  CONSTRAINT fk_settlement_rows_batch FOREIGN KEY (batch_id) REFERENCES settlement_batches (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
