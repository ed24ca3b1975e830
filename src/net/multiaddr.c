/* multiaddr.c — parsing and printing /ip4|/ip6 .../tcp/PORT[/p2p/ID]. */
#include "net/multiaddr.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static sp_err fail(char *err, size_t errlen, const char *fmt, ...)
{
    if (errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return SP_ERR_INVALID;
}

/* Copies the next "/"-separated component into out; returns its length or -1 when too long/absent. */
static int next_part(const char **p, char *out, size_t outlen)
{
    if (**p != '/')
        return -1;
    (*p)++;
    const char *end = strchr(*p, '/');
    size_t n = end ? (size_t)(end - *p) : strlen(*p);
    if (n == 0 || n >= outlen)
        return -1;
    memcpy(out, *p, n);
    out[n] = 0;
    *p += n;
    return (int)n;
}

sp_err net_multiaddr_parse(const char *s, net_multiaddr *out, char *err, size_t errlen)
{
    char proto[8], host[64], tcp[8], port[8];
    memset(out, 0, sizeof *out);
    if (!s || !*s)
        return fail(err, errlen, "empty multiaddr");
    if (strlen(s) >= 256)
        return fail(err, errlen, "multiaddr too long");
    const char *p = s;
    if (next_part(&p, proto, sizeof proto) < 0 || (strcmp(proto, "ip4") && strcmp(proto, "ip6")))
        return fail(err, errlen, "multiaddr must start with /ip4/ or /ip6/: \"%s\"", s);
    if (next_part(&p, host, sizeof host) < 0)
        return fail(err, errlen, "missing address after /%s/", proto);
    if (proto[2] == '4') {
        struct sockaddr_in *in = (struct sockaddr_in *)&out->sa;
        if (inet_pton(AF_INET, host, &in->sin_addr) != 1)
            return fail(err, errlen, "\"%s\" is not an IPv4 address", host);
        in->sin_family = AF_INET;
        out->salen = sizeof *in;
    } else {
        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&out->sa;
        if (inet_pton(AF_INET6, host, &in6->sin6_addr) != 1)
            return fail(err, errlen, "\"%s\" is not an IPv6 address", host);
        in6->sin6_family = AF_INET6;
        out->salen = sizeof *in6;
    }
    if (next_part(&p, tcp, sizeof tcp) < 0 || strcmp(tcp, "tcp"))
        return fail(err, errlen, "expected /tcp/PORT after the address");
    if (next_part(&p, port, sizeof port) < 0)
        return fail(err, errlen, "missing port after /tcp/");
    char *end;
    unsigned long v = strtoul(port, &end, 10);
    if (*end || port[0] < '0' || port[0] > '9' || v == 0 || v > 65535)
        return fail(err, errlen, "\"%s\" is not a TCP port (1-65535)", port);
    out->port = (uint16_t)v;
    if (proto[2] == '4')
        ((struct sockaddr_in *)&out->sa)->sin_port = htons(out->port);
    else
        ((struct sockaddr_in6 *)&out->sa)->sin6_port = htons(out->port);
    if (*p) {
        char p2p[8], id[NET_PEER_ID_LEN + 2];
        if (next_part(&p, p2p, sizeof p2p) < 0 || strcmp(p2p, "p2p"))
            return fail(err, errlen, "unexpected \"%s\" after the port (only /p2p/<peer id> may follow)", p);
        if (next_part(&p, id, sizeof id) < 0 || net_peer_id_parse(id, out->peer_key) != SP_OK)
            return fail(err, errlen, "peer id after /p2p/ must be %d lowercase hex characters", NET_PEER_ID_LEN);
        if (*p)
            return fail(err, errlen, "unexpected \"%s\" after the peer id", p);
        out->has_peer_id = 1;
        memcpy(out->peer_id, id, NET_PEER_ID_LEN + 1);
    }
    return SP_OK;
}

void net_multiaddr_format_addr(const struct sockaddr *sa, char out[NET_MULTIADDR_MAX])
{
    char host[INET6_ADDRSTRLEN] = "?";
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
        inet_ntop(AF_INET, &in->sin_addr, host, sizeof host);
        snprintf(out, NET_MULTIADDR_MAX, "/ip4/%s/tcp/%u", host, ntohs(in->sin_port));
    } else if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
        inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof host);
        snprintf(out, NET_MULTIADDR_MAX, "/ip6/%s/tcp/%u", host, ntohs(in6->sin6_port));
    } else {
        snprintf(out, NET_MULTIADDR_MAX, "/unknown");
    }
}
