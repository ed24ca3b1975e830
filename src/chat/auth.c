/* auth.c — profiles, argon2id on the worker pool, in-memory sessions. */
#include "chat/auth.h"

#include <argon2.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/crypto.h>
#include "base/hex.h"
#include "base/log.h"
#include "base/rand.h"
#include "store/profiles.h"

#define SALT_LEN 16
#define HASH_LEN 32
/* More queued hashes than this are refused: each holds a password copy, and the queue would
 * otherwise grow without bound under a flood of Unlocks. */
#define MAX_PENDING 256
/* Sessions per user: each Unlock makes one and only Lock ends it, so a script that never locks
 * would grow the table forever; past this many, a user's oldest session is ended. */
#define MAX_SESSIONS_PER_USER 64

enum op_kind { OP_CREATE, OP_UNLOCK };

struct chat_auth_op {
    chat_auth *auth;        /* NULL once the auth is gone: the op is then just freed */
    chat_auth_op *prev, *next;
    enum op_kind kind;
    chat_auth_cb cb;        /* NULL once cancelled */
    void *ctx;
    /* input, owned by the worker while it runs */
    char *password;
    size_t password_len;
    uint8_t salt[SALT_LEN];
    uint32_t m_kib, t, p;
    /* output */
    uint8_t hash[HASH_LEN];
    int hash_rc;
    /* what to do with it */
    int known;              /* unlock: a profile matched the name */
    uint8_t expected[HASH_LEN];
    char user_id[37];
    char username[CHAT_USERNAME_MAX + 1];
    int64_t created_at;
};

typedef struct {
    char token[CHAT_TOKEN_HEX + 1];
    char user_id[37];
    char username[CHAT_USERNAME_MAX + 1];
    int64_t created_at;
    uint64_t serial;        /* creation order, to find a user's oldest session */
} session;

struct chat_auth {
    store_db *db;
    sp_workers *workers;
    chat_kdf_params kdf;
    chat_auth_op *ops;      /* in flight */
    int nops;
    session *sessions;
    int nsessions, cap;
    uint64_t next_serial;
};

int chat_username_valid(const char *u)
{
    size_t n = u ? strlen(u) : 0;
    if (n == 0 || n > CHAT_USERNAME_MAX)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = u[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-'))
            return 0;
    }
    return 1;
}

sp_err chat_auth_new(store_db *db, sp_workers *workers, const chat_kdf_params *kdf, chat_auth **out)
{
    *out = NULL;
    if (!db || !workers)
        return SP_ERR_INVALID;
    chat_auth *a = calloc(1, sizeof *a);
    if (!a)
        return SP_ERR_NOMEM;
    a->db = db;
    a->workers = workers;
    /* OWASP's argon2id floor: 19 MiB, 2 passes, 1 lane — tens of ms per hash here. */
    a->kdf.m_kib = kdf && kdf->m_kib ? kdf->m_kib : 19456;
    a->kdf.t = kdf && kdf->t ? kdf->t : 2;
    a->kdf.p = kdf && kdf->p ? kdf->p : 1;
    *out = a;
    return SP_OK;
}

static void op_free(chat_auth_op *op)
{
    if (op->password) {
        OPENSSL_cleanse(op->password, op->password_len);
        free(op->password);
    }
    OPENSSL_cleanse(op->hash, sizeof op->hash);
    OPENSSL_cleanse(op->expected, sizeof op->expected);
    free(op);
}

static void op_unlink(chat_auth_op *op)
{
    chat_auth *a = op->auth;
    if (!a)
        return;
    if (op->prev)
        op->prev->next = op->next;
    else
        a->ops = op->next;
    if (op->next)
        op->next->prev = op->prev;
    a->nops--;
    op->auth = NULL;
}

void chat_auth_free(chat_auth *a)
{
    if (!a)
        return;
    while (a->ops) {
        chat_auth_op *op = a->ops;
        op_unlink(op);
        op->cb = NULL; /* the worker pool frees it when the hash comes back */
    }
    OPENSSL_cleanse(a->sessions, sizeof *a->sessions * (size_t)a->cap);
    free(a->sessions);
    free(a);
}

void chat_auth_op_cancel(chat_auth_op *op)
{
    if (op)
        op->cb = NULL;
}

int chat_auth_session_count(const chat_auth *a)
{
    return a ? a->nsessions : 0;
}

/* ---- sessions -------------------------------------------------------------------------- */

static void session_remove(chat_auth *a, int i)
{
    a->sessions[i] = a->sessions[--a->nsessions];
    OPENSSL_cleanse(&a->sessions[a->nsessions], sizeof a->sessions[0]);
}

static sp_err session_new(chat_auth *a, const chat_auth_op *op, chat_session *out)
{
    int mine = 0, oldest = -1;
    for (int i = 0; i < a->nsessions; i++) {
        if (strcmp(a->sessions[i].user_id, op->user_id) != 0)
            continue;
        mine++;
        if (oldest < 0 || a->sessions[i].serial < a->sessions[oldest].serial)
            oldest = i;
    }
    if (mine >= MAX_SESSIONS_PER_USER) {
        SP_INFO("auth: %s has %d sessions; ending the oldest", op->username, mine);
        session_remove(a, oldest);
    }
    if (a->nsessions == a->cap) {
        int nc = a->cap ? a->cap * 2 : 16;
        session *ns = realloc(a->sessions, (size_t)nc * sizeof *ns);
        if (!ns)
            return SP_ERR_NOMEM;
        a->sessions = ns;
        a->cap = nc;
    }
    uint8_t raw[CHAT_TOKEN_HEX / 2];
    sp_err e = sp_random(raw, sizeof raw);
    if (e)
        return e;
    session *s = &a->sessions[a->nsessions++];
    sp_hex_encode(raw, sizeof raw, s->token);
    OPENSSL_cleanse(raw, sizeof raw);
    memcpy(s->user_id, op->user_id, sizeof s->user_id);
    memcpy(s->username, op->username, sizeof s->username);
    s->created_at = op->created_at;
    s->serial = a->next_serial++;
    memcpy(out->token, s->token, sizeof out->token);
    memcpy(out->user_id, s->user_id, sizeof out->user_id);
    memcpy(out->username, s->username, sizeof out->username);
    out->created_at = s->created_at;
    return SP_OK;
}

/* Index of the session with this token, or -1. Every stored token is compared in full with
 * CRYPTO_memcmp so the time does not depend on how much of a guess matched. */
static int session_find(const chat_auth *a, const char *token)
{
    if (!token || strlen(token) != CHAT_TOKEN_HEX)
        return -1;
    int found = -1;
    for (int i = 0; i < a->nsessions; i++)
        if (CRYPTO_memcmp(a->sessions[i].token, token, CHAT_TOKEN_HEX) == 0)
            found = i;
    return found;
}

sp_err chat_auth_check(chat_auth *a, const char *token, chat_session *s)
{
    int i = session_find(a, token);
    if (i < 0)
        return SP_ERR_AUTH;
    if (s) {
        memcpy(s->token, a->sessions[i].token, sizeof s->token);
        memcpy(s->user_id, a->sessions[i].user_id, sizeof s->user_id);
        memcpy(s->username, a->sessions[i].username, sizeof s->username);
        s->created_at = a->sessions[i].created_at;
    }
    return SP_OK;
}

sp_err chat_auth_lock(chat_auth *a, const char *token)
{
    int i = session_find(a, token);
    if (i < 0)
        return SP_ERR_AUTH;
    session_remove(a, i);
    return SP_OK;
}

/* ---- hashing ---------------------------------------------------------------------------- */

/* Worker thread: only the op's own fields. */
static void hash_work(void *arg)
{
    chat_auth_op *op = arg;
    op->hash_rc = argon2id_hash_raw(op->t, op->m_kib, op->p, op->password, op->password_len,
                                    op->salt, SALT_LEN, op->hash, HASH_LEN);
    OPENSSL_cleanse(op->password, op->password_len);
}

static void finish(chat_auth_op *op, sp_err e, const chat_session *s)
{
    if (op->cb)
        op->cb(op->ctx, e, e ? NULL : s);
}

/* Reactor thread. */
static void hash_done(void *arg, sp_err status)
{
    chat_auth_op *op = arg;
    chat_auth *a = op->auth;
    op_unlink(op);
    if (!a || !op->cb) {
        op_free(op);
        return;
    }
    chat_session s;
    memset(&s, 0, sizeof s);
    sp_err e = status;
    if (!e && op->hash_rc != ARGON2_OK) {
        SP_ERROR("auth: argon2id failed: %s", argon2_error_message(op->hash_rc));
        e = SP_ERR_INTERNAL;
    }
    if (!e && op->kind == OP_CREATE) {
        store_profile p = {0};
        memcpy(p.user_id, op->user_id, sizeof p.user_id);
        p.username = op->username;
        p.pw_hash = op->hash;
        p.pw_hash_len = HASH_LEN;
        p.pw_salt = op->salt;
        p.pw_salt_len = SALT_LEN;
        p.kdf_m_kib = op->m_kib;
        p.kdf_t = op->t;
        p.kdf_p = op->p;
        p.created_at = op->created_at;
        e = store_profile_create(a->db, &p);
        if (e && e != SP_ERR_EXISTS) {
            SP_ERROR("auth: storing profile %s: %s (%s)", op->username, sp_strerror(e),
                     store_errmsg(a->db));
            e = SP_ERR_IO;
        }
        if (!e)
            SP_INFO("auth: profile %s created (%s)", op->username, op->user_id);
    } else if (!e) {
        /* Constant-time, and evaluated even for an unknown user. */
        int same = CRYPTO_memcmp(op->hash, op->expected, HASH_LEN) == 0;
        if (!(same && op->known))
            e = SP_ERR_AUTH;
    }
    if (!e)
        e = session_new(a, op, &s);
    finish(op, e, &s);
    OPENSSL_cleanse(s.token, sizeof s.token);
    op_free(op);
}

static sp_err start(chat_auth *a, chat_auth_op *op, const char *password, chat_auth_cb cb,
                    void *ctx, chat_auth_op **out)
{
    op->password_len = strlen(password);
    op->password = malloc(op->password_len + 1);
    if (!op->password) {
        op_free(op);
        return SP_ERR_NOMEM;
    }
    memcpy(op->password, password, op->password_len + 1);
    op->cb = cb;
    op->ctx = ctx;
    sp_err e = sp_workers_submit(a->workers, hash_work, hash_done, op);
    if (e) {
        op_free(op);
        return e;
    }
    op->auth = a;
    op->next = a->ops;
    if (a->ops)
        a->ops->prev = op;
    a->ops = op;
    a->nops++;
    if (out)
        *out = op;
    return SP_OK;
}

sp_err chat_auth_create_profile(chat_auth *a, const char *username, const char *password,
                                chat_auth_cb cb, void *ctx, chat_auth_op **out)
{
    if (out)
        *out = NULL;
    if (!chat_username_valid(username) || !password || !password[0] ||
        strlen(password) > CHAT_PASSWORD_MAX)
        return SP_ERR_INVALID;
    if (a->nops >= MAX_PENDING)
        return SP_ERR_AGAIN;
    /* Fail fast on a taken name; the insert after hashing checks again (UNIQUE) for races. */
    store_profile existing;
    sp_err e = store_profile_by_name(a->db, username, &existing);
    if (e == SP_OK) {
        store_profile_clear(&existing);
        return SP_ERR_EXISTS;
    }
    if (e != SP_ERR_NOT_FOUND)
        return SP_ERR_IO;
    chat_auth_op *op = calloc(1, sizeof *op);
    if (!op)
        return SP_ERR_NOMEM;
    op->kind = OP_CREATE;
    op->m_kib = a->kdf.m_kib;
    op->t = a->kdf.t;
    op->p = a->kdf.p;
    op->created_at = store_now_ms();
    strcpy(op->username, username);
    if ((e = sp_uuid_v4(op->user_id)) || (e = sp_random(op->salt, SALT_LEN))) {
        op_free(op);
        return e;
    }
    return start(a, op, password, cb, ctx, out);
}

sp_err chat_auth_unlock(chat_auth *a, const char *username, const char *password,
                        chat_auth_cb cb, void *ctx, chat_auth_op **out)
{
    if (out)
        *out = NULL;
    if (!username || !password || strlen(username) > CHAT_USERNAME_MAX ||
        strlen(password) > CHAT_PASSWORD_MAX)
        return SP_ERR_INVALID;
    if (a->nops >= MAX_PENDING)
        return SP_ERR_AGAIN;
    chat_auth_op *op = calloc(1, sizeof *op);
    if (!op)
        return SP_ERR_NOMEM;
    op->kind = OP_UNLOCK;
    store_profile p;
    memset(&p, 0, sizeof p);
    sp_err e = username[0] ? store_profile_by_name(a->db, username, &p) : store_profile_default(a->db, &p);
    if (e == SP_OK && p.pw_hash_len == HASH_LEN && p.pw_salt_len == SALT_LEN) {
        op->known = 1;
        memcpy(op->salt, p.pw_salt, SALT_LEN);
        memcpy(op->expected, p.pw_hash, HASH_LEN);
        memcpy(op->user_id, p.user_id, sizeof op->user_id);
        snprintf(op->username, sizeof op->username, "%s", p.username);
        op->created_at = p.created_at;
        op->m_kib = p.kdf_m_kib;
        op->t = p.kdf_t;
        op->p = p.kdf_p;
    } else {
        if (e != SP_ERR_NOT_FOUND && e != SP_OK)
            SP_WARN("auth: profile lookup: %s", sp_strerror(e));
        /* Unknown user: do the same work with a throwaway salt so the answer takes as long. */
        op->known = 0;
        op->m_kib = a->kdf.m_kib;
        op->t = a->kdf.t;
        op->p = a->kdf.p;
        if ((e = sp_random(op->salt, SALT_LEN)) == SP_OK)
            e = sp_random(op->expected, HASH_LEN);
    }
    store_profile_clear(&p);
    if (e) {
        op_free(op);
        return e;
    }
    return start(a, op, password, cb, ctx, out);
}
