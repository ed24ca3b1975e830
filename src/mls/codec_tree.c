/* codec_tree.c — what the ratchet tree is made of: LeafNode, ParentNode, Node,
 * the ratchet tree vector, KeyPackage and UpdatePath (RFC 9420 §7, §10, §12.4). */
#include <stdlib.h>

#include "mls/codec_internal.h"

/* ---- LeafNode ------------------------------------------------------------------------ */

sp_err mls_rd_leaf_node(sp_reader *r, mls_leaf_node *out)
{
    TRY(mls_rd_bytes(r, &out->encryption_key));
    TRY(mls_rd_bytes(r, &out->signature_key));
    TRY(mls_rd_credential(r, &out->credential));
    TRY(mls_rd_capabilities(r, &out->capabilities));
    TRY(sp_read_u8(r, &out->source));
    switch (out->source) {
    case MLS_LEAF_SOURCE_KEY_PACKAGE:
        TRY(sp_read_u64(r, &out->lifetime.not_before));
        TRY(sp_read_u64(r, &out->lifetime.not_after));
        break;
    case MLS_LEAF_SOURCE_UPDATE:
        break;
    case MLS_LEAF_SOURCE_COMMIT:
        TRY(mls_rd_bytes(r, &out->parent_hash));
        break;
    default:
        return SP_ERR_INVALID;
    }
    TRY(mls_rd_extension_list(r, &out->extensions));
    return mls_rd_bytes(r, &out->signature);
}
MLS_CODEC_DEFINE(leaf_node)

/* Everything of LeafNodeTBS up to the source-dependent tail. */
static sp_err wr_leaf_node_body(sp_buf *b, const mls_leaf_node *l)
{
    TRY(mls_wr_bytes(b, &l->encryption_key));
    TRY(mls_wr_bytes(b, &l->signature_key));
    TRY(mls_credential_write(b, &l->credential));
    TRY(mls_capabilities_write(b, &l->capabilities));
    TRY(sp_buf_put_u8(b, l->source));
    switch (l->source) {
    case MLS_LEAF_SOURCE_KEY_PACKAGE:
        TRY(sp_buf_put_u64(b, l->lifetime.not_before));
        TRY(sp_buf_put_u64(b, l->lifetime.not_after));
        break;
    case MLS_LEAF_SOURCE_UPDATE:
        break;
    case MLS_LEAF_SOURCE_COMMIT:
        TRY(mls_wr_bytes(b, &l->parent_hash));
        break;
    default:
        return SP_ERR_INVALID;
    }
    return mls_extension_list_write(b, &l->extensions);
}

sp_err mls_leaf_node_write(sp_buf *b, const mls_leaf_node *l)
{
    TRY(wr_leaf_node_body(b, l));
    return mls_wr_bytes(b, &l->signature);
}

sp_err mls_leaf_node_write_tbs(sp_buf *b, const mls_leaf_node *l, sp_slice group_id,
                               uint32_t leaf_index)
{
    TRY(wr_leaf_node_body(b, l));
    if (l->source == MLS_LEAF_SOURCE_UPDATE || l->source == MLS_LEAF_SOURCE_COMMIT) {
        TRY(mls_put_opaque(b, group_id.ptr, group_id.len));
        TRY(sp_buf_put_u32(b, leaf_index));
    }
    return SP_OK;
}

/* ---- ParentNode, Node, ratchet tree --------------------------------------------------- */

sp_err mls_rd_parent_node(sp_reader *r, mls_parent_node *out)
{
    TRY(mls_rd_bytes(r, &out->encryption_key));
    TRY(mls_rd_bytes(r, &out->parent_hash));
    sp_reader body;
    TRY(mls_read_vec(r, &body));
    size_t len = sp_reader_left(&body);
    if (len % 4)
        return SP_ERR_INVALID;
    if (len) {
        out->unmerged_leaves = malloc(len);
        if (!out->unmerged_leaves)
            return SP_ERR_NOMEM;
        out->n_unmerged = len / 4;
        for (size_t i = 0; i < out->n_unmerged; i++)
            TRY(sp_read_u32(&body, &out->unmerged_leaves[i]));
    }
    return SP_OK;
}
MLS_CODEC_DEFINE(parent_node)

sp_err mls_parent_node_write(sp_buf *b, const mls_parent_node *p)
{
    TRY(mls_wr_bytes(b, &p->encryption_key));
    TRY(mls_wr_bytes(b, &p->parent_hash));
    size_t s = mls_vec_begin(b);
    for (size_t i = 0; i < p->n_unmerged; i++)
        sp_buf_put_u32(b, p->unmerged_leaves[i]);
    return mls_vec_end(b, s);
}

sp_err mls_rd_tree_node(sp_reader *r, mls_tree_node *out)
{
    TRY(sp_read_u8(r, &out->type));
    switch (out->type) {
    case MLS_NODE_LEAF:
        return mls_rd_leaf_node(r, &out->leaf);
    case MLS_NODE_PARENT:
        return mls_rd_parent_node(r, &out->parent);
    default:
        return SP_ERR_INVALID;
    }
}
MLS_CODEC_DEFINE(tree_node)

sp_err mls_tree_node_write(sp_buf *b, const mls_tree_node *n)
{
    TRY(sp_buf_put_u8(b, n->type));
    switch (n->type) {
    case MLS_NODE_LEAF:
        return mls_leaf_node_write(b, &n->leaf);
    case MLS_NODE_PARENT:
        return mls_parent_node_write(b, &n->parent);
    default:
        return SP_ERR_INVALID;
    }
}

static sp_err rd_tree_slot(sp_reader *r, void *item)
{
    int present;
    TRY(mls_read_optional(r, &present));
    return present ? mls_rd_tree_node(r, item) : SP_OK;
}

sp_err mls_rd_ratchet_tree(sp_reader *r, mls_ratchet_tree *out)
{
    TRY(mls_rd_items(r, (void **)&out->nodes, &out->n, sizeof *out->nodes, rd_tree_slot));
    if (out->n == 0 || out->nodes[out->n - 1].type == MLS_NODE_BLANK)
        return SP_ERR_INVALID; /* empty, or not trimmed on the right */
    /* leaves sit at even node indices, parents at odd ones (Appendix C) */
    for (size_t i = 0; i < out->n; i++) {
        uint8_t t = out->nodes[i].type;
        if (t != MLS_NODE_BLANK && t != ((i % 2) ? MLS_NODE_PARENT : MLS_NODE_LEAF))
            return SP_ERR_INVALID;
    }
    return SP_OK;
}
MLS_CODEC_DEFINE(ratchet_tree)

sp_err mls_ratchet_tree_write(sp_buf *b, const mls_ratchet_tree *t)
{
    size_t s = mls_vec_begin(b);
    for (size_t i = 0; i < t->n; i++) {
        if (t->nodes[i].type == MLS_NODE_BLANK) {
            sp_buf_put_u8(b, 0);
        } else {
            sp_buf_put_u8(b, 1);
            TRY(mls_tree_node_write(b, &t->nodes[i]));
        }
    }
    return mls_vec_end(b, s);
}

/* ---- KeyPackage ------------------------------------------------------------------------ */

sp_err mls_rd_key_package(sp_reader *r, mls_key_package *out)
{
    sp_reader start = *r;
    TRY(sp_read_u16(r, &out->version));
    TRY(sp_read_u16(r, &out->cipher_suite));
    TRY(mls_rd_bytes(r, &out->init_key));
    TRY(mls_rd_leaf_node(r, &out->leaf_node));
    TRY(mls_rd_extension_list(r, &out->extensions));
    TRY(mls_rd_bytes(r, &out->signature));
    /* keep the exact bytes: KeyPackageRef hashes them, not our re-encoding */
    sp_slice raw;
    TRY(sp_read_slice(&start, sp_reader_left(&start) - sp_reader_left(r), &raw));
    return mls_bytes_set(&out->raw, raw.ptr, raw.len);
}
MLS_CODEC_DEFINE(key_package)

sp_err mls_key_package_write_tbs(sp_buf *b, const mls_key_package *kp)
{
    TRY(sp_buf_put_u16(b, kp->version));
    TRY(sp_buf_put_u16(b, kp->cipher_suite));
    TRY(mls_wr_bytes(b, &kp->init_key));
    TRY(mls_leaf_node_write(b, &kp->leaf_node));
    return mls_extension_list_write(b, &kp->extensions);
}

sp_err mls_key_package_write(sp_buf *b, const mls_key_package *kp)
{
    TRY(mls_key_package_write_tbs(b, kp));
    return mls_wr_bytes(b, &kp->signature);
}

/* ---- UpdatePath ------------------------------------------------------------------------ */

static sp_err rd_hpke_ct_item(sp_reader *r, void *item) { return mls_rd_hpke_ciphertext(r, item); }

sp_err mls_rd_update_path_node(sp_reader *r, mls_update_path_node *out)
{
    TRY(mls_rd_bytes(r, &out->encryption_key));
    return mls_rd_items(r, (void **)&out->secrets, &out->n_secrets, sizeof *out->secrets,
                        rd_hpke_ct_item);
}
MLS_CODEC_DEFINE(update_path_node)

sp_err mls_update_path_node_write(sp_buf *b, const mls_update_path_node *n)
{
    TRY(mls_wr_bytes(b, &n->encryption_key));
    size_t s = mls_vec_begin(b);
    for (size_t i = 0; i < n->n_secrets; i++)
        TRY(mls_hpke_ciphertext_write(b, &n->secrets[i]));
    return mls_vec_end(b, s);
}

sp_err mls_rd_update_path(sp_reader *r, mls_update_path *out)
{
    TRY(mls_rd_leaf_node(r, &out->leaf_node));
    return mls_rd_items(r, (void **)&out->nodes, &out->n, sizeof *out->nodes,
                        rdv_update_path_node);
}
MLS_CODEC_DEFINE(update_path)

sp_err mls_update_path_write(sp_buf *b, const mls_update_path *p)
{
    TRY(mls_leaf_node_write(b, &p->leaf_node));
    size_t s = mls_vec_begin(b);
    for (size_t i = 0; i < p->n; i++)
        TRY(mls_update_path_node_write(b, &p->nodes[i]));
    return mls_vec_end(b, s);
}
