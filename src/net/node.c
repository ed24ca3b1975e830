/*
 * node.c — a node's links: the listener, the handshake, frames in and out, heartbeats, closing,
 * and the node's lifecycle, all on one event_base. Gossip relay, our own frames and catch-up are
 * in gossip.c; the address book and dialling in peers.c (node_int.h is what they share).
 *
 * Closing follows the mark-and-reap rule: link_close() does every visible side effect at once
 * (state CLOSED, callbacks, redial scheduling) but only queues the link for the reaper, a
 * zero-delay timer that frees it after the current callback has returned.
 */
#include "net/node_int.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/listener.h>

#include "base/clock.h"
#include "base/log.h"
#include "base/rand.h"

#define MAX_PREAUTH_LINKS 64

void node_arm(struct event *ev, unsigned ms)
{
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
    evtimer_add(ev, &tv);
}

/* ---- sending ----------------------------------------------------------------------------
 *
 * Links write without waiting for the socket to poll writable: whatever a callback queued is
 * written by flush_cb, which runs once the current callbacks of this loop turn have returned
 * (so after the read batch's log commit), in one writev per link. Only a remainder the socket
 * did not take goes through the bufferevent's EV_WRITE, which is switched off again once the
 * queue is empty. That saves the poll round trip and two epoll_ctl calls per batch. */


void send_frame(link *l, uint8_t type, const uint8_t *payload, size_t len)
{
    uint8_t hdr[5] = {(uint8_t)((len + 1) >> 24), (uint8_t)((len + 1) >> 16), (uint8_t)((len + 1) >> 8),
                      (uint8_t)(len + 1), type};
    struct evbuffer *out = bufferevent_get_output(l->bev);
    evbuffer_add(out, hdr, sizeof hdr);
    if (len)
        evbuffer_add(out, payload, len);
    if (!l->dirty) {
        l->dirty = 1;
        event_active(&l->node->flush_ev, 0, 0);
    }
}

static void write_out(link *l)
{
    struct evbuffer *out = bufferevent_get_output(l->bev);
    l->dirty = 0;
    if (!evbuffer_get_length(out))
        return;
    /* A socket bufferevent freezes the start of its output; libevent's own writer unfreezes it
     * around its write the same way. */
    evbuffer_unfreeze(out, 1);
    int r = evbuffer_write(out, bufferevent_getfd(l->bev));
    evbuffer_freeze(out, 1);
    if (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
        link_close(l, 0, "socket error: %s", strerror(errno));
        return;
    }
    if (evbuffer_get_length(out) > l->node->cfg.out_queue_max / 2) {
        bufferevent_enable(l->bev, EV_WRITE); /* write_cb resumes a pump */
        return;
    }
    if (l->state == L_LIVE && l->sync == S_PUMP)
        link_pump(l); /* the socket took it: stream on (this queues more and comes back here) */
    if (evbuffer_get_length(out) && l->state != L_CLOSED)
        bufferevent_enable(l->bev, EV_WRITE);
}

static void flush_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    net_node *n = arg;
    for (link *l = n->links, *next; l; l = next) {
        next = l->next; /* write_out may close l (it then moves to the dead list) */
        if (l->dirty && l->state != L_CONNECTING && l->state != L_CLOSED)
            write_out(l);
    }
}

/* ---- closing ------------------------------------------------------------------------- */


void link_close(link *l, uint16_t code, const char *fmt, ...)
{
    net_node *n = l->node;
    if (l->state == L_CLOSED)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(l->why, sizeof l->why, fmt, ap);
    va_end(ap);
    int was_live = l->state == L_LIVE;
    if (was_live)
        SP_INFO("net: link %s (%s) down: %s", l->peer_id, l->remote, l->why);
    else
        SP_WARN("net: link %s%s%s refused/failed: %s", l->remote, l->peer_id[0] ? " " : "", l->peer_id, l->why);
    if (code && l->state >= L_HELLO) {
        /* Tell the peer why, best effort, written now since nothing will run this link again. */
        sp_buf b = SP_BUF_INIT;
        if (!net_close_encode(&b, code, l->why))
            evbuffer_add(bufferevent_get_output(l->bev), b.data, b.len);
        sp_buf_free(&b);
        /* bufferevent freezes the start of its output buffer, so send a copy ourselves. */
        struct evbuffer *out = bufferevent_get_output(l->bev);
        size_t len = evbuffer_get_length(out);
        const uint8_t *p = evbuffer_pullup(out, (ssize_t)len);
        if (p && len)
            (void)!send(bufferevent_getfd(l->bev), p, len, MSG_NOSIGNAL | MSG_DONTWAIT);
    }
    l->state = L_CLOSED;
    bufferevent_disable(l->bev, EV_READ | EV_WRITE);
    evtimer_del(&l->timer);
    /* unlink from live list onto the dead list */
    for (link **pp = &n->links; *pp; pp = &(*pp)->next)
        if (*pp == l) {
            *pp = l->next;
            break;
        }
    l->next = n->dead;
    n->dead = l;
    node_arm(&n->reap_ev, 0);

    peer *e = l->entry;
    if (e) {
        e->link = NULL;
        if (e->waiters) {
            /* refused only because that very peer is already linked: the caller got what it asked */
            if (l->peer_id[0] && peer_linked(n, l->peer_id) && (!e->pinned || !strcmp(e->peer_id, l->peer_id)))
                finish_waiters(e, SP_OK, "already connected");
            else
                finish_waiters(e, SP_ERR_IO, l->why);
        }
        if (!e->is_self)
            schedule_redial(e);
    }
    if (was_live) /* every entry that reaches this peer may now need to dial */
        for (peer *p = n->peers; p; p = p->next)
            if (p != e && !strcmp(p->peer_id, l->peer_id))
                schedule_redial(p);
}

static void link_free(link *l)
{
    if (l->bev)
        bufferevent_free(l->bev);
    free(l->cur);
    free(l);
}

static void reap_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    net_node *n = arg;
    while (n->dead) {
        link *l = n->dead;
        n->dead = l->next;
        link_free(l);
    }
}

/* ---- handshake ---------------------------------------------------------------------------- */

/* The peer id of whoever dialled l. */
static const uint8_t *dialer_of(const link *l)
{
    return l->entry ? l->mine.pubkey : l->theirs.pubkey;
}

static void link_up(link *l)
{
    net_node *n = l->node;
    /* Two links to one peer (both dialled at once, or two addresses of it): both sides keep the
     * one dialled by the smaller peer id, so they agree without talking; else the older one. */
    for (link *o = n->links; o; o = o->next) {
        if (o == l || o->state != L_LIVE || strcmp(o->peer_id, l->peer_id))
            continue;
        const uint8_t *dn = dialer_of(l), *dold = dialer_of(o);
        if (memcmp(dn, dold, NET_PUBKEY_LEN) < 0) {
            link_close(o, NET_CLOSE_DUPLICATE, "duplicate link to %s replaced", o->peer_id);
            break;
        }
        if (l->entry) {
            /* The handshake proved who is at that address: remember it, so that the entry waits
             * for the live link to drop instead of redialling into the same refusal. */
            peer *e = l->entry;
            snprintf(e->peer_id, sizeof e->peer_id, "%s", l->peer_id);
            e->verified = 1;
            n->persist->peer_save(n->persist->ctx, e->addr, e->peer_id, e->pinned);
        }
        link_close(l, NET_CLOSE_DUPLICATE, "already linked to %s", l->peer_id);
        return;
    }
    l->state = L_LIVE;
    l->sync = S_WAIT_HAVE;
    l->last_rx_ms = sp_monotonic_ms();
    node_arm(&l->timer, n->cfg.heartbeat_ms);
    SP_INFO("net: link %s (%s, %s) up", l->peer_id, l->remote, l->entry ? "outbound" : "inbound");
    peer *e = l->entry;
    if (!e && l->theirs.listen_port) {
        /* Learn where an inbound peer listens, so we can redial it too (also after restart). */
        net_multiaddr ma;
        memset(&ma, 0, sizeof ma);
        ma.sa = l->remote_sa;
        ma.salen = l->remote_sa.ss_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
        if (ma.sa.ss_family == AF_INET)
            ((struct sockaddr_in *)&ma.sa)->sin_port = htons(l->theirs.listen_port);
        else
            ((struct sockaddr_in6 *)&ma.sa)->sin6_port = htons(l->theirs.listen_port);
        char addr[NET_MULTIADDR_MAX];
        net_multiaddr_format_addr((struct sockaddr *)&ma.sa, addr);
        e = find_peer(n, addr);
        if (!e)
            e = add_peer(n, &ma, l->peer_id, 0);
    }
    if (e) {
        if (!e->pinned && strcmp(e->peer_id, l->peer_id)) {
            snprintf(e->peer_id, sizeof e->peer_id, "%s", l->peer_id);
        }
        n->persist->peer_save(n->persist->ctx, e->addr, e->peer_id, e->pinned);
        n->persist->flush(n->persist->ctx);
        e->backoff_ms = n->cfg.backoff_min_ms;
        e->verified = 1;
        if (e->link == l)
            finish_waiters(e, SP_OK, "connected");
    }
    /* Entries naming this peer stop waiting for their own dial. */
    for (peer *p = n->peers; p; p = p->next)
        if (p->waiters && !strcmp(p->peer_id, l->peer_id))
            finish_waiters(p, SP_OK, "connected");
    send_have(l);
}

static void on_hello(link *l, sp_slice payload)
{
    net_node *n = l->node;
    sp_err e = net_hello_decode(payload, &l->theirs);
    if (e == SP_ERR_UNSUPPORTED) {
        link_close(l, NET_CLOSE_VERSION, "unsupported protocol version %u (this node speaks %u)",
                   l->theirs.version, NET_PROTOCOL_VERSION);
        return;
    }
    if (e) {
        link_close(l, NET_CLOSE_PROTOCOL, "malformed HELLO");
        return;
    }
    net_peer_id_format(l->theirs.pubkey, l->peer_id);
    if (!memcmp(l->theirs.pubkey, net_identity_pubkey(n->id), NET_PUBKEY_LEN)) {
        if (l->entry)
            l->entry->is_self = 1;
        link_close(l, NET_CLOSE_SELF, "refusing a link to self");
        return;
    }
    if (l->entry && l->entry->pinned && strcmp(l->entry->peer_id, l->peer_id)) {
        link_close(l, NET_CLOSE_WRONG_PEER, "peer id mismatch: expected %s, got %s", l->entry->peer_id, l->peer_id);
        return;
    }
    uint8_t sig[NET_SIG_LEN];
    if (net_handshake_sign(n->id, &l->mine, &l->theirs, sig)) {
        link_close(l, NET_CLOSE_AUTH, "cannot sign handshake");
        return;
    }
    send_frame(l, NET_T_AUTH, sig, sizeof sig);
    l->state = L_AUTH;
}

static void on_auth(link *l, sp_slice payload)
{
    if (payload.len != NET_SIG_LEN || net_handshake_verify(&l->theirs, &l->mine, payload.ptr)) {
        link_close(l, NET_CLOSE_AUTH, "handshake signature invalid");
        return;
    }
    link_up(l);
}

static void on_frame(link *l, uint8_t type, sp_slice payload)
{
    if (type == NET_T_CLOSE) {
        uint16_t code;
        char reason[NET_CLOSE_REASON_MAX + 1];
        if (net_close_decode(payload, &code, reason))
            snprintf(reason, sizeof reason, "(malformed CLOSE)");
        link_close(l, 0, "closed by peer: %s", reason);
        return;
    }
    switch (l->state) {
    case L_HELLO:
        if (type != NET_T_HELLO)
            link_close(l, NET_CLOSE_PROTOCOL, "expected HELLO, got frame type 0x%02x", type);
        else
            on_hello(l, payload);
        return;
    case L_AUTH:
        if (type != NET_T_AUTH)
            link_close(l, NET_CLOSE_PROTOCOL, "expected AUTH, got frame type 0x%02x", type);
        else
            on_auth(l, payload);
        return;
    case L_LIVE:
        break;
    default:
        return;
    }
    switch (type) {
    case NET_T_HEARTBEAT:
        break;
    case NET_T_GOSSIP:
        on_gossip(l, payload);
        break;
    case NET_T_HAVE:
        on_have(l, payload);
        break;
    case NET_T_HAVE_REQ:
        send_have(l);
        break;
    case NET_T_HELLO:
    case NET_T_AUTH:
        link_close(l, NET_CLOSE_PROTOCOL, "handshake frame 0x%02x on a live link", type);
        break;
    default:
        SP_DEBUG("net: link %s: skipping unknown frame type 0x%02x", l->peer_id, type);
        break;
    }
}

/* ---- bufferevent callbacks ---------------------------------------------------------------- */

static void read_cb(struct bufferevent *bev, void *arg)
{
    link *l = arg;
    net_node *n = l->node;
    struct evbuffer *in = bufferevent_get_input(bev);
    l->last_rx_ms = sp_monotonic_ms();
    /* libevent 2.1 reads at most 4 KiB per callback whatever max_single_read says (EVBUFFER_MAX_READ),
     * so a busy link would cost a loop turn and a log commit (an fsync upstairs) per ~10 frames:
     * take what else the socket already holds first (EOF/errors are seen by the next read; the
     * bufferevent keeps its input's end frozen outside its own reads). */
    if (l->state == L_LIVE) {
        evbuffer_unfreeze(in, 0);
        for (int i = 0; i < 64 && evbuffer_get_length(in) < 256 * 1024; i++)
            if (evbuffer_read(in, bufferevent_getfd(bev), 4096) <= 0)
                break;
        evbuffer_freeze(in, 0);
    }
    while (l->state != L_CLOSED) {
        uint8_t hdr[NET_FRAME_HEADER];
        uint32_t flen;
        size_t have = evbuffer_get_length(in);
        if (have < NET_FRAME_HEADER)
            break;
        evbuffer_copyout(in, hdr, NET_FRAME_HEADER);
        sp_err e = net_frame_check_header(hdr, l->state == L_LIVE ? NET_FRAME_MAX : NET_FRAME_MAX_PREAUTH, &flen);
        if (e) {
            link_close(l, NET_CLOSE_PROTOCOL, "bad frame length %u: %s",
                       (unsigned)hdr[0] << 24 | (unsigned)hdr[1] << 16 | (unsigned)hdr[2] << 8 | hdr[3], sp_strerror(e));
            break;
        }
        if (have < NET_FRAME_HEADER + (size_t)flen)
            break;
        const uint8_t *p = evbuffer_pullup(in, NET_FRAME_HEADER + (ssize_t)flen);
        if (!p) {
            link_close(l, 0, "out of memory");
            break;
        }
        sp_slice payload = {p + NET_FRAME_HEADER + 1, flen - 1};
        on_frame(l, p[NET_FRAME_HEADER], payload);
        if (l->state != L_CLOSED)
            evbuffer_drain(in, NET_FRAME_HEADER + (size_t)flen);
    }
    if (n->up) {
        flush_cb(-1, 0, n); /* this batch's relays leave first */
        hand_up(n);
    }
    /* The log commit (and with it the store's, upstairs) comes commit_delay_ms later, after
     * this turn's relays and stream pushes have been written: no fsync on any hop's path, and
     * one per burst. Losing a relayed frame that was not yet committed here is safe: our log
     * does not have it, so after a restart catch-up brings it from a neighbour again. */
    if (!evtimer_pending(&n->commit_ev, NULL))
        node_arm(&n->commit_ev, n->cfg.commit_delay_ms);
}

static void commit_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    net_node *n = arg;
    n->persist->flush(n->persist->ctx);
}

static void write_cb(struct bufferevent *bev, void *arg)
{
    link *l = arg;
    if (l->state == L_LIVE && l->sync == S_PUMP)
        link_pump(l);
    if (!evbuffer_get_length(bufferevent_get_output(bev)))
        bufferevent_disable(bev, EV_WRITE); /* flush_cb writes directly again */
}

static void send_hello(link *l)
{
    sp_buf b = SP_BUF_INIT;
    if (net_hello_encode(&b, &l->mine) == SP_OK)
        send_frame(l, NET_T_HELLO, b.data, b.len);
    sp_buf_free(&b);
    l->state = L_HELLO;
}

static void event_cb(struct bufferevent *bev, short what, void *arg)
{
    link *l = arg;
    if (what & BEV_EVENT_CONNECTED) {
        int one = 1;
        setsockopt(bufferevent_getfd(bev), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        send_hello(l);
        return;
    }
    if (what & BEV_EVENT_EOF)
        link_close(l, 0, l->state == L_CONNECTING ? "connection closed" : "connection closed by peer");
    else if (what & BEV_EVENT_ERROR)
        link_close(l, 0, "%s: %s", l->state == L_CONNECTING ? "cannot connect" : "socket error",
                   evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
}

static void timer_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    link *l = arg;
    net_node *n = l->node;
    if (l->state != L_LIVE) {
        link_close(l, NET_CLOSE_PROTOCOL, "handshake not finished within %u ms", n->cfg.handshake_ms);
        return;
    }
    uint64_t idle = sp_monotonic_ms() - l->last_rx_ms;
    if (idle > n->cfg.dead_ms) {
        link_close(l, 0, "nothing received for %llu ms", (unsigned long long)idle);
        return;
    }
    send_frame(l, NET_T_HEARTBEAT, NULL, 0);
    node_arm(&l->timer, n->cfg.heartbeat_ms);
}

link *link_new(net_node *n, evutil_socket_t fd, peer *entry)
{
    link *l = calloc(1, sizeof *l);
    if (!l)
        return NULL;
    l->node = n;
    l->entry = entry;
    l->bev = bufferevent_socket_new(n->base, fd, BEV_OPT_CLOSE_ON_FREE);
    if (!l->bev) {
        free(l);
        return NULL;
    }
    bufferevent_setcb(l->bev, read_cb, write_cb, event_cb, l);
    /* Bounded input: never more than one maximal frame plus a read's worth buffered. */
    bufferevent_setwatermark(l->bev, EV_READ, 0, NET_FRAME_HEADER + NET_FRAME_MAX + 65536);
    bufferevent_setwatermark(l->bev, EV_WRITE, n->cfg.out_queue_max / 2, 0);
    /* libevent's default of 16 KiB per read/write call makes a busy link cost a loop turn (and a
     * log commit) per 16 frames; larger chunks amortise both. */
    bufferevent_set_max_single_read(l->bev, 256 * 1024);
    bufferevent_set_max_single_write(l->bev, 256 * 1024);
    evtimer_assign(&l->timer, n->base, timer_cb, l);
    node_arm(&l->timer, n->cfg.handshake_ms);
    l->mine.version = NET_PROTOCOL_VERSION;
    memcpy(l->mine.pubkey, net_identity_pubkey(n->id), NET_PUBKEY_LEN);
    sp_random(l->mine.nonce, sizeof l->mine.nonce);
    l->mine.listen_port = n->listen_port;
    l->next = n->links;
    n->links = l;
    /* EV_WRITE only while a remainder waits (see write_out); connecting works without it. */
    bufferevent_enable(l->bev, EV_READ);
    return l;
}

/* ---- listener, lifecycle, status ------------------------------------------------------------ */

static void accept_cb(struct evconnlistener *lst, evutil_socket_t fd, struct sockaddr *sa, int salen, void *arg)
{
    (void)lst;
    net_node *n = arg;
    size_t preauth = 0;
    for (link *l = n->links; l; l = l->next)
        preauth += l->state != L_LIVE;
    if (preauth >= MAX_PREAUTH_LINKS) {
        SP_WARN("net: too many links in handshake, dropping an inbound connection");
        evutil_closesocket(fd);
        return;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    evutil_make_socket_nonblocking(fd);
    link *l = link_new(n, fd, NULL);
    if (!l) {
        evutil_closesocket(fd);
        return;
    }
    memcpy(&l->remote_sa, sa, (size_t)salen < sizeof l->remote_sa ? (size_t)salen : sizeof l->remote_sa);
    net_multiaddr_format_addr(sa, l->remote);
    send_hello(l);
}

sp_err net_node_new(struct event_base *base, net_identity *id, net_persist *persist, const net_node_config *cfg,
                    net_node **out)
{
    net_node *n = calloc(1, sizeof *n);
    if (!n)
        return SP_ERR_NOMEM;
    n->base = base;
    n->id = id;
    n->persist = persist;
    n->cfg = *cfg;
#define DEF(f, v) if (!n->cfg.f) n->cfg.f = v
    DEF(heartbeat_ms, 1000);
    DEF(dead_ms, 6000);
    DEF(handshake_ms, 5000);
    DEF(backoff_min_ms, 200);
    DEF(backoff_max_ms, 5000);
    DEF(out_queue_max, 4u << 20);
    DEF(commit_delay_ms, 5);
    DEF(listen_host, "127.0.0.1");
#undef DEF
    evtimer_assign(&n->reap_ev, base, reap_cb, n);
    evtimer_assign(&n->done_ev, base, done_cb, n);
    event_assign(&n->flush_ev, base, -1, 0, flush_cb, n);
    evtimer_assign(&n->commit_ev, base, commit_cb, n);

    struct sockaddr_storage ss;
    socklen_t sslen = sizeof ss;
    memset(&ss, 0, sizeof ss);
    struct sockaddr_in *in = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
    if (inet_pton(AF_INET, n->cfg.listen_host, &in->sin_addr) == 1) {
        in->sin_family = AF_INET;
        in->sin_port = htons(n->cfg.listen_port);
        sslen = sizeof *in;
    } else if (inet_pton(AF_INET6, n->cfg.listen_host, &in6->sin6_addr) == 1) {
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons(n->cfg.listen_port);
        sslen = sizeof *in6;
    } else {
        SP_ERROR("net: listen address \"%s\" is not an IP address", n->cfg.listen_host);
        free(n);
        return SP_ERR_INVALID;
    }
    n->listener = evconnlistener_new_bind(base, accept_cb, n, LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE, 128,
                                          (struct sockaddr *)&ss, (int)sslen);
    if (!n->listener) {
        SP_ERROR("net: cannot listen on %s port %u: %s", n->cfg.listen_host, n->cfg.listen_port, strerror(errno));
        free(n);
        return SP_ERR_IO;
    }
    sslen = sizeof ss;
    getsockname(evconnlistener_get_fd(n->listener), (struct sockaddr *)&ss, &sslen);
    /* A wildcard is not dialable: report loopback instead. */
    if (ss.ss_family == AF_INET && in->sin_addr.s_addr == htonl(INADDR_ANY))
        in->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (ss.ss_family == AF_INET6 && IN6_IS_ADDR_UNSPECIFIED(&in6->sin6_addr))
        in6->sin6_addr = in6addr_loopback;
    n->listen_port = ntohs(ss.ss_family == AF_INET ? in->sin_port : in6->sin6_port);
    net_multiaddr_format_addr((struct sockaddr *)&ss, n->listen_addr);
    SP_INFO("net: peer id %s listening on %s", net_identity_peer_id(id), n->listen_addr);
    persist->peer_list(persist->ctx, load_peer, n);
    *out = n;
    return SP_OK;
}

void net_node_free(net_node *n)
{
    if (!n)
        return;
    if (n->early)
        SP_WARN("net: %zu frame(s) of ours left before they were logged; the next start skips their numbers",
                net_node_early_count(n));
    while (n->early) {
        early_frame *f = n->early;
        n->early = f->next;
        free(f);
    }
    while (n->links) {
        link *l = n->links;
        if (l->entry)
            l->entry->link = NULL;
        l->entry = NULL;
        link_close(l, l->state >= L_HELLO ? NET_CLOSE_SHUTDOWN : 0, "shutting down");
    }
    reap_cb(-1, 0, n);
    while (n->peers) {
        peer *p = n->peers;
        n->peers = p->next;
        evtimer_del(&p->timer);
        while (p->waiters) {
            waiter *w = p->waiters;
            p->waiters = w->next;
            free(w);
        }
        free(p);
    }
    while (n->done) {
        waiter *w = n->done;
        n->done = w->next;
        free(w);
    }
    evtimer_del(&n->reap_ev);
    evtimer_del(&n->done_ev);
    event_del(&n->flush_ev);
    event_del(&n->commit_ev);
    hand_up(n); /* (empty outside a read callback) */
    n->persist->flush(n->persist->ctx);
    evconnlistener_free(n->listener);
    free(n->scratch);
    free(n);
}

void net_node_flush(net_node *n)
{
    flush_cb(-1, 0, n);
}

const char *net_node_peer_id(const net_node *n) { return net_identity_peer_id(n->id); }
const char *net_node_listen_addr(const net_node *n) { return n->listen_addr; }

size_t net_node_links(const net_node *n, char (*ids)[NET_PEER_ID_LEN + 1], size_t max)
{
    size_t count = 0;
    for (const link *l = n->links; l; l = l->next) {
        if (l->state != L_LIVE)
            continue;
        if (count < max)
            memcpy(ids[count], l->peer_id, NET_PEER_ID_LEN + 1);
        count++;
    }
    return count;
}
