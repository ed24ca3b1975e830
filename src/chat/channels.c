/* channels.c — the channel engine's core: the channel cache, helpers the engine's files share,
 * creating a channel's group, the engine's life cycle and the dispatch of network payloads. Commits
 * arriving are in commits.c, the commits we make in ops.c, joining in join.c, messages in
 * delivery.c (see channels.h, docs/chat.md). */
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

void chan_say(char *msg, size_t msglen, const char *text)
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

#define STOP_CLEAN_KEY "stop:clean"

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
        /* after an unclean stop, generations a lost commit may have sent with are never reused;
         * the skip is on stable storage before this member sends again */
        if (((c->unclean_start && !ch->skipped) || ch->must_skip) && mls_group_skip_sends(g, CHAT_SEND_SKIP) == SP_OK &&
            member_save(c, ch, users[i], g) != SP_OK)
            SP_ERROR("chat: channel %.16s: cannot store %s's skipped ratchet", ch->id, users[i]);
        /* keep user-id order: the first member is the one that reads for the daemon */
        member **pp = &ch->members;
        while (*pp && strcmp((*pp)->user_id, m->user_id) < 0)
            pp = &(*pp)->next;
        m->next = *pp;
        *pp = m;
    }
    store_strv_free(users, n);
    ch->skipped = 1; /* once per run: a reload after a failed commit skips no further */
    ch->must_skip = 0;
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

void chan_add_member(chan *ch, const char *user_id, mls_group *g)
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

void chan_drop_member(chan *ch, const char *user_id)
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

sp_err chan_meta_get_u64(chat_channels *c, const char *key, uint64_t *v, int *found)
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

sp_err chan_meta_put_u64(chat_channels *c, const char *key, uint64_t v)
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
    return chan_meta_put_u64(c, key, (uint64_t)last + 1);
}

int64_t chan_left_seq(chat_channels *c, const char *channel_id, const char *user_id)
{
    char key[160];
    uint64_t v;
    int found;
    snprintf(key, sizeof key, "left:%s:%s", channel_id, user_id);
    if (chan_meta_get_u64(c, key, &v, &found) != SP_OK || !found)
        return 0;
    return (int64_t)v;
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
        e = chan_meta_put_u64(c, key, 0);
    mls_group_free(g);
    /* the cache entry is loaded from the store on first use, after the transaction commits */
    return e;
}

/* 1 if msg is an MLSMessage of the given wire format (public: a commit; private: an application
 * message) for channel_id's group at epoch: what can be checked before any key is at hand, so
 * that garbage is neither logged as a commit nor kept waiting for an epoch. */
int chan_frame_ok(sp_slice msg, const char *channel_id, uint64_t epoch, uint16_t wire)
{
    uint8_t gid[32];
    mls_message_info mi;
    if (sp_hex_decode(channel_id, 64, gid, sizeof gid) != SP_OK || mls_message_peek(msg.ptr, msg.len, &mi) != SP_OK)
        return 0;
    return mi.wire_format == wire && mi.group_id.len == sizeof gid && memcmp(mi.group_id.ptr, gid, sizeof gid) == 0 &&
           mi.epoch == epoch &&
           mi.content_type == (wire == MLS_WIRE_PRIVATE_MESSAGE ? MLS_CONTENT_APPLICATION : MLS_CONTENT_COMMIT);
}

/* ---- life cycle and network dispatch --------------------------------------------------------------- */

static void on_kp_timer(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    keydir_tick(arg);
    waitq_sweep(arg);
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
    if (!c->cfg.send_commit_ms)
        c->cfg.send_commit_ms = 10;
    if (!c->cfg.store_retry_ms)
        c->cfg.store_retry_ms = 10000;
    if (!c->cfg.wait_max)
        c->cfg.wait_max = 10000;
    if (!c->cfg.kp_grace_ms)
        c->cfg.kp_grace_ms = 60000;
    c->kp_timer = event_new(base, -1, EV_PERSIST, on_kp_timer, c);
    if (!c->kp_timer) {
        free(c);
        return SP_ERR_NOMEM;
    }
    chat_spaces_set_channel_hook(spaces, on_channel_created, c);
    /* Was the last stop clean (everything sent was on stable storage)? From now on it is not,
     * until chat_channels_free says so again. A store that never recorded either was never run by
     * a daemon that sends before its commit (each records "running" first, below, or does not
     * send early): nothing of it can be out there unknown, so a new store skips nothing. */
    uint64_t clean = 0;
    int found = 0;
    chan_meta_get_u64(c, STOP_CLEAN_KEY, &clean, &found);
    c->unclean_start = found && clean != 1;
    if (chan_meta_put_u64(c, STOP_CLEAN_KEY, 0) != SP_OK) {
        SP_WARN("chat: cannot record that the daemon is running: every send waits for its commit "
                "(with an fsync) before it leaves");
        c->no_early = 1;
    }
    if (c->unclean_start && found)
        SP_INFO("chat: the last stop was not clean: each local member's sending ratchet and our frame "
                "numbers skip %d ahead", CHAT_SEND_SKIP);
    *out = c;
    return SP_OK;
}

void chat_channels_free(chat_channels *c)
{
    if (!c)
        return;
    chat_spaces_set_channel_hook(c->spaces, NULL, NULL);
    batch_discard(c); /* not acknowledged to anyone yet; their frames never left */
    /* everything sent so far is on stable storage: the next start needs no skip */
    if (!c->sync_failed && chan_meta_put_u64(c, STOP_CLEAN_KEY, 1) != SP_OK)
        SP_WARN("chat: cannot record a clean stop; the next start skips ahead");
    while (c->chans) {
        chan *ch = c->chans;
        c->chans = ch->next;
        while (ch->ops) {
            chat_op *op = ch->ops;
            ch->ops = op->next;
            chat_op_free(op);
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
                !chan_frame_ok(m.message, m.channel_id, m.epoch, MLS_WIRE_PRIVATE_MESSAGE))
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
