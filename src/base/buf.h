/*
 * buf.h — the growable byte buffer (all serialising) and the bounds-checked
 * reader (all parsing).
 *
 * sp_buf owns its bytes. Writes never fail silently: each returns sp_err, and
 * a failed allocation also latches buf->failed so a long run of puts can be
 * checked once at the end. Integers are big-endian (network order, as in
 * TLS/MLS and our frames).
 *
 * sp_reader is a non-owning cursor over untrusted bytes: every read checks the
 * remaining length first and fails with SP_ERR_TRUNCATED without moving. No
 * code should do pointer arithmetic on untrusted input outside this reader.
 */
#ifndef SP_BASE_BUF_H
#define SP_BASE_BUF_H

#include <stddef.h>
#include <stdint.h>
#include "base/err.h"

/* A non-owning view of bytes. */
typedef struct {
    const uint8_t *ptr;
    size_t len;
} sp_slice;

typedef struct {
    uint8_t *data;
    size_t len;
    size_t cap;
    int failed; /* latched when an allocation failed */
} sp_buf;

#define SP_BUF_INIT {NULL, 0, 0, 0}

void sp_buf_init(sp_buf *b);
/* Frees the storage (not the struct) and resets to empty. */
void sp_buf_free(sp_buf *b);
/* Like sp_buf_free, but wipes the bytes first: use for secrets. */
void sp_buf_free_secret(sp_buf *b);
/* Empties without freeing (len = 0). */
void sp_buf_reset(sp_buf *b);
sp_err sp_buf_reserve(sp_buf *b, size_t extra);
sp_err sp_buf_append(sp_buf *b, const void *p, size_t n);
sp_err sp_buf_put_u8(sp_buf *b, uint8_t v);
sp_err sp_buf_put_u16(sp_buf *b, uint16_t v);
sp_err sp_buf_put_u32(sp_buf *b, uint32_t v);
sp_err sp_buf_put_u64(sp_buf *b, uint64_t v);
/* Hands the bytes to the caller (who frees them) and resets b. */
uint8_t *sp_buf_steal(sp_buf *b, size_t *len);
static inline sp_slice sp_buf_slice(const sp_buf *b) { sp_slice s = {b->data, b->len}; return s; }

typedef struct {
    const uint8_t *p;
    size_t left;
} sp_reader;

void sp_reader_init(sp_reader *r, const void *p, size_t n);
static inline size_t sp_reader_left(const sp_reader *r) { return r->left; }
sp_err sp_read_u8(sp_reader *r, uint8_t *v);
sp_err sp_read_u16(sp_reader *r, uint16_t *v);
sp_err sp_read_u32(sp_reader *r, uint32_t *v);
sp_err sp_read_u64(sp_reader *r, uint64_t *v);
/* A view of the next n bytes (into the reader's input), and skips them. */
sp_err sp_read_slice(sp_reader *r, size_t n, sp_slice *out);
/* Copies the next n bytes into out. */
sp_err sp_read_copy(sp_reader *r, void *out, size_t n);
/* A sub-reader over the next n bytes, and skips them in r. */
sp_err sp_read_sub(sp_reader *r, size_t n, sp_reader *sub);
sp_err sp_read_skip(sp_reader *r, size_t n);
/* Peeks without consuming. */
sp_err sp_peek_u8(const sp_reader *r, uint8_t *v);

#endif
