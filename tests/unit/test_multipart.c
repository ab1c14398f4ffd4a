/*
 * test_multipart.c - multipart/form-data bodies (web/multipart.h): what
 * browsers send from the staff pages' upload forms, and bodies that are not
 * well formed, cut short or too large.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "web/multipart.h"

#define B "----WebKitFormBoundaryx7aQ3"

static const char FORM[] = "--" B "\r\n"
                           "Content-Disposition: form-data; name=\"csrf_token\"\r\n\r\n"
                           "tok123\r\n"
                           "--" B "\r\n"
                           "Content-Disposition: form-data; name=\"format\"\r\n\r\n"
                           "csv\r\n"
                           "--" B "\r\n"
                           "Content-Disposition: form-data; name=\"file\"; filename=\"sao ke.csv\"\r\n"
                           "Content-Type: text/csv\r\n\r\n"
                           "a,b\r\n1,2\r\n--not the boundary\r\n"
                           "\r\n--" B "--\r\n";

static int parse(const char *body, fg_multipart_t *m) { return fg_multipart_parse(body, strlen(body), B, m); }

START_TEST(boundary_from_content_type)
{
    char b[FG_MULTIPART_BOUNDARY_CAP];
    ck_assert_int_eq(fg_multipart_boundary("multipart/form-data; boundary=" B, b), 0);
    ck_assert_str_eq(b, B);
    ck_assert_int_eq(fg_multipart_boundary("Multipart/Form-Data; charset=utf-8; boundary=\"a b'c\"", b), 0);
    ck_assert_str_eq(b, "a b'c");
    ck_assert_int_eq(fg_multipart_boundary("multipart/form-data;boundary=xyz; foo=bar", b), 0);
    ck_assert_str_eq(b, "xyz");
    static const char *const BAD[] = {
        NULL,
        "",
        "text/plain; boundary=x",
        "multipart/form-data",
        "multipart/form-data; boundary=",
        "multipart/form-data; boundary=\"unterminated",
        "multipart/form-data; boundary=a<b",
        "multipart/form-data; boundary="
        "0123456789012345678901234567890123456789012345678901234567890123456789x", /* 71 */
    };
    for (size_t i = 0; i < sizeof(BAD) / sizeof(BAD[0]); i++)
        ck_assert_msg(fg_multipart_boundary(BAD[i], b) == FG_EINVALID, "accepted %s", BAD[i] ? BAD[i] : "NULL");
}
END_TEST

START_TEST(parts_of_a_browser_form)
{
    fg_multipart_t m;
    ck_assert_int_eq(parse(FORM, &m), 0);
    ck_assert_int_eq(m.count, 3);
    const fg_part_t *csrf = fg_multipart_get(&m, "csrf_token");
    ck_assert_ptr_nonnull(csrf);
    ck_assert_uint_eq(csrf->len, 6);
    ck_assert_int_eq(memcmp(csrf->data, "tok123", 6), 0);
    ck_assert_str_eq(csrf->filename, "");
    const fg_part_t *file = fg_multipart_get(&m, "file");
    ck_assert_ptr_nonnull(file);
    ck_assert_str_eq(file->filename, "sao ke.csv");
    ck_assert_str_eq(file->content_type, "text/csv");
    /* the data keeps its own CRLFs and a line that only starts like a delimiter */
    static const char DATA[] = "a,b\r\n1,2\r\n--not the boundary\r\n";
    ck_assert_uint_eq(file->len, sizeof(DATA) - 1);
    ck_assert_int_eq(memcmp(file->data, DATA, file->len), 0);
    ck_assert_ptr_null(fg_multipart_get(&m, "missing"));
}
END_TEST

START_TEST(preamble_empty_file_and_binary)
{
    static const char BODY[] = "ignored preamble\r\n--" B "\r\n"
                               "content-disposition: form-data; name=file; filename=\"\"\r\n\r\n"
                               "\r\n--" B "--";
    fg_multipart_t m;
    ck_assert_int_eq(parse(BODY, &m), 0);
    ck_assert_int_eq(m.count, 1);
    ck_assert_str_eq(m.parts[0].name, "file");
    ck_assert_uint_eq(m.parts[0].len, 0);
    /* NUL bytes inside a file are data */
    char bin[] = "--" B "\r\nContent-Disposition: form-data; name=\"f\"\r\n\r\nx\0y\r\n--" B "--\r\n";
    ck_assert_int_eq(fg_multipart_parse(bin, sizeof(bin) - 1, B, &m), 0);
    ck_assert_uint_eq(m.parts[0].len, 3);
}
END_TEST

START_TEST(malformed_bodies)
{
    fg_multipart_t m;
    static const char *const BAD[] = {
        "",
        "no delimiter at all",
        "--" B "--\r\n",                                                                /* no part */
        "--" B "\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nvalue",           /* cut short */
        "--" B "\r\nContent-Disposition: form-data; name=\"a\"\r\nvalue\r\n--" B "--",  /* no blank line */
        "--" B "\r\nContent-Type: text/plain\r\n\r\nv\r\n--" B "--",                    /* no disposition */
        "--" B "\r\nContent-Disposition: attachment; name=\"a\"\r\n\r\nv\r\n--" B "--", /* not form-data */
        "--" B "\r\nContent-Disposition: form-data\r\n\r\nv\r\n--" B "--",              /* no name */
        "--" B "\r\nContent-Disposition: form-data; name=\"\"\r\n\r\nv\r\n--" B "--",   /* empty name */
        "--" B "\r\nContent-Disposition: form-data; name=\"a\r\n\r\nv\r\n--" B "--",    /* unterminated quote */
        "--" B "\r\n\r\nv\r\n--" B "--",                                                /* no headers */
        "--" B "x\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nv\r\n--" B "--", /* boundary runs on */
        "--" B "\r\nbroken header line\r\n\r\nv\r\n--" B "--",                          /* header without colon */
    };
    for (size_t i = 0; i < sizeof(BAD) / sizeof(BAD[0]); i++)
        ck_assert_msg(parse(BAD[i], &m) == FG_EINVALID, "accepted body %zu", i);
    ck_assert_int_eq(fg_multipart_parse("x", 1, "", &m), FG_EINVALID);
}
END_TEST

START_TEST(bounds)
{
    fg_multipart_t m;
    /* one part more than allowed */
    char *body = malloc(128 * (FG_MULTIPART_PARTS_MAX + 2));
    size_t n = 0;
    for (int i = 0; i <= FG_MULTIPART_PARTS_MAX; i++)
        n += (size_t)sprintf(body + n, "--" B "\r\nContent-Disposition: form-data; name=\"f%d\"\r\n\r\nv\r\n", i);
    sprintf(body + n, "--" B "--");
    ck_assert_int_eq(parse(body, &m), FG_ETOOLONG);
    free(body);
    /* a header block longer than FG_MULTIPART_HEADERS_MAX */
    size_t big = FG_MULTIPART_HEADERS_MAX + 200;
    body = malloc(big + 256);
    n = (size_t)sprintf(body, "--" B "\r\nContent-Disposition: form-data; name=\"a\"\r\nX-Pad: ");
    memset(body + n, 'p', big);
    n += big;
    sprintf(body + n, "\r\n\r\nv\r\n--" B "--");
    ck_assert_int_eq(parse(body, &m), FG_EINVALID);
    free(body);
    /* a field name longer than kept */
    char longname[FG_MULTIPART_NAME_CAP + 200];
    snprintf(longname, sizeof(longname),
             "--" B "\r\nContent-Disposition: form-data; name=\"%0*d\"\r\n\r\nv\r\n--" B "--",
             FG_MULTIPART_NAME_CAP + 5, 7);
    ck_assert_int_eq(parse(longname, &m), FG_EINVALID);
}
END_TEST

/* Every prefix of a good body is refused or parsed, never read past its end
 * (ASan watches the copies). */
START_TEST(every_prefix)
{
    fg_multipart_t m;
    size_t len = strlen(FORM);
    for (size_t i = 0; i < len; i++) {
        char *copy = malloc(i + 1);
        memcpy(copy, FORM, i);
        int rc = fg_multipart_parse(copy, i, B, &m);
        ck_assert_msg(rc == 0 || rc == FG_EINVALID, "prefix %zu: %d", i, rc);
        if (i < len - 4) /* the closing delimiter is not all there */
            ck_assert_msg(rc == FG_EINVALID, "prefix %zu accepted", i);
        free(copy);
    }
}
END_TEST

int main(void)
{
    Suite *s = suite_create("multipart");
    TCase *tc = tcase_create("multipart");
    tcase_add_test(tc, boundary_from_content_type);
    tcase_add_test(tc, parts_of_a_browser_form);
    tcase_add_test(tc, preamble_empty_file_and_binary);
    tcase_add_test(tc, malformed_bodies);
    tcase_add_test(tc, bounds);
    tcase_add_test(tc, every_prefix);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? 0 : 1;
}
