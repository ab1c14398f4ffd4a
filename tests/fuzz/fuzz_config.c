/*
 * fuzz_config.c - the config file (core/config.c fg_config_parse: the file
 * part of fg_config_load) over the defaults, then everything freed.
 */
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fg_config_t cfg;
    char err[256];
    err[0] = '\0';
    fg_config_defaults(&cfg);
    int rc = fg_config_parse(&cfg, (const char *)data, size, "fuzz.conf", err, sizeof(err));
    if (rc != 0) {
        FUZZ_CHECK(rc == FG_EINVALID && err[0] != '\0' && fuzz_terminated(err, sizeof(err)));
    } else {
        FUZZ_CHECK(cfg.db_port >= 1 && cfg.db_port <= 65535);
        FUZZ_CHECK(cfg.db_pool_size >= 1 && cfg.db_pool_size <= 1024);
    }
    fg_config_free(&cfg);
    return 0;
}
