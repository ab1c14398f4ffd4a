/*
 * test_fault_server.c - feegate SIGKILLed at random moments under load.
 *
 * Four client threads keep writing through the API (fault.h): orders,
 * batches, payments through each adapter (the sandbox's signed notice;
 * VNPay's and MoMo's IPNs and SePay's transfer webhook delivered by the bank
 * simulator), refunds and statement imports, recording every acknowledged
 * write.  The suite SIGKILLs the server FLT_KILLS times, each time while a
 * request of the next kind in turn is on the wire (after a random pause and a
 * random jitter, from FAULT_SEED), and starts it again on the same port.
 * After each restart: the newest acknowledged writes are sent again (the
 * same Idempotency-Key: the same answer; a provider's notice: acknowledged
 * again), every write since the last restart is found in the database
 * exactly once (a given-up one at most once), no payment has two postings,
 * and `feegate ledger check` runs while the clients go on writing.  At the end: every write again, the
 * merchant's totals against the record, no payment or refund posted twice,
 * the ledger check, and a server that stops cleanly.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "fault.h"

/* Kills per run: the issue asks for at least 20 across every kind of write. */
/* 20: each of the eight kinds of request in turn at least twice, within the
 * suite's time budget (./tests/run stays under 20 minutes) */
#define FLT_KILLS 20
/* The random pause before a kill's target is awaited, and the jitter after. */
#define PAUSE_MIN_MS 150
#define PAUSE_SPAN_MS 650
#define JITTER_MS 10
/* How long the server stays dead: clients meanwhile find the port closed. */
#define DEAD_SPAN_MS 300
/* `feegate ledger check` runs after every this many restarts, and at the end:
 * it reads the whole shared test database (1-4 s on a busy machine) while the
 * clients write.  Three, prime to the eight kinds a kill aims at in turn, so
 * the checks follow kills of different kinds. */
#define LEDGER_CHECK_EVERY 3
/* How long a kill waits for a request of its kind to be on the wire. */
#define TARGET_WAIT_MS 4000
/* The writes checked after a restart: those since the previous kill, at most
 * this many of the newest (made just before the kill).  Checking takes longer
 * the more there are and the clients write meanwhile, so an unbounded check
 * grew each round's writes (240 to 3,000 in one run); the final check reads
 * every write. */
#define CHECK_NEWEST_MAX 1000

static const char *const SERVER_ENV[] = {FLT_SANDBOX_ENV, NULL};

/* Whether a dead server's log holds a sanitizer report (it had no exit to
 * fail at). */
static int log_has_report(const char *path)
{
    char line[1024];
    int found = 0;
    FILE *f = fopen(path, "r");
    while (f != NULL && !found && fgets(line, sizeof(line), f) != NULL)
        found = strstr(line, "ERROR: AddressSanitizer") != NULL || strstr(line, "runtime error:") != NULL;
    if (f != NULL)
        fclose(f);
    return found;
}

static void print_tally(const char *when, const flt_tally_t *t)
{
    printf("fault: %s: acknowledged writes checked %ld, given-up writes found at most once %ld, replays %ld, lost "
           "%ld, duplicated %ld\n",
           when, t->checked, t->unknown, t->replayed, t->lost, t->duplicated);
    fflush(stdout);
}

START_TEST(sigkill_under_load_loses_and_duplicates_nothing)
{
    static flt_env_t env;
    fgt_banksim_t bank;
    fgt_server_t srv;
    unsigned seed = flt_seed("fault_server");
    unsigned rng = seed;
    flt_env_init(&env, seed);
    for (int op = 0; op < FLT_OPS; op++)
        env.ops_enabled[op] = 1;
    env.sandbox_secret = FLT_SANDBOX_SECRET;
    env.sepay_key = FLT_SEPAY_KEY;
    env.bank = &bank;
    int http_port = fgt_free_port();
    fgt_banksim_start(&bank, http_port);
    fgt_merchant_create("Trường THCS Mất Điện", env.merchant, env.key);
    fgt_staff_token("finance", env.finance);
    fgt_banksim_feegate_start(&srv, &bank, http_port, SERVER_ENV);
    env.srv = srv;

    long long started = flt_now_ms();
    flt_workers_start(&env);
    int kills = 0, landed[FLT_OPS] = {0}, ledger_checks = 0;
    size_t from = 0;
    flt_tally_t after_restarts = {0};
    char dead_logs[FLT_KILLS][160];
    for (; kills < FLT_KILLS; kills++) {
        flt_op_t target = (flt_op_t)(kills % FLT_OPS);
        fgt_sleep_ms(PAUSE_MIN_MS + rand_r(&rng) % PAUSE_SPAN_MS);
        if (!flt_wait_in_flight(&env, target, TARGET_WAIT_MS))
            printf("fault: kill %d: no %s on the wire within %d ms; killing anyway\n", kills + 1, flt_op_names[target],
                   TARGET_WAIT_MS);
        fgt_sleep_ms(rand_r(&rng) % JITTER_MS);
        /* a short request of the aimed kind may have ended during the jitter: catch the next one */
        if (atomic_load(&env.in_flight[target]) == 0)
            (void)flt_wait_in_flight(&env, target, TARGET_WAIT_MS);
        for (int op = 0; op < FLT_OPS; op++)
            landed[op] += atomic_load(&env.in_flight[op]) > 0;
        ck_assert_int_eq(kill(srv.pid, SIGKILL), 0);
        ck_assert_int_eq(waitpid(srv.pid, NULL, 0), srv.pid);
        snprintf(dead_logs[kills], sizeof(dead_logs[kills]), "%s.kill%d", srv.log_path, kills + 1);
        ck_assert_int_eq(rename(srv.log_path, dead_logs[kills]), 0);
        ck_assert_msg(!log_has_report(dead_logs[kills]), "sanitizer report in %s", dead_logs[kills]);
        fgt_sleep_ms(rand_r(&rng) % DEAD_SPAN_MS);
        fgt_banksim_feegate_start(&srv, &bank, http_port, SERVER_ENV);
        size_t before = from, start = from;
        pthread_mutex_lock(&env.lock);
        if (env.count - from > CHECK_NEWEST_MAX)
            start = env.count - CHECK_NEWEST_MAX;
        pthread_mutex_unlock(&env.lock);
        from = flt_check(&env, start, 1, &after_restarts);
        printf("fault: kill %d (aimed at: %s): %zu writes since the previous kill, checked after the restart\n",
               kills + 1, flt_op_names[target], from - before);
        fflush(stdout);
        if ((kills + 1) % LEDGER_CHECK_EVERY == 0) {
            ck_assert_msg(fgt_ledger_check() == 0, "ledger check failed after restart %d", kills + 1);
            ledger_checks++;
        }
    }
    flt_workers_stop(&env);
    long long load_ms = flt_now_ms() - started;
    print_tally("after each restart", &after_restarts);

    /* everything once more, now that nothing is moving */
    flt_tally_t final = {0};
    flt_check(&env, 0, 0, &final);
    flt_check_totals(&env, &final);
    ck_assert_int_eq(fgt_ledger_check(), 0);
    ledger_checks++;
    print_tally("at the end", &final);
    ck_assert_int_eq(fgt_server_stop(&srv), 0);
    fgt_banksim_stop(&bank);

    printf("fault: kills landed during (requests of each kind on the wire at the kill):");
    for (int op = 0; op < FLT_OPS; op++)
        printf(" %s %d%s", flt_op_names[op], landed[op], op + 1 < FLT_OPS ? "," : "\n");
    printf("fault: steps:");
    for (int op = 0; op < FLT_OPS; op++)
        printf(" %s %ld%s", flt_op_names[op], atomic_load(&env.steps[op]), op + 1 < FLT_OPS ? "," : "\n");
    printf("fault: outages seen by clients %ld (503: %ld), resent writes answered by a replay of what had committed "
           "%ld, writes given up %ld (keys held by a killed provider call: %ld), ledger checks %d green\n",
           atomic_load(&env.outages), atomic_load(&env.answers_503), atomic_load(&env.replayed_after_outage),
           atomic_load(&env.given_up), atomic_load(&env.stuck_keys), ledger_checks);
    printf("fault_server SUMMARY: seed %u, kills %d, acknowledged writes checked %ld (%zu writes recorded), lost %ld, "
           "duplicated %ld, problems %ld, %lld ms under load\n",
           seed, kills, final.checked, env.count, final.lost + after_restarts.lost,
           final.duplicated + after_restarts.duplicated, atomic_load(&env.problems), load_ms);
    fflush(stdout);
    ck_assert_int_ge(kills, 20);
    ck_assert_int_eq(final.lost + after_restarts.lost, 0);
    ck_assert_int_eq(final.duplicated + after_restarts.duplicated, 0);
    ck_assert_msg(atomic_load(&env.problems) == 0, "%ld problems, the first: %s", atomic_load(&env.problems),
                  env.problem_text[0]);
    for (int op = 0; op < FLT_OPS; op++)
        ck_assert_msg(landed[op] > 0, "no kill landed during a %s", flt_op_names[op]);
    for (int k = 0; k < kills; k++) /* kept for a failure's reader only */
        unlink(dead_logs[k]);
    flt_env_free(&env);
}
END_TEST

int main(void)
{
    flt_providers_setenv();
    Suite *s = suite_create("fault_server");
    TCase *tc = tcase_create("sigkill");
    /* 20 kills and 7 full ledger checks of the shared test database (every
     * suite's data by then): 60-200 s on this machine, depending on the hour */
    tcase_set_timeout(tc, 420);
    tcase_add_test(tc, sigkill_under_load_loses_and_duplicates_nothing);
    suite_add_tcase(s, tc);
    return fgt_run(s);
}
