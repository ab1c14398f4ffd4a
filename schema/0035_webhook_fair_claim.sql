-- 0035_webhook_fair_claim: each endpoint's due deliveries in due order
-- (services/webhooks/dispatch.c).
--
-- The delivery worker claims the longest-due deliveries first.  When those
-- belong to endpoints already at their in-flight cap (a slow receiver with a
-- backlog, or a merchant with many endpoints), it looks past them: one loose
-- scan of this index names every endpoint with due deliveries (one dive per
-- endpoint, however long its backlog), and each such endpoint's own due rows
-- are read from it in due order.
ALTER TABLE webhook_deliveries
  ADD KEY ix_webhook_deliveries_endpoint_due (status, endpoint_id, next_attempt_at);
