/*
 * tree_math.h — index arithmetic on the array representation of MLS's
 * left-balanced binary trees (RFC 9420 §4.1, Appendix C).
 *
 * Leaves sit at even node indices, parents at odd ones; a node's level is the
 * number of trailing 1 bits of its index. Four leaves:
 *
 *                 3                 level 2
 *           1           5           level 1
 *        0     2     4     6        level 0
 *       L0    L1    L2    L3        leaf index = node index / 2
 *
 * Leaf and node indices are distinct struct types so that one cannot be
 * passed for the other by accident (the classic MLS bug).
 *
 * RFC 9420 trees always have a power-of-two number of leaves. For other
 * counts these functions follow the left-balanced tree of the earlier
 * drafts (a right child or parent beyond the array is replaced by its
 * nearest in-range descendant or ancestor); for powers of two both agree.
 * n_leaves is at most MLS_MAX_LEAVES so every node index fits in 31 bits.
 *
 * Functions that may have no answer (a leaf's children, the root's parent,
 * an index outside the tree) return 0 and leave *out untouched; 1 otherwise.
 */
#ifndef SP_MLS_TREE_MATH_H
#define SP_MLS_TREE_MATH_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

#define MLS_MAX_LEAVES (1u << 30)

typedef struct {
    uint32_t v;
} mls_leaf_idx;

typedef struct {
    uint32_t v;
} mls_node_idx;

static inline mls_leaf_idx mls_leaf(uint32_t v) { mls_leaf_idx l = {v}; return l; }
static inline mls_node_idx mls_node(uint32_t v) { mls_node_idx n = {v}; return n; }
static inline mls_node_idx mls_leaf_to_node(mls_leaf_idx l) { return mls_node(2 * l.v); }
static inline int mls_node_is_leaf(mls_node_idx n) { return (n.v & 1) == 0; }
/* 1 and the leaf index when n is a leaf, 0 for a parent node. */
int mls_node_to_leaf(mls_node_idx n, mls_leaf_idx *out);

/* Number of trailing 1 bits: 0 for leaves. */
uint32_t mls_tm_level(mls_node_idx n);
/* Nodes in a tree of n_leaves leaves: 2n-1 (0 for an empty tree). */
uint32_t mls_tm_node_width(uint32_t n_leaves);
/* The root; n_leaves >= 1. */
mls_node_idx mls_tm_root(uint32_t n_leaves);
int mls_tm_left(mls_node_idx n, uint32_t n_leaves, mls_node_idx *out);
int mls_tm_right(mls_node_idx n, uint32_t n_leaves, mls_node_idx *out);
int mls_tm_parent(mls_node_idx n, uint32_t n_leaves, mls_node_idx *out);
int mls_tm_sibling(mls_node_idx n, uint32_t n_leaves, mls_node_idx *out);
/* 1 when a is an ancestor of (or equal to) d. */
int mls_tm_is_ancestor(mls_node_idx a, mls_node_idx d, uint32_t n_leaves);

/* The direct path of n (its parent up to the root, excluding n, so empty for
 * the root) into out[0..cap); *count is set to the number of nodes written.
 * SP_ERR_INVALID for n outside the tree, SP_ERR_TOO_LARGE when cap is too
 * small (32 always suffices). */
sp_err mls_tm_direct_path(mls_node_idx n, uint32_t n_leaves, mls_node_idx *out, size_t cap,
                          size_t *count);
/* The copath: the sibling of n and of each node of its direct path except
 * the root, in the same order. Same errors. */
sp_err mls_tm_copath(mls_node_idx n, uint32_t n_leaves, mls_node_idx *out, size_t cap,
                     size_t *count);

#endif
