/* treekem.c — UpdatePath creation, merge and decryption (RFC 9420 §7.4–§7.6). */
#include "mls/treekem.h"

#include <stdlib.h>
#include <string.h>

#include "mls/codec.h"
#include "mls/hpke.h"
#include "mls/key_package.h"
#include "mls/parallel.h"

#define TRY(x)                \
    do {                      \
        sp_err e_ = (x);      \
        if (e_ != SP_OK)      \
            return e_;        \
    } while (0)

/* Is node index x under node n (or n itself)? */
static int covers(uint32_t n, uint32_t x)
{
    uint32_t span = (1u << mls_tm_level(mls_node(n))) - 1;
    return x + span >= n && x <= n + span;
}

/* ---- private keys ------------------------------------------------------------------------ */

sp_err mls_privs_set(mls_privs *p, uint32_t node, const uint8_t priv[MLS_KEM_PRIV_LEN],
                     const uint8_t pub[MLS_KEM_PUB_LEN])
{
    mls_node_priv *x = (mls_node_priv *)mls_privs_get(p, node);
    if (!x) {
        mls_node_priv *v = realloc(p->v, (p->n + 1) * sizeof *v);
        if (!v)
            return SP_ERR_NOMEM;
        p->v = v;
        x = &p->v[p->n++];
        x->node = node;
    }
    memcpy(x->priv, priv, MLS_KEM_PRIV_LEN);
    memcpy(x->pub, pub, MLS_KEM_PUB_LEN);
    return SP_OK;
}

const mls_node_priv *mls_privs_get(const mls_privs *p, uint32_t node)
{
    for (size_t i = 0; i < p->n; i++)
        if (p->v[i].node == node)
            return &p->v[i];
    return NULL;
}

void mls_privs_prune(mls_privs *p, const mls_tree *t)
{
    size_t k = 0;
    for (size_t i = 0; i < p->n; i++) {
        sp_slice key = mls_tree_enc_key(t, mls_node(p->v[i].node));
        if (key.len == MLS_KEM_PUB_LEN && memcmp(key.ptr, p->v[i].pub, MLS_KEM_PUB_LEN) == 0)
            p->v[k++] = p->v[i];
    }
    mls_wipe(p->v + k, (p->n - k) * sizeof *p->v);
    p->n = k;
}

sp_err mls_privs_copy(const mls_privs *in, mls_privs *out)
{
    out->v = NULL;
    out->n = 0;
    if (!in->n)
        return SP_OK;
    out->v = malloc(in->n * sizeof *out->v);
    if (!out->v)
        return SP_ERR_NOMEM;
    memcpy(out->v, in->v, in->n * sizeof *out->v);
    out->n = in->n;
    return SP_OK;
}

void mls_privs_free(mls_privs *p)
{
    if (p->v) {
        mls_wipe(p->v, p->n * sizeof *p->v);
        free(p->v);
    }
    p->v = NULL;
    p->n = 0;
}

sp_err mls_path_secret_keys(const uint8_t ps[MLS_HASH_LEN], uint8_t priv[MLS_KEM_PRIV_LEN],
                            uint8_t pub[MLS_KEM_PUB_LEN])
{
    uint8_t node[MLS_HASH_LEN];
    sp_err e = mls_derive_secret(ps, "node", node);
    if (!e)
        e = mls_hpke_derive_key_pair(node, sizeof node, priv, pub);
    mls_wipe(node, sizeof node);
    return e;
}

void mls_treekem_secrets_wipe(mls_treekem_secrets *s) { mls_wipe(s, sizeof *s); }

/* ---- the committer -------------------------------------------------------------------------- */

static void blank_direct_path(mls_tree *t, mls_leaf_idx l)
{
    mls_node_idx dp[32];
    size_t k = 0;
    if (mls_tm_direct_path(mls_leaf_to_node(l), mls_tree_n_leaves(t), dp, 32, &k))
        return;
    for (size_t i = 0; i < k; i++)
        mls_tree_blank_node(t, dp[i]);
}

/* The committer's key pairs: one per node of its filtered path from that
 * node's path secret, and the leaf's from fresh randomness — independent
 * scalar multiplications, derived on several threads. */
typedef struct {
    const mls_treekem_secrets *s;
    const uint8_t *leaf_ikm;
    uint8_t (*priv)[MLS_KEM_PRIV_LEN]; /* n + 1: the path's, then the leaf's */
    uint8_t (*pub)[MLS_KEM_PUB_LEN];
} keys_job;

static sp_err derive_one(void *arg, size_t i)
{
    keys_job *k = arg;
    if (i == k->s->n)
        return mls_hpke_derive_key_pair(k->leaf_ikm, MLS_KEM_PRIV_LEN, k->priv[i], k->pub[i]);
    return mls_path_secret_keys(k->s->secret[i], k->priv[i], k->pub[i]);
}

sp_err mls_treekem_create(mls_tree *t, mls_leaf_idx me, const mls_leaf_node *tmpl,
                          const mls_signer *signer, sp_slice group_id, const mls_rand *rng,
                          mls_treekem_secrets *out, mls_privs *privs)
{
    memset(out, 0, sizeof *out);
    TRY(mls_tree_filtered_path(t, me, out->path, out->copath, 32, &out->n));
    /* the draws in the order of a plain GenerateKeyPair then the first secret */
    uint8_t leaf_ikm[MLS_KEM_PRIV_LEN], ps[MLS_HASH_LEN];
    uint8_t priv[33][MLS_KEM_PRIV_LEN], pub[33][MLS_KEM_PUB_LEN];
    sp_err e = mls_rand_bytes(rng, leaf_ikm, sizeof leaf_ikm);
    if (!e)
        e = mls_rand_bytes(rng, ps, sizeof ps);
    for (size_t i = 0; !e && i < out->n; i++) {
        memcpy(out->secret[i], ps, MLS_HASH_LEN);
        e = mls_derive_secret(ps, "path", ps);
    }
    if (!e)
        memcpy(out->commit_secret, ps, MLS_HASH_LEN);
    keys_job kj = {out, leaf_ikm, priv, pub};
    if (!e)
        e = mls_parallel_for(out->n + 1, derive_one, &kj);
    mls_wipe(ps, sizeof ps);
    mls_wipe(leaf_ikm, sizeof leaf_ikm);
    const size_t n = out->n;
    if (!e)
        memcpy(out->leaf_priv, priv[n], MLS_KEM_PRIV_LEN);
    if (!e)
        blank_direct_path(t, me);
    for (size_t i = 0; !e && i < n; i++) {
        e = mls_tree_set_parent(t, out->path[i], pub[i], MLS_KEM_PUB_LEN, NULL, 0);
        if (!e)
            e = mls_privs_set(privs, out->path[i].v, priv[i], pub[i]);
    }
    mls_wipe(priv, sizeof priv);
    TRY(e);

    uint8_t leaf_ph[MLS_HASH_LEN];
    if (n)
        TRY(mls_tree_set_path_parent_hashes(t, me, leaf_ph));
    mls_leaf_node leaf;
    TRY(mls_leaf_node_copy(&leaf, tmpl));
    leaf.source = MLS_LEAF_SOURCE_COMMIT;
    leaf.lifetime.not_before = leaf.lifetime.not_after = 0;
    e = mls_bytes_set(&leaf.encryption_key, pub[n], MLS_KEM_PUB_LEN);
    if (!e)
        e = mls_bytes_set(&leaf.parent_hash, leaf_ph, n ? MLS_HASH_LEN : 0);
    if (!e)
        e = mls_leaf_node_sign(&leaf, signer, group_id, me.v);
    if (!e)
        e = mls_tree_set_leaf(t, me, &leaf);
    if (!e)
        e = mls_privs_set(privs, mls_leaf_to_node(me).v, out->leaf_priv, pub[n]);
    mls_leaf_node_free(&leaf);
    return e;
}

/* The resolution of n without the excluded leaves. */
static sp_err resolution_excl(const mls_tree *t, mls_node_idx n, const uint32_t *excl,
                              size_t n_excl, mls_node_idx **res, size_t *count)
{
    TRY(mls_tree_resolution(t, n, res, count));
    size_t k = 0;
    for (size_t i = 0; i < *count; i++) {
        int drop = 0;
        for (size_t j = 0; j < n_excl && !drop; j++)
            drop = (*res)[i].v == 2 * excl[j];
        if (!drop)
            (*res)[k++] = (*res)[i];
    }
    *count = k;
    return SP_OK;
}

/* One HPKE encryption of a path secret to one node of a copath resolution:
 * the items of the UpdatePath's parallel loop. */
typedef struct {
    size_t node;                   /* index in the path (which secret) */
    const uint8_t *pub;            /* the recipient's key in the tree */
    mls_hpke_ciphertext *out;
} seal_item;

typedef struct {
    const mls_treekem_secrets *s;
    const uint8_t *info_hash; /* of the shared EncryptContext */
    const uint8_t *ikm;       /* MLS_KEM_PRIV_LEN bytes per item, drawn in order */
    const seal_item *items;
} seal_job;

static sp_err seal_one(void *arg, size_t i)
{
    const seal_job *j = arg;
    const seal_item *it = &j->items[i];
    mls_rand_fixed_src src = {j->ikm + i * MLS_KEM_PRIV_LEN, MLS_KEM_PRIV_LEN};
    mls_rand rng = {mls_rand_fixed, &src};
    uint8_t kem[MLS_KEM_PUB_LEN];
    sp_buf ct = SP_BUF_INIT;
    sp_err e = mls_encrypt_with_label_hashed(it->pub, j->info_hash, j->s->secret[it->node],
                                             MLS_HASH_LEN, &rng, kem, &ct);
    if (!e)
        e = mls_bytes_set(&it->out->kem_output, kem, sizeof kem);
    if (!e)
        e = mls_bytes_set(&it->out->ciphertext, ct.data, ct.len);
    sp_buf_free(&ct);
    return e;
}

sp_err mls_treekem_encrypt(const mls_tree *t, mls_leaf_idx me, const mls_treekem_secrets *s,
                           const uint8_t *ctx, size_t ctx_len, const uint32_t *excl,
                           size_t n_excl, const mls_rand *rng, mls_update_path *up)
{
    memset(up, 0, sizeof *up);
    const mls_leaf_node *leaf = mls_tree_leaf(t, me);
    if (!leaf)
        return SP_ERR_STATE;
    sp_err e = mls_leaf_node_copy(&up->leaf_node, leaf);
    /* every node's EncryptWithLabel has the same context (the provisional
     * GroupContext): its HPKE info hash is computed once for the whole path */
    uint8_t info_hash[MLS_HASH_LEN];
    if (!e)
        e = mls_encrypt_context_hash("UpdatePathNode", ctx, ctx_len, info_hash);
    if (!e && s->n) {
        up->nodes = calloc(s->n, sizeof *up->nodes);
        e = up->nodes ? SP_OK : SP_ERR_NOMEM;
    }
    /* first the recipients, path node by node and each resolution in order;
     * then the encryptions, on several threads */
    seal_item *items = NULL;
    size_t n_items = 0;
    for (size_t i = 0; !e && i < s->n; i++) {
        mls_update_path_node *un = &up->nodes[i];
        up->n++;
        sp_slice pk = mls_tree_enc_key(t, s->path[i]);
        e = mls_bytes_set(&un->encryption_key, pk.ptr, pk.len);
        mls_node_idx *res = NULL;
        size_t nr = 0;
        if (!e)
            e = resolution_excl(t, s->copath[i], excl, n_excl, &res, &nr);
        if (!e && nr) {
            un->secrets = calloc(nr, sizeof *un->secrets);
            seal_item *v = realloc(items, (n_items + nr) * sizeof *v);
            if (v)
                items = v;
            e = un->secrets && v ? SP_OK : SP_ERR_NOMEM;
        }
        for (size_t j = 0; !e && j < nr; j++) {
            un->n_secrets++;
            sp_slice rk = mls_tree_enc_key(t, res[j]);
            e = rk.len == MLS_KEM_PUB_LEN ? SP_OK : SP_ERR_STATE;
            items[n_items++] = (seal_item){i, rk.ptr, &un->secrets[j]};
        }
        free(res);
    }
    uint8_t *ikm = NULL;
    if (!e && n_items) {
        ikm = malloc(n_items * MLS_KEM_PRIV_LEN);
        e = ikm ? mls_rand_items(rng, n_items, MLS_KEM_PRIV_LEN, ikm) : SP_ERR_NOMEM;
    }
    if (!e) {
        seal_job j = {s, info_hash, ikm, items};
        e = mls_parallel_for(n_items, seal_one, &j);
    }
    if (ikm) {
        mls_wipe(ikm, n_items * MLS_KEM_PRIV_LEN);
        free(ikm);
    }
    free(items);
    if (e)
        mls_update_path_free(up);
    return e;
}

sp_err mls_treekem_secret_for(const mls_treekem_secrets *s, mls_leaf_idx joiner,
                              uint8_t out[MLS_HASH_LEN])
{
    for (size_t i = 0; i < s->n; i++)
        if (covers(s->path[i].v, 2 * joiner.v)) {
            memcpy(out, s->secret[i], MLS_HASH_LEN);
            return SP_OK;
        }
    return SP_ERR_NOT_FOUND;
}

/* ---- the receivers ------------------------------------------------------------------------------ */

sp_err mls_treekem_merge(mls_tree *t, mls_leaf_idx sender, const mls_update_path *up,
                         sp_slice group_id)
{
    mls_node_idx path[32], cop[32];
    size_t n;
    TRY(mls_tree_filtered_path(t, sender, path, cop, 32, &n));
    if (n != up->n || !mls_tree_leaf(t, sender))
        return SP_ERR_INVALID;
    blank_direct_path(t, sender);
    for (size_t i = 0; i < n; i++) {
        const mls_bytes *k = &up->nodes[i].encryption_key;
        if (k->len != MLS_KEM_PUB_LEN)
            return SP_ERR_INVALID;
        TRY(mls_tree_set_parent(t, path[i], k->data, k->len, NULL, 0));
    }
    uint8_t ph[MLS_HASH_LEN];
    if (n)
        TRY(mls_tree_set_path_parent_hashes(t, sender, ph));
    const mls_leaf_node *l = &up->leaf_node;
    if (l->source != MLS_LEAF_SOURCE_COMMIT || l->parent_hash.len != (n ? MLS_HASH_LEN : 0) ||
        (n && memcmp(l->parent_hash.data, ph, MLS_HASH_LEN) != 0))
        return SP_ERR_CRYPTO;
    TRY(mls_tree_leaf_verify(l, group_id, sender.v));
    mls_leaf_node copy;
    TRY(mls_leaf_node_copy(&copy, l));
    sp_err e = mls_tree_set_leaf(t, sender, &copy);
    mls_leaf_node_free(&copy);
    return e;
}

/* Key pairs of path secrets, one item each (independent scalar
 * multiplications): a receiver's nodes from the common ancestor up. */
typedef struct {
    const uint8_t (*secret)[MLS_HASH_LEN];
    uint8_t (*priv)[MLS_KEM_PRIV_LEN];
    uint8_t (*pub)[MLS_KEM_PUB_LEN];
} path_keys_job;

static sp_err path_keys_one(void *arg, size_t i)
{
    path_keys_job *k = arg;
    return mls_path_secret_keys(k->secret[i], k->priv[i], k->pub[i]);
}

/* From the secret of path[i], the keys of path[i..n) (each must match the
 * tree) into privs; the secret after the last into commit_secret (may be NULL). */
static sp_err derive_up(const mls_tree *t, const mls_node_idx *path, size_t n, size_t i,
                        const uint8_t secret[MLS_HASH_LEN], mls_privs *privs,
                        uint8_t *commit_secret)
{
    uint8_t ps[32][MLS_HASH_LEN], next[MLS_HASH_LEN];
    uint8_t priv[32][MLS_KEM_PRIV_LEN], pub[32][MLS_KEM_PUB_LEN];
    if (n > 32 || i > n)
        return SP_ERR_INVALID;
    const size_t k = n - i; /* the secrets of path[i..n) are ps[0..k) */
    sp_err e = SP_OK;
    memcpy(next, secret, MLS_HASH_LEN);
    for (size_t x = 0; !e && x < k; x++) {
        memcpy(ps[x], next, MLS_HASH_LEN);
        e = mls_derive_secret(ps[x], "path", next);
    }
    path_keys_job job = {(const uint8_t(*)[MLS_HASH_LEN])ps, priv, pub};
    if (!e)
        e = mls_parallel_for(k, path_keys_one, &job);
    for (size_t x = 0; !e && x < k; x++) {
        sp_slice key = mls_tree_enc_key(t, path[i + x]);
        if (key.len != MLS_KEM_PUB_LEN || memcmp(key.ptr, pub[x], MLS_KEM_PUB_LEN) != 0)
            e = SP_ERR_CRYPTO; /* the path secret does not match the tree */
        if (!e)
            e = mls_privs_set(privs, path[i + x].v, priv[x], pub[x]);
    }
    if (!e && commit_secret)
        memcpy(commit_secret, next, MLS_HASH_LEN);
    mls_wipe(ps, sizeof ps);
    mls_wipe(next, sizeof next);
    mls_wipe(priv, sizeof priv);
    return e;
}

/* The position in committer's filtered path of the lowest node above me. */
static sp_err common_ancestor(const mls_tree *t, mls_leaf_idx committer, mls_leaf_idx me,
                              mls_node_idx *path, mls_node_idx *cop, size_t *n, size_t *at)
{
    TRY(mls_tree_filtered_path(t, committer, path, cop, 32, n));
    for (size_t i = 0; i < *n; i++)
        if (mls_tm_is_ancestor(path[i], mls_leaf_to_node(me), mls_tree_n_leaves(t))) {
            *at = i;
            return SP_OK;
        }
    return SP_ERR_INVALID;
}

sp_err mls_treekem_decrypt(const mls_tree *t, mls_leaf_idx sender, mls_leaf_idx me,
                           const mls_update_path *up, mls_privs *privs, const uint8_t *ctx,
                           size_t ctx_len, const uint32_t *excl, size_t n_excl,
                           uint8_t path_secret[MLS_HASH_LEN],
                           uint8_t commit_secret[MLS_HASH_LEN])
{
    mls_node_idx path[32], cop[32];
    size_t n, i;
    TRY(common_ancestor(t, sender, me, path, cop, &n, &i));
    if (n != up->n)
        return SP_ERR_INVALID;
    mls_node_idx *res;
    size_t nr;
    TRY(resolution_excl(t, cop[i], excl, n_excl, &res, &nr));
    const mls_node_priv *key = NULL;
    size_t j;
    for (j = 0; j < nr && !key; j++)
        key = mls_privs_get(privs, res[j].v);
    free(res);
    const mls_update_path_node *un = &up->nodes[i];
    if (!key || j - 1 >= un->n_secrets)
        return SP_ERR_INVALID;
    const mls_hpke_ciphertext *c = &un->secrets[j - 1];
    if (c->kem_output.len != MLS_KEM_PUB_LEN)
        return SP_ERR_INVALID;
    sp_buf pt = SP_BUF_INIT;
    /* the key's public half is known (it is the tree's key for that node, which
     * the sender encrypted to), so the decapsulation skips recomputing it */
    sp_err e = mls_decrypt_with_label_kp(key->priv, key->pub, "UpdatePathNode", ctx, ctx_len,
                                         c->kem_output.data, c->ciphertext.data,
                                         c->ciphertext.len, &pt);
    if (!e && pt.len != MLS_HASH_LEN)
        e = SP_ERR_INVALID;
    if (!e)
        e = derive_up(t, path, n, i, pt.data, privs, commit_secret);
    if (!e && path_secret)
        memcpy(path_secret, pt.data, MLS_HASH_LEN);
    sp_buf_free_secret(&pt);
    return e;
}

sp_err mls_treekem_join_path(const mls_tree *t, mls_leaf_idx committer, mls_leaf_idx me,
                             const uint8_t path_secret[MLS_HASH_LEN], mls_privs *privs)
{
    mls_node_idx path[32], cop[32];
    size_t n, i;
    TRY(common_ancestor(t, committer, me, path, cop, &n, &i));
    return derive_up(t, path, n, i, path_secret, privs, NULL);
}
