/* tls.c — variable-length integers and vectors of RFC 9420 §2.1. */
#include "mls/tls.h"

#include <string.h>

static size_t varint_size(uint64_t v)
{
    return v < 0x40 ? 1 : v < 0x4000 ? 2 : 4;
}

sp_err mls_put_varint(sp_buf *b, uint64_t v)
{
    if (v > MLS_VARINT_MAX)
        return SP_ERR_TOO_LARGE;
    if (v < 0x40)
        return sp_buf_put_u8(b, (uint8_t)v);
    if (v < 0x4000)
        return sp_buf_put_u16(b, (uint16_t)(0x4000 | v));
    return sp_buf_put_u32(b, (uint32_t)(0x80000000u | v));
}

sp_err mls_put_opaque(sp_buf *b, const void *p, size_t n)
{
    sp_err e = mls_put_varint(b, n);
    return e ? e : sp_buf_append(b, p, n);
}

size_t mls_vec_begin(sp_buf *b)
{
    /* reserve one prefix byte; mls_vec_end widens it if the body is longer */
    sp_buf_put_u8(b, 0);
    return b->len;
}

sp_err mls_vec_end(sp_buf *b, size_t start)
{
    if (b->failed)
        return SP_ERR_NOMEM;
    size_t body = b->len - start;
    if (body > MLS_VARINT_MAX)
        return SP_ERR_TOO_LARGE;
    size_t need = varint_size(body);
    if (need > 1) {
        sp_err e = sp_buf_reserve(b, need - 1);
        if (e)
            return e;
        memmove(b->data + start + need - 1, b->data + start, body);
        b->len += need - 1;
    }
    uint8_t *p = b->data + start - 1;
    if (need == 1) {
        p[0] = (uint8_t)body;
    } else if (need == 2) {
        p[0] = (uint8_t)(0x40 | (body >> 8));
        p[1] = (uint8_t)body;
    } else {
        p[0] = (uint8_t)(0x80 | (body >> 24));
        p[1] = (uint8_t)(body >> 16);
        p[2] = (uint8_t)(body >> 8);
        p[3] = (uint8_t)body;
    }
    return SP_OK;
}

sp_err mls_read_varint(sp_reader *r, uint64_t *v)
{
    uint8_t first;
    sp_err e = sp_peek_u8(r, &first);
    if (e)
        return e;
    unsigned prefix = first >> 6;
    if (prefix == 3)
        return SP_ERR_INVALID;
    size_t n = (size_t)1 << prefix;
    if (sp_reader_left(r) < n)
        return SP_ERR_TRUNCATED;
    uint64_t x = first & 0x3f;
    for (size_t i = 1; i < n; i++)
        x = (x << 8) | r->p[i];
    if (n > 1 && varint_size(x) != n)
        return SP_ERR_INVALID; /* not minimally encoded */
    sp_read_skip(r, n);
    *v = x;
    return SP_OK;
}

sp_err mls_read_opaque(sp_reader *r, sp_slice *out)
{
    sp_reader save = *r;
    uint64_t n;
    sp_err e = mls_read_varint(r, &n);
    if (e)
        return e;
    if (n > sp_reader_left(r)) {
        *r = save;
        return SP_ERR_TRUNCATED;
    }
    return sp_read_slice(r, (size_t)n, out);
}

sp_err mls_read_vec(sp_reader *r, sp_reader *body)
{
    sp_slice s;
    sp_err e = mls_read_opaque(r, &s);
    if (e)
        return e;
    sp_reader_init(body, s.ptr, s.len);
    return SP_OK;
}

sp_err mls_read_optional(sp_reader *r, int *present)
{
    uint8_t v;
    sp_err e = sp_read_u8(r, &v);
    if (e)
        return e;
    if (v > 1)
        return SP_ERR_INVALID;
    *present = v;
    return SP_OK;
}
