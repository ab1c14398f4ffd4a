/*
 * fuzz_cookie.c - request headers as the pages read them: the header block
 * the server builds ("name: value\n"), fg_call_header, the Cookie header
 * (web/html.c fg_call_cookie, for the staff session, the login form and the
 * language), the Authorization header's scheme (http/auth.c
 * fg_auth_bears_staff_token), and the inbox's copy with credentials hidden
 * (payments/webhook.c fg_inbox_headers).
 */
#include "fuzz.h"

#include "core/text.h"
#include "http/server_internal.h"
#include "payments/payments_internal.h"
#include "web/html.h"

static const char *const COOKIES[] = {"fg_staff", "fg_staff_login", "lang", "", "a"};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    unsigned mode = fuzz_take_byte(&data, &size);
    fg_call_t *call = calloc(1, sizeof(*call));
    if (mode & 1) {
        /* the bytes are the Cookie header's value */
        fg_buf_puts(&call->headers, "host: example\ncookie: ");
        for (size_t i = 0; i < size; i++)
            fg_buf_putc(&call->headers, data[i] == '\n' || data[i] == '\0' ? ' ' : (char)data[i]);
        fg_buf_putc(&call->headers, '\n');
    } else {
        fg_buf_append(&call->headers, data, size);
    }
    for (size_t i = 0; i < sizeof(COOKIES) / sizeof(COOKIES[0]); i++) {
        char value[64];
        size_t cap = (mode >> 1) % sizeof(value) + 1;
        if (fg_call_cookie(call, COOKIES[i], value, cap))
            FUZZ_CHECK(strlen(value) < cap);
    }
    const char *h = fg_call_header(call, "cookie");
    FUZZ_CHECK(h == NULL || strlen(h) <= call->headers.len);
    const char *authorization = fg_call_header(call, "authorization");
    if (authorization != NULL) {
        call->authorization = strdup(authorization);
        (void)fg_auth_bears_staff_token(call);
    }
    (void)fg_call_header(call, "content-type");
    (void)fg_call_header(call, "x-signature");

    fg_buf_t kept = FG_BUF_INIT;
    fg_inbox_headers(call->headers.data, call->headers.len, &kept);
    fg_buf_free(&kept);
    fg_call_free(call);
    return 0;
}
