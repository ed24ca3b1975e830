/*
 * store/mls_state.h — what the MLS layer persists, as opaque bytes: each local member's group
 * state per channel (with its epoch, so callers can check progress without decoding), our unused
 * key packages with their private keys, key packages other daemons published (the directory), and
 * which daemon hosts which user.
 *
 * store/ never decodes these blobs. Blobs returned are malloc'd and owned by the caller; secrets
 * (group state, key package secrets) should be wiped with OPENSSL_cleanse before free.
 */
#ifndef SP_STORE_MLS_STATE_H
#define SP_STORE_MLS_STATE_H

#include <stddef.h>
#include <stdint.h>
#include "store/db.h"

/* Inserts or replaces the state of user_id's leaf in channel_id. SP_ERR_NOT_FOUND if the channel
 * does not exist. */
sp_err store_mls_state_put(store_db *db, const char *channel_id, const char *user_id,
                           uint64_t epoch, const uint8_t *state, size_t len);
/* SP_ERR_NOT_FOUND when that user holds no state in that channel. */
sp_err store_mls_state_get(store_db *db, const char *channel_id, const char *user_id,
                           uint64_t *epoch, uint8_t **state, size_t *len);
sp_err store_mls_state_delete(store_db *db, const char *channel_id, const char *user_id);
/* The local users holding state in channel_id (malloc'd vector; free with store_strv_free). */
sp_err store_mls_state_users(store_db *db, const char *channel_id, char ***user_ids, size_t *n);

/* Our key packages: stored when generated, taken (read and deleted) when a Welcome uses one. */
sp_err store_keypkg_put(store_db *db, const uint8_t *ref, size_t ref_len, const char *user_id,
                        const uint8_t *kp, size_t kp_len, const uint8_t *secrets, size_t secrets_len);
/* Reads without deleting: join from a Welcome first, delete (store_keypkg_delete) in the same
 * transaction that stores the new group state, so a failed join leaves the key package usable.
 * *user_id (37 bytes) receives the owner. SP_ERR_NOT_FOUND when unknown or already used. */
sp_err store_keypkg_get(store_db *db, const uint8_t *ref, size_t ref_len, char user_id[37],
                        uint8_t **kp, size_t *kp_len, uint8_t **secrets, size_t *secrets_len);
sp_err store_keypkg_delete(store_db *db, const uint8_t *ref, size_t ref_len);
sp_err store_keypkg_count(store_db *db, const char *user_id, int64_t *n);

/* The directory of key packages published by other daemons for their users. take returns the
 * oldest one for user_id and deletes it (each key package is used once). */
sp_err store_kpdir_put(store_db *db, const uint8_t *ref, size_t ref_len, const char *user_id,
                       const char *peer_id, const uint8_t *kp, size_t kp_len);
sp_err store_kpdir_take(store_db *db, const char *user_id, char **peer_id, uint8_t **kp,
                        size_t *kp_len);

/* Which daemon hosts user_id (learnt from the network). put replaces; get: peer_id and username are malloc'd. */
sp_err store_known_user_put(store_db *db, const char *user_id, const char *peer_id,
                            const char *username);
sp_err store_known_user_get(store_db *db, const char *user_id, char **peer_id, char **username);

/* A small key/value table for daemon-wide facts (e.g. counters); get: malloc'd value. */
sp_err store_meta_put(store_db *db, const char *key, const uint8_t *value, size_t len);
sp_err store_meta_get(store_db *db, const char *key, uint8_t **value, size_t *len);

#endif
