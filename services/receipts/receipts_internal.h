/*
 * receipts_internal.h - what the receipt store and its batch issuer share.
 */
#ifndef FG_RECEIPTS_RECEIPTS_INTERNAL_H
#define FG_RECEIPTS_RECEIPTS_INTERNAL_H

#include "receipts/receipts.h"

/* Queued receipts one issuing transaction claims. */
#define FG_RECEIPT_CLAIM_MAX 200

typedef struct {
    char id[FG_RECEIPT_ID_MAX + 1]; /* the receipt's public id */
    int64_t payment_id;
} fg_receipt_claim_t;

/** Inside the caller's transaction, the n queued receipts it claimed (their
 *  queue rows locked): numbered, written and unqueued in a few statements
 *  (batch.c).  0; FG_ERANGE when one of their series is used up (nothing of
 *  the batch written: issue them one by one); a database code. */
int fg_receipt_issue_batch(fg_db_t *db, const fg_receipt_claim_t *claims, int n, int64_t now_ms) FG_MUST_USE;

#endif
