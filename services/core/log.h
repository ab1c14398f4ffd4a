/*
 * log.h - the one way feegate writes a log line.
 *
 * Every line is one JSON object ending in '\n':
 *
 *     {"level":"warn","msg":"provider query failed","ts":"2026-11-23T05:18:44.123Z","payment":"pay_…"}
 *
 * "level" and "msg" come first, then "ts" (RFC 3339, UTC, milliseconds), then
 * the caller's fields in the order they were added.  Every key and string
 * value goes through the JSON writer of core/buf.h, so text from the database,
 * a provider or a client (quotes, backslashes, control characters, invalid
 * UTF-8) can never break a line or forge a field.
 *
 * A line is built in memory and handed to the kernel with write(2) under a
 * process-wide lock, so lines from concurrent threads never interleave, not
 * even when a pipe takes a long line in pieces.
 *
 * Use:
 *
 *     fg_log_t l;
 *     fg_log_begin(&l, FG_LOG_WARN, "provider query failed");
 *     fg_log_str(&l, "payment", payment_id);
 *     fg_log_int(&l, "attempt", attempt);
 *     fg_log_end(&l);                          // stderr; fg_log_end_to(&l, fd) elsewhere
 *
 * Operational lines go to stderr (fg_log_end); the per-request access line
 * goes to stdout (fg_log_end_to(&l, STDOUT_FILENO)).  Every begun line must be
 * ended: the end writes it and frees its memory.  Allocation failure aborts in
 * fg_oom(), so no call here can fail.
 */
#ifndef FG_CORE_LOG_H
#define FG_CORE_LOG_H

#include <stddef.h>
#include <stdint.h>
#include "core/buf.h"

typedef enum {
    FG_LOG_DEBUG,
    FG_LOG_INFO,
    FG_LOG_WARN,
    FG_LOG_ERROR,
} fg_log_level_t;

/* The minimum level before fg_log_set_level is called: every line the
 * server wrote before this module existed is info or above. */
#define FG_LOG_LEVEL_DEFAULT FG_LOG_INFO

/** A line being built.  Lives on the caller's stack between fg_log_begin and
 *  fg_log_end; its fields are private to log.c. */
typedef struct {
    fg_buf_t line;
    int enabled; /* 0: below the minimum level, every call is a no-op */
} fg_log_t;

/** Sets the process-wide minimum level (any thread, any time): lines below it
 *  are dropped without being formatted. */
void fg_log_set_level(fg_log_level_t min);

/** The current minimum level. */
fg_log_level_t fg_log_level(void);

/** 1 when a line of this level would be written: for callers that would do
 *  work only to log it. */
int fg_log_enabled(fg_log_level_t level);

/** "debug", "info", "warn" or "error". */
const char *fg_log_level_name(fg_log_level_t level);

/** Starts a line: level, msg (a constant text operators search for; variable
 *  details belong in fields) and the current time.  msg must not be NULL. */
void fg_log_begin(fg_log_t *l, fg_log_level_t level, const char *msg);

/** Adds "key":"val".  val is NUL-terminated text of any origin; NULL writes
 *  null.  Keys are the caller's constants and must not repeat "level", "msg"
 *  or "ts". */
void fg_log_str(fg_log_t *l, const char *key, const char *val);

/** Adds "key":"val" from n bytes (may hold NUL, written as \u0000); NULL
 *  writes null. */
void fg_log_strn(fg_log_t *l, const char *key, const char *val, size_t n);

/** Adds "key":val as a JSON number. */
void fg_log_int(fg_log_t *l, const char *key, int64_t val);

/** Ends the line, writes it to stderr and frees it. */
void fg_log_end(fg_log_t *l);

/** Same, to file descriptor fd.  A write that fails (a closed descriptor, a
 *  full disk) drops the line: there is nowhere left to report it.  errno is
 *  left as it was before the call. */
void fg_log_end_to(fg_log_t *l, int fd);

#endif
