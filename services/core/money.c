/*
 * money.c - ISO 4217 currencies and overflow-checked int64 minor-unit
 * arithmetic, parsing and formatting.  No floating point.
 */
#include "core/money.h"

#include <assert.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

/* The largest exponent fg_money_parse/format accept: 10^18 is the largest
 * power of ten in int64, and no currency has more than 4 minor-unit digits. */
#define EXPONENT_MAX 18

/* ---- currencies ---------------------------------------------------------- */

/* Active ISO 4217 currencies (list one, funds and precious metals left out),
 * sorted by alphabetic code. */
static const fg_currency_t currencies[] = {
    {"AED", 784, 2}, {"AFN", 971, 2}, {"ALL", 8, 2},   {"AMD", 51, 2},  {"AOA", 973, 2}, {"ARS", 32, 2},
    {"AUD", 36, 2},  {"AWG", 533, 2}, {"AZN", 944, 2}, {"BAM", 977, 2}, {"BBD", 52, 2},  {"BDT", 50, 2},
    {"BGN", 975, 2}, {"BHD", 48, 3},  {"BIF", 108, 0}, {"BMD", 60, 2},  {"BND", 96, 2},  {"BOB", 68, 2},
    {"BRL", 986, 2}, {"BSD", 44, 2},  {"BTN", 64, 2},  {"BWP", 72, 2},  {"BYN", 933, 2}, {"BZD", 84, 2},
    {"CAD", 124, 2}, {"CDF", 976, 2}, {"CHF", 756, 2}, {"CLP", 152, 0}, {"CNY", 156, 2}, {"COP", 170, 2},
    {"CRC", 188, 2}, {"CUP", 192, 2}, {"CVE", 132, 2}, {"CZK", 203, 2}, {"DJF", 262, 0}, {"DKK", 208, 2},
    {"DOP", 214, 2}, {"DZD", 12, 2},  {"EGP", 818, 2}, {"ERN", 232, 2}, {"ETB", 230, 2}, {"EUR", 978, 2},
    {"FJD", 242, 2}, {"FKP", 238, 2}, {"GBP", 826, 2}, {"GEL", 981, 2}, {"GHS", 936, 2}, {"GIP", 292, 2},
    {"GMD", 270, 2}, {"GNF", 324, 0}, {"GTQ", 320, 2}, {"GYD", 328, 2}, {"HKD", 344, 2}, {"HNL", 340, 2},
    {"HTG", 332, 2}, {"HUF", 348, 2}, {"IDR", 360, 2}, {"ILS", 376, 2}, {"INR", 356, 2}, {"IQD", 368, 3},
    {"IRR", 364, 2}, {"ISK", 352, 0}, {"JMD", 388, 2}, {"JOD", 400, 3}, {"JPY", 392, 0}, {"KES", 404, 2},
    {"KGS", 417, 2}, {"KHR", 116, 2}, {"KMF", 174, 0}, {"KPW", 408, 2}, {"KRW", 410, 0}, {"KWD", 414, 3},
    {"KYD", 136, 2}, {"KZT", 398, 2}, {"LAK", 418, 2}, {"LBP", 422, 2}, {"LKR", 144, 2}, {"LRD", 430, 2},
    {"LSL", 426, 2}, {"LYD", 434, 3}, {"MAD", 504, 2}, {"MDL", 498, 2}, {"MGA", 969, 2}, {"MKD", 807, 2},
    {"MMK", 104, 2}, {"MNT", 496, 2}, {"MOP", 446, 2}, {"MRU", 929, 2}, {"MUR", 480, 2}, {"MVR", 462, 2},
    {"MWK", 454, 2}, {"MXN", 484, 2}, {"MYR", 458, 2}, {"MZN", 943, 2}, {"NAD", 516, 2}, {"NGN", 566, 2},
    {"NIO", 558, 2}, {"NOK", 578, 2}, {"NPR", 524, 2}, {"NZD", 554, 2}, {"OMR", 512, 3}, {"PAB", 590, 2},
    {"PEN", 604, 2}, {"PGK", 598, 2}, {"PHP", 608, 2}, {"PKR", 586, 2}, {"PLN", 985, 2}, {"PYG", 600, 0},
    {"QAR", 634, 2}, {"RON", 946, 2}, {"RSD", 941, 2}, {"RUB", 643, 2}, {"RWF", 646, 0}, {"SAR", 682, 2},
    {"SBD", 90, 2},  {"SCR", 690, 2}, {"SDG", 938, 2}, {"SEK", 752, 2}, {"SGD", 702, 2}, {"SHP", 654, 2},
    {"SLE", 925, 2}, {"SOS", 706, 2}, {"SRD", 968, 2}, {"SSP", 728, 2}, {"STN", 930, 2}, {"SYP", 760, 2},
    {"SZL", 748, 2}, {"THB", 764, 2}, {"TJS", 972, 2}, {"TMT", 934, 2}, {"TND", 788, 3}, {"TOP", 776, 2},
    {"TRY", 949, 2}, {"TTD", 780, 2}, {"TWD", 901, 2}, {"TZS", 834, 2}, {"UAH", 980, 2}, {"UGX", 800, 0},
    {"USD", 840, 2}, {"UYU", 858, 2}, {"UZS", 860, 2}, {"VES", 928, 2}, {"VND", 704, 0}, {"VUV", 548, 0},
    {"WST", 882, 2}, {"XAF", 950, 0}, {"XCD", 951, 2}, {"XOF", 952, 0}, {"XPF", 953, 0}, {"YER", 886, 2},
    {"ZAR", 710, 2}, {"ZMW", 967, 2}, {"ZWG", 924, 2},
};

#define CURRENCY_COUNT (sizeof(currencies) / sizeof(currencies[0]))

const fg_currency_t *fg_currency_find(const char *code, size_t len)
{
    assert(code != NULL || len == 0);
    if (len != 3)
        return NULL;
    for (size_t i = 0; i < CURRENCY_COUNT; i++) {
        if (memcmp(currencies[i].code, code, 3) == 0)
            return &currencies[i];
    }
    return NULL;
}

/* ---- arithmetic ---------------------------------------------------------- */

int fg_amount_valid(int64_t amount) { return amount >= FG_AMOUNT_MIN && amount <= FG_AMOUNT_MAX; }

int fg_money_add(int64_t a, int64_t b, int64_t *out)
{
    int64_t r;
    if (__builtin_add_overflow(a, b, &r))
        return FG_EOVERFLOW;
    *out = r;
    return 0;
}

int fg_money_sub(int64_t a, int64_t b, int64_t *out)
{
    int64_t r;
    if (__builtin_sub_overflow(a, b, &r))
        return FG_EOVERFLOW;
    *out = r;
    return 0;
}

int fg_money_mul(int64_t a, int64_t b, int64_t *out)
{
    int64_t r;
    if (__builtin_mul_overflow(a, b, &r))
        return FG_EOVERFLOW;
    *out = r;
    return 0;
}

/* ---- parsing and formatting ---------------------------------------------- */

static bool is_digit(char c) { return c >= '0' && c <= '9'; }

/* Appends one decimal digit to a magnitude; false on uint64 overflow. */
static bool push_digit(uint64_t *magnitude, char digit)
{
    return !__builtin_mul_overflow(*magnitude, 10u, magnitude) &&
           !__builtin_add_overflow(*magnitude, (uint64_t)(digit - '0'), magnitude);
}

/* Turns a sign and magnitude into int64 (INT64_MIN included). */
static int apply_sign(bool negative, uint64_t magnitude, int64_t *out)
{
    if (!negative) {
        if (magnitude > (uint64_t)INT64_MAX)
            return FG_EOVERFLOW;
        *out = (int64_t)magnitude;
        return 0;
    }
    if (magnitude > (uint64_t)INT64_MAX + 1u)
        return FG_EOVERFLOW;
    *out = magnitude == 0 ? 0 : -(int64_t)(magnitude - 1u) - 1;
    return 0;
}

int fg_money_parse(const char *text, size_t len, int exponent, int decimal_comma, int64_t *out)
{
    assert(text != NULL || len == 0);
    assert(exponent >= 0 && exponent <= EXPONENT_MAX);
    const char mark = decimal_comma ? ',' : '.';
    size_t i = 0;
    bool negative = false;
    if (i < len && (text[i] == '-' || text[i] == '+'))
        negative = text[i++] == '-';

    uint64_t magnitude = 0;
    bool overflow = false;
    size_t int_digits = 0;
    for (; i < len && is_digit(text[i]); i++, int_digits++)
        overflow = overflow || !push_digit(&magnitude, text[i]);
    if (int_digits == 0)
        return FG_EINVALID;

    int frac_digits = 0;
    if (i < len && text[i] == mark) {
        i++;
        size_t start = i;
        for (; i < len && is_digit(text[i]); i++) {
            if (frac_digits < exponent) {
                overflow = overflow || !push_digit(&magnitude, text[i]);
                frac_digits++;
            } else if (text[i] != '0') {
                return FG_EINVALID; /* a fraction of the minor unit */
            }
        }
        if (i == start)
            return FG_EINVALID; /* "12." */
        if (exponent == 0 && i - start == 3)
            return FG_EINVALID; /* "250.000": a thousands group, not three decimals */
    }
    if (i != len)
        return FG_EINVALID;
    for (; frac_digits < exponent; frac_digits++)
        overflow = overflow || !push_digit(&magnitude, '0');
    if (overflow)
        return FG_EOVERFLOW;
    return apply_sign(negative, magnitude, out);
}

/* amount in major units: the point written as point, and when group is not
 * NUL, group between each three whole digits. */
static int format_with(int64_t amount, int exponent, char point, char group, char *buf, size_t cap)
{
    assert(exponent >= 0 && exponent <= EXPONENT_MAX);
    assert(buf != NULL || cap == 0);
    /* Digits backwards, least significant first; 20 digits, their groups,
     * the point and leading zeros for EXPONENT_MAX fit easily. */
    char rev[48];
    size_t n = 0;
    uint64_t magnitude = amount < 0 ? (uint64_t)0 - (uint64_t)amount : (uint64_t)amount;
    for (int digit = 0; magnitude > 0 || digit <= exponent; digit++) {
        if (digit == exponent && exponent > 0)
            rev[n++] = point;
        else if (group != '\0' && digit > exponent && (digit - exponent) % 3 == 0)
            rev[n++] = group;
        rev[n++] = (char)('0' + magnitude % 10u);
        magnitude /= 10u;
    }
    if (amount < 0)
        rev[n++] = '-';
    if (n + 1 > cap)
        return FG_ETOOLONG;
    for (size_t i = 0; i < n; i++)
        buf[i] = rev[n - 1 - i];
    buf[n] = '\0';
    return (int)n;
}

int fg_money_format(int64_t amount, int exponent, char *buf, size_t cap)
{
    return format_with(amount, exponent, '.', '\0', buf, cap);
}

int fg_money_format_vi(int64_t amount, int exponent, char *buf, size_t cap)
{
    /* ',' after the whole digits, '.' between each three of them */
    return format_with(amount, exponent, ',', '.', buf, cap);
}

int fg_money_display(int64_t amount, const char *currency, char *buf, size_t cap)
{
    int vnd = currency == NULL || strcmp(currency, "VND") == 0;
    const fg_currency_t *c = vnd ? NULL : fg_currency_find(currency, strlen(currency));
    char digits[48];
    int n = fg_money_format_vi(amount, c != NULL ? c->exponent : 0, digits, sizeof(digits));
    if (n < 0)
        return n;
    /* U+00A0 keeps the amount and its unit on one line; U+20AB is the dong sign */
    int len = snprintf(buf, cap, "%s\xc2\xa0%s", digits, vnd ? "\xe2\x82\xab" : currency);
    return len < 0 || (size_t)len >= cap ? FG_ETOOLONG : len;
}
