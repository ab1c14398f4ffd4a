/*
 * words.c - an amount in Vietnamese words, as a receipt's TgTTTBChu writes
 * it: 4,500,000 VND is "Bốn triệu năm trăm nghìn đồng".
 *
 * The number is read in groups of three digits under nghìn (10^3), triệu
 * (10^6) and tỷ (10^9); what stands above a tỷ is read again the same way
 * ("một nghìn tỷ", "một triệu tỷ").  Within a group that follows a higher
 * group, an empty hundreds place is read "không trăm" and an empty tens
 * place before a unit "linh" (1,005,000: "một triệu không trăm linh năm
 * nghìn"); a group that is all zeros is left out.  After "mươi" a 1 is
 * "mốt" and a 5 "lăm"; after "mười" a 5 is "lăm".
 */
#include "receipts/receipts.h"

#include <stdio.h>
#include <string.h>
#include "core/money.h"

static const char *const DIGITS[10] = {"không", "một", "hai", "ba", "bốn", "năm", "sáu", "bảy", "tám", "chín"};

static void word(fg_buf_t *out, const char *w)
{
    if (out->len > 0)
        fg_buf_putc(out, ' ');
    fg_buf_puts(out, w);
}

/* One group of three digits, 1..999; full: a higher group was read before. */
static void triple(fg_buf_t *out, int g, int full)
{
    int h = g / 100, t = g / 10 % 10, u = g % 10;
    if (full || h > 0) {
        word(out, DIGITS[h]);
        word(out, "trăm");
    }
    if (t == 0) {
        if (u > 0 && (full || h > 0))
            word(out, "linh");
        if (u > 0)
            word(out, DIGITS[u]);
    } else if (t == 1) {
        word(out, "mười");
        if (u > 0)
            word(out, u == 5 ? "lăm" : DIGITS[u]);
    } else {
        word(out, DIGITS[t]);
        word(out, "mươi");
        if (u > 0)
            word(out, u == 1 ? "mốt" : u == 5 ? "lăm" : DIGITS[u]);
    }
}

/* n in 1..999,999,999; full as for triple. */
static void below_billion(fg_buf_t *out, int64_t n, int full)
{
    static const char *const UNITS[3] = {"triệu", "nghìn", NULL};
    const int64_t scale[3] = {1000000, 1000, 1};
    for (int i = 0; i < 3; i++) {
        int g = (int)(n / scale[i] % 1000);
        if (g == 0)
            continue;
        triple(out, g, full);
        if (UNITS[i] != NULL)
            word(out, UNITS[i]);
        full = 1;
    }
}

/* n >= 1. */
static void number(fg_buf_t *out, int64_t n, int full)
{
    if (n >= 1000000000) {
        number(out, n / 1000000000, full);
        word(out, "tỷ");
        if (n % 1000000000 != 0)
            below_billion(out, n % 1000000000, 1);
    } else {
        below_billion(out, n, full);
    }
}

void fg_receipt_number_words(fg_buf_t *out, int64_t n)
{
    fg_buf_t w = FG_BUF_INIT;
    if (n == 0)
        fg_buf_puts(&w, DIGITS[0]);
    else
        number(&w, n, 0);
    fg_buf_append(out, w.data, w.len);
    fg_buf_free(&w);
}

int fg_receipt_amount_words(int64_t amount, const char *currency, fg_buf_t *out)
{
    if (amount < -FG_RECEIPT_AMOUNT_MAX || amount > FG_RECEIPT_AMOUNT_MAX || currency == NULL)
        return FG_ERANGE;
    const fg_currency_t *c = fg_currency_find(currency, strlen(currency));
    if (c == NULL)
        return FG_ERANGE;
    int64_t scale = 1;
    for (int i = 0; i < c->exponent; i++)
        scale *= 10;
    int64_t magnitude = amount < 0 ? -amount : amount;
    fg_buf_t w = FG_BUF_INIT;
    if (amount < 0)
        fg_buf_puts(&w, "âm"); /* an adjustment gives money back */
    int64_t major = magnitude / scale, minor = magnitude % scale;
    if (major == 0)
        word(&w, DIGITS[0]);
    else
        number(&w, major, 0);
    if (strcmp(c->code, "VND") == 0) {
        word(&w, "đồng");
    } else {
        /* a fee in another currency: its code, and the minor units as a fraction */
        word(&w, c->code);
        if (minor > 0) {
            word(&w, "và");
            number(&w, minor, 0);
            fg_buf_printf(&w, " phần %lld", (long long)scale);
        }
    }
    /* the first letter upper case: every first word starts with an ASCII letter */
    if (w.len > 0 && w.data[0] >= 'a' && w.data[0] <= 'z')
        w.data[0] = (char)(w.data[0] - 'a' + 'A');
    else if (w.len >= 2 && (unsigned char)w.data[0] == 0xC3 && (unsigned char)w.data[1] == 0xA2)
        w.data[1] = (char)0x82; /* â -> Â */
    fg_buf_append(out, w.data, w.len);
    fg_buf_free(&w);
    return 0;
}
