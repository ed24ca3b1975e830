/*
 * key_package.h — LeafNodes and KeyPackages (RFC 9420 §7.2, §10): making
 * them, with the private keys handed to the caller, and validating them.
 *
 * Our leaves carry a BasicCredential, capabilities listing mls10, suite
 * 0x0001, the basic credential type and every non-default extension type we
 * use (MLS_EXT_SPACEPANDA, see group.h) — GREASE values in other parties'
 * capabilities and extensions are tolerated and ignored.
 *
 * Ownership: mls_leaf_node / mls_key_package outputs are caller-owned (free
 * with their mls_*_free). Private keys go to caller buffers.
 */
#ifndef SP_MLS_KEY_PACKAGE_H
#define SP_MLS_KEY_PACKAGE_H

#include "mls/crypto.h"
#include "mls/signed.h"
#include "mls/types.h"

/* Fills the fields every leaf of ours shares: credential (identity),
 * capabilities, signature and encryption public keys. Source, lifetime,
 * parent hash and signature are left to the caller. */
sp_err mls_leaf_node_init(mls_leaf_node *leaf, const uint8_t *identity, size_t id_len,
                          const uint8_t sig_pub[MLS_SIG_PUB_LEN],
                          const uint8_t enc_pub[MLS_KEM_PUB_LEN]);

/* A fresh KeyPackage for identity signed by signer; its init and leaf
 * encryption private keys are written to the caller's buffers. kp->raw is
 * set to the encoding (its KeyPackageRef is the hash of it). */
sp_err mls_key_package_create(const uint8_t *identity, size_t id_len, const mls_signer *signer,
                              const mls_rand *rng, mls_key_package *kp,
                              uint8_t init_priv[MLS_KEM_PRIV_LEN],
                              uint8_t enc_priv[MLS_KEM_PRIV_LEN]);

/* §10.1: version mls10, suite 0x0001, leaf source key_package, the leaf's own
 * checks (mls_tree_leaf_verify), init key distinct from the encryption key,
 * the KeyPackageTBS signature; and, when now != 0, now inside the lifetime.
 * SP_ERR_INVALID or SP_ERR_CRYPTO. */
sp_err mls_key_package_validate(const mls_key_package *kp, uint64_t now);

#endif
