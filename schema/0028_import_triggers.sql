-- 0028_import_triggers: a statement import pays for less per line
-- (docs/RECONCILIATION.md, "Import speed").
--
-- recon_items had two AFTER INSERT triggers, the change feed's (0016) and
-- the day totals' (0026), both doing nothing for the statement lines' items
-- an import inserts a million at a time, yet each invoked once per row: one
-- trigger doing both costs one invocation.  Same statements, same order.
DROP TRIGGER recon_items_change_insert;
DROP TRIGGER recon_items_totals_insert;

DELIMITER $$
CREATE TRIGGER recon_items_after_insert AFTER INSERT ON recon_items FOR EACH ROW
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
DELIMITER ;

-- The import asks, per line, whether a gateway's settlement batch waits for
-- it (its reference or end-to-end id is the batch's reference, and no line
-- settled the batch yet); the only key began with the gateway, so every line
-- read every batch.  Now a probe of the waiting batches by reference.
ALTER TABLE settlement_batches ADD KEY ix_settlement_batches_waiting (line_id, batch_ref);
