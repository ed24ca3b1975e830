/*
 * hpke.h — HPKE (RFC 9180) for MLS suite 0x0001: DHKEM(X25519, HKDF-SHA256),
 * HKDF-SHA256, and AES-128-GCM or export-only; modes Base, PSK, Auth and
 * AuthPSK. OpenSSL 3.0 has no HPKE, so it is built here on mls/crypto.h.
 * On top of it sit MLS's EncryptWithLabel/DecryptWithLabel (RFC 9420 §5.1.3).
 *
 * Ownership: an mls_hpke_ctx is created by a setup function and freed by the
 * caller with mls_hpke_ctx_free (which wipes its key, nonce and exporter
 * secret). Output buffers are the caller's: a ciphertext is exactly
 * pt_len + MLS_AEAD_TAG_LEN bytes, enc is MLS_KEM_PUB_LEN bytes. Functions
 * taking an sp_buf append to it; the caller frees it.
 *
 * Randomness: the sender's ephemeral key is DeriveKeyPair(rng(32 bytes)) —
 * exactly GenerateKeyPair of RFC 9180 §7.1.3 — so a vector's ikmE replayed
 * through the rng reproduces its enc. rng NULL means the system source.
 *
 * Errors: SP_ERR_INVALID for bad arguments (PSK given in a non-PSK mode or
 * missing in a PSK mode, wrong sizes), SP_ERR_CRYPTO for a failed open or a
 * bad public key, SP_ERR_STATE when the sequence number is exhausted or an
 * export-only context is asked to seal/open.
 */
#ifndef SP_MLS_HPKE_H
#define SP_MLS_HPKE_H

#include <stddef.h>
#include <stdint.h>

#include "mls/crypto.h"

typedef enum {
    MLS_HPKE_MODE_BASE = 0,
    MLS_HPKE_MODE_PSK = 1,
    MLS_HPKE_MODE_AUTH = 2,
    MLS_HPKE_MODE_AUTH_PSK = 3,
} mls_hpke_mode;

#define MLS_HPKE_KEM_X25519_SHA256 0x0020
#define MLS_HPKE_KDF_SHA256 0x0001
#define MLS_HPKE_AEAD_AES128GCM 0x0001
#define MLS_HPKE_AEAD_EXPORT_ONLY 0xffff

/* The inputs shared by sender and receiver. Pointers are borrowed for the
 * call only. psk/psk_id: both set in the PSK modes, both empty otherwise. */
typedef struct {
    mls_hpke_mode mode;
    uint16_t aead_id; /* MLS_HPKE_AEAD_AES128GCM or MLS_HPKE_AEAD_EXPORT_ONLY */
    const uint8_t *info;
    size_t info_len;
    const uint8_t *psk;
    size_t psk_len;
    const uint8_t *psk_id;
    size_t psk_id_len;
} mls_hpke_params;

typedef struct mls_hpke_ctx mls_hpke_ctx;

/* DeriveKeyPair(ikm) (§7.1.3): sk and pk of DHKEM(X25519). */
sp_err mls_hpke_derive_key_pair(const uint8_t *ikm, size_t ikm_len, uint8_t sk[MLS_KEM_PRIV_LEN],
                                uint8_t pk[MLS_KEM_PUB_LEN]);
/* GenerateKeyPair: DeriveKeyPair of 32 bytes from rng. */
sp_err mls_hpke_keygen(const mls_rand *rng, uint8_t sk[MLS_KEM_PRIV_LEN],
                       uint8_t pk[MLS_KEM_PUB_LEN]);

/* SetupS / SetupPSKS / SetupAuthS / SetupAuthPSKS, chosen by p->mode.
 * skS is the sender's static key in the Auth modes (NULL otherwise).
 * Writes enc and a new context to *out. */
sp_err mls_hpke_setup_sender(const mls_hpke_params *p, const uint8_t pkR[MLS_KEM_PUB_LEN],
                             const uint8_t *skS, const mls_rand *rng,
                             uint8_t enc[MLS_KEM_PUB_LEN], mls_hpke_ctx **out);
/* The receiver's side; pkS is the sender's public key in the Auth modes. */
sp_err mls_hpke_setup_receiver(const mls_hpke_params *p, const uint8_t enc[MLS_KEM_PUB_LEN],
                               const uint8_t skR[MLS_KEM_PRIV_LEN], const uint8_t *pkS,
                               mls_hpke_ctx **out);
/* The same when the caller knows skR's public key pkR (a member keeps it next
 * to the private key): recomputing it from skR costs as much as the DH
 * itself. pkR NULL means unknown. A wrong pkR enters the KEM context, so the
 * open fails; it never opens wrongly. */
sp_err mls_hpke_setup_receiver_kp(const mls_hpke_params *p, const uint8_t enc[MLS_KEM_PUB_LEN],
                                  const uint8_t skR[MLS_KEM_PRIV_LEN], const uint8_t *pkR,
                                  const uint8_t *pkS, mls_hpke_ctx **out);
void mls_hpke_ctx_free(mls_hpke_ctx *c);

/* Seal/Open with the context's sequence number, which advances only on
 * success. ct has pt_len + MLS_AEAD_TAG_LEN bytes; pt has ct_len - tag. */
sp_err mls_hpke_seal(mls_hpke_ctx *c, const uint8_t *aad, size_t aad_len, const uint8_t *pt,
                     size_t pt_len, uint8_t *ct);
sp_err mls_hpke_open(mls_hpke_ctx *c, const uint8_t *aad, size_t aad_len, const uint8_t *ct,
                     size_t ct_len, uint8_t *pt);
/* Export(exporter_context, L) (§5.3); L <= 255 * MLS_HASH_LEN. */
sp_err mls_hpke_export(const mls_hpke_ctx *c, const uint8_t *exporter_context, size_t ctx_len,
                       uint8_t *out, size_t out_len);

/* Single-shot Base mode with AES-128-GCM (§6.1). */
sp_err mls_hpke_seal_base(const uint8_t pkR[MLS_KEM_PUB_LEN], const uint8_t *info, size_t info_len,
                          const uint8_t *aad, size_t aad_len, const uint8_t *pt, size_t pt_len,
                          const mls_rand *rng, uint8_t enc[MLS_KEM_PUB_LEN], uint8_t *ct);
sp_err mls_hpke_open_base(const uint8_t enc[MLS_KEM_PUB_LEN], const uint8_t skR[MLS_KEM_PRIV_LEN],
                          const uint8_t *info, size_t info_len, const uint8_t *aad, size_t aad_len,
                          const uint8_t *ct, size_t ct_len, uint8_t *pt);

/* OpenBase with skR's public key known (see mls_hpke_setup_receiver_kp). */
sp_err mls_hpke_open_base_kp(const uint8_t enc[MLS_KEM_PUB_LEN],
                             const uint8_t skR[MLS_KEM_PRIV_LEN], const uint8_t *pkR,
                             const uint8_t *info, size_t info_len, const uint8_t *aad,
                             size_t aad_len, const uint8_t *ct, size_t ct_len, uint8_t *pt);

/* EncryptWithLabel(pub, label, context, plaintext) (RFC 9420 §5.1.3):
 * SealBase with info = EncryptContext{opaque "MLS 1.0 "+label<V>;
 * opaque context<V>} and empty aad. Writes the HPKECiphertext's kem_output
 * and appends its ciphertext to ct. */
sp_err mls_encrypt_with_label(const uint8_t pub[MLS_KEM_PUB_LEN], const char *label,
                              const uint8_t *context, size_t context_len, const uint8_t *pt,
                              size_t pt_len, const mls_rand *rng,
                              uint8_t kem_output[MLS_KEM_PUB_LEN], sp_buf *ct);
/* The same for many recipients of one (label, context): the HPKE info_hash
 * (LabeledExtract("", "info_hash", EncryptContext)) is computed once by
 * mls_encrypt_context_hash and passed to mls_encrypt_with_label_hashed, which
 * saves rehashing a large context per recipient (a Welcome's context is the
 * whole encrypted GroupInfo, ratchet tree included). */
sp_err mls_encrypt_context_hash(const char *label, const uint8_t *context, size_t context_len,
                                uint8_t info_hash[MLS_HASH_LEN]);
sp_err mls_encrypt_with_label_hashed(const uint8_t pub[MLS_KEM_PUB_LEN],
                                     const uint8_t info_hash[MLS_HASH_LEN], const uint8_t *pt,
                                     size_t pt_len, const mls_rand *rng,
                                     uint8_t kem_output[MLS_KEM_PUB_LEN], sp_buf *ct);
/* Appends the plaintext to pt (use sp_buf_free_secret on it). kem_output is
 * checked to be MLS_KEM_PUB_LEN bytes by the caller's decoder; here it is
 * taken as such. */
sp_err mls_decrypt_with_label(const uint8_t priv[MLS_KEM_PRIV_LEN], const char *label,
                              const uint8_t *context, size_t context_len,
                              const uint8_t kem_output[MLS_KEM_PUB_LEN], const uint8_t *ct,
                              size_t ct_len, sp_buf *pt);

/* DecryptWithLabel with priv's public key known (pub; NULL means unknown):
 * about twice as fast (see mls_hpke_setup_receiver_kp). */
sp_err mls_decrypt_with_label_kp(const uint8_t priv[MLS_KEM_PRIV_LEN], const uint8_t *pub,
                                 const char *label, const uint8_t *context, size_t context_len,
                                 const uint8_t kem_output[MLS_KEM_PUB_LEN], const uint8_t *ct,
                                 size_t ct_len, sp_buf *pt);

#endif
