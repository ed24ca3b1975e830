/*
 * store/syncer.h — the fsync of commits made without one, on a thread of its own.
 *
 * A commit made with store_set_durable(db, 0) is written but not on stable storage; store_sync
 * puts it there, but blocks its caller for the length of an fdatasync (about a millisecond on a
 * virtual disk), and on the reactor every message queued behind it waits as long. The syncer does
 * the same fdatasync on its own thread: the caller asks (store_syncer_request returns a ticket
 * for everything committed so far) and goes on; the thread syncs, folding every request that came
 * meanwhile into one fdatasync, and signals a file descriptor the caller polls (the reactor's
 * event). store_syncer_done then says which tickets are covered. No libevent here: the caller
 * watches store_syncer_fd with whatever loop it runs.
 */
#ifndef SP_STORE_SYNCER_H
#define SP_STORE_SYNCER_H

#include <stdint.h>

#include "base/err.h"
#include "store/db.h"

typedef struct store_syncer store_syncer;

/* Starts the thread for db's log. db must outlive the syncer. */
sp_err store_syncer_start(store_db *db, store_syncer **out);
/* Syncs what was asked and not yet synced, stops and joins the thread. SP_ERR_IO if an fdatasync
 * failed that no store_syncer_done reported yet. NULL is fine. */
sp_err store_syncer_stop(store_syncer *s);

/* Asks for an fdatasync covering every commit made before this call; returns its ticket (1, 2, ...).
 * Never blocks on the disk. */
uint64_t store_syncer_request(store_syncer *s);
/* Readable once a sync has finished since the last store_syncer_done (an eventfd). */
int store_syncer_fd(const store_syncer *s);
/* Clears the fd's readiness; *synced = the highest ticket whose fsync has finished. SP_ERR_IO if
 * one failed since the last call: then the tickets that became finished with this call are not
 * known to be on stable storage (later tickets are still tried). */
sp_err store_syncer_done(store_syncer *s, uint64_t *synced);
/* Tickets asked for and not yet covered. */
uint64_t store_syncer_pending(const store_syncer *s);

#endif
