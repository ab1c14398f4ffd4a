/*
 * test_db.c - the database layer on the private MariaDB: deferred inserts
 * (multi-row INSERTs sent at COMMIT, parents before children) and group
 * commit (a member's failure never touches the others' outcome).
 */
#include <check.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/ids.h"
#include "core/text.h"
#include "db/db.h"
#include "db/group.h"
#include "harness.h"
#include "http/http.h"
#include "ledger/ledger.h"

static fg_config_t cfg;

static fg_db_t *open_db(void) { return fgt_db_open(&cfg); }

static void setup(void) { fgt_config_load(&cfg); }

static void teardown(void) { fg_config_free(&cfg); }

static long long count_memo(const char *prefix)
{
    char like[128];
    snprintf(like, sizeof(like), "%s%%", prefix);
    return fgt_db_int("SELECT COUNT(*) FROM journals WHERE memo LIKE ?", like, NULL);
}

static long long count_entries(const char *prefix)
{
    char like[128];
    snprintf(like, sizeof(like), "%s%%", prefix);
    return fgt_db_int("SELECT COUNT(*) FROM ledger_entries e JOIN journals j ON j.id = e.journal_id "
                      "WHERE j.memo LIKE ?",
                      like, NULL);
}

/* ---- a transaction that posts n balanced receipt journals ---------------- */

typedef struct {
    const char *prefix;
    int journals;
    int visible_before_commit; /* journals of prefix the transaction itself saw before COMMIT */
    int fail;                  /* return 1 after posting: roll back */
} post_t;

static int post_tx(fg_db_t *db, void *arg)
{
    post_t *p = arg;
    for (int i = 0; i < p->journals; i++) {
        char memo[128];
        snprintf(memo, sizeof(memo), "%s-%d", p->prefix, i);
        fg_journal_t j = {.kind = "receipt", .memo = memo};
        fg_journal_add(&j, "assets:clearing:dbtest", 0, "VND", 1000 + i);
        fg_journal_add(&j, "liabilities:unapplied", 0, "VND", -(1000 + i) + 7);
        fg_journal_add(&j, "income:dbtest", 0, "VND", -7);
        int rc = fg_ledger_post(db, &j, 1, NULL);
        if (rc != 0)
            return rc;
    }
    fg_stmt_t s;
    int64_t seen = 0;
    char like[128];
    snprintf(like, sizeof(like), "%s%%", p->prefix);
    int rc = fg_stmt_init(&s, db, "SELECT COUNT(*) FROM journals WHERE memo LIKE ?");
    if (rc != 0)
        return rc;
    fg_stmt_cstr(&s, like);
    fg_stmt_out_int(&s, &seen, NULL);
    if ((rc = fg_stmt_exec(&s)) != 0 || (rc = fg_stmt_fetch(&s)) < 0)
        return rc;
    fg_stmt_done(&s);
    p->visible_before_commit = (int)seen;
    return p->fail ? 1 : 0;
}

/* Deferred: nothing reaches MariaDB before COMMIT; then every journal and
 * entry, each entry under its own journal, in more rows than one statement
 * takes (chunks). */
START_TEST(deferred_rows_arrive_at_commit)
{
    fg_db_t *db = open_db();
    post_t p = {fgt_unique("dfr"), 37, -1, 0};
    fg_db_defer(db, 1);
    ck_assert_int_eq(fg_db_tx(db, post_tx, &p), 0);
    fg_db_defer(db, 0);
    ck_assert_int_eq(p.visible_before_commit, 0);
    ck_assert_int_eq(count_memo(p.prefix), 37);
    ck_assert_int_eq(count_entries(p.prefix), 37 * 3);
    /* each journal's entries are its own: they sum to zero and carry its amount */
    char like[128];
    snprintf(like, sizeof(like), "%s-%%", p.prefix);
    ck_assert_int_eq(fgt_db_int("SELECT COUNT(*) FROM (SELECT j.id, j.memo FROM journals j JOIN ledger_entries e ON "
                                "e.journal_id = j.id WHERE j.memo LIKE ? GROUP BY j.id, j.memo HAVING SUM(e.amount) "
                                "= 0 AND MAX(e.amount) = 1000 + CAST(SUBSTRING_INDEX(j.memo, '-', -1) AS SIGNED)) t",
                                like, NULL),
                     37);
    ck_assert_int_eq(fgt_ledger_check(), 0);
    fg_db_close(db);
}
END_TEST

/* Not deferring, the same work is visible inside the transaction at once. */
START_TEST(immediate_rows_are_visible_at_once)
{
    fg_db_t *db = open_db();
    post_t p = {fgt_unique("imm"), 3, -1, 0};
    ck_assert_int_eq(fg_db_tx(db, post_tx, &p), 0);
    ck_assert_int_eq(p.visible_before_commit, 3);
    ck_assert_int_eq(count_entries(p.prefix), 9);
    fg_db_close(db);
}
END_TEST

/* A rolled-back deferring transaction leaves nothing, and nothing of it
 * leaks into the next transaction on the connection. */
START_TEST(rollback_discards_queued_rows)
{
    fg_db_t *db = open_db();
    post_t failed = {fgt_unique("rbk"), 5, -1, 1};
    fg_db_defer(db, 1);
    ck_assert_int_eq(fg_db_tx(db, post_tx, &failed), 1);
    post_t next = {fgt_unique("nxt"), 2, -1, 0};
    ck_assert_int_eq(fg_db_tx(db, post_tx, &next), 0);
    fg_db_defer(db, 0);
    ck_assert_int_eq(count_memo(failed.prefix), 0);
    ck_assert_int_eq(count_memo(next.prefix), 2);
    ck_assert_int_eq(count_entries(next.prefix), 6);
    fg_db_close(db);
}
END_TEST

/* ---- duplicates among deferred rows -------------------------------------- */

/* merchant 0 is no merchant: no list of a real one shows these */
static fg_db_table_t EVENTS =
    FG_DB_TABLE("INSERT INTO events (public_id, merchant_id, type, order_id, payload, created_at) VALUES ",
                "(?, ?, ?, ?, ?, ?)", 6, 0, 30);

typedef struct {
    const char *ids[4];
    int count;
} events_t;

static int events_tx(fg_db_t *db, void *arg)
{
    events_t *e = arg;
    for (int i = 0; i < e->count; i++) {
        fg_db_value_t v[] = {fg_db_cstr(e->ids[i]), FG_DB_INT(0),       fg_db_cstr("test.event"),
                             FG_DB_NULLV,           FG_DB_STR("{}", 2), FG_DB_INT(1)};
        int rc = fg_db_insert(db, &EVENTS, v, 1, NULL);
        if (rc != 0)
            return rc;
    }
    return 0;
}

static long long event_count(const char *id)
{
    return fgt_db_int("SELECT COUNT(*) FROM events WHERE public_id = ?", id, NULL);
}

/* A deferred row whose key exists fails the COMMIT with FG_ECONFLICT, and
 * the rows queued with it are not written either. */
START_TEST(duplicate_key_fails_the_commit_whole)
{
    char a[FG_ID_CAP], b[FG_ID_CAP], c[FG_ID_CAP];
    ck_assert_int_ge(fg_id_new("evt_", a, sizeof(a)), 0);
    ck_assert_int_ge(fg_id_new("evt_", b, sizeof(b)), 0);
    ck_assert_int_ge(fg_id_new("evt_", c, sizeof(c)), 0);
    fg_db_t *db = open_db();
    events_t first = {{a}, 1};
    ck_assert_int_eq(fg_db_tx(db, events_tx, &first), 0);
    events_t again = {{b, a, c}, 3};
    fg_db_defer(db, 1);
    ck_assert_int_eq(fg_db_tx(db, events_tx, &again), FG_ECONFLICT);
    fg_db_defer(db, 0);
    ck_assert_int_eq(event_count(a), 1);
    ck_assert_int_eq(event_count(b), 0);
    ck_assert_int_eq(event_count(c), 0);
    fg_db_close(db);
}
END_TEST

/* ---- group commit --------------------------------------------------------- */

#define GROUP_THREADS 12
#define GROUP_ROUNDS 20
static fg_db_group_t test_group = FG_DB_GROUP_INIT("test", 2, 8);
static char shared_id[FG_ID_CAP];

typedef struct {
    int index;
    int ok, conflicts, other;
    char ids[GROUP_ROUNDS][FG_ID_CAP];
} worker_t;

static void *group_worker(void *arg)
{
    worker_t *w = arg;
    fg_db_t *db = open_db();
    for (int r = 0; r < GROUP_ROUNDS; r++) {
        events_t e = {{w->ids[r]}, 1};
        if (w->index == 0 && r == GROUP_ROUNDS / 2)
            e.ids[0] = shared_id; /* exists already: this one member must fail alone */
        int rc = fg_db_group_tx(&test_group, db, events_tx, &e);
        if (rc == 0)
            w->ok++;
        else if (rc == FG_ECONFLICT)
            w->conflicts++;
        else
            w->other++;
    }
    fg_db_close(db);
    return NULL;
}

/* Twelve workers write through one group (2 leaders x 8 members): every
 * event is written once, and the one duplicate fails only its own member. */
START_TEST(group_members_fail_alone)
{
    static worker_t w[GROUP_THREADS];
    pthread_t t[GROUP_THREADS];
    ck_assert_int_ge(fg_id_new("evt_", shared_id, sizeof(shared_id)), 0);
    fg_db_t *db = open_db();
    events_t seed = {{shared_id}, 1};
    ck_assert_int_eq(fg_db_tx(db, events_tx, &seed), 0);
    fg_db_close(db);
    for (int i = 0; i < GROUP_THREADS; i++) {
        memset(&w[i], 0, sizeof(w[i]));
        w[i].index = i;
        for (int r = 0; r < GROUP_ROUNDS; r++)
            ck_assert_int_ge(fg_id_new("evt_", w[i].ids[r], FG_ID_CAP), 0);
        ck_assert_int_eq(pthread_create(&t[i], NULL, group_worker, &w[i]), 0);
    }
    int ok = 0, conflicts = 0, other = 0;
    for (int i = 0; i < GROUP_THREADS; i++) {
        pthread_join(t[i], NULL);
        ok += w[i].ok;
        conflicts += w[i].conflicts;
        other += w[i].other;
    }
    ck_assert_int_eq(conflicts, 1);
    ck_assert_int_eq(other, 0);
    ck_assert_int_eq(ok, GROUP_THREADS * GROUP_ROUNDS - 1);
    for (int i = 0; i < GROUP_THREADS; i++)
        for (int r = 0; r < GROUP_ROUNDS; r++)
            if (!(i == 0 && r == GROUP_ROUNDS / 2))
                ck_assert_int_eq(event_count(w[i].ids[r]), 1);
    ck_assert_int_eq(event_count(shared_id), 1);
    /* the group's counters for /metrics: shared transactions of two works or more */
    fg_buf_t text = FG_BUF_INIT;
    fg_db_groups_render(&text);
    unsigned long long shared = 0, works = 0;
    const char *at = strstr(text.data, "feegate_db_group_transactions_total{group=\"test\"} ");
    ck_assert_msg(at != NULL && sscanf(strchr(at, ' '), "%llu", &shared) == 1, "%s", text.data);
    at = strstr(text.data, "feegate_db_group_works_total{group=\"test\"} ");
    ck_assert_msg(at != NULL && sscanf(strchr(at, ' '), "%llu", &works) == 1, "%s", text.data);
    ck_assert_msg(shared > 0 && works >= 2 * shared && works <= (unsigned long long)(GROUP_THREADS * GROUP_ROUNDS),
                  "%llu shared transactions of %llu works", shared, works);
    fg_buf_free(&text);
}
END_TEST

/* ---- a COMMIT lost in flight ---------------------------------------------- */

/* The connection is killed as its COMMIT goes out (fg_db_commit_fault): the
 * client cannot tell whether the transaction committed.  Its works must not
 * run again (a refund reserved twice, an order created twice): each member
 * hears FG_EUNAVAILABLE and fg_db_commit_unknown says why. */
static fg_db_group_t lost_group = FG_DB_GROUP_INIT("lost", 1, 8);
static atomic_int lost_runs, lost_armed;
static _Atomic unsigned long long lost_connection;

static void kill_at_commit(fg_db_t *db)
{
    if (!atomic_exchange(&lost_armed, 0))
        return;
    char sql[64];
    snprintf(sql, sizeof(sql), "KILL CONNECTION %llu", (unsigned long long)atomic_load(&lost_connection));
    int rc = fg_db_exec_text(db, sql, strlen(sql)); /* the connection kills itself */
    ck_assert_int_ne(rc, 0);
}

/* A work of the lost transaction: counts its runs and arms the kill. */
static int lost_tx(fg_db_t *db, void *arg)
{
    (void)arg;
    fg_stmt_t s;
    int64_t id = 0;
    int rc = fg_stmt_init(&s, db, "SELECT CONNECTION_ID()");
    if (rc != 0)
        return rc;
    fg_stmt_out_int(&s, &id, NULL);
    if ((rc = fg_stmt_one(&s)) != 0)
        return rc;
    atomic_store(&lost_connection, (unsigned long long)id);
    atomic_fetch_add(&lost_runs, 1);
    atomic_store(&lost_armed, 1);
    return 0;
}

/* Holds the group's one leader slot while two works queue behind it. */
static int hold_tx(fg_db_t *db, void *arg)
{
    (void)db;
    (void)arg;
    fgt_sleep_ms(1000);
    return 0;
}

typedef struct {
    fg_db_tx_fn fn;
    int rc, unknown;
} lost_worker_t;

static void *lost_worker(void *arg)
{
    lost_worker_t *w = arg;
    fg_db_t *db = open_db();
    w->rc = fg_db_group_tx(&lost_group, db, w->fn, NULL);
    w->unknown = fg_db_commit_unknown(db);
    fg_db_close(db);
    return NULL;
}

START_TEST(a_commit_lost_in_flight_runs_no_work_again)
{
    fg_db_commit_fault = kill_at_commit;
    /* a shared transaction of two members */
    atomic_store(&lost_runs, 0);
    lost_worker_t w[3] = {{hold_tx, -1, 0}, {lost_tx, -1, 0}, {lost_tx, -1, 0}};
    pthread_t t[3];
    ck_assert_int_eq(pthread_create(&t[0], NULL, lost_worker, &w[0]), 0);
    fgt_sleep_ms(200);
    for (int i = 1; i < 3; i++)
        ck_assert_int_eq(pthread_create(&t[i], NULL, lost_worker, &w[i]), 0);
    for (int i = 0; i < 3; i++)
        pthread_join(t[i], NULL);
    ck_assert_int_eq(w[0].rc, 0);
    int runs = atomic_load(&lost_runs);
    ck_assert_int_eq(runs, 2); /* once each, in the one transaction */
    for (int i = 1; i < 3; i++) {
        ck_assert_int_eq(w[i].rc, FG_EUNAVAILABLE);
        ck_assert_int_eq(w[i].unknown, 1);
    }
    /* a set with a one-by-one form: the one-by-one form does not run */
    fg_db_t *db = open_db();
    atomic_store(&lost_runs, 0);
    int each = -1;
    ck_assert_int_eq(fg_db_tx_set_or_each(db, lost_tx, lost_tx, NULL, &each), FG_EUNAVAILABLE);
    ck_assert_int_eq(each, 0);
    runs = atomic_load(&lost_runs);
    ck_assert_int_eq(runs, 1);
    ck_assert_int_eq(fg_db_commit_unknown(db), 1);
    /* the connection is opened again, and the next transaction knows its outcome */
    ck_assert_int_eq(fg_db_tx(db, hold_tx, NULL), 0);
    ck_assert_int_eq(fg_db_commit_unknown(db), 0);
    fg_db_close(db);
    fg_db_commit_fault = NULL;
}
END_TEST

/* A DECIMAL sum beyond int64 is refused, not clamped into a wrong figure;
 * the largest int64 itself reads back. */
START_TEST(a_sum_beyond_64_bits_is_an_error)
{
    fg_db_t *db = open_db();
    fg_stmt_t s;
    int64_t v = 0;
    ck_assert_int_eq(fg_stmt_init(&s, db, "SELECT CAST(9223372036854775807 AS DECIMAL(30,0)) + ?"), 0);
    fg_stmt_int(&s, 1);
    fg_stmt_out_int(&s, &v, NULL);
    ck_assert_int_eq(fg_stmt_one(&s), FG_EOVERFLOW);
    fg_db_end(db);
    ck_assert_int_eq(fg_stmt_init(&s, db, "SELECT CAST(-9223372036854775808 AS DECIMAL(30,0)) - ?"), 0);
    fg_stmt_int(&s, 1);
    fg_stmt_out_int(&s, &v, NULL);
    ck_assert_int_eq(fg_stmt_one(&s), FG_EOVERFLOW);
    fg_db_end(db);
    ck_assert_int_eq(fg_stmt_init(&s, db, "SELECT CAST(9223372036854775806 AS DECIMAL(30,0)) + ?"), 0);
    fg_stmt_int(&s, 1);
    fg_stmt_out_int(&s, &v, NULL);
    ck_assert_int_eq(fg_stmt_one(&s), 0);
    ck_assert(v == INT64_MAX);
    fg_db_end(db);
    fg_db_close(db);
}
END_TEST

/* The connection's id; 0 when the statement failed (a lost connection). */
static int64_t connection_id(fg_db_t *db)
{
    fg_stmt_t s;
    int64_t id = 0;
    if (fg_stmt_init(&s, db, "SELECT CONNECTION_ID()") == 0) {
        fg_stmt_out_int(&s, &id, NULL);
        if (fg_stmt_one(&s) != 0)
            id = 0;
    }
    fg_db_end(db);
    return id;
}

/* The read server's connection stays read-only when it is opened again. */
START_TEST(the_reader_stays_read_only_after_a_reconnect)
{
    ck_assert_msg(cfg.db_socket[0] != '\0', "the suite runs on a socket");
    char *saved = cfg.db_read_socket;
    cfg.db_read_socket = cfg.db_socket; /* the same server, as a read server */
    fg_db_t *db = open_db();
    fg_db_t *r = fg_db_reader(db);
    ck_assert_ptr_ne(r, db);
    int64_t first = connection_id(r);
    ck_assert_int_gt(first, 0);
    for (int round = 0; round < 2; round++) {
        fg_stmt_t s;
        int rc = fg_stmt_init(&s, r, "UPDATE merchants SET name = name WHERE id = 0");
        if (rc == 0)
            rc = fg_stmt_exec(&s);
        ck_assert_msg(rc != 0, "round %d: a write went through on the reader", round); /* the session is read-only */
        fg_db_end(r);
        if (round == 0) { /* killed: the next statement fails, and the one after opens another connection */
            char sql[64];
            snprintf(sql, sizeof(sql), "KILL CONNECTION %lld", (long long)first);
            ck_assert_int_eq(fg_db_exec_text(db, sql, strlen(sql)), 0);
            fg_db_end(db);
            int64_t next = connection_id(r);
            if (next == 0)
                next = connection_id(r);
            ck_assert_int_gt(next, 0);
            ck_assert_int_ne(next, first);
        }
    }
    fg_db_close(db);
    cfg.db_read_socket = saved;
}
END_TEST

/* ---- an Idempotency-Key whose lease ran out -------------------------------- */

typedef struct {
    fg_call_t *call;
    int64_t now;
    const char *answer; /* finish with it; NULL: begin */
} idem_step_t;

static int idem_step_tx(fg_db_t *db, void *arg)
{
    idem_step_t *st = arg;
    if (st->answer == NULL)
        return fg_idem_begin(db, st->call, st->now);
    fg_buf_t body = FG_BUF_INIT;
    fg_buf_puts(&body, st->answer);
    int rc = fg_idem_finish(db, st->call, 201, &body);
    fg_buf_free(&body);
    return rc;
}

/* Request A holds a key running past its lease; B takes the key over (the
 * expired row freed) and runs.  A's late finish must not store its answer
 * under B's row, and B's must. */
START_TEST(a_late_finish_leaves_the_key_to_who_took_it_over)
{
    static fg_call_t a, b;
    char key[64];
    snprintf(key, sizeof(key), "%s", fgt_unique("lease"));
    fg_call_t *calls[] = {&a, &b};
    for (int i = 0; i < 2; i++) {
        memset(calls[i], 0, sizeof(*calls[i]));
        snprintf(calls[i]->idem_scope, sizeof(calls[i]->idem_scope), "test:lease");
        calls[i]->idem_key = key;
        calls[i]->idem_key_len = strlen(key);
        memset(calls[i]->fingerprint, 7, sizeof(calls[i]->fingerprint));
    }
    fg_db_t *db = open_db();
    int64_t t0 = fg_now_ms();
    idem_step_t begin_a = {&a, t0, NULL};
    ck_assert_int_eq(fg_db_tx(db, idem_step_tx, &begin_a), 0);
    /* A's lease runs out; B frees the row and takes the key */
    fgt_db_exec("UPDATE idempotency_keys SET expires_at = 0 WHERE idem_key = ?", key);
    fgt_db_exec("DELETE FROM idempotency_keys WHERE idem_key = ? AND expires_at = 0", key);
    idem_step_t begin_b = {&b, t0 + 1, NULL};
    ck_assert_int_eq(fg_db_tx(db, idem_step_tx, &begin_b), 0);
    idem_step_t finish_a = {&a, 0, "{\"from\":\"a\"}"};
    ck_assert_int_eq(fg_db_tx(db, idem_step_tx, &finish_a), 0);
    ck_assert_int_eq(a.idem_stored, 0);
    ck_assert_int_eq(a.idem_lost, 1); /* A keeps its own answer: it is not stored again under B's key */
    ck_assert_int_eq(fgt_db_int("SELECT COUNT(*) FROM idempotency_keys WHERE idem_key = ? AND state = 'running'", key,
                                NULL),
                     1);
    idem_step_t finish_b = {&b, 0, "{\"from\":\"b\"}"};
    ck_assert_int_eq(fg_db_tx(db, idem_step_tx, &finish_b), 0);
    ck_assert_int_eq(b.idem_stored, 1);
    ck_assert_int_eq(fgt_db_int("SELECT COUNT(*) FROM idempotency_keys WHERE idem_key = ? AND state = 'done' AND "
                                "response_body = '{\"from\":\"b\"}'",
                                key, NULL),
                     1);
    fg_db_close(db);
}
END_TEST

static Suite *db_suite(void)
{
    Suite *s = suite_create("db");
    TCase *tc = tcase_create("db");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, deferred_rows_arrive_at_commit);
    tcase_add_test(tc, immediate_rows_are_visible_at_once);
    tcase_add_test(tc, rollback_discards_queued_rows);
    tcase_add_test(tc, duplicate_key_fails_the_commit_whole);
    tcase_add_test(tc, group_members_fail_alone);
    tcase_add_test(tc, a_commit_lost_in_flight_runs_no_work_again);
    tcase_add_test(tc, a_sum_beyond_64_bits_is_an_error);
    tcase_add_test(tc, the_reader_stays_read_only_after_a_reconnect);
    tcase_add_test(tc, a_late_finish_leaves_the_key_to_who_took_it_over);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    mysql_library_init(0, NULL, NULL);
    int failed = fgt_run(db_suite());
    mysql_library_end();
    return failed;
}
