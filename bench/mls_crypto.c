/* mls_crypto.c — throughput of the MLS crypto primitives, single-threaded: HPKE seal+open of a
 * 100-byte message (the figure; the receiver with and without its public key at hand),
 * Ed25519 sign/verify and bare X25519 for reference, and the pieces a PrivateMessage pays per
 * message (ratchet step, sender-data key/nonce, AES-GCM, HMAC). Rates are per CPU-second of this
 * thread (the machine is shared; wall time would measure the neighbours).
 * Prints figures; never fails on speed. BENCH_SECONDS (default 1, CPU time) sets each run's length. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>

#include "mls/crypto.h"
#include "mls/hpke.h"
#include "mls/secret_tree.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
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

/* The receiver knows its own public key (as a group member does). */
static sp_err hpke_round_kp(void)
{
    sp_err err = mls_hpke_seal_base(pkR, (const uint8_t *)"info", 4, NULL, 0, msg, sizeof msg,
                                    NULL, enc, ct);
    if (!err)
        err = mls_hpke_open_base_kp(enc, skR, pkR, (const uint8_t *)"info", 4, NULL, 0, ct,
                                    sizeof ct, pt);
    return err;
}

static sp_err ewl_round_kp(void)
{
    sp_buf c = SP_BUF_INIT, p = SP_BUF_INIT;
    uint8_t kem[32];
    sp_err err = mls_encrypt_with_label(pkR, "Welcome", msg, 32, msg, sizeof msg, NULL, kem, &c);
    if (!err)
        err = mls_decrypt_with_label_kp(skR, pkR, "Welcome", msg, 32, kem, c.data, c.len, &p);
    sp_buf_free(&c);
    sp_buf_free_secret(&p);
    return err;
}

/* OpenSSL's own X25519 with the keys loaded once, as `openssl speed` measures it: the floor
 * under each DH of HPKE (seal+open does three X25519 scalar multiplications: the ephemeral
 * public key and one DH on each side). */
static EVP_PKEY_CTX *bare_dh;
static sp_err bare_x25519(void)
{
    uint8_t out[32];
    size_t len = sizeof out;
    return EVP_PKEY_derive(bare_dh, out, &len) == 1 ? SP_OK : SP_ERR_INTERNAL;
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
    BENCH("  same, receiver knows pkR (open_base_kp)", hpke_round_kp());
    BENCH("EncryptWithLabel+DecryptWithLabel (100 B)", ewl_round());
    BENCH("  same, receiver knows pkR (_kp)", ewl_round_kp());
    EVP_PKEY *ka = EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, NULL, skR, 32);
    EVP_PKEY *kb = EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519, NULL, pkR, 32);
    bare_dh = ka ? EVP_PKEY_CTX_new(ka, NULL) : NULL;
    if (!kb || !bare_dh || EVP_PKEY_derive_init(bare_dh) != 1 ||
        EVP_PKEY_derive_set_peer(bare_dh, kb) != 1)
        return 1;
    BENCH("X25519 bare EVP_PKEY_derive (floor)", bare_x25519());
    EVP_PKEY_CTX_free(bare_dh);
    EVP_PKEY_free(ka);
    EVP_PKEY_free(kb);

    uint8_t priv[32], pub[32], sig[64], pk2[32];
    mls_signer *signer;
    if (mls_sig_keygen(NULL, priv, pub) != SP_OK || mls_signer_new(priv, &signer) != SP_OK) return 1;
    BENCH("Ed25519 sign (100 B)", mls_sign(signer, msg, sizeof msg, sig));
    BENCH("Ed25519 verify (100 B)", mls_verify(pub, msg, sizeof msg, sig, sizeof sig));
    BENCH("X25519 DH (private key only)", mls_x25519(skR, pub, enc));
    BENCH("X25519 DH (key pair known)", mls_x25519_kp(skR, pkR, pub, enc));
    BENCH("X25519 public key + DH (mls_x25519_pub_dh)", mls_x25519_pub_dh(skR, pub, pk2, enc));

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
    mls_crypto_thread_cleanup();
    return 0;
}
