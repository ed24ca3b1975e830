/*
 * crypto.h — the cryptographic primitives of MLS cipher suite 0x0001
 * (MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519, RFC 9420 §5.1) on OpenSSL 3.0.
 *
 * This is the only file in mls/ that talks to OpenSSL for hashing, MACs,
 * AEAD and signatures; the rest of mls/ (HPKE, key schedule, secret tree,
 * framing) is built on these functions. Only one suite is implemented, so
 * every size is a compile-time constant and no suite object is passed around.
 *
 * Memory: every function writes into caller-provided buffers of the
 * documented (constant) size, except where an sp_buf is taken, which the
 * caller owns and frees (sp_buf_free_secret when the bytes are secret).
 * Labels are NUL-terminated ASCII; the functions that take a "label" add the
 * "MLS 1.0 " prefix themselves (§5.1.3, §5.2).
 *
 * Randomness: nothing in mls/ calls a global RNG. Functions that need random
 * bytes take an `const mls_rand *`; NULL means mls_rand_system (OpenSSL's
 * DRBG). Test vectors pass a source that replays fixed bytes.
 *
 * Errors: SP_ERR_INVALID for bad arguments (wrong length, NULL), SP_ERR_CRYPTO
 * when a signature, tag or key check fails, SP_ERR_INTERNAL when OpenSSL
 * itself fails, SP_ERR_NOMEM on allocation failure.
 */
#ifndef SP_MLS_CRYPTO_H
#define SP_MLS_CRYPTO_H

#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/err.h"

#define MLS_CIPHER_SUITE 0x0001     /* the only suite implemented */
#define MLS_PROTOCOL_VERSION 0x0001 /* mls10 */

#define MLS_HASH_LEN 32       /* SHA-256 output, also KDF.Nh */
#define MLS_AEAD_KEY_LEN 16   /* AES-128-GCM Nk */
#define MLS_AEAD_NONCE_LEN 12 /* AES-128-GCM Nn */
#define MLS_AEAD_TAG_LEN 16
#define MLS_KEM_PUB_LEN 32    /* X25519 public key, also HPKE enc (Nenc) */
#define MLS_KEM_PRIV_LEN 32   /* X25519 private key (Nsk) */
#define MLS_KEM_SECRET_LEN 32 /* DHKEM shared secret (Nsecret) */
#define MLS_SIG_PUB_LEN 32    /* Ed25519 public key */
#define MLS_SIG_PRIV_LEN 32   /* Ed25519 private key (RFC 8032 seed) */
#define MLS_SIG_LEN 64        /* Ed25519 signature */

/* ---- randomness ---------------------------------------------------------- */

/* Fills out[0..n) with random bytes or fails. */
typedef sp_err (*mls_rand_fn)(void *ctx, uint8_t *out, size_t n);

typedef struct {
    mls_rand_fn fn;
    void *ctx;
} mls_rand;

/* The system source (OpenSSL RAND_bytes); ctx is ignored. */
sp_err mls_rand_system(void *ctx, uint8_t *out, size_t n);
/* Draws n bytes from r, or from the system source when r is NULL. */
sp_err mls_rand_bytes(const mls_rand *r, uint8_t *out, size_t n);

/* ---- hash, MAC, KDF -------------------------------------------------------- */

sp_err mls_hash(const uint8_t *data, size_t len, uint8_t out[MLS_HASH_LEN]);
/* Incremental hashing, for inputs built in pieces (transcript hashes). */
typedef struct mls_hash_ctx mls_hash_ctx;
sp_err mls_hash_new(mls_hash_ctx **out);
sp_err mls_hash_update(mls_hash_ctx *h, const uint8_t *data, size_t len);
/* Writes the digest; h can then be freed (or reused after mls_hash_reset). */
sp_err mls_hash_final(mls_hash_ctx *h, uint8_t out[MLS_HASH_LEN]);
sp_err mls_hash_reset(mls_hash_ctx *h);
void mls_hash_free(mls_hash_ctx *h);

/* HMAC-SHA256 (any key length). out may alias key or data, here and in
 * the HKDF functions. */
sp_err mls_hmac(const uint8_t *key, size_t key_len, const uint8_t *data, size_t len,
                uint8_t out[MLS_HASH_LEN]);
/* Constant-time comparison: 1 when equal. */
int mls_ct_equal(const uint8_t *a, const uint8_t *b, size_t n);

/* HKDF-Extract(salt, ikm) with SHA-256; an empty salt means Nh zero bytes. */
sp_err mls_hkdf_extract(const uint8_t *salt, size_t salt_len, const uint8_t *ikm, size_t ikm_len,
                        uint8_t prk[MLS_HASH_LEN]);
/* HKDF-Expand(prk, info, out_len); out_len <= 255 * MLS_HASH_LEN. */
sp_err mls_hkdf_expand(const uint8_t *prk, size_t prk_len, const uint8_t *info, size_t info_len,
                       uint8_t *out, size_t out_len);

/* ExpandWithLabel(secret, label, context, length) (§8): HKDF-Expand with the
 * KDFLabel {uint16 length; opaque "MLS 1.0 "+label<V>; opaque context<V>}.
 * secret is MLS_HASH_LEN bytes, as every MLS secret is. */
sp_err mls_expand_with_label(const uint8_t secret[MLS_HASH_LEN], const char *label,
                             const uint8_t *context, size_t context_len, uint8_t *out,
                             uint16_t out_len);
/* The same with the label given as bytes (MLS-Exporter's label is opaque). */
sp_err mls_expand_with_label_n(const uint8_t secret[MLS_HASH_LEN], const uint8_t *label,
                               size_t label_len, const uint8_t *context, size_t context_len,
                               uint8_t *out, uint16_t out_len);
/* One request of mls_expand_with_labels: ExpandWithLabel(secret, label,
 * context, len) into out. */
typedef struct {
    const char *label;
    uint8_t *out;
    uint16_t len;
} mls_label_out;
/* Several ExpandWithLabel of one secret over one context (a ratchet
 * generation's key, nonce and next secret; the sender-data key and nonce):
 * the same bytes as separate calls, but the secret's HMAC key is prepared
 * once. On failure every output is wiped. */
sp_err mls_expand_with_labels(const uint8_t secret[MLS_HASH_LEN], const uint8_t *context,
                              size_t context_len, const mls_label_out *outs, size_t n);
/* DeriveSecret(secret, label) = ExpandWithLabel(secret, label, "", Nh). */
sp_err mls_derive_secret(const uint8_t secret[MLS_HASH_LEN], const char *label,
                         uint8_t out[MLS_HASH_LEN]);
/* DeriveTreeSecret(secret, label, generation, length) (§9): the context is
 * the generation as a big-endian uint32. */
sp_err mls_derive_tree_secret(const uint8_t secret[MLS_HASH_LEN], const char *label,
                              uint32_t generation, uint8_t *out, uint16_t out_len);

/* RefHash(label, value) = Hash(RefHashInput{opaque label<V>; opaque value<V>})
 * (§5.2). Here `label` is used as given (the RFC's labels already include
 * "MLS 1.0 "); the two wrappers below use the RFC's labels. */
sp_err mls_ref_hash(const char *label, const uint8_t *value, size_t len, uint8_t out[MLS_HASH_LEN]);
/* value is the encoded KeyPackage (exact bytes) / encoded AuthenticatedContent. */
sp_err mls_make_key_package_ref(const uint8_t *value, size_t len, uint8_t out[MLS_HASH_LEN]);
sp_err mls_make_proposal_ref(const uint8_t *value, size_t len, uint8_t out[MLS_HASH_LEN]);

/* ---- AEAD: AES-128-GCM ----------------------------------------------------- */

/* ct must have room for pt_len + MLS_AEAD_TAG_LEN bytes (tag appended).
 * In-place (ct == pt) is allowed. */
sp_err mls_aead_seal(const uint8_t key[MLS_AEAD_KEY_LEN], const uint8_t nonce[MLS_AEAD_NONCE_LEN],
                     const uint8_t *aad, size_t aad_len, const uint8_t *pt, size_t pt_len,
                     uint8_t *ct);
/* pt must have room for ct_len - MLS_AEAD_TAG_LEN bytes. SP_ERR_CRYPTO on a
 * bad tag (pt contents are then unspecified and wiped), SP_ERR_INVALID when
 * ct_len < MLS_AEAD_TAG_LEN. In-place allowed. */
sp_err mls_aead_open(const uint8_t key[MLS_AEAD_KEY_LEN], const uint8_t nonce[MLS_AEAD_NONCE_LEN],
                     const uint8_t *aad, size_t aad_len, const uint8_t *ct, size_t ct_len,
                     uint8_t *pt);

/* ---- signatures: Ed25519 ---------------------------------------------------- */

/* A fresh key pair from rng (32 random bytes are the private key). */
sp_err mls_sig_keygen(const mls_rand *rng, uint8_t priv[MLS_SIG_PRIV_LEN],
                      uint8_t pub[MLS_SIG_PUB_LEN]);
sp_err mls_sig_pub_from_priv(const uint8_t priv[MLS_SIG_PRIV_LEN], uint8_t pub[MLS_SIG_PUB_LEN]);

/* A loaded signing key: loading derives the public key once, so a long-lived
 * member signs at full speed. Owns a copy of the private key (wiped on free). */
typedef struct mls_signer mls_signer;
sp_err mls_signer_new(const uint8_t priv[MLS_SIG_PRIV_LEN], mls_signer **out);
void mls_signer_free(mls_signer *s);
/* A second signer for the same key (a staged copy of a group state): it
 * shares s's loaded key, so no scalar multiplication is redone; each keeps
 * its own signing context. Either may be freed first. */
sp_err mls_signer_dup(const mls_signer *s, mls_signer **out);
/* The public key of s. */
const uint8_t *mls_signer_pub(const mls_signer *s);

/* Raw Ed25519 over msg. A signer may be shared between threads: it keeps
 * one prepared OpenSSL context, used by one signature at a time (another
 * thread meanwhile signs with a fresh one). */
sp_err mls_sign(const mls_signer *s, const uint8_t *msg, size_t len, uint8_t sig[MLS_SIG_LEN]);
/* SP_OK when valid, SP_ERR_CRYPTO when not. Each thread keeps the OpenSSL
 * objects of its 32 most recently used public keys, so verifying the same
 * senders again skips their setup (see mls_crypto_thread_cleanup). */
sp_err mls_verify(const uint8_t pub[MLS_SIG_PUB_LEN], const uint8_t *msg, size_t len,
                  const uint8_t *sig, size_t sig_len);

/* SignWithLabel / VerifyWithLabel (§5.1.2): Ed25519 over the encoded
 * SignContent {opaque "MLS 1.0 "+label<V>; opaque content<V>}. */
sp_err mls_sign_with_label(const mls_signer *s, const char *label, const uint8_t *content,
                           size_t len, uint8_t sig[MLS_SIG_LEN]);
sp_err mls_verify_with_label(const uint8_t pub[MLS_SIG_PUB_LEN], const char *label,
                             const uint8_t *content, size_t len, const uint8_t *sig,
                             size_t sig_len);

/* For callers that encode the content themselves: writes SignContent's first
 * field, opaque "MLS 1.0 "+label<V>. Followed by the content as a vector
 * (mls_vec_begin, the encoding, mls_vec_end), the buffer holds exactly what
 * mls_sign_with_label signs, and mls_sign / mls_verify over it give the same
 * signatures, without a second buffer and copy of the content. */
sp_err mls_put_sign_label(sp_buf *b, const char *label);

/* ---- key agreement: X25519 -------------------------------------------------- */

sp_err mls_x25519_pub(const uint8_t priv[MLS_KEM_PRIV_LEN], uint8_t pub[MLS_KEM_PUB_LEN]);
/* The shared secret; SP_ERR_CRYPTO when it is all zeros (a low-order peer key,
 * which RFC 9180 §7.1.4 says to reject). */
sp_err mls_x25519(const uint8_t priv[MLS_KEM_PRIV_LEN], const uint8_t peer_pub[MLS_KEM_PUB_LEN],
                  uint8_t shared[MLS_KEM_SECRET_LEN]);
/* The same when the caller already holds priv's public key `pub`: loading
 * the key pair whole skips recomputing it, which halves the cost. A wrong
 * pub cannot change the result (only the private scalar is used). */
sp_err mls_x25519_kp(const uint8_t priv[MLS_KEM_PRIV_LEN], const uint8_t pub[MLS_KEM_PUB_LEN],
                     const uint8_t peer_pub[MLS_KEM_PUB_LEN], uint8_t shared[MLS_KEM_SECRET_LEN]);

/* The public key of priv and its shared secret with peer_pub, from one key
 * load: a DHKEM sender's work for its ephemeral key (errors as mls_x25519). */
sp_err mls_x25519_pub_dh(const uint8_t priv[MLS_KEM_PRIV_LEN],
                         const uint8_t peer_pub[MLS_KEM_PUB_LEN], uint8_t pub[MLS_KEM_PUB_LEN],
                         uint8_t shared[MLS_KEM_SECRET_LEN]);

/* ---- small helpers ---------------------------------------------------------- */

/* Frees the calling thread's cached OpenSSL objects (mls_verify's keys, the
 * X25519 key loader).
 * Optional: it happens by itself when a thread exits; the main thread may call
 * it before exiting so that leak checkers see nothing left. Calling mls_*
 * afterwards is fine (the cache is rebuilt). */
void mls_crypto_thread_cleanup(void);

/* OPENSSL_cleanse, so callers need not include OpenSSL headers. */
void mls_wipe(void *p, size_t n);

#endif
