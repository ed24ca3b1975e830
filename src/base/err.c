/* err.c — descriptions of the error enum. */
#include "base/err.h"

const char *sp_strerror(sp_err err)
{
    switch (err) {
    case SP_OK: return "ok";
    case SP_ERR_NOMEM: return "out of memory";
    case SP_ERR_INVALID: return "invalid input";
    case SP_ERR_TRUNCATED: return "truncated input";
    case SP_ERR_TOO_LARGE: return "too large";
    case SP_ERR_NOT_FOUND: return "not found";
    case SP_ERR_EXISTS: return "already exists";
    case SP_ERR_PERMISSION: return "permission denied";
    case SP_ERR_AUTH: return "unauthenticated";
    case SP_ERR_CRYPTO: return "cryptographic check failed";
    case SP_ERR_STATE: return "wrong state";
    case SP_ERR_IO: return "i/o error";
    case SP_ERR_INTERNAL: return "internal error";
    case SP_ERR_UNSUPPORTED: return "unsupported";
    case SP_ERR_AGAIN: return "try again";
    case SP_ERR_TIMEOUT: return "timed out";
    }
    return "unknown error";
}
