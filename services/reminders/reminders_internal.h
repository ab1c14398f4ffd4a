/*
 * reminders_internal.h - what the reminder files share.
 */
#ifndef FG_REMINDERS_REMINDERS_INTERNAL_H
#define FG_REMINDERS_REMINDERS_INTERNAL_H

#include "reminders/reminders.h"

/** The merchant's policy: 0, FG_ENOTFOUND (none), or an FG_E* code. */
int fg_reminder_policy_read(fg_db_t *db, uint64_t merchant_id, fg_reminder_policy_t *p,
                            int64_t *updated_at) FG_MUST_USE;

/** Whom an opt-out names: "ref:<payer_ref>", or "order:<public id>" for an
 *  order without a payer reference (the planner's SQL builds the same). */
void fg_reminder_payer_key(const char *payer_ref, int ref_null, const char *order_public_id, char out[80]);

#endif
