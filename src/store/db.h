/*
 * store/db.h — the daemon's one sqlite database: opening, schema migrations, transactions.
 *
 * Everything the daemon's users, spaces, channels and messages need across restarts lives in one
 * file (`<datadir>/spacepanda.db`) behind this module and its typed siblings (store/profiles.h, store/spaces.h, store/messages.h,
 * store/mls_state.h, store/outbox.h). Nothing outside store/ sees sqlite. The P2P address book and
 * gossip frame log are not here: net/ keeps them in its own file (net/persist_sqlite.c, net.db).
 *
 * Opening a file: it is created if absent; an older schema is migrated forward in one transaction;
 * a file whose schema is newer than this build, that belongs to another application, or that is
 * not a sqlite database at all is refused (SP_ERR_UNSUPPORTED / SP_ERR_INVALID) and left untouched.
 * The connection runs in WAL mode with foreign keys on, a busy timeout and synchronous=FULL, so a
 * committed transaction survives a crash of the process or of the machine.
 *
 * Every typed store_* operation is one transaction. Callers that need several operations to be
 * atomic together (e.g. "store the message and the advanced MLS state") wrap them in
 * store_tx_begin/store_tx_end: the operations inside then become savepoints of that transaction.
 *
 * The handle is single-threaded: use it from the reactor thread only.
 */
#ifndef SP_STORE_DB_H
#define SP_STORE_DB_H

#include <stddef.h>
#include <stdint.h>
#include "base/err.h"

typedef struct store_db store_db;

/* The schema version this build writes (PRAGMA user_version). */
#define STORE_SCHEMA_VERSION 4

/* Opens (creating if needed) and migrates the database at path. On failure *out is NULL and a
 * human-readable reason is written to errbuf (if non-NULL). Errors: SP_ERR_UNSUPPORTED (newer
 * schema), SP_ERR_INVALID (not a spacepanda database, or corrupt), SP_ERR_IO, SP_ERR_NOMEM. */
sp_err store_open(const char *path, store_db **out, char *errbuf, size_t errlen);
/* Finalizes the cached statements and closes the file. NULL is fine. */
void store_close(store_db *db);

/* Durability of each commit: 1 (default) = synchronous=FULL, fsync at every commit;
 * 0 = synchronous=NORMAL: still crash-safe for the process, may lose the last commits on power loss. */
sp_err store_set_durable(store_db *db, int durable);

/* An explicit transaction around several store_* calls; nests (inner levels are savepoints).
 * store_tx_end commits when ok is SP_OK and returns the commit's result (which can itself fail,
 * SP_ERR_IO); otherwise it rolls back that level only and returns ok unchanged. */
sp_err store_tx_begin(store_db *db);
sp_err store_tx_end(store_db *db, sp_err ok);

/* Puts every commit made so far on stable storage (fdatasync of the WAL): what a commit made with
 * store_set_durable(db, 0) lacks. SP_ERR_IO if that fails. */
sp_err store_sync(store_db *db);

/* The last sqlite error message of this connection (for logs). */
const char *store_errmsg(store_db *db);

/* Current time in Unix milliseconds (what every created_at column holds). */
int64_t store_now_ms(void);

#endif
