#include "core/error.h"

const char *fg_strerror(int err)
{
    switch (err) {
    case FG_OK: return "ok";
#define FG_ERR_CASE(name, value, text)                                                                                 \
    case FG_E##name: return text;
        FG_ERRNO_MAP(FG_ERR_CASE)
#undef FG_ERR_CASE
    }
    return "unknown error";
}
