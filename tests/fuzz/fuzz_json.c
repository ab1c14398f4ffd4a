/*
 * fuzz_json.c - the JSON layer every request body goes through
 * (core/json.c): the transport checks and parse, the field readers on every
 * member, and the writer (core/buf.c fg_json_str) giving back what was read.
 */
#include "fuzz.h"

#include <yajl/yajl_tree.h>
#include "core/buf.h"
#include "core/json.h"
#include "core/text.h"

/* Every string the parser accepted, written by fg_json_str and read again,
 * is the same string. */
static void round_trip(const char *s)
{
    fg_buf_t b = FG_BUF_INIT;
    fg_buf_puts(&b, "{\"v\":");
    fg_json_str(&b, s, strlen(s));
    fg_buf_putc(&b, '}');
    fg_field_error_t err;
    yajl_val again = fg_json_parse_object(b.data, b.len, &err);
    FUZZ_CHECK(again != NULL);
    yajl_val v = fg_json_member(again, "v");
    FUZZ_CHECK(v != NULL && YAJL_IS_STRING(v) && strcmp(YAJL_GET_STRING(v), s) == 0);
    yajl_tree_free(again);
    fg_buf_free(&b);
}

static void read_members(yajl_val obj, int depth)
{
    if (depth > FG_JSON_DEPTH_MAX)
        return;
    for (size_t i = 0; i < obj->u.object.len; i++) {
        const char *key = obj->u.object.keys[i];
        yajl_val v = obj->u.object.values[i];
        const char *out;
        fg_field_error_t err;
        FUZZ_CHECK(fg_json_member(obj, key) != NULL);
        if (fg_json_string(v, key, 64, (int)(i & 1), &out, &err) == 0 && out != NULL) {
            FUZZ_CHECK(fg_utf8_valid(out, strlen(out)));
            round_trip(out);
        } else if (fg_json_string(v, key, 64, 0, &out, &err) != 0) {
            FUZZ_CHECK(err.code != NULL && fuzz_terminated(err.message, sizeof(err.message)));
        }
        (void)fg_json_required_string(v, key, 16, &out, &err);
        if (YAJL_IS_OBJECT(v))
            read_members(v, depth + 1);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *body = fuzz_text(data, size);
    fg_field_error_t err;
    yajl_val root = fg_json_parse_object(body, size, &err);
    if (root != NULL) {
        FUZZ_CHECK(YAJL_IS_OBJECT(root));
        read_members(root, 0);
        yajl_tree_free(root);
    } else {
        FUZZ_CHECK(err.code != NULL && (err.kind == FG_FIELD_MALFORMED || err.kind == FG_FIELD_UNACCEPTABLE));
    }
    free(body);
    return 0;
}
