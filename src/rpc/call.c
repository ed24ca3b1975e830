/*
 * call.c — one gRPC call per HTTP/2 stream: the nghttp2 callbacks that build a
 * call from request headers and DATA, its dispatch to the method's handler,
 * and the answers (message, status, stream pushes) turned back into frames.
 *
 * A call is freed when both its stream is gone and no handler holds it; see
 * the ownership rule in rpc.h. Responses are pulled by nghttp2 through a data
 * provider reading call->out, so HTTP/2 flow control decides when bytes leave
 * and call->out is the only place a slow reader makes bytes wait.
 */
#include "rpc/internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"

#define NV_STATIC(n, v)                                                                     \
    {(uint8_t *)(n), (uint8_t *)(v), sizeof(n) - 1, sizeof(v) - 1,                          \
     NGHTTP2_NV_FLAG_NO_COPY_NAME | NGHTTP2_NV_FLAG_NO_COPY_VALUE}

static const nghttp2_nv g_resp_headers[] = {
    NV_STATIC(":status", "200"),
    NV_STATIC("content-type", "application/grpc"),
};

static const char *const g_codes[] = {"0", "1", "2", "3", "4", "5", "6", "7", "8",
                                      "9", "10", "11", "12", "13", "14", "15", "16"};

static nghttp2_nv nv_make(const char *name, const char *value, size_t vlen, uint8_t flags)
{
    nghttp2_nv nv = {(uint8_t *)name, (uint8_t *)value, strlen(name), vlen, flags};
    return nv;
}

/* grpc-status (and grpc-message if any) into nv; returns how many were written. */
static size_t status_nv(const rpc_call *call, nghttp2_nv *nv)
{
    size_t n = 0;
    const char *code = g_codes[call->final_code >= 0 && call->final_code <= 16 ? call->final_code : 2];
    nv[n++] = nv_make("grpc-status", code, strlen(code),
                      NGHTTP2_NV_FLAG_NO_COPY_NAME | NGHTTP2_NV_FLAG_NO_COPY_VALUE);
    if (call->trailer_msg.len)
        nv[n++] = nv_make("grpc-message", (const char *)call->trailer_msg.data, call->trailer_msg.len,
                          NGHTTP2_NV_FLAG_NO_COPY_NAME);
    if (call->final_code == RPC_UNIMPLEMENTED)
        nv[n++] = nv_make("grpc-accept-encoding", "identity", 8,
                          NGHTTP2_NV_FLAG_NO_COPY_NAME | NGHTTP2_NV_FLAG_NO_COPY_VALUE);
    return n;
}

/* ---- life cycle ---------------------------------------------------------------- */

static void call_free(rpc_call *call)
{
    rpc_deframer_free(&call->in);
    if (call->req)
        protobuf_c_message_free_unpacked(call->req, NULL);
    sp_buf_free(&call->out);
    sp_buf_free(&call->trailer_msg);
    free(call);
}

/* Frees the call once nobody can reach it: no stream, no handler. */
static void maybe_free(rpc_call *call)
{
    if (call->in_handler || call->conn || call->in_cancel)
        return;
    call_free(call);
}

/* The handler no longer holds the call: drop it from the server's list and
 * free the request (its validity ends here, as rpc.h says). */
static void release(rpc_call *call)
{
    if (!call->in_handler)
        return;
    call->in_handler = 0;
    rpc_server *srv = call->srv;
    if (call->hprev)
        call->hprev->hnext = call->hnext;
    else
        srv->held = call->hnext;
    if (call->hnext)
        call->hnext->hprev = call->hprev;
    call->hprev = call->hnext = NULL;
    if (call->req) {
        protobuf_c_message_free_unpacked(call->req, NULL);
        call->req = NULL;
    }
    rpc_server_check_drained(srv);
}

/* Tells a holding handler that the call is over; it loses the handle. */
static void notify_cancel(rpc_call *call)
{
    if (!call->in_handler || !call->cancel_fn)
        return;
    rpc_cancel_fn fn = call->cancel_fn;
    call->cancel_fn = NULL;
    call->in_cancel = 1;
    fn(call, call->cancel_user);
    call->in_cancel = 0;
    release(call);
}

/* ---- sending ------------------------------------------------------------------- */

static ssize_t data_read_cb(nghttp2_session *s, int32_t sid, uint8_t *buf, size_t length, uint32_t *flags,
                            nghttp2_data_source *src, void *user)
{
    (void)user;
    rpc_call *call = src->ptr;
    size_t avail = call->out.len - call->out_off;
    size_t n = avail < length ? avail : length;
    if (n) {
        memcpy(buf, call->out.data + call->out_off, n);
        call->out_off += n;
        if (call->out_off == call->out.len)
            call->out.len = call->out_off = 0;
    }
    if (call->out.len == 0 && call->ended) {
        nghttp2_nv nv[3];
        size_t nn = status_nv(call, nv);
        *flags |= NGHTTP2_DATA_FLAG_EOF | NGHTTP2_DATA_FLAG_NO_END_STREAM;
        if (nghttp2_submit_trailer(s, sid, nv, nn) != 0)
            return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
        return (ssize_t)n;
    }
    if (n == 0)
        return NGHTTP2_ERR_DEFERRED;
    return (ssize_t)n;
}

/* Response headers with a data provider on first use; later, wakes the provider. */
static void start_response(rpc_call *call)
{
    rpc_conn *conn = call->conn;
    if (!call->submitted) {
        nghttp2_data_provider prd;
        prd.source.ptr = call;
        prd.read_callback = data_read_cb;
        call->submitted = 1;
        if (nghttp2_submit_response(conn->h2, call->stream_id, g_resp_headers, 2, &prd) != 0)
            nghttp2_submit_rst_stream(conn->h2, NGHTTP2_FLAG_NONE, call->stream_id, NGHTTP2_INTERNAL_ERROR);
    } else {
        nghttp2_session_resume_data(conn->h2, call->stream_id);
    }
    rpc_conn_want_flush(conn);
}

/* Sends the decided status: in the trailers after queued data, or as a
 * Trailers-Only response when nothing was sent. */
static void emit_status(rpc_call *call)
{
    rpc_conn *conn = call->conn;
    if (!conn)
        return;
    if (call->submitted) {
        start_response(call);
        return;
    }
    nghttp2_nv nv[5] = {g_resp_headers[0], g_resp_headers[1]};
    size_t n = 2 + status_nv(call, nv + 2);
    call->submitted = 1;
    if (nghttp2_submit_response(conn->h2, call->stream_id, nv, n, NULL) != 0)
        nghttp2_submit_rst_stream(conn->h2, NGHTTP2_FLAG_NONE, call->stream_id, NGHTTP2_INTERNAL_ERROR);
    rpc_conn_want_flush(conn);
}

/* Decides the final status (once) and sends it if the stream is alive. */
static void set_status(rpc_call *call, rpc_status code, const char *msg)
{
    if (call->ended)
        return;
    call->ended = 1;
    call->final_code = (int)code;
    sp_buf_reset(&call->trailer_msg);
    if (msg)
        rpc_percent_encode(&call->trailer_msg, msg, strlen(msg));
    if (code != RPC_OK)
        SP_DEBUG("rpc: %s -> %s%s%s", call->method ? call->method->path : "?", rpc_status_name((int)code),
                 msg ? ": " : "", msg ? msg : "");
    emit_status(call);
}

/* A plain HTTP error, for requests that are not gRPC at all. */
static void http_error(rpc_call *call, const char *status)
{
    call->ended = 1;
    call->submitted = 1;
    nghttp2_nv nv[1] = {nv_make(":status", status, 3, NGHTTP2_NV_FLAG_NO_COPY_NAME | NGHTTP2_NV_FLAG_NO_COPY_VALUE)};
    nghttp2_submit_response(call->conn->h2, call->stream_id, nv, 1, NULL);
    rpc_conn_want_flush(call->conn);
}

/* Frames msg onto call->out. */
static sp_err queue_msg(rpc_call *call, const ProtobufCMessage *msg)
{
    size_t n = protobuf_c_message_get_packed_size(msg);
    if (n > UINT32_MAX - RPC_FRAME_PREFIX)
        return SP_ERR_TOO_LARGE;
    /* reclaim what nghttp2 already took before growing */
    if (call->out_off && call->out_off * 2 >= call->out.len) {
        memmove(call->out.data, call->out.data + call->out_off, call->out.len - call->out_off);
        call->out.len -= call->out_off;
        call->out_off = 0;
    }
    if (sp_buf_reserve(&call->out, RPC_FRAME_PREFIX + n))
        return SP_ERR_NOMEM;
    uint8_t *p = call->out.data + call->out.len;
    rpc_frame_prefix(p, (uint32_t)n);
    if (protobuf_c_message_pack(msg, p + RPC_FRAME_PREFIX) != n)
        return SP_ERR_INTERNAL;
    call->out.len += RPC_FRAME_PREFIX + n;
    return SP_OK;
}

/* ---- the public answers ---------------------------------------------------------- */

void rpc_call_reply(rpc_call *call, const ProtobufCMessage *resp)
{
    if (!call->in_handler)
        return;
    if (!call->ended && call->conn) {
        if (queue_msg(call, resp) == SP_OK) {
            call->ended = 1;
            call->final_code = RPC_OK;
            start_response(call);
        } else {
            set_status(call, RPC_INTERNAL, "could not encode the response");
        }
    }
    release(call);
    maybe_free(call);
}

void rpc_call_fail(rpc_call *call, rpc_status code, const char *msg)
{
    if (!call->in_handler)
        return;
    if (code == RPC_OK)
        code = RPC_UNKNOWN; /* a unary call cannot end OK without its message */
    set_status(call, code, msg);
    release(call);
    maybe_free(call);
}

void rpc_call_fail_err(rpc_call *call, sp_err err, const char *msg)
{
    rpc_call_fail(call, rpc_status_from_err(err), msg ? msg : sp_strerror(err));
}

sp_err rpc_call_send(rpc_call *call, const ProtobufCMessage *msg)
{
    if (!call->in_handler)
        return SP_ERR_STATE;
    sp_err e = SP_ERR_STATE;
    if (!call->method->streaming) {
        SP_ERROR("rpc: %s: rpc_call_send on a unary method", call->method->path);
        set_status(call, RPC_INTERNAL, "server error");
    } else if (!call->ended && call->conn) {
        size_t queued = call->out.len - call->out_off;
        size_t n = protobuf_c_message_get_packed_size(msg) + RPC_FRAME_PREFIX;
        if (queued + n > call->srv->cfg.max_stream_buffer) {
            SP_WARN("rpc: %s: client %s reads too slowly (%zu bytes queued); resetting the stream",
                    call->method->path, call->conn->peer, queued);
            call->ended = 1;
            nghttp2_submit_rst_stream(call->conn->h2, NGHTTP2_FLAG_NONE, call->stream_id, NGHTTP2_CANCEL);
            rpc_conn_want_flush(call->conn);
            e = SP_ERR_TOO_LARGE;
        } else if ((e = queue_msg(call, msg)) == SP_OK) {
            start_response(call);
            return SP_OK;
        } else {
            set_status(call, RPC_INTERNAL, "could not encode a message");
        }
    }
    release(call);
    maybe_free(call);
    return e;
}

void rpc_call_finish(rpc_call *call, rpc_status code, const char *msg)
{
    if (!call->in_handler)
        return;
    set_status(call, code, msg);
    release(call);
    maybe_free(call);
}

void rpc_call_on_cancel(rpc_call *call, rpc_cancel_fn fn, void *user)
{
    call->cancel_fn = fn;
    call->cancel_user = user;
}

size_t rpc_call_queued_bytes(const rpc_call *call) { return call->out.len - call->out_off; }

const char *rpc_call_path(const rpc_call *call) { return call->method ? call->method->path : ""; }

/* ---- ending from our side -------------------------------------------------------- */

void rpc_call_abort(rpc_call *call, rpc_status code, const char *msg)
{
    set_status(call, code, msg);
    notify_cancel(call);
    maybe_free(call);
}

void rpc_call_stream_gone(rpc_call *call)
{
    rpc_conn *conn = call->conn;
    if (!conn)
        return;
    if (call->prev)
        call->prev->next = call->next;
    else
        conn->calls = call->next;
    if (call->next)
        call->next->prev = call->prev;
    call->prev = call->next = NULL;
    conn->in_buffered -= call->in.body.len;
    call->conn = NULL;
    if (call->deadline_armed) {
        event_del(&call->deadline);
        call->deadline_armed = 0;
    }
    if (!call->ended) {
        call->ended = 1;
        SP_DEBUG("rpc: %s cancelled by the client", call->method ? call->method->path : "?");
    }
    notify_cancel(call);
    maybe_free(call);
}

static void deadline_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    rpc_call *call = arg;
    call->deadline_armed = 0;
    rpc_call_abort(call, RPC_DEADLINE_EXCEEDED, "deadline exceeded");
}

/* ---- receiving (nghttp2 callbacks; user data is the rpc_conn) --------------------- */

static int on_begin_headers(nghttp2_session *s, const nghttp2_frame *frame, void *user)
{
    rpc_conn *conn = user;
    if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST)
        return 0;
    rpc_call *call = calloc(1, sizeof *call);
    if (!call)
        return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE; /* resets just this stream */
    call->srv = conn->srv;
    call->conn = conn;
    call->stream_id = frame->hd.stream_id;
    call->bad_method = call->bad_ctype = call->bad_path = 1;
    rpc_deframer_init(&call->in, conn->srv->cfg.max_recv_bytes);
    call->next = conn->calls;
    if (conn->calls)
        conn->calls->prev = call;
    conn->calls = call;
    nghttp2_session_set_stream_user_data(s, frame->hd.stream_id, call);
    return 0;
}

#define HDR_IS(lit) (namelen == sizeof(lit) - 1 && memcmp(name, lit, sizeof(lit) - 1) == 0)

static int on_header(nghttp2_session *s, const nghttp2_frame *frame, const uint8_t *name, size_t namelen,
                     const uint8_t *value, size_t valuelen, uint8_t flags, void *user)
{
    (void)flags;
    (void)user;
    if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST)
        return 0;
    rpc_call *call = nghttp2_session_get_stream_user_data(s, frame->hd.stream_id);
    if (!call)
        return 0;
    if (HDR_IS(":path")) {
        call->method = rpc_method_find(call->srv, (const char *)value, valuelen);
        call->bad_path = call->method == NULL;
        if (!call->method) {
            char msg[300];
            snprintf(msg, sizeof msg, "unknown method %.*s", valuelen > 256 ? 256 : (int)valuelen,
                     (const char *)value);
            sp_buf_reset(&call->trailer_msg);
            rpc_percent_encode(&call->trailer_msg, msg, strlen(msg));
        }
    } else if (HDR_IS(":method")) {
        call->bad_method = !(valuelen == 4 && memcmp(value, "POST", 4) == 0);
    } else if (HDR_IS("content-type")) {
        /* "application/grpc", optionally followed by "+proto" or ";params" */
        static const char ct[] = "application/grpc";
        call->bad_ctype = !(valuelen >= sizeof ct - 1 && memcmp(value, ct, sizeof ct - 1) == 0 &&
                            (valuelen == sizeof ct - 1 || value[sizeof ct - 1] == '+' || value[sizeof ct - 1] == ';'));
    } else if (HDR_IS("grpc-timeout")) {
        uint64_t us;
        if (rpc_parse_timeout((const char *)value, valuelen, &us) == SP_OK) {
            call->has_timeout = 1;
            call->timeout_us = us;
        }
    }
    return 0;
}

/* All request headers are in: refuse what is not a call we serve, arm the deadline. */
static void headers_done(rpc_call *call)
{
    if (call->bad_method) {
        http_error(call, "405");
    } else if (call->bad_ctype) {
        http_error(call, "415");
    } else if (call->bad_path) {
        call->ended = 1;
        call->final_code = RPC_UNIMPLEMENTED;
        SP_DEBUG("rpc: unknown method from %s", call->conn->peer);
        emit_status(call);
    } else if (call->has_timeout) {
        if (call->timeout_us == 0) {
            set_status(call, RPC_DEADLINE_EXCEEDED, "deadline exceeded");
        } else {
            struct timeval tv = {(time_t)(call->timeout_us / 1000000), (suseconds_t)(call->timeout_us % 1000000)};
            evtimer_assign(&call->deadline, call->srv->base, deadline_cb, call);
            evtimer_add(&call->deadline, &tv);
            call->deadline_armed = 1;
        }
    }
}

static sp_err on_message(void *user, sp_slice msg)
{
    rpc_call *call = user;
    if (call->req) {
        set_status(call, RPC_INVALID_ARGUMENT, "more than one request message");
        return SP_ERR_INVALID;
    }
    call->req = protobuf_c_message_unpack(call->method->desc, NULL, msg.len, msg.ptr);
    if (!call->req) {
        char m[200];
        snprintf(m, sizeof m, "request is not a valid %s", call->method->desc->name);
        set_status(call, RPC_INVALID_ARGUMENT, m);
        return SP_ERR_INVALID;
    }
    return SP_OK;
}

static int on_data_chunk(nghttp2_session *s, uint8_t flags, int32_t sid, const uint8_t *data, size_t len,
                         void *user)
{
    (void)flags;
    (void)user;
    rpc_call *call = nghttp2_session_get_stream_user_data(s, sid);
    if (!call || call->ended)
        return 0;
    rpc_conn *conn = call->conn;
    size_t before = call->in.body.len;
    sp_err e = rpc_deframer_feed(&call->in, data, len, on_message, call);
    conn->in_buffered = conn->in_buffered - before + call->in.body.len;
    /* many half-sent requests on one connection: refuse the one that crossed the budget */
    if (e == SP_OK && !call->ended && conn->in_buffered > call->srv->cfg.max_conn_buffer) {
        conn->in_buffered -= call->in.body.len;
        rpc_deframer_free(&call->in);
        set_status(call, RPC_RESOURCE_EXHAUSTED, "too many request bytes in flight on this connection");
        return 0;
    }
    if (e == SP_OK || call->ended)
        return 0;
    char m[120];
    switch (e) {
    case SP_ERR_TOO_LARGE:
        snprintf(m, sizeof m, "request message of %u bytes is over the limit of %zu", call->in.need,
                 call->in.max);
        set_status(call, RPC_RESOURCE_EXHAUSTED, m);
        break;
    case SP_ERR_UNSUPPORTED:
        set_status(call, RPC_UNIMPLEMENTED, "compressed messages are not supported (grpc-accept-encoding: identity)");
        break;
    case SP_ERR_NOMEM:
        set_status(call, RPC_RESOURCE_EXHAUSTED, "out of memory");
        break;
    default:
        set_status(call, RPC_INVALID_ARGUMENT, "malformed message framing");
        break;
    }
    return 0;
}

/* The client half-closed: the request is complete, hand it to the handler. */
static void end_of_request(rpc_call *call)
{
    if (call->ended || call->dispatched)
        return;
    if (!call->req || rpc_deframer_partial(&call->in)) {
        set_status(call, RPC_INVALID_ARGUMENT, "request message missing or truncated");
        return;
    }
    call->conn->in_buffered -= call->in.body.len;
    rpc_deframer_free(&call->in);
    call->dispatched = 1;
    call->in_handler = 1;
    rpc_server *srv = call->srv;
    call->hnext = srv->held;
    if (srv->held)
        srv->held->hprev = call;
    srv->held = call;
    const rpc_method *m = call->method;
    m->fn(call, call->req, m->ctx);
}

static int on_frame_recv(nghttp2_session *s, const nghttp2_frame *frame, void *user)
{
    (void)user;
    if (frame->hd.type != NGHTTP2_HEADERS && frame->hd.type != NGHTTP2_DATA)
        return 0;
    rpc_call *call = nghttp2_session_get_stream_user_data(s, frame->hd.stream_id);
    if (!call)
        return 0;
    if (frame->hd.type == NGHTTP2_HEADERS && frame->headers.cat == NGHTTP2_HCAT_REQUEST)
        headers_done(call);
    if (frame->hd.flags & NGHTTP2_FLAG_END_STREAM)
        end_of_request(call);
    return 0;
}

static int on_stream_close(nghttp2_session *s, int32_t sid, uint32_t error_code, void *user)
{
    (void)error_code;
    (void)user;
    rpc_call *call = nghttp2_session_get_stream_user_data(s, sid);
    if (call)
        rpc_call_stream_gone(call);
    return 0;
}

/* After a complete response, a request still being sent is pointless: tell the client to stop
 * (RFC 9113 §8.1: RST_STREAM NO_ERROR), so an oversized or refused upload ends at once and the
 * stream stops counting against the connection. */
static int on_frame_send(nghttp2_session *s, const nghttp2_frame *frame, void *user)
{
    (void)user;
    if ((frame->hd.type == NGHTTP2_HEADERS || frame->hd.type == NGHTTP2_DATA) &&
        (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) &&
        nghttp2_session_get_stream_remote_close(s, frame->hd.stream_id) == 0)
        nghttp2_submit_rst_stream(s, NGHTTP2_FLAG_NONE, frame->hd.stream_id, NGHTTP2_NO_ERROR);
    return 0;
}

void rpc_h2_callbacks(nghttp2_session_callbacks *cbs)
{
    nghttp2_session_callbacks_set_on_frame_send_callback(cbs, on_frame_send);
    nghttp2_session_callbacks_set_on_begin_headers_callback(cbs, on_begin_headers);
    nghttp2_session_callbacks_set_on_header_callback(cbs, on_header);
    nghttp2_session_callbacks_set_on_frame_recv_callback(cbs, on_frame_recv);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cbs, on_data_chunk);
    nghttp2_session_callbacks_set_on_stream_close_callback(cbs, on_stream_close);
}
