/* vec_tree-operations.c — tree-operations.json: an Add, Update or Remove
 * applied to a ratchet tree gives the expected tree and tree hash (RFC 9420 §7.7, §7.8). */
#include <stdlib.h>
#include <string.h>

#include "mls/codec.h"
#include "mls/ratchet_tree.h"
#include "vectors.h"

static const char *one(const json *c)
{
    size_t nb, np, na, nhb, nha;
    uint8_t *before = json_gethex(c, "tree_before", &nb), *prop = json_gethex(c, "proposal", &np),
            *after = json_gethex(c, "tree_after", &na),
            *hb = json_gethex(c, "tree_hash_before", &nhb),
            *ha = json_gethex(c, "tree_hash_after", &nha);
    uint32_t sender = (uint32_t)json_getu(c, "proposal_sender");
    const char *why = NULL;
    mls_tree *t = NULL;
    mls_proposal p = {0};
    sp_buf enc = SP_BUF_INIT;
    uint8_t h[MLS_HASH_LEN];
    if (!before || !prop || !after || !hb || !ha)
        why = "missing field";
    else if (mls_tree_decode(before, nb, &t))
        why = "tree_before does not decode";
    else if (mls_tree_root_hash(t, h) || nhb != MLS_HASH_LEN || memcmp(h, hb, MLS_HASH_LEN))
        why = "tree_hash_before differs";
    else if (mls_proposal_decode(prop, np, &p))
        why = "proposal does not decode";
    if (!why) {
        sp_err e = SP_ERR_INVALID;
        if (p.type == MLS_PROPOSAL_ADD)
            e = mls_tree_add(t, &p.add.leaf_node, NULL);
        else if (p.type == MLS_PROPOSAL_UPDATE)
            e = mls_tree_update(t, mls_leaf(sender), &p.update);
        else if (p.type == MLS_PROPOSAL_REMOVE)
            e = mls_tree_remove(t, mls_leaf(p.remove));
        if (e)
            why = "applying the proposal failed";
    }
    if (!why && (mls_tree_encode(t, &enc) || enc.len != na || memcmp(enc.data, after, na)))
        why = "tree_after differs";
    if (!why && (mls_tree_root_hash(t, h) || nha != MLS_HASH_LEN || memcmp(h, ha, MLS_HASH_LEN)))
        why = "tree_hash_after differs";
    sp_buf_free(&enc);
    mls_proposal_free(&p);
    mls_tree_free(t);
    free(before), free(prop), free(after), free(hb), free(ha);
    return why;
}

static void run(const json *root, vec_stats *st)
{
    for (size_t i = 0; i < json_len(root); i++) {
        const char *why = one(json_at(root, i));
        vec_case(st, i, why == NULL, why);
    }
}

MLS_VECTOR_CATEGORY("tree-operations", run)
