/*
 * bills_store.c - a bills file kept between its preview and its commit
 * (bills.h).
 */
#include "orders/bills.h"

#include <string.h>
#include "core/error.h"
#include "core/ids.h"
#include "core/text.h"
#include "orders/orders.h"

static const char SQL_PURGE[] = "DELETE FROM bill_uploads WHERE created_at < ? LIMIT 100";
static const char SQL_SAVE[] = "INSERT INTO bill_uploads (public_id, staff_user_id, merchant_id, file_name, format, "
                               "fee_type, content, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)";
static const char SQL_LOAD[] =
    "SELECT merchant_id, format = 'xlsx', file_name, fee_type, content, committed_at IS NOT NULL FROM bill_uploads "
    "WHERE public_id = ? AND staff_user_id = ? AND created_at >= ?";
static const char SQL_MARK[] = "UPDATE bill_uploads SET committed_at = ? WHERE public_id = ? AND committed_at IS NULL";

void fg_bill_upload_init(fg_bill_upload_t *u)
{
    memset(u, 0, sizeof(*u));
    u->file_name = (fg_buf_t)FG_BUF_INIT;
    u->fee_type = (fg_buf_t)FG_BUF_INIT;
    u->content = (fg_buf_t)FG_BUF_INIT;
}

void fg_bill_upload_free(fg_bill_upload_t *u)
{
    fg_buf_free(&u->file_name);
    fg_buf_free(&u->fee_type);
    fg_buf_free(&u->content);
}

typedef struct {
    uint64_t staff_id, merchant_id;
    const char *file_name, *fee_type, *data;
    size_t len;
    fg_sheet_format_t format;
    int64_t now_ms;
    char *public_id;
} save_t;

static int save_tx(fg_db_t *db, void *arg)
{
    save_t *a = arg;
    fg_stmt_t s;
    int rc = fg_stmt_init(&s, db, SQL_PURGE);
    if (rc != 0)
        return rc;
    fg_stmt_int(&s, a->now_ms - FG_BILL_UPLOAD_TTL_MS);
    if ((rc = fg_stmt_exec(&s)) != 0)
        return rc;
    if (fg_id_new("bup_", a->public_id, FG_ID_CAP) < 0)
        return FG_EINVALID;
    if ((rc = fg_stmt_init(&s, db, SQL_SAVE)) != 0)
        return rc;
    fg_stmt_cstr(&s, a->public_id);
    fg_stmt_int(&s, (int64_t)a->staff_id);
    fg_stmt_int(&s, (int64_t)a->merchant_id);
    /* the browser's name for the file: at most 255 bytes, cut on a character, and
     * UTF-8 (the column refuses anything else: a legacy client's name is replaced) */
    size_t name_len = strnlen(a->file_name, 255);
    while (name_len > 0 && name_len < strlen(a->file_name) && ((unsigned char)a->file_name[name_len] & 0xC0) == 0x80)
        name_len--;
    if (fg_utf8_valid(a->file_name, name_len))
        fg_stmt_str(&s, a->file_name, name_len);
    else
        fg_stmt_cstr(&s, a->format == FG_SHEET_XLSX ? "upload.xlsx" : "upload.csv");
    fg_stmt_cstr(&s, a->format == FG_SHEET_XLSX ? "xlsx" : "csv");
    fg_stmt_cstr(&s, a->fee_type);
    fg_stmt_blob(&s, a->data, a->len);
    fg_stmt_int(&s, a->now_ms);
    return fg_stmt_exec(&s);
}

int fg_bill_upload_save(fg_db_t *db, uint64_t staff_id, uint64_t merchant_id, const char *file_name,
                        fg_sheet_format_t format, const char *fee_type, const char *data, size_t len, int64_t now_ms,
                        char *public_id)
{
    save_t a = {staff_id, merchant_id, file_name, fee_type, data, len, format, now_ms, public_id};
    return fg_db_tx(db, save_tx, &a);
}

int fg_bill_upload_load(fg_db_t *db, const char *public_id, uint64_t staff_id, int64_t now_ms, fg_bill_upload_t *out)
{
    fg_stmt_t s;
    int64_t merchant = 0, xlsx = 0, committed = 0;
    int rc = fg_stmt_init(&s, db, SQL_LOAD);
    if (rc != 0)
        return rc;
    fg_stmt_cstr(&s, public_id);
    fg_stmt_int(&s, (int64_t)staff_id);
    fg_stmt_int(&s, now_ms - FG_BILL_UPLOAD_TTL_MS);
    fg_stmt_out_int(&s, &merchant, NULL);
    fg_stmt_out_int(&s, &xlsx, NULL);
    fg_stmt_out_text(&s, &out->file_name, NULL);
    fg_stmt_out_text(&s, &out->fee_type, NULL);
    fg_stmt_out_text(&s, &out->content, NULL);
    fg_stmt_out_int(&s, &committed, NULL);
    if ((rc = fg_stmt_one(&s)) != 0)
        return rc;
    out->merchant_id = (uint64_t)merchant;
    out->format = xlsx ? FG_SHEET_XLSX : FG_SHEET_CSV;
    out->committed = committed != 0;
    return 0;
}

int fg_bill_upload_mark(fg_db_t *db, const char *public_id, int64_t now_ms)
{
    fg_stmt_t s;
    int rc = fg_stmt_init(&s, db, SQL_MARK);
    if (rc != 0)
        return rc;
    fg_stmt_int(&s, now_ms);
    fg_stmt_cstr(&s, public_id);
    if ((rc = fg_stmt_exec(&s)) != 0)
        return rc;
    return fg_stmt_affected(&s) == 1 ? 0 : FG_ECONFLICT;
}
