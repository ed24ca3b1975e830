/*
 * persist.h — what the P2P node needs to keep across restarts, as an interface.
 *
 * net/ does not know sqlite or the store: the daemon hands the node a net_persist (a table of
 * functions and their context). Two implementations exist: net_persist_mem_new (tests, benches)
 * and net_persist_sqlite_open (the daemon, own net_* tables in its database file).
 *
 * What is kept:
 *  - the address book: multiaddrs (without /p2p/) to redial, with the peer id last seen there and
 *    whether that id is pinned (the user gave /p2p/<id>, so a different key there is refused);
 *  - the frame log: every gossip frame body (frame.h: origin, seq, dest, ptype, payload) this node
 *    originated or accepted, keyed by (origin, seq). It is the dedup set, the source of catch-up,
 *    and where frames wait when a link's output queue is full;
 *  - per origin: the highest contiguous sequence held (1..contig all present) and the highest held.
 *
 * Writes may be batched by the implementation until flush(), which the node calls before it lets
 * the event loop send anything that depends on them. All functions run on the reactor thread.
 */
#ifndef SP_NET_PERSIST_H
#define SP_NET_PERSIST_H

#include <stddef.h>
#include <stdint.h>
#include "base/err.h"
#include "net/identity.h"

/* Return non-zero to stop the iteration. */
typedef int (*net_frame_cb)(void *arg, uint64_t seq, const uint8_t *body, size_t len);
typedef void (*net_origin_cb)(void *arg, const uint8_t origin[NET_PUBKEY_LEN], uint64_t contig, uint64_t max);
/* peer_id is "" when never seen. */
typedef void (*net_peer_cb)(void *arg, const char *addr, const char *peer_id, int pinned);

typedef struct net_persist {
    void *ctx;
    /* Adds or updates an address-book entry (addr is a multiaddr without /p2p/). */
    sp_err (*peer_save)(void *ctx, const char *addr, const char *peer_id, int pinned);
    sp_err (*peer_list)(void *ctx, net_peer_cb cb, void *arg);
    /* Stores a frame body; SP_ERR_EXISTS (nothing changed) when (origin, seq) is already held. */
    sp_err (*frame_append)(void *ctx, const uint8_t origin[NET_PUBKEY_LEN], uint64_t seq,
                           const uint8_t *body, size_t len);
    sp_err (*frame_seen)(void *ctx, const uint8_t origin[NET_PUBKEY_LEN], uint64_t seq, int *seen);
    /* Frames of origin with seq > after, ascending, at most max of them. */
    sp_err (*frames_after)(void *ctx, const uint8_t origin[NET_PUBKEY_LEN], uint64_t after, size_t max,
                           net_frame_cb cb, void *arg);
    /* Every origin held, with its highest contiguous and highest sequence. */
    sp_err (*origins)(void *ctx, net_origin_cb cb, void *arg);
    /* Zeros when the origin is unknown; the node numbers its own frames max + 1. */
    sp_err (*origin_state)(void *ctx, const uint8_t origin[NET_PUBKEY_LEN], uint64_t *contig, uint64_t *max);
    /* Makes everything written so far durable. */
    sp_err (*flush)(void *ctx);
    void (*destroy)(void *ctx);
} net_persist;

/* In memory, nothing durable: for tests and benchmarks. Free with net_persist_free. */
sp_err net_persist_mem_new(net_persist **out);
/* sqlite at path (created if needed; WAL). Creates net_peers, net_frames, net_origins if absent. */
sp_err net_persist_sqlite_open(const char *path, net_persist **out);
/* Calls destroy and frees the struct; NULL is fine. */
void net_persist_free(net_persist *p);

#endif
