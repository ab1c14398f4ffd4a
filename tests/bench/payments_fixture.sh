# tests/bench/payments_fixture.sh — sourced by the benchmarks that apply payments through the
# sandbox webhook (tests/bench/payments, tests/bench/galera).
#
#   payments_fixture PER_SET [SETS]   with sql() defined by the caller (the benchmark database);
#                               SETS defaults to 5
#   owed_folded                 once a server runs: waits until its sweeper has folded the
#                               fixture's outstanding-sum changes
#
# Writes 1,001 merchants and SETS sets of PER_SET pending sandbox payments of 100,000 VND each,
# with their orders: set 1 all to the first merchant (the hot account), the others spread over the
# other 1,000; and every ledger account the payments will post to, as after a first day. Each
# fixture order queues a change of the outstanding sums (schema 0027); the benchmark lets the
# server's sweeper fold them before it measures, as it would have by then, rather than during
# the measured paths.

payments_fixture() {
  local PER_SET=$1 SETS=${2:-5}
  sql <<SQL
INSERT INTO merchants (public_id, name, created_at)
  SELECT CONCAT('mer_BNCH', LPAD(seq, 22, '0')), CONCAT('Bench merchant ', seq), 0 FROM seq_1_to_1001;
-- set 1: all to the first merchant (hot); the other sets: spread over the other 1,000 (by their
-- rank, not id arithmetic: on a Galera cluster ids go up by the cluster size)
INSERT INTO orders (public_id, merchant_id, merchant_ref, fee_type, amount, currency, code, created_at, updated_at)
  SELECT CONCAT('ord_B', s.seq, LPAD(n.seq, 24, '0')), m.id,
         CONCAT('B', s.seq, '-', n.seq), 'utility', 100000, 'VND', CONCAT(CHAR(64 + s.seq), LPAD(n.seq, 10, '0')), 0, 0
  FROM seq_1_to_${SETS} s JOIN seq_1_to_${PER_SET} n
  JOIN (SELECT id, ROW_NUMBER() OVER (ORDER BY id) - 1 AS k FROM merchants WHERE public_id LIKE 'mer_BNCH%') m
    ON m.k = IF(s.seq = 1, 0, 1 + (n.seq % 1000));
INSERT INTO payments (public_id, order_id, merchant_id, adapter, amount, currency, status, created_at, updated_at)
  SELECT CONCAT('pay_', SUBSTRING(public_id, 5)), id, merchant_id, 'sandbox', 100000, 'VND', 'pending', 0, 0
  FROM orders WHERE public_id LIKE 'ord_B%';
-- the accounts exist already, as they would after the first day (both sides then only look them up)
INSERT INTO ledger_accounts (code, currency, kind, merchant_id, created_at)
  SELECT CONCAT('liabilities:merchant:', public_id), 'VND', 'liability', id, 0 FROM merchants;
INSERT INTO ledger_accounts (code, currency, kind, merchant_id, created_at)
  VALUES ('assets:clearing:sandbox', 'VND', 'asset', NULL, 0);
COMMIT;
SQL
}

owed_folded() {
  for _ in $(seq 600); do
    [[ $(sql -e "SELECT COUNT(*) FROM owed_changes") -eq 0 ]] && return 0
    sleep 0.2
  done
  echo "bench: the server did not fold the fixture's outstanding-sum changes in 120 s" >&2
  return 1
}
