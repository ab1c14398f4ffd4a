/*
 * feedread.c - the data-sharing platform's side of tests/bench/changes: pages
 * through GET /v1/exports/changes from a cursor to the end, as a consumer
 * would (one keep-alive connection, each page's X-Feegate-Next-Cursor the
 * next ?after=), checks that the seqs never go back and, with -v, every
 * page's detached JWS against the signing key's public half.
 *
 *   feedread -u BASE_URL -k EXPORT_KEY [-a AFTER] [-l LIMIT] [-v KEY_PEM]
 *
 * Prints "objects=N pages=P bytes=B seconds=S rate=R cursor=C verified=V".
 */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#include "changes/changes.h"

typedef struct {
    fg_buf_t body;
    char cursor[FG_CHANGE_CURSOR_CAP];
    char signature[256];
} page_t;

static size_t on_body(char *data, size_t size, size_t n, void *arg)
{
    page_t *p = arg;
    fg_buf_append(&p->body, data, size * n);
    return size * n;
}

/* Copies the value of header `name` (lower-case) into out. */
static void header_value(const char *line, size_t len, const char *name, char *out, size_t cap)
{
    size_t n = strlen(name);
    if (len <= n + 1 || strncasecmp(line, name, n) != 0 || line[n] != ':')
        return;
    const char *v = line + n + 1;
    const char *end = line + len;
    while (v < end && *v == ' ')
        v++;
    while (end > v && (end[-1] == '\r' || end[-1] == '\n'))
        end--;
    snprintf(out, cap, "%.*s", (int)(end - v), v);
}

static size_t on_header(char *data, size_t size, size_t n, void *arg)
{
    page_t *p = arg;
    header_value(data, size * n, "x-feegate-next-cursor", p->cursor, sizeof(p->cursor));
    header_value(data, size * n, "x-feegate-signature", p->signature, sizeof(p->signature));
    return size * n;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int usage(void)
{
    fprintf(stderr, "usage: feedread -u BASE_URL -k EXPORT_KEY [-a AFTER] [-l LIMIT] [-v KEY_PEM]\n");
    return 2;
}

int main(int argc, char **argv)
{
    const char *base = NULL, *key = NULL, *pem = NULL;
    char after[FG_CHANGE_CURSOR_CAP] = "0", url[512], auth[256], err[300];
    int limit = FG_CHANGES_LIMIT_MAX, opt;
    while ((opt = getopt(argc, argv, "u:k:a:l:v:")) != -1) {
        switch (opt) {
        case 'u': base = optarg; break;
        case 'k': key = optarg; break;
        case 'a': snprintf(after, sizeof(after), "%s", optarg); break;
        case 'l': limit = atoi(optarg); break;
        case 'v': pem = optarg; break;
        default: return usage();
        }
    }
    if (base == NULL || key == NULL || limit < 1 || limit > FG_CHANGES_LIMIT_MAX)
        return usage();
    fg_jws_key_t *verify = NULL;
    if (pem != NULL && fg_jws_key_load(pem, 0, &verify, err, sizeof(err)) != 0) {
        fprintf(stderr, "feedread: %s\n", err);
        return 1;
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    CURL *c = curl_easy_init();
    struct curl_slist *headers = NULL;
    snprintf(auth, sizeof(auth), "Authorization: Bearer %s", key);
    headers = curl_slist_append(headers, auth);
    page_t p = {FG_BUF_INIT, "", ""};
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &p);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &p);
    curl_easy_setopt(c, CURLOPT_TCP_NODELAY, 1L);
    long long objects = 0, pages = 0, bytes = 0, last_seq = -1, verified = 0;
    int rc = 0;
    double start = now_s();
    for (;;) {
        snprintf(url, sizeof(url), "%s/v1/exports/changes?after=%s&limit=%d", base, after, limit);
        curl_easy_setopt(c, CURLOPT_URL, url);
        fg_buf_reset(&p.body);
        p.cursor[0] = p.signature[0] = '\0';
        long status = 0;
        CURLcode code = curl_easy_perform(c);
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
        if (code != CURLE_OK || status != 200 || p.cursor[0] == '\0') {
            fprintf(stderr, "feedread: page after %s: %s, HTTP %ld: %.300s\n", after, curl_easy_strerror(code), status,
                    p.body.data != NULL ? p.body.data : "");
            rc = 1;
            break;
        }
        long long n = 0;
        const char *data = p.body.data != NULL ? p.body.data : "", *end = data + p.body.len;
        for (const char *q = data; q != NULL && q < end;) {
            long long seq = atoll(q + strlen("{\"seq\":"));
            if (seq < last_seq) {
                fprintf(stderr, "feedread: seq %lld after %lld\n", seq, last_seq);
                rc = 1;
            }
            last_seq = seq;
            n++;
            const char *nl = memchr(q, '\n', (size_t)(end - q));
            q = nl != NULL ? nl + 1 : NULL;
        }
        if (verify != NULL) {
            if (fg_jws_verify_detached(verify, p.signature, strlen(p.signature), p.body.data != NULL ? p.body.data : "",
                                       p.body.len) != 0) {
                fprintf(stderr, "feedread: the page after %s does not verify\n", after);
                rc = 1;
            }
            verified++;
        }
        objects += n;
        bytes += (long long)p.body.len;
        pages++;
        snprintf(after, sizeof(after), "%s", p.cursor);
        if (rc != 0 || n < limit)
            break;
    }
    double seconds = now_s() - start;
    printf("objects=%lld pages=%lld bytes=%lld seconds=%.3f rate=%.0f cursor=%s verified=%lld\n", objects, pages, bytes,
           seconds, (double)objects / seconds, after, verified);
    fg_buf_free(&p.body);
    curl_slist_free_all(headers);
    curl_easy_cleanup(c);
    curl_global_cleanup();
    fg_jws_key_free(verify);
    return rc;
}
