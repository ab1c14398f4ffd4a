-- 0031_orders_search: the staff order search finds an order by its code, its
-- merchant_ref or the start of its payer's name through indexes
-- (services/web/staff_orders.c; docs/PAGES.md).
--
-- The search read orders newest first and tested each against all three, so
-- that an exact code or merchant_ref, or a name few payers share, read the
-- whole table (0.45 s at 300,000 orders, and linear beyond).  uq_orders_code
-- finds a code; ix_orders_ref a merchant_ref whatever the merchant;
-- ix_orders_payer (the name's first 32 characters, enough to tell names
-- apart and a quarter of the full key) the start of a name.
ALTER TABLE orders
  ADD KEY ix_orders_ref (merchant_ref),
  ADD KEY ix_orders_payer (payer_name(32));
