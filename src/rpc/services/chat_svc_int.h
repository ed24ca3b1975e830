/*
 * services/chat_svc_int.h — what channel.c and message.c share: the context their methods get.
 */
#ifndef SP_RPC_SERVICES_CHAT_SVC_INT_H
#define SP_RPC_SERVICES_CHAT_SVC_INT_H

#include "rpc/services/chat_svc.h"

struct rpc_chat_svc {
    chat_auth *auth;
    chat_channels *ch;
};
typedef struct rpc_chat_svc svc;

/* Each registers its own methods with s as their context. */
sp_err rpc_register_channel(rpc_server *srv, svc *s);
sp_err rpc_register_message(rpc_server *srv, svc *s);

#endif
