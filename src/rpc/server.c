/*
 * server.c — the listener, the connections and their I/O, the method table,
 * and graceful shutdown.
 *
 * Each connection is a non-blocking socket with two embedded events (read,
 * write) and one nghttp2 server session. Reads go straight from the socket
 * into nghttp2; whatever nghttp2 then has to say is serialised into an
 * output evbuffer and written at once, before going back to the loop (Redis'
 * "write before sleeping"); only a remainder arms the write event. nghttp2 is
 * asked for more frames only while that buffer is under a threshold, so a
 * client that does not read stops the connection from producing: that is the
 * backpressure. A connection is never freed inside an nghttp2 callback: the
 * I/O path marks it and reaps it on the way out.
 */
#include "rpc/internal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/log.h"

#define OUT_HIGH_WATER (64 * 1024)
#define READ_CHUNK (16 * 1024)
#define READS_PER_EVENT 4

/* ---- method table ------------------------------------------------------------------ */

static unsigned path_hash(const char *p, size_t n)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (uint8_t)p[i]) * 16777619u;
    return h % RPC_METHOD_BUCKETS;
}

const rpc_method *rpc_method_find(const rpc_server *srv, const char *path, size_t len)
{
    for (const rpc_method *m = srv->methods[path_hash(path, len)]; m; m = m->next)
        if (m->path_len == len && memcmp(m->path, path, len) == 0)
            return m;
    return NULL;
}

static sp_err register_method(rpc_server *srv, const char *path, const ProtobufCMessageDescriptor *desc,
                              rpc_handler_fn fn, void *ctx, int streaming)
{
    size_t len = strlen(path);
    const char *slash = len > 1 ? strchr(path + 1, '/') : NULL;
    if (!desc || !fn || len < 4 || path[0] != '/' || !slash || slash == path + 1 || slash[1] == '\0' ||
        strchr(slash + 1, '/'))
        return SP_ERR_INVALID;
    if (rpc_method_find(srv, path, len))
        return SP_ERR_EXISTS;
    rpc_method *m = calloc(1, sizeof *m);
    if (!m || !(m->path = strdup(path))) {
        free(m);
        return SP_ERR_NOMEM;
    }
    m->path_len = len;
    m->desc = desc;
    m->fn = fn;
    m->ctx = ctx;
    m->streaming = streaming;
    unsigned h = path_hash(path, len);
    m->next = srv->methods[h];
    srv->methods[h] = m;
    return SP_OK;
}

sp_err rpc_register_unary(rpc_server *srv, const char *path, const ProtobufCMessageDescriptor *req_desc,
                          rpc_handler_fn fn, void *ctx)
{
    return register_method(srv, path, req_desc, fn, ctx, 0);
}

sp_err rpc_register_stream(rpc_server *srv, const char *path, const ProtobufCMessageDescriptor *req_desc,
                           rpc_handler_fn fn, void *ctx)
{
    return register_method(srv, path, req_desc, fn, ctx, 1);
}

int rpc_server_has_service(const rpc_server *srv, const char *service)
{
    size_t n = strlen(service);
    for (unsigned i = 0; i < RPC_METHOD_BUCKETS; i++)
        for (const rpc_method *m = srv->methods[i]; m; m = m->next)
            if (m->path_len > n + 2 && memcmp(m->path + 1, service, n) == 0 && m->path[n + 1] == '/')
                return 1;
    return 0;
}

/* ---- connections -------------------------------------------------------------------- */

static void conn_free(rpc_conn *conn)
{
    rpc_server *srv = conn->srv;
    SP_DEBUG("rpc: connection from %s closed", conn->peer);
    /* nghttp2_session_del does not report stream closes: detach the calls ourselves */
    while (conn->calls)
        rpc_call_stream_gone(conn->calls);
    event_del(&conn->rev);
    event_del(&conn->wev);
    event_del(&conn->flush_ev);
    nghttp2_session_del(conn->h2);
    evbuffer_free(conn->out);
    close(conn->fd);
    if (conn->prev)
        conn->prev->next = conn->next;
    else
        srv->conns = conn->next;
    if (conn->next)
        conn->next->prev = conn->prev;
    srv->nconns--;
    free(conn);
    rpc_server_check_drained(srv);
}

/*
 * Moves frames from nghttp2 to the socket. Returns 0 to keep the connection,
 * -1 when it should close (write error, or the session has nothing left to
 * read or write, e.g. after GOAWAY).
 */
static int conn_flush(rpc_conn *conn)
{
    for (;;) {
        while (evbuffer_get_length(conn->out) < OUT_HIGH_WATER) {
            const uint8_t *p;
            ssize_t n = nghttp2_session_mem_send(conn->h2, &p);
            if (n < 0)
                return -1;
            if (n == 0)
                break;
            if (evbuffer_add(conn->out, p, (size_t)n) != 0)
                return -1;
        }
        if (evbuffer_get_length(conn->out) == 0)
            break;
        int w = evbuffer_write(conn->out, conn->fd);
        if (w < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
                break;
            return -1;
        }
        if (evbuffer_get_length(conn->out) > 0)
            break; /* the socket is full: wait for EV_WRITE */
    }
    if (evbuffer_get_length(conn->out) > 0) {
        if (!conn->wev_armed) {
            event_add(&conn->wev, NULL);
            conn->wev_armed = 1;
        }
    } else if (conn->wev_armed) {
        event_del(&conn->wev);
        conn->wev_armed = 0;
        if (!nghttp2_session_want_read(conn->h2) && !nghttp2_session_want_write(conn->h2))
            return -1;
    } else if (!nghttp2_session_want_read(conn->h2) && !nghttp2_session_want_write(conn->h2)) {
        return -1;
    }
    return 0;
}

static void conn_read_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)what;
    rpc_conn *conn = arg;
    uint8_t buf[READ_CHUNK];
    int close_it = 0;
    conn->in_io = 1;
    for (int i = 0; i < READS_PER_EVENT; i++) {
        ssize_t n = read(fd, buf, sizeof buf);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK)
                close_it = 1;
            break;
        }
        if (n == 0) {
            close_it = 1;
            break;
        }
        ssize_t rv = nghttp2_session_mem_recv(conn->h2, buf, (size_t)n);
        if (rv < 0) {
            SP_INFO("rpc: closing connection from %s: %s", conn->peer, nghttp2_strerror((int)rv));
            /* nghttp2 may have queued a GOAWAY saying why: one best-effort write of it */
            if (rv != NGHTTP2_ERR_BAD_CLIENT_MAGIC)
                conn_flush(conn);
            close_it = 1;
            break;
        }
        if ((size_t)n < sizeof buf)
            break;
    }
    conn->in_io = 0;
    if (!close_it && conn_flush(conn) == 0)
        return;
    conn_free(conn);
}

static void conn_write_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    rpc_conn *conn = arg;
    conn->in_io = 1;
    int rc = conn_flush(conn);
    conn->in_io = 0;
    if (rc != 0)
        conn_free(conn);
}

static void conn_flush_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    rpc_conn *conn = arg;
    conn->flush_queued = 0;
    conn->in_io = 1;
    int rc = conn_flush(conn);
    conn->in_io = 0;
    if (rc != 0)
        conn_free(conn);
}

void rpc_conn_want_flush(rpc_conn *conn)
{
    if (conn->in_io || conn->flush_queued)
        return;
    conn->flush_queued = 1;
    event_active(&conn->flush_ev, 0, 0);
}

sp_err rpc_server_adopt(rpc_server *srv, int fd, const char *peer)
{
    rpc_conn *conn = calloc(1, sizeof *conn);
    if (!conn || !(conn->out = evbuffer_new())) {
        free(conn);
        close(fd);
        return SP_ERR_NOMEM;
    }
    conn->srv = srv;
    conn->fd = fd;
    snprintf(conn->peer, sizeof conn->peer, "%s", peer);
    if (nghttp2_session_server_new2(&conn->h2, srv->cbs, conn, srv->h2opt) != 0) {
        evbuffer_free(conn->out);
        free(conn);
        close(fd);
        return SP_ERR_NOMEM;
    }
    nghttp2_settings_entry iv[] = {
        {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, srv->cfg.max_concurrent_streams},
        {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, 64 * 1024},
    };
    nghttp2_submit_settings(conn->h2, NGHTTP2_FLAG_NONE, iv, 2);
    event_assign(&conn->rev, srv->base, fd, EV_READ | EV_PERSIST, conn_read_cb, conn);
    event_assign(&conn->wev, srv->base, fd, EV_WRITE | EV_PERSIST, conn_write_cb, conn);
    event_assign(&conn->flush_ev, srv->base, -1, 0, conn_flush_cb, conn);
    event_add(&conn->rev, NULL);
    conn->next = srv->conns;
    if (srv->conns)
        srv->conns->prev = conn;
    srv->conns = conn;
    srv->nconns++;
    SP_DEBUG("rpc: connection from %s", conn->peer);
    /* our SETTINGS go out at once, before the client's preface even arrives */
    conn->in_io = 1;
    int rc = conn_flush(conn);
    conn->in_io = 0;
    if (rc != 0)
        conn_free(conn);
    return SP_OK;
}

static void on_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int salen, void *arg)
{
    (void)l;
    (void)salen;
    rpc_server *srv = arg;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    char host[INET6_ADDRSTRLEN] = "?", peer[64];
    unsigned port = 0;
    if (sa->sa_family == AF_INET) {
        inet_ntop(AF_INET, &((struct sockaddr_in *)sa)->sin_addr, host, sizeof host);
        port = ntohs(((struct sockaddr_in *)sa)->sin_port);
    } else if (sa->sa_family == AF_INET6) {
        inet_ntop(AF_INET6, &((struct sockaddr_in6 *)sa)->sin6_addr, host, sizeof host);
        port = ntohs(((struct sockaddr_in6 *)sa)->sin6_port);
    }
    snprintf(peer, sizeof peer, "%s:%u", host, port);
    if (rpc_server_adopt(srv, fd, peer) != SP_OK)
        SP_WARN("rpc: out of memory accepting a connection");
}

static void accept_resume_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    rpc_server *srv = arg;
    if (srv->listener)
        evconnlistener_enable(srv->listener);
}

static void on_accept_error(struct evconnlistener *l, void *arg)
{
    rpc_server *srv = arg;
    int err = errno;
    SP_WARN("rpc: accept failed: %s", strerror(err));
    /* out of descriptors or memory: the pending connection stays pending and the listener would
     * spin; pause accepting for a moment while the connections we have keep being served */
    if (err == EMFILE || err == ENFILE || err == ENOBUFS || err == ENOMEM) {
        evconnlistener_disable(l);
        struct timeval tv = {0, 100000};
        evtimer_add(&srv->accept_pause_ev, &tv);
    }
}

/* ---- server ------------------------------------------------------------------------- */

sp_err rpc_server_new(struct event_base *base, const rpc_config *cfg, rpc_server **out)
{
    rpc_server *srv = calloc(1, sizeof *srv);
    if (!srv)
        return SP_ERR_NOMEM;
    srv->base = base;
    if (cfg)
        srv->cfg = *cfg;
    if (!srv->cfg.max_recv_bytes)
        srv->cfg.max_recv_bytes = 4u << 20;
    if (!srv->cfg.max_stream_buffer)
        srv->cfg.max_stream_buffer = 4u << 20;
    if (!srv->cfg.max_conn_buffer)
        srv->cfg.max_conn_buffer = 16u << 20;
    if (srv->cfg.max_conn_buffer < srv->cfg.max_recv_bytes)
        srv->cfg.max_conn_buffer = srv->cfg.max_recv_bytes;
    if (!srv->cfg.max_concurrent_streams)
        srv->cfg.max_concurrent_streams = 4096;
    if (!srv->cfg.shutdown_grace_ms)
        srv->cfg.shutdown_grace_ms = 5000;
    if (nghttp2_session_callbacks_new(&srv->cbs) != 0 || nghttp2_option_new(&srv->h2opt) != 0) {
        rpc_server_free(srv);
        return SP_ERR_NOMEM;
    }
    rpc_h2_callbacks(srv->cbs);
    /* closed streams are only kept for the priority tree, which gRPC does not use */
    nghttp2_option_set_no_closed_streams(srv->h2opt, 1);
    *out = srv;
    return SP_OK;
}

sp_err rpc_server_listen(rpc_server *srv, const char *addr, uint16_t port)
{
    struct sockaddr_storage ss;
    socklen_t sslen;
    memset(&ss, 0, sizeof ss);
    if (strcmp(addr, "localhost") == 0)
        addr = "127.0.0.1";
    struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
    if (inet_pton(AF_INET, addr, &s4->sin_addr) == 1) {
        s4->sin_family = AF_INET;
        s4->sin_port = htons(port);
        sslen = sizeof *s4;
    } else if (inet_pton(AF_INET6, addr, &s6->sin6_addr) == 1) {
        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons(port);
        sslen = sizeof *s6;
    } else {
        return SP_ERR_INVALID;
    }
    srv->listener = evconnlistener_new_bind(srv->base, on_accept, srv,
                                            LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_EXEC,
                                            1024, (struct sockaddr *)&ss, (int)sslen);
    if (!srv->listener)
        return SP_ERR_IO;
    evconnlistener_set_error_cb(srv->listener, on_accept_error);
    evtimer_assign(&srv->accept_pause_ev, srv->base, accept_resume_cb, srv);
    srv->accept_pause_armed = 1;
    struct sockaddr_storage bound;
    socklen_t blen = sizeof bound;
    getsockname(evconnlistener_get_fd(srv->listener), (struct sockaddr *)&bound, &blen);
    srv->port = ntohs(bound.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&bound)->sin6_port
                                                  : ((struct sockaddr_in *)&bound)->sin_port);
    return SP_OK;
}

uint16_t rpc_server_port(const rpc_server *srv) { return srv->port; }

void rpc_server_check_drained(rpc_server *srv)
{
    if (!srv->shutting_down || !srv->done)
        return;
    if (srv->nconns > 0)
        return;
    void (*done)(void *) = srv->done;
    srv->done = NULL;
    event_del(&srv->grace_ev);
    event_del(&srv->final_ev);
    done(srv->done_arg);
}

/* The grace period is over: cancel what is still running. */
static void grace_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    rpc_server *srv = arg;
    for (rpc_conn *c = srv->conns; c; c = c->next)
        for (rpc_call *call = c->calls; call; call = call->next)
            if (!call->ended)
                SP_WARN("rpc: shutdown: cancelling %s", rpc_call_path(call));
    /* aborting may free calls and rewire the lists: restart the walk each time */
    for (;;) {
        rpc_call *victim = NULL;
        for (rpc_conn *c = srv->conns; c && !victim; c = c->next)
            for (rpc_call *call = c->calls; call && !victim; call = call->next)
                if (!call->ended)
                    victim = call;
        if (!victim)
            break;
        rpc_call_abort(victim, RPC_UNAVAILABLE, "server shutting down");
    }
}

/* Last resort: whatever has not flushed by now is dropped. */
static void final_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    rpc_server *srv = arg;
    if (srv->nconns)
        SP_WARN("rpc: shutdown: closing %zu connection(s) that did not drain", srv->nconns);
    while (srv->conns)
        conn_free(srv->conns);
    rpc_server_check_drained(srv);
}

void rpc_server_shutdown(rpc_server *srv, void (*done)(void *arg), void *arg)
{
    if (srv->shutting_down)
        return;
    srv->shutting_down = 1;
    srv->done = done;
    srv->done_arg = arg;
    if (srv->listener) {
        evconnlistener_free(srv->listener);
        srv->listener = NULL;
    }
    if (srv->accept_pause_armed)
        event_del(&srv->accept_pause_ev);
    /* server streams never end by themselves: end them now, after what they queued */
    for (;;) {
        rpc_call *victim = NULL;
        for (rpc_conn *c = srv->conns; c && !victim; c = c->next)
            for (rpc_call *call = c->calls; call && !victim; call = call->next)
                if (!call->ended && call->method && call->method->streaming && call->dispatched)
                    victim = call;
        if (!victim)
            break;
        rpc_call_abort(victim, RPC_UNAVAILABLE, "server shutting down");
    }
    for (rpc_conn *c = srv->conns; c; c = c->next) {
        nghttp2_submit_goaway(c->h2, NGHTTP2_FLAG_NONE, nghttp2_session_get_last_proc_stream_id(c->h2),
                              NGHTTP2_NO_ERROR, NULL, 0);
        c->goaway_sent = 1;
        rpc_conn_want_flush(c);
    }
    evtimer_assign(&srv->grace_ev, srv->base, grace_cb, srv);
    struct timeval g = {srv->cfg.shutdown_grace_ms / 1000, (srv->cfg.shutdown_grace_ms % 1000) * 1000};
    evtimer_add(&srv->grace_ev, &g);
    evtimer_assign(&srv->final_ev, srv->base, final_cb, srv);
    struct timeval f = {g.tv_sec + 1, g.tv_usec};
    evtimer_add(&srv->final_ev, &f);
    rpc_server_check_drained(srv);
}

void rpc_server_free(rpc_server *srv)
{
    if (!srv)
        return;
    if (srv->listener)
        evconnlistener_free(srv->listener);
    if (srv->accept_pause_armed)
        event_del(&srv->accept_pause_ev);
    srv->done = NULL;
    while (srv->conns)
        conn_free(srv->conns);
    /* orphans whose handlers never answered: nobody may use them after this */
    while (srv->held) {
        rpc_call *call = srv->held;
        if (call->cancel_fn)
            rpc_call_abort(call, RPC_UNAVAILABLE, "server shutting down");
        else
            rpc_call_fail(call, RPC_UNAVAILABLE, "server shutting down");
    }
    if (srv->shutting_down) {
        event_del(&srv->grace_ev);
        event_del(&srv->final_ev);
    }
    for (unsigned i = 0; i < RPC_METHOD_BUCKETS; i++) {
        while (srv->methods[i]) {
            rpc_method *m = srv->methods[i];
            srv->methods[i] = m->next;
            free(m->path);
            free(m);
        }
    }
    if (srv->cbs)
        nghttp2_session_callbacks_del(srv->cbs);
    if (srv->h2opt)
        nghttp2_option_del(srv->h2opt);
    free(srv);
}
