/*
 * multipart.c - multipart/form-data bodies (multipart.h).
 *
 * The body is
 *     [preamble] "--" boundary CRLF headers CRLF CRLF data
 *     CRLF "--" boundary CRLF headers … CRLF "--" boundary "--" [epilogue]
 * Every search is bounded by the body's length; a part's data is found by
 * the next CRLF "--" boundary, which a browser guarantees the data lacks.
 */
#define _GNU_SOURCE /* memmem */
#include "web/multipart.h"

#include <string.h>
#include <strings.h>

/* RFC 2046 bchars, without the space that may not end a boundary. */
static int boundary_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || strchr("'()+_,-./:=? ", c);
}

int fg_multipart_boundary(const char *content_type, char out[FG_MULTIPART_BOUNDARY_CAP])
{
    static const char TYPE[] = "multipart/form-data";
    if (content_type == NULL || strncasecmp(content_type, TYPE, sizeof(TYPE) - 1) != 0)
        return FG_EINVALID;
    const char *p = content_type + sizeof(TYPE) - 1;
    for (;;) {
        while (*p == ' ' || *p == '\t')
            p++;
        if (*p != ';')
            return FG_EINVALID;
        p++;
        while (*p == ' ' || *p == '\t')
            p++;
        if (strncasecmp(p, "boundary=", 9) == 0)
            break;
        p = strchr(p, ';');
        if (p == NULL)
            return FG_EINVALID;
    }
    p += 9;
    int quoted = *p == '"';
    p += quoted;
    size_t n = 0;
    while (*p != '\0' && (quoted ? *p != '"' : (*p != ';' && *p != ' ' && *p != '\t'))) {
        if (n >= FG_MULTIPART_BOUNDARY_MAX || !boundary_char(*p))
            return FG_EINVALID;
        out[n++] = *p++;
    }
    if ((quoted && *p != '"') || n == 0 || out[n - 1] == ' ')
        return FG_EINVALID;
    out[n] = '\0';
    return 0;
}

/* The parameter name="value" of a Content-Disposition value v (len bytes)
 * into out; 1 found, 0 absent, -1 too long or unterminated. */
static int disposition_param(const char *v, size_t len, const char *param, char *out, size_t cap)
{
    size_t plen = strlen(param);
    for (size_t i = 0; i + plen + 2 <= len; i++) {
        if ((i > 0 && v[i - 1] != ';' && v[i - 1] != ' ' && v[i - 1] != '\t') || strncasecmp(v + i, param, plen) != 0 ||
            v[i + plen] != '=')
            continue;
        const char *s = v + i + plen + 1, *end = v + len;
        int quoted = s < end && *s == '"';
        s += quoted;
        size_t n = 0;
        while (s < end && (quoted ? *s != '"' : (*s != ';' && *s != ' '))) {
            if (n + 1 >= cap)
                return -1;
            out[n++] = *s++;
        }
        if (quoted && s >= end)
            return -1;
        out[n] = '\0';
        return 1;
    }
    return 0;
}

/* Reads the header block h[0..len) into part: 0 or FG_EINVALID. */
static int part_headers(const char *h, size_t len, fg_part_t *part)
{
    int has_disposition = 0;
    for (size_t at = 0; at < len;) {
        const char *line = h + at;
        const char *eol = memmem(line, len - at, "\r\n", 2);
        size_t n = eol != NULL ? (size_t)(eol - line) : len - at;
        const char *colon = memchr(line, ':', n);
        if (colon == NULL)
            return FG_EINVALID;
        size_t name_len = (size_t)(colon - line);
        const char *v = colon + 1;
        size_t v_len = n - name_len - 1;
        while (v_len > 0 && (*v == ' ' || *v == '\t'))
            v++, v_len--;
        if (name_len == 19 && strncasecmp(line, "Content-Disposition", 19) == 0) {
            if (v_len < 9 || strncasecmp(v, "form-data", 9) != 0)
                return FG_EINVALID;
            if (disposition_param(v, v_len, "name", part->name, sizeof(part->name)) != 1 || part->name[0] == '\0')
                return FG_EINVALID;
            if (disposition_param(v, v_len, "filename", part->filename, sizeof(part->filename)) < 0)
                return FG_EINVALID;
            has_disposition = 1;
        } else if (name_len == 12 && strncasecmp(line, "Content-Type", 12) == 0) {
            if (v_len >= sizeof(part->content_type))
                return FG_EINVALID;
            memcpy(part->content_type, v, v_len);
            part->content_type[v_len] = '\0';
        }
        at += n + 2;
    }
    return has_disposition ? 0 : FG_EINVALID;
}

int fg_multipart_parse(const char *body, size_t len, const char *boundary, fg_multipart_t *out)
{
    char delim[FG_MULTIPART_BOUNDARY_CAP + 4] = "\r\n--";
    size_t blen = strlen(boundary);
    memset(out, 0, sizeof(*out));
    if (blen == 0 || blen > FG_MULTIPART_BOUNDARY_MAX || body == NULL)
        return FG_EINVALID;
    memcpy(delim + 4, boundary, blen);
    size_t dlen = blen + 4;
    /* the first delimiter: at the very start, or after a preamble's CRLF */
    const char *p;
    if (len >= dlen - 2 && memcmp(body, delim + 2, dlen - 2) == 0)
        p = body + dlen - 2;
    else if ((p = memmem(body, len, delim, dlen)) != NULL)
        p += dlen;
    else
        return FG_EINVALID;
    const char *end = body + len;
    for (;;) {
        if (end - p >= 2 && p[0] == '-' && p[1] == '-')
            return out->count > 0 ? 0 : FG_EINVALID; /* the closing delimiter */
        while (p < end && (*p == ' ' || *p == '\t'))
            p++; /* transport padding */
        if (end - p < 2 || p[0] != '\r' || p[1] != '\n')
            return FG_EINVALID;
        p += 2;
        if (out->count == FG_MULTIPART_PARTS_MAX)
            return FG_ETOOLONG;
        fg_part_t *part = &out->parts[out->count];
        size_t window = (size_t)(end - p) < FG_MULTIPART_HEADERS_MAX + 4 ? (size_t)(end - p)
                                                                         : FG_MULTIPART_HEADERS_MAX + 4;
        if (end - p >= 2 && p[0] == '\r' && p[1] == '\n')
            return FG_EINVALID; /* no headers: no name */
        const char *blank = memmem(p, window, "\r\n\r\n", 4);
        if (blank == NULL || part_headers(p, (size_t)(blank - p), part) != 0)
            return FG_EINVALID;
        const char *data = blank + 4;
        const char *next = memmem(data, (size_t)(end - data), delim, dlen);
        if (next == NULL)
            return FG_EINVALID;
        part->data = data;
        part->len = (size_t)(next - data);
        out->count++;
        p = next + dlen;
    }
}

const fg_part_t *fg_multipart_get(const fg_multipart_t *m, const char *name)
{
    for (int i = 0; i < m->count; i++)
        if (strcmp(m->parts[i].name, name) == 0)
            return &m->parts[i];
    return NULL;
}
