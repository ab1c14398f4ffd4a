/*
 * smtp_client.c - mail submission through libcurl (see smtp_client.h).
 */
#include "net/smtp_client.h"

#include <curl/curl.h>
#include <stdio.h>
#include <string.h>
#include "net/http_client.h"

typedef struct {
    const char *data;
    size_t len, at;
} reader_t;

static size_t on_read(char *out, size_t size, size_t count, void *arg)
{
    reader_t *r = arg;
    size_t room = size * count, left = r->len - r->at;
    size_t n = left < room ? left : room;
    memcpy(out, r->data + r->at, n);
    r->at += n;
    return n;
}

int fg_smtp_send(const fg_smtp_relay_t *relay, const char *from, const char *to, const char *message, size_t len,
                 fg_smtp_result_t *out)
{
    memset(out, 0, sizeof(*out));
    CURL *easy = curl_easy_init();
    if (easy == NULL) {
        snprintf(out->error, sizeof(out->error), "curl_easy_init failed");
        out->not_sent = 1;
        return FG_EUNAVAILABLE;
    }
    char from_arg[300];
    snprintf(from_arg, sizeof(from_arg), "<%s>", from);
    struct curl_slist *rcpt = curl_slist_append(NULL, to);
    reader_t r = {message, len, 0};
    curl_easy_setopt(easy, CURLOPT_URL, relay->url);
    curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
    curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(easy, CURLOPT_USE_SSL, relay->require_tls ? (long)CURLUSESSL_ALL : (long)CURLUSESSL_NONE);
    if (relay->ca_file != NULL && relay->ca_file[0] != '\0')
        curl_easy_setopt(easy, CURLOPT_CAINFO, relay->ca_file);
    if (relay->username != NULL && relay->username[0] != '\0') {
        curl_easy_setopt(easy, CURLOPT_USERNAME, relay->username);
        curl_easy_setopt(easy, CURLOPT_PASSWORD, relay->password != NULL ? relay->password : "");
    }
    curl_easy_setopt(easy, CURLOPT_MAIL_FROM, from_arg);
    curl_easy_setopt(easy, CURLOPT_MAIL_RCPT, rcpt);
    curl_easy_setopt(easy, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(easy, CURLOPT_READFUNCTION, on_read);
    curl_easy_setopt(easy, CURLOPT_READDATA, &r);
    curl_easy_setopt(easy, CURLOPT_INFILESIZE_LARGE, (curl_off_t)len);
    curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS, (long)FG_HTTP_CONNECT_TIMEOUT_MS);
    curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, (long)relay->timeout_ms);
    CURLcode rc = curl_easy_perform(easy);
    curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &out->code);
    int result = 0;
    if (rc != CURLE_OK) {
        snprintf(out->error, sizeof(out->error), "%s (reply %ld)", curl_easy_strerror(rc), out->code);
        out->not_sent = rc == CURLE_COULDNT_RESOLVE_HOST || rc == CURLE_COULDNT_CONNECT || rc == CURLE_LOGIN_DENIED ||
                        rc == CURLE_USE_SSL_FAILED || rc == CURLE_SSL_CONNECT_ERROR ||
                        rc == CURLE_PEER_FAILED_VERIFICATION || rc == CURLE_UNSUPPORTED_PROTOCOL ||
                        rc == CURLE_URL_MALFORMAT;
        /* a 5xx reply to the message is a refusal for good; anything else (the relay's own
         * trouble, or ours: credentials, TLS) may pass later and is tried again */
        result = out->code >= 500 && out->code < 600 && !out->not_sent ? FG_EINVALID : FG_EUNAVAILABLE;
    }
    curl_slist_free_all(rcpt);
    curl_easy_cleanup(easy);
    return result;
}
