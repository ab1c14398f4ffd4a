/*
 * stmtgen.c - writes one day's bank statement of N lines for the
 * reconciliation benchmark (tests/bench/recon): camt.053 or MT940 on stdout,
 * and the same lines as a tab-separated file for LOAD DATA INFILE.
 *
 *   stmtgen camt053|mt940|tsv ACCOUNT N [STATEMENT_ID]
 *
 * Line i is a credit of 100,000 + i VND with bank reference FT<i>, a memo
 * naming an order code-like text, and a value date of 2026-12-02; the
 * opening balance is 0 and the closing the sum, so the file balances.  The
 * TSV rows carry the line key the import computes (fg_stmt_line_key), so
 * that LOAD DATA writes the same keys into the same unique index.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "recon/recon.h"

/* The key's 32 bytes as a LOAD DATA field: raw, with the bytes its default
 * FIELDS ESCAPED BY '\\' would otherwise read as separators escaped. */
static void put_key(const uint8_t key[32])
{
    for (int i = 0; i < 32; i++) {
        switch (key[i]) {
        case 0: fputs("\\0", stdout); break;
        case '\t': fputs("\\t", stdout); break;
        case '\n': fputs("\\n", stdout); break;
        case '\r': fputs("\\r", stdout); break;
        case '\\': fputs("\\\\", stdout); break;
        default: putchar(key[i]);
        }
    }
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: stmtgen camt053|mt940|tsv ACCOUNT N [STATEMENT_ID]\n");
        return 2;
    }
    const char *format = argv[1], *account = argv[2];
    long long n = atoll(argv[3]), statement_id = argc > 4 ? atoll(argv[4]) : 1;
    long long closing = 0;
    for (long long i = 0; i < n; i++)
        closing += 100000 + i;
    if (strcmp(format, "camt053") == 0) {
        printf("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
               "<Document xmlns=\"urn:iso:std:iso:20022:tech:xsd:camt.053.001.02\"><BkToCstmrStmt>"
               "<GrpHdr><MsgId>BENCH</MsgId><CreDtTm>2026-12-02T23:59:00+07:00</CreDtTm></GrpHdr>\n"
               "<Stmt><Id>%s-20261202</Id><Acct><Id><Othr><Id>%s</Id></Othr></Id><Ccy>VND</Ccy></Acct>\n"
               "<Bal><Tp><CdOrPrtry><Cd>OPBD</Cd></CdOrPrtry></Tp><Amt Ccy=\"VND\">0</Amt><CdtDbtInd>CRDT</CdtDbtInd>"
               "<Dt><Dt>2026-12-01</Dt></Dt></Bal>\n"
               "<Bal><Tp><CdOrPrtry><Cd>CLBD</Cd></CdOrPrtry></Tp><Amt Ccy=\"VND\">%lld</Amt>"
               "<CdtDbtInd>CRDT</CdtDbtInd><Dt><Dt>2026-12-02</Dt></Dt></Bal>\n",
               account, account, closing);
        for (long long i = 0; i < n; i++)
            printf("<Ntry><Amt Ccy=\"VND\">%lld</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts>BOOK</Sts>"
                   "<BookgDt><Dt>2026-12-02</Dt></BookgDt><ValDt><Dt>2026-12-02</Dt></ValDt>"
                   "<AcctSvcrRef>FT%lld</AcctSvcrRef><NtryDtls><TxDtls><RmtInf><Ustrd>MBVCB.4525077405 CT tu "
                   "0351000646393 NGUYEN VAN A HOC PHI HS%lld</Ustrd></RmtInf></TxDtls></NtryDtls></Ntry>\n",
                   100000 + i, i, i);
        printf("</Stmt></BkToCstmrStmt></Document>\n");
    } else if (strcmp(format, "mt940") == 0) {
        printf(":20:BENCH\r\n:25:%s\r\n:28C:00001/001\r\n:60F:C261201VND0,\r\n", account);
        for (long long i = 0; i < n; i++)
            printf(":61:2612021202C%lld,NTRFNONREF//FT%lld\r\n:86:MBVCB.4525077405 CT tu 0351000646393 NGUYEN VAN A "
                   "HOC PHI HS%lld\r\n",
                   100000 + i, i, i);
        printf(":62F:C261202VND%lld,\r\n-\r\n", closing);
    } else if (strcmp(format, "tsv") == 0) {
        /* the columns statement_lines takes, as the import writes them */
        static fg_stmt_line_t line;
        uint8_t key[32];
        for (long long i = 0; i < n; i++) {
            snprintf(line.bank_ref, sizeof(line.bank_ref), "FT%lld", i);
            fg_stmt_line_key(&line, 0, key);
            printf("%lld\t%s\t", statement_id, account);
            put_key(key);
            printf("\tVND\t%lld\t0\t20261202\t20261202\tFT%lld\t\t\tMBVCB.4525077405 CT tu "
                   "0351000646393 NGUYEN VAN A HOC PHI HS%lld\t\t%lld\t0\t0\n",
                   100000 + i, i, i, i + 1);
        }
    } else {
        fprintf(stderr, "stmtgen: unknown format %s\n", format);
        return 2;
    }
    return 0;
}
