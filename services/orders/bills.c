/*
 * bills.c - a month's bills from a spreadsheet (bills.h).
 */
#include "orders/bills.h"

#include <assert.h>
#include <inttypes.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yajl/yajl_tree.h>
#include "core/csvw.h"
#include "core/day.h"
#include "core/error.h"
#include "core/text.h"
#include "orders/orders_internal.h"

/* The order fields a column can fill, and the names people give the column
 * (compared without case for ASCII letters, each side of a " / " on its own). */
typedef enum {
    COL_MERCHANT_REF,
    COL_AMOUNT,
    COL_FEE_TYPE,
    COL_CATEGORY,
    COL_CURRENCY,
    COL_DESCRIPTION,
    COL_PAYER_NAME,
    COL_PAYER_REF,
    COL_PAYER_PHONE,
    COL_PAYER_EMAIL,
    COL_DUE,
    COL_EXPIRES,
    COL_ALLOW_PARTIAL,
    COL_CLASS,
    COL_KNOWN,
    COL_METADATA = COL_KNOWN, /* metadata.<key> */
    COL_IGNORED,
} column_t;

static const struct {
    const char *field;
    const char *names[9];
} COLUMNS[COL_KNOWN] = {
    [COL_MERCHANT_REF] = {"merchant_ref", {"merchant_ref", "mã hóa đơn", "số hóa đơn", "bill number", "bill no", NULL}},
    [COL_AMOUNT] = {"amount", {"amount", "số tiền", "thành tiền", NULL}},
    [COL_FEE_TYPE] = {"fee_type", {"fee_type", "loại phí", "fee type", NULL}},
    [COL_CATEGORY] = {"category", {"category", "danh mục", "khoản thu", NULL}},
    [COL_CURRENCY] = {"currency", {"currency", "tiền tệ", NULL}},
    [COL_DESCRIPTION] = {"description", {"description", "nội dung", "diễn giải", NULL}},
    [COL_PAYER_NAME] = {"payer.name",
                        {"payer.name", "payer_name", "người nộp", "họ tên", "họ và tên", "payer", "payer name", NULL}},
    [COL_PAYER_REF] = {"payer.ref",
                       {"payer.ref", "payer_ref", "mã người nộp", "mã học sinh", "mã khách hàng", "payer ref", NULL}},
    [COL_PAYER_PHONE] = {"payer.phone", {"payer.phone", "payer_phone", "số điện thoại", "điện thoại", "phone", NULL}},
    [COL_PAYER_EMAIL] = {"payer.email", {"payer.email", "payer_email", "email", NULL}},
    [COL_DUE] = {"due_at", {"due_at", "due_date", "due date", "hạn nộp", "hạn thanh toán", NULL}},
    [COL_EXPIRES] = {"expires_at", {"expires_at", "expires", "hết hạn", NULL}},
    [COL_ALLOW_PARTIAL] = {"allow_partial", {"allow_partial", "nộp một phần", "partial", NULL}},
    [COL_CLASS] = {"metadata.class", {"metadata.class", "lớp", "class", NULL}},
};

/* Fee types people write in Vietnamese. */
static const struct {
    const char *text, *fee_type;
} FEE_WORDS[] = {
    {"học phí", "tuition"},       {"tiền học", "tuition"},  {"điện", "utility"},      {"nước", "utility"},
    {"điện nước", "utility"},     {"tiện ích", "utility"},  {"lệ phí", "procedure"},  {"thủ tục", "procedure"},
    {"phí thủ tục", "procedure"}, {"tiền điện", "utility"}, {"tiền nước", "utility"},
};

typedef struct {
    fg_bills_t *bills;
    const fg_bills_defaults_t *defaults;
    int64_t now_ms;
    int have_header;
    size_t ncols;
    column_t cols[FG_SHEET_CELLS_MAX];
    char metadata_keys[FG_SHEET_CELLS_MAX][FG_ORDER_METADATA_KEY_MAX + 1];
    fg_buf_t scratch;
} reader_t;

void fg_bills_init(fg_bills_t *b)
{
    memset(b, 0, sizeof(*b));
    b->ignored_columns = (fg_buf_t)FG_BUF_INIT;
}

static void bill_free(fg_bill_t *r)
{
    fg_buf_free(&r->order_json);
    fg_buf_free(&r->merchant_ref);
    fg_buf_free(&r->payer_name);
    fg_buf_free(&r->order_id);
    fg_buf_free(&r->code);
    fg_buf_free(&r->conflict_message);
    fg_buf_free(&r->differences);
}

void fg_bills_free(fg_bills_t *b)
{
    for (size_t i = 0; i < b->count; i++)
        bill_free(&b->rows[i]);
    free(b->rows);
    fg_buf_free(&b->ignored_columns);
    memset(b, 0, sizeof(*b));
}

/* ASCII-lower-cased, trimmed copy of s[0..n) into out. */
static void fold(const char *s, size_t n, fg_buf_t *out)
{
    fg_buf_reset(out);
    while (n > 0 && isspace((unsigned char)s[0]))
        s++, n--;
    while (n > 0 && isspace((unsigned char)s[n - 1]))
        n--;
    for (size_t i = 0; i < n; i++)
        fg_buf_putc(out, (char)tolower((unsigned char)s[i]));
    fg_buf_putc(out, '\0');
    out->len--;
}

static int known_name(const char *name, column_t *out)
{
    for (int c = 0; c < COL_KNOWN; c++)
        for (size_t k = 0; COLUMNS[c].names[k] != NULL; k++)
            if (strcmp(name, COLUMNS[c].names[k]) == 0) {
                *out = (column_t)c;
                return 1;
            }
    return 0;
}

/* The column a header cell names: each part of "Vi / En" is tried. */
static column_t header_column(reader_t *r, size_t i, const fg_sheet_cell_t *cell)
{
    fg_buf_t *f = &r->scratch;
    const char *p = cell->text, *end = cell->text + cell->len;
    while (p <= end) {
        const char *slash = memchr(p, '/', (size_t)(end - p));
        const char *part_end = slash != NULL ? slash : end;
        fold(p, (size_t)(part_end - p), f);
        column_t c;
        if (known_name(f->data, &c))
            return c;
        if (f->len > 9 && f->len - 9 <= FG_ORDER_METADATA_KEY_MAX && strncmp(f->data, "metadata.", 9) == 0) {
            /* keep the key's own case: it is data */
            const char *key = p;
            while (isspace((unsigned char)*key))
                key++;
            snprintf(r->metadata_keys[i], sizeof(r->metadata_keys[i]), "%.*s", (int)(f->len - 9), key + 9);
            return COL_METADATA;
        }
        if (slash == NULL)
            break;
        p = slash + 1;
    }
    return COL_IGNORED;
}

static int read_header(reader_t *r, const fg_sheet_cell_t *cells, size_t n)
{
    int seen[COL_KNOWN] = {0};
    fg_buf_t *ig = &r->bills->ignored_columns;
    fg_buf_puts(ig, "[");
    int ignored = 0;
    for (size_t i = 0; i < n; i++) {
        r->cols[i] = header_column(r, i, &cells[i]);
        if (r->cols[i] < COL_KNOWN) {
            if (seen[r->cols[i]]++) {
                snprintf(r->bills->error, sizeof(r->bills->error), "two columns are %s (column %zu)",
                         COLUMNS[r->cols[i]].field, i + 1);
                return FG_EINVALID;
            }
        } else if (r->cols[i] == COL_METADATA) {
            for (size_t k = 0; k < i; k++)
                if (r->cols[k] == COL_METADATA && strcmp(r->metadata_keys[k], r->metadata_keys[i]) == 0) {
                    snprintf(r->bills->error, sizeof(r->bills->error), "two columns are metadata.%s (column %zu)",
                             r->metadata_keys[i], i + 1);
                    return FG_EINVALID;
                }
        } else if (r->cols[i] == COL_IGNORED && cells[i].len > 0) {
            if (ignored++)
                fg_buf_putc(ig, ',');
            fg_json_str(ig, cells[i].text, cells[i].len);
        }
    }
    fg_buf_puts(ig, "]");
    r->ncols = n;
    if (!seen[COL_MERCHANT_REF] || !seen[COL_AMOUNT]) {
        snprintf(r->bills->error, sizeof(r->bills->error),
                 "the first row must name the columns, with at least %s (Mã hóa đơn) and amount (Số tiền)",
                 seen[COL_MERCHANT_REF] ? "" : "merchant_ref");
        if (seen[COL_MERCHANT_REF])
            snprintf(r->bills->error, sizeof(r->bills->error),
                     "the first row names no amount column (amount or Số tiền)");
        return FG_EINVALID;
    }
    r->have_header = 1;
    return 0;
}

/* "4500000", "4.500.000", "4,500,000", "4500000.0" (a spreadsheet's number):
 * 0, or -1 when it is not a whole amount. */
static int parse_amount(const char *s, size_t n, int64_t *out)
{
    while (n > 0 && isspace((unsigned char)s[n - 1]))
        n--;
    while (n > 0 && isspace((unsigned char)*s))
        s++, n--;
    if (n >= 2 && s[n - 1] == '0' && s[n - 2] == '.' && memchr(s, ',', n) == NULL) {
        /* "4500000.0": trailing zero decimals only */
        size_t k = n - 1;
        while (k > 0 && s[k] == '0')
            k--;
        if (s[k] == '.' && memchr(s, '.', k) == NULL)
            n = k;
    }
    int64_t v = 0;
    size_t digits = 0, group = 0;
    char sep = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c >= '0' && c <= '9') {
            if (v > (INT64_MAX - 9) / 10)
                return -1;
            v = v * 10 + (c - '0');
            digits++;
            group++;
        } else if ((c == '.' || c == ',') && digits > 0 && (sep == 0 || sep == c) &&
                   (sep == 0 ? group <= 3 : group == 3)) {
            sep = c;
            group = 0;
        } else {
            return -1;
        }
    }
    if (digits == 0 || (sep != 0 && group != 3))
        return -1;
    *out = v;
    return 0;
}

/* A date cell as the end of that day in GMT+7 (RFC 3339 into out): 0, or -1. */
static int parse_due(const char *s, size_t n, char *out, size_t cap)
{
    int32_t day = 0;
    int d, m, y;
    char tail;
    char text[32];
    if (n == 0 || n >= sizeof(text))
        return -1;
    memcpy(text, s, n);
    text[n] = '\0';
    if (sscanf(text, "%2d/%2d/%4d%c", &d, &m, &y, &tail) == 3) {
        if (fg_day_make(y, m, d, &day) != 0)
            return -1;
    } else if (n == 10 && text[4] == '-') {
        if (fg_day_parse(text, n, &day) != 0)
            return -1;
    } else {
        char *end = NULL;
        long serial = strtol(text, &end, 10);
        /* a spreadsheet's day number counts from 1899-12-30; 25569 is 1970-01-01.
         * Only the years 2000 to 2099 (36526 up to 73051): a bare 15 or 2025
         * in a date column is a mistaken cell, not a day of 1900 or 1905 */
        if (end == text || (*end != '\0' && strcmp(end, ".0") != 0) || serial < 36526 || serial >= 73051)
            return -1;
        day = fg_day_of_ms((int64_t)(serial - 25569) * 86400000LL);
    }
    fg_time_format_rfc3339(fg_day_start_ms(fg_day_next(day)) - 1000, 0, out, cap);
    return 0;
}

static const char *fee_type_of(const char *text, fg_buf_t *scratch)
{
    fold(text, strlen(text), scratch);
    for (size_t i = 0; i < sizeof(FEE_WORDS) / sizeof(FEE_WORDS[0]); i++)
        if (strcmp(scratch->data, FEE_WORDS[i].text) == 0)
            return FEE_WORDS[i].fee_type;
    return scratch->data; /* as written: the order's validation names a wrong one */
}

static int yes(const char *s, fg_buf_t *scratch)
{
    fold(s, strlen(s), scratch);
    const char *t = scratch->data;
    return strcmp(t, "1") == 0 || strcmp(t, "yes") == 0 || strcmp(t, "true") == 0 || strcmp(t, "có") == 0 ||
           strcmp(t, "x") == 0;
}

static fg_bill_t *new_bill(fg_bills_t *b, size_t row_no)
{
    if (b->count == b->cap) {
        b->cap = b->cap == 0 ? 64 : b->cap * 2;
        b->rows = fg_realloc(b->rows, b->cap * sizeof(*b->rows));
    }
    fg_bill_t *r = &b->rows[b->count++];
    memset(r, 0, sizeof(*r));
    r->row_no = row_no;
    return r;
}

static int is_payer(column_t c) { return c >= COL_PAYER_NAME && c <= COL_PAYER_EMAIL; }
static int is_metadata(column_t c) { return c == COL_METADATA || c == COL_CLASS; }

/* The row's payer (want_payer) or metadata cells as the object member name:
 * {"name":…} or {"class":…}; nothing when the row has none.  *comma as the
 * JSON writer takes it. */
static void put_object(reader_t *r, fg_buf_t *j, int *comma, const char *name, int want_payer,
                       const fg_sheet_cell_t *cells, size_t n)
{
    int members = 0;
    for (size_t i = 0; i < n && i < r->ncols; i++) {
        column_t c = r->cols[i];
        if (cells[i].len == 0 || !(want_payer ? is_payer(c) : is_metadata(c)))
            continue;
        if (members++ == 0) {
            fg_json_key(j, *comma, name);
            fg_buf_putc(j, '{');
            *comma = 1;
        } else {
            fg_buf_putc(j, ',');
        }
        const char *key = want_payer       ? COLUMNS[c].field + 6 /* "payer." */
                          : c == COL_CLASS ? "class"
                                           : r->metadata_keys[i];
        fg_json_str(j, key, strlen(key));
        fg_buf_putc(j, ':');
        fg_json_str(j, cells[i].text, cells[i].len);
    }
    if (members > 0)
        fg_buf_putc(j, '}');
}

/* The row as an order object: its JSON into bill->order_json. */
static int row_json(reader_t *r, fg_bill_t *bill, const fg_sheet_cell_t *cells, size_t n, fg_field_error_t *err)
{
    fg_buf_t *j = &bill->order_json;
    int has[COL_KNOWN] = {0};
    fg_buf_puts(j, "{");
    int comma = 0;
    for (size_t i = 0; i < n && i < r->ncols; i++) {
        column_t c = r->cols[i];
        const char *v = cells[i].text;
        if (cells[i].len > 0 && c == COL_MERCHANT_REF)
            fg_buf_append(&bill->merchant_ref, v, cells[i].len);
        if (cells[i].len > 0 && c == COL_PAYER_NAME)
            fg_buf_append(&bill->payer_name, v, cells[i].len);
        if (cells[i].len == 0 || c == COL_IGNORED || is_metadata(c) || is_payer(c))
            continue;
        has[c] = 1;
        if (c == COL_AMOUNT) {
            if (parse_amount(v, cells[i].len, &bill->amount) != 0)
                return fg_field_fail(err, FG_FIELD_UNACCEPTABLE, "invalid_amount", "amount",
                                     "the amount \"%.40s\" is not a whole number of minor units", v);
            fg_json_kv_int(j, comma, "amount", bill->amount);
        } else if (c == COL_DUE || c == COL_EXPIRES) {
            char t[40];
            if (parse_due(v, cells[i].len, t, sizeof(t)) != 0)
                return fg_field_fail(err, FG_FIELD_UNACCEPTABLE, "invalid_date", COLUMNS[c].field,
                                     "the date \"%.40s\" is not dd/mm/yyyy or yyyy-mm-dd (or a spreadsheet date of "
                                     "2000 to 2099)",
                                     v);
            fg_json_kv_str(j, comma, COLUMNS[c].field, t);
        } else if (c == COL_ALLOW_PARTIAL) {
            fg_json_kv_bool(j, comma, "allow_partial", yes(v, &r->scratch));
        } else if (c == COL_FEE_TYPE) {
            fg_json_kv_str(j, comma, "fee_type", fee_type_of(v, &r->scratch));
        } else {
            fg_json_kv_str(j, comma, COLUMNS[c].field, v);
        }
        comma = 1;
    }
    if (!has[COL_CURRENCY])
        fg_json_kv_str(j, comma, "currency", "VND"), comma = 1;
    if (!has[COL_FEE_TYPE] && r->defaults != NULL && r->defaults->fee_type != NULL)
        fg_json_kv_str(j, comma, "fee_type", r->defaults->fee_type), comma = 1;
    if (!has[COL_CATEGORY] && r->defaults != NULL && r->defaults->category != NULL)
        fg_json_kv_str(j, comma, "category", r->defaults->category), comma = 1;
    put_object(r, j, &comma, "payer", 1, cells, n);
    put_object(r, j, &comma, "metadata", 0, cells, n);
    fg_buf_puts(j, "}");
    return 0;
}
static void check_row(reader_t *r, fg_bill_t *bill)
{
    fg_order_input_t in;
    fg_buf_putc(&bill->order_json, '\0');
    bill->order_json.len--;
    yajl_val obj = fg_json_parse_object(bill->order_json.data, bill->order_json.len, &bill->error);
    if (obj == NULL) {
        bill->state = FG_BILL_INVALID;
        return;
    }
    memset(&in, 0, sizeof(in));
    if (fg_order_input_parse(obj, r->now_ms, &in, &bill->error) != 0) {
        bill->state = FG_BILL_INVALID;
    } else {
        fg_buf_reset(&bill->merchant_ref);
        fg_buf_puts(&bill->merchant_ref, in.merchant_ref);
        fg_buf_reset(&bill->payer_name);
        if (in.payer_name != NULL)
            fg_buf_puts(&bill->payer_name, in.payer_name);
        bill->amount = in.amount;
        memcpy(bill->currency, in.currency, sizeof(bill->currency));
        bill->state = FG_BILL_VALID;
    }
    fg_order_input_free(&in);
    yajl_tree_free(obj);
}

static int on_row(void *ctx, size_t row_no, const fg_sheet_cell_t *cells, size_t n)
{
    reader_t *r = ctx;
    fg_bills_t *b = r->bills;
    if (!r->have_header)
        return read_header(r, cells, n);
    if (b->count == FG_ORDER_BATCH_MAX) {
        snprintf(b->error, sizeof(b->error), "a file holds at most %d bills; row %zu is one too many",
                 FG_ORDER_BATCH_MAX, row_no);
        return FG_EINVALID;
    }
    fg_bill_t *bill = new_bill(b, row_no);
    if (n > r->ncols) {
        fg_field_fail(&bill->error, FG_FIELD_MALFORMED, "extra_cells", NULL,
                      "the row has %zu cells but the header names %zu columns", n, r->ncols);
        bill->state = FG_BILL_INVALID;
    } else if (row_json(r, bill, cells, n, &bill->error) != 0) {
        bill->state = FG_BILL_INVALID;
    } else {
        check_row(r, bill);
    }
    if (bill->state == FG_BILL_VALID) {
        /* the same merchant_ref twice in one file is a mistake in the file */
        for (size_t i = 0; i + 1 < b->count; i++) {
            const fg_bill_t *o = &b->rows[i];
            if (o->state == FG_BILL_VALID && o->merchant_ref.len == bill->merchant_ref.len &&
                memcmp(o->merchant_ref.data, bill->merchant_ref.data, o->merchant_ref.len) == 0) {
                fg_field_fail(&bill->error, FG_FIELD_UNACCEPTABLE, "duplicate_in_file", "merchant_ref",
                              "row %zu has the same merchant_ref", o->row_no);
                bill->state = FG_BILL_INVALID;
                break;
            }
        }
    }
    if (bill->state == FG_BILL_INVALID)
        b->invalid++;
    return 0;
}

int fg_bills_read(fg_bills_t *b, fg_sheet_format_t format, const char *data, size_t len,
                  const fg_bills_defaults_t *defaults, int64_t now_ms)
{
    reader_t r = {.bills = b, .defaults = defaults, .now_ms = now_ms, .scratch = FG_BUF_INIT};
    int rc = fg_sheet_read(format, data, len, on_row, &r, b->error, sizeof(b->error));
    fg_buf_free(&r.scratch);
    if (rc == 0 && !r.have_header)
        snprintf(b->error, sizeof(b->error), "the file is empty"), rc = FG_EINVALID;
    else if (rc == 0 && b->count == 0)
        snprintf(b->error, sizeof(b->error), "the file has a header row but no bills"), rc = FG_EINVALID;
    return rc;
}

/* ---- rows whose merchant_ref the merchant has used ---------------------------- */

/* What differs between a row and its merchant_ref's order, gathered. */
typedef struct {
    fg_bill_t *bill;
    const fg_order_row_t *order;
    fg_buf_t order_value, row_value; /* one field's, as JSON */
    int count;
} diffs_t;

/* Notes field as differing when the JSON renderings of the order's and the
 * row's values (in d->order_value, d->row_value) are not the same text. */
static void differ(diffs_t *d, const char *field)
{
    fg_bill_t *bill = d->bill;
    const fg_buf_t *o = &d->order_value, *r = &d->row_value;
    if (o->len == r->len && (o->len == 0 || memcmp(o->data, r->data, o->len) == 0))
        return;
    if (d->count++ == 0) {
        fg_field_fail(&bill->error, FG_FIELD_UNACCEPTABLE, "duplicate_merchant_ref", field,
                      "merchant_ref \"%.64s\" is order %.40s, which differs from this row", bill->merchant_ref.data,
                      d->order->public_id.data);
        fg_buf_printf(&bill->conflict_message, "merchant_ref \"%s\" is order %s already, whose ",
                      bill->merchant_ref.data, d->order->public_id.data);
        fg_buf_putc(&bill->differences, '[');
    } else {
        fg_buf_puts(&bill->conflict_message, ", ");
        fg_buf_putc(&bill->differences, ',');
    }
    fg_buf_printf(&bill->conflict_message, "%s is %.*s (this row: %.*s)", field, (int)o->len, o->data, (int)r->len,
                  r->data);
    fg_buf_puts(&bill->differences, "{");
    fg_json_kv_str(&bill->differences, 0, "field", field);
    fg_json_key(&bill->differences, 1, "order");
    fg_buf_append(&bill->differences, o->data, o->len);
    fg_json_key(&bill->differences, 1, "row");
    fg_buf_append(&bill->differences, r->data, r->len);
    fg_buf_puts(&bill->differences, "}");
}

/* A text field the row sets (row_value NULL: the row says nothing of it). */
static void differ_text(diffs_t *d, const char *field, const char *row_value, const fg_buf_t *order_value, int is_null)
{
    if (row_value == NULL)
        return;
    fg_buf_reset(&d->order_value);
    fg_buf_reset(&d->row_value);
    fg_json_strn(&d->order_value,
                 is_null                     ? NULL
                 : order_value->data != NULL ? order_value->data
                                             : "",
                 order_value->len);
    fg_json_cstr(&d->row_value, row_value);
    differ(d, field);
}

static void json_time(fg_buf_t *b, int is_null, int64_t ms)
{
    char t[40];
    if (is_null) {
        fg_buf_puts(b, "null");
    } else {
        fg_time_format_rfc3339(ms, ms % 1000 != 0, t, sizeof(t));
        fg_json_cstr(b, t);
    }
}

static void differ_time(diffs_t *d, const char *field, int row_has, int64_t row_ms, int order_null, int64_t order_ms)
{
    if (!row_has || (!order_null && order_ms == row_ms))
        return;
    fg_buf_reset(&d->order_value);
    fg_buf_reset(&d->row_value);
    json_time(&d->order_value, order_null, order_ms);
    json_time(&d->row_value, 0, row_ms);
    differ(d, field);
}

/* The row's metadata keys, each against the order's value of that key. */
static void differ_metadata(diffs_t *d, yajl_val row_metadata)
{
    if (row_metadata == NULL || !YAJL_IS_OBJECT(row_metadata))
        return;
    char error[128], field[64];
    const fg_order_row_t *o = d->order;
    yajl_val stored = o->metadata_null || o->metadata.len == 0
                          ? NULL
                          : fg_json_tree(o->metadata.data, o->metadata.len, error, sizeof(error));
    for (size_t i = 0; i < row_metadata->u.object.len; i++) {
        const char *key = row_metadata->u.object.keys[i];
        yajl_val v = fg_json_member(stored, key);
        fg_buf_reset(&d->order_value);
        fg_buf_reset(&d->row_value);
        fg_json_cstr(&d->order_value, v != NULL && YAJL_IS_STRING(v) ? YAJL_GET_STRING(v) : NULL);
        fg_json_cstr(&d->row_value, YAJL_GET_STRING(row_metadata->u.object.values[i]));
        snprintf(field, sizeof(field), "metadata.%s", key);
        differ(d, field);
    }
    if (stored != NULL)
        yajl_tree_free(stored);
}

/* Every field the row sets, against the order o: how many differ (noted in
 * the bill). */
static int differences(fg_bill_t *bill, const fg_order_row_t *o, yajl_val obj, const fg_order_input_t *in)
{
    diffs_t d = {bill, o, FG_BUF_INIT, FG_BUF_INIT, 0};
    fg_buf_reset(&bill->conflict_message);
    fg_buf_reset(&bill->differences);
    if (in->amount != o->amount) {
        fg_buf_printf(&d.order_value, "%" PRId64, o->amount);
        fg_buf_printf(&d.row_value, "%" PRId64, in->amount);
        differ(&d, "amount");
    }
    differ_text(&d, "currency", in->currency, &o->currency, 0);
    differ_text(&d, "fee_type", in->fee_type, &o->fee_type, 0);
    differ_text(&d, "category", in->category, &o->category, o->category_null);
    yajl_val partial = fg_json_member(obj, "allow_partial");
    if (partial != NULL && in->allow_partial != (o->allow_partial != 0)) {
        fg_buf_reset(&d.order_value);
        fg_buf_reset(&d.row_value);
        fg_buf_puts(&d.order_value, o->allow_partial != 0 ? "true" : "false");
        fg_buf_puts(&d.row_value, in->allow_partial ? "true" : "false");
        differ(&d, "allow_partial");
    }
    differ_text(&d, "payer.name", in->payer_name, &o->payer_name, o->payer_name_null);
    differ_text(&d, "payer.ref", in->payer_ref, &o->payer_ref, o->payer_ref_null);
    differ_text(&d, "payer.phone", in->payer_phone, &o->payer_phone, o->payer_phone_null);
    differ_text(&d, "payer.email", in->payer_email, &o->payer_email, o->payer_email_null);
    differ_text(&d, "description", in->description, &o->description, o->description_null);
    differ_time(&d, "due_at", in->has_due_at, in->due_at_ms, o->due_at_null, o->due_at);
    differ_time(&d, "expires_at", in->has_expires_at, in->expires_at_ms, o->expires_at_null, o->expires_at);
    differ_metadata(&d, fg_json_member(obj, "metadata"));
    if (d.count > 0) {
        fg_buf_puts(&bill->conflict_message,
                    "; an import does not change an order: cancel it and bill under a new merchant_ref, or correct "
                    "the row");
        fg_buf_putc(&bill->differences, ']');
    }
    fg_buf_free(&d.order_value);
    fg_buf_free(&d.row_value);
    return d.count;
}

/* The row's bill is order o already: EXISTING with what the order holds, or
 * INVALID (a conflict, counted) when o differs from what the row says. */
static void settle_row(fg_bills_t *b, fg_bill_t *bill, const fg_order_row_t *o)
{
    fg_field_error_t err;
    fg_order_input_t in;
    memset(&in, 0, sizeof(in));
    /* read as of the epoch: an expires_at the clock has passed since is still what the row says */
    yajl_val obj = fg_json_parse_object(bill->order_json.data, bill->order_json.len, &err);
    int rc = obj != NULL ? fg_order_input_parse(obj, 0, &in, &err) : -1;
    assert(rc == 0); /* validated by fg_bills_read */
    fg_buf_reset(&bill->order_id);
    fg_buf_append(&bill->order_id, o->public_id.data, o->public_id.len);
    fg_buf_reset(&bill->code);
    if (rc == 0 && differences(bill, o, obj, &in) > 0) {
        bill->state = FG_BILL_INVALID;
        bill->conflict = 1;
        b->invalid++;
    } else {
        bill->state = FG_BILL_EXISTING;
        fg_buf_append(&bill->code, o->code.data, o->code.len);
        bill->amount = o->amount;
        snprintf(bill->currency, sizeof(bill->currency), "%.*s", (int)o->currency.len, o->currency.data);
        fg_buf_reset(&bill->payer_name);
        if (!o->payer_name_null)
            fg_buf_append(&bill->payer_name, o->payer_name.data, o->payer_name.len);
        b->existing++;
    }
    fg_order_input_free(&in);
    if (obj != NULL)
        yajl_tree_free(obj);
}

int fg_bills_lookup(fg_db_t *db, const fg_merchant_ref_t *m, fg_bills_t *b)
{
    int n = (int)b->count;
    const char **refs = fg_calloc((size_t)n, sizeof(*refs));
    fg_order_row_t *orders = fg_calloc((size_t)n, sizeof(*orders));
    int *found = fg_calloc((size_t)n, sizeof(*found));
    for (int i = 0; i < n; i++)
        if (b->rows[i].state == FG_BILL_VALID)
            refs[i] = b->rows[i].merchant_ref.data;
    int rc = fg_order_rows_by_refs(db, m->id, refs, n, orders, found);
    for (int i = 0; i < n; i++) {
        if (rc == 0 && found[i])
            settle_row(b, &b->rows[i], &orders[i]);
        fg_order_row_free(&orders[i]);
    }
    free(refs);
    free(orders);
    free(found);
    return rc;
}

/* A row made into a new order: CREATED, with the row's own values. */
static void bill_created(fg_bills_t *b, fg_bill_t *bill, const fg_order_row_t *row, const fg_order_input_t *in)
{
    bill->state = FG_BILL_CREATED;
    fg_buf_reset(&bill->order_id);
    fg_buf_append(&bill->order_id, row->public_id.data, row->public_id.len);
    fg_buf_reset(&bill->code);
    fg_buf_append(&bill->code, row->code.data, row->code.len);
    bill->amount = in->amount;
    fg_buf_reset(&bill->payer_name);
    if (in->payer_name != NULL)
        fg_buf_puts(&bill->payer_name, in->payer_name);
    b->created++;
}

/* The rows fg_bills_lookup left valid set-wise (fg_order_create_many): the
 * new orders as multi-row INSERTs when the connection defers. */
static int commit_set(fg_db_t *db, const fg_merchant_ref_t *m, fg_bills_t *b, int64_t now_ms)
{
    int n = (int)b->count, rc = 0;
    yajl_val *objs = fg_calloc((size_t)n, sizeof(*objs));
    fg_order_set_t set;
    fg_order_set_init(&set, n);
    fg_field_error_t err;
    for (int i = 0; i < n; i++) {
        fg_bill_t *bill = &b->rows[i];
        if (bill->state != FG_BILL_VALID)
            continue;
        objs[i] = fg_json_parse_object(bill->order_json.data, bill->order_json.len, &err);
        if (objs[i] == NULL || fg_order_input_parse(objs[i], now_ms, &set.inputs[i], &err) != 0)
            rc = FG_EINVALID; /* validated by fg_bills_read: only a clock moved past expires_at */
        set.in[i] = &set.inputs[i];
    }
    if (rc == 0)
        rc = fg_order_create_many(db, m, &set, now_ms);
    for (int i = 0; i < n && rc == 0; i++) {
        if (set.created[i])
            bill_created(b, &b->rows[i], &set.rows[i], &set.inputs[i]);
        else if (set.in[i] != NULL)
            rc = FG_ECONFLICT; /* its merchant_ref taken by another import since the lookup */
    }
    fg_order_set_free(&set); /* before the trees its inputs point into */
    for (int i = 0; i < n; i++)
        if (objs[i] != NULL)
            yajl_tree_free(objs[i]);
    free(objs);
    return rc;
}

/* The rows fg_bills_lookup left valid one by one; a merchant_ref taken since
 * by another transaction is settled as fg_bills_lookup would have. */
static int commit_each(fg_db_t *db, const fg_merchant_ref_t *m, fg_bills_t *b, int64_t now_ms)
{
    fg_order_row_t row;
    fg_buf_t existing = FG_BUF_INIT;
    fg_field_error_t err;
    int rc = 0;
    fg_order_row_init(&row);
    for (size_t i = 0; i < b->count && rc == 0; i++) {
        fg_bill_t *bill = &b->rows[i];
        if (bill->state != FG_BILL_VALID)
            continue;
        fg_order_input_t in;
        memset(&in, 0, sizeof(in));
        yajl_val obj = fg_json_parse_object(bill->order_json.data, bill->order_json.len, &err);
        if (obj == NULL || fg_order_input_parse(obj, now_ms, &in, &err) != 0) {
            rc = FG_EINVALID; /* validated by fg_bills_read: only a clock moved past expires_at */
        } else {
            int created = 0;
            rc = fg_order_create_or_existing(db, m, &in, now_ms, &row, &created, &existing);
            if (rc == 0 && created)
                bill_created(b, bill, &row, &in);
            else if (rc == 0 && (rc = fg_order_get(db, m, existing.data, existing.len, &row)) == 0)
                settle_row(b, bill, &row);
        }
        fg_order_input_free(&in);
        if (obj != NULL)
            yajl_tree_free(obj);
    }
    fg_order_row_free(&row);
    fg_buf_free(&existing);
    return rc;
}

int fg_bills_commit(fg_db_t *db, const fg_merchant_ref_t *m, fg_bills_t *b, int64_t now_ms, int setwise)
{
    /* a re-run (deadlock, or row by row after the set) starts over */
    for (size_t i = 0; i < b->count; i++) {
        fg_bill_t *bill = &b->rows[i];
        if (bill->conflict) {
            bill->conflict = 0;
            bill->state = FG_BILL_VALID;
            b->invalid--;
        } else if (bill->state != FG_BILL_INVALID) {
            bill->state = FG_BILL_VALID;
        }
        fg_buf_reset(&bill->order_id);
        fg_buf_reset(&bill->code);
    }
    assert(b->invalid == 0);
    b->created = b->existing = 0;
    int rc = fg_bills_lookup(db, m, b);
    if (rc == 0 && b->invalid == 0) /* a row whose order differs refuses the file: nothing is made */
        rc = setwise ? commit_set(db, m, b, now_ms) : commit_each(db, m, b, now_ms);
    if (rc == 0 && b->invalid > 0)
        rc = FG_ECONFLICT;
    if (rc != 0) {
        /* the transaction rolls back: no row was created, whatever this run
         * had made of it (an order taken by another import meanwhile) */
        for (size_t i = 0; i < b->count; i++) {
            fg_bill_t *bill = &b->rows[i];
            if (bill->state == FG_BILL_CREATED) {
                bill->state = FG_BILL_VALID;
                fg_buf_reset(&bill->order_id);
                fg_buf_reset(&bill->code);
            }
        }
        b->created = 0;
    }
    return rc;
}

const char *fg_bill_message(const fg_bill_t *bill)
{
    return bill->conflict ? bill->conflict_message.data : bill->error.message;
}

static const char *state_name(fg_bill_state_t s)
{
    switch (s) {
    case FG_BILL_VALID: return "valid";
    case FG_BILL_INVALID: return "invalid";
    case FG_BILL_CREATED: return "created";
    case FG_BILL_EXISTING: break;
    }
    return "existing";
}

static void pay_url(fg_buf_t *out, const char *base_url, const fg_bill_t *bill)
{
    fg_buf_reset(out);
    if (bill->code.len > 0)
        fg_buf_printf(out, "%s/pay/%.*s", base_url, (int)bill->code.len, bill->code.data);
}

void fg_bills_json(fg_buf_t *out, const fg_bills_t *b, int committed, const char *base_url)
{
    fg_buf_t url = FG_BUF_INIT;
    fg_buf_puts(out, "{");
    fg_json_kv_str(out, 0, "object", "bills_import");
    fg_json_kv_bool(out, 1, "committed", committed);
    fg_json_kv_int(out, 1, "rows", (int64_t)b->count);
    fg_json_kv_int(out, 1, "invalid", (int64_t)b->invalid);
    fg_json_kv_int(out, 1, "created", (int64_t)b->created);
    fg_json_kv_int(out, 1, "existing", (int64_t)b->existing);
    fg_json_key(out, 1, "ignored_columns");
    fg_buf_append(out, b->ignored_columns.data, b->ignored_columns.len);
    fg_json_key(out, 1, "data");
    fg_buf_putc(out, '[');
    for (size_t i = 0; i < b->count; i++) {
        const fg_bill_t *bill = &b->rows[i];
        fg_buf_puts(out, i > 0 ? ",{" : "{");
        fg_json_kv_int(out, 0, "row", (int64_t)bill->row_no);
        fg_json_kv_str(out, 1, "status", state_name(bill->state));
        if (bill->state == FG_BILL_INVALID) {
            fg_json_key(out, 1, "error");
            fg_buf_puts(out, "{");
            fg_json_kv_str(out, 0, "type", bill->conflict ? "conflict" : "invalid_request");
            fg_json_kv_str(out, 1, "code", bill->error.code);
            fg_json_kv_str(out, 1, "message", fg_bill_message(bill));
            if (bill->error.field[0] != '\0')
                fg_json_kv_str(out, 1, "field", bill->error.field);
            if (bill->conflict) {
                fg_json_kv_strn(out, 1, "existing_order_id", bill->order_id.data, bill->order_id.len);
                fg_json_key(out, 1, "differences");
                fg_buf_append(out, bill->differences.data, bill->differences.len);
            }
            fg_buf_puts(out, "}}");
            continue;
        }
        fg_json_kv_strn(out, 1, "merchant_ref", bill->merchant_ref.data, bill->merchant_ref.len);
        fg_json_kv_int(out, 1, "amount", bill->amount);
        if (bill->payer_name.len > 0)
            fg_json_kv_strn(out, 1, "payer_name", bill->payer_name.data, bill->payer_name.len);
        else
            fg_json_kv_null(out, 1, "payer_name");
        if (bill->order_id.len > 0) {
            fg_json_kv_strn(out, 1, "order_id", bill->order_id.data, bill->order_id.len);
            fg_json_kv_strn(out, 1, "code", bill->code.data, bill->code.len);
            pay_url(&url, base_url, bill);
            fg_json_kv_strn(out, 1, "pay_url", url.data, url.len);
        }
        fg_buf_putc(out, '}');
    }
    fg_buf_puts(out, "]}");
    fg_buf_free(&url);
}

void fg_bills_csv(fg_buf_t *out, const fg_bills_t *b, const char *base_url)
{
    static const char *const header[] = {"row",  "status",  "merchant_ref", "payer_name", "amount",
                                         "code", "pay_url", "error",        NULL};
    fg_buf_t url = FG_BUF_INIT;
    fg_csv_header(out, header);
    for (size_t i = 0; i < b->count; i++) {
        const fg_bill_t *bill = &b->rows[i];
        fg_csv_int(out, 0, (int64_t)bill->row_no);
        fg_csv_cstr(out, 1, state_name(bill->state));
        fg_csv_text(out, 1, bill->merchant_ref.data, bill->merchant_ref.len);
        fg_csv_text(out, 1, bill->payer_name.data, bill->payer_name.len);
        if (bill->state == FG_BILL_INVALID)
            fg_csv_text(out, 1, NULL, 0);
        else
            fg_csv_int(out, 1, bill->amount);
        fg_csv_text(out, 1, bill->code.data, bill->code.len);
        pay_url(&url, base_url, bill);
        fg_csv_text(out, 1, url.data, url.len);
        fg_csv_cstr(out, 1, bill->state == FG_BILL_INVALID ? fg_bill_message(bill) : NULL);
        fg_csv_end_row(out);
    }
    fg_buf_free(&url);
}
