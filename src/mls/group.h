/*
 * group.h — an MLS group (RFC 9420, suite 0x0001) as the daemon's chat layer
 * sees it: bytes in, bytes out. Everything below this header (ratchet tree,
 * TreeKEM, proposals, commits, Welcome) is an implementation detail.
 *
 * One mls_group is one member's view of one group in one epoch. Every state
 * change happens in one of two ways:
 *   - staged: a function returns a NEW mls_group (`next`) and leaves the
 *     current one untouched; the caller later calls mls_group_apply(g, next)
 *     (g becomes next, next is consumed) or simply mls_group_free(next) to
 *     discard it. Commits the member creates work this way (the daemon applies
 *     its own commit only after the channel's home daemon accepted it), and so
 *     does mls_group_stage for incoming handshake messages (so the new state
 *     can be stored in the same transaction as the message);
 *   - in place: mls_group_process, mls_group_protect, mls_group_unprotect.
 * Either way, any error leaves the group exactly as it was: a tampered or
 * invalid message is rejected and changes nothing.
 *
 * Identities: every leaf carries a BasicCredential whose identity is the
 * user id in UTF-8. Leaves also advertise in their capabilities the private
 * extension type MLS_EXT_SPACEPANDA (for daemon-specific GroupContext facts);
 * a group without it is still joinable.
 *
 * Past epochs: after each commit the secrets needed to read late application
 * messages of the previous epochs are kept for the last `past_epochs` epochs
 * (default 3, mls_group_set_past_epochs), then wiped.
 *
 * Randomness comes from the rng given at create/join/load time (NULL: the
 * system source); it is borrowed and must outlive the group. It is not part
 * of the saved state.
 *
 * Threads: one mls_group is used by one thread at a time. Inside a call, the
 * costly independent parts of large operations (the key package checks of a
 * multi-Add commit, a Welcome's per-joiner encryptions, an UpdatePath's keys
 * and encryptions, a joiner's leaf signature checks) run on a small process-
 * wide pool (mls/parallel.h; mls_parallel_set_threads(1) turns it off); the
 * output bytes do not depend on it.
 *
 * Ownership: mls_group objects are freed with mls_group_free (which wipes all
 * secrets). sp_buf outputs are appended to and belong to the caller; buffers
 * holding secrets (state blobs, key-package private blobs, plaintexts) should
 * be released with sp_buf_free_secret.
 *
 * Errors (sp_err): SP_ERR_INVALID malformed input or arguments; SP_ERR_CRYPTO
 * a signature, MAC, AEAD or key check failed; SP_ERR_STATE the message is for
 * another group or epoch (see mls_message_peek to decide whether to wait),
 * or the group is no longer active (we were removed); SP_ERR_NOT_FOUND no
 * matching member / key package; SP_ERR_UNSUPPORTED a feature not implemented
 * (other cipher suites, external commits and senders); SP_ERR_NOMEM.
 */
#ifndef SP_MLS_GROUP_H
#define SP_MLS_GROUP_H

#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/err.h"
#include "mls/crypto.h"
#include "mls/types.h"

/* A private-use extension type (RFC 9420 §17.3 reserves 0xF000-0xFFFF) that
 * our leaves declare support for, so the daemon can put its channel facts in
 * a GroupContext extension of this type. */
#define MLS_EXT_SPACEPANDA 0xF0A0

#define MLS_GROUP_DEFAULT_PAST_EPOCHS 3

typedef struct mls_group mls_group;

/* ---- key packages ------------------------------------------------------------ */

/* A fresh KeyPackage for `identity` (the user id). kp gets the encoded
 * MLSMessage(KeyPackage) to publish; priv gets a blob holding the signature,
 * HPKE init and leaf encryption private keys (and the key package itself),
 * to keep until a Welcome arrives (secret: sp_buf_free_secret).
 * sig_priv: the user's Ed25519 signature key (MLS_SIG_PRIV_LEN bytes) to
 * reuse, or NULL for a fresh one. */
sp_err mls_key_package_make(const uint8_t *identity, size_t id_len, const uint8_t *sig_priv,
                            const mls_rand *rng, sp_buf *kp, sp_buf *priv);

/* ---- life cycle --------------------------------------------------------------- */

/* A new one-member group (epoch 0) with us at leaf 0. gc_ext: GroupContext
 * extensions (may be NULL); every member must support their types. */
sp_err mls_group_create(const uint8_t *group_id, size_t gid_len, const uint8_t *identity,
                        size_t id_len, const uint8_t *sig_priv, const mls_extension_list *gc_ext,
                        const mls_rand *rng, mls_group **out);

/* An external pre-shared key, for Welcomes and commits that use one. */
typedef struct {
    sp_slice id;
    sp_slice psk;
} mls_external_psk;

/* Joins from an MLSMessage(Welcome). ratchet_tree: the encoded
 * optional<Node> ratchet_tree<V> given out of band, or NULL/0 when the
 * Welcome's GroupInfo carries the ratchet_tree extension. kp_priv: the blob
 * from mls_key_package_make. The tree is fully validated (leaf signatures,
 * key uniqueness, parent hashes, tree hash) and the path secret checked
 * against it. SP_ERR_NOT_FOUND when the Welcome is not for this key package. */
sp_err mls_group_join(const uint8_t *welcome, size_t welcome_len, const uint8_t *ratchet_tree,
                      size_t tree_len, const uint8_t *kp_priv, size_t kp_priv_len,
                      const mls_external_psk *psks, size_t n_psks, const mls_rand *rng,
                      mls_group **out);

void mls_group_free(mls_group *g);

/* The whole state as a blob (secret: sp_buf_free_secret) and back. */
sp_err mls_group_save(const mls_group *g, sp_buf *out);
sp_err mls_group_load(const uint8_t *p, size_t n, const mls_rand *rng, mls_group **out);

/* g becomes next (a pending commit of ours, or a staged incoming message);
 * next is consumed. Never fails. */
void mls_group_apply(mls_group *g, mls_group *next);

/* How many past epochs keep their secrets for late application messages. */
void mls_group_set_past_epochs(mls_group *g, unsigned n);
/* Send our commits as PrivateMessages (encrypted handshake) rather than
 * PublicMessages (the default). Receivers handle both either way. Saved. */
void mls_group_set_private_handshake(mls_group *g, int on);
/* External PSKs this member knows, used when a commit references one.
 * Copied; replaces any earlier list. */
sp_err mls_group_set_psks(mls_group *g, const mls_external_psk *psks, size_t n);

/* ---- what the group is ---------------------------------------------------------- */

uint64_t mls_group_epoch(const mls_group *g);
/* Borrowed, valid while g is unchanged. */
sp_slice mls_group_id(const mls_group *g);
uint32_t mls_group_own_leaf(const mls_group *g);
/* 0 once a commit removed us or ended the group (ReInit): the group can then
 * only be freed or saved (and read late messages of kept past epochs). */
int mls_group_active(const mls_group *g);
void mls_group_epoch_authenticator(const mls_group *g, uint8_t out[MLS_HASH_LEN]);
/* MLS-Exporter(label, context, length) of the current epoch (§8.5). */
sp_err mls_group_export(const mls_group *g, const char *label, const uint8_t *context,
                        size_t ctx_len, uint8_t *out, uint16_t out_len);
/* Appends the encoded ratchet tree (optional<Node> ratchet_tree<V>) of the
 * current epoch: what a joiner needs out of band. O(n). */
sp_err mls_group_ratchet_tree(const mls_group *g, sp_buf *out);
/* The current GroupContext extensions (borrowed). */
const mls_extension_list *mls_group_extensions(const mls_group *g);

typedef struct {
    uint32_t leaf;
    uint8_t *identity; /* BasicCredential identity, malloc'd */
    size_t identity_len;
} mls_member;

/* Every member, in leaf order; free with mls_members_free. */
sp_err mls_group_members(const mls_group *g, mls_member **out, size_t *n);
void mls_members_free(mls_member *m, size_t n);
/* The leaf of the member with this identity: SP_ERR_NOT_FOUND if none. */
sp_err mls_group_find_member(const mls_group *g, const uint8_t *identity, size_t id_len,
                             uint32_t *leaf);

/* ---- commits we make (staged: apply or discard `next`) ---------------------------- */

/* What a commit produces. commit: MLSMessage(PublicMessage, or PrivateMessage
 * after mls_group_set_private_handshake) for every member;
 * welcome: MLSMessage(Welcome) for the new members (empty when none);
 * ratchet_tree: when the commit adds members, the new epoch's encoded ratchet
 * tree (also inside the Welcome's GroupInfo, so passing it out of band is
 * optional); empty otherwise (see mls_group_ratchet_tree). Free with
 * mls_commit_out_free. */
typedef struct {
    sp_buf commit;
    sp_buf welcome;
    sp_buf ratchet_tree;
} mls_commit_out;
void mls_commit_out_free(mls_commit_out *o);

/* Adds the members of the n encoded MLSMessage(KeyPackage)s in one commit.
 * Each key package is validated (SP_ERR_CRYPTO / SP_ERR_INVALID, naming
 * nothing: the whole commit fails). */
sp_err mls_group_add(const mls_group *g, const sp_slice *key_packages, size_t n,
                     mls_commit_out *out, mls_group **next);
/* Removes the members at these leaves (not ourselves) in one commit with a path. */
sp_err mls_group_remove(const mls_group *g, const uint32_t *leaves, size_t n,
                        mls_commit_out *out, mls_group **next);
/* The same by BasicCredential identity (every leaf with that identity). */
sp_err mls_group_remove_identity(const mls_group *g, const uint8_t *identity, size_t id_len,
                                 mls_commit_out *out, mls_group **next);
/* A commit with an empty proposal list and a path: fresh keys for us. */
sp_err mls_group_self_update(const mls_group *g, mls_commit_out *out, mls_group **next);

/* ---- incoming handshake messages ---------------------------------------------------- */

enum {
    MLS_GROUP_GOT_PROPOSAL = 1, /* cached for a later commit; epoch unchanged */
    MLS_GROUP_GOT_COMMIT = 2,   /* the next state is a new epoch */
};

typedef struct {
    int kind;             /* MLS_GROUP_GOT_* */
    uint32_t sender_leaf; /* the member who sent it */
    int removed;          /* a commit that removed us: next is inactive */
    int ended;            /* a ReInit commit: the group is over (next is inactive);
                           * the members are to start a new one */
} mls_process_info;

/* Stages an MLSMessage carrying a proposal or commit (PublicMessage or
 * PrivateMessage) of the current epoch: *next is the state after it; g is
 * unchanged. A commit sent by our own leaf is refused (SP_ERR_STATE): apply
 * the pending state from the function that created it instead. */
sp_err mls_group_stage(const mls_group *g, const uint8_t *msg, size_t len, mls_group **next,
                       mls_process_info *info);
/* mls_group_stage followed by mls_group_apply. */
sp_err mls_group_process(mls_group *g, const uint8_t *msg, size_t len, mls_process_info *info);

/* ---- application data ------------------------------------------------------------------- */

/* Uses up the next n generations of our own application ratchet in the current epoch, wiping
 * their keys, so that the next message we protect uses a generation no earlier copy of this state
 * may already have used. For a daemon that lets a message leave before the state that protected
 * it is on stable storage: after an unclean restart it skips past what may have been lost
 * (receivers accept jumps up to MLS_SECRET_TREE_DEFAULT_FORWARD). SP_ERR_STATE when inactive. */
sp_err mls_group_skip_sends(mls_group *g, uint32_t n);

/* Encrypts pt (with authenticated_data aad, may be empty) into an
 * MLSMessage(PrivateMessage), appended to out. */
sp_err mls_group_protect(mls_group *g, const uint8_t *pt, size_t pt_len, const uint8_t *aad,
                         size_t aad_len, sp_buf *out);
/* Decrypts an application MLSMessage(PrivateMessage) of the current epoch or
 * one of the kept past epochs: the plaintext is appended to pt, the sender's
 * leaf written to *sender_leaf and its identity appended to sender_identity
 * (either may be NULL). Each message decrypts once (a replay is
 * SP_ERR_EXISTS). */
sp_err mls_group_unprotect(mls_group *g, const uint8_t *msg, size_t len, sp_buf *pt,
                           uint32_t *sender_leaf, sp_buf *sender_identity);

/* ---- looking at a message before processing it ------------------------------------------ */

typedef struct {
    uint16_t wire_format;  /* MLS_WIRE_* */
    uint8_t content_type;  /* MLS_CONTENT_* for public/private messages, else 0 */
    uint64_t epoch;        /* for public/private messages */
    sp_slice group_id;     /* borrowed from the input bytes */
} mls_message_info;

/* Reads the routing fields of an MLSMessage without decrypting it. */
sp_err mls_message_peek(const uint8_t *msg, size_t len, mls_message_info *info);

#endif
