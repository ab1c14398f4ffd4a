/*
 * store.c - reminder policies, the messages of an order, opt-outs, the
 * receipt e-mail queued with its receipt, and the planner that turns
 * policies into queued reminders.
 */
#include "reminders/reminders.h"

#include <stdio.h>
#include <string.h>
#include "core/day.h"
#include "core/ids.h"
#include "core/log.h"
#include "core/text.h"
#include "reminders/reminders_internal.h"

/* ---- policies ---------------------------------------------------------------------- */

static const char SQL_POLICY_GET[] =
    "SELECT steps, language, enabled, updated_at FROM reminder_policies WHERE merchant_id = ?";
static const char SQL_POLICY_SET[] =
    "INSERT INTO reminder_policies (merchant_id, steps, language, enabled, updated_at) VALUES (?, ?, ?, ?, ?) "
    "ON DUPLICATE KEY UPDATE steps = VALUES(steps), language = VALUES(language), enabled = VALUES(enabled), "
    "updated_at = VALUES(updated_at)";

static void policy_json(fg_buf_t *b, const fg_reminder_policy_t *p, int64_t updated_at)
{
    char when[40] = "";
    fg_buf_puts(b, "{\"object\":\"reminder_policy\",\"steps\":[");
    for (int i = 0; i < p->count; i++) {
        fg_buf_printf(b, "%s{", i > 0 ? "," : "");
        fg_json_kv_int(b, 0, "days", p->steps[i].days);
        fg_json_kv_str(b, 1, "channel", fg_channel_names[p->steps[i].channel]);
        fg_buf_putc(b, '}');
    }
    fg_buf_putc(b, ']');
    fg_json_kv_str(b, 1, "language", p->english ? "en" : "vi");
    fg_json_kv_bool(b, 1, "enabled", p->enabled);
    if (updated_at > 0 && fg_time_format_rfc3339(updated_at, 0, when, sizeof(when)) > 0)
        fg_json_kv_str(b, 1, "updated_at", when);
    else
        fg_json_kv_null(b, 1, "updated_at");
    fg_buf_putc(b, '}');
}

int fg_reminder_policy_read(fg_db_t *db, uint64_t merchant_id, fg_reminder_policy_t *p, int64_t *updated_at)
{
    fg_buf_t steps = FG_BUF_INIT, language = FG_BUF_INIT;
    int64_t enabled = 0;
    fg_stmt_t s;
    memset(p, 0, sizeof(*p));
    *updated_at = 0;
    int rc = fg_stmt_init(&s, db, SQL_POLICY_GET);
    if (rc == 0) {
        fg_stmt_int(&s, (int64_t)merchant_id);
        fg_stmt_out_text(&s, &steps, NULL);
        fg_stmt_out_text(&s, &language, NULL);
        fg_stmt_out_int(&s, &enabled, NULL);
        fg_stmt_out_int(&s, updated_at, NULL);
        rc = fg_stmt_one(&s);
    }
    if (rc == 0) {
        rc = fg_reminder_steps_parse(steps.data, steps.len, p) != 0 ? FG_EDB : 0;
        p->english = strcmp(language.data, "en") == 0;
        p->enabled = enabled != 0;
    }
    fg_buf_free(&steps);
    fg_buf_free(&language);
    return rc;
}

int fg_reminder_policy_get(fg_db_t *db, uint64_t merchant_id, fg_buf_t *json)
{
    fg_reminder_policy_t p;
    int64_t updated_at;
    int rc = fg_reminder_policy_read(db, merchant_id, &p, &updated_at);
    if (rc == FG_ENOTFOUND) {
        memset(&p, 0, sizeof(p));
        rc = 0;
    }
    if (rc == 0)
        policy_json(json, &p, updated_at);
    return rc;
}

int fg_reminder_policy_set(fg_db_t *db, uint64_t merchant_id, const fg_reminder_policy_t *p, int64_t now_ms,
                           fg_buf_t *json)
{
    char steps[FG_REMINDER_STEPS_TEXT_MAX + 1];
    fg_reminder_policy_t checked = *p;
    const char *why;
    fg_stmt_t s;
    if (fg_reminder_steps_check(&checked, &why) != 0)
        return FG_EINVALID;
    fg_reminder_steps_format(&checked, steps, sizeof(steps));
    int rc = fg_stmt_init(&s, db, SQL_POLICY_SET);
    if (rc != 0)
        return rc;
    fg_stmt_int(&s, (int64_t)merchant_id);
    fg_stmt_cstr(&s, steps);
    fg_stmt_cstr(&s, checked.english ? "en" : "vi");
    fg_stmt_int(&s, checked.enabled);
    fg_stmt_int(&s, now_ms);
    if ((rc = fg_stmt_exec(&s)) != 0)
        return rc;
    policy_json(json, &checked, now_ms);
    return 0;
}

/* ---- an order's messages ------------------------------------------------------------- */

static const char SQL_ORDER_OF[] = "SELECT id FROM orders WHERE public_id = ? AND (? = 0 OR merchant_id = ?)";
static const char SQL_LIST[] =
    "SELECT public_id, kind, receipt_id, channel, recipient, step_days, send_day, status, attempts, provider_ref, "
    "last_error, created_at, sent_at FROM reminders WHERE order_id = ? ORDER BY id DESC LIMIT 200";

int fg_reminder_list(fg_db_t *db, uint64_t merchant_id, const char *order_public_id, size_t len, fg_buf_t *json)
{
    int64_t order_id = 0, step = 0, attempts = 0, created = 0, sent = 0;
    int step_null, receipt_null, ref_null, error_null, sent_null, day_null;
    fg_buf_t id = FG_BUF_INIT, kind = FG_BUF_INIT, receipt = FG_BUF_INIT, channel = FG_BUF_INIT, to = FG_BUF_INIT,
             day = FG_BUF_INIT, status = FG_BUF_INIT, ref = FG_BUF_INIT, error = FG_BUF_INIT;
    fg_stmt_t s;
    int rc = fg_stmt_init(&s, db, SQL_ORDER_OF);
    if (rc != 0)
        return rc;
    fg_stmt_str(&s, order_public_id, len);
    fg_stmt_int(&s, (int64_t)merchant_id);
    fg_stmt_int(&s, (int64_t)merchant_id);
    fg_stmt_out_int(&s, &order_id, NULL);
    if ((rc = fg_stmt_one(&s)) != 0 || (rc = fg_stmt_init(&s, db, SQL_LIST)) != 0)
        return rc;
    fg_stmt_int(&s, order_id);
    fg_stmt_out_text(&s, &id, NULL);
    fg_stmt_out_text(&s, &kind, NULL);
    fg_stmt_out_text(&s, &receipt, &receipt_null);
    fg_stmt_out_text(&s, &channel, NULL);
    fg_stmt_out_text(&s, &to, NULL);
    fg_stmt_out_int(&s, &step, &step_null);
    fg_stmt_out_text(&s, &day, &day_null);
    fg_stmt_out_text(&s, &status, NULL);
    fg_stmt_out_int(&s, &attempts, NULL);
    fg_stmt_out_text(&s, &ref, &ref_null);
    fg_stmt_out_text(&s, &error, &error_null);
    fg_stmt_out_int(&s, &created, NULL);
    fg_stmt_out_int(&s, &sent, &sent_null);
    fg_buf_puts(json, "{\"object\":\"list\",\"data\":[");
    int n = 0;
    if ((rc = fg_stmt_exec(&s)) == 0) {
        while ((rc = fg_stmt_fetch(&s)) == 1) {
            char when[40];
            fg_buf_puts(json, n++ > 0 ? ",{" : "{");
            fg_json_kv_str(json, 0, "id", id.data);
            fg_json_kv_str(json, 1, "object", "reminder");
            fg_json_kv_str(json, 1, "order_id", order_public_id);
            fg_json_kv_str(json, 1, "kind", kind.data);
            fg_json_kv_str(json, 1, "receipt_id", receipt_null ? NULL : receipt.data);
            fg_json_kv_str(json, 1, "channel", channel.data);
            fg_json_kv_str(json, 1, "recipient", to.data);
            if (step_null)
                fg_json_kv_null(json, 1, "step_days");
            else
                fg_json_kv_int(json, 1, "step_days", step);
            fg_json_kv_str(json, 1, "send_day", day_null ? NULL : day.data);
            fg_json_kv_str(json, 1, "status", status.data);
            fg_json_kv_int(json, 1, "attempts", attempts);
            fg_json_kv_str(json, 1, "provider_ref", ref_null ? NULL : ref.data);
            fg_json_kv_str(json, 1, "last_error", error_null ? NULL : error.data);
            fg_time_format_rfc3339(created, 0, when, sizeof(when));
            fg_json_kv_str(json, 1, "created_at", when);
            if (!sent_null && fg_time_format_rfc3339(sent, 0, when, sizeof(when)) > 0)
                fg_json_kv_str(json, 1, "sent_at", when);
            else
                fg_json_kv_null(json, 1, "sent_at");
            fg_buf_putc(json, '}');
        }
    }
    fg_buf_puts(json, "]}");
    fg_buf_free(&id);
    fg_buf_free(&kind);
    fg_buf_free(&receipt);
    fg_buf_free(&channel);
    fg_buf_free(&to);
    fg_buf_free(&day);
    fg_buf_free(&status);
    fg_buf_free(&ref);
    fg_buf_free(&error);
    return rc < 0 ? rc : 0;
}

/* ---- opt-out ------------------------------------------------------------------------ */

static const char SQL_OPT_ORDER[] =
    "SELECT o.merchant_id, o.payer_ref, COALESCE(o.description, o.merchant_ref), "
    "COALESCE(m.receipt_unit_name, m.name) FROM orders o JOIN merchants m ON m.id = o.merchant_id "
    "WHERE o.public_id = ?";
static const char SQL_OPT_GET[] = "SELECT created_at FROM reminder_opt_outs WHERE merchant_id = ? AND payer_key = ?";
static const char SQL_OPT_SET[] = "INSERT IGNORE INTO reminder_opt_outs (merchant_id, payer_key, created_at) "
                                  "VALUES (?, ?, ?)";
/* what was queued for this payer stops with the opt-out */
static const char SQL_OPT_CANCEL[] =
    "UPDATE reminders r JOIN orders o ON o.id = r.order_id SET r.status = 'cancelled', "
    "r.last_error = 'the payer opted out', r.updated_at = ? WHERE r.status = 'queued' AND r.kind = 'reminder' "
    "AND o.merchant_id = ? AND (o.public_id = ? OR (? IS NOT NULL AND o.payer_ref = ?))";

void fg_reminder_payer_key(const char *payer_ref, int ref_null, const char *order_public_id, char out[80])
{
    if (!ref_null && payer_ref != NULL && payer_ref[0] != '\0')
        snprintf(out, 80, "ref:%s", payer_ref);
    else
        snprintf(out, 80, "order:%s", order_public_id);
}

int fg_reminder_opt_out(fg_db_t *db, const fg_config_t *cfg, const char *order_public_id, const char *token,
                        size_t token_len, int commit, fg_reminder_optout_t *out)
{
    int64_t merchant_id = 0, created = 0;
    int ref_null = 0;
    fg_buf_t ref = FG_BUF_INIT, bill = FG_BUF_INIT, unit = FG_BUF_INIT;
    char key[80];
    fg_stmt_t s;
    memset(out, 0, sizeof(*out));
    if (!fg_reminder_token_valid(cfg->reminders_link_secret, order_public_id, token, token_len))
        return FG_ENOTFOUND;
    int rc = fg_stmt_init(&s, db, SQL_OPT_ORDER);
    if (rc == 0) {
        fg_stmt_cstr(&s, order_public_id);
        fg_stmt_out_int(&s, &merchant_id, NULL);
        fg_stmt_out_text(&s, &ref, &ref_null);
        fg_stmt_out_text(&s, &bill, NULL);
        fg_stmt_out_text(&s, &unit, NULL);
        rc = fg_stmt_one(&s);
    }
    if (rc == 0) {
        /* an empty reference names nobody: the payer is this order's, as without one */
        ref_null = ref_null || ref.len == 0;
        snprintf(out->unit, sizeof(out->unit), "%s", unit.data);
        snprintf(out->bill, sizeof(out->bill), "%s", bill.data);
        snprintf(out->payer_ref, sizeof(out->payer_ref), "%s", ref_null ? "" : ref.data);
        fg_reminder_payer_key(ref.data, ref_null, order_public_id, key);
        if (commit) {
            int64_t now = fg_now_ms();
            if ((rc = fg_stmt_init(&s, db, SQL_OPT_SET)) == 0) {
                fg_stmt_int(&s, merchant_id);
                fg_stmt_cstr(&s, key);
                fg_stmt_int(&s, now);
                rc = fg_stmt_exec(&s);
            }
            if (rc == 0 && (rc = fg_stmt_init(&s, db, SQL_OPT_CANCEL)) == 0) {
                fg_stmt_int(&s, now);
                fg_stmt_int(&s, merchant_id);
                fg_stmt_cstr(&s, order_public_id);
                fg_stmt_cstr(&s, ref_null ? NULL : ref.data);
                fg_stmt_cstr(&s, ref_null ? NULL : ref.data);
                rc = fg_stmt_exec(&s);
            }
            out->opted_out = rc == 0;
        } else if ((rc = fg_stmt_init(&s, db, SQL_OPT_GET)) == 0) {
            fg_stmt_int(&s, merchant_id);
            fg_stmt_cstr(&s, key);
            fg_stmt_out_int(&s, &created, NULL);
            rc = fg_stmt_one(&s);
            out->opted_out = rc == 0;
            if (rc == FG_ENOTFOUND)
                rc = 0;
        }
    }
    fg_buf_free(&ref);
    fg_buf_free(&bill);
    fg_buf_free(&unit);
    return rc;
}

/* ---- the receipt e-mail ---------------------------------------------------------------- */

/* Deferred in a group commit, as the payment's other rows. */
static fg_db_table_t RECEIPT_MAIL =
    FG_DB_TABLE("INSERT INTO reminders (public_id, merchant_id, order_id, kind, receipt_id, channel, recipient, "
                "not_before, created_at, updated_at) VALUES ",
                "(?, ?, ?, 'receipt', ?, 'email', ?, ?, ?, ?)", 8, 0, 40);

int fg_reminder_queue_receipt(fg_db_t *db, const fg_config_t *cfg, uint64_t merchant_id, int64_t order_id,
                              const char *receipt_public_id, const char *email, int64_t now_ms)
{
    char id[FG_ID_CAP];
    if (!cfg->reminders_enabled || cfg->smtp_url[0] == '\0' || email == NULL || email[0] == '\0')
        return 0;
    if (fg_id_new("rmd_", id, sizeof(id)) < 0)
        return FG_EIO;
    fg_db_value_t v[] = {fg_db_cstr(id),    FG_DB_INT(merchant_id), FG_DB_INT(order_id), fg_db_cstr(receipt_public_id),
                         fg_db_cstr(email), FG_DB_INT(now_ms),      FG_DB_INT(now_ms),   FG_DB_INT(now_ms)};
    return fg_db_insert(db, &RECEIPT_MAIL, v, 1, NULL);
}

/* ---- planning ------------------------------------------------------------------------------ */

/* Orders planned per transaction: one merchant's due day can hold thousands. */
#define PLAN_CHUNK 500

static const char SQL_POLICIES[] =
    "SELECT merchant_id FROM reminder_policies WHERE enabled = 1 AND merchant_id > ? ORDER BY merchant_id LIMIT 100";
/* Open orders due on the target day, with the contact this channel needs,
 * whose payer has not opted out and which have no message on the send day. */
static const char SQL_PLAN_EMAIL[] =
    "SELECT o.id, o.payer_email FROM orders o WHERE o.merchant_id = ? AND o.status IN ('open', 'partially_paid') "
    "AND o.due_at >= ? AND o.due_at < ? AND (o.expires_at IS NULL OR o.expires_at > ?) AND o.payer_email IS NOT NULL "
    "AND NOT EXISTS (SELECT 1 FROM reminders r WHERE r.order_id = o.id AND r.send_day = ?) "
    "AND NOT EXISTS (SELECT 1 FROM reminder_opt_outs x WHERE x.merchant_id = o.merchant_id AND x.payer_key = "
    "IF(COALESCE(o.payer_ref, '') = '', CONCAT('order:', o.public_id), CONCAT('ref:', o.payer_ref))) ORDER BY o.id LIMIT ?";
static const char SQL_PLAN_PHONE[] =
    "SELECT o.id, o.payer_phone FROM orders o WHERE o.merchant_id = ? AND o.status IN ('open', 'partially_paid') "
    "AND o.due_at >= ? AND o.due_at < ? AND (o.expires_at IS NULL OR o.expires_at > ?) AND o.payer_phone IS NOT NULL "
    "AND NOT EXISTS (SELECT 1 FROM reminders r WHERE r.order_id = o.id AND r.send_day = ?) "
    "AND NOT EXISTS (SELECT 1 FROM reminder_opt_outs x WHERE x.merchant_id = o.merchant_id AND x.payer_key = "
    "IF(COALESCE(o.payer_ref, '') = '', CONCAT('order:', o.public_id), CONCAT('ref:', o.payer_ref))) ORDER BY o.id LIMIT ?";
static const char SQL_PLAN_INSERT[] =
    "INSERT IGNORE INTO reminders (public_id, merchant_id, order_id, kind, channel, recipient, step_days, send_day, "
    "language, not_before, created_at, updated_at) VALUES (?, ?, ?, 'reminder', ?, ?, ?, ?, ?, ?, ?, ?)";

typedef struct {
    uint64_t merchant_id;
    const fg_reminder_step_t *step;
    int english;
    int32_t send_day;
    int64_t not_before, due_from, due_to, now;
    int planned, found;
} plan_t;

static int plan_chunk_tx(fg_db_t *db, void *arg)
{
    plan_t *p = arg;
    int64_t ids[PLAN_CHUNK], order_id = 0;
    char contacts[PLAN_CHUNK][255], day[11];
    fg_buf_t contact = FG_BUF_INIT;
    fg_stmt_t s;
    p->found = 0;
    p->planned = 0;
    fg_day_format(p->send_day, day);
    int rc = fg_stmt_init(&s, db, p->step->channel == FG_CHANNEL_EMAIL ? SQL_PLAN_EMAIL : SQL_PLAN_PHONE);
    if (rc != 0)
        return rc;
    fg_stmt_int(&s, (int64_t)p->merchant_id);
    fg_stmt_int(&s, p->due_from);
    fg_stmt_int(&s, p->due_to);
    fg_stmt_int(&s, p->now);
    fg_stmt_cstr(&s, day);
    fg_stmt_int(&s, PLAN_CHUNK);
    fg_stmt_out_int(&s, &order_id, NULL);
    fg_stmt_out_text(&s, &contact, NULL);
    if ((rc = fg_stmt_exec(&s)) == 0) {
        while ((rc = fg_stmt_fetch(&s)) == 1 && p->found < PLAN_CHUNK) {
            ids[p->found] = order_id;
            snprintf(contacts[p->found], sizeof(contacts[0]), "%s", contact.data != NULL ? contact.data : "");
            p->found++;
        }
        fg_stmt_done(&s);
    }
    fg_buf_free(&contact);
    for (int i = 0; rc >= 0 && i < p->found; i++) {
        char id[FG_ID_CAP];
        if (fg_id_new("rmd_", id, sizeof(id)) < 0)
            return FG_EIO;
        if ((rc = fg_stmt_init(&s, db, SQL_PLAN_INSERT)) != 0)
            break;
        fg_stmt_cstr(&s, id);
        fg_stmt_int(&s, (int64_t)p->merchant_id);
        fg_stmt_int(&s, ids[i]);
        fg_stmt_cstr(&s, fg_channel_names[p->step->channel]);
        fg_stmt_cstr(&s, contacts[i]);
        fg_stmt_int(&s, p->step->days);
        fg_stmt_cstr(&s, day);
        fg_stmt_cstr(&s, p->english ? "en" : "vi");
        fg_stmt_int(&s, p->not_before);
        fg_stmt_int(&s, p->now);
        fg_stmt_int(&s, p->now);
        if ((rc = fg_stmt_exec(&s)) == 0)
            p->planned += (int)fg_stmt_affected(&s);
    }
    return rc < 0 ? rc : 0;
}

/* One policy's steps for the day: each step's orders are those due `days`
 * before the day the message will go out (today, or for SMS and Zalo planned
 * inside the evening's quiet hours, tomorrow). */
static int plan_merchant(fg_db_t *db, const fg_config_t *cfg, uint64_t merchant_id, int64_t now)
{
    fg_reminder_policy_t policy;
    int64_t updated, until;
    int quiet_from, quiet_to, total = 0;
    int rc = fg_reminder_policy_read(db, merchant_id, &policy, &updated);
    fg_db_end(db);
    if (rc != 0)
        return rc == FG_ENOTFOUND ? 0 : rc;
    if (fg_config_quiet_hours(cfg->reminders_quiet_hours, &quiet_from, &quiet_to) != 0)
        quiet_from = quiet_to = 0;
    for (int i = 0; i < policy.count; i++) {
        const fg_reminder_step_t *step = &policy.steps[i];
        if ((step->channel == FG_CHANNEL_EMAIL && cfg->smtp_url[0] == '\0') ||
            (step->channel == FG_CHANNEL_SMS && cfg->sms_url[0] == '\0') ||
            (step->channel == FG_CHANNEL_ZALO && cfg->zalo_url[0] == '\0'))
            continue; /* a channel this deployment has no provider for */
        plan_t p = {.merchant_id = merchant_id, .step = step, .english = policy.english, .now = now};
        p.send_day = fg_day_of_ms(now);
        p.not_before = now;
        if (fg_reminder_quiet(step->channel, quiet_from, quiet_to, now, &until)) {
            p.not_before = until;
            p.send_day = fg_day_of_ms(until);
        }
        int32_t due_day = p.send_day;
        for (int d = 0; d < (step->days > 0 ? step->days : -step->days); d++)
            due_day = step->days > 0 ? fg_day_prev(due_day) : fg_day_next(due_day);
        p.due_from = fg_day_start_ms(due_day);
        p.due_to = fg_day_start_ms(fg_day_next(due_day));
        do {
            if ((rc = fg_db_tx(db, plan_chunk_tx, &p)) != 0)
                return rc;
            total += p.planned;
        } while (p.found == PLAN_CHUNK && p.planned > 0);
    }
    return total;
}

int fg_reminders_plan(fg_db_t *db, const fg_config_t *cfg, int64_t now_ms)
{
    uint64_t after = 0;
    int total = 0;
    if (cfg->reminders_link_secret[0] == '\0')
        return 0; /* no opt-out link can be made: no reminders */
    for (;;) {
        uint64_t ids[100];
        int64_t id = 0;
        int n = 0;
        fg_stmt_t s;
        int rc = fg_stmt_init(&s, db, SQL_POLICIES);
        if (rc != 0)
            return rc;
        fg_stmt_int(&s, (int64_t)after);
        fg_stmt_out_int(&s, &id, NULL);
        if ((rc = fg_stmt_exec(&s)) == 0) {
            while ((rc = fg_stmt_fetch(&s)) == 1 && n < 100)
                ids[n++] = (uint64_t)id;
            fg_stmt_done(&s);
        }
        fg_db_end(db);
        if (rc < 0)
            return rc;
        for (int i = 0; i < n; i++) {
            int planned = plan_merchant(db, cfg, ids[i], now_ms);
            if (planned < 0) {
                fg_db_log_failure(db, "reminders not planned", planned);
                continue;
            }
            total += planned;
        }
        if (n < 100)
            return total;
        after = ids[n - 1];
    }
}
