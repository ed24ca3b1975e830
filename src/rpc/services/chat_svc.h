/*
 * services/chat_svc.h — the RPCs backed by the channel engine (chat/channels.h):
 *   SpaceService: GenerateKeyPackage, CreateChannelInvite, JoinChannel, AddMemberToChannel,
 *                 RemoveMemberFromChannel (channel.c);
 *   MessageService: GetMessages, SendMessage, StreamMessages (message.c).
 * Token check through chat/auth, protobuf conversion here, rules in chat/.
 */
#ifndef SP_RPC_SERVICES_CHAT_SVC_H
#define SP_RPC_SERVICES_CHAT_SVC_H

#include "base/err.h"
#include "chat/auth.h"
#include "chat/channels.h"
#include "rpc/rpc.h"

typedef struct rpc_chat_svc rpc_chat_svc;

/* Registers both services' methods. auth and channels are borrowed and must outlive the server
 * (free them after rpc_server_free: live streams and waiting calls are cancelled there). *out holds
 * what the method table points at: free it with rpc_chat_svc_free after rpc_server_free (it is set
 * even when registration fails part-way). */
sp_err rpc_register_chat(rpc_server *srv, chat_auth *auth, chat_channels *channels, rpc_chat_svc **out);
void rpc_chat_svc_free(rpc_chat_svc *s);

#endif
