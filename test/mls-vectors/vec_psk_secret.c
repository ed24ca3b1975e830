/* vec_psk_secret.c — psk_secret.json: psk_secret from 0 to 10 external PSKs (RFC 9420 §8.4). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mls/key_schedule.h"
#include "vectors.h"

#define MAX_PSKS 64

static void run(const json *root, vec_stats *st)
{
    for (size_t i = 0; i < json_len(root); i++) {
        const json *c = json_at(root, i), *psks = json_get(c, "psks");
        size_t n = json_len(psks), want_n;
        mls_psk_input in[MAX_PSKS];
        sp_buf ids[MAX_PSKS];
        uint8_t *vals[MAX_PSKS], out[MLS_HASH_LEN];
        uint8_t *want = json_gethex(c, "psk_secret", &want_n);
        int ok = want && n <= MAX_PSKS;
        for (size_t k = 0; k < n && k < MAX_PSKS; k++) {
            const json *p = json_at(psks, k);
            size_t id_n, nonce_n;
            uint8_t *id = json_gethex(p, "psk_id", &id_n), *nonce = json_gethex(p, "psk_nonce", &nonce_n);
            sp_buf_init(&ids[k]);
            vals[k] = json_gethex(p, "psk", &in[k].psk_len);
            ok = ok && id && nonce && vals[k] &&
                 mls_psk_id_encode_external(&ids[k], id, id_n, nonce, nonce_n) == SP_OK;
            in[k].id = ids[k].data;
            in[k].id_len = ids[k].len;
            in[k].psk = vals[k];
            free(id);
            free(nonce);
        }
        ok = ok && mls_psk_secret(in, n, out) == SP_OK && want_n == sizeof out &&
             memcmp(out, want, sizeof out) == 0;
        char why[64];
        snprintf(why, sizeof why, "%zu psks: psk_secret mismatch", n);
        vec_case(st, i, ok, why);
        for (size_t k = 0; k < n && k < MAX_PSKS; k++) {
            sp_buf_free(&ids[k]);
            free(vals[k]);
        }
        free(want);
    }
}

MLS_VECTOR_CATEGORY("psk_secret", run)
