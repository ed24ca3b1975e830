/*
 * net_relay — frames per second relayed through the middle of a 3-node chain 1-2-3, and
 * origin-to-far-end latency, over loopback TCP between three processes (forked), each a real
 * net_node with the sqlite persistence (as in the daemon) on its own reactor.
 *
 *   build/bench/net_relay [FRAMES] [--mem | --sqlite]     (default: both, 20000 and 100000 frames)
 * Phase 1: node 1 originates FRAMES 1 KiB broadcast frames as fast as its reactor
 *          can (batches of 256 per loop turn, one log commit each); node 3 times first to last
 *          arrival, and node 2 reports its CPU time per relayed frame.
 * Phase 2: node 1 originates 2000 frames 1 ms apart, each stamped with CLOCK_MONOTONIC; node 3
 *          reports the p50/p99 of arrival - stamp (two hops; per hop is half).
 * Figures only: it never fails on speed.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "base/log.h"
#include "net/node.h"

#define SIZE 1024
#define LAT_FRAMES 2000

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

typedef struct {
    struct event_base *base;
    net_node *node;
    FILE *rep;
    int idx;
    long want, got, lat_got;
    uint64_t t_first, t_last;
    uint64_t *lat;
    /* originating on node 1 */
    long to_send, sent;
    int phase;
    struct event *tick;
    uint8_t buf[SIZE];
} child;

static void on_msg(void *arg, const net_msg *m)
{
    child *c = arg;
    if (c->idx != 3 || m->payload.len != SIZE)
        return;
    uint64_t t = now_ns();
    if (m->ptype == 1) {
        if (!c->got++)
            c->t_first = t;
        c->t_last = t;
        if (c->got == c->want) {
            fprintf(c->rep, "tput %ld %llu\n", c->got, (unsigned long long)(c->t_last - c->t_first));
            fflush(c->rep);
        }
    } else if (m->ptype == 2 && c->lat_got < LAT_FRAMES) {
        uint64_t stamp;
        memcpy(&stamp, m->payload.ptr, sizeof stamp);
        c->lat[c->lat_got++] = t - stamp;
        if (c->lat_got == LAT_FRAMES) {
            fprintf(c->rep, "lat done\n");
            fflush(c->rep);
        }
    }
}

static void tick_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    child *c = arg;
    if (c->phase == 1) {
        /* one log commit per batch (net_node_broadcast_many), as a group-committing caller would */
        sp_slice batch[256];
        size_t k = 0;
        for (; k < 256 && c->sent < c->to_send; k++, c->sent++)
            batch[k] = (sp_slice){c->buf, SIZE};
        if (k && net_node_broadcast_many(c->node, 1, batch, k, NULL, NULL))
            exit(3);
        if (c->sent < c->to_send) {
            struct timeval tv = {0, 0};
            evtimer_add(c->tick, &tv);
        }
    } else if (c->phase == 2 && c->sent < LAT_FRAMES) {
        uint64_t t = now_ns();
        memcpy(c->buf, &t, sizeof t);
        if (net_node_broadcast(c->node, 2, c->buf, SIZE, NULL))
            exit(3);
        c->sent++;
        struct timeval tv = {0, 1000};
        evtimer_add(c->tick, &tv);
    }
}

static void ctl_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)what;
    child *c = arg;
    char line[512];
    ssize_t n = read(fd, line, sizeof line - 1);
    if (n <= 0) {
        event_base_loopbreak(c->base);
        return;
    }
    line[n] = 0;
    char err[200];
    if (!strncmp(line, "connect ", 8)) {
        line[strcspn(line, "\n")] = 0;
        if (net_node_connect(c->node, line + 8, NULL, NULL, err, sizeof err))
            exit(4);
    } else if (!strncmp(line, "links", 5)) {
        fprintf(c->rep, "links %zu\n", net_node_links(c->node, NULL, 0));
        fflush(c->rep);
    } else if (!strncmp(line, "want ", 5)) {
        c->want = atol(line + 5);
    } else if (!strncmp(line, "flood ", 6)) {
        c->to_send = atol(line + 6);
        c->sent = 0;
        c->phase = 1;
        tick_cb(-1, 0, c);
    } else if (!strncmp(line, "pace", 4)) {
        c->sent = 0;
        c->phase = 2;
        tick_cb(-1, 0, c);
    } else if (!strncmp(line, "cpu", 3)) {
        struct rusage ru;
        getrusage(RUSAGE_SELF, &ru);
        fprintf(c->rep, "cpu %llu\n", (unsigned long long)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000ull +
                                          (unsigned long long)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec));
        fflush(c->rep);
    } else if (!strncmp(line, "report", 6)) {
        fprintf(c->rep, "lat");
        for (long i = 0; i < c->lat_got; i++)
            fprintf(c->rep, " %llu", (unsigned long long)c->lat[i]);
        fprintf(c->rep, "\n");
        fflush(c->rep);
    }
}

static int child_main(int idx, int ctl, int rep, const char *dir, int mem)
{
    child c;
    memset(&c, 0, sizeof c);
    c.idx = idx;
    c.rep = fdopen(rep, "w");
    c.lat = calloc(LAT_FRAMES, sizeof *c.lat);
    c.base = event_base_new();
    net_identity *id;
    net_persist *p;
    char path[512];
    snprintf(path, sizeof path, "%s/n%d.db", dir, idx);
    if (net_identity_generate(&id) || (mem ? net_persist_mem_new(&p) : net_persist_sqlite_open(path, &p)))
        return 1;
    net_node_config cfg = {0};
    cfg.on_msg = on_msg;
    cfg.on_msg_arg = &c;
    if (net_node_new(c.base, id, p, &cfg, &c.node))
        return 1;
    c.tick = evtimer_new(c.base, tick_cb, &c);
    struct event *ev = event_new(c.base, ctl, EV_READ | EV_PERSIST, ctl_cb, &c);
    event_add(ev, NULL);
    fprintf(c.rep, "addr %s\n", net_node_listen_addr(c.node));
    fflush(c.rep);
    event_base_dispatch(c.base);
    event_free(ev);
    event_free(c.tick);
    net_node_free(c.node);
    net_persist_free(p);
    net_identity_free(id);
    event_base_free(c.base);
    free(c.lat);
    return 0;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static int run_once(long frames, int mem)
{
    char dir[] = "/tmp/sp-net-bench-XXXXXX";
    if (!mkdtemp(dir))
        return 1;
    int ctl[4], rep[4];
    FILE *rf[4];
    pid_t pid[4];
    char addr[4][NET_MULTIADDR_MAX + 8];
    for (int i = 1; i <= 3; i++) {
        int a[2], b[2];
        if (pipe(a) || pipe(b))
            return 1;
        pid[i] = fork();
        if (pid[i] == 0) {
            close(a[1]);
            close(b[0]);
            _exit(child_main(i, a[0], b[1], dir, mem));
        }
        close(a[0]);
        close(b[1]);
        ctl[i] = a[1];
        rep[i] = b[0];
        rf[i] = fdopen(rep[i], "r");
        char line[256];
        if (!fgets(line, sizeof line, rf[i]) || sscanf(line, "addr %200s", addr[i]) != 1)
            return 1;
    }
    dprintf(ctl[2], "connect %s\n", addr[1]);
    usleep(1000);
    dprintf(ctl[3], "connect %s\n", addr[2]);
    for (int tries = 0;; tries++) {
        char line[64];
        size_t l2 = 0, l3 = 0;
        usleep(50000);
        dprintf(ctl[2], "links\n");
        if (fgets(line, sizeof line, rf[2]))
            sscanf(line, "links %zu", &l2);
        dprintf(ctl[3], "links\n");
        if (fgets(line, sizeof line, rf[3]))
            sscanf(line, "links %zu", &l3);
        if (l2 == 2 && l3 == 1)
            break;
        if (tries > 100) {
            fprintf(stderr, "net_relay: chain did not form\n");
            return 1;
        }
    }
    usleep(100000);
    dprintf(ctl[3], "want %ld\n", frames);
    char line[256];
    unsigned long long cpu0 = 0, cpu1 = 0;
    dprintf(ctl[2], "cpu\n");
    if (!fgets(line, sizeof line, rf[2]) || sscanf(line, "cpu %llu", &cpu0) != 1)
        return 1;
    dprintf(ctl[1], "flood %ld\n", frames);
    long got = 0;
    unsigned long long ns = 0;
    if (!fgets(line, sizeof line, rf[3]) || sscanf(line, "tput %ld %llu", &got, &ns) != 2)
        return 1;
    dprintf(ctl[2], "cpu\n");
    if (!fgets(line, sizeof line, rf[2]) || sscanf(line, "cpu %llu", &cpu1) != 1)
        return 1;
    printf("net_relay: %ld frames of %d B through the middle of a 3-node chain (%s persistence)\n", got, SIZE,
           mem ? "memory" : "sqlite");
    printf("net_relay: relayed %.0f frames/s (%.1f MiB/s) at the far end\n", got / (ns / 1e9),
           got * (double)SIZE / (ns / 1e9) / (1 << 20));
    printf("net_relay: middle node CPU %.1f us per relayed frame (user+sys): at most %.0f frames/s on one free core\n",
           (double)(cpu1 - cpu0) / got, got / ((double)(cpu1 - cpu0) / 1e6));

    dprintf(ctl[1], "pace\n");
    if (!fgets(line, sizeof line, rf[3]))
        return 1;
    dprintf(ctl[3], "report\n");
    static char big[LAT_FRAMES * 24 + 64];
    if (!fgets(big, sizeof big, rf[3]))
        return 1;
    uint64_t *lat = calloc(LAT_FRAMES, sizeof *lat);
    size_t n = 0;
    char *tok = strtok(big + 3, " \n");
    while (tok && n < LAT_FRAMES) {
        lat[n++] = strtoull(tok, NULL, 10);
        tok = strtok(NULL, " \n");
    }
    qsort(lat, n, sizeof *lat, cmp_u64);
    if (n) {
        double p50 = lat[n / 2] / 1e3, p99 = lat[n * 99 / 100] / 1e3;
        printf("net_relay: origin to far end (2 hops), %zu frames 1 ms apart: p50 %.0f us, p99 %.0f us "
               "(per hop p50 %.0f us, p99 %.0f us)\n", n, p50, p99, p50 / 2, p99 / 2);
    }
    free(lat);
    for (int i = 1; i <= 3; i++) {
        close(ctl[i]);
        fclose(rf[i]);
    }
    for (int i = 1; i <= 3; i++)
        waitpid(pid[i], NULL, 0);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0)
        return 1;
    return 0;
}

int main(int argc, char **argv)
{
    long frames = 0;
    int mem = -1;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--mem"))
            mem = 1;
        else if (!strcmp(argv[i], "--sqlite"))
            mem = 0;
        else
            frames = atol(argv[i]);
    }
    sp_log_set_level(getenv("NET_BENCH_DEBUG") ? SP_LOG_DEBUG : SP_LOG_WARN);
    int rc = 0;
    /* By default both: the daemon's configuration (every frame durably logged in sqlite on every
     * node), then the network path alone (log in memory). */
    if (mem != 1)
        rc |= run_once(frames ? frames : 20000, 0);
    if (mem != 0)
        rc |= run_once(frames ? frames : 100000, 1);
    return rc;
}
