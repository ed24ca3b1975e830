/* net_store.c — net_persist decorator: the engine's group commit before net's log commit, and this
 * node's own frames in the store (see net_store.h). */
#include "chat/net_store.h"

#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "chat/channels_int.h"
#include "net/frame.h"
#include "store/own_frames.h"

typedef struct {
    net_persist *inner;
    chat_channels *c;
    uint8_t self[NET_PUBKEY_LEN];
} wrap;

#define IN(w) ((w)->inner)
#define OWN(w, origin) (!memcmp((origin), (w)->self, NET_PUBKEY_LEN))

static sp_err w_peer_save(void *ctx, const char *addr, const char *peer_id, int pinned)
{
    wrap *w = ctx;
    return IN(w)->peer_save(IN(w)->ctx, addr, peer_id, pinned);
}

static sp_err w_peer_list(void *ctx, net_peer_cb cb, void *arg)
{
    wrap *w = ctx;
    return IN(w)->peer_list(IN(w)->ctx, cb, arg);
}

static sp_err w_frame_append(void *ctx, const uint8_t origin[NET_PUBKEY_LEN], uint64_t seq, const uint8_t *body,
                             size_t len)
{
    wrap *w = ctx;
    if (OWN(w, origin))
        return store_own_frame_put(w->c->db, seq, body, len);
    return IN(w)->frame_append(IN(w)->ctx, origin, seq, body, len);
}

static sp_err w_frame_seen(void *ctx, const uint8_t origin[NET_PUBKEY_LEN], uint64_t seq, int *seen)
{
    wrap *w = ctx;
    if (OWN(w, origin))
        return store_own_frame_held(w->c->db, seq, seen);
    return IN(w)->frame_seen(IN(w)->ctx, origin, seq, seen);
}

static sp_err w_frames_after(void *ctx, const uint8_t origin[NET_PUBKEY_LEN], uint64_t after, size_t max,
                             net_frame_cb cb, void *arg)
{
    wrap *w = ctx;
    if (OWN(w, origin))
        return store_own_frames_after(w->c->db, after, max, cb, arg);
    return IN(w)->frames_after(IN(w)->ctx, origin, after, max, cb, arg);
}

typedef struct {
    wrap *w;
    net_origin_cb cb;
    void *arg;
} others_ctx;

static void other_origin(void *arg, const uint8_t origin[NET_PUBKEY_LEN], uint64_t contig, uint64_t max)
{
    others_ctx *o = arg;
    if (!OWN(o->w, origin))
        o->cb(o->arg, origin, contig, max);
}

static sp_err w_origins(void *ctx, net_origin_cb cb, void *arg)
{
    wrap *w = ctx;
    others_ctx o = {w, cb, arg};
    sp_err e = IN(w)->origins(IN(w)->ctx, other_origin, &o);
    uint64_t max = 0;
    if (!e)
        e = store_own_frames_max(w->c->db, &max);
    if (!e && max)
        cb(arg, w->self, max, max); /* own sequences are contiguous from 1 */
    return e;
}

static sp_err w_origin_state(void *ctx, const uint8_t origin[NET_PUBKEY_LEN], uint64_t *contig, uint64_t *max)
{
    wrap *w = ctx;
    if (!OWN(w, origin))
        return IN(w)->origin_state(IN(w)->ctx, origin, contig, max);
    sp_err e = store_own_frames_max(w->c->db, max);
    *contig = e ? 0 : *max;
    return e;
}

static sp_err w_flush(void *ctx)
{
    wrap *w = ctx;
    /* what the frames carried, durable before the frames are: if it is not (the group commit
     * failed and waits to be tried again), net's log stays uncommitted until the next flush */
    sp_err e = batch_flush(w->c);
    if (e)
        return e;
    return IN(w)->flush(IN(w)->ctx);
}

/* Net calls this before it relays frames it originated: they are in the store, in the engine's
 * open group-commit transaction if there is one (commit it now), else already committed. */
static sp_err w_sync(void *ctx)
{
    wrap *w = ctx;
    return batch_commit_now(w->c);
}

static void w_destroy(void *ctx)
{
    wrap *w = ctx;
    net_persist_free(w->inner);
    free(w);
}

static int copy_own(void *arg, uint64_t seq, const uint8_t *body, size_t len)
{
    store_db *db = arg;
    sp_err e = store_own_frame_put(db, seq, body, len);
    return e != SP_OK && e != SP_ERR_EXISTS;
}

/* An older version logged own frames in net.db: bring any the store lacks over, so numbering
 * continues after them. */
static sp_err adopt_own_frames(wrap *w)
{
    uint64_t contig = 0, theirs = 0, ours = 0;
    sp_err e = IN(w)->origin_state(IN(w)->ctx, w->self, &contig, &theirs);
    if (!e)
        e = store_own_frames_max(w->c->db, &ours);
    if (e || theirs <= ours)
        return e;
    if ((e = store_tx_begin(w->c->db)))
        return e;
    e = IN(w)->frames_after(IN(w)->ctx, w->self, ours, theirs - ours, copy_own, w->c->db);
    e = store_tx_end(w->c->db, e);
    if (!e)
        SP_INFO("chat: moved own frames %llu..%llu from net.db into the store", (unsigned long long)ours + 1,
                (unsigned long long)theirs);
    return e;
}

/* After an unclean stop, the last group commit's frames may have left while the commit itself
 * was lost: their sequence numbers are skipped, each filled with a void frame so that peers that
 * never got a real one there still see our numbers contiguous (those that did keep theirs). */
static sp_err skip_own_frames(wrap *w)
{
    uint64_t max = 0;
    sp_err e = store_own_frames_max(w->c->db, &max);
    if (e || (e = store_tx_begin(w->c->db)))
        return e;
    sp_buf b;
    sp_buf_init(&b);
    for (uint64_t seq = max + 1; !e && seq <= max + CHAT_SEND_SKIP; seq++) {
        net_gossip g;
        memset(&g, 0, sizeof g);
        memcpy(g.origin, w->self, NET_PUBKEY_LEN);
        g.seq = seq;
        g.ptype = CHAT_PT_VOID;
        sp_buf_reset(&b);
        if (!(e = net_gossip_encode(&b, &g)))
            e = store_own_frame_put(w->c->db, seq, b.data, b.len);
    }
    sp_buf_free(&b);
    e = store_tx_end(w->c->db, e);
    if (!e)
        SP_INFO("chat: own frames %llu..%llu skipped (void)", (unsigned long long)max + 1,
                (unsigned long long)max + CHAT_SEND_SKIP);
    return e;
}

sp_err chat_net_persist_wrap(net_persist *inner, chat_channels *c, const uint8_t self[NET_PUBKEY_LEN],
                             net_persist **out)
{
    wrap *w = calloc(1, sizeof *w);
    net_persist *p = calloc(1, sizeof *p);
    if (!w || !p) {
        free(w);
        free(p);
        return SP_ERR_NOMEM;
    }
    w->inner = inner;
    w->c = c;
    memcpy(w->self, self, NET_PUBKEY_LEN);
    sp_err e = adopt_own_frames(w);
    if (!e && c->unclean_start)
        e = skip_own_frames(w);
    if (e) {
        free(w);
        free(p);
        return e;
    }
    p->ctx = w;
    p->peer_save = w_peer_save;
    p->peer_list = w_peer_list;
    p->frame_append = w_frame_append;
    p->frame_seen = w_frame_seen;
    p->frames_after = w_frames_after;
    p->origins = w_origins;
    p->origin_state = w_origin_state;
    p->flush = w_flush;
    p->sync = w_sync;
    p->destroy = w_destroy;
    *out = p;
    return SP_OK;
}
