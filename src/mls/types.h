/*
 * types.h — the RFC 9420 message structures as plain C structs.
 *
 * These are value types: a struct is usually embedded in another or on the
 * stack, zero-initialised ({0}) before use, and released with its
 * mls_<type>_free(), which frees everything the struct owns (not the struct
 * itself, like sp_buf_free) and leaves it zeroed, so freeing twice is safe.
 * Every byte string is an mls_bytes the struct owns (malloc'd). Fields that
 * carry secrets (GroupSecrets' joiner and path secrets, PSK values,
 * application data) are wiped with OPENSSL_cleanse before they are freed.
 *
 * A struct with a type tag (mls_tree_node, mls_proposal, mls_message, ...)
 * holds every variant side by side rather than in a union: only the variant
 * named by the tag is meaningful, the others stay zero, and freeing never
 * depends on the tag being right.
 *
 * Encoding and decoding live in mls/codec.h.
 */
#ifndef SP_MLS_TYPES_H
#define SP_MLS_TYPES_H

#include <stddef.h>
#include <stdint.h>
#include "base/buf.h"

/* ---- registry values (RFC 9420 §17) ---------------------------------------------- */
#define MLS_VERSION_10 1

enum { /* WireFormat, uint16 */
    MLS_WIRE_PUBLIC_MESSAGE = 1,
    MLS_WIRE_PRIVATE_MESSAGE = 2,
    MLS_WIRE_WELCOME = 3,
    MLS_WIRE_GROUP_INFO = 4,
    MLS_WIRE_KEY_PACKAGE = 5,
};

enum { /* ContentType, uint8 */
    MLS_CONTENT_APPLICATION = 1,
    MLS_CONTENT_PROPOSAL = 2,
    MLS_CONTENT_COMMIT = 3,
};

enum { /* SenderType, uint8 */
    MLS_SENDER_MEMBER = 1,
    MLS_SENDER_EXTERNAL = 2,
    MLS_SENDER_NEW_MEMBER_PROPOSAL = 3,
    MLS_SENDER_NEW_MEMBER_COMMIT = 4,
};

enum { /* ExtensionType, uint16 */
    MLS_EXT_APPLICATION_ID = 1,
    MLS_EXT_RATCHET_TREE = 2,
    MLS_EXT_REQUIRED_CAPABILITIES = 3,
    MLS_EXT_EXTERNAL_PUB = 4,
    MLS_EXT_EXTERNAL_SENDERS = 5,
};

enum { /* ProposalType, uint16 */
    MLS_PROPOSAL_ADD = 1,
    MLS_PROPOSAL_UPDATE = 2,
    MLS_PROPOSAL_REMOVE = 3,
    MLS_PROPOSAL_PSK = 4,
    MLS_PROPOSAL_REINIT = 5,
    MLS_PROPOSAL_EXTERNAL_INIT = 6,
    MLS_PROPOSAL_GROUP_CONTEXT_EXTENSIONS = 7,
};

enum { /* CredentialType, uint16 */
    MLS_CREDENTIAL_BASIC = 1,
    MLS_CREDENTIAL_X509 = 2,
};

enum { /* LeafNodeSource, uint8 */
    MLS_LEAF_SOURCE_KEY_PACKAGE = 1,
    MLS_LEAF_SOURCE_UPDATE = 2,
    MLS_LEAF_SOURCE_COMMIT = 3,
};

enum { /* NodeType, uint8; 0 marks a blank slot in a ratchet tree (absent optional<Node>) */
    MLS_NODE_BLANK = 0,
    MLS_NODE_LEAF = 1,
    MLS_NODE_PARENT = 2,
};

enum { /* PSKType, uint8 */
    MLS_PSK_EXTERNAL = 1,
    MLS_PSK_RESUMPTION = 2,
};

enum { /* ResumptionPSKUsage, uint8 */
    MLS_PSK_USAGE_APPLICATION = 1,
    MLS_PSK_USAGE_REINIT = 2,
    MLS_PSK_USAGE_BRANCH = 3,
};

enum { /* ProposalOrRefType, uint8 */
    MLS_POR_PROPOSAL = 1,
    MLS_POR_REFERENCE = 2,
};

/* GREASE values (§13.5) are 0x0A0A, 0x1A1A, ... 0xEAEA: tolerated, never acted on. */
static inline int mls_is_grease(uint16_t v)
{
    return (v & 0x0f0f) == 0x0a0a && (v >> 12) == ((v >> 4) & 0xf) && (v >> 12) <= 0xe;
}

/* ---- building blocks -------------------------------------------------------------- */

/* An owned byte string: opaque<V>. data may be NULL when len is 0. */
typedef struct {
    uint8_t *data;
    size_t len;
} mls_bytes;

/* Replaces b's contents with a copy of p[0..n). */
sp_err mls_bytes_set(mls_bytes *b, const void *p, size_t n);
void mls_bytes_free(mls_bytes *b);
/* Wipes, then frees: for secrets. */
void mls_bytes_free_secret(mls_bytes *b);
static inline sp_slice mls_bytes_slice(const mls_bytes *b)
{
    sp_slice s = {b->data, b->len};
    return s;
}

typedef struct {
    uint16_t *v;
    size_t n;
} mls_u16_list;

typedef struct {
    uint16_t type;
    mls_bytes data;
} mls_extension;

/* Extension extensions<V>: unknown and GREASE types are kept as they came. */
typedef struct {
    mls_extension *v;
    size_t n;
} mls_extension_list;

/* The first extension of the given type, or NULL. */
const mls_extension *mls_extensions_find(const mls_extension_list *l, uint16_t type);
/* Appends a copy of (type, data). */
sp_err mls_extensions_add(mls_extension_list *l, uint16_t type, const void *data, size_t len);

typedef struct {
    uint16_t type;         /* MLS_CREDENTIAL_* */
    mls_bytes identity;    /* basic */
    mls_bytes *certs;      /* x509: Certificate certificates<V> */
    size_t n_certs;
} mls_credential;

typedef struct {
    mls_u16_list versions;
    mls_u16_list cipher_suites;
    mls_u16_list extensions;
    mls_u16_list proposals;
    mls_u16_list credentials;
} mls_capabilities;

typedef struct {
    uint64_t not_before, not_after;
} mls_lifetime;

typedef struct {
    mls_bytes kem_output;
    mls_bytes ciphertext;
} mls_hpke_ciphertext;

/* PreSharedKeyID (§8.4). */
typedef struct {
    uint8_t type;          /* MLS_PSK_* */
    mls_bytes psk_id;      /* external */
    uint8_t usage;         /* resumption: MLS_PSK_USAGE_* */
    mls_bytes group_id;    /* resumption */
    uint64_t epoch;        /* resumption */
    mls_bytes nonce;
} mls_psk_id;

/* Payloads of two extensions that change behaviour (§11.1, §12.1.8.1); the
 * others (application_id, external_pub, ratchet_tree) are opaque<V> or a
 * ratchet tree. Decode an extension's data with mls_*_decode (mls/codec.h). */
typedef struct {
    mls_u16_list extension_types;
    mls_u16_list proposal_types;
    mls_u16_list credential_types;
} mls_required_capabilities;

typedef struct {
    mls_bytes signature_key;
    mls_credential credential;
} mls_external_sender;

typedef struct {
    mls_external_sender *v;
    size_t n;
} mls_external_senders;

/* ---- the ratchet tree (§7) ---------------------------------------------------------- */

typedef struct {
    mls_bytes encryption_key;   /* HPKEPublicKey */
    mls_bytes signature_key;    /* SignaturePublicKey */
    mls_credential credential;
    mls_capabilities capabilities;
    uint8_t source;             /* MLS_LEAF_SOURCE_* */
    mls_lifetime lifetime;      /* source == key_package */
    mls_bytes parent_hash;      /* source == commit */
    mls_extension_list extensions;
    mls_bytes signature;
} mls_leaf_node;

typedef struct {
    mls_bytes encryption_key;
    mls_bytes parent_hash;
    uint32_t *unmerged_leaves;
    size_t n_unmerged;
} mls_parent_node;

typedef struct {
    uint8_t type;               /* MLS_NODE_BLANK / LEAF / PARENT */
    mls_leaf_node leaf;
    mls_parent_node parent;
} mls_tree_node;

/* optional<Node> ratchet_tree<V>, in node-index order (blank slots have type 0). */
typedef struct {
    mls_tree_node *nodes;
    size_t n;
} mls_ratchet_tree;

typedef struct {
    uint16_t version;
    uint16_t cipher_suite;
    mls_bytes init_key;
    mls_leaf_node leaf_node;
    mls_extension_list extensions;
    mls_bytes signature;
    /* Set by the decoder: the exact bytes it read, from which KeyPackageRef is
     * hashed. Empty for a key package built locally until it is encoded. */
    mls_bytes raw;
} mls_key_package;

typedef struct {
    mls_bytes encryption_key;
    mls_hpke_ciphertext *secrets;   /* encrypted_path_secret<V> */
    size_t n_secrets;
} mls_update_path_node;

typedef struct {
    mls_leaf_node leaf_node;
    mls_update_path_node *nodes;
    size_t n;
} mls_update_path;

/* ---- proposals and commits (§12) ---------------------------------------------------- */

typedef struct {
    mls_bytes group_id;
    uint16_t version;
    uint16_t cipher_suite;
    mls_extension_list extensions;
} mls_reinit;

typedef struct {
    uint16_t type;                     /* MLS_PROPOSAL_* */
    mls_key_package add;               /* add */
    mls_leaf_node update;              /* update */
    uint32_t remove;                   /* remove: the removed leaf */
    mls_psk_id psk;                    /* psk */
    mls_reinit reinit;                 /* reinit */
    mls_bytes external_init;           /* external_init: kem_output */
    mls_extension_list gce;            /* group_context_extensions */
} mls_proposal;

typedef struct {
    uint8_t type;                      /* MLS_POR_* */
    mls_proposal proposal;
    mls_bytes reference;               /* ProposalRef */
} mls_proposal_or_ref;

typedef struct {
    mls_proposal_or_ref *proposals;
    size_t n_proposals;
    int has_path;
    mls_update_path path;
} mls_commit;

/* ---- group state carried in messages (§8.1, §12.4.3) -------------------------------- */

typedef struct {
    uint16_t version;
    uint16_t cipher_suite;
    mls_bytes group_id;
    uint64_t epoch;
    mls_bytes tree_hash;
    mls_bytes confirmed_transcript_hash;
    mls_extension_list extensions;
} mls_group_context;

typedef struct {
    mls_group_context group_context;
    mls_extension_list extensions;
    mls_bytes confirmation_tag;
    uint32_t signer;
    mls_bytes signature;
} mls_group_info;

/* Secret: joiner_secret, path_secret and the PSK ids are wiped on free. */
typedef struct {
    mls_bytes joiner_secret;
    int has_path_secret;
    mls_bytes path_secret;
    mls_psk_id *psks;
    size_t n_psks;
} mls_group_secrets;

typedef struct {
    mls_bytes new_member;              /* KeyPackageRef */
    mls_hpke_ciphertext encrypted_group_secrets;
} mls_encrypted_group_secrets;

typedef struct {
    uint16_t cipher_suite;
    mls_encrypted_group_secrets *secrets;
    size_t n_secrets;
    mls_bytes encrypted_group_info;
} mls_welcome;

/* ---- framing (§6) ------------------------------------------------------------------- */

typedef struct {
    uint8_t type;                      /* MLS_SENDER_* */
    uint32_t index;                    /* member: leaf index; external: sender index */
} mls_sender;

typedef struct {
    mls_bytes group_id;
    uint64_t epoch;
    mls_sender sender;
    mls_bytes authenticated_data;
    uint8_t content_type;              /* MLS_CONTENT_* */
    mls_bytes application_data;        /* application (wiped on free) */
    mls_proposal proposal;             /* proposal */
    mls_commit commit;                 /* commit */
} mls_framed_content;

typedef struct {
    mls_bytes signature;
    mls_bytes confirmation_tag;        /* present iff content_type == commit */
} mls_auth_data;

typedef struct {
    uint16_t wire_format;
    mls_framed_content content;
    mls_auth_data auth;
} mls_authenticated_content;

typedef struct {
    mls_framed_content content;
    mls_auth_data auth;
    mls_bytes membership_tag;          /* present iff sender is a member */
} mls_public_message;

typedef struct {
    mls_bytes group_id;
    uint64_t epoch;
    uint8_t content_type;
    mls_bytes authenticated_data;
    mls_bytes encrypted_sender_data;
    mls_bytes ciphertext;
} mls_private_message;

typedef struct {
    uint16_t version;
    uint16_t wire_format;              /* MLS_WIRE_*: names the one meaningful member */
    mls_public_message public_message;
    mls_private_message private_message;
    mls_welcome welcome;
    mls_group_info group_info;
    mls_key_package key_package;
} mls_message;

/* ---- release --------------------------------------------------------------------------- */
void mls_u16_list_free(mls_u16_list *l);
void mls_extension_list_free(mls_extension_list *l);
void mls_credential_free(mls_credential *c);
void mls_capabilities_free(mls_capabilities *c);
void mls_hpke_ciphertext_free(mls_hpke_ciphertext *c);
void mls_required_capabilities_free(mls_required_capabilities *r);
void mls_external_senders_free(mls_external_senders *e);
void mls_psk_id_free(mls_psk_id *p);
void mls_leaf_node_free(mls_leaf_node *l);
void mls_parent_node_free(mls_parent_node *p);
void mls_tree_node_free(mls_tree_node *n);
void mls_ratchet_tree_free(mls_ratchet_tree *t);
void mls_key_package_free(mls_key_package *kp);
void mls_update_path_node_free(mls_update_path_node *n);
void mls_update_path_free(mls_update_path *p);
void mls_reinit_free(mls_reinit *r);
void mls_proposal_free(mls_proposal *p);
void mls_proposal_or_ref_free(mls_proposal_or_ref *p);
void mls_commit_free(mls_commit *c);
void mls_group_context_free(mls_group_context *g);
void mls_group_info_free(mls_group_info *g);
void mls_group_secrets_free(mls_group_secrets *g);
void mls_encrypted_group_secrets_free(mls_encrypted_group_secrets *e);
void mls_welcome_free(mls_welcome *w);
void mls_framed_content_free(mls_framed_content *c);
void mls_auth_data_free(mls_auth_data *a);
void mls_authenticated_content_free(mls_authenticated_content *a);
void mls_public_message_free(mls_public_message *m);
void mls_private_message_free(mls_private_message *m);
void mls_message_free(mls_message *m);

#endif
