-- 0002_ledger: the double-entry ledger, payments, refunds, the inbound
-- webhook inbox, staff users, tokens and the audit log.

-- One account per (code, currency).  Codes follow DESIGN §2:
-- assets:clearing:{adapter}, assets:bank:{account}, liabilities:merchant:{id},
-- liabilities:unapplied, expenses:fees:{adapter}.
CREATE TABLE ledger_accounts (
  id          BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  code        VARCHAR(128)    NOT NULL,
  currency    CHAR(3)         NOT NULL,
  kind        ENUM('asset','liability','income','expense') NOT NULL,
  merchant_id BIGINT UNSIGNED NULL,
  created_at  BIGINT          NOT NULL,
  PRIMARY KEY (id),
  UNIQUE KEY uq_ledger_accounts_code (code, currency)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- A journal is one business event; its entries sum to zero per currency.
CREATE TABLE journals (
  id          BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  public_id   VARCHAR(40)     NOT NULL,
  kind        VARCHAR(32)     NOT NULL,
  payment_id  BIGINT UNSIGNED NULL,
  refund_id   BIGINT UNSIGNED NULL,
  reverses_id BIGINT UNSIGNED NULL,
  memo        VARCHAR(500)    NULL,
  created_at  BIGINT          NOT NULL,
  PRIMARY KEY (id),
  UNIQUE KEY uq_journals_public_id (public_id),
  -- at most one posting per payment and per refund, enforced by the database
  UNIQUE KEY uq_journals_payment (kind, payment_id),
  UNIQUE KEY uq_journals_refund (kind, refund_id),
  KEY ix_journals_created (created_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- Signed amounts: debit positive, credit negative.
CREATE TABLE ledger_entries (
  id          BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  journal_id  BIGINT UNSIGNED NOT NULL,
  account_id  BIGINT UNSIGNED NOT NULL,
  amount      BIGINT          NOT NULL,
  currency    CHAR(3)         NOT NULL,
  created_at  BIGINT          NOT NULL,
  PRIMARY KEY (id),
  KEY ix_entries_account (account_id, id),
  KEY ix_entries_journal (journal_id),
  CONSTRAINT ck_entries_amount CHECK (amount <> 0)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- Balance checkpoints: the sum of an account's entries with id <= upto_entry_id.
-- A balance is the newest checkpoint plus the entries after it; no row is
-- updated by every payment.
CREATE TABLE ledger_checkpoints (
  account_id    BIGINT UNSIGNED NOT NULL,
  upto_entry_id BIGINT UNSIGNED NOT NULL,
  balance       BIGINT          NOT NULL,
  as_of         BIGINT          NOT NULL,
  entry_count   BIGINT          NOT NULL,
  PRIMARY KEY (account_id, upto_entry_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

DELIMITER $$
CREATE TRIGGER ledger_entries_no_update BEFORE UPDATE ON ledger_entries FOR EACH ROW
BEGIN
  SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'ledger_entries is append-only: post a reversing journal';
END$$
CREATE TRIGGER ledger_entries_no_delete BEFORE DELETE ON ledger_entries FOR EACH ROW
BEGIN
  SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'ledger_entries is append-only: post a reversing journal';
END$$
CREATE TRIGGER journals_no_update BEFORE UPDATE ON journals FOR EACH ROW
BEGIN
  SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'journals are append-only: post a reversing journal';
END$$
CREATE TRIGGER journals_no_delete BEFORE DELETE ON journals FOR EACH ROW
BEGIN
  SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'journals are append-only: post a reversing journal';
END$$
CREATE TRIGGER ledger_checkpoints_no_update BEFORE UPDATE ON ledger_checkpoints FOR EACH ROW
BEGIN
  SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'ledger_checkpoints are append-only';
END$$
DELIMITER ;

CREATE TABLE payments (
  id               BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  public_id        VARCHAR(40)     NOT NULL,
  order_id         BIGINT UNSIGNED NOT NULL,
  merchant_id      BIGINT UNSIGNED NOT NULL,
  adapter          VARCHAR(16)     NOT NULL,
  amount           BIGINT          NOT NULL,
  amount_received  BIGINT          NULL,
  amount_applied   BIGINT          NOT NULL DEFAULT 0,
  amount_unapplied BIGINT          NOT NULL DEFAULT 0,
  currency         CHAR(3)         NOT NULL,
  amount_refunded  BIGINT          NOT NULL DEFAULT 0,
  amount_refunding BIGINT          NOT NULL DEFAULT 0,
  status           ENUM('pending','succeeded','failed','expired') NOT NULL DEFAULT 'pending',
  provider_txn_id  VARCHAR(64)     NULL,
  provider_payload MEDIUMTEXT      NULL,
  failure_reason   VARCHAR(200)    NULL,
  created_at       BIGINT          NOT NULL,
  updated_at       BIGINT          NOT NULL,
  PRIMARY KEY (id),
  UNIQUE KEY uq_payments_public_id (public_id),
  UNIQUE KEY uq_payments_provider_txn (adapter, provider_txn_id),
  KEY ix_payments_order (order_id),
  KEY ix_payments_pending (status, adapter, created_at),
  CONSTRAINT ck_payments_refunds CHECK (amount_refunded >= 0 AND amount_refunding >= 0
    AND amount_refunded + amount_refunding <= COALESCE(amount_received, 0))
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE refunds (
  id                BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  public_id         VARCHAR(40)     NOT NULL,
  payment_id        BIGINT UNSIGNED NOT NULL,
  merchant_id       BIGINT UNSIGNED NOT NULL,
  amount            BIGINT          NOT NULL,
  currency          CHAR(3)         NOT NULL,
  status            ENUM('pending','succeeded','failed') NOT NULL DEFAULT 'pending',
  reason            VARCHAR(500)    NULL,
  provider_refund_id VARCHAR(64)    NULL,
  created_at        BIGINT          NOT NULL,
  updated_at        BIGINT          NOT NULL,
  PRIMARY KEY (id),
  UNIQUE KEY uq_refunds_public_id (public_id),
  KEY ix_refunds_payment (payment_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- Every inbound notification is recorded: with its effect in the same
-- transaction, or on its own when rejected or failed.  Only verified
-- requests carry a provider event id, so a forger cannot squat on one.
CREATE TABLE webhook_inbox (
  id                BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  adapter           VARCHAR(16)     NOT NULL,
  provider_event_id VARCHAR(128)    NULL,
  status            ENUM('applied','duplicate','rejected','failed') NOT NULL,
  reason            VARCHAR(200)    NULL,
  method            VARCHAR(8)      NOT NULL,
  query             TEXT            NULL,
  headers           TEXT            NULL,
  body              MEDIUMBLOB      NULL,
  response_status   SMALLINT        NOT NULL,
  response_body     TEXT            NULL,
  received_at       BIGINT          NOT NULL,
  PRIMARY KEY (id),
  UNIQUE KEY uq_inbox_event (adapter, provider_event_id),
  KEY ix_inbox_received (received_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE staff_users (
  id            BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  public_id     VARCHAR(40)     NOT NULL,
  email         VARCHAR(254)    NOT NULL,
  role          ENUM('finance','auditor','admin') NOT NULL,
  password_hash VARCHAR(255)    NOT NULL,
  created_at    BIGINT          NOT NULL,
  disabled_at   BIGINT          NULL,
  PRIMARY KEY (id),
  UNIQUE KEY uq_staff_public_id (public_id),
  UNIQUE KEY uq_staff_email (email)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE staff_tokens (
  id          BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  user_id     BIGINT UNSIGNED NOT NULL,
  token_hash  BINARY(32)      NOT NULL,
  created_at  BIGINT          NOT NULL,
  expires_at  BIGINT          NOT NULL,
  revoked_at  BIGINT          NULL,
  PRIMARY KEY (id),
  UNIQUE KEY uq_staff_tokens_hash (token_hash),
  CONSTRAINT fk_staff_tokens_user FOREIGN KEY (user_id) REFERENCES staff_users (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE audit_log (
  id          BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  actor       VARCHAR(254)    NOT NULL,
  action      VARCHAR(64)     NOT NULL,
  object      VARCHAR(64)     NULL,
  before_json MEDIUMTEXT      NULL,
  after_json  MEDIUMTEXT      NULL,
  created_at  BIGINT          NOT NULL,
  PRIMARY KEY (id),
  KEY ix_audit_created (created_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
