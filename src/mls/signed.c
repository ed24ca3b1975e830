/* signed.c — SignWithLabel/VerifyWithLabel over LeafNodeTBS, KeyPackageTBS, GroupInfoTBS. */
#include "mls/signed.h"

#include "mls/codec.h"

/* tbs is freed here whatever happens; e is the error of building it. */
static sp_err sign_tbs(sp_buf *tbs, sp_err e, const mls_signer *s, const char *label,
                       mls_bytes *sig_out)
{
    uint8_t sig[MLS_SIG_LEN];
    if (!e)
        e = mls_sign_with_label(s, label, tbs->data, tbs->len, sig);
    if (!e)
        e = mls_bytes_set(sig_out, sig, sizeof sig);
    sp_buf_free(tbs);
    return e;
}

static sp_err verify_tbs(sp_buf *tbs, sp_err e, const mls_bytes *pub, const char *label,
                         const mls_bytes *sig)
{
    if (!e && pub->len != MLS_SIG_PUB_LEN)
        e = SP_ERR_CRYPTO;
    if (!e)
        e = mls_verify_with_label(pub->data, label, tbs->data, tbs->len, sig->data, sig->len);
    sp_buf_free(tbs);
    return e;
}

sp_err mls_leaf_node_sign(mls_leaf_node *l, const mls_signer *s, sp_slice group_id,
                          uint32_t leaf_index)
{
    sp_buf tbs = SP_BUF_INIT;
    sp_err e = mls_leaf_node_write_tbs(&tbs, l, group_id, leaf_index);
    return sign_tbs(&tbs, e, s, "LeafNodeTBS", &l->signature);
}

sp_err mls_leaf_node_verify(const mls_leaf_node *l, sp_slice group_id, uint32_t leaf_index)
{
    sp_buf tbs = SP_BUF_INIT;
    sp_err e = mls_leaf_node_write_tbs(&tbs, l, group_id, leaf_index);
    return verify_tbs(&tbs, e, &l->signature_key, "LeafNodeTBS", &l->signature);
}

sp_err mls_key_package_sign(mls_key_package *kp, const mls_signer *s)
{
    sp_buf tbs = SP_BUF_INIT;
    sp_err e = mls_key_package_write_tbs(&tbs, kp);
    e = sign_tbs(&tbs, e, s, "KeyPackageTBS", &kp->signature);
    sp_buf raw = SP_BUF_INIT;
    if (!e)
        e = mls_key_package_write(&raw, kp);
    if (!e)
        e = mls_bytes_set(&kp->raw, raw.data, raw.len);
    sp_buf_free(&raw);
    return e;
}

sp_err mls_key_package_verify(const mls_key_package *kp)
{
    sp_slice none = {NULL, 0};
    if (kp->leaf_node.source != MLS_LEAF_SOURCE_KEY_PACKAGE)
        return SP_ERR_INVALID;
    sp_err e = mls_leaf_node_verify(&kp->leaf_node, none, 0);
    if (e)
        return e;
    sp_buf tbs = SP_BUF_INIT;
    e = mls_key_package_write_tbs(&tbs, kp);
    return verify_tbs(&tbs, e, &kp->leaf_node.signature_key, "KeyPackageTBS", &kp->signature);
}

sp_err mls_key_package_ref(const mls_key_package *kp, uint8_t out[MLS_HASH_LEN])
{
    if (kp->raw.data)
        return mls_make_key_package_ref(kp->raw.data, kp->raw.len, out);
    sp_buf b = SP_BUF_INIT;
    sp_err e = mls_key_package_write(&b, kp);
    if (!e)
        e = mls_make_key_package_ref(b.data, b.len, out);
    sp_buf_free(&b);
    return e;
}

sp_err mls_group_info_sign(mls_group_info *gi, const mls_signer *s)
{
    sp_buf tbs = SP_BUF_INIT;
    sp_err e = mls_group_info_write_tbs(&tbs, gi);
    return sign_tbs(&tbs, e, s, "GroupInfoTBS", &gi->signature);
}

sp_err mls_group_info_verify(const mls_group_info *gi, const uint8_t pub[MLS_SIG_PUB_LEN])
{
    sp_buf tbs = SP_BUF_INIT;
    sp_err e = mls_group_info_write_tbs(&tbs, gi);
    if (!e)
        e = mls_verify_with_label(pub, "GroupInfoTBS", tbs.data, tbs.len, gi->signature.data,
                                  gi->signature.len);
    sp_buf_free(&tbs);
    return e;
}
