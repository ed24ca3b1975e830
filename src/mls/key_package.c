/* key_package.c — our LeafNodes and KeyPackages, and the checks on anyone's
 * (RFC 9420 §7.2, §7.3, §10). */
#include "mls/key_package.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mls/codec.h"
#include "mls/group.h"
#include "mls/hpke.h"
#include "mls/ratchet_tree.h"

#define TRY(x)                \
    do {                      \
        sp_err e_ = (x);      \
        if (e_ != SP_OK)      \
            return e_;        \
    } while (0)

static sp_err u16_list(mls_u16_list *l, const uint16_t *v, size_t n)
{
    l->v = malloc(n * sizeof *v);
    if (!l->v)
        return SP_ERR_NOMEM;
    memcpy(l->v, v, n * sizeof *v);
    l->n = n;
    return SP_OK;
}

sp_err mls_leaf_node_init(mls_leaf_node *leaf, const uint8_t *identity, size_t id_len,
                          const uint8_t sig_pub[MLS_SIG_PUB_LEN],
                          const uint8_t enc_pub[MLS_KEM_PUB_LEN])
{
    static const uint16_t versions[] = {MLS_VERSION_10}, suites[] = {MLS_CIPHER_SUITE},
                          exts[] = {MLS_EXT_SPACEPANDA}, creds[] = {MLS_CREDENTIAL_BASIC};
    memset(leaf, 0, sizeof *leaf);
    leaf->credential.type = MLS_CREDENTIAL_BASIC;
    TRY(mls_bytes_set(&leaf->credential.identity, identity, id_len));
    TRY(mls_bytes_set(&leaf->signature_key, sig_pub, MLS_SIG_PUB_LEN));
    TRY(mls_bytes_set(&leaf->encryption_key, enc_pub, MLS_KEM_PUB_LEN));
    TRY(u16_list(&leaf->capabilities.versions, versions, 1));
    TRY(u16_list(&leaf->capabilities.cipher_suites, suites, 1));
    TRY(u16_list(&leaf->capabilities.extensions, exts, 1));
    TRY(u16_list(&leaf->capabilities.credentials, creds, 1));
    return SP_OK;
}

sp_err mls_key_package_create(const uint8_t *identity, size_t id_len, const mls_signer *signer,
                              const mls_rand *rng, mls_key_package *kp,
                              uint8_t init_priv[MLS_KEM_PRIV_LEN],
                              uint8_t enc_priv[MLS_KEM_PRIV_LEN])
{
    uint8_t init_pub[MLS_KEM_PUB_LEN], enc_pub[MLS_KEM_PUB_LEN];
    memset(kp, 0, sizeof *kp);
    sp_err e = mls_hpke_keygen(rng, init_priv, init_pub);
    if (!e)
        e = mls_hpke_keygen(rng, enc_priv, enc_pub);
    if (!e)
        e = mls_leaf_node_init(&kp->leaf_node, identity, id_len, mls_signer_pub(signer), enc_pub);
    if (!e) {
        uint64_t now = (uint64_t)time(NULL);
        kp->leaf_node.source = MLS_LEAF_SOURCE_KEY_PACKAGE;
        kp->leaf_node.lifetime.not_before = now - 3600;       /* clock skew */
        kp->leaf_node.lifetime.not_after = now + 90 * 86400; /* a quarter */
        sp_slice none = {NULL, 0};
        e = mls_leaf_node_sign(&kp->leaf_node, signer, none, 0);
    }
    kp->version = MLS_VERSION_10;
    kp->cipher_suite = MLS_CIPHER_SUITE;
    if (!e)
        e = mls_bytes_set(&kp->init_key, init_pub, sizeof init_pub);
    sp_buf b = SP_BUF_INIT;
    uint8_t sig[MLS_SIG_LEN];
    if (!e)
        e = mls_key_package_write_tbs(&b, kp);
    if (!e && b.failed)
        e = SP_ERR_NOMEM;
    if (!e)
        e = mls_sign_with_label(signer, "KeyPackageTBS", b.data, b.len, sig);
    if (!e)
        e = mls_bytes_set(&kp->signature, sig, sizeof sig);
    sp_buf_reset(&b);
    if (!e)
        e = mls_key_package_write(&b, kp);
    if (!e && b.failed)
        e = SP_ERR_NOMEM;
    if (!e)
        e = mls_bytes_set(&kp->raw, b.data, b.len);
    sp_buf_free(&b);
    if (e) {
        mls_key_package_free(kp);
        mls_wipe(init_priv, MLS_KEM_PRIV_LEN);
        mls_wipe(enc_priv, MLS_KEM_PRIV_LEN);
    }
    return e;
}

sp_err mls_key_package_validate(const mls_key_package *kp, uint64_t now)
{
    const mls_leaf_node *l = &kp->leaf_node;
    if (kp->version != MLS_VERSION_10 || kp->cipher_suite != MLS_CIPHER_SUITE ||
        l->source != MLS_LEAF_SOURCE_KEY_PACKAGE || kp->init_key.len != MLS_KEM_PUB_LEN)
        return SP_ERR_INVALID;
    if (now && (now < l->lifetime.not_before || now > l->lifetime.not_after))
        return SP_ERR_INVALID;
    if (memcmp(kp->init_key.data, l->encryption_key.data,
               l->encryption_key.len < MLS_KEM_PUB_LEN ? l->encryption_key.len : MLS_KEM_PUB_LEN) == 0 &&
        l->encryption_key.len == MLS_KEM_PUB_LEN)
        return SP_ERR_INVALID;
    sp_slice none = {NULL, 0};
    TRY(mls_tree_leaf_verify(l, none, 0));
    sp_buf b = SP_BUF_INIT;
    sp_err e = mls_key_package_write_tbs(&b, kp);
    if (!e && b.failed)
        e = SP_ERR_NOMEM;
    if (!e)
        e = mls_verify_with_label(l->signature_key.data, "KeyPackageTBS", b.data, b.len,
                                  kp->signature.data, kp->signature.len);
    sp_buf_free(&b);
    return e;
}
