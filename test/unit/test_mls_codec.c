/* test_mls_codec.c — unit tests of mls/codec.h: truncation and trailing bytes, over-long
 * and non-minimal lengths, bad tags, GREASE and unknown extensions, exact key-package
 * bytes, to-be-signed encodings, ratchet-tree shape rules, and freeing. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "json.h"
#include "mls/codec.h"
#include "mls/crypto.h"
#include "mls/signed.h"
#include "mls/tls.h"

CHECK_MAIN_DEFS

static json *vectors;

static uint8_t *vec(const char *key, size_t *n)
{
    return json_gethex(json_at(vectors, 0), key, n);
}

/* Every strict prefix of a valid encoding fails, and one extra byte is refused. */
#define PREFIX_AND_TRAILER(T, p, n)                                                     \
    do {                                                                                \
        int all_fail = 1;                                                               \
        for (size_t k = 0; k < (n); k++) {                                              \
            mls_##T v_;                                                                 \
            if (mls_##T##_decode((p), k, &v_) == SP_OK) {                               \
                all_fail = 0;                                                           \
                mls_##T##_free(&v_);                                                    \
            }                                                                           \
        }                                                                               \
        CHECK_MSG(all_fail, "a prefix of " #T " decoded");                              \
        uint8_t *q_ = malloc((n) + 1);                                                  \
        memcpy(q_, (p), (n));                                                           \
        q_[(n)] = 0;                                                                    \
        mls_##T v_;                                                                     \
        CHECK(mls_##T##_decode(q_, (n) + 1, &v_) == SP_ERR_INVALID);                    \
        CHECK(mls_##T##_decode(q_, (n), &v_) == SP_OK);                                 \
        mls_##T##_free(&v_);                                                            \
        free(q_);                                                                       \
    } while (0)

static void test_truncation(void)
{
    size_t n;
    uint8_t *p;
    const char *msgs[] = {"mls_welcome", "mls_group_info", "mls_key_package",
                          "public_message_commit", "public_message_proposal", "private_message"};
    for (size_t i = 0; i < sizeof msgs / sizeof *msgs; i++) {
        p = vec(msgs[i], &n);
        CHECK(p != NULL);
        PREFIX_AND_TRAILER(message, p, n);
        free(p);
    }
    p = vec("ratchet_tree", &n);
    PREFIX_AND_TRAILER(ratchet_tree, p, n);
    free(p);
    p = vec("group_secrets", &n);
    PREFIX_AND_TRAILER(group_secrets, p, n);
    free(p);
    p = vec("commit", &n);
    PREFIX_AND_TRAILER(commit, p, n);
    free(p);
}

static void test_lengths(void)
{
    /* a basic credential: type 1, identity "abc" */
    const uint8_t good[] = {0x00, 0x01, 0x03, 'a', 'b', 'c'};
    mls_credential c;
    CHECK(mls_credential_decode(good, sizeof good, &c) == SP_OK);
    CHECK(c.type == MLS_CREDENTIAL_BASIC && c.identity.len == 3 &&
          memcmp(c.identity.data, "abc", 3) == 0);
    mls_credential_free(&c);
    /* the length claims more than there is */
    const uint8_t over[] = {0x00, 0x01, 0x04, 'a', 'b', 'c'};
    CHECK(mls_credential_decode(over, sizeof over, &c) == SP_ERR_TRUNCATED);
    CHECK(c.identity.data == NULL && c.type == 0); /* left empty */
    /* a 4-byte length near 2^30 with no body: refused before any allocation */
    const uint8_t huge[] = {0x00, 0x01, 0xbf, 0xff, 0xff, 0xff};
    CHECK(mls_credential_decode(huge, sizeof huge, &c) == SP_ERR_TRUNCATED);
    /* non-minimal length (2 bytes for 3) */
    const uint8_t nonmin[] = {0x00, 0x01, 0x40, 0x03, 'a', 'b', 'c'};
    CHECK(mls_credential_decode(nonmin, sizeof nonmin, &c) == SP_ERR_INVALID);
    /* reserved 0b11 prefix */
    const uint8_t reserved[] = {0x00, 0x01, 0xc0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03};
    CHECK(mls_credential_decode(reserved, sizeof reserved, &c) == SP_ERR_INVALID);
    /* an unknown credential type cannot be skipped */
    const uint8_t unk[] = {0x0a, 0x0a, 0x03, 'a', 'b', 'c'};
    CHECK(mls_credential_decode(unk, sizeof unk, &c) == SP_ERR_UNSUPPORTED);
    /* x509: a vector of certificates */
    const uint8_t x509[] = {0x00, 0x02, 0x05, 0x01, 'x', 0x02, 'y', 'z'};
    CHECK(mls_credential_decode(x509, sizeof x509, &c) == SP_OK);
    CHECK(c.n_certs == 2 && c.certs[1].len == 2);
    sp_buf b = SP_BUF_INIT;
    CHECK(mls_credential_write(&b, &c) == SP_OK && b.len == sizeof x509 &&
          memcmp(b.data, x509, b.len) == 0);
    sp_buf_free(&b);
    mls_credential_free(&c);
    /* an item that overruns its vector */
    const uint8_t overrun[] = {0x00, 0x02, 0x02, 0x05, 'x', 'y', 'z', 'w', 'v'};
    CHECK(mls_credential_decode(overrun, sizeof overrun, &c) == SP_ERR_TRUNCATED);
    /* capabilities: a uint16 list with an odd byte count */
    const uint8_t odd[] = {0x03, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00};
    mls_capabilities caps;
    CHECK(mls_capabilities_decode(odd, sizeof odd, &caps) == SP_ERR_INVALID);
}

static void test_tags(void)
{
    mls_message m;
    /* version 2 */
    const uint8_t v2[] = {0x00, 0x02, 0x00, 0x05};
    CHECK(mls_message_decode(v2, sizeof v2, &m) == SP_ERR_UNSUPPORTED);
    /* unknown wire format */
    const uint8_t wf[] = {0x00, 0x01, 0x00, 0x09};
    CHECK(mls_message_decode(wf, sizeof wf, &m) == SP_ERR_UNSUPPORTED);
    /* proposals: unknown type, bad remove length */
    mls_proposal p;
    const uint8_t unk[] = {0x0a, 0x0a, 0x00};
    CHECK(mls_proposal_decode(unk, sizeof unk, &p) == SP_ERR_UNSUPPORTED);
    const uint8_t rm[] = {0x00, 0x03, 0x00, 0x00, 0x00, 0x07};
    CHECK(mls_proposal_decode(rm, sizeof rm, &p) == SP_OK && p.remove == 7);
    mls_proposal_free(&p);
    CHECK(mls_proposal_decode(rm, sizeof rm - 1, &p) == SP_ERR_TRUNCATED);
    /* commit: optional path byte must be 0 or 1 */
    mls_commit c;
    const uint8_t commit_ok[] = {0x00, 0x00};
    const uint8_t commit_bad[] = {0x00, 0x02};
    CHECK(mls_commit_decode(commit_ok, sizeof commit_ok, &c) == SP_OK && !c.has_path);
    mls_commit_free(&c);
    CHECK(mls_commit_decode(commit_bad, sizeof commit_bad, &c) == SP_ERR_INVALID);
    /* proposal-or-ref tag 3 */
    const uint8_t por[] = {0x02, 0x03, 0x00, 0x00};
    CHECK(mls_commit_decode(por, sizeof por, &c) == SP_ERR_INVALID);
    /* PSK id: type 3, and a resumption usage 0 */
    mls_psk_id psk;
    const uint8_t psk_bad[] = {0x03, 0x00, 0x00};
    CHECK(mls_psk_id_decode(psk_bad, sizeof psk_bad, &psk) == SP_ERR_INVALID);
    const uint8_t psk_usage[] = {0x02, 0x00, 0x00, 0, 0, 0, 0, 0, 0, 0, 0, 0x00};
    CHECK(mls_psk_id_decode(psk_usage, sizeof psk_usage, &psk) == SP_ERR_INVALID);
    /* framed content: sender type 5, content type 4 */
    mls_framed_content fc;
    const uint8_t sender_bad[] = {0x00, 0, 0, 0, 0, 0, 0, 0, 1, 0x05};
    CHECK(mls_framed_content_decode(sender_bad, sizeof sender_bad, &fc) == SP_ERR_INVALID);
    const uint8_t ct_bad[] = {0x00, 0, 0, 0, 0, 0, 0, 0, 1, 0x03, 0x00, 0x04, 0x00};
    CHECK(mls_framed_content_decode(ct_bad, sizeof ct_bad, &fc) == SP_ERR_INVALID);
    const uint8_t app[] = {0x01, 'g', 0, 0, 0, 0, 0, 0, 0, 1, 0x03, 0x00, 0x01, 0x02, 'h', 'i'};
    CHECK(mls_framed_content_decode(app, sizeof app, &fc) == SP_OK &&
          fc.sender.type == MLS_SENDER_NEW_MEMBER_PROPOSAL &&
          fc.content_type == MLS_CONTENT_APPLICATION && fc.application_data.len == 2);
    mls_framed_content_free(&fc);
    mls_framed_content_free(&fc); /* twice is harmless */
}

static void test_ratchet_tree_shape(void)
{
    mls_ratchet_tree t;
    const uint8_t empty[] = {0x00};
    CHECK(mls_ratchet_tree_decode(empty, sizeof empty, &t) == SP_ERR_INVALID);
    /* a parent node in slot 0, where a leaf belongs */
    const uint8_t parent_at_0[] = {0x06, 0x01, 0x02, 0x01, 'k', 0x00, 0x00};
    CHECK(mls_ratchet_tree_decode(parent_at_0, sizeof parent_at_0, &t) == SP_ERR_INVALID);
    /* unmerged leaves must be whole uint32s */
    const uint8_t unmerged[] = {0x01, 'k', 0x00, 0x03, 0, 0, 1};
    mls_parent_node pn;
    CHECK(mls_parent_node_decode(unmerged, sizeof unmerged, &pn) == SP_ERR_INVALID);
    /* the real tree: trimmed, and a trailing blank makes it invalid */
    size_t n;
    uint8_t *p = vec("ratchet_tree", &n);
    CHECK(mls_ratchet_tree_decode(p, n, &t) == SP_OK);
    CHECK(t.n % 2 == 1 && t.nodes[t.n - 1].type == MLS_NODE_LEAF);
    sp_buf b = SP_BUF_INIT;
    for (size_t i = 0; i < t.n; i++) {
        if (t.nodes[i].type == MLS_NODE_BLANK)
            sp_buf_put_u8(&b, 0);
        else {
            sp_buf_put_u8(&b, 1);
            mls_tree_node_write(&b, &t.nodes[i]);
        }
    }
    sp_buf_put_u8(&b, 0); /* a blank slot at the end */
    sp_buf enc = SP_BUF_INIT;
    mls_put_varint(&enc, b.len);
    sp_buf_append(&enc, b.data, b.len);
    mls_ratchet_tree t2;
    CHECK(mls_ratchet_tree_decode(enc.data, enc.len, &t2) == SP_ERR_INVALID);
    sp_buf_free(&b);
    sp_buf_free(&enc);
    mls_ratchet_tree_free(&t);
    free(p);
}

/* A key package with GREASE everywhere §13.5 allows it, and an unknown extension. */
static void test_grease_and_unknown_extensions(void)
{
    CHECK(mls_is_grease(0x0a0a) && mls_is_grease(0x5a5a) && mls_is_grease(0xeaea));
    CHECK(!mls_is_grease(0xfafa) && !mls_is_grease(0x0a1a) && !mls_is_grease(0x0001));

    size_t n;
    uint8_t *p = vec("mls_key_package", &n);
    mls_message m;
    CHECK(mls_message_decode(p, n, &m) == SP_OK);
    free(p);
    mls_key_package *kp = &m.key_package;
    uint16_t g[] = {0x1a1a, 0x2a2a};
    mls_capabilities *caps = &kp->leaf_node.capabilities;
    mls_u16_list *lists[] = {&caps->cipher_suites, &caps->extensions, &caps->proposals,
                             &caps->credentials};
    for (size_t i = 0; i < 4; i++) {
        lists[i]->v = realloc(lists[i]->v, (lists[i]->n + 2) * sizeof(uint16_t));
        memcpy(lists[i]->v + lists[i]->n, g, sizeof g);
        lists[i]->n += 2;
    }
    CHECK(mls_extensions_add(&kp->leaf_node.extensions, 0x3a3a, "grease", 6) == SP_OK);
    CHECK(mls_extensions_add(&kp->extensions, 0xff01, "private-use", 11) == SP_OK);
    CHECK(mls_extensions_add(&kp->extensions, 0x4a4a, "", 0) == SP_OK);

    sp_buf b = SP_BUF_INIT;
    CHECK(mls_key_package_write(&b, kp) == SP_OK);
    mls_key_package kp2;
    CHECK(mls_key_package_decode(b.data, b.len, &kp2) == SP_OK);
    /* kept exactly, in order, and the raw bytes are the input */
    CHECK(kp2.raw.len == b.len && memcmp(kp2.raw.data, b.data, b.len) == 0);
    const mls_extension *x = mls_extensions_find(&kp2.extensions, 0xff01);
    CHECK(x && x->data.len == 11 && memcmp(x->data.data, "private-use", 11) == 0);
    CHECK(mls_extensions_find(&kp2.leaf_node.extensions, 0x3a3a) != NULL);
    CHECK(mls_extensions_find(&kp2.extensions, 0x4a4a) && !mls_extensions_find(&kp2.extensions, 9));
    CHECK(kp2.leaf_node.capabilities.credentials.n == caps->credentials.n &&
          kp2.leaf_node.capabilities.credentials.v[caps->credentials.n - 1] == 0x2a2a);
    sp_buf b2 = SP_BUF_INIT;
    CHECK(mls_key_package_write(&b2, &kp2) == SP_OK && b2.len == b.len &&
          memcmp(b2.data, b.data, b.len) == 0);

    /* TBS + signature<V> is the whole key package; the ref hashes the raw bytes */
    sp_buf tbs = SP_BUF_INIT;
    CHECK(mls_key_package_write_tbs(&tbs, &kp2) == SP_OK);
    mls_put_opaque(&tbs, kp2.signature.data, kp2.signature.len);
    CHECK(tbs.len == b.len && memcmp(tbs.data, b.data, b.len) == 0);
    uint8_t ref1[MLS_HASH_LEN], ref2[MLS_HASH_LEN];
    CHECK(mls_make_key_package_ref(kp2.raw.data, kp2.raw.len, ref1) == SP_OK);
    CHECK(mls_make_key_package_ref(b.data, b.len, ref2) == SP_OK && memcmp(ref1, ref2, 32) == 0);

    /* LeafNodeTBS: a key-package leaf has no group binding; an update leaf does */
    sp_buf t1 = SP_BUF_INIT, t2 = SP_BUF_INIT;
    sp_slice gid = {(const uint8_t *)"group", 5};
    CHECK(mls_leaf_node_write_tbs(&t1, &kp2.leaf_node, gid, 3) == SP_OK);
    kp2.leaf_node.source = MLS_LEAF_SOURCE_UPDATE;
    CHECK(mls_leaf_node_write_tbs(&t2, &kp2.leaf_node, gid, 3) == SP_OK);
    /* update drops the 16-byte lifetime and adds group_id<V> (6) and leaf_index (4) */
    CHECK(t2.len == t1.len - 16 + 6 + 4);
    CHECK(memcmp(t2.data + t2.len - 4, "\0\0\0\3", 4) == 0);
    sp_buf_free(&t1);
    sp_buf_free(&t2);
    sp_buf_free(&tbs);
    sp_buf_free(&b);
    sp_buf_free(&b2);
    mls_key_package_free(&kp2);
    mls_message_free(&m);
}

static void test_group_info_tbs_and_secrets(void)
{
    size_t n;
    uint8_t *p = vec("mls_group_info", &n);
    mls_message m;
    CHECK(mls_message_decode(p, n, &m) == SP_OK && m.wire_format == MLS_WIRE_GROUP_INFO);
    sp_buf tbs = SP_BUF_INIT;
    CHECK(mls_group_info_write_tbs(&tbs, &m.group_info) == SP_OK);
    mls_put_opaque(&tbs, m.group_info.signature.data, m.group_info.signature.len);
    CHECK(tbs.len == n - 4 && memcmp(tbs.data, p + 4, n - 4) == 0);
    sp_buf_free(&tbs);
    mls_message_free(&m);
    free(p);

    /* group secrets with a path secret and two PSKs survive a round trip */
    mls_group_secrets gs = {0}, gs2;
    mls_bytes_set(&gs.joiner_secret, "0123456789abcdef0123456789abcdef", 32);
    gs.has_path_secret = 1;
    mls_bytes_set(&gs.path_secret, "path-secret", 11);
    gs.psks = calloc(2, sizeof *gs.psks);
    gs.n_psks = 2;
    gs.psks[0].type = MLS_PSK_EXTERNAL;
    mls_bytes_set(&gs.psks[0].psk_id, "ext", 3);
    mls_bytes_set(&gs.psks[0].nonce, "n1", 2);
    gs.psks[1].type = MLS_PSK_RESUMPTION;
    gs.psks[1].usage = MLS_PSK_USAGE_BRANCH;
    mls_bytes_set(&gs.psks[1].group_id, "g", 1);
    gs.psks[1].epoch = 99;
    mls_bytes_set(&gs.psks[1].nonce, "n2", 2);
    sp_buf b = SP_BUF_INIT, b2 = SP_BUF_INIT;
    CHECK(mls_group_secrets_write(&b, &gs) == SP_OK);
    CHECK(mls_group_secrets_decode(b.data, b.len, &gs2) == SP_OK);
    CHECK(gs2.has_path_secret && gs2.path_secret.len == 11 && gs2.n_psks == 2 &&
          gs2.psks[1].epoch == 99 && gs2.psks[1].usage == MLS_PSK_USAGE_BRANCH);
    CHECK(mls_group_secrets_write(&b2, &gs2) == SP_OK && b2.len == b.len &&
          memcmp(b.data, b2.data, b.len) == 0);
    mls_group_secrets_free(&gs);
    mls_group_secrets_free(&gs2);
    CHECK(gs.joiner_secret.data == NULL && gs.psks == NULL && gs.n_psks == 0);
    sp_buf_free_secret(&b);
    sp_buf_free_secret(&b2);
}

/* Writers refuse values they cannot encode. */
static void test_writer_errors(void)
{
    sp_buf b = SP_BUF_INIT;
    mls_proposal p = {0};
    p.type = 0x0a0a;
    CHECK(mls_proposal_write(&b, &p) == SP_ERR_UNSUPPORTED);
    mls_leaf_node l = {0};
    l.credential.type = MLS_CREDENTIAL_BASIC;
    l.source = 9;
    sp_buf_reset(&b);
    CHECK(mls_leaf_node_write(&b, &l) == SP_ERR_INVALID);
    mls_framed_content fc = {0};
    fc.sender.type = MLS_SENDER_MEMBER;
    fc.content_type = MLS_CONTENT_PROPOSAL;
    fc.proposal.type = MLS_PROPOSAL_REMOVE;
    sp_buf_reset(&b);
    /* a member's FramedContentTBS needs the group context */
    CHECK(mls_framed_content_write_tbs(&b, MLS_WIRE_PUBLIC_MESSAGE, &fc, NULL) == SP_ERR_INVALID);
    sp_buf_free(&b);
}

/* Signatures over the TBS encodings, with the refs and raw bytes kept in step. */
static void test_signed_objects(void)
{
    uint8_t priv[32];
    for (int i = 0; i < 32; i++)
        priv[i] = (uint8_t)(i * 5 + 1);
    mls_signer *s;
    CHECK(mls_signer_new(priv, &s) == SP_OK);

    size_t n;
    uint8_t *p = vec("mls_key_package", &n);
    mls_message m;
    CHECK(mls_message_decode(p, n, &m) == SP_OK);
    free(p);
    mls_key_package *kp = &m.key_package;
    CHECK(mls_key_package_verify(kp) == SP_OK);
    uint8_t ref_before[32], ref_after[32];
    CHECK(mls_key_package_ref(kp, ref_before) == SP_OK);
    /* take it over with our key: leaf first, then the package */
    mls_bytes_set(&kp->leaf_node.signature_key, mls_signer_pub(s), 32);
    CHECK(mls_key_package_verify(kp) == SP_ERR_CRYPTO);
    sp_slice none = {NULL, 0};
    CHECK(mls_leaf_node_sign(&kp->leaf_node, s, none, 0) == SP_OK);
    CHECK(mls_key_package_verify(kp) == SP_ERR_CRYPTO); /* package signature still old */
    CHECK(mls_key_package_sign(kp, s) == SP_OK);
    CHECK(mls_key_package_verify(kp) == SP_OK);
    CHECK(mls_key_package_ref(kp, ref_after) == SP_OK && memcmp(ref_before, ref_after, 32) != 0);
    sp_buf b = SP_BUF_INIT;
    CHECK(mls_key_package_write(&b, kp) == SP_OK && b.len == kp->raw.len &&
          memcmp(b.data, kp->raw.data, b.len) == 0);
    uint8_t ref_enc[32];
    CHECK(mls_make_key_package_ref(b.data, b.len, ref_enc) == SP_OK &&
          memcmp(ref_enc, ref_after, 32) == 0);
    sp_buf_free(&b);
    kp->leaf_node.lifetime.not_after++;
    CHECK(mls_key_package_verify(kp) == SP_ERR_CRYPTO);
    kp->leaf_node.lifetime.not_after--;

    /* an update leaf is bound to its group and index */
    mls_leaf_node *l = &kp->leaf_node;
    l->source = MLS_LEAF_SOURCE_UPDATE;
    sp_slice gid = {(const uint8_t *)"gid", 3}, other = {(const uint8_t *)"gie", 3};
    CHECK(mls_leaf_node_sign(l, s, gid, 4) == SP_OK);
    CHECK(mls_leaf_node_verify(l, gid, 4) == SP_OK);
    CHECK(mls_leaf_node_verify(l, gid, 5) == SP_ERR_CRYPTO);
    CHECK(mls_leaf_node_verify(l, other, 4) == SP_ERR_CRYPTO);
    CHECK(mls_key_package_verify(kp) == SP_ERR_INVALID); /* not a key-package leaf */
    mls_bytes_set(&l->signature_key, "short", 5);
    CHECK(mls_leaf_node_verify(l, gid, 4) == SP_ERR_CRYPTO);
    mls_message_free(&m);

    /* group info */
    p = vec("mls_group_info", &n);
    CHECK(mls_message_decode(p, n, &m) == SP_OK);
    free(p);
    CHECK(mls_group_info_sign(&m.group_info, s) == SP_OK);
    CHECK(mls_group_info_verify(&m.group_info, mls_signer_pub(s)) == SP_OK);
    m.group_info.signer ^= 1;
    CHECK(mls_group_info_verify(&m.group_info, mls_signer_pub(s)) == SP_ERR_CRYPTO);
    mls_message_free(&m);
    mls_signer_free(s);
}

static void test_extension_payloads(void)
{
    /* required_capabilities: extensions {5, 0x0a0a}, proposals {}, credentials {1} */
    const uint8_t rc[] = {0x04, 0x00, 0x05, 0x0a, 0x0a, 0x00, 0x02, 0x00, 0x01};
    mls_required_capabilities r;
    CHECK(mls_required_capabilities_decode(rc, sizeof rc, &r) == SP_OK);
    CHECK(r.extension_types.n == 2 && r.proposal_types.n == 0 && r.credential_types.n == 1 &&
          mls_is_grease(r.extension_types.v[1]));
    sp_buf b = SP_BUF_INIT;
    CHECK(mls_required_capabilities_write(&b, &r) == SP_OK && b.len == sizeof rc &&
          memcmp(b.data, rc, sizeof rc) == 0);
    mls_required_capabilities_free(&r);
    CHECK(mls_required_capabilities_decode(rc, sizeof rc - 1, &r) == SP_ERR_TRUNCATED);
    /* external_senders: one sender, key "K", basic credential "id" */
    const uint8_t es[] = {0x07, 0x01, 'K', 0x00, 0x01, 0x02, 'i', 'd'};
    mls_external_senders e;
    CHECK(mls_external_senders_decode(es, sizeof es, &e) == SP_OK);
    CHECK(e.n == 1 && e.v[0].signature_key.len == 1 && e.v[0].credential.identity.len == 2);
    sp_buf_reset(&b);
    CHECK(mls_external_senders_write(&b, &e) == SP_OK && b.len == sizeof es &&
          memcmp(b.data, es, sizeof es) == 0);
    mls_external_senders_free(&e);
    mls_external_senders_free(&e);
    sp_buf_free(&b);
}

/* Copies are deep and exact. */
static void test_copy(void)
{
    size_t n;
    uint8_t *p = vec("mls_key_package", &n);
    mls_message m;
    CHECK(mls_message_decode(p, n, &m) == SP_OK);
    mls_key_package kp;
    CHECK(mls_key_package_copy(&kp, &m.key_package) == SP_OK);
    CHECK(kp.raw.len == m.key_package.raw.len &&
          memcmp(kp.raw.data, m.key_package.raw.data, kp.raw.len) == 0);
    CHECK(kp.init_key.data != m.key_package.init_key.data);
    mls_leaf_node leaf;
    CHECK(mls_leaf_node_copy(&leaf, &kp.leaf_node) == SP_OK);
    mls_message_free(&m);
    mls_key_package_free(&kp);
    sp_buf b = SP_BUF_INIT;
    CHECK(mls_leaf_node_write(&b, &leaf) == SP_OK); /* still valid after the originals are gone */
    sp_buf_free(&b);
    mls_leaf_node_free(&leaf);
    /* a copy of something that cannot be encoded fails and leaves dst empty */
    mls_proposal bad = {0}, dst;
    bad.type = 0x7777;
    CHECK(mls_proposal_copy(&dst, &bad) == SP_ERR_UNSUPPORTED && dst.type == 0);
    free(p);
}

int main(void)
{
    vectors = json_load_file("test/vectors/mls/messages.json");
    CHECK(vectors != NULL && json_len(vectors) > 0);
    if (!vectors)
        return check_done();
    test_truncation();
    test_lengths();
    test_tags();
    test_ratchet_tree_shape();
    test_grease_and_unknown_extensions();
    test_group_info_tbs_and_secrets();
    test_writer_errors();
    test_signed_objects();
    test_extension_payloads();
    test_copy();
    json_free(vectors);
    return check_done();
}
