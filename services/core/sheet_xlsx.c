/*
 * sheet_xlsx.c - the first worksheet of an XLSX file (sheet.h).
 *
 * An XLSX file is a zip archive of XML parts.  xl/workbook.xml names the
 * sheets in order; the first one's relationship id leads, through
 * xl/_rels/workbook.xml.rels, to its part (usually xl/worksheets/sheet1.xml).
 * Text cells mostly hold an index into xl/sharedStrings.xml.  Every part is
 * inflated through a bounded reader and parsed with expat as it streams, so
 * memory follows the shared strings, not the sheet.
 */
#include "core/sheet.h"

#include <expat.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zip.h>
#include "core/error.h"
#include "core/sheet_internal.h"

#define CHUNK 65536
#define PATH_MAX_LEN 256

/* The element's name without its namespace prefix ("x:row" -> "row"). */
static const char *local(const char *name)
{
    const char *colon = strrchr(name, ':');
    return colon != NULL ? colon + 1 : name;
}

static const char *attr(const char **atts, const char *name)
{
    for (size_t i = 0; atts[i] != NULL; i += 2)
        if (strcmp(local(atts[i]), name) == 0)
            return atts[i + 1];
    return NULL;
}

/* Streams the part through parser: 0 (also when a handler stopped the parser:
 * it keeps its own reason), FG_ENOTFOUND when the archive lacks the part, or
 * FG_EINVALID with err set. */
static int parse_part(zip_t *za, const char *name, XML_Parser parser, char *err, size_t cap)
{
    zip_file_t *f = zip_fopen(za, name, 0);
    if (f == NULL)
        return FG_ENOTFOUND;
    char *chunk = fg_malloc(CHUNK);
    size_t total = 0;
    int rc = 0;
    for (;;) {
        zip_int64_t n = zip_fread(f, chunk, CHUNK);
        if (n < 0) {
            rc = fg_sheet_fail(err, cap, "the file is not a readable XLSX archive (%s)", name);
            break;
        }
        total += (size_t)n;
        if (total > FG_SHEET_PART_MAX) {
            rc = fg_sheet_fail(err, cap, "%s inflates beyond %u bytes", name, FG_SHEET_PART_MAX);
            break;
        }
        if (XML_Parse(parser, chunk, (int)n, n == 0) == XML_STATUS_ERROR) {
            if (XML_GetErrorCode(parser) != XML_ERROR_ABORTED)
                rc = fg_sheet_fail(err, cap, "%s is not well-formed XML (line %lu: %s)", name,
                                   (unsigned long)XML_GetCurrentLineNumber(parser),
                                   XML_ErrorString(XML_GetErrorCode(parser)));
            break;
        }
        if (n == 0)
            break;
    }
    free(chunk);
    zip_fclose(f);
    return rc;
}

/* ---- workbook.xml and its relationships: where the first sheet is --------- */

typedef struct {
    char want[64]; /* the relationship id of the first sheet; then its target */
    char target[PATH_MAX_LEN];
    int done;
    XML_Parser parser;
} locate_t;

static void on_workbook(void *ud, const char *name, const char **atts)
{
    locate_t *l = ud;
    const char *id = attr(atts, "id");
    if (!l->done && strcmp(local(name), "sheet") == 0 && id != NULL && strlen(id) < sizeof(l->want)) {
        strcpy(l->want, id);
        l->done = 1;
        XML_StopParser(l->parser, XML_FALSE);
    }
}

static void on_rels(void *ud, const char *name, const char **atts)
{
    locate_t *l = ud;
    const char *id = attr(atts, "Id"), *target = attr(atts, "Target");
    if (l->done || strcmp(local(name), "Relationship") != 0 || id == NULL || target == NULL || strcmp(id, l->want) != 0)
        return;
    /* relative to xl/, or absolute from the archive's root */
    if (target[0] == '/')
        snprintf(l->target, sizeof(l->target), "%s", target + 1);
    else
        snprintf(l->target, sizeof(l->target), "xl/%s", target);
    l->done = 1;
    XML_StopParser(l->parser, XML_FALSE);
}

static int run_locate(zip_t *za, const char *part, XML_StartElementHandler on, locate_t *l, char *err, size_t cap)
{
    l->done = 0;
    l->parser = XML_ParserCreate("UTF-8");
    XML_SetUserData(l->parser, l);
    XML_SetStartElementHandler(l->parser, on);
    int rc = parse_part(za, part, l->parser, err, cap);
    XML_ParserFree(l->parser);
    return rc;
}

static void first_sheet(zip_t *za, char *path, size_t cap)
{
    locate_t l = {0};
    char ignored[8];
    snprintf(path, cap, "xl/worksheets/sheet1.xml");
    if (run_locate(za, "xl/workbook.xml", on_workbook, &l, ignored, sizeof(ignored)) != 0 || !l.done)
        return;
    if (run_locate(za, "xl/_rels/workbook.xml.rels", on_rels, &l, ignored, sizeof(ignored)) != 0 || !l.done)
        return;
    snprintf(path, cap, "%s", l.target);
}

/* ---- shared strings -------------------------------------------------------- */

typedef struct {
    fg_buf_t text;   /* every string, NUL-ended */
    size_t *offsets; /* start of string i */
    size_t count, cap;
    int in_si, in_t, in_rph;
    int failed;
    char *err;
    size_t err_cap;
} strings_t;

static void strings_start(void *ud, const char *name, const char **atts)
{
    (void)atts;
    strings_t *s = ud;
    const char *n = local(name);
    if (strcmp(n, "si") == 0) {
        if (s->count == s->cap) {
            s->cap = s->cap == 0 ? 256 : s->cap * 2;
            s->offsets = fg_realloc(s->offsets, s->cap * sizeof(*s->offsets));
        }
        s->offsets[s->count++] = s->text.len;
        s->in_si = 1;
    } else if (strcmp(n, "rPh") == 0) {
        s->in_rph = 1; /* phonetic guide text: not part of the cell's text */
    } else if (strcmp(n, "t") == 0) {
        s->in_t = 1;
    }
}

static void strings_end(void *ud, const char *name)
{
    strings_t *s = ud;
    const char *n = local(name);
    if (strcmp(n, "si") == 0) {
        fg_buf_putc(&s->text, '\0');
        s->in_si = 0;
    } else if (strcmp(n, "rPh") == 0) {
        s->in_rph = 0;
    } else if (strcmp(n, "t") == 0) {
        s->in_t = 0;
    }
}

static void strings_text(void *ud, const char *text, int len)
{
    strings_t *s = ud;
    if (s->in_si && s->in_t && !s->in_rph)
        fg_buf_append(&s->text, text, (size_t)len);
}

static int read_strings(zip_t *za, strings_t *s, char *err, size_t cap)
{
    XML_Parser p = XML_ParserCreate("UTF-8");
    XML_SetUserData(p, s);
    XML_SetElementHandler(p, strings_start, strings_end);
    XML_SetCharacterDataHandler(p, strings_text);
    int rc = parse_part(za, "xl/sharedStrings.xml", p, err, cap);
    XML_ParserFree(p);
    return rc == FG_ENOTFOUND ? 0 : rc; /* a sheet of numbers only has none */
}

/* ---- the worksheet ---------------------------------------------------------- */

typedef enum { CELL_NUMBER, CELL_SHARED, CELL_INLINE, CELL_OTHER } cell_kind_t;

typedef struct {
    const strings_t *strings;
    fg_sheet_row_t row;
    fg_sheet_row_fn fn;
    void *ctx;
    XML_Parser parser;
    cell_kind_t kind;
    size_t next_column;
    int in_cell, in_value, in_t, in_rph;
    fg_buf_t value;
    int rc; /* first failure or the callback's stop */
    char *err;
    size_t err_cap;
} sheet_t;

static void sheet_stop(sheet_t *s, int rc)
{
    if (s->rc == 0)
        s->rc = rc;
    XML_StopParser(s->parser, XML_FALSE);
}

/* "B7" -> 1; -1 when the reference has no column letters. */
static long column_of(const char *ref)
{
    long col = 0;
    size_t i = 0;
    for (; ref[i] >= 'A' && ref[i] <= 'Z' && i < 4; i++)
        col = col * 26 + (ref[i] - 'A' + 1);
    return i == 0 ? -1 : col - 1;
}

static void sheet_start(void *ud, const char *name, const char **atts)
{
    sheet_t *s = ud;
    const char *n = local(name);
    if (s->rc != 0)
        return;
    if (strcmp(n, "row") == 0) {
        const char *r = attr(atts, "r");
        long no = r != NULL ? strtol(r, NULL, 10) : 0;
        s->row.row_no = no > 0 ? (size_t)no : s->row.row_no + 1;
        s->next_column = 0;
        fg_sheet_row_reset(&s->row);
    } else if (strcmp(n, "c") == 0) {
        const char *r = attr(atts, "r"), *t = attr(atts, "t");
        long col = r != NULL ? column_of(r) : -1;
        size_t column = col >= 0 ? (size_t)col : s->next_column;
        s->kind = t == NULL || strcmp(t, "n") == 0 ? CELL_NUMBER
                  : strcmp(t, "s") == 0            ? CELL_SHARED
                  : strcmp(t, "inlineStr") == 0    ? CELL_INLINE
                                                   : CELL_OTHER;
        int rc = fg_sheet_cell_begin(&s->row, column, s->err, s->err_cap);
        if (rc != 0) {
            sheet_stop(s, rc);
            return;
        }
        s->next_column = column + 1;
        s->in_cell = 1;
        fg_buf_reset(&s->value);
    } else if (s->in_cell && strcmp(n, "v") == 0) {
        s->in_value = 1;
    } else if (s->in_cell && strcmp(n, "rPh") == 0) {
        s->in_rph = 1;
    } else if (s->in_cell && strcmp(n, "t") == 0) {
        s->in_t = 1;
    }
}

static void cell_end(sheet_t *s)
{
    const char *text = s->value.data != NULL ? s->value.data : "";
    size_t len = s->value.len;
    if (s->kind == CELL_SHARED) {
        char *end = NULL;
        fg_buf_putc(&s->value, '\0');
        text = s->value.data;
        unsigned long long i = strtoull(text, &end, 10);
        if (len == 0 || end != text + len || i >= s->strings->count) {
            sheet_stop(s, fg_sheet_fail(s->err, s->err_cap, "row %zu: a text cell points at no shared string",
                                        s->row.row_no));
            return;
        }
        text = s->strings->text.data + s->strings->offsets[i];
        len = strlen(text);
    }
    int rc = fg_sheet_cell_append(&s->row, text, len, s->err, s->err_cap);
    if (rc != 0)
        sheet_stop(s, rc);
}

static void sheet_end(void *ud, const char *name)
{
    sheet_t *s = ud;
    const char *n = local(name);
    if (s->rc != 0)
        return;
    if (strcmp(n, "c") == 0 && s->in_cell) {
        cell_end(s);
        s->in_cell = s->in_value = s->in_t = s->in_rph = 0;
    } else if (strcmp(n, "v") == 0) {
        s->in_value = 0;
    } else if (strcmp(n, "rPh") == 0) {
        s->in_rph = 0;
    } else if (strcmp(n, "t") == 0) {
        s->in_t = 0;
    } else if (strcmp(n, "row") == 0) {
        int rc = fg_sheet_row_emit(&s->row, s->fn, s->ctx, s->err, s->err_cap);
        if (rc != 0)
            sheet_stop(s, rc);
    }
}

static void sheet_text(void *ud, const char *text, int len)
{
    sheet_t *s = ud;
    if (s->rc != 0 || !s->in_cell)
        return;
    int wanted = s->kind == CELL_INLINE ? s->in_t && !s->in_rph : s->in_value;
    if (!wanted)
        return;
    if (s->value.len + (size_t)len > FG_SHEET_CELL_MAX) {
        sheet_stop(s, fg_sheet_fail(s->err, s->err_cap, "row %zu: a cell is longer than %d bytes", s->row.row_no,
                                    FG_SHEET_CELL_MAX));
        return;
    }
    fg_buf_append(&s->value, text, (size_t)len);
}

int fg_sheet_read_xlsx(const char *data, size_t len, fg_sheet_row_fn fn, void *ctx, char *err, size_t err_cap)
{
    zip_error_t zerr;
    zip_error_init(&zerr);
    zip_source_t *src = zip_source_buffer_create(data, len, 0, &zerr);
    zip_t *za = src != NULL ? zip_open_from_source(src, ZIP_RDONLY, &zerr) : NULL;
    if (za == NULL) {
        if (src != NULL)
            zip_source_free(src);
        zip_error_fini(&zerr);
        return fg_sheet_fail(err, err_cap, "the file is not an XLSX workbook (not a zip archive)");
    }
    zip_error_fini(&zerr);

    strings_t strings = {.text = FG_BUF_INIT};
    sheet_t sheet = {.strings = &strings,
                     .row = {.text = FG_BUF_INIT},
                     .fn = fn,
                     .ctx = ctx,
                     .value = FG_BUF_INIT,
                     .err = err,
                     .err_cap = err_cap};
    char path[PATH_MAX_LEN];
    first_sheet(za, path, sizeof(path));
    int rc = read_strings(za, &strings, err, err_cap);
    if (rc == 0) {
        sheet.parser = XML_ParserCreate("UTF-8");
        XML_SetUserData(sheet.parser, &sheet);
        XML_SetElementHandler(sheet.parser, sheet_start, sheet_end);
        XML_SetCharacterDataHandler(sheet.parser, sheet_text);
        rc = parse_part(za, path, sheet.parser, err, err_cap);
        if (rc == FG_ENOTFOUND)
            rc = fg_sheet_fail(err, err_cap, "the workbook has no worksheet");
        if (sheet.rc != 0)
            rc = sheet.rc;
        XML_ParserFree(sheet.parser);
    }
    fg_sheet_row_free(&sheet.row);
    fg_buf_free(&sheet.value);
    fg_buf_free(&strings.text);
    free(strings.offsets);
    zip_discard(za); /* frees the source too */
    return rc;
}
