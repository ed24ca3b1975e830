/*
 * client.h — a small blocking gRPC client (h2c with prior knowledge, nghttp2,
 * protobuf-c) for the spacepanda CLI, the demo and test harnesses.
 *
 * One spc_client is one HTTP/2 connection; calls on it run one at a time from
 * the caller's thread (a stream may stay open while unary calls are made on
 * the same connection). Every call ends with an spc_status: the server's
 * grpc-status and grpc-message, or a client-side code for transport
 * failures (UNAVAILABLE when the connection fails or closes, DEADLINE_EXCEEDED
 * when the timeout passes, INTERNAL for a response that does not decode).
 *
 * Ownership: response messages returned are the caller's, freed with
 * protobuf_c_message_free_unpacked(msg, NULL).
 */
#ifndef SP_TOOLS_CLIENT_H
#define SP_TOOLS_CLIENT_H

#include <stddef.h>
#include <protobuf-c/protobuf-c.h>

#include "base/err.h"
#include "rpc/status.h"

typedef struct spc_client spc_client;
typedef struct spc_stream spc_stream;

typedef struct {
    int code;          /* an rpc_status value */
    char message[512]; /* grpc-message, percent-decoded; "" if none */
} spc_status;

/*
 * Connects to "HOST:PORT" ("[v6]:PORT" for IPv6 literals) within timeout_ms
 * and performs the HTTP/2 preface. On failure returns SP_ERR_IO (or
 * SP_ERR_INVALID for a bad address) and describes why in st.
 */
sp_err spc_connect(const char *hostport, int timeout_ms, spc_client **out, spc_status *st);

/* Closes the connection; open streams are cancelled. NULL is fine. */
void spc_close(spc_client *c);

/*
 * A unary call: sends req to path ("/pkg.Service/Method") and waits up to
 * timeout_ms (also sent as grpc-timeout; <= 0: no deadline). Returns the
 * status code (RPC_OK = 0) and fills st; on RPC_OK *resp is the decoded
 * response (resp_desc), otherwise NULL.
 */
int spc_unary(spc_client *c, const char *path, const ProtobufCMessage *req,
              const ProtobufCMessageDescriptor *resp_desc, int timeout_ms, ProtobufCMessage **resp,
              spc_status *st);

/* Like spc_unary, with the request and response as raw protobuf bytes
 * (for tests that send malformed bodies). *resp is malloc'd. */
int spc_unary_raw(spc_client *c, const char *path, const void *req, size_t req_len, int timeout_ms,
                  void **resp, size_t *resp_len, spc_status *st);

/* Opens a server-streaming call. SP_OK, or an error with st filled. */
sp_err spc_stream_open(spc_client *c, const char *path, const ProtobufCMessage *req,
                       const ProtobufCMessageDescriptor *resp_desc, int timeout_ms, spc_stream **out,
                       spc_status *st);

/*
 * Waits up to timeout_ms (< 0: forever) for the next message.
 * 1: *msg is the next message. 0: the stream ended, st holds its status.
 * -1: no message within timeout_ms (the stream stays open).
 */
int spc_stream_next(spc_stream *s, int timeout_ms, ProtobufCMessage **msg, spc_status *st);

/* Cancels (RST_STREAM CANCEL) if still open, and frees. NULL is fine. */
void spc_stream_close(spc_stream *s);

#endif
