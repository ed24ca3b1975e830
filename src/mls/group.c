/* group.c — the group API of mls/group.h on top of commit.c, welcome.c and
 * group_state.c: key packages, group creation, joining, handshake messages,
 * application messages and what a group is. */
#include <stdlib.h>
#include <string.h>
#include <openssl/crypto.h>
#include <time.h>

#include "mls/codec.h"
#include "mls/framing.h"
#include "mls/group_internal.h"
#include "mls/hpke.h"
#include "mls/key_package.h"
#include "mls/tls.h"

#define KP_BLOB_VERSION 1

/* ---- key packages ------------------------------------------------------------------------------ */

static sp_err load_signer(const uint8_t *sig_priv, const mls_rand *rng,
                          uint8_t priv[MLS_SIG_PRIV_LEN], mls_signer **s)
{
    uint8_t pub[MLS_SIG_PUB_LEN];
    if (sig_priv)
        memcpy(priv, sig_priv, MLS_SIG_PRIV_LEN);
    else
        TRY(mls_sig_keygen(rng, priv, pub));
    return mls_signer_new(priv, s);
}

sp_err mls_key_package_make(const uint8_t *identity, size_t id_len, const uint8_t *sig_priv,
                            const mls_rand *rng, sp_buf *kp, sp_buf *priv)
{
    uint8_t sp[MLS_SIG_PRIV_LEN], ip[MLS_KEM_PRIV_LEN], ep[MLS_KEM_PRIV_LEN];
    mls_signer *s = NULL;
    mls_message m = {0};
    m.version = MLS_VERSION_10;
    m.wire_format = MLS_WIRE_KEY_PACKAGE;
    sp_err e = load_signer(sig_priv, rng, sp, &s);
    if (!e)
        e = mls_key_package_create(identity, id_len, s, rng, &m.key_package, ip, ep);
    if (!e)
        e = mls_message_write(kp, &m);
    if (!e) {
        sp_buf_put_u8(priv, KP_BLOB_VERSION);
        sp_buf_append(priv, sp, sizeof sp);
        sp_buf_append(priv, ip, sizeof ip);
        sp_buf_append(priv, ep, sizeof ep);
        mls_put_opaque(priv, m.key_package.raw.data, m.key_package.raw.len);
        if (priv->failed || kp->failed)
            e = SP_ERR_NOMEM;
    }
    mls_wipe(sp, sizeof sp);
    mls_wipe(ip, sizeof ip);
    mls_wipe(ep, sizeof ep);
    mls_message_free(&m);
    mls_signer_free(s);
    return e;
}

/* ---- life cycle --------------------------------------------------------------------------------- */

sp_err mls_group_create(const uint8_t *group_id, size_t gid_len, const uint8_t *identity,
                        size_t id_len, const uint8_t *sig_priv, const mls_extension_list *gc_ext,
                        const mls_rand *rng, mls_group **out)
{
    *out = NULL;
    mls_group *g;
    TRY(mls_group_alloc(&g));
    g->rng = rng;
    uint8_t ep[MLS_KEM_PRIV_LEN], pub[MLS_KEM_PUB_LEN], init[MLS_HASH_LEN], th[MLS_HASH_LEN];
    mls_leaf_node leaf = {0};
    sp_buf gc = SP_BUF_INIT, ti = SP_BUF_INIT;
    sp_err e = load_signer(sig_priv, rng, g->sig_priv, &g->signer);
    if (!e)
        e = mls_hpke_keygen(rng, ep, pub);
    if (!e)
        e = mls_leaf_node_init(&leaf, identity, id_len, mls_signer_pub(g->signer), pub);
    if (!e) {
        uint64_t now = (uint64_t)time(NULL);
        leaf.source = MLS_LEAF_SOURCE_KEY_PACKAGE;
        leaf.lifetime.not_before = now - 3600;
        leaf.lifetime.not_after = now + 90 * 86400;
        sp_slice none = {NULL, 0};
        e = mls_leaf_node_sign(&leaf, g->signer, none, 0);
    }
    if (!e)
        e = mls_tree_new(&g->tree);
    if (!e)
        e = mls_tree_add(g->tree, &leaf, NULL);
    if (!e)
        e = mls_privs_set(&g->privs, 0, ep, pub);
    mls_group_context *c = &g->ctx;
    c->version = MLS_VERSION_10;
    c->cipher_suite = MLS_CIPHER_SUITE;
    if (!e)
        e = mls_bytes_set(&c->group_id, group_id, gid_len);
    if (!e)
        e = mls_tree_root_hash(g->tree, th);
    if (!e)
        e = mls_bytes_set(&c->tree_hash, th, sizeof th);
    for (size_t i = 0; !e && gc_ext && i < gc_ext->n; i++) {
        uint16_t ty = gc_ext->v[i].type;
        if (ty > MLS_EXT_EXTERNAL_SENDERS && ty != MLS_EXT_SPACEPANDA)
            e = SP_ERR_UNSUPPORTED; /* our own leaf would not support it */
        else
            e = mls_extensions_add(&c->extensions, ty, gc_ext->v[i].data.data,
                                   gc_ext->v[i].data.len);
    }
    if (!e)
        e = mls_group_context_write(&gc, c);
    if (!e && gc.failed)
        e = SP_ERR_NOMEM;
    if (!e)
        e = mls_rand_bytes(rng, init, sizeof init);
    if (!e)
        e = mls_key_schedule(init, NULL, NULL, gc.data, gc.len, &g->sec);
    /* §11: the interim hash starts from an empty confirmed hash and the tag
     * MAC(confirmation_key, "") */
    uint8_t tag[MLS_HASH_LEN];
    if (!e)
        e = mls_hmac(g->sec.confirmation_key, MLS_HASH_LEN, NULL, 0, tag);
    if (!e)
        e = mls_put_opaque(&ti, tag, sizeof tag);
    if (!e)
        e = mls_hash(ti.data, ti.len, g->interim);
    g->interim_len = MLS_HASH_LEN;
    if (!e)
        e = mls_secret_tree_new(g->sec.encryption_secret, 1, NULL, &g->st);
    if (!e)
        e = mls_group_note_resumption(g);
    mls_wipe(ep, sizeof ep);
    mls_wipe(init, sizeof init);
    mls_leaf_node_free(&leaf);
    sp_buf_free(&gc);
    sp_buf_free(&ti);
    if (e) {
        mls_group_free(g);
        return e;
    }
    *out = g;
    return SP_OK;
}

sp_err mls_group_join(const uint8_t *welcome, size_t welcome_len, const uint8_t *ratchet_tree,
                      size_t tree_len, const uint8_t *kp_priv, size_t kp_priv_len,
                      const mls_external_psk *psks, size_t n_psks, const mls_rand *rng,
                      mls_group **out)
{
    *out = NULL;
    mls_message m;
    TRY(mls_message_decode(welcome, welcome_len, &m));
    sp_reader r;
    sp_reader_init(&r, kp_priv, kp_priv_len);
    uint8_t v, sp[MLS_SIG_PRIV_LEN], ip[MLS_KEM_PRIV_LEN], ep[MLS_KEM_PRIV_LEN];
    sp_slice raw;
    mls_key_package kp = {0};
    sp_err e = m.wire_format == MLS_WIRE_WELCOME ? SP_OK : SP_ERR_INVALID;
    if (!e)
        e = sp_read_u8(&r, &v);
    if (!e && v != KP_BLOB_VERSION)
        e = SP_ERR_UNSUPPORTED;
    if (!e)
        e = sp_read_copy(&r, sp, sizeof sp);
    if (!e)
        e = sp_read_copy(&r, ip, sizeof ip);
    if (!e)
        e = sp_read_copy(&r, ep, sizeof ep);
    if (!e)
        e = mls_read_opaque(&r, &raw);
    if (!e && sp_reader_left(&r))
        e = SP_ERR_INVALID;
    if (!e)
        e = mls_key_package_decode(raw.ptr, raw.len, &kp);
    if (!e)
        e = mls_group_join_keys(&m.welcome, ratchet_tree, ratchet_tree ? tree_len : 0, &kp, ip,
                                ep, sp, psks, n_psks, rng, out);
    mls_wipe(sp, sizeof sp);
    mls_wipe(ip, sizeof ip);
    mls_wipe(ep, sizeof ep);
    mls_key_package_free(&kp);
    mls_message_free(&m);
    return e;
}

void mls_group_set_private_handshake(mls_group *g, int on) { g->private_handshake = on != 0; }

void mls_group_set_past_epochs(mls_group *g, unsigned n)
{
    g->max_past = n;
    while (g->n_past > n) {
        mls_past_epoch_unref(g->past[0]);
        memmove(g->past, g->past + 1, (g->n_past - 1) * sizeof *g->past);
        g->n_past--;
    }
}

/* ---- what the group is -------------------------------------------------------------------------------- */

uint64_t mls_group_epoch(const mls_group *g) { return g->ctx.epoch; }
sp_slice mls_group_id(const mls_group *g) { return mls_bytes_slice(&g->ctx.group_id); }
uint32_t mls_group_own_leaf(const mls_group *g) { return g->me; }
int mls_group_active(const mls_group *g) { return g->active; }
sp_err mls_group_ratchet_tree(const mls_group *g, sp_buf *out)
{
    sp_err e = mls_tree_encode(g->tree, out);
    return !e && out->failed ? SP_ERR_NOMEM : e;
}

const mls_extension_list *mls_group_extensions(const mls_group *g) { return &g->ctx.extensions; }

void mls_group_epoch_authenticator(const mls_group *g, uint8_t out[MLS_HASH_LEN])
{
    memcpy(out, g->sec.epoch_authenticator, MLS_HASH_LEN);
}

sp_err mls_group_export(const mls_group *g, const char *label, const uint8_t *context,
                        size_t ctx_len, uint8_t *out, uint16_t out_len)
{
    if (!g->active)
        return SP_ERR_STATE;
    return mls_exporter(g->sec.exporter_secret, (const uint8_t *)label, strlen(label), context,
                        ctx_len, out, out_len);
}

sp_err mls_group_members(const mls_group *g, mls_member **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    uint32_t L = mls_tree_n_leaves(g->tree);
    mls_member *m = calloc(L ? L : 1, sizeof *m);
    if (!m)
        return SP_ERR_NOMEM;
    size_t k = 0;
    for (uint32_t l = 0; l < L; l++) {
        const mls_leaf_node *lf = mls_tree_leaf(g->tree, mls_leaf(l));
        if (!lf)
            continue;
        const mls_bytes *id = &lf->credential.identity;
        m[k].leaf = l;
        m[k].identity = malloc(id->len ? id->len : 1);
        if (!m[k].identity) {
            mls_members_free(m, k);
            return SP_ERR_NOMEM;
        }
        if (id->len)
            memcpy(m[k].identity, id->data, id->len);
        m[k++].identity_len = id->len;
    }
    *out = m;
    *n = k;
    return SP_OK;
}

void mls_members_free(mls_member *m, size_t n)
{
    for (size_t i = 0; m && i < n; i++)
        free(m[i].identity);
    free(m);
}

static int identity_is(const mls_leaf_node *lf, const uint8_t *id, size_t len)
{
    const mls_bytes *x = &lf->credential.identity;
    return lf->credential.type == MLS_CREDENTIAL_BASIC && x->len == len &&
           (len == 0 || memcmp(x->data, id, len) == 0);
}

sp_err mls_group_find_member(const mls_group *g, const uint8_t *identity, size_t id_len,
                             uint32_t *leaf)
{
    for (uint32_t l = 0; l < mls_tree_n_leaves(g->tree); l++) {
        const mls_leaf_node *lf = mls_tree_leaf(g->tree, mls_leaf(l));
        if (lf && identity_is(lf, identity, id_len)) {
            *leaf = l;
            return SP_OK;
        }
    }
    return SP_ERR_NOT_FOUND;
}

/* ---- commits we make ------------------------------------------------------------------------------------ */

static void proposals_free(mls_proposal *p, size_t n)
{
    for (size_t i = 0; p && i < n; i++)
        mls_proposal_free(&p[i]);
    free(p);
}

sp_err mls_group_add(const mls_group *g, const sp_slice *key_packages, size_t n,
                     mls_commit_out *out, mls_group **next)
{
    *next = NULL;
    memset(out, 0, sizeof *out);
    if (!n)
        return SP_ERR_INVALID;
    mls_proposal *p = calloc(n, sizeof *p);
    if (!p)
        return SP_ERR_NOMEM;
    sp_err e = SP_OK;
    for (size_t i = 0; !e && i < n; i++) {
        mls_message m;
        e = mls_message_decode(key_packages[i].ptr, key_packages[i].len, &m);
        if (!e && m.wire_format != MLS_WIRE_KEY_PACKAGE)
            e = SP_ERR_INVALID;
        if (!e) {
            p[i].type = MLS_PROPOSAL_ADD;
            p[i].add = m.key_package; /* moved */
            memset(&m.key_package, 0, sizeof m.key_package);
        }
        if (e != SP_ERR_NOMEM && e)
            e = SP_ERR_INVALID;
        mls_message_free(&m);
    }
    if (!e)
        e = mls_commit_create(g, p, n, 0, out, next);
    proposals_free(p, n);
    return e;
}

sp_err mls_group_remove(const mls_group *g, const uint32_t *leaves, size_t n,
                        mls_commit_out *out, mls_group **next)
{
    *next = NULL;
    memset(out, 0, sizeof *out);
    if (!n)
        return SP_ERR_INVALID;
    mls_proposal *p = calloc(n, sizeof *p);
    if (!p)
        return SP_ERR_NOMEM;
    sp_err e = SP_OK;
    for (size_t i = 0; i < n; i++) {
        p[i].type = MLS_PROPOSAL_REMOVE;
        p[i].remove = leaves[i];
        if (leaves[i] == g->me || !mls_tree_leaf(g->tree, mls_leaf(leaves[i])))
            e = leaves[i] == g->me ? SP_ERR_INVALID : SP_ERR_NOT_FOUND;
    }
    if (!e)
        e = mls_commit_create(g, p, n, 1, out, next);
    proposals_free(p, n);
    return e;
}

sp_err mls_group_remove_identity(const mls_group *g, const uint8_t *identity, size_t id_len,
                                 mls_commit_out *out, mls_group **next)
{
    *next = NULL;
    memset(out, 0, sizeof *out);
    uint32_t L = mls_tree_n_leaves(g->tree), *leaves = malloc(L * sizeof *leaves);
    if (!leaves)
        return SP_ERR_NOMEM;
    size_t n = 0;
    for (uint32_t l = 0; l < L; l++) {
        const mls_leaf_node *lf = mls_tree_leaf(g->tree, mls_leaf(l));
        if (lf && l != g->me && identity_is(lf, identity, id_len))
            leaves[n++] = l;
    }
    sp_err e = n ? mls_group_remove(g, leaves, n, out, next) : SP_ERR_NOT_FOUND;
    free(leaves);
    return e;
}

sp_err mls_group_self_update(const mls_group *g, mls_commit_out *out, mls_group **next)
{
    return mls_commit_create(g, NULL, 0, 1, out, next);
}

/* ---- incoming handshake messages ------------------------------------------------------------------------------ */

static sp_err sender_key(void *arg, const mls_framed_content *c, uint8_t pub[MLS_SIG_PUB_LEN])
{
    const mls_tree *t = arg;
    if (c->sender.type != MLS_SENDER_MEMBER)
        return SP_ERR_UNSUPPORTED;
    const mls_leaf_node *lf = mls_tree_leaf(t, mls_leaf(c->sender.index));
    if (!lf || lf->signature_key.len != MLS_SIG_PUB_LEN)
        return SP_ERR_NOT_FOUND;
    memcpy(pub, lf->signature_key.data, MLS_SIG_PUB_LEN);
    return SP_OK;
}

sp_err mls_group_stage(const mls_group *g, const uint8_t *msg, size_t len, mls_group **next,
                       mls_process_info *info)
{
    *next = NULL;
    memset(info, 0, sizeof *info);
    if (!g->active)
        return SP_ERR_STATE;
    mls_message m;
    TRY(mls_message_decode(msg, len, &m));
    mls_group *ns = NULL;
    mls_authenticated_content ac = {0};
    sp_err e = SP_OK;
    if (m.wire_format == MLS_WIRE_PUBLIC_MESSAGE) {
        if (m.public_message.content.content_type == MLS_CONTENT_APPLICATION)
            e = SP_ERR_INVALID;
    } else if (m.wire_format == MLS_WIRE_PRIVATE_MESSAGE) {
        if (m.private_message.content_type == MLS_CONTENT_APPLICATION)
            e = SP_ERR_INVALID; /* use mls_group_unprotect */
    } else {
        e = SP_ERR_INVALID;
    }
    if (!e)
        e = mls_group_clone(g, &ns);
    if (!e && m.wire_format == MLS_WIRE_PUBLIC_MESSAGE)
        e = mls_public_message_open(&m.public_message, &ns->ctx, ns->sec.membership_key,
                                    sender_key, ns->tree, &ac);
    else if (!e)
        e = mls_private_message_open(&m.private_message, &ns->ctx, ns->st,
                                     ns->sec.sender_data_secret, sender_key, ns->tree, &ac);
    if (!e)
        e = mls_handle_content(ns, &ac, info);
    mls_authenticated_content_free(&ac);
    mls_message_free(&m);
    if (e) {
        mls_group_free(ns);
        return e;
    }
    *next = ns;
    return SP_OK;
}

sp_err mls_group_process(mls_group *g, const uint8_t *msg, size_t len, mls_process_info *info)
{
    mls_group *next;
    TRY(mls_group_stage(g, msg, len, &next, info));
    mls_group_apply(g, next);
    return SP_OK;
}

/* ---- application data ------------------------------------------------------------------------------------------ */

sp_err mls_group_skip_sends(mls_group *g, uint32_t n)
{
    if (!g->active)
        return SP_ERR_STATE;
    sp_err e = SP_OK;
    for (uint32_t i = 0; !e && i < n; i++) {
        mls_ratchet_key k;
        e = mls_secret_tree_next(g->st, mls_leaf(g->me), MLS_RATCHET_APPLICATION, &k);
        OPENSSL_cleanse(&k, sizeof k);
    }
    return e;
}

sp_err mls_group_protect(mls_group *g, const uint8_t *pt, size_t pt_len, const uint8_t *aad,
                         size_t aad_len, sp_buf *out)
{
    if (!g->active)
        return SP_ERR_STATE;
    mls_authenticated_content ac = {0};
    mls_message m = {0};
    ac.wire_format = MLS_WIRE_PRIVATE_MESSAGE;
    ac.content.epoch = g->ctx.epoch;
    ac.content.sender.type = MLS_SENDER_MEMBER;
    ac.content.sender.index = g->me;
    ac.content.content_type = MLS_CONTENT_APPLICATION;
    sp_err e = mls_bytes_set(&ac.content.group_id, g->ctx.group_id.data, g->ctx.group_id.len);
    if (!e)
        e = mls_bytes_set(&ac.content.authenticated_data, aad, aad_len);
    if (!e)
        e = mls_bytes_set(&ac.content.application_data, pt, pt_len);
    if (!e)
        e = mls_content_sign(&ac, &g->ctx, g->signer);
    m.version = MLS_VERSION_10;
    m.wire_format = MLS_WIRE_PRIVATE_MESSAGE;
    if (!e)
        e = mls_private_message_protect(&ac, g->st, g->sec.sender_data_secret, 0, g->rng,
                                        &m.private_message);
    if (!e)
        e = mls_message_write(out, &m);
    if (!e && out->failed)
        e = SP_ERR_NOMEM;
    mls_message_free(&m);
    mls_authenticated_content_free(&ac);
    return e;
}

sp_err mls_group_unprotect(mls_group *g, const uint8_t *msg, size_t len, sp_buf *pt,
                           uint32_t *sender_leaf, sp_buf *sender_identity)
{
    mls_message m;
    TRY(mls_message_decode(msg, len, &m));
    sp_err e = SP_OK;
    const mls_private_message *pm = &m.private_message;
    if (m.wire_format != MLS_WIRE_PRIVATE_MESSAGE || pm->content_type != MLS_CONTENT_APPLICATION)
        e = SP_ERR_INVALID;
    /* the epoch's secrets: current or kept */
    const mls_group_context *ctx = &g->ctx;
    mls_secret_tree **st = &g->st;
    const uint8_t *sds = g->sec.sender_data_secret;
    const mls_tree *tree = g->tree;
    if (!e && pm->epoch != g->ctx.epoch) {
        e = SP_ERR_STATE;
        for (size_t i = 0; i < g->n_past; i++)
            if (g->past[i]->ctx.epoch == pm->epoch) {
                ctx = &g->past[i]->ctx;
                st = &g->past[i]->st;
                sds = g->past[i]->sender_data_secret;
                tree = g->past[i]->tree;
                e = SP_OK;
            }
    } else if (!e && !g->active) {
        e = SP_ERR_STATE;
    }
    /* Opened on a copy of the secret tree, kept only on success: the framing
     * consumes a key only once the message proved authentic, but reaching a
     * leaf or generation still derives (and deletes) secrets, and a rejected
     * message must leave the state exactly as it was. */
    mls_secret_tree *copy = NULL;
    mls_authenticated_content ac = {0};
    if (!e)
        e = mls_secret_tree_dup(*st, &copy);
    if (!e)
        e = mls_private_message_open(pm, ctx, copy, sds, sender_key, (void *)tree, &ac);
    const mls_leaf_node *lf = NULL;
    if (!e) {
        lf = mls_tree_leaf(tree, mls_leaf(ac.content.sender.index));
        e = lf ? SP_OK : SP_ERR_NOT_FOUND;
    }
    if (!e)
        e = sp_buf_append(pt, ac.content.application_data.data, ac.content.application_data.len);
    if (!e && sender_identity)
        e = sp_buf_append(sender_identity, lf->credential.identity.data,
                          lf->credential.identity.len);
    if (!e) {
        if (sender_leaf)
            *sender_leaf = ac.content.sender.index;
        mls_secret_tree_free(*st);
        *st = copy;
        copy = NULL;
    }
    mls_secret_tree_free(copy);
    mls_authenticated_content_free(&ac);
    mls_message_free(&m);
    return e;
}

/* ---- peeking ------------------------------------------------------------------------------------------------------- */

sp_err mls_message_peek(const uint8_t *msg, size_t len, mls_message_info *info)
{
    memset(info, 0, sizeof *info);
    sp_reader r;
    sp_reader_init(&r, msg, len);
    uint16_t version;
    TRY(sp_read_u16(&r, &version));
    if (version != MLS_VERSION_10)
        return SP_ERR_UNSUPPORTED;
    TRY(sp_read_u16(&r, &info->wire_format));
    if (info->wire_format != MLS_WIRE_PUBLIC_MESSAGE && info->wire_format != MLS_WIRE_PRIVATE_MESSAGE)
        return info->wire_format >= MLS_WIRE_WELCOME && info->wire_format <= MLS_WIRE_KEY_PACKAGE
                   ? SP_OK
                   : SP_ERR_INVALID;
    TRY(mls_read_opaque(&r, &info->group_id));
    TRY(sp_read_u64(&r, &info->epoch));
    if (info->wire_format == MLS_WIRE_PUBLIC_MESSAGE) {
        uint8_t st;
        uint32_t idx;
        sp_slice ad;
        TRY(sp_read_u8(&r, &st));
        if (st == MLS_SENDER_MEMBER || st == MLS_SENDER_EXTERNAL)
            TRY(sp_read_u32(&r, &idx));
        else if (st != MLS_SENDER_NEW_MEMBER_PROPOSAL && st != MLS_SENDER_NEW_MEMBER_COMMIT)
            return SP_ERR_INVALID;
        TRY(mls_read_opaque(&r, &ad));
    }
    TRY(sp_read_u8(&r, &info->content_type));
    if (info->content_type < MLS_CONTENT_APPLICATION || info->content_type > MLS_CONTENT_COMMIT)
        return SP_ERR_INVALID;
    return SP_OK;
}
