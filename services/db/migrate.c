/*
 * migrate.c - numbered schema migrations with checksums.
 *
 * A migration is applied statement by statement, each counted as it
 * commits (schema_migration_progress): one that fails part-way leaves its
 * earlier statements applied (MariaDB commits a change of the schema on its
 * own, there is no undoing it), and the next run goes on from the one that
 * failed instead of failing on the first for ever ("Duplicate column").
 */
#include "db/migrate.h"

#include <ctype.h>
#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "core/crypto.h"
#include "core/text.h"

static const char SQL_CREATE[] =
    "CREATE TABLE IF NOT EXISTS schema_migrations (version INT NOT NULL PRIMARY KEY, name VARCHAR(200) NOT NULL, "
    "checksum CHAR(64) NOT NULL, applied_at BIGINT NOT NULL) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4";
/* How far a migration that failed part-way got: MariaDB commits each DDL
 * statement on its own, so a migration cannot be undone as a whole; its
 * statements applied are counted instead (with the SHA-256 of their text),
 * and the next run goes on after them. */
static const char SQL_CREATE_PROGRESS[] =
    "CREATE TABLE IF NOT EXISTS schema_migration_progress (version INT NOT NULL PRIMARY KEY, statements INT NOT NULL, "
    "prefix_sha256 CHAR(64) NOT NULL, updated_at BIGINT NOT NULL) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4";
static const char SQL_PROGRESS[] = "SELECT statements, prefix_sha256 FROM schema_migration_progress WHERE version = ?";
static const char SQL_PROGRESS_SET[] =
    "INSERT INTO schema_migration_progress (version, statements, prefix_sha256, updated_at) VALUES (?, ?, ?, ?) "
    "ON DUPLICATE KEY UPDATE statements = VALUES(statements), prefix_sha256 = VALUES(prefix_sha256), "
    "updated_at = VALUES(updated_at)";
static const char SQL_PROGRESS_DONE[] = "DELETE FROM schema_migration_progress WHERE version = ?";
static const char SQL_LOCK[] = "SELECT GET_LOCK('feegate.migrate', ?)";
static const char SQL_UNLOCK[] = "SELECT RELEASE_LOCK('feegate.migrate')";
static const char SQL_APPLIED[] = "SELECT checksum FROM schema_migrations WHERE version = ?";
static const char SQL_VERSIONS[] = "SELECT version, name FROM schema_migrations ORDER BY version";

/* Applied migrations the directory lacks that are named in the refusal; the
 * rest are counted. */
#define UNKNOWN_NAMED_MAX 10
static const char SQL_RECORD[] =
    "INSERT INTO schema_migrations (version, name, checksum, applied_at) VALUES (?, ?, ?, ?)";

typedef struct {
    int version;
    char name[256];
} migration_t;

static int by_version(const void *a, const void *b)
{
    return ((const migration_t *)a)->version - ((const migration_t *)b)->version;
}

/* "0001_init.sql" -> version 1; anything else is not a migration. */
static int parse_name(const char *file, int *version)
{
    size_t len = strlen(file);
    if (len < 10 || strcmp(file + len - 4, ".sql") != 0 || file[4] != '_')
        return -1;
    for (int i = 0; i < 4; i++)
        if (!isdigit((unsigned char)file[i]))
            return -1;
    *version = atoi(file);
    return *version > 0 ? 0 : -1;
}

/* A file meant as a migration that parse_name does not take ("0036-x.sql",
 * "36_x.sql", "0036_x.SQL"): passed over, its change would silently be
 * missing from the schema. */
static int looks_like_migration(const char *file)
{
    size_t len = strlen(file);
    return isdigit((unsigned char)file[0]) || (len >= 4 && strcasecmp(file + len - 4, ".sql") == 0);
}

static int list_migrations(const char *dir, migration_t *list, int *count, FILE *err)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    int rc = 0;
    if (d == NULL) {
        fprintf(err, "migrate: cannot open %s\n", dir);
        return FG_EIO;
    }
    *count = 0;
    while (rc == 0 && (e = readdir(d)) != NULL) {
        int version;
        if (e->d_name[0] == '.')
            continue;
        if (parse_name(e->d_name, &version) != 0 || strlen(e->d_name) >= sizeof(list[0].name)) {
            if (looks_like_migration(e->d_name)) {
                fprintf(err,
                        "migrate: %s/%s is not named as a migration is (NNNN_name.sql, under %zu bytes); rename or "
                        "remove it\n",
                        dir, e->d_name, sizeof(list[0].name));
                rc = FG_EINVALID;
            }
            continue;
        }
        if (*count == FG_MIGRATIONS_MAX) {
            fprintf(err, "migrate: %s holds more than %d migrations\n", dir, FG_MIGRATIONS_MAX);
            rc = FG_ETOOLONG;
            continue;
        }
        list[*count].version = version;
        strcpy(list[*count].name, e->d_name);
        (*count)++;
    }
    closedir(d);
    if (rc != 0)
        return rc;
    if (*count == 0) {
        fprintf(err, "migrate: no migrations (NNNN_name.sql) in %s: is it the schema directory?\n", dir);
        return FG_ENOTFOUND;
    }
    qsort(list, (size_t)*count, sizeof(*list), by_version);
    for (int i = 1; i < *count; i++)
        if (list[i].version == list[i - 1].version) {
            fprintf(err, "migrate: %s and %s share a number\n", list[i - 1].name, list[i].name);
            return FG_EINVALID;
        }
    return 0;
}

static int read_file(const char *path, fg_buf_t *out, FILE *err)
{
    FILE *f = fopen(path, "rb");
    char chunk[8192];
    size_t n;
    if (f == NULL) {
        fprintf(err, "migrate: cannot read %s\n", path);
        return FG_EIO;
    }
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
        fg_buf_append(out, chunk, n);
        if (out->len > FG_MIGRATION_BYTES_MAX) {
            fclose(f);
            fprintf(err, "migrate: %s is larger than %d bytes\n", path, FG_MIGRATION_BYTES_MAX);
            return FG_ETOOLONG;
        }
    }
    fclose(f);
    return 0;
}

static int line_is_blank_or_comment(const char *s, size_t n)
{
    size_t i = 0;
    while (i < n && isspace((unsigned char)s[i]))
        i++;
    return i == n || (n - i >= 2 && s[i] == '-' && s[i + 1] == '-');
}

int fg_sql_split(const char *sql, size_t len, int (*fn)(const char *stmt, size_t len, void *arg), void *arg)
{
    char delimiter[16] = ";";
    fg_buf_t stmt = FG_BUF_INIT;
    const char *p = sql, *end = sql + len;
    int rc = 0;
    while (p < end && rc == 0) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *line_end = nl != NULL ? nl : end;
        size_t n = (size_t)(line_end - p);
        while (n > 0 && isspace((unsigned char)p[n - 1]))
            n--;
        if (n >= 10 && strncasecmp(p, "DELIMITER ", 10) == 0) {
            snprintf(delimiter, sizeof(delimiter), "%.*s", (int)(n - 10), p + 10);
        } else if (!(stmt.len == 0 && line_is_blank_or_comment(p, n))) {
            size_t dl = strlen(delimiter);
            int ends = n >= dl && memcmp(p + n - dl, delimiter, dl) == 0;
            fg_buf_append(&stmt, p, ends ? n - dl : n);
            fg_buf_putc(&stmt, '\n');
            if (ends) {
                rc = fn(stmt.data, stmt.len, arg);
                fg_buf_reset(&stmt);
            }
        }
        p = line_end + 1;
    }
    if (rc == 0 && stmt.len > 0 && !line_is_blank_or_comment(stmt.data, stmt.len))
        rc = fn(stmt.data, stmt.len, arg);
    fg_buf_free(&stmt);
    return rc;
}

/* One migration's run through its statements: those a run before applied
 * (done, their text's SHA-256 recorded) are passed over once their text is
 * seen to be the same; each one after is executed and counted in the same
 * COMMIT as what it wrote. */
typedef struct {
    fg_db_t *db;
    const migration_t *m;
    FILE *err;
    int done;                             /* statements applied before this run */
    char done_sha[2 * FG_SHA256_LEN + 1]; /* of their text */
    int at;                               /* the statement being read, from 1 */
    fg_buf_t prefix;                      /* the text of statements 1..at, each ending in NUL */
    int failed_at;                        /* the statement that failed, or 0 */
} run_t;

static void prefix_sha(const fg_buf_t *prefix, char out[2 * FG_SHA256_LEN + 1])
{
    uint8_t hash[FG_SHA256_LEN];
    fg_sha256(prefix->data != NULL ? prefix->data : "", prefix->len, hash);
    fg_hex_encode(hash, sizeof(hash), out);
}

static int exec_one(const char *stmt, size_t len, void *arg)
{
    run_t *r = arg;
    char sha[2 * FG_SHA256_LEN + 1];
    fg_stmt_t s;
    r->at++;
    fg_buf_append(&r->prefix, stmt, len);
    fg_buf_putc(&r->prefix, '\0');
    if (r->at <= r->done) {
        if (r->at < r->done)
            return 0;
        prefix_sha(&r->prefix, sha);
        if (strcmp(sha, r->done_sha) == 0)
            return 0;
        fprintf(r->err,
                "migrate: %s was stopped after its statement %d by an earlier run, and its statements 1..%d now "
                "read otherwise: correct the database by hand to what the file says, then delete its row from "
                "schema_migration_progress\n",
                r->m->name, r->done, r->done);
        return FG_ECHECKSUM;
    }
    int rc = fg_db_exec_text(r->db, stmt, len);
    if (rc != 0) {
        r->failed_at = r->at;
        return rc;
    }
    prefix_sha(&r->prefix, sha);
    if ((rc = fg_stmt_init(&s, r->db, SQL_PROGRESS_SET)) != 0)
        return rc;
    fg_stmt_int(&s, r->m->version);
    fg_stmt_int(&s, r->at);
    fg_stmt_cstr(&s, sha);
    fg_stmt_int(&s, fg_now_ms());
    if ((rc = fg_stmt_exec(&s)) != 0)
        return rc;
    return fg_db_commit(r->db);
}

/* The statements of m a run before applied (0 when none), in r. */
static int read_progress(run_t *r)
{
    fg_stmt_t s;
    fg_buf_t sha = FG_BUF_INIT;
    int64_t done = 0;
    int rc = fg_stmt_init(&s, r->db, SQL_PROGRESS);
    if (rc != 0)
        return rc;
    fg_stmt_int(&s, r->m->version);
    fg_stmt_out_int(&s, &done, NULL);
    fg_stmt_out_text(&s, &sha, NULL);
    if ((rc = fg_stmt_exec(&s)) == 0) {
        rc = fg_stmt_fetch(&s);
        fg_stmt_done(&s);
    }
    if (rc == 1) {
        r->done = done > 0 && done < INT32_MAX ? (int)done : 0;
        snprintf(r->done_sha, sizeof(r->done_sha), "%s", sha.data != NULL ? sha.data : "");
        rc = 0;
    }
    fg_buf_free(&sha);
    return rc;
}

/* Returns 1 when applied with a matching checksum, 0 when not applied. */
static int check_applied(fg_db_t *db, const migration_t *m, const char *checksum, FILE *err)
{
    fg_stmt_t s;
    fg_buf_t stored = FG_BUF_INIT;
    int rc = fg_stmt_init(&s, db, SQL_APPLIED);
    if (rc != 0)
        return rc;
    fg_stmt_int(&s, m->version);
    fg_stmt_out_text(&s, &stored, NULL);
    if ((rc = fg_stmt_exec(&s)) == 0) {
        rc = fg_stmt_fetch(&s);
        fg_stmt_done(&s);
    }
    if (rc == 1 && strcmp(stored.data, checksum) != 0) {
        fprintf(err,
                "migrate: %s was changed after it was applied (recorded sha256 %s, file %s); "
                "write a new migration instead\n",
                m->name, stored.data, checksum);
        rc = FG_ECHECKSUM;
    }
    fg_buf_free(&stored);
    return rc;
}

static int apply(fg_db_t *db, const char *dir, const migration_t *m, FILE *out, FILE *err)
{
    fg_buf_t path = FG_BUF_INIT, sql = FG_BUF_INIT;
    uint8_t hash[FG_SHA256_LEN];
    char checksum[2 * FG_SHA256_LEN + 1];
    fg_stmt_t s;
    int rc;
    fg_buf_printf(&path, "%s/%s", dir, m->name);
    if ((rc = read_file(path.data, &sql, err)) != 0)
        goto Exit;
    fg_sha256(sql.data != NULL ? sql.data : "", sql.len, hash);
    fg_hex_encode(hash, sizeof(hash), checksum);
    rc = check_applied(db, m, checksum, err);
    fg_db_end(db);
    if (rc == 1) {
        rc = 0;
        goto Exit;
    }
    if (rc != 0)
        goto Exit;
    run_t r = {db, m, err, 0, "", 0, FG_BUF_INIT, 0};
    if ((rc = read_progress(&r)) != 0) {
        fprintf(err, "migrate: %s\n", fg_db_error(db));
        goto Exit;
    }
    if (r.done > 0)
        fprintf(out, "%s: its statements 1..%d were applied by an earlier run; going on after them\n", m->name, r.done);
    rc = fg_sql_split(sql.data != NULL ? sql.data : "", sql.len, exec_one, &r);
    fg_buf_free(&r.prefix);
    if (rc == 0 && r.at < r.done) {
        fprintf(err, "migrate: %s has %d statements, and an earlier run applied %d of it\n", m->name, r.at, r.done);
        rc = FG_ECHECKSUM;
    }
    if (rc != 0) {
        if (r.failed_at > 0)
            fprintf(err,
                    "migrate: %s failed at its statement %d: %s\n"
                    "migrate: its statements before %d are applied (MariaDB commits each change of the schema on "
                    "its own) and recorded; correct the cause and run feegate migrate again: it goes on from "
                    "statement %d\n",
                    m->name, r.failed_at, fg_db_error(db), r.failed_at, r.failed_at);
        else if (rc != FG_ECHECKSUM)
            fprintf(err, "migrate: %s failed: %s\n", m->name, fg_db_error(db));
        goto Exit;
    }
    if ((rc = fg_stmt_init(&s, db, SQL_RECORD)) != 0)
        goto Exit;
    fg_stmt_int(&s, m->version);
    fg_stmt_cstr(&s, m->name);
    fg_stmt_cstr(&s, checksum);
    fg_stmt_int(&s, fg_now_ms());
    if ((rc = fg_stmt_exec(&s)) != 0 || (rc = fg_stmt_init(&s, db, SQL_PROGRESS_DONE)) != 0)
        goto Exit;
    fg_stmt_int(&s, m->version);
    if ((rc = fg_stmt_exec(&s)) != 0 || (rc = fg_db_commit(db)) != 0)
        goto Exit;
    fprintf(out, "applied %s\n", m->name);
Exit:
    fg_buf_free(&path);
    fg_buf_free(&sql);
    return rc;
}

static int has_version(const migration_t *list, int count, int64_t version)
{
    for (int i = 0; i < count; i++)
        if (list[i].version == version)
            return 1;
    return 0;
}

/* A database migrated past the directory (an older checkout, another
 * deployment's schema/) has tables and triggers this directory knows
 * nothing of: "up to date" would be a lie.  0, or FG_ESTATE after naming
 * the applied migrations the directory lacks. */
static int check_recorded(fg_db_t *db, const char *dir, const migration_t *list, int count, FILE *err)
{
    fg_stmt_t s;
    fg_buf_t name = FG_BUF_INIT, unknown = FG_BUF_INIT;
    int64_t version = 0;
    int missing = 0;
    int rc = fg_stmt_init(&s, db, SQL_VERSIONS);
    if (rc != 0)
        goto Exit;
    fg_stmt_out_int(&s, &version, NULL);
    fg_stmt_out_text(&s, &name, NULL);
    if ((rc = fg_stmt_exec(&s)) != 0)
        goto Exit;
    while ((rc = fg_stmt_fetch(&s)) == 1) {
        if (has_version(list, count, version))
            continue;
        if (missing++ < UNKNOWN_NAMED_MAX)
            fg_buf_printf(&unknown, "%s%s", unknown.len > 0 ? ", " : "", name.data != NULL ? name.data : "?");
    }
    if (rc < 0)
        goto Exit;
    rc = 0;
    if (missing > 0) {
        fprintf(err,
                "migrate: the database has %d applied migration(s) that %s does not hold (%s%s): the directory is "
                "older than the database; migrate with the schema/ of the release that applied them\n",
                missing, dir, unknown.data, missing > UNKNOWN_NAMED_MAX ? ", …" : "");
        rc = FG_ESTATE;
    }
Exit:
    if (rc < 0 && rc != FG_ESTATE)
        fprintf(err, "migrate: cannot read schema_migrations: %s\n", fg_db_error(db));
    fg_db_end(db);
    fg_buf_free(&name);
    fg_buf_free(&unknown);
    return rc;
}

/* GET_LOCK waiting wait_s (0: not at all): 0 when taken, FG_EUNAVAILABLE
 * when another session holds it still, or a database code. */
static int lock(fg_db_t *db, int wait_s)
{
    fg_stmt_t s;
    int64_t got = 0;
    int is_null = 0;
    int rc = fg_stmt_init(&s, db, SQL_LOCK);
    if (rc != 0)
        return rc;
    fg_stmt_int(&s, wait_s);
    fg_stmt_out_int(&s, &got, &is_null);
    if ((rc = fg_stmt_exec(&s)) != 0)
        return rc;
    rc = fg_stmt_fetch(&s);
    fg_stmt_done(&s);
    if (rc < 0)
        return rc;
    return rc == 1 && !is_null && got == 1 ? 0 : FG_EUNAVAILABLE;
}

static void unlock(fg_db_t *db)
{
    fg_stmt_t s;
    int64_t released = 0;
    if (fg_stmt_init(&s, db, SQL_UNLOCK) != 0)
        return; /* the lock goes with the connection anyway */
    fg_stmt_out_int(&s, &released, NULL);
    if (fg_stmt_exec(&s) == 0 && fg_stmt_fetch(&s) >= 0)
        fg_stmt_done(&s);
}

/* Takes the migration lock, saying so when another `feegate migrate` holds
 * it (its ALTER TABLEs may run for a long while). */
static int take_lock(fg_db_t *db, int wait_s, FILE *err)
{
    int rc = lock(db, 0);
    if (rc == FG_EUNAVAILABLE && wait_s > 0) {
        fprintf(err, "migrate: another feegate migrate holds the migration lock; waiting up to %d s for it\n", wait_s);
        fflush(err);
        rc = lock(db, wait_s);
    }
    if (rc == FG_EUNAVAILABLE)
        fprintf(err,
                "migrate: another feegate migrate still holds the migration lock after %d s; nothing applied, run "
                "again once it has finished\n",
                wait_s);
    else if (rc != 0)
        fprintf(err, "migrate: cannot take the migration lock: %s\n", fg_db_error(db));
    return rc;
}

int fg_migrate(fg_db_t *db, const char *dir, int lock_wait_s, FILE *out, FILE *err)
{
    static migration_t list[FG_MIGRATIONS_MAX];
    int count = 0, rc;
    if ((rc = list_migrations(dir, list, &count, err)) != 0)
        return rc;
    if ((rc = fg_db_exec_text(db, SQL_CREATE, strlen(SQL_CREATE))) != 0 ||
        (rc = fg_db_exec_text(db, SQL_CREATE_PROGRESS, strlen(SQL_CREATE_PROGRESS))) != 0) {
        fprintf(err, "migrate: %s\n", fg_db_error(db));
        return rc;
    }
    if ((rc = take_lock(db, lock_wait_s, err)) != 0)
        return rc;
    rc = check_recorded(db, dir, list, count, err);
    for (int i = 0; i < count && rc == 0; i++)
        rc = apply(db, dir, &list[i], out, err);
    unlock(db);
    fg_db_end(db);
    if (rc == 0)
        fprintf(out, "schema up to date (%d migrations)\n", count);
    return rc;
}
