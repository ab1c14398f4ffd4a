/*
 * sepay.c - SePay's bank-feed webhook: authentication and parsing.
 */
#include "sepay/sepay.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <yajl/yajl_tree.h>
#include "core/json.h"
#include "core/buf.h"
#include "core/crypto.h"
#include "core/money.h"
#include "core/text.h"
#include "protocol.h"

int fg_sepay_authorized(const char *api_key, const char *header)
{
    static const char SCHEME[] = "Apikey ";
    if (api_key == NULL || api_key[0] == '\0' || header == NULL || strncasecmp(header, SCHEME, 7) != 0)
        return 0;
    const char *key = header + 7;
    while (*key == ' ')
        key++;
    size_t n = strlen(key);
    while (n > 0 && key[n - 1] == ' ')
        n--;
    return fg_secure_equal(key, n, api_key, strlen(api_key));
}

/* Copies a string member, cut at cap bytes on a UTF-8 boundary; "" when
 * absent or null. */
static void text_field(yajl_val root, const char *name, char *out, size_t cap)
{
    const char *path[] = {name, NULL};
    yajl_val v = yajl_tree_get(root, path, yajl_t_string);
    out[0] = '\0';
    if (v == NULL)
        return;
    const char *s = YAJL_GET_STRING(v);
    size_t n = strlen(s);
    if (n >= cap) {
        n = cap - 1;
        while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
            n--; /* do not split a character */
    }
    memcpy(out, s, n);
    out[n] = '\0';
}

int fg_sepay_parse(const char *body, size_t len, fg_sepay_transfer_t *out, char *reason, size_t cap)
{
    char error[128], type[8];
    memset(out, 0, sizeof(*out));
    if (body == NULL || len == 0 || len > FG_SEPAY_BODY_MAX || !fg_utf8_valid(body, len)) {
        snprintf(reason, cap, "body missing, too large or not UTF-8");
        return FG_ERANGE;
    }
    char *text = fg_strndup(body, len);
    yajl_val root = fg_json_tree(text, len, error, sizeof(error));
    free(text);
    int rc = 0;
    const char *id_path[] = {"id", NULL}, *amount_path[] = {"transferAmount", NULL};
    yajl_val id = root != NULL ? yajl_tree_get(root, id_path, yajl_t_number) : NULL;
    yajl_val amount = root != NULL ? yajl_tree_get(root, amount_path, yajl_t_number) : NULL;
    if (root == NULL || !YAJL_IS_OBJECT(root)) {
        snprintf(reason, cap, "body is not a JSON object");
        rc = FG_ERANGE;
    } else if (id == NULL || !YAJL_IS_INTEGER(id) || YAJL_GET_INTEGER(id) < 1) {
        snprintf(reason, cap, "id must be a positive integer");
        rc = FG_ERANGE;
    } else if (amount == NULL || !YAJL_IS_INTEGER(amount) || !fg_amount_valid(YAJL_GET_INTEGER(amount))) {
        snprintf(reason, cap, "transferAmount must be an integer in 1..10^15");
        rc = FG_ERANGE;
    } else if (fg_json_text(root, "transferType", type, sizeof(type)) != 0 ||
               (strcmp(type, "in") != 0 && strcmp(type, "out") != 0)) {
        snprintf(reason, cap, "transferType must be in or out");
        rc = FG_ERANGE;
    } else {
        out->id = YAJL_GET_INTEGER(id);
        out->amount = YAJL_GET_INTEGER(amount);
        out->incoming = strcmp(type, "in") == 0;
        text_field(root, "gateway", out->gateway, sizeof(out->gateway));
        text_field(root, "transactionDate", out->transaction_date, sizeof(out->transaction_date));
        text_field(root, "accountNumber", out->account_number, sizeof(out->account_number));
        /* the account as a statement's line of the same transfer names it
         * (they share one record of it); one that is no account number
         * stays as sent, and credits nothing (payments/sepay.c) */
        char key[sizeof(out->account_number)];
        out->account_keyed = fg_bank_account_key(out->account_number, strlen(out->account_number), key, sizeof(key),
                                                 FG_BANK_ACCOUNT_MAX) > 0;
        if (out->account_keyed)
            memcpy(out->account_number, key, sizeof(key));
        text_field(root, "referenceCode", out->reference_code, sizeof(out->reference_code));
        text_field(root, "content", out->content, sizeof(out->content));
    }
    if (root != NULL)
        yajl_tree_free(root);
    return rc;
}
