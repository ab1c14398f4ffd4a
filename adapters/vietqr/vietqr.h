/*
 * vietqr.h - VietQR: the EMVCo merchant-presented QR payload of a NAPAS 247
 * transfer to the city's collection account, amount fixed and the order code
 * as the purpose (PROTOCOLS.md).  Transfers are reported by the bank feed
 * (adapters/sepay); this adapter has no notification of its own.
 */
#ifndef FG_ADAPTERS_VIETQR_H
#define FG_ADAPTERS_VIETQR_H

#include <stddef.h>
#include <stdint.h>
#include "adapter.h"

/* EMVCo limits: a value's length is two digits; the amount (54) is at most
 * 13 characters; the purpose of transaction (62/08) at most 25. */
#define FG_VIETQR_VALUE_MAX 99
#define FG_VIETQR_AMOUNT_DIGITS_MAX 13
#define FG_VIETQR_PURPOSE_MAX 25
/* Bank account numbers in Vietnam run to 19 characters. */
#define FG_VIETQR_ACCOUNT_MAX 19

/** CRC-16/CCITT-FALSE: polynomial 0x1021, initial 0xFFFF, no reflection, no
 *  final XOR.  CRC("123456789") = 0x29B1. */
uint16_t fg_crc16_ccitt_false(const void *data, size_t n);

/**
 * Appends the payload: 00=01, 01=12 (one-time), 38=[00 A000000727,
 * 01=[00 bin, 01 account], 02 QRIBFTTA], 53=704, 54=amount, 58=VN,
 * 62=[08 purpose], 63=CRC over everything up to and including "6304".
 * bin: 6 digits; account: 1..19 letters/digits; amount: 1..13 digits of VND;
 * purpose: 1..25 printable ASCII.  0, FG_EINVALID or FG_ERANGE (amount).
 */
int fg_vietqr_payload(const char *bin, const char *account, int64_t amount, const char *purpose,
                      fg_buf_t *out) FG_MUST_USE;

/** 1 when vietqr.bank_bin and vietqr.account_no are set. */
int fg_vietqr_configured(const fg_config_t *cfg);

extern const fg_adapter_t fg_adapter_vietqr;

#endif
