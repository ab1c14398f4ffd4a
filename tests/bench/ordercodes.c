/*
 * ordercodes.c - prints N distinct payer codes, one a line, made the way the
 * service makes them (fg_order_code_new: ten random Crockford symbols and the
 * Luhn mod 32 check), for benchmarks that seed orders with SQL and then pay
 * them by bank transfer, where the code in the memo must verify.
 *
 *   ordercodes N
 */
#include <stdio.h>
#include <stdlib.h>
#include "core/ids.h"

int main(int argc, char **argv)
{
    long n = argc == 2 ? atol(argv[1]) : 0;
    if (n < 1) {
        fprintf(stderr, "usage: ordercodes N\n");
        return 2;
    }
    char code[FG_ORDER_CODE_LEN + 1];
    for (long i = 0; i < n; i++) {
        if (fg_order_code_new(code, sizeof(code)) != 0) {
            fprintf(stderr, "ordercodes: no randomness\n");
            return 1;
        }
        puts(code);
    }
    return 0;
}
