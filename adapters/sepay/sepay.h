/*
 * sepay.h - SePay's bank-feed webhook (PROTOCOLS.md): a transfer on the
 * collection account, authenticated by "Authorization: Apikey <key>".
 */
#ifndef FG_ADAPTERS_SEPAY_H
#define FG_ADAPTERS_SEPAY_H

#include <stddef.h>
#include <stdint.h>
#include "core/error.h"

/* A transfer memo as the bank passes it on; longer memos are cut (the money
 * is never refused for its memo). */
#define FG_SEPAY_CONTENT_MAX 1000
#define FG_SEPAY_FIELD_MAX 100
/* SePay's bodies are a few hundred bytes. */
#define FG_SEPAY_BODY_MAX (64 * 1024)

typedef struct {
    int64_t id;     /* SePay's transaction id: the dedup key */
    int incoming;   /* transferType "in" */
    int64_t amount; /* transferAmount, VND */
    char gateway[FG_SEPAY_FIELD_MAX + 1];
    char transaction_date[FG_SEPAY_FIELD_MAX + 1]; /* "YYYY-MM-DD HH:MM:SS", GMT+7 */
    char account_number[FG_SEPAY_FIELD_MAX + 1];   /* as statements key it (fg_bank_account_key)… */
    int account_keyed;                             /* …when it is an account number (else as sent) */
    char reference_code[FG_SEPAY_FIELD_MAX + 1];
    char content[FG_SEPAY_CONTENT_MAX + 1];
} fg_sepay_transfer_t;

/** 1 when header is "Apikey <api_key>" (scheme case-insensitive, key compared
 *  in constant time); 0 otherwise, also when api_key is empty. */
int fg_sepay_authorized(const char *api_key, const char *header);

/** Parses the webhook body.  0, or FG_ERANGE with reason set when id,
 *  transferType or transferAmount is missing or out of range. */
int fg_sepay_parse(const char *body, size_t len, fg_sepay_transfer_t *out, char *reason, size_t cap) FG_MUST_USE;

#endif
