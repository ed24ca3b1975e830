/*
 * store/messages.h — the messages stored in each channel, in this daemon's order.
 *
 * Each message gets, on insert, the next per-channel sequence number (chan_seq): that is the one
 * total order GetMessages and streams use on this daemon. A message id (UUID) is stored once;
 * inserting it again is SP_ERR_EXISTS, which is how duplicates from the network are ignored.
 * Reading "the newest N before X" is two index lookups (message_id, then (channel_id, chan_seq)),
 * O(log n) whatever the channel's size.
 *
 * Returned arrays and their strings are malloc'd; free them with store_messages_free.
 */
#ifndef SP_STORE_MESSAGES_H
#define SP_STORE_MESSAGES_H

#include <stddef.h>
#include <stdint.h>
#include "store/db.h"

typedef struct {
    char id[37];            /* UUID v4 */
    char channel_id[65];
    int64_t seq;            /* per-channel order, assigned by store_message_put */
    char *sender_id;
    char *content;
    int64_t timestamp;      /* ms */
    char *origin_peer;      /* NULL when not from the network / unknown */
    int64_t origin_seq;
} store_message;

void store_message_clear(store_message *m);
void store_messages_free(store_message *v, size_t n);

/* Stores m and writes its new per-channel sequence into m->seq. SP_ERR_EXISTS if the message id
 * is already stored (nothing changes), SP_ERR_NOT_FOUND if the channel does not exist. */
sp_err store_message_put(store_db *db, store_message *m);
/* Stores n messages in one transaction (each as store_message_put). A duplicate id is skipped,
 * not an error; *stored (may be NULL) counts the new ones. */
sp_err store_message_put_batch(store_db *db, store_message *v, size_t n, size_t *stored);
/* SP_ERR_NOT_FOUND when absent. */
sp_err store_message_get(store_db *db, const char *message_id, store_message *out);
/* The newest `limit` messages of channel_id older than before_id (NULL or "" = the newest),
 * ordered oldest to newest. SP_ERR_NOT_FOUND if before_id is not a message of that channel. */
sp_err store_messages_before(store_db *db, const char *channel_id, const char *before_id,
                             int limit, store_message **out, size_t *n);
/* Messages with seq > after_seq, oldest first, at most limit (streams, catching up a reader). */
sp_err store_messages_after(store_db *db, const char *channel_id, int64_t after_seq, int limit,
                            store_message **out, size_t *n);
/* The highest seq in the channel (0 when empty). */
sp_err store_messages_last_seq(store_db *db, const char *channel_id, int64_t *seq);

#endif
