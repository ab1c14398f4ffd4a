/*
 * fee.c - fee schedules: parsing the text form and the fee of one
 * transaction, in integers with overflow checks (no floating point).
 */
#include "core/fee.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include "core/money.h"

/* One million: the percentage's denominator in parts per million. */
#define PPM_ONE 1000000
/* A percent's integer part has at most three digits (100). */
#define PERCENT_DIGITS_MAX 3
/* A fixed amount, minimum or maximum has at most 16 digits (FG_AMOUNT_MAX
 * is 10^15). */
#define AMOUNT_DIGITS_MAX 16

_Static_assert(FG_FEE_PPM_MAX == PPM_ONE, "100 % is one million parts per million");

typedef struct {
    const char *p, *end;
} cursor_t;

static bool is_digit(char c) { return c >= '0' && c <= '9'; }

static void skip_blanks(cursor_t *c)
{
    while (c->p < c->end && (*c->p == ' ' || *c->p == '\t'))
        c->p++;
}

/* At most max_digits digits into *out; false when there are none or more. */
static bool digits(cursor_t *c, int max_digits, int64_t *out, int *count)
{
    int64_t v = 0;
    int n = 0;
    while (c->p < c->end && is_digit(*c->p)) {
        if (++n > max_digits)
            return false;
        v = v * 10 + (*c->p++ - '0');
    }
    *out = v;
    if (count != NULL)
        *count = n;
    return n > 0;
}

/* An amount of minor units, 0..FG_AMOUNT_MAX. */
static bool amount(cursor_t *c, int64_t *out)
{
    return digits(c, AMOUNT_DIGITS_MAX, out, NULL) && *out <= FG_AMOUNT_MAX;
}

/* A term: "P[.DDDD]%" into *ppm, or a fixed amount into *fixed. */
static bool term(cursor_t *c, int64_t *ppm, bool *has_ppm, int64_t *fixed, bool *has_fixed)
{
    const char *start = c->p;
    int64_t whole = 0, fraction = 0;
    int fraction_digits = 0;
    if (!digits(c, AMOUNT_DIGITS_MAX, &whole, NULL))
        return false;
    bool percent = c->p < c->end && (*c->p == '.' || *c->p == '%');
    if (!percent) {
        if (*has_fixed || whole > FG_AMOUNT_MAX)
            return false;
        *fixed = whole;
        *has_fixed = true;
        return true;
    }
    if (*has_ppm || c->p - start > PERCENT_DIGITS_MAX)
        return false;
    if (*c->p == '.') {
        c->p++;
        if (!digits(c, FG_FEE_PERCENT_DECIMALS_MAX, &fraction, &fraction_digits))
            return false;
        for (int i = fraction_digits; i < FG_FEE_PERCENT_DECIMALS_MAX; i++)
            fraction *= 10;
    }
    if (c->p == c->end || *c->p != '%')
        return false;
    c->p++;
    /* whole % = whole * 10,000 ppm; one decimal of the fourth place = 1 ppm */
    int64_t v = whole * 10000 + fraction;
    if (v > FG_FEE_PPM_MAX)
        return false;
    *ppm = v;
    *has_ppm = true;
    return true;
}

static bool word(cursor_t *c, const char *w)
{
    size_t n = strlen(w);
    if ((size_t)(c->end - c->p) < n || memcmp(c->p, w, n) != 0)
        return false;
    c->p += n;
    return true;
}

/* One option after a ','; seen marks those already given. */
static bool option(cursor_t *c, fg_fee_schedule_t *s, unsigned *seen)
{
    enum { MIN = 1, MAX = 2, ROUND = 4 };
    if (word(c, "min=")) {
        if ((*seen & MIN) != 0 || !amount(c, &s->min))
            return false;
        *seen |= MIN;
        return true;
    }
    if (word(c, "max=")) {
        if ((*seen & MAX) != 0 || !amount(c, &s->max) || s->max == 0)
            return false;
        *seen |= MAX;
        return true;
    }
    if (!word(c, "round=") || (*seen & ROUND) != 0)
        return false;
    *seen |= ROUND;
    if (word(c, "half_up"))
        s->rounding = FG_FEE_ROUND_HALF_UP;
    else if (word(c, "up"))
        s->rounding = FG_FEE_ROUND_UP;
    else if (word(c, "down"))
        s->rounding = FG_FEE_ROUND_DOWN;
    else
        return false;
    return true;
}

static bool parse(cursor_t *c, fg_fee_schedule_t *s)
{
    bool has_ppm = false, has_fixed = false;
    unsigned seen = 0;
    skip_blanks(c);
    if (!term(c, &s->percent_ppm, &has_ppm, &s->fixed, &has_fixed))
        return false;
    skip_blanks(c);
    if (c->p < c->end && *c->p == '+') {
        c->p++;
        skip_blanks(c);
        if (!term(c, &s->percent_ppm, &has_ppm, &s->fixed, &has_fixed))
            return false;
        skip_blanks(c);
    }
    while (c->p < c->end && *c->p == ',') {
        c->p++;
        skip_blanks(c);
        if (!option(c, s, &seen))
            return false;
        skip_blanks(c);
    }
    return c->p == c->end && (s->max == 0 || s->min <= s->max);
}

int fg_fee_parse(const char *text, size_t len, fg_fee_schedule_t *out)
{
    memset(out, 0, sizeof(*out));
    if (text == NULL || len == 0 || len > FG_FEE_TEXT_MAX)
        return FG_EINVALID;
    cursor_t c = {text, text + len};
    fg_fee_schedule_t s = {0};
    s.rounding = FG_FEE_ROUND_HALF_UP;
    if (!parse(&c, &s))
        return FG_EINVALID;
    *out = s;
    return 0;
}

int fg_fee_of(const fg_fee_schedule_t *s, int64_t amount_minor, int64_t *fee)
{
    if (amount_minor < 0)
        return FG_EINVALID;
    /* amount * ppm / 10^6 without overflowing int64: split the amount at
     * 10^6, so the remainder's product stays below 10^12 */
    int64_t whole = amount_minor / PPM_ONE, rest = amount_minor % PPM_ONE, pct, part, remainder, v;
    if (fg_money_mul(whole, s->percent_ppm, &pct) != 0)
        return FG_EOVERFLOW;
    part = rest * s->percent_ppm / PPM_ONE;
    remainder = rest * s->percent_ppm % PPM_ONE;
    if ((s->rounding == FG_FEE_ROUND_HALF_UP && remainder * 2 >= PPM_ONE) ||
        (s->rounding == FG_FEE_ROUND_UP && remainder > 0))
        part++;
    if (fg_money_add(pct, part, &v) != 0 || fg_money_add(v, s->fixed, &v) != 0)
        return FG_EOVERFLOW;
    if (v < s->min)
        v = s->min;
    if (s->max > 0 && v > s->max)
        v = s->max;
    *fee = v;
    return 0;
}

int fg_fee_format(const fg_fee_schedule_t *s, char *buf, size_t cap)
{
    static const char *const ROUNDING[] = {"half_up", "up", "down"};
    char percent[48] = "", fixed[32] = "", min[32] = "", max[32] = "", round[24] = "";
    int64_t fraction = s->percent_ppm % 10000;
    if (s->percent_ppm > 0 || s->fixed == 0) {
        /* the fraction's trailing zeros dropped: 1.1%, not 1.1000% */
        int width = FG_FEE_PERCENT_DECIMALS_MAX;
        while (width > 0 && fraction % 10 == 0 && fraction != 0) {
            fraction /= 10;
            width--;
        }
        if (fraction == 0)
            snprintf(percent, sizeof(percent), "%lld%%", (long long)(s->percent_ppm / 10000));
        else
            snprintf(percent, sizeof(percent), "%lld.%0*lld%%", (long long)(s->percent_ppm / 10000), width,
                     (long long)fraction);
    }
    if (s->fixed > 0)
        snprintf(fixed, sizeof(fixed), "%s%lld", percent[0] != '\0' ? "+" : "", (long long)s->fixed);
    if (s->min > 0)
        snprintf(min, sizeof(min), ",min=%lld", (long long)s->min);
    if (s->max > 0)
        snprintf(max, sizeof(max), ",max=%lld", (long long)s->max);
    if (s->rounding != FG_FEE_ROUND_HALF_UP && (unsigned)s->rounding < 3)
        snprintf(round, sizeof(round), ",round=%s", ROUNDING[s->rounding]);
    int n = snprintf(buf, cap, "%s%s%s%s%s", percent, fixed, min, max, round);
    return n < 0 || (size_t)n >= cap ? FG_ETOOLONG : n;
}
