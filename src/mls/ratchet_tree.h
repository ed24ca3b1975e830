/*
 * ratchet_tree.h — the public ratchet tree of a group (RFC 9420 §4, §7):
 * leaves and parent nodes in array order, blanks, extension and truncation,
 * unmerged leaves, resolutions, filtered direct paths, tree hashes (§7.8)
 * and parent hashes (§7.9), and the checks a joiner runs on a tree (§7.9.2,
 * §12.4.3.1).
 *
 * The tree always has a power-of-two number of leaves (RFC 9420 trees are
 * complete); its encoding trims trailing blanks and decoding pads them back.
 *
 * Nodes are immutable and reference-counted: changing a node replaces it, so
 * mls_tree_clone costs one pointer copy per node, which is what lets a staged
 * commit be built beside the current state cheaply. Tree hashes are cached per
 * node and a change invalidates only the changed node's ancestors, so after a
 * commit along one path the root hash costs O(log n) hashes.
 *
 * Ownership: mls_tree_* objects are freed with mls_tree_free. Node pointers
 * returned by accessors are borrowed and valid until the tree changes.
 * Functions taking an mls_leaf_node * to insert MOVE it into the tree (the
 * caller's struct is left zeroed).
 */
#ifndef SP_MLS_RATCHET_TREE_H
#define SP_MLS_RATCHET_TREE_H

#include "mls/crypto.h"
#include "mls/tree_math.h"
#include "mls/types.h"

typedef struct mls_tree mls_tree;

/* An empty tree (no leaves). */
sp_err mls_tree_new(mls_tree **out);
/* From the encoded optional<Node> ratchet_tree<V>: node types must match
 * their positions (leaves at even indices), every unmerged leaf must exist
 * below its parent. Does NOT verify signatures or hashes (see mls_tree_validate). */
sp_err mls_tree_decode(const uint8_t *p, size_t n, mls_tree **out);
/* The encoding with trailing blanks trimmed. */
sp_err mls_tree_encode(const mls_tree *t, sp_buf *b);
sp_err mls_tree_clone(const mls_tree *t, mls_tree **out);
void mls_tree_free(mls_tree *t);

uint32_t mls_tree_n_leaves(const mls_tree *t);
uint32_t mls_tree_width(const mls_tree *t);
int mls_tree_blank(const mls_tree *t, mls_node_idx n);
/* NULL when blank or when n is not a leaf / parent position. */
const mls_leaf_node *mls_tree_leaf(const mls_tree *t, mls_leaf_idx l);
const mls_parent_node *mls_tree_parent(const mls_tree *t, mls_node_idx n);
/* The HPKE public key of a non-blank node (leaf or parent), or an empty slice. */
sp_slice mls_tree_enc_key(const mls_tree *t, mls_node_idx n);

/* ---- changes (§7.7 proposals, §7.5 paths) ---------------------------------------------- */

/* Adds a leaf in the leftmost blank leaf slot, extending the tree when full;
 * the new leaf becomes unmerged at every non-blank parent above it. */
sp_err mls_tree_add(mls_tree *t, mls_leaf_node *leaf, mls_leaf_idx *where);
/* Replaces leaf l and blanks its direct path (an Update proposal). */
sp_err mls_tree_update(mls_tree *t, mls_leaf_idx l, mls_leaf_node *leaf);
/* Blanks leaf l and its direct path (a Remove proposal), without truncating. */
sp_err mls_tree_remove(mls_tree *t, mls_leaf_idx l);
/* Drops the right half while it is entirely blank (after the removes of a commit). */
void mls_tree_truncate(mls_tree *t);
/* Sets leaf l (used when merging an UpdatePath: the new leaf). */
sp_err mls_tree_set_leaf(mls_tree *t, mls_leaf_idx l, mls_leaf_node *leaf);
/* Sets parent node n to (enc_key, parent_hash) with no unmerged leaves. */
sp_err mls_tree_set_parent(mls_tree *t, mls_node_idx n, const uint8_t *enc_key, size_t key_len,
                           const uint8_t *parent_hash, size_t ph_len);
sp_err mls_tree_blank_node(mls_tree *t, mls_node_idx n);

/* ---- structure ------------------------------------------------------------------------- */

/* The resolution of n (§4.1.1) into a malloc'd array (caller frees). */
sp_err mls_tree_resolution(const mls_tree *t, mls_node_idx n, mls_node_idx **out, size_t *count);
/* Number of nodes in the resolution, without building it. */
size_t mls_tree_resolution_size(const mls_tree *t, mls_node_idx n);
/* The filtered direct path of leaf l (§4.1.2), bottom-up, and for each of
 * its nodes the copath child (the child not on l's side). cap >= 32. */
sp_err mls_tree_filtered_path(const mls_tree *t, mls_leaf_idx l, mls_node_idx *path,
                              mls_node_idx *copath, size_t cap, size_t *count);

/* ---- hashes ------------------------------------------------------------------------------ */

/* The tree hash of node n (§7.8); the root's is the group's tree_hash.
 * Uses and fills the cache (hence a non-const tree). */
sp_err mls_tree_node_hash(mls_tree *t, mls_node_idx n, uint8_t out[MLS_HASH_LEN]);
sp_err mls_tree_root_hash(mls_tree *t, uint8_t out[MLS_HASH_LEN]);
/* The parent hash of parent node p as seen from its child on the side
 * opposite `sibling` (§7.9): Hash(ParentHashInput{p.encryption_key,
 * p.parent_hash, original tree hash of sibling}). */
sp_err mls_tree_parent_hash_of(mls_tree *t, mls_node_idx p, mls_node_idx sibling,
                               uint8_t out[MLS_HASH_LEN]);
/* After the nodes of leaf l's filtered direct path got new keys: computes the
 * parent hashes top-down, stores each in the node below it, and writes the
 * value the leaf must carry into leaf_ph. */
sp_err mls_tree_set_path_parent_hashes(mls_tree *t, mls_leaf_idx l,
                                       uint8_t leaf_ph[MLS_HASH_LEN]);
/* Every non-blank parent node is parent-hash valid (§7.9.2): SP_ERR_CRYPTO if not. */
sp_err mls_tree_verify_parent_hashes(mls_tree *t);

/* The checks a joiner runs (§12.4.3.1 with §7.3, §7.9.2): every leaf's
 * signature (with group_id and leaf index for update/commit leaves), leaf
 * version/suite support, distinct signature and encryption keys over all
 * nodes, unmerged-leaf consistency, parent hashes. The tree hash is checked
 * by the caller against the GroupContext. */
sp_err mls_tree_validate(mls_tree *t, sp_slice group_id);

/* One leaf's own checks (§7.3): key sizes, version, suite and credential
 * type in its capabilities, every non-default extension it carries listed
 * there, and its signature (group_id and leaf_index bind update/commit
 * leaves). */
sp_err mls_tree_leaf_verify(const mls_leaf_node *leaf, sp_slice group_id, uint32_t leaf_index);

/* The leaf whose signature key is key (SP_ERR_NOT_FOUND). */
sp_err mls_tree_find_sig_key(const mls_tree *t, const uint8_t *key, size_t len,
                             mls_leaf_idx *out);

#endif
