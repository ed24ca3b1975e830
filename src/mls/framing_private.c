/* framing_private.c — PrivateMessage: content encryption with the secret tree, padding,
 * sender-data encryption (RFC 9420 §6.3). */
#include <stdlib.h>
#include <string.h>

#include "mls/codec.h"
#include "mls/framing.h"
#include "mls/tls.h"
#include "base/rand.h"

#define SENDER_DATA_LEN 12 /* uint32 leaf_index, uint32 generation, opaque reuse_guard[4] */
#define MAX_PADDING (1u << 20)

/* PrivateContentAAD / SenderDataAAD: the former adds authenticated_data. */
static sp_err write_aad(sp_buf *b, const mls_bytes *group_id, uint64_t epoch, uint8_t content_type,
                        const mls_bytes *authenticated_data)
{
    sp_err e = mls_put_opaque(b, group_id->data, group_id->len);
    if (!e)
        e = sp_buf_put_u64(b, epoch);
    if (!e)
        e = sp_buf_put_u8(b, content_type);
    if (!e && authenticated_data)
        e = mls_put_opaque(b, authenticated_data->data, authenticated_data->len);
    return e;
}

/* Reuse guards from the system source come from base/rand's per-thread pool (sp_random_small):
 * RAND_bytes per guard was a noticeable share of protecting a message. */
static sp_err reuse_guard(const mls_rand *rng, uint8_t guard[4])
{
    return rng ? mls_rand_bytes(rng, guard, 4) : sp_random_small(guard, 4);
}

static mls_ratchet_type ratchet_for(uint8_t content_type)
{
    return content_type == MLS_CONTENT_APPLICATION ? MLS_RATCHET_APPLICATION
                                                   : MLS_RATCHET_HANDSHAKE;
}

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static sp_err encrypt_sender_data(const mls_authenticated_content *ac,
                                  const uint8_t sds[MLS_HASH_LEN], uint32_t generation,
                                  const uint8_t guard[4], mls_private_message *out)
{
    uint8_t sd[SENDER_DATA_LEN], enc[SENDER_DATA_LEN + MLS_AEAD_TAG_LEN];
    uint8_t key[MLS_AEAD_KEY_LEN], nonce[MLS_AEAD_NONCE_LEN];
    put32(sd, ac->content.sender.index);
    put32(sd + 4, generation);
    memcpy(sd + 8, guard, 4);
    sp_buf aad = SP_BUF_INIT;
    sp_err e = mls_sender_data_key_nonce(sds, out->ciphertext.data, out->ciphertext.len, key, nonce);
    if (!e)
        e = write_aad(&aad, &ac->content.group_id, ac->content.epoch, ac->content.content_type,
                      NULL);
    if (!e)
        e = mls_aead_seal(key, nonce, aad.data, aad.len, sd, sizeof sd, enc);
    if (!e)
        e = mls_bytes_set(&out->encrypted_sender_data, enc, sizeof enc);
    mls_wipe(key, sizeof key);
    mls_wipe(nonce, sizeof nonce);
    sp_buf_free(&aad);
    return e;
}

sp_err mls_private_message_protect(const mls_authenticated_content *ac, mls_secret_tree *st,
                                   const uint8_t sender_data_secret[MLS_HASH_LEN], size_t padding,
                                   const mls_rand *rng, mls_private_message *out)
{
    memset(out, 0, sizeof *out);
    const mls_framed_content *c = &ac->content;
    if (ac->wire_format != MLS_WIRE_PRIVATE_MESSAGE || c->sender.type != MLS_SENDER_MEMBER ||
        c->content_type < MLS_CONTENT_APPLICATION || c->content_type > MLS_CONTENT_COMMIT ||
        padding > MAX_PADDING)
        return SP_ERR_INVALID;

    /* PrivateMessageContent: body, auth data, zero padding */
    sp_buf pt = SP_BUF_INIT, aad = SP_BUF_INIT;
    mls_ratchet_key k;
    uint8_t guard[4];
    int have_key = 0;
    /* Sized so that a short message's encodings need one allocation each. */
    sp_err e = sp_buf_reserve(&pt, 192 + padding);
    if (!e)
        e = sp_buf_reserve(&aad, 64);
    if (!e)
        e = mls_content_body_write(&pt, c);
    if (!e)
        e = mls_auth_data_write(&pt, c->content_type, &ac->auth);
    if (!e && padding && !(e = sp_buf_reserve(&pt, padding))) {
        memset(pt.data + pt.len, 0, padding);
        pt.len += padding;
    }
    if (!e)
        e = write_aad(&aad, &c->group_id, c->epoch, c->content_type, &c->authenticated_data);
    if (!e)
        e = reuse_guard(rng, guard);
    if (!e)
        e = mls_secret_tree_next(st, mls_leaf(c->sender.index), ratchet_for(c->content_type), &k);
    if (!e) {
        have_key = 1;
        mls_apply_reuse_guard(k.nonce, guard);
        out->ciphertext.data = malloc(pt.len + MLS_AEAD_TAG_LEN);
        if (!out->ciphertext.data)
            e = SP_ERR_NOMEM;
    }
    if (!e) {
        out->ciphertext.len = pt.len + MLS_AEAD_TAG_LEN;
        e = mls_aead_seal(k.key, k.nonce, aad.data, aad.len, pt.data, pt.len,
                          out->ciphertext.data);
    }
    if (!e)
        e = encrypt_sender_data(ac, sender_data_secret, k.generation, guard, out);
    if (!e)
        e = mls_bytes_set(&out->group_id, c->group_id.data, c->group_id.len);
    if (!e)
        e = mls_bytes_set(&out->authenticated_data, c->authenticated_data.data,
                          c->authenticated_data.len);
    out->epoch = c->epoch;
    out->content_type = c->content_type;
    if (have_key)
        mls_wipe(&k, sizeof k);
    sp_buf_free_secret(&pt);
    sp_buf_free(&aad);
    if (e)
        mls_private_message_free(out);
    return e;
}

static int same_group_epoch(const mls_group_context *ctx, const mls_bytes *group_id,
                            uint64_t epoch)
{
    return ctx->epoch == epoch && ctx->group_id.len == group_id->len &&
           (group_id->len == 0 || memcmp(ctx->group_id.data, group_id->data, group_id->len) == 0);
}

/* Decrypts SenderData into (leaf, generation, reuse guard). */
static sp_err open_sender_data(const mls_private_message *pm, const uint8_t sds[MLS_HASH_LEN],
                               uint32_t *leaf, uint32_t *generation, uint8_t guard[4])
{
    if (pm->encrypted_sender_data.len != SENDER_DATA_LEN + MLS_AEAD_TAG_LEN)
        return SP_ERR_INVALID;
    uint8_t key[MLS_AEAD_KEY_LEN], nonce[MLS_AEAD_NONCE_LEN], sd[SENDER_DATA_LEN];
    sp_buf aad = SP_BUF_INIT;
    sp_err e = mls_sender_data_key_nonce(sds, pm->ciphertext.data, pm->ciphertext.len, key, nonce);
    if (!e)
        e = write_aad(&aad, &pm->group_id, pm->epoch, pm->content_type, NULL);
    if (!e)
        e = mls_aead_open(key, nonce, aad.data, aad.len, pm->encrypted_sender_data.data,
                          pm->encrypted_sender_data.len, sd);
    if (!e) {
        sp_reader r;
        sp_reader_init(&r, sd, sizeof sd);
        sp_read_u32(&r, leaf);
        sp_read_u32(&r, generation);
        sp_read_copy(&r, guard, 4);
    }
    mls_wipe(key, sizeof key);
    mls_wipe(nonce, sizeof nonce);
    sp_buf_free(&aad);
    return e;
}

/* Parses PrivateMessageContent into out: body, auth data, then only zero padding. */
static sp_err parse_content(const uint8_t *pt, size_t len, mls_authenticated_content *out)
{
    sp_reader r;
    sp_reader_init(&r, pt, len);
    sp_err e = mls_content_body_read(&r, &out->content);
    if (!e)
        e = mls_auth_data_read(&r, out->content.content_type, &out->auth);
    uint8_t z;
    while (!e && sp_read_u8(&r, &z) == SP_OK)
        if (z)
            e = SP_ERR_INVALID; /* §6.3.1: padding is all zeros */
    return e;
}

sp_err mls_private_message_open(const mls_private_message *pm, const mls_group_context *ctx,
                                mls_secret_tree *st,
                                const uint8_t sender_data_secret[MLS_HASH_LEN],
                                mls_sig_key_fn get_key, void *arg,
                                mls_authenticated_content *out)
{
    memset(out, 0, sizeof *out);
    if (!same_group_epoch(ctx, &pm->group_id, pm->epoch))
        return SP_ERR_STATE;
    if (pm->content_type < MLS_CONTENT_APPLICATION || pm->content_type > MLS_CONTENT_COMMIT ||
        pm->ciphertext.len < MLS_AEAD_TAG_LEN)
        return SP_ERR_INVALID;

    uint32_t leaf, generation;
    uint8_t guard[4];
    sp_err e = open_sender_data(pm, sender_data_secret, &leaf, &generation, guard);
    if (e)
        return e;

    /* Peek now, consume only once the message has proven authentic: a forged
     * or corrupted message must not burn the sender's key (§9.2 deletion). */
    mls_ratchet_key k;
    e = mls_secret_tree_peek(st, mls_leaf(leaf), ratchet_for(pm->content_type), generation, &k);
    if (e)
        return e;
    mls_apply_reuse_guard(k.nonce, guard);

    sp_buf aad = SP_BUF_INIT;
    size_t pt_len = pm->ciphertext.len - MLS_AEAD_TAG_LEN;
    uint8_t *pt = malloc(pt_len ? pt_len : 1);
    e = pt ? SP_OK : SP_ERR_NOMEM;
    if (!e)
        e = write_aad(&aad, &pm->group_id, pm->epoch, pm->content_type, &pm->authenticated_data);
    if (!e)
        e = mls_aead_open(k.key, k.nonce, aad.data, aad.len, pm->ciphertext.data,
                          pm->ciphertext.len, pt);
    mls_wipe(&k, sizeof k);
    sp_buf_free(&aad);

    out->wire_format = MLS_WIRE_PRIVATE_MESSAGE;
    out->content.content_type = pm->content_type;
    out->content.epoch = pm->epoch;
    out->content.sender.type = MLS_SENDER_MEMBER;
    out->content.sender.index = leaf;
    if (!e)
        e = parse_content(pt, pt_len, out);
    if (!e)
        e = mls_bytes_set(&out->content.group_id, pm->group_id.data, pm->group_id.len);
    if (!e)
        e = mls_bytes_set(&out->content.authenticated_data, pm->authenticated_data.data,
                          pm->authenticated_data.len);
    if (pt) {
        mls_wipe(pt, pt_len);
        free(pt);
    }

    uint8_t pub[MLS_SIG_PUB_LEN];
    if (!e)
        e = get_key(arg, &out->content, pub);
    if (!e)
        e = mls_content_verify(out, ctx, pub);
    if (!e) {
        e = mls_secret_tree_get(st, mls_leaf(leaf), ratchet_for(pm->content_type), generation,
                                &k);
        mls_wipe(&k, sizeof k);
    }
    if (e)
        mls_authenticated_content_free(out);
    return e;
}
