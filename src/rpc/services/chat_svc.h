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

/* auth and channels are borrowed and must outlive the server (free them after rpc_server_free:
 * live streams are cancelled there). */
sp_err rpc_register_channel(rpc_server *srv, chat_auth *auth, chat_channels *channels);
sp_err rpc_register_message(rpc_server *srv, chat_auth *auth, chat_channels *channels);

#endif
