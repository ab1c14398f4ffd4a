/*
 * http_client.c - outbound provider calls over libcurl (see http_client.h).
 */
#include "net/http_client.h"

#include <curl/curl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

/* 0 until fg_http_client_init: unbounded (unit tests call out directly). */
static int max_in_flight;
static atomic_int in_flight;

int fg_http_client_init(int max)
{
    max_in_flight = max > 0 ? max : 1;
    return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : FG_EIO;
}

void fg_http_client_cleanup(void) { curl_global_cleanup(); }

int fg_http_client_max_in_flight(void) { return max_in_flight; }

/* Failures after which the provider cannot have received the request. */
static int never_sent(CURLcode rc)
{
    return rc == CURLE_COULDNT_RESOLVE_HOST || rc == CURLE_COULDNT_CONNECT || rc == CURLE_UNSUPPORTED_PROTOCOL ||
           rc == CURLE_URL_MALFORMAT || rc == CURLE_SSL_CONNECT_ERROR || rc == CURLE_PEER_FAILED_VERIFICATION;
}

static size_t on_data(char *data, size_t size, size_t count, void *arg)
{
    fg_buf_t *b = arg;
    size_t n = size * count;
    if (b->len + n > FG_HTTP_RESPONSE_MAX)
        return 0; /* makes curl fail the transfer */
    fg_buf_append(b, data, n);
    return n;
}

static int post_json(const char *url, const char *header, const char *body, size_t len, int64_t timeout_ms,
                     fg_http_response_t *out)
{
    CURL *easy = curl_easy_init();
    struct curl_slist *headers = NULL;
    if (easy == NULL) {
        snprintf(out->error, sizeof(out->error), "curl_easy_init failed");
        out->not_sent = 1;
        return FG_EUNAVAILABLE;
    }
    headers = curl_slist_append(headers, "Content-Type: application/json; charset=utf-8");
    headers = curl_slist_append(headers, "Accept: application/json");
    headers = curl_slist_append(headers, "Expect:");
    if (header != NULL)
        headers = curl_slist_append(headers, header);
    curl_easy_setopt(easy, CURLOPT_URL, url);
    curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L); /* threads: no SIGALRM for timeouts */
    curl_easy_setopt(easy, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(easy, CURLOPT_POST, 1L);
    curl_easy_setopt(easy, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS, (long)FG_HTTP_CONNECT_TIMEOUT_MS);
    curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
    curl_easy_setopt(easy, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(easy, CURLOPT_USERAGENT, "feegate/" FEEGATE_VERSION);
    curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(easy, CURLOPT_WRITEDATA, &out->body);
    CURLcode rc = curl_easy_perform(easy);
    int result = 0;
    if (rc != CURLE_OK) {
        out->timed_out = rc == CURLE_OPERATION_TIMEDOUT;
        out->not_sent = never_sent(rc);
        snprintf(out->error, sizeof(out->error), "%s", curl_easy_strerror(rc));
        out->status = 0;
        result = FG_EUNAVAILABLE;
    } else {
        curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &out->status);
        if (out->body.data == NULL)
            fg_buf_puts(&out->body, "");
    }
    curl_slist_free_all(headers);
    curl_easy_cleanup(easy);
    return result;
}

int fg_http_post_json(const char *url, const char *body, size_t len, int64_t timeout_ms, fg_http_response_t *out)
{
    return fg_http_post_json_with(url, NULL, body, len, timeout_ms, out);
}

int fg_http_post_json_with(const char *url, const char *header, const char *body, size_t len, int64_t timeout_ms,
                           fg_http_response_t *out)
{
    memset(out, 0, sizeof(*out));
    if (max_in_flight > 0 && atomic_fetch_add(&in_flight, 1) >= max_in_flight) {
        atomic_fetch_sub(&in_flight, 1);
        snprintf(out->error, sizeof(out->error), "too many provider calls in flight (%d)", max_in_flight);
        out->not_sent = 1;
        return FG_EUNAVAILABLE;
    }
    int rc = post_json(url, header, body, len, timeout_ms, out);
    if (max_in_flight > 0)
        atomic_fetch_sub(&in_flight, 1);
    return rc;
}

void fg_http_response_free(fg_http_response_t *r) { fg_buf_free(&r->body); }
