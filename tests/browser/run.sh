#!/usr/bin/env bash
# tests/browser/run.sh — the browser suite: feegate's pages in Debian's chromium.
#
#   tests/browser/run.sh ARTIFACT_DIR [SPEC_NAME_FILTER]
#
# Needs the database environment tests/run exports (FEEGATE_DB_SOCKET, FEEGATE_DB_USER,
# FEEGATE_DB_PASSWORD), FEEGATE_BIN (or FEEGATE_BIN_DEFAULT), BANKSIM_BIN, and the npm packages
# of tests/browser installed (tests/run runs `npm ci` here). Recreates its own database
# (feegate_browser) and migrates it, starts the bank simulator and `feegate serve` on free
# ports, configured as deploy/quickstart configures them, creates two merchants with their
# API keys and five staff users through the CLI, runs every spec in specs/ with
# runner.mjs, then stops both servers. Screenshots, axe results and the servers' logs go to
# ARTIFACT_DIR (emptied first). Exit status: non-zero on any failed spec, on a sanitizer report
# in feegate's log, or when feegate does not stop cleanly.
#
# FEEGATE_BROWSER_DB_DIR=DIR (ctest sets it): a MariaDB server of the suite's own in DIR,
# made afresh with deploy/mariadb and stopped at the end, instead of tests/run's. ctest runs this
# suite beside the others: on their server its feegate's checkpoint rounds would read
# information_schema.INNODB_TRX with theirs, and a copy InnoDB never gets to refresh fails a
# round (services/db/settle.h).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
[[ $# -ge 1 ]] || { echo "usage: $0 ARTIFACT_DIR [SPEC_NAME_FILTER]" >&2; exit 2; }
ARTIFACTS=$1
FILTER=${2:-}

readonly DB_NAME=feegate_browser
readonly START_TIMEOUT_S=20
readonly STOP_TIMEOUT_S=30

die() { printf 'browser: %s\n' "$*" >&2; exit 1; }

FEEGATE=${FEEGATE_BIN:-${FEEGATE_BIN_DEFAULT:-}}
[[ -x $FEEGATE ]] || die "FEEGATE_BIN is not an executable: '$FEEGATE'"
[[ -x ${BANKSIM_BIN:-} ]] || die "BANKSIM_BIN is not an executable: '${BANKSIM_BIN:-}'"
[[ -n ${FEEGATE_DB_SOCKET:-} || -n ${FEEGATE_BROWSER_DB_DIR:-} ]] ||
  die "FEEGATE_DB_SOCKET is not set (tests/run exports it)"
command -v node >/dev/null || die "node is not installed (deploy/install-deps --browser)"
[[ -x /usr/bin/chromium ]] || die "/usr/bin/chromium is not installed (deploy/install-deps --browser)"
[[ -d $HERE/node_modules/playwright-core && -d $HERE/node_modules/axe-core ]] ||
  die "the npm packages are not installed: run 'npm ci' in $HERE (tests/run does)"

rm -rf "$ARTIFACTS"
mkdir -p "$ARTIFACTS"
ARTIFACTS=$(cd "$ARTIFACTS" && pwd -P)
FEEGATE_LOG=$ARTIFACTS/feegate.log
BANKSIM_LOG=$ARTIFACTS/banksim.log

# ---- the database: recreated, so that today's collections are this run's alone ----

OWN_DB=${FEEGATE_BROWSER_DB_DIR:-}
readonly DB_MARK=.feegate-browser-database
# shellcheck disable=SC2317  # invoked by the EXIT trap
stop_own_db() {
  [[ -z $OWN_DB ]] || "$HERE/../../deploy/mariadb" stop "$OWN_DB" >/dev/null 2>&1 || true
}
if [[ -n $OWN_DB ]]; then
  if [[ -d $OWN_DB ]]; then
    [[ -e $OWN_DB/$DB_MARK ]] || die "$OWN_DB exists and is not this suite's database directory; not deleting it"
    "$HERE/../../deploy/mariadb" stop "$OWN_DB" >/dev/null 2>&1 || true
    rm -rf "$OWN_DB"
  fi
  mkdir -p "$OWN_DB"
  touch "$OWN_DB/$DB_MARK"
  trap stop_own_db EXIT
  db_out=$("$HERE/../../deploy/mariadb" start "$OWN_DB") || die "cannot start a MariaDB in $OWN_DB"
  FEEGATE_DB_SOCKET=$(printf '%s\n' "$db_out" | sed -n 's/^socket=//p' | tail -n 1)
  [[ -n $FEEGATE_DB_SOCKET ]] || die "deploy/mariadb printed no socket"
  export FEEGATE_DB_SOCKET FEEGATE_DB_USER=feegate FEEGATE_DB_PASSWORD=feegate
fi
export FEEGATE_DB_NAME=$DB_NAME
mariadb --no-defaults --socket="$FEEGATE_DB_SOCKET" -u"${FEEGATE_DB_USER:-feegate}" \
  -p"${FEEGATE_DB_PASSWORD:-}" -e "DROP DATABASE IF EXISTS $DB_NAME;
    CREATE DATABASE $DB_NAME CHARACTER SET utf8mb4 COLLATE utf8mb4_bin" ||
  die "cannot recreate the database $DB_NAME (deploy/mariadb provisions it)"
"$FEEGATE" migrate >/dev/null

# ---- the providers' settings: quickstart's, shared by feegate and the simulator ----

export FEEGATE_VNPAY_TMN_CODE=TESTTMN1
export FEEGATE_VNPAY_HASH_SECRET=TESTSECRETKEY0123456789ABCDEFGHI
export FEEGATE_MOMO_PARTNER_CODE=MOMO
export FEEGATE_MOMO_ACCESS_KEY=F8BBA842ECF85
export FEEGATE_MOMO_SECRET_KEY=K951B6PE1waDMi640xX08PD3vg6EkVlz
export FEEGATE_VIETQR_BANK_BIN=970415
export FEEGATE_VIETQR_ACCOUNT_NO=0011001932418
export FEEGATE_VIETQR_ACCOUNT_NAME="KHO BAC NHA NUOC THANH PHO"
FEEGATE_SEPAY_API_KEY=$(openssl rand -hex 24)
FEEGATE_SANDBOX_SECRET=$(openssl rand -hex 32)
export FEEGATE_SEPAY_API_KEY FEEGATE_SANDBOX_SECRET

# A port nothing listens on: one of FEEGATE_TEST_PORTS (LOW-HIGH, below the kernel's ephemeral
# ports: ctest runs this suite beside the others, whose ports the kernel picks), else any; never
# one of the arguments (ports given out before and not bound yet).
free_port() {
  node -e 'const [low, high] = (process.env.FEEGATE_TEST_PORTS || "0-0").split("-").map(Number);
    const net = require("net");
    const taken = new Set(process.argv.slice(1).map(Number));
    const tries = low > 0
      ? Array.from({ length: 64 }, () => low + Math.floor(Math.random() * (high - low + 1))).filter((p) => !taken.has(p))
      : [0];
    const next = () => {
      if (tries.length === 0) { console.error("no free port in FEEGATE_TEST_PORTS"); process.exit(1); }
      const s = net.createServer();
      s.once("error", next);
      s.listen(tries.shift(), "127.0.0.1", () => { console.log(s.address().port); s.close(); });
    };
    next();'
}

# ---- processes ------------------------------------------------------------------

feegate_pid=
banksim_pid=
# shellcheck disable=SC2317  # invoked by the EXIT trap
stop_banksim() {
  if [[ -n $banksim_pid ]]; then
    kill -TERM "$banksim_pid" 2>/dev/null || true
    wait "$banksim_pid" 2>/dev/null || true
    banksim_pid=
  fi
}
# Stops feegate; non-zero when it did not stop within STOP_TIMEOUT_S or exited non-zero.
# shellcheck disable=SC2317
stop_feegate() {
  local rc=0 waited=0
  [[ -n $feegate_pid ]] || return 0
  kill -TERM "$feegate_pid" 2>/dev/null || true
  while kill -0 "$feegate_pid" 2>/dev/null; do
    if ((waited >= STOP_TIMEOUT_S * 10)); then
      echo "browser: feegate did not stop within ${STOP_TIMEOUT_S}s of SIGTERM; killing it" >&2
      kill -KILL "$feegate_pid" 2>/dev/null || true
      rc=1
      break
    fi
    sleep 0.1
    waited=$((waited + 1))
  done
  wait "$feegate_pid" 2>/dev/null || rc=$?
  feegate_pid=
  return "$rc"
}
# shellcheck disable=SC2317
on_exit() {
  local rc=$?
  trap - EXIT
  stop_feegate || true
  stop_banksim
  stop_own_db
  exit "$rc"
}
trap on_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Waits for "listening=PORT" in the simulator's log; prints PORT.
banksim_port() {
  local i port
  for ((i = 0; i < START_TIMEOUT_S * 10; i++)); do
    port=$(sed -n 's/^listening=\([0-9]*\).*/\1/p' "$BANKSIM_LOG" | head -n 1)
    [[ -z $port ]] || { echo "$port"; return 0; }
    kill -0 "$banksim_pid" 2>/dev/null || break
    sleep 0.1
  done
  cat "$BANKSIM_LOG" >&2
  die "the bank simulator did not say listening=PORT"
}

FEEGATE_PORT=$(free_port)
FEEGATE_URL=http://127.0.0.1:$FEEGATE_PORT
# banksim's SMTP relay too (plain, no STARTTLS): receipts e-mailed to payers, whose rows the staff
# order page lists
"$BANKSIM_BIN" --listen 127.0.0.1:0 --smtp-listen 127.0.0.1:0 --feegate "$FEEGATE_URL" >"$BANKSIM_LOG" 2>&1 &
banksim_pid=$!
BANKSIM_URL=http://127.0.0.1:$(banksim_port)
BANKSIM_SMTP_PORT=$(sed -n 's/^smtp=\([0-9]*\).*/\1/p' "$BANKSIM_LOG" | head -n 1)
[[ -n $BANKSIM_SMTP_PORT ]] || die "the bank simulator did not say smtp=PORT"

export FEEGATE_HTTP_LISTEN=127.0.0.1:$FEEGATE_PORT
HTTPS_PORT=$(free_port "$FEEGATE_PORT")
FEEGATE_HTTPS_LISTEN=127.0.0.1:$HTTPS_PORT
FEEGATE_METRICS_LISTEN=127.0.0.1:$(free_port "$FEEGATE_PORT" "$HTTPS_PORT")
export FEEGATE_HTTPS_LISTEN FEEGATE_METRICS_LISTEN
# every page and spec comes from 127.0.0.1: the per-address limit stays on, far above them
export FEEGATE_LIMITS_ADDRESS_PER_MINUTE=600000 FEEGATE_LIMITS_ADDRESS_BURST=100000
# so is the payer's start limit per address; the per-order one stays at its default (10), which
# pay-states.spec reaches
export FEEGATE_PAYER_START_LIMIT_PER_ADDRESS=100000
# a login locks at its third wrong password (staff-pages.spec locks one and unlocks it)
export FEEGATE_STAFF_LOGIN_LOCKOUT_FAILURES=3
export FEEGATE_PUBLIC_BASE_URL=$FEEGATE_URL
export FEEGATE_VNPAY_PAY_URL=$BANKSIM_URL/vnpay/paymentv2/vpcpay.html
export FEEGATE_VNPAY_API_URL=$BANKSIM_URL/vnpay/merchant_webapi/api/transaction
export FEEGATE_MOMO_ENDPOINT=$BANKSIM_URL/momo
export FEEGATE_SMTP_URL=smtp://127.0.0.1:$BANKSIM_SMTP_PORT FEEGATE_SMTP_STARTTLS=false
export FEEGATE_SMTP_FROM=thu-phi@feegate.example.vn
export FEEGATE_SERVER_THREADS=2
export FEEGATE_DB_POOL_SIZE=8
"$FEEGATE" serve >"$FEEGATE_LOG" 2>&1 &
feegate_pid=$!
for ((i = 0; ; i++)); do
  curl -sf -o /dev/null --max-time 1 "$FEEGATE_URL/readyz" && break
  kill -0 "$feegate_pid" 2>/dev/null || { tail -n 30 "$FEEGATE_LOG" >&2; die "feegate exited at start-up"; }
  ((i < START_TIMEOUT_S * 10)) || { tail -n 30 "$FEEGATE_LOG" >&2; die "feegate did not answer /readyz"; }
  sleep 0.1
done

# ---- merchants, keys and staff, through the CLI ---------------------------------

json_field() { sed -n "s/.*\"$2\":\"\([^\"]*\)\".*/\1/p" <<<"$1" | head -n 1; }

merchant() { # NAME → "id key"
  local out
  out=$("$FEEGATE" admin merchant create --name "$1")
  echo "$(json_field "$out" id) $(json_field "$out" api_key)"
}
read -r school_id school_key <<<"$(merchant 'Trường THPT Chu Văn An')"
read -r water_id water_key <<<"$(merchant 'Công ty Cấp nước Thành phố')"
[[ $school_id == mer_* && $water_id == mer_* && -n $school_key && -n $water_key ]] ||
  die "feegate admin merchant create gave no id and key"

# the school is paid out to this account (staff-payouts.spec); the water company has none
"$FEEGATE" admin merchant set-payout-account "$school_id" --bin 970436 --account 0071000123456 \
  --name "TRUONG THPT CHU VAN AN" >/dev/null || die "feegate admin merchant set-payout-account failed"

staff_password=$(openssl rand -hex 12)
user() { # EMAIL ROLE [MERCHANT]
  local extra=()
  [[ -z ${3:-} ]] || extra=(--merchant "$3")
  printf '%s\n' "$staff_password" | "$FEEGATE" admin user create --email "$1" --role "$2" "${extra[@]}" >/dev/null
}
user finance@browser.test finance
user auditor@browser.test auditor
user admin@browser.test admin
user accountant@browser.test accountant "$school_id"
user lockable@browser.test finance

FIXTURE=$ARTIFACTS/fixture.json
cat >"$FIXTURE" <<EOF
{
  "feegate": "$FEEGATE_URL",
  "banksim": "$BANKSIM_URL",
  "vietqr": {"bank_bin": "$FEEGATE_VIETQR_BANK_BIN", "account_no": "$FEEGATE_VIETQR_ACCOUNT_NO"},
  "merchants": {
    "school": {"id": "$school_id", "name": "Trường THPT Chu Văn An", "api_key": "$school_key",
               "payout_account": {"bank_bin": "970436", "account_no": "0071000123456"}},
    "water": {"id": "$water_id", "name": "Công ty Cấp nước Thành phố", "api_key": "$water_key"}
  },
  "staff": {
    "password": "$staff_password",
    "finance": "finance@browser.test",
    "auditor": "auditor@browser.test",
    "admin": "admin@browser.test",
    "accountant": "accountant@browser.test",
    "lockable": "lockable@browser.test"
  }
}
EOF

# ---- the specs -------------------------------------------------------------------

status=0
FEEGATE_BROWSER_FIXTURE=$FIXTURE FEEGATE_BROWSER_ARTIFACTS=$ARTIFACTS \
  node "$HERE/runner.mjs" "$FILTER" || status=$?

stop_feegate || { echo "browser: feegate did not stop cleanly (log: $FEEGATE_LOG)" >&2; status=1; }
stop_banksim
if grep -n -E 'ERROR: AddressSanitizer|runtime error:|LeakSanitizer' "$FEEGATE_LOG" >&2; then
  echo "browser: sanitizer report in $FEEGATE_LOG (lines above)" >&2
  status=1
fi
exit "$status"
