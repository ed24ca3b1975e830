/*
 * multiaddr.h — the subset of libp2p multiaddrs spacepanda dials and reports.
 *
 * Accepted (text form only): /ip4/A.B.C.D/tcp/PORT or /ip6/ADDR/tcp/PORT, optionally followed by
 * /p2p/<peer id> (64 lowercase hex characters, see identity.h). PORT is 1..65535. Anything else
 * is SP_ERR_INVALID with a message that says which part is wrong.
 */
#ifndef SP_NET_MULTIADDR_H
#define SP_NET_MULTIADDR_H

#include <stdint.h>
#include <sys/socket.h>
#include "base/err.h"
#include "net/identity.h"

#define NET_MULTIADDR_MAX 192 /* longest text form we produce, with NUL */

typedef struct {
    struct sockaddr_storage sa; /* ready for connect() */
    socklen_t salen;
    uint16_t port;
    int has_peer_id;
    uint8_t peer_key[NET_PUBKEY_LEN];  /* valid when has_peer_id */
    char peer_id[NET_PEER_ID_LEN + 1]; /* "" unless has_peer_id */
} net_multiaddr;

/* Parses s. On error returns SP_ERR_INVALID, leaves *out unspecified and writes a one-line reason
 * into err (errlen bytes, may be 0). */
sp_err net_multiaddr_parse(const char *s, net_multiaddr *out, char *err, size_t errlen);
/* Canonical text of the address (without /p2p/) into out (NET_MULTIADDR_MAX bytes). */
void net_multiaddr_format_addr(const struct sockaddr *sa, char out[NET_MULTIADDR_MAX]);

#endif
