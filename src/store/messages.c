/* messages.c — the messages table. */
#include "store/messages.h"

#include <stdlib.h>
#include <string.h>
#include "store/internal.h"

void store_message_clear(store_message *m)
{
    if (!m)
        return;
    free(m->sender_id);
    free(m->content);
    free(m->origin_peer);
    memset(m, 0, sizeof *m);
}

static void clear_elem(void *m)
{
    store_message_clear(m);
}

void store_messages_free(store_message *v, size_t n)
{
    if (!v)
        return;
    for (size_t i = 0; i < n; i++)
        store_message_clear(&v[i]);
    free(v);
}

static sp_err last_seq(store_db *db, const char *channel_id, int64_t *seq)
{
    /* MAX over the (channel_id, chan_seq) unique index: one descent, not a scan. */
    static const char SQL[] = "SELECT max(chan_seq) FROM messages WHERE channel_id = ?";
    sqlite3_stmt *st = store_stmt(db, SQL);
    if (!st)
        return SP_ERR_INTERNAL;
    store_bind_text(st, 1, channel_id);
    return store_query_int64(db, st, seq);
}

sp_err store_messages_last_seq(store_db *db, const char *channel_id, int64_t *seq)
{
    STORE_RTX(db, last_seq(db, channel_id, seq));
}

static sp_err put_one(store_db *db, store_message *m)
{
    static const char SQL[] =
        "INSERT INTO messages(message_id, channel_id, chan_seq, sender_id, content, timestamp, "
        "origin_peer, origin_seq) VALUES (?,?,?,?,?,?,?,?)";
    int64_t seq = 0;
    sp_err e = last_seq(db, m->channel_id, &seq);
    if (e)
        return e;
    sqlite3_stmt *st = store_stmt(db, SQL);
    if (!st)
        return SP_ERR_INTERNAL;
    store_bind_text(st, 1, m->id);
    store_bind_text(st, 2, m->channel_id);
    sqlite3_bind_int64(st, 3, seq + 1);
    store_bind_text(st, 4, m->sender_id ? m->sender_id : "");
    store_bind_text(st, 5, m->content ? m->content : "");
    sqlite3_bind_int64(st, 6, m->timestamp);
    store_bind_text(st, 7, m->origin_peer);
    if (m->origin_peer)
        sqlite3_bind_int64(st, 8, m->origin_seq);
    else
        sqlite3_bind_null(st, 8);
    e = store_exec_stmt(db, st);
    if (!e)
        m->seq = seq + 1;
    return e;
}

sp_err store_message_put(store_db *db, store_message *m)
{
    STORE_TX(db, put_one(db, m));
}

static sp_err put_batch(store_db *db, store_message *v, size_t n, size_t *stored)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        sp_err e = put_one(db, &v[i]);
        if (e == SP_ERR_EXISTS)
            continue;
        if (e)
            return e;
        k++;
    }
    if (stored)
        *stored = k;
    return SP_OK;
}

sp_err store_message_put_batch(store_db *db, store_message *v, size_t n, size_t *stored)
{
    STORE_TX(db, put_batch(db, v, n, stored));
}

#define MESSAGE_COLS \
    "message_id, channel_id, chan_seq, sender_id, content, timestamp, origin_peer, origin_seq"

static sp_err from_row(sqlite3_stmt *st, void *elem)
{
    store_message *m = elem;
    memset(m, 0, sizeof *m);
    store_col_text_into(st, 0, m->id, sizeof m->id);
    store_col_text_into(st, 1, m->channel_id, sizeof m->channel_id);
    m->seq = sqlite3_column_int64(st, 2);
    m->sender_id = store_col_text(st, 3);
    m->content = store_col_text(st, 4);
    m->timestamp = sqlite3_column_int64(st, 5);
    if (sqlite3_column_type(st, 6) != SQLITE_NULL) {
        m->origin_peer = store_col_text(st, 6);
        m->origin_seq = sqlite3_column_int64(st, 7);
        if (!m->origin_peer)
            return SP_ERR_NOMEM;
    }
    return m->sender_id && m->content ? SP_OK : SP_ERR_NOMEM;
}

sp_err store_message_get(store_db *db, const char *message_id, store_message *out)
{
    static const char SQL[] = "SELECT " MESSAGE_COLS " FROM messages WHERE message_id = ?";
    memset(out, 0, sizeof *out);
    sqlite3_stmt *st = store_stmt(db, SQL);
    if (!st)
        return SP_ERR_INTERNAL;
    store_bind_text(st, 1, message_id);
    sp_err e = store_step_row(db, st);
    if (!e)
        e = from_row(st, out);
    sqlite3_reset(st);
    if (e)
        store_message_clear(out);
    return e;
}

/* Reads up to limit rows of st into a fresh array; reverse=1 fills it back to front (the query
 * ran newest first, the caller wants oldest first). */
static sp_err collect(store_db *db, sqlite3_stmt *st, int limit, int reverse, store_message **out,
                      size_t *n)
{
    void *raw = NULL;
    size_t k = 0;
    sp_err e = store_collect_rows(db, st, limit, sizeof(store_message), from_row, clear_elem, &raw, &k);
    if (e)
        return e;
    store_message *v = raw;
    if (reverse)
        for (size_t i = 0; i < k / 2; i++) {
            store_message t = v[i];
            v[i] = v[k - 1 - i];
            v[k - 1 - i] = t;
        }
    *out = v;
    *n = k;
    return SP_OK;
}

static sp_err before(store_db *db, const char *channel_id, const char *before_id, int limit,
                     store_message **out, size_t *n)
{
    static const char SQL_POS[] =
        "SELECT chan_seq FROM messages WHERE message_id = ? AND channel_id = ?";
    static const char SQL[] =
        "SELECT " MESSAGE_COLS " FROM messages WHERE channel_id = ? AND chan_seq < ? "
        "ORDER BY chan_seq DESC LIMIT ?";
    int64_t bound = INT64_MAX;
    if (before_id && before_id[0]) {
        sqlite3_stmt *st = store_stmt(db, SQL_POS);
        if (!st)
            return SP_ERR_INTERNAL;
        store_bind_text(st, 1, before_id);
        store_bind_text(st, 2, channel_id);
        sp_err e = store_step_row(db, st);
        if (!e)
            bound = sqlite3_column_int64(st, 0);
        sqlite3_reset(st);
        if (e)
            return e;
    }
    sqlite3_stmt *st = store_stmt(db, SQL);
    if (!st)
        return SP_ERR_INTERNAL;
    store_bind_text(st, 1, channel_id);
    sqlite3_bind_int64(st, 2, bound);
    sqlite3_bind_int(st, 3, limit);
    return collect(db, st, limit, 1, out, n);
}

sp_err store_messages_before(store_db *db, const char *channel_id, const char *before_id,
                             int limit, store_message **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    if (limit <= 0)
        return SP_ERR_INVALID;
    STORE_RTX(db, before(db, channel_id, before_id, limit, out, n));
}

static sp_err after(store_db *db, const char *channel_id, int64_t after_seq, int limit,
                    store_message **out, size_t *n)
{
    static const char SQL[] =
        "SELECT " MESSAGE_COLS " FROM messages WHERE channel_id = ? AND chan_seq > ? "
        "ORDER BY chan_seq LIMIT ?";
    sqlite3_stmt *st = store_stmt(db, SQL);
    if (!st)
        return SP_ERR_INTERNAL;
    store_bind_text(st, 1, channel_id);
    sqlite3_bind_int64(st, 2, after_seq);
    sqlite3_bind_int(st, 3, limit);
    return collect(db, st, limit, 0, out, n);
}

sp_err store_messages_after(store_db *db, const char *channel_id, int64_t after_seq, int limit,
                            store_message **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    if (limit <= 0)
        return SP_ERR_INVALID;
    STORE_RTX(db, after(db, channel_id, after_seq, limit, out, n));
}
