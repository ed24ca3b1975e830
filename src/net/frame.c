/* frame.c — encoding and bounds-checked decoding of frames and frame bodies. */
#include "net/frame.h"

#include <stdlib.h>
#include <string.h>

sp_err net_frame_check_header(const uint8_t hdr[NET_FRAME_HEADER], uint32_t max, uint32_t *frame_len)
{
    uint32_t v = ((uint32_t)hdr[0] << 24) | ((uint32_t)hdr[1] << 16) | ((uint32_t)hdr[2] << 8) | hdr[3];
    if (v == 0)
        return SP_ERR_INVALID;
    if (v > max)
        return SP_ERR_TOO_LARGE;
    *frame_len = v;
    return SP_OK;
}

sp_err net_frame_decode(const uint8_t *p, size_t n, uint32_t max, uint8_t *type, sp_slice *payload,
                        size_t *consumed)
{
    sp_reader r;
    uint32_t len;
    sp_slice body;
    if (n < NET_FRAME_HEADER)
        return SP_ERR_AGAIN;
    sp_err e = net_frame_check_header(p, max, &len);
    if (e)
        return e;
    sp_reader_init(&r, p + NET_FRAME_HEADER, n - NET_FRAME_HEADER);
    if (sp_read_slice(&r, len, &body))
        return SP_ERR_AGAIN;
    *type = body.ptr[0];
    payload->ptr = body.ptr + 1;
    payload->len = body.len - 1;
    *consumed = NET_FRAME_HEADER + len;
    return SP_OK;
}

sp_err net_frame_encode(sp_buf *out, uint8_t type, const uint8_t *payload, size_t len)
{
    if (len + 1 > NET_FRAME_MAX)
        return SP_ERR_TOO_LARGE;
    sp_buf_put_u32(out, (uint32_t)(len + 1));
    sp_buf_put_u8(out, type);
    sp_buf_append(out, payload, len);
    return out->failed ? SP_ERR_NOMEM : SP_OK;
}

sp_err net_hello_encode(sp_buf *out, const net_hello *h)
{
    sp_buf_put_u16(out, h->version);
    sp_buf_append(out, h->pubkey, NET_PUBKEY_LEN);
    sp_buf_append(out, h->nonce, sizeof h->nonce);
    sp_buf_put_u16(out, h->listen_port);
    return out->failed ? SP_ERR_NOMEM : SP_OK;
}

sp_err net_hello_decode(sp_slice payload, net_hello *h)
{
    sp_reader r;
    sp_reader_init(&r, payload.ptr, payload.len);
    if (sp_read_u16(&r, &h->version))
        return SP_ERR_INVALID;
    if (h->version != NET_PROTOCOL_VERSION)
        return SP_ERR_UNSUPPORTED;
    if (sp_read_copy(&r, h->pubkey, NET_PUBKEY_LEN) || sp_read_copy(&r, h->nonce, sizeof h->nonce) ||
        sp_read_u16(&r, &h->listen_port) || sp_reader_left(&r) != 0)
        return SP_ERR_INVALID;
    return SP_OK;
}

sp_err net_gossip_encode(sp_buf *out, const net_gossip *g)
{
    if (g->payload.len > NET_PAYLOAD_MAX)
        return SP_ERR_TOO_LARGE;
    sp_buf_append(out, g->origin, NET_PUBKEY_LEN);
    sp_buf_put_u64(out, g->seq);
    sp_buf_append(out, g->dest, NET_PUBKEY_LEN);
    sp_buf_put_u16(out, g->ptype);
    sp_buf_append(out, g->payload.ptr, g->payload.len);
    return out->failed ? SP_ERR_NOMEM : SP_OK;
}

sp_err net_gossip_decode(sp_slice body, net_gossip *g)
{
    sp_reader r;
    sp_reader_init(&r, body.ptr, body.len);
    if (sp_read_copy(&r, g->origin, NET_PUBKEY_LEN) || sp_read_u64(&r, &g->seq) ||
        sp_read_copy(&r, g->dest, NET_PUBKEY_LEN) || sp_read_u16(&r, &g->ptype))
        return SP_ERR_INVALID;
    if (g->seq == 0 || sp_reader_left(&r) > NET_PAYLOAD_MAX)
        return SP_ERR_INVALID;
    return sp_read_slice(&r, sp_reader_left(&r), &g->payload);
}

int net_gossip_is_broadcast(const net_gossip *g)
{
    static const uint8_t zero[NET_PUBKEY_LEN];
    return memcmp(g->dest, zero, NET_PUBKEY_LEN) == 0;
}

sp_err net_have_decode(sp_slice payload, net_have_entry **entries, size_t *n)
{
    sp_reader r;
    uint32_t count;
    *entries = NULL;
    *n = 0;
    sp_reader_init(&r, payload.ptr, payload.len);
    /* The count must match the bytes present, so it cannot make us allocate more than we read. */
    if (sp_read_u32(&r, &count) || count > NET_HAVE_MAX_ENTRIES || sp_reader_left(&r) != (size_t)count * 40)
        return SP_ERR_INVALID;
    if (count == 0)
        return SP_OK;
    net_have_entry *e = calloc(count, sizeof *e);
    if (!e)
        return SP_ERR_NOMEM;
    for (uint32_t i = 0; i < count; i++) {
        sp_read_copy(&r, e[i].origin, NET_PUBKEY_LEN);
        sp_read_u64(&r, &e[i].contig);
    }
    *entries = e;
    *n = count;
    return SP_OK;
}

sp_err net_close_encode(sp_buf *out, uint16_t code, const char *reason)
{
    size_t rl = strlen(reason);
    if (rl > NET_CLOSE_REASON_MAX)
        rl = NET_CLOSE_REASON_MAX;
    sp_buf_put_u32(out, (uint32_t)(1 + 2 + rl));
    sp_buf_put_u8(out, NET_T_CLOSE);
    sp_buf_put_u16(out, code);
    sp_buf_append(out, reason, rl);
    return out->failed ? SP_ERR_NOMEM : SP_OK;
}

sp_err net_close_decode(sp_slice payload, uint16_t *code, char reason[NET_CLOSE_REASON_MAX + 1])
{
    sp_reader r;
    sp_reader_init(&r, payload.ptr, payload.len);
    if (sp_read_u16(&r, code) || sp_reader_left(&r) > NET_CLOSE_REASON_MAX)
        return SP_ERR_INVALID;
    size_t n = sp_reader_left(&r);
    sp_read_copy(&r, reason, n);
    reason[n] = 0;
    for (size_t i = 0; i < n; i++) /* it goes into logs and API messages */
        if ((unsigned char)reason[i] < 0x20 || reason[i] == 0x7f)
            reason[i] = '?';
    return SP_OK;
}
