/* test_mls_codec_framing.c — unit tests of mls/framing.h and mls/transcript.h: round trips
 * of PublicMessage and PrivateMessage, and every way opening must fail (tampering, wrong
 * group or epoch, wrong keys, replays, non-zero padding), plus out-of-order delivery. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "mls/codec.h"
#include "mls/framing.h"
#include "mls/tls.h"
#include "mls/transcript.h"

CHECK_MAIN_DEFS

static mls_group_context ctx;
static mls_signer *signer;
static uint8_t enc_secret[32], sds[32], mkey[32];
static uint8_t other_pub[MLS_SIG_PUB_LEN];

typedef struct {
    int mode; /* 0 the signer's key, 1 another key, 2 unknown sender */
} key_arg;

static sp_err get_key(void *arg, const mls_framed_content *c, uint8_t pub[MLS_SIG_PUB_LEN])
{
    const key_arg *k = arg;
    if (k->mode == 2 || c->sender.type != MLS_SENDER_MEMBER)
        return SP_ERR_NOT_FOUND;
    memcpy(pub, k->mode ? other_pub : mls_signer_pub(signer), MLS_SIG_PUB_LEN);
    return SP_OK;
}

static void make_content(mls_authenticated_content *ac, uint16_t wire, uint8_t type,
                         uint32_t sender, const char *text)
{
    memset(ac, 0, sizeof *ac);
    ac->wire_format = wire;
    ac->content.epoch = ctx.epoch;
    ac->content.sender.type = MLS_SENDER_MEMBER;
    ac->content.sender.index = sender;
    ac->content.content_type = type;
    mls_bytes_set(&ac->content.group_id, ctx.group_id.data, ctx.group_id.len);
    mls_bytes_set(&ac->content.authenticated_data, "ad", 2);
    if (type == MLS_CONTENT_APPLICATION) {
        mls_bytes_set(&ac->content.application_data, text, strlen(text));
    } else if (type == MLS_CONTENT_PROPOSAL) {
        ac->content.proposal.type = MLS_PROPOSAL_REMOVE;
        ac->content.proposal.remove = 2;
    }
    CHECK(mls_content_sign(ac, &ctx, signer) == SP_OK);
    if (type == MLS_CONTENT_COMMIT)
        mls_bytes_set(&ac->auth.confirmation_tag, mkey, 32);
}

static sp_err seal(uint8_t type, uint32_t sender, const char *text, mls_secret_tree *st,
                   size_t padding, mls_private_message *pm)
{
    mls_authenticated_content ac;
    make_content(&ac, MLS_WIRE_PRIVATE_MESSAGE, type, sender, text);
    sp_err e = mls_private_message_protect(&ac, st, sds, padding, NULL, pm);
    mls_authenticated_content_free(&ac);
    return e;
}

static void test_public(void)
{
    mls_authenticated_content ac, out;
    mls_public_message pm;
    key_arg k = {0};
    make_content(&ac, MLS_WIRE_PUBLIC_MESSAGE, MLS_CONTENT_PROPOSAL, 1, NULL);
    CHECK(mls_public_message_protect(&ac, &ctx, mkey, &pm) == SP_OK);
    CHECK(pm.membership_tag.len == 32);
    CHECK(mls_public_message_open(&pm, &ctx, mkey, get_key, &k, &out) == SP_OK);
    CHECK(out.content.proposal.type == MLS_PROPOSAL_REMOVE && out.content.proposal.remove == 2);
    mls_authenticated_content_free(&out);

    /* wrong membership key, tampered tag, wrong signature key, unknown sender */
    uint8_t bad[32];
    memcpy(bad, mkey, 32);
    bad[5] ^= 1;
    CHECK(mls_public_message_open(&pm, &ctx, bad, get_key, &k, &out) == SP_ERR_CRYPTO);
    pm.membership_tag.data[0] ^= 1;
    CHECK(mls_public_message_open(&pm, &ctx, mkey, get_key, &k, &out) == SP_ERR_CRYPTO);
    pm.membership_tag.data[0] ^= 1;
    k.mode = 1;
    CHECK(mls_public_message_open(&pm, &ctx, mkey, get_key, &k, &out) == SP_ERR_CRYPTO);
    k.mode = 2;
    CHECK(mls_public_message_open(&pm, &ctx, mkey, get_key, &k, &out) == SP_ERR_NOT_FOUND);
    k.mode = 0;
    /* a changed field breaks the tag */
    pm.content.proposal.remove = 3;
    CHECK(mls_public_message_open(&pm, &ctx, mkey, get_key, &k, &out) == SP_ERR_CRYPTO);
    pm.content.proposal.remove = 2;
    /* other epoch or group */
    ctx.epoch++;
    CHECK(mls_public_message_open(&pm, &ctx, mkey, get_key, &k, &out) == SP_ERR_STATE);
    ctx.epoch--;
    ctx.group_id.data[0] ^= 1;
    CHECK(mls_public_message_open(&pm, &ctx, mkey, get_key, &k, &out) == SP_ERR_STATE);
    ctx.group_id.data[0] ^= 1;
    CHECK(mls_public_message_open(&pm, &ctx, mkey, get_key, &k, &out) == SP_OK);
    mls_authenticated_content_free(&out);
    mls_public_message_free(&pm);
    mls_authenticated_content_free(&ac);

    /* application data is never sent in the clear; wire format must match */
    make_content(&ac, MLS_WIRE_PUBLIC_MESSAGE, MLS_CONTENT_APPLICATION, 1, "hi");
    CHECK(mls_public_message_protect(&ac, &ctx, mkey, &pm) == SP_ERR_INVALID);
    mls_authenticated_content_free(&ac);
    make_content(&ac, MLS_WIRE_PRIVATE_MESSAGE, MLS_CONTENT_PROPOSAL, 1, NULL);
    CHECK(mls_public_message_protect(&ac, &ctx, mkey, &pm) == SP_ERR_INVALID);
    mls_authenticated_content_free(&ac);

    /* a commit from a new member carries no membership tag */
    make_content(&ac, MLS_WIRE_PUBLIC_MESSAGE, MLS_CONTENT_COMMIT, 0, NULL);
    ac.content.sender.type = MLS_SENDER_NEW_MEMBER_COMMIT;
    CHECK(mls_content_sign(&ac, &ctx, signer) == SP_OK);
    CHECK(mls_public_message_protect(&ac, &ctx, NULL, &pm) == SP_OK);
    CHECK(pm.membership_tag.data == NULL);
    sp_buf b = SP_BUF_INIT;
    mls_public_message pm2;
    CHECK(mls_public_message_write(&b, &pm) == SP_OK);
    CHECK(mls_public_message_decode(b.data, b.len, &pm2) == SP_OK);
    CHECK(pm2.auth.confirmation_tag.len == 32);
    sp_buf_free(&b);
    mls_public_message_free(&pm2);
    mls_public_message_free(&pm);
    mls_authenticated_content_free(&ac);
}

/* Opens with a receiver tree of its own, as a member who has not seen the message. */
static sp_err open_fresh(const mls_private_message *pm, key_arg *k, mls_authenticated_content *out)
{
    mls_secret_tree *st;
    sp_err e = mls_secret_tree_new(enc_secret, 4, NULL, &st);
    if (!e)
        e = mls_private_message_open(pm, &ctx, st, sds, get_key, k, out);
    mls_secret_tree_free(st);
    return e;
}

static void test_private(void)
{
    mls_secret_tree *tx, *rx;
    CHECK(mls_secret_tree_new(enc_secret, 4, NULL, &tx) == SP_OK);
    CHECK(mls_secret_tree_new(enc_secret, 4, NULL, &rx) == SP_OK);
    key_arg k = {0};
    mls_private_message pm[3];
    mls_authenticated_content out;
    const char *texts[3] = {"first", "second", "third"};
    for (int i = 0; i < 3; i++)
        CHECK(seal(MLS_CONTENT_APPLICATION, 2, texts[i], tx, (size_t)i * 10, &pm[i]) == SP_OK);
    /* padding shows in the ciphertext size */
    CHECK(pm[2].ciphertext.len == pm[0].ciphertext.len + 20);
    /* out of order: 3rd, 1st, 2nd */
    int order[3] = {2, 0, 1};
    for (int j = 0; j < 3; j++) {
        int i = order[j];
        CHECK(mls_private_message_open(&pm[i], &ctx, rx, sds, get_key, &k, &out) == SP_OK);
        CHECK(out.content.sender.index == 2 && out.wire_format == MLS_WIRE_PRIVATE_MESSAGE &&
              out.content.application_data.len == strlen(texts[i]) &&
              memcmp(out.content.application_data.data, texts[i], strlen(texts[i])) == 0 &&
              out.content.authenticated_data.len == 2);
        mls_authenticated_content_free(&out);
    }
    /* a replay is refused: the key is gone */
    CHECK(mls_private_message_open(&pm[1], &ctx, rx, sds, get_key, &k, &out) == SP_ERR_EXISTS);

    /* tampering with each encrypted field or the AAD */
    mls_private_message t;
    CHECK(seal(MLS_CONTENT_PROPOSAL, 1, NULL, tx, 0, &t) == SP_OK);
    t.ciphertext.data[t.ciphertext.len - 1] ^= 1;
    CHECK(mls_private_message_open(&t, &ctx, rx, sds, get_key, &k, &out) == SP_ERR_CRYPTO);
    t.ciphertext.data[t.ciphertext.len - 1] ^= 1;
    t.encrypted_sender_data.data[0] ^= 1;
    CHECK(mls_private_message_open(&t, &ctx, rx, sds, get_key, &k, &out) == SP_ERR_CRYPTO);
    t.encrypted_sender_data.data[0] ^= 1;
    /* failed opens changed nothing: the untouched message still opens, once */
    CHECK(mls_private_message_open(&t, &ctx, rx, sds, get_key, &k, &out) == SP_OK);
    mls_authenticated_content_free(&out);
    CHECK(mls_private_message_open(&t, &ctx, rx, sds, get_key, &k, &out) == SP_ERR_EXISTS);
    /* the rest against fresh receivers */
    t.authenticated_data.data[0] ^= 1;
    CHECK(open_fresh(&t, &k, &out) == SP_ERR_CRYPTO);
    t.authenticated_data.data[0] ^= 1;
    t.content_type = MLS_CONTENT_COMMIT; /* different AAD for both layers */
    CHECK(open_fresh(&t, &k, &out) == SP_ERR_CRYPTO);
    t.content_type = MLS_CONTENT_PROPOSAL;
    ctx.epoch++;
    CHECK(open_fresh(&t, &k, &out) == SP_ERR_STATE);
    ctx.epoch--;
    k.mode = 1;
    CHECK(open_fresh(&t, &k, &out) == SP_ERR_CRYPTO);
    {
        mls_secret_tree *keep;
        CHECK(mls_secret_tree_new(enc_secret, 4, NULL, &keep) == SP_OK);
        CHECK(mls_private_message_open(&t, &ctx, keep, sds, get_key, &k, &out) == SP_ERR_CRYPTO);
        k.mode = 0; /* a bad signature did not burn the key */
        CHECK(mls_private_message_open(&t, &ctx, keep, sds, get_key, &k, &out) == SP_OK);
        mls_authenticated_content_free(&out);
        mls_secret_tree_free(keep);
        k.mode = 1;
    }
    k.mode = 2;
    CHECK(open_fresh(&t, &k, &out) == SP_ERR_NOT_FOUND);
    k.mode = 0;
    CHECK(open_fresh(&t, &k, &out) == SP_OK);
    CHECK(out.content.proposal.remove == 2 && out.content.sender.index == 1);
    mls_authenticated_content_free(&out);
    /* a sender index beyond the receiver's tree */
    mls_secret_tree *big, *small;
    mls_private_message far;
    CHECK(mls_secret_tree_new(enc_secret, 8, NULL, &big) == SP_OK);
    CHECK(mls_secret_tree_new(enc_secret, 4, NULL, &small) == SP_OK);
    CHECK(seal(MLS_CONTENT_APPLICATION, 6, "far", big, 0, &far) == SP_OK);
    CHECK(mls_private_message_open(&far, &ctx, small, sds, get_key, &k, &out) == SP_ERR_INVALID);
    mls_private_message_free(&far);
    mls_secret_tree_free(big);
    mls_secret_tree_free(small);
    mls_private_message_free(&t);

    /* a member outside the tree cannot be encrypted for */
    CHECK(seal(MLS_CONTENT_APPLICATION, 9, "x", tx, 0, &t) == SP_ERR_INVALID);
    for (int i = 0; i < 3; i++)
        mls_private_message_free(&pm[i]);
    mls_secret_tree_free(tx);
    mls_secret_tree_free(rx);
}

/* Builds by hand a PrivateMessage whose padding has a non-zero byte: it must be refused. */
static void test_bad_padding(void)
{
    mls_authenticated_content ac;
    make_content(&ac, MLS_WIRE_PRIVATE_MESSAGE, MLS_CONTENT_APPLICATION, 0, "pad");
    sp_buf pt = SP_BUF_INIT, aad = SP_BUF_INIT, sdaad = SP_BUF_INIT;
    mls_content_body_write(&pt, &ac.content);
    mls_auth_data_write(&pt, ac.content.content_type, &ac.auth);
    sp_buf_put_u8(&pt, 0);
    sp_buf_put_u8(&pt, 7); /* not zero */
    mls_put_opaque(&aad, ctx.group_id.data, ctx.group_id.len);
    sp_buf_put_u64(&aad, ctx.epoch);
    sp_buf_put_u8(&aad, MLS_CONTENT_APPLICATION);
    sp_buf_append(&sdaad, aad.data, aad.len);
    mls_put_opaque(&aad, "ad", 2);

    mls_secret_tree *st;
    mls_ratchet_key rk;
    CHECK(mls_secret_tree_new(enc_secret, 4, NULL, &st) == SP_OK);
    CHECK(mls_secret_tree_next(st, mls_leaf(0), MLS_RATCHET_APPLICATION, &rk) == SP_OK);
    mls_secret_tree_free(st);
    mls_private_message pm = {0};
    mls_bytes_set(&pm.group_id, ctx.group_id.data, ctx.group_id.len);
    pm.epoch = ctx.epoch;
    pm.content_type = MLS_CONTENT_APPLICATION;
    mls_bytes_set(&pm.authenticated_data, "ad", 2);
    pm.ciphertext.len = pt.len + MLS_AEAD_TAG_LEN;
    pm.ciphertext.data = malloc(pm.ciphertext.len);
    CHECK(mls_aead_seal(rk.key, rk.nonce, aad.data, aad.len, pt.data, pt.len,
                        pm.ciphertext.data) == SP_OK); /* reuse guard 0 */
    uint8_t sd[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, key[16], nonce[12], esd[28];
    CHECK(mls_sender_data_key_nonce(sds, pm.ciphertext.data, pm.ciphertext.len, key, nonce) ==
          SP_OK);
    CHECK(mls_aead_seal(key, nonce, sdaad.data, sdaad.len, sd, 12, esd) == SP_OK);
    mls_bytes_set(&pm.encrypted_sender_data, esd, sizeof esd);

    key_arg k = {0};
    mls_authenticated_content out;
    CHECK(mls_secret_tree_new(enc_secret, 4, NULL, &st) == SP_OK);
    CHECK(mls_private_message_open(&pm, &ctx, st, sds, get_key, &k, &out) == SP_ERR_INVALID);
    mls_secret_tree_free(st);
    /* the same with zero padding opens: the hand-built message is otherwise right */
    pt.data[pt.len - 1] = 0;
    CHECK(mls_aead_seal(rk.key, rk.nonce, aad.data, aad.len, pt.data, pt.len,
                        pm.ciphertext.data) == SP_OK);
    CHECK(mls_sender_data_key_nonce(sds, pm.ciphertext.data, pm.ciphertext.len, key, nonce) ==
          SP_OK);
    CHECK(mls_aead_seal(key, nonce, sdaad.data, sdaad.len, sd, 12, esd) == SP_OK);
    memcpy(pm.encrypted_sender_data.data, esd, sizeof esd);
    CHECK(mls_secret_tree_new(enc_secret, 4, NULL, &st) == SP_OK);
    CHECK(mls_private_message_open(&pm, &ctx, st, sds, get_key, &k, &out) == SP_OK);
    mls_authenticated_content_free(&out);
    mls_secret_tree_free(st);
    mls_private_message_free(&pm);
    sp_buf_free(&pt);
    sp_buf_free(&aad);
    sp_buf_free(&sdaad);
    mls_authenticated_content_free(&ac);
}

static void test_transcript(void)
{
    mls_authenticated_content ac;
    make_content(&ac, MLS_WIRE_PUBLIC_MESSAGE, MLS_CONTENT_PROPOSAL, 1, NULL);
    uint8_t c1[32], i1[32], tag[32];
    CHECK(mls_confirmed_transcript_hash(NULL, 0, &ac, c1) == SP_ERR_INVALID); /* not a commit */
    mls_authenticated_content_free(&ac);
    make_content(&ac, MLS_WIRE_PUBLIC_MESSAGE, MLS_CONTENT_COMMIT, 1, NULL);
    CHECK(mls_confirmation_tag(mkey, mkey, tag) == SP_OK);
    CHECK(mls_confirmation_tag_verify(mkey, mkey, tag, 32) == SP_OK);
    CHECK(mls_confirmation_tag_verify(mkey, mkey, tag, 31) == SP_ERR_CRYPTO);
    CHECK(mls_transcript_update(NULL, 0, &ac, c1, i1) == SP_OK);
    uint8_t c2[32], i2[32];
    CHECK(mls_transcript_update(i1, 32, &ac, c2, i2) == SP_OK);
    CHECK(memcmp(c1, c2, 32) != 0 && memcmp(i1, i2, 32) != 0);
    mls_authenticated_content_free(&ac);
}

int main(void)
{
    uint8_t priv[32], priv2[32];
    for (int i = 0; i < 32; i++) {
        priv[i] = (uint8_t)i;
        priv2[i] = (uint8_t)(100 + i);
        enc_secret[i] = (uint8_t)(7 * i);
        sds[i] = (uint8_t)(3 + i);
        mkey[i] = (uint8_t)(200 - i);
    }
    mls_signer *other;
    CHECK(mls_signer_new(priv, &signer) == SP_OK);
    CHECK(mls_signer_new(priv2, &other) == SP_OK);
    memcpy(other_pub, mls_signer_pub(other), 32);
    mls_signer_free(other);
    ctx.version = MLS_VERSION_10;
    ctx.cipher_suite = MLS_CIPHER_SUITE;
    ctx.epoch = 42;
    mls_bytes_set(&ctx.group_id, "group-id", 8);
    mls_bytes_set(&ctx.tree_hash, mkey, 32);
    mls_bytes_set(&ctx.confirmed_transcript_hash, sds, 32);
    test_public();
    test_private();
    test_bad_padding();
    test_transcript();
    mls_group_context_free(&ctx);
    mls_signer_free(signer);
    return check_done();
}
