/*
 * send.c - the outbox of messages to payers: claimed with SKIP LOCKED and a
 * lease, checked against the order as it stands, sent outside any
 * transaction, recorded after; and the job thread of `feegate serve`.
 *
 * A sender that dies after its provider took a message and before the
 * outcome was recorded leaves the row 'sending'; when the lease runs out the
 * next claim sends it again under the same public id, which each provider
 * takes as its idempotency key (eSMS RequestId, Zalo tracking_id, the
 * e-mail's Message-ID), so the payer gets it once.  Only the claim that holds
 * the row (its attempt number) records the outcome and its event.
 */
#include "reminders/reminders.h"

#include <mysql.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <yajl/yajl_tree.h>
#include "core/day.h"
#include "core/ids.h"
#include "core/log.h"
#include "core/text.h"
#include "net/http_client.h"
#include "net/smtp_client.h"
#include "orders/orders_internal.h"
#include "receipts/receipts.h"
#include "reminders/reminders_internal.h"

/* Messages claimed per round. */
#define SEND_BATCH_MAX 16
/* One provider call: SMTP may take its time, HTTP providers answer in seconds. */
#define SEND_TIMEOUT_MS 30000
/* The longest wait between tries of a message. */
#define SEND_BACKOFF_MAX_MS (3600 * 1000LL)
/* How often the job looks for due messages. */
#define SEND_POLL_MS 500

static const char SQL_CLAIM[] =
    "SELECT id FROM reminders WHERE ((status = 'queued' AND not_before <= ?) OR (status = 'sending' AND lease_until "
    "<= ?)) AND FIND_IN_SET(channel, ?) ORDER BY not_before LIMIT ? FOR UPDATE SKIP LOCKED";
/* clang-format off */
static const char SQL_DETAIL[] =
    "SELECT r.public_id, r.kind, r.receipt_id, r.channel, r.recipient, r.send_day, r.language, r.attempts, "
    "r.merchant_id, o.public_id, o.status, o.amount - o.amount_paid, o.currency, o.code, o.payer_name, "
    "COALESCE(o.description, o.merchant_ref), o.due_at, o.expires_at, COALESCE(m.receipt_unit_name, m.name), "
    "EXISTS (SELECT 1 FROM reminder_opt_outs x WHERE x.merchant_id = o.merchant_id AND x.payer_key = "
    "IF(COALESCE(o.payer_ref, '') = '', CONCAT('order:', o.public_id), CONCAT('ref:', o.payer_ref))), r.step_days, "
    "r.status = 'sending' FROM reminders r JOIN orders o ON o.id = r.order_id JOIN merchants m ON m.id = r.merchant_id WHERE r.id = ?";
static const char SQL_RECEIPT[] =
    "SELECT c.number, c.form, c.serial, c.amount, c.currency, c.paid_at, c.payer_name, p.public_id, c.unit_name "
    "FROM receipts c JOIN payments p ON p.id = c.payment_id WHERE c.public_id = ?";
/* clang-format on */
static const char SQL_TAKE[] =
    "UPDATE reminders SET status = 'sending', lease_until = ?, attempts = attempts + 1, updated_at = ? WHERE id = ?";
static const char SQL_LATER[] = "UPDATE reminders SET status = 'queued', not_before = ?, lease_until = NULL, "
                                "last_error = ?, updated_at = ? WHERE id = ? AND attempts = ?";
static const char SQL_END[] = "UPDATE reminders SET status = ?, last_error = ?, lease_until = NULL, updated_at = ? "
                              "WHERE id = ? AND attempts = ?";
static const char SQL_SENT[] =
    "UPDATE reminders SET status = 'sent', provider_ref = ?, sent_at = ?, lease_until = NULL, last_error = NULL, "
    "updated_at = ? WHERE id = ? AND status = 'sending' AND attempts = ?";
static const char SQL_ORDER_ROW[] = "SELECT order_id FROM reminders WHERE id = ?";
/* A round's messages go one after another, each call up to SEND_TIMEOUT_MS:
 * the lease of each is renewed as its turn comes, and a message another
 * instance took meanwhile (its lease ran out during the sends before it) is
 * left to that instance. */
static const char SQL_RENEW[] =
    "UPDATE reminders SET lease_until = ? WHERE id = ? AND status = 'sending' AND attempts = ?";
/* A reminder that may no longer go now (paid, opted out, in the quiet
 * hours since it was claimed) goes back, its attempt not counted. */
static const char SQL_GIVE_BACK[] =
    "UPDATE reminders SET status = 'queued', not_before = ?, lease_until = NULL, "
    "attempts = attempts - 1, last_error = ?, updated_at = ? WHERE id = ? AND attempts = ?";

typedef struct {
    int64_t id, attempts, merchant_id, owed, due_at, expires_at, opted, step_days;
    int64_t was_sending; /* claimed again after a lease ran out: its last attempt's outcome is unknown */
    int receipt_null, due_null, expires_null, payer_null, step_null;
    fg_channel_t channel;
    char public_id[FG_ID_CAP], kind[12], receipt_id[FG_ID_CAP], recipient[255], language[4], send_day[11];
    char order_public_id[FG_ID_CAP], order_status[20], currency[4], code[16];
    char payer_name[801], bill[4001], unit[801];
    /* a receipt's */
    int64_t number, amount, paid_at;
    char form[16], serial[16], payment_public_id[FG_ID_CAP];
} msg_t;

typedef struct {
    const fg_config_t *cfg;
    int limit, count;
    int64_t now;
    char channels[32]; /* those this instance has a provider for, comma separated */
    msg_t *msgs;       /* limit of them */
} claim_t;

static void copy(char *dst, size_t cap, const fg_buf_t *b) { snprintf(dst, cap, "%s", b->data != NULL ? b->data : ""); }

static int load(fg_db_t *db, int64_t id, msg_t *m)
{
    fg_buf_t t[14];
    int64_t attempts = 0, merchant = 0, owed = 0, due = 0, expires = 0, opted = 0, step = 0;
    fg_stmt_t s;
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
        t[i] = (fg_buf_t)FG_BUF_INIT;
    memset(m, 0, sizeof(*m));
    m->id = id;
    int rc = fg_stmt_init(&s, db, SQL_DETAIL);
    if (rc != 0)
        return rc;
    fg_stmt_int(&s, id);
    fg_stmt_out_text(&s, &t[0], NULL);
    fg_stmt_out_text(&s, &t[1], NULL);
    fg_stmt_out_text(&s, &t[2], &m->receipt_null);
    fg_stmt_out_text(&s, &t[3], NULL);
    fg_stmt_out_text(&s, &t[4], NULL);
    fg_stmt_out_text(&s, &t[5], NULL);
    fg_stmt_out_text(&s, &t[6], NULL);
    fg_stmt_out_int(&s, &attempts, NULL);
    fg_stmt_out_int(&s, &merchant, NULL);
    fg_stmt_out_text(&s, &t[7], NULL);
    fg_stmt_out_text(&s, &t[8], NULL);
    fg_stmt_out_int(&s, &owed, NULL);
    fg_stmt_out_text(&s, &t[9], NULL);
    fg_stmt_out_text(&s, &t[10], NULL);
    fg_stmt_out_text(&s, &t[11], &m->payer_null);
    fg_stmt_out_text(&s, &t[12], NULL);
    fg_stmt_out_int(&s, &due, &m->due_null);
    fg_stmt_out_int(&s, &expires, &m->expires_null);
    fg_stmt_out_text(&s, &t[13], NULL);
    fg_stmt_out_int(&s, &opted, NULL);
    fg_stmt_out_int(&s, &step, &m->step_null);
    fg_stmt_out_int(&s, &m->was_sending, NULL);
    if ((rc = fg_stmt_one(&s)) == 0) {
        copy(m->public_id, sizeof(m->public_id), &t[0]);
        copy(m->kind, sizeof(m->kind), &t[1]);
        copy(m->receipt_id, sizeof(m->receipt_id), &t[2]);
        m->channel = strcmp(t[3].data, "sms") == 0    ? FG_CHANNEL_SMS
                     : strcmp(t[3].data, "zalo") == 0 ? FG_CHANNEL_ZALO
                                                      : FG_CHANNEL_EMAIL;
        copy(m->recipient, sizeof(m->recipient), &t[4]);
        copy(m->send_day, sizeof(m->send_day), &t[5]);
        copy(m->language, sizeof(m->language), &t[6]);
        m->attempts = attempts;
        m->merchant_id = merchant;
        copy(m->order_public_id, sizeof(m->order_public_id), &t[7]);
        copy(m->order_status, sizeof(m->order_status), &t[8]);
        m->owed = owed;
        copy(m->currency, sizeof(m->currency), &t[9]);
        copy(m->code, sizeof(m->code), &t[10]);
        copy(m->payer_name, sizeof(m->payer_name), &t[11]);
        copy(m->bill, sizeof(m->bill), &t[12]);
        m->due_at = due;
        m->expires_at = expires;
        copy(m->unit, sizeof(m->unit), &t[13]);
        m->opted = opted;
        m->step_days = step;
    }
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
        fg_buf_free(&t[i]);
    if (rc != 0 || strcmp(m->kind, "receipt") != 0)
        return rc;
    /* a receipt e-mail says what the receipt says */
    fg_buf_t form = FG_BUF_INIT, serial = FG_BUF_INIT, currency = FG_BUF_INIT, payer = FG_BUF_INIT,
             payment = FG_BUF_INIT, unit = FG_BUF_INIT;
    int payer_null = 0;
    /* a receipt still queued is issued first, in this transaction */
    rc = fg_receipt_issue_queued(db, m->receipt_id, 1, NULL);
    if (rc == FG_ERANGE)
        return FG_ESTATE; /* its series is used up: the receipt, and its e-mail, wait for a new serial */
    if (rc == 0 && (rc = fg_stmt_init(&s, db, SQL_RECEIPT)) == 0) {
        fg_stmt_cstr(&s, m->receipt_id);
        fg_stmt_out_int(&s, &m->number, NULL);
        fg_stmt_out_text(&s, &form, NULL);
        fg_stmt_out_text(&s, &serial, NULL);
        fg_stmt_out_int(&s, &m->amount, NULL);
        fg_stmt_out_text(&s, &currency, NULL);
        fg_stmt_out_int(&s, &m->paid_at, NULL);
        fg_stmt_out_text(&s, &payer, &payer_null);
        fg_stmt_out_text(&s, &payment, NULL);
        fg_stmt_out_text(&s, &unit, NULL);
        if ((rc = fg_stmt_one(&s)) == 0) {
            copy(m->form, sizeof(m->form), &form);
            copy(m->serial, sizeof(m->serial), &serial);
            copy(m->currency, sizeof(m->currency), &currency);
            copy(m->payer_name, sizeof(m->payer_name), &payer);
            m->payer_null = payer_null;
            copy(m->payment_public_id, sizeof(m->payment_public_id), &payment);
            copy(m->unit, sizeof(m->unit), &unit);
        }
    }
    fg_buf_free(&form);
    fg_buf_free(&serial);
    fg_buf_free(&currency);
    fg_buf_free(&payer);
    fg_buf_free(&payment);
    fg_buf_free(&unit);
    return rc;
}

static int end_row(fg_db_t *db, const msg_t *m, const char *status, const char *why, int64_t now, int64_t attempts)
{
    fg_stmt_t s;
    int rc = fg_stmt_init(&s, db, SQL_END);
    if (rc != 0)
        return rc;
    fg_stmt_cstr(&s, status);
    fg_stmt_str(&s, why, strlen(why) < 300 ? strlen(why) : 300);
    fg_stmt_int(&s, now);
    fg_stmt_int(&s, m->id);
    fg_stmt_int(&s, attempts);
    return fg_stmt_exec(&s);
}

static int later_row(fg_db_t *db, const msg_t *m, int64_t at, const char *why, int64_t now, int64_t attempts)
{
    fg_stmt_t s;
    int rc = fg_stmt_init(&s, db, SQL_LATER);
    if (rc != 0)
        return rc;
    fg_stmt_int(&s, at);
    fg_stmt_str(&s, why, strlen(why) < 300 ? strlen(why) : 300);
    fg_stmt_int(&s, now);
    fg_stmt_int(&s, m->id);
    fg_stmt_int(&s, attempts);
    return fg_stmt_exec(&s);
}

/* Why a reminder must not go now (NULL: it may); *later_at set when it may
 * go later the same day. */
static const char *hold(const fg_config_t *cfg, const msg_t *m, int64_t now, int64_t *later_at)
{
    int quiet_from, quiet_to;
    int64_t until;
    char today[11];
    *later_at = 0;
    if (strcmp(m->kind, "reminder") != 0)
        return NULL;
    if (strcmp(m->order_status, "paid") == 0)
        return "the order is paid";
    if (strcmp(m->order_status, "cancelled") == 0)
        return "the order is cancelled";
    if (strcmp(m->order_status, "expired") == 0 || (!m->expires_null && m->expires_at <= now))
        return "the order expired";
    if (m->opted)
        return "the payer opted out";
    fg_day_format(fg_day_of_ms(now), today);
    if (strcmp(m->send_day, today) < 0)
        return "its day passed before it could be sent";
    if (strcmp(m->send_day, today) > 0) { /* planned in the evening's quiet hours for the next day */
        int32_t day;
        if (fg_day_parse(m->send_day, strlen(m->send_day), &day) == 0)
            *later_at = fg_day_start_ms(day);
        return "its day has not come";
    }
    if (fg_config_quiet_hours(cfg->reminders_quiet_hours, &quiet_from, &quiet_to) == 0 &&
        fg_reminder_quiet(m->channel, quiet_from, quiet_to, now, &until)) {
        char day[11];
        fg_day_format(fg_day_of_ms(until), day);
        if (strcmp(day, m->send_day) != 0)
            return "its day ended in the quiet hours";
        *later_at = until;
        return "quiet hours";
    }
    return NULL;
}

/* A message whose last allowed try was cut off (its sender stopped while
 * sending; the lease ran out) may have been delivered.  eSMS and Zalo take
 * the message's id as their idempotency key (RequestId, tracking_id): one
 * more try is safe and learns the outcome.  An e-mail relay would send it
 * again: it is failed, saying why. */
static int one_more(const fg_config_t *cfg, const msg_t *m)
{
    return m->was_sending && m->channel != FG_CHANNEL_EMAIL && m->attempts == cfg->reminders_max_attempts;
}

static int claim_tx(fg_db_t *db, void *arg)
{
    claim_t *c = arg;
    int64_t ids[SEND_BATCH_MAX], id = 0;
    int n = 0;
    fg_stmt_t s;
    c->count = 0;
    c->now = fg_now_ms();
    int rc = fg_stmt_init(&s, db, SQL_CLAIM);
    if (rc != 0)
        return rc;
    fg_stmt_int(&s, c->now);
    fg_stmt_int(&s, c->now);
    fg_stmt_cstr(&s, c->channels);
    fg_stmt_int(&s, c->limit);
    fg_stmt_out_int(&s, &id, NULL);
    if ((rc = fg_stmt_exec(&s)) == 0) {
        while ((rc = fg_stmt_fetch(&s)) == 1 && n < c->limit)
            ids[n++] = id;
        fg_stmt_done(&s);
    }
    for (int i = 0; rc >= 0 && i < n; i++) {
        msg_t *m = &c->msgs[c->count];
        int64_t later_at;
        if ((rc = load(db, ids[i], m)) == FG_ESTATE) {
            rc = later_row(db, m, c->now + 60000, "the receipt waits for a new serial", c->now, m->attempts);
            continue;
        }
        if (rc != 0)
            break;
        const char *why = hold(c->cfg, m, c->now, &later_at);
        if (why != NULL && later_at > 0) {
            rc = later_row(db, m, later_at, why, c->now, m->attempts);
        } else if (why != NULL) {
            rc = end_row(db, m, "cancelled", why, c->now, m->attempts);
        } else if (m->attempts >= c->cfg->reminders_max_attempts && !one_more(c->cfg, m)) {
            rc = end_row(db, m, "failed",
                         m->was_sending ? "its last try's outcome is not known (its sender stopped while sending)"
                                        : "no provider took it in reminders.max_attempts tries",
                         c->now, m->attempts);
        } else if ((rc = fg_stmt_init(&s, db, SQL_TAKE)) == 0) {
            fg_stmt_int(&s, c->now + c->cfg->reminders_lease_s * 1000);
            fg_stmt_int(&s, c->now);
            fg_stmt_int(&s, m->id);
            if ((rc = fg_stmt_exec(&s)) == 0) {
                m->attempts++;
                c->count++;
            }
        }
    }
    return rc < 0 ? rc : 0;
}

/* ---- the channels ------------------------------------------------------------------ */

typedef enum { SENT = 0, TRY_LATER, REFUSED } outcome_t;

static void pay_url(const fg_config_t *cfg, const msg_t *m, fg_buf_t *out)
{
    fg_buf_printf(out, "%s/pay/%s", cfg->public_base_url, m->code);
}

static void opt_out_url(const fg_config_t *cfg, const msg_t *m, fg_buf_t *out)
{
    char token[FG_REMINDER_TOKEN_LEN + 1];
    fg_reminder_token(cfg->reminders_link_secret, m->order_public_id, token);
    fg_buf_printf(out, "%s/reminders/opt-out/%s/%s", cfg->public_base_url, m->order_public_id, token);
}

static void reminder_text(const fg_config_t *cfg, const msg_t *m, fg_buf_t *pay, fg_buf_t *stop, fg_reminder_text_t *t)
{
    pay_url(cfg, m, pay);
    opt_out_url(cfg, m, stop);
    memset(t, 0, sizeof(*t));
    t->english = strcmp(m->language, "en") == 0;
    t->unit = m->unit;
    t->payer_name = m->payer_null ? NULL : m->payer_name;
    t->bill = m->bill;
    t->owed = m->owed;
    t->currency = m->currency;
    t->due_day = m->due_null ? 0 : fg_day_of_ms(m->due_at);
    t->code = m->code;
    t->pay_url = pay->data;
    t->opt_out_url = stop->data;
    t->message_id = m->public_id;
    t->from = cfg->smtp_from;
    t->to = m->recipient;
    t->now_ms = fg_now_ms();
}

static outcome_t send_email(const fg_config_t *cfg, const msg_t *m, char *ref, size_t ref_cap, char *why,
                            size_t why_cap)
{
    fg_buf_t message = FG_BUF_INIT, pay = FG_BUF_INIT, stop = FG_BUF_INIT;
    if (strpbrk(m->recipient, "\r\n<>,; ") != NULL || strchr(m->recipient, '@') == NULL) {
        snprintf(why, why_cap, "not an e-mail address");
        return REFUSED;
    }
    if (strcmp(m->kind, "receipt") == 0) {
        fg_buf_t url = FG_BUF_INIT;
        fg_buf_printf(&url, "%s/pay/%s/receipt?payment=%s", cfg->public_base_url, m->code, m->payment_public_id);
        fg_receipt_mail_t r = {.unit = m->unit,
                               .payer_name = m->payer_null ? NULL : m->payer_name,
                               .receipt_id = m->receipt_id,
                               .form = m->form,
                               .serial = m->serial,
                               .bill = m->bill,
                               .currency = m->currency,
                               .receipt_url = url.data,
                               .number = m->number,
                               .amount = m->amount,
                               .paid_at_ms = m->paid_at,
                               .message_id = m->public_id,
                               .from = cfg->smtp_from,
                               .to = m->recipient,
                               .now_ms = fg_now_ms()};
        fg_reminder_compose_receipt_email(&r, &message);
        fg_buf_free(&url);
    } else {
        fg_reminder_text_t t;
        reminder_text(cfg, m, &pay, &stop, &t);
        fg_reminder_compose_email(&t, &message);
    }
    fg_smtp_relay_t relay = {cfg->smtp_url,
                             cfg->smtp_username,
                             cfg->smtp_password,
                             cfg->smtp_ca_file,
                             cfg->smtp_starttls && strncmp(cfg->smtp_url, "smtp://", 7) == 0,
                             SEND_TIMEOUT_MS};
    fg_smtp_result_t res;
    int rc = fg_smtp_send(&relay, cfg->smtp_from, m->recipient, message.data, message.len, &res);
    fg_buf_free(&message);
    fg_buf_free(&pay);
    fg_buf_free(&stop);
    snprintf(ref, ref_cap, "%s@feegate", m->public_id);
    snprintf(why, why_cap, "%s", res.error);
    return rc == 0 ? SENT : rc == FG_EINVALID ? REFUSED : TRY_LATER;
}

/* An HTTP provider's answer: transport trouble and 5xx are tried again. */
static int http_answered(int rc, const fg_http_response_t *res, char *why, size_t why_cap)
{
    if (rc != 0) {
        snprintf(why, why_cap, "no answer: %s", res->error);
        return 0;
    }
    if (res->status < 200 || res->status >= 300) {
        snprintf(why, why_cap, "HTTP %ld", res->status);
        return 0;
    }
    return 1;
}

static outcome_t send_sms(const fg_config_t *cfg, const msg_t *m, char *ref, size_t ref_cap, char *why, size_t why_cap)
{
    char phone[16];
    if (fg_reminder_phone(m->recipient, phone) != 0) {
        snprintf(why, why_cap, "not a Vietnamese mobile number");
        return REFUSED;
    }
    fg_buf_t pay = FG_BUF_INIT, stop = FG_BUF_INIT, content = FG_BUF_INIT, body = FG_BUF_INIT, national = FG_BUF_INIT;
    fg_reminder_text_t t;
    reminder_text(cfg, m, &pay, &stop, &t);
    fg_reminder_compose_sms(&t, &content);
    fg_buf_printf(&national, "0%s", phone + 2);
    fg_buf_putc(&body, '{');
    fg_json_kv_str(&body, 0, "ApiKey", cfg->sms_api_key);
    fg_json_kv_str(&body, 1, "SecretKey", cfg->sms_secret_key);
    fg_json_kv_str(&body, 1, "Phone", national.data);
    fg_json_kv_str(&body, 1, "Content", content.data);
    fg_json_kv_str(&body, 1, "Brandname", cfg->sms_brandname);
    fg_json_kv_str(&body, 1, "SmsType", "2");
    fg_json_kv_int(&body, 1, "IsUnicode", 0);
    fg_json_kv_str(&body, 1, "RequestId", m->public_id);
    fg_json_kv_str(&body, 1, "CallbackUrl", "");
    fg_json_kv_int(&body, 1, "Sandbox", 0);
    fg_buf_putc(&body, '}');
    fg_http_response_t res;
    int rc = fg_http_post_json(cfg->sms_url, body.data, body.len, SEND_TIMEOUT_MS, &res);
    outcome_t out = TRY_LATER;
    if (http_answered(rc, &res, why, why_cap)) {
        yajl_val root = fg_json_tree(res.body.data, res.body.len, NULL, 0);
        const char *code_path[] = {"CodeResult", NULL}, *id_path[] = {"SMSID", NULL};
        yajl_val code = root != NULL ? yajl_tree_get(root, code_path, yajl_t_string) : NULL;
        yajl_val id = root != NULL ? yajl_tree_get(root, id_path, yajl_t_string) : NULL;
        if (code != NULL && strcmp(code->u.string, "100") == 0) {
            snprintf(ref, ref_cap, "%s", id != NULL ? id->u.string : "");
            out = SENT;
        } else if (code != NULL && strcmp(code->u.string, "124") == 0) {
            /* "duplicate RequestId": an earlier try of this message went through (its SMSID was lost with
             * the sender that made it), so it is sent, once */
            snprintf(ref, ref_cap, "RequestId %s", m->public_id);
            out = SENT;
        } else {
            snprintf(why, why_cap, "eSMS refused it: CodeResult %s", code != NULL ? code->u.string : "missing");
            out = code != NULL ? REFUSED : TRY_LATER;
        }
        yajl_tree_free(root);
    }
    fg_http_response_free(&res);
    fg_buf_free(&pay);
    fg_buf_free(&stop);
    fg_buf_free(&content);
    fg_buf_free(&body);
    fg_buf_free(&national);
    return out;
}

static outcome_t send_zalo(const fg_config_t *cfg, const msg_t *m, char *ref, size_t ref_cap, char *why, size_t why_cap)
{
    char phone[16];
    if (fg_reminder_phone(m->recipient, phone) != 0) {
        snprintf(why, why_cap, "not a Vietnamese mobile number");
        return REFUSED;
    }
    fg_buf_t pay = FG_BUF_INIT, stop = FG_BUF_INIT, data = FG_BUF_INIT, body = FG_BUF_INIT, header = FG_BUF_INIT;
    fg_reminder_text_t t;
    reminder_text(cfg, m, &pay, &stop, &t);
    fg_reminder_compose_zalo(&t, &data);
    fg_buf_putc(&body, '{');
    fg_json_kv_str(&body, 0, "phone", phone);
    fg_json_kv_str(&body, 1, "template_id", cfg->zalo_template_id);
    fg_json_key(&body, 1, "template_data");
    fg_buf_append(&body, data.data, data.len);
    fg_json_kv_str(&body, 1, "tracking_id", m->public_id);
    fg_buf_putc(&body, '}');
    fg_buf_printf(&header, "access_token: %s", cfg->zalo_access_token);
    fg_http_response_t res;
    int rc = fg_http_post_json_with(cfg->zalo_url, header.data, body.data, body.len, SEND_TIMEOUT_MS, &res);
    outcome_t out = TRY_LATER;
    if (http_answered(rc, &res, why, why_cap)) {
        yajl_val root = fg_json_tree(res.body.data, res.body.len, NULL, 0);
        const char *error_path[] = {"error", NULL}, *id_path[] = {"data", "msg_id", NULL};
        const char *message_path[] = {"message", NULL};
        yajl_val error = root != NULL ? yajl_tree_get(root, error_path, yajl_t_number) : NULL;
        yajl_val id = root != NULL ? yajl_tree_get(root, id_path, yajl_t_string) : NULL;
        yajl_val message = root != NULL ? yajl_tree_get(root, message_path, yajl_t_string) : NULL;
        if (error != NULL && YAJL_IS_INTEGER(error) && YAJL_GET_INTEGER(error) == 0) {
            snprintf(ref, ref_cap, "%s", id != NULL ? id->u.string : "");
            out = SENT;
        } else if (error != NULL && YAJL_IS_INTEGER(error)) {
            snprintf(why, why_cap, "Zalo refused it: error %lld %s", (long long)YAJL_GET_INTEGER(error),
                     message != NULL ? message->u.string : "");
            out = REFUSED;
        } else {
            snprintf(why, why_cap, "Zalo's answer has no error code");
        }
        yajl_tree_free(root);
    }
    fg_http_response_free(&res);
    fg_buf_free(&pay);
    fg_buf_free(&stop);
    fg_buf_free(&data);
    fg_buf_free(&body);
    fg_buf_free(&header);
    return out;
}

/* ---- recording --------------------------------------------------------------------- */

typedef struct {
    const fg_config_t *cfg;
    const msg_t *m;
    outcome_t outcome;
    const char *ref, *why;
} record_t;

static void event_json(fg_buf_t *b, const msg_t *m, const char *ref, int64_t now)
{
    char when[40];
    fg_buf_putc(b, '{');
    fg_json_kv_str(b, 0, "id", m->public_id);
    fg_json_kv_str(b, 1, "object", "reminder");
    fg_json_kv_str(b, 1, "order_id", m->order_public_id);
    fg_json_kv_str(b, 1, "kind", m->kind);
    fg_json_kv_str(b, 1, "receipt_id", m->receipt_null ? NULL : m->receipt_id);
    fg_json_kv_str(b, 1, "channel", fg_channel_names[m->channel]);
    fg_json_kv_str(b, 1, "recipient", m->recipient);
    if (m->step_null)
        fg_json_kv_null(b, 1, "step_days");
    else
        fg_json_kv_int(b, 1, "step_days", m->step_days);
    fg_json_kv_str(b, 1, "send_day", m->send_day[0] != '\0' ? m->send_day : NULL);
    fg_json_kv_str(b, 1, "status", "sent");
    fg_json_kv_int(b, 1, "attempts", m->attempts);
    fg_json_kv_str(b, 1, "provider_ref", ref);
    fg_time_format_rfc3339(now, 0, when, sizeof(when));
    fg_json_kv_str(b, 1, "sent_at", when);
    fg_buf_putc(b, '}');
}

static int64_t backoff_ms(const fg_config_t *cfg, int64_t attempts)
{
    int64_t ms = cfg->reminders_lease_s * 1000;
    for (int64_t i = 1; i < attempts && ms < SEND_BACKOFF_MAX_MS; i++)
        ms *= 2;
    return ms < SEND_BACKOFF_MAX_MS ? ms : SEND_BACKOFF_MAX_MS;
}

static int record_tx(fg_db_t *db, void *arg)
{
    record_t *r = arg;
    const msg_t *m = r->m;
    int64_t now = fg_now_ms(), order_id = 0;
    fg_stmt_t s;
    if (r->outcome == TRY_LATER)
        return later_row(db, m, now + backoff_ms(r->cfg, m->attempts), r->why, now, m->attempts);
    if (r->outcome == REFUSED)
        return end_row(db, m, "failed", r->why, now, m->attempts);
    int rc = fg_stmt_init(&s, db, SQL_SENT);
    if (rc != 0)
        return rc;
    fg_stmt_cstr(&s, r->ref);
    fg_stmt_int(&s, now);
    fg_stmt_int(&s, now);
    fg_stmt_int(&s, m->id);
    fg_stmt_int(&s, m->attempts);
    if ((rc = fg_stmt_exec(&s)) != 0 || fg_stmt_affected(&s) != 1)
        return rc; /* a later claim holds it now and records it */
    if ((rc = fg_stmt_init(&s, db, SQL_ORDER_ROW)) != 0)
        return rc;
    fg_stmt_int(&s, m->id);
    fg_stmt_out_int(&s, &order_id, NULL);
    if ((rc = fg_stmt_one(&s)) != 0)
        return rc;
    fg_buf_t body = FG_BUF_INIT;
    event_json(&body, m, r->ref, now);
    rc = fg_event_insert(db, (uint64_t)m->merchant_id, "reminder.sent", order_id, &body, now);
    fg_buf_free(&body);
    return rc;
}

static int send_one(fg_db_t *db, const fg_config_t *cfg, const msg_t *m)
{
    char ref[128] = "", why[300] = "";
    outcome_t outcome = m->channel == FG_CHANNEL_SMS    ? send_sms(cfg, m, ref, sizeof(ref), why, sizeof(why))
                        : m->channel == FG_CHANNEL_ZALO ? send_zalo(cfg, m, ref, sizeof(ref), why, sizeof(why))
                                                        : send_email(cfg, m, ref, sizeof(ref), why, sizeof(why));
    if (outcome != SENT) {
        fg_log_t l;
        fg_log_begin(&l, outcome == REFUSED ? FG_LOG_WARN : FG_LOG_INFO, "message not sent");
        fg_log_str(&l, "reminder", m->public_id);
        fg_log_str(&l, "channel", fg_channel_names[m->channel]);
        fg_log_str(&l, "reason", why);
        fg_log_end(&l);
    }
    record_t r = {cfg, m, outcome, ref, why};
    return fg_db_tx(db, record_tx, &r);
}

typedef struct {
    const fg_config_t *cfg;
    msg_t *m;
    int held;
} renew_t;

static int renew_tx(fg_db_t *db, void *arg)
{
    renew_t *r = arg;
    fg_stmt_t s;
    int rc = fg_stmt_init(&s, db, SQL_RENEW);
    if (rc != 0)
        return rc;
    fg_stmt_int(&s, fg_now_ms() + r->cfg->reminders_lease_s * 1000);
    fg_stmt_int(&s, r->m->id);
    fg_stmt_int(&s, r->m->attempts);
    if ((rc = fg_stmt_exec(&s)) != 0)
        return rc;
    r->held = fg_stmt_affected(&s) == 1;
    if (!r->held || strcmp(r->m->kind, "reminder") != 0)
        return 0;
    /* the claim judged it a while ago: the order, the opt-out and the hour again, now */
    msg_t now;
    int64_t later_at, at = fg_now_ms();
    if ((rc = load(db, r->m->id, &now)) != 0)
        return rc;
    const char *why = hold(r->cfg, &now, at, &later_at);
    if (why == NULL) {
        *r->m = now; /* sent as it stands now (what is owed, the payer's name), not as claimed */
        return 0;
    }
    r->held = 0;
    if (later_at == 0)
        return end_row(db, &now, "cancelled", why, at, now.attempts);
    if ((rc = fg_stmt_init(&s, db, SQL_GIVE_BACK)) != 0)
        return rc;
    fg_stmt_int(&s, later_at);
    fg_stmt_str(&s, why, strlen(why));
    fg_stmt_int(&s, at);
    fg_stmt_int(&s, now.id);
    fg_stmt_int(&s, now.attempts);
    return fg_stmt_exec(&s);
}

/* 1 when this claim still holds m and its lease now runs from now; 0 when
 * another claim took it; or a database code. */
static int renew(fg_db_t *db, const fg_config_t *cfg, msg_t *m)
{
    renew_t r = {cfg, m, 0};
    int rc = fg_db_tx(db, renew_tx, &r);
    return rc != 0 ? rc : r.held;
}

int fg_reminders_send_round(fg_db_t *db, const fg_config_t *cfg, int limit)
{
    claim_t c = {.cfg = cfg, .limit = limit < SEND_BATCH_MAX ? limit : SEND_BATCH_MAX};
    /* an instance claims only what it can send: a row stays for the instances configured for its channel */
    snprintf(c.channels, sizeof(c.channels), "%s%s%s", cfg->smtp_url[0] != '\0' ? "email," : "",
             cfg->sms_url[0] != '\0' ? "sms," : "", cfg->zalo_url[0] != '\0' ? "zalo" : "");
    if (c.channels[0] == '\0')
        return 0;
    c.msgs = calloc((size_t)c.limit, sizeof(msg_t));
    if (c.msgs == NULL)
        return FG_ENOMEM;
    int rc = fg_db_tx(db, claim_tx, &c);
    for (int i = 0; rc == 0 && i < c.count; i++) {
        int held = i == 0 ? 1 : renew(db, cfg, &c.msgs[i]);
        if (held < 0) {
            fg_db_log_failure(db, "message lease not renewed", held);
            break; /* the rest stay 'sending' until their lease runs out */
        }
        if (held == 1 && send_one(db, cfg, &c.msgs[i]) < 0)
            fg_db_log_failure(db, "message outcome not recorded", FG_EDB);
    }
    free(c.msgs);
    return rc < 0 ? rc : c.count;
}

/* ---- the job thread ------------------------------------------------------------------- */

static struct {
    const fg_config_t *cfg;
    pthread_t thread;
    atomic_int stop;
    int started;
} job;

static void *job_main(void *arg)
{
    (void)arg;
    fg_db_t *db = NULL;
    char err[256];
    int64_t next_plan = 0;
    mysql_thread_init();
    if (fg_db_open(&db, job.cfg, err, sizeof(err)) != 0) {
        /* the database is down: fg_db_ensure reconnects on every round */
    }
    while (!atomic_load(&job.stop)) {
        int sent = 0;
        if (fg_db_ensure(db) == 0) {
            int64_t now = fg_now_ms();
            if (now >= next_plan) {
                int planned = fg_reminders_plan(db, job.cfg, now);
                if (planned < 0)
                    fg_db_log_failure(db, "reminders not planned", planned);
                next_plan = now + job.cfg->reminders_plan_interval_s * 1000;
            }
            sent = fg_reminders_send_round(db, job.cfg, SEND_BATCH_MAX);
            if (sent < 0)
                fg_db_log_failure(db, "reminders not sent", sent);
        }
        if (sent == SEND_BATCH_MAX)
            continue; /* more may be due */
        for (int slept = 0; slept < SEND_POLL_MS && !atomic_load(&job.stop); slept += 10) {
            struct timespec ts = {0, 10 * 1000000L};
            nanosleep(&ts, NULL);
        }
    }
    fg_db_close(db);
    mysql_thread_end();
    return NULL;
}

int fg_reminders_start(const fg_config_t *cfg)
{
    if (job.started || !cfg->reminders_enabled)
        return 0;
    job.cfg = cfg;
    atomic_store(&job.stop, 0);
    if (pthread_create(&job.thread, NULL, job_main, NULL) != 0)
        return FG_EIO;
    job.started = 1;
    return 0;
}

void fg_reminders_stop(void)
{
    if (!job.started)
        return;
    atomic_store(&job.stop, 1);
    pthread_join(job.thread, NULL);
    job.started = 0;
}
