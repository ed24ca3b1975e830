/*
 * persist_sqlite.c — net_persist on sqlite: its own file (the daemon uses <data dir>/net.db) and
 * its own tables net_*.
 *
 * Kept apart from store/ on purpose (the lead may fold it into the store's schema later). It is a
 * separate file because the node commits once per read batch, after handing frames up: sharing
 * the store's file would make the store's writes wait on that open transaction. Writes
 * are batched: the first write opens a transaction and flush() commits it, so a burst of relayed
 * frames costs one fsync-free WAL commit. Per-origin (contig, max) are cached in memory, loaded at
 * open and written back once per transaction, so the dedup check for a new frame is usually
 * answered without a query and a frame costs one INSERT.
 */
#include "net/persist.h"

#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"

typedef struct {
    uint8_t origin[NET_PUBKEY_LEN];
    uint64_t contig, max;
    int dirty; /* changed in the open transaction: written to net_origins at flush */
} sq_origin;

typedef struct {
    sqlite3 *db;
    sqlite3_stmt *peer_save, *peer_list, *ins, *has, *after, *origin_up;
    int in_txn;
    sq_origin *origins;
    size_t norigins;
} sq_ctx;

static const char SCHEMA[] =
    "CREATE TABLE IF NOT EXISTS net_peers(addr TEXT PRIMARY KEY, peer_id TEXT NOT NULL DEFAULT '',"
    " pinned INTEGER NOT NULL DEFAULT 0);"
    /* A rowid table (bodies appended in arrival order) with a small unique index: a WITHOUT ROWID
     * table keyed by (origin, seq) would move kilobyte rows around its b-tree on every insert. */
    "CREATE TABLE IF NOT EXISTS net_frames(id INTEGER PRIMARY KEY, origin BLOB NOT NULL, seq INTEGER NOT NULL,"
    " body BLOB NOT NULL, UNIQUE(origin, seq));"
    "CREATE TABLE IF NOT EXISTS net_origins(origin BLOB PRIMARY KEY, contig INTEGER NOT NULL,"
    " max INTEGER NOT NULL) WITHOUT ROWID;";

static sp_err db_err(sq_ctx *c, const char *what)
{
    SP_ERROR("net: sqlite %s: %s", what, sqlite3_errmsg(c->db));
    return SP_ERR_IO;
}

static sq_origin *find_origin(sq_ctx *c, const uint8_t *o)
{
    for (size_t i = 0; i < c->norigins; i++)
        if (!memcmp(c->origins[i].origin, o, NET_PUBKEY_LEN))
            return &c->origins[i];
    return NULL;
}

static sq_origin *add_origin(sq_ctx *c, const uint8_t *o)
{
    sq_origin *n = realloc(c->origins, (c->norigins + 1) * sizeof *n);
    if (!n)
        return NULL;
    c->origins = n;
    n = &n[c->norigins++];
    memset(n, 0, sizeof *n);
    memcpy(n->origin, o, NET_PUBKEY_LEN);
    return n;
}

/* (Re)reads the per-origin cache from the last committed state (at open, and after a rollback
 * so the cache never claims frames the database does not hold). */
static sp_err load_origins(sq_ctx *c)
{
    sqlite3_stmt *ld = NULL;
    c->norigins = 0;
    if (sqlite3_prepare_v2(c->db, "SELECT origin, contig, max FROM net_origins", -1, &ld, NULL) != SQLITE_OK)
        return db_err(c, "load origins");
    int rc;
    while ((rc = sqlite3_step(ld)) == SQLITE_ROW) {
        if (sqlite3_column_bytes(ld, 0) != NET_PUBKEY_LEN)
            continue;
        sq_origin *o = add_origin(c, sqlite3_column_blob(ld, 0));
        if (!o) {
            sqlite3_finalize(ld);
            return SP_ERR_NOMEM;
        }
        o->contig = (uint64_t)sqlite3_column_int64(ld, 1);
        o->max = (uint64_t)sqlite3_column_int64(ld, 2);
    }
    sqlite3_finalize(ld);
    return rc == SQLITE_DONE ? SP_OK : db_err(c, "load origins");
}

static void rollback(sq_ctx *c)
{
    sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
    c->in_txn = 0;
    load_origins(c);
}

static sp_err begin(sq_ctx *c)
{
    if (c->in_txn)
        return SP_OK;
    if (sqlite3_exec(c->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
        return db_err(c, "begin");
    c->in_txn = 1;
    return SP_OK;
}

static sp_err sq_flush(void *ctx)
{
    sq_ctx *c = ctx;
    if (!c->in_txn)
        return SP_OK;
    for (size_t i = 0; i < c->norigins; i++) {
        sq_origin *o = &c->origins[i];
        if (!o->dirty)
            continue;
        sqlite3_stmt *s = c->origin_up;
        sqlite3_bind_blob(s, 1, o->origin, NET_PUBKEY_LEN, SQLITE_STATIC);
        sqlite3_bind_int64(s, 2, (sqlite3_int64)o->contig);
        sqlite3_bind_int64(s, 3, (sqlite3_int64)o->max);
        int rc = sqlite3_step(s);
        sqlite3_reset(s);
        if (rc != SQLITE_DONE) {
            sp_err e = db_err(c, "origin update");
            rollback(c);
            return e;
        }
        o->dirty = 0;
    }
    c->in_txn = 0;
    if (sqlite3_exec(c->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
        sp_err e = db_err(c, "commit");
        rollback(c);
        return e;
    }
    return SP_OK;
}

static sp_err sq_peer_save(void *ctx, const char *addr, const char *peer_id, int pinned)
{
    sq_ctx *c = ctx;
    sqlite3_stmt *s = c->peer_save;
    sqlite3_bind_text(s, 1, addr, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(s, 2, peer_id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int(s, 3, pinned);
    int rc = sqlite3_step(s);
    sqlite3_reset(s);
    return rc == SQLITE_DONE ? SP_OK : db_err(c, "peer save");
}

static sp_err sq_peer_list(void *ctx, net_peer_cb cb, void *arg)
{
    sq_ctx *c = ctx;
    sqlite3_stmt *s = c->peer_list;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW)
        cb(arg, (const char *)sqlite3_column_text(s, 0), (const char *)sqlite3_column_text(s, 1),
           sqlite3_column_int(s, 2));
    sqlite3_reset(s);
    return rc == SQLITE_DONE ? SP_OK : db_err(c, "peer list");
}

static sp_err sq_seen(void *ctx, const uint8_t origin[NET_PUBKEY_LEN], uint64_t seq, int *seen)
{
    sq_ctx *c = ctx;
    sq_origin *o = find_origin(c, origin);
    *seen = 0;
    if (!o || seq > o->max)
        return SP_OK;
    if (seq <= o->contig) {
        *seen = 1;
        return SP_OK;
    }
    sqlite3_stmt *s = c->has;
    sqlite3_bind_blob(s, 1, origin, NET_PUBKEY_LEN, SQLITE_STATIC);
    sqlite3_bind_int64(s, 2, (sqlite3_int64)seq);
    int rc = sqlite3_step(s);
    sqlite3_reset(s);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return db_err(c, "seen");
    *seen = rc == SQLITE_ROW;
    return SP_OK;
}

static sp_err sq_append(void *ctx, const uint8_t origin[NET_PUBKEY_LEN], uint64_t seq, const uint8_t *body,
                        size_t len)
{
    sq_ctx *c = ctx;
    int seen;
    sp_err e;
    if (seq == 0 || seq > INT64_MAX)
        return SP_ERR_INVALID;
    if ((e = sq_seen(c, origin, seq, &seen)))
        return e;
    if (seen)
        return SP_ERR_EXISTS;
    if ((e = begin(c)))
        return e;
    sq_origin *o = find_origin(c, origin);
    if (!o && !(o = add_origin(c, origin)))
        return SP_ERR_NOMEM;
    sqlite3_stmt *s = c->ins;
    sqlite3_bind_blob(s, 1, origin, NET_PUBKEY_LEN, SQLITE_STATIC);
    sqlite3_bind_int64(s, 2, (sqlite3_int64)seq);
    sqlite3_bind_blob(s, 3, body, (int)len, SQLITE_STATIC);
    int rc = sqlite3_step(s);
    sqlite3_reset(s);
    if (rc != SQLITE_DONE)
        return db_err(c, "frame insert");
    uint64_t contig = o->contig, max = seq > o->max ? seq : o->max;
    if (seq == contig + 1) {
        /* Fill the gap forward through frames that arrived early. */
        contig = seq;
        while (contig < max) {
            sqlite3_bind_blob(c->has, 1, origin, NET_PUBKEY_LEN, SQLITE_STATIC);
            sqlite3_bind_int64(c->has, 2, (sqlite3_int64)(contig + 1));
            rc = sqlite3_step(c->has);
            sqlite3_reset(c->has);
            if (rc != SQLITE_ROW)
                break;
            contig++;
        }
    }
    o->contig = contig;
    o->max = max;
    o->dirty = 1;
    return SP_OK;
}

static sp_err sq_after(void *ctx, const uint8_t origin[NET_PUBKEY_LEN], uint64_t after, size_t max,
                       net_frame_cb cb, void *arg)
{
    sq_ctx *c = ctx;
    sqlite3_stmt *s = c->after;
    int rc;
    if (after >= INT64_MAX)
        return SP_OK;
    sqlite3_bind_blob(s, 1, origin, NET_PUBKEY_LEN, SQLITE_STATIC);
    sqlite3_bind_int64(s, 2, (sqlite3_int64)after);
    sqlite3_bind_int64(s, 3, (sqlite3_int64)max);
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        if (cb(arg, (uint64_t)sqlite3_column_int64(s, 0), sqlite3_column_blob(s, 1),
               (size_t)sqlite3_column_bytes(s, 1))) {
            rc = SQLITE_DONE;
            break;
        }
    }
    sqlite3_reset(s);
    return rc == SQLITE_DONE ? SP_OK : db_err(c, "frames after");
}

static sp_err sq_origins(void *ctx, net_origin_cb cb, void *arg)
{
    sq_ctx *c = ctx;
    for (size_t i = 0; i < c->norigins; i++)
        cb(arg, c->origins[i].origin, c->origins[i].contig, c->origins[i].max);
    return SP_OK;
}

static sp_err sq_state(void *ctx, const uint8_t origin[NET_PUBKEY_LEN], uint64_t *contig, uint64_t *max)
{
    sq_origin *o = find_origin(ctx, origin);
    *contig = o ? o->contig : 0;
    *max = o ? o->max : 0;
    return SP_OK;
}

static void sq_destroy(void *ctx)
{
    sq_ctx *c = ctx;
    sq_flush(c);
    sqlite3_finalize(c->peer_save);
    sqlite3_finalize(c->peer_list);
    sqlite3_finalize(c->ins);
    sqlite3_finalize(c->has);
    sqlite3_finalize(c->after);
    sqlite3_finalize(c->origin_up);
    sqlite3_close(c->db);
    free(c->origins);
    free(c);
}

sp_err net_persist_sqlite_open(const char *path, net_persist **out)
{
    sq_ctx *c = calloc(1, sizeof *c);
    net_persist *p = calloc(1, sizeof *p);
    if (!c || !p) {
        free(c);
        free(p);
        return SP_ERR_NOMEM;
    }
    if (sqlite3_open_v2(path, &c->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) != SQLITE_OK)
        goto fail;
    sqlite3_busy_timeout(c->db, 5000);
    /* EXCLUSIVE: the file is this connection's alone (net.db), which saves the fcntl() lock
     * round trips of every transaction; drop it if the tables move into a shared file. */
    if (sqlite3_exec(c->db, "PRAGMA locking_mode=EXCLUSIVE; PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
                     NULL, NULL, NULL) ||
        sqlite3_exec(c->db, SCHEMA, NULL, NULL, NULL) ||
        sqlite3_prepare_v2(c->db,
                           "INSERT INTO net_peers(addr, peer_id, pinned) VALUES(?1, ?2, ?3) ON CONFLICT(addr)"
                           " DO UPDATE SET peer_id = excluded.peer_id, pinned = excluded.pinned",
                           -1, &c->peer_save, NULL) ||
        sqlite3_prepare_v2(c->db, "SELECT addr, peer_id, pinned FROM net_peers ORDER BY addr", -1,
                           &c->peer_list, NULL) ||
        sqlite3_prepare_v2(c->db, "INSERT INTO net_frames(origin, seq, body) VALUES(?1, ?2, ?3)", -1, &c->ins,
                           NULL) ||
        sqlite3_prepare_v2(c->db, "SELECT 1 FROM net_frames WHERE origin = ?1 AND seq = ?2", -1, &c->has,
                           NULL) ||
        sqlite3_prepare_v2(c->db,
                           "SELECT seq, body FROM net_frames WHERE origin = ?1 AND seq > ?2 ORDER BY seq LIMIT ?3",
                           -1, &c->after, NULL) ||
        sqlite3_prepare_v2(c->db,
                           "INSERT INTO net_origins(origin, contig, max) VALUES(?1, ?2, ?3) ON CONFLICT(origin)"
                           " DO UPDATE SET contig = excluded.contig, max = excluded.max",
                           -1, &c->origin_up, NULL) ||
        load_origins(c))
        goto fail;
    *p = (net_persist){c, sq_peer_save, sq_peer_list, sq_append, sq_seen, sq_after,
                       sq_origins, sq_state, sq_flush, sq_destroy};
    *out = p;
    return SP_OK;
fail:
    SP_ERROR("net: cannot open %s: %s", path, c->db ? sqlite3_errmsg(c->db) : "out of memory");
    sq_destroy(c);
    free(p);
    return SP_ERR_IO;
}
