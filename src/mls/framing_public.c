/* framing_public.c — signing FramedContent, membership tags, PublicMessage (§6.1, §6.2). */
#include <string.h>

#include "mls/codec.h"
#include "mls/framing.h"
#include "mls/tls.h"

#define TRY(x)                \
    do {                      \
        sp_err e_ = (x);      \
        if (e_ != SP_OK)      \
            return e_;        \
    } while (0)

static const char TBS_LABEL[] = "FramedContentTBS";

/* Encodes SignContent{"MLS 1.0 FramedContentTBS", FramedContentTBS} into b
 * in one pass (see mls_put_sign_label): the bytes SignWithLabel would sign. */
static sp_err write_sign_content(sp_buf *b, const mls_authenticated_content *ac,
                                 const mls_group_context *ctx)
{
    /* A 100-byte message's SignContent is ~200 bytes: one allocation. */
    sp_err e = sp_buf_reserve(b, 256);
    if (!e)
        e = mls_put_sign_label(b, TBS_LABEL);
    size_t at = e ? 0 : mls_vec_begin(b);
    if (!e)
        e = mls_framed_content_write_tbs(b, ac->wire_format, &ac->content, ctx);
    if (!e)
        e = mls_vec_end(b, at);
    return e;
}

sp_err mls_content_sign(mls_authenticated_content *ac, const mls_group_context *ctx,
                        const mls_signer *signer)
{
    sp_buf b = SP_BUF_INIT;
    uint8_t sig[MLS_SIG_LEN];
    sp_err e = signer ? write_sign_content(&b, ac, ctx) : SP_ERR_INVALID;
    if (!e)
        e = mls_sign(signer, b.data, b.len, sig);
    if (!e)
        e = mls_bytes_set(&ac->auth.signature, sig, sizeof sig);
    sp_buf_free(&b);
    return e;
}

sp_err mls_content_verify(const mls_authenticated_content *ac, const mls_group_context *ctx,
                          const uint8_t pub[MLS_SIG_PUB_LEN])
{
    sp_buf b = SP_BUF_INIT;
    sp_err e = pub ? write_sign_content(&b, ac, ctx) : SP_ERR_INVALID;
    if (!e && !ac->auth.signature.data)
        e = SP_ERR_INVALID;
    if (!e)
        e = mls_verify(pub, b.data, b.len, ac->auth.signature.data, ac->auth.signature.len);
    sp_buf_free(&b);
    return e;
}

sp_err mls_membership_tag(const mls_authenticated_content *ac, const mls_group_context *ctx,
                          const uint8_t membership_key[MLS_HASH_LEN], uint8_t tag[MLS_HASH_LEN])
{
    /* AuthenticatedContentTBM = FramedContentTBS || FramedContentAuthData */
    sp_buf b = SP_BUF_INIT;
    sp_err e = mls_framed_content_write_tbs(&b, ac->wire_format, &ac->content, ctx);
    if (!e)
        e = mls_auth_data_write(&b, ac->content.content_type, &ac->auth);
    if (!e)
        e = mls_hmac(membership_key, MLS_HASH_LEN, b.data, b.len, tag);
    sp_buf_free(&b);
    return e;
}

static sp_err copy_auth(const mls_auth_data *in, mls_auth_data *out)
{
    memset(out, 0, sizeof *out);
    sp_err e = mls_bytes_set(&out->signature, in->signature.data, in->signature.len);
    if (!e && in->confirmation_tag.data)
        e = mls_bytes_set(&out->confirmation_tag, in->confirmation_tag.data,
                          in->confirmation_tag.len);
    if (e)
        mls_auth_data_free(out);
    return e;
}

sp_err mls_public_message_protect(const mls_authenticated_content *ac, const mls_group_context *ctx,
                                  const uint8_t *membership_key, mls_public_message *out)
{
    memset(out, 0, sizeof *out);
    if (ac->wire_format != MLS_WIRE_PUBLIC_MESSAGE)
        return SP_ERR_INVALID;
    if (ac->content.content_type == MLS_CONTENT_APPLICATION)
        return SP_ERR_INVALID; /* §6.2: application data is always encrypted */
    int member = ac->content.sender.type == MLS_SENDER_MEMBER;
    if (member && !membership_key)
        return SP_ERR_INVALID;
    uint8_t tag[MLS_HASH_LEN];
    sp_err e = SP_OK;
    if (member)
        e = mls_membership_tag(ac, ctx, membership_key, tag);
    if (!e)
        e = mls_framed_content_copy(&out->content, &ac->content);
    if (!e)
        e = copy_auth(&ac->auth, &out->auth);
    if (!e && member)
        e = mls_bytes_set(&out->membership_tag, tag, sizeof tag);
    if (e)
        mls_public_message_free(out);
    return e;
}

static int same_group_epoch(const mls_group_context *ctx, const mls_bytes *group_id,
                            uint64_t epoch)
{
    return ctx->epoch == epoch && ctx->group_id.len == group_id->len &&
           (group_id->len == 0 || memcmp(ctx->group_id.data, group_id->data, group_id->len) == 0);
}

sp_err mls_public_message_open(const mls_public_message *pm, const mls_group_context *ctx,
                               const uint8_t *membership_key, mls_sig_key_fn get_key, void *arg,
                               mls_authenticated_content *out)
{
    memset(out, 0, sizeof *out);
    if (!same_group_epoch(ctx, &pm->content.group_id, pm->content.epoch))
        return SP_ERR_STATE;
    if (pm->content.content_type == MLS_CONTENT_APPLICATION)
        return SP_ERR_INVALID;
    /* a borrowed view of pm as an AuthenticatedContent: never freed */
    mls_authenticated_content view;
    view.wire_format = MLS_WIRE_PUBLIC_MESSAGE;
    view.content = pm->content;
    view.auth = pm->auth;
    if (pm->content.sender.type == MLS_SENDER_MEMBER) {
        uint8_t tag[MLS_HASH_LEN];
        if (!membership_key)
            return SP_ERR_INVALID;
        TRY(mls_membership_tag(&view, ctx, membership_key, tag));
        if (pm->membership_tag.len != MLS_HASH_LEN ||
            !mls_ct_equal(tag, pm->membership_tag.data, MLS_HASH_LEN))
            return SP_ERR_CRYPTO;
    }
    uint8_t pub[MLS_SIG_PUB_LEN];
    TRY(get_key(arg, &pm->content, pub));
    TRY(mls_content_verify(&view, ctx, pub));
    out->wire_format = MLS_WIRE_PUBLIC_MESSAGE;
    sp_err e = mls_framed_content_copy(&out->content, &pm->content);
    if (!e)
        e = copy_auth(&pm->auth, &out->auth);
    if (e)
        mls_authenticated_content_free(out);
    return e;
}
