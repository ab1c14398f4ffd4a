-- 0037_webhook_delivery_retention: deliveries that ended (delivered, or
-- failed after their retries) are kept as the endpoint's history for
-- webhooks.deliveries_retain_days (90 by default; 0 keeps them for ever),
-- then deleted oldest first by the sweeper, a bounded batch at a time
-- (services/webhooks/events.c).  Pending deliveries have no completed_at and
-- are never deleted; the events stay, and may be redelivered.
ALTER TABLE webhook_deliveries
  ADD KEY ix_webhook_deliveries_completed (completed_at);
