/*
 * client.c — the blocking gRPC client of client.h: one socket, one nghttp2
 * client session, driven by poll() from whichever call is waiting.
 */
#include "client.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <nghttp2/nghttp2.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "rpc/frame.h"

#define CLIENT_MAX_MSG (64u << 20)
/* how long past its own deadline we wait for the server to say DEADLINE_EXCEEDED */
#define DEADLINE_SLACK_MS 1000

typedef struct qmsg {
    struct qmsg *next;
    ProtobufCMessage *msg; /* decoded (desc set) */
    uint8_t *raw;          /* or raw bytes (desc NULL) */
    size_t len;
} qmsg;

typedef struct rec {
    struct rec *next, *prev;
    spc_client *c;
    int32_t sid;
    const ProtobufCMessageDescriptor *desc;
    rpc_deframer in;
    qmsg *qhead, *qtail;
    size_t nmsgs;
    sp_buf req;
    size_t req_off;
    int http_status;
    int have_status;
    int code;
    sp_buf grpc_msg;
    int closed;
    uint32_t rst_code;
    int decode_failed;
} rec;

struct spc_client {
    int fd;
    nghttp2_session *h2;
    rec *recs;
    sp_buf out;
    size_t out_off;
    int dead;
    char why[200];
    char authority[300];
};

struct spc_stream {
    rec *r;
};

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void set_st(spc_status *st, int code, const char *msg)
{
    if (!st)
        return;
    st->code = code;
    snprintf(st->message, sizeof st->message, "%s", msg ? msg : "");
}

/* ---- records --------------------------------------------------------------------------- */

static void rec_free(rec *r)
{
    if (!r)
        return;
    if (r->c) {
        spc_client *c = r->c;
        if (r->prev)
            r->prev->next = r->next;
        else
            c->recs = r->next;
        if (r->next)
            r->next->prev = r->prev;
        if (r->sid > 0 && !r->closed && !c->dead) {
            nghttp2_session_set_stream_user_data(c->h2, r->sid, NULL);
            nghttp2_submit_rst_stream(c->h2, NGHTTP2_FLAG_NONE, r->sid, NGHTTP2_CANCEL);
        } else if (r->sid > 0 && !c->dead) {
            nghttp2_session_set_stream_user_data(c->h2, r->sid, NULL);
        }
    }
    while (r->qhead) {
        qmsg *q = r->qhead;
        r->qhead = q->next;
        if (q->msg)
            protobuf_c_message_free_unpacked(q->msg, NULL);
        free(q->raw);
        free(q);
    }
    rpc_deframer_free(&r->in);
    sp_buf_free(&r->req);
    sp_buf_free(&r->grpc_msg);
    free(r);
}

/* The final status of a closed record. */
static void rec_status(const rec *r, const spc_client *c, spc_status *st)
{
    if (r->decode_failed) {
        set_st(st, RPC_INTERNAL, "the response did not decode");
    } else if (r->have_status) {
        sp_buf dec = SP_BUF_INIT;
        rpc_percent_decode(&dec, (const char *)r->grpc_msg.data, r->grpc_msg.len);
        sp_buf_put_u8(&dec, 0);
        set_st(st, r->code, dec.failed ? "" : (const char *)dec.data);
        sp_buf_free(&dec);
    } else if (r->http_status && r->http_status != 200) {
        /* grpc's HTTP-to-status mapping (http-grpc-status-mapping.md) */
        int code = RPC_UNKNOWN;
        switch (r->http_status) {
        case 400: code = RPC_INTERNAL; break;
        case 401: code = RPC_UNAUTHENTICATED; break;
        case 403: code = RPC_PERMISSION_DENIED; break;
        case 404: code = RPC_UNIMPLEMENTED; break;
        case 429: case 502: case 503: case 504: code = RPC_UNAVAILABLE; break;
        }
        char m[64];
        snprintf(m, sizeof m, "HTTP status %d", r->http_status);
        set_st(st, code, m);
    } else if (r->closed && r->rst_code) {
        char m[64];
        snprintf(m, sizeof m, "stream reset by the server (HTTP/2 error %u)", r->rst_code);
        set_st(st, r->rst_code == NGHTTP2_CANCEL ? RPC_CANCELLED
                   : r->rst_code == NGHTTP2_REFUSED_STREAM ? RPC_UNAVAILABLE : RPC_INTERNAL, m);
    } else if (!c || c->dead) {
        set_st(st, RPC_UNAVAILABLE, c && c->why[0] ? c->why : "connection closed");
    } else {
        set_st(st, RPC_INTERNAL, "the response ended without grpc-status");
    }
}

/* ---- nghttp2 callbacks ------------------------------------------------------------------- */

static int on_header(nghttp2_session *s, const nghttp2_frame *frame, const uint8_t *name, size_t namelen,
                     const uint8_t *value, size_t valuelen, uint8_t flags, void *user)
{
    (void)flags;
    (void)user;
    rec *r = nghttp2_session_get_stream_user_data(s, frame->hd.stream_id);
    if (!r)
        return 0;
    if (namelen == 7 && memcmp(name, ":status", 7) == 0) {
        r->http_status = 0;
        for (size_t i = 0; i < valuelen && i < 3; i++)
            r->http_status = r->http_status * 10 + (value[i] - '0');
    } else if (namelen == 11 && memcmp(name, "grpc-status", 11) == 0) {
        int code = 0;
        for (size_t i = 0; i < valuelen && i < 4; i++)
            code = code * 10 + (value[i] - '0');
        r->code = code;
        r->have_status = 1;
    } else if (namelen == 12 && memcmp(name, "grpc-message", 12) == 0) {
        sp_buf_reset(&r->grpc_msg);
        sp_buf_append(&r->grpc_msg, value, valuelen);
    }
    return 0;
}

static sp_err on_message(void *user, sp_slice m)
{
    rec *r = user;
    qmsg *q = calloc(1, sizeof *q);
    if (!q)
        return SP_ERR_NOMEM;
    if (r->desc) {
        q->msg = protobuf_c_message_unpack(r->desc, NULL, m.len, m.ptr);
        if (!q->msg) {
            free(q);
            r->decode_failed = 1;
            return SP_ERR_INVALID;
        }
    } else {
        q->raw = malloc(m.len ? m.len : 1);
        if (!q->raw) {
            free(q);
            return SP_ERR_NOMEM;
        }
        memcpy(q->raw, m.ptr, m.len);
        q->len = m.len;
    }
    if (r->qtail)
        r->qtail->next = q;
    else
        r->qhead = q;
    r->qtail = q;
    r->nmsgs++;
    return SP_OK;
}

static int on_data(nghttp2_session *s, uint8_t flags, int32_t sid, const uint8_t *data, size_t len, void *user)
{
    (void)flags;
    (void)user;
    rec *r = nghttp2_session_get_stream_user_data(s, sid);
    if (r && rpc_deframer_feed(&r->in, data, len, on_message, r) != SP_OK)
        r->decode_failed = 1;
    return 0;
}

static int on_close(nghttp2_session *s, int32_t sid, uint32_t error_code, void *user)
{
    (void)user;
    rec *r = nghttp2_session_get_stream_user_data(s, sid);
    if (r) {
        r->closed = 1;
        r->rst_code = error_code;
    }
    return 0;
}

static ssize_t req_read(nghttp2_session *s, int32_t sid, uint8_t *buf, size_t length, uint32_t *flags,
                        nghttp2_data_source *src, void *user)
{
    (void)s;
    (void)sid;
    (void)user;
    rec *r = src->ptr;
    size_t n = r->req.len - r->req_off;
    if (n > length)
        n = length;
    memcpy(buf, r->req.data + r->req_off, n);
    r->req_off += n;
    if (r->req_off == r->req.len)
        *flags |= NGHTTP2_DATA_FLAG_EOF;
    return (ssize_t)n;
}

/* ---- I/O --------------------------------------------------------------------------------- */

static void die(spc_client *c, const char *why)
{
    if (!c->dead) {
        c->dead = 1;
        snprintf(c->why, sizeof c->why, "%s", why);
    }
}

/* One round: hand nghttp2's output to the socket and its input to nghttp2,
 * waiting at most timeout_ms. Returns -1 if nothing happened in time. */
static int pump(spc_client *c, int timeout_ms)
{
    if (c->dead)
        return 0;
    while (c->out.len - c->out_off < 256 * 1024) {
        const uint8_t *p;
        ssize_t n = nghttp2_session_mem_send(c->h2, &p);
        if (n < 0) {
            die(c, nghttp2_strerror((int)n));
            return 0;
        }
        if (n == 0)
            break;
        sp_buf_append(&c->out, p, (size_t)n);
    }
    struct pollfd pfd = {c->fd, POLLIN, 0};
    if (c->out.len > c->out_off)
        pfd.events |= POLLOUT;
    int pr = poll(&pfd, 1, timeout_ms);
    if (pr < 0)
        return errno == EINTR ? 0 : (die(c, strerror(errno)), 0);
    if (pr == 0)
        return -1;
    if (pfd.revents & POLLOUT) {
        ssize_t w = write(c->fd, c->out.data + c->out_off, c->out.len - c->out_off);
        if (w < 0 && errno != EAGAIN && errno != EINTR) {
            die(c, strerror(errno));
            return 0;
        }
        if (w > 0)
            c->out_off += (size_t)w;
        if (c->out_off == c->out.len)
            c->out.len = c->out_off = 0;
    }
    if (pfd.revents & (POLLIN | POLLHUP | POLLERR)) {
        uint8_t buf[16384];
        ssize_t n = read(c->fd, buf, sizeof buf);
        if (n == 0) {
            die(c, "the server closed the connection");
        } else if (n < 0) {
            if (errno != EAGAIN && errno != EINTR)
                die(c, strerror(errno));
        } else {
            ssize_t rv = nghttp2_session_mem_recv(c->h2, buf, (size_t)n);
            if (rv < 0)
                die(c, nghttp2_strerror((int)rv));
        }
    }
    return 0;
}

/* Pumps until the record closes or the deadline (ms, monotonic; < 0 none). 0 or -1 (timeout). */
static int wait_rec(spc_client *c, rec *r, int64_t deadline, int want_msg)
{
    while (!r->closed && !c->dead && !(want_msg && r->qhead)) {
        int t = -1;
        if (deadline >= 0) {
            int64_t left = deadline - now_ms();
            if (left <= 0)
                return -1;
            t = (int)(left > 1000000 ? 1000000 : left);
        }
        pump(c, t);
    }
    return 0;
}

/* Starts a call: headers and the framed request. */
static rec *start_call(spc_client *c, const char *path, const uint8_t *body, size_t len,
                       const ProtobufCMessageDescriptor *desc, int timeout_ms, spc_status *st)
{
    if (c->dead) {
        set_st(st, RPC_UNAVAILABLE, c->why);
        return NULL;
    }
    rec *r = calloc(1, sizeof *r);
    if (!r) {
        set_st(st, RPC_RESOURCE_EXHAUSTED, "out of memory");
        return NULL;
    }
    r->desc = desc;
    rpc_deframer_init(&r->in, CLIENT_MAX_MSG);
    uint8_t pre[RPC_FRAME_PREFIX];
    rpc_frame_prefix(pre, (uint32_t)len);
    sp_buf_append(&r->req, pre, sizeof pre);
    sp_buf_append(&r->req, body, len);
    if (r->req.failed) {
        rec_free(r);
        set_st(st, RPC_RESOURCE_EXHAUSTED, "out of memory");
        return NULL;
    }
    char tmo[16];
    nghttp2_nv nv[7];
    size_t n = 0;
#define NV(a, b) nv[n++] = (nghttp2_nv){(uint8_t *)(a), (uint8_t *)(b), strlen(a), strlen(b), 0}
    NV(":method", "POST");
    NV(":scheme", "http");
    NV(":path", path);
    NV(":authority", c->authority);
    NV("content-type", "application/grpc");
    NV("te", "trailers");
    if (timeout_ms > 0) {
        rpc_format_timeout((uint64_t)timeout_ms, tmo);
        NV("grpc-timeout", tmo);
    }
#undef NV
    nghttp2_data_provider prd;
    prd.source.ptr = r;
    prd.read_callback = req_read;
    int32_t sid = nghttp2_submit_request(c->h2, NULL, nv, n, &prd, r);
    if (sid < 0) {
        rec_free(r);
        set_st(st, RPC_INTERNAL, nghttp2_strerror(sid));
        return NULL;
    }
    r->sid = sid;
    r->c = c;
    r->next = c->recs;
    if (c->recs)
        c->recs->prev = r;
    c->recs = r;
    return r;
}

static int64_t deadline_for(int timeout_ms)
{
    return timeout_ms > 0 ? now_ms() + timeout_ms + DEADLINE_SLACK_MS : -1;
}

/* ---- public ------------------------------------------------------------------------------- */

sp_err spc_connect(const char *hostport, int timeout_ms, spc_client **out, spc_status *st)
{
    char host[256], port[16];
    const char *colon = strrchr(hostport, ':');
    if (!colon || colon == hostport || strlen(colon + 1) == 0 || strlen(colon + 1) >= sizeof port ||
        (size_t)(colon - hostport) >= sizeof host) {
        set_st(st, RPC_INVALID_ARGUMENT, "expected HOST:PORT");
        return SP_ERR_INVALID;
    }
    size_t hl = (size_t)(colon - hostport);
    memcpy(host, hostport, hl);
    host[hl] = '\0';
    strcpy(port, colon + 1);
    if (host[0] == '[' && hl >= 2 && host[hl - 1] == ']') {
        memmove(host, host + 1, hl - 2);
        host[hl - 2] = '\0';
    }
    struct addrinfo hints, *ai = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    int gr = getaddrinfo(host, port, &hints, &ai);
    if (gr != 0) {
        char m[300];
        snprintf(m, sizeof m, "cannot resolve %s: %s", hostport, gai_strerror(gr));
        set_st(st, RPC_UNAVAILABLE, m);
        return SP_ERR_INVALID;
    }
    int fd = -1;
    char why[300] = "no address";
    for (struct addrinfo *a = ai; a && fd < 0; a = a->ai_next) {
        fd = socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol);
        if (fd < 0)
            continue;
        int rc = connect(fd, a->ai_addr, a->ai_addrlen);
        if (rc != 0 && errno == EINPROGRESS) {
            struct pollfd pfd = {fd, POLLOUT, 0};
            rc = poll(&pfd, 1, timeout_ms > 0 ? timeout_ms : -1);
            if (rc == 1) {
                int err = 0;
                socklen_t el = sizeof err;
                getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el);
                errno = err;
                rc = err ? -1 : 0;
            } else {
                errno = rc == 0 ? ETIMEDOUT : errno;
                rc = -1;
            }
        }
        if (rc != 0) {
            snprintf(why, sizeof why, "cannot connect to %s: %s", hostport, strerror(errno));
            close(fd);
            fd = -1;
        }
    }
    freeaddrinfo(ai);
    if (fd < 0) {
        set_st(st, RPC_UNAVAILABLE, why);
        return SP_ERR_IO;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    spc_client *c = calloc(1, sizeof *c);
    nghttp2_session_callbacks *cbs = NULL;
    if (!c || nghttp2_session_callbacks_new(&cbs) != 0) {
        free(c);
        close(fd);
        set_st(st, RPC_RESOURCE_EXHAUSTED, "out of memory");
        return SP_ERR_NOMEM;
    }
    nghttp2_session_callbacks_set_on_header_callback(cbs, on_header);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cbs, on_data);
    nghttp2_session_callbacks_set_on_stream_close_callback(cbs, on_close);
    int rv = nghttp2_session_client_new(&c->h2, cbs, c);
    nghttp2_session_callbacks_del(cbs);
    if (rv != 0) {
        free(c);
        close(fd);
        set_st(st, RPC_RESOURCE_EXHAUSTED, "out of memory");
        return SP_ERR_NOMEM;
    }
    c->fd = fd;
    snprintf(c->authority, sizeof c->authority, "%s", hostport);
    nghttp2_settings_entry iv[] = {{NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, 1u << 20}};
    nghttp2_submit_settings(c->h2, NGHTTP2_FLAG_NONE, iv, 1);
    *out = c;
    return SP_OK;
}

void spc_close(spc_client *c)
{
    if (!c)
        return;
    while (c->recs) {
        rec *r = c->recs;
        c->recs = r->next;
        r->c = NULL;
        r->prev = r->next = NULL;
    }
    nghttp2_session_del(c->h2);
    close(c->fd);
    sp_buf_free(&c->out);
    free(c);
}

/* Waits for a unary call's end and sets st; its one response message, or NULL (st says why). */
static qmsg *await_unary(spc_client *c, rec *r, int timeout_ms, spc_status *st)
{
    if (wait_rec(c, r, deadline_for(timeout_ms), 0) < 0) {
        set_st(st, RPC_DEADLINE_EXCEEDED, "no answer before the deadline");
        return NULL;
    }
    rec_status(r, c, st);
    if (st->code != RPC_OK)
        return NULL;
    if (r->nmsgs != 1) {
        set_st(st, RPC_INTERNAL, "expected one response message");
        return NULL;
    }
    return r->qhead;
}

int spc_unary_raw(spc_client *c, const char *path, const void *req, size_t req_len, int timeout_ms,
                  void **resp, size_t *resp_len, spc_status *st)
{
    *resp = NULL;
    *resp_len = 0;
    rec *r = start_call(c, path, req, req_len, NULL, timeout_ms, st);
    if (!r)
        return st->code;
    qmsg *q = await_unary(c, r, timeout_ms, st);
    if (q) {
        *resp = q->raw;
        *resp_len = q->len;
        q->raw = NULL;
    }
    rec_free(r);
    return st->code;
}

int spc_unary(spc_client *c, const char *path, const ProtobufCMessage *req,
              const ProtobufCMessageDescriptor *resp_desc, int timeout_ms, ProtobufCMessage **resp,
              spc_status *st)
{
    *resp = NULL;
    size_t n = protobuf_c_message_get_packed_size(req);
    uint8_t *body = malloc(n ? n : 1);
    if (!body) {
        set_st(st, RPC_RESOURCE_EXHAUSTED, "out of memory");
        return st->code;
    }
    protobuf_c_message_pack(req, body);
    rec *r = start_call(c, path, body, n, resp_desc, timeout_ms, st);
    free(body);
    if (!r)
        return st->code;
    qmsg *q = await_unary(c, r, timeout_ms, st);
    if (q) {
        *resp = q->msg;
        q->msg = NULL;
    }
    rec_free(r);
    return st->code;
}

sp_err spc_stream_open(spc_client *c, const char *path, const ProtobufCMessage *req,
                       const ProtobufCMessageDescriptor *resp_desc, int timeout_ms, spc_stream **out,
                       spc_status *st)
{
    size_t n = protobuf_c_message_get_packed_size(req);
    uint8_t *body = malloc(n ? n : 1);
    spc_stream *s = calloc(1, sizeof *s);
    if (!body || !s) {
        free(body);
        free(s);
        set_st(st, RPC_RESOURCE_EXHAUSTED, "out of memory");
        return SP_ERR_NOMEM;
    }
    protobuf_c_message_pack(req, body);
    s->r = start_call(c, path, body, n, resp_desc, timeout_ms, st);
    free(body);
    if (!s->r) {
        free(s);
        return SP_ERR_IO;
    }
    set_st(st, RPC_OK, "");
    *out = s;
    return SP_OK;
}

int spc_stream_next(spc_stream *s, int timeout_ms, ProtobufCMessage **msg, spc_status *st)
{
    rec *r = s->r;
    *msg = NULL;
    if (!r->qhead && !r->closed) {
        spc_client *c = r->c;
        if (!c) {
            set_st(st, RPC_UNAVAILABLE, "connection closed");
            return 0;
        }
        if (wait_rec(c, r, timeout_ms >= 0 ? now_ms() + timeout_ms : -1, 1) < 0)
            return -1;
    }
    if (r->qhead) {
        qmsg *q = r->qhead;
        r->qhead = q->next;
        if (!r->qhead)
            r->qtail = NULL;
        *msg = q->msg;
        free(q);
        return 1;
    }
    rec_status(r, r->c, st);
    return 0;
}

void spc_stream_close(spc_stream *s)
{
    if (!s)
        return;
    rec *r = s->r;
    spc_client *c = r->c;
    rec_free(r);
    /* let the RST_STREAM leave now rather than with the next call */
    if (c && !c->dead)
        pump(c, 0);
    free(s);
}
