/*
 * rpc.h — the gRPC server: HTTP/2 cleartext (h2c, prior knowledge) on the one
 * libevent reactor, nghttp2 underneath, protobuf-c messages on top.
 *
 * A service registers its methods by full path ("/spacepanda.AuthService/
 * CreateProfile") in the server's method table, each with the protobuf-c
 * descriptor of its request. When a request has arrived whole, the server
 * decodes it and calls the method's handler on the reactor thread with the
 * decoded request and a call handle (rpc_call). The handler answers at once or
 * later — from another reactor event, e.g. after a worker thread handed a
 * result back or after a network round trip — with a response message or a
 * status. Server-streaming handlers push any number of messages and then
 * finish. Decode errors, unknown methods, size limits, deadlines, cancels and
 * disconnects are handled here; handlers only see well-formed requests.
 *
 * Threads: every function here must be called on the reactor thread. A worker
 * thread hands its result to the reactor (event_active, a pipe) and answers
 * from there.
 *
 * Ownership of a call handle — the one rule services must follow:
 *   The handle given to a handler is the handler's until it answers the call
 *   (rpc_call_reply, rpc_call_fail*, rpc_call_finish, or an rpc_call_send that
 *   returns an error). After answering, never touch it again.
 *   If the call ends for any other reason first (client cancel / RST_STREAM,
 *   disconnect, deadline, server shutdown), the server calls the cancel
 *   callback set with rpc_call_on_cancel — once — and the handle is gone when
 *   that callback returns (do not answer it). Without a cancel callback the
 *   handle stays valid but orphaned until you answer it; the answer then just
 *   frees it. Streams that live on (subscriptions) must set a cancel callback
 *   so they can be freed when the client goes away.
 * The decoded request is owned by the call and stays valid until the handler
 * answers (or the cancel callback returns); copy what must live longer.
 * Response messages passed in are serialised at once; the caller keeps them.
 */
#ifndef SP_RPC_RPC_H
#define SP_RPC_RPC_H

#include <stddef.h>
#include <stdint.h>
#include <protobuf-c/protobuf-c.h>

#include "base/err.h"
#include "rpc/status.h"

struct event_base;

typedef struct rpc_server rpc_server;
typedef struct rpc_call rpc_call;

/* A method handler: req is the decoded request (its descriptor is the one
 * registered); ctx is the pointer given at registration. */
typedef void (*rpc_handler_fn)(rpc_call *call, const ProtobufCMessage *req, void *ctx);

/* Called once when a call ends other than by its handler's answer. */
typedef void (*rpc_cancel_fn)(rpc_call *call, void *user);

typedef struct {
    size_t max_recv_bytes;      /* largest request message accepted; 0: 4 MiB */
    size_t max_stream_buffer;   /* bytes a server stream may queue for a slow reader; 0: 4 MiB */
    size_t max_conn_buffer;     /* request bytes one connection may hold half-received, over all
                                   its streams; 0: 16 MiB (never less than max_recv_bytes) */
    uint32_t max_concurrent_streams; /* per connection; 0: 4096 */
    uint32_t shutdown_grace_ms; /* how long in-flight unary calls get at shutdown; 0: 5000 */
} rpc_config;

/* Creates a server on base (not owned). cfg may be NULL for the defaults. */
sp_err rpc_server_new(struct event_base *base, const rpc_config *cfg, rpc_server **out);

/* Frees the server: closes the listener and every connection; calls still held
 * by handlers get their cancel callbacks. NULL is fine. */
void rpc_server_free(rpc_server *srv);

/*
 * Binds and listens on addr (an IPv4 or IPv6 literal, or "localhost") and
 * port; port 0 picks an ephemeral port — rpc_server_port() tells which.
 * SP_ERR_INVALID for a bad address, SP_ERR_IO if the bind fails (errno kept).
 */
sp_err rpc_server_listen(rpc_server *srv, const char *addr, uint16_t port);

/* The bound port (after rpc_server_listen), else 0. */
uint16_t rpc_server_port(const rpc_server *srv);

/*
 * Registers a method. path is the full gRPC path "/package.Service/Method"
 * (copied); req_desc describes the request message; ctx is handed to fn.
 * SP_ERR_EXISTS if the path is taken, SP_ERR_INVALID if it is malformed.
 * Server-streaming methods use rpc_register_stream: their handler pushes
 * with rpc_call_send and ends with rpc_call_finish.
 */
sp_err rpc_register_unary(rpc_server *srv, const char *path, const ProtobufCMessageDescriptor *req_desc,
                          rpc_handler_fn fn, void *ctx);
sp_err rpc_register_stream(rpc_server *srv, const char *path, const ProtobufCMessageDescriptor *req_desc,
                           rpc_handler_fn fn, void *ctx);

/* 1 if some method of service ("package.Service") is registered. */
int rpc_server_has_service(const rpc_server *srv, const char *service);

/*
 * Graceful shutdown: stops accepting, sends GOAWAY, ends every open server
 * stream with UNAVAILABLE (after what it had queued), and lets in-flight unary
 * calls finish for at most cfg.shutdown_grace_ms before cancelling them. When
 * every connection has flushed and closed (or after one more second), calls
 * done(arg) once. Calling it twice does nothing more.
 */
void rpc_server_shutdown(rpc_server *srv, void (*done)(void *arg), void *arg);

/* ---- answering a call ------------------------------------------------------------ */

/* Unary: sends resp and status OK. */
void rpc_call_reply(rpc_call *call, const ProtobufCMessage *resp);

/* Any call: ends it with a non-OK status and a human message (may be NULL).
 * Unary calls that have sent nothing use a Trailers-Only response. */
void rpc_call_fail(rpc_call *call, rpc_status code, const char *msg);

/* rpc_call_fail with rpc_status_from_err(err); msg NULL uses sp_strerror(err). */
void rpc_call_fail_err(rpc_call *call, sp_err err, const char *msg);

/*
 * Server streams: queues one message. Flow control is HTTP/2's: a slow reader
 * makes messages wait here, up to cfg.max_stream_buffer bytes.
 * SP_OK: queued. Any error ends the call and the handle is no longer yours
 * (as if you had finished it; the cancel callback is NOT called):
 * SP_ERR_TOO_LARGE — the reader is too slow (the stream is reset);
 * SP_ERR_STATE — the call had already ended (deadline), or is not a stream (a bug: the
 * call then ends with INTERNAL);
 * SP_ERR_NOMEM / SP_ERR_INTERNAL — encoding failed.
 */
sp_err rpc_call_send(rpc_call *call, const ProtobufCMessage *msg);

/* Server streams: ends the stream with code (RPC_OK for a normal end) and msg. */
void rpc_call_finish(rpc_call *call, rpc_status code, const char *msg);

/* Sets (or clears, with fn NULL) the cancel callback; see the rule above. */
void rpc_call_on_cancel(rpc_call *call, rpc_cancel_fn fn, void *user);

/* Bytes queued on a server stream and not yet sent: lets a producer slow down. */
size_t rpc_call_queued_bytes(const rpc_call *call);

/* The method path of the call ("/pkg.Service/Method"); valid while the handle is. */
const char *rpc_call_path(const rpc_call *call);

#endif
