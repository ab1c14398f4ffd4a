/*
 * log.c - JSON log lines, built in memory and written whole.
 */
#include "core/log.h"

#include <assert.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <unistd.h>
#include "core/text.h"

/* "2026-11-23T05:18:44.123Z" is 24 bytes; fg_time_format_rfc3339 asks for
 * at least 32. */
#define TS_CAP 32

static atomic_int min_level = FG_LOG_LEVEL_DEFAULT;

/* One lock for every descriptor: stdout and stderr are often the same file
 * (a container log, a test harness), and a pipe or socket may take a long
 * line in several writes; under the lock those pieces still come out
 * together. */
static pthread_mutex_t write_mutex = PTHREAD_MUTEX_INITIALIZER;

static const char *const LEVEL_NAMES[] = {"debug", "info", "warn", "error"};
_Static_assert(sizeof(LEVEL_NAMES) / sizeof(LEVEL_NAMES[0]) == FG_LOG_ERROR + 1, "a name for every level");

void fg_log_set_level(fg_log_level_t min)
{
    assert(min >= FG_LOG_DEBUG && min <= FG_LOG_ERROR);
    atomic_store(&min_level, (int)min);
}

fg_log_level_t fg_log_level(void) { return (fg_log_level_t)atomic_load(&min_level); }

int fg_log_enabled(fg_log_level_t level) { return (int)level >= atomic_load(&min_level); }

const char *fg_log_level_name(fg_log_level_t level)
{
    assert(level >= FG_LOG_DEBUG && level <= FG_LOG_ERROR);
    return LEVEL_NAMES[level];
}

void fg_log_begin(fg_log_t *l, fg_log_level_t level, const char *msg)
{
    assert(l != NULL && msg != NULL);
    l->line = (fg_buf_t)FG_BUF_INIT;
    l->enabled = fg_log_enabled(level);
    if (!l->enabled)
        return;
    char ts[TS_CAP];
    if (fg_time_format_rfc3339(fg_now_ms(), 1, ts, sizeof(ts)) < 0)
        ts[0] = '\0'; /* a clock past year 2^31: the line still goes out */
    fg_buf_putc(&l->line, '{');
    fg_json_kv_str(&l->line, 0, "level", fg_log_level_name(level));
    fg_json_kv_str(&l->line, 1, "msg", msg);
    fg_json_kv_str(&l->line, 1, "ts", ts);
}

void fg_log_str(fg_log_t *l, const char *key, const char *val)
{
    if (l->enabled)
        fg_json_kv_str(&l->line, 1, key, val);
}

void fg_log_strn(fg_log_t *l, const char *key, const char *val, size_t n)
{
    if (l->enabled)
        fg_json_kv_strn(&l->line, 1, key, val, n);
}

void fg_log_int(fg_log_t *l, const char *key, int64_t val)
{
    if (l->enabled)
        fg_json_kv_int(&l->line, 1, key, val);
}

/* Writes all of p[0..n) to fd, retrying what a pipe or a signal cut short;
 * gives up on any other error. */
static void write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t written = write(fd, p, n);
        if (written >= 0) {
            p += written;
            n -= (size_t)written;
        } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
            /* a descriptor someone made non-blocking: wait as a blocking one would */
            struct pollfd pfd = {.fd = fd, .events = POLLOUT};
            (void)poll(&pfd, 1, -1);
        } else if (errno != EINTR) {
            return;
        }
    }
}

void fg_log_end(fg_log_t *l) { fg_log_end_to(l, STDERR_FILENO); }

void fg_log_end_to(fg_log_t *l, int fd)
{
    if (!l->enabled)
        return;
    int saved_errno = errno;
    fg_buf_puts(&l->line, "}\n");
    pthread_mutex_lock(&write_mutex);
    write_all(fd, l->line.data, l->line.len);
    pthread_mutex_unlock(&write_mutex);
    fg_buf_free(&l->line);
    l->enabled = 0;
    errno = saved_errno;
}
