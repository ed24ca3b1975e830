/* persist_mem.c — the in-memory net_persist: arrays sorted by sequence, one per origin. */
#include "net/persist.h"

#include <stdlib.h>
#include <string.h>

typedef struct {
    uint64_t seq;
    uint8_t *body;
    size_t len;
} mem_frame;

typedef struct {
    uint8_t origin[NET_PUBKEY_LEN];
    uint64_t contig, max;
    mem_frame *frames; /* ascending seq */
    size_t n, cap;
} mem_origin;

typedef struct {
    char addr[200];
    char peer_id[NET_PEER_ID_LEN + 1];
    int pinned;
} mem_peer;

typedef struct {
    mem_origin *origins;
    size_t norigins;
    mem_peer *peers;
    size_t npeers;
} mem_ctx;

static mem_origin *find_origin(mem_ctx *m, const uint8_t *o)
{
    for (size_t i = 0; i < m->norigins; i++)
        if (!memcmp(m->origins[i].origin, o, NET_PUBKEY_LEN))
            return &m->origins[i];
    return NULL;
}

/* Index of the first frame with seq >= seq. */
static size_t lower_bound(const mem_origin *o, uint64_t seq)
{
    size_t lo = 0, hi = o->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (o->frames[mid].seq < seq)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static sp_err mem_peer_save(void *ctx, const char *addr, const char *peer_id, int pinned)
{
    mem_ctx *m = ctx;
    if (strlen(addr) >= sizeof m->peers[0].addr || strlen(peer_id) > NET_PEER_ID_LEN)
        return SP_ERR_INVALID;
    mem_peer *p = NULL;
    for (size_t i = 0; i < m->npeers; i++)
        if (!strcmp(m->peers[i].addr, addr))
            p = &m->peers[i];
    if (!p) {
        mem_peer *np = realloc(m->peers, (m->npeers + 1) * sizeof *np);
        if (!np)
            return SP_ERR_NOMEM;
        m->peers = np;
        p = &np[m->npeers++];
        memset(p, 0, sizeof *p);
        strcpy(p->addr, addr);
    }
    strcpy(p->peer_id, peer_id);
    p->pinned = pinned;
    return SP_OK;
}

static sp_err mem_peer_list(void *ctx, net_peer_cb cb, void *arg)
{
    mem_ctx *m = ctx;
    for (size_t i = 0; i < m->npeers; i++)
        cb(arg, m->peers[i].addr, m->peers[i].peer_id, m->peers[i].pinned);
    return SP_OK;
}

static sp_err mem_append(void *ctx, const uint8_t origin[NET_PUBKEY_LEN], uint64_t seq, const uint8_t *body,
                         size_t len)
{
    mem_ctx *m = ctx;
    mem_origin *o = find_origin(m, origin);
    if (!o) {
        mem_origin *no = realloc(m->origins, (m->norigins + 1) * sizeof *no);
        if (!no)
            return SP_ERR_NOMEM;
        m->origins = no;
        o = &no[m->norigins++];
        memset(o, 0, sizeof *o);
        memcpy(o->origin, origin, NET_PUBKEY_LEN);
    }
    size_t at = lower_bound(o, seq);
    if (at < o->n && o->frames[at].seq == seq)
        return SP_ERR_EXISTS;
    if (o->n == o->cap) {
        size_t cap = o->cap ? o->cap * 2 : 16;
        mem_frame *nf = realloc(o->frames, cap * sizeof *nf);
        if (!nf)
            return SP_ERR_NOMEM;
        o->frames = nf;
        o->cap = cap;
    }
    uint8_t *copy = malloc(len ? len : 1);
    if (!copy)
        return SP_ERR_NOMEM;
    memcpy(copy, body, len);
    memmove(&o->frames[at + 1], &o->frames[at], (o->n - at) * sizeof *o->frames);
    o->frames[at] = (mem_frame){seq, copy, len};
    o->n++;
    if (seq > o->max)
        o->max = seq;
    /* frames[i].seq == i + 1 exactly for the contiguous prefix */
    while (o->contig < o->n && o->frames[o->contig].seq == o->contig + 1)
        o->contig++;
    return SP_OK;
}

static sp_err mem_seen(void *ctx, const uint8_t origin[NET_PUBKEY_LEN], uint64_t seq, int *seen)
{
    mem_origin *o = find_origin(ctx, origin);
    *seen = 0;
    if (o) {
        size_t at = lower_bound(o, seq);
        *seen = at < o->n && o->frames[at].seq == seq;
    }
    return SP_OK;
}

static sp_err mem_after(void *ctx, const uint8_t origin[NET_PUBKEY_LEN], uint64_t after, size_t max,
                        net_frame_cb cb, void *arg)
{
    mem_origin *o = find_origin(ctx, origin);
    if (!o || after == UINT64_MAX)
        return SP_OK;
    for (size_t i = lower_bound(o, after + 1); i < o->n && max; i++, max--)
        if (cb(arg, o->frames[i].seq, o->frames[i].body, o->frames[i].len))
            break;
    return SP_OK;
}

static sp_err mem_origins(void *ctx, net_origin_cb cb, void *arg)
{
    mem_ctx *m = ctx;
    for (size_t i = 0; i < m->norigins; i++)
        cb(arg, m->origins[i].origin, m->origins[i].contig, m->origins[i].max);
    return SP_OK;
}

static sp_err mem_state(void *ctx, const uint8_t origin[NET_PUBKEY_LEN], uint64_t *contig, uint64_t *max)
{
    mem_origin *o = find_origin(ctx, origin);
    *contig = o ? o->contig : 0;
    *max = o ? o->max : 0;
    return SP_OK;
}

static sp_err mem_flush(void *ctx)
{
    (void)ctx;
    return SP_OK;
}

static void mem_destroy(void *ctx)
{
    mem_ctx *m = ctx;
    for (size_t i = 0; i < m->norigins; i++) {
        for (size_t j = 0; j < m->origins[i].n; j++)
            free(m->origins[i].frames[j].body);
        free(m->origins[i].frames);
    }
    free(m->origins);
    free(m->peers);
    free(m);
}

sp_err net_persist_mem_new(net_persist **out)
{
    net_persist *p = calloc(1, sizeof *p);
    mem_ctx *m = calloc(1, sizeof *m);
    if (!p || !m) {
        free(p);
        free(m);
        return SP_ERR_NOMEM;
    }
    *p = (net_persist){m, mem_peer_save, mem_peer_list, mem_append, mem_seen, mem_after,
                       mem_origins, mem_state, mem_flush, mem_destroy};
    *out = p;
    return SP_OK;
}

void net_persist_free(net_persist *p)
{
    if (!p)
        return;
    if (p->destroy)
        p->destroy(p->ctx);
    free(p);
}
