# tests/bench/history_fixture.sh — sourced by tests/bench/dbsize after payments_fixture.
#
#   payments_history FROM TO   with sql_bulk() defined by the caller: the benchmark database as a
#                              user that may turn off binary logging for its session (root)
#
# Adds the succeeded sandbox payments FROM..TO of a past history, spread over the
# fixture's 1,000 merchants, with every row the server's path leaves for one: the order
# (paid), the payment (succeeded), its inbox row, its journal and two ledger entries,
# its two events (payment.succeeded, order.paid) and four change-log rows (the order's
# and the payment's insert and update), numbered as the change-feed sequencer numbers
# them; the report rollups of those journals, with the watermark past them, as the
# rollup job leaves them; and a balance checkpoint of each account at its newest entry. HISTORY_FEED=0 leaves out the events and change-log rows (3.6 of
# the 5.6 KB a payment takes on disk): the payment path never reads old ones (both tables
# are append-only, written at their end and numbered from their unnumbered end), so they
# cost disk, not speed; at 10 M payments they would take ~36 GB. A history payment has no receipt (a payment from before
# receipts). Ids are time-ordered like the server's (ULID-like, an older prefix), one
# payment every 50 ms back from now, so new rows go where they would. Written in chunks
# of 250,000 payments, one transaction each, without binary logging and with unique and
# foreign-key checks off (the history is built to be right; the measured path keeps all
# of them): `feegate ledger check` holds after it.

payments_history() {
  local from=$1 to=$2 lo hi t0 mode
  t0=$(($(date +%s%3N) - 50 * to - 3600000))
  sql_bulk <<SQL
CREATE TABLE IF NOT EXISTS bench_spread (k INT NOT NULL PRIMARY KEY, merchant_id BIGINT UNSIGNED NOT NULL,
  merchant_public_id VARCHAR(40) NOT NULL, account_id BIGINT UNSIGNED NOT NULL, UNIQUE KEY (merchant_id));
INSERT IGNORE INTO bench_spread
  SELECT m.k, m.id, m.public_id, a.id FROM
    (SELECT id, public_id, ROW_NUMBER() OVER (ORDER BY id) - 1 AS k FROM merchants WHERE public_id LIKE 'mer_BNCH%') m
    JOIN ledger_accounts a ON a.code = CONCAT('liabilities:merchant:', m.public_id) AND a.currency = 'VND'
  WHERE m.k BETWEEN 1 AND 1000;
SQL
  # the change-log insert triggers are set aside while the history is written (its change
  # rows are written numbered, as the sequencer would leave them) and put back after
  sql_bulk --raw -e "SELECT CONCAT('CREATE DEFINER=', DEFINER, ' TRIGGER ', TRIGGER_NAME, ' ', ACTION_TIMING, ' ',
    EVENT_MANIPULATION, ' ON ', EVENT_OBJECT_TABLE, ' FOR EACH ROW ', ACTION_STATEMENT, '\$\$') FROM
    information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = DATABASE() AND
    TRIGGER_NAME IN ('orders_change_insert', 'payments_change_insert')" >"$OUT/history-triggers.sql"
  [[ $(grep -c 'CREATE DEFINER' "$OUT/history-triggers.sql") -eq 2 ]] || {
    echo "bench: the change-log insert triggers were not found" >&2
    return 1
  }
  mode=$(sql_bulk -e "SELECT SQL_MODE FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = DATABASE() AND
    TRIGGER_NAME = 'orders_change_insert'")
  sql_bulk -e "DROP TRIGGER orders_change_insert; DROP TRIGGER payments_change_insert"
  feed_sql=
  if [[ ${HISTORY_FEED:-1} == 1 ]]; then
    feed_sql=$(cat <<'FEED'
-- events numbered after this chunk's change rows (below)
SET @epmin = (SELECT MIN(id) FROM payments WHERE public_id BETWEEN @plo AND @phi);
SET @eseq = (SELECT last_seq FROM change_sequencer WHERE id = 1 FOR UPDATE)
            + 4 * ((SELECT MAX(id) FROM payments WHERE public_id BETWEEN @plo AND @phi) - @epmin + 1);
INSERT INTO events (seq, public_id, merchant_id, type, order_id, payload, created_at)
  SELECT @eseq + 2 * (p.id - @epmin) + s.side,
         CONCAT(IF(s.side = 1, 'evt_01H', 'evt_01J'), SUBSTRING(p.public_id, 8)), p.merchant_id,
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
-- the change log as the triggers and the sequencer leave it: the order's and the payment's
-- insert (open, pending) and update (paid, succeeded), numbered in id order, with the public
-- ids the feed shows; then the events, numbered after them
SET @pmin = (SELECT MIN(id) FROM payments WHERE public_id BETWEEN @plo AND @phi);
SET @pmax = (SELECT MAX(id) FROM payments WHERE public_id BETWEEN @plo AND @phi);
SET @seq = (SELECT last_seq FROM change_sequencer WHERE id = 1 FOR UPDATE);
INSERT INTO change_log (seq, entity, entity_id, object_id, merchant_id, parent_id, op, data, at,
                        merchant_public_id, parent_public_id)
  SELECT @seq + 4 * (p.id - @pmin) + s.side, IF(s.side IN (1, 4), 'order', 'payment'),
         IF(s.side IN (1, 4), o.id, p.id), IF(s.side IN (1, 4), o.public_id, p.public_id), p.merchant_id,
         IF(s.side IN (1, 4), NULL, o.id), IF(s.side <= 2, 'insert', 'update'),
         CASE s.side
           WHEN 2 THEN JSON_ARRAY(p.adapter, p.amount, NULL, 0, 0, p.currency, 0, 'pending', NULL, NULL,
                                  p.created_at, p.created_at)
           WHEN 3 THEN JSON_ARRAY(p.adapter, p.amount, p.amount_received, p.amount_applied, p.amount_unapplied,
                                  p.currency, p.amount_refunded, p.status, p.provider_txn_id, p.failure_reason,
                                  p.created_at, p.updated_at)
           ELSE JSON_ARRAY(o.merchant_ref, o.fee_type, o.category, o.amount, o.currency,
                           IF(s.side = 1, 0, o.amount_paid), o.amount_refunded, FALSE,
                           IF(s.side = 1, 'open', o.status), o.payer_name, o.payer_ref, o.description, o.due_at,
                           o.expires_at, JSON_OBJECT(), o.code, o.created_at, IF(s.side = 1, o.created_at,
                           o.updated_at)) END,
         IF(s.side <= 2, p.created_at, p.updated_at), b.merchant_public_id, IF(s.side IN (1, 4), NULL, o.public_id)
  FROM payments p JOIN orders o ON o.id = p.order_id JOIN bench_spread b ON b.merchant_id = p.merchant_id
  JOIN (SELECT 1 AS side UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4) s
  WHERE p.public_id BETWEEN @plo AND @phi ORDER BY p.id, s.side;
UPDATE change_sequencer SET last_seq = @seq + 6 * (@pmax - @pmin + 1) WHERE id = 1;
FEED
)
  fi
  for ((lo = from; lo <= to; lo += 250000)); do
    hi=$((lo + 249999 > to ? to : lo + 249999))
    sql_bulk <<SQL
SET SESSION sql_log_bin = 0, unique_checks = 0, foreign_key_checks = 0;
SET @lo = CONCAT('ord_01H', LPAD($lo, 23, '0')), @hi = CONCAT('ord_01H', LPAD($hi, 23, '0'));
SET @plo = CONCAT('pay_01H', LPAD($lo, 23, '0')), @phi = CONCAT('pay_01H', LPAD($hi, 23, '0'));
SET @clearing = (SELECT id FROM ledger_accounts WHERE code = 'assets:clearing:sandbox' AND currency = 'VND');
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
${feed_sql}COMMIT;
SQL
  done
  { echo "SET SESSION sql_mode = '$mode';"; echo 'DELIMITER $$'; cat "$OUT/history-triggers.sql"; echo 'DELIMITER ;'; } |
    sql_bulk
  # the rollups of every history journal, and the watermark past them
  sql_bulk <<SQL
SET SESSION sql_log_bin = 0;
BEGIN;
SET @mark = (SELECT upto_entry_id FROM report_watermarks WHERE name = 'collections' FOR UPDATE);
CREATE TEMPORARY TABLE bench_days AS
  SELECT CAST(DATE_FORMAT(DATE_ADD('1970-01-01', INTERVAL FLOOR((j.created_at + 25200000) / 86400000) DAY),
                          '%Y%m%d') AS INT) AS d, p.merchant_id AS mid, COUNT(*) AS n, SUM(p.amount_applied) AS v
  FROM journals j JOIN payments p ON p.id = j.payment_id
  WHERE j.kind = 'payment' AND j.public_id BETWEEN CONCAT('jrn_01H', LPAD($from, 23, '0'))
                                             AND CONCAT('jrn_01H', LPAD($to, 23, '0'))
  GROUP BY 1, 2;
INSERT INTO report_daily (day, merchant_id, fee_type, category, adapter, currency, payments, collected)
  SELECT d, mid, 'utility', '', 'sandbox', 'VND', n, v FROM bench_days
  ON DUPLICATE KEY UPDATE payments = payments + VALUES(payments), collected = collected + VALUES(collected);
INSERT INTO report_monthly (month, merchant_id, fee_type, category, adapter, currency, payments, collected)
  SELECT d DIV 100, mid, 'utility', '', 'sandbox', 'VND', SUM(n), SUM(v) FROM bench_days GROUP BY 1, 2
  ON DUPLICATE KEY UPDATE payments = payments + VALUES(payments), collected = collected + VALUES(collected);
INSERT INTO report_daily_city (day, fee_type, category, adapter, currency, payments, collected)
  SELECT d, 'utility', '', 'sandbox', 'VND', SUM(n), SUM(v) FROM bench_days GROUP BY 1
  ON DUPLICATE KEY UPDATE payments = payments + VALUES(payments), collected = collected + VALUES(collected);
UPDATE report_watermarks SET upto_entry_id = (SELECT MAX(id) FROM ledger_entries), updated_at = $(date +%s%3N)
  WHERE name = 'collections';
COMMIT;
SQL
  # a balance checkpoint of every account the history touched, at its newest entry, as the
  # checkpoint rounds would have left them (else the first rounds after it sum millions of
  # entries while the benchmark measures)
  sql_bulk <<SQL
SET SESSION sql_log_bin = 0;
INSERT INTO ledger_checkpoints (epoch_id, account_id, upto_entry_id, balance, as_of, entry_count, created_at)
  SELECT (SELECT MAX(id) FROM ledger_checkpoint_epochs), e.account_id, MAX(e.id), SUM(e.amount),
         GREATEST(MAX(e.created_at), $(date +%s%3N)), COUNT(*), $(date +%s%3N)
  FROM ledger_entries e
  WHERE e.account_id IN (SELECT account_id FROM bench_spread UNION ALL SELECT id FROM ledger_accounts
                         WHERE code = 'assets:clearing:sandbox' AND currency = 'VND')
  GROUP BY e.account_id;
SQL
}
