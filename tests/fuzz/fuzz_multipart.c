/*
 * fuzz_multipart.c - the staff pages' upload forms (web/multipart.c): the
 * boundary from the Content-Type and the body's parts.  The first byte
 * picks whether the first line of the input is the Content-Type, or the
 * boundary is a browser's fixed one and the whole input the body.
 */
#include "fuzz.h"

#include "web/multipart.h"

#define FIXED_TYPE "multipart/form-data; boundary=----feegateFuzzBoundary7MA4YWxk"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    unsigned mode = fuzz_take_byte(&data, &size);
    char *text = fuzz_text(data, size);
    const char *type = FIXED_TYPE, *body = text;
    size_t body_len = size;
    if (mode & 1) {
        char *nl = memchr(text, '\n', size);
        if (nl != NULL) {
            *nl = '\0';
            type = text;
            body = nl + 1;
            body_len = size - (size_t)(body - text);
        }
    }
    char boundary[FG_MULTIPART_BOUNDARY_CAP];
    if (fg_multipart_boundary(type, boundary) == 0) {
        size_t n = strlen(boundary);
        FUZZ_CHECK(n >= 1 && n <= FG_MULTIPART_BOUNDARY_MAX);
        fg_multipart_t m;
        if (fg_multipart_parse(body, body_len, boundary, &m) == 0) {
            FUZZ_CHECK(m.count >= 0 && m.count <= FG_MULTIPART_PARTS_MAX);
            for (int i = 0; i < m.count; i++) {
                const fg_part_t *p = &m.parts[i];
                FUZZ_CHECK(fuzz_terminated(p->name, sizeof(p->name)) && p->name[0] != '\0');
                FUZZ_CHECK(fuzz_terminated(p->filename, sizeof(p->filename)));
                FUZZ_CHECK(fuzz_terminated(p->content_type, sizeof(p->content_type)));
                FUZZ_CHECK(p->data >= body && p->data + p->len <= body + body_len);
                FUZZ_CHECK(fg_multipart_get(&m, p->name) != NULL);
            }
            (void)fg_multipart_get(&m, "file");
        }
    }
    free(text);
    return 0;
}
