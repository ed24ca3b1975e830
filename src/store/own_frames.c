/* own_frames.c — the own_frames table (see own_frames.h). */
#include "store/own_frames.h"

#include "store/internal.h"

#define SEQ_MAX ((uint64_t)INT64_MAX)

static sp_err put(store_db *db, uint64_t seq, const uint8_t *body, size_t len)
{
    static const char SQL[] = "INSERT INTO own_frames(seq, body) VALUES (?, ?)";
    sqlite3_stmt *st = store_stmt(db, SQL);
    if (!st)
        return SP_ERR_INTERNAL;
    sqlite3_bind_int64(st, 1, (int64_t)seq);
    store_bind_blob(st, 2, body, len);
    return store_exec_stmt(db, st);
}

sp_err store_own_frame_put(store_db *db, uint64_t seq, const uint8_t *body, size_t len)
{
    if (seq == 0 || seq > SEQ_MAX || (!body && len))
        return SP_ERR_INVALID;
    STORE_TX(db, put(db, seq, body, len));
}

sp_err store_own_frame_held(store_db *db, uint64_t seq, int *held)
{
    static const char SQL[] = "SELECT count(*) FROM own_frames WHERE seq = ?";
    *held = 0;
    if (seq == 0 || seq > SEQ_MAX)
        return SP_OK;
    sqlite3_stmt *st = store_stmt(db, SQL);
    if (!st)
        return SP_ERR_INTERNAL;
    sqlite3_bind_int64(st, 1, (int64_t)seq);
    int64_t n = 0;
    sp_err e = store_query_int64(db, st, &n);
    *held = n > 0;
    return e;
}

sp_err store_own_frames_after(store_db *db, uint64_t after, size_t max, store_own_frame_cb cb, void *arg)
{
    static const char SQL[] = "SELECT seq, body FROM own_frames WHERE seq > ? ORDER BY seq LIMIT ?";
    if (after >= SEQ_MAX || max == 0)
        return SP_OK;
    sqlite3_stmt *st = store_stmt(db, SQL);
    if (!st)
        return SP_ERR_INTERNAL;
    sqlite3_bind_int64(st, 1, (int64_t)after);
    sqlite3_bind_int64(st, 2, max > INT64_MAX ? INT64_MAX : (int64_t)max);
    sp_err e;
    /* cb only queues bytes for a link: it never comes back into the store, so stepping while
     * calling it is safe. */
    while ((e = store_step_row(db, st)) == SP_OK) {
        const uint8_t *body = sqlite3_column_blob(st, 1);
        size_t len = (size_t)sqlite3_column_bytes(st, 1);
        if (cb(arg, (uint64_t)sqlite3_column_int64(st, 0), body, len))
            break;
    }
    sqlite3_reset(st);
    return e == SP_ERR_NOT_FOUND ? SP_OK : e;
}

sp_err store_own_frames_max(store_db *db, uint64_t *max)
{
    static const char SQL[] = "SELECT max(seq) FROM own_frames";
    sqlite3_stmt *st = store_stmt(db, SQL);
    *max = 0;
    if (!st)
        return SP_ERR_INTERNAL;
    int64_t v = 0;
    sp_err e = store_query_int64(db, st, &v);
    if (!e)
        *max = (uint64_t)v;
    return e;
}
