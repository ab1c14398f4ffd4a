-- E-receipts (biên lai điện tử for fees and charges): one per succeeded
-- payment, issued in the transaction that marks the payment succeeded.
--
-- The collecting unit's receipt settings live on its merchant row.  A NULL
-- unit name means the merchant's name; a NULL tax code or address is left
-- off the receipt.  Form symbol and serial have defaults a staff admin
-- replaces (POST /v1/merchants/{id}/receipt-settings).
ALTER TABLE merchants
  ADD COLUMN receipt_unit_name VARCHAR(200) NULL,
  ADD COLUMN receipt_tax_code  VARCHAR(14)  NULL,
  ADD COLUMN receipt_address   VARCHAR(400) NULL,
  ADD COLUMN receipt_form      VARCHAR(11)  NOT NULL DEFAULT '01BLP0-001',
  ADD COLUMN receipt_serial    VARCHAR(11)  NOT NULL DEFAULT 'BL-26E';

-- The receipt of a succeeded payment, set in the same UPDATE that marks it
-- succeeded; NULL until then.
ALTER TABLE payments ADD COLUMN receipt_id VARCHAR(40) NULL;

-- One gapless series per merchant and serial: the row is locked by the
-- transaction that takes a number (INSERT … ON DUPLICATE KEY UPDATE) and
-- held to its COMMIT, so a rollback gives the number back.  A settings
-- change to another serial starts (or continues) that serial's own row.
CREATE TABLE receipt_counters (
  merchant_id  BIGINT UNSIGNED NOT NULL,
  serial       VARCHAR(11)     NOT NULL,
  last_number  BIGINT          NOT NULL,
  PRIMARY KEY (merchant_id, serial),
  CONSTRAINT fk_receipt_counters_merchant FOREIGN KEY (merchant_id) REFERENCES merchants (id),
  CONSTRAINT ck_receipt_counters_range CHECK (last_number BETWEEN 1 AND 9999999)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- A receipt is a document as issued: the unit, payer and fee are copied, not
-- joined, so later changes to the merchant or order never alter it.
CREATE TABLE receipts (
  id             BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  public_id      VARCHAR(40)     NOT NULL,
  merchant_id    BIGINT UNSIGNED NOT NULL,
  payment_id     BIGINT UNSIGNED NOT NULL,
  order_id       BIGINT UNSIGNED NOT NULL,
  kind           ENUM('original','replacement','adjustment') NOT NULL DEFAULT 'original',
  status         ENUM('issued','adjusted','replaced','cancelled') NOT NULL DEFAULT 'issued',
  related_id     BIGINT UNSIGNED NULL,
  form           VARCHAR(11)     NOT NULL,
  serial         VARCHAR(11)     NOT NULL,
  number         INT UNSIGNED    NOT NULL,
  unit_name      VARCHAR(200)    NOT NULL,
  unit_tax_code  VARCHAR(14)     NULL,
  unit_address   VARCHAR(400)    NULL,
  payer_name     VARCHAR(200)    NULL,
  payer_ref      VARCHAR(64)     NULL,
  bill_ref       VARCHAR(64)     NOT NULL,
  fee_type       VARCHAR(16)     NOT NULL,
  description    VARCHAR(1000)   NULL,
  amount         BIGINT          NOT NULL,
  currency       CHAR(3)         NOT NULL,
  method         VARCHAR(16)     NOT NULL,
  provider_ref   VARCHAR(64)     NULL,
  paid_at        BIGINT          NOT NULL,
  issued_at      BIGINT          NOT NULL,
  issued_day     DATE            NOT NULL,
  -- at most one original per payment; adjustments and replacements are many
  original_of    BIGINT UNSIGNED AS (IF(kind = 'original', payment_id, NULL)) PERSISTENT,
  PRIMARY KEY (id),
  UNIQUE KEY uq_receipts_public_id (public_id),
  UNIQUE KEY uq_receipts_number (merchant_id, serial, number),
  UNIQUE KEY uq_receipts_original (original_of),
  KEY ix_receipts_merchant (merchant_id, id),
  KEY ix_receipts_payment (payment_id),
  CONSTRAINT fk_receipts_merchant FOREIGN KEY (merchant_id) REFERENCES merchants (id),
  CONSTRAINT fk_receipts_payment FOREIGN KEY (payment_id) REFERENCES payments (id),
  CONSTRAINT fk_receipts_order FOREIGN KEY (order_id) REFERENCES orders (id),
  CONSTRAINT fk_receipts_related FOREIGN KEY (related_id) REFERENCES receipts (id),
  CONSTRAINT ck_receipts_number CHECK (number BETWEEN 1 AND 9999999)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- A receipt is never deleted, and once issued only its status changes (an
-- adjustment or replacement references it; a cancelled one stays readable).
DELIMITER $$
CREATE TRIGGER receipts_no_delete BEFORE DELETE ON receipts FOR EACH ROW
BEGIN
  SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'receipts are never deleted: issue an adjustment or replacement';
END$$
CREATE TRIGGER receipts_status_only BEFORE UPDATE ON receipts FOR EACH ROW
BEGIN
  IF NOT (NEW.public_id <=> OLD.public_id AND NEW.merchant_id <=> OLD.merchant_id
          AND NEW.payment_id <=> OLD.payment_id AND NEW.kind <=> OLD.kind AND NEW.form <=> OLD.form
          AND NEW.serial <=> OLD.serial AND NEW.number <=> OLD.number AND NEW.amount <=> OLD.amount
          AND NEW.unit_name <=> OLD.unit_name AND NEW.unit_tax_code <=> OLD.unit_tax_code
          AND NEW.payer_name <=> OLD.payer_name AND NEW.issued_at <=> OLD.issued_at) THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'an issued receipt changes only its status';
  END IF;
END$$
DELIMITER ;
