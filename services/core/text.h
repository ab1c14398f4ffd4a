/*
 * text.h - checks and conversions for untrusted text: UTF-8, JSON nesting,
 * RFC 3339 timestamps, printable ASCII.
 */
#ifndef FG_CORE_TEXT_H
#define FG_CORE_TEXT_H

#include <stddef.h>
#include <stdint.h>
#include "core/buf.h"
#include "core/error.h"

/** 1 when s[0..n) is well-formed UTF-8 (no overlongs, no surrogates, <= U+10FFFF). */
int fg_utf8_valid(const char *s, size_t n);

/** Decodes the one UTF-8 sequence at the start of s[0..n) (n >= 1) into
 *  *code_point.  Returns its length 1..4, or 0 if it is malformed (overlong,
 *  surrogate, > U+10FFFF, stray continuation byte or truncated).  Used by the
 *  validator and by fg_json_str (buf.c) so both share one decoder. */
int fg_utf8_decode(const char *s, size_t n, uint32_t *code_point);

/** Number of Unicode code points in valid UTF-8 s[0..n). */
size_t fg_utf8_length(const char *s, size_t n);

/** The length of the longest prefix of valid UTF-8 s[0..n) that is at most
 *  max bytes and ends between characters: for "%.*s" of a long text. */
size_t fg_utf8_prefix(const char *s, size_t n, size_t max);

/** Deepest nesting of '[' / '{' in JSON text s[0..n), ignoring brackets inside
 *  strings (with escapes).  "1" -> 0, "{}" -> 1, "{\"a\":[1]}" -> 2.  Stops
 *  counting and returns max_depth + 1 as soon as the depth exceeds max_depth. */
int fg_json_depth(const char *s, size_t n, int max_depth);
/** fg_json_depth and, with comment not NULL, fg_json_has_comment in one
 *  pass: *comment is set to 1 (and the scan stops there) at the first '/'
 *  outside a string, else 0. */
int fg_json_shape(const char *s, size_t n, int max_depth, int *comment);
/** 1 when JSON text s[0..n) holds a '/' outside its strings: the start of a
 *  comment, which yajl's tree parser accepts and JSON does not (and which
 *  would hide brackets from fg_json_depth). */
int fg_json_has_comment(const char *s, size_t n);
/* JSON nesting beyond this is refused before parsing (docs/DESIGN.md §9). */
#define FG_JSON_DEPTH_MAX 32

/** 1 when s[0..n) is 1..max bytes of printable ASCII (0x21..0x7e and space). */
int fg_printable_ascii(const char *s, size_t n, size_t max);

/** A bank account number as every record keys it, whoever wrote it:
 *  without spaces, dots and dashes, letters in upper case ("0011-001 932418"
 *  -> "0011001932418").  A statement line and the bank feed's record of the same
 *  transfer must name one account alike, or the transfer is applied twice.
 *  Writes out NUL-terminated; returns the length, or -1 when another
 *  character remains, nothing does, or it is longer than max (< cap). */
int fg_bank_account_key(const char *s, size_t n, char *out, size_t cap, size_t max);
/* The longest keyed account: an IBAN's 34. */
#define FG_BANK_ACCOUNT_MAX 34

/**
 * Parses an RFC 3339 timestamp ("2026-11-23T05:18:44Z", "…+07:00",
 * "…T05:18:44.123Z") into Unix milliseconds UTC.  Fractions beyond
 * milliseconds are truncated.  Returns 0 or FG_EINVALID.
 */
int fg_time_parse_rfc3339(const char *s, size_t n, int64_t *out_ms) FG_MUST_USE;

/** Writes Unix milliseconds as "YYYY-MM-DDTHH:MM:SSZ" (seconds precision, UTC)
 *  or with ".mmm" when with_ms; cap >= 32.  Returns the length. */
int fg_time_format_rfc3339(int64_t ms, int with_ms, char *buf, size_t cap);

/** Current wall-clock time in Unix milliseconds. */
int64_t fg_now_ms(void);

/** Sleeps ms milliseconds (a signal may end it early; callers loop on time). */
void fg_sleep_ms(int64_t ms);

/** Decodes one application/x-www-form-urlencoded (query) component: '+' is a
 *  space, %XX a byte; a '%' not followed by two hex digits stays as it is.
 *  Returns a NUL-terminated copy (fg_malloc; free()) and its length in *len
 *  (may be NULL). */
char *fg_form_decode(const char *s, size_t n, size_t *len);

/** The next item of a comma-separated list at *p (spaces around it dropped,
 *  empty items skipped) as a new string the caller frees, *p moved past it;
 *  NULL at the end of the list. */
char *fg_list_next(const char **p);

/** The value of header `name` (lower-case) in a header block of
 *  "name: value\n" lines, copied NUL-terminated into scratch (reset first),
 *  or NULL when absent. */
const char *fg_headers_get(const char *headers, size_t len, const char *name, fg_buf_t *scratch);

#endif
