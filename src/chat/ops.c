/* ops.c — the commits this daemon makes (add, invite, remove, self-update): staged on the member's
 * epoch, proposed to the channel's home daemon, applied when accepted, rebuilt when beaten by another
 * commit, finished once (see channels.h, docs/chat.md). */
#include "chat/channels_int.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/crypto.h>
#include <event2/event.h>

#include "base/hex.h"
#include "base/log.h"
#include "base/rand.h"
#include "mls/codec.h"
#include "store/mls_state.h"
#include "store/outbox.h"
#include "store/profiles.h"

#define MAX_ATTEMPTS 8

/* ---- operations (commits we make) ------------------------------------------------------------ */

void chat_op_free(chat_op *op)
{
    if (op->timer)
        event_free(op->timer);
    if (op->kick)
        event_free(op->kick);
    mls_group_free(op->next_state);
    mls_commit_out_free(&op->out);
    sp_buf_free(&op->kp);
    free(op);
}

static void op_unlink(chat_op *op)
{
    for (chat_op **pp = &op->ch->ops; *pp; pp = &(*pp)->next)
        if (*pp == op) {
            *pp = op->next;
            return;
        }
}

static void op_reply(chat_op *op, sp_err e, const char *msg)
{
    if (!op->cb)
        return;
    chat_commit_cb cb = op->cb;
    op->cb = NULL;
    chat_commit_result r;
    memset(&r, 0, sizeof r);
    r.err = e;
    r.message = msg ? msg : (e ? sp_strerror(e) : "");
    store_channel sc;
    memset(&sc, 0, sizeof sc);
    int have = store_channel_get(op->c->db, op->ch->id, &sc) == SP_OK;
    if (!e) {
        r.welcome = sp_buf_slice(&op->out.welcome);
        r.commit = sp_buf_slice(&op->out.commit);
        r.ratchet_tree = sp_buf_slice(&op->out.ratchet_tree);
    }
    r.space_id = have ? sc.space_id : "";
    r.channel_name = have ? sc.name : "";
    r.channel_id = op->ch->id;
    cb(op->arg, &r);
    store_channel_clear(&sc);
}

void op_finish(chat_op *op, sp_err e, const char *msg)
{
    if (pend_remove(op->c, op) != SP_OK)
        SP_ERROR("chat: channel %.16s: cannot forget a finished commit", op->ch->id);
    op_unlink(op);
    op_reply(op, e, msg);
    chat_op_free(op);
}

/* The proposal in flight has lost its epoch: drop its staged state and rebuild it once our member
 * has moved on (chan_catch_up), unless it should not be tried again. An invite whose client is gone is
 * not: its Welcome would reach nobody. */
void op_lost(chat_op *op)
{
    mls_group_free(op->next_state);
    op->next_state = NULL;
    mls_commit_out_free(&op->out);
    if (op->attempts >= MAX_ATTEMPTS) {
        op_finish(op, SP_ERR_AGAIN, "the commit lost its epoch too many times; try again");
        return;
    }
    if (op->kind == OP_INVITE && !op->cb) {
        SP_INFO("chat: channel %.16s: an invite lost its epoch and its client is gone; not retried", op->ch->id);
        op_finish(op, SP_ERR_AGAIN, NULL);
        return;
    }
    op->state = OP_LOST; /* its row stays until the rebuilt proposal replaces it: a restart rebuilds it */
}

static void on_op_timeout(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    chat_op *op = arg;
    /* The op stays until the home daemon decides: its staged state is the only way to follow our
     * own commit if it is accepted late. Only the client is answered now. */
    op_reply(op, SP_ERR_TIMEOUT, "the channel's home daemon did not answer in time");
}

static sp_err fill_commit_msg(chat_channels *c, chat_op *op, chat_commit_msg *cm, store_channel *sc,
                              store_space *sp)
{
    memset(cm, 0, sizeof *cm);
    sp_err e = store_channel_get(c->db, op->ch->id, sc);
    if (!e)
        e = store_space_get(c->db, sc->space_id, NULL, sp);
    if (e)
        return e;
    snprintf(cm->channel_id, sizeof cm->channel_id, "%s", op->ch->id);
    cm->epoch = op->epoch;
    snprintf(cm->proposer, sizeof cm->proposer, "%s", c->self[0] ? c->self : op->ch->id);
    cm->request_id = op->request_id;
    cm->commit = sp_buf_slice(&op->out.commit);
    if (op->kind == OP_ADD) {
        cm->auto_join = 1;
        snprintf(cm->joiner, sizeof cm->joiner, "%s", op->target);
        cm->welcome = sp_buf_slice(&op->out.welcome);
        cm->ratchet_tree = sp_buf_slice(&op->out.ratchet_tree);
    }
    snprintf(cm->space_id, sizeof cm->space_id, "%s", sc->space_id);
    cm->space_name.ptr = (const uint8_t *)sp->name;
    cm->space_name.len = strlen(sp->name);
    cm->channel_name.ptr = (const uint8_t *)sc->name;
    cm->channel_name.len = strlen(sc->name);
    return SP_OK;
}

/* Builds the commit on our member's current epoch and sends it to the orderer. */
void op_submit(chat_op *op)
{
    chat_channels *c = op->c;
    if (op->state != OP_BUILD)
        return; /* a proposal is out, or waits for our member to move on */
    batch_flush(c);
    member *mb = chan_member(op->ch, op->user_id);
    if (!mb) {
        op_finish(op, SP_ERR_PERMISSION, "not a member of this channel");
        return;
    }
    mls_group_free(op->next_state);
    op->next_state = NULL;
    mls_commit_out_free(&op->out);
    op->attempts++;
    op->epoch = mls_group_epoch(mb->g);
    sp_random(&op->request_id, sizeof op->request_id);
    sp_err e;
    if (op->kind == OP_REMOVE) {
        e = mls_group_remove_identity(mb->g, (const uint8_t *)op->target, strlen(op->target), &op->out,
                                      &op->next_state);
        if (e == SP_ERR_NOT_FOUND) {
            op_finish(op, SP_ERR_NOT_FOUND, "that user is not a member of this channel");
            return;
        }
    } else {
        /* checked again on every attempt: a retry may find the user added meanwhile */
        uint32_t leaf;
        if (mls_group_find_member(mb->g, (const uint8_t *)op->target, strlen(op->target), &leaf) == SP_OK) {
            op_finish(op, SP_ERR_EXISTS, "that user is already a member of this channel");
            return;
        }
        sp_slice kp = sp_buf_slice(&op->kp);
        e = mls_group_add(mb->g, &kp, 1, &op->out, &op->next_state);
    }
    if (e) {
        op_finish(op, e == SP_ERR_CRYPTO ? SP_ERR_INVALID : e,
                  op->kind == OP_REMOVE ? "cannot build the remove commit" : "the key package was refused");
        return;
    }
    chat_commit_msg cm;
    store_channel sc;
    store_space sp;
    memset(&sc, 0, sizeof sc);
    memset(&sp, 0, sizeof sp);
    sp_buf raw;
    sp_buf_init(&raw);
    e = fill_commit_msg(c, op, &cm, &sc, &sp);
    if (!e)
        e = chat_commit_encode(&cm, &raw);
    if (e) {
        store_channel_clear(&sc);
        store_space_clear(&sp);
        sp_buf_free(&raw);
        op_finish(op, e, NULL);
        return;
    }
    op->state = OP_WAIT;
    if (chan_is_home(c, op->ch)) {
        chan_orderer_decide(c, op->ch, &cm, sp_buf_slice(&raw)); /* may finish op */
    } else if (!op->ch->home[0]) {
        op_finish(op, SP_ERR_AGAIN, "the channel's home daemon is not known yet");
    } else {
        /* kept before it leaves: a restarted daemon must follow or rebuild it (pending.c) */
        e = pend_put(c, op, sp_buf_slice(&raw));
        if (!e)
            e = net_node_unicast(c->node, op->ch->home, CHAT_PT_COMMIT_PROPOSE, raw.data, raw.len, NULL);
        if (e)
            op_finish(op, e, "cannot send the commit to the channel's home daemon");
    }
    store_channel_clear(&sc);
    store_space_clear(&sp);
    sp_buf_free(&raw);
}

static void on_op_start(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    op_submit(arg);
}

/* The channel_id's channel and user_id's member in it; says why not in msg. */
static sp_err find_member(chat_channels *c, const char *user_id, const char *channel_id, chan **ch_out,
                          member **out, char *msg, size_t msglen)
{
    if (!chat_id_valid(channel_id)) {
        chan_say(msg, msglen, "channel_id must be 64 lowercase hex characters");
        return SP_ERR_INVALID;
    }
    chan *ch;
    sp_err e = chan_get(c, channel_id, &ch);
    if (e) {
        chan_say(msg, msglen, e == SP_ERR_NOT_FOUND ? "no such channel" : "cannot load the channel");
        return e;
    }
    *ch_out = ch;
    *out = chan_member(ch, user_id);
    if (!*out) {
        chan_say(msg, msglen, "not a member of this channel");
        return SP_ERR_PERMISSION;
    }
    return SP_OK;
}

/* SP_ERR_EXISTS (with a message) when target is already in mb's group. */
static sp_err check_not_member(const member *mb, const char *target, char *msg, size_t msglen)
{
    uint32_t leaf;
    if (target && target[0] && mls_group_find_member(mb->g, (const uint8_t *)target, strlen(target), &leaf) == SP_OK) {
        chan_say(msg, msglen, "that user is already a member of this channel");
        return SP_ERR_EXISTS;
    }
    return SP_OK;
}

/* A new operation linked into ch, its client timer running, its kick not yet due; kp (may be
 * NULL) is taken over. NULL when out of memory. */
static chat_op *op_new(chat_channels *c, chan *ch, int kind, const char *user_id, const char *target,
                       sp_buf *kp, chat_commit_cb cb, void *arg)
{
    chat_op *op = calloc(1, sizeof *op);
    if (!op)
        return NULL;
    op->c = c;
    op->ch = ch;
    op->kind = kind;
    snprintf(op->user_id, sizeof op->user_id, "%s", user_id);
    snprintf(op->target, sizeof op->target, "%s", target ? target : "");
    sp_buf_init(&op->kp);
    if (kp) {
        op->kp = *kp;
        sp_buf_init(kp);
    }
    op->cb = cb;
    op->arg = arg;
    struct timeval tmo = {c->cfg.commit_timeout_ms / 1000, (c->cfg.commit_timeout_ms % 1000) * 1000};
    op->timer = evtimer_new(c->base, on_op_timeout, op);
    op->kick = evtimer_new(c->base, on_op_start, op);
    if (!op->timer || !op->kick || evtimer_add(op->timer, &tmo) != 0) {
        chat_op_free(op);
        return NULL;
    }
    op->next = ch->ops;
    ch->ops = op;
    return op;
}

/* At start: the commits we had proposed to another daemon when we stopped (pending.c). One still
 * in our member's epoch waits for its answer again — and is proposed again, since a crash may have
 * come before it left (the orderer ignores a repeat of a commit it accepted). One whose epoch our
 * member has passed lost it: it is rebuilt now. Nothing is answered to a client (it is gone). */
void ops_resume(chat_channels *c)
{
    store_frame *v = NULL;
    size_t n = 0;
    if (pend_list(c, &v, &n) != SP_OK)
        return;
    for (size_t i = 0; i < n; i++) {
        pend_rec r;
        chan *ch = NULL;
        member *mb = NULL;
        mls_group *staged = NULL;
        sp_err e = pend_decode(&v[i], &r);
        if (!e)
            e = chan_get(c, r.channel_id, &ch);
        if (!e && !(mb = chan_member(ch, r.user_id)))
            e = SP_ERR_PERMISSION;
        uint64_t now = mb ? mls_group_epoch(mb->g) : 0;
        if (!e && (now < r.epoch || (r.kind == OP_INVITE && now > r.epoch)))
            e = SP_ERR_STATE; /* an invite that lost its epoch: its Welcome would reach nobody */
        if (!e && now == r.epoch)
            e = mls_group_load(r.state.ptr, r.state.len, NULL, &staged);
        sp_buf kp;
        sp_buf_init(&kp);
        if (!e)
            e = sp_buf_append(&kp, r.kp.ptr, r.kp.len);
        chat_op *op = NULL;
        if (!e && !(op = op_new(c, ch, r.kind, r.user_id, r.target, &kp, NULL, NULL)))
            e = SP_ERR_NOMEM;
        sp_buf_free(&kp);
        if (e) {
            SP_INFO("chat: a commit pending at our last stop is dropped: %s", sp_strerror(e));
            mls_group_free(staged);
            store_outbox_remove(c->db, v[i].id);
            continue;
        }
        op->pend_row = r.row;
        op->epoch = r.epoch;
        op->request_id = r.request_id;
        op->attempts = 1;
        if (now == r.epoch) {
            op->next_state = staged;
            op->state = OP_WAIT;
            if (ch->home[0] && strcmp(ch->home, c->self) != 0 &&
                net_node_unicast(c->node, ch->home, CHAT_PT_COMMIT_PROPOSE, r.proposal.ptr, r.proposal.len, NULL) != SP_OK)
                SP_WARN("chat: channel %.16s: cannot propose our pending commit again", ch->id);
        } else {
            op->state = OP_BUILD;
            event_active(op->kick, EV_TIMEOUT, 0);
        }
        SP_INFO("chat: channel %.16s: our commit of epoch %" PRIu64 " (%s) resumed: %s", ch->id, r.epoch,
                r.kind == OP_REMOVE ? "remove" : r.kind == OP_ADD ? "add" : "invite",
                now == r.epoch ? "waiting for the home daemon" : "lost its epoch, rebuilt");
    }
    store_frames_free(v, n);
}

/* Common start of the three commit operations: checks membership and queues the op. */
static sp_err op_start(chat_channels *c, int kind, const char *user_id, const char *channel_id,
                       const char *target, sp_buf *kp, chat_commit_cb cb, void *arg, chat_op **out,
                       char *msg, size_t msglen)
{
    chan *ch;
    member *mb;
    sp_err e = find_member(c, user_id, channel_id, &ch, &mb, msg, msglen);
    if (e)
        return e;
    if (kind != OP_REMOVE && (e = check_not_member(mb, target, msg, msglen)) != SP_OK)
        return e;
    chat_op *op = op_new(c, ch, kind, user_id, target, kp, cb, arg);
    if (!op)
        return SP_ERR_NOMEM;
    event_active(op->kick, EV_TIMEOUT, 0);
    if (out)
        *out = op;
    return SP_OK;
}

sp_err chat_invite(chat_channels *c, const char *user_id, const char *channel_id,
                   const uint8_t *key_package, size_t kp_len, chat_commit_cb cb, void *arg,
                   chat_op **op, char *msg, size_t msglen)
{
    sp_buf kp;
    char who[37];
    sp_buf_init(&kp);
    if (kp_normalise(key_package, kp_len, &kp, who) != SP_OK) {
        sp_buf_free(&kp);
        chan_say(msg, msglen, "key_package is not an MLS KeyPackage with a user id credential");
        return SP_ERR_INVALID;
    }
    sp_err e = op_start(c, OP_INVITE, user_id, channel_id, who, &kp, cb, arg, op, msg, msglen);
    sp_buf_free(&kp);
    return e;
}

sp_err chat_add_member(chat_channels *c, const char *user_id, const char *channel_id,
                       const char *target, chat_commit_cb cb, void *arg, chat_op **op,
                       char *msg, size_t msglen)
{
    if (!sp_uuid_is_valid(target)) {
        chan_say(msg, msglen, "user_id must be a UUID");
        return SP_ERR_INVALID;
    }
    /* checked before taking a key package, so a failing add consumes none */
    chan *ch;
    member *mb;
    sp_err e = find_member(c, user_id, channel_id, &ch, &mb, msg, msglen);
    if (e || (e = check_not_member(mb, target, msg, msglen)) != SP_OK)
        return e;
    sp_buf kp;
    sp_buf_init(&kp);
    if (chan_is_local_user(c, target)) {
        e = keypackage_make(c, target, &kp);
    } else {
        e = keydir_take(c, target, &kp);
        if (e == SP_ERR_NOT_FOUND) {
            chan_say(msg, msglen, "no key package is known for that user (their daemon has not published one)");
            sp_buf_free(&kp);
            return SP_ERR_STATE;
        }
    }
    if (e) {
        sp_buf_free(&kp);
        return e;
    }
    e = op_start(c, OP_ADD, user_id, channel_id, target, &kp, cb, arg, op, msg, msglen);
    sp_buf_free(&kp);
    return e;
}

sp_err chat_remove_member(chat_channels *c, const char *user_id, const char *channel_id,
                          const char *target, chat_commit_cb cb, void *arg, chat_op **op,
                          char *msg, size_t msglen)
{
    if (!sp_uuid_is_valid(target)) {
        chan_say(msg, msglen, "user_id must be a UUID");
        return SP_ERR_INVALID;
    }
    if (strcmp(user_id, target) == 0) {
        chan_say(msg, msglen, "a member cannot remove themselves with a commit of their own");
        return SP_ERR_STATE;
    }
    return op_start(c, OP_REMOVE, user_id, channel_id, target, NULL, cb, arg, op, msg, msglen);
}

void chat_op_cancel(chat_op *op)
{
    if (op)
        op->cb = NULL;
}

