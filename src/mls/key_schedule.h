/*
 * key_schedule.h — the MLS key schedule (RFC 9420 §8): from the previous
 * epoch's init_secret, the commit_secret, the psk_secret and the encoded
 * GroupContext of the new epoch, every secret of the epoch; plus the PSK
 * secret (§8.4), the welcome key/nonce (§12.4.3.1), the exporter (§8.5) and
 * the external key pair (§8.3).
 *
 *   init_secret[n-1] -salt-> Extract(ikm=commit_secret)
 *       -> ExpandWithLabel(., "joiner", GroupContext[n]) = joiner_secret
 *   joiner_secret -salt-> Extract(ikm=psk_secret) = member secret
 *       -> DeriveSecret(., "welcome") = welcome_secret
 *       -> ExpandWithLabel(., "epoch", GroupContext[n]) = epoch_secret
 *   epoch_secret -> DeriveSecret(., label) for each secret below.
 *
 * The GroupContext is passed encoded (its TLS bytes), so this module does
 * not depend on the message codec. mls_epoch_secrets is a plain struct the
 * caller owns (stack or heap); wipe it with mls_epoch_secrets_wipe. The
 * epoch_secret itself is not kept: nothing needs it after the derivations.
 */
#ifndef SP_MLS_KEY_SCHEDULE_H
#define SP_MLS_KEY_SCHEDULE_H

#include <stddef.h>
#include <stdint.h>

#include "mls/crypto.h"

typedef struct {
    uint8_t joiner_secret[MLS_HASH_LEN];
    uint8_t welcome_secret[MLS_HASH_LEN];
    uint8_t sender_data_secret[MLS_HASH_LEN];  /* "sender data" */
    uint8_t encryption_secret[MLS_HASH_LEN];   /* "encryption": root of the secret tree */
    uint8_t exporter_secret[MLS_HASH_LEN];     /* "exporter" */
    uint8_t external_secret[MLS_HASH_LEN];     /* "external" */
    uint8_t confirmation_key[MLS_HASH_LEN];    /* "confirm" */
    uint8_t membership_key[MLS_HASH_LEN];      /* "membership" */
    uint8_t resumption_psk[MLS_HASH_LEN];      /* "resumption" */
    uint8_t epoch_authenticator[MLS_HASH_LEN]; /* "authentication" */
    uint8_t init_secret[MLS_HASH_LEN];         /* "init": input to the next epoch */
} mls_epoch_secrets;

/* A new epoch from the previous init_secret. commit_secret and psk_secret
 * may be NULL for "all zero" (no path / no PSKs). group_context is the
 * encoded GroupContext of the NEW epoch. */
sp_err mls_key_schedule(const uint8_t init_secret[MLS_HASH_LEN], const uint8_t *commit_secret,
                        const uint8_t *psk_secret, const uint8_t *group_context, size_t gc_len,
                        mls_epoch_secrets *out);
/* The same from a joiner_secret (a new member, from its GroupSecrets). */
sp_err mls_key_schedule_from_joiner(const uint8_t joiner_secret[MLS_HASH_LEN],
                                    const uint8_t *psk_secret, const uint8_t *group_context,
                                    size_t gc_len, mls_epoch_secrets *out);
/* Only the welcome_secret: a joiner needs it to decrypt the GroupInfo
 * before it knows the GroupContext. psk_secret NULL means zeros. */
sp_err mls_welcome_secret(const uint8_t joiner_secret[MLS_HASH_LEN], const uint8_t *psk_secret,
                          uint8_t welcome_secret[MLS_HASH_LEN]);
void mls_epoch_secrets_wipe(mls_epoch_secrets *s);

/* welcome_key = ExpandWithLabel(welcome_secret, "key", "", Nk), welcome_nonce
 * likewise with "nonce" (§12.4.3.1): the AEAD key of the encrypted GroupInfo. */
sp_err mls_welcome_key_nonce(const uint8_t welcome_secret[MLS_HASH_LEN],
                             uint8_t key[MLS_AEAD_KEY_LEN], uint8_t nonce[MLS_AEAD_NONCE_LEN]);

/* MLS-Exporter(label, context, length) (§8.5) =
 * ExpandWithLabel(DeriveSecret(exporter_secret, label), "exported", Hash(context), length).
 * The label is bytes (it is opaque in the RFC's API). */
sp_err mls_exporter(const uint8_t exporter_secret[MLS_HASH_LEN], const uint8_t *label,
                    size_t label_len, const uint8_t *context, size_t context_len, uint8_t *out,
                    uint16_t out_len);

/* The external HPKE key pair: DeriveKeyPair(external_secret) (§8.3). The
 * public key goes into the GroupInfo's external_pub extension. */
sp_err mls_external_key_pair(const uint8_t external_secret[MLS_HASH_LEN],
                             uint8_t priv[MLS_KEM_PRIV_LEN], uint8_t pub[MLS_KEM_PUB_LEN]);

/* External initialisation (§8.3): a joiner by external commit runs
 * SetupBaseS(external_pub, "") and exports "MLS 1.0 external init secret"
 * as the init_secret of the epoch it commits; kem_output goes into the
 * ExternalInit proposal. The group's members redo it from the proposal with
 * the external private key. */
sp_err mls_external_init_sender(const uint8_t external_pub[MLS_KEM_PUB_LEN], const mls_rand *rng,
                                uint8_t kem_output[MLS_KEM_PUB_LEN],
                                uint8_t init_secret[MLS_HASH_LEN]);
sp_err mls_external_init_receiver(const uint8_t external_priv[MLS_KEM_PRIV_LEN],
                                  const uint8_t kem_output[MLS_KEM_PUB_LEN],
                                  uint8_t init_secret[MLS_HASH_LEN]);

/* One PSK of §8.4: its PreSharedKeyID as encoded bytes (the codec encodes
 * the struct) and the PSK value. Borrowed for the call. */
typedef struct {
    const uint8_t *id;
    size_t id_len;
    const uint8_t *psk;
    size_t psk_len;
} mls_psk_input;

/* psk_secret from the list, in order (§8.4); n == 0 gives all zeros.
 * n <= 65535 (PSKLabel counts in uint16). */
sp_err mls_psk_secret(const mls_psk_input *psks, size_t n, uint8_t out[MLS_HASH_LEN]);

/* The encoded PreSharedKeyID of an external PSK (psktype 1):
 * {uint8 1; opaque psk_id<V>; opaque psk_nonce<V>}, appended to b. */
sp_err mls_psk_id_encode_external(sp_buf *b, const uint8_t *psk_id, size_t id_len,
                                  const uint8_t *nonce, size_t nonce_len);
/* The encoded PreSharedKeyID of a resumption PSK (psktype 2):
 * {uint8 2; uint8 usage; opaque group_id<V>; uint64 epoch; opaque nonce<V>}. */
sp_err mls_psk_id_encode_resumption(sp_buf *b, uint8_t usage, const uint8_t *group_id,
                                    size_t gid_len, uint64_t epoch, const uint8_t *nonce,
                                    size_t nonce_len);

#endif
