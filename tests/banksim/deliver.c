/*
 * deliver.c - outbound notifications with libcurl, sequential or concurrent
 * duplicates, each attempt logged and reported with feegate's answer.
 */
#include "banksim.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const bs_notice_t *notice;
    pthread_barrier_t *start; /* concurrent copies leave together; NULL otherwise */
    pthread_t thread;
    long status;     /* 0: no HTTP answer */
    bs_buf_t answer; /* at most BS_ANSWER_BODY_MAX bytes */
    char error[CURL_ERROR_SIZE];
} attempt_t;

static size_t on_write(char *data, size_t size, size_t count, void *arg)
{
    attempt_t *a = arg;
    size_t n = size * count;
    if (a->answer.len < BS_ANSWER_BODY_MAX) {
        size_t room = BS_ANSWER_BODY_MAX - a->answer.len;
        bs_buf_append(&a->answer, data, n < room ? n : room);
    }
    return n;
}

/* Ends a transfer early when the simulator is stopping. */
static int on_progress(void *arg, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal, curl_off_t ulnow)
{
    return atomic_load(&bs_stopping) ? 1 : 0;
}

static void perform(attempt_t *a)
{
    const bs_notice_t *n = a->notice;
    CURL *curl = curl_easy_init();
    if (curl == NULL) {
        snprintf(a->error, sizeof(a->error), "curl_easy_init failed");
        return;
    }
    struct curl_slist *headers = curl_slist_append(NULL, "Expect:");
    bs_buf_t h = BS_BUF_INIT;
    if (n->content_type != NULL) {
        bs_buf_printf(&h, "Content-Type: %s", n->content_type);
        headers = curl_slist_append(headers, bs_buf_cstr(&h));
        h.len = 0;
    }
    if (n->authorization != NULL) {
        bs_buf_printf(&h, "Authorization: %s", n->authorization);
        headers = curl_slist_append(headers, bs_buf_cstr(&h));
    }
    bs_buf_free(&h);
    curl_easy_setopt(curl, CURLOPT_URL, n->url);
    curl_easy_setopt(curl, CURLOPT_PROXY, ""); /* feegate is reached directly */
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_FORBID_REUSE, 1L);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, (long)BS_CONNECT_TIMEOUT_MS);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, (long)BS_REQUEST_TIMEOUT_MS);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_USERAGENT, "banksim/1");
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_write);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, a);
    curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, a->error);
    if (n->body != NULL) {
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, n->body);
        curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, (long)strlen(n->body));
    }
    if (strcmp(n->method, "GET") != 0 && strcmp(n->method, "POST") != 0)
        curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, n->method);
    a->error[0] = '\0';
    CURLcode rc = curl_easy_perform(curl);
    if (rc == CURLE_OK) {
        curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &a->status);
    } else if (a->error[0] == '\0') {
        snprintf(a->error, sizeof(a->error), "%s", curl_easy_strerror(rc));
    }
    curl_slist_free_all(headers);
    curl_easy_cleanup(curl);
}

static void *attempt_main(void *arg)
{
    attempt_t *a = arg;
    if (a->start != NULL)
        pthread_barrier_wait(a->start);
    perform(a);
    return NULL;
}

static void report(attempt_t *a, bs_buf_t *answers)
{
    const bs_notice_t *n = a->notice;
    bs_log_add(n->kind, "out", n->method, n->url, n->body, (int)a->status, bs_buf_cstr(&a->answer),
               a->status == 0 ? a->error : NULL);
    if (answers->len > 0 && answers->data[answers->len - 1] != '[')
        bs_buf_putc(answers, ',');
    bs_buf_printf(answers, "{\"status\":%ld,\"body\":", a->status);
    bs_json_strn(answers, a->answer.data != NULL ? a->answer.data : "", a->answer.len);
    if (a->status == 0) {
        bs_buf_puts(answers, ",\"error\":");
        bs_json_str(answers, a->error);
    }
    bs_buf_putc(answers, '}');
}

void bs_deliver(const bs_notice_t *notice, int copies, int concurrent, bs_buf_t *answers)
{
    if (copies < 1)
        copies = 1;
    if (copies > BS_DUPLICATE_MAX)
        copies = BS_DUPLICATE_MAX;
    attempt_t *attempts = bs_calloc((size_t)copies, sizeof(*attempts));
    pthread_barrier_t start;
    int parallel = concurrent && copies > 1;
    if (parallel)
        pthread_barrier_init(&start, NULL, (unsigned)copies);
    for (int i = 0; i < copies; i++) {
        attempts[i].notice = notice;
        if (!parallel) {
            perform(&attempts[i]);
            continue;
        }
        attempts[i].start = &start;
        if (pthread_create(&attempts[i].thread, NULL, attempt_main, &attempts[i]) != 0) {
            fputs("banksim: cannot start a delivery thread\n", stderr);
            abort();
        }
    }
    if (parallel) {
        for (int i = 0; i < copies; i++)
            pthread_join(attempts[i].thread, NULL);
        pthread_barrier_destroy(&start);
    }
    for (int i = 0; i < copies; i++) {
        report(&attempts[i], answers);
        bs_buf_free(&attempts[i].answer);
    }
    free(attempts);
}
