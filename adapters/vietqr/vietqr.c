/*
 * vietqr.c - the VietQR payload (EMVCo merchant-presented mode, NAPAS 247).
 */
#include "vietqr/vietqr.h"

#include <stdio.h>
#include <string.h>
#include "core/text.h"

/* NAPAS's application identifier and the "transfer to account" service. */
#define NAPAS_AID "A000000727"
#define SERVICE_TO_ACCOUNT "QRIBFTTA"
#define CURRENCY_VND "704"
#define COUNTRY_VN "VN"

uint16_t fg_crc16_ccitt_false(const void *data, size_t n)
{
    const uint8_t *p = data;
    uint16_t crc = 0xFFFF;
    for (size_t i = 0; i < n; i++) {
        crc ^= (uint16_t)(p[i] << 8);
        for (int bit = 0; bit < 8; bit++)
            crc = (uint16_t)(crc & 0x8000 ? (crc << 1) ^ 0x1021 : crc << 1);
    }
    return crc;
}

static void tlv(fg_buf_t *b, const char *id, const char *value, size_t len)
{
    fg_buf_printf(b, "%s%02zu", id, len);
    fg_buf_append(b, value, len);
}

static int all_digits(const char *s, size_t min, size_t max)
{
    size_t n = strlen(s);
    if (n < min || n > max)
        return 0;
    return strspn(s, "0123456789") == n;
}

/* An amount NAPAS's field 54 holds: 1 to FG_VIETQR_AMOUNT_DIGITS_MAX digits. */
static int amount_fits(int64_t amount)
{
    char digits[24];
    return amount >= 1 && snprintf(digits, sizeof(digits), "%lld", (long long)amount) <= FG_VIETQR_AMOUNT_DIGITS_MAX;
}

int fg_vietqr_payload(const char *bin, const char *account, int64_t amount, const char *purpose, fg_buf_t *out)
{
    char digits[24];
    size_t account_len = account != NULL ? strlen(account) : 0;
    if (bin == NULL || !all_digits(bin, 6, 6) || account_len == 0 || account_len > FG_VIETQR_ACCOUNT_MAX ||
        strspn(account, "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz") != account_len ||
        purpose == NULL || !fg_printable_ascii(purpose, strlen(purpose), FG_VIETQR_PURPOSE_MAX))
        return FG_EINVALID;
    if (!amount_fits(amount))
        return FG_ERANGE;
    int n = snprintf(digits, sizeof(digits), "%lld", (long long)amount);
    fg_buf_t beneficiary = FG_BUF_INIT, account_info = FG_BUF_INIT, additional = FG_BUF_INIT;
    tlv(&beneficiary, "00", bin, 6);
    tlv(&beneficiary, "01", account, account_len);
    tlv(&account_info, "00", NAPAS_AID, strlen(NAPAS_AID));
    tlv(&account_info, "01", beneficiary.data, beneficiary.len);
    tlv(&account_info, "02", SERVICE_TO_ACCOUNT, strlen(SERVICE_TO_ACCOUNT));
    tlv(&additional, "08", purpose, strlen(purpose));
    size_t start = out->len;
    tlv(out, "00", "01", 2);
    tlv(out, "01", "12", 2); /* one-time: the amount is fixed */
    tlv(out, "38", account_info.data, account_info.len);
    tlv(out, "53", CURRENCY_VND, 3);
    tlv(out, "54", digits, (size_t)n);
    tlv(out, "58", COUNTRY_VN, 2);
    tlv(out, "62", additional.data, additional.len);
    fg_buf_puts(out, "6304");
    fg_buf_printf(out, "%04X", fg_crc16_ccitt_false(out->data + start, out->len - start));
    fg_buf_free(&beneficiary);
    fg_buf_free(&account_info);
    fg_buf_free(&additional);
    return 0;
}

int fg_vietqr_configured(const fg_config_t *cfg)
{
    return cfg->vietqr_bank_bin[0] != '\0' && cfg->vietqr_account_no[0] != '\0';
}

static int accepts(const fg_config_t *cfg, const char *currency, int64_t amount)
{
    if (!fg_vietqr_configured(cfg) || (currency != NULL && strcmp(currency, "VND") != 0))
        return FG_EINVALID; /* NAPAS 247 transfers are VND */
    return currency == NULL || amount_fits(amount) ? 0 : FG_ERANGE;
}

static int start(const fg_config_t *cfg, const fg_payment_start_t *in, fg_payment_started_t *out)
{
    int rc = accepts(cfg, in->currency, in->amount);
    if (rc != 0)
        return rc;
    if (in->order_code == NULL)
        return FG_EINVALID;
    rc = fg_vietqr_payload(cfg->vietqr_bank_bin, cfg->vietqr_account_no, in->amount, in->order_code, &out->qr_payload);
    if (rc == 0)
        fg_buf_printf(&out->redirect_url, "%s/pay/%s", cfg->public_base_url, in->order_code);
    return rc;
}

/* The bank feed's acknowledgement (SePay: 200 {"success":true}). */
static void ack(fg_ack_t outcome, int *status, fg_buf_t *body, const char **content_type)
{
    *content_type = "application/json; charset=utf-8";
    switch (outcome) {
    case FG_ACK_FORGED:
        *status = 401;
        fg_buf_puts(body, "{\"success\":false,\"error\":\"unauthorized\"}");
        break;
    case FG_ACK_MALFORMED:
        *status = 400;
        fg_buf_puts(body, "{\"success\":false,\"error\":\"malformed\"}");
        break;
    case FG_ACK_ERROR:
        *status = 503; /* SePay retries */
        fg_buf_puts(body, "{\"success\":false,\"error\":\"temporarily_unavailable\"}");
        break;
    default:
        /* applied, duplicate, or recorded as unapplied money: all received */
        *status = 200;
        fg_buf_puts(body, "{\"success\":true}");
        break;
    }
}

const fg_adapter_t fg_adapter_vietqr = {
    .name = "vietqr",
    .start = start,
    .accepts = accepts,
    .verify = NULL, /* transfers arrive through the bank feed (POST /v1/webhooks/sepay) */
    .ack = ack,
    .refund = NULL, /* a transfer is refunded by an outgoing transfer, outside the API */
};
