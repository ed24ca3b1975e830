/* net_store.c — net_persist decorator that flushes the channel engine's group commit first (see
 * net_store.h). */
#include "chat/net_store.h"

#include <stdlib.h>
#include "chat/channels_int.h"

typedef struct {
    net_persist *inner;
    chat_channels *c;
} wrap;

#define IN(ctx) (((wrap *)(ctx))->inner)

static sp_err w_peer_save(void *ctx, const char *addr, const char *peer_id, int pinned)
{
    return IN(ctx)->peer_save(IN(ctx)->ctx, addr, peer_id, pinned);
}

static sp_err w_peer_list(void *ctx, net_peer_cb cb, void *arg)
{
    return IN(ctx)->peer_list(IN(ctx)->ctx, cb, arg);
}

static sp_err w_frame_append(void *ctx, const uint8_t origin[NET_PUBKEY_LEN], uint64_t seq, const uint8_t *body,
                             size_t len)
{
    return IN(ctx)->frame_append(IN(ctx)->ctx, origin, seq, body, len);
}

static sp_err w_frame_seen(void *ctx, const uint8_t origin[NET_PUBKEY_LEN], uint64_t seq, int *seen)
{
    return IN(ctx)->frame_seen(IN(ctx)->ctx, origin, seq, seen);
}

static sp_err w_frames_after(void *ctx, const uint8_t origin[NET_PUBKEY_LEN], uint64_t after, size_t max,
                             net_frame_cb cb, void *arg)
{
    return IN(ctx)->frames_after(IN(ctx)->ctx, origin, after, max, cb, arg);
}

static sp_err w_origins(void *ctx, net_origin_cb cb, void *arg)
{
    return IN(ctx)->origins(IN(ctx)->ctx, cb, arg);
}

static sp_err w_origin_state(void *ctx, const uint8_t origin[NET_PUBKEY_LEN], uint64_t *contig, uint64_t *max)
{
    return IN(ctx)->origin_state(IN(ctx)->ctx, origin, contig, max);
}

static sp_err w_flush(void *ctx)
{
    wrap *w = ctx;
    batch_flush(w->c); /* what the frames carried, durable before the frames are */
    return w->inner->flush(w->inner->ctx);
}

static void w_destroy(void *ctx)
{
    wrap *w = ctx;
    net_persist_free(w->inner);
    free(w);
}

sp_err chat_net_persist_wrap(net_persist *inner, chat_channels *c, net_persist **out)
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
    p->ctx = w;
    p->peer_save = w_peer_save;
    p->peer_list = w_peer_list;
    p->frame_append = w_frame_append;
    p->frame_seen = w_frame_seen;
    p->frames_after = w_frames_after;
    p->origins = w_origins;
    p->origin_state = w_origin_state;
    p->flush = w_flush;
    p->destroy = w_destroy;
    *out = p;
    return SP_OK;
}
