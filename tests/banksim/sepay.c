/*
 * sepay.c - SePay's bank-feed webhook: a transfer on the collection account
 * is booked and reported to feegate as PROTOCOLS.md describes it, with
 * "Authorization: Apikey <key>", an increasing id, the GMT+7 date and the
 * account's balance after the transfer ("accumulated").
 */
#include "banksim.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Memo and description lengths a bank passes on; longer ones are refused. */
#define CONTENT_MAX 512

/* The bank name SePay reports for a NAPAS BIN. */
static const char *gateway_name(const char *bin)
{
    static const struct {
        const char *bin, *name;
    } banks[] = {{"970436", "Vietcombank"}, {"970415", "VietinBank"},  {"970418", "BIDV"}, {"970405", "Agribank"},
                 {"970422", "MBBank"},      {"970407", "Techcombank"}, {"970416", "ACB"},  {"970432", "VPBank"},
                 {"970423", "TPBank"},      {"970403", "Sacombank"}};
    for (size_t i = 0; i < sizeof(banks) / sizeof(banks[0]); i++)
        if (strcmp(banks[i].bin, bin) == 0)
            return banks[i].name;
    return "Vietcombank";
}

typedef struct {
    int64_t id, amount, accumulated, at_ms;
    int incoming;
    char reference[40];
} transfer_t;

static void transfer_json(bs_buf_t *b, const transfer_t *t, yajl_val root, const char *content)
{
    const char *code = bs_json_get_str(root, "code");
    const char *sub = bs_json_get_str(root, "sub_account");
    const char *description = bs_json_get_str(root, "description");
    const char *gateway = bs_json_get_str(root, "gateway");
    const char *account = bs_json_get_str(root, "account_no"); /* another account the feed watches */
    char date[24];
    bs_format_gmt7(t->at_ms, "%Y-%m-%d %H:%M:%S", date, sizeof(date));
    bs_buf_printf(b, "{\"id\":%lld,\"gateway\":", (long long)t->id);
    bs_json_str(b, gateway != NULL ? gateway : gateway_name(bs_config.vietqr_bank_bin));
    bs_buf_printf(b, ",\"transactionDate\":\"%s\",\"accountNumber\":", date);
    bs_json_str(b, account != NULL ? account : bs_config.vietqr_account_no);
    bs_buf_puts(b, ",\"code\":");
    bs_json_str(b, code); /* null unless given */
    bs_buf_puts(b, ",\"content\":");
    bs_json_str(b, content);
    bs_buf_printf(b,
                  ",\"transferType\":\"%s\",\"transferAmount\":%lld,"
                  "\"accumulated\":%lld,\"subAccount\":",
                  t->incoming ? "in" : "out", (long long)t->amount, (long long)t->accumulated);
    bs_json_str(b, sub);
    bs_buf_printf(b, ",\"referenceCode\":\"%s\",\"description\":", t->reference);
    if (description != NULL) {
        bs_json_str(b, description);
    } else {
        bs_buf_t d = BS_BUF_INIT;
        bs_buf_printf(&d, "BankAPINotify %s", content);
        bs_json_str(b, d.data);
        bs_buf_free(&d);
    }
    bs_buf_putc(b, '}');
}

/* Checks the control body; returns NULL or what is wrong.  codes gets the
 * order codes it names. */
static const char *transfer_problem(yajl_val root, int64_t *amount, int *incoming, char codes[BS_CODES_CAP])
{
    if (root == NULL)
        return "the body must be a JSON object";
    if (bs_json_get_int(root, "amount", amount) != 0 || *amount <= 0)
        return "amount must be a positive integer (VND)";
    const char *content = bs_json_get_str(root, "content");
    const char *description = bs_json_get_str(root, "description");
    if ((content != NULL && strlen(content) > CONTENT_MAX) ||
        (description != NULL && strlen(description) > CONTENT_MAX))
        return "content and description are limited to 512 bytes";
    const char *type = bs_json_get_str(root, "transfer_type");
    if (type != NULL && strcmp(type, "in") != 0 && strcmp(type, "out") != 0)
        return "transfer_type must be in or out";
    *incoming = type == NULL || strcmp(type, "in") == 0;
    const char *path[] = {"codes", NULL};
    if (bs_codes_parse(yajl_tree_get(root, path, yajl_t_any), codes) != 0)
        return "codes must be a list of at most 8 order codes (no spaces, 32 characters each)";
    return NULL;
}

static void transfer_work(const bs_request_t *req, bs_response_t *res)
{
    yajl_val root = bs_json_parse_object(req->body, req->body_len);
    transfer_t t = {0};
    char codes[BS_CODES_CAP], more[BS_CODES_CAP] = "";
    bs_buf_t content = BS_BUF_INIT;
    const char *problem = transfer_problem(root, &t.amount, &t.incoming, codes);
    if (problem != NULL) {
        bs_res_error(res, 400, problem);
        goto Exit;
    }
    bs_chaos_t c = bs_chaos_get();
    if (t.incoming)
        bs_chaos_take_codes(more); /* statement_two_codes: this payer pays another bill too */
    /* the memo: the content, then the codes it names */
    char all[2 * BS_CODES_CAP];
    snprintf(all, sizeof(all), "%s%s%s", codes, codes[0] != '\0' && more[0] != '\0' ? " " : "", more);
    const char *given = bs_json_get_str(root, "content");
    bs_buf_puts(&content, given != NULL ? given : "");
    if (all[0] != '\0')
        bs_buf_printf(&content, "%s%s", content.len > 0 ? " " : "", all);
    const char *ref = bs_json_get_str(root, "reference_code");
    pthread_mutex_lock(&bs_state_lock);
    t.id = bs_next_id();
    t.at_ms = bs_now_ms();
    t.amount += c.amount_delta;
    if (t.amount <= 0)
        t.amount = 1;
    snprintf(t.reference, sizeof(t.reference), "%s",
             ref != NULL && ref[0] != '\0' && strlen(ref) < sizeof(t.reference) ? ref : "");
    if (t.reference[0] == '\0')
        snprintf(t.reference, sizeof(t.reference), "FT%lld", (long long)t.id);
    /* a forged notice reports a transfer that never reached the account */
    t.accumulated = c.forge ? bs_balance() + (t.incoming ? t.amount : -t.amount)
                            : bs_book(t.at_ms, t.incoming ? t.amount : -t.amount, t.reference,
                                      bs_json_get_str(root, "code"), bs_buf_cstr(&content), "sepay", all);
    pthread_mutex_unlock(&bs_state_lock);

    bs_buf_t body = BS_BUF_INIT, auth = BS_BUF_INIT, url = BS_BUF_INIT, answers = BS_BUF_INIT;
    transfer_json(&body, &t, root, bs_buf_cstr(&content));
    bs_buf_printf(&auth, "Apikey %s%s", bs_config.sepay_api_key, c.forge ? "-forged" : "");
    bs_buf_printf(&url, "%s/v1/webhooks/sepay", bs_config.feegate_url);
    bs_notice_t n = {.kind = "sepay.webhook",
                     .method = "POST",
                     .url = url.data,
                     .body = body.data,
                     .content_type = "application/json",
                     .authorization = auth.data};
    bs_buf_putc(&answers, '[');
    if (c.lose_ipn)
        bs_log_add("sepay.webhook", "out", "POST", url.data, body.data, 0, NULL, "lost on purpose (chaos lose_ipn)");
    else
        bs_deliver(&n, c.duplicate, c.concurrent, &answers);
    bs_buf_putc(&answers, ']');
    res->status = 200;
    res->content_type = BS_JSON_TYPE;
    bs_buf_printf(&res->body,
                  "{\"id\":%lld,\"reference_code\":\"%s\","
                  "\"accumulated\":%lld,\"webhook\":%s,\"responses\":%s}",
                  (long long)t.id, t.reference, (long long)t.accumulated, body.data, answers.data);
    bs_buf_free(&body);
    bs_buf_free(&auth);
    bs_buf_free(&url);
    bs_buf_free(&answers);
Exit:
    bs_buf_free(&content);
    if (root != NULL)
        yajl_tree_free(root);
}

void bs_sepay_control_transfer(const bs_request_t *req, bs_response_t *res) { res->work = transfer_work; }
