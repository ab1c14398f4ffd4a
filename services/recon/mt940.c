/*
 * mt940.c - SWIFT MT940 customer statements (statement.h), read line by line.
 *
 * A file holds one or more statements, each a block of tagged fields:
 *
 *   :20:  the statement's reference             :25: the account, as written
 *   :28C: number[/sequence]                     (header.sequence = number)
 *   :60F: or :60M: the opening balance          C|D YYMMDD currency amount, "C250904VND100000000,"
 *   :61:  one line                              see below
 *   :86:  the narrative of the preceding :61:   its lines joined by " " (the memo)
 *   :62F: or :62M: the closing balance          as :60F:
 *   :64:, :65: and tags not listed here         ignored
 *
 * and ends at a "-" line or at the next :20:.  A SWIFT envelope around a
 * block ("{1:…}{2:…}{4:" before it, "-}" and a "{5:…}" trailer after it),
 * CRLF line ends, trailing spaces and blank lines are tolerated.
 *
 * The :61: field: value date YYMMDD, an optional entry date MMDD (the booking
 * date, in the value date's year, or the next or previous one across a year
 * boundary), C | D | RC | RD (RC, the reversal of a credit, takes money out;
 * RD puts it back), an optional funds-code letter, the amount with a decimal
 * comma, the transaction type ("N" and 3 characters, "NTRF"), the customer's
 * reference (the end-to-end reference unless NONREF) and an optional "//" and
 * the bank's reference.  A supplementary line may follow; it is the memo when
 * no :86: does.
 *
 * Every amount is read in the currency :60F: names, with its exponent: in VND
 * "15000000," and "15000000,00" are fifteen million, "15000000,50" is refused.
 * A statement's closing balance must be its opening balance plus its lines.
 * statement() is called at :60F:/:60M:, line() when the next field after a
 * :61: (and its :86:) begins, statement_end() at :62F:/:62M:.
 */
#include "recon/statement_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/money.h"
#include "core/text.h"

/* The longest physical line.  SWIFT allows 65 characters, but some banks
 * write a whole :86: narrative on one line: room for a full memo and its tag. */
#define LINE_BYTES_MAX (FG_STMT_MEMO_MAX + 64)
/* SWIFT's length of :20: and of the :61: references: longer is not MT940. */
#define REFERENCE_BYTES_MAX 35
/* :28C: is 5 digits, "/" and 5 digits. */
#define NUMBER_BYTES_MAX 11
_Static_assert(REFERENCE_BYTES_MAX + 1 + NUMBER_BYTES_MAX <= FG_STMT_REF_MAX, "the id holds :20: and :28C:");
_Static_assert(REFERENCE_BYTES_MAX <= FG_STMT_REF_MAX, "a :61: reference fits a line's reference");

/* Which field the lines without a tag continue. */
typedef enum {
    FIELD_NONE,      /* outside a statement: text is an error */
    FIELD_SINGLE,    /* :20:, :25:, :28C:, :60F:, :62F: take one line */
    FIELD_LINE,      /* :61:: one supplementary line */
    FIELD_NARRATIVE, /* :86: of a line */
    FIELD_IGNORED,   /* :64:, :65:, a statement's own :86:, other tags */
} field_t;

typedef struct {
    const fg_stmt_sink_t *sink;
    char buf[LINE_BYTES_MAX + 1];
    size_t len;
    uint32_t line; /* lines read so far: the one in buf is line + 1 until it ends */
    uint32_t statements;
    field_t field;

    /* the statement: from :20: to "-" or the next :20: */
    int in_block, opened, closed;
    uint32_t block_line;
    char reference[REFERENCE_BYTES_MAX + 1];
    char number[NUMBER_BYTES_MAX + 1];
    int has_account;
    const fg_currency_t *currency;
    int64_t total; /* the opening balance plus the lines so far */
    fg_stmt_header_t header;

    /* the line read from :61: and :86:, delivered when the next field begins */
    int has_entry, has_narrative, has_supplement;
    fg_stmt_line_t entry;
} mt940_t;

/* ---- small parts --------------------------------------------------------- */

static int is_digit(char c) { return c >= '0' && c <= '9'; }
static int is_upper(char c) { return c >= 'A' && c <= 'Z'; }
static int is_alnum(char c) { return is_digit(c) || is_upper(c) || (c >= 'a' && c <= 'z'); }

static int digits(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!is_digit(s[i]))
            return 0;
    return 1;
}

static int two(const char *s) { return (s[0] - '0') * 10 + (s[1] - '0'); }

/* Copies s[0..n) into a field of cap bytes; FG_EINVALID naming it when longer. */
static int copy(char *dst, size_t cap, const char *s, size_t n, uint32_t line, const char *what, fg_stmt_error_t *err)
{
    if (n >= cap)
        return fg_stmt_fail(err, line, NULL, "line %u: %s is %zu bytes, longer than %zu", line, what, n, cap - 1);
    memcpy(dst, s, n);
    dst[n] = '\0';
    return 0;
}

/* Appends " " and s[0..n) to a memo. */
static int append(char *memo, const char *s, size_t n, uint32_t line, fg_stmt_error_t *err)
{
    size_t have = strlen(memo), sep = have > 0;
    if (have + sep + n > FG_STMT_MEMO_MAX)
        return fg_stmt_fail(err, line, NULL, "line %u: the narrative is longer than %d bytes", line, FG_STMT_MEMO_MAX);
    if (sep)
        memo[have++] = ' ';
    memcpy(memo + have, s, n);
    memo[have + n] = '\0';
    return 0;
}

/* An amount with a decimal comma ("15000000," "1234,56") in cur. */
static int amount(const char *s, size_t n, const fg_currency_t *cur, uint32_t line, const char *what, int64_t *out,
                  fg_stmt_error_t *err)
{
    char text[40];
    size_t commas = 0, comma_at = n;
    for (size_t i = 0; i < n; i++)
        if (s[i] == ',' && commas++ == 0)
            comma_at = i;
    if (n == 0 || commas > 1 || comma_at == 0 || !digits(s, comma_at) ||
        (comma_at < n && !digits(s + comma_at + 1, n - comma_at - 1)))
        return fg_stmt_fail(err, line, NULL, "line %u: %s \"%s\" is not an amount like 1500000,", line, what,
                            fg_stmt_excerpt(s, n, text));
    size_t len = comma_at + 1 == n ? n - 1 : n; /* "15000000," has no fraction */
    int rc = fg_money_parse(s, len, cur->exponent, 1, out);
    if (rc == FG_EOVERFLOW)
        return fg_stmt_fail(err, line, NULL, "line %u: %s \"%s\" is too large", line, what,
                            fg_stmt_excerpt(s, n, text));
    if (rc != 0 && cur->exponent == 0)
        return fg_stmt_fail(err, line, NULL, "line %u: %s \"%s\" has decimals; %s has none", line, what,
                            fg_stmt_excerpt(s, n, text), cur->code);
    if (rc != 0)
        return fg_stmt_fail(err, line, NULL, "line %u: %s \"%s\" has more decimals than %s's %d", line, what,
                            fg_stmt_excerpt(s, n, text), cur->code, cur->exponent);
    return 0;
}

/* YYMMDD (20YY). */
static int date6(const char *s, uint32_t line, const char *what, int32_t *out, fg_stmt_error_t *err)
{
    char text[40];
    if (!digits(s, 6) || fg_stmt_date(2000 + two(s), two(s + 2), two(s + 4), out) != 0)
        return fg_stmt_fail(err, line, NULL, "line %u: %s \"%s\" is not a date YYMMDD", line, what,
                            fg_stmt_excerpt(s, 6, text));
    return 0;
}

/* ---- fields -------------------------------------------------------------- */

/* :60F: / :62F: "C250904VND100000000," into a signed balance, its date and currency. */
static int balance(const char *v, size_t n, uint32_t line, const char *tag, int64_t *out, int32_t *date,
                   const fg_currency_t **cur, fg_stmt_error_t *err)
{
    char what[32], text[40];
    snprintf(what, sizeof(what), ":%s: balance", tag);
    if (n < 11 || (v[0] != 'C' && v[0] != 'D'))
        return fg_stmt_fail(err, line, NULL, "line %u: %s \"%s\" is not C|D YYMMDD currency amount", line, what,
                            fg_stmt_excerpt(v, n, text));
    int rc = date6(v + 1, line, what, date, err);
    if (rc != 0)
        return rc;
    if ((*cur = fg_currency_find(v + 7, 3)) == NULL)
        return fg_stmt_fail(err, line, NULL, "line %u: %s has no known currency (\"%s\")", line, what,
                            fg_stmt_excerpt(v + 7, 3, text));
    if ((rc = amount(v + 10, n - 10, *cur, line, what, out, err)) != 0)
        return rc;
    if (v[0] == 'D')
        *out = -*out;
    return 0;
}

static int deliver_entry(mt940_t *m)
{
    if (!m->has_entry)
        return 0;
    m->has_entry = 0;
    return m->sink->line(m->sink->arg, &m->header, &m->entry);
}

/* "-" (or the next :20:, or the end of the file): the statement must be closed. */
static int end_block(mt940_t *m, uint32_t line, const char *why, fg_stmt_error_t *err)
{
    if (m->in_block && !m->closed)
        return fg_stmt_fail(err, line, NULL,
                            "line %u: statement \"%s\" (line %u) %s without its closing balance (:62F:)", line,
                            m->reference, m->block_line, why);
    m->in_block = m->opened = m->closed = 0;
    m->field = FIELD_NONE;
    return 0;
}

static int tag_20(mt940_t *m, const char *v, size_t n, uint32_t line, fg_stmt_error_t *err)
{
    int rc = end_block(m, line, "ends at the next :20:", err);
    if (rc != 0)
        return rc;
    if (n == 0)
        return fg_stmt_fail(err, line, NULL, "line %u: :20: has no reference", line);
    if ((rc = copy(m->reference, sizeof(m->reference), v, n, line, "the :20: reference", err)) != 0)
        return rc;
    memset(&m->header, 0, sizeof(m->header));
    m->number[0] = '\0';
    m->has_account = 0;
    m->in_block = 1;
    m->block_line = line;
    m->statements++;
    return 0;
}

static int tag_28c(mt940_t *m, const char *v, size_t n, uint32_t line, fg_stmt_error_t *err)
{
    char text[40];
    const char *slash = memchr(v, '/', n);
    size_t head = slash != NULL ? (size_t)(slash - v) : n;
    if (head == 0 || head > 5 || !digits(v, head) || (slash != NULL && (n - head - 1 == 0 || n - head - 1 > 5)) ||
        (slash != NULL && !digits(slash + 1, n - head - 1)))
        return fg_stmt_fail(err, line, NULL, "line %u: :28C: \"%s\" is not number[/sequence]", line,
                            fg_stmt_excerpt(v, n, text));
    int64_t number = 0;
    for (size_t i = 0; i < head; i++)
        number = number * 10 + (v[i] - '0');
    m->header.sequence = number;
    return copy(m->number, sizeof(m->number), v, n, line, ":28C:", err);
}

static int tag_60(mt940_t *m, const char *tag, const char *v, size_t n, uint32_t line, fg_stmt_error_t *err)
{
    fg_stmt_header_t *h = &m->header;
    if (m->opened)
        return fg_stmt_fail(err, line, NULL, "line %u: a second opening balance in statement \"%s\"", line,
                            m->reference);
    if (!m->has_account)
        return fg_stmt_fail(err, line, NULL, "line %u: statement \"%s\" has no :25: account before its :%s:", line,
                            m->reference, tag);
    int rc = balance(v, n, line, tag, &h->opening, &h->opening_date, &m->currency, err);
    if (rc != 0)
        return rc;
    memcpy(h->currency, m->currency->code, 4);
    h->has_opening = 1;
    snprintf(h->id, sizeof(h->id), "%s%s%s", m->reference, m->number[0] != '\0' ? "/" : "", m->number);
    m->total = h->opening;
    m->opened = 1;
    return m->sink->statement(m->sink->arg, h);
}

/* The :61: value after its dates and mark: [funds letter] amount type ref [//bank ref]. */
static int line_rest(mt940_t *m, const char *v, size_t n, size_t i, int credit, uint32_t line, fg_stmt_error_t *err)
{
    fg_stmt_line_t *l = &m->entry;
    char text[40];
    if (i < n && is_upper(v[i]) && i + 1 < n && is_digit(v[i + 1]))
        i++; /* the funds code, the currency's third letter */
    size_t start = i;
    while (i < n && (is_digit(v[i]) || v[i] == ','))
        i++;
    if (i == start)
        return fg_stmt_fail(err, line, NULL, "line %u: :61: has no amount (\"%s\")", line, fg_stmt_excerpt(v, n, text));
    int rc = amount(v + start, i - start, m->currency, line, ":61: amount", &l->amount, err);
    if (rc != 0)
        return rc;
    if (l->amount == 0)
        return fg_stmt_fail(err, line, NULL, "line %u: :61: amount is zero", line);
    if (l->amount > FG_AMOUNT_MAX)
        return fg_stmt_fail(err, line, NULL, "line %u: :61: amount is over %lld", line, (long long)FG_AMOUNT_MAX);
    if (!credit)
        l->amount = -l->amount;
    if (n - i < 4 || (v[i] != 'N' && v[i] != 'F' && v[i] != 'S') || !is_alnum(v[i + 1]) || !is_alnum(v[i + 2]) ||
        !is_alnum(v[i + 3]))
        return fg_stmt_fail(err, line, NULL,
                            "line %u: :61: has no transaction type (N and 3 characters) after the amount", line);
    memcpy(l->type, v + i, 4);
    l->type[4] = '\0';
    i += 4;
    const char *rest = v + i, *end = v + n;
    const char *bank = NULL;
    for (const char *p = rest; p + 1 < end; p++)
        if (p[0] == '/' && p[1] == '/') {
            bank = p;
            break;
        }
    size_t customer = (size_t)((bank != NULL ? bank : end) - rest);
    if (customer > REFERENCE_BYTES_MAX)
        return fg_stmt_fail(err, line, NULL, "line %u: :61: customer reference is %zu bytes, longer than %d", line,
                            customer, REFERENCE_BYTES_MAX);
    if (!(customer == 6 && memcmp(rest, "NONREF", 6) == 0))
        memcpy(l->end_to_end, rest, customer), l->end_to_end[customer] = '\0';
    if (bank != NULL && (size_t)(end - bank - 2) > REFERENCE_BYTES_MAX)
        return fg_stmt_fail(err, line, NULL, "line %u: :61: bank reference is %zu bytes, longer than %d", line,
                            (size_t)(end - bank - 2), REFERENCE_BYTES_MAX);
    if (bank != NULL)
        memcpy(l->bank_ref, bank + 2, (size_t)(end - bank - 2)), l->bank_ref[end - bank - 2] = '\0';
    return 0;
}

static int tag_61(mt940_t *m, const char *v, size_t n, uint32_t line, fg_stmt_error_t *err)
{
    fg_stmt_line_t *l = &m->entry;
    if (!m->opened)
        return fg_stmt_fail(err, line, NULL, "line %u: :61: before the opening balance (:60F:)", line);
    if (m->closed)
        return fg_stmt_fail(err, line, NULL, "line %u: :61: after the closing balance (:62F:)", line);
    memset(l, 0, sizeof(*l));
    l->source_line = line;
    if (n < 6)
        return fg_stmt_fail(err, line, NULL, "line %u: :61: does not start with a value date YYMMDD", line);
    int rc = date6(v, line, ":61: value date", &l->value_date, err);
    if (rc != 0)
        return rc;
    l->booking_date = l->value_date;
    size_t i = 6;
    if (n >= 10 && digits(v + 6, 4)) {
        int year = l->value_date / 10000, month = l->value_date / 100 % 100, entry_month = two(v + 6);
        if (month == 12 && entry_month == 1)
            year++;
        else if (month == 1 && entry_month == 12)
            year--;
        if (fg_stmt_date(year, entry_month, two(v + 8), &l->booking_date) != 0)
            return fg_stmt_fail(err, line, NULL, "line %u: :61: entry date \"%.4s\" is not a date MMDD", line, v + 6);
        i = 10;
    }
    int credit;
    if (i + 1 < n && v[i] == 'R' && (v[i + 1] == 'C' || v[i + 1] == 'D')) {
        l->reversal = 1;
        credit = v[i + 1] == 'D'; /* a reversed debit gives the money back */
        i += 2;
    } else if (i < n && (v[i] == 'C' || v[i] == 'D')) {
        credit = v[i] == 'C';
        i++;
    } else {
        return fg_stmt_fail(err, line, NULL, "line %u: :61: has no C, D, RC or RD mark after its dates", line);
    }
    if ((rc = line_rest(m, v, n, i, credit, line, err)) != 0)
        return rc;
    if (fg_money_add(m->total, l->amount, &m->total) != 0)
        return fg_stmt_fail(err, line, NULL, "line %u: the statement's total overflows", line);
    m->has_entry = 1;
    m->has_narrative = m->has_supplement = 0;
    return 0;
}

static int tag_62(mt940_t *m, const char *tag, const char *v, size_t n, uint32_t line, fg_stmt_error_t *err)
{
    fg_stmt_header_t *h = &m->header;
    const fg_currency_t *cur;
    char a[32], b[32];
    if (!m->opened)
        return fg_stmt_fail(err, line, NULL, "line %u: :%s: before the opening balance (:60F:)", line, tag);
    if (m->closed)
        return fg_stmt_fail(err, line, NULL, "line %u: a second closing balance in statement \"%s\"", line,
                            m->reference);
    int rc = balance(v, n, line, tag, &h->closing, &h->closing_date, &cur, err);
    if (rc != 0)
        return rc;
    if (cur != m->currency)
        return fg_stmt_fail(err, line, NULL, "line %u: closing balance in %s, the statement is in %s", line, cur->code,
                            m->currency->code);
    if (h->closing != m->total) {
        /* the sink sees the end first and may say how it does not balance
         * (the import answers 422 with the three figures) */
        h->has_closing = 1;
        rc = m->sink->statement_end(m->sink->arg, h);
        fg_money_format(h->closing, m->currency->exponent, a, sizeof(a));
        fg_money_format(m->total, m->currency->exponent, b, sizeof(b));
        return rc != 0 ? rc
                       : fg_stmt_fail(err, line, NULL,
                                      "line %u: closing balance %s is not the opening balance plus the lines (%s)",
                                      line, a, b);
    }
    h->has_closing = 1;
    m->closed = 1;
    return m->sink->statement_end(m->sink->arg, h);
}

/* ---- lines --------------------------------------------------------------- */

/* ":20:", ":28C:": a colon, two digits, an optional letter, a colon.  The tag's length or 0. */
static size_t tag_length(const char *s, size_t n)
{
    if (n >= 4 && s[0] == ':' && is_digit(s[1]) && is_digit(s[2]) && s[3] == ':')
        return 4;
    if (n >= 5 && s[0] == ':' && is_digit(s[1]) && is_digit(s[2]) && is_upper(s[3]) && s[4] == ':')
        return 5;
    return 0;
}

static int tagged(mt940_t *m, const char *tag, const char *v, size_t n, uint32_t line, fg_stmt_error_t *err)
{
    if (strcmp(tag, "20") == 0) {
        int rc = tag_20(m, v, n, line, err);
        m->field = FIELD_SINGLE;
        return rc;
    }
    if (!m->in_block)
        return fg_stmt_fail(err, line, NULL, "line %u: :%s: outside any statement (no :20: before it)", line, tag);
    if (strcmp(tag, "86") == 0) {
        m->field = m->has_entry && !m->has_narrative ? FIELD_NARRATIVE : FIELD_IGNORED;
        if (m->field == FIELD_NARRATIVE) {
            m->has_narrative = 1;
            m->entry.memo[0] = '\0'; /* the narrative replaces a supplementary line */
            return append(m->entry.memo, v, n, line, err);
        }
        return 0;
    }
    int rc = deliver_entry(m);
    if (rc != 0)
        return rc;
    m->field = FIELD_SINGLE;
    if (strcmp(tag, "25") == 0) {
        if (m->opened)
            return fg_stmt_fail(err, line, NULL, "line %u: :25: after the opening balance", line);
        if (n == 0)
            return fg_stmt_fail(err, line, NULL, "line %u: :25: has no account", line);
        m->has_account = 1;
        /* "BIC/account", "VN/account": the account is after the bank's code */
        for (size_t i = n; i > 0; i--) {
            if (v[i - 1] == '/') {
                v += i;
                n -= i;
                break;
            }
        }
        return fg_stmt_account(v, n, m->header.account, line, NULL, "the :25: account", err);
    }
    if (strcmp(tag, "28C") == 0 || strcmp(tag, "28") == 0)
        return m->opened ? fg_stmt_fail(err, line, NULL, "line %u: :%s: after the opening balance", line, tag)
                         : tag_28c(m, v, n, line, err);
    if (strcmp(tag, "60F") == 0 || strcmp(tag, "60M") == 0)
        return tag_60(m, tag, v, n, line, err);
    if (strcmp(tag, "61") == 0) {
        m->field = FIELD_LINE;
        return tag_61(m, v, n, line, err);
    }
    if (strcmp(tag, "62F") == 0 || strcmp(tag, "62M") == 0)
        return tag_62(m, tag, v, n, line, err);
    m->field = FIELD_IGNORED;
    return 0;
}

/* A line without a tag continues the field before it. */
static int continuation(mt940_t *m, const char *s, size_t n, uint32_t line, fg_stmt_error_t *err)
{
    char text[40];
    switch (m->field) {
    case FIELD_NARRATIVE: return append(m->entry.memo, s, n, line, err);
    case FIELD_LINE:
        if (m->has_supplement)
            return fg_stmt_fail(err, line, NULL, "line %u: a second supplementary line after :61:", line);
        m->has_supplement = 1;
        return append(m->entry.memo, s, n, line, err);
    case FIELD_IGNORED: return 0;
    case FIELD_SINGLE:
        return fg_stmt_fail(err, line, NULL, "line %u: \"%s\" is not a field (:20:, :61:, …)", line,
                            fg_stmt_excerpt(s, n, text));
    case FIELD_NONE: break;
    }
    return fg_stmt_fail(err, line, NULL, "line %u: \"%s\" is outside any statement", line, fg_stmt_excerpt(s, n, text));
}

static int process(mt940_t *m, const char *s, size_t n, uint32_t line, fg_stmt_error_t *err)
{
    if (line == 1 && n >= 3 && memcmp(s, "\xEF\xBB\xBF", 3) == 0)
        s += 3, n -= 3; /* a UTF-8 byte order mark */
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\r' || s[n - 1] == '\t'))
        n--;
    if (memchr(s, '\0', n) != NULL)
        return fg_stmt_fail(err, line, NULL, "line %u: a NUL byte", line);
    if (!fg_utf8_valid(s, n))
        return fg_stmt_fail(err, line, NULL, "line %u: the text is not UTF-8", line);
    if (n == 0)
        return 0;
    if (n >= 3 && s[0] == '{' && is_digit(s[1]) && s[2] == ':') {
        /* the envelope: "{1:…}{2:…}{4:" may carry the first field after it */
        for (size_t i = 0; i + 3 <= n; i++)
            if (memcmp(s + i, "{4:", 3) == 0 && i + 3 < n)
                return process(m, s + i + 3, n - i - 3, line, err);
        return 0;
    }
    if (s[0] == '-' && (n == 1 || s[1] == '}'))
        return end_block(m, line, "ends", err);
    size_t t = tag_length(s, n);
    if (t == 0)
        return continuation(m, s, n, line, err);
    char tag[4] = {s[1], s[2], t == 5 ? s[3] : '\0', '\0'};
    size_t skip = t;
    while (skip < n && s[skip] == ' ')
        skip++;
    return tagged(m, tag, s + skip, n - skip, line, err);
}

/* ---- the reader ---------------------------------------------------------- */

static void *create(fg_stmt_format_t format, const fg_stmt_sink_t *sink)
{
    (void)format;
    mt940_t *m = calloc(1, sizeof(*m));
    if (m != NULL)
        m->sink = sink;
    return m;
}

static int feed(void *state, const char *data, size_t len, fg_stmt_error_t *err)
{
    mt940_t *m = state;
    while (len > 0) {
        const char *nl = memchr(data, '\n', len);
        size_t take = nl != NULL ? (size_t)(nl - data) : len;
        if (m->len + take > LINE_BYTES_MAX)
            return fg_stmt_fail(err, m->line + 1, NULL, "line %u: longer than %d bytes", m->line + 1, LINE_BYTES_MAX);
        memcpy(m->buf + m->len, data, take);
        m->len += take;
        data += take;
        len -= take;
        if (nl == NULL)
            break;
        data++, len--;
        m->buf[m->len] = '\0';
        size_t n = m->len;
        m->len = 0;
        int rc = process(m, m->buf, n, ++m->line, err);
        if (rc != 0)
            return rc;
    }
    return 0;
}

static int finish(void *state, fg_stmt_error_t *err)
{
    mt940_t *m = state;
    int rc;
    if (m->len > 0) {
        size_t n = m->len;
        m->len = 0;
        if ((rc = process(m, m->buf, n, ++m->line, err)) != 0)
            return rc;
    }
    if ((rc = end_block(m, m->line, "reaches the end of the file", err)) != 0)
        return rc;
    if (m->statements == 0)
        return fg_stmt_fail(err, 0, NULL, "the file holds no MT940 statement (no :20:)");
    return 0;
}

static void destroy(void *state) { free(state); }

const fg_stmt_reader_t fg_stmt_mt940_reader = {create, feed, finish, destroy};
