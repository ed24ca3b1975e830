/* test_mls_crypto.c — unit tests of mls/crypto, mls/hpke and mls/tree_math beyond the
 * official vectors: RFC 4231/5869/8032 known answers, failure paths (bad tags, bad keys, bad
 * parameters), injected randomness, and tree math on trees that are not full. */
#include <stdlib.h>
#include <string.h>

#include "base/hex.h"
#include "check.h"
#include "json.h"
#include "mls/tls.h"
#include "mls/crypto.h"
#include "mls/hpke.h"
#include "mls/key_schedule.h"
#include "mls/tree_math.h"

CHECK_MAIN_DEFS

static void unhex(const char *s, uint8_t *out, size_t n)
{
    if (sp_hex_decode(s, strlen(s), out, n) != SP_OK) memset(out, 0xee, n);
}

static void test_hmac_hkdf(void)
{
    uint8_t key[131], out[32], want[32];
    memset(key, 0x0b, 20);
    CHECK(mls_hmac(key, 20, (const uint8_t *)"Hi There", 8, out) == SP_OK);
    unhex("b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7", want, 32);
    CHECK_MEM(out, want, 32);
    const char *d2 = "what do ya want for nothing?";
    CHECK(mls_hmac((const uint8_t *)"Jefe", 4, (const uint8_t *)d2, strlen(d2), out) == SP_OK);
    unhex("5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843", want, 32);
    CHECK_MEM(out, want, 32);
    /* a key longer than the block is hashed first */
    memset(key, 0xaa, sizeof key);
    const char *d6 = "Test Using Larger Than Block-Size Key - Hash Key First";
    CHECK(mls_hmac(key, sizeof key, (const uint8_t *)d6, strlen(d6), out) == SP_OK);
    unhex("60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54", want, 32);
    CHECK_MEM(out, want, 32);

    /* RFC 5869 A.1 */
    uint8_t ikm[22], salt[13], info[10], prk[32], okm[42], want_okm[42];
    memset(ikm, 0x0b, sizeof ikm);
    for (int i = 0; i < 13; i++) salt[i] = (uint8_t)i;
    for (int i = 0; i < 10; i++) info[i] = (uint8_t)(0xf0 + i);
    CHECK(mls_hkdf_extract(salt, sizeof salt, ikm, sizeof ikm, prk) == SP_OK);
    unhex("077709362c2e32df0ddc3f0dc47bba6390b6c73bb50f9c3122ec844ad7c2b3e5", want, 32);
    CHECK_MEM(prk, want, 32);
    CHECK(mls_hkdf_expand(prk, 32, info, sizeof info, okm, sizeof okm) == SP_OK);
    unhex("3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865",
          want_okm, 42);
    CHECK_MEM(okm, want_okm, 42);
    /* output in place of the input key (the key schedule relies on it) */
    uint8_t a[32];
    memcpy(a, prk, 32);
    CHECK(mls_hkdf_extract(a, 32, a, 32, a) == SP_OK);
    CHECK(mls_hkdf_extract(prk, 32, prk, 32, out) == SP_OK);
    CHECK_MEM(a, out, 32);
    /* over the HKDF limit */
    uint8_t big[1];
    CHECK(mls_hkdf_expand(prk, 32, NULL, 0, big, 255 * 32 + 1) == SP_ERR_INVALID);
    /* a long info takes the heap path and still matches a chunked reference */
    uint8_t *linfo = calloc(1000, 1), o1[64];
    CHECK(linfo && mls_hkdf_expand(prk, 32, linfo, 1000, o1, 64) == SP_OK);
    free(linfo);

    uint8_t h[32];
    mls_hash_ctx *hc;
    CHECK(mls_hash((const uint8_t *)"abc", 3, h) == SP_OK);
    unhex("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", want, 32);
    CHECK_MEM(h, want, 32);
    CHECK(mls_hash_new(&hc) == SP_OK);
    CHECK(mls_hash_update(hc, (const uint8_t *)"a", 1) == SP_OK && mls_hash_update(hc, (const uint8_t *)"bc", 2) == SP_OK);
    CHECK(mls_hash_final(hc, h) == SP_OK);
    CHECK_MEM(h, want, 32);
    mls_hash_free(hc);
}

static void test_aead(void)
{
    uint8_t key[16] = {1}, nonce[12] = {2}, pt[40], ct[56], back[40];
    for (int i = 0; i < 40; i++) pt[i] = (uint8_t)i;
    CHECK(mls_aead_seal(key, nonce, (const uint8_t *)"ad", 2, pt, sizeof pt, ct) == SP_OK);
    CHECK(mls_aead_open(key, nonce, (const uint8_t *)"ad", 2, ct, sizeof ct, back) == SP_OK);
    CHECK_MEM(back, pt, sizeof pt);
    /* wrong aad, flipped ciphertext bit, flipped tag bit: all rejected */
    CHECK(mls_aead_open(key, nonce, (const uint8_t *)"ae", 2, ct, sizeof ct, back) == SP_ERR_CRYPTO);
    ct[3] ^= 1;
    CHECK(mls_aead_open(key, nonce, (const uint8_t *)"ad", 2, ct, sizeof ct, back) == SP_ERR_CRYPTO);
    ct[3] ^= 1;
    ct[50] ^= 0x80;
    CHECK(mls_aead_open(key, nonce, (const uint8_t *)"ad", 2, ct, sizeof ct, back) == SP_ERR_CRYPTO);
    ct[50] ^= 0x80;
    CHECK(mls_aead_open(key, nonce, NULL, 0, ct, 15, back) == SP_ERR_INVALID);
    /* in place, and an empty plaintext */
    uint8_t io[56];
    memcpy(io, pt, 40);
    CHECK(mls_aead_seal(key, nonce, NULL, 0, io, 40, io) == SP_OK);
    CHECK(mls_aead_open(key, nonce, NULL, 0, io, 56, io) == SP_OK);
    CHECK_MEM(io, pt, 40);
    uint8_t tag[16];
    CHECK(mls_aead_seal(key, nonce, NULL, 0, NULL, 0, tag) == SP_OK);
    CHECK(mls_aead_open(key, nonce, NULL, 0, tag, 16, NULL) == SP_OK);
}

static void test_ed25519(void)
{
    uint8_t priv[32], pub[32], want_sig[64], sig[64];
    unhex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60", priv, 32);
    unhex("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", pub, 32);
    unhex("e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc6"
          "1e39701cf9b46bd25bf5f0595bbe24655141438e7a100b", want_sig, 64);
    mls_signer *s;
    CHECK(mls_signer_new(priv, &s) == SP_OK);
    CHECK_MEM(mls_signer_pub(s), pub, 32);
    CHECK(mls_sign(s, NULL, 0, sig) == SP_OK);
    CHECK_MEM(sig, want_sig, 64);
    CHECK(mls_verify(pub, NULL, 0, sig, 64) == SP_OK);
    CHECK(mls_verify(pub, (const uint8_t *)"x", 1, sig, 64) == SP_ERR_CRYPTO);
    CHECK(mls_verify(pub, NULL, 0, sig, 63) == SP_ERR_CRYPTO);
    sig[10] ^= 1;
    CHECK(mls_verify(pub, NULL, 0, sig, 64) == SP_ERR_CRYPTO);
    /* labels separate domains */
    CHECK(mls_sign_with_label(s, "A", (const uint8_t *)"m", 1, sig) == SP_OK);
    CHECK(mls_verify_with_label(pub, "A", (const uint8_t *)"m", 1, sig, 64) == SP_OK);
    CHECK(mls_verify_with_label(pub, "B", (const uint8_t *)"m", 1, sig, 64) == SP_ERR_CRYPTO);
    CHECK(mls_verify(pub, (const uint8_t *)"m", 1, sig, 64) == SP_ERR_CRYPTO);
    mls_signer_free(s);
}

/* A deterministic source: counts up from a seed. */
static sp_err counter_rand(void *ctx, uint8_t *out, size_t n)
{
    uint8_t *c = ctx;
    for (size_t i = 0; i < n; i++) out[i] = (*c)++;
    return SP_OK;
}

static sp_err failing_rand(void *ctx, uint8_t *out, size_t n)
{
    (void)ctx; (void)out; (void)n;
    return SP_ERR_INTERNAL;
}

static void test_rand_and_x25519(void)
{
    uint8_t seed = 7, seed2 = 7, p1[32], q1[32], p2[32], q2[32];
    mls_rand r1 = {counter_rand, &seed}, r2 = {counter_rand, &seed2}, bad = {failing_rand, NULL};
    CHECK(mls_sig_keygen(&r1, p1, q1) == SP_OK && mls_sig_keygen(&r2, p2, q2) == SP_OK);
    CHECK_MEM(p1, p2, 32);
    CHECK_MEM(q1, q2, 32);
    CHECK(mls_sig_keygen(&bad, p1, q1) == SP_ERR_INTERNAL);
    CHECK(mls_hpke_keygen(&bad, p1, q1) == SP_ERR_INTERNAL);
    /* the system source gives different keys each time */
    CHECK(mls_hpke_keygen(NULL, p1, q1) == SP_OK && mls_hpke_keygen(NULL, p2, q2) == SP_OK);
    CHECK(memcmp(q1, q2, 32) != 0);
    /* DH agrees both ways; a low-order peer key is refused */
    uint8_t s1[32], s2[32], zero[32] = {0};
    CHECK(mls_x25519(p1, q2, s1) == SP_OK && mls_x25519(p2, q1, s2) == SP_OK);
    CHECK_MEM(s1, s2, 32);
    CHECK(mls_x25519_kp(p1, q1, q2, s2) == SP_OK);
    CHECK_MEM(s1, s2, 32);
    CHECK(mls_x25519(p1, zero, s1) == SP_ERR_CRYPTO);
    CHECK(mls_x25519_kp(p1, q1, zero, s1) == SP_ERR_CRYPTO);
}

static void test_hpke_errors(void)
{
    uint8_t skR[32], pkR[32], skS[32], pkS[32], enc[32], ct[21], pt[5];
    CHECK(mls_hpke_keygen(NULL, skR, pkR) == SP_OK && mls_hpke_keygen(NULL, skS, pkS) == SP_OK);
    CHECK(mls_hpke_seal_base(pkR, (const uint8_t *)"i", 1, NULL, 0, (const uint8_t *)"hello", 5, NULL, enc, ct) == SP_OK);
    CHECK(mls_hpke_open_base(enc, skR, (const uint8_t *)"i", 1, NULL, 0, ct, sizeof ct, pt) == SP_OK);
    CHECK(memcmp(pt, "hello", 5) == 0);
    CHECK(mls_hpke_open_base(enc, skR, (const uint8_t *)"j", 1, NULL, 0, ct, sizeof ct, pt) == SP_ERR_CRYPTO);
    CHECK(mls_hpke_open_base(enc, skS, (const uint8_t *)"i", 1, NULL, 0, ct, sizeof ct, pt) == SP_ERR_CRYPTO);

    /* parameter rules of §5.1 */
    mls_hpke_params p = {MLS_HPKE_MODE_PSK, MLS_HPKE_AEAD_AES128GCM, NULL, 0, NULL, 0, NULL, 0};
    mls_hpke_ctx *c = NULL;
    CHECK(mls_hpke_setup_sender(&p, pkR, NULL, NULL, enc, &c) == SP_ERR_INVALID && !c);
    p.psk = (const uint8_t *)"k"; p.psk_len = 1;
    CHECK(mls_hpke_setup_sender(&p, pkR, NULL, NULL, enc, &c) == SP_ERR_INVALID);
    p.mode = MLS_HPKE_MODE_BASE; p.psk_id = (const uint8_t *)"id"; p.psk_id_len = 2;
    CHECK(mls_hpke_setup_sender(&p, pkR, NULL, NULL, enc, &c) == SP_ERR_INVALID);
    p.psk_len = p.psk_id_len = 0;
    p.mode = MLS_HPKE_MODE_AUTH;
    CHECK(mls_hpke_setup_sender(&p, pkR, NULL, NULL, enc, &c) == SP_ERR_INVALID);
    p.aead_id = 0x0002;
    CHECK(mls_hpke_setup_sender(&p, pkR, skS, NULL, enc, &c) == SP_ERR_UNSUPPORTED);

    /* Auth mode: the receiver must name the right sender */
    p.aead_id = MLS_HPKE_AEAD_AES128GCM;
    mls_hpke_ctx *s, *r, *r2;
    CHECK(mls_hpke_setup_sender(&p, pkR, skS, NULL, enc, &s) == SP_OK);
    CHECK(mls_hpke_setup_receiver(&p, enc, skR, pkS, &r) == SP_OK);
    CHECK(mls_hpke_setup_receiver(&p, enc, skR, pkR, &r2) == SP_OK);
    uint8_t c0[21], c1[21];
    CHECK(mls_hpke_seal(s, NULL, 0, (const uint8_t *)"first", 5, c0) == SP_OK);
    CHECK(mls_hpke_seal(s, NULL, 0, (const uint8_t *)"secnd", 5, c1) == SP_OK);
    CHECK(mls_hpke_open(r2, NULL, 0, c0, 21, pt) == SP_ERR_CRYPTO);
    /* sequence numbers: the second message cannot be opened first, and a failure does not advance */
    CHECK(mls_hpke_open(r, NULL, 0, c1, 21, pt) == SP_ERR_CRYPTO);
    CHECK(mls_hpke_open(r, NULL, 0, c0, 21, pt) == SP_OK && memcmp(pt, "first", 5) == 0);
    CHECK(mls_hpke_open(r, NULL, 0, c1, 21, pt) == SP_OK && memcmp(pt, "secnd", 5) == 0);
    mls_hpke_ctx_free(s);
    mls_hpke_ctx_free(r);
    mls_hpke_ctx_free(r2);

    /* EncryptWithLabel: short or tampered ciphertexts */
    sp_buf out = SP_BUF_INIT, pt2 = SP_BUF_INIT;
    uint8_t kem[32];
    CHECK(mls_encrypt_with_label(pkR, "L", NULL, 0, NULL, 0, NULL, kem, &out) == SP_OK && out.len == 16);
    CHECK(mls_decrypt_with_label(skR, "L", NULL, 0, kem, out.data, out.len, &pt2) == SP_OK && pt2.len == 0);
    CHECK(mls_decrypt_with_label(skR, "L", NULL, 0, kem, out.data, 15, &pt2) == SP_ERR_CRYPTO);
    CHECK(mls_decrypt_with_label(skR, "M", NULL, 0, kem, out.data, out.len, &pt2) == SP_ERR_CRYPTO);
    sp_buf_free(&out);
    sp_buf_free_secret(&pt2);
}

/* KeyPackageRef against an external value: welcome.json's Welcome names its new member by
 * MakeKeyPackageRef of the vector's KeyPackage (RFC 9420 §5.2). */
static void test_key_package_ref(void)
{
    json *root = json_load_file("test/vectors/mls/welcome.json");
    const json *c = json_at(root, 0);
    size_t kn, wn;
    uint8_t *kp = json_gethex(c, "key_package", &kn), *w = json_gethex(c, "welcome", &wn);
    uint8_t ref[MLS_HASH_LEN];
    CHECK(root && kp && w && kn > 4);
    if (!(root && kp && w && kn > 4)) goto out;
    /* MLSMessage: version, wire_format, then the KeyPackage; a Welcome starts with the
     * cipher suite and then secrets<V>, whose first entry starts with new_member<V>. */
    CHECK(mls_make_key_package_ref(kp + 4, kn - 4, ref) == SP_OK);
    sp_reader r, secrets;
    sp_slice new_member = {NULL, 0};
    sp_reader_init(&r, w, wn);
    CHECK(sp_read_skip(&r, 6) == SP_OK && mls_read_vec(&r, &secrets) == SP_OK &&
          mls_read_opaque(&secrets, &new_member) == SP_OK);
    CHECK(new_member.len == MLS_HASH_LEN && memcmp(new_member.ptr, ref, MLS_HASH_LEN) == 0);
    /* the proposal label differs */
    uint8_t pref[MLS_HASH_LEN];
    CHECK(mls_make_proposal_ref(kp + 4, kn - 4, pref) == SP_OK && memcmp(pref, ref, 32) != 0);
out:
    free(kp);
    free(w);
    json_free(root);
}

/* The key schedule pieces the vectors do not cover: external init (§8.3) and argument checks. */
static void test_key_schedule_extras(void)
{
    uint8_t ext[MLS_HASH_LEN] = {9}, priv[32], pub[32], kem[32], a[32], b[32], other[32], op[32];
    CHECK(mls_external_key_pair(ext, priv, pub) == SP_OK);
    CHECK(mls_external_init_sender(pub, NULL, kem, a) == SP_OK);
    CHECK(mls_external_init_receiver(priv, kem, b) == SP_OK);
    CHECK_MEM(a, b, 32);
    CHECK(mls_hpke_keygen(NULL, other, op) == SP_OK);
    CHECK(mls_external_init_receiver(other, kem, b) == SP_OK && memcmp(a, b, 32) != 0);
    uint8_t zero[32] = {0};
    CHECK(mls_external_init_receiver(priv, zero, b) == SP_ERR_CRYPTO);

    /* NULL commit/psk secrets are the all-zero ones */
    mls_epoch_secrets s1, s2;
    uint8_t init[32] = {1}, gc[3] = {1, 2, 3};
    CHECK(mls_key_schedule(init, NULL, NULL, gc, sizeof gc, &s1) == SP_OK);
    CHECK(mls_key_schedule(init, zero, zero, gc, sizeof gc, &s2) == SP_OK);
    CHECK(memcmp(&s1, &s2, sizeof s1) == 0);
    CHECK(mls_key_schedule(init, NULL, NULL, NULL, 3, &s2) == SP_ERR_INVALID);
    uint8_t wk[16], wn[12], wk2[16];
    CHECK(mls_welcome_key_nonce(s1.welcome_secret, wk, wn) == SP_OK);
    CHECK(mls_welcome_key_nonce(s1.joiner_secret, wk2, wn) == SP_OK && memcmp(wk, wk2, 16) != 0);
    mls_epoch_secrets_wipe(&s1);
    mls_epoch_secrets_wipe(&s2);
    CHECK(memcmp(&s1, &s2, sizeof s1) == 0);

    /* PSK secret: none is all zeros; order matters */
    uint8_t ps[32], ps2[32];
    CHECK(mls_psk_secret(NULL, 0, ps) == SP_OK && memcmp(ps, zero, 32) == 0);
    mls_psk_input in[2] = {{(const uint8_t *)"a", 1, (const uint8_t *)"k1", 2},
                           {(const uint8_t *)"b", 1, (const uint8_t *)"k2", 2}};
    mls_psk_input rev[2] = {in[1], in[0]};
    CHECK(mls_psk_secret(in, 2, ps) == SP_OK && mls_psk_secret(rev, 2, ps2) == SP_OK);
    CHECK(memcmp(ps, ps2, 32) != 0);
    CHECK(mls_psk_secret(in, 70000, ps) == SP_ERR_TOO_LARGE);
    sp_buf id = SP_BUF_INIT;
    CHECK(mls_psk_id_encode_resumption(&id, 1, (const uint8_t *)"g", 1, 5, (const uint8_t *)"nn", 2) == SP_OK);
    static const uint8_t want_id[] = {2, 1, 1, 'g', 0, 0, 0, 0, 0, 0, 0, 5, 2, 'n', 'n'};
    CHECK(id.len == sizeof want_id && memcmp(id.data, want_id, sizeof want_id) == 0);
    sp_buf_free(&id);
}

/* Structural invariants of the tree for any leaf count. */
static int tree_consistent(uint32_t n)
{
    uint32_t w = mls_tm_node_width(n);
    mls_node_idx root = mls_tm_root(n), x, y;
    if (root.v >= w || mls_tm_parent(root, n, &x)) return 0;
    for (uint32_t i = 0; i < w; i++) {
        mls_node_idx v = mls_node(i);
        if (mls_tm_left(v, n, &x) && (x.v >= w || !mls_tm_parent(x, n, &y) || y.v != i)) return 0;
        if (mls_tm_right(v, n, &x) && (x.v >= w || !mls_tm_parent(x, n, &y) || y.v != i)) return 0;
        if (mls_node_is_leaf(v) != !mls_tm_left(v, n, &x)) return 0;
        if (i != root.v) {
            if (!mls_tm_sibling(v, n, &x) || !mls_tm_sibling(x, n, &y) || y.v != i) return 0;
            mls_node_idx path[40], cop[40];
            size_t np, nc;
            if (mls_tm_direct_path(v, n, path, 40, &np) || np == 0 || path[np - 1].v != root.v) return 0;
            if (mls_tm_copath(v, n, cop, 40, &nc) || nc != np) return 0;
            for (size_t k = 0; k < np; k++)
                if (!mls_tm_is_ancestor(path[k], v, n) || mls_tm_is_ancestor(cop[k], v, n)) return 0;
        }
        if (!mls_tm_is_ancestor(root, v, n)) return 0;
    }
    return 1;
}

static void test_tree_math(void)
{
    for (uint32_t n = 1; n <= 70; n++) CHECK_MSG(tree_consistent(n), "n_leaves %u", n);
    /* three leaves: the root's right child is the third leaf, not a missing parent */
    mls_node_idx x;
    CHECK(mls_tm_root(3).v == 3);
    CHECK(mls_tm_right(mls_node(3), 3, &x) && x.v == 4);
    CHECK(mls_tm_parent(mls_node(4), 3, &x) && x.v == 3);
    CHECK(mls_tm_sibling(mls_node(1), 3, &x) && x.v == 4);
    /* leaf/node conversions and out-of-range */
    mls_leaf_idx l;
    CHECK(mls_leaf_to_node(mls_leaf(5)).v == 10);
    CHECK(mls_node_to_leaf(mls_node(10), &l) && l.v == 5);
    CHECK(!mls_node_to_leaf(mls_node(11), &l));
    CHECK(mls_tm_level(mls_node(7)) == 3 && mls_tm_level(mls_node(8)) == 0);
    CHECK(!mls_tm_parent(mls_node(7), 4, &x) && !mls_tm_left(mls_node(9), 4, &x));
    mls_node_idx path[2];
    size_t np;
    CHECK(mls_tm_direct_path(mls_node(0), 8, path, 2, &np) == SP_ERR_TOO_LARGE);
    CHECK(mls_tm_direct_path(mls_node(15), 8, path, 2, &np) == SP_ERR_INVALID);
    CHECK(mls_tm_root(MLS_MAX_LEAVES).v == (1u << 30) - 1);
    CHECK(mls_tm_parent(mls_node(0), MLS_MAX_LEAVES, &x) && x.v == 1);
    CHECK(!mls_tm_parent(mls_node(0), MLS_MAX_LEAVES + 1, &x));
}

int main(void)
{
    test_hmac_hkdf();
    test_aead();
    test_ed25519();
    test_rand_and_x25519();
    test_hpke_errors();
    test_tree_math();
    test_key_package_ref();
    test_key_schedule_extras();
    return check_done();
}
