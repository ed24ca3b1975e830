/* channels.c — the channel engine's core: the channel cache, commits and their ordering by the
 * home daemon, joining from a Welcome, epoch authenticators (see channels.h). */
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
#define COMMIT_LOG_KEEP 64

static void op_submit(chat_op *op);
static void op_finish(chat_op *op, sp_err e, const char *msg);
static void op_lost(chat_op *op);
static void catch_up(chat_channels *c, chan *ch);
static sp_err do_join(chat_channels *c, const char *user_id, const chat_join_req *req,
                      const char *home_hint, char *channel_id, char *msg, size_t msglen);

static void say(char *msg, size_t msglen, const char *text)
{
    if (msg && msglen)
        snprintf(msg, msglen, "%s", text);
}

void queue_name(char *out, size_t cap, char kind, const char *channel_id)
{
    snprintf(out, cap, "%c:%s", kind, channel_id);
}

int queue_has(chat_channels *c, const char *q, queue_match_fn match, const void *arg)
{
    int64_t after = 0;
    for (;;) {
        store_frame *v = NULL;
        size_t n = 0;
        if (store_outbox_list(c->db, q, after, CHAT_QUEUE_SCAN, &v, &n) != SP_OK)
            return 0;
        int hit = 0;
        for (size_t i = 0; i < n && !hit; i++)
            hit = match(&v[i], arg);
        if (n)
            after = v[n - 1].id;
        store_frames_free(v, n);
        if (hit || n < CHAT_QUEUE_SCAN)
            return hit;
    }
}

/* ---- the cache --------------------------------------------------------------------------- */

static void members_free(member *m)
{
    while (m) {
        member *n = m->next;
        mls_group_free(m->g);
        free(m);
        m = n;
    }
}

static sp_err load_members(chat_channels *c, chan *ch)
{
    char **users = NULL;
    size_t n = 0;
    sp_err e = store_mls_state_users(c->db, ch->id, &users, &n);
    if (e)
        return e;
    for (size_t i = 0; i < n; i++) {
        uint64_t epoch;
        uint8_t *blob = NULL;
        size_t len = 0;
        if (store_mls_state_get(c->db, ch->id, users[i], &epoch, &blob, &len) != SP_OK)
            continue;
        mls_group *g = NULL;
        sp_err le = mls_group_load(blob, len, NULL, &g);
        OPENSSL_cleanse(blob, len);
        free(blob);
        if (le) {
            SP_ERROR("chat: channel %.16s: state of %s does not load: %s", ch->id, users[i], sp_strerror(le));
            continue;
        }
        if (!mls_group_active(g)) {
            mls_group_free(g);
            continue;
        }
        member *m = calloc(1, sizeof *m);
        if (!m) {
            mls_group_free(g);
            e = SP_ERR_NOMEM;
            break;
        }
        snprintf(m->user_id, sizeof m->user_id, "%s", users[i]);
        m->g = g;
        /* keep user-id order: the first member is the one that reads for the daemon */
        member **pp = &ch->members;
        while (*pp && strcmp((*pp)->user_id, m->user_id) < 0)
            pp = &(*pp)->next;
        m->next = *pp;
        *pp = m;
    }
    store_strv_free(users, n);
    return e;
}

sp_err chan_get(chat_channels *c, const char *channel_id, chan **out)
{
    for (chan *ch = c->chans; ch; ch = ch->next)
        if (strcmp(ch->id, channel_id) == 0) {
            *out = ch;
            return SP_OK;
        }
    store_channel sc;
    memset(&sc, 0, sizeof sc);
    sp_err e = store_channel_get(c->db, channel_id, &sc);
    if (e)
        return e;
    chan *ch = calloc(1, sizeof *ch);
    if (!ch) {
        store_channel_clear(&sc);
        return SP_ERR_NOMEM;
    }
    snprintf(ch->id, sizeof ch->id, "%s", channel_id);
    if (sc.home_peer_id)
        snprintf(ch->home, sizeof ch->home, "%s", sc.home_peer_id);
    store_channel_clear(&sc);
    e = load_members(c, ch);
    if (e) {
        members_free(ch->members);
        free(ch);
        return e;
    }
    ch->next = c->chans;
    c->chans = ch;
    *out = ch;
    return SP_OK;
}

member *chan_member(chan *ch, const char *user_id)
{
    for (member *m = ch->members; m; m = m->next)
        if (strcmp(m->user_id, user_id) == 0)
            return m;
    return NULL;
}

static void chan_add_member(chan *ch, const char *user_id, mls_group *g)
{
    member *m = chan_member(ch, user_id);
    if (m) {
        mls_group_free(m->g);
        m->g = g;
        return;
    }
    m = calloc(1, sizeof *m);
    if (!m) {
        mls_group_free(g);
        return;
    }
    snprintf(m->user_id, sizeof m->user_id, "%s", user_id);
    m->g = g;
    member **pp = &ch->members;
    while (*pp && strcmp((*pp)->user_id, user_id) < 0)
        pp = &(*pp)->next;
    m->next = *pp;
    *pp = m;
}

static void chan_drop_member(chan *ch, const char *user_id)
{
    for (member **pp = &ch->members; *pp; pp = &(*pp)->next)
        if (strcmp((*pp)->user_id, user_id) == 0) {
            member *m = *pp;
            *pp = m->next;
            mls_group_free(m->g);
            free(m);
            return;
        }
}

void chan_reload(chat_channels *c, chan *ch)
{
    members_free(ch->members);
    ch->members = NULL;
    if (load_members(c, ch) != SP_OK)
        SP_ERROR("chat: channel %.16s: cannot reload member states", ch->id);
}

sp_err member_save(chat_channels *c, chan *ch, const char *user_id, const mls_group *g)
{
    sp_buf b;
    sp_buf_init(&b);
    sp_err e = mls_group_save(g, &b);
    if (!e)
        e = store_mls_state_put(c->db, ch->id, user_id, mls_group_epoch(g), b.data, b.len);
    sp_buf_free_secret(&b);
    return e;
}

int chan_is_home(chat_channels *c, const chan *ch)
{
    if (!c->node)
        return 1; /* a daemon alone orders its own channels */
    return ch->home[0] && strcmp(ch->home, c->self) == 0;
}

static sp_err meta_get_u64(chat_channels *c, const char *key, uint64_t *v, int *found)
{
    uint8_t *p = NULL;
    size_t n = 0;
    *found = 0;
    *v = 0;
    sp_err e = store_meta_get(c->db, key, &p, &n);
    if (e == SP_ERR_NOT_FOUND)
        return SP_OK;
    if (e)
        return e;
    if (n == 8) {
        sp_reader r;
        sp_reader_init(&r, p, n);
        sp_read_u64(&r, v);
        *found = 1;
    }
    free(p);
    return SP_OK;
}

static sp_err meta_put_u64(chat_channels *c, const char *key, uint64_t v)
{
    uint8_t p[8];
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (56 - 8 * i));
    return store_meta_put(c->db, key, p, 8);
}

sp_err chan_mark_left(chat_channels *c, const char *channel_id, const char *user_id)
{
    int64_t last = 0;
    sp_err e = store_messages_last_seq(c->db, channel_id, &last);
    if (e)
        return e;
    char key[160];
    snprintf(key, sizeof key, "left:%s:%s", channel_id, user_id);
    return meta_put_u64(c, key, (uint64_t)last + 1);
}

int64_t chan_left_seq(chat_channels *c, const char *channel_id, const char *user_id)
{
    char key[160];
    uint64_t v;
    int found;
    snprintf(key, sizeof key, "left:%s:%s", channel_id, user_id);
    if (meta_get_u64(c, key, &v, &found) != SP_OK || !found)
        return 0;
    return (int64_t)v;
}

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

/* ---- channel creation (chat_spaces hook, inside its transaction) ---------------------------- */

static sp_err facts_ext(chat_channels *c, const store_channel *sc, sp_buf *out)
{
    store_space sp;
    memset(&sp, 0, sizeof sp);
    sp_err e = store_space_get(c->db, sc->space_id, NULL, &sp);
    if (e)
        return e;
    chat_facts f;
    memset(&f, 0, sizeof f);
    snprintf(f.home_peer, sizeof f.home_peer, "%s", sc->home_peer_id ? sc->home_peer_id : "");
    snprintf(f.space_id, sizeof f.space_id, "%s", sc->space_id);
    f.space_name.ptr = (const uint8_t *)sp.name;
    f.space_name.len = strlen(sp.name);
    f.channel_name.ptr = (const uint8_t *)sc->name;
    f.channel_name.len = strlen(sc->name);
    e = chat_facts_encode(&f, out);
    store_space_clear(&sp);
    return e;
}

static sp_err on_channel_created(void *ctx, const store_channel *sc, const char *creator_id)
{
    chat_channels *c = ctx;
    uint8_t gid[32], sig[MLS_SIG_PRIV_LEN];
    if (!creator_id || sp_hex_decode(sc->id, 64, gid, sizeof gid) != SP_OK)
        return SP_ERR_INVALID;
    sp_err e = user_sig_key(c, creator_id, sig);
    if (e)
        return e;
    sp_buf facts;
    sp_buf_init(&facts);
    e = facts_ext(c, sc, &facts);
    mls_extension ext = {.type = MLS_EXT_SPACEPANDA, .data = {facts.data, facts.len}};
    mls_extension_list exts = {.v = &ext, .n = 1};
    mls_group *g = NULL;
    if (!e)
        e = mls_group_create(gid, sizeof gid, (const uint8_t *)creator_id, strlen(creator_id), sig,
                             &exts, NULL, &g);
    OPENSSL_cleanse(sig, sizeof sig);
    sp_buf_free(&facts);
    if (e)
        return e;
    chan tmp;
    memset(&tmp, 0, sizeof tmp);
    snprintf(tmp.id, sizeof tmp.id, "%s", sc->id);
    e = member_save(c, &tmp, creator_id, g);
    char key[100];
    snprintf(key, sizeof key, "ord:%s", sc->id);
    if (!e)
        e = meta_put_u64(c, key, 0);
    mls_group_free(g);
    /* the cache entry is loaded from the store on first use, after the transaction commits */
    return e;
}

/* 1 if msg is an MLSMessage of the given wire format (public: a commit; private: an application
 * message) for channel_id's group at epoch: what can be checked before any key is at hand, so
 * that garbage is neither logged as a commit nor kept waiting for an epoch. */
static int mls_frame_ok(sp_slice msg, const char *channel_id, uint64_t epoch, uint16_t wire)
{
    uint8_t gid[32];
    mls_message_info mi;
    if (sp_hex_decode(channel_id, 64, gid, sizeof gid) != SP_OK || mls_message_peek(msg.ptr, msg.len, &mi) != SP_OK)
        return 0;
    return mi.wire_format == wire && mi.group_id.len == sizeof gid && memcmp(mi.group_id.ptr, gid, sizeof gid) == 0 &&
           mi.epoch == epoch &&
           mi.content_type == (wire == MLS_WIRE_PRIVATE_MESSAGE ? MLS_CONTENT_APPLICATION : MLS_CONTENT_COMMIT);
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
    if (!mls_frame_ok(m->commit, ch->id, m->epoch, MLS_WIRE_PUBLIC_MESSAGE))
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
static void orderer_decide(chat_channels *c, chan *ch, const chat_commit_msg *m, sp_slice raw)
{
    char key[100];
    uint64_t ord;
    int found;
    snprintf(key, sizeof key, "ord:%s", ch->id);
    if (meta_get_u64(c, key, &ord, &found) != SP_OK) {
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
    if (meta_put_u64(c, key, ord + 1) != SP_OK) {
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
    orderer_decide(c, ch, m, raw);
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
static sp_err sync_roster(chat_channels *c, chan *ch, const mls_group *g)
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
        e = sync_roster(c, ch, roster);
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
static void catch_up(chat_channels *c, chan *ch)
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

static int is_local_user(chat_channels *c, const char *user_id)
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
    if (!mls_frame_ok(m->commit, m->channel_id, m->epoch, MLS_WIRE_PUBLIC_MESSAGE)) {
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
        catch_up(c, ch);
    }
    if (m->auto_join && m->joiner[0] && is_local_user(c, m->joiner) &&
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
        sp_err e = do_join(c, m->joiner, &req, origin, id, why, sizeof why);
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
    catch_up(c, ch);
}

/* ---- operations (commits we make) ------------------------------------------------------------ */

static void op_free(chat_op *op)
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

static void op_finish(chat_op *op, sp_err e, const char *msg)
{
    if (pend_remove(op->c, op) != SP_OK)
        SP_ERROR("chat: channel %.16s: cannot forget a finished commit", op->ch->id);
    op_unlink(op);
    op_reply(op, e, msg);
    op_free(op);
}

/* The proposal in flight has lost its epoch: drop its staged state and rebuild it once our member
 * has moved on (catch_up), unless it should not be tried again. An invite whose client is gone is
 * not: its Welcome would reach nobody. */
static void op_lost(chat_op *op)
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
static void op_submit(chat_op *op)
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
        orderer_decide(c, op->ch, &cm, sp_buf_slice(&raw)); /* may finish op */
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
        say(msg, msglen, "channel_id must be 64 lowercase hex characters");
        return SP_ERR_INVALID;
    }
    chan *ch;
    sp_err e = chan_get(c, channel_id, &ch);
    if (e) {
        say(msg, msglen, e == SP_ERR_NOT_FOUND ? "no such channel" : "cannot load the channel");
        return e;
    }
    *ch_out = ch;
    *out = chan_member(ch, user_id);
    if (!*out) {
        say(msg, msglen, "not a member of this channel");
        return SP_ERR_PERMISSION;
    }
    return SP_OK;
}

/* SP_ERR_EXISTS (with a message) when target is already in mb's group. */
static sp_err check_not_member(const member *mb, const char *target, char *msg, size_t msglen)
{
    uint32_t leaf;
    if (target && target[0] && mls_group_find_member(mb->g, (const uint8_t *)target, strlen(target), &leaf) == SP_OK) {
        say(msg, msglen, "that user is already a member of this channel");
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
        op_free(op);
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
static void ops_resume(chat_channels *c)
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
        say(msg, msglen, "key_package is not an MLS KeyPackage with a user id credential");
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
        say(msg, msglen, "user_id must be a UUID");
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
    if (is_local_user(c, target)) {
        e = keypackage_make(c, target, &kp);
    } else {
        e = keydir_take(c, target, &kp);
        if (e == SP_ERR_NOT_FOUND) {
            say(msg, msglen, "no key package is known for that user (their daemon has not published one)");
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
        say(msg, msglen, "user_id must be a UUID");
        return SP_ERR_INVALID;
    }
    if (strcmp(user_id, target) == 0) {
        say(msg, msglen, "a member cannot remove themselves with a commit of their own");
        return SP_ERR_STATE;
    }
    return op_start(c, OP_REMOVE, user_id, channel_id, target, NULL, cb, arg, op, msg, msglen);
}

void chat_op_cancel(chat_op *op)
{
    if (op)
        op->cb = NULL;
}

/* ---- joining ------------------------------------------------------------------------------------ */

/* The Welcome as a struct and as MLSMessage bytes (a bare Welcome is wrapped). */
static sp_err parse_welcome(const uint8_t *p, size_t n, mls_message *msg, const mls_welcome **w,
                            sp_buf *bytes)
{
    memset(msg, 0, sizeof *msg);
    if (mls_message_decode(p, n, msg) == SP_OK) {
        if (msg->wire_format != MLS_WIRE_WELCOME) {
            mls_message_free(msg);
            return SP_ERR_INVALID;
        }
        *w = &msg->welcome;
        return sp_buf_append(bytes, p, n);
    }
    memset(msg, 0, sizeof *msg);
    if (mls_welcome_decode(p, n, &msg->welcome) != SP_OK)
        return SP_ERR_INVALID;
    msg->version = MLS_VERSION_10;
    msg->wire_format = MLS_WIRE_WELCOME;
    *w = &msg->welcome;
    sp_err e = sp_buf_put_u16(bytes, MLS_VERSION_10);
    if (!e)
        e = sp_buf_put_u16(bytes, MLS_WIRE_WELCOME);
    if (!e)
        e = sp_buf_append(bytes, p, n);
    return e;
}

static int group_facts(const mls_group *g, chat_facts *f)
{
    const mls_extension_list *l = mls_group_extensions(g);
    for (size_t i = 0; l && i < l->n; i++)
        if (l->v[i].type == MLS_EXT_SPACEPANDA)
            return chat_facts_decode(l->v[i].data.data, l->v[i].data.len, f) == SP_OK;
    return 0;
}

static sp_err do_join(chat_channels *c, const char *user_id, const chat_join_req *req,
                      const char *home_hint, char *channel_id, char *msg, size_t msglen)
{
    if (req->space_id && req->space_id[0] && !chat_id_valid(req->space_id)) {
        say(msg, msglen, "space_id must be 64 lowercase hex characters");
        return SP_ERR_INVALID;
    }
    if (req->channel_id && req->channel_id[0] && !chat_id_valid(req->channel_id)) {
        say(msg, msglen, "channel_id must be 64 lowercase hex characters");
        return SP_ERR_INVALID;
    }
    if (req->channel_name && req->channel_name[0] && !chat_name_valid(req->channel_name)) {
        say(msg, msglen, "channel_name is not an acceptable name");
        return SP_ERR_INVALID;
    }
    mls_message wm;
    const mls_welcome *w = NULL;
    sp_buf wbytes;
    sp_buf_init(&wbytes);
    if (!req->welcome_len || parse_welcome(req->welcome, req->welcome_len, &wm, &w, &wbytes) != SP_OK) {
        sp_buf_free(&wbytes);
        say(msg, msglen, "invite_token is not an MLS Welcome");
        return SP_ERR_INVALID;
    }
    uint8_t ref[MLS_HASH_LEN], *priv = NULL;
    size_t priv_len = 0;
    char owner[37];
    sp_err e = keypackage_for_welcome(c, w, ref, owner, &priv, &priv_len);
    mls_message_free(&wm);
    if (e || strcmp(owner, user_id) != 0) {
        if (!e) {
            OPENSSL_cleanse(priv, priv_len);
            free(priv);
        }
        sp_buf_free(&wbytes);
        say(msg, msglen, "the invite is not for an unused key package of this user "
                         "(already used, or made for someone else)");
        return e && e != SP_ERR_NOT_FOUND ? e : SP_ERR_STATE;
    }
    mls_group *g = NULL;
    e = mls_group_join(wbytes.data, wbytes.len, req->ratchet_tree, req->ratchet_tree ? req->tree_len : 0,
                       priv, priv_len, NULL, 0, NULL, &g);
    OPENSSL_cleanse(priv, priv_len);
    free(priv);
    sp_buf_free(&wbytes);
    if (e) {
        say(msg, msglen, e == SP_ERR_NOT_FOUND ? "the invite is not for this user's key package"
                                               : "the invite does not verify (Welcome or ratchet tree)");
        return e == SP_ERR_NOT_FOUND ? SP_ERR_STATE : SP_ERR_INVALID;
    }
    sp_slice gid = mls_group_id(g);
    if (gid.len != 32) {
        mls_group_free(g);
        say(msg, msglen, "the group id is not a 32-byte channel id");
        return SP_ERR_INVALID;
    }
    char id[65];
    sp_hex_encode(gid.ptr, 32, id);
    if (req->channel_id && req->channel_id[0] && strcmp(req->channel_id, id) != 0) {
        mls_group_free(g);
        say(msg, msglen, "channel_id does not match the invite's group");
        return SP_ERR_INVALID;
    }
    chat_facts f;
    int have_facts = group_facts(g, &f);
    char space_id[65], space_name[CHAT_NAME_MAX + 1], chan_name[CHAT_NAME_MAX + 1], home[65];
    snprintf(space_id, sizeof space_id, "%s",
             req->space_id && req->space_id[0] ? req->space_id : have_facts ? f.space_id : id);
    if (have_facts && f.space_name.len && f.space_name.len <= CHAT_NAME_MAX)
        snprintf(space_name, sizeof space_name, "%.*s", (int)f.space_name.len, (const char *)f.space_name.ptr);
    else
        snprintf(space_name, sizeof space_name, "space %.8s", space_id);
    if (req->channel_name && req->channel_name[0])
        snprintf(chan_name, sizeof chan_name, "%s", req->channel_name);
    else if (have_facts && f.channel_name.len && f.channel_name.len <= CHAT_NAME_MAX)
        snprintf(chan_name, sizeof chan_name, "%.*s", (int)f.channel_name.len, (const char *)f.channel_name.ptr);
    else
        snprintf(chan_name, sizeof chan_name, "channel %.8s", id);
    snprintf(home, sizeof home, "%s", have_facts && f.home_peer[0] ? f.home_peer : home_hint ? home_hint : "");
    if (!chat_name_valid(space_name))
        snprintf(space_name, sizeof space_name, "space %.8s", space_id);
    if (!chat_name_valid(chan_name))
        snprintf(chan_name, sizeof chan_name, "channel %.8s", id);

    batch_flush(c);
    chan *ch = NULL;
    if (chan_get(c, id, &ch) == SP_OK && chan_member(ch, user_id)) {
        mls_group_free(g);
        say(msg, msglen, "already a member of this channel");
        return SP_ERR_STATE;
    }

    e = store_tx_begin(c->db);
    if (!e) {
        store_space sp;
        memset(&sp, 0, sizeof sp);
        snprintf(sp.id, sizeof sp.id, "%s", space_id);
        sp.name = space_name;
        sp.description = "";
        sp.icon_url = "";
        sp.visibility = CHAT_VISIBILITY_PRIVATE;
        sp.owner_id = (char *)user_id;
        sp.created_at = store_now_ms();
        e = store_space_ensure(c->db, &sp);
    }
    if (!e)
        e = store_space_add_member(c->db, space_id, user_id);
    if (!e) {
        store_channel sc;
        memset(&sc, 0, sizeof sc);
        snprintf(sc.id, sizeof sc.id, "%s", id);
        snprintf(sc.space_id, sizeof sc.space_id, "%s", space_id);
        sc.name = chan_name;
        sc.description = "";
        sc.visibility = CHAT_VISIBILITY_PRIVATE;
        sc.home_peer_id = home[0] ? home : NULL;
        sc.created_at = store_now_ms();
        e = store_channel_ensure(c->db, &sc);
    }
    if (!e && home[0])
        e = store_channel_set_home(c->db, id, home);
    chan tmp;
    memset(&tmp, 0, sizeof tmp);
    snprintf(tmp.id, sizeof tmp.id, "%s", id);
    if (!e)
        e = member_save(c, &tmp, user_id, g);
    if (!e)
        e = sync_roster(c, &tmp, g);
    if (!e && home_hint)
        e = keydir_join_used(c, user_id, ref); /* auto-join: a published key package, kept a while */
    else if (!e)
        e = store_keypkg_delete(c->db, ref, sizeof ref);
    if (!e) {
        char key[160];
        snprintf(key, sizeof key, "left:%s:%s", id, user_id);
        e = meta_put_u64(c, key, 0);
    }
    e = store_tx_end(c->db, e);
    if (e) {
        mls_group_free(g);
        say(msg, msglen, "cannot store the channel");
        return e;
    }
    if (!ch && chan_get(c, id, &ch) != SP_OK) {
        mls_group_free(g);
        return SP_ERR_INTERNAL;
    }
    chan_add_member(ch, user_id, g);
    if (!ch->home[0] && home[0])
        snprintf(ch->home, sizeof ch->home, "%s", home);
    snprintf(channel_id, 65, "%s", id);
    catch_up(c, ch);
    return SP_OK;
}

sp_err chat_join(chat_channels *c, const char *user_id, const chat_join_req *req, char *channel_id,
                 char *msg, size_t msglen)
{
    return do_join(c, user_id, req, NULL, channel_id, msg, msglen);
}

/* ---- life cycle and network dispatch --------------------------------------------------------------- */

static void on_kp_timer(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    keydir_tick(arg);
}

sp_err chat_channels_new(struct event_base *base, store_db *db, chat_spaces *spaces,
                         const chat_channels_config *cfg, chat_channels **out)
{
    chat_channels *c = calloc(1, sizeof *c);
    if (!c)
        return SP_ERR_NOMEM;
    c->base = base;
    c->db = db;
    c->spaces = spaces;
    if (cfg)
        c->cfg = *cfg;
    if (!c->cfg.commit_timeout_ms)
        c->cfg.commit_timeout_ms = 15000;
    if (!c->cfg.kp_publish_ms)
        c->cfg.kp_publish_ms = 1000;
    if (!c->cfg.recv_commit_ms)
        c->cfg.recv_commit_ms = 5;
    if (!c->cfg.kp_grace_ms)
        c->cfg.kp_grace_ms = 60000;
    c->kp_timer = event_new(base, -1, EV_PERSIST, on_kp_timer, c);
    if (!c->kp_timer) {
        free(c);
        return SP_ERR_NOMEM;
    }
    chat_spaces_set_channel_hook(spaces, on_channel_created, c);
    *out = c;
    return SP_OK;
}

void chat_channels_free(chat_channels *c)
{
    if (!c)
        return;
    chat_spaces_set_channel_hook(c->spaces, NULL, NULL);
    batch_discard(c); /* not acknowledged to anyone yet */
    while (c->chans) {
        chan *ch = c->chans;
        c->chans = ch->next;
        while (ch->ops) {
            chat_op *op = ch->ops;
            ch->ops = op->next;
            op_free(op);
        }
        while (ch->subs) {
            chat_sub *s = ch->subs;
            ch->subs = s->next;
            free(s);
        }
        members_free(ch->members);
        free(ch);
    }
    event_free(c->kp_timer);
    free(c);
}

void chat_channels_set_net(chat_channels *c, net_node *node)
{
    c->node = node;
    snprintf(c->self, sizeof c->self, "%s", node ? net_node_peer_id(node) : "");
    if (node) {
        ops_resume(c);
        waitq_resume(c);
        struct timeval tv = {c->cfg.kp_publish_ms / 1000, (c->cfg.kp_publish_ms % 1000) * 1000};
        event_add(c->kp_timer, &tv);
        event_active(c->kp_timer, EV_TIMEOUT, 0);
    }
}

/* 1 if m is for an epoch none of our members has reached: it would be kept until its commit. */
/* A channel this daemon does not know (yet): the message may be for a user here whose Welcome is
 * on its way by another path. (A known channel with no member left here is one whose members
 * were removed or left: nothing of it is kept.) */
static int app_orphan(chat_channels *c, const chat_app_msg *m)
{
    chan *ch;
    return chan_get(c, m->channel_id, &ch) == SP_ERR_NOT_FOUND;
}

static int app_would_wait(chat_channels *c, const chat_app_msg *m)
{
    chan *ch;
    if (chan_get(c, m->channel_id, &ch) != SP_OK || !ch->members)
        return 0;
    for (member *mb = ch->members; mb; mb = mb->next)
        if (mls_group_epoch(mb->g) >= m->epoch)
            return 0;
    return 1;
}

void chat_channels_on_net(void *arg, const net_msg *nm)
{
    chat_channels *c = arg;
    sp_err e = SP_OK;
    switch (nm->ptype) {
    case CHAT_PT_KEY_PACKAGE: {
        chat_kp_msg m;
        if (!(e = chat_kp_decode(nm->payload.ptr, nm->payload.len, &m)))
            keydir_on_kp(c, nm->origin, &m);
        break;
    }
    case CHAT_PT_COMMIT_PROPOSE: {
        chat_commit_msg m;
        if (!(e = chat_commit_decode(nm->payload.ptr, nm->payload.len, &m)))
            chan_on_propose(c, nm->origin, &m, nm->payload);
        break;
    }
    case CHAT_PT_COMMIT_ACCEPTED: {
        chat_commit_msg m;
        if (!(e = chat_commit_decode(nm->payload.ptr, nm->payload.len, &m)))
            chan_on_accepted(c, nm->origin, &m, nm->payload);
        break;
    }
    case CHAT_PT_COMMIT_REJECTED: {
        chat_reject_msg m;
        if (!(e = chat_reject_decode(nm->payload.ptr, nm->payload.len, &m)))
            chan_on_reject(c, nm->origin, &m);
        break;
    }
    case CHAT_PT_APP: {
        chat_app_msg m;
        if (!(e = chat_app_decode(nm->payload.ptr, nm->payload.len, &m))) {
            int orphan = app_orphan(c, &m);
            if ((orphan || app_would_wait(c, &m)) &&
                !mls_frame_ok(m.message, m.channel_id, m.epoch, MLS_WIRE_PRIVATE_MESSAGE))
                e = SP_ERR_INVALID;
            else if (orphan)
                waitq_keep_orphan(c, nm, &m);
            else
                delivery_on_app(c, nm, &m, 0);
        }
        break;
    }
    case CHAT_PT_KP_USED: {
        chat_kp_used_msg m;
        if (!(e = chat_kp_used_decode(nm->payload.ptr, nm->payload.len, &m)))
            keydir_on_used(c, nm->origin, &m);
        break;
    }
    case CHAT_PT_EPOCH_AUTH: {
        chat_epoch_msg m;
        if (!(e = chat_epoch_decode(nm->payload.ptr, nm->payload.len, &m)))
            chan_on_epoch_auth(c, nm->origin, &m);
        break;
    }
    default:
        return; /* another layer's payload */
    }
    if (e)
        SP_WARN("chat: malformed payload type 0x%04x from %.16s: %s", nm->ptype, nm->origin, sp_strerror(e));
}
