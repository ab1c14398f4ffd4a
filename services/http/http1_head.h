/*
 * http1_head.h - the strict reading of an HTTP/1.1 request head that h2o's
 * parser does not do (RFC 9112 §2.2, §5.1, §6.3).
 */
#ifndef FG_HTTP_HTTP1_HEAD_H
#define FG_HTTP_HTTP1_HEAD_H

#include <stddef.h>

/** Checks the request head at the start of p (the request line, the header
 *  lines and the empty line that ends them; leading empty lines are skipped
 *  as the parser does).  0 when it is well formed; otherwise -1 with *why
 *  naming the fault: a line ended by a bare LF, a bare CR inside a line, a
 *  header folded onto the next line, white space before a header's colon,
 *  more than one Content-Length, Content-Length together with
 *  Transfer-Encoding, or no end of the head within len bytes.  Each of these
 *  lets two readers of one byte stream disagree on where a request ends. */
int fg_http1_head_check(const char *p, size_t len, const char **why);

#endif
