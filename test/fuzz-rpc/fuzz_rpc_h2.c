/*
 * fuzz_rpc_h2.c — libFuzzer target: arbitrary bytes from a client into one server connection.
 *
 * The input is what a client sends on a fresh connection (seeds start with a valid preface,
 * SETTINGS and gRPC requests; see seeds.py). It goes through a socketpair into the real server
 * (nghttp2 session, calls, deframer, health and test methods that answer now, later, or stream),
 * interleaved with turns of the reactor; then the client end closes and the connection must be
 * torn down. ASan/UBSan catch memory errors; LeakSanitizer checks every input frees what it took.
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/log.h"
#include "health.pb-c.h"
#include "rpc/internal.h"
#include "rpc/services/health.h"

static struct event_base *g_base;
static rpc_server *g_srv;

typedef struct {
    struct event ev;
    rpc_call *call;
} deferred;

static void answer_later(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    deferred *d = arg;
    rpc_call_on_cancel(d->call, NULL, NULL);
    Grpc__Health__V1__HealthCheckResponse r = GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__INIT;
    rpc_call_reply(d->call, &r.base);
    free(d);
}

static void later_cancelled(rpc_call *call, void *user)
{
    (void)call;
    deferred *d = user;
    event_del(&d->ev);
    free(d);
}

static void later(rpc_call *call, const ProtobufCMessage *req, void *ctx)
{
    (void)req;
    (void)ctx;
    deferred *d = calloc(1, sizeof *d);
    if (!d) {
        rpc_call_fail(call, RPC_RESOURCE_EXHAUSTED, NULL);
        return;
    }
    d->call = call;
    event_assign(&d->ev, g_base, -1, 0, answer_later, d);
    event_active(&d->ev, 0, 0);
    rpc_call_on_cancel(call, later_cancelled, d);
}

static void stream_cancelled(rpc_call *call, void *user)
{
    (void)call;
    (void)user;
}

static void stream(rpc_call *call, const ProtobufCMessage *req, void *ctx)
{
    (void)ctx;
    const Grpc__Health__V1__HealthCheckRequest *r = (const void *)req;
    for (int i = 0; i < 3; i++)
        if (rpc_call_send(call, req) != SP_OK)
            return;
    if (r->service[0] == 'e')
        rpc_call_finish(call, RPC_OK, NULL);
    else
        rpc_call_on_cancel(call, stream_cancelled, NULL); /* stays open until the client goes */
}

static void init(void)
{
    sp_log_set_level(SP_LOG_ERROR);
    signal(SIGPIPE, SIG_IGN); /* the server may close first; writes then fail with EPIPE */
    g_base = event_base_new();
    rpc_config cfg = {.max_recv_bytes = 4096, .max_conn_buffer = 8192, .max_stream_buffer = 16384};
    rpc_server_new(g_base, &cfg, &g_srv);
    rpc_health *h;
    rpc_register_health(g_srv, &h);
    rpc_health_set_serving(h, 1);
    rpc_register_unary(g_srv, "/f.F/Later", &grpc__health__v1__health_check_request__descriptor, later, NULL);
    rpc_register_stream(g_srv, "/f.F/Stream", &grpc__health__v1__health_check_request__descriptor, stream, NULL);
}

static void turn(int peer)
{
    event_base_loop(g_base, EVLOOP_NONBLOCK);
    uint8_t sink[65536];
    while (read(peer, sink, sizeof sink) > 0) {
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!g_base)
        init();
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv) != 0)
        return 0;
    rpc_server_adopt(g_srv, sv[0], "fuzz");
    size_t off = 0;
    /* feed in slices so frames are cut at arbitrary places, as TCP would */
    for (int stuck = 0; off < size && stuck < 8;) {
        size_t n = size - off;
        if (n > 1000)
            n = 1000;
        ssize_t w = write(sv[1], data + off, n);
        if (w > 0) {
            off += (size_t)w;
            stuck = 0;
        } else {
            stuck++;
        }
        turn(sv[1]);
    }
    for (int i = 0; i < 4; i++)
        turn(sv[1]);
    close(sv[1]);
    for (int i = 0; i < 100 && g_srv->nconns; i++)
        event_base_loop(g_base, EVLOOP_NONBLOCK);
    if (g_srv->nconns)
        __builtin_trap(); /* the client is gone: its connection must be too */
    return 0;
}
