-- The reconciliation summary's counts per bank account and business day,
-- kept with the items: every insert, update or delete of a recon_items row
-- adds its difference here in the same transaction (the triggers below), so
-- a total can neither miss a change nor count one twice, whatever writes the
-- item (the matching job, a resolution, a settlement, the bank feed).  The
-- summary reads these rows instead of grouping every item of the period.
--
-- One exception, for speed: the statement lines' items (kind 'bank_line'),
-- which only an import inserts, a million at a time, are added by the import
-- itself, in its transaction, one row per day from what it inserted
-- (services/recon/totals.c): a trigger's upsert per line doubled the cost of
-- storing the items.  Their later updates go through the update trigger like
-- any other.  `feegate ledger check` holds the table against the items
-- (recon_day_totals_equal_items) and `feegate reports rebuild` recounts it.
--
-- An item counts as: one of `items`; a statement line (`lines`, its amount
-- in `credits` or `debits`) when it is one; one of its state's count; one of
-- `resolved` when staff resolved it; one of `open_items` when it is neither
-- matched nor resolved.
CREATE TABLE recon_day_totals (
  account          VARCHAR(100) NOT NULL,
  business_day     INT          NOT NULL,
  items            BIGINT       NOT NULL,
  line_count       BIGINT       NOT NULL,
  credits          BIGINT       NOT NULL,
  debits           BIGINT       NOT NULL,
  matched          BIGINT       NOT NULL,
  suggested        BIGINT       NOT NULL,
  bank_only        BIGINT       NOT NULL,
  ledger_only      BIGINT       NOT NULL,
  amount_mismatch  BIGINT       NOT NULL,
  duplicate        BIGINT       NOT NULL,
  resolved         BIGINT       NOT NULL,
  open_items       BIGINT       NOT NULL,
  PRIMARY KEY (account, business_day),
  KEY ix_recon_day_totals_day (business_day)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

DELIMITER $$
CREATE TRIGGER recon_items_totals_insert AFTER INSERT ON recon_items FOR EACH ROW
BEGIN
  IF NEW.kind <> 'bank_line' THEN
  INSERT INTO recon_day_totals VALUES (NEW.account, NEW.business_day, 1, 0, 0, 0,
    NEW.state = 'matched', NEW.state = 'suggested', NEW.state = 'bank_only', NEW.state = 'ledger_only',
    NEW.state = 'amount_mismatch', NEW.state = 'duplicate', NEW.resolution IS NOT NULL,
    NEW.state <> 'matched' AND NEW.resolution IS NULL)
  ON DUPLICATE KEY UPDATE items = items + 1, matched = matched + VALUES(matched),
    suggested = suggested + VALUES(suggested), bank_only = bank_only + VALUES(bank_only),
    ledger_only = ledger_only + VALUES(ledger_only), amount_mismatch = amount_mismatch + VALUES(amount_mismatch),
    duplicate = duplicate + VALUES(duplicate), resolved = resolved + VALUES(resolved),
    open_items = open_items + VALUES(open_items);
  END IF;
END$$

-- An update that moves none of the counted columns (a lease, a note, a link
-- to its payment) writes nothing here.  Within one (account, day) the row
-- gets the difference; an item moved to another day or account leaves the
-- one and joins the other.
CREATE TRIGGER recon_items_totals_update AFTER UPDATE ON recon_items FOR EACH ROW
BEGIN
  IF NOT (OLD.kind <=> NEW.kind AND OLD.account <=> NEW.account AND OLD.business_day <=> NEW.business_day
          AND OLD.amount <=> NEW.amount AND OLD.state <=> NEW.state AND OLD.resolution <=> NEW.resolution) THEN
    IF OLD.account <=> NEW.account AND OLD.business_day <=> NEW.business_day THEN
      INSERT INTO recon_day_totals VALUES (NEW.account, NEW.business_day, 0,
        (NEW.kind = 'bank_line') - (OLD.kind = 'bank_line'),
        IF(NEW.kind = 'bank_line' AND NEW.amount > 0, NEW.amount, 0)
          - IF(OLD.kind = 'bank_line' AND OLD.amount > 0, OLD.amount, 0),
        IF(NEW.kind = 'bank_line' AND NEW.amount < 0, -NEW.amount, 0)
          - IF(OLD.kind = 'bank_line' AND OLD.amount < 0, -OLD.amount, 0),
        (NEW.state = 'matched') - (OLD.state = 'matched'), (NEW.state = 'suggested') - (OLD.state = 'suggested'),
        (NEW.state = 'bank_only') - (OLD.state = 'bank_only'),
        (NEW.state = 'ledger_only') - (OLD.state = 'ledger_only'),
        (NEW.state = 'amount_mismatch') - (OLD.state = 'amount_mismatch'),
        (NEW.state = 'duplicate') - (OLD.state = 'duplicate'),
        (NEW.resolution IS NOT NULL) - (OLD.resolution IS NOT NULL),
        (NEW.state <> 'matched' AND NEW.resolution IS NULL) - (OLD.state <> 'matched' AND OLD.resolution IS NULL))
      ON DUPLICATE KEY UPDATE line_count = line_count + VALUES(line_count), credits = credits + VALUES(credits),
        debits = debits + VALUES(debits), matched = matched + VALUES(matched),
        suggested = suggested + VALUES(suggested), bank_only = bank_only + VALUES(bank_only),
        ledger_only = ledger_only + VALUES(ledger_only),
        amount_mismatch = amount_mismatch + VALUES(amount_mismatch), duplicate = duplicate + VALUES(duplicate),
        resolved = resolved + VALUES(resolved), open_items = open_items + VALUES(open_items);
    ELSE
      INSERT INTO recon_day_totals VALUES (OLD.account, OLD.business_day, -1, -(OLD.kind = 'bank_line'),
        -IF(OLD.kind = 'bank_line' AND OLD.amount > 0, OLD.amount, 0),
        -IF(OLD.kind = 'bank_line' AND OLD.amount < 0, -OLD.amount, 0),
        -(OLD.state = 'matched'), -(OLD.state = 'suggested'), -(OLD.state = 'bank_only'),
        -(OLD.state = 'ledger_only'), -(OLD.state = 'amount_mismatch'), -(OLD.state = 'duplicate'),
        -(OLD.resolution IS NOT NULL), -(OLD.state <> 'matched' AND OLD.resolution IS NULL))
      ON DUPLICATE KEY UPDATE items = items - 1, line_count = line_count + VALUES(line_count),
        credits = credits + VALUES(credits), debits = debits + VALUES(debits), matched = matched + VALUES(matched),
        suggested = suggested + VALUES(suggested), bank_only = bank_only + VALUES(bank_only),
        ledger_only = ledger_only + VALUES(ledger_only),
        amount_mismatch = amount_mismatch + VALUES(amount_mismatch), duplicate = duplicate + VALUES(duplicate),
        resolved = resolved + VALUES(resolved), open_items = open_items + VALUES(open_items);
      INSERT INTO recon_day_totals VALUES (NEW.account, NEW.business_day, 1, NEW.kind = 'bank_line',
        IF(NEW.kind = 'bank_line' AND NEW.amount > 0, NEW.amount, 0),
        IF(NEW.kind = 'bank_line' AND NEW.amount < 0, -NEW.amount, 0),
        NEW.state = 'matched', NEW.state = 'suggested', NEW.state = 'bank_only', NEW.state = 'ledger_only',
        NEW.state = 'amount_mismatch', NEW.state = 'duplicate', NEW.resolution IS NOT NULL,
        NEW.state <> 'matched' AND NEW.resolution IS NULL)
      ON DUPLICATE KEY UPDATE items = items + 1, line_count = line_count + VALUES(line_count),
        credits = credits + VALUES(credits), debits = debits + VALUES(debits), matched = matched + VALUES(matched),
        suggested = suggested + VALUES(suggested), bank_only = bank_only + VALUES(bank_only),
        ledger_only = ledger_only + VALUES(ledger_only),
        amount_mismatch = amount_mismatch + VALUES(amount_mismatch), duplicate = duplicate + VALUES(duplicate),
        resolved = resolved + VALUES(resolved), open_items = open_items + VALUES(open_items);
    END IF;
  END IF;
END$$

-- Items are not deleted today; one that were would leave its day's counts.
CREATE TRIGGER recon_items_totals_delete AFTER DELETE ON recon_items FOR EACH ROW
BEGIN
  INSERT INTO recon_day_totals VALUES (OLD.account, OLD.business_day, -1, -(OLD.kind = 'bank_line'),
    -IF(OLD.kind = 'bank_line' AND OLD.amount > 0, OLD.amount, 0),
    -IF(OLD.kind = 'bank_line' AND OLD.amount < 0, -OLD.amount, 0),
    -(OLD.state = 'matched'), -(OLD.state = 'suggested'), -(OLD.state = 'bank_only'),
    -(OLD.state = 'ledger_only'), -(OLD.state = 'amount_mismatch'), -(OLD.state = 'duplicate'),
    -(OLD.resolution IS NOT NULL), -(OLD.state <> 'matched' AND OLD.resolution IS NULL))
  ON DUPLICATE KEY UPDATE items = items - 1, line_count = line_count + VALUES(line_count),
    credits = credits + VALUES(credits), debits = debits + VALUES(debits), matched = matched + VALUES(matched),
    suggested = suggested + VALUES(suggested), bank_only = bank_only + VALUES(bank_only),
    ledger_only = ledger_only + VALUES(ledger_only), amount_mismatch = amount_mismatch + VALUES(amount_mismatch),
    duplicate = duplicate + VALUES(duplicate), resolved = resolved + VALUES(resolved),
    open_items = open_items + VALUES(open_items);
END$$
DELIMITER ;

-- What exists already (like every migration here, this runs while no server writes).
INSERT INTO recon_day_totals
SELECT account, business_day, COUNT(*), SUM(kind = 'bank_line'), SUM(IF(kind = 'bank_line' AND amount > 0, amount, 0)),
  SUM(IF(kind = 'bank_line' AND amount < 0, -amount, 0)), SUM(state = 'matched'), SUM(state = 'suggested'),
  SUM(state = 'bank_only'), SUM(state = 'ledger_only'), SUM(state = 'amount_mismatch'), SUM(state = 'duplicate'),
  SUM(resolution IS NOT NULL), SUM(state <> 'matched' AND resolution IS NULL)
FROM recon_items GROUP BY account, business_day;
