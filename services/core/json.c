/*
 * json.c - request bodies into typed input (json.h).
 */
#include "core/json.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include "core/text.h"

int fg_field_fail(fg_field_error_t *err, fg_field_kind_t kind, const char *code, const char *field, const char *fmt,
                  ...)
{
    va_list ap;
    err->kind = kind;
    err->code = code;
    snprintf(err->field, sizeof(err->field), "%s", field != NULL ? field : "");
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof(err->message), fmt, ap);
    va_end(ap);
    return -1;
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
    if (fg_json_depth(body, len, FG_JSON_DEPTH_MAX) > FG_JSON_DEPTH_MAX) {
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

yajl_val fg_json_member(yajl_val obj, const char *name)
{
    if (obj == NULL || !YAJL_IS_OBJECT(obj))
        return NULL;
    for (size_t i = 0; i < obj->u.object.len; i++)
        if (strcmp(obj->u.object.keys[i], name) == 0)
            return obj->u.object.values[i];
    return NULL;
}
