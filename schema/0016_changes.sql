-- 0016_changes: a commit-ordered change feed for the city's data-sharing platform
-- (docs/CHANGES.md), and the event log paged in the same order.
--
-- Every change of an order, payment, refund, statement and reconciliation item is
-- written into change_log by a trigger, in the transaction that makes it, so no write
-- path can forget one.  A row carries a JSON snapshot of the columns a consumer needs,
-- built from the row alone (no reads of other tables: the public ids of the merchant and
-- of the row it refers to are read when the row is numbered; they never change).  A
-- trigger on an UPDATE writes
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
-- Times in the snapshots are RFC 3339 UTC with milliseconds, computed from the BIGINT
-- milliseconds by arithmetic on a DATETIME literal, so the session's time zone never
-- enters; days (yyyymmdd) become YYYY-MM-DD.  `at` is when the change was written.

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
  VALUES ('order', NEW.id, NEW.public_id, NEW.merchant_id, NULL, 'insert', JSON_OBJECT(
    'merchant_ref', NEW.merchant_ref, 'fee_type', NEW.fee_type, 'category', NEW.category,
    'amount', NEW.amount, 'currency', NEW.currency, 'amount_paid', NEW.amount_paid,
    'amount_refunded', NEW.amount_refunded, 'allow_partial', NEW.allow_partial <> 0, 'status', NEW.status,
    'payer', JSON_OBJECT('name', NEW.payer_name, 'ref', NEW.payer_ref), 'description', NEW.description,
    'due_at', CONCAT(DATE_FORMAT(TIMESTAMP'1970-01-01 00:00:00' + INTERVAL NEW.due_at DIV 1000 SECOND,
                     '%Y-%m-%dT%H:%i:%s.'), LPAD(NEW.due_at MOD 1000, 3, '0'), 'Z'),
    'expires_at', CONCAT(DATE_FORMAT(TIMESTAMP'1970-01-01 00:00:00' + INTERVAL NEW.expires_at DIV 1000 SECOND,
                         '%Y-%m-%dT%H:%i:%s.'), LPAD(NEW.expires_at MOD 1000, 3, '0'), 'Z'),
    'metadata', JSON_QUERY(COALESCE(NULLIF(NEW.metadata, ''), '{}'), '$'), 'code', NEW.code,
    'created_at', CONCAT(DATE_FORMAT(TIMESTAMP'1970-01-01 00:00:00' + INTERVAL NEW.created_at DIV 1000 SECOND,
                         '%Y-%m-%dT%H:%i:%s.'), LPAD(NEW.created_at MOD 1000, 3, '0'), 'Z'),
    'updated_at', CONCAT(DATE_FORMAT(TIMESTAMP'1970-01-01 00:00:00' + INTERVAL NEW.updated_at DIV 1000 SECOND,
                         '%Y-%m-%dT%H:%i:%s.'), LPAD(NEW.updated_at MOD 1000, 3, '0'), 'Z')),
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
    VALUES ('order', NEW.id, NEW.public_id, NEW.merchant_id, NULL, 'update', JSON_OBJECT(
      'merchant_ref', NEW.merchant_ref, 'fee_type', NEW.fee_type, 'category', NEW.category,
      'amount', NEW.amount, 'currency', NEW.currency, 'amount_paid', NEW.amount_paid,
      'amount_refunded', NEW.amount_refunded, 'allow_partial', NEW.allow_partial <> 0, 'status', NEW.status,
      'payer', JSON_OBJECT('name', NEW.payer_name, 'ref', NEW.payer_ref), 'description', NEW.description,
      'due_at', CONCAT(DATE_FORMAT(TIMESTAMP'1970-01-01 00:00:00' + INTERVAL NEW.due_at DIV 1000 SECOND,
                       '%Y-%m-%dT%H:%i:%s.'), LPAD(NEW.due_at MOD 1000, 3, '0'), 'Z'),
      'expires_at', CONCAT(DATE_FORMAT(TIMESTAMP'1970-01-01 00:00:00' + INTERVAL NEW.expires_at DIV 1000 SECOND,
                           '%Y-%m-%dT%H:%i:%s.'), LPAD(NEW.expires_at MOD 1000, 3, '0'), 'Z'),
      'metadata', JSON_QUERY(COALESCE(NULLIF(NEW.metadata, ''), '{}'), '$'), 'code', NEW.code,
      'created_at', CONCAT(DATE_FORMAT(TIMESTAMP'1970-01-01 00:00:00' + INTERVAL NEW.created_at DIV 1000 SECOND,
                           '%Y-%m-%dT%H:%i:%s.'), LPAD(NEW.created_at MOD 1000, 3, '0'), 'Z'),
      'updated_at', CONCAT(DATE_FORMAT(TIMESTAMP'1970-01-01 00:00:00' + INTERVAL NEW.updated_at DIV 1000 SECOND,
                           '%Y-%m-%dT%H:%i:%s.'), LPAD(NEW.updated_at MOD 1000, 3, '0'), 'Z')),
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
  VALUES ('payment', NEW.id, NEW.public_id, NEW.merchant_id, NEW.order_id, 'insert', JSON_OBJECT(
    'method', NEW.adapter, 'amount', NEW.amount, 'amount_received', NEW.amount_received,
    'amount_applied', NEW.amount_applied, 'amount_unapplied', NEW.amount_unapplied, 'currency', NEW.currency,
    'amount_refunded', NEW.amount_refunded, 'status', NEW.status, 'provider_txn_id', NEW.provider_txn_id,
    'failure_reason', NEW.failure_reason,
    'created_at', CONCAT(DATE_FORMAT(TIMESTAMP'1970-01-01 00:00:00' + INTERVAL NEW.created_at DIV 1000 SECOND,
                         '%Y-%m-%dT%H:%i:%s.'), LPAD(NEW.created_at MOD 1000, 3, '0'), 'Z'),
    'updated_at', CONCAT(DATE_FORMAT(TIMESTAMP'1970-01-01 00:00:00' + INTERVAL NEW.updated_at DIV 1000 SECOND,
                         '%Y-%m-%dT%H:%i:%s.'), LPAD(NEW.updated_at MOD 1000, 3, '0'), 'Z')),
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
    VALUES ('payment', NEW.id, NEW.public_id, NEW.merchant_id, NEW.order_id, 'update', JSON_OBJECT(
      'method', NEW.adapter, 'amount', NEW.amount, 'amount_received', NEW.amount_received,
      'amount_applied', NEW.amount_applied, 'amount_unapplied', NEW.amount_unapplied, 'currency', NEW.currency,
      'amount_refunded', NEW.amount_refunded, 'status', NEW.status, 'provider_txn_id', NEW.provider_txn_id,
      'failure_reason', NEW.failure_reason,
      'created_at', CONCAT(DATE_FORMAT(TIMESTAMP'1970-01-01 00:00:00' + INTERVAL NEW.created_at DIV 1000 SECOND,
                           '%Y-%m-%dT%H:%i:%s.'), LPAD(NEW.created_at MOD 1000, 3, '0'), 'Z'),
      'updated_at', CONCAT(DATE_FORMAT(TIMESTAMP'1970-01-01 00:00:00' + INTERVAL NEW.updated_at DIV 1000 SECOND,
                           '%Y-%m-%dT%H:%i:%s.'), LPAD(NEW.updated_at MOD 1000, 3, '0'), 'Z')),
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
  VALUES ('refund', NEW.id, NEW.public_id, NEW.merchant_id, NEW.payment_id, 'insert', JSON_OBJECT(
    'amount', NEW.amount, 'currency', NEW.currency, 'status', NEW.status, 'reason', NEW.reason,
    'provider_refund_id', NEW.provider_refund_id,
    'created_at', CONCAT(DATE_FORMAT(TIMESTAMP'1970-01-01 00:00:00' + INTERVAL NEW.created_at DIV 1000 SECOND,
                         '%Y-%m-%dT%H:%i:%s.'), LPAD(NEW.created_at MOD 1000, 3, '0'), 'Z'),
    'updated_at', CONCAT(DATE_FORMAT(TIMESTAMP'1970-01-01 00:00:00' + INTERVAL NEW.updated_at DIV 1000 SECOND,
                         '%Y-%m-%dT%H:%i:%s.'), LPAD(NEW.updated_at MOD 1000, 3, '0'), 'Z')),
    CAST(UNIX_TIMESTAMP(NOW(3)) * 1000 AS SIGNED));
END$$

CREATE TRIGGER refunds_change_update AFTER UPDATE ON refunds FOR EACH ROW
BEGIN
  IF NOT (OLD.payment_id <=> NEW.payment_id AND OLD.amount <=> NEW.amount AND OLD.currency <=> NEW.currency
          AND OLD.status <=> NEW.status AND OLD.reason <=> NEW.reason
          AND OLD.provider_refund_id <=> NEW.provider_refund_id) THEN
    INSERT INTO change_log (entity, entity_id, object_id, merchant_id, parent_id, op, data, at)
    VALUES ('refund', NEW.id, NEW.public_id, NEW.merchant_id, NEW.payment_id, 'update', JSON_OBJECT(
      'amount', NEW.amount, 'currency', NEW.currency, 'status', NEW.status, 'reason', NEW.reason,
      'provider_refund_id', NEW.provider_refund_id,
      'created_at', CONCAT(DATE_FORMAT(TIMESTAMP'1970-01-01 00:00:00' + INTERVAL NEW.created_at DIV 1000 SECOND,
                           '%Y-%m-%dT%H:%i:%s.'), LPAD(NEW.created_at MOD 1000, 3, '0'), 'Z'),
      'updated_at', CONCAT(DATE_FORMAT(TIMESTAMP'1970-01-01 00:00:00' + INTERVAL NEW.updated_at DIV 1000 SECOND,
                           '%Y-%m-%dT%H:%i:%s.'), LPAD(NEW.updated_at MOD 1000, 3, '0'), 'Z')),
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
  VALUES ('statement', NEW.id, CONCAT('stm_', NEW.id), NULL, NEW.import_id, 'insert', JSON_OBJECT(
    'bank_id', NEW.bank_id, 'account', NEW.account, 'currency', NEW.currency,
    'opening', NEW.opening, 'closing', NEW.closing,
    'opening_date', IF(NEW.opening_date > 0, CONCAT(NEW.opening_date DIV 10000, '-',
                       LPAD(NEW.opening_date DIV 100 MOD 100, 2, '0'), '-', LPAD(NEW.opening_date MOD 100, 2, '0')), NULL),
    'closing_date', IF(NEW.closing_date > 0, CONCAT(NEW.closing_date DIV 10000, '-',
                       LPAD(NEW.closing_date DIV 100 MOD 100, 2, '0'), '-', LPAD(NEW.closing_date MOD 100, 2, '0')), NULL),
    'from_date', IF(NEW.from_date > 0, CONCAT(NEW.from_date DIV 10000, '-',
                    LPAD(NEW.from_date DIV 100 MOD 100, 2, '0'), '-', LPAD(NEW.from_date MOD 100, 2, '0')), NULL),
    'to_date', IF(NEW.to_date > 0, CONCAT(NEW.to_date DIV 10000, '-',
                  LPAD(NEW.to_date DIV 100 MOD 100, 2, '0'), '-', LPAD(NEW.to_date MOD 100, 2, '0')), NULL),
    'line_count', NEW.line_count, 'credits', NEW.credits, 'debits', NEW.debits, 'gap', NEW.gap,
    'created_at', CONCAT(DATE_FORMAT(TIMESTAMP'1970-01-01 00:00:00' + INTERVAL NEW.created_at DIV 1000 SECOND,
                         '%Y-%m-%dT%H:%i:%s.'), LPAD(NEW.created_at MOD 1000, 3, '0'), 'Z')),
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
    VALUES ('statement', NEW.id, CONCAT('stm_', NEW.id), NULL, NEW.import_id, 'update', JSON_OBJECT(
      'bank_id', NEW.bank_id, 'account', NEW.account, 'currency', NEW.currency,
      'opening', NEW.opening, 'closing', NEW.closing,
      'opening_date', IF(NEW.opening_date > 0, CONCAT(NEW.opening_date DIV 10000, '-',
                         LPAD(NEW.opening_date DIV 100 MOD 100, 2, '0'), '-', LPAD(NEW.opening_date MOD 100, 2, '0')), NULL),
      'closing_date', IF(NEW.closing_date > 0, CONCAT(NEW.closing_date DIV 10000, '-',
                         LPAD(NEW.closing_date DIV 100 MOD 100, 2, '0'), '-', LPAD(NEW.closing_date MOD 100, 2, '0')), NULL),
      'from_date', IF(NEW.from_date > 0, CONCAT(NEW.from_date DIV 10000, '-',
                      LPAD(NEW.from_date DIV 100 MOD 100, 2, '0'), '-', LPAD(NEW.from_date MOD 100, 2, '0')), NULL),
      'to_date', IF(NEW.to_date > 0, CONCAT(NEW.to_date DIV 10000, '-',
                    LPAD(NEW.to_date DIV 100 MOD 100, 2, '0'), '-', LPAD(NEW.to_date MOD 100, 2, '0')), NULL),
      'line_count', NEW.line_count, 'credits', NEW.credits, 'debits', NEW.debits, 'gap', NEW.gap,
      'created_at', CONCAT(DATE_FORMAT(TIMESTAMP'1970-01-01 00:00:00' + INTERVAL NEW.created_at DIV 1000 SECOND,
                           '%Y-%m-%dT%H:%i:%s.'), LPAD(NEW.created_at MOD 1000, 3, '0'), 'Z')),
      CAST(UNIX_TIMESTAMP(NOW(3)) * 1000 AS SIGNED));
  END IF;
END$$
DELIMITER ;

-- ---- reconciliation items ---------------------------------------------------------------
-- The feed adds "payment_id" (the payment an item matched or was applied to).  Items of
-- kind 'bank_line' are inserted by a statement's import and covered by its change.  The
-- matching job's lease and the staff member's address (resolved_by) make no changes.
-- The same object is rendered for the items of a statement's lines when the feed expands
-- them (services/changes/feed.c, SQL_LINES): keep the two in step.

DELIMITER $$
CREATE TRIGGER recon_items_change_insert AFTER INSERT ON recon_items FOR EACH ROW
BEGIN
  IF NEW.kind <> 'bank_line' THEN
    INSERT INTO change_log (entity, entity_id, object_id, merchant_id, parent_id, op, data, at)
    VALUES ('recon_item', NEW.id, CONCAT('rci_', NEW.id), NULL, NEW.payment_id, 'insert', JSON_OBJECT(
      'kind', NEW.kind, 'statement_id', CONCAT('stm_', NEW.statement_id), 'line_id', CONCAT('stl_', NEW.line_id),
      'transfer_ref', NEW.transfer_ref, 'gateway', NEW.gateway, 'transaction_no', NEW.transaction_no,
      'account', NEW.account,
      'business_day', CONCAT(NEW.business_day DIV 10000, '-', LPAD(NEW.business_day DIV 100 MOD 100, 2, '0'), '-',
                             LPAD(NEW.business_day MOD 100, 2, '0')),
      'amount', NEW.amount, 'currency', NEW.currency, 'state', NEW.state, 'rule', NEW.rule, 'detail', NEW.detail,
      'unapplied', NEW.unapplied <> 0, 'resolution', NEW.resolution,
      'resolved_at', CONCAT(DATE_FORMAT(TIMESTAMP'1970-01-01 00:00:00' + INTERVAL NEW.resolved_at DIV 1000 SECOND,
                            '%Y-%m-%dT%H:%i:%s.'), LPAD(NEW.resolved_at MOD 1000, 3, '0'), 'Z'),
      'note', NEW.note, 'paid_out', NEW.paid_out_by IS NOT NULL,
      'created_at', CONCAT(DATE_FORMAT(TIMESTAMP'1970-01-01 00:00:00' + INTERVAL NEW.created_at DIV 1000 SECOND,
                           '%Y-%m-%dT%H:%i:%s.'), LPAD(NEW.created_at MOD 1000, 3, '0'), 'Z'),
      'updated_at', CONCAT(DATE_FORMAT(TIMESTAMP'1970-01-01 00:00:00' + INTERVAL NEW.updated_at DIV 1000 SECOND,
                           '%Y-%m-%dT%H:%i:%s.'), LPAD(NEW.updated_at MOD 1000, 3, '0'), 'Z')),
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
    VALUES ('recon_item', NEW.id, CONCAT('rci_', NEW.id), NULL, NEW.payment_id, 'update', JSON_OBJECT(
      'kind', NEW.kind, 'statement_id', CONCAT('stm_', NEW.statement_id), 'line_id', CONCAT('stl_', NEW.line_id),
      'transfer_ref', NEW.transfer_ref, 'gateway', NEW.gateway, 'transaction_no', NEW.transaction_no,
      'account', NEW.account,
      'business_day', CONCAT(NEW.business_day DIV 10000, '-', LPAD(NEW.business_day DIV 100 MOD 100, 2, '0'), '-',
                             LPAD(NEW.business_day MOD 100, 2, '0')),
      'amount', NEW.amount, 'currency', NEW.currency, 'state', NEW.state, 'rule', NEW.rule, 'detail', NEW.detail,
      'unapplied', NEW.unapplied <> 0, 'resolution', NEW.resolution,
      'resolved_at', CONCAT(DATE_FORMAT(TIMESTAMP'1970-01-01 00:00:00' + INTERVAL NEW.resolved_at DIV 1000 SECOND,
                            '%Y-%m-%dT%H:%i:%s.'), LPAD(NEW.resolved_at MOD 1000, 3, '0'), 'Z'),
      'note', NEW.note, 'paid_out', NEW.paid_out_by IS NOT NULL,
      'created_at', CONCAT(DATE_FORMAT(TIMESTAMP'1970-01-01 00:00:00' + INTERVAL NEW.created_at DIV 1000 SECOND,
                           '%Y-%m-%dT%H:%i:%s.'), LPAD(NEW.created_at MOD 1000, 3, '0'), 'Z'),
      'updated_at', CONCAT(DATE_FORMAT(TIMESTAMP'1970-01-01 00:00:00' + INTERVAL NEW.updated_at DIV 1000 SECOND,
                           '%Y-%m-%dT%H:%i:%s.'), LPAD(NEW.updated_at MOD 1000, 3, '0'), 'Z')),
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
SELECT 'order', o.id, o.public_id, o.merchant_id, NULL, 'insert', JSON_OBJECT(
  'merchant_ref', o.merchant_ref, 'fee_type', o.fee_type, 'category', o.category,
  'amount', o.amount, 'currency', o.currency, 'amount_paid', o.amount_paid,
  'amount_refunded', o.amount_refunded, 'allow_partial', o.allow_partial <> 0, 'status', o.status,
  'payer', JSON_OBJECT('name', o.payer_name, 'ref', o.payer_ref), 'description', o.description,
  'due_at', CONCAT(DATE_FORMAT(TIMESTAMP'1970-01-01 00:00:00' + INTERVAL o.due_at DIV 1000 SECOND,
                   '%Y-%m-%dT%H:%i:%s.'), LPAD(o.due_at MOD 1000, 3, '0'), 'Z'),
  'expires_at', CONCAT(DATE_FORMAT(TIMESTAMP'1970-01-01 00:00:00' + INTERVAL o.expires_at DIV 1000 SECOND,
                       '%Y-%m-%dT%H:%i:%s.'), LPAD(o.expires_at MOD 1000, 3, '0'), 'Z'),
  'metadata', JSON_QUERY(COALESCE(NULLIF(o.metadata, ''), '{}'), '$'), 'code', o.code,
  'created_at', CONCAT(DATE_FORMAT(TIMESTAMP'1970-01-01 00:00:00' + INTERVAL o.created_at DIV 1000 SECOND,
                       '%Y-%m-%dT%H:%i:%s.'), LPAD(o.created_at MOD 1000, 3, '0'), 'Z'),
  'updated_at', CONCAT(DATE_FORMAT(TIMESTAMP'1970-01-01 00:00:00' + INTERVAL o.updated_at DIV 1000 SECOND,
                       '%Y-%m-%dT%H:%i:%s.'), LPAD(o.updated_at MOD 1000, 3, '0'), 'Z')),
  o.updated_at
FROM orders o ORDER BY o.id;

INSERT INTO change_log (entity, entity_id, object_id, merchant_id, parent_id, op, data, at)
SELECT 'payment', p.id, p.public_id, p.merchant_id, p.order_id, 'insert', JSON_OBJECT(
  'method', p.adapter, 'amount', p.amount, 'amount_received', p.amount_received,
  'amount_applied', p.amount_applied, 'amount_unapplied', p.amount_unapplied, 'currency', p.currency,
  'amount_refunded', p.amount_refunded, 'status', p.status, 'provider_txn_id', p.provider_txn_id,
  'failure_reason', p.failure_reason,
  'created_at', CONCAT(DATE_FORMAT(TIMESTAMP'1970-01-01 00:00:00' + INTERVAL p.created_at DIV 1000 SECOND,
                       '%Y-%m-%dT%H:%i:%s.'), LPAD(p.created_at MOD 1000, 3, '0'), 'Z'),
  'updated_at', CONCAT(DATE_FORMAT(TIMESTAMP'1970-01-01 00:00:00' + INTERVAL p.updated_at DIV 1000 SECOND,
                       '%Y-%m-%dT%H:%i:%s.'), LPAD(p.updated_at MOD 1000, 3, '0'), 'Z')),
  p.updated_at
FROM payments p ORDER BY p.id;

INSERT INTO change_log (entity, entity_id, object_id, merchant_id, parent_id, op, data, at)
SELECT 'refund', r.id, r.public_id, r.merchant_id, r.payment_id, 'insert', JSON_OBJECT(
  'amount', r.amount, 'currency', r.currency, 'status', r.status, 'reason', r.reason,
  'provider_refund_id', r.provider_refund_id,
  'created_at', CONCAT(DATE_FORMAT(TIMESTAMP'1970-01-01 00:00:00' + INTERVAL r.created_at DIV 1000 SECOND,
                       '%Y-%m-%dT%H:%i:%s.'), LPAD(r.created_at MOD 1000, 3, '0'), 'Z'),
  'updated_at', CONCAT(DATE_FORMAT(TIMESTAMP'1970-01-01 00:00:00' + INTERVAL r.updated_at DIV 1000 SECOND,
                       '%Y-%m-%dT%H:%i:%s.'), LPAD(r.updated_at MOD 1000, 3, '0'), 'Z')),
  r.updated_at
FROM refunds r ORDER BY r.id;

INSERT INTO change_log (entity, entity_id, object_id, merchant_id, parent_id, op, data, at)
SELECT 'statement', s.id, CONCAT('stm_', s.id), NULL, s.import_id, 'insert', JSON_OBJECT(
  'bank_id', s.bank_id, 'account', s.account, 'currency', s.currency,
  'opening', s.opening, 'closing', s.closing,
  'opening_date', IF(s.opening_date > 0, CONCAT(s.opening_date DIV 10000, '-',
                     LPAD(s.opening_date DIV 100 MOD 100, 2, '0'), '-', LPAD(s.opening_date MOD 100, 2, '0')), NULL),
  'closing_date', IF(s.closing_date > 0, CONCAT(s.closing_date DIV 10000, '-',
                     LPAD(s.closing_date DIV 100 MOD 100, 2, '0'), '-', LPAD(s.closing_date MOD 100, 2, '0')), NULL),
  'from_date', IF(s.from_date > 0, CONCAT(s.from_date DIV 10000, '-',
                  LPAD(s.from_date DIV 100 MOD 100, 2, '0'), '-', LPAD(s.from_date MOD 100, 2, '0')), NULL),
  'to_date', IF(s.to_date > 0, CONCAT(s.to_date DIV 10000, '-',
                LPAD(s.to_date DIV 100 MOD 100, 2, '0'), '-', LPAD(s.to_date MOD 100, 2, '0')), NULL),
  'line_count', s.line_count, 'credits', s.credits, 'debits', s.debits, 'gap', s.gap,
  'created_at', CONCAT(DATE_FORMAT(TIMESTAMP'1970-01-01 00:00:00' + INTERVAL s.created_at DIV 1000 SECOND,
                       '%Y-%m-%dT%H:%i:%s.'), LPAD(s.created_at MOD 1000, 3, '0'), 'Z')),
  s.created_at
FROM statements s ORDER BY s.id;

INSERT INTO change_log (entity, entity_id, object_id, merchant_id, parent_id, op, data, at)
SELECT 'recon_item', i.id, CONCAT('rci_', i.id), NULL, i.payment_id, 'insert', JSON_OBJECT(
  'kind', i.kind, 'statement_id', CONCAT('stm_', i.statement_id), 'line_id', CONCAT('stl_', i.line_id),
  'transfer_ref', i.transfer_ref, 'gateway', i.gateway, 'transaction_no', i.transaction_no,
  'account', i.account,
  'business_day', CONCAT(i.business_day DIV 10000, '-', LPAD(i.business_day DIV 100 MOD 100, 2, '0'), '-',
                         LPAD(i.business_day MOD 100, 2, '0')),
  'amount', i.amount, 'currency', i.currency, 'state', i.state, 'rule', i.rule, 'detail', i.detail,
  'unapplied', i.unapplied <> 0, 'resolution', i.resolution,
  'resolved_at', CONCAT(DATE_FORMAT(TIMESTAMP'1970-01-01 00:00:00' + INTERVAL i.resolved_at DIV 1000 SECOND,
                        '%Y-%m-%dT%H:%i:%s.'), LPAD(i.resolved_at MOD 1000, 3, '0'), 'Z'),
  'note', i.note, 'paid_out', i.paid_out_by IS NOT NULL,
  'created_at', CONCAT(DATE_FORMAT(TIMESTAMP'1970-01-01 00:00:00' + INTERVAL i.created_at DIV 1000 SECOND,
                       '%Y-%m-%dT%H:%i:%s.'), LPAD(i.created_at MOD 1000, 3, '0'), 'Z'),
  'updated_at', CONCAT(DATE_FORMAT(TIMESTAMP'1970-01-01 00:00:00' + INTERVAL i.updated_at DIV 1000 SECOND,
                       '%Y-%m-%dT%H:%i:%s.'), LPAD(i.updated_at MOD 1000, 3, '0'), 'Z')),
  i.updated_at
FROM recon_items i WHERE i.kind <> 'bank_line' ORDER BY i.id;
