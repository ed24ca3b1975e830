/*
 * network.h — spacepanda.NetworkService (API.md): ConnectPeer and GetNetworkStatus over a net_node.
 *
 * ConnectPeer answers once the link is authenticated (success=true), or when this attempt failed
 * (success=false with the reason; the peer stays in the address book and is redialled); a
 * malformed multiaddr is INVALID_ARGUMENT. GetNetworkStatus gives the real peer id, the bound
 * listen multiaddr and the peer ids of live authenticated links.
 *
 * Both need a session: check(ctx, token) returns SP_OK for a live session (anything else is
 * UNAUTHENTICATED); the daemon passes chat_auth_check. A NULL check (tests without sessions)
 * accepts any non-empty token and logs a warning at registration.
 */
#ifndef SP_RPC_SERVICES_NETWORK_H
#define SP_RPC_SERVICES_NETWORK_H

#include "base/err.h"
#include "net/node.h"
#include "rpc/rpc.h"

typedef sp_err (*rpc_session_check_fn)(void *ctx, const char *token);
typedef struct rpc_network rpc_network;

/* Registers the two methods on srv. node must outlive the service. Free *out after srv
 * (rpc_server_free cancels calls still waiting on a dial) and before node. */
sp_err rpc_register_network(rpc_server *srv, net_node *node, rpc_session_check_fn check, void *check_ctx,
                            rpc_network **out);
void rpc_network_free(rpc_network *svc);

#endif
