/*
 * fuzz_sandbox.c - the sandbox gateway's notification (adapters/sandbox):
 * the X-Signature header (t=…,v1=…) and the JSON body.  The first byte
 * picks whether the first input line is the header as sent, or the target
 * signs the body with the configured secret, so that the body's reading
 * behind a good signature is reached too.
 */
#include "fuzz.h"

#include "adapter.h"
#include "core/crypto.h"

static const char *header_of(void *ctx, const char *name) { return strcmp(name, "x-signature") == 0 ? ctx : NULL; }

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    unsigned mode = fuzz_take_byte(&data, &size);
    char *text = fuzz_text(data, size);
    char *header = NULL, *body = text, built[512];
    size_t body_len = size;
    if (mode & 1) {
        char *nl = memchr(text, '\n', size);
        if (nl != NULL) {
            *nl = '\0';
            header = text;
            body = nl + 1;
            body_len = size - (size_t)(body - text);
        }
    } else {
        long long t = FUZZ_NOW_MS / 1000;
        uint8_t mac[FG_SHA256_LEN];
        char hex[2 * FG_SHA256_LEN + 1];
        fg_buf_t msg = FG_BUF_INIT;
        fg_buf_printf(&msg, "%lld.", t);
        fg_buf_append(&msg, body, body_len);
        fg_hmac_sha256(fuzz_configured()->sandbox_secret, strlen(fuzz_configured()->sandbox_secret), msg.data, msg.len,
                       mac);
        fg_buf_free(&msg);
        fg_hex_encode(mac, sizeof(mac), hex);
        snprintf(built, sizeof(built), "t=%lld,v1=%s", t, hex);
        header = built;
    }
    fg_inbound_t in = {.method = "POST", .body = body, .body_len = body_len, .header = header_of, .header_ctx = header};
    fg_notification_t n;
    char reason[256];
    int rc = fg_adapter_sandbox.verify(fuzz_configured(), &in, FUZZ_NOW_MS, &n, reason, sizeof(reason));
    if (rc == 0) {
        FUZZ_CHECK(fuzz_terminated(n.payment_id, sizeof(n.payment_id)) && n.payment_id[0] != '\0');
        FUZZ_CHECK(fuzz_terminated(n.event_id, sizeof(n.event_id)));
        FUZZ_CHECK(n.amount >= 1);
    } else {
        FUZZ_CHECK(rc == FG_EINVALID || rc == FG_ERANGE);
    }
    free(text);
    return 0;
}
