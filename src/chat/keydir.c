/* keydir.c — key packages: the ones we make for local users (GenerateKeyPackage, and one kept
 * published per user for the directory) and the directory of other daemons' users, which lets
 * AddMemberToChannel work by user id alone. Each key package's private keys stay in the store
 * until a Welcome uses them, once. */
#include "chat/channels_int.h"

#include <stdlib.h>
#include <string.h>
#include <openssl/crypto.h>

#include "base/hex.h"
#include "base/log.h"
#include "base/rand.h"
#include "mls/codec.h"
#include "store/mls_state.h"
#include "store/kpdir_delete.h"
#include "store/profile_ids.h"
#include "store/profiles.h"
#include "store/spaces.h"
#include "chat/auth.h"

/* Decodes a key package given either way; on success *msg owns the decoded MLSMessage. */
static sp_err kp_decode(const uint8_t *p, size_t n, mls_message *msg, sp_buf *bytes)
{
    memset(msg, 0, sizeof *msg);
    if (mls_message_decode(p, n, msg) == SP_OK) {
        if (msg->wire_format != MLS_WIRE_KEY_PACKAGE) {
            mls_message_free(msg);
            return SP_ERR_INVALID;
        }
        return sp_buf_append(bytes, p, n);
    }
    memset(msg, 0, sizeof *msg);
    if (mls_key_package_decode(p, n, &msg->key_package) != SP_OK)
        return SP_ERR_INVALID;
    msg->version = MLS_VERSION_10;
    msg->wire_format = MLS_WIRE_KEY_PACKAGE;
    sp_err e = sp_buf_put_u16(bytes, MLS_VERSION_10);
    if (!e)
        e = sp_buf_put_u16(bytes, MLS_WIRE_KEY_PACKAGE);
    if (!e)
        e = sp_buf_append(bytes, p, n);
    if (e)
        mls_message_free(msg);
    return e;
}

static sp_err kp_identity(const mls_key_package *kp, char identity[37])
{
    const mls_bytes *id = &kp->leaf_node.credential.identity;
    if (id->len != 36)
        return SP_ERR_INVALID;
    memcpy(identity, id->data, 36);
    identity[36] = '\0';
    return sp_uuid_is_valid(identity) ? SP_OK : SP_ERR_INVALID;
}

sp_err kp_normalise(const uint8_t *p, size_t n, sp_buf *out, char identity[37])
{
    mls_message msg;
    if (!p || !n)
        return SP_ERR_INVALID;
    sp_err e = kp_decode(p, n, &msg, out);
    if (e)
        return e;
    e = kp_identity(&msg.key_package, identity);
    mls_message_free(&msg);
    return e;
}

sp_err user_sig_key(chat_channels *c, const char *user_id, uint8_t priv[MLS_SIG_PRIV_LEN])
{
    uint8_t *pub = NULL, *sec = NULL;
    size_t pub_len = 0, sec_len = 0;
    sp_err e = store_user_key_get(c->db, user_id, &pub, &pub_len, &sec, &sec_len);
    if (e == SP_OK) {
        if (sec_len == MLS_SIG_PRIV_LEN)
            memcpy(priv, sec, MLS_SIG_PRIV_LEN);
        else
            e = SP_ERR_INVALID;
        OPENSSL_cleanse(sec, sec_len);
        free(sec);
        free(pub);
        return e;
    }
    if (e != SP_ERR_NOT_FOUND)
        return e;
    uint8_t p[MLS_SIG_PUB_LEN];
    e = mls_sig_keygen(NULL, priv, p);
    if (!e)
        e = store_user_key_put(c->db, user_id, p, sizeof p, priv, MLS_SIG_PRIV_LEN);
    return e;
}

sp_err keypackage_make(chat_channels *c, const char *user_id, sp_buf *kp)
{
    uint8_t sig[MLS_SIG_PRIV_LEN], ref[MLS_HASH_LEN];
    sp_err e = user_sig_key(c, user_id, sig);
    if (e)
        return e;
    sp_buf priv;
    sp_buf_init(&priv);
    size_t start = kp->len;
    e = mls_key_package_make((const uint8_t *)user_id, strlen(user_id), sig, NULL, kp, &priv);
    OPENSSL_cleanse(sig, sizeof sig);
    /* the reference hashes the KeyPackage itself: the MLSMessage minus version and wire format */
    if (!e)
        e = kp->len - start > 4 ? SP_OK : SP_ERR_INTERNAL;
    if (!e)
        e = mls_make_key_package_ref(kp->data + start + 4, kp->len - start - 4, ref);
    if (!e)
        e = store_keypkg_put(c->db, ref, sizeof ref, user_id, kp->data + start, kp->len - start, priv.data,
                             priv.len);
    sp_buf_free_secret(&priv);
    return e;
}

sp_err chat_keypackage_new(chat_channels *c, const char *user_id, sp_buf *kp)
{
    return keypackage_make(c, user_id, kp);
}

sp_err keypackage_for_welcome(chat_channels *c, const mls_welcome *w, uint8_t ref[MLS_HASH_LEN],
                              char owner[37], uint8_t **priv, size_t *priv_len)
{
    for (size_t i = 0; i < w->n_secrets; i++) {
        const mls_bytes *r = &w->secrets[i].new_member;
        if (r->len != MLS_HASH_LEN)
            continue;
        uint8_t *kp = NULL;
        size_t kp_len = 0;
        sp_err e = store_keypkg_get(c->db, r->data, r->len, owner, &kp, &kp_len, priv, priv_len);
        free(kp);
        if (e == SP_ERR_NOT_FOUND)
            continue;
        if (e)
            return e;
        memcpy(ref, r->data, MLS_HASH_LEN);
        return SP_OK;
    }
    return SP_ERR_NOT_FOUND;
}

/* ---- the directory -------------------------------------------------------------------------- */

#define PUBLISHED_PER_USER 3

static void used_key(char *out, size_t cap, const uint8_t ref[MLS_HASH_LEN])
{
    char hex[2 * MLS_HASH_LEN + 1];
    sp_hex_encode(ref, MLS_HASH_LEN, hex);
    snprintf(out, cap, "kpused:%s", hex);
}

/* A used key package is remembered (a tombstone), so a late copy of its publication — catch-up
 * replays old frames — does not bring it back into the directory. */
static int kp_is_used(chat_channels *c, const uint8_t ref[MLS_HASH_LEN])
{
    char key[100];
    uint8_t *v = NULL;
    size_t n = 0;
    used_key(key, sizeof key, ref);
    sp_err e = store_meta_get(c->db, key, &v, &n);
    free(v);
    return e == SP_OK;
}

static void kp_mark_used(chat_channels *c, const char *user_id, const uint8_t ref[MLS_HASH_LEN], int tell)
{
    char key[100];
    used_key(key, sizeof key, ref);
    store_meta_put(c->db, key, (const uint8_t *)"1", 1);
    store_kpdir_delete(c->db, ref, MLS_HASH_LEN);
    if (!tell || !c->node)
        return;
    chat_kp_used_msg m;
    memset(&m, 0, sizeof m);
    snprintf(m.user_id, sizeof m.user_id, "%s", user_id);
    memcpy(m.ref, ref, MLS_HASH_LEN);
    sp_buf b;
    sp_buf_init(&b);
    if (chat_kp_used_encode(&m, &b) == SP_OK)
        net_node_broadcast(c->node, CHAT_PT_KP_USED, b.data, b.len, NULL);
    sp_buf_free(&b);
}

void keydir_on_used(chat_channels *c, const char *origin, const chat_kp_used_msg *m)
{
    (void)origin;
    kp_mark_used(c, m->user_id, m->ref, 0);
}

sp_err keydir_take(chat_channels *c, const char *user_id, sp_buf *kp)
{
    for (;;) {
        char *peer = NULL;
        uint8_t *bytes = NULL;
        size_t len = 0;
        sp_err e = store_kpdir_take(c->db, user_id, &peer, &bytes, &len);
        free(peer);
        if (e)
            return e;
        mls_message msg;
        sp_buf norm;
        sp_buf_init(&norm);
        uint8_t ref[MLS_HASH_LEN];
        e = kp_decode(bytes, len, &msg, &norm);
        free(bytes);
        if (!e) {
            e = mls_make_key_package_ref(msg.key_package.raw.data, msg.key_package.raw.len, ref);
            mls_message_free(&msg);
        }
        if (!e && kp_is_used(c, ref))
            e = SP_ERR_EXISTS;
        if (!e) {
            kp_mark_used(c, user_id, ref, 1);
            e = sp_buf_append(kp, norm.data, norm.len);
            sp_buf_free(&norm);
            return e;
        }
        sp_buf_free(&norm); /* stale or broken: try the next one */
    }
}

void keydir_on_kp(chat_channels *c, const char *origin, const chat_kp_msg *m)
{
    if (strcmp(origin, m->peer_id) != 0)
        return; /* a daemon publishes for its own users only */
    mls_message msg;
    sp_buf bytes;
    sp_buf_init(&bytes);
    char who[37];
    uint8_t ref[MLS_HASH_LEN];
    sp_err e = kp_decode(m->key_package.ptr, m->key_package.len, &msg, &bytes);
    if (!e) {
        e = kp_identity(&msg.key_package, who);
        if (!e && strcmp(who, m->user_id) != 0)
            e = SP_ERR_INVALID;
        if (!e)
            e = mls_make_key_package_ref(msg.key_package.raw.data, msg.key_package.raw.len, ref);
        mls_message_free(&msg);
    }
    if (!e && kp_is_used(c, ref)) {
        sp_buf_free(&bytes);
        return;
    }
    if (!e)
        e = store_kpdir_put(c->db, ref, sizeof ref, m->user_id, m->peer_id, bytes.data, bytes.len);
    if (!e) {
        char name[CHAT_USERNAME_MAX + 1];
        snprintf(name, sizeof name, "%.*s", (int)(m->username.len > CHAT_USERNAME_MAX ? CHAT_USERNAME_MAX : m->username.len),
                 (const char *)m->username.ptr);
        e = store_known_user_put(c->db, m->user_id, m->peer_id, name);
    }
    if (e)
        SP_WARN("chat: key package for %s from %.16s refused: %s", m->user_id, origin, sp_strerror(e));
    sp_buf_free(&bytes);
}

static void published_key(char *key, size_t cap, const char *user_id)
{
    snprintf(key, cap, "kppub:%s", user_id);
}

static int published_count(chat_channels *c, const char *key)
{
    uint8_t *v = NULL;
    size_t n = 0;
    int count = 0;
    if (store_meta_get(c->db, key, &v, &n) == SP_OK && n == 1 && v[0] >= '0' && v[0] <= '9')
        count = v[0] - '0';
    free(v);
    return count;
}

static void published_set(chat_channels *c, const char *key, int count)
{
    uint8_t d = (uint8_t)('0' + (count < 0 ? 0 : count > 9 ? 9 : count));
    store_meta_put(c->db, key, &d, 1);
}

void keydir_consumed(chat_channels *c, const char *user_id, const uint8_t ref[MLS_HASH_LEN])
{
    char key[80];
    published_key(key, sizeof key, user_id);
    published_set(c, key, published_count(c, key) - 1);
    kp_mark_used(c, user_id, ref, 1);
}

/* Two daemons can take the same directory key package before either hears the other's KP_USED
 * (keydir_take), each for an Add: both commits are accepted (in two channels, or as the same add
 * retried), and both Welcomes come here. Deleting the private keys at the first join would leave the
 * user a member in MLS that never joined the second channel. So the first join keeps them for a
 * grace period — a row in the outbox queue "kpgrace" (origin = the reference in hex, origin_seq =
 * when) — during which a second Welcome for that key package is joined as well; the sweep in
 * keydir_tick deletes them afterwards. The key package's init and leaf keys then serve two groups
 * for that while, as RFC 9420's last-resort key packages do. */
#define KP_GRACE_QUEUE "kpgrace"

static int from_origin(const store_frame *row, const void *arg)
{
    return row->origin_peer && strcmp(row->origin_peer, arg) == 0;
}

static int in_grace(chat_channels *c, const char *hex)
{
    return queue_has(c, KP_GRACE_QUEUE, from_origin, hex);
}

sp_err keydir_join_used(chat_channels *c, const char *user_id, const uint8_t ref[MLS_HASH_LEN])
{
    char hex[2 * MLS_HASH_LEN + 1];
    sp_hex_encode(ref, MLS_HASH_LEN, hex);
    if (in_grace(c, hex)) {
        SP_WARN("chat: %s joined a second channel with one key package (two daemons took it at once)", user_id);
        return SP_OK;
    }
    sp_err e = store_outbox_add(c->db, KP_GRACE_QUEUE, hex, (uint64_t)store_now_ms(), 0, ref, MLS_HASH_LEN, NULL);
    if (!e)
        keydir_consumed(c, user_id, ref);
    return e;
}

static void grace_sweep(chat_channels *c)
{
    store_frame *v = NULL;
    size_t n = 0;
    if (store_outbox_list(c->db, KP_GRACE_QUEUE, 0, CHAT_QUEUE_SCAN, &v, &n) != SP_OK)
        return;
    int64_t now = store_now_ms();
    for (size_t i = 0; i < n; i++) {
        if ((int64_t)v[i].origin_seq + (int64_t)c->cfg.kp_grace_ms > now)
            break; /* oldest first */
        sp_err e = v[i].len == MLS_HASH_LEN ? store_keypkg_delete(c->db, v[i].payload, MLS_HASH_LEN) : SP_OK;
        if (e == SP_OK || e == SP_ERR_NOT_FOUND)
            store_outbox_remove(c->db, v[i].id);
    }
    store_frames_free(v, n);
}

/* Keeps one key package published per local user. */
void keydir_tick(chat_channels *c)
{
    grace_sweep(c);
    if (!c->node)
        return;
    char **ids = NULL;
    size_t n = 0;
    if (store_profile_ids(c->db, &ids, &n) != SP_OK)
        return;
    for (size_t i = 0; i < n; i++) {
        char key[80];
        uint8_t *v = NULL;
        size_t len = 0;
        published_key(key, sizeof key, ids[i]);
        (void)v;
        (void)len;
        int have = published_count(c, key);
        if (have >= PUBLISHED_PER_USER)
            continue;
        sp_err e;
        store_profile p;
        memset(&p, 0, sizeof p);
        if (store_profile_by_id(c->db, ids[i], &p) != SP_OK)
            continue;
        sp_buf kp, out;
        sp_buf_init(&kp);
        sp_buf_init(&out);
        chat_kp_msg m;
        memset(&m, 0, sizeof m);
        snprintf(m.user_id, sizeof m.user_id, "%s", ids[i]);
        snprintf(m.peer_id, sizeof m.peer_id, "%s", c->self);
        m.username.ptr = (const uint8_t *)p.username;
        m.username.len = strlen(p.username);
        e = keypackage_make(c, ids[i], &kp);
        if (!e) {
            m.key_package = sp_buf_slice(&kp);
            e = chat_kp_encode(&m, &out);
        }
        if (!e)
            e = net_node_broadcast(c->node, CHAT_PT_KEY_PACKAGE, out.data, out.len, NULL);
        if (!e)
            published_set(c, key, have + 1);
        if (e)
            SP_WARN("chat: cannot publish a key package for %s: %s", ids[i], sp_strerror(e));
        else
            SP_DEBUG("chat: published a key package for %s", ids[i]);
        sp_buf_free(&kp);
        sp_buf_free(&out);
        store_profile_clear(&p);
    }
    store_strv_free(ids, n);
}
