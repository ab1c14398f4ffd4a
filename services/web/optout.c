/*
 * optout.c - /reminders/opt-out/{order}/{token}: the link at the end of every
 * reminder.  GET shows whom the link names and a button (a mail scanner that
 * follows links changes nothing); POST records the opt-out, which stops every
 * reminder of that payer at that unit (by the payer's reference, else the
 * bill), and cancels what was queued.  Receipts still come.  A mail client's
 * one-click unsubscribe (RFC 8058) posts to the same address.
 */
#include "web/web.h"

#include <string.h>
#include "reminders/reminders.h"
#include "web/html.h"

static void opt_out_page(fg_call_t *call, const fg_reminder_optout_t *o, int just_done)
{
    fg_html_t p;
    fg_html_begin(&p, call, "reminder-opt-out", "Ngừng nhận nhắc nộp tiền", "Stop payment reminders",
                  o->opted_out ? "data-status=\"opted-out\"" : "data-status=\"receiving\"");
    fg_html_printf(&p, "<h1>%s</h1><dl class=\"facts\"><dt>%s</dt><dd>",
                   fg_html_tr(&p, "Ngừng nhận nhắc nộp tiền", "Stop payment reminders"),
                   fg_html_tr(&p, "Đơn vị thu", "Collected by"));
    fg_html_text(&p, o->unit);
    fg_html_printf(&p, "</dd><dt>%s</dt><dd>", fg_html_tr(&p, "Khoản thu", "Bill"));
    fg_html_text(&p, o->bill);
    fg_html_puts(&p, "</dd>");
    if (o->payer_ref[0] != '\0') {
        fg_html_printf(&p, "<dt>%s</dt><dd>", fg_html_tr(&p, "Mã người nộp", "Payer reference"));
        fg_html_text(&p, o->payer_ref);
        fg_html_puts(&p, "</dd>");
    }
    fg_html_puts(&p, "</dl>");
    if (o->opted_out) {
        fg_html_printf(&p, "<p class=\"badge ok\" role=\"status\">%s</p><p>%s</p>",
                       just_done ? fg_html_tr(&p, "Đã ghi nhận.", "Done.")
                                 : fg_html_tr(&p, "Bạn đã ngừng nhận nhắc.", "You receive no reminders."),
                       fg_html_tr(&p,
                                  "Đơn vị này sẽ không gửi nhắc nộp tiền cho bạn nữa. Biên lai của các khoản đã nộp "
                                  "vẫn được gửi.",
                                  "This unit will send you no more payment reminders. Receipts of what you pay are "
                                  "still sent."));
    } else {
        fg_html_printf(&p, "<p>%s</p><form method=\"post\"><button type=\"submit\" class=\"block\">%s</button></form>",
                       fg_html_tr(&p,
                                  "Bạn sẽ không nhận nhắc nộp tiền (e-mail, SMS, Zalo) của đơn vị này nữa. Hóa đơn "
                                  "vẫn phải nộp đúng hạn.",
                                  "You will get no more payment reminders (e-mail, SMS, Zalo) from this unit. The bill "
                                  "is still due."),
                       fg_html_tr(&p, "Ngừng nhận nhắc", "Stop reminders"));
    }
    fg_html_end(&p, 200);
}

typedef struct {
    const fg_config_t *cfg;
    const char *order, *token;
    size_t token_len;
    fg_reminder_optout_t *out;
} opt_out_t;

static int opt_out_tx(fg_db_t *db, void *arg)
{
    opt_out_t *a = arg;
    return fg_reminder_opt_out(db, a->cfg, a->order, a->token, a->token_len, 1, a->out);
}

void fg_web_opt_out(fg_call_t *call, fg_db_t *db)
{
    fg_reminder_optout_t o;
    int commit = strcmp(call->method, "POST") == 0;
    char order[64];
    if (call->param_lens[0] >= sizeof(order)) {
        fg_html_message(call, 404, "reminder-opt-out", "Không tìm thấy", "Not found", "Liên kết này không đúng.",
                        "This link is not valid.");
        return;
    }
    memcpy(order, call->params[0], call->param_lens[0]);
    order[call->param_lens[0]] = '\0';
    opt_out_t a = {call->cfg, order, call->params[1], call->param_lens[1], &o};
    int rc = commit ? fg_db_tx(db, opt_out_tx, &a)
                    : fg_reminder_opt_out(db, call->cfg, order, call->params[1], call->param_lens[1], 0, &o);
    fg_db_end(db);
    if (rc == FG_ENOTFOUND)
        fg_html_message(call, 404, "reminder-opt-out", "Không tìm thấy", "Not found", "Liên kết này không đúng.",
                        "This link is not valid.");
    else if (rc != 0)
        fg_html_message(call, 503, "reminder-opt-out", "Tạm thời không phục vụ", "Unavailable",
                        "Xin thử lại sau ít phút.", "Please try again in a few minutes.");
    else
        opt_out_page(call, &o, commit);
}
