-- 0005_refund_queries: asking providers about refunds whose outcome is not known.
--
-- A refund through a provider whose answer was lost (a timeout or reset after
-- the request was sent, an HTTP 5xx, an unreadable or unsigned answer, a
-- "still processing" code) stays pending with its reservation.  The status
-- query job asks the provider about it (VNPay querydr naming the refund's
-- request id, MoMo refund/query) and settles it.  next_query_at is the next
-- time it may be asked: set to a lease beyond the provider call when the
-- refund is written (so the job never asks while our own call is in flight),
-- moved forward by the job before each query; query_count drives the backoff.
ALTER TABLE refunds
  ADD COLUMN next_query_at BIGINT       NULL AFTER provider_refund_id,
  ADD COLUMN query_count   INT UNSIGNED NOT NULL DEFAULT 0 AFTER next_query_at,
  ADD KEY ix_refunds_pending (status, next_query_at);
