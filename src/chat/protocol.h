/*
 * chat/protocol.h — what daemons say to each other about channels, as net/ payloads.
 *
 * net/ carries typed opaque payloads (ptype + bytes) by broadcast or unicast; this module owns the
 * ptypes of the chat layer and their encodings. Every payload opens with a version byte
 * (CHAT_PROTO_VERSION); a payload of another version is SP_ERR_UNSUPPORTED, a short or malformed
 * one SP_ERR_INVALID / SP_ERR_TRUNCATED, trailing bytes SP_ERR_INVALID. Integers are big-endian,
 * strings and byte strings are u32-length-prefixed (strings: no NUL inside), all read through
 * sp_reader with a cap per field. MLS bytes inside are standard RFC 9420 encodings, opaque here.
 *
 * Decoded structs borrow from the payload (sp_slice / fixed arrays copied): decoded slices are
 * valid only as long as the payload bytes are.
 *
 *   KEY_PACKAGE      broadcast  a local user's KeyPackage for the directory (AddMemberToChannel)
 *   COMMIT_PROPOSE   unicast    a member's commit, to the channel's home daemon (the orderer)
 *   COMMIT_ACCEPTED  broadcast  by the home daemon: the one commit of that epoch; everyone applies it
 *   COMMIT_REJECTED  unicast    by the home daemon to a proposer that lost the race for the epoch
 *   APP              broadcast  an MLS PrivateMessage carrying a chat message (see chat_app_plain)
 *   EPOCH_AUTH       broadcast  the epoch authenticator a daemon reached, for fork detection
 *   KP_USED          broadcast  a directory key package was taken: every daemon forgets it
 */
#ifndef SP_CHAT_PROTOCOL_H
#define SP_CHAT_PROTOCOL_H

#include <stddef.h>
#include <stdint.h>
#include "base/buf.h"
#include "base/err.h"

#define CHAT_PROTO_VERSION 1

enum {
    CHAT_PT_VOID = 0x0700, /* fills a skipped frame number of ours (net_store.c); carries nothing, ignored */
    CHAT_PT_KEY_PACKAGE = 0x0701,
    CHAT_PT_COMMIT_PROPOSE = 0x0702,
    CHAT_PT_COMMIT_ACCEPTED = 0x0703,
    CHAT_PT_COMMIT_REJECTED = 0x0704,
    CHAT_PT_APP = 0x0705,
    CHAT_PT_EPOCH_AUTH = 0x0706,
    CHAT_PT_KP_USED = 0x0707,
};

#define CHAT_ID_HEX 64          /* channel / space / peer ids */
#define CHAT_UUID_LEN 36
#define CHAT_MAX_USERS 1000     /* ids in one commit's add/remove lists */
#define CHAT_CONTENT_MAX (64u << 10)

typedef struct {
    char user_id[CHAT_UUID_LEN + 1];
    char peer_id[CHAT_ID_HEX + 1];     /* the daemon hosting the user */
    sp_slice username;
    sp_slice key_package;              /* MLSMessage(mls_key_package) */
} chat_kp_msg;

/* One commit, as proposed and as accepted (same layout; type tells which). */
typedef struct {
    char channel_id[CHAT_ID_HEX + 1];
    uint64_t epoch;                    /* the epoch the commit was made in */
    char proposer[CHAT_ID_HEX + 1];    /* peer id of the proposing daemon */
    uint64_t request_id;               /* the proposer's nonce: matches accept/reject to its request */
    sp_slice commit;                   /* MLSMessage carrying the Commit */
    /* When welcome is set and auto_join, the daemon hosting joiner joins by itself
     * (AddMemberToChannel); an invite's Welcome goes back to the client instead. */
    uint8_t auto_join;
    char joiner[CHAT_UUID_LEN + 1];    /* "" if none */
    sp_slice welcome;                  /* MLSMessage(mls_welcome) or empty */
    sp_slice ratchet_tree;             /* ratchet_tree extension data or empty */
    /* channel facts for daemons that learn the channel from this commit */
    char space_id[CHAT_ID_HEX + 1];
    sp_slice space_name;
    sp_slice channel_name;
} chat_commit_msg;

typedef struct {
    char channel_id[CHAT_ID_HEX + 1];
    uint64_t epoch;                    /* the epoch the proposal was made in */
    uint64_t request_id;
    uint64_t current_epoch;            /* the orderer's epoch now */
    sp_slice reason;
} chat_reject_msg;

typedef struct {
    char channel_id[CHAT_ID_HEX + 1];
    uint64_t epoch;
    sp_slice message;                  /* MLSMessage(PrivateMessage) */
} chat_app_msg;

typedef struct {
    char channel_id[CHAT_ID_HEX + 1];
    uint64_t epoch;
    sp_slice authenticator;
} chat_epoch_msg;

/* The application data inside the MLS PrivateMessage: the same id and timestamp on every daemon. */
typedef struct {
    char message_id[CHAT_UUID_LEN + 1];
    int64_t timestamp;                 /* ms */
    sp_slice content;                  /* UTF-8 */
} chat_app_plain;

typedef struct {
    char user_id[CHAT_UUID_LEN + 1];
    uint8_t ref[32];                   /* KeyPackageRef */
} chat_kp_used_msg;

/* Channel facts in the group's GroupContext extension MLS_EXT_SPACEPANDA, so a joiner learns them
 * from the Welcome alone. */
typedef struct {
    char home_peer[CHAT_ID_HEX + 1];   /* the daemon that orders commits; "" unknown */
    char space_id[CHAT_ID_HEX + 1];
    sp_slice space_name;
    sp_slice channel_name;
} chat_facts;

/* Encoders append to out (which the caller owns). SP_ERR_INVALID for a field of the wrong shape. */
sp_err chat_kp_encode(const chat_kp_msg *m, sp_buf *out);
sp_err chat_commit_encode(const chat_commit_msg *m, sp_buf *out);
sp_err chat_reject_encode(const chat_reject_msg *m, sp_buf *out);
sp_err chat_app_encode(const chat_app_msg *m, sp_buf *out);
sp_err chat_epoch_encode(const chat_epoch_msg *m, sp_buf *out);
sp_err chat_plain_encode(const chat_app_plain *m, sp_buf *out);
sp_err chat_facts_encode(const chat_facts *m, sp_buf *out);
sp_err chat_kp_used_encode(const chat_kp_used_msg *m, sp_buf *out);

/* Decoders: m borrows from p[0..n). */
sp_err chat_kp_decode(const uint8_t *p, size_t n, chat_kp_msg *m);
sp_err chat_commit_decode(const uint8_t *p, size_t n, chat_commit_msg *m);
sp_err chat_reject_decode(const uint8_t *p, size_t n, chat_reject_msg *m);
sp_err chat_app_decode(const uint8_t *p, size_t n, chat_app_msg *m);
sp_err chat_epoch_decode(const uint8_t *p, size_t n, chat_epoch_msg *m);
sp_err chat_plain_decode(const uint8_t *p, size_t n, chat_app_plain *m);
sp_err chat_facts_decode(const uint8_t *p, size_t n, chat_facts *m);
sp_err chat_kp_used_decode(const uint8_t *p, size_t n, chat_kp_used_msg *m);

#endif
