/*
 * query.c - the request's query string as the call's decoded parameters
 * (http.h: fg_call_parse_query).  Kept apart from the server so that the
 * parse runs, and is fuzzed, without an event loop (tests/fuzz).
 */
#include "http/http.h"

#include <string.h>
#include "core/buf.h"
#include "core/text.h"

void fg_call_parse_query(fg_call_t *call, const char *q, size_t len)
{
    const char *end = q + len;
    while (q < end && call->query_count < FG_QUERY_PARAMS_MAX) {
        const char *amp = memchr(q, '&', (size_t)(end - q));
        const char *stop = amp != NULL ? amp : end;
        const char *eq = memchr(q, '=', (size_t)(stop - q));
        const char *name_end = eq != NULL ? eq : stop;
        if (name_end > q) {
            fg_query_param_t *p = &call->query[call->query_count++];
            p->name = fg_strndup(q, (size_t)(name_end - q));
            const char *v = eq != NULL ? eq + 1 : stop;
            p->value = fg_form_decode(v, (size_t)(stop - v), &p->value_len);
        }
        q = stop + 1;
    }
}
