/*
 * ratelimit.h - token buckets in memory, one table per limit, safe from any
 * thread.
 *
 * The limits are per instance: instances share nothing but the database, and
 * a request refused here costs no round trip to it.  With N instances behind
 * a balancer a client gets up to N times a limit; set each instance's limit
 * with that in mind.  (The payer's pay button and staff logins also have
 * limits kept in MariaDB, which hold across instances: web/start.c and
 * staff/login.c.)
 */
#ifndef FG_HTTP_RATELIMIT_H
#define FG_HTTP_RATELIMIT_H

#include <stddef.h>
#include <stdint.h>

typedef struct fg_ratelimit fg_ratelimit_t;

/** A table of `slots` buckets (a power of two is used), each refilled at
 *  per_minute tokens a minute up to burst.  per_minute 0: no limit (NULL is
 *  returned, and every call on NULL allows). */
fg_ratelimit_t *fg_ratelimit_new(int64_t per_minute, int64_t burst, size_t slots);
void fg_ratelimit_free(fg_ratelimit_t *rl);

/** Takes a token from key's bucket: 0 when it had one, else the seconds (>= 1)
 *  until it will. */
int64_t fg_ratelimit_take(fg_ratelimit_t *rl, const char *key, size_t key_len, int64_t now_ms);

/** The seconds until key's bucket has a token (0: it has one now); takes
 *  nothing.  For limits charged only by what a request turns out to be (a
 *  notification refused as forged). */
int64_t fg_ratelimit_wait(fg_ratelimit_t *rl, const char *key, size_t key_len, int64_t now_ms);

/** Takes a token if there is one (charging after the fact never refuses). */
void fg_ratelimit_charge(fg_ratelimit_t *rl, const char *key, size_t key_len, int64_t now_ms);

/** The bucket key of a client address, into out (cap >= 64): an IPv4
 *  address as written; an IPv6 one by its /64 ("2001:db8:1:2::/64": one
 *  subscriber's allocation, whose 2^64 addresses would otherwise each get a
 *  bucket of their own), an IPv4-mapped one as its IPv4; text that is no
 *  address as written.  Returns the key's length. */
size_t fg_ratelimit_address_key(const char *address, char *out, size_t cap);

#endif
