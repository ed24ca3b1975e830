/* mls_crypto.c — throughput of the MLS crypto primitives, single-threaded: HPKE seal+open of a
 * 100-byte message (the figure), Ed25519 sign/verify for reference, and the pieces a
 * PrivateMessage pays per message (ratchet step, sender-data key/nonce, AES-GCM, HMAC).
 * Prints figures; never fails on speed. BENCH_SECONDS (default 1) sets each run's length. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mls/crypto.h"
#include "mls/hpke.h"
#include "mls/secret_tree.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static double seconds = 1.0;

/* Runs fn in batches until `seconds` have passed; prints ops/s. */
#define BENCH(name, body)                                                          \
    do {                                                                           \
        long n_ = 0;                                                               \
        int bad_ = 0;                                                              \
        double t0_ = now(), t_;                                                    \
        do {                                                                       \
            for (int k_ = 0; k_ < 64; k_++, n_++) {                                \
                if ((body) != SP_OK) bad_ = 1;                                     \
            }                                                                      \
            t_ = now() - t0_;                                                      \
        } while (t_ < seconds);                                                    \
        printf("%-44s %10.0f /s%s\n", name, n_ / t_, bad_ ? "  (ERRORS)" : "");   \
    } while (0)

static uint8_t skR[32], pkR[32], msg[100], ct[116], pt[100], enc[32];

static sp_err hpke_round(void)
{
    sp_err err = mls_hpke_seal_base(pkR, (const uint8_t *)"info", 4, NULL, 0, msg, sizeof msg,
                                    NULL, enc, ct);
    if (!err) err = mls_hpke_open_base(enc, skR, (const uint8_t *)"info", 4, NULL, 0, ct, sizeof ct, pt);
    return err;
}

static sp_err ewl_round(void)
{
    sp_buf c = SP_BUF_INIT, p = SP_BUF_INIT;
    uint8_t kem[32];
    sp_err err = mls_encrypt_with_label(pkR, "Welcome", msg, 32, msg, sizeof msg, NULL, kem, &c);
    if (!err) err = mls_decrypt_with_label(skR, "Welcome", msg, 32, kem, c.data, c.len, &p);
    sp_buf_free(&c);
    sp_buf_free_secret(&p);
    return err;
}

int main(void)
{
    const char *s = getenv("BENCH_SECONDS");
    if (s && atof(s) > 0) seconds = atof(s);
    memset(msg, 0x42, sizeof msg);
    if (mls_hpke_keygen(NULL, skR, pkR) != SP_OK) return 1;

    printf("MLS crypto, suite 0x0001, single thread, 100-byte messages\n");
    BENCH("HPKE SealBase+OpenBase (100 B)", hpke_round());
    BENCH("EncryptWithLabel+DecryptWithLabel (100 B)", ewl_round());

    uint8_t priv[32], pub[32], sig[64];
    mls_signer *signer;
    if (mls_sig_keygen(NULL, priv, pub) != SP_OK || mls_signer_new(priv, &signer) != SP_OK) return 1;
    BENCH("Ed25519 sign (100 B)", mls_sign(signer, msg, sizeof msg, sig));
    BENCH("Ed25519 verify (100 B)", mls_verify(pub, msg, sizeof msg, sig, sizeof sig));
    BENCH("X25519 DH (private key only)", mls_x25519(skR, pub, enc));
    BENCH("X25519 DH (key pair known)", mls_x25519_kp(skR, pkR, pub, enc));

    uint8_t secret[32] = {1}, out[32], key[16], nonce[12];
    BENCH("HMAC-SHA256 (100 B)", mls_hmac(secret, 32, msg, sizeof msg, out));
    BENCH("ExpandWithLabel (32 B out)", mls_expand_with_label(secret, "key", msg, 4, out, 32));
    BENCH("AES-128-GCM seal (100 B)", mls_aead_seal(key, nonce, msg, 20, msg, sizeof msg, ct));
    BENCH("sender-data key+nonce", mls_sender_data_key_nonce(secret, ct, sizeof ct, key, nonce));

    mls_secret_tree *t;
    mls_ratchet_key rk;
    if (mls_secret_tree_new(secret, 1024, NULL, &t) != SP_OK) return 1;
    BENCH("secret tree: next key+nonce (ratchet step)", mls_secret_tree_next(t, mls_leaf(7), MLS_RATCHET_APPLICATION, &rk));
    mls_secret_tree_free(t);
    mls_signer_free(signer);
    mls_wipe(priv, sizeof priv);
    return 0;
}
