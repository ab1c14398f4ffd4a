/*
 * protocol.h - small pieces of protocol text shared by the adapters:
 * form encoding, query strings, GMT+7 dates, JSON fields as text.
 *
 * Pure functions: no I/O, no clock of their own.
 */
#ifndef FG_ADAPTERS_PROTOCOL_H
#define FG_ADAPTERS_PROTOCOL_H

#include <stddef.h>
#include <stdint.h>
#include <yajl/yajl_tree.h>
#include "core/buf.h"
#include "core/error.h"

/* Parameters kept from one query string: VNPay sends 13, MoMo 13; anything
 * beyond this is not a provider's notification. */
#define FG_PARAMS_MAX 48
/* Vietnam's providers write dates in GMT+7 (no daylight saving). */
#define FG_GMT7_OFFSET_S (7 * 3600)

/* One name/value pair, not owned. */
typedef struct {
    const char *name, *value;
} fg_kv_t;

/* Decoded name=value pairs of a query string, owned. */
typedef struct {
    int count;
    int truncated; /* more pairs than FG_PARAMS_MAX were given */
    char *names[FG_PARAMS_MAX];
    char *values[FG_PARAMS_MAX];
} fg_params_t;

/** Appends s[0..n) form-encoded the way VNPay signs it: space -> '+', every
 *  byte other than A-Z a-z 0-9 - _ . -> %XX (upper-case hex). */
void fg_form_encode(fg_buf_t *b, const char *s, size_t n);

/** Parses "a=1&b=x+y%21" (n bytes), decoding '+' and %XX; a malformed %
 *  escape is kept as it is.  Free with fg_params_free. */
void fg_params_parse(fg_params_t *p, const char *s, size_t n);
/** The first value of name, or NULL. */
const char *fg_params_get(const fg_params_t *p, const char *name);
void fg_params_free(fg_params_t *p);

/** Writes Unix milliseconds as GMT+7 "yyyyMMddHHmmss" (15 bytes with NUL). */
void fg_format_gmt7(int64_t ms, char out[15]);

/** Parses a string of 1..18 decimal digits.  0 or FG_EINVALID. */
int fg_parse_digits(const char *s, int64_t *out) FG_MUST_USE;

/** The member name of a JSON object as text: a string as it is, an integer
 *  in decimal.  Writes "" and returns FG_ENOTFOUND when absent or of another
 *  type, FG_ETOOLONG when it does not fit cap (with the NUL). */
int fg_json_text(yajl_val obj, const char *name, char *out, size_t cap);

/** Lower-cases ASCII hex digits in place. */
void fg_hex_lower(char *s);

#endif
