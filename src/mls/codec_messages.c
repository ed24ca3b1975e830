/* codec_messages.c — proposals, Commit, GroupContext, GroupInfo, GroupSecrets and
 * Welcome (RFC 9420 §8.1, §12). */
#include <stdlib.h>

#include "mls/codec_internal.h"

/* ---- Proposal -------------------------------------------------------------------------- */

sp_err mls_rd_proposal(sp_reader *r, mls_proposal *out)
{
    TRY(sp_read_u16(r, &out->type));
    switch (out->type) {
    case MLS_PROPOSAL_ADD:
        return mls_rd_key_package(r, &out->add);
    case MLS_PROPOSAL_UPDATE:
        return mls_rd_leaf_node(r, &out->update);
    case MLS_PROPOSAL_REMOVE:
        return sp_read_u32(r, &out->remove);
    case MLS_PROPOSAL_PSK:
        return mls_rd_psk_id(r, &out->psk);
    case MLS_PROPOSAL_REINIT:
        TRY(mls_rd_bytes(r, &out->reinit.group_id));
        TRY(sp_read_u16(r, &out->reinit.version));
        TRY(sp_read_u16(r, &out->reinit.cipher_suite));
        return mls_rd_extension_list(r, &out->reinit.extensions);
    case MLS_PROPOSAL_EXTERNAL_INIT:
        return mls_rd_bytes(r, &out->external_init);
    case MLS_PROPOSAL_GROUP_CONTEXT_EXTENSIONS:
        return mls_rd_extension_list(r, &out->gce);
    default:
        /* an unknown proposal's body has no length prefix to skip by */
        return SP_ERR_UNSUPPORTED;
    }
}
MLS_CODEC_DEFINE(proposal)

sp_err mls_proposal_write(sp_buf *b, const mls_proposal *p)
{
    TRY(sp_buf_put_u16(b, p->type));
    switch (p->type) {
    case MLS_PROPOSAL_ADD:
        return mls_key_package_write(b, &p->add);
    case MLS_PROPOSAL_UPDATE:
        return mls_leaf_node_write(b, &p->update);
    case MLS_PROPOSAL_REMOVE:
        return sp_buf_put_u32(b, p->remove);
    case MLS_PROPOSAL_PSK:
        return mls_psk_id_write(b, &p->psk);
    case MLS_PROPOSAL_REINIT:
        TRY(mls_wr_bytes(b, &p->reinit.group_id));
        TRY(sp_buf_put_u16(b, p->reinit.version));
        TRY(sp_buf_put_u16(b, p->reinit.cipher_suite));
        return mls_extension_list_write(b, &p->reinit.extensions);
    case MLS_PROPOSAL_EXTERNAL_INIT:
        return mls_wr_bytes(b, &p->external_init);
    case MLS_PROPOSAL_GROUP_CONTEXT_EXTENSIONS:
        return mls_extension_list_write(b, &p->gce);
    default:
        return SP_ERR_UNSUPPORTED;
    }
}

sp_err mls_rd_proposal_or_ref(sp_reader *r, mls_proposal_or_ref *out)
{
    TRY(sp_read_u8(r, &out->type));
    switch (out->type) {
    case MLS_POR_PROPOSAL:
        return mls_rd_proposal(r, &out->proposal);
    case MLS_POR_REFERENCE:
        return mls_rd_bytes(r, &out->reference);
    default:
        return SP_ERR_INVALID;
    }
}
MLS_CODEC_DEFINE(proposal_or_ref)

sp_err mls_proposal_or_ref_write(sp_buf *b, const mls_proposal_or_ref *p)
{
    TRY(sp_buf_put_u8(b, p->type));
    switch (p->type) {
    case MLS_POR_PROPOSAL:
        return mls_proposal_write(b, &p->proposal);
    case MLS_POR_REFERENCE:
        return mls_wr_bytes(b, &p->reference);
    default:
        return SP_ERR_INVALID;
    }
}

/* ---- Commit ---------------------------------------------------------------------------- */

sp_err mls_rd_commit(sp_reader *r, mls_commit *out)
{
    TRY(mls_rd_items(r, (void **)&out->proposals, &out->n_proposals, sizeof *out->proposals,
                     rdv_proposal_or_ref));
    TRY(mls_read_optional(r, &out->has_path));
    return out->has_path ? mls_rd_update_path(r, &out->path) : SP_OK;
}
MLS_CODEC_DEFINE(commit)

sp_err mls_commit_write(sp_buf *b, const mls_commit *c)
{
    size_t s = mls_vec_begin(b);
    for (size_t i = 0; i < c->n_proposals; i++)
        TRY(mls_proposal_or_ref_write(b, &c->proposals[i]));
    TRY(mls_vec_end(b, s));
    TRY(sp_buf_put_u8(b, c->has_path ? 1 : 0));
    return c->has_path ? mls_update_path_write(b, &c->path) : SP_OK;
}

/* ---- GroupContext, GroupInfo ---------------------------------------------------------- */

sp_err mls_rd_group_context(sp_reader *r, mls_group_context *out)
{
    TRY(sp_read_u16(r, &out->version));
    TRY(sp_read_u16(r, &out->cipher_suite));
    TRY(mls_rd_bytes(r, &out->group_id));
    TRY(sp_read_u64(r, &out->epoch));
    TRY(mls_rd_bytes(r, &out->tree_hash));
    TRY(mls_rd_bytes(r, &out->confirmed_transcript_hash));
    return mls_rd_extension_list(r, &out->extensions);
}
MLS_CODEC_DEFINE(group_context)

sp_err mls_group_context_write(sp_buf *b, const mls_group_context *g)
{
    TRY(sp_buf_put_u16(b, g->version));
    TRY(sp_buf_put_u16(b, g->cipher_suite));
    TRY(mls_wr_bytes(b, &g->group_id));
    TRY(sp_buf_put_u64(b, g->epoch));
    TRY(mls_wr_bytes(b, &g->tree_hash));
    TRY(mls_wr_bytes(b, &g->confirmed_transcript_hash));
    return mls_extension_list_write(b, &g->extensions);
}

sp_err mls_rd_group_info(sp_reader *r, mls_group_info *out)
{
    TRY(mls_rd_group_context(r, &out->group_context));
    TRY(mls_rd_extension_list(r, &out->extensions));
    TRY(mls_rd_bytes(r, &out->confirmation_tag));
    TRY(sp_read_u32(r, &out->signer));
    return mls_rd_bytes(r, &out->signature);
}
MLS_CODEC_DEFINE(group_info)

sp_err mls_group_info_write_tbs(sp_buf *b, const mls_group_info *g)
{
    TRY(mls_group_context_write(b, &g->group_context));
    TRY(mls_extension_list_write(b, &g->extensions));
    TRY(mls_wr_bytes(b, &g->confirmation_tag));
    return sp_buf_put_u32(b, g->signer);
}

sp_err mls_group_info_write(sp_buf *b, const mls_group_info *g)
{
    TRY(mls_group_info_write_tbs(b, g));
    return mls_wr_bytes(b, &g->signature);
}

/* ---- GroupSecrets, Welcome --------------------------------------------------------------- */

static sp_err rd_psk_item(sp_reader *r, void *item) { return mls_rd_psk_id(r, item); }

sp_err mls_rd_group_secrets(sp_reader *r, mls_group_secrets *out)
{
    TRY(mls_rd_bytes(r, &out->joiner_secret));
    TRY(mls_read_optional(r, &out->has_path_secret));
    if (out->has_path_secret)
        TRY(mls_rd_bytes(r, &out->path_secret));
    return mls_rd_items(r, (void **)&out->psks, &out->n_psks, sizeof *out->psks, rd_psk_item);
}
MLS_CODEC_DEFINE(group_secrets)

sp_err mls_group_secrets_write(sp_buf *b, const mls_group_secrets *g)
{
    TRY(mls_wr_bytes(b, &g->joiner_secret));
    TRY(sp_buf_put_u8(b, g->has_path_secret ? 1 : 0));
    if (g->has_path_secret)
        TRY(mls_wr_bytes(b, &g->path_secret));
    size_t s = mls_vec_begin(b);
    for (size_t i = 0; i < g->n_psks; i++)
        TRY(mls_psk_id_write(b, &g->psks[i]));
    return mls_vec_end(b, s);
}

sp_err mls_rd_encrypted_group_secrets(sp_reader *r, mls_encrypted_group_secrets *out)
{
    TRY(mls_rd_bytes(r, &out->new_member));
    return mls_rd_hpke_ciphertext(r, &out->encrypted_group_secrets);
}
MLS_CODEC_DEFINE(encrypted_group_secrets)

sp_err mls_encrypted_group_secrets_write(sp_buf *b, const mls_encrypted_group_secrets *e)
{
    TRY(mls_wr_bytes(b, &e->new_member));
    return mls_hpke_ciphertext_write(b, &e->encrypted_group_secrets);
}

sp_err mls_rd_welcome(sp_reader *r, mls_welcome *out)
{
    TRY(sp_read_u16(r, &out->cipher_suite));
    TRY(mls_rd_items(r, (void **)&out->secrets, &out->n_secrets, sizeof *out->secrets,
                     rdv_encrypted_group_secrets));
    return mls_rd_bytes(r, &out->encrypted_group_info);
}
MLS_CODEC_DEFINE(welcome)

sp_err mls_welcome_write(sp_buf *b, const mls_welcome *w)
{
    TRY(sp_buf_put_u16(b, w->cipher_suite));
    size_t s = mls_vec_begin(b);
    for (size_t i = 0; i < w->n_secrets; i++)
        TRY(mls_encrypted_group_secrets_write(b, &w->secrets[i]));
    TRY(mls_vec_end(b, s));
    return mls_wr_bytes(b, &w->encrypted_group_info);
}
