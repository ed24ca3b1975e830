/* frame.c — gRPC message deframing and grpc-timeout parsing. */
#include "rpc/frame.h"

#include <stdio.h>
#include <string.h>

void rpc_deframer_init(rpc_deframer *d, size_t max)
{
    memset(d, 0, sizeof *d);
    d->max = max;
}

void rpc_deframer_free(rpc_deframer *d) { sp_buf_free(&d->body); }

sp_err rpc_deframer_feed(rpc_deframer *d, const uint8_t *p, size_t len, rpc_deframer_msg_fn fn, void *user)
{
    if (d->failed)
        return d->failed;
    sp_reader r;
    sp_reader_init(&r, p, len);
    while (sp_reader_left(&r) > 0) {
        if (d->hdr_have < RPC_FRAME_PREFIX) {
            size_t take = RPC_FRAME_PREFIX - d->hdr_have;
            if (take > sp_reader_left(&r))
                take = sp_reader_left(&r);
            sp_read_copy(&r, d->hdr + d->hdr_have, take);
            d->hdr_have = (uint8_t)(d->hdr_have + take);
            if (d->hdr_have < RPC_FRAME_PREFIX)
                break;
            sp_reader h;
            uint8_t flag;
            sp_reader_init(&h, d->hdr, RPC_FRAME_PREFIX);
            sp_read_u8(&h, &flag);
            sp_read_u32(&h, &d->need);
            if (flag > 1)
                return d->failed = SP_ERR_INVALID;
            if (flag == 1)
                return d->failed = SP_ERR_UNSUPPORTED;
            if (d->need > d->max)
                return d->failed = SP_ERR_TOO_LARGE;
            sp_buf_reset(&d->body);
        }
        size_t want = d->need - d->body.len;
        sp_slice chunk;
        if (want > 0) {
            size_t take = want < sp_reader_left(&r) ? want : sp_reader_left(&r);
            sp_read_slice(&r, take, &chunk);
            /* a whole message inside one chunk needs no copy */
            if (d->body.len == 0 && take == d->need) {
                d->hdr_have = 0;
                d->done++;
                sp_err e = fn(user, chunk);
                if (e)
                    return d->failed = e;
                continue;
            }
            if (sp_buf_append(&d->body, chunk.ptr, chunk.len))
                return d->failed = SP_ERR_NOMEM;
            if (d->body.len < d->need)
                break;
        }
        d->hdr_have = 0;
        d->done++;
        sp_err e = fn(user, sp_buf_slice(&d->body));
        sp_buf_reset(&d->body);
        if (e)
            return d->failed = e;
    }
    return SP_OK;
}

void rpc_frame_prefix(uint8_t out[RPC_FRAME_PREFIX], uint32_t len)
{
    out[0] = 0;
    out[1] = (uint8_t)(len >> 24);
    out[2] = (uint8_t)(len >> 16);
    out[3] = (uint8_t)(len >> 8);
    out[4] = (uint8_t)len;
}

sp_err rpc_parse_timeout(const char *v, size_t len, uint64_t *usec)
{
    if (len < 2 || len > 9)
        return SP_ERR_INVALID;
    uint64_t n = 0;
    for (size_t i = 0; i + 1 < len; i++) {
        if (v[i] < '0' || v[i] > '9')
            return SP_ERR_INVALID;
        n = n * 10 + (uint64_t)(v[i] - '0');
    }
    /* at most 8 digits, so n < 1e8 and none of these products overflow */
    switch (v[len - 1]) {
    case 'H': *usec = n * 3600ull * 1000000ull; break;
    case 'M': *usec = n * 60ull * 1000000ull; break;
    case 'S': *usec = n * 1000000ull; break;
    case 'm': *usec = n * 1000ull; break;
    case 'u': *usec = n; break;
    case 'n': *usec = (n + 999) / 1000; break;
    default: return SP_ERR_INVALID;
    }
    return SP_OK;
}

void rpc_format_timeout(uint64_t msec, char out[16])
{
    if (msec < 100000000ull)
        snprintf(out, 16, "%llum", (unsigned long long)msec);
    else if (msec / 1000 < 100000000ull)
        snprintf(out, 16, "%lluS", (unsigned long long)(msec / 1000));
    else
        snprintf(out, 16, "%lluH", (unsigned long long)(msec / 3600000ull % 100000000ull));
}
