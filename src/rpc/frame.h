/*
 * frame.h — gRPC's length-prefixed message framing and the grpc-timeout
 * header, free of any I/O so both server and client (and the unit tests) use
 * the same code.
 *
 * A message on the wire is: 1 byte compressed-flag, 4 bytes big-endian
 * length, then the bytes. HTTP/2 DATA frames cut messages anywhere, so the
 * deframer is fed arbitrary chunks. It checks the declared length against its
 * limit as soon as the 5-byte prefix is whole, before buffering any of the
 * body: an oversized message costs nothing but the refusal.
 */
#ifndef SP_RPC_FRAME_H
#define SP_RPC_FRAME_H

#include <stddef.h>
#include <stdint.h>
#include "base/buf.h"

#define RPC_FRAME_PREFIX 5

typedef struct {
    size_t max;        /* largest message body accepted */
    sp_buf body;       /* the message being assembled (owned) */
    uint8_t hdr[RPC_FRAME_PREFIX];
    uint8_t hdr_have;  /* bytes of hdr filled */
    uint32_t need;     /* declared body length, once hdr is whole */
    unsigned done;     /* messages completed so far */
    int failed;        /* latched: feed refuses everything after an error */
} rpc_deframer;

void rpc_deframer_init(rpc_deframer *d, size_t max);
/* Frees the body buffer. */
void rpc_deframer_free(rpc_deframer *d);

/*
 * Called for each completed message; msg points into the deframer's buffer
 * and is valid only during the call. Returns SP_OK to go on; any error stops
 * feeding and is returned by rpc_deframer_feed.
 */
typedef sp_err (*rpc_deframer_msg_fn)(void *user, sp_slice msg);

/*
 * Consumes len bytes. Errors (latched): SP_ERR_TOO_LARGE — a declared length
 * over max; SP_ERR_UNSUPPORTED — the compressed flag is set (we support no
 * compression); SP_ERR_INVALID — a flag byte other than 0 or 1;
 * SP_ERR_NOMEM; or the callback's error.
 */
sp_err rpc_deframer_feed(rpc_deframer *d, const uint8_t *p, size_t len, rpc_deframer_msg_fn fn, void *user);

/* 1 if bytes of an incomplete message are pending (a stream ended mid-message). */
static inline int rpc_deframer_partial(const rpc_deframer *d) { return d->hdr_have != 0; }

/* Writes the 5-byte prefix of an uncompressed message of len bytes. */
void rpc_frame_prefix(uint8_t out[RPC_FRAME_PREFIX], uint32_t len);

/*
 * Parses a grpc-timeout value ("1S", "250m", up to 8 digits then one of
 * H M S m u n) into microseconds (rounded up, saturating).
 * SP_ERR_INVALID if malformed.
 */
sp_err rpc_parse_timeout(const char *v, size_t len, uint64_t *usec);

/* Formats a timeout for the grpc-timeout header (ms precision, at most 8 digits). */
void rpc_format_timeout(uint64_t msec, char out[16]);

#endif
