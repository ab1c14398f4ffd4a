/*
 * fee.h - a gateway's contractual fee schedule (PROTOCOLS.md "Gateway
 * settlements"): a percentage of each transaction, a fixed part, an optional
 * minimum and maximum, rounded to the minor unit as the provider rounds.
 * Integers only: the percentage is held in parts per million.
 *
 * The text form (config keys recon.fee.{gateway}, README):
 *
 *   schedule = term [ "+" term ] *( "," option )
 *   term     = percent "%" | fixed              at most one of each
 *   percent  = 1*3DIGIT [ "." 1*4DIGIT ]        0 to 100
 *   fixed    = 1*16DIGIT                        minor units, at most FG_AMOUNT_MAX
 *   option   = "min=" fixed | "max=" fixed | "round=" ( "half_up" | "up" | "down" )
 *
 * e.g. "1.1%+1650", "1.5%", "2.2%+1100,min=3300,round=up", "5500".  Blanks
 * between tokens are ignored; each option at most once; min <= max.
 */
#ifndef FG_CORE_FEE_H
#define FG_CORE_FEE_H

#include <stddef.h>
#include <stdint.h>
#include "core/error.h"

/* 100 % in parts per million. */
#define FG_FEE_PPM_MAX 1000000
/* A percent is written with at most this many decimals: 1.2345 % is 12,345 ppm. */
#define FG_FEE_PERCENT_DECIMALS_MAX 4
/* The longest schedule text: three terms and options fit in far less. */
#define FG_FEE_TEXT_MAX 120

typedef enum {
    FG_FEE_ROUND_HALF_UP, /* 0.5 of a minor unit and more goes up (VNPay, MoMo) */
    FG_FEE_ROUND_UP,      /* any fraction goes up */
    FG_FEE_ROUND_DOWN     /* fractions are dropped */
} fg_fee_rounding_t;

typedef struct {
    int64_t percent_ppm; /* 0..FG_FEE_PPM_MAX */
    int64_t fixed;       /* minor units, 0..FG_AMOUNT_MAX */
    int64_t min;         /* minor units; 0 = none */
    int64_t max;         /* minor units; 0 = none */
    fg_fee_rounding_t rounding;
} fg_fee_schedule_t;

/** Parses a schedule of len bytes (not NUL-terminated).  0, or FG_EINVALID
 *  (*out then zeroed) for anything the grammar above does not allow. */
int fg_fee_parse(const char *text, size_t len, fg_fee_schedule_t *out) FG_MUST_USE;

/** The fee of one transaction of amount minor units (>= 0): the percentage
 *  rounded by the schedule's mode, plus the fixed part, then raised to the
 *  minimum and capped at the maximum.  0; FG_EINVALID (amount < 0);
 *  FG_EOVERFLOW (never for amounts up to FG_AMOUNT_MAX). */
int fg_fee_of(const fg_fee_schedule_t *s, int64_t amount, int64_t *fee) FG_MUST_USE;

/** Writes the schedule in its text form (normalised: "1.1%+1650,min=2000");
 *  returns the length or FG_ETOOLONG when cap is too small (FG_FEE_TEXT_MAX
 *  suffices). */
int fg_fee_format(const fg_fee_schedule_t *s, char *buf, size_t cap);

#endif
