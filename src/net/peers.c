/*
 * peers.c — the address book: entries from the last run and from net_node_connect, dialled with
 * exponential backoff and jitter while no live link reaches their peer; and the callbacks of
 * net_node_connect's callers, answered from a zero timer, never from inside a call.
 */
#include "net/node_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "base/rand.h"

/* ---- connect waiters ------------------------------------------------------------------ */

void finish_waiters(peer *p, sp_err result, const char *msg)
{
    net_node *n = p->node;
    while (p->waiters) {
        waiter *w = p->waiters;
        p->waiters = w->next;
        w->result = result;
        snprintf(w->msg, sizeof w->msg, "%s", msg);
        w->next = n->done;
        n->done = w;
    }
    if (n->done)
        node_arm(&n->done_ev, 0);
}

void done_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    net_node *n = arg;
    /* Callbacks may call connect again and add to n->done: take the list first. */
    waiter *w = n->done;
    n->done = NULL;
    while (w) {
        waiter *next = w->next;
        w->cb(w->arg, w->result, w->msg);
        free(w);
        w = next;
    }
}

/* ---- lookups -------------------------------------------------------------------------------- */

int peer_linked(const net_node *n, const char *peer_id)
{
    for (link *l = n->links; l; l = l->next)
        if (l->state == L_LIVE && !strcmp(l->peer_id, peer_id))
            return 1;
    return 0;
}

peer *find_peer(net_node *n, const char *addr)
{
    for (peer *p = n->peers; p; p = p->next)
        if (!strcmp(p->addr, addr))
            return p;
    return NULL;
}


/* ---- dialling and the address book ------------------------------------------------------- */

static void dial(peer *p)
{
    net_node *n = p->node;
    if (p->link || p->is_self)
        return;
    link *l = link_new(n, -1, p);
    if (!l) {
        schedule_redial(p);
        return;
    }
    p->link = l;
    l->state = L_CONNECTING;
    memcpy(&l->remote_sa, &p->ma.sa, sizeof l->remote_sa);
    snprintf(l->remote, sizeof l->remote, "%s", p->addr);
    if (bufferevent_socket_connect(l->bev, (struct sockaddr *)&p->ma.sa, (int)p->ma.salen) < 0)
        link_close(l, 0, "cannot connect: %s", strerror(errno));
}

static void redial_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    peer *p = arg;
    if (p->link || (p->peer_id[0] && peer_linked(p->node, p->peer_id)))
        return; /* re-armed when that link goes down */
    dial(p);
}

void schedule_redial(peer *p)
{
    net_node *n = p->node;
    if (p->is_self || evtimer_pending(&p->timer, NULL))
        return;
    uint32_t r = 0;
    sp_random(&r, sizeof r);
    unsigned d = p->backoff_ms, jittered = d / 2 + (d > 1 ? r % (d - d / 2) : 0);
    p->backoff_ms = d * 2 > n->cfg.backoff_max_ms ? n->cfg.backoff_max_ms : d * 2;
    node_arm(&p->timer, jittered);
}

peer *add_peer(net_node *n, const net_multiaddr *ma, const char *peer_id, int pinned)
{
    peer *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    p->node = n;
    p->ma = *ma;
    net_multiaddr_format_addr((const struct sockaddr *)&ma->sa, p->addr);
    snprintf(p->peer_id, sizeof p->peer_id, "%s", peer_id);
    p->pinned = pinned;
    p->backoff_ms = n->cfg.backoff_min_ms;
    evtimer_assign(&p->timer, n->base, redial_cb, p);
    p->next = n->peers;
    n->peers = p;
    return p;
}

void load_peer(void *arg, const char *addr, const char *peer_id, int pinned)
{
    net_node *n = arg;
    net_multiaddr ma;
    if (net_multiaddr_parse(addr, &ma, NULL, 0) || find_peer(n, addr))
        return;
    if (peer_id[0] && net_peer_id_parse(peer_id, ma.peer_key))
        peer_id = "";
    peer *p = add_peer(n, &ma, peer_id, pinned && peer_id[0]);
    if (p)
        node_arm(&p->timer, 0);
}

sp_err net_node_connect(net_node *n, const char *multiaddr, net_connect_cb cb, void *arg, char *err, size_t errlen)
{
    net_multiaddr ma;
    char addr[NET_MULTIADDR_MAX];
    sp_err e = net_multiaddr_parse(multiaddr, &ma, err, errlen);
    if (e)
        return e;
    net_multiaddr_format_addr((struct sockaddr *)&ma.sa, addr);
    peer *p = find_peer(n, addr);
    if (!p && !(p = add_peer(n, &ma, ma.peer_id, ma.has_peer_id)))
        return SP_ERR_NOMEM;
    if (ma.has_peer_id && (!p->pinned || strcmp(p->peer_id, ma.peer_id))) {
        p->verified = p->verified && !strcmp(p->peer_id, ma.peer_id);
        snprintf(p->peer_id, sizeof p->peer_id, "%s", ma.peer_id);
        p->pinned = 1;
    }
    p->is_self = 0;
    if ((e = n->persist->peer_save(n->persist->ctx, p->addr, p->peer_id, p->pinned)) ||
        (e = n->persist->flush(n->persist->ctx)))
        return e;
    if (cb) {
        waiter *w = calloc(1, sizeof *w);
        if (!w)
            return SP_ERR_NOMEM;
        w->cb = cb;
        w->arg = arg;
        w->next = p->waiters;
        p->waiters = w;
    }
    /* Only an id proven at this address counts: a pin to a peer linked elsewhere still dials. */
    if (p->verified && peer_linked(n, p->peer_id)) {
        finish_waiters(p, SP_OK, "already connected");
        return SP_OK;
    }
    p->backoff_ms = n->cfg.backoff_min_ms;
    evtimer_del(&p->timer);
    dial(p);
    return SP_OK;
}

/* Drops the waiters of list whose caller is arg. */
static void drop_waiters(waiter **list, void *arg)
{
    for (waiter **pw = list; *pw;) {
        waiter *w = *pw;
        if (w->arg == arg) {
            *pw = w->next;
            free(w);
        } else {
            pw = &w->next;
        }
    }
}

void net_node_connect_cancel(net_node *n, void *arg)
{
    for (peer *p = n->peers; p; p = p->next)
        drop_waiters(&p->waiters, arg);
    drop_waiters(&n->done, arg);
}
