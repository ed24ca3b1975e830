/*
 * codec.h — TLS encoding (RFC 9420 §2.1) of every structure in mls/types.h.
 *
 * For each structure T there are:
 *   sp_err mls_T_read(sp_reader *r, mls_T *out);
 *       Reads one T from r into *out (which it zeroes first). On failure *out
 *       is left empty (everything allocated is freed) and r may have moved.
 *   sp_err mls_T_decode(const uint8_t *p, size_t n, mls_T *out);
 *       The same over a whole buffer; bytes left over are SP_ERR_INVALID.
 *   sp_err mls_T_write(sp_buf *b, const mls_T *in);
 *       Appends the encoding of *in.
 *   sp_err mls_T_copy(mls_T *dst, const mls_T *src);
 *       A deep copy into a zeroed-over *dst (through the codec, so exact; a
 *       key package's raw bytes become the encoding of src).
 * The caller owns *out and releases it with mls_T_free (mls/types.h).
 *
 * Decoders read only through sp_reader and mls/tls.h, so they never read past
 * the input, and every allocation is bounded by bytes already known to be
 * present (a vector's items are counted as they are read, never trusted from
 * a length). Varints must be minimal, optionals 0 or 1, enums in range; an
 * unknown type that changes the layout (a proposal, credential, sender or
 * content type we cannot parse) is SP_ERR_UNSUPPORTED or SP_ERR_INVALID.
 * Unknown extension types and GREASE values are kept and written back, so
 * decode followed by encode gives the input bytes exactly.
 *
 * The *_write_tbs functions give the exact "to-be-signed" bytes that
 * SignWithLabel covers (LeafNodeTBS, KeyPackageTBS, GroupInfoTBS,
 * FramedContentTBS).
 */
#ifndef SP_MLS_CODEC_H
#define SP_MLS_CODEC_H

#include "base/buf.h"
#include "mls/types.h"

#define MLS_CODEC_DECLARE(T)                                          \
    sp_err mls_##T##_read(sp_reader *r, mls_##T *out);                \
    sp_err mls_##T##_decode(const uint8_t *p, size_t n, mls_##T *out); \
    sp_err mls_##T##_write(sp_buf *b, const mls_##T *in);                 \
    sp_err mls_##T##_copy(mls_##T *dst, const mls_##T *src);

MLS_CODEC_DECLARE(extension_list)
MLS_CODEC_DECLARE(credential)
MLS_CODEC_DECLARE(capabilities)
MLS_CODEC_DECLARE(hpke_ciphertext)
/* extension payloads: required_capabilities (3) and external_senders (5) */
MLS_CODEC_DECLARE(required_capabilities)
MLS_CODEC_DECLARE(external_senders)
MLS_CODEC_DECLARE(psk_id)
MLS_CODEC_DECLARE(leaf_node)
MLS_CODEC_DECLARE(parent_node)
/* A Node (never blank; blank slots only exist inside a ratchet tree). */
MLS_CODEC_DECLARE(tree_node)
/* optional<Node> ratchet_tree<V>. The decoder rejects an empty tree and a
 * tree whose last slot is blank (§12.4.3.3 requires it to be trimmed). */
MLS_CODEC_DECLARE(ratchet_tree)
MLS_CODEC_DECLARE(key_package)
MLS_CODEC_DECLARE(update_path_node)
MLS_CODEC_DECLARE(update_path)
MLS_CODEC_DECLARE(proposal)
MLS_CODEC_DECLARE(proposal_or_ref)
MLS_CODEC_DECLARE(commit)
MLS_CODEC_DECLARE(group_context)
MLS_CODEC_DECLARE(group_info)
MLS_CODEC_DECLARE(group_secrets)
MLS_CODEC_DECLARE(encrypted_group_secrets)
MLS_CODEC_DECLARE(welcome)
MLS_CODEC_DECLARE(framed_content)
MLS_CODEC_DECLARE(authenticated_content)
MLS_CODEC_DECLARE(public_message)
MLS_CODEC_DECLARE(private_message)
/* MLSMessage: version must be mls10; every wire format of §6 is handled. */
MLS_CODEC_DECLARE(message)

/* FramedContentAuthData: its layout depends on the content type. */
sp_err mls_auth_data_read(sp_reader *r, uint8_t content_type, mls_auth_data *out);
sp_err mls_auth_data_write(sp_buf *b, uint8_t content_type, const mls_auth_data *in);

/* The body of a FramedContent after content_type (application_data,
 * Proposal or Commit), as carried inside PrivateMessageContent. */
sp_err mls_content_body_read(sp_reader *r, mls_framed_content *c);
sp_err mls_content_body_write(sp_buf *b, const mls_framed_content *c);

/* LeafNodeTBS: the leaf's fields without its signature, then, for a leaf from
 * an update or a commit, the group_id and leaf_index it is bound to (ignored
 * for a key-package leaf). */
sp_err mls_leaf_node_write_tbs(sp_buf *b, const mls_leaf_node *l, sp_slice group_id,
                               uint32_t leaf_index);
/* KeyPackageTBS: the key package without its signature. */
sp_err mls_key_package_write_tbs(sp_buf *b, const mls_key_package *kp);
/* GroupInfoTBS: the group info without its signature. */
sp_err mls_group_info_write_tbs(sp_buf *b, const mls_group_info *gi);
/* FramedContentTBS: version, wire format, content, and the group context when
 * the sender is a member or a new member committing (ctx may be NULL
 * otherwise; SP_ERR_INVALID if it is needed and missing). */
sp_err mls_framed_content_write_tbs(sp_buf *b, uint16_t wire_format, const mls_framed_content *c,
                                    const mls_group_context *ctx);

#endif
