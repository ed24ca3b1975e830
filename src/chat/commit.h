/*
 * chat/commit.h — group commit: many durable writes, one fsync.
 *
 * With synchronous=FULL each sqlite commit costs an fsync (~1 ms here), which caps "one message,
 * one transaction" near a thousand per second. Instead, a caller that must answer only once its
 * write is durable (SendMessage; storing a received message with its MLS state) enqueues the write
 * here. At the end of the reactor turn — after every event that was ready has run — all queued
 * writes run in ONE transaction, each in its own savepoint (a failing write rolls back alone and
 * reports its own error), the transaction commits once, and then each write's done callback runs
 * with the final result. Nothing is answered before the commit that makes it durable.
 *
 * No transaction is left open between reactor events, so other store_* callers are unaffected.
 * All on the reactor thread.
 */
#ifndef SP_CHAT_COMMIT_H
#define SP_CHAT_COMMIT_H

#include "base/err.h"
#include "store/db.h"

struct event_base;
typedef struct chat_committer chat_committer;

/* The write itself, run inside the shared transaction. */
typedef sp_err (*chat_write_fn)(store_db *db, void *arg);
/* After the commit: err is the write's own error, or else the commit's result. */
typedef void (*chat_written_fn)(void *ctx, sp_err err);

/* base and db are borrowed. */
sp_err chat_committer_new(struct event_base *base, store_db *db, chat_committer **out);
/* Runs what is still queued (and its callbacks) before freeing. NULL is fine. */
void chat_committer_free(chat_committer *c);

/* Queues one write; done runs once, after the turn's commit. SP_ERR_NOMEM only. */
sp_err chat_commit_enqueue(chat_committer *c, chat_write_fn write, void *arg, chat_written_fn done,
                           void *ctx);
/* Runs the queue now (normally the reactor does it at the end of the turn). */
void chat_commit_flush(chat_committer *c);
/* Number of transactions committed and writes carried so far (for benches and tests). */
void chat_commit_stats(const chat_committer *c, uint64_t *transactions, uint64_t *writes);

#endif
