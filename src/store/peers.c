/* peers.c — the peers table (address book). */
#include "store/peers.h"

#include <stdlib.h>
#include <string.h>
#include "store/internal.h"

void store_peers_free(store_peer *v, size_t n)
{
    if (!v)
        return;
    for (size_t i = 0; i < n; i++) {
        free(v[i].addr);
        free(v[i].peer_id);
    }
    free(v);
}

static sp_err changed_or_missing(store_db *db, sqlite3_stmt *st)
{
    sp_err e = store_exec_stmt(db, st);
    if (!e && sqlite3_changes(db->sq) == 0)
        e = SP_ERR_NOT_FOUND;
    return e;
}

static sp_err add(store_db *db, const char *addr, const char *peer_id)
{
    static const char SQL[] =
        "INSERT INTO peers(addr, peer_id, added_at) VALUES (?1, ?2, ?3) ON CONFLICT(addr) DO "
        "UPDATE SET peer_id = coalesce(?2, peer_id)";
    sqlite3_stmt *st = store_stmt(db, SQL);
    if (!st)
        return SP_ERR_INTERNAL;
    store_bind_text(st, 1, addr);
    store_bind_text(st, 2, peer_id);
    sqlite3_bind_int64(st, 3, store_now_ms());
    return store_exec_stmt(db, st);
}

sp_err store_peer_add(store_db *db, const char *addr, const char *peer_id)
{
    if (!addr || !addr[0])
        return SP_ERR_INVALID;
    STORE_TX(db, add(db, addr, peer_id));
}

static sp_err seen(store_db *db, const char *addr, const char *peer_id, int64_t now_ms)
{
    static const char SQL[] =
        "INSERT INTO peers(addr, peer_id, last_seen, failures, added_at) VALUES (?1,?2,?3,0,?3) "
        "ON CONFLICT(addr) DO UPDATE SET peer_id = coalesce(?2, peer_id), last_seen = ?3, "
        "failures = 0";
    sqlite3_stmt *st = store_stmt(db, SQL);
    if (!st)
        return SP_ERR_INTERNAL;
    store_bind_text(st, 1, addr);
    store_bind_text(st, 2, peer_id);
    sqlite3_bind_int64(st, 3, now_ms);
    return store_exec_stmt(db, st);
}

sp_err store_peer_seen(store_db *db, const char *addr, const char *peer_id, int64_t now_ms)
{
    if (!addr || !addr[0])
        return SP_ERR_INVALID;
    STORE_TX(db, seen(db, addr, peer_id, now_ms));
}

static sp_err failed(store_db *db, const char *addr)
{
    static const char SQL[] = "UPDATE peers SET failures = failures + 1 WHERE addr = ?";
    sqlite3_stmt *st = store_stmt(db, SQL);
    if (!st)
        return SP_ERR_INTERNAL;
    store_bind_text(st, 1, addr);
    return changed_or_missing(db, st);
}

sp_err store_peer_failed(store_db *db, const char *addr)
{
    STORE_TX(db, failed(db, addr));
}

static sp_err removep(store_db *db, const char *addr)
{
    static const char SQL[] = "DELETE FROM peers WHERE addr = ?";
    sqlite3_stmt *st = store_stmt(db, SQL);
    if (!st)
        return SP_ERR_INTERNAL;
    store_bind_text(st, 1, addr);
    return changed_or_missing(db, st);
}

sp_err store_peer_remove(store_db *db, const char *addr)
{
    STORE_TX(db, removep(db, addr));
}

static sp_err list(store_db *db, store_peer **out, size_t *n)
{
    static const char SQL[] =
        "SELECT addr, peer_id, last_seen, failures, added_at FROM peers ORDER BY added_at, rowid";
    sqlite3_stmt *st = store_stmt(db, SQL);
    if (!st)
        return SP_ERR_INTERNAL;
    store_peer *v = NULL;
    size_t len = 0, cap = 0;
    sp_err e = SP_OK;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (len == cap) {
            size_t nc = cap ? cap * 2 : 8;
            store_peer *nv = realloc(v, nc * sizeof *nv);
            if (!nv) {
                e = SP_ERR_NOMEM;
                break;
            }
            v = nv;
            cap = nc;
        }
        store_peer *p = &v[len++];
        memset(p, 0, sizeof *p);
        p->addr = store_col_text(st, 0);
        p->peer_id = store_col_text(st, 1);
        p->last_seen = sqlite3_column_int64(st, 2);
        p->failures = sqlite3_column_int64(st, 3);
        p->added_at = sqlite3_column_int64(st, 4);
        if (!p->addr || (!p->peer_id && sqlite3_column_type(st, 1) != SQLITE_NULL)) {
            e = SP_ERR_NOMEM;
            break;
        }
    }
    if (!e && rc != SQLITE_DONE)
        e = store_map(db, sqlite3_extended_errcode(db->sq));
    sqlite3_reset(st);
    if (e) {
        store_peers_free(v, len);
        return e;
    }
    *out = v;
    *n = len;
    return SP_OK;
}

sp_err store_peer_list(store_db *db, store_peer **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    STORE_RTX(db, list(db, out, n));
}
