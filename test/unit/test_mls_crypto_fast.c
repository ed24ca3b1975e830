/* test_mls_crypto_fast.c — the fast paths of mls/crypto and mls/framing give the same
 * answers as the plain ones: a signer that reuses its OpenSSL context (also shared by
 * threads), the per-thread verification-key cache (eviction, bad signatures, thread exit,
 * explicit cleanup), ExpandWithLabel fed in pieces against the KDFLabel built with the
 * codec, mls_expand_with_labels, mls_put_sign_label, fresh reuse guards after fork, and the
 * HPKE receiver that is given its own public key (mls_*_kp). */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "mls/crypto.h"
#include "mls/framing.h"
#include "mls/hpke.h"
#include "mls/tls.h"

CHECK_MAIN_DEFS

/* ExpandWithLabel the long way: KDFLabel encoded with the codec, then HKDF-Expand. */
static sp_err expand_ref(const uint8_t secret[32], const char *label, const uint8_t *ctx,
                         size_t ctx_len, uint8_t *out, uint16_t out_len)
{
    sp_buf b = SP_BUF_INIT;
    sp_buf full = SP_BUF_INIT;
    sp_err e = sp_buf_put_u16(&b, out_len);
    if (!e) e = sp_buf_append(&full, "MLS 1.0 ", 8);
    if (!e) e = sp_buf_append(&full, label, strlen(label));
    if (!e) e = mls_put_opaque(&b, full.data, full.len);
    if (!e) e = mls_put_opaque(&b, ctx, ctx_len);
    if (!e) e = mls_hkdf_expand(secret, 32, b.data, b.len, out, out_len);
    sp_buf_free(&b);
    sp_buf_free(&full);
    return e;
}

static void test_expand_pieces(void)
{
    uint8_t secret[32], a[100], b[100];
    for (int i = 0; i < 32; i++) secret[i] = (uint8_t)(7 * i + 1);
    uint8_t *ctx = malloc(20000);
    for (int i = 0; i < 20000; i++) ctx[i] = (uint8_t)i;
    /* context lengths on each side of the 1-, 2- and 4-byte varint boundaries */
    size_t lens[] = {0, 1, 63, 64, 16383, 16384, 20000};
    /* a label whose prefixed length crosses the 1-byte varint boundary */
    char long_label[80];
    memset(long_label, 'q', sizeof long_label - 1);
    long_label[sizeof long_label - 1] = 0;
    const char *labels[] = {"key", "", long_label};
    uint16_t outs[] = {0, 12, 32, 33, 100};
    int bad = 0, n = 0;
    for (size_t l = 0; l < 3; l++)
        for (size_t c = 0; c < sizeof lens / sizeof *lens; c++)
            for (size_t o = 0; o < sizeof outs / sizeof *outs; o++) {
                memset(a, 1, sizeof a);
                memset(b, 1, sizeof b);
                sp_err e1 = mls_expand_with_label(secret, labels[l], ctx, lens[c], a, outs[o]);
                sp_err e2 = expand_ref(secret, labels[l], ctx, lens[c], b, outs[o]);
                n++;
                if (e1 || e2 || memcmp(a, b, sizeof a)) bad++;
            }
    CHECK_MSG(bad == 0, "%d of %d ExpandWithLabel cases differ from the codec-built KDFLabel", bad,
              n);

    /* several labels at once == one at a time */
    uint8_t k1[16], n1[12], s1[32], k2[16], n2[12], s2[32], gen[4] = {0, 0, 1, 2};
    mls_label_out req[3] = {{"key", k1, 16}, {"nonce", n1, 12}, {"secret", s1, 32}};
    CHECK(mls_expand_with_labels(secret, gen, 4, req, 3) == SP_OK);
    CHECK(mls_derive_tree_secret(secret, "key", 0x0102, k2, 16) == SP_OK);
    CHECK(mls_derive_tree_secret(secret, "nonce", 0x0102, n2, 12) == SP_OK);
    CHECK(mls_derive_tree_secret(secret, "secret", 0x0102, s2, 32) == SP_OK);
    CHECK_MEM(k1, k2, 16);
    CHECK_MEM(n1, n2, 12);
    CHECK_MEM(s1, s2, 32);
    CHECK(mls_expand_with_labels(secret, NULL, 0, req, 0) == SP_OK);
    mls_label_out bad_req[2] = {{"key", k1, 16}, {NULL, n1, 12}};
    CHECK(mls_expand_with_labels(secret, gen, 4, bad_req, 2) == SP_ERR_INVALID);
    CHECK(mls_expand_with_labels(NULL, gen, 4, req, 3) == SP_ERR_INVALID);
    CHECK(mls_expand_with_labels(secret, NULL, 4, req, 3) == SP_ERR_INVALID);
    free(ctx);
}

static uint8_t msg[200];

/* A fresh signer per signature: the reference for the reused context (Ed25519 is
 * deterministic, so both must give the same bytes). */
static void sign_fresh(const uint8_t priv[32], const uint8_t *m, size_t len, uint8_t sig[64])
{
    mls_signer *s;
    memset(sig, 0, 64);
    if (mls_signer_new(priv, &s) != SP_OK) return;
    mls_sign(s, m, len, sig);
    mls_signer_free(s);
}

typedef struct {
    mls_signer *s;
    const uint8_t (*want)[64];
    int bad;
} sign_job;

static void *sign_thread(void *arg)
{
    sign_job *j = arg;
    uint8_t sig[64];
    for (int round = 0; round < 20; round++)
        for (int i = 0; i < 8; i++) {
            if (mls_sign(j->s, msg, (size_t)(i * 20), sig) != SP_OK ||
                memcmp(sig, j->want[i], 64) != 0)
                j->bad++;
            if (mls_verify(mls_signer_pub(j->s), msg, (size_t)(i * 20), sig, 64) != SP_OK)
                j->bad++;
        }
    return NULL; /* exiting frees this thread's verification-key cache */
}

static void test_signer_reuse(void)
{
    uint8_t priv[32], want[8][64], sig[64];
    for (int i = 0; i < 32; i++) priv[i] = (uint8_t)(i * 3);
    for (int i = 0; i < 8; i++) sign_fresh(priv, msg, (size_t)(i * 20), want[i]);
    mls_signer *s;
    CHECK(mls_signer_new(priv, &s) == SP_OK);
    int bad = 0;
    for (int round = 0; round < 3; round++)
        for (int i = 0; i < 8; i++)
            if (mls_sign(s, msg, (size_t)(i * 20), sig) != SP_OK || memcmp(sig, want[i], 64))
                bad++;
    CHECK_MSG(bad == 0, "%d signatures from the reused context differ", bad);
    CHECK(mls_sign(s, NULL, 0, sig) == SP_OK && memcmp(sig, want[0], 64) == 0);
    CHECK(mls_sign(s, NULL, 5, sig) == SP_ERR_INVALID);
    CHECK(mls_sign(NULL, msg, 5, sig) == SP_ERR_INVALID);

    /* one signer shared by four threads at once */
    pthread_t th[4];
    sign_job jobs[4];
    for (int t = 0; t < 4; t++) {
        jobs[t] = (sign_job){s, (const uint8_t(*)[64])want, 0};
        CHECK(pthread_create(&th[t], NULL, sign_thread, &jobs[t]) == 0);
    }
    for (int t = 0; t < 4; t++) {
        pthread_join(th[t], NULL);
        CHECK_MSG(jobs[t].bad == 0, "thread %d: %d bad signatures", t, jobs[t].bad);
    }

    /* SignContent encoded in place == SignWithLabel */
    uint8_t a[64], b[64];
    sp_buf buf = SP_BUF_INIT;
    CHECK(mls_put_sign_label(&buf, "FramedContentTBS") == SP_OK);
    size_t at = mls_vec_begin(&buf);
    CHECK(sp_buf_append(&buf, msg, sizeof msg) == SP_OK);
    CHECK(mls_vec_end(&buf, at) == SP_OK);
    CHECK(mls_sign(s, buf.data, buf.len, a) == SP_OK);
    CHECK(mls_sign_with_label(s, "FramedContentTBS", msg, sizeof msg, b) == SP_OK);
    CHECK_MEM(a, b, 64);
    CHECK(mls_verify_with_label(mls_signer_pub(s), "FramedContentTBS", msg, sizeof msg, a, 64) ==
          SP_OK);
    CHECK(mls_put_sign_label(&buf, NULL) == SP_ERR_INVALID);
    sp_buf_free(&buf);
    mls_signer_free(s);
}

#define N_KEYS 40 /* more than the 32 cached per thread: forces evictions */

static void test_verify_cache(void)
{
    static uint8_t pubs[N_KEYS][32], sigs[N_KEYS][64];
    for (int k = 0; k < N_KEYS; k++) {
        uint8_t priv[32];
        mls_signer *s;
        memset(priv, k + 1, sizeof priv);
        CHECK(mls_signer_new(priv, &s) == SP_OK);
        memcpy(pubs[k], mls_signer_pub(s), 32);
        CHECK(mls_sign(s, msg, 100, sigs[k]) == SP_OK);
        mls_signer_free(s);
    }
    int bad = 0;
    for (int pass = 0; pass < 3; pass++)
        for (int k = 0; k < N_KEYS; k++) {
            int kk = pass == 1 ? N_KEYS - 1 - k : k;
            if (mls_verify(pubs[kk], msg, 100, sigs[kk], 64) != SP_OK) bad++;
            /* the right signature under the wrong key, and a corrupted one */
            if (mls_verify(pubs[(kk + 1) % N_KEYS], msg, 100, sigs[kk], 64) != SP_ERR_CRYPTO) bad++;
            sigs[kk][5] ^= 0x40;
            if (mls_verify(pubs[kk], msg, 100, sigs[kk], 64) != SP_ERR_CRYPTO) bad++;
            sigs[kk][5] ^= 0x40;
            if (mls_verify(pubs[kk], msg, 100, sigs[kk], 64) != SP_OK) bad++;
            if (mls_verify(pubs[kk], msg, 99, sigs[kk], 64) != SP_ERR_CRYPTO) bad++;
        }
    CHECK_MSG(bad == 0, "%d wrong verification results through the cache", bad);
    CHECK(mls_verify(pubs[0], msg, 100, sigs[0], 63) == SP_ERR_CRYPTO);
    CHECK(mls_verify(pubs[0], msg, 100, NULL, 64) == SP_ERR_INVALID);
    /* a public key that is not a curve point never verifies, cached or not */
    uint8_t junk[32];
    memset(junk, 0xff, sizeof junk);
    junk[31] = 0x7f;
    CHECK(mls_verify(junk, msg, 100, sigs[0], 64) == SP_ERR_CRYPTO);
    CHECK(mls_verify(junk, msg, 100, sigs[0], 64) == SP_ERR_CRYPTO);
    /* after an explicit cleanup everything still works (the cache refills) */
    mls_crypto_thread_cleanup();
    mls_crypto_thread_cleanup();
    CHECK(mls_verify(pubs[3], msg, 100, sigs[3], 64) == SP_OK);
    CHECK(mls_verify(pubs[3], msg, 100, sigs[4], 64) == SP_ERR_CRYPTO);
}

/* Two processes that share a secret tree's state (a fork) must still draw different
 * reuse guards: with the same key, nonce and plaintext, equal ciphertexts would mean
 * equal guards. */
static void test_guard_after_fork(void)
{
    uint8_t priv[32], enc[32], sds[32];
    memset(priv, 9, sizeof priv);
    memset(enc, 0x33, sizeof enc);
    memset(sds, 0x44, sizeof sds);
    mls_signer *s;
    mls_secret_tree *st;
    CHECK(mls_signer_new(priv, &s) == SP_OK);
    CHECK(mls_secret_tree_new(enc, 4, NULL, &st) == SP_OK);
    mls_group_context ctx = {0};
    ctx.version = MLS_VERSION_10;
    ctx.cipher_suite = MLS_CIPHER_SUITE;
    ctx.epoch = 1;
    CHECK(mls_bytes_set(&ctx.group_id, "g", 1) == SP_OK);
    mls_authenticated_content ac = {0};
    ac.wire_format = MLS_WIRE_PRIVATE_MESSAGE;
    ac.content.epoch = 1;
    ac.content.sender.type = MLS_SENDER_MEMBER;
    ac.content.sender.index = 1;
    ac.content.content_type = MLS_CONTENT_APPLICATION;
    CHECK(mls_bytes_set(&ac.content.group_id, "g", 1) == SP_OK);
    CHECK(mls_bytes_set(&ac.content.application_data, "hello", 5) == SP_OK);
    CHECK(mls_content_sign(&ac, &ctx, s) == SP_OK);
    /* draw one guard first so the pool is filled before the fork */
    mls_private_message pm;
    CHECK(mls_private_message_protect(&ac, st, sds, 0, NULL, &pm) == SP_OK);
    mls_private_message_free(&pm);

    int fds[2];
    CHECK(pipe(fds) == 0);
    pid_t pid = fork();
    if (pid == 0) {
        close(fds[0]);
        mls_private_message cm;
        if (mls_private_message_protect(&ac, st, sds, 0, NULL, &cm) == SP_OK) {
            ssize_t w = write(fds[1], cm.ciphertext.data, cm.ciphertext.len);
            (void)w;
        }
        _exit(0);
    }
    close(fds[1]);
    uint8_t child_ct[256];
    ssize_t got = 0, r;
    while ((r = read(fds[0], child_ct + got, sizeof child_ct - (size_t)got)) > 0) got += r;
    close(fds[0]);
    int status = 0;
    waitpid(pid, &status, 0);
    CHECK(mls_private_message_protect(&ac, st, sds, 0, NULL, &pm) == SP_OK);
    CHECK_MSG(got == (ssize_t)pm.ciphertext.len, "child wrote %zd bytes", got);
    CHECK_MSG(got != (ssize_t)pm.ciphertext.len ||
                  memcmp(child_ct, pm.ciphertext.data, pm.ciphertext.len) != 0,
              "parent and child used the same reuse guard after fork");
    mls_private_message_free(&pm);
    mls_authenticated_content_free(&ac);
    mls_group_context_free(&ctx);
    mls_secret_tree_free(st);
    mls_signer_free(s);
}

static void test_hpke_kp(void)
{
    uint8_t skR[32], pkR[32], skS[32], pkS[32], enc[32], ct[116], pt[100], pt2[100], pk[32];
    uint8_t a[32], b[32];
    CHECK(mls_hpke_keygen(NULL, skR, pkR) == SP_OK);
    CHECK(mls_hpke_keygen(NULL, skS, pkS) == SP_OK);
    /* pub_dh == pub then DH */
    CHECK(mls_x25519_pub_dh(skS, pkR, pk, a) == SP_OK);
    CHECK(mls_x25519(skS, pkR, b) == SP_OK);
    CHECK_MEM(pk, pkS, 32);
    CHECK_MEM(a, b, 32);
    uint8_t low[32] = {0}; /* a low-order point: the shared secret would be zero */
    CHECK(mls_x25519_pub_dh(skS, low, pk, a) == SP_ERR_CRYPTO);
    CHECK(mls_x25519_pub_dh(NULL, pkR, pk, a) == SP_ERR_INVALID);

    const uint8_t info[] = "info";
    CHECK(mls_hpke_seal_base(pkR, info, 4, NULL, 0, msg, 100, NULL, enc, ct) == SP_OK);
    CHECK(mls_hpke_open_base_kp(enc, skR, pkR, info, 4, NULL, 0, ct, sizeof ct, pt) == SP_OK);
    CHECK(mls_hpke_open_base(enc, skR, info, 4, NULL, 0, ct, sizeof ct, pt2) == SP_OK);
    CHECK_MEM(pt, msg, 100);
    CHECK_MEM(pt2, msg, 100);
    /* a wrong public key changes the KEM context: the open fails, nothing wrong comes out */
    CHECK(mls_hpke_open_base_kp(enc, skR, pkS, info, 4, NULL, 0, ct, sizeof ct, pt) ==
          SP_ERR_CRYPTO);

    /* Auth mode through the _kp receiver */
    mls_hpke_params p = {MLS_HPKE_MODE_AUTH, MLS_HPKE_AEAD_AES128GCM, info, 4, NULL, 0, NULL, 0};
    mls_hpke_ctx *sc, *rc;
    CHECK(mls_hpke_setup_sender(&p, pkR, skS, NULL, enc, &sc) == SP_OK);
    CHECK(mls_hpke_setup_receiver_kp(&p, enc, skR, pkR, pkS, &rc) == SP_OK);
    CHECK(mls_hpke_seal(sc, NULL, 0, msg, 100, ct) == SP_OK);
    CHECK(mls_hpke_open(rc, NULL, 0, ct, sizeof ct, pt) == SP_OK);
    CHECK_MEM(pt, msg, 100);
    mls_hpke_ctx_free(sc);
    mls_hpke_ctx_free(rc);
    CHECK(mls_hpke_setup_receiver_kp(&p, enc, skR, pkR, NULL, &rc) == SP_ERR_INVALID);

    /* DecryptWithLabel with and without the public key */
    sp_buf c = SP_BUF_INIT, o1 = SP_BUF_INIT, o2 = SP_BUF_INIT;
    uint8_t kem[32];
    CHECK(mls_encrypt_with_label(pkR, "Welcome", msg, 7, msg, 50, NULL, kem, &c) == SP_OK);
    CHECK(mls_decrypt_with_label_kp(skR, pkR, "Welcome", msg, 7, kem, c.data, c.len, &o1) ==
          SP_OK);
    CHECK(mls_decrypt_with_label_kp(skR, NULL, "Welcome", msg, 7, kem, c.data, c.len, &o2) ==
          SP_OK);
    CHECK(o1.len == 50 && o2.len == 50 && memcmp(o1.data, msg, 50) == 0 &&
          memcmp(o2.data, msg, 50) == 0);
    sp_buf_reset(&o1);
    CHECK(mls_decrypt_with_label_kp(skR, pkS, "Welcome", msg, 7, kem, c.data, c.len, &o1) ==
          SP_ERR_CRYPTO);
    CHECK(mls_decrypt_with_label_kp(skR, pkR, "Welcome", msg, 7, kem, c.data, 15, &o1) ==
          SP_ERR_CRYPTO);
    sp_buf_free(&c);
    sp_buf_free_secret(&o1);
    sp_buf_free_secret(&o2);
}

int main(void)
{
    for (size_t i = 0; i < sizeof msg; i++) msg[i] = (uint8_t)(i * 13 + 5);
    test_expand_pieces();
    test_signer_reuse();
    test_verify_cache();
    test_guard_after_fork();
    test_hpke_kp();
    mls_crypto_thread_cleanup();
    return check_done();
}
