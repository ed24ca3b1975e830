/* channel.c — SpaceService's key-package, invite, join and membership RPCs (see chat_svc.h). */
#include "rpc/services/chat_svc.h"

#include <stdlib.h>
#include <string.h>
#include "rpc/services/auth.h"
#include "spacepanda.pb-c.h"

#include "rpc/services/chat_svc_int.h"

static int session(svc *s, rpc_call *call, const char *token, chat_session *out)
{
    if (chat_auth_check(s->auth, token, out) == SP_OK)
        return 1;
    rpc_call_fail_err(call, SP_ERR_AUTH, RPC_MSG_BAD_TOKEN);
    return 0;
}

static void generate_key_package(rpc_call *call, const ProtobufCMessage *m, void *ctx)
{
    const Spacepanda__GenerateKeyPackageRequest *req = (const Spacepanda__GenerateKeyPackageRequest *)m;
    chat_session who;
    if (!session(ctx, call, req->session_token, &who))
        return;
    sp_buf kp;
    sp_buf_init(&kp);
    sp_err e = chat_keypackage_new(((svc *)ctx)->ch, who.user_id, &kp);
    if (e) {
        sp_buf_free(&kp);
        rpc_call_fail_err(call, e, "cannot make a key package");
        return;
    }
    Spacepanda__GenerateKeyPackageResponse r = SPACEPANDA__GENERATE_KEY_PACKAGE_RESPONSE__INIT;
    r.key_package.data = kp.data;
    r.key_package.len = kp.len;
    rpc_call_reply(call, &r.base);
    sp_buf_free(&kp);
}

/* ---- commits: the call waits for the channel's home daemon ---- */

static void on_cancel(rpc_call *call, void *op)
{
    (void)call;
    chat_op_cancel(op);
}

static void invite_done(void *arg, const chat_commit_result *res)
{
    rpc_call *call = arg;
    if (res->err) {
        rpc_call_fail_err(call, res->err, res->message);
        return;
    }
    Spacepanda__CreateChannelInviteResponse r = SPACEPANDA__CREATE_CHANNEL_INVITE_RESPONSE__INIT;
    r.invite_token.data = (uint8_t *)res->welcome.ptr;
    r.invite_token.len = res->welcome.len;
    r.commit.data = (uint8_t *)res->commit.ptr;
    r.commit.len = res->commit.len;
    r.ratchet_tree.data = (uint8_t *)res->ratchet_tree.ptr;
    r.ratchet_tree.len = res->ratchet_tree.len;
    r.space_id = (char *)res->space_id;
    r.channel_name = (char *)res->channel_name;
    r.channel_id = (char *)res->channel_id;
    rpc_call_reply(call, &r.base);
}

static void create_channel_invite(rpc_call *call, const ProtobufCMessage *m, void *ctx)
{
    const Spacepanda__CreateChannelInviteRequest *req = (const Spacepanda__CreateChannelInviteRequest *)m;
    chat_session who;
    if (!session(ctx, call, req->session_token, &who))
        return;
    char why[200] = "";
    chat_op *op = NULL;
    sp_err e = chat_invite(((svc *)ctx)->ch, who.user_id, req->channel_id, req->key_package.data,
                           req->key_package.len, invite_done, call, &op, why, sizeof why);
    if (e) {
        rpc_call_fail_err(call, e, why[0] ? why : NULL);
        return;
    }
    rpc_call_on_cancel(call, on_cancel, op);
}

static void member_done(void *arg, const chat_commit_result *res)
{
    rpc_call *call = arg;
    if (res->err) {
        rpc_call_fail_err(call, res->err, res->message);
        return;
    }
    /* both responses have the same shape: success=1, message=2 */
    Spacepanda__AddMemberToChannelResponse r = SPACEPANDA__ADD_MEMBER_TO_CHANNEL_RESPONSE__INIT;
    r.success = 1;
    r.message = "done";
    rpc_call_reply(call, &r.base);
}

static void remove_done(void *arg, const chat_commit_result *res)
{
    rpc_call *call = arg;
    if (res->err) {
        rpc_call_fail_err(call, res->err, res->message);
        return;
    }
    Spacepanda__RemoveMemberFromChannelResponse r = SPACEPANDA__REMOVE_MEMBER_FROM_CHANNEL_RESPONSE__INIT;
    r.success = 1;
    r.message = "removed";
    rpc_call_reply(call, &r.base);
}

static void add_member(rpc_call *call, const ProtobufCMessage *m, void *ctx)
{
    const Spacepanda__AddMemberToChannelRequest *req = (const Spacepanda__AddMemberToChannelRequest *)m;
    chat_session who;
    if (!session(ctx, call, req->session_token, &who))
        return;
    char why[200] = "";
    chat_op *op = NULL;
    sp_err e = chat_add_member(((svc *)ctx)->ch, who.user_id, req->channel_id, req->user_id, member_done,
                               call, &op, why, sizeof why);
    if (e) {
        rpc_call_fail_err(call, e, why[0] ? why : NULL);
        return;
    }
    rpc_call_on_cancel(call, on_cancel, op);
}

static void remove_member(rpc_call *call, const ProtobufCMessage *m, void *ctx)
{
    const Spacepanda__RemoveMemberFromChannelRequest *req =
        (const Spacepanda__RemoveMemberFromChannelRequest *)m;
    chat_session who;
    if (!session(ctx, call, req->session_token, &who))
        return;
    char why[200] = "";
    chat_op *op = NULL;
    sp_err e = chat_remove_member(((svc *)ctx)->ch, who.user_id, req->channel_id, req->user_id, remove_done,
                                  call, &op, why, sizeof why);
    if (e) {
        rpc_call_fail_err(call, e, why[0] ? why : NULL);
        return;
    }
    rpc_call_on_cancel(call, on_cancel, op);
}

static void join_channel(rpc_call *call, const ProtobufCMessage *m, void *ctx)
{
    const Spacepanda__JoinChannelRequest *req = (const Spacepanda__JoinChannelRequest *)m;
    chat_session who;
    if (!session(ctx, call, req->session_token, &who))
        return;
    chat_join_req jr = {
        .welcome = req->invite_token.data,
        .welcome_len = req->invite_token.len,
        .ratchet_tree = req->ratchet_tree.len ? req->ratchet_tree.data : NULL,
        .tree_len = req->ratchet_tree.len,
        .space_id = req->space_id,
        .channel_name = req->channel_name,
        .channel_id = req->channel_id,
    };
    char id[65] = "", why[200] = "";
    sp_err e = chat_join(((svc *)ctx)->ch, who.user_id, &jr, id, why, sizeof why);
    if (e) {
        rpc_call_fail_err(call, e, why[0] ? why : NULL);
        return;
    }
    Spacepanda__JoinChannelResponse r = SPACEPANDA__JOIN_CHANNEL_RESPONSE__INIT;
    r.success = 1;
    r.channel_id = id;
    r.message = "joined";
    rpc_call_reply(call, &r.base);
}

sp_err rpc_register_channel(rpc_server *srv, svc *s)
{
    static const struct {
        const char *path;
        const ProtobufCMessageDescriptor *desc;
        rpc_handler_fn fn;
    } methods[] = {
        {"/spacepanda.SpaceService/GenerateKeyPackage", &spacepanda__generate_key_package_request__descriptor,
         generate_key_package},
        {"/spacepanda.SpaceService/CreateChannelInvite", &spacepanda__create_channel_invite_request__descriptor,
         create_channel_invite},
        {"/spacepanda.SpaceService/JoinChannel", &spacepanda__join_channel_request__descriptor, join_channel},
        {"/spacepanda.SpaceService/AddMemberToChannel", &spacepanda__add_member_to_channel_request__descriptor,
         add_member},
        {"/spacepanda.SpaceService/RemoveMemberFromChannel",
         &spacepanda__remove_member_from_channel_request__descriptor, remove_member},
    };
    for (size_t i = 0; i < sizeof methods / sizeof methods[0]; i++) {
        sp_err e = rpc_register_unary(srv, methods[i].path, methods[i].desc, methods[i].fn, s);
        if (e)
            return e;
    }
    return SP_OK;
}
