/* vec_crypto-basics.c — crypto-basics.json: RefHash, ExpandWithLabel, DeriveSecret,
 * DeriveTreeSecret, Sign/VerifyWithLabel, Encrypt/DecryptWithLabel (RFC 9420 §5). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mls/crypto.h"
#include "mls/hpke.h"
#include "vectors.h"

/* One hex field; NULL-safe equality against computed bytes. */
static int hex_eq(const json *o, const char *key, const uint8_t *got, size_t n)
{
    size_t len;
    uint8_t *want = json_gethex(o, key, &len);
    int ok = want && len == n && memcmp(want, got, n) == 0;
    free(want);
    return ok;
}

static int t_ref_hash(const json *o)
{
    size_t n;
    uint8_t *v = json_gethex(o, "value", &n), out[MLS_HASH_LEN];
    const char *label = json_gets(o, "label");
    int ok = v && label && mls_ref_hash(label, v, n, out) == SP_OK &&
             hex_eq(o, "out", out, sizeof out);
    free(v);
    return ok;
}

static int t_expand(const json *o)
{
    size_t sn, cn;
    uint8_t *s = json_gethex(o, "secret", &sn), *c = json_gethex(o, "context", &cn);
    const char *label = json_gets(o, "label");
    uint16_t len = (uint16_t)json_getu(o, "length");
    uint8_t *out = malloc(len ? len : 1);
    int ok = s && c && label && out && sn == MLS_HASH_LEN &&
             mls_expand_with_label(s, label, c, cn, out, len) == SP_OK &&
             hex_eq(o, "out", out, len);
    free(s);
    free(c);
    free(out);
    return ok;
}

static int t_derive_secret(const json *o)
{
    size_t sn;
    uint8_t *s = json_gethex(o, "secret", &sn), out[MLS_HASH_LEN];
    const char *label = json_gets(o, "label");
    int ok = s && label && sn == MLS_HASH_LEN && mls_derive_secret(s, label, out) == SP_OK &&
             hex_eq(o, "out", out, sizeof out);
    free(s);
    return ok;
}

static int t_derive_tree_secret(const json *o)
{
    size_t sn;
    uint8_t *s = json_gethex(o, "secret", &sn);
    const char *label = json_gets(o, "label");
    uint16_t len = (uint16_t)json_getu(o, "length");
    uint32_t gen = (uint32_t)json_getu(o, "generation");
    uint8_t *out = malloc(len ? len : 1);
    int ok = s && label && out && sn == MLS_HASH_LEN &&
             mls_derive_tree_secret(s, label, gen, out, len) == SP_OK &&
             hex_eq(o, "out", out, len);
    free(s);
    free(out);
    return ok;
}

static int t_sign(const json *o)
{
    size_t pn, qn, cn, sn;
    uint8_t *priv = json_gethex(o, "priv", &pn), *pub = json_gethex(o, "pub", &qn);
    uint8_t *content = json_gethex(o, "content", &cn), *sig = json_gethex(o, "signature", &sn);
    const char *label = json_gets(o, "label");
    mls_signer *s = NULL;
    uint8_t mine[MLS_SIG_LEN];
    int ok = priv && pub && content && sig && label && pn == MLS_SIG_PRIV_LEN &&
             qn == MLS_SIG_PUB_LEN;
    ok = ok && mls_verify_with_label(pub, label, content, cn, sig, sn) == SP_OK;
    ok = ok && mls_signer_new(priv, &s) == SP_OK && memcmp(mls_signer_pub(s), pub, qn) == 0;
    ok = ok && mls_sign_with_label(s, label, content, cn, mine) == SP_OK &&
         mls_verify_with_label(pub, label, content, cn, mine, sizeof mine) == SP_OK;
    /* Ed25519 is deterministic, so our signature equals the vector's. */
    ok = ok && sn == sizeof mine && memcmp(mine, sig, sn) == 0;
    /* A wrong label must not verify. */
    ok = ok && mls_verify_with_label(pub, "other", content, cn, sig, sn) == SP_ERR_CRYPTO;
    mls_signer_free(s);
    free(priv);
    free(pub);
    free(content);
    free(sig);
    return ok;
}

static int t_encrypt(const json *o)
{
    size_t pn, qn, cn, ptn, kn, ctn;
    uint8_t *priv = json_gethex(o, "priv", &pn), *pub = json_gethex(o, "pub", &qn);
    uint8_t *ctx = json_gethex(o, "context", &cn), *pt = json_gethex(o, "plaintext", &ptn);
    uint8_t *kem = json_gethex(o, "kem_output", &kn), *ct = json_gethex(o, "ciphertext", &ctn);
    const char *label = json_gets(o, "label");
    sp_buf out = SP_BUF_INIT, ct2 = SP_BUF_INIT;
    uint8_t kem2[MLS_KEM_PUB_LEN];
    int ok = priv && pub && ctx && pt && kem && ct && label && pn == MLS_KEM_PRIV_LEN &&
             qn == MLS_KEM_PUB_LEN && kn == MLS_KEM_PUB_LEN;
    ok = ok && mls_decrypt_with_label(priv, label, ctx, cn, kem, ct, ctn, &out) == SP_OK &&
         out.len == ptn && memcmp(out.data, pt, ptn) == 0;
    sp_buf_reset(&out);
    ok = ok && mls_encrypt_with_label(pub, label, ctx, cn, pt, ptn, NULL, kem2, &ct2) == SP_OK &&
         mls_decrypt_with_label(priv, label, ctx, cn, kem2, ct2.data, ct2.len, &out) == SP_OK &&
         out.len == ptn && memcmp(out.data, pt, ptn) == 0;
    /* A different context must fail to decrypt. */
    sp_buf_reset(&out);
    ok = ok && mls_decrypt_with_label(priv, label, NULL, 0, kem, ct, ctn, &out) == SP_ERR_CRYPTO;
    sp_buf_free(&out);
    sp_buf_free(&ct2);
    free(priv);
    free(pub);
    free(ctx);
    free(pt);
    free(kem);
    free(ct);
    return ok;
}

static void run(const json *root, vec_stats *st)
{
    static const struct {
        const char *key;
        int (*fn)(const json *);
    } subs[] = {
        {"ref_hash", t_ref_hash},       {"expand_with_label", t_expand},
        {"derive_secret", t_derive_secret}, {"derive_tree_secret", t_derive_tree_secret},
        {"sign_with_label", t_sign},    {"encrypt_with_label", t_encrypt},
    };
    size_t idx = 0;
    for (size_t i = 0; i < json_len(root); i++) {
        const json *c = json_at(root, i);
        for (size_t k = 0; k < sizeof subs / sizeof subs[0]; k++) {
            const json *o = json_get(c, subs[k].key);
            char why[96];
            snprintf(why, sizeof why, "entry %zu: %s mismatch", i, subs[k].key);
            vec_case(st, idx++, o && subs[k].fn(o), why);
        }
    }
}

MLS_VECTOR_CATEGORY("crypto-basics", run)
