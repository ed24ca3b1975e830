/*
 * main.c — spacepandad: flags, config, signals, systemd notify; wires the
 * layers together on one libevent reactor.
 *
 * Start-up order: parse flags → data directory → reactor → rpc server and the
 * layers under it → services registered → listen → READY=1. Shutdown (SIGTERM
 * or SIGINT): STOPPING=1, health NOT_SERVING, the rpc server drains (bounded
 * by its grace period), the loop ends, everything is freed in reverse, exit 0.
 * A second signal during the drain stops at once.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <event2/event.h>

#include "base/log.h"
#include "net/multiaddr.h"
#include "rpc/rpc.h"
#include "rpc/services/health.h"
#include "base/workers.h"
#include "chat/auth.h"
#include "chat/spaces.h"
#include "rpc/services/auth.h"
#include "rpc/services/space.h"
#include "store/db.h"
#include "net/node.h"
#include "rpc/services/network.h"
#include "chat/channels.h"
#include "chat/net_store.h"
#include "rpc/services/chat_svc.h"

#define SPACEPANDAD_VERSION "0.1.0"
#define DEFAULT_GRPC_ADDR "127.0.0.1"
#define DEFAULT_GRPC_PORT 50051
#define DEFAULT_P2P_ADDR "127.0.0.1"

typedef struct {
    const char *grpc_addr;
    int grpc_port;          /* -1: not set by flag */
    const char *p2p_addr;   /* the P2P listener's IP address */
    int p2p_port;           /* 0: an ephemeral port */
    char data_dir[PATH_MAX];
    const char **peers;     /* validated multiaddrs, as given */
    size_t npeers;
    sp_log_level log_level;
    size_t max_recv_bytes;
    unsigned recv_commit_ms;
    unsigned send_commit_ms;
} daemon_config;

typedef struct {
    daemon_config cfg;
    struct event_base *base;
    struct event *sigterm, *sigint;
    rpc_server *rpc;
    rpc_health *health;
    int stopping;
    store_db *store;
    sp_workers *workers;
    chat_auth *auth;
    chat_spaces *spaces;
    rpc_space_svc *space_svc;
    net_identity *net_id;
    net_persist *net_persist;
    net_node *net;
    rpc_network *net_svc;
    chat_channels *channels;
    rpc_chat_svc *chat_svc;
} daemon_state;

/* ---- flags ---------------------------------------------------------------------------- */

static void usage(FILE *f)
{
    fprintf(f,
            "usage: spacepandad [options] [PORT]\n"
            "\n"
            "End-to-end encrypted group chat daemon: serves gRPC (HTTP/2 cleartext) to local\n"
            "clients and links to other daemons over TCP.\n"
            "\n"
            "  --grpc-addr ADDR      address the gRPC server binds (default " DEFAULT_GRPC_ADDR ")\n"
            "  --grpc-port N         gRPC port (default 50051; 0 picks a free port and logs it).\n"
            "                        Also set by the positional PORT or the GRPC_PORT environment\n"
            "                        variable; the flag wins, then PORT, then GRPC_PORT.\n"
            "  --p2p-addr ADDR       IP address the P2P listener binds (default " DEFAULT_P2P_ADDR ";\n"
            "                        0.0.0.0 or a public address lets daemons on other hosts link)\n"
            "  --p2p-port N          port for links from other daemons (default 0: a free port)\n"
            "  --data-dir DIR        where state lives (default $XDG_DATA_HOME/spacepanda, else\n"
            "                        ~/.local/share/spacepanda); created if missing\n"
            "  --peer MULTIADDR      a daemon to link to, /ip4/A.B.C.D/tcp/N[/p2p/ID] or\n"
            "                        /ip6/ADDR/tcp/N[/p2p/ID]; repeatable\n"
            "  --log-level LEVEL     error, warn, info (default) or debug\n"
            "  --max-recv-bytes N    largest gRPC request message accepted (default 4194304)\n"
            "  --recv-commit-ms N    messages from other daemons are streamed at once and stored\n"
            "                        within N ms, one commit per burst (default 5; 1..60000)\n"
            "  --send-commit-ms N    a message sent here leaves at once; its commit (and the\n"
            "                        answer to SendMessage) follows once no other send came for\n"
            "                        N/3 ms, within N ms of the first: one commit and one fsync\n"
            "                        for every send in that time (default 10; 1..60000)\n"
            "  --help                this text\n"
            "  --version             print the version\n");
}

/* Parses a decimal in [lo, hi]; -1 if not one. */
static long parse_num(const char *s, long lo, long hi)
{
    if (!s || !*s)
        return -1;
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || *end || v < lo || v > hi)
        return -1;
    return v;
}

static int default_data_dir(char *out, size_t cap)
{
    const char *xdg = getenv("XDG_DATA_HOME");
    const char *home = getenv("HOME");
    int n;
    if (xdg && xdg[0] == '/')
        n = snprintf(out, cap, "%s/spacepanda", xdg);
    else if (home && *home)
        n = snprintf(out, cap, "%s/.local/share/spacepanda", home);
    else
        return -1;
    return n > 0 && (size_t)n < cap ? 0 : -1;
}

/* mkdir -p, the last component private (0700): it will hold keys. */
static int make_dirs(const char *path)
{
    char tmp[PATH_MAX];
    size_t n = strlen(path);
    if (n == 0 || n >= sizeof tmp)
        return -1;
    memcpy(tmp, path, n + 1);
    for (char *p = tmp + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(tmp, 0755) != 0 && errno != EEXIST)
            return -1;
        *p = '/';
    }
    if (mkdir(tmp, 0700) != 0 && errno != EEXIST)
        return -1;
    struct stat st;
    return stat(tmp, &st) == 0 && S_ISDIR(st.st_mode) ? 0 : -1;
}

/* Returns 0 to run, 1 to exit 0 (help/version), 2 on a usage error. */
static int parse_flags(int argc, char **argv, daemon_config *cfg)
{
    enum { O_ADDR = 256, O_PORT, O_P2P, O_P2P_ADDR, O_DATA, O_PEER, O_LOG, O_MAXRECV, O_RECV_COMMIT, O_SEND_COMMIT, O_HELP, O_VERSION };
    static const struct option opts[] = {
        {"grpc-addr", required_argument, NULL, O_ADDR}, {"grpc-port", required_argument, NULL, O_PORT},
        {"p2p-port", required_argument, NULL, O_P2P},   {"data-dir", required_argument, NULL, O_DATA},
        {"peer", required_argument, NULL, O_PEER},      {"log-level", required_argument, NULL, O_LOG},
        {"max-recv-bytes", required_argument, NULL, O_MAXRECV}, {"p2p-addr", required_argument, NULL, O_P2P_ADDR},
        {"recv-commit-ms", required_argument, NULL, O_RECV_COMMIT},
        {"send-commit-ms", required_argument, NULL, O_SEND_COMMIT},
        {"help", no_argument, NULL, O_HELP},            {"version", no_argument, NULL, O_VERSION},
        {NULL, 0, NULL, 0},
    };
    cfg->grpc_addr = DEFAULT_GRPC_ADDR;
    cfg->grpc_port = -1;
    cfg->p2p_addr = DEFAULT_P2P_ADDR;
    cfg->log_level = SP_LOG_INFO;
    cfg->max_recv_bytes = 4u << 20;
    cfg->recv_commit_ms = 5;
    cfg->send_commit_ms = 10;
    const char *data_dir = NULL;
    int c;
    long v;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case O_ADDR:
            cfg->grpc_addr = optarg;
            break;
        case O_PORT:
            if ((v = parse_num(optarg, 0, 65535)) < 0) {
                fprintf(stderr, "spacepandad: --grpc-port: not a port: %s\n", optarg);
                return 2;
            }
            cfg->grpc_port = (int)v;
            break;
        case O_P2P:
            if ((v = parse_num(optarg, 0, 65535)) < 0) {
                fprintf(stderr, "spacepandad: --p2p-port: not a port: %s\n", optarg);
                return 2;
            }
            cfg->p2p_port = (int)v;
            break;
        case O_P2P_ADDR: {
            struct in6_addr a6;
            if (inet_pton(AF_INET, optarg, &a6) != 1 && inet_pton(AF_INET6, optarg, &a6) != 1) {
                fprintf(stderr, "spacepandad: --p2p-addr: not an IPv4 or IPv6 address: %s\n", optarg);
                return 2;
            }
            cfg->p2p_addr = optarg;
            break;
        }
        case O_DATA:
            data_dir = optarg;
            break;
        case O_PEER: {
            net_multiaddr ma;
            char why[160];
            if (net_multiaddr_parse(optarg, &ma, why, sizeof why) != SP_OK) {
                fprintf(stderr, "spacepandad: --peer %s: not a multiaddr /ip4|ip6/ADDR/tcp/N[/p2p/ID]: %s\n",
                        optarg, why);
                return 2;
            }
            const char **p = realloc(cfg->peers, (cfg->npeers + 1) * sizeof *p);
            if (!p)
                return 2;
            cfg->peers = p;
            cfg->peers[cfg->npeers++] = optarg;
            break;
        }
        case O_LOG:
            if (sp_log_parse_level(optarg, &cfg->log_level) != 0) {
                fprintf(stderr, "spacepandad: --log-level: expected error, warn, info or debug: %s\n", optarg);
                return 2;
            }
            break;
        case O_MAXRECV:
            if ((v = parse_num(optarg, 1, 1L << 30)) < 0) {
                fprintf(stderr, "spacepandad: --max-recv-bytes: expected 1..1073741824: %s\n", optarg);
                return 2;
            }
            cfg->max_recv_bytes = (size_t)v;
            break;
        case O_RECV_COMMIT:
            if ((v = parse_num(optarg, 1, 60000)) < 0) {
                fprintf(stderr, "spacepandad: --recv-commit-ms: expected 1..60000: %s\n", optarg);
                return 2;
            }
            cfg->recv_commit_ms = (unsigned)v;
            break;
        case O_SEND_COMMIT:
            if ((v = parse_num(optarg, 1, 60000)) < 0) {
                fprintf(stderr, "spacepandad: --send-commit-ms: expected 1..60000: %s\n", optarg);
                return 2;
            }
            cfg->send_commit_ms = (unsigned)v;
            break;
        case 'h':
        case O_HELP:
            usage(stdout);
            return 1;
        case O_VERSION:
            puts("spacepandad " SPACEPANDAD_VERSION);
            return 1;
        default:
            fprintf(stderr, "spacepandad: unknown or incomplete option: %s\n", argv[optind - 1]);
            usage(stderr);
            return 2;
        }
    }
    if (optind < argc) {
        if (optind + 1 < argc) {
            fprintf(stderr, "spacepandad: unexpected argument: %s\n", argv[optind + 1]);
            return 2;
        }
        if ((v = parse_num(argv[optind], 0, 65535)) < 0) {
            fprintf(stderr, "spacepandad: PORT: not a port: %s\n", argv[optind]);
            return 2;
        }
        if (cfg->grpc_port < 0)
            cfg->grpc_port = (int)v;
    }
    const char *env = getenv("GRPC_PORT");
    if (cfg->grpc_port < 0 && env && *env) {
        if ((v = parse_num(env, 0, 65535)) < 0) {
            fprintf(stderr, "spacepandad: GRPC_PORT: not a port: %s\n", env);
            return 2;
        }
        cfg->grpc_port = (int)v;
    }
    if (cfg->grpc_port < 0)
        cfg->grpc_port = DEFAULT_GRPC_PORT;
    if (data_dir) {
        if (strlen(data_dir) >= sizeof cfg->data_dir) {
            fprintf(stderr, "spacepandad: --data-dir: path too long\n");
            return 2;
        }
        strcpy(cfg->data_dir, data_dir);
    } else if (default_data_dir(cfg->data_dir, sizeof cfg->data_dir) != 0) {
        fprintf(stderr, "spacepandad: no HOME or XDG_DATA_HOME: give --data-dir\n");
        return 2;
    }
    return 0;
}

/* ---- systemd notify (sd_notify(3) without libsystemd) ------------------------------------ */

static void sd_notify_msg(const char *msg)
{
    const char *path = getenv("NOTIFY_SOCKET");
    if (!path || !*path)
        return;
    struct sockaddr_un sa;
    memset(&sa, 0, sizeof sa);
    sa.sun_family = AF_UNIX;
    size_t n = strlen(path);
    if ((path[0] != '/' && path[0] != '@') || n >= sizeof sa.sun_path)
        return;
    memcpy(sa.sun_path, path, n);
    if (path[0] == '@')
        sa.sun_path[0] = '\0'; /* abstract namespace */
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return;
    socklen_t len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n);
    if (sendto(fd, msg, strlen(msg), MSG_NOSIGNAL, (struct sockaddr *)&sa, len) < 0)
        SP_WARN("main: sd_notify %s: %s", msg, strerror(errno));
    close(fd);
}

/* ---- signals and shutdown --------------------------------------------------------------- */

static void on_drained(void *arg)
{
    daemon_state *d = arg;
    SP_INFO("main: drained; exiting");
    event_base_loopexit(d->base, NULL);
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
    (void)what;
    daemon_state *d = arg;
    if (d->stopping) {
        SP_WARN("main: %s again: stopping now", sig == SIGINT ? "SIGINT" : "SIGTERM");
        event_base_loopbreak(d->base);
        return;
    }
    d->stopping = 1;
    SP_INFO("main: %s: shutting down", sig == SIGINT ? "SIGINT" : "SIGTERM");
    sd_notify_msg("STOPPING=1");
    rpc_health_set_serving(d->health, 0);
    /* later layers: stop net links and background work here, before the rpc drain */
    rpc_server_shutdown(d->rpc, on_drained, d);
}

/* ---- main ------------------------------------------------------------------------------- */

/* NetworkService needs a live session like every other service. */
static sp_err net_session_check(void *ctx, const char *token)
{
    chat_session s;
    return chat_auth_check(ctx, token, &s);
}


static int run(daemon_state *d)
{
    daemon_config *cfg = &d->cfg;
    if (make_dirs(cfg->data_dir) != 0) {
        SP_ERROR("main: cannot create data directory %s: %s", cfg->data_dir, strerror(errno));
        return 1;
    }
    SP_INFO("main: spacepandad %s, data directory %s", SPACEPANDAD_VERSION, cfg->data_dir);

    d->base = event_base_new();
    if (!d->base) {
        SP_ERROR("main: cannot create the event loop");
        return 1;
    }
    rpc_config rc = {.max_recv_bytes = cfg->max_recv_bytes};
    sp_err e = rpc_server_new(d->base, &rc, &d->rpc);
    if (!e)
        e = rpc_register_health(d->rpc, &d->health);
    if (e) {
        SP_ERROR("main: rpc server: %s", sp_strerror(e));
        return 1;
    }

    /*
     * ---- the layers ----
     * Create each layer here, in dependency order (store, then net, then chat),
     * from cfg (data_dir, p2p_port, peers), and register its gRPC services:
     *     rpc_register_auth(d->rpc, d->chat); ...
     * A failure is logged and returns 1.
     */
    /* store (one sqlite file in the data directory), the worker pool for argon2id, auth, spaces */
    {
        char path[PATH_MAX + 32], why[512];
        snprintf(path, sizeof path, "%s/spacepanda.db", cfg->data_dir);
        e = store_open(path, &d->store, why, sizeof why);
        if (e) {
            SP_ERROR("main: database: %s", why);
            return 1;
        }
        e = sp_workers_new(d->base, 2, &d->workers);
        if (!e)
            e = chat_auth_new(d->store, d->workers, NULL, &d->auth);
        if (!e)
            e = chat_spaces_new(d->store, &d->spaces);
        if (!e)
            e = rpc_register_auth(d->rpc, d->auth);
        if (!e)
            e = rpc_register_space(d->rpc, d->auth, d->spaces, &d->space_svc);
        if (e) {
            SP_ERROR("main: auth/spaces: %s", sp_strerror(e));
            return 1;
        }
    }
    /* net: identity key and frame log in the data directory, the P2P listener, --peer links.
     * The log is its own file so that its write transaction (committed once per read batch) never
     * holds the lock the store's connection needs while a frame is being handed up. */
    {
        char path[PATH_MAX + 16], err[256];
        net_node_config nc = {.listen_host = cfg->p2p_addr,
                              .listen_port = (uint16_t)cfg->p2p_port,
                              .on_msg = chat_channels_on_net};
        snprintf(path, sizeof path, "%s/net.db", cfg->data_dir);
        chat_channels_config cc = {.recv_commit_ms = cfg->recv_commit_ms, .send_commit_ms = cfg->send_commit_ms};
        nc.commit_delay_ms = cfg->recv_commit_ms;
        e = chat_channels_new(d->base, d->store, d->spaces, &cc, &d->channels);
        nc.on_msg_arg = d->channels;
        if (!e)
            e = net_identity_load_or_create(cfg->data_dir, &d->net_id);
        if (!e)
            e = net_persist_sqlite_open(path, &d->net_persist);
        if (!e) {
            /* the engine's group commit runs inside net's log flush: see chat/net_store.h */
            net_persist *wrapped = NULL;
            e = chat_net_persist_wrap(d->net_persist, d->channels, net_identity_pubkey(d->net_id), &wrapped);
            if (!e)
                d->net_persist = wrapped;
        }
        if (!e)
            e = net_node_new(d->base, d->net_id, d->net_persist, &nc, &d->net);
        for (size_t i = 0; !e && i < cfg->npeers; i++)
            if (net_node_connect(d->net, cfg->peers[i], NULL, NULL, err, sizeof err))
                SP_WARN("main: --peer %s: %s", cfg->peers[i], err);
        if (!e)
            e = rpc_register_network(d->rpc, d->net, net_session_check, d->auth, &d->net_svc);
        if (!e) {
            /* channels created here are ordered here; the engine speaks through the node */
            e = chat_spaces_set_self_peer(d->spaces, net_node_peer_id(d->net));
            chat_channels_set_net(d->channels, d->net);
        }
        if (!e)
            e = rpc_register_chat(d->rpc, d->auth, d->channels, &d->chat_svc);
        if (e) {
            SP_ERROR("main: p2p network: %s", sp_strerror(e));
            return 1;
        }
    }

    e = rpc_server_listen(d->rpc, cfg->grpc_addr, (uint16_t)cfg->grpc_port);
    if (e) {
        SP_ERROR("main: cannot listen on %s:%d: %s", cfg->grpc_addr, cfg->grpc_port,
                 e == SP_ERR_IO ? strerror(errno) : "bad address");
        return 1;
    }
    SP_INFO("rpc: gRPC listening on %s:%u", cfg->grpc_addr, rpc_server_port(d->rpc));

    d->sigterm = evsignal_new(d->base, SIGTERM, on_signal, d);
    d->sigint = evsignal_new(d->base, SIGINT, on_signal, d);
    if (!d->sigterm || !d->sigint || evsignal_add(d->sigterm, NULL) || evsignal_add(d->sigint, NULL)) {
        SP_ERROR("main: cannot install signal handlers");
        return 1;
    }
    rpc_health_set_serving(d->health, 1);
    sd_notify_msg("READY=1");
    event_base_dispatch(d->base);
    return 0;
}

int main(int argc, char **argv)
{
    daemon_state d;
    memset(&d, 0, sizeof d);
    int pf = parse_flags(argc, argv, &d.cfg);
    if (pf) {
        free(d.cfg.peers);
        return pf == 1 ? 0 : 2;
    }
    sp_log_set_level(d.cfg.log_level);
    signal(SIGPIPE, SIG_IGN);

    int rc = run(&d);

    /* reverse order of creation */
    rpc_health_free(d.health);
    /* later layers: free chat, net, store here */
    rpc_server_free(d.rpc);
    rpc_space_svc_free(d.space_svc);
    rpc_chat_svc_free(d.chat_svc);
    rpc_network_free(d.net_svc); /* after the server: it cancels ConnectPeer calls still waiting */
    net_node_free(d.net); /* before the engine: the node hands it messages */
    net_persist_free(d.net_persist);
    net_identity_free(d.net_id);
    chat_channels_free(d.channels);
    chat_auth_free(d.auth);
    sp_workers_free(d.workers);
    chat_spaces_free(d.spaces);
    store_close(d.store);
    if (d.sigterm)
        event_free(d.sigterm);
    if (d.sigint)
        event_free(d.sigint);
    if (d.base)
        event_base_free(d.base);
    free(d.cfg.peers);
    if (rc == 0)
        SP_INFO("main: stopped");
    return rc;
}
