-- tests/bench/reports_fixture.sql — a city's year of collections for tests/bench/reports: payments
-- @from .. @from + @count - 1 of the benchmark, each an order of one of the merchants whose row ids
-- are @merchant_lo .. @merchant_lo + @merchants - 1 (a merchant collects one fee type, a school
-- tuition, a utility its bills, a ward office procedures, in two categories), paid in full by
-- VietQR, VNPay or MoMo, with its payment journal (Dr assets:clearing:{adapter}, Cr the merchant)
-- posted at a time spread evenly over the @days days before @now; every hundredth payment refunded in full a day later (its refund, refund journal,
-- the order's and payment's counters); one open order for every twenty paid, due at a time spread
-- over the same days (what the outstanding report ages); and for every VietQR payment the
-- matched reconciliation item of its statement line, on its business day in GMT+7 (what the
-- reconciliation summary counts). Set @from, @count, @merchant_lo, @merchants, @days, @now
-- first; the ledger accounts must exist. Written set-wise with the Sequence engine; not timed.
-- `feegate ledger check` holds after it.
SET @seq = CONCAT('seq_', @from, '_to_', @from + @count - 1);
SET @span = @days * 86400000;

SET @sql = CONCAT("INSERT INTO orders (public_id, merchant_id, merchant_ref, fee_type, category, amount, currency, ",
  "amount_paid, amount_refunded, status, payer_name, metadata, code, created_at, updated_at) SELECT ",
  "CONCAT('ord_rb', seq), @merchant_lo + seq % @merchants, CONCAT('RB-', seq), ",
  "ELT(1 + seq % @merchants % 3, 'tuition', 'utility', 'procedure'), ",
  "ELT(1 + seq % @merchants % 3 + 3 * (seq DIV @merchants % 2), 'hoc-phi', 'nuoc', 'ho-tich', 'ban-tru', 'dien', ",
  "NULL), 50000 + (seq % 1000) * 1000, 'VND', 50000 + (seq % 1000) * 1000, ",
  "IF(seq % 100 = 0, 50000 + (seq % 1000) * 1000, 0), 'paid', 'Nguyen Van An', ",
  "CONCAT('{\"class\":\"', 1 + seq % 12, ELT(1 + seq % 4, 'A', 'B', 'C', 'D'), '\"}'), ",
  "CONCAT('R', LPAD(seq, 10, '0')), @now - @span + (seq * 2654435761) % @span - 3600000, ",
  "@now - @span + (seq * 2654435761) % @span FROM ", @seq);
PREPARE s FROM @sql; EXECUTE s; DEALLOCATE PREPARE s;

SET @sql = CONCAT("INSERT INTO payments (public_id, order_id, merchant_id, adapter, amount, amount_received, ",
  "amount_applied, amount_refunded, currency, status, provider_txn_id, created_at, updated_at) SELECT ",
  "CONCAT('pay_rb', q.seq), o.id, o.merchant_id, ELT(1 + q.seq % 3, 'vietqr', 'vnpay', 'momo'), o.amount, o.amount, ",
  "o.amount, o.amount_refunded, 'VND', 'succeeded', CONCAT('RBTX', q.seq), o.updated_at, o.updated_at FROM ", @seq,
  " q JOIN orders o ON o.public_id = CONCAT('ord_rb', q.seq)");
PREPARE s FROM @sql; EXECUTE s; DEALLOCATE PREPARE s;

SET @sql = CONCAT("INSERT INTO journals (public_id, kind, payment_id, memo, created_at) SELECT CONCAT('jnl_rb', q.seq), ",
  "'payment', p.id, p.public_id, p.updated_at FROM ", @seq, " q JOIN payments p ON p.public_id = CONCAT('pay_rb', q.seq)");
PREPARE s FROM @sql; EXECUTE s; DEALLOCATE PREPARE s;

SET @sql = CONCAT("INSERT INTO ledger_entries (journal_id, account_id, amount, currency, created_at) SELECT j.id, ",
  "IF(k.seq = 0, c.id, a.id), IF(k.seq = 0, p.amount, -p.amount), 'VND', j.created_at FROM ", @seq,
  " q JOIN journals j ON j.public_id = CONCAT('jnl_rb', q.seq) JOIN payments p ON p.id = j.payment_id ",
  "JOIN merchants m ON m.id = p.merchant_id JOIN ledger_accounts a ON a.code = CONCAT('liabilities:merchant:', ",
  "m.public_id) JOIN ledger_accounts c ON c.code = CONCAT('assets:clearing:', p.adapter) JOIN seq_0_to_1 k");
PREPARE s FROM @sql; EXECUTE s; DEALLOCATE PREPARE s;

-- every hundredth payment refunded a day later
SET @sql = CONCAT("INSERT INTO refunds (public_id, payment_id, merchant_id, amount, currency, status, created_at, ",
  "updated_at) SELECT CONCAT('rfd_rb', q.seq), p.id, p.merchant_id, p.amount, 'VND', 'succeeded', ",
  "p.updated_at + 86400000, p.updated_at + 86400000 FROM ", @seq, " q JOIN payments p ON p.public_id = ",
  "CONCAT('pay_rb', q.seq) WHERE q.seq % 100 = 0");
PREPARE s FROM @sql; EXECUTE s; DEALLOCATE PREPARE s;

SET @sql = CONCAT("INSERT INTO journals (public_id, kind, refund_id, memo, created_at) SELECT CONCAT('jnr_rb', q.seq), ",
  "'refund', r.id, r.public_id, r.created_at FROM ", @seq, " q JOIN refunds r ON r.public_id = CONCAT('rfd_rb', q.seq) ",
  "WHERE q.seq % 100 = 0");
PREPARE s FROM @sql; EXECUTE s; DEALLOCATE PREPARE s;

SET @sql = CONCAT("INSERT INTO ledger_entries (journal_id, account_id, amount, currency, created_at) SELECT j.id, ",
  "IF(k.seq = 0, a.id, c.id), IF(k.seq = 0, r.amount, -r.amount), 'VND', j.created_at FROM ", @seq,
  " q JOIN journals j ON j.public_id = CONCAT('jnr_rb', q.seq) JOIN refunds r ON r.id = j.refund_id ",
  "JOIN payments p ON p.id = r.payment_id JOIN merchants m ON m.id = p.merchant_id JOIN ledger_accounts a ON ",
  "a.code = CONCAT('liabilities:merchant:', m.public_id) JOIN ledger_accounts c ON ",
  "c.code = CONCAT('assets:clearing:', p.adapter) JOIN seq_0_to_1 k WHERE q.seq % 100 = 0");
PREPARE s FROM @sql; EXECUTE s; DEALLOCATE PREPARE s;

-- one open order for every twenty paid, nothing paid on it, due somewhere in the year
SET @sql = CONCAT("INSERT INTO orders (public_id, merchant_id, merchant_ref, fee_type, category, amount, currency, ",
  "amount_paid, status, payer_name, metadata, code, due_at, created_at, updated_at) SELECT ",
  "CONCAT('ord_ro', seq), @merchant_lo + seq % @merchants, CONCAT('RO-', seq), ",
  "ELT(1 + seq % @merchants % 3, 'tuition', 'utility', 'procedure'), 'hoc-phi', 50000 + (seq % 1000) * 1000, 'VND', ",
  "0, 'open', 'Tran Thi Binh', CONCAT('{\"class\":\"', 1 + seq % 12, 'A\"}'), CONCAT('O', LPAD(seq, 10, '0')), ",
  "@now - @span + (seq * 40503) % @span, @now - @span - 86400000, @now - @span - 86400000 FROM ", @seq,
  " WHERE seq % 20 = 0");
PREPARE s FROM @sql; EXECUTE s; DEALLOCATE PREPARE s;

-- the VietQR payments' statement lines, matched, one account
SET @sql = CONCAT("INSERT INTO recon_items (kind, account, business_day, amount, state, rule, payment_id, created_at, ",
  "updated_at) SELECT 'bank_line', '0011001932418', DATE_FORMAT(DATE_ADD('1970-01-01', INTERVAL ",
  "FLOOR((p.created_at + 25200000) / 86400000) DAY), '%Y%m%d'), p.amount, 'matched', 'reference', p.id, p.created_at, ",
  "p.created_at FROM ", @seq, " q JOIN payments p ON p.public_id = CONCAT('pay_rb', q.seq) WHERE q.seq % 3 = 0");
PREPARE s FROM @sql; EXECUTE s; DEALLOCATE PREPARE s;
-- and their day totals, added as an import adds its lines' (services/recon/totals.c)
SET @sql = CONCAT("INSERT INTO recon_day_totals (account, business_day, items, line_count, credits, debits, matched, ",
  "suggested, bank_only, ledger_only, amount_mismatch, duplicate, resolved, open_items) SELECT '0011001932418', ",
  "DATE_FORMAT(DATE_ADD('1970-01-01', INTERVAL FLOOR((p.created_at + 25200000) / 86400000) DAY), '%Y%m%d') AS d, ",
  "COUNT(*), COUNT(*), SUM(p.amount), 0, COUNT(*), 0, 0, 0, 0, 0, 0, 0 FROM ", @seq, " q JOIN payments p ON ",
  "p.public_id = CONCAT('pay_rb', q.seq) WHERE q.seq % 3 = 0 GROUP BY d ON DUPLICATE KEY UPDATE items = items + ",
  "VALUES(items), line_count = line_count + VALUES(line_count), credits = credits + VALUES(credits), ",
  "matched = matched + VALUES(matched)");
PREPARE s FROM @sql; EXECUTE s; DEALLOCATE PREPARE s;
