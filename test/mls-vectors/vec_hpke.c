/* vec_hpke.c — the RFC 9180 vectors for DHKEM(X25519, HKDF-SHA256) / HKDF-SHA256 /
 * AES-128-GCM and export-only, all four modes. Per entry: DeriveKeyPair of ikmE/ikmR/ikmS,
 * sender setup driven by ikmE (enc must match), receiver setup, then every encryption
 * (sealed by the sender and opened by the receiver, in sequence) and every export from both. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mls/hpke.h"
#include "vectors.h"

typedef struct {
    const uint8_t *p;
    size_t n;
} replay;

/* Hands out the vector's ikmE as the sender's randomness, once. */
static sp_err replay_rand(void *ctx, uint8_t *out, size_t n)
{
    replay *r = ctx;
    if (n != r->n) return SP_ERR_INVALID;
    memcpy(out, r->p, n);
    r->n = 0;
    return SP_OK;
}

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
        const json *c = json_at(root, i);
        char why[128];
        size_t info_n, psk_n, pid_n, ikmE_n, ikmR_n, ikmS_n;
        uint8_t *info = json_gethex(c, "info", &info_n), *psk = json_gethex(c, "psk", &psk_n),
                *pid = json_gethex(c, "psk_id", &pid_n), *ikmE = json_gethex(c, "ikmE", &ikmE_n),
                *ikmR = json_gethex(c, "ikmR", &ikmR_n), *ikmS = json_gethex(c, "ikmS", &ikmS_n);
        uint8_t skE[32], pkE[32], skR[32], pkR[32], skS[32], pkS[32], enc[32];
        mls_hpke_params p = {(mls_hpke_mode)json_getu(c, "mode"), (uint16_t)json_getu(c, "aead_id"),
                             info, info_n, psk, psk_n, pid, pid_n};
        int auth = p.mode == MLS_HPKE_MODE_AUTH || p.mode == MLS_HPKE_MODE_AUTH_PSK;
        mls_hpke_ctx *s = NULL, *r = NULL;

        int ok = info && ikmE && ikmR && json_getu(c, "kem_id") == 32 && json_getu(c, "kdf_id") == 1;
        ok = ok && mls_hpke_derive_key_pair(ikmE, ikmE_n, skE, pkE) == SP_OK &&
             hex_is(c, "skEm", skE, 32) && hex_is(c, "pkEm", pkE, 32);
        ok = ok && mls_hpke_derive_key_pair(ikmR, ikmR_n, skR, pkR) == SP_OK &&
             hex_is(c, "skRm", skR, 32) && hex_is(c, "pkRm", pkR, 32);
        if (ok && auth)
            ok = ikmS && mls_hpke_derive_key_pair(ikmS, ikmS_n, skS, pkS) == SP_OK &&
                 hex_is(c, "skSm", skS, 32) && hex_is(c, "pkSm", pkS, 32);
        replay rp = {ikmE, ikmE_n};
        mls_rand rng = {replay_rand, &rp};
        ok = ok && mls_hpke_setup_sender(&p, pkR, auth ? skS : NULL, &rng, enc, &s) == SP_OK &&
             hex_is(c, "enc", enc, 32);
        ok = ok && mls_hpke_setup_receiver(&p, enc, skR, auth ? pkS : NULL, &r) == SP_OK;
        snprintf(why, sizeof why, "entry %zu (mode %d aead %u): key derivation or setup", i,
                 (int)p.mode, p.aead_id);
        vec_case(st, idx++, ok, why);

        const json *encs = json_get(c, "encryptions");
        for (size_t k = 0; k < json_len(encs); k++) {
            const json *e = json_at(encs, k);
            size_t aad_n, pt_n, ct_n;
            uint8_t *aad = json_gethex(e, "aad", &aad_n), *pt = json_gethex(e, "pt", &pt_n),
                    *ct = json_gethex(e, "ct", &ct_n);
            uint8_t *mine = malloc(pt_n + MLS_AEAD_TAG_LEN), *back = malloc(pt_n + 1);
            int eok = ok && aad && pt && ct && mine && back && ct_n == pt_n + MLS_AEAD_TAG_LEN &&
                      mls_hpke_seal(s, aad, aad_n, pt, pt_n, mine) == SP_OK &&
                      memcmp(mine, ct, ct_n) == 0 &&
                      mls_hpke_open(r, aad, aad_n, ct, ct_n, back) == SP_OK &&
                      memcmp(back, pt, pt_n) == 0;
            snprintf(why, sizeof why, "entry %zu encryption %zu", i, k);
            vec_case(st, idx++, eok, why);
            free(aad);
            free(pt);
            free(ct);
            free(mine);
            free(back);
        }
        if (p.aead_id == MLS_HPKE_AEAD_EXPORT_ONLY) {
            /* An export-only context refuses to seal. */
            uint8_t x[MLS_AEAD_TAG_LEN];
            snprintf(why, sizeof why, "entry %zu: export-only context sealed", i);
            vec_case(st, idx++, ok && mls_hpke_seal(s, NULL, 0, NULL, 0, x) == SP_ERR_STATE, why);
        }
        const json *exps = json_get(c, "exports");
        for (size_t k = 0; k < json_len(exps); k++) {
            const json *e = json_at(exps, k);
            size_t ctx_n;
            uint8_t *ectx = json_gethex(e, "exporter_context", &ctx_n);
            size_t L = (size_t)json_getu(e, "L");
            uint8_t *a = malloc(L + 1), *b = malloc(L + 1);
            int eok = ok && ectx && a && b && mls_hpke_export(s, ectx, ctx_n, a, L) == SP_OK &&
                      mls_hpke_export(r, ectx, ctx_n, b, L) == SP_OK &&
                      hex_is(e, "exported_value", a, L) && memcmp(a, b, L) == 0;
            snprintf(why, sizeof why, "entry %zu export %zu", i, k);
            vec_case(st, idx++, eok, why);
            free(ectx);
            free(a);
            free(b);
        }
        mls_hpke_ctx_free(s);
        mls_hpke_ctx_free(r);
        free(info);
        free(psk);
        free(pid);
        free(ikmE);
        free(ikmR);
        free(ikmS);
    }
}

MLS_VECTOR_CATEGORY("hpke", run)
