/*
 * chat/net_store.h — ties the group commit of received messages to net's frame log.
 *
 * net/ logs a batch of frames, hands each up, and then makes the log durable (persist->flush):
 * from then on it will not hand those frames up again. The channel engine stores what it received
 * in a group commit that would otherwise run a moment later — a crash in between would lose the
 * messages for good. This decorator of net_persist runs the engine's group commit first, inside
 * every flush, so a frame is never durable in net's log before what it carried is durable in the
 * store. (A crash between the two commits makes net hand the frames up again; the engine ignores
 * the repeats.)
 */
#ifndef SP_CHAT_NET_STORE_H
#define SP_CHAT_NET_STORE_H

#include "base/err.h"
#include "chat/channels.h"
#include "net/persist.h"

/* *out wraps inner and owns it (net_persist_free(*out) frees both); c is borrowed and must outlive
 * every flush (free the node first). */
sp_err chat_net_persist_wrap(net_persist *inner, chat_channels *c, net_persist **out);

#endif
