/*
 * reminders.c - the reminder routes: a merchant's policy,
 * GET|POST /v1/reminder-policy, and an order's messages (reminders and the
 * receipt e-mail, with their delivery status), GET /v1/orders/{id}/reminders.
 */
#include "api/handlers.h"

#include <string.h>
#include "core/json.h"
#include "core/text.h"
#include "reminders/reminders.h"

void fg_reminder_policy_read_route(fg_call_t *call, fg_db_t *db)
{
    fg_buf_t b = FG_BUF_INIT;
    int rc = fg_reminder_policy_get(db, call->merchant_id, &b);
    fg_db_end(db);
    if (rc != 0)
        fg_call_db_error(call, db, rc);
    else
        fg_call_json(call, 200, &b);
    fg_buf_free(&b);
}

/* The body's steps: [{"days":-7,"channel":"email"}, …]. */
static int read_steps(fg_call_t *call, yajl_val v, fg_reminder_policy_t *p)
{
    if (!YAJL_IS_ARRAY(v)) {
        fg_call_error(call, 400, "invalid_request", "invalid_type", "must be an array of {days, channel}", "steps");
        return -1;
    }
    if (v->u.array.len < 1 || v->u.array.len > FG_REMINDER_STEPS_MAX) {
        fg_call_error(call, 422, "invalid_request", "invalid_reminder_policy", "a policy has 1 to 8 steps", "steps");
        return -1;
    }
    static const char *const STEP_FIELDS[] = {"days", "channel"};
    for (size_t i = 0; i < v->u.array.len; i++) {
        yajl_val s = v->u.array.values[i];
        fg_field_error_t err;
        if (fg_json_known_fields(s, STEP_FIELDS, 2, &err) != 0) { /* "delay", "chanel": named, not a type */
            fg_call_field_error(call, &err);
            return -1;
        }
        yajl_val days = YAJL_IS_OBJECT(s) ? fg_json_member(s, "days") : NULL;
        yajl_val channel = YAJL_IS_OBJECT(s) ? fg_json_member(s, "channel") : NULL;
        int c = 0;
        if (days == NULL || channel == NULL || !YAJL_IS_INTEGER(days) || !YAJL_IS_STRING(channel) ||
            s->u.object.len != 2) {
            fg_call_error(call, 400, "invalid_request", "invalid_type",
                          "each step is {\"days\": integer, \"channel\": \"email\"|\"sms\"|\"zalo\"}", "steps");
            return -1;
        }
        while (c < FG_CHANNEL_COUNT && strcmp(channel->u.string, fg_channel_names[c]) != 0)
            c++;
        long long d = YAJL_GET_INTEGER(days);
        if (c == FG_CHANNEL_COUNT || d < -FG_REMINDER_DAYS_MAX || d > FG_REMINDER_DAYS_MAX) {
            fg_call_error(call, 422, "invalid_request", "invalid_reminder_policy",
                          "a step's days are -60..60 from the due day (negative: before it), its channel email, sms "
                          "or zalo",
                          "steps");
            return -1;
        }
        p->steps[i].days = (int)d;
        p->steps[i].channel = (fg_channel_t)c;
    }
    p->count = (int)v->u.array.len;
    return 0;
}

typedef struct {
    uint64_t merchant_id;
    const fg_reminder_policy_t *p;
    fg_buf_t *out;
} policy_set_t;

static int policy_set_tx(fg_db_t *db, void *arg)
{
    policy_set_t *a = arg;
    fg_buf_reset(a->out);
    return fg_reminder_policy_set(db, a->merchant_id, a->p, fg_now_ms(), a->out);
}

void fg_reminder_policy_write_route(fg_call_t *call, fg_db_t *db)
{
    fg_field_error_t err;
    fg_reminder_policy_t p = {.enabled = 1};
    const char *why;
    int has_steps = 0;
    yajl_val root = fg_call_json_object(call, &err);
    if (root == NULL) {
        fg_call_field_error(call, &err);
        return;
    }
    for (size_t i = 0; i < root->u.object.len; i++) {
        const char *k = root->u.object.keys[i];
        yajl_val v = root->u.object.values[i];
        if (strcmp(k, "steps") == 0) {
            if (read_steps(call, v, &p) != 0)
                goto Exit;
            has_steps = 1;
        } else if (strcmp(k, "language") == 0) {
            if (!YAJL_IS_STRING(v) || (strcmp(v->u.string, "vi") != 0 && strcmp(v->u.string, "en") != 0)) {
                fg_call_error(call, 422, "invalid_request", "invalid_language", "language is \"vi\" or \"en\"",
                              "language");
                goto Exit;
            }
            p.english = strcmp(v->u.string, "en") == 0;
        } else if (strcmp(k, "enabled") == 0) {
            if (!YAJL_IS_TRUE(v) && !YAJL_IS_FALSE(v)) {
                fg_call_error(call, 400, "invalid_request", "invalid_type", "must be true or false", "enabled");
                goto Exit;
            }
            p.enabled = YAJL_IS_TRUE(v);
        } else {
            fg_call_error(call, 400, "invalid_request", "unknown_field",
                          "a reminder policy is steps, language and enabled", k);
            goto Exit;
        }
    }
    if (!has_steps) {
        fg_call_error(call, 400, "invalid_request", "missing_field", "steps is required", "steps");
        goto Exit;
    }
    if (fg_reminder_steps_check(&p, &why) != 0) {
        fg_call_error(call, 422, "invalid_request", "invalid_reminder_policy", why, "steps");
        goto Exit;
    }
    fg_buf_t b = FG_BUF_INIT;
    policy_set_t a = {call->merchant_id, &p, &b};
    int rc = fg_db_tx(db, policy_set_tx, &a);
    if (rc != 0)
        fg_call_db_error(call, db, rc);
    else
        fg_call_json(call, 200, &b);
    fg_buf_free(&b);
Exit:
    yajl_tree_free(root);
}

void fg_orders_reminders(fg_call_t *call, fg_db_t *db)
{
    fg_buf_t b = FG_BUF_INIT;
    int rc = fg_reminder_list(db, call->merchant_id, call->params[0], call->param_lens[0], &b);
    fg_db_end(db);
    if (rc == FG_ENOTFOUND)
        fg_call_error(call, 404, "not_found", "order_not_found", "no such order", NULL);
    else if (rc != 0)
        fg_call_db_error(call, db, rc);
    else
        fg_call_json(call, 200, &b);
    fg_buf_free(&b);
}
