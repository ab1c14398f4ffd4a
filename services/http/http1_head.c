/*
 * http1_head.c - the strict reading of an HTTP/1.1 request head.
 *
 * h2o 2.2.5's parser takes a bare LF as a line end, keeps the first of
 * several Content-Length headers and lets Transfer-Encoding win over
 * Content-Length.  A proxy in front that reads the same bytes another way
 * sees a different request boundary: the leftover bytes of one request run
 * as a second one (request smuggling).  The server refuses such a head
 * before it acts on the request and closes the connection.
 */
#include "http/http1_head.h"

#include <string.h>
#include <strings.h>

static int name_is(const char *line, size_t name_len, const char *name)
{
    return name_len == strlen(name) && strncasecmp(line, name, name_len) == 0;
}

int fg_http1_head_check(const char *p, size_t len, const char **why)
{
    size_t at = 0;
    int content_lengths = 0, transfer_encodings = 0;
    while (at + 1 < len && p[at] == '\r' && p[at + 1] == '\n')
        at += 2;
    for (int first = 1;; first = 0) {
        const char *nl = memchr(p + at, '\n', len - at);
        if (nl == NULL) {
            *why = "the request head has no end";
            return -1;
        }
        size_t end = (size_t)(nl - p);
        if (end == at || p[end - 1] != '\r') {
            *why = "a line of the request head ends in a bare LF";
            return -1;
        }
        const char *line = p + at;
        size_t line_len = end - 1 - at;
        if (memchr(line, '\r', line_len) != NULL) {
            *why = "a line of the request head holds a bare CR";
            return -1;
        }
        if (line_len == 0)
            break;
        at = end + 1;
        if (first)
            continue; /* the request line: h2o has parsed it */
        if (line[0] == ' ' || line[0] == '\t') {
            *why = "a header is folded onto the next line";
            return -1;
        }
        const char *colon = memchr(line, ':', line_len);
        if (colon == NULL) {
            *why = "a header line has no colon";
            return -1;
        }
        size_t name_len = (size_t)(colon - line);
        if (name_len == 0 || line[name_len - 1] == ' ' || line[name_len - 1] == '\t') {
            *why = "a header name is empty or followed by white space";
            return -1;
        }
        content_lengths += name_is(line, name_len, "content-length");
        transfer_encodings += name_is(line, name_len, "transfer-encoding");
    }
    if (content_lengths > 1) {
        *why = "the request has more than one Content-Length";
        return -1;
    }
    if (content_lengths > 0 && transfer_encodings > 0) {
        *why = "the request has both Content-Length and Transfer-Encoding";
        return -1;
    }
    return 0;
}
