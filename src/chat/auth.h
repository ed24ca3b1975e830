/*
 * chat/auth.h — local profiles and sessions: CreateProfile, Unlock, Lock, and checking a session
 * token on every other call.
 *
 * Passwords are hashed with argon2id (random 16-byte salt per profile) on the worker pool, never
 * on the reactor: create_profile and unlock return at once and report through a callback on the
 * reactor thread. Comparison is constant-time. An unknown user costs the same hashing as a wrong
 * password and fails with the same error (SP_ERR_AUTH), so neither timing nor message tells them
 * apart.
 *
 * Sessions live in memory only: a token is 32 random bytes (64 lowercase hex), valid until Lock or
 * until the daemon stops. After a restart every old token is unknown (SP_ERR_AUTH). A user holds
 * at most 64 sessions; a 65th Unlock ends that user's oldest.
 */
#ifndef SP_CHAT_AUTH_H
#define SP_CHAT_AUTH_H

#include <stdint.h>
#include "base/err.h"
#include "base/workers.h"
#include "store/db.h"

#define CHAT_USERNAME_MAX 64     /* bytes */
#define CHAT_PASSWORD_MAX 1024   /* bytes */
#define CHAT_TOKEN_HEX 64

typedef struct chat_auth chat_auth;
typedef struct chat_auth_op chat_auth_op;

typedef struct {
    char token[CHAT_TOKEN_HEX + 1];
    char user_id[37];
    char username[CHAT_USERNAME_MAX + 1];
    int64_t created_at;     /* the profile's, ms */
} chat_session;

/* Result callback, on the reactor thread. err is SP_OK (s is the new session, valid during the
 * call only) or: SP_ERR_EXISTS (username taken), SP_ERR_AUTH (unknown user or wrong password),
 * SP_ERR_STATE (shut down before the hash ran), SP_ERR_IO (database), SP_ERR_INTERNAL. */
typedef void (*chat_auth_cb)(void *ctx, sp_err err, const chat_session *s);

typedef struct {
    uint32_t m_kib, t, p;   /* argon2id cost; zeros mean the defaults (19 MiB, 2 passes, 1 lane) */
} chat_kdf_params;

/* db and workers are borrowed and must outlive the auth (or see chat_auth_free). */
sp_err chat_auth_new(store_db *db, sp_workers *workers, const chat_kdf_params *kdf, chat_auth **out);
/* Frees sessions; operations still hashing are detached (their callbacks never run). NULL ok. */
void chat_auth_free(chat_auth *a);

/* Checks the username (1..64 bytes of [A-Za-z0-9._-]) and password (1..1024 bytes) at once —
 * SP_ERR_INVALID, callback not called — and SP_ERR_EXISTS when the name is already taken; then
 * hashes on a worker and stores the profile. SP_ERR_AGAIN when too many hashes are queued.
 * On SP_OK the callback will run exactly once, unless the op is cancelled. *op may be NULL. */
sp_err chat_auth_create_profile(chat_auth *a, const char *username, const char *password,
                                chat_auth_cb cb, void *ctx, chat_auth_op **op);
/* username "" means the default profile (the only one, or the oldest). Over-long input is
 * SP_ERR_INVALID at once; everything else fails in the callback with SP_ERR_AUTH. */
sp_err chat_auth_unlock(chat_auth *a, const char *username, const char *password,
                        chat_auth_cb cb, void *ctx, chat_auth_op **op);
/* The callback of op will not run (its client went away). The hash still finishes on its worker
 * and is discarded; a profile being created is then not stored. */
void chat_auth_op_cancel(chat_auth_op *op);

/* Ends a session. SP_ERR_AUTH if the token is not a live session. */
sp_err chat_auth_lock(chat_auth *a, const char *token);
/* Resolves a token; SP_ERR_AUTH for a missing, malformed, unknown or locked token. *s is a copy. */
sp_err chat_auth_check(chat_auth *a, const char *token, chat_session *s);
/* Live sessions (tests, status). */
int chat_auth_session_count(const chat_auth *a);

/* Username rule, shared with other entry points. 1 if acceptable. */
int chat_username_valid(const char *username);

#endif
