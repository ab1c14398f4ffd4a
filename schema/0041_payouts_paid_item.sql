-- 0041_payouts_paid_item: the payouts a reconciliation item paid, by index.
--
-- Closing a reconciliation tells each merchant whose payouts a matched debit
-- line of the period paid (reconciliation.completed: payouts,
-- payout_amount; services/recon/reconcile.c).  That read joins the period's
-- items to payouts on paid_item_id, which had no index: each close read the
-- whole payouts table.
ALTER TABLE payouts
  ADD KEY ix_payouts_paid_item (paid_item_id);
