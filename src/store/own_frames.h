/*
 * store/own_frames.h — the gossip frames this daemon originated, by sequence number.
 *
 * The P2P layer keeps every frame it relays in its own file (net.db, synced lazily: a frame lost
 * there comes back from a neighbour). The frames this daemon originates exist nowhere else until
 * they leave, so they must be on stable storage first; keeping them here lets one transaction
 * (one fsync) hold a sent message, the advanced MLS state and the frame that carries it
 * (chat/net_store.c routes net's persistence of its own origin here). Sequences start at 1 and
 * are contiguous. Callers wrap writes in store_tx_begin/end to group them; alone, each call is
 * its own transaction.
 */
#ifndef SP_STORE_OWN_FRAMES_H
#define SP_STORE_OWN_FRAMES_H

#include <stddef.h>
#include <stdint.h>
#include "store/db.h"

/* Return non-zero to stop the iteration; body is valid during the call only. */
typedef int (*store_own_frame_cb)(void *arg, uint64_t seq, const uint8_t *body, size_t len);

/* Stores frame seq (>= 1); SP_ERR_EXISTS, changing nothing, when seq is already held. */
sp_err store_own_frame_put(store_db *db, uint64_t seq, const uint8_t *body, size_t len);
/* *held = 1 when frame seq is stored. */
sp_err store_own_frame_held(store_db *db, uint64_t seq, int *held);
/* Frames with seq > after, ascending, at most max of them, each passed to cb. */
sp_err store_own_frames_after(store_db *db, uint64_t after, size_t max, store_own_frame_cb cb, void *arg);
/* The highest sequence stored, 0 when none. */
sp_err store_own_frames_max(store_db *db, uint64_t *max);

#endif
