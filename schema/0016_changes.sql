-- 0016_changes: a commit-ordered change feed for the city's data-sharing platform
-- (docs/CHANGES.md), and the event log paged in the same order.
--
-- Every change of an order, payment, refund, statement and reconciliation item is
-- written into change_log by a trigger, in the transaction that makes it, so no write
-- path can forget one.  A row carries a JSON snapshot of the columns a consumer needs,
-- built from the row alone (no reads of other tables: the public ids of the merchant and
-- of the row it refers to are read when the row is numbered; they never change).  The
-- snapshot is a JSON array of those columns, in the order of the key lists in
-- services/changes/feed.c, which the feed turns into an object: MariaDB builds a
-- JSON_ARRAY of 18 values in half the time of a JSON_OBJECT of the same 18 keys and
-- values, and this runs in every write (measured: an order insert's trigger costs 18
-- microseconds instead of 27, on top of the change row's own 8).  A column is only ever
-- added at the end of a list, so older snapshots render as they were.  A trigger on an
-- UPDATE writes
-- a change only when one of those columns changed, so leases, query schedules and other
-- bookkeeping columns make no changes.
--
-- Statement lines are immutable and come a million per import: they have no trigger.
-- A statement's insert change stands for its lines, which the feed expands when read
-- (with their reconciliation items as they are then); so the items of kind 'bank_line'
-- that an import inserts make no change either, while their later updates (matching,
-- resolution) are changes of their own.
--
-- change_log.id is an AUTO_INCREMENT, taken at INSERT, not at COMMIT: it cannot order
-- a feed (id 41 may commit after id 42 was read).  seq is the order: numbers handed
-- out after commit by one writer at a time, the sequencer (services/changes/), which
-- locks change_sequencer's row, reads the rows without a seq (a non-locking read that
-- sees committed rows only), numbers them in id order after last_seq and commits.  The
-- events table gets its seq from the same sequencer, so GET /v1/events pages in the same
-- order and never steps over an event that commits late.
--
-- Times in the snapshots are the stored Unix milliseconds (UTC), under keys ending in
-- _ms: exact, and formatting them here would cost every write more (measured: four RFC
-- 3339 strings were 11 of 42 microseconds of an order trigger built as a JSON_OBJECT).
-- Days (yyyymmdd) become YYYY-MM-DD.  `at` is when the change was written; the feed
-- shows it in RFC 3339.

CREATE TABLE change_log (
  id           BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  -- the feed's order; NULL until the sequencer numbers the row
  seq          BIGINT UNSIGNED NULL,
  entity       ENUM('order','payment','refund','statement','recon_item') NOT NULL,
  entity_id    BIGINT UNSIGNED NOT NULL,
  -- the public id: ord_/pay_/rfd_ as stored, stm_<id> and rci_<id> for the rows the
  -- reconciliation API names by number
  object_id    VARCHAR(40)     NOT NULL,
  merchant_id  BIGINT UNSIGNED NULL,
  -- the row a snapshot refers to: a payment's order, a refund's or an item's payment, a
  -- statement's import
  parent_id    BIGINT UNSIGNED NULL,
  op           ENUM('insert','update') NOT NULL,
  data         MEDIUMTEXT      NOT NULL,
  at           BIGINT          NOT NULL,
  -- the public ids of merchant_id and parent_id, which the feed shows: read by the
  -- sequencer when it numbers the row (they never change), so that neither the
  -- triggers nor the feed's reads join other tables
  merchant_public_id VARCHAR(40) NULL,
  parent_public_id   VARCHAR(40) NULL,
  PRIMARY KEY (id),
  -- the feed reads by seq, and the sequencer finds the rows to number at its NULL end in
  -- id order.  Not a UNIQUE key: MariaDB reads one of those in id order only after a sort
  -- of all its NULL entries.  The sequencer alone writes seq, under its lock, and a
  -- trigger keeps it from changing.
  KEY ix_change_log_seq (seq)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- A change is numbered once (its public ids with it) and never altered or removed.
DELIMITER $$
CREATE TRIGGER change_log_numbered_once BEFORE UPDATE ON change_log FOR EACH ROW
BEGIN
  IF OLD.seq IS NOT NULL OR NEW.seq IS NULL OR NEW.id <> OLD.id OR NEW.data <> OLD.data
     OR NOT (NEW.entity <=> OLD.entity AND NEW.entity_id <=> OLD.entity_id AND NEW.object_id <=> OLD.object_id
             AND NEW.merchant_id <=> OLD.merchant_id AND NEW.parent_id <=> OLD.parent_id AND NEW.op <=> OLD.op
             AND NEW.at <=> OLD.at) THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'change_log rows are numbered once and never changed';
  END IF;
END$$
CREATE TRIGGER change_log_no_delete BEFORE DELETE ON change_log FOR EACH ROW
BEGIN
  SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'change_log is append-only';
END$$
DELIMITER ;

-- The sequencer's one row: every seq <= last_seq has been handed out.  Locked FOR UPDATE
-- by whichever instance numbers; on Galera two nodes' passes conflict on it at
-- certification and one is retried.
CREATE TABLE change_sequencer (
  id          TINYINT UNSIGNED NOT NULL,
  last_seq    BIGINT UNSIGNED  NOT NULL,
  updated_at  BIGINT           NOT NULL,
  PRIMARY KEY (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- The events already written keep their id as their seq, so a cursor or an ?after=
-- given out before this migration means the same page after it; new numbers start
-- above them.
ALTER TABLE events
  ADD COLUMN seq BIGINT UNSIGNED NULL AFTER id,
  ADD KEY ix_events_seq (seq),
  ADD KEY ix_events_merchant_seq (merchant_id, seq);
UPDATE events SET seq = id;
INSERT INTO change_sequencer (id, last_seq, updated_at)
  SELECT 1, COALESCE(MAX(id), 0), 0 FROM events;

-- API keys have a scope: a merchant's key (its routes, its data), or an export key of
-- the data-sharing platform, which reads the change feed and nothing else and belongs
-- to no merchant.  Keys made from now on have a public id (key_…) to name them by.
ALTER TABLE api_keys
  MODIFY merchant_id BIGINT UNSIGNED NULL,
  ADD COLUMN public_id VARCHAR(40) NULL AFTER id,
  ADD COLUMN scope ENUM('merchant','export') NOT NULL DEFAULT 'merchant' AFTER merchant_id,
  ADD UNIQUE KEY uq_api_keys_public_id (public_id),
  ADD CONSTRAINT ck_api_keys_scope CHECK ((scope = 'merchant') = (merchant_id IS NOT NULL));

-- ---- orders ---------------------------------------------------------------------------
-- Payers' phone numbers and e-mail addresses are not exported.

DELIMITER $$
CREATE TRIGGER orders_change_insert AFTER INSERT ON orders FOR EACH ROW
BEGIN
  INSERT INTO change_log (entity, entity_id, object_id, merchant_id, parent_id, op, data, at)
  VALUES ('order', NEW.id, NEW.public_id, NEW.merchant_id, NULL, 'insert', JSON_ARRAY(
    NEW.merchant_ref, NEW.fee_type, NEW.category, NEW.amount, NEW.currency, NEW.amount_paid,
    NEW.amount_refunded, NEW.allow_partial <> 0, NEW.status, NEW.payer_name, NEW.payer_ref, NEW.description,
    NEW.due_at, NEW.expires_at, JSON_QUERY(COALESCE(NULLIF(NEW.metadata, ''), '{}'), '$'), NEW.code,
    NEW.created_at, NEW.updated_at),
    CAST(UNIX_TIMESTAMP(NOW(3)) * 1000 AS SIGNED));
END$$

CREATE TRIGGER orders_change_update AFTER UPDATE ON orders FOR EACH ROW
BEGIN
  IF NOT (OLD.merchant_ref <=> NEW.merchant_ref AND OLD.fee_type <=> NEW.fee_type
          AND OLD.category <=> NEW.category AND OLD.amount <=> NEW.amount AND OLD.currency <=> NEW.currency
          AND OLD.amount_paid <=> NEW.amount_paid AND OLD.amount_refunded <=> NEW.amount_refunded
          AND OLD.allow_partial <=> NEW.allow_partial AND OLD.status <=> NEW.status
          AND OLD.payer_name <=> NEW.payer_name AND OLD.payer_ref <=> NEW.payer_ref
          AND OLD.description <=> NEW.description AND OLD.due_at <=> NEW.due_at
          AND OLD.expires_at <=> NEW.expires_at AND OLD.metadata <=> NEW.metadata AND OLD.code <=> NEW.code) THEN
    INSERT INTO change_log (entity, entity_id, object_id, merchant_id, parent_id, op, data, at)
    VALUES ('order', NEW.id, NEW.public_id, NEW.merchant_id, NULL, 'update', JSON_ARRAY(
      NEW.merchant_ref, NEW.fee_type, NEW.category, NEW.amount, NEW.currency, NEW.amount_paid,
      NEW.amount_refunded, NEW.allow_partial <> 0, NEW.status, NEW.payer_name, NEW.payer_ref, NEW.description,
      NEW.due_at, NEW.expires_at, JSON_QUERY(COALESCE(NULLIF(NEW.metadata, ''), '{}'), '$'), NEW.code,
      NEW.created_at, NEW.updated_at),
      CAST(UNIX_TIMESTAMP(NOW(3)) * 1000 AS SIGNED));
  END IF;
END$$
DELIMITER ;

-- ---- payments -------------------------------------------------------------------------
-- The feed adds "order_id".  The provider's raw payload is not exported; the status
-- job's query schedule (next_query_at, query_count) and the refund reservation make no
-- changes.

DELIMITER $$
CREATE TRIGGER payments_change_insert AFTER INSERT ON payments FOR EACH ROW
BEGIN
  INSERT INTO change_log (entity, entity_id, object_id, merchant_id, parent_id, op, data, at)
  VALUES ('payment', NEW.id, NEW.public_id, NEW.merchant_id, NEW.order_id, 'insert', JSON_ARRAY(
    NEW.adapter, NEW.amount, NEW.amount_received, NEW.amount_applied, NEW.amount_unapplied, NEW.currency,
    NEW.amount_refunded, NEW.status, NEW.provider_txn_id, NEW.failure_reason, NEW.created_at, NEW.updated_at),
    CAST(UNIX_TIMESTAMP(NOW(3)) * 1000 AS SIGNED));
END$$

CREATE TRIGGER payments_change_update AFTER UPDATE ON payments FOR EACH ROW
BEGIN
  IF NOT (OLD.order_id <=> NEW.order_id AND OLD.adapter <=> NEW.adapter AND OLD.amount <=> NEW.amount
          AND OLD.amount_received <=> NEW.amount_received AND OLD.amount_applied <=> NEW.amount_applied
          AND OLD.amount_unapplied <=> NEW.amount_unapplied AND OLD.currency <=> NEW.currency
          AND OLD.amount_refunded <=> NEW.amount_refunded AND OLD.status <=> NEW.status
          AND OLD.provider_txn_id <=> NEW.provider_txn_id AND OLD.failure_reason <=> NEW.failure_reason) THEN
    INSERT INTO change_log (entity, entity_id, object_id, merchant_id, parent_id, op, data, at)
    VALUES ('payment', NEW.id, NEW.public_id, NEW.merchant_id, NEW.order_id, 'update', JSON_ARRAY(
      NEW.adapter, NEW.amount, NEW.amount_received, NEW.amount_applied, NEW.amount_unapplied, NEW.currency,
      NEW.amount_refunded, NEW.status, NEW.provider_txn_id, NEW.failure_reason, NEW.created_at, NEW.updated_at),
      CAST(UNIX_TIMESTAMP(NOW(3)) * 1000 AS SIGNED));
  END IF;
END$$
DELIMITER ;

-- ---- refunds --------------------------------------------------------------------------
-- The feed adds "payment_id".

DELIMITER $$
CREATE TRIGGER refunds_change_insert AFTER INSERT ON refunds FOR EACH ROW
BEGIN
  INSERT INTO change_log (entity, entity_id, object_id, merchant_id, parent_id, op, data, at)
  VALUES ('refund', NEW.id, NEW.public_id, NEW.merchant_id, NEW.payment_id, 'insert', JSON_ARRAY(
    NEW.amount, NEW.currency, NEW.status, NEW.reason, NEW.provider_refund_id, NEW.created_at, NEW.updated_at),
    CAST(UNIX_TIMESTAMP(NOW(3)) * 1000 AS SIGNED));
END$$

CREATE TRIGGER refunds_change_update AFTER UPDATE ON refunds FOR EACH ROW
BEGIN
  IF NOT (OLD.payment_id <=> NEW.payment_id AND OLD.amount <=> NEW.amount AND OLD.currency <=> NEW.currency
          AND OLD.status <=> NEW.status AND OLD.reason <=> NEW.reason
          AND OLD.provider_refund_id <=> NEW.provider_refund_id) THEN
    INSERT INTO change_log (entity, entity_id, object_id, merchant_id, parent_id, op, data, at)
    VALUES ('refund', NEW.id, NEW.public_id, NEW.merchant_id, NEW.payment_id, 'update', JSON_ARRAY(
      NEW.amount, NEW.currency, NEW.status, NEW.reason, NEW.provider_refund_id, NEW.created_at, NEW.updated_at),
      CAST(UNIX_TIMESTAMP(NOW(3)) * 1000 AS SIGNED));
  END IF;
END$$
DELIMITER ;

-- ---- statements -----------------------------------------------------------------------
-- The feed adds "import_id" and, after a statement's insert change, its lines and their
-- items.  An import inserts the statement before its lines and sets its closing and
-- totals at the end, in the same transaction: an update change.

DELIMITER $$
CREATE TRIGGER statements_change_insert AFTER INSERT ON statements FOR EACH ROW
BEGIN
  INSERT INTO change_log (entity, entity_id, object_id, merchant_id, parent_id, op, data, at)
  VALUES ('statement', NEW.id, CONCAT('stm_', NEW.id), NULL, NEW.import_id, 'insert', JSON_ARRAY(
    NEW.bank_id, NEW.account, NEW.currency, NEW.opening, NEW.closing,
    IF(NEW.opening_date > 0, CONCAT(NEW.opening_date DIV 10000, '-', LPAD(NEW.opening_date DIV 100 MOD 100, 2, '0'), '-', LPAD(NEW.opening_date MOD 100, 2, '0')), NULL),
    IF(NEW.closing_date > 0, CONCAT(NEW.closing_date DIV 10000, '-', LPAD(NEW.closing_date DIV 100 MOD 100, 2, '0'), '-', LPAD(NEW.closing_date MOD 100, 2, '0')), NULL),
    IF(NEW.from_date > 0, CONCAT(NEW.from_date DIV 10000, '-', LPAD(NEW.from_date DIV 100 MOD 100, 2, '0'), '-', LPAD(NEW.from_date MOD 100, 2, '0')), NULL),
    IF(NEW.to_date > 0, CONCAT(NEW.to_date DIV 10000, '-', LPAD(NEW.to_date DIV 100 MOD 100, 2, '0'), '-', LPAD(NEW.to_date MOD 100, 2, '0')), NULL),
    NEW.line_count, NEW.credits, NEW.debits, NEW.gap, NEW.created_at),
    CAST(UNIX_TIMESTAMP(NOW(3)) * 1000 AS SIGNED));
END$$

CREATE TRIGGER statements_change_update AFTER UPDATE ON statements FOR EACH ROW
BEGIN
  IF NOT (OLD.import_id <=> NEW.import_id AND OLD.bank_id <=> NEW.bank_id AND OLD.account <=> NEW.account
          AND OLD.currency <=> NEW.currency AND OLD.opening <=> NEW.opening AND OLD.closing <=> NEW.closing
          AND OLD.opening_date <=> NEW.opening_date AND OLD.closing_date <=> NEW.closing_date
          AND OLD.from_date <=> NEW.from_date AND OLD.to_date <=> NEW.to_date
          AND OLD.line_count <=> NEW.line_count AND OLD.credits <=> NEW.credits AND OLD.debits <=> NEW.debits
          AND OLD.gap <=> NEW.gap) THEN
    INSERT INTO change_log (entity, entity_id, object_id, merchant_id, parent_id, op, data, at)
    VALUES ('statement', NEW.id, CONCAT('stm_', NEW.id), NULL, NEW.import_id, 'update', JSON_ARRAY(
      NEW.bank_id, NEW.account, NEW.currency, NEW.opening, NEW.closing,
      IF(NEW.opening_date > 0, CONCAT(NEW.opening_date DIV 10000, '-', LPAD(NEW.opening_date DIV 100 MOD 100, 2, '0'), '-', LPAD(NEW.opening_date MOD 100, 2, '0')), NULL),
      IF(NEW.closing_date > 0, CONCAT(NEW.closing_date DIV 10000, '-', LPAD(NEW.closing_date DIV 100 MOD 100, 2, '0'), '-', LPAD(NEW.closing_date MOD 100, 2, '0')), NULL),
      IF(NEW.from_date > 0, CONCAT(NEW.from_date DIV 10000, '-', LPAD(NEW.from_date DIV 100 MOD 100, 2, '0'), '-', LPAD(NEW.from_date MOD 100, 2, '0')), NULL),
      IF(NEW.to_date > 0, CONCAT(NEW.to_date DIV 10000, '-', LPAD(NEW.to_date DIV 100 MOD 100, 2, '0'), '-', LPAD(NEW.to_date MOD 100, 2, '0')), NULL),
      NEW.line_count, NEW.credits, NEW.debits, NEW.gap, NEW.created_at),
      CAST(UNIX_TIMESTAMP(NOW(3)) * 1000 AS SIGNED));
  END IF;
END$$
DELIMITER ;

-- ---- reconciliation items ---------------------------------------------------------------
-- The feed adds "payment_id" (the payment an item matched or was applied to).  Items of
-- kind 'bank_line' are inserted by a statement's import and covered by its change.  The
-- matching job's lease and the staff member's address (resolved_by) make no changes.
-- The same object is rendered for the items of a statement's lines when the feed expands
-- them (services/changes/feed.c, SQL_LINES, the same key list): keep the two in step.

DELIMITER $$
CREATE TRIGGER recon_items_change_insert AFTER INSERT ON recon_items FOR EACH ROW
BEGIN
  IF NEW.kind <> 'bank_line' THEN
    INSERT INTO change_log (entity, entity_id, object_id, merchant_id, parent_id, op, data, at)
    VALUES ('recon_item', NEW.id, CONCAT('rci_', NEW.id), NULL, NEW.payment_id, 'insert', JSON_ARRAY(
      NEW.kind, CONCAT('stm_', NEW.statement_id), CONCAT('stl_', NEW.line_id), NEW.transfer_ref, NEW.gateway,
      NEW.transaction_no, NEW.account,
      CONCAT(NEW.business_day DIV 10000, '-', LPAD(NEW.business_day DIV 100 MOD 100, 2, '0'), '-', LPAD(NEW.business_day MOD 100, 2, '0')),
      NEW.amount, NEW.currency, NEW.state, NEW.rule, NEW.detail, NEW.unapplied <> 0, NEW.resolution,
      NEW.resolved_at, NEW.note, NEW.paid_out_by IS NOT NULL, NEW.created_at, NEW.updated_at),
      CAST(UNIX_TIMESTAMP(NOW(3)) * 1000 AS SIGNED));
  END IF;
END$$

CREATE TRIGGER recon_items_change_update AFTER UPDATE ON recon_items FOR EACH ROW
BEGIN
  IF NOT (OLD.kind <=> NEW.kind AND OLD.statement_id <=> NEW.statement_id AND OLD.line_id <=> NEW.line_id
          AND OLD.transfer_ref <=> NEW.transfer_ref AND OLD.gateway <=> NEW.gateway
          AND OLD.transaction_no <=> NEW.transaction_no AND OLD.account <=> NEW.account
          AND OLD.business_day <=> NEW.business_day AND OLD.amount <=> NEW.amount
          AND OLD.currency <=> NEW.currency AND OLD.state <=> NEW.state AND OLD.rule <=> NEW.rule
          AND OLD.detail <=> NEW.detail AND OLD.unapplied <=> NEW.unapplied
          AND OLD.resolution <=> NEW.resolution AND OLD.resolved_at <=> NEW.resolved_at
          AND OLD.note <=> NEW.note AND OLD.paid_out_by <=> NEW.paid_out_by
          AND OLD.payment_id <=> NEW.payment_id) THEN
    INSERT INTO change_log (entity, entity_id, object_id, merchant_id, parent_id, op, data, at)
    VALUES ('recon_item', NEW.id, CONCAT('rci_', NEW.id), NULL, NEW.payment_id, 'update', JSON_ARRAY(
      NEW.kind, CONCAT('stm_', NEW.statement_id), CONCAT('stl_', NEW.line_id), NEW.transfer_ref, NEW.gateway,
      NEW.transaction_no, NEW.account,
      CONCAT(NEW.business_day DIV 10000, '-', LPAD(NEW.business_day DIV 100 MOD 100, 2, '0'), '-', LPAD(NEW.business_day MOD 100, 2, '0')),
      NEW.amount, NEW.currency, NEW.state, NEW.rule, NEW.detail, NEW.unapplied <> 0, NEW.resolution,
      NEW.resolved_at, NEW.note, NEW.paid_out_by IS NOT NULL, NEW.created_at, NEW.updated_at),
      CAST(UNIX_TIMESTAMP(NOW(3)) * 1000 AS SIGNED));
  END IF;
END$$
DELIMITER ;

-- ---- what existed before this migration ---------------------------------------------------
-- One insert change per existing row, its snapshot as it is now and `at` its last update,
-- so that a reader starting at the beginning gets every object; the sequencer numbers
-- them like any change.  Written after the triggers exist: like every migration here it
-- runs while no server writes.

INSERT INTO change_log (entity, entity_id, object_id, merchant_id, parent_id, op, data, at)
SELECT 'order', o.id, o.public_id, o.merchant_id, NULL, 'insert', JSON_ARRAY(
  o.merchant_ref, o.fee_type, o.category, o.amount, o.currency, o.amount_paid, o.amount_refunded,
  o.allow_partial <> 0, o.status, o.payer_name, o.payer_ref, o.description, o.due_at, o.expires_at,
  JSON_QUERY(COALESCE(NULLIF(o.metadata, ''), '{}'), '$'), o.code, o.created_at, o.updated_at),
  o.updated_at
FROM orders o ORDER BY o.id;

INSERT INTO change_log (entity, entity_id, object_id, merchant_id, parent_id, op, data, at)
SELECT 'payment', p.id, p.public_id, p.merchant_id, p.order_id, 'insert', JSON_ARRAY(
  p.adapter, p.amount, p.amount_received, p.amount_applied, p.amount_unapplied, p.currency, p.amount_refunded,
  p.status, p.provider_txn_id, p.failure_reason, p.created_at, p.updated_at),
  p.updated_at
FROM payments p ORDER BY p.id;

INSERT INTO change_log (entity, entity_id, object_id, merchant_id, parent_id, op, data, at)
SELECT 'refund', r.id, r.public_id, r.merchant_id, r.payment_id, 'insert', JSON_ARRAY(
  r.amount, r.currency, r.status, r.reason, r.provider_refund_id, r.created_at, r.updated_at),
  r.updated_at
FROM refunds r ORDER BY r.id;

INSERT INTO change_log (entity, entity_id, object_id, merchant_id, parent_id, op, data, at)
SELECT 'statement', s.id, CONCAT('stm_', s.id), NULL, s.import_id, 'insert', JSON_ARRAY(
  s.bank_id, s.account, s.currency, s.opening, s.closing,
  IF(s.opening_date > 0, CONCAT(s.opening_date DIV 10000, '-', LPAD(s.opening_date DIV 100 MOD 100, 2, '0'), '-', LPAD(s.opening_date MOD 100, 2, '0')), NULL),
  IF(s.closing_date > 0, CONCAT(s.closing_date DIV 10000, '-', LPAD(s.closing_date DIV 100 MOD 100, 2, '0'), '-', LPAD(s.closing_date MOD 100, 2, '0')), NULL),
  IF(s.from_date > 0, CONCAT(s.from_date DIV 10000, '-', LPAD(s.from_date DIV 100 MOD 100, 2, '0'), '-', LPAD(s.from_date MOD 100, 2, '0')), NULL),
  IF(s.to_date > 0, CONCAT(s.to_date DIV 10000, '-', LPAD(s.to_date DIV 100 MOD 100, 2, '0'), '-', LPAD(s.to_date MOD 100, 2, '0')), NULL),
  s.line_count, s.credits, s.debits, s.gap, s.created_at),
  s.created_at
FROM statements s ORDER BY s.id;

INSERT INTO change_log (entity, entity_id, object_id, merchant_id, parent_id, op, data, at)
SELECT 'recon_item', i.id, CONCAT('rci_', i.id), NULL, i.payment_id, 'insert', JSON_ARRAY(
  i.kind, CONCAT('stm_', i.statement_id), CONCAT('stl_', i.line_id), i.transfer_ref, i.gateway,
  i.transaction_no, i.account,
  CONCAT(i.business_day DIV 10000, '-', LPAD(i.business_day DIV 100 MOD 100, 2, '0'), '-', LPAD(i.business_day MOD 100, 2, '0')),
  i.amount, i.currency, i.state, i.rule, i.detail, i.unapplied <> 0, i.resolution, i.resolved_at, i.note,
  i.paid_out_by IS NOT NULL, i.created_at, i.updated_at),
  i.updated_at
FROM recon_items i WHERE i.kind <> 'bank_line' ORDER BY i.id;
