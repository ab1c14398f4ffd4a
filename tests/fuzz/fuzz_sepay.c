/*
 * fuzz_sepay.c - SePay's bank-feed webhook (adapters/sepay): the
 * Authorization header (fg_sepay_authorized) and the JSON body
 * (fg_sepay_parse), then the order codes the payment service looks for in
 * the transfer's memo (core/ids.c fg_order_code_find_all).  The first line
 * of the input is the header, the rest the body.
 */
#include "fuzz.h"

#include "core/ids.h"
#include "core/text.h"
#include "sepay/sepay.h"

#define MEMO_CODES_MAX 4

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = fuzz_text(data, size);
    const char *body = text;
    size_t body_len = size;
    char *nl = memchr(text, '\n', size);
    if (nl != NULL) {
        *nl = '\0';
        (void)fg_sepay_authorized("sepay-key", text);
        body = nl + 1;
        body_len = size - (size_t)(body - text);
    }
    fg_sepay_transfer_t t;
    char reason[256];
    if (fg_sepay_parse(body, body_len, &t, reason, sizeof(reason)) == 0) {
        FUZZ_CHECK(t.id >= 1 && t.amount >= 1);
        FUZZ_CHECK(fuzz_terminated(t.content, sizeof(t.content)));
        FUZZ_CHECK(fg_utf8_valid(t.content, strlen(t.content)));
        FUZZ_CHECK(fg_utf8_valid(t.reference_code, strlen(t.reference_code)));
        char codes[MEMO_CODES_MAX][FG_ORDER_CODE_LEN + 1];
        int count = fg_order_code_find_all(t.content, strlen(t.content), codes, MEMO_CODES_MAX);
        FUZZ_CHECK(count >= 0 && count <= MEMO_CODES_MAX);
        for (int i = 0; i < count; i++)
            FUZZ_CHECK(strlen(codes[i]) == FG_ORDER_CODE_LEN);
    } else {
        FUZZ_CHECK(reason[0] != '\0');
    }
    /* the memo reader on raw bytes too: a statement line's memo comes from a file */
    char codes[MEMO_CODES_MAX][FG_ORDER_CODE_LEN + 1];
    FUZZ_CHECK(fg_order_code_find_all(body, body_len, codes, MEMO_CODES_MAX) <= MEMO_CODES_MAX);
    free(text);
    return 0;
}
