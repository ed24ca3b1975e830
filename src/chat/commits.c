/* commits.c — commits arriving: the orderer on the home daemon (one commit per epoch), applying
 * accepted commits in epoch order with catch-up from the logged ones, and the epoch-authenticator
 * exchange that detects forks (see channels.h, docs/chat.md). */
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

#define COMMIT_LOG_KEEP 64

/* ---- epoch authenticators ----------------------------------------------------------------- */

static void ring_put(auth_slot *ring, uint64_t epoch, const uint8_t *auth)
{
    auth_slot *slot = &ring[epoch % CHAT_AUTH_RING];
    slot->epoch = epoch;
    memcpy(slot->auth, auth, MLS_HASH_LEN);
    slot->used = 1;
}

static const auth_slot *ring_get(const auth_slot *ring, uint64_t epoch)
{
    const auth_slot *slot = &ring[epoch % CHAT_AUTH_RING];
    return slot->used && slot->epoch == epoch ? slot : NULL;
}

static void fork_check(const chan *ch, uint64_t epoch, const char *who)
{
    const auth_slot *a = ring_get(ch->mine, epoch), *b = ring_get(ch->theirs, epoch);
    if (a && b && CRYPTO_memcmp(a->auth, b->auth, MLS_HASH_LEN) != 0)
        SP_ERROR("chat: FORK DETECTED in channel %s at epoch %" PRIu64
                 ": daemon %.16s has a different epoch authenticator than ours",
                 ch->id, epoch, who);
}

void chan_announce_epoch(chat_channels *c, chan *ch)
{
    member *m = ch->members;
    if (!m)
        return;
    uint64_t epoch = mls_group_epoch(m->g);
    if (ch->announced == epoch + 1)
        return;
    uint8_t auth[MLS_HASH_LEN];
    mls_group_epoch_authenticator(m->g, auth);
    ring_put(ch->mine, epoch, auth);
    ch->announced = epoch + 1;
    fork_check(ch, epoch, "a peer");
    if (!c->node)
        return;
    chat_epoch_msg em;
    memset(&em, 0, sizeof em);
    snprintf(em.channel_id, sizeof em.channel_id, "%s", ch->id);
    em.epoch = epoch;
    em.authenticator.ptr = auth;
    em.authenticator.len = MLS_HASH_LEN;
    sp_buf b;
    sp_buf_init(&b);
    if (chat_epoch_encode(&em, &b) == SP_OK)
        net_node_broadcast(c->node, CHAT_PT_EPOCH_AUTH, b.data, b.len, NULL);
    sp_buf_free(&b);
}

void chan_on_epoch_auth(chat_channels *c, const char *origin, const chat_epoch_msg *m)
{
    chan *ch;
    if (m->authenticator.len != MLS_HASH_LEN || chan_get(c, m->channel_id, &ch) != SP_OK)
        return;
    ring_put(ch->theirs, m->epoch, m->authenticator.ptr);
    fork_check(ch, m->epoch, origin);
}

/* ---- the orderer (on the home daemon) -------------------------------------------------------- */

static void send_reject(chat_channels *c, const chat_commit_msg *m, uint64_t current, const char *why)
{
    chat_reject_msg r;
    memset(&r, 0, sizeof r);
    snprintf(r.channel_id, sizeof r.channel_id, "%s", m->channel_id);
    r.epoch = m->epoch;
    r.request_id = m->request_id;
    r.current_epoch = current;
    r.reason.ptr = (const uint8_t *)why;
    r.reason.len = strlen(why);
    if (strcmp(m->proposer, c->self) == 0 || !c->node) {
        chan_on_reject(c, c->self, &r);
        return;
    }
    sp_buf b;
    sp_buf_init(&b);
    if (chat_reject_encode(&r, &b) == SP_OK)
        net_node_unicast(c->node, m->proposer, CHAT_PT_COMMIT_REJECTED, b.data, b.len, NULL);
    sp_buf_free(&b);
}

/* 1 if the commit could be applied: by a local member in its epoch when there is one (the home
 * daemon's creator usually is), else by its framing alone. An epoch given to a commit nobody can
 * apply would stop the channel: every later proposal would be built on an epoch already taken. */
static int commit_verifies(chat_channels *c, chan *ch, const chat_commit_msg *m)
{
    if (!chan_frame_ok(m->commit, ch->id, m->epoch, MLS_WIRE_PUBLIC_MESSAGE))
        return 0;
    if (strcmp(m->proposer, c->self) == 0)
        return 1; /* built here (and a member cannot stage its own commit) */
    for (member *mb = ch->members; mb; mb = mb->next) {
        if (mls_group_epoch(mb->g) != m->epoch)
            continue;
        mls_group *next = NULL;
        mls_process_info info;
        sp_err e = mls_group_stage(mb->g, m->commit.ptr, m->commit.len, &next, &info);
        mls_group_free(next);
        return e == SP_OK;
    }
    return 1;
}

/* 1 if m is the very proposal accepted for its epoch (proposed again by a restarted daemon). */
static int same_proposal(const store_frame *row, const void *arg)
{
    const chat_commit_msg *m = arg;
    chat_commit_msg a;
    return row->origin_seq == m->epoch && chat_commit_decode(row->payload, row->len, &a) == SP_OK &&
           a.request_id == m->request_id && strcmp(a.proposer, m->proposer) == 0;
}

static int accepted_is(chat_channels *c, chan *ch, const chat_commit_msg *m)
{
    char q[80];
    queue_name(q, sizeof q, 'c', ch->id);
    return queue_has(c, q, same_proposal, m);
}

/* Accepts the first commit of each epoch; raw is its encoding (re-broadcast as ACCEPTED). */
void chan_orderer_decide(chat_channels *c, chan *ch, const chat_commit_msg *m, sp_slice raw)
{
    char key[100];
    uint64_t ord;
    int found;
    snprintf(key, sizeof key, "ord:%s", ch->id);
    if (chan_meta_get_u64(c, key, &ord, &found) != SP_OK) {
        send_reject(c, m, 0, "orderer storage error");
        return;
    }
    if (!found && ch->members)
        ord = mls_group_epoch(ch->members->g);
    if (m->epoch == ord && !commit_verifies(c, ch, m)) {
        SP_WARN("chat: channel %.16s: a commit for epoch %" PRIu64 " from %.16s does not verify; refused",
                ch->id, m->epoch, m->proposer);
        send_reject(c, m, ord, "the commit does not verify");
        return;
    }
    if (m->epoch < ord && accepted_is(c, ch, m)) {
        SP_DEBUG("chat: channel %.16s: a repeat of the accepted commit of epoch %" PRIu64 " ignored", ch->id, m->epoch);
        return;
    }
    if (m->epoch != ord) {
        SP_DEBUG("chat: channel %.16s: commit for epoch %" PRIu64 " refused, epoch is %" PRIu64,
                 ch->id, m->epoch, ord);
        send_reject(c, m, ord, "another commit took this epoch");
        return;
    }
    /* durable before anyone hears of it, so a restarted orderer never accepts twice */
    if (chan_meta_put_u64(c, key, ord + 1) != SP_OK) {
        send_reject(c, m, ord, "orderer storage error");
        return;
    }
    if (c->node && net_node_broadcast(c->node, CHAT_PT_COMMIT_ACCEPTED, raw.ptr, raw.len, NULL) != SP_OK)
        SP_ERROR("chat: channel %.16s: cannot broadcast accepted commit", ch->id);
    /* Applied from its encoding, like everyone else does: m may point into the proposer's op,
     * which applying frees. */
    chat_commit_msg own;
    if (chat_commit_decode(raw.ptr, raw.len, &own) == SP_OK)
        chan_on_accepted(c, c->self, &own, raw);
}

void chan_on_propose(chat_channels *c, const char *origin, const chat_commit_msg *m, sp_slice raw)
{
    chan *ch;
    if (strcmp(origin, m->proposer) != 0)
        return; /* a proposer speaks for itself only */
    if (chan_get(c, m->channel_id, &ch) != SP_OK || !chan_is_home(c, ch)) {
        send_reject(c, m, 0, "not the home daemon of this channel");
        return;
    }
    chan_orderer_decide(c, ch, m, raw);
}

/* ---- applying accepted commits ----------------------------------------------------------------- */

static chat_op *find_op(chan *ch, uint64_t request_id)
{
    for (chat_op *op = ch->ops; op; op = op->next)
        if (op->request_id == request_id)
            return op;
    return NULL;
}

typedef struct staged {
    struct staged *next;
    member *m;
    mls_group *next_state;
    int removed;
} staged;

/* Aligns the store's member list of ch with the group roster of g. */
sp_err chan_sync_roster(chat_channels *c, chan *ch, const mls_group *g)
{
    mls_member *mm = NULL;
    size_t n = 0;
    sp_err e = mls_group_members(g, &mm, &n);
    if (e)
        return e;
    store_channel sc;
    memset(&sc, 0, sizeof sc);
    e = store_channel_get(c->db, ch->id, &sc);
    for (size_t i = 0; !e && i < n; i++) {
        char id[64];
        if (mm[i].identity_len >= sizeof id)
            continue;
        memcpy(id, mm[i].identity, mm[i].identity_len);
        id[mm[i].identity_len] = '\0';
        e = store_channel_add_member(c->db, ch->id, id);
        if (!e)
            e = store_space_add_member(c->db, sc.space_id, id);
    }
    for (size_t j = 0; !e && j < sc.n_members; j++) {
        int present = 0;
        for (size_t i = 0; i < n && !present; i++)
            present = mm[i].identity_len == strlen(sc.member_ids[j]) &&
                      memcmp(mm[i].identity, sc.member_ids[j], mm[i].identity_len) == 0;
        if (!present)
            e = store_channel_remove_member(c->db, ch->id, sc.member_ids[j]);
    }
    store_channel_clear(&sc);
    mls_members_free(mm, n);
    return e;
}

/* Applies one accepted commit to every local member in its epoch, in one transaction. Returns 1
 * when some member moved on, -1 when members were in its epoch but none could apply it (it is not
 * a valid commit of this group: the caller drops it from the log, so the real one can take its
 * place), 0 otherwise. */
static int apply_commit(chat_channels *c, chan *ch, const chat_commit_msg *m)
{
    batch_flush(c); /* states on disk must include every message already read or sent */
    staged *list = NULL;
    chat_op *op = strcmp(m->proposer, c->self) == 0 ? find_op(ch, m->request_id) : NULL;
    int any = 0, wanted = 0;
    for (member *mb = ch->members; mb; mb = mb->next) {
        if (mls_group_epoch(mb->g) != m->epoch)
            continue;
        wanted = 1;
        staged *s = calloc(1, sizeof *s);
        if (!s)
            break;
        s->m = mb;
        if (op && strcmp(op->user_id, mb->user_id) == 0 && op->next_state && op->epoch == m->epoch) {
            s->next_state = op->next_state; /* our own commit: the state we staged */
            op->next_state = NULL;
        } else {
            mls_process_info info;
            sp_err e = mls_group_stage(mb->g, m->commit.ptr, m->commit.len, &s->next_state, &info);
            if (e) {
                SP_ERROR("chat: channel %.16s: %s cannot apply the accepted commit of epoch %" PRIu64
                         ": %s (this member is now out of step)",
                         ch->id, mb->user_id, m->epoch, sp_strerror(e));
                free(s);
                continue;
            }
            s->removed = info.removed || !mls_group_active(s->next_state);
        }
        s->next = list;
        list = s;
        any = 1;
    }
    if (!any)
        return wanted ? -1 : 0;

    sp_err e = store_tx_begin(c->db);
    const mls_group *roster = NULL;
    for (staged *s = list; !e && s; s = s->next) {
        if (s->removed) {
            e = store_mls_state_delete(c->db, ch->id, s->m->user_id);
            if (!e)
                e = chan_mark_left(c, ch->id, s->m->user_id);
        } else {
            e = member_save(c, ch, s->m->user_id, s->next_state);
            roster = s->next_state;
        }
    }
    if (!e && op && op->pend_row) {
        e = store_outbox_remove(c->db, op->pend_row); /* our pending row goes with the commit */
        if (e == SP_ERR_NOT_FOUND)
            e = SP_OK;
    }
    if (!e && roster)
        e = chan_sync_roster(c, ch, roster);
    else if (!e)
        for (staged *s = list; !e && s; s = s->next)
            if (s->removed) {
                e = store_channel_remove_member(c->db, ch->id, s->m->user_id);
                if (e == SP_ERR_NOT_FOUND)
                    e = SP_OK;
            }
    e = store_tx_end(c->db, e);
    if (e) {
        SP_ERROR("chat: channel %.16s: cannot store epoch %" PRIu64 ": %s", ch->id, m->epoch + 1,
                 sp_strerror(e));
        while (list) {
            staged *n = list->next;
            mls_group_free(list->next_state);
            free(list);
            list = n;
        }
        chan_reload(c, ch);
        return 0;
    }
    if (op)
        op->pend_row = 0;
    while (list) {
        staged *n = list->next;
        if (list->removed) {
            char uid[37];
            snprintf(uid, sizeof uid, "%s", list->m->user_id);
            mls_group_free(list->next_state);
            chan_drop_member(ch, uid);
            streams_end_user(ch, uid);
            SP_INFO("chat: channel %.16s: %s was removed at epoch %" PRIu64, ch->id, uid, m->epoch + 1);
        } else {
            mls_group_apply(list->m->g, list->next_state);
        }
        free(list);
        list = n;
    }
    SP_DEBUG("chat: channel %.16s: epoch %" PRIu64 " applied", ch->id, m->epoch + 1);
    if (op)
        op_finish(op, SP_OK, NULL);
    /* Our other proposals for that epoch have lost it: the home daemon accepts one commit per
     * epoch. Rebuilt without waiting for its refusal (which may never come back to us). */
    for (chat_op *o = ch->ops, *next; o; o = next) {
        next = o->next; /* op_lost may finish o */
        if (o->state == OP_WAIT && o->epoch == m->epoch)
            op_lost(o);
    }
    return 1;
}

/* Applies, in epoch order, the logged commits our members are waiting for; then retries queued
 * messages and rebuilt commits. */
void chan_catch_up(chat_channels *c, chan *ch)
{
    char q[80];
    queue_name(q, sizeof q, 'c', ch->id);
    for (int rounds = 0; rounds < 1000; rounds++) {
        store_frame *v = NULL;
        size_t n = 0;
        if (store_outbox_list(c->db, q, 0, CHAT_QUEUE_SCAN, &v, &n) != SP_OK)
            break;
        int progress = 0;
        uint64_t min_epoch = UINT64_MAX;
        for (member *mb = ch->members; mb; mb = mb->next)
            if (mls_group_epoch(mb->g) < min_epoch)
                min_epoch = mls_group_epoch(mb->g);
        for (size_t i = 0; i < n && !progress; i++) {
            int wanted = 0;
            for (member *mb = ch->members; mb && !wanted; mb = mb->next)
                wanted = mls_group_epoch(mb->g) == v[i].origin_seq;
            if (!wanted)
                continue;
            chat_commit_msg m;
            int r = chat_commit_decode(v[i].payload, v[i].len, &m) == SP_OK ? apply_commit(c, ch, &m) : -1;
            if (r < 0) {
                SP_ERROR("chat: channel %.16s: the logged commit of epoch %" PRIu64 " is not valid here; dropped",
                         ch->id, v[i].origin_seq);
                store_outbox_remove(c->db, v[i].id);
            }
            progress = r > 0;
        }
        /* prune what no member needs any more (joiners may need recent ones: keep a tail) */
        if (n > COMMIT_LOG_KEEP)
            for (size_t i = 0; i + COMMIT_LOG_KEEP < n; i++)
                if (min_epoch != UINT64_MAX && v[i].origin_seq < min_epoch)
                    store_outbox_remove(c->db, v[i].id);
        store_frames_free(v, n);
        if (!progress)
            break;
    }
    chan_announce_epoch(c, ch);
    /* rebuild the commits that lost their epoch, now that we have moved on */
    for (chat_op *op = ch->ops; op; op = op->next) {
        member *mb = chan_member(ch, op->user_id);
        if (op->state == OP_LOST && (!mb || mls_group_epoch(mb->g) > op->epoch)) {
            op->state = OP_BUILD;
            event_active(op->kick, EV_TIMEOUT, 0);
        }
    }
    waitq_drain(c, ch);
}

static int of_epoch(const store_frame *row, const void *arg)
{
    return row->origin_seq == *(const uint64_t *)arg;
}

static int commit_logged(chat_channels *c, const char *q, uint64_t epoch)
{
    return queue_has(c, q, of_epoch, &epoch);
}

int chan_is_local_user(chat_channels *c, const char *user_id)
{
    store_profile p;
    memset(&p, 0, sizeof p);
    if (store_profile_by_id(c->db, user_id, &p) != SP_OK)
        return 0;
    store_profile_clear(&p);
    return 1;
}

void chan_on_accepted(chat_channels *c, const char *origin, const chat_commit_msg *m, sp_slice raw)
{
    char q[80];
    chan *known = NULL;
    if (origin && chan_get(c, m->channel_id, &known) == SP_OK && known->home[0] &&
        strcmp(origin, known->home) != 0) {
        SP_WARN("chat: channel %.16s: an accepted commit from %.16s, which is not the home daemon, ignored",
                m->channel_id, origin);
        return;
    }
    if (!chan_frame_ok(m->commit, m->channel_id, m->epoch, MLS_WIRE_PUBLIC_MESSAGE)) {
        SP_WARN("chat: channel %.16s: an accepted commit for epoch %" PRIu64 " that is not a commit of it, ignored",
                m->channel_id, m->epoch);
        return;
    }
    queue_name(q, sizeof q, 'c', m->channel_id);
    /* Every accepted commit is logged (they are public handshake messages), so a member that
     * joins or falls behind can replay what it lacks in order. */
    if (!commit_logged(c, q, m->epoch))
        store_outbox_add(c->db, q, m->proposer, m->epoch, CHAT_PT_COMMIT_ACCEPTED, raw.ptr, raw.len, NULL);
    chan *ch = NULL;
    if (chan_get(c, m->channel_id, &ch) == SP_OK) {
        if (!ch->home[0] && origin && origin[0]) {
            snprintf(ch->home, sizeof ch->home, "%s", origin);
            store_channel_set_home(c->db, ch->id, origin);
        }
        chan_catch_up(c, ch);
    }
    if (m->auto_join && m->joiner[0] && chan_is_local_user(c, m->joiner) &&
        !(ch && chan_member(ch, m->joiner))) {
        chat_join_req req;
        memset(&req, 0, sizeof req);
        req.welcome = m->welcome.ptr;
        req.welcome_len = m->welcome.len;
        req.ratchet_tree = m->ratchet_tree.len ? m->ratchet_tree.ptr : NULL;
        req.tree_len = m->ratchet_tree.len;
        req.space_id = m->space_id;
        char cname[CHAT_NAME_MAX + 1];
        snprintf(cname, sizeof cname, "%.*s", (int)m->channel_name.len, (const char *)m->channel_name.ptr);
        req.channel_name = cname;
        req.channel_id = m->channel_id;
        char id[65], why[200];
        sp_err e = chan_join_welcome(c, m->joiner, &req, origin, id, why, sizeof why);
        if (e == SP_OK) {
            SP_INFO("chat: %s joined channel %.16s (added by a member)", m->joiner, id);
        } else if (!(e == SP_ERR_STATE && ch && chan_member(ch, m->joiner))) {
            SP_WARN("chat: %s could not join channel %.16s: %s", m->joiner, m->channel_id, why);
        }
    }
}

void chan_on_reject(chat_channels *c, const char *origin, const chat_reject_msg *m)
{
    chan *ch;
    if (chan_get(c, m->channel_id, &ch) != SP_OK)
        return;
    if (origin && strcmp(origin, c->self) != 0 && strcmp(origin, ch->home) != 0)
        return; /* only the orderer may say no */
    chat_op *op = find_op(ch, m->request_id);
    if (!op || op->state != OP_WAIT || op->epoch != m->epoch)
        return; /* an answer to a proposal we have already given up (or a repeat) */
    char why[120];
    snprintf(why, sizeof why, "the channel's home daemon refused the commit: %.*s",
             (int)(m->reason.len > 80 ? 80 : m->reason.len), (const char *)m->reason.ptr);
    if (m->current_epoch <= op->epoch) {
        /* not a lost race (the orderer is not past our epoch): trying again would change nothing */
        op_finish(op, SP_ERR_STATE, why);
        return;
    }
    SP_DEBUG("chat: channel %.16s: commit of epoch %" PRIu64 " rejected (%s); will retry", ch->id, m->epoch, why);
    op_lost(op);
    chan_catch_up(c, ch);
}

