/*
 * test_log.c - services/core/log.c: what the logger writes, read back from a
 * pipe and parsed with yajl: one valid JSON object per line, level, msg and
 * ts first, fields in order, every value escaped, the minimum level, and
 * whole lines from concurrent threads.
 */
#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <yajl/yajl_tree.h>
#include "core/buf.h"
#include "core/log.h"
#include "core/text.h"

/* ---- capture ------------------------------------------------------------- */

/* Everything written to fd until every writer has closed it. */
static char *read_all(int fd, size_t *len)
{
    fg_buf_t b = FG_BUF_INIT;
    char chunk[4096];
    ssize_t n;
    while ((n = read(fd, chunk, sizeof(chunk))) != 0) {
        if (n < 0 && errno == EINTR)
            continue;
        ck_assert_int_gt(n, 0);
        fg_buf_append(&b, chunk, (size_t)n);
    }
    return fg_buf_steal(&b, len);
}

/* A pipe to log into; lines up to the pipe's capacity (64 KiB) fit without a
 * reader. */
static void capture_open(int fds[2]) { ck_assert_int_eq(pipe(fds), 0); }

/* Closes the write end and returns what was written (free()). */
static char *capture_close(int fds[2])
{
    close(fds[1]);
    size_t len;
    char *out = read_all(fds[0], &len);
    close(fds[0]);
    ck_assert_uint_eq(strlen(out), len); /* a log line never holds a raw NUL */
    return out;
}

/* Parses one line (without its '\n') as a JSON object. */
static yajl_val parse_object(const char *line)
{
    char err[256] = "";
    yajl_val v = yajl_tree_parse(line, err, sizeof(err));
    ck_assert_msg(v != NULL, "not JSON (%s): %.200s", err, line);
    ck_assert_msg(YAJL_IS_OBJECT(v), "not an object: %.200s", line);
    return v;
}

/* Checks that out is exactly one line, with no raw control byte inside, and
 * parses it. */
static yajl_val parse_single_line(char *out)
{
    size_t len = strlen(out);
    ck_assert_uint_gt(len, 1);
    ck_assert_int_eq(out[len - 1], '\n');
    for (size_t i = 0; i + 1 < len; i++)
        ck_assert_msg((unsigned char)out[i] >= 0x20, "raw control byte 0x%02x at %zu: %.200s", (unsigned char)out[i], i,
                      out);
    out[len - 1] = '\0';
    return parse_object(out);
}

static void expect_keys(yajl_val obj, const char *const *keys, size_t n)
{
    ck_assert_uint_eq(obj->u.object.len, n);
    for (size_t i = 0; i < n; i++)
        ck_assert_str_eq(obj->u.object.keys[i], keys[i]);
}

static yajl_val field(yajl_val obj, const char *key)
{
    const char *path[] = {key, NULL};
    yajl_val v = yajl_tree_get(obj, path, yajl_t_any);
    ck_assert_msg(v != NULL, "no field %s", key);
    return v;
}

static const char *string_field(yajl_val obj, const char *key)
{
    yajl_val v = field(obj, key);
    ck_assert_msg(YAJL_IS_STRING(v), "%s is not a string", key);
    return YAJL_GET_STRING(v);
}

static long long integer_field(yajl_val obj, const char *key)
{
    yajl_val v = field(obj, key);
    ck_assert_msg(YAJL_IS_INTEGER(v), "%s is not an integer", key);
    return YAJL_GET_INTEGER(v);
}

/* ---- the shape of a line ------------------------------------------------- */

START_TEST(line_has_level_msg_ts_then_fields_in_order)
{
    int fds[2];
    capture_open(fds);
    int64_t before = fg_now_ms();
    fg_log_t l;
    fg_log_begin(&l, FG_LOG_WARN, "provider query failed");
    fg_log_str(&l, "payment", "pay_01JD0000000000000000000000");
    fg_log_int(&l, "attempt", 3);
    fg_log_str(&l, "reason", "timeout");
    fg_log_int(&l, "amount", 250000);
    fg_log_end_to(&l, fds[1]);
    int64_t after = fg_now_ms();
    char *out = capture_close(fds);

    static const char start[] = "{\"level\":\"warn\",\"msg\":\"provider query failed\",\"ts\":\"";
    ck_assert_msg(strncmp(out, start, strlen(start)) == 0, "starts otherwise: %.200s", out);
    yajl_val obj = parse_single_line(out);
    static const char *const keys[] = {"level", "msg", "ts", "payment", "attempt", "reason", "amount"};
    expect_keys(obj, keys, sizeof(keys) / sizeof(keys[0]));
    ck_assert_str_eq(string_field(obj, "level"), "warn");
    ck_assert_str_eq(string_field(obj, "msg"), "provider query failed");
    ck_assert_str_eq(string_field(obj, "payment"), "pay_01JD0000000000000000000000");
    ck_assert_int_eq(integer_field(obj, "attempt"), 3);
    ck_assert_str_eq(string_field(obj, "reason"), "timeout");
    ck_assert_int_eq(integer_field(obj, "amount"), 250000);

    /* "2026-11-23T05:18:44.123Z": UTC, milliseconds, the time of the call */
    const char *ts = string_field(obj, "ts");
    ck_assert_uint_eq(strlen(ts), 24);
    ck_assert_int_eq(ts[10], 'T');
    ck_assert_int_eq(ts[19], '.');
    ck_assert_int_eq(ts[23], 'Z');
    int64_t ts_ms;
    ck_assert_int_eq(fg_time_parse_rfc3339(ts, strlen(ts), &ts_ms), 0);
    ck_assert_int_ge(ts_ms, before);
    ck_assert_int_le(ts_ms, after);
    yajl_tree_free(obj);
    free(out);
}
END_TEST

START_TEST(a_line_without_fields)
{
    int fds[2];
    capture_open(fds);
    fg_log_t l;
    fg_log_begin(&l, FG_LOG_ERROR, "webhook delivery worker did not start");
    fg_log_end_to(&l, fds[1]);
    char *out = capture_close(fds);
    yajl_val obj = parse_single_line(out);
    static const char *const keys[] = {"level", "msg", "ts"};
    expect_keys(obj, keys, 3);
    ck_assert_str_eq(string_field(obj, "level"), "error");
    ck_assert_str_eq(string_field(obj, "msg"), "webhook delivery worker did not start");
    yajl_tree_free(obj);
    free(out);
}
END_TEST

START_TEST(every_level_has_its_name)
{
    static const struct {
        fg_log_level_t level;
        const char *name;
    } cases[] = {{FG_LOG_DEBUG, "debug"}, {FG_LOG_INFO, "info"}, {FG_LOG_WARN, "warn"}, {FG_LOG_ERROR, "error"}};
    fg_log_set_level(FG_LOG_DEBUG);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        ck_assert_str_eq(fg_log_level_name(cases[i].level), cases[i].name);
        int fds[2];
        capture_open(fds);
        fg_log_t l;
        fg_log_begin(&l, cases[i].level, "m");
        fg_log_end_to(&l, fds[1]);
        char *out = capture_close(fds);
        yajl_val obj = parse_single_line(out);
        ck_assert_str_eq(string_field(obj, "level"), cases[i].name);
        yajl_tree_free(obj);
        free(out);
    }
}
END_TEST

/* ---- values -------------------------------------------------------------- */

START_TEST(integers_are_json_numbers)
{
    static const int64_t values[] = {0, -1, 1, 2147483648LL, INT64_MAX, INT64_MIN + 1};
    static const char *const names[] = {"zero", "minus_one", "one", "big", "max", "min_plus_one"};
    int fds[2];
    capture_open(fds);
    fg_log_t l;
    fg_log_begin(&l, FG_LOG_INFO, "numbers");
    for (size_t i = 0; i < 6; i++)
        fg_log_int(&l, names[i], values[i]);
    fg_log_int(&l, "min", INT64_MIN);
    fg_log_end_to(&l, fds[1]);
    char *out = capture_close(fds);
    ck_assert_ptr_nonnull(strstr(out, "\"zero\":0,\"minus_one\":-1,"));
    yajl_val obj = parse_single_line(out);
    for (size_t i = 0; i < 6; i++)
        ck_assert_int_eq(integer_field(obj, names[i]), values[i]);
    /* yajl cannot hold INT64_MIN as an integer (it overflows while reading
     * the digits), so this one is checked as a number and by its text */
    yajl_val min = field(obj, "min");
    ck_assert(YAJL_IS_NUMBER(min));
    ck_assert_str_eq(YAJL_GET_NUMBER(min), "-9223372036854775808");
    yajl_tree_free(obj);
    free(out);
}
END_TEST

START_TEST(quotes_backslashes_and_control_characters_are_escaped)
{
    /* what a database error or a provider's answer may hold, including text
     * that tries to close the string and add a field of its own */
    static const char forged[] = "x\",\"level\":\"info\",\"y\":\"";
    static const char mixed[] = "line one\nline two\r\n\ttab \\ back \"quoted\" \b\f";
    char controls[32];
    for (int c = 1; c < 32; c++)
        controls[c - 1] = (char)c;
    controls[31] = '\0';

    int fds[2];
    capture_open(fds);
    fg_log_t l;
    fg_log_begin(&l, FG_LOG_ERROR, "database error: \"quoted\"\n");
    fg_log_str(&l, "forged", forged);
    fg_log_str(&l, "mixed", mixed);
    fg_log_str(&l, "controls", controls);
    fg_log_str(&l, "del", "\x7f");
    fg_log_str(&l, "key \"with\" quotes\n", "v");
    fg_log_end_to(&l, fds[1]);
    char *out = capture_close(fds);
    yajl_val obj = parse_single_line(out); /* one line, no raw control byte */
    static const char *const keys[] = {"level", "msg",      "ts",  "forged",
                                       "mixed", "controls", "del", "key \"with\" quotes\n"};
    expect_keys(obj, keys, sizeof(keys) / sizeof(keys[0]));
    ck_assert_str_eq(string_field(obj, "level"), "error"); /* not forged */
    ck_assert_str_eq(string_field(obj, "msg"), "database error: \"quoted\"\n");
    ck_assert_str_eq(string_field(obj, "forged"), forged);
    ck_assert_str_eq(string_field(obj, "mixed"), mixed);
    ck_assert_str_eq(string_field(obj, "controls"), controls);
    ck_assert_str_eq(string_field(obj, "del"), "\x7f");
    yajl_tree_free(obj);
    free(out);
}
END_TEST

START_TEST(invalid_utf8_becomes_replacement_characters)
{
    static const struct {
        const char *key, *in, *want;
    } cases[] = {
        {"lone_continuation", "a\x80z", "a\xef\xbf\xbdz"},
        {"ff_fe", "\xff\xfe", "\xef\xbf\xbd\xef\xbf\xbd"},
        {"truncated", "ab\xc3", "ab\xef\xbf\xbd"},
        {"overlong_slash", "\xc0\xaf", "\xef\xbf\xbd\xef\xbf\xbd"},
        {"surrogate", "\xed\xa0\x80", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"},
        {"beyond_10ffff", "\xf4\x90\x80\x80", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"},
        {"valid_vietnamese", "Nguy\xe1\xbb\x85n V\xc4\x83n A", "Nguy\xe1\xbb\x85n V\xc4\x83n A"},
    };
    size_t n = sizeof(cases) / sizeof(cases[0]);
    int fds[2];
    capture_open(fds);
    fg_log_t l;
    fg_log_begin(&l, FG_LOG_WARN, "provider said \xff");
    for (size_t i = 0; i < n; i++)
        fg_log_str(&l, cases[i].key, cases[i].in);
    fg_log_end_to(&l, fds[1]);
    char *out = capture_close(fds);
    ck_assert_int_eq(fg_utf8_valid(out, strlen(out)), 1);
    /* yajl checks UTF-8 too: parsing is the proof */
    yajl_val obj = parse_single_line(out);
    ck_assert_str_eq(string_field(obj, "msg"), "provider said \xef\xbf\xbd");
    for (size_t i = 0; i < n; i++)
        ck_assert_str_eq(string_field(obj, cases[i].key), cases[i].want);
    yajl_tree_free(obj);
    free(out);
}
END_TEST

START_TEST(counted_strings_and_null)
{
    int fds[2];
    capture_open(fds);
    fg_log_t l;
    fg_log_begin(&l, FG_LOG_INFO, "request");
    fg_log_strn(&l, "path", "/v1/orders?secret=1", 10);
    fg_log_strn(&l, "nul", "a\0b", 3);
    fg_log_str(&l, "none", NULL);
    fg_log_strn(&l, "none_n", NULL, 0);
    fg_log_str(&l, "empty", "");
    fg_log_end_to(&l, fds[1]);
    char *out = capture_close(fds);
    ck_assert_ptr_nonnull(strstr(out, "\"nul\":\"a\\u0000b\""));
    yajl_val obj = parse_single_line(out);
    ck_assert_str_eq(string_field(obj, "path"), "/v1/orders");
    ck_assert(YAJL_IS_NULL(field(obj, "none")));
    ck_assert(YAJL_IS_NULL(field(obj, "none_n")));
    ck_assert_str_eq(string_field(obj, "empty"), "");
    yajl_tree_free(obj);
    free(out);
}
END_TEST

/* ---- levels -------------------------------------------------------------- */

START_TEST(levels_below_the_minimum_are_dropped)
{
    ck_assert_int_eq(fg_log_level(), FG_LOG_LEVEL_DEFAULT);
    ck_assert_int_eq(FG_LOG_LEVEL_DEFAULT, FG_LOG_INFO);
    ck_assert_int_eq(fg_log_enabled(FG_LOG_DEBUG), 0);
    ck_assert_int_eq(fg_log_enabled(FG_LOG_INFO), 1);

    fg_log_set_level(FG_LOG_WARN);
    ck_assert_int_eq(fg_log_level(), FG_LOG_WARN);
    ck_assert_int_eq(fg_log_enabled(FG_LOG_INFO), 0);
    ck_assert_int_eq(fg_log_enabled(FG_LOG_WARN), 1);
    ck_assert_int_eq(fg_log_enabled(FG_LOG_ERROR), 1);

    int fds[2];
    capture_open(fds);
    static const struct {
        fg_log_level_t level;
        const char *msg;
    } lines[] = {{FG_LOG_DEBUG, "d"}, {FG_LOG_INFO, "i"}, {FG_LOG_WARN, "w"}, {FG_LOG_ERROR, "e"}, {FG_LOG_INFO, "i2"}};
    for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
        fg_log_t l;
        fg_log_begin(&l, lines[i].level, lines[i].msg);
        fg_log_str(&l, "k", "v");
        fg_log_int(&l, "n", (int64_t)i);
        fg_log_end_to(&l, fds[1]);
    }
    fg_log_set_level(FG_LOG_ERROR);
    fg_log_t l;
    fg_log_begin(&l, FG_LOG_WARN, "w2");
    fg_log_end_to(&l, fds[1]);
    fg_log_begin(&l, FG_LOG_ERROR, "e2");
    fg_log_end_to(&l, fds[1]);
    fg_log_set_level(FG_LOG_DEBUG);
    fg_log_begin(&l, FG_LOG_DEBUG, "d2");
    fg_log_end_to(&l, fds[1]);

    char *out = capture_close(fds);
    static const char *const want[] = {"w", "e", "e2", "d2"};
    char *save = NULL, *line = strtok_r(out, "\n", &save);
    for (size_t i = 0; i < 4; i++, line = strtok_r(NULL, "\n", &save)) {
        ck_assert_msg(line != NULL, "line %zu missing", i);
        yajl_val obj = parse_object(line);
        ck_assert_str_eq(string_field(obj, "msg"), want[i]);
        yajl_tree_free(obj);
    }
    ck_assert_ptr_null(line);
    free(out);
}
END_TEST

/* ---- where lines go ------------------------------------------------------ */

/* Check runs every test in a child process of its own, so fd 2 may be
 * borrowed here. */
START_TEST(fg_log_end_writes_to_stderr)
{
    int fds[2];
    capture_open(fds);
    int saved = dup(STDERR_FILENO);
    ck_assert_int_ge(saved, 0);
    ck_assert_int_eq(dup2(fds[1], STDERR_FILENO), STDERR_FILENO);
    fg_log_t l;
    fg_log_begin(&l, FG_LOG_INFO, "shutting down");
    fg_log_int(&l, "signal", 15);
    fg_log_end(&l);
    ck_assert_int_eq(dup2(saved, STDERR_FILENO), STDERR_FILENO);
    close(saved);
    char *out = capture_close(fds);
    yajl_val obj = parse_single_line(out);
    ck_assert_str_eq(string_field(obj, "msg"), "shutting down");
    ck_assert_int_eq(integer_field(obj, "signal"), 15);
    yajl_tree_free(obj);
    free(out);
}
END_TEST

START_TEST(a_failed_write_drops_the_line_and_keeps_errno)
{
    int fds[2];
    capture_open(fds);
    close(fds[0]);
    close(fds[1]); /* fds[1] is now a closed descriptor: EBADF */
    errno = ENOENT;
    fg_log_t l;
    fg_log_begin(&l, FG_LOG_ERROR, "nowhere to go");
    fg_log_str(&l, "k", "v");
    fg_log_end_to(&l, fds[1]);
    ck_assert_int_eq(errno, ENOENT);
}
END_TEST

/* ---- concurrency --------------------------------------------------------- */

/* Lines far longer than PIPE_BUF (4 KiB), which a pipe takes in pieces: the
 * logger's lock must still keep every line whole. */
#define CONCURRENT_THREADS 2
#define CONCURRENT_LINES 200
#define CONCURRENT_VALUE_BYTES (16 * 1024)

typedef struct {
    int fd;
    char fill; /* every byte of this thread's value */
} writer_t;

static void *writer_main(void *arg)
{
    writer_t *w = arg;
    char *value = malloc(CONCURRENT_VALUE_BYTES + 1);
    memset(value, w->fill, CONCURRENT_VALUE_BYTES);
    value[CONCURRENT_VALUE_BYTES] = '\0';
    char thread[2] = {w->fill, '\0'};
    for (int i = 0; i < CONCURRENT_LINES; i++) {
        fg_log_t l;
        fg_log_begin(&l, FG_LOG_INFO, "concurrent");
        fg_log_str(&l, "thread", thread);
        fg_log_int(&l, "n", i);
        fg_log_str(&l, "value", value);
        fg_log_end_to(&l, w->fd);
    }
    free(value);
    return NULL;
}

typedef struct {
    int fd;
    char *out;
    size_t len;
} reader_t;

static void *reader_main(void *arg)
{
    reader_t *r = arg;
    r->out = read_all(r->fd, &r->len);
    return NULL;
}

START_TEST(concurrent_threads_never_interleave_within_a_line)
{
    int fds[2];
    capture_open(fds);
    reader_t reader = {fds[0], NULL, 0};
    pthread_t reader_thread, writers[CONCURRENT_THREADS];
    writer_t w[CONCURRENT_THREADS];
    ck_assert_int_eq(pthread_create(&reader_thread, NULL, reader_main, &reader), 0);
    for (int t = 0; t < CONCURRENT_THREADS; t++) {
        w[t] = (writer_t){fds[1], (char)('a' + t)};
        ck_assert_int_eq(pthread_create(&writers[t], NULL, writer_main, &w[t]), 0);
    }
    for (int t = 0; t < CONCURRENT_THREADS; t++)
        pthread_join(writers[t], NULL);
    close(fds[1]);
    pthread_join(reader_thread, NULL);
    close(fds[0]);

    int next[CONCURRENT_THREADS] = {0};
    int lines = 0;
    char *save = NULL;
    for (char *line = strtok_r(reader.out, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save)) {
        yajl_val obj = parse_object(line);
        const char *thread = string_field(obj, "thread");
        ck_assert_uint_eq(strlen(thread), 1);
        int t = thread[0] - 'a';
        ck_assert_int_ge(t, 0);
        ck_assert_int_lt(t, CONCURRENT_THREADS);
        /* each thread's lines arrive whole and in its own order */
        ck_assert_int_eq(integer_field(obj, "n"), next[t]++);
        const char *value = string_field(obj, "value");
        ck_assert_uint_eq(strlen(value), CONCURRENT_VALUE_BYTES);
        ck_assert_msg(strspn(value, thread) == CONCURRENT_VALUE_BYTES, "line of thread %s holds another's bytes",
                      thread);
        yajl_tree_free(obj);
        lines++;
    }
    ck_assert_int_eq(lines, CONCURRENT_THREADS * CONCURRENT_LINES);
    for (int t = 0; t < CONCURRENT_THREADS; t++)
        ck_assert_int_eq(next[t], CONCURRENT_LINES);
    free(reader.out);
}
END_TEST

static Suite *log_suite(void)
{
    Suite *s = suite_create("log");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, line_has_level_msg_ts_then_fields_in_order);
    tcase_add_test(tc, a_line_without_fields);
    tcase_add_test(tc, every_level_has_its_name);
    tcase_add_test(tc, integers_are_json_numbers);
    tcase_add_test(tc, quotes_backslashes_and_control_characters_are_escaped);
    tcase_add_test(tc, invalid_utf8_becomes_replacement_characters);
    tcase_add_test(tc, counted_strings_and_null);
    tcase_add_test(tc, levels_below_the_minimum_are_dropped);
    tcase_add_test(tc, fg_log_end_writes_to_stderr);
    tcase_add_test(tc, a_failed_write_drops_the_line_and_keeps_errno);
    tcase_add_test(tc, concurrent_threads_never_interleave_within_a_line);
    /* 6.4 MB through a pipe under the sanitizers */
    tcase_set_timeout(tc, 60);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(log_suite());
    /* each test in its own process: the minimum level is process-wide and one
     * test borrows fd 2 */
    srunner_set_fork_status(sr, CK_FORK);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
