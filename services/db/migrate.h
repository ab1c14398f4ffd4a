/*
 * migrate.h - `feegate migrate`: applies schema/NNNN_name.sql in order.
 */
#ifndef FG_DB_MIGRATE_H
#define FG_DB_MIGRATE_H

#include <stdio.h>
#include "db/db.h"

/* Migration files are small DDL; anything bigger is a mistake. */
#define FG_MIGRATION_BYTES_MAX (4 * 1024 * 1024)
#define FG_MIGRATIONS_MAX 1000
/* How long `feegate migrate` waits for another one to finish: its ALTER
 * TABLEs may rebuild tables of millions of rows, for many minutes. */
#define FG_MIGRATE_LOCK_WAIT_S 3600

/**
 * Applies every migration in dir not yet recorded in schema_migrations, in
 * order of their number, recording each with its SHA-256.  Refuses (FG_ECHECKSUM)
 * when an applied migration's file has changed; re-running is a no-op.
 * Refuses, applying nothing, a dir without migrations (FG_ENOTFOUND), with a
 * file named almost as a migration ("0036-x.sql", FG_EINVALID), or that
 * lacks a migration the database has applied (FG_ESTATE: the directory is
 * older than the database).  Holds a named lock so that two instances never
 * migrate at once, waiting up to lock_wait_s for another one
 * (FG_EUNAVAILABLE after that).  Progress and errors go to out/err.
 * Returns 0 or an FG_E* code.
 */
int fg_migrate(fg_db_t *db, const char *dir, int lock_wait_s, FILE *out, FILE *err) FG_MUST_USE;

/**
 * Splits SQL text into statements on ';' at the end of a line, honouring
 * "DELIMITER xx" lines (for triggers) and skipping "--" comment lines.
 * Calls fn(stmt, len, arg) for each; stops at fn's first non-zero return.
 */
int fg_sql_split(const char *sql, size_t len, int (*fn)(const char *stmt, size_t len, void *arg), void *arg);

#endif
