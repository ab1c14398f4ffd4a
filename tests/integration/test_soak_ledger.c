/*
 * test_soak_ledger.c - balances stay the sums of their entries under
 * sustained load: sandbox notifications at full speed (tests/bench/h2gen),
 * first spread over many merchants, then all to ONE merchant, from two
 * feegate instances on one database, for many checkpoint rounds (one a
 * second here).  While the load runs, the API's balances "at" a past second
 * are compared with the SQL sums of the entries stamped up to it; afterwards
 * every account's API balance with the sum of all its entries, the
 * checkpoints must have caught up, and `feegate ledger check` must pass.
 */
#include <check.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "core/text.h"
#include "harness.h"

extern char **environ;

#define SECRET "soak-sandbox-secret"
/* Checkpoint rounds: one a second, so a phase crosses many of them. */
#define CHECKPOINT_INTERVAL_MS 1000
/* Seconds of load per phase and instance; both phases together last more
 * than ten checkpoint rounds. */
#define PHASE_SECONDS 8
/* Merchants of the spread phase, and payments seeded per phase and instance
 * (more than the load can use up in PHASE_SECONDS). */
#define MERCHANTS 200
#define PAYMENTS_PER_LIST 12000
#define AMOUNT 100000

static fgt_server_t servers[2];
static char run[8];
static char finance[96];

/* Orders and pending sandbox payments of list `list` (0..3), public ids
 * pay_<run>L<list>_<n>: lists 0 and 1 spread over the merchants, 2 and 3 all
 * on the first one. */
static void seed(void)
{
    char sql[2048], like[64];
    snprintf(sql, sizeof(sql),
             "INSERT INTO merchants (public_id, name, created_at) SELECT CONCAT('mer_%s', LPAD(seq, 20, '0')), "
             "CONCAT('Soak merchant ', seq), 0 FROM seq_1_to_%d",
             run, MERCHANTS);
    fgt_db_exec(sql, NULL);
    snprintf(like, sizeof(like), "mer_%s%%", run);
    long long base = fgt_db_int("SELECT MIN(id) FROM merchants WHERE public_id LIKE ?", like, NULL);
    ck_assert_int_gt(base, 0);
    for (int list = 0; list < 4; list++) {
        snprintf(sql, sizeof(sql),
                 "INSERT INTO orders (public_id, merchant_id, merchant_ref, fee_type, amount, currency, code, "
                 "created_at, updated_at) SELECT CONCAT('ord_%sL%d_', seq), %lld + IF(%d < 2, seq %% %d, 0), "
                 "CONCAT('%sL%d-', seq), 'utility', %d, 'VND', CONCAT('%s', %d, LPAD(seq, 5, '0')), 0, 0 "
                 "FROM seq_1_to_%d",
                 run, list, base, list, MERCHANTS, run, list, AMOUNT, run, list, PAYMENTS_PER_LIST);
        fgt_db_exec(sql, NULL);
        snprintf(sql, sizeof(sql),
                 "INSERT INTO payments (public_id, order_id, merchant_id, adapter, amount, currency, status, "
                 "created_at, updated_at) SELECT CONCAT('pay_', SUBSTRING(public_id, 5)), id, merchant_id, "
                 "'sandbox', amount, 'VND', 'pending', 0, 0 FROM orders WHERE public_id LIKE 'ord\\_%sL%d\\_%%'",
                 run, list);
        fgt_db_exec(sql, NULL);
    }
}

/* The file h2gen reads: "pay_… amount" per line. */
static void write_list(int list, char *path, size_t cap)
{
    snprintf(path, cap, "/tmp/feegate-soak-%s-%d.txt", run, list);
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    for (int n = 1; n <= PAYMENTS_PER_LIST; n++)
        fprintf(f, "pay_%sL%d_%d %d\n", run, list, n, AMOUNT);
    ck_assert_int_eq(fclose(f), 0);
}

static pid_t load(const fgt_server_t *s, const char *list_path)
{
    char port[16], secs[16];
    snprintf(port, sizeof(port), "%d", s->http_port);
    snprintf(secs, sizeof(secs), "%d", PHASE_SECONDS);
    const char *h2gen = getenv("H2GEN_BIN");
    ck_assert_ptr_nonnull(h2gen);
    char *const argv[] = {(char *)h2gen, "-p", port,   "-c", "8",
                          "-m",          "8",  "-d",   secs, "-M",
                          "sandbox",     "-s", SECRET, "-i", (char *)list_path,
                          NULL};
    pid_t pid;
    ck_assert_int_eq(posix_spawn(&pid, h2gen, NULL, NULL, argv, environ), 0);
    return pid;
}

static const char *code_of(int which, char *buf, size_t cap)
{
    if (which == 0)
        return "assets:clearing:sandbox";
    snprintf(buf, cap, "liabilities:merchant:mer_%s%020d", run, 1);
    return buf;
}

/* Sum of an account's entries stamped up to at_ms, in its normal direction. */
static long long sql_balance(const char *code, long long at_ms)
{
    char at[32];
    snprintf(at, sizeof(at), "%lld", at_ms);
    char sql[] = "SELECT IF(a.kind IN ('asset', 'expense'), 1, -1) * COALESCE(SUM(e.amount), 0) "
                 "FROM ledger_accounts a LEFT JOIN ledger_entries e ON e.account_id = a.id AND e.created_at <= ? "
                 "WHERE a.code = ? AND a.currency = 'VND' GROUP BY a.id, a.kind";
    /* fgt_db_int binds strings in order: the time first, then the code */
    return fgt_db_int(sql, at, code);
}

static long long api_balance(const fgt_server_t *s, const char *code, const char *at)
{
    char path[256];
    /* its VND account: other suites on this database pay in other currencies too */
    if (at != NULL)
        snprintf(path, sizeof(path), "/v1/ledger/accounts/%s?currency=VND&at=%s", code, at);
    else
        snprintf(path, sizeof(path), "/v1/ledger/accounts/%s?currency=VND", code);
    fgt_response_t r = fgt_req(s, FGT_H2C, "GET", path, finance, NULL, NULL, 0, NULL);
    fgt_expect(r, 200, NULL);
    long long b = fgt_json_int(&r, "balance", NULL);
    fgt_response_free(&r);
    return b;
}

/* While the load runs: balances at a second two seconds back, from both
 * instances, against the entries stamped up to it.  Returns how many. */
static int check_while_loading(pid_t a, pid_t b)
{
    int checked = 0, live = 2, status;
    char buf[128], at[40];
    while (live > 0) {
        int64_t t = (fg_now_ms() - 2000) / 1000 * 1000;
        fg_time_format_rfc3339(t, 0, at, sizeof(at));
        for (int which = 0; which < 2; which++) {
            const char *code = code_of(which, buf, sizeof(buf));
            if (fgt_db_int("SELECT COUNT(*) FROM ledger_accounts WHERE code = ?", code, NULL) == 0)
                continue;
            long long api = api_balance(&servers[checked % 2], code, at);
            ck_assert_int_eq(api, sql_balance(code, t));
            checked++;
        }
        fgt_sleep_ms(250);
        live = 0;
        if (a > 0 && waitpid(a, &status, WNOHANG) == 0)
            live++;
        else if (a > 0)
            ck_assert_msg(WIFEXITED(status), "h2gen died"), a = -1;
        if (b > 0 && waitpid(b, &status, WNOHANG) == 0)
            live++;
        else if (b > 0)
            ck_assert_msg(WIFEXITED(status), "h2gen died"), b = -1;
    }
    return checked;
}

/* Every account the API lists: its balance equals the sum of its entries. */
static int check_every_account(void)
{
    char path[256], cursor[64] = "";
    int accounts = 0;
    for (;;) {
        snprintf(path, sizeof(path), "/v1/ledger/accounts?limit=500%s%s", cursor[0] ? "&cursor=" : "", cursor);
        fgt_response_t r = fgt_req(&servers[accounts % 2], FGT_H2C, "GET", path, finance, NULL, NULL, 0, NULL);
        fgt_expect(r, 200, NULL);
        yajl_val data = fgt_json_array(&r, "data", NULL);
        for (size_t i = 0; i < YAJL_GET_ARRAY(data)->len; i++) {
            yajl_val acct = YAJL_GET_ARRAY(data)->values[i];
            const char *code = fgt_val_str(acct, "code", NULL);
            const char *currency = fgt_val_str(acct, "currency", NULL);
            yajl_val balance = fgt_val_at(acct, "balance", NULL);
            ck_assert_ptr_nonnull(code);
            ck_assert_ptr_nonnull(balance);
            if (strcmp(currency, "VND") != 0)
                continue;
            ck_assert_msg(YAJL_GET_INTEGER(balance) == sql_balance(code, INT64_MAX / 2),
                          "%s: the API says %lld, the entries sum to %lld", code, (long long)YAJL_GET_INTEGER(balance),
                          sql_balance(code, INT64_MAX / 2));
            accounts++;
        }
        int more = !fgt_json_is_null(&r, "next_cursor", NULL);
        if (more)
            snprintf(cursor, sizeof(cursor), "%s", fgt_json_str(&r, "next_cursor", NULL));
        fgt_response_free(&r);
        if (!more)
            return accounts;
    }
}

START_TEST(balances_hold_under_sustained_load)
{
    char lists[4][128], buf[128], like[64];
    seed();
    for (int i = 0; i < 4; i++)
        write_list(i, lists[i], sizeof(lists[i]));
    fgt_staff_token("finance", finance);
    long long entries_before = fgt_db_int("SELECT COALESCE(MAX(id), 0) FROM ledger_entries", NULL, NULL);

    int checked = 0;
    for (int phase = 0; phase < 2; phase++) {
        pid_t a = load(&servers[0], lists[2 * phase]), b = load(&servers[1], lists[2 * phase + 1]);
        checked += check_while_loading(a, b);
    }
    ck_assert_int_ge(checked, 2 * PHASE_SECONDS);
    snprintf(like, sizeof(like), "pay\\_%s%%", run);
    long long paid = fgt_db_int("SELECT COUNT(*) FROM payments WHERE public_id LIKE ? AND status = 'succeeded'", like,
                                NULL);
    ck_assert_int_gt(paid, 1000);

    /* the checkpoints catch up within a couple of rounds, from either instance */
    long long newest = fgt_db_int("SELECT MAX(id) FROM ledger_entries", NULL, NULL);
    const char *clearing = code_of(0, buf, sizeof(buf));
    for (int i = 0; i < 50; i++) {
        long long covered = fgt_db_int("SELECT COALESCE(MAX(c.upto_entry_id), 0) FROM ledger_checkpoints c "
                                       "JOIN ledger_accounts a ON a.id = c.account_id WHERE a.code = ? "
                                       "AND c.epoch_id = (SELECT MAX(id) FROM ledger_checkpoint_epochs)",
                                       clearing, NULL);
        if (covered >= newest)
            break;
        ck_assert_msg(i < 49, "checkpoints stopped at entry %lld of %lld", covered, newest);
        fgt_sleep_ms(200);
    }
    /* and they were written all along: a cut per round, about */
    char before[32];
    snprintf(before, sizeof(before), "%lld", entries_before);
    ck_assert_int_ge(fgt_db_int("SELECT COUNT(DISTINCT c.upto_entry_id) FROM ledger_checkpoints c "
                                "JOIN ledger_accounts a ON a.id = c.account_id WHERE a.code = ? "
                                "AND c.upto_entry_id > ?",
                                clearing, before),
                     PHASE_SECONDS);
    ck_assert_int_gt(check_every_account(), MERCHANTS);
    /* the hot merchant got exactly what its succeeded payments brought */
    char merchant[128];
    snprintf(merchant, sizeof(merchant), "mer_%s%020d", run, 1);
    ck_assert_int_eq(api_balance(&servers[0], code_of(1, buf, sizeof(buf)), NULL),
                     AMOUNT * fgt_db_int("SELECT COUNT(*) FROM payments p JOIN merchants m ON m.id = p.merchant_id "
                                         "WHERE m.public_id = ? AND p.status = 'succeeded'",
                                         merchant, NULL));
    ck_assert_int_eq(fgt_ledger_check(), 0);
    for (int i = 0; i < 4; i++)
        unlink(lists[i]);
}
END_TEST

static void start(void)
{
    static const char *const env[] = {"FEEGATE_SANDBOX_SECRET=" SECRET, "FEEGATE_LEDGER_CHECKPOINT_INTERVAL_MS=1000",
                                      NULL};
    _Static_assert(CHECKPOINT_INTERVAL_MS == 1000, "the environment above says so");
    for (int i = 0; i < 2; i++)
        fgt_server_start(&servers[i], env);
}

static void stop(void)
{
    for (int i = 0; i < 2; i++)
        ck_assert_int_eq(fgt_server_stop(&servers[i]), 0);
}

int main(void)
{
    /* three characters unique enough across runs on one database */
    static const char digits[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    unsigned v = (unsigned)time(NULL) ^ ((unsigned)getpid() << 7);
    for (int i = 0; i < 3; i++, v /= 32)
        run[i] = digits[v % 32];
    Suite *s = suite_create("soak_ledger");
    TCase *tc = fgt_tcase(s, "soak", start, stop);
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, balances_hold_under_sustained_load);
    return fgt_run(s);
}
