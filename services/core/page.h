/*
 * page.h - list paging, the same for every list route (docs/DESIGN.md §4): ?limit=
 * (1..500, default 50) and an opaque ?cursor= that the previous page gave
 * out as its next_cursor.
 *
 * A cursor is the internal key of the last row of a page in base 36: opaque
 * to clients, cheap to check, and bounded (an int64 has at most 13 such
 * digits), so a forged or truncated one is refused before any query runs.
 * Pure: no transport, no database.
 */
#ifndef FG_CORE_PAGE_H
#define FG_CORE_PAGE_H

#include <stddef.h>
#include <stdint.h>
#include "core/buf.h"

#define FG_PAGE_LIMIT_DEFAULT 50
#define FG_PAGE_LIMIT_MAX 500
/* Base-36 digits of INT64_MAX ("1y2p0ij32e8e7"). */
#define FG_PAGE_CURSOR_LEN_MAX 13

typedef struct {
    int64_t limit;  /* rows per page */
    int64_t cursor; /* the key the page continues after; 0 = the first page */
} fg_page_t;

typedef enum { FG_PAGE_OK = 0, FG_PAGE_BAD_LIMIT, FG_PAGE_BAD_CURSOR } fg_page_error_t;

/**
 * Reads ?limit= and ?cursor= (either may be NULL: absent; an empty cursor is
 * absent too).  limit must be decimal digits only, 1..FG_PAGE_LIMIT_MAX; a
 * cursor 1..FG_PAGE_CURSOR_LEN_MAX characters of [0-9a-z] naming a key in
 * 1..INT64_MAX.  Fills out only on FG_PAGE_OK.
 */
fg_page_error_t fg_page_parse(const char *limit, size_t limit_len, const char *cursor, size_t cursor_len,
                              fg_page_t *out);

/** Appends the JSON string of the cursor for key (> 0). */
void fg_page_cursor_json(fg_buf_t *b, int64_t key);

/** Closes a list body opened with "{\"object\":\"list\",\"data\":[": appends
 *  "],\"next_cursor\":" and the cursor after last_key when more rows follow,
 *  else null, and the closing brace. */
void fg_page_close(fg_buf_t *b, int more, int64_t last_key);

#endif
