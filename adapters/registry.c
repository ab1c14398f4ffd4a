/*
 * registry.c - the adapters this build knows.
 */
#include "adapter.h"

#include <string.h>

static const fg_adapter_t *const ADAPTERS[] = {&fg_adapter_sandbox, &fg_adapter_vnpay, &fg_adapter_momo,
                                               &fg_adapter_vietqr};

void fg_provider_request_free(fg_provider_request_t *r)
{
    fg_buf_free(&r->url);
    fg_buf_free(&r->body);
}

const fg_adapter_t *fg_adapter_find(const char *name)
{
    for (size_t i = 0; i < sizeof(ADAPTERS) / sizeof(ADAPTERS[0]); i++)
        if (strcmp(ADAPTERS[i]->name, name) == 0)
            return ADAPTERS[i];
    return NULL;
}
