/* network.c — NetworkService handlers (see network.h). */
#include "rpc/services/network.h"

#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "spacepanda.pb-c.h"

typedef struct pending {
    struct pending *next, *prev;
    rpc_network *svc;
    rpc_call *call;
} pending;

struct rpc_network {
    net_node *node;
    rpc_session_check_fn check;
    void *check_ctx;
    pending *pendings; /* ConnectPeer calls waiting for their dial */
};

static int authorised(rpc_network *svc, rpc_call *call, const char *token)
{
    sp_err e = SP_ERR_AUTH;
    if (token && token[0])
        e = svc->check ? svc->check(svc->check_ctx, token) : SP_OK;
    if (e) {
        rpc_call_fail(call, RPC_UNAUTHENTICATED, "missing, unknown or locked session token");
        return 0;
    }
    return 1;
}

static void pending_remove(pending *p)
{
    if (p->prev)
        p->prev->next = p->next;
    else
        p->svc->pendings = p->next;
    if (p->next)
        p->next->prev = p->prev;
    free(p);
}

static void connect_done(void *arg, sp_err result, const char *message)
{
    pending *p = arg;
    Spacepanda__ConnectPeerResponse resp = SPACEPANDA__CONNECT_PEER_RESPONSE__INIT;
    resp.success = result == SP_OK;
    resp.message = (char *)message;
    rpc_call_on_cancel(p->call, NULL, NULL);
    rpc_call_reply(p->call, &resp.base);
    pending_remove(p);
}

static void connect_cancelled(rpc_call *call, void *user)
{
    (void)call;
    pending *p = user;
    net_node_connect_cancel(p->svc->node, p);
    pending_remove(p);
}

static void connect_peer(rpc_call *call, const ProtobufCMessage *req_msg, void *ctx)
{
    rpc_network *svc = ctx;
    const Spacepanda__ConnectPeerRequest *req = (const Spacepanda__ConnectPeerRequest *)req_msg;
    if (!authorised(svc, call, req->session_token))
        return;
    pending *p = calloc(1, sizeof *p);
    if (!p) {
        rpc_call_fail_err(call, SP_ERR_NOMEM, NULL);
        return;
    }
    p->svc = svc;
    p->call = call;
    char err[256];
    sp_err e = net_node_connect(svc->node, req->peer_address, connect_done, p, err, sizeof err);
    if (e) {
        free(p);
        rpc_call_fail(call, e == SP_ERR_INVALID ? RPC_INVALID_ARGUMENT : rpc_status_from_err(e),
                      e == SP_ERR_INVALID ? err : sp_strerror(e));
        return;
    }
    p->next = svc->pendings;
    if (p->next)
        p->next->prev = p;
    svc->pendings = p;
    rpc_call_on_cancel(call, connect_cancelled, p);
}

static void network_status(rpc_call *call, const ProtobufCMessage *req_msg, void *ctx)
{
    rpc_network *svc = ctx;
    const Spacepanda__NetworkStatusRequest *req = (const Spacepanda__NetworkStatusRequest *)req_msg;
    if (!authorised(svc, call, req->session_token))
        return;
    size_t n = net_node_links(svc->node, NULL, 0);
    char (*ids)[NET_PEER_ID_LEN + 1] = calloc(n ? n : 1, sizeof *ids);
    char **ptrs = calloc(n ? n : 1, sizeof *ptrs);
    if (!ids || !ptrs) {
        free(ids);
        free(ptrs);
        rpc_call_fail_err(call, SP_ERR_NOMEM, NULL);
        return;
    }
    n = net_node_links(svc->node, ids, n);
    for (size_t i = 0; i < n; i++)
        ptrs[i] = ids[i];
    Spacepanda__NetworkStatusResponse resp = SPACEPANDA__NETWORK_STATUS_RESPONSE__INIT;
    resp.peer_id = (char *)net_node_peer_id(svc->node);
    resp.listen_address = (char *)net_node_listen_addr(svc->node);
    resp.n_connected_peers = n;
    resp.connected_peers = ptrs;
    rpc_call_reply(call, &resp.base);
    free(ids);
    free(ptrs);
}

sp_err rpc_register_network(rpc_server *srv, net_node *node, rpc_session_check_fn check, void *check_ctx,
                            rpc_network **out)
{
    rpc_network *svc = calloc(1, sizeof *svc);
    if (!svc)
        return SP_ERR_NOMEM;
    svc->node = node;
    svc->check = check;
    svc->check_ctx = check_ctx;
    sp_err e = rpc_register_unary(srv, "/spacepanda.NetworkService/ConnectPeer",
                                  &spacepanda__connect_peer_request__descriptor, connect_peer, svc);
    if (!e)
        e = rpc_register_unary(srv, "/spacepanda.NetworkService/GetNetworkStatus",
                               &spacepanda__network_status_request__descriptor, network_status, svc);
    if (e) {
        free(svc);
        return e;
    }
    if (!check)
        SP_WARN("rpc: NetworkService has no session check wired yet: any non-empty token is accepted");
    *out = svc;
    return SP_OK;
}

void rpc_network_free(rpc_network *svc)
{
    if (!svc)
        return;
    /* Normally empty: rpc_server_free has cancelled waiting calls. */
    while (svc->pendings) {
        net_node_connect_cancel(svc->node, svc->pendings);
        pending_remove(svc->pendings);
    }
    free(svc);
}
