/*
 * harness.h - drives the real `feegate serve` over real HTTP/1.1, h2c and
 * HTTP/2 over TLS, against the private MariaDB that ./tests/run started.
 */
#ifndef FGT_HARNESS_H
#define FGT_HARNESS_H

#include <check.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <yajl/yajl_tree.h>

typedef enum { FGT_HTTP1, FGT_H2C, FGT_H2TLS } fgt_proto_t;
#define FGT_PROTOS 3
extern const char *const fgt_proto_names[FGT_PROTOS];

typedef struct {
    pid_t pid;
    int http_port, https_port;
    char log_path[256];
} fgt_server_t;

typedef struct {
    long status;
    long http_version; /* CURL_HTTP_VERSION_* */
    char *body;
    size_t body_len;
    char *headers; /* raw, lower-cased names as sent by the server */
    yajl_val json; /* parsed body, or NULL */
} fgt_resp_t;

/** Starts feegate serve on two free loopback ports with extra "KEY=VALUE"
 *  environment entries (NULL-terminated, may be NULL); waits for /healthz. */
void fgt_server_start(fgt_server_t *s, const char *const *extra_env);
/** SIGTERM, wait; returns the exit status (-1 if killed).  Fails the test if
 *  the log shows a sanitizer report. */
int fgt_server_stop(fgt_server_t *s);

/** Creates a merchant with the CLI; id and key must hold 64 bytes. */
void fgt_merchant(const char *name, char *id, char *key);

/** One request.  key (API key or staff token) and idem may be NULL; extra is
 *  one more "Name: value" header or NULL. */
fgt_resp_t fgt_req(const fgt_server_t *s, fgt_proto_t proto, const char *method, const char *path, const char *key,
                   const char *idem, const char *body, size_t body_len, const char *extra);
void fgt_resp_free(fgt_resp_t *r);

/** Sends n identical requests at once, each on its own connection, and
 *  fills out[0..n). */
void fgt_req_many(const fgt_server_t *s, fgt_proto_t proto, int n, const char *method, const char *path,
                  const char *key, const char *idem, const char *body, const char *extra, fgt_resp_t *out);

/** The same over at most `connections` connections (requests queue for one). */
void fgt_req_many_over(const fgt_server_t *s, fgt_proto_t proto, int n, int connections, const char *method,
                       const char *path, const char *key, const char *idem, const char *body, const char *extra,
                       fgt_resp_t *out);

/** A string (or NULL) at a path of object keys, e.g. fgt_str(r, "error", "code", NULL). */
const char *fgt_str(const fgt_resp_t *r, ...);
/** An integer at a path (fails the test if absent). */
long long fgt_int(const fgt_resp_t *r, ...);
/** The value of response header name (lower-case), in a static buffer, or NULL. */
const char *fgt_header(const fgt_resp_t *r, const char *name);

/** COUNT(*)-style query with up to two string parameters (NULL = unused),
 *  returning the first column of the first row as an integer. */
long long fgt_db_int(const char *sql, const char *a, const char *b);
/** A statement with no result (test setup only). */
void fgt_db_exec(const char *sql, const char *a);

/** Runs a statement and returns MariaDB's error number (0 = it worked; any
 *  change is rolled back). */
unsigned fgt_db_try(const char *sql, const char *a);

/** Runs feegate with argv (argv[0] is replaced by the binary) feeding input
 *  (may be NULL) on stdin; captures stdout; returns the exit status. */
int fgt_cli(const char *const argv[], const char *input, char *out, size_t cap);

/** Runs `feegate ledger check`; returns its exit status. */
int fgt_ledger_check(void);

/** A unique string for refs and keys. */
const char *fgt_unique(const char *prefix);

/** Runs the suite and returns the process exit code. */
int fgt_run(Suite *suite);

/* Asserts status and, for errors, the error code (NULL = not checked). */
void fgt_expect_at(const fgt_resp_t *r, long status, const char *code, const char *file, int line);
#define fgt_expect(resp, st, code) fgt_expect_at(&(resp), (st), (code), __FILE__, __LINE__)

#endif
