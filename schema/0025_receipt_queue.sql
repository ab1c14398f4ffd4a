-- Receipts are numbered by a job, not by the payment's transaction: the
-- payment writes one row here (in a group commit, with the group's other
-- rows, at once) and names its receipt (payments.receipt_id); the issuer
-- claims rows with SKIP LOCKED and, in one transaction per batch, takes each
-- merchant's numbers from its series' counter (locked to COMMIT, so a
-- rollback gives them back: no gap), writes the receipts and deletes the
-- rows.  A read of a receipt still queued issues it first, so nobody sees a
-- receipt id that does not open.  What the receipt says of the payment is
-- kept here as it was when the payment succeeded.
CREATE TABLE receipt_queue (
  receipt_public_id VARCHAR(40)     NOT NULL,
  payment_id        BIGINT UNSIGNED NOT NULL,
  merchant_id       BIGINT UNSIGNED NOT NULL,
  amount            BIGINT          NOT NULL,
  currency          CHAR(3)         NOT NULL,
  method            VARCHAR(16)     NOT NULL,
  provider_ref      VARCHAR(64)     NULL,
  paid_at           BIGINT          NOT NULL,
  PRIMARY KEY (receipt_public_id),
  UNIQUE KEY uq_receipt_queue_payment (payment_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
