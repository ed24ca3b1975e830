/*
 * test_chat_channels.c — the channel engine (chat/channels.h) in process: two "daemons" A and B,
 * each a real sqlite store in a temporary directory, a chat_channels engine and a net_node linked
 * over loopback, on one event loop. Frames B receives pass through a hook that can hold back
 * commits, so the test chooses the order in which B sees them: a message of an epoch B has not
 * reached waits in B's store (outbox "a:<channel>"), survives a restart of B, and is stored
 * exactly once when the commit arrives — also when B "crashes" right after applying it. Also:
 * create / invite / join / send / receive / remove through the API, its error paths, and
 * malformed or misdirected payloads given to the receive path, which change nothing.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <event2/event.h>
#include <sqlite3.h>

#include "check.h"
#include "tmpdir.h"
#include "base/clock.h"
#include "base/hex.h"
#include "base/log.h"
#include "base/rand.h"
#include "chat/channels.h"
#include "chat/net_store.h"
#include "chat/protocol.h"
#include "chat/spaces.h"
#include "mls/codec.h"
#include "net/identity.h"
#include "net/node.h"
#include "store/messages.h"
#include "store/mls_state.h"
#include "store/outbox.h"
#include "store/profiles.h"

CHECK_MAIN_DEFS

static struct event_base *base;
static char tmpdir[256];

#define HELD_MAX 16
#define WAIT_MAX 40 /* cfg.wait_max here */

typedef struct {
    char origin[65];
    uint64_t seq;
    uint16_t ptype;
    int unicast;
    sp_buf payload;
} frame_copy;

typedef struct {
    const char *name;
    char dir[300];
    uint16_t port;
    store_db *db;
    chat_spaces *sp;
    chat_channels *c;
    net_identity *id;
    net_persist *np;
    net_node *node;
    int hold;                    /* hold back COMMIT_ACCEPTED frames instead of handing them up */
    frame_copy held[HELD_MAX];
    size_t n_held;
    frame_copy last_app;         /* the last APP frame seen */
    frame_copy last_acc;         /* the last COMMIT_ACCEPTED frame seen */
    int hold_app;                /* keep APP frames in held_app instead of handing them up */
    int hold_used;               /* drop KP_USED frames (they are "not there yet") */
    int hold_propose;            /* keep COMMIT_PROPOSE frames in held_prop */
    frame_copy held_prop[4];
    size_t n_prop;
    uint8_t welcome_ref[2][32];  /* the key package refs of the first two auto-join Welcomes seen */
    int n_welcomes;
    char watch_joiner[37];       /* whose Welcomes to look at */
    frame_copy held_app;
    int seen[16];                /* frames handed to the hook, by ptype & 0xf */
    unsigned send_commit_ms;     /* cfg.send_commit_ms at the next dmn_start (0: the default) */
    unsigned kp_publish_ms;      /* cfg.kp_publish_ms at the next dmn_start (0: 200) */
} dmn;

static void copy_frame(frame_copy *f, const net_msg *m)
{
    sp_buf_free(&f->payload);
    sp_buf_init(&f->payload);
    snprintf(f->origin, sizeof f->origin, "%s", m->origin);
    f->seq = m->seq;
    f->ptype = m->ptype;
    f->unicast = m->unicast;
    sp_buf_append(&f->payload, m->payload.ptr, m->payload.len);
}

static void deliver(dmn *d, const frame_copy *f)
{
    net_msg m = {.origin = f->origin, .seq = f->seq, .ptype = f->ptype, .unicast = f->unicast,
                 .payload = {f->payload.data, f->payload.len}};
    chat_channels_on_net(d->c, &m);
}

static void hook(void *arg, const net_msg *m)
{
    dmn *d = arg;
    d->seen[m->ptype & 0xf]++;
    if (m->ptype == CHAT_PT_APP)
        copy_frame(&d->last_app, m);
    if (m->ptype == CHAT_PT_COMMIT_ACCEPTED)
        copy_frame(&d->last_acc, m);
    if (d->hold_used && m->ptype == CHAT_PT_KP_USED)
        return;
    if (d->hold_propose && m->ptype == CHAT_PT_COMMIT_PROPOSE && d->n_prop < 4) {
        copy_frame(&d->held_prop[d->n_prop++], m);
        return;
    }
    chat_commit_msg cm;
    if (m->ptype == CHAT_PT_COMMIT_ACCEPTED && d->n_welcomes < 2 &&
        chat_commit_decode(m->payload.ptr, m->payload.len, &cm) == SP_OK && cm.auto_join && cm.welcome.len &&
        strcmp(cm.joiner, d->watch_joiner) == 0) {
        mls_message w;
        memset(&w, 0, sizeof w);
        if (mls_message_decode(cm.welcome.ptr, cm.welcome.len, &w) == SP_OK) {
            if (w.welcome.n_secrets == 1 && w.welcome.secrets[0].new_member.len == 32)
                memcpy(d->welcome_ref[d->n_welcomes++], w.welcome.secrets[0].new_member.data, 32);
            mls_message_free(&w);
        }
    }
    if (d->hold_app && m->ptype == CHAT_PT_APP) {
        copy_frame(&d->held_app, m);
        return;
    }
    if (d->hold && m->ptype == CHAT_PT_COMMIT_ACCEPTED && d->n_held < HELD_MAX) {
        copy_frame(&d->held[d->n_held++], m);
        return;
    }
    chat_channels_on_net(d->c, m);
}

static void dmn_start(dmn *d)
{
    char path[400], why[200];
    snprintf(path, sizeof path, "%s/spacepanda.db", d->dir);
    CHECK(store_open(path, &d->db, why, sizeof why) == SP_OK);
    CHECK(chat_spaces_new(d->db, &d->sp) == SP_OK);
    chat_channels_config cc = {.commit_timeout_ms = 3000, .kp_publish_ms = d->kp_publish_ms ? d->kp_publish_ms : 200,
                               .kp_grace_ms = 1500,
                               .store_retry_ms = 1500, .wait_max = WAIT_MAX, .send_commit_ms = d->send_commit_ms};
    CHECK(chat_channels_new(base, d->db, d->sp, &cc, &d->c) == SP_OK);
    CHECK(net_identity_load_or_create(d->dir, &d->id) == SP_OK);
    snprintf(path, sizeof path, "%s/net.db", d->dir);
    net_persist *inner = NULL;
    CHECK(net_persist_sqlite_open(path, &inner) == SP_OK);
    CHECK(chat_net_persist_wrap(inner, d->c, net_identity_pubkey(d->id), &d->np) == SP_OK);
    net_node_config nc = {.listen_port = d->port, .on_msg = hook, .on_msg_arg = d,
                          .backoff_min_ms = 20, .backoff_max_ms = 200};
    CHECK(net_node_new(base, d->id, d->np, &nc, &d->node) == SP_OK);
    const char *addr = net_node_listen_addr(d->node);
    d->port = (uint16_t)atoi(strrchr(addr, '/') + 1);
    CHECK(chat_spaces_set_self_peer(d->sp, net_node_peer_id(d->node)) == SP_OK);
    chat_channels_set_net(d->c, d->node);
}

/* In main.c's order. Whatever the engine had not written yet is dropped, as in a crash. */
static void dmn_stop(dmn *d)
{
    net_node_free(d->node);
    net_persist_free(d->np);
    net_identity_free(d->id);
    chat_channels_free(d->c);
    chat_spaces_free(d->sp);
    store_close(d->db);
    d->node = NULL;
    d->np = NULL;
    d->id = NULL;
    d->c = NULL;
    d->sp = NULL;
    d->db = NULL;
}

/* Opens d's store with an engine and no node, hands it f, and drops the engine at once. */
static void bare_deliver(dmn *d, const frame_copy *f)
{
    char path[400], why[200];
    snprintf(path, sizeof path, "%s/spacepanda.db", d->dir);
    CHECK(store_open(path, &d->db, why, sizeof why) == SP_OK);
    CHECK(chat_spaces_new(d->db, &d->sp) == SP_OK);
    CHECK(chat_channels_new(base, d->db, d->sp, NULL, &d->c) == SP_OK);
    deliver(d, f);
    chat_channels_free(d->c);
    chat_spaces_free(d->sp);
    store_close(d->db);
    d->c = NULL;
    d->sp = NULL;
    d->db = NULL;
}

typedef int (*pred_fn)(void *);

/* Runs the loop until p(arg) holds or ms pass; returns p(arg). */
static int run_until(pred_fn p, void *arg, int ms)
{
    for (int i = 0; i < ms && !p(arg); i++) {
        event_base_loop(base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
        if (!p(arg))
            usleep(1000);
    }
    return p(arg);
}

static int never(void *arg)
{
    (void)arg;
    return 0;
}

static void run_for(int ms)
{
    run_until(never, NULL, ms);
}

static int linked(void *arg)
{
    dmn **p = arg;
    return net_node_links(p[0]->node, NULL, 0) > 0 && net_node_links(p[1]->node, NULL, 0) > 0;
}

static void link_up(dmn *a, dmn *b)
{
    char err[200];
    CHECK(net_node_connect(b->node, net_node_listen_addr(a->node), NULL, NULL, err, sizeof err) == SP_OK);
    dmn *pair[2] = {a, b};
    CHECK_MSG(run_until(linked, pair, 5000), "%s and %s linked", a->name, b->name);
}

static void make_user(dmn *d, const char *name, char id[37])
{
    CHECK(sp_uuid_v4(id) == SP_OK);
    uint8_t hash[32] = {1}, salt[16] = {2};
    store_profile p = {.username = (char *)name, .pw_hash = hash, .pw_hash_len = sizeof hash,
                       .pw_salt = salt, .pw_salt_len = sizeof salt, .kdf_m_kib = 8, .kdf_t = 1,
                       .kdf_p = 1, .created_at = 1};
    snprintf(p.user_id, sizeof p.user_id, "%s", id);
    CHECK(store_profile_create(d->db, &p) == SP_OK);
}

/* A new space with one channel, created by user on d: their ids. */
static void new_channel(dmn *d, const char *user, const char *space_name, const char *ch_name, char space_out[65],
                        char ch_out[65])
{
    store_space sp;
    store_channel sc;
    memset(&sp, 0, sizeof sp);
    memset(&sc, 0, sizeof sc);
    CHECK(chat_space_create(d->sp, user, space_name, "", 0, &sp) == SP_OK);
    CHECK(chat_channel_create(d->sp, user, sp.id, ch_name, "", 0, &sc) == SP_OK);
    snprintf(space_out, 65, "%s", sp.id);
    snprintf(ch_out, 65, "%s", sc.id);
    store_space_clear(&sp);
    store_channel_clear(&sc);
}

/* ---- what a store holds, to see that something changed or did not ---------------------------- */

static int64_t last_seq(dmn *d, const char *ch)
{
    int64_t s = -1;
    CHECK(store_messages_last_seq(d->db, ch, &s) == SP_OK);
    return s;
}

static size_t queue_len(dmn *d, char kind, const char *ch)
{
    char q[80];
    snprintf(q, sizeof q, "%c:%s", kind, ch);
    store_frame *v = NULL;
    size_t n = 0;
    if (store_outbox_list(d->db, q, 0, 1000, &v, &n) != SP_OK)
        return (size_t)-1;
    store_frames_free(v, n);
    return n;
}

static int64_t epoch_of(dmn *d, const char *ch, const char *user)
{
    uint64_t ep = 0;
    uint8_t *blob = NULL;
    size_t len = 0;
    if (store_mls_state_get(d->db, ch, user, &ep, &blob, &len) != SP_OK)
        return -1;
    free(blob);
    return (int64_t)ep;
}

/* Messages of ch with this content, as user reads them. */
static int count_content(dmn *d, const char *user, const char *ch, const char *content)
{
    store_message *v = NULL;
    size_t n = 0;
    if (chat_messages(d->c, user, ch, 500, NULL, &v, &n) != SP_OK)
        return -1;
    int k = 0;
    for (size_t i = 0; i < n; i++)
        k += strcmp(v[i].content, content) == 0;
    store_messages_free(v, n);
    return k;
}

typedef struct {
    int64_t seq;
    size_t a, cq;
    int64_t epoch;
} snapshot;

static snapshot snap(dmn *d, const char *ch, const char *user)
{
    snapshot s = {last_seq(d, ch), queue_len(d, 'a', ch), queue_len(d, 'c', ch), epoch_of(d, ch, user)};
    return s;
}

static int same(snapshot x, snapshot y)
{
    return x.seq == y.seq && x.a == y.a && x.cq == y.cq && x.epoch == y.epoch;
}

/* ---- callbacks -------------------------------------------------------------------------------- */

typedef struct {
    int called;
    sp_err err;
    sp_buf welcome, tree;
    char space_id[65], channel_name[101];
} commit_res;

static void on_commit(void *arg, const chat_commit_result *r)
{
    commit_res *x = arg;
    x->called++;
    x->err = r->err;
    sp_buf_init(&x->welcome);
    sp_buf_init(&x->tree);
    if (r->err == SP_OK) {
        sp_buf_append(&x->welcome, r->welcome.ptr, r->welcome.len);
        sp_buf_append(&x->tree, r->ratchet_tree.ptr, r->ratchet_tree.len);
    }
    snprintf(x->space_id, sizeof x->space_id, "%s", r->space_id ? r->space_id : "");
    snprintf(x->channel_name, sizeof x->channel_name, "%s", r->channel_name ? r->channel_name : "");
}

static int commit_done(void *arg)
{
    return ((commit_res *)arg)->called;
}

static void commit_res_free(commit_res *r)
{
    sp_buf_free(&r->welcome);
    sp_buf_free(&r->tree);
}

typedef struct {
    int called;
    sp_err err;
    char id[37];
    uint64_t at; /* when it was answered (monotonic ms) */
} send_res;

static void on_send(void *arg, sp_err err, const store_message *m)
{
    send_res *s = arg;
    s->called++;
    s->err = err;
    s->at = sp_monotonic_ms();
    if (m)
        snprintf(s->id, sizeof s->id, "%s", m->id);
}

static int send_done(void *arg)
{
    return ((send_res *)arg)->called;
}

static sp_err send_text(dmn *d, const char *user, const char *ch, const char *text)
{
    send_res r = {0};
    sp_err e = chat_send(d->c, user, ch, text, on_send, &r, NULL);
    if (e)
        return e;
    CHECK(run_until(send_done, &r, 3000));
    return r.err;
}

typedef struct {
    int got, ended;
    char last[64];
} sub_res;

static void on_sub(void *arg, const store_message *m)
{
    sub_res *s = arg;
    if (!m) {
        s->ended++;
        return;
    }
    s->got++;
    snprintf(s->last, sizeof s->last, "%s", m->content);
}

typedef struct {
    dmn *d;
    const char *user, *ch, *content;
    int want;
} has_arg;

static int has(void *arg)
{
    has_arg *h = arg;
    return count_content(h->d, h->user, h->ch, h->content) == h->want;
}

/* ---- the test ------------------------------------------------------------------------------- */

static dmn A = {.name = "A"}, B = {.name = "B"}, Z = {.name = "Z"};
static char alice[37], carol[37], bob[37], ch[65], space_id[65];

static void test_errors_before_join(void)
{
    char msg[200];
    sp_buf kp;
    sp_buf_init(&kp);
    CHECK(chat_send(A.c, alice, "zz", "hi", on_send, NULL, NULL) == SP_ERR_INVALID);
    CHECK(chat_send(A.c, alice, ch, "", on_send, NULL, NULL) == SP_ERR_INVALID);
    char other[65];
    memset(other, 'a', 64);
    other[64] = '\0';
    CHECK(chat_send(A.c, alice, other, "hi", on_send, NULL, NULL) == SP_ERR_NOT_FOUND);
    CHECK(chat_send(A.c, bob, ch, "hi", on_send, NULL, NULL) == SP_ERR_PERMISSION);
    CHECK(chat_send(B.c, bob, ch, "hi", on_send, NULL, NULL) == SP_ERR_NOT_FOUND); /* B does not know it */
    store_message *v = NULL;
    size_t n = 0;
    CHECK(chat_messages(A.c, bob, ch, 0, NULL, &v, &n) == SP_ERR_PERMISSION);
    CHECK(chat_messages(A.c, alice, ch, -1, NULL, &v, &n) == SP_ERR_INVALID);
    CHECK(chat_messages(A.c, alice, ch, 0, "not-a-uuid", &v, &n) == SP_ERR_INVALID);
    chat_sub *s = NULL;
    CHECK(chat_subscribe(A.c, bob, ch, on_sub, NULL, &s) == SP_ERR_PERMISSION);
    CHECK(chat_subscribe(A.c, alice, "x", on_sub, NULL, &s) == SP_ERR_INVALID);
    CHECK(chat_invite(A.c, alice, ch, (const uint8_t *)"junk", 4, on_commit, NULL, NULL, msg, sizeof msg) ==
          SP_ERR_INVALID);
    CHECK(chat_keypackage_new(B.c, bob, &kp) == SP_OK);
    CHECK(chat_invite(A.c, alice, other, kp.data, kp.len, on_commit, NULL, NULL, msg, sizeof msg) == SP_ERR_NOT_FOUND);
    CHECK(chat_invite(A.c, carol, ch, kp.data, kp.len, on_commit, NULL, NULL, msg, sizeof msg) == SP_ERR_PERMISSION);
    CHECK(chat_add_member(A.c, alice, ch, "nope", on_commit, NULL, NULL, msg, sizeof msg) == SP_ERR_INVALID);
    char nobody[37];
    sp_uuid_v4(nobody);
    CHECK(chat_add_member(A.c, alice, ch, nobody, on_commit, NULL, NULL, msg, sizeof msg) == SP_ERR_STATE);
    CHECK(chat_remove_member(A.c, alice, ch, alice, on_commit, NULL, NULL, msg, sizeof msg) == SP_ERR_STATE);
    CHECK(chat_remove_member(A.c, alice, ch, "x", on_commit, NULL, NULL, msg, sizeof msg) == SP_ERR_INVALID);
    /* a Welcome that is not one, and one for nobody here */
    char joined[65];
    chat_join_req jr = {.welcome = (const uint8_t *)"\x00\x01\x00\x03zz", .welcome_len = 6};
    CHECK(chat_join(B.c, bob, &jr, joined, msg, sizeof msg) == SP_ERR_INVALID);
    CHECK(last_seq(&A, ch) == 0);
    sp_buf_free(&kp);
}

static void test_invite_join_send(void)
{
    char msg[200], joined[65];
    sp_buf kp;
    sp_buf_init(&kp);
    CHECK(chat_keypackage_new(B.c, bob, &kp) == SP_OK);
    commit_res r = {0};
    CHECK(chat_invite(A.c, alice, ch, kp.data, kp.len, on_commit, &r, NULL, msg, sizeof msg) == SP_OK);
    CHECK(run_until(commit_done, &r, 3000) && r.err == SP_OK);
    CHECK(r.welcome.len > 0 && strcmp(r.space_id, space_id) == 0 && strcmp(r.channel_name, "general") == 0);
    CHECK(epoch_of(&A, ch, alice) == 1);
    /* inviting the same user again: already a member */
    CHECK(chat_invite(A.c, alice, ch, kp.data, kp.len, on_commit, NULL, NULL, msg, sizeof msg) == SP_ERR_EXISTS);

    /* a Welcome with the wrong channel id or for another user stores nothing */
    chat_join_req jr = {.welcome = r.welcome.data, .welcome_len = r.welcome.len, .ratchet_tree = r.tree.data,
                        .tree_len = r.tree.len, .space_id = r.space_id, .channel_name = "general",
                        .channel_id = space_id};
    CHECK(chat_join(B.c, bob, &jr, joined, msg, sizeof msg) == SP_ERR_INVALID);
    jr.channel_id = ch;
    char stranger[37];
    make_user(&B, "stranger", stranger);
    CHECK(chat_join(B.c, stranger, &jr, joined, msg, sizeof msg) == SP_ERR_STATE);
    CHECK(epoch_of(&B, ch, bob) == -1 && epoch_of(&B, ch, stranger) == -1);
    CHECK(chat_join(B.c, bob, &jr, joined, msg, sizeof msg) == SP_OK && strcmp(joined, ch) == 0);
    CHECK(epoch_of(&B, ch, bob) == 1);
    CHECK_MSG(chat_join(B.c, bob, &jr, joined, msg, sizeof msg) == SP_ERR_STATE, "a used invite: %s", msg);
    commit_res_free(&r);
    sp_buf_free(&kp);

    /* messages both ways, and a stream opened before */
    sub_res sb = {0};
    chat_sub *s = NULL;
    CHECK(chat_subscribe(B.c, bob, ch, on_sub, &sb, &s) == SP_OK);
    CHECK(send_text(&A, alice, ch, "hello bob") == SP_OK);
    has_arg h = {&B, bob, ch, "hello bob", 1};
    CHECK(run_until(has, &h, 3000));
    CHECK(sb.got == 1 && strcmp(sb.last, "hello bob") == 0);
    CHECK(send_text(&B, bob, ch, "hello alice") == SP_OK);
    has_arg h2 = {&A, alice, ch, "hello alice", 1};
    CHECK(run_until(has, &h2, 3000));
    store_message *v = NULL;
    size_t n = 0;
    CHECK(chat_messages(A.c, alice, ch, 0, NULL, &v, &n) == SP_OK && n == 2);
    if (n == 2)
        CHECK(strcmp(v[0].sender_id, alice) == 0 && strcmp(v[1].sender_id, bob) == 0 &&
              strcmp(v[1].content, "hello alice") == 0);
    store_messages_free(v, n);
    chat_unsubscribe(s);
}

/* Frames that are malformed, or well-formed but from the wrong daemon or about the wrong thing,
 * change nothing in B's store. */
static void test_hostile_payloads(void)
{
    snapshot before = snap(&B, ch, bob);
    const char *rnd = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
    uint8_t junk[300];
    for (size_t i = 0; i < sizeof junk; i++)
        junk[i] = (uint8_t)(i * 37 + 1);
    junk[0] = CHAT_PROTO_VERSION;
    for (uint16_t pt = CHAT_PT_KEY_PACKAGE; pt <= CHAT_PT_KP_USED; pt++)
        for (size_t len = 0; len < sizeof junk; len += 7) {
            net_msg m = {.origin = rnd, .seq = 1000 + len, .ptype = pt, .payload = {junk, len}};
            chat_channels_on_net(B.c, &m);
        }
    /* the last real APP frame, truncated at every length and with a byte flipped anywhere */
    frame_copy *app = &B.last_app;
    CHECK(app->payload.len > 100);
    sp_buf cut;
    sp_buf_init(&cut);
    for (size_t len = 0; len + 1 < app->payload.len; len += 3) {
        net_msg m = {.origin = app->origin, .seq = 5000 + len, .ptype = CHAT_PT_APP, .payload = {app->payload.data, len}};
        chat_channels_on_net(B.c, &m);
    }
    for (size_t i = 0; i < app->payload.len; i += 5) {
        sp_buf_reset(&cut);
        sp_buf_append(&cut, app->payload.data, app->payload.len);
        cut.data[i] ^= 0x40;
        net_msg m = {.origin = app->origin, .seq = 9000 + i, .ptype = CHAT_PT_APP, .payload = {cut.data, cut.len}};
        chat_channels_on_net(B.c, &m);
    }
    /* a well-formed APP claiming an epoch nobody has reached, whose content is not an MLS message
     * of that channel and epoch: refused, not queued */
    chat_app_msg am = {.epoch = 42, .message = {junk, 80}};
    snprintf(am.channel_id, sizeof am.channel_id, "%s", ch);
    sp_buf_reset(&cut);
    CHECK(chat_app_encode(&am, &cut) == SP_OK);
    net_msg m = {.origin = rnd, .seq = 1, .ptype = CHAT_PT_APP, .payload = {cut.data, cut.len}};
    chat_channels_on_net(B.c, &m);
    /* the real APP again: a repeat */
    deliver(&B, app);
    /* an accepted commit that does not come from the channel's home daemon */
    chat_commit_msg cm = {.epoch = 1, .request_id = 7, .commit = {junk, 100}};
    snprintf(cm.channel_id, sizeof cm.channel_id, "%s", ch);
    snprintf(cm.proposer, sizeof cm.proposer, "%s", rnd);
    sp_buf_reset(&cut);
    CHECK(chat_commit_encode(&cm, &cut) == SP_OK);
    net_msg acc = {.origin = rnd, .seq = 2, .ptype = CHAT_PT_COMMIT_ACCEPTED, .payload = {cut.data, cut.len}};
    chat_channels_on_net(B.c, &acc);
    /* ... and one from the home daemon that is garbage for epoch 1 */
    acc.origin = net_node_peer_id(A.node);
    chat_channels_on_net(B.c, &acc);
    /* a rejection from someone who is not the orderer */
    chat_reject_msg rj = {.epoch = 1, .request_id = 7, .current_epoch = 3, .reason = {junk, 3}};
    snprintf(rj.channel_id, sizeof rj.channel_id, "%s", ch);
    sp_buf_reset(&cut);
    CHECK(chat_reject_encode(&rj, &cut) == SP_OK);
    net_msg rej = {.origin = rnd, .seq = 3, .ptype = CHAT_PT_COMMIT_REJECTED, .unicast = 1, .payload = {cut.data, cut.len}};
    chat_channels_on_net(B.c, &rej);
    /* at the home daemon: a proposal for the current epoch, framed right (a real commit with its
     * epoch patched) but whose signature cannot verify, is refused and takes no epoch */
    snapshot a0 = snap(&A, ch, alice);
    chat_commit_msg old;
    CHECK(B.last_acc.payload.len > 0 &&
          chat_commit_decode(B.last_acc.payload.data, B.last_acc.payload.len, &old) == SP_OK);
    sp_buf forged;
    sp_buf_init(&forged);
    sp_buf_append(&forged, old.commit.ptr, old.commit.len);
    /* PublicMessage: version, wire format, group id <1-byte varint length + 32>, then the epoch */
    CHECK(forged.len > 45 && forged.data[4] == 32);
    for (int i = 0; i < 8; i++)
        forged.data[37 + i] = (uint8_t)((uint64_t)a0.epoch >> (56 - 8 * i));
    chat_commit_msg fp = old;
    fp.epoch = (uint64_t)a0.epoch;
    fp.commit = sp_buf_slice(&forged);
    snprintf(fp.proposer, sizeof fp.proposer, "%s", rnd);
    sp_buf_reset(&cut);
    CHECK(chat_commit_encode(&fp, &cut) == SP_OK);
    net_msg prop = {.origin = rnd, .seq = 4, .ptype = CHAT_PT_COMMIT_PROPOSE, .unicast = 1, .payload = {cut.data, cut.len}};
    chat_channels_on_net(A.c, &prop);
    CHECK_MSG(same(a0, snap(&A, ch, alice)), "the home daemon refused a commit that does not verify");
    sp_buf_free(&forged);
    run_for(50);
    snapshot after = snap(&B, ch, bob);
    CHECK_MSG(same(before, after), "B unchanged: seq %lld/%lld, waiting %zu/%zu, commits %zu/%zu, epoch %lld/%lld",
              (long long)before.seq, (long long)after.seq, before.a, after.a, before.cq, after.cq,
              (long long)before.epoch, (long long)after.epoch);
    /* the engine still works */
    CHECK(send_text(&B, bob, ch, "still here") == SP_OK);
    has_arg h = {&A, alice, ch, "still here", 1};
    CHECK(run_until(has, &h, 3000));
    sp_buf_free(&cut);
}

static int queued_one(void *arg)
{
    (void)arg;
    return queue_len(&B, 'a', ch) == 1;
}

/* B receives a message of epoch E+1 before the commit to E+1. */
static void test_future_epoch(void)
{
    char msg[200];
    B.hold = 1;
    B.n_held = 0;
    int64_t e0 = epoch_of(&B, ch, bob);
    commit_res r = {0};
    CHECK(chat_add_member(A.c, alice, ch, carol, on_commit, &r, NULL, msg, sizeof msg) == SP_OK);
    CHECK(run_until(commit_done, &r, 3000) && r.err == SP_OK);
    commit_res_free(&r);
    CHECK(epoch_of(&A, ch, alice) == e0 + 1 && epoch_of(&A, ch, carol) == e0 + 1);
    int apps = B.seen[CHAT_PT_APP & 0xf];
    CHECK(send_text(&A, carol, ch, "from the future") == SP_OK);
    CHECK_MSG(run_until(queued_one, NULL, 3000), "the message waits in B's store");
    CHECK(B.seen[CHAT_PT_APP & 0xf] == apps + 1 && B.n_held == 1);
    CHECK(epoch_of(&B, ch, bob) == e0 && count_content(&B, bob, ch, "from the future") == 0);
    frame_copy future = {0};
    sp_buf_init(&future.payload);
    copy_frame(&future, &(net_msg){.origin = B.last_app.origin, .seq = B.last_app.seq, .ptype = CHAT_PT_APP,
                                   .payload = {B.last_app.payload.data, B.last_app.payload.len}});

    /* B restarts while the message waits: it is still waiting afterwards */
    dmn_stop(&B);
    dmn_start(&B);
    link_up(&A, &B);
    run_for(100);
    CHECK_MSG(queue_len(&B, 'a', ch) == 1, "still waiting after a restart");
    CHECK(count_content(&B, bob, ch, "from the future") == 0 && epoch_of(&B, ch, bob) == e0);

    /* the commit arrives, and B "crashes" right after handing it up: nothing more runs. (An engine
     * without a node, freed at once: what it had not written is dropped. A node would flush.) */
    dmn_stop(&B);
    bare_deliver(&B, &B.held[0]);
    dmn_start(&B);
    link_up(&A, &B);
    CHECK(epoch_of(&B, ch, bob) == e0 + 1);
    has_arg h = {&B, bob, ch, "from the future", 1};
    CHECK_MSG(run_until(has, &h, 3000), "the waiting message is stored once its commit is applied");
    CHECK(queue_len(&B, 'a', ch) == 0);
    /* repeats of the message and of the commit change nothing */
    snapshot s0 = snap(&B, ch, bob);
    deliver(&B, &future);
    deliver(&B, &B.held[0]);
    run_for(50);
    CHECK(same(s0, snap(&B, ch, bob)) && count_content(&B, bob, ch, "from the future") == 1);
    B.hold = 0;
    for (size_t i = 0; i < B.n_held; i++)
        sp_buf_free(&B.held[i].payload);
    B.n_held = 0;
    sp_buf_free(&future.payload);
    /* everyone in the same epoch: bob's next message reaches alice and carol's daemon */
    CHECK(send_text(&B, bob, ch, "bob in the new epoch") == SP_OK);
    has_arg h2 = {&A, carol, ch, "bob in the new epoch", 1};
    CHECK(run_until(has, &h2, 3000));
}

static int held_app(void *arg)
{
    return ((dmn *)arg)->held_app.payload.len > 0;
}

/* The state a crash leaves between applying a commit and draining the queue: a row whose epoch is
 * reached. The restarted daemon drains it by itself. */
static void test_resume_drain(void)
{
    B.hold_app = 1;
    CHECK(send_text(&A, alice, ch, "waiting at a crash") == SP_OK);
    CHECK(run_until(held_app, &B, 3000));
    B.hold_app = 0;
    dmn_stop(&B);
    char path[400], why[200], q[80];
    snprintf(path, sizeof path, "%s/spacepanda.db", B.dir);
    snprintf(q, sizeof q, "a:%s", ch);
    CHECK(store_open(path, &B.db, why, sizeof why) == SP_OK);
    CHECK(store_outbox_add(B.db, q, B.held_app.origin, B.held_app.seq, CHAT_PT_APP, B.held_app.payload.data,
                           B.held_app.payload.len, NULL) == SP_OK);
    /* pending-commit rows that do not hold together are dropped at start, nothing else happens */
    uint8_t junk[64] = {1, 2};
    uint8_t trunc[] = {1, 3, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 9, 0, 0, 0, 36};
    CHECK(store_outbox_add(B.db, "pend", ch, 1, 3, junk, sizeof junk, NULL) == SP_OK);
    CHECK(store_outbox_add(B.db, "pend", "not-a-channel", 1, 3, junk, sizeof junk, NULL) == SP_OK);
    CHECK(store_outbox_add(B.db, "pend", ch, 1, 3, trunc, sizeof trunc, NULL) == SP_OK);
    store_close(B.db);
    B.db = NULL;
    dmn_start(&B);
    CHECK_MSG(count_content(&B, bob, ch, "waiting at a crash") == 1, "drained at start");
    CHECK(queue_len(&B, 'a', ch) == 0);
    store_frame *v = NULL;
    size_t n = 9;
    CHECK(store_outbox_list(B.db, "pend", 0, 10, &v, &n) == SP_OK && n == 0);
    store_frames_free(v, n);
    sp_buf_free(&B.held_app.payload);
    link_up(&A, &B);
}

static int n_prop_is(void *arg)
{
    return A.n_prop == (size_t)(intptr_t)arg;
}

static size_t pend_len(dmn *d)
{
    store_frame *v = NULL;
    size_t n = 0;
    if (store_outbox_list(d->db, "pend", 0, 100, &v, &n) != SP_OK)
        return (size_t)-1;
    store_frames_free(v, n);
    return n;
}

static uint64_t held_request(const frame_copy *f)
{
    chat_commit_msg m;
    return chat_commit_decode(f->payload.data, f->payload.len, &m) == SP_OK ? m.request_id : 0;
}

/* B's own commits, with the home daemon A holding B's proposals back. A refusal that is not a lost
 * race ends the operation (FAILED_PRECONDITION); a proposal that another commit beat is seen lost as
 * soon as that commit is applied, rebuilt on the new epoch and proposed again; the stale one, when
 * A finally gets it, is refused and changes nothing. */
static void test_lost_proposal(void)
{
    char msg[200], erin[37];
    int64_t e0 = epoch_of(&B, ch, bob);
    A.hold_propose = 1;
    A.n_prop = 0;
    commit_res r = {0};
    CHECK(chat_remove_member(B.c, bob, ch, carol, on_commit, &r, NULL, msg, sizeof msg) == SP_OK);
    CHECK(run_until(n_prop_is, (void *)(intptr_t)1, 3000));
    CHECK(pend_len(&B) == 1 && r.called == 0);
    /* "not the home daemon"-like: the orderer is not past our epoch, so trying again is useless */
    chat_reject_msg rj = {.epoch = (uint64_t)e0, .request_id = held_request(&A.held_prop[0]),
                          .current_epoch = (uint64_t)e0, .reason = {(const uint8_t *)"no", 2}};
    snprintf(rj.channel_id, sizeof rj.channel_id, "%s", ch);
    sp_buf b;
    sp_buf_init(&b);
    CHECK(chat_reject_encode(&rj, &b) == SP_OK);
    frame_copy f = {0};
    sp_buf_init(&f.payload);
    copy_frame(&f, &(net_msg){.origin = net_node_peer_id(A.node), .seq = 1, .ptype = CHAT_PT_COMMIT_REJECTED,
                              .unicast = 1, .payload = {b.data, b.len}});
    deliver(&B, &f);
    CHECK_MSG(r.called == 1 && r.err == SP_ERR_STATE, "refused for good: %s", sp_strerror(r.err));
    CHECK(pend_len(&B) == 0 && epoch_of(&B, ch, bob) == e0);
    deliver(&B, &f); /* a repeat: nothing to answer */
    commit_res_free(&r);

    /* lost to another commit: alice adds erin while bob's proposal is held */
    A.n_prop = 0;
    memset(&r, 0, sizeof r);
    CHECK(chat_remove_member(B.c, bob, ch, carol, on_commit, &r, NULL, msg, sizeof msg) == SP_OK);
    CHECK(run_until(n_prop_is, (void *)(intptr_t)1, 3000));
    make_user(&A, "erin", erin);
    commit_res ra = {0};
    CHECK(chat_add_member(A.c, alice, ch, erin, on_commit, &ra, NULL, msg, sizeof msg) == SP_OK);
    CHECK(run_until(commit_done, &ra, 3000) && ra.err == SP_OK);
    commit_res_free(&ra);
    CHECK_MSG(run_until(n_prop_is, (void *)(intptr_t)2, 3000), "B rebuilt its commit on the new epoch");
    CHECK(epoch_of(&B, ch, bob) == e0 + 1 && pend_len(&B) == 1 && r.called == 0);
    A.hold_propose = 0;
    deliver(&A, &A.held_prop[1]);
    CHECK(run_until(commit_done, &r, 3000) && r.err == SP_OK);
    commit_res_free(&r);
    CHECK(epoch_of(&B, ch, bob) == e0 + 2 && epoch_of(&A, ch, alice) == e0 + 2 && epoch_of(&A, ch, carol) == -1);
    CHECK(pend_len(&B) == 0);
    snapshot sa = snap(&A, ch, alice), sb = snap(&B, ch, bob);
    deliver(&A, &A.held_prop[0]); /* the stale proposal: refused */
    deliver(&A, &A.held_prop[1]); /* the accepted one again: ignored */
    run_for(100);
    CHECK(same(sa, snap(&A, ch, alice)) && same(sb, snap(&B, ch, bob)) && pend_len(&B) == 0);
    CHECK(send_text(&B, bob, ch, "carol is gone") == SP_OK);
    has_arg h = {&A, erin, ch, "carol is gone", 1};
    CHECK(run_until(has, &h, 3000));
    for (size_t i = 0; i < A.n_prop; i++)
        sp_buf_free(&A.held_prop[i].payload);
    A.n_prop = 0;
    sp_buf_free(&f.payload);
    sp_buf_free(&b);
}

static int ended(void *arg)
{
    return ((sub_res *)arg)->ended;
}

static void test_remove(void)
{
    char msg[200];
    sub_res sb = {0};
    chat_sub *s = NULL;
    CHECK(chat_subscribe(B.c, bob, ch, on_sub, &sb, &s) == SP_OK);
    commit_res r = {0};
    CHECK(chat_remove_member(A.c, alice, ch, bob, on_commit, &r, NULL, msg, sizeof msg) == SP_OK);
    CHECK(run_until(commit_done, &r, 3000) && r.err == SP_OK);
    commit_res_free(&r);
    run_until(ended, &sb, 3000);
    CHECK_MSG(sb.ended == 1, "bob's stream ends when he is removed");
    CHECK(epoch_of(&B, ch, bob) == -1);
    CHECK(chat_send(B.c, bob, ch, "may I?", on_send, NULL, NULL) == SP_ERR_PERMISSION);
    int64_t seq = last_seq(&B, ch);
    CHECK(send_text(&A, alice, ch, "after bob left") == SP_OK);
    run_for(200);
    CHECK(last_seq(&B, ch) == seq && queue_len(&B, 'a', ch) == 0);
    /* he keeps what he had */
    CHECK(count_content(&B, bob, ch, "hello bob") == 1 && count_content(&B, bob, ch, "after bob left") == 0);
}

static int knows_dave(void *arg)
{
    const char *dave = arg;
    char *peer = NULL, *name = NULL;
    int ok = store_known_user_get(A.db, dave, &peer, &name) == SP_OK;
    free(peer);
    free(name);
    peer = name = NULL;
    ok = ok && store_known_user_get(B.db, dave, &peer, &name) == SP_OK;
    free(peer);
    free(name);
    return ok;
}

typedef struct {
    const char *ch1, *ch2, *user;
} two_chans;

static int in_both(void *arg)
{
    two_chans *t = arg;
    return epoch_of(&Z, t->ch1, t->user) >= 0 && epoch_of(&Z, t->ch2, t->user) >= 0;
}

static int grace_over(void *arg)
{
    char owner[37];
    uint8_t *kp = NULL, *priv = NULL;
    size_t kp_len = 0, priv_len = 0;
    sp_err e = store_keypkg_get(Z.db, arg, 32, owner, &kp, &kp_len, &priv, &priv_len);
    free(kp);
    free(priv);
    return e == SP_ERR_NOT_FOUND;
}

/* A and B take the same directory key package of dave (on Z) at the same moment — B has not heard
 * A's KP_USED — each adding him to a channel of its own. Z joins both: the key package stays
 * joinable for a grace period after its first use, then its private keys are deleted. */
static void test_kp_race(void)
{
    char dave[37], ch2[65], msg[200];
    snprintf(Z.dir, sizeof Z.dir, "%s/z", tmpdir);
    mkdir(Z.dir, 0700);
    dmn_start(&Z);
    make_user(&Z, "dave", dave);
    snprintf(Z.watch_joiner, sizeof Z.watch_joiner, "%s", dave);
    B.hold_used = 1;
    link_up(&Z, &A);
    link_up(&Z, &B);
    CHECK_MSG(run_until(knows_dave, dave, 5000), "A and B have dave's key packages");
    char space2[65];
    new_channel(&B, bob, "Bob's", "random", space2, ch2);
    commit_res ra = {0}, rb = {0};
    CHECK(chat_add_member(A.c, alice, ch, dave, on_commit, &ra, NULL, msg, sizeof msg) == SP_OK);
    CHECK(chat_add_member(B.c, bob, ch2, dave, on_commit, &rb, NULL, msg, sizeof msg) == SP_OK);
    CHECK(run_until(commit_done, &ra, 3000) && ra.err == SP_OK);
    CHECK(run_until(commit_done, &rb, 3000) && rb.err == SP_OK);
    commit_res_free(&ra);
    commit_res_free(&rb);
    two_chans t = {ch, ch2, dave};
    CHECK_MSG(run_until(in_both, &t, 5000), "dave's daemon joined both channels");
    CHECK_MSG(Z.n_welcomes == 2 && memcmp(Z.welcome_ref[0], Z.welcome_ref[1], 32) == 0,
              "both Welcomes were made for one key package (%d seen)", Z.n_welcomes);
    CHECK(send_text(&A, alice, ch, "to dave in general") == SP_OK);
    CHECK(send_text(&B, bob, ch2, "to dave in random") == SP_OK);
    has_arg h1 = {&Z, dave, ch, "to dave in general", 1}, h2 = {&Z, dave, ch2, "to dave in random", 1};
    CHECK(run_until(has, &h1, 3000) && run_until(has, &h2, 3000));
    CHECK(send_text(&Z, dave, ch2, "dave in random") == SP_OK);
    has_arg h3 = {&B, bob, ch2, "dave in random", 1};
    CHECK(run_until(has, &h3, 3000));
    if (Z.n_welcomes >= 1)
        CHECK_MSG(run_until(grace_over, Z.welcome_ref[0], 5000), "the key package is deleted after the grace period");
    B.hold_used = 0;
    dmn_stop(&Z);
}

/* A message reaches B for a channel in which B has no member yet, before the commit whose Welcome
 * adds one (here the commit is held back; in a mesh it can come a moment later by another path):
 * B keeps it, as ciphertext, in the channel's waiting queue, and stores it once the member joins.
 * A malformed one for an unknown channel is not kept. */
typedef struct {
    const char *ch;
    size_t want;
} qlen_arg;

static int b_queue_is(void *arg)
{
    qlen_arg *q = arg;
    return queue_len(&B, 'a', q->ch) == q->want;
}

static int b_knows(void *arg)
{
    char *peer = NULL, *name = NULL;
    int ok = store_known_user_get(A.db, arg, &peer, &name) == SP_OK;
    free(peer);
    free(name);
    return ok;
}

static char erin_ch[65], erin_id[37]; /* test_orphan's channel and its member on B, for later tests */

static void test_orphan(void)
{
    char erin[37], ch3[65], msg[200];
    make_user(&B, "erin", erin);
    CHECK_MSG(run_until(b_knows, erin, 5000), "A has erin's key package");
    store_channel sc;
    memset(&sc, 0, sizeof sc);
    CHECK(chat_channel_create(A.sp, alice, space_id, "orphans", "", 0, &sc) == SP_OK);
    snprintf(ch3, sizeof ch3, "%s", sc.id);
    store_channel_clear(&sc);
    B.hold = 1;
    B.n_held = 0;
    commit_res r = {0};
    CHECK(chat_add_member(A.c, alice, ch3, erin, on_commit, &r, NULL, msg, sizeof msg) == SP_OK);
    CHECK(run_until(commit_done, &r, 3000) && r.err == SP_OK);
    commit_res_free(&r);
    CHECK(send_text(&A, alice, ch3, "before erin's welcome") == SP_OK);
    qlen_arg one = {ch3, 1};
    CHECK_MSG(run_until(b_queue_is, &one, 3000), "B keeps the message of a channel it has no member in yet");
    CHECK_MSG(epoch_of(&B, ch3, erin) == -1 && count_content(&B, erin, ch3, "before erin's welcome") == -1,
              "erin is not in yet: no state, no readable channel (epoch %lld)", (long long)epoch_of(&B, ch3, erin));
    store_message *none_v = NULL;
    size_t none_n = 0;
    CHECK(store_messages_before(B.db, ch3, NULL, 10, &none_v, &none_n) == SP_OK && none_n == 0);
    store_messages_free(none_v, none_n);
    CHECK_MSG(B.n_held == 1, "the commit with erin's Welcome is held (%zu)", B.n_held);
    /* junk for a channel nobody knows is not kept */
    frame_copy junk = {0};
    sp_buf_init(&junk.payload);
    chat_app_msg am;
    memset(&am, 0, sizeof am);
    snprintf(am.channel_id, sizeof am.channel_id, "%s",
             "abababababababababababababababababababababababababababababababab");
    am.epoch = 3;
    am.message.ptr = (const uint8_t *)"not an MLS message";
    am.message.len = 18;
    CHECK(chat_app_encode(&am, &junk.payload) == SP_OK);
    snprintf(junk.origin, sizeof junk.origin, "%s", B.held[0].origin);
    junk.seq = 999999;
    junk.ptype = CHAT_PT_APP;
    deliver(&B, &junk);
    CHECK(queue_len(&B, 'a', am.channel_id) == 0);
    sp_buf_free(&junk.payload);
    /* the Welcome arrives: erin joins and the kept message is stored, once */
    deliver(&B, &B.held[0]);
    has_arg h = {&B, erin, ch3, "before erin's welcome", 1};
    CHECK_MSG(run_until(has, &h, 3000), "erin has the message sent before her Welcome arrived");
    qlen_arg none = {ch3, 0};
    CHECK(run_until(b_queue_is, &none, 3000));
    B.hold = 0;
    for (size_t i = 0; i < B.n_held; i++)
        sp_buf_free(&B.held[i].payload);
    B.n_held = 0;
    snprintf(erin_ch, sizeof erin_ch, "%s", ch3);
    snprintf(erin_id, sizeof erin_id, "%s", erin);
}

/* Makes d's store refuse (or again accept) messages with this content: a trigger on the messages
 * table, put there through a connection of the test's own, fails the group commit at once. */
static void refuse_content(dmn *d, const char *content, int on)
{
    char path[400], sql[300];
    snprintf(path, sizeof path, "%s/spacepanda.db", d->dir);
    sqlite3 *db = NULL;
    CHECK(sqlite3_open(path, &db) == SQLITE_OK);
    sqlite3_busy_timeout(db, 2000);
    if (on)
        snprintf(sql, sizeof sql, "CREATE TRIGGER refuse BEFORE INSERT ON messages WHEN NEW.content = '%s' "
                                  "BEGIN SELECT RAISE(ABORT, 'refused by the test'); END;", content);
    else
        snprintf(sql, sizeof sql, "DROP TRIGGER refuse;");
    CHECK_MSG(sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK, "%s", sqlite3_errmsg(db));
    sqlite3_close(db);
}

/* A group commit that cannot be written, after the send's frame has left (sends leave before
 * their commit): it is written again every CHAT_STORE_RETRY_MS, and the send is answered only once
 * it is stored; B has it exactly once. If the store keeps failing for cfg.store_retry_ms, the send
 * is answered with the error (B, which got the frame, keeps it), and the sending ratchet skips
 * past the generation it used: the next message reaches B (a reused generation would be dropped
 * there as a repeat). Nothing of this is half-written on A. */
static void test_store_failure(void)
{
    /* a failure that passes */
    refuse_content(&A, "stored late", 1);
    send_res r = {0};
    CHECK(chat_send(A.c, alice, ch, "stored late", on_send, &r, NULL) == SP_OK);
    has_arg at_b = {&B, bob, ch, "stored late", 1};
    CHECK_MSG(run_until(has, &at_b, 3000), "the frame left before its commit: B stores the message");
    run_for(600); /* a few failed tries */
    CHECK_MSG(!r.called, "not answered while the store refuses it");
    CHECK(count_content(&A, alice, ch, "stored late") == 0);
    refuse_content(&A, "stored late", 0);
    CHECK_MSG(run_until(send_done, &r, 3000), "answered once the store takes it");
    CHECK_MSG(r.err == SP_OK, "with success (%s)", sp_strerror(r.err));
    CHECK(count_content(&A, alice, ch, "stored late") == 1);
    run_for(100);
    CHECK_MSG(count_content(&B, bob, ch, "stored late") == 1, "B has it exactly once");

    /* a failure that lasts longer than store_retry_ms */
    refuse_content(&A, "never stored", 1);
    send_res r2 = {0};
    CHECK(chat_send(A.c, alice, ch, "never stored", on_send, &r2, NULL) == SP_OK);
    CHECK_MSG(run_until(send_done, &r2, 6000), "the send is answered");
    CHECK_MSG(r2.err != SP_OK, "with an error (%s)", sp_strerror(r2.err));
    refuse_content(&A, "never stored", 0);
    CHECK(count_content(&A, alice, ch, "never stored") == 0);
    has_arg left = {&B, bob, ch, "never stored", 1};
    CHECK_MSG(run_until(has, &left, 3000), "B keeps the frame that had left");
    CHECK(send_text(&A, alice, ch, "stored after") == SP_OK);
    has_arg h = {&B, bob, ch, "stored after", 1};
    CHECK_MSG(run_until(has, &h, 3000), "the next message is stored and reaches B (the ratchet skipped ahead)");
    CHECK(count_content(&A, alice, ch, "stored after") == 1);

    /* a receiving daemon whose group commit fails keeps what it read and writes it again */
    refuse_content(&B, "read late", 1);
    CHECK(send_text(&A, alice, ch, "read late") == SP_OK);
    run_for(600);
    CHECK_MSG(count_content(&B, bob, ch, "read late") == 0, "B cannot store it yet");
    refuse_content(&B, "read late", 0);
    has_arg late = {&B, bob, ch, "read late", 1};
    CHECK_MSG(run_until(has, &late, 3000), "B stores it once its store takes it again");
    CHECK(send_text(&A, alice, ch, "read after") == SP_OK);
    has_arg after = {&B, bob, ch, "read after", 1};
    CHECK_MSG(run_until(has, &after, 3000), "and reads the next message");
    run_for(100);
    CHECK(count_content(&B, bob, ch, "read late") == 1);
}

/* A daemon that cannot record that it is running (a trigger refuses the write) would not know,
 * after a crash, that sends may have left before their commit: so none does. A send's frame
 * leaves only once its commit is durable; it is answered and reaches B as usual. */
static void refuse_meta(dmn *d, int on)
{
    char path[400];
    snprintf(path, sizeof path, "%s/spacepanda.db", d->dir);
    sqlite3 *db = NULL;
    CHECK(sqlite3_open(path, &db) == SQLITE_OK);
    sqlite3_busy_timeout(db, 2000);
    const char *sql = on ? "CREATE TRIGGER refuse_meta BEFORE INSERT ON meta WHEN NEW.key = 'stop:clean' "
                           "BEGIN SELECT RAISE(ABORT, 'refused by the test'); END;"
                         : "DROP TRIGGER refuse_meta;";
    CHECK_MSG(sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK, "%s", sqlite3_errmsg(db));
    sqlite3_close(db);
}

/* Restarts A with the record refused (on) or allowed, sends text: how many frames left before
 * the commit right after chat_send; the send is answered OK and B has the message. */
static size_t send_after_restart(int refuse, const char *text)
{
    dmn_stop(&A);
    refuse_meta(&A, refuse);
    dmn_start(&A);
    link_up(&A, &B);
    send_res r = {0};
    CHECK(chat_send(A.c, alice, ch, text, on_send, &r, NULL) == SP_OK);
    size_t early = net_node_early_count(A.node);
    CHECK_MSG(run_until(send_done, &r, 3000) && r.err == SP_OK, "answered (%s)", sp_strerror(r.err));
    has_arg h = {&B, bob, ch, text, 1};
    CHECK_MSG(run_until(has, &h, 3000), "B has \"%s\"", text);
    return early;
}

static void test_no_running_record(void)
{
    CHECK_MSG(send_after_restart(1, "not early") == 0, "no frame left before its commit");
    /* and once the record works again, sends leave early again */
    CHECK_MSG(send_after_restart(0, "early again") == 1, "the frame left before its commit");
}

/* When a send's group commit runs, on a daemon of its own (T: no link, so nothing received
 * commits its batch early; a 1,200 ms window): once no other send came for a third of the window,
 * and at most the window after the first send. A lone send is answered after ~400 ms, not 1,200;
 * sends ~100 ms apart keep the batch open until the cap and are answered together. */
static void test_send_commit_timing(void)
{
    static dmn T = {.name = "T", .send_commit_ms = 1200, .kp_publish_ms = 60000};
    char tina[37];
    snprintf(T.dir, sizeof T.dir, "%s/t", tmpdir);
    mkdir(T.dir, 0700);
    dmn_start(&T);
    make_user(&T, "tina", tina);
    char solo[65], notes[65];
    new_channel(&T, tina, "Solo", "notes", solo, notes);
    run_for(100);
    send_res lone = {0};
    uint64_t t0 = sp_monotonic_ms();
    CHECK(chat_send(T.c, tina, notes, "alone", on_send, &lone, NULL) == SP_OK);
    CHECK(run_until(send_done, &lone, 3000) && lone.err == SP_OK);
    uint64_t took = sp_monotonic_ms() - t0;
    CHECK_MSG(took >= 350 && took < 1100, "a lone send is committed after a third of the window (%llu ms)",
              (unsigned long long)took);
    /* a send every ~100 ms for 1.1 s: one batch, committed at the cap (the quiet deadline keeps
     * moving), all answered together */
    send_res s[16];
    memset(s, 0, sizeof s);
    size_t n = 0;
    t0 = sp_monotonic_ms();
    do {
        char text[32];
        snprintf(text, sizeof text, "stream %zu", n);
        CHECK(chat_send(T.c, tina, notes, text, on_send, &s[n], NULL) == SP_OK);
        n++;
        run_for(100);
    } while (sp_monotonic_ms() - t0 < 1100 && n < 16);
    CHECK(run_until(send_done, &s[n - 1], 3000));
    uint64_t first = s[0].at - t0;
    int together = 1;
    for (size_t i = 0; i < n; i++)
        together = together && s[i].called && s[i].err == SP_OK && s[i].at >= s[0].at && s[i].at - s[0].at < 50;
    CHECK_MSG(first >= 1150 && first < 1380, "a steady stream is committed at the cap (%llu ms)",
              (unsigned long long)first);
    CHECK_MSG(together, "its %zu sends are answered together", n);
    dmn_stop(&T);
    sp_buf_free(&T.last_app.payload);
    sp_buf_free(&T.last_acc.payload);
}

/* A well-framed application message for channel_id in epoch (group id and epoch match, the
 * ciphertext is noise: it passes the framing check but no one can read it), as from origin. */
static void framed_app(frame_copy *f, const char *origin, uint64_t seq, const char *channel_id, uint64_t epoch)
{
    uint8_t gid[32], noise[48];
    memset(noise, 0x5a, sizeof noise);
    mls_message m;
    memset(&m, 0, sizeof m);
    m.version = MLS_VERSION_10;
    m.wire_format = MLS_WIRE_PRIVATE_MESSAGE;
    m.private_message.epoch = epoch;
    m.private_message.content_type = MLS_CONTENT_APPLICATION;
    sp_buf mb = SP_BUF_INIT;
    int ok = sp_hex_decode(channel_id, 64, gid, sizeof gid) == SP_OK &&
             mls_bytes_set(&m.private_message.group_id, gid, sizeof gid) == SP_OK &&
             mls_bytes_set(&m.private_message.encrypted_sender_data, noise, sizeof noise) == SP_OK &&
             mls_bytes_set(&m.private_message.ciphertext, noise, sizeof noise) == SP_OK &&
             mls_message_write(&mb, &m) == SP_OK;
    mls_message_free(&m);
    chat_app_msg am;
    memset(&am, 0, sizeof am);
    snprintf(am.channel_id, sizeof am.channel_id, "%s", channel_id);
    am.epoch = epoch;
    am.message = sp_buf_slice(&mb);
    sp_buf_free(&f->payload);
    sp_buf_init(&f->payload);
    ok = ok && chat_app_encode(&am, &f->payload) == SP_OK;
    sp_buf_free(&mb);
    if (!ok)
        CHECK_MSG(0, "cannot build a framed message");
    snprintf(f->origin, sizeof f->origin, "%s", origin);
    f->seq = seq;
    f->ptype = CHAT_PT_APP;
    f->unicast = 0;
}

static size_t orphan_rows(dmn *d)
{
    sqlite3 *db = NULL;
    char path[400];
    snprintf(path, sizeof path, "%s/spacepanda.db", d->dir);
    sqlite3_stmt *st = NULL;
    size_t n = (size_t)-1;
    if (sqlite3_open(path, &db) != SQLITE_OK) {
        sqlite3_close(db);
        return n;
    }
    if (sqlite3_prepare_v2(db, "SELECT count(*) FROM outbox WHERE dest_peer LIKE 'a:%' AND substr(dest_peer, 3) "
                               "NOT IN (SELECT channel_id FROM channels)", -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        n = (size_t)sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return n;
}

/* A linked daemon can send well-framed messages that can never be read: for a far epoch of a
 * channel we are in, or for channels nobody here joined. Each channel's waiting queue keeps at
 * most wait_max of them; across unknown channels at most wait_max a minute are kept, and they
 * expire after ORPHAN_KEEP_MS (aged here by hand) through the periodic sweep. The channel goes on
 * working. */
static int orphans_gone(void *arg)
{
    return orphan_rows(arg) == 0;
}

static void test_wait_bounds(void)
{
    const char *origin = B.held[0].origin[0] ? B.held[0].origin : net_node_peer_id(A.node);
    int64_t top = epoch_of(&B, erin_ch, erin_id);
    size_t before = queue_len(&B, 'a', erin_ch);
    frame_copy f = {0};
    sp_buf_init(&f.payload);
    for (int i = 0; i < WAIT_MAX + 10; i++) {
        framed_app(&f, origin, 5000000 + (uint64_t)i, erin_ch, (uint64_t)top + 50);
        deliver(&B, &f);
    }
    CHECK_MSG(queue_len(&B, 'a', erin_ch) == (size_t)WAIT_MAX, "the channel's waiting queue stops at wait_max (%zu, %zu before)",
              queue_len(&B, 'a', erin_ch), before);
    /* unknown channels */
    size_t orphans0 = orphan_rows(&B);
    for (int i = 0; i < WAIT_MAX + 10; i++) {
        char other[65];
        for (int k = 0; k < 64; k++)
            other[k] = "0123456789abcdef"[(i * 7 + k * 13 + (k == 0 ? i : 0)) & 15];
        other[64] = '\0';
        other[0] = 'f', other[1] = 'e', other[2] = "0123456789abcdef"[i & 15], other[3] = "0123456789abcdef"[(i >> 4) & 15];
        framed_app(&f, origin, 6000000 + (uint64_t)i, other, 1);
        deliver(&B, &f);
    }
    size_t orphans = orphan_rows(&B);
    CHECK_MSG(orphans - orphans0 <= (size_t)WAIT_MAX && orphans - orphans0 >= (size_t)WAIT_MAX / 2,
              "at most wait_max kept a minute for channels nobody here joined (%zu new)", orphans - orphans0);
    sp_buf_free(&f.payload);
    /* age them: the sweep (every kp_publish_ms) removes them, and nothing of the known channel */
    char path[400];
    snprintf(path, sizeof path, "%s/spacepanda.db", B.dir);
    sqlite3 *db = NULL;
    CHECK(sqlite3_open(path, &db) == SQLITE_OK);
    sqlite3_busy_timeout(db, 2000);
    CHECK(sqlite3_exec(db, "UPDATE outbox SET created_at = created_at - 120000 WHERE dest_peer LIKE 'a:%'", NULL, NULL,
                       NULL) == SQLITE_OK);
    sqlite3_close(db);
    CHECK_MSG(run_until(orphans_gone, &B, 3000), "the sweep removes the expired ones (%zu left)", orphan_rows(&B));
    CHECK_MSG(queue_len(&B, 'a', erin_ch) == (size_t)WAIT_MAX, "the known channel's queue is not swept");
    CHECK(send_text(&A, alice, erin_ch, "after the flood") == SP_OK);
    has_arg h = {&B, erin_id, erin_ch, "after the flood", 1};
    CHECK_MSG(run_until(has, &h, 3000), "the channel still works");
}

int main(void)
{
    sp_log_set_level(SP_LOG_ERROR);
    snprintf(tmpdir, sizeof tmpdir, "/tmp/sp-chanXXXXXX");
    CHECK(mkdtemp(tmpdir) != NULL);
    base = event_base_new();
    snprintf(A.dir, sizeof A.dir, "%s/a", tmpdir);
    snprintf(B.dir, sizeof B.dir, "%s/b", tmpdir);
    mkdir(A.dir, 0700);
    mkdir(B.dir, 0700);
    dmn_start(&A);
    dmn_start(&B);
    make_user(&A, "alice", alice);
    make_user(&A, "carol", carol);
    make_user(&B, "bob", bob);
    link_up(&A, &B);

    new_channel(&A, alice, "Team", "general", space_id, ch);
    CHECK(epoch_of(&A, ch, alice) == 0);

    test_errors_before_join();
    test_invite_join_send();
    test_hostile_payloads();
    test_store_failure();
    test_no_running_record();
    test_send_commit_timing();
    test_future_epoch();
    test_resume_drain();
    test_lost_proposal();
    test_remove();
    test_kp_race();
    test_orphan();
    test_wait_bounds(); /* last: it fills B's queues and this minute's orphan allowance */

    dmn_stop(&B);
    dmn_stop(&A);
    sp_buf_free(&A.last_app.payload);
    sp_buf_free(&A.last_acc.payload);
    sp_buf_free(&B.last_acc.payload);
    sp_buf_free(&Z.last_app.payload);
    sp_buf_free(&Z.last_acc.payload);
    sp_buf_free(&B.last_app.payload);
    event_base_free(base);
    tmpdir_remove(tmpdir);
    return check_done();
}
