/* tree_math.c — array-tree index arithmetic (RFC 9420 Appendix C). See tree_math.h. */
#include "mls/tree_math.h"

static int valid_tree(uint32_t n_leaves) { return n_leaves >= 1 && n_leaves <= MLS_MAX_LEAVES; }

static int in_tree(mls_node_idx n, uint32_t n_leaves)
{
    return valid_tree(n_leaves) && n.v < mls_tm_node_width(n_leaves);
}

int mls_node_to_leaf(mls_node_idx n, mls_leaf_idx *out)
{
    if (!mls_node_is_leaf(n)) return 0;
    out->v = n.v >> 1;
    return 1;
}

uint32_t mls_tm_level(mls_node_idx n)
{
    uint32_t k = 0;
    while (k < 32 && ((n.v >> k) & 1)) k++;
    return k;
}

uint32_t mls_tm_node_width(uint32_t n_leaves)
{
    return n_leaves == 0 ? 0 : 2 * (n_leaves - 1) + 1;
}

static uint32_t log2_floor(uint32_t x)
{
    uint32_t k = 0;
    while (x >> (k + 1)) k++;
    return k;
}

mls_node_idx mls_tm_root(uint32_t n_leaves)
{
    uint32_t w = mls_tm_node_width(n_leaves);
    return mls_node(w ? (1u << log2_floor(w)) - 1 : 0);
}

/* Children ignoring the tree's width. */
static uint32_t raw_left(uint32_t x, uint32_t k) { return x ^ (1u << (k - 1)); }
static uint32_t raw_right(uint32_t x, uint32_t k) { return x ^ (3u << (k - 1)); }

int mls_tm_left(mls_node_idx n, uint32_t n_leaves, mls_node_idx *out)
{
    uint32_t k = mls_tm_level(n);
    if (!in_tree(n, n_leaves) || k == 0) return 0;
    out->v = raw_left(n.v, k);
    return 1;
}

int mls_tm_right(mls_node_idx n, uint32_t n_leaves, mls_node_idx *out)
{
    uint32_t k = mls_tm_level(n), w = mls_tm_node_width(n_leaves);
    if (!in_tree(n, n_leaves) || k == 0) return 0;
    uint32_t r = raw_right(n.v, k);
    /* In a tree that is not full the right subtree is truncated: descend
     * left until back inside the array. */
    while (r >= w) r = raw_left(r, mls_tm_level(mls_node(r)));
    out->v = r;
    return 1;
}

/* The parent in the infinite tree. */
static uint32_t parent_step(uint32_t x)
{
    uint32_t k = mls_tm_level(mls_node(x));
    uint32_t b = (x >> (k + 1)) & 1;
    return (x | (1u << k)) ^ (b << (k + 1));
}

int mls_tm_parent(mls_node_idx n, uint32_t n_leaves, mls_node_idx *out)
{
    if (!in_tree(n, n_leaves) || n.v == mls_tm_root(n_leaves).v) return 0;
    uint32_t w = mls_tm_node_width(n_leaves), p = parent_step(n.v);
    while (p >= w) p = parent_step(p);
    out->v = p;
    return 1;
}

int mls_tm_sibling(mls_node_idx n, uint32_t n_leaves, mls_node_idx *out)
{
    mls_node_idx p;
    if (!mls_tm_parent(n, n_leaves, &p)) return 0;
    if (n.v < p.v) return mls_tm_right(p, n_leaves, out);
    return mls_tm_left(p, n_leaves, out);
}

int mls_tm_is_ancestor(mls_node_idx a, mls_node_idx d, uint32_t n_leaves)
{
    if (!in_tree(a, n_leaves) || !in_tree(d, n_leaves)) return 0;
    /* a's subtree spans [a - (2^k - 1), a + (2^k - 1)] in the infinite tree,
     * and truncation only removes indices beyond the width. */
    uint32_t k = mls_tm_level(a), span = (1u << k) - 1;
    return d.v >= a.v - span && d.v <= a.v + span;
}

sp_err mls_tm_direct_path(mls_node_idx n, uint32_t n_leaves, mls_node_idx *out, size_t cap,
                          size_t *count)
{
    *count = 0;
    if (!in_tree(n, n_leaves)) return SP_ERR_INVALID;
    mls_node_idx p;
    while (mls_tm_parent(n, n_leaves, &p)) {
        if (*count >= cap) return SP_ERR_TOO_LARGE;
        out[(*count)++] = p;
        n = p;
    }
    return SP_OK;
}

sp_err mls_tm_copath(mls_node_idx n, uint32_t n_leaves, mls_node_idx *out, size_t cap,
                     size_t *count)
{
    *count = 0;
    if (!in_tree(n, n_leaves)) return SP_ERR_INVALID;
    mls_node_idx s, p;
    while (mls_tm_sibling(n, n_leaves, &s)) {
        if (*count >= cap) return SP_ERR_TOO_LARGE;
        out[(*count)++] = s;
        mls_tm_parent(n, n_leaves, &p);
        n = p;
    }
    return SP_OK;
}
