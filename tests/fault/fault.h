/*
 * fault.h - the fault suites' client: worker threads that keep writing
 * through the API (orders, batches, payments through each adapter, refunds,
 * statement imports) while the suite kills the server or its database, and
 * a record of every write with what the client knows of it.
 *
 * A write is acknowledged when the server answered it 2xx with an id.  A
 * write whose answer never came (the connection died, or 503) is sent again
 * with the same Idempotency-Key until it is answered, or, by a seeded coin,
 * given up: then its outcome is unknown to the client and the checks only
 * require that it exists once or not at all.  The checks (fault.c) read the
 * database directly and replay acknowledged writes.
 *
 * Workers never call Check's assertions (they are not the test's thread):
 * what they find wrong is counted as a problem, and the suite's thread
 * asserts that there are none.
 */
#ifndef FLT_FAULT_H
#define FLT_FAULT_H

#include <pthread.h>
#include <stdatomic.h>
#include "banksim_client.h"
#include "harness.h"

/* What a worker does in one step; also what a kill lands on. */
typedef enum {
    FLT_OP_ORDER,
    FLT_OP_BATCH,
    FLT_OP_SANDBOX,
    FLT_OP_VNPAY,
    FLT_OP_MOMO,
    FLT_OP_VIETQR,
    FLT_OP_REFUND,
    FLT_OP_STATEMENT,
    FLT_OPS
} flt_op_t;
extern const char *const flt_op_names[FLT_OPS];

/* What a recorded write made (one row each in the checks). */
typedef enum {
    FLT_W_ORDER,
    FLT_W_BATCH,
    FLT_W_PAYMENT,
    FLT_W_NOTICE,
    FLT_W_REFUND,
    FLT_W_STATEMENT,
    FLT_WS
} flt_wkind_t;
extern const char *const flt_wkind_names[FLT_WS];

/* Every write a run records; more than a three-minute run makes (about 90,000 since
 * creates and notifications are taken from the queue together). */
#define FLT_WRITES_MAX 200000
/* Workers writing at once: enough to keep group commit busy on two cores. */
#define FLT_WORKERS 4
/* The problems kept word for word (all are counted). */
#define FLT_PROBLEMS_KEPT 16
#define FLT_TEXT_CAP 400

typedef struct {
    flt_wkind_t kind;
    flt_op_t op;
    int acked;       /* 1: answered 2xx with an id; 0: given up, outcome unknown */
    int in_batch;    /* an order of a batch: the batch's own row replays it */
    char ref[64];    /* order: merchant_ref; statement: the account */
    char id[48];     /* the id answered (acked writes) */
    char parent[48]; /* payment: its order; notice and refund: the payment */
    char idem[96];   /* Idempotency-Key; "" when the write has none */
    char path[160];  /* for the replay */
    char *body;      /* what was sent (notices: the provider's notice) */
    char *answer;    /* the body of the acknowledging answer */
    long answer_status;
    long long amount;
} flt_write_t;

typedef struct {
    /* set up by the suite before flt_workers_start */
    fgt_server_t srv;          /* only http_port is used: it stays the same across restarts */
    const fgt_banksim_t *bank; /* NULL: no bank simulator, payments through the sandbox only */
    char merchant[FGT_ID_CAP], key[FGT_ID_CAP];
    char finance[128]; /* staff token for statement imports */
    const char *sandbox_secret;
    const char *sepay_key; /* the bank feed's API key */
    int ops_enabled[FLT_OPS];
    unsigned seed;

    /* shared while running */
    pthread_mutex_t lock;
    flt_write_t *writes;
    size_t count;
    atomic_int stop;
    atomic_int in_flight[FLT_OPS]; /* requests of each kind on the wire now */
    atomic_long outages;           /* answers that were no answer, or 503 */
    atomic_long answers_503;
    atomic_long given_up;
    atomic_long replayed_after_outage; /* a resent write answered Idempotent-Replayed: it had committed */
    atomic_long stuck_keys;            /* 409 idempotency_key_in_progress after a kill: the key's lease */
    atomic_long problems;
    atomic_long steps[FLT_OPS];
    char problem_text[FLT_PROBLEMS_KEPT][FLT_TEXT_CAP];
    pthread_t threads[FLT_WORKERS];
    int started;
} flt_env_t;

/* The providers' settings, which feegate and the bank simulator both read. */
#define FLT_SANDBOX_SECRET "fault-sandbox-secret"
#define FLT_SANDBOX_ENV "FEEGATE_SANDBOX_SECRET=" FLT_SANDBOX_SECRET
#define FLT_SEPAY_KEY "fault-sepay-key"
/** Sets VNPay's, MoMo's, SePay's and VietQR's settings in the environment,
 *  before the bank simulator and feegate start. */
void flt_providers_setenv(void);

/* Prepares env (zeroes it, the lock, the write table) for the seed. */
void flt_env_init(flt_env_t *env, unsigned seed);
void flt_env_free(flt_env_t *env);

/** The seed: FAULT_SEED from the environment, else the time; printed. */
unsigned flt_seed(const char *suite);

/* Starts FLT_WORKERS threads on the enabled operations; flt_workers_stop
 * lets each finish its step (every write in it answered or given up). */
void flt_workers_start(flt_env_t *env);
void flt_workers_stop(flt_env_t *env);

/* Records a problem found by a worker or a check (printed, counted). */
void flt_problem(flt_env_t *env, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Waits until a request of op is on the wire (at most wait_ms); returns 1
 * if one is. */
int flt_wait_in_flight(flt_env_t *env, flt_op_t op, long wait_ms);

/* ---- checks ------------------------------------------------------------------------ */

typedef struct {
    long checked;    /* acknowledged writes found exactly once with their id */
    long unknown;    /* given-up writes found once or not at all */
    long lost;       /* acknowledged writes not found */
    long duplicated; /* found more than once, a second posting, a replay with another answer */
    long replayed;   /* replays that answered the acknowledged answer */
} flt_tally_t;

/** Checks the writes [from, count) in the database: each acknowledged one
 *  exists once with its id, each given-up one at most once; and no payment
 *  or refund of the merchant is posted twice, no succeeded payment is left
 *  without its posting.  With replay, sends each acknowledged write
 *  again (the same Idempotency-Key and body; a notice as its provider sends
 *  it again; a statement file again) and requires the acknowledged answer.
 *  Returns the count checked up to, for the next call's from. */
size_t flt_check(flt_env_t *env, size_t from, int replay, flt_tally_t *t);

/** The merchant's totals against the record: orders, payments and refunds
 *  between the acknowledged count and that plus the given-up ones; no
 *  payment with two postings.  Adds to t. */
void flt_check_totals(flt_env_t *env, flt_tally_t *t);

/** Sends a request until it is answered with something other than an outage
 *  (no answer, 503), for at most timeout_ms; 0 with *out unset when none came. */
int flt_send_until_answered(const flt_env_t *env, const char *method, const char *path, const char *const *headers,
                            const char *body, long timeout_ms, fgt_response_t *out);

/* Milliseconds on the monotonic clock. */
long long flt_now_ms(void);

#endif
