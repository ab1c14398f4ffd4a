-- 0027_owed_totals: what the open orders still owe, summed per merchant, fee
-- type, category and due day, so that the outstanding report for today reads
-- a few thousand sums instead of every open order (docs/REPORTS.md,
-- "Outstanding").
--
-- An order counts while it is open or partially paid and owes something
-- (amount > amount_paid): one order, amount - amount_paid owed, under its
-- merchant, fee type, category ('' for none) and due day.
--
-- Every insert, update or delete of an order that changes what it counts
-- writes its difference as a row of owed_changes, in the writer's
-- transaction (the triggers below), so no write path can miss one.  They are
-- appended rows, not updates of a shared sum: payments of one school's bills,
-- all due the same day, would otherwise queue on that day's row until each
-- commits.  The server's sweeper folds committed changes into owed_totals
-- and deletes them in one transaction (services/reports/owed.c); the report
-- reads owed_totals plus the changes not yet folded in one statement, so it
-- is exact whatever the lag.  `feegate ledger check` holds both against the
-- orders (owed_totals_equal_orders), `feegate reports rebuild` recounts them
-- a merchant at a time while the server writes.
--
-- due_day is the business day (GMT+7) of due_at as a day number (days since
-- 1970-01-01), -2147483648 for an order without a due date: plain
-- arithmetic, no calendar function or session time zone.

CREATE TABLE owed_totals (
  merchant_id  BIGINT UNSIGNED NOT NULL,
  fee_type     VARCHAR(16)     NOT NULL,
  category     VARCHAR(64)     NOT NULL, -- '' for an order without one
  due_day      INT             NOT NULL,
  orders       BIGINT          NOT NULL,
  owed         BIGINT          NOT NULL,
  PRIMARY KEY (merchant_id, fee_type, category, due_day)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE owed_changes (
  id           BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  merchant_id  BIGINT UNSIGNED NOT NULL,
  fee_type     VARCHAR(16)     NOT NULL,
  category     VARCHAR(64)     NOT NULL,
  due_day      INT             NOT NULL,
  orders       BIGINT          NOT NULL,
  owed         BIGINT          NOT NULL,
  PRIMARY KEY (id),
  KEY ix_owed_changes_merchant (merchant_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- The folder's turn: the sweeper and the rebuild lock this row first, so two
-- instances never fold (or recount) the same changes at once.
INSERT INTO report_watermarks (name, upto_entry_id, updated_at) VALUES ('owed', 0, 0);

DELIMITER $$
CREATE TRIGGER orders_owed_insert AFTER INSERT ON orders FOR EACH ROW
BEGIN
  IF NEW.status IN ('open', 'partially_paid') AND NEW.amount > NEW.amount_paid THEN
    INSERT INTO owed_changes (merchant_id, fee_type, category, due_day, orders, owed)
    VALUES (NEW.merchant_id, NEW.fee_type, COALESCE(NEW.category, ''),
      COALESCE(FLOOR((NEW.due_at + 25200000) / 86400000), -2147483648), 1, NEW.amount - NEW.amount_paid);
  END IF;
END$$

-- A change of anything else (updated_at, the payer's details, metadata)
-- writes nothing.  Within one key the row gets the difference; an order moved
-- to another key (a new due date) leaves the one and joins the other.
CREATE TRIGGER orders_owed_update AFTER UPDATE ON orders FOR EACH ROW
BEGIN
  DECLARE was_owed, is_owed INT;
  SET was_owed = OLD.status IN ('open', 'partially_paid') AND OLD.amount > OLD.amount_paid;
  SET is_owed = NEW.status IN ('open', 'partially_paid') AND NEW.amount > NEW.amount_paid;
  IF (was_owed OR is_owed) AND NOT (was_owed = is_owed AND OLD.amount - OLD.amount_paid <=> NEW.amount - NEW.amount_paid
      AND OLD.merchant_id <=> NEW.merchant_id AND OLD.fee_type <=> NEW.fee_type
      AND OLD.category <=> NEW.category AND OLD.due_at <=> NEW.due_at) THEN
    IF was_owed AND is_owed AND OLD.merchant_id <=> NEW.merchant_id AND OLD.fee_type <=> NEW.fee_type
       AND OLD.category <=> NEW.category
       AND FLOOR((OLD.due_at + 25200000) / 86400000) <=> FLOOR((NEW.due_at + 25200000) / 86400000) THEN
      INSERT INTO owed_changes (merchant_id, fee_type, category, due_day, orders, owed)
      VALUES (NEW.merchant_id, NEW.fee_type, COALESCE(NEW.category, ''),
        COALESCE(FLOOR((NEW.due_at + 25200000) / 86400000), -2147483648), 0,
        (NEW.amount - NEW.amount_paid) - (OLD.amount - OLD.amount_paid));
    ELSE
      IF was_owed THEN
        INSERT INTO owed_changes (merchant_id, fee_type, category, due_day, orders, owed)
        VALUES (OLD.merchant_id, OLD.fee_type, COALESCE(OLD.category, ''),
          COALESCE(FLOOR((OLD.due_at + 25200000) / 86400000), -2147483648), -1, OLD.amount_paid - OLD.amount);
      END IF;
      IF is_owed THEN
        INSERT INTO owed_changes (merchant_id, fee_type, category, due_day, orders, owed)
        VALUES (NEW.merchant_id, NEW.fee_type, COALESCE(NEW.category, ''),
          COALESCE(FLOOR((NEW.due_at + 25200000) / 86400000), -2147483648), 1, NEW.amount - NEW.amount_paid);
      END IF;
    END IF;
  END IF;
END$$

-- Orders are not deleted today; one that were would leave its sums.
CREATE TRIGGER orders_owed_delete AFTER DELETE ON orders FOR EACH ROW
BEGIN
  IF OLD.status IN ('open', 'partially_paid') AND OLD.amount > OLD.amount_paid THEN
    INSERT INTO owed_changes (merchant_id, fee_type, category, due_day, orders, owed)
    VALUES (OLD.merchant_id, OLD.fee_type, COALESCE(OLD.category, ''),
      COALESCE(FLOOR((OLD.due_at + 25200000) / 86400000), -2147483648), -1, OLD.amount_paid - OLD.amount);
  END IF;
END$$
DELIMITER ;

-- What exists already (like every migration here, this runs while no server writes).
INSERT INTO owed_totals
SELECT merchant_id, fee_type, COALESCE(category, ''), COALESCE(FLOOR((due_at + 25200000) / 86400000), -2147483648),
  COUNT(*), SUM(amount - amount_paid)
FROM orders WHERE status IN ('open', 'partially_paid') AND amount > amount_paid
GROUP BY 1, 2, 3, 4;
