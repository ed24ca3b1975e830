/*
 * gossip.c — frames travelling the network: a frame not seen before is logged and relayed once to
 * every other live link, so any connected topology delivers; our own frames get consecutive
 * sequence numbers (logged before they leave, or sent early and logged with the caller's commit);
 * and a link that was away or fell behind catches up from the log.
 *
 * Output backpressure: a link whose output queue passes out_queue_max stops receiving live
 * relays; it sends HAVE_REQ, and the peer's HAVE answer restarts it as a "pump" that streams
 * what the peer lacks from the durable log as the queue drains. Nothing is dropped, and memory
 * per link stays near the cap.
 */
#include "net/node_int.h"

#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "base/log.h"

#define PUMP_BATCH 64

/* ---- what we have (HAVE) -------------------------------------------------------------------- */

static void collect_origin(void *arg, const uint8_t origin[NET_PUBKEY_LEN], uint64_t contig, uint64_t max)
{
    (void)max;
    net_node *n = arg;
    if (n->nscratch == n->capscratch) {
        size_t cap = n->capscratch ? n->capscratch * 2 : 16;
        net_have_entry *s = realloc(n->scratch, cap * sizeof *s);
        if (!s)
            return; /* a shorter HAVE only means more resending */
        n->scratch = s;
        n->capscratch = cap;
    }
    memcpy(n->scratch[n->nscratch].origin, origin, NET_PUBKEY_LEN);
    n->scratch[n->nscratch++].contig = contig;
}

static void load_origins(net_node *n)
{
    n->nscratch = 0;
    n->persist->origins(n->persist->ctx, collect_origin, n);
}

void send_have(link *l)
{
    net_node *n = l->node;
    sp_buf b = SP_BUF_INIT;
    load_origins(n);
    sp_buf_put_u32(&b, (uint32_t)n->nscratch);
    for (size_t i = 0; i < n->nscratch; i++) {
        sp_buf_append(&b, n->scratch[i].origin, NET_PUBKEY_LEN);
        sp_buf_put_u64(&b, n->scratch[i].contig);
    }
    if (!b.failed)
        send_frame(l, NET_T_HAVE, b.data, b.len);
    sp_buf_free(&b);
}

/* ---- catch-up pump -------------------------------------------------------------------- */

static cursor *cursor_get(link *l, const uint8_t *origin, int create)
{
    for (size_t i = 0; i < l->ncur; i++)
        if (!memcmp(l->cur[i].origin, origin, NET_PUBKEY_LEN))
            return &l->cur[i];
    if (!create)
        return NULL;
    cursor *c = realloc(l->cur, (l->ncur + 1) * sizeof *c);
    if (!c)
        return NULL;
    l->cur = c;
    c = &c[l->ncur++];
    memcpy(c->origin, origin, NET_PUBKEY_LEN);
    c->sent = 0;
    return c;
}

typedef struct {
    link *l;
    cursor *c;
    int sent;
} pump_ctx;

static int pump_one(void *arg, uint64_t seq, const uint8_t *body, size_t len)
{
    pump_ctx *pc = arg;
    send_frame(pc->l, NET_T_GOSSIP, body, len);
    pc->c->sent = seq;
    pc->sent++;
    return evbuffer_get_length(bufferevent_get_output(pc->l->bev)) >= pc->l->node->cfg.out_queue_max;
}

void link_pump(link *l)
{
    net_node *n = l->node;
    struct evbuffer *out = bufferevent_get_output(l->bev);
    while (l->state == L_LIVE && l->sync == S_PUMP) {
        int progressed = 0;
        load_origins(n);
        for (size_t i = 0; i < n->nscratch; i++) {
            if (evbuffer_get_length(out) >= n->cfg.out_queue_max)
                return; /* the write callback resumes us */
            pump_ctx pc = {l, cursor_get(l, n->scratch[i].origin, 1), 0};
            if (!pc.c)
                return;
            n->persist->frames_after(n->persist->ctx, n->scratch[i].origin, pc.c->sent, PUMP_BATCH, pump_one, &pc);
            progressed |= pc.sent > 0;
        }
        if (!progressed) {
            /* Our frames sent early are not in the log yet: the pump could not see them, even
             * below a later logged one it sent. All of them go (the peer drops what it has). */
            for (early_frame *f = n->early; f; f = f->next)
                send_frame(l, NET_T_GOSSIP, f->body, f->len);
            l->sync = S_LIVE; /* caught up: from now on live relays reach it directly */
            SP_DEBUG("net: link %s caught up", l->peer_id);
        }
    }
}

void on_have(link *l, sp_slice payload)
{
    net_have_entry *e;
    size_t ne;
    if (net_have_decode(payload, &e, &ne)) {
        link_close(l, NET_CLOSE_PROTOCOL, "malformed HAVE");
        return;
    }
    /* Cursors only for origins we hold: a HAVE listing thousands of others costs nothing later. */
    net_node *n = l->node;
    l->ncur = 0;
    load_origins(n);
    for (size_t i = 0; i < ne; i++) {
        for (size_t j = 0; j < n->nscratch; j++) {
            if (memcmp(n->scratch[j].origin, e[i].origin, NET_PUBKEY_LEN))
                continue;
            cursor *c = cursor_get(l, e[i].origin, 1);
            if (c)
                c->sent = e[i].contig;
            break;
        }
    }
    free(e);
    l->sync = S_PUMP;
    link_pump(l);
}

/* ---- gossip --------------------------------------------------------------------------- */

/* Queues body on every live link but from (and the origin's own link). */
static void relay(net_node *n, link *from, const uint8_t *origin, const uint8_t *body, size_t len)
{
    for (link *l = n->links; l; l = l->next) {
        if (l == from || l->state != L_LIVE || l->sync != S_LIVE)
            continue;
        if (!memcmp(l->theirs.pubkey, origin, NET_PUBKEY_LEN))
            continue;
        struct evbuffer *out = bufferevent_get_output(l->bev);
        if (evbuffer_get_length(out) + len + 5 > n->cfg.out_queue_max) {
            /* It lives in the log; the pump sends it once the peer says what it has. */
            l->sync = S_WAIT_HAVE;
            send_frame(l, NET_T_HAVE_REQ, NULL, 0);
            SP_DEBUG("net: link %s output full, pausing live relay", l->peer_id);
            continue;
        }
        send_frame(l, NET_T_GOSSIP, body, len);
    }
}

void on_gossip(link *l, sp_slice body)
{
    net_node *n = l->node;
    net_gossip g;
    int seen = 0;
    if (net_gossip_decode(body, &g)) {
        link_close(l, NET_CLOSE_PROTOCOL, "malformed GOSSIP frame");
        return;
    }
    if (n->persist->frame_seen(n->persist->ctx, g.origin, g.seq, &seen) || seen)
        return;
    sp_err e = n->persist->frame_append(n->persist->ctx, g.origin, g.seq, body.ptr, body.len);
    if (e) {
        if (e != SP_ERR_EXISTS)
            SP_ERROR("net: cannot store frame: %s", sp_strerror(e));
        return; /* not stored: not relayed either, catch-up will retry it */
    }
    const uint8_t *me = net_identity_pubkey(n->id);
    int for_me = !memcmp(g.dest, me, NET_PUBKEY_LEN);
    if (!for_me)
        relay(n, l, g.origin, body.ptr, body.len);
    if (!memcmp(g.origin, me, NET_PUBKEY_LEN) || !(for_me || net_gossip_is_broadcast(&g)) || !n->cfg.on_msg)
        return;
    /* Handed up after the batch's relays are on the wire (read_cb): the next hop does not wait
     * for what the upper layer does with it. */
    handup *h = malloc(sizeof *h + g.payload.len);
    if (!h) {
        char origin[NET_PEER_ID_LEN + 1];
        net_peer_id_format(g.origin, origin);
        net_msg m = {origin, g.seq, g.ptype, for_me, g.payload};
        n->cfg.on_msg(n->cfg.on_msg_arg, &m); /* out of memory: now, without the copy */
        return;
    }
    net_peer_id_format(g.origin, h->origin);
    h->seq = g.seq;
    h->ptype = g.ptype;
    h->for_me = for_me;
    h->len = g.payload.len;
    if (h->len)
        memcpy(h->payload, g.payload.ptr, h->len);
    h->next = NULL;
    if (!n->up_tail)
        n->up_tail = &n->up;
    *n->up_tail = h;
    n->up_tail = &h->next;
}

/* Hands this batch's frames to on_msg, in arrival order. */
void hand_up(net_node *n)
{
    while (n->up) {
        handup *h = n->up;
        n->up = h->next;
        if (!n->up)
            n->up_tail = &n->up;
        net_msg m = {h->origin, h->seq, h->ptype, h->for_me, {h->payload, h->len}};
        n->cfg.on_msg(n->cfg.on_msg_arg, &m);
        free(h);
    }
}

/* Hands out count consecutive sequence numbers of ours from *first. */
static sp_err own_seqs(net_node *n, size_t count, uint64_t *first)
{
    if (!n->own_next) {
        uint64_t contig, max;
        sp_err e = n->persist->origin_state(n->persist->ctx, net_identity_pubkey(n->id), &contig, &max);
        if (e)
            return e;
        n->own_next = max + 1;
    }
    *first = n->own_next;
    n->own_next += count;
    return SP_OK;
}

/* Logs count frames under consecutive sequences, commits once, then relays them. If an append
 * fails, the frames logged before it are still committed and relayed (*done says how many). */
static sp_err originate(net_node *n, const uint8_t *dest, uint16_t ptype, const sp_slice *payloads, size_t count,
                        uint64_t *first_seq, size_t *done)
{
    net_gossip g;
    uint64_t max;
    sp_buf b = SP_BUF_INIT;
    size_t *ends, ok = 0;
    if (done)
        *done = 0;
    if (!count)
        return SP_ERR_INVALID;
    for (size_t i = 0; i < count; i++)
        if (payloads[i].len > NET_PAYLOAD_MAX)
            return SP_ERR_TOO_LARGE;
    const uint8_t *me = net_identity_pubkey(n->id);
    uint64_t first;
    sp_err e = own_seqs(n, count, &first);
    if (e)
        return e;
    max = first - 1;
    if (!(ends = calloc(count, sizeof *ends))) {
        n->own_next = first;
        return SP_ERR_NOMEM;
    }
    memcpy(g.origin, me, NET_PUBKEY_LEN);
    memcpy(g.dest, dest, NET_PUBKEY_LEN);
    g.ptype = ptype;
    for (; ok < count; ok++) {
        size_t at = b.len;
        g.seq = max + 1 + ok;
        g.payload = payloads[ok];
        if ((e = net_gossip_encode(&b, &g)) ||
            (e = n->persist->frame_append(n->persist->ctx, me, g.seq, b.data + at, b.len - at))) {
            b.len = at;
            break;
        }
        ends[ok] = b.len;
    }
    /* The only copy is ours until a neighbour has it: on stable storage before anyone sees it. */
    sp_err fe = n->persist->sync ? n->persist->sync(n->persist->ctx) : n->persist->flush(n->persist->ctx);
    if (fe) {
        ok = 0; /* nothing was committed */
        e = fe;
    }
    n->own_next = first + ok; /* numbers not logged are used again */
    for (size_t i = 0, at = 0; i < ok; at = ends[i++])
        relay(n, NULL, me, b.data + at, ends[i] - at);
    sp_buf_free(&b);
    free(ends);
    if (first_seq)
        *first_seq = max + 1;
    if (done)
        *done = ok;
    return e;
}

sp_err net_node_broadcast(net_node *n, uint16_t ptype, const uint8_t *payload, size_t len, uint64_t *seq)
{
    static const uint8_t zero[NET_PUBKEY_LEN];
    sp_slice one = {payload, len};
    return originate(n, zero, ptype, &one, 1, seq, NULL);
}

sp_err net_node_broadcast_many(net_node *n, uint16_t ptype, const sp_slice *payloads, size_t count,
                               uint64_t *first_seq, size_t *done)
{
    static const uint8_t zero[NET_PUBKEY_LEN];
    return originate(n, zero, ptype, payloads, count, first_seq, done);
}

sp_err net_node_send_early(net_node *n, uint16_t ptype, const uint8_t *payload, size_t len, uint64_t *seq)
{
    static const uint8_t zero[NET_PUBKEY_LEN];
    if (len > NET_PAYLOAD_MAX)
        return SP_ERR_TOO_LARGE;
    uint64_t s;
    sp_err e = own_seqs(n, 1, &s);
    if (e)
        return e;
    const uint8_t *me = net_identity_pubkey(n->id);
    net_gossip g;
    memcpy(g.origin, me, NET_PUBKEY_LEN);
    memcpy(g.dest, zero, NET_PUBKEY_LEN);
    g.ptype = ptype;
    g.seq = s;
    g.payload.ptr = payload;
    g.payload.len = len;
    sp_buf b = SP_BUF_INIT;
    early_frame *f = NULL;
    if (!(e = net_gossip_encode(&b, &g)) && !(f = malloc(sizeof *f + b.len)))
        e = SP_ERR_NOMEM;
    if (e) {
        sp_buf_free(&b);
        n->own_next = s; /* nothing left: the number is used again */
        return e;
    }
    f->next = NULL;
    f->seq = s;
    f->appended = 0;
    f->len = b.len;
    memcpy(f->body, b.data, b.len);
    sp_buf_free(&b);
    if (!n->early_tail)
        n->early_tail = &n->early;
    *n->early_tail = f;
    n->early_tail = &f->next;
    relay(n, NULL, me, f->body, f->len); /* written once this loop turn's callbacks are done */
    if (seq)
        *seq = s;
    return SP_OK;
}

sp_err net_node_log_early(net_node *n)
{
    const uint8_t *me = net_identity_pubkey(n->id);
    for (early_frame *f = n->early; f; f = f->next) {
        if (f->appended)
            continue;
        sp_err e = n->persist->frame_append(n->persist->ctx, me, f->seq, f->body, f->len);
        if (e && e != SP_ERR_EXISTS)
            return e;
        f->appended = 1;
    }
    return SP_OK;
}

void net_node_early_logged(net_node *n, int committed)
{
    early_frame **pp = &n->early;
    while (*pp) {
        early_frame *f = *pp;
        if (committed && f->appended) {
            *pp = f->next;
            free(f);
            continue;
        }
        f->appended = 0;
        pp = &f->next;
    }
    n->early_tail = pp;
}

size_t net_node_early_count(const net_node *n)
{
    size_t k = 0;
    for (const early_frame *f = n->early; f; f = f->next)
        k++;
    return k;
}

sp_err net_node_unicast(net_node *n, const char *dest_peer_id, uint16_t ptype, const uint8_t *payload,
                        size_t len, uint64_t *seq)
{
    static const uint8_t zero[NET_PUBKEY_LEN];
    uint8_t dest[NET_PUBKEY_LEN];
    if (net_peer_id_parse(dest_peer_id, dest) || !memcmp(dest, zero, NET_PUBKEY_LEN))
        return SP_ERR_INVALID;
    sp_slice one = {payload, len};
    return originate(n, dest, ptype, &one, 1, seq, NULL);
}
