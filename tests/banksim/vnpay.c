/*
 * vnpay.c - VNPay 2.1.0 as PROTOCOLS.md describes it: the pay page that
 * verifies vnp_SecureHash, the signed IPN and return redirect, and the
 * merchant_webapi querydr / refund API.
 *
 * Signatures, two kinds:
 *  - query strings: every non-empty vnp_* parameter but vnp_SecureHash(Type),
 *    sorted by name, form-encoded as key=value&..., HMAC-SHA512 in hex;
 *  - the API's JSON: HMAC-SHA512 over fixed fields joined with '|'.  The
 *    refund answer's order, which PROTOCOLS.md leaves out, follows VNPay's
 *    documentation: vnp_ResponseId|vnp_Command|vnp_ResponseCode|vnp_Message|
 *    vnp_TmnCode|vnp_TxnRef|vnp_Amount|vnp_BankCode|vnp_PayDate|
 *    vnp_TransactionNo|vnp_TransactionType|vnp_TransactionStatus|vnp_OrderInfo.
 */
#include "banksim.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Request ids remembered for the "duplicate request" (94) answer. */
#define REQUEST_IDS_MAX 100000
/* VNPay's amount field carries VND x 100. */
#define AMOUNT_SCALE 100

typedef enum { TXN_PENDING, TXN_PAID, TXN_FAILED } txn_state_t;

typedef struct {
    char *txn_ref, *order_info, *return_url, *bank_code;
    char create_date[15];
    int64_t amount;      /* VND, as asked on the pay page */
    int64_t paid_amount; /* VND, as paid (chaos may change it) */
    txn_state_t state;
    int64_t transaction_no; /* 0 while pending */
    char pay_date[15];
    char response_code[3], status[3];
    int64_t refunded; /* VND */
} txn_t;

static txn_t *txns;
static size_t txn_count, txn_cap;

/* Refunds made, by their vnp_RequestId (querydr naming a refund asks here). */
typedef struct {
    char *request_id, *txn_ref;
    int64_t amount, transaction_no;
    char type[3], pay_date[15];
} vnpay_refund_t;
static vnpay_refund_t *vrefunds;
static size_t vrefund_count, vrefund_cap;
static char **request_ids;
static size_t request_id_count;

static txn_t *txn_find(const char *txn_ref)
{
    for (size_t i = 0; i < txn_count; i++)
        if (strcmp(txns[i].txn_ref, txn_ref) == 0)
            return &txns[i];
    return NULL;
}

static txn_t *txn_add(const char *txn_ref, int64_t amount, const char *order_info, const char *return_url,
                      const char *bank_code, const char *create_date)
{
    if (txn_count == txn_cap) {
        txn_cap = txn_cap != 0 ? txn_cap * 2 : 64;
        txn_t *p = realloc(txns, txn_cap * sizeof(*txns));
        if (p == NULL)
            abort();
        txns = p;
    }
    txn_t *t = &txns[txn_count++];
    memset(t, 0, sizeof(*t));
    t->txn_ref = bs_strdup(txn_ref);
    t->order_info = bs_strdup(order_info != NULL ? order_info : "");
    t->return_url = return_url != NULL ? bs_strdup(return_url) : NULL;
    t->bank_code = bs_strdup(bank_code != NULL && bank_code[0] != '\0' ? bank_code : "NCB");
    snprintf(t->create_date, sizeof(t->create_date), "%s", create_date != NULL ? create_date : "");
    t->amount = amount;
    t->state = TXN_PENDING;
    return t;
}

void bs_vnpay_free(void)
{
    for (size_t i = 0; i < txn_count; i++) {
        free(txns[i].txn_ref);
        free(txns[i].order_info);
        free(txns[i].return_url);
        free(txns[i].bank_code);
    }
    free(txns);
    for (size_t i = 0; i < request_id_count; i++)
        free(request_ids[i]);
    free(request_ids);
    for (size_t i = 0; i < vrefund_count; i++) {
        free(vrefunds[i].request_id);
        free(vrefunds[i].txn_ref);
    }
    free(vrefunds);
}

/* ---- query-string signatures ------------------------------------------------- */

typedef struct {
    const char *name, *value;
} kv_t;

static int kv_cmp(const void *a, const void *b) { return strcmp(((const kv_t *)a)->name, ((const kv_t *)b)->name); }

/* Appends the encoded, sorted query of pairs (empty values left out) and,
 * when hash is not NULL, writes its HMAC-SHA512 there. */
static void encode_sorted(kv_t *pairs, int n, bs_buf_t *out, char hash[129])
{
    qsort(pairs, (size_t)n, sizeof(*pairs), kv_cmp);
    size_t start = out->len;
    int first = 1;
    for (int i = 0; i < n; i++) {
        if (pairs[i].value == NULL || pairs[i].value[0] == '\0')
            continue;
        if (!first)
            bs_buf_putc(out, '&');
        first = 0;
        bs_form_encode(out, pairs[i].name);
        bs_buf_putc(out, '=');
        bs_form_encode(out, pairs[i].value);
    }
    if (hash != NULL)
        bs_hmac_sha512_hex(bs_config.vnpay_hash_secret, out->data + start, out->len - start, hash);
}

/* The signed query of pairs: encoded string + &vnp_SecureHash=. */
static void signed_query(kv_t *pairs, int n, int forge, bs_buf_t *out)
{
    char hash[129];
    encode_sorted(pairs, n, out, hash);
    if (forge)
        bs_forge_hex(hash);
    bs_buf_printf(out, "&vnp_SecureHash=%s", hash);
}

/* 1 when the decoded parameters carry a valid vnp_SecureHash. */
static int query_verified(const bs_params_t *q)
{
    kv_t pairs[BS_PARAMS_MAX];
    int n = 0;
    for (int i = 0; i < q->count; i++)
        if (strncmp(q->names[i], "vnp_", 4) == 0 && strcmp(q->names[i], "vnp_SecureHash") != 0 &&
            strcmp(q->names[i], "vnp_SecureHashType") != 0)
            pairs[n++] = (kv_t){q->names[i], q->values[i]};
    const char *got = bs_params_get(q, "vnp_SecureHash");
    if (got == NULL || strlen(got) != 128)
        return 0;
    char lower[129], hash[129];
    for (int i = 0; i <= 128; i++)
        lower[i] = (char)(got[i] >= 'A' && got[i] <= 'F' ? got[i] + 32 : got[i]);
    bs_buf_t b = BS_BUF_INIT;
    encode_sorted(pairs, n, &b, hash);
    bs_buf_free(&b);
    return bs_equal_ct(lower, hash);
}

/* ---- the pay page --------------------------------------------------------------- */

static int parse_amount(const char *s, int64_t *out)
{
    int64_t n = 0;
    if (s == NULL || *s == '\0' || strlen(s) > 17)
        return -1;
    for (; *s != '\0'; s++) {
        if (*s < '0' || *s > '9')
            return -1;
        n = n * 10 + (*s - '0');
    }
    *out = n;
    return 0;
}

/* Checks the pay request's fields; returns NULL or what is wrong. */
static const char *pay_request_problem(const bs_params_t *q, int64_t *amount)
{
    static const char *const required[] = {"vnp_Version", "vnp_Command",   "vnp_TmnCode",   "vnp_Amount",
                                           "vnp_TxnRef",  "vnp_OrderInfo", "vnp_ReturnUrl", "vnp_CreateDate"};
    if (!query_verified(q))
        return "invalid signature (97)";
    for (size_t i = 0; i < sizeof(required) / sizeof(required[0]); i++) {
        const char *v = bs_params_get(q, required[i]);
        if (v == NULL || v[0] == '\0')
            return "a required vnp_ parameter is missing";
    }
    if (strcmp(bs_params_get(q, "vnp_Command"), "pay") != 0)
        return "vnp_Command must be pay";
    if (strcmp(bs_params_get(q, "vnp_TmnCode"), bs_config.vnpay_tmn_code) != 0)
        return "unknown vnp_TmnCode";
    const char *ccy = bs_params_get(q, "vnp_CurrCode");
    if (ccy != NULL && strcmp(ccy, "VND") != 0)
        return "vnp_CurrCode must be VND";
    if (parse_amount(bs_params_get(q, "vnp_Amount"), amount) != 0 || *amount <= 0 || *amount % AMOUNT_SCALE != 0)
        return "vnp_Amount must be a positive multiple of 100";
    *amount /= AMOUNT_SCALE;
    return NULL;
}

static void pay_page_html(bs_response_t *res, const txn_t *t)
{
    bs_buf_t *b = &res->body;
    res->status = 200;
    res->content_type = BS_HTML_TYPE;
    bs_buf_puts(b, "<!doctype html>\n<html><head><meta charset=\"utf-8\">"
                   "<title>VNPAY - Thanh toan</title></head>\n<body>\n"
                   "<h1>VNPAY payment (simulator)</h1>\n<dl><dt>Merchant</dt><dd>");
    bs_xml_escape(b, bs_config.vnpay_tmn_code);
    bs_buf_puts(b, "</dd><dt>Order</dt><dd id=\"txn_ref\">");
    bs_xml_escape(b, t->txn_ref);
    bs_buf_puts(b, "</dd><dt>Description</dt><dd>");
    bs_xml_escape(b, t->order_info);
    bs_buf_printf(b, "</dd><dt>Amount</dt><dd id=\"amount\">%lld VND</dd></dl>\n", (long long)t->amount);
    bs_buf_puts(b, "<form method=\"post\" action=\"/vnpay/paymentv2/decide\">\n"
                   "<input type=\"hidden\" name=\"txn_ref\" value=\"");
    bs_xml_escape(b, t->txn_ref);
    bs_buf_puts(b, "\">\n<button type=\"submit\" name=\"outcome\" value=\"approve\">"
                   "Approve</button>\n<button type=\"submit\" name=\"outcome\" "
                   "value=\"decline\">Decline</button>\n</form>\n</body></html>\n");
}

void bs_vnpay_pay_page(const bs_request_t *req, bs_response_t *res)
{
    bs_params_t q;
    bs_params_parse(&q, req->query, strlen(req->query));
    int64_t amount = 0;
    const char *problem = pay_request_problem(&q, &amount);
    if (problem != NULL) {
        bs_log_add("vnpay.pay_page", "in", "GET", req->path, req->query, 400, NULL, problem);
        bs_res_page(res, 400, "VNPAY - Giao dich khong hop le", problem);
        goto Exit;
    }
    const char *txn_ref = bs_params_get(&q, "vnp_TxnRef");
    pthread_mutex_lock(&bs_state_lock);
    txn_t *t = txn_find(txn_ref);
    if (t != NULL && t->state != TXN_PENDING) {
        pthread_mutex_unlock(&bs_state_lock);
        bs_log_add("vnpay.pay_page", "in", "GET", req->path, req->query, 409, NULL, "transaction already processed");
        bs_res_page(res, 409, "VNPAY - Giao dich da duoc xu ly", "this vnp_TxnRef was already paid or declined");
        goto Exit;
    }
    if (t == NULL)
        t = txn_add(txn_ref, amount, bs_params_get(&q, "vnp_OrderInfo"), bs_params_get(&q, "vnp_ReturnUrl"),
                    bs_params_get(&q, "vnp_BankCode"), bs_params_get(&q, "vnp_CreateDate"));
    t->amount = amount; /* a new link for the same reference replaces the old */
    pay_page_html(res, t);
    pthread_mutex_unlock(&bs_state_lock);
    bs_log_add("vnpay.pay_page", "in", "GET", req->path, req->query, 200, NULL, NULL);
Exit:
    bs_params_free(&q);
}

/* ---- deciding: IPN and return ------------------------------------------------- */

/* The parameters of one notification, owned strings. */
typedef struct {
    char amount[24], transaction_no[24], bank_tran_no[32], pay_date[15];
    char response_code[3], status[3];
    char *txn_ref, *order_info, *bank_code;
} ipn_t;

static void ipn_query(const ipn_t *ipn, int forge, bs_buf_t *out)
{
    kv_t pairs[] = {
        {"vnp_Amount", ipn->amount},
        {"vnp_BankCode", ipn->bank_code},
        {"vnp_BankTranNo", ipn->bank_tran_no},
        {"vnp_CardType", "ATM"},
        {"vnp_OrderInfo", ipn->order_info},
        {"vnp_PayDate", ipn->pay_date},
        {"vnp_ResponseCode", ipn->response_code},
        {"vnp_TmnCode", bs_config.vnpay_tmn_code},
        {"vnp_TransactionNo", ipn->transaction_no},
        {"vnp_TransactionStatus", ipn->status},
        {"vnp_TxnRef", ipn->txn_ref},
    };
    signed_query(pairs, (int)(sizeof(pairs) / sizeof(pairs[0])), forge, out);
}

static void ipn_fill(ipn_t *ipn, const txn_t *t, int64_t amount, int64_t transaction_no, const char *pay_date, int paid)
{
    snprintf(ipn->amount, sizeof(ipn->amount), "%lld", (long long)(amount * AMOUNT_SCALE));
    snprintf(ipn->transaction_no, sizeof(ipn->transaction_no), "%lld", (long long)transaction_no);
    if (paid)
        snprintf(ipn->bank_tran_no, sizeof(ipn->bank_tran_no), "VNP%lld", (long long)transaction_no);
    snprintf(ipn->pay_date, sizeof(ipn->pay_date), "%s", pay_date);
    snprintf(ipn->response_code, sizeof(ipn->response_code), "%s", paid ? "00" : "24");
    snprintf(ipn->status, sizeof(ipn->status), "%s", paid ? "00" : "02");
    ipn->txn_ref = bs_strdup(t->txn_ref);
    ipn->order_info = bs_strdup(t->order_info);
    ipn->bank_code = bs_strdup(t->bank_code);
}

static void ipn_free(ipn_t *ipn)
{
    free(ipn->txn_ref);
    free(ipn->order_info);
    free(ipn->bank_code);
}

/* What deciding a transaction produced, to be delivered outside the lock. */
typedef struct {
    ipn_t primary, stale; /* stale: a late failure after an approval (reorder) */
    int has_stale, forge, lose, copies, concurrent;
    char *return_url;
} outcome_t;

/* Records the payer's decision (unless the notice is forged: an impostor's
 * notice changes nothing at the bank) and prepares the notices.  Caller holds
 * bs_state_lock.  Returns NULL or what is wrong. */
static const char *decide_locked(txn_t *t, int approve, outcome_t *o)
{
    bs_chaos_t c = bs_chaos_get();
    o->forge = c.forge;
    o->lose = c.lose_ipn;
    o->copies = c.duplicate;
    o->concurrent = c.concurrent;
    if (t->state != TXN_PENDING) {
        if ((t->state == TXN_PAID) != approve)
            return "this transaction was already decided the other way";
        /* the provider retries its notice: same number, same date */
        ipn_fill(&o->primary, t, t->paid_amount, t->transaction_no, t->pay_date, approve);
    } else {
        int64_t now = bs_now_ms(), no = bs_next_id();
        int64_t amount = t->amount + (approve ? c.amount_delta : 0);
        if (amount < 1)
            amount = 1; /* a negative delta never turns a payment into a debit */
        char pay_date[15];
        bs_format_gmt7(now, "%Y%m%d%H%M%S", pay_date, sizeof(pay_date));
        ipn_fill(&o->primary, t, amount, no, pay_date, approve);
        if (!c.forge) {
            t->state = approve ? TXN_PAID : TXN_FAILED;
            t->paid_amount = amount;
            t->transaction_no = no;
            memcpy(t->pay_date, pay_date, sizeof(pay_date));
            memcpy(t->response_code, o->primary.response_code, 3);
            memcpy(t->status, o->primary.status, 3);
            if (approve) {
                char ref[24], text[600];
                snprintf(ref, sizeof(ref), "%lld", (long long)no);
                snprintf(text, sizeof(text), "VNPAY %s %s", t->txn_ref, t->order_info);
                bs_book(now, amount, ref, t->txn_ref, text, "vnpay", NULL);
            }
        }
    }
    if (approve && c.reorder) {
        /* an earlier attempt that failed, its notice arriving late */
        ipn_fill(&o->stale, t, t->amount, bs_next_id(), o->primary.pay_date, 0);
        o->has_stale = 1;
    }
    return NULL;
}

static void deliver_ipn(const ipn_t *ipn, int copies, const outcome_t *o, bs_buf_t *answers)
{
    bs_buf_t url = BS_BUF_INIT;
    bs_buf_printf(&url, "%s/v1/webhooks/vnpay?", bs_config.feegate_url);
    ipn_query(ipn, o->forge, &url);
    bs_notice_t n = {.kind = "vnpay.ipn", .method = "GET", .url = url.data};
    bs_deliver(&n, copies, o->concurrent, answers);
    bs_buf_free(&url);
}

/* Decides txn_ref, delivers its notices (answers: a JSON array) and builds
 * the return URL.  Returns 0, or an HTTP status with *problem set. */
static int decide(const char *txn_ref, int approve, bs_buf_t *answers, char **return_url, const char **problem)
{
    outcome_t o = {0};
    pthread_mutex_lock(&bs_state_lock);
    txn_t *t = txn_find(txn_ref);
    *problem = t == NULL ? "unknown txn_ref" : decide_locked(t, approve, &o);
    if (*problem == NULL && t->return_url != NULL && t->return_url[0] != '\0')
        o.return_url = bs_strdup(t->return_url);
    pthread_mutex_unlock(&bs_state_lock);
    if (*problem != NULL)
        return t == NULL ? 404 : 409;
    bs_buf_putc(answers, '[');
    if (!o.lose) {
        deliver_ipn(&o.primary, o.copies, &o, answers);
        if (o.has_stale)
            deliver_ipn(&o.stale, 1, &o, answers);
    } else {
        bs_log_add("vnpay.ipn", "out", "GET", txn_ref, NULL, 0, NULL, "lost on purpose (chaos lose_ipn)");
    }
    bs_buf_putc(answers, ']');
    if (o.return_url != NULL) {
        bs_buf_t u = BS_BUF_INIT;
        bs_buf_printf(&u, "%s%c", o.return_url, strchr(o.return_url, '?') != NULL ? '&' : '?');
        ipn_query(&o.primary, o.forge, &u);
        *return_url = bs_buf_take(&u);
        free(o.return_url);
    }
    ipn_free(&o.primary);
    if (o.has_stale)
        ipn_free(&o.stale);
    return 0;
}

static void decide_work(const bs_request_t *req, bs_response_t *res)
{
    bs_params_t f;
    bs_params_parse(&f, req->body, req->body_len);
    const char *txn_ref = bs_params_get(&f, "txn_ref");
    const char *outcome = bs_params_get(&f, "outcome");
    bs_buf_t answers = BS_BUF_INIT;
    char *return_url = NULL;
    const char *problem = "txn_ref and outcome=approve|decline are required";
    int status = 400;
    if (txn_ref != NULL && outcome != NULL && (strcmp(outcome, "approve") == 0 || strcmp(outcome, "decline") == 0))
        status = decide(txn_ref, strcmp(outcome, "approve") == 0, &answers, &return_url, &problem);
    if (status != 0) {
        bs_res_page(res, status, "VNPAY - Loi", problem);
    } else if (return_url != NULL) {
        bs_res_page(res, 302, "VNPAY", "redirecting to the merchant");
        res->location = return_url;
    } else {
        bs_res_page(res, 200, "VNPAY", strcmp(outcome, "approve") == 0 ? "payment approved" : "payment declined");
    }
    bs_buf_free(&answers);
    bs_params_free(&f);
}

void bs_vnpay_decide(const bs_request_t *req, bs_response_t *res) { res->work = decide_work; }

static void control_pay_work(const bs_request_t *req, bs_response_t *res)
{
    yajl_val root = bs_json_parse_object(req->body, req->body_len);
    const char *txn_ref = bs_json_get_str(root, "txn_ref");
    const char *outcome = bs_json_get_str(root, "outcome");
    if (txn_ref == NULL || txn_ref[0] == '\0' || outcome == NULL ||
        (strcmp(outcome, "approve") != 0 && strcmp(outcome, "decline") != 0)) {
        bs_res_error(res, 400, "txn_ref and outcome (approve|decline) are required");
        goto Exit;
    }
    int64_t amount = 0;
    pthread_mutex_lock(&bs_state_lock);
    if (txn_find(txn_ref) == NULL && bs_json_get_int(root, "amount", &amount) == 0 && amount > 0) {
        char create_date[15];
        bs_format_gmt7(bs_now_ms(), "%Y%m%d%H%M%S", create_date, sizeof(create_date));
        const char *info = bs_json_get_str(root, "order_info");
        txn_add(txn_ref, amount, info != NULL ? info : txn_ref, bs_json_get_str(root, "return_url"),
                bs_json_get_str(root, "bank_code"), create_date);
    }
    pthread_mutex_unlock(&bs_state_lock);
    bs_buf_t answers = BS_BUF_INIT;
    char *return_url = NULL;
    const char *problem = NULL;
    int status = decide(txn_ref, strcmp(outcome, "approve") == 0, &answers, &return_url, &problem);
    if (status != 0) {
        bs_res_error(res, status, status == 404 ? "unknown txn_ref: open the pay page first or give amount" : problem);
    } else {
        res->status = 200;
        res->content_type = BS_JSON_TYPE;
        bs_buf_printf(&res->body, "{\"ipn\":%s,\"return_url\":", bs_buf_cstr(&answers));
        bs_json_str(&res->body, return_url);
        bs_buf_putc(&res->body, '}');
    }
    bs_buf_free(&answers);
    free(return_url);
Exit:
    if (root != NULL)
        yajl_tree_free(root);
}

void bs_vnpay_control_pay(const bs_request_t *req, bs_response_t *res) { res->work = control_pay_work; }

/* ---- merchant_webapi: querydr and refund ------------------------------------------ */

/* A string field of the API request ("" when absent; integers as digits). */
static void api_field(yajl_val root, const char *name, char *out, size_t cap)
{
    const char *s = bs_json_get_str(root, name);
    int64_t n;
    if (s != NULL)
        snprintf(out, cap, "%s", s);
    else if (bs_json_get_int(root, name, &n) == 0)
        snprintf(out, cap, "%lld", (long long)n);
    else
        out[0] = '\0';
}

/* Checks the request's '|'-joined hash over names. */
static int api_verified(yajl_val root, const char *const *names, int n)
{
    bs_buf_t raw = BS_BUF_INIT;
    char v[1024], hash[129], got[129];
    for (int i = 0; i < n; i++) {
        api_field(root, names[i], v, sizeof(v));
        if (i > 0)
            bs_buf_putc(&raw, '|');
        bs_buf_puts(&raw, v);
    }
    bs_hmac_sha512_hex(bs_config.vnpay_hash_secret, bs_buf_cstr(&raw), raw.len, hash);
    bs_buf_free(&raw);
    api_field(root, "vnp_SecureHash", got, sizeof(got));
    for (char *c = got; *c != '\0'; c++)
        if (*c >= 'A' && *c <= 'F')
            *c = (char)(*c + 32);
    return bs_equal_ct(got, hash);
}

/* The answer's fields, in the order of its hash. */
enum {
    R_RESPONSE_ID,
    R_COMMAND,
    R_RESPONSE_CODE,
    R_MESSAGE,
    R_TMN_CODE,
    R_TXN_REF,
    R_AMOUNT,
    R_BANK_CODE,
    R_PAY_DATE,
    R_TRANSACTION_NO,
    R_TRANSACTION_TYPE,
    R_TRANSACTION_STATUS,
    R_ORDER_INFO,
    R_PROMOTION_CODE,
    R_PROMOTION_AMOUNT,
    R_FIELDS
};
static const char *const answer_names[R_FIELDS] = {"vnp_ResponseId",    "vnp_Command",         "vnp_ResponseCode",
                                                   "vnp_Message",       "vnp_TmnCode",         "vnp_TxnRef",
                                                   "vnp_Amount",        "vnp_BankCode",        "vnp_PayDate",
                                                   "vnp_TransactionNo", "vnp_TransactionType", "vnp_TransactionStatus",
                                                   "vnp_OrderInfo",     "vnp_PromotionCode",   "vnp_PromotionAmount"};

typedef struct {
    char v[R_FIELDS][600];
} answer_t;

static void answer_send(bs_response_t *res, answer_t *a, int is_querydr)
{
    /* querydr hashes all 15 fields; refund the first 12 and vnp_OrderInfo */
    static const int refund_order[] = {R_RESPONSE_ID, R_COMMAND,        R_RESPONSE_CODE,    R_MESSAGE,
                                       R_TMN_CODE,    R_TXN_REF,        R_AMOUNT,           R_BANK_CODE,
                                       R_PAY_DATE,    R_TRANSACTION_NO, R_TRANSACTION_TYPE, R_TRANSACTION_STATUS,
                                       R_ORDER_INFO};
    int count = is_querydr ? R_FIELDS : (int)(sizeof(refund_order) / sizeof(int));
    bs_buf_t raw = BS_BUF_INIT;
    for (int i = 0; i < count; i++) {
        if (i > 0)
            bs_buf_putc(&raw, '|');
        bs_buf_puts(&raw, a->v[is_querydr ? i : refund_order[i]]);
    }
    char hash[129];
    bs_hmac_sha512_hex(bs_config.vnpay_hash_secret, bs_buf_cstr(&raw), raw.len, hash);
    bs_buf_free(&raw);
    res->status = 200;
    res->content_type = BS_JSON_TYPE;
    bs_buf_putc(&res->body, '{');
    for (int i = 0; i < count; i++) {
        int f = is_querydr ? i : refund_order[i];
        bs_json_str(&res->body, answer_names[f]);
        bs_buf_putc(&res->body, ':');
        bs_json_str(&res->body, a->v[f]);
        bs_buf_putc(&res->body, ',');
    }
    bs_buf_printf(&res->body, "\"vnp_SecureHash\":\"%s\"}", hash);
}

static void answer_code(answer_t *a, const char *code, const char *message)
{
    snprintf(a->v[R_RESPONSE_CODE], sizeof(a->v[0]), "%s", code);
    snprintf(a->v[R_MESSAGE], sizeof(a->v[0]), "%s", message);
}

static void answer_txn(answer_t *a, const txn_t *t, int64_t amount, int64_t transaction_no, const char *type)
{
    snprintf(a->v[R_TXN_REF], sizeof(a->v[0]), "%s", t->txn_ref);
    snprintf(a->v[R_AMOUNT], sizeof(a->v[0]), "%lld", (long long)(amount * AMOUNT_SCALE));
    snprintf(a->v[R_BANK_CODE], sizeof(a->v[0]), "%s", t->bank_code);
    snprintf(a->v[R_PAY_DATE], sizeof(a->v[0]), "%s", t->pay_date);
    if (transaction_no != 0)
        snprintf(a->v[R_TRANSACTION_NO], sizeof(a->v[0]), "%lld", (long long)transaction_no);
    snprintf(a->v[R_TRANSACTION_TYPE], sizeof(a->v[0]), "%s", type);
    snprintf(a->v[R_ORDER_INFO], sizeof(a->v[0]), "%s", t->order_info);
}

/* 1 when request_id was seen before (caller holds bs_state_lock). */
static int request_id_seen(const char *request_id)
{
    for (size_t i = 0; i < request_id_count; i++)
        if (strcmp(request_ids[i], request_id) == 0)
            return 1;
    if (request_id_count == REQUEST_IDS_MAX)
        return 0; /* beyond the bound duplicates go unnoticed */
    if ((request_id_count & (request_id_count - 1)) == 0) {
        char **p = realloc(request_ids, (request_id_count != 0 ? request_id_count * 2 : 1) * sizeof(*request_ids));
        if (p == NULL)
            abort();
        request_ids = p;
    }
    request_ids[request_id_count++] = bs_strdup(request_id);
    return 0;
}

/* querydr naming a refund by its vnp_RequestId (member vnp_RefundRequestId,
 * outside the request's hash): the refund as a transaction of type 02/03,
 * or 91 when no refund was made under that id. */
static void refund_querydr_locked(const char *txn_ref, const char *refund_request, answer_t *a)
{
    const txn_t *t = txn_find(txn_ref);
    const vnpay_refund_t *r = NULL;
    for (size_t i = 0; i < vrefund_count && t != NULL; i++)
        if (strcmp(vrefunds[i].request_id, refund_request) == 0 && strcmp(vrefunds[i].txn_ref, txn_ref) == 0)
            r = &vrefunds[i];
    if (r == NULL) {
        snprintf(a->v[R_TXN_REF], sizeof(a->v[0]), "%s", txn_ref);
        answer_code(a, "91", "Khong tim thay giao dich hoan tien");
        return;
    }
    answer_code(a, "00", "QueryDR Success");
    answer_txn(a, t, r->amount, r->transaction_no, r->type);
    snprintf(a->v[R_PAY_DATE], sizeof(a->v[0]), "%s", r->pay_date);
    snprintf(a->v[R_TRANSACTION_STATUS], sizeof(a->v[0]), "00");
}

static void querydr_locked(yajl_val root, answer_t *a)
{
    char txn_ref[256], refund_request[256];
    api_field(root, "vnp_TxnRef", txn_ref, sizeof(txn_ref));
    api_field(root, "vnp_RefundRequestId", refund_request, sizeof(refund_request));
    if (refund_request[0] != '\0') {
        refund_querydr_locked(txn_ref, refund_request, a);
        return;
    }
    const txn_t *t = txn_find(txn_ref);
    if (t == NULL) {
        snprintf(a->v[R_TXN_REF], sizeof(a->v[0]), "%s", txn_ref);
        answer_code(a, "91", "Khong tim thay giao dich yeu cau");
        return;
    }
    answer_code(a, "00", "QueryDR Success");
    answer_txn(a, t, t->state == TXN_PENDING ? t->amount : t->paid_amount, t->transaction_no, "01");
    snprintf(a->v[R_TRANSACTION_STATUS], sizeof(a->v[0]), "%s", t->state == TXN_PENDING ? "01" : t->status);
}

static void refund_locked(yajl_val root, answer_t *a)
{
    char txn_ref[256], type[8], amount_s[32], by[256];
    api_field(root, "vnp_TxnRef", txn_ref, sizeof(txn_ref));
    api_field(root, "vnp_TransactionType", type, sizeof(type));
    api_field(root, "vnp_Amount", amount_s, sizeof(amount_s));
    api_field(root, "vnp_CreateBy", by, sizeof(by));
    snprintf(a->v[R_TXN_REF], sizeof(a->v[0]), "%s", txn_ref);
    snprintf(a->v[R_TRANSACTION_TYPE], sizeof(a->v[0]), "%s", type);
    txn_t *t = txn_find(txn_ref);
    int64_t amount = 0;
    if (t == NULL) {
        answer_code(a, "91", "Khong tim thay giao dich yeu cau hoan tien");
        return;
    }
    if (t->state != TXN_PAID) {
        answer_code(a, "95", "Giao dich goc khong thanh cong, khong the hoan tien");
        return;
    }
    int64_t refundable = t->paid_amount - t->refunded;
    if ((strcmp(type, "02") != 0 && strcmp(type, "03") != 0) || parse_amount(amount_s, &amount) != 0 || amount <= 0 ||
        amount % AMOUNT_SCALE != 0 || amount / AMOUNT_SCALE > refundable ||
        (strcmp(type, "02") == 0 && amount / AMOUNT_SCALE != refundable)) {
        answer_code(a, "99", "So tien hoan khong hop le");
        return;
    }
    amount /= AMOUNT_SCALE;
    int64_t now = bs_now_ms(), no = bs_next_id();
    t->refunded += amount;
    char ref[24], text[700];
    snprintf(ref, sizeof(ref), "%lld", (long long)no);
    snprintf(text, sizeof(text), "VNPAY HOAN TIEN %s %s", t->txn_ref, t->order_info);
    bs_book(now, -amount, ref, t->txn_ref, text, "vnpay.refund", NULL);
    answer_code(a, "00", "Refund success");
    answer_txn(a, t, amount, no, type);
    bs_format_gmt7(now, "%Y%m%d%H%M%S", a->v[R_PAY_DATE], sizeof(a->v[0]));
    snprintf(a->v[R_TRANSACTION_STATUS], sizeof(a->v[0]), "00");
    if (vrefund_count == vrefund_cap) {
        vrefund_cap = vrefund_cap != 0 ? vrefund_cap * 2 : 16;
        vnpay_refund_t *p = realloc(vrefunds, vrefund_cap * sizeof(*vrefunds));
        if (p == NULL)
            abort();
        vrefunds = p;
    }
    char request_id[256];
    api_field(root, "vnp_RequestId", request_id, sizeof(request_id));
    vnpay_refund_t *r = &vrefunds[vrefund_count++];
    *r = (vnpay_refund_t){.request_id = bs_strdup(request_id),
                          .txn_ref = bs_strdup(t->txn_ref),
                          .amount = amount,
                          .transaction_no = no};
    memcpy(r->type, type, 2);                  /* "02" or "03", checked above */
    memcpy(r->pay_date, a->v[R_PAY_DATE], 14); /* yyyyMMddHHmmss */
}

static const char *const querydr_names[] = {"vnp_RequestId",  "vnp_Version", "vnp_Command",
                                            "vnp_TmnCode",    "vnp_TxnRef",  "vnp_TransactionDate",
                                            "vnp_CreateDate", "vnp_IpAddr",  "vnp_OrderInfo"};
static const char *const refund_names[] = {"vnp_RequestId",       "vnp_Version",  "vnp_Command",    "vnp_TmnCode",
                                           "vnp_TransactionType", "vnp_TxnRef",   "vnp_Amount",     "vnp_TransactionNo",
                                           "vnp_TransactionDate", "vnp_CreateBy", "vnp_CreateDate", "vnp_IpAddr",
                                           "vnp_OrderInfo"};

static void api_answer(yajl_val root, answer_t *a, int *is_querydr)
{
    char command[32], request_id[256], tmn[64];
    api_field(root, "vnp_Command", command, sizeof(command));
    api_field(root, "vnp_RequestId", request_id, sizeof(request_id));
    api_field(root, "vnp_TmnCode", tmn, sizeof(tmn));
    *is_querydr = strcmp(command, "refund") != 0;
    snprintf(a->v[R_RESPONSE_ID], sizeof(a->v[0]), "%lld", (long long)bs_next_id());
    snprintf(a->v[R_COMMAND], sizeof(a->v[0]), "%s", command);
    snprintf(a->v[R_TMN_CODE], sizeof(a->v[0]), "%s", bs_config.vnpay_tmn_code);
    if (root == NULL) {
        answer_code(a, "99", "the body must be a JSON object");
    } else if (strcmp(command, "querydr") != 0 && strcmp(command, "refund") != 0) {
        answer_code(a, "99", "vnp_Command must be querydr or refund");
    } else if (!(*is_querydr ? api_verified(root, querydr_names, 9) : api_verified(root, refund_names, 13))) {
        answer_code(a, "97", "Invalid Checksum");
    } else if (strcmp(tmn, bs_config.vnpay_tmn_code) != 0) {
        answer_code(a, "99", "unknown vnp_TmnCode");
    } else if (request_id[0] == '\0') {
        answer_code(a, "99", "vnp_RequestId is required");
    } else {
        pthread_mutex_lock(&bs_state_lock);
        if (request_id_seen(request_id))
            answer_code(a, "94", "Yeu cau bi trung lap (vnp_RequestId)");
        else if (*is_querydr)
            querydr_locked(root, a);
        else
            refund_locked(root, a);
        pthread_mutex_unlock(&bs_state_lock);
    }
}

void bs_vnpay_api(const bs_request_t *req, bs_response_t *res)
{
    if (bs_chaos_api(res)) {
        bs_log_add("vnpay.api", "in", "POST", req->path, req->body, 500, NULL, "simulated failure (chaos fail_api)");
        return;
    }
    yajl_val root = bs_json_parse_object(req->body, req->body_len);
    answer_t *a = bs_calloc(1, sizeof(*a));
    int is_querydr = 1;
    api_answer(root, a, &is_querydr);
    answer_send(res, a, is_querydr);
    bs_chaos_lose_answer(res);
    bs_log_add(is_querydr ? "vnpay.querydr" : "vnpay.refund", "in", "POST", req->path, req->body, res->status,
               bs_buf_cstr(&res->body), a->v[R_RESPONSE_CODE]);
    free(a);
    if (root != NULL)
        yajl_tree_free(root);
}
