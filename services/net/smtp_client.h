/*
 * smtp_client.h - mail submission over libcurl's SMTP (a relay the unit
 * configures: smtp:// with STARTTLS, or smtps://).
 *
 * Blocking, like http_client.h: call it from a background thread.
 */
#ifndef FG_NET_SMTP_CLIENT_H
#define FG_NET_SMTP_CLIENT_H

#include <stddef.h>
#include <stdint.h>
#include "core/error.h"

typedef struct {
    const char *url;      /* smtp://host:587 or smtps://host:465 */
    const char *username; /* "" = no AUTH */
    const char *password;
    const char *ca_file; /* "" = the system's CAs */
    int require_tls;     /* smtp://: STARTTLS or fail */
    int64_t timeout_ms;
} fg_smtp_relay_t;

typedef struct {
    long code;    /* the relay's last reply code (250 when accepted); 0 when none came */
    int not_sent; /* certainly not accepted and nothing was handed over */
    char error[256];
} fg_smtp_result_t;

/**
 * Hands message (a complete RFC 5322 message, CRLF line ends) to the relay
 * for one recipient.  Returns 0 when the relay accepted it (250), FG_EINVALID
 * when it refused it for good (5xx), FG_EUNAVAILABLE otherwise (4xx, no
 * connection, timeout: try again later).  out says what happened.
 */
int fg_smtp_send(const fg_smtp_relay_t *relay, const char *from, const char *to, const char *message, size_t len,
                 fg_smtp_result_t *out) FG_MUST_USE;

#endif
