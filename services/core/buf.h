/*
 * buf.h - a growable byte buffer and a JSON writer on top of it.
 *
 * Allocation failure aborts (fg_oom), so appends cannot fail; callers build
 * whole responses without checking each step.
 */
#ifndef FG_CORE_BUF_H
#define FG_CORE_BUF_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
    char *data; /* always NUL-terminated when cap > 0 */
    size_t len;
    size_t cap;
} fg_buf_t;

/* brace initialiser macros stay as written (clang-format 14 would unfold them) */
/* clang-format off */
#define FG_BUF_INIT                                                                                                    \
    {                                                                                                                  \
        NULL, 0, 0                                                                                                     \
    }
/* clang-format on */

/** The single out-of-memory exit: prints and aborts. */
_Noreturn void fg_oom(void);
void *fg_malloc(size_t n); /* never NULL */
void *fg_calloc(size_t n, size_t size);
void *fg_realloc(void *p, size_t n);
char *fg_strdup(const char *s);
char *fg_strndup(const char *s, size_t n);

void fg_buf_reserve(fg_buf_t *b, size_t extra);
void fg_buf_append(fg_buf_t *b, const void *p, size_t n);
void fg_buf_puts(fg_buf_t *b, const char *s);
void fg_buf_putc(fg_buf_t *b, char c);
void fg_buf_printf(fg_buf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void fg_buf_reset(fg_buf_t *b); /* len = 0, keeps memory */
void fg_buf_free(fg_buf_t *b);
/** Hands the heap data to the caller (NUL-terminated, never NULL) and resets b. */
char *fg_buf_steal(fg_buf_t *b, size_t *len);

/* ---- JSON writing.  Commas are the caller's business: the helpers that take
 * a key write `"key":value` and a leading comma when `comma` is non-zero. */

/** Appends s (n bytes, UTF-8) as a JSON string literal with quotes, escaping
 *  '"', '\\', control characters (\n \r \t \b \f or \u00XX) and U+2028/9. */
void fg_json_str(fg_buf_t *b, const char *s, size_t n);
void fg_json_cstr(fg_buf_t *b, const char *s);                                 /* NULL writes null */
void fg_json_strn(fg_buf_t *b, const char *s, size_t n);                       /* NULL writes null */
void fg_json_kv_str(fg_buf_t *b, int comma, const char *key, const char *val); /* NULL -> null */
void fg_json_kv_strn(fg_buf_t *b, int comma, const char *key, const char *val, size_t n);
void fg_json_kv_int(fg_buf_t *b, int comma, const char *key, int64_t val);
void fg_json_kv_bool(fg_buf_t *b, int comma, const char *key, int val);
void fg_json_kv_null(fg_buf_t *b, int comma, const char *key);
void fg_json_key(fg_buf_t *b, int comma, const char *key); /* `,"key":` */

#endif
