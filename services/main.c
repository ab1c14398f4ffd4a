/*
 * main.c - the `feegate` command (docs/DESIGN.md §11).
 */
#include <errno.h>
#include <limits.h>
#include <mysql.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "core/config.h"
#include "core/log.h"
#include "core/text.h"
#include "net/http_client.h"
#include "db/db.h"
#include "db/migrate.h"
#include "api/handlers.h"
#include "changes/changes.h"
#include "http/http.h"
#include "ledger/ledger.h"
#include "merchants/merchants.h"
#include "receipts/keys.h"
#include "receipts/qr_payload.h"
#include "receipts/sign.h"
#include "recon/recon.h"
#include "reports/reports.h"
#include "staff/staff.h"

#define EXIT_USAGE 2

static const char USAGE[] =
    "usage: feegate [--config FILE] COMMAND\n"
    "\n"
    "commands:\n"
    "  serve                              run the server until SIGTERM/SIGINT\n"
    "  migrate [--dir DIR]                apply schema/*.sql in order\n"
    "  admin merchant create --name NAME  create a merchant; prints its id and API key\n"
    "  admin merchant set-payout-account MERCHANT --bin BIN --account NUMBER --name NAME\n"
    "                                     where the merchant's payouts go (audited)\n"
    "  admin user create --email E --role finance|auditor|admin   (password on stdin)\n"
    "  admin user create --email E --role accountant --merchant mer_...   a school's accountant\n"
    "  admin user unlock --email E        lifts a login lockout\n"
    "  admin user disable --email E       takes a staff member's access away: ends the sessions,\n"
    "                                     revokes the tokens (audited); enable gives it back\n"
    "  admin token create --email E [--ttl-hours H]               prints a staff bearer token\n"
    "  admin token revoke --email E       revokes every token of the staff member (audited)\n"
    "  admin key create --scope export    an API key of the data-sharing platform, which\n"
    "                                     reads the change feed only; prints its id and key\n"
    "  admin key revoke --id key_...      revokes a key (a merchant's or an export key)\n"
    "  admin key rotate --id key_...      a new key in its place, the old one revoked;\n"
    "                                     prints the new id and key\n"
    "  ledger check                       verify the ledger's invariants; JSON summary\n"
    "  ledger rebuild-checkpoints [--reason TEXT]\n"
    "                                     recompute every balance checkpoint into a new epoch\n"
    "  statements import FILE [--format camt.053|camt.054|mt940|csv|csv-vn]\n"
    "                                     import a bank statement file; prints the import\n"
    "  statements match                   match every statement line waiting for it, now;\n"
    "                                     prints how many were decided\n"
    "  settlements import FILE --gateway vnpay|momo\n"
    "                                     import a gateway's settlement file (payout batches)\n"
    "  reports rebuild                    recompute the report rollups from the ledger\n"
    "  receipt verify PAYLOAD|FILE        check a receipt's QR payload (prints its claims) or a\n"
    "                                     signed receipt XML file with the keys in the config;\n"
    "                                     exit 1 with the reason when it does not verify\n"
    "  version                            print the version\n"
    "\n"
    "Every setting section.key can be given in the config file or as the\n"
    "environment variable FEEGATE_SECTION_KEY (see deploy/feegate.conf.example).\n";

static int usage(const char *why)
{
    if (why != NULL)
        fprintf(stderr, "feegate: %s\n", why);
    fputs(USAGE, stderr);
    return EXIT_USAGE;
}

/* A command's named argument: its flag and, once read, its value. */
typedef struct {
    const char *name;
    const char *value; /* NULL until given */
} flag_t;

/* Reads "--name VALUE" pairs from argv[from..argc) into flags (count of
 * them).  0, or EXIT_USAGE after saying which argument is wrong: unknown,
 * repeated, or without its value.  A misspelt flag or a word left over
 * would otherwise be passed over, and the command run without it. */
static int read_flags(int argc, char **argv, int from, flag_t *flags, int count)
{
    for (int i = from; i < argc; i += 2) {
        flag_t *f = NULL;
        for (int k = 0; k < count && f == NULL; k++)
            if (strcmp(argv[i], flags[k].name) == 0)
                f = &flags[k];
        char why[200];
        if (f == NULL)
            snprintf(why, sizeof(why), "unknown argument \"%.100s\"", argv[i]);
        else if (f->value != NULL)
            snprintf(why, sizeof(why), "%s given twice", f->name);
        else if (i + 1 >= argc)
            snprintf(why, sizeof(why), "%s needs a value", f->name);
        else {
            f->value = argv[i + 1];
            continue;
        }
        return usage(why);
    }
    return 0;
}

/* A command that takes no more arguments than its words (argv[0..words)):
 * 0, or EXIT_USAGE after naming the first one too many. */
static int no_more_arguments(int argc, char **argv, int words) { return read_flags(argc, argv, words, NULL, 0); }

/* 1 when something printed has not reached stdout (a full disk, a closed
 * pipe).  Checked before a command says it succeeded: a secret shown once
 * that never arrived is lost, and whoever ran the command must learn so. */
static int stdout_failed(void)
{
    int flushed = fflush(stdout) == 0;
    return !flushed || ferror(stdout);
}

/* Says on stderr what a command made whose secret did not reach stdout:
 * the rows by their ids, never the secret, and how to rotate or revoke it.
 * Always returns 1, the command's exit status. */
static int secret_lost(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int secret_lost(const char *fmt, ...)
{
    int error = errno;
    va_list ap;
    fprintf(stderr, "feegate: cannot write to stdout (%s): ", error != 0 ? strerror(error) : "write error");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return 1;
}

static int is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* schema/ in the current directory, else next to the binary's parent
 * (build/feegate -> schema/), so tests can run from any directory. */
static void schema_dir(char *out, size_t cap)
{
    char exe[PATH_MAX];
    ssize_t n;
    snprintf(out, cap, "schema");
    if (is_dir(out))
        return;
    if ((n = readlink("/proc/self/exe", exe, sizeof(exe) - 1)) <= 0)
        return;
    exe[n] = '\0';
    char *slash = strrchr(exe, '/');
    if (slash != NULL)
        *slash = '\0';
    snprintf(out, cap, "%s/../schema", exe);
}

static int open_db(const fg_config_t *cfg, fg_db_t **db)
{
    char err[512];
    if (fg_db_open(db, cfg, err, sizeof(err)) != 0) {
        fprintf(stderr, "feegate: %s\n", err);
        return 1;
    }
    return 0;
}

/* A migration may rebuild a table of millions of rows (an ALTER TABLE runs
 * for minutes): it waits for the server as long as it takes, not the
 * db.read_timeout_s meant for requests. */
#define MIGRATE_READ_TIMEOUT_S 86400

/* The actor of audit rows written from the command line. */
#define CLI_ACTOR "cli"

static int cmd_migrate(const fg_config_t *cfg, int argc, char **argv)
{
    char dir[PATH_MAX + 16];
    flag_t flags[] = {{"--dir", NULL}};
    fg_db_t *db = NULL;
    fg_config_t patient = *cfg;
    patient.db_read_timeout_s = MIGRATE_READ_TIMEOUT_S;
    if (read_flags(argc, argv, 2, flags, 1) != 0)
        return EXIT_USAGE;
    const char *given = flags[0].value;
    if (given != NULL)
        snprintf(dir, sizeof(dir), "%s", given);
    else
        schema_dir(dir, sizeof(dir));
    int rc = open_db(&patient, &db);
    if (rc == 0)
        rc = fg_migrate(db, dir, FG_MIGRATE_LOCK_WAIT_S, stdout, stderr) == 0 ? 0 : 1;
    fg_db_close(db);
    return rc;
}

static int cmd_merchant_create(const fg_config_t *cfg, int argc, char **argv)
{
    flag_t flags[] = {{"--name", NULL}};
    char id[FG_ID_CAP], key_id[FG_ID_CAP], key[FG_API_KEY_CAP];
    fg_db_t *db = NULL;
    if (read_flags(argc, argv, 4, flags, 1) != 0)
        return EXIT_USAGE;
    const char *name = flags[0].value;
    if (name == NULL)
        return usage("admin merchant create needs --name NAME");
    int rc = open_db(cfg, &db);
    if (rc == 0) {
        int err = fg_merchant_create(db, name, CLI_ACTOR, id, key_id, key);
        if (err == FG_EINVALID) {
            fprintf(stderr, "feegate: --name must be 1 to %d characters of UTF-8\n", FG_MERCHANT_NAME_MAX);
            rc = EXIT_USAGE;
        } else if (err != 0) {
            fprintf(stderr, "feegate: cannot create the merchant: %s\n", fg_db_error(db));
            rc = 1;
        } else {
            errno = 0;
            printf("{\"id\":\"%s\",\"key_id\":\"%s\",\"api_key\":\"%s\"}\n", id, key_id, key);
            if (stdout_failed())
                rc = secret_lost("merchant %s was created with key %s, whose secret was not shown; rotate the key: "
                                 "feegate admin key rotate --id %s",
                                 id, key_id, key_id);
        }
    }
    explicit_bzero(key, sizeof(key));
    fg_db_close(db);
    return rc;
}

static int cmd_key_create(const fg_config_t *cfg, int argc, char **argv)
{
    flag_t flags[] = {{"--scope", NULL}};
    char id[FG_ID_CAP], key[FG_API_KEY_CAP];
    fg_db_t *db = NULL;
    if (read_flags(argc, argv, 4, flags, 1) != 0)
        return EXIT_USAGE;
    const char *scope = flags[0].value;
    if (scope == NULL || strcmp(scope, "export") != 0)
        return usage("admin key create needs --scope export (a merchant's key comes with admin merchant create)");
    int rc = open_db(cfg, &db);
    if (rc == 0) {
        if (fg_api_key_create_export(db, id, key) != 0) {
            fprintf(stderr, "feegate: cannot create the key: %s\n", fg_db_error(db));
            rc = 1;
        } else {
            errno = 0;
            printf("{\"id\":\"%s\",\"api_key\":\"%s\"}\n", id, key);
            if (stdout_failed())
                rc = secret_lost("export key %s was created but its secret was not shown; revoke it: feegate admin "
                                 "key revoke --id %s",
                                 id, id);
        }
    }
    explicit_bzero(key, sizeof(key));
    fg_db_close(db);
    return rc;
}

static int cmd_key_revoke(const fg_config_t *cfg, int argc, char **argv)
{
    flag_t flags[] = {{"--id", NULL}};
    fg_db_t *db = NULL;
    if (read_flags(argc, argv, 4, flags, 1) != 0)
        return EXIT_USAGE;
    const char *id = flags[0].value;
    if (id == NULL)
        return usage("admin key revoke needs --id key_...");
    int rc = open_db(cfg, &db);
    if (rc == 0) {
        int err = fg_api_key_revoke(db, id, CLI_ACTOR);
        if (err == FG_ENOTFOUND) {
            fprintf(stderr, "feegate: no key %s that is not revoked already\n", id);
            rc = 1;
        } else if (err != 0) {
            fprintf(stderr, "feegate: cannot revoke the key: %s\n", fg_db_error(db));
            rc = 1;
        } else {
            printf("{\"id\":\"%s\",\"revoked\":true}\n", id);
        }
    }
    fg_db_close(db);
    return rc;
}

static int cmd_key_rotate(const fg_config_t *cfg, int argc, char **argv)
{
    flag_t flags[] = {{"--id", NULL}};
    char new_id[FG_ID_CAP], key[FG_API_KEY_CAP];
    fg_db_t *db = NULL;
    if (read_flags(argc, argv, 4, flags, 1) != 0)
        return EXIT_USAGE;
    const char *id = flags[0].value;
    if (id == NULL)
        return usage("admin key rotate needs --id key_...");
    int rc = open_db(cfg, &db);
    if (rc == 0) {
        int err = fg_api_key_rotate(db, id, CLI_ACTOR, new_id, key);
        if (err == FG_ENOTFOUND) {
            fprintf(stderr, "feegate: no key %s that is not revoked already\n", id);
            rc = 1;
        } else if (err != 0) {
            fprintf(stderr, "feegate: cannot rotate the key: %s\n", fg_db_error(db));
            rc = 1;
        } else {
            errno = 0;
            printf("{\"id\":\"%s\",\"api_key\":\"%s\",\"revoked_id\":\"%s\"}\n", new_id, key, id);
            if (stdout_failed())
                rc = secret_lost("key %s was created in place of %s (revoked now) but its secret was not shown; "
                                 "rotate it again: feegate admin key rotate --id %s",
                                 new_id, id, new_id);
        }
    }
    explicit_bzero(key, sizeof(key));
    fg_db_close(db);
    return rc;
}

/* Names of the form FEEGATE_… that the build, test and deploy scripts set
 * for themselves, not settings. */
static const char *const SCRIPT_ENV_PREFIXES[] = {"FEEGATE_BIN",  "FEEGATE_TEST_", "FEEGATE_BROWSER_",
                                                  "FEEGATE_FUZZ", "FEEGATE_BENCH", "FEEGATE_SANITIZE"};

/* Each FEEGATE_ variable that names no setting, said once by every command
 * that reads the configuration: a typo (FEEGATE_HTTPS_CERTS, or
 * FEEGATE_DB_NAEM before a migrate) would otherwise leave its setting at its
 * default without a word. */
static void warn_unknown_environment(void)
{
    extern char **environ;
    for (char **e = environ; *e != NULL; e++) {
        if (strncmp(*e, "FEEGATE_", 8) != 0)
            continue;
        char name[128];
        size_t n = strcspn(*e, "=");
        if (n >= sizeof(name))
            n = sizeof(name) - 1;
        memcpy(name, *e, n);
        name[n] = '\0';
        int script = 0;
        for (size_t i = 0; i < sizeof(SCRIPT_ENV_PREFIXES) / sizeof(SCRIPT_ENV_PREFIXES[0]); i++)
            script |= strncmp(name, SCRIPT_ENV_PREFIXES[i], strlen(SCRIPT_ENV_PREFIXES[i])) == 0;
        if (script || fg_config_env_known(name))
            continue;
        fg_log_t l;
        fg_log_begin(&l, FG_LOG_WARN, "config: an environment variable names no setting and is ignored");
        fg_log_str(&l, "name", name);
        fg_log_end(&l);
    }
}

/* `feegate serve`, with the change feed's keys read first: a key that cannot
 * be used stops start-up like any bad setting. */
static int cmd_serve(const fg_config_t *cfg)
{
    char err[600];
    if (cfg->sandbox_secret[0] != '\0') {
        fg_log_t l;
        fg_log_begin(&l, FG_LOG_WARN,
                     "sandbox.secret is set: the sandbox gateway is offered to payers and its page marks payments "
                     "paid without money; for demos and tests only, never in production");
        fg_log_end(&l);
    }
    if (fg_export_keys_load(cfg, err, sizeof(err)) != 0) {
        fprintf(stderr, "%s\n", err);
        return EXIT_USAGE;
    }
    if (fg_receipt_keys_open(cfg, err, sizeof(err)) != 0) {
        fprintf(stderr, "%s\n", err);
        fg_export_keys_free();
        return EXIT_USAGE;
    }
    int rc = fg_server_run(cfg, fg_api_routes, fg_api_routes_many);
    fg_receipt_keys_close();
    fg_export_keys_free();
    return rc;
}

/* Prints why a receipt did not verify, on one line. */
static void receipt_refused(char *why)
{
    for (char *c = why; *c != '\0'; c++)
        if (*c == '\n' || *c == '\r')
            *c = ' ';
    fprintf(stderr, "feegate: receipt verify: %s\n", why);
}

/* `feegate receipt verify PAYLOAD|FILE`: a QR payload (given, or in a file)
 * or a signed receipt XML file, checked with the keys the config names and
 * no network.  Exit 0 and what it says as JSON on stdout; 1 and one line
 * saying why on stderr; 2 for a bad command or key file. */
static int cmd_receipt_verify(const fg_config_t *cfg, int argc, char **argv)
{
    if (argc != 4)
        return usage("receipt verify takes one PAYLOAD or FILE");
    const char *arg = argv[3];
    char err[600];
    fg_receipt_keys_t *keys = NULL;
    if (fg_receipt_keys_from_config(cfg, &keys, err, sizeof(err)) != 0) {
        fprintf(stderr, "%s\n", err);
        return EXIT_USAGE;
    }
    fg_buf_t text = FG_BUF_INIT, out = FG_BUF_INIT;
    int rc = 1;
    struct stat st;
    if (stat(arg, &st) == 0) {
        FILE *f = S_ISREG(st.st_mode) ? fopen(arg, "rb") : NULL;
        if (f == NULL) {
            fprintf(stderr, "feegate: receipt verify: %s: cannot read the file\n", arg);
            goto Exit;
        }
        char chunk[65536];
        size_t n;
        while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0 && text.len <= FG_RECEIPT_XML_MAX)
            fg_buf_append(&text, chunk, n);
        /* a read that failed halfway would leave a truncated receipt, and
         * its verdict would be about bytes the file does not hold */
        int failed = ferror(f);
        fclose(f);
        if (failed) {
            fprintf(stderr, "feegate: receipt verify: %s: cannot read the file\n", arg);
            goto Exit;
        }
        if (text.len > FG_RECEIPT_XML_MAX) {
            fprintf(stderr, "feegate: receipt verify: %s: larger than a receipt (1 MiB)\n", arg);
            goto Exit;
        }
    } else if (strchr(arg, '.') == NULL || strchr(arg, '/') != NULL) {
        fprintf(stderr, "feegate: receipt verify: %s: no such file, and not a QR payload\n", arg);
        goto Exit;
    } else {
        fg_buf_puts(&text, arg);
    }
    const char *p = text.data != NULL ? text.data : "";
    size_t len = text.len;
    if (len >= 3 && memcmp(p, "\xef\xbb\xbf", 3) == 0) /* a byte order mark */
        p += 3, len -= 3;
    while (len > 0 && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n'))
        p++, len--;
    if (len > 0 && *p == '<') {
        fg_receipt_xml_info_t info;
        if (fg_receipt_verify_xml(keys, p, len, &info, err, sizeof(err)) != 0) {
            receipt_refused(err);
            goto Exit;
        }
        fg_buf_putc(&out, '{');
        fg_json_kv_bool(&out, 0, "valid", 1);
        fg_json_kv_str(&out, 1, "format", "xml");
        fg_json_kv_str(&out, 1, "kid", info.kid);
        fg_json_kv_str(&out, 1, "form", info.form);
        fg_json_kv_str(&out, 1, "serial", info.serial);
        fg_json_kv_str(&out, 1, "number", info.number);
        fg_json_kv_str(&out, 1, "amount", info.amount);
        fg_json_kv_str(&out, 1, "currency", info.currency);
        fg_buf_putc(&out, '}');
    } else {
        while (len > 0 && (p[len - 1] == ' ' || p[len - 1] == '\t' || p[len - 1] == '\r' || p[len - 1] == '\n'))
            len--;
        fg_receipt_claims_t claims;
        if (fg_receipt_qr_verify(p, len, keys, &claims, err, sizeof(err)) != 0) {
            receipt_refused(err);
            goto Exit;
        }
        fg_receipt_claims_json(&out, &claims);
    }
    printf("%s\n", out.data);
    rc = 0;
Exit:
    fg_buf_free(&text);
    fg_buf_free(&out);
    fg_receipt_keys_free(keys);
    return rc;
}

/* The audits of the whole ledger read every entry: they may wait for an
 * answer far longer than a request ever should. */
#define AUDIT_READ_TIMEOUT_S 3600

static int open_audit_db(const fg_config_t *cfg, fg_db_t **db)
{
    static fg_config_t audit; /* fg_db_t keeps its config: it lives as long as the command */
    audit = *cfg;
    if (audit.db_read_timeout_s < AUDIT_READ_TIMEOUT_S)
        audit.db_read_timeout_s = AUDIT_READ_TIMEOUT_S;
    return open_db(&audit, db);
}

static int cmd_ledger_check(const fg_config_t *cfg)
{
    fg_db_t *db = NULL;
    fg_buf_t out = FG_BUF_INIT;
    int rc = open_audit_db(cfg, &db);
    if (rc == 0) {
        int violations = fg_ledger_check(db, &out);
        if (violations < 0) {
            fprintf(stderr, "feegate: ledger check failed: %s\n", fg_db_error(db));
            rc = 1;
        } else {
            printf("%s\n", out.data);
            if (violations > 0)
                fprintf(stderr, "feegate: the ledger has %d violation(s), listed in \"violations\"\n", violations);
            rc = violations > 0 ? 1 : 0;
        }
    }
    fg_buf_free(&out);
    fg_db_close(db);
    return rc;
}

static int cmd_statements_import(const fg_config_t *cfg, int argc, char **argv)
{
    const char *path = argc >= 4 ? argv[3] : NULL;
    flag_t flags[] = {{"--format", NULL}};
    fg_stmt_format_t format;
    fg_import_result_t r;
    fg_stmt_error_t err;
    fg_db_t *db = NULL;
    char head[4096];
    if (path == NULL || path[0] == '-')
        return usage("statements import needs FILE");
    if (read_flags(argc, argv, 4, flags, 1) != 0)
        return EXIT_USAGE;
    const char *name = flags[0].value;
    if (name != NULL && fg_stmt_format_parse(name, strlen(name), &format) != 0)
        return usage("--format must be camt.053, camt.054, mt940, csv or csv-vn");
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        fprintf(stderr, "feegate: cannot open %s\n", path);
        return 1;
    }
    size_t n = fread(head, 1, sizeof(head), f);
    if (name == NULL && fg_stmt_format_sniff(head, n, &format) != 0) {
        fprintf(stderr, "feegate: %s is not a statement this service reads; name its format with --format\n", path);
        fclose(f);
        return 1;
    }
    int rc = open_db(cfg, &db);
    if (rc == 0) {
        fg_stmt_source_t src = {NULL, 0, f};
        int err_rc = fg_statement_import(db, &src, format, "cli", &r, &err);
        fg_buf_t out = FG_BUF_INIT;
        rc = 1;
        if (err_rc == 0) {
            fg_import_json(&out, &r);
            printf("%s\n", out.data);
            rc = 0;
        } else if (err_rc == FG_EINVALID) {
            fprintf(stderr, "feegate: %s is not a valid %s statement: %s\n", path, fg_stmt_format_name(format),
                    err.message);
        } else if (err_rc == FG_ECHECKSUM) {
            fprintf(stderr,
                    "feegate: statement %d does not balance: opening %lld + lines %lld, closing %lld; nothing "
                    "stored\n",
                    r.unbalanced_index, (long long)r.opening, (long long)r.lines_total, (long long)r.closing);
        } else if (err_rc == FG_ERANGE) {
            fprintf(stderr, "feegate: %s is larger than 64 MiB\n", path);
        } else {
            fprintf(stderr, "feegate: importing %s failed: %s (%s)\n", path, fg_strerror(err_rc), fg_db_error(db));
        }
        fg_buf_free(&out);
    }
    fg_db_close(db);
    fclose(f);
    return rc;
}

/* The matching job's rounds until no line waits (what every running server
 * does in the background, a round per sweep). */
static int cmd_statements_match(const fg_config_t *cfg)
{
    fg_db_t *db = NULL;
    int64_t decided = 0, start = fg_now_ms();
    int rc = open_db(cfg, &db);
    if (rc == 0) {
        int n;
        while ((n = fg_recon_match_round(db, cfg, 200)) > 0)
            decided += n;
        if (n < 0) {
            fprintf(stderr, "feegate: matching failed: %s (%s)\n", fg_strerror(n), fg_db_error(db));
            rc = 1;
        } else {
            printf("{\"decided\":%lld,\"ms\":%lld}\n", (long long)decided, (long long)(fg_now_ms() - start));
        }
    }
    fg_db_close(db);
    return rc;
}

static int cmd_settlements_import(const fg_config_t *cfg, int argc, char **argv)
{
    const char *path = argc >= 4 ? argv[3] : NULL;
    flag_t flags[] = {{"--gateway", NULL}};
    fg_settlement_result_t r;
    fg_stmt_error_t err;
    fg_db_t *db = NULL;
    if (path == NULL || path[0] == '-')
        return usage("settlements import needs FILE and --gateway vnpay|momo");
    if (read_flags(argc, argv, 4, flags, 1) != 0)
        return EXIT_USAGE;
    const char *gateway = flags[0].value;
    if (gateway == NULL)
        return usage("settlements import needs FILE and --gateway vnpay|momo");
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        fprintf(stderr, "feegate: cannot open %s\n", path);
        return 1;
    }
    fg_buf_t data = FG_BUF_INIT;
    char chunk[65536];
    size_t n;
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0 && data.len <= FG_STMT_FILE_MAX)
        fg_buf_append(&data, chunk, n);
    int failed = ferror(f);
    fclose(f);
    if (failed) {
        fprintf(stderr, "feegate: cannot read %s\n", path);
        fg_buf_free(&data);
        return 1;
    }
    int rc = open_db(cfg, &db);
    if (rc == 0) {
        int err_rc = fg_settlement_import(db, gateway, data.data != NULL ? data.data : "", data.len, "cli", &r, &err);
        fg_buf_t out = FG_BUF_INIT;
        rc = 1;
        if (err_rc == 0) {
            fg_settlement_json(&out, gateway, &r);
            printf("%s\n", out.data);
            rc = 0;
        } else if (err_rc == FG_EINVALID) {
            fprintf(stderr, "feegate: %s is not a valid settlement file: %s\n", path, err.message);
        } else if (err_rc == FG_EUNSUPPORTED) {
            rc = usage("--gateway must be vnpay or momo");
        } else if (err_rc == FG_ERANGE) {
            fprintf(stderr, "feegate: %s is larger than 64 MiB\n", path);
        } else {
            fprintf(stderr, "feegate: importing %s failed: %s (%s)\n", path, fg_strerror(err_rc), fg_db_error(db));
        }
        fg_buf_free(&out);
    }
    fg_buf_free(&data);
    fg_db_close(db);
    return rc;
}

/* How long a rebuild waits for the transactions open at its cut to end. */
#define REBUILD_WAIT_MS 30000
#define NO_SETTLE_ON_CLUSTER                                                                                           \
    "on a Galera cluster no settled mark can be proven (docs/GALERA.md): ledger checkpoints and report rollups "       \
    "wait, and balances and reports read the ledger itself meanwhile"

static int cmd_ledger_rebuild(const fg_config_t *cfg, int argc, char **argv)
{
    flag_t flags[] = {{"--reason", NULL}};
    fg_db_t *db = NULL;
    fg_ledger_rebuild_t r;
    if (read_flags(argc, argv, 3, flags, 1) != 0)
        return EXIT_USAGE;
    const char *reason = flags[0].value;
    if (reason == NULL)
        reason = "feegate ledger rebuild-checkpoints";
    if (strlen(reason) > 200)
        return usage("--reason is at most 200 characters");
    int rc = open_audit_db(cfg, &db);
    if (rc != 0)
        goto Exit;
    int err = fg_ledger_rebuild_checkpoints(db, "cli", reason, REBUILD_WAIT_MS, &r);
    if (err == FG_EUNSUPPORTED) {
        fprintf(stderr, "feegate: %s; nothing written\n", NO_SETTLE_ON_CLUSTER);
        rc = 1;
    } else if (err == FG_EUNAVAILABLE) {
        fprintf(stderr,
                "feegate: transaction %llu was still open after %d s: the cut did not settle; nothing written, "
                "run again\n",
                (unsigned long long)r.blocker, REBUILD_WAIT_MS / 1000);
        rc = 1;
    } else if (err != 0) {
        fprintf(stderr, "feegate: rebuilding checkpoints failed: %s (%s)\n", fg_strerror(err), fg_db_error(db));
        rc = 1;
    } else {
        printf("{\"epoch\":%lld,\"cut\":%lld,\"checkpoints\":%d}\n", (long long)r.epoch, (long long)r.cut,
               r.checkpoints);
    }
Exit:
    fg_db_close(db);
    return rc;
}

static int cmd_reports_rebuild(const fg_config_t *cfg)
{
    fg_db_t *db = NULL;
    int64_t upto = 0, rounds = 0, days = 0, corrected = 0, owed_merchants = 0, owed_corrected = 0;
    uint64_t blocker = 0;
    int rc = open_audit_db(cfg, &db);
    if (rc != 0)
        goto Exit;
    /* the reconciliation summary's day totals first: they need no settled mark */
    int err = fg_recon_totals_rebuild(db, &days, &corrected);
    if (err != 0) {
        fprintf(stderr, "feegate: recounting the reconciliation day totals failed after %lld days: %s (%s)\n",
                (long long)days, fg_strerror(err), fg_db_error(db));
        rc = 1;
        goto Exit;
    }
    /* the outstanding report's sums: a merchant at a time, no settled mark either */
    if ((err = fg_report_owed_rebuild(db, &owed_merchants, &owed_corrected)) != 0) {
        fprintf(stderr, "feegate: recounting the outstanding sums failed after %lld merchants: %s (%s)\n",
                (long long)owed_merchants, fg_strerror(err), fg_db_error(db));
        rc = 1;
        goto Exit;
    }
    err = fg_report_rollup_rebuild(db, REBUILD_WAIT_MS, &upto, &rounds, &blocker);
    if (err == FG_EUNSUPPORTED) {
        fprintf(stderr,
                "feegate: the reconciliation day totals (%lld days, %lld corrected) and the outstanding sums (%lld "
                "merchants, %lld corrected) are recounted; %s\n",
                (long long)days, (long long)corrected, (long long)owed_merchants, (long long)owed_corrected,
                NO_SETTLE_ON_CLUSTER);
        rc = 1;
    } else if (err == FG_EUNAVAILABLE && blocker != 0) {
        fprintf(stderr,
                "feegate: transaction %llu was still open after %d s; the rollups are empty and the server's job "
                "refills them (reports stay right meanwhile); run again to wait for it\n",
                (unsigned long long)blocker, REBUILD_WAIT_MS / 1000);
        rc = 1;
    } else if (err == FG_EUNAVAILABLE) {
        fprintf(stderr,
                "feegate: for %d s no fresh list of open transactions could be read (the database was unreachable, "
                "or other readers of information_schema.INNODB_TRX kept it stale); the rollups are empty and the "
                "server's job refills them (reports stay right meanwhile); run again\n",
                REBUILD_WAIT_MS / 1000);
        rc = 1;
    } else if (err != 0) {
        fprintf(stderr, "feegate: rebuilding the report rollups failed: %s (%s)\n", fg_strerror(err), fg_db_error(db));
        rc = 1;
    } else {
        printf("{\"upto_entry_id\":%lld,\"rounds\":%lld,\"recon_days\":%lld,\"recon_days_corrected\":%lld,"
               "\"owed_merchants\":%lld,\"owed_merchants_corrected\":%lld}\n",
               (long long)upto, (long long)rounds, (long long)days, (long long)corrected, (long long)owed_merchants,
               (long long)owed_corrected);
    }
Exit:
    fg_db_close(db);
    return rc;
}

static int dispatch(const fg_config_t *cfg, int argc, char **argv)
{
    const char *cmd = argv[1];
    if (strcmp(cmd, "serve") == 0)
        return no_more_arguments(argc, argv, 2) != 0 ? EXIT_USAGE : cmd_serve(cfg);
    if (strcmp(cmd, "ledger") == 0 && argc >= 3 && strcmp(argv[2], "check") == 0)
        return no_more_arguments(argc, argv, 3) != 0 ? EXIT_USAGE : cmd_ledger_check(cfg);
    if (strcmp(cmd, "ledger") == 0 && argc >= 3 && strcmp(argv[2], "rebuild-checkpoints") == 0)
        return cmd_ledger_rebuild(cfg, argc, argv);
    if (strcmp(cmd, "migrate") == 0)
        return cmd_migrate(cfg, argc, argv);
    if (strcmp(cmd, "reports") == 0 && argc >= 3 && strcmp(argv[2], "rebuild") == 0)
        return no_more_arguments(argc, argv, 3) != 0 ? EXIT_USAGE : cmd_reports_rebuild(cfg);
    if (strcmp(cmd, "statements") == 0 && argc >= 3 && strcmp(argv[2], "import") == 0)
        return cmd_statements_import(cfg, argc, argv);
    if (strcmp(cmd, "receipt") == 0 && argc >= 3 && strcmp(argv[2], "verify") == 0)
        return cmd_receipt_verify(cfg, argc, argv);
    if (strcmp(cmd, "statements") == 0 && argc >= 3 && strcmp(argv[2], "match") == 0)
        return no_more_arguments(argc, argv, 3) != 0 ? EXIT_USAGE : cmd_statements_match(cfg);
    if (strcmp(cmd, "settlements") == 0 && argc >= 3 && strcmp(argv[2], "import") == 0)
        return cmd_settlements_import(cfg, argc, argv);
    if (strcmp(cmd, "admin") == 0 && argc >= 4 && strcmp(argv[2], "merchant") == 0 && strcmp(argv[3], "create") == 0)
        return cmd_merchant_create(cfg, argc, argv);
    if (strcmp(cmd, "admin") == 0 && argc >= 4 && strcmp(argv[2], "merchant") == 0 &&
        strcmp(argv[3], "set-payout-account") == 0)
        return fg_payout_cli_set_account(cfg, argc, argv);
    if (strcmp(cmd, "admin") == 0 && argc >= 4 && strcmp(argv[2], "user") == 0 && strcmp(argv[3], "create") == 0)
        return fg_staff_cli_user_create(cfg, argc, argv);
    if (strcmp(cmd, "admin") == 0 && argc >= 4 && strcmp(argv[2], "user") == 0 && strcmp(argv[3], "unlock") == 0)
        return fg_staff_cli_user_unlock(cfg, argc, argv);
    if (strcmp(cmd, "admin") == 0 && argc >= 4 && strcmp(argv[2], "token") == 0 && strcmp(argv[3], "create") == 0)
        return fg_staff_cli_token_create(cfg, argc, argv);
    if (strcmp(cmd, "admin") == 0 && argc >= 4 &&
        ((strcmp(argv[2], "user") == 0 && (strcmp(argv[3], "disable") == 0 || strcmp(argv[3], "enable") == 0)) ||
         (strcmp(argv[2], "token") == 0 && strcmp(argv[3], "revoke") == 0)))
        return fg_staff_cli_user_access(cfg, argc, argv);
    if (strcmp(cmd, "admin") == 0 && argc >= 4 && strcmp(argv[2], "key") == 0 && strcmp(argv[3], "create") == 0)
        return cmd_key_create(cfg, argc, argv);
    if (strcmp(cmd, "admin") == 0 && argc >= 4 && strcmp(argv[2], "key") == 0 && strcmp(argv[3], "revoke") == 0)
        return cmd_key_revoke(cfg, argc, argv);
    if (strcmp(cmd, "admin") == 0 && argc >= 4 && strcmp(argv[2], "key") == 0 && strcmp(argv[3], "rotate") == 0)
        return cmd_key_rotate(cfg, argc, argv);
    return usage("unknown command");
}

/* Removes "--config FILE" or "--config=FILE" from argv, wherever it stands,
 * into *path (NULL when not given).  0, or EXIT_USAGE after saying what is
 * wrong: a --config without its file, or two of them, would otherwise leave
 * the command running on the defaults and the environment alone. */
static int take_config(int *argc, char **argv, const char **path)
{
    *path = NULL;
    for (int i = 1; i < *argc;) {
        int words = 0;
        const char *given = NULL;
        if (strcmp(argv[i], "--config") == 0) {
            if (i + 1 >= *argc)
                return usage("--config needs a FILE");
            given = argv[i + 1], words = 2;
        } else if (strncmp(argv[i], "--config=", 9) == 0) {
            given = argv[i] + 9, words = 1;
        } else {
            i++;
            continue;
        }
        if (given[0] == '\0')
            return usage("--config needs a FILE");
        if (*path != NULL)
            return usage("--config given twice");
        *path = given;
        memmove(&argv[i], &argv[i + words], (size_t)(*argc - i - words) * sizeof(char *));
        *argc -= words;
    }
    return 0;
}

int main(int argc, char **argv)
{
    fg_config_t cfg;
    char err[512];
    const char *config_path;
    if (take_config(&argc, argv, &config_path) != 0)
        return EXIT_USAGE;
    if (argc < 2)
        return usage(NULL);
    if (strcmp(argv[1], "version") == 0 || strcmp(argv[1], "--version") == 0) {
        if (no_more_arguments(argc, argv, 2) != 0)
            return EXIT_USAGE;
        printf("feegate %s\n", FEEGATE_VERSION);
        return stdout_failed() ? EXIT_FAILURE : 0;
    }
    if (strcmp(argv[1], "help") == 0 || strcmp(argv[1], "--help") == 0) {
        if (no_more_arguments(argc, argv, 2) != 0)
            return EXIT_USAGE;
        fputs(USAGE, stdout);
        return stdout_failed() ? EXIT_FAILURE : 0;
    }
    if (fg_config_load(&cfg, config_path, err, sizeof(err)) != 0) {
        fprintf(stderr, "%s\n", err);
        fg_config_free(&cfg);
        return EXIT_USAGE;
    }
    warn_unknown_environment();
    setvbuf(stdout, NULL, _IOLBF, 0);
    mysql_library_init(0, NULL, NULL);
    /* Before any thread: libcurl's global state, and at most a quarter of the
     * database workers waiting on providers at once. */
    if (fg_http_client_init(cfg.db_pool_size / 4) != 0) {
        fprintf(stderr, "feegate: cannot initialise libcurl\n");
        mysql_library_end();
        fg_config_free(&cfg);
        return 1;
    }
    /* libxml2 and xmlsec1 too, once for the process, before any thread (receipts/sign.c) */
    fg_receipt_xml_init();
    /* A reader of stdout that went away is a write error the command sees
     * and reports (a key it made is named on stderr), not a signal that
     * ends it without a word. */
    signal(SIGPIPE, SIG_IGN);
    int rc = dispatch(&cfg, argc, argv);
    /* Output that never arrived must not read as success. */
    if (rc == 0 && stdout_failed()) {
        fprintf(stderr, "feegate: cannot write to stdout\n");
        rc = 1;
    }
    fg_http_client_cleanup();
    fg_receipt_xml_cleanup();
    mysql_library_end();
    fg_config_free(&cfg);
    return rc;
}
