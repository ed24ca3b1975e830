/* key_schedule.c — RFC 9420 §8. See key_schedule.h. */
#include "mls/key_schedule.h"

#include <string.h>

#include "mls/hpke.h"
#include "mls/tls.h"

static const uint8_t ZEROS[MLS_HASH_LEN];

void mls_epoch_secrets_wipe(mls_epoch_secrets *s)
{
    if (s) mls_wipe(s, sizeof *s);
}

/* joiner_secret -> (welcome_secret, epoch_secret) */
static sp_err member_secret(const uint8_t joiner[MLS_HASH_LEN], const uint8_t *psk_secret,
                            uint8_t member[MLS_HASH_LEN])
{
    return mls_hkdf_extract(joiner, MLS_HASH_LEN, psk_secret ? psk_secret : ZEROS, MLS_HASH_LEN,
                            member);
}

sp_err mls_welcome_secret(const uint8_t joiner_secret[MLS_HASH_LEN], const uint8_t *psk_secret,
                          uint8_t welcome_secret[MLS_HASH_LEN])
{
    if (!joiner_secret || !welcome_secret) return SP_ERR_INVALID;
    uint8_t member[MLS_HASH_LEN];
    sp_err err = member_secret(joiner_secret, psk_secret, member);
    if (!err) err = mls_derive_secret(member, "welcome", welcome_secret);
    mls_wipe(member, sizeof member);
    return err;
}

sp_err mls_key_schedule_from_joiner(const uint8_t joiner_secret[MLS_HASH_LEN],
                                    const uint8_t *psk_secret, const uint8_t *group_context,
                                    size_t gc_len, mls_epoch_secrets *out)
{
    if (!joiner_secret || !out || (!group_context && gc_len)) return SP_ERR_INVALID;
    static const struct {
        const char *label;
        size_t off;
    } derived[] = {
        {"sender data", offsetof(mls_epoch_secrets, sender_data_secret)},
        {"encryption", offsetof(mls_epoch_secrets, encryption_secret)},
        {"exporter", offsetof(mls_epoch_secrets, exporter_secret)},
        {"external", offsetof(mls_epoch_secrets, external_secret)},
        {"confirm", offsetof(mls_epoch_secrets, confirmation_key)},
        {"membership", offsetof(mls_epoch_secrets, membership_key)},
        {"resumption", offsetof(mls_epoch_secrets, resumption_psk)},
        {"authentication", offsetof(mls_epoch_secrets, epoch_authenticator)},
        {"init", offsetof(mls_epoch_secrets, init_secret)},
    };
    uint8_t member[MLS_HASH_LEN], epoch[MLS_HASH_LEN];
    /* joiner_secret may point into *out (from mls_key_schedule). */
    memmove(out->joiner_secret, joiner_secret, MLS_HASH_LEN);
    sp_err err = member_secret(out->joiner_secret, psk_secret, member);
    if (!err) err = mls_derive_secret(member, "welcome", out->welcome_secret);
    if (!err)
        err = mls_expand_with_label(member, "epoch", group_context, gc_len, epoch, MLS_HASH_LEN);
    for (size_t i = 0; !err && i < sizeof derived / sizeof derived[0]; i++)
        err = mls_derive_secret(epoch, derived[i].label, (uint8_t *)out + derived[i].off);
    mls_wipe(member, sizeof member);
    mls_wipe(epoch, sizeof epoch);
    if (err) mls_epoch_secrets_wipe(out);
    return err;
}

sp_err mls_key_schedule(const uint8_t init_secret[MLS_HASH_LEN], const uint8_t *commit_secret,
                        const uint8_t *psk_secret, const uint8_t *group_context, size_t gc_len,
                        mls_epoch_secrets *out)
{
    if (!init_secret || !out || (!group_context && gc_len)) return SP_ERR_INVALID;
    uint8_t prk[MLS_HASH_LEN], joiner[MLS_HASH_LEN];
    sp_err err = mls_hkdf_extract(init_secret, MLS_HASH_LEN, commit_secret ? commit_secret : ZEROS,
                                  MLS_HASH_LEN, prk);
    if (!err) err = mls_expand_with_label(prk, "joiner", group_context, gc_len, joiner, MLS_HASH_LEN);
    if (!err) err = mls_key_schedule_from_joiner(joiner, psk_secret, group_context, gc_len, out);
    mls_wipe(prk, sizeof prk);
    mls_wipe(joiner, sizeof joiner);
    return err;
}

sp_err mls_welcome_key_nonce(const uint8_t welcome_secret[MLS_HASH_LEN],
                             uint8_t key[MLS_AEAD_KEY_LEN], uint8_t nonce[MLS_AEAD_NONCE_LEN])
{
    sp_err err = mls_expand_with_label(welcome_secret, "key", NULL, 0, key, MLS_AEAD_KEY_LEN);
    if (!err) err = mls_expand_with_label(welcome_secret, "nonce", NULL, 0, nonce, MLS_AEAD_NONCE_LEN);
    return err;
}

sp_err mls_exporter(const uint8_t exporter_secret[MLS_HASH_LEN], const uint8_t *label,
                    size_t label_len, const uint8_t *context, size_t context_len, uint8_t *out,
                    uint16_t out_len)
{
    if (!exporter_secret || (!label && label_len) || (!context && context_len)) return SP_ERR_INVALID;
    uint8_t derived[MLS_HASH_LEN], ctx_hash[MLS_HASH_LEN];
    sp_err err = mls_expand_with_label_n(exporter_secret, label, label_len, NULL, 0, derived,
                                         MLS_HASH_LEN);
    if (!err) err = mls_hash(context, context_len, ctx_hash);
    if (!err) err = mls_expand_with_label(derived, "exported", ctx_hash, sizeof ctx_hash, out, out_len);
    mls_wipe(derived, sizeof derived);
    return err;
}

sp_err mls_external_key_pair(const uint8_t external_secret[MLS_HASH_LEN],
                             uint8_t priv[MLS_KEM_PRIV_LEN], uint8_t pub[MLS_KEM_PUB_LEN])
{
    return mls_hpke_derive_key_pair(external_secret, MLS_HASH_LEN, priv, pub);
}

static const char EXTERNAL_INIT_LABEL[] = "MLS 1.0 external init secret";

sp_err mls_external_init_sender(const uint8_t external_pub[MLS_KEM_PUB_LEN], const mls_rand *rng,
                                uint8_t kem_output[MLS_KEM_PUB_LEN],
                                uint8_t init_secret[MLS_HASH_LEN])
{
    if (!external_pub || !kem_output || !init_secret) return SP_ERR_INVALID;
    mls_hpke_params p = {MLS_HPKE_MODE_BASE, MLS_HPKE_AEAD_AES128GCM, NULL, 0, NULL, 0, NULL, 0};
    mls_hpke_ctx *c;
    sp_err err = mls_hpke_setup_sender(&p, external_pub, NULL, rng, kem_output, &c);
    if (err) return err;
    err = mls_hpke_export(c, (const uint8_t *)EXTERNAL_INIT_LABEL, sizeof EXTERNAL_INIT_LABEL - 1,
                          init_secret, MLS_HASH_LEN);
    mls_hpke_ctx_free(c);
    return err;
}

sp_err mls_external_init_receiver(const uint8_t external_priv[MLS_KEM_PRIV_LEN],
                                  const uint8_t kem_output[MLS_KEM_PUB_LEN],
                                  uint8_t init_secret[MLS_HASH_LEN])
{
    if (!external_priv || !kem_output || !init_secret) return SP_ERR_INVALID;
    mls_hpke_params p = {MLS_HPKE_MODE_BASE, MLS_HPKE_AEAD_AES128GCM, NULL, 0, NULL, 0, NULL, 0};
    mls_hpke_ctx *c;
    sp_err err = mls_hpke_setup_receiver(&p, kem_output, external_priv, NULL, &c);
    if (err) return err;
    err = mls_hpke_export(c, (const uint8_t *)EXTERNAL_INIT_LABEL, sizeof EXTERNAL_INIT_LABEL - 1,
                          init_secret, MLS_HASH_LEN);
    mls_hpke_ctx_free(c);
    return err;
}

/* PSKLabel {PreSharedKeyID id; uint16 index; uint16 count;} */
sp_err mls_psk_secret(const mls_psk_input *psks, size_t n, uint8_t out[MLS_HASH_LEN])
{
    if ((!psks && n) || !out) return SP_ERR_INVALID;
    if (n > 0xffff) return SP_ERR_TOO_LARGE;
    uint8_t acc[MLS_HASH_LEN], extracted[MLS_HASH_LEN], input[MLS_HASH_LEN];
    memset(acc, 0, sizeof acc);
    sp_buf label = SP_BUF_INIT;
    sp_err err = SP_OK;
    for (size_t i = 0; !err && i < n; i++) {
        const mls_psk_input *p = &psks[i];
        if ((!p->id && p->id_len) || (!p->psk && p->psk_len)) {
            err = SP_ERR_INVALID;
            break;
        }
        sp_buf_reset(&label);
        err = sp_buf_append(&label, p->id, p->id_len);
        if (!err) err = sp_buf_put_u16(&label, (uint16_t)i);
        if (!err) err = sp_buf_put_u16(&label, (uint16_t)n);
        /* psk_extracted = Extract(0, psk); psk_input = ExpandWithLabel(., "derived psk", PSKLabel, Nh) */
        if (!err) err = mls_hkdf_extract(NULL, 0, p->psk, p->psk_len, extracted);
        if (!err)
            err = mls_expand_with_label(extracted, "derived psk", label.data, label.len, input,
                                        MLS_HASH_LEN);
        /* psk_secret[i+1] = Extract(salt = psk_input[i], ikm = psk_secret[i]) */
        if (!err) err = mls_hkdf_extract(input, MLS_HASH_LEN, acc, MLS_HASH_LEN, acc);
    }
    if (!err) memcpy(out, acc, MLS_HASH_LEN);
    mls_wipe(acc, sizeof acc);
    mls_wipe(extracted, sizeof extracted);
    mls_wipe(input, sizeof input);
    sp_buf_free(&label);
    return err;
}

sp_err mls_psk_id_encode_external(sp_buf *b, const uint8_t *psk_id, size_t id_len,
                                  const uint8_t *nonce, size_t nonce_len)
{
    sp_err err = sp_buf_put_u8(b, 1);
    if (!err) err = mls_put_opaque(b, psk_id, id_len);
    if (!err) err = mls_put_opaque(b, nonce, nonce_len);
    return err;
}

sp_err mls_psk_id_encode_resumption(sp_buf *b, uint8_t usage, const uint8_t *group_id,
                                    size_t gid_len, uint64_t epoch, const uint8_t *nonce,
                                    size_t nonce_len)
{
    sp_err err = sp_buf_put_u8(b, 2);
    if (!err) err = sp_buf_put_u8(b, usage);
    if (!err) err = mls_put_opaque(b, group_id, gid_len);
    if (!err) err = sp_buf_put_u64(b, epoch);
    if (!err) err = mls_put_opaque(b, nonce, nonce_len);
    return err;
}
