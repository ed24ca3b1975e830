/* node_int.h — the state that net/node.c (links: handshake, frames, heartbeats), net/gossip.c
 * (relay, our own frames, catch-up) and net/peers.c (the address book, dialling, connect waiters)
 * share. Internal to net/: nothing outside it includes this. */
#ifndef SP_NET_NODE_INT_H
#define SP_NET_NODE_INT_H

#include <stdint.h>
#include <sys/socket.h>

#include <event2/bufferevent.h>
#include <event2/event_struct.h>

#include "net/frame.h"
#include "net/handshake.h"
#include "net/node.h"

typedef struct waiter {
    struct waiter *next;
    net_connect_cb cb;
    void *arg;
    sp_err result;
    char msg[240];
} waiter;

typedef struct link link;

typedef struct peer { /* an address-book entry */
    struct peer *next;
    net_node *node;
    char addr[NET_MULTIADDR_MAX];
    net_multiaddr ma;
    char peer_id[NET_PEER_ID_LEN + 1]; /* pinned or last seen; "" unknown */
    int pinned;
    int is_self;   /* it turned out to be us: never dialled again */
    int verified;  /* a handshake at this address proved peer_id */
    struct event timer;
    unsigned backoff_ms;
    link *link;    /* outbound attempt or link from this entry */
    waiter *waiters;
} peer;

typedef struct {
    uint8_t origin[NET_PUBKEY_LEN];
    uint64_t sent; /* the peer has (or we queued) every frame of origin up to here */
} cursor;

enum { L_CONNECTING, L_HELLO, L_AUTH, L_LIVE, L_CLOSED };
enum { S_WAIT_HAVE, S_PUMP, S_LIVE };

struct link {
    link *next;
    net_node *node;
    struct bufferevent *bev;
    struct event timer; /* handshake deadline, then heartbeat */
    peer *entry;        /* outbound: the entry dialled; inbound: NULL */
    int state, sync;
    net_hello mine, theirs;
    char peer_id[NET_PEER_ID_LEN + 1];
    char remote[NET_MULTIADDR_MAX];
    struct sockaddr_storage remote_sa;
    uint64_t last_rx_ms;
    cursor *cur;
    size_t ncur;
    int dirty;     /* output queued since the last write_out */
    char why[240]; /* close reason, for connect callbacks */
};

/* A frame accepted in the current read batch, handed up once the batch's relays are written. */
typedef struct handup {
    struct handup *next;
    char origin[NET_PEER_ID_LEN + 1];
    uint64_t seq;
    uint16_t ptype;
    int for_me;
    size_t len;
    uint8_t payload[];
} handup;

/* A frame of ours relayed before it was logged (net_node_send_early), until the commit that logs
 * it succeeds (net_node_log_early, net_node_early_logged). */
typedef struct early_frame {
    struct early_frame *next;
    uint64_t seq;
    int appended; /* appended to the log's open commit */
    size_t len;
    uint8_t body[];
} early_frame;

struct net_node {
    struct event_base *base;
    net_identity *id;
    net_persist *persist;
    net_node_config cfg;
    struct evconnlistener *listener;
    char listen_addr[NET_MULTIADDR_MAX];
    uint16_t listen_port;
    link *links;
    link *dead;     /* closed, waiting for the reaper */
    peer *peers;
    waiter *done;   /* finished connect waiters, called from done_ev */
    struct event reap_ev, done_ev, flush_ev, commit_ev;
    net_have_entry *scratch; /* origins, for pump and HAVE */
    size_t nscratch, capscratch;
    handup *up, **up_tail;   /* this read batch's frames for on_msg, in arrival order */
    uint64_t own_next;       /* our next frame sequence (0: not read from the log yet) */
    early_frame *early, **early_tail; /* ours relayed before they were logged, oldest first */
};

/* node.c: timers, sending on and closing links */
void node_arm(struct event *ev, unsigned ms);
/* Queues one frame on l; written once this loop turn's callbacks have returned (flush_ev). */
void send_frame(link *l, uint8_t type, const uint8_t *payload, size_t len);
/* Closes l now (state, callbacks, redial), frees it from a zero timer; code 0 sends no CLOSE. */
void link_close(link *l, uint16_t code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* A new link on fd (-1: to be connected) for address-book entry entry (NULL: inbound). */
link *link_new(net_node *n, evutil_socket_t fd, peer *entry);

/* gossip.c: frames, relay and catch-up */
void on_gossip(link *l, sp_slice body);
void on_have(link *l, sp_slice payload);
void send_have(link *l);
/* Streams what the peer lacks from the log while l's output has room (sync == S_PUMP). */
void link_pump(link *l);
/* Hands the current read batch's frames to on_msg, in arrival order. */
void hand_up(net_node *n);

/* peers.c: the address book, dialling and connect waiters */
void finish_waiters(peer *p, sp_err result, const char *msg);
void done_cb(evutil_socket_t fd, short what, void *arg);
void schedule_redial(peer *p);
int peer_linked(const net_node *n, const char *peer_id);
peer *find_peer(net_node *n, const char *addr);
peer *add_peer(net_node *n, const net_multiaddr *ma, const char *peer_id, int pinned);
/* persist->peer_list callback: an address-book entry from the last run, dialled at once. */
void load_peer(void *arg, const char *addr, const char *peer_id, int pinned);

#endif
