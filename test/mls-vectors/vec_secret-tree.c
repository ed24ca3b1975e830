/* vec_secret-tree.c — secret-tree.json: sender-data key/nonce (§6.3.2) and the handshake and
 * application key/nonce of chosen generations for every leaf of 1-, 8- and 32-leaf trees (§9). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mls/secret_tree.h"
#include "vectors.h"

static int hex_is(const json *o, const char *key, const uint8_t *got, size_t n)
{
    size_t len;
    uint8_t *want = json_gethex(o, key, &len);
    int ok = want && len == n && memcmp(want, got, n) == 0;
    free(want);
    return ok;
}

static void run(const json *root, vec_stats *st)
{
    size_t idx = 0;
    for (size_t i = 0; i < json_len(root); i++) {
        const json *c = json_at(root, i), *sd = json_get(c, "sender_data");
        char why[96];
        size_t sds_n, ct_n, es_n;
        uint8_t *sds = json_gethex(sd, "sender_data_secret", &sds_n), *ct = json_gethex(sd, "ciphertext", &ct_n);
        uint8_t key[MLS_AEAD_KEY_LEN], nonce[MLS_AEAD_NONCE_LEN];
        int ok = sds && ct && sds_n == MLS_HASH_LEN &&
                 mls_sender_data_key_nonce(sds, ct, ct_n, key, nonce) == SP_OK &&
                 hex_is(sd, "key", key, sizeof key) && hex_is(sd, "nonce", nonce, sizeof nonce);
        snprintf(why, sizeof why, "entry %zu: sender data key/nonce", i);
        vec_case(st, idx++, ok, why);
        free(sds);
        free(ct);

        const json *leaves = json_get(c, "leaves");
        uint8_t *es = json_gethex(c, "encryption_secret", &es_n);
        mls_secret_tree *t = NULL;
        ok = es && es_n == MLS_HASH_LEN &&
             mls_secret_tree_new(es, (uint32_t)json_len(leaves), NULL, &t) == SP_OK;
        for (size_t l = 0; l < json_len(leaves); l++) {
            const json *gens = json_at(leaves, l);
            for (size_t g = 0; g < json_len(gens); g++) {
                const json *e = json_at(gens, g);
                uint32_t gen = (uint32_t)json_getu(e, "generation");
                mls_ratchet_key hs, app;
                int gok = ok && mls_secret_tree_get(t, mls_leaf((uint32_t)l), MLS_RATCHET_HANDSHAKE, gen, &hs) == SP_OK &&
                          mls_secret_tree_get(t, mls_leaf((uint32_t)l), MLS_RATCHET_APPLICATION, gen, &app) == SP_OK &&
                          hs.generation == gen && app.generation == gen &&
                          hex_is(e, "handshake_key", hs.key, sizeof hs.key) &&
                          hex_is(e, "handshake_nonce", hs.nonce, sizeof hs.nonce) &&
                          hex_is(e, "application_key", app.key, sizeof app.key) &&
                          hex_is(e, "application_nonce", app.nonce, sizeof app.nonce);
                snprintf(why, sizeof why, "entry %zu leaf %zu generation %u", i, l, gen);
                vec_case(st, idx++, gok, why);
                mls_wipe(&hs, sizeof hs);
                mls_wipe(&app, sizeof app);
            }
        }
        mls_secret_tree_free(t);
        free(es);
    }
}

MLS_VECTOR_CATEGORY("secret-tree", run)
