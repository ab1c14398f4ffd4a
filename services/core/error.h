/*
 * error.h - the one error convention of feegate.
 *
 * Fallible functions return 0 on success or a negative FG_E* code from this
 * enum; fg_strerror() names it.  Operating errors (bad input, a database
 * error, a deadlock) are returned and answered; programmer errors are asserted.
 */
#ifndef FG_CORE_ERROR_H
#define FG_CORE_ERROR_H

#define FG_ERRNO_MAP(X)                                                                                                \
    X(INVALID, -1, "invalid input")                                                                                    \
    X(OVERFLOW, -2, "arithmetic overflow")                                                                             \
    X(RANGE, -3, "value out of range")                                                                                 \
    X(NOMEM, -4, "out of memory")                                                                                      \
    X(IO, -5, "input/output error")                                                                                    \
    X(DB, -6, "database error")                                                                                        \
    X(RETRY, -7, "transient database conflict, retry")                                                                 \
    X(NOTFOUND, -8, "not found")                                                                                       \
    X(CONFLICT, -9, "conflict")                                                                                        \
    X(TOOLONG, -10, "too long")                                                                                        \
    X(CHECKSUM, -11, "checksum mismatch")                                                                              \
    X(UNAVAILABLE, -12, "unavailable")                                                                                 \
    X(STATE, -13, "not allowed in its current state")                                                                  \
    X(EXCEEDS, -14, "amount exceeds what is allowed")                                                                  \
    X(UNSUPPORTED, -15, "not supported")                                                                               \
    X(REFUSED, -16, "refused by the provider")

typedef enum {
    FG_OK = 0,
#define FG_ERR_ENUM(name, value, text) FG_E##name = value,
    FG_ERRNO_MAP(FG_ERR_ENUM)
#undef FG_ERR_ENUM
} fg_err_t;

/** Returns a static, human-readable text for an FG_E* code (or "ok"). */
const char *fg_strerror(int err);

#define FG_MUST_USE __attribute__((warn_unused_result))

#endif
