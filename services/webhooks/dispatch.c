/*
 * dispatch.c - the delivery worker of one `feegate serve`: a fan-out thread
 * and a delivery thread, each with its own database connection, never on an
 * event loop.
 *
 * The delivery thread claims due deliveries in a short transaction
 * (FOR UPDATE SKIP LOCKED, then attempts + 1 and next_attempt_at moved to
 * the end of a lease), commits, and only then sends them through one libcurl
 * multi handle; no lock is held during an HTTP call.  Outcomes are recorded
 * in one transaction per turn, each conditional on the attempt number still
 * being the one claimed.  Several instances share the work; none sends an
 * attempt another one has claimed.  A delivery whose order has an earlier
 * event still pending at the same endpoint is not claimed (events of one
 * order arrive in the order they were created).  In-flight attempts are
 * capped per endpoint and per merchant, and when the longest-due rows are
 * held back by those caps the claim looks past them (claim_past_caps), so a
 * backlog at hanging receivers never delays other merchants' deliveries.
 */
#include "webhooks/webhooks_internal.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "core/log.h"
#include "core/text.h"
#include "db/settle.h"
#include "metrics/metrics.h"

/* Attempts in flight per instance, per endpoint and per merchant: a slow
 * receiver, or a merchant with many endpoints and a long backlog, holds at
 * most its share, never every slot. */
#define INFLIGHT_MAX 128
#define INFLIGHT_PER_ENDPOINT_MAX 16
#define INFLIGHT_PER_MERCHANT_MAX 32
/* Deliveries claimed per transaction (the claim UPDATE binds this many ids). */
#define CLAIM_BATCH_MAX 32
/* Candidates read per claim: more than claimed, so that the per-endpoint cap
 * can pass over a busy endpoint's rows. */
#define CLAIM_CANDIDATES_MAX (2 * CLAIM_BATCH_MAX)
/* When the due-ordered read passed over rows held back by a cap, the claim
 * looks past them: it reads the endpoints with due deliveries (up to this
 * many, longest due first) ... */
#define FAIR_ENDPOINTS_MAX 256
/* ... and takes up to FAIR_SHARE rows each from up to FAIR_READS_MAX of the
 * endpoints the due-ordered read did not reach. */
#define FAIR_READS_MAX 16
#define FAIR_SHARE 4
/* A look past the caps that found no other endpoint to serve is not made
 * again for this long: one endpoint's backlog (the usual case) then costs
 * the claims no extra read, and another endpoint's deliveries wait at most
 * this much longer. */
#define FAIR_IDLE_MS 250
#define CLAIM_ROWS_MAX (CLAIM_CANDIDATES_MAX + CLAIM_BATCH_MAX)
/* With nothing due, look again this often (retries falling due, other
 * instances' fan-out); new local deliveries wake the thread at once. */
#define CLAIM_IDLE_MS 100
/* Settle rounds failing this long: the fan-out's gaps expire by age (a
 * round's one-off failure changes nothing). */
#define SETTLE_STALE_MS (60 * 1000)
/* The fan-out thread's pause between rounds when there was nothing to do. */
#define FANOUT_IDLE_MS 20

/* The pending gauge is refreshed this often. */
#define GAUGE_INTERVAL_MS 1000
/* On shutdown, attempts in flight get this long; the rest are aborted and
 * their leases given back. */
#define STOP_GRACE_MS 3000
/* A receiver's answer is read up to this much (the first KiB is kept). */
#define RESPONSE_READ_MAX (64 * 1024)
/* "webhooks: <what> failed": the longest what (the leases at shutdown) is 58
 * bytes, so this never cuts one. */
#define LOG_MSG_CAP 128

_Static_assert(CLAIM_BATCH_MAX + 2 <= FG_DB_BIND_MAX, "the claim UPDATE binds every id");
_Static_assert(CLAIM_BATCH_MAX <= INFLIGHT_MAX, "a claim fits in flight");

/* The claim must walk ix_webhook_deliveries_due in due order and stop at the
 * LIMIT: any other plan locks (FOR UPDATE) every row it reads before sorting.
 * The table grows from nothing faster than its statistics follow, and a
 * statement prepared while it was empty keeps some of the choices made then,
 * so the plan is pinned: forced indexes, and scalar subqueries where EXISTS /
 * NOT EXISTS would be rewritten (into a join driven by the endpoint, or into
 * a materialised IN over every pending delivery: measured 700 ms a claim).
 * A deleted endpoint is 'disabled'. */
#define CLAIM_COLUMNS                                                                                                  \
    "SELECT d.id, d.endpoint_id, (SELECT w.merchant_id FROM webhook_endpoints w WHERE w.id = d.endpoint_id), "         \
    "d.attempts, d.created_at, d.event_created_at, d.event_id, d.order_id, "                                           \
    "(SELECT w.url FROM webhook_endpoints w WHERE w.id = d.endpoint_id), "                                             \
    "(SELECT w.secret FROM webhook_endpoints w WHERE w.id = d.endpoint_id), "                                          \
    "(SELECT IF(w.previous_secret_expires_at > ?, w.previous_secret, NULL) FROM webhook_endpoints w "                  \
    "WHERE w.id = d.endpoint_id), "                                                                                    \
    "(SELECT w.failing_since FROM webhook_endpoints w WHERE w.id = d.endpoint_id), "                                   \
    "(SELECT e.public_id FROM events e WHERE e.id = d.event_id), "                                                     \
    "(SELECT e.type FROM events e WHERE e.id = d.event_id), "                                                          \
    "(SELECT e.payload FROM events e WHERE e.id = d.event_id) "
/* Sendable: the endpoint is enabled and no earlier event of the order is
 * still pending there. */
#define CLAIM_SENDABLE                                                                                                 \
    "AND (SELECT w.status FROM webhook_endpoints w WHERE w.id = d.endpoint_id) = 'enabled' "                           \
    "AND (SELECT p.id FROM webhook_deliveries p FORCE INDEX (ix_webhook_deliveries_order) "                            \
    "WHERE p.endpoint_id = d.endpoint_id AND p.order_id = d.order_id AND p.status = 'pending' "                        \
    "AND p.event_id < d.event_id LIMIT 1) IS NULL "
static const char SQL_CLAIM[] = CLAIM_COLUMNS "FROM webhook_deliveries d FORCE INDEX (ix_webhook_deliveries_due) "
                                              "WHERE d.status = 'pending' AND d.next_attempt_at <= ? " CLAIM_SENDABLE
                                              "ORDER BY d.next_attempt_at LIMIT ? FOR UPDATE SKIP LOCKED";
/* The same for one endpoint, walking its own due rows. */
static const char SQL_CLAIM_ENDPOINT[] = CLAIM_COLUMNS
    "FROM webhook_deliveries d FORCE INDEX (ix_webhook_deliveries_endpoint_due) "
    "WHERE d.status = 'pending' AND d.endpoint_id = ? AND d.next_attempt_at <= ? " CLAIM_SENDABLE
    "ORDER BY d.next_attempt_at LIMIT ? FOR UPDATE SKIP LOCKED";
/* The enabled endpoints with due deliveries, longest due first: a loose
 * index scan (one dive per endpoint with pending deliveries, however many
 * each has), read without locks. */
static const char SQL_DUE_ENDPOINTS[] =
    "SELECT w.id, w.merchant_id FROM (SELECT d.endpoint_id, MIN(d.next_attempt_at) AS due "
    "FROM webhook_deliveries d FORCE INDEX (ix_webhook_deliveries_endpoint_due) "
    "WHERE d.status = 'pending' AND d.next_attempt_at <= ? GROUP BY d.status, d.endpoint_id) g "
    "JOIN webhook_endpoints w ON w.id = g.endpoint_id WHERE w.status = 'enabled' ORDER BY g.due, w.id LIMIT ?";
/* Ids beyond the claimed ones repeat the first (IN is a set). */
static const char SQL_TAKE[] =
    "UPDATE webhook_deliveries SET attempts = attempts + 1, next_attempt_at = ?, last_attempt_at = ? WHERE id IN ("
    "?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)";
static const char SQL_DELIVERED[] =
    "UPDATE webhook_deliveries SET status = 'delivered', next_attempt_at = NULL, last_status_code = ?, "
    "last_response_body = ?, last_error = NULL, completed_at = ? WHERE id = ? AND attempts = ? AND status = 'pending'";
static const char SQL_RETRY[] =
    "UPDATE webhook_deliveries SET next_attempt_at = ?, last_status_code = ?, last_response_body = ?, "
    "last_error = ? WHERE id = ? AND attempts = ? AND status = 'pending'";
static const char SQL_FAILED[] =
    "UPDATE webhook_deliveries SET status = 'failed', next_attempt_at = NULL, last_status_code = ?, "
    "last_response_body = ?, last_error = ?, completed_at = ? WHERE id = ? AND attempts = ? AND status = 'pending'";
static const char SQL_RELEASE[] = "UPDATE webhook_deliveries SET next_attempt_at = ?, last_error = ? "
                                  "WHERE id = ? AND attempts = ? AND status = 'pending'";
/* The order's later deliveries at the endpoint wait behind one whose retry
 * is at ? (CLAIM_SENDABLE): due before it, every claim would read them and
 * pass them over, a failing receiver's whole backlog each time; they are
 * due with it instead.  A receiver back up makes them all due at once
 * (SQL_BACKLOG_DUE). */
static const char SQL_PARK_BEHIND[] =
    "UPDATE webhook_deliveries SET next_attempt_at = ? WHERE endpoint_id = ? AND order_id = ? AND status = "
    "'pending' AND event_id > ? AND next_attempt_at < ? AND " FG_WEBHOOK_NOT_IN_FLIGHT_SQL;
static const char SQL_HEALTHY[] = "UPDATE webhook_endpoints SET failing_since = NULL WHERE id = ?";
/* A receiver back up gets its backlog now, not at each delivery's backed-off
 * time; attempts in flight (webhooks.h: holding their claim's lease, claimed
 * by any instance) stay as they are. */
static const char SQL_BACKLOG_DUE[] =
    "UPDATE webhook_deliveries SET next_attempt_at = ? WHERE endpoint_id = ? AND status = 'pending' AND "
    "next_attempt_at > ? AND " FG_WEBHOOK_NOT_IN_FLIGHT_SQL;
static const char SQL_FAILING[] =
    "UPDATE webhook_endpoints SET failing_since = ? WHERE id = ? AND failing_since IS NULL";
static const char SQL_DISABLE[] =
    "UPDATE webhook_endpoints SET status = 'disabled', disabled_reason = 'failing', updated_at = ? "
    "WHERE id = ? AND status = 'enabled' AND failing_since <= ?";
static const char SQL_PENDING[] = "SELECT COUNT(*) FROM webhook_deliveries WHERE status = 'pending'";

typedef struct transfer transfer_t;
struct transfer {
    transfer_t *next;
    CURL *easy;
    struct curl_slist *headers;
    int64_t delivery_id, endpoint_id, merchant_id, attempt, created_at, event_created_at, failing_since;
    int64_t event_row, order_id; /* the event's row; its order's (order_null: none) */
    int failing_since_null, order_null;
    fg_buf_t body, response;
    size_t response_bytes;
    char refused[64]; /* the forbidden address the SSRF guard refused */
    char error[CURL_ERROR_SIZE];
    CURLcode result;
    long status;
    enum { OUTCOME_NONE, OUTCOME_DELIVERED, OUTCOME_RETRY, OUTCOME_FAILED } outcome; /* as recorded */
    int recorded;                                                                    /* its outcome committed */
};

static struct {
    const fg_config_t *cfg;
    fg_settle_shared_t *settle; /* settle points, shared with the ledger (server.c) */
    int events_mark;
    pthread_t fanout_thread, dispatch_thread;
    int started;
    atomic_int stop;
    atomic_int wake_pending;
    pthread_mutex_t multi_mutex; /* guards multi for fg_webhooks_wake */
    CURLM *multi;
    /* delivery thread only */
    transfer_t *inflight;
    int inflight_count;
} worker = {.multi_mutex = PTHREAD_MUTEX_INITIALIZER};

static void log_db(const char *what, fg_db_t *db, int rc)
{
    char msg[LOG_MSG_CAP];
    snprintf(msg, sizeof(msg), "webhooks: %s failed", what);
    fg_log_t l;
    fg_log_begin(&l, FG_LOG_WARN, msg);
    fg_log_str(&l, "error", fg_strerror(rc));
    fg_log_str(&l, "db", db != NULL ? fg_db_error(db) : "");
    fg_log_end(&l);
}

void fg_webhooks_wake(void)
{
    atomic_store(&worker.wake_pending, 1);
    pthread_mutex_lock(&worker.multi_mutex);
    if (worker.multi != NULL)
        curl_multi_wakeup(worker.multi);
    pthread_mutex_unlock(&worker.multi_mutex);
}

/* ---- the fan-out thread -------------------------------------------------------- */

static void *fanout_main(void *arg)
{
    fg_db_t *db = NULL;
    char err[256];
    int failing = 0;
    int64_t settled[FG_SETTLE_MARKS_MAX] = {0};
    mysql_thread_init();
    if (fg_db_open(&db, worker.cfg, err, sizeof(err)) != 0) {
        /* reconnected by fg_db_ensure on every round */
    }
    while (!atomic_load(&worker.stop)) {
        /* a round about once a second, shared with the ledger's checkpoints;
         * a failure is logged there, and once rounds have failed for a
         * while gaps expire by age: a mark proven before they began to fail
         * would hold every later gap for as long as they fail */
        int64_t now = fg_now_ms();
        (void)!fg_settle_shared_poll(worker.settle, db, now, settled);
        int64_t gaps_settled = fg_settle_shared_failing_ms(worker.settle, now) >= SETTLE_STALE_MS
                                   ? 0
                                   : settled[worker.events_mark];
        int rc = fg_webhooks_fanout(db, gaps_settled);
        if (rc < 0 && !failing)
            log_db("fan-out", db, rc);
        failing = rc < 0;
        if (rc > 0)
            fg_webhooks_wake();
        else
            fg_sleep_ms(rc < 0 ? 10 * FANOUT_IDLE_MS : FANOUT_IDLE_MS);
    }
    fg_db_close(db);
    mysql_thread_end();
    return NULL;
}

/* ---- one HTTP attempt ------------------------------------------------------------ */

static size_t on_response(char *data, size_t size, size_t n, void *arg)
{
    transfer_t *t = arg;
    size_t len = size * n;
    if (t->response.len < FG_WEBHOOK_RESPONSE_KEEP_BYTES) {
        size_t keep = FG_WEBHOOK_RESPONSE_KEEP_BYTES - t->response.len;
        fg_buf_append(&t->response, data, len < keep ? len : keep);
    }
    t->response_bytes += len;
    return t->response_bytes > RESPONSE_READ_MAX ? 0 : len; /* 0 ends an endless answer */
}

/* The SSRF guard where it cannot be fooled by DNS: on the address libcurl
 * is about to connect to. */
static curl_socket_t on_open_socket(void *arg, curlsocktype purpose, struct curl_sockaddr *address)
{
    transfer_t *t = arg;
    (void)purpose;
    if (!worker.cfg->webhooks_allow_private && fg_webhook_addr_forbidden(&address->addr)) {
        snprintf(t->refused, sizeof(t->refused), "a private, loopback or reserved address");
        return CURL_SOCKET_BAD;
    }
    return socket(address->family, address->socktype | SOCK_CLOEXEC, address->protocol);
}

static void transfer_free(transfer_t *t)
{
    if (t->easy != NULL)
        curl_easy_cleanup(t->easy);
    curl_slist_free_all(t->headers);
    fg_buf_free(&t->body);
    fg_buf_free(&t->response);
    free(t);
}

static void add_header(transfer_t *t, const char *name, const char *value)
{
    fg_buf_t h = FG_BUF_INIT;
    fg_buf_printf(&h, "%s: %s", name, value);
    struct curl_slist *l = curl_slist_append(t->headers, h.data);
    if (l == NULL)
        fg_oom();
    t->headers = l;
    fg_buf_free(&h);
}

/* Builds the request of a claimed attempt and hands it to the multi handle. */
static void start_transfer(transfer_t *t, const char *url, const char *secret, const char *previous_secret,
                           const char *event_id)
{
    char signature[FG_WEBHOOK_SIGNATURE_CAP], attempt[24];
    fg_webhook_signature_header(secret, previous_secret, fg_now_ms() / 1000, t->body.data, t->body.len, signature,
                                sizeof(signature));
    snprintf(attempt, sizeof(attempt), "%lld", (long long)t->attempt);
    add_header(t, "Content-Type", "application/json; charset=utf-8");
    add_header(t, "Feegate-Signature", signature);
    add_header(t, "Feegate-Event-Id", event_id);
    add_header(t, "Feegate-Delivery-Attempt", attempt);
    t->headers = curl_slist_append(t->headers, "Expect:"); /* no 100-continue round trip */
    if ((t->easy = curl_easy_init()) == NULL || t->headers == NULL)
        fg_oom();
    CURL *e = t->easy;
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_POST, 1L);
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, t->body.data);
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)t->body.len);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, t->headers);
    curl_easy_setopt(e, CURLOPT_USERAGENT, "feegate/" FEEGATE_VERSION);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)FG_WEBHOOK_CONNECT_TIMEOUT_MS);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)FG_WEBHOOK_TIMEOUT_MS);
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, worker.cfg->webhooks_allow_private ? "http,https" : "https");
    curl_easy_setopt(e, CURLOPT_PROXY, ""); /* never through a proxy from the environment */
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_response);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, t);
    curl_easy_setopt(e, CURLOPT_OPENSOCKETFUNCTION, on_open_socket);
    curl_easy_setopt(e, CURLOPT_OPENSOCKETDATA, t);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, t->error);
    curl_easy_setopt(e, CURLOPT_PRIVATE, t);
    curl_multi_add_handle(worker.multi, e);
    t->next = worker.inflight;
    worker.inflight = t;
    worker.inflight_count++;
}

/* ---- claiming --------------------------------------------------------------------- */

typedef struct {
    int64_t id, endpoint_id, merchant_id, attempts, created_at, event_created_at, event_row, order_id, failing_since;
    int failing_since_null, previous_null, order_null;
    fg_buf_t url, secret, previous_secret, event_id, type, payload;
} candidate_t;

typedef struct {
    int wanted;
    int more;  /* due candidates were left behind (batch full, or held back by a cap) */
    int count; /* rows read: the due-ordered candidates, then the fair reads' */
    int taken_count;
    int64_t fair_after; /* no look past the caps before this time */
    candidate_t rows[CLAIM_ROWS_MAX];
    int taken[CLAIM_ROWS_MAX];
    int64_t due_endpoint[FAIR_ENDPOINTS_MAX], due_merchant[FAIR_ENDPOINTS_MAX];
} claim_t;

/* Attempts of the endpoint (merchant, when by_merchant) in flight here or
 * taken by this claim. */
static int inflight_of(int64_t id, int by_merchant, const claim_t *c)
{
    int n = 0;
    for (const transfer_t *t = worker.inflight; t != NULL; t = t->next)
        n += (by_merchant ? t->merchant_id : t->endpoint_id) == id;
    for (int i = 0; i < c->count; i++)
        n += c->taken[i] && (by_merchant ? c->rows[i].merchant_id : c->rows[i].endpoint_id) == id;
    return n;
}

/* How many more attempts the endpoint may have in flight now. */
static int room_for(int64_t endpoint_id, int64_t merchant_id, const claim_t *c)
{
    int endpoint = INFLIGHT_PER_ENDPOINT_MAX - inflight_of(endpoint_id, 0, c);
    int merchant = INFLIGHT_PER_MERCHANT_MAX - inflight_of(merchant_id, 1, c);
    return endpoint < merchant ? endpoint : merchant;
}

/* Fetches the rows of an executed claim statement into c->rows, up to max
 * more. */
static int read_rows(fg_stmt_t *s, claim_t *c, int max)
{
    candidate_t row;
    memset(&row, 0, sizeof(row));
    fg_stmt_out_int(s, &row.id, NULL);
    fg_stmt_out_int(s, &row.endpoint_id, NULL);
    fg_stmt_out_int(s, &row.merchant_id, NULL);
    fg_stmt_out_int(s, &row.attempts, NULL);
    fg_stmt_out_int(s, &row.created_at, NULL);
    fg_stmt_out_int(s, &row.event_created_at, NULL);
    fg_stmt_out_int(s, &row.event_row, NULL);
    fg_stmt_out_int(s, &row.order_id, &row.order_null);
    fg_stmt_out_text(s, &row.url, NULL);
    fg_stmt_out_text(s, &row.secret, NULL);
    fg_stmt_out_text(s, &row.previous_secret, &row.previous_null);
    fg_stmt_out_int(s, &row.failing_since, &row.failing_since_null);
    fg_stmt_out_text(s, &row.event_id, NULL);
    fg_stmt_out_text(s, &row.type, NULL);
    fg_stmt_out_text(s, &row.payload, NULL);
    int rc = fg_stmt_exec(s), read = 0;
    if (rc == 0) {
        while (read < max && (rc = fg_stmt_fetch(s)) == 1) {
            c->rows[c->count++] = row;
            read++;
            memset(&row, 0, sizeof(row)); /* the buffers now belong to the candidate */
        }
        if (read == max)
            fg_stmt_done(s);
    }
    fg_buf_t *texts[] = {&row.url, &row.secret, &row.previous_secret, &row.event_id, &row.type, &row.payload};
    for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++)
        fg_buf_free(texts[i]);
    return rc < 0 ? rc : read;
}

static void claim_reset(claim_t *c)
{
    for (int i = 0; i < c->count; i++) {
        candidate_t *r = &c->rows[i];
        fg_buf_t *texts[] = {&r->url, &r->secret, &r->previous_secret, &r->event_id, &r->type, &r->payload};
        for (size_t k = 0; k < sizeof(texts) / sizeof(texts[0]); k++)
            fg_buf_free(texts[k]);
    }
    memset(c->taken, 0, sizeof(c->taken));
    c->count = 0;
    c->taken_count = 0;
}

static int read_due_endpoints(fg_db_t *db, claim_t *c, int64_t now)
{
    fg_stmt_t s;
    int64_t endpoint = 0, merchant = 0;
    int rc = fg_stmt_init(&s, db, SQL_DUE_ENDPOINTS), n = 0;
    if (rc != 0)
        return rc;
    fg_stmt_int(&s, now);
    fg_stmt_int(&s, FAIR_ENDPOINTS_MAX);
    fg_stmt_out_int(&s, &endpoint, NULL);
    fg_stmt_out_int(&s, &merchant, NULL);
    if ((rc = fg_stmt_exec(&s)) != 0)
        return rc;
    while (n < FAIR_ENDPOINTS_MAX && (rc = fg_stmt_fetch(&s)) == 1) {
        c->due_endpoint[n] = endpoint;
        c->due_merchant[n++] = merchant;
    }
    return rc < 0 ? rc : n;
}

/* The due-ordered read stopped at rows held back by a cap: a backlog at a
 * slow endpoint, or at a merchant's many endpoints, must not keep every
 * other endpoint's deliveries waiting behind it.  Takes a share from each
 * endpoint with due deliveries that the due-ordered read did not reach,
 * longest due first. */
static int claim_past_caps(fg_db_t *db, claim_t *c, int64_t now)
{
    int seen = c->count, reads = 0, taken = c->taken_count;
    int n = read_due_endpoints(db, c, now);
    if (n < 0)
        return n;
    for (int i = 0; i < n && c->taken_count < c->wanted; i++) {
        int reached = 0;
        for (int k = 0; k < seen && !reached; k++)
            reached = c->rows[k].endpoint_id == c->due_endpoint[i];
        int room = reached ? 0 : room_for(c->due_endpoint[i], c->due_merchant[i], c);
        if (room > FAIR_SHARE)
            room = FAIR_SHARE;
        if (room > c->wanted - c->taken_count)
            room = c->wanted - c->taken_count;
        if (room <= 0)
            continue;
        if (reads++ == FAIR_READS_MAX) {
            c->more = 1;
            break;
        }
        fg_stmt_t s;
        int rc = fg_stmt_init(&s, db, SQL_CLAIM_ENDPOINT), from = c->count;
        if (rc != 0)
            return rc;
        fg_stmt_int(&s, now);
        fg_stmt_int(&s, c->due_endpoint[i]);
        fg_stmt_int(&s, now);
        fg_stmt_int(&s, room);
        if ((rc = read_rows(&s, c, room)) < 0)
            return rc;
        for (int k = from; k < c->count; k++)
            c->taken[k] = 1;
        c->taken_count += rc;
        c->more |= rc == room; /* the endpoint may have more */
    }
    c->more |= n == FAIR_ENDPOINTS_MAX;
    if (c->taken_count == taken && n < FAIR_ENDPOINTS_MAX)
        c->fair_after = now + FAIR_IDLE_MS;
    return 0;
}

static int claim_tx(fg_db_t *db, void *arg)
{
    claim_t *c = arg;
    int64_t now = fg_now_ms();
    int capped = 0;
    claim_reset(c);
    fg_stmt_t s;
    int rc = fg_stmt_init(&s, db, SQL_CLAIM);
    if (rc != 0)
        return rc;
    fg_stmt_int(&s, now);
    fg_stmt_int(&s, now);
    fg_stmt_int(&s, CLAIM_CANDIDATES_MAX);
    if ((rc = read_rows(&s, c, CLAIM_CANDIDATES_MAX)) < 0)
        return rc;
    for (int i = 0; i < c->count && c->taken_count < c->wanted; i++) {
        if (room_for(c->rows[i].endpoint_id, c->rows[i].merchant_id, c) > 0) {
            c->taken[i] = 1;
            c->taken_count++;
        } else {
            capped++;
        }
    }
    c->more = c->taken_count < c->count || c->count == CLAIM_CANDIDATES_MAX;
    /* fewer rows than asked for: the read saw every sendable due row */
    int past = capped > 0 && c->taken_count < c->wanted && c->count == CLAIM_CANDIDATES_MAX && now >= c->fair_after;
    if (past && (rc = claim_past_caps(db, c, now)) != 0)
        return rc;
    if (c->taken_count == 0)
        return 0;
    int64_t first = 0;
    if ((rc = fg_stmt_init(&s, db, SQL_TAKE)) != 0)
        return rc;
    fg_stmt_int(&s, now + FG_WEBHOOK_LEASE_MS);
    fg_stmt_int(&s, now);
    int bound = 0;
    for (int i = 0; i < c->count; i++)
        if (c->taken[i]) {
            fg_stmt_int(&s, c->rows[i].id);
            if (bound++ == 0)
                first = c->rows[i].id;
        }
    for (; bound < CLAIM_BATCH_MAX; bound++)
        fg_stmt_int(&s, first);
    if ((rc = fg_stmt_exec(&s)) == 0 && fg_stmt_affected(&s) != (uint64_t)c->taken_count)
        rc = FG_ERETRY; /* cannot happen under our row locks; start over rather than guess */
    return rc;
}

/* Claims what fits in flight and starts it.  Returns how many started, or a
 * negative code. */
static int claim_and_start(fg_db_t *db, claim_t *c)
{
    c->wanted = INFLIGHT_MAX - worker.inflight_count;
    if (c->wanted > CLAIM_BATCH_MAX)
        c->wanted = CLAIM_BATCH_MAX;
    if (c->wanted <= 0)
        return 0;
    int rc = fg_db_tx(db, claim_tx, c), started = 0;
    for (int i = 0; rc == 0 && i < c->count; i++) {
        candidate_t *r = &c->rows[i];
        if (!c->taken[i])
            continue;
        transfer_t *t = fg_calloc(1, sizeof(*t));
        t->delivery_id = r->id;
        t->endpoint_id = r->endpoint_id;
        t->merchant_id = r->merchant_id;
        t->attempt = r->attempts + 1;
        t->created_at = r->created_at;
        t->event_created_at = r->event_created_at;
        t->event_row = r->event_row;
        t->order_id = r->order_id;
        t->order_null = r->order_null;
        t->failing_since = r->failing_since;
        t->failing_since_null = r->failing_since_null;
        fg_webhook_envelope(&t->body, r->event_id.data, r->type.data, r->event_created_at, r->payload.data,
                            r->payload.len);
        start_transfer(t, r->url.data, r->secret.data, r->previous_null ? NULL : r->previous_secret.data,
                       r->event_id.data);
        started++;
    }
    claim_reset(c);
    return rc != 0 ? rc : started;
}

/* ---- recording outcomes ------------------------------------------------------------- */

static int delivered(const transfer_t *t)
{
    return t->status >= 200 && t->status <= 299 &&
           (t->result == CURLE_OK || (t->result == CURLE_WRITE_ERROR && t->response_bytes > RESPONSE_READ_MAX));
}

static void describe_failure(const transfer_t *t, char *out, size_t cap)
{
    if (t->refused[0] != '\0')
        snprintf(out, cap, "refused to connect to %s (webhooks.allow_private is off)", t->refused);
    else if (t->result != CURLE_OK && t->status == 0)
        snprintf(out, cap, "%s%s%.200s", curl_easy_strerror(t->result), t->error[0] ? ": " : "", t->error);
    else
        snprintf(out, cap, "the receiver answered HTTP %ld", t->status);
}

static int bind_run(fg_db_t *db, const char *sql, const int64_t *ints, int n)
{
    fg_stmt_t s;
    int rc = fg_stmt_init(&s, db, sql);
    if (rc != 0)
        return rc;
    for (int i = 0; i < n; i++)
        fg_stmt_int(&s, ints[i]);
    return fg_stmt_exec(&s);
}

static int record_success(fg_db_t *db, transfer_t *t, int64_t now)
{
    fg_stmt_t s;
    int rc = fg_stmt_init(&s, db, SQL_DELIVERED);
    if (rc != 0)
        return rc;
    fg_stmt_int(&s, t->status);
    fg_stmt_blob(&s, t->response.data != NULL ? t->response.data : "", t->response.len);
    fg_stmt_int(&s, now);
    fg_stmt_int(&s, t->delivery_id);
    fg_stmt_int(&s, t->attempt);
    if ((rc = fg_stmt_exec(&s)) != 0 || fg_stmt_affected(&s) == 0)
        return rc; /* 0 rows: the lease ran out and the attempt is another's now */
    t->outcome = OUTCOME_DELIVERED;
    if (t->failing_since_null)
        return 0;
    /* the endpoint was failing and answers again */
    int64_t healthy[] = {t->endpoint_id};
    int64_t backlog[] = {now, t->endpoint_id, now, now - FG_WEBHOOK_INFLIGHT_MS};
    if ((rc = bind_run(db, SQL_HEALTHY, healthy, 1)) == 0)
        rc = bind_run(db, SQL_BACKLOG_DUE, backlog, 4);
    return rc;
}

static int record_failure(fg_db_t *db, transfer_t *t, int64_t now, const fg_config_t *cfg)
{
    char error[256];
    unsigned char jitter[2];
    if (fg_random_bytes(jitter, sizeof(jitter)) != 0)
        jitter[0] = jitter[1] = 0;
    int64_t delay = fg_webhook_retry_delay_ms(cfg->webhooks_retry_base_ms, (int)t->attempt,
                                              (int)(((unsigned)jitter[0] << 8 | jitter[1]) % 1001));
    int final = now + delay > t->created_at + FG_WEBHOOK_RETRY_WINDOW_MS;
    describe_failure(t, error, sizeof(error));
    fg_stmt_t s;
    int rc = fg_stmt_init(&s, db, final ? SQL_FAILED : SQL_RETRY);
    if (rc != 0)
        return rc;
    if (!final)
        fg_stmt_int(&s, now + delay);
    int64_t status = t->status;
    fg_stmt_int_or_null(&s, t->status > 0 ? &status : NULL);
    if (t->status > 0)
        fg_stmt_blob(&s, t->response.data != NULL ? t->response.data : "", t->response.len);
    else
        fg_stmt_null(&s);
    fg_stmt_cstr(&s, error);
    if (final)
        fg_stmt_int(&s, now);
    fg_stmt_int(&s, t->delivery_id);
    fg_stmt_int(&s, t->attempt);
    if ((rc = fg_stmt_exec(&s)) != 0 || fg_stmt_affected(&s) == 0)
        return rc;
    t->outcome = final ? OUTCOME_FAILED : OUTCOME_RETRY;
    if (!final && !t->order_null) {
        int64_t park[] = {now + delay,  t->endpoint_id, t->order_id,
                          t->event_row, now + delay,    now - FG_WEBHOOK_INFLIGHT_MS};
        if ((rc = bind_run(db, SQL_PARK_BEHIND, park, 6)) != 0)
            return rc;
    }
    if (t->failing_since_null) {
        int64_t failing[] = {now, t->endpoint_id};
        return bind_run(db, SQL_FAILING, failing, 2);
    }
    if (t->failing_since > now - FG_WEBHOOK_RETRY_WINDOW_MS)
        return 0;
    /* failing for 3 days: disabled, its deliveries parked until re-enabled */
    int64_t disable[] = {now, t->endpoint_id, now - FG_WEBHOOK_RETRY_WINDOW_MS};
    fg_stmt_t d;
    if ((rc = fg_stmt_init(&d, db, SQL_DISABLE)) != 0)
        return rc;
    for (int i = 0; i < 3; i++)
        fg_stmt_int(&d, disable[i]);
    if ((rc = fg_stmt_exec(&d)) != 0 || fg_stmt_affected(&d) == 0)
        return rc;
    fg_log_t l;
    fg_log_begin(&l, FG_LOG_WARN, "webhook endpoint disabled after failing for 3 days");
    fg_log_int(&l, "endpoint", t->endpoint_id);
    fg_log_end(&l);
    return fg_endpoint_park_deliveries(db, t->endpoint_id, 1, now);
}

typedef struct {
    transfer_t *done;
    const fg_config_t *cfg;
    int64_t now;
} record_t;

static int record_tx(fg_db_t *db, void *arg)
{
    record_t *r = arg;
    int rc = 0;
    for (transfer_t *t = r->done; t != NULL; t = t->next)
        t->outcome = OUTCOME_NONE; /* a re-run starts over */
    for (transfer_t *t = r->done; t != NULL && rc == 0; t = t->next)
        rc = delivered(t) ? record_success(db, t, r->now) : record_failure(db, t, r->now, r->cfg);
    return rc;
}

/* Records every finished transfer in one transaction, then updates the
 * metrics and frees them.  When that transaction fails (a lock wait past its
 * retries, say), each transfer is recorded in one of its own, so that one
 * outcome that cannot be recorded does not send every other again.  Outcomes
 * that cannot be recorded are left to their leases: the attempt is made
 * again, as at-least-once requires. */
static void record_finished(fg_db_t *db, transfer_t *done)
{
    if (done == NULL)
        return;
    record_t r = {done, worker.cfg, fg_now_ms()};
    int rc = fg_db_tx(db, record_tx, &r);
    for (transfer_t *t = done; t != NULL; t = t->next)
        t->recorded = rc == 0;
    if (rc != 0 && done->next != NULL) {
        log_db("recording delivery outcomes together; each alone now", db, rc);
        for (transfer_t *t = done; t != NULL;) {
            transfer_t *next = t->next;
            t->next = NULL;
            record_t one = {t, worker.cfg, r.now};
            int one_rc = fg_db_tx(db, record_tx, &one);
            t->recorded = one_rc == 0;
            if (one_rc != 0)
                log_db("recording a delivery outcome", db, one_rc);
            t->next = next;
            t = next;
        }
    } else if (rc != 0) {
        log_db("recording delivery outcomes", db, rc);
    }
    while (done != NULL) {
        transfer_t *next = done->next;
        if (done->recorded && done->outcome == OUTCOME_DELIVERED)
            fg_metrics_webhook_delivered(r.now - done->event_created_at);
        else if (done->recorded && done->outcome == OUTCOME_FAILED)
            fg_metrics_webhook_failed();
        else if (done->recorded && done->outcome == OUTCOME_RETRY)
            fg_metrics_webhook_retried();
        transfer_free(done);
        done = next;
    }
}

/* Takes finished transfers off the multi handle and the in-flight list. */
static transfer_t *collect_finished(void)
{
    transfer_t *done = NULL;
    CURLMsg *msg;
    int left;
    while ((msg = curl_multi_info_read(worker.multi, &left)) != NULL) {
        if (msg->msg != CURLMSG_DONE)
            continue;
        transfer_t *t = NULL;
        curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&t);
        t->result = msg->data.result;
        curl_easy_getinfo(msg->easy_handle, CURLINFO_RESPONSE_CODE, &t->status);
        curl_multi_remove_handle(worker.multi, msg->easy_handle);
        for (transfer_t **p = &worker.inflight; *p != NULL; p = &(*p)->next)
            if (*p == t) {
                *p = t->next;
                break;
            }
        worker.inflight_count--;
        t->next = done;
        done = t;
    }
    return done;
}

/* ---- the delivery thread ------------------------------------------------------------- */

static void refresh_gauge(fg_db_t *db)
{
    fg_stmt_t s;
    int64_t n = 0;
    if (fg_stmt_init(&s, db, SQL_PENDING) == 0) {
        fg_stmt_out_int(&s, &n, NULL);
        if (fg_stmt_exec(&s) == 0 && fg_stmt_fetch(&s) == 1)
            fg_metrics_webhook_pending(n);
        fg_stmt_done(&s);
    }
    fg_db_end(db);
}

typedef struct {
    transfer_t *list;
    int64_t now;
} release_t;

static int release_tx(fg_db_t *db, void *arg)
{
    release_t *r = arg;
    int rc = 0;
    for (transfer_t *t = r->list; t != NULL && rc == 0; t = t->next) {
        fg_stmt_t s;
        if ((rc = fg_stmt_init(&s, db, SQL_RELEASE)) != 0)
            break;
        fg_stmt_int(&s, r->now);
        fg_stmt_cstr(&s, "the attempt was cut short by a shutdown");
        fg_stmt_int(&s, t->delivery_id);
        fg_stmt_int(&s, t->attempt);
        rc = fg_stmt_exec(&s);
    }
    return rc;
}

/* Shutdown: lets attempts in flight finish for STOP_GRACE_MS, then aborts
 * the rest and gives their leases back (due now, for any instance).  An
 * aborted attempt may have reached the receiver: the next one carries the
 * next attempt number, never the same one. */
static void drain(fg_db_t *db)
{
    int64_t deadline = fg_now_ms() + STOP_GRACE_MS;
    while (worker.inflight_count > 0 && fg_now_ms() < deadline) {
        int running = 0;
        curl_multi_perform(worker.multi, &running);
        record_finished(db, collect_finished());
        if (worker.inflight_count > 0)
            curl_multi_poll(worker.multi, NULL, 0, 50, NULL);
    }
    if (worker.inflight == NULL)
        return;
    for (transfer_t *t = worker.inflight; t != NULL; t = t->next)
        curl_multi_remove_handle(worker.multi, t->easy);
    release_t r = {worker.inflight, fg_now_ms()};
    int rc = fg_db_tx(db, release_tx, &r);
    if (rc != 0)
        log_db("giving back leases at shutdown (they expire by themselves)", db, rc);
    while (worker.inflight != NULL) {
        transfer_t *next = worker.inflight->next;
        transfer_free(worker.inflight);
        worker.inflight = next;
    }
    worker.inflight_count = 0;
}

static void *dispatch_main(void *arg)
{
    fg_db_t *db = NULL;
    char err[256];
    claim_t *claim = fg_calloc(1, sizeof(*claim));
    int64_t next_claim = 0, next_gauge = 0;
    int failing = 0;
    mysql_thread_init();
    if (fg_db_open(&db, worker.cfg, err, sizeof(err)) != 0) {
        /* reconnected by fg_db_ensure on every turn */
    }
    int more_due = 0; /* the last claim left due deliveries behind */
    while (!atomic_load(&worker.stop)) {
        int64_t now = fg_now_ms();
        if (atomic_exchange(&worker.wake_pending, 0))
            next_claim = now;
        if (now >= next_claim && worker.inflight_count < INFLIGHT_MAX) {
            int n = claim_and_start(db, claim);
            if (n < 0 && !failing)
                log_db("claiming deliveries", db, n);
            failing = n < 0;
            more_due = n >= 0 && claim->more;
            /* more due and room for it: go again at once; otherwise when an
             * attempt ends (below), or after the idle pause */
            next_claim = more_due && n > 0 && worker.inflight_count < INFLIGHT_MAX
                             ? now
                             : now + (n < 0 ? 10 * CLAIM_IDLE_MS : CLAIM_IDLE_MS);
        }
        int running = 0;
        curl_multi_perform(worker.multi, &running);
        transfer_t *done = collect_finished();
        if (done != NULL && more_due)
            next_claim = now; /* slots freed for work that is waiting */
        record_finished(db, done);
        if (now >= next_gauge) {
            refresh_gauge(db);
            next_gauge = now + GAUGE_INTERVAL_MS;
        }
        int64_t wait = next_claim - fg_now_ms();
        if (worker.inflight_count >= INFLIGHT_MAX || wait > CLAIM_IDLE_MS)
            wait = CLAIM_IDLE_MS;
        if (wait > 0)
            curl_multi_poll(worker.multi, NULL, 0, (int)wait, NULL);
    }
    drain(db);
    claim_reset(claim);
    free(claim);
    fg_db_close(db);
    mysql_thread_end();
    return NULL;
}

/* ---- start and stop -------------------------------------------------------------------- */

/* The request threads may wake the worker (fg_webhooks_wake) at any time:
 * the handle goes under the lock they take. */
static void drop_multi(void)
{
    pthread_mutex_lock(&worker.multi_mutex);
    curl_multi_cleanup(worker.multi);
    worker.multi = NULL;
    pthread_mutex_unlock(&worker.multi_mutex);
}

int fg_webhooks_start(const fg_config_t *cfg, fg_settle_shared_t *settle, int events_mark)
{
    if (worker.started)
        return 0;
    /* libcurl's global state is set up by main() (fg_http_client_init). */
    worker.cfg = cfg;
    worker.settle = settle;
    worker.events_mark = events_mark;
    atomic_store(&worker.stop, 0);
    pthread_mutex_lock(&worker.multi_mutex);
    worker.multi = curl_multi_init();
    pthread_mutex_unlock(&worker.multi_mutex);
    if (worker.multi == NULL)
        return FG_EIO;
    if (pthread_create(&worker.dispatch_thread, NULL, dispatch_main, NULL) != 0) {
        drop_multi();
        return FG_EIO;
    }
    if (pthread_create(&worker.fanout_thread, NULL, fanout_main, NULL) != 0) {
        atomic_store(&worker.stop, 1);
        fg_webhooks_wake();
        pthread_join(worker.dispatch_thread, NULL);
        drop_multi();
        return FG_EIO;
    }
    worker.started = 1;
    return 0;
}

void fg_webhooks_stop(void)
{
    if (!worker.started)
        return;
    atomic_store(&worker.stop, 1);
    fg_webhooks_wake();
    pthread_join(worker.fanout_thread, NULL);
    pthread_join(worker.dispatch_thread, NULL);
    drop_multi();
    worker.started = 0;
}
