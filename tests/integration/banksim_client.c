/*
 * banksim_client.c - banksim and feegate started side by side, and banksim's
 * control API (banksim_client.h).
 */
#define _GNU_SOURCE
#include "banksim_client.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

/* feegate's environment entries: the test settings and the caller's. */
#define FEEGATE_ENV_MAX 64
#define FEEGATE_ENV_ENTRY_CAP 256
/* How long feegate gets to answer /healthz after it starts. */
#define FEEGATE_START_MS 20000
/* banksim's arguments: the usual ones and the caller's. */
#define BANKSIM_ARGS_MAX 32

static const char *feegate_bin(void)
{
    const char *b = getenv("FEEGATE_BIN");
    return b != NULL && b[0] != '\0' ? b : getenv("FEEGATE_BIN_DEFAULT");
}

void fgt_banksim_start(fgt_banksim_t *b, int feegate_port) { fgt_banksim_start_with(b, feegate_port, NULL); }

void fgt_banksim_start_with(fgt_banksim_t *b, int feegate_port, const char *const *extra_args)
{
    const char *bin = getenv("BANKSIM_BIN");
    int out[2], n = 0;
    char feegate[64], line[256];
    memset(b, 0, sizeof(*b));
    if (bin == NULL || pipe(out) != 0) {
        fprintf(stderr, "BANKSIM_BIN is not set\n");
        exit(1);
    }
    snprintf(feegate, sizeof(feegate), "http://127.0.0.1:%d", feegate_port);
    const char *argv[BANKSIM_ARGS_MAX] = {bin,
                                          "--listen",
                                          "127.0.0.1:0",
                                          "--feegate",
                                          feegate,
                                          "--smtp-listen",
                                          "127.0.0.1:0",
                                          "--smtp-user",
                                          FGT_BANKSIM_SMTP_USER,
                                          "--smtp-password",
                                          FGT_BANKSIM_SMTP_PASSWORD};
    while (argv[n] != NULL)
        n++;
    for (int i = 0; extra_args != NULL && extra_args[i] != NULL; i++) {
        if (n == BANKSIM_ARGS_MAX - 1) {
            fprintf(stderr, "too many banksim arguments\n");
            exit(1);
        }
        argv[n++] = extra_args[i];
    }
    pid_t parent = getpid();
    b->pid = fork();
    if (b->pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        if (getppid() != parent || dup2(out[1], 1) < 0)
            _exit(127);
        close(out[0]);
        execv(bin, (char *const *)argv);
        _exit(127);
    }
    close(out[1]);
    FILE *f = fdopen(out[0], "r");
    /* smtp=PORT comes first */
    while (f != NULL && fgets(line, sizeof(line), f) != NULL)
        if (sscanf(line, "smtp=%d", &b->smtp_port) != 1 && sscanf(line, "listening=%d", &b->port) == 1)
            break;
    if (b->port <= 0 || b->smtp_port <= 0) {
        fprintf(stderr, "banksim did not say smtp=PORT and listening=PORT\n");
        exit(1);
    }
    /* keep reading banksim's stdout so that it never blocks on a full pipe */
    if (fork() == 0) {
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        while (fgets(line, sizeof(line), f) != NULL) {
        }
        _exit(0);
    }
    fclose(f);
    snprintf(b->url, sizeof(b->url), "http://127.0.0.1:%d", b->port);
}

void fgt_banksim_stop(fgt_banksim_t *b)
{
    if (b->pid <= 0)
        return;
    kill(b->pid, SIGTERM);
    waitpid(b->pid, NULL, 0);
    b->pid = 0;
}

void fgt_banksim_feegate_start(fgt_server_t *srv, const fgt_banksim_t *b, int http_port, const char *const *extra_env)
{
    static char env[FEEGATE_ENV_MAX][FEEGATE_ENV_ENTRY_CAP];
    int n = 0;
    memset(srv, 0, sizeof(*srv));
    srv->http_port = http_port;
    do
        srv->https_port = fgt_free_port();
    while (srv->https_port == http_port);
    do
        srv->metrics_port = fgt_free_port();
    while (srv->metrics_port == http_port || srv->metrics_port == srv->https_port);
    snprintf(srv->log_path, sizeof(srv->log_path), "/tmp/feegate-it-%d-%d.log", (int)getpid(), http_port);
    snprintf(env[n++], FEEGATE_ENV_ENTRY_CAP, "FEEGATE_HTTP_LISTEN=127.0.0.1:%d", http_port);
    snprintf(env[n++], FEEGATE_ENV_ENTRY_CAP, "FEEGATE_HTTPS_LISTEN=127.0.0.1:%d", srv->https_port);
    snprintf(env[n++], FEEGATE_ENV_ENTRY_CAP, "FEEGATE_PUBLIC_BASE_URL=http://127.0.0.1:%d", http_port);
    snprintf(env[n++], FEEGATE_ENV_ENTRY_CAP, "FEEGATE_VNPAY_PAY_URL=%s/vnpay/paymentv2/vpcpay.html", b->url);
    snprintf(env[n++], FEEGATE_ENV_ENTRY_CAP, "FEEGATE_VNPAY_API_URL=%s/vnpay/merchant_webapi/api/transaction", b->url);
    snprintf(env[n++], FEEGATE_ENV_ENTRY_CAP, "FEEGATE_MOMO_ENDPOINT=%s/momo", b->url);
    snprintf(env[n++], FEEGATE_ENV_ENTRY_CAP, "FEEGATE_PAYMENTS_PENDING_QUERY_AFTER_S=2");
    snprintf(env[n++], FEEGATE_ENV_ENTRY_CAP, "FEEGATE_METRICS_LISTEN=127.0.0.1:%d", srv->metrics_port);
    for (const char *const *e = fgt_suite_env; *e != NULL; e++)
        snprintf(env[n++], FEEGATE_ENV_ENTRY_CAP, "%s", *e);
    for (int i = 0; extra_env != NULL && extra_env[i] != NULL; i++) {
        if (n == FEEGATE_ENV_MAX || strlen(extra_env[i]) >= FEEGATE_ENV_ENTRY_CAP) {
            fprintf(stderr, "too many or too long feegate environment entries\n");
            exit(1);
        }
        snprintf(env[n++], FEEGATE_ENV_ENTRY_CAP, "%s", extra_env[i]);
    }
    int log = open(srv->log_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    pid_t parent = getpid();
    srv->pid = fork();
    if (srv->pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        if (getppid() != parent || dup2(log, 1) < 0 || dup2(log, 2) < 0)
            _exit(127);
        for (int i = 0; i < n; i++)
            putenv(env[i]);
        execl(feegate_bin(), feegate_bin(), "serve", (char *)NULL);
        _exit(127);
    }
    close(log);
    for (int waited = 0;; waited += 20) {
        fgt_response_t r = fgt_request(srv, FGT_HTTP1, "GET", "/healthz", NULL, NULL, 0);
        long status = r.status;
        fgt_response_free(&r);
        if (status == 200)
            return;
        if (waited > FEEGATE_START_MS || waitpid(srv->pid, NULL, WNOHANG) == srv->pid) {
            fprintf(stderr, "feegate did not start; see %s\n", srv->log_path);
            exit(1);
        }
        fgt_sleep_ms(20);
    }
}

static size_t collect(char *data, size_t size, size_t count, void *arg)
{
    fgt_response_t *r = arg;
    size_t n = size * count;
    char *grown = realloc(r->body, r->body_len + n + 1);
    if (grown == NULL)
        return 0; /* curl fails the transfer */
    r->body = grown;
    memcpy(r->body + r->body_len, data, n);
    r->body_len += n;
    r->body[r->body_len] = '\0';
    return n;
}

fgt_response_t fgt_http(const char *method, const char *url, const char *json)
{
    fgt_response_t r;
    memset(&r, 0, sizeof(r));
    r.body = calloc(1, 1);
    CURL *c = curl_easy_init();
    if (c == NULL || r.body == NULL)
        abort(); /* out of memory: no test can go on */
    struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 60L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &r);
    if (json != NULL)
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, json);
    r.curl_code = curl_easy_perform(c);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r.status);
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    char err[128];
    r.json = yajl_tree_parse(r.body, err, sizeof(err));
    return r;
}

fgt_response_t fgt_banksim_control(const fgt_banksim_t *b, const char *path, const char *json)
{
    char url[512];
    snprintf(url, sizeof(url), "%s%s", b->url, path);
    fgt_response_t r = fgt_http("POST", url, json);
    ck_assert_msg(r.status == 200, "banksim %s answered %ld: %s", path, r.status, r.body);
    return r;
}

fgt_response_t fgt_banksim_get(const fgt_banksim_t *b, const char *path)
{
    char url[512];
    snprintf(url, sizeof(url), "%s%s", b->url, path);
    return fgt_http("GET", url, NULL);
}

fgt_response_t fgt_banksim_messages(const fgt_banksim_t *b, const char *channel)
{
    char path[64];
    snprintf(path, sizeof(path), "/control/messages%s%s", channel != NULL ? "?channel=" : "",
             channel != NULL ? channel : "");
    fgt_response_t r = fgt_banksim_get(b, path);
    ck_assert_msg(r.status == 200 && r.json != NULL, "banksim %s answered %ld: %s", path, r.status, r.body);
    return r;
}
