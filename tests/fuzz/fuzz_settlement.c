/*
 * fuzz_settlement.c - a gateway's settlement file (recon/settlement.c
 * fg_settlement_check: the pure first pass of fg_settlement_import), with
 * what it promises: per batch, gross - fees = net.
 */
#include "fuzz.h"

#include "recon/recon_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fg_settlement_batch_t batches[FG_SETTLEMENT_BATCHES_MAX];
    fg_stmt_error_t err;
    int count = -1;
    int64_t rows = -1;
    memset(batches, 0, sizeof(batches));
    int rc = fg_settlement_check("vnpay", (const char *)data, size, batches, &count, &rows, &err);
    FUZZ_CHECK(count >= 0 && count <= FG_SETTLEMENT_BATCHES_MAX);
    if (rc == 0) {
        int64_t total = 0;
        FUZZ_CHECK(count >= 1 && rows >= 1);
        for (int b = 0; b < count; b++) {
            FUZZ_CHECK(batches[b].batch_ref[0] != '\0' &&
                       fuzz_terminated(batches[b].batch_ref, sizeof(batches[b].batch_ref)));
            FUZZ_CHECK(batches[b].rows >= 1 && batches[b].fees >= 0);
            FUZZ_CHECK(batches[b].gross - batches[b].fees == batches[b].net);
            total += batches[b].rows;
        }
        FUZZ_CHECK(total == rows);
    } else {
        FUZZ_CHECK(rc == FG_EINVALID && err.message[0] != '\0');
    }
    return 0;
}
