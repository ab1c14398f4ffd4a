/*
 * test_changes.c - the commit-ordered change feed (docs/CHANGES.md) on the
 * real server and database: a merchant's orders, payments and refunds as
 * signed NDJSON pages; a change whose transaction commits late read after the
 * changes that committed before it, by a reader already past them; passes of
 * the sequencer racing each other, writers and a reader that must see every
 * change exactly once; a statement expanded into its lines and their items,
 * cut into pages anywhere; export keys and their scope; signing keys rotated;
 * and the snapshots of the triggers, of the migration's backfill and of the
 * expansion agreeing with each other.
 */
#include <check.h>
#include <mysql.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include "changes/changes.h"
#include "core/crypto.h"
#include "core/ids.h"
#include "core/text.h"
#include "harness.h"
#include "ledger/recon_counts.h"

#define SANDBOX_SECRET "it-changes-sandbox"
#define SEPAY_KEY "it-changes-sepay"
/* The most objects one test reads from the feed. */
#define OBJECTS_MAX 20000

static char key_dir[64], key_a[128], key_b[128], env_key_a[200], env_key_b[200], env_published_a[200];

static void write_key(const char *path)
{
    EVP_PKEY *k = EVP_EC_gen("P-256");
    ck_assert_ptr_nonnull(k);
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL), 1);
    fclose(f);
    EVP_PKEY_free(k);
}

/* Two signing keys of this test's own, as tests/run and quickstart make one. */
static void setup(void)
{
    snprintf(key_dir, sizeof(key_dir), "/tmp/feegate-changes-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(key_dir));
    snprintf(key_a, sizeof(key_a), "%s/a.pem", key_dir);
    snprintf(key_b, sizeof(key_b), "%s/b.pem", key_dir);
    write_key(key_a);
    write_key(key_b);
    snprintf(env_key_a, sizeof(env_key_a), "FEEGATE_EXPORT_SIGNING_KEY_FILE=%s", key_a);
    snprintf(env_key_b, sizeof(env_key_b), "FEEGATE_EXPORT_SIGNING_KEY_FILE=%s", key_b);
    snprintf(env_published_a, sizeof(env_published_a), "FEEGATE_EXPORT_PUBLISHED_KEY_FILES= %s ", key_a);
}

static void teardown(void)
{
    unlink(key_a);
    unlink(key_b);
    rmdir(key_dir);
}

static void server_start(fgt_server_t *s, const char *key_env)
{
    const char *env[] = {"FEEGATE_SANDBOX_SECRET=" SANDBOX_SECRET, "FEEGATE_SEPAY_API_KEY=" SEPAY_KEY, key_env, NULL};
    fgt_server_start(s, env);
}

static fg_jws_key_t *public_key(const char *path)
{
    fg_jws_key_t *k = NULL;
    char err[300];
    ck_assert_msg(fg_jws_key_load(path, 0, &k, err, sizeof(err)) == 0, "%s", err);
    return k;
}

/* `feegate admin key create --scope export`: the key (holds FGT_ID_CAP). */
static void export_key(char *key, char *id)
{
    char out[512];
    const char *argv[] = {"feegate", "admin", "key", "create", "--scope", "export", NULL};
    ck_assert_int_eq(fgt_cli(argv, NULL, out, sizeof(out)), 0);
    yajl_val root = yajl_tree_parse(out, NULL, 0);
    ck_assert_ptr_nonnull(root);
    ck_assert_int_eq(strncmp(fgt_val_str(root, "id", NULL), "key_", 4), 0);
    snprintf(key, FGT_ID_CAP, "%s", fgt_val_str(root, "api_key", NULL));
    if (id != NULL)
        snprintf(id, FGT_ID_CAP, "%s", fgt_val_str(root, "id", NULL));
    yajl_tree_free(root);
}

/* The sequencer's high-water mark: a cursor after everything numbered so
 * far (what waits for a number comes after it). */
static void feed_end(char *cursor)
{
    snprintf(cursor, FG_CHANGE_CURSOR_CAP, "%lld",
             fgt_db_int("SELECT last_seq FROM change_sequencer WHERE id = 1", NULL, NULL));
}

/* ---- reading the feed ----------------------------------------------------------------- */

typedef struct {
    long long seq;
    char entity[24], id[48], op[8], merchant[48];
    char *line; /* the NDJSON line, without its newline */
    yajl_val json;
} object_t;

typedef struct {
    object_t *objects;
    int count;
    int sub_cursors; /* cursors given out that pointed inside a statement */
    int pages;
} feed_t;

static void feed_free(feed_t *f)
{
    for (int i = 0; i < f->count; i++) {
        free(f->objects[i].line);
        yajl_tree_free(f->objects[i].json);
    }
    free(f->objects);
    memset(f, 0, sizeof(*f));
}

static void copy_str(char *out, size_t cap, yajl_val v, const char *key)
{
    const char *s = fgt_val_str(v, key, NULL);
    snprintf(out, cap, "%s", s != NULL ? s : "");
}

static void add_lines(feed_t *f, const char *body, size_t len)
{
    const char *p = body, *end = body + len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        ck_assert_msg(nl != NULL, "a page ends without a newline");
        ck_assert_int_lt(f->count, OBJECTS_MAX);
        if (f->objects == NULL)
            f->objects = calloc(OBJECTS_MAX, sizeof(object_t));
        object_t *o = &f->objects[f->count++];
        o->line = strndup(p, (size_t)(nl - p));
        char err[128];
        o->json = yajl_tree_parse(o->line, err, sizeof(err));
        ck_assert_msg(o->json != NULL, "not JSON (%s): %s", err, o->line);
        yajl_val seq = fgt_val_at(o->json, "seq", NULL);
        ck_assert(seq != NULL && YAJL_IS_INTEGER(seq));
        o->seq = YAJL_GET_INTEGER(seq);
        copy_str(o->entity, sizeof(o->entity), o->json, "entity");
        copy_str(o->id, sizeof(o->id), o->json, "id");
        copy_str(o->op, sizeof(o->op), o->json, "op");
        copy_str(o->merchant, sizeof(o->merchant), o->json, "merchant_id");
        ck_assert_ptr_nonnull(fgt_val_at(o->json, "at", NULL));
        ck_assert(YAJL_IS_OBJECT(fgt_val_at(o->json, "data", NULL)));
        p = nl + 1;
    }
}

/* One page after `after`; its signature is checked with key.  Returns the
 * body's length and fills next; the body is appended to body (may be NULL). */
static int read_page(const fgt_server_t *s, const char *key, const fg_jws_key_t *verify, const char *after, int limit,
                     feed_t *f, char *next, fg_buf_t *body)
{
    char path[200];
    snprintf(path, sizeof(path), "/v1/exports/changes?after=%s&limit=%d", after, limit);
    fgt_response_t r = fgt_req(s, FGT_H2C, "GET", path, key, NULL, NULL, 0, NULL);
    fgt_expect(r, 200, NULL);
    ck_assert_str_eq(fgt_header(&r, "content-type"), "application/x-ndjson");
    const char *cursor = fgt_header(&r, "x-feegate-next-cursor");
    ck_assert_ptr_nonnull(cursor);
    snprintf(next, FG_CHANGE_CURSOR_CAP, "%s", cursor);
    const char *sig = fgt_header(&r, "x-feegate-signature");
    ck_assert_ptr_nonnull(sig);
    ck_assert_msg(fg_jws_verify_detached(verify, sig, strlen(sig), r.body, r.body_len) == 0,
                  "the page after %s does not verify", after);
    int before = f->count;
    add_lines(f, r.body, r.body_len);
    ck_assert_int_le(f->count - before, limit);
    if (body != NULL)
        fg_buf_append(body, r.body, r.body_len);
    f->pages++;
    if (strchr(next, '.') != NULL)
        f->sub_cursors++;
    int n = f->count - before;
    fgt_response_free(&r);
    return n;
}

/* Every page after `after` until one comes back short; next is where the
 * feed ends. */
static void read_all(const fgt_server_t *s, const char *key, const fg_jws_key_t *verify, const char *after, int limit,
                     feed_t *f, char *next, fg_buf_t *body)
{
    char cursor[FG_CHANGE_CURSOR_CAP];
    snprintf(cursor, sizeof(cursor), "%s", after);
    for (;;) {
        int n = read_page(s, key, verify, cursor, limit, f, next, body);
        if (n < limit)
            return;
        snprintf(cursor, sizeof(cursor), "%s", next);
    }
}

/* A reader that has read everything committed so far: its cursor. */
static void reader_at_end(const fgt_server_t *s, const char *key, const fg_jws_key_t *verify, char *cursor)
{
    char from[FG_CHANGE_CURSOR_CAP];
    feed_t f = {0};
    feed_end(from);
    read_all(s, key, verify, from, FG_CHANGES_LIMIT_MAX, &f, cursor, NULL);
    feed_free(&f);
}

static const object_t *find(const feed_t *f, const char *id, const char *op, int nth)
{
    for (int i = 0; i < f->count; i++)
        if (strcmp(f->objects[i].id, id) == 0 && (op == NULL || strcmp(f->objects[i].op, op) == 0) && nth-- == 0)
            return &f->objects[i];
    return NULL;
}

static const char *data_str(const object_t *o, const char *key) { return fgt_val_str(o->json, "data", key, NULL); }

static long long data_int(const object_t *o, const char *key)
{
    yajl_val v = fgt_val_at(o->json, "data", key, NULL);
    ck_assert_msg(v != NULL && YAJL_IS_INTEGER(v), "no integer data.%s in %s", key, o->line);
    return YAJL_GET_INTEGER(v);
}

/* ---- orders, payments, refunds ------------------------------------------------------------ */

static void order_new(const fgt_server_t *s, const fgt_merchant_t *m, long long amount, char *id)
{
    fgt_response_t r = fgt_order_create(s, FGT_H2C, m->key, NULL, fgt_unique("CH"), amount,
                                        ",\"payer\":{\"name\":\"Nguyễn Văn A\",\"ref\":\"HS-01\","
                                        "\"phone\":\"0900000000\"},\"metadata\":{\"lop\":\"6A\"}");
    fgt_expect(r, 201, NULL);
    snprintf(id, 64, "%s", fgt_json_str(&r, "id", NULL));
    fgt_response_free(&r);
}

static void order_cancel(const fgt_server_t *s, const fgt_merchant_t *m, const char *id)
{
    char path[128];
    snprintf(path, sizeof(path), "/v1/orders/%s/cancel", id);
    fgt_response_t r = fgt_req(s, FGT_H2C, "POST", path, m->key, NULL, NULL, 0, NULL);
    fgt_expect(r, 200, NULL);
    fgt_response_free(&r);
}

/* Pays an order through the sandbox; the payment's id. */
static void order_pay(const fgt_server_t *s, const fgt_merchant_t *m, const char *order, long long amount, char *pay)
{
    char path[128], body[160], note[300], header[200], msg[400], hex[65];
    uint8_t mac[FG_SHA256_LEN];
    snprintf(path, sizeof(path), "/v1/orders/%s/payments", order);
    snprintf(body, sizeof(body), "{\"method\":\"sandbox\",\"amount\":%lld}", amount);
    fgt_response_t r = fgt_req(s, FGT_H2C, "POST", path, m->key, NULL, body, 0, NULL);
    fgt_expect(r, 201, NULL);
    snprintf(pay, 64, "%s", fgt_json_str(&r, "id", NULL));
    fgt_response_free(&r);
    snprintf(note, sizeof(note),
             "{\"payment_id\":\"%s\",\"provider_txn_id\":\"%s\",\"status\":\"succeeded\",\"amount\":%lld}", pay,
             fgt_unique("TX"), amount);
    long long t = (long long)time(NULL);
    snprintf(msg, sizeof(msg), "%lld.%s", t, note);
    fg_hmac_sha256(SANDBOX_SECRET, strlen(SANDBOX_SECRET), msg, strlen(msg), mac);
    fg_hex_encode(mac, sizeof(mac), hex);
    snprintf(header, sizeof(header), "X-Signature: t=%lld,v1=%s", t, hex);
    r = fgt_req(s, FGT_HTTP1, "POST", "/v1/webhooks/sandbox", NULL, NULL, note, 0, header);
    fgt_expect(r, 200, NULL);
    fgt_response_free(&r);
}

START_TEST(a_merchants_changes_in_signed_pages)
{
    fgt_server_t s;
    fgt_merchant_t m;
    char ekey[FGT_ID_CAP], start[FG_CHANGE_CURSOR_CAP], end[FG_CHANGE_CURSOR_CAP], again[FG_CHANGE_CURSOR_CAP];
    char paid[64], cancelled[64], pay[64], path[160];
    server_start(&s, env_key_a);
    fg_jws_key_t *verify = public_key(key_a);
    fgt_merchant_create(fgt_unique("Trường Tiểu học Feed"), m.id, m.key);
    export_key(ekey, NULL);
    reader_at_end(&s, ekey, verify, start);

    order_new(&s, &m, 250000, paid);
    order_new(&s, &m, 90000, cancelled);
    order_cancel(&s, &m, cancelled);
    order_pay(&s, &m, paid, 250000, pay);
    snprintf(path, sizeof(path), "/v1/payments/%s/refunds", pay);
    fgt_response_t r = fgt_req(&s, FGT_H2C, "POST", path, m.key, NULL, "{\"amount\":50000,\"reason\":\"trả lại\"}", 0,
                               NULL);
    fgt_expect(r, 201, NULL);
    char refund[64];
    snprintf(refund, sizeof(refund), "%s", fgt_json_str(&r, "id", NULL));
    fgt_response_free(&r);

    /* pages of two, each signed; the same objects as one page of them all */
    feed_t small = {0}, whole = {0};
    fg_buf_t small_body = FG_BUF_INIT, whole_body = FG_BUF_INIT;
    read_all(&s, ekey, verify, start, 2, &small, end, &small_body);
    ck_assert_int_ge(small.pages, 4);
    read_all(&s, ekey, verify, start, FG_CHANGES_LIMIT_MAX, &whole, again, &whole_body);
    ck_assert_str_eq(again, end);
    ck_assert_uint_eq(small_body.len, whole_body.len);
    ck_assert(memcmp(small_body.data, whole_body.data, small_body.len) == 0);
    for (int i = 1; i < whole.count; i++)
        ck_assert_int_gt(whole.objects[i].seq, whole.objects[i - 1].seq);

    /* each object's story, in the order it happened */
    const object_t *paid_insert = find(&whole, paid, "insert", 0), *cancel = find(&whole, cancelled, "update", 0);
    const object_t *pay_insert = find(&whole, pay, "insert", 0), *pay_done = find(&whole, pay, "update", 0);
    const object_t *paid_update = find(&whole, paid, "update", 0), *refunded = find(&whole, refund, "insert", 0);
    ck_assert(paid_insert && cancel && pay_insert && pay_done && paid_update && refunded);
    ck_assert_str_eq(paid_insert->entity, "order");
    ck_assert_str_eq(paid_insert->merchant, m.id);
    ck_assert_str_eq(data_str(paid_insert, "status"), "open");
    ck_assert_int_eq(data_int(paid_insert, "amount"), 250000);
    ck_assert_str_eq(data_str(paid_insert, "payer_name"), "Nguyễn Văn A");
    ck_assert_ptr_null(fgt_val_at(paid_insert->json, "data", "payer_phone", NULL)); /* not exported */
    ck_assert_ptr_null(strstr(paid_insert->line, "0900000000"));                    /* nor anywhere */
    ck_assert_str_eq(fgt_val_str(paid_insert->json, "data", "metadata", "lop", NULL), "6A");
    ck_assert_str_eq(data_str(cancel, "status"), "cancelled");
    ck_assert_str_eq(pay_insert->entity, "payment");
    ck_assert_str_eq(data_str(pay_insert, "order_id"), paid);
    ck_assert_str_eq(data_str(pay_insert, "status"), "pending");
    ck_assert_str_eq(data_str(pay_insert, "method"), "sandbox");
    ck_assert_int_gt(pay_done->seq, pay_insert->seq);
    ck_assert_str_eq(data_str(pay_done, "status"), "succeeded");
    ck_assert_int_gt(paid_update->seq, pay_insert->seq);
    ck_assert_str_eq(data_str(paid_update, "status"), "paid");
    ck_assert_int_eq(data_int(paid_update, "amount_paid"), 250000);
    ck_assert_str_eq(refunded->entity, "refund");
    ck_assert_str_eq(data_str(refunded, "payment_id"), pay);
    ck_assert_int_gt(refunded->seq, pay_done->seq);
    /* the last word on each object is its state now */
    const object_t *last_refund = refunded, *last_paid = paid_update;
    for (int i = 0; i < whole.count; i++) {
        if (strcmp(whole.objects[i].id, refund) == 0)
            last_refund = &whole.objects[i];
        if (strcmp(whole.objects[i].id, paid) == 0)
            last_paid = &whole.objects[i];
    }
    ck_assert_str_eq(data_str(last_refund, "status"), "succeeded");
    ck_assert_int_eq(data_int(last_paid, "amount_refunded"), 50000);
    ck_assert_ptr_nonnull(strstr(paid_insert->line, "\"at\":\"20"));

    /* nothing after the end: an empty page, signed, the same cursor */
    feed_t none = {0};
    ck_assert_int_eq(read_page(&s, ekey, verify, end, 5, &none, again, NULL), 0);
    ck_assert_str_eq(again, end);
    feed_free(&none);
    feed_free(&small);
    feed_free(&whole);
    fg_buf_free(&small_body);
    fg_buf_free(&whole_body);
    fg_jws_key_free(verify);
    ck_assert_int_eq(fgt_server_stop(&s), 0);
    ck_assert_int_eq(fgt_ledger_check(), 0);
}
END_TEST

/* ---- a late commit ------------------------------------------------------------------------------ */

static MYSQL *connect_raw(void)
{
    MYSQL *db = mysql_init(NULL);
    const char *user = getenv("FEEGATE_DB_USER"), *pass = getenv("FEEGATE_DB_PASSWORD");
    const char *name = getenv("FEEGATE_DB_NAME");
    ck_assert_ptr_nonnull(mysql_real_connect(db, "localhost", user != NULL ? user : "feegate",
                                             pass != NULL ? pass : "feegate", name != NULL ? name : "feegate", 0,
                                             getenv("FEEGATE_DB_SOCKET"), 0));
    return db;
}

/* Inserts an order of merchant (row id) as SQL would; its public id in id
 * (FG_ID_CAP).  Does not commit. */
static void insert_order(MYSQL *db, long long merchant, char *id)
{
    char sql[600], code[FG_ORDER_CODE_LEN + 1];
    ck_assert_int_ge(fg_id_new("ord_", id, FG_ID_CAP), 0);
    ck_assert_int_eq(fg_order_code_new(code, sizeof(code)), 0);
    snprintf(sql, sizeof(sql),
             "INSERT INTO orders (public_id, merchant_id, merchant_ref, fee_type, amount, currency, code, created_at, "
             "updated_at) VALUES ('%s', %lld, '%s', 'utility', 1000, 'VND', '%s', %lld, %lld)",
             id, merchant, id, code, (long long)fg_now_ms(), (long long)fg_now_ms());
    ck_assert_msg(mysql_query(db, sql) == 0, "%s", mysql_error(db));
}

static long long row_of(MYSQL *db, const char *sql_fmt, const char *arg)
{
    char sql[300];
    snprintf(sql, sizeof(sql), sql_fmt, arg);
    ck_assert_int_eq(mysql_query(db, sql), 0);
    MYSQL_RES *res = mysql_store_result(db);
    MYSQL_ROW row = mysql_fetch_row(res);
    long long v = row != NULL && row[0] != NULL ? atoll(row[0]) : -1;
    mysql_free_result(res);
    return v;
}

/* A transaction writes a change and stays open while later ones commit, are
 * numbered and read; a reader that read past them gets the late change after
 * its commit, numbered after them, although its id is lower. */
START_TEST(a_late_commit_is_read_after_what_was_read_before)
{
    fgt_server_t s;
    fgt_merchant_t m;
    char ekey[FGT_ID_CAP], cursor[FG_CHANGE_CURSOR_CAP], next[FG_CHANGE_CURSOR_CAP], held[FG_ID_CAP];
    char later[3][64];
    server_start(&s, env_key_a);
    fg_jws_key_t *verify = public_key(key_a);
    fgt_merchant_create(fgt_unique("Điện lực Feed"), m.id, m.key);
    long long merchant = fgt_db_int("SELECT id FROM merchants WHERE public_id = ?", m.id, NULL);
    export_key(ekey, NULL);
    feed_t f = {0};
    reader_at_end(&s, ekey, verify, cursor);

    MYSQL *db = connect_raw();
    ck_assert_int_eq(mysql_query(db, "START TRANSACTION"), 0);
    insert_order(db, merchant, held);
    long long held_id = row_of(db, "SELECT id FROM change_log WHERE object_id = '%s'", held);
    ck_assert_int_gt(held_id, 0);
    for (int i = 0; i < 3; i++)
        order_new(&s, &m, 1000 + i, later[i]);
    fgt_sleep_ms(200); /* the background sequencer has had several turns */

    read_all(&s, ekey, verify, cursor, 2, &f, next, NULL);
    ck_assert_int_eq(f.count, 3);
    for (int i = 0; i < 3; i++) {
        ck_assert_str_eq(f.objects[i].id, later[i]);
        ck_assert_int_gt(fgt_db_int("SELECT id FROM change_log WHERE object_id = ?", later[i], NULL), held_id);
    }
    ck_assert_ptr_null(find(&f, held, NULL, 0));
    long long read_up_to = f.objects[2].seq;
    ck_assert_int_eq(atoll(next), read_up_to);
    feed_free(&f);

    ck_assert_int_eq(mysql_query(db, "COMMIT"), 0);
    mysql_close(db);
    read_all(&s, ekey, verify, next, 2, &f, cursor, NULL);
    ck_assert_int_eq(f.count, 1);
    ck_assert_str_eq(f.objects[0].id, held);
    ck_assert_str_eq(f.objects[0].op, "insert");
    ck_assert_int_gt(f.objects[0].seq, read_up_to);
    feed_free(&f);
    fg_jws_key_free(verify);
    ck_assert_int_eq(fgt_server_stop(&s), 0);
}
END_TEST

/* ---- passes racing writers and a reader ------------------------------------------------------ */

/* How long writers, passes and the reader race. */
#define RACE_MS 2500
#define RACE_SEQUENCERS 3
#define RACE_WRITERS 3

static struct {
    fg_config_t cfg;
    long long merchant, start_seq;
    atomic_int stop, writes, failures;
    long long *seen; /* seqs the reader read, in order */
    int seen_count;
} race;

static void *race_sequencer(void *arg)
{
    int skip_locked = (int)(intptr_t)arg;
    mysql_thread_init();
    fg_db_t *db = fgt_db_open(&race.cfg);
    while (!atomic_load(&race.stop)) {
        if (fg_changes_sequence(db, skip_locked) < 0)
            atomic_fetch_add(&race.failures, 1);
        fg_sleep_ms(1);
    }
    fg_db_close(db);
    mysql_thread_end();
    return NULL;
}

/* Writers commit orders and updates; one of every few transactions stays
 * open for a while, so ids commit out of order. */
static void *race_writer(void *arg)
{
    int n = (int)(intptr_t)arg;
    char id[FG_ID_CAP], sql[200];
    mysql_thread_init();
    MYSQL *db = connect_raw();
    for (int i = 0; !atomic_load(&race.stop); i++) {
        ck_assert_int_eq(mysql_query(db, "START TRANSACTION"), 0);
        insert_order(db, race.merchant, id);
        snprintf(sql, sizeof(sql), "UPDATE orders SET status = 'cancelled' WHERE public_id = '%s'", id);
        ck_assert_int_eq(mysql_query(db, sql), 0);
        if ((i + n) % 7 == 0)
            fg_sleep_ms(150);
        ck_assert_int_eq(mysql_query(db, "COMMIT"), 0);
        atomic_fetch_add(&race.writes, 1);
    }
    mysql_close(db);
    mysql_thread_end();
    return NULL;
}

static void race_read(fg_db_t *db, fg_change_cursor_t *cursor)
{
    for (;;) {
        fg_buf_t out = FG_BUF_INIT;
        int count = 0;
        fg_change_cursor_t next;
        ck_assert_int_eq(fg_changes_read(db, cursor, 500, &out, &next, &count), 0);
        for (const char *p = out.data; p != NULL && *p != '\0'; p = strchr(p, '\n') + 1) {
            ck_assert_int_lt(race.seen_count, 200000);
            race.seen[race.seen_count++] = atoll(p + strlen("{\"seq\":"));
        }
        fg_buf_free(&out);
        *cursor = next;
        if (count < 500)
            return;
    }
}

START_TEST(passes_race_writers_and_a_reader_misses_nothing)
{
    fgt_merchant_t m;
    pthread_t sequencers[RACE_SEQUENCERS], writers[RACE_WRITERS];
    fgt_config_load(&race.cfg);
    fgt_merchant_create(fgt_unique("Cấp nước Race"), m.id, m.key);
    race.merchant = fgt_db_int("SELECT id FROM merchants WHERE public_id = ?", m.id, NULL);
    fg_db_t *db = fgt_db_open(&race.cfg);
    while (fg_changes_sequence(db, 0) > 0)
        ; /* what earlier suites left */
    race.start_seq = fgt_db_int("SELECT last_seq FROM change_sequencer WHERE id = 1", NULL, NULL);
    race.seen = calloc(200000, sizeof(long long));
    race.seen_count = 0;
    atomic_store(&race.stop, 0);
    for (int i = 0; i < RACE_SEQUENCERS; i++)
        ck_assert_int_eq(pthread_create(&sequencers[i], NULL, race_sequencer, (void *)(intptr_t)(i == 0)), 0);
    for (int i = 0; i < RACE_WRITERS; i++)
        ck_assert_int_eq(pthread_create(&writers[i], NULL, race_writer, (void *)(intptr_t)i), 0);
    fg_change_cursor_t cursor = {race.start_seq, 0};
    for (long long until = fg_now_ms() + RACE_MS; fg_now_ms() < until;) {
        race_read(db, &cursor); /* reading while rows commit and get numbered */
        fg_sleep_ms(5);
    }
    atomic_store(&race.stop, 1);
    for (int i = 0; i < RACE_WRITERS; i++)
        pthread_join(writers[i], NULL);
    for (int i = 0; i < RACE_SEQUENCERS; i++)
        pthread_join(sequencers[i], NULL);
    while (fg_changes_sequence(db, 0) > 0)
        ;
    race_read(db, &cursor);

    ck_assert_int_eq(atomic_load(&race.failures), 0);
    ck_assert_int_ge(atomic_load(&race.writes), 20);
    long long last = fgt_db_int("SELECT last_seq FROM change_sequencer WHERE id = 1", NULL, NULL);
    char sql[300];
    snprintf(sql, sizeof(sql), "SELECT COUNT(*) FROM change_log WHERE seq IS NULL");
    ck_assert_int_eq(fgt_db_int(sql, NULL, NULL), 0);
    /* every number after the start handed out once, to a change or an event */
    snprintf(sql, sizeof(sql),
             "SELECT COUNT(*) FROM (SELECT seq s FROM change_log WHERE seq > %lld UNION ALL SELECT seq FROM events "
             "WHERE seq > %lld) t",
             race.start_seq, race.start_seq);
    long long numbered = fgt_db_int(sql, NULL, NULL);
    ck_assert_int_eq(numbered, last - race.start_seq);
    snprintf(sql, sizeof(sql),
             "SELECT COUNT(DISTINCT s) FROM (SELECT seq s FROM change_log WHERE seq > %lld UNION ALL "
             "SELECT seq FROM events WHERE seq > %lld) t",
             race.start_seq, race.start_seq);
    ck_assert_int_eq(fgt_db_int(sql, NULL, NULL), numbered);
    /* the reader saw every change exactly once, in order, and nothing else */
    snprintf(sql, sizeof(sql), "SELECT COUNT(*) FROM change_log WHERE seq > %lld", race.start_seq);
    long long changes = fgt_db_int(sql, NULL, NULL);
    ck_assert_int_eq(race.seen_count, changes);
    ck_assert_int_ge(changes, 2 * atomic_load(&race.writes));
    for (int i = 1; i < race.seen_count; i++)
        ck_assert_int_gt(race.seen[i], race.seen[i - 1]);
    /* and the rows that waited (their ids lower) were numbered after others */
    snprintf(sql, sizeof(sql),
             "SELECT EXISTS (SELECT 1 FROM change_log a JOIN change_log b ON b.id > a.id AND b.seq < a.seq "
             "WHERE a.seq > %lld AND b.seq > %lld)",
             race.start_seq, race.start_seq);
    ck_assert_int_gt(fgt_db_int(sql, NULL, NULL), 0);
    free(race.seen);
    fg_db_close(db);
    fg_config_free(&race.cfg);
}
END_TEST

/* ---- statements ---------------------------------------------------------------------------------- */

/* A camt.053 of account for 2026-12-02 with n credits of 1000 + i whose
 * memos name no order. */
static char *statement(const char *account, int n)
{
    size_t cap = 4096 + (size_t)n * 600;
    char *out = malloc(cap);
    long long opening = 10000000, closing = opening;
    for (int i = 0; i < n; i++)
        closing += 1000 + i;
    int len = snprintf(out, cap,
                       "<?xml version=\"1.0\"?>\n<Document xmlns=\"urn:iso:std:iso:20022:tech:xsd:camt.053.001.08\">"
                       "<BkToCstmrStmt><GrpHdr><MsgId>%s</MsgId><CreDtTm>2026-12-02T23:59:00+07:00</CreDtTm></GrpHdr>"
                       "<Stmt><Id>%s-1</Id><Acct><Id><Othr><Id>%s</Id></Othr></Id><Ccy>VND</Ccy></Acct>"
                       "<Bal><Tp><CdOrPrtry><Cd>OPBD</Cd></CdOrPrtry></Tp><Amt Ccy=\"VND\">%lld</Amt>"
                       "<CdtDbtInd>CRDT</CdtDbtInd><Dt><Dt>2026-12-01</Dt></Dt></Bal>"
                       "<Bal><Tp><CdOrPrtry><Cd>CLBD</Cd></CdOrPrtry></Tp><Amt Ccy=\"VND\">%lld</Amt>"
                       "<CdtDbtInd>CRDT</CdtDbtInd><Dt><Dt>2026-12-02</Dt></Dt></Bal>\n",
                       fgt_unique("M"), account, account, opening, closing);
    for (int i = 0; i < n; i++)
        len += snprintf(out + len, cap - (size_t)len,
                        "<Ntry><Amt Ccy=\"VND\">%d</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts><Cd>BOOK</Cd></Sts>"
                        "<BookgDt><Dt>2026-12-02</Dt></BookgDt><ValDt><Dt>2026-12-02</Dt></ValDt>"
                        "<AcctSvcrRef>%s-%d</AcctSvcrRef><NtryDtls><TxDtls><RmtInf><Ustrd>ung ho quy lop %d</Ustrd>"
                        "</RmtInf></TxDtls></NtryDtls></Ntry>\n",
                        1000 + i, account, i, i);
    snprintf(out + len, cap - (size_t)len, "</Stmt></BkToCstmrStmt></Document>\n");
    return out;
}

#define STATEMENT_LINES 5

/* A statement's insert change stands for its lines: the statement, then
 * each line and its item under the same seq, then its totals, then the
 * items' own updates; a page may end after any of them and the next one
 * starts right after it.  The first line is a transfer the bank feed paid an
 * order with before the import: matched as it is stored, it has no item row,
 * and its item is rendered from the line. */
START_TEST(a_statement_is_expanded_into_its_lines)
{
    fgt_server_t s;
    char ekey[FGT_ID_CAP], finance[96], start[FG_CHANGE_CURSOR_CAP], end[FG_CHANGE_CURSOR_CAP];
    char account[40], auth[160], stm[48];
    server_start(&s, env_key_a);
    fg_jws_key_t *verify = public_key(key_a);
    export_key(ekey, NULL);
    fgt_staff_token("finance", finance);
    snprintf(account, sizeof(account), "0071%09lld", (long long)(fg_now_ms() % 1000000000));
    reader_at_end(&s, ekey, verify, start);

    fgt_merchant_t m;
    fgt_merchant_create(fgt_unique("Trường THCS Feed"), m.id, m.key);
    fgt_response_t r = fgt_order_create(&s, FGT_H2C, m.key, NULL, fgt_unique("CS"), 1000, NULL);
    fgt_expect(r, 201, NULL);
    char order[64], code[64], transfer[800], ref[64];
    snprintf(order, sizeof(order), "%s", fgt_json_str(&r, "id", NULL));
    snprintf(code, sizeof(code), "%s", fgt_json_str(&r, "code", NULL));
    fgt_response_free(&r);
    snprintf(ref, sizeof(ref), "%s-0", account); /* the first line's reference */
    snprintf(transfer, sizeof(transfer),
             "{\"id\":%lld,\"gateway\":\"Vietcombank\",\"transactionDate\":\"2026-12-02 09:00:00\","
             "\"accountNumber\":\"%s\",\"code\":null,\"content\":\"HOC PHI %s\",\"transferType\":\"in\","
             "\"transferAmount\":1000,\"accumulated\":0,\"subAccount\":null,\"referenceCode\":\"%s\","
             "\"description\":\"\"}",
             (long long)(fg_now_ms() % 1000000000000LL), account, code, ref);
    const char *sepay_headers[] = {"Authorization: Apikey " SEPAY_KEY, "Content-Type: application/json", NULL};
    r = fgt_request(&s, FGT_H2C, "POST", "/v1/webhooks/sepay", sepay_headers, transfer, 0);
    fgt_expect(r, 200, NULL);
    fgt_response_free(&r);
    ck_assert_int_eq(fgt_db_int("SELECT COUNT(*) FROM payments p JOIN orders o ON o.id = p.order_id WHERE "
                                "o.public_id = ? AND p.status = 'succeeded'",
                                order, NULL),
                     1);

    char *file = statement(account, STATEMENT_LINES);
    snprintf(auth, sizeof(auth), "Authorization: Bearer %s", finance);
    const char *headers[] = {auth, "Content-Type: application/xml", NULL};
    r = fgt_request(&s, FGT_H2C, "POST", "/v1/statements", headers, file, 0);
    fgt_expect(r, 201, NULL);
    fgt_response_free(&r);
    free(file);
    /* the matching job decides every other line (no order is named: unapplied money) */
    for (int tries = 0;
         fgt_db_int("SELECT COUNT(*) FROM recon_items WHERE account = ? AND state = 'unmatched'", account, NULL) > 0;
         tries++) {
        ck_assert_int_lt(tries, 300);
        fgt_sleep_ms(50);
    }
    snprintf(stm, sizeof(stm), "stm_%lld",
             fgt_db_int("SELECT id FROM statements WHERE account = ? ORDER BY id DESC LIMIT 1", account, NULL));

    feed_t whole = {0};
    fg_buf_t whole_body = FG_BUF_INIT;
    read_all(&s, ekey, verify, start, FG_CHANGES_LIMIT_MAX, &whole, end, &whole_body);
    const object_t *head = find(&whole, stm, "insert", 0);
    ck_assert_ptr_nonnull(head);
    ck_assert_str_eq(head->entity, "statement");
    ck_assert_str_eq(data_str(head, "account"), account);
    ck_assert_ptr_nonnull(data_str(head, "import_id"));
    int at = (int)(head - whole.objects);
    for (int i = 0; i < STATEMENT_LINES; i++) {
        const object_t *line = &whole.objects[at + 1 + 2 * i], *item = &whole.objects[at + 2 + 2 * i];
        ck_assert_int_eq(line->seq, head->seq);
        ck_assert_int_eq(item->seq, head->seq);
        ck_assert_str_eq(line->entity, "statement_line");
        ck_assert_int_eq(strncmp(line->id, "stl_", 4), 0);
        ck_assert_str_eq(data_str(line, "statement_id"), stm);
        ck_assert_int_eq(data_int(line, "amount"), 1000 + i);
        ck_assert_str_eq(data_str(line, "value_date"), "2026-12-02");
        ck_assert_str_eq(item->entity, "recon_item");
        ck_assert_str_eq(data_str(item, "line_id"), line->id);
        ck_assert_str_eq(data_str(item, "kind"), "bank_line");
        ck_assert_str_ne(data_str(item, "state"), "unmatched"); /* as it is when read */
        const object_t *update = find(&whole, item->id, "update", 0);
        if (i == 0) { /* matched as stored: the feed's payment, and it never changes */
            char id[48];
            snprintf(id, sizeof(id), "rci_%lld", FG_RECON_LINE_ITEM_BASE + atoll(line->id + 4));
            ck_assert_str_eq(item->id, id);
            ck_assert_str_eq(data_str(item, "state"), "matched");
            ck_assert_str_eq(data_str(item, "rule"), "reference");
            ck_assert_str_eq(data_str(item, "business_day"), "2026-12-02");
            ck_assert_int_eq(data_int(item, "amount"), 1000);
            char payment[64];
            ck_assert_int_eq(fgt_db_str("SELECT p.public_id FROM payments p JOIN orders o ON o.id = p.order_id WHERE "
                                        "o.public_id = ?",
                                        order, NULL, payment, sizeof(payment)),
                             1);
            ck_assert_str_eq(data_str(item, "payment_id"), payment);
            ck_assert_ptr_null(update);
            continue;
        }
        /* its later update is a change of its own, after the statement's */
        ck_assert_ptr_nonnull(update);
        ck_assert_int_gt(update->seq, head->seq);
    }
    const object_t *totals = find(&whole, stm, "update", 0);
    ck_assert_ptr_nonnull(totals);
    ck_assert_int_gt(totals->seq, head->seq);
    ck_assert_int_eq(data_int(totals, "line_count"), STATEMENT_LINES);

    /* cut anywhere: pages of 1, 2 and 3 give the same objects */
    for (int limit = 1; limit <= 3; limit++) {
        feed_t cut = {0};
        fg_buf_t body = FG_BUF_INIT;
        char next[FG_CHANGE_CURSOR_CAP];
        read_all(&s, ekey, verify, start, limit, &cut, next, &body);
        ck_assert_str_eq(next, end);
        ck_assert_int_eq(cut.count, whole.count);
        ck_assert_int_gt(cut.sub_cursors, 0);
        ck_assert_uint_eq(body.len, whole_body.len);
        ck_assert(memcmp(body.data, whole_body.data, body.len) == 0);
        feed_free(&cut);
        fg_buf_free(&body);
    }
    /* a position inside a change that is not a statement's insert */
    char bad[FG_CHANGE_CURSOR_CAP + 40];
    snprintf(bad, sizeof(bad), "/v1/exports/changes?after=%lld.3", totals->seq);
    r = fgt_req(&s, FGT_H2C, "GET", bad, ekey, NULL, NULL, 0, NULL);
    fgt_expect_error(r, 400, "invalid_request", "invalid_cursor");
    fgt_response_free(&r);
    feed_free(&whole);
    fg_buf_free(&whole_body);
    fg_jws_key_free(verify);
    ck_assert_int_eq(fgt_server_stop(&s), 0);
    ck_assert_int_eq(fgt_ledger_check(), 0);
}
END_TEST

/* ---- keys and scopes --------------------------------------------------------------------------- */

static void expect_get(const fgt_server_t *s, const char *path, const char *key, long status, const char *code)
{
    fgt_response_t r = fgt_req(s, FGT_H2C, "GET", path, key, NULL, NULL, 0, NULL);
    if (status >= 400)
        fgt_expect(r, status, code);
    else
        fgt_expect(r, status, NULL);
    fgt_response_free(&r);
}

START_TEST(export_keys_read_the_feed_and_nothing_else)
{
    fgt_server_t s;
    fgt_merchant_t m;
    char ekey[FGT_ID_CAP], eid[FGT_ID_CAP], staff[96], order[64], path[160];
    server_start(&s, env_key_a);
    fgt_merchant_create(fgt_unique("UBND Phường"), m.id, m.key);
    export_key(ekey, eid);
    fgt_staff_token("admin", staff);
    order_new(&s, &m, 5000, order);

    expect_get(&s, "/v1/exports/changes?limit=1", ekey, 200, NULL);
    /* every merchant route answers an export key 403; staff routes too */
    expect_get(&s, "/v1/orders", ekey, 403, "insufficient_scope");
    snprintf(path, sizeof(path), "/v1/orders/%s", order);
    expect_get(&s, path, ekey, 403, "insufficient_scope");
    expect_get(&s, "/v1/events", ekey, 403, "insufficient_scope");
    fgt_response_t r = fgt_req(&s, FGT_H2C, "POST", "/v1/orders", ekey, NULL, "{}", 0, NULL);
    fgt_expect(r, 403, "insufficient_scope");
    fgt_response_free(&r);
    expect_get(&s, "/v1/ledger/accounts", ekey, 403, "staff_only");
    /* the reports a merchant key or a staff token reads, and the payouts */
    expect_get(&s, "/v1/reports/collections?from=2026-01-01&to=2026-01-31&group_by=day", ekey, 403,
               "insufficient_scope");
    expect_get(&s, "/v1/reports/outstanding", ekey, 403, "insufficient_scope");
    expect_get(&s, "/v1/payouts", ekey, 403, "staff_only");
    /* the feed answers merchants and staff 403, strangers 401 */
    expect_get(&s, "/v1/exports/changes", m.key, 403, "insufficient_scope");
    expect_get(&s, "/v1/exports/changes", staff, 403, "insufficient_scope");
    expect_get(&s, "/v1/exports/changes", NULL, 401, "missing_api_key");
    expect_get(&s, "/v1/exports/changes", "fg_live_nosuchkey", 401, "invalid_api_key");
    expect_get(&s, "/v1/orders", m.key, 200, NULL); /* the merchant's key still works */
    /* bad input changes nothing and says which */
    static const char *const BAD_LIMITS[] = {"0", "10001", "abc", "-1", "1e3"};
    for (size_t i = 0; i < sizeof(BAD_LIMITS) / sizeof(BAD_LIMITS[0]); i++) {
        snprintf(path, sizeof(path), "/v1/exports/changes?limit=%s", BAD_LIMITS[i]);
        expect_get(&s, path, ekey, 400, "invalid_limit");
    }
    static const char *const BAD_AFTER[] = {"x", "01", "1.0", "-5", "1.2.3", "99999999999999999999"};
    for (size_t i = 0; i < sizeof(BAD_AFTER) / sizeof(BAD_AFTER[0]); i++) {
        snprintf(path, sizeof(path), "/v1/exports/changes?after=%s", BAD_AFTER[i]);
        expect_get(&s, path, ekey, 400, "invalid_cursor");
    }
    /* the keys are public */
    r = fgt_req(&s, FGT_HTTP1, "GET", "/.well-known/jwks.json", NULL, NULL, NULL, 0, NULL);
    fgt_expect(r, 200, NULL);
    fg_jws_key_t *a = public_key(key_a);
    yajl_val keys = fgt_json_array(&r, "keys", NULL);
    ck_assert_int_eq((int)keys->u.array.len, 1);
    ck_assert_str_eq(fgt_val_str(keys->u.array.values[0], "kid", NULL), fg_jws_key_id(a));
    ck_assert_str_eq(fgt_val_str(keys->u.array.values[0], "alg", NULL), "ES256");
    fgt_response_free(&r);
    fg_jws_key_free(a);

    /* a revoked key, never used before (so in no cache), is refused */
    char fresh[FGT_ID_CAP], fresh_id[FGT_ID_CAP], out[256];
    export_key(fresh, fresh_id);
    const char *revoke[] = {"feegate", "admin", "key", "revoke", "--id", fresh_id, NULL};
    ck_assert_int_eq(fgt_cli(revoke, NULL, out, sizeof(out)), 0);
    ck_assert_int_eq(fgt_cli(revoke, NULL, out, sizeof(out)), 1); /* once */
    expect_get(&s, "/v1/exports/changes", fresh, 401, "invalid_api_key");
    const char *no_scope[] = {"feegate", "admin", "key", "create", NULL};
    ck_assert_int_eq(fgt_cli(no_scope, NULL, out, sizeof(out)), 2);
    const char *merchant_scope[] = {"feegate", "admin", "key", "create", "--scope", "merchant", NULL};
    ck_assert_int_eq(fgt_cli(merchant_scope, NULL, out, sizeof(out)), 2);
    ck_assert_int_eq(fgt_server_stop(&s), 0);
}
END_TEST

/* ---- cursors past the end ----------------------------------------------------------------------- */

/* The base-36 text of a list cursor (core/page.h) for key. */
static void base36(long long key, char *out, size_t cap)
{
    char digits[16];
    int n = 0;
    do {
        digits[n++] = "0123456789abcdefghijklmnopqrstuvwxyz"[key % 36];
        key /= 36;
    } while (key > 0);
    for (int i = 0; i < n && (size_t)i + 1 < cap; i++)
        out[i] = digits[n - 1 - i];
    out[n < (int)cap ? n : (int)cap - 1] = '\0';
}

/* A cursor beyond the highest number the sequence handed out was never given
 * out (a reader's corrupted cursor): the feed and the event log refuse it
 * rather than answer an empty page the reader would wait on for ever, while
 * the end itself, and every cursor just given out, stay good. */
START_TEST(a_cursor_past_the_end_is_refused)
{
    fgt_server_t s;
    fgt_merchant_t m;
    char ekey[FGT_ID_CAP], end[FG_CHANGE_CURSOR_CAP], next[FG_CHANGE_CURSOR_CAP], order[64], path[200];
    server_start(&s, env_key_a);
    fg_jws_key_t *verify = public_key(key_a);
    fgt_merchant_create(fgt_unique("Trường THCS Con trỏ"), m.id, m.key);
    export_key(ekey, NULL);
    reader_at_end(&s, ekey, verify, end);

    /* the end of the sequence is a cursor: an empty page, the same cursor */
    char last[FG_CHANGE_CURSOR_CAP];
    feed_end(last);
    feed_t f = {0};
    ck_assert_int_eq(read_page(&s, ekey, verify, last, 5, &f, next, NULL), 0);
    ck_assert_str_eq(next, last);
    /* one past it, far past it, and a position inside a change past it */
    long long high = atoll(last);
    static const char *const PAST[] = {"%lld", "999999%lld", "%lld.1"};
    for (size_t i = 0; i < sizeof(PAST) / sizeof(PAST[0]); i++) {
        char after[FG_CHANGE_CURSOR_CAP + 8];
        snprintf(after, sizeof(after), PAST[i], high + 1);
        snprintf(path, sizeof(path), "/v1/exports/changes?after=%s", after);
        fgt_response_t r = fgt_req(&s, FGT_H2C, "GET", path, ekey, NULL, NULL, 0, NULL);
        fgt_expect_error(r, 400, "invalid_request", "invalid_cursor");
        ck_assert_str_eq(fgt_json_str(&r, "error", "field", NULL), "after");
        ck_assert_ptr_null(fgt_header(&r, "x-feegate-next-cursor"));
        fgt_response_free(&r);
    }
    /* every cursor a page gives out is taken at once, including the last */
    for (int i = 0; i < 5; i++) {
        order_new(&s, &m, 1000 + i, order);
        char from[FG_CHANGE_CURSOR_CAP];
        snprintf(from, sizeof(from), "%s", end);
        ck_assert_int_ge(read_page(&s, ekey, verify, from, FG_CHANGES_LIMIT_MAX, &f, end, NULL), 1);
        ck_assert_int_eq(read_page(&s, ekey, verify, end, 1, &f, next, NULL), 0);
        ck_assert_str_eq(next, end);
    }
    ck_assert_ptr_nonnull(find(&f, order, "insert", 0));

    /* the event log's cursor (a seq in base 36) alike */
    order_cancel(&s, &m, order);
    fgt_response_t r = fgt_req(&s, FGT_H2C, "GET", "/v1/events?limit=1", m.key, NULL, NULL, 0, NULL);
    fgt_expect(r, 200, NULL);
    ck_assert_int_eq((int)fgt_json_array(&r, "data", NULL)->u.array.len, 1);
    fgt_response_free(&r);
    char cursor[16];
    feed_end(last);
    base36(atoll(last), cursor, sizeof(cursor)); /* the end: an empty page */
    snprintf(path, sizeof(path), "/v1/events?cursor=%s", cursor);
    r = fgt_req(&s, FGT_H2C, "GET", path, m.key, NULL, NULL, 0, NULL);
    fgt_expect(r, 200, NULL);
    ck_assert_int_eq((int)fgt_json_array(&r, "data", NULL)->u.array.len, 0);
    fgt_response_free(&r);
    base36(atoll(last) + 1, cursor, sizeof(cursor));
    snprintf(path, sizeof(path), "/v1/events?cursor=%s", cursor);
    r = fgt_req(&s, FGT_H2C, "GET", path, m.key, NULL, NULL, 0, NULL);
    fgt_expect_error(r, 400, "invalid_request", "invalid_cursor");
    ck_assert_str_eq(fgt_json_str(&r, "error", "field", NULL), "cursor");
    fgt_response_free(&r);
    r = fgt_req(&s, FGT_H2C, "GET", "/v1/events?cursor=zzzzzzzzzzzz", m.key, NULL, NULL, 0, NULL);
    fgt_expect_error(r, 400, "invalid_request", "invalid_cursor");
    fgt_response_free(&r);
    feed_free(&f);
    fg_jws_key_free(verify);
    ck_assert_int_eq(fgt_server_stop(&s), 0);
    ck_assert_int_eq(fgt_ledger_check(), 0);
}
END_TEST

/* ---- signing keys ----------------------------------------------------------------------------- */

/* A page signed by key A stays verifiable once B signs: A is published
 * beside it.  Without a key the feed answers 503; a key that cannot be read
 * stops start-up, naming the setting. */
START_TEST(signing_keys_rotate)
{
    fgt_server_t s;
    char ekey[FGT_ID_CAP], next[FG_CHANGE_CURSOR_CAP], old_sig[256];
    fg_jws_key_t *a = public_key(key_a), *b = public_key(key_b);
    export_key(ekey, NULL);
    server_start(&s, env_key_a);
    fgt_response_t r = fgt_req(&s, FGT_H2C, "GET", "/v1/exports/changes?limit=3", ekey, NULL, NULL, 0, NULL);
    fgt_expect(r, 200, NULL);
    snprintf(old_sig, sizeof(old_sig), "%s", fgt_header(&r, "x-feegate-signature"));
    fg_buf_t old_body = FG_BUF_INIT;
    fg_buf_append(&old_body, r.body, r.body_len);
    fgt_response_free(&r);
    ck_assert_int_eq(fgt_server_stop(&s), 0);

    const char *env[] = {env_key_b, env_published_a, NULL};
    fgt_server_start(&s, env);
    r = fgt_req(&s, FGT_HTTP1, "GET", "/.well-known/jwks.json", NULL, NULL, NULL, 0, NULL);
    fgt_expect(r, 200, NULL);
    yajl_val keys = fgt_json_array(&r, "keys", NULL);
    ck_assert_int_eq((int)keys->u.array.len, 2);
    ck_assert_str_eq(fgt_val_str(keys->u.array.values[0], "kid", NULL), fg_jws_key_id(b));
    ck_assert_str_eq(fgt_val_str(keys->u.array.values[1], "kid", NULL), fg_jws_key_id(a));
    fgt_response_free(&r);
    ck_assert_int_eq(fg_jws_verify_detached(a, old_sig, strlen(old_sig), old_body.data, old_body.len), 0);
    feed_t f = {0};
    read_page(&s, ekey, b, "0", 3, &f, next, NULL); /* signed by B now */
    feed_free(&f);
    ck_assert_int_eq(fgt_server_stop(&s), 0);

    server_start(&s, NULL);
    expect_get(&s, "/v1/exports/changes", ekey, 503, "export_signing_key_missing");
    r = fgt_req(&s, FGT_HTTP1, "GET", "/.well-known/jwks.json", NULL, NULL, NULL, 0, NULL);
    fgt_expect(r, 200, NULL);
    ck_assert_int_eq((int)fgt_json_array(&r, "keys", NULL)->u.array.len, 0);
    fgt_response_free(&r);
    ck_assert_int_eq(fgt_server_stop(&s), 0);

    char out[256], err[512];
    const char *serve[] = {"serve", NULL};
    const char *missing[] = {"FEEGATE_EXPORT_SIGNING_KEY_FILE=/nonexistent/export.pem", NULL};
    ck_assert_int_eq(fgt_cli_run(serve, missing, NULL, out, sizeof(out), err, sizeof(err)), 2);
    ck_assert_ptr_nonnull(strstr(err, "export.signing_key_file"));
    fg_buf_free(&old_body);
    fg_jws_key_free(a);
    fg_jws_key_free(b);
}
END_TEST

/* ---- the snapshots agree ------------------------------------------------------------------------ */

static const char *const BENCH_ENV[] = {"FEEGATE_DB_NAME=feegate_bench", NULL};

static void bench_sql(const char *sql) { fgt_db_exec(sql, NULL); }

/* 1 when the data of the latest change of (entity, entity id) equals that
 * of the change `which` ('insert': its insert change). */
static long long same_data(const char *entity, int entity_id)
{
    char sql[600];
    snprintf(sql, sizeof(sql),
             "SELECT (SELECT data FROM feegate_bench.change_log WHERE entity = '%s' AND entity_id = %d AND op = "
             "'insert') = (SELECT data FROM feegate_bench.change_log WHERE entity = '%s' AND entity_id = %d ORDER BY "
             "id DESC LIMIT 1)",
             entity, entity_id, entity, entity_id);
    return fgt_db_int(sql, NULL, NULL);
}

static long long changes_of(const char *entity, int entity_id)
{
    char sql[300];
    snprintf(sql, sizeof(sql), "SELECT COUNT(*) FROM feegate_bench.change_log WHERE entity = '%s' AND entity_id = %d",
             entity, entity_id);
    return fgt_db_int(sql, NULL, NULL);
}

/* Rows of every kind in a database at 0013, so that 0016 backfills them. */
static void old_rows(void)
{
    bench_sql("INSERT INTO feegate_bench.merchants (id, public_id, name, created_at) VALUES (1, 'mer_old', 'Cũ', 1)");
    bench_sql("INSERT INTO feegate_bench.orders (id, public_id, merchant_id, merchant_ref, fee_type, category, amount, "
              "currency, amount_paid, amount_refunded, allow_partial, status, payer_name, payer_ref, payer_phone, "
              "description, due_at, expires_at, metadata, code, created_at, updated_at) VALUES (1, 'ord_old', 1, "
              "'HP-1', 'tuition', 'hoc phi', 500000, 'VND', 500000, 100000, 1, 'paid', 'Trần Thị B', 'HS-9', "
              "'0911', 'Học phí \"kỳ 1\"', 1764806400000, 1767225599999, '{\"lop\":\"9A\"}', 'ABCDEFGHJK1', "
              "1764800000001, 1764800000999)");
    bench_sql("INSERT INTO feegate_bench.payments (id, public_id, order_id, merchant_id, adapter, amount, "
              "amount_received, amount_applied, currency, amount_refunded, status, provider_txn_id, created_at, "
              "updated_at) VALUES (1, 'pay_old', 1, 1, 'vnpay', 500000, 500000, 500000, 'VND', 100000, 'succeeded', "
              "'14226112', 1764800000100, 1764800000200)");
    bench_sql("INSERT INTO feegate_bench.refunds (id, public_id, payment_id, merchant_id, amount, currency, status, "
              "reason, created_at, updated_at) VALUES (1, 'rfd_old', 1, 1, 100000, 'VND', 'succeeded', 'thừa', "
              "1764800000300, 1764800000400)");
    bench_sql("INSERT INTO feegate_bench.statement_imports (id, public_id, file_sha256, format, file_bytes, "
              "statement_count, line_count, new_lines, overlapped_lines, imported_by, created_at) VALUES (1, "
              "'imp_old', REPEAT('a', 32), 'camt.053', 100, 1, 1, 1, 0, 'cli', 1764800000500)");
    bench_sql("INSERT INTO feegate_bench.statements (id, import_id, seq_in_file, bank_id, account, currency, opening, "
              "closing, opening_date, closing_date, from_date, to_date, line_count, credits, debits, gap, created_at) "
              "VALUES (1, 1, 1, 'S1', '0071000', 'VND', 100, 600, 20261201, 20261202, NULL, NULL, 1, 500, 0, NULL, "
              "1764800000500)");
    bench_sql("INSERT INTO feegate_bench.statement_lines (id, statement_id, account, line_key, currency, amount, "
              "reversal, booking_date, value_date, bank_ref, end_to_end, counterparty, memo, type, source_line, "
              "created_at) VALUES (1, 1, '0071000', REPEAT('b', 32), 'VND', 500, 0, 20261202, 20261202, 'FT1', '', "
              "'NGUYEN VAN A', 'HP ABCDEFGHJK1', 'transfer', 3, 1764800000500)");
    bench_sql("INSERT INTO feegate_bench.recon_items (id, kind, line_id, statement_id, account, business_day, amount, "
              "currency, state, rule, payment_id, detail, note, created_at, updated_at) VALUES (1, 'bank_line', 1, "
              "1, '0071000', 20261202, 500, 'VND', 'matched', 'order_code', 1, 'code', NULL, 1764800000500, "
              "1764800000600), (2, 'ledger_posting', NULL, NULL, '0071000', 20261202, 700, 'VND', 'ledger_only', "
              "NULL, 1, NULL, 'ghi chú', 1764800000700, 1764800000800)");
}

/* The data of the feed's object of (id, op) as the feed renders it. */
static char *feed_data(const char *ndjson, const char *id, const char *op)
{
    char needle[128];
    snprintf(needle, sizeof(needle), "\"id\":\"%s\",\"op\":\"%s\"", id, op);
    const char *line = NULL;
    for (const char *p = ndjson; (p = strstr(p, needle)) != NULL; p++)
        line = p; /* the last one */
    ck_assert_msg(line != NULL, "no %s %s in the feed", id, op);
    const char *data = strstr(line, "\"data\":"), *nl = strchr(line, '\n');
    ck_assert(data != NULL && nl != NULL && data < nl);
    return strndup(data, (size_t)(nl - data));
}

/* The three copies of each snapshot (insert trigger, update trigger, the
 * migration's backfill) and the feed's expansion of an item render the same
 * object; bookkeeping columns make no change; change_log rows never change. */
START_TEST(snapshots_agree)
{
    char out[8192], err[4096], dir[] = "/tmp/feegate-schema-XXXXXX", cmd[1024];
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(cmd, sizeof(cmd), "cp %s/schema/000[1-9]_*.sql %s/schema/001[0-3]_*.sql %s/", FEEGATE_SOURCE_DIR,
             FEEGATE_SOURCE_DIR, dir);
    ck_assert_int_eq(system(cmd), 0);
    fgt_db_exec("DROP DATABASE IF EXISTS feegate_bench", NULL);
    fgt_db_exec("CREATE DATABASE feegate_bench CHARACTER SET utf8mb4 COLLATE utf8mb4_bin", NULL);
    const char *old[] = {"migrate", "--dir", dir, NULL};
    ck_assert_int_eq(fgt_cli_run(old, BENCH_ENV, NULL, out, sizeof(out), err, sizeof(err)), 0);
    old_rows();
    const char *all[] = {"migrate", NULL};
    ck_assert_msg(fgt_cli_run(all, BENCH_ENV, NULL, out, sizeof(out), err, sizeof(err)) == 0, "%s", err);

    /* the backfill: one insert change per row, a bank line's item covered by its statement */
    ck_assert_int_eq(fgt_db_int("SELECT COUNT(*) FROM feegate_bench.change_log", NULL, NULL), 5);
    ck_assert_int_eq(changes_of("recon_item", 1), 0);
    ck_assert_int_eq(fgt_db_int("SELECT at FROM feegate_bench.change_log WHERE entity = 'order'", NULL, NULL),
                     1764800000999);
    /* an update to a value and back: the update trigger's object equals the backfill's */
    bench_sql("UPDATE feegate_bench.orders SET status = 'cancelled' WHERE id = 1");
    bench_sql("UPDATE feegate_bench.orders SET status = 'paid' WHERE id = 1");
    bench_sql("UPDATE feegate_bench.payments SET failure_reason = 'x' WHERE id = 1");
    bench_sql("UPDATE feegate_bench.payments SET failure_reason = NULL WHERE id = 1");
    bench_sql("UPDATE feegate_bench.refunds SET reason = 'x' WHERE id = 1");
    bench_sql("UPDATE feegate_bench.refunds SET reason = 'thừa' WHERE id = 1");
    bench_sql("UPDATE feegate_bench.statements SET gap = 5 WHERE id = 1");
    bench_sql("UPDATE feegate_bench.statements SET gap = NULL WHERE id = 1");
    bench_sql("UPDATE feegate_bench.recon_items SET note = 'x' WHERE id IN (1, 2)");
    bench_sql("UPDATE feegate_bench.recon_items SET note = 'ghi chú' WHERE id = 2");
    bench_sql("UPDATE feegate_bench.recon_items SET note = NULL WHERE id = 1");
    static const char *const ENTITIES[] = {"order", "payment", "refund", "statement", "recon_item"};
    for (int i = 0; i < 5; i++) {
        ck_assert_int_eq(changes_of(ENTITIES[i], i == 4 ? 2 : 1), 3);
        ck_assert_msg(same_data(ENTITIES[i], i == 4 ? 2 : 1) == 1, "%s: backfill and update differ", ENTITIES[i]);
    }
    /* rows written now: the insert trigger's object equals the update trigger's */
    bench_sql("INSERT INTO feegate_bench.orders (id, public_id, merchant_id, merchant_ref, fee_type, amount, currency, "
              "payer_email, code, created_at, updated_at) VALUES (2, 'ord_new', 1, 'HP-2', 'utility', 7000, 'VND', "
              "'a@b.vn', 'ABCDEFGHJK2', 1764800001000, 1764800001000)");
    bench_sql("INSERT INTO feegate_bench.payments (id, public_id, order_id, merchant_id, adapter, amount, currency, "
              "created_at, updated_at) VALUES (2, 'pay_new', 2, 1, 'momo', 7000, 'VND', 1, 2)");
    bench_sql("INSERT INTO feegate_bench.refunds (id, public_id, payment_id, merchant_id, amount, currency, "
              "created_at, updated_at) VALUES (2, 'rfd_new', 2, 1, 7000, 'VND', 3, 4)");
    bench_sql("INSERT INTO feegate_bench.statements (id, import_id, seq_in_file, bank_id, account, currency, "
              "line_count, credits, debits, gap, created_at) VALUES (2, 1, 2, 'S2', '0071000', 'VND', 0, 0, 0, -3, 5)");
    bench_sql("INSERT INTO feegate_bench.recon_items (id, kind, transfer_ref, account, business_day, amount, state, "
              "unapplied, resolution, resolved_at, paid_out_by, created_at, updated_at) VALUES (3, 'balance_gap', "
              "'G', '0071000', 20261203, -3, 'bank_only', 1, 'write_off', 9, 1, 6, 7)");
    bench_sql("UPDATE feegate_bench.orders SET status = 'expired' WHERE id = 2");
    bench_sql("UPDATE feegate_bench.orders SET status = 'open' WHERE id = 2");
    bench_sql("UPDATE feegate_bench.payments SET status = 'failed' WHERE id = 2");
    bench_sql("UPDATE feegate_bench.payments SET status = 'pending' WHERE id = 2");
    bench_sql("UPDATE feegate_bench.refunds SET status = 'failed' WHERE id = 2");
    bench_sql("UPDATE feegate_bench.refunds SET status = 'pending' WHERE id = 2");
    bench_sql("UPDATE feegate_bench.statements SET line_count = 1 WHERE id = 2");
    bench_sql("UPDATE feegate_bench.statements SET line_count = 0 WHERE id = 2");
    bench_sql("UPDATE feegate_bench.recon_items SET state = 'matched' WHERE id = 3");
    bench_sql("UPDATE feegate_bench.recon_items SET state = 'bank_only' WHERE id = 3");
    for (int i = 0; i < 5; i++) {
        ck_assert_int_eq(changes_of(ENTITIES[i], i == 4 ? 3 : 2), 3);
        ck_assert_msg(same_data(ENTITIES[i], i == 4 ? 3 : 2) == 1, "%s: insert and update differ", ENTITIES[i]);
    }
    /* bookkeeping makes no change; a bank line's item inserted by an import neither */
    long long before = fgt_db_int("SELECT COUNT(*) FROM feegate_bench.change_log", NULL, NULL);
    bench_sql("UPDATE feegate_bench.payments SET next_query_at = 5, query_count = query_count + 1, "
              "amount_refunding = 0, provider_payload = 'raw' WHERE id = 2");
    bench_sql("UPDATE feegate_bench.refunds SET next_query_at = 5, query_count = 1 WHERE id = 2");
    bench_sql("UPDATE feegate_bench.recon_items SET lease_until = 99, updated_at = updated_at + 1 WHERE id = 3");
    bench_sql("UPDATE feegate_bench.orders SET updated_at = updated_at + 1, payer_phone = '1' WHERE id = 2");
    bench_sql("UPDATE feegate_bench.statements SET match_journal_id = 4 WHERE id = 2");
    bench_sql("INSERT INTO feegate_bench.recon_items (id, kind, line_id, account, business_day, amount, state, "
              "created_at, updated_at) VALUES (4, 'bank_line', 1000, '0071000', 20261203, 1, 'unmatched', 1, 1)");
    ck_assert_int_eq(fgt_db_int("SELECT COUNT(*) FROM feegate_bench.change_log", NULL, NULL), before);

    /* the feed renders an item of a statement's lines as its update does */
    fg_config_t cfg;
    fgt_config_load(&cfg);
    free(cfg.db_name);
    cfg.db_name = strdup("feegate_bench");
    fg_db_t *db = fgt_db_open(&cfg);
    while (fg_changes_sequence(db, 0) > 0)
        ;
    ck_assert_int_eq(fgt_db_int("SELECT COUNT(*) FROM feegate_bench.change_log WHERE seq IS NULL", NULL, NULL), 0);
    fg_change_cursor_t start = {0, 0}, next;
    fg_buf_t page = FG_BUF_INIT;
    int count = 0;
    ck_assert_int_eq(fg_changes_read(db, &start, FG_CHANGES_LIMIT_MAX, &page, &next, &count), 0);
    char *expanded = feed_data(page.data, "rci_1", "insert"), *updated = feed_data(page.data, "rci_1", "update");
    ck_assert_str_eq(expanded, updated);
    ck_assert_ptr_nonnull(strstr(expanded, "\"payment_id\":\"pay_old\""));
    ck_assert_ptr_nonnull(strstr(page.data, "{\"seq\":"));
    ck_assert_ptr_nonnull(strstr(page.data, "\"id\":\"stl_1\",\"op\":\"insert\""));
    char *order = feed_data(page.data, "ord_old", "insert");
    ck_assert_ptr_nonnull(strstr(order, "\"expires_at_ms\":1767225599999"));
    ck_assert_ptr_nonnull(strstr(order, "\"metadata\":{\"lop\":\"9A\"}"));
    ck_assert_ptr_nonnull(strstr(order, "\"allow_partial\":true"));
    ck_assert_ptr_null(strstr(order, "0911")); /* the payer's phone stays here */
    /* compact, but not inside strings */
    ck_assert_ptr_nonnull(strstr(order, "\"description\":\"Học phí \\\"kỳ 1\\\"\",\"due_at_ms\":"));
    ck_assert_ptr_nonnull(strstr(order, "\"payer_name\":\"Trần Thị B\",\"payer_ref\":\"HS-9\",\"description\":"));
    /* every snapshot renders all of its keys, the parent's public id first */
    static const struct {
        const char *id, *op, *head, *tail;
    } WHOLE[] = {
        {"ord_new", "insert", "{\"merchant_ref\":\"HP-2\",",
         "\"created_at_ms\":1764800001000,\"updated_at_ms\":1764800001000}"},
        {"pay_new", "insert", "{\"order_id\":\"ord_new\",\"method\":\"momo\",",
         "\"created_at_ms\":1,\"updated_at_ms\":2}"},
        {"rfd_new", "insert", "{\"payment_id\":\"pay_new\",\"amount\":7000,",
         "\"created_at_ms\":3,\"updated_at_ms\":4}"},
        {"stm_2", "insert", "{\"import_id\":\"imp_old\",\"bank_id\":\"S2\",", "\"gap\":-3,\"created_at_ms\":5}"},
        {"rci_3", "insert", "{\"payment_id\":null,\"kind\":\"balance_gap\",\"statement_id\":null,",
         "\"resolved_at_ms\":9,\"note\":null,\"paid_out\":true,\"created_at_ms\":6,\"updated_at_ms\":7}"},
        {"stl_1", "insert", "{\"statement_id\":\"stm_1\",\"account\":\"0071000\",",
         "\"duplicate\":false,\"created_at_ms\":1764800000500}"},
    };
    for (size_t i = 0; i < sizeof(WHOLE) / sizeof(WHOLE[0]); i++) {
        char *data = feed_data(page.data, WHOLE[i].id, WHOLE[i].op);
        size_t n = strlen(data), tail = strlen(WHOLE[i].tail);
        ck_assert_msg(strncmp(data + strlen("\"data\":"), WHOLE[i].head, strlen(WHOLE[i].head)) == 0, "%s", data);
        ck_assert_msg(n > tail && strncmp(data + n - 1 - tail, WHOLE[i].tail, tail) == 0, "%s", data);
        free(data);
    }
    char *statement_data = feed_data(page.data, "stm_1", "insert");
    ck_assert_ptr_nonnull(strstr(statement_data, "\"import_id\":\"imp_old\""));
    ck_assert_ptr_nonnull(strstr(statement_data, "\"opening_date\":\"2026-12-01\""));
    free(expanded);
    free(updated);
    free(order);
    free(statement_data);
    fg_buf_free(&page);
    fg_db_close(db);
    fg_config_free(&cfg);

    /* a numbered change never changes, and none is removed */
    ck_assert_uint_ne(fgt_db_try("UPDATE feegate_bench.change_log SET data = '{}' WHERE id = 1", NULL), 0);
    ck_assert_uint_ne(fgt_db_try("UPDATE feegate_bench.change_log SET seq = seq + 1000 WHERE id = 1", NULL), 0);
    ck_assert_uint_ne(fgt_db_try("DELETE FROM feegate_bench.change_log WHERE id = 1", NULL), 0);
    /* an export key belongs to no merchant, a merchant's key to one */
    ck_assert_uint_ne(fgt_db_try("INSERT INTO feegate_bench.api_keys (merchant_id, scope, key_hash, key_prefix, "
                                 "created_at) VALUES (1, 'export', REPEAT('c', 32), 'x', 1)",
                                 NULL),
                      0);
    ck_assert_uint_ne(fgt_db_try("INSERT INTO feegate_bench.api_keys (merchant_id, scope, key_hash, key_prefix, "
                                 "created_at) VALUES (NULL, 'merchant', REPEAT('d', 32), 'x', 1)",
                                 NULL),
                      0);
    fgt_db_exec("DROP DATABASE feegate_bench", NULL);
    fgt_db_exec("CREATE DATABASE feegate_bench CHARACTER SET utf8mb4 COLLATE utf8mb4_bin", NULL);
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    ck_assert_int_eq(system(cmd), 0);
}
END_TEST

static Suite *changes_suite(void)
{
    Suite *s = suite_create("changes");
    TCase *tc = fgt_tcase(s, "feed", setup, teardown);
    tcase_add_test(tc, a_merchants_changes_in_signed_pages);
    tcase_add_test(tc, a_late_commit_is_read_after_what_was_read_before);
    tcase_add_test(tc, passes_race_writers_and_a_reader_misses_nothing);
    tcase_add_test(tc, a_statement_is_expanded_into_its_lines);
    tcase_add_test(tc, export_keys_read_the_feed_and_nothing_else);
    tcase_add_test(tc, a_cursor_past_the_end_is_refused);
    tcase_add_test(tc, signing_keys_rotate);
    tcase_add_test(tc, snapshots_agree);
    return s;
}

int main(void) { return fgt_run(changes_suite()); }
