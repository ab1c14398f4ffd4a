/*
 * fuzz_mt940.c - SWIFT MT940 bank statements (recon/mt940.c).
 */
#include "fuzz_stmt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    unsigned mode = fuzz_take_byte(&data, &size);
    fuzz_stmt_run(FG_STMT_MT940, mode, data, size);
    return 0;
}
