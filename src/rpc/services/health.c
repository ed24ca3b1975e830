/* health.c — grpc.health.v1.Health on the rpc server (see health.h). */
#include "rpc/services/health.h"

#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "health.pb-c.h"

typedef struct watcher {
    struct watcher *next, *prev;
    rpc_call *call;
    struct rpc_health *h;
    int known;       /* the watched service exists */
} watcher;

struct rpc_health {
    rpc_server *srv;
    int serving;
    watcher *watchers;
};

static int service_known(const rpc_health *h, const char *service)
{
    return service[0] == '\0' || strcmp(service, "grpc.health.v1.Health") == 0 ||
           rpc_server_has_service(h->srv, service);
}

static Grpc__Health__V1__HealthCheckResponse__ServingStatus current(const rpc_health *h, int known)
{
    if (!known)
        return GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVICE_UNKNOWN;
    return h->serving ? GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVING
                      : GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__NOT_SERVING;
}

static void check(rpc_call *call, const ProtobufCMessage *req_msg, void *ctx)
{
    rpc_health *h = ctx;
    const Grpc__Health__V1__HealthCheckRequest *req = (const Grpc__Health__V1__HealthCheckRequest *)req_msg;
    if (!service_known(h, req->service)) {
        rpc_call_fail(call, RPC_NOT_FOUND, "unknown service");
        return;
    }
    Grpc__Health__V1__HealthCheckResponse resp = GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__INIT;
    resp.status = current(h, 1);
    rpc_call_reply(call, &resp.base);
}

static void unlink_watcher(watcher *w)
{
    if (w->prev)
        w->prev->next = w->next;
    else
        w->h->watchers = w->next;
    if (w->next)
        w->next->prev = w->prev;
    free(w);
}

static void watch_cancelled(rpc_call *call, void *user)
{
    (void)call;
    unlink_watcher(user);
}

/* Sends the current status; drops the watcher if the stream is over. */
static int push(watcher *w)
{
    Grpc__Health__V1__HealthCheckResponse resp = GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__INIT;
    resp.status = current(w->h, w->known);
    if (rpc_call_send(w->call, &resp.base) != SP_OK) {
        unlink_watcher(w);
        return -1;
    }
    return 0;
}

static void watch(rpc_call *call, const ProtobufCMessage *req_msg, void *ctx)
{
    rpc_health *h = ctx;
    const Grpc__Health__V1__HealthCheckRequest *req = (const Grpc__Health__V1__HealthCheckRequest *)req_msg;
    watcher *w = calloc(1, sizeof *w);
    if (!w) {
        rpc_call_fail(call, RPC_RESOURCE_EXHAUSTED, "out of memory");
        return;
    }
    w->call = call;
    w->h = h;
    w->known = service_known(h, req->service);
    w->next = h->watchers;
    if (h->watchers)
        h->watchers->prev = w;
    h->watchers = w;
    rpc_call_on_cancel(call, watch_cancelled, w);
    push(w);
}

sp_err rpc_register_health(rpc_server *srv, rpc_health **out)
{
    rpc_health *h = calloc(1, sizeof *h);
    if (!h)
        return SP_ERR_NOMEM;
    h->srv = srv;
    sp_err e = rpc_register_unary(srv, "/grpc.health.v1.Health/Check",
                                  &grpc__health__v1__health_check_request__descriptor, check, h);
    if (!e)
        e = rpc_register_stream(srv, "/grpc.health.v1.Health/Watch",
                                &grpc__health__v1__health_check_request__descriptor, watch, h);
    if (e) {
        free(h);
        return e;
    }
    *out = h;
    return SP_OK;
}

void rpc_health_set_serving(rpc_health *h, int serving)
{
    serving = !!serving;
    if (h->serving == serving)
        return;
    h->serving = serving;
    SP_INFO("health: %s", serving ? "SERVING" : "NOT_SERVING");
    for (watcher *w = h->watchers, *next; w; w = next) {
        next = w->next;
        if (w->known)
            push(w);
    }
}

void rpc_health_free(rpc_health *h)
{
    if (!h)
        return;
    while (h->watchers) {
        watcher *w = h->watchers;
        rpc_call *call = w->call;
        rpc_call_on_cancel(call, NULL, NULL);
        unlink_watcher(w);
        rpc_call_finish(call, RPC_UNAVAILABLE, "server shutting down");
    }
    free(h);
}
