/*
 * config.c - defaults, INI file and environment, all driven by one table of
 * options so every key is parsed, defaulted and overridden the same way.
 */
#include "core/config.h"

#include <arpa/inet.h>
#include <assert.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include "core/buf.h"
#include "core/fee.h"
#include "core/netmask.h"
#include "core/text.h"

/* "section.key" names are short; this bounds the buffers that build them. */
#define KEY_LEN_MAX 64
/* "FEEGATE_" + KEY_LEN_MAX upper-cased. */
#define ENV_PREFIX "FEEGATE_"
#define ENV_NAME_CAP (sizeof(ENV_PREFIX) + KEY_LEN_MAX)
/* A bad value is quoted back in the error line; this much of it is enough
 * to recognise it, and a long secret pasted by mistake is not echoed whole. */
#define QUOTED_VALUE_MAX 64
/* One error detail before the "config: <where>: " prefix is added: the key,
 * the problem and the quoted value (up to 4 bytes per escaped byte). */
#define QUOTED_CAP (QUOTED_VALUE_MAX * 4 + 8)
#define DETAIL_CAP (QUOTED_CAP + 2 * KEY_LEN_MAX + 64)
/* DNS limits a host name to 253 characters. */
#define HOST_NAME_LEN_MAX 253
#define PORT_MAX 65535
/* A bank BIN (Napas bank identification number) is 6 digits. */
#define BANK_BIN_LEN 6

/* ---- the option table ---------------------------------------------------- */

typedef enum {
    TYPE_STRING,   /* any text */
    TYPE_INT,      /* int field, decimal in [min, max] */
    TYPE_INT64,    /* int64_t field, decimal in [min, max] */
    TYPE_BOOL,     /* int field, true/false/1/0/yes/no/on/off */
    TYPE_LISTEN,   /* "" or host:port */
    TYPE_URL,      /* http:// or https:// URL */
    TYPE_BANK_BIN, /* "" or 6 digits */
    TYPE_FEE,      /* "" or a fee schedule (core/fee.h) */
    TYPE_SOCKETS,  /* "" or unix socket paths, comma-separated */
    TYPE_HOSTS,    /* "" or host[:port] entries, comma-separated */
    TYPE_NETWORKS  /* "" or IP addresses and networks (address/bits), comma-separated */
} option_type_t;

typedef struct {
    const char *key;
    option_type_t type;
    size_t offset;
    int64_t min, max;
    const char *default_value;
} option_t;

/* The offset of a field, failing to compile unless it has the C type the
 * option type stores there (sizeof(char[-1]) is an error). */
#define FIELD(field, ctype)                                                                                            \
    (offsetof(fg_config_t, field) + 0 * sizeof(char[_Generic(((fg_config_t *)0)->field, ctype : 1, default : -1)]))
/* brace initialiser macros stay as written (clang-format 14 would unfold them) */
/* clang-format off */
#define STR(key, field, def)                                                                                           \
    {                                                                                                                  \
        key, TYPE_STRING, FIELD(field, char *), 0, 0, def                                                              \
    }
#define URL(key, field, def)                                                                                           \
    {                                                                                                                  \
        key, TYPE_URL, FIELD(field, char *), 0, 0, def                                                                 \
    }
#define LISTEN(key, field, def)                                                                                        \
    {                                                                                                                  \
        key, TYPE_LISTEN, FIELD(field, char *), 0, 0, def                                                              \
    }
#define BANK_BIN(key, field, def)                                                                                      \
    {                                                                                                                  \
        key, TYPE_BANK_BIN, FIELD(field, char *), 0, 0, def                                                            \
    }
#define INT(key, field, lo, hi, def)                                                                                   \
    {                                                                                                                  \
        key, TYPE_INT, FIELD(field, int), lo, hi, def                                                                  \
    }
#define INT64(key, field, lo, hi, def)                                                                                 \
    {                                                                                                                  \
        key, TYPE_INT64, FIELD(field, int64_t), lo, hi, def                                                            \
    }
#define BOOL(key, field, def)                                                                                          \
    {                                                                                                                  \
        key, TYPE_BOOL, FIELD(field, int), 0, 1, def                                                                   \
    }
#define FEE(key, field, def)                                                                                           \
    {                                                                                                                  \
        key, TYPE_FEE, FIELD(field, char *), 0, 0, def                                                                 \
    }
#define LIST(key, type, field)                                                                                         \
    {                                                                                                                  \
        key, type, FIELD(field, char *), 0, 0, ""                                                                      \
    }
/* clang-format on */

static const option_t options[] = {
    STR("db.socket", db_socket, ""),
    STR("db.host", db_host, "127.0.0.1"),
    INT("db.port", db_port, 1, PORT_MAX, "3306"),
    LIST("db.sockets", TYPE_SOCKETS, db_sockets),
    LIST("db.hosts", TYPE_HOSTS, db_hosts),
    LIST("db.read_socket", TYPE_SOCKETS, db_read_socket),
    LIST("db.read_host", TYPE_HOSTS, db_read_host),
    STR("db.user", db_user, "feegate"),
    STR("db.password", db_password, ""),
    STR("db.name", db_name, "feegate"),
    INT("db.pool_size", db_pool_size, 1, 1024, "32"),
    INT("db.read_timeout_s", db_read_timeout_s, 1, 86400, "30"),
    INT("server.threads", server_threads, 0, 256, "0"),
    LISTEN("http.listen", http_listen, "127.0.0.1:8080"),
    LISTEN("https.listen", https_listen, "127.0.0.1:8443"),
    LIST("http.trusted_proxies", TYPE_NETWORKS, http_trusted_proxies),
    LISTEN("metrics.listen", metrics_listen, "127.0.0.1:9464"),
    STR("https.cert", https_cert, ""),
    STR("https.key", https_key, ""),
    URL("public.base_url", public_base_url, "http://127.0.0.1:8080"),
    STR("vnpay.tmn_code", vnpay_tmn_code, ""),
    STR("vnpay.hash_secret", vnpay_hash_secret, ""),
    URL("vnpay.pay_url", vnpay_pay_url, "https://sandbox.vnpayment.vn/paymentv2/vpcpay.html"),
    URL("vnpay.api_url", vnpay_api_url, "https://sandbox.vnpayment.vn/merchant_webapi/api/transaction"),
    STR("momo.partner_code", momo_partner_code, ""),
    STR("momo.access_key", momo_access_key, ""),
    STR("momo.secret_key", momo_secret_key, ""),
    URL("momo.endpoint", momo_endpoint, "https://test-payment.momo.vn"),
    BANK_BIN("vietqr.bank_bin", vietqr_bank_bin, ""),
    STR("vietqr.account_no", vietqr_account_no, ""),
    STR("vietqr.account_name", vietqr_account_name, ""),
    STR("sepay.api_key", sepay_api_key, ""),
    STR("sepay.accounts", sepay_accounts, ""),
    STR("sandbox.secret", sandbox_secret, ""),
    BOOL("webhooks.allow_private", webhooks_allow_private, "false"),
    INT64("webhooks.retry_base_ms", webhooks_retry_base_ms, 1, 86400000, "30000"),
    INT64("webhooks.inbox_rejected_bytes", webhooks_inbox_rejected_bytes, 0, 65535, "4096"),
    INT64("webhooks.inbox_rejected_days", webhooks_inbox_rejected_days, 0, 3650, "30"),
    INT64("webhooks.deliveries_retain_days", webhooks_deliveries_retain_days, 0, 3650, "90"),
    INT64("limits.address_per_minute", limits_address_per_minute, 0, 1000000, "1200"),
    INT64("limits.address_burst", limits_address_burst, 1, 1000000, "200"),
    INT64("limits.key_per_minute", limits_key_per_minute, 0, 1000000, "0"),
    INT64("limits.key_burst", limits_key_burst, 1, 1000000, "1000"),
    INT64("limits.rejected_per_minute", limits_rejected_per_minute, 0, 1000000, "60"),
    INT64("limits.rejected_burst", limits_rejected_burst, 1, 1000000, "30"),
    INT64("http.request_timeout_s", http_request_timeout_s, 1, 3600, "30"),
    INT64("http.idle_timeout_s", http_idle_timeout_s, 1, 3600, "60"),
    INT64("http.max_connections", http_max_connections, 1, 1000000, "10000"),
    INT64("payments.pending_query_after_s", payments_pending_query_after_s, 1, 604800, "900"),
    INT64("payments.pending_expire_after_s", payments_pending_expire_after_s, 1, 2592000, "86400"),
    INT64("payer.start_limit_per_address", payer_start_limit_per_address, 1, 1000000, "30"),
    INT64("payer.start_limit_per_order", payer_start_limit_per_order, 1, 1000000, "10"),
    INT64("payer.start_limit_window_s", payer_start_limit_window_s, 1, 86400, "600"),
    INT64("recon.ledger_only_after_days", recon_ledger_only_after_days, 0, 60, "2"),
    INT64("recon.close_after_hour", recon_close_after_hour, 0, 24, "24"),
    STR("recon.write_off_account", recon_write_off_account, "expenses:reconciliation"),
    FEE("recon.fee.vnpay", recon_fee_vnpay, ""),
    FEE("recon.fee.momo", recon_fee_momo, ""),
    INT64("orders.sweep_interval_ms", orders_sweep_interval_ms, 10, 3600000, "1000"),
    INT64("ledger.checkpoint_interval_ms", ledger_checkpoint_interval_ms, 100, 3600000, "10000"),
    STR("export.signing_key_file", export_signing_key_file, ""),
    STR("export.published_key_files", export_published_key_files, ""),
    STR("receipts.signing_key_file", receipts_signing_key_file, ""),
    STR("receipts.certificate_file", receipts_certificate_file, ""),
    STR("receipts.qr_key_file", receipts_qr_key_file, ""),
    STR("receipts.published_key_files", receipts_published_key_files, ""),
    BOOL("receipts.issue", receipts_issue, "true"),
    BOOL("reminders.enabled", reminders_enabled, "true"),
    STR("reminders.quiet_hours", reminders_quiet_hours, "21:00-07:00"),
    STR("reminders.link_secret", reminders_link_secret, ""),
    INT64("reminders.plan_interval_s", reminders_plan_interval_s, 1, 86400, "300"),
    INT64("reminders.max_attempts", reminders_max_attempts, 1, 100, "8"),
    INT64("reminders.lease_s", reminders_lease_s, 5, 3600, "120"),
    STR("smtp.url", smtp_url, ""),
    STR("smtp.from", smtp_from, ""),
    STR("smtp.username", smtp_username, ""),
    STR("smtp.password", smtp_password, ""),
    STR("smtp.ca_file", smtp_ca_file, ""),
    BOOL("smtp.starttls", smtp_starttls, "true"),
    STR("sms.url", sms_url, ""),
    STR("sms.api_key", sms_api_key, ""),
    STR("sms.secret_key", sms_secret_key, ""),
    STR("sms.brandname", sms_brandname, ""),
    STR("zalo.url", zalo_url, ""),
    STR("zalo.access_token", zalo_access_token, ""),
    STR("zalo.template_id", zalo_template_id, ""),
    INT64("auth.cache_ms", auth_cache_ms, 0, 60000, "10000"),
    INT64("staff.session_idle_ms", staff_session_idle_ms, 1000, 86400000, "1800000"),
    INT64("staff.session_absolute_ms", staff_session_absolute_ms, 1000, 604800000, "43200000"),
    INT64("staff.login_delay_ms", staff_login_delay_ms, 1, 60000, "1000"),
    INT64("staff.login_lockout_failures", staff_login_lockout_failures, 2, 1000, "10"),
    BOOL("log.requests", log_requests, "true"),
};

#define OPTION_COUNT (sizeof(options) / sizeof(options[0]))

static const option_t *find_option(const char *key)
{
    for (size_t i = 0; i < OPTION_COUNT; i++) {
        if (strcmp(options[i].key, key) == 0)
            return &options[i];
    }
    return NULL;
}

/* ---- error lines --------------------------------------------------------- */

static void format_error(char *err, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void format_error(char *err, size_t cap, const char *fmt, ...)
{
    if (err == NULL || cap == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, cap, fmt, ap);
    va_end(ap);
}

/* Writes value as a one-line quoted string: control bytes, quotes and
 * backslashes escaped, at most QUOTED_VALUE_MAX bytes then "...". */
static void quote(const char *value, char *out, size_t cap)
{
    fg_buf_t b = FG_BUF_INIT;
    fg_buf_putc(&b, '"');
    size_t i = 0;
    for (; value[i] != '\0' && i < QUOTED_VALUE_MAX; i++) {
        unsigned char c = (unsigned char)value[i];
        if (c < 0x20 || c == 0x7f)
            fg_buf_printf(&b, "\\x%02x", c);
        else if (c == '"' || c == '\\')
            fg_buf_printf(&b, "\\%c", c);
        else
            fg_buf_putc(&b, (char)c);
    }
    fg_buf_puts(&b, value[i] != '\0' ? "\"..." : "\"");
    snprintf(out, cap, "%s", b.data);
    fg_buf_free(&b);
}

/* quote() of a URL without its "user:password@": a password in the URL
 * must not reach the log or the terminal with the error about it. */
static void quote_url(const char *url, char *out, size_t cap)
{
    const char *scheme_end = strstr(url, "://");
    const char *authority = scheme_end != NULL ? scheme_end + 3 : url;
    size_t authority_len = strcspn(authority, "/?#");
    const char *host = authority;
    for (size_t i = 0; i < authority_len; i++)
        if (authority[i] == '@')
            host = authority + i + 1; /* the last '@': a password may hold one */
    fg_buf_t b = FG_BUF_INIT;
    fg_buf_append(&b, url, (size_t)(authority - url));
    fg_buf_puts(&b, host);
    quote(b.data, out, cap);
    fg_buf_free(&b);
}

/* ---- value parsers ------------------------------------------------------- */

static bool parse_int64(const char *s, int64_t *out)
{
    bool negative = *s == '-';
    s += negative;
    if (*s == '\0')
        return false;
    int64_t v = 0;
    for (; *s != '\0'; s++) {
        if (*s < '0' || *s > '9')
            return false;
        if (__builtin_mul_overflow(v, 10, &v) || __builtin_add_overflow(v, negative ? -(*s - '0') : *s - '0', &v))
            return false;
    }
    *out = v;
    return true;
}

static bool parse_bool(const char *s, int *out)
{
    static const char *const truths[] = {"true", "1", "yes", "on"};
    static const char *const falsehoods[] = {"false", "0", "no", "off"};
    for (size_t i = 0; i < sizeof(truths) / sizeof(truths[0]); i++) {
        if (strcasecmp(s, truths[i]) == 0) {
            *out = 1;
            return true;
        }
        if (strcasecmp(s, falsehoods[i]) == 0) {
            *out = 0;
            return true;
        }
    }
    return false;
}

static bool is_digit(char c) { return c >= '0' && c <= '9'; }

static bool valid_url(const char *s)
{
    const char *rest;
    if (strncmp(s, "https://", 8) == 0)
        rest = s + 8;
    else if (strncmp(s, "http://", 7) == 0)
        rest = s + 7;
    else
        return false;
    if (*rest == '\0' || *rest == '/')
        return false; /* no host */
    for (; *rest != '\0'; rest++) {
        if ((unsigned char)*rest <= ' ' || *rest == 0x7f)
            return false; /* spaces or control bytes */
    }
    return true;
}

static bool valid_bank_bin(const char *s)
{
    size_t n = strlen(s);
    if (n == 0)
        return true;
    if (n != BANK_BIN_LEN)
        return false;
    for (size_t i = 0; i < n; i++) {
        if (!is_digit(s[i]))
            return false;
    }
    return true;
}

/* Writes "key: problem: \"value\"" into detail; returns FG_EINVALID. */
static int bad_value(const option_t *opt, const char *problem, const char *value, char *detail, size_t cap)
{
    char quoted[QUOTED_CAP];
    if (opt->type == TYPE_URL)
        quote_url(value, quoted, sizeof(quoted));
    else
        quote(value, quoted, sizeof(quoted));
    snprintf(detail, cap, "%s: %s: %s", opt->key, problem, quoted);
    return FG_EINVALID;
}

static int set_number(fg_config_t *cfg, const option_t *opt, const char *value, char *detail, size_t cap)
{
    int64_t number;
    if (!parse_int64(value, &number) || number < opt->min || number > opt->max) {
        char problem[64];
        snprintf(problem, sizeof(problem), "not an integer in %lld..%lld", (long long)opt->min, (long long)opt->max);
        return bad_value(opt, problem, value, detail, cap);
    }
    char *field = (char *)cfg + opt->offset;
    if (opt->type == TYPE_INT)
        *(int *)field = (int)number;
    else
        *(int64_t *)field = number;
    return 0;
}

/* The problem with a text value of opt's type, or NULL if it is valid. */
/* ---- database nodes -------------------------------------------------------- */

static bool parse_port(const char *s, int *port);
static bool valid_host(const char *host, size_t n);

/* One entry of db.sockets or db.hosts, [p, p + n), into node. */
static bool parse_node(const char *p, size_t n, int hosts, fg_db_node_t *node)
{
    memset(node, 0, sizeof(*node));
    if (!hosts) {
        if (n == 0 || n >= sizeof(node->socket))
            return false;
        memcpy(node->socket, p, n);
        return true;
    }
    const char *colon = memchr(p, ':', n);
    size_t host_len = colon != NULL ? (size_t)(colon - p) : n;
    node->port = 3306;
    if (colon != NULL) {
        char port[8];
        size_t port_len = n - host_len - 1;
        if (port_len == 0 || port_len >= sizeof(port))
            return false;
        memcpy(port, colon + 1, port_len);
        port[port_len] = '\0';
        if (!parse_port(port, &node->port))
            return false;
    }
    if (host_len == 0 || host_len >= sizeof(node->host) || !valid_host(p, host_len))
        return false;
    memcpy(node->host, p, host_len);
    return true;
}

/* Splits a list at commas into nodes; -1 if an entry is bad or there are too many. */
static int parse_nodes(const char *list, int hosts, fg_db_node_t *nodes, int cap)
{
    int count = 0;
    if (list[0] == '\0')
        return 0;
    for (const char *p = list;;) {
        const char *comma = strchr(p, ',');
        size_t n = comma != NULL ? (size_t)(comma - p) : strlen(p);
        if (count == cap || !parse_node(p, n, hosts, &nodes[count]))
            return -1;
        count++;
        if (comma == NULL)
            return count;
        p = comma + 1;
    }
}

static const char *node_list_problem(const char *value, int hosts)
{
    fg_db_node_t nodes[FG_DB_NODES_MAX];
    if (parse_nodes(value, hosts, nodes, FG_DB_NODES_MAX) >= 0)
        return NULL;
    return hosts ? "expected host[:port] entries separated by commas, at most 8"
                 : "expected socket paths (under 108 bytes each) separated by commas, at most 8";
}

int fg_config_db_nodes(const fg_config_t *cfg, fg_db_node_t nodes[FG_DB_NODES_MAX])
{
    int count = 0, n;
    /* a cluster's lists replace the single server's db.socket and db.host */
    if (cfg->db_sockets[0] != '\0')
        count = parse_nodes(cfg->db_sockets, 0, nodes, FG_DB_NODES_MAX);
    else if (cfg->db_hosts[0] == '\0' && cfg->db_socket[0] != '\0' &&
             parse_node(cfg->db_socket, strlen(cfg->db_socket), 0, &nodes[0]))
        count = 1;
    if (count < 0)
        count = 0;
    if (cfg->db_hosts[0] != '\0' && (n = parse_nodes(cfg->db_hosts, 1, nodes + count, FG_DB_NODES_MAX - count)) > 0)
        count += n;
    if (count == 0) {
        memset(&nodes[0], 0, sizeof(nodes[0]));
        snprintf(nodes[0].host, sizeof(nodes[0].host), "%s", cfg->db_host);
        nodes[0].port = cfg->db_port;
        count = 1;
    }
    return count;
}

static const char *text_problem(const option_t *opt, const char *value)
{
    char host[HOST_NAME_LEN_MAX + 1];
    int port;
    switch (opt->type) {
    case TYPE_LISTEN:
        return value[0] == '\0' || fg_config_split_listen(value, host, sizeof(host), &port) == 0 ? NULL
                                                                                                 : "expected host:port";
    case TYPE_URL: return valid_url(value) ? NULL : "expected an http:// or https:// URL";
    case TYPE_SOCKETS:
    case TYPE_HOSTS: return node_list_problem(value, opt->type == TYPE_HOSTS);
    case TYPE_BANK_BIN: return valid_bank_bin(value) ? NULL : "expected 6 digits";
    case TYPE_NETWORKS: {
        fg_netmask_t masks[FG_NETMASKS_MAX];
        return fg_netmasks_parse(value, masks, FG_NETMASKS_MAX) >= 0
                   ? NULL
                   : "expected at most 64 IP addresses or networks such as 10.0.0.0/8, comma-separated";
    }
    case TYPE_FEE: {
        fg_fee_schedule_t fee;
        return value[0] == '\0' || fg_fee_parse(value, strlen(value), &fee) == 0
                   ? NULL
                   : "expected a fee schedule such as 1.1%+1650 or 1.5%,min=2000,round=up";
    }
    default: return NULL;
    }
}

/* Stores the validated value; writes "key: problem: value" into detail on error. */
static int set_option(fg_config_t *cfg, const option_t *opt, const char *value, char *detail, size_t cap)
{
    char *field = (char *)cfg + opt->offset;
    switch (opt->type) {
    case TYPE_INT:
    case TYPE_INT64: return set_number(cfg, opt, value, detail, cap);
    case TYPE_BOOL:
        if (!parse_bool(value, (int *)field))
            return bad_value(opt, "expected true or false", value, detail, cap);
        return 0;
    case TYPE_STRING:
    case TYPE_LISTEN:
    case TYPE_URL:
    case TYPE_BANK_BIN:
    case TYPE_FEE:
    case TYPE_SOCKETS:
    case TYPE_HOSTS:
    case TYPE_NETWORKS: break;
    }
    const char *problem = text_problem(opt, value);
    if (problem != NULL)
        return bad_value(opt, problem, value, detail, cap);
    char **text = (char **)field;
    free(*text);
    *text = fg_strdup(value);
    return 0;
}

/* ---- public API: defaults, one key, free --------------------------------- */

void fg_config_defaults(fg_config_t *cfg)
{
    assert(cfg != NULL);
    memset(cfg, 0, sizeof(*cfg));
    for (size_t i = 0; i < OPTION_COUNT; i++) {
        char detail[DETAIL_CAP];
        int rc = set_option(cfg, &options[i], options[i].default_value, detail, sizeof(detail));
        assert(rc == 0 && "every default is valid");
        (void)rc;
    }
}

int fg_config_set(fg_config_t *cfg, const char *key, const char *value, char *err, size_t err_cap)
{
    assert(cfg != NULL && key != NULL && value != NULL);
    const option_t *opt = find_option(key);
    if (opt == NULL) {
        char quoted[QUOTED_CAP];
        quote(key, quoted, sizeof(quoted));
        format_error(err, err_cap, "config: unknown key %s", quoted);
        return FG_EINVALID;
    }
    char detail[DETAIL_CAP];
    if (set_option(cfg, opt, value, detail, sizeof(detail)) != 0) {
        format_error(err, err_cap, "config: %s", detail);
        return FG_EINVALID;
    }
    return 0;
}

void fg_config_free(fg_config_t *cfg)
{
    if (cfg == NULL)
        return;
    for (size_t i = 0; i < OPTION_COUNT; i++) {
        switch (options[i].type) {
        case TYPE_STRING:
        case TYPE_LISTEN:
        case TYPE_URL:
        case TYPE_BANK_BIN:
        case TYPE_FEE:
        case TYPE_SOCKETS:
        case TYPE_HOSTS:
        case TYPE_NETWORKS: {
            char **text = (char **)((char *)cfg + options[i].offset);
            free(*text);
            *text = NULL;
            break;
        }
        case TYPE_INT:
        case TYPE_INT64:
        case TYPE_BOOL: break;
        }
    }
}

/* ---- listen addresses ---------------------------------------------------- */

/* A port is 1..5 digits with a value in 1..65535. */
static bool parse_port(const char *s, int *port)
{
    size_t n = strlen(s);
    if (n == 0 || n > 5)
        return false;
    int v = 0;
    for (size_t i = 0; i < n; i++) {
        if (!is_digit(s[i]))
            return false;
        v = v * 10 + (s[i] - '0');
    }
    if (v < 1 || v > PORT_MAX)
        return false;
    *port = v;
    return true;
}

/* An IPv4 literal (anything of only digits and dots must be one) or a DNS
 * name of letters, digits, '-' and '.'. */
static bool valid_host(const char *host, size_t n)
{
    if (n > HOST_NAME_LEN_MAX)
        return false;
    char copy[HOST_NAME_LEN_MAX + 1];
    memcpy(copy, host, n);
    copy[n] = '\0';
    if (strspn(copy, "0123456789.") == n) {
        struct in_addr a;
        return inet_pton(AF_INET, copy, &a) == 1;
    }
    if (copy[0] == '.' || copy[0] == '-' || strstr(copy, "..") != NULL)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = copy[i];
        if (!is_digit(c) && !(c >= 'a' && c <= 'z') && !(c >= 'A' && c <= 'Z') && c != '-' && c != '.')
            return false;
    }
    return true;
}

int fg_config_split_listen(const char *listen, char *host, size_t cap, int *port)
{
    assert(listen != NULL && host != NULL && port != NULL);
    const char *host_start = listen, *host_end, *colon;
    if (listen[0] == '[') {
        host_start = listen + 1;
        host_end = strchr(host_start, ']');
        if (host_end == NULL || host_end[1] != ':')
            return FG_EINVALID;
        colon = host_end + 1;
        char v6[INET6_ADDRSTRLEN + 1];
        size_t n = (size_t)(host_end - host_start);
        struct in6_addr a;
        if (n == 0 || n >= sizeof(v6))
            return FG_EINVALID;
        memcpy(v6, host_start, n);
        v6[n] = '\0';
        if (inet_pton(AF_INET6, v6, &a) != 1)
            return FG_EINVALID;
    } else {
        colon = strchr(listen, ':');
        if (colon == NULL || strchr(colon + 1, ':') != NULL)
            return FG_EINVALID;
        host_end = colon;
        if (host_end > host_start && !valid_host(host_start, (size_t)(host_end - host_start)))
            return FG_EINVALID;
    }
    size_t host_len = (size_t)(host_end - host_start);
    int port_value;
    if (host_len >= cap || !parse_port(colon + 1, &port_value))
        return FG_EINVALID;
    memcpy(host, host_start, host_len);
    host[host_len] = '\0';
    *port = port_value;
    return 0;
}

/* ---- the file ------------------------------------------------------------ */

static bool is_blank(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

/* Trims blanks from both ends of s in place and returns it. */
static char *trim(char *s)
{
    while (is_blank(*s))
        s++;
    size_t n = strlen(s);
    while (n > 0 && is_blank(s[n - 1]))
        s[--n] = '\0';
    return s;
}

/* 1 when some option lives in section (n bytes). */
static bool known_section(const char *section, size_t n)
{
    for (size_t i = 0; i < OPTION_COUNT; i++) {
        if (strncmp(options[i].key, section, n) == 0 && options[i].key[n] == '.')
            return true;
    }
    return false;
}

typedef struct {
    const char *path;
    size_t line_number;
    char section[KEY_LEN_MAX];
    char *err;
    size_t err_cap;
} file_state_t;

/* Handles a trimmed "[section]" line.  0 or FG_EINVALID with the error written. */
static int parse_section(file_state_t *st, char *line)
{
    size_t n = strlen(line);
    if (n < 2 || line[n - 1] != ']') {
        format_error(st->err, st->err_cap, "config: %s:%zu: malformed section header", st->path, st->line_number);
        return FG_EINVALID;
    }
    line[n - 1] = '\0';
    char *name = trim(line + 1);
    size_t name_len = strlen(name);
    if (name_len == 0 || name_len >= sizeof(st->section) || strchr(name, '.') != NULL ||
        !known_section(name, name_len)) {
        char quoted[QUOTED_CAP];
        quote(name, quoted, sizeof(quoted));
        format_error(st->err, st->err_cap, "config: %s:%zu: unknown section %s", st->path, st->line_number, quoted);
        return FG_EINVALID;
    }
    memcpy(st->section, name, name_len + 1);
    return 0;
}

/* Finds the option a line's key names: "section.key" as it is, a bare key
 * within the current [section], and a dotted key that names no option as it
 * is within the current [section] too ("fee.vnpay" under [recon]). */
static const option_t *line_option(file_state_t *st, const char *key)
{
    if (strchr(key, '.') != NULL && st->section[0] != '\0' && find_option(key) == NULL) {
        fg_buf_t within = FG_BUF_INIT;
        fg_buf_printf(&within, "%s.%s", st->section, key);
        const option_t *opt = find_option(within.data);
        fg_buf_free(&within);
        if (opt != NULL)
            return opt;
    }
    bool dotted = strchr(key, '.') != NULL;
    if (key[0] == '\0') {
        format_error(st->err, st->err_cap, "config: %s:%zu: expected key = value", st->path, st->line_number);
        return NULL;
    }
    if (!dotted && st->section[0] == '\0') {
        char quoted[QUOTED_CAP];
        quote(key, quoted, sizeof(quoted));
        format_error(st->err, st->err_cap, "config: %s:%zu: key %s outside a [section]", st->path, st->line_number,
                     quoted);
        return NULL;
    }
    fg_buf_t full = FG_BUF_INIT;
    if (!dotted)
        fg_buf_printf(&full, "%s.", st->section);
    fg_buf_puts(&full, key);
    const option_t *opt = find_option(full.data);
    if (opt == NULL) {
        char quoted[QUOTED_CAP];
        quote(full.data, quoted, sizeof(quoted));
        format_error(st->err, st->err_cap, "config: %s:%zu: unknown key %s", st->path, st->line_number, quoted);
    }
    fg_buf_free(&full);
    return opt;
}

/* Handles one line (without its newline). */
static int parse_line(fg_config_t *cfg, file_state_t *st, char *raw)
{
    char *line = trim(raw);
    if (line[0] == '\0' || line[0] == '#' || line[0] == ';')
        return 0;
    if (line[0] == '[')
        return parse_section(st, line);
    char *eq = strchr(line, '=');
    if (eq == NULL) {
        format_error(st->err, st->err_cap, "config: %s:%zu: expected key = value", st->path, st->line_number);
        return FG_EINVALID;
    }
    *eq = '\0';
    const option_t *opt = line_option(st, trim(line));
    if (opt == NULL)
        return FG_EINVALID;
    char *value = trim(eq + 1);
    size_t n = strlen(value);
    if (n >= 2 && value[0] == '"' && value[n - 1] == '"') {
        value[n - 1] = '\0';
        value++;
    }
    char detail[DETAIL_CAP];
    if (set_option(cfg, opt, value, detail, sizeof(detail)) != 0) {
        format_error(st->err, st->err_cap, "config: %s:%zu: %s", st->path, st->line_number, detail);
        return FG_EINVALID;
    }
    return 0;
}

int fg_config_parse(fg_config_t *cfg, const char *text, size_t len, const char *name, char *err, size_t err_cap)
{
    int rc = 0;
    file_state_t st = {.path = name, .err = err, .err_cap = err_cap};
    for (size_t at = 0; at < len && rc == 0;) {
        const char *nl = memchr(text + at, '\n', len - at);
        size_t n = (nl != NULL ? (size_t)(nl - text) : len) - at;
        st.line_number++;
        if (memchr(text + at, '\0', n) != NULL) {
            format_error(err, err_cap, "config: %s:%zu: NUL byte in line", name, st.line_number);
            return FG_EINVALID;
        }
        char *line = fg_strndup(text + at, n);
        rc = parse_line(cfg, &st, line);
        free(line);
        at += n + 1;
    }
    return rc;
}

static int load_file(fg_config_t *cfg, const char *path, char *err, size_t err_cap)
{
    int rc = 0;
    fg_buf_t text = FG_BUF_INIT;
    char chunk[4096];
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        format_error(err, err_cap, "config: %s: cannot open: %s", path, strerror(errno));
        rc = FG_EIO;
        goto Exit;
    }
    size_t n;
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        fg_buf_append(&text, chunk, n);
    if (ferror(f)) {
        format_error(err, err_cap, "config: %s: read error: %s", path, strerror(errno));
        rc = FG_EIO;
        goto Exit;
    }
    rc = fg_config_parse(cfg, text.data != NULL ? text.data : "", text.len, path, err, err_cap);
Exit:
    fg_buf_free(&text);
    if (f != NULL)
        fclose(f);
    return rc;
}

/* ---- the environment ----------------------------------------------------- */

/* "db.pool_size" -> "FEEGATE_DB_POOL_SIZE" */
static void env_name(const char *key, char *out, size_t cap)
{
    size_t n = strlen(ENV_PREFIX);
    assert(n + strlen(key) < cap);
    memcpy(out, ENV_PREFIX, n);
    for (const char *k = key; *k != '\0'; k++) {
        char c = *k == '.' ? '_' : *k;
        out[n++] = c >= 'a' && c <= 'z' ? (char)(c - 'a' + 'A') : c;
    }
    out[n] = '\0';
}

int fg_config_env_known(const char *name)
{
    for (size_t i = 0; i < OPTION_COUNT; i++) {
        char known[ENV_NAME_CAP];
        env_name(options[i].key, known, sizeof(known));
        if (strcmp(known, name) == 0)
            return 1;
    }
    return 0;
}

static int load_environment(fg_config_t *cfg, char *err, size_t err_cap)
{
    for (size_t i = 0; i < OPTION_COUNT; i++) {
        char name[ENV_NAME_CAP];
        env_name(options[i].key, name, sizeof(name));
        const char *value = getenv(name);
        if (value == NULL)
            continue;
        char detail[DETAIL_CAP];
        if (set_option(cfg, &options[i], value, detail, sizeof(detail)) != 0) {
            format_error(err, err_cap, "config: %s: %s", name, detail);
            return FG_EINVALID;
        }
    }
    return 0;
}

int fg_config_quiet_hours(const char *s, int *from_min, int *to_min)
{
    int h1, m1, h2, m2, n = 0;
    *from_min = *to_min = 0;
    if (s[0] == '\0')
        return 0;
    if (strlen(s) != 11 || sscanf(s, "%2d:%2d-%2d:%2d%n", &h1, &m1, &h2, &m2, &n) != 4 || n != 11 || s[2] != ':' ||
        s[5] != '-' || s[8] != ':' || h1 > 23 || h2 > 23 || m1 > 59 || m2 > 59 || h1 < 0 || h2 < 0 || m1 < 0 ||
        m2 < 0 || (h1 == h2 && m1 == m2))
        return FG_EINVALID;
    *from_min = h1 * 60 + m1;
    *to_min = h2 * 60 + m2;
    return 0;
}

/* A listening address reduced to what decides whether two listeners meet:
 * the port, the address as IPv6 (an IPv4 one in its ::ffff: form, so both
 * spellings compare equal) and whether it is a wildcard. */
typedef struct {
    uint8_t address[16];
    int port;
    bool v6, wildcard;
} endpoint_t;

static endpoint_t endpoint_of(const struct sockaddr *sa)
{
    endpoint_t e = {.port = 0};
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
        e.address[10] = e.address[11] = 0xff;
        memcpy(&e.address[12], &in->sin_addr, 4);
        e.port = ntohs(in->sin_port);
        e.wildcard = in->sin_addr.s_addr == htonl(INADDR_ANY);
    } else {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
        memcpy(e.address, &in6->sin6_addr, 16);
        e.port = ntohs(in6->sin6_port);
        e.v6 = !IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr);
        e.wildcard = IN6_IS_ADDR_UNSPECIFIED(&in6->sin6_addr);
    }
    return e;
}

/* Whether listeners on a and b would receive each other's connections: the
 * same port and the same address, or a wildcard that covers the other (the
 * IPv4 one covers IPv4 addresses; the IPv6 one every address, as the
 * listeners leave IPV6_V6ONLY off). */
static bool endpoints_meet(const endpoint_t *a, const endpoint_t *b)
{
    if (a->port != b->port)
        return false;
    return memcmp(a->address, b->address, 16) == 0 || (a->wildcard && (a->v6 || !b->v6)) ||
           (b->wildcard && (b->v6 || !a->v6));
}

/* Every address listen resolves to, as the server resolves it; NULL when it
 * resolves to none (the server says so when it binds). */
static struct addrinfo *listen_addresses(const char *listen)
{
    char host[HOST_NAME_LEN_MAX + 1], service[8];
    int port;
    struct addrinfo *list = NULL;
    if (listen[0] == '\0' || fg_config_split_listen(listen, host, sizeof(host), &port) != 0)
        return NULL;
    snprintf(service, sizeof(service), "%d", port);
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE};
    return getaddrinfo(host[0] != '\0' ? host : NULL, service, &hints, &list) == 0 ? list : NULL;
}

static bool listeners_meet(const struct addrinfo *a, const struct addrinfo *b)
{
    for (; a != NULL; a = a->ai_next)
        for (const struct addrinfo *o = b; o != NULL; o = o->ai_next) {
            endpoint_t x = endpoint_of(a->ai_addr), y = endpoint_of(o->ai_addr);
            if ((a->ai_family == AF_INET || a->ai_family == AF_INET6) &&
                (o->ai_family == AF_INET || o->ai_family == AF_INET6) && endpoints_meet(&x, &y))
                return true;
        }
    return false;
}

/* /metrics on the address of a public listener would share its port
 * (every listener sets SO_REUSEPORT): the kernel would hand some public
 * connections to the metrics listener.  The addresses are compared as the
 * server binds them, not as written: 127.0.0.1:04791 is 127.0.0.1:4791,
 * and 0.0.0.0:8080 or :8080 take 127.0.0.1:8080's connections too. */
static int check_listeners(const fg_config_t *cfg, char *err, size_t err_cap)
{
    int rc = 0;
    struct addrinfo *metrics = listen_addresses(cfg->metrics_listen);
    const char *const keys[] = {"http.listen", "https.listen"};
    const char *const publics[] = {cfg->http_listen, cfg->https_listen};
    for (int i = 0; i < 2 && metrics != NULL && rc == 0; i++) {
        struct addrinfo *listener = listen_addresses(publics[i]);
        if (listener != NULL && listeners_meet(metrics, listener)) {
            char quoted_metrics[QUOTED_CAP], quoted_public[QUOTED_CAP];
            quote(cfg->metrics_listen, quoted_metrics, sizeof(quoted_metrics));
            quote(publics[i], quoted_public, sizeof(quoted_public));
            format_error(err, err_cap, "config: metrics.listen: %s is a public listener's address too (%s %s)",
                         quoted_metrics, keys[i], quoted_public);
            rc = FG_EINVALID;
        }
        if (listener != NULL)
            freeaddrinfo(listener);
    }
    if (metrics != NULL)
        freeaddrinfo(metrics);
    return rc;
}

/* A db.socket path the socket address cannot hold was passed over for
 * db.host:db.port (127.0.0.1:3306: whatever server listens there) without a
 * word. */
static int check_db_socket(const fg_config_t *cfg, char *err, size_t err_cap)
{
    fg_db_node_t node, nodes[FG_DB_NODES_MAX];
    if (cfg->db_socket[0] != '\0' && !parse_node(cfg->db_socket, strlen(cfg->db_socket), 0, &node)) {
        format_error(err, err_cap, "config: db.socket: a unix socket path is under 108 bytes: \"%.60s…\"",
                     cfg->db_socket);
        return FG_EINVALID;
    }
    /* each list holds 8 at most, and so do both together: the nodes past the
     * eighth were dropped without a word (a cluster's failover hosts) */
    int sockets = cfg->db_sockets[0] != '\0' ? parse_nodes(cfg->db_sockets, 0, nodes, FG_DB_NODES_MAX) : 0;
    int hosts = cfg->db_hosts[0] != '\0' ? parse_nodes(cfg->db_hosts, 1, nodes, FG_DB_NODES_MAX) : 0;
    if (sockets + hosts > FG_DB_NODES_MAX) {
        format_error(err, err_cap, "config: db.sockets and db.hosts name %d nodes together; at most %d",
                     sockets + hosts, FG_DB_NODES_MAX);
        return FG_EINVALID;
    }
    return 0;
}

/* Plain http only to this machine (a local relay, the bank simulator): the
 * SMS and Zalo calls carry the account's keys in the request. */
static bool cleartext_off_host(const char *url)
{
    if (strncmp(url, "http://", 7) != 0)
        return false;
    const char *host = url + 7;
    static const char *const LOCAL[] = {"127.0.0.1", "localhost", "[::1]"};
    for (size_t i = 0; i < sizeof(LOCAL) / sizeof(LOCAL[0]); i++) {
        size_t n = strlen(LOCAL[i]);
        if (strncmp(host, LOCAL[i], n) == 0 && (host[n] == '\0' || host[n] == ':' || host[n] == '/'))
            return false;
    }
    return true;
}

/* The reminder channels' URLs and the quiet hours, which the option types do not cover. */
static int check_reminders(const fg_config_t *cfg, char *err, size_t err_cap)
{
    int a, b;
    char quoted[QUOTED_CAP];
    const char *u = cfg->smtp_url;
    const char *rest = strncmp(u, "smtp://", 7) == 0 ? u + 7 : strncmp(u, "smtps://", 8) == 0 ? u + 8 : NULL;
    if (u[0] != '\0' && (rest == NULL || *rest == '\0' || *rest == '/' || strpbrk(u, " \t\r\n") != NULL)) {
        quote_url(u, quoted, sizeof(quoted));
        format_error(err, err_cap, "config: smtp.url: expected an smtp:// or smtps:// URL: %s", quoted);
        return FG_EINVALID;
    }
    if (u[0] != '\0' && strchr(cfg->smtp_from, '@') == NULL) {
        format_error(err, err_cap, "config: smtp.from: expected the sender's e-mail address when smtp.url is set");
        return FG_EINVALID;
    }
    if (cfg->sms_url[0] != '\0' && !valid_url(cfg->sms_url)) {
        quote_url(cfg->sms_url, quoted, sizeof(quoted));
        format_error(err, err_cap, "config: sms.url: expected an http:// or https:// URL: %s", quoted);
        return FG_EINVALID;
    }
    if (cfg->zalo_url[0] != '\0' && !valid_url(cfg->zalo_url)) {
        quote_url(cfg->zalo_url, quoted, sizeof(quoted));
        format_error(err, err_cap, "config: zalo.url: expected an http:// or https:// URL: %s", quoted);
        return FG_EINVALID;
    }
    if (cleartext_off_host(cfg->sms_url) || cleartext_off_host(cfg->zalo_url)) {
        format_error(err, err_cap,
                     "config: %s: https:// is needed (its requests carry the account's keys); plain "
                     "http only to 127.0.0.1, localhost or [::1]",
                     cleartext_off_host(cfg->sms_url) ? "sms.url" : "zalo.url");
        return FG_EINVALID;
    }
    if (fg_config_quiet_hours(cfg->reminders_quiet_hours, &a, &b) != 0) {
        quote(cfg->reminders_quiet_hours, quoted, sizeof(quoted));
        format_error(err, err_cap, "config: reminders.quiet_hours: expected HH:MM-HH:MM (GMT+7) or nothing: %s",
                     quoted);
        return FG_EINVALID;
    }
    return 0;
}

/* sepay.accounts, rewritten as statements key each account ("0011001932418,
 * 0099000000001"): a transfer's account (keyed by the adapter) is then
 * compared as it is.  One that is no account number would never match a
 * transfer, and its bills would silently stay unpaid: refused. */
static int key_sepay_accounts(fg_config_t *cfg, char *err, size_t err_cap)
{
    fg_buf_t keyed = FG_BUF_INIT;
    for (const char *p = cfg->sepay_accounts; *p != '\0';) {
        size_t n = strcspn(p, ","), lead = strspn(p, " \t");
        char key[FG_BANK_ACCOUNT_MAX + 1];
        if (n > lead && fg_bank_account_key(p, n, key, sizeof(key), FG_BANK_ACCOUNT_MAX) < 0) {
            format_error(err, err_cap,
                         "config: sepay.accounts: \"%.*s\" is not an account number (1 to 34 letters and digits; "
                         "spaces, dots and dashes aside)",
                         (int)(n - lead < 60 ? n - lead : 60), p + lead);
            fg_buf_free(&keyed);
            return FG_EINVALID;
        }
        if (n > lead)
            fg_buf_printf(&keyed, "%s%s", keyed.len > 0 ? "," : "", key);
        p += n + (p[n] == ',');
    }
    free(cfg->sepay_accounts);
    cfg->sepay_accounts = fg_strdup(keyed.len > 0 ? keyed.data : "");
    fg_buf_free(&keyed);
    return 0;
}

int fg_config_load(fg_config_t *cfg, const char *path, char *err, size_t err_cap)
{
    fg_config_defaults(cfg);
    if (path != NULL) {
        int rc = load_file(cfg, path, err, err_cap);
        if (rc != 0)
            return rc;
    }
    int rc = load_environment(cfg, err, err_cap);
    if (rc == 0)
        rc = check_reminders(cfg, err, err_cap);
    if (rc == 0)
        rc = check_listeners(cfg, err, err_cap);
    if (rc == 0)
        rc = key_sepay_accounts(cfg, err, err_cap);
    return rc != 0 ? rc : check_db_socket(cfg, err, err_cap);
}
