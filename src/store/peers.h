/*
 * store/peers.h — the address book: every daemon we were told about (ConnectPeer, --peer, gossip),
 * keyed by the multiaddr we dial, with the peer id once a handshake proved it, when we last had a
 * live link, and how many dials failed since (for backoff). It survives restarts so links come back.
 *
 * Returned arrays own their strings; free with store_peers_free.
 */
#ifndef SP_STORE_PEERS_H
#define SP_STORE_PEERS_H

#include <stddef.h>
#include <stdint.h>
#include "store/db.h"

typedef struct {
    char *addr;             /* multiaddr */
    char *peer_id;          /* NULL until proven */
    int64_t last_seen;      /* ms, 0 = never */
    int64_t failures;       /* consecutive failed dials */
    int64_t added_at;
} store_peer;

void store_peers_free(store_peer *v, size_t n);

/* Adds addr if absent; if peer_id is non-NULL it is recorded (replacing an older one). */
sp_err store_peer_add(store_db *db, const char *addr, const char *peer_id);
/* A live, authenticated link: records the proven peer id and now, and resets failures. */
sp_err store_peer_seen(store_db *db, const char *addr, const char *peer_id, int64_t now_ms);
/* A failed dial: failures + 1. SP_ERR_NOT_FOUND if addr is unknown. */
sp_err store_peer_failed(store_db *db, const char *addr);
sp_err store_peer_remove(store_db *db, const char *addr);
/* All entries, oldest first. */
sp_err store_peer_list(store_db *db, store_peer **out, size_t *n);

#endif
