/* hpke.c — RFC 9180 for DHKEM(X25519, HKDF-SHA256) / HKDF-SHA256 / AES-128-GCM. See hpke.h. */
#include "mls/hpke.h"

#include <stdlib.h>
#include <string.h>

#include "mls/tls.h"

struct mls_hpke_ctx {
    uint16_t aead_id;
    uint64_t seq;
    uint8_t key[MLS_AEAD_KEY_LEN];
    uint8_t base_nonce[MLS_AEAD_NONCE_LEN];
    uint8_t exporter_secret[MLS_HASH_LEN];
};

/* suite_id values (§4.1, §5.1). */
static const uint8_t KEM_SUITE[] = {'K', 'E', 'M', 0x00, 0x20};
static const uint8_t HPKE_SUITE_GCM[] = {'H', 'P', 'K', 'E', 0x00, 0x20, 0x00, 0x01, 0x00, 0x01};
static const uint8_t HPKE_SUITE_EXP[] = {'H', 'P', 'K', 'E', 0x00, 0x20, 0x00, 0x01, 0xff, 0xff};

typedef struct {
    const uint8_t *p;
    size_t n;
} suite;

static sp_err put_labeled(sp_buf *b, suite s, const char *label, const uint8_t *x, size_t xn)
{
    sp_err err = sp_buf_append(b, "HPKE-v1", 7);
    if (!err) err = sp_buf_append(b, s.p, s.n);
    if (!err) err = sp_buf_append(b, label, strlen(label));
    if (!err && xn) err = sp_buf_append(b, x, xn);
    return err;
}

/* LabeledExtract(salt, label, ikm) = Extract(salt, "HPKE-v1" || suite_id || label || ikm) */
static sp_err labeled_extract(suite s, const uint8_t *salt, size_t salt_len, const char *label,
                              const uint8_t *ikm, size_t ikm_len, uint8_t out[MLS_HASH_LEN])
{
    sp_buf b = SP_BUF_INIT;
    sp_err err = put_labeled(&b, s, label, ikm, ikm_len);
    if (!err) err = mls_hkdf_extract(salt, salt_len, b.data, b.len, out);
    sp_buf_free_secret(&b);
    return err;
}

/* LabeledExpand(prk, label, info, L) = Expand(prk, I2OSP(L, 2) || "HPKE-v1" || suite_id || label || info, L) */
static sp_err labeled_expand(suite s, const uint8_t prk[MLS_HASH_LEN], const char *label,
                             const uint8_t *info, size_t info_len, uint8_t *out, size_t len)
{
    if (len > 0xffff) return SP_ERR_INVALID;
    sp_buf b = SP_BUF_INIT;
    sp_err err = sp_buf_put_u16(&b, (uint16_t)len);
    if (!err) err = put_labeled(&b, s, label, info, info_len);
    if (!err) err = mls_hkdf_expand(prk, MLS_HASH_LEN, b.data, b.len, out, len);
    sp_buf_free_secret(&b);
    return err;
}

static const suite kem_suite = {KEM_SUITE, sizeof KEM_SUITE};

sp_err mls_hpke_derive_key_pair(const uint8_t *ikm, size_t ikm_len, uint8_t sk[MLS_KEM_PRIV_LEN],
                                uint8_t pk[MLS_KEM_PUB_LEN])
{
    if ((!ikm && ikm_len) || !sk || !pk) return SP_ERR_INVALID;
    uint8_t prk[MLS_HASH_LEN];
    sp_err err = labeled_extract(kem_suite, NULL, 0, "dkp_prk", ikm, ikm_len, prk);
    if (!err) err = labeled_expand(kem_suite, prk, "sk", NULL, 0, sk, MLS_KEM_PRIV_LEN);
    if (!err) err = mls_x25519_pub(sk, pk);
    mls_wipe(prk, sizeof prk);
    if (err) mls_wipe(sk, MLS_KEM_PRIV_LEN);
    return err;
}

sp_err mls_hpke_keygen(const mls_rand *rng, uint8_t sk[MLS_KEM_PRIV_LEN],
                       uint8_t pk[MLS_KEM_PUB_LEN])
{
    uint8_t ikm[MLS_KEM_PRIV_LEN];
    sp_err err = mls_rand_bytes(rng, ikm, sizeof ikm);
    if (!err) err = mls_hpke_derive_key_pair(ikm, sizeof ikm, sk, pk);
    mls_wipe(ikm, sizeof ikm);
    return err;
}

/* ExtractAndExpand(dh, kem_context) (§4.1) */
static sp_err extract_and_expand(const uint8_t *dh, size_t dh_len, const uint8_t *kem_ctx,
                                 size_t kem_ctx_len, uint8_t ss[MLS_KEM_SECRET_LEN])
{
    uint8_t prk[MLS_HASH_LEN];
    sp_err err = labeled_extract(kem_suite, NULL, 0, "eae_prk", dh, dh_len, prk);
    if (!err)
        err = labeled_expand(kem_suite, prk, "shared_secret", kem_ctx, kem_ctx_len, ss,
                             MLS_KEM_SECRET_LEN);
    mls_wipe(prk, sizeof prk);
    return err;
}

/* Encap / AuthEncap: the dh values are skE·pkR (|| skS·pkR); the kem context
 * enc || pkR (|| pkS). skE is DeriveKeyPair(rng(32)): its public half (enc)
 * and skE·pkR come from one key load. */
static sp_err encap(const uint8_t pkR[MLS_KEM_PUB_LEN], const uint8_t *skS, const mls_rand *rng,
                    uint8_t ss[MLS_KEM_SECRET_LEN], uint8_t enc[MLS_KEM_PUB_LEN])
{
    uint8_t ikm[MLS_KEM_PRIV_LEN], prk[MLS_HASH_LEN], skE[MLS_KEM_PRIV_LEN];
    uint8_t dh[2 * MLS_KEM_SECRET_LEN], kctx[3 * MLS_KEM_PUB_LEN];
    size_t dh_len = MLS_KEM_SECRET_LEN, kctx_len = 2 * MLS_KEM_PUB_LEN;
    sp_err err = mls_rand_bytes(rng, ikm, sizeof ikm);
    if (!err) err = labeled_extract(kem_suite, NULL, 0, "dkp_prk", ikm, sizeof ikm, prk);
    if (!err) err = labeled_expand(kem_suite, prk, "sk", NULL, 0, skE, sizeof skE);
    if (!err) err = mls_x25519_pub_dh(skE, pkR, enc, dh);
    memcpy(kctx, enc, MLS_KEM_PUB_LEN);
    memcpy(kctx + MLS_KEM_PUB_LEN, pkR, MLS_KEM_PUB_LEN);
    if (!err && skS) {
        err = mls_x25519_pub_dh(skS, pkR, kctx + kctx_len, dh + MLS_KEM_SECRET_LEN);
        dh_len += MLS_KEM_SECRET_LEN;
        kctx_len += MLS_KEM_PUB_LEN;
    }
    if (!err) err = extract_and_expand(dh, dh_len, kctx, kctx_len, ss);
    mls_wipe(ikm, sizeof ikm);
    mls_wipe(prk, sizeof prk);
    mls_wipe(skE, sizeof skE);
    mls_wipe(dh, sizeof dh);
    return err;
}

/* pkR may be NULL: it is then computed from skR, which costs as much as the
 * DH itself. */
static sp_err decap(const uint8_t enc[MLS_KEM_PUB_LEN], const uint8_t skR[MLS_KEM_PRIV_LEN],
                    const uint8_t *pkR_known, const uint8_t *pkS, uint8_t ss[MLS_KEM_SECRET_LEN])
{
    uint8_t dh[2 * MLS_KEM_SECRET_LEN], kctx[3 * MLS_KEM_PUB_LEN];
    size_t dh_len = MLS_KEM_SECRET_LEN, kctx_len = 2 * MLS_KEM_PUB_LEN;
    uint8_t *pkR = kctx + MLS_KEM_PUB_LEN;
    sp_err err;
    memcpy(kctx, enc, MLS_KEM_PUB_LEN);
    if (pkR_known) {
        memcpy(pkR, pkR_known, MLS_KEM_PUB_LEN);
        err = mls_x25519_kp(skR, pkR, enc, dh);
    } else {
        err = mls_x25519_pub_dh(skR, enc, pkR, dh);
    }
    if (!err && pkS) {
        err = mls_x25519_kp(skR, pkR, pkS, dh + MLS_KEM_SECRET_LEN);
        dh_len += MLS_KEM_SECRET_LEN;
        memcpy(kctx + kctx_len, pkS, MLS_KEM_PUB_LEN);
        kctx_len += MLS_KEM_PUB_LEN;
    }
    if (!err) err = extract_and_expand(dh, dh_len, kctx, kctx_len, ss);
    mls_wipe(dh, sizeof dh);
    return err;
}

static int mode_has_psk(mls_hpke_mode m) { return m == MLS_HPKE_MODE_PSK || m == MLS_HPKE_MODE_AUTH_PSK; }
static int mode_has_auth(mls_hpke_mode m) { return m == MLS_HPKE_MODE_AUTH || m == MLS_HPKE_MODE_AUTH_PSK; }

static sp_err check_params(const mls_hpke_params *p)
{
    if (!p || p->mode < MLS_HPKE_MODE_BASE || p->mode > MLS_HPKE_MODE_AUTH_PSK) return SP_ERR_INVALID;
    if (p->aead_id != MLS_HPKE_AEAD_AES128GCM && p->aead_id != MLS_HPKE_AEAD_EXPORT_ONLY)
        return SP_ERR_UNSUPPORTED;
    if ((!p->info && p->info_len) || (!p->psk && p->psk_len) || (!p->psk_id && p->psk_id_len))
        return SP_ERR_INVALID;
    /* VerifyPSKInputs (§5.1) */
    int got_psk = p->psk_len != 0, got_id = p->psk_id_len != 0;
    if (got_psk != got_id) return SP_ERR_INVALID;
    if (got_psk != mode_has_psk(p->mode)) return SP_ERR_INVALID;
    return SP_OK;
}

/* KeySchedule<ROLE>(mode, shared_secret, info, psk, psk_id) (§5.1) */
static sp_err key_schedule(const mls_hpke_params *p, const uint8_t ss[MLS_KEM_SECRET_LEN],
                           const uint8_t *info_hash, mls_hpke_ctx **out)
{
    suite s = p->aead_id == MLS_HPKE_AEAD_EXPORT_ONLY
                  ? (suite){HPKE_SUITE_EXP, sizeof HPKE_SUITE_EXP}
                  : (suite){HPKE_SUITE_GCM, sizeof HPKE_SUITE_GCM};
    uint8_t ksc[1 + 2 * MLS_HASH_LEN], secret[MLS_HASH_LEN];
    mls_hpke_ctx *c = calloc(1, sizeof *c);
    if (!c) return SP_ERR_NOMEM;
    c->aead_id = p->aead_id;
    ksc[0] = (uint8_t)p->mode;
    sp_err err = labeled_extract(s, NULL, 0, "psk_id_hash", p->psk_id, p->psk_id_len, ksc + 1);
    if (!err && info_hash) /* computed beforehand for many recipients */
        memcpy(ksc + 1 + MLS_HASH_LEN, info_hash, MLS_HASH_LEN);
    else if (!err)
        err = labeled_extract(s, NULL, 0, "info_hash", p->info, p->info_len, ksc + 1 + MLS_HASH_LEN);
    if (!err) err = labeled_extract(s, ss, MLS_KEM_SECRET_LEN, "secret", p->psk, p->psk_len, secret);
    if (!err && p->aead_id != MLS_HPKE_AEAD_EXPORT_ONLY) {
        err = labeled_expand(s, secret, "key", ksc, sizeof ksc, c->key, sizeof c->key);
        if (!err)
            err = labeled_expand(s, secret, "base_nonce", ksc, sizeof ksc, c->base_nonce,
                                 sizeof c->base_nonce);
    }
    if (!err)
        err = labeled_expand(s, secret, "exp", ksc, sizeof ksc, c->exporter_secret,
                             sizeof c->exporter_secret);
    mls_wipe(secret, sizeof secret);
    if (err) {
        mls_hpke_ctx_free(c);
        return err;
    }
    /* The suite is needed again for Export; it follows from aead_id. */
    *out = c;
    return SP_OK;
}

void mls_hpke_ctx_free(mls_hpke_ctx *c)
{
    if (!c) return;
    mls_wipe(c, sizeof *c);
    free(c);
}

static sp_err setup_sender(const mls_hpke_params *p, const uint8_t pkR[MLS_KEM_PUB_LEN],
                           const uint8_t *skS, const mls_rand *rng, const uint8_t *info_hash,
                           uint8_t enc[MLS_KEM_PUB_LEN], mls_hpke_ctx **out)
{
    *out = NULL;
    sp_err err = check_params(p);
    if (err) return err;
    if (!pkR || !enc || (!skS) == mode_has_auth(p->mode)) return SP_ERR_INVALID;
    uint8_t ss[MLS_KEM_SECRET_LEN];
    err = encap(pkR, skS, rng, ss, enc);
    if (!err) err = key_schedule(p, ss, info_hash, out);
    mls_wipe(ss, sizeof ss);
    return err;
}

sp_err mls_hpke_setup_sender(const mls_hpke_params *p, const uint8_t pkR[MLS_KEM_PUB_LEN],
                             const uint8_t *skS, const mls_rand *rng,
                             uint8_t enc[MLS_KEM_PUB_LEN], mls_hpke_ctx **out)
{
    return setup_sender(p, pkR, skS, rng, NULL, enc, out);
}

sp_err mls_hpke_setup_receiver_kp(const mls_hpke_params *p, const uint8_t enc[MLS_KEM_PUB_LEN],
                                  const uint8_t skR[MLS_KEM_PRIV_LEN], const uint8_t *pkR,
                                  const uint8_t *pkS, mls_hpke_ctx **out)
{
    *out = NULL;
    sp_err err = check_params(p);
    if (err) return err;
    if (!enc || !skR || (!pkS) == mode_has_auth(p->mode)) return SP_ERR_INVALID;
    uint8_t ss[MLS_KEM_SECRET_LEN];
    err = decap(enc, skR, pkR, pkS, ss);
    if (!err) err = key_schedule(p, ss, NULL, out);
    mls_wipe(ss, sizeof ss);
    return err;
}

sp_err mls_hpke_setup_receiver(const mls_hpke_params *p, const uint8_t enc[MLS_KEM_PUB_LEN],
                               const uint8_t skR[MLS_KEM_PRIV_LEN], const uint8_t *pkS,
                               mls_hpke_ctx **out)
{
    return mls_hpke_setup_receiver_kp(p, enc, skR, NULL, pkS, out);
}

/* ComputeNonce(seq) (§5.2): base_nonce XOR I2OSP(seq, Nn). */
static void compute_nonce(const mls_hpke_ctx *c, uint8_t nonce[MLS_AEAD_NONCE_LEN])
{
    memcpy(nonce, c->base_nonce, MLS_AEAD_NONCE_LEN);
    for (int i = 0; i < 8; i++) nonce[MLS_AEAD_NONCE_LEN - 1 - i] ^= (uint8_t)(c->seq >> (8 * i));
}

/* A 64-bit counter runs out long before the 96-bit limit of §5.2; refusing
 * the last value keeps IncrementSeq from wrapping. */
static sp_err can_crypt(const mls_hpke_ctx *c)
{
    if (!c) return SP_ERR_INVALID;
    if (c->aead_id == MLS_HPKE_AEAD_EXPORT_ONLY) return SP_ERR_STATE;
    if (c->seq == UINT64_MAX) return SP_ERR_STATE;
    return SP_OK;
}

sp_err mls_hpke_seal(mls_hpke_ctx *c, const uint8_t *aad, size_t aad_len, const uint8_t *pt,
                     size_t pt_len, uint8_t *ct)
{
    sp_err err = can_crypt(c);
    if (err) return err;
    uint8_t nonce[MLS_AEAD_NONCE_LEN];
    compute_nonce(c, nonce);
    err = mls_aead_seal(c->key, nonce, aad, aad_len, pt, pt_len, ct);
    if (!err) c->seq++;
    return err;
}

sp_err mls_hpke_open(mls_hpke_ctx *c, const uint8_t *aad, size_t aad_len, const uint8_t *ct,
                     size_t ct_len, uint8_t *pt)
{
    sp_err err = can_crypt(c);
    if (err) return err;
    uint8_t nonce[MLS_AEAD_NONCE_LEN];
    compute_nonce(c, nonce);
    err = mls_aead_open(c->key, nonce, aad, aad_len, ct, ct_len, pt);
    if (!err) c->seq++;
    return err;
}

sp_err mls_hpke_export(const mls_hpke_ctx *c, const uint8_t *exporter_context, size_t ctx_len,
                       uint8_t *out, size_t out_len)
{
    if (!c || (!exporter_context && ctx_len) || out_len > 255 * MLS_HASH_LEN) return SP_ERR_INVALID;
    suite s = c->aead_id == MLS_HPKE_AEAD_EXPORT_ONLY
                  ? (suite){HPKE_SUITE_EXP, sizeof HPKE_SUITE_EXP}
                  : (suite){HPKE_SUITE_GCM, sizeof HPKE_SUITE_GCM};
    return labeled_expand(s, c->exporter_secret, "sec", exporter_context, ctx_len, out, out_len);
}

sp_err mls_hpke_seal_base(const uint8_t pkR[MLS_KEM_PUB_LEN], const uint8_t *info, size_t info_len,
                          const uint8_t *aad, size_t aad_len, const uint8_t *pt, size_t pt_len,
                          const mls_rand *rng, uint8_t enc[MLS_KEM_PUB_LEN], uint8_t *ct)
{
    mls_hpke_params p = {MLS_HPKE_MODE_BASE, MLS_HPKE_AEAD_AES128GCM, info, info_len, NULL, 0, NULL, 0};
    mls_hpke_ctx *c;
    sp_err err = mls_hpke_setup_sender(&p, pkR, NULL, rng, enc, &c);
    if (err) return err;
    err = mls_hpke_seal(c, aad, aad_len, pt, pt_len, ct);
    mls_hpke_ctx_free(c);
    return err;
}

sp_err mls_hpke_open_base_kp(const uint8_t enc[MLS_KEM_PUB_LEN],
                             const uint8_t skR[MLS_KEM_PRIV_LEN], const uint8_t *pkR,
                             const uint8_t *info, size_t info_len, const uint8_t *aad,
                             size_t aad_len, const uint8_t *ct, size_t ct_len, uint8_t *pt)
{
    mls_hpke_params p = {MLS_HPKE_MODE_BASE, MLS_HPKE_AEAD_AES128GCM, info, info_len, NULL, 0, NULL, 0};
    mls_hpke_ctx *c;
    sp_err err = mls_hpke_setup_receiver_kp(&p, enc, skR, pkR, NULL, &c);
    if (err) return err;
    err = mls_hpke_open(c, aad, aad_len, ct, ct_len, pt);
    mls_hpke_ctx_free(c);
    return err;
}

sp_err mls_hpke_open_base(const uint8_t enc[MLS_KEM_PUB_LEN], const uint8_t skR[MLS_KEM_PRIV_LEN],
                          const uint8_t *info, size_t info_len, const uint8_t *aad, size_t aad_len,
                          const uint8_t *ct, size_t ct_len, uint8_t *pt)
{
    return mls_hpke_open_base_kp(enc, skR, NULL, info, info_len, aad, aad_len, ct, ct_len, pt);
}

/* ---- MLS EncryptWithLabel / DecryptWithLabel ---------------------------------------- */

/* EncryptContext {opaque label<V> = "MLS 1.0 " + label; opaque context<V>} */
static sp_err encrypt_context(sp_buf *b, const char *label, const uint8_t *ctx, size_t ctx_len)
{
    static const char prefix[] = "MLS 1.0 ";
    size_t plen = sizeof prefix - 1, llen = strlen(label);
    sp_err err = mls_put_varint(b, plen + llen);
    if (!err) err = sp_buf_append(b, prefix, plen);
    if (!err) err = sp_buf_append(b, label, llen);
    if (!err) err = mls_put_opaque(b, ctx, ctx_len);
    return err;
}

sp_err mls_encrypt_with_label(const uint8_t pub[MLS_KEM_PUB_LEN], const char *label,
                              const uint8_t *context, size_t context_len, const uint8_t *pt,
                              size_t pt_len, const mls_rand *rng,
                              uint8_t kem_output[MLS_KEM_PUB_LEN], sp_buf *ct)
{
    if (!pub || !label || (!context && context_len) || (!pt && pt_len) || !kem_output || !ct)
        return SP_ERR_INVALID;
    if (pt_len > SIZE_MAX - MLS_AEAD_TAG_LEN) return SP_ERR_TOO_LARGE;
    sp_buf info = SP_BUF_INIT;
    sp_err err = encrypt_context(&info, label, context, context_len);
    if (!err) err = sp_buf_reserve(ct, pt_len + MLS_AEAD_TAG_LEN);
    if (!err)
        err = mls_hpke_seal_base(pub, info.data, info.len, NULL, 0, pt, pt_len, rng, kem_output,
                                 ct->data + ct->len);
    if (!err) ct->len += pt_len + MLS_AEAD_TAG_LEN;
    sp_buf_free(&info);
    return err;
}

sp_err mls_encrypt_context_hash(const char *label, const uint8_t *context, size_t context_len,
                                uint8_t info_hash[MLS_HASH_LEN])
{
    if (!label || (!context && context_len) || !info_hash) return SP_ERR_INVALID;
    suite s = {HPKE_SUITE_GCM, sizeof HPKE_SUITE_GCM};
    sp_buf info = SP_BUF_INIT;
    sp_err err = encrypt_context(&info, label, context, context_len);
    if (!err) err = labeled_extract(s, NULL, 0, "info_hash", info.data, info.len, info_hash);
    sp_buf_free(&info);
    return err;
}

sp_err mls_encrypt_with_label_hashed(const uint8_t pub[MLS_KEM_PUB_LEN],
                                     const uint8_t info_hash[MLS_HASH_LEN], const uint8_t *pt,
                                     size_t pt_len, const mls_rand *rng,
                                     uint8_t kem_output[MLS_KEM_PUB_LEN], sp_buf *ct)
{
    if (!pub || !info_hash || (!pt && pt_len) || !kem_output || !ct) return SP_ERR_INVALID;
    if (pt_len > SIZE_MAX - MLS_AEAD_TAG_LEN) return SP_ERR_TOO_LARGE;
    mls_hpke_params p = {MLS_HPKE_MODE_BASE, MLS_HPKE_AEAD_AES128GCM, NULL, 0, NULL, 0, NULL, 0};
    mls_hpke_ctx *c;
    sp_err err = sp_buf_reserve(ct, pt_len + MLS_AEAD_TAG_LEN);
    if (!err) err = setup_sender(&p, pub, NULL, rng, info_hash, kem_output, &c);
    if (err) return err;
    err = mls_hpke_seal(c, NULL, 0, pt, pt_len, ct->data + ct->len);
    if (!err) ct->len += pt_len + MLS_AEAD_TAG_LEN;
    mls_hpke_ctx_free(c);
    return err;
}

sp_err mls_decrypt_with_label_kp(const uint8_t priv[MLS_KEM_PRIV_LEN], const uint8_t *pub,
                                 const char *label, const uint8_t *context, size_t context_len,
                                 const uint8_t kem_output[MLS_KEM_PUB_LEN], const uint8_t *ct,
                                 size_t ct_len, sp_buf *pt)
{
    if (!priv || !label || (!context && context_len) || !kem_output || !ct || !pt)
        return SP_ERR_INVALID;
    if (ct_len < MLS_AEAD_TAG_LEN) return SP_ERR_CRYPTO;
    size_t n = ct_len - MLS_AEAD_TAG_LEN;
    sp_buf info = SP_BUF_INIT;
    sp_err err = encrypt_context(&info, label, context, context_len);
    /* reserve one extra byte so an empty plaintext still has a valid pointer */
    if (!err) err = sp_buf_reserve(pt, n + 1);
    if (!err)
        err = mls_hpke_open_base_kp(kem_output, priv, pub, info.data, info.len, NULL, 0, ct,
                                    ct_len, pt->data + pt->len);
    if (!err) pt->len += n;
    sp_buf_free(&info);
    return err;
}

sp_err mls_decrypt_with_label(const uint8_t priv[MLS_KEM_PRIV_LEN], const char *label,
                              const uint8_t *context, size_t context_len,
                              const uint8_t kem_output[MLS_KEM_PUB_LEN], const uint8_t *ct,
                              size_t ct_len, sp_buf *pt)
{
    return mls_decrypt_with_label_kp(priv, NULL, label, context, context_len, kem_output, ct,
                                     ct_len, pt);
}
