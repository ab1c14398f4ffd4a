-- 0038_merchant_endpoints_made: creating a webhook endpoint writes its
-- merchant's row (services/webhooks/endpoints.c).
--
-- A merchant may have 16 live endpoints, counted under the merchant row's
-- lock.  On a Galera cluster that lock is the node's own: two creates on two
-- nodes would each count 15 and both commit, making 17.  Each create now adds
-- one to endpoints_made on that row, so the second to commit fails
-- certification (a deadlock, re-run, which then counts the first), as
-- payouts_made does for payouts (0034).
ALTER TABLE merchants
  ADD COLUMN endpoints_made BIGINT UNSIGNED NOT NULL DEFAULT 0;
