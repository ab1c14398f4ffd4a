/*
 * compose.c - the pure parts of reminders: policy steps, quiet hours, the
 * opt-out token, phone numbers, and the messages themselves in Vietnamese
 * and English.
 */
#include "reminders/reminders.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "core/crypto.h"
#include "core/day.h"
#include "core/money.h"
#include "core/text.h"

const char *const fg_channel_names[FG_CHANNEL_COUNT] = {"email", "sms", "zalo"};

/* ---- steps ------------------------------------------------------------------- */

static int step_cmp(const void *a, const void *b)
{
    const fg_reminder_step_t *x = a, *y = b;
    return (x->days > y->days) - (x->days < y->days);
}

int fg_reminder_steps_check(fg_reminder_policy_t *p, const char **why)
{
    *why = NULL;
    if (p->count < 1 || p->count > FG_REMINDER_STEPS_MAX) {
        *why = "a policy has 1 to 8 steps";
        return FG_EINVALID;
    }
    for (int i = 0; i < p->count; i++)
        if (p->steps[i].days < -FG_REMINDER_DAYS_MAX || p->steps[i].days > FG_REMINDER_DAYS_MAX ||
            (unsigned)p->steps[i].channel >= FG_CHANNEL_COUNT) {
            *why = "a step's days are -60..60 from the due day, its channel email, sms or zalo";
            return FG_EINVALID;
        }
    qsort(p->steps, (size_t)p->count, sizeof(p->steps[0]), step_cmp);
    for (int i = 1; i < p->count; i++)
        if (p->steps[i].days == p->steps[i - 1].days) {
            *why = "at most one reminder a day: two steps name the same day";
            return FG_EINVALID;
        }
    return 0;
}

void fg_reminder_steps_format(const fg_reminder_policy_t *p, char *out, size_t cap)
{
    size_t n = 0;
    out[0] = '\0';
    for (int i = 0; i < p->count && n < cap; i++) {
        int w = snprintf(out + n, cap - n, "%s%d:%s", i > 0 ? "," : "", p->steps[i].days,
                         fg_channel_names[p->steps[i].channel]);
        if (w < 0)
            break;
        n += (size_t)w;
    }
}

int fg_reminder_steps_parse(const char *text, size_t len, fg_reminder_policy_t *p)
{
    char buf[FG_REMINDER_STEPS_TEXT_MAX + 1];
    const char *why;
    if (len == 0 || len >= sizeof(buf))
        return FG_EINVALID;
    memcpy(buf, text, len);
    buf[len] = '\0';
    p->count = 0;
    for (char *tok = buf, *next; tok != NULL; tok = next) {
        next = strchr(tok, ',');
        if (next != NULL)
            *next++ = '\0';
        char *colon = strchr(tok, ':'), *end;
        if (colon == NULL || colon == tok || p->count == FG_REMINDER_STEPS_MAX)
            return FG_EINVALID;
        long days = strtol(tok, &end, 10);
        if (end != colon)
            return FG_EINVALID;
        int c = 0;
        while (c < FG_CHANNEL_COUNT && strcmp(colon + 1, fg_channel_names[c]) != 0)
            c++;
        if (c == FG_CHANNEL_COUNT || days < -FG_REMINDER_DAYS_MAX || days > FG_REMINDER_DAYS_MAX)
            return FG_EINVALID;
        p->steps[p->count].days = (int)days;
        p->steps[p->count].channel = (fg_channel_t)c;
        p->count++;
    }
    return fg_reminder_steps_check(p, &why);
}

/* ---- quiet hours ------------------------------------------------------------- */

int fg_reminder_quiet(fg_channel_t channel, int quiet_from, int quiet_to, int64_t now_ms, int64_t *until_ms)
{
    *until_ms = 0;
    if (channel == FG_CHANNEL_EMAIL || quiet_from == quiet_to)
        return 0;
    int32_t day = fg_day_of_ms(now_ms);
    int64_t start = fg_day_start_ms(day);
    int minute = (int)((now_ms - start) / 60000);
    int quiet = quiet_from < quiet_to ? minute >= quiet_from && minute < quiet_to  /* inside one day */
                                      : minute >= quiet_from || minute < quiet_to; /* across midnight */
    if (!quiet)
        return 0;
    if (minute < quiet_to) /* the quiet hours end later this day */
        *until_ms = start + (int64_t)quiet_to * 60000;
    else /* they end the next day */
        *until_ms = fg_day_start_ms(fg_day_next(day)) + (int64_t)quiet_to * 60000;
    return 1;
}

/* ---- opt-out token ------------------------------------------------------------- */

void fg_reminder_token(const char *secret, const char *order_public_id, char out[FG_REMINDER_TOKEN_LEN + 1])
{
    static const char PURPOSE[] = "feegate reminder opt-out\n";
    uint8_t mac[FG_SHA256_LEN];
    fg_buf_t msg = FG_BUF_INIT;
    fg_buf_puts(&msg, PURPOSE);
    fg_buf_puts(&msg, order_public_id);
    fg_hmac_sha256(secret, strlen(secret), msg.data, msg.len, mac);
    fg_buf_free(&msg);
    fg_base64url_encode(mac, sizeof(mac), out);
}

int fg_reminder_token_valid(const char *secret, const char *order_public_id, const char *token, size_t len)
{
    char want[FG_REMINDER_TOKEN_LEN + 1];
    if (secret == NULL || secret[0] == '\0')
        return 0;
    fg_reminder_token(secret, order_public_id, want);
    return fg_secure_equal(want, FG_REMINDER_TOKEN_LEN, token, len);
}

/* ---- phone numbers ------------------------------------------------------------- */

int fg_reminder_phone(const char *in, char out[16])
{
    char digits[16];
    size_t n = 0;
    for (const char *p = in; *p != '\0'; p++) {
        if (*p >= '0' && *p <= '9') {
            if (n == sizeof(digits) - 1)
                return FG_EINVALID;
            digits[n++] = *p;
        } else if (*p != ' ' && *p != '.' && *p != '-' && !(*p == '+' && p == in)) {
            return FG_EINVALID;
        }
    }
    digits[n] = '\0';
    if (n == 10 && digits[0] == '0') {
        out[0] = '8', out[1] = '4';
        memcpy(out + 2, digits + 1, 9);
    } else if (n == 11 && digits[0] == '8' && digits[1] == '4') {
        memcpy(out, digits, 11);
    } else {
        return FG_EINVALID;
    }
    out[11] = '\0';
    return out[2] == '0' ? FG_EINVALID : 0; /* 840… is no mobile number */
}

/* ---- Vietnamese letters without their marks ---------------------------------------- */

static const struct {
    char base;
    const char *forms; /* UTF-8 */
} MARKED[] = {
    {'a', "àáảãạăằắẳẵặâầấẩẫậ"},
    {'A', "ÀÁẢÃẠĂẰẮẲẴẶÂẦẤẨẪẬ"},
    {'e', "èéẻẽẹêềếểễệ"},
    {'E', "ÈÉẺẼẸÊỀẾỂỄỆ"},
    {'i', "ìíỉĩị"},
    {'I', "ÌÍỈĨỊ"},
    {'o', "òóỏõọôồốổỗộơờớởỡợ"},
    {'O', "ÒÓỎÕỌÔỒỐỔỖỘƠỜỚỞỠỢ"},
    {'u', "ùúủũụưừứửữự"},
    {'U', "ÙÚỦŨỤƯỪỨỬỮỰ"},
    {'y', "ỳýỷỹỵ"},
    {'Y', "ỲÝỶỸỴ"},
    {'d', "đ"},
    {'D', "Đ"},
};

static char unmarked(uint32_t cp)
{
    for (size_t i = 0; i < sizeof(MARKED) / sizeof(MARKED[0]); i++) {
        const char *f = MARKED[i].forms;
        size_t n = strlen(f);
        while (n > 0) {
            uint32_t c;
            int w = fg_utf8_decode(f, n, &c);
            if (w <= 0)
                break;
            if (c == cp)
                return MARKED[i].base;
            f += w;
            n -= (size_t)w;
        }
    }
    return '?';
}

void fg_reminder_ascii(fg_buf_t *out, const char *s)
{
    size_t n = strlen(s);
    while (n > 0) {
        uint32_t cp;
        int w = fg_utf8_decode(s, n, &cp);
        if (w <= 0) {
            fg_buf_putc(out, '?');
            w = 1;
        } else if (cp < 0x80) {
            fg_buf_putc(out, cp < 0x20 || cp == 0x7f ? ' ' : (char)cp);
        } else if (cp == 0xa0) { /* the no-break space between an amount and its unit */
            fg_buf_putc(out, ' ');
        } else if (cp == 0x20ab) { /* ₫, the dong sign: "d" as SMS write it */
            fg_buf_putc(out, 'd');
        } else {
            fg_buf_putc(out, unmarked(cp));
        }
        s += w;
        n -= (size_t)w;
    }
}

/* ---- pieces of text ------------------------------------------------------------ */

/* An amount as the pages show it (core/money.h): "4.500.000 ₫", "1.234,56 USD". */
static void amount_text(fg_buf_t *b, int64_t amount, const char *currency)
{
    char text[FG_MONEY_DISPLAY_MAX];
    if (fg_money_display(amount, currency, text, sizeof(text)) > 0)
        fg_buf_puts(b, text);
}

static void day_text(fg_buf_t *b, int32_t day)
{
    fg_buf_printf(b, "%02d/%02d/%04d", (int)(day % 100), (int)(day / 100 % 100), (int)(day / 10000));
}

/* A payer's name in a message: as long as the orders' column holds. */
#define NAME_CHARS 200

/* At most max characters of s (whole UTF-8 sequences), "…" when cut, on
 * one line: a control character (a line break a payer name or description
 * may hold) becomes a space, so the body keeps its CRLF lines and no text
 * can end the message early. */
static void clipped(fg_buf_t *b, const char *s, size_t max)
{
    size_t n = strlen(s), chars = 0, i = 0;
    while (i < n && chars < max) {
        uint32_t cp;
        int w = fg_utf8_decode(s + i, n - i, &cp);
        if (w <= 0)
            break;
        if (cp < 0x20 || cp == 0x7f)
            fg_buf_putc(b, ' ');
        else
            fg_buf_append(b, s + i, (size_t)w);
        i += (size_t)w;
        chars++;
    }
    if (i < n)
        fg_buf_puts(b, "…");
}

/* A header's text as an RFC 2047 encoded word when it is not plain ASCII. */
static void header_text(fg_buf_t *b, const char *s)
{
    size_t n = strlen(s);
    int ascii = 1;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] >= 0x80 || (unsigned char)s[i] < 0x20)
            ascii = 0;
    if (ascii) {
        fg_buf_puts(b, s);
        return;
    }
    /* encoded words are at most 75 characters: 45 bytes of text each, cut between sequences */
    size_t i = 0;
    while (i < n) {
        size_t take = 0;
        while (i + take < n) {
            uint32_t cp;
            int w = fg_utf8_decode(s + i + take, n - i - take, &cp);
            if (w <= 0 || take + (size_t)w > 45)
                break;
            take += (size_t)w;
        }
        if (take == 0)
            take = 1;
        unsigned char enc[64];
        int len = EVP_EncodeBlock(enc, (const unsigned char *)s + i, (int)take);
        fg_buf_printf(b, "%s=?UTF-8?B?%.*s?=", i > 0 ? "\r\n " : "", len, (const char *)enc);
        i += take;
    }
}

static void mail_head(fg_buf_t *b, const char *from, const char *to, const char *subject, const char *message_id,
                      int64_t now_ms)
{
    char date[64];
    time_t t = (time_t)(now_ms / 1000) + 7 * 3600;
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S +0700", &tm);
    fg_buf_printf(b, "Date: %s\r\nFrom: %s\r\nTo: %s\r\nMessage-ID: <%s@feegate>\r\nSubject: ", date, from, to,
                  message_id);
    header_text(b, subject);
    fg_buf_puts(b, "\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=UTF-8\r\n"
                   "Content-Transfer-Encoding: 8bit\r\n");
}

/* The bill as a reminder names it: its description, cut, else its reference. */
#define BILL_CHARS 160

/* ---- reminders ------------------------------------------------------------------- */

void fg_reminder_compose_email(const fg_reminder_text_t *t, fg_buf_t *out)
{
    fg_buf_t subject = FG_BUF_INIT, amount = FG_BUF_INIT;
    amount_text(&amount, t->owed, t->currency);
    fg_buf_puts(&subject, t->english ? "Payment reminder: " : "Nhắc nộp tiền: ");
    clipped(&subject, t->bill, 60);
    fg_buf_puts(&subject, " – ");
    clipped(&subject, t->unit, 60);
    mail_head(out, t->from, t->to, subject.data, t->message_id, t->now_ms);
    if (t->opt_out_url != NULL)
        fg_buf_printf(out, "List-Unsubscribe: <%s>\r\nList-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n",
                      t->opt_out_url);
    fg_buf_puts(out, "\r\n");
    if (t->payer_name != NULL) {
        fg_buf_puts(out, t->english ? "Dear " : "Kính gửi ");
        clipped(out, t->payer_name, NAME_CHARS);
        fg_buf_puts(out, ",\r\n\r\n");
    }
    fg_buf_puts(out, t->english ? "A reminder from " : "");
    clipped(out, t->unit, 200);
    fg_buf_puts(out, t->english ? " of a bill still to pay:\r\n\r\n" : " xin nhắc khoản cần nộp:\r\n\r\n");
    fg_buf_puts(out, t->english ? "  Bill:        " : "  Khoản thu:        ");
    clipped(out, t->bill, BILL_CHARS);
    fg_buf_printf(out, t->english ? "\r\n  Still owed:  %s\r\n" : "\r\n  Còn phải nộp:     %s\r\n", amount.data);
    if (t->due_day > 0) {
        fg_buf_puts(out, t->english ? "  Due:         " : "  Hạn nộp:          ");
        day_text(out, t->due_day);
        fg_buf_puts(out, "\r\n");
    }
    fg_buf_printf(out,
                  t->english ? "  Pay code:    %s\r\n\r\nPay here: %s\r\n\r\n"
                             : "  Mã thanh toán:    %s\r\n\r\n"
                               "Nộp tiền tại: %s\r\n\r\n",
                  t->code, t->pay_url);
    fg_buf_puts(out, t->english ? "If you have paid already, please ignore this message.\r\n"
                                : "Nếu quý vị đã nộp, xin bỏ qua thư này.\r\n");
    if (t->opt_out_url != NULL)
        fg_buf_printf(out, t->english ? "No more reminders: %s\r\n" : "Không nhận nhắc nộp tiền nữa: %s\r\n",
                      t->opt_out_url);
    fg_buf_free(&subject);
    fg_buf_free(&amount);
}

void fg_reminder_compose_sms(const fg_reminder_text_t *t, fg_buf_t *out)
{
    fg_buf_t unit = FG_BUF_INIT, bill = FG_BUF_INIT, amount = FG_BUF_INIT, plain = FG_BUF_INIT;
    clipped(&unit, t->unit, 40);
    clipped(&bill, t->bill, 40);
    amount_text(&amount, t->owed, t->currency);
    if (t->english)
        fg_buf_printf(&plain, "%s: please pay %s for %s", unit.data, amount.data, bill.data);
    else
        fg_buf_printf(&plain, "%s: nhắc nộp %s cho %s", unit.data, amount.data, bill.data);
    if (t->due_day > 0) {
        fg_buf_puts(&plain, t->english ? ", due " : ", hạn ");
        day_text(&plain, t->due_day);
    }
    fg_buf_printf(&plain, t->english ? ". Code %s. Pay: %s" : ". Mã %s. Nộp tại %s", t->code, t->pay_url);
    if (t->opt_out_url != NULL)
        fg_buf_printf(&plain, t->english ? " Stop: %s" : " Từ chối: %s", t->opt_out_url);
    fg_reminder_ascii(out, plain.data);
    fg_buf_free(&unit);
    fg_buf_free(&bill);
    fg_buf_free(&amount);
    fg_buf_free(&plain);
}

void fg_reminder_compose_zalo(const fg_reminder_text_t *t, fg_buf_t *out)
{
    fg_buf_t bill = FG_BUF_INIT, due = FG_BUF_INIT, amount = FG_BUF_INIT;
    clipped(&bill, t->bill, 100);
    if (t->due_day > 0)
        day_text(&due, t->due_day);
    amount_text(&amount, t->owed, t->currency);
    fg_buf_putc(out, '{');
    fg_json_kv_str(out, 0, "customer_name", t->payer_name != NULL ? t->payer_name : "");
    fg_json_kv_str(out, 1, "unit_name", t->unit);
    fg_json_kv_str(out, 1, "bill", bill.data);
    fg_json_kv_str(out, 1, "amount", amount.data);
    fg_json_kv_str(out, 1, "due_date", due.data != NULL ? due.data : "");
    fg_json_kv_str(out, 1, "code", t->code);
    fg_json_kv_str(out, 1, "pay_url", t->pay_url);
    fg_json_kv_str(out, 1, "opt_out_url", t->opt_out_url != NULL ? t->opt_out_url : "");
    fg_buf_putc(out, '}');
    fg_buf_free(&bill);
    fg_buf_free(&due);
    fg_buf_free(&amount);
}

/* ---- receipts ------------------------------------------------------------------- */

void fg_reminder_compose_receipt_email(const fg_receipt_mail_t *r, fg_buf_t *out)
{
    fg_buf_t subject = FG_BUF_INIT, amount = FG_BUF_INIT;
    char paid[64];
    time_t t = (time_t)(r->paid_at_ms / 1000) + 7 * 3600;
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(paid, sizeof(paid), "%d/%m/%Y %H:%M (GMT+7)", &tm);
    amount_text(&amount, r->amount, r->currency);
    fg_buf_printf(&subject, "Biên lai số %07lld / Receipt %07lld – ", (long long)r->number, (long long)r->number);
    clipped(&subject, r->unit, 60);
    mail_head(out, r->from, r->to, subject.data, r->message_id, r->now_ms);
    fg_buf_puts(out, "\r\n");
    if (r->payer_name != NULL && r->payer_name[0] != '\0') {
        fg_buf_puts(out, "Kính gửi / Dear ");
        clipped(out, r->payer_name, NAME_CHARS);
        fg_buf_puts(out, ",\r\n\r\n");
    }
    clipped(out, r->unit, 200);
    fg_buf_puts(out, " đã nhận khoản nộp của quý vị. / has received your payment.\r\n\r\n");
    fg_buf_printf(out, "  Biên lai số / Receipt no.:  %07lld\r\n", (long long)r->number);
    fg_buf_printf(out, "  Mẫu số, ký hiệu / Form, serial:  %s, %s\r\n", r->form, r->serial);
    fg_buf_puts(out, "  Khoản thu / Bill:  ");
    clipped(out, r->bill, BILL_CHARS);
    fg_buf_printf(out, "\r\n  Số tiền / Amount:  %s\r\n  Thời gian / Paid at:  %s\r\n\r\n", amount.data, paid);
    fg_buf_printf(out, "Biên lai điện tử có chữ ký số / The signed e-receipt:\r\n%s\r\n", r->receipt_url);
    fg_buf_free(&subject);
    fg_buf_free(&amount);
}
