/*
 * csv.c - statements in CSV (statement.h), read row by row: RFC 4180 cells
 * (quoted cells may hold commas, doubled quotes and line breaks), UTF-8 with
 * or without a byte order mark, CRLF or LF.  A row is held in a buffer of
 * ROW_BYTES_MAX bytes and ROW_CELLS_MAX cells; nothing else grows with the
 * file.  Two column profiles:
 *
 * "csv", feegate's own layout.  The first row is exactly
 *
 *     account,currency,booking_date,value_date,amount,bank_ref,end_to_end,counterparty,memo
 *
 * and every other row has these 9 cells:
 *   account       the account, the same on every row (at most 34 bytes)
 *   currency      ISO 4217 ("VND"), the same on every row
 *   booking_date  yyyy-mm-dd, or "opening" / "closing" for a balance row
 *   value_date    yyyy-mm-dd, or empty (= booking_date); on a balance row the
 *                 balance's date, or empty
 *   amount        a signed decimal with '.' and at most the currency's
 *                 exponent of decimals ("-15000", "12.50"), never 0; on a
 *                 balance row the balance
 *   bank_ref, end_to_end (at most 64 bytes), counterparty (140), memo (2048)
 *                 text, may be empty; line breaks in them are read as " "
 * An "opening" row, if any, comes before every other row; a "closing" row,
 * if any, is the last row and, when there is an opening row, must be the
 * opening balance plus the lines.  Blank lines are skipped.  The file is one
 * statement.
 *
 * "csv-vn", a Vietnamese bank's bilingual account statement export (the
 * Vietcombank layout; BIDV's orders its columns differently): title rows ("Số tài khoản / Account number:
 * 0011001932418", "Từ ngày / From: 02/12/2026  Đến ngày / To: 02/12/2026", optionally "Loại tiền / Currency: USD", VND
 * otherwise), the row "Số dư đầu kỳ / Opening balance" with the balance in the Balance column, the header row naming
 * the columns in either language and in any order (STT / No., Ngày giao dịch / Transaction date, Số tham chiếu /
 * Reference, Ghi nợ / Debit, Ghi có / Credit, Số dư / Balance, Nội dung chi tiết / Description; the date, debit, credit
 * and balance columns are required; names compare without case and diacritics), one row per line, and the row "Số dư
 * cuối kỳ / Closing balance".  Amounts are written "1.500.000" (dots between thousands, a decimal comma where the
 * currency has decimals); a date cell is dd/mm/yyyy, and only its first line counts (a second line may hold the
 * document number).  A line has a debit or a credit (a cell of 0 counts as empty), never both; its balance, when given,
 * must be the opening balance plus the lines so far, and so must the closing balance.  A totals row ("Tổng cộng /
 * Total") is checked against the lines' sums and skipped; rows after the
 * closing balance must carry no amount (signatures, notes).
 */
#include "recon/statement_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/money.h"
#include "core/text.h"

/* One row's bytes (its cells and a NUL after each): a full memo, a dozen
 * short cells and room for exports that pad their cells with spaces. */
#define ROW_BYTES_MAX (4 * FG_STMT_MEMO_MAX)
/* The widest bank export seen has about 20 columns. */
#define ROW_CELLS_MAX 64
/* A title block is a dozen rows: far more before a header row is not a statement. */
#define TITLE_ROWS_MAX 100
/* An amount cell: 19 digits, 6 thousands separators, a sign, decimals. */
#define AMOUNT_TEXT_MAX 40
/* A folded label ("noi dung chi tiet / description"); longer cells are not labels. */
#define LABEL_MAX 96
_Static_assert(ROW_BYTES_MAX > FG_STMT_MEMO_MAX + FG_STMT_NAME_MAX + 3 * FG_STMT_REF_MAX, "a row holds its fields");

typedef enum { LEX_START, LEX_PLAIN, LEX_QUOTED, LEX_QUOTE } lex_t;

/* The csv-vn columns, by what their header names. */
enum { COL_NO, COL_DATE, COL_REF, COL_DEBIT, COL_CREDIT, COL_BALANCE, COL_DESCRIPTION, COL_COUNT };
/* The csv-vn rows that are not lines, by the label in one of their cells. */
typedef enum { LABEL_NONE, LABEL_OPENING, LABEL_CLOSING, LABEL_TOTAL } label_t;
typedef enum { STAGE_TITLE, STAGE_BODY, STAGE_DONE } stage_t;

typedef struct {
    const fg_stmt_sink_t *sink;
    fg_stmt_format_t format;

    /* reading cells */
    char bom[3];
    size_t bom_len;
    int bom_done;
    lex_t lex;
    char row[ROW_BYTES_MAX];
    size_t row_len, cell_start, ncells;
    size_t cells[ROW_CELLS_MAX]; /* offsets in row of NUL-terminated cells */
    uint32_t line;               /* the line being read, 1-based */
    uint32_t row_line;           /* where the row being read starts */
    uint32_t quote_line;         /* where the open quoted cell starts */
    uint32_t last_line;          /* where the last row started */

    /* the statement */
    const fg_currency_t *currency;
    fg_stmt_header_t header;
    fg_stmt_line_t entry;
    int started, closed;
    int64_t total; /* the opening balance (0 without one) plus the lines so far */

    /* csv */
    int has_header;

    /* csv-vn */
    stage_t stage;
    int title_rows;
    int col[COL_COUNT];
    int has_account;
    int64_t debits, credits; /* the lines' sums, for a totals row */
    int has_pending_opening; /* the opening row came before the header */
    uint32_t opening_line;
    size_t opening_ncells;
    /* its cells trimmed (exports pad cells with spaces), one byte past what an
     * amount may hold, so that a longer one is refused, never read cut */
    char opening_cells[ROW_CELLS_MAX][AMOUNT_TEXT_MAX + 2];
} csv_t;

/* ---- text ---------------------------------------------------------------- */

static int is_digit(char c) { return c >= '0' && c <= '9'; }
static int is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

static const char *cell(const csv_t *c, int i) { return i >= 0 && (size_t)i < c->ncells ? c->row + c->cells[i] : ""; }

/* s without the white space around it, as s[0..*n). */
static const char *trim(const char *s, size_t *n)
{
    size_t len = strlen(s);
    while (len > 0 && is_space(*s))
        s++, len--;
    while (len > 0 && is_space(s[len - 1]))
        len--;
    *n = len;
    return s;
}

static int blank(const char *s)
{
    size_t n;
    trim(s, &n);
    return n == 0;
}

/* Copies cell text into a field of cap bytes, trimmed, each line break and
 * the white space around it as one " "; FG_EINVALID naming it when longer. */
static int flatten(char *dst, size_t cap, const char *src, uint32_t line, const char *what, fg_stmt_error_t *err)
{
    size_t n, k = 0;
    const char *s = trim(src, &n);
    for (size_t i = 0; i < n; i++) {
        char ch = s[i];
        if (ch == '\r' || ch == '\n') {
            while (k > 0 && (dst[k - 1] == ' ' || dst[k - 1] == '\t'))
                k--;
            while (i + 1 < n && is_space(s[i + 1]))
                i++;
            ch = ' ';
        }
        if (k + 1 >= cap)
            return fg_stmt_fail(err, line, NULL, "line %u: %s is longer than %zu bytes", line, what, cap - 1);
        dst[k++] = ch;
    }
    dst[k] = '\0';
    return 0;
}

/* A code point folded for comparing labels: ASCII in lower case, Latin and
 * Vietnamese letters without their marks, ' ' for white space, 0 to drop. */
static char fold_code_point(uint32_t c)
{
    static const char LATIN1[] = "aaaaaaaceeeeiiiidnooooo?ouuuuyts"
                                 "aaaaaaaceeeeiiiidnooooo?ouuuuyty";
    if (c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == 0xA0)
        return ' ';
    if (c < 0x80)
        return c >= 'A' && c <= 'Z' ? (char)(c + 32) : (char)c;
    if (c >= 0xC0 && c <= 0xFF)
        return LATIN1[c - 0xC0];
    if (c >= 0x300 && c <= 0x36F)
        return 0; /* combining marks: text in decomposed form */
    switch (c) {
    case 0x102:
    case 0x103: return 'a'; /* Ă ă */
    case 0x110:
    case 0x111: return 'd'; /* Đ đ */
    case 0x128:
    case 0x129: return 'i'; /* Ĩ ĩ */
    case 0x168:
    case 0x169: return 'u'; /* Ũ ũ */
    case 0x1A0:
    case 0x1A1: return 'o'; /* Ơ ơ */
    case 0x1AF:
    case 0x1B0: return 'u'; /* Ư ư */
    default: break;
    }
    /* Latin Extended Additional: the Vietnamese letters with a tone mark. */
    if (c >= 0x1EA0 && c <= 0x1EB7)
        return 'a';
    if (c >= 0x1EB8 && c <= 0x1EC7)
        return 'e';
    if (c >= 0x1EC8 && c <= 0x1ECB)
        return 'i';
    if (c >= 0x1ECC && c <= 0x1EE3)
        return 'o';
    if (c >= 0x1EE4 && c <= 0x1EF1)
        return 'u';
    if (c >= 0x1EF2 && c <= 0x1EF9)
        return 'y';
    return '?';
}

/* s[0..n) folded into out (LABEL_MAX + 1 bytes): white space runs as one
 * space, trimmed.  0, or -1 when it is too long to be a label. */
static int fold(const char *s, size_t n, char *out)
{
    size_t k = 0;
    int space = 0;
    for (size_t i = 0; i < n;) {
        uint32_t cp;
        int len = fg_utf8_decode(s + i, n - i, &cp);
        if (len <= 0)
            cp = '?', len = 1;
        i += (size_t)len;
        char ch = fold_code_point(cp);
        if (ch == 0)
            continue;
        if (ch == ' ') {
            space = k > 0;
            continue;
        }
        if (k + 1 + (size_t)space > LABEL_MAX)
            return -1;
        if (space)
            out[k++] = ' ', space = 0;
        out[k++] = ch;
    }
    out[k] = '\0';
    return 0;
}

/* 1 when a part of folded text between '/' (trimmed, without a trailing ':'
 * or '.') is one of names. */
static int names_match(const char *folded, const char *const *names)
{
    const char *p = folded;
    for (;;) {
        const char *end = strchr(p, '/');
        size_t n = end != NULL ? (size_t)(end - p) : strlen(p);
        const char *s = p;
        while (n > 0 && *s == ' ')
            s++, n--;
        while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == ':' || s[n - 1] == '.'))
            n--;
        for (size_t i = 0; n > 0 && names[i] != NULL; i++)
            if (strlen(names[i]) == n && memcmp(names[i], s, n) == 0)
                return 1;
        if (end == NULL)
            return 0;
        p = end + 1;
    }
}

static int cell_matches(const char *text, const char *const *names)
{
    char folded[LABEL_MAX + 1];
    return fold(text, strlen(text), folded) == 0 && names_match(folded, names);
}

/* ---- amounts and dates --------------------------------------------------- */

/* The message for an amount fg_money_parse refused although its shape is right. */
static int amount_refused(int rc, const char *s, size_t n, const fg_currency_t *cur, uint32_t line, const char *what,
                          fg_stmt_error_t *err)
{
    char text[40];
    if (rc == FG_EOVERFLOW)
        return fg_stmt_fail(err, line, NULL, "line %u: %s \"%s\" is too large", line, what,
                            fg_stmt_excerpt(s, n, text));
    if (cur->exponent == 0)
        return fg_stmt_fail(err, line, NULL, "line %u: %s \"%s\" has decimals; %s has none", line, what,
                            fg_stmt_excerpt(s, n, text), cur->code);
    return fg_stmt_fail(err, line, NULL, "line %u: %s \"%s\" has more decimals than %s's %d", line, what,
                        fg_stmt_excerpt(s, n, text), cur->code, cur->exponent);
}

/* "1.500.000", "-2.000", "1.234,56": dots between groups of three digits, a
 * decimal comma.  Plain digits are accepted too. */
static int amount_vn(const char *text, const fg_currency_t *cur, uint32_t line, const char *what, int64_t *out,
                     fg_stmt_error_t *err)
{
    char plain[AMOUNT_TEXT_MAX + 1], shown[40];
    size_t n, k = 0, group = 0, i = 0;
    const char *s = trim(text, &n);
    int dots = 0, comma = 0, ok = n > 0 && n <= AMOUNT_TEXT_MAX;
    if (ok && s[0] == '-')
        plain[k++] = s[i++];
    for (; ok && i < n; i++) {
        if (is_digit(s[i])) {
            plain[k++] = s[i];
            group++;
        } else if (s[i] == '.' && !comma && group >= 1 && (dots ? group == 3 : group <= 3)) {
            dots = 1, group = 0;
        } else if (s[i] == ',' && !comma && group >= 1 && (!dots || group == 3)) {
            plain[k++] = ',';
            comma = 1, group = 0;
        } else {
            ok = 0;
        }
    }
    ok = ok && group > 0 && (!dots || comma || group == 3);
    if (!ok)
        return fg_stmt_fail(err, line, NULL, "line %u: %s \"%s\" is not an amount like 1.500.000", line, what,
                            fg_stmt_excerpt(s, n, shown));
    int rc = fg_money_parse(plain, k, cur->exponent, 1, out);
    return rc != 0 ? amount_refused(rc, s, n, cur, line, what, err) : 0;
}

/* "-15000", "12.50": our own layout's amounts. */
static int amount_plain(const char *s, const fg_currency_t *cur, uint32_t line, const char *what, int64_t *out,
                        fg_stmt_error_t *err)
{
    char shown[40];
    size_t n = strlen(s), i = s[0] == '-' || s[0] == '+', whole = 0, fraction = 0;
    while (i < n && is_digit(s[i]))
        i++, whole++;
    if (i < n && s[i] == '.')
        for (i++, fraction = 1; i < n && is_digit(s[i]); i++)
            fraction++;
    if (i != n || whole == 0 || fraction == 1 || n > AMOUNT_TEXT_MAX)
        return fg_stmt_fail(err, line, NULL, "line %u: %s \"%s\" is not an amount like -15000 or 12.50", line, what,
                            fg_stmt_excerpt(s, n, shown));
    int rc = fg_money_parse(s, n, cur->exponent, 0, out);
    return rc != 0 ? amount_refused(rc, s, n, cur, line, what, err) : 0;
}

/* Reads "dd/mm/yyyy" (or d/m/yyyy) at s; returns its length, 0 when s does not start with one. */
static size_t date_shape(const char *s, size_t n, int *y, int *m, int *d)
{
    size_t i = 0;
    int part[3] = {0, 0, 0};
    for (int p = 0; p < 3; p++) {
        size_t start = i, max = p == 2 ? 4 : 2;
        while (i < n && is_digit(s[i]) && i - start < max)
            part[p] = part[p] * 10 + (s[i++] - '0');
        if (i == start || (p == 2 && i - start != 4) || (p < 2 && (i >= n || s[i++] != '/')))
            return 0;
    }
    if (i < n && is_digit(s[i]))
        return 0;
    *d = part[0], *m = part[1], *y = part[2];
    return i;
}

/* A csv-vn date cell: the first line's "dd/mm/yyyy". */
static int date_vn(const char *text, uint32_t line, int32_t *out, fg_stmt_error_t *err)
{
    char shown[40];
    size_t n, len = 0;
    int y, m, d;
    const char *s = trim(text, &n);
    while (len < n && s[len] != '\r' && s[len] != '\n')
        len++;
    while (len > 0 && is_space(s[len - 1]))
        len--;
    size_t shape = date_shape(s, len, &y, &m, &d);
    if (shape == 0 || (shape < len && s[shape] != ' '))
        return fg_stmt_fail(err, line, NULL, "line %u: transaction date \"%s\" is not a date dd/mm/yyyy", line,
                            fg_stmt_excerpt(s, len, shown));
    if (fg_stmt_date(y, m, d, out) != 0)
        return fg_stmt_fail(err, line, NULL, "line %u: transaction date \"%s\" does not exist", line,
                            fg_stmt_excerpt(s, shape, shown));
    return 0;
}

/* Our own layout's "yyyy-mm-dd". */
static int date_iso(const char *s, uint32_t line, const char *what, int32_t *out, fg_stmt_error_t *err)
{
    char shown[40];
    size_t n = strlen(s);
    int ok = n == 10 && s[4] == '-' && s[7] == '-';
    for (size_t i = 0; ok && i < n; i++)
        ok = i == 4 || i == 7 || is_digit(s[i]);
    if (!ok || fg_stmt_date(atoi(s), atoi(s + 5), atoi(s + 8), out) != 0)
        return fg_stmt_fail(err, line, NULL, "line %u: %s \"%s\" is not a date yyyy-mm-dd", line, what,
                            fg_stmt_excerpt(s, n, shown));
    return 0;
}

/* An amount in minor units as the statement writes it, for messages: "104.500.000", "-12,50". */
static const char *format_vn(int64_t amount, int exponent, char out[48])
{
    char plain[32];
    int n = fg_money_format(amount, exponent, plain, sizeof(plain));
    int sign = plain[0] == '-', whole = (exponent > 0 ? n - exponent - 1 : n) - sign, k = 0;
    if (sign)
        out[k++] = '-';
    for (int i = 0; i < whole; i++) {
        if (i > 0 && (whole - i) % 3 == 0)
            out[k++] = '.';
        out[k++] = plain[sign + i];
    }
    for (int i = sign + whole; i < n; i++)
        out[k++] = plain[i] == '.' ? ',' : plain[i];
    out[k] = '\0';
    return out;
}

/* ---- the statement ------------------------------------------------------- */

static int begin_statement(csv_t *c)
{
    memcpy(c->header.currency, c->currency->code, 4);
    c->total = c->header.has_opening ? c->header.opening : 0;
    c->started = 1;
    return c->sink->statement(c->sink->arg, &c->header);
}

static int add_line(csv_t *c, uint32_t line, fg_stmt_error_t *err)
{
    /* |amount| <= FG_AMOUNT_MAX: its negation cannot overflow */
    int64_t amount = c->entry.amount, *sum = amount > 0 ? &c->credits : &c->debits;
    if (fg_money_add(c->total, amount, &c->total) != 0 || fg_money_add(*sum, amount > 0 ? amount : -amount, sum) != 0)
        return fg_stmt_fail(err, line, NULL, "line %u: the statement's total overflows", line);
    return c->sink->line(c->sink->arg, &c->header, &c->entry);
}

/* The closing balance: checked against the opening balance and the lines when there is one. */
static int close_statement(csv_t *c, uint32_t line, fg_stmt_error_t *err)
{
    char a[48], b[48];
    fg_stmt_header_t *h = &c->header;
    if (h->has_opening && h->closing != c->total) {
        /* the sink sees the end first and may say how it does not balance
         * (the import answers 422 with the three figures) */
        h->has_closing = 1;
        int rc = c->sink->statement_end(c->sink->arg, h);
        return rc != 0 ? rc
                       : fg_stmt_fail(err, line, NULL,
                                      "line %u: closing balance %s is not the opening balance plus the lines (%s)",
                                      line, format_vn(h->closing, c->currency->exponent, a),
                                      format_vn(c->total, c->currency->exponent, b));
    }
    h->has_closing = 1;
    c->closed = 1;
    return c->sink->statement_end(c->sink->arg, h);
}

/* ---- csv: our own layout ------------------------------------------------- */

static int row_empty(const csv_t *c)
{
    for (size_t i = 0; i < c->ncells; i++)
        if (!blank(cell(c, (int)i)))
            return 0;
    return 1;
}

static const char *const OWN_COLUMNS[] = {"account",  "currency",   "booking_date", "value_date", "amount",
                                          "bank_ref", "end_to_end", "counterparty", "memo"};
#define OWN_COLUMN_COUNT (sizeof(OWN_COLUMNS) / sizeof(OWN_COLUMNS[0]))

static int own_header(csv_t *c, uint32_t line, fg_stmt_error_t *err)
{
    int ok = c->ncells == OWN_COLUMN_COUNT;
    for (size_t i = 0; ok && i < OWN_COLUMN_COUNT; i++)
        ok = strcmp(cell(c, (int)i), OWN_COLUMNS[i]) == 0;
    if (!ok)
        return fg_stmt_fail(err, line, NULL,
                            "line %u: the first row is not the header "
                            "account,currency,booking_date,value_date,amount,bank_ref,end_to_end,counterparty,memo",
                            line);
    c->has_header = 1;
    return 0;
}

/* The account and currency of a row: the file's, or they become the file's. */
static int own_account(csv_t *c, uint32_t line, fg_stmt_error_t *err)
{
    char shown[40], account[FG_STMT_ACCOUNT_MAX + 1];
    const char *written = cell(c, 0), *code = cell(c, 1);
    const fg_currency_t *cur = fg_currency_find(code, strlen(code));
    if (cur == NULL)
        return fg_stmt_fail(err, line, NULL, "line %u: currency \"%s\" is not an ISO 4217 code", line,
                            fg_stmt_excerpt(code, strlen(code), shown));
    int rc = fg_stmt_account(written, strlen(written), account, line, NULL, "account", err);
    if (rc != 0)
        return rc;
    if (!c->started) {
        memcpy(c->header.account, account, sizeof(account));
        c->currency = cur;
        return 0;
    }
    if (strcmp(account, c->header.account) != 0)
        return fg_stmt_fail(err, line, NULL, "line %u: account \"%s\", the file's account is \"%s\"", line, account,
                            c->header.account);
    if (cur != c->currency)
        return fg_stmt_fail(err, line, NULL, "line %u: currency %s, the file is in %s", line, cur->code,
                            c->currency->code);
    return 0;
}

/* An "opening" or "closing" row. */
static int own_balance(csv_t *c, int opening, uint32_t line, fg_stmt_error_t *err)
{
    fg_stmt_header_t *h = &c->header;
    int32_t date = 0;
    int64_t amount;
    int rc;
    if (opening && c->started)
        return fg_stmt_fail(err, line, NULL, "line %u: the opening row must come before every other row", line);
    if (cell(c, 3)[0] != '\0' && (rc = date_iso(cell(c, 3), line, "value_date", &date, err)) != 0)
        return rc;
    if ((rc = amount_plain(cell(c, 4), c->currency, line, opening ? "opening balance" : "closing balance", &amount,
                           err)) != 0)
        return rc;
    if (opening) {
        h->has_opening = 1, h->opening = amount, h->opening_date = date;
        return begin_statement(c);
    }
    if (!c->started && (rc = begin_statement(c)) != 0)
        return rc;
    h->closing = amount, h->closing_date = date;
    return close_statement(c, line, err);
}

static int own_line(csv_t *c, uint32_t line, fg_stmt_error_t *err)
{
    fg_stmt_line_t *l = &c->entry;
    int rc;
    memset(l, 0, sizeof(*l));
    l->source_line = line;
    if ((rc = date_iso(cell(c, 2), line, "booking_date", &l->booking_date, err)) != 0)
        return rc;
    l->value_date = l->booking_date;
    if (cell(c, 3)[0] != '\0' && (rc = date_iso(cell(c, 3), line, "value_date", &l->value_date, err)) != 0)
        return rc;
    if ((rc = amount_plain(cell(c, 4), c->currency, line, "amount", &l->amount, err)) != 0)
        return rc;
    if (l->amount == 0)
        return fg_stmt_fail(err, line, NULL, "line %u: amount is zero", line);
    if (l->amount > FG_AMOUNT_MAX || l->amount < -FG_AMOUNT_MAX)
        return fg_stmt_fail(err, line, NULL, "line %u: the amount is over %lld", line, (long long)FG_AMOUNT_MAX);
    if ((rc = flatten(l->bank_ref, sizeof(l->bank_ref), cell(c, 5), line, "bank_ref", err)) != 0 ||
        (rc = flatten(l->end_to_end, sizeof(l->end_to_end), cell(c, 6), line, "end_to_end", err)) != 0 ||
        (rc = flatten(l->counterparty, sizeof(l->counterparty), cell(c, 7), line, "counterparty", err)) != 0 ||
        (rc = flatten(l->memo, sizeof(l->memo), cell(c, 8), line, "memo", err)) != 0)
        return rc;
    if (!c->started && (rc = begin_statement(c)) != 0)
        return rc;
    return add_line(c, line, err);
}

static int own_row(csv_t *c, uint32_t line, fg_stmt_error_t *err)
{
    int rc;
    if (row_empty(c))
        return 0;
    if (!c->has_header)
        return own_header(c, line, err);
    if (c->closed)
        return fg_stmt_fail(err, line, NULL, "line %u: a row after the closing row", line);
    if (c->ncells != OWN_COLUMN_COUNT)
        return fg_stmt_fail(err, line, NULL, "line %u: %zu cells, the layout has %zu", line, c->ncells,
                            OWN_COLUMN_COUNT);
    if ((rc = own_account(c, line, err)) != 0)
        return rc;
    const char *booking = cell(c, 2);
    if (strcmp(booking, "opening") == 0 || strcmp(booking, "closing") == 0)
        return own_balance(c, booking[0] == 'o', line, err);
    return own_line(c, line, err);
}

static int own_finish(csv_t *c, fg_stmt_error_t *err)
{
    if (!c->has_header)
        return fg_stmt_fail(err, c->last_line, NULL, "the file is empty (no header row)");
    if (!c->started)
        return fg_stmt_fail(err, c->last_line, NULL, "line %u: no rows after the header", c->last_line);
    return c->closed ? 0 : c->sink->statement_end(c->sink->arg, &c->header);
}

/* ---- csv-vn: a Vietnamese bank's export ---------------------------------- */

/* Column and row names, folded (fold()): lower case, without diacritics. */
static const char *const COLUMN_NAMES[COL_COUNT][12] = {
    [COL_NO] = {"stt", "no", "so tt", "so thu tu", NULL},
    [COL_DATE] = {"ngay giao dich", "transaction date", "ngay gd", "ngay", "date", "txn date", NULL},
    [COL_REF] = {"so tham chieu", "reference", "ref", "so ct", "so chung tu", "reference no", "ref no", "ma giao dich",
                 "transaction no", "so but toan", NULL},
    [COL_DEBIT] = {"ghi no", "debit", "so tien ghi no", "debit amount", "phat sinh no", "withdrawal", NULL},
    [COL_CREDIT] = {"ghi co", "credit", "so tien ghi co", "credit amount", "phat sinh co", "deposit", NULL},
    [COL_BALANCE] = {"so du", "balance", "running balance", NULL},
    [COL_DESCRIPTION] = {"noi dung chi tiet", "description", "noi dung", "dien giai", "chi tiet", "details",
                         "transaction details", "narrative", "remarks", "mo ta", NULL},
};
static const char *const OPENING_NAMES[] = {"so du dau ky", "opening balance", "so du dau", NULL};
static const char *const CLOSING_NAMES[] = {"so du cuoi ky", "closing balance", "so du cuoi", NULL};
static const char *const TOTAL_NAMES[] = {"tong cong", "tong", "tong so", "total", "cong phat sinh", NULL};
static const char *const ACCOUNT_NAMES[] = {
    "so tai khoan", "account number", "account no", "account", "tai khoan", "stk", NULL};
static const char *const PERIOD_NAMES[] = {"tu ngay", "from", "from date", "ky sao ke", "period", NULL};
static const char *const CURRENCY_NAMES[] = {"loai tien", "currency", "loai tien te", "ccy", NULL};

/* What a row is, by a label in a cell that is not text of a line. */
static label_t row_label(const csv_t *c)
{
    for (size_t i = 0; i < c->ncells; i++) {
        if ((int)i == c->col[COL_DESCRIPTION] || (int)i == c->col[COL_REF])
            continue;
        const char *text = cell(c, (int)i);
        if (text[0] == '\0' || is_digit(text[0]))
            continue;
        if (cell_matches(text, OPENING_NAMES))
            return LABEL_OPENING;
        if (cell_matches(text, CLOSING_NAMES))
            return LABEL_CLOSING;
        if (cell_matches(text, TOTAL_NAMES))
            return LABEL_TOTAL;
    }
    return LABEL_NONE;
}

/* The header row: 1 when the row names the required columns (c->col set). */
static int header_row(csv_t *c, uint32_t line, fg_stmt_error_t *err)
{
    int col[COL_COUNT], twice = -1;
    for (int k = 0; k < COL_COUNT; k++)
        col[k] = -1;
    for (size_t i = 0; i < c->ncells; i++)
        for (int k = 0; k < COL_COUNT; k++) {
            if (!cell_matches(cell(c, (int)i), COLUMN_NAMES[k]))
                continue;
            if (col[k] < 0)
                col[k] = (int)i;
            else if (twice < 0)
                twice = (int)i;
        }
    if (col[COL_DATE] < 0 || col[COL_DEBIT] < 0 || col[COL_CREDIT] < 0 || col[COL_BALANCE] < 0)
        return 0;
    if (twice >= 0)
        return fg_stmt_fail(err, line, NULL, "line %u: column %d names a column named before it", line, twice + 1);
    memcpy(c->col, col, sizeof(col));
    return 1;
}

/* The text after "label:" in cell i, or else the next cell that is not empty, trimmed. */
static const char *title_value(const csv_t *c, size_t i, size_t *n)
{
    const char *colon = strchr(cell(c, (int)i), ':');
    const char *s = trim(colon != NULL ? colon + 1 : "", n);
    for (size_t j = i + 1; *n == 0 && j < c->ncells; j++)
        s = trim(cell(c, (int)j), n);
    return s;
}

static int title_account(csv_t *c, size_t i, uint32_t line, fg_stmt_error_t *err)
{
    size_t n, len = 0;
    const char *s = title_value(c, i, &n);
    /* the number, also when written in groups ("0011 001 932418"), without
     * what may follow it ("0011001932418 VND", "… - CONG TY A"): a space
     * goes on only into a group that starts with a digit */
    for (;;) {
        while (len < n && !is_space(s[len]))
            len++;
        size_t next = len;
        while (next < n && is_space(s[next]))
            next++;
        if (next == len || next == n || !is_digit(s[next]))
            break;
        len = next;
    }
    int rc = fg_stmt_account(s, len, c->header.account, line, NULL, "account number", err);
    if (rc != 0)
        return rc;
    c->has_account = 1;
    return 0;
}

/* "Từ ngày / From: 02/12/2026  Đến ngày / To: 02/12/2026": the first two dates from cell i on. */
static int title_period(csv_t *c, size_t i, uint32_t line, fg_stmt_error_t *err)
{
    int32_t dates[2] = {0, 0};
    int found = 0;
    for (size_t j = i; j < c->ncells && found < 2; j++) {
        const char *s = cell(c, (int)j);
        size_t n = strlen(s);
        for (size_t k = 0; k < n && found < 2; k++) {
            int y, m, d;
            size_t len = (k > 0 && is_digit(s[k - 1])) ? 0 : date_shape(s + k, n - k, &y, &m, &d);
            if (len == 0)
                continue;
            if (fg_stmt_date(y, m, d, &dates[found++]) != 0)
                return fg_stmt_fail(err, line, NULL, "line %u: the period's date \"%.*s\" does not exist", line,
                                    (int)len, s + k);
            k += len - 1;
        }
    }
    if (found == 0)
        return fg_stmt_fail(err, line, NULL, "line %u: the period names no date dd/mm/yyyy", line);
    c->header.from_date = dates[0];
    c->header.to_date = found == 2 ? dates[1] : 0;
    return 0;
}

static int title_currency(csv_t *c, size_t i, uint32_t line, fg_stmt_error_t *err)
{
    char shown[40];
    size_t n, len = 0;
    const char *s = title_value(c, i, &n);
    while (len < n && !is_space(s[len]))
        len++;
    const fg_currency_t *cur = fg_currency_find(s, len);
    if (cur == NULL)
        return fg_stmt_fail(err, line, NULL, "line %u: currency \"%s\" is not an ISO 4217 code", line,
                            fg_stmt_excerpt(s, len, shown));
    c->currency = cur;
    return 0;
}

/* A row of the title block: the account, the period, the currency, or text to skip. */
static int title_row(csv_t *c, uint32_t line, fg_stmt_error_t *err)
{
    for (size_t i = 0; i < c->ncells; i++) {
        const char *text = cell(c, (int)i), *colon = strchr(text, ':');
        char folded[LABEL_MAX + 1];
        if (colon == NULL || fold(text, (size_t)(colon - text), folded) != 0)
            continue;
        if (names_match(folded, ACCOUNT_NAMES))
            return title_account(c, i, line, err);
        if (names_match(folded, PERIOD_NAMES))
            return title_period(c, i, line, err);
        if (names_match(folded, CURRENCY_NAMES))
            return title_currency(c, i, line, err);
    }
    if (++c->title_rows > TITLE_ROWS_MAX)
        return fg_stmt_fail(err, line, NULL, "line %u: no header row naming the columns in the first %d rows", line,
                            TITLE_ROWS_MAX);
    return 0;
}

/* The opening balance (text from its row's Balance column): the statement starts. */
static int vn_opening(csv_t *c, const char *text, uint32_t line, fg_stmt_error_t *err)
{
    int rc;
    if (c->started)
        return fg_stmt_fail(err, line, NULL, "line %u: a second opening balance row", line);
    if (!c->has_account)
        return fg_stmt_fail(err, line, NULL,
                            "line %u: no account number (a row \"Số tài khoản / Account number: …\") before the "
                            "opening balance",
                            line);
    if (blank(text))
        return fg_stmt_fail(err, line, NULL, "line %u: the opening balance row has nothing in the Balance column",
                            line);
    if ((rc = amount_vn(text, c->currency, line, "opening balance", &c->header.opening, err)) != 0)
        return rc;
    c->header.has_opening = 1;
    return begin_statement(c);
}

static int vn_closing(csv_t *c, uint32_t line, fg_stmt_error_t *err)
{
    const char *text = cell(c, c->col[COL_BALANCE]);
    int rc;
    if (!c->started)
        return fg_stmt_fail(err, line, NULL, "line %u: a closing balance row before the opening balance row", line);
    if (blank(text))
        return fg_stmt_fail(err, line, NULL, "line %u: the closing balance row has nothing in the Balance column",
                            line);
    if ((rc = amount_vn(text, c->currency, line, "closing balance", &c->header.closing, err)) != 0)
        return rc;
    /* The row names no date: the balance is the period's, at its last day
     * ("Đến ngày / To"), as camt's CLBD and MT940's :62F: carry theirs.  A
     * title with one date only leaves it undated: the export may have been
     * taken any day after. */
    c->header.closing_date = c->header.to_date;
    c->stage = STAGE_DONE;
    return close_statement(c, line, err);
}

/* A totals row: its debit and credit, where given, are the lines' sums. */
static int vn_totals(csv_t *c, uint32_t line, fg_stmt_error_t *err)
{
    static const char *const WHAT[2] = {"total debit", "total credit"};
    const int64_t sums[2] = {c->debits, c->credits};
    const int cols[2] = {c->col[COL_DEBIT], c->col[COL_CREDIT]};
    char a[48], b[48];
    for (int k = 0; k < 2; k++) {
        int64_t v;
        int rc;
        if (blank(cell(c, cols[k])))
            continue;
        if ((rc = amount_vn(cell(c, cols[k]), c->currency, line, WHAT[k], &v, err)) != 0)
            return rc;
        if (v != sums[k])
            return fg_stmt_fail(err, line, NULL, "line %u: %s %s is not the sum of the lines (%s)", line, WHAT[k],
                                format_vn(v, c->currency->exponent, a), format_vn(sums[k], c->currency->exponent, b));
    }
    return 0;
}

/* The debit or credit of a line: exactly one of the two, 0 counting as empty. */
static int vn_amount(csv_t *c, uint32_t line, int64_t *out, fg_stmt_error_t *err)
{
    int64_t debit = 0, credit = 0;
    int rc;
    const char *dt = cell(c, c->col[COL_DEBIT]), *ct = cell(c, c->col[COL_CREDIT]);
    if (!blank(dt) && (rc = amount_vn(dt, c->currency, line, "debit", &debit, err)) != 0)
        return rc;
    if (!blank(ct) && (rc = amount_vn(ct, c->currency, line, "credit", &credit, err)) != 0)
        return rc;
    if (debit < 0 || credit < 0)
        return fg_stmt_fail(err, line, NULL, "line %u: a debit or credit is negative", line);
    if (debit != 0 && credit != 0)
        return fg_stmt_fail(err, line, NULL, "line %u: both a debit and a credit amount", line);
    if (debit == 0 && credit == 0)
        return fg_stmt_fail(err, line, NULL, "line %u: neither a debit nor a credit amount", line);
    if (debit > FG_AMOUNT_MAX || credit > FG_AMOUNT_MAX)
        return fg_stmt_fail(err, line, NULL, "line %u: the amount is over %lld", line, (long long)FG_AMOUNT_MAX);
    *out = credit != 0 ? credit : -debit;
    return 0;
}

static int vn_line(csv_t *c, uint32_t line, fg_stmt_error_t *err)
{
    fg_stmt_line_t *l = &c->entry;
    const char *balance = cell(c, c->col[COL_BALANCE]);
    char a[48], b[48];
    int64_t running;
    int rc;
    if (!c->started)
        return fg_stmt_fail(err, line, NULL, "line %u: a line before the opening balance row", line);
    memset(l, 0, sizeof(*l));
    l->source_line = line;
    if ((rc = date_vn(cell(c, c->col[COL_DATE]), line, &l->booking_date, err)) != 0 ||
        (rc = vn_amount(c, line, &l->amount, err)) != 0 ||
        (rc = flatten(l->bank_ref, sizeof(l->bank_ref), cell(c, c->col[COL_REF]), line, "the reference", err)) != 0 ||
        (rc = flatten(l->memo, sizeof(l->memo), cell(c, c->col[COL_DESCRIPTION]), line, "the description", err)) != 0)
        return rc;
    l->value_date = l->booking_date;
    if (fg_money_add(c->total, l->amount, &running) != 0)
        return fg_stmt_fail(err, line, NULL, "line %u: the statement's total overflows", line);
    if (!blank(balance)) {
        int64_t given;
        if ((rc = amount_vn(balance, c->currency, line, "balance", &given, err)) != 0)
            return rc;
        if (given != running)
            return fg_stmt_fail(err, line, NULL,
                                "line %u: balance %s is not the opening balance plus the lines so far (%s)", line,
                                format_vn(given, c->currency->exponent, a),
                                format_vn(running, c->currency->exponent, b));
    }
    return add_line(c, line, err);
}

/* Before the header row: the title block and perhaps the opening balance row. */
static int vn_title_stage(csv_t *c, label_t label, uint32_t line, fg_stmt_error_t *err)
{
    if (label == LABEL_OPENING) {
        if (c->has_pending_opening)
            return fg_stmt_fail(err, line, NULL, "line %u: a second opening balance row", line);
        c->has_pending_opening = 1;
        c->opening_line = line;
        c->opening_ncells = c->ncells;
        for (size_t i = 0; i < c->ncells; i++) {
            size_t n;
            const char *t = trim(cell(c, (int)i), &n);
            snprintf(c->opening_cells[i], sizeof(c->opening_cells[i]), "%.*s", (int)n, t);
        }
        return 0;
    }
    if (label == LABEL_CLOSING)
        return fg_stmt_fail(err, line, NULL, "line %u: a closing balance row before the header row", line);
    int rc = header_row(c, line, err);
    if (rc < 0)
        return rc;
    if (rc == 0)
        return title_row(c, line, err);
    c->stage = STAGE_BODY;
    if (!c->has_pending_opening)
        return 0;
    size_t col = (size_t)c->col[COL_BALANCE];
    return vn_opening(c, col < c->opening_ncells ? c->opening_cells[col] : "", c->opening_line, err);
}

static int vn_row(csv_t *c, uint32_t line, fg_stmt_error_t *err)
{
    if (row_empty(c))
        return 0;
    label_t label = row_label(c);
    switch (c->stage) {
    case STAGE_TITLE: return vn_title_stage(c, label, line, err);
    case STAGE_BODY:
        if (label == LABEL_OPENING)
            return vn_opening(c, cell(c, c->col[COL_BALANCE]), line, err);
        if (label == LABEL_CLOSING)
            return vn_closing(c, line, err);
        if (label == LABEL_TOTAL)
            return vn_totals(c, line, err);
        if (cell_matches(cell(c, c->col[COL_DATE]), COLUMN_NAMES[COL_DATE]))
            return 0; /* the header again, at the top of a page */
        return vn_line(c, line, err);
    case STAGE_DONE: break;
    }
    if (label == LABEL_TOTAL)
        return vn_totals(c, line, err);
    if (!blank(cell(c, c->col[COL_DEBIT])) || !blank(cell(c, c->col[COL_CREDIT])) || label != LABEL_NONE)
        return fg_stmt_fail(err, line, NULL, "line %u: a row with an amount after the closing balance row", line);
    return 0; /* notes and signatures under the statement */
}

static int vn_finish(csv_t *c, fg_stmt_error_t *err)
{
    uint32_t line = c->last_line;
    if (line == 0)
        return fg_stmt_fail(err, 0, NULL, "the file is empty (no header row)");
    if (c->stage == STAGE_TITLE)
        return fg_stmt_fail(err, line, NULL,
                            "line %u: no header row naming the columns (Ngày giao dịch / Transaction date, Ghi nợ / "
                            "Debit, Ghi có / Credit, Số dư / Balance)",
                            line);
    if (!c->started)
        return fg_stmt_fail(err, line, NULL, "line %u: no opening balance row (Số dư đầu kỳ / Opening balance)", line);
    if (!c->closed)
        return fg_stmt_fail(err, line, NULL,
                            "line %u: the file ends without the closing balance row (Số dư cuối kỳ / Closing balance)",
                            line);
    return 0;
}

/* ---- reading rows -------------------------------------------------------- */

static int push(csv_t *c, char ch, fg_stmt_error_t *err)
{
    if (c->row_len >= ROW_BYTES_MAX)
        return fg_stmt_fail(err, c->row_line, NULL, "line %u: the row is longer than %d bytes", c->row_line,
                            ROW_BYTES_MAX);
    c->row[c->row_len++] = ch;
    return 0;
}

static int end_cell(csv_t *c, fg_stmt_error_t *err)
{
    if (c->ncells == ROW_CELLS_MAX)
        return fg_stmt_fail(err, c->row_line, NULL, "line %u: more than %d cells", c->row_line, ROW_CELLS_MAX);
    int rc = push(c, '\0', err);
    if (rc != 0)
        return rc;
    c->cells[c->ncells++] = c->cell_start;
    c->cell_start = c->row_len;
    c->lex = LEX_START;
    return 0;
}

static int end_row(csv_t *c, fg_stmt_error_t *err)
{
    uint32_t line = c->row_line;
    int rc = end_cell(c, err);
    if (rc != 0)
        return rc;
    if (!fg_utf8_valid(c->row, c->row_len))
        return fg_stmt_fail(err, line, NULL, "line %u: the row is not UTF-8 text", line);
    c->last_line = line;
    rc = c->format == FG_STMT_CSV ? own_row(c, line, err) : vn_row(c, line, err);
    c->ncells = c->row_len = c->cell_start = 0;
    c->row_line = c->line + 1;
    return rc;
}

static int lex_byte(csv_t *c, char ch, fg_stmt_error_t *err)
{
    if (ch == '\0')
        return fg_stmt_fail(err, c->line, NULL, "line %u: a NUL byte", c->line);
    switch (c->lex) {
    case LEX_START:
        if (ch == '"') {
            c->lex = LEX_QUOTED;
            c->quote_line = c->line;
            return 0;
        }
        c->lex = LEX_PLAIN;
        /* fall through */
    case LEX_PLAIN:
        if (ch == ',')
            return end_cell(c, err);
        if (ch == '\n')
            return end_row(c, err);
        return ch == '\r' ? 0 : push(c, ch, err);
    case LEX_QUOTED:
        if (ch == '"') {
            c->lex = LEX_QUOTE;
            return 0;
        }
        return push(c, ch, err);
    case LEX_QUOTE:
        if (ch == '"') {
            c->lex = LEX_QUOTED;
            return push(c, '"', err);
        }
        if (ch == ',')
            return end_cell(c, err);
        if (ch == '\n')
            return end_row(c, err);
        if (ch == '\r' || ch == ' ' || ch == '\t')
            return 0;
        return fg_stmt_fail(err, c->line, NULL, "line %u: text after the closing quote of a cell", c->line);
    }
    return 0;
}

static int lex(csv_t *c, const char *data, size_t len, fg_stmt_error_t *err)
{
    for (size_t i = 0; i < len; i++) {
        int rc = lex_byte(c, data[i], err);
        if (rc != 0)
            return rc;
        if (data[i] == '\n')
            c->line++;
    }
    return 0;
}

/* ---- the reader ---------------------------------------------------------- */

static void *create(fg_stmt_format_t format, const fg_stmt_sink_t *sink)
{
    csv_t *c = calloc(1, sizeof(*c));
    if (c == NULL)
        return NULL;
    c->sink = sink;
    c->format = format;
    c->line = c->row_line = 1;
    c->currency = fg_currency_find("VND", 3);
    for (int k = 0; k < COL_COUNT; k++)
        c->col[k] = -1;
    return c;
}

static int feed(void *state, const char *data, size_t len, fg_stmt_error_t *err)
{
    csv_t *c = state;
    /* a byte order mark, perhaps split across chunks */
    while (!c->bom_done && len > 0) {
        c->bom[c->bom_len++] = *data++;
        len--;
        if (memcmp(c->bom, "\xEF\xBB\xBF", c->bom_len) != 0) {
            c->bom_done = 1;
            int rc = lex(c, c->bom, c->bom_len, err);
            if (rc != 0)
                return rc;
        } else if (c->bom_len == 3) {
            c->bom_done = 1;
        }
    }
    return lex(c, data, len, err);
}

static int finish(void *state, fg_stmt_error_t *err)
{
    csv_t *c = state;
    int rc;
    if (!c->bom_done) {
        c->bom_done = 1; /* fewer bytes than a byte order mark, and a prefix of one */
        if ((rc = lex(c, c->bom, c->bom_len, err)) != 0)
            return rc;
    }
    if (c->lex == LEX_QUOTED)
        return fg_stmt_fail(err, c->quote_line, NULL, "line %u: a quoted cell opened here is never closed",
                            c->quote_line);
    if ((c->lex != LEX_START || c->ncells > 0 || c->row_len > 0) && (rc = end_row(c, err)) != 0)
        return rc;
    return c->format == FG_STMT_CSV ? own_finish(c, err) : vn_finish(c, err);
}

static void destroy(void *state) { free(state); }

const fg_stmt_reader_t fg_stmt_csv_reader = {create, feed, finish, destroy};
