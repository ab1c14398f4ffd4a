/*
 * fuzz_bills.c - a bills file (orders/bills.c fg_bills_read) as the staff
 * page and POST /v1/orders/import take it: the format sniffed from the first
 * bytes (a zip archive is XLSX: core/sheet_xlsx.c, else CSV: core/sheet.c),
 * every row read and validated as an order, then the answers built from it.
 * The first byte picks the defaults for columns the file leaves out, and
 * whether the input is the file, or the XML parts of a workbook the target
 * zips (stored, with good CRCs) so that mutations reach the XLSX reader's
 * XML rather than stopping at the zip layer: the worksheet, then the shared
 * strings, the workbook and its relationships, separated by PART_SEPARATOR.
 */
#define _GNU_SOURCE /* memmem */
#include "fuzz.h"

#include "orders/bills.h"
#include "orders/orders.h"

#include <zip.h>

#define PART_SEPARATOR "\n--part--\n"

static const char *const PARTS[] = {"xl/worksheets/sheet1.xml", "xl/sharedStrings.xml", "xl/workbook.xml",
                                    "xl/_rels/workbook.xml.rels"};

static void add_part(zip_t *za, const char *name, const char *data, size_t len)
{
    zip_source_t *part = zip_source_buffer(za, data, len, 0);
    zip_int64_t index = part != NULL ? zip_file_add(za, name, part, ZIP_FL_OVERWRITE) : -1;
    if (index < 0) {
        zip_source_free(part);
        return;
    }
    zip_set_file_compression(za, (zip_uint64_t)index, ZIP_CM_STORE, 0);
}

/* A workbook of the parts in text (see above) into out. */
static void zip_parts(const char *text, size_t size, fg_buf_t *out)
{
    zip_error_t zerr;
    zip_error_init(&zerr);
    zip_source_t *src = zip_source_buffer_create(NULL, 0, 0, &zerr);
    zip_t *za = src != NULL ? zip_open_from_source(src, ZIP_TRUNCATE, &zerr) : NULL;
    if (za == NULL) {
        zip_source_free(src);
        zip_error_fini(&zerr);
        return;
    }
    zip_source_keep(src);
    const char *at = text, *end = text + size;
    for (size_t i = 0; i < sizeof(PARTS) / sizeof(PARTS[0]) && at <= end; i++) {
        const char *sep = memmem(at, (size_t)(end - at), PART_SEPARATOR, sizeof(PART_SEPARATOR) - 1);
        const char *stop = sep != NULL ? sep : end;
        add_part(za, PARTS[i], at, (size_t)(stop - at));
        if (sep == NULL)
            break;
        at = sep + sizeof(PART_SEPARATOR) - 1;
    }
    if (zip_close(za) != 0) {
        zip_discard(za);
    } else if (zip_source_open(src) == 0) {
        char chunk[4096];
        zip_int64_t n;
        while ((n = zip_source_read(src, chunk, sizeof(chunk))) > 0)
            fg_buf_append(out, chunk, (size_t)n);
        zip_source_close(src);
    }
    zip_source_free(src);
    zip_error_fini(&zerr);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    unsigned mode = fuzz_take_byte(&data, &size);
    const char *text = (const char *)data;
    fg_buf_t zipped = FG_BUF_INIT;
    if (mode & 8) {
        zip_parts(text, size, &zipped);
        text = zipped.data != NULL ? zipped.data : "";
        size = zipped.len;
    }
    fg_bills_defaults_t defaults = {(mode & 1) ? "tuition" : NULL, (mode & 2) ? "Lớp 1A" : NULL};
    fg_sheet_format_t format = fg_sheet_sniff(text, size);
    if (mode & 4)
        format = format == FG_SHEET_CSV ? FG_SHEET_XLSX : FG_SHEET_CSV;
    fg_bills_t b;
    fg_bills_init(&b);
    int rc = fg_bills_read(&b, format, text, size, &defaults, FUZZ_NOW_MS);
    if (rc == 0) {
        size_t invalid = 0;
        FUZZ_CHECK(b.count >= 1 && b.count <= FG_ORDER_BATCH_MAX);
        for (size_t i = 0; i < b.count; i++) {
            const fg_bill_t *row = &b.rows[i];
            FUZZ_CHECK(row->state == FG_BILL_VALID || row->state == FG_BILL_INVALID);
            if (row->state == FG_BILL_INVALID)
                invalid++;
            else
                FUZZ_CHECK(row->amount >= 1 && row->order_json.len > 0);
        }
        FUZZ_CHECK(invalid == b.invalid);
        fg_buf_t out = FG_BUF_INIT;
        fg_bills_json(&out, &b, 0, "https://pay.example");
        fg_buf_reset(&out);
        fg_bills_csv(&out, &b, "https://pay.example");
        fg_buf_free(&out);
    } else {
        FUZZ_CHECK(rc == FG_EINVALID && b.error[0] != '\0' && fuzz_terminated(b.error, sizeof(b.error)));
    }
    fg_bills_free(&b);
    fg_buf_free(&zipped);
    return 0;
}
