-- Reminders and receipt e-mails: a policy per merchant, an outbox of
-- messages to payers, and payers who asked for no more reminders.
--
-- A merchant's policy is a list of steps, each a number of days relative to
-- an order's due day (negative: before it) and a channel, stored in its
-- canonical text form ("-7:email,-1:sms,0:zalo,3:email").
CREATE TABLE reminder_policies (
  merchant_id  BIGINT UNSIGNED NOT NULL,
  steps        VARCHAR(200)    NOT NULL,
  language     ENUM('vi','en') NOT NULL DEFAULT 'vi',
  enabled      TINYINT(1)      NOT NULL DEFAULT 1,
  updated_at   BIGINT          NOT NULL,
  PRIMARY KEY (merchant_id),
  CONSTRAINT fk_reminder_policies_merchant FOREIGN KEY (merchant_id) REFERENCES merchants (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- One message to a payer on one channel.  A reminder belongs to the business
-- day (GMT+7) it is sent on: the unique key on (order_id, send_day) is the
-- "at most one reminder per order per day", and a reminder not sent by the
-- end of its day is cancelled, never carried into the next.  A receipt e-mail
-- has no day (NULL: the key does not hold it) and one row per receipt.
--
-- Sending is claimed: queued -> sending (with a lease) -> sent | failed |
-- cancelled; a sender that dies leaves 'sending' whose lease runs out, and the
-- next claim sends it again under the same public id, which is the provider's
-- idempotency key (eSMS RequestId, Zalo tracking_id, the e-mail's Message-ID).
CREATE TABLE reminders (
  id            BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  public_id     VARCHAR(40)     NOT NULL,
  merchant_id   BIGINT UNSIGNED NOT NULL,
  order_id      BIGINT UNSIGNED NOT NULL,
  kind          ENUM('reminder','receipt') NOT NULL DEFAULT 'reminder',
  receipt_id    VARCHAR(40)     NULL,
  channel       ENUM('email','sms','zalo') NOT NULL,
  recipient     VARCHAR(254)    NOT NULL,
  step_days     SMALLINT        NULL,
  send_day      DATE            NULL,
  language      ENUM('vi','en') NOT NULL DEFAULT 'vi',
  status        ENUM('queued','sending','sent','failed','cancelled') NOT NULL DEFAULT 'queued',
  not_before    BIGINT          NOT NULL,
  lease_until   BIGINT          NULL,
  attempts      INT             NOT NULL DEFAULT 0,
  provider_ref  VARCHAR(64)     NULL,
  last_error    VARCHAR(300)    NULL,
  created_at    BIGINT          NOT NULL,
  sent_at       BIGINT          NULL,
  updated_at    BIGINT          NOT NULL,
  PRIMARY KEY (id),
  UNIQUE KEY uq_reminders_public_id (public_id),
  UNIQUE KEY uq_reminders_day (order_id, send_day),
  UNIQUE KEY uq_reminders_receipt (receipt_id),
  KEY ix_reminders_due (status, not_before),
  CONSTRAINT fk_reminders_merchant FOREIGN KEY (merchant_id) REFERENCES merchants (id),
  CONSTRAINT fk_reminders_order FOREIGN KEY (order_id) REFERENCES orders (id),
  CONSTRAINT ck_reminders_kind CHECK ((kind = 'reminder') = (send_day IS NOT NULL))
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- A payer who followed a reminder's opt-out link: by the merchant's payer
-- reference when the order has one (every bill of that pupil or household),
-- else by the order.
CREATE TABLE reminder_opt_outs (
  merchant_id  BIGINT UNSIGNED NOT NULL,
  payer_key    VARCHAR(80)     NOT NULL,
  created_at   BIGINT          NOT NULL,
  PRIMARY KEY (merchant_id, payer_key),
  CONSTRAINT fk_reminder_opt_outs_merchant FOREIGN KEY (merchant_id) REFERENCES merchants (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
