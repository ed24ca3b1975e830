/* mls_protect.c — PrivateMessage protect and unprotect per second for a 100-byte
 * application message, single-threaded, suite 0x0001. Protect covers signing,
 * key ratcheting, encryption and encoding to MLSMessage bytes; unprotect covers
 * decoding, decryption, ratcheting and signature verification.
 *
 * The machine is shared, so the figures are CPU time of this thread (what one
 * idle core would take; wall time is printed too), and the run is split into
 * rounds that interleave protect, unprotect and bare Ed25519 sign/verify
 * (OpenSSL EVP with a prepared context, as `openssl speed` measures it): each
 * round's protect/sign and unprotect/verify ratios compare work done under the
 * same load. Printed: the median and best round of each, and the median ratio.
 * Unprotect is also run with mls_verify's per-thread key cache emptied before each message
 * (the cost for a receiver whose senders outnumber the cache), on a quarter of the batch.
 * MLS_BENCH_ROUNDS (default 7) and MLS_BENCH_BATCH (default 3000) size the run.
 * Prints figures; never fails on speed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>

#include "mls/codec.h"
#include "mls/framing.h"

/* CPU time of this thread: the machine is shared, so wall time would measure the
 * neighbours; CPU time is what one idle core would take. */
static double cpu(void)
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

enum { OP_PROTECT, OP_UNPROTECT, OP_UNPROTECT_COLD, OP_SIGN, OP_VERIFY, N_OPS };
static const char *op_name[N_OPS] = {
    "PrivateMessage protect (100-byte app msg)",
    "PrivateMessage unprotect (100-byte app msg)",
    "  unprotect, verify-key cache cold",
    "Ed25519 sign, bare EVP (same-size input)",
    "Ed25519 verify, bare EVP (same-size input)",
};

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static int env_int(const char *name, int def)
{
    const char *s = getenv(name);
    return s && atoi(s) > 0 ? atoi(s) : def;
}

int main(void)
{
    int rounds = env_int("MLS_BENCH_ROUNDS", 7), batch = env_int("MLS_BENCH_BATCH", 3000);
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

    mls_secret_tree_limits lim = {(uint32_t)batch + 10, 10};
    mls_secret_tree *tx, *rx, *rx_cold;
    lim.max_forward = (uint32_t)batch * 2;
    if ((e = mls_secret_tree_new(enc_secret, 8, &lim, &tx)) ||
        (e = mls_secret_tree_new(enc_secret, 8, &lim, &rx)) ||
        (e = mls_secret_tree_new(enc_secret, 8, &lim, &rx_cold)))
        die("secret tree", e);

    /* The bare-signature floor: OpenSSL EVP with one prepared context each,
     * over an input the size of protect's SignContent. */
    uint8_t tbs[180], sig[MLS_SIG_LEN];
    memset(tbs, 'y', sizeof tbs);
    EVP_PKEY *sk = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, priv, sizeof priv);
    EVP_PKEY *pk = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, sig_pub, sizeof sig_pub);
    EVP_MD_CTX *sctx = EVP_MD_CTX_new(), *vctx = EVP_MD_CTX_new();
    size_t slen = sizeof sig;
    if (!sk || !pk || !sctx || !vctx || EVP_DigestSignInit(sctx, NULL, NULL, NULL, sk) != 1 ||
        EVP_DigestVerifyInit(vctx, NULL, NULL, NULL, pk) != 1 ||
        EVP_DigestSign(sctx, sig, &slen, tbs, sizeof tbs) != 1)
        die("EVP Ed25519", SP_ERR_INTERNAL);

    sp_buf *wire = calloc((size_t)batch, sizeof *wire);
    double *rate[N_OPS], *ratio_p = calloc((size_t)rounds, sizeof(double)),
           *ratio_u = calloc((size_t)rounds, sizeof(double));
    double cpu_total[N_OPS] = {0}, wall_total[N_OPS] = {0};
    for (int o = 0; o < N_OPS; o++)
        rate[o] = calloc((size_t)rounds, sizeof(double));
    if (!wire || !ratio_p || !ratio_u)
        die("alloc", SP_ERR_NOMEM);
    size_t wire_len = 0;

    for (int r = 0; r < rounds; r++) {
        double c0, w0, dc[N_OPS], dw[N_OPS];

        c0 = cpu(), w0 = wall();
        for (int i = 0; i < batch; i++) {
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
            sp_buf_reset(&wire[i]);
            if ((e = mls_content_sign(&ac, &ctx, signer)) ||
                (e = mls_private_message_protect(&ac, tx, sds, 0, NULL, &m.private_message)) ||
                (e = mls_message_write(&wire[i], &m)))
                die("protect", e);
            mls_message_free(&m);
            mls_authenticated_content_free(&ac);
        }
        dc[OP_PROTECT] = cpu() - c0, dw[OP_PROTECT] = wall() - w0;
        wire_len = wire[0].len;

        c0 = cpu(), w0 = wall();
        for (int i = 0; i < batch; i++) {
            mls_message m;
            mls_authenticated_content ac;
            if ((e = mls_message_decode(wire[i].data, wire[i].len, &m)) ||
                (e = mls_private_message_open(&m.private_message, &ctx, rx, sds, key_of, NULL,
                                              &ac)))
                die("unprotect", e);
            if (ac.content.application_data.len != sizeof msg)
                die("unprotect: wrong plaintext", SP_ERR_INTERNAL);
            mls_authenticated_content_free(&ac);
            mls_message_free(&m);
        }
        dc[OP_UNPROTECT] = cpu() - c0, dw[OP_UNPROTECT] = wall() - w0;

        int cold = batch / 4 > 0 ? batch / 4 : 1;
        c0 = cpu(), w0 = wall();
        for (int i = 0; i < cold; i++) {
            mls_message m;
            mls_authenticated_content ac;
            mls_crypto_thread_cleanup();
            if ((e = mls_message_decode(wire[i].data, wire[i].len, &m)) ||
                (e = mls_private_message_open(&m.private_message, &ctx, rx_cold, sds, key_of,
                                              NULL, &ac)))
                die("unprotect (cold)", e);
            mls_authenticated_content_free(&ac);
            mls_message_free(&m);
        }
        /* scaled to the batch so that rate = batch / time holds below */
        dc[OP_UNPROTECT_COLD] = (cpu() - c0) * batch / cold;
        dw[OP_UNPROTECT_COLD] = (wall() - w0) * batch / cold;

        c0 = cpu(), w0 = wall();
        for (int i = 0; i < batch; i++) {
            slen = sizeof sig;
            if (EVP_DigestSign(sctx, sig, &slen, tbs, sizeof tbs) != 1)
                die("EVP sign", SP_ERR_INTERNAL);
        }
        dc[OP_SIGN] = cpu() - c0, dw[OP_SIGN] = wall() - w0;

        c0 = cpu(), w0 = wall();
        for (int i = 0; i < batch; i++)
            if (EVP_DigestVerify(vctx, sig, sizeof sig, tbs, sizeof tbs) != 1)
                die("EVP verify", SP_ERR_INTERNAL);
        dc[OP_VERIFY] = cpu() - c0, dw[OP_VERIFY] = wall() - w0;

        for (int o = 0; o < N_OPS; o++) {
            rate[o][r] = batch / dc[o];
            cpu_total[o] += dc[o];
            wall_total[o] += dw[o];
        }
        ratio_p[r] = rate[OP_PROTECT][r] / rate[OP_SIGN][r];
        ratio_u[r] = rate[OP_UNPROTECT][r] / rate[OP_VERIFY][r];
    }

    printf("%d rounds of %d, per CPU-second of one thread (median round / best round):\n", rounds,
           batch);
    for (int o = 0; o < N_OPS; o++) {
        double best = 0;
        for (int r = 0; r < rounds; r++)
            best = rate[o][r] > best ? rate[o][r] : best;
        printf("  %-44s %7.0f/s  best %7.0f/s  (%.2fs CPU, %.2fs wall%s)\n", op_name[o],
               median(rate[o], rounds), best, cpu_total[o], wall_total[o],
               o == OP_UNPROTECT_COLD ? ", scaled from 1/4 of the batch" : "");
    }
    printf("  protect runs at %.0f%% of a bare signature, unprotect at %.0f%% of a bare "
           "verification (median of per-round ratios); a message is %zu bytes\n",
           100 * median(ratio_p, rounds), 100 * median(ratio_u, rounds), wire_len);

    for (int o = 0; o < N_OPS; o++)
        free(rate[o]);
    free(ratio_p);
    free(ratio_u);
    for (int i = 0; i < batch; i++)
        sp_buf_free(&wire[i]);
    free(wire);
    EVP_MD_CTX_free(sctx);
    EVP_MD_CTX_free(vctx);
    EVP_PKEY_free(sk);
    EVP_PKEY_free(pk);
    mls_secret_tree_free(tx);
    mls_secret_tree_free(rx);
    mls_secret_tree_free(rx_cold);
    mls_group_context_free(&ctx);
    mls_signer_free(signer);
    mls_crypto_thread_cleanup();
    return 0;
}
