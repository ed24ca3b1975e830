/*
 * persist_sqlite.c — net_persist on sqlite: its own file (the daemon uses <data dir>/net.db) and
 * its own tables net_*.
 *
 * Kept apart from store/ on purpose (store/ dropped its own copies in schema v3). It is a
 * separate file because the node commits once per read batch: sharing the store's file would make
 * the store's writes wait on that transaction, and lets this file use EXCLUSIVE locking.
 *
 * Layout, chosen for the relay path (every relayed frame is one INSERT):
 *  - net_log_origins(id, origin, contig, max): each origin gets a small integer id once;
 *  - net_log(k INTEGER PRIMARY KEY, body): k = id << 44 | seq. The frame's key is the table's own
 *    b-tree key, so there is no second index, no 32-byte origin per row, frames of one origin
 *    are appended at the end of its key range, and "frames of origin after seq" is a key range.
 *
 * Durability (docs/p2p-protocol.md §6): the file is in WAL mode with synchronous=NORMAL. flush()
 * commits (survives a crash of the process; a power loss may lose the last commits, never
 * corrupt the file — catch-up from neighbours then refills what was lost). sync() commits and
 * then fsyncs the WAL: the node uses it for the frames it originates, whose only copy is here
 * until a neighbour has them.
 *
 * Per-origin (contig, max) are kept in memory and answer most dedup checks without a query
 * (seq <= contig: held; seq > max: not held). They are written to net_log_origins only every
 * ORIGIN_WRITE_EVERY commits and at sync/close, not once per commit (it would add a page to
 * every commit); at open they are brought forward from the log itself, which is the truth.
 */
#include "net/persist.h"

#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/wal_checkpointer.h"
#include "net/frame.h"
#include "base/walbuf.h"

#define SEQ_BITS 44
#define SEQ_MASK ((1ull << SEQ_BITS) - 1)
#define ORIGIN_ID_MAX ((1ll << (63 - SEQ_BITS)) - 1)
#define ORIGIN_WRITE_EVERY 256

typedef struct {
    uint8_t origin[NET_PUBKEY_LEN];
    sqlite3_int64 id;
    uint64_t contig, max;
    int dirty; /* (contig, max) changed since last written to net_log_origins */
} sq_origin;

typedef struct {
    sqlite3 *db;
    sqlite3_stmt *peer_save, *peer_list, *ins, *has, *after, *origin_up, *origin_new;
    int in_txn;
    unsigned commits; /* since (contig, max) were last written */
    sq_origin *origins;
    size_t norigins;
    size_t last; /* index of the origin found last: a burst is usually from one origin */
    sp_wal_checkpointer *ckpt; /* checkpoints off the reactor (base/wal_checkpointer.h) */
} sq_ctx;

#define CHECKPOINT_PAGES 8192     /* a large log: pages rewritten by many small commits (the last
                                   * leaf, interior pages) are copied once per checkpoint */
#define CHECKPOINT_PERIOD_MS 1000 /* and at least this often while running */

static const char SCHEMA[] =
    "CREATE TABLE IF NOT EXISTS net_peers(addr TEXT PRIMARY KEY, peer_id TEXT NOT NULL DEFAULT '',"
    " pinned INTEGER NOT NULL DEFAULT 0);"
    "CREATE TABLE IF NOT EXISTS net_log_origins(id INTEGER PRIMARY KEY, origin BLOB NOT NULL UNIQUE,"
    " contig INTEGER NOT NULL, max INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS net_log(k INTEGER PRIMARY KEY, body BLOB NOT NULL);";

/* The first layout (net_frames keyed by a UNIQUE(origin, seq) index, net_origins by origin):
 * moved into the current tables once, in one transaction. */
static const char MIGRATE_V1[] =
    "BEGIN IMMEDIATE;"
    "INSERT INTO net_log_origins(origin, contig, max) SELECT origin, contig, max FROM net_origins"
    " WHERE length(origin) = 32 ORDER BY origin;"
    "INSERT INTO net_log(k, body) SELECT (o.id << 44) | f.seq, f.body FROM net_frames f"
    " JOIN net_log_origins o ON o.origin = f.origin WHERE f.seq BETWEEN 1 AND 17592186044415;"
    "DROP TABLE net_frames; DROP TABLE net_origins;"
    "COMMIT;";

static sp_err db_err(sq_ctx *c, const char *what)
{
    SP_ERROR("net: sqlite %s: %s", what, sqlite3_errmsg(c->db));
    return SP_ERR_IO;
}

static sqlite3_int64 key_of(const sq_origin *o, uint64_t seq)
{
    return (sqlite3_int64)((uint64_t)o->id << SEQ_BITS | seq);
}

static sq_origin *find_origin(sq_ctx *c, const uint8_t *origin)
{
    if (c->last < c->norigins && !memcmp(c->origins[c->last].origin, origin, NET_PUBKEY_LEN))
        return &c->origins[c->last];
    for (size_t i = 0; i < c->norigins; i++)
        if (!memcmp(c->origins[i].origin, origin, NET_PUBKEY_LEN)) {
            c->last = i;
            return &c->origins[i];
        }
    return NULL;
}

static sq_origin *add_origin(sq_ctx *c, const uint8_t *origin, sqlite3_int64 id)
{
    sq_origin *n = realloc(c->origins, (c->norigins + 1) * sizeof *n);
    if (!n)
        return NULL;
    c->origins = n;
    n = &n[c->norigins++];
    memset(n, 0, sizeof *n);
    memcpy(n->origin, origin, NET_PUBKEY_LEN);
    n->id = id;
    return n;
}

/* Is (o, seq) in the log? -1 on a database error. */
static int log_has(sq_ctx *c, const sq_origin *o, uint64_t seq)
{
    sqlite3_bind_int64(c->has, 1, key_of(o, seq));
    int rc = sqlite3_step(c->has);
    sqlite3_reset(c->has);
    return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
}

/* Brings o's (contig, max) forward to what the log holds: they were last written up to
 * ORIGIN_WRITE_EVERY commits before a crash. */
static sp_err catch_up_origin(sq_ctx *c, sq_origin *o)
{
    sqlite3_stmt *s = NULL;
    int rc;
    if (sqlite3_prepare_v2(c->db, "SELECT max(k) FROM net_log WHERE k > ?1 AND k <= ?2", -1, &s, NULL) != SQLITE_OK)
        return db_err(c, "origin max");
    sqlite3_bind_int64(s, 1, key_of(o, 0));
    sqlite3_bind_int64(s, 2, key_of(o, SEQ_MASK));
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW && sqlite3_column_type(s, 0) == SQLITE_INTEGER) {
        uint64_t m = (uint64_t)sqlite3_column_int64(s, 0) & SEQ_MASK;
        if (m > o->max)
            o->max = m;
    }
    sqlite3_finalize(s);
    if (rc != SQLITE_ROW)
        return db_err(c, "origin max");
    if (o->contig > o->max)
        o->contig = o->max;
    while (o->contig < o->max) {
        int h = log_has(c, o, o->contig + 1);
        if (h < 0)
            return db_err(c, "origin contig");
        if (!h)
            break;
        o->contig++;
    }
    return SP_OK;
}

/* (Re)reads the per-origin cache from the last committed state (at open, and after a rollback
 * so that the cache never claims frames the database does not hold). */
static sp_err load_origins(sq_ctx *c)
{
    sqlite3_stmt *ld = NULL;
    c->norigins = 0;
    c->last = 0;
    if (sqlite3_prepare_v2(c->db, "SELECT id, origin, contig, max FROM net_log_origins", -1, &ld, NULL) != SQLITE_OK)
        return db_err(c, "load origins");
    int rc;
    while ((rc = sqlite3_step(ld)) == SQLITE_ROW) {
        sqlite3_int64 id = sqlite3_column_int64(ld, 0);
        if (sqlite3_column_bytes(ld, 1) != NET_PUBKEY_LEN || id < 1 || id > ORIGIN_ID_MAX)
            continue;
        sq_origin *o = add_origin(c, sqlite3_column_blob(ld, 1), id);
        if (!o) {
            sqlite3_finalize(ld);
            return SP_ERR_NOMEM;
        }
        o->contig = (uint64_t)sqlite3_column_int64(ld, 2) & SEQ_MASK;
        o->max = (uint64_t)sqlite3_column_int64(ld, 3) & SEQ_MASK;
    }
    sqlite3_finalize(ld);
    if (rc != SQLITE_DONE)
        return db_err(c, "load origins");
    for (size_t i = 0; i < c->norigins; i++) {
        sp_err e = catch_up_origin(c, &c->origins[i]);
        if (e)
            return e;
    }
    return SP_OK;
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

static sp_err write_origins(sq_ctx *c)
{
    for (size_t i = 0; i < c->norigins; i++) {
        sq_origin *o = &c->origins[i];
        if (!o->dirty)
            continue;
        sqlite3_stmt *s = c->origin_up;
        sqlite3_bind_int64(s, 1, (sqlite3_int64)o->contig);
        sqlite3_bind_int64(s, 2, (sqlite3_int64)o->max);
        sqlite3_bind_int64(s, 3, o->id);
        int rc = sqlite3_step(s);
        sqlite3_reset(s);
        if (rc != SQLITE_DONE)
            return db_err(c, "origin update");
        o->dirty = 0;
    }
    c->commits = 0;
    return SP_OK;
}

/* fsyncs the WAL, which holds every commit since the last checkpoint (a checkpoint syncs the
 * database file itself). synchronous cannot change inside a transaction, so instead of
 * committing with FULL the node's own frames are committed like the others and then synced. */
static sp_err wal_fsync(sq_ctx *c)
{
    sqlite3_file *f = NULL;
    if (sqlite3_file_control(c->db, "main", SQLITE_FCNTL_JOURNAL_POINTER, &f) != SQLITE_OK)
        return db_err(c, "journal pointer");
    if (!f || !f->pMethods)
        return SP_OK; /* no WAL file: everything is in the checkpointed (synced) database */
    if (f->pMethods->xSync(f, SQLITE_SYNC_NORMAL) != SQLITE_OK) {
        SP_ERROR("net: cannot fsync the frame log");
        return SP_ERR_IO;
    }
    return SP_OK;
}

static sp_err commit(sq_ctx *c, int full)
{
    sp_err e;
    if (!c->in_txn)
        return full ? wal_fsync(c) : SP_OK;
    if ((full || ++c->commits >= ORIGIN_WRITE_EVERY) && (e = write_origins(c))) {
        rollback(c);
        return e;
    }
    c->in_txn = 0;
    if (sqlite3_exec(c->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
        e = db_err(c, "commit");
        rollback(c);
        return e;
    }
    return full ? wal_fsync(c) : SP_OK;
}

static sp_err sq_flush(void *ctx) { return commit(ctx, 0); }
static sp_err sq_sync(void *ctx) { return commit(ctx, 1); }

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
    if (!o || seq > o->max || seq == 0)
        return SP_OK;
    if (seq <= o->contig) {
        *seen = 1;
        return SP_OK;
    }
    int h = log_has(c, o, seq); /* only between a gap and the highest: out-of-order arrivals */
    if (h < 0)
        return db_err(c, "seen");
    *seen = h;
    return SP_OK;
}

static sp_err sq_append(void *ctx, const uint8_t origin[NET_PUBKEY_LEN], uint64_t seq, const uint8_t *body,
                        size_t len)
{
    sq_ctx *c = ctx;
    int seen;
    sp_err e;
    if (seq == 0 || seq > NET_SEQ_MAX || len > INT32_MAX)
        return SP_ERR_INVALID;
    if ((e = sq_seen(c, origin, seq, &seen)))
        return e;
    if (seen)
        return SP_ERR_EXISTS;
    if ((e = begin(c)))
        return e;
    sq_origin *o = find_origin(c, origin);
    if (!o && c->norigins >= ORIGIN_ID_MAX) {
        SP_ERROR("net: the frame log holds %zu origins, refusing another", c->norigins);
        return SP_ERR_TOO_LARGE;
    }
    if (!o) {
        /* A new origin: its id row goes into this transaction, with its first frame. */
        sqlite3_stmt *s = c->origin_new;
        sqlite3_bind_blob(s, 1, origin, NET_PUBKEY_LEN, SQLITE_STATIC);
        int rc = sqlite3_step(s);
        sqlite3_reset(s);
        if (rc != SQLITE_DONE)
            return db_err(c, "origin insert");
        sqlite3_int64 id = sqlite3_last_insert_rowid(c->db);
        if (id < 1 || id > ORIGIN_ID_MAX) /* ids are dense (origins are never deleted) */
            return db_err(c, "origin id out of range");
        if (!(o = add_origin(c, origin, id)))
            return SP_ERR_NOMEM;
        o->dirty = 1;
    }
    sqlite3_stmt *s = c->ins;
    sqlite3_bind_int64(s, 1, key_of(o, seq));
    sqlite3_bind_blob(s, 2, body, (int)len, SQLITE_STATIC);
    int rc = sqlite3_step(s);
    sqlite3_reset(s);
    if (rc != SQLITE_DONE)
        return db_err(c, "frame insert");
    if (seq > o->max)
        o->max = seq;
    if (seq == o->contig + 1) {
        /* Fill the gap forward through frames that arrived early. */
        o->contig = seq;
        while (o->contig < o->max && log_has(c, o, o->contig + 1) == 1)
            o->contig++;
    }
    o->dirty = 1;
    return SP_OK;
}

static sp_err sq_after(void *ctx, const uint8_t origin[NET_PUBKEY_LEN], uint64_t after, size_t max,
                       net_frame_cb cb, void *arg)
{
    sq_ctx *c = ctx;
    sq_origin *o = find_origin(c, origin);
    sqlite3_stmt *s = c->after;
    int rc;
    if (!o || after >= o->max)
        return SP_OK;
    sqlite3_bind_int64(s, 1, key_of(o, after));
    sqlite3_bind_int64(s, 2, key_of(o, SEQ_MASK));
    sqlite3_bind_int64(s, 3, max > INT64_MAX ? INT64_MAX : (sqlite3_int64)max);
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        if (cb(arg, (uint64_t)sqlite3_column_int64(s, 0) & SEQ_MASK, sqlite3_column_blob(s, 1),
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
    if (c->db && c->origin_up) {
        commit(c, 0);
        /* Leave (contig, max) current, so that the next open has nothing to bring forward. */
        if (!begin(c) && !write_origins(c))
            commit(c, 0);
    }
    sqlite3_stmt *all[] = {c->peer_save, c->peer_list, c->ins, c->has, c->after,
                           c->origin_up, c->origin_new};
    for (size_t i = 0; i < sizeof all / sizeof *all; i++)
        sqlite3_finalize(all[i]);
    sp_wal_checkpointer_stop(c->ckpt); /* closing the last connection checkpoints what is left */
    sqlite3_close(c->db);
    free(c->origins);
    free(c);
}

static int table_exists(sqlite3 *db, const char *name)
{
    sqlite3_stmt *s = NULL;
    int found = 0;
    if (sqlite3_prepare_v2(db, "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1", -1, &s, NULL) ==
        SQLITE_OK) {
        sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
        found = sqlite3_step(s) == SQLITE_ROW;
    }
    sqlite3_finalize(s);
    return found;
}

/* After each commit, with the log's size in pages: past CHECKPOINT_PAGES the checkpoint thread
 * copies it back (returning SQLITE_OK here replaces sqlite's automatic checkpoint, which would run
 * inside this commit, on the reactor: tens of milliseconds for a log that size). */
static int wal_grew(void *arg, sqlite3 *db, const char *name, int pages)
{
    (void)db, (void)name;
    if (pages >= CHECKPOINT_PAGES)
        sp_wal_checkpointer_kick(((sq_ctx *)arg)->ckpt);
    return SQLITE_OK;
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
    /* one write(2) per commit instead of two per page (base/walbuf.h) */
    if (sqlite3_open_v2(path, &c->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, sp_walbuf_vfs()) != SQLITE_OK)
        goto fail;
    sqlite3_busy_timeout(c->db, 5000);
    /* Not locking_mode=EXCLUSIVE (which saved a few fcntl() calls per transaction): the checkpoint
     * thread needs a connection of its own. */
    if (sqlite3_exec(c->db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;", NULL, NULL, NULL) ||
        sqlite3_exec(c->db, SCHEMA, NULL, NULL, NULL))
        goto fail;
    if (sp_wal_checkpointer_start(path, CHECKPOINT_PERIOD_MS, &c->ckpt) == SP_OK)
        sqlite3_wal_hook(c->db, wal_grew, c);
    else if (sqlite3_exec(c->db, "PRAGMA wal_autocheckpoint=8192;", NULL, NULL, NULL) == SQLITE_OK)
        SP_WARN("net: checkpoints of %s stay inside commits (no checkpoint thread)", path);
    if (table_exists(c->db, "net_frames") && sqlite3_exec(c->db, MIGRATE_V1, NULL, NULL, NULL)) {
        sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
        goto fail;
    }
    if (sqlite3_prepare_v2(c->db,
                           "INSERT INTO net_peers(addr, peer_id, pinned) VALUES(?1, ?2, ?3) ON CONFLICT(addr)"
                           " DO UPDATE SET peer_id = excluded.peer_id, pinned = excluded.pinned",
                           -1, &c->peer_save, NULL) ||
        sqlite3_prepare_v2(c->db, "SELECT addr, peer_id, pinned FROM net_peers ORDER BY addr", -1,
                           &c->peer_list, NULL) ||
        sqlite3_prepare_v2(c->db, "INSERT INTO net_log(k, body) VALUES(?1, ?2)", -1, &c->ins, NULL) ||
        sqlite3_prepare_v2(c->db, "SELECT 1 FROM net_log WHERE k = ?1", -1, &c->has, NULL) ||
        sqlite3_prepare_v2(c->db, "SELECT k, body FROM net_log WHERE k > ?1 AND k <= ?2 ORDER BY k LIMIT ?3", -1,
                           &c->after, NULL) ||
        sqlite3_prepare_v2(c->db, "UPDATE net_log_origins SET contig = ?1, max = ?2 WHERE id = ?3", -1,
                           &c->origin_up, NULL) ||
        sqlite3_prepare_v2(c->db, "INSERT INTO net_log_origins(origin, contig, max) VALUES(?1, 0, 0)", -1,
                           &c->origin_new, NULL) ||
        load_origins(c))
        goto fail;
    *p = (net_persist){c, sq_peer_save, sq_peer_list, sq_append, sq_seen, sq_after,
                       sq_origins, sq_state, sq_flush, sq_destroy, sq_sync};
    *out = p;
    return SP_OK;
fail:
    SP_ERROR("net: cannot open %s: %s", path, c->db ? sqlite3_errmsg(c->db) : "out of memory");
    if (c->origin_up) {
        sqlite3_finalize(c->origin_up);
        c->origin_up = NULL; /* nothing to write back at destroy */
    }
    sq_destroy(c);
    free(p);
    return SP_ERR_IO;
}
