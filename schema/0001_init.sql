-- 0001_init: merchants, API keys, payment orders, idempotency keys, events.
--
-- Conventions: InnoDB, utf8mb4 (binary collation: codes and refs compare
-- byte-for-byte), a BIGINT AUTO_INCREMENT primary key on every table (it grows
-- with time, so InnoDB appends at the right edge of the clustered index), the
-- public prefixed ULID in a unique column, money in BIGINT minor units, and
-- times as BIGINT Unix milliseconds UTC (no session time-zone surprises).

CREATE TABLE merchants (
  id          BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  public_id   VARCHAR(40)     NOT NULL,
  name        VARCHAR(200)    NOT NULL,
  created_at  BIGINT          NOT NULL,
  PRIMARY KEY (id),
  UNIQUE KEY uq_merchants_public_id (public_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- An API key is shown once; only its SHA-256 is kept.
CREATE TABLE api_keys (
  id           BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  merchant_id  BIGINT UNSIGNED NOT NULL,
  key_hash     BINARY(32)      NOT NULL,
  key_prefix   VARCHAR(16)     NOT NULL,
  created_at   BIGINT          NOT NULL,
  revoked_at   BIGINT          NULL,
  PRIMARY KEY (id),
  UNIQUE KEY uq_api_keys_hash (key_hash),
  KEY ix_api_keys_merchant (merchant_id),
  CONSTRAINT fk_api_keys_merchant FOREIGN KEY (merchant_id) REFERENCES merchants (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE orders (
  id               BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  public_id        VARCHAR(40)     NOT NULL,
  merchant_id      BIGINT UNSIGNED NOT NULL,
  merchant_ref     VARCHAR(64)     NOT NULL,
  fee_type         ENUM('tuition','utility','procedure') NOT NULL,
  category         VARCHAR(64)     NULL,
  amount           BIGINT          NOT NULL,
  currency         CHAR(3)         NOT NULL,
  amount_paid      BIGINT          NOT NULL DEFAULT 0,
  amount_refunded  BIGINT          NOT NULL DEFAULT 0,
  allow_partial    TINYINT(1)      NOT NULL DEFAULT 0,
  status           ENUM('open','partially_paid','paid','cancelled','expired') NOT NULL DEFAULT 'open',
  payer_name       VARCHAR(200)    NULL,
  payer_ref        VARCHAR(64)     NULL,
  payer_phone      VARCHAR(32)     NULL,
  payer_email      VARCHAR(254)    NULL,
  description      VARCHAR(1000)   NULL,
  due_at           BIGINT          NULL,
  expires_at       BIGINT          NULL,
  metadata         TEXT            NULL,
  code             CHAR(11)        NOT NULL,
  created_at       BIGINT          NOT NULL,
  updated_at       BIGINT          NOT NULL,
  PRIMARY KEY (id),
  UNIQUE KEY uq_orders_public_id (public_id),
  UNIQUE KEY uq_orders_code (code),
  UNIQUE KEY uq_orders_merchant_ref (merchant_id, merchant_ref),
  KEY ix_orders_merchant_status (merchant_id, status, id),
  KEY ix_orders_expiry (status, expires_at),
  CONSTRAINT ck_orders_amount CHECK (amount BETWEEN 1 AND 1000000000000000),
  CONSTRAINT ck_orders_paid CHECK (amount_paid >= 0 AND amount_refunded >= 0 AND amount_refunded <= amount_paid),
  CONSTRAINT fk_orders_merchant FOREIGN KEY (merchant_id) REFERENCES merchants (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- Idempotency keys: the first answer, replayed byte-for-byte for 24 h.
-- state 'done' rows carry the answer; 'running' rows mark work that spans
-- more than one transaction (a provider call) and lock the key meanwhile.
CREATE TABLE idempotency_keys (
  id            BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  scope         VARCHAR(48)     NOT NULL,
  idem_key      VARBINARY(255)  NOT NULL,
  fingerprint   BINARY(32)      NOT NULL,
  state         ENUM('running','done') NOT NULL,
  status_code   SMALLINT        NOT NULL DEFAULT 0,
  response_body MEDIUMBLOB      NULL,
  created_at    BIGINT          NOT NULL,
  expires_at    BIGINT          NOT NULL,
  PRIMARY KEY (id),
  UNIQUE KEY uq_idempotency_scope_key (scope, idem_key),
  KEY ix_idempotency_expires (expires_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- The outbox: what merchants are told, written in the transaction that made
-- the change.
CREATE TABLE events (
  id           BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  public_id    VARCHAR(40)     NOT NULL,
  merchant_id  BIGINT UNSIGNED NOT NULL,
  type         VARCHAR(40)     NOT NULL,
  order_id     BIGINT UNSIGNED NULL,
  payload      MEDIUMTEXT      NOT NULL,
  created_at   BIGINT          NOT NULL,
  PRIMARY KEY (id),
  UNIQUE KEY uq_events_public_id (public_id),
  KEY ix_events_merchant (merchant_id, id),
  KEY ix_events_order (order_id, id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
