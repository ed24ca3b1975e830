/*
 * secret_tree.h — the secret tree and its per-leaf hash ratchets (RFC 9420
 * §9), which give each sender's handshake and application messages their
 * AEAD key and nonce per generation; and the sender-data key/nonce (§6.3.2).
 *
 * The tree is derived lazily from the epoch's encryption_secret: a leaf's
 * secret is computed the first time the leaf is used, and every node secret
 * is deleted as soon as its children are derived (§9, "deletion schedule").
 * Each ratchet keeps its current secret and generation; keys are handed out
 * once. A receiver may ask for a generation ahead of the ratchet (up to
 * limits.max_forward ahead); the keys of the generations jumped over are
 * kept for late messages, but only while they are within limits.max_past
 * generations of the newest one, after which they are wiped. A generation
 * is never returned twice.
 *
 * Ownership: mls_secret_tree_new returns a tree the caller frees with
 * mls_secret_tree_free (which wipes every secret). Keys are returned in a
 * caller-owned mls_ratchet_key: wipe it (mls_wipe) once used.
 *
 * The tree must have a power-of-two number of leaves (RFC 9420 trees always
 * do); leaf indices are checked against it.
 */
#ifndef SP_MLS_SECRET_TREE_H
#define SP_MLS_SECRET_TREE_H

#include <stddef.h>
#include <stdint.h>

#include "mls/crypto.h"
#include "mls/tree_math.h"

typedef enum {
    MLS_RATCHET_HANDSHAKE = 0,   /* proposals and commits */
    MLS_RATCHET_APPLICATION = 1, /* application data */
} mls_ratchet_type;

typedef struct {
    uint32_t max_forward; /* how far beyond the ratchet a requested generation may be */
    uint32_t max_past;    /* how many generations back skipped keys are kept */
} mls_secret_tree_limits;

#define MLS_SECRET_TREE_DEFAULT_FORWARD 1000
#define MLS_SECRET_TREE_DEFAULT_PAST 1000

typedef struct {
    uint32_t generation;
    uint8_t key[MLS_AEAD_KEY_LEN];
    uint8_t nonce[MLS_AEAD_NONCE_LEN];
} mls_ratchet_key;

typedef struct mls_secret_tree mls_secret_tree;

/* A tree of n_leaves leaves rooted at encryption_secret. limits NULL means
 * the defaults. SP_ERR_INVALID when n_leaves is 0, over MLS_MAX_LEAVES or not
 * a power of two. */
sp_err mls_secret_tree_new(const uint8_t encryption_secret[MLS_HASH_LEN], uint32_t n_leaves,
                           const mls_secret_tree_limits *limits, mls_secret_tree **out);
void mls_secret_tree_free(mls_secret_tree *t);
/* An independent deep copy (for staged group states). */
sp_err mls_secret_tree_dup(const mls_secret_tree *t, mls_secret_tree **out);

/* The sender's side: the key and nonce of the ratchet's next generation,
 * which is consumed. SP_ERR_INVALID for a leaf outside the tree,
 * SP_ERR_STATE once generation 2^32-1 has been used. */
sp_err mls_secret_tree_next(mls_secret_tree *t, mls_leaf_idx leaf, mls_ratchet_type type,
                            mls_ratchet_key *out);

/* The receiver's side: the key and nonce of `generation`, consumed.
 * Errors, with the tree unchanged:
 *   SP_ERR_TOO_LARGE  generation is more than max_forward ahead;
 *   SP_ERR_EXISTS     generation was already handed out;
 *   SP_ERR_STATE      generation is older than the max_past window (its key
 *                     is deleted);
 *   SP_ERR_INVALID    leaf outside the tree. */
sp_err mls_secret_tree_get(mls_secret_tree *t, mls_leaf_idx leaf, mls_ratchet_type type,
                           uint32_t generation, mls_ratchet_key *out);

/* Like mls_secret_tree_get but changes nothing: the key and nonce of
 * `generation` if get would hand them out, with the same errors. A receiver
 * peeks, decrypts, and only when the AEAD tag checks calls
 * mls_secret_tree_get to consume the generation, so a forged message cannot
 * burn a sender's key. */
sp_err mls_secret_tree_peek(mls_secret_tree *t, mls_leaf_idx leaf, mls_ratchet_type type,
                            uint32_t generation, mls_ratchet_key *out);

/* The full state (for persistence between messages). The bytes are secret:
 * the caller frees them with sp_buf_free_secret. */
sp_err mls_secret_tree_encode(const mls_secret_tree *t, sp_buf *out);
/* Rebuilds a tree from mls_secret_tree_encode's bytes; every count and index
 * is checked (SP_ERR_INVALID / SP_ERR_TRUNCATED on bad input). */
sp_err mls_secret_tree_decode(const uint8_t *p, size_t n, mls_secret_tree **out);

/* sender_data_key / sender_data_nonce (§6.3.2): ExpandWithLabel of the
 * sender_data_secret with "key" / "nonce" over the first MLS_HASH_LEN bytes
 * of the PrivateMessage ciphertext (all of it when shorter). */
sp_err mls_sender_data_key_nonce(const uint8_t sender_data_secret[MLS_HASH_LEN],
                                 const uint8_t *ciphertext, size_t ct_len,
                                 uint8_t key[MLS_AEAD_KEY_LEN], uint8_t nonce[MLS_AEAD_NONCE_LEN]);

/* XORs the 4-byte reuse_guard into the first bytes of nonce (§6.3.1). */
void mls_apply_reuse_guard(uint8_t nonce[MLS_AEAD_NONCE_LEN], const uint8_t reuse_guard[4]);

#endif
