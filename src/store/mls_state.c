/* mls_state.c — the mls_state, key_packages, kp_directory, known_users and meta tables. */
#include "store/mls_state.h"

#include <stdlib.h>
#include <string.h>
#include "store/internal.h"

static sp_err state_put(store_db *db, const char *channel_id, const char *user_id, uint64_t epoch,
                        const uint8_t *state, size_t len)
{
    static const char SQL[] =
        "INSERT INTO mls_state(channel_id, user_id, epoch, state, updated_at) VALUES (?,?,?,?,?) "
        "ON CONFLICT(channel_id, user_id) DO UPDATE SET epoch=excluded.epoch, "
        "state=excluded.state, updated_at=excluded.updated_at";
    sqlite3_stmt *st = store_stmt(db, SQL);
    if (!st)
        return SP_ERR_INTERNAL;
    store_bind_text(st, 1, channel_id);
    store_bind_text(st, 2, user_id);
    sqlite3_bind_int64(st, 3, (int64_t)epoch);
    store_bind_blob(st, 4, state, len);
    sqlite3_bind_int64(st, 5, store_now_ms());
    return store_exec_stmt(db, st);
}

sp_err store_mls_state_put(store_db *db, const char *channel_id, const char *user_id,
                           uint64_t epoch, const uint8_t *state, size_t len)
{
    STORE_TX(db, state_put(db, channel_id, user_id, epoch, state, len));
}

sp_err store_mls_state_get(store_db *db, const char *channel_id, const char *user_id,
                           uint64_t *epoch, uint8_t **state, size_t *len)
{
    static const char SQL[] =
        "SELECT epoch, state FROM mls_state WHERE channel_id = ? AND user_id = ?";
    sqlite3_stmt *st = store_stmt(db, SQL);
    if (!st)
        return SP_ERR_INTERNAL;
    store_bind_text(st, 1, channel_id);
    store_bind_text(st, 2, user_id);
    sp_err e = store_step_row(db, st);
    if (!e) {
        *epoch = (uint64_t)sqlite3_column_int64(st, 0);
        e = store_col_blob(st, 1, state, len);
    }
    sqlite3_reset(st);
    return e;
}

static sp_err state_delete(store_db *db, const char *channel_id, const char *user_id)
{
    static const char SQL[] = "DELETE FROM mls_state WHERE channel_id = ? AND user_id = ?";
    sqlite3_stmt *st = store_stmt(db, SQL);
    if (!st)
        return SP_ERR_INTERNAL;
    store_bind_text(st, 1, channel_id);
    store_bind_text(st, 2, user_id);
    return store_exec_changed(db, st);
}

sp_err store_mls_state_delete(store_db *db, const char *channel_id, const char *user_id)
{
    STORE_TX(db, state_delete(db, channel_id, user_id));
}

sp_err store_mls_state_users(store_db *db, const char *channel_id, char ***user_ids, size_t *n)
{
    static const char SQL[] = "SELECT user_id FROM mls_state WHERE channel_id = ? ORDER BY user_id";
    *user_ids = NULL;
    *n = 0;
    sqlite3_stmt *st = store_stmt(db, SQL);
    if (!st)
        return SP_ERR_INTERNAL;
    store_bind_text(st, 1, channel_id);
    return store_collect_strings(db, st, user_ids, n);
}

/* ---- our key packages --------------------------------------------------------------- */

static sp_err kp_put(store_db *db, const uint8_t *ref, size_t ref_len, const char *user_id,
                     const uint8_t *kp, size_t kp_len, const uint8_t *secrets, size_t secrets_len)
{
    static const char SQL[] =
        "INSERT INTO key_packages(kp_ref, user_id, key_package, secrets, created_at) "
        "VALUES (?,?,?,?,?)";
    sqlite3_stmt *st = store_stmt(db, SQL);
    if (!st)
        return SP_ERR_INTERNAL;
    store_bind_blob(st, 1, ref, ref_len);
    store_bind_text(st, 2, user_id);
    store_bind_blob(st, 3, kp, kp_len);
    store_bind_blob(st, 4, secrets, secrets_len);
    sqlite3_bind_int64(st, 5, store_now_ms());
    return store_exec_stmt(db, st);
}

sp_err store_keypkg_put(store_db *db, const uint8_t *ref, size_t ref_len, const char *user_id,
                        const uint8_t *kp, size_t kp_len, const uint8_t *secrets, size_t secrets_len)
{
    STORE_TX(db, kp_put(db, ref, ref_len, user_id, kp, kp_len, secrets, secrets_len));
}

sp_err store_keypkg_get(store_db *db, const uint8_t *ref, size_t ref_len, char user_id[37],
                        uint8_t **kp, size_t *kp_len, uint8_t **secrets, size_t *secrets_len)
{
    static const char SQL[] =
        "SELECT user_id, key_package, secrets FROM key_packages WHERE kp_ref = ?";
    sqlite3_stmt *st = store_stmt(db, SQL);
    if (!st)
        return SP_ERR_INTERNAL;
    store_bind_blob(st, 1, ref, ref_len);
    sp_err e = store_step_row(db, st);
    if (!e) {
        store_col_text_into(st, 0, user_id, 37);
        e = store_col_blob(st, 1, kp, kp_len);
        if (!e && (e = store_col_blob(st, 2, secrets, secrets_len)))
            free(*kp);
    }
    sqlite3_reset(st);
    return e;
}

static sp_err kp_delete(store_db *db, const uint8_t *ref, size_t ref_len)
{
    static const char SQL[] = "DELETE FROM key_packages WHERE kp_ref = ?";
    sqlite3_stmt *st = store_stmt(db, SQL);
    if (!st)
        return SP_ERR_INTERNAL;
    store_bind_blob(st, 1, ref, ref_len);
    return store_exec_changed(db, st);
}

sp_err store_keypkg_delete(store_db *db, const uint8_t *ref, size_t ref_len)
{
    STORE_TX(db, kp_delete(db, ref, ref_len));
}

sp_err store_keypkg_count(store_db *db, const char *user_id, int64_t *n)
{
    static const char SQL[] = "SELECT count(*) FROM key_packages WHERE user_id = ?";
    sqlite3_stmt *st = store_stmt(db, SQL);
    if (!st)
        return SP_ERR_INTERNAL;
    store_bind_text(st, 1, user_id);
    return store_query_int64(db, st, n);
}

/* ---- the key-package directory -------------------------------------------------------- */

static sp_err kpdir_put(store_db *db, const uint8_t *ref, size_t ref_len, const char *user_id,
                        const char *peer_id, const uint8_t *kp, size_t kp_len)
{
    static const char SQL[] =
        "INSERT OR IGNORE INTO kp_directory(kp_ref, user_id, peer_id, key_package, received_at) "
        "VALUES (?,?,?,?,?)";
    sqlite3_stmt *st = store_stmt(db, SQL);
    if (!st)
        return SP_ERR_INTERNAL;
    store_bind_blob(st, 1, ref, ref_len);
    store_bind_text(st, 2, user_id);
    store_bind_text(st, 3, peer_id);
    store_bind_blob(st, 4, kp, kp_len);
    sqlite3_bind_int64(st, 5, store_now_ms());
    return store_exec_stmt(db, st);
}

sp_err store_kpdir_put(store_db *db, const uint8_t *ref, size_t ref_len, const char *user_id,
                       const char *peer_id, const uint8_t *kp, size_t kp_len)
{
    STORE_TX(db, kpdir_put(db, ref, ref_len, user_id, peer_id, kp, kp_len));
}

static sp_err kpdir_take(store_db *db, const char *user_id, char **peer_id, uint8_t **kp,
                         size_t *kp_len)
{
    static const char SQL[] =
        "SELECT kp_ref, peer_id, key_package FROM kp_directory WHERE user_id = ? "
        "ORDER BY received_at, rowid LIMIT 1";
    static const char SQL_DEL[] = "DELETE FROM kp_directory WHERE kp_ref = ?";
    sqlite3_stmt *st = store_stmt(db, SQL);
    if (!st)
        return SP_ERR_INTERNAL;
    store_bind_text(st, 1, user_id);
    sp_err e = store_step_row(db, st);
    uint8_t *ref = NULL;
    size_t ref_len = 0;
    if (!e) {
        e = store_col_blob(st, 0, &ref, &ref_len);
        if (!e && !(*peer_id = store_col_text(st, 1)))
            e = SP_ERR_NOMEM;
        if (!e && (e = store_col_blob(st, 2, kp, kp_len)))
            free(*peer_id);
    }
    sqlite3_reset(st);
    if (!e) {
        sqlite3_stmt *d = store_stmt(db, SQL_DEL);
        if (!d) {
            e = SP_ERR_INTERNAL;
        } else {
            store_bind_blob(d, 1, ref, ref_len);
            e = store_exec_stmt(db, d);
        }
        if (e) {
            free(*peer_id);
            free(*kp);
        }
    }
    free(ref);
    return e;
}

sp_err store_kpdir_take(store_db *db, const char *user_id, char **peer_id, uint8_t **kp,
                        size_t *kp_len)
{
    STORE_TX(db, kpdir_take(db, user_id, peer_id, kp, kp_len));
}

/* ---- known users ------------------------------------------------------------------------ */

static sp_err known_put(store_db *db, const char *user_id, const char *peer_id, const char *username)
{
    static const char SQL[] =
        "INSERT INTO known_users(user_id, peer_id, username, updated_at) VALUES (?,?,?,?) "
        "ON CONFLICT(user_id) DO UPDATE SET peer_id=excluded.peer_id, "
        "username=excluded.username, updated_at=excluded.updated_at";
    sqlite3_stmt *st = store_stmt(db, SQL);
    if (!st)
        return SP_ERR_INTERNAL;
    store_bind_text(st, 1, user_id);
    store_bind_text(st, 2, peer_id);
    store_bind_text(st, 3, username ? username : "");
    sqlite3_bind_int64(st, 4, store_now_ms());
    return store_exec_stmt(db, st);
}

sp_err store_known_user_put(store_db *db, const char *user_id, const char *peer_id,
                            const char *username)
{
    STORE_TX(db, known_put(db, user_id, peer_id, username));
}

sp_err store_known_user_get(store_db *db, const char *user_id, char **peer_id, char **username)
{
    static const char SQL[] = "SELECT peer_id, username FROM known_users WHERE user_id = ?";
    sqlite3_stmt *st = store_stmt(db, SQL);
    if (!st)
        return SP_ERR_INTERNAL;
    store_bind_text(st, 1, user_id);
    sp_err e = store_step_row(db, st);
    if (!e) {
        *peer_id = store_col_text(st, 0);
        *username = store_col_text(st, 1);
        if (!*peer_id || !*username) {
            free(*peer_id);
            free(*username);
            e = SP_ERR_NOMEM;
        }
    }
    sqlite3_reset(st);
    return e;
}

/* ---- meta ------------------------------------------------------------------------------ */

static sp_err meta_put(store_db *db, const char *key, const uint8_t *value, size_t len)
{
    static const char SQL[] = "INSERT OR REPLACE INTO meta(key, value) VALUES (?,?)";
    sqlite3_stmt *st = store_stmt(db, SQL);
    if (!st)
        return SP_ERR_INTERNAL;
    store_bind_text(st, 1, key);
    store_bind_blob(st, 2, value, len);
    return store_exec_stmt(db, st);
}

sp_err store_meta_put(store_db *db, const char *key, const uint8_t *value, size_t len)
{
    STORE_TX(db, meta_put(db, key, value, len));
}

sp_err store_meta_get(store_db *db, const char *key, uint8_t **value, size_t *len)
{
    static const char SQL[] = "SELECT value FROM meta WHERE key = ?";
    sqlite3_stmt *st = store_stmt(db, SQL);
    if (!st)
        return SP_ERR_INTERNAL;
    store_bind_text(st, 1, key);
    sp_err e = store_step_row(db, st);
    if (!e)
        e = store_col_blob(st, 0, value, len);
    sqlite3_reset(st);
    return e;
}
