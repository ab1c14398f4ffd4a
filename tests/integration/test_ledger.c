/*
 * test_ledger.c - balance checkpoints on the private MariaDB, driven without
 * HTTP: a checkpoint covers exactly the entries it summed, whatever order
 * ids and stamps were handed out in; rebuilds and the 0006 migration repair
 * wrong checkpoints by appending, never by editing.  `feegate migrate`
 * refuses a schema directory it cannot apply whole.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/text.h"
#include "db/db.h"
#include "db/migrate.h"
#include "db/settle.h"
#include "harness.h"
#include "ledger/ledger.h"

static fg_config_t cfg;

static fg_db_t *open_db(void) { return fgt_db_open(&cfg); }

static void setup(void) { fgt_config_load(&cfg); }

static void teardown(void) { fg_config_free(&cfg); }

/* A receipt of amount on clearing:<tag>, owed to unapplied:<tag>, stamped at_ms. */
static int post(fg_db_t *db, const char *tag, int64_t amount, int64_t at_ms)
{
    char clearing[128], owed[128];
    snprintf(clearing, sizeof(clearing), "assets:clearing:%s", tag);
    snprintf(owed, sizeof(owed), "liabilities:cut:%s", tag);
    fg_journal_t j = {.kind = "receipt", .memo = tag};
    fg_journal_add(&j, clearing, 0, "VND", amount);
    fg_journal_add(&j, owed, 0, "VND", -amount);
    return fg_ledger_post(db, &j, at_ms, NULL);
}

typedef struct {
    const char *tag;
    int64_t amount, at_ms;
} post_arg_t;

static int post_tx(fg_db_t *db, void *arg)
{
    post_arg_t *p = arg;
    return post(db, p->tag, p->amount, p->at_ms);
}

static int rollback_tx(fg_db_t *db, void *arg)
{
    int rc = post_tx(db, arg);
    return rc != 0 ? rc : 1; /* a business refusal after the INSERTs: rolled back */
}

static long long account_id(const char *code)
{
    return fgt_db_int("SELECT id FROM ledger_accounts WHERE code = ? AND currency = 'VND'", code, NULL);
}

/* The account's balance from fg_ledger_balance (debit-normal: an asset). */
static long long balance_at(fg_db_t *db, const char *code, int64_t at_ms)
{
    int64_t b = 0;
    ck_assert_int_eq(fg_ledger_balance(db, account_id(code), FG_ACCOUNT_ASSET, at_ms, &b), 0);
    fg_db_end(db);
    return b;
}

static long long sum_upto(const char *code, int64_t at_ms)
{
    char at[32];
    snprintf(at, sizeof(at), "%lld", (long long)at_ms);
    return fgt_db_int("SELECT COALESCE(SUM(e.amount), 0) FROM ledger_entries e JOIN ledger_accounts a "
                      "ON a.id = e.account_id WHERE a.code = ? AND e.created_at <= ?",
                      code, at);
}

static long long newest_checkpoint(const char *code)
{
    return fgt_db_int("SELECT COALESCE(MAX(c.upto_entry_id), 0) FROM ledger_checkpoints c JOIN ledger_accounts a "
                      "ON a.id = c.account_id WHERE a.code = ? "
                      "AND c.epoch_id = (SELECT MAX(id) FROM ledger_checkpoint_epochs)",
                      code, NULL);
}

/* The entry of amount on code that db's own (uncommitted) transaction holds. */
static long long own_entry(fg_db_t *db, const char *code, int64_t amount)
{
    fg_stmt_t s;
    int64_t id = 0;
    ck_assert_int_eq(fg_stmt_init(&s, db,
                                  "SELECT MAX(e.id) FROM ledger_entries e JOIN ledger_accounts a "
                                  "ON a.id = e.account_id WHERE a.code = ? AND e.amount = ?"),
                     0);
    fg_stmt_cstr(&s, code);
    fg_stmt_int(&s, amount);
    fg_stmt_out_int(&s, &id, NULL);
    ck_assert_int_eq(fg_stmt_exec(&s), 0);
    ck_assert_int_eq(fg_stmt_fetch(&s), 1);
    fg_stmt_done(&s);
    return id;
}

/* One round of the checkpoint job, as the server runs it: a settle round,
 * then checkpoints up to the settled entry id. */
static int round_of(fg_db_t *db, fg_settle_queue_t *settle, fg_ledger_checkpointer_t *cp, int64_t now_ms)
{
    int rc = fg_settle_round(db, settle, now_ms);
    return rc != 0 ? rc : fg_ledger_checkpoint_round(db, cp, settle->settled[0], now_ms);
}

/* The defect this suite exists for: an entry with a lower id and a later
 * stamp is still uncommitted while a higher id with an old stamp commits.
 * No checkpoint may cover the lower id until it is final, and once covered
 * it must be in the sum; balances equal the sums of entries at every step,
 * now and at earlier times. */
START_TEST(ids_against_stamps_across_a_horizon)
{
    const char *tag = fgt_unique("cut");
    char code[128];
    snprintf(code, sizeof(code), "assets:clearing:%s", tag);
    int64_t now = fg_now_ms(), old = now - 10 * 60 * 1000;
    fg_db_t *late = open_db(), *early = open_db(), *job = open_db();
    fg_ledger_checkpointer_t cp = {0};
    fg_settle_queue_t settle = FG_SETTLE_QUEUE_INIT("SELECT COALESCE(MAX(id), 0) FROM ledger_entries", 1);

    /* the accounts exist first, so that "late" takes only entry ids below */
    post_arg_t seed = {tag, 5, old - 1000};
    ck_assert_int_eq(fg_db_tx(early, post_tx, &seed), 0);
    ck_assert_int_ge(round_of(job, &settle, &cp, now), 0);

    /* "late": stamped now, lower ids, held open */
    ck_assert_int_eq(post(late, tag, 700, now), 0);
    /* "early": stamped ten minutes ago, higher ids, committed; and one that
     * rolls back after taking ids (as a deadlock victim does) */
    post_arg_t committed = {tag, 30, old}, dropped = {tag, 999999, old};
    ck_assert_int_eq(fg_db_tx(early, rollback_tx, &dropped), 1);
    ck_assert_int_eq(fg_db_tx(early, post_tx, &committed), 0);
    long long late_entry = own_entry(late, code, 700);
    ck_assert_int_lt(late_entry, fgt_db_int("SELECT MAX(e.id) FROM ledger_entries e JOIN ledger_accounts a "
                                            "ON a.id = e.account_id WHERE a.code = ?",
                                            code, NULL));

    for (int round = 0; round < 3; round++) {
        ck_assert_int_ge(round_of(job, &settle, &cp, fg_now_ms()), 0);
        ck_assert_int_lt(newest_checkpoint(code), late_entry);
        ck_assert_int_eq(balance_at(job, code, -1), 35);
        ck_assert_int_eq(balance_at(job, code, old), 35);
        ck_assert_int_eq(balance_at(job, code, old - 1), 5);
    }
    ck_assert_int_eq(fgt_ledger_check(), 0);

    ck_assert_int_eq(fg_db_commit(late), 0);
    ck_assert_int_eq(balance_at(job, code, -1), 735);
    for (int round = 0; round < 2; round++)
        ck_assert_int_ge(round_of(job, &settle, &cp, fg_now_ms()), 0);
    ck_assert_int_gt(newest_checkpoint(code), late_entry);
    ck_assert_int_eq(fgt_db_int("SELECT c.entry_count FROM ledger_checkpoints c JOIN ledger_accounts a "
                                "ON a.id = c.account_id WHERE a.code = ? ORDER BY c.epoch_id DESC, "
                                "c.upto_entry_id DESC LIMIT 1",
                                code, NULL),
                     3);
    int64_t times[] = {-1, now, now - 1, old, old - 1, old - 1000, old - 1001};
    for (size_t i = 0; i < sizeof(times) / sizeof(times[0]); i++) {
        int64_t t = times[i] < 0 ? INT64_MAX / 2 : times[i];
        ck_assert_int_eq(balance_at(job, code, times[i]), sum_upto(code, t));
    }
    ck_assert_int_eq(balance_at(job, code, now - 1), 35);
    ck_assert_int_eq(balance_at(job, code, old - 1001), 0);
    ck_assert_int_eq(fgt_ledger_check(), 0);

    fg_settle_queue_free(&settle);
    fg_db_close(late);
    fg_db_close(early);
    fg_db_close(job);
}
END_TEST

/* Rounds that fail say since when to readers that do not wait for them,
 * and keep the marks proven before: once that has lasted, the fan-out lets
 * its gaps expire by age instead of holding every gap above a mark that no
 * longer moves. */
START_TEST(a_failing_round_is_told_and_the_proven_marks_kept)
{
    fg_db_t *job = open_db();
    fgt_db_exec("CREATE TABLE IF NOT EXISTS settle_failing (id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY)", NULL);
    fgt_db_exec("INSERT INTO settle_failing () VALUES ()", NULL);
    long long newest = fgt_db_int("SELECT MAX(id) FROM settle_failing", NULL, NULL);
    fg_settle_shared_t shared = FG_SETTLE_SHARED_INIT("SELECT COALESCE(MAX(id), 0) FROM settle_failing", 1);
    int64_t settled[FG_SETTLE_MARKS_MAX] = {0}, now = fg_now_ms();
    for (int round = 0; round < 10 && settled[0] < newest; round++) {
        now += FG_SETTLE_SHARED_INTERVAL_MS;
        ck_assert_int_eq(fg_settle_shared_poll(&shared, job, now, settled), 0);
        ck_assert_int_eq(fg_settle_shared_failing_ms(&shared, now), 0);
    }
    ck_assert_int_ge(settled[0], newest);

    fgt_db_exec("DROP TABLE settle_failing", NULL);
    now += FG_SETTLE_SHARED_INTERVAL_MS;
    int64_t began = now;
    ck_assert_int_ne(fg_settle_shared_poll(&shared, job, now, settled), 0);
    ck_assert_int_ge(settled[0], newest); /* the last proven, kept */
    now += FG_SETTLE_SHARED_INTERVAL_MS;
    ck_assert_int_ne(fg_settle_shared_poll(&shared, job, now, settled), 0);
    ck_assert_int_eq(fg_settle_shared_failing_ms(&shared, now + 500), now + 500 - began); /* since the first */

    fgt_db_exec("CREATE TABLE settle_failing (id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY)", NULL);
    now += FG_SETTLE_SHARED_INTERVAL_MS;
    ck_assert_int_eq(fg_settle_shared_poll(&shared, job, now, settled), 0);
    ck_assert_int_eq(fg_settle_shared_failing_ms(&shared, now), 0);
    fgt_db_exec("DROP TABLE settle_failing", NULL);
    fg_settle_shared_free(&shared);
    fg_db_close(job);
}
END_TEST

/* While a writer is open no round covers its ids; once every writer of a
 * point has ended, the point's mark is the cut. */
START_TEST(open_writer_holds_the_cut)
{
    const char *tag = fgt_unique("hold");
    fg_db_t *writer = open_db(), *job = open_db();
    fg_settle_point_t p;
    fg_settle_probe_t probe = {0};
    int reached = -1;
    uint64_t blocker = 0;
    post_arg_t first = {tag, 10, fg_now_ms()};
    ck_assert_int_eq(fg_db_tx(job, post_tx, &first), 0);
    ck_assert_int_eq(post(writer, tag, 20, fg_now_ms()), 0);
    ck_assert_int_eq(fg_settle_observe(job, &probe, "SELECT COALESCE(MAX(id), 0) FROM ledger_entries", 1, fg_now_ms(),
                                       &p),
                     0);
    ck_assert_int_ge(p.trx_count, 1);
    ck_assert_int_eq(fg_settle_reached(job, &probe, &p, &reached, &blocker), 0);
    ck_assert_int_eq(reached, 0);
    ck_assert_uint_ne(blocker, 0);
    fg_db_rollback(writer);
    ck_assert_int_eq(fg_settle_reached(job, &probe, &p, &reached, &blocker), 0);
    ck_assert_int_eq(reached, 1);
    fg_settle_point_free(&p);
    fg_settle_probe_close(&probe);
    fg_db_close(writer);
    fg_db_close(job);
}
END_TEST

/* rebuild-checkpoints: a new epoch, the same balances, the old rows kept. */
START_TEST(rebuild_appends_an_epoch)
{
    const char *tag = fgt_unique("rebuild");
    char code[128], out[4096];
    snprintf(code, sizeof(code), "assets:clearing:%s", tag);
    fg_db_t *db = open_db();
    fg_ledger_checkpointer_t cp = {0};
    fg_settle_queue_t settle = FG_SETTLE_QUEUE_INIT("SELECT COALESCE(MAX(id), 0) FROM ledger_entries", 1);
    for (int i = 1; i <= 5; i++) {
        post_arg_t p = {tag, 100 * i, fg_now_ms()};
        ck_assert_int_eq(fg_db_tx(db, post_tx, &p), 0);
        ck_assert_int_ge(round_of(db, &settle, &cp, fg_now_ms()), 0);
    }
    ck_assert_int_ge(round_of(db, &settle, &cp, fg_now_ms()), 0);
    long long epoch = fgt_db_int("SELECT MAX(id) FROM ledger_checkpoint_epochs", NULL, NULL);
    long long rows = fgt_db_int("SELECT COUNT(*) FROM ledger_checkpoints", NULL, NULL);
    ck_assert_int_gt(rows, 0);
    ck_assert_int_eq(balance_at(db, code, -1), 1500);

    char reason[128];
    snprintf(reason, sizeof(reason), "test: %s", tag);
    const char *argv[] = {"feegate", "ledger", "rebuild-checkpoints", "--reason", reason, NULL};
    ck_assert_int_eq(fgt_cli(argv, NULL, out, sizeof(out)), 0);
    ck_assert_msg(strstr(out, "\"epoch\":") != NULL, "%s", out);
    ck_assert_int_eq(fgt_db_int("SELECT MAX(id) FROM ledger_checkpoint_epochs", NULL, NULL), epoch + 1);
    ck_assert_int_eq(fgt_db_int("SELECT COUNT(*) FROM ledger_checkpoint_epochs WHERE reason = ? AND actor = 'cli'",
                                reason, NULL),
                     1);
    ck_assert_int_gt(fgt_db_int("SELECT COUNT(*) FROM ledger_checkpoints", NULL, NULL), rows);
    ck_assert_int_gt(newest_checkpoint(code), 0);
    ck_assert_int_eq(balance_at(db, code, -1), 1500);
    ck_assert_int_eq(fgt_ledger_check(), 0);
    /* the job carries on in the new epoch */
    post_arg_t more = {tag, 1, fg_now_ms()};
    ck_assert_int_eq(fg_db_tx(db, post_tx, &more), 0);
    for (int i = 0; i < 2; i++)
        ck_assert_int_ge(round_of(db, &settle, &cp, fg_now_ms()), 0);
    ck_assert_int_eq(balance_at(db, code, -1), 1501);
    ck_assert_int_eq(fgt_ledger_check(), 0);
    fg_settle_queue_free(&settle);
    fg_db_close(db);
}
END_TEST

START_TEST(checkpoints_are_append_only)
{
    unsigned signal_error = 1644; /* ER_SIGNAL_EXCEPTION: the triggers */
    ck_assert_uint_eq(fgt_db_try("UPDATE ledger_checkpoints SET balance = balance + 1", NULL), signal_error);
    ck_assert_uint_eq(fgt_db_try("DELETE FROM ledger_checkpoints", NULL), signal_error);
    ck_assert_uint_eq(fgt_db_try("UPDATE ledger_checkpoint_epochs SET reason = 'x'", NULL), signal_error);
    ck_assert_uint_eq(fgt_db_try("DELETE FROM ledger_checkpoint_epochs", NULL), signal_error);
    ck_assert_int_gt(fgt_db_int("SELECT COUNT(*) FROM ledger_checkpoints", NULL, NULL), 0);
}
END_TEST

/* A database migrated to 0005 whose checkpoint covers an entry it never
 * counted (the defect's shape): `ledger check` names it; migrating on
 * supersedes it, balances come out right, and the check passes while
 * counting the old row as wrong, for the record. */
START_TEST(migration_supersedes_wrong_checkpoints)
{
    static const char *const env[] = {"FEEGATE_DB_NAME=feegate_bench", NULL};
    char out[8192], err[4096], dir[] = "/tmp/feegate-schema-XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    char cmd[1024];
    snprintf(cmd, sizeof(cmd), "cp %s/schema/000[1-5]_*.sql %s/", FEEGATE_SOURCE_DIR, dir);
    ck_assert_int_eq(system(cmd), 0);
    /* a clean database of our own */
    fgt_db_exec("DROP DATABASE IF EXISTS feegate_bench", NULL);
    fgt_db_exec("CREATE DATABASE feegate_bench CHARACTER SET utf8mb4 COLLATE utf8mb4_bin", NULL);
    const char *old[] = {"migrate", "--dir", dir, NULL};
    ck_assert_int_eq(fgt_cli_run(old, env, NULL, out, sizeof(out), err, sizeof(err)), 0);
    fgt_db_exec("INSERT INTO feegate_bench.ledger_accounts (id, code, currency, kind, created_at) VALUES "
                "(1, 'assets:clearing:sandbox', 'VND', 'asset', 0), (2, 'liabilities:unapplied', 'VND', "
                "'liability', 0)",
                NULL);
    fgt_db_exec("INSERT INTO feegate_bench.journals (id, public_id, kind, created_at) VALUES "
                "(1, 'jrn_a', 'receipt', 2000), (2, 'jrn_b', 'receipt', 1000)",
                NULL);
    /* entry 1 stamped after entry 3: a time cut at 1500 summed 3 but not 1 */
    fgt_db_exec("INSERT INTO feegate_bench.ledger_entries (id, journal_id, account_id, amount, currency, created_at) "
                "VALUES (1, 1, 1, 700, 'VND', 2000), (2, 1, 2, -700, 'VND', 2000), "
                "(3, 2, 1, 30, 'VND', 1000), (4, 2, 2, -30, 'VND', 1000)",
                NULL);
    fgt_db_exec("INSERT INTO feegate_bench.ledger_checkpoints (account_id, upto_entry_id, balance, as_of, "
                "entry_count) VALUES (1, 3, 30, 1000, 1), (2, 4, -30, 1000, 1)",
                NULL);
    ck_assert_int_eq(fgt_db_int("SELECT COUNT(*) FROM feegate_bench.ledger_checkpoints c WHERE c.balance <> "
                                "(SELECT SUM(e.amount) FROM feegate_bench.ledger_entries e "
                                "WHERE e.account_id = c.account_id AND e.id <= c.upto_entry_id)",
                                NULL, NULL),
                     2);
    const char *check[] = {"ledger", "check", NULL};

    const char *all[] = {"migrate", NULL};
    ck_assert_int_eq(fgt_cli_run(all, env, NULL, out, sizeof(out), err, sizeof(err)), 0);
    ck_assert_int_eq(fgt_cli_run(check, env, NULL, out, sizeof(out), err, sizeof(err)), 0);
    ck_assert_msg(strstr(out, "\"ok\":true") != NULL, "%s", out);
    ck_assert_msg(strstr(out, "\"checkpoints_before_0006\":2") != NULL, "%s", out);
    ck_assert_msg(strstr(out, "\"checkpoints_before_0006_wrong\":2") != NULL, "%s", out);
    const char *rebuild[] = {"ledger", "rebuild-checkpoints", NULL};
    ck_assert_int_eq(fgt_cli_run(rebuild, env, NULL, out, sizeof(out), err, sizeof(err)), 0);
    ck_assert_msg(strstr(out, "\"cut\":4,\"checkpoints\":2") != NULL, "%s", out);
    ck_assert_int_eq(fgt_db_int("SELECT balance FROM feegate_bench.ledger_checkpoints WHERE account_id = 1 "
                                "AND epoch_id = (SELECT MAX(id) FROM feegate_bench.ledger_checkpoint_epochs)",
                                NULL, NULL),
                     730);
    ck_assert_int_eq(fgt_db_int("SELECT as_of FROM feegate_bench.ledger_checkpoints WHERE account_id = 1 "
                                "AND epoch_id = (SELECT MAX(id) FROM feegate_bench.ledger_checkpoint_epochs)",
                                NULL, NULL),
                     2000);
    ck_assert_int_eq(fgt_cli_run(check, env, NULL, out, sizeof(out), err, sizeof(err)), 0);
    /* wrong checkpoints of the current epoch are named, each against the
     * entries themselves: one a dong over, one that builds on it with no new
     * entry (right by its predecessor, wrong by the entries), one that
     * miscounts, one stamped before an entry it covers */
    fgt_db_exec("INSERT INTO feegate_bench.journals (id, public_id, kind, created_at) VALUES (3, 'jrn_c', 'receipt', "
                "3000), (4, 'jrn_d', 'receipt', 4000)",
                NULL);
    fgt_db_exec("INSERT INTO feegate_bench.ledger_entries (id, journal_id, account_id, amount, currency, created_at) "
                "VALUES (5, 3, 1, 5, 'VND', 3000), (6, 3, 2, -5, 'VND', 3000), (7, 4, 1, 9, 'VND', 4000), "
                "(8, 4, 2, -9, 'VND', 4000)",
                NULL);
    fgt_db_exec("INSERT INTO feegate_bench.ledger_checkpoints (epoch_id, account_id, upto_entry_id, balance, as_of, "
                "entry_count, created_at) SELECT MAX(id), 1, 5, 736, 3000, 3, 0 FROM "
                "feegate_bench.ledger_checkpoint_epochs UNION ALL SELECT MAX(id), 1, 6, 736, 3000, 3, 0 FROM "
                "feegate_bench.ledger_checkpoint_epochs UNION ALL SELECT MAX(id), 2, 6, -735, 3000, 2, 0 FROM "
                "feegate_bench.ledger_checkpoint_epochs UNION ALL SELECT MAX(id), 2, 8, -744, 3500, 4, 0 FROM "
                "feegate_bench.ledger_checkpoint_epochs",
                NULL);
    /* and a journal of one entry: too short, and it does not sum to zero */
    fgt_db_exec("INSERT INTO feegate_bench.journals (id, public_id, kind, created_at) VALUES (5, 'jrn_e', 'receipt', "
                "5000)",
                NULL);
    fgt_db_exec("INSERT INTO feegate_bench.ledger_entries (id, journal_id, account_id, amount, currency, created_at) "
                "VALUES (9, 5, 1, 12, 'VND', 5000)",
                NULL);
    ck_assert_int_eq(fgt_cli_run(check, env, NULL, out, sizeof(out), err, sizeof(err)), 1);
    ck_assert_msg(strstr(out, "\"violations_count\":6") != NULL, "%s", out);
    ck_assert_msg(strstr(out, "{\"check\":\"journal_has_two_entries\",\"object\":\"jrn_e\",\"detail\":\"journal has 1 "
                              "entries\"}") != NULL,
                  "%s", out);
    ck_assert_msg(strstr(out, "{\"check\":\"journal_sums_to_zero\",\"object\":\"jrn_e\",\"detail\":\"VND entries sum "
                              "to 12\"}") != NULL,
                  "%s", out);
    ck_assert_msg(strstr(out, "checkpoint at entry 5 says 736 over 3 entries (latest 3000) but the entries sum to 735 "
                              "over 3 (latest 3000)") != NULL,
                  "%s", out);
    ck_assert_msg(strstr(out, "checkpoint at entry 6 says 736 over 3 entries (latest 3000) but the entries sum to 735 "
                              "over 3 (latest 3000)") != NULL,
                  "%s", out);
    ck_assert_msg(strstr(out, "checkpoint at entry 6 says -735 over 2 entries (latest 3000) but the entries sum to "
                              "-735 over 3 (latest 3000)") != NULL,
                  "%s", out);
    ck_assert_msg(strstr(out, "checkpoint at entry 8 says -744 over 4 entries (latest 3500) but the entries sum to "
                              "-744 over 4 (latest 4000)") != NULL,
                  "%s", out);
    fgt_db_exec("DROP DATABASE feegate_bench", NULL);
    fgt_db_exec("CREATE DATABASE feegate_bench CHARACTER SET utf8mb4 COLLATE utf8mb4_bin", NULL);
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    ck_assert_int_eq(system(cmd), 0);
}
END_TEST

/* `feegate migrate --dir dir` on feegate_bench: its exit status, stderr in err. */
static int migrate_dir(const char *dir, char *err, size_t cap)
{
    static const char *const env[] = {"FEEGATE_DB_NAME=feegate_bench", NULL};
    char out[8192];
    const char *args[] = {"migrate", "--dir", dir, NULL};
    return fgt_cli_run(args, env, NULL, out, sizeof(out), err, cap);
}

/* A migration that fails part-way (MariaDB has committed its earlier DDL
 * statements) is gone on with from the statement that failed once the cause
 * is corrected: run again from the start it failed on its first statement
 * for ever ("Duplicate column"), the schema half changed. */
START_TEST(a_migration_that_failed_part_way_goes_on_from_where_it_stopped)
{
    char err[4096], dir[] = "/tmp/feegate-schema-XXXXXX", cmd[1024], path[128];
    ck_assert_ptr_nonnull(mkdtemp(dir));
    fgt_db_exec("DROP DATABASE IF EXISTS feegate_bench", NULL);
    fgt_db_exec("CREATE DATABASE feegate_bench CHARACTER SET utf8mb4 COLLATE utf8mb4_bin", NULL);
    snprintf(cmd, sizeof(cmd), "cp %s/schema/000[1-2]_*.sql %s/", FEEGATE_SOURCE_DIR, dir);
    ck_assert_int_eq(system(cmd), 0);
    snprintf(path, sizeof(path), "%s/0003_two_steps.sql", dir);
    static const char BROKEN[] = "CREATE TABLE step_one (id INT PRIMARY KEY);\n"
                                 "ALTER TABLE step_one ADD COLUMN note VARCHAR(10);\n"
                                 "ALTER TABLE step_one ADD COLUMN oops NO_SUCH_TYPE;\n"
                                 "CREATE TABLE step_two (id INT PRIMARY KEY);\n";
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(BROKEN, f);
    fclose(f);
    ck_assert_int_eq(migrate_dir(dir, err, sizeof(err)), 1);
    ck_assert_msg(strstr(err, "0003_two_steps.sql failed at its statement 3") != NULL &&
                      strstr(err, "goes on from statement 3") != NULL,
                  "%s", err);
    ck_assert_int_eq(fgt_db_int("SELECT COUNT(*) FROM information_schema.columns WHERE table_schema = "
                                "'feegate_bench' AND table_name = 'step_one' AND column_name = ?",
                                "note", NULL),
                     1);
    ck_assert_int_eq(fgt_db_int("SELECT statements FROM feegate_bench.schema_migration_progress WHERE version = 3",
                                NULL, NULL),
                     2);
    /* the run again without a correction fails where it did, never on statement 1 or 2 */
    ck_assert_int_eq(migrate_dir(dir, err, sizeof(err)), 1);
    ck_assert_msg(strstr(err, "failed at its statement 3") != NULL, "%s", err);
    /* corrected: the rest is applied and the migration recorded */
    f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs("CREATE TABLE step_one (id INT PRIMARY KEY);\n"
          "ALTER TABLE step_one ADD COLUMN note VARCHAR(10);\n"
          "ALTER TABLE step_one ADD COLUMN oops INT;\n"
          "CREATE TABLE step_two (id INT PRIMARY KEY);\n",
          f);
    fclose(f);
    ck_assert_int_eq(migrate_dir(dir, err, sizeof(err)), 0);
    ck_assert_int_eq(fgt_db_int("SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = "
                                "'feegate_bench' AND table_name = ?",
                                "step_two", NULL),
                     1);
    ck_assert_int_eq(fgt_db_int("SELECT COUNT(*) FROM feegate_bench.schema_migrations WHERE version = 3", NULL, NULL),
                     1);
    ck_assert_int_eq(fgt_db_int("SELECT COUNT(*) FROM feegate_bench.schema_migration_progress", NULL, NULL), 0);

    /* statements an earlier run applied that now read otherwise: refused, nothing run */
    snprintf(path, sizeof(path), "%s/0004_changed.sql", dir);
    f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs("CREATE TABLE step_three (id INT PRIMARY KEY);\nCREATE TABLE step_four (x NO_SUCH_TYPE);\n", f);
    fclose(f);
    ck_assert_int_eq(migrate_dir(dir, err, sizeof(err)), 1);
    f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs("CREATE TABLE step_3 (id INT PRIMARY KEY);\nCREATE TABLE step_four (x INT);\n", f);
    fclose(f);
    ck_assert_int_eq(migrate_dir(dir, err, sizeof(err)), 1);
    ck_assert_msg(strstr(err, "0004_changed.sql was stopped after its statement 1 by an earlier run") != NULL, "%s",
                  err);
    ck_assert_int_eq(fgt_db_int("SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = "
                                "'feegate_bench' AND table_name = ?",
                                "step_3", NULL),
                     0);
    fgt_db_exec("DROP DATABASE feegate_bench", NULL);
    fgt_db_exec("CREATE DATABASE feegate_bench CHARACTER SET utf8mb4 COLLATE utf8mb4_bin", NULL);
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    ck_assert_int_eq(system(cmd), 0);
}
END_TEST

/* A migration directory that cannot be applied whole is refused, nothing
 * applied, where it used to report "schema up to date": one without
 * migrations (a wrong --dir), one with a file named almost as a migration
 * (it would be passed over), one older than the database (the database has
 * tables it knows nothing of).  Another migrate holding the lock is named. */
START_TEST(migrate_refuses_a_directory_it_cannot_apply_whole)
{
    char err[4096], dir[] = "/tmp/feegate-schema-XXXXXX", cmd[1024];
    ck_assert_ptr_nonnull(mkdtemp(dir));
    fgt_db_exec("DROP DATABASE IF EXISTS feegate_bench", NULL);
    fgt_db_exec("CREATE DATABASE feegate_bench CHARACTER SET utf8mb4 COLLATE utf8mb4_bin", NULL);
    ck_assert_int_eq(migrate_dir(dir, err, sizeof(err)), 1);
    ck_assert_msg(strstr(err, "no migrations") != NULL, "%s", err);

    snprintf(cmd, sizeof(cmd), "cp %s/schema/000[1-3]_*.sql %s/ && touch %s/0004-payouts.sql", FEEGATE_SOURCE_DIR, dir,
             dir);
    ck_assert_int_eq(system(cmd), 0);
    ck_assert_int_eq(migrate_dir(dir, err, sizeof(err)), 1);
    ck_assert_msg(strstr(err, "0004-payouts.sql is not named as a migration is") != NULL, "%s", err);
    ck_assert_int_eq(fgt_db_int("SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = ?",
                                "feegate_bench", NULL),
                     0);

    snprintf(cmd, sizeof(cmd), "rm %s/0004-payouts.sql && cp %s/schema/000[4-5]_*.sql %s/", dir, FEEGATE_SOURCE_DIR,
             dir);
    ck_assert_int_eq(system(cmd), 0);
    ck_assert_int_eq(migrate_dir(dir, err, sizeof(err)), 0);
    snprintf(cmd, sizeof(cmd), "rm %s/0004_*.sql %s/0005_*.sql", dir, dir);
    ck_assert_int_eq(system(cmd), 0);
    ck_assert_int_eq(migrate_dir(dir, err, sizeof(err)), 1);
    ck_assert_msg(strstr(err, "2 applied migration(s)") != NULL && strstr(err, "0004_") != NULL &&
                      strstr(err, "0005_") != NULL,
                  "%s", err);

    /* another migrate holds the lock: said, not an empty reason */
    fg_config_t bench;
    fgt_config_load(&bench);
    ck_assert_int_eq(fg_config_set(&bench, "db.name", "feegate_bench", NULL, 0), 0);
    fg_db_t *holder = fgt_db_open(&bench), *db = fgt_db_open(&bench);
    static const char TAKE[] = "DO GET_LOCK('feegate.migrate', 0)";
    ck_assert_int_eq(fg_db_exec_text(holder, TAKE, strlen(TAKE)), 0);
    FILE *out = tmpfile(), *errs = tmpfile();
    ck_assert_int_eq(fg_migrate(db, dir, 1, out, errs), FG_EUNAVAILABLE);
    rewind(errs);
    size_t n = fread(err, 1, sizeof(err) - 1, errs);
    err[n] = '\0';
    ck_assert_msg(strstr(err, "another feegate migrate still holds the migration lock after 1 s") != NULL, "%s", err);
    fclose(out);
    fclose(errs);
    fg_db_close(db);
    fg_db_close(holder);
    fg_config_free(&bench);

    fgt_db_exec("DROP DATABASE feegate_bench", NULL);
    fgt_db_exec("CREATE DATABASE feegate_bench CHARACTER SET utf8mb4 COLLATE utf8mb4_bin", NULL);
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    ck_assert_int_eq(system(cmd), 0);
}
END_TEST

/* The payment, refund and order checks, each row against its own postings:
 * one right order and seven wrong rows, and an entry on no account, each
 * named once. */
START_TEST(postings_of_payments_refunds_and_orders_are_checked)
{
    static const char *const env[] = {"FEEGATE_DB_NAME=feegate_bench", NULL};
    char out[8192], err[4096];
    fgt_db_exec("DROP DATABASE IF EXISTS feegate_bench", NULL);
    fgt_db_exec("CREATE DATABASE feegate_bench CHARACTER SET utf8mb4 COLLATE utf8mb4_bin", NULL);
    const char *migrate[] = {"migrate", NULL}, *check[] = {"ledger", "check", NULL};
    ck_assert_int_eq(fgt_cli_run(migrate, env, NULL, out, sizeof(out), err, sizeof(err)), 0);
    fgt_db_exec("INSERT INTO feegate_bench.merchants (id, public_id, name, created_at) VALUES (1, 'mer_chk', "
                "'Check school', 0)",
                NULL);
    fgt_db_exec("INSERT INTO feegate_bench.ledger_accounts (id, code, currency, kind, merchant_id, created_at) VALUES "
                "(1, 'assets:clearing:sandbox', 'VND', 'asset', NULL, 0), (2, 'liabilities:merchant:mer_chk', 'VND', "
                "'liability', 1, 0)",
                NULL);
    /* A paid right and refunded 30 without a refund posting; B says 100, its
     * posting 90; C says 50 with no payment; D's payment succeeded without a
     * posting; E's failed payment has one */
    fgt_db_exec("INSERT INTO feegate_bench.orders (id, public_id, merchant_id, merchant_ref, fee_type, amount, "
                "currency, amount_paid, amount_refunded, status, code, created_at, updated_at) VALUES "
                "(1, 'ord_a', 1, 'a', 'tuition', 100, 'VND', 100, 30, 'paid', '00000000001', 0, 0), "
                "(2, 'ord_b', 1, 'b', 'tuition', 100, 'VND', 100, 0, 'paid', '00000000002', 0, 0), "
                "(3, 'ord_c', 1, 'c', 'tuition', 100, 'VND', 50, 0, 'partially_paid', '00000000003', 0, 0), "
                "(4, 'ord_d', 1, 'd', 'tuition', 100, 'VND', 0, 0, 'open', '00000000004', 0, 0), "
                "(5, 'ord_e', 1, 'e', 'tuition', 70, 'VND', 70, 0, 'paid', '00000000005', 0, 0)",
                NULL);
    fgt_db_exec("INSERT INTO feegate_bench.payments (id, public_id, order_id, merchant_id, adapter, amount, currency, "
                "status, created_at, updated_at) VALUES (1, 'pay_a', 1, 1, 'sandbox', 100, 'VND', 'succeeded', 0, 0), "
                "(2, 'pay_b', 2, 1, 'sandbox', 100, 'VND', 'succeeded', 0, 0), (4, 'pay_d', 4, 1, 'sandbox', 100, "
                "'VND', 'succeeded', 0, 0), (5, 'pay_e', 5, 1, 'sandbox', 70, 'VND', 'failed', 0, 0)",
                NULL);
    fgt_db_exec("INSERT INTO feegate_bench.refunds (id, public_id, payment_id, merchant_id, amount, currency, status, "
                "created_at, updated_at) VALUES (1, 'rfd_a', 1, 1, -30, 'VND', 'succeeded', 0, 0)",
                NULL);
    fgt_db_exec("INSERT INTO feegate_bench.journals (id, public_id, kind, payment_id, created_at) VALUES "
                "(1, 'jrn_a', 'payment', 1, 0), (2, 'jrn_b', 'payment', 2, 0), (3, 'jrn_e', 'payment', 5, 0)",
                NULL);
    fgt_db_exec("INSERT INTO feegate_bench.ledger_entries (journal_id, account_id, amount, currency, created_at) "
                "VALUES (1, 1, 100, 'VND', 0), (1, 2, -100, 'VND', 0), (2, 1, 90, 'VND', 0), (2, 2, -90, 'VND', 0), "
                "(3, 1, 70, 'VND', 0), (3, 2, -70, 'VND', 0)",
                NULL);
    /* F's payment posting credits an account id that names no account (an id a rolled-back
     * transaction had made): the entry is named, and F's amount paid is not the merchant's */
    fgt_db_exec("INSERT INTO feegate_bench.orders (id, public_id, merchant_id, merchant_ref, fee_type, amount, "
                "currency, amount_paid, amount_refunded, status, code, created_at, updated_at) VALUES "
                "(6, 'ord_f', 1, 'f', 'tuition', 60, 'VND', 60, 0, 'paid', '00000000006', 0, 0)",
                NULL);
    fgt_db_exec("INSERT INTO feegate_bench.payments (id, public_id, order_id, merchant_id, adapter, amount, currency, "
                "status, created_at, updated_at) VALUES (6, 'pay_f', 6, 1, 'sandbox', 60, 'VND', 'succeeded', 0, 0)",
                NULL);
    fgt_db_exec("INSERT INTO feegate_bench.journals (id, public_id, kind, payment_id, created_at) VALUES "
                "(4, 'jrn_f', 'payment', 6, 0)",
                NULL);
    fgt_db_exec("INSERT INTO feegate_bench.ledger_entries (id, journal_id, account_id, amount, currency, created_at) "
                "VALUES (7, 4, 1, 60, 'VND', 0), (8, 4, 9, -60, 'VND', 0)",
                NULL);
    /* two entries, balanced, of a journal that does not exist: each is named */
    fgt_db_exec("INSERT INTO feegate_bench.ledger_entries (id, journal_id, account_id, amount, currency, created_at) "
                "VALUES (9, 99, 1, 5, 'VND', 0), (10, 99, 2, -5, 'VND', 0)",
                NULL);
    ck_assert_int_eq(fgt_cli_run(check, env, NULL, out, sizeof(out), err, sizeof(err)), 1);
    ck_assert_msg(strstr(out, "\"violations_count\":11") != NULL, "%s", out);
    static const char *const NAMED[] = {
        "{\"check\":\"entry_names_its_journal\",\"object\":\"entry 9\",\"detail\":\"entry of journal 99, which "
        "does not exist\"}",
        "{\"check\":\"entry_names_its_journal\",\"object\":\"entry 10\",\"detail\":\"entry of journal 99, which "
        "does not exist\"}",
        "{\"check\":\"entry_names_its_account\",\"object\":\"entry 8\",\"detail\":\"entry on account 9, which does "
        "not exist\"}",
        "{\"check\":\"order_paid_equals_postings\",\"object\":\"ord_f\",\"detail\":\"amount_paid 60 but payment "
        "postings credit the merchant 0\"}",
        "{\"check\":\"payment_posted_once\",\"object\":\"pay_d\",\"detail\":\"succeeded payment has 0 payment "
        "postings\"}",
        "{\"check\":\"payment_posted_once\",\"object\":\"pay_e\",\"detail\":\"failed payment has 1 payment "
        "postings\"}",
        "{\"check\":\"refund_posted_once\",\"object\":\"rfd_a\",\"detail\":\"succeeded refund has 0 refund "
        "postings\"}",
        /* pay_a's counters say nothing was refunded; its refund says otherwise */
        "{\"check\":\"payment_refund_counters\",\"object\":\"pay_a\",\"detail\":\"amount_refunded 0 and "
        "amount_refunding 0 but its refunds made add up to -30 and its pending ones to 0\"}",
        "{\"check\":\"order_paid_equals_postings\",\"object\":\"ord_b\",\"detail\":\"amount_paid 100 but payment "
        "postings credit the merchant 90\"}",
        "{\"check\":\"order_paid_equals_postings\",\"object\":\"ord_c\",\"detail\":\"amount_paid 50 without any "
        "payment posting\"}",
        "{\"check\":\"order_refunded_equals_postings\",\"object\":\"ord_a\",\"detail\":\"amount_refunded 30 but "
        "refund postings debit the merchant 0\"}",
    };
    for (size_t i = 0; i < sizeof(NAMED) / sizeof(NAMED[0]); i++)
        ck_assert_msg(strstr(out, NAMED[i]) != NULL, "%s not in %s", NAMED[i], out);
    fgt_db_exec("DROP DATABASE feegate_bench", NULL);
    fgt_db_exec("CREATE DATABASE feegate_bench CHARACTER SET utf8mb4 COLLATE utf8mb4_bin", NULL);
}
END_TEST

static Suite *ledger_suite(void)
{
    Suite *s = suite_create("ledger");
    TCase *tc = fgt_tcase(s, "checkpoints", setup, teardown);
    tcase_add_test(tc, ids_against_stamps_across_a_horizon);
    tcase_add_test(tc, a_failing_round_is_told_and_the_proven_marks_kept);
    tcase_add_test(tc, open_writer_holds_the_cut);
    tcase_add_test(tc, rebuild_appends_an_epoch);
    tcase_add_test(tc, checkpoints_are_append_only);
    tcase_add_test(tc, migration_supersedes_wrong_checkpoints);
    tcase_add_test(tc, migrate_refuses_a_directory_it_cannot_apply_whole);
    tcase_add_test(tc, a_migration_that_failed_part_way_goes_on_from_where_it_stopped);
    tcase_add_test(tc, postings_of_payments_refunds_and_orders_are_checked);
    return s;
}

int main(void) { return fgt_run(ledger_suite()); }
