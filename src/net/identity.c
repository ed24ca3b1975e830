/* identity.c — Ed25519 identity key file and signatures (OpenSSL 3 EVP). */
#include "net/identity.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>

#include "base/hex.h"
#include "base/log.h"

struct net_identity {
    EVP_PKEY *key;
    uint8_t pub[NET_PUBKEY_LEN];
    char peer_id[NET_PEER_ID_LEN + 1];
};

static sp_err finish(EVP_PKEY *key, net_identity **out)
{
    net_identity *id = calloc(1, sizeof *id);
    size_t n = NET_PUBKEY_LEN;
    if (!id) {
        EVP_PKEY_free(key);
        return SP_ERR_NOMEM;
    }
    if (EVP_PKEY_get_raw_public_key(key, id->pub, &n) != 1 || n != NET_PUBKEY_LEN) {
        EVP_PKEY_free(key);
        free(id);
        return SP_ERR_CRYPTO;
    }
    id->key = key;
    net_peer_id_format(id->pub, id->peer_id);
    *out = id;
    return SP_OK;
}

sp_err net_identity_generate(net_identity **out)
{
    EVP_PKEY *key = NULL;
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_id(EVP_PKEY_ED25519, NULL);
    if (!ctx)
        return SP_ERR_NOMEM;
    int ok = EVP_PKEY_keygen_init(ctx) == 1 && EVP_PKEY_keygen(ctx, &key) == 1;
    EVP_PKEY_CTX_free(ctx);
    if (!ok)
        return SP_ERR_CRYPTO;
    return finish(key, out);
}

sp_err net_identity_load_or_create(const char *dir, net_identity **out)
{
    char path[4096];
    if ((size_t)snprintf(path, sizeof path, "%s/p2p_identity.pem", dir) >= sizeof path)
        return SP_ERR_INVALID;
    FILE *f = fopen(path, "r");
    if (f) {
        EVP_PKEY *key = PEM_read_PrivateKey(f, NULL, NULL, NULL);
        fclose(f);
        if (!key || EVP_PKEY_get_id(key) != EVP_PKEY_ED25519) {
            EVP_PKEY_free(key);
            SP_ERROR("net: %s is not an Ed25519 private key", path);
            return SP_ERR_IO;
        }
        return finish(key, out);
    }
    if (errno != ENOENT) {
        SP_ERROR("net: cannot read %s: %s", path, strerror(errno));
        return SP_ERR_IO;
    }
    net_identity *id;
    sp_err e = net_identity_generate(&id);
    if (e)
        return e;
    /* O_EXCL: two daemons racing on one data dir must not both write a key. */
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
    if (fd < 0) {
        SP_ERROR("net: cannot create %s: %s", path, strerror(errno));
        net_identity_free(id);
        return SP_ERR_IO;
    }
    f = fdopen(fd, "w");
    if (!f || PEM_write_PrivateKey(f, id->key, NULL, NULL, 0, NULL, NULL) != 1 || fflush(f) != 0 ||
        fsync(fd) != 0) {
        if (f)
            fclose(f);
        else
            close(fd);
        unlink(path);
        net_identity_free(id);
        return SP_ERR_IO;
    }
    fclose(f);
    SP_INFO("net: created identity key %s (peer id %s)", path, id->peer_id);
    *out = id;
    return SP_OK;
}

void net_identity_free(net_identity *id)
{
    if (!id)
        return;
    EVP_PKEY_free(id->key); /* OpenSSL wipes the private key material it frees */
    free(id);
}

const uint8_t *net_identity_pubkey(const net_identity *id) { return id->pub; }
const char *net_identity_peer_id(const net_identity *id) { return id->peer_id; }

sp_err net_identity_sign(const net_identity *id, const uint8_t *msg, size_t len, uint8_t sig[NET_SIG_LEN])
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    size_t siglen = NET_SIG_LEN;
    if (!ctx)
        return SP_ERR_NOMEM;
    int ok = EVP_DigestSignInit(ctx, NULL, NULL, NULL, id->key) == 1 &&
             EVP_DigestSign(ctx, sig, &siglen, msg, len) == 1 && siglen == NET_SIG_LEN;
    EVP_MD_CTX_free(ctx);
    return ok ? SP_OK : SP_ERR_CRYPTO;
}

sp_err net_verify(const uint8_t pubkey[NET_PUBKEY_LEN], const uint8_t *msg, size_t len,
                  const uint8_t sig[NET_SIG_LEN])
{
    EVP_PKEY *key = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, pubkey, NET_PUBKEY_LEN);
    if (!key)
        return SP_ERR_CRYPTO;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    int ok = ctx && EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, key) == 1 &&
             EVP_DigestVerify(ctx, sig, NET_SIG_LEN, msg, len) == 1;
    EVP_MD_CTX_free(ctx);
    EVP_PKEY_free(key);
    return ok ? SP_OK : SP_ERR_CRYPTO;
}

void net_peer_id_format(const uint8_t pubkey[NET_PUBKEY_LEN], char out[NET_PEER_ID_LEN + 1])
{
    sp_hex_encode(pubkey, NET_PUBKEY_LEN, out);
}

sp_err net_peer_id_parse(const char *s, uint8_t pubkey[NET_PUBKEY_LEN])
{
    if (!s || !sp_hex_is_lower(s, NET_PUBKEY_LEN))
        return SP_ERR_INVALID;
    return sp_hex_decode(s, NET_PEER_ID_LEN, pubkey, NET_PUBKEY_LEN);
}
