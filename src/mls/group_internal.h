/*
 * group_internal.h — the inside of an mls_group, shared by group.c (the API),
 * group_state.c (clone, save, load), commit.c (proposals and commits) and
 * welcome.c (Welcome out and in). Not for use outside src/mls/.
 *
 * Every operation that can fail on untrusted input works on a clone and
 * returns it as the next state, so the current one is never half-changed.
 */
#ifndef SP_MLS_GROUP_INTERNAL_H
#define SP_MLS_GROUP_INTERNAL_H

#include "mls/group.h"
#include "mls/key_schedule.h"
#include "mls/ratchet_tree.h"
#include "mls/secret_tree.h"
#include "mls/treekem.h"
#include "mls/types.h"

#define TRY(x)                \
    do {                      \
        sp_err e_ = (x);      \
        if (e_ != SP_OK)      \
            return e_;        \
    } while (0)

/* What a past epoch keeps to read late application messages. Shared (by
 * reference count) between a state and its staged clones: only its secret
 * tree changes, as late messages consume keys, which every holder of the
 * entry should see anyway. */
typedef struct {
    int refs;
    mls_group_context ctx; /* for the signature's FramedContentTBS */
    uint8_t sender_data_secret[MLS_HASH_LEN];
    mls_secret_tree *st;
    mls_tree *tree; /* senders' signature keys and identities */
} mls_past_epoch;

/* resumption_psk of an epoch, for PreSharedKey proposals of type resumption. */
typedef struct {
    uint64_t epoch;
    uint8_t psk[MLS_HASH_LEN];
} mls_resumption;
#define MLS_GROUP_RESUMPTION_KEPT 16

/* A proposal received in this epoch, for commits that refer to it. */
typedef struct {
    uint8_t ref[MLS_HASH_LEN];
    uint32_t sender;
    mls_proposal p;
} mls_cached_proposal;

typedef struct {
    mls_bytes id, psk;
} mls_psk_entry;

struct mls_group {
    int active;
    int private_handshake; /* our commits go out as PrivateMessages */
    mls_group_context ctx;
    mls_tree *tree;
    uint32_t me;
    uint8_t sig_priv[MLS_SIG_PRIV_LEN];
    mls_signer *signer;
    mls_privs privs; /* our leaf's and parents' HPKE private keys */
    uint8_t interim[MLS_HASH_LEN];
    size_t interim_len;
    mls_epoch_secrets sec;
    mls_secret_tree *st;
    mls_past_epoch **past;
    size_t n_past;
    unsigned max_past;
    mls_resumption *res;
    size_t n_res;
    mls_cached_proposal *props;
    size_t n_props;
    mls_psk_entry *psks;
    size_t n_psks;
    const mls_rand *rng;
};

/* group_state.c */
sp_err mls_group_alloc(mls_group **out);
sp_err mls_group_clone(const mls_group *g, mls_group **out);
mls_past_epoch *mls_past_epoch_new(void);
void mls_past_epoch_unref(mls_past_epoch *p);
/* Records the resumption PSK of the current epoch (keeps the last few). */
sp_err mls_group_note_resumption(mls_group *g);

/* commit.c */
/* Creates a commit of the given by-value proposals (their sender is us),
 * with a path when force_path or when the proposals need one. */
sp_err mls_commit_create(const mls_group *g, mls_proposal *props, size_t n, int force_path,
                         mls_commit_out *out, mls_group **next);
/* Handles an opened proposal or commit (ns is a clone of the current state;
 * ac is only read, but shares advance() with the creator, who writes the tag). */
sp_err mls_handle_content(mls_group *ns, mls_authenticated_content *ac, mls_process_info *info);

/* welcome.c */
/* The Welcome for the members added by a commit. */
sp_err mls_welcome_create(const mls_group *ns, const mls_key_package *const *kps,
                          const uint32_t *leaves, size_t n, const mls_treekem_secrets *path,
                          const mls_psk_id *const *psks, size_t n_psks,
                          const uint8_t *confirmation_tag, sp_buf *tree_enc, sp_buf *out);
/* Finds our entry (by the KeyPackageRef of kp), decrypts our GroupSecrets
 * with init_priv, works out the psk_secret from the external psks, and
 * decrypts the GroupInfo (not yet verified). */
sp_err mls_welcome_open(const mls_welcome *w, const mls_key_package *kp,
                        const uint8_t init_priv[MLS_KEM_PRIV_LEN], const mls_external_psk *psks,
                        size_t n_psks, mls_group_secrets *gs, uint8_t psk[MLS_HASH_LEN],
                        mls_group_info *gi);
/* Joins with the key package's private keys given one by one. */
sp_err mls_group_join_keys(const mls_welcome *w, const uint8_t *ratchet_tree, size_t tree_len,
                           const mls_key_package *kp, const uint8_t init_priv[MLS_KEM_PRIV_LEN],
                           const uint8_t enc_priv[MLS_KEM_PRIV_LEN],
                           const uint8_t sig_priv[MLS_SIG_PRIV_LEN],
                           const mls_external_psk *psks, size_t n_psks, const mls_rand *rng,
                           mls_group **out);

#endif
