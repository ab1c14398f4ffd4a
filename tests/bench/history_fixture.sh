# tests/bench/history_fixture.sh — sourced by tests/bench/dbsize after payments_fixture.
#
#   payments_history FROM TO   with sql() defined by the caller (the benchmark database)
#
# Adds the succeeded sandbox payments FROM..TO of a past history, spread over the
# fixture's 1,000 merchants, with every row the server's path leaves for one: the order
# (paid), the payment (succeeded), its inbox row, its journal and two ledger entries,
# its two events (payment.succeeded, order.paid) and four change-log rows (the order's
# and the payment's insert and update), numbered as the change-feed sequencer numbers
# them; and the report rollups of those journals, with the watermark past them, as the
# rollup job leaves them. A history payment has no receipt (a payment from before
# receipts). Ids are time-ordered like the server's (ULID-like, an older prefix), one
# payment every 50 ms back from now, so new rows go where they would. Written in chunks
# of 250,000 payments, one transaction each: `feegate ledger check` holds after it.

payments_history() {
  local from=$1 to=$2 lo hi t0
  t0=$(($(date +%s%3N) - 50 * to - 3600000))
  sql <<SQL
CREATE TABLE IF NOT EXISTS bench_spread (k INT NOT NULL PRIMARY KEY, merchant_id BIGINT UNSIGNED NOT NULL,
  merchant_public_id VARCHAR(40) NOT NULL, account_id BIGINT UNSIGNED NOT NULL);
INSERT IGNORE INTO bench_spread
  SELECT m.k, m.id, m.public_id, a.id FROM
    (SELECT id, public_id, ROW_NUMBER() OVER (ORDER BY id) - 1 AS k FROM merchants WHERE public_id LIKE 'mer_BNCH%') m
    JOIN ledger_accounts a ON a.code = CONCAT('liabilities:merchant:', m.public_id) AND a.currency = 'VND'
  WHERE m.k BETWEEN 1 AND 1000;
SQL
  for ((lo = from; lo <= to; lo += 250000)); do
    hi=$((lo + 249999 > to ? to : lo + 249999))
    sql <<SQL
SET @lo = CONCAT('ord_01H', LPAD($lo, 23, '0')), @hi = CONCAT('ord_01H', LPAD($hi, 23, '0'));
SET @plo = CONCAT('pay_01H', LPAD($lo, 23, '0')), @phi = CONCAT('pay_01H', LPAD($hi, 23, '0'));
SET @clearing = (SELECT id FROM ledger_accounts WHERE code = 'assets:clearing:sandbox' AND currency = 'VND');
SET @first_change = (SELECT COALESCE(MAX(id), 0) FROM change_log);
BEGIN;
INSERT INTO orders (public_id, merchant_id, merchant_ref, fee_type, amount, currency, amount_paid, status,
                    payer_name, payer_ref, description, code, created_at, updated_at)
  SELECT CONCAT('ord_01H', LPAD(n.seq, 23, '0')), b.merchant_id, CONCAT('H-', n.seq), 'utility', 100000, 'VND',
         100000, 'paid', 'Nguyễn Văn A', CONCAT('KH', LPAD(n.seq, 8, '0')), 'Tiền nước tháng 11',
         CONCAT('Z', LPAD(n.seq, 10, '0')), $t0 + 50 * n.seq, $t0 + 50 * n.seq + 20
  FROM seq_${lo}_to_${hi} n JOIN bench_spread b ON b.k = 1 + n.seq % 1000 ORDER BY n.seq;
INSERT INTO payments (public_id, order_id, merchant_id, adapter, amount, amount_received, amount_applied,
                      amount_unapplied, currency, status, provider_txn_id, provider_payload, redirect_url,
                      created_at, updated_at)
  SELECT CONCAT('pay_01H', SUBSTRING(o.public_id, 8)), o.id, o.merchant_id, 'sandbox', 100000, 100000, 100000, 0,
         'VND', 'succeeded', CONCAT('SBXH', LEFT(MD5(o.public_id), 24)),
         CONCAT('{"payment_id":"pay_01H', SUBSTRING(o.public_id, 8), '","provider_txn_id":"SBXH',
                LEFT(MD5(o.public_id), 24), '","status":"succeeded","amount":100000}'),
         CONCAT('http://127.0.0.1:8080/sandbox/pay/pay_01H', SUBSTRING(o.public_id, 8)), o.created_at + 5,
         o.updated_at
  FROM orders o WHERE o.public_id BETWEEN @lo AND @hi ORDER BY o.id;
INSERT INTO webhook_inbox (adapter, provider_event_id, status, method, headers, body, response_status,
                           response_body, received_at)
  SELECT 'sandbox', p.provider_txn_id, 'applied', 'POST',
         CONCAT('accept: */*\ncontent-type: application/json\nx-signature: t=', p.updated_at DIV 1000, ',v1=',
                SHA2(p.public_id, 256)), p.provider_payload, 200, '{"received":true}', p.updated_at - 2
  FROM payments p WHERE p.public_id BETWEEN @plo AND @phi ORDER BY p.id;
INSERT INTO journals (public_id, kind, payment_id, memo, created_at)
  SELECT CONCAT('jrn_01H', SUBSTRING(p.public_id, 8)), 'payment', p.id, p.public_id, p.updated_at - 1
  FROM payments p WHERE p.public_id BETWEEN @plo AND @phi ORDER BY p.id;
INSERT INTO ledger_entries (journal_id, account_id, amount, currency, created_at)
  SELECT j.id, IF(s.side = 1, @clearing, b.account_id), IF(s.side = 1, 100000, -100000), 'VND', j.created_at
  FROM journals j JOIN payments p ON p.id = j.payment_id JOIN bench_spread b ON b.merchant_id = p.merchant_id
  JOIN (SELECT 1 AS side UNION ALL SELECT 2) s
  WHERE j.public_id BETWEEN CONCAT('jrn_01H', LPAD($lo, 23, '0')) AND CONCAT('jrn_01H', LPAD($hi, 23, '0'))
  ORDER BY j.id, s.side;
INSERT INTO events (public_id, merchant_id, type, order_id, payload, created_at)
  SELECT CONCAT(IF(s.side = 1, 'evt_01H', 'evt_01J'), SUBSTRING(p.public_id, 8)), p.merchant_id,
         IF(s.side = 1, 'payment.succeeded', 'order.paid'), p.order_id,
         IF(s.side = 1,
            CONCAT('{"id":"', p.public_id, '","object":"payment","order_id":"', o.public_id, '","merchant_id":"',
                   b.merchant_public_id, '","method":"sandbox","amount":100000,"currency":"VND",',
                   '"status":"succeeded","amount_received":100000,"amount_applied":100000,"amount_unapplied":0,',
                   '"amount_refunded":0,"provider_txn_id":"', p.provider_txn_id, '","failure_reason":null,',
                   '"redirect_url":"', p.redirect_url, '","receipt_id":null,"created_at":"2026-11-28T10:00:00Z",',
                   '"updated_at":"2026-11-28T10:00:00Z"}'),
            CONCAT('{"id":"', o.public_id, '","object":"order","merchant_id":"', b.merchant_public_id,
                   '","merchant_ref":"', o.merchant_ref, '","fee_type":"utility","category":null,"amount":100000,',
                   '"currency":"VND","amount_paid":100000,"amount_refunded":0,"allow_partial":false,',
                   '"status":"paid","payer":{"name":"Nguyễn Văn A","ref":"', o.payer_ref, '","phone":null,',
                   '"email":null},"description":"Tiền nước tháng 11","due_at":null,"expires_at":null,',
                   '"metadata":{},"code":"', o.code, '","pay_url":"http://127.0.0.1:8080/pay/', o.code,
                   '","created_at":"2026-11-28T10:00:00Z","updated_at":"2026-11-28T10:00:00Z"}')),
         p.updated_at
  FROM payments p JOIN orders o ON o.id = p.order_id JOIN bench_spread b ON b.merchant_id = p.merchant_id
  JOIN (SELECT 1 AS side UNION ALL SELECT 2) s
  WHERE p.public_id BETWEEN @plo AND @phi ORDER BY p.id, s.side;
-- the updates that paid them (the triggers wrote the inserts)
INSERT INTO change_log (entity, entity_id, object_id, merchant_id, parent_id, op, data, at)
  SELECT IF(s.side = 1, 'payment', 'order'), IF(s.side = 1, p.id, o.id), IF(s.side = 1, p.public_id, o.public_id),
         p.merchant_id, IF(s.side = 1, o.id, NULL), 'update',
         IF(s.side = 1,
            JSON_ARRAY(p.adapter, p.amount, p.amount_received, p.amount_applied, p.amount_unapplied, p.currency,
                       p.amount_refunded, p.status, p.provider_txn_id, p.failure_reason, p.created_at,
                       p.updated_at),
            JSON_ARRAY(o.merchant_ref, o.fee_type, o.category, o.amount, o.currency, o.amount_paid,
                       o.amount_refunded, FALSE, o.status, o.payer_name, o.payer_ref, o.description, o.due_at,
                       o.expires_at, JSON_OBJECT(), o.code, o.created_at, o.updated_at)),
         p.updated_at
  FROM payments p JOIN orders o ON o.id = p.order_id JOIN (SELECT 1 AS side UNION ALL SELECT 2) s
  WHERE p.public_id BETWEEN @plo AND @phi ORDER BY p.id, s.side;
-- numbered as the sequencer numbers them: the public ids the feed shows, the next seq
SET @seq = (SELECT last_seq FROM change_sequencer WHERE id = 1 FOR UPDATE);
UPDATE change_log c LEFT JOIN bench_spread b ON b.merchant_id = c.merchant_id
  LEFT JOIN orders o ON c.entity = 'payment' AND o.id = c.parent_id
  SET c.seq = @seq + (c.id - @first_change), c.merchant_public_id = b.merchant_public_id,
      c.parent_public_id = o.public_id
  WHERE c.id > @first_change AND c.seq IS NULL;
SET @seq = @seq + (SELECT MAX(id) FROM change_log) - @first_change;
SET @first_event = (SELECT MIN(id) - 1 FROM events WHERE seq IS NULL);
UPDATE events SET seq = @seq + (id - @first_event) WHERE id > @first_event AND seq IS NULL;
UPDATE change_sequencer SET last_seq = @seq + (SELECT MAX(id) FROM events) - @first_event WHERE id = 1;
COMMIT;
SQL
  done
  # the rollups of every history journal, and the watermark past them
  sql <<SQL
BEGIN;
SET @mark = (SELECT upto_entry_id FROM report_watermarks WHERE name = 'collections' FOR UPDATE);
CREATE TEMPORARY TABLE bench_days AS
  SELECT CAST(DATE_FORMAT(DATE_ADD('1970-01-01', INTERVAL FLOOR((j.created_at + 25200000) / 86400000) DAY),
                          '%Y%m%d') AS INT) AS d, p.merchant_id AS mid, COUNT(*) AS n, SUM(p.amount_applied) AS v
  FROM journals j JOIN payments p ON p.id = j.payment_id
  WHERE j.kind = 'payment' AND j.public_id BETWEEN CONCAT('jrn_01H', LPAD($from, 23, '0'))
                                             AND CONCAT('jrn_01H', LPAD($to, 23, '0'))
  GROUP BY 1, 2;
INSERT INTO report_daily (day, merchant_id, fee_type, category, adapter, payments, collected)
  SELECT d, mid, 'utility', '', 'sandbox', n, v FROM bench_days
  ON DUPLICATE KEY UPDATE payments = payments + VALUES(payments), collected = collected + VALUES(collected);
INSERT INTO report_monthly (month, merchant_id, fee_type, category, adapter, payments, collected)
  SELECT d DIV 100, mid, 'utility', '', 'sandbox', SUM(n), SUM(v) FROM bench_days GROUP BY 1, 2
  ON DUPLICATE KEY UPDATE payments = payments + VALUES(payments), collected = collected + VALUES(collected);
INSERT INTO report_daily_city (day, fee_type, category, adapter, payments, collected)
  SELECT d, 'utility', '', 'sandbox', SUM(n), SUM(v) FROM bench_days GROUP BY 1
  ON DUPLICATE KEY UPDATE payments = payments + VALUES(payments), collected = collected + VALUES(collected);
UPDATE report_watermarks SET upto_entry_id = (SELECT MAX(id) FROM ledger_entries), updated_at = $(date +%s%3N)
  WHERE name = 'collections';
COMMIT;
SQL
}
