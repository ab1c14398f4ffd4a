/*
 * camt.c - ISO 20022 camt.053 (BkToCstmrStmt/Stmt, end-of-day statements)
 * and camt.054 (BkToCstmrDbtCdtNtfctn/Ntfctn, debit and credit
 * notifications), message versions 001.02 to 001.08, read as a stream with
 * libexpat (statement.h).
 *
 * Element names arrive as written ("camt:Ntry" or "Ntry"); the prefix is
 * stripped and the root's namespace alone says which message and version the
 * file is.  Each open element is a token on a stack, and a field is a path of
 * tokens below Stmt/Ntfctn (FIELDS).  A field's text is collected into one
 * buffer with the field's cap and handled when the element ends; an entry is
 * checked and delivered at </Ntry>, a statement announced before its first
 * line and closed at </Stmt>.
 *
 * Memory is a constant whatever the file: the text buffer, one entry, one
 * balance, DEPTH_MAX open elements, and what expat holds, which is bounded
 * here too: a DOCTYPE is refused (no entities, so no entity expansion), an
 * unfinished token may not pass TOKEN_BYTES_MAX, and expat's table of
 * element and attribute names, kept until the parser is freed, may not pass
 * NAMES_DISTINCT_MAX names of ELEMENT_NAME_MAX bytes.
 */
#include "recon/statement_internal.h"

#include <assert.h>
#include <expat.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/day.h"
#include "core/money.h"

/* Elements open at once.  The deepest path read is 10 levels
 * (Document/BkToCstmrStmt/Stmt/Ntry/NtryDtls/TxDtls/RltdPties/Dbtr/Pty/Nm);
 * supplementary data nests deeper, but nowhere near this.  Also bounds
 * expat's stack of open tags. */
#define DEPTH_MAX 64
/* Bytes of an element's name kept for error paths ("BkToCstmrDbtCdtNtfctn"
 * is camt's longest at 21); a longer name is shown cut. */
#define NAME_SHOWN_MAX 24
/* The longest element or attribute name accepted, prefix included: expat
 * keeps every distinct name until the parser is freed. */
#define ELEMENT_NAME_MAX 128
/* Distinct element and attribute names in one file.  The camt.053.001.08
 * schema has fewer than 700; a file inventing names is refused before
 * expat's name table grows with it. */
#define NAMES_DISTINCT_MAX 2048
/* Slots of the table of names seen: a power of two, twice NAMES_DISTINCT_MAX
 * so that probes stay short and always find an empty slot. */
#define NAMES_SLOTS 4096
/* Bytes of one unfinished token (a tag with its attributes, a comment, a
 * processing instruction) that expat may hold: it buffers a token whole
 * until the token ends, and no camt tag comes near this. */
#define TOKEN_BYTES_MAX (1024 * 1024)
/* Input handed to expat per call, so that TOKEN_BYTES_MAX is checked often
 * whatever the size of the caller's chunks. */
#define SLICE_BYTES (64 * 1024)
/* Caps of texts statement.h does not bound. */
#define DATE_TEXT_MAX 40   /* "2025-09-05T23:59:59.123456789+07:00" is 35 */
#define AMOUNT_TEXT_MAX 40 /* ISO 20022 amounts have 18 digits at most */
#define NUMBER_TEXT_MAX 24 /* ElctrncSeqNb: 18 digits at most */
#define CODE_TEXT_MAX 35   /* codes (OPBD, BOOK, CRDT) and their Max35Text proprietary forms */
#define TX_CODE_MAX 10     /* BkTxCd Domn/Cd, Fmly/Cd, SubFmlyCd: 4 letters in ISO 20022 */

_Static_assert(3 * TX_CODE_MAX + 2 <= FG_STMT_TYPE_MAX, "Domn/Fmly/SubFmly joined fits the line's type");
_Static_assert(FG_STMT_NAME_MAX <= FG_STMT_MEMO_MAX && DATE_TEXT_MAX <= FG_STMT_MEMO_MAX,
               "the text buffer holds every field");
_Static_assert(NAMES_SLOTS >= 2 * NAMES_DISTINCT_MAX && (NAMES_SLOTS & (NAMES_SLOTS - 1)) == 0,
               "the name table never fills and masks its index");

/* ---- element names ------------------------------------------------------ */

/* The element names read (in strcmp order, for the reader's eye). */
#define TOKENS(X)                                                                                                      \
    X(ACCT, "Acct")                                                                                                    \
    X(ACCTSVCRREF, "AcctSvcrRef")                                                                                      \
    X(AMT, "Amt")                                                                                                      \
    X(BAL, "Bal")                                                                                                      \
    X(BKTOCSTMRDBTCDTNTFCTN, "BkToCstmrDbtCdtNtfctn")                                                                  \
    X(BKTOCSTMRSTMT, "BkToCstmrStmt")                                                                                  \
    X(BKTXCD, "BkTxCd")                                                                                                \
    X(BOOKGDT, "BookgDt")                                                                                              \
    X(CCY, "Ccy")                                                                                                      \
    X(CD, "Cd")                                                                                                        \
    X(CDORPRTRY, "CdOrPrtry")                                                                                          \
    X(CDTDBTIND, "CdtDbtInd")                                                                                          \
    X(CDTR, "Cdtr")                                                                                                    \
    X(DBTR, "Dbtr")                                                                                                    \
    X(DOCUMENT, "Document")                                                                                            \
    X(DOMN, "Domn")                                                                                                    \
    X(DT, "Dt")                                                                                                        \
    X(DTTM, "DtTm")                                                                                                    \
    X(ELCTRNCSEQNB, "ElctrncSeqNb")                                                                                    \
    X(ENDTOENDID, "EndToEndId")                                                                                        \
    X(FMLY, "Fmly")                                                                                                    \
    X(FRDTTM, "FrDtTm")                                                                                                \
    X(FRTODT, "FrToDt")                                                                                                \
    X(IBAN, "IBAN")                                                                                                    \
    X(ID, "Id")                                                                                                        \
    X(NM, "Nm")                                                                                                        \
    X(NTFCTN, "Ntfctn")                                                                                                \
    X(NTRY, "Ntry")                                                                                                    \
    X(NTRYDTLS, "NtryDtls")                                                                                            \
    X(OTHR, "Othr")                                                                                                    \
    X(PRTRY, "Prtry")                                                                                                  \
    X(PTY, "Pty")                                                                                                      \
    X(REFS, "Refs")                                                                                                    \
    X(RLTDPTIES, "RltdPties")                                                                                          \
    X(RMTINF, "RmtInf")                                                                                                \
    X(RVSLIND, "RvslInd")                                                                                              \
    X(STMT, "Stmt")                                                                                                    \
    X(STS, "Sts")                                                                                                      \
    X(SUBFMLYCD, "SubFmlyCd")                                                                                          \
    X(TODTTM, "ToDtTm")                                                                                                \
    X(TP, "Tp")                                                                                                        \
    X(TXDTLS, "TxDtls")                                                                                                \
    X(USTRD, "Ustrd")                                                                                                  \
    X(VALDT, "ValDt")

typedef uint8_t tok_t;
enum {
    T_OTHER, /* a name not read */
#define TOKEN_ENUM(tok, name) T_##tok,
    TOKENS(TOKEN_ENUM)
#undef TOKEN_ENUM
        T_COUNT
};
_Static_assert(T_COUNT <= 256, "tokens fit tok_t");

static const char *const TOKEN_NAMES[] = {
#define TOKEN_NAME(tok, name) name,
    TOKENS(TOKEN_NAME)
#undef TOKEN_NAME
};

/* Slots of a parser's table of the names read: a power of two, several
 * times T_COUNT, so that a probe is one or two slots.  Every element of a
 * file is looked up there, a dozen per entry. */
#define TOKEN_SLOTS 256
_Static_assert(TOKEN_SLOTS >= 4 * T_COUNT && (TOKEN_SLOTS & (TOKEN_SLOTS - 1)) == 0,
               "the token table never fills and masks its index");

static size_t token_hash(const char *name, size_t len)
{
    uint32_t hash = 2166136261u; /* FNV-1a */
    for (size_t i = 0; i < len; i++)
        hash = (hash ^ (unsigned char)name[i]) * 16777619u;
    return hash & (TOKEN_SLOTS - 1);
}

/* Fills slots (T_OTHER = empty) with every token, by the hash of its name. */
static void tokens_index(tok_t slots[TOKEN_SLOTS])
{
    for (int tok = 1; tok < T_COUNT; tok++) {
        const char *name = TOKEN_NAMES[tok - 1];
        size_t slot = token_hash(name, strlen(name));
        while (slots[slot] != T_OTHER)
            slot = (slot + 1) & (TOKEN_SLOTS - 1);
        slots[slot] = (tok_t)tok;
    }
}

/* The token of an element's local name, T_OTHER for a name not read. */
static tok_t token(const tok_t slots[TOKEN_SLOTS], const char *local)
{
    size_t len = strlen(local);
    for (size_t slot = token_hash(local, len); slots[slot] != T_OTHER; slot = (slot + 1) & (TOKEN_SLOTS - 1)) {
        const char *name = TOKEN_NAMES[slots[slot] - 1];
        if (strncmp(name, local, len) == 0 && name[len] == '\0')
            return slots[slot];
    }
    return T_OTHER;
}

/* ---- fields -------------------------------------------------------------- */

typedef enum {
    F_STMT_ID,
    F_SEQUENCE,
    F_FROM,
    F_TO,
    F_ACCOUNT,
    F_ACCOUNT_CCY,
    F_BAL_CODE,
    F_BAL_AMOUNT,
    F_BAL_SIGN,
    F_BAL_DATE,
    F_AMOUNT,
    F_SIGN,
    F_REVERSAL,
    F_STATUS,
    F_BOOKED,
    F_VALUE,
    F_REF,
    F_DOMAIN,
    F_FAMILY,
    F_SUBFAMILY,
    F_PROPRIETARY,
    F_TX_REF,
    F_END_TO_END,
    F_DEBTOR,
    F_CREDITOR,
    F_MEMO,
} field_t;

#define PATH_MAX_TOKENS 7

/* A field: its element's path below Stmt/Ntfctn, the longest text taken,
 * and its name in messages. */
typedef struct {
    field_t field;
    size_t cap;
    const char *what;
    uint8_t len;
    tok_t path[PATH_MAX_TOKENS];
} field_spec_t;

static const field_spec_t FIELDS[] = {
    {F_STMT_ID, FG_STMT_REF_MAX, "Id", 1, {T_ID}},
    {F_SEQUENCE, NUMBER_TEXT_MAX, "ElctrncSeqNb", 1, {T_ELCTRNCSEQNB}},
    {F_FROM, DATE_TEXT_MAX, "FrToDt/FrDtTm", 2, {T_FRTODT, T_FRDTTM}},
    {F_TO, DATE_TEXT_MAX, "FrToDt/ToDtTm", 2, {T_FRTODT, T_TODTTM}},
    {F_ACCOUNT, FG_STMT_ACCOUNT_WRITTEN_MAX, "Acct/Id/Othr/Id", 4, {T_ACCT, T_ID, T_OTHR, T_ID}},
    {F_ACCOUNT, FG_STMT_ACCOUNT_WRITTEN_MAX, "Acct/Id/IBAN", 3, {T_ACCT, T_ID, T_IBAN}},
    {F_ACCOUNT_CCY, 3, "Acct/Ccy", 2, {T_ACCT, T_CCY}},
    {F_BAL_CODE, CODE_TEXT_MAX, "Bal/Tp/CdOrPrtry/Cd", 4, {T_BAL, T_TP, T_CDORPRTRY, T_CD}},
    {F_BAL_AMOUNT, AMOUNT_TEXT_MAX, "Bal/Amt", 2, {T_BAL, T_AMT}},
    {F_BAL_SIGN, CODE_TEXT_MAX, "Bal/CdtDbtInd", 2, {T_BAL, T_CDTDBTIND}},
    {F_BAL_DATE, DATE_TEXT_MAX, "Bal/Dt/Dt", 3, {T_BAL, T_DT, T_DT}},
    {F_BAL_DATE, DATE_TEXT_MAX, "Bal/Dt/DtTm", 3, {T_BAL, T_DT, T_DTTM}},
    {F_AMOUNT, AMOUNT_TEXT_MAX, "Ntry/Amt", 2, {T_NTRY, T_AMT}},
    {F_SIGN, CODE_TEXT_MAX, "Ntry/CdtDbtInd", 2, {T_NTRY, T_CDTDBTIND}},
    {F_REVERSAL, CODE_TEXT_MAX, "Ntry/RvslInd", 2, {T_NTRY, T_RVSLIND}},
    {F_STATUS, CODE_TEXT_MAX, "Ntry/Sts", 2, {T_NTRY, T_STS}},
    {F_STATUS, CODE_TEXT_MAX, "Ntry/Sts/Cd", 3, {T_NTRY, T_STS, T_CD}},
    {F_BOOKED, DATE_TEXT_MAX, "Ntry/BookgDt/Dt", 3, {T_NTRY, T_BOOKGDT, T_DT}},
    {F_BOOKED, DATE_TEXT_MAX, "Ntry/BookgDt/DtTm", 3, {T_NTRY, T_BOOKGDT, T_DTTM}},
    {F_VALUE, DATE_TEXT_MAX, "Ntry/ValDt/Dt", 3, {T_NTRY, T_VALDT, T_DT}},
    {F_VALUE, DATE_TEXT_MAX, "Ntry/ValDt/DtTm", 3, {T_NTRY, T_VALDT, T_DTTM}},
    {F_REF, FG_STMT_REF_MAX, "Ntry/AcctSvcrRef", 2, {T_NTRY, T_ACCTSVCRREF}},
    {F_DOMAIN, TX_CODE_MAX, "BkTxCd/Domn/Cd", 4, {T_NTRY, T_BKTXCD, T_DOMN, T_CD}},
    {F_FAMILY, TX_CODE_MAX, "BkTxCd/Domn/Fmly/Cd", 5, {T_NTRY, T_BKTXCD, T_DOMN, T_FMLY, T_CD}},
    {F_SUBFAMILY, TX_CODE_MAX, "BkTxCd/Domn/Fmly/SubFmlyCd", 5, {T_NTRY, T_BKTXCD, T_DOMN, T_FMLY, T_SUBFMLYCD}},
    {F_PROPRIETARY, FG_STMT_TYPE_MAX, "BkTxCd/Prtry/Cd", 4, {T_NTRY, T_BKTXCD, T_PRTRY, T_CD}},
    {F_TX_REF, FG_STMT_REF_MAX, "TxDtls/Refs/AcctSvcrRef", 5, {T_NTRY, T_NTRYDTLS, T_TXDTLS, T_REFS, T_ACCTSVCRREF}},
    {F_END_TO_END, FG_STMT_REF_MAX, "TxDtls/Refs/EndToEndId", 5, {T_NTRY, T_NTRYDTLS, T_TXDTLS, T_REFS, T_ENDTOENDID}},
    {F_DEBTOR, FG_STMT_NAME_MAX, "RltdPties/Dbtr/Nm", 6, {T_NTRY, T_NTRYDTLS, T_TXDTLS, T_RLTDPTIES, T_DBTR, T_NM}},
    {F_DEBTOR,
     FG_STMT_NAME_MAX,
     "RltdPties/Dbtr/Pty/Nm",
     7,
     {T_NTRY, T_NTRYDTLS, T_TXDTLS, T_RLTDPTIES, T_DBTR, T_PTY, T_NM}},
    {F_CREDITOR, FG_STMT_NAME_MAX, "RltdPties/Cdtr/Nm", 6, {T_NTRY, T_NTRYDTLS, T_TXDTLS, T_RLTDPTIES, T_CDTR, T_NM}},
    {F_CREDITOR,
     FG_STMT_NAME_MAX,
     "RltdPties/Cdtr/Pty/Nm",
     7,
     {T_NTRY, T_NTRYDTLS, T_TXDTLS, T_RLTDPTIES, T_CDTR, T_PTY, T_NM}},
    {F_MEMO, FG_STMT_MEMO_MAX, "RmtInf/Ustrd", 5, {T_NTRY, T_NTRYDTLS, T_TXDTLS, T_RMTINF, T_USTRD}},
};

/* 1 when the field sits in a TxDtls: only the entry's first TxDtls is read. */
static bool in_transaction(const field_spec_t *f) { return f->len >= 3 && f->path[2] == T_TXDTLS; }

/* ---- state --------------------------------------------------------------- */

typedef struct {
    char code[CODE_TEXT_MAX + 1];
    char amount[AMOUNT_TEXT_MAX + 1];
    char currency[4]; /* Amt@Ccy */
    char sign[CODE_TEXT_MAX + 1];
    int32_t date;
    uint32_t line, amount_line;
    bool has_amount;
} balance_t;

typedef struct {
    fg_stmt_line_t line; /* filled as the elements end, checked at </Ntry> */
    char amount[AMOUNT_TEXT_MAX + 1];
    char currency[4]; /* Amt@Ccy */
    char sign[CODE_TEXT_MAX + 1];
    char status[CODE_TEXT_MAX + 1];
    char tx_ref[FG_STMT_REF_MAX + 1];
    char debtor[FG_STMT_NAME_MAX + 1], creditor[FG_STMT_NAME_MAX + 1];
    char domain[TX_CODE_MAX + 1], family[TX_CODE_MAX + 1], subfamily[TX_CODE_MAX + 1];
    char proprietary[FG_STMT_TYPE_MAX + 1];
    uint32_t amount_line;
    int transactions; /* TxDtls seen so far */
    bool has_amount, has_status;
} entry_t;

/* Which balance opened the statement: a booked opening (OPBD) wins over the
 * previous day's closing (PRCD). */
enum { OPENING_NONE, OPENING_PREVIOUS, OPENING_BOOKED };

typedef struct {
    XML_Parser xml;
    const fg_stmt_sink_t *sink;
    fg_stmt_format_t format;
    const char *format_name; /* "camt.053" */
    tok_t message_tok;       /* BkToCstmrStmt or BkToCstmrDbtCdtNtfctn */
    tok_t statement_tok;     /* Stmt or Ntfctn */
    fg_stmt_error_t *err;    /* the caller's, during feed and finish */
    int rc;                  /* why parsing stopped: FG_EINVALID or a sink's return */
    bool stopped;
    long long fed_bytes; /* handed to expat */
    long long event_at;  /* where the last event expat reported starts */

    uint64_t names[NAMES_SLOTS]; /* hashes of the names seen, 0 = empty */
    size_t name_count;
    tok_t token_slots[TOKEN_SLOTS];     /* the names read, by hash */
    const fg_currency_t *last_currency; /* the last one found: a statement's amounts all name it */

    int depth; /* open elements */
    tok_t toks[DEPTH_MAX];
    char shown[DEPTH_MAX][NAME_SHOWN_MAX];

    /* The text of the field being read, when collecting. */
    bool collecting;
    int collect_depth;
    const field_spec_t *collect;
    size_t cap, text_len;
    uint32_t text_line;
    char text[FG_STMT_MEMO_MAX + 1];

    /* The statement being read. */
    bool in_statement, announced, entries_started;
    int statements; /* ended so far */
    uint32_t statement_line;
    fg_stmt_header_t header;
    int opening_kind;
    bool has_closing;
    int64_t closing;
    int32_t closing_date;
    balance_t balance;
    bool in_entry;
    entry_t entry;
} camt_t;

/* ---- errors -------------------------------------------------------------- */

static uint32_t current_line(const camt_t *st)
{
    XML_Size line = XML_GetCurrentLineNumber(st->xml);
    return line > UINT32_MAX ? UINT32_MAX : (uint32_t)line;
}

/* The open elements from the statement's (or the root when outside one),
 * then child when not NULL: "Stmt/Ntry/Amt". */
static void element_path(const camt_t *st, const char *child, char *out, size_t cap)
{
    size_t n = 0;
    out[0] = '\0';
    for (int i = st->in_statement ? 2 : 0; i < st->depth && n < cap; i++)
        n += (size_t)snprintf(out + n, cap - n, "%s%s", n > 0 ? "/" : "", st->shown[i]);
    if (child != NULL && n < cap)
        snprintf(out + n, cap - n, "%s%s", n > 0 ? "/" : "", child);
}

/* Records the error, "line N: " and the message, at element (a path), and
 * marks the parse as stopped; expat itself is stopped by the caller when
 * inside a handler. */
static void vrecord(camt_t *st, uint32_t line, const char *element, const char *fmt, va_list ap)
{
    char message[sizeof(st->err->message)];
    vsnprintf(message, sizeof(message), fmt, ap);
    st->rc = fg_stmt_fail(st->err, line, element, "line %u: %s", (unsigned)line, message);
    st->stopped = true;
}

/* Outside handlers: records the error at the current element. */
static void record(camt_t *st, uint32_t line, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void record(camt_t *st, uint32_t line, const char *fmt, ...)
{
    char path[sizeof(st->err->element)];
    va_list ap;
    element_path(st, NULL, path, sizeof(path));
    va_start(ap, fmt);
    vrecord(st, line, path, fmt, ap);
    va_end(ap);
}

/* From a handler: records the error at element (a whole path) and stops
 * expat. */
static void fail_at(camt_t *st, uint32_t line, const char *element, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void fail_at(camt_t *st, uint32_t line, const char *element, const char *fmt, ...)
{
    if (st->stopped)
        return;
    va_list ap;
    va_start(ap, fmt);
    vrecord(st, line, element, fmt, ap);
    va_end(ap);
    XML_StopParser(st->xml, XML_FALSE);
}

/* From a handler: records the error for the element child of the current one
 * (NULL: the current one) and stops expat. */
static void fail_in(camt_t *st, uint32_t line, const char *child, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void fail_in(camt_t *st, uint32_t line, const char *child, const char *fmt, ...)
{
    if (st->stopped)
        return;
    char path[sizeof(st->err->element)];
    va_list ap;
    element_path(st, child, path, sizeof(path));
    va_start(ap, fmt);
    vrecord(st, line, path, fmt, ap);
    va_end(ap);
    XML_StopParser(st->xml, XML_FALSE);
}

#define fail(st, line, ...) fail_in(st, line, NULL, __VA_ARGS__)

/* A sink's answer: anything but 0 stops the parse with that value. */
static void deliver(camt_t *st, int rc)
{
    if (rc == 0 || st->stopped)
        return;
    st->rc = rc;
    st->stopped = true;
    XML_StopParser(st->xml, XML_FALSE);
}

/* ---- values -------------------------------------------------------------- */

static bool digits(const char *s, int n, int *out)
{
    int value = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        value = value * 10 + (s[i] - '0');
    }
    *out = value;
    return true;
}

/* "", "Z", "+07:00" or "-05:00"; *named says whether a zone is written and
 * *east_min is its offset east of UTC in minutes. */
static bool zone_valid(const char *s, bool *named, int *east_min)
{
    int hours = 0, minutes = 0;
    *named = s[0] != '\0';
    *east_min = 0;
    if (s[0] == '\0' || (s[0] == 'Z' && s[1] == '\0'))
        return true;
    if (!((s[0] == '+' || s[0] == '-') && digits(s + 1, 2, &hours) && s[3] == ':' && digits(s + 4, 2, &minutes) &&
          s[6] == '\0' && hours <= 14 && minutes <= 59))
        return false;
    *east_min = (s[0] == '-' ? -1 : 1) * (hours * 60 + minutes);
    return true;
}

/* An ISODate ("2025-09-05", a zone allowed) or ISODateTime
 * ("2025-09-05T09:31:05.123+07:00") as the business day (GMT+7, core/day.h)
 * it falls on, yyyymmdd: a date, or a time without a zone (the bank's own,
 * Vietnam's), as written; a time with a zone on the GMT+7 calendar
 * ("2026-12-02T17:00:00Z" is 3 December).  false when malformed or when the
 * date does not exist. */
static bool parse_date(const char *s, int32_t *out)
{
    int y = 0, m = 0, d = 0, hh = 0, mm = 0, ss = 0;
    if (!digits(s, 4, &y) || s[4] != '-' || !digits(s + 5, 2, &m) || s[7] != '-' || !digits(s + 8, 2, &d))
        return false;
    const char *rest = s + 10;
    if (rest[0] == 'T') {
        if (!digits(rest + 1, 2, &hh) || rest[3] != ':' || !digits(rest + 4, 2, &mm) || rest[6] != ':' ||
            !digits(rest + 7, 2, &ss) || hh > 23 || mm > 59 || ss > 60)
            return false;
        rest += 9;
        if (rest[0] == '.') {
            rest++;
            if (rest[0] < '0' || rest[0] > '9')
                return false;
            while (rest[0] >= '0' && rest[0] <= '9')
                rest++;
        }
    }
    bool named, timed = s[10] == 'T';
    int east_min;
    if (!zone_valid(rest, &named, &east_min) || fg_stmt_date(y, m, d, out) != 0)
        return false;
    if (timed && named) {
        int64_t utc_ms = fg_day_number(*out) * FG_DAY_MS + ((int64_t)(hh * 60 + mm - east_min) * 60 + ss) * 1000;
        *out = fg_day_of_ms(utc_ms);
        if (*out < 19700101 || *out > 99991231)
            return false;
    }
    return true;
}

/* Digits, a '.', digits: the only shape fg_money_parse refuses for its
 * fraction alone. */
static bool decimal_shape(const char *s)
{
    size_t whole = strspn(s, "0123456789");
    if (whole == 0 || s[whole] != '.')
        return false;
    size_t fraction = strspn(s + whole + 1, "0123456789");
    return fraction > 0 && s[whole + 1 + fraction] == '\0';
}

/* fg_currency_find for a NUL-terminated code, asked once per statement
 * rather than twice per entry. */
static const fg_currency_t *find_currency(camt_t *st, const char *code)
{
    if (st->last_currency != NULL && strcmp(st->last_currency->code, code) == 0)
        return st->last_currency;
    const fg_currency_t *c = fg_currency_find(code, strlen(code));
    if (c != NULL)
        st->last_currency = c;
    return c;
}

/* A positive ISO 20022 amount (no sign, '.' as the decimal mark) in minor
 * units of currency; false after recording why not. */
static bool parse_amount(camt_t *st, const char *text, const char *currency, uint32_t line, const char *child,
                         const char *what, int64_t *out)
{
    const fg_currency_t *c = find_currency(st, currency);
    assert(c != NULL);
    int rc = text[0] >= '0' && text[0] <= '9' ? fg_money_parse(text, strlen(text), c->exponent, 0, out) : FG_EINVALID;
    if (rc == 0 && *out > FG_AMOUNT_MAX)
        rc = FG_EOVERFLOW;
    if (rc == 0)
        return true;
    if (rc == FG_EOVERFLOW)
        fail_in(st, line, child, "%s: amount \"%s\" is too large", what, text);
    else if (decimal_shape(text) && c->exponent == 0)
        fail_in(st, line, child, "%s: amount \"%s\" has decimals; %s has none", what, text, c->code);
    else if (decimal_shape(text))
        fail_in(st, line, child, "%s: amount \"%s\" has more than %d decimals for %s", what, text, c->exponent,
                c->code);
    else
        fail_in(st, line, child, "%s: amount \"%s\" is not a decimal number", what, text);
    return false;
}

/* An amount's Amt@Ccy against the statement's currency, which the first
 * currency seen sets when Acct/Ccy is absent.  false after recording. */
static bool check_currency(camt_t *st, const char *currency, uint32_t line, const char *what)
{
    char *ours = st->header.currency;
    if (currency[0] == '\0') {
        fail_in(st, line, "Amt", "%s: Amt has no Ccy attribute", what);
        return false;
    }
    if (find_currency(st, currency) == NULL) {
        fail_in(st, line, "Amt", "%s: currency \"%s\" is not an ISO 4217 code", what, currency);
        return false;
    }
    if (ours[0] == '\0')
        memcpy(ours, currency, 4);
    if (strcmp(ours, currency) != 0) {
        fail_in(st, line, "Amt", "%s is in %s, the account in %s", what, currency, ours);
        return false;
    }
    return true;
}

/* CdtDbtInd: +1 for CRDT, -1 for DBIT, 0 after recording an error. */
static int sign_of(camt_t *st, const char *sign, uint32_t line, const char *what)
{
    if (strcmp(sign, "CRDT") == 0)
        return 1;
    if (strcmp(sign, "DBIT") == 0)
        return -1;
    if (sign[0] == '\0')
        fail_in(st, line, "CdtDbtInd", "%s has no CdtDbtInd", what);
    else
        fail_in(st, line, "CdtDbtInd", "%s: CdtDbtInd \"%s\" is neither CRDT nor DBIT", what, sign);
    return 0;
}

/* ---- statements ---------------------------------------------------------- */

/* statement(): once the statement's Id, account and currency are known. */
static bool announce(camt_t *st)
{
    fg_stmt_header_t *h = &st->header;
    unsigned line = st->statement_line;
    const char *name = st->shown[2];
    char path[sizeof(st->err->element)];
    if (h->id[0] == '\0') {
        snprintf(path, sizeof(path), "%s/Id", name);
        fail_at(st, line, path, "the %s at line %u has no Id", name, line);
    } else if (h->account[0] == '\0') {
        snprintf(path, sizeof(path), "%s/Acct", name);
        fail_at(st, line, path, "%s %s has no account (Acct/Id/IBAN or Acct/Id/Othr/Id)", name, h->id);
    } else if (h->currency[0] == '\0') {
        snprintf(path, sizeof(path), "%s/Acct/Ccy", name);
        fail_at(st, line, path, "%s %s names no currency (Acct/Ccy or Amt@Ccy)", name, h->id);
    }
    if (st->stopped)
        return false;
    st->announced = true;
    if (st->sink->statement != NULL)
        deliver(st, st->sink->statement(st->sink->arg, h));
    return !st->stopped;
}

static void statement_begin(camt_t *st)
{
    memset(&st->header, 0, sizeof(st->header));
    st->in_statement = true;
    st->announced = st->entries_started = st->has_closing = st->in_entry = false;
    st->opening_kind = OPENING_NONE;
    st->statement_line = current_line(st);
}

static void statement_end(camt_t *st)
{
    if (!st->announced && !announce(st))
        return;
    fg_stmt_header_t *h = &st->header;
    h->has_closing = st->has_closing;
    h->closing = st->closing;
    h->closing_date = st->closing_date;
    st->in_statement = false;
    st->statements++;
    if (st->sink->statement_end != NULL)
        deliver(st, st->sink->statement_end(st->sink->arg, h));
}

/* ---- balances ------------------------------------------------------------ */

static void balance_begin(camt_t *st)
{
    memset(&st->balance, 0, sizeof(st->balance));
    st->balance.line = current_line(st);
}

/* The balance's signed amount; false after recording an error. */
static bool balance_amount(camt_t *st, const balance_t *b, int64_t *out)
{
    char what[64];
    snprintf(what, sizeof(what), "balance %s", b->code);
    if (!b->has_amount) {
        fail_in(st, b->line, "Amt", "%s has no Amt", what);
        return false;
    }
    int64_t amount = 0;
    if (!check_currency(st, b->currency, b->amount_line, what) ||
        !parse_amount(st, b->amount, b->currency, b->amount_line, "Amt", what, &amount))
        return false;
    int sign = sign_of(st, b->sign, b->line, what);
    *out = sign * amount;
    return sign != 0;
}

/* OPBD (or PRCD when there is no OPBD) opens the statement, CLBD closes it;
 * other balances are not read.  A balance after the first entry can no
 * longer open the statement, announced or not: only CLBD is read there. */
static void balance_end(camt_t *st)
{
    const balance_t *b = &st->balance;
    bool closing = strcmp(b->code, "CLBD") == 0;
    int opening = strcmp(b->code, "OPBD") == 0   ? OPENING_BOOKED
                  : strcmp(b->code, "PRCD") == 0 ? OPENING_PREVIOUS
                                                 : OPENING_NONE;
    if (!closing && (opening == OPENING_NONE || st->entries_started || st->opening_kind > opening))
        return;
    int64_t amount = 0;
    if (!balance_amount(st, b, &amount))
        return;
    if (closing && st->has_closing) {
        fail_in(st, b->line, NULL, "a second closing balance (CLBD)");
    } else if (closing) {
        st->has_closing = true;
        st->closing = amount;
        st->closing_date = b->date;
    } else if (st->opening_kind == opening) {
        fail_in(st, b->line, NULL, "a second opening balance (%s)", b->code);
    } else {
        st->opening_kind = opening;
        st->header.has_opening = 1;
        st->header.opening = amount;
        st->header.opening_date = b->date;
    }
}

/* ---- entries ------------------------------------------------------------- */

static void entry_begin(camt_t *st)
{
    memset(&st->entry, 0, sizeof(st->entry));
    st->in_entry = true;
    st->entry.line.source_line = current_line(st);
    st->entries_started = true;
    if (!st->announced && st->header.currency[0] != '\0')
        (void)announce(st);
}

static void append_code(char *out, size_t cap, const char *code)
{
    size_t n = strlen(out);
    if (code[0] != '\0')
        snprintf(out + n, cap - n, "%s%s", n > 0 ? "/" : "", code);
}

/* The rest of the line once its amount is known. */
static void entry_finish_line(entry_t *e)
{
    fg_stmt_line_t *l = &e->line;
    if (l->booking_date == 0)
        l->booking_date = l->value_date;
    if (l->value_date == 0)
        l->value_date = l->booking_date;
    if (e->domain[0] != '\0') {
        append_code(l->type, sizeof(l->type), e->domain);
        append_code(l->type, sizeof(l->type), e->family);
        append_code(l->type, sizeof(l->type), e->subfamily);
    } else {
        memcpy(l->type, e->proprietary, sizeof(l->type));
    }
    if (l->bank_ref[0] == '\0')
        memcpy(l->bank_ref, e->tx_ref, sizeof(l->bank_ref));
    memcpy(l->counterparty, l->amount > 0 ? e->debtor : e->creditor, sizeof(l->counterparty));
}

/* Checks the entry that just ended and delivers it when booked. */
static void entry_end(camt_t *st)
{
    entry_t *e = &st->entry;
    uint32_t at = e->line.source_line;
    char what[96];
    st->in_entry = false;
    _Static_assert(sizeof("entry ") + FG_STMT_REF_MAX <= sizeof(what), "an entry's name fits");
    if (e->line.bank_ref[0] != '\0') {
        memcpy(what, "entry ", 6); /* every entry: no printf */
        memcpy(what + 6, e->line.bank_ref, strlen(e->line.bank_ref) + 1);
    } else
        snprintf(what, sizeof(what), "the entry at line %u", (unsigned)at);
    if (!e->has_status) {
        fail_in(st, at, "Sts", "%s has no Sts", what);
        return;
    }
    if (strcmp(e->status, "BOOK") != 0)
        return; /* pending (PDNG), information (INFO) or future (FUTR): not a line */
    if (!e->has_amount) {
        fail_in(st, at, "Amt", "%s has no Amt", what);
        return;
    }
    int64_t amount = 0;
    if (!check_currency(st, e->currency, e->amount_line, what) ||
        !parse_amount(st, e->amount, e->currency, e->amount_line, "Amt", what, &amount))
        return;
    if (amount == 0) {
        fail_in(st, e->amount_line, "Amt", "%s has the amount 0", what);
        return;
    }
    int sign = sign_of(st, e->sign, at, what);
    if (sign == 0)
        return;
    e->line.amount = sign * amount;
    if (e->line.booking_date == 0 && e->line.value_date == 0) {
        fail_in(st, at, "BookgDt", "%s has neither BookgDt nor ValDt", what);
        return;
    }
    entry_finish_line(e);
    if (!st->announced && !announce(st))
        return;
    if (st->sink->line != NULL)
        deliver(st, st->sink->line(st->sink->arg, &st->header, &e->line));
}

/* ---- field text ---------------------------------------------------------- */

static const field_spec_t *find_field(const tok_t *path, int len)
{
    if (path[len - 1] == T_OTHER)
        return NULL; /* no field is an element not read */
    for (size_t i = 0; i < sizeof(FIELDS) / sizeof(FIELDS[0]); i++) {
        const field_spec_t *f = &FIELDS[i];
        if (f->len == len && f->path[len - 1] == path[len - 1] && memcmp(f->path, path, (size_t)len) == 0)
            return f;
    }
    return NULL;
}

/* Amt@Ccy, kept for the check at the end of the balance or entry. */
static void read_currency(camt_t *st, const XML_Char **atts, char out[4])
{
    for (size_t i = 0; atts[i] != NULL; i += 2) {
        if (strcmp(atts[i], "Ccy") != 0)
            continue;
        if (strlen(atts[i + 1]) != 3) {
            fail(st, current_line(st), "Amt@Ccy \"%.16s\" is not a currency code", atts[i + 1]);
            return;
        }
        memcpy(out, atts[i + 1], 4);
    }
}

/* An element of the statement starts, path the tokens below Stmt/Ntfctn. */
static void element_begin(camt_t *st, const tok_t *path, int len, const XML_Char **atts)
{
    tok_t tok = path[len - 1];
    if (len == 1 && tok == T_NTRY)
        entry_begin(st);
    else if (len == 1 && tok == T_BAL)
        balance_begin(st);
    else if (len == 3 && tok == T_TXDTLS && path[0] == T_NTRY && path[1] == T_NTRYDTLS)
        st->entry.transactions++;
    else if (len == 2 && tok == T_STS && path[0] == T_NTRY)
        st->entry.has_status = true;
    const field_spec_t *f = find_field(path, len);
    if (f == NULL || st->stopped || (in_transaction(f) && st->entry.transactions != 1))
        return;
    if (f->field == F_AMOUNT) {
        st->entry.has_amount = true;
        st->entry.amount_line = current_line(st);
        read_currency(st, atts, st->entry.currency);
    } else if (f->field == F_BAL_AMOUNT) {
        st->balance.has_amount = true;
        st->balance.amount_line = current_line(st);
        read_currency(st, atts, st->balance.currency);
    }
    size_t cap = f->cap;
    if (f->field == F_MEMO) {
        size_t used = strlen(st->entry.line.memo);
        size_t taken = used + (used > 0); /* with the " " that joins lines */
        cap = taken < FG_STMT_MEMO_MAX ? FG_STMT_MEMO_MAX - taken : 0;
    }
    st->collecting = true;
    st->collect_depth = st->depth;
    st->collect = f;
    st->cap = cap;
    st->text_len = 0;
    st->text_line = current_line(st);
}

/* Copies a text of at most its field's cap into a buffer made for it. */
static void copy(char *out, size_t size, const char *text, size_t len)
{
    assert(len < size);
    memcpy(out, text, len + 1);
}
#define COPY(out) copy(out, sizeof(out), t, st->text_len)

static void read_sequence(camt_t *st, const char *t, uint32_t line)
{
    size_t n = strspn(t, "0123456789");
    if (n == 0 || n > 18 || t[n] != '\0') {
        fail(st, line, "ElctrncSeqNb \"%s\" is not a number of 1 to 18 digits", t);
        return;
    }
    st->header.sequence = strtoll(t, NULL, 10);
}

static void read_date(camt_t *st, const char *t, uint32_t line, int32_t *out)
{
    if (!parse_date(t, out))
        fail(st, line, "%s \"%s\" is not a date that exists (YYYY-MM-DD)", st->collect->what, t);
}

static void read_account(camt_t *st, const char *t, uint32_t line)
{
    fg_stmt_error_t why;
    if (fg_stmt_account(t, strlen(t), st->header.account, 0, NULL, st->collect->what, &why) != 0)
        fail(st, line, "%s", why.message);
}

static void read_account_currency(camt_t *st, const char *t, uint32_t line)
{
    if (find_currency(st, t) == NULL)
        fail(st, line, "Acct/Ccy \"%s\" is not an ISO 4217 code", t);
    else if (st->header.currency[0] != '\0' && strcmp(st->header.currency, t) != 0)
        fail(st, line, "Acct/Ccy %s differs from the statement's %s", t, st->header.currency);
    else
        memcpy(st->header.currency, t, 4);
}

static void read_reversal(camt_t *st, const char *t, uint32_t line)
{
    if (strcmp(t, "true") == 0 || strcmp(t, "1") == 0)
        st->entry.line.reversal = 1;
    else if (strcmp(t, "false") == 0 || strcmp(t, "0") == 0)
        st->entry.line.reversal = 0;
    else
        fail(st, line, "RvslInd \"%s\" is neither true nor false", t);
}

/* One more RmtInf/Ustrd: the lines joined by " " (the cap left room). */
static void read_memo(camt_t *st, const char *t)
{
    char *memo = st->entry.line.memo;
    size_t used = strlen(memo);
    if (t[0] == '\0')
        return;
    if (used > 0)
        memo[used++] = ' ';
    assert(used + st->text_len <= FG_STMT_MEMO_MAX);
    memcpy(memo + used, t, st->text_len + 1);
}

/* The field's element ended: its text, trimmed, goes where it belongs. */
static void field_end(camt_t *st)
{
    while (st->text_len > 0 && st->text[st->text_len - 1] == ' ')
        st->text_len--;
    st->text[st->text_len] = '\0';
    const char *t = st->text;
    uint32_t line = st->text_line;
    entry_t *e = &st->entry;
    balance_t *b = &st->balance;
    switch (st->collect->field) {
    case F_STMT_ID: COPY(st->header.id); break;
    case F_SEQUENCE: read_sequence(st, t, line); break;
    case F_FROM: read_date(st, t, line, &st->header.from_date); break;
    case F_TO: read_date(st, t, line, &st->header.to_date); break;
    case F_ACCOUNT: read_account(st, t, line); break;
    case F_ACCOUNT_CCY: read_account_currency(st, t, line); break;
    case F_BAL_CODE: COPY(b->code); break;
    case F_BAL_AMOUNT: COPY(b->amount); break;
    case F_BAL_SIGN: COPY(b->sign); break;
    case F_BAL_DATE: read_date(st, t, line, &b->date); break;
    case F_AMOUNT: COPY(e->amount); break;
    case F_SIGN: COPY(e->sign); break;
    case F_REVERSAL: read_reversal(st, t, line); break;
    case F_STATUS:
        if (t[0] != '\0') /* empty when Sts holds Cd (001.07 and later) */
            COPY(e->status);
        break;
    case F_BOOKED: read_date(st, t, line, &e->line.booking_date); break;
    case F_VALUE: read_date(st, t, line, &e->line.value_date); break;
    case F_REF: COPY(e->line.bank_ref); break;
    case F_DOMAIN: COPY(e->domain); break;
    case F_FAMILY: COPY(e->family); break;
    case F_SUBFAMILY: COPY(e->subfamily); break;
    case F_PROPRIETARY: COPY(e->proprietary); break;
    case F_TX_REF: COPY(e->tx_ref); break;
    case F_END_TO_END:
        if (strcmp(t, "NOTPROVIDED") != 0)
            COPY(e->line.end_to_end);
        break;
    case F_DEBTOR: COPY(e->debtor); break;
    case F_CREDITOR: COPY(e->creditor); break;
    case F_MEMO: read_memo(st, t); break;
    }
}

/* ---- the document -------------------------------------------------------- */

/* Remembers a name expat has just added to its table; false (and the parse
 * stopped) when it is too long or one name too many. */
static bool remember_name(camt_t *st, const char *name)
{
    size_t len = strlen(name);
    if (len > ELEMENT_NAME_MAX) {
        fail(st, current_line(st), "the name \"%.32s...\" is longer than %d bytes", name, ELEMENT_NAME_MAX);
        return false;
    }
    uint64_t hash = 14695981039346656037ULL; /* FNV-1a */
    for (size_t i = 0; i < len; i++)
        hash = (hash ^ (unsigned char)name[i]) * 1099511628211ULL;
    hash += hash == 0; /* 0 marks an empty slot */
    size_t slot = (size_t)hash & (NAMES_SLOTS - 1);
    for (; st->names[slot] != 0; slot = (slot + 1) & (NAMES_SLOTS - 1))
        if (st->names[slot] == hash)
            return true;
    if (st->name_count == NAMES_DISTINCT_MAX) {
        fail(st, current_line(st), "more than %d different element and attribute names: not a %s file",
             NAMES_DISTINCT_MAX, st->format_name);
        return false;
    }
    st->names[slot] = hash;
    st->name_count++;
    return true;
}

/* The namespace names the message and its version:
 * "urn:iso:std:iso:20022:tech:xsd:camt.053.001.02". */
static void check_namespace(camt_t *st, const char *ns)
{
    static const char ISO[] = "urn:iso:std:iso:20022:tech:xsd:";
    int version = 0;
    uint32_t line = current_line(st);
    if (strncmp(ns, ISO, sizeof(ISO) - 1) != 0) {
        fail(st, line, "the namespace \"%.80s\" is not ISO 20022's: this is not a %s file", ns, st->format_name);
        return;
    }
    const char *id = ns + sizeof(ISO) - 1;
    if (strncmp(id, st->format_name, 8) != 0 || id[8] != '.')
        fail(st, line, "this is a %.40s document, not %s", id, st->format_name);
    else if (strncmp(id + 9, "001.", 4) != 0 || !digits(id + 13, 2, &version) || id[15] != '\0' || version < 2 ||
             version > 8)
        fail(st, line, "%.40s is a message version not read (%s.001.02 to %s.001.08)", id, st->format_name,
             st->format_name);
}

/* The root: Document, with the namespace of the format asked for or none. */
static void check_root(camt_t *st, const char *name, const char *local, const XML_Char **atts)
{
    if (strcmp(local, "Document") != 0) {
        fail(st, current_line(st), "the root element is <%.40s>, not <Document>: this is not an ISO 20022 %s file",
             name, st->format_name);
        return;
    }
    size_t prefix_len = (size_t)(local - name); /* "camt:" or "" */
    for (size_t i = 0; atts[i] != NULL; i += 2) {
        const char *att = atts[i];
        bool match = prefix_len == 0 ? strcmp(att, "xmlns") == 0
                                     : strncmp(att, "xmlns:", 6) == 0 && strncmp(att + 6, name, prefix_len - 1) == 0 &&
                                           att[6 + prefix_len - 1] == '\0';
        if (match) {
            check_namespace(st, atts[i + 1]);
            return;
        }
    }
}

/* The root's child: BkToCstmrStmt for camt.053, BkToCstmrDbtCdtNtfctn for
 * camt.054 (with no namespace this alone tells them apart). */
static void check_message(camt_t *st, tok_t tok)
{
    uint32_t line = current_line(st);
    if (tok == st->message_tok)
        return;
    if (tok == T_BKTOCSTMRSTMT || tok == T_BKTOCSTMRDBTCDTNTFCTN)
        fail(st, line, "<%s> is a %s, not %s", st->shown[1],
             tok == T_BKTOCSTMRSTMT ? "camt.053 statement" : "camt.054 notification", st->format_name);
    else
        fail(st, line, "<%s> is not a %s message (<%s>)", st->shown[1], st->format_name,
             TOKEN_NAMES[st->message_tok - 1]);
}

static void XMLCALL on_start(void *user, const XML_Char *name, const XML_Char **atts)
{
    camt_t *st = user;
    if (st->stopped)
        return;
    st->event_at = XML_GetCurrentByteIndex(st->xml);
    if (!remember_name(st, name))
        return;
    for (size_t i = 0; atts[i] != NULL; i += 2)
        if (!remember_name(st, atts[i]))
            return;
    if (st->depth == DEPTH_MAX) {
        fail(st, current_line(st), "elements nest deeper than %d levels", DEPTH_MAX);
        return;
    }
    const char *colon = strrchr(name, ':');
    const char *local = colon != NULL ? colon + 1 : name;
    tok_t tok = token(st->token_slots, local);
    st->toks[st->depth] = tok;
    size_t shown = strnlen(local, NAME_SHOWN_MAX - 1); /* cut as snprintf would */
    memcpy(st->shown[st->depth], local, shown);
    st->shown[st->depth][shown] = '\0';
    st->depth++;
    st->collecting = false; /* a field's element with elements inside: its text is not read */
    if (st->depth == 1)
        check_root(st, name, local, atts);
    else if (st->depth == 2)
        check_message(st, tok);
    else if (st->depth == 3 && tok == st->statement_tok)
        statement_begin(st);
    else if (st->depth > 3 && st->in_statement)
        element_begin(st, st->toks + 3, st->depth - 3, atts);
}

static void XMLCALL on_end(void *user, const XML_Char *name)
{
    camt_t *st = user;
    if (st->stopped)
        return;
    st->event_at = XML_GetCurrentByteIndex(st->xml);
    if (st->collecting && st->collect_depth == st->depth) {
        st->collecting = false;
        field_end(st);
    }
    if (!st->stopped && st->in_statement) {
        if (st->depth == 3)
            statement_end(st);
        else if (st->depth == 4 && st->toks[3] == T_NTRY)
            entry_end(st);
        else if (st->depth == 4 && st->toks[3] == T_BAL)
            balance_end(st);
    }
    st->depth--;
}

/* Text: a run of whitespace (line breaks of a wrapped Ustrd among them)
 * becomes one space, leading whitespace is dropped, and field_end trims the
 * trailing space. */
static void XMLCALL on_text(void *user, const XML_Char *s, int len)
{
    camt_t *st = user;
    if (st->stopped)
        return;
    st->event_at = XML_GetCurrentByteIndex(st->xml);
    if (!st->collecting)
        return;
    for (int i = 0; i < len; i++) {
        char c = s[i];
        if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
            if (st->text_len == 0 || st->text[st->text_len - 1] == ' ' || st->text_len == st->cap)
                continue;
            c = ' ';
        } else if (st->text_len == st->cap) {
            if (st->collect->field == F_MEMO)
                fail(st, st->text_line, "the remittance text (RmtInf/Ustrd, joined) is longer than %d bytes",
                     FG_STMT_MEMO_MAX);
            else
                fail(st, st->text_line, "%s is longer than %zu bytes", st->collect->what, st->cap);
            return;
        }
        st->text[st->text_len++] = c;
    }
}

/* Everything else expat reads (the XML declaration, comments, whitespace
 * outside the root): only where it is, for the unfinished-token check. */
static void XMLCALL on_other(void *user, const XML_Char *s, int len)
{
    camt_t *st = user;
    st->event_at = XML_GetCurrentByteIndex(st->xml);
}

static void XMLCALL on_doctype(void *user, const XML_Char *name, const XML_Char *sysid, const XML_Char *pubid,
                               int has_internal_subset)
{
    camt_t *st = user;
    fail(st, current_line(st),
         "a DOCTYPE declaration is refused: a statement needs none, and its entities could "
         "expand without bound");
}

static void XMLCALL on_entity(void *user, const XML_Char *entity, int is_parameter_entity, const XML_Char *value,
                              int value_length, const XML_Char *base, const XML_Char *system_id,
                              const XML_Char *public_id, const XML_Char *notation)
{
    camt_t *st = user;
    fail(st, current_line(st), "an entity declaration is refused");
}

/* ---- the reader ---------------------------------------------------------- */

static void *create(fg_stmt_format_t format, const fg_stmt_sink_t *sink)
{
    assert(format == FG_STMT_CAMT053 || format == FG_STMT_CAMT054);
    camt_t *st = calloc(1, sizeof(*st));
    if (st == NULL)
        return NULL;
    tokens_index(st->token_slots);
    if ((st->xml = XML_ParserCreate(NULL)) == NULL) {
        free(st);
        return NULL;
    }
    st->sink = sink;
    st->format = format;
    st->format_name = fg_stmt_format_name(format);
    st->message_tok = format == FG_STMT_CAMT053 ? T_BKTOCSTMRSTMT : T_BKTOCSTMRDBTCDTNTFCTN;
    st->statement_tok = format == FG_STMT_CAMT053 ? T_STMT : T_NTFCTN;
    XML_SetUserData(st->xml, st);
    XML_SetElementHandler(st->xml, on_start, on_end);
    XML_SetCharacterDataHandler(st->xml, on_text);
    XML_SetDefaultHandlerExpand(st->xml, on_other);
    XML_SetStartDoctypeDeclHandler(st->xml, on_doctype);
    XML_SetEntityDeclHandler(st->xml, on_entity);
    XML_SetParamEntityParsing(st->xml, XML_PARAM_ENTITY_PARSING_NEVER);
    return st;
}

/* XML_Parse refused the input: expat's reason, or ours when a handler
 * stopped it. */
static int parse_failed(camt_t *st, bool final)
{
    if (st->stopped)
        return st->rc;
    enum XML_Error code = XML_GetErrorCode(st->xml);
    uint32_t line = current_line(st);
    if (final && st->depth > 0)
        record(st, line, "the file ends inside <%s>: it is cut short (%s)", st->shown[st->depth - 1],
               XML_ErrorString(code));
    else
        record(st, line, "the XML is malformed: %s", XML_ErrorString(code));
    return st->rc;
}

static int feed(void *state, const char *data, size_t len, fg_stmt_error_t *err)
{
    camt_t *st = state;
    st->err = err;
    if (st->stopped)
        return fg_stmt_fail(err, 0, NULL, "the parser stopped at an earlier error");
    while (len > 0) {
        size_t n = len < SLICE_BYTES ? len : SLICE_BYTES;
        if (XML_Parse(st->xml, data, (int)n, XML_FALSE) != XML_STATUS_OK)
            return parse_failed(st, false);
        st->fed_bytes += (long long)n;
        data += n;
        len -= n;
        if (st->fed_bytes - st->event_at > TOKEN_BYTES_MAX) {
            record(st, current_line(st), "a tag, comment or declaration runs over %d bytes", TOKEN_BYTES_MAX);
            return st->rc;
        }
    }
    return 0;
}

static int finish(void *state, fg_stmt_error_t *err)
{
    camt_t *st = state;
    st->err = err;
    if (st->stopped)
        return fg_stmt_fail(err, 0, NULL, "the parser stopped at an earlier error");
    if (XML_Parse(st->xml, "", 0, XML_TRUE) != XML_STATUS_OK)
        return parse_failed(st, true);
    if (st->statements == 0)
        record(st, current_line(st), "the file holds no %s (<%s>): not a %s file",
               st->format == FG_STMT_CAMT053 ? "statement" : "notification", TOKEN_NAMES[st->statement_tok - 1],
               st->format_name);
    return st->rc;
}

static void destroy(void *state)
{
    camt_t *st = state;
    if (st == NULL)
        return;
    XML_ParserFree(st->xml);
    free(st);
}

const fg_stmt_reader_t fg_stmt_camt_reader = {create, feed, finish, destroy};
