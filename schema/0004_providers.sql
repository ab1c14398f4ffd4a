-- 0004_providers: asking providers about payments still pending.
--
-- A VNPay or MoMo payment whose notification has not arrived after
-- payments.pending_query_after_s is queried (querydr / query) by a background
-- job in every instance.  The job claims due rows with FOR UPDATE SKIP LOCKED
-- and moves next_query_at forward before calling the provider, so instances
-- never query one payment at the same time; query_count drives the backoff.
ALTER TABLE payments
  ADD COLUMN next_query_at BIGINT       NULL AFTER failure_reason,
  ADD COLUMN query_count   INT UNSIGNED NOT NULL DEFAULT 0 AFTER next_query_at;
