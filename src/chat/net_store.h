/*
 * chat/net_store.h — ties net's frame log to the store, so that what a frame carries and the frame
 * itself become durable in the right order, with as few fsyncs as possible.
 *
 * Received frames: net/ logs a burst of frames, hands each up, and commits its log a moment later
 * (persist->flush); from then on it will not hand those frames up again. The channel engine stores
 * what it received in a group commit; this decorator runs that group commit first, inside every
 * flush, so a frame is never durable in net's log before what it carried is durable in the store.
 * (A crash between the two commits makes net hand the frames up again; the engine ignores the
 * repeats.)
 *
 * Frames this daemon originates: they are kept in the store (store/own_frames.h), not in net.db.
 * The engine calls net's broadcast inside its group-commit transaction; net appends the frames
 * (into that transaction) and then calls persist->sync before it relays them, which commits the
 * transaction. So a sent message, the ratchet state that encrypted it and the frame that carries
 * it reach stable storage together, with one fsync, before the frame leaves.
 */
#ifndef SP_CHAT_NET_STORE_H
#define SP_CHAT_NET_STORE_H

#include "base/err.h"
#include "chat/channels.h"
#include "net/identity.h"
#include "net/persist.h"

/* *out wraps inner and owns it (net_persist_free(*out) frees both); c is borrowed and must outlive
 * every flush (free the node first). self is this node's public key (copied). Own frames that an
 * older version kept in inner are copied into the store first, so their sequence numbers are
 * never reused. */
sp_err chat_net_persist_wrap(net_persist *inner, chat_channels *c, const uint8_t self[NET_PUBKEY_LEN],
                             net_persist **out);

#endif
