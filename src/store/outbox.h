/*
 * store/outbox.h — the outbox: durable queues of frames kept until their consumer is done with them,
 * across restarts. An entry's destination (dest_peer) names its queue: a peer, NULL for every peer,
 * or any name a caller picks — chat/ keeps, per channel, the application messages that arrived
 * before the commit of their epoch, and the log of accepted commits a lagging member replays.
 * It lives in the main database so an entry can be written in the same transaction as the state
 * change that makes it necessary.
 *
 * The gossip frame log, per-origin progress and address book are not here: they belong to the P2P
 * layer, in their own file (net/persist.h, net/persist_sqlite.c on <data-dir>/net.db).
 *
 * Payloads are opaque typed bytes. Returned arrays own their strings and payloads; free with
 * store_frames_free.
 */
#ifndef SP_STORE_OUTBOX_H
#define SP_STORE_OUTBOX_H

#include <stddef.h>
#include <stdint.h>
#include "store/db.h"

typedef struct {
    int64_t id;             /* outbox row id, increasing in insertion order */
    char *dest_peer;        /* destination (queue name); NULL = every peer */
    char *origin_peer;
    uint64_t origin_seq;
    uint32_t type;
    uint8_t *payload;
    size_t len;
} store_frame;

void store_frames_free(store_frame *v, size_t n);

/* Adds an entry for dest (NULL = every peer); *id (if non-NULL) receives its row id.
 * origin NULL is SP_ERR_INVALID. */
sp_err store_outbox_add(store_db *db, const char *dest, const char *origin, uint64_t origin_seq,
                        uint32_t type, const uint8_t *payload, size_t len, int64_t *id);
/* Entries for dest (NULL: the broadcast entries) with id > after_id, oldest first, at most limit
 * (limit <= 0 is SP_ERR_INVALID). */
sp_err store_outbox_list(store_db *db, const char *dest, int64_t after_id, int limit,
                         store_frame **out, size_t *n);
/* SP_ERR_NOT_FOUND when no entry has that id. */
sp_err store_outbox_remove(store_db *db, int64_t id);
/* Removes those of dest's oldest max entries that were created before before_ms (Unix ms): bounded
 * work, so a caller can prune a little at every add. *removed (if non-NULL) says how many. */
sp_err store_outbox_prune(store_db *db, const char *dest, int64_t before_ms, int max, int *removed);
/* *n = how many entries dest holds, counting no further than limit (bounded work). */
sp_err store_outbox_count(store_db *db, const char *dest, int limit, int *n);
/* Removes up to max entries created before before_ms from the queues named prefix + a channel id
 * that is not in the channels table (chat/: messages kept for a channel nobody here joined).
 * *removed (if non-NULL) says how many. */
sp_err store_outbox_prune_unknown_channels(store_db *db, const char *prefix, int64_t before_ms, int max,
                                           int *removed);

#endif
