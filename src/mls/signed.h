/*
 * signed.h — the signatures carried inside MLS objects: LeafNode, KeyPackage,
 * GroupInfo (RFC 9420 §7.2, §10, §12.4.3), and the KeyPackageRef.
 *
 * Each signature is SignWithLabel over the object's to-be-signed encoding
 * (mls/codec.h *_write_tbs) with the RFC's label ("LeafNodeTBS",
 * "KeyPackageTBS", "GroupInfoTBS"). Verification uses the key the RFC names:
 * a leaf's own signature_key for the leaf and for its key package; the
 * signer's leaf key (given by the caller) for a GroupInfo.
 *
 * The *_sign functions replace the object's signature (and, for a key
 * package, its raw bytes, so its ref is the ref of what will be sent). A
 * key package's leaf must be signed before the package: the package
 * signature covers it.
 *
 * Errors: SP_ERR_CRYPTO for a bad signature or a signature key that is not
 * an Ed25519 key (32 bytes); SP_ERR_NOMEM.
 */
#ifndef SP_MLS_SIGNED_H
#define SP_MLS_SIGNED_H

#include "mls/crypto.h"
#include "mls/types.h"

/* group_id and leaf_index bind an update or commit leaf to its place; they are
 * ignored for a key-package leaf. */
sp_err mls_leaf_node_sign(mls_leaf_node *l, const mls_signer *s, sp_slice group_id,
                          uint32_t leaf_index);
sp_err mls_leaf_node_verify(const mls_leaf_node *l, sp_slice group_id, uint32_t leaf_index);

sp_err mls_key_package_sign(mls_key_package *kp, const mls_signer *s);
/* Checks both the package's and its leaf's signature (§10.1). */
sp_err mls_key_package_verify(const mls_key_package *kp);
/* KeyPackageRef: RefHash over the exact bytes the package came in (kp->raw),
 * or over its encoding when it has none. */
sp_err mls_key_package_ref(const mls_key_package *kp, uint8_t out[MLS_HASH_LEN]);

sp_err mls_group_info_sign(mls_group_info *gi, const mls_signer *s);
sp_err mls_group_info_verify(const mls_group_info *gi, const uint8_t pub[MLS_SIG_PUB_LEN]);

#endif
