/*
 * treekem.h — TreeKEM (RFC 9420 §7.4–§7.6): making an UpdatePath (fresh
 * path secrets along the committer's filtered direct path, each HPKE-
 * encrypted to the resolution of the matching copath node), merging one
 * into the public tree with its parent-hash and signature checks, and
 * decrypting the path secret meant for us, from which the node private keys
 * and the commit secret follow.
 *
 * A member's private side of the tree is an mls_privs: the HPKE private key
 * of each node it knows (its leaf, and parents on its direct path). Each
 * entry keeps the public key too, so entries that no longer match the tree
 * after a change are dropped with mls_privs_prune.
 *
 * Ownership: mls_privs and mls_treekem_secrets hold secrets; release them
 * with mls_privs_free / mls_treekem_secrets_wipe. mls_update_path outputs are
 * the caller's (mls_update_path_free).
 */
#ifndef SP_MLS_TREEKEM_H
#define SP_MLS_TREEKEM_H

#include "mls/crypto.h"
#include "mls/ratchet_tree.h"
#include "mls/types.h"

typedef struct {
    uint32_t node;
    uint8_t priv[MLS_KEM_PRIV_LEN];
    uint8_t pub[MLS_KEM_PUB_LEN];
} mls_node_priv;

typedef struct {
    mls_node_priv *v;
    size_t n;
} mls_privs;

/* Adds or replaces the key of node. */
sp_err mls_privs_set(mls_privs *p, uint32_t node, const uint8_t priv[MLS_KEM_PRIV_LEN],
                     const uint8_t pub[MLS_KEM_PUB_LEN]);
const mls_node_priv *mls_privs_get(const mls_privs *p, uint32_t node);
/* Drops (wiping) every key whose node is blank or holds another public key. */
void mls_privs_prune(mls_privs *p, const mls_tree *t);
sp_err mls_privs_copy(const mls_privs *in, mls_privs *out);
void mls_privs_free(mls_privs *p);

/* The node key pair of a path secret: DeriveKeyPair(DeriveSecret(ps, "node")). */
sp_err mls_path_secret_keys(const uint8_t ps[MLS_HASH_LEN], uint8_t priv[MLS_KEM_PRIV_LEN],
                            uint8_t pub[MLS_KEM_PUB_LEN]);

/* The committer's secrets of one UpdatePath. */
typedef struct {
    mls_node_idx path[32], copath[32];
    size_t n;                         /* filtered direct path length */
    uint8_t secret[32][MLS_HASH_LEN]; /* path secret of path[i] */
    uint8_t commit_secret[MLS_HASH_LEN];
    uint8_t leaf_priv[MLS_KEM_PRIV_LEN];
} mls_treekem_secrets;
void mls_treekem_secrets_wipe(mls_treekem_secrets *s);

/* Step 1 of making a path (tree after the commit's proposals): new keys on
 * our filtered direct path (the rest of the direct path blanked), parent
 * hashes, and our new leaf (source commit, copied from `tmpl` but with the
 * new encryption key, signed with group_id and me) put in the tree. The new
 * private keys are added to privs. */
sp_err mls_treekem_create(mls_tree *t, mls_leaf_idx me, const mls_leaf_node *tmpl,
                          const mls_signer *signer, sp_slice group_id, const mls_rand *rng,
                          mls_treekem_secrets *out, mls_privs *privs);
/* Step 2, once the provisional GroupContext (ctx, encoded) is known: the
 * UpdatePath, each path secret encrypted to the resolution of its copath
 * node minus the leaves added by this commit (excl, leaf indices). */
sp_err mls_treekem_encrypt(const mls_tree *t, mls_leaf_idx me, const mls_treekem_secrets *s,
                           const uint8_t *ctx, size_t ctx_len, const uint32_t *excl,
                           size_t n_excl, const mls_rand *rng, mls_update_path *up);

/* Merges sender's UpdatePath into t (after the proposals): the node count
 * must match the filtered direct path, the leaf must be a signed commit leaf
 * whose parent_hash matches the chain the new nodes give. On error t is left
 * half-changed: callers work on a clone. */
sp_err mls_treekem_merge(mls_tree *t, mls_leaf_idx sender, const mls_update_path *up,
                         sp_slice group_id);
/* Decrypts (with one of our keys in privs) the path secret of the lowest node
 * of sender's filtered path above us, derives the keys of that node and every
 * node above it — each must match the tree — adds them to privs, and writes
 * the commit secret. path_secret (may be NULL) gets the decrypted secret. */
sp_err mls_treekem_decrypt(const mls_tree *t, mls_leaf_idx sender, mls_leaf_idx me,
                           const mls_update_path *up, mls_privs *privs, const uint8_t *ctx,
                           size_t ctx_len, const uint32_t *excl, size_t n_excl,
                           uint8_t path_secret[MLS_HASH_LEN],
                           uint8_t commit_secret[MLS_HASH_LEN]);
/* A joiner's path secret (from its GroupSecrets): the secret of the lowest
 * node of committer's filtered path above me; derives the keys from there up,
 * checking each against the tree (SP_ERR_CRYPTO), into privs. */
sp_err mls_treekem_join_path(const mls_tree *t, mls_leaf_idx committer, mls_leaf_idx me,
                             const uint8_t path_secret[MLS_HASH_LEN], mls_privs *privs);
/* The committer's side of the same: which of s's secrets a new member at
 * leaf `joiner` gets (SP_ERR_NOT_FOUND when none). */
sp_err mls_treekem_secret_for(const mls_treekem_secrets *s, mls_leaf_idx joiner,
                              uint8_t out[MLS_HASH_LEN]);

#endif
