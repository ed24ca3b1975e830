/*
 * node.h — the P2P node: listener, dialer, authenticated links, gossip relay, catch-up.
 *
 * One net_node runs on the caller's libevent event_base (the daemon's single reactor). It owns
 * its links and address book; it borrows the identity and the persistence (persist.h), which
 * must outlive it. The upper layer sees only typed opaque payloads: it originates them with
 * net_node_broadcast / net_node_unicast and receives everyone else's through on_msg, once each.
 *
 * Delivery: every frame carries (origin peer id, origin sequence). A node stores a frame it has
 * not seen in the log, hands it to on_msg (unless it is unicast to someone else, or its own),
 * then relays it to all its other live links. Unicast is a flood with a destination field: only
 * the destination hands it up. Across a crash the window of one read batch may be handed up again
 * after restart (at-least-once), so the handler must tolerate a repeat; while running it is exactly
 * once. Relayed frames are committed (not fsynced) before they are relayed or handed up: a power
 * loss can drop the last of them, and catch-up from the neighbours brings them back. Order is per link arrival, not per origin sequence: catch-up sends in origin order, live
 * relay may interleave paths.
 */
#ifndef SP_NET_NODE_H
#define SP_NET_NODE_H

#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/err.h"
#include "net/identity.h"
#include "net/multiaddr.h"
#include "net/persist.h"

struct event_base;
typedef struct net_node net_node;

typedef struct {
    const char *origin; /* peer id (64 hex) of the node that originated it */
    uint64_t seq;
    uint16_t ptype;
    int unicast;        /* addressed to this node alone */
    sp_slice payload;   /* valid during the callback only */
} net_msg;

typedef void (*net_msg_cb)(void *arg, const net_msg *msg);
/* result SP_OK once the link is authenticated; otherwise message says why (NUL-terminated). */
typedef void (*net_connect_cb)(void *arg, sp_err result, const char *message);

typedef struct {
    const char *listen_host;  /* default "127.0.0.1"; "0.0.0.0" is reported as 127.0.0.1 */
    uint16_t listen_port;     /* 0: an ephemeral port */
    net_msg_cb on_msg;
    void *on_msg_arg;
    /* 0 means the default in parentheses */
    unsigned heartbeat_ms;    /* (1000) a HEARTBEAT is sent this often on a live link */
    unsigned dead_ms;         /* (6000) a link with nothing received for this long is closed */
    unsigned handshake_ms;    /* (5000) a link must be authenticated within this */
    unsigned backoff_min_ms;  /* (200) first redial delay, doubled per failure ... */
    unsigned backoff_max_ms;  /* (5000) ... up to this; each delay is jittered into [d/2, d] */
    size_t out_queue_max;     /* (4 MiB) bytes queued per link before relaying pauses for it */
    unsigned commit_delay_ms; /* (5) received frames are relayed at once and committed to the log
                                 (persist->flush) this long after the first of them: one commit,
                                 and one fsync upstairs, per burst rather than per read */
} net_node_config;

/* Binds the listener, loads the address book from persist and starts dialling it.
 * SP_ERR_IO when the port cannot be bound. */
sp_err net_node_new(struct event_base *base, net_identity *id, net_persist *persist,
                    const net_node_config *cfg, net_node **out);
/* Writes what is queued for every link now, instead of after the current callbacks return. */
void net_node_flush(net_node *n);
/* Closes every link; pending connect callbacks are dropped, not called. NULL is fine. */
void net_node_free(net_node *n);

const char *net_node_peer_id(const net_node *n);
/* "/ip4/127.0.0.1/tcp/<bound port>", owned by n. */
const char *net_node_listen_addr(const net_node *n);

/* Adds multiaddr to the (persisted) address book and dials it now. SP_ERR_INVALID with a reason in
 * err for a malformed multiaddr; otherwise cb (if not NULL) is called later, exactly once, from
 * the event loop: SP_OK when a link to that peer is authenticated (or already was), an error with
 * a reason when this attempt failed. The peer stays in the book and is redialled either way. */
sp_err net_node_connect(net_node *n, const char *multiaddr, net_connect_cb cb, void *arg, char *err,
                        size_t errlen);
/* Forgets pending callbacks whose arg is arg (a caller that goes away first). */
void net_node_connect_cancel(net_node *n, void *arg);

/* Peer ids of live authenticated links: copies up to max into ids, returns how many there are. */
size_t net_node_links(const net_node *n, char (*ids)[NET_PEER_ID_LEN + 1], size_t max);

/* Originates a frame to every node (broadcast) or to the node dest_peer_id (unicast). It is
 * committed and fsynced in the log (persist sync()) before these return SP_OK and before it is
 * relayed; *seq (may be NULL) receives its origin sequence.
 * SP_ERR_TOO_LARGE over NET_PAYLOAD_MAX, SP_ERR_INVALID for a malformed dest. */
sp_err net_node_broadcast(net_node *n, uint16_t ptype, const uint8_t *payload, size_t len, uint64_t *seq);
sp_err net_node_unicast(net_node *n, const char *dest_peer_id, uint16_t ptype, const uint8_t *payload,
                        size_t len, uint64_t *seq);
/* Broadcasts count payloads with one log commit (consecutive sequences from *first_seq): for a
 * caller that batches, e.g. group commit. On an error, *done (may be NULL) frames were still
 * logged and relayed; SP_ERR_INVALID for count 0. */
sp_err net_node_broadcast_many(net_node *n, uint16_t ptype, const sp_slice *payloads, size_t count,
                               uint64_t *first_seq, size_t *done);

/* Broadcasts a frame before it is logged: it is relayed with this loop turn's writes, and stays
 * in memory until the caller logs it. For a caller that can make a lost frame harmless (after an
 * unclean stop it moves our frame numbers past any that may have left unlogged, and whatever the
 * payload protects past its own reuse). The caller then, inside a transaction of the persist's store:
 * net_node_log_early appends every such frame not yet logged; after the commit (or its failure),
 * net_node_early_logged(n, committed) forgets them, or keeps them for the next try.
 * A link that catches up from the log meanwhile gets them from memory. */
sp_err net_node_send_early(net_node *n, uint16_t ptype, const uint8_t *payload, size_t len, uint64_t *seq);
sp_err net_node_log_early(net_node *n);
void net_node_early_logged(net_node *n, int committed);
/* Frames sent early and not yet logged. */
size_t net_node_early_count(const net_node *n);

#endif
