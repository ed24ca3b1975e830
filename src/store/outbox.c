/* outbox.c — the outbox table. */
#include "store/outbox.h"

#include <stdlib.h>
#include <string.h>
#include "store/internal.h"

static void frame_clear(void *elem)
{
    store_frame *f = elem;
    free(f->dest_peer);
    free(f->origin_peer);
    free(f->payload);
}

void store_frames_free(store_frame *v, size_t n)
{
    if (!v)
        return;
    for (size_t i = 0; i < n; i++)
        frame_clear(&v[i]);
    free(v);
}

/* One row (id, dest, origin, seq, type, payload) into a zeroed store_frame. */
static sp_err frame_from_row(sqlite3_stmt *st, void *elem)
{
    store_frame *f = elem;
    f->id = sqlite3_column_int64(st, 0);
    if (sqlite3_column_type(st, 1) != SQLITE_NULL && !(f->dest_peer = store_col_text(st, 1)))
        return SP_ERR_NOMEM;
    if (!(f->origin_peer = store_col_text(st, 2)))
        return SP_ERR_NOMEM;
    f->origin_seq = (uint64_t)sqlite3_column_int64(st, 3);
    f->type = (uint32_t)sqlite3_column_int64(st, 4);
    return store_col_blob(st, 5, &f->payload, &f->len);
}

static sp_err outbox_add(store_db *db, const char *dest, const char *origin, uint64_t seq,
                         uint32_t type, const uint8_t *payload, size_t len, int64_t *id)
{
    static const char SQL[] =
        "INSERT INTO outbox(dest_peer, origin_peer, origin_seq, type, payload, created_at) "
        "VALUES (?,?,?,?,?,?)";
    sqlite3_stmt *st = store_stmt(db, SQL);
    if (!st)
        return SP_ERR_INTERNAL;
    store_bind_text(st, 1, dest);
    store_bind_text(st, 2, origin);
    sqlite3_bind_int64(st, 3, (int64_t)seq);
    sqlite3_bind_int64(st, 4, type);
    store_bind_blob(st, 5, payload, len);
    sqlite3_bind_int64(st, 6, store_now_ms());
    sp_err e = store_exec_stmt(db, st);
    if (!e && id)
        *id = sqlite3_last_insert_rowid(db->sq);
    return e;
}

sp_err store_outbox_add(store_db *db, const char *dest, const char *origin, uint64_t origin_seq,
                        uint32_t type, const uint8_t *payload, size_t len, int64_t *id)
{
    if (!origin)
        return SP_ERR_INVALID;
    STORE_TX(db, outbox_add(db, dest, origin, origin_seq, type, payload, len, id));
}

static sp_err outbox_list(store_db *db, const char *dest, int64_t after_id, int limit,
                          store_frame **out, size_t *n)
{
    static const char SQL[] =
        "SELECT id, dest_peer, origin_peer, origin_seq, type, payload FROM outbox "
        "WHERE dest_peer IS ? AND id > ? ORDER BY id LIMIT ?";
    sqlite3_stmt *st = store_stmt(db, SQL);
    if (!st)
        return SP_ERR_INTERNAL;
    store_bind_text(st, 1, dest);
    sqlite3_bind_int64(st, 2, after_id);
    sqlite3_bind_int(st, 3, limit);
    void *v = NULL;
    sp_err e = store_collect_rows(db, st, limit, sizeof(store_frame), frame_from_row, frame_clear, &v, n);
    if (!e)
        *out = v;
    return e;
}

sp_err store_outbox_list(store_db *db, const char *dest, int64_t after_id, int limit,
                         store_frame **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    if (limit <= 0)
        return SP_ERR_INVALID;
    STORE_RTX(db, outbox_list(db, dest, after_id, limit, out, n));
}

static sp_err outbox_remove(store_db *db, int64_t id)
{
    static const char SQL[] = "DELETE FROM outbox WHERE id = ?";
    sqlite3_stmt *st = store_stmt(db, SQL);
    if (!st)
        return SP_ERR_INTERNAL;
    sqlite3_bind_int64(st, 1, id);
    return store_exec_changed(db, st);
}

sp_err store_outbox_remove(store_db *db, int64_t id)
{
    STORE_TX(db, outbox_remove(db, id));
}

static sp_err outbox_prune(store_db *db, const char *dest, int64_t before_ms, int max, int *removed)
{
    static const char SQL[] =
        "DELETE FROM outbox WHERE id IN (SELECT id FROM outbox WHERE dest_peer IS ? ORDER BY id LIMIT ?) "
        "AND created_at < ?";
    sqlite3_stmt *st = store_stmt(db, SQL);
    if (!st)
        return SP_ERR_INTERNAL;
    store_bind_text(st, 1, dest);
    sqlite3_bind_int(st, 2, max);
    sqlite3_bind_int64(st, 3, before_ms);
    sp_err e = store_exec_stmt(db, st);
    if (!e && removed)
        *removed = sqlite3_changes(db->sq);
    return e;
}

sp_err store_outbox_prune(store_db *db, const char *dest, int64_t before_ms, int max, int *removed)
{
    if (removed)
        *removed = 0;
    if (max <= 0)
        return SP_ERR_INVALID;
    STORE_TX(db, outbox_prune(db, dest, before_ms, max, removed));
}

static sp_err outbox_count(store_db *db, const char *dest, int limit, int *n)
{
    static const char SQL[] = "SELECT count(*) FROM (SELECT 1 FROM outbox WHERE dest_peer IS ? LIMIT ?)";
    sqlite3_stmt *st = store_stmt(db, SQL);
    if (!st)
        return SP_ERR_INTERNAL;
    store_bind_text(st, 1, dest);
    sqlite3_bind_int(st, 2, limit);
    int64_t v = 0;
    sp_err e = store_query_int64(db, st, &v);
    *n = (int)v;
    return e;
}

sp_err store_outbox_count(store_db *db, const char *dest, int limit, int *n)
{
    *n = 0;
    if (limit <= 0)
        return SP_ERR_INVALID;
    STORE_RTX(db, outbox_count(db, dest, limit, n));
}

static sp_err prune_unknown(store_db *db, const char *prefix, int64_t before_ms, int max, int *removed)
{
    /* the prefix's range of the (dest_peer, id) index: [prefix, prefix with its last byte + 1) */
    static const char SQL[] =
        "DELETE FROM outbox WHERE id IN (SELECT o.id FROM outbox o WHERE o.dest_peer >= ?1 AND o.dest_peer < ?2 "
        "AND o.created_at < ?3 AND NOT EXISTS (SELECT 1 FROM channels c WHERE c.channel_id = substr(o.dest_peer, ?4)) "
        "LIMIT ?5)";
    char end[64];
    size_t len = strlen(prefix);
    if (len == 0 || len >= sizeof end)
        return SP_ERR_INVALID;
    memcpy(end, prefix, len + 1);
    end[len - 1]++;
    sqlite3_stmt *st = store_stmt(db, SQL);
    if (!st)
        return SP_ERR_INTERNAL;
    store_bind_text(st, 1, prefix);
    store_bind_text(st, 2, end);
    sqlite3_bind_int64(st, 3, before_ms);
    sqlite3_bind_int(st, 4, (int)len + 1);
    sqlite3_bind_int(st, 5, max);
    sp_err e = store_exec_stmt(db, st);
    if (!e && removed)
        *removed = sqlite3_changes(db->sq);
    return e;
}

sp_err store_outbox_prune_unknown_channels(store_db *db, const char *prefix, int64_t before_ms, int max,
                                           int *removed)
{
    if (removed)
        *removed = 0;
    if (max <= 0 || !prefix)
        return SP_ERR_INVALID;
    STORE_TX(db, prune_unknown(db, prefix, before_ms, max, removed));
}
