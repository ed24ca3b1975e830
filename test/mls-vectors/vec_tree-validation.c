/* vec_tree-validation.c — tree-validation.json: resolutions and tree hashes of
 * every node, parent hashes and leaf signatures of trees with blanks, trailing
 * blanks and unmerged leaves (RFC 9420 §4.1.1, §7.8, §7.9). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mls/ratchet_tree.h"
#include "vectors.h"

static const char *one(const json *c)
{
    size_t nt, ng;
    uint8_t *tree = json_gethex(c, "tree", &nt), *gid = json_gethex(c, "group_id", &ng);
    const json *res = json_get(c, "resolutions"), *hashes = json_get(c, "tree_hashes");
    const char *why = NULL;
    mls_tree *t = NULL;
    if (!tree || !gid || !res || !hashes)
        why = "missing field";
    else if (mls_tree_decode(tree, nt, &t))
        why = "tree does not decode";
    else if (json_len(res) != mls_tree_width(t) || json_len(hashes) != mls_tree_width(t))
        why = "node count differs";
    for (uint32_t i = 0; !why && i < mls_tree_width(t); i++) {
        mls_node_idx *r;
        size_t n;
        const json *want = json_at(res, i);
        if (mls_tree_resolution(t, mls_node(i), &r, &n) || n != json_len(want))
            why = "resolution size differs";
        for (size_t k = 0; !why && k < n; k++)
            if (r[k].v != json_u64(json_at(want, k)))
                why = "resolution differs";
        free(r);
        uint8_t h[MLS_HASH_LEN];
        const char *hex = json_str(json_at(hashes, i));
        uint8_t want_h[MLS_HASH_LEN];
        int ok = hex && strlen(hex) == 2 * MLS_HASH_LEN;
        for (size_t k = 0; ok && k < MLS_HASH_LEN; k++) {
            unsigned v;
            ok = sscanf(hex + 2 * k, "%2x", &v) == 1;
            want_h[k] = (uint8_t)v;
        }
        if (!why && (!ok || mls_tree_node_hash(t, mls_node(i), h) || memcmp(h, want_h, MLS_HASH_LEN)))
            why = "tree hash differs";
    }
    sp_slice g = {gid, ng};
    if (!why && mls_tree_verify_parent_hashes(t))
        why = "parent hashes do not verify";
    if (!why && mls_tree_validate(t, g))
        why = "tree does not validate";
    mls_tree_free(t);
    free(tree), free(gid);
    return why;
}

static void run(const json *root, vec_stats *st)
{
    for (size_t i = 0; i < json_len(root); i++) {
        const char *why = one(json_at(root, i));
        vec_case(st, i, why == NULL, why);
    }
}

MLS_VECTOR_CATEGORY("tree-validation", run)
