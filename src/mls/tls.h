/*
 * tls.h — the TLS presentation language of RFC 9420 §2.1 on top of base/buf.
 *
 * MLS vectors carry a variable-length integer length prefix (§2.1.2): 1, 2 or
 * 4 bytes selected by the top two bits, values up to 2^30-1, and the minimum
 * encoding is mandatory (a non-minimal prefix is rejected). Every MLS encoder
 * and decoder goes through these helpers and sp_reader/sp_buf, so no MLS code
 * touches raw pointers into untrusted input.
 */
#ifndef SP_MLS_TLS_H
#define SP_MLS_TLS_H

#include <stddef.h>
#include <stdint.h>
#include "base/buf.h"

#define MLS_VARINT_MAX 0x3fffffffu

sp_err mls_put_varint(sp_buf *b, uint64_t v);
/* Writes a varint length and then the bytes: opaque data<V>. */
sp_err mls_put_opaque(sp_buf *b, const void *p, size_t n);
/* For nested vectors whose length is unknown up front: remember where the
 * vector starts, write its content, then mls_vec_end fixes the prefix. */
size_t mls_vec_begin(sp_buf *b);
sp_err mls_vec_end(sp_buf *b, size_t start);

/* Reads a varint, rejecting non-minimal encodings and the reserved 0b11 prefix. */
sp_err mls_read_varint(sp_reader *r, uint64_t *v);
/* Reads opaque data<V> as a view into the input. */
sp_err mls_read_opaque(sp_reader *r, sp_slice *out);
/* Reads a vector's length prefix and returns a sub-reader over its body. */
sp_err mls_read_vec(sp_reader *r, sp_reader *body);
/* Reads an optional<T> presence octet (0 or 1; anything else is invalid). */
sp_err mls_read_optional(sp_reader *r, int *present);

#endif
