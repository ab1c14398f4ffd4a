-- 0034_merchant_payouts_made: a payout writes its merchant's row
-- (services/recon/payouts.c).
--
-- A payout checks the merchant's balance under the merchant row's lock.  On a
-- Galera cluster that lock is the node's own: two payouts of one merchant on
-- two nodes would each see the whole balance, and with no row written by both
-- they would both certify and commit, paying the balance out twice.  Each
-- payout now adds one to payouts_made on that row, so the second to commit
-- fails certification (a deadlock, re-run, which then sees the first).
ALTER TABLE merchants
  ADD COLUMN payouts_made BIGINT UNSIGNED NOT NULL DEFAULT 0;
