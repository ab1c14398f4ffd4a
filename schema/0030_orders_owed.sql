-- 0030_orders_owed: rule 3 of statement matching reads an index, not every
-- open order (docs/RECONCILIATION.md, "Rules").
--
-- A credit no earlier rule decided is offered the open orders that owe
-- exactly its amount (services/recon/match.c, by_amount_and_date).  Owed is
-- amount - amount_paid, which no index held, so the question read every open
-- and partially paid order: 0.1 s per such line with 300,000 open orders,
-- growing with the table, inside the matching transaction.  `owed` is that
-- difference while the order can still be paid (NULL once it is paid,
-- cancelled or expired), written by MariaDB with the row (STORED: computed
-- once per write, never at read, and purge never recomputes it), and
-- ix_orders_owed finds the few orders of one currency that owe one amount,
-- in id order.  Rebuilding the table is the price of the migration: minutes
-- for tens of millions of orders.
ALTER TABLE orders
  ADD COLUMN owed BIGINT AS (CASE WHEN status IN ('open', 'partially_paid') THEN amount - amount_paid END) STORED,
  ADD KEY ix_orders_owed (currency, owed);
