/* test_mls_group_proposals.c — the proposal rules of RFC 9420 §12.2/§12.3 on
 * commits made through the library's internal mls_commit_create (the public
 * API only makes Add, Remove and empty commits): ReInit ends the group and
 * stands alone; GroupContextExtensions at most once and only with types every
 * member supports; one change per leaf; no Update or Remove of the committer;
 * external and resumption PSKs change the key schedule for members and
 * joiners alike, and an unknown PSK refuses the commit; received proposals are
 * cached under their ProposalRef; bad lists leave no trace. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "mls/codec.h"
#include "mls/framing.h"
#include "mls/group_internal.h"
#include "mls/key_package.h"

CHECK_MAIN_DEFS

static uint64_t seed = 42;
static sp_err det_rand(void *ctx, uint8_t *out, size_t n)
{
    (void)ctx;
    for (size_t i = 0; i < n; i++) {
        seed = seed * 6364136223846793005ull + 1442695040888963407ull;
        out[i] = (uint8_t)(seed >> 56);
    }
    return SP_OK;
}
static const mls_rand RNG = {det_rand, NULL};

static mls_group *g[3]; /* alice (committer), bob, carol */

static void setup(void)
{
    sp_buf kb = SP_BUF_INIT, pb = SP_BUF_INIT, kc = SP_BUF_INIT, pc = SP_BUF_INIT;
    mls_commit_out o;
    mls_group *next;
    CHECK(mls_group_create((const uint8_t *)"p", 1, (const uint8_t *)"alice", 5, NULL, NULL, &RNG,
                           &g[0]) == SP_OK);
    CHECK(mls_key_package_make((const uint8_t *)"bob", 3, NULL, &RNG, &kb, &pb) == SP_OK);
    CHECK(mls_key_package_make((const uint8_t *)"carol", 5, NULL, &RNG, &kc, &pc) == SP_OK);
    sp_slice s[2] = {sp_buf_slice(&kb), sp_buf_slice(&kc)};
    CHECK(mls_group_add(g[0], s, 2, &o, &next) == SP_OK);
    mls_group_apply(g[0], next);
    CHECK(mls_group_join(o.welcome.data, o.welcome.len, NULL, 0, pb.data, pb.len, NULL, 0, &RNG,
                         &g[1]) == SP_OK);
    CHECK(mls_group_join(o.welcome.data, o.welcome.len, NULL, 0, pc.data, pc.len, NULL, 0, &RNG,
                         &g[2]) == SP_OK);
    mls_commit_out_free(&o);
    sp_buf_free(&kb), sp_buf_free(&kc), sp_buf_free_secret(&pb), sp_buf_free_secret(&pc);
}

static int agree(void)
{
    uint8_t a[MLS_HASH_LEN], b[MLS_HASH_LEN];
    mls_group_epoch_authenticator(g[0], a);
    for (int i = 1; i < 3; i++) {
        mls_group_epoch_authenticator(g[i], b);
        if (memcmp(a, b, sizeof a) || mls_group_epoch(g[i]) != mls_group_epoch(g[0]))
            return 0;
    }
    return 1;
}

/* alice commits props (by value); bob and carol process; returns the create error. */
static sp_err commit(mls_proposal *props, size_t n, mls_process_info *info)
{
    mls_commit_out o;
    mls_group *next;
    sp_buf before = SP_BUF_INIT, after = SP_BUF_INIT;
    CHECK(mls_group_save(g[0], &before) == SP_OK);
    sp_err e = mls_commit_create(g[0], props, n, 0, &o, &next);
    if (e) {
        CHECK(!next);
        CHECK(mls_group_save(g[0], &after) == SP_OK && after.len == before.len &&
              memcmp(after.data, before.data, before.len) == 0);
    } else {
        for (int i = 1; i < 3; i++)
            CHECK(mls_group_process(g[i], o.commit.data, o.commit.len, info) == SP_OK);
        mls_group_apply(g[0], next);
        mls_commit_out_free(&o);
    }
    sp_buf_free_secret(&before);
    sp_buf_free_secret(&after);
    return e;
}

static void gce(mls_proposal *p, uint16_t type, const char *v)
{
    memset(p, 0, sizeof *p);
    p->type = MLS_PROPOSAL_GROUP_CONTEXT_EXTENSIONS;
    mls_extensions_add(&p->gce, type, v, strlen(v));
}

static void test_lists(void)
{
    mls_process_info info;
    mls_proposal p[2];
    /* two GroupContextExtensions */
    gce(&p[0], MLS_EXT_SPACEPANDA, "a");
    gce(&p[1], MLS_EXT_SPACEPANDA, "b");
    CHECK(commit(p, 2, &info) == SP_ERR_INVALID);
    /* a type nobody declared */
    mls_proposal_free(&p[1]);
    gce(&p[1], 0xF0F0, "c");
    CHECK(commit(&p[1], 1, &info) == SP_ERR_UNSUPPORTED);
    /* ours: every member sees it */
    CHECK(commit(&p[0], 1, &info) == SP_OK && agree());
    const mls_extension *x = mls_extensions_find(mls_group_extensions(g[2]), MLS_EXT_SPACEPANDA);
    CHECK(x && x->data.len == 1 && x->data.data[0] == 'a');
    mls_proposal_free(&p[0]);
    mls_proposal_free(&p[1]);

    /* the same leaf removed twice; the committer removed or updated */
    memset(p, 0, sizeof p);
    p[0].type = p[1].type = MLS_PROPOSAL_REMOVE;
    p[0].remove = p[1].remove = 2;
    CHECK(commit(p, 2, &info) == SP_ERR_INVALID);
    p[0].remove = 0;
    CHECK(commit(p, 1, &info) == SP_ERR_INVALID);
    p[0].type = MLS_PROPOSAL_UPDATE;
    CHECK(mls_leaf_node_copy(&p[0].update, mls_tree_leaf(g[0]->tree, mls_leaf(0))) == SP_OK);
    CHECK(commit(p, 1, &info) == SP_ERR_INVALID);
    mls_proposal_free(&p[0]);
    /* a remove of an empty leaf */
    memset(p, 0, sizeof p);
    p[0].type = MLS_PROPOSAL_REMOVE;
    p[0].remove = 7;
    CHECK(commit(p, 1, &info) != SP_OK);
    /* ExternalInit outside an external commit */
    p[0].type = MLS_PROPOSAL_EXTERNAL_INIT;
    CHECK(commit(p, 1, &info) == SP_ERR_UNSUPPORTED);
    CHECK(agree());
}

static void test_psks(void)
{
    mls_process_info info;
    mls_proposal p;
    memset(&p, 0, sizeof p);
    p.type = MLS_PROPOSAL_PSK;
    p.psk.type = MLS_PSK_EXTERNAL;
    mls_bytes_set(&p.psk.psk_id, "shared", 6);
    mls_bytes_set(&p.psk.nonce, "0123456789abcdef0123456789abcdef", 32);
    /* nobody knows it yet */
    CHECK(commit(&p, 1, &info) == SP_ERR_NOT_FOUND);
    mls_external_psk k = {{(const uint8_t *)"shared", 6}, {(const uint8_t *)"secret!!", 8}};
    for (int i = 0; i < 3; i++)
        CHECK(mls_group_set_psks(g[i], &k, 1) == SP_OK);
    uint64_t e0 = mls_group_epoch(g[0]);
    CHECK(commit(&p, 1, &info) == SP_OK && agree() && mls_group_epoch(g[0]) == e0 + 1);
    /* a member holding a different value for it falls out of step: refused */
    mls_external_psk wrong = {{(const uint8_t *)"shared", 6}, {(const uint8_t *)"other!!!", 8}};
    CHECK(mls_group_set_psks(g[2], &wrong, 1) == SP_OK);
    mls_commit_out o;
    mls_group *next;
    CHECK(mls_commit_create(g[0], &p, 1, 0, &o, &next) == SP_OK);
    CHECK(mls_group_process(g[2], o.commit.data, o.commit.len, &info) == SP_ERR_CRYPTO);
    CHECK(mls_group_process(g[1], o.commit.data, o.commit.len, &info) == SP_OK);
    CHECK(mls_group_set_psks(g[2], &k, 1) == SP_OK);
    CHECK(mls_group_process(g[2], o.commit.data, o.commit.len, &info) == SP_OK);
    mls_group_apply(g[0], next);
    mls_commit_out_free(&o);
    CHECK(agree());
    mls_proposal_free(&p);

    /* a resumption PSK of the previous epoch */
    memset(&p, 0, sizeof p);
    p.type = MLS_PROPOSAL_PSK;
    p.psk.type = MLS_PSK_RESUMPTION;
    p.psk.usage = MLS_PSK_USAGE_APPLICATION;
    mls_bytes_set(&p.psk.group_id, "p", 1);
    p.psk.epoch = mls_group_epoch(g[0]) - 1;
    mls_bytes_set(&p.psk.nonce, "fedcba9876543210fedcba9876543210", 32);
    CHECK(commit(&p, 1, &info) == SP_OK && agree());
    p.psk.epoch = 12345; /* one nobody has */
    CHECK(commit(&p, 1, &info) == SP_ERR_NOT_FOUND);
    mls_proposal_free(&p);
}

/* bob sends a GroupContextExtensions proposal (PublicMessage); the others
 * cache it under its ProposalRef; a commit referring to it without the path
 * such a proposal needs is refused (successful by-reference commits are
 * covered by the passive-client vectors). */
static void test_by_reference(void)
{
    mls_authenticated_content ac = {0};
    ac.wire_format = MLS_WIRE_PUBLIC_MESSAGE;
    mls_bytes_set(&ac.content.group_id, "p", 1);
    ac.content.epoch = mls_group_epoch(g[1]);
    ac.content.sender.type = MLS_SENDER_MEMBER;
    ac.content.sender.index = g[1]->me;
    ac.content.content_type = MLS_CONTENT_PROPOSAL;
    ac.content.proposal.type = MLS_PROPOSAL_GROUP_CONTEXT_EXTENSIONS;
    mls_extensions_add(&ac.content.proposal.gce, MLS_EXT_SPACEPANDA, "byref", 5);
    CHECK(mls_content_sign(&ac, &g[1]->ctx, g[1]->signer) == SP_OK);
    mls_message m = {0};
    m.version = MLS_VERSION_10;
    m.wire_format = MLS_WIRE_PUBLIC_MESSAGE;
    CHECK(mls_public_message_protect(&ac, &g[1]->ctx, g[1]->sec.membership_key,
                                     &m.public_message) == SP_OK);
    sp_buf msg = SP_BUF_INIT, acb = SP_BUF_INIT;
    CHECK(mls_message_write(&msg, &m) == SP_OK);
    mls_process_info info;
    CHECK(mls_group_process(g[0], msg.data, msg.len, &info) == SP_OK &&
          info.kind == MLS_GROUP_GOT_PROPOSAL && info.sender_leaf == 1);
    CHECK(mls_group_process(g[2], msg.data, msg.len, &info) == SP_OK);
    CHECK(g[0]->n_props == 1);

    /* alice's commit refers to it */
    uint8_t ref[MLS_HASH_LEN];
    CHECK(mls_authenticated_content_write(&acb, &ac) == SP_OK &&
          mls_make_proposal_ref(acb.data, acb.len, ref) == SP_OK);
    CHECK(memcmp(ref, g[0]->props[0].ref, sizeof ref) == 0);
    mls_authenticated_content c = {0};
    c.wire_format = MLS_WIRE_PUBLIC_MESSAGE;
    mls_bytes_set(&c.content.group_id, "p", 1);
    c.content.epoch = mls_group_epoch(g[0]);
    c.content.sender.type = MLS_SENDER_MEMBER;
    c.content.sender.index = 0;
    c.content.content_type = MLS_CONTENT_COMMIT;
    c.content.commit.proposals = calloc(1, sizeof *c.content.commit.proposals);
    c.content.commit.n_proposals = 1;
    c.content.commit.proposals[0].type = MLS_POR_REFERENCE;
    mls_bytes_set(&c.content.commit.proposals[0].reference, ref, sizeof ref);
    /* without a path a GroupContextExtensions commit is refused by receivers */
    CHECK(mls_content_sign(&c, &g[0]->ctx, g[0]->signer) == SP_OK);
    mls_bytes_set(&c.auth.confirmation_tag, ref, sizeof ref); /* any tag: refused earlier */
    mls_message cm = {0};
    cm.version = MLS_VERSION_10;
    cm.wire_format = MLS_WIRE_PUBLIC_MESSAGE;
    CHECK(mls_public_message_protect(&c, &g[0]->ctx, g[0]->sec.membership_key,
                                     &cm.public_message) == SP_OK);
    sp_buf cb = SP_BUF_INIT;
    CHECK(mls_message_write(&cb, &cm) == SP_OK);
    CHECK(mls_group_process(g[2], cb.data, cb.len, &info) == SP_ERR_INVALID);
    CHECK(g[2]->n_props == 1); /* still cached: the refused commit changed nothing */

    mls_message_free(&cm);
    sp_buf_free(&cb);
    mls_authenticated_content_free(&c);
    mls_authenticated_content_free(&ac);
    mls_message_free(&m);
    sp_buf_free(&msg);
    sp_buf_free(&acb);
}

static void test_reinit(void)
{
    mls_process_info info;
    mls_proposal p[2];
    memset(p, 0, sizeof p);
    p[0].type = MLS_PROPOSAL_REINIT;
    mls_bytes_set(&p[0].reinit.group_id, "p2", 2);
    p[0].reinit.version = MLS_VERSION_10;
    p[0].reinit.cipher_suite = MLS_CIPHER_SUITE;
    p[1].type = MLS_PROPOSAL_REMOVE;
    p[1].remove = 2;
    CHECK(commit(p, 2, &info) == SP_ERR_INVALID); /* ReInit stands alone */
    mls_commit_out o;
    mls_group *next;
    CHECK(mls_commit_create(g[0], p, 1, 1, &o, &next) == SP_OK);
    CHECK(mls_group_process(g[1], o.commit.data, o.commit.len, &info) == SP_OK && info.ended);
    CHECK(!mls_group_active(g[1]));
    sp_buf b = SP_BUF_INIT;
    CHECK(mls_group_protect(g[1], (const uint8_t *)"x", 1, NULL, 0, &b) == SP_ERR_STATE);
    mls_commit_out_free(&o);
    mls_group_free(next);
    mls_proposal_free(&p[0]);
    mls_proposal_free(&p[1]);
}

/* Re-signs kp's leaf and package after a change (as a sender of such a
 * package would), then validates it at time `now`. */
static sp_err resign_validate(mls_key_package *kp, const mls_signer *s, uint64_t now)
{
    sp_slice none = {NULL, 0};
    if (mls_leaf_node_sign(&kp->leaf_node, s, none, 0) || mls_key_package_sign(kp, s))
        return SP_ERR_INTERNAL;
    return mls_key_package_validate(kp, now);
}

static void test_key_packages(void)
{
    uint8_t sp[MLS_SIG_PRIV_LEN], pub[MLS_SIG_PUB_LEN], ip[MLS_KEM_PRIV_LEN], ep[MLS_KEM_PRIV_LEN];
    mls_signer *s;
    mls_key_package kp;
    CHECK(mls_sig_keygen(&RNG, sp, pub) == SP_OK && mls_signer_new(sp, &s) == SP_OK);
    CHECK(mls_key_package_create((const uint8_t *)"dave", 4, s, &RNG, &kp, ip, ep) == SP_OK);
    uint64_t nb = kp.leaf_node.lifetime.not_before, na = kp.leaf_node.lifetime.not_after;
    CHECK(mls_key_package_validate(&kp, 0) == SP_OK);
    CHECK(mls_key_package_validate(&kp, nb + 1) == SP_OK);
    CHECK(mls_key_package_validate(&kp, na + 1) == SP_ERR_INVALID); /* expired */
    CHECK(mls_key_package_validate(&kp, nb - 1) == SP_ERR_INVALID); /* not yet valid */
    /* the private keys are the package's */
    uint8_t k[MLS_KEM_PUB_LEN];
    CHECK(mls_x25519_pub(ip, k) == SP_OK && memcmp(k, kp.init_key.data, sizeof k) == 0);
    CHECK(mls_x25519_pub(ep, k) == SP_OK &&
          memcmp(k, kp.leaf_node.encryption_key.data, sizeof k) == 0);
    /* a flipped signature */
    kp.signature.data[3] ^= 1;
    CHECK(mls_key_package_validate(&kp, 0) == SP_ERR_CRYPTO);
    kp.signature.data[3] ^= 1;
    /* GREASE in capabilities and a GREASE extension the leaf declares: tolerated */
    uint16_t *v = realloc(kp.leaf_node.capabilities.extensions.v, 3 * sizeof *v);
    kp.leaf_node.capabilities.extensions.v = v;
    v[kp.leaf_node.capabilities.extensions.n++] = 0x3A3A;
    CHECK(mls_extensions_add(&kp.leaf_node.extensions, 0x3A3A, "g", 1) == SP_OK);
    CHECK(resign_validate(&kp, s, 0) == SP_OK);
    /* a non-default extension the leaf does not declare */
    CHECK(mls_extensions_add(&kp.leaf_node.extensions, 0xF00D, "x", 1) == SP_OK);
    CHECK(resign_validate(&kp, s, 0) == SP_ERR_INVALID);
    kp.leaf_node.extensions.n--;
    mls_bytes_free(&kp.leaf_node.extensions.v[kp.leaf_node.extensions.n].data);
    CHECK(resign_validate(&kp, s, 0) == SP_OK);
    /* wrong version / suite, init key equal to the encryption key */
    kp.version = 2;
    CHECK(resign_validate(&kp, s, 0) == SP_ERR_INVALID);
    kp.version = MLS_VERSION_10;
    kp.cipher_suite = 3;
    CHECK(resign_validate(&kp, s, 0) == SP_ERR_INVALID);
    kp.cipher_suite = MLS_CIPHER_SUITE;
    mls_bytes_set(&kp.init_key, kp.leaf_node.encryption_key.data, MLS_KEM_PUB_LEN);
    CHECK(resign_validate(&kp, s, 0) == SP_ERR_INVALID);
    mls_key_package_free(&kp);
    mls_signer_free(s);
    mls_wipe(sp, sizeof sp);
}

int main(void)
{
    test_key_packages();
    setup();
    test_lists();
    test_psks();
    test_by_reference();
    test_reinit();
    for (int i = 0; i < 3; i++)
        mls_group_free(g[i]);
    return check_done();
}
