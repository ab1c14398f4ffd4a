# tests/bench/ledger_gate.sh — sourced by every benchmark that posts money.
#
# The server under a benchmark runs balance-checkpoint rounds every
# BENCH_CHECKPOINT_MS (2000) ms, so a 15 s path crosses several of them.  After the
# load, ledger_gate waits for the checkpoints to cover every entry, requires that
# cuts were taken at least twice while the benchmark ran, and runs
# `feegate ledger check`: any violation, or checkpoints that never moved, fails the
# benchmark (exit 1).
#
#   export FEEGATE_LEDGER_CHECKPOINT_INTERVAL_MS=$BENCH_CHECKPOINT_MS   before serve
#   ledger_gate "$BUILD" "$started_ms"   after the load, while a server still runs
# Needs sql() (the benchmark database) defined by the caller.

BENCH_CHECKPOINT_MS=${BENCH_CHECKPOINT_MS:-2000}
export FEEGATE_LEDGER_CHECKPOINT_INTERVAL_MS=$BENCH_CHECKPOINT_MS

now_ms() { date +%s%3N; }

# ledger_gate BUILD STARTED_MS: prints "ledger_check=ok cuts=N" (or fails).
ledger_gate() {
  local build=$1 started=$2 newest covered cuts out
  newest=$(sql -e "SELECT COALESCE(MAX(id), 0) FROM ledger_entries")
  # a cut trails the entries by about one round; give it five
  for _ in $(seq $((5 * BENCH_CHECKPOINT_MS / 200))); do
    covered=$(sql -e "SELECT COALESCE(MAX(upto_entry_id), 0) FROM ledger_checkpoints
                      WHERE epoch_id = (SELECT MAX(id) FROM ledger_checkpoint_epochs)")
    ((covered >= newest)) && break
    sleep 0.2
  done
  cuts=$(sql -e "SELECT COUNT(DISTINCT upto_entry_id) FROM ledger_checkpoints WHERE created_at >= $started")
  if ((covered < newest)); then
    echo "bench: checkpoints stopped at entry $covered of $newest" >&2
    exit 1
  fi
  if ((cuts < 2)); then
    echo "bench: only $cuts checkpoint cut(s) while the benchmark ran: it did not cross the horizon twice" >&2
    exit 1
  fi
  if ! out=$("$build/feegate" ledger check); then
    echo "bench: feegate ledger check failed:" >&2
    printf '%s\n' "$out" | head -c 4000 >&2
    exit 1
  fi
  printf 'ledger_check=ok cuts=%s\n' "$cuts"
}
