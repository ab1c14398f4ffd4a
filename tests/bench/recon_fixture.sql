-- tests/bench/recon_fixture.sql — what the matching benchmark matches against: for each line
-- stmtgen writes (account @account, line i: 100,000 + i VND, bank reference FT<i>), an order, a
-- VietQR payment that paid it, its payment journal (Dr assets:clearing:vietqr, Cr the merchant),
-- and the bank feed's transfer record, as the SePay feed leaves them. Set @account, @file (0..9),
-- @lines and @merchant (a merchant's row id) first. Written set-wise with the Sequence engine;
-- not timed. `feegate ledger check` holds after it.
SET @now = UNIX_TIMESTAMP() * 1000;
SET @mpub = (SELECT public_id FROM merchants WHERE id = @merchant);
INSERT IGNORE INTO ledger_accounts (code, currency, kind, merchant_id, created_at) VALUES
  ('assets:clearing:vietqr', 'VND', 'asset', NULL, @now),
  (CONCAT('liabilities:merchant:', @mpub), 'VND', 'liability', @merchant, @now);
SET @clearing = (SELECT id FROM ledger_accounts WHERE code = 'assets:clearing:vietqr' AND currency = 'VND');
SET @merchant_account = (SELECT id FROM ledger_accounts WHERE code = CONCAT('liabilities:merchant:', @mpub)
                         AND currency = 'VND');
SET @seq = CONCAT('seq_0_to_', @lines - 1);

SET @sql = CONCAT("INSERT INTO orders (public_id, merchant_id, merchant_ref, fee_type, amount, currency, amount_paid, ",
  "status, code, created_at, updated_at) SELECT CONCAT('ord_bench', @file, '_', seq), @merchant, ",
  "CONCAT('bench', @file, '-', seq), 'tuition', 100000 + seq, 'VND', 100000 + seq, 'paid', ",
  "CONCAT('Z', @file, LPAD(seq, 9, '0')), @now, @now FROM ", @seq);
PREPARE s FROM @sql; EXECUTE s; DEALLOCATE PREPARE s;

SET @sql = CONCAT("INSERT INTO payments (public_id, order_id, merchant_id, adapter, amount, amount_received, ",
  "amount_applied, currency, status, provider_txn_id, created_at, updated_at) SELECT CONCAT('pay_bench', @file, '_', ",
  "q.seq), o.id, @merchant, 'vietqr', o.amount, o.amount, o.amount, 'VND', 'succeeded', ",
  "CONCAT('SEPAY', @file, '_', q.seq), @now, @now FROM ", @seq, " q JOIN orders o ON o.public_id = ",
  "CONCAT('ord_bench', @file, '_', q.seq)");
PREPARE s FROM @sql; EXECUTE s; DEALLOCATE PREPARE s;

SET @sql = CONCAT("INSERT INTO journals (public_id, kind, payment_id, memo, created_at) SELECT CONCAT('jnl_bench', ",
  "@file, '_', q.seq), 'payment', p.id, 'VietQR transfer (benchmark fixture)', @now FROM ", @seq, " q JOIN payments p ",
  "ON p.public_id = CONCAT('pay_bench', @file, '_', q.seq)");
PREPARE s FROM @sql; EXECUTE s; DEALLOCATE PREPARE s;

SET @sql = CONCAT("INSERT INTO ledger_entries (journal_id, account_id, amount, currency, created_at) SELECT j.id, ",
  "IF(k.seq = 0, @clearing, @merchant_account), IF(k.seq = 0, p.amount, -p.amount), 'VND', @now FROM ", @seq,
  " q JOIN journals j ON j.public_id = CONCAT('jnl_bench', @file, '_', q.seq) JOIN payments p ON p.id = j.payment_id ",
  "JOIN seq_0_to_1 k");
PREPARE s FROM @sql; EXECUTE s; DEALLOCATE PREPARE s;

SET @sql = CONCAT("INSERT INTO bank_transfers (account, bank_ref, source, payment_id, amount, created_at) SELECT ",
  "@account, CONCAT('FT', q.seq), 'feed', p.id, p.amount, @now FROM ", @seq, " q JOIN payments p ON p.public_id = ",
  "CONCAT('pay_bench', @file, '_', q.seq)");
PREPARE s FROM @sql; EXECUTE s; DEALLOCATE PREPARE s;
