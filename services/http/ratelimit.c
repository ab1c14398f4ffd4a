/*
 * ratelimit.c - token buckets in a fixed table.
 *
 * A bucket counts tokens in units of 1/60,000,000, so that a rate of
 * per_minute refills exactly per_minute x 1000 units a millisecond: integer
 * arithmetic with no rounding, however slow the rate.  Keys are kept as 64-bit hashes (FNV-1a); a key
 * probes PROBE slots and, when none is its own or free, takes over the one
 * used longest ago: the table never grows, and a key pushed out starts again
 * with a full bucket.  One mutex per table: a take is a few dozen
 * instructions.
 */
#include "http/ratelimit.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/buf.h"

#define UNIT 60000000LL /* one token */
#define PROBE 8
/* Longer idle than this refills any bucket anyway; caps the arithmetic. */
#define IDLE_CAP_MS (86400LL * 1000)

typedef struct {
    uint64_t hash; /* 0: free */
    int64_t units; /* tokens x UNIT */
    int64_t at_ms; /* last refill */
} bucket_t;

struct fg_ratelimit {
    pthread_mutex_t lock;
    int64_t per_minute, capacity; /* capacity in units */
    size_t mask;
    bucket_t *slots;
};

fg_ratelimit_t *fg_ratelimit_new(int64_t per_minute, int64_t burst, size_t slots)
{
    if (per_minute <= 0)
        return NULL;
    size_t n = 64;
    while (n < slots)
        n <<= 1;
    fg_ratelimit_t *rl = fg_calloc(1, sizeof(*rl));
    pthread_mutex_init(&rl->lock, NULL);
    rl->per_minute = per_minute;
    rl->capacity = (burst > 0 ? burst : 1) * UNIT;
    rl->mask = n - 1;
    rl->slots = fg_calloc(n, sizeof(bucket_t));
    return rl;
}

void fg_ratelimit_free(fg_ratelimit_t *rl)
{
    if (rl == NULL)
        return;
    pthread_mutex_destroy(&rl->lock);
    free(rl->slots);
    free(rl);
}

static uint64_t hash_key(const char *key, size_t len)
{
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < len; i++)
        h = (h ^ (unsigned char)key[i]) * 1099511628211ULL;
    return h != 0 ? h : 1;
}

/* key's bucket, refilled to now; called with the lock held. */
static bucket_t *bucket(fg_ratelimit_t *rl, const char *key, size_t len, int64_t now_ms)
{
    uint64_t h = hash_key(key, len);
    bucket_t *b = NULL, *oldest = NULL;
    for (size_t i = 0; i < PROBE; i++) {
        bucket_t *s = &rl->slots[(h + i) & rl->mask];
        if (s->hash == h) {
            b = s;
            break;
        }
        if (oldest == NULL || s->hash == 0 || (oldest->hash != 0 && s->at_ms < oldest->at_ms))
            oldest = s;
    }
    if (b == NULL) {
        b = oldest;
        *b = (bucket_t){h, rl->capacity, now_ms};
        return b;
    }
    int64_t idle = now_ms - b->at_ms;
    if (idle > 0) {
        if (idle > IDLE_CAP_MS)
            idle = IDLE_CAP_MS;
        /* at most 8.64e7 x 1e6 (the config's range) x 1000: well inside int64 */
        int64_t add = idle * rl->per_minute * 1000;
        b->units = add >= rl->capacity - b->units ? rl->capacity : b->units + add;
        b->at_ms = now_ms;
    }
    return b;
}

/* Seconds until b holds a whole token. */
static int64_t seconds_until_token(const fg_ratelimit_t *rl, const bucket_t *b)
{
    if (b->units >= UNIT)
        return 0;
    int64_t per_ms = rl->per_minute * 1000;
    int64_t ms = (UNIT - b->units + per_ms - 1) / per_ms;
    return (ms + 999) / 1000;
}

int64_t fg_ratelimit_take(fg_ratelimit_t *rl, const char *key, size_t key_len, int64_t now_ms)
{
    if (rl == NULL)
        return 0;
    pthread_mutex_lock(&rl->lock);
    bucket_t *b = bucket(rl, key, key_len, now_ms);
    int64_t wait = seconds_until_token(rl, b);
    if (wait == 0)
        b->units -= UNIT;
    pthread_mutex_unlock(&rl->lock);
    return wait;
}

int64_t fg_ratelimit_wait(fg_ratelimit_t *rl, const char *key, size_t key_len, int64_t now_ms)
{
    if (rl == NULL)
        return 0;
    pthread_mutex_lock(&rl->lock);
    int64_t wait = seconds_until_token(rl, bucket(rl, key, key_len, now_ms));
    pthread_mutex_unlock(&rl->lock);
    return wait;
}

void fg_ratelimit_charge(fg_ratelimit_t *rl, const char *key, size_t key_len, int64_t now_ms)
{
    (void)fg_ratelimit_take(rl, key, key_len, now_ms);
}

size_t fg_ratelimit_address_key(const char *address, char *out, size_t cap)
{
    struct in6_addr a6;
    if (strchr(address, ':') != NULL && inet_pton(AF_INET6, address, &a6) == 1) {
        if (IN6_IS_ADDR_V4MAPPED(&a6)) {
            if (inet_ntop(AF_INET, &a6.s6_addr[12], out, (socklen_t)cap) != NULL)
                return strlen(out);
        } else {
            memset(&a6.s6_addr[8], 0, 8);
            char prefix[INET6_ADDRSTRLEN];
            if (inet_ntop(AF_INET6, &a6, prefix, sizeof(prefix)) != NULL) {
                int n = snprintf(out, cap, "%s/64", prefix);
                return n > 0 && (size_t)n < cap ? (size_t)n : 0;
            }
        }
    }
    int n = snprintf(out, cap, "%s", address);
    return n >= 0 && (size_t)n < cap ? (size_t)n : cap - 1;
}
