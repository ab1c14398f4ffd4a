/*
 * money.h - amounts in int64 minor units, ISO 4217 currencies, overflow-checked
 * arithmetic.  No floating point anywhere.
 */
#ifndef FG_CORE_MONEY_H
#define FG_CORE_MONEY_H

#include <stddef.h>
#include <stdint.h>
#include "core/error.h"

/* An amount on an order, payment or refund is 1..10^15 minor units: 10^15 VND
 * is far beyond any bill, and 10^15 * 9000 still fits in int64, so sums of a
 * day's collections cannot overflow before the checked add notices. */
#define FG_AMOUNT_MIN 1LL
#define FG_AMOUNT_MAX 1000000000000000LL

typedef struct {
    char code[4];     /* ISO 4217 alphabetic code, NUL-terminated, e.g. "VND" */
    uint16_t numeric; /* ISO 4217 numeric code, e.g. 704 */
    uint8_t exponent; /* minor-unit digits: VND 0, USD 2, KWD 3 */
} fg_currency_t;

/** Finds an active ISO 4217 currency by its upper-case 3-letter code (exact
 *  length len, not NUL-terminated).  Returns a static entry or NULL. */
const fg_currency_t *fg_currency_find(const char *code, size_t len);

/** 1 when 1 <= amount <= FG_AMOUNT_MAX. */
int fg_amount_valid(int64_t amount);

/** *out = a + b; FG_EOVERFLOW (and *out untouched) if it would overflow. */
int fg_money_add(int64_t a, int64_t b, int64_t *out) FG_MUST_USE;
/** *out = a - b; FG_EOVERFLOW (and *out untouched) if it would overflow. */
int fg_money_sub(int64_t a, int64_t b, int64_t *out) FG_MUST_USE;
/** *out = a * b; FG_EOVERFLOW (and *out untouched) if it would overflow. */
int fg_money_mul(int64_t a, int64_t b, int64_t *out) FG_MUST_USE;

/**
 * Parses a decimal text amount as written on statements and by people,
 * "1500000", "1500000.00", "-12.5", "12,50" (comma as decimal mark when
 * decimal_comma is set), into minor units for a currency with `exponent`
 * digits.  No thousands separators, no exponent notation, at most `exponent`
 * fraction digits (extra non-zero digits are FG_EINVALID, extra zeros are
 * accepted).  For a currency without minor units (VND), a fraction of exactly
 * three digits is FG_EINVALID: "250.000" and "250,000" are how people write
 * 250000 with a thousands separator, and reading them as 250 would take a
 * thousandth of the money.  FG_EOVERFLOW if the value does not fit int64.
 */
int fg_money_parse(const char *text, size_t len, int exponent, int decimal_comma, int64_t *out) FG_MUST_USE;

/** Writes amount as a decimal with `exponent` fraction digits ("-12.50") and a
 *  NUL; returns the length or FG_ETOOLONG if cap is too small (32 suffices). */
int fg_money_format(int64_t amount, int exponent, char *buf, size_t cap);

/** Writes amount the way Vietnamese bills write money, '.' between
 *  thousands and ',' before the `exponent` minor digits ("4.500.000",
 *  "-1.234,56"), and a NUL; returns the length or FG_ETOOLONG if cap is too
 *  small (40 suffices). */
int fg_money_format_vi(int64_t amount, int exponent, char *buf, size_t cap);

/** Money as the pages and the messages to payers show it: the amount in the
 *  currency's own minor-unit digits (fg_money_format_vi; an unknown code is
 *  taken as without minor units), a no-break space (U+00A0) and "₫" for VND
 *  (also for a NULL currency) or the code for another: "4.500.000 ₫",
 *  "1.234,56 USD".  UTF-8 and a NUL; returns the length or FG_ETOOLONG
 *  (FG_MONEY_DISPLAY_MAX suffices). */
int fg_money_display(int64_t amount, const char *currency, char *buf, size_t cap);
/* 20 digits, 6 separators, a sign, a ',' and a few leading zeros, the space
 * and the symbol or code: far below this. */
#define FG_MONEY_DISPLAY_MAX 64

#endif
