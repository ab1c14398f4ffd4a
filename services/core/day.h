/*
 * day.h - business days: calendar days in GMT+7 (Asia/Ho_Chi_Minh, which
 * keeps no daylight saving), as yyyymmdd integers.  A payment at 23:30 UTC
 * on the 1st belongs to the 2nd.
 */
#ifndef FG_CORE_DAY_H
#define FG_CORE_DAY_H

#include <stddef.h>
#include <stdint.h>

#define FG_DAY_MS 86400000LL
/* GMT+7 */
#define FG_DAY_OFFSET_MS (7 * 3600000LL)

/** yyyymmdd of a valid calendar date (1970..9999), or -1. */
int fg_day_make(int y, int m, int d, int32_t *out);
/** "YYYY-MM-DD" (exactly 10 bytes) as yyyymmdd: 0, or -1. */
int fg_day_parse(const char *s, size_t len, int32_t *out);
/** Days since 1970-01-01 of a yyyymmdd day. */
int64_t fg_day_number(int32_t day);
/** Midnight GMT+7 starting the day, in Unix milliseconds. */
int64_t fg_day_start_ms(int32_t day);
/** The business day of a time. */
int32_t fg_day_of_ms(int64_t ms);
/** The day after; the day before. */
int32_t fg_day_next(int32_t day);
int32_t fg_day_prev(int32_t day);
/** "YYYY-MM-DD" into out (11 bytes). */
void fg_day_format(int32_t day, char out[11]);
/** A time as "YYYY-MM-DD HH:MM" in GMT+7 into out (17 bytes). */
void fg_day_time_format(int64_t ms, char out[17]);

#endif
