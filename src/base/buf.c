/* buf.c — growable buffer and bounds-checked reader. */
#include "base/buf.h"

#include <stdlib.h>
#include <string.h>
#include <openssl/crypto.h>

void sp_buf_init(sp_buf *b)
{
    b->data = NULL;
    b->len = b->cap = 0;
    b->failed = 0;
}

void sp_buf_free(sp_buf *b)
{
    free(b->data);
    sp_buf_init(b);
}

void sp_buf_free_secret(sp_buf *b)
{
    if (b->data)
        OPENSSL_cleanse(b->data, b->cap);
    sp_buf_free(b);
}

void sp_buf_reset(sp_buf *b) { b->len = 0; }

sp_err sp_buf_reserve(sp_buf *b, size_t extra)
{
    if (b->failed)
        return SP_ERR_NOMEM;
    if (extra <= b->cap - b->len)
        return SP_OK;
    if (extra > SIZE_MAX / 2 - b->len) {
        b->failed = 1;
        return SP_ERR_NOMEM;
    }
    size_t want = b->len + extra;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < want)
        cap *= 2;
    uint8_t *p = realloc(b->data, cap);
    if (!p) {
        b->failed = 1;
        return SP_ERR_NOMEM;
    }
    b->data = p;
    b->cap = cap;
    return SP_OK;
}

sp_err sp_buf_append(sp_buf *b, const void *p, size_t n)
{
    if (n == 0)
        return b->failed ? SP_ERR_NOMEM : SP_OK;
    sp_err e = sp_buf_reserve(b, n);
    if (e)
        return e;
    memcpy(b->data + b->len, p, n);
    b->len += n;
    return SP_OK;
}

sp_err sp_buf_put_u8(sp_buf *b, uint8_t v) { return sp_buf_append(b, &v, 1); }

sp_err sp_buf_put_u16(sp_buf *b, uint16_t v)
{
    uint8_t x[2] = {(uint8_t)(v >> 8), (uint8_t)v};
    return sp_buf_append(b, x, 2);
}

sp_err sp_buf_put_u32(sp_buf *b, uint32_t v)
{
    uint8_t x[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
    return sp_buf_append(b, x, 4);
}

sp_err sp_buf_put_u64(sp_buf *b, uint64_t v)
{
    sp_err e = sp_buf_put_u32(b, (uint32_t)(v >> 32));
    return e ? e : sp_buf_put_u32(b, (uint32_t)v);
}

uint8_t *sp_buf_steal(sp_buf *b, size_t *len)
{
    uint8_t *p = b->data;
    if (len)
        *len = b->len;
    sp_buf_init(b);
    return p;
}

void sp_reader_init(sp_reader *r, const void *p, size_t n)
{
    r->p = p;
    r->left = p ? n : 0;
}

sp_err sp_read_u8(sp_reader *r, uint8_t *v)
{
    if (r->left < 1)
        return SP_ERR_TRUNCATED;
    *v = r->p[0];
    r->p++;
    r->left--;
    return SP_OK;
}

sp_err sp_peek_u8(const sp_reader *r, uint8_t *v)
{
    if (r->left < 1)
        return SP_ERR_TRUNCATED;
    *v = r->p[0];
    return SP_OK;
}

sp_err sp_read_u16(sp_reader *r, uint16_t *v)
{
    if (r->left < 2)
        return SP_ERR_TRUNCATED;
    *v = (uint16_t)((r->p[0] << 8) | r->p[1]);
    r->p += 2;
    r->left -= 2;
    return SP_OK;
}

sp_err sp_read_u32(sp_reader *r, uint32_t *v)
{
    if (r->left < 4)
        return SP_ERR_TRUNCATED;
    *v = ((uint32_t)r->p[0] << 24) | ((uint32_t)r->p[1] << 16) | ((uint32_t)r->p[2] << 8) | r->p[3];
    r->p += 4;
    r->left -= 4;
    return SP_OK;
}

sp_err sp_read_u64(sp_reader *r, uint64_t *v)
{
    if (r->left < 8)
        return SP_ERR_TRUNCATED;
    uint32_t hi, lo;
    sp_read_u32(r, &hi);
    sp_read_u32(r, &lo);
    *v = ((uint64_t)hi << 32) | lo;
    return SP_OK;
}

sp_err sp_read_slice(sp_reader *r, size_t n, sp_slice *out)
{
    if (r->left < n)
        return SP_ERR_TRUNCATED;
    out->ptr = r->p;
    out->len = n;
    r->p += n;
    r->left -= n;
    return SP_OK;
}

sp_err sp_read_copy(sp_reader *r, void *out, size_t n)
{
    if (r->left < n)
        return SP_ERR_TRUNCATED;
    if (n)
        memcpy(out, r->p, n);
    r->p += n;
    r->left -= n;
    return SP_OK;
}

sp_err sp_read_sub(sp_reader *r, size_t n, sp_reader *sub)
{
    if (r->left < n)
        return SP_ERR_TRUNCATED;
    sub->p = r->p;
    sub->left = n;
    r->p += n;
    r->left -= n;
    return SP_OK;
}

sp_err sp_read_skip(sp_reader *r, size_t n)
{
    if (r->left < n)
        return SP_ERR_TRUNCATED;
    r->p += n;
    r->left -= n;
    return SP_OK;
}
