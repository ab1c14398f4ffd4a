-- 0003_webhooks: outbound merchant webhooks (DESIGN §6).
--
-- The `events` outbox of 0001 is fanned out into one delivery per (event,
-- endpoint); every instance's delivery worker claims due deliveries with
-- FOR UPDATE SKIP LOCKED and POSTs them.  Same conventions as 0001: BIGINT
-- keys, public ULIDs, times in Unix milliseconds UTC.

-- A merchant's receiving URL.  The secret must be kept in the clear (it signs
-- every delivery); the API shows it once, at creation and at rotation.
-- During a rotation the previous secret keeps signing (a second v1= value)
-- until previous_secret_expires_at.
CREATE TABLE webhook_endpoints (
  id                          BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  public_id                   VARCHAR(40)     NOT NULL,
  merchant_id                 BIGINT UNSIGNED NOT NULL,
  url                         VARCHAR(2048)   NOT NULL,
  -- subscribed event types, comma-separated, or '*' for every type
  events                      VARCHAR(1000)   NOT NULL,
  description                 VARCHAR(500)    NULL,
  status                      ENUM('enabled','disabled') NOT NULL DEFAULT 'enabled',
  -- why it is disabled: by the merchant, or after failing for 3 days
  disabled_reason             ENUM('merchant','failing') NULL,
  secret                      VARCHAR(100)    NOT NULL,
  previous_secret             VARCHAR(100)    NULL,
  previous_secret_expires_at  BIGINT          NULL,
  -- first failed attempt since the last delivered one (NULL: healthy)
  failing_since               BIGINT          NULL,
  created_at                  BIGINT          NOT NULL,
  updated_at                  BIGINT          NOT NULL,
  deleted_at                  BIGINT          NULL,
  PRIMARY KEY (id),
  UNIQUE KEY uq_webhook_endpoints_public_id (public_id),
  KEY ix_webhook_endpoints_merchant (merchant_id, id),
  CONSTRAINT fk_webhook_endpoints_merchant FOREIGN KEY (merchant_id) REFERENCES merchants (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- One event to one endpoint.  redelivery is 0 for the fan-out's row and n for
-- the n-th POST /v1/events/{id}/redeliver, so the unique key makes fan-out
-- idempotent while still allowing redeliveries.
--
-- status 'pending' covers both "waiting for next_attempt_at" and "attempt in
-- flight": claiming an attempt moves next_attempt_at forward by the lease, so
-- an attempt whose worker died is claimed again once the lease has run out.
-- next_attempt_at NULL parks a pending delivery while its endpoint is
-- disabled.  Completing an attempt is conditional on `attempts` still being
-- the number claimed, so a late answer never overwrites a newer attempt.
CREATE TABLE webhook_deliveries (
  id                  BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  public_id           VARCHAR(40)     NOT NULL,
  endpoint_id         BIGINT UNSIGNED NOT NULL,
  event_id            BIGINT UNSIGNED NOT NULL,
  order_id            BIGINT UNSIGNED NULL,
  redelivery          INT UNSIGNED    NOT NULL DEFAULT 0,
  status              ENUM('pending','delivered','failed') NOT NULL DEFAULT 'pending',
  attempts            INT UNSIGNED    NOT NULL DEFAULT 0,
  next_attempt_at     BIGINT          NULL,
  last_attempt_at     BIGINT          NULL,
  last_status_code    SMALLINT        NULL,
  last_error          VARCHAR(255)    NULL,
  last_response_body  VARBINARY(1024) NULL,
  event_created_at    BIGINT          NOT NULL,
  created_at          BIGINT          NOT NULL,
  completed_at        BIGINT          NULL,
  PRIMARY KEY (id),
  UNIQUE KEY uq_webhook_deliveries_public_id (public_id),
  UNIQUE KEY uq_webhook_deliveries_event (event_id, endpoint_id, redelivery),
  KEY ix_webhook_deliveries_due (status, next_attempt_at),
  -- "is an earlier event of this order still pending at this endpoint?"
  KEY ix_webhook_deliveries_order (endpoint_id, order_id, status, event_id),
  KEY ix_webhook_deliveries_endpoint (endpoint_id, id),
  CONSTRAINT fk_webhook_deliveries_endpoint FOREIGN KEY (endpoint_id) REFERENCES webhook_endpoints (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- The fan-out's high-water mark: every event with id <= last_event_id has
-- been fanned out, except the ids listed in webhook_fanout_gaps.  One row,
-- locked with FOR UPDATE SKIP LOCKED by whichever instance fans out.
CREATE TABLE webhook_fanout (
  id             TINYINT UNSIGNED NOT NULL,
  last_event_id  BIGINT UNSIGNED  NOT NULL,
  updated_at     BIGINT           NOT NULL,
  PRIMARY KEY (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

INSERT INTO webhook_fanout (id, last_event_id, updated_at) VALUES (1, 0, 0);

-- Event ids skipped by the high-water mark: an AUTO_INCREMENT id taken by a
-- transaction that had not committed yet when a later id was seen.  Each is
-- looked for again on every round until it appears (then fanned out) or its
-- transaction must long be over (then it was rolled back and is forgotten).
CREATE TABLE webhook_fanout_gaps (
  event_id    BIGINT UNSIGNED NOT NULL,
  noticed_at  BIGINT          NOT NULL,
  PRIMARY KEY (event_id),
  KEY ix_webhook_fanout_gaps_noticed (noticed_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
