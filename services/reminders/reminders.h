/*
 * reminders.h - reminders to payers before and after a bill's due day, and
 * receipts by e-mail: a policy per merchant, an outbox of messages claimed
 * with SKIP LOCKED, and three channels (e-mail through the unit's SMTP
 * relay, SMS brandname through eSMS, Zalo ZNS template messages).
 *
 * What holds, and where (docs/REMINDERS.md):
 *   - never after the order is paid, cancelled or expired: checked when a
 *     message is claimed, and a message to a closed order is cancelled;
 *   - never in the quiet hours (reminders.quiet_hours, 21:00-07:00 GMT+7)
 *     for SMS and Zalo: a reminder planned then waits for their end, or
 *     belongs to the next day;
 *   - at most one reminder per order per business day: a unique key on
 *     (order, send_day), and a reminder not sent by the end of its day is
 *     cancelled, never carried over;
 *   - a payer who followed the opt-out link gets no more reminders;
 *   - each message reaches its provider once: the claim's lease, and the
 *     message's public id as the provider's idempotency key when a sender
 *     dies between sending and recording.
 */
#ifndef FG_REMINDERS_REMINDERS_H
#define FG_REMINDERS_REMINDERS_H

#include <stddef.h>
#include <stdint.h>
#include "core/buf.h"
#include "core/config.h"
#include "core/error.h"
#include "db/db.h"

#define FG_REMINDER_STEPS_MAX 8
/* A step's days from the due day: two months either way. */
#define FG_REMINDER_DAYS_MAX 60
/* The canonical steps text: 8 steps of "-60:email," */
#define FG_REMINDER_STEPS_TEXT_MAX 96
#define FG_REMINDER_TOKEN_LEN 43 /* base64url of an HMAC-SHA256 */

typedef enum { FG_CHANNEL_EMAIL = 0, FG_CHANNEL_SMS, FG_CHANNEL_ZALO, FG_CHANNEL_COUNT } fg_channel_t;

extern const char *const fg_channel_names[FG_CHANNEL_COUNT];

typedef struct {
    int days; /* from the due day: -7 is a week before, 3 three days after */
    fg_channel_t channel;
} fg_reminder_step_t;

typedef struct {
    int count;
    fg_reminder_step_t steps[FG_REMINDER_STEPS_MAX];
    int english; /* the templates' language: 0 Vietnamese, 1 English */
    int enabled;
} fg_reminder_policy_t;

/* ---- pure parts (compose.c) ------------------------------------------------ */

/** The canonical text of a policy's steps ("-7:email,-1:sms,0:zalo"), sorted
 *  by days, into out (FG_REMINDER_STEPS_TEXT_MAX + 1 bytes). */
void fg_reminder_steps_format(const fg_reminder_policy_t *p, char *out, size_t cap);
/** Reads the canonical text back: 0, or FG_EINVALID. */
int fg_reminder_steps_parse(const char *text, size_t len, fg_reminder_policy_t *p) FG_MUST_USE;
/** Checks steps as a merchant gave them: 1..8 steps, days within ±60, no
 *  two on one day; sorts them.  0, or FG_EINVALID with why in *why. */
int fg_reminder_steps_check(fg_reminder_policy_t *p, const char **why) FG_MUST_USE;

/** Whether a message on channel may go at now_ms under the quiet hours
 *  (minutes after midnight GMT+7, from == to: none).  0: it may.  Otherwise
 *  *until_ms is when the quiet hours end (the same business day when they
 *  end in the morning; the next when the day ends inside them). */
int fg_reminder_quiet(fg_channel_t channel, int quiet_from, int quiet_to, int64_t now_ms, int64_t *until_ms);

/** The opt-out link's token for an order (base64url, NUL-terminated). */
void fg_reminder_token(const char *secret, const char *order_public_id, char out[FG_REMINDER_TOKEN_LEN + 1]);
/** 1 when token is the order's. */
int fg_reminder_token_valid(const char *secret, const char *order_public_id, const char *token, size_t len);

/** A Vietnamese mobile number as digits in international form (84 and nine
 *  digits) from what a payer wrote ("0912 345 678", "+84912345678"): 0, or
 *  FG_EINVALID. */
int fg_reminder_phone(const char *in, char out[16]) FG_MUST_USE;

/** Latin letters without Vietnamese diacritics (đ -> d), for SMS sent as
 *  plain GSM text; the dong sign ₫ is "d" and a no-break space a space (an
 *  amount reads "4.500.000 d"); other non-ASCII characters become '?'. */
void fg_reminder_ascii(fg_buf_t *out, const char *s);

/** What a reminder says: the facts, then compose renders them. */
typedef struct {
    int english;
    const char *unit;       /* the collecting unit */
    const char *payer_name; /* NULL: none */
    const char *bill;       /* the bill's description, else its reference */
    int64_t owed;           /* still owed, minor units */
    const char *currency;
    int32_t due_day;  /* yyyymmdd, 0 = none */
    const char *code; /* the pay code */
    const char *pay_url;
    const char *opt_out_url; /* NULL: none */
    const char *message_id;  /* rmd_…: the e-mail's Message-ID */
    const char *from, *to;   /* e-mail */
    int64_t now_ms;          /* the e-mail's Date */
} fg_reminder_text_t;

/** The reminder as an e-mail (a whole RFC 5322 message, UTF-8, CRLF). */
void fg_reminder_compose_email(const fg_reminder_text_t *t, fg_buf_t *out);
/** The reminder as one SMS (plain letters, no diacritics). */
void fg_reminder_compose_sms(const fg_reminder_text_t *t, fg_buf_t *out);
/** The ZNS template's data, a JSON object. */
void fg_reminder_compose_zalo(const fg_reminder_text_t *t, fg_buf_t *out);

/** What a receipt e-mail says. */
typedef struct {
    const char *unit, *payer_name, *receipt_id, *form, *serial, *bill, *currency, *receipt_url;
    int64_t number, amount, paid_at_ms;
    const char *message_id, *from, *to;
    int64_t now_ms;
} fg_receipt_mail_t;

void fg_reminder_compose_receipt_email(const fg_receipt_mail_t *r, fg_buf_t *out);

/* ---- the store (store.c) ---------------------------------------------------- */

/** The merchant's policy as JSON ({"steps":[…],"language","enabled",
 *  "updated_at"}; no policy: no steps, disabled). */
int fg_reminder_policy_get(fg_db_t *db, uint64_t merchant_id, fg_buf_t *json) FG_MUST_USE;
/** Sets it (checked by fg_reminder_steps_check first) and answers as get. */
int fg_reminder_policy_set(fg_db_t *db, uint64_t merchant_id, const fg_reminder_policy_t *p, int64_t now_ms,
                           fg_buf_t *json) FG_MUST_USE;

/** An order's messages, newest first: {"data":[…]}; FG_ENOTFOUND for no
 *  such order of the merchant (merchant_id 0: any merchant, for staff). */
int fg_reminder_list(fg_db_t *db, uint64_t merchant_id, const char *order_public_id, size_t len,
                     fg_buf_t *json) FG_MUST_USE;

/** The order an opt-out link names, as its page shows it. */
typedef struct {
    char unit[801], bill[4001], payer_ref[257];
    int opted_out;
} fg_reminder_optout_t;

/** Reads (commit 0) or records (commit 1) the opt-out of the order's payer.
 *  FG_ENOTFOUND for no such order or a wrong token. */
int fg_reminder_opt_out(fg_db_t *db, const fg_config_t *cfg, const char *order_public_id, const char *token,
                        size_t token_len, int commit, fg_reminder_optout_t *out) FG_MUST_USE;

/** Queues the e-mail of a receipt just issued, in the issuing transaction
 *  (nothing when no relay is configured or the order has no e-mail). */
int fg_reminder_queue_receipt(fg_db_t *db, const fg_config_t *cfg, uint64_t merchant_id, int64_t order_id,
                              const char *receipt_public_id, const char *email, int64_t now_ms) FG_MUST_USE;

/** Plans today's reminders of every merchant with an enabled policy: one
 *  row per order and send day, at most.  Returns how many were queued. */
int fg_reminders_plan(fg_db_t *db, const fg_config_t *cfg, int64_t now_ms);

/** Claims up to limit due messages, sends each and records the outcome.
 *  Returns how many were claimed, or a negative FG_E* code. */
int fg_reminders_send_round(fg_db_t *db, const fg_config_t *cfg, int limit);

/** The job thread of `feegate serve` (plans every reminders.plan_interval_s
 *  and sends what is due); nothing when reminders.enabled is false. */
int fg_reminders_start(const fg_config_t *cfg) FG_MUST_USE;
void fg_reminders_stop(void);

#endif
