-- A succeeded refund's adjustment receipt (kind 'adjustment', a negative
-- amount referencing the payment's original), issued in the transaction
-- that marks the refund succeeded; NULL for a pending or failed refund, and
-- for a refund of a payment that has no original receipt.
ALTER TABLE refunds ADD COLUMN receipt_id VARCHAR(40) NULL;
