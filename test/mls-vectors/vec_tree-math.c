/* vec_tree-math.c — tree-math.json: node width, root, left/right/parent/sibling of every
 * node for n_leaves = 1 .. 512 (RFC 9420 Appendix C). */
#include <stdio.h>

#include "mls/tree_math.h"
#include "vectors.h"

typedef int (*rel_fn)(mls_node_idx, uint32_t, mls_node_idx *);

/* Checks one relation for every node: JSON null must mean "no such node". */
static int check_rel(const json *c, const char *key, rel_fn fn, uint32_t n_leaves, uint32_t w)
{
    const json *arr = json_get(c, key);
    if (json_len(arr) != w) return 0;
    for (uint32_t i = 0; i < w; i++) {
        const json *want = json_at(arr, i);
        mls_node_idx got = {UINT32_MAX};
        int has = fn(mls_node(i), n_leaves, &got);
        if (want->type == JSON_NULL ? has : (!has || got.v != json_u64(want))) return 0;
    }
    return 1;
}

static void run(const json *root, vec_stats *st)
{
    for (size_t i = 0; i < json_len(root); i++) {
        const json *c = json_at(root, i);
        uint32_t n = (uint32_t)json_getu(c, "n_leaves"), w = mls_tm_node_width(n);
        char why[96];
        int ok = w == json_getu(c, "n_nodes") && mls_tm_root(n).v == json_getu(c, "root");
        ok = ok && check_rel(c, "left", mls_tm_left, n, w) && check_rel(c, "right", mls_tm_right, n, w) &&
             check_rel(c, "parent", mls_tm_parent, n, w) &&
             check_rel(c, "sibling", mls_tm_sibling, n, w);
        /* Nothing exists beyond the tree. */
        mls_node_idx x;
        ok = ok && !mls_tm_parent(mls_node(w), n, &x) && !mls_tm_sibling(mls_node(w), n, &x);
        snprintf(why, sizeof why, "n_leaves %u mismatch", n);
        vec_case(st, i, ok, why);
    }
}

MLS_VECTOR_CATEGORY("tree-math", run)
