/*
 * chat/channels_int.h — what the channel engine's files share (channels.c: cache, commits,
 * joining; keydir.c: key packages and the directory; delivery.c: application messages and
 * streams). Not for use outside src/chat/channels*.c, keydir.c and delivery.c.
 */
#ifndef SP_CHAT_CHANNELS_INT_H
#define SP_CHAT_CHANNELS_INT_H

#include <stdint.h>
#include "chat/channels.h"
#include "chat/protocol.h"
#include "mls/group.h"
#include "store/outbox.h"

#define CHAT_AUTH_RING 8           /* epoch authenticators remembered per channel */
#define CHAT_QUEUE_SCAN 512        /* rows of a waiting queue looked at per pass */

typedef struct member {
    struct member *next;
    char user_id[37];
    mls_group *g;
} member;

struct chat_sub {
    struct chat_sub *next, *prev;
    struct chan *ch;
    char user_id[37];
    chat_sub_fn fn;
    void *arg;
};

enum { OP_INVITE = 1, OP_ADD, OP_REMOVE };
/* Where a commit operation is: building (its kick is due), waiting for the home daemon's answer
 * to request_id, or lost (rejected, or another commit took its epoch): rebuilt once our member has
 * moved past that epoch. */
enum { OP_BUILD = 0, OP_WAIT, OP_LOST };

struct chat_op {
    struct chat_op *next;
    chat_channels *c;
    struct chan *ch;
    int kind;
    char user_id[37];
    char target[37];
    sp_buf kp;                 /* the key package (MLSMessage) for invite/add */
    uint64_t epoch;            /* epoch the current attempt was built in */
    uint64_t request_id;
    int attempts;
    int state;                 /* OP_BUILD, OP_WAIT, OP_LOST */
    int64_t pend_row;          /* its row in the store's "pend" queue (0: none), see pending.c */
    mls_group *next_state;     /* our staged state for the current attempt */
    mls_commit_out out;
    struct event *timer;       /* answers the client when the home daemon is too slow */
    struct event *kick;        /* builds and submits the commit, outside any caller's stack */
    chat_commit_cb cb;
    void *arg;
};

typedef struct {
    uint64_t epoch;
    uint8_t auth[MLS_HASH_LEN];
    int used;
} auth_slot;

typedef struct chan {
    struct chan *next;
    char id[65];
    char home[65];             /* "" unknown */
    member *members;           /* local members holding state, active ones */
    struct chat_op *ops;
    struct chat_sub *subs;
    uint64_t announced;        /* last epoch whose authenticator we broadcast, +1 (0: none) */
    int skipped;               /* after an unclean start: its members' ratchets skipped ahead once */
    int must_skip;             /* the next load skips its members' ratchets ahead (a lost commit) */
    auth_slot mine[CHAT_AUTH_RING], theirs[CHAT_AUTH_RING];
} chan;

struct chat_send_op {
    struct chat_send_op *next;
    struct chan *ch;
    char user_id[37];          /* whose state advanced (sender or reader) */
    store_message m;           /* owns its strings */
    int is_send;
    int dup;                   /* already stored: not pushed again */
    int streamed;              /* a received message, pushed to streams as soon as it was read */
    sp_buf wire;               /* a send's APP payload, broadcast once durable */
    uint64_t ticket;           /* an early batch's op: the syncer ticket that makes it durable */
    int sent_early;            /* a send whose frame left before its commit (net_node_send_early) */
    chat_send_cb cb;
    void *arg;
};

struct chat_channels {
    struct event_base *base;
    store_db *db;
    chat_spaces *spaces;
    net_node *node;
    char self[65];
    chat_channels_config cfg;
    chan *chans;
    struct event *kp_timer;
    struct chat_send_op *batch, **batch_tail;  /* the group commit's queue */
    struct event *flush_ev;
    uint64_t hard_due;          /* the group commit must run by then (monotonic ms; 0: no such) */
    uint64_t send_due;          /* when the early sends' commit runs (see delivery.c; 0: none) */
    uint64_t send_first;        /* when the first early send of the batch came (0: none yet) */
    int batch_tx;               /* the group commit's transaction is open (delivery.c) */
    int unclean_start;          /* the last run did not stop cleanly: skip ahead (see CHAT_SEND_SKIP) */
    int no_early;               /* "running" could not be recorded: no send leaves before its commit */
    int sync_failed;            /* an fsync failed this run: never mark the stop clean */
    sp_err batch_tx_result;     /* what committing it returned, once batch_commit_now did */
    struct store_syncer *syncer; /* early batches' fsync, off the reactor (delivery.c) */
    struct event *sync_ev;      /* the syncer's fd is readable */
    int64_t orphan_window;      /* when the current minute of kept orphan messages began (ms) */
    unsigned orphans_kept;      /* orphan messages kept in it (at most cfg.wait_max) */
    unsigned long wait_dropped; /* messages not kept because a queue was full (for the log) */
    struct chat_send_op *unsynced, **unsynced_tail; /* early batches' ops waiting for their fsync */
    size_t early_sends;         /* sends whose frame left and whose commit is not yet fsynced */
    uint64_t retry_since;       /* a group commit with early sends has failed since then (ms) */
};

/* channels.c */
/* The cached channel, loading it (and its local members' states) on first use. SP_ERR_NOT_FOUND
 * when the store does not know the channel. */
sp_err chan_get(chat_channels *c, const char *channel_id, chan **out);
/* The active local member user_id of ch, or NULL. */
member *chan_member(chan *ch, const char *user_id);
/* Drops the in-memory states of ch and reloads them from the store (after a failed transaction). */
void chan_reload(chat_channels *c, chan *ch);
/* Saves m's state into the store (inside the caller's transaction). */
sp_err member_save(chat_channels *c, chan *ch, const char *user_id, const mls_group *g);
/* Broadcasts our authenticator for the members' current epoch if not done yet, and compares. */
void chan_announce_epoch(chat_channels *c, chan *ch);
void chan_on_epoch_auth(chat_channels *c, const char *origin, const chat_epoch_msg *m);
void chan_on_propose(chat_channels *c, const char *origin, const chat_commit_msg *m, sp_slice raw);
void chan_on_accepted(chat_channels *c, const char *origin, const chat_commit_msg *m, sp_slice raw);
void chan_on_reject(chat_channels *c, const char *origin, const chat_reject_msg *m);
int chan_is_home(chat_channels *c, const chan *ch);
/* Waiting-queue names in the store outbox. */
void queue_name(char *out, size_t cap, char kind, const char *channel_id);
/* 1 if some row of outbox queue q satisfies match (0 also when the store cannot be read). */
typedef int (*queue_match_fn)(const store_frame *row, const void *arg);
int queue_has(chat_channels *c, const char *q, queue_match_fn match, const void *arg);
/* Marks user_id as having left ch after the channel's current last message. */
sp_err chan_mark_left(chat_channels *c, const char *channel_id, const char *user_id);
/* The seq after which a removed user sees nothing; 0 when they did not leave. */
int64_t chan_left_seq(chat_channels *c, const char *channel_id, const char *user_id);

/* pending.c: our commits proposed to another daemon, kept across restarts */
typedef struct {
    int64_t row;
    int kind;
    uint64_t epoch, request_id;
    char channel_id[65], user_id[37], target[37];
    sp_slice kp, proposal, state;  /* borrowed from the row */
} pend_rec;
/* Writes op's row (replacing its previous one) with the proposal as sent; sets op->pend_row. */
sp_err pend_put(chat_channels *c, chat_op *op, sp_slice proposal);
/* Deletes op's row if it has one (inside the caller's transaction if any). */
sp_err pend_remove(chat_channels *c, chat_op *op);
/* Every row (store_frames_free them); pend_decode reads one (r borrows from f). */
sp_err pend_list(chat_channels *c, store_frame **v, size_t *n);
sp_err pend_decode(const store_frame *f, pend_rec *r);

/* waitq.c */
/* Hands the messages waiting in ch's queue for an epoch a member has now reached to the receive
 * path; each row is removed once what it carried is durable. */
void waitq_drain(chat_channels *c, chan *ch);
/* Keeps an application message for a channel with no local member (yet) in that channel's
 * waiting queue for ORPHAN_KEEP_MS: its member's Welcome may come a moment later by another
 * path. Rows older than that are pruned then (and by waitq_sweep); at most cfg.wait_max are
 * kept per ORPHAN_KEEP_MS across all such channels. */
void waitq_keep_orphan(chat_channels *c, const net_msg *nm, const chat_app_msg *m);
/* At start: drains the queues of every channel with a local member (rows whose epoch was reached
 * just before a crash). */
void waitq_resume(chat_channels *c);
/* Keeps an application message in queue q unless q holds cfg.wait_max already (then it is
 * dropped, and logged). */
void waitq_add(chat_channels *c, const char *q, const net_msg *nm, const chat_app_msg *m, const char *why);
/* Periodic (the kp_publish_ms timer, channels.c): removes kept messages of channels nobody here joined once they are
 * ORPHAN_KEEP_MS old, a bounded number per call. */
void waitq_sweep(chat_channels *c);

/* keydir.c */
/* Normalises a key package given as MLSMessage or bare KeyPackage: msg receives the MLSMessage
 * bytes, identity (37 bytes) the credential's user id. SP_ERR_INVALID otherwise. */
sp_err kp_normalise(const uint8_t *p, size_t n, sp_buf *msg, char identity[37]);
void keydir_on_kp(chat_channels *c, const char *origin, const chat_kp_msg *m);
void keydir_tick(chat_channels *c);
/* The user's signature private key, created on first use. */
sp_err user_sig_key(chat_channels *c, const char *user_id, uint8_t priv[MLS_SIG_PRIV_LEN]);
/* Generates and stores a key package for user_id (kp: MLSMessage bytes). */
sp_err keypackage_make(chat_channels *c, const char *user_id, sp_buf *kp);
/* Finds the stored key package a Welcome is for: *priv (malloc'd secret), ref (32 bytes),
 * owner (37). SP_ERR_NOT_FOUND when none of ours. */
sp_err keypackage_for_welcome(chat_channels *c, const mls_welcome *w, uint8_t ref[MLS_HASH_LEN],
                              char owner[37], uint8_t **priv, size_t *priv_len);
/* A published directory key package was used: publish another. */
void keydir_consumed(chat_channels *c, const char *user_id, const uint8_t ref[MLS_HASH_LEN]);
/* A Welcome made for our published key package ref was joined (inside the join's transaction): the
 * first time, it is counted as consumed and its private keys are kept cfg.kp_grace_ms more; a later
 * Welcome for it (a second daemon took it at the same moment) is joined with them too. */
sp_err keydir_join_used(chat_channels *c, const char *user_id, const uint8_t ref[MLS_HASH_LEN]);
void keydir_on_used(chat_channels *c, const char *origin, const chat_kp_used_msg *m);
/* Takes a key package of user_id from the directory (kp: MLSMessage bytes) and tells every daemon
 * it is used. SP_ERR_NOT_FOUND when none is known. */
sp_err keydir_take(chat_channels *c, const char *user_id, sp_buf *kp);

/* A send's frame leaves as soon as it is encrypted, before its group commit is written (which
 * follows in the same loop turn, with its fsync on the syncer's thread; it is answered after
 * that), while at most CHAT_EARLY_SENDS sends are in that state; further sends wait for a commit
 * fsynced before they leave. A crash or power loss in between can lose a commit whose frames
 * already left; so after a stop that was not clean, every local member's sending ratchet skips
 * CHAT_SEND_SKIP generations and our frame numbers skip CHAT_SEND_SKIP sequence numbers (filled
 * with void frames), more than can be in flight. A commit that fails does the same in the run. */
#define CHAT_EARLY_SENDS 32
#define CHAT_SEND_SKIP 64
#define CHAT_STORE_RETRY_MS 200 /* a failed group commit with early sends is written again after */
/* channels.c: the cache and shared helpers */
/* Writes text into msg (if given): the human reason an operation failed. */
void chan_say(char *msg, size_t msglen, const char *text);
/* Adds (or replaces) user_id's in-memory state in ch; takes g. */
void chan_add_member(chan *ch, const char *user_id, mls_group *g);
/* Forgets user_id's in-memory state in ch. */
void chan_drop_member(chan *ch, const char *user_id);
/* A 64-bit number in the store's meta table (*found = 0 when absent). */
sp_err chan_meta_get_u64(chat_channels *c, const char *key, uint64_t *v, int *found);
sp_err chan_meta_put_u64(chat_channels *c, const char *key, uint64_t v);
/* 1 if msg is an MLSMessage of the given wire format for channel_id's group at epoch. */
int chan_frame_ok(sp_slice msg, const char *channel_id, uint64_t epoch, uint16_t wire);

/* commits.c */
/* Applies, in epoch order, the logged commits our members are waiting for; then retries queued
 * messages and rebuilt commits. */
void chan_catch_up(chat_channels *c, chan *ch);
/* On the home daemon: accepts the first commit of each epoch (raw: its encoding, re-broadcast as
 * ACCEPTED) and refuses the others. */
void chan_orderer_decide(chat_channels *c, chan *ch, const chat_commit_msg *m, sp_slice raw);
/* 1 if user_id has a profile on this daemon. */
int chan_is_local_user(chat_channels *c, const char *user_id);
/* Aligns the store's member list of ch with the group roster of g (inside the caller's transaction). */
sp_err chan_sync_roster(chat_channels *c, chan *ch, const mls_group *g);

/* ops.c */
void chat_op_free(chat_op *op);
/* Ends op: answers its client (if any) and forgets its pending row. */
void op_finish(chat_op *op, sp_err e, const char *msg);
/* op's proposal lost its epoch to another commit: drop the staged state; rebuilt on catch-up. */
void op_lost(chat_op *op);
/* Stages op's commit on its member's current epoch and proposes it to the home daemon. */
void op_submit(chat_op *op);
/* At start: resumes the commits that were pending when the daemon stopped. */
void ops_resume(chat_channels *c);

/* join.c */
/* Joins user_id from a Welcome (req), recording the channel; home_hint: the orderer if known. */
sp_err chan_join_welcome(chat_channels *c, const char *user_id, const chat_join_req *req, const char *home_hint,
                         char *channel_id, char *msg, size_t msglen);

/* delivery.c */
/* Writes the queued messages and their states in one transaction, then broadcasts and answers.
 * Called before anything else writes member states (commits, joins) so the order on disk is the
 * order in memory. An error: the commit failed and is tried again shortly (or, after
 * cfg.store_retry_ms, was given up); nothing of it is durable yet. */
sp_err batch_flush(chat_channels *c);
/* Commits the group commit's open transaction now (net's sync for the frames we originate, which
 * were appended into it); SP_OK when none is open. */
sp_err batch_commit_now(chat_channels *c);
/* Drops the queue without writing (shutdown): callbacks do not run. */
void batch_discard(chat_channels *c);
void delivery_on_app(chat_channels *c, const net_msg *nm, const chat_app_msg *m, int from_queue);
/* Hands a stored message to ch's subscribers. */
void streams_push(chan *ch, const store_message *m);
/* Ends the streams of user_id in ch (removed). */
void streams_end_user(chan *ch, const char *user_id);

#endif
