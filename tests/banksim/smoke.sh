#!/usr/bin/env bash
# tests/banksim/smoke.sh — banksim_smoke: starts banksim, and a second banksim as the
# "feegate" that receives its notifications (it answers them 404, which is enough to see
# that they travel over HTTP and that their answers are reported), then checks:
#   - MoMo create: the PROTOCOLS.md test vector's signature is accepted (resultCode 0,
#     payUrl on banksim), a bad one refused (resultCode 13);
#   - VNPay pay page: the PROTOCOLS.md test-vector parameters signed with
#     TESTSECRETKEY0123456789ABCDEFGHI / TESTTMN1 are accepted, a bad vnp_SecureHash refused;
#   - the control API delivers signed notifications and reports the receiver's answers;
#     the VNPay return URL's signature verifies with openssl;
#   - VNPay querydr / refund and MoMo refund answer 00 / 0;
#   - the day's camt.053 is well-formed XML and MT940 is well-shaped, and in both the
#     opening balance plus the lines equals the closing balance;
#   - POST /control/statement/write writes both files; SIGTERM exits 0.
#
#   tests/banksim/smoke.sh PATH/TO/banksim
set -euo pipefail

BANKSIM=${1:?usage: smoke.sh PATH/TO/banksim}
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)
# libh2o's one-time allocations are known leaks (tests/lsan.supp); ctest sets this too.
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$ROOT/tests/lsan.supp:print_suppressions=0}
for tool in curl openssl xmllint awk; do
  command -v "$tool" >/dev/null || { echo "smoke: $tool is missing (deploy/install-deps)" >&2; exit 1; }
done

WORK=$(mktemp -d "${TMPDIR:-/tmp}/banksim-smoke.XXXXXX")
PIDS=()
cleanup() {
  local pid
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT

fail() { echo "smoke: FAIL: $*" >&2; exit 1; }
ok() { echo "smoke: ok: $*"; }

# The PROTOCOLS.md test settings, as feegate's tests use them.
export FEEGATE_VNPAY_TMN_CODE=TESTTMN1
export FEEGATE_VNPAY_HASH_SECRET=TESTSECRETKEY0123456789ABCDEFGHI
export FEEGATE_MOMO_PARTNER_CODE=MOMO
export FEEGATE_MOMO_ACCESS_KEY=F8BBA842ECF85
export FEEGATE_MOMO_SECRET_KEY=K951B6PE1waDMi640xX08PD3vg6EkVlz
export FEEGATE_SEPAY_API_KEY=smoke-sepay-key
export FEEGATE_VIETQR_BANK_BIN=970415
export FEEGATE_VIETQR_ACCOUNT_NO=0011001932418

# start NAME ARGS...: runs banksim, waits for listening=PORT, sets PORT.
start() {
  local name=$1
  shift
  "$BANKSIM" --listen 127.0.0.1:0 "$@" >"$WORK/$name.out" 2>"$WORK/$name.err" &
  PIDS+=($!)
  local i
  for i in $(seq 1 100); do
    PORT=$(sed -n 's/^listening=//p' "$WORK/$name.out")
    [[ -n $PORT ]] && return 0
    kill -0 "${PIDS[-1]}" 2>/dev/null || { cat "$WORK/$name.err" >&2; fail "$name exited"; }
    sleep 0.1
  done
  fail "$name printed no listening= line"
}

start receiver --feegate http://127.0.0.1:9
RECEIVER_PID=${PIDS[-1]}
RECEIVER=http://127.0.0.1:$PORT
mkdir "$WORK/statements"
start banksim --feegate "$RECEIVER" --statement-dir "$WORK/statements"
BANKSIM_PID=${PIDS[-1]}
U=http://127.0.0.1:$PORT
[[ $PORT =~ ^[0-9]+$ && $PORT -gt 0 ]] || fail "listening=$PORT"
ok "listening on $PORT, notifying $RECEIVER"

hmac256() { printf '%s' "$2" | openssl dgst -sha256 -hmac "$1" | awk '{print $NF}'; }
hmac512() { printf '%s' "$2" | openssl dgst -sha512 -hmac "$1" | awk '{print $NF}'; }
# post PATH BODY: prints the body, then the HTTP status on its own last line.
post() { curl -sS -w '\n%{http_code}' -H 'Content-Type: application/json' -d "$2" "$U$1"; }
status_of() { tail -n 1 <<<"$1"; }
body_of() { sed '$d' <<<"$1"; }
expect() { # expect WHAT HAYSTACK NEEDLE
  [[ $2 == *"$3"* ]] || fail "$1: expected $3 in: $2"
}

# ---- MoMo create ---------------------------------------------------------------
RAW='accessKey=F8BBA842ECF85&amount=50000&extraData=&ipnUrl=https://callback.url/notify&orderId=MOMO1700000000000&orderInfo=pay with MoMo&partnerCode=MOMO&redirectUrl=https://momo.vn/return&requestId=MOMO1700000000000&requestType=captureWallet'
SIG=$(hmac256 "$FEEGATE_MOMO_SECRET_KEY" "$RAW")
[[ $SIG == 4378bb95714712f6be833da81f743910a01e5ba6279bfe596b8a08e891259424 ]] ||
  fail "openssl does not reproduce the MoMo test vector"
momo_body() {
  printf '{"partnerCode":"MOMO","requestId":"%s","amount":%s,"orderId":"%s","orderInfo":"pay with MoMo","redirectUrl":"https://momo.vn/return","ipnUrl":"%s","requestType":"captureWallet","extraData":"","lang":"vi","signature":"%s"}' \
    "$1" "$2" "$1" "$3" "$4"
}
R=$(post /momo/v2/gateway/api/create "$(momo_body MOMO1700000000000 50000 https://callback.url/notify "$SIG")")
[[ $(status_of "$R") == 200 ]] || fail "MoMo create (good signature): $R"
expect "MoMo create" "$R" '"resultCode":0'
expect "MoMo create" "$R" "\"payUrl\":\"$U/momo/pay/MOMO1700000000000\""
expect "MoMo create" "$R" '"qrCodeUrl":'
R=$(post /momo/v2/gateway/api/create "$(momo_body MOMO1700000000001 50000 https://callback.url/notify "$SIG")")
[[ $(status_of "$R") == 400 ]] || fail "MoMo create (bad signature) not refused: $R"
expect "MoMo create (bad signature)" "$R" '"resultCode":13'
# an order whose IPN goes to the receiver
IPN_URL=$RECEIVER/v1/webhooks/momo
RAW="accessKey=F8BBA842ECF85&amount=50000&extraData=&ipnUrl=$IPN_URL&orderId=pay_smoke_1&orderInfo=pay with MoMo&partnerCode=MOMO&redirectUrl=https://momo.vn/return&requestId=pay_smoke_1&requestType=captureWallet"
R=$(post /momo/v2/gateway/api/create "$(momo_body pay_smoke_1 50000 "$IPN_URL" "$(hmac256 "$FEEGATE_MOMO_SECRET_KEY" "$RAW")")")
expect "MoMo create" "$R" '"resultCode":0'
R2=$(post /momo/v2/gateway/api/create "$(momo_body pay_smoke_1 50000 "$IPN_URL" "$(hmac256 "$FEEGATE_MOMO_SECRET_KEY" "$RAW")")")
[[ $R2 == "$R" ]] || fail "a retried create (same requestId) answers differently: $R2"
R=$(post /momo/v2/gateway/api/create "$(momo_body pay_smoke_2 999 "$IPN_URL" x)")
expect "MoMo create (bad signature, small amount)" "$R" '"resultCode":13'
ok "MoMo create: good signature -> resultCode 0 (idempotent), bad one -> 13"

# ---- VNPay pay page --------------------------------------------------------------
Q='vnp_Amount=1500000000&vnp_Command=pay&vnp_CreateDate=20250905093000&vnp_CurrCode=VND&vnp_ExpireDate=20250905094500&vnp_IpAddr=203.0.113.7&vnp_Locale=vn&vnp_OrderInfo=Hoc+phi+HK1+2025+ma+HS+000123&vnp_OrderType=other&vnp_ReturnUrl=https%3A%2F%2Fpay.example.gov.vn%2Freturn&vnp_TmnCode=TESTTMN1&vnp_TxnRef=HP2025-000123&vnp_Version=2.1.0'
H=$(hmac512 "$FEEGATE_VNPAY_HASH_SECRET" "$Q")
[[ $H == 44de0874a33fdc5d38116666c10f782c87d05ab4c80eec472efe6cb89bc7517392e16cc477f73db9b87090faa739f5a228b79e00bf217a514ee4493da9b1ab83 ]] ||
  fail "openssl does not reproduce the VNPay test vector"
if [[ ${H:0:1} == 0 ]]; then BAD=1${H:1}; else BAD=0${H:1}; fi
CODE=$(curl -sS -o "$WORK/bad.html" -w '%{http_code}' "$U/vnpay/paymentv2/vpcpay.html?$Q&vnp_SecureHash=$BAD")
[[ $CODE == 400 ]] || fail "VNPay pay page accepted a bad vnp_SecureHash ($CODE)"
CODE=$(curl -sS -o "$WORK/page.html" -w '%{http_code}' "$U/vnpay/paymentv2/vpcpay.html?$Q&vnp_SecureHash=$H")
[[ $CODE == 200 ]] || fail "VNPay pay page refused the test vector ($CODE): $(cat "$WORK/page.html")"
grep -q 'action="/vnpay/paymentv2/decide"' "$WORK/page.html" || fail "pay page has no decide form"
grep -q '15000000 VND' "$WORK/page.html" || fail "pay page shows the wrong amount"
ok "VNPay pay page: test vector accepted, bad vnp_SecureHash refused"

# ---- notifications through the control API ----------------------------------------
R=$(post /control/vnpay/pay '{"txn_ref":"HP2025-000123","outcome":"approve"}')
[[ $(status_of "$R") == 200 ]] || fail "control/vnpay/pay: $R"
expect "VNPay IPN delivered" "$R" '"ipn":[{"status":404,'
RETURN_URL=$(body_of "$R" | sed -n 's/.*"return_url":"\([^"]*\)".*/\1/p')
[[ $RETURN_URL == https://pay.example.gov.vn/return\?* ]] || fail "return_url: $R"
SIGNED=${RETURN_URL#*\?}
SIGNED=${SIGNED%%&vnp_SecureHash=*}
[[ ${RETURN_URL##*vnp_SecureHash=} == $(hmac512 "$FEEGATE_VNPAY_HASH_SECRET" "$SIGNED") ]] ||
  fail "the return URL's vnp_SecureHash does not verify"
expect "return URL" "$SIGNED" 'vnp_ResponseCode=00'
expect "return URL" "$SIGNED" 'vnp_TransactionStatus=00'
ok "VNPay IPN sent and answered (receiver: 404), return URL signed"

R=$(post /control/momo/pay '{"order_id":"pay_smoke_1","outcome":"approve"}')
[[ $(status_of "$R") == 200 ]] || fail "control/momo/pay: $R"
expect "MoMo IPN delivered" "$R" '"ipn":[{"status":404,'
expect "MoMo redirect" "$R" '"redirect_url":"https://momo.vn/return?'
ok "MoMo IPN sent and answered (receiver: 404)"
R=$(post /control/sepay/transfer '{"amount":2277000,"content":"HP2025-000124 HOC PHI","transfer_type":"in"}')
expect "SePay webhook" "$R" '"responses":[{"status":404,'
expect "SePay webhook" "$R" '"transferType":"in"'
R=$(post /control/sepay/transfer '{"amount":77000,"content":"PHI DICH VU","transfer_type":"out"}')
expect "SePay webhook" "$R" '"transferType":"out"'
ok "SePay transfers notified"

# ---- provider APIs -----------------------------------------------------------------
QD="rq1|2.1.0|querydr|TESTTMN1|HP2025-000123|20250905093000|20250905100000|127.0.0.1|tra cuu"
R=$(post /vnpay/merchant_webapi/api/transaction "{\"vnp_RequestId\":\"rq1\",\"vnp_Version\":\"2.1.0\",\"vnp_Command\":\"querydr\",\"vnp_TmnCode\":\"TESTTMN1\",\"vnp_TxnRef\":\"HP2025-000123\",\"vnp_OrderInfo\":\"tra cuu\",\"vnp_TransactionDate\":\"20250905093000\",\"vnp_CreateDate\":\"20250905100000\",\"vnp_IpAddr\":\"127.0.0.1\",\"vnp_SecureHash\":\"$(hmac512 "$FEEGATE_VNPAY_HASH_SECRET" "$QD")\"}")
expect "querydr" "$R" '"vnp_ResponseCode":"00"'
expect "querydr" "$R" '"vnp_TransactionStatus":"00"'
R=$(post /vnpay/merchant_webapi/api/transaction '{"vnp_RequestId":"rq2","vnp_Version":"2.1.0","vnp_Command":"querydr","vnp_TmnCode":"TESTTMN1","vnp_TxnRef":"HP2025-000123","vnp_SecureHash":"00"}')
expect "querydr (bad checksum)" "$R" '"vnp_ResponseCode":"97"'
RF="rq3|2.1.0|refund|TESTTMN1|03|HP2025-000123|500000000||20250905093000|admin|20250905100000|127.0.0.1|hoan tien"
R=$(post /vnpay/merchant_webapi/api/transaction "{\"vnp_RequestId\":\"rq3\",\"vnp_Version\":\"2.1.0\",\"vnp_Command\":\"refund\",\"vnp_TmnCode\":\"TESTTMN1\",\"vnp_TransactionType\":\"03\",\"vnp_TxnRef\":\"HP2025-000123\",\"vnp_Amount\":\"500000000\",\"vnp_OrderInfo\":\"hoan tien\",\"vnp_TransactionDate\":\"20250905093000\",\"vnp_CreateBy\":\"admin\",\"vnp_CreateDate\":\"20250905100000\",\"vnp_IpAddr\":\"127.0.0.1\",\"vnp_SecureHash\":\"$(hmac512 "$FEEGATE_VNPAY_HASH_SECRET" "$RF")\"}")
expect "VNPay refund" "$R" '"vnp_ResponseCode":"00"'
TRANS=$(curl -sS "$U/control/log" | grep -o 'transId\\\?":[0-9]*' | head -n 1 | grep -o '[0-9]*$')
[[ -n $TRANS ]] || fail "no MoMo transId in the log"
RR="accessKey=F8BBA842ECF85&amount=20000&description=hoan tien&orderId=RF-1&partnerCode=MOMO&requestId=RF-1&transId=$TRANS"
R=$(post /momo/v2/gateway/api/refund "{\"partnerCode\":\"MOMO\",\"orderId\":\"RF-1\",\"requestId\":\"RF-1\",\"amount\":20000,\"transId\":$TRANS,\"lang\":\"vi\",\"description\":\"hoan tien\",\"signature\":\"$(hmac256 "$FEEGATE_MOMO_SECRET_KEY" "$RR")\"}")
expect "MoMo refund" "$R" '"resultCode":0'
ok "querydr 00 (97 on a bad checksum), VNPay refund 00, MoMo refund 0"

# ---- statements ------------------------------------------------------------------------
TODAY=$(date -u -d "@$(($(date +%s) + 7 * 3600))" +%F) # the GMT+7 business date
curl -sS -o "$WORK/stmt.xml" "$U/control/statement?date=$TODAY&format=camt053"
xmllint --noout "$WORK/stmt.xml" || fail "camt.053 is not well-formed"
xp() { xmllint --xpath "$1" "$WORK/stmt.xml"; }
N='*[local-name()="Ntry"]'
CD='*[local-name()="CdtDbtInd"]'
AMT='*[local-name()="Amt"]'
BAL() { printf '//*[local-name()="Bal"][.//*[local-name()="Cd"]="%s"]' "$1"; }
OPEN=$(xp "string($(BAL OPBD)/$AMT)")
CLOSE=$(xp "string($(BAL CLBD)/$AMT)")
[[ $(xp "string($(BAL OPBD)/$CD)") == CRDT && $(xp "string($(BAL CLBD)/$CD)") == CRDT ]] ||
  fail "unexpected debit balances"
# xmllint prints sums of large numbers in exponent form: add the entries here
ENTRIES=$(xp "count(//$N)")
[[ $ENTRIES == 6 ]] || fail "camt.053 has $ENTRIES entries, expected 6"
CREDITS=0 DEBITS=0
for i in $(seq 1 "$ENTRIES"); do
  A=$(xp "string((//$N)[$i]/$AMT)")
  [[ $A =~ ^[1-9][0-9]*$ ]] || fail "entry $i amount \"$A\""
  case $(xp "string((//$N)[$i]/$CD)") in
  CRDT) CREDITS=$((CREDITS + A)) ;;
  DBIT) DEBITS=$((DEBITS + A)) ;;
  *) fail "entry $i has no CdtDbtInd" ;;
  esac
  [[ $(xp "string((//$N)[$i]/*[local-name()='Sts'])") == BOOK ]] || fail "entry $i is not BOOK"
done
[[ $((OPEN + CREDITS - DEBITS)) == "$CLOSE" ]] ||
  fail "camt.053 does not balance: $OPEN + $CREDITS - $DEBITS != $CLOSE"
[[ $CLOSE == $((100000000 + 15000000 + 50000 + 2277000 - 77000 - 5000000 - 20000)) ]] ||
  fail "camt.053 closing balance $CLOSE"
ok "camt.053 well-formed, $OPEN + $CREDITS - $DEBITS = $CLOSE"

curl -sS -o "$WORK/stmt.sta" "$U/control/statement?date=$TODAY&format=mt940"
awk '
  function amount(s) { sub(/,.*/, "", s); return s + 0 }
  /^:20:/ || /^:25:/ || /^:28C:/ || /^:86:/ || /^-$/ { next }
  /^:60F:/ { s = substr($0, 6); open = (substr(s, 1, 1) == "D" ? -1 : 1) * amount(substr(s, 11)); seen++; next }
  /^:62F:/ { s = substr($0, 6); close_ = (substr(s, 1, 1) == "D" ? -1 : 1) * amount(substr(s, 11)); seen++; next }
  /^:61:/ {
    s = substr($0, 15)                       # after value date (6) and entry date (4)
    sign = substr(s, 1, 1) == "D" ? -1 : 1
    match(s, /[0-9]+,/)
    sum += sign * amount(substr(s, RSTART, RLENGTH)); lines++; next
  }
  { bad = bad $0 " " }
  END {
    if (bad != "") { print "unexpected lines: " bad; exit 1 }
    if (seen != 2 || lines != 6) { print "fields: " seen " balances, " lines " lines"; exit 1 }
    if (open + sum != close_) { print open " + " sum " != " close_; exit 1 }
    print "smoke: ok: MT940 " open " + " sum " = " close_
  }' "$WORK/stmt.sta" || fail "MT940: $(cat "$WORK/stmt.sta")"

R=$(post /control/statement/write "{\"date\":\"$TODAY\"}")
[[ $(status_of "$R") == 200 ]] || fail "statement/write: $R"
cmp -s "$WORK/statements/$TODAY.mt940.sta" "$WORK/stmt.sta" || fail "written MT940 differs"
xmllint --noout "$WORK/statements/$TODAY.camt053.xml" || fail "written camt.053"
ok "statement files written"

# ---- shutdown ------------------------------------------------------------------------------
for pid in "$BANKSIM_PID" "$RECEIVER_PID"; do
  kill -TERM "$pid"
  rc=0
  wait "$pid" || rc=$?
  [[ $rc == 0 ]] || { cat "$WORK"/*.err >&2; fail "banksim exited $rc on SIGTERM"; }
done
PIDS=()
if grep -q 'ERROR: \(Address\|Leak\|Undefined\)Sanitizer\|runtime error' "$WORK"/*.err; then
  cat "$WORK"/*.err >&2
  fail "sanitizer reports"
fi
ok "SIGTERM: both exited 0"
echo "smoke: all checks passed"
