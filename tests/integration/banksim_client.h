/*
 * banksim_client.h - the bank simulator (tests/banksim) next to the real
 * feegate for integration suites: starting both on ports chosen up front
 * (feegate's public base URL must be known before it starts, and banksim
 * must know feegate's port), and banksim's control API.
 *
 * Like harness.h, every helper fails the running Check test when something
 * it needs does not work; the starters, called from main, print the reason
 * and exit 1.
 */
#ifndef FGT_BANKSIM_CLIENT_H
#define FGT_BANKSIM_CLIENT_H

#include <sys/types.h>
#include "harness.h"

typedef struct {
    pid_t pid;
    int port;
    char url[64];  /* http://127.0.0.1:PORT */
    int smtp_port; /* the SMTP relay, on 127.0.0.1 */
} fgt_banksim_t;

/* The SMTP relay's credentials fgt_banksim_start gives banksim. */
#define FGT_BANKSIM_SMTP_USER "feegate-relay"
#define FGT_BANKSIM_SMTP_PASSWORD "relay-secret"

/** Starts $BANKSIM_BIN on a free port, delivering to feegate on
 *  feegate_port, with its SMTP relay on another (AUTH required: user
 *  FGT_BANKSIM_SMTP_USER, password FGT_BANKSIM_SMTP_PASSWORD; no STARTTLS);
 *  returns once it says smtp=PORT and listening=PORT.  Its standard output
 *  is drained so it never blocks.  It gets SIGTERM if the test process dies
 *  first. */
void fgt_banksim_start(fgt_banksim_t *b, int feegate_port);

/** fgt_banksim_start with more banksim options (NULL-terminated, may be
 *  NULL), e.g. {"--smtp-tls-cert", cert, "--smtp-tls-key", key, NULL} for a
 *  relay that offers STARTTLS (and AUTH only inside TLS). */
void fgt_banksim_start_with(fgt_banksim_t *b, int feegate_port, const char *const *extra_args);

/** SIGTERM, then waits for it. */
void fgt_banksim_stop(fgt_banksim_t *b);

/** Starts `feegate serve` on http_port (HTTPS on another free port) with
 *  VNPay's and MoMo's URLs at banksim, the test settings (2 loops, 16
 *  connections, a 100 ms sweep, pending payments queried after 2 s, no
 *  request log) and then extra_env ("KEY=VALUE", NULL-terminated, may be
 *  NULL; these win).  Output goes to srv->log_path; returns once GET
 *  /healthz answers 200 (at most 20 s).  Stop it with fgt_server_stop. */
void fgt_banksim_feegate_start(fgt_server_t *srv, const fgt_banksim_t *b, int http_port, const char *const *extra_env);

/** One request to an absolute URL (a JSON body when json is not NULL), the
 *  answer parsed as JSON when it is; status 0 when the transfer failed.
 *  Asserts nothing, so main may call it too.  Free with fgt_response_free. */
fgt_response_t fgt_http(const char *method, const char *url, const char *json);

/** POST json to banksim's path; fails the test unless it answers 200. */
fgt_response_t fgt_banksim_control(const fgt_banksim_t *b, const char *path, const char *json);

/** GET banksim's path, whatever it answers. */
fgt_response_t fgt_banksim_get(const fgt_banksim_t *b, const char *path);

/** What a reminder channel received: GET /control/messages?channel=channel
 *  ("email", "sms" or "zalo"; NULL: every channel) ->
 *  {"count","data":[{"channel","key","id","to","attempts","content",
 *  "received_at",…}]}.  Fails the test unless it answers 200.  Free with
 *  fgt_response_free. */
fgt_response_t fgt_banksim_messages(const fgt_banksim_t *b, const char *channel);

#endif
