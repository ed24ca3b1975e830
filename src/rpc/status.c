/* status.c — sp_err → gRPC status, status names, grpc-message percent-encoding. */
#include "rpc/status.h"

#include <string.h>

rpc_status rpc_status_from_err(sp_err err)
{
    switch (err) {
    case SP_OK: return RPC_OK;
    case SP_ERR_INVALID:
    case SP_ERR_TRUNCATED: return RPC_INVALID_ARGUMENT;
    case SP_ERR_NOT_FOUND: return RPC_NOT_FOUND;
    case SP_ERR_EXISTS: return RPC_ALREADY_EXISTS;
    case SP_ERR_PERMISSION: return RPC_PERMISSION_DENIED;
    case SP_ERR_AUTH: return RPC_UNAUTHENTICATED;
    case SP_ERR_TOO_LARGE: return RPC_RESOURCE_EXHAUSTED;
    case SP_ERR_STATE: return RPC_FAILED_PRECONDITION;
    case SP_ERR_UNSUPPORTED: return RPC_UNIMPLEMENTED;
    case SP_ERR_TIMEOUT: return RPC_DEADLINE_EXCEEDED;
    case SP_ERR_AGAIN: return RPC_UNAVAILABLE;
    default: return RPC_INTERNAL;
    }
}

static const char *const g_names[] = {
    "OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND",
    "ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION", "ABORTED",
    "OUT_OF_RANGE", "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS", "UNAUTHENTICATED",
};

const char *rpc_status_name(int code)
{
    if (code < 0 || code > RPC_UNAUTHENTICATED)
        return "UNKNOWN";
    return g_names[code];
}

int rpc_status_parse(const char *name)
{
    for (int i = 0; i <= RPC_UNAUTHENTICATED; i++)
        if (strcmp(name, g_names[i]) == 0)
            return i;
    return -1;
}

sp_err rpc_percent_encode(sp_buf *out, const char *msg, size_t len)
{
    static const char hex[] = "0123456789ABCDEF";
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)msg[i];
        if (c >= 0x20 && c <= 0x7e && c != '%') {
            if (sp_buf_put_u8(out, c))
                return SP_ERR_NOMEM;
        } else {
            uint8_t e[3] = {'%', (uint8_t)hex[c >> 4], (uint8_t)hex[c & 15]};
            if (sp_buf_append(out, e, 3))
                return SP_ERR_NOMEM;
        }
    }
    return SP_OK;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

sp_err rpc_percent_decode(sp_buf *out, const char *msg, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        uint8_t c = (uint8_t)msg[i];
        if (c == '%' && i + 2 < len && hexval(msg[i + 1]) >= 0 && hexval(msg[i + 2]) >= 0) {
            c = (uint8_t)(hexval(msg[i + 1]) << 4 | hexval(msg[i + 2]));
            i += 2;
        }
        if (sp_buf_put_u8(out, c))
            return SP_ERR_NOMEM;
    }
    return SP_OK;
}
