/*
 * internal.h — the structures shared by rpc/'s own files (server.c: listener,
 * connections and I/O; call.c: nghttp2 callbacks and the call life cycle).
 * Nothing outside src/rpc/ includes this.
 */
#ifndef SP_RPC_INTERNAL_H
#define SP_RPC_INTERNAL_H

#include <event2/event.h>
#include <event2/event_struct.h>
#include <event2/buffer.h>
#include <event2/listener.h>
#include <nghttp2/nghttp2.h>

#include "rpc/frame.h"
#include "rpc/rpc.h"

typedef struct rpc_method {
    char *path;
    size_t path_len;
    const ProtobufCMessageDescriptor *desc;
    rpc_handler_fn fn;
    void *ctx;
    int streaming;
    struct rpc_method *next; /* hash chain */
} rpc_method;

#define RPC_METHOD_BUCKETS 64

typedef struct rpc_conn rpc_conn;

struct rpc_call {
    rpc_server *srv;
    rpc_conn *conn;          /* NULL once the HTTP/2 stream is gone */
    int32_t stream_id;
    const rpc_method *method;
    rpc_call *prev, *next;   /* the connection's calls */
    rpc_call *hprev, *hnext; /* the server's calls held by handlers */
    rpc_deframer in;
    ProtobufCMessage *req;   /* decoded as soon as its last byte arrives */
    sp_buf out;              /* framed response bytes not yet given to nghttp2 */
    size_t out_off;
    sp_buf trailer_msg;      /* percent-encoded grpc-message of the final status */
    rpc_cancel_fn cancel_fn;
    void *cancel_user;
    struct event deadline;
    uint64_t timeout_us;
    int final_code;
    unsigned has_timeout : 1, deadline_armed : 1;
    unsigned bad_method : 1, bad_ctype : 1, bad_path : 1; /* request-header problems */
    unsigned in_handler : 1; /* the handler holds the handle */
    unsigned in_cancel : 1;  /* inside its cancel callback: not to be freed yet */
    unsigned ended : 1;      /* the final status is decided; answers are ignored */
    unsigned submitted : 1;  /* response HEADERS (with a data provider) submitted */
    unsigned dispatched : 1;
};

struct rpc_conn {
    rpc_server *srv;
    int fd;
    nghttp2_session *h2;
    struct event rev, wev, flush_ev;
    struct evbuffer *out;
    rpc_conn *prev, *next;
    rpc_call *calls;
    size_t in_buffered;       /* request bytes held by its calls' deframers */
    unsigned in_io : 1;       /* inside our read/write path: it flushes on the way out */
    unsigned flush_queued : 1;
    unsigned wev_armed : 1;
    unsigned goaway_sent : 1;
    char peer[64];
};

struct rpc_server {
    struct event_base *base;
    rpc_config cfg;
    struct evconnlistener *listener;
    uint16_t port;
    rpc_method *methods[RPC_METHOD_BUCKETS];
    rpc_conn *conns;
    size_t nconns;
    rpc_call *held;           /* calls whose handler holds them */
    nghttp2_session_callbacks *cbs;
    nghttp2_option *h2opt;
    int shutting_down;
    struct event grace_ev, final_ev;
    struct event accept_pause_ev; /* re-enables accepting after EMFILE */
    int accept_pause_armed;       /* accept_pause_ev is assigned */
    void (*done)(void *);
    void *done_arg;
};

/* call.c */
void rpc_h2_callbacks(nghttp2_session_callbacks *cbs);
/* The stream is gone (closed, reset, or its connection died): detach and cancel. */
void rpc_call_stream_gone(rpc_call *call);
/* Ends a call for a reason other than its handler's answer (deadline, shutdown). */
void rpc_call_abort(rpc_call *call, rpc_status code, const char *msg);

/* server.c */
/* Serves HTTP/2 on an already connected, non-blocking socket (owned from now on, closed on any
 * failure). What accept does; the fuzz harness uses it with a socketpair. */
sp_err rpc_server_adopt(rpc_server *srv, int fd, const char *peer);
const rpc_method *rpc_method_find(const rpc_server *srv, const char *path, size_t len);
/* Arranges for the connection's pending frames to be written soon. */
void rpc_conn_want_flush(rpc_conn *conn);
/* Checks whether a shutting-down server has nothing left, and reports done. */
void rpc_server_check_drained(rpc_server *srv);

#endif
