/*
 * identity.h — the daemon's Ed25519 identity key and the peer id derived from it.
 *
 * The key lives in <data dir>/p2p_identity.pem (PKCS#8 PEM, created with mode 0600 on first
 * start and reused afterwards). The peer id is the lowercase hex of the 32-byte raw Ed25519
 * public key: 64 characters, stable as long as the key file is kept, and checkable by anyone
 * who sees the key in a handshake without any extra lookup.
 */
#ifndef SP_NET_IDENTITY_H
#define SP_NET_IDENTITY_H

#include <stddef.h>
#include <stdint.h>
#include "base/err.h"

#define NET_PUBKEY_LEN 32
#define NET_SIG_LEN 64
#define NET_PEER_ID_LEN 64 /* hex characters, without the NUL */

typedef struct net_identity net_identity;

/* Loads <dir>/p2p_identity.pem, or creates it (0600) if absent. SP_ERR_IO when the file exists but
 * cannot be read or is not an Ed25519 key. The caller frees *out with net_identity_free. */
sp_err net_identity_load_or_create(const char *dir, net_identity **out);
/* A fresh key that is never written anywhere (tests, benchmarks). */
sp_err net_identity_generate(net_identity **out);
void net_identity_free(net_identity *id);

const uint8_t *net_identity_pubkey(const net_identity *id); /* 32 bytes, owned by id */
const char *net_identity_peer_id(const net_identity *id);   /* 64 hex chars + NUL, owned by id */

/* Signs msg; sig receives NET_SIG_LEN bytes. */
sp_err net_identity_sign(const net_identity *id, const uint8_t *msg, size_t len, uint8_t sig[NET_SIG_LEN]);
/* SP_OK when sig is pubkey's signature of msg, SP_ERR_CRYPTO otherwise. */
sp_err net_verify(const uint8_t pubkey[NET_PUBKEY_LEN], const uint8_t *msg, size_t len,
                  const uint8_t sig[NET_SIG_LEN]);

/* Peer id <-> raw public key. net_peer_id_parse accepts exactly 64 lowercase hex characters. */
void net_peer_id_format(const uint8_t pubkey[NET_PUBKEY_LEN], char out[NET_PEER_ID_LEN + 1]);
sp_err net_peer_id_parse(const char *s, uint8_t pubkey[NET_PUBKEY_LEN]);

#endif
