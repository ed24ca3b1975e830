/*
 * store/checkpointer.h — WAL checkpoints on a thread of their own.
 *
 * In WAL mode sqlite copies the log back into the database file (a checkpoint, with two fsyncs)
 * inside whichever commit finds the log past wal_autocheckpoint pages: on the reactor thread,
 * a stall of milliseconds every few hundred commits, felt by every message queued behind it.
 * The store turns automatic checkpoints off on its connection and runs this instead: a thread
 * with its own connection that makes a PASSIVE checkpoint (it never blocks the writer) when
 * kicked (the store's WAL hook does, once the log passes a size) and every period_ms anyway.
 * Internal to store/.
 */
#ifndef SP_STORE_CHECKPOINTER_H
#define SP_STORE_CHECKPOINTER_H

#include "base/err.h"

typedef struct store_checkpointer store_checkpointer;

/* Starts the thread on the database at path (which must exist, in WAL mode). */
sp_err store_checkpointer_start(const char *path, unsigned period_ms, store_checkpointer **out);
/* Stops and joins the thread, closing its connection. NULL is fine. */
void store_checkpointer_stop(store_checkpointer *cp);
/* Asks for a checkpoint now (cheap; any thread). */
void store_checkpointer_kick(store_checkpointer *cp);
/* Number of checkpoints run so far (for tests and logs). */
unsigned long store_checkpointer_runs(store_checkpointer *cp);

#endif
