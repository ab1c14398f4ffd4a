/*
 * fuzz.h - what the libFuzzer targets share: a NUL-terminated copy of the
 * input, a selector byte, a fixed clock and a configuration with secrets.
 *
 * A target fails by crashing: an ASan or UBSan report, a leak, a timeout, or
 * FUZZ_CHECK on an invariant the parser promises.
 */
#ifndef FG_FUZZ_H
#define FG_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/buf.h"
#include "core/config.h"

/* 2026-12-01 00:00:00 UTC: the clock every target runs at. */
#define FUZZ_NOW_MS 1796083200000LL

/* An invariant the code under test promises: abort (a crash libFuzzer keeps). */
#define FUZZ_CHECK(cond)                                                                                               \
    do {                                                                                                               \
        if (!(cond)) {                                                                                                 \
            fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, #cond);                               \
            abort();                                                                                                   \
        }                                                                                                              \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A heap copy of data with a NUL after it (free it). */
static inline char *fuzz_text(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    if (s == NULL)
        abort();
    if (size > 0)
        memcpy(s, data, size);
    s[size] = '\0';
    return s;
}

/* Takes the first byte as a selector (0 when the input is empty). */
static inline unsigned fuzz_take_byte(const uint8_t **data, size_t *size)
{
    if (*size == 0)
        return 0;
    unsigned b = **data;
    (*data)++;
    (*size)--;
    return b;
}

/* The secrets and codes the adapters verify against, as a deployment sets them. */
static inline void fuzz_config(fg_config_t *cfg)
{
    static const char *const SETTINGS[][2] = {{"vnpay.tmn_code", "FEEGATE1"},
                                              {"vnpay.hash_secret", "vnpay-fuzz-secret"},
                                              {"momo.partner_code", "MOMOFUZZ"},
                                              {"momo.access_key", "momo-access"},
                                              {"momo.secret_key", "momo-secret"},
                                              {"sepay.api_key", "sepay-key"},
                                              {"sandbox.secret", "sandbox-secret"}};
    char err[256];
    fg_config_defaults(cfg);
    for (size_t i = 0; i < sizeof(SETTINGS) / sizeof(SETTINGS[0]); i++)
        if (fg_config_set(cfg, SETTINGS[i][0], SETTINGS[i][1], err, sizeof(err)) != 0) {
            fprintf(stderr, "fuzz: %s\n", err);
            abort();
        }
}

/* The process's configuration of fuzz_config, made on first use. */
static inline const fg_config_t *fuzz_configured(void)
{
    static fg_config_t cfg;
    static int ready;
    if (!ready) {
        fuzz_config(&cfg);
        ready = 1;
    }
    return &cfg;
}

/* 1 when s[0..cap) holds a NUL: a fixed-size string field stays terminated. */
static inline int fuzz_terminated(const char *s, size_t cap) { return memchr(s, '\0', cap) != NULL; }

/* text (a JSON object, len bytes) with "key":"value" put first into out, so
 * that a signature the target computed is the one the parser reads (a
 * reader takes the first of a repeated name).  Text that does not start
 * with '{' is copied as it is. */
static inline void fuzz_json_with(const char *text, size_t len, const char *key, const char *value, fg_buf_t *out)
{
    size_t at = 0;
    while (at < len && (text[at] == ' ' || text[at] == '\n' || text[at] == '\t' || text[at] == '\r'))
        at++;
    if (at == len || text[at] != '{') {
        fg_buf_append(out, text, len);
        return;
    }
    size_t rest = at + 1;
    while (rest < len && (text[rest] == ' ' || text[rest] == '\n' || text[rest] == '\t' || text[rest] == '\r'))
        rest++;
    fg_buf_printf(out, "{\"%s\":\"%s\"%s", key, value, rest < len && text[rest] == '}' ? "" : ",");
    fg_buf_append(out, text + rest, len - rest);
}

#endif
