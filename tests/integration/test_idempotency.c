/*
 * test_idempotency.c - Idempotency-Key over HTTP/1.1, h2c and HTTP/2 TLS:
 * byte-for-byte replays, reuse with another request, scope per merchant,
 * replayed validation failures, duplicate merchant_ref, 50 concurrent
 * requests with one key, and the 24-hour lifetime with its sweep.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "harness.h"

static fgt_server_t srv;
static fgt_merchant_t a, b;

static void start(const char *const *env)
{
    fgt_merchant_create("Trường Tiểu học Lặp Lại", a.id, a.key);
    fgt_merchant_create("Bệnh viện Kiểm Thử", b.id, b.key);
    fgt_server_start(&srv, env);
}

static void setup(void) { start(NULL); }

/* The sweeper runs once at start, then not again within a test. */
static void setup_without_sweeps(void)
{
    const char *env[] = {"FEEGATE_ORDERS_SWEEP_INTERVAL_MS=3600000", NULL};
    start(env);
}

static void teardown(void) { ck_assert_int_eq(fgt_server_stop(&srv), 0); }

static fgt_response_t post(fgt_proto_t p, const fgt_merchant_t *m, const char *key, const char *body)
{
    return fgt_req(&srv, p, "POST", "/v1/orders", m->key, key, body, 0, NULL);
}

/* r is a replay of first: the same status and the same bytes, marked. */
static void expect_replay(const fgt_response_t *r, const fgt_response_t *first)
{
    ck_assert_int_eq(r->status, first->status);
    ck_assert_uint_eq(r->body_len, first->body_len);
    ck_assert_mem_eq(r->body, first->body, first->body_len);
    const char *replayed = fgt_header(r, "idempotent-replayed");
    ck_assert_msg(replayed != NULL && strcmp(replayed, "true") == 0, "Idempotent-Replayed: %s", replayed);
}

static void expect_not_replayed(const fgt_response_t *r)
{
    ck_assert_msg(fgt_header(r, "idempotent-replayed") == NULL, "a first answer marked as a replay");
}

/* ---- replays and reuse ----------------------------------------------------------- */

START_TEST(same_key_same_body_is_replayed)
{
    fgt_proto_t p = (fgt_proto_t)_i;
    char key[96], ref[96];
    snprintf(key, sizeof(key), "%s", fgt_unique("K"));
    snprintf(ref, sizeof(ref), "%s", fgt_unique("RP"));
    char *body = fgt_order_body(ref, 4200, ",\"description\":\"Tiền điện tháng 11\"");
    fgt_response_t first = post(p, &a, key, body);
    fgt_expect(first, 201, NULL);
    expect_not_replayed(&first);
    for (int q = 0; q < FGT_PROTOS; q++) { /* from any protocol */
        fgt_response_t again = post((fgt_proto_t)q, &a, key, body);
        expect_replay(&again, &first);
        fgt_response_free(&again);
    }
    ck_assert_int_eq(fgt_db_orders_with_ref(a.id, ref), 1);
    fgt_response_free(&first);
    free(body);
}
END_TEST

START_TEST(same_key_other_request_is_422)
{
    fgt_proto_t p = (fgt_proto_t)_i;
    char key[96], ref[96], other_ref[96], cancel_path[128];
    snprintf(key, sizeof(key), "%s", fgt_unique("K"));
    snprintf(ref, sizeof(ref), "%s", fgt_unique("RU"));
    snprintf(other_ref, sizeof(other_ref), "%s", fgt_unique("RU2"));
    fgt_response_t first = fgt_order_create(&srv, p, a.key, key, ref, 4200, NULL);
    fgt_expect(first, 201, NULL);
    fgt_response_t r = fgt_order_create(&srv, p, a.key, key, other_ref, 4200, NULL); /* another body */
    fgt_expect_error(r, 422, "idempotency", "idempotency_key_reused");
    fgt_response_free(&r);
    r = fgt_order_create(&srv, p, a.key, key, ref, 4201, NULL); /* the same ref, another amount */
    fgt_expect_error(r, 422, "idempotency", "idempotency_key_reused");
    fgt_response_free(&r);
    snprintf(cancel_path, sizeof(cancel_path), "/v1/orders/%s/cancel", fgt_json_str(&first, "id", NULL));
    r = fgt_req(&srv, p, "POST", cancel_path, a.key, key, NULL, 0, NULL); /* another path */
    fgt_expect_error(r, 422, "idempotency", "idempotency_key_reused");
    fgt_response_free(&r);
    ck_assert_int_eq(fgt_db_orders_with_ref(a.id, other_ref), 0);
    ck_assert_int_eq(fgt_db_int("SELECT COUNT(*) FROM orders WHERE public_id = ? AND status = 'open' AND amount = 4200",
                                fgt_json_str(&first, "id", NULL), NULL),
                     1);
    fgt_response_free(&first);
}
END_TEST

START_TEST(keys_are_scoped_per_merchant)
{
    fgt_proto_t p = (fgt_proto_t)_i;
    char key[96];
    snprintf(key, sizeof(key), "%s", fgt_unique("K"));
    char *body = fgt_order_body(fgt_unique("SC"), 1500, NULL);
    fgt_response_t ra = post(p, &a, key, body), rb = post(p, &b, key, body); /* even the same body */
    fgt_expect(ra, 201, NULL);
    fgt_expect(rb, 201, NULL);
    expect_not_replayed(&rb);
    ck_assert_str_eq(fgt_json_str(&rb, "merchant_id", NULL), b.id);
    ck_assert_str_ne(fgt_json_str(&rb, "id", NULL), fgt_json_str(&ra, "id", NULL));
    ck_assert_int_eq(fgt_db_orders(b.id), 1);
    fgt_response_free(&ra);
    fgt_response_free(&rb);
    free(body);
}
END_TEST

START_TEST(refusals_are_replayed_too)
{
    static const struct {
        const char *body;
        long status;
        const char *code;
    } BAD[] = {
        {"{\"merchant_ref\":\"R\",\"fee_type\":\"utility\",\"amount\":0,\"currency\":\"VND\"}", 422, "amount_invalid"},
        {"{\"merchant_ref\":", 400, "invalid_json"},
        {"{\"merchant_ref\":\"R\",\"fee_type\":\"tax\",\"amount\":5,\"currency\":\"VND\"}", 422, "invalid_fee_type"},
    };
    fgt_proto_t p = (fgt_proto_t)_i;
    for (size_t i = 0; i < sizeof(BAD) / sizeof(BAD[0]); i++) {
        char key[96];
        snprintf(key, sizeof(key), "%s", fgt_unique("KV"));
        fgt_response_t first = post(p, &a, key, BAD[i].body);
        fgt_expect(first, BAD[i].status, BAD[i].code);
        expect_not_replayed(&first);
        fgt_response_t again = post(p, &a, key, BAD[i].body);
        expect_replay(&again, &first);
        fgt_response_free(&again);
        char *good = fgt_order_body(fgt_unique("KV"), 5, NULL); /* the key stays taken */
        again = post(p, &a, key, good);
        fgt_expect(again, 422, "idempotency_key_reused");
        fgt_response_free(&again);
        fgt_response_free(&first);
        free(good);
    }
    ck_assert_int_eq(fgt_db_orders(a.id), 0);
}
END_TEST

START_TEST(duplicate_merchant_ref_is_409)
{
    fgt_proto_t p = (fgt_proto_t)_i;
    char ref[96];
    /* the database's message of a duplicate holds the value: a merchant_ref that names the code's key is still
     * a taken merchant_ref, not a code collision */
    snprintf(ref, sizeof(ref), "%s-for key 'uq_orders_code'", fgt_unique("DUP"));
    fgt_response_t first = fgt_order_create(&srv, p, a.key, NULL, ref, 100, NULL);
    fgt_expect(first, 201, NULL);
    for (int amount = 100; amount <= 200; amount += 100) { /* the same body, or another */
        fgt_response_t r = fgt_order_create(&srv, p, a.key, NULL, ref, amount, NULL);
        fgt_expect_error(r, 409, "conflict", "duplicate_merchant_ref");
        ck_assert_str_eq(fgt_json_str(&r, "error", "existing_order_id", NULL), fgt_json_str(&first, "id", NULL));
        ck_assert_str_eq(fgt_json_str(&r, "error", "field", NULL), "merchant_ref");
        fgt_response_free(&r);
    }
    ck_assert_int_eq(fgt_db_orders_with_ref(a.id, ref), 1);
    fgt_response_free(&first);
}
END_TEST

/* ---- concurrency -------------------------------------------------------------------- */

/* 50 identical requests with one key at once: h2c and h2 multiplex them as
 * streams of one connection, HTTP/1.1 sends each on its own connection. */
START_TEST(fifty_at_once_make_one_order)
{
    enum { N = 50 };
    fgt_proto_t p = (fgt_proto_t)_i;
    fgt_response_t out[N];
    char key[96], ref[96];
    snprintf(key, sizeof(key), "%s", fgt_unique("KC"));
    snprintf(ref, sizeof(ref), "%s", fgt_unique("CC"));
    char *body = fgt_order_body(ref, 777000, ",\"payer\":{\"name\":\"Trần Văn Đồng\"}");
    fgt_req_many(&srv, p, N, "POST", "/v1/orders", a.key, key, body, NULL, out);
    int created = 0, fresh = 0;
    const fgt_response_t *winner = NULL;
    for (int i = 0; i < N; i++) {
        if (out[i].status != 201) {
            fgt_expect(out[i], 409, "idempotency_key_in_progress");
            continue;
        }
        created++;
        fresh += fgt_header(&out[i], "idempotent-replayed") == NULL;
        if (winner == NULL)
            winner = &out[i];
        ck_assert_uint_eq(out[i].body_len, winner->body_len);
        ck_assert_mem_eq(out[i].body, winner->body, winner->body_len);
    }
    ck_assert_int_ge(created, 1);
    ck_assert_int_le(fresh, 1);
    ck_assert_int_eq(fgt_db_orders_with_ref(a.id, ref), 1);
    ck_assert_int_eq(fgt_db_int("SELECT COUNT(*) FROM orders WHERE public_id = ?", fgt_json_str(winner, "id", NULL),
                                NULL),
                     1);
    for (int i = 0; i < N; i++)
        fgt_response_free(&out[i]);
    free(body);
}
END_TEST

/* Creates at once, a third of them naming one merchant_ref: the server's groups of creates
 * queue their orders to one INSERT at COMMIT, where a taken merchant_ref fails the group and
 * every member runs again alone. Each answer is its own: one 201 and the rest 409 naming it
 * for the shared ref, 201 for every other order, each stored once. */
START_TEST(a_taken_merchant_ref_among_concurrent_creates_is_its_own_409)
{
    enum { N = 48 };
    fgt_proto_t p = (fgt_proto_t)_i;
    fgt_request_t reqs[N];
    fgt_response_t out[N];
    char *bodies[N], shared[96], auth[200];
    const char *headers[] = {auth, "Content-Type: application/json", NULL};
    snprintf(auth, sizeof(auth), "Authorization: Bearer %s", a.key);
    snprintf(shared, sizeof(shared), "%s", fgt_unique("SH"));
    for (int i = 0; i < N; i++) {
        bodies[i] = fgt_order_body(i % 3 == 0 ? shared : fgt_unique("UQ"), 1000 + i, NULL);
        reqs[i] = (fgt_request_t){"POST", "/v1/orders", headers, bodies[i], 0, NULL};
    }
    fgt_request_all(&srv, p, p == FGT_HTTP1 ? N : 2, N, reqs, NULL, NULL, out);
    const char *winner = NULL;
    for (int i = 0; i < N; i += 3)
        if (out[i].status == 201) {
            ck_assert_ptr_null(winner);
            winner = fgt_json_str(&out[i], "id", NULL);
        }
    ck_assert_ptr_nonnull(winner);
    for (int i = 0; i < N; i++) {
        if (i % 3 != 0) {
            fgt_expect(out[i], 201, NULL);
            ck_assert_int_eq(fgt_json_int(&out[i], "amount", NULL), 1000 + i);
            ck_assert_int_eq(fgt_db_int("SELECT COUNT(*) FROM orders WHERE public_id = ?",
                                        fgt_json_str(&out[i], "id", NULL), NULL),
                             1);
        } else if (out[i].status != 201) {
            fgt_expect_error(out[i], 409, "conflict", "duplicate_merchant_ref");
            ck_assert_str_eq(fgt_json_str(&out[i], "error", "existing_order_id", NULL), winner);
        }
    }
    ck_assert_int_eq(fgt_db_orders_with_ref(a.id, shared), 1);
    for (int i = 0; i < N; i++) {
        fgt_response_free(&out[i]);
        free(bodies[i]);
    }
}
END_TEST

/* ---- lifetime --------------------------------------------------------------------------- */

static const char SQL_KEY_ROWS[] = "SELECT COUNT(*) FROM idempotency_keys WHERE idem_key = ?";

/* The key's row looks 24 h old: past its lifetime. */
static void age_key(const char *key)
{
    fgt_db_exec("UPDATE idempotency_keys SET created_at = created_at - 86400001, expires_at = expires_at - 86400001 "
                "WHERE idem_key = ?",
                key);
}

START_TEST(keys_live_24_hours_then_are_swept)
{
    char key[96];
    snprintf(key, sizeof(key), "%s", fgt_unique("KS"));
    fgt_response_t r = fgt_order_create(&srv, FGT_H2C, a.key, key, fgt_unique("TTL"), 10, NULL);
    fgt_expect(r, 201, NULL);
    fgt_response_free(&r);
    ck_assert_int_eq(fgt_db_int(SQL_KEY_ROWS, key, NULL), 1);
    long long ttl = fgt_db_int("SELECT expires_at - created_at FROM idempotency_keys WHERE idem_key = ?", key, NULL);
    ck_assert_msg(ttl >= 24LL * 3600 * 1000 - 1000 && ttl <= 24LL * 3600 * 1000 + 1000, "lifetime %lld ms", ttl);

    age_key(key);
    long long left = fgt_db_int(SQL_KEY_ROWS, key, NULL);
    for (int waited = 0; left != 0 && waited < 5000; waited += 100) {
        fgt_sleep_ms(100);
        left = fgt_db_int(SQL_KEY_ROWS, key, NULL);
    }
    ck_assert_msg(left == 0, "the sweeper left the expired key");

    r = fgt_order_create(&srv, FGT_H2C, a.key, key, fgt_unique("TTL"), 10, NULL); /* a new request */
    fgt_expect(r, 201, NULL);
    expect_not_replayed(&r);
    fgt_response_free(&r);
    ck_assert_int_eq(fgt_db_int(SQL_KEY_ROWS, key, NULL), 1);
}
END_TEST

/* Past its 24 hours a key is free at once, whether or not the sweeper has
 * deleted its row yet: any request under it is a new one. */
START_TEST(an_expired_key_is_free_before_the_sweep)
{
    static const struct {
        const char *what;
        long long amount; /* 0 is refused */
        int same_ref;     /* the first request's merchant_ref again */
        long status;
        const char *code;
    } NEXT[] = {{"another order", 10, 0, 201, NULL},
                {"a refused order", 0, 0, 422, "amount_invalid"},
                {"the first order again", 10, 1, 409, "duplicate_merchant_ref"}};
    char key[96], ref[96];
    snprintf(key, sizeof(key), "%s", fgt_unique("KX"));
    snprintf(ref, sizeof(ref), "%s", fgt_unique("TTL"));
    fgt_response_t r = fgt_order_create(&srv, FGT_H2C, a.key, key, ref, 10, NULL);
    fgt_expect(r, 201, NULL);
    fgt_response_free(&r);
    age_key(key);
    r = fgt_order_create(&srv, FGT_H2C, a.key, key, NEXT[_i].same_ref ? ref : fgt_unique("TTL"), NEXT[_i].amount, NULL);
    ck_assert_msg(r.status == NEXT[_i].status, "%s under an expired key: %ld, wanted %ld: %s", NEXT[_i].what, r.status,
                  NEXT[_i].status, r.body);
    fgt_expect(r, NEXT[_i].status, NEXT[_i].code);
    expect_not_replayed(&r);
    fgt_response_free(&r);
}
END_TEST

/* ---- creates taken together ------------------------------------------------------- */

/* One database worker: what arrives while it works waits in the queue and is taken at once. */
static void setup_one_worker(void)
{
    const char *env[] = {"FEEGATE_DB_POOL_SIZE=1", NULL};
    start(env);
}

/* Creates a worker takes together share one transaction; each still gets the answer it would get
 * alone: a replay, a key reused with another body, a taken merchant_ref, a refused order, a
 * wrong API key, the same new key twice, among plain creates. */
START_TEST(creates_taken_together_keep_their_own_answers)
{
    enum { PLAIN = 30, N = PLAIN + 7 };
    char taken_key[96], taken_ref[96], twin_key[96], keys[N][96], auths[N][200];
    char *bodies[N];
    const char *headers[N][4];
    fgt_request_t reqs[N];
    fgt_response_t out[N];
    snprintf(taken_key, sizeof(taken_key), "%s", fgt_unique("KT"));
    snprintf(taken_ref, sizeof(taken_ref), "%s", fgt_unique("RT"));
    snprintf(twin_key, sizeof(twin_key), "%s", fgt_unique("KW"));
    char *first_body = fgt_order_body(taken_ref, 5000, NULL);
    fgt_response_t first = post(FGT_H2C, &a, taken_key, first_body);
    fgt_expect(first, 201, NULL);
    char *twin_body = fgt_order_body(fgt_unique("RW"), 6000, NULL);
    for (int i = 0; i < N; i++) {
        const char *key = keys[i], *api = a.key;
        snprintf(keys[i], sizeof(keys[i]), "%s", fgt_unique("KG"));
        if (i < PLAIN) {
            bodies[i] = fgt_order_body(fgt_unique("RG"), 1000 + i, NULL);
        } else if (i == PLAIN) { /* a replay of the first */
            bodies[i] = strdup(first_body);
            key = taken_key;
        } else if (i == PLAIN + 1) { /* the first's key, another body */
            bodies[i] = fgt_order_body(fgt_unique("RO"), 5000, NULL);
            key = taken_key;
        } else if (i == PLAIN + 2) { /* the first's merchant_ref under a new key */
            bodies[i] = fgt_order_body(taken_ref, 5000, NULL);
        } else if (i == PLAIN + 3) { /* refused: amount 0 */
            bodies[i] = fgt_order_body(fgt_unique("RZ"), 0, NULL);
        } else if (i == PLAIN + 4) { /* not a merchant's key */
            bodies[i] = fgt_order_body(fgt_unique("RK"), 7000, NULL);
            api = "sk_live_notakeyofanyone";
        } else { /* the same new key and body, twice */
            bodies[i] = strdup(twin_body);
            key = twin_key;
        }
        if (key != keys[i])
            snprintf(keys[i], sizeof(keys[i]), "%s", key);
        snprintf(auths[i], sizeof(auths[i]), "Authorization: Bearer %s", api);
        static char idem[N][140];
        snprintf(idem[i], sizeof(idem[i]), "Idempotency-Key: %s", keys[i]);
        headers[i][0] = auths[i];
        headers[i][1] = idem[i];
        headers[i][2] = "Content-Type: application/json";
        headers[i][3] = NULL;
        reqs[i] = (fgt_request_t){"POST", "/v1/orders", headers[i], bodies[i], 0, NULL};
    }
    long long batched = fgt_metric(&srv, "feegate_db_pool_batched_requests_total");
    fgt_request_all(&srv, FGT_H2C, 1, N, reqs, NULL, NULL, out);
    ck_assert_int_ge(fgt_metric(&srv, "feegate_db_pool_batched_requests_total") - batched, 2);
    for (int i = 0; i < PLAIN; i++) {
        fgt_expect(out[i], 201, NULL);
        expect_not_replayed(&out[i]);
        ck_assert_int_eq(fgt_json_int(&out[i], "amount", NULL), 1000 + i);
        ck_assert_int_eq(fgt_db_int("SELECT COUNT(*) FROM orders WHERE public_id = ?",
                                    fgt_json_str(&out[i], "id", NULL), NULL),
                         1);
    }
    expect_replay(&out[PLAIN], &first);
    fgt_expect_error(out[PLAIN + 1], 422, "idempotency", "idempotency_key_reused");
    fgt_expect_error(out[PLAIN + 2], 409, "conflict", "duplicate_merchant_ref");
    ck_assert_str_eq(fgt_json_str(&out[PLAIN + 2], "error", "existing_order_id", NULL),
                     fgt_json_str(&first, "id", NULL));
    ck_assert_int_eq(fgt_db_orders_with_ref(a.id, taken_ref), 1);
    fgt_expect(out[PLAIN + 3], 422, "amount_invalid");
    ck_assert_int_eq(out[PLAIN + 4].status, 401);
    /* the twins: one order; the other a replay of it or told the key is still in progress */
    int made = 0;
    for (int i = PLAIN + 5; i < N; i++) {
        if (out[i].status == 201) {
            made += fgt_header(&out[i], "idempotent-replayed") == NULL;
            continue;
        }
        fgt_expect(out[i], 409, "idempotency_key_in_progress");
    }
    ck_assert_int_eq(made, 1);
    for (int i = 0; i < N; i++) {
        fgt_response_free(&out[i]);
        free(bodies[i]);
    }
    fgt_response_free(&first);
    free(first_body);
    free(twin_body);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("idempotency");
    TCase *tc = fgt_tcase(s, "keys", setup, teardown);
    tcase_add_loop_test(tc, same_key_same_body_is_replayed, 0, FGT_PROTOS);
    tcase_add_loop_test(tc, same_key_other_request_is_422, 0, FGT_PROTOS);
    tcase_add_loop_test(tc, keys_are_scoped_per_merchant, 0, FGT_PROTOS);
    tcase_add_loop_test(tc, refusals_are_replayed_too, 0, FGT_PROTOS);
    tcase_add_loop_test(tc, duplicate_merchant_ref_is_409, 0, FGT_PROTOS);
    tcase_add_loop_test(tc, fifty_at_once_make_one_order, 0, FGT_PROTOS);
    tcase_add_loop_test(tc, a_taken_merchant_ref_among_concurrent_creates_is_its_own_409, 0, FGT_PROTOS);
    tcase_add_test(tc, keys_live_24_hours_then_are_swept);
    tc = fgt_tcase(s, "lifetime without sweeps", setup_without_sweeps, teardown);
    tcase_add_loop_test(tc, an_expired_key_is_free_before_the_sweep, 0, 3);
    tc = fgt_tcase(s, "one worker", setup_one_worker, teardown);
    tcase_add_test(tc, creates_taken_together_keep_their_own_answers);
    return fgt_run(s);
}
