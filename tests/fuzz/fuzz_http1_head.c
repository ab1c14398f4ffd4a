/*
 * fuzz_http1_head.c - the strict reading of an HTTP/1.1 request head
 * (http/http1_head.c), which runs on every HTTP/1 request's raw bytes before
 * a route does: it never reads past the bytes, always names its refusal, and
 * a head it accepts ends in CRLF CRLF with at most one framing header.
 */
#include "fuzz.h"

#include <strings.h>
#include "http/http1_head.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* an exact copy, so ASan sees any read past the end */
    char *head = malloc(size > 0 ? size : 1);
    memcpy(head, data, size);
    const char *why = NULL;
    int rc = fg_http1_head_check(head, size, &why);
    FUZZ_CHECK(rc == 0 || rc == -1);
    if (rc == -1) {
        FUZZ_CHECK(why != NULL && why[0] != '\0');
    } else {
        /* accepted: the head ends with an empty line, CRLF-terminated */
        int found = 0;
        for (size_t i = 0; i + 4 <= size && !found; i++)
            found = memcmp(head + i, "\r\n\r\n", 4) == 0;
        FUZZ_CHECK(found);
    }
    free(head);
    return 0;
}
