/*
 * harness.h - drives the real `feegate serve` over real HTTP/1.1, h2c and
 * HTTP/2 over TLS, against the private MariaDB that ./tests/run started
 * (FEEGATE_DB_* and FEEGATE_BIN in the environment).
 *
 * Every helper fails the running Check test when something it needs does
 * not work; outside a test (in main) it prints the reason and exits 1.
 */
#ifndef FGT_HARNESS_H
#define FGT_HARNESS_H

#include <check.h>
#include <stddef.h>
#include <sys/types.h>
#include <yajl/yajl_tree.h>
#include "core/config.h"
#include "db/db.h"

/* ---- the server process --------------------------------------------------- */

typedef enum { FGT_HTTP1, FGT_H2C, FGT_H2TLS } fgt_proto_t;
#define FGT_PROTOS 3
extern const char *const fgt_proto_names[FGT_PROTOS];

typedef struct {
    pid_t pid;
    int http_port, https_port, metrics_port;
    char log_path[128];
} fgt_server_t;

/** A loopback TCP port free at the time of the call: one of FEEGATE_TEST_PORTS
 *  (LOW-HIGH) when it is set, else one the kernel picks. */
int fgt_free_port(void);

/** Starts `$FEEGATE_BIN serve` on two free loopback ports with the inherited
 *  environment, the test settings (2 loops, 16 connections, a 100 ms sweep,
 *  no request log) and then extra_env ("KEY=VALUE", NULL-terminated, may be
 *  NULL; these win).  Output goes to a log file; returns once GET /healthz
 *  answers 200 (at most 20 s).  The server gets SIGTERM if the test process
 *  dies first. */
void fgt_server_start(fgt_server_t *s, const char *const *extra_env);

/** The settings every suite's server runs with (both starters give them,
 *  before the suite's own), NULL-terminated. */
extern const char *const fgt_suite_env[];

/** SIGTERM, then waits up to 30 s.  Returns the exit status (-1 when killed
 *  by a signal).  Fails the test if the log holds a sanitizer report; prints
 *  the log unless the server stopped cleanly (then the log is removed). */
int fgt_server_stop(fgt_server_t *s);

/* ---- the CLI -------------------------------------------------------------- */

#define FGT_ID_CAP 64

/** `feegate admin merchant create --name NAME`; id and key hold FGT_ID_CAP. */
void fgt_merchant_create(const char *name, char *id_out, char *key_out);

/** Runs `$FEEGATE_BIN args...` (args NULL-terminated, without the program)
 *  with the extra environment entries (may be NULL), input on stdin (may be
 *  NULL).  Captures stdout and stderr (NUL-terminated, may be NULL); returns
 *  the exit status, or -1 when killed by a signal. */
int fgt_cli_run(const char *const *args, const char *const *extra_env, const char *input, char *out, size_t out_cap,
                char *err, size_t err_cap);

/** fgt_cli_run with stdout going to the file stdout_path ("/dev/full": a
 *  write that fails) and stderr captured; the command is killed after
 *  timeout_ms (a `serve` that should have refused to start): then -2. */
int fgt_cli_run_to(const char *stdout_path, const char *const *args, const char *const *extra_env, const char *input,
                   char *err, size_t err_cap, int timeout_ms);

/** argv[0] is ignored (the binary is $FEEGATE_BIN); captures stdout only. */
int fgt_cli(const char *const argv[], const char *input, char *out, size_t cap);

/** A new staff user of role (finance, auditor, admin) and a bearer token
 *  for it (token holds 96 bytes); fails the test when the CLI does. */
void fgt_staff_token(const char *role, char *token);

/** `feegate ledger check`; returns its exit status. */
int fgt_ledger_check(void);

/* ---- HTTP ----------------------------------------------------------------- */

typedef struct {
    long status;       /* 0 when the transfer failed */
    long http_version; /* CURL_HTTP_VERSION_* */
    int curl_code;     /* CURLcode */
    char *body;        /* NUL-terminated */
    size_t body_len;
    char *headers; /* the raw header block(s) */
    yajl_val json; /* the parsed body, or NULL */
} fgt_response_t;

/** One request.  headers: "Name: value" strings, NULL-terminated (may be
 *  NULL); body may be NULL, body_len 0 means strlen(body).  Over FGT_H2C and
 *  FGT_H2TLS it fails the test unless HTTP/2 was negotiated. */
fgt_response_t fgt_request(const fgt_server_t *s, fgt_proto_t proto, const char *method, const char *path,
                           const char *const *headers, const char *body, size_t body_len);

/** fgt_request sent from the loopback address source ("127.0.0.9"), which
 *  the server sees as the client's address (per-address limits). */
fgt_response_t fgt_request_from(const fgt_server_t *s, fgt_proto_t proto, const char *source, const char *method,
                                const char *path, const char *const *headers, const char *body, size_t body_len);

/** The API's usual request: "Authorization: Bearer key" and
 *  "Idempotency-Key: idem" when not NULL, plus one extra header (or NULL). */
fgt_response_t fgt_req(const fgt_server_t *s, fgt_proto_t proto, const char *method, const char *path, const char *key,
                       const char *idem, const char *body, size_t body_len, const char *extra);

void fgt_response_free(fgt_response_t *r);

/* ---- raw connections: bytes exactly as written ------------------------------ */

/** A TCP connection to 127.0.0.1:port (fails the test if refused). */
int fgt_tcp_connect(int port);

/** A TLS client connection to 127.0.0.1:port: alpn in wire format (may be
 *  NULL), the highest version to offer (0: any) and a TLS 1.2 cipher list
 *  (NULL: OpenSSL's).  NULL when the handshake fails.  fgt_tls_close frees
 *  it. */
typedef struct fgt_tls fgt_tls_t;
fgt_tls_t *fgt_tls_connect(int port, const char *alpn, int max_version, const char *ciphers);
int fgt_tls_write(fgt_tls_t *t, const void *bytes, size_t len);
/** Reads what arrives within timeout_ms into out (NUL-ended, cap bytes):
 *  the byte count, 0 at the peer's close, -1 on time out with nothing. */
int fgt_tls_read(fgt_tls_t *t, char *out, size_t cap, int timeout_ms);
/** The peer certificate's subject CN into out ("" when none). */
void fgt_tls_peer_cn(fgt_tls_t *t, char *out, size_t cap);
void fgt_tls_close(fgt_tls_t *t);

/** The sandbox provider's X-Signature header for body, signed now with secret,
 *  into header ("X-Signature: t=…,v1=…"). */
void fgt_sandbox_signature(const char *secret, const char *body, char *header, size_t cap);

/** GET /metrics from the server's metrics listener (metrics.listen). */
fgt_response_t fgt_metrics(const fgt_server_t *s);
/** The value of a series without labels in the server's /metrics (fails the
 *  test when it is not there). */
long long fgt_metric(const fgt_server_t *s, const char *series);
/** The same, 0 while the series is not listed (a group commit's series
 *  appear once the group is first used). */
long long fgt_metric_or_zero(const fgt_server_t *s, const char *series);

/** A client connection left open and idle after one GET /healthz, as
 *  browsers and proxies keep theirs, until fgt_idle_close. */
typedef struct fgt_idle fgt_idle_t;
fgt_idle_t *fgt_idle_open(const fgt_server_t *s, fgt_proto_t proto);
void fgt_idle_close(fgt_idle_t *c);

/* ---- many requests at once ------------------------------------------------- */

typedef struct {
    const char *method, *path;
    const char *const *headers; /* NULL-terminated, may be NULL */
    const char *body;           /* may be NULL */
    size_t body_len;            /* 0 = strlen(body) */
    const char *source;         /* the loopback address to send from, e.g. "127.0.0.9"; NULL = any */
} fgt_request_t;

/** Request bodies of the requests set up after this are sent at most
 *  bytes_per_s bytes a second (a client on a slow uplink); 0 ends it. */
void fgt_upload_pace(long bytes_per_s);

/** Called on every turn of the transfer loop until it returns non-zero. */
typedef int (*fgt_tick_fn)(void *arg);

/** Sends reqs[0..n) at once and fills out[0..n).  HTTP/1.1 uses up to
 *  `connections` connections (n: each request on a fresh one of its own).
 *  h2c and h2 multiplex the requests as streams over `connections`
 *  connections, opened first with a GET /healthz (over h2c an HTTP/1.1
 *  Upgrade: see harness.c); with 1, the test fails unless every request
 *  shared it.  tick (may be NULL) runs while they are in flight. */
void fgt_request_all(const fgt_server_t *s, fgt_proto_t proto, int connections, int n, const fgt_request_t *reqs,
                     fgt_tick_fn tick, void *tick_arg, fgt_response_t *out);

/** n identical fgt_req requests at once: HTTP/1.1 each on its own
 *  connection, HTTP/2 all multiplexed on one. */
void fgt_req_many(const fgt_server_t *s, fgt_proto_t proto, int n, const char *method, const char *path,
                  const char *key, const char *idem, const char *body, const char *extra, fgt_response_t *out);

/** The same over at most `connections` connections. */
void fgt_req_many_over(const fgt_server_t *s, fgt_proto_t proto, int n, int connections, const char *method,
                       const char *path, const char *key, const char *idem, const char *body, const char *extra,
                       fgt_response_t *out);

/* ---- reading responses ------------------------------------------------------ */

/** The value of response header name (case-insensitive) in a static buffer,
 *  or NULL.  The next call overwrites it. */
const char *fgt_header(const fgt_response_t *r, const char *name);

/** The value at a path of object keys (NULL-terminated) under v, or NULL. */
yajl_val fgt_val_at(yajl_val v, ...);
/** A string at a path under v, or NULL if absent or not a string. */
const char *fgt_val_str(yajl_val v, ...);

/** A string (or NULL) at a path of the response body, e.g.
 *  fgt_json_str(&r, "error", "code", NULL). */
const char *fgt_json_str(const fgt_response_t *r, ...);
/** An integer at a path of the response body; fails the test if absent. */
long long fgt_json_int(const fgt_response_t *r, ...);
/** The array at a path of the response body; fails the test if absent. */
yajl_val fgt_json_array(const fgt_response_t *r, ...);
/** Whether the value at a path of the response body is JSON null. */
int fgt_json_is_null(const fgt_response_t *r, ...);

/** Asserts the status.  For a 4xx or 5xx, also the error shape
 *  {"error":{"type":…,"code":…,"message":…}} with the JSON content type, and
 *  the type and code when not NULL. */
void fgt_expect_at(const fgt_response_t *r, long status, const char *type, const char *code, const char *file,
                   int line);
#define fgt_expect(resp, st, code) fgt_expect_at(&(resp), (st), NULL, (code), __FILE__, __LINE__)
#define fgt_expect_error(resp, st, type, code) fgt_expect_at(&(resp), (st), (type), (code), __FILE__, __LINE__)

/* ---- the database ------------------------------------------------------------ */

/** Runs a query with up to two string parameters (NULL = unused) as a
 *  prepared statement; returns the first column of the first row as an
 *  integer, or -1 when there is no row or it is NULL. */
long long fgt_db_int(const char *sql, const char *a, const char *b);
/** A statement with at most one string parameter, committed (test setup). */
void fgt_db_exec(const char *sql, const char *a);
/** Runs a statement and returns MariaDB's error number (0 = it worked); any
 *  change is rolled back. */
unsigned fgt_db_try(const char *sql, const char *a);
/** The same, the first column of the first row as text into out (cap
 *  bytes, NUL-terminated; a longer value fails the test): 1, or 0 with ""
 *  when there is no row or it is NULL. */
int fgt_db_str(const char *sql, const char *a, const char *b, char *out, size_t cap);
/** The first column of every row of a query without parameters, as integers;
 *  returns how many were stored in out (at most cap). */
int fgt_db_ints(const char *sql, long long *out, int cap);
/** KILL CONNECTION id. */
void fgt_db_kill(long long id);

/* ---- orders --------------------------------------------------------------------- */

typedef struct {
    char id[FGT_ID_CAP], key[FGT_ID_CAP];
} fgt_merchant_t;

/** A valid create-order body (free it): merchant_ref ref, fee_type utility,
 *  amount, currency VND, then extra (",\"field\":value…", may be NULL). */
char *fgt_order_body(const char *ref, long long amount, const char *extra);

/** POST /v1/orders with fgt_order_body(ref, amount, extra). */
fgt_response_t fgt_order_create(const fgt_server_t *s, fgt_proto_t proto, const char *key, const char *idem,
                                const char *ref, long long amount, const char *extra);

/** Orders of a merchant in the database, all or those with merchant_ref ref. */
long long fgt_db_orders(const char *merchant_id);
long long fgt_db_orders_with_ref(const char *merchant_id, const char *ref);

/* ---- the domain without HTTP ---------------------------------------------------- */

/** Loads the configuration from the environment, as `feegate serve` would
 *  (FEEGATE_DB_* from ./tests/run); fails the test on a bad value.  Free
 *  with fg_config_free. */
void fgt_config_load(fg_config_t *cfg);

/** A database connection as cfg says; fails the test when there is none.
 *  Close with fg_db_close. */
fg_db_t *fgt_db_open(const fg_config_t *cfg);

/* ---- odds and ends ------------------------------------------------------------ */

/** "prefix-<pid>-<time>-<counter>": unique across runs.  The result lives
 *  in one of 8 rotating static buffers. */
const char *fgt_unique(const char *prefix);
/** A bank account number unique to this run, in the form every record keys
 *  accounts (fg_bank_account_key): prefix (letters and digits) and digits. */
const char *fgt_account(const char *prefix);

/** Sleeps ms milliseconds. */
void fgt_sleep_ms(long ms);

/** A test case with the integration timeout (120 s) and a checked fixture
 *  (setup and teardown may be NULL). */
TCase *fgt_tcase(Suite *suite, const char *name, void (*setup)(void), void (*teardown)(void));

/** Runs the suite; returns the process exit code. */
int fgt_run(Suite *suite);

#endif
