/*
 * statement.c - the money movements behind the collection account, the
 * gateways' daily settlements and the statement days drawn from them.
 *
 * Every SePay transfer is a line on the account.  VNPay and MoMo payments and
 * refunds are the gateways' transactions: a gateway keeps what it collects
 * and pays the day's transactions out in one batch, net of the fees charged
 * on the payments (PROTOCOLS.md "Gateway settlements").  The batch of a
 * gateway and business day is one line on the account at 23:59:59 GMT+7 of
 * that day (a credit; a debit when refunds exceed the day's net), so a day
 * still under way shows its payouts as they stand.  A statement covers one
 * GMT+7 business day: its opening is the balance at the start of the day and
 * its closing the opening plus the day's lines, unless the statement chaos
 * says otherwise (bs_day_build).
 */
#include "day.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* The payout of a day is booked at its last second (GMT+7). */
#define PAYOUT_SECOND_OF_DAY (24 * 3600 - 1)

typedef struct {
    int64_t at_ms;
    int64_t amount; /* > 0 in, < 0 out */
    int64_t fee;    /* what the gateway keeps of a payment; 0 otherwise */
    bs_gateway_t gateway;
    char date[11]; /* GMT+7 business date */
    char *bank_ref, *end_to_end, *text, *kind, *codes;
} booking_t;

static booking_t *bookings; /* in time order */
static size_t booking_count, booking_cap;
static int64_t account_total; /* the sum of the account's own lines */
static int64_t settled_total; /* the net of the gateway transactions before settled_end */
static size_t settled_end;    /* the bookings before it are of days already paid out */
static bs_fee_t fees[BS_GATEWAY_COUNT];

/* ---- gateways and fees ------------------------------------------------------------ */

static const char *const gateway_names[BS_GATEWAY_COUNT] = {"bank", "vnpay", "momo"};

bs_gateway_t bs_gateway_find(const char *name)
{
    for (int g = BS_GATEWAY_VNPAY; g < BS_GATEWAY_COUNT; g++)
        if (name != NULL && strcmp(name, gateway_names[g]) == 0)
            return (bs_gateway_t)g;
    return BS_GATEWAY_NONE;
}

const char *bs_gateway_name(bs_gateway_t g) { return gateway_names[g]; }

/* "vnpay" and "vnpay.refund" are VNPay's. */
static bs_gateway_t kind_gateway(const char *kind)
{
    char name[16];
    size_t n = strcspn(kind, ".");
    if (n >= sizeof(name))
        return BS_GATEWAY_NONE;
    memcpy(name, kind, n);
    name[n] = '\0';
    return bs_gateway_find(name);
}

void bs_fee_set(bs_gateway_t g, bs_fee_t fee) { fees[g] = fee; }

bs_fee_t bs_fee_get(bs_gateway_t g) { return fees[g]; }

int64_t bs_fee_of(bs_fee_t fee, int64_t amount)
{
    /* amount * bp / 10000 rounded half up, without overflowing int64 */
    int64_t whole = amount / 10000, part = amount % 10000;
    return whole * fee.percent_bp + (part * fee.percent_bp + 5000) / 10000 + fee.fixed;
}

/* Digits of s into *out, at most max; the end of the digits, or NULL. */
static const char *parse_bounded(const char *s, int64_t max, int64_t *out)
{
    int64_t n = 0;
    const char *p = s;
    for (; *p >= '0' && *p <= '9'; p++) {
        n = n * 10 + (*p - '0');
        if (n > max)
            return NULL;
    }
    *out = n;
    return p > s ? p : NULL;
}

int bs_fee_parse(const char *s, bs_gateway_t *g, bs_fee_t *fee)
{
    char name[16];
    size_t n = strcspn(s, ":");
    if (n >= sizeof(name) || s[n] != ':')
        return -1;
    memcpy(name, s, n);
    name[n] = '\0';
    *g = bs_gateway_find(name);
    const char *p = parse_bounded(s + n + 1, BS_FEE_BP_MAX, &fee->percent_bp);
    fee->fixed = 0;
    if (*g == BS_GATEWAY_NONE || p == NULL)
        return -1;
    if (*p == ':')
        p = parse_bounded(p + 1, BS_FEE_FIXED_MAX, &fee->fixed);
    return p != NULL && *p == '\0' ? 0 : -1;
}

/* ---- bookings ------------------------------------------------------------------------ */

int64_t bs_balance(void)
{
    char today[11];
    bs_business_date(bs_now_ms(), today);
    for (; settled_end < booking_count && strcmp(bookings[settled_end].date, today) < 0; settled_end++) {
        const booking_t *bk = &bookings[settled_end];
        if (bk->gateway != BS_GATEWAY_NONE)
            settled_total += bk->amount - bk->fee;
    }
    return bs_config.opening_balance + account_total + settled_total;
}

int64_t bs_book(int64_t at_ms, int64_t amount, const char *bank_ref, const char *end_to_end, const char *text,
                const char *kind, const char *codes)
{
    if (booking_count == booking_cap) {
        booking_cap = booking_cap != 0 ? booking_cap * 2 : 64;
        booking_t *p = realloc(bookings, booking_cap * sizeof(*bookings));
        if (p == NULL) {
            fputs("banksim: out of memory\n", stderr);
            abort();
        }
        bookings = p;
    }
    booking_t *bk = &bookings[booking_count++];
    bk->at_ms = at_ms;
    bk->amount = amount;
    bk->gateway = kind_gateway(kind);
    bk->fee = bk->gateway != BS_GATEWAY_NONE && amount > 0 ? bs_fee_of(fees[bk->gateway], amount) : 0;
    bs_business_date(at_ms, bk->date);
    bk->bank_ref = bs_strdup(bank_ref);
    bk->end_to_end = bs_strdup(end_to_end != NULL && end_to_end[0] != '\0' ? end_to_end : "NOTPROVIDED");
    bk->text = bs_strdup(text != NULL ? text : "");
    bk->kind = bs_strdup(kind);
    bk->codes = codes != NULL && codes[0] != '\0' ? bs_strdup(codes) : NULL;
    if (bk->gateway == BS_GATEWAY_NONE)
        account_total += amount;
    return bs_balance();
}

void bs_bookings_free(void)
{
    for (size_t i = 0; i < booking_count; i++) {
        free(bookings[i].bank_ref);
        free(bookings[i].end_to_end);
        free(bookings[i].text);
        free(bookings[i].kind);
        free(bookings[i].codes);
    }
    free(bookings);
    bookings = NULL;
    booking_count = booking_cap = settled_end = 0;
    account_total = settled_total = 0;
}

/* ---- dates ---------------------------------------------------------------------------- */

int64_t bs_epoch_day(const char *date)
{
    struct tm tm = {0};
    tm.tm_year = atoi(date) - 1900;
    tm.tm_mon = atoi(date + 5) - 1;
    tm.tm_mday = atoi(date + 8);
    return (int64_t)timegm(&tm) / 86400;
}

void bs_day_format(int64_t day, const char *fmt, char *out, size_t cap)
{
    time_t t = (time_t)(day * 86400);
    struct tm tm;
    gmtime_r(&t, &tm);
    if (strftime(out, cap, fmt, &tm) == 0 && cap > 0)
        out[0] = '\0';
}

/* The account's balance at the start of date, and the index range
 * [*first, *end) of the bookings of date.  A gateway transaction of an earlier
 * day counts its net: its day's payout was made. */
static int64_t day_range(const char *date, size_t *first, size_t *end)
{
    int64_t opening = bs_config.opening_balance;
    size_t i = 0;
    for (; i < booking_count && strcmp(bookings[i].date, date) < 0; i++)
        opening += bookings[i].amount - bookings[i].fee;
    *first = i;
    while (i < booking_count && strcmp(bookings[i].date, date) == 0)
        i++;
    *end = i;
    return opening;
}

/* ---- settlements ------------------------------------------------------------------------ */

/* "VNPSTL20260212" / "MOMOSTL20260212": a 16x reference for MT940 too. */
static void batch_ref(bs_gateway_t g, const char *date, char out[24])
{
    snprintf(out, 24, "%sSTL%.4s%.2s%.2s", g == BS_GATEWAY_VNPAY ? "VNP" : "MOMO", date, date + 5, date + 8);
}

/* Appends a CSV field, quoted when it holds a separator, quote or line break. */
static void csv_field(bs_buf_t *b, const char *s)
{
    if (strpbrk(s, ",\"\r\n") == NULL) {
        bs_buf_puts(b, s);
        return;
    }
    bs_buf_putc(b, '"');
    for (; *s != '\0'; s++) {
        if (*s == '"')
            bs_buf_putc(b, '"');
        bs_buf_putc(b, *s);
    }
    bs_buf_putc(b, '"');
}

/* One row of a gateway's settlement as the gateway lists it. */
typedef struct {
    const char *transaction_no, *order_ref;
    int64_t at_ms, amount, fee;
} stl_row_t;

typedef void (*stl_row_fn)(void *arg, const stl_row_t *row);

/* The rows of gateway g's settlement of date, bookings [first, end): its
 * payments and refunds, with the settlement chaos of c (may be NULL). */
static void settlement_rows(bs_gateway_t g, const char *date, size_t first, size_t end, const bs_chaos_t *c,
                            stl_row_fn fn, void *arg)
{
    int chaos = c != NULL && (c->settlement_gateway == BS_GATEWAY_NONE || c->settlement_gateway == (int)g);
    int wrong_row = c != NULL && c->settlement_wrong_amount_row > 0 ? c->settlement_wrong_amount_row : 1;
    int payments = 0;
    for (size_t i = first; i < end; i++) {
        const booking_t *bk = &bookings[i];
        if (bk->gateway != g)
            continue;
        stl_row_t row = {bk->bank_ref, bk->end_to_end, bk->at_ms, bk->amount, bk->fee};
        if (bk->amount > 0 && chaos) {
            payments++;
            if (payments == c->settlement_missing_row)
                continue;
            if (c->settlement_wrong_amount != 0 && payments == wrong_row) {
                row.amount += c->settlement_wrong_amount;
                if (row.amount < 1)
                    row.amount = 1;                       /* a payment stays a payment */
                row.fee = bs_fee_of(fees[g], row.amount); /* the gateway's fee of its own figure */
            }
        }
        fn(arg, &row);
    }
    if (chaos && c->settlement_unknown_row > 0) {
        /* a number banksim never hands out (bs_next_id's are 10 digits) */
        char no[24], ref[40];
        snprintf(no, sizeof(no), "99%.4s%.2s%.2s01", date, date + 5, date + 8);
        snprintf(ref, sizeof(ref), "UNKNOWN-%.4s%.2s%.2s", date, date + 5, date + 8);
        stl_row_t row = {no, ref, (bs_epoch_day(date) * 86400 + 12 * 3600 - BS_TZ_OFFSET_S) * 1000,
                         c->settlement_unknown_row, bs_fee_of(fees[g], c->settlement_unknown_row)};
        fn(arg, &row);
    }
}

typedef struct {
    bs_buf_t *b;
    const char *ref;
} csv_rows_t;

static void csv_row(void *arg, const stl_row_t *row)
{
    csv_rows_t *r = arg;
    char at[24];
    bs_format_gmt7(row->at_ms, "%Y-%m-%d %H:%M:%S", at, sizeof(at));
    bs_buf_printf(r->b, "%s,", r->ref);
    csv_field(r->b, row->transaction_no);
    bs_buf_putc(r->b, ',');
    csv_field(r->b, row->order_ref);
    bs_buf_printf(r->b, ",%s,%s,%lld,%lld,%lld\r\n", at, row->amount > 0 ? "payment" : "refund", (long long)row->amount,
                  (long long)row->fee, (long long)(row->amount - row->fee));
}

void bs_settlement_render(bs_buf_t *b, const char *date, bs_gateway_t g, const bs_chaos_t *c)
{
    size_t first, end;
    day_range(date, &first, &end);
    char ref[24];
    batch_ref(g, date, ref);
    bs_buf_puts(b, "batch_ref,transaction_no,order_ref,transaction_time,type,amount,fee,net\r\n");
    csv_rows_t r = {b, ref};
    settlement_rows(g, date, first, end, c, csv_row, &r);
}

/* ---- statement days ----------------------------------------------------------------------- */

static void line_free(bs_line_t *l)
{
    free(l->bank_ref);
    free(l->end_to_end);
    free(l->text);
    free(l->codes);
}

void bs_day_free(bs_day_t *day)
{
    for (size_t i = 0; i < day->count; i++)
        line_free(&day->lines[i]);
    free(day->lines);
    day->lines = NULL;
    day->count = day->cap = 0;
}

/* Makes room for one more line at position at; returns it. */
static bs_line_t *line_insert(bs_day_t *day, size_t at)
{
    if (day->count == day->cap) {
        day->cap = day->cap != 0 ? day->cap * 2 : 16;
        bs_line_t *p = realloc(day->lines, day->cap * sizeof(*p));
        if (p == NULL) {
            fputs("banksim: out of memory\n", stderr);
            abort();
        }
        day->lines = p;
    }
    memmove(&day->lines[at + 1], &day->lines[at], (day->count - at) * sizeof(*day->lines));
    day->count++;
    memset(&day->lines[at], 0, sizeof(*day->lines));
    return &day->lines[at];
}

static void add_booking(bs_day_t *day, const booking_t *bk)
{
    bs_line_t *l = line_insert(day, day->count);
    l->at_ms = bk->at_ms;
    l->amount = bk->amount;
    memcpy(l->date, bk->date, sizeof(l->date));
    l->bank_ref = bs_strdup(bk->bank_ref);
    l->end_to_end = bs_strdup(bk->end_to_end);
    l->text = bs_strdup(bk->text);
    l->codes = bk->codes != NULL ? bs_strdup(bk->codes) : NULL;
    l->incoming = bk->amount > 0;
}

typedef struct {
    int64_t net, count;
} payout_sum_t;

static void sum_row(void *arg, const stl_row_t *row)
{
    payout_sum_t *p = arg;
    p->net += row->amount - row->fee;
    p->count++;
}

/* The payout lines of date: one per gateway whose settlement of the
 * transactions [first, end) of the day (as its file lists them, chaos c
 * applied; may be NULL) does not net to zero. */
static void add_payouts(bs_day_t *day, const char *date, size_t first, size_t end, const bs_chaos_t *c)
{
    for (int g = BS_GATEWAY_VNPAY; g < BS_GATEWAY_COUNT; g++) {
        payout_sum_t sum = {0, 0};
        settlement_rows((bs_gateway_t)g, date, first, end, c, sum_row, &sum);
        int64_t net = sum.net, count = sum.count;
        if (net == 0)
            continue;
        char ref[24], shown[11];
        batch_ref((bs_gateway_t)g, date, ref);
        bs_day_format(bs_epoch_day(date), "%d/%m/%Y", shown, sizeof(shown));
        bs_line_t *l = line_insert(day, day->count);
        l->at_ms = (bs_epoch_day(date) * 86400 + PAYOUT_SECOND_OF_DAY - BS_TZ_OFFSET_S) * 1000;
        l->amount = net;
        memcpy(l->date, date, sizeof(l->date));
        l->bank_ref = bs_strdup(ref);
        l->end_to_end = bs_strdup(ref);
        bs_buf_t text = BS_BUF_INIT;
        bs_buf_printf(&text, "%s SETTLEMENT BATCH %s %s %s %lld TXN", g == BS_GATEWAY_VNPAY ? "VNPAY" : "MOMO", ref,
                      g == BS_GATEWAY_VNPAY ? bs_config.vnpay_tmn_code : bs_config.momo_partner_code, shown,
                      (long long)count);
        l->text = bs_buf_take(&text);
    }
}

/* The lines of the day of bookings [first, end): its own lines, then payouts
 * (with the settlement chaos of c, which may be NULL). */
static void add_day(bs_day_t *day, size_t first, size_t end, const bs_chaos_t *c)
{
    for (size_t i = first; i < end; i++)
        if (bookings[i].gateway == BS_GATEWAY_NONE)
            add_booking(day, &bookings[i]);
    if (end > first)
        add_payouts(day, bookings[first].date, first, end, c);
}

/* The last n lines before the bookings from first on, oldest first, into day
 * (empty): the days before are walked back until n lines are found. */
static void add_overlap(bs_day_t *day, size_t first, size_t n)
{
    size_t end = first;
    while (day->count < n && end > 0) {
        size_t start = end - 1;
        while (start > 0 && strcmp(bookings[start - 1].date, bookings[end - 1].date) == 0)
            start--;
        bs_day_t earlier = {0};
        add_day(&earlier, start, end, NULL); /* the settlement chaos concerns the day rendered */
        size_t take = earlier.count < n - day->count ? earlier.count : n - day->count;
        for (size_t i = 0; i < take; i++) {
            /* the earlier day's last lines go in front, in their order */
            *line_insert(day, i) = earlier.lines[earlier.count - take + i];
        }
        earlier.count -= take;
        bs_day_free(&earlier);
        end = start;
    }
}

/* The index of 1-based position n among count lines (past the end: the last). */
static size_t position(int n, size_t count) { return (size_t)n < count ? (size_t)n - 1 : count - 1; }

/* statement_wrong_amount: the line's amount moves by delta (staying at least 1
 * VND), and the balances after it with it, so the file still balances. */
static void wrong_amount(bs_day_t *day, int n, int64_t delta)
{
    bs_line_t *l = &day->lines[position(n, day->count)];
    int64_t sign = l->amount < 0 ? -1 : 1, shown = sign * l->amount + delta;
    if (shown < 1)
        shown = 1;
    int64_t change = sign * shown - l->amount;
    l->amount = sign * shown;
    for (bs_line_t *p = l; p < day->lines + day->count; p++)
        p->balance += change;
    day->closing += change;
}

/* The balances from line i on, and the closing, move by change. */
static void balances_follow(bs_day_t *day, size_t i, int64_t change)
{
    for (; i < day->count; i++)
        day->lines[i].balance += change;
    day->closing += change;
}

static void duplicate_line(bs_day_t *day, int n, int balanced)
{
    size_t i = position(n, day->count);
    bs_line_t *copy = line_insert(day, i + 1), *l = &day->lines[i];
    *copy = *l;
    copy->bank_ref = bs_strdup(l->bank_ref);
    copy->end_to_end = bs_strdup(l->end_to_end);
    copy->text = bs_strdup(l->text);
    copy->codes = l->codes != NULL ? bs_strdup(l->codes) : NULL;
    if (balanced)
        balances_follow(day, i + 1, copy->amount);
}

static void missing_line(bs_day_t *day, int n, int balanced)
{
    size_t i = position(n, day->count);
    int64_t amount = day->lines[i].amount;
    line_free(&day->lines[i]);
    memmove(&day->lines[i], &day->lines[i + 1], (day->count - i - 1) * sizeof(*day->lines));
    day->count--;
    if (balanced)
        balances_follow(day, i, -amount);
}

/* The statement chaos, in this order: overlap (done by the caller), wrong
 * amount, missing line, duplicate line, rewritten memos.  A missing or
 * duplicated line keeps the bank's closing and every other line's balance:
 * that file does not balance; unless statement_balanced, when the bank's
 * own books show it (a transfer that never arrived, one booked twice). */
static void apply_chaos(bs_day_t *day, const bs_chaos_t *c)
{
    if (c->statement_wrong_amount != 0 && day->count > 0)
        wrong_amount(day, c->statement_wrong_amount_line > 0 ? c->statement_wrong_amount_line : 1,
                     c->statement_wrong_amount);
    if (c->statement_missing_line > 0 && day->count > 0)
        missing_line(day, c->statement_missing_line, c->statement_balanced);
    if (c->statement_duplicate_line > 0 && day->count > 0)
        duplicate_line(day, c->statement_duplicate_line, c->statement_balanced);
    if (c->statement_rewrite) {
        for (size_t i = 0; i < day->count; i++) {
            char *text = bs_memo_rewrite(&day->lines[i], bs_config.vietqr_account_no);
            free(day->lines[i].text);
            day->lines[i].text = text;
        }
    }
}

void bs_day_build(bs_day_t *day, const char *date, const bs_chaos_t *c)
{
    size_t first, end;
    int64_t balance = day_range(date, &first, &end);
    memcpy(day->date, date, sizeof(day->date));
    if (c->statement_overlap > 0)
        add_overlap(day, first, (size_t)c->statement_overlap);
    for (size_t i = 0; i < day->count; i++)
        balance -= day->lines[i].amount; /* the opening moves back over the repeated lines */
    day->opening = balance;
    add_day(day, first, end, c);
    for (size_t i = 0; i < day->count; i++) {
        balance += day->lines[i].amount;
        day->lines[i].balance = balance;
    }
    day->closing = balance;
    memcpy(day->from_date, day->count > 0 && strcmp(day->lines[0].date, date) < 0 ? day->lines[0].date : date,
           sizeof(day->from_date));
    apply_chaos(day, c);
}

/* ---- formats ---------------------------------------------------------------------------------- */

int bs_format_find(const char *format, const char *per, bs_format_t *out)
{
    int per_credit = per != NULL && strcmp(per, "credit") == 0;
    if (per != NULL && !per_credit && strcmp(per, "day") != 0)
        return -1;
    if (strcmp(format, "camt053") == 0)
        *out = BS_FORMAT_CAMT053;
    else if (strcmp(format, "camt054") == 0)
        *out = per_credit ? BS_FORMAT_CAMT054_CREDITS : BS_FORMAT_CAMT054;
    else if (strcmp(format, "mt940") == 0)
        *out = BS_FORMAT_MT940;
    else if (strcmp(format, "csv-vn") == 0)
        *out = BS_FORMAT_CSV_VN;
    else
        return -1;
    return 0;
}

const char *bs_format_type(bs_format_t f)
{
    switch (f) {
    case BS_FORMAT_MT940: return BS_TEXT_TYPE;
    case BS_FORMAT_CSV_VN: return BS_CSV_TYPE;
    default: return BS_XML_TYPE;
    }
}

void bs_statement_render(bs_buf_t *b, const char *date, bs_format_t f, const bs_chaos_t *c)
{
    bs_day_t day = {0};
    bs_day_build(&day, date, c);
    switch (f) {
    case BS_FORMAT_CAMT053: bs_render_camt053(b, &day); break;
    case BS_FORMAT_CAMT054: bs_render_camt054(b, &day, 0); break;
    case BS_FORMAT_CAMT054_CREDITS: bs_render_camt054(b, &day, 1); break;
    case BS_FORMAT_MT940: bs_render_mt940(b, &day); break;
    case BS_FORMAT_CSV_VN: bs_render_csv_vn(b, &day); break;
    }
    bs_day_free(&day);
}
