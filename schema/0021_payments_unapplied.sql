-- Money that came in without a bill to settle (an order already paid,
-- cancelled or expired, or paid twice) is listed for staff on the overview
-- page; few payments carry any, so this index finds them without a scan.
ALTER TABLE payments ADD KEY ix_payments_unapplied (amount_unapplied);
