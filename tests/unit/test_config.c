/* Unit tests for services/core/config.c */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "core/config.h"

#define ERR_CAP 512

/* Every FEEGATE_* variable the loader reads, cleared before each test so the
 * environment the tests run in cannot leak in. */
static const char *const env_names[] = {
    "FEEGATE_DB_SOCKET",
    "FEEGATE_DB_HOST",
    "FEEGATE_DB_PORT",
    "FEEGATE_DB_USER",
    "FEEGATE_DB_PASSWORD",
    "FEEGATE_DB_NAME",
    "FEEGATE_DB_POOL_SIZE",
    "FEEGATE_SERVER_THREADS",
    "FEEGATE_HTTP_LISTEN",
    "FEEGATE_HTTPS_LISTEN",
    "FEEGATE_METRICS_LISTEN",
    "FEEGATE_HTTPS_CERT",
    "FEEGATE_HTTPS_KEY",
    "FEEGATE_PUBLIC_BASE_URL",
    "FEEGATE_HTTP_TRUSTED_PROXIES",
    "FEEGATE_VNPAY_TMN_CODE",
    "FEEGATE_VNPAY_HASH_SECRET",
    "FEEGATE_VNPAY_PAY_URL",
    "FEEGATE_VNPAY_API_URL",
    "FEEGATE_MOMO_PARTNER_CODE",
    "FEEGATE_MOMO_ACCESS_KEY",
    "FEEGATE_MOMO_SECRET_KEY",
    "FEEGATE_MOMO_ENDPOINT",
    "FEEGATE_VIETQR_BANK_BIN",
    "FEEGATE_VIETQR_ACCOUNT_NO",
    "FEEGATE_VIETQR_ACCOUNT_NAME",
    "FEEGATE_SEPAY_API_KEY",
    "FEEGATE_SANDBOX_SECRET",
    "FEEGATE_WEBHOOKS_ALLOW_PRIVATE",
    "FEEGATE_WEBHOOKS_RETRY_BASE_MS",
    "FEEGATE_PAYMENTS_PENDING_QUERY_AFTER_S",
    "FEEGATE_ORDERS_SWEEP_INTERVAL_MS",
    "FEEGATE_LOG_REQUESTS",
    "FEEGATE_RECON_FEE_VNPAY",
    "FEEGATE_RECON_FEE_MOMO",
    "FEEGATE_SMTP_URL",
    "FEEGATE_SMTP_FROM",
    "FEEGATE_SMS_URL",
    "FEEGATE_REMINDERS_QUIET_HOURS",
};

static char tmp_path[64];

static void setup(void)
{
    for (size_t i = 0; i < sizeof(env_names) / sizeof(env_names[0]); i++)
        unsetenv(env_names[i]);
    tmp_path[0] = '\0';
}

static void teardown(void)
{
    if (tmp_path[0] != '\0')
        unlink(tmp_path);
}

/* Writes text to a fresh temporary file whose path is in tmp_path. */
static const char *write_file(const char *text)
{
    strcpy(tmp_path, "/tmp/feegate-config-XXXXXX");
    int fd = mkstemp(tmp_path);
    ck_assert_int_ge(fd, 0);
    size_t n = strlen(text);
    ck_assert_int_eq(write(fd, text, n), (ssize_t)n);
    close(fd);
    return tmp_path;
}

/* Asserts err is one line starting "config: " and containing want. */
static void expect_error(const char *err, const char *want)
{
    ck_assert_msg(strncmp(err, "config: ", 8) == 0, "error \"%s\" lacks the prefix", err);
    ck_assert_msg(strchr(err, '\n') == NULL, "error \"%s\" is not one line", err);
    ck_assert_msg(strstr(err, want) != NULL, "error \"%s\" lacks \"%s\"", err, want);
}

/* ---- defaults ------------------------------------------------------------ */

START_TEST(defaults)
{
    fg_config_t c;
    fg_config_defaults(&c);
    ck_assert_str_eq(c.db_socket, "");
    ck_assert_str_eq(c.db_host, "127.0.0.1");
    ck_assert_int_eq(c.db_port, 3306);
    ck_assert_str_eq(c.db_user, "feegate");
    ck_assert_str_eq(c.db_password, "");
    ck_assert_str_eq(c.db_name, "feegate");
    ck_assert_int_eq(c.db_pool_size, 32);
    ck_assert_int_eq(c.db_read_timeout_s, 30);
    ck_assert_int_eq(c.server_threads, 0);
    ck_assert_str_eq(c.http_listen, "127.0.0.1:8080");
    ck_assert_str_eq(c.https_listen, "127.0.0.1:8443");
    ck_assert_str_eq(c.https_cert, "");
    ck_assert_str_eq(c.https_key, "");
    ck_assert_str_eq(c.public_base_url, "http://127.0.0.1:8080");
    ck_assert_str_eq(c.vnpay_tmn_code, "");
    ck_assert_str_eq(c.vnpay_hash_secret, "");
    ck_assert_str_eq(c.vnpay_pay_url, "https://sandbox.vnpayment.vn/paymentv2/vpcpay.html");
    ck_assert_str_eq(c.vnpay_api_url, "https://sandbox.vnpayment.vn/merchant_webapi/api/transaction");
    ck_assert_str_eq(c.momo_partner_code, "");
    ck_assert_str_eq(c.momo_access_key, "");
    ck_assert_str_eq(c.momo_secret_key, "");
    ck_assert_str_eq(c.momo_endpoint, "https://test-payment.momo.vn");
    ck_assert_str_eq(c.vietqr_bank_bin, "");
    ck_assert_str_eq(c.vietqr_account_no, "");
    ck_assert_str_eq(c.vietqr_account_name, "");
    ck_assert_str_eq(c.sepay_api_key, "");
    ck_assert_str_eq(c.sandbox_secret, "");
    ck_assert_int_eq(c.webhooks_allow_private, 0);
    ck_assert_int_eq(c.webhooks_retry_base_ms, 30000);
    ck_assert_int_eq(c.payments_pending_query_after_s, 900);
    ck_assert_int_eq(c.orders_sweep_interval_ms, 1000);
    ck_assert_int_eq(c.ledger_checkpoint_interval_ms, 10000);
    ck_assert_int_eq(c.log_requests, 1);
    ck_assert_str_eq(c.recon_fee_vnpay, ""); /* no schedule: payouts wait for their file */
    ck_assert_str_eq(c.recon_fee_momo, "");
    fg_config_free(&c);
    ck_assert_ptr_null(c.db_host);
    fg_config_free(&c); /* twice is harmless */
}
END_TEST

/* A cluster's lists replace the single server's socket, and hold 8 nodes
 * together: the ninth was dropped without a word. */
START_TEST(db_node_lists)
{
    fg_config_t c;
    fg_db_node_t nodes[FG_DB_NODES_MAX];
    char err[ERR_CAP] = "";
    setenv("FEEGATE_DB_SOCKET", "/run/mysqld/mysqld.sock", 1);
    setenv("FEEGATE_DB_HOSTS", "10.0.0.1,10.0.0.2:3307", 1);
    ck_assert_int_eq(fg_config_load(&c, NULL, err, sizeof(err)), 0);
    ck_assert_int_eq(fg_config_db_nodes(&c, nodes), 2);
    ck_assert_str_eq(nodes[0].host, "10.0.0.1");
    ck_assert_str_eq(nodes[1].host, "10.0.0.2");
    ck_assert_int_eq(nodes[1].port, 3307);
    fg_config_free(&c);
    setenv("FEEGATE_DB_SOCKETS", "/run/a.sock", 1);
    setenv("FEEGATE_DB_HOSTS", "h1,h2,h3,h4,h5,h6,h7,h8", 1);
    ck_assert_int_ne(fg_config_load(&c, NULL, err, sizeof(err)), 0);
    ck_assert_msg(strstr(err, "db.sockets and db.hosts name 9 nodes together; at most 8") != NULL, "%s", err);
    fg_config_free(&c);
    setenv("FEEGATE_DB_HOSTS", "h1,h2,h3,h4,h5,h6,h7", 1);
    ck_assert_int_eq(fg_config_load(&c, NULL, err, sizeof(err)), 0);
    ck_assert_int_eq(fg_config_db_nodes(&c, nodes), 8);
    ck_assert_str_eq(nodes[0].socket, "/run/a.sock");
    ck_assert_str_eq(nodes[7].host, "h7");
    fg_config_free(&c);
    unsetenv("FEEGATE_DB_SOCKET");
    unsetenv("FEEGATE_DB_SOCKETS");
    unsetenv("FEEGATE_DB_HOSTS");
}
END_TEST

START_TEST(load_without_file_or_env)
{
    fg_config_t c;
    char err[ERR_CAP] = "";
    ck_assert_int_eq(fg_config_load(&c, NULL, err, sizeof(err)), 0);
    ck_assert_int_eq(c.db_port, 3306);
    ck_assert_str_eq(c.http_listen, "127.0.0.1:8080");
    fg_config_free(&c);
}
END_TEST

/* ---- fg_config_set ------------------------------------------------------- */

START_TEST(set_every_type)
{
    fg_config_t c;
    char err[ERR_CAP];
    fg_config_defaults(&c);
    ck_assert_int_eq(fg_config_set(&c, "db.port", "3307", err, sizeof(err)), 0);
    ck_assert_int_eq(c.db_port, 3307);
    ck_assert_int_eq(fg_config_set(&c, "db.password", "p@ss word#;=\"x", err, sizeof(err)), 0);
    ck_assert_str_eq(c.db_password, "p@ss word#;=\"x");
    ck_assert_int_eq(fg_config_set(&c, "webhooks.retry_base_ms", "86400000", err, sizeof(err)), 0);
    ck_assert_int_eq(c.webhooks_retry_base_ms, 86400000);
    ck_assert_int_eq(fg_config_set(&c, "payments.pending_query_after_s", "1", err, sizeof(err)), 0);
    ck_assert_int_eq(c.payments_pending_query_after_s, 1);
    ck_assert_int_eq(fg_config_set(&c, "orders.sweep_interval_ms", "10", err, sizeof(err)), 0);
    ck_assert_int_eq(c.orders_sweep_interval_ms, 10);
    ck_assert_int_eq(fg_config_set(&c, "webhooks.allow_private", "YES", err, sizeof(err)), 0);
    ck_assert_int_eq(c.webhooks_allow_private, 1);
    ck_assert_int_eq(fg_config_set(&c, "log.requests", "Off", err, sizeof(err)), 0);
    ck_assert_int_eq(c.log_requests, 0);
    ck_assert_int_eq(fg_config_set(&c, "http.listen", "", err, sizeof(err)), 0);
    ck_assert_str_eq(c.http_listen, "");
    ck_assert_int_eq(fg_config_set(&c, "https.listen", "[::1]:443", err, sizeof(err)), 0);
    ck_assert_str_eq(c.https_listen, "[::1]:443");
    ck_assert_int_eq(fg_config_set(&c, "public.base_url", "https://pay.example.gov.vn", err, sizeof(err)), 0);
    ck_assert_str_eq(c.public_base_url, "https://pay.example.gov.vn");
    ck_assert_int_eq(fg_config_set(&c, "vietqr.bank_bin", "970436", err, sizeof(err)), 0);
    ck_assert_str_eq(c.vietqr_bank_bin, "970436");
    ck_assert_int_eq(fg_config_set(&c, "vietqr.bank_bin", "", err, sizeof(err)), 0);
    ck_assert_str_eq(c.vietqr_bank_bin, "");
    ck_assert_int_eq(fg_config_set(&c, "vietqr.account_name", "TRUONG THPT NGUYEN DU", err, sizeof(err)), 0);
    ck_assert_str_eq(c.vietqr_account_name, "TRUONG THPT NGUYEN DU");
    ck_assert_int_eq(fg_config_set(&c, "server.threads", "256", err, sizeof(err)), 0);
    ck_assert_int_eq(c.server_threads, 256);
    ck_assert_int_eq(fg_config_set(&c, "http.trusted_proxies", "10.0.0.0/8, 2001:db8::1", err, sizeof(err)), 0);
    ck_assert_str_eq(c.http_trusted_proxies, "10.0.0.0/8, 2001:db8::1");
    fg_config_free(&c);
}
END_TEST

START_TEST(set_bools)
{
    static const char *const truths[] = {"true", "TRUE", "True", "1", "yes", "Yes", "on", "ON"};
    static const char *const falsehoods[] = {"false", "FALSE", "0", "no", "NO", "off", "oFF"};
    static const char *const neither[] = {"", "2", "y", "n", "tru", "truee", " true", "enable", "-1"};
    fg_config_t c;
    char err[ERR_CAP];
    fg_config_defaults(&c);
    for (size_t i = 0; i < sizeof(truths) / sizeof(truths[0]); i++) {
        c.log_requests = 0;
        ck_assert_int_eq(fg_config_set(&c, "log.requests", truths[i], err, sizeof(err)), 0);
        ck_assert_int_eq(c.log_requests, 1);
    }
    for (size_t i = 0; i < sizeof(falsehoods) / sizeof(falsehoods[0]); i++) {
        c.log_requests = 1;
        ck_assert_int_eq(fg_config_set(&c, "log.requests", falsehoods[i], err, sizeof(err)), 0);
        ck_assert_int_eq(c.log_requests, 0);
    }
    for (size_t i = 0; i < sizeof(neither) / sizeof(neither[0]); i++) {
        c.log_requests = 1;
        ck_assert_int_eq(fg_config_set(&c, "log.requests", neither[i], err, sizeof(err)), FG_EINVALID);
        expect_error(err, "log.requests");
        ck_assert_int_eq(c.log_requests, 1);
    }
    fg_config_free(&c);
}
END_TEST

typedef struct {
    const char *key;
    const char *value;
} pair_t;

static const pair_t bad_values[] = {
    {"db.port", "abc"},
    {"http.trusted_proxies", "10.0.0.1/8"},
    {"http.trusted_proxies", "proxy.example"},
    {"http.trusted_proxies", "10.0.0.0/8,"},
    {"db.port", "0"},
    {"db.port", "65536"},
    {"db.port", "-1"},
    {"db.port", ""},
    {"db.port", " 80"},
    {"db.port", "80 "},
    {"db.port", "+80"},
    {"db.port", "8O"},
    {"db.port", "99999999999999999999999"},
    {"db.pool_size", "0"},
    {"db.pool_size", "1025"},
    {"db.read_timeout_s", "0"},
    {"db.read_timeout_s", "86401"},
    {"server.threads", "-1"},
    {"server.threads", "257"},
    {"webhooks.retry_base_ms", "0"},
    {"webhooks.retry_base_ms", "86400001"},
    {"webhooks.retry_base_ms", "9223372036854775808"},
    {"payments.pending_query_after_s", "604801"},
    {"orders.sweep_interval_ms", "9"},
    {"orders.sweep_interval_ms", "3600001"},
    {"ledger.checkpoint_interval_ms", "99"},
    {"ledger.checkpoint_interval_ms", "3600001"},
    {"http.listen", "8080"},
    {"http.listen", "127.0.0.1"},
    {"http.listen", "127.0.0.1:"},
    {"http.listen", "127.0.0.1:0"},
    {"http.listen", "127.0.0.1:65536"},
    {"http.listen", "127.0.0.1:80x"},
    {"http.listen", "999.0.0.1:80"},
    {"http.listen", "::1:80"},
    {"http.listen", "[::1:80"},
    {"http.listen", "[nonsense]:80"},
    {"http.listen", "bad host:80"},
    {"https.listen", " 127.0.0.1:8443"},
    {"public.base_url", ""},
    {"public.base_url", "ftp://example.com"},
    {"public.base_url", "example.com"},
    {"public.base_url", "https://"},
    {"public.base_url", "https://pay.example.gov.vn "},
    {"public.base_url", "https://pay.example .gov.vn"},
    {"public.base_url", "HTTPS://pay.example.gov.vn"},
    {"vnpay.pay_url", "//sandbox.vnpayment.vn"},
    {"momo.endpoint", "https://test-payment.momo.vn\n"},
    {"vietqr.bank_bin", "97043"},
    {"vietqr.bank_bin", "9704366"},
    {"vietqr.bank_bin", "97043a"},
    {"vietqr.bank_bin", " 970436"},
};

START_TEST(set_rejects_bad_values)
{
    const pair_t *p = &bad_values[_i];
    fg_config_t c;
    char err[ERR_CAP] = "";
    fg_config_defaults(&c);
    ck_assert_msg(fg_config_set(&c, p->key, p->value, err, sizeof(err)) == FG_EINVALID, "%s = \"%s\" accepted", p->key,
                  p->value);
    char prefix[64];
    snprintf(prefix, sizeof(prefix), "config: %s: ", p->key);
    ck_assert_msg(strncmp(err, prefix, strlen(prefix)) == 0, "error \"%s\"", err);
    expect_error(err, p->key);
    /* the default stays in force */
    ck_assert_int_eq(c.db_port, 3306);
    ck_assert_str_eq(c.http_listen, "127.0.0.1:8080");
    ck_assert_str_eq(c.public_base_url, "http://127.0.0.1:8080");
    ck_assert_str_eq(c.vietqr_bank_bin, "");
    fg_config_free(&c);
}
END_TEST

START_TEST(set_error_messages)
{
    fg_config_t c;
    char err[ERR_CAP];
    fg_config_defaults(&c);
    ck_assert_int_eq(fg_config_set(&c, "db.port", "abc", err, sizeof(err)), FG_EINVALID);
    ck_assert_str_eq(err, "config: db.port: not an integer in 1..65535: \"abc\"");
    ck_assert_int_eq(fg_config_set(&c, "db.prot", "5", err, sizeof(err)), FG_EINVALID);
    ck_assert_str_eq(err, "config: unknown key \"db.prot\"");
    ck_assert_int_eq(fg_config_set(&c, "http.listen", "x", err, sizeof(err)), FG_EINVALID);
    ck_assert_str_eq(err, "config: http.listen: expected host:port: \"x\"");
    /* control bytes in a value are escaped: the error stays one line */
    ck_assert_int_eq(fg_config_set(&c, "db.port", "1\n2\"\\", err, sizeof(err)), FG_EINVALID);
    ck_assert_str_eq(err, "config: db.port: not an integer in 1..65535: \"1\\x0a2\\\"\\\\\"");
    /* long values are cut */
    char long_value[300];
    memset(long_value, '7', sizeof(long_value) - 1);
    long_value[sizeof(long_value) - 1] = '\0';
    ck_assert_int_eq(fg_config_set(&c, "db.port", long_value, err, sizeof(err)), FG_EINVALID);
    ck_assert_ptr_nonnull(strstr(err, "\"..."));
    ck_assert_uint_lt(strlen(err), 200);
    /* a tiny or absent error buffer is fine */
    char tiny[8];
    ck_assert_int_eq(fg_config_set(&c, "db.port", "abc", tiny, sizeof(tiny)), FG_EINVALID);
    ck_assert_str_eq(tiny, "config:");
    ck_assert_int_eq(fg_config_set(&c, "db.port", "abc", NULL, 0), FG_EINVALID);
    ck_assert_int_eq(c.db_port, 3306);
    fg_config_free(&c);
}
END_TEST

/* ---- listen addresses ---------------------------------------------------- */

START_TEST(split_listen)
{
    char host[64];
    int port = 0;
    ck_assert_int_eq(fg_config_split_listen("127.0.0.1:8080", host, sizeof(host), &port), 0);
    ck_assert_str_eq(host, "127.0.0.1");
    ck_assert_int_eq(port, 8080);
    ck_assert_int_eq(fg_config_split_listen("[::1]:443", host, sizeof(host), &port), 0);
    ck_assert_str_eq(host, "::1");
    ck_assert_int_eq(port, 443);
    ck_assert_int_eq(fg_config_split_listen("[::]:1", host, sizeof(host), &port), 0);
    ck_assert_str_eq(host, "::");
    ck_assert_int_eq(port, 1);
    ck_assert_int_eq(fg_config_split_listen(":65535", host, sizeof(host), &port), 0);
    ck_assert_str_eq(host, "");
    ck_assert_int_eq(port, 65535);
    ck_assert_int_eq(fg_config_split_listen("localhost:80", host, sizeof(host), &port), 0);
    ck_assert_str_eq(host, "localhost");
    ck_assert_int_eq(fg_config_split_listen("pay-01.example.gov.vn:8443", host, sizeof(host), &port), 0);
    ck_assert_str_eq(host, "pay-01.example.gov.vn");
    ck_assert_int_eq(port, 8443);
    ck_assert_int_eq(fg_config_split_listen("0.0.0.0:08080", host, sizeof(host), &port), 0);
    ck_assert_int_eq(port, 8080);

    static const char *const bad[] = {
        "",       ":",       "80",           ":0",       ":65536",         ":-1",
        ":+80",   ":123456", "host:",        "a:b:80",   "::1:80",         "[::1]80",
        "[::1]",  "[]:80",   "[zz]:80",      "[::1:80",  "256.0.0.1:80",   "1.2.3:80",
        "a b:80", "-bad:80", "bad..name:80", "host:80 ", "h\xc3\xb4st:80",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        port = -7;
        ck_assert_msg(fg_config_split_listen(bad[i], host, sizeof(host), &port) == FG_EINVALID, "\"%s\"", bad[i]);
        ck_assert_int_eq(port, -7);
    }
    /* host must fit cap */
    ck_assert_int_eq(fg_config_split_listen("localhost:80", host, 9, &port), FG_EINVALID);
    ck_assert_int_eq(fg_config_split_listen("localhost:80", host, 10, &port), 0);
    ck_assert_str_eq(host, "localhost");
}
END_TEST

/* ---- the file ------------------------------------------------------------ */

START_TEST(load_file)
{
    const char *path = write_file("# feegate.conf\n"
                                  "; another comment\n"
                                  "\n"
                                  "[db]\n"
                                  "host = db.internal\n"
                                  "  port=3307  \n"
                                  "password = \"  secret with spaces # and hash \"\n"
                                  "pool_size = 8\r\n"
                                  "\n"
                                  "[ vnpay ]\n"
                                  "tmn_code = TESTTMN1\n"
                                  "hash_secret = TESTSECRETKEY0123456789ABCDEFGHI\n"
                                  "webhooks.retry_base_ms = 1000\n"
                                  "[log]\n"
                                  "requests = off\n"
                                  "vietqr.account_name = \"TRUONG THCS \"\"A\"\"\"\n"
                                  "vietqr.bank_bin=970436\n"
                                  "http.listen =\n"
                                  "https.cert = \"\"\n"
                                  "[vietqr]\n"
                                  "account_no = 0071001234567");
    fg_config_t c;
    char err[ERR_CAP] = "";
    ck_assert_msg(fg_config_load(&c, path, err, sizeof(err)) == 0, "%s", err);
    ck_assert_str_eq(c.db_host, "db.internal");
    ck_assert_int_eq(c.db_port, 3307);
    ck_assert_str_eq(c.db_password, "  secret with spaces # and hash ");
    ck_assert_int_eq(c.db_pool_size, 8);
    ck_assert_str_eq(c.vnpay_tmn_code, "TESTTMN1");
    ck_assert_str_eq(c.vnpay_hash_secret, "TESTSECRETKEY0123456789ABCDEFGHI");
    ck_assert_int_eq(c.webhooks_retry_base_ms, 1000);
    ck_assert_int_eq(c.log_requests, 0);
    ck_assert_str_eq(c.vietqr_account_name, "TRUONG THCS \"\"A\"\"");
    ck_assert_str_eq(c.vietqr_bank_bin, "970436");
    ck_assert_str_eq(c.http_listen, "");
    ck_assert_str_eq(c.https_cert, "");
    ck_assert_str_eq(c.vietqr_account_no, "0071001234567");
    ck_assert_str_eq(c.db_user, "feegate"); /* untouched default */
    fg_config_free(&c);
}
END_TEST

static const pair_t bad_files[] = {
    {"[db]\nprot = 1\n", ":2: unknown key \"db.prot\""},
    {"db.port = 1\n[db]\nport = abc\n", ":3: db.port: not an integer in 1..65535: \"abc\""},
    {"[db\nport = 1\n", ":1: malformed section header"},
    {"[dbx]\nport = 1\n", ":1: unknown section \"dbx\""},
    {"[]\n", ":1: unknown section \"\""},
    {"[db.port]\n", ":1: unknown section"},
    {"port = 1\n", ":1: key \"port\" outside a [section]"},
    {"# ok\n\njust some words\n", ":3: expected key = value"},
    {"[db]\n= 5\n", ":2: expected key = value"},
    {"[db]\nPORT = 5\n", ":2: unknown key \"db.PORT\""},
    {"[http]\nlisten = nowhere\n", ":2: http.listen: expected host:port: \"nowhere\""},
    {"unknown.key = 1\n", ":1: unknown key \"unknown.key\""},
    {"[db]\nport = 3307\nport = 0\n", ":3: db.port"},
    {"[log]\nrequests = \"maybe\"\n", ":2: log.requests: expected true or false: \"maybe\""},
};

START_TEST(load_file_errors)
{
    const pair_t *p = &bad_files[_i];
    const char *path = write_file(p->key);
    fg_config_t c;
    char err[ERR_CAP] = "";
    ck_assert_int_eq(fg_config_load(&c, path, err, sizeof(err)), FG_EINVALID);
    char want[ERR_CAP];
    snprintf(want, sizeof(want), "config: %s%s", path, p->value);
    ck_assert_msg(strncmp(err, want, strlen(want)) == 0, "got \"%s\", want \"%s\"", err, want);
    expect_error(err, path);
    fg_config_free(&c);
}
END_TEST

/* A gateway's fee schedule: in [recon] as "fee.vnpay", anywhere as the full
 * key, from the environment; anything but a schedule stops start-up. */
START_TEST(reminder_channels)
{
    const char *path = write_file(
        "[reminders]\nquiet_hours = 22:00-06:30\nlink_secret = s\n"
        "[smtp]\nurl = smtp://relay.example.vn:587\nfrom = thu@example.vn\n"
        "[sms]\nurl = https://rest.esms.vn/MainService.svc/json/SendMultipleMessage_V4_post_json/\n");
    fg_config_t c;
    char err[ERR_CAP] = "";
    ck_assert_msg(fg_config_load(&c, path, err, sizeof(err)) == 0, "%s", err);
    ck_assert_str_eq(c.reminders_quiet_hours, "22:00-06:30");
    ck_assert_str_eq(c.smtp_url, "smtp://relay.example.vn:587");
    ck_assert_int_eq(c.smtp_starttls, 1);
    ck_assert_int_eq(c.reminders_enabled, 1);
    fg_config_free(&c);
    static const struct {
        const char *name, *value, *message;
    } bad[] = {
        {"FEEGATE_SMTP_URL", "https://relay.example.vn", "smtp.url: expected an smtp:// or smtps:// URL"},
        {"FEEGATE_SMTP_FROM", "nobody", "smtp.from: expected the sender's e-mail address"},
        {"FEEGATE_SMS_URL", "ftp://x", "sms.url: expected an http:// or https:// URL"},
        {"FEEGATE_SMS_URL", "http://rest.esms.vn/x", "sms.url: https:// is needed"},
        {"FEEGATE_ZALO_URL", "http://localhost.evil.example/x", "zalo.url: https:// is needed"},
        {"FEEGATE_REMINDERS_QUIET_HOURS", "21:00-7:00", "reminders.quiet_hours: expected HH:MM-HH:MM"},
        /* /metrics on a public listener's address would share its port */
        {"FEEGATE_METRICS_LISTEN", "127.0.0.1:8080", "metrics.listen: \"127.0.0.1:8080\" is a public listener's"},
        /* the URL's password is left out of the line, its newline escaped */
        {"FEEGATE_SMTP_URL", "smtp://thu:s3cret@relay\n.example.vn:587",
         "smtp.url: expected an smtp:// or smtps:// URL: \"smtp://relay\\x0a.example.vn:587\""},
        {"FEEGATE_SMTP_URL", "https://thu:s3cret@relay.example.vn", "URL: \"https://relay.example.vn\""},
        {"FEEGATE_SMTP_URL", "thu:s3cret@relay.example.vn", "URL: \"relay.example.vn\""},
        {"FEEGATE_SMS_URL", "ftp://key:s3cret@rest.esms.vn/x",
         "sms.url: expected an http:// or https:// URL: \"ftp://rest.esms.vn/x\""},
        {"FEEGATE_VNPAY_API_URL", "https://tmn:s3cret@vnpay .vn/",
         "vnpay.api_url: expected an http:// or https:// URL: \"https://vnpay .vn/\""},
        {"FEEGATE_REMINDERS_QUIET_HOURS", "21:00-07:00\nx",
         "quiet_hours: expected HH:MM-HH:MM (GMT+7) or nothing: \"21:00-07:00\\x0ax\""},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        setenv(bad[i].name, bad[i].value, 1);
        ck_assert_int_eq(fg_config_load(&c, path, err, sizeof(err)), FG_EINVALID);
        expect_error(err, bad[i].message);
        ck_assert_msg(strstr(err, "s3cret") == NULL, "a password in \"%s\"", err);
        fg_config_free(&c);
        unsetenv(bad[i].name);
    }
    unlink(path);
}
END_TEST

/* metrics.listen meets a public listener when the kernel would hand it
 * some of its connections: the same port and the same address however
 * written, or a wildcard that covers the other.  Refused; different
 * addresses on one port are not. */
START_TEST(metrics_listener_apart_from_the_public_ones)
{
    static const struct {
        const char *http, *https, *metrics;
        int meets;
    } cases[] = {
        {"127.0.0.1:4791", "", "127.0.0.1:04791", 1},
        {":8080", "", "0.0.0.0:8080", 1},
        {"0.0.0.0:8080", "", ":8080", 1},
        {"127.0.0.1:8080", "", "0.0.0.0:8080", 1},
        {"0.0.0.0:8080", "", "127.0.0.1:8080", 1},
        {"127.0.0.1:8080", "", "localhost:8080", 1},
        {"", "127.0.0.1:8443", "[::]:8443", 1},
        {"", "[::]:8443", "127.0.0.1:8443", 1},
        {"[::1]:8080", "", "[0:0:0:0:0:0:0:1]:8080", 1},
        {"127.0.0.1:8080", "127.0.0.1:8443", "127.0.0.2:8080", 0},
        {"127.0.0.1:8080", "127.0.0.1:8443", "[::1]:8080", 0},
        {"0.0.0.0:8080", "", "[::1]:8080", 0},
        {"127.0.0.1:8080", "127.0.0.1:8443", "127.0.0.1:9464", 0},
        {"127.0.0.1:8080", "", "", 0},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        fg_config_t c;
        char err[ERR_CAP] = "";
        setenv("FEEGATE_HTTP_LISTEN", cases[i].http, 1);
        setenv("FEEGATE_HTTPS_LISTEN", cases[i].https, 1);
        setenv("FEEGATE_METRICS_LISTEN", cases[i].metrics, 1);
        int rc = fg_config_load(&c, NULL, err, sizeof(err));
        if (cases[i].meets) {
            ck_assert_msg(rc == FG_EINVALID, "metrics %s with http %s, https %s: loaded", cases[i].metrics,
                          cases[i].http, cases[i].https);
            expect_error(err, "metrics.listen: ");
            expect_error(err, "is a public listener's address too");
        } else {
            ck_assert_msg(rc == 0, "metrics %s with http %s, https %s: %s", cases[i].metrics, cases[i].http,
                          cases[i].https, err);
        }
        fg_config_free(&c);
    }
    unsetenv("FEEGATE_HTTP_LISTEN");
    unsetenv("FEEGATE_HTTPS_LISTEN");
    unsetenv("FEEGATE_METRICS_LISTEN");
}
END_TEST

START_TEST(fee_schedules)
{
    const char *path = write_file("[recon]\n"
                                  "fee.vnpay = \"1.1%+1650\"\n"
                                  "recon.fee.momo = 1.5%,min=2000,round=up\n");
    fg_config_t c;
    char err[ERR_CAP] = "";
    ck_assert_msg(fg_config_load(&c, path, err, sizeof(err)) == 0, "%s", err);
    ck_assert_str_eq(c.recon_fee_vnpay, "1.1%+1650");
    ck_assert_str_eq(c.recon_fee_momo, "1.5%,min=2000,round=up");
    fg_config_free(&c);
    setenv("FEEGATE_RECON_FEE_VNPAY", "", 1); /* the environment wins, even empty */
    ck_assert_msg(fg_config_load(&c, path, err, sizeof(err)) == 0, "%s", err);
    ck_assert_str_eq(c.recon_fee_vnpay, "");
    fg_config_free(&c);
    setenv("FEEGATE_RECON_FEE_VNPAY", "1.1", 1);
    ck_assert_int_eq(fg_config_load(&c, NULL, err, sizeof(err)), FG_EINVALID);
    expect_error(err, "FEEGATE_RECON_FEE_VNPAY: recon.fee.vnpay: expected a fee schedule");
    fg_config_free(&c);
    unsetenv("FEEGATE_RECON_FEE_VNPAY");
    unlink(path);
    path = write_file("[recon]\nfee.momo = 1.5%,round=nearest\n");
    ck_assert_int_eq(fg_config_load(&c, path, err, sizeof(err)), FG_EINVALID);
    expect_error(err, ":2: recon.fee.momo: expected a fee schedule");
    fg_config_free(&c);
    /* a dotted key naming nothing, in a section or not, is still unknown */
    unlink(path);
    path = write_file("[recon]\nfee.sepay = 1%\n");
    ck_assert_int_eq(fg_config_load(&c, path, err, sizeof(err)), FG_EINVALID);
    expect_error(err, ":2: unknown key \"fee.sepay\"");
    fg_config_free(&c);
    /* sepay.accounts: account numbers in any spelling, and nothing else (one would never match) */
    unlink(path);
    path = write_file("[sepay]\naccounts = 0099000000001, 001-100-1932-418 ,\n");
    ck_assert_int_eq(fg_config_load(&c, path, err, sizeof(err)), 0);
    fg_config_free(&c);
    unlink(path);
    path = write_file("[sepay]\naccounts = 0099000000001, VCB/0011001932418\n");
    ck_assert_int_eq(fg_config_load(&c, path, err, sizeof(err)), FG_EINVALID);
    expect_error(err, "sepay.accounts: \"VCB/0011001932418\" is not an account number");
    fg_config_free(&c);
    unlink(path);
}
END_TEST

START_TEST(load_missing_file)
{
    fg_config_t c;
    char err[ERR_CAP] = "";
    ck_assert_int_eq(fg_config_load(&c, "/nonexistent/feegate.conf", err, sizeof(err)), FG_EIO);
    expect_error(err, "/nonexistent/feegate.conf");
    fg_config_free(&c);
}
END_TEST

START_TEST(load_file_with_nul_byte)
{
    strcpy(tmp_path, "/tmp/feegate-config-XXXXXX");
    int fd = mkstemp(tmp_path);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, "[db]\nport = 1\0 2\n", 17), 17);
    close(fd);
    fg_config_t c;
    char err[ERR_CAP] = "";
    ck_assert_int_eq(fg_config_load(&c, tmp_path, err, sizeof(err)), FG_EINVALID);
    expect_error(err, ":2:");
    fg_config_free(&c);
}
END_TEST

/* ---- the environment ----------------------------------------------------- */

START_TEST(env_overrides_file)
{
    const char *path = write_file("[db]\nport = 3307\nuser = from_file\n[public]\nbase_url = http://file\n");
    setenv("FEEGATE_DB_PORT", "3308", 1);
    setenv("FEEGATE_DB_POOL_SIZE", "4", 1);
    setenv("FEEGATE_PUBLIC_BASE_URL", "https://pay.example.gov.vn", 1);
    setenv("FEEGATE_VNPAY_TMN_CODE", "ENVTMN", 1);
    setenv("FEEGATE_WEBHOOKS_ALLOW_PRIVATE", "on", 1);
    setenv("FEEGATE_PAYMENTS_PENDING_QUERY_AFTER_S", "604800", 1);
    setenv("FEEGATE_ORDERS_SWEEP_INTERVAL_MS", "3600000", 1);
    setenv("FEEGATE_DB_SOCKET", "/run/mysqld/mysqld.sock", 1);
    setenv("FEEGATE_HTTPS_LISTEN", "", 1);
    setenv("FEEGATE_NOT_A_KEY", "whatever", 1); /* ignored */
    setenv("FEEGATE_db_port", "1", 1);          /* not our spelling: ignored */
    fg_config_t c;
    char err[ERR_CAP] = "";
    ck_assert_msg(fg_config_load(&c, path, err, sizeof(err)) == 0, "%s", err);
    ck_assert_int_eq(c.db_port, 3308);
    ck_assert_str_eq(c.db_user, "from_file");
    ck_assert_int_eq(c.db_pool_size, 4);
    ck_assert_str_eq(c.public_base_url, "https://pay.example.gov.vn");
    ck_assert_str_eq(c.vnpay_tmn_code, "ENVTMN");
    ck_assert_int_eq(c.webhooks_allow_private, 1);
    ck_assert_int_eq(c.payments_pending_query_after_s, 604800);
    ck_assert_int_eq(c.orders_sweep_interval_ms, 3600000);
    ck_assert_str_eq(c.db_socket, "/run/mysqld/mysqld.sock");
    ck_assert_str_eq(c.https_listen, "");
    fg_config_free(&c);
    unsetenv("FEEGATE_NOT_A_KEY");
    unsetenv("FEEGATE_db_port");
}
END_TEST

START_TEST(env_values_are_not_trimmed_or_unquoted)
{
    setenv("FEEGATE_DB_PASSWORD", " \"quoted\" ", 1);
    fg_config_t c;
    char err[ERR_CAP] = "";
    ck_assert_int_eq(fg_config_load(&c, NULL, err, sizeof(err)), 0);
    ck_assert_str_eq(c.db_password, " \"quoted\" ");
    fg_config_free(&c);
}
END_TEST

START_TEST(env_errors)
{
    fg_config_t c;
    char err[ERR_CAP] = "";
    setenv("FEEGATE_HTTP_LISTEN", "nowhere", 1);
    ck_assert_int_eq(fg_config_load(&c, NULL, err, sizeof(err)), FG_EINVALID);
    ck_assert_str_eq(err, "config: FEEGATE_HTTP_LISTEN: http.listen: expected host:port: \"nowhere\"");
    fg_config_free(&c);
    unsetenv("FEEGATE_HTTP_LISTEN");

    setenv("FEEGATE_DB_PORT", "", 1);
    ck_assert_int_eq(fg_config_load(&c, NULL, err, sizeof(err)), FG_EINVALID);
    ck_assert_str_eq(err, "config: FEEGATE_DB_PORT: db.port: not an integer in 1..65535: \"\"");
    fg_config_free(&c);
    unsetenv("FEEGATE_DB_PORT");

    setenv("FEEGATE_VIETQR_BANK_BIN", "970436\n", 1);
    ck_assert_int_eq(fg_config_load(&c, NULL, err, sizeof(err)), FG_EINVALID);
    expect_error(err, "FEEGATE_VIETQR_BANK_BIN: vietqr.bank_bin");
    fg_config_free(&c);

    unsetenv("FEEGATE_VIETQR_BANK_BIN");
    /* a socket path the address cannot hold is refused, not passed over for host:port */
    char long_path[160];
    memset(long_path, 'd', sizeof(long_path) - 1);
    long_path[0] = '/';
    long_path[sizeof(long_path) - 1] = '\0';
    setenv("FEEGATE_DB_SOCKET", long_path, 1);
    ck_assert_int_eq(fg_config_load(&c, NULL, err, sizeof(err)), FG_EINVALID);
    expect_error(err, "db.socket: a unix socket path is under 108 bytes");
    fg_config_free(&c);
    unsetenv("FEEGATE_DB_SOCKET");

    /* which names are settings' (the server warns of the others at start) */
    ck_assert_int_eq(fg_config_env_known("FEEGATE_HTTPS_CERT"), 1);
    ck_assert_int_eq(fg_config_env_known("FEEGATE_DB_SOCKET"), 1);
    ck_assert_int_eq(fg_config_env_known("FEEGATE_HTTP_TRUSTED_PROXIES"), 1);
    ck_assert_int_eq(fg_config_env_known("FEEGATE_HTTPS_CERTS"), 0);
    ck_assert_int_eq(fg_config_env_known("FEEGATE_DB_PASWORD"), 0);
    ck_assert_int_eq(fg_config_env_known("FEEGATE_"), 0);
    ck_assert_int_eq(fg_config_env_known("feegate_db_socket"), 0);

    /* the file is read first, so a bad file wins over a bad environment */
    const char *path = write_file("[db]\nport = 0\n");
    ck_assert_int_eq(fg_config_load(&c, path, err, sizeof(err)), FG_EINVALID);
    expect_error(err, ":2: db.port");
    fg_config_free(&c);
}
END_TEST

START_TEST(env_every_key)
{
    /* each variable reaches its field: set all to a valid non-default value */
    static const pair_t env[] = {
        {"FEEGATE_DB_SOCKET", "/s"},
        {"FEEGATE_DB_HOST", "h"},
        {"FEEGATE_DB_USER", "u"},
        {"FEEGATE_DB_PASSWORD", "p"},
        {"FEEGATE_DB_NAME", "n"},
        {"FEEGATE_SERVER_THREADS", "3"},
        {"FEEGATE_HTTP_LISTEN", ":1"},
        {"FEEGATE_HTTPS_CERT", "c.pem"},
        {"FEEGATE_HTTPS_KEY", "k.pem"},
        {"FEEGATE_VNPAY_HASH_SECRET", "hs"},
        {"FEEGATE_VNPAY_PAY_URL", "http://pay"},
        {"FEEGATE_VNPAY_API_URL", "http://api"},
        {"FEEGATE_MOMO_PARTNER_CODE", "pc"},
        {"FEEGATE_MOMO_ACCESS_KEY", "ak"},
        {"FEEGATE_MOMO_SECRET_KEY", "sk"},
        {"FEEGATE_MOMO_ENDPOINT", "http://momo"},
        {"FEEGATE_VIETQR_BANK_BIN", "970422"},
        {"FEEGATE_VIETQR_ACCOUNT_NO", "an"},
        {"FEEGATE_VIETQR_ACCOUNT_NAME", "nm"},
        {"FEEGATE_SEPAY_API_KEY", "sp"},
        {"FEEGATE_SANDBOX_SECRET", "sb"},
        {"FEEGATE_WEBHOOKS_RETRY_BASE_MS", "5"},
        {"FEEGATE_LOG_REQUESTS", "0"},
    };
    for (size_t i = 0; i < sizeof(env) / sizeof(env[0]); i++)
        setenv(env[i].key, env[i].value, 1);
    fg_config_t c;
    char err[ERR_CAP] = "";
    ck_assert_msg(fg_config_load(&c, NULL, err, sizeof(err)) == 0, "%s", err);
    ck_assert_str_eq(c.db_socket, "/s");
    ck_assert_str_eq(c.db_host, "h");
    ck_assert_str_eq(c.db_user, "u");
    ck_assert_str_eq(c.db_password, "p");
    ck_assert_str_eq(c.db_name, "n");
    ck_assert_int_eq(c.server_threads, 3);
    ck_assert_str_eq(c.http_listen, ":1");
    ck_assert_str_eq(c.https_cert, "c.pem");
    ck_assert_str_eq(c.https_key, "k.pem");
    ck_assert_str_eq(c.vnpay_hash_secret, "hs");
    ck_assert_str_eq(c.vnpay_pay_url, "http://pay");
    ck_assert_str_eq(c.vnpay_api_url, "http://api");
    ck_assert_str_eq(c.momo_partner_code, "pc");
    ck_assert_str_eq(c.momo_access_key, "ak");
    ck_assert_str_eq(c.momo_secret_key, "sk");
    ck_assert_str_eq(c.momo_endpoint, "http://momo");
    ck_assert_str_eq(c.vietqr_bank_bin, "970422");
    ck_assert_str_eq(c.vietqr_account_no, "an");
    ck_assert_str_eq(c.vietqr_account_name, "nm");
    ck_assert_str_eq(c.sepay_api_key, "sp");
    ck_assert_str_eq(c.sandbox_secret, "sb");
    ck_assert_int_eq(c.webhooks_retry_base_ms, 5);
    ck_assert_int_eq(c.log_requests, 0);
    fg_config_free(&c);
}
END_TEST

static Suite *config_suite(void)
{
    Suite *s = suite_create("config");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, defaults);
    tcase_add_test(tc, load_without_file_or_env);
    tcase_add_test(tc, set_every_type);
    tcase_add_test(tc, set_bools);
    tcase_add_loop_test(tc, set_rejects_bad_values, 0, (int)(sizeof(bad_values) / sizeof(bad_values[0])));
    tcase_add_test(tc, set_error_messages);
    tcase_add_test(tc, split_listen);
    tcase_add_test(tc, load_file);
    tcase_add_loop_test(tc, load_file_errors, 0, (int)(sizeof(bad_files) / sizeof(bad_files[0])));
    tcase_add_test(tc, load_missing_file);
    tcase_add_test(tc, fee_schedules);
    tcase_add_test(tc, reminder_channels);
    tcase_add_test(tc, metrics_listener_apart_from_the_public_ones);
    tcase_add_test(tc, load_file_with_nul_byte);
    tcase_add_test(tc, env_overrides_file);
    tcase_add_test(tc, env_values_are_not_trimmed_or_unquoted);
    tcase_add_test(tc, env_errors);
    tcase_add_test(tc, env_every_key);
    tcase_add_test(tc, db_node_lists);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(config_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
