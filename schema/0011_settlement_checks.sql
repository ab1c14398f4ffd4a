-- 0011_settlement_checks: gateway payouts settled at the configured fee
-- schedule, and each settlement row held against our payments
-- (docs/RECONCILIATION.md, "Gateway settlements").
--
-- A batch is stored from the gateway's settlement file ('file'), or, for a
-- payout line whose file has not arrived (VNPSTLyyyymmdd, MOMOSTLyyyymmdd),
-- made by the matching job from the gateway's transactions of that business
-- day at the fee schedule ('schedule'): its rows are those transactions, so
-- they count as settled like a file's.
ALTER TABLE settlement_batches
  ADD COLUMN source ENUM('file','schedule') NOT NULL DEFAULT 'file' AFTER gateway,
  -- a schedule batch: the business day (GMT+7) whose transactions it paid
  ADD COLUMN business_day INT NULL AFTER currency;

-- The business day (GMT+7) of a row's transaction_time, so a batch knows the
-- days it covers: a succeeded payment of those days that no batch lists is
-- the gateway's omission.
ALTER TABLE settlement_rows
  ADD COLUMN transaction_day INT NULL AFTER order_ref,
  ADD KEY ix_settlement_rows_day (batch_id, transaction_day);

-- When a file's batch settles its payout line, each row is held against the
-- ledger; a difference is an item of its own, on the payout line's account
-- and business day, until staff accept it or write it off:
--   bank_only        the gateway lists a transaction the ledger lacks (or one
--                    another batch listed already): amount = the row's;
--   amount_mismatch  the row's amount differs from our transaction's:
--                    amount = the gateway's figure - ours;
--   ledger_only      a succeeded payment (or refund) of the batch's days that
--                    no batch lists: amount = - ours.
-- so a write-off posts the amount to assets:clearing:{gateway} against the
-- write-off account, and the clearing account ends at zero for the batch.
ALTER TABLE recon_items
  MODIFY kind ENUM('bank_line','ledger_posting','balance_gap','settlement_row') NOT NULL,
  ADD COLUMN gateway VARCHAR(16) NULL AFTER statement_id,
  ADD COLUMN settlement_batch_id BIGINT UNSIGNED NULL AFTER gateway,
  ADD COLUMN transaction_no VARCHAR(64) NULL AFTER settlement_batch_id,
  ADD KEY ix_recon_items_settlement (gateway, transaction_no);
