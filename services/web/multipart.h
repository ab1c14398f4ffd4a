/*
 * multipart.h - multipart/form-data request bodies (RFC 7578), as the staff
 * pages' upload forms send them: a small, bounded parser that borrows the
 * body.  Pure: no I/O, no allocation.
 *
 *     char boundary[FG_MULTIPART_BOUNDARY_CAP];
 *     fg_multipart_t m;
 *     if (fg_multipart_boundary(content_type, boundary) == 0 &&
 *         fg_multipart_parse(body, len, boundary, &m) == 0)
 *         file = fg_multipart_get(&m, "file");
 */
#ifndef FG_WEB_MULTIPART_H
#define FG_WEB_MULTIPART_H

#include <stddef.h>
#include "core/error.h"

/* RFC 2046: a boundary is 1 to 70 characters. */
#define FG_MULTIPART_BOUNDARY_MAX 70
#define FG_MULTIPART_BOUNDARY_CAP (FG_MULTIPART_BOUNDARY_MAX + 1)
/* Our forms have a handful of fields; more is not a form of ours. */
#define FG_MULTIPART_PARTS_MAX 16
/* One part's header block: a browser writes two short lines. */
#define FG_MULTIPART_HEADERS_MAX 4096
/* Field names and file names as kept (longer ones are refused). */
#define FG_MULTIPART_NAME_CAP 64
#define FG_MULTIPART_FILENAME_CAP 256
#define FG_MULTIPART_TYPE_CAP 128

typedef struct {
    char name[FG_MULTIPART_NAME_CAP];
    char filename[FG_MULTIPART_FILENAME_CAP]; /* "" when the part is no file */
    char content_type[FG_MULTIPART_TYPE_CAP]; /* "" when not given */
    const char *data;                         /* into the body */
    size_t len;
} fg_part_t;

typedef struct {
    int count;
    fg_part_t parts[FG_MULTIPART_PARTS_MAX];
} fg_multipart_t;

/** The boundary parameter of a "multipart/form-data; boundary=…" content
 *  type (quoted or not) into out.  0, or FG_EINVALID when the type is
 *  another, or the boundary is missing, empty, longer than 70 or holds
 *  characters RFC 2046 does not allow. */
int fg_multipart_boundary(const char *content_type, char out[FG_MULTIPART_BOUNDARY_CAP]) FG_MUST_USE;

/** Splits body into its parts (each with a Content-Disposition: form-data
 *  and a name).  0; FG_EINVALID for a body that is not well formed (no
 *  delimiter, no closing delimiter, a part without name, a header block
 *  over FG_MULTIPART_HEADERS_MAX, a name or file name too long);
 *  FG_ETOOLONG for more than FG_MULTIPART_PARTS_MAX parts. */
int fg_multipart_parse(const char *body, size_t len, const char *boundary, fg_multipart_t *out) FG_MUST_USE;

/** The first part named name, or NULL. */
const fg_part_t *fg_multipart_get(const fg_multipart_t *m, const char *name);

#endif
