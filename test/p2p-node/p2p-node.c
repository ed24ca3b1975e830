/*
 * p2p-node — a test-only program: one real net_node on its own reactor with the sqlite
 * persistence, driven by line commands on stdin, printing what it receives on stdout. It lets the
 * integration tests run real multi-process meshes before the daemon's chat layer exists.
 *
 *   p2p-node --data DIR [--port N] [--peer MULTIADDR]... [--heartbeat-ms N] [--dead-ms N]
 *            [--handshake-ms N] [--backoff-max-ms N] [--outq BYTES] [--log-level L]
 * stdin:  connect MULTIADDR | status | bcast PTYPE TEXT | ucast PEERID PTYPE TEXT
 *         | bulk COUNT SIZE | quit
 * stdout: ready PEERID LISTENADDR
 *         connect ok|fail|invalid MESSAGE
 *         status PEERID LISTENADDR NLINKS [PEERID...]
 *         sent SEQ | error MESSAGE
 *         recv ORIGIN SEQ PTYPE b|u LEN TEXT   (TEXT: the payload if short and printable, else -)
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "base/log.h"
#include "net/node.h"

static struct event_base *base;
static net_node *node;

static void on_msg(void *arg, const net_msg *m)
{
    (void)arg;
    char text[80] = "-";
    if (m->payload.len < sizeof text) {
        int ok = m->payload.len > 0;
        for (size_t i = 0; i < m->payload.len; i++)
            ok &= m->payload.ptr[i] > 0x20 && m->payload.ptr[i] < 0x7f;
        if (ok) {
            memcpy(text, m->payload.ptr, m->payload.len);
            text[m->payload.len] = 0;
        }
    }
    printf("recv %s %llu %u %c %zu %s\n", m->origin, (unsigned long long)m->seq, m->ptype, m->unicast ? 'u' : 'b',
           m->payload.len, text);
    fflush(stdout);
}

static void on_connect(void *arg, sp_err r, const char *msg)
{
    (void)arg;
    printf("connect %s %s\n", r ? "fail" : "ok", msg);
    fflush(stdout);
}

static void command(char *line)
{
    char *cmd = strtok(line, " ");
    if (!cmd)
        return;
    if (!strcmp(cmd, "connect")) {
        char err[256];
        char *addr = strtok(NULL, " ");
        if (net_node_connect(node, addr ? addr : "", on_connect, NULL, err, sizeof err))
            printf("connect invalid %s\n", err);
    } else if (!strcmp(cmd, "status")) {
        char ids[32][NET_PEER_ID_LEN + 1];
        size_t n = net_node_links(node, ids, 32);
        printf("status %s %s %zu", net_node_peer_id(node), net_node_listen_addr(node), n);
        for (size_t i = 0; i < n && i < 32; i++)
            printf(" %s", ids[i]);
        printf("\n");
    } else if (!strcmp(cmd, "bcast") || !strcmp(cmd, "ucast")) {
        char *dest = cmd[0] == 'u' ? strtok(NULL, " ") : NULL;
        char *pt = strtok(NULL, " "), *text = strtok(NULL, "");
        uint64_t seq;
        if (!pt || !text || (cmd[0] == 'u' && !dest)) {
            printf("error usage\n");
        } else {
            sp_err e = dest ? net_node_unicast(node, dest, (uint16_t)atoi(pt), (const uint8_t *)text, strlen(text), &seq)
                            : net_node_broadcast(node, (uint16_t)atoi(pt), (const uint8_t *)text, strlen(text), &seq);
            if (e)
                printf("error %s\n", sp_strerror(e));
            else
                printf("sent %llu\n", (unsigned long long)seq);
        }
    } else if (!strcmp(cmd, "bulk")) {
        char *c = strtok(NULL, " "), *s = strtok(NULL, " ");
        long count = c ? atol(c) : 0, size = s ? atol(s) : 0;
        uint64_t seq = 0;
        uint8_t *buf = calloc(1, size > 0 ? (size_t)size : 1);
        sp_err e = SP_OK;
        for (long i = 0; i < count && !e && buf; i++) {
            if (size >= 8)
                memcpy(buf, &i, sizeof i);
            e = net_node_broadcast(node, 2, buf, (size_t)(size > 0 ? size : 0), &seq);
        }
        free(buf);
        if (e)
            printf("error %s\n", sp_strerror(e));
        else
            printf("sent %llu\n", (unsigned long long)seq);
    } else if (!strcmp(cmd, "quit")) {
        event_base_loopbreak(base);
    } else {
        printf("error unknown command %s\n", cmd);
    }
    fflush(stdout);
}

static void stdin_read(struct bufferevent *bev, void *arg)
{
    (void)arg;
    char *line;
    size_t n;
    while ((line = evbuffer_readln(bufferevent_get_input(bev), &n, EVBUFFER_EOL_LF))) {
        command(line);
        free(line);
    }
}

static void stdin_event(struct bufferevent *bev, short what, void *arg)
{
    (void)bev, (void)what, (void)arg;
    event_base_loopbreak(base); /* the test harness went away */
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
    (void)sig, (void)what, (void)arg;
    event_base_loopbreak(base);
}

int main(int argc, char **argv)
{
    const char *data = NULL, *peers[16];
    int npeers = 0;
    net_node_config cfg = {0};
    sp_log_level lvl = SP_LOG_INFO;
    for (int i = 1; i + 1 < argc; i += 2) {
        const char *k = argv[i], *v = argv[i + 1];
        if (!strcmp(k, "--data"))
            data = v;
        else if (!strcmp(k, "--port"))
            cfg.listen_port = (uint16_t)atoi(v);
        else if (!strcmp(k, "--peer") && npeers < 16)
            peers[npeers++] = v;
        else if (!strcmp(k, "--heartbeat-ms"))
            cfg.heartbeat_ms = (unsigned)atoi(v);
        else if (!strcmp(k, "--dead-ms"))
            cfg.dead_ms = (unsigned)atoi(v);
        else if (!strcmp(k, "--handshake-ms"))
            cfg.handshake_ms = (unsigned)atoi(v);
        else if (!strcmp(k, "--backoff-max-ms"))
            cfg.backoff_max_ms = (unsigned)atoi(v);
        else if (!strcmp(k, "--outq"))
            cfg.out_queue_max = (size_t)atol(v);
        else if (!strcmp(k, "--log-level"))
            sp_log_parse_level(v, &lvl);
        else {
            fprintf(stderr, "p2p-node: unknown flag %s\n", k);
            return 2;
        }
    }
    if (!data) {
        fprintf(stderr, "usage: p2p-node --data DIR [--port N] [--peer MULTIADDR]...\n");
        return 2;
    }
    sp_log_set_level(lvl);
    signal(SIGPIPE, SIG_IGN);
    base = event_base_new();
    net_identity *id;
    net_persist *persist;
    char path[4096];
    snprintf(path, sizeof path, "%s/net.db", data);
    if (net_identity_load_or_create(data, &id) || net_persist_sqlite_open(path, &persist))
        return 1;
    cfg.on_msg = on_msg;
    if (net_node_new(base, id, persist, &cfg, &node))
        return 1;
    for (int i = 0; i < npeers; i++) {
        char err[256];
        if (net_node_connect(node, peers[i], NULL, NULL, err, sizeof err))
            fprintf(stderr, "p2p-node: --peer %s: %s\n", peers[i], err);
    }
    struct bufferevent *in = bufferevent_socket_new(base, 0, 0);
    bufferevent_setcb(in, stdin_read, NULL, stdin_event, NULL);
    bufferevent_enable(in, EV_READ);
    struct event *sigterm = evsignal_new(base, SIGTERM, on_signal, NULL);
    struct event *sigint = evsignal_new(base, SIGINT, on_signal, NULL);
    event_add(sigterm, NULL);
    event_add(sigint, NULL);
    printf("ready %s %s\n", net_node_peer_id(node), net_node_listen_addr(node));
    fflush(stdout);
    event_base_dispatch(base);
    bufferevent_free(in);
    event_free(sigterm);
    event_free(sigint);
    net_node_free(node);
    net_persist_free(persist);
    net_identity_free(id);
    event_base_free(base);
    return 0;
}
