/*
 * health.h — grpc.health.v1.Health: Check and Watch (health-checking.md).
 *
 * The daemon has one serving status, shared by the overall service ("") and
 * every service registered on the rpc server. Check answers it (NOT_FOUND for
 * a service the server does not have); Watch sends it and then every change,
 * until the client cancels (SERVICE_UNKNOWN for an unknown service, without
 * ending the call). main.c flips it to NOT_SERVING when shutdown begins.
 */
#ifndef SP_RPC_SERVICES_HEALTH_H
#define SP_RPC_SERVICES_HEALTH_H

#include "base/err.h"
#include "rpc/rpc.h"

typedef struct rpc_health rpc_health;

/* Creates the health state (initially NOT_SERVING) and registers Check and
 * Watch on srv. The caller owns *out and frees it before srv. */
sp_err rpc_register_health(rpc_server *srv, rpc_health **out);

/* Sets the status (1 SERVING, 0 NOT_SERVING); every watcher gets the change. */
void rpc_health_set_serving(rpc_health *h, int serving);

/* Ends any remaining watches (UNAVAILABLE) and frees. NULL is fine. */
void rpc_health_free(rpc_health *h);

#endif
