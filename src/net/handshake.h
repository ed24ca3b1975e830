/*
 * handshake.h — the transcript each side of a new link signs to prove its peer id.
 *
 * Both sides send HELLO (version, identity public key, 32 fresh random bytes, listen port), then
 * AUTH: an Ed25519 signature by the sender's identity key over
 *     "spacepanda/p2p/1 auth" || 0x00 || HELLO payload of the signer || HELLO payload of the other side
 * Each transcript holds the verifier's own fresh nonce, so a recorded AUTH is useless on any other
 * link, and the order (signer first) keeps A's signature from being reflected back as B's.
 */
#ifndef SP_NET_HANDSHAKE_H
#define SP_NET_HANDSHAKE_H

#include "net/frame.h"
#include "net/identity.h"

sp_err net_handshake_transcript(sp_buf *out, const net_hello *signer, const net_hello *other);
/* sig over the transcript with mine as signer. */
sp_err net_handshake_sign(const net_identity *id, const net_hello *mine, const net_hello *theirs,
                          uint8_t sig[NET_SIG_LEN]);
/* SP_OK when sig is theirs->pubkey's signature with theirs as signer; SP_ERR_CRYPTO otherwise. */
sp_err net_handshake_verify(const net_hello *theirs, const net_hello *mine, const uint8_t sig[NET_SIG_LEN]);

#endif
