/* multiaddr.c — parses /ip4|ip6/ADDR/tcp/PORT[/p2p/ID]. */
#include "base/multiaddr.h"

#include <arpa/inet.h>
#include <string.h>
#include <sys/socket.h>

/* Copies the next "/"-delimited component of *s into out (size cap). */
static int component(const char **s, char *out, size_t cap)
{
    if (**s != '/')
        return -1;
    const char *start = *s + 1;
    const char *end = strchr(start, '/');
    size_t n = end ? (size_t)(end - start) : strlen(start);
    if (n == 0 || n >= cap)
        return -1;
    memcpy(out, start, n);
    out[n] = '\0';
    *s = start + n;
    return 0;
}

sp_err sp_multiaddr_parse(const char *s, sp_multiaddr *out)
{
    sp_multiaddr m;
    memset(&m, 0, sizeof m);
    char proto[8], host[64], port[8];
    if (!s || component(&s, proto, sizeof proto) || component(&s, host, sizeof host))
        return SP_ERR_INVALID;
    unsigned char bin[16];
    if (strcmp(proto, "ip4") == 0 && inet_pton(AF_INET, host, bin) == 1)
        m.family = AF_INET;
    else if (strcmp(proto, "ip6") == 0 && inet_pton(AF_INET6, host, bin) == 1)
        m.family = AF_INET6;
    else
        return SP_ERR_INVALID;
    if (strlen(host) >= sizeof m.host)
        return SP_ERR_INVALID;
    strcpy(m.host, host);
    if (component(&s, proto, sizeof proto) || strcmp(proto, "tcp") != 0 || component(&s, port, sizeof port))
        return SP_ERR_INVALID;
    unsigned long p = 0;
    for (const char *c = port; *c; c++) {
        if (*c < '0' || *c > '9')
            return SP_ERR_INVALID;
        p = p * 10 + (unsigned long)(*c - '0');
        if (p > 65535)
            return SP_ERR_INVALID;
    }
    if (p == 0 || (port[0] == '0'))
        return SP_ERR_INVALID;
    m.port = (uint16_t)p;
    if (*s) {
        if (component(&s, proto, sizeof proto) || strcmp(proto, "p2p") != 0 ||
            component(&s, m.peer_id, sizeof m.peer_id) || *s)
            return SP_ERR_INVALID;
        for (const char *c = m.peer_id; *c; c++)
            if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
                  *c == '_' || *c == '-'))
                return SP_ERR_INVALID;
    }
    *out = m;
    return SP_OK;
}
