/*
 * chat/channels.h — the channel engine: every channel is one MLS group (group id = channel id),
 * and this module is where mls/, store/ and net/ meet for it.
 *
 * Each local user in a channel holds their own leaf and group state, cached in memory and written
 * to the store (mls_state) in the same transaction as the message or membership change it goes
 * with. The channel's home daemon (the one that created it) orders commits: a member's commit is
 * sent to it and applied by everyone — the proposer included — only once the home daemon has
 * broadcast it as accepted; a commit that lost the race for its epoch is rebuilt on the new epoch
 * and proposed again. Application messages flow directly: protected by the sender's daemon,
 * broadcast, decrypted once per receiving daemon (by one of its local members able to read that
 * epoch) and stored with the advanced state. Commits and messages for an epoch a daemon has not
 * reached wait durably (store outbox rows keyed "c:<channel>" and "a:<channel>") until it gets
 * there. Daemons announce the epoch authenticator of each epoch they reach and log a mismatch
 * (a fork) at error level. See docs/chat.md.
 *
 * All functions run on the reactor thread. Error conventions (sp_err → gRPC by rpc/services):
 * SP_ERR_INVALID malformed input; SP_ERR_NOT_FOUND unknown channel/message/user; SP_ERR_PERMISSION
 * not a member; SP_ERR_STATE a precondition failed (used invite, no key package known...);
 * SP_ERR_TIMEOUT the home daemon did not answer; SP_ERR_AGAIN the home daemon is not known yet.
 * Where a message buffer is given, a human reason is written there.
 */
#ifndef SP_CHAT_CHANNELS_H
#define SP_CHAT_CHANNELS_H

#include <stddef.h>
#include <stdint.h>
#include "base/buf.h"
#include "base/err.h"
#include "chat/spaces.h"
#include "net/node.h"
#include "store/db.h"
#include "store/messages.h"

struct event_base;
typedef struct chat_channels chat_channels;
typedef struct chat_op chat_op;
typedef struct chat_sub chat_sub;

typedef struct {
    unsigned commit_timeout_ms;   /* (15000) how long a commit waits for the home daemon */
    unsigned kp_publish_ms;       /* (1000) how often local users' directory key packages are checked */
    unsigned recv_commit_ms;      /* (5) received messages are stored at most this long after they
                                     were read (streams have them at once); give net's
                                     commit_delay_ms the same value */
    unsigned kp_grace_ms;         /* (60000) how long a directory key package stays joinable after
                                   * its first use (see keydir_join_used in keydir.c) */
    unsigned send_commit_ms;      /* (10) how long a send whose frame already left may wait for the
                                   * group commit that makes it durable (and answers it): more sends
                                   * share one commit and one fsync. The commit runs once no other
                                   * send came for a third of it (delivery.c) */
    unsigned store_retry_ms;      /* (10000) how long a group commit whose sends already left is
                                   * tried again (every 200 ms) before they are answered with the
                                   * error */
    unsigned wait_max;            /* (10000) the most messages kept in one channel's waiting queue
                                   * (for their epoch's commit, or for a member to join); also the
                                   * most kept per minute for channels nobody here joined */
} chat_channels_config;

/* base, db and spaces are borrowed. cfg may be NULL. Installs itself as spaces' channel hook. */
sp_err chat_channels_new(struct event_base *base, store_db *db, chat_spaces *spaces,
                         const chat_channels_config *cfg, chat_channels **out);
/* Pending operations are dropped (their callbacks do not run); subscriptions are forgotten
 * without a call. NULL is fine. */
void chat_channels_free(chat_channels *c);
/* Attaches the P2P node (borrowed) and this daemon's peer id; before this, the engine works for
 * local users alone. Pass chat_channels_on_net as the node's on_msg with c as its argument. */
void chat_channels_set_net(chat_channels *c, net_node *node);
void chat_channels_on_net(void *c, const net_msg *m);

/* ---- key packages ---- */

/* A fresh KeyPackage (MLSMessage bytes, appended to kp) for user_id; its private keys are stored
 * until a Welcome uses them once. */
sp_err chat_keypackage_new(chat_channels *c, const char *user_id, sp_buf *kp);

/* ---- commits (asynchronous: they wait for the home daemon) ---- */

typedef struct {
    sp_err err;                 /* SP_OK or why not */
    const char *message;        /* human reason when err != SP_OK */
    sp_slice welcome, commit, ratchet_tree;
    const char *space_id, *channel_name, *channel_id;
} chat_commit_result;

/* Called once on the reactor with the result (valid during the call), unless cancelled. */
typedef void (*chat_commit_cb)(void *arg, const chat_commit_result *r);

/* CreateChannelInvite: an Add of key_package (MLSMessage or bare KeyPackage) committed by user_id.
 * Errors returned at once (callback not called) or later through cb. *op may be NULL. */
sp_err chat_invite(chat_channels *c, const char *user_id, const char *channel_id,
                   const uint8_t *key_package, size_t kp_len, chat_commit_cb cb, void *arg,
                   chat_op **op, char *msg, size_t msglen);
/* AddMemberToChannel: the same with a key package of target taken from the directory; the
 * Welcome travels to target's daemon, which joins by itself. */
sp_err chat_add_member(chat_channels *c, const char *user_id, const char *channel_id,
                       const char *target, chat_commit_cb cb, void *arg, chat_op **op,
                       char *msg, size_t msglen);
/* RemoveMemberFromChannel. */
sp_err chat_remove_member(chat_channels *c, const char *user_id, const char *channel_id,
                          const char *target, chat_commit_cb cb, void *arg, chat_op **op,
                          char *msg, size_t msglen);
/* The client went away: cb will not run (the commit itself may still complete). */
void chat_op_cancel(chat_op *op);

/* ---- joining ---- */

typedef struct {
    const uint8_t *welcome;     /* MLSMessage(Welcome) or a bare Welcome */
    size_t welcome_len;
    const uint8_t *ratchet_tree;/* may be NULL */
    size_t tree_len;
    const char *space_id;       /* may be "" : then from the group's facts */
    const char *channel_name;   /* may be "" */
    const char *channel_id;     /* may be "" : else must equal the group id */
} chat_join_req;

/* Joins user_id from a Welcome with one of their stored key packages (used once). Nothing is
 * stored on failure. channel_id (65 bytes) receives the channel joined. */
sp_err chat_join(chat_channels *c, const char *user_id, const chat_join_req *req, char *channel_id,
                 char *msg, size_t msglen);

/* ---- messages ---- */

typedef struct chat_send_op chat_send_op;
/* Called once on the reactor when the message is durable (stored and queued for every daemon):
 * err SP_OK and m the stored message (valid during the call), or the error. */
typedef void (*chat_send_cb)(void *arg, sp_err err, const store_message *m);

/* Protects content with user_id's state and hands it to the group commit: the writes of every
 * message sent or received in one reactor turn go to the store in one transaction (one fsync), then
 * the messages are broadcast and cb runs. Errors found at once are returned (cb not called). */
sp_err chat_send(chat_channels *c, const char *user_id, const char *channel_id, const char *content,
                 chat_send_cb cb, void *arg, chat_send_op **op);
/* The client went away: cb will not run (the message is still sent). */
void chat_send_cancel(chat_send_op *op);
/* GetMessages per API.md: limit 0 → 50, capped at 500; a removed member sees what they had. */
sp_err chat_messages(chat_channels *c, const char *user_id, const char *channel_id, int limit,
                     const char *before, store_message **out, size_t *n);

/* ---- live streams ---- */

/* m is a stored message of the channel; m NULL means the stream ends (the user left). */
typedef void (*chat_sub_fn)(void *arg, const store_message *m);
/* SP_ERR_PERMISSION when user_id is not a member. */
sp_err chat_subscribe(chat_channels *c, const char *user_id, const char *channel_id, chat_sub_fn fn,
                      void *arg, chat_sub **out);
void chat_unsubscribe(chat_sub *s);

#endif
