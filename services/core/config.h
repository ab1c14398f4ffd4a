/*
 * config.h - feegate's configuration (docs/DESIGN.md §11).
 *
 * Every key "section.key" can be set in the config file or by the environment
 * variable FEEGATE_SECTION_KEY (upper case, '.' -> '_'); the environment wins
 * and the server runs with no file at all.  A bad value stops start-up with
 * one line naming the key.
 *
 * File format: INI.  "[section]" headers, "key = value" lines, '#' or ';'
 * comments, blank lines; "section.key = value" is also accepted anywhere.
 * Values may be wrapped in double quotes.  Unknown keys are an error (a typo
 * must not silently leave a default in force).
 */
#ifndef FG_CORE_CONFIG_H
#define FG_CORE_CONFIG_H

#include <stddef.h>
#include <stdint.h>
#include "core/error.h"

typedef struct {
    /* db */
    char *db_socket;       /* "" = use host/port */
    char *db_host;         /* "127.0.0.1" */
    int db_port;           /* 3306 */
    char *db_sockets;      /* "" or the sockets of a cluster's nodes, comma-separated (fg_config_db_nodes) */
    char *db_hosts;        /* "" or their host[:port]s, comma-separated */
    char *db_read_socket;  /* "" or the sockets of servers reports read from (replicas), comma-separated */
    char *db_read_host;    /* "" or their host[:port]s (fg_db_reader) */
    char *db_user;         /* "feegate" */
    char *db_password;     /* "" */
    char *db_name;         /* "feegate" */
    int db_pool_size;      /* 32; 1..1024: connections (and worker threads) per process */
    int db_read_timeout_s; /* 30; 1..86400: the longest wait for one answer of the server */
    /* server */
    int server_threads; /* 0 = one event loop per online core; 0..256 */
    /* http / https */
    char *http_listen;          /* "127.0.0.1:8080"; "" disables */
    char *https_listen;         /* "127.0.0.1:8443"; "" disables */
    char *http_trusted_proxies; /* "" or the proxies (addresses, networks) whose X-Forwarded-For names the client */
    char *metrics_listen;       /* "127.0.0.1:9464": /metrics, apart from the public ports; "" disables */
    char *https_cert;           /* PEM path; "" = an ephemeral self-signed certificate */
    char *https_key;            /* PEM path */
    /* public */
    char *public_base_url; /* "http://127.0.0.1:8080" */
    /* vnpay */
    char *vnpay_tmn_code, *vnpay_hash_secret, *vnpay_pay_url, *vnpay_api_url;
    /* momo */
    char *momo_partner_code, *momo_access_key, *momo_secret_key, *momo_endpoint;
    /* vietqr */
    char *vietqr_bank_bin, *vietqr_account_no, *vietqr_account_name;
    /* sepay */
    char *sepay_api_key;
    char *sepay_accounts; /* "" (every account the feed reports) or the accounts whose transfers pay bills, comma
                             separated */
    /* sandbox */
    char *sandbox_secret;
    /* webhooks */
    int webhooks_allow_private;     /* false */
    int64_t webhooks_retry_base_ms; /* 30000; 1..86400000 */
    /* A rejected notification (forged, unreadable) is stored as its first
     * this many bytes of body, query and headers each (4096; 0..65535), and
     * deleted after this many days (30; 0 keeps them); applied rows stay. */
    int64_t webhooks_inbox_rejected_bytes;
    int64_t webhooks_inbox_rejected_days;
    /* Outbound deliveries that ended are the endpoint's history for this
     * many days (90; 0 keeps them), then deleted (webhooks/events.c). */
    int64_t webhooks_deliveries_retain_days;
    /* Token buckets per instance (http/ratelimit.h), per minute with a burst;
     * 0 a minute turns a limit off.  address: every public route but the
     * providers' notifications and static assets, by client address (1200,
     * 200).  key: authenticated routes, by credential (0: off; 1000).
     * rejected: a source whose notifications are refused as forged or
     * unreadable, counted only on refusal (60, 30). */
    int64_t limits_address_per_minute, limits_address_burst;
    int64_t limits_key_per_minute, limits_key_burst;
    int64_t limits_rejected_per_minute, limits_rejected_burst;
    /* Slow clients: an HTTP/1 request's head and body must arrive within
     * request_timeout_s (30); an HTTP/2 connection silent for idle_timeout_s
     * (60) is closed; beyond max_connections (10000) open at once a new
     * connection is closed on accept. */
    int64_t http_request_timeout_s, http_idle_timeout_s, http_max_connections;
    /* payments */
    int64_t payments_pending_query_after_s; /* 900; 1..604800 */
    /* 86400; 1..2592000: a payment the provider still calls unfinished this
     * long after it began is expired (its pay window is long over) */
    int64_t payments_pending_expire_after_s;
    /* payer pages: payments started from a bill (POST /pay/{code}/start) per
     * client address and per order in each fixed window, counted in MariaDB */
    int64_t payer_start_limit_per_address; /* 30; 1..1000000 */
    int64_t payer_start_limit_per_order;   /* 10; 1..1000000 */
    int64_t payer_start_limit_window_s;    /* 600; 1..86400 */
    /* reconciliation: a transfer the feed applied that no statement shows
     * after this many business days is ledger_only (2; 0..60) */
    int64_t recon_ledger_only_after_days;
    int64_t recon_close_after_hour; /* of a business day (GMT+7), from which it may be closed: 24 once it is over */
    /* the ledger account a write-off posts to ("expenses:reconciliation") */
    char *recon_write_off_account;
    /* each gateway's fee schedule (core/fee.h), "" = none: a payout line
     * without its settlement file then waits for the file */
    char *recon_fee_vnpay, *recon_fee_momo;
    /* orders */
    int64_t orders_sweep_interval_ms; /* 1000; 10..3600000: expiry and idempotency-key sweeper period */
    int64_t
        ledger_checkpoint_interval_ms; /* 10000; 100..3600000: balance checkpoint rounds (checkpoints trail by ~one) */
    /* export: the change feed's signing key (a P-256 private key, PEM; "" = the feed answers 503) and
     * further public keys published with it (comma separated PEM files: older signing keys, the next one) */
    char *export_signing_key_file, *export_published_key_files;
    /* receipts (receipts/keys.h): the XML signing key and its certificate (PEM), the QR payload's P-256
     * key, and earlier keys kept verifiable (comma separated certificates and P-256 keys); "" = none */
    char *receipts_signing_key_file, *receipts_certificate_file, *receipts_qr_key_file;
    char *receipts_published_key_files;
    int receipts_issue; /* true: every succeeded payment is issued its receipt (false: no e-receipts) */
    /* reminders (reminders/reminders.h): the job on or off; quiet hours "HH:MM-HH:MM" in GMT+7 when no SMS
     * or Zalo message goes ("" = none); how often each merchant's open orders are planned; the secret of
     * the opt-out links (shared by every instance; "" = reminders carry no opt-out link and are not
     * planned); how many tries before a message is failed; how long a claimed message is held */
    int reminders_enabled;
    char *reminders_quiet_hours, *reminders_link_secret;
    int64_t reminders_plan_interval_s, reminders_max_attempts, reminders_lease_s;
    /* e-mail through the unit's relay (smtp:// with STARTTLS required unless smtp.starttls is false, or
     * smtps://; "" = no e-mail); the sender's address; AUTH credentials; a CA file for the relay */
    char *smtp_url, *smtp_from, *smtp_username, *smtp_password, *smtp_ca_file;
    int smtp_starttls;
    /* SMS brandname (eSMS): the send URL ("" = no SMS), credentials, brand name */
    char *sms_url, *sms_api_key, *sms_secret_key, *sms_brandname;
    /* Zalo ZNS: the template message URL ("" = no Zalo), access token, the reminder's template */
    char *zalo_url, *zalo_access_token, *zalo_template_id;
    /* staff pages: a session ends after staff_session_idle_ms without a request (1800000 = 30 min;
     * 1000..86400000) or staff_session_absolute_ms after login (43200000 = 12 h; 1000..604800000) */
    int64_t staff_session_idle_ms, staff_session_absolute_ms;
    /* how long an instance trusts an API key or a staff token it has checked without asking the
     * database again (10000; 0..60000, 0 = every request asks): a revoked key, a revoked token or a
     * disabled staff member's token stops working within it */
    int64_t auth_cache_ms;
    /* login throttling: after FG_LOGIN_FREE_FAILURES failures, the next try waits staff_login_delay_ms
     * (1000; 1..60000), doubling with each further failure; staff_login_lockout_failures (10; 2..1000)
     * failures lock the address until an admin unlocks it */
    int64_t staff_login_delay_ms, staff_login_lockout_failures;
    /* log */
    int log_requests; /* true: one JSON line per request on stdout */
} fg_config_t;

/** Fills cfg with every default (strings are heap copies). */
void fg_config_defaults(fg_config_t *cfg);

/**
 * Loads defaults, then the file at path (NULL = no file), then the
 * environment.  On error returns FG_EINVALID (or FG_EIO for an unreadable
 * file) and writes one line into err such as
 *   "config: db.port: not an integer in 1..65535: \"abc\""
 *   "config: /etc/feegate.conf:12: unknown key \"db.prot\""
 *   "config: FEEGATE_HTTP_LISTEN: http.listen: expected host:port"
 * cfg is then still safe to fg_config_free().
 */
int fg_config_load(fg_config_t *cfg, const char *path, char *err, size_t err_cap) FG_MUST_USE;

/** 1 when the environment variable name (FEEGATE_…) is a setting's, 0 when
 *  the configuration does not read it (a typo, say: a file's unknown key is
 *  refused, the environment's cannot be, since scripts set names of their own). */
int fg_config_env_known(const char *name);

/** Reads the config file format (INI, above) from text (len bytes, named
 *  name in messages) over what cfg holds: the file part of fg_config_load,
 *  without the defaults and the environment.  0, or FG_EINVALID with one
 *  line in err ("config: NAME:LINE: …"). */
int fg_config_parse(fg_config_t *cfg, const char *text, size_t len, const char *name, char *err,
                    size_t err_cap) FG_MUST_USE;

/** Sets one key from text, validating it ("db.port", "5") as the loader does.
 *  Returns 0, or FG_EINVALID with a message (naming the key) in err. */
int fg_config_set(fg_config_t *cfg, const char *key, const char *value, char *err, size_t err_cap) FG_MUST_USE;

/** Reads reminders.quiet_hours ("21:00-07:00", GMT+7; "" = none: both 0) as
 *  minutes after midnight.  0, or FG_EINVALID. */
int fg_config_quiet_hours(const char *s, int *from_min, int *to_min) FG_MUST_USE;

/** Frees every string of cfg. */
void fg_config_free(fg_config_t *cfg);

/** Splits "host:port" / "[::1]:port" / ":port" into host (cap bytes) and port.
 *  Returns 0 or FG_EINVALID. */
int fg_config_split_listen(const char *listen, char *host, size_t cap, int *port);

/* The database servers an instance may use, in the order it tries them
 * (db.sockets, else db.socket; then db.hosts; with none of these, db.host
 * and db.port): a cluster's nodes, or one server. */
#define FG_DB_NODES_MAX 8
typedef struct {
    char socket[108]; /* "" = TCP to host:port */
    char host[254];
    int port;
} fg_db_node_t;

/** Fills nodes (at most FG_DB_NODES_MAX) and returns how many; the lists
 *  were validated when the configuration was loaded. */
int fg_config_db_nodes(const fg_config_t *cfg, fg_db_node_t nodes[FG_DB_NODES_MAX]);

#endif
