/* test_mls_secret_tree.c — the secret tree's rules beyond the vectors: sender/receiver agree,
 * out-of-order delivery within the window, no generation handed out twice, too-far-ahead and
 * too-old generations refused without changing state, persistence round trip, bad state bytes. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "mls/secret_tree.h"

CHECK_MAIN_DEFS

static const uint8_t SECRET[MLS_HASH_LEN] = {1, 2, 3, 4, 5, 6, 7, 8, 9};

static int same_key(const mls_ratchet_key *a, const mls_ratchet_key *b)
{
    return a->generation == b->generation && memcmp(a->key, b->key, sizeof a->key) == 0 &&
           memcmp(a->nonce, b->nonce, sizeof a->nonce) == 0;
}

static void test_sender_receiver(void)
{
    mls_secret_tree *snd, *rcv;
    CHECK(mls_secret_tree_new(SECRET, 8, NULL, &snd) == SP_OK);
    CHECK(mls_secret_tree_new(SECRET, 8, NULL, &rcv) == SP_OK);
    mls_ratchet_key sent[6], got, hs;
    for (uint32_t g = 0; g < 6; g++) {
        CHECK(mls_secret_tree_next(snd, mls_leaf(3), MLS_RATCHET_APPLICATION, &sent[g]) == SP_OK);
        CHECK(sent[g].generation == g);
    }
    /* out of order: 5 first, then the skipped ones in a scrambled order */
    static const uint32_t order[] = {5, 2, 0, 4, 3, 1};
    for (size_t i = 0; i < 6; i++) {
        uint32_t g = order[i];
        CHECK(mls_secret_tree_get(rcv, mls_leaf(3), MLS_RATCHET_APPLICATION, g, &got) == SP_OK);
        CHECK_MSG(same_key(&got, &sent[g]), "generation %u", g);
    }
    /* every generation was consumed exactly once */
    for (uint32_t g = 0; g < 6; g++)
        CHECK(mls_secret_tree_get(rcv, mls_leaf(3), MLS_RATCHET_APPLICATION, g, &got) == SP_ERR_EXISTS);
    /* the handshake ratchet of the same leaf is separate and starts at 0 */
    CHECK(mls_secret_tree_get(rcv, mls_leaf(3), MLS_RATCHET_HANDSHAKE, 0, &hs) == SP_OK);
    CHECK(memcmp(hs.key, sent[0].key, sizeof hs.key) != 0);
    /* other leaves get other keys */
    CHECK(mls_secret_tree_next(snd, mls_leaf(4), MLS_RATCHET_APPLICATION, &got) == SP_OK);
    CHECK(got.generation == 0 && memcmp(got.key, sent[0].key, sizeof got.key) != 0);
    /* bad arguments */
    CHECK(mls_secret_tree_next(snd, mls_leaf(8), MLS_RATCHET_APPLICATION, &got) == SP_ERR_INVALID);
    CHECK(mls_secret_tree_get(rcv, mls_leaf(8), MLS_RATCHET_APPLICATION, 0, &got) == SP_ERR_INVALID);
    CHECK(mls_secret_tree_next(snd, mls_leaf(0), (mls_ratchet_type)2, &got) == SP_ERR_INVALID);
    mls_secret_tree *t = (mls_secret_tree *)1;
    CHECK(mls_secret_tree_new(SECRET, 6, NULL, &t) == SP_ERR_INVALID && t == NULL);
    CHECK(mls_secret_tree_new(SECRET, 0, NULL, &t) == SP_ERR_INVALID);
    CHECK(mls_secret_tree_new(SECRET, 1, NULL, &t) == SP_OK);
    CHECK(mls_secret_tree_next(t, mls_leaf(0), MLS_RATCHET_HANDSHAKE, &got) == SP_OK);
    mls_secret_tree_free(t);
    mls_secret_tree_free(snd);
    mls_secret_tree_free(rcv);
}

static void test_window(void)
{
    mls_secret_tree_limits lim = {10, 4};
    mls_secret_tree *snd, *rcv;
    CHECK(mls_secret_tree_new(SECRET, 2, &lim, &snd) == SP_OK);
    CHECK(mls_secret_tree_new(SECRET, 2, &lim, &rcv) == SP_OK);
    mls_ratchet_key sent[30], got;
    for (uint32_t g = 0; g < 30; g++)
        CHECK(mls_secret_tree_next(snd, mls_leaf(1), MLS_RATCHET_HANDSHAKE, &sent[g]) == SP_OK);

    /* more than max_forward ahead: refused, and nothing moved */
    CHECK(mls_secret_tree_get(rcv, mls_leaf(1), MLS_RATCHET_HANDSHAKE, 11, &got) == SP_ERR_TOO_LARGE);
    CHECK(mls_secret_tree_get(rcv, mls_leaf(1), MLS_RATCHET_HANDSHAKE, 0xffffffffu, &got) == SP_ERR_TOO_LARGE);
    /* exactly max_forward ahead is fine */
    CHECK(mls_secret_tree_get(rcv, mls_leaf(1), MLS_RATCHET_HANDSHAKE, 10, &got) == SP_OK);
    CHECK(same_key(&got, &sent[10]));
    /* the ratchet is at 11: 7..9 are inside the 4-generation window, 0..6 are gone */
    CHECK(mls_secret_tree_get(rcv, mls_leaf(1), MLS_RATCHET_HANDSHAKE, 6, &got) == SP_ERR_STATE);
    CHECK(mls_secret_tree_get(rcv, mls_leaf(1), MLS_RATCHET_HANDSHAKE, 0, &got) == SP_ERR_STATE);
    CHECK(mls_secret_tree_get(rcv, mls_leaf(1), MLS_RATCHET_HANDSHAKE, 8, &got) == SP_OK);
    CHECK(same_key(&got, &sent[8]));
    CHECK(mls_secret_tree_get(rcv, mls_leaf(1), MLS_RATCHET_HANDSHAKE, 8, &got) == SP_ERR_EXISTS);
    CHECK(mls_secret_tree_get(rcv, mls_leaf(1), MLS_RATCHET_HANDSHAKE, 10, &got) == SP_ERR_EXISTS);
    /* moving on pushes 7 and 9 out of the window */
    CHECK(mls_secret_tree_get(rcv, mls_leaf(1), MLS_RATCHET_HANDSHAKE, 14, &got) == SP_OK);
    CHECK(same_key(&got, &sent[14]));
    CHECK(mls_secret_tree_get(rcv, mls_leaf(1), MLS_RATCHET_HANDSHAKE, 9, &got) == SP_ERR_STATE);
    CHECK(mls_secret_tree_get(rcv, mls_leaf(1), MLS_RATCHET_HANDSHAKE, 11, &got) == SP_OK);
    CHECK(same_key(&got, &sent[11]));
    CHECK(mls_secret_tree_get(rcv, mls_leaf(1), MLS_RATCHET_HANDSHAKE, 12, &got) == SP_OK);
    CHECK(same_key(&got, &sent[12]));
    /* in-order after a jump */
    CHECK(mls_secret_tree_get(rcv, mls_leaf(1), MLS_RATCHET_HANDSHAKE, 15, &got) == SP_OK);
    CHECK(same_key(&got, &sent[15]));
    mls_secret_tree_free(rcv);

    /* max_past 0: strictly forward, nothing skipped is kept */
    mls_secret_tree_limits fwd = {100, 0};
    CHECK(mls_secret_tree_new(SECRET, 2, &fwd, &rcv) == SP_OK);
    CHECK(mls_secret_tree_get(rcv, mls_leaf(1), MLS_RATCHET_HANDSHAKE, 3, &got) == SP_OK);
    CHECK(same_key(&got, &sent[3]));
    CHECK(mls_secret_tree_get(rcv, mls_leaf(1), MLS_RATCHET_HANDSHAKE, 2, &got) == SP_ERR_STATE);
    CHECK(mls_secret_tree_get(rcv, mls_leaf(1), MLS_RATCHET_HANDSHAKE, 4, &got) == SP_OK);
    CHECK(same_key(&got, &sent[4]));
    mls_secret_tree_free(rcv);
    mls_secret_tree_free(snd);
}

static void test_peek(void)
{
    mls_secret_tree *snd, *rcv;
    mls_secret_tree_limits lim = {10, 4};
    CHECK(mls_secret_tree_new(SECRET, 4, &lim, &snd) == SP_OK);
    CHECK(mls_secret_tree_new(SECRET, 4, &lim, &rcv) == SP_OK);
    mls_ratchet_key sent[8], p, g;
    for (uint32_t i = 0; i < 8; i++)
        CHECK(mls_secret_tree_next(snd, mls_leaf(2), MLS_RATCHET_APPLICATION, &sent[i]) == SP_OK);
    sp_buf before = SP_BUF_INIT, after = SP_BUF_INIT;
    /* a first peek may derive the leaf; from then on peeks change nothing */
    CHECK(mls_secret_tree_peek(rcv, mls_leaf(2), MLS_RATCHET_APPLICATION, 5, &p) == SP_OK);
    CHECK(same_key(&p, &sent[5]));
    CHECK(mls_secret_tree_encode(rcv, &before) == SP_OK);
    CHECK(mls_secret_tree_peek(rcv, mls_leaf(2), MLS_RATCHET_APPLICATION, 5, &p) == SP_OK);
    CHECK(mls_secret_tree_peek(rcv, mls_leaf(2), MLS_RATCHET_APPLICATION, 11, &p) == SP_ERR_TOO_LARGE);
    CHECK(mls_secret_tree_encode(rcv, &after) == SP_OK);
    CHECK(before.len == after.len && memcmp(before.data, after.data, before.len) == 0);
    /* consume, then peek agrees with get on skipped and used generations */
    CHECK(mls_secret_tree_get(rcv, mls_leaf(2), MLS_RATCHET_APPLICATION, 5, &g) == SP_OK && same_key(&g, &p));
    CHECK(mls_secret_tree_peek(rcv, mls_leaf(2), MLS_RATCHET_APPLICATION, 3, &p) == SP_OK && same_key(&p, &sent[3]));
    CHECK(mls_secret_tree_peek(rcv, mls_leaf(2), MLS_RATCHET_APPLICATION, 5, &p) == SP_ERR_EXISTS);
    CHECK(mls_secret_tree_peek(rcv, mls_leaf(2), MLS_RATCHET_APPLICATION, 1, &p) == SP_ERR_STATE);
    CHECK(mls_secret_tree_peek(rcv, mls_leaf(2), MLS_RATCHET_APPLICATION, 6, &p) == SP_OK && same_key(&p, &sent[6]));
    CHECK(mls_secret_tree_get(rcv, mls_leaf(2), MLS_RATCHET_APPLICATION, 3, &g) == SP_OK && same_key(&g, &sent[3]));
    sp_buf_free_secret(&before);
    sp_buf_free_secret(&after);
    mls_secret_tree_free(snd);
    mls_secret_tree_free(rcv);
}

static void test_persistence(void)
{
    mls_secret_tree *a, *b, *ref;
    CHECK(mls_secret_tree_new(SECRET, 16, NULL, &a) == SP_OK);
    CHECK(mls_secret_tree_new(SECRET, 16, NULL, &ref) == SP_OK);
    mls_ratchet_key k, k2;
    CHECK(mls_secret_tree_get(a, mls_leaf(5), MLS_RATCHET_APPLICATION, 7, &k) == SP_OK);
    CHECK(mls_secret_tree_next(a, mls_leaf(9), MLS_RATCHET_HANDSHAKE, &k) == SP_OK);
    sp_buf enc = SP_BUF_INIT;
    CHECK(mls_secret_tree_encode(a, &enc) == SP_OK);
    CHECK(mls_secret_tree_decode(enc.data, enc.len, &b) == SP_OK);
    /* the restored tree continues exactly where the first one was */
    CHECK(mls_secret_tree_get(b, mls_leaf(5), MLS_RATCHET_APPLICATION, 3, &k) == SP_OK);
    CHECK(mls_secret_tree_get(ref, mls_leaf(5), MLS_RATCHET_APPLICATION, 3, &k2) == SP_OK && same_key(&k, &k2));
    CHECK(mls_secret_tree_get(b, mls_leaf(5), MLS_RATCHET_APPLICATION, 7, &k) == SP_ERR_EXISTS);
    CHECK(mls_secret_tree_next(b, mls_leaf(9), MLS_RATCHET_HANDSHAKE, &k) == SP_OK && k.generation == 1);
    CHECK(mls_secret_tree_get(ref, mls_leaf(9), MLS_RATCHET_HANDSHAKE, 1, &k2) == SP_OK && same_key(&k, &k2));
    CHECK(mls_secret_tree_next(b, mls_leaf(15), MLS_RATCHET_APPLICATION, &k) == SP_OK);
    CHECK(mls_secret_tree_get(ref, mls_leaf(15), MLS_RATCHET_APPLICATION, 0, &k2) == SP_OK && same_key(&k, &k2));
    /* a duplicate is equal, then independent */
    mls_secret_tree *d;
    sp_buf e1 = SP_BUF_INIT, e2 = SP_BUF_INIT;
    CHECK(mls_secret_tree_dup(b, &d) == SP_OK);
    CHECK(mls_secret_tree_encode(b, &e1) == SP_OK && mls_secret_tree_encode(d, &e2) == SP_OK);
    CHECK(e1.len == e2.len && memcmp(e1.data, e2.data, e1.len) == 0);
    CHECK(mls_secret_tree_get(d, mls_leaf(5), MLS_RATCHET_APPLICATION, 4, &k) == SP_OK);
    CHECK(mls_secret_tree_get(d, mls_leaf(5), MLS_RATCHET_APPLICATION, 4, &k) == SP_ERR_EXISTS);
    CHECK(mls_secret_tree_get(b, mls_leaf(5), MLS_RATCHET_APPLICATION, 4, &k2) == SP_OK && same_key(&k, &k2));
    mls_secret_tree_free(d);
    sp_buf_free_secret(&e1);
    sp_buf_free_secret(&e2);
    /* encode(decode(x)) == x */
    sp_buf enc2 = SP_BUF_INIT;
    mls_secret_tree *c;
    CHECK(mls_secret_tree_decode(enc.data, enc.len, &c) == SP_OK);
    CHECK(mls_secret_tree_encode(c, &enc2) == SP_OK);
    CHECK(enc2.len == enc.len && memcmp(enc2.data, enc.data, enc.len) == 0);
    mls_secret_tree_free(c);
    sp_buf_free_secret(&enc2);

    /* every truncation fails cleanly, as do trailing bytes and a bad version */
    int all_fail = 1;
    for (size_t n = 0; n < enc.len; n++) {
        mls_secret_tree *x = NULL;
        if (mls_secret_tree_decode(enc.data, n, &x) == SP_OK || x) all_fail = 0;
    }
    CHECK(all_fail);
    uint8_t *more = malloc(enc.len + 1);
    memcpy(more, enc.data, enc.len);
    more[enc.len] = 0;
    CHECK(mls_secret_tree_decode(more, enc.len + 1, &c) == SP_ERR_INVALID);
    more[0] = 9;
    CHECK(mls_secret_tree_decode(more, enc.len, &c) == SP_ERR_UNSUPPORTED);
    more[0] = 1;
    /* a huge node count must not allocate: offset 13 is the node count */
    memset(more + 13, 0xff, 4);
    CHECK(mls_secret_tree_decode(more, enc.len, &c) == SP_ERR_INVALID);
    /* n_leaves not a power of two */
    memcpy(more, enc.data, enc.len);
    more[4] = 6;
    CHECK(mls_secret_tree_decode(more, enc.len, &c) == SP_ERR_INVALID);
    free(more);
    sp_buf_free_secret(&enc);

    /* the last generation: craft a state whose ratchet stands at 2^32-1 */
    mls_secret_tree *t;
    CHECK(mls_secret_tree_new(SECRET, 1, NULL, &t) == SP_OK);
    CHECK(mls_secret_tree_next(t, mls_leaf(0), MLS_RATCHET_HANDSHAKE, &k) == SP_OK);
    CHECK(mls_secret_tree_encode(t, &enc) == SP_OK);
    mls_secret_tree_free(t);
    /* header 13, node count 4 (0 nodes left), leaf count 4, leaf index 4, then next_gen */
    size_t off = 13 + 4 + 4 + 4;
    CHECK(enc.len > off + 8 && enc.data[off + 7] == 1);
    memcpy(enc.data + off, "\x00\x00\x00\x00\xff\xff\xff\xff", 8);
    CHECK(mls_secret_tree_decode(enc.data, enc.len, &t) == SP_OK);
    CHECK(mls_secret_tree_next(t, mls_leaf(0), MLS_RATCHET_HANDSHAKE, &k) == SP_OK && k.generation == 0xffffffffu);
    CHECK(mls_secret_tree_next(t, mls_leaf(0), MLS_RATCHET_HANDSHAKE, &k) == SP_ERR_STATE);
    CHECK(mls_secret_tree_get(t, mls_leaf(0), MLS_RATCHET_HANDSHAKE, 0xffffffffu, &k) == SP_ERR_EXISTS);
    mls_secret_tree_free(t);
    sp_buf_free_secret(&enc);

    mls_secret_tree_free(a);
    mls_secret_tree_free(b);
    mls_secret_tree_free(ref);
}

static void test_sender_data(void)
{
    uint8_t k1[16], n1[12], k2[16], n2[12], ct[100] = {0};
    /* only the first Nh bytes of the ciphertext matter */
    CHECK(mls_sender_data_key_nonce(SECRET, ct, 100, k1, n1) == SP_OK);
    ct[99] = 1;
    CHECK(mls_sender_data_key_nonce(SECRET, ct, 100, k2, n2) == SP_OK);
    CHECK(memcmp(k1, k2, 16) == 0 && memcmp(n1, n2, 12) == 0);
    ct[31] = 1;
    CHECK(mls_sender_data_key_nonce(SECRET, ct, 100, k2, n2) == SP_OK);
    CHECK(memcmp(k1, k2, 16) != 0);
    /* a short ciphertext is used whole */
    CHECK(mls_sender_data_key_nonce(SECRET, ct, 5, k2, n2) == SP_OK);
    uint8_t nonce[12] = {0xf0, 0x0f, 0, 1, 9}, guard[4] = {0xff, 0xff, 1, 1};
    mls_apply_reuse_guard(nonce, guard);
    CHECK(nonce[0] == 0x0f && nonce[1] == 0xf0 && nonce[2] == 1 && nonce[3] == 0 && nonce[4] == 9);
}

int main(void)
{
    test_sender_receiver();
    test_window();
    test_peek();
    test_persistence();
    test_sender_data();
    return check_done();
}
