/*
 * statement.c - the collection account's bookings and the day statements
 * drawn from them: ISO 20022 camt.053 and SWIFT MT940, in the shapes of
 * PROTOCOLS.md "Statements" and the samples.
 *
 * Every approved VNPay or MoMo payment and every SePay transfer is one
 * booking; refunds and outgoing transfers are debits.  A statement covers one
 * GMT+7 business day: its opening balance is the account's balance at the
 * start of that day and its closing balance the opening plus the day's lines,
 * so both formats balance by construction.
 */
#include "banksim.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* SWIFT field limits: references are 16x, :86: has 6 lines of 65. */
#define MT940_REF_MAX 16
#define MT940_86_LINE_MAX 65
#define MT940_86_LINES_MAX 6

typedef struct {
    int64_t at_ms;
    int64_t amount; /* > 0 credit, < 0 debit */
    char date[11];  /* GMT+7 business date */
    char *bank_ref, *end_to_end, *text, *kind;
} booking_t;

static booking_t *bookings;
static size_t booking_count, booking_cap;
static int64_t balance_now; /* valid once balance_ready */
static int balance_ready;

int64_t bs_balance(void)
{
    if (!balance_ready) {
        balance_now = bs_config.opening_balance;
        balance_ready = 1;
    }
    return balance_now;
}

int64_t bs_book(int64_t at_ms, int64_t amount, const char *bank_ref, const char *end_to_end, const char *text,
                const char *kind)
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
    bs_business_date(at_ms, bk->date);
    bk->bank_ref = bs_strdup(bank_ref);
    bk->end_to_end = bs_strdup(end_to_end != NULL && end_to_end[0] != '\0' ? end_to_end : "NOTPROVIDED");
    bk->text = bs_strdup(text != NULL ? text : "");
    bk->kind = bs_strdup(kind);
    balance_now = bs_balance() + amount;
    return balance_now;
}

void bs_bookings_free(void)
{
    for (size_t i = 0; i < booking_count; i++) {
        free(bookings[i].bank_ref);
        free(bookings[i].end_to_end);
        free(bookings[i].text);
        free(bookings[i].kind);
    }
    free(bookings);
    bookings = NULL;
    booking_count = booking_cap = 0;
}

/* ---- dates -------------------------------------------------------------------- */

/* Days since 1970-01-01 of "YYYY-MM-DD". */
static int64_t epoch_day(const char *date)
{
    struct tm tm = {0};
    tm.tm_year = atoi(date) - 1900;
    tm.tm_mon = atoi(date + 5) - 1;
    tm.tm_mday = atoi(date + 8);
    return (int64_t)timegm(&tm) / 86400;
}

static void day_format(int64_t day, const char *fmt, char *out, size_t cap)
{
    time_t t = (time_t)(day * 86400);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, cap, fmt, &tm);
}

/* The opening balance of date and the index range [*first, *end) of its
 * bookings (bookings are appended in time order). */
static int64_t day_range(const char *date, size_t *first, size_t *end)
{
    int64_t opening = bs_config.opening_balance;
    size_t i = 0;
    while (i < booking_count && strcmp(bookings[i].date, date) < 0)
        opening += bookings[i++].amount;
    *first = i;
    while (i < booking_count && strcmp(bookings[i].date, date) == 0)
        i++;
    *end = i;
    return opening;
}

/* ---- camt.053 ----------------------------------------------------------------- */

static void camt_balance(bs_buf_t *b, const char *code, int64_t amount, const char *date)
{
    bs_buf_printf(b,
                  "      <Bal>\n"
                  "        <Tp><CdOrPrtry><Cd>%s</Cd></CdOrPrtry></Tp>\n"
                  "        <Amt Ccy=\"VND\">%lld</Amt>\n"
                  "        <CdtDbtInd>%s</CdtDbtInd>\n"
                  "        <Dt><Dt>%s</Dt></Dt>\n"
                  "      </Bal>\n",
                  code, (long long)(amount < 0 ? -amount : amount), amount < 0 ? "DBIT" : "CRDT", date);
}

static void camt_entry(bs_buf_t *b, const booking_t *bk)
{
    char booked[40];
    bs_format_gmt7(bk->at_ms, "%Y-%m-%dT%H:%M:%S+07:00", booked, sizeof(booked));
    int credit = bk->amount > 0;
    bs_buf_printf(b,
                  "      <Ntry>\n"
                  "        <Amt Ccy=\"VND\">%lld</Amt>\n"
                  "        <CdtDbtInd>%s</CdtDbtInd>\n"
                  "        <RvslInd>false</RvslInd>\n"
                  "        <Sts>BOOK</Sts>\n"
                  "        <BookgDt><DtTm>%s</DtTm></BookgDt>\n"
                  "        <ValDt><Dt>%s</Dt></ValDt>\n"
                  "        <AcctSvcrRef>",
                  (long long)(credit ? bk->amount : -bk->amount), credit ? "CRDT" : "DBIT", booked, bk->date);
    bs_xml_escape(b, bk->bank_ref);
    bs_buf_printf(b,
                  "</AcctSvcrRef>\n"
                  "        <BkTxCd><Domn><Cd>PMNT</Cd><Fmly><Cd>%s</Cd>"
                  "<SubFmlyCd>DMCT</SubFmlyCd></Fmly></Domn></BkTxCd>\n"
                  "        <NtryDtls>\n"
                  "          <TxDtls>\n"
                  "            <Refs>\n"
                  "              <AcctSvcrRef>",
                  credit ? "RCDT" : "ICDT");
    bs_xml_escape(b, bk->bank_ref);
    bs_buf_puts(b, "</AcctSvcrRef>\n              <EndToEndId>");
    bs_xml_escape(b, bk->end_to_end);
    bs_buf_puts(b, "</EndToEndId>\n"
                   "            </Refs>\n"
                   "            <RmtInf>\n"
                   "              <Ustrd>");
    bs_xml_escape(b, bk->text);
    bs_buf_puts(b, "</Ustrd>\n"
                   "            </RmtInf>\n"
                   "          </TxDtls>\n"
                   "        </NtryDtls>\n"
                   "      </Ntry>\n");
}

static void render_camt053(bs_buf_t *b, const char *date)
{
    size_t first, end;
    int64_t opening = day_range(date, &first, &end), closing = opening;
    for (size_t i = first; i < end; i++)
        closing += bookings[i].amount;
    int64_t day = epoch_day(date);
    char compact[9], previous[11], created[40];
    day_format(day, "%Y%m%d", compact, sizeof(compact));
    day_format(day - 1, "%Y-%m-%d", previous, sizeof(previous));
    bs_format_gmt7(bs_now_ms(), "%Y-%m-%dT%H:%M:%S+07:00", created, sizeof(created));
    bs_buf_printf(b,
                  "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                  "<Document xmlns=\"urn:iso:std:iso:20022:tech:xsd:camt.053.001.02\">\n"
                  "  <BkToCstmrStmt>\n"
                  "    <GrpHdr>\n"
                  "      <MsgId>STMT-%s-0001</MsgId>\n"
                  "      <CreDtTm>%s</CreDtTm>\n"
                  "    </GrpHdr>\n"
                  "    <Stmt>\n"
                  "      <Id>",
                  compact, created);
    bs_xml_escape(b, bs_config.vietqr_account_no);
    bs_buf_printf(b,
                  "-%s</Id>\n"
                  "      <ElctrncSeqNb>%lld</ElctrncSeqNb>\n"
                  "      <CreDtTm>%s</CreDtTm>\n"
                  "      <FrToDt>\n"
                  "        <FrDtTm>%sT00:00:00+07:00</FrDtTm>\n"
                  "        <ToDtTm>%sT23:59:59+07:00</ToDtTm>\n"
                  "      </FrToDt>\n"
                  "      <Acct>\n"
                  "        <Id><Othr><Id>",
                  compact, (long long)day, created, date, date);
    bs_xml_escape(b, bs_config.vietqr_account_no);
    bs_buf_puts(b, "</Id></Othr></Id>\n"
                   "        <Ccy>VND</Ccy>\n"
                   "      </Acct>\n");
    camt_balance(b, "OPBD", opening, previous);
    camt_balance(b, "CLBD", closing, date);
    for (size_t i = first; i < end; i++)
        camt_entry(b, &bookings[i]);
    bs_buf_puts(b, "    </Stmt>\n"
                   "  </BkToCstmrStmt>\n"
                   "</Document>\n");
}

/* ---- MT940 -------------------------------------------------------------------- */

/* A reference fit for a 16x field, or NONREF. */
static const char *mt940_ref(const char *ref)
{
    size_t n = strlen(ref);
    if (n == 0 || n > MT940_REF_MAX || strstr(ref, "//") != NULL || strcmp(ref, "NOTPROVIDED") == 0)
        return "NONREF";
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)ref[i] <= ' ' || (unsigned char)ref[i] > '~')
            return "NONREF";
    return ref;
}

/* :86: free text: printable ASCII only, wrapped at 65 characters, at most 6
 * lines, no line starting with ':' or '-' (they would open a field or end the
 * statement). */
static void mt940_text(bs_buf_t *b, const char *text)
{
    bs_buf_puts(b, ":86:");
    int line = 0, col = 0;
    for (const char *s = text; *s != '\0'; s++) {
        char c = (unsigned char)*s < ' ' || (unsigned char)*s > '~' ? ' ' : *s;
        if (col == MT940_86_LINE_MAX) {
            if (++line == MT940_86_LINES_MAX)
                break;
            bs_buf_putc(b, '\n');
            col = 0;
        }
        if (col == 0 && line > 0 && (c == ':' || c == '-'))
            c = ' ';
        bs_buf_putc(b, c);
        col++;
    }
    bs_buf_putc(b, '\n');
}

static void mt940_balance(bs_buf_t *b, const char *tag, int64_t amount, int64_t day)
{
    char yymmdd[7];
    day_format(day, "%y%m%d", yymmdd, sizeof(yymmdd));
    bs_buf_printf(b, ":%s:%c%sVND%lld,\n", tag, amount < 0 ? 'D' : 'C', yymmdd,
                  (long long)(amount < 0 ? -amount : amount));
}

static void render_mt940(bs_buf_t *b, const char *date)
{
    size_t first, end;
    int64_t opening = day_range(date, &first, &end), closing = opening;
    int64_t day = epoch_day(date);
    char compact[9], yymmdd[7], mmdd[5];
    day_format(day, "%Y%m%d", compact, sizeof(compact));
    day_format(day, "%y%m%d", yymmdd, sizeof(yymmdd));
    day_format(day, "%m%d", mmdd, sizeof(mmdd));
    bs_buf_printf(b, ":20:STMT%s\n:25:%s\n:28C:%05lld/001\n", compact, bs_config.vietqr_account_no,
                  (long long)(day % 100000));
    mt940_balance(b, "60F", opening, day - 1);
    for (size_t i = first; i < end; i++) {
        const booking_t *bk = &bookings[i];
        closing += bk->amount;
        bs_buf_printf(b, ":61:%s%s%c%lld,NTRF%s//%s\n", yymmdd, mmdd, bk->amount > 0 ? 'C' : 'D',
                      (long long)(bk->amount > 0 ? bk->amount : -bk->amount), mt940_ref(bk->end_to_end),
                      mt940_ref(bk->bank_ref));
        mt940_text(b, bk->text);
    }
    mt940_balance(b, "62F", closing, day);
    bs_buf_puts(b, "-\n");
}

int bs_statement_render(bs_buf_t *b, const char *date, const char *format)
{
    int camt = strcmp(format, "camt053") == 0;
    if (!camt && strcmp(format, "mt940") != 0)
        return -1;
    pthread_mutex_lock(&bs_state_lock);
    if (camt)
        render_camt053(b, date);
    else
        render_mt940(b, date);
    pthread_mutex_unlock(&bs_state_lock);
    return 0;
}
