/*
 * fuzz_query.c - query strings and forms: the server's query parse
 * (http/query.c fg_call_parse_query) and the lookups and value readers the
 * routes apply to what it gives (paging, statuses, days, group_by, change
 * cursors, statement formats), fg_form_decode, and the pages' form reader
 * (web/html.c fg_form_field) over the same bytes as an
 * application/x-www-form-urlencoded body.
 */
#include "fuzz.h"

#include "changes/changes.h"
#include "core/day.h"
#include "core/page.h"
#include "core/status.h"
#include "core/text.h"
#include "http/server_internal.h"
#include "orders/orders.h"
#include "recon/recon.h"
#include "reports/reports.h"
#include "web/html.h"

static const char *const NAMES[] = {"limit", "cursor", "status",  "fee_type", "from",        "to",    "group_by",
                                    "after", "format", "state",   "lang",     "code",        "email", "password",
                                    "csrf",  "amount", "gateway", "account",  "merchant_ref"};

/* The value readers the routes call on query values. */
static void read_values(fg_call_t *call)
{
    size_t limit_len = 0, cursor_len = 0, len = 0;
    const char *limit = fg_call_query(call, "limit", &limit_len);
    const char *cursor = fg_call_query(call, "cursor", &cursor_len);
    fg_page_t page;
    if (fg_page_parse(limit, limit_len, cursor, cursor_len, &page) == FG_PAGE_OK)
        FUZZ_CHECK(page.limit >= 1 && page.cursor >= 0);
    const char *v = fg_call_query(call, "status", &len);
    if (v != NULL) {
        fg_order_status_t os;
        fg_payment_status_t ps;
        fg_refund_status_t rs;
        fg_delivery_status_t ds;
        fg_payout_status_t pos;
        fg_recon_state_t st;
        (void)fg_order_status_parse(v, len, &os);
        (void)fg_payment_status_parse(v, len, &ps);
        (void)fg_refund_status_parse(v, len, &rs);
        (void)fg_delivery_status_parse(v, len, &ds);
        (void)fg_payout_status_parse(v, len, &pos);
        (void)fg_recon_state_parse(v, len, &st);
    }
    if ((v = fg_call_query(call, "fee_type", &len)) != NULL) {
        fg_fee_type_t ft;
        (void)fg_fee_type_parse(v, len, &ft);
    }
    if ((v = fg_call_query(call, "from", &len)) != NULL) {
        int32_t day;
        if (fg_day_parse(v, len, &day) == 0)
            FUZZ_CHECK(day >= 19700101 && day <= 99991231);
    }
    if ((v = fg_call_query(call, "group_by", &len)) != NULL) {
        fg_group_by_t by;
        char msg[200];
        (void)fg_group_by_parse(v, len, FG_DIMS_COLLECTIONS, &by, msg, sizeof(msg));
    }
    if ((v = fg_call_query(call, "after", &len)) != NULL) {
        fg_change_cursor_t after;
        if (fg_change_cursor_parse(v, len, &after) == 0) {
            char text[FG_CHANGE_CURSOR_CAP];
            fg_change_cursor_t again;
            fg_change_cursor_format(&after, text, sizeof(text));
            FUZZ_CHECK(fg_change_cursor_parse(text, strlen(text), &again) == 0);
            FUZZ_CHECK(again.seq == after.seq && again.sub == after.sub);
        }
    }
    if ((v = fg_call_query(call, "format", &len)) != NULL) {
        fg_stmt_format_t f;
        if (fg_stmt_format_parse(v, len, &f) == 0)
            FUZZ_CHECK(f < FG_STMT_FORMAT_COUNT);
        (void)fg_stmt_format_from_content_type(v, &f);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = fuzz_text(data, size);
    fg_call_t *call = calloc(1, sizeof(*call));
    fg_call_parse_query(call, text, size);
    FUZZ_CHECK(call->query_count >= 0 && call->query_count <= FG_QUERY_PARAMS_MAX);
    for (int i = 0; i < call->query_count; i++) {
        FUZZ_CHECK(call->query[i].name != NULL);
        FUZZ_CHECK(call->query[i].value != NULL && strlen(call->query[i].value) <= call->query[i].value_len);
        FUZZ_CHECK(call->query[i].value_len <= size);
    }
    for (size_t i = 0; i < sizeof(NAMES) / sizeof(NAMES[0]); i++) {
        size_t len = 0;
        (void)fg_call_query(call, NAMES[i], &len);
    }
    read_values(call);
    fg_call_free(call);

    /* the same bytes as a form body */
    fg_buf_t value = FG_BUF_INIT;
    for (size_t i = 0; i < sizeof(NAMES) / sizeof(NAMES[0]); i++)
        if (fg_form_field(text, size, NAMES[i], &value))
            FUZZ_CHECK(value.len <= size);
    fg_buf_free(&value);
    size_t decoded_len = 0;
    char *decoded = fg_form_decode(text, size, &decoded_len);
    FUZZ_CHECK(decoded_len <= size && decoded[decoded_len] == '\0');
    free(decoded);
    free(text);
    return 0;
}
