/*
 * ids.c - ULID public ids and check-summed order codes in Crockford base32.
 */
#include "core/ids.h"

#include <assert.h>
#include <stdbool.h>
#include <string.h>
#include "core/crypto.h"
#include "core/text.h"

const char fg_crockford_alphabet[33] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/* The Luhn mod N base: one per Crockford symbol. */
#define LUHN_BASE 32
/* A ULID's time field is 48 bits of milliseconds (good until year 10889). */
#define ULID_TIME_BITS 48
#define ULID_TIME_SYMBOLS 10
#define ULID_RANDOM_BYTES 10
/* A ULID is 128 bits in 26 symbols (130 bits): the first symbol carries only
 * 3 bits, so it is at most '7'. */
#define ULID_FIRST_SYMBOL_MAX 7

_Static_assert(ULID_TIME_SYMBOLS * 5 >= ULID_TIME_BITS, "time fits its symbols");
_Static_assert(ULID_TIME_SYMBOLS + ULID_RANDOM_BYTES * 8 / 5 == FG_ULID_LEN, "ULID length");
_Static_assert(FG_ORDER_CODE_DATA_LEN + 1 == FG_ORDER_CODE_LEN, "one check symbol");

int fg_crockford_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'z')
        c = (char)(c - 'a' + 'A');
    switch (c) {
    case 'I':
    case 'L': return 1;
    case 'O': return 0;
    case 'U': return -1;
    default: break;
    }
    if (c < 'A' || c > 'Z')
        return -1;
    const char *p = memchr(fg_crockford_alphabet + 10, c, LUHN_BASE - 10);
    return p != NULL ? (int)(p - fg_crockford_alphabet) : -1;
}

/* The canonical (upper-case) symbol for c, or 0 if c is not a symbol. */
static char canonical_symbol(char c)
{
    int v = fg_crockford_value(c);
    return v < 0 ? '\0' : fg_crockford_alphabet[v];
}

static bool is_alnum(char c) { return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'); }

/* ---- ULID ids ------------------------------------------------------------ */

int fg_id_format(const char *prefix, uint64_t time_ms, const uint8_t random[10], char *out, size_t cap)
{
    assert(prefix != NULL && random != NULL && out != NULL);
    assert(time_ms < (UINT64_C(1) << ULID_TIME_BITS));
    size_t prefix_len = strlen(prefix);
    assert(prefix_len + FG_ULID_LEN < cap);
    memcpy(out, prefix, prefix_len);
    char *p = out + prefix_len;
    for (int i = 0; i < ULID_TIME_SYMBOLS; i++)
        p[i] = fg_crockford_alphabet[(time_ms >> (5 * (ULID_TIME_SYMBOLS - 1 - i))) & 31u];
    p += ULID_TIME_SYMBOLS;
    /* 80 random bits as 16 symbols: two groups of 5 bytes = 40 bits = 8 symbols. */
    for (int group = 0; group < 2; group++) {
        uint64_t bits = 0;
        for (int j = 0; j < 5; j++)
            bits = bits << 8 | random[group * 5 + j];
        for (int i = 0; i < 8; i++)
            *p++ = fg_crockford_alphabet[(bits >> (5 * (7 - i))) & 31u];
    }
    *p = '\0';
    return (int)(prefix_len + FG_ULID_LEN);
}

int fg_id_new(const char *prefix, char *out, size_t cap)
{
    uint8_t random[ULID_RANDOM_BYTES];
    if (fg_random_bytes(random, sizeof(random)) != 0)
        return FG_EIO;
    return fg_id_format(prefix, (uint64_t)fg_now_ms(), random, out, cap);
}

int fg_id_valid(const char *prefix, const char *s, size_t len)
{
    assert(prefix != NULL);
    size_t prefix_len = strlen(prefix);
    if (s == NULL || len != prefix_len + FG_ULID_LEN || memcmp(s, prefix, prefix_len) != 0)
        return 0;
    const char *ulid = s + prefix_len;
    for (size_t i = 0; i < FG_ULID_LEN; i++) {
        if (memchr(fg_crockford_alphabet, ulid[i], LUHN_BASE) == NULL)
            return 0;
    }
    return fg_crockford_value(ulid[0]) <= ULID_FIRST_SYMBOL_MAX;
}

/* ---- order codes --------------------------------------------------------- */

/* Luhn mod N sum of n symbols, the rightmost weighted by first_factor. */
static int luhn_sum(const char *symbols, size_t n, int first_factor)
{
    int factor = first_factor, sum = 0;
    for (size_t i = n; i-- > 0;) {
        int value = fg_crockford_value(symbols[i]);
        assert(value >= 0);
        int addend = factor * value;
        sum += addend / LUHN_BASE + addend % LUHN_BASE;
        factor = factor == 2 ? 1 : 2;
    }
    return sum % LUHN_BASE;
}

char fg_order_code_check(const char *data)
{
    assert(data != NULL);
    int sum = luhn_sum(data, FG_ORDER_CODE_DATA_LEN, 2);
    return fg_crockford_alphabet[(LUHN_BASE - sum) % LUHN_BASE];
}

/* 1 when 11 canonical symbols carry a valid check symbol. */
static bool order_code_verifies(const char *code) { return luhn_sum(code, FG_ORDER_CODE_LEN, 1) == 0; }

int fg_order_code_new(char *out, size_t cap)
{
    assert(out != NULL && cap >= FG_ORDER_CODE_LEN + 1);
    uint8_t random[FG_ORDER_CODE_DATA_LEN];
    if (fg_random_bytes(random, sizeof(random)) != 0)
        return FG_EIO;
    /* 256 is a multiple of 32, so the low 5 bits of a byte are uniform. */
    for (int i = 0; i < FG_ORDER_CODE_DATA_LEN; i++)
        out[i] = fg_crockford_alphabet[random[i] % LUHN_BASE];
    out[FG_ORDER_CODE_DATA_LEN] = fg_order_code_check(out);
    out[FG_ORDER_CODE_LEN] = '\0';
    return 0;
}

int fg_order_code_normalize(const char *in, size_t len, char *out, size_t cap)
{
    assert(in != NULL || len == 0);
    assert(out != NULL && cap >= FG_ORDER_CODE_LEN + 1);
    char code[FG_ORDER_CODE_LEN];
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        if (!is_alnum(in[i]))
            continue;
        char c = canonical_symbol(in[i]);
        if (c == '\0' || n == FG_ORDER_CODE_LEN)
            return FG_EINVALID;
        code[n++] = c;
    }
    if (n != FG_ORDER_CODE_LEN)
        return FG_EINVALID;
    if (!order_code_verifies(code))
        return FG_ECHECKSUM;
    memcpy(out, code, FG_ORDER_CODE_LEN);
    out[FG_ORDER_CODE_LEN] = '\0';
    return 0;
}

/* ---- finding codes in free text ------------------------------------------ */

typedef struct {
    char (*out)[FG_ORDER_CODE_LEN + 1];
    int max;
    int count;
} found_t;

/* Start of the first alphanumeric run at or after pos (len if none); its
 * length in *run_len. */
static size_t next_run(const char *text, size_t len, size_t pos, size_t *run_len)
{
    while (pos < len && !is_alnum(text[pos]))
        pos++;
    size_t end = pos;
    while (end < len && is_alnum(text[end]))
        end++;
    *run_len = end - pos;
    return pos;
}

/* Canonicalises 11 raw symbols and records them if they verify and are new. */
static void consider(found_t *found, const char *raw)
{
    char code[FG_ORDER_CODE_LEN + 1];
    for (int i = 0; i < FG_ORDER_CODE_LEN; i++) {
        code[i] = canonical_symbol(raw[i]);
        if (code[i] == '\0')
            return;
    }
    code[FG_ORDER_CODE_LEN] = '\0';
    if (!order_code_verifies(code))
        return;
    for (int i = 0; i < found->count; i++) {
        if (memcmp(found->out[i], code, FG_ORDER_CODE_LEN + 1) == 0)
            return;
    }
    memcpy(found->out[found->count++], code, FG_ORDER_CODE_LEN + 1);
}

/* Whole consecutive runs from start whose lengths add up to exactly 11. */
static void consider_joined_runs(found_t *found, const char *text, size_t len, size_t start, size_t run_len)
{
    char joined[FG_ORDER_CODE_LEN];
    size_t n = 0, pos = start;
    while (run_len > 0 && n + run_len <= FG_ORDER_CODE_LEN) {
        memcpy(joined + n, text + pos, run_len);
        n += run_len;
        if (n == FG_ORDER_CODE_LEN) {
            consider(found, joined);
            return;
        }
        pos = next_run(text, len, pos + run_len, &run_len);
    }
}

int fg_order_code_find_all(const char *text, size_t len, char (*out)[FG_ORDER_CODE_LEN + 1], int max)
{
    assert(text != NULL || len == 0);
    assert(out != NULL || max <= 0);
    found_t found = {out, max, 0};
    size_t run_len;
    for (size_t pos = next_run(text, len, 0, &run_len); pos < len && found.count < max;
         pos = next_run(text, len, pos + run_len, &run_len)) {
        if (run_len > FG_ORDER_CODE_LEN) {
            /* A code glued to words around it ("HP7K3M9QXW2A5"). */
            for (size_t i = 0; i + FG_ORDER_CODE_LEN <= run_len && found.count < max; i++)
                consider(&found, text + pos + i);
        } else {
            consider_joined_runs(&found, text, len, pos, run_len);
        }
    }
    return found.count;
}
