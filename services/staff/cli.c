/*
 * cli.c - `feegate admin user create` and `feegate admin token create`
 * (docs/DESIGN.md §11).  Each writes its row and an audit_log row in one transaction;
 * the actor of CLI actions is "cli" (whoever has shell access and database
 * credentials on the server).
 */
#include "staff/staff.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>
#include "core/crypto.h"
#include "core/ids.h"
#include "core/text.h"

#define EXIT_USAGE 2
#define CLI_ACTOR "cli"

static const char USAGE_USER[] = "feegate: usage: feegate admin user create --email E --role "
                                 "finance|auditor|admin|accountant [--merchant MERCHANT_ID] (accountant needs "
                                 "--merchant; the password is the first line of stdin)\n";
static const char USAGE_UNLOCK[] = "feegate: usage: feegate admin user unlock --email E\n";
static const char USAGE_TOKEN[] = "feegate: usage: feegate admin token create --email E [--ttl-hours 1..8760]\n";

/* ---- arguments ------------------------------------------------------------- */

typedef struct {
    const char *name;
    const char *value; /* NULL until given */
} flag_t;

/* Reads "--name value" pairs from argv[4..] into flags.  0, or -1 after
 * printing which argument is wrong (unknown, repeated, or without value). */
static int parse_flags(int argc, char **argv, flag_t *flags, int count)
{
    for (int i = 4; i < argc; i += 2) {
        flag_t *f = NULL;
        for (int k = 0; k < count && f == NULL; k++)
            if (strcmp(argv[i], flags[k].name) == 0)
                f = &flags[k];
        if (f == NULL || f->value != NULL || i + 1 >= argc) {
            fprintf(stderr, "feegate: %s argument \"%s\"\n",
                    f == NULL          ? "unknown"
                    : f->value != NULL ? "repeated"
                                       : "missing value for",
                    argv[i]);
            return -1;
        }
        f->value = argv[i + 1];
    }
    return 0;
}

static int email_argument(const char *email, char out[FG_STAFF_EMAIL_MAX + 1])
{
    if (fg_staff_email_normalize(email, out, FG_STAFF_EMAIL_MAX + 1) == 0)
        return 0;
    fprintf(stderr, "feegate: --email must be an e-mail address of %d to %d bytes with one '@' and no spaces\n",
            FG_STAFF_EMAIL_MIN, FG_STAFF_EMAIL_MAX);
    return -1;
}

/* Reads the first line of stdin (without "\n" or "\r\n") into out (cap >=
 * FG_PASSWORD_MAX + 1).  On a terminal, prompts on stderr with echo off.
 * Returns 0, or -1 when the line is outside FG_PASSWORD_MIN..MAX bytes or
 * holds a NUL byte. */
static int read_password(char *out, size_t cap)
{
    struct termios saved, quiet;
    int tty = isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &saved) == 0;
    if (tty) {
        fputs("password: ", stderr);
        quiet = saved;
        quiet.c_lflag &= ~(tcflag_t)ECHO;
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
    }
    size_t n = 0;
    int c, bad = 0;
    while ((c = getchar()) != EOF && c != '\n') {
        if (c == '\0' || n + 1 >= cap)
            bad = 1; /* keep reading to the end of the line, store no more */
        else
            out[n++] = (char)c;
    }
    if (n > 0 && out[n - 1] == '\r')
        n--;
    out[n] = '\0';
    if (tty) {
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved);
        fputc('\n', stderr);
    }
    if (bad || n < FG_PASSWORD_MIN || n > FG_PASSWORD_MAX) {
        fprintf(stderr, "feegate: the password (the first line of stdin) must be %d to %d bytes, without NUL\n",
                FG_PASSWORD_MIN, FG_PASSWORD_MAX);
        return -1;
    }
    return 0;
}

static int open_db(const fg_config_t *cfg, fg_db_t **db)
{
    char err[512];
    if (fg_db_open(db, cfg, err, sizeof(err)) != 0) {
        fprintf(stderr, "feegate: cannot connect to the database: %s\n", err);
        return 1;
    }
    return 0;
}

/* 1 when something printed has not reached stdout (a full disk, a closed
 * pipe): the command must not say it succeeded, and a token shown once that
 * never arrived has to be revoked. */
static int stdout_failed(void)
{
    int flushed = fflush(stdout) == 0;
    return !flushed || ferror(stdout);
}

static const char *write_error(void) { return errno != 0 ? strerror(errno) : "write error"; }

/* ---- admin user create ----------------------------------------------------- */

typedef struct {
    char id[FG_ID_CAP];
    char email[FG_STAFF_EMAIL_MAX + 1];
    fg_role_t role;
    char hash[FG_PASSWORD_HASH_CAP];
    int64_t created_ms;
    const char *merchant; /* --merchant: the merchant's public id, or NULL */
} user_t;

/* The merchant by its public id; no row (and so no user) when there is none. */
static const char SQL_USER_ADD[] =
    "INSERT INTO staff_users (public_id, email, role, merchant_id, password_hash, created_at) "
    "SELECT ?, ?, ?, m.id, ?, ? FROM (SELECT 1) one LEFT JOIN merchants m ON m.public_id = ? "
    "WHERE ? IS NULL OR m.id IS NOT NULL";

static int user_tx(fg_db_t *db, void *arg)
{
    const user_t *u = arg;
    fg_stmt_t s;
    fg_buf_t after = FG_BUF_INIT;
    char created[32];
    int rc = fg_stmt_init(&s, db, SQL_USER_ADD);
    if (rc != 0)
        goto Exit;
    fg_stmt_cstr(&s, u->id);
    fg_stmt_cstr(&s, u->email);
    fg_stmt_cstr(&s, fg_staff_role_name(u->role));
    fg_stmt_cstr(&s, u->hash);
    fg_stmt_int(&s, u->created_ms);
    fg_stmt_cstr(&s, u->merchant);
    fg_stmt_cstr(&s, u->merchant);
    if ((rc = fg_stmt_exec(&s)) != 0)
        goto Exit;
    if (fg_stmt_affected(&s) != 1) {
        rc = FG_ENOTFOUND; /* no such merchant */
        goto Exit;
    }
    /* The user as the audit log keeps it: never the password hash. */
    fg_time_format_rfc3339(u->created_ms, 0, created, sizeof(created));
    fg_buf_putc(&after, '{');
    fg_json_kv_str(&after, 0, "id", u->id);
    fg_json_kv_str(&after, 1, "email", u->email);
    fg_json_kv_str(&after, 1, "role", fg_staff_role_name(u->role));
    if (u->merchant != NULL)
        fg_json_kv_str(&after, 1, "merchant_id", u->merchant);
    fg_json_kv_str(&after, 1, "created_at", created);
    fg_buf_putc(&after, '}');
    rc = fg_audit_log(db, CLI_ACTOR, "staff_user.create", u->id, NULL, after.data);
Exit:
    fg_buf_free(&after);
    return rc;
}

/* Validates the arguments and reads the password into u.  0 or an exit code. */
static int user_arguments(int argc, char **argv, user_t *u, char *password, size_t cap)
{
    flag_t flags[] = {{"--email", NULL}, {"--role", NULL}, {"--merchant", NULL}};
    if (parse_flags(argc, argv, flags, 3) != 0 || flags[0].value == NULL || flags[1].value == NULL) {
        fputs(USAGE_USER, stderr);
        return EXIT_USAGE;
    }
    u->merchant = flags[2].value;
    if (u->merchant != NULL && !fg_id_valid("mer_", u->merchant, strlen(u->merchant))) {
        fprintf(stderr, "feegate: --merchant must be a merchant id (mer_…)\n");
        return EXIT_USAGE;
    }
    if (email_argument(flags[0].value, u->email) != 0)
        return EXIT_USAGE;
    if ((u->role = fg_staff_role_parse(flags[1].value)) == FG_ROLE_NONE) {
        fprintf(stderr, "feegate: --role must be finance, auditor, admin or accountant\n");
        return EXIT_USAGE;
    }
    if (u->role == FG_ROLE_ACCOUNTANT && u->merchant == NULL) {
        fprintf(stderr, "feegate: an accountant keeps one merchant's books: give --merchant mer_…\n");
        return EXIT_USAGE;
    }
    return read_password(password, cap) == 0 ? 0 : EXIT_USAGE;
}

int fg_staff_cli_user_create(const fg_config_t *cfg, int argc, char **argv)
{
    user_t u;
    char password[FG_PASSWORD_MAX + 1];
    fg_db_t *db = NULL;
    memset(&u, 0, sizeof(u));
    int rc = user_arguments(argc, argv, &u, password, sizeof(password));
    if (rc != 0)
        goto Exit;
    if (fg_password_hash(password, u.hash, sizeof(u.hash)) != 0 || fg_id_new("usr_", u.id, sizeof(u.id)) < 0) {
        fprintf(stderr, "feegate: cannot hash the password (random source or scrypt failed)\n");
        rc = 1;
        goto Exit;
    }
    u.created_ms = fg_now_ms();
    if ((rc = open_db(cfg, &db)) != 0)
        goto Exit;
    int err = fg_db_tx(db, user_tx, &u);
    /* The only other unique key is public_id, a fresh ULID: a duplicate
     * is the e-mail address. */
    if (err == FG_ECONFLICT)
        fprintf(stderr, "feegate: a staff user with this email already exists\n");
    else if (err == FG_ENOTFOUND)
        fprintf(stderr, "feegate: no merchant %s\n", u.merchant);
    else if (err != 0)
        fprintf(stderr, "feegate: cannot create the user: %s\n", fg_db_error(db));
    rc = err == 0 ? 0 : 1;
    if (err == 0) {
        errno = 0;
        printf("{\"id\":\"%s\"}\n", u.id);
        if (stdout_failed()) {
            fprintf(stderr, "feegate: cannot write to stdout (%s): staff user %s (%s) was created\n", write_error(),
                    u.id, u.email);
            rc = 1;
        }
    }
Exit:
    OPENSSL_cleanse(password, sizeof(password));
    fg_db_close(db);
    return rc;
}

/* ---- admin token create ---------------------------------------------------- */

/* Outcomes of token_tx besides 0 and FG_E* codes. */
enum { TOKEN_NO_USER = 1, TOKEN_USER_DISABLED = 2 };

typedef struct {
    char email[FG_STAFF_EMAIL_MAX + 1];
    int64_t ttl_ms;
    char token[FG_STAFF_TOKEN_CAP];
    int64_t row_id; /* staff_tokens.id, as the audit row names it */
} token_t;

static const char SQL_USER_BY_EMAIL[] = "SELECT id, public_id, disabled_at FROM staff_users WHERE email = ?";
static const char SQL_TOKEN_ADD[] =
    "INSERT INTO staff_tokens (user_id, token_hash, created_at, expires_at) VALUES (?, ?, ?, ?)";

/* Finds the user by e-mail: 0 (id and public_id set), TOKEN_NO_USER,
 * TOKEN_USER_DISABLED, or an FG_E* code. */
static int find_user(fg_db_t *db, const char *email, int64_t *id, fg_buf_t *public_id)
{
    fg_stmt_t s;
    int64_t disabled_ms = 0;
    int disabled_null = 1;
    int rc = fg_stmt_init(&s, db, SQL_USER_BY_EMAIL);
    if (rc != 0)
        return rc;
    fg_stmt_cstr(&s, email);
    fg_stmt_out_int(&s, id, NULL);
    fg_stmt_out_text(&s, public_id, NULL);
    fg_stmt_out_int(&s, &disabled_ms, &disabled_null);
    if ((rc = fg_stmt_exec(&s)) != 0)
        return rc;
    rc = fg_stmt_fetch(&s);
    fg_stmt_done(&s);
    if (rc < 0)
        return rc;
    if (rc == 0)
        return TOKEN_NO_USER;
    return disabled_null ? 0 : TOKEN_USER_DISABLED;
}

static int token_tx(fg_db_t *db, void *arg)
{
    token_t *t = arg;
    fg_stmt_t s;
    int64_t user_id = 0, now = fg_now_ms();
    fg_buf_t public_id = FG_BUF_INIT, after = FG_BUF_INIT;
    uint8_t hash[FG_SHA256_LEN];
    char expires[32];
    int rc = find_user(db, t->email, &user_id, &public_id);
    if (rc != 0)
        goto Exit;
    fg_sha256(t->token, strlen(t->token), hash);
    if ((rc = fg_stmt_init(&s, db, SQL_TOKEN_ADD)) != 0)
        goto Exit;
    fg_stmt_int(&s, user_id);
    fg_stmt_blob(&s, hash, sizeof(hash));
    fg_stmt_int(&s, now);
    fg_stmt_int(&s, now + t->ttl_ms);
    if ((rc = fg_stmt_exec(&s)) != 0)
        goto Exit;
    /* The audit row names the token by its row id, never by its value. */
    fg_time_format_rfc3339(now + t->ttl_ms, 0, expires, sizeof(expires));
    fg_buf_putc(&after, '{');
    t->row_id = (int64_t)fg_stmt_insert_id(&s);
    fg_json_kv_int(&after, 0, "token_id", t->row_id);
    fg_json_kv_str(&after, 1, "user", public_id.data);
    fg_json_kv_str(&after, 1, "email", t->email);
    fg_json_kv_str(&after, 1, "expires_at", expires);
    fg_buf_putc(&after, '}');
    rc = fg_audit_log(db, CLI_ACTOR, "staff_token.create", public_id.data, NULL, after.data);
Exit:
    fg_buf_free(&public_id);
    fg_buf_free(&after);
    return rc;
}

/* Strict decimal 1..FG_STAFF_TOKEN_TTL_HOURS_MAX, else -1. */
static long parse_hours(const char *s)
{
    long v = 0;
    if (*s == '\0')
        return -1;
    for (; *s != '\0'; s++) {
        if (*s < '0' || *s > '9' || (v = v * 10 + (*s - '0')) > FG_STAFF_TOKEN_TTL_HOURS_MAX)
            return -1;
    }
    return v >= 1 ? v : -1;
}

static int token_arguments(int argc, char **argv, token_t *t)
{
    flag_t flags[] = {{"--email", NULL}, {"--ttl-hours", NULL}};
    if (parse_flags(argc, argv, flags, 2) != 0 || flags[0].value == NULL) {
        fputs(USAGE_TOKEN, stderr);
        return EXIT_USAGE;
    }
    if (email_argument(flags[0].value, t->email) != 0)
        return EXIT_USAGE;
    long hours = flags[1].value != NULL ? parse_hours(flags[1].value) : FG_STAFF_TOKEN_TTL_HOURS_DEFAULT;
    if (hours < 0) {
        fprintf(stderr, "feegate: --ttl-hours must be a whole number from 1 to %d\n", FG_STAFF_TOKEN_TTL_HOURS_MAX);
        return EXIT_USAGE;
    }
    t->ttl_ms = (int64_t)hours * 3600 * 1000;
    return 0;
}

int fg_staff_cli_token_create(const fg_config_t *cfg, int argc, char **argv)
{
    token_t t;
    uint8_t random[FG_STAFF_TOKEN_RANDOM_BYTES];
    fg_db_t *db = NULL;
    memset(&t, 0, sizeof(t));
    int rc = token_arguments(argc, argv, &t);
    if (rc != 0)
        goto Exit;
    if (fg_random_bytes(random, sizeof(random)) != 0) {
        fprintf(stderr, "feegate: the random source failed\n");
        rc = 1;
        goto Exit;
    }
    memcpy(t.token, FG_STAFF_TOKEN_PREFIX, sizeof(FG_STAFF_TOKEN_PREFIX));
    fg_base64url_encode(random, sizeof(random), t.token + sizeof(FG_STAFF_TOKEN_PREFIX) - 1);
    if ((rc = open_db(cfg, &db)) != 0)
        goto Exit;
    int err = fg_db_tx(db, token_tx, &t);
    if (err == TOKEN_NO_USER)
        fprintf(stderr, "feegate: no staff user has this email\n");
    else if (err == TOKEN_USER_DISABLED)
        fprintf(stderr, "feegate: this staff user is disabled; no token was created\n");
    else if (err != 0)
        fprintf(stderr, "feegate: cannot create the token: %s\n", fg_db_error(db));
    rc = err == 0 ? 0 : 1;
    if (err == 0) {
        errno = 0;
        printf("{\"token\":\"%s\"}\n", t.token);
        if (stdout_failed()) {
            fprintf(stderr,
                    "feegate: cannot write to stdout (%s): token %lld of %s was created but not shown; revoke it: "
                    "feegate admin token revoke --email %s (revokes every token of the user)\n",
                    write_error(), (long long)t.row_id, t.email, t.email);
            rc = 1;
        }
    }
Exit:
    OPENSSL_cleanse(random, sizeof(random));
    OPENSSL_cleanse(t.token, sizeof(t.token));
    fg_db_close(db);
    return rc;
}

/* ---- admin user unlock ------------------------------------------------------ */

int fg_staff_cli_user_unlock(const fg_config_t *cfg, int argc, char **argv)
{
    flag_t flags[] = {{"--email", NULL}};
    char email[FG_STAFF_EMAIL_MAX + 1];
    fg_db_t *db = NULL;
    if (parse_flags(argc, argv, flags, 1) != 0 || flags[0].value == NULL) {
        fputs(USAGE_UNLOCK, stderr);
        return EXIT_USAGE;
    }
    if (email_argument(flags[0].value, email) != 0)
        return EXIT_USAGE;
    if (open_db(cfg, &db) != 0)
        return 1;
    int err = fg_staff_unlock(db, email, CLI_ACTOR);
    if (err == FG_ENOTFOUND)
        fprintf(stderr, "feegate: %s is not locked\n", email);
    else if (err != 0)
        fprintf(stderr, "feegate: cannot unlock: %s\n", fg_db_error(db));
    else
        printf("{\"unlocked\":\"%s\"}\n", email);
    fg_db_close(db);
    return err == 0 ? 0 : 1;
}

/* ---- admin user disable|enable, admin token revoke ------------------------- */

static const char USAGE_ACCESS[] = "feegate: usage: feegate admin user disable|enable --email E, or "
                                   "feegate admin token revoke --email E\n";
static const char SQL_DISABLE[] = "UPDATE staff_users SET disabled_at = ? WHERE id = ? AND disabled_at IS NULL";
static const char SQL_ENABLE[] = "UPDATE staff_users SET disabled_at = NULL WHERE id = ? AND disabled_at IS NOT NULL";
static const char SQL_END_SESSIONS[] = "UPDATE staff_sessions SET ended_at = ? WHERE user_id = ? AND ended_at IS NULL";
static const char SQL_REVOKE_TOKENS[] =
    "UPDATE staff_tokens SET revoked_at = ? WHERE user_id = ? AND revoked_at IS NULL";

typedef enum { ACCESS_DISABLE, ACCESS_ENABLE, ACCESS_REVOKE } access_t;

typedef struct {
    access_t what;
    char email[FG_STAFF_EMAIL_MAX + 1];
    int64_t changed, sessions, tokens; /* rows changed */
    fg_buf_t summary;                  /* what is audited and printed */
} access_run_t;

/* Runs sql (its first parameter now when with_now, then the user's id);
 * the rows changed in *count. */
static int access_update(fg_db_t *db, const char *sql, int with_now, int64_t now, int64_t user_id, int64_t *count)
{
    fg_stmt_t s;
    int rc = fg_stmt_init(&s, db, sql);
    if (rc != 0)
        return rc;
    if (with_now)
        fg_stmt_int(&s, now);
    fg_stmt_int(&s, user_id);
    if ((rc = fg_stmt_exec(&s)) == 0)
        *count = (int64_t)fg_stmt_affected(&s);
    return rc;
}

static int access_tx(fg_db_t *db, void *arg)
{
    access_run_t *a = arg;
    int64_t user_id = 0, now = fg_now_ms();
    fg_buf_t public_id = FG_BUF_INIT, *after = &a->summary;
    a->changed = a->sessions = a->tokens = 0;
    fg_buf_reset(after);
    int rc = find_user(db, a->email, &user_id, &public_id);
    if (rc == TOKEN_USER_DISABLED)
        rc = 0; /* any user: enabling one is the point, and disabling one twice changes nothing */
    if (rc != 0)
        goto Exit;
    if (a->what == ACCESS_ENABLE) {
        rc = access_update(db, SQL_ENABLE, 0, now, user_id, &a->changed);
    } else {
        if (a->what == ACCESS_DISABLE &&
            ((rc = access_update(db, SQL_DISABLE, 1, now, user_id, &a->changed)) != 0 ||
             (rc = access_update(db, SQL_END_SESSIONS, 1, now, user_id, &a->sessions)) != 0))
            goto Exit;
        rc = access_update(db, SQL_REVOKE_TOKENS, 1, now, user_id, &a->tokens);
    }
    if (rc != 0)
        goto Exit;
    fg_buf_putc(after, '{');
    fg_json_kv_str(after, 0, "email", a->email);
    if (a->what != ACCESS_REVOKE) {
        fg_json_kv_bool(after, 1, "disabled", a->what == ACCESS_DISABLE);
        fg_json_kv_bool(after, 1, "changed", a->changed > 0);
    }
    if (a->what == ACCESS_DISABLE)
        fg_json_kv_int(after, 1, "sessions_ended", a->sessions);
    if (a->what != ACCESS_ENABLE)
        fg_json_kv_int(after, 1, "tokens_revoked", a->tokens);
    fg_buf_putc(after, '}');
    static const char *const ACTIONS[] = {"staff_user.disable", "staff_user.enable", "staff_token.revoke"};
    rc = fg_audit_log(db, CLI_ACTOR, ACTIONS[a->what], public_id.data, NULL, after->data);
Exit:
    fg_buf_free(&public_id);
    return rc;
}

int fg_staff_cli_user_access(const fg_config_t *cfg, int argc, char **argv)
{
    flag_t flags[] = {{"--email", NULL}};
    access_run_t a;
    fg_db_t *db = NULL;
    memset(&a, 0, sizeof(a));
    if (argc < 4 || parse_flags(argc, argv, flags, 1) != 0 || flags[0].value == NULL) {
        fputs(USAGE_ACCESS, stderr);
        return EXIT_USAGE;
    }
    a.what = strcmp(argv[2], "token") == 0    ? ACCESS_REVOKE
             : strcmp(argv[3], "enable") == 0 ? ACCESS_ENABLE
                                              : ACCESS_DISABLE;
    if (email_argument(flags[0].value, a.email) != 0)
        return EXIT_USAGE;
    if (open_db(cfg, &db) != 0)
        return 1;
    int err = fg_db_tx(db, access_tx, &a);
    if (err == TOKEN_NO_USER) {
        fprintf(stderr, "feegate: no staff user has this email\n");
    } else if (err != 0) {
        fprintf(stderr, "feegate: cannot change the user's access: %s\n", fg_db_error(db));
    } else {
        printf("%s\n", a.summary.data);
    }
    fg_buf_free(&a.summary);
    fg_db_close(db);
    return err == 0 ? 0 : 1;
}
