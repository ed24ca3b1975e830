/*
 * base/wal_checkpointer.h — WAL checkpoints of an sqlite file on a thread of their own.
 *
 * In WAL mode sqlite copies the log back into the database file (a checkpoint, with two fsyncs)
 * inside whichever commit finds the log past wal_autocheckpoint pages: on the reactor thread,
 * a stall of milliseconds every few hundred commits, felt by every message queued behind it.
 * The store (store/db.c) and net's log (net/persist_sqlite.c) turn automatic checkpoints off on
 * their connection and run this instead: a thread with its own connection that makes a PASSIVE
 * checkpoint (it never blocks the writer) when kicked (the owner's WAL hook does, once the log
 * passes a size) and every period_ms anyway. The file must not be in locking_mode=EXCLUSIVE.
 */
#ifndef SP_BASE_WAL_CHECKPOINTER_H
#define SP_BASE_WAL_CHECKPOINTER_H

#include "base/err.h"

typedef struct sp_wal_checkpointer sp_wal_checkpointer;

/* Starts the thread on the database at path (which must exist, in WAL mode). */
sp_err sp_wal_checkpointer_start(const char *path, unsigned period_ms, sp_wal_checkpointer **out);
/* Stops and joins the thread, closing its connection. NULL is fine. */
void sp_wal_checkpointer_stop(sp_wal_checkpointer *cp);
/* Asks for a checkpoint now (cheap; any thread). */
void sp_wal_checkpointer_kick(sp_wal_checkpointer *cp);
/* Number of checkpoints run so far (for tests and logs). */
unsigned long sp_wal_checkpointer_runs(sp_wal_checkpointer *cp);

#endif
