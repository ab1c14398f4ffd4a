/*
 * bench_common.h - what the direct-to-MariaDB benchmark drivers share: the
 * clock and the one-line summary of per-thread latency samples.
 */
#ifndef FG_BENCH_COMMON_H
#define FG_BENCH_COMMON_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static inline int64_t bench_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static inline int bench_cmp(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

/* Merges the threads' samples (freeing them) and prints
 * "requests=N seconds=S rate=R p50_us=A p99_us=B". */
static inline void bench_summary(int64_t *const *lat, const size_t *n, int threads, int64_t start_ns)
{
    size_t total = 0, k = 0;
    for (int i = 0; i < threads; i++)
        total += n[i];
    double secs = (double)(bench_now_ns() - start_ns) / 1e9;
    int64_t *all = malloc((total + 1) * sizeof(int64_t));
    for (int i = 0; i < threads; i++) {
        memcpy(all + k, lat[i], n[i] * sizeof(int64_t));
        k += n[i];
        free(lat[i]);
    }
    qsort(all, total, sizeof(int64_t), bench_cmp);
    printf("requests=%zu seconds=%.2f rate=%.0f p50_us=%lld p99_us=%lld\n", total, secs, (double)total / secs,
           total ? (long long)(all[total / 2] / 1000) : 0, total ? (long long)(all[(size_t)(total * 0.99)] / 1000) : 0);
    free(all);
}

#endif
