/*
 * json.h - reading JSON request bodies into typed input, for every door: one
 * parse with the transport's limits, the field readers, and one field error
 * that says what kind of mistake it is, never an HTTP status (the API maps
 * the kind: http/call.c).
 */
#ifndef FG_CORE_JSON_H
#define FG_CORE_JSON_H

#include <stddef.h>
#include <yajl/yajl_tree.h>

typedef enum {
    FG_FIELD_MALFORMED,    /* not what the contract says: not JSON, a missing field, a wrong type, an unknown field */
    FG_FIELD_UNACCEPTABLE, /* well formed, but the value is refused: too long, out of range, an unknown code */
    FG_FIELD_MEDIA_TYPE,   /* the body is not declared as JSON (Content-Type) */
} fg_field_kind_t;

/** Why an input was refused: the kind, a stable code ("missing_field"), a
 *  message for people and the offending field ("" when none). */
typedef struct {
    fg_field_kind_t kind;
    const char *code; /* static */
    char message[160];
    char field[64];
} fg_field_error_t;

/** Fills err (the message from fmt) and returns -1, for `return fg_field_fail(…)`. */
int fg_field_fail(fg_field_error_t *err, fg_field_kind_t kind, const char *code, const char *field, const char *fmt,
                  ...) __attribute__((format(printf, 5, 6)));

/**
 * Parses a request body as JSON after the transport checks: valid UTF-8, no
 * NUL byte, nesting <= FG_JSON_DEPTH_MAX, an object at the top.  body must be
 * NUL-terminated after len bytes.  Returns the tree (free it with
 * yajl_tree_free) or NULL with err filled (FG_FIELD_MALFORMED).
 */
yajl_val fg_json_parse_object(const char *body, size_t len, fg_field_error_t *err);

/** yajl_tree_parse(text, error, cap) of NUL-terminated text of at most len
 *  bytes (its first NUL ends it, as it ends yajl's reading),
 *  unless it nests deeper than FG_JSON_DEPTH_MAX, holds a comment or names a
 *  member twice in one object: then NULL with error saying so.  For JSON from
 *  outside (providers, banks) that does not go through fg_json_parse_object:
 *  the tree's depth bounds the stack that freeing and walking it take, and a
 *  body has one meaning (which of two "amount"s a reader takes, and which one
 *  a signature's text was built from, never depends on the reader). */
yajl_val fg_json_tree(const char *text, size_t len, char *error, size_t cap);

/** The member name of object obj, or NULL when absent (or obj is not an
 *  object). */
yajl_val fg_json_member(yajl_val obj, const char *name);

/** Every member name of object obj is one of names[0..n): 0; else -1 with
 *  err filled (malformed, unknown_field, naming the first other member), so
 *  that a misspelt field ("amout") is refused instead of read as absent. */
int fg_json_known_fields(yajl_val obj, const char *const *names, size_t n, fg_field_error_t *err);

/** A string member v named field: absent or null -> *out NULL and 0; not a
 *  string -> malformed; longer than max (bytes, or characters when
 *  count_chars) or holding control characters (newline and tab allowed when
 *  count_chars) -> unacceptable.  0, or -1 with err filled. */
int fg_json_string(yajl_val v, const char *field, size_t max, int count_chars, const char **out, fg_field_error_t *err);

/** As fg_json_string, but absent or null is malformed (missing_field) and
 *  "" unacceptable (empty_string). */
int fg_json_required_string(yajl_val v, const char *field, size_t max, const char **out, fg_field_error_t *err);

#endif
