/*
 * sandbox.c - our own test gateway, shaped like the real ones.
 *
 * Notification: POST /v1/webhooks/sandbox with a JSON body
 *   {"payment_id","provider_txn_id","status":"succeeded"|"failed","amount"}
 * and the header X-Signature: t=<unix>,v1=<hex HMAC-SHA256(secret, t "." body)>.
 * A timestamp more than 300 s from now is refused (replay protection).
 */
#include "adapter.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yajl/yajl_tree.h>
#include "core/json.h"
#include "core/money.h"
#include "core/crypto.h"
#include "core/text.h"

/* Signatures older or newer than this are refused. */
#define SIGNATURE_TOLERANCE_S 300
#define SIGNATURE_HEADER_MAX 1024
#define BODY_MAX (64 * 1024)

/* Any currency and amount: it is no bank.  Offered when its notifications
 * can be checked (sandbox.secret set). */
static int accepts(const fg_config_t *cfg, const char *currency, int64_t amount)
{
    (void)currency;
    (void)amount;
    return cfg->sandbox_secret[0] != '\0' ? 0 : FG_EINVALID;
}

static int start(const fg_config_t *cfg, const fg_payment_start_t *in, fg_payment_started_t *out)
{
    fg_buf_printf(&out->redirect_url, "%s/sandbox/pay/%s", cfg->public_base_url, in->payment_id);
    return 0;
}

/* Parses "t=<digits>,v1=<64 hex>" (several v1= allowed; any may match). */
static int check_signature(const char *secret, const char *header, const char *body, size_t body_len, int64_t now_ms,
                           char *reason, size_t cap)
{
    if (header == NULL || strlen(header) > SIGNATURE_HEADER_MAX) {
        snprintf(reason, cap, "missing X-Signature");
        return FG_EINVALID;
    }
    if (secret == NULL || secret[0] == '\0') {
        snprintf(reason, cap, "sandbox.secret is not configured");
        return FG_EINVALID;
    }
    if (strncmp(header, "t=", 2) != 0) {
        snprintf(reason, cap, "X-Signature has no timestamp");
        return FG_EINVALID;
    }
    char *end;
    long long t = strtoll(header + 2, &end, 10);
    if (end == header + 2 || *end != ',') {
        snprintf(reason, cap, "X-Signature timestamp is not a number");
        return FG_EINVALID;
    }
    long long now_s = now_ms / 1000;
    if (t < now_s - SIGNATURE_TOLERANCE_S || t > now_s + SIGNATURE_TOLERANCE_S) {
        snprintf(reason, cap, "X-Signature timestamp is more than %d s away", SIGNATURE_TOLERANCE_S);
        return FG_EINVALID;
    }
    fg_buf_t msg = FG_BUF_INIT;
    fg_buf_append(&msg, header + 2, (size_t)(end - header - 2));
    fg_buf_putc(&msg, '.');
    fg_buf_append(&msg, body, body_len);
    uint8_t mac[FG_SHA256_LEN];
    char expected[2 * FG_SHA256_LEN + 1];
    fg_hmac_sha256(secret, strlen(secret), msg.data, msg.len, mac);
    fg_buf_free(&msg);
    fg_hex_encode(mac, sizeof(mac), expected);
    int ok = 0;
    for (const char *p = end; (p = strstr(p, ",v1=")) != NULL; p += 4) {
        const char *v = p + 4;
        size_t n = strcspn(v, ",");
        ok |= fg_secure_equal(v, n, expected, 2 * FG_SHA256_LEN);
    }
    if (!ok) {
        snprintf(reason, cap, "X-Signature does not match");
        return FG_EINVALID;
    }
    return 0;
}

static int copy_field(yajl_val root, const char *name, char *out, size_t cap)
{
    const char *path[] = {name, NULL};
    yajl_val v = yajl_tree_get(root, path, yajl_t_string);
    if (v == NULL || strlen(v->u.string) == 0 || strlen(v->u.string) >= cap ||
        !fg_printable_ascii(v->u.string, strlen(v->u.string), cap - 1))
        return -1;
    memcpy(out, v->u.string, strlen(v->u.string) + 1);
    return 0;
}

static int verify(const fg_config_t *cfg, const fg_inbound_t *in, int64_t now_ms, fg_notification_t *out, char *reason,
                  size_t cap)
{
    char status[16], body[BODY_MAX + 1], error[128];
    if (in->body == NULL || in->body_len == 0 || in->body_len > BODY_MAX) {
        snprintf(reason, cap, "body missing or too large");
        return FG_ERANGE;
    }
    int rc = check_signature(cfg->sandbox_secret, in->header(in->header_ctx, "x-signature"), in->body, in->body_len,
                             now_ms, reason, cap);
    if (rc != 0)
        return rc;
    memcpy(body, in->body, in->body_len);
    body[in->body_len] = '\0';
    yajl_val root = fg_json_tree(body, in->body_len, error, sizeof(error));
    const char *amount_path[] = {"amount", NULL};
    yajl_val amount = root != NULL ? yajl_tree_get(root, amount_path, yajl_t_number) : NULL;
    memset(out, 0, sizeof(*out));
    if (root == NULL || copy_field(root, "payment_id", out->payment_id, sizeof(out->payment_id)) != 0 ||
        copy_field(root, "provider_txn_id", out->provider_txn_id, sizeof(out->provider_txn_id)) != 0 ||
        copy_field(root, "status", status, sizeof(status)) != 0 || amount == NULL || !YAJL_IS_INTEGER(amount) ||
        !fg_amount_valid(YAJL_GET_INTEGER(amount))) {
        snprintf(reason, cap, "notification lacks payment_id, provider_txn_id, status or an amount of 1..10^15");
        rc = FG_ERANGE;
    } else if (strcmp(status, "succeeded") != 0 && strcmp(status, "failed") != 0) {
        snprintf(reason, cap, "status must be succeeded or failed");
        rc = FG_ERANGE;
    } else {
        out->status = strcmp(status, "succeeded") == 0 ? FG_NOTIFY_SUCCEEDED : FG_NOTIFY_FAILED;
        out->amount = YAJL_GET_INTEGER(amount);
        /* one notification per provider transaction: its id is the dedup key */
        snprintf(out->event_id, sizeof(out->event_id), "%s", out->provider_txn_id);
    }
    if (root != NULL)
        yajl_tree_free(root);
    return rc;
}

static void ack(fg_ack_t outcome, int *status, fg_buf_t *body, const char **content_type)
{
    /* A duplicate gets exactly the answer the first delivery got. */
    static const char *const ERRORS[] = {NULL,
                                         NULL,
                                         "payment_not_found",
                                         "amount_mismatch",
                                         "signature_invalid",
                                         "malformed",
                                         "temporarily_unavailable"};
    static const int STATUSES[] = {200, 200, 404, 422, 401, 400, 503};
    *status = STATUSES[outcome];
    *content_type = "application/json; charset=utf-8";
    if (outcome <= FG_ACK_DUPLICATE) {
        fg_buf_puts(body, "{\"received\":true}");
        return;
    }
    fg_buf_puts(body, "{\"received\":false,");
    fg_json_kv_str(body, 0, "error", ERRORS[outcome]);
    fg_buf_puts(body, "}");
}

static int refund(const fg_config_t *cfg, const char *payment_id, const char *provider_txn_id, int64_t amount,
                  int64_t now_ms, char *provider_refund_id, size_t cap)
{
    /* The sandbox refunds at once; the id is derived so a retry is the same refund. */
    snprintf(provider_refund_id, cap, "sbx_rf_%s_%lld", provider_txn_id, (long long)(now_ms / 1000));
    return 0;
}

const fg_adapter_t fg_adapter_sandbox = {
    .name = "sandbox",
    .start = start,
    .accepts = accepts,
    .verify = verify,
    .ack = ack,
    .refund = refund,
};
