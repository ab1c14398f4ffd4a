/*
 * test_fault_database.c - MariaDB SIGKILLed and started again under load.
 *
 * The suite starts a private MariaDB of its own with deploy/mariadb in a
 * temporary directory (killing the one ./tests/run started would fail every
 * other suite), migrates it and runs one feegate on it, with the bank
 * simulator as VNPay, MoMo and SePay.  Four client threads write through the
 * API as in fault_server (fault.h: orders, batches, payments through each
 * adapter and their notices, refunds, statement imports).  FLT_DB_KILLS times, at a random
 * moment, mariadbd gets SIGKILL; while it is down a prober requires 503 from
 * every route that needs the database (a write, a read, /readyz), 200 from
 * /healthz, and the clients count any other 5xx as a problem.  Then
 * deploy/mariadb starts it again (InnoDB's crash recovery) and feegate, never
 * restarted, must answer a write within RECOVERY_MAX_MS by itself.  After
 * each recovery the acknowledged writes are replayed and found in the
 * database exactly once and `feegate ledger check` runs; at the end
 * everything once more, the merchant's totals, and a clean stop.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "core/crypto.h"
#include "fault.h"

/* MariaDB kills per run: each costs a crash recovery (seconds). */
#define FLT_DB_KILLS 3
/* Load before a kill: a random pause in [min, min + span). */
#define PAUSE_MIN_MS 1000
#define PAUSE_SPAN_MS 1500
/* How long the database stays down while the prober asks. */
#define DOWN_MS 2000
/* feegate must write again this soon after MariaDB answers. */
#define RECOVERY_MAX_MS 30000

static char db_dir[64];

/* Runs deploy/mariadb cmd on db_dir; the socket it printed (start) in socket. */
static void mariadb(const char *cmd, char *socket, size_t cap)
{
    char command[512], line[512];
    snprintf(command, sizeof(command), "'%s/deploy/mariadb' %s '%s'", FEEGATE_SOURCE_DIR, cmd, db_dir);
    FILE *p = popen(command, "r");
    ck_assert_ptr_nonnull(p);
    while (fgets(line, sizeof(line), p) != NULL)
        if (socket != NULL && strncmp(line, "socket=", 7) == 0)
            snprintf(socket, cap, "%.*s", (int)strcspn(line + 7, "\n"), line + 7);
    ck_assert_int_eq(pclose(p), 0);
}

static pid_t mariadb_pid(void)
{
    char path[128];
    snprintf(path, sizeof(path), "%s/mariadbd.pid", db_dir);
    FILE *f = fopen(path, "r");
    ck_assert_ptr_nonnull(f);
    long pid = 0;
    ck_assert_int_eq(fscanf(f, "%ld", &pid), 1);
    fclose(f);
    return (pid_t)pid;
}

typedef struct {
    int probes, unavailable, healthy, wrong;
} down_t;

/* The server is still the one started: it did not exit or die. */
static void server_alive(const flt_env_t *env)
{
    int st;
    if (waitpid(env->srv.pid, &st, WNOHANG) == env->srv.pid)
        ck_abort_msg("feegate %s %d (log: %s)", WIFSIGNALED(st) ? "died of signal" : "exited with status",
                     WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st), env->srv.log_path);
}

/* The probe merchant's order and paid payment, read and refunded while the
 * database is down. */
typedef struct {
    char key[FGT_ID_CAP], order[48], code[24], payment[48];
} probe_t;

/* While the database is down: what each route answers.  Writes go to a
 * merchant of their own, outside the record. */
static void probe_down(const flt_env_t *env, const probe_t *p, down_t *d)
{
    char auth[160], idem[96], order_path[96], payment_path[96], refund_path[112], pay_page[64];
    snprintf(auth, sizeof(auth), "Authorization: Bearer %s", p->key);
    snprintf(idem, sizeof(idem), "Idempotency-Key: probe-%d-%d", (int)getpid(), d->probes);
    snprintf(order_path, sizeof(order_path), "/v1/orders/%s", p->order);
    snprintf(payment_path, sizeof(payment_path), "/v1/payments/%s", p->payment);
    snprintf(refund_path, sizeof(refund_path), "/v1/payments/%s/refunds", p->payment);
    snprintf(pay_page, sizeof(pay_page), "/pay/%s", p->code);
    const char *headers[] = {auth, idem, NULL};
    char *body = fgt_order_body(idem + 17, 10000, NULL);
    struct {
        const char *method, *path, *body;
        long want;
    } routes[] = {{"POST", "/v1/orders", body, 503},
                  {"GET", "/v1/orders?limit=1", NULL, 503},
                  {"GET", order_path, NULL, 503},
                  {"GET", payment_path, NULL, 503},
                  {"POST", refund_path, "{\"amount\":1000}", 503},
                  {"GET", pay_page, NULL, 503},
                  {"GET", "/readyz", NULL, 503},
                  {"GET", "/healthz", NULL, 200}};
    server_alive(env);
    for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
        fgt_response_t r = fgt_request(&env->srv, FGT_HTTP1, routes[i].method, routes[i].path, headers, routes[i].body,
                                       0);
        d->probes++;
        if (r.status == routes[i].want) {
            d->unavailable += r.status == 503;
            d->healthy += r.status == 200;
        } else {
            d->wrong++;
            flt_problem((flt_env_t *)env, "with MariaDB down %s %s answered %ld, wanted %ld: %.200s", routes[i].method,
                        routes[i].path, r.status, routes[i].want, r.body);
        }
        fgt_response_free(&r);
    }
    free(body);
}

/* Until a write is answered 201: how long it took, or -1 after RECOVERY_MAX_MS. */
static long long recovery_ms(const flt_env_t *env, const char *key, int round)
{
    server_alive(env);
    char auth[160], idem[96], ref[64];
    snprintf(ref, sizeof(ref), "recovered-%d-%d", (int)getpid(), round);
    snprintf(auth, sizeof(auth), "Authorization: Bearer %s", key);
    snprintf(idem, sizeof(idem), "Idempotency-Key: %s", ref);
    const char *headers[] = {auth, idem, NULL};
    char *body = fgt_order_body(ref, 10000, NULL);
    long long started = flt_now_ms(), took = -1;
    while (took < 0 && flt_now_ms() - started < RECOVERY_MAX_MS) {
        fgt_response_t r = fgt_request(&env->srv, FGT_HTTP1, "POST", "/v1/orders", headers, body, 0);
        if (r.status == 201)
            took = flt_now_ms() - started;
        else if (r.status != 503)
            flt_problem((flt_env_t *)env, "recovering, POST /v1/orders answered %ld: %.200s", r.status, r.body);
        fgt_response_free(&r);
        if (took < 0)
            fgt_sleep_ms(50);
    }
    free(body);
    return took;
}

/* An order of the probe merchant, paid through the sandbox. */
static void probe_setup(const flt_env_t *env, probe_t *p)
{
    char path[128], body[300], header[160], mac_hex[2 * FG_SHA256_LEN + 1], msg[400];
    uint8_t mac[FG_SHA256_LEN];
    fgt_response_t r = fgt_order_create(&env->srv, FGT_HTTP1, p->key, NULL, "probe-order", 50000, NULL);
    fgt_expect(r, 201, NULL);
    snprintf(p->order, sizeof(p->order), "%s", fgt_json_str(&r, "id", NULL));
    snprintf(p->code, sizeof(p->code), "%s", fgt_json_str(&r, "code", NULL));
    fgt_response_free(&r);
    snprintf(path, sizeof(path), "/v1/orders/%s/payments", p->order);
    r = fgt_req(&env->srv, FGT_HTTP1, "POST", path, p->key, NULL, "{\"method\":\"sandbox\"}", 0, NULL);
    fgt_expect(r, 201, NULL);
    snprintf(p->payment, sizeof(p->payment), "%s", fgt_json_str(&r, "id", NULL));
    fgt_response_free(&r);
    snprintf(body, sizeof(body),
             "{\"payment_id\":\"%s\",\"provider_txn_id\":\"probe-txn\",\"status\":\"succeeded\",\"amount\":50000}",
             p->payment);
    long long t = (long long)time(NULL);
    snprintf(msg, sizeof(msg), "%lld.%s", t, body);
    fg_hmac_sha256(env->sandbox_secret, strlen(env->sandbox_secret), msg, strlen(msg), mac);
    fg_hex_encode(mac, sizeof(mac), mac_hex);
    snprintf(header, sizeof(header), "X-Signature: t=%lld,v1=%s", t, mac_hex);
    r = fgt_req(&env->srv, FGT_HTTP1, "POST", "/v1/webhooks/sandbox", NULL, NULL, body, 0, header);
    fgt_expect(r, 200, NULL);
    fgt_response_free(&r);
}

START_TEST(mariadb_sigkill_answers_503_recovers_and_loses_nothing)
{
    static flt_env_t env;
    char socket[256] = "", probe_merchant[FGT_ID_CAP], probe_key[FGT_ID_CAP];
    unsigned seed = flt_seed("fault_database");
    unsigned rng = seed;
    flt_env_init(&env, seed);
    for (int op = 0; op < FLT_OPS; op++)
        env.ops_enabled[op] = 1;
    env.sandbox_secret = FLT_SANDBOX_SECRET;
    env.sepay_key = FLT_SEPAY_KEY;
    fgt_banksim_t bank;
    env.bank = &bank;

    mariadb("start", socket, sizeof(socket));
    ck_assert_msg(socket[0] != '\0', "deploy/mariadb printed no socket");
    setenv("FEEGATE_DB_SOCKET", socket, 1); /* the server, the CLI and the checks */
    setenv("FEEGATE_DB_NAME", "feegate", 1);
    const char *migrate[] = {"feegate", "migrate", NULL};
    char out[4096];
    ck_assert_int_eq(fgt_cli(migrate, NULL, out, sizeof(out)), 0);
    fgt_merchant_create("Công ty Cấp nước Mất Kết Nối", env.merchant, env.key);
    fgt_merchant_create("Trạm đo", probe_merchant, probe_key);
    fgt_staff_token("finance", env.finance);
    const char *server_env[] = {FLT_SANDBOX_ENV, NULL};
    int http_port = fgt_free_port();
    fgt_banksim_start(&bank, http_port);
    fgt_banksim_feegate_start(&env.srv, &bank, http_port, server_env);
    probe_t probe;
    snprintf(probe.key, sizeof(probe.key), "%s", probe_key);
    probe_setup(&env, &probe);

    long long started = flt_now_ms();
    flt_workers_start(&env);
    size_t from = 0;
    flt_tally_t after = {0};
    down_t down = {0};
    long long recovered_max = 0;
    int kills = 0;
    for (; kills < FLT_DB_KILLS; kills++) {
        fgt_sleep_ms(PAUSE_MIN_MS + rand_r(&rng) % PAUSE_SPAN_MS);
        pid_t pid = mariadb_pid();
        ck_assert_int_eq(kill(pid, SIGKILL), 0);
        while (kill(pid, 0) == 0 || errno != ESRCH) /* not our child: gone when signals find nobody */
            fgt_sleep_ms(10);
        long long down_since = flt_now_ms();
        while (flt_now_ms() - down_since < DOWN_MS)
            probe_down(&env, &probe, &down);
        long long db_start = flt_now_ms();
        mariadb("start", NULL, 0);
        long long db_start_ms = flt_now_ms() - db_start;
        long long took = recovery_ms(&env, probe_key, kills);
        ck_assert_msg(took >= 0, "feegate did not write again within %d ms of MariaDB's restart", RECOVERY_MAX_MS);
        if (took > recovered_max)
            recovered_max = took;
        printf("fault: MariaDB kill %d: down %lld ms, its restart took %lld ms, feegate wrote again %lld ms later\n",
               kills + 1, db_start - down_since, db_start_ms, took);
        fflush(stdout);
        from = flt_check(&env, from, 1, &after);
        ck_assert_msg(fgt_ledger_check() == 0, "ledger check failed after MariaDB restart %d", kills + 1);
    }
    flt_workers_stop(&env);
    long long load_ms = flt_now_ms() - started;

    flt_tally_t final = {0};
    flt_check(&env, 0, 0, &final);
    flt_check_totals(&env, &final);
    ck_assert_int_eq(fgt_ledger_check(), 0);
    ck_assert_int_eq(fgt_server_stop(&env.srv), 0);
    fgt_banksim_stop(&bank);

    printf("fault: with MariaDB down: %d probes, %d answered 503 as they should, %d /healthz 200, %d wrong\n",
           down.probes, down.unavailable, down.healthy, down.wrong);
    printf("fault: clients saw %ld outages (503: %ld), resent writes answered by a replay of what had committed %ld, "
           "gave up %ld writes (keys held by a lost transaction: %ld); replays after recoveries %ld\n",
           atomic_load(&env.outages), atomic_load(&env.answers_503), atomic_load(&env.replayed_after_outage),
           atomic_load(&env.given_up), atomic_load(&env.stuck_keys), after.replayed);
    printf("fault_database SUMMARY: seed %u, MariaDB kills %d, acknowledged writes checked %ld (%zu writes recorded), "
           "lost %ld, duplicated %ld, problems %ld, longest recovery %lld ms, %lld ms under load\n",
           seed, kills, final.checked, env.count, final.lost + after.lost, final.duplicated + after.duplicated,
           atomic_load(&env.problems), recovered_max, load_ms);
    fflush(stdout);
    ck_assert_int_eq(final.lost + after.lost, 0);
    ck_assert_int_eq(final.duplicated + after.duplicated, 0);
    ck_assert_int_gt(down.unavailable, 0);
    ck_assert_msg(atomic_load(&env.problems) == 0, "%ld problems, the first: %s", atomic_load(&env.problems),
                  env.problem_text[0]);
    flt_env_free(&env);
}
END_TEST

int main(void)
{
    flt_providers_setenv();
    /* made here and removed here, whatever the test (a child process) did */
    snprintf(db_dir, sizeof(db_dir), "/tmp/feegate-fault-db-XXXXXX");
    if (mkdtemp(db_dir) == NULL) {
        perror("mkdtemp");
        return 1;
    }
    Suite *s = suite_create("fault_database");
    TCase *tc = tcase_create("mariadb");
    tcase_set_timeout(tc, 240);
    tcase_add_test(tc, mariadb_sigkill_answers_503_recovers_and_loses_nothing);
    suite_add_tcase(s, tc);
    int rc = fgt_run(s);
    char command[512];
    snprintf(command, sizeof(command), "'%s/deploy/mariadb' stop '%s' && rm -rf '%s'", FEEGATE_SOURCE_DIR, db_dir,
             db_dir);
    if (system(command) != 0) {
        fprintf(stderr, "could not stop the MariaDB in %s\n", db_dir);
        rc = 1;
    }
    return rc;
}
