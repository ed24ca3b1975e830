/*
 * services/auth.h — spacepanda.AuthService (CreateProfile, Unlock, Lock) on the rpc server:
 * protobuf in, chat/auth calls, protobuf or a status out. Hashing happens on the worker pool, so
 * CreateProfile and Unlock answer later; a client that goes away meanwhile cancels the operation.
 */
#ifndef SP_RPC_SERVICES_AUTH_H
#define SP_RPC_SERVICES_AUTH_H

#include "base/err.h"
#include "chat/auth.h"
#include "rpc/rpc.h"

/* auth is borrowed and must outlive the server's calls (free it after rpc_server_free). */
sp_err rpc_register_auth(rpc_server *srv, chat_auth *auth);

/* The one message for a missing, unknown or locked token, shared by every service. */
#define RPC_MSG_BAD_TOKEN "invalid or expired session token"

#endif
