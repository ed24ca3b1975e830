/* space.c — spacepanda.SpaceService: spaces and channels (see space.h). */
#include "rpc/services/space.h"

#include <stdlib.h>
#include <string.h>
#include "rpc/services/auth.h"
#include "spacepanda.pb-c.h"

struct rpc_space_svc {
    chat_auth *auth;
    chat_spaces *spaces;
};
typedef struct rpc_space_svc space_svc;

#define MSG_SPACE_ID "space_id must be 64 lowercase hex characters"
#define MSG_NAME "name must be 1 to 100 bytes of UTF-8 text without control characters"
#define MSG_DESCRIPTION "description must be at most 1000 bytes of UTF-8 text"
#define MSG_VISIBILITY "unknown visibility"

/* Resolves the token or answers UNAUTHENTICATED; 1 when the caller may go on. */
static int session(space_svc *s, rpc_call *call, const char *token, chat_session *out)
{
    if (chat_auth_check(s->auth, token, out) == SP_OK)
        return 1;
    rpc_call_fail_err(call, SP_ERR_AUTH, RPC_MSG_BAD_TOKEN);
    return 0;
}

static void fail(rpc_call *call, sp_err e, const char *invalid_msg)
{
    const char *msg = NULL;
    switch (e) {
    case SP_ERR_INVALID:
        msg = invalid_msg;
        break;
    case SP_ERR_NOT_FOUND:
        msg = "no such space";
        break;
    case SP_ERR_PERMISSION:
        msg = "not a member of this space";
        break;
    default:
        break;
    }
    rpc_call_fail_err(call, e, msg);
}

/* Why a create request is invalid, in words. */
static const char *why_invalid(const char *space_id, const char *name, const char *description,
                               int visibility)
{
    if (space_id && !chat_id_valid(space_id))
        return MSG_SPACE_ID;
    if (!chat_name_valid(name))
        return MSG_NAME;
    if (visibility < 0 || visibility > 2)
        return MSG_VISIBILITY;
    (void)description;
    return MSG_DESCRIPTION;
}

/* Fills a protobuf Space that points into s (no copies: replies are serialised at once). */
static void to_pb_space(const store_space *s, Spacepanda__Space *pb)
{
    spacepanda__space__init(pb);
    pb->id = (char *)s->id;
    pb->name = s->name;
    pb->description = s->description;
    pb->icon_url = s->icon_url;
    pb->visibility = (Spacepanda__SpaceVisibility)s->visibility;
    pb->owner_id = s->owner_id;
    pb->n_member_ids = s->n_members;
    pb->member_ids = s->member_ids;
    pb->n_channel_ids = s->n_channels;
    pb->channel_ids = s->channel_ids;
    pb->created_at = s->created_at;
}

static void to_pb_channel(const store_channel *c, Spacepanda__Channel *pb)
{
    spacepanda__channel__init(pb);
    pb->id = (char *)c->id;
    pb->space_id = (char *)c->space_id;
    pb->name = c->name;
    pb->description = c->description;
    pb->visibility = (Spacepanda__ChannelVisibility)c->visibility;
    pb->n_member_ids = c->n_members;
    pb->member_ids = c->member_ids;
    pb->created_at = c->created_at;
}

static void create_space(rpc_call *call, const ProtobufCMessage *m, void *ctx)
{
    const Spacepanda__CreateSpaceRequest *req = (const Spacepanda__CreateSpaceRequest *)m;
    chat_session who;
    if (!session(ctx, call, req->session_token, &who))
        return;
    store_space sp;
    sp_err e = chat_space_create(((space_svc *)ctx)->spaces, who.user_id, req->name, req->description,
                                 (int)req->visibility, &sp);
    if (e) {
        fail(call, e, why_invalid(NULL, req->name, req->description, (int)req->visibility));
        return;
    }
    Spacepanda__Space pb;
    to_pb_space(&sp, &pb);
    Spacepanda__CreateSpaceResponse r = SPACEPANDA__CREATE_SPACE_RESPONSE__INIT;
    r.space = &pb;
    rpc_call_reply(call, &r.base);
    store_space_clear(&sp);
}

static void get_space(rpc_call *call, const ProtobufCMessage *m, void *ctx)
{
    const Spacepanda__GetSpaceRequest *req = (const Spacepanda__GetSpaceRequest *)m;
    chat_session who;
    if (!session(ctx, call, req->session_token, &who))
        return;
    store_space sp;
    sp_err e = chat_space_get(((space_svc *)ctx)->spaces, who.user_id, req->space_id, &sp);
    if (e) {
        fail(call, e, MSG_SPACE_ID);
        return;
    }
    Spacepanda__Space pb;
    to_pb_space(&sp, &pb);
    rpc_call_reply(call, &pb.base);
    store_space_clear(&sp);
}

static void list_spaces(rpc_call *call, const ProtobufCMessage *m, void *ctx)
{
    const Spacepanda__ListSpacesRequest *req = (const Spacepanda__ListSpacesRequest *)m;
    chat_session who;
    if (!session(ctx, call, req->session_token, &who))
        return;
    store_space *v = NULL;
    size_t n = 0;
    sp_err e = chat_space_list(((space_svc *)ctx)->spaces, who.user_id, &v, &n);
    if (e) {
        fail(call, e, NULL);
        return;
    }
    Spacepanda__Space *pbs = calloc(n ? n : 1, sizeof *pbs);
    Spacepanda__Space **ptrs = calloc(n ? n : 1, sizeof *ptrs);
    if (!pbs || !ptrs) {
        rpc_call_fail_err(call, SP_ERR_NOMEM, NULL);
    } else {
        for (size_t i = 0; i < n; i++) {
            to_pb_space(&v[i], &pbs[i]);
            ptrs[i] = &pbs[i];
        }
        Spacepanda__ListSpacesResponse r = SPACEPANDA__LIST_SPACES_RESPONSE__INIT;
        r.n_spaces = n;
        r.spaces = ptrs;
        rpc_call_reply(call, &r.base);
    }
    free(pbs);
    free(ptrs);
    store_spaces_free(v, n);
}

static void create_channel(rpc_call *call, const ProtobufCMessage *m, void *ctx)
{
    const Spacepanda__CreateChannelRequest *req = (const Spacepanda__CreateChannelRequest *)m;
    chat_session who;
    if (!session(ctx, call, req->session_token, &who))
        return;
    store_channel ch;
    sp_err e = chat_channel_create(((space_svc *)ctx)->spaces, who.user_id, req->space_id, req->name,
                                   req->description, (int)req->visibility, &ch);
    if (e) {
        fail(call, e, why_invalid(req->space_id, req->name, req->description, (int)req->visibility));
        return;
    }
    Spacepanda__Channel pb;
    to_pb_channel(&ch, &pb);
    Spacepanda__CreateChannelResponse r = SPACEPANDA__CREATE_CHANNEL_RESPONSE__INIT;
    r.channel = &pb;
    rpc_call_reply(call, &r.base);
    store_channel_clear(&ch);
}

static void list_channels(rpc_call *call, const ProtobufCMessage *m, void *ctx)
{
    const Spacepanda__ListChannelsRequest *req = (const Spacepanda__ListChannelsRequest *)m;
    chat_session who;
    if (!session(ctx, call, req->session_token, &who))
        return;
    store_channel *v = NULL;
    size_t n = 0;
    sp_err e = chat_channel_list(((space_svc *)ctx)->spaces, who.user_id, req->space_id, &v, &n);
    if (e) {
        fail(call, e, MSG_SPACE_ID);
        return;
    }
    Spacepanda__Channel *pbs = calloc(n ? n : 1, sizeof *pbs);
    Spacepanda__Channel **ptrs = calloc(n ? n : 1, sizeof *ptrs);
    if (!pbs || !ptrs) {
        rpc_call_fail_err(call, SP_ERR_NOMEM, NULL);
    } else {
        for (size_t i = 0; i < n; i++) {
            to_pb_channel(&v[i], &pbs[i]);
            ptrs[i] = &pbs[i];
        }
        Spacepanda__ListChannelsResponse r = SPACEPANDA__LIST_CHANNELS_RESPONSE__INIT;
        r.n_channels = n;
        r.channels = ptrs;
        rpc_call_reply(call, &r.base);
    }
    free(pbs);
    free(ptrs);
    store_channels_free(v, n);
}

void rpc_space_svc_free(rpc_space_svc *s)
{
    free(s);
}

sp_err rpc_register_space(rpc_server *srv, chat_auth *auth, chat_spaces *spaces, rpc_space_svc **out)
{
    *out = NULL;
    space_svc *s = calloc(1, sizeof *s);
    if (!s)
        return SP_ERR_NOMEM;
    s->auth = auth;
    s->spaces = spaces;
    static const struct {
        const char *path;
        const ProtobufCMessageDescriptor *desc;
        rpc_handler_fn fn;
    } methods[] = {
        {"/spacepanda.SpaceService/CreateSpace", &spacepanda__create_space_request__descriptor, create_space},
        {"/spacepanda.SpaceService/GetSpace", &spacepanda__get_space_request__descriptor, get_space},
        {"/spacepanda.SpaceService/ListSpaces", &spacepanda__list_spaces_request__descriptor, list_spaces},
        {"/spacepanda.SpaceService/CreateChannel", &spacepanda__create_channel_request__descriptor, create_channel},
        {"/spacepanda.SpaceService/ListChannels", &spacepanda__list_channels_request__descriptor, list_channels},
    };
    for (size_t i = 0; i < sizeof methods / sizeof methods[0]; i++) {
        sp_err e = rpc_register_unary(srv, methods[i].path, methods[i].desc, methods[i].fn, s);
        if (e) {
            /* Registered methods may still point at s: keep it for the caller to free after
             * the server. */
            *out = s;
            return e;
        }
    }
    *out = s;
    return SP_OK;
}
