/*
 * fuzz_csv.c - CSV bank statements (recon/csv.c): feegate's own layout and
 * the Vietnamese bank's bilingual export (csv-vn), picked by the first byte.
 */
#include "fuzz_stmt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    unsigned mode = fuzz_take_byte(&data, &size);
    fuzz_stmt_run((mode & 0x80) ? FG_STMT_CSV_VN : FG_STMT_CSV, mode, data, size);
    return 0;
}
