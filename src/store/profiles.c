/* profiles.c — the profiles and user_keys tables. */
#include "store/profiles.h"

#include <stdlib.h>
#include <string.h>
#include <openssl/crypto.h>
#include "store/internal.h"

void store_profile_clear(store_profile *p)
{
    if (!p)
        return;
    free(p->username);
    if (p->pw_hash)
        OPENSSL_cleanse(p->pw_hash, p->pw_hash_len);
    if (p->pw_salt)
        OPENSSL_cleanse(p->pw_salt, p->pw_salt_len);
    free(p->pw_hash);
    free(p->pw_salt);
    memset(p, 0, sizeof *p);
}

static sp_err create(store_db *db, const store_profile *p)
{
    static const char SQL[] =
        "INSERT INTO profiles(user_id, username, pw_hash, pw_salt, kdf_m_kib, kdf_t, kdf_p, "
        "created_at) VALUES (?,?,?,?,?,?,?,?)";
    sqlite3_stmt *st = store_stmt(db, SQL);
    if (!st)
        return SP_ERR_INTERNAL;
    store_bind_text(st, 1, p->user_id);
    store_bind_text(st, 2, p->username);
    store_bind_blob(st, 3, p->pw_hash, p->pw_hash_len);
    store_bind_blob(st, 4, p->pw_salt, p->pw_salt_len);
    sqlite3_bind_int64(st, 5, p->kdf_m_kib);
    sqlite3_bind_int64(st, 6, p->kdf_t);
    sqlite3_bind_int64(st, 7, p->kdf_p);
    sqlite3_bind_int64(st, 8, p->created_at);
    return store_exec_stmt(db, st);
}

sp_err store_profile_create(store_db *db, const store_profile *p)
{
    if (!p->username || !p->pw_hash || !p->pw_salt)
        return SP_ERR_INVALID;
    STORE_TX(db, create(db, p));
}

#define PROFILE_COLS "user_id, username, pw_hash, pw_salt, kdf_m_kib, kdf_t, kdf_p, created_at"

static sp_err read_one(store_db *db, sqlite3_stmt *st, store_profile *out)
{
    memset(out, 0, sizeof *out);
    sp_err e = store_step_row(db, st);
    if (e) {
        sqlite3_reset(st);
        return e;
    }
    store_col_text_into(st, 0, out->user_id, sizeof out->user_id);
    out->username = store_col_text(st, 1);
    e = out->username ? SP_OK : SP_ERR_NOMEM;
    if (!e)
        e = store_col_blob(st, 2, &out->pw_hash, &out->pw_hash_len);
    if (!e)
        e = store_col_blob(st, 3, &out->pw_salt, &out->pw_salt_len);
    out->kdf_m_kib = (uint32_t)sqlite3_column_int64(st, 4);
    out->kdf_t = (uint32_t)sqlite3_column_int64(st, 5);
    out->kdf_p = (uint32_t)sqlite3_column_int64(st, 6);
    out->created_at = sqlite3_column_int64(st, 7);
    sqlite3_reset(st);
    if (e)
        store_profile_clear(out);
    return e;
}

/* The profile whose key column (in sql) equals key. */
static sp_err read_by(store_db *db, const char *sql, const char *key, store_profile *out)
{
    sqlite3_stmt *st = store_stmt(db, sql);
    if (!st)
        return SP_ERR_INTERNAL;
    store_bind_text(st, 1, key);
    return read_one(db, st, out);
}

sp_err store_profile_by_name(store_db *db, const char *username, store_profile *out)
{
    static const char SQL[] = "SELECT " PROFILE_COLS " FROM profiles WHERE username = ?";
    return read_by(db, SQL, username, out);
}

sp_err store_profile_by_id(store_db *db, const char *user_id, store_profile *out)
{
    static const char SQL[] = "SELECT " PROFILE_COLS " FROM profiles WHERE user_id = ?";
    return read_by(db, SQL, user_id, out);
}

sp_err store_profile_default(store_db *db, store_profile *out)
{
    static const char SQL[] =
        "SELECT " PROFILE_COLS " FROM profiles ORDER BY created_at, rowid LIMIT 1";
    sqlite3_stmt *st = store_stmt(db, SQL);
    if (!st)
        return SP_ERR_INTERNAL;
    return read_one(db, st, out);
}

sp_err store_profile_count(store_db *db, int64_t *n)
{
    static const char SQL[] = "SELECT count(*) FROM profiles";
    sqlite3_stmt *st = store_stmt(db, SQL);
    if (!st)
        return SP_ERR_INTERNAL;
    return store_query_int64(db, st, n);
}

static sp_err key_put(store_db *db, const char *user_id, const uint8_t *pub, size_t pub_len,
                      const uint8_t *secret, size_t secret_len)
{
    static const char SQL[] =
        "INSERT INTO user_keys(user_id, public_key, secret_key, created_at) VALUES (?,?,?,?) "
        "ON CONFLICT(user_id) DO UPDATE SET public_key=excluded.public_key, "
        "secret_key=excluded.secret_key, created_at=excluded.created_at";
    sqlite3_stmt *st = store_stmt(db, SQL);
    if (!st)
        return SP_ERR_INTERNAL;
    store_bind_text(st, 1, user_id);
    store_bind_blob(st, 2, pub, pub_len);
    store_bind_blob(st, 3, secret, secret_len);
    sqlite3_bind_int64(st, 4, store_now_ms());
    return store_exec_stmt(db, st);
}

sp_err store_user_key_put(store_db *db, const char *user_id, const uint8_t *pub, size_t pub_len,
                          const uint8_t *secret, size_t secret_len)
{
    STORE_TX(db, key_put(db, user_id, pub, pub_len, secret, secret_len));
}

sp_err store_user_key_get(store_db *db, const char *user_id, uint8_t **pub, size_t *pub_len,
                          uint8_t **secret, size_t *secret_len)
{
    static const char SQL[] = "SELECT public_key, secret_key FROM user_keys WHERE user_id = ?";
    sqlite3_stmt *st = store_stmt(db, SQL);
    if (!st)
        return SP_ERR_INTERNAL;
    store_bind_text(st, 1, user_id);
    sp_err e = store_step_row(db, st);
    if (!e) {
        e = store_col_blob(st, 0, pub, pub_len);
        if (!e) {
            e = store_col_blob(st, 1, secret, secret_len);
            if (e)
                free(*pub);
        }
    }
    sqlite3_reset(st);
    return e;
}
