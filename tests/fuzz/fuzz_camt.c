/*
 * fuzz_camt.c - ISO 20022 bank statements (recon/camt.c): camt.053 and
 * camt.054, picked by the first byte's low bit.
 */
#include "fuzz_stmt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    unsigned mode = fuzz_take_byte(&data, &size);
    fuzz_stmt_run((mode & 0x80) ? FG_STMT_CAMT054 : FG_STMT_CAMT053, mode, data, size);
    return 0;
}
