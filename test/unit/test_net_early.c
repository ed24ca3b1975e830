/*
 * test_net_early.c — frames of ours relayed before they are logged (net_node_send_early,
 * net_node_log_early, net_node_early_logged, net_node_early_count), over real loopback links
 * between three nodes on one event_base. Node A logs in a real sqlite file (net_persist_sqlite,
 * behind a thin wrapper that counts A's appends of its own frames and can make them fail);
 * B and C keep theirs in memory.
 *
 * Covered: an early frame reaches a live link with its origin, sequence, type and payload, and is
 * not in A's log until log_early + flush + early_logged(1); a link that comes up meanwhile gets it
 * through catch-up (with and without frames of ours in the log), exactly once, and nothing twice
 * after it is logged; a failed append or commit keeps the frames for the next try (early_logged(0),
 * then a new append, SP_ERR_EXISTS tolerated); one sequence counter for early and logged frames (no
 * reuse, no gap, also across an oversized payload, which is SP_ERR_TOO_LARGE); what was logged is in
 * the file after the node is gone.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "base/log.h"
#include "check.h"
#include "loop.h"
#include "tmpdir.h"
#include "net/frame.h"
#include "net/node.h"

CHECK_MAIN_DEFS

#define N 3
#define MAXS 64

enum { A, B, C };

typedef struct {
    net_identity *id;
    net_persist *p;
    net_node *node;
    int got[MAXS + 1];        /* deliveries of A's frames, by seq */
    uint16_t ptype[MAXS + 1]; /* the last one's type and payload, by seq */
    char payload[MAXS + 1][32];
    size_t plen[MAXS + 1];
    int other; /* deliveries of other origins, or past MAXS */
} tnode;

static struct event_base *base;
static tnode nodes[N];

/* ---- A's persist: sqlite, with its own appends counted and failable ---------------------- */

typedef struct {
    net_persist *in;
    const uint8_t *me;
    int own_appends;  /* frame_append calls for origin me */
    int own_exists;   /* ... of which answered SP_ERR_EXISTS */
    sp_err fail_own;  /* non-zero: appends of ours fail with this, nothing stored */
} wrap_ctx;

static wrap_ctx wrap;
static net_persist wrapped;

static sp_err w_peer_save(void *c, const char *a, const char *id, int pin)
{
    wrap_ctx *w = c;
    return w->in->peer_save(w->in->ctx, a, id, pin);
}
static sp_err w_peer_list(void *c, net_peer_cb cb, void *arg)
{
    wrap_ctx *w = c;
    return w->in->peer_list(w->in->ctx, cb, arg);
}
static sp_err w_append(void *c, const uint8_t origin[NET_PUBKEY_LEN], uint64_t seq, const uint8_t *body, size_t len)
{
    wrap_ctx *w = c;
    int own = w->me && !memcmp(origin, w->me, NET_PUBKEY_LEN);
    if (own) {
        w->own_appends++;
        if (w->fail_own)
            return w->fail_own;
    }
    sp_err e = w->in->frame_append(w->in->ctx, origin, seq, body, len);
    if (own && e == SP_ERR_EXISTS)
        w->own_exists++;
    return e;
}
static sp_err w_seen(void *c, const uint8_t origin[NET_PUBKEY_LEN], uint64_t seq, int *seen)
{
    wrap_ctx *w = c;
    return w->in->frame_seen(w->in->ctx, origin, seq, seen);
}
static sp_err w_after(void *c, const uint8_t origin[NET_PUBKEY_LEN], uint64_t after, size_t max, net_frame_cb cb,
                      void *arg)
{
    wrap_ctx *w = c;
    return w->in->frames_after(w->in->ctx, origin, after, max, cb, arg);
}
static sp_err w_origins(void *c, net_origin_cb cb, void *arg)
{
    wrap_ctx *w = c;
    return w->in->origins(w->in->ctx, cb, arg);
}
static sp_err w_state(void *c, const uint8_t origin[NET_PUBKEY_LEN], uint64_t *contig, uint64_t *max)
{
    wrap_ctx *w = c;
    return w->in->origin_state(w->in->ctx, origin, contig, max);
}
static sp_err w_flush(void *c)
{
    wrap_ctx *w = c;
    return w->in->flush(w->in->ctx);
}
static sp_err w_sync(void *c)
{
    wrap_ctx *w = c;
    return w->in->sync ? w->in->sync(w->in->ctx) : w->in->flush(w->in->ctx);
}

/* A's log as A's persist sees it: the highest sequence of A held, and whether seq is held. */
static uint64_t a_max(void)
{
    uint64_t contig = 0, max = 0;
    CHECK(wrapped.origin_state(wrapped.ctx, net_identity_pubkey(nodes[A].id), &contig, &max) == SP_OK);
    return max;
}
static int a_holds(uint64_t seq)
{
    int seen = -1;
    CHECK(wrapped.frame_seen(wrapped.ctx, net_identity_pubkey(nodes[A].id), seq, &seen) == SP_OK);
    return seen == 1;
}

/* ---- nodes and the loop (as in test_net_node.c) ----------------------------------------- */

static void on_msg(void *arg, const net_msg *m)
{
    tnode *t = arg;
    if (nodes[A].node && !strcmp(m->origin, net_node_peer_id(nodes[A].node)) && m->seq <= MAXS) {
        t->got[m->seq]++;
        t->ptype[m->seq] = m->ptype;
        t->plen[m->seq] = m->payload.len;
        memcpy(t->payload[m->seq], m->payload.ptr, m->payload.len < 32 ? m->payload.len : 32);
    } else {
        t->other++;
    }
}

static void start(int i, const char *sqlite_path)
{
    tnode *t = &nodes[i];
    memset(t, 0, sizeof *t);
    net_identity_generate(&t->id);
    net_persist *p = NULL;
    if (sqlite_path) {
        CHECK(net_persist_sqlite_open(sqlite_path, &t->p) == SP_OK);
        wrap = (wrap_ctx){t->p, net_identity_pubkey(t->id), 0, 0, SP_OK};
        wrapped = (net_persist){&wrap, w_peer_save, w_peer_list, w_append, w_seen, w_after, w_origins, w_state,
                                w_flush, NULL, w_sync};
        p = &wrapped;
    } else {
        CHECK(net_persist_mem_new(&t->p) == SP_OK);
        p = t->p;
    }
    net_node_config cfg = {0};
    cfg.on_msg = on_msg;
    cfg.on_msg_arg = t;
    cfg.backoff_min_ms = 20;
    cfg.backoff_max_ms = 100;
    CHECK(net_node_new(base, t->id, p, &cfg, &t->node) == SP_OK);
}

static void stop(int i)
{
    net_node_free(nodes[i].node);
    nodes[i].node = NULL;
    net_persist_free(nodes[i].p);
    net_identity_free(nodes[i].id);
}

typedef loop_pred_fn pred_fn;
static int run_until(pred_fn p, void *arg, int ms) { return loop_run_until(base, p, arg, ms); }
static void sleep_ms(int ms) { loop_run_for(base, ms); }

static int connect_result = 99;
static void on_connect(void *arg, sp_err r, const char *msg)
{
    (void)arg, (void)msg;
    connect_result = r;
}
static int connect_done(void *arg)
{
    (void)arg;
    return connect_result != 99;
}

typedef struct {
    int a, b;
} pair;

static int linked(void *arg)
{
    pair *p = arg;
    char ids[N][NET_PEER_ID_LEN + 1];
    size_t n = net_node_links(nodes[p->a].node, ids, N);
    for (size_t i = 0; i < n && i < N; i++)
        if (!strcmp(ids[i], net_node_peer_id(nodes[p->b].node)))
            return 1;
    return 0;
}

/* a dials b; both sides see the link. */
static int link_up(int a, int b)
{
    char err[200];
    connect_result = 99;
    if (net_node_connect(nodes[a].node, net_node_listen_addr(nodes[b].node), on_connect, NULL, err, sizeof err))
        return 0;
    pair ab = {a, b}, ba = {b, a};
    return run_until(connect_done, NULL, 3000) && connect_result == SP_OK && run_until(linked, &ab, 2000) &&
           run_until(linked, &ba, 2000);
}

typedef struct {
    int node;
    uint64_t seq;
} got_arg;

static int got(void *arg)
{
    got_arg *g = arg;
    return nodes[g->node].got[g->seq] > 0;
}

static int received(int node, uint64_t seq, const char *payload, uint16_t ptype)
{
    got_arg g = {node, seq};
    if (!run_until(got, &g, 3000))
        return 0;
    tnode *t = &nodes[node];
    return t->ptype[seq] == ptype && t->plen[seq] == strlen(payload) && !memcmp(t->payload[seq], payload, t->plen[seq]);
}

/* Deliveries of A's frames 1..upto to node that were not exactly one. */
static int not_once(int node, uint64_t upto)
{
    int bad = 0;
    for (uint64_t s = 1; s <= upto; s++)
        bad += nodes[node].got[s] != 1;
    return bad;
}

/* The caller's commit: append, commit the log, forget (what chat/delivery.c does). */
static sp_err log_and_commit(net_node *n)
{
    sp_err e = net_node_log_early(n);
    if (!e)
        e = wrapped.flush(wrapped.ctx);
    net_node_early_logged(n, !e);
    return e;
}

static int file_origins;
static uint64_t file_contig, file_max;
static void count_origin(void *arg, const uint8_t origin[NET_PUBKEY_LEN], uint64_t contig, uint64_t max)
{
    (void)arg, (void)origin;
    file_origins++;
    file_contig = contig;
    file_max = max;
}

int main(void)
{
    sp_log_set_level(getenv("NET_TEST_DEBUG") ? SP_LOG_DEBUG : SP_LOG_ERROR);
    base = event_base_new();
    char dir[] = "/tmp/sp-test-early-XXXXXX";
    if (!mkdtemp(dir))
        return 1;
    char path[128];
    snprintf(path, sizeof path, "%s/net.db", dir);
    start(A, path);
    start(B, NULL);
    net_node *a = nodes[A].node;
    uint64_t seq = 0;

    /* 1. Before any link, nothing of ours in the log: the first early frame is number 1 and stays
     * in memory only. */
    CHECK(net_node_early_count(a) == 0);
    CHECK(net_node_send_early(a, 7, (const uint8_t *)"first", 5, &seq) == SP_OK && seq == 1);
    CHECK(net_node_early_count(a) == 1);
    CHECK(a_max() == 0 && !a_holds(1) && wrap.own_appends == 0);

    /* B links: the log has nothing of A to pump, the catch-up's end sends it from memory. */
    CHECK(link_up(B, A));
    CHECK_MSG(received(B, 1, "first", 7), "a link that came up after the early send gets it");

    /* 2. On a live link: B gets it with its origin, sequence, type and payload; A's log still does not
     * hold it. The sequence seq arg may be NULL. */
    sleep_ms(30);
    CHECK(net_node_send_early(a, 8, (const uint8_t *)"second", 6, NULL) == SP_OK);
    CHECK(nodes[B].got[2] == 0); /* written once the loop turn's callbacks are done, not before */
    CHECK(received(B, 2, "second", 8));
    CHECK(net_node_early_count(a) == 2);
    CHECK(a_max() == 0 && !a_holds(2) && wrap.own_appends == 0);

    /* 3. Logging: appended (not yet forgotten), committed, forgotten. */
    CHECK(net_node_log_early(a) == SP_OK);
    CHECK(wrap.own_appends == 2 && net_node_early_count(a) == 2);
    CHECK(net_node_log_early(a) == SP_OK);
    CHECK_MSG(wrap.own_appends == 2, "what is appended is not appended again (%d)", wrap.own_appends);
    CHECK(wrapped.flush(wrapped.ctx) == SP_OK);
    net_node_early_logged(a, 1);
    CHECK(net_node_early_count(a) == 0);
    CHECK(a_max() == 2 && a_holds(1) && a_holds(2));
    CHECK(net_node_log_early(a) == SP_OK && wrap.own_appends == 2); /* nothing left to append */
    net_node_early_logged(a, 1);
    net_node_early_logged(a, 0); /* with nothing held, both are no-ops */
    CHECK(net_node_early_count(a) == 0);

    /* 4. A failed append: log_early says so, early_logged(0) keeps the frame (still unlogged). */
    CHECK(net_node_send_early(a, 7, (const uint8_t *)"third", 5, &seq) == SP_OK && seq == 3);
    CHECK(received(B, 3, "third", 7));
    wrap.fail_own = SP_ERR_IO;
    CHECK(net_node_log_early(a) == SP_ERR_IO);
    net_node_early_logged(a, 0);
    CHECK(net_node_early_count(a) == 1 && !a_holds(3));
    /* committed=1 after a failed append forgets only what was appended: nothing here. */
    net_node_early_logged(a, 1);
    CHECK_MSG(net_node_early_count(a) == 1, "a frame whose append failed is kept even on committed=1");
    wrap.fail_own = SP_OK;
    /* A commit that failed after the append: kept, appended again next time. */
    int before = wrap.own_appends;
    CHECK(net_node_log_early(a) == SP_OK && wrap.own_appends == before + 1);
    net_node_early_logged(a, 0);
    CHECK(net_node_early_count(a) == 1);
    int exists = wrap.own_exists;
    CHECK(net_node_log_early(a) == SP_OK);
    CHECK_MSG(wrap.own_appends == before + 2, "after early_logged(0) the frame is appended again (%d calls)",
              wrap.own_appends - before);
    CHECK_MSG(wrap.own_exists == exists + 1, "that second append found it held: SP_ERR_EXISTS tolerated");
    CHECK(wrapped.flush(wrapped.ctx) == SP_OK);
    net_node_early_logged(a, 1);
    CHECK(net_node_early_count(a) == 0 && a_max() == 3);

    /* 5. One counter: a logged broadcast takes the next number, then early frames continue from it. */
    CHECK(net_node_send_early(a, 7, (const uint8_t *)"e4", 2, &seq) == SP_OK && seq == 4);
    CHECK(log_and_commit(a) == SP_OK);
    CHECK(net_node_broadcast(a, 9, (const uint8_t *)"b5", 2, &seq) == SP_OK && seq == 5);
    CHECK(net_node_send_early(a, 7, (const uint8_t *)"e6", 2, &seq) == SP_OK && seq == 6);
    CHECK(received(B, 4, "e4", 7) && received(B, 5, "b5", 9) && received(B, 6, "e6", 7));
    CHECK(a_max() == 5 && !a_holds(6));

    /* 6. Too large: refused, nothing sent, no number used (early or logged). */
    size_t big = (size_t)NET_PAYLOAD_MAX + 1;
    uint8_t *huge = calloc(1, big);
    CHECK(huge != NULL);
    if (huge) {
        uint64_t untouched = 12345;
        CHECK(net_node_send_early(a, 7, huge, big, &untouched) == SP_ERR_TOO_LARGE && untouched == 12345);
        CHECK(net_node_early_count(a) == 1);
        CHECK(net_node_broadcast(a, 7, huge, big, NULL) == SP_ERR_TOO_LARGE);
        /* the largest allowed payload goes, early */
        CHECK(net_node_send_early(a, 3, huge, NET_PAYLOAD_MAX, &seq) == SP_OK && seq == 7);
        got_arg g7 = {B, 7};
        CHECK(run_until(got, &g7, 5000) && nodes[B].plen[7] == NET_PAYLOAD_MAX && nodes[B].ptype[7] == 3);
        free(huge);
    }
    CHECK(net_node_send_early(a, 7, (const uint8_t *)"e8", 2, &seq) == SP_OK && seq == 8);
    CHECK(received(B, 8, "e8", 7));
    CHECK(net_node_early_count(a) == 3); /* 6, 7, 8 */
    CHECK(log_and_commit(a) == SP_OK && net_node_early_count(a) == 0 && a_max() == 8);

    /* 7. Catch-up with frames of ours in the log (1..8) and one not yet logged (9): C, linked to A
     * alone, gets all nine exactly once; logging 9 afterwards sends nothing again. */
    CHECK(net_node_send_early(a, 7, (const uint8_t *)"e9", 2, &seq) == SP_OK && seq == 9);
    CHECK(received(B, 9, "e9", 7));
    start(C, NULL);
    CHECK(link_up(C, A));
    CHECK(received(C, 9, "e9", 7));
    CHECK(received(C, 1, "first", 7) && received(C, 5, "b5", 9));
    sleep_ms(50);
    CHECK_MSG(not_once(C, 9) == 0, "C got A's 1..9 exactly once (%d not)", not_once(C, 9));
    CHECK(log_and_commit(a) == SP_OK && net_node_early_count(a) == 0 && a_max() == 9);
    /* and new ones reach both, early and logged alike */
    CHECK(net_node_send_early(a, 7, (const uint8_t *)"e10", 3, &seq) == SP_OK && seq == 10);
    CHECK(net_node_broadcast(a, 9, (const uint8_t *)"b11", 3, &seq) == SP_OK && seq == 11);
    CHECK(received(C, 10, "e10", 7) && received(C, 11, "b11", 9));
    CHECK(received(B, 10, "e10", 7) && received(B, 11, "b11", 9));
    CHECK(log_and_commit(a) == SP_OK);
    sleep_ms(100);
    CHECK_MSG(not_once(B, 11) == 0 && not_once(C, 11) == 0, "nothing delivered twice (B %d, C %d not once)",
              not_once(B, 11), not_once(C, 11));
    CHECK(nodes[B].got[12] == 0 && nodes[C].got[12] == 0 && nodes[B].other == 0 && nodes[C].other == 0);

    /* 7b. An early frame below a logged one (12 early, 13 logged): a link that catches up in
     * between gets both — the pump's cursor passes 12 when it sends 13 from the log, so the early
     * frames go at the switch to live whatever the cursor says. */
    CHECK(net_node_send_early(a, 7, (const uint8_t *)"e12", 3, &seq) == SP_OK && seq == 12);
    CHECK(net_node_broadcast(a, 9, (const uint8_t *)"b13", 3, &seq) == SP_OK && seq == 13);
    CHECK(received(B, 12, "e12", 7) && received(B, 13, "b13", 9));
    stop(C);
    start(C, NULL);
    CHECK(link_up(C, A));
    CHECK(received(C, 13, "b13", 9));
    CHECK_MSG(received(C, 12, "e12", 7), "a link that caught up past a logged 13 still gets the early 12");
    CHECK(log_and_commit(a) == SP_OK && net_node_early_count(a) == 0 && a_max() == 13);
    sleep_ms(50);
    CHECK_MSG(not_once(C, 13) == 0, "C got A's 1..13 exactly once (%d not)", not_once(C, 13));

    /* 8. An early frame never logged is dropped with the node (logged with a warning): the file
     * holds exactly what was committed. */
    CHECK(net_node_send_early(a, 7, (const uint8_t *)"lost", 4, &seq) == SP_OK && seq == 14);
    stop(C);
    stop(B);
    stop(A);
    net_persist *again = NULL;
    CHECK(net_persist_sqlite_open(path, &again) == SP_OK);
    if (again) {
        /* A's identity is gone; its frames are the only origin in this file. */
        CHECK(again->origins(again->ctx, count_origin, NULL) == SP_OK);
        CHECK_MSG(file_origins == 1 && file_contig == 13 && file_max == 13,
                  "the file holds A's 1..13 and not the unlogged 14 (%d origins, contig %llu, max %llu)", file_origins,
                  (unsigned long long)file_contig, (unsigned long long)file_max);
        net_persist_free(again);
    }
    event_base_free(base);
    tmpdir_remove(dir);
    return check_done();
}
