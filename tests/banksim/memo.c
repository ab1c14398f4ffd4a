/*
 * memo.c - transfer memos as banks pass them on (PROTOCOLS.md "Banks and
 * transfer memos"): Vietnamese diacritics stripped, upper case, the sender
 * bank's prefix in front, the text wrapped at a fixed width whatever it cuts.
 */
#include "day.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Feegate's order codes are 10 Crockford base-32 characters and a check
 * character: the shape looked for when a line does not say its codes. */
#define ORDER_CODE_LEN 11

/* Base letters of U+00C0..U+00FF and U+0100..U+017F; '~' drops the letter. */
static const char latin1[] = "AAAAAAACEEEEIIIIDNOOOOO~OUUUUY~saaaaaaaceeeeiiiidnooooo~ouuuuy~y";
static const char latin_ext_a[] = "AaAaAaCcCcCcCcDdDdEeEeEeEeEeGgGgGgGgHhHhIiIiIiIiIiIiJjKkkLlLlLlLlLlNnNnNnnNnOoOoOo"
                                  "OoRrRrRrSsSsSsSsTtTtTtUuUuUuUuUuUuWwYyYZzZzZzs";
_Static_assert(sizeof(latin1) == 64 + 1, "one letter per code point U+00C0..U+00FF");
_Static_assert(sizeof(latin_ext_a) == 128 + 1, "one letter per code point U+0100..U+017F");

/* The base letter of a Vietnamese vowel of U+1EA0..U+1EF9 (Latin Extended
 * Additional: upper and lower case alternate, A E I O U Y in turn). */
static char vietnamese_vowel(unsigned cp)
{
    static const struct {
        unsigned last;
        char letter;
    } runs[] = {{0x1EB7, 'A'}, {0x1EC7, 'E'}, {0x1ECB, 'I'}, {0x1EE3, 'O'}, {0x1EF1, 'U'}, {0x1EF9, 'Y'}};
    for (size_t i = 0; i < sizeof(runs) / sizeof(runs[0]); i++)
        if (cp <= runs[i].last)
            return (char)(cp % 2 == 0 ? runs[i].letter : tolower((unsigned char)runs[i].letter));
    return 0;
}

/* The ASCII of code point cp; 0 drops it. */
static char fold(unsigned cp)
{
    if (cp < 0x20 || cp == 0x7F || cp == 0xA0)
        return ' ';
    if (cp < 0x80)
        return (char)cp;
    if (cp >= 0xC0 && cp <= 0xFF)
        return latin1[cp - 0xC0] != '~' ? latin1[cp - 0xC0] : 0;
    if (cp >= 0x100 && cp <= 0x17F)
        return latin_ext_a[cp - 0x100];
    switch (cp) {
    case 0x1A0: return 'O'; /* O with horn */
    case 0x1A1: return 'o';
    case 0x1AF: return 'U'; /* U with horn */
    case 0x1B0: return 'u';
    default: break;
    }
    if (cp >= 0x1EA0 && cp <= 0x1EF9)
        return vietnamese_vowel(cp);
    return 0; /* combining marks (U+0300..U+036F) and everything else */
}

/* Decodes one UTF-8 sequence of s[0..n) into *cp; its length (1 for a stray
 * byte, which decodes to 0 and is dropped). */
static size_t utf8_next(const unsigned char *s, size_t n, unsigned *cp)
{
    size_t len = s[0] < 0x80             ? 1
                 : (s[0] & 0xE0) == 0xC0 ? 2
                 : (s[0] & 0xF0) == 0xE0 ? 3
                 : (s[0] & 0xF8) == 0xF0 ? 4
                                         : 0;
    if (len == 0 || len > n) {
        *cp = 0x80; /* not a character: dropped */
        return 1;
    }
    unsigned v = len == 1 ? s[0] : len == 2 ? s[0] & 0x1Fu : len == 3 ? s[0] & 0x0Fu : s[0] & 0x07u;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80) {
            *cp = 0x80;
            return 1;
        }
        v = v << 6 | (s[i] & 0x3Fu);
    }
    *cp = v;
    return len;
}

void bs_ascii_fold(bs_buf_t *b, const char *s, size_t n, int upper)
{
    const unsigned char *p = (const unsigned char *)s;
    for (size_t i = 0; i < n;) {
        unsigned cp;
        i += utf8_next(p + i, n - i, &cp);
        char c = cp == 0x80 ? 0 : fold(cp);
        if (c != 0)
            bs_buf_putc(b, upper ? (char)toupper((unsigned char)c) : c);
    }
}

/* FNV-1a of s: the prefix's numbers differ from line to line, and stay the
 * same for one line whenever it is rendered. */
static uint64_t hash(const char *s, uint64_t seed)
{
    uint64_t h = UINT64_C(14695981039346656037) ^ seed;
    for (; *s != '\0'; s++)
        h = (h ^ (unsigned char)*s) * UINT64_C(1099511628211);
    return h;
}

static int is_code_char(char c) { return isdigit((unsigned char)c) || isupper((unsigned char)c); }

/* Where in memo (upper case) the first order code starts (*len its length):
 * the codes the line names, else the first token of a code's shape; -1. */
static long code_offset(const char *memo, const char *codes, size_t *len)
{
    long best = -1;
    for (const char *c = codes; c != NULL && *c != '\0';) {
        size_t n = strcspn(c, " ");
        char code[BS_ORDER_CODE_MAX + 1];
        if (n > 0 && n < sizeof(code)) {
            for (size_t i = 0; i < n; i++)
                code[i] = (char)toupper((unsigned char)c[i]);
            code[n] = '\0';
            const char *at = strstr(memo, code);
            if (at != NULL && (best < 0 || at - memo < best)) {
                best = at - memo;
                *len = n;
            }
        }
        c += n + (c[n] == ' ');
    }
    if (best >= 0)
        return best;
    for (const char *p = memo; *p != '\0';) {
        size_t n = 0, digits = 0;
        while (is_code_char(p[n]))
            digits += isdigit((unsigned char)p[n++]) != 0;
        if (n == ORDER_CODE_LEN && digits > 0 && digits < n) {
            *len = n;
            return p - memo;
        }
        p += n > 0 ? n : 1;
    }
    return -1;
}

char *bs_memo_rewrite(const bs_line_t *line, const char *account)
{
    bs_buf_t memo = BS_BUF_INIT, full = BS_BUF_INIT, out = BS_BUF_INIT;
    bs_ascii_fold(&memo, line->text, strlen(line->text), 1);
    if (line->incoming) {
        /* MBVCB.<transaction>.<channel reference> CT tu <sender> <name> toi <us> */
        bs_buf_printf(&full, "MBVCB.%010llu.9P%010llu CT tu 0351000646393 NGUYEN VAN A",
                      (unsigned long long)(hash(line->bank_ref, 1) % UINT64_C(10000000000)),
                      (unsigned long long)(hash(line->bank_ref, 2) % UINT64_C(10000000000)));
        bs_buf_t tail = BS_BUF_INIT;
        bs_buf_printf(&tail, " toi %s ", account);
        size_t len = 0;
        long at = code_offset(bs_buf_cstr(&memo), line->codes, &len);
        if (at >= 0) {
            /* the name's field is padded, as little as will do, so that a
             * wrap falls inside the code */
            size_t start = full.len + tail.len + (size_t)at, pad = BS_MEMO_WRAP;
            for (size_t cut = 1; cut < len; cut++) {
                size_t p = (BS_MEMO_WRAP - (start + cut) % BS_MEMO_WRAP) % BS_MEMO_WRAP;
                pad = p < pad ? p : pad;
            }
            for (size_t i = 0; len > 1 && i < pad; i++)
                bs_buf_putc(&full, ' ');
        }
        bs_buf_append(&full, tail.data, tail.len);
        bs_buf_free(&tail);
    }
    bs_buf_append(&full, bs_buf_cstr(&memo), memo.len);
    for (size_t i = 0; i < full.len; i++) {
        if (i > 0 && i % BS_MEMO_WRAP == 0)
            bs_buf_putc(&out, '\n');
        bs_buf_putc(&out, full.data[i]);
    }
    bs_buf_free(&memo);
    bs_buf_free(&full);
    return bs_buf_take(&out);
}
