/*
 * store/profiles.h — local user profiles: who can Unlock this daemon, with their password hash,
 * and each user's long-term MLS signature key pair (an opaque pair of blobs to the store).
 *
 * Strings and blobs in returned structs are malloc'd and owned by the caller, released with
 * store_profile_clear (which wipes the hash and salt).
 */
#ifndef SP_STORE_PROFILES_H
#define SP_STORE_PROFILES_H

#include <stddef.h>
#include <stdint.h>
#include "store/db.h"

typedef struct {
    char user_id[37];       /* UUID v4 */
    char *username;
    uint8_t *pw_hash;       /* argon2id output */
    size_t pw_hash_len;
    uint8_t *pw_salt;
    size_t pw_salt_len;
    uint32_t kdf_m_kib, kdf_t, kdf_p; /* argon2id parameters that produced pw_hash */
    int64_t created_at;     /* ms */
} store_profile;

void store_profile_clear(store_profile *p);

/* Inserts a profile. SP_ERR_EXISTS when the user id or the username is taken. */
sp_err store_profile_create(store_db *db, const store_profile *p);
/* SP_ERR_NOT_FOUND when absent. */
sp_err store_profile_by_name(store_db *db, const char *username, store_profile *out);
sp_err store_profile_by_id(store_db *db, const char *user_id, store_profile *out);
/* The default profile: the only one, or the oldest when there are several. SP_ERR_NOT_FOUND when
 * there is none. */
sp_err store_profile_default(store_db *db, store_profile *out);
sp_err store_profile_count(store_db *db, int64_t *n);

/* A local user's MLS signature key pair; secret is wiped by the caller after use. put replaces. */
sp_err store_user_key_put(store_db *db, const char *user_id, const uint8_t *pub, size_t pub_len,
                          const uint8_t *secret, size_t secret_len);
/* *pub and *secret are malloc'd; SP_ERR_NOT_FOUND when the user has none yet. */
sp_err store_user_key_get(store_db *db, const char *user_id, uint8_t **pub, size_t *pub_len,
                          uint8_t **secret, size_t *secret_len);

#endif
