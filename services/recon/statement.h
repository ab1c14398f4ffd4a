/*
 * statement.h - bank statements as the bank writes them, read as a stream
 * (docs/DESIGN.md §7): ISO 20022 camt.053 (end of day) and camt.054 (credit
 * and debit notifications), message versions 001.02 to 001.08; SWIFT MT940
 * (several statements per file); CSV by column profile (our own layout, and
 * a Vietnamese bank's bilingual account-statement export).
 *
 * A parser is fed the file in chunks of any size and calls its sink for each
 * statement and each line as soon as they are complete, so memory is bounded
 * by a constant (the longest line's fields), never by the file.  Parsers are
 * pure: no database, no clock.  Amounts are int64 minor units of the
 * statement's currency (core/money.h); a fraction in a currency that has
 * none (VND) is an error, never rounded.
 */
#ifndef FG_RECON_STATEMENT_H
#define FG_RECON_STATEMENT_H

#include <stddef.h>
#include <stdint.h>
#include "core/error.h"
#include "core/text.h"

/* Field limits, in bytes of UTF-8 including nothing but the text. */
#define FG_STMT_ACCOUNT_MAX FG_BANK_ACCOUNT_MAX /* keyed; Vietnamese account numbers are 6..19 digits */
/* An account as written, before keying (fg_bank_account_key): an IBAN in
 * groups of four with a separator between takes 42 bytes. */
#define FG_STMT_ACCOUNT_WRITTEN_MAX 64
#define FG_STMT_REF_MAX 64    /* AcctSvcrRef, EndToEndId (35 in ISO 20022), MT940 references (16) */
#define FG_STMT_NAME_MAX 140  /* a party's name (ISO 20022 Nm) */
#define FG_STMT_MEMO_MAX 2048 /* remittance text: camt Ustrd lines joined, MT940 :86: whole */
#define FG_STMT_TYPE_MAX 32   /* "PMNT/RCDT/DMCT", "NTRF" */
/* The largest file accepted (POST /v1/statements and the CLI). */
#define FG_STMT_FILE_MAX (64 * 1024 * 1024)

typedef enum {
    FG_STMT_CAMT053, /* "camt.053" */
    FG_STMT_CAMT054, /* "camt.054" */
    FG_STMT_MT940,   /* "mt940" */
    FG_STMT_CSV,     /* "csv": feegate's own layout (docs/RECONCILIATION.md) */
    FG_STMT_CSV_VN,  /* "csv-vn": a Vietnamese bank's bilingual export */
    FG_STMT_FORMAT_COUNT
} fg_stmt_format_t;

/** The format's name as the API and CLI spell it ("camt.053", "camt.054",
 *  "mt940", "csv", "csv-vn"). */
const char *fg_stmt_format_name(fg_stmt_format_t f);
/** The format named by text (len bytes; also accepts "camt053", "camt054",
 *  "MT940", "swift-mt940", "csv-vcb"), case-insensitive.  0 or FG_EINVALID. */
int fg_stmt_format_parse(const char *text, size_t len, fg_stmt_format_t *out) FG_MUST_USE;
/** The format a Content-Type names: application/vnd.swift.mt940 or
 *  text/x-mt940 -> mt940; text/csv -> csv (profile=vn -> csv-vn);
 *  application/xml, text/xml -> FG_ENOTFOUND (the XML's namespace decides:
 *  fg_stmt_format_sniff).  0, FG_ENOTFOUND (says nothing) or FG_EINVALID. */
int fg_stmt_format_from_content_type(const char *value, fg_stmt_format_t *out) FG_MUST_USE;
/** Guesses the format from the first bytes of a file (at least 512 when the
 *  file has them; at most FG_STMT_SNIFF_MAX are read): the camt namespace or
 *  root element, ":20:" and ":25:" (or ":60F:") starting lines for MT940, the
 *  bilingual title or header row for csv-vn, our header row for csv.  0 or
 *  FG_ENOTFOUND. */
#define FG_STMT_SNIFF_MAX 4096
int fg_stmt_format_sniff(const char *head, size_t len, fg_stmt_format_t *out) FG_MUST_USE;

/** One statement (camt Stmt / Ntfctn, an MT940 :20:…:62F: block, a CSV
 *  file).  Balances are signed minor units, credit (in our favour) > 0. */
typedef struct {
    char id[FG_STMT_REF_MAX + 1];          /* camt Stmt/Id or Ntfctn/Id; MT940 ":20:" + "/" + ":28C:"; CSV "" */
    char account[FG_STMT_ACCOUNT_MAX + 1]; /* Acct/Id/Othr/Id or IBAN; MT940 :25:; CSV title: keyed */
    char currency[4];                      /* ISO 4217, upper case */
    int has_opening, has_closing;          /* camt.054 has neither */
    int64_t opening, closing;              /* OPBD / CLBD (camt), :60F:/:60M: / :62F:/:62M:, CSV rows */
    int32_t opening_date, closing_date;    /* yyyymmdd, 0 when not given */
    int32_t from_date, to_date;            /* the period (FrToDt, CSV title), yyyymmdd, 0 when not given */
    int64_t sequence;                      /* ElctrncSeqNb, MT940 :28C: statement number; 0 when not given */
} fg_stmt_header_t;

/** One booked line.  Strings are NUL-terminated UTF-8, "" when absent. */
typedef struct {
    int64_t amount;                   /* signed minor units: credit > 0, debit < 0, never 0 */
    int reversal;                     /* RvslInd true; MT940 RC / RD */
    int32_t booking_date, value_date; /* yyyymmdd; value_date = booking_date when only one is given */
    char bank_ref[FG_STMT_REF_MAX +
                  1]; /* Ntry/AcctSvcrRef (else TxDtls/Refs/AcctSvcrRef); MT940 "//" ref; CSV reference */
    char end_to_end[FG_STMT_REF_MAX +
                    1]; /* TxDtls/Refs/EndToEndId unless NOTPROVIDED; MT940 customer ref unless NONREF */
    char counterparty[FG_STMT_NAME_MAX + 1]; /* RltdPties Dbtr (credit) or Cdtr (debit) Nm */
    char memo[FG_STMT_MEMO_MAX + 1]; /* RmtInf/Ustrd (several joined by " "); MT940 :86: whole (lines joined by " ");
                                        CSV description (line breaks as " ") */
    char type[FG_STMT_TYPE_MAX +
              1]; /* camt BkTxCd Domn/Fmly/SubFmlyCd ("PMNT/RCDT/DMCT") or Prtry/Cd; MT940 "N" + code ("NTRF") */
    uint32_t source_line; /* the line of the file where the entry starts (1-based) */
} fg_stmt_line_t;

/** Where a parser delivers.  Each callback returns 0 to go on, or anything
 *  else to stop: the parser then returns that value from feed/finish.
 *  statement() is called once a statement's account, currency and opening
 *  balance are known and before its first line; statement_end() after its
 *  last line, with the closing balance.  camt.053/054 entries
 *  with Sts other than BOOK (PDNG, INFO) are not lines and are skipped. */
typedef struct {
    void *arg;
    int (*statement)(void *arg, const fg_stmt_header_t *h);
    int (*line)(void *arg, const fg_stmt_header_t *h, const fg_stmt_line_t *l);
    int (*statement_end)(void *arg, const fg_stmt_header_t *h);
} fg_stmt_sink_t;

/** Why a file was refused: a message for people naming what is wrong
 *  ("line 12: amount \"1.500,5\" has decimals, VND has none"), the file line
 *  (0 when unknown) and, for XML, the element path ("Ntry/Amt"). */
typedef struct {
    char message[240];
    uint32_t line;
    char element[96];
} fg_stmt_error_t;

typedef struct fg_stmt_parser fg_stmt_parser_t;

/** A parser for format delivering to sink (copied).  NULL when out of memory. */
fg_stmt_parser_t *fg_stmt_parser_new(fg_stmt_format_t format, const fg_stmt_sink_t *sink);
/** Feeds the next len bytes.  0; FG_EINVALID with err filled (the file is
 *  not a valid statement of its format: wrong format, malformed, truncated,
 *  an amount without digits or with decimals its currency has not, an
 *  impossible date, a line without an amount, a field over its limit); or a
 *  sink's non-zero return.  After an error the parser accepts nothing more. */
int fg_stmt_parser_feed(fg_stmt_parser_t *p, const char *data, size_t len, fg_stmt_error_t *err) FG_MUST_USE;
/** Ends the input: a statement left open (truncated XML, an MT940 block
 *  without :62F:, a CSV without its closing row where the profile has one)
 *  is FG_EINVALID.  0, FG_EINVALID with err, or a sink's return. */
int fg_stmt_parser_finish(fg_stmt_parser_t *p, fg_stmt_error_t *err) FG_MUST_USE;
void fg_stmt_parser_free(fg_stmt_parser_t *p);

/** Parses a whole buffer: new, feed, finish, free. */
int fg_stmt_parse(fg_stmt_format_t format, const char *data, size_t len, const fg_stmt_sink_t *sink,
                  fg_stmt_error_t *err) FG_MUST_USE;

/** A calendar date y-m-d as yyyymmdd, or FG_EINVALID when it does not exist
 *  (month 1..12, day within the month, leap years; years 1970..9999). */
int fg_stmt_date(int y, int m, int d, int32_t *out) FG_MUST_USE;

#endif
