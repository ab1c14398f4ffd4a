/*
 * fault.c - the fault suites' writing client and its checks (fault.h).
 */
#define _GNU_SOURCE /* asprintf */
#include "fault.h"

#include <mysql.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#include "core/crypto.h"
#include "core/text.h"

const char *const flt_op_names[FLT_OPS] = {"order",        "batch",        "sandbox payment", "VNPay payment",
                                           "MoMo payment", "SePay/VietQR", "refund",          "statement import"};
const char *const flt_wkind_names[FLT_WS] = {"order", "batch", "payment", "notice", "refund", "statement"};

/* How long one write is sent again before the worker gives it up: longer
 * than a restart of the server or of MariaDB takes. */
#define WRITE_DEADLINE_MS 60000
/* The pause between two sends of an unanswered write. */
#define RESEND_PAUSE_MS 60
/* One in this many writes whose first send went unanswered is given up. */
#define GIVE_UP_ONE_IN 4
/* Orders in one batch. */
#define BATCH_ORDERS 4
/* Settled payments a worker keeps for refunds. */
#define REFUNDABLE_MAX 64
/* A refund's amount: MoMo's smallest refund is 1,000 VND. */
#define REFUND_AMOUNT 10000
/* Acknowledged writes sent again after each restart: the newest ones (the
 * newest of every kind as well), so that a check takes a fraction of a
 * kill's interval. */
#define REPLAYS_PER_CHECK 40
/* A worker's pause between steps (at most): load, not a benchmark; the
 * record and the shared test database stay small. */
#define STEP_PAUSE_MS 25

long long flt_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

unsigned flt_seed(const char *suite)
{
    const char *given = getenv("FAULT_SEED");
    unsigned seed = given != NULL && given[0] != '\0' ? (unsigned)strtoul(given, NULL, 10)
                                                      : (unsigned)time(NULL) ^ ((unsigned)getpid() << 16);
    printf("%s: FAULT_SEED=%u (set it to repeat this run's kill moments and steps)\n", suite, seed);
    fflush(stdout);
    return seed;
}

void flt_providers_setenv(void)
{
    static const char *const SETTINGS[][2] = {
        {"FEEGATE_VNPAY_TMN_CODE", "FAULTTMN"},
        {"FEEGATE_VNPAY_HASH_SECRET", "FAULTSECRETKEY0123456789ABCDEFGH"},
        {"FEEGATE_MOMO_PARTNER_CODE", "MOMO"},
        {"FEEGATE_MOMO_ACCESS_KEY", "F8BBA842ECF85"},
        {"FEEGATE_MOMO_SECRET_KEY", "K951B6PE1waDMi640xX08PD3vg6EkVlz"},
        {"FEEGATE_SEPAY_API_KEY", FLT_SEPAY_KEY},
        {"FEEGATE_VIETQR_BANK_BIN", "970415"},
        {"FEEGATE_VIETQR_ACCOUNT_NO", "0011001932418"},
    };
    for (size_t i = 0; i < sizeof(SETTINGS) / sizeof(SETTINGS[0]); i++)
        setenv(SETTINGS[i][0], SETTINGS[i][1], 1);
}

void flt_env_init(flt_env_t *env, unsigned seed)
{
    memset(env, 0, sizeof(*env));
    pthread_mutex_init(&env->lock, NULL);
    env->writes = calloc(FLT_WRITES_MAX, sizeof(*env->writes));
    ck_assert_ptr_nonnull(env->writes);
    env->seed = seed;
}

void flt_env_free(flt_env_t *env)
{
    for (size_t i = 0; i < env->count; i++) {
        free(env->writes[i].body);
        free(env->writes[i].answer);
    }
    free(env->writes);
    pthread_mutex_destroy(&env->lock);
}

void flt_problem(flt_env_t *env, const char *fmt, ...)
{
    char text[FLT_TEXT_CAP];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    long n = atomic_fetch_add(&env->problems, 1);
    fprintf(stderr, "fault: PROBLEM %s\n", text);
    if (n < FLT_PROBLEMS_KEPT) {
        pthread_mutex_lock(&env->lock);
        snprintf(env->problem_text[n], FLT_TEXT_CAP, "%s", text);
        pthread_mutex_unlock(&env->lock);
    }
}

int flt_wait_in_flight(flt_env_t *env, flt_op_t op, long wait_ms)
{
    long long deadline = flt_now_ms() + wait_ms;
    while (atomic_load(&env->in_flight[op]) == 0) {
        if (flt_now_ms() > deadline)
            return 0;
        fgt_sleep_ms(1);
    }
    return 1;
}

/* ---- a worker ------------------------------------------------------------------------ */

typedef struct {
    flt_env_t *env;
    int index;
    unsigned rng;
    unsigned counter;
    flt_op_t op; /* the step running */
    struct {
        char id[48];
        long long left;
    } refundable[REFUNDABLE_MAX];
    int refundable_count;
} worker_t;

static unsigned next_random(worker_t *w) { return (unsigned)rand_r(&w->rng); }

/* A name unique across runs and workers: prefix, pid, worker, counter. */
static void unique(worker_t *w, const char *prefix, char *out, size_t cap)
{
    snprintf(out, cap, "%s%x%x%u-%u", prefix, (unsigned)getpid(), (unsigned)time(NULL) & 0xffffff, w->index,
             w->counter++);
}

static flt_write_t *record(flt_env_t *env, const flt_write_t *w)
{
    flt_write_t *slot = NULL;
    pthread_mutex_lock(&env->lock);
    if (env->count < FLT_WRITES_MAX) {
        slot = &env->writes[env->count];
        *slot = *w;
        env->count++;
    }
    pthread_mutex_unlock(&env->lock);
    if (slot == NULL)
        flt_problem(env, "more than %d writes: the record is full", FLT_WRITES_MAX);
    return slot;
}

static int is_outage(const fgt_response_t *r) { return r->status == 0 || r->status == 503; }

/* Whether the answer says it is a replay (Idempotent-Replayed: true); the
 * harness's fgt_header keeps its value in one static buffer, which threads
 * cannot share. */
static int is_replay(const fgt_response_t *r)
{
    static const char NAME[] = "idempotent-replayed:";
    for (const char *p = r->headers; p != NULL && *p != '\0';) {
        size_t len = strcspn(p, "\n");
        if (strncasecmp(p, NAME, sizeof(NAME) - 1) == 0) {
            const char *v = p + sizeof(NAME) - 1;
            v += strspn(v, " \t");
            return strncmp(v, "true", 4) == 0 && (v[4] == '\r' || v[4] == '\n' || v[4] == '\0');
        }
        p += len + (p[len] == '\n');
    }
    return 0;
}

/* One send of a write, counted as in flight for op. */
static fgt_response_t send_once(worker_t *w, const char *method, const char *path, const char *const *headers,
                                const char *body)
{
    flt_env_t *env = w->env;
    fgt_proto_t proto = next_random(w) % 2 ? FGT_HTTP1 : FGT_H2C;
    atomic_fetch_add(&env->in_flight[w->op], 1);
    fgt_response_t r = fgt_request(&env->srv, proto, method, path, headers, body, 0);
    atomic_fetch_sub(&env->in_flight[w->op], 1);
    if (is_outage(&r))
        atomic_fetch_add(&env->outages, 1);
    if (r.status == 503)
        atomic_fetch_add(&env->answers_503, 1);
    return r;
}

/* Whether to give up a write after its first unanswered send. */
static int give_up(worker_t *w, int outages, long long deadline)
{
    if (atomic_load(&w->env->stop) || flt_now_ms() > deadline)
        return 1;
    return outages == 1 && next_random(w) % GIVE_UP_ONE_IN == 0;
}

/* Sends a write until it is answered: 1 with *out, or 0 when given up (its
 * outcome unknown).  A 5xx other than 503 is a problem, and so is any 4xx
 * unless an earlier send went unanswered and it is the key's lease (409
 * idempotency_key_in_progress: the server died during a provider call). */
static int send_write(worker_t *w, const char *method, const char *path, const char *const *headers, const char *body,
                      fgt_response_t *out)
{
    flt_env_t *env = w->env;
    long long deadline = flt_now_ms() + WRITE_DEADLINE_MS;
    for (int outages = 0;;) {
        fgt_response_t r = send_once(w, method, path, headers, body);
        if (is_outage(&r)) {
            fgt_response_free(&r);
            if (give_up(w, ++outages, deadline)) {
                atomic_fetch_add(&env->given_up, 1);
                return 0;
            }
            fgt_sleep_ms(RESEND_PAUSE_MS);
            continue;
        }
        const char *code = fgt_json_str(&r, "error", "code", NULL);
        if (r.status == 409 && outages > 0 && code != NULL && strcmp(code, "idempotency_key_in_progress") == 0) {
            atomic_fetch_add(&env->stuck_keys, 1);
            atomic_fetch_add(&env->given_up, 1);
            fgt_response_free(&r);
            return 0;
        }
        if (r.status >= 300) {
            flt_problem(env, "%s %s answered %ld after %d unanswered sends: %.200s", method, path, r.status, outages,
                        r.body);
            fgt_response_free(&r);
            return 0;
        }
        if (outages > 0 && is_replay(&r))
            atomic_fetch_add(&env->replayed_after_outage, 1);
        *out = r;
        return 1;
    }
}

/* The API's headers: the merchant's key and an Idempotency-Key. */
typedef struct {
    char auth[160], idem[140];
    const char *list[3];
} headers_t;

static const char *const *api_headers(headers_t *h, const char *bearer, const char *idem)
{
    snprintf(h->auth, sizeof(h->auth), "Authorization: Bearer %s", bearer);
    snprintf(h->idem, sizeof(h->idem), "Idempotency-Key: %s", idem);
    h->list[0] = h->auth;
    h->list[1] = idem != NULL && idem[0] != '\0' ? h->idem : NULL;
    h->list[2] = NULL;
    return h->list;
}

/* Records an idempotent write: acknowledged with the answer's id, or given up. */
static flt_write_t *record_write(worker_t *w, flt_wkind_t kind, const char *ref, const char *parent, const char *idem,
                                 const char *path, const char *body, const fgt_response_t *r, const char *id)
{
    flt_write_t x;
    memset(&x, 0, sizeof(x));
    x.kind = kind;
    x.op = w->op;
    x.acked = r != NULL && id != NULL;
    snprintf(x.ref, sizeof(x.ref), "%s", ref != NULL ? ref : "");
    snprintf(x.parent, sizeof(x.parent), "%s", parent != NULL ? parent : "");
    snprintf(x.idem, sizeof(x.idem), "%s", idem != NULL ? idem : "");
    snprintf(x.path, sizeof(x.path), "%s", path);
    snprintf(x.id, sizeof(x.id), "%s", x.acked ? id : "");
    x.body = strdup(body);
    if (x.acked) {
        x.answer = strdup(r->body);
        x.answer_status = r->status;
    }
    return record(w->env, &x);
}

/* POST /v1/orders; its merchant_ref in ref (64 bytes), the order's id and
 * code (when answered) in id and code. */
static int create_order(worker_t *w, long long amount, char *ref, char *id, char *code)
{
    char idem[96];
    unique(w, "FO", ref, 64);
    unique(w, "fk-o", idem, sizeof(idem));
    char *body = fgt_order_body(ref, amount, NULL);
    headers_t h;
    fgt_response_t r;
    int answered = send_write(w, "POST", "/v1/orders", api_headers(&h, w->env->key, idem), body, &r);
    const char *got = answered ? fgt_json_str(&r, "id", NULL) : NULL;
    if (answered && (r.status != 201 || got == NULL)) {
        flt_problem(w->env, "POST /v1/orders answered %ld without an id: %.200s", r.status, r.body);
        got = NULL;
    }
    record_write(w, FLT_W_ORDER, ref, NULL, idem, "/v1/orders", body, answered ? &r : NULL, got);
    if (got != NULL) {
        snprintf(id, 48, "%s", got);
        if (code != NULL)
            snprintf(code, 24, "%s", fgt_json_str(&r, "code", NULL) != NULL ? fgt_json_str(&r, "code", NULL) : "");
    }
    free(body);
    if (answered)
        fgt_response_free(&r);
    return got != NULL;
}

static void op_order(worker_t *w)
{
    char ref[64], id[48];
    (void)create_order(w, 10000 + (long long)(next_random(w) % 90) * 1000, ref, id, NULL);
}

static void op_batch(worker_t *w)
{
    char refs[BATCH_ORDERS][64], idem[96], batch_ref[64];
    char body[BATCH_ORDERS * 160 + 32];
    size_t n = (size_t)snprintf(body, sizeof(body), "{\"orders\":[");
    for (int i = 0; i < BATCH_ORDERS; i++) {
        unique(w, "FB", refs[i], sizeof(refs[i]));
        n += (size_t)snprintf(body + n, sizeof(body) - n,
                              "%s{\"merchant_ref\":\"%s\",\"fee_type\":\"utility\",\"amount\":%d,\"currency\":\"VND\"}",
                              i > 0 ? "," : "", refs[i], 20000 + i * 1000);
    }
    snprintf(body + n, sizeof(body) - n, "]}");
    unique(w, "fk-b", idem, sizeof(idem));
    headers_t h;
    fgt_response_t r;
    int answered = send_write(w, "POST", "/v1/orders/batch", api_headers(&h, w->env->key, idem), body, &r);
    yajl_val data = answered ? fgt_val_at(r.json, "data", NULL) : NULL;
    int ok = answered && r.status == 200 && data != NULL && YAJL_IS_ARRAY(data) && data->u.array.len == BATCH_ORDERS;
    if (answered && !ok)
        flt_problem(w->env, "POST /v1/orders/batch answered %ld: %.200s", r.status, r.body);
    const char *ids[BATCH_ORDERS] = {NULL};
    for (int i = 0; ok && i < BATCH_ORDERS; i++) {
        ids[i] = fgt_val_str(data->u.array.values[i], "id", NULL);
        const char *ref = fgt_val_str(data->u.array.values[i], "merchant_ref", NULL);
        if (ids[i] == NULL || ref == NULL || strcmp(ref, refs[i]) != 0) {
            flt_problem(w->env, "batch item %d is not order %s: %.200s", i, refs[i], r.body);
            ok = 0;
        }
    }
    snprintf(batch_ref, sizeof(batch_ref), "%s", refs[0]);
    record_write(w, FLT_W_BATCH, batch_ref, NULL, idem, "/v1/orders/batch", body, ok ? &r : NULL, ok ? ids[0] : NULL);
    for (int i = 0; i < BATCH_ORDERS; i++) {
        flt_write_t *x = record_write(w, FLT_W_ORDER, refs[i], NULL, "", "/v1/orders/batch", "", ok ? &r : NULL,
                                      ok ? ids[i] : NULL);
        if (x != NULL)
            x->in_batch = 1;
    }
    if (answered)
        fgt_response_free(&r);
}

static const char *method_of(flt_op_t op)
{
    switch (op) {
    case FLT_OP_VNPAY: return "vnpay";
    case FLT_OP_MOMO: return "momo";
    case FLT_OP_VIETQR: return "vietqr";
    default: return "sandbox";
    }
}

/* POST /v1/orders/{order}/payments; the payment's id and redirect_url. */
static int create_payment(worker_t *w, const char *order, const char *order_ref, char *id, char *redirect)
{
    char path[160], body[64], idem[96];
    snprintf(path, sizeof(path), "/v1/orders/%s/payments", order);
    snprintf(body, sizeof(body), "{\"method\":\"%s\"}", method_of(w->op));
    unique(w, "fk-p", idem, sizeof(idem));
    headers_t h;
    fgt_response_t r;
    int answered = send_write(w, "POST", path, api_headers(&h, w->env->key, idem), body, &r);
    const char *got = answered ? fgt_json_str(&r, "id", NULL) : NULL;
    if (answered && (r.status != 201 || got == NULL)) {
        flt_problem(w->env, "POST %s answered %ld: %.200s", path, r.status, r.body);
        got = NULL;
    }
    record_write(w, FLT_W_PAYMENT, order_ref, order, idem, path, body, answered ? &r : NULL, got);
    if (got != NULL) {
        snprintf(id, 48, "%s", got);
        const char *url = fgt_json_str(&r, "redirect_url", NULL);
        snprintf(redirect, 1024, "%s", url != NULL ? url : "");
    }
    if (answered)
        fgt_response_free(&r);
    return got != NULL;
}

/* The sandbox's signed notification of a payment's success. */
static void sandbox_signature(const flt_env_t *env, const char *body, char *header, size_t cap)
{
    long long t = (long long)time(NULL);
    char msg[600], hex[2 * FG_SHA256_LEN + 1];
    uint8_t mac[FG_SHA256_LEN];
    snprintf(msg, sizeof(msg), "%lld.%s", t, body);
    fg_hmac_sha256(env->sandbox_secret, strlen(env->sandbox_secret), msg, strlen(msg), mac);
    fg_hex_encode(mac, sizeof(mac), hex);
    snprintf(header, cap, "X-Signature: t=%lld,v1=%s", t, hex);
}

/* One delivery of a payment's notice, as its provider makes it: 1 when
 * feegate acknowledged it as its provider requires, 0 when the provider
 * would send it again.  *body gets the notice when it is known (SePay's is
 * built by the bank, then sent again as it was). */
static int deliver_notice(worker_t *w, const char *payment, long long amount, const char *code, char **body)
{
    flt_env_t *env = w->env;
    char json[600], url[256];
    int acked = 0;
    if (w->op == FLT_OP_SANDBOX || (w->op == FLT_OP_VIETQR && *body != NULL)) {
        char header[160];
        const char *headers[] = {header, "Content-Type: application/json", NULL};
        if (w->op == FLT_OP_SANDBOX)
            sandbox_signature(env, *body, header, sizeof(header));
        else
            snprintf(header, sizeof(header), "Authorization: Apikey %s", env->sepay_key);
        fgt_response_t r = send_once(w, "POST", w->op == FLT_OP_SANDBOX ? "/v1/webhooks/sandbox" : "/v1/webhooks/sepay",
                                     headers, *body);
        acked = r.status == 200 && (w->op == FLT_OP_SANDBOX || strcmp(r.body, "{\"success\":true}") == 0);
        if (!acked && !is_outage(&r))
            flt_problem(env, "the %s notice of %s answered %ld: %.200s", method_of(w->op), payment, r.status, r.body);
        fgt_response_free(&r);
        return acked;
    }
    /* the bank simulator decides and delivers its notice to feegate */
    if (w->op == FLT_OP_VNPAY) {
        snprintf(url, sizeof(url), "%s/control/vnpay/pay", env->bank->url);
        snprintf(json, sizeof(json), "{\"txn_ref\":\"%s\",\"outcome\":\"approve\"}", payment);
    } else if (w->op == FLT_OP_MOMO) {
        snprintf(url, sizeof(url), "%s/control/momo/pay", env->bank->url);
        snprintf(json, sizeof(json), "{\"order_id\":\"%s\",\"outcome\":\"approve\"}", payment);
    } else {
        snprintf(url, sizeof(url), "%s/control/sepay/transfer", env->bank->url);
        snprintf(json, sizeof(json), "{\"amount\":%lld,\"content\":\"HP %s\",\"transfer_type\":\"in\"}", amount, code);
    }
    atomic_fetch_add(&env->in_flight[w->op], 1);
    fgt_response_t r = fgt_http("POST", url, json);
    atomic_fetch_sub(&env->in_flight[w->op], 1);
    yajl_val list = fgt_val_at(r.json, w->op == FLT_OP_VIETQR ? "responses" : "ipn", NULL);
    yajl_val first = list != NULL && YAJL_IS_ARRAY(list) && list->u.array.len > 0 ? list->u.array.values[0] : NULL;
    yajl_val st = fgt_val_at(first, "status", NULL);
    long status = st != NULL && YAJL_IS_INTEGER(st) ? (long)YAJL_GET_INTEGER(st) : -1;
    const char *answer = fgt_val_str(first, "body", NULL);
    if (r.status != 200 || status < 0) {
        flt_problem(env, "the bank simulator's %s answered %ld: %.200s", url, r.status, r.body);
    } else if (w->op == FLT_OP_VNPAY) {
        acked = status == 200 && answer != NULL &&
                (strstr(answer, "\"RspCode\":\"00\"") != NULL || strstr(answer, "\"RspCode\":\"02\"") != NULL);
    } else if (w->op == FLT_OP_MOMO) {
        acked = status == 204;
    } else {
        acked = status == 200 && answer != NULL && strcmp(answer, "{\"success\":true}") == 0;
        /* SePay sends the same transfer again until it is acknowledged: the
         * control answer holds the notice as it was sent */
        const char *raw = strstr(r.body, "\"webhook\":");
        const char *end = raw != NULL ? strstr(raw, ",\"responses\":") : NULL;
        if (raw != NULL && end != NULL && *body == NULL)
            *body = strndup(raw + 10, (size_t)(end - raw - 10));
    }
    /* no answer, 503, or VNPay's 99 (feegate could not record it): VNPay sends it again */
    int outage = status == 0 || status == 503 ||
                 (w->op == FLT_OP_VNPAY && status == 200 && answer != NULL && strstr(answer, "\"RspCode\":\"99\""));
    if (outage)
        atomic_fetch_add(&env->outages, 1);
    else if (status >= 0 && !acked)
        flt_problem(env, "feegate answered the %s notice of %s with %ld: %.200s", method_of(w->op), payment, status,
                    answer != NULL ? answer : "");
    fgt_response_free(&r);
    return acked;
}

/* A payment through the worker's adapter: its order, the payment, the
 * provider's notice until acknowledged (or given up). */
static void op_payment(worker_t *w)
{
    flt_env_t *env = w->env;
    char order[48], code[24] = "", payment[48], redirect[1024];
    long long amount = 50000 + (long long)(next_random(w) % 50) * 1000;
    char order_ref[64];
    if (!create_order(w, amount, order_ref, order, code))
        return;
    if (!create_payment(w, order, order_ref, payment, redirect))
        return;
    if (w->op == FLT_OP_VNPAY) { /* the payer opens VNPay's page: the bank then knows the payment */
        fgt_response_t page = fgt_http("GET", redirect, NULL);
        if (page.status != 200)
            flt_problem(env, "VNPay's pay page %s answered %ld", redirect, page.status);
        fgt_response_free(&page);
    }
    char *body = NULL;
    if (w->op == FLT_OP_SANDBOX) {
        char txn[64];
        unique(w, "txn", txn, sizeof(txn));
        if (asprintf(&body,
                     "{\"payment_id\":\"%s\",\"provider_txn_id\":\"%s\",\"status\":\"succeeded\",\"amount\":%lld}",
                     payment, txn, amount) < 0)
            abort();
    }
    long long deadline = flt_now_ms() + WRITE_DEADLINE_MS;
    int acked = 0;
    for (int outages = 0; !acked;) {
        acked = deliver_notice(w, payment, amount, code, &body);
        if (acked || give_up(w, ++outages, deadline))
            break;
        fgt_sleep_ms(RESEND_PAUSE_MS);
    }
    if (!acked)
        atomic_fetch_add(&env->given_up, 1);
    flt_write_t x;
    memset(&x, 0, sizeof(x));
    x.kind = FLT_W_NOTICE;
    x.op = w->op;
    x.acked = acked;
    x.amount = amount;
    snprintf(x.ref, sizeof(x.ref), "%s", code);
    snprintf(x.parent, sizeof(x.parent), "%s", payment);
    snprintf(x.id, sizeof(x.id), "%s", acked ? payment : "");
    x.body = body != NULL ? body : strdup("");
    record(env, &x);
    if (acked && w->op != FLT_OP_VIETQR && w->refundable_count < REFUNDABLE_MAX) {
        snprintf(w->refundable[w->refundable_count].id, 48, "%s", payment);
        w->refundable[w->refundable_count++].left = amount;
    }
}

static void op_refund(worker_t *w)
{
    if (w->refundable_count == 0) {
        w->op = FLT_OP_ORDER;
        op_order(w);
        return;
    }
    int i = (int)(next_random(w) % (unsigned)w->refundable_count);
    char path[160], idem[96], body[96], payment[48];
    snprintf(payment, sizeof(payment), "%s", w->refundable[i].id);
    snprintf(path, sizeof(path), "/v1/payments/%s/refunds", payment);
    snprintf(body, sizeof(body), "{\"amount\":%d,\"reason\":\"fault suite\"}", REFUND_AMOUNT);
    unique(w, "fk-r", idem, sizeof(idem));
    /* given up or not, the refund may have been made: never ask for more than is left */
    w->refundable[i].left -= REFUND_AMOUNT;
    if (w->refundable[i].left < REFUND_AMOUNT)
        w->refundable[i] = w->refundable[--w->refundable_count];
    headers_t h;
    fgt_response_t r;
    int answered = send_write(w, "POST", path, api_headers(&h, w->env->key, idem), body, &r);
    const char *got = answered ? fgt_json_str(&r, "id", NULL) : NULL;
    if (answered && ((r.status != 201 && r.status != 202) || got == NULL)) {
        flt_problem(w->env, "POST %s answered %ld: %.200s", path, r.status, r.body);
        got = NULL;
    }
    flt_write_t *x = record_write(w, FLT_W_REFUND, "", payment, idem, path, body, answered ? &r : NULL, got);
    if (x != NULL)
        x->amount = REFUND_AMOUNT;
    if (answered)
        fgt_response_free(&r);
}

/* A camt.053 day of account with one credit of amount (opening 0). */
static char *camt053(const char *account, long long amount)
{
    char *out = NULL;
    if (asprintf(&out,
                 "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                 "<Document xmlns=\"urn:iso:std:iso:20022:tech:xsd:camt.053.001.02\">\n"
                 "<BkToCstmrStmt><GrpHdr><MsgId>M-%s</MsgId><CreDtTm>2026-12-02T23:59:00+07:00</CreDtTm></GrpHdr>\n"
                 "<Stmt><Id>S-%s</Id><ElctrncSeqNb>1</ElctrncSeqNb><CreDtTm>2026-12-02T23:59:00+07:00</CreDtTm>\n"
                 "<Acct><Id><Othr><Id>%s</Id></Othr></Id><Ccy>VND</Ccy></Acct>\n"
                 "<Bal><Tp><CdOrPrtry><Cd>OPBD</Cd></CdOrPrtry></Tp><Amt Ccy=\"VND\">0</Amt>"
                 "<CdtDbtInd>CRDT</CdtDbtInd><Dt><Dt>2026-12-01</Dt></Dt></Bal>\n"
                 "<Bal><Tp><CdOrPrtry><Cd>CLBD</Cd></CdOrPrtry></Tp><Amt Ccy=\"VND\">%lld</Amt>"
                 "<CdtDbtInd>CRDT</CdtDbtInd><Dt><Dt>2026-12-02</Dt></Dt></Bal>\n"
                 "<Ntry><Amt Ccy=\"VND\">%lld</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts>BOOK</Sts>"
                 "<BookgDt><Dt>2026-12-02</Dt></BookgDt><ValDt><Dt>2026-12-02</Dt></ValDt>"
                 "<AcctSvcrRef>FT%s</AcctSvcrRef><NtryDtls><TxDtls><RmtInf><Ustrd>UNG HO %s</Ustrd></RmtInf>"
                 "</TxDtls></NtryDtls></Ntry>\n"
                 "</Stmt></BkToCstmrStmt></Document>\n",
                 account, account, account, amount, amount, account, account) < 0)
        abort();
    return out;
}

static void op_statement(worker_t *w)
{
    char written[34], account[34], auth[180];
    unique(w, "FS", written, sizeof(written));
    /* as statements key it (the statement stores it so) */
    if (fg_bank_account_key(written, strlen(written), account, sizeof(account), sizeof(account) - 1) < 0) {
        flt_problem(w->env, "statement account \"%s\" is no account number", written);
        return;
    }
    char *file = camt053(account, 100000 + (long long)(next_random(w) % 100) * 1000);
    snprintf(auth, sizeof(auth), "Authorization: Bearer %s", w->env->finance);
    const char *headers[] = {auth, "Content-Type: application/xml", NULL};
    fgt_response_t r;
    int answered = send_write(w, "POST", "/v1/statements", headers, file, &r);
    const char *got = answered ? fgt_json_str(&r, "id", NULL) : NULL;
    /* a first send that was made but not answered: the retry names it duplicate_of */
    if (answered && ((r.status != 201 && r.status != 200) || got == NULL)) {
        flt_problem(w->env, "POST /v1/statements answered %ld: %.200s", r.status, r.body);
        got = NULL;
    }
    record_write(w, FLT_W_STATEMENT, account, NULL, "", "/v1/statements", file, answered ? &r : NULL, got);
    free(file);
    if (answered)
        fgt_response_free(&r);
}

/* The steps, weighted: a kill should find each kind on the wire often. */
static const struct {
    flt_op_t op;
    int weight;
} STEPS[] = {{FLT_OP_ORDER, 4}, {FLT_OP_BATCH, 2},  {FLT_OP_SANDBOX, 3}, {FLT_OP_VNPAY, 2},
             {FLT_OP_MOMO, 2},  {FLT_OP_VIETQR, 2}, {FLT_OP_REFUND, 3},  {FLT_OP_STATEMENT, 2}};

static flt_op_t pick(worker_t *w)
{
    int total = 0;
    for (size_t i = 0; i < sizeof(STEPS) / sizeof(STEPS[0]); i++)
        total += w->env->ops_enabled[STEPS[i].op] ? STEPS[i].weight : 0;
    int r = (int)(next_random(w) % (unsigned)total);
    for (size_t i = 0; i < sizeof(STEPS) / sizeof(STEPS[0]); i++) {
        if (!w->env->ops_enabled[STEPS[i].op])
            continue;
        if (r < STEPS[i].weight)
            return STEPS[i].op;
        r -= STEPS[i].weight;
    }
    return FLT_OP_ORDER;
}

static void *worker_main(void *arg)
{
    worker_t *w = arg;
    while (!atomic_load(&w->env->stop)) {
        w->op = pick(w);
        atomic_fetch_add(&w->env->steps[w->op], 1);
        switch (w->op) {
        case FLT_OP_ORDER: op_order(w); break;
        case FLT_OP_BATCH: op_batch(w); break;
        case FLT_OP_REFUND: op_refund(w); break;
        case FLT_OP_STATEMENT: op_statement(w); break;
        default: op_payment(w); break;
        }
        fgt_sleep_ms(next_random(w) % STEP_PAUSE_MS);
    }
    free(w);
    return NULL;
}

void flt_workers_start(flt_env_t *env)
{
    for (int i = 0; i < FLT_WORKERS; i++) {
        worker_t *w = calloc(1, sizeof(*w));
        ck_assert_ptr_nonnull(w);
        w->env = env;
        w->index = i;
        w->rng = env->seed * 2654435761u + (unsigned)i * 40503u + 1;
        ck_assert_int_eq(pthread_create(&env->threads[i], NULL, worker_main, w), 0);
    }
    env->started = 1;
}

void flt_workers_stop(flt_env_t *env)
{
    atomic_store(&env->stop, 1);
    for (int i = 0; env->started && i < FLT_WORKERS; i++)
        pthread_join(env->threads[i], NULL);
    env->started = 0;
}

int flt_send_until_answered(const flt_env_t *env, const char *method, const char *path, const char *const *headers,
                            const char *body, long timeout_ms, fgt_response_t *out)
{
    long long deadline = flt_now_ms() + timeout_ms;
    for (;;) {
        fgt_response_t r = fgt_request(&env->srv, FGT_HTTP1, method, path, headers, body, 0);
        if (!is_outage(&r)) {
            *out = r;
            return 1;
        }
        fgt_response_free(&r);
        if (flt_now_ms() > deadline)
            return 0;
        fgt_sleep_ms(RESEND_PAUSE_MS);
    }
}

/* ---- checks ---------------------------------------------------------------------------- */

static const char *env_or(const char *name, const char *fallback)
{
    const char *v = getenv(name);
    return v != NULL && v[0] != '\0' ? v : fallback;
}

static MYSQL *check_open(void)
{
    MYSQL *m = mysql_init(NULL);
    ck_assert_ptr_nonnull(m);
    mysql_optionsv(m, MYSQL_SET_CHARSET_NAME, "utf8mb4");
    ck_assert_msg(mysql_real_connect(m, "localhost", env_or("FEEGATE_DB_USER", "feegate"),
                                     env_or("FEEGATE_DB_PASSWORD", "feegate"), env_or("FEEGATE_DB_NAME", "feegate"), 0,
                                     getenv("FEEGATE_DB_SOCKET"), 0) != NULL,
                  "database: %s", mysql_error(m));
    return m;
}

#define COLUMNS 3

/* Runs sql with its string parameters (as many as it has, at most three);
 * the first row's first COLUMNS columns as integers (absent or NULL: 0). */
static void query(MYSQL *m, const char *sql, const char *a, const char *b, const char *c, long long out[COLUMNS])
{
    const char *args[3] = {a, b, c};
    unsigned long lens[3];
    MYSQL_BIND p[3], res[COLUMNS];
    my_bool nulls[COLUMNS];
    memset(p, 0, sizeof(p));
    memset(res, 0, sizeof(res));
    MYSQL_STMT *st = mysql_stmt_init(m);
    ck_assert_ptr_nonnull(st);
    ck_assert_msg(mysql_stmt_prepare(st, sql, strlen(sql)) == 0, "%s: %s", sql, mysql_stmt_error(st));
    unsigned count = (unsigned)mysql_stmt_param_count(st);
    ck_assert_uint_le(count, 3);
    for (unsigned i = 0; i < count; i++) {
        lens[i] = strlen(args[i]);
        p[i].buffer_type = MYSQL_TYPE_STRING;
        p[i].buffer = (void *)args[i];
        p[i].buffer_length = lens[i];
        p[i].length = &lens[i];
    }
    unsigned fields = mysql_stmt_field_count(st);
    for (int i = 0; i < COLUMNS; i++) {
        out[i] = 0;
        res[i].buffer_type = MYSQL_TYPE_LONGLONG;
        res[i].buffer = &out[i];
        res[i].is_null = &nulls[i];
    }
    ck_assert_msg((count == 0 || mysql_stmt_bind_param(st, p) == 0) && mysql_stmt_execute(st) == 0, "%s: %s", sql,
                  mysql_stmt_error(st));
    ck_assert_uint_le(fields, COLUMNS);
    ck_assert_msg(mysql_stmt_bind_result(st, res) == 0, "%s: %s", sql, mysql_stmt_error(st));
    int rc = mysql_stmt_fetch(st);
    ck_assert_msg(rc == 0 || rc == MYSQL_NO_DATA, "%s: %s", sql, mysql_stmt_error(st));
    for (unsigned i = 0; i < fields && i < COLUMNS; i++)
        if (rc == MYSQL_NO_DATA || nulls[i])
            out[i] = 0;
    mysql_stmt_close(st);
    mysql_commit(m); /* the next query sees what committed since */
}

/* count (with the acknowledged id among them: found) of each kind. */
static const char *const SQL_FIND[FLT_WS] = {
    [FLT_W_ORDER] = "SELECT COUNT(*), SUM(o.public_id = ?) FROM orders o JOIN merchants m ON m.id = o.merchant_id "
                    "WHERE m.public_id = ? AND o.merchant_ref = ?",
    [FLT_W_PAYMENT] = "SELECT COUNT(*), SUM(p.public_id = ?) FROM payments p JOIN orders o ON o.id = p.order_id "
                      "WHERE o.public_id = ?",
    /* postings of the payment, whether it succeeded */
    [FLT_W_NOTICE] = "SELECT (SELECT COUNT(*) FROM journals j WHERE j.payment_id = p.id AND j.kind = 'payment'), "
                     "p.status = 'succeeded' FROM payments p WHERE p.public_id = ?",
    /* the refund's rows, its postings, a succeeded one without exactly one */
    [FLT_W_REFUND] = "SELECT COUNT(*), SUM(x.postings), SUM(x.status = 'succeeded' AND x.postings <> 1) FROM (SELECT "
                     "r.status, (SELECT COUNT(*) FROM journals j WHERE j.refund_id = r.id AND j.kind = 'refund') "
                     "postings FROM refunds r WHERE r.public_id = ?) x",
    [FLT_W_STATEMENT] = "SELECT COUNT(*), SUM(i.public_id = ?) FROM statements s JOIN statement_imports i ON "
                        "i.id = s.import_id WHERE s.account = ?",
};

static void found_wrong(flt_env_t *env, flt_tally_t *t, const flt_write_t *w, const long long v[COLUMNS])
{
    if (w->acked && v[0] == 0)
        t->lost++;
    else
        t->duplicated++;
    flt_problem(env, "%s %s %s (%s, %s): found %lld, %lld, %lld", w->acked ? "acknowledged" : "given-up",
                flt_wkind_names[w->kind], w->acked ? w->id : w->ref, flt_op_names[w->op], w->parent, v[0], v[1], v[2]);
}

/* One write in the database. */
static void check_write(flt_env_t *env, MYSQL *m, const flt_write_t *w, flt_tally_t *t)
{
    long long v[COLUMNS];
    int ok;
    switch (w->kind) {
    case FLT_W_ORDER:
        query(m, SQL_FIND[w->kind], w->id, env->merchant, w->ref, v);
        ok = w->acked ? v[0] == 1 && v[1] == 1 : v[0] <= 1;
        break;
    case FLT_W_PAYMENT:
        query(m, SQL_FIND[w->kind], w->id, w->parent, NULL, v);
        ok = w->acked ? v[0] == 1 && v[1] == 1 : v[0] <= 1;
        break;
    case FLT_W_NOTICE:
        query(m, SQL_FIND[w->kind], w->parent, NULL, NULL, v);
        ok = w->acked ? v[0] == 1 && v[1] == 1 : v[0] <= 1 && v[0] == v[1];
        break;
    case FLT_W_REFUND:
        if (!w->acked) /* its id is unknown: the merchant's totals count it */
            return;
        query(m, SQL_FIND[w->kind], w->id, NULL, NULL, v);
        ok = v[0] == 1 && v[1] <= 1 && v[2] == 0;
        break;
    case FLT_W_STATEMENT:
        query(m, SQL_FIND[w->kind], w->id, w->ref, NULL, v);
        ok = w->acked ? v[0] == 1 && v[1] == 1 : v[0] <= 1;
        break;
    default: return; /* a batch's orders are checked one by one */
    }
    if (!ok)
        found_wrong(env, t, w, v);
    else if (w->acked)
        t->checked++;
    else
        t->unknown++;
}

/* Sends an idempotent write again: the acknowledged answer, byte for byte. */
static int replay_api(flt_env_t *env, const flt_write_t *w)
{
    headers_t h;
    const char *bearer = w->kind == FLT_W_STATEMENT ? env->finance : env->key;
    const char *const *headers = api_headers(&h, bearer, w->idem);
    const char *statement_headers[] = {h.auth, "Content-Type: application/xml", NULL};
    fgt_response_t r;
    if (!flt_send_until_answered(env, "POST", w->path, w->kind == FLT_W_STATEMENT ? statement_headers : headers,
                                 w->body, WRITE_DEADLINE_MS, &r)) {
        flt_problem(env, "no answer to the replay of %s %s", flt_wkind_names[w->kind], w->id);
        return 0;
    }
    int same;
    if (w->kind == FLT_W_STATEMENT) {
        const char *dup = fgt_json_str(&r, "duplicate_of", NULL);
        same = r.status == 200 && dup != NULL && strcmp(dup, w->id) == 0;
    } else {
        same = r.status == w->answer_status && strcmp(r.body, w->answer) == 0 && is_replay(&r);
    }
    if (!same)
        flt_problem(env, "the replay of %s %s answered %ld: %.200s (first %ld: %.200s)", flt_wkind_names[w->kind],
                    w->id, r.status, r.body, w->answer_status, w->answer != NULL ? w->answer : "");
    fgt_response_free(&r);
    return same;
}

/* A payment's notice sent again, as its provider does: acknowledged again. */
static int replay_notice(flt_env_t *env, const flt_write_t *w)
{
    char url[256], json[300], header[160];
    fgt_response_t r;
    int same = 0;
    if (w->op == FLT_OP_SANDBOX || w->op == FLT_OP_VIETQR) {
        if (w->op == FLT_OP_SANDBOX)
            sandbox_signature(env, w->body, header, sizeof(header));
        else
            snprintf(header, sizeof(header), "Authorization: Apikey %s", env->sepay_key);
        const char *headers[] = {header, "Content-Type: application/json", NULL};
        if (!flt_send_until_answered(env, "POST",
                                     w->op == FLT_OP_SANDBOX ? "/v1/webhooks/sandbox" : "/v1/webhooks/sepay", headers,
                                     w->body, WRITE_DEADLINE_MS, &r))
            return 0;
        same = r.status == 200 && (w->op == FLT_OP_SANDBOX || strcmp(r.body, "{\"success\":true}") == 0);
    } else {
        int vnpay = w->op == FLT_OP_VNPAY;
        snprintf(url, sizeof(url), "%s/control/%s/pay", env->bank->url, vnpay ? "vnpay" : "momo");
        snprintf(json, sizeof(json), "{\"%s\":\"%s\",\"outcome\":\"approve\"}", vnpay ? "txn_ref" : "order_id",
                 w->parent);
        r = fgt_http("POST", url, json);
        yajl_val list = fgt_val_at(r.json, "ipn", NULL);
        yajl_val first = list != NULL && YAJL_IS_ARRAY(list) && list->u.array.len > 0 ? list->u.array.values[0] : NULL;
        yajl_val st = fgt_val_at(first, "status", NULL);
        const char *answer = fgt_val_str(first, "body", NULL);
        long status = st != NULL && YAJL_IS_INTEGER(st) ? (long)YAJL_GET_INTEGER(st) : -1;
        same = vnpay ? status == 200 && answer != NULL && strstr(answer, "\"RspCode\":\"02\"") != NULL : status == 204;
    }
    if (!same)
        flt_problem(env, "the %s notice of %s sent again answered %ld: %.200s", flt_op_names[w->op], w->parent,
                    r.status, r.body);
    fgt_response_free(&r);
    return same;
}

/* Payments of the merchant posted twice, succeeded ones not posted exactly
 * once, refunds posted twice. */
static const char SQL_POSTED_TWICE[] =
    "SELECT (SELECT COUNT(*) FROM (SELECT j.payment_id FROM journals j JOIN payments p ON p.id = j.payment_id JOIN "
    "orders o ON o.id = p.order_id JOIN merchants m ON m.id = o.merchant_id WHERE m.public_id = ? AND j.kind = "
    "'payment' GROUP BY j.payment_id HAVING COUNT(*) > 1) x), (SELECT COUNT(*) FROM payments p JOIN orders o ON o.id = "
    "p.order_id JOIN merchants m ON m.id = o.merchant_id WHERE m.public_id = ? AND p.status = 'succeeded' AND (SELECT "
    "COUNT(*) FROM journals j WHERE j.payment_id = p.id AND j.kind = 'payment') <> 1), (SELECT COUNT(*) FROM (SELECT "
    "j.refund_id FROM journals j JOIN refunds r ON r.id = j.refund_id JOIN payments p ON p.id = r.payment_id JOIN "
    "orders o ON o.id = p.order_id JOIN merchants m ON m.id = o.merchant_id WHERE m.public_id = ? AND j.kind = "
    "'refund' GROUP BY j.refund_id HAVING COUNT(*) > 1) y)";

static void check_postings(flt_env_t *env, MYSQL *m, flt_tally_t *t)
{
    long long v[COLUMNS];
    query(m, SQL_POSTED_TWICE, env->merchant, env->merchant, env->merchant, v);
    if (v[0] != 0 || v[1] != 0 || v[2] != 0) {
        t->duplicated += v[0] + v[1] + v[2];
        flt_problem(env,
                    "payments posted twice: %lld, succeeded payments without exactly one posting: %lld, refunds "
                    "posted twice: %lld",
                    v[0], v[1], v[2]);
    }
}

size_t flt_check(flt_env_t *env, size_t from, int replay, flt_tally_t *t)
{
    pthread_mutex_lock(&env->lock);
    size_t upto = env->count;
    pthread_mutex_unlock(&env->lock);
    /* the newest acknowledged writes, those made just before the kill, and
     * the newest of each kind */
    int replays = 0, kind_replayed[FLT_WS] = {0};
    for (size_t i = upto; replay && i > from; i--) {
        const flt_write_t *w = &env->writes[i - 1];
        if (!w->acked || w->in_batch || (replays >= REPLAYS_PER_CHECK && kind_replayed[w->kind]))
            continue;
        int same = w->kind == FLT_W_NOTICE ? replay_notice(env, w) : replay_api(env, w);
        replays++;
        kind_replayed[w->kind] = 1;
        if (same)
            t->replayed++;
        else
            t->duplicated++;
    }
    MYSQL *m = check_open();
    for (size_t i = from; i < upto; i++)
        check_write(env, m, &env->writes[i], t);
    check_postings(env, m, t);
    mysql_close(m);
    return upto;
}

/* The merchant's orders, payments and refunds. */
static const char SQL_TOTALS[] =
    "SELECT (SELECT COUNT(*) FROM orders o WHERE o.merchant_id = m.id), (SELECT COUNT(*) FROM payments p JOIN orders "
    "o ON o.id = p.order_id WHERE o.merchant_id = m.id), (SELECT COUNT(*) FROM refunds r JOIN payments p ON p.id = "
    "r.payment_id JOIN orders o ON o.id = p.order_id WHERE o.merchant_id = m.id) FROM merchants m WHERE m.public_id = ?";

void flt_check_totals(flt_env_t *env, flt_tally_t *t)
{
    static const flt_wkind_t KINDS[3] = {FLT_W_ORDER, FLT_W_PAYMENT, FLT_W_REFUND};
    long long acked[3] = {0}, unknown[3] = {0}, v[COLUMNS];
    pthread_mutex_lock(&env->lock);
    size_t upto = env->count;
    pthread_mutex_unlock(&env->lock);
    for (size_t i = 0; i < upto; i++)
        for (int k = 0; k < 3; k++)
            if (env->writes[i].kind == KINDS[k])
                (env->writes[i].acked ? acked : unknown)[k]++;
    MYSQL *m = check_open();
    query(m, SQL_TOTALS, env->merchant, NULL, NULL, v);
    for (int k = 0; k < 3; k++) {
        if (v[k] < acked[k]) {
            t->lost++;
            flt_problem(env, "%lld %ss in the database, %lld acknowledged", v[k], flt_wkind_names[KINDS[k]], acked[k]);
        } else if (v[k] > acked[k] + unknown[k]) {
            t->duplicated++;
            flt_problem(env, "%lld %ss in the database, %lld acknowledged and %lld given up", v[k],
                        flt_wkind_names[KINDS[k]], acked[k], unknown[k]);
        }
    }
    check_postings(env, m, t);
    mysql_close(m);
}
