/* mls_protect.c — PrivateMessage protect and unprotect per second for a 100-byte
 * application message, single-threaded, suite 0x0001. Protect covers signing,
 * key ratcheting, encryption and encoding to MLSMessage bytes; unprotect covers
 * decoding, decryption, ratcheting and signature verification. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mls/codec.h"
#include "mls/framing.h"

#define N 20000

/* CPU time of this thread: the machine is shared, so wall time would measure the
 * neighbours; CPU time is what one idle core would take. */
static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static double wall(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static uint8_t sig_pub[MLS_SIG_PUB_LEN];

static sp_err key_of(void *arg, const mls_framed_content *c, uint8_t pub[MLS_SIG_PUB_LEN])
{
    (void)arg;
    (void)c;
    memcpy(pub, sig_pub, MLS_SIG_PUB_LEN);
    return SP_OK;
}

static void die(const char *what, sp_err e)
{
    fprintf(stderr, "mls_protect: %s: %s\n", what, sp_strerror(e));
    exit(1);
}

int main(void)
{
    uint8_t priv[MLS_SIG_PRIV_LEN], enc_secret[MLS_HASH_LEN], sds[MLS_HASH_LEN], msg[100];
    for (size_t i = 0; i < sizeof priv; i++)
        priv[i] = (uint8_t)(i + 1);
    memset(enc_secret, 0x11, sizeof enc_secret);
    memset(sds, 0x22, sizeof sds);
    memset(msg, 'x', sizeof msg);

    mls_signer *signer;
    sp_err e = mls_signer_new(priv, &signer);
    if (e)
        die("signer", e);
    memcpy(sig_pub, mls_signer_pub(signer), MLS_SIG_PUB_LEN);

    mls_group_context ctx = {0};
    ctx.version = MLS_VERSION_10;
    ctx.cipher_suite = MLS_CIPHER_SUITE;
    ctx.epoch = 7;
    mls_bytes_set(&ctx.group_id, "bench-group-0123456789abcdef", 28);
    mls_bytes_set(&ctx.tree_hash, enc_secret, 32);
    mls_bytes_set(&ctx.confirmed_transcript_hash, sds, 32);

    mls_secret_tree_limits lim = {N + 10, 10};
    mls_secret_tree *tx, *rx;
    if ((e = mls_secret_tree_new(enc_secret, 8, &lim, &tx)) ||
        (e = mls_secret_tree_new(enc_secret, 8, &lim, &rx)))
        die("secret tree", e);

    sp_buf *wire = calloc(N, sizeof *wire);
    double w0 = wall(), t0 = now();
    for (int i = 0; i < N; i++) {
        mls_authenticated_content ac = {0};
        mls_message m = {0};
        ac.wire_format = MLS_WIRE_PRIVATE_MESSAGE;
        ac.content.epoch = ctx.epoch;
        ac.content.sender.type = MLS_SENDER_MEMBER;
        ac.content.sender.index = 3;
        ac.content.content_type = MLS_CONTENT_APPLICATION;
        mls_bytes_set(&ac.content.group_id, ctx.group_id.data, ctx.group_id.len);
        mls_bytes_set(&ac.content.application_data, msg, sizeof msg);
        m.version = MLS_VERSION_10;
        m.wire_format = MLS_WIRE_PRIVATE_MESSAGE;
        if ((e = mls_content_sign(&ac, &ctx, signer)) ||
            (e = mls_private_message_protect(&ac, tx, sds, 0, NULL, &m.private_message)) ||
            (e = mls_message_write(&wire[i], &m)))
            die("protect", e);
        mls_message_free(&m);
        mls_authenticated_content_free(&ac);
    }
    double w1 = wall(), t1 = now();
    for (int i = 0; i < N; i++) {
        mls_message m;
        mls_authenticated_content ac;
        if ((e = mls_message_decode(wire[i].data, wire[i].len, &m)) ||
            (e = mls_private_message_open(&m.private_message, &ctx, rx, sds, key_of, NULL, &ac)))
            die("unprotect", e);
        if (ac.content.application_data.len != sizeof msg)
            die("unprotect: wrong plaintext", SP_ERR_INTERNAL);
        mls_authenticated_content_free(&ac);
        mls_message_free(&m);
    }
    double w2 = wall(), t2 = now();
    printf("PrivateMessage protect (100-byte app msg):   %.0f/s per CPU-second "
           "(%d in %.2fs CPU, %.2fs wall; %zu bytes each)\n",
           N / (t1 - t0), N, t1 - t0, w1 - w0, wire[0].len);
    printf("PrivateMessage unprotect (100-byte app msg): %.0f/s per CPU-second "
           "(%d in %.2fs CPU, %.2fs wall)\n",
           N / (t2 - t1), N, t2 - t1, w2 - w1);
    /* The floor under both: one Ed25519 signature / verification of a message of
     * about the same size, measured in the same run (and so under the same load). */
    uint8_t tbs[200], sig[MLS_SIG_LEN];
    memset(tbs, 'y', sizeof tbs);
    double t3 = now();
    for (int i = 0; i < N / 2; i++)
        mls_sign_with_label(signer, "FramedContentTBS", tbs, sizeof tbs, sig);
    double t4 = now();
    for (int i = 0; i < N / 2; i++)
        mls_verify_with_label(sig_pub, "FramedContentTBS", tbs, sizeof tbs, sig, sizeof sig);
    double t5 = now();
    double sign_rate = N / 2 / (t4 - t3), verify_rate = N / 2 / (t5 - t4);
    printf("Ed25519 SignWithLabel alone:   %.0f/s per CPU-second (protect runs at %.0f%% of it)\n",
           sign_rate, 100.0 * N / (t1 - t0) / sign_rate);
    printf("Ed25519 VerifyWithLabel alone: %.0f/s per CPU-second (unprotect runs at %.0f%% of it)\n",
           verify_rate, 100.0 * N / (t2 - t1) / verify_rate);
    for (int i = 0; i < N; i++)
        sp_buf_free(&wire[i]);
    free(wire);
    mls_secret_tree_free(tx);
    mls_secret_tree_free(rx);
    mls_group_context_free(&ctx);
    mls_signer_free(signer);
    return 0;
}
