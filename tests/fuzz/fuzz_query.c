/*
 * fuzz_query.c - query strings and forms: the server's query parse
 * (http/query.c fg_call_parse_query) and the lookups and value readers the
 * routes apply to what it gives (paging, statuses, days, group_by, change
 * cursors, statement formats, order codes and ids, RFC 3339 times, money,
 * fee schedules; each text form read back must give the same value),
 * fg_form_decode, and the pages' form reader
 * (web/html.c fg_form_field) over the same bytes as an
 * application/x-www-form-urlencoded body.
 */
#include "fuzz.h"

#include "changes/changes.h"
#include "core/day.h"
#include "core/fee.h"
#include "core/ids.h"
#include "core/money.h"
#include "core/page.h"
#include "core/status.h"
#include "core/text.h"
#include "http/server_internal.h"
#include "orders/orders.h"
#include "recon/recon.h"
#include "reports/reports.h"
#include "web/html.h"

static const char *const NAMES[] = {"limit",        "cursor",   "status", "fee_type",   "from",    "to",
                                    "group_by",     "after",    "format", "state",      "lang",    "code",
                                    "email",        "password", "csrf",   "amount",     "gateway", "account",
                                    "merchant_ref", "at",       "fee",    "merchant_id"};

/* Codes, ids, times, money and fees, each read back from its text form. */
static void read_more(fg_call_t *call)
{
    size_t len = 0;
    const char *v;
    if ((v = fg_call_query(call, "code", &len)) != NULL) {
        char code[FG_ORDER_CODE_LEN + 1], again[FG_ORDER_CODE_LEN + 1];
        if (fg_order_code_normalize(v, len, code, sizeof(code)) == 0) {
            FUZZ_CHECK(strlen(code) == FG_ORDER_CODE_LEN);
            FUZZ_CHECK(fg_order_code_normalize(code, strlen(code), again, sizeof(again)) == 0);
            FUZZ_CHECK(strcmp(code, again) == 0);
        }
    }
    if ((v = fg_call_query(call, "merchant_id", &len)) != NULL)
        (void)fg_id_valid("mer_", v, len);
    if ((v = fg_call_query(call, "at", &len)) != NULL) {
        int64_t ms, again;
        char text[40];
        if (fg_time_parse_rfc3339(v, len, &ms) == 0) {
            int n = fg_time_format_rfc3339(ms, 1, text, sizeof(text));
            FUZZ_CHECK(n > 0 && fg_time_parse_rfc3339(text, (size_t)n, &again) == 0 && again == ms);
        }
    }
    if ((v = fg_call_query(call, "amount", &len)) != NULL) {
        for (int exponent = 0; exponent <= 3; exponent++) {
            int64_t amount, again;
            char text[40];
            if (fg_money_parse(v, len, exponent, exponent == 2, &amount) == 0) {
                int n = fg_money_format(amount, exponent, text, sizeof(text));
                FUZZ_CHECK(n > 0 && fg_money_parse(text, (size_t)n, exponent, 0, &again) == 0 && again == amount);
            }
        }
    }
    if ((v = fg_call_query(call, "fee", &len)) != NULL) {
        fg_fee_schedule_t fee, again;
        char text[FG_FEE_TEXT_MAX];
        if (fg_fee_parse(v, len, &fee) == 0) {
            static const int64_t AMOUNTS[] = {0, 1, 999, 150000, 4500000, FG_AMOUNT_MAX};
            int n = fg_fee_format(&fee, text, sizeof(text));
            FUZZ_CHECK(n > 0 && fg_fee_parse(text, (size_t)n, &again) == 0);
            for (size_t i = 0; i < sizeof(AMOUNTS) / sizeof(AMOUNTS[0]); i++) {
                int64_t a, b;
                int rc = fg_fee_of(&fee, AMOUNTS[i], &a);
                FUZZ_CHECK(rc == 0 && a >= 0);
                FUZZ_CHECK(fg_fee_of(&again, AMOUNTS[i], &b) == 0 && a == b);
            }
        }
    }
}

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
    read_more(call);
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
