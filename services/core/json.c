/*
 * json.c - request bodies into typed input (json.h).
 */
#include "core/json.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/buf.h"
#include "core/text.h"

/* Drops what a cut left of a UTF-8 character at the end of s (valid UTF-8
 * before the cut): a field or message that names a long key of the body is
 * cut to its buffer, and an error's JSON must stay UTF-8. */
static void cut_to_character(char *s)
{
    size_t n = strlen(s);
    if (n == 0)
        return;
    size_t last = n - 1; /* the first byte of the last character */
    while (last > 0 && n - last < 4 && ((unsigned char)s[last] & 0xC0) == 0x80)
        last--;
    unsigned char c = (unsigned char)s[last];
    size_t want = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
    if (n - last < want)
        s[last] = '\0';
}

int fg_field_fail(fg_field_error_t *err, fg_field_kind_t kind, const char *code, const char *field, const char *fmt,
                  ...)
{
    va_list ap;
    err->kind = kind;
    err->code = code;
    snprintf(err->field, sizeof(err->field), "%s", field != NULL ? field : "");
    cut_to_character(err->field);
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof(err->message), fmt, ap);
    va_end(ap);
    cut_to_character(err->message);
    return -1;
}

static int hex4(const char *p, unsigned *out)
{
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        char c = p[i];
        v <<= 4;
        if (c >= '0' && c <= '9')
            v |= (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f')
            v |= (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            v |= (unsigned)(c - 'A' + 10);
        else
            return -1;
    }
    *out = v;
    return 0;
}

/* The \u escapes of JSON text that yajl would turn into something else than
 * what was sent: \u0000 (a C string ends there, so "REF\u0000x" would be
 * stored as "REF") and a surrogate that is not half of a pair (stored as
 * '?').  1 when s[0..n) has one, else 0.  Escapes only occur in strings. */
static int bad_escape(const char *s, size_t n)
{
    int want_low = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] != '\\') {
            if (want_low)
                return 1;
            continue;
        }
        if (i + 1 >= n)
            return 0; /* truncated: the parser refuses it */
        if (s[i + 1] != 'u') {
            if (want_low)
                return 1;
            i++; /* \\, \" and the rest: skip the escaped character */
            continue;
        }
        unsigned cp;
        if (i + 6 > n || hex4(s + i + 2, &cp) != 0)
            return 0; /* malformed: the parser refuses it */
        i += 5;
        if (want_low) {
            if (cp < 0xDC00 || cp > 0xDFFF)
                return 1;
            want_low = 0;
        } else if (cp == 0 || (cp >= 0xDC00 && cp <= 0xDFFF)) {
            return 1;
        } else if (cp >= 0xD800 && cp <= 0xDBFF) {
            want_low = 1;
        }
    }
    return want_low;
}

typedef struct {
    const char *key;
    size_t index;
} key_at_t;

static int key_at_order(const void *a, const void *b)
{
    const key_at_t *x = a, *y = b;
    int c = strcmp(x->key, y->key);
    return c != 0 ? c : x->index < y->index ? -1 : x->index > y->index;
}

/* Objects up to this many keys are checked pair by pair: at most 120
 * comparisons, no allocation (every API body and provider notification goes
 * through here). */
#define PAIRWISE_KEYS_MAX 16

/* The position of the first key of object v that repeats an earlier key, or
 * v's length when none does.  Beyond a few keys, sorting them makes this
 * O(n log n): comparing every pair, a 1 MiB body of distinct keys kept a
 * worker busy for minutes. */
static size_t first_repeat(yajl_val v)
{
    size_t n = v->u.object.len, first = n;
    if (n < 2)
        return n;
    if (n <= PAIRWISE_KEYS_MAX) {
        for (size_t i = 1; i < n; i++)
            for (size_t j = 0; j < i; j++)
                if (strcmp(v->u.object.keys[i], v->u.object.keys[j]) == 0)
                    return i;
        return n;
    }
    key_at_t *k = fg_malloc(n * sizeof(*k));
    for (size_t i = 0; i < n; i++)
        k[i] = (key_at_t){v->u.object.keys[i], i};
    qsort(k, n, sizeof(*k), key_at_order);
    for (size_t i = 1; i < n; i++)
        if (k[i].index < first && strcmp(k[i].key, k[i - 1].key) == 0)
            first = k[i].index;
    free(k);
    return first;
}

/* The first key that appears twice in one object anywhere under v, or NULL
 * (members in order, each key before what its value holds). */
static const char *duplicate_key(yajl_val v)
{
    if (YAJL_IS_OBJECT(v)) {
        size_t n = v->u.object.len, repeat = first_repeat(v);
        for (size_t i = 0; i < n; i++) {
            if (i == repeat)
                return v->u.object.keys[i];
            const char *d = duplicate_key(v->u.object.values[i]);
            if (d != NULL)
                return d;
        }
    } else if (YAJL_IS_ARRAY(v)) {
        for (size_t i = 0; i < v->u.array.len; i++) {
            const char *d = duplicate_key(v->u.array.values[i]);
            if (d != NULL)
                return d;
        }
    }
    return NULL;
}

yajl_val fg_json_tree(const char *text, size_t len, char *error, size_t cap)
{
    len = text != NULL ? strnlen(text, len) : 0; /* yajl reads up to the NUL: a NUL inside the body ends it */
    int comment;
    if (fg_json_shape(text, len, FG_JSON_DEPTH_MAX, &comment) > FG_JSON_DEPTH_MAX || comment) {
        if (cap > 0)
            snprintf(error, cap, "not JSON this service reads: a comment, or nesting deeper than %d levels",
                     FG_JSON_DEPTH_MAX);
        return NULL;
    }
    yajl_val root = yajl_tree_parse(text, error, cap);
    const char *dup = root != NULL ? duplicate_key(root) : NULL;
    if (dup != NULL) {
        if (cap > 0)
            snprintf(error, cap, "the member \"%.60s\" appears twice in one object", dup);
        yajl_tree_free(root);
        return NULL;
    }
    return root;
}

yajl_val fg_json_parse_object(const char *body, size_t len, fg_field_error_t *err)
{
    char parse_error[128];
    if (body == NULL || len == 0) {
        fg_field_fail(err, FG_FIELD_MALFORMED, "invalid_json", NULL, "the request body must be a JSON object");
        return NULL;
    }
    if (!fg_utf8_valid(body, len)) {
        fg_field_fail(err, FG_FIELD_MALFORMED, "invalid_utf8", NULL, "the request body is not valid UTF-8");
        return NULL;
    }
    /* one pass: the depth, and a comment (yajl would take it, and a quote
     * inside one would hide the brackets after it from the depth count) */
    int comment;
    int depth = fg_json_shape(body, len, FG_JSON_DEPTH_MAX, &comment);
    if (comment) {
        fg_field_fail(err, FG_FIELD_MALFORMED, "invalid_json", NULL,
                      "the request body is not valid JSON (it holds a comment or a stray '/')");
        return NULL;
    }
    if (depth > FG_JSON_DEPTH_MAX) {
        fg_field_fail(err, FG_FIELD_MALFORMED, "json_too_deep", NULL, "JSON nesting deeper than %d levels",
                      FG_JSON_DEPTH_MAX);
        return NULL;
    }
    if (memchr(body, '\0', len) != NULL) {
        fg_field_fail(err, FG_FIELD_MALFORMED, "invalid_json", NULL, "the request body contains a NUL byte");
        return NULL;
    }
    /* body is NUL-terminated by the server's copy */
    yajl_val root = yajl_tree_parse(body, parse_error, sizeof(parse_error));
    if (root == NULL) {
        fg_field_fail(err, FG_FIELD_MALFORMED, "invalid_json", NULL, "the request body is not valid JSON");
        return NULL;
    }
    if (!YAJL_IS_OBJECT(root)) {
        yajl_tree_free(root);
        fg_field_fail(err, FG_FIELD_MALFORMED, "invalid_json", NULL, "the request body must be a JSON object");
        return NULL;
    }
    /* One meaning per body: which of two "amount"s wins must not depend on the route. */
    const char *dup = duplicate_key(root);
    if (dup != NULL) {
        fg_field_fail(err, FG_FIELD_MALFORMED, "duplicate_field", dup, "the field \"%.60s\" appears twice", dup);
        yajl_tree_free(root);
        return NULL;
    }
    if (bad_escape(body, len)) {
        yajl_tree_free(root);
        fg_field_fail(err, FG_FIELD_UNACCEPTABLE, "invalid_characters", NULL,
                      "the body holds \\u0000 or a \\u escape of half a surrogate pair");
        return NULL;
    }
    return root;
}

/* A JSON string field: absent/null → *out NULL; wrong type → 400; too long
 * (bytes, or characters when count_chars) → 422; control characters → 422. */
int fg_json_string(yajl_val v, const char *field, size_t max, int count_chars, const char **out, fg_field_error_t *err)
{
    *out = NULL;
    if (v == NULL || YAJL_IS_NULL(v))
        return 0;
    if (!YAJL_IS_STRING(v))
        return fg_field_fail(err, FG_FIELD_MALFORMED, "invalid_type", field, "%s must be a string", field);
    const char *s = YAJL_GET_STRING(v);
    size_t n = strlen(s);
    size_t length = count_chars ? fg_utf8_length(s, n) : n;
    if (length > max)
        return fg_field_fail(err, FG_FIELD_UNACCEPTABLE, "string_too_long", field, "%s is longer than %zu %s", field,
                             max, count_chars ? "characters" : "bytes");
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 && !(count_chars && (s[i] == '\n' || s[i] == '\t')))
            return fg_field_fail(err, FG_FIELD_UNACCEPTABLE, "invalid_characters", field,
                                 "%s contains control characters", field);
    *out = s;
    return 0;
}

int fg_json_required_string(yajl_val v, const char *field, size_t max, const char **out, fg_field_error_t *err)
{
    if (v == NULL || YAJL_IS_NULL(v))
        return fg_field_fail(err, FG_FIELD_MALFORMED, "missing_field", field, "%s is required", field);
    if (fg_json_string(v, field, max, 0, out, err) != 0)
        return -1;
    if ((*out)[0] == '\0')
        return fg_field_fail(err, FG_FIELD_UNACCEPTABLE, "empty_string", field, "%s must not be empty", field);
    return 0;
}

int fg_json_known_fields(yajl_val obj, const char *const *names, size_t n, fg_field_error_t *err)
{
    if (obj == NULL || !YAJL_IS_OBJECT(obj))
        return 0;
    for (size_t i = 0; i < obj->u.object.len; i++) {
        size_t k = 0;
        while (k < n && strcmp(obj->u.object.keys[i], names[k]) != 0)
            k++;
        if (k == n)
            return fg_field_fail(err, FG_FIELD_MALFORMED, "unknown_field", obj->u.object.keys[i],
                                 "unknown field \"%.*s\"",
                                 (int)fg_utf8_prefix(obj->u.object.keys[i], strlen(obj->u.object.keys[i]), 60),
                                 obj->u.object.keys[i]);
    }
    return 0;
}

yajl_val fg_json_member(yajl_val obj, const char *name)
{
    if (obj == NULL || !YAJL_IS_OBJECT(obj))
        return NULL;
    for (size_t i = 0; i < obj->u.object.len; i++)
        if (strcmp(obj->u.object.keys[i], name) == 0)
            return obj->u.object.values[i];
    return NULL;
}
