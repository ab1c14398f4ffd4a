-- 0032_orders_derived_rows: a group of creates writes its orders' change-feed
-- and owed-sum rows set-wise, as multi-row INSERTs, instead of one trigger
-- row at a time (README, "Side by side").
--
-- Each new order wrote two rows from its AFTER INSERT triggers: the insert
-- change (change_log, 0016) and what it adds to the owed sums (owed_changes,
-- 0027).  Measured straight at MariaDB, 20,000 orders 20 per transaction
-- cost mariadbd about 2.0 s of CPU with those triggers and 0.9 s with the
-- same rows sent as multi-row INSERTs by the client: a trigger row costs
-- several times a row of a multi-row INSERT, and the two were about a
-- quarter of mariadbd's work per created order.
--
-- derived_rows = 1 says the inserting transaction wrote both rows itself
-- (services/orders/store.c: a create in a deferring transaction queues the
-- order, its change and its owed row together, and COMMIT sends them); the
-- insert triggers then write nothing.  Every other insert (one at a time,
-- INSERT IGNORE, a bill upload's, a hand-written one) leaves it 0 and the
-- triggers write the rows as before.  It means nothing after the insert:
-- the update triggers never read it.  Instant: no table rebuild.
ALTER TABLE orders
  ADD COLUMN derived_rows TINYINT UNSIGNED NOT NULL DEFAULT 0,
  ALGORITHM=INSTANT;

DROP TRIGGER orders_change_insert;
DROP TRIGGER orders_owed_insert;

DELIMITER $$
CREATE TRIGGER orders_change_insert AFTER INSERT ON orders FOR EACH ROW
BEGIN
  IF NEW.derived_rows = 0 THEN
    INSERT INTO change_log (entity, entity_id, object_id, merchant_id, parent_id, op, data, at)
    VALUES ('order', NEW.id, NEW.public_id, NEW.merchant_id, NULL, 'insert', JSON_ARRAY(
      NEW.merchant_ref, NEW.fee_type, NEW.category, NEW.amount, NEW.currency, NEW.amount_paid,
      NEW.amount_refunded, NEW.allow_partial <> 0, NEW.status, NEW.payer_name, NEW.payer_ref, NEW.description,
      NEW.due_at, NEW.expires_at, JSON_QUERY(COALESCE(NULLIF(NEW.metadata, ''), '{}'), '$'), NEW.code,
      NEW.created_at, NEW.updated_at),
      CAST(UNIX_TIMESTAMP(NOW(3)) * 1000 AS SIGNED));
  END IF;
END$$

CREATE TRIGGER orders_owed_insert AFTER INSERT ON orders FOR EACH ROW
BEGIN
  IF NEW.derived_rows = 0 AND NEW.status IN ('open', 'partially_paid') AND NEW.amount > NEW.amount_paid THEN
    INSERT INTO owed_changes (merchant_id, fee_type, category, due_day, orders, owed)
    VALUES (NEW.merchant_id, NEW.fee_type, COALESCE(NEW.category, ''),
      COALESCE(FLOOR((NEW.due_at + 25200000) / 86400000), -2147483648), 1, NEW.amount - NEW.amount_paid);
  END IF;
END$$
DELIMITER ;
