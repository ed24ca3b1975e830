/* auth.c — spacepanda.AuthService (see auth.h). */
#include "rpc/services/auth.h"

#include <stdlib.h>
#include <string.h>
#include "spacepanda.pb-c.h"

/* The same words for an unknown user and a wrong password: nothing tells them apart. */
#define MSG_BAD_LOGIN "invalid username or password"

typedef struct {
    rpc_call *call;
    chat_auth_op *op;
    int is_create;
} pending;

static void on_cancel(rpc_call *call, void *user)
{
    (void)call;
    pending *p = user;
    chat_auth_op_cancel(p->op);
    free(p);
}

static void on_result(void *ctx, sp_err err, const chat_session *s)
{
    pending *p = ctx;
    rpc_call *call = p->call;
    rpc_call_on_cancel(call, NULL, NULL);
    int is_create = p->is_create;
    free(p);
    if (err) {
        const char *msg = NULL;
        if (err == SP_ERR_AUTH)
            msg = MSG_BAD_LOGIN;
        else if (err == SP_ERR_EXISTS)
            msg = "username already taken";
        else if (err == SP_ERR_STATE)
            err = SP_ERR_AGAIN, msg = "the daemon is shutting down";
        rpc_call_fail_err(call, err, msg);
        return;
    }
    Spacepanda__User user = SPACEPANDA__USER__INIT;
    user.id = (char *)s->user_id;
    user.username = (char *)s->username;
    user.display_name = (char *)s->username;
    user.status = SPACEPANDA__USER_STATUS__USER_STATUS_ONLINE;
    if (is_create) {
        Spacepanda__CreateProfileResponse r = SPACEPANDA__CREATE_PROFILE_RESPONSE__INIT;
        r.session_token = (char *)s->token;
        r.user = &user;
        rpc_call_reply(call, &r.base);
    } else {
        Spacepanda__UnlockResponse r = SPACEPANDA__UNLOCK_RESPONSE__INIT;
        r.session_token = (char *)s->token;
        r.user = &user;
        rpc_call_reply(call, &r.base);
    }
}

/* Answers an error returned at once by chat_auth_* (the callback will not run). */
static void fail_now(rpc_call *call, sp_err e, const char *username, const char *password, int create)
{
    const char *msg = NULL;
    if (e == SP_ERR_INVALID) {
        if (create && !password[0])
            msg = "password must not be empty";
        else if (strlen(password) > CHAT_PASSWORD_MAX)
            msg = "password longer than 1024 bytes";
        else if (strlen(username) > CHAT_USERNAME_MAX)
            msg = "username longer than 64 bytes";
        else
            msg = "username must be 1 to 64 characters among A-Z a-z 0-9 . _ -";
    } else if (e == SP_ERR_EXISTS) {
        msg = "username already taken";
    } else if (e == SP_ERR_AGAIN) {
        msg = "too many logins in progress; retry";
    }
    rpc_call_fail_err(call, e, msg);
}

static void start(rpc_call *call, chat_auth *a, const char *username, const char *password, int create)
{
    pending *p = calloc(1, sizeof *p);
    if (!p) {
        rpc_call_fail_err(call, SP_ERR_NOMEM, NULL);
        return;
    }
    p->call = call;
    p->is_create = create;
    sp_err e = create ? chat_auth_create_profile(a, username, password, on_result, p, &p->op)
                      : chat_auth_unlock(a, username, password, on_result, p, &p->op);
    if (e) {
        free(p);
        fail_now(call, e, username, password, create);
        return;
    }
    rpc_call_on_cancel(call, on_cancel, p);
}

static void create_profile(rpc_call *call, const ProtobufCMessage *m, void *ctx)
{
    const Spacepanda__CreateProfileRequest *req = (const Spacepanda__CreateProfileRequest *)m;
    start(call, ctx, req->username, req->password, 1);
}

static void unlock(rpc_call *call, const ProtobufCMessage *m, void *ctx)
{
    const Spacepanda__UnlockRequest *req = (const Spacepanda__UnlockRequest *)m;
    start(call, ctx, req->username, req->password, 0);
}

static void lock(rpc_call *call, const ProtobufCMessage *m, void *ctx)
{
    const Spacepanda__LockRequest *req = (const Spacepanda__LockRequest *)m;
    sp_err e = chat_auth_lock(ctx, req->session_token);
    if (e) {
        rpc_call_fail_err(call, e, RPC_MSG_BAD_TOKEN);
        return;
    }
    Spacepanda__LockResponse r = SPACEPANDA__LOCK_RESPONSE__INIT;
    r.success = 1;
    rpc_call_reply(call, &r.base);
}

sp_err rpc_register_auth(rpc_server *srv, chat_auth *auth)
{
    sp_err e = rpc_register_unary(srv, "/spacepanda.AuthService/CreateProfile",
                                  &spacepanda__create_profile_request__descriptor, create_profile, auth);
    if (!e)
        e = rpc_register_unary(srv, "/spacepanda.AuthService/Unlock",
                               &spacepanda__unlock_request__descriptor, unlock, auth);
    if (!e)
        e = rpc_register_unary(srv, "/spacepanda.AuthService/Lock",
                               &spacepanda__lock_request__descriptor, lock, auth);
    return e;
}
