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
/* The time a signed notification states (VNPay's vnp_PayDate, MoMo's
 * responseTime) must lie in [now - MAX_AGE, now + MAX_AHEAD].  Wide on
 * purpose: providers retry a notification for hours or days, and only a
 * replay of an old signed request is to be stopped.  Query answers we asked
 * for ourselves are not held to it. */
#define FG_NOTIFY_MAX_AGE_MS (7LL * 24 * 3600 * 1000)
#define FG_NOTIFY_MAX_AHEAD_MS (3600LL * 1000)

/* One name/value pair, not owned. */
typedef struct {
    const char *name, *value;
} fg_kv_t;

/* Decoded name=value pairs of a query string, owned. */
typedef struct {
    int count;
    int truncated;        /* more pairs than FG_PARAMS_MAX were given */
    const char *repeated; /* the first name given more than once, or NULL */
    char *names[FG_PARAMS_MAX];
    char *values[FG_PARAMS_MAX];
    unsigned char again[FG_PARAMS_MAX]; /* 1: this name appears more than once */
} fg_params_t;

/** Appends s[0..n) form-encoded the way VNPay signs it: space -> '+', every
 *  byte other than A-Z a-z 0-9 - _ . -> %XX (upper-case hex). */
void fg_form_encode(fg_buf_t *b, const char *s, size_t n);

/** Parses "a=1&b=x+y%21" (n bytes), decoding '+' and %XX; a malformed %
 *  escape is kept as it is.  A name given more than once (after decoding)
 *  sets p->repeated: signed input with a repeated name must be refused, as
 *  the signature and the reader could each take another of its values.
 *  Free with fg_params_free. */
void fg_params_parse(fg_params_t *p, const char *s, size_t n);
/** The value of name; NULL when absent or given more than once (ambiguous). */
const char *fg_params_get(const fg_params_t *p, const char *name);
void fg_params_free(fg_params_t *p);

/** Writes Unix milliseconds as GMT+7 "yyyyMMddHHmmss" (15 bytes with NUL). */
void fg_format_gmt7(int64_t ms, char out[15]);

/** Parses GMT+7 "yyyyMMddHHmmss" (years 1970..9999) into Unix
 *  milliseconds.  0 or FG_EINVALID. */
int fg_parse_gmt7(const char *s, int64_t *ms) FG_MUST_USE;

/** 0 when at_ms lies within [now_ms - FG_NOTIFY_MAX_AGE_MS, now_ms +
 *  FG_NOTIFY_MAX_AHEAD_MS]; FG_EINVALID otherwise, with reason naming the
 *  field (what). */
int fg_notify_fresh(int64_t at_ms, int64_t now_ms, const char *what, char *reason, size_t cap) FG_MUST_USE;

/** Parses a string of 1..18 decimal digits.  0 or FG_EINVALID. */
int fg_parse_digits(const char *s, int64_t *out) FG_MUST_USE;

/** The member name of a JSON object as text: a string as it is, an integer
 *  in decimal.  Writes "" and returns FG_ENOTFOUND when absent or of another
 *  type, FG_ETOOLONG when it does not fit cap (with the NUL). */
int fg_json_text(yajl_val obj, const char *name, char *out, size_t cap);

/** Lower-cases ASCII hex digits in place. */
void fg_hex_lower(char *s);

#endif
