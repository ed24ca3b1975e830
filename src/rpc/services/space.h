/*
 * services/space.h — spacepanda.SpaceService's space and channel RPCs (CreateSpace, GetSpace,
 * ListSpaces, CreateChannel, ListChannels): token check through chat/auth, rules in chat/spaces,
 * protobuf conversion here. The key-package, invite and membership RPCs belong to the channels
 * layer, which registers them on the same service.
 */
#ifndef SP_RPC_SERVICES_SPACE_H
#define SP_RPC_SERVICES_SPACE_H

#include "base/err.h"
#include "chat/auth.h"
#include "chat/spaces.h"
#include "rpc/rpc.h"

typedef struct rpc_space_svc rpc_space_svc;

/* Registers the methods; auth and spaces are borrowed. The caller owns *out and frees it after
 * rpc_server_free. */
sp_err rpc_register_space(rpc_server *srv, chat_auth *auth, chat_spaces *spaces, rpc_space_svc **out);
void rpc_space_svc_free(rpc_space_svc *s);

#endif
