/*
 * csv.c - reading csv statements (statement.h).  Not written yet: every file
 * is refused.
 */
#include "recon/statement_internal.h"

#include <stdlib.h>

static void *create(fg_stmt_format_t format, const fg_stmt_sink_t *sink) { return calloc(1, 1); }
static int feed(void *state, const char *data, size_t len, fg_stmt_error_t *err)
{
    return fg_stmt_fail(err, 0, NULL, "this format is not read yet");
}
static int finish(void *state, fg_stmt_error_t *err)
{
    return fg_stmt_fail(err, 0, NULL, "this format is not read yet");
}
static void destroy(void *state) { free(state); }

const fg_stmt_reader_t fg_stmt_csv_reader = {create, feed, finish, destroy};
