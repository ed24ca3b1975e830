/* welcome.c — the Welcome (RFC 9420 §12.4.3): the committer's GroupInfo,
 * signed and encrypted with the welcome key, and each new member's
 * GroupSecrets HPKE-encrypted to its init key; and joining from one, with
 * the ratchet tree from the GroupInfo's ratchet_tree extension or given out
 * of band, fully validated, the path secret checked against the tree. */
#include <stdlib.h>
#include <string.h>

#include "mls/codec.h"
#include "mls/group_internal.h"
#include "mls/hpke.h"
#include "mls/key_package.h"
#include "mls/parallel.h"
#include "mls/transcript.h"

static sp_err sign_group_info(mls_group_info *gi, const mls_signer *s)
{
    sp_buf b = SP_BUF_INIT;
    uint8_t sig[MLS_SIG_LEN];
    sp_err e = mls_group_info_write_tbs(&b, gi);
    if (!e && b.failed)
        e = SP_ERR_NOMEM;
    if (!e)
        e = mls_sign_with_label(s, "GroupInfoTBS", b.data, b.len, sig);
    if (!e)
        e = mls_bytes_set(&gi->signature, sig, sizeof sig);
    sp_buf_free(&b);
    return e;
}

/* One joiner's EncryptedGroupSecrets: the items of the Welcome's parallel loop. */
typedef struct {
    const mls_group *ns;
    const mls_key_package *const *kps;
    const uint32_t *leaves;
    const mls_treekem_secrets *path;
    const mls_psk_id *const *psks;
    size_t n_psks;
    const uint8_t *info_hash; /* of the shared EncryptContext */
    const uint8_t *ikm;       /* MLS_KEM_PRIV_LEN bytes per joiner, drawn in order */
    mls_encrypted_group_secrets *out;
} joiner_job;

static sp_err seal_for_joiner(void *arg, size_t i)
{
    const joiner_job *j = arg;
    const mls_key_package *kp = j->kps[i];
    mls_encrypted_group_secrets *es = &j->out[i];
    mls_group_secrets gs = {0};
    sp_buf gsb = SP_BUF_INIT, ct = SP_BUF_INIT;
    uint8_t ref[MLS_HASH_LEN], ps[MLS_HASH_LEN], kem[MLS_KEM_PUB_LEN];
    sp_err e = mls_key_package_ref(kp, ref);
    if (!e)
        e = mls_bytes_set(&es->new_member, ref, sizeof ref);
    if (!e)
        e = mls_bytes_set(&gs.joiner_secret, j->ns->sec.joiner_secret, MLS_HASH_LEN);
    if (!e && j->path && mls_treekem_secret_for(j->path, mls_leaf(j->leaves[i]), ps) == SP_OK) {
        gs.has_path_secret = 1;
        e = mls_bytes_set(&gs.path_secret, ps, sizeof ps);
    }
    mls_wipe(ps, sizeof ps);
    /* the joiners derive the welcome secret with the commit's PSKs */
    if (!e && j->n_psks) {
        gs.psks = calloc(j->n_psks, sizeof *gs.psks);
        e = gs.psks ? SP_OK : SP_ERR_NOMEM;
    }
    for (size_t k = 0; !e && k < j->n_psks; k++) {
        gs.n_psks++;
        e = mls_psk_id_copy(&gs.psks[k], j->psks[k]);
    }
    if (!e)
        e = mls_group_secrets_write(&gsb, &gs);
    if (!e && gsb.failed)
        e = SP_ERR_NOMEM;
    if (!e)
        e = kp->init_key.len == MLS_KEM_PUB_LEN ? SP_OK : SP_ERR_INVALID;
    mls_rand_fixed_src src = {j->ikm + i * MLS_KEM_PRIV_LEN, MLS_KEM_PRIV_LEN};
    mls_rand rng = {mls_rand_fixed, &src};
    if (!e)
        e = mls_encrypt_with_label_hashed(kp->init_key.data, j->info_hash, gsb.data, gsb.len, &rng,
                                          kem, &ct);
    if (!e)
        e = mls_bytes_set(&es->encrypted_group_secrets.kem_output, kem, sizeof kem);
    if (!e)
        e = mls_bytes_set(&es->encrypted_group_secrets.ciphertext, ct.data, ct.len);
    sp_buf_free(&ct);
    mls_group_secrets_free(&gs);
    sp_buf_free_secret(&gsb);
    return e;
}

sp_err mls_welcome_create(const mls_group *ns, const mls_key_package *const *kps,
                          const uint32_t *leaves, size_t n, const mls_treekem_secrets *path,
                          const mls_psk_id *const *psks, size_t n_psks,
                          const uint8_t *confirmation_tag, sp_buf *tree_enc, sp_buf *out)
{
    mls_group_info gi = {0};
    mls_message m = {0};
    sp_buf gib = SP_BUF_INIT;
    uint8_t key[MLS_AEAD_KEY_LEN], nonce[MLS_AEAD_NONCE_LEN];
    sp_err e = mls_group_context_copy(&gi.group_context, &ns->ctx);
    if (!e)
        e = mls_extensions_add(&gi.extensions, MLS_EXT_RATCHET_TREE, tree_enc->data, tree_enc->len);
    if (!e)
        e = mls_bytes_set(&gi.confirmation_tag, confirmation_tag, MLS_HASH_LEN);
    gi.signer = ns->me;
    if (!e)
        e = sign_group_info(&gi, ns->signer);
    if (!e)
        e = mls_group_info_write(&gib, &gi);
    if (!e && gib.failed)
        e = SP_ERR_NOMEM;
    if (!e)
        e = mls_welcome_key_nonce(ns->sec.welcome_secret, key, nonce);
    mls_welcome *w = &m.welcome;
    m.version = MLS_VERSION_10;
    m.wire_format = MLS_WIRE_WELCOME;
    w->cipher_suite = MLS_CIPHER_SUITE;
    if (!e) {
        w->encrypted_group_info.data = malloc(gib.len + MLS_AEAD_TAG_LEN);
        e = w->encrypted_group_info.data ? SP_OK : SP_ERR_NOMEM;
    }
    if (!e) {
        w->encrypted_group_info.len = gib.len + MLS_AEAD_TAG_LEN;
        e = mls_aead_seal(key, nonce, NULL, 0, gib.data, gib.len, w->encrypted_group_info.data);
    }
    /* every joiner's EncryptWithLabel has the same (large) context */
    uint8_t info_hash[MLS_HASH_LEN];
    if (!e)
        e = mls_encrypt_context_hash("Welcome", w->encrypted_group_info.data,
                                     w->encrypted_group_info.len, info_hash);
    /* each joiner's HPKE ephemeral key (two X25519 multiplications) is most of
     * the Welcome's cost: the joiners are sealed on several threads, each with
     * randomness drawn here in joiner order, so the bytes do not depend on it */
    uint8_t *ikm = NULL;
    if (!e) {
        w->secrets = calloc(n, sizeof *w->secrets);
        ikm = malloc(n * MLS_KEM_PRIV_LEN);
        e = w->secrets && ikm ? SP_OK : SP_ERR_NOMEM;
    }
    if (!e) {
        w->n_secrets = n;
        e = mls_rand_items(ns->rng, n, MLS_KEM_PRIV_LEN, ikm);
    }
    if (!e) {
        joiner_job j = {ns, kps, leaves, path, psks, n_psks, info_hash, ikm, w->secrets};
        e = mls_parallel_for(n, seal_for_joiner, &j);
    }
    if (ikm) {
        mls_wipe(ikm, n * MLS_KEM_PRIV_LEN);
        free(ikm);
    }
    if (!e)
        e = mls_message_write(out, &m);
    if (!e && out->failed)
        e = SP_ERR_NOMEM;
    mls_wipe(key, sizeof key);
    mls_wipe(nonce, sizeof nonce);
    mls_message_free(&m);
    mls_group_info_free(&gi);
    sp_buf_free(&gib);
    return e;
}

/* ---- joining ------------------------------------------------------------------------------------ */

static int same(const mls_bytes *a, const uint8_t *p, size_t n)
{
    return a->len == n && (n == 0 || memcmp(a->data, p, n) == 0);
}

/* psk_secret of the GroupSecrets' PSKs: only external ones can be known to a joiner. */
static sp_err joiner_psk_secret(const mls_group_secrets *gs, const mls_external_psk *psks,
                                size_t n_psks, uint8_t out[MLS_HASH_LEN])
{
    if (gs->n_psks > 64)
        return SP_ERR_TOO_LARGE;
    mls_psk_input in[64];
    sp_buf ids[64];
    sp_err e = SP_OK;
    size_t n = 0;
    for (; !e && n < gs->n_psks; n++) {
        const mls_psk_id *id = &gs->psks[n];
        sp_buf_init(&ids[n]);
        e = mls_psk_id_write(&ids[n], id);
        in[n].id = ids[n].data;
        in[n].id_len = ids[n].len;
        in[n].psk = NULL;
        for (size_t k = 0; id->type == MLS_PSK_EXTERNAL && k < n_psks; k++)
            if (same(&id->psk_id, psks[k].id.ptr, psks[k].id.len)) {
                in[n].psk = psks[k].psk.ptr;
                in[n].psk_len = psks[k].psk.len;
            }
        if (!e && !in[n].psk)
            e = SP_ERR_NOT_FOUND;
    }
    if (!e)
        e = mls_psk_secret(in, gs->n_psks, out);
    for (size_t i = 0; i < n; i++)
        sp_buf_free(&ids[i]);
    return e;
}

static sp_err verify_group_info(const mls_group_info *gi, const mls_tree *t)
{
    const mls_leaf_node *s = mls_tree_leaf(t, mls_leaf(gi->signer));
    if (!s || s->signature_key.len != MLS_SIG_PUB_LEN)
        return SP_ERR_INVALID;
    sp_buf b = SP_BUF_INIT;
    sp_err e = mls_group_info_write_tbs(&b, gi);
    if (!e && b.failed)
        e = SP_ERR_NOMEM;
    if (!e)
        e = mls_verify_with_label(s->signature_key.data, "GroupInfoTBS", b.data, b.len,
                                  gi->signature.data, gi->signature.len);
    sp_buf_free(&b);
    return e;
}

sp_err mls_welcome_open(const mls_welcome *w, const mls_key_package *kp,
                           const uint8_t init_priv[MLS_KEM_PRIV_LEN], const mls_external_psk *psks,
                           size_t n_psks, mls_group_secrets *gs, uint8_t psk[MLS_HASH_LEN],
                           mls_group_info *gi)
{
    if (w->cipher_suite != MLS_CIPHER_SUITE)
        return SP_ERR_UNSUPPORTED;
    uint8_t ref[MLS_HASH_LEN];
    TRY(mls_key_package_ref(kp, ref));
    const mls_encrypted_group_secrets *mine = NULL;
    for (size_t i = 0; i < w->n_secrets && !mine; i++)
        if (same(&w->secrets[i].new_member, ref, sizeof ref))
            mine = &w->secrets[i];
    if (!mine)
        return SP_ERR_NOT_FOUND;
    const mls_hpke_ciphertext *c = &mine->encrypted_group_secrets;
    if (c->kem_output.len != MLS_KEM_PUB_LEN)
        return SP_ERR_INVALID;
    sp_buf pt = SP_BUF_INIT;
    sp_err e = mls_decrypt_with_label(init_priv, "Welcome", w->encrypted_group_info.data,
                                      w->encrypted_group_info.len, c->kem_output.data,
                                      c->ciphertext.data, c->ciphertext.len, &pt);
    if (!e)
        e = mls_group_secrets_decode(pt.data, pt.len, gs);
    sp_buf_free_secret(&pt);
    TRY(e);
    if (gs->joiner_secret.len != MLS_HASH_LEN ||
        (gs->has_path_secret && gs->path_secret.len != MLS_HASH_LEN))
        return SP_ERR_INVALID;
    TRY(joiner_psk_secret(gs, psks, n_psks, psk));
    uint8_t ws[MLS_HASH_LEN], key[MLS_AEAD_KEY_LEN], nonce[MLS_AEAD_NONCE_LEN];
    e = mls_welcome_secret(gs->joiner_secret.data, psk, ws);
    if (!e)
        e = mls_welcome_key_nonce(ws, key, nonce);
    size_t n = w->encrypted_group_info.len;
    uint8_t *gib = NULL;
    if (!e && n < MLS_AEAD_TAG_LEN)
        e = SP_ERR_INVALID;
    if (!e && !(gib = malloc(n)))
        e = SP_ERR_NOMEM;
    if (!e)
        e = mls_aead_open(key, nonce, NULL, 0, w->encrypted_group_info.data, n, gib);
    if (!e)
        e = mls_group_info_decode(gib, n - MLS_AEAD_TAG_LEN, gi);
    mls_wipe(ws, sizeof ws);
    mls_wipe(key, sizeof key);
    mls_wipe(nonce, sizeof nonce);
    free(gib);
    return e;
}

static sp_err join(mls_group *g, const mls_welcome *w, const uint8_t *rt, size_t rt_len,
                   const mls_key_package *kp, const uint8_t init_priv[MLS_KEM_PRIV_LEN],
                   const uint8_t enc_priv[MLS_KEM_PRIV_LEN], const mls_external_psk *psks,
                   size_t n_psks, mls_group_secrets *gs, mls_group_info *gi)
{
    uint8_t psk[MLS_HASH_LEN], th[MLS_HASH_LEN], pub[MLS_KEM_PUB_LEN];
    TRY(mls_welcome_open(w, kp, init_priv, psks, n_psks, gs, psk, gi));
    const mls_group_context *gc = &gi->group_context;
    if (gc->version != MLS_VERSION_10 || gc->cipher_suite != MLS_CIPHER_SUITE)
        return SP_ERR_UNSUPPORTED;
    if (!rt) {
        const mls_extension *x = mls_extensions_find(&gi->extensions, MLS_EXT_RATCHET_TREE);
        if (!x)
            return SP_ERR_NOT_FOUND; /* no tree in the Welcome and none given */
        rt = x->data.data;
        rt_len = x->data.len;
    }
    TRY(mls_tree_decode(rt, rt_len, &g->tree));
    TRY(mls_tree_root_hash(g->tree, th));
    if (!same(&gc->tree_hash, th, sizeof th))
        return SP_ERR_CRYPTO;
    TRY(mls_tree_validate(g->tree, mls_bytes_slice(&gc->group_id)));
    TRY(verify_group_info(gi, g->tree));

    /* our leaf: the one carrying our key package's keys */
    const mls_leaf_node *kl = &kp->leaf_node;
    sp_err e = SP_ERR_NOT_FOUND;
    for (uint32_t l = 0; l < mls_tree_n_leaves(g->tree) && e; l++) {
        const mls_leaf_node *x = mls_tree_leaf(g->tree, mls_leaf(l));
        if (x && same(&x->signature_key, kl->signature_key.data, kl->signature_key.len) &&
            same(&x->encryption_key, kl->encryption_key.data, kl->encryption_key.len)) {
            g->me = l;
            e = SP_OK;
        }
    }
    TRY(e);
    TRY(mls_x25519_pub(enc_priv, pub));
    if (!same(&kl->encryption_key, pub, sizeof pub))
        return SP_ERR_INVALID; /* the private key is not this key package's */
    TRY(mls_privs_set(&g->privs, 2 * g->me, enc_priv, pub));
    if (gs->has_path_secret)
        TRY(mls_treekem_join_path(g->tree, mls_leaf(gi->signer), mls_leaf(g->me),
                                  gs->path_secret.data, &g->privs));

    sp_buf gcb = SP_BUF_INIT;
    e = mls_group_context_write(&gcb, gc);
    if (!e && gcb.failed)
        e = SP_ERR_NOMEM;
    if (!e)
        e = mls_key_schedule_from_joiner(gs->joiner_secret.data, psk, gcb.data, gcb.len, &g->sec);
    sp_buf_free(&gcb);
    mls_wipe(psk, sizeof psk);
    TRY(e);
    if (gc->confirmed_transcript_hash.len != MLS_HASH_LEN)
        return SP_ERR_INVALID;
    TRY(mls_confirmation_tag_verify(g->sec.confirmation_key, gc->confirmed_transcript_hash.data,
                                    gi->confirmation_tag.data, gi->confirmation_tag.len));
    TRY(mls_interim_transcript_hash(gc->confirmed_transcript_hash.data, gi->confirmation_tag.data,
                                    gi->confirmation_tag.len, g->interim));
    g->interim_len = MLS_HASH_LEN;
    TRY(mls_secret_tree_new(g->sec.encryption_secret, mls_tree_n_leaves(g->tree), NULL, &g->st));
    g->ctx = gi->group_context; /* moved */
    memset(&gi->group_context, 0, sizeof gi->group_context);
    TRY(mls_group_note_resumption(g));
    return mls_group_set_psks(g, psks, n_psks);
}

sp_err mls_group_join_keys(const mls_welcome *w, const uint8_t *ratchet_tree, size_t tree_len,
                           const mls_key_package *kp, const uint8_t init_priv[MLS_KEM_PRIV_LEN],
                           const uint8_t enc_priv[MLS_KEM_PRIV_LEN],
                           const uint8_t sig_priv[MLS_SIG_PRIV_LEN],
                           const mls_external_psk *psks, size_t n_psks, const mls_rand *rng,
                           mls_group **out)
{
    *out = NULL;
    mls_group *g;
    TRY(mls_group_alloc(&g));
    g->rng = rng;
    memcpy(g->sig_priv, sig_priv, MLS_SIG_PRIV_LEN);
    mls_group_secrets gs = {0};
    mls_group_info gi = {0};
    sp_err e = mls_signer_new(sig_priv, &g->signer);
    if (!e && (kp->leaf_node.signature_key.len != MLS_SIG_PUB_LEN ||
               memcmp(mls_signer_pub(g->signer), kp->leaf_node.signature_key.data,
                      MLS_SIG_PUB_LEN) != 0))
        e = SP_ERR_INVALID;
    if (!e)
        e = join(g, w, ratchet_tree, tree_len, kp, init_priv, enc_priv, psks, n_psks, &gs, &gi);
    mls_group_secrets_free(&gs);
    mls_group_info_free(&gi);
    if (e) {
        mls_group_free(g);
        return e;
    }
    *out = g;
    return SP_OK;
}
