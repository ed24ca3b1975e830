/* frames.c — the frames, origin_progress and outbox tables. */
#include "store/frames.h"

#include <stdlib.h>
#include <string.h>
#include "store/internal.h"

void store_frame_clear(store_frame *f)
{
    if (!f)
        return;
    free(f->dest_peer);
    free(f->origin_peer);
    free(f->payload);
    memset(f, 0, sizeof *f);
}

void store_frames_free(store_frame *v, size_t n)
{
    if (!v)
        return;
    for (size_t i = 0; i < n; i++)
        store_frame_clear(&v[i]);
    free(v);
}

void store_origins_free(store_origin *v, size_t n)
{
    if (!v)
        return;
    for (size_t i = 0; i < n; i++)
        free(v[i].origin_peer);
    free(v);
}

static sp_err contiguous(store_db *db, const char *origin, uint64_t *c)
{
    static const char SQL[] = "SELECT contiguous FROM origin_progress WHERE origin_peer = ?";
    sqlite3_stmt *st = store_stmt(db, SQL);
    if (!st)
        return SP_ERR_INTERNAL;
    store_bind_text(st, 1, origin);
    int rc = sqlite3_step(st);
    *c = rc == SQLITE_ROW ? (uint64_t)sqlite3_column_int64(st, 0) : 0;
    sqlite3_reset(st);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? SP_OK : store_map(db, sqlite3_extended_errcode(db->sq));
}

sp_err store_origin_contiguous(store_db *db, const char *origin, uint64_t *c)
{
    STORE_RTX(db, contiguous(db, origin, c));
}

/* Moves the mark past every held sequence that directly follows it. */
static sp_err advance(store_db *db, const char *origin, uint64_t from)
{
    static const char SQL_NEXT[] =
        "SELECT origin_seq FROM frames WHERE origin_peer = ? AND origin_seq > ? "
        "ORDER BY origin_seq";
    static const char SQL_SET[] =
        "INSERT INTO origin_progress(origin_peer, contiguous) VALUES (?1, ?2) "
        "ON CONFLICT(origin_peer) DO UPDATE SET contiguous = max(contiguous, ?2)";
    sqlite3_stmt *st = store_stmt(db, SQL_NEXT);
    if (!st)
        return SP_ERR_INTERNAL;
    store_bind_text(st, 1, origin);
    sqlite3_bind_int64(st, 2, (int64_t)from);
    uint64_t c = from;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if ((uint64_t)sqlite3_column_int64(st, 0) != c + 1)
            break;
        c++;
    }
    sp_err e = rc == SQLITE_ROW || rc == SQLITE_DONE ? SP_OK
                                                     : store_map(db, sqlite3_extended_errcode(db->sq));
    sqlite3_reset(st);
    if (e || c == from)
        return e;
    if (!(st = store_stmt(db, SQL_SET)))
        return SP_ERR_INTERNAL;
    store_bind_text(st, 1, origin);
    sqlite3_bind_int64(st, 2, (int64_t)c);
    return store_exec_stmt(db, st);
}

static sp_err put(store_db *db, const char *origin, uint64_t seq, uint32_t type,
                  const uint8_t *payload, size_t len, int *is_new)
{
    static const char SQL[] =
        "INSERT OR IGNORE INTO frames(origin_peer, origin_seq, type, payload, received_at) "
        "VALUES (?,?,?,?,?)";
    uint64_t c = 0;
    sp_err e = contiguous(db, origin, &c);
    if (e)
        return e;
    if (seq <= c) { /* already held (or pruned after being held) */
        *is_new = 0;
        return SP_OK;
    }
    sqlite3_stmt *st = store_stmt(db, SQL);
    if (!st)
        return SP_ERR_INTERNAL;
    store_bind_text(st, 1, origin);
    sqlite3_bind_int64(st, 2, (int64_t)seq);
    sqlite3_bind_int64(st, 3, type);
    store_bind_blob(st, 4, payload, len);
    sqlite3_bind_int64(st, 5, store_now_ms());
    if ((e = store_exec_stmt(db, st)))
        return e;
    *is_new = sqlite3_changes(db->sq) > 0;
    if (*is_new && seq == c + 1)
        e = advance(db, origin, c);
    return e;
}

sp_err store_frame_put(store_db *db, const char *origin, uint64_t origin_seq, uint32_t type,
                       const uint8_t *payload, size_t len, int *is_new)
{
    *is_new = 0;
    if (!origin || !origin[0] || origin_seq == 0 || origin_seq > INT64_MAX)
        return SP_ERR_INVALID;
    STORE_TX(db, put(db, origin, origin_seq, type, payload, len, is_new));
}

static sp_err originate(store_db *db, const char *self, uint32_t type, const uint8_t *payload,
                        size_t len, uint64_t *seq)
{
    static const char SQL_MAX[] = "SELECT max(origin_seq) FROM frames WHERE origin_peer = ?";
    uint64_t c = 0;
    sp_err e = contiguous(db, self, &c);
    if (e)
        return e;
    /* Our own frames are contiguous by construction, but pruning or a restored backup must not
     * make us reuse a sequence: take the larger of the mark and what the log holds. */
    sqlite3_stmt *st = store_stmt(db, SQL_MAX);
    if (!st)
        return SP_ERR_INTERNAL;
    store_bind_text(st, 1, self);
    if (sqlite3_step(st) == SQLITE_ROW && (uint64_t)sqlite3_column_int64(st, 0) > c)
        c = (uint64_t)sqlite3_column_int64(st, 0);
    sqlite3_reset(st);
    int is_new = 0;
    e = put(db, self, c + 1, type, payload, len, &is_new);
    if (!e && !is_new)
        e = SP_ERR_INTERNAL;
    if (!e)
        *seq = c + 1;
    return e;
}

sp_err store_frame_originate(store_db *db, const char *self, uint32_t type, const uint8_t *payload,
                             size_t len, uint64_t *seq)
{
    if (!self || !self[0])
        return SP_ERR_INVALID;
    STORE_TX(db, originate(db, self, type, payload, len, seq));
}

/* Reads rows (id, dest, origin, seq, type, payload) into a fresh array. */
static sp_err collect(store_db *db, sqlite3_stmt *st, int limit, store_frame **out, size_t *n)
{
    store_frame *v = calloc((size_t)limit ? (size_t)limit : 1, sizeof *v);
    if (!v)
        return SP_ERR_NOMEM;
    size_t k = 0;
    sp_err e = SP_OK;
    int rc = SQLITE_DONE;
    while (k < (size_t)limit && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        store_frame *f = &v[k++];
        f->id = sqlite3_column_int64(st, 0);
        if (sqlite3_column_type(st, 1) != SQLITE_NULL && !(f->dest_peer = store_col_text(st, 1))) {
            e = SP_ERR_NOMEM;
            break;
        }
        if (!(f->origin_peer = store_col_text(st, 2))) {
            e = SP_ERR_NOMEM;
            break;
        }
        f->origin_seq = (uint64_t)sqlite3_column_int64(st, 3);
        f->type = (uint32_t)sqlite3_column_int64(st, 4);
        if ((e = store_col_blob(st, 5, &f->payload, &f->len)))
            break;
    }
    if (!e && k < (size_t)limit && rc != SQLITE_DONE)
        e = store_map(db, sqlite3_extended_errcode(db->sq));
    sqlite3_reset(st);
    if (e) {
        store_frames_free(v, k);
        return e;
    }
    *out = v;
    *n = k;
    return SP_OK;
}

sp_err store_frame_get(store_db *db, const char *origin, uint64_t origin_seq, store_frame *out)
{
    static const char SQL[] =
        "SELECT 0, NULL, origin_peer, origin_seq, type, payload FROM frames "
        "WHERE origin_peer = ? AND origin_seq = ?";
    memset(out, 0, sizeof *out);
    sqlite3_stmt *st = store_stmt(db, SQL);
    if (!st)
        return SP_ERR_INTERNAL;
    store_bind_text(st, 1, origin);
    sqlite3_bind_int64(st, 2, (int64_t)origin_seq);
    store_frame *v = NULL;
    size_t n = 0;
    sp_err e = collect(db, st, 1, &v, &n);
    if (e)
        return e;
    if (n == 0) {
        free(v);
        return SP_ERR_NOT_FOUND;
    }
    *out = v[0];
    free(v);
    return SP_OK;
}

static sp_err after(store_db *db, const char *origin, uint64_t after_seq, int limit,
                    store_frame **out, size_t *n)
{
    static const char SQL[] =
        "SELECT 0, NULL, origin_peer, origin_seq, type, payload FROM frames "
        "WHERE origin_peer = ? AND origin_seq > ? ORDER BY origin_seq LIMIT ?";
    sqlite3_stmt *st = store_stmt(db, SQL);
    if (!st)
        return SP_ERR_INTERNAL;
    store_bind_text(st, 1, origin);
    sqlite3_bind_int64(st, 2, (int64_t)after_seq);
    sqlite3_bind_int(st, 3, limit);
    return collect(db, st, limit, out, n);
}

sp_err store_frames_after(store_db *db, const char *origin, uint64_t after_seq, int limit,
                          store_frame **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    if (limit <= 0)
        return SP_ERR_INVALID;
    STORE_RTX(db, after(db, origin, after_seq, limit, out, n));
}

static sp_err origins(store_db *db, store_origin **out, size_t *n)
{
    static const char SQL[] =
        "SELECT origin_peer, contiguous FROM origin_progress ORDER BY origin_peer";
    sqlite3_stmt *st = store_stmt(db, SQL);
    if (!st)
        return SP_ERR_INTERNAL;
    store_origin *v = NULL;
    size_t len = 0, cap = 0;
    sp_err e = SP_OK;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (len == cap) {
            size_t nc = cap ? cap * 2 : 8;
            store_origin *nv = realloc(v, nc * sizeof *nv);
            if (!nv) {
                e = SP_ERR_NOMEM;
                break;
            }
            v = nv;
            cap = nc;
        }
        v[len].contiguous = (uint64_t)sqlite3_column_int64(st, 1);
        if (!(v[len].origin_peer = store_col_text(st, 0))) {
            e = SP_ERR_NOMEM;
            break;
        }
        len++;
    }
    if (!e && rc != SQLITE_DONE)
        e = store_map(db, sqlite3_extended_errcode(db->sq));
    sqlite3_reset(st);
    if (e) {
        store_origins_free(v, len);
        return e;
    }
    *out = v;
    *n = len;
    return SP_OK;
}

sp_err store_origin_list(store_db *db, store_origin **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    STORE_RTX(db, origins(db, out, n));
}

static sp_err prune(store_db *db, const char *origin, uint64_t up_to)
{
    static const char SQL[] = "DELETE FROM frames WHERE origin_peer = ? AND origin_seq <= ?";
    sqlite3_stmt *st = store_stmt(db, SQL);
    if (!st)
        return SP_ERR_INTERNAL;
    store_bind_text(st, 1, origin);
    sqlite3_bind_int64(st, 2, (int64_t)up_to);
    return store_exec_stmt(db, st);
}

sp_err store_frames_prune(store_db *db, const char *origin, uint64_t up_to)
{
    STORE_TX(db, prune(db, origin, up_to));
}

/* ---- outbox ------------------------------------------------------------------------------ */

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
    return collect(db, st, limit, out, n);
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
    sp_err e = store_exec_stmt(db, st);
    if (!e && sqlite3_changes(db->sq) == 0)
        e = SP_ERR_NOT_FOUND;
    return e;
}

sp_err store_outbox_remove(store_db *db, int64_t id)
{
    STORE_TX(db, outbox_remove(db, id));
}
