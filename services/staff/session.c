/*
 * session.c - sessions of the staff pages: login with throttling and
 * lockout, the session a cookie names, CSRF tokens, logout and unlock
 * (staff.h).
 *
 * The password is verified outside any transaction (scrypt takes about
 * 0.1 s); the throttle is read before and checked again, under a row lock,
 * in the transaction that records the outcome, so that two instances
 * answering the same address at once cannot both let a locked one in.
 */
#include "staff/staff.h"

#include <openssl/crypto.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include "core/crypto.h"
#include "core/json.h"
#include "core/text.h"

/* What unknown addresses are verified against, so that they cost what a
 * known one does: a hash of a password nobody has, made once. */
static char dummy_hash[FG_PASSWORD_HASH_CAP];
static pthread_once_t dummy_once = PTHREAD_ONCE_INIT;

static void dummy_make(void)
{
    if (fg_password_hash("feegate: no such staff user", dummy_hash, sizeof(dummy_hash)) != 0)
        dummy_hash[0] = '\0';
}

/* ---- CSRF tokens and secrets ------------------------------------------------ */

void fg_staff_csrf_token(const char *secret, char out[FG_CSRF_TOKEN_CAP])
{
    static const char PURPOSE[] = "feegate staff csrf";
    uint8_t mac[FG_SHA256_LEN];
    fg_hmac_sha256(secret, strlen(secret), PURPOSE, sizeof(PURPOSE) - 1, mac);
    fg_base64url_encode(mac, sizeof(mac), out);
}

int fg_staff_csrf_check(const char *secret, const char *token, size_t len)
{
    char expected[FG_CSRF_TOKEN_CAP];
    if (secret == NULL || secret[0] == '\0' || token == NULL || len == 0)
        return 0;
    fg_staff_csrf_token(secret, expected);
    return fg_secure_equal(expected, strlen(expected), token, len) == 1;
}

int fg_staff_secret_new(char secret[FG_SESSION_SECRET_CAP])
{
    uint8_t random[FG_SESSION_SECRET_BYTES];
    if (fg_random_bytes(random, sizeof(random)) != 0)
        return FG_EIO;
    fg_base64url_encode(random, sizeof(random), secret);
    OPENSSL_cleanse(random, sizeof(random));
    return 0;
}

/* ---- the throttle ------------------------------------------------------------ */

/* How long after the last of `failures` failures the next try waits. */
static int64_t throttle_wait_ms(const fg_config_t *cfg, int64_t failures)
{
    if (failures < FG_LOGIN_FREE_FAILURES)
        return 0;
    int64_t wait = cfg->staff_login_delay_ms;
    for (int64_t i = FG_LOGIN_FREE_FAILURES; i < failures && wait < FG_LOGIN_DELAY_MAX_MS; i++)
        wait *= 2;
    return wait < FG_LOGIN_DELAY_MAX_MS ? wait : FG_LOGIN_DELAY_MAX_MS;
}

typedef struct {
    int found, locked;
    int64_t failures, last_failure_at;
} throttle_t;

static const char SQL_THROTTLE[] =
    "SELECT failures, last_failure_at, locked_at IS NOT NULL FROM staff_login_failures WHERE email = ?";
static const char SQL_THROTTLE_LOCK[] =
    "SELECT failures, last_failure_at, locked_at IS NOT NULL FROM staff_login_failures WHERE email = ? FOR UPDATE";

static int throttle_read(fg_db_t *db, const char *email, int for_update, throttle_t *t)
{
    fg_stmt_t s;
    int64_t locked = 0;
    memset(t, 0, sizeof(*t));
    int rc = fg_stmt_init(&s, db, for_update ? SQL_THROTTLE_LOCK : SQL_THROTTLE);
    if (rc != 0)
        return rc;
    fg_stmt_cstr(&s, email);
    fg_stmt_out_int(&s, &t->failures, NULL);
    fg_stmt_out_int(&s, &t->last_failure_at, NULL);
    fg_stmt_out_int(&s, &locked, NULL);
    rc = fg_stmt_one(&s);
    if (rc == FG_ENOTFOUND)
        return 0;
    t->found = rc == 0;
    t->locked = locked != 0;
    return rc;
}

/* FG_LOGIN_OK when a try may go ahead now, else why not (and how long). */
static fg_login_outcome_t throttle_verdict(const fg_config_t *cfg, const throttle_t *t, int64_t now,
                                           int64_t *retry_after_ms)
{
    if (t->locked)
        return FG_LOGIN_LOCKED;
    int64_t wait = throttle_wait_ms(cfg, t->failures);
    if (wait > 0 && now < t->last_failure_at + wait) {
        *retry_after_ms = t->last_failure_at + wait - now;
        return FG_LOGIN_THROTTLED;
    }
    return FG_LOGIN_OK;
}

/* ---- login ------------------------------------------------------------------ */

typedef struct {
    const fg_config_t *cfg;
    const char *email; /* normalised, or "" for an address that is none */
    const char *peer;
    int64_t now;
    int verified; /* the password was checked (not refused by the throttle first) */
    int password_ok;
    fg_login_result_t *out;
    /* the user, when there is one */
    int has_user;
    int64_t user_id;
} login_t;

static const char SQL_USER[] =
    "SELECT u.id, u.public_id, u.role, u.password_hash, u.disabled_at IS NOT NULL, COALESCE(u.merchant_id, 0), "
    "COALESCE(m.public_id, '') FROM staff_users u LEFT JOIN merchants m ON m.id = u.merchant_id WHERE u.email = ?";

/* Reads the user of l->email into l and *hash.  0 (l->has_user says whether
 * there is a usable one) or a database code. */
static int user_read(fg_db_t *db, login_t *l, fg_buf_t *hash)
{
    fg_stmt_t s;
    int64_t disabled = 0, merchant = 0;
    fg_buf_t public_id = FG_BUF_INIT, role = FG_BUF_INIT, merchant_public = FG_BUF_INIT;
    int rc = fg_stmt_init(&s, db, SQL_USER);
    if (rc != 0)
        return rc;
    fg_stmt_cstr(&s, l->email);
    fg_stmt_out_int(&s, &l->user_id, NULL);
    fg_stmt_out_text(&s, &public_id, NULL);
    fg_stmt_out_text(&s, &role, NULL);
    fg_stmt_out_text(&s, hash, NULL);
    fg_stmt_out_int(&s, &disabled, NULL);
    fg_stmt_out_int(&s, &merchant, NULL);
    fg_stmt_out_text(&s, &merchant_public, NULL);
    rc = fg_stmt_one(&s);
    if (rc == 0 && !disabled && public_id.len < FG_ID_CAP && merchant_public.len < FG_ID_CAP) {
        fg_staff_t *st = &l->out->staff;
        l->has_user = 1;
        st->id = (uint64_t)l->user_id;
        st->role = fg_staff_role_parse(role.data);
        snprintf(st->email, sizeof(st->email), "%s", l->email);
        st->merchant_id = (uint64_t)merchant;
        snprintf(st->merchant_public_id, sizeof(st->merchant_public_id), "%s",
                 merchant_public.len > 0 ? merchant_public.data : "");
        snprintf(l->out->user_public_id, sizeof(l->out->user_public_id), "%s", public_id.data);
    }
    if (rc == FG_ENOTFOUND)
        rc = 0;
    fg_buf_free(&public_id);
    fg_buf_free(&role);
    fg_buf_free(&merchant_public);
    return rc;
}

static const char SQL_FAILURE[] =
    "INSERT INTO staff_login_failures (email, failures, last_failure_at, locked_at) VALUES (?, 1, ?, NULL) "
    "ON DUPLICATE KEY UPDATE locked_at = IF(failures + 1 >= ?, COALESCE(locked_at, VALUES(last_failure_at)), "
    "locked_at), failures = failures + 1, last_failure_at = VALUES(last_failure_at)";
static const char SQL_FAILURES_CLEAR[] = "DELETE FROM staff_login_failures WHERE email = ?";
static const char SQL_SESSION_ADD[] = "INSERT INTO staff_sessions (secret_hash, user_id, peer, created_at, "
                                      "last_seen_at) VALUES (?, ?, ?, ?, ?)";

static int audit_login(fg_db_t *db, const login_t *l, const char *action, const char *reason, int64_t failures)
{
    fg_buf_t after = FG_BUF_INIT;
    fg_buf_putc(&after, '{');
    fg_json_kv_str(&after, 0, "peer", l->peer);
    if (reason != NULL)
        fg_json_kv_str(&after, 1, "reason", reason);
    if (failures > 0)
        fg_json_kv_int(&after, 1, "failures", failures);
    fg_buf_putc(&after, '}');
    int rc = fg_audit_log(db, l->email[0] != '\0' ? l->email : "unknown", action,
                          l->has_user ? l->out->user_public_id : NULL, NULL, after.data);
    fg_buf_free(&after);
    return rc;
}

static int record_failure(fg_db_t *db, login_t *l, throttle_t *t)
{
    fg_stmt_t s;
    int rc;
    if (l->email[0] != '\0') {
        if ((rc = fg_stmt_init(&s, db, SQL_FAILURE)) != 0)
            return rc;
        fg_stmt_cstr(&s, l->email);
        fg_stmt_int(&s, l->now);
        fg_stmt_int(&s, l->cfg->staff_login_lockout_failures);
        if ((rc = fg_stmt_exec(&s)) != 0)
            return rc;
    }
    int64_t failures = t->failures + 1;
    l->out->outcome = FG_LOGIN_BAD;
    return audit_login(db, l, "staff_session.login_failed",
                       failures >= l->cfg->staff_login_lockout_failures ? "password; now locked" : "password",
                       failures);
}

static int start_session(fg_db_t *db, login_t *l)
{
    fg_stmt_t s;
    uint8_t hash[FG_SHA256_LEN];
    int rc;
    if ((rc = fg_stmt_init(&s, db, SQL_FAILURES_CLEAR)) != 0)
        return rc;
    fg_stmt_cstr(&s, l->email);
    if ((rc = fg_stmt_exec(&s)) != 0)
        return rc;
    if ((rc = fg_staff_secret_new(l->out->secret)) != 0)
        return rc;
    fg_sha256(l->out->secret, strlen(l->out->secret), hash);
    if ((rc = fg_stmt_init(&s, db, SQL_SESSION_ADD)) != 0)
        return rc;
    fg_stmt_blob(&s, hash, sizeof(hash));
    fg_stmt_int(&s, l->user_id);
    fg_stmt_cstr(&s, l->peer);
    fg_stmt_int(&s, l->now);
    fg_stmt_int(&s, l->now);
    if ((rc = fg_stmt_exec(&s)) != 0)
        return rc;
    l->out->outcome = FG_LOGIN_OK;
    return audit_login(db, l, "staff_session.login", NULL, 0);
}

/* The outcome, recorded: the throttle read again under its row lock decides
 * first (another instance may have locked the address meanwhile). */
static int login_tx(fg_db_t *db, void *arg)
{
    login_t *l = arg;
    throttle_t t;
    int rc = throttle_read(db, l->email, 1, &t);
    if (rc != 0)
        return rc;
    fg_login_outcome_t verdict = throttle_verdict(l->cfg, &t, l->now, &l->out->retry_after_ms);
    if (verdict == FG_LOGIN_OK && !l->verified) {
        verdict = FG_LOGIN_THROTTLED; /* the wait ended meanwhile: try again */
        l->out->retry_after_ms = 1;
    }
    if (verdict != FG_LOGIN_OK) {
        l->out->outcome = verdict;
        return audit_login(db, l, "staff_session.login_failed", verdict == FG_LOGIN_LOCKED ? "locked" : "throttled",
                           t.failures);
    }
    if (!l->password_ok || !l->has_user)
        return record_failure(db, l, &t);
    return start_session(db, l);
}

int fg_staff_login(fg_db_t *db, const fg_config_t *cfg, const char *email, const char *password, const char *peer,
                   int64_t now, fg_login_result_t *out)
{
    char normal[FG_STAFF_EMAIL_MAX + 1] = "";
    fg_buf_t hash = FG_BUF_INIT;
    throttle_t t;
    memset(out, 0, sizeof(*out));
    login_t l = {cfg, normal, peer, now, 0, 0, out, 0, 0};
    if (fg_staff_email_normalize(email, normal, sizeof(normal)) != 0 || normal[0] == '\0') {
        /* Not an address: no account can match, and the format is no
         * secret, so no password is hashed and nothing is written (the scrypt
         * check costs 0.1 s and 32 MiB of a database worker: junk posted in a
         * loop would hold the workers that take payments). */
        out->outcome = FG_LOGIN_BAD;
        return 0;
    }
    int rc = throttle_read(db, normal, 0, &t);
    if (rc == 0 && throttle_verdict(cfg, &t, now, &out->retry_after_ms) != FG_LOGIN_OK) {
        fg_db_end(db);
        rc = fg_db_tx(db, login_tx, &l); /* records the refused try, verifies nothing */
        goto Exit;
    }
    if (rc == 0)
        rc = user_read(db, &l, &hash);
    fg_db_end(db);
    if (rc != 0)
        goto Exit;
    pthread_once(&dummy_once, dummy_make);
    /* an unknown address is verified against the dummy hash: the same cost */
    int ok = fg_password_verify(password, l.has_user ? hash.data : dummy_hash);
    l.password_ok = l.has_user && ok;
    l.verified = 1;
    rc = fg_db_tx(db, login_tx, &l);
Exit:
    if (hash.data != NULL)
        OPENSSL_cleanse(hash.data, hash.len);
    fg_buf_free(&hash);
    if (rc != 0 || out->outcome != FG_LOGIN_OK)
        OPENSSL_cleanse(out->secret, sizeof(out->secret));
    return rc;
}

/* ---- the session a cookie names ----------------------------------------------- */

static const char SQL_SESSION[] =
    "SELECT s.id, s.created_at, s.last_seen_at, u.id, u.public_id, u.role, u.email, COALESCE(u.merchant_id, 0), "
    "COALESCE(m.public_id, '') FROM staff_sessions s JOIN staff_users u ON u.id = s.user_id "
    "LEFT JOIN merchants m ON m.id = u.merchant_id "
    "WHERE s.secret_hash = ? AND s.ended_at IS NULL AND u.disabled_at IS NULL";
static const char SQL_SESSION_SEEN[] = "UPDATE staff_sessions SET last_seen_at = ? WHERE id = ? AND last_seen_at < ?";

typedef struct {
    const fg_config_t *cfg;
    const uint8_t *hash;
    int64_t now;
    fg_staff_session_t *out;
    int live;
} lookup_t;

static int lookup_tx(fg_db_t *db, void *arg)
{
    lookup_t *k = arg;
    fg_stmt_t s;
    int64_t created = 0, seen = 0, user = 0, merchant = 0;
    fg_buf_t public_id = FG_BUF_INIT, role = FG_BUF_INIT, email = FG_BUF_INIT, merchant_public = FG_BUF_INIT;
    k->live = 0;
    int rc = fg_stmt_init(&s, db, SQL_SESSION);
    if (rc != 0)
        goto Exit;
    fg_stmt_blob(&s, k->hash, FG_SHA256_LEN);
    fg_stmt_out_int(&s, &k->out->id, NULL);
    fg_stmt_out_int(&s, &created, NULL);
    fg_stmt_out_int(&s, &seen, NULL);
    fg_stmt_out_int(&s, &user, NULL);
    fg_stmt_out_text(&s, &public_id, NULL);
    fg_stmt_out_text(&s, &role, NULL);
    fg_stmt_out_text(&s, &email, NULL);
    fg_stmt_out_int(&s, &merchant, NULL);
    fg_stmt_out_text(&s, &merchant_public, NULL);
    rc = fg_stmt_one(&s);
    if (rc == FG_ENOTFOUND) {
        rc = 0;
        goto Exit;
    }
    if (rc != 0 || k->now - seen >= k->cfg->staff_session_idle_ms ||
        k->now - created >= k->cfg->staff_session_absolute_ms || email.len > FG_STAFF_EMAIL_MAX ||
        public_id.len >= FG_ID_CAP || merchant_public.len >= FG_ID_CAP)
        goto Exit;
    fg_staff_t *st = &k->out->staff;
    st->id = (uint64_t)user;
    st->role = fg_staff_role_parse(role.data);
    memcpy(st->email, email.data, email.len + 1);
    st->merchant_id = (uint64_t)merchant;
    snprintf(st->merchant_public_id, sizeof(st->merchant_public_id), "%s",
             merchant_public.len > 0 ? merchant_public.data : "");
    snprintf(k->out->user_public_id, sizeof(k->out->user_public_id), "%s", public_id.data);
    if ((rc = fg_stmt_init(&s, db, SQL_SESSION_SEEN)) != 0)
        goto Exit;
    fg_stmt_int(&s, k->now);
    fg_stmt_int(&s, k->out->id);
    fg_stmt_int(&s, k->now);
    if ((rc = fg_stmt_exec(&s)) == 0)
        k->live = 1;
Exit:
    fg_buf_free(&public_id);
    fg_buf_free(&role);
    fg_buf_free(&email);
    fg_buf_free(&merchant_public);
    return rc;
}

int fg_staff_session_lookup(fg_db_t *db, const fg_config_t *cfg, const char *secret, int64_t now,
                            fg_staff_session_t *out)
{
    uint8_t hash[FG_SHA256_LEN];
    memset(out, 0, sizeof(*out));
    if (secret == NULL || secret[0] == '\0' || strlen(secret) >= FG_SESSION_SECRET_CAP)
        return 0;
    fg_sha256(secret, strlen(secret), hash);
    lookup_t k = {cfg, hash, now, out, 0};
    int rc = fg_db_tx(db, lookup_tx, &k);
    if (rc != 0)
        return rc;
    return k.live;
}

/* ---- logout and unlock ---------------------------------------------------------- */

static const char SQL_SESSION_END[] = "UPDATE staff_sessions SET ended_at = ? WHERE id = ? AND ended_at IS NULL";

typedef struct {
    const fg_staff_session_t *session;
    const char *peer;
    int64_t now;
} end_t;

static int end_tx(fg_db_t *db, void *arg)
{
    end_t *e = arg;
    fg_stmt_t s;
    int rc = fg_stmt_init(&s, db, SQL_SESSION_END);
    if (rc != 0)
        return rc;
    fg_stmt_int(&s, e->now);
    fg_stmt_int(&s, e->session->id);
    if ((rc = fg_stmt_exec(&s)) != 0)
        return rc;
    fg_buf_t after = FG_BUF_INIT;
    fg_buf_putc(&after, '{');
    fg_json_kv_str(&after, 0, "peer", e->peer);
    fg_buf_putc(&after, '}');
    rc = fg_audit_log(db, e->session->staff.email, "staff_session.logout", e->session->user_public_id, NULL,
                      after.data);
    fg_buf_free(&after);
    return rc;
}

int fg_staff_session_end(fg_db_t *db, const fg_staff_session_t *session, const char *peer, int64_t now)
{
    end_t e = {session, peer, now};
    return fg_db_tx(db, end_tx, &e);
}

typedef struct {
    const char *email, *actor;
} unlock_t;

static const char SQL_UNLOCK[] = "DELETE FROM staff_login_failures WHERE email = ? AND locked_at IS NOT NULL";

static int unlock_tx(fg_db_t *db, void *arg)
{
    unlock_t *u = arg;
    fg_stmt_t s;
    int rc = fg_stmt_init(&s, db, SQL_UNLOCK);
    if (rc != 0)
        return rc;
    fg_stmt_cstr(&s, u->email);
    if ((rc = fg_stmt_exec(&s)) != 0)
        return rc;
    if (fg_stmt_affected(&s) != 1)
        return FG_ENOTFOUND;
    fg_buf_t after = FG_BUF_INIT;
    fg_buf_putc(&after, '{');
    fg_json_kv_str(&after, 0, "email", u->email);
    fg_buf_putc(&after, '}');
    rc = fg_audit_log(db, u->actor, "staff_user.unlock", NULL, NULL, after.data);
    fg_buf_free(&after);
    return rc;
}

int fg_staff_unlock(fg_db_t *db, const char *email, const char *actor)
{
    unlock_t u = {email, actor};
    return fg_db_tx(db, unlock_tx, &u);
}

static const char SQL_LOCKED[] = "SELECT email, failures, locked_at FROM staff_login_failures "
                                 "WHERE locked_at IS NOT NULL ORDER BY locked_at DESC LIMIT ?";

int fg_staff_locked_list(fg_db_t *db, fg_login_lock_t *out, int cap, int *count)
{
    fg_stmt_t s;
    fg_buf_t email = FG_BUF_INIT;
    int64_t failures = 0, locked = 0;
    *count = 0;
    int rc = fg_stmt_init(&s, db, SQL_LOCKED);
    if (rc == 0) {
        fg_stmt_int(&s, cap);
        fg_stmt_out_text(&s, &email, NULL);
        fg_stmt_out_int(&s, &failures, NULL);
        fg_stmt_out_int(&s, &locked, NULL);
        rc = fg_stmt_exec(&s);
    }
    while (rc == 0 && (rc = fg_stmt_fetch(&s)) == 1) {
        if (*count < cap && email.len <= FG_STAFF_EMAIL_MAX) {
            snprintf(out[*count].email, sizeof(out[*count].email), "%s", email.data);
            out[*count].failures = failures;
            out[*count].locked_at = locked;
            (*count)++;
        }
        rc = 0;
    }
    fg_db_end(db);
    fg_buf_free(&email);
    return rc < 0 ? rc : 0;
}
