/*
 * http_client.h - the outbound HTTP client for provider calls (libcurl).
 *
 * Blocking: call it from a database worker or a background thread, never
 * from an h2o event loop.  One easy handle per call (provider calls are
 * rare next to database work; no state is shared between threads).
 */
#ifndef FG_NET_HTTP_CLIENT_H
#define FG_NET_HTTP_CLIENT_H

#include <stddef.h>
#include <stdint.h>
#include "core/buf.h"
#include "core/error.h"

/* Connecting to a provider takes well under a second when it is up. */
#define FG_HTTP_CONNECT_TIMEOUT_MS 5000
/* Answers beyond this are not a provider's: the call fails. */
#define FG_HTTP_RESPONSE_MAX (1024 * 1024)

typedef struct {
    long status;   /* HTTP status; 0 when no answer arrived */
    fg_buf_t body; /* the answer's body, NUL-terminated */
    int timed_out; /* the request may have reached the provider */
    int not_sent;  /* certainly not sent: no slot, or no connection was made */
    char error[256];
} fg_http_response_t;

/**
 * Process set-up, from main() before any thread starts: libcurl's global
 * state, and the most provider calls in flight at once.  Provider calls run
 * on database workers; without a bound, a slow provider would hold every
 * worker (and its connection) and starve the notifications that settle
 * payments.  A call beyond the bound fails at once with not_sent set.
 */
int fg_http_client_init(int max_in_flight) FG_MUST_USE;
/** The bound set by fg_http_client_init (0: none), for a caller that makes
 *  several calls at once and keeps them within it. */
int fg_http_client_max_in_flight(void);
/** Process tear-down, after every thread that may call out has ended. */
void fg_http_client_cleanup(void);

/**
 * POSTs body as application/json to url (http or https only) with the
 * connect timeout above and timeout_ms in total.  Returns 0 when an HTTP
 * answer arrived (any status: the caller judges it), FG_EUNAVAILABLE when
 * none did (refused, reset, timed out: error says why; not_sent tells the
 * cases where the provider certainly never saw the request).  Free out with
 * fg_http_response_free either way.
 */
int fg_http_post_json(const char *url, const char *body, size_t len, int64_t timeout_ms,
                      fg_http_response_t *out) FG_MUST_USE;

/** The same with one more request header ("Name: value"; NULL: none), for
 *  providers that take their credential in a header (Zalo's access_token). */
int fg_http_post_json_with(const char *url, const char *header, const char *body, size_t len, int64_t timeout_ms,
                           fg_http_response_t *out) FG_MUST_USE;

void fg_http_response_free(fg_http_response_t *r);

#endif
