/*
 * test_bills.c - a month's bills from a spreadsheet, POST /v1/orders/import,
 * on the real server and database: a CSV with Vietnamese headers previewed
 * (nothing written) and committed (every row an order with its code and pay
 * link, the metadata class kept), the same file again (nothing new), a file
 * whose row differs from its order (a conflict: refused whole, the order's
 * values named, never shown as the row's), a file with invalid rows refused
 * whole, an XLSX workbook (written by libxlsxwriter)
 * with dates as day numbers, the CSV result file, and malformed files and
 * parameters refused with clear errors.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <xlsxwriter.h>
#include "harness.h"

static fgt_server_t srv;

/* Element i of a JSON array (the test fails when there is none). */
static yajl_val item(yajl_val array, size_t i)
{
    ck_assert_ptr_nonnull(array);
    ck_assert(YAJL_IS_ARRAY(array));
    ck_assert_uint_lt(i, array->u.array.len);
    return array->u.array.values[i];
}

static fgt_response_t import(const char *key, const char *query, const char *content_type, const char *body, size_t len)
{
    char path[256], auth[160], type[160];
    snprintf(path, sizeof(path), "/v1/orders/import%s", query);
    snprintf(auth, sizeof(auth), "Authorization: Bearer %s", key);
    snprintf(type, sizeof(type), "Content-Type: %s", content_type);
    const char *headers[] = {auth, type, NULL};
    return fgt_request(&srv, FGT_H2C, "POST", path, headers, body, len);
}

/* A class of three pupils; refs unique to this run. */
static char *class_csv(const char *prefix)
{
    char *csv = malloc(2048);
    snprintf(csv, 2048,
             "\xEF\xBB\xBF"
             "STT,Mã hóa đơn / Bill number,Họ tên,Lớp,Số tiền,Hạn nộp,Nội dung\r\n"
             "1,%s-1,Nguyễn Văn An,5A,\"4.500.000\",31/12/2026,Học phí tháng 12\r\n"
             "2,%s-2,\"Trần Thị <b>Bình</b>\",5A,4500000,2026-12-31,Học phí tháng 12\r\n"
             "3,%s-3,Lê Văn Cường,5B,\"1,250,000\",15/01/2027,Tiền ăn bán trú\r\n",
             prefix, prefix, prefix);
    return csv;
}

START_TEST(a_class_list_previewed_then_committed)
{
    fgt_merchant_t m;
    fgt_merchant_create(fgt_unique("Trường Tiểu học Bảng Kê"), m.id, m.key);
    const char *prefix = fgt_unique("HP");
    char *csv = class_csv(prefix);

    /* the preview writes nothing */
    fgt_response_t r = import(m.key, "?dry_run=true&fee_type=tuition", "text/csv", csv, 0);
    fgt_expect(r, 200, NULL);
    ck_assert_int_eq(fgt_json_int(&r, "rows", NULL), 3);
    ck_assert_int_eq(fgt_json_int(&r, "invalid", NULL), 0);
    ck_assert_int_eq(fgt_json_int(&r, "created", NULL), 0);
    yajl_val ignored = item(fgt_json_array(&r, "ignored_columns", NULL), 0);
    ck_assert_str_eq(YAJL_GET_STRING(ignored), "STT");
    yajl_val rows = fgt_json_array(&r, "data", NULL);
    ck_assert_str_eq(fgt_val_str(item(rows, 0), "status", NULL), "valid");
    ck_assert_int_eq(YAJL_GET_INTEGER(fgt_val_at(item(rows, 0), "amount", NULL)), 4500000);
    ck_assert_int_eq(YAJL_GET_INTEGER(fgt_val_at(item(rows, 2), "amount", NULL)), 1250000);
    ck_assert_int_eq(YAJL_GET_INTEGER(fgt_val_at(item(rows, 0), "row", NULL)), 2);
    fgt_response_free(&r);
    ck_assert_int_eq(fgt_db_orders(m.id), 0);

    /* committed: three orders, each with its code and pay link */
    r = import(m.key, "?fee_type=tuition", "text/csv", csv, 0);
    fgt_expect(r, 200, NULL);
    ck_assert_int_eq(fgt_json_int(&r, "created", NULL), 3);
    rows = fgt_json_array(&r, "data", NULL);
    char code[32], order_id[64];
    snprintf(code, sizeof(code), "%s", fgt_val_str(item(rows, 1), "code", NULL));
    snprintf(order_id, sizeof(order_id), "%s", fgt_val_str(item(rows, 1), "order_id", NULL));
    ck_assert_str_eq(fgt_val_str(item(rows, 1), "status", NULL), "created");
    ck_assert_ptr_nonnull(strstr(fgt_val_str(item(rows, 1), "pay_url", NULL), code));
    fgt_response_free(&r);
    ck_assert_int_eq(fgt_db_orders(m.id), 3);

    /* the order is what the API would have made of the row */
    char path[128];
    snprintf(path, sizeof(path), "/v1/orders/%s", order_id);
    r = fgt_req(&srv, FGT_H2C, "GET", path, m.key, NULL, NULL, 0, NULL);
    fgt_expect(r, 200, NULL);
    ck_assert_str_eq(fgt_json_str(&r, "payer", "name", NULL), "Trần Thị <b>Bình</b>");
    ck_assert_str_eq(fgt_json_str(&r, "fee_type", NULL), "tuition");
    ck_assert_str_eq(fgt_json_str(&r, "metadata", "class", NULL), "5A");
    ck_assert_str_eq(fgt_json_str(&r, "description", NULL), "Học phí tháng 12");
    /* due at the end of 31 December in Ha Noi */
    ck_assert_str_eq(fgt_json_str(&r, "due_at", NULL), "2026-12-31T16:59:59Z");
    fgt_response_free(&r);

    /* the same file again creates nothing and names the existing orders */
    r = import(m.key, "?fee_type=tuition&result=csv", "text/csv", csv, 0);
    ck_assert_int_eq(r.status, 200);
    ck_assert_ptr_nonnull(strstr(fgt_header(&r, "content-type"), "text/csv"));
    ck_assert_int_eq(memcmp(r.body,
                            "\xEF\xBB\xBF"
                            "row,status,merchant_ref,payer_name,amount,code,pay_url,error\r\n",
                            3 + 61),
                     0);
    ck_assert_ptr_nonnull(strstr(r.body, "existing"));
    ck_assert_ptr_nonnull(strstr(r.body, code));
    ck_assert_ptr_null(strstr(r.body, "created"));
    fgt_response_free(&r);
    ck_assert_int_eq(fgt_db_orders(m.id), 3);
    free(csv);
}
END_TEST

/* The class list again, with pupil 2's bill corrected (another amount, the
 * name without its markup). */
static char *corrected_csv(const char *prefix)
{
    char *csv = malloc(2048);
    snprintf(csv, 2048,
             "STT,Mã hóa đơn / Bill number,Họ tên,Lớp,Số tiền,Hạn nộp,Nội dung\r\n"
             "1,%s-1,Nguyễn Văn An,5A,\"4.500.000\",31/12/2026,Học phí tháng 12\r\n"
             "2,%s-2,Trần Thị Bình,5A,4.800.000,2026-12-31,Học phí tháng 12\r\n"
             "3,%s-3,Lê Văn Cường,5B,\"1,250,000\",15/01/2027,Tiền ăn bán trú\r\n",
             prefix, prefix, prefix);
    return csv;
}

START_TEST(a_row_whose_order_differs_is_a_conflict_not_existing)
{
    fgt_merchant_t m;
    fgt_merchant_create(fgt_unique("Trường Tiểu học Sửa Sai"), m.id, m.key);
    const char *prefix = fgt_unique("HPS");
    char *csv = class_csv(prefix), *corrected = corrected_csv(prefix);
    fgt_response_t r = import(m.key, "?fee_type=tuition", "text/csv", csv, 0);
    fgt_expect(r, 200, NULL);
    yajl_val rows = fgt_json_array(&r, "data", NULL);
    char order_id[64], code[32];
    snprintf(order_id, sizeof(order_id), "%s", fgt_val_str(item(rows, 1), "order_id", NULL));
    snprintf(code, sizeof(code), "%s", fgt_val_str(item(rows, 0), "code", NULL));
    fgt_response_free(&r);

    /* the preview already names the row, what differs and the order's values */
    r = import(m.key, "?dry_run=true&fee_type=tuition", "text/csv", corrected, 0);
    fgt_expect(r, 200, NULL);
    ck_assert_int_eq(fgt_json_int(&r, "invalid", NULL), 1);
    ck_assert_int_eq(fgt_json_int(&r, "existing", NULL), 2);
    rows = fgt_json_array(&r, "data", NULL);
    ck_assert_str_eq(fgt_val_str(item(rows, 0), "status", NULL), "existing");
    ck_assert_str_eq(fgt_val_str(item(rows, 1), "status", NULL), "invalid");
    fgt_response_free(&r);

    /* committed: refused whole, nothing changed or created */
    r = import(m.key, "?fee_type=tuition", "text/csv", corrected, 0);
    fgt_expect(r, 422, "invalid_rows");
    ck_assert_int_eq(fgt_json_int(&r, "bills", "invalid", NULL), 1);
    rows = fgt_json_array(&r, "bills", "data", NULL);
    yajl_val row2 = item(rows, 1);
    ck_assert_str_eq(fgt_val_str(row2, "error", "type", NULL), "conflict");
    ck_assert_str_eq(fgt_val_str(row2, "error", "code", NULL), "duplicate_merchant_ref");
    ck_assert_str_eq(fgt_val_str(row2, "error", "field", NULL), "amount");
    ck_assert_str_eq(fgt_val_str(row2, "error", "existing_order_id", NULL), order_id);
    const char *message = fgt_val_str(row2, "error", "message", NULL);
    ck_assert_msg(strstr(message, "amount is 4500000 (this row: 4800000)") != NULL, "%s", message);
    ck_assert_msg(strstr(message, "payer.name is \"Trần Thị <b>Bình</b>\"") != NULL, "%s", message);
    yajl_val diffs = fgt_val_at(row2, "error", "differences", NULL);
    ck_assert_str_eq(fgt_val_str(item(diffs, 0), "field", NULL), "amount");
    ck_assert_int_eq(YAJL_GET_INTEGER(fgt_val_at(item(diffs, 0), "order", NULL)), 4500000);
    ck_assert_int_eq(YAJL_GET_INTEGER(fgt_val_at(item(diffs, 0), "row", NULL)), 4800000);
    ck_assert_str_eq(fgt_val_str(item(diffs, 1), "field", NULL), "payer.name");
    ck_assert_uint_eq(diffs->u.array.len, 2);
    fgt_response_free(&r);
    ck_assert_int_eq(fgt_db_orders(m.id), 3);
    char path[128];
    snprintf(path, sizeof(path), "/v1/orders/%s", order_id);
    r = fgt_req(&srv, FGT_H2C, "GET", path, m.key, NULL, NULL, 0, NULL);
    ck_assert_int_eq(fgt_json_int(&r, "amount", NULL), 4500000);
    fgt_response_free(&r);

    /* with a new pupil beside the corrected one: still nothing made, and the new row is not shown
     * as created (no order, no pay link: the transaction that made it rolled back) */
    char grown[2300];
    snprintf(grown, sizeof(grown), "%s4,%s-4,Phạm Thị Dung,5C,900.000,31/12/2026,Học phí tháng 12\r\n", corrected,
             prefix);
    r = import(m.key, "?fee_type=tuition", "text/csv", grown, 0);
    fgt_expect(r, 422, "invalid_rows");
    ck_assert_int_eq(fgt_json_int(&r, "bills", "created", NULL), 0);
    rows = fgt_json_array(&r, "bills", "data", NULL);
    ck_assert_str_eq(fgt_val_str(item(rows, 3), "status", NULL), "valid");
    ck_assert_ptr_null(strstr(r.body, "\"status\":\"created\""));
    fgt_response_free(&r);
    r = import(m.key, "?fee_type=tuition&result=csv", "text/csv", grown, 0);
    ck_assert_int_eq(r.status, 422);
    ck_assert_ptr_null(strstr(r.body, ",created,"));
    const char *fourth = strstr(r.body, "\n5,"),
               *end = fourth != NULL ? strchr(fourth + 1, '\n') : NULL; /* the file's line 5 */
    ck_assert_msg(fourth != NULL, "%s", r.body);
    const char *link = strstr(fourth, "/pay/");
    ck_assert_msg(link == NULL || (end != NULL && link > end), "the new row has a pay link: %s", r.body);
    fgt_response_free(&r);
    ck_assert_int_eq(fgt_db_orders(m.id), 3);

    /* the mail-merge file never carries the row's amount as the bill's */
    r = import(m.key, "?fee_type=tuition&result=csv", "text/csv", corrected, 0);
    ck_assert_int_eq(r.status, 422);
    ck_assert_ptr_null(strstr(r.body, ",4800000,"));
    ck_assert_msg(strstr(r.body, "\n3,invalid,") != NULL, "%s", r.body);
    fgt_response_free(&r);

    /* a row that says less than its order is that order: shown with what the order holds */
    char brief[512];
    snprintf(brief, sizeof(brief), "merchant_ref,amount\r\n%s-1,4500000\r\n", prefix);
    r = import(m.key, "?fee_type=tuition&result=csv", "text/csv", brief, 0);
    ck_assert_int_eq(r.status, 200);
    ck_assert_msg(strstr(r.body, ",existing,") != NULL && strstr(r.body, "Nguyễn Văn An,4500000") != NULL &&
                      strstr(r.body, code) != NULL,
                  "%s", r.body);
    fgt_response_free(&r);
    ck_assert_int_eq(fgt_db_orders(m.id), 3);
    free(csv);
    free(corrected);
}
END_TEST

START_TEST(a_file_with_a_bad_row_creates_nothing)
{
    fgt_merchant_t m;
    fgt_merchant_create(fgt_unique("Công ty Nước Sạch"), m.id, m.key);
    char csv[1024];
    const char *p = fgt_unique("NUOC");
    snprintf(csv, sizeof(csv),
             "merchant_ref,amount,fee_type,payer_name,due_date\n"
             "%s-1,350000,utility,Hộ Phạm,31/12/2026\n"
             "%s-2,3.50.000,utility,Hộ Đỗ,31/12/2026\n"
             "%s-3,120000,điện nước,Hộ Vũ,31/02/2026\n"
             "%s-1,99000,utility,Hộ Lặp,31/12/2026\n"
             "%s-5,0,utility,Hộ Không,31/12/2026\n"
             "%s-6,10000,rent,Hộ Thuê,\n",
             p, p, p, p, p, p);
    fgt_response_t r = import(m.key, "", "text/csv", csv, 0);
    fgt_expect(r, 422, "invalid_rows");
    ck_assert_int_eq(fgt_json_int(&r, "bills", "invalid", NULL), 5);
    yajl_val rows = fgt_json_array(&r, "bills", "data", NULL);
    ck_assert_str_eq(fgt_val_str(item(rows, 0), "status", NULL), "valid");
    ck_assert_str_eq(fgt_val_str(item(rows, 1), "error", "code", NULL), "invalid_amount");
    ck_assert_str_eq(fgt_val_str(item(rows, 2), "error", "code", NULL), "invalid_date");
    ck_assert_str_eq(fgt_val_str(item(rows, 3), "error", "code", NULL), "duplicate_in_file");
    ck_assert_str_eq(fgt_val_str(item(rows, 4), "error", "field", NULL), "amount");
    ck_assert_str_eq(fgt_val_str(item(rows, 5), "error", "field", NULL), "fee_type");
    fgt_response_free(&r);
    ck_assert_int_eq(fgt_db_orders(m.id), 0);
}
END_TEST

static char *workbook(const char *prefix, size_t *len)
{
    char path[] = "/tmp/fg-bills-XXXXXX.xlsx";
    int fd = mkstemps(path, 5);
    ck_assert_int_ge(fd, 0);
    close(fd);
    lxw_workbook *wb = workbook_new(path);
    lxw_worksheet *ws = workbook_add_worksheet(wb, "Tháng 12");
    lxw_format *date = workbook_add_format(wb);
    format_set_num_format(date, "dd/mm/yyyy");
    const char *head[] = {"Mã hóa đơn", "Người nộp", "Số tiền", "Hạn nộp", "Loại phí", "metadata.khu_vuc"};
    for (int c = 0; c < 6; c++)
        worksheet_write_string(ws, 0, (lxw_col_t)c, head[c], NULL);
    for (int i = 1; i <= 4; i++) {
        char ref[64], name[64];
        snprintf(ref, sizeof(ref), "%s-%d", prefix, i);
        snprintf(name, sizeof(name), "Hộ gia đình %d", i);
        worksheet_write_string(ws, (lxw_row_t)i, 0, ref, NULL);
        worksheet_write_string(ws, (lxw_row_t)i, 1, name, NULL);
        worksheet_write_number(ws, (lxw_row_t)i, 2, 215000 + i, NULL);
        lxw_datetime due = {.year = 2027, .month = 1, .day = 10};
        worksheet_write_datetime(ws, (lxw_row_t)i, 3, &due, date);
        worksheet_write_string(ws, (lxw_row_t)i, 4, "Tiền nước", NULL);
        worksheet_write_string(ws, (lxw_row_t)i, 5, i % 2 ? "Phường 1" : "Phường 2", NULL);
    }
    ck_assert_int_eq(workbook_close(wb), LXW_NO_ERROR);
    FILE *f = fopen(path, "rb");
    fseek(f, 0, SEEK_END);
    *len = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    char *data = malloc(*len);
    ck_assert_uint_eq(fread(data, 1, *len, f), *len);
    fclose(f);
    unlink(path);
    return data;
}

START_TEST(a_workbook_of_water_bills)
{
    fgt_merchant_t m;
    fgt_merchant_create(fgt_unique("Công ty Cấp nước"), m.id, m.key);
    size_t len;
    char *xlsx = workbook(fgt_unique("NUOC"), &len);
    /* recognised by its first bytes; "Tiền nước" is the utility fee type */
    fgt_response_t r = import(m.key, "?dry_run=true", "application/octet-stream", xlsx, len);
    fgt_expect(r, 200, NULL);
    ck_assert_int_eq(fgt_json_int(&r, "rows", NULL), 4);
    ck_assert_int_eq(fgt_json_int(&r, "invalid", NULL), 0);
    fgt_response_free(&r);
    ck_assert_int_eq(fgt_db_orders(m.id), 0);

    r = import(m.key, "?format=xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", xlsx, len);
    fgt_expect(r, 200, NULL);
    ck_assert_int_eq(fgt_json_int(&r, "created", NULL), 4);
    yajl_val rows = fgt_json_array(&r, "data", NULL);
    ck_assert_int_eq(YAJL_GET_INTEGER(fgt_val_at(item(rows, 3), "amount", NULL)), 215004);
    char path[128];
    snprintf(path, sizeof(path), "/v1/orders/%s", fgt_val_str(item(rows, 0), "order_id", NULL));
    fgt_response_free(&r);
    r = fgt_req(&srv, FGT_H2C, "GET", path, m.key, NULL, NULL, 0, NULL);
    fgt_expect(r, 200, NULL);
    ck_assert_str_eq(fgt_json_str(&r, "fee_type", NULL), "utility");
    ck_assert_str_eq(fgt_json_str(&r, "payer", "name", NULL), "Hộ gia đình 1");
    ck_assert_str_eq(fgt_json_str(&r, "metadata", "khu_vuc", NULL), "Phường 1");
    ck_assert_str_eq(fgt_json_str(&r, "due_at", NULL), "2027-01-10T16:59:59Z");
    fgt_response_free(&r);
    ck_assert_int_eq(fgt_db_orders(m.id), 4);
    free(xlsx);
}
END_TEST

START_TEST(malformed_files_and_parameters)
{
    fgt_merchant_t m;
    fgt_merchant_create(fgt_unique("UBND Phường Lỗi"), m.id, m.key);
    fgt_response_t r = import(m.key, "", "text/csv", "", 0);
    fgt_expect(r, 400, "missing_body");
    fgt_response_free(&r);
    r = import(m.key, "", "text/csv", "a,b\n1,2\n", 0);
    fgt_expect(r, 422, "invalid_file");
    fgt_response_free(&r);
    r = import(m.key, "", "text/csv", "merchant_ref,amount\n", 0);
    fgt_expect(r, 422, "invalid_file");
    fgt_response_free(&r);
    r = import(m.key, "", "text/csv", "merchant_ref,amount\nX,\"1\n", 0);
    fgt_expect(r, 422, "invalid_file");
    ck_assert_ptr_nonnull(strstr(fgt_json_str(&r, "error", "message", NULL), "not closed"));
    fgt_response_free(&r);
    r = import(m.key, "?format=xlsx", "text/csv", "merchant_ref,amount\nX,1\n", 0);
    fgt_expect(r, 422, "invalid_file");
    fgt_response_free(&r);
    r = import(m.key, "?format=ods", "text/csv", "merchant_ref,amount\nX,1\n", 0);
    fgt_expect(r, 400, "invalid_format");
    fgt_response_free(&r);
    r = import(m.key, "?dry_run=maybe", "text/csv", "merchant_ref,amount\nX,1\n", 0);
    fgt_expect(r, 400, "invalid_parameter");
    fgt_response_free(&r);
    r = import("fg_live_nosuchkey", "", "text/csv", "merchant_ref,amount\nX,1\n", 0);
    ck_assert_int_eq(r.status, 401);
    fgt_response_free(&r);
    ck_assert_int_eq(fgt_db_orders(m.id), 0);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("bills");
    TCase *tc = tcase_create("import");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, a_class_list_previewed_then_committed);
    tcase_add_test(tc, a_row_whose_order_differs_is_a_conflict_not_existing);
    tcase_add_test(tc, a_file_with_a_bad_row_creates_nothing);
    tcase_add_test(tc, a_workbook_of_water_bills);
    tcase_add_test(tc, malformed_files_and_parameters);
    suite_add_tcase(s, tc);
    fgt_server_start(&srv, NULL);
    int rc = fgt_run(s);
    if (fgt_server_stop(&srv) != 0)
        rc = 1;
    return rc;
}
