/*
 * framing.h — protecting and opening MLS messages (RFC 9420 §6).
 *
 * A sender builds an AuthenticatedContent: the FramedContent, the wire format
 * it will travel in, and the auth data. mls_content_sign fills the signature
 * (SignWithLabel "FramedContentTBS", which binds the GroupContext for member
 * senders); for a commit the caller then sets auth.confirmation_tag (it needs
 * the transcript hash, which needs the signature; see mls/transcript.h).
 * The content then goes out either
 *   - as a PublicMessage (mls_public_message_protect adds the membership tag,
 *     a MAC over AuthenticatedContentTBM with the epoch's membership key), or
 *   - as a PrivateMessage (mls_private_message_protect encrypts the content
 *     and auth data with a key from the secret tree, pads it, and encrypts the
 *     sender data with a key derived from the sender-data secret and a sample
 *     of the ciphertext; a random reuse guard is XORed into the nonce).
 * A receiver opens either kind back into an AuthenticatedContent, checking
 * the membership tag or decrypting, and the signature: the sender's signature
 * key is asked of the caller (mls_sig_key_fn), who looks it up in its tree.
 *
 * Application data may only travel in a PrivateMessage (§6.2): protecting it
 * as a PublicMessage is refused.
 *
 * Ownership: every mls_* out-struct is the caller's to free with its
 * mls_*_free (mls/types.h); on failure it is left empty.
 */
#ifndef SP_MLS_FRAMING_H
#define SP_MLS_FRAMING_H

#include "mls/crypto.h"
#include "mls/secret_tree.h"
#include "mls/types.h"

/* Writes the signature key of the content's sender into pub; any error
 * (SP_ERR_NOT_FOUND for an unknown sender) fails the open. */
typedef sp_err (*mls_sig_key_fn)(void *arg, const mls_framed_content *content,
                                 uint8_t pub[MLS_SIG_PUB_LEN]);

/* Signs ac->content as it will travel in ac->wire_format; ctx is the current
 * group context (needed for member and new-member-commit senders). Replaces
 * ac->auth.signature. */
sp_err mls_content_sign(mls_authenticated_content *ac, const mls_group_context *ctx,
                        const mls_signer *signer);
/* SP_OK if ac->auth.signature is valid under pub, SP_ERR_CRYPTO otherwise. */
sp_err mls_content_verify(const mls_authenticated_content *ac, const mls_group_context *ctx,
                          const uint8_t pub[MLS_SIG_PUB_LEN]);

/* The membership tag: MAC(membership_key, AuthenticatedContentTBM). */
sp_err mls_membership_tag(const mls_authenticated_content *ac, const mls_group_context *ctx,
                          const uint8_t membership_key[MLS_HASH_LEN], uint8_t tag[MLS_HASH_LEN]);

/* Wraps a signed AuthenticatedContent (wire format public) into a PublicMessage,
 * with the membership tag when the sender is a member (membership_key may be
 * NULL otherwise). SP_ERR_INVALID for application content or a wrong wire format. */
sp_err mls_public_message_protect(const mls_authenticated_content *ac, const mls_group_context *ctx,
                                  const uint8_t *membership_key, mls_public_message *out);
/* Opens a PublicMessage of the group whose context is ctx: checks group id and
 * epoch (SP_ERR_STATE if they differ), the membership tag for a member sender
 * (SP_ERR_CRYPTO), and the signature with the key from get_key (SP_ERR_CRYPTO).
 * On success *out is the AuthenticatedContent (copied out of pm). */
sp_err mls_public_message_open(const mls_public_message *pm, const mls_group_context *ctx,
                               const uint8_t *membership_key, mls_sig_key_fn get_key, void *arg,
                               mls_authenticated_content *out);

/* Encrypts a signed AuthenticatedContent (wire format private, member sender)
 * into a PrivateMessage. The key and nonce come from the sender's handshake
 * (proposal, commit) or application ratchet in st, which advances; padding
 * is the number of zero bytes added to the plaintext; rng supplies the reuse
 * guard (NULL: the system source). */
sp_err mls_private_message_protect(const mls_authenticated_content *ac, mls_secret_tree *st,
                                   const uint8_t sender_data_secret[MLS_HASH_LEN], size_t padding,
                                   const mls_rand *rng, mls_private_message *out);
/* Decrypts a PrivateMessage of the group whose context is ctx: group id and
 * epoch must match (SP_ERR_STATE); the sender data and the content must
 * decrypt (SP_ERR_CRYPTO), the padding must be zeros (SP_ERR_INVALID), the
 * generation must be available in st (its errors are passed on: a key used
 * before, or too far ahead), and the signature must verify with the key from
 * get_key (SP_ERR_CRYPTO). Only a message that passes every check consumes
 * its key (deleted from st); a failed open leaves st unchanged. */
sp_err mls_private_message_open(const mls_private_message *pm, const mls_group_context *ctx,
                                mls_secret_tree *st,
                                const uint8_t sender_data_secret[MLS_HASH_LEN],
                                mls_sig_key_fn get_key, void *arg,
                                mls_authenticated_content *out);

#endif
