/*
 * formats.c - a statement day written as ISO 20022 camt.053 (statement) or
 * camt.054 (debit/credit notification), SWIFT MT940, or a Vietnamese bank's
 * bilingual CSV export, in the shapes of PROTOCOLS.md "Statements",
 * "Vietnamese bank statement exports" and the samples.
 */
#include "day.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* SWIFT field limits: references are 16x, :86: has 6 lines of 65. */
#define MT940_REF_MAX 16
#define MT940_86_LINE_MAX 65
#define MT940_86_LINES_MAX 6

static int64_t magnitude(int64_t amount) { return amount < 0 ? -amount : amount; }

/* ---- camt.053 and camt.054 ------------------------------------------------------- */

/* The length of the longest prefix of s[0..n) holding at most max UTF-8
 * characters, not cutting one in two. */
static size_t utf8_prefix(const char *s, size_t n, size_t max)
{
    size_t i = 0, chars = 0;
    while (i < n && chars < max) {
        i++;
        while (i < n && ((unsigned char)s[i] & 0xC0) == 0x80)
            i++;
        chars++;
    }
    return i;
}

/* RmtInf/Ustrd: one element per wrapped line of the memo, each cut to
 * Max140Text; nothing at all for an empty memo (Ustrd has at least one
 * character). */
static void camt_remittance(bs_buf_t *b, const char *text)
{
    const char *indent = "              ";
    int open = 0;
    for (const char *line = text; *line != '\0';) {
        size_t n = strcspn(line, "\n");
        for (size_t done = 0; done < n;) {
            size_t piece = utf8_prefix(line + done, n - done, BS_USTRD_MAX);
            if (!open) {
                bs_buf_puts(b, "            <RmtInf>\n");
                open = 1;
            }
            char *copy = bs_strndup(line + done, piece);
            bs_buf_printf(b, "%s<Ustrd>", indent);
            bs_xml_escape(b, copy);
            bs_buf_puts(b, "</Ustrd>\n");
            free(copy);
            done += piece;
        }
        line += n + (line[n] == '\n');
    }
    if (open)
        bs_buf_puts(b, "            </RmtInf>\n");
}

static void camt_entry(bs_buf_t *b, const bs_line_t *l)
{
    char booked[40];
    bs_format_gmt7(l->at_ms, "%Y-%m-%dT%H:%M:%S+07:00", booked, sizeof(booked));
    int credit = l->amount > 0;
    bs_buf_printf(b,
                  "      <Ntry>\n"
                  "        <Amt Ccy=\"VND\">%lld</Amt>\n"
                  "        <CdtDbtInd>%s</CdtDbtInd>\n"
                  "        <RvslInd>false</RvslInd>\n"
                  "        <Sts>BOOK</Sts>\n"
                  "        <BookgDt><DtTm>%s</DtTm></BookgDt>\n"
                  "        <ValDt><Dt>%s</Dt></ValDt>\n"
                  "        <AcctSvcrRef>",
                  (long long)magnitude(l->amount), credit ? "CRDT" : "DBIT", booked, l->date);
    bs_xml_escape(b, l->bank_ref);
    bs_buf_printf(b,
                  "</AcctSvcrRef>\n"
                  "        <BkTxCd><Domn><Cd>PMNT</Cd><Fmly><Cd>%s</Cd>"
                  "<SubFmlyCd>DMCT</SubFmlyCd></Fmly></Domn></BkTxCd>\n"
                  "        <NtryDtls>\n"
                  "          <TxDtls>\n"
                  "            <Refs>\n"
                  "              <AcctSvcrRef>",
                  credit ? "RCDT" : "ICDT");
    bs_xml_escape(b, l->bank_ref);
    bs_buf_puts(b, "</AcctSvcrRef>\n              <EndToEndId>");
    bs_xml_escape(b, l->end_to_end);
    bs_buf_puts(b, "</EndToEndId>\n"
                   "            </Refs>\n");
    camt_remittance(b, l->text);
    bs_buf_puts(b, "          </TxDtls>\n"
                   "        </NtryDtls>\n"
                   "      </Ntry>\n");
}

static void camt_balance(bs_buf_t *b, const char *code, int64_t amount, const char *date)
{
    bs_buf_printf(b,
                  "      <Bal>\n"
                  "        <Tp><CdOrPrtry><Cd>%s</Cd></CdOrPrtry></Tp>\n"
                  "        <Amt Ccy=\"VND\">%lld</Amt>\n"
                  "        <CdtDbtInd>%s</CdtDbtInd>\n"
                  "        <Dt><Dt>%s</Dt></Dt>\n"
                  "      </Bal>\n",
                  code, (long long)magnitude(amount), amount < 0 ? "DBIT" : "CRDT", date);
}

static void camt_account(bs_buf_t *b)
{
    bs_buf_puts(b, "      <Acct>\n"
                   "        <Id><Othr><Id>");
    bs_xml_escape(b, bs_config.vietqr_account_no);
    bs_buf_puts(b, "</Id></Othr></Id>\n"
                   "        <Ccy>VND</Ccy>\n"
                   "      </Acct>\n");
}

static void camt_period(bs_buf_t *b, const bs_day_t *day)
{
    bs_buf_printf(b,
                  "      <FrToDt>\n"
                  "        <FrDtTm>%sT00:00:00+07:00</FrDtTm>\n"
                  "        <ToDtTm>%sT23:59:59+07:00</ToDtTm>\n"
                  "      </FrToDt>\n",
                  day->from_date, day->date);
}

void bs_render_camt053(bs_buf_t *b, const bs_day_t *day)
{
    int64_t epoch_day = bs_epoch_day(day->date);
    char compact[9], opened[11], created[40];
    bs_day_format(epoch_day, "%Y%m%d", compact, sizeof(compact));
    bs_day_format(bs_epoch_day(day->from_date) - 1, "%Y-%m-%d", opened, sizeof(opened));
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
                  "      <CreDtTm>%s</CreDtTm>\n",
                  compact, (long long)epoch_day, created);
    camt_period(b, day);
    camt_account(b);
    camt_balance(b, "OPBD", day->opening, opened);
    camt_balance(b, "CLBD", day->closing, day->date);
    for (size_t i = 0; i < day->count; i++)
        camt_entry(b, &day->lines[i]);
    bs_buf_puts(b, "    </Stmt>\n"
                   "  </BkToCstmrStmt>\n"
                   "</Document>\n");
}

/* One Ntfctn: the lines [first, end) of day (every line, or one credit). */
static void camt054_notification(bs_buf_t *b, const bs_day_t *day, const char *id, const char *created, size_t first,
                                 size_t end)
{
    bs_buf_printf(b,
                  "    <Ntfctn>\n"
                  "      <Id>%s</Id>\n"
                  "      <CreDtTm>%s</CreDtTm>\n",
                  id, created);
    if (end - first != 1)
        camt_period(b, day);
    camt_account(b);
    for (size_t i = first; i < end; i++)
        camt_entry(b, &day->lines[i]);
    bs_buf_puts(b, "    </Ntfctn>\n");
}

void bs_render_camt054(bs_buf_t *b, const bs_day_t *day, int per_credit)
{
    char compact[9], created[40], id[40];
    bs_day_format(bs_epoch_day(day->date), "%Y%m%d", compact, sizeof(compact));
    bs_format_gmt7(bs_now_ms(), "%Y-%m-%dT%H:%M:%S+07:00", created, sizeof(created));
    bs_buf_printf(b,
                  "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                  "<Document xmlns=\"urn:iso:std:iso:20022:tech:xsd:camt.054.001.02\">\n"
                  "  <BkToCstmrDbtCdtNtfctn>\n"
                  "    <GrpHdr>\n"
                  "      <MsgId>NTF-%s-%s</MsgId>\n"
                  "      <CreDtTm>%s</CreDtTm>\n"
                  "    </GrpHdr>\n",
                  compact, per_credit ? "CREDITS" : "DAY", created);
    int notified = 0;
    for (size_t i = 0; per_credit && i < day->count; i++) {
        if (day->lines[i].amount <= 0)
            continue;
        char at[40];
        bs_format_gmt7(day->lines[i].at_ms, "%Y-%m-%dT%H:%M:%S+07:00", at, sizeof(at));
        snprintf(id, sizeof(id), "NTF-%s-%06zu", compact, i + 1);
        camt054_notification(b, day, id, at, i, i + 1);
        notified++;
    }
    if (!notified) {
        /* the whole day; per credit, a day without credits still has one
         * notification (a message holds one at least), without entries */
        snprintf(id, sizeof(id), "NTF-%s-DAY", compact);
        camt054_notification(b, day, id, created, 0, per_credit ? 0 : day->count);
    }
    bs_buf_puts(b, "  </BkToCstmrDbtCdtNtfctn>\n"
                   "</Document>\n");
}

/* ---- MT940 ---------------------------------------------------------------------------- */

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

/* :86: free text in the SWIFT character set (diacritics stripped), each of the
 * memo's wrapped lines on lines of at most 65 characters, 6 lines at most, no
 * line starting with ':' or '-' (they would open a field or end the
 * statement). */
static void mt940_text(bs_buf_t *b, const char *text)
{
    bs_buf_t ascii = BS_BUF_INIT;
    for (const char *line = text; *line != '\0';) {
        size_t n = strcspn(line, "\n");
        if (ascii.len > 0)
            bs_buf_putc(&ascii, '\n');
        bs_ascii_fold(&ascii, line, n, 0);
        line += n + (line[n] == '\n');
    }
    bs_buf_puts(b, ":86:");
    int lines = 0, col = 0;
    for (const char *s = bs_buf_cstr(&ascii); *s != '\0'; s++) {
        int wrapped = *s == '\n';
        if (wrapped || col == MT940_86_LINE_MAX) {
            if (++lines == MT940_86_LINES_MAX)
                break;
            bs_buf_putc(b, '\n');
            col = 0;
            if (wrapped)
                continue;
        }
        char c = (unsigned char)*s < ' ' || (unsigned char)*s > '~' ? ' ' : *s;
        if (col == 0 && lines > 0 && (c == ':' || c == '-'))
            c = ' ';
        bs_buf_putc(b, c);
        col++;
    }
    bs_buf_putc(b, '\n');
    bs_buf_free(&ascii);
}

static void mt940_balance(bs_buf_t *b, const char *tag, int64_t amount, int64_t day)
{
    char yymmdd[7];
    bs_day_format(day, "%y%m%d", yymmdd, sizeof(yymmdd));
    bs_buf_printf(b, ":%s:%c%sVND%lld,\n", tag, amount < 0 ? 'D' : 'C', yymmdd, (long long)magnitude(amount));
}

void bs_render_mt940(bs_buf_t *b, const bs_day_t *day)
{
    int64_t epoch_day = bs_epoch_day(day->date);
    char compact[9];
    bs_day_format(epoch_day, "%Y%m%d", compact, sizeof(compact));
    bs_buf_printf(b, ":20:STMT%s\n:25:%s\n:28C:%05lld/001\n", compact, bs_config.vietqr_account_no,
                  (long long)(epoch_day % 100000));
    mt940_balance(b, "60F", day->opening, bs_epoch_day(day->from_date) - 1);
    for (size_t i = 0; i < day->count; i++) {
        const bs_line_t *l = &day->lines[i];
        char yymmdd[7], mmdd[5];
        int64_t value_day = bs_epoch_day(l->date);
        bs_day_format(value_day, "%y%m%d", yymmdd, sizeof(yymmdd));
        bs_day_format(value_day, "%m%d", mmdd, sizeof(mmdd));
        bs_buf_printf(b, ":61:%s%s%c%lld,NTRF%s//%s\n", yymmdd, mmdd, l->amount > 0 ? 'C' : 'D',
                      (long long)magnitude(l->amount), mt940_ref(l->end_to_end), mt940_ref(l->bank_ref));
        mt940_text(b, l->text);
    }
    mt940_balance(b, "62F", day->closing, epoch_day);
    bs_buf_puts(b, "-\n");
}

/* ---- a Vietnamese bank's CSV export (samples/vcb_statement_sample.csv) ------------------- */

/* "1.500.000": VND with dots between thousands. */
static void vnd(bs_buf_t *b, int64_t amount)
{
    char digits[24];
    int n = snprintf(digits, sizeof(digits), "%lld", (long long)magnitude(amount));
    bs_buf_putc(b, '"');
    if (amount < 0)
        bs_buf_putc(b, '-');
    for (int i = 0; i < n; i++) {
        if (i > 0 && (n - i) % 3 == 0)
            bs_buf_putc(b, '.');
        bs_buf_putc(b, digits[i]);
    }
    bs_buf_putc(b, '"');
}

/* A quoted cell: quotes doubled, line breaks kept (the wrapped memo). */
static void quoted(bs_buf_t *b, const char *s)
{
    bs_buf_putc(b, '"');
    for (; *s != '\0'; s++) {
        if (*s == '"')
            bs_buf_putc(b, '"');
        bs_buf_putc(b, *s);
    }
    bs_buf_putc(b, '"');
}

/* dd/mm/yyyy of "YYYY-MM-DD". */
static void vn_date(const char *date, char out[11]) { snprintf(out, 11, "%.2s/%.2s/%.4s", date + 8, date + 5, date); }

void bs_render_csv_vn(bs_buf_t *b, const bs_day_t *day)
{
    char from[11], to[11];
    vn_date(day->from_date, from);
    vn_date(day->date, to);
    bs_buf_printf(b,
                  "\xEF\xBB\xBF\"SAO KÊ TÀI KHOẢN / STATEMENT OF ACCOUNT\",,,,,,\n"
                  "\"Số tài khoản / Account number: %s\",,,,,,\n"
                  "\"Từ ngày / From: %s  Đến ngày / To: %s\",,,,,,\n"
                  "\"Số dư đầu kỳ / Opening balance\",,,,,",
                  bs_config.vietqr_account_no, from, to);
    vnd(b, day->opening);
    bs_buf_puts(b, ",\n\"STT / No.\",\"Ngày giao dịch / Transaction date\",\"Số tham chiếu / Reference\","
                   "\"Ghi nợ / Debit\",\"Ghi có / Credit\",\"Số dư / Balance\",\"Nội dung chi tiết / Description\"\n");
    for (size_t i = 0; i < day->count; i++) {
        const bs_line_t *l = &day->lines[i];
        char date[11];
        vn_date(l->date, date);
        bs_buf_printf(b, "%zu,\"%s\",", i + 1, date);
        quoted(b, l->bank_ref);
        bs_buf_putc(b, ',');
        if (l->amount < 0)
            vnd(b, -l->amount);
        bs_buf_putc(b, ',');
        if (l->amount > 0)
            vnd(b, l->amount);
        bs_buf_putc(b, ',');
        vnd(b, l->balance);
        bs_buf_putc(b, ',');
        quoted(b, l->text);
        bs_buf_putc(b, '\n');
    }
    bs_buf_puts(b, "\"Số dư cuối kỳ / Closing balance\",,,,,");
    vnd(b, day->closing);
    bs_buf_puts(b, ",\n");
}
