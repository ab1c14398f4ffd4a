/*
 * ids.h - public identifiers and payer-facing order codes.
 *
 * Public ids are a short type prefix plus a 26-character ULID in Crockford
 * base32 (48-bit millisecond time, 80 random bits from OpenSSL's RAND_bytes):
 * time-ordered, so b-tree inserts stay at the right edge, and unguessable.
 */
#ifndef FG_CORE_IDS_H
#define FG_CORE_IDS_H

#include <stddef.h>
#include <stdint.h>
#include "core/error.h"

#define FG_ULID_LEN 26
/* Longest prefix is 4 bytes ("ord_"); 26 ULID chars; NUL. */
#define FG_ID_CAP 40

/* Order code: 10 random Crockford base32 symbols (50 bits) plus one check
 * symbol.  See fg_order_code_check() for why the check is not Crockford's own. */
#define FG_ORDER_CODE_DATA_LEN 10
#define FG_ORDER_CODE_LEN 11

/** Crockford base32 alphabet "0123456789ABCDEFGHJKMNPQRSTVWXYZ". */
extern const char fg_crockford_alphabet[33];

/** Decodes one Crockford symbol, case-insensitively, reading I/L as 1 and O
 *  as 0 (as Crockford prescribes).  Returns 0..31, or -1 for anything else. */
int fg_crockford_value(char c);

/** Writes prefix + ULID(now_ms, random) + NUL into out (cap >= FG_ID_CAP).
 *  Returns the length, or FG_EIO if the random source failed. */
int fg_id_new(const char *prefix, char *out, size_t cap) FG_MUST_USE;

/** Same with a given time and 10 random bytes (for tests and replays). */
int fg_id_format(const char *prefix, uint64_t time_ms, const uint8_t random[10], char *out, size_t cap);

/** 1 when s (len bytes) is prefix + 26 valid upper-case Crockford symbols. */
int fg_id_valid(const char *prefix, const char *s, size_t len);

/**
 * The check symbol for FG_ORDER_CODE_DATA_LEN data symbols: Luhn mod N with
 * N = 32 over the Crockford alphabet.  Crockford's own mod-37 check adds the
 * symbols * ~ $ = which banks strip from transfer memos, so our check symbol
 * is always one of the 32 ordinary symbols.  It catches every single-symbol
 * error and almost every adjacent transposition.  data must hold valid
 * symbols (asserted).  Returns the check character.
 */
char fg_order_code_check(const char *data);

/** Writes a fresh random order code (11 chars + NUL, cap >= 12). 0 or FG_EIO. */
int fg_order_code_new(char *out, size_t cap) FG_MUST_USE;

/**
 * Normalises a code as a person may have typed it: drops spaces, '-', '.',
 * '_' and other punctuation, upper-cases, maps I/L to 1 and O to 0.  If the
 * result is exactly 11 symbols whose check symbol verifies, writes it (and a
 * NUL) to out (cap >= 12) and returns 0; otherwise FG_EINVALID/FG_ECHECKSUM.
 */
int fg_order_code_normalize(const char *in, size_t len, char *out, size_t cap);

/**
 * Finds candidate order codes inside free text such as a bank transfer memo
 * ("HP so 7K3M-9QXW 2A5 nop tien"): every window of 11 symbols, taken from
 * runs of alphanumerics that may be split by spaces and punctuation, whose
 * check symbol verifies.  A random window passes the check 1 time in 32, so
 * the caller must still look each candidate up; 50 random bits per code make
 * a false match against a real open order negligible.  Writes up to max
 * distinct candidates, in order of appearance, into out; returns the count.
 */
int fg_order_code_find_all(const char *text, size_t len, char (*out)[FG_ORDER_CODE_LEN + 1], int max);

#endif
