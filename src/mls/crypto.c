/* crypto.c — suite 0x0001 primitives on OpenSSL 3.0 EVP. See crypto.h. */
#include "mls/crypto.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "mls/tls.h"

/* Fetching an algorithm in OpenSSL 3.0 is a locked name lookup; doing it once
 * per process instead of once per call is most of what makes HMAC cheap. */
static pthread_once_t fetch_once = PTHREAD_ONCE_INIT;
static EVP_MD *g_sha256;
static EVP_CIPHER *g_aes128gcm;

static void fetch_algs(void)
{
    g_sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
    g_aes128gcm = EVP_CIPHER_fetch(NULL, "AES-128-GCM", NULL);
}

static const EVP_MD *sha256(void)
{
    pthread_once(&fetch_once, fetch_algs);
    return g_sha256;
}

static const EVP_CIPHER *aes128gcm(void)
{
    pthread_once(&fetch_once, fetch_algs);
    return g_aes128gcm;
}

void mls_wipe(void *p, size_t n)
{
    if (p && n) OPENSSL_cleanse(p, n);
}

int mls_ct_equal(const uint8_t *a, const uint8_t *b, size_t n)
{
    return CRYPTO_memcmp(a, b, n) == 0;
}

/* ---- randomness ------------------------------------------------------------- */

sp_err mls_rand_system(void *ctx, uint8_t *out, size_t n)
{
    (void)ctx;
    if (n > 0x7fffffff) return SP_ERR_INVALID;
    return RAND_bytes(out, (int)n) == 1 ? SP_OK : SP_ERR_INTERNAL;
}

sp_err mls_rand_bytes(const mls_rand *r, uint8_t *out, size_t n)
{
    if (!out && n) return SP_ERR_INVALID;
    if (!r || !r->fn) return mls_rand_system(NULL, out, n);
    return r->fn(r->ctx, out, n);
}

/* ---- hash ------------------------------------------------------------------- */

struct mls_hash_ctx {
    EVP_MD_CTX *md;
};

sp_err mls_hash(const uint8_t *data, size_t len, uint8_t out[MLS_HASH_LEN])
{
    const EVP_MD *md = sha256();
    unsigned int olen = 0;
    if (!md) return SP_ERR_INTERNAL;
    if (!data && len) return SP_ERR_INVALID;
    return EVP_Digest(data ? (const void *)data : (const void *)"", len, out, &olen, md, NULL) == 1
               ? SP_OK
               : SP_ERR_INTERNAL;
}

sp_err mls_hash_new(mls_hash_ctx **out)
{
    *out = NULL;
    mls_hash_ctx *h = calloc(1, sizeof *h);
    if (!h) return SP_ERR_NOMEM;
    h->md = EVP_MD_CTX_new();
    if (!h->md) {
        free(h);
        return SP_ERR_NOMEM;
    }
    if (mls_hash_reset(h) != SP_OK) {
        mls_hash_free(h);
        return SP_ERR_INTERNAL;
    }
    *out = h;
    return SP_OK;
}

sp_err mls_hash_reset(mls_hash_ctx *h)
{
    const EVP_MD *md = sha256();
    if (!md) return SP_ERR_INTERNAL;
    return EVP_DigestInit_ex2(h->md, md, NULL) == 1 ? SP_OK : SP_ERR_INTERNAL;
}

sp_err mls_hash_update(mls_hash_ctx *h, const uint8_t *data, size_t len)
{
    if (!len) return SP_OK;
    return EVP_DigestUpdate(h->md, data, len) == 1 ? SP_OK : SP_ERR_INTERNAL;
}

sp_err mls_hash_final(mls_hash_ctx *h, uint8_t out[MLS_HASH_LEN])
{
    unsigned int olen = 0;
    return EVP_DigestFinal_ex(h->md, out, &olen) == 1 ? SP_OK : SP_ERR_INTERNAL;
}

void mls_hash_free(mls_hash_ctx *h)
{
    if (!h) return;
    EVP_MD_CTX_free(h->md);
    free(h);
}

/* ---- HMAC ------------------------------------------------------------------- */

#define SHA256_BLOCK 64

/* HMAC written out over the pre-fetched digest (RFC 2104): EVP_MAC would
 * fetch SHA-256 again on every init, which costs more than the hashing of
 * the short inputs MLS feeds it. */
sp_err mls_hmac(const uint8_t *key, size_t key_len, const uint8_t *data, size_t len,
                uint8_t out[MLS_HASH_LEN])
{
    const EVP_MD *md = sha256();
    uint8_t k[SHA256_BLOCK], pad[SHA256_BLOCK], inner[MLS_HASH_LEN];
    unsigned int olen = 0;
    sp_err err = SP_ERR_INTERNAL;
    if (!md) return SP_ERR_INTERNAL;
    if ((!key && key_len) || (!data && len)) return SP_ERR_INVALID;

    memset(k, 0, sizeof k);
    if (key_len > SHA256_BLOCK) {
        if (mls_hash(key, key_len, k) != SP_OK) return SP_ERR_INTERNAL;
    } else if (key_len) {
        memcpy(k, key, key_len);
    }
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    if (!c) {
        mls_wipe(k, sizeof k);
        return SP_ERR_NOMEM;
    }
    for (int i = 0; i < SHA256_BLOCK; i++) pad[i] = k[i] ^ 0x36;
    if (EVP_DigestInit_ex2(c, md, NULL) != 1 || EVP_DigestUpdate(c, pad, sizeof pad) != 1 ||
        (len && EVP_DigestUpdate(c, data, len) != 1) || EVP_DigestFinal_ex(c, inner, &olen) != 1)
        goto done;
    for (int i = 0; i < SHA256_BLOCK; i++) pad[i] = k[i] ^ 0x5c;
    if (EVP_DigestInit_ex2(c, md, NULL) != 1 || EVP_DigestUpdate(c, pad, sizeof pad) != 1 ||
        EVP_DigestUpdate(c, inner, sizeof inner) != 1 || EVP_DigestFinal_ex(c, out, &olen) != 1)
        goto done;
    err = SP_OK;
done:
    EVP_MD_CTX_free(c);
    mls_wipe(k, sizeof k);
    mls_wipe(pad, sizeof pad);
    mls_wipe(inner, sizeof inner);
    return err;
}

/* ---- HKDF ------------------------------------------------------------------- */

sp_err mls_hkdf_extract(const uint8_t *salt, size_t salt_len, const uint8_t *ikm, size_t ikm_len,
                        uint8_t prk[MLS_HASH_LEN])
{
    static const uint8_t zeros[MLS_HASH_LEN];
    if (!salt_len) {
        salt = zeros;
        salt_len = sizeof zeros;
    }
    return mls_hmac(salt, salt_len, ikm, ikm_len, prk);
}

sp_err mls_hkdf_expand(const uint8_t *prk, size_t prk_len, const uint8_t *info, size_t info_len,
                       uint8_t *out, size_t out_len)
{
    if (out_len > 255 * MLS_HASH_LEN || (!out && out_len) || (!info && info_len))
        return SP_ERR_INVALID;
    if (info_len > SIZE_MAX - MLS_HASH_LEN - 1) return SP_ERR_TOO_LARGE;
    if (!out_len) return SP_OK;
    /* T(i) = HMAC(prk, T(i-1) || info || i); short infos go on the stack. */
    uint8_t stackbuf[256];
    uint8_t *msg = stackbuf;
    size_t cap = MLS_HASH_LEN + info_len + 1;
    if (cap > sizeof stackbuf) {
        msg = malloc(cap);
        if (!msg) return SP_ERR_NOMEM;
    }
    uint8_t t[MLS_HASH_LEN];
    size_t done = 0, tlen = 0;
    sp_err err = SP_OK;
    for (uint8_t i = 1; done < out_len; i++) {
        if (tlen) memcpy(msg, t, tlen);
        if (info_len) memcpy(msg + tlen, info, info_len);
        msg[tlen + info_len] = i;
        err = mls_hmac(prk, prk_len, msg, tlen + info_len + 1, t);
        if (err) break;
        tlen = MLS_HASH_LEN;
        size_t n = out_len - done < MLS_HASH_LEN ? out_len - done : MLS_HASH_LEN;
        memcpy(out + done, t, n);
        done += n;
    }
    mls_wipe(t, sizeof t);
    mls_wipe(msg, cap < sizeof stackbuf ? cap : sizeof stackbuf);
    if (msg != stackbuf) {
        mls_wipe(msg, cap);
        free(msg);
    }
    if (err) mls_wipe(out, out_len);
    return err;
}

/* ---- labelled derivations ------------------------------------------------- */

#define MLS_LABEL_PREFIX "MLS 1.0 "

/* Writes opaque ("MLS 1.0 " + label)<V>. */
static sp_err put_label_n(sp_buf *b, const void *label, size_t llen)
{
    size_t plen = sizeof MLS_LABEL_PREFIX - 1;
    if (llen > MLS_VARINT_MAX - plen) return SP_ERR_TOO_LARGE;
    sp_err err = mls_put_varint(b, plen + llen);
    if (!err) err = sp_buf_append(b, MLS_LABEL_PREFIX, plen);
    if (!err && llen) err = sp_buf_append(b, label, llen);
    return err;
}

static sp_err put_label(sp_buf *b, const char *label) { return put_label_n(b, label, strlen(label)); }

sp_err mls_expand_with_label(const uint8_t secret[MLS_HASH_LEN], const char *label,
                             const uint8_t *context, size_t context_len, uint8_t *out,
                             uint16_t out_len)
{
    if (!label) return SP_ERR_INVALID;
    return mls_expand_with_label_n(secret, (const uint8_t *)label, strlen(label), context,
                                   context_len, out, out_len);
}

sp_err mls_expand_with_label_n(const uint8_t secret[MLS_HASH_LEN], const uint8_t *label,
                               size_t label_len, const uint8_t *context, size_t context_len,
                               uint8_t *out, uint16_t out_len)
{
    if (!secret || (!label && label_len) || (!context && context_len)) return SP_ERR_INVALID;
    sp_buf info = SP_BUF_INIT;
    sp_err err = sp_buf_put_u16(&info, out_len);
    if (!err) err = put_label_n(&info, label, label_len);
    if (!err) err = mls_put_opaque(&info, context, context_len);
    if (!err) err = mls_hkdf_expand(secret, MLS_HASH_LEN, info.data, info.len, out, out_len);
    /* The context may be secret-derived (e.g. a ciphertext sample is not, but
     * callers should not have to know), so wipe rather than just free. */
    sp_buf_free_secret(&info);
    return err;
}

sp_err mls_derive_secret(const uint8_t secret[MLS_HASH_LEN], const char *label,
                         uint8_t out[MLS_HASH_LEN])
{
    return mls_expand_with_label(secret, label, NULL, 0, out, MLS_HASH_LEN);
}

sp_err mls_derive_tree_secret(const uint8_t secret[MLS_HASH_LEN], const char *label,
                              uint32_t generation, uint8_t *out, uint16_t out_len)
{
    uint8_t ctx[4] = {(uint8_t)(generation >> 24), (uint8_t)(generation >> 16),
                      (uint8_t)(generation >> 8), (uint8_t)generation};
    return mls_expand_with_label(secret, label, ctx, sizeof ctx, out, out_len);
}

sp_err mls_ref_hash(const char *label, const uint8_t *value, size_t len, uint8_t out[MLS_HASH_LEN])
{
    if (!label || (!value && len)) return SP_ERR_INVALID;
    sp_buf b = SP_BUF_INIT;
    sp_err err = mls_put_opaque(&b, label, strlen(label));
    if (!err) err = mls_put_opaque(&b, value, len);
    if (!err) err = mls_hash(b.data, b.len, out);
    sp_buf_free(&b);
    return err;
}

sp_err mls_make_key_package_ref(const uint8_t *value, size_t len, uint8_t out[MLS_HASH_LEN])
{
    return mls_ref_hash("MLS 1.0 KeyPackage Reference", value, len, out);
}

sp_err mls_make_proposal_ref(const uint8_t *value, size_t len, uint8_t out[MLS_HASH_LEN])
{
    return mls_ref_hash("MLS 1.0 Proposal Reference", value, len, out);
}

/* ---- AES-128-GCM ------------------------------------------------------------ */

static int len_ok(size_t n) { return n <= 0x7fffffff; }

sp_err mls_aead_seal(const uint8_t key[MLS_AEAD_KEY_LEN], const uint8_t nonce[MLS_AEAD_NONCE_LEN],
                     const uint8_t *aad, size_t aad_len, const uint8_t *pt, size_t pt_len,
                     uint8_t *ct)
{
    const EVP_CIPHER *cipher = aes128gcm();
    if (!cipher) return SP_ERR_INTERNAL;
    if (!key || !nonce || !ct || (!aad && aad_len) || (!pt && pt_len) || !len_ok(aad_len) ||
        !len_ok(pt_len))
        return SP_ERR_INVALID;
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    if (!c) return SP_ERR_NOMEM;
    int n = 0;
    sp_err err = SP_ERR_INTERNAL;
    if (EVP_EncryptInit_ex2(c, cipher, key, nonce, NULL) != 1) goto done;
    if (aad_len && EVP_EncryptUpdate(c, NULL, &n, aad, (int)aad_len) != 1) goto done;
    if (pt_len && EVP_EncryptUpdate(c, ct, &n, pt, (int)pt_len) != 1) goto done;
    if (EVP_EncryptFinal_ex(c, ct + pt_len, &n) != 1) goto done;
    if (EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_GET_TAG, MLS_AEAD_TAG_LEN, ct + pt_len) != 1) goto done;
    err = SP_OK;
done:
    EVP_CIPHER_CTX_free(c);
    return err;
}

sp_err mls_aead_open(const uint8_t key[MLS_AEAD_KEY_LEN], const uint8_t nonce[MLS_AEAD_NONCE_LEN],
                     const uint8_t *aad, size_t aad_len, const uint8_t *ct, size_t ct_len,
                     uint8_t *pt)
{
    const EVP_CIPHER *cipher = aes128gcm();
    if (!cipher) return SP_ERR_INTERNAL;
    if (!key || !nonce || !ct || (!aad && aad_len) || !len_ok(aad_len) || !len_ok(ct_len))
        return SP_ERR_INVALID;
    if (ct_len < MLS_AEAD_TAG_LEN) return SP_ERR_INVALID;
    size_t pt_len = ct_len - MLS_AEAD_TAG_LEN;
    if (!pt && pt_len) return SP_ERR_INVALID;
    uint8_t tag[MLS_AEAD_TAG_LEN];
    memcpy(tag, ct + pt_len, sizeof tag); /* before an in-place decrypt overwrites nothing of it */
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    if (!c) return SP_ERR_NOMEM;
    int n = 0;
    sp_err err = SP_ERR_INTERNAL;
    if (EVP_DecryptInit_ex2(c, cipher, key, nonce, NULL) != 1) goto done;
    if (aad_len && EVP_DecryptUpdate(c, NULL, &n, aad, (int)aad_len) != 1) goto done;
    if (pt_len && EVP_DecryptUpdate(c, pt, &n, ct, (int)pt_len) != 1) goto done;
    if (EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_SET_TAG, MLS_AEAD_TAG_LEN, tag) != 1) goto done;
    if (EVP_DecryptFinal_ex(c, pt ? pt + pt_len : tag, &n) != 1) {
        if (pt_len) mls_wipe(pt, pt_len);
        err = SP_ERR_CRYPTO;
        goto done;
    }
    err = SP_OK;
done:
    EVP_CIPHER_CTX_free(c);
    return err;
}

/* ---- Ed25519 ---------------------------------------------------------------- */

struct mls_signer {
    EVP_PKEY *pkey;
    uint8_t pub[MLS_SIG_PUB_LEN];
};

sp_err mls_signer_new(const uint8_t priv[MLS_SIG_PRIV_LEN], mls_signer **out)
{
    *out = NULL;
    if (!priv) return SP_ERR_INVALID;
    mls_signer *s = calloc(1, sizeof *s);
    if (!s) return SP_ERR_NOMEM;
    s->pkey = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, priv, MLS_SIG_PRIV_LEN);
    size_t plen = sizeof s->pub;
    if (!s->pkey || EVP_PKEY_get_raw_public_key(s->pkey, s->pub, &plen) != 1 ||
        plen != MLS_SIG_PUB_LEN) {
        mls_signer_free(s);
        return SP_ERR_INTERNAL;
    }
    *out = s;
    return SP_OK;
}

void mls_signer_free(mls_signer *s)
{
    if (!s) return;
    EVP_PKEY_free(s->pkey); /* OpenSSL clears ECX private keys on free */
    free(s);
}

const uint8_t *mls_signer_pub(const mls_signer *s) { return s->pub; }

sp_err mls_sig_pub_from_priv(const uint8_t priv[MLS_SIG_PRIV_LEN], uint8_t pub[MLS_SIG_PUB_LEN])
{
    mls_signer *s;
    sp_err err = mls_signer_new(priv, &s);
    if (err) return err;
    memcpy(pub, s->pub, MLS_SIG_PUB_LEN);
    mls_signer_free(s);
    return SP_OK;
}

sp_err mls_sig_keygen(const mls_rand *rng, uint8_t priv[MLS_SIG_PRIV_LEN],
                      uint8_t pub[MLS_SIG_PUB_LEN])
{
    sp_err err = mls_rand_bytes(rng, priv, MLS_SIG_PRIV_LEN);
    if (!err) err = mls_sig_pub_from_priv(priv, pub);
    if (err) mls_wipe(priv, MLS_SIG_PRIV_LEN);
    return err;
}

sp_err mls_sign(const mls_signer *s, const uint8_t *msg, size_t len, uint8_t sig[MLS_SIG_LEN])
{
    if (!s || (!msg && len)) return SP_ERR_INVALID;
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    if (!c) return SP_ERR_NOMEM;
    size_t slen = MLS_SIG_LEN;
    sp_err err = SP_ERR_INTERNAL;
    if (EVP_DigestSignInit(c, NULL, NULL, NULL, s->pkey) == 1 &&
        EVP_DigestSign(c, sig, &slen, msg ? msg : (const uint8_t *)"", len) == 1 &&
        slen == MLS_SIG_LEN)
        err = SP_OK;
    EVP_MD_CTX_free(c);
    return err;
}

sp_err mls_verify(const uint8_t pub[MLS_SIG_PUB_LEN], const uint8_t *msg, size_t len,
                  const uint8_t *sig, size_t sig_len)
{
    if (!pub || (!msg && len) || !sig) return SP_ERR_INVALID;
    if (sig_len != MLS_SIG_LEN) return SP_ERR_CRYPTO;
    EVP_PKEY *pk = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, pub, MLS_SIG_PUB_LEN);
    if (!pk) return SP_ERR_CRYPTO;
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    sp_err err = SP_ERR_NOMEM;
    if (c) {
        err = SP_ERR_INTERNAL;
        if (EVP_DigestVerifyInit(c, NULL, NULL, NULL, pk) == 1)
            err = EVP_DigestVerify(c, sig, sig_len, msg ? msg : (const uint8_t *)"", len) == 1
                      ? SP_OK
                      : SP_ERR_CRYPTO;
    }
    EVP_MD_CTX_free(c);
    EVP_PKEY_free(pk);
    return err;
}

static sp_err sign_content(sp_buf *b, const char *label, const uint8_t *content, size_t len)
{
    sp_err err = put_label(b, label);
    if (!err) err = mls_put_opaque(b, content, len);
    return err;
}

sp_err mls_sign_with_label(const mls_signer *s, const char *label, const uint8_t *content,
                           size_t len, uint8_t sig[MLS_SIG_LEN])
{
    if (!s || !label || (!content && len)) return SP_ERR_INVALID;
    sp_buf b = SP_BUF_INIT;
    sp_err err = sign_content(&b, label, content, len);
    if (!err) err = mls_sign(s, b.data, b.len, sig);
    sp_buf_free(&b);
    return err;
}

sp_err mls_verify_with_label(const uint8_t pub[MLS_SIG_PUB_LEN], const char *label,
                             const uint8_t *content, size_t len, const uint8_t *sig,
                             size_t sig_len)
{
    if (!pub || !label || (!content && len) || !sig) return SP_ERR_INVALID;
    sp_buf b = SP_BUF_INIT;
    sp_err err = sign_content(&b, label, content, len);
    if (!err) err = mls_verify(pub, b.data, b.len, sig, sig_len);
    sp_buf_free(&b);
    return err;
}

/* ---- X25519 ----------------------------------------------------------------- */

sp_err mls_x25519_pub(const uint8_t priv[MLS_KEM_PRIV_LEN], uint8_t pub[MLS_KEM_PUB_LEN])
{
    if (!priv || !pub) return SP_ERR_INVALID;
    EVP_PKEY *k = EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, NULL, priv, MLS_KEM_PRIV_LEN);
    size_t plen = MLS_KEM_PUB_LEN;
    sp_err err = (k && EVP_PKEY_get_raw_public_key(k, pub, &plen) == 1 && plen == MLS_KEM_PUB_LEN)
                     ? SP_OK
                     : SP_ERR_INTERNAL;
    EVP_PKEY_free(k);
    return err;
}

/* Loads an X25519 key pair without the scalar multiplication that
 * EVP_PKEY_new_raw_private_key does to derive the public half. */
static EVP_PKEY *load_x25519_pair(const uint8_t priv[MLS_KEM_PRIV_LEN],
                                  const uint8_t pub[MLS_KEM_PUB_LEN])
{
    EVP_PKEY *k = NULL;
    EVP_PKEY_CTX *c = EVP_PKEY_CTX_new_from_name(NULL, "X25519", NULL);
    OSSL_PARAM ps[3] = {
        OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PRIV_KEY, (void *)priv, MLS_KEM_PRIV_LEN),
        OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, (void *)pub, MLS_KEM_PUB_LEN),
        OSSL_PARAM_construct_end(),
    };
    if (c && EVP_PKEY_fromdata_init(c) == 1) EVP_PKEY_fromdata(c, &k, EVP_PKEY_KEYPAIR, ps);
    EVP_PKEY_CTX_free(c);
    return k;
}

static sp_err x25519_derive(EVP_PKEY *k, const uint8_t peer_pub[MLS_KEM_PUB_LEN],
                            uint8_t shared[MLS_KEM_SECRET_LEN]);

sp_err mls_x25519(const uint8_t priv[MLS_KEM_PRIV_LEN], const uint8_t peer_pub[MLS_KEM_PUB_LEN],
                  uint8_t shared[MLS_KEM_SECRET_LEN])
{
    if (!priv || !peer_pub || !shared) return SP_ERR_INVALID;
    EVP_PKEY *k = EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, NULL, priv, MLS_KEM_PRIV_LEN);
    sp_err err = x25519_derive(k, peer_pub, shared);
    EVP_PKEY_free(k);
    return err;
}

sp_err mls_x25519_kp(const uint8_t priv[MLS_KEM_PRIV_LEN], const uint8_t pub[MLS_KEM_PUB_LEN],
                     const uint8_t peer_pub[MLS_KEM_PUB_LEN], uint8_t shared[MLS_KEM_SECRET_LEN])
{
    if (!priv || !pub || !peer_pub || !shared) return SP_ERR_INVALID;
    EVP_PKEY *k = load_x25519_pair(priv, pub);
    sp_err err = x25519_derive(k, peer_pub, shared);
    EVP_PKEY_free(k);
    return err;
}

/* Derives with k (NULL: the load failed) and the peer's public key. */
static sp_err x25519_derive(EVP_PKEY *k, const uint8_t peer_pub[MLS_KEM_PUB_LEN],
                            uint8_t shared[MLS_KEM_SECRET_LEN])
{
    sp_err err = SP_ERR_INTERNAL;
    EVP_PKEY *p = EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519, NULL, peer_pub, MLS_KEM_PUB_LEN);
    EVP_PKEY_CTX *c = k ? EVP_PKEY_CTX_new(k, NULL) : NULL;
    size_t slen = MLS_KEM_SECRET_LEN;
    if (!k || !c) goto done;
    if (!p) {
        err = SP_ERR_CRYPTO;
        goto done;
    }
    if (EVP_PKEY_derive_init(c) != 1 || EVP_PKEY_derive_set_peer(c, p) != 1) goto done;
    /* OpenSSL fails the derivation when the result is all zeros (low-order
     * point); that is a bad peer key, not an internal error. */
    if (EVP_PKEY_derive(c, shared, &slen) != 1 || slen != MLS_KEM_SECRET_LEN) {
        mls_wipe(shared, MLS_KEM_SECRET_LEN);
        err = SP_ERR_CRYPTO;
        goto done;
    }
    static const uint8_t zero[MLS_KEM_SECRET_LEN];
    err = mls_ct_equal(shared, zero, sizeof zero) ? SP_ERR_CRYPTO : SP_OK;
done:
    EVP_PKEY_CTX_free(c);
    EVP_PKEY_free(p);
    return err;
}
