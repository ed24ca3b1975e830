/* message.c — MessageService: GetMessages, SendMessage, StreamMessages (see chat_svc.h). */
#include "rpc/services/chat_svc.h"

#include <stdlib.h>
#include <string.h>
#include "base/log.h"
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

static void fail(rpc_call *call, sp_err e)
{
    const char *msg = NULL;
    switch (e) {
    case SP_ERR_INVALID:
        msg = "channel_id must be 64 lowercase hex characters, before a message id (UUID), "
              "content 1 to 65536 bytes, limit not negative";
        break;
    case SP_ERR_NOT_FOUND:
        msg = "no such channel or message";
        break;
    case SP_ERR_PERMISSION:
        msg = "not a member of this channel";
        break;
    default:
        break;
    }
    rpc_call_fail_err(call, e, msg);
}

/* Points into m: replies are serialised at once. */
static void to_pb(const store_message *m, Spacepanda__Message *pb)
{
    spacepanda__message__init(pb);
    pb->id = (char *)m->id;
    pb->channel_id = (char *)m->channel_id;
    pb->sender_id = m->sender_id;
    pb->content = m->content;
    pb->timestamp = m->timestamp;
    pb->is_e2ee = 1;
}

static void get_messages(rpc_call *call, const ProtobufCMessage *m, void *ctx)
{
    const Spacepanda__GetMessagesRequest *req = (const Spacepanda__GetMessagesRequest *)m;
    chat_session who;
    if (!session(ctx, call, req->session_token, &who))
        return;
    store_message *v = NULL;
    size_t n = 0;
    sp_err e = chat_messages(((svc *)ctx)->ch, who.user_id, req->channel_id, req->limit, req->before, &v, &n);
    if (e) {
        fail(call, e);
        return;
    }
    Spacepanda__Message *pbs = calloc(n ? n : 1, sizeof *pbs);
    Spacepanda__Message **ptrs = calloc(n ? n : 1, sizeof *ptrs);
    if (!pbs || !ptrs) {
        free(pbs);
        free(ptrs);
        store_messages_free(v, n);
        rpc_call_fail_err(call, SP_ERR_NOMEM, NULL);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        to_pb(&v[i], &pbs[i]);
        ptrs[i] = &pbs[i];
    }
    Spacepanda__GetMessagesResponse r = SPACEPANDA__GET_MESSAGES_RESPONSE__INIT;
    r.n_messages = n;
    r.messages = ptrs;
    rpc_call_reply(call, &r.base);
    free(ptrs);
    free(pbs);
    store_messages_free(v, n);
}

static void send_cancel(rpc_call *call, void *op)
{
    (void)call;
    chat_send_cancel(op);
}

static void send_done(void *arg, sp_err e, const store_message *m)
{
    rpc_call *call = arg;
    if (e) {
        fail(call, e);
        return;
    }
    Spacepanda__Message pb;
    to_pb(m, &pb);
    rpc_call_reply(call, &pb.base);
}

static void send_message(rpc_call *call, const ProtobufCMessage *m, void *ctx)
{
    const Spacepanda__SendMessageRequest *req = (const Spacepanda__SendMessageRequest *)m;
    chat_session who;
    if (!session(ctx, call, req->session_token, &who))
        return;
    chat_send_op *op = NULL;
    sp_err e = chat_send(((svc *)ctx)->ch, who.user_id, req->channel_id, req->content, send_done, call, &op);
    if (e) {
        fail(call, e);
        return;
    }
    /* answered by the group commit, once the message is durable */
    rpc_call_on_cancel(call, send_cancel, op);
}

/* ---- streams ---- */

typedef struct {
    rpc_call *call;
    chat_sub *sub;
} stream;

static void stream_msg(void *arg, const store_message *m)
{
    stream *st = arg;
    if (!m) {
        /* the user left the channel: the engine has already dropped the subscription */
        rpc_call_finish(st->call, RPC_OK, "no longer a member of this channel");
        free(st);
        return;
    }
    Spacepanda__Message pb;
    to_pb(m, &pb);
    if (rpc_call_send(st->call, &pb.base) != SP_OK) {
        /* the call is gone (slow reader or ended): so is the subscription */
        SP_DEBUG("rpc: a message stream ended on send");
        chat_unsubscribe(st->sub);
        free(st);
    }
}

static void stream_cancel(rpc_call *call, void *arg)
{
    (void)call;
    stream *st = arg;
    chat_unsubscribe(st->sub);
    free(st);
}

static void stream_messages(rpc_call *call, const ProtobufCMessage *m, void *ctx)
{
    const Spacepanda__StreamMessagesRequest *req = (const Spacepanda__StreamMessagesRequest *)m;
    chat_session who;
    if (!session(ctx, call, req->session_token, &who))
        return;
    stream *st = calloc(1, sizeof *st);
    if (!st) {
        rpc_call_fail_err(call, SP_ERR_NOMEM, NULL);
        return;
    }
    st->call = call;
    sp_err e = chat_subscribe(((svc *)ctx)->ch, who.user_id, req->channel_id, stream_msg, st, &st->sub);
    if (e) {
        free(st);
        fail(call, e);
        return;
    }
    rpc_call_on_cancel(call, stream_cancel, st);
}

sp_err rpc_register_message(rpc_server *srv, svc *s)
{
    sp_err e = rpc_register_unary(srv, "/spacepanda.MessageService/GetMessages",
                                  &spacepanda__get_messages_request__descriptor, get_messages, s);
    if (!e)
        e = rpc_register_unary(srv, "/spacepanda.MessageService/SendMessage",
                               &spacepanda__send_message_request__descriptor, send_message, s);
    if (!e)
        e = rpc_register_stream(srv, "/spacepanda.MessageService/StreamMessages",
                                &spacepanda__stream_messages_request__descriptor, stream_messages, s);
    return e;
}

sp_err rpc_register_chat(rpc_server *srv, chat_auth *auth, chat_channels *channels, rpc_chat_svc **out)
{
    svc *s = calloc(1, sizeof *s);
    *out = s;
    if (!s)
        return SP_ERR_NOMEM;
    s->auth = auth;
    s->ch = channels;
    sp_err e = rpc_register_channel(srv, s);
    return e ? e : rpc_register_message(srv, s);
}

void rpc_chat_svc_free(rpc_chat_svc *s)
{
    free(s);
}
