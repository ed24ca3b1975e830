/*
 * status.h — gRPC status codes, the one mapping from sp_err to them, and the
 * percent-encoding that grpc-message uses on the wire.
 *
 * Every layer reports failures as sp_err; only rpc/ turns them into gRPC
 * statuses, here, so a given error always reaches clients as the same code.
 */
#ifndef SP_RPC_STATUS_H
#define SP_RPC_STATUS_H

#include <stddef.h>
#include "base/buf.h"
#include "base/err.h"

/* The codes of grpc's statuscodes.md, with their wire values. */
typedef enum {
    RPC_OK = 0,
    RPC_CANCELLED = 1,
    RPC_UNKNOWN = 2,
    RPC_INVALID_ARGUMENT = 3,
    RPC_DEADLINE_EXCEEDED = 4,
    RPC_NOT_FOUND = 5,
    RPC_ALREADY_EXISTS = 6,
    RPC_PERMISSION_DENIED = 7,
    RPC_RESOURCE_EXHAUSTED = 8,
    RPC_FAILED_PRECONDITION = 9,
    RPC_ABORTED = 10,
    RPC_OUT_OF_RANGE = 11,
    RPC_UNIMPLEMENTED = 12,
    RPC_INTERNAL = 13,
    RPC_UNAVAILABLE = 14,
    RPC_DATA_LOSS = 15,
    RPC_UNAUTHENTICATED = 16,
} rpc_status;

/*
 * SP_OK→OK, INVALID/TRUNCATED→INVALID_ARGUMENT, NOT_FOUND, EXISTS→ALREADY_EXISTS,
 * PERMISSION→PERMISSION_DENIED, AUTH→UNAUTHENTICATED, TOO_LARGE→RESOURCE_EXHAUSTED,
 * STATE→FAILED_PRECONDITION, UNSUPPORTED→UNIMPLEMENTED, TIMEOUT→DEADLINE_EXCEEDED,
 * AGAIN→UNAVAILABLE, everything else (NOMEM, CRYPTO, IO, INTERNAL, unknown) → INTERNAL.
 */
rpc_status rpc_status_from_err(sp_err err);

/* "OK", "INVALID_ARGUMENT", ...; never NULL ("UNKNOWN" for out-of-range values). */
const char *rpc_status_name(int code);

/* Parses a status name as printed by rpc_status_name; -1 if unknown. */
int rpc_status_parse(const char *name);

/*
 * grpc-message encoding (PROTOCOL-HTTP2.md): bytes outside 0x20..0x7E and '%'
 * become %XX. Appends to out (no terminator).
 */
sp_err rpc_percent_encode(sp_buf *out, const char *msg, size_t len);

/*
 * The reverse, lenient as the spec asks: a malformed %-sequence is kept
 * literally rather than rejected. Appends to out (no terminator).
 */
sp_err rpc_percent_decode(sp_buf *out, const char *msg, size_t len);

#endif
