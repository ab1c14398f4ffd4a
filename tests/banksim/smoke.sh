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
#   - gateway settlements (banksim runs with --fee schedules): per gateway and day a CSV whose
#     fees follow the schedule (basis points rounded half up, plus the fixed part) and whose
#     nets add up to the gateway's one payout line on the statement;
#   - the day's camt.053 and camt.054 (the day, and one notification per credit) are
#     well-formed XML with the expected structure, MT940 is well-shaped, the Vietnamese
#     bank's CSV export has its layout, and in each the opening balance plus the lines equals
#     the closing balance (the CSV's running balances too);
#   - statement chaos: two codes in one memo, memos rewritten and wrapped inside a code,
#     a wrong amount (still balances), a missing or duplicated line (does not), an overlap
#     with the day before (still balances);
#   - POST /control/statement/write writes every file;
#   - settlement chaos: a gateway's file withheld (404, not written) while its payout line
#     stays; a file with a row for no transaction, a wrong amount and a payment left out,
#     the payout line paying what the file lists (a debit when refunds exceed it);
#   - reminder channels (a third banksim with an SMTP relay, STARTTLS and AUTH): smtp=PORT
#     printed before listening=PORT; an eSMS SMS and its repeat (one message, two attempts), a
#     refusal (101); a Zalo ZNS message, a refusal (-124); an e-mail through STARTTLS and AUTH
#     with curl, its RFC 2047 subject decoded; GET /control/messages counts them; sms_code
#     chaos refuses and records nothing; reset forgets them;
#   - SIGTERM exits 0.
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
start banksim --feegate "$RECEIVER" --statement-dir "$WORK/statements" --fee vnpay:110:1650 --fee momo:150
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

# ---- fees and settlements ----------------------------------------------------------------
R=$(curl -sS "$U/control/fees")
expect "fees from --fee" "$R" '"vnpay":{"percent_bp":110,"fixed":1650},"momo":{"percent_bp":150,"fixed":0}'
R=$(post /control/fees '{"vnpay":{"percent_bp":10001}}')
[[ $(status_of "$R") == 422 ]] || fail "a fee over 100 % accepted: $R"
R=$(post /control/fees '{"vnpay":{"percent_bp":110,"fixed":1650}}')
expect "fees set" "$R" '"vnpay":{"percent_bp":110,"fixed":1650}'
# 1,234,500 at 1.1 % is 13,579.5: rounded half up to 13,580, plus 1,650
R=$(post /control/vnpay/pay '{"txn_ref":"pay_smoke_round","outcome":"approve","amount":1234500}')
[[ $(status_of "$R") == 200 ]] || fail "control/vnpay/pay with an amount: $R"

TODAY=$(date -u -d "@$(($(date +%s) + 7 * 3600))" +%F) # the GMT+7 business date
TOMORROW=$(date -u -d "$TODAY + 1 day" +%F)
COMPACT=${TODAY//-/}
CODE=$(curl -sS -o /dev/null -w '%{http_code}' "$U/control/settlement?date=$TODAY&gateway=sepay")
[[ $CODE == 400 ]] || fail "settlement of an unknown gateway: $CODE"
# settlement GATEWAY BP FIXED: checks the file's fees and nets; prints the batch's net.
settlement() {
  curl -sS -o "$WORK/settlement-$1.csv" "$U/control/settlement?date=$TODAY&gateway=$1"
  LC_ALL=C awk -F, -v bp="$2" -v fixed="$3" -v want_ref="$4$COMPACT" '
    { sub(/\r$/, "") }
    NR == 1 { if ($0 != "batch_ref,transaction_no,order_ref,transaction_time,type,amount,fee,net") { print "header: " $0; exit 1 } next }
    {
      if (NF != 8 || $1 != want_ref) { print "row " NR ": " $0; exit 1 }
      fee = $5 == "payment" ? int(($6 * bp + 5000) / 10000) + fixed : 0
      if ($7 != fee || $8 != $6 - $7) { print "row " NR ": fee " $7 " (expected " fee "), net " $8; exit 1 }
      net += $8; rows++
    }
    END { if (rows == 0) { print "no rows"; exit 1 } print net }' "$WORK/settlement-$1.csv" ||
    fail "settlement $1: $(cat "$WORK/settlement-$1.csv")"
}
VNP_NET=$(settlement vnpay 110 1650 VNPSTL)
MOMO_NET=$(settlement momo 150 0 MOMOSTL)
[[ $VNP_NET == $((15000000 - 166650 - 5000000 + 1234500 - 15230)) ]] || fail "VNPay batch nets $VNP_NET"
[[ $MOMO_NET == $((50000 - 750 - 20000)) ]] || fail "MoMo batch nets $MOMO_NET"
grep -q ',pay_smoke_round,.*,payment,1234500,15230,1219270' "$WORK/settlement-vnpay.csv" ||
  fail "half-up rounding: $(cat "$WORK/settlement-vnpay.csv")"
ok "settlements: VNPay nets $VNP_NET, MoMo $MOMO_NET (fees per schedule, half up)"

# ---- statements ------------------------------------------------------------------------
CODE=$(curl -sS -o /dev/null -w '%{http_code}' "$U/control/statement?date=$TODAY&format=camt052")
[[ $CODE == 400 ]] || fail "an unknown statement format: $CODE"
CODE=$(curl -sS -o /dev/null -w '%{http_code}' "$U/control/statement?date=2026-02-29&format=csv-vn")
[[ $CODE == 400 ]] || fail "a statement of 29/02/2026: $CODE"
curl -sS -o "$WORK/stmt.xml" "$U/control/statement?date=$TODAY&format=camt053"
# camt053 FILE ENTRIES: checks the structure and that it balances; sets OPEN and CLOSE.
camt053() {
  xmllint --noout "$1" || fail "$1 is not well-formed"
  xp() { xmllint --xpath "$1" "$F"; }
  local F=$1 N='*[local-name()="Ntry"]' CD='*[local-name()="CdtDbtInd"]' AMT='*[local-name()="Amt"]'
  BAL() { printf '//*[local-name()="Bal"][.//*[local-name()="Cd"]="%s"]' "$1"; }
  [[ $(xp 'namespace-uri(/*)') == urn:iso:std:iso:20022:tech:xsd:camt.053.001.02 ]] || fail "$F: namespace"
  OPEN=$(xp "string($(BAL OPBD)/$AMT)")
  CLOSE=$(xp "string($(BAL CLBD)/$AMT)")
  [[ $(xp "string($(BAL OPBD)/$CD)") == CRDT && $(xp "string($(BAL CLBD)/$CD)") == CRDT ]] ||
    fail "$F: unexpected debit balances"
  # xmllint prints sums of large numbers in exponent form: add the entries here
  local entries i A
  entries=$(xp "count(//$N)")
  [[ $entries == "$2" ]] || fail "$F has $entries entries, expected $2"
  CREDITS=0 DEBITS=0
  for i in $(seq 1 "$entries"); do
    A=$(xp "string((//$N)[$i]/$AMT)")
    [[ $A =~ ^[1-9][0-9]*$ ]] || fail "$F: entry $i amount \"$A\""
    case $(xp "string((//$N)[$i]/$CD)") in
    CRDT) CREDITS=$((CREDITS + A)) ;;
    DBIT) DEBITS=$((DEBITS + A)) ;;
    *) fail "$F: entry $i has no CdtDbtInd" ;;
    esac
    [[ $(xp "string((//$N)[$i]/*[local-name()='Sts'])") == BOOK ]] || fail "$F: entry $i is not BOOK"
  done
  [[ $(xp 'count(//*[local-name()="Ustrd"][string-length(.) > 140 or string-length(.) = 0])') == 0 ]] ||
    fail "$F: an Ustrd is empty or longer than 140"
}
camt053 "$WORK/stmt.xml" 4
[[ $((OPEN + CREDITS - DEBITS)) == "$CLOSE" ]] ||
  fail "camt.053 does not balance: $OPEN + $CREDITS - $DEBITS != $CLOSE"
[[ $OPEN == 100000000 && $CLOSE == $((100000000 + 2277000 - 77000 + VNP_NET + MOMO_NET)) ]] ||
  fail "camt.053 opening $OPEN, closing $CLOSE"
PAYOUTS=$(xmllint --xpath 'string(//*[local-name()="Ntry"][*[local-name()="AcctSvcrRef"]="VNPSTL'"$COMPACT"'"]/*[local-name()="Amt"])' "$WORK/stmt.xml")
[[ $PAYOUTS == "$VNP_NET" ]] || fail "the VNPay payout line is $PAYOUTS, the settlement nets $VNP_NET"
grep -q "<Ustrd>MOMO SETTLEMENT BATCH MOMOSTL$COMPACT MOMO " "$WORK/stmt.xml" || fail "MoMo payout memo"
DAY_CLOSE=$CLOSE
ok "camt.053 well-formed, $OPEN + $CREDITS - $DEBITS = $CLOSE, payouts match the settlements"

# camt054 FILE NOTIFICATIONS ENTRIES: checks the structure; sets CREDITS and DEBITS.
camt054() {
  xmllint --noout "$1" || fail "$1 is not well-formed"
  local F=$1 i A NTRY='*[local-name()="Ntry"]'
  xp() { xmllint --xpath "$1" "$F"; }
  [[ $(xp 'namespace-uri(/*)') == urn:iso:std:iso:20022:tech:xsd:camt.054.001.02 ]] || fail "$F: namespace"
  [[ $(xp 'count(/*/*[local-name()="BkToCstmrDbtCdtNtfctn"]/*[local-name()="GrpHdr"]/*[local-name()="MsgId"])') == 1 ]] ||
    fail "$F: no GrpHdr/MsgId"
  [[ $(xp 'count(//*[local-name()="Ntfctn"])') == "$2" ]] || fail "$F: $(xp 'count(//*[local-name()="Ntfctn"])') notifications, expected $2"
  [[ $(xp 'count(//*[local-name()="Ntfctn"][not(*[local-name()="Id"]) or not(*[local-name()="CreDtTm"]) or not(*[local-name()="Acct"]/*[local-name()="Id"]/*[local-name()="Othr"]/*[local-name()="Id"]="0011001932418")])') == 0 ]] ||
    fail "$F: a notification lacks Id, CreDtTm or the account"
  [[ $(xp "count(//$NTRY)") == "$3" ]] || fail "$F: $(xp "count(//$NTRY)") entries, expected $3"
  [[ $(xp "count(//*[local-name()='Bal'])") == 0 ]] || fail "$F: a notification has balances"
  CREDITS=0 DEBITS=0
  for i in $(seq 1 "$3"); do
    A=$(xp "string((//$NTRY)[$i]/*[local-name()='Amt'])")
    [[ $A =~ ^[1-9][0-9]*$ ]] || fail "$F: entry $i amount \"$A\""
    [[ $(xp "string((//$NTRY)[$i]/*[local-name()='Sts'])") == BOOK ]] || fail "$F: entry $i is not BOOK"
    [[ -n $(xp "string((//$NTRY)[$i]/*[local-name()='AcctSvcrRef'])") ]] || fail "$F: entry $i has no AcctSvcrRef"
    case $(xp "string((//$NTRY)[$i]/*[local-name()='CdtDbtInd'])") in
    CRDT) CREDITS=$((CREDITS + A)) ;;
    DBIT) DEBITS=$((DEBITS + A)) ;;
    *) fail "$F: entry $i has no CdtDbtInd" ;;
    esac
  done
}
curl -sS -o "$WORK/ntf.xml" "$U/control/statement?date=$TODAY&format=camt054"
camt054 "$WORK/ntf.xml" 1 4
[[ $((100000000 + CREDITS - DEBITS)) == "$DAY_CLOSE" ]] || fail "camt.054 entries do not add up to the day"
curl -sS -o "$WORK/ntf-credits.xml" "$U/control/statement?date=$TODAY&format=camt054&per=credit"
camt054 "$WORK/ntf-credits.xml" 3 3
[[ $DEBITS == 0 && $(xmllint --xpath 'count(//*[local-name()="Ntfctn"][count(*[local-name()="Ntry"]) != 1])' "$WORK/ntf-credits.xml") == 0 ]] ||
  fail "camt.054 per credit: one credit a notification"
ok "camt.054: the day (4 entries) and one notification per credit (3)"

# mt940 FILE LINES: the shape, and opening + lines = closing.
mt940() {
  awk -v want="$2" '
    function amount(s) { sub(/,.*/, "", s); return s + 0 }
    /^:20:/ || /^:25:/ || /^:28C:/ || /^-$/ { text = 0; next }
    /^:86:/ { if (length($0) > 69) bad = bad $0 " "; text = 1; lines86 = 1; next }
    /^:60F:/ { s = substr($0, 6); open = (substr(s, 1, 1) == "D" ? -1 : 1) * amount(substr(s, 11)); seen++; text = 0; next }
    /^:62F:/ { s = substr($0, 6); close_ = (substr(s, 1, 1) == "D" ? -1 : 1) * amount(substr(s, 11)); seen++; text = 0; next }
    /^:61:/ {
      s = substr($0, 15)                       # after value date (6) and entry date (4)
      sign = substr(s, 1, 1) == "D" ? -1 : 1
      match(s, /[0-9]+,/)
      sum += sign * amount(substr(s, RSTART, RLENGTH)); lines++; text = 0; next
    }
    text && length($0) <= 65 && ++lines86 <= 6 && !/^[:-]/ { next } # :86: continued
    { bad = bad $0 " " }
    END {
      if (bad != "") { print "unexpected lines: " bad; exit 1 }
      if (seen != 2 || lines != want) { print "fields: " seen " balances, " lines " lines"; exit 1 }
      if (open + sum != close_) { print open " + " sum " != " close_; exit 1 }
      print "smoke: ok: MT940 " open " + " sum " = " close_
    }' "$1" || fail "MT940: $(cat "$1")"
}
curl -sS -o "$WORK/stmt.sta" "$U/control/statement?date=$TODAY&format=mt940"
mt940 "$WORK/stmt.sta" 4

# csv_vn FILE: the Vietnamese bank's export: its layout (samples/vcb_statement_sample.csv),
# amounts 1.500.000, dates dd/mm/yyyy, running balances right, opening + lines = closing.
# Prints "LINES OPENING CLOSING"; fails with the reason.
csv_vn() {
  LC_ALL=C awk '
    function field_split(rec,   i, c, f, inq, n) {
      n = 0; f = ""; inq = 0
      for (i = 1; i <= length(rec); i++) {
        c = substr(rec, i, 1)
        if (inq) {
          if (c == "\"") { if (substr(rec, i + 1, 1) == "\"") { f = f c; i++ } else inq = 0 }
          else f = f c
        } else if (c == "\"") inq = 1
        else if (c == ",") { F[++n] = f; f = "" }
        else f = f c
      }
      F[++n] = f
      return n
    }
    function vnd(s, what) {
      if (s !~ /^-?[0-9][0-9]?[0-9]?(\.[0-9][0-9][0-9])*$/) die(what " \"" s "\" is not an amount like 1.500.000")
      gsub(/\./, "", s)
      return s + 0
    }
    function die(msg) { print "record " records ": " msg; failed = 1; exit 1 }
    function record(rec,   n) {
      records++
      n = field_split(rec)
      if (records == 1) {
        if (substr(rec, 1, 3) != "\357\273\277") die("no UTF-8 BOM")
        if (F[1] != "\357\273\277SAO K\303\212 T\303\200I KHO\341\272\242N / STATEMENT OF ACCOUNT" || n != 7) die("title")
      } else if (records == 2) {
        if (F[1] !~ /^S\341\273\221 t\303\240i kho\341\272\243n \/ Account number: [0-9]+$/ || n != 7) die("account row")
      } else if (records == 3) {
        if (F[1] !~ /^T\341\273\253 ng\303\240y \/ From: [0-3][0-9]\/[01][0-9]\/20[0-9][0-9]  \304\220\341\272\277n ng\303\240y \/ To: [0-3][0-9]\/[01][0-9]\/20[0-9][0-9]$/ || n != 7) die("period row")
      } else if (records == 4) {
        if (F[1] != "S\341\273\221 d\306\260 \304\221\341\272\247u k\341\273\263 / Opening balance" || n != 7) die("opening row")
        opening = balance = vnd(F[6], "opening")
      } else if (records == 5) {
        if (F[1] != "STT / No." || F[7] != "N\341\273\231i dung chi ti\341\272\277t / Description" || n != 7) die("header row")
      } else if (F[1] == "S\341\273\221 d\306\260 cu\341\273\221i k\341\273\263 / Closing balance") {
        if (n != 7) die("closing row")
        closing = vnd(F[6], "closing")
        if (closing != balance) die("the closing " closing " is not the last balance " balance)
        if (opening + sum != closing) die("does not balance: " opening " + " sum " != " closing)
        done = 1
      } else {
        if (done) die("a row after the closing")
        if (n != 7 || F[1] != ++lines) die("transaction row " lines)
        if (F[2] !~ /^[0-3][0-9]\/[01][0-9]\/20[0-9][0-9]$/) die("date \"" F[2] "\"")
        if ((F[4] == "") == (F[5] == "")) die("line " lines ": one of debit and credit")
        amount = F[5] != "" ? vnd(F[5], "credit") : -vnd(F[4], "debit")
        sum += amount
        if (balance + amount != vnd(F[6], "balance")) die("line " lines ": running balance " F[6] " after " balance " and " amount)
        balance = vnd(F[6], "balance")
      }
    }
    {
      rec = pending == "" && !open_ ? $0 : pending "\n" $0
      quotes = gsub(/"/, "\"", $0)
      open_ = (open_ + quotes) % 2
      if (open_) { pending = rec; next }
      pending = ""
      record(rec)
    }
    END {
      if (failed) exit 1
      if (open_) { print "an unterminated quote"; exit 1 }
      if (!done) { print "no closing row"; exit 1 }
      print lines, opening, closing
    }' "$1"
}
curl -sS -o "$WORK/stmt.csv" "$U/control/statement?date=$TODAY&format=csv-vn"
R=$(csv_vn "$WORK/stmt.csv") || fail "CSV: $R: $(cat "$WORK/stmt.csv")"
[[ $R == "4 100000000 $DAY_CLOSE" ]] || fail "CSV: $R"
grep -q "^1,\"$(date -u -d "$TODAY" +%d/%m/%Y)\",\"FT[0-9]*\",,\"2.277.000\",\"102.277.000\",\"HP2025-000124 HOC PHI\"$" "$WORK/stmt.csv" ||
  fail "CSV: the first line: $(sed -n 6p "$WORK/stmt.csv")"
ok "CSV export (vn): 4 lines, running balances right, 100000000 -> $DAY_CLOSE"

# ---- statement chaos --------------------------------------------------------------------
chaos() { R=$(post /control/chaos "$1"); [[ $(status_of "$R") == 200 ]] || fail "chaos $1: $R"; }
R=$(post /control/chaos '{"statement_two_codes":"has space"}')
[[ $(status_of "$R") == 422 ]] || fail "a code with a space accepted: $R"
R=$(post /control/chaos '{"statement_overlap":-1}')
[[ $(status_of "$R") == 422 ]] || fail "a negative overlap accepted: $R"

# two codes: the next incoming transfer's memo names the chaos' code after its own
chaos '{"statement_two_codes":"2WENRPDZH34"}'
expect "chaos answer" "$R" '"statement_two_codes":"2WENRPDZH34"'
R=$(post /control/sepay/transfer '{"amount":400000,"content":"Học phí con","codes":["7Z50K5DDM7F"]}')
expect "two codes" "$R" '"content":"Học phí con 7Z50K5DDM7F 2WENRPDZH34"'
R=$(post /control/sepay/transfer '{"amount":1000,"content":"THU NGHIEM"}')
expect "two codes used once" "$R" '"content":"THU NGHIEM"'
R=$(post /control/sepay/transfer '{"amount":1000,"codes":["A","B","C","D","E","F","G","H","I"]}')
[[ $(status_of "$R") == 400 ]] || fail "nine codes accepted: $R"
DAY_CLOSE=$((DAY_CLOSE + 401000))
ok "statement_two_codes: one memo names both codes, once"

chaos '{"statement_rewrite":true}'
curl -sS -o "$WORK/rewritten.csv" "$U/control/statement?date=$TODAY&format=csv-vn"
R=$(csv_vn "$WORK/rewritten.csv") || fail "rewritten CSV: $R"
[[ $R == "6 100000000 $DAY_CLOSE" ]] || fail "rewritten CSV: $R"
MEMO=$(LC_ALL=C awk 'BEGIN { RS = "\"" } NR % 2 == 0 && /MBVCB\./ && /HOC PHI CON/' "$WORK/rewritten.csv")
[[ -n $MEMO ]] || fail "no rewritten memo: $(cat "$WORK/rewritten.csv")"
JOINED=$(tr -d '\n' <<<"$MEMO")
[[ $JOINED == "MBVCB."*" CT tu 0351000646393 NGUYEN VAN A"*" toi 0011001932418 HOC PHI CON 7Z50K5DDM7F 2WENRPDZH34" ]] ||
  fail "rewritten memo: $JOINED"
[[ $MEMO != *7Z50K5DDM7F* ]] || fail "the wrap does not split the code: $MEMO"
awk 'length($0) > 35 { exit 1 }' <<<"$MEMO" || fail "a memo line over 35 characters: $MEMO"
curl -sS -o "$WORK/rewritten.xml" "$U/control/statement?date=$TODAY&format=camt053"
camt053 "$WORK/rewritten.xml" 6
[[ $(xmllint --xpath 'count(//*[local-name()="Ustrd"][string-length(.) > 35])' "$WORK/rewritten.xml") == 0 ]] ||
  fail "rewritten camt.053: an Ustrd over 35"
curl -sS -o "$WORK/rewritten.sta" "$U/control/statement?date=$TODAY&format=mt940"
mt940 "$WORK/rewritten.sta" 6
grep -q '^:86:MBVCB\.' "$WORK/rewritten.sta" || fail "rewritten MT940"
ok "statement_rewrite: upper case, no diacritics, bank prefix, wrapped at 35 inside the code"

chaos '{"statement_wrong_amount":1000,"statement_wrong_amount_line":2}'
curl -sS -o "$WORK/wrong.csv" "$U/control/statement?date=$TODAY&format=csv-vn"
R=$(csv_vn "$WORK/wrong.csv") || fail "wrong amount CSV: $R"
[[ $R == "6 100000000 $((DAY_CLOSE - 1000))" ]] || fail "wrong amount CSV: $R"
grep -q '^2,"[0-9/]*","FT[0-9]*","78.000",,' "$WORK/wrong.csv" || fail "the second line's amount: $(sed -n 7p "$WORK/wrong.csv")"
curl -sS -o "$WORK/wrong.xml" "$U/control/statement?date=$TODAY&format=camt053"
camt053 "$WORK/wrong.xml" 6
[[ $((OPEN + CREDITS - DEBITS)) == "$CLOSE" && $CLOSE == $((DAY_CLOSE - 1000)) ]] || fail "wrong amount camt.053"
ok "statement_wrong_amount: line 2 (a debit) 1000 bigger, the balances after it too: the file still balances"

chaos '{"statement_missing_line":1}'
curl -sS -o "$WORK/missing.csv" "$U/control/statement?date=$TODAY&format=csv-vn"
R=$(csv_vn "$WORK/missing.csv") && fail "a file without its first line balances: $R"
expect "missing line" "$R" "line 1: running balance"
curl -sS -o "$WORK/missing.xml" "$U/control/statement?date=$TODAY&format=camt053"
camt053 "$WORK/missing.xml" 5
[[ $((OPEN + CREDITS - DEBITS + 2277000)) == "$CLOSE" ]] || fail "missing line: camt.053 is off by another amount"
ok "statement_missing_line: one line left out, the bank's closing kept (does not balance)"

chaos '{"statement_duplicate_line":2}'
curl -sS -o "$WORK/duplicate.csv" "$U/control/statement?date=$TODAY&format=csv-vn"
R=$(csv_vn "$WORK/duplicate.csv") && fail "a file with a line twice balances: $R"
expect "duplicate line" "$R" "line 3: running balance"
[[ $(sed -n 7p "$WORK/duplicate.csv" | cut -d, -f2-) == "$(sed -n 8p "$WORK/duplicate.csv" | cut -d, -f2-)" ]] ||
  fail "the duplicate differs: $(sed -n 7,8p "$WORK/duplicate.csv")"
curl -sS -o "$WORK/duplicate.sta" "$U/control/statement?date=$TODAY&format=mt940"
awk '/^:61:/ { n++ } END { exit n != 7 }' "$WORK/duplicate.sta" || fail "duplicate MT940"
ok "statement_duplicate_line: line 2 listed twice, the bank's closing kept (does not balance)"

# the same, as the bank's own books have it: the file balances
chaos '{"statement_missing_line":1,"statement_duplicate_line":2,"statement_balanced":true}'
curl -sS -o "$WORK/balanced.csv" "$U/control/statement?date=$TODAY&format=csv-vn"
R=$(csv_vn "$WORK/balanced.csv") || fail "balanced missing and duplicate lines: $R"
curl -sS -o "$WORK/balanced.xml" "$U/control/statement?date=$TODAY&format=camt053"
camt053 "$WORK/balanced.xml" 6
[[ $((OPEN + CREDITS - DEBITS)) == "$CLOSE" ]] || fail "balanced chaos: camt.053 does not balance"
ok "statement_balanced: a line that never arrived and one booked twice, and the file balances"

# tomorrow's file repeating today's last two lines (the payouts) first
chaos '{"statement_overlap":2}'
curl -sS -o "$WORK/overlap.csv" "$U/control/statement?date=$TOMORROW&format=csv-vn"
R=$(csv_vn "$WORK/overlap.csv") || fail "overlap CSV: $R"
[[ $R == "2 $((DAY_CLOSE - VNP_NET - MOMO_NET)) $DAY_CLOSE" ]] || fail "overlap CSV: $R"
grep -q "^1,\"[0-9/]*\",\"VNPSTL$COMPACT\",," "$WORK/overlap.csv" || fail "overlap: $(cat "$WORK/overlap.csv")"
curl -sS -o "$WORK/overlap.xml" "$U/control/statement?date=$TOMORROW&format=camt053"
camt053 "$WORK/overlap.xml" 2
[[ $((OPEN + CREDITS - DEBITS)) == "$CLOSE" && $CLOSE == "$DAY_CLOSE" ]] || fail "overlap camt.053"
curl -sS -o "$WORK/overlap.sta" "$U/control/statement?date=$TOMORROW&format=mt940"
mt940 "$WORK/overlap.sta" 2
ok "statement_overlap: tomorrow's file repeats today's last 2 lines, opening moved, balances"

R=$(post /control/reset '{}')
expect "reset" "$R" '"statement_overlap":0'
curl -sS -o "$WORK/stmt.csv" "$U/control/statement?date=$TODAY&format=csv-vn"
curl -sS -o "$WORK/stmt.sta" "$U/control/statement?date=$TODAY&format=mt940"
R=$(post /control/statement/write "{\"date\":\"$TODAY\"}")
[[ $(status_of "$R") == 200 ]] || fail "statement/write: $R"
for f in camt053.xml mt940.sta camt054.xml camt054-credits.xml vn.csv settlement-vnpay.csv settlement-momo.csv; do
  expect "statement/write" "$R" "$WORK/statements/$TODAY.$f"
  [[ -s $WORK/statements/$TODAY.$f ]] || fail "$TODAY.$f was not written"
done
cmp -s "$WORK/statements/$TODAY.mt940.sta" "$WORK/stmt.sta" || fail "written MT940 differs"
cmp -s "$WORK/statements/$TODAY.vn.csv" "$WORK/stmt.csv" || fail "written CSV differs"
cmp -s "$WORK/statements/$TODAY.settlement-vnpay.csv" "$WORK/settlement-vnpay.csv" || fail "written settlement differs"
camt053 "$WORK/statements/$TODAY.camt053.xml" 6
camt054 "$WORK/statements/$TODAY.camt054.xml" 1 6
camt054 "$WORK/statements/$TODAY.camt054-credits.xml" 5 5
ok "statement files written"

# ---- settlement chaos ------------------------------------------------------------------------
R=$(post /control/chaos '{"settlement_withhold":"vnpay"}')
expect "settlement_withhold" "$R" '"settlement_withhold":["vnpay"]'
CODE=$(curl -sS -o /dev/null -w '%{http_code}' "$U/control/settlement?date=$TODAY&gateway=vnpay")
[[ $CODE == 404 ]] || fail "a withheld settlement file was served: $CODE"
CODE=$(curl -sS -o /dev/null -w '%{http_code}' "$U/control/settlement?date=$TODAY&gateway=momo")
[[ $CODE == 200 ]] || fail "MoMo's settlement file was withheld too: $CODE"
curl -sS -o "$WORK/withheld.xml" "$U/control/statement?date=$TODAY&format=camt053"
grep -q "<AcctSvcrRef>VNPSTL$COMPACT</AcctSvcrRef>" "$WORK/withheld.xml" || fail "the payout line went with the file"
R=$(post /control/statement/write "{\"date\":\"$TODAY\"}")
[[ $R != *settlement-vnpay* && $R == *settlement-momo* ]] || fail "statement/write with VNPay's file withheld: $R"
R=$(post /control/chaos '{"settlement_withhold":"sepay"}')
[[ $(status_of "$R") == 422 ]] || fail "settlement_withhold of an unknown gateway: $R"
ok "settlement_withhold: VNPay's file answers 404 and is not written, its payout line stays on the statement"

# VNPay's file leaves out the day's first payment (15,000,000), lists the second at 1,000 more
# (its fee charged on that: 13,590.5 -> 13,591 + 1,650) and a payment of 45,000 no one made
# (fee 495 + 1,650); with the refund of 5,000,000 the payout is a debit
R=$(post /control/chaos '{"settlement_gateway":"vnpay","settlement_unknown_row":45000,"settlement_wrong_amount":1000,"settlement_wrong_amount_row":2,"settlement_missing_row":1}')
expect "settlement chaos" "$R" '"settlement_gateway":"vnpay","settlement_unknown_row":45000,"settlement_wrong_amount":1000,"settlement_wrong_amount_row":2,"settlement_missing_row":1'
NET=$(settlement vnpay 110 1650 VNPSTL)
[[ $NET == $((-5000000 + 1235500 - 15241 + 45000 - 2145)) ]] || fail "VNPay's batch with chaos nets $NET"
grep -q ",99${COMPACT}01,UNKNOWN-$COMPACT,.*,payment,45000,2145,42855" "$WORK/settlement-vnpay.csv" ||
  fail "the unknown row: $(cat "$WORK/settlement-vnpay.csv")"
! grep -q ',payment,15000000,' "$WORK/settlement-vnpay.csv" || fail "the missing row is listed"
MOMO_AGAIN=$(settlement momo 150 0 MOMOSTL)
[[ $MOMO_AGAIN == "$MOMO_NET" ]] || fail "the chaos for VNPay changed MoMo's batch: $MOMO_AGAIN"
curl -sS -o "$WORK/chaos.xml" "$U/control/statement?date=$TODAY&format=camt053"
camt053 "$WORK/chaos.xml" 6
[[ $((OPEN + CREDITS - DEBITS)) == "$CLOSE" ]] || fail "camt.053 with settlement chaos does not balance"
PAYOUT=$(xmllint --xpath 'string(//*[local-name()="Ntry"][*[local-name()="AcctSvcrRef"]="VNPSTL'"$COMPACT"'"]/*[local-name()="Amt"])' "$WORK/chaos.xml")
PAYOUT_SIDE=$(xmllint --xpath 'string(//*[local-name()="Ntry"][*[local-name()="AcctSvcrRef"]="VNPSTL'"$COMPACT"'"]/*[local-name()="CdtDbtInd"])' "$WORK/chaos.xml")
[[ $PAYOUT == $((-NET)) && $PAYOUT_SIDE == DBIT ]] || fail "the VNPay payout line is $PAYOUT_SIDE $PAYOUT, the file nets $NET"
R=$(post /control/reset '{}')
expect "reset" "$R" '"settlement_withhold":[],"settlement_gateway":null,"settlement_unknown_row":0'
ok "settlement chaos: a row for no transaction, a wrong amount, a payment left out; the payout pays what the file lists"

# ---- reminder channels -----------------------------------------------------------------------
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=localhost \
  -addext subjectAltName=DNS:localhost -keyout "$WORK/smtp.key" -out "$WORK/smtp.crt" 2>/dev/null ||
  fail "openssl could not make the relay's certificate"
start relay --feegate "$RECEIVER" --smtp-listen 127.0.0.1:0 --smtp-tls-cert "$WORK/smtp.crt" \
  --smtp-tls-key "$WORK/smtp.key" --smtp-user smoke-relay --smtp-password smoke-secret
RELAY_PID=${PIDS[-1]}
U=http://127.0.0.1:$PORT
SMTP_PORT=$(sed -n 's/^smtp=//p' "$WORK/relay.out")
[[ $(head -n 1 "$WORK/relay.out") == "smtp=$SMTP_PORT" && $SMTP_PORT -gt 0 ]] ||
  fail "smtp=PORT is not the first line: $(cat "$WORK/relay.out")"
ESMS=/esms/MainService.svc/json/SendMultipleMessage_V4_post_json/
esms_body() { # esms_body API_KEY REQUEST_ID
  printf '{"ApiKey":"%s","SecretKey":"esms-test-secret","Phone":"0912345678","Content":"Nhac nop hoc phi HP2025-000124","Brandname":"FEEGATE","SmsType":"2","IsUnicode":0,"RequestId":"%s","CallbackUrl":"","Sandbox":0}' "$1" "$2"
}
R=$(post "$ESMS" "$(esms_body esms-test-key smoke-sms-1)")
expect "eSMS" "$R" '"CodeResult":"100"'
SMSID=$(body_of "$R" | sed -n 's/.*"SMSID":"\([^"]*\)".*/\1/p')
R=$(post "$ESMS" "$(esms_body esms-test-key smoke-sms-1)")
expect "eSMS repeat" "$R" "\"SMSID\":\"$SMSID\""
R=$(post "$ESMS" "$(esms_body wrong-key smoke-sms-2)")
expect "eSMS wrong key" "$R" '"CodeResult":"101"'
ZNS='{"phone":"84912345678","template_id":"231456","template_data":{"amount":2277000},"tracking_id":"smoke-zns-1"}'
R=$(curl -sS -H 'access_token: zalo-test-token' -d "$ZNS" "$U/zalo/message/template")
expect "Zalo" "$R" '"error":0,"message":"Success","data":{"msg_id":"'
R=$(curl -sS -H 'access_token: wrong' -d "$ZNS" "$U/zalo/message/template")
expect "Zalo wrong token" "$R" '"error":-124'
printf 'Message-ID: <smoke-1@feegate.test>\r\nSubject: =?UTF-8?B?SOG7jWMgcGjDrQ==?=\r\n\r\nHoc phi\r\n' >"$WORK/mail.txt"
curl -sS --ssl-reqd --cacert "$WORK/smtp.crt" --resolve "localhost:$SMTP_PORT:127.0.0.1" \
  --url "smtp://localhost:$SMTP_PORT" --mail-from reminders@feegate.test --mail-rcpt parent@example.vn \
  --user smoke-relay:smoke-secret -T "$WORK/mail.txt" || fail "the relay did not take the e-mail"
R=$(curl -sS "$U/control/messages?channel=sms")
expect "messages (sms)" "$R" '{"count":1,"data":[{"channel":"sms","key":"smoke-sms-1"'
expect "messages (sms)" "$R" '"attempts":2'
R=$(curl -sS "$U/control/messages?channel=zalo")
expect "messages (zalo)" "$R" '"template_id":"231456","content":"{\"amount\":2277000}"'
R=$(curl -sS "$U/control/messages?channel=email&to=Parent@example.vn")
expect "messages (email)" "$R" '"count":1'
expect "messages (email)" "$R" '"subject":"Học phí"'
expect "messages (email)" "$R" '"tls":true,"auth":true'
R=$(post /control/chaos '{"sms_code":"99"}')
expect "sms_code" "$R" '"sms_code":"99"'
R=$(post "$ESMS" "$(esms_body esms-test-key smoke-sms-3)")
expect "eSMS with sms_code" "$R" '"CodeResult":"99"'
R=$(curl -sS "$U/control/messages")
expect "messages" "$R" '"count":3'
R=$(post /control/reset '{}')
expect "reset" "$R" '"sms_code":null,"zalo_error":0,"smtp_code":0,"messages_delay_ms":0'
R=$(curl -sS "$U/control/messages")
[[ $R == '{"count":0,"data":[]}' ]] || fail "reset kept messages: $R"
ok "reminder channels: eSMS, Zalo ZNS and SMTP (STARTTLS, AUTH) recorded once per key, refusals, chaos, reset"

# ---- shutdown ------------------------------------------------------------------------------
for pid in "$BANKSIM_PID" "$RECEIVER_PID" "$RELAY_PID"; do
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
ok "SIGTERM: every banksim exited 0"
echo "smoke: all checks passed"
