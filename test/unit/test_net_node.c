/* test_net_node.c — net_node over real loopback sockets, several nodes on one event_base:
 * chain and ring delivery counts, unicast, catch-up after a late link, backpressure with a tiny
 * output queue, /p2p/ pinning, self-links, and connect errors. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "base/log.h"
#include "check.h"
#include "loop.h"
#include "net/frame.h"
#include "net/node.h"

CHECK_MAIN_DEFS

#define N 4
#define MAXF 5000

typedef struct {
    net_identity *id;
    net_persist *p;
    net_node *node;
    int got[MAXF + 1]; /* deliveries per seq of origin 0 (by seq) */
    int got_other;     /* deliveries of other origins */
    int unicast;
    int total;
} tnode;

static struct event_base *base;
static tnode nodes[N];

static void on_msg(void *arg, const net_msg *m)
{
    tnode *t = arg;
    t->total++;
    if (m->unicast)
        t->unicast++;
    if (!strcmp(m->origin, net_node_peer_id(nodes[0].node)) && m->seq <= MAXF)
        t->got[m->seq]++;
    else
        t->got_other++;
}

static const char *listen_host;

static void start(int i, size_t outq)
{
    tnode *t = &nodes[i];
    memset(t->got, 0, sizeof t->got);
    t->got_other = t->unicast = t->total = 0;
    net_identity_generate(&t->id);
    net_persist_mem_new(&t->p);
    net_node_config cfg = {0};
    cfg.on_msg = on_msg;
    cfg.on_msg_arg = t;
    cfg.backoff_min_ms = 20;
    cfg.backoff_max_ms = 100;
    cfg.out_queue_max = outq;
    cfg.listen_host = listen_host;
    CHECK(net_node_new(base, t->id, t->p, &cfg, &t->node) == SP_OK);
}

static void stop(int i)
{
    net_node_free(nodes[i].node);
    net_persist_free(nodes[i].p);
    net_identity_free(nodes[i].id);
    nodes[i].node = NULL;
}

typedef loop_pred_fn pred_fn;
static int run_until(pred_fn p, void *arg, int ms) { return loop_run_until(base, p, arg, ms); }
static void sleep_ms(int ms) { loop_run_for(base, ms); }

static size_t links_of(int i) { return net_node_links(nodes[i].node, NULL, 0); }

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

static int connect_result = 99;
static char connect_msg[256];
static void on_connect(void *arg, sp_err r, const char *msg)
{
    (void)arg;
    connect_result = r;
    snprintf(connect_msg, sizeof connect_msg, "%s", msg);
}
static int connect_done(void *arg)
{
    (void)arg;
    return connect_result != 99;
}

static int do_connect(int a, int b, int pin)
{
    char addr[300];
    if (pin)
        snprintf(addr, sizeof addr, "%s/p2p/%s", net_node_listen_addr(nodes[b].node), net_node_peer_id(nodes[b].node));
    else
        snprintf(addr, sizeof addr, "%s", net_node_listen_addr(nodes[b].node));
    connect_result = 99;
    char err[200];
    CHECK(net_node_connect(nodes[a].node, addr, on_connect, NULL, err, sizeof err) == SP_OK);
    CHECK(run_until(connect_done, NULL, 3000));
    return connect_result;
}

typedef struct {
    int node;
    uint64_t upto;
} all_arg;

static int all_got(void *arg)
{
    all_arg *a = arg;
    for (uint64_t s = 1; s <= a->upto; s++)
        if (!nodes[a->node].got[s])
            return 0;
    return 1;
}

static void test_chain_and_ring(void)
{
    for (int i = 0; i < 3; i++)
        start(i, 0);
    CHECK(do_connect(0, 1, 1) == SP_OK);
    CHECK(do_connect(2, 1, 0) == SP_OK);
    pair p01 = {0, 1}, p10 = {1, 0}, p21 = {2, 1}, p12 = {1, 2};
    CHECK(run_until(linked, &p10, 2000) && run_until(linked, &p12, 2000));
    CHECK(linked(&p01) && linked(&p21));
    CHECK(links_of(0) == 1 && links_of(1) == 2 && links_of(2) == 1);
    /* connecting again to a linked peer is immediate success */
    CHECK(do_connect(0, 1, 0) == SP_OK && !strcmp(connect_msg, "already connected"));
    sleep_ms(50); /* let HAVE exchanges settle */

    uint64_t seq = 0;
    CHECK(net_node_broadcast(nodes[0].node, 5, (const uint8_t *)"hi", 2, &seq) == SP_OK && seq == 1);
    all_arg a2 = {2, 1};
    CHECK(run_until(all_got, &a2, 2000));
    sleep_ms(50);
    CHECK(nodes[2].got[1] == 1 && nodes[1].got[1] == 1 && nodes[0].total == 0);

    /* close the ring: nothing is delivered twice */
    CHECK(do_connect(2, 0, 0) == SP_OK);
    pair p02 = {0, 2};
    CHECK(run_until(linked, &p02, 2000));
    for (int i = 0; i < 50; i++)
        CHECK(net_node_broadcast(nodes[0].node, 5, (const uint8_t *)"ring", 4, &seq) == SP_OK);
    CHECK(net_node_broadcast(nodes[1].node, 6, (const uint8_t *)"from1", 5, NULL) == SP_OK);
    all_arg a = {2, 51}, b = {1, 51};
    CHECK(run_until(all_got, &a, 2000) && run_until(all_got, &b, 2000));
    sleep_ms(100);
    int twice = 0;
    for (int s = 1; s <= 51; s++)
        twice += nodes[1].got[s] != 1 || nodes[2].got[s] != 1;
    CHECK_MSG(twice == 0, "%d frames not delivered exactly once", twice);
    CHECK(nodes[0].got_other == 1 && nodes[2].got_other == 1 && nodes[1].got_other == 0);

    /* unicast 0 -> 2: only 2 hands it up, 1 relays it silently */
    int before1 = nodes[1].total;
    CHECK(net_node_unicast(nodes[0].node, net_node_peer_id(nodes[2].node), 9, (const uint8_t *)"u", 1, &seq) == SP_OK);
    all_arg au = {2, seq};
    CHECK(run_until(all_got, &au, 2000));
    sleep_ms(50);
    CHECK(nodes[2].unicast == 1 && nodes[1].total == before1);
    CHECK(net_node_unicast(nodes[0].node, "nothex", 9, (const uint8_t *)"u", 1, NULL) == SP_ERR_INVALID);
    for (int i = 0; i < 3; i++)
        stop(i);
}

/* A node that joins late gets everything through catch-up, in order, from a tiny output queue. */
static void test_catchup_backpressure(void)
{
    start(0, 4096);
    start(1, 4096);
    start(2, 4096);
    CHECK(do_connect(1, 0, 0) == SP_OK);
    sleep_ms(50); /* link fully live: the broadcasts below go through live relay until it is full */
    static uint8_t kb[1024];
    int n = 3000;
    for (int i = 0; i < n; i++) {
        kb[0] = (uint8_t)i;
        CHECK_MSG(net_node_broadcast(nodes[0].node, 1, kb, sizeof kb, NULL) == SP_OK, "frame %d", i);
    }
    all_arg a1 = {1, (uint64_t)n};
    CHECK(run_until(all_got, &a1, 10000));
    /* 2 arrives late, linked only to 1 */
    CHECK(do_connect(2, 1, 0) == SP_OK);
    all_arg a2 = {2, (uint64_t)n};
    CHECK(run_until(all_got, &a2, 10000));
    int dup = 0;
    for (int s = 1; s <= n; s++)
        dup += nodes[2].got[s] != 1 || nodes[1].got[s] != 1;
    CHECK_MSG(dup == 0, "%d frames not exactly once", dup);
    /* a batch: one commit, consecutive sequences, each delivered once */
    sp_slice many[100];
    for (int i = 0; i < 100; i++)
        many[i] = (sp_slice){kb, sizeof kb};
    uint64_t first = 0;
    size_t done = 0;
    CHECK(net_node_broadcast_many(nodes[0].node, 1, many, 100, &first, &done) == SP_OK);
    CHECK(first == (uint64_t)n + 1 && done == 100);
    all_arg a3 = {2, (uint64_t)n + 100};
    CHECK(run_until(all_got, &a3, 10000));
    sleep_ms(50);
    CHECK(nodes[2].got[n + 1] == 1 && nodes[2].got[n + 100] == 1 && nodes[2].got[n + 101] == 0);
    CHECK(net_node_broadcast_many(nodes[0].node, 1, many, 0, &first, &done) == SP_ERR_INVALID && done == 0);
    many[5].len = NET_PAYLOAD_MAX + 1;
    CHECK(net_node_broadcast_many(nodes[0].node, 1, many, 10, &first, &done) == SP_ERR_TOO_LARGE && done == 0);
    for (int i = 0; i < 3; i++)
        stop(i);
}

static void test_refusals(void)
{
    start(0, 0);
    start(1, 0);
    start(2, 0);
    char addr[300], err[200];
    /* pinned to node 2's id but dialling node 1 */
    snprintf(addr, sizeof addr, "%s/p2p/%s", net_node_listen_addr(nodes[1].node), net_node_peer_id(nodes[2].node));
    connect_result = 99;
    CHECK(net_node_connect(nodes[0].node, addr, on_connect, NULL, err, sizeof err) == SP_OK);
    CHECK(run_until(connect_done, NULL, 3000) && connect_result != SP_OK);
    CHECK_MSG(strstr(connect_msg, "mismatch") != NULL, "%s", connect_msg);
    CHECK(links_of(0) == 0);
    /* self */
    connect_result = 99;
    CHECK(net_node_connect(nodes[0].node, net_node_listen_addr(nodes[0].node), on_connect, NULL, err, sizeof err) == SP_OK);
    CHECK(run_until(connect_done, NULL, 3000) && connect_result != SP_OK);
    CHECK_MSG(strstr(connect_msg, "self") != NULL, "%s", connect_msg);
    /* malformed */
    CHECK(net_node_connect(nodes[0].node, "/ip4/1.2.3.4/udp/5", on_connect, NULL, err, sizeof err) == SP_ERR_INVALID);
    CHECK(strstr(err, "tcp") != NULL);
    /* nothing listening: fails now, stays in the book */
    connect_result = 99;
    CHECK(net_node_connect(nodes[0].node, "/ip4/127.0.0.1/tcp/1", on_connect, NULL, err, sizeof err) == SP_OK);
    CHECK(run_until(connect_done, NULL, 3000) && connect_result != SP_OK);
    /* a pending callback can be cancelled */
    connect_result = 99;
    CHECK(net_node_connect(nodes[0].node, net_node_listen_addr(nodes[2].node), on_connect, &connect_result, err, sizeof err) == SP_OK);
    net_node_connect_cancel(nodes[0].node, &connect_result);
    pair p = {0, 2};
    CHECK(run_until(linked, &p, 3000) && connect_result == 99);
    for (int i = 0; i < 3; i++)
        stop(i);
}

/* Counts duplicate-link refusals logged during ms of running. */
static int refusals_during(int ms)
{
    sp_log_level lvl = sp_log_get_level();
    sp_log_set_level(SP_LOG_WARN);
    fflush(stderr);
    int saved = dup(2);
    FILE *cap = tmpfile();
    dup2(fileno(cap), 2);
    sleep_ms(ms);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    sp_log_set_level(lvl);
    rewind(cap);
    char line[1024];
    int n = 0;
    while (fgets(line, sizeof line, cap))
        n += strstr(line, "already linked") != NULL || strstr(line, "replaced") != NULL;
    fclose(cap);
    return n;
}

/* One peer known under two addresses: the second is refused as a duplicate, reported as
 * connected, and not redialled while the first link lives. */
static void test_two_addresses(void)
{
    listen_host = "0.0.0.0";
    start(1, 0);
    listen_host = NULL;
    start(0, 0);
    char a1[200], a2[200], err[200];
    const char *port = strrchr(net_node_listen_addr(nodes[1].node), '/') + 1;
    CHECK(!strncmp(net_node_listen_addr(nodes[1].node), "/ip4/127.0.0.1/", 15)); /* wildcard reported as loopback */
    snprintf(a1, sizeof a1, "/ip4/127.0.0.1/tcp/%s", port);
    snprintf(a2, sizeof a2, "/ip4/127.0.0.2/tcp/%s", port);
    connect_result = 99;
    CHECK(net_node_connect(nodes[0].node, a1, on_connect, NULL, err, sizeof err) == SP_OK);
    CHECK(run_until(connect_done, NULL, 3000) && connect_result == SP_OK);
    connect_result = 99;
    CHECK(net_node_connect(nodes[0].node, a2, on_connect, NULL, err, sizeof err) == SP_OK);
    CHECK(run_until(connect_done, NULL, 3000) && connect_result == SP_OK);
    int r = refusals_during(800);
    CHECK_MSG(r == 0, "%d duplicate refusals while settled", r);
    CHECK(links_of(0) == 1 && links_of(1) == 1);
    stop(0);
    stop(1);
}

/* Both sides dial each other at once: they settle on one link. */
static void test_simultaneous(void)
{
    start(0, 0);
    start(1, 0);
    char err[200];
    CHECK(net_node_connect(nodes[0].node, net_node_listen_addr(nodes[1].node), NULL, NULL, err, sizeof err) == SP_OK);
    CHECK(net_node_connect(nodes[1].node, net_node_listen_addr(nodes[0].node), NULL, NULL, err, sizeof err) == SP_OK);
    pair p = {0, 1}, q = {1, 0};
    CHECK(run_until(linked, &p, 3000) && run_until(linked, &q, 3000));
    sleep_ms(300);
    CHECK(links_of(0) == 1 && links_of(1) == 1 && linked(&p) && linked(&q));
    int r = refusals_during(700); /* and it stays settled */
    CHECK_MSG(r == 0, "%d duplicate refusals after settling", r);
    CHECK(links_of(0) == 1 && links_of(1) == 1);
    stop(0);
    stop(1);
}

int main(void)
{
    sp_log_set_level(getenv("NET_TEST_DEBUG") ? SP_LOG_DEBUG : SP_LOG_ERROR);
    base = event_base_new();
    test_chain_and_ring();
    test_catchup_backpressure();
    test_refusals();
    test_simultaneous();
    test_two_addresses();
    event_base_free(base);
    return check_done();
}
