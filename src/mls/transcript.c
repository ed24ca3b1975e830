/* transcript.c — confirmed and interim transcript hashes, confirmation tags (§8.2). */
#include "mls/transcript.h"

#include "mls/codec.h"
#include "mls/tls.h"

sp_err mls_confirmed_transcript_hash(const uint8_t *interim_before, size_t interim_len,
                                     const mls_authenticated_content *commit,
                                     uint8_t out[MLS_HASH_LEN])
{
    if (commit->content.content_type != MLS_CONTENT_COMMIT)
        return SP_ERR_INVALID;
    sp_buf b = SP_BUF_INIT;
    sp_err e = sp_buf_append(&b, interim_before, interim_len);
    if (!e)
        e = sp_buf_put_u16(&b, commit->wire_format);
    if (!e)
        e = mls_framed_content_write(&b, &commit->content);
    if (!e)
        e = mls_put_opaque(&b, commit->auth.signature.data, commit->auth.signature.len);
    if (!e)
        e = mls_hash(b.data, b.len, out);
    sp_buf_free(&b);
    return e;
}

sp_err mls_interim_transcript_hash(const uint8_t confirmed[MLS_HASH_LEN], const uint8_t *tag,
                                   size_t tag_len, uint8_t out[MLS_HASH_LEN])
{
    sp_buf b = SP_BUF_INIT;
    sp_err e = sp_buf_append(&b, confirmed, MLS_HASH_LEN);
    if (!e)
        e = mls_put_opaque(&b, tag, tag_len);
    if (!e)
        e = mls_hash(b.data, b.len, out);
    sp_buf_free(&b);
    return e;
}

sp_err mls_transcript_update(const uint8_t *interim_before, size_t interim_len,
                             const mls_authenticated_content *commit,
                             uint8_t confirmed_out[MLS_HASH_LEN],
                             uint8_t interim_out[MLS_HASH_LEN])
{
    sp_err e = mls_confirmed_transcript_hash(interim_before, interim_len, commit, confirmed_out);
    if (e)
        return e;
    return mls_interim_transcript_hash(confirmed_out, commit->auth.confirmation_tag.data,
                                       commit->auth.confirmation_tag.len, interim_out);
}

sp_err mls_confirmation_tag(const uint8_t key[MLS_HASH_LEN], const uint8_t confirmed[MLS_HASH_LEN],
                            uint8_t tag[MLS_HASH_LEN])
{
    return mls_hmac(key, MLS_HASH_LEN, confirmed, MLS_HASH_LEN, tag);
}

sp_err mls_confirmation_tag_verify(const uint8_t key[MLS_HASH_LEN],
                                   const uint8_t confirmed[MLS_HASH_LEN], const uint8_t *tag,
                                   size_t tag_len)
{
    uint8_t want[MLS_HASH_LEN];
    sp_err e = mls_confirmation_tag(key, confirmed, want);
    if (e)
        return e;
    if (tag_len != MLS_HASH_LEN || !mls_ct_equal(want, tag, MLS_HASH_LEN))
        return SP_ERR_CRYPTO;
    return SP_OK;
}
