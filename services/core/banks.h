/*
 * banks.h - NAPAS member banks by BIN: the six digits a VietQR code and a
 * NAPAS 247 transfer name the bank by, and the names payers know it by:
 * the bill page's VietQR section, payout accounts (a BIN not listed is
 * refused: a transfer to it would come back) and the bank's payout file.
 */
#ifndef FG_CORE_BANKS_H
#define FG_CORE_BANKS_H

typedef struct {
    const char *bin;        /* "970436" */
    const char *short_name; /* "Vietcombank" */
    const char *full_name;  /* "Ngân hàng TMCP Ngoại thương Việt Nam" */
} fg_bank_t;

/** The member bank with this BIN, or NULL. */
const fg_bank_t *fg_bank_find(const char *bin);

/** Every member bank, in the table's order; *count receives how many. */
const fg_bank_t *fg_banks(int *count);

#endif
