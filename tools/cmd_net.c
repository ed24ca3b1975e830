/*
 * cmd_net.c — `spacepanda peer connect MULTIADDR` and `spacepanda net status`: NetworkService.
 * Both need a session token: --token TOKEN, else $SPACEPANDA_TOKEN.
 *
 * peer connect prints "connected: MESSAGE" and exits 0 once the link is authenticated, or prints
 * "not connected: REASON" and exits 1 (the daemon keeps redialling). net status prints
 *   peer_id: ...   listen_address: ...   connected_peers: ... (one line each)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "spacepanda.pb-c.h"

/* Picks --token and up to one positional argument from argv[from..]. -1 on a usage error. */
static int parse(int argc, char **argv, int from, const char **token, const char **pos)
{
    *token = getenv("SPACEPANDA_TOKEN");
    *pos = NULL;
    for (int i = from; i < argc; i++) {
        if (strcmp(argv[i], "--token") == 0 && i + 1 < argc)
            *token = argv[++i];
        else if (argv[i][0] == '-' && argv[i][1] != '\0')
            return -1;
        else if (!*pos)
            *pos = argv[i];
        else
            return -1;
    }
    if (!*token)
        *token = "";
    return 0;
}

static int cmd_peer(spc_client *c, int argc, char **argv, const spc_opts *o)
{
    const char *token, *addr;
    if (argc < 2 || strcmp(argv[1], "connect") != 0 || parse(argc, argv, 2, &token, &addr) || !addr)
        return spc_usage("peer");
    Spacepanda__ConnectPeerRequest req = SPACEPANDA__CONNECT_PEER_REQUEST__INIT;
    req.session_token = (char *)token;
    req.peer_address = (char *)addr;
    ProtobufCMessage *m = NULL;
    spc_status st;
    if (spc_unary(c, "/spacepanda.NetworkService/ConnectPeer", &req.base, &spacepanda__connect_peer_response__descriptor,
                  o->timeout_ms, &m, &st) != RPC_OK)
        return spc_report("peer connect", &st);
    Spacepanda__ConnectPeerResponse *r = (Spacepanda__ConnectPeerResponse *)m;
    int ok = r->success;
    printf("%s: %s\n", ok ? "connected" : "not connected", r->message);
    protobuf_c_message_free_unpacked(m, NULL);
    return ok ? 0 : 1;
}

static int cmd_net(spc_client *c, int argc, char **argv, const spc_opts *o)
{
    const char *token, *extra;
    if (argc < 2 || strcmp(argv[1], "status") != 0 || parse(argc, argv, 2, &token, &extra) || extra)
        return spc_usage("net");
    Spacepanda__NetworkStatusRequest req = SPACEPANDA__NETWORK_STATUS_REQUEST__INIT;
    req.session_token = (char *)token;
    return spc_call_print(c, o, "/spacepanda.NetworkService/GetNetworkStatus", &req.base,
                          &spacepanda__network_status_response__descriptor);
}

SPC_COMMAND("peer", "connect MULTIADDR [--token TOKEN]", "link this daemon to another one (NetworkService.ConnectPeer)",
            cmd_peer)
SPC_COMMAND("net", "status [--token TOKEN]", "peer id, listen address and linked peers (GetNetworkStatus)", cmd_net)
