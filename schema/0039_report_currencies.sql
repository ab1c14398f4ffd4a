-- 0039_report_currencies: the sums the reports read keep each currency apart
-- (docs/REPORTS.md, "Currencies").
--
-- An order may be in any ISO 4217 currency, and the ledger keeps its
-- accounts per currency, but the rollups (0014) and the outstanding sums
-- (0027) were keyed without one: a school's 1.00 USD bill was added to its
-- VND collections as 100.  Every key now ends with the currency, CHAR(3) as
-- orders.currency and payments.currency hold it, so the keys stay narrow
-- and a rollup round or a fold still writes one row per key it touches.
--
-- The column is added with 'VND' for the rows that exist and then loses
-- its default: a writer that forgot the currency fails (strict mode) rather
-- than counting its money as dong.  Like every migration here, this runs
-- while no server writes.

ALTER TABLE report_daily
  ADD COLUMN currency CHAR(3) NOT NULL DEFAULT 'VND' AFTER adapter,
  DROP PRIMARY KEY,
  ADD PRIMARY KEY (day, merchant_id, fee_type, category, adapter, currency);
ALTER TABLE report_daily ALTER COLUMN currency DROP DEFAULT;

ALTER TABLE report_monthly
  ADD COLUMN currency CHAR(3) NOT NULL DEFAULT 'VND' AFTER adapter,
  DROP PRIMARY KEY,
  ADD PRIMARY KEY (month, merchant_id, fee_type, category, adapter, currency);
ALTER TABLE report_monthly ALTER COLUMN currency DROP DEFAULT;

ALTER TABLE report_daily_city
  ADD COLUMN currency CHAR(3) NOT NULL DEFAULT 'VND' AFTER adapter,
  DROP PRIMARY KEY,
  ADD PRIMARY KEY (day, fee_type, category, adapter, currency);
ALTER TABLE report_daily_city ALTER COLUMN currency DROP DEFAULT;

-- Rows rolled up before now are VND as long as no payment in another
-- currency was ever made.  If one was, its amounts are inside VND rows and
-- cannot be told apart: the rollups are emptied and the watermark goes back
-- to 0, so the sweeper's rounds (or `feegate reports rebuild`) count the
-- ledger again, currency by currency; reports stay exact meanwhile (they
-- read what the rollups lack from the ledger), only slower.
DELETE FROM report_daily WHERE EXISTS (SELECT 1 FROM payments WHERE currency <> 'VND');
DELETE FROM report_monthly WHERE EXISTS (SELECT 1 FROM payments WHERE currency <> 'VND');
DELETE FROM report_daily_city WHERE EXISTS (SELECT 1 FROM payments WHERE currency <> 'VND');
UPDATE report_watermarks SET upto_entry_id = 0
  WHERE name = 'collections' AND EXISTS (SELECT 1 FROM payments WHERE currency <> 'VND');

-- The outstanding sums are recounted from the orders, as 0027 first counted
-- them: the same few hundred thousand open orders at most, and exact for
-- every currency whatever was folded before.
DELETE FROM owed_changes;
DELETE FROM owed_totals;
ALTER TABLE owed_totals
  ADD COLUMN currency CHAR(3) NOT NULL AFTER due_day,
  DROP PRIMARY KEY,
  ADD PRIMARY KEY (merchant_id, fee_type, category, due_day, currency);
ALTER TABLE owed_changes
  ADD COLUMN currency CHAR(3) NOT NULL AFTER due_day;

DROP TRIGGER orders_owed_insert;
DROP TRIGGER orders_owed_update;
DROP TRIGGER orders_owed_delete;

-- The triggers of 0027 and 0032 with the currency in the key: an order
-- whose currency changed (none does today) leaves the one key and joins the
-- other, as for a new due date.
DELIMITER $$
CREATE TRIGGER orders_owed_insert AFTER INSERT ON orders FOR EACH ROW
BEGIN
  IF NEW.derived_rows = 0 AND NEW.status IN ('open', 'partially_paid') AND NEW.amount > NEW.amount_paid THEN
    INSERT INTO owed_changes (merchant_id, fee_type, category, due_day, currency, orders, owed)
    VALUES (NEW.merchant_id, NEW.fee_type, COALESCE(NEW.category, ''),
      COALESCE(FLOOR((NEW.due_at + 25200000) / 86400000), -2147483648), NEW.currency, 1, NEW.amount - NEW.amount_paid);
  END IF;
END$$

CREATE TRIGGER orders_owed_update AFTER UPDATE ON orders FOR EACH ROW
BEGIN
  DECLARE was_owed, is_owed INT;
  SET was_owed = OLD.status IN ('open', 'partially_paid') AND OLD.amount > OLD.amount_paid;
  SET is_owed = NEW.status IN ('open', 'partially_paid') AND NEW.amount > NEW.amount_paid;
  IF NEW.derived_rows = OLD.derived_rows AND (was_owed OR is_owed)
     AND NOT (was_owed = is_owed AND OLD.amount - OLD.amount_paid <=> NEW.amount - NEW.amount_paid
      AND OLD.merchant_id <=> NEW.merchant_id AND OLD.fee_type <=> NEW.fee_type
      AND OLD.category <=> NEW.category AND OLD.due_at <=> NEW.due_at AND OLD.currency <=> NEW.currency) THEN
    IF was_owed AND is_owed AND OLD.merchant_id <=> NEW.merchant_id AND OLD.fee_type <=> NEW.fee_type
       AND OLD.category <=> NEW.category AND OLD.currency <=> NEW.currency
       AND FLOOR((OLD.due_at + 25200000) / 86400000) <=> FLOOR((NEW.due_at + 25200000) / 86400000) THEN
      INSERT INTO owed_changes (merchant_id, fee_type, category, due_day, currency, orders, owed)
      VALUES (NEW.merchant_id, NEW.fee_type, COALESCE(NEW.category, ''),
        COALESCE(FLOOR((NEW.due_at + 25200000) / 86400000), -2147483648), NEW.currency, 0,
        (NEW.amount - NEW.amount_paid) - (OLD.amount - OLD.amount_paid));
    ELSE
      IF was_owed THEN
        INSERT INTO owed_changes (merchant_id, fee_type, category, due_day, currency, orders, owed)
        VALUES (OLD.merchant_id, OLD.fee_type, COALESCE(OLD.category, ''),
          COALESCE(FLOOR((OLD.due_at + 25200000) / 86400000), -2147483648), OLD.currency, -1,
          OLD.amount_paid - OLD.amount);
      END IF;
      IF is_owed THEN
        INSERT INTO owed_changes (merchant_id, fee_type, category, due_day, currency, orders, owed)
        VALUES (NEW.merchant_id, NEW.fee_type, COALESCE(NEW.category, ''),
          COALESCE(FLOOR((NEW.due_at + 25200000) / 86400000), -2147483648), NEW.currency, 1,
          NEW.amount - NEW.amount_paid);
      END IF;
    END IF;
  END IF;
END$$

CREATE TRIGGER orders_owed_delete AFTER DELETE ON orders FOR EACH ROW
BEGIN
  IF OLD.status IN ('open', 'partially_paid') AND OLD.amount > OLD.amount_paid THEN
    INSERT INTO owed_changes (merchant_id, fee_type, category, due_day, currency, orders, owed)
    VALUES (OLD.merchant_id, OLD.fee_type, COALESCE(OLD.category, ''),
      COALESCE(FLOOR((OLD.due_at + 25200000) / 86400000), -2147483648), OLD.currency, -1, OLD.amount_paid - OLD.amount);
  END IF;
END$$
DELIMITER ;

INSERT INTO owed_totals (merchant_id, fee_type, category, due_day, currency, orders, owed)
SELECT merchant_id, fee_type, COALESCE(category, ''), COALESCE(FLOOR((due_at + 25200000) / 86400000), -2147483648),
  currency, COUNT(*), SUM(amount - amount_paid)
FROM orders WHERE status IN ('open', 'partially_paid') AND amount > amount_paid
GROUP BY 1, 2, 3, 4, 5;
