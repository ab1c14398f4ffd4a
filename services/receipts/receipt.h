/*
 * receipt.h - an e-receipt (biên lai điện tử for fees and charges, Decree
 * 123/2020/ND-CP, Circular 78/2021/TT-BTC): what a succeeded payment is
 * issued, numbered in a gapless series per merchant and serial.
 *
 * This header is the meeting point of the receipt modules: the store and
 * numbering (store.c), the signed XML (xml.c, sign.c) and the offline QR
 * payload (qr_payload.c) all read an fg_receipt_t and nothing else.
 */
#ifndef FG_RECEIPTS_RECEIPT_H
#define FG_RECEIPTS_RECEIPT_H

#include <stddef.h>
#include <stdint.h>

#define FG_RECEIPT_ID_MAX 40
#define FG_RECEIPT_NUMBER_MAX 9999999 /* seven digits: SHDon */
#define FG_RECEIPT_FORM_MAX 11        /* KHMSHDon, the form symbol */
#define FG_RECEIPT_SERIAL_MAX 11      /* KHHDon, the serial symbol */
#define FG_RECEIPT_NAME_MAX 800       /* bytes of UTF-8: 200 characters */
#define FG_RECEIPT_TAX_CODE_MAX 14    /* MST: 10 digits, or 10-3 */
#define FG_RECEIPT_ADDRESS_MAX 1600   /* bytes of UTF-8: 400 characters */
#define FG_RECEIPT_TEXT_MAX 400
#define FG_RECEIPT_DESCRIPTION_MAX 4000 /* the order's description: 1000 characters */

typedef enum {
    FG_RECEIPT_ORIGINAL = 0,    /* for a succeeded payment */
    FG_RECEIPT_ADJUSTMENT = 2,  /* TCHDon 2: a refund's negative adjustment of an original */
    FG_RECEIPT_REPLACEMENT = 1, /* TCHDon 1: replaces an original (kept readable, marked replaced) */
} fg_receipt_kind_t;

typedef enum {
    FG_RECEIPT_ISSUED = 0,
    FG_RECEIPT_ADJUSTED,  /* an adjustment references it */
    FG_RECEIPT_REPLACED,  /* a replacement references it */
    FG_RECEIPT_CANCELLED, /* readable, and says so */
} fg_receipt_status_t;

typedef struct {
    char id[FG_RECEIPT_ID_MAX + 1];         /* rct_… */
    char payment_id[FG_RECEIPT_ID_MAX + 1]; /* pay_… */
    char order_id[FG_RECEIPT_ID_MAX + 1];   /* ord_… */
    char merchant_id[FG_RECEIPT_ID_MAX + 1];
    fg_receipt_kind_t kind;
    fg_receipt_status_t status;
    char related_id[FG_RECEIPT_ID_MAX + 1]; /* the original an adjustment or replacement refers to; "" */
    /* numbering: a gapless series per merchant and serial */
    char form[FG_RECEIPT_FORM_MAX + 1];
    char serial[FG_RECEIPT_SERIAL_MAX + 1];
    int64_t number; /* 1..FG_RECEIPT_NUMBER_MAX */
    /* the collecting unit (NBan) */
    char unit_name[FG_RECEIPT_NAME_MAX + 1];
    char unit_tax_code[FG_RECEIPT_TAX_CODE_MAX + 1];
    char unit_address[FG_RECEIPT_ADDRESS_MAX + 1];
    /* the payer (NMua) and what was paid for */
    char payer_name[FG_RECEIPT_NAME_MAX + 1];
    char payer_ref[FG_RECEIPT_TEXT_MAX + 1]; /* the order's payer.ref (the payer's own code); "" when none */
    char bill_ref[FG_RECEIPT_TEXT_MAX + 1];  /* the order's merchant_ref (the bill's number) */
    char fee_type[FG_RECEIPT_TEXT_MAX + 1];
    char description[FG_RECEIPT_DESCRIPTION_MAX + 1];
    int64_t amount; /* minor units; negative for an adjustment */
    char currency[4];
    char method[17];       /* the adapter: vnpay, momo, vietqr, sandbox */
    char provider_ref[65]; /* the provider's transaction id */
    int64_t paid_at_ms;    /* UTC ms; shown in GMT+7 */
    int64_t issued_at_ms;
    int64_t row_id; /* receipts.id: the order of a list, its cursor */
} fg_receipt_t;

#endif
