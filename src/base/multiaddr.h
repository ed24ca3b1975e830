/*
 * multiaddr.h — the textual multiaddrs peers are named by:
 * "/ip4/A.B.C.D/tcp/PORT" or "/ip6/ADDR/tcp/PORT", optionally followed by
 * "/p2p/<peer id>". Used to validate --peer flags and ConnectPeer requests.
 * Only the shape of the peer id is checked here (1..128 characters of
 * [A-Za-z0-9_-]); what a valid id is belongs to net/.
 */
#ifndef SP_BASE_MULTIADDR_H
#define SP_BASE_MULTIADDR_H

#include <stdint.h>
#include "base/err.h"

typedef struct {
    int family;        /* AF_INET or AF_INET6 */
    char host[46];     /* the address literal, as given (INET6_ADDRSTRLEN) */
    uint16_t port;     /* 1..65535 */
    char peer_id[129]; /* "" when absent */
} sp_multiaddr;

/* Parses s into *out. SP_ERR_INVALID (and *out untouched) if malformed. */
sp_err sp_multiaddr_parse(const char *s, sp_multiaddr *out);

#endif
