/* crypto.c — suite 0x0001 primitives on OpenSSL 3.0 EVP. See crypto.h. */
#include "mls/crypto.h"

/* The low-level SHA-256 calls are deprecated in OpenSSL 3.0 but still the same
 * code the default provider runs; for the 1-3 block inputs of HMAC/HKDF they
 * cost half of an EVP digest (no context allocation, no provider dispatch), and
 * their state can live on the stack and be wiped there. */
#define OPENSSL_SUPPRESS_DEPRECATED

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

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
    if (!data && len) return SP_ERR_INVALID;
    SHA256_CTX c;
    int ok = SHA256_Init(&c) == 1 && (!len || SHA256_Update(&c, data, len) == 1) &&
             SHA256_Final(out, &c) == 1;
    mls_wipe(&c, sizeof c);
    return ok ? SP_OK : SP_ERR_INTERNAL;
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

/* An HMAC key with its padded blocks already absorbed (RFC 2104): each MAC
 * under it then costs the hashing of the data plus two compressions, and a
 * key used several times (an HKDF PRK expanded for several labels or blocks)
 * is padded and absorbed once. Secret: wipe with mls_wipe. */
typedef struct {
    SHA256_CTX inner, outer;
} hmac_key;

/* A piece of a MAC's input; the input is the pieces in order. */
typedef struct {
    const void *p;
    size_t n;
} piece;

static sp_err hmac_key_init(hmac_key *h, const uint8_t *key, size_t key_len)
{
    uint8_t k[SHA256_BLOCK], pad[SHA256_BLOCK];
    sp_err err = SP_OK;
    memset(k, 0, sizeof k);
    if (key_len > SHA256_BLOCK) err = mls_hash(key, key_len, k);
    else if (key_len) memcpy(k, key, key_len);
    for (int i = 0; i < SHA256_BLOCK; i++) pad[i] = k[i] ^ 0x36;
    if (!err && (SHA256_Init(&h->inner) != 1 || SHA256_Update(&h->inner, pad, sizeof pad) != 1))
        err = SP_ERR_INTERNAL;
    for (int i = 0; i < SHA256_BLOCK; i++) pad[i] = k[i] ^ 0x5c;
    if (!err && (SHA256_Init(&h->outer) != 1 || SHA256_Update(&h->outer, pad, sizeof pad) != 1))
        err = SP_ERR_INTERNAL;
    mls_wipe(k, sizeof k);
    mls_wipe(pad, sizeof pad);
    if (err) mls_wipe(h, sizeof *h);
    return err;
}

/* out may alias any piece. */
static sp_err hmac_pieces(const hmac_key *h, const piece *in, size_t n_in,
                          uint8_t out[MLS_HASH_LEN])
{
    SHA256_CTX c = h->inner;
    uint8_t inner[MLS_HASH_LEN];
    int ok = 1;
    for (size_t i = 0; ok && i < n_in; i++)
        if (in[i].n) ok = SHA256_Update(&c, in[i].p, in[i].n) == 1;
    ok = ok && SHA256_Final(inner, &c) == 1;
    c = h->outer;
    ok = ok && SHA256_Update(&c, inner, sizeof inner) == 1 && SHA256_Final(out, &c) == 1;
    mls_wipe(&c, sizeof c);
    mls_wipe(inner, sizeof inner);
    return ok ? SP_OK : SP_ERR_INTERNAL;
}

sp_err mls_hmac(const uint8_t *key, size_t key_len, const uint8_t *data, size_t len,
                uint8_t out[MLS_HASH_LEN])
{
    if ((!key && key_len) || (!data && len)) return SP_ERR_INVALID;
    hmac_key h;
    piece in = {data, len};
    sp_err err = hmac_key_init(&h, key, key_len);
    if (!err) err = hmac_pieces(&h, &in, 1, out);
    mls_wipe(&h, sizeof h);
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

#define MAX_INFO_PIECES 8

/* HKDF-Expand with the info given in pieces (so callers need not build it in
 * a buffer): T(i) = HMAC(prk, T(i-1) || info || i). */
static sp_err hkdf_expand_pieces(const hmac_key *prk, const piece *info, size_t n_info,
                                 uint8_t *out, size_t out_len)
{
    if (out_len > 255 * MLS_HASH_LEN || n_info > MAX_INFO_PIECES) return SP_ERR_INVALID;
    piece in[MAX_INFO_PIECES + 2];
    uint8_t t[MLS_HASH_LEN], ctr = 0;
    size_t done = 0;
    sp_err err = SP_OK;
    in[0].p = t;
    in[0].n = 0;
    memcpy(in + 1, info, n_info * sizeof *info);
    in[n_info + 1].p = &ctr;
    in[n_info + 1].n = 1;
    while (!err && done < out_len) {
        ctr++;
        err = hmac_pieces(prk, in, n_info + 2, t);
        in[0].n = MLS_HASH_LEN;
        size_t n = out_len - done < MLS_HASH_LEN ? out_len - done : MLS_HASH_LEN;
        if (!err) memcpy(out + done, t, n);
        done += n;
    }
    mls_wipe(t, sizeof t);
    if (err) mls_wipe(out, out_len);
    return err;
}

sp_err mls_hkdf_expand(const uint8_t *prk, size_t prk_len, const uint8_t *info, size_t info_len,
                       uint8_t *out, size_t out_len)
{
    if (out_len > 255 * MLS_HASH_LEN || (!out && out_len) || (!info && info_len) ||
        (!prk && prk_len))
        return SP_ERR_INVALID;
    if (!out_len) return SP_OK;
    hmac_key h;
    piece in = {info, info_len};
    sp_err err = hmac_key_init(&h, prk, prk_len);
    if (!err) err = hkdf_expand_pieces(&h, &in, 1, out, out_len);
    mls_wipe(&h, sizeof h);
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

/* The varint length prefix of §2.1.2 into out[4] (the same bytes as
 * mls_put_varint writes); returns its size, 0 when v is too large. Used where
 * a KDFLabel is fed to HMAC in pieces instead of being built in an sp_buf. */
static size_t varint_bytes(uint64_t v, uint8_t out[4])
{
    if (v > MLS_VARINT_MAX) return 0;
    if (v < 0x40) {
        out[0] = (uint8_t)v;
        return 1;
    }
    if (v < 0x4000) {
        out[0] = (uint8_t)(0x40 | (v >> 8));
        out[1] = (uint8_t)v;
        return 2;
    }
    out[0] = (uint8_t)(0x80 | (v >> 24));
    out[1] = (uint8_t)(v >> 16);
    out[2] = (uint8_t)(v >> 8);
    out[3] = (uint8_t)v;
    return 4;
}

/* ExpandWithLabel with the secret already keyed. The KDFLabel
 * {uint16 length; opaque "MLS 1.0 "+label<V>; opaque context<V>} of the
 * short labels and contexts of the hot paths (ratchet steps, sender data) is
 * assembled on the stack, with the HKDF counter byte after it, so a one-block
 * output is a single HMAC over one buffer; longer ones go to HKDF-Expand in
 * pieces, with nothing allocated or copied. */
#define KDF_LABEL_STACK 192

static sp_err expand_label_keyed(const hmac_key *h, const uint8_t *label, size_t label_len,
                                 const uint8_t *context, size_t context_len, uint8_t *out,
                                 uint16_t out_len)
{
    size_t plen = sizeof MLS_LABEL_PREFIX - 1;
    uint8_t len16[2] = {(uint8_t)(out_len >> 8), (uint8_t)out_len}, lv[4], cv[4];
    if (label_len > MLS_VARINT_MAX - plen) return SP_ERR_TOO_LARGE;
    size_t lvn = varint_bytes(plen + label_len, lv), cvn = varint_bytes(context_len, cv);
    if (!lvn || !cvn) return SP_ERR_TOO_LARGE;
    piece info[6] = {
        {len16, 2}, {lv, lvn}, {MLS_LABEL_PREFIX, plen}, {label, label_len}, {cv, cvn},
        {context, context_len},
    };
    size_t total = 0;
    for (int i = 0; i < 6; i++) total += info[i].n;
    if (out_len == 0 || out_len > MLS_HASH_LEN || total + 1 > KDF_LABEL_STACK)
        return hkdf_expand_pieces(h, info, 6, out, out_len);

    /* T(1) = HMAC(prk, info || 0x01), truncated to out_len */
    uint8_t buf[KDF_LABEL_STACK], t[MLS_HASH_LEN];
    size_t at = 0;
    for (int i = 0; i < 6; i++) {
        if (info[i].n) memcpy(buf + at, info[i].p, info[i].n);
        at += info[i].n;
    }
    buf[at++] = 1;
    piece one = {buf, at};
    sp_err err = hmac_pieces(h, &one, 1, t);
    if (!err) memcpy(out, t, out_len);
    else mls_wipe(out, out_len);
    mls_wipe(t, sizeof t);
    /* the context may be secret-derived: callers should not have to know */
    mls_wipe(buf, at);
    return err;
}

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
    if (!secret || (!label && label_len) || (!context && context_len) || (!out && out_len))
        return SP_ERR_INVALID;
    hmac_key h;
    sp_err err = hmac_key_init(&h, secret, MLS_HASH_LEN);
    if (!err) err = expand_label_keyed(&h, label, label_len, context, context_len, out, out_len);
    mls_wipe(&h, sizeof h);
    return err;
}

sp_err mls_expand_with_labels(const uint8_t secret[MLS_HASH_LEN], const uint8_t *context,
                              size_t context_len, const mls_label_out *outs, size_t n)
{
    if (!secret || (!context && context_len) || (!outs && n)) return SP_ERR_INVALID;
    for (size_t i = 0; i < n; i++)
        if (!outs[i].label || (!outs[i].out && outs[i].len)) return SP_ERR_INVALID;
    hmac_key h;
    sp_err err = hmac_key_init(&h, secret, MLS_HASH_LEN);
    for (size_t i = 0; !err && i < n; i++)
        err = expand_label_keyed(&h, (const uint8_t *)outs[i].label, strlen(outs[i].label),
                                 context, context_len, outs[i].out, outs[i].len);
    mls_wipe(&h, sizeof h);
    if (err)
        for (size_t i = 0; i < n; i++) mls_wipe(outs[i].out, outs[i].len);
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

/* ---- per-thread OpenSSL objects ------------------------------------------------ */

/* Setting up an OpenSSL 3.0 signature operation (EVP_PKEY from raw bytes,
 * EVP_DigestVerifyInit) fetches algorithms by name under a lock and allocates
 * several objects: a few microseconds, a tenth of an Ed25519 verification. A
 * receiver verifies the same few senders again and again, so each thread keeps
 * its last VK_SLOTS verification keys ready (public keys only: nothing secret
 * is cached), evicting the least recently used. The state is freed when the
 * thread exits, or by mls_crypto_thread_cleanup. */
#define VK_SLOTS 32

typedef struct {
    uint8_t pub[MLS_SIG_PUB_LEN];
    EVP_PKEY *pkey;
    EVP_MD_CTX *md; /* EVP_DigestVerifyInit'ed with pkey */
    uint64_t last;  /* tick of the last use; 0: empty slot */
    uint32_t uses;  /* verifications done with md since its init */
} vk_slot;

typedef struct {
    vk_slot vk[VK_SLOTS];
    uint64_t tick;
    EVP_PKEY_CTX *x25519_load; /* EVP_PKEY_fromdata_init'ed for X25519; no key in it */
} thread_state;

static __thread thread_state *t_state;
static pthread_key_t state_key;
static pthread_once_t state_once = PTHREAD_ONCE_INIT;
static int state_key_ok;

static void vk_slot_clear(vk_slot *v)
{
    EVP_MD_CTX_free(v->md);
    EVP_PKEY_free(v->pkey);
    memset(v, 0, sizeof *v);
}

static void state_free(void *p)
{
    thread_state *s = p;
    if (!s) return;
    for (int i = 0; i < VK_SLOTS; i++) vk_slot_clear(&s->vk[i]);
    EVP_PKEY_CTX_free(s->x25519_load);
    free(s);
    if (t_state == s) t_state = NULL;
}

static void state_key_init(void) { state_key_ok = pthread_key_create(&state_key, state_free) == 0; }

/* This thread's state, created on first use; NULL when that fails (callers
 * then take the uncached path). */
static thread_state *tstate(void)
{
    if (t_state) return t_state;
    pthread_once(&state_once, state_key_init);
    if (!state_key_ok) return NULL;
    thread_state *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    if (pthread_setspecific(state_key, s) != 0) {
        free(s);
        return NULL;
    }
    t_state = s;
    return s;
}

void mls_crypto_thread_cleanup(void)
{
    if (!t_state) return;
    thread_state *s = t_state;
    pthread_once(&state_once, state_key_init);
    if (state_key_ok) pthread_setspecific(state_key, NULL);
    state_free(s);
}

/* ---- Ed25519 ---------------------------------------------------------------- */

/* The signer keeps one EVP_MD_CTX initialised for signing and reuses it
 * (EVP_DigestSign on Ed25519 is one-shot and leaves the context ready for the
 * next message): EVP_DigestSignInit per signature was 15% of protecting a
 * message. The context is guarded by a mutex that is only tried: a thread that
 * finds it taken signs with a fresh context, so a shared signer never blocks. */
struct mls_signer {
    EVP_PKEY *pkey;
    uint8_t pub[MLS_SIG_PUB_LEN];
    pthread_mutex_t lock; /* guards md and md_uses */
    EVP_MD_CTX *md;       /* NULL until the first signature */
    uint32_t md_uses;
};

sp_err mls_signer_new(const uint8_t priv[MLS_SIG_PRIV_LEN], mls_signer **out)
{
    *out = NULL;
    if (!priv) return SP_ERR_INVALID;
    mls_signer *s = calloc(1, sizeof *s);
    if (!s) return SP_ERR_NOMEM;
    if (pthread_mutex_init(&s->lock, NULL) != 0) {
        free(s);
        return SP_ERR_INTERNAL;
    }
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
    EVP_MD_CTX_free(s->md);
    EVP_PKEY_free(s->pkey); /* OpenSSL clears ECX private keys on free */
    pthread_mutex_destroy(&s->lock);
    free(s);
}

sp_err mls_signer_dup(const mls_signer *s, mls_signer **out)
{
    *out = NULL;
    if (!s) return SP_ERR_INVALID;
    mls_signer *d = calloc(1, sizeof *d);
    if (!d) return SP_ERR_NOMEM;
    if (pthread_mutex_init(&d->lock, NULL) != 0) {
        free(d);
        return SP_ERR_INTERNAL;
    }
    /* the key is only read once loaded (mls_sign already uses it from
     * several threads), so both signers can hold a reference */
    if (EVP_PKEY_up_ref(s->pkey) != 1) {
        mls_signer_free(d);
        return SP_ERR_INTERNAL;
    }
    d->pkey = s->pkey;
    memcpy(d->pub, s->pub, sizeof d->pub);
    *out = d;
    return SP_OK;
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

/* One Ed25519 signature with *mdp, which is created and initialised when
 * NULL. A context that has signed before and now fails is re-initialised and
 * tried once more, in case an OpenSSL version refuses reuse. */
static sp_err sign_with(EVP_MD_CTX **mdp, uint32_t *uses, EVP_PKEY *pkey, const uint8_t *msg,
                        size_t len, uint8_t sig[MLS_SIG_LEN])
{
    const uint8_t *m = msg ? msg : (const uint8_t *)"";
    for (int attempt = 0; attempt < 2; attempt++) {
        if (!*mdp || attempt) {
            if (!*mdp && !(*mdp = EVP_MD_CTX_new())) return SP_ERR_NOMEM;
            *uses = 0;
            if (EVP_DigestSignInit(*mdp, NULL, NULL, NULL, pkey) != 1) break;
        }
        size_t slen = MLS_SIG_LEN;
        if (EVP_DigestSign(*mdp, sig, &slen, m, len) == 1 && slen == MLS_SIG_LEN) {
            (*uses)++;
            return SP_OK;
        }
        if (!*uses) break;
    }
    EVP_MD_CTX_free(*mdp);
    *mdp = NULL;
    return SP_ERR_INTERNAL;
}

sp_err mls_sign(const mls_signer *s, const uint8_t *msg, size_t len, uint8_t sig[MLS_SIG_LEN])
{
    if (!s || (!msg && len)) return SP_ERR_INVALID;
    /* The cached context is not part of the signer's value: taking it is
     * allowed through the const pointer. */
    mls_signer *w = (mls_signer *)s;
    if (pthread_mutex_trylock(&w->lock) == 0) {
        sp_err err = sign_with(&w->md, &w->md_uses, w->pkey, msg, len, sig);
        pthread_mutex_unlock(&w->lock);
        return err;
    }
    EVP_MD_CTX *md = NULL;
    uint32_t uses = 0;
    sp_err err = sign_with(&md, &uses, s->pkey, msg, len, sig);
    EVP_MD_CTX_free(md);
    return err;
}

/* Verification with fresh objects, as when no cache slot is available. */
static sp_err verify_uncached(const uint8_t pub[MLS_SIG_PUB_LEN], const uint8_t *msg, size_t len,
                              const uint8_t *sig, size_t sig_len)
{
    EVP_PKEY *pk = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, pub, MLS_SIG_PUB_LEN);
    if (!pk) return SP_ERR_CRYPTO;
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    sp_err err = SP_ERR_NOMEM;
    if (c) {
        err = SP_ERR_INTERNAL;
        if (EVP_DigestVerifyInit(c, NULL, NULL, NULL, pk) == 1)
            err = EVP_DigestVerify(c, sig, sig_len, msg, len) == 1 ? SP_OK : SP_ERR_CRYPTO;
    }
    EVP_MD_CTX_free(c);
    EVP_PKEY_free(pk);
    return err;
}

/* The slot holding pub, or the least recently used one, emptied. */
static vk_slot *vk_find(thread_state *ts, const uint8_t pub[MLS_SIG_PUB_LEN])
{
    vk_slot *victim = &ts->vk[0];
    for (int i = 0; i < VK_SLOTS; i++) {
        vk_slot *v = &ts->vk[i];
        if (v->last && memcmp(v->pub, pub, MLS_SIG_PUB_LEN) == 0) return v;
        if (v->last < victim->last) victim = v;
    }
    vk_slot_clear(victim);
    return victim;
}

sp_err mls_verify(const uint8_t pub[MLS_SIG_PUB_LEN], const uint8_t *msg, size_t len,
                  const uint8_t *sig, size_t sig_len)
{
    if (!pub || (!msg && len) || !sig) return SP_ERR_INVALID;
    if (sig_len != MLS_SIG_LEN) return SP_ERR_CRYPTO;
    const uint8_t *m = msg ? msg : (const uint8_t *)"";
    thread_state *ts = tstate();
    if (!ts) return verify_uncached(pub, m, len, sig, sig_len);
    vk_slot *v = vk_find(ts, pub);
    if (!v->last) {
        v->pkey = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, pub, MLS_SIG_PUB_LEN);
        if (!v->pkey) return SP_ERR_CRYPTO;
        memcpy(v->pub, pub, MLS_SIG_PUB_LEN);
    }
    v->last = ++ts->tick;
    /* As in sign_with: a reused context that fails is re-initialised and
     * asked again, so a refusal to reuse is never taken for a bad signature. */
    for (int attempt = 0; attempt < 2; attempt++) {
        if (!v->md || attempt) {
            if (!v->md && !(v->md = EVP_MD_CTX_new())) return SP_ERR_NOMEM;
            v->uses = 0;
            if (EVP_DigestVerifyInit(v->md, NULL, NULL, NULL, v->pkey) != 1) {
                vk_slot_clear(v);
                return SP_ERR_INTERNAL;
            }
        }
        if (EVP_DigestVerify(v->md, sig, sig_len, m, len) == 1) {
            v->uses++;
            return SP_OK;
        }
        if (!v->uses) break;
    }
    /* A context that has failed is not trusted for the next message. */
    EVP_MD_CTX_free(v->md);
    v->md = NULL;
    return SP_ERR_CRYPTO;
}

sp_err mls_put_sign_label(sp_buf *b, const char *label)
{
    if (!b || !label) return SP_ERR_INVALID;
    return put_label(b, label);
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

/* Every X25519 operation loads keys from bytes; EVP_PKEY_CTX_new_from_name
 * looks the key manager up by name each time, so each thread keeps one
 * context ready for EVP_PKEY_fromdata (it holds no key material). pub may be
 * NULL when priv is given: the provider then derives the public half on
 * import, as EVP_PKEY_new_raw_private_key does, without its lookup by name. */
static EVP_PKEY *x25519_fromdata(const uint8_t *priv, const uint8_t pub[MLS_KEM_PUB_LEN])
{
    EVP_PKEY *k = NULL;
    OSSL_PARAM ps[3], *p = ps;
    if (priv)
        *p++ = OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PRIV_KEY, (void *)priv,
                                                 MLS_KEM_PRIV_LEN);
    if (pub)
        *p++ = OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, (void *)pub,
                                                 MLS_KEM_PUB_LEN);
    *p = OSSL_PARAM_construct_end();
    int sel = priv ? EVP_PKEY_KEYPAIR : EVP_PKEY_PUBLIC_KEY;
    thread_state *ts = tstate();
    if (ts && !ts->x25519_load) {
        ts->x25519_load = EVP_PKEY_CTX_new_from_name(NULL, "X25519", NULL);
        if (ts->x25519_load && EVP_PKEY_fromdata_init(ts->x25519_load) != 1) {
            EVP_PKEY_CTX_free(ts->x25519_load);
            ts->x25519_load = NULL;
        }
    }
    if (ts && ts->x25519_load) {
        if (EVP_PKEY_fromdata(ts->x25519_load, &k, sel, ps) == 1) return k;
        /* a refused reuse or a bad key: try the plain way before failing */
        EVP_PKEY_CTX_free(ts->x25519_load);
        ts->x25519_load = NULL;
        k = NULL;
    }
    EVP_PKEY_CTX *c = EVP_PKEY_CTX_new_from_name(NULL, "X25519", NULL);
    if (c && EVP_PKEY_fromdata_init(c) == 1) EVP_PKEY_fromdata(c, &k, sel, ps);
    EVP_PKEY_CTX_free(c);
    return k;
}

sp_err mls_x25519_pub(const uint8_t priv[MLS_KEM_PRIV_LEN], uint8_t pub[MLS_KEM_PUB_LEN])
{
    if (!priv || !pub) return SP_ERR_INVALID;
    EVP_PKEY *k = x25519_fromdata(priv, NULL);
    size_t plen = MLS_KEM_PUB_LEN;
    sp_err err = (k && EVP_PKEY_get_raw_public_key(k, pub, &plen) == 1 && plen == MLS_KEM_PUB_LEN)
                     ? SP_OK
                     : SP_ERR_INTERNAL;
    EVP_PKEY_free(k);
    return err;
}

static sp_err x25519_derive(EVP_PKEY *k, const uint8_t peer_pub[MLS_KEM_PUB_LEN],
                            uint8_t shared[MLS_KEM_SECRET_LEN]);

sp_err mls_x25519(const uint8_t priv[MLS_KEM_PRIV_LEN], const uint8_t peer_pub[MLS_KEM_PUB_LEN],
                  uint8_t shared[MLS_KEM_SECRET_LEN])
{
    if (!priv || !peer_pub || !shared) return SP_ERR_INVALID;
    EVP_PKEY *k = x25519_fromdata(priv, NULL);
    sp_err err = x25519_derive(k, peer_pub, shared);
    EVP_PKEY_free(k);
    return err;
}

sp_err mls_x25519_pub_dh(const uint8_t priv[MLS_KEM_PRIV_LEN],
                         const uint8_t peer_pub[MLS_KEM_PUB_LEN], uint8_t pub[MLS_KEM_PUB_LEN],
                         uint8_t shared[MLS_KEM_SECRET_LEN])
{
    if (!priv || !peer_pub || !pub || !shared) return SP_ERR_INVALID;
    EVP_PKEY *k = x25519_fromdata(priv, NULL);
    size_t plen = MLS_KEM_PUB_LEN;
    if (!k || EVP_PKEY_get_raw_public_key(k, pub, &plen) != 1 || plen != MLS_KEM_PUB_LEN) {
        EVP_PKEY_free(k);
        return SP_ERR_INTERNAL;
    }
    sp_err err = x25519_derive(k, peer_pub, shared);
    EVP_PKEY_free(k);
    return err;
}

sp_err mls_x25519_kp(const uint8_t priv[MLS_KEM_PRIV_LEN], const uint8_t pub[MLS_KEM_PUB_LEN],
                     const uint8_t peer_pub[MLS_KEM_PUB_LEN], uint8_t shared[MLS_KEM_SECRET_LEN])
{
    if (!priv || !pub || !peer_pub || !shared) return SP_ERR_INVALID;
    /* Loading the pair whole skips the scalar multiplication that
     * EVP_PKEY_new_raw_private_key does to derive the public half. */
    EVP_PKEY *k = x25519_fromdata(priv, pub);
    sp_err err = x25519_derive(k, peer_pub, shared);
    EVP_PKEY_free(k);
    return err;
}

/* Derives with k (NULL: the load failed) and the peer's public key. */
static sp_err x25519_derive(EVP_PKEY *k, const uint8_t peer_pub[MLS_KEM_PUB_LEN],
                            uint8_t shared[MLS_KEM_SECRET_LEN])
{
    sp_err err = SP_ERR_INTERNAL;
    EVP_PKEY *p = x25519_fromdata(NULL, peer_pub);
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
