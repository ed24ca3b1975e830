/*
 * frame.h — the P2P wire codec: frames and the bodies of each frame type (docs/p2p-protocol.md).
 *
 * A frame is u32 length (big-endian; counts the type byte and the payload) || u8 type || payload.
 * The length is checked against a hard maximum from the 4-byte header alone, before anything is
 * allocated; a link uses a small maximum until its handshake is done. Unknown types are skipped
 * by the link. All decoding is through sp_reader; decoded slices point into the caller's bytes.
 */
#ifndef SP_NET_FRAME_H
#define SP_NET_FRAME_H

#include <stddef.h>
#include <stdint.h>
#include "base/buf.h"
#include "net/identity.h"

#define NET_PROTOCOL_VERSION 1
#define NET_FRAME_HEADER 4
#define NET_PAYLOAD_MAX (1u << 20)                     /* largest upper-layer payload */
#define NET_GOSSIP_OVERHEAD (32 + 8 + 32 + 2)          /* origin, seq, dest, ptype */
#define NET_FRAME_MAX (1 + NET_GOSSIP_OVERHEAD + NET_PAYLOAD_MAX) /* type + largest body */
#define NET_FRAME_MAX_PREAUTH 256                      /* before the handshake completes */
#define NET_CLOSE_REASON_MAX 200

enum {
    NET_T_HELLO = 0x01,
    NET_T_AUTH = 0x02,
    NET_T_CLOSE = 0x03,
    NET_T_HEARTBEAT = 0x10,
    NET_T_GOSSIP = 0x20,
    NET_T_HAVE = 0x21,
    NET_T_HAVE_REQ = 0x22,
};

/* From the first 4 bytes: *frame_len = type + payload length. SP_ERR_TOO_LARGE over max,
 * SP_ERR_INVALID for 0 (a frame always has a type). */
sp_err net_frame_check_header(const uint8_t hdr[NET_FRAME_HEADER], uint32_t max, uint32_t *frame_len);
/* One whole frame at the start of p..n: SP_ERR_AGAIN when incomplete (nothing consumed). */
sp_err net_frame_decode(const uint8_t *p, size_t n, uint32_t max, uint8_t *type, sp_slice *payload,
                        size_t *consumed);
/* Appends header + type + payload. */
sp_err net_frame_encode(sp_buf *out, uint8_t type, const uint8_t *payload, size_t len);

typedef struct {
    uint16_t version;
    uint8_t pubkey[NET_PUBKEY_LEN];
    uint8_t nonce[32];
    uint16_t listen_port; /* 0: the sender accepts no inbound links */
} net_hello;

sp_err net_hello_encode(sp_buf *out, const net_hello *h); /* payload only */
/* SP_ERR_UNSUPPORTED when the version is not ours (h->version is then set), SP_ERR_INVALID else. */
sp_err net_hello_decode(sp_slice payload, net_hello *h);

typedef struct {
    uint8_t origin[NET_PUBKEY_LEN];
    uint64_t seq;                 /* 1, 2, 3, ... per origin */
    uint8_t dest[NET_PUBKEY_LEN]; /* all zero: broadcast; else the one peer that handles it */
    uint16_t ptype;               /* upper-layer payload type, opaque to net/ */
    sp_slice payload;
} net_gossip;

sp_err net_gossip_encode(sp_buf *out, const net_gossip *g); /* body only */
sp_err net_gossip_decode(sp_slice body, net_gossip *g);
int net_gossip_is_broadcast(const net_gossip *g);

/* HAVE: u32 count || count * (origin[32] || u64 highest contiguous seq). */
typedef struct {
    uint8_t origin[NET_PUBKEY_LEN];
    uint64_t contig;
} net_have_entry;
#define NET_HAVE_MAX_ENTRIES ((NET_FRAME_MAX - 5) / 40)
/* *entries is malloc'd (caller frees); *n may be 0. */
sp_err net_have_decode(sp_slice payload, net_have_entry **entries, size_t *n);

/* CLOSE: u16 code || reason (UTF-8, at most NET_CLOSE_REASON_MAX bytes). */
enum {
    NET_CLOSE_PROTOCOL = 1,
    NET_CLOSE_VERSION = 2,
    NET_CLOSE_SELF = 3,
    NET_CLOSE_DUPLICATE = 4,
    NET_CLOSE_WRONG_PEER = 5,
    NET_CLOSE_AUTH = 6,
    NET_CLOSE_SHUTDOWN = 7,
};
sp_err net_close_encode(sp_buf *out, uint16_t code, const char *reason); /* whole frame */
/* reason receives a NUL-terminated printable copy. */
sp_err net_close_decode(sp_slice payload, uint16_t *code, char reason[NET_CLOSE_REASON_MAX + 1]);

#endif
