/*
 * validate.c - create-order input validation.  Pure: no I/O, no clock.
 */
#include "orders/orders.h"

#include <assert.h>
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include "core/money.h"
#include "core/json.h"
#include "core/text.h"

static int parse_amount(yajl_val v, int64_t *out, fg_field_error_t *err)
{
    if (v == NULL || YAJL_IS_NULL(v))
        return fg_field_fail(err, FG_FIELD_MALFORMED, "missing_field", "amount", "amount is required");
    if (!YAJL_IS_NUMBER(v))
        return fg_field_fail(err, FG_FIELD_MALFORMED, "invalid_type", "amount",
                             "amount must be an integer number of minor units");
    const char *raw = v->u.number.r;
    const char *digits = raw[0] == '-' ? raw + 1 : raw;
    if (digits[0] == '\0' || strspn(digits, "0123456789") != strlen(digits))
        return fg_field_fail(err, FG_FIELD_MALFORMED, "invalid_type", "amount",
                             "amount must be an integer number of minor units");
    if (!YAJL_IS_INTEGER(v)) /* digits only but beyond int64 */
        return fg_field_fail(err, FG_FIELD_UNACCEPTABLE, "amount_too_large", "amount", "amount must be at most %lld",
                             FG_AMOUNT_MAX);
    int64_t amount = YAJL_GET_INTEGER(v);
    if (amount < FG_AMOUNT_MIN)
        return fg_field_fail(err, FG_FIELD_UNACCEPTABLE, "amount_invalid", "amount",
                             "amount must be a positive integer");
    if (amount > FG_AMOUNT_MAX)
        return fg_field_fail(err, FG_FIELD_UNACCEPTABLE, "amount_too_large", "amount", "amount must be at most %lld",
                             FG_AMOUNT_MAX);
    *out = amount;
    return 0;
}

static int parse_time(yajl_val v, const char *field, int *has, int64_t *out, fg_field_error_t *err)
{
    const char *s;
    *has = 0;
    if (fg_json_string(v, field, 64, 0, &s, err) != 0)
        return -1;
    if (s == NULL)
        return 0;
    if (fg_time_parse_rfc3339(s, strlen(s), out) != 0)
        return fg_field_fail(err, FG_FIELD_UNACCEPTABLE, "invalid_timestamp", field, "%s must be an RFC 3339 timestamp",
                             field);
    *has = 1;
    return 0;
}

static int parse_metadata(yajl_val v, fg_buf_t *out, fg_field_error_t *err)
{
    if (v == NULL || YAJL_IS_NULL(v))
        return 0;
    if (!YAJL_IS_OBJECT(v))
        return fg_field_fail(err, FG_FIELD_MALFORMED, "invalid_type", "metadata",
                             "metadata must be an object of strings");
    size_t n = v->u.object.len;
    if (n > FG_ORDER_METADATA_KEYS_MAX)
        return fg_field_fail(err, FG_FIELD_UNACCEPTABLE, "metadata_too_large", "metadata",
                             "metadata has more than %d keys", FG_ORDER_METADATA_KEYS_MAX);
    fg_buf_putc(out, '{');
    for (size_t i = 0; i < n; i++) {
        const char *key = v->u.object.keys[i];
        yajl_val val = v->u.object.values[i];
        if (strlen(key) == 0 || fg_utf8_length(key, strlen(key)) > FG_ORDER_METADATA_KEY_MAX)
            return fg_field_fail(err, FG_FIELD_UNACCEPTABLE, "metadata_invalid", "metadata",
                                 "metadata keys must be 1 to %d characters", FG_ORDER_METADATA_KEY_MAX);
        if (!YAJL_IS_STRING(val))
            return fg_field_fail(err, FG_FIELD_MALFORMED, "invalid_type", "metadata",
                                 "metadata value of \"%.40s\" must be a string", key);
        const char *s = YAJL_GET_STRING(val);
        if (fg_utf8_length(s, strlen(s)) > FG_ORDER_METADATA_VALUE_MAX)
            return fg_field_fail(err, FG_FIELD_UNACCEPTABLE, "metadata_invalid", "metadata",
                                 "metadata values must be at most %d characters", FG_ORDER_METADATA_VALUE_MAX);
        fg_json_kv_str(out, i > 0, key, s);
    }
    fg_buf_putc(out, '}');
    if (out->len > FG_ORDER_METADATA_BYTES_MAX)
        return fg_field_fail(err, FG_FIELD_UNACCEPTABLE, "metadata_too_large", "metadata",
                             "metadata is larger than %d bytes", FG_ORDER_METADATA_BYTES_MAX);
    return 0;
}

static int parse_payer(yajl_val v, fg_order_input_t *in, fg_field_error_t *err)
{
    static const char *const KNOWN[] = {"name", "ref", "phone", "email"};
    if (v == NULL || YAJL_IS_NULL(v))
        return 0;
    if (!YAJL_IS_OBJECT(v))
        return fg_field_fail(err, FG_FIELD_MALFORMED, "invalid_type", "payer", "payer must be an object");
    if (fg_json_known_fields(v, KNOWN, 4, err) != 0) { /* named by its path, as payer.name is */
        char key[sizeof(err->field)], field[sizeof(err->field) + 8];
        snprintf(key, sizeof(key), "%s", err->field);
        snprintf(field, sizeof(field), "payer.%s", key);
        return fg_field_fail(err, FG_FIELD_MALFORMED, "unknown_field", field, "unknown field \"payer.%.*s\"",
                             (int)fg_utf8_prefix(key, strlen(key), 50), key);
    }
    static const char *name_path[] = {"name", NULL}, *ref_path[] = {"ref", NULL}, *phone_path[] = {"phone", NULL},
                      *email_path[] = {"email", NULL};
    if (fg_json_string(yajl_tree_get(v, name_path, yajl_t_any), "payer.name", FG_ORDER_PAYER_NAME_MAX, 1,
                       &in->payer_name, err) != 0 ||
        fg_json_string(yajl_tree_get(v, ref_path, yajl_t_any), "payer.ref", FG_ORDER_PAYER_REF_MAX, 0, &in->payer_ref,
                       err) != 0 ||
        fg_json_string(yajl_tree_get(v, phone_path, yajl_t_any), "payer.phone", FG_ORDER_PAYER_PHONE_MAX, 0,
                       &in->payer_phone, err) != 0 ||
        fg_json_string(yajl_tree_get(v, email_path, yajl_t_any), "payer.email", FG_ORDER_PAYER_EMAIL_MAX, 0,
                       &in->payer_email, err) != 0)
        return -1;
    return 0;
}

static const char *const ORDER_FIELDS[] = {"merchant_ref", "fee_type",      "category", "amount",
                                           "currency",     "allow_partial", "payer",    "description",
                                           "due_at",       "expires_at",    "metadata"};
#define ORDER_FIELD_COUNT (sizeof(ORDER_FIELDS) / sizeof(ORDER_FIELDS[0]))

static int parse_enums(yajl_val obj, fg_order_input_t *in, fg_field_error_t *err)
{
    if (fg_json_required_string(fg_json_member(obj, "fee_type"), "fee_type", 32, &in->fee_type, err) != 0)
        return -1;
    fg_fee_type_t fee_type;
    if (fg_fee_type_parse(in->fee_type, strlen(in->fee_type), &fee_type) != 0)
        return fg_field_fail(err, FG_FIELD_UNACCEPTABLE, "invalid_fee_type", "fee_type",
                             "fee_type must be tuition, utility or procedure");
    const char *currency;
    if (fg_json_required_string(fg_json_member(obj, "currency"), "currency", 3, &currency, err) != 0) {
        if (strcmp(err->code, "string_too_long") == 0)
            return fg_field_fail(err, FG_FIELD_UNACCEPTABLE, "invalid_currency", "currency",
                                 "currency must be an ISO 4217 code such as VND");
        return -1;
    }
    if (fg_currency_find(currency, strlen(currency)) == NULL)
        return fg_field_fail(err, FG_FIELD_UNACCEPTABLE, "invalid_currency", "currency",
                             "currency must be an ISO 4217 code such as VND");
    memcpy(in->currency, currency, 4);
    return 0;
}

static const char *const FEE_TYPE_NAMES[] = {
    [FG_FEE_TUITION] = "tuition", [FG_FEE_UTILITY] = "utility", [FG_FEE_PROCEDURE] = "procedure"};
#define FEE_TYPE_COUNT (sizeof(FEE_TYPE_NAMES) / sizeof(FEE_TYPE_NAMES[0]))

const char *fg_fee_type_name(fg_fee_type_t t)
{
    assert((size_t)t < FEE_TYPE_COUNT);
    return FEE_TYPE_NAMES[t];
}

int fg_fee_type_parse(const char *text, size_t len, fg_fee_type_t *out)
{
    for (size_t i = 0; i < FEE_TYPE_COUNT; i++) {
        if (strlen(FEE_TYPE_NAMES[i]) == len && memcmp(text, FEE_TYPE_NAMES[i], len) == 0) {
            *out = (fg_fee_type_t)i;
            return 0;
        }
    }
    return FG_EINVALID;
}

int fg_order_input_parse(yajl_val obj, int64_t now_ms, fg_order_input_t *in, fg_field_error_t *err)
{
    memset(in, 0, sizeof(*in));
    if (obj == NULL || !YAJL_IS_OBJECT(obj))
        return fg_field_fail(err, FG_FIELD_MALFORMED, "invalid_type", NULL, "an order must be a JSON object");
    if (fg_json_known_fields(obj, ORDER_FIELDS, ORDER_FIELD_COUNT, err) != 0)
        return -1;
    if (fg_json_required_string(fg_json_member(obj, "merchant_ref"), "merchant_ref", FG_ORDER_REF_MAX,
                                &in->merchant_ref, err) != 0)
        return -1;
    /* the key compares "HP-1" and "HP-1 " as one (MariaDB pads with spaces):
     * one spelling per reference, so that a duplicate is never a surprise */
    size_t ref_len = strlen(in->merchant_ref);
    if (isspace((unsigned char)in->merchant_ref[0]) || isspace((unsigned char)in->merchant_ref[ref_len - 1]))
        return fg_field_fail(err, FG_FIELD_UNACCEPTABLE, "invalid_merchant_ref", "merchant_ref",
                             "merchant_ref must not start or end with a space");
    if (parse_enums(obj, in, err) != 0 || parse_amount(fg_json_member(obj, "amount"), &in->amount, err) != 0)
        return -1;
    if (fg_json_string(fg_json_member(obj, "category"), "category", FG_ORDER_CATEGORY_MAX, 0, &in->category, err) !=
            0 ||
        fg_json_string(fg_json_member(obj, "description"), "description", FG_ORDER_DESCRIPTION_MAX, 1, &in->description,
                       err) != 0)
        return -1;
    yajl_val partial = fg_json_member(obj, "allow_partial");
    if (partial != NULL && !YAJL_IS_NULL(partial)) {
        if (!YAJL_IS_TRUE(partial) && !YAJL_IS_FALSE(partial))
            return fg_field_fail(err, FG_FIELD_MALFORMED, "invalid_type", "allow_partial",
                                 "allow_partial must be true or false");
        in->allow_partial = YAJL_IS_TRUE(partial);
    }
    if (parse_payer(fg_json_member(obj, "payer"), in, err) != 0)
        return -1;
    if (parse_time(fg_json_member(obj, "due_at"), "due_at", &in->has_due_at, &in->due_at_ms, err) != 0 ||
        parse_time(fg_json_member(obj, "expires_at"), "expires_at", &in->has_expires_at, &in->expires_at_ms, err) != 0)
        return -1;
    if (in->has_expires_at && in->expires_at_ms <= now_ms)
        return fg_field_fail(err, FG_FIELD_UNACCEPTABLE, "expires_at_in_past", "expires_at",
                             "expires_at must be in the future");
    return parse_metadata(fg_json_member(obj, "metadata"), &in->metadata_json, err);
}

void fg_order_input_free(fg_order_input_t *in) { fg_buf_free(&in->metadata_json); }
