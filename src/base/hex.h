/* hex.h — lowercase hex encoding and strict decoding (ids, logs, test vectors). */
#ifndef SP_BASE_HEX_H
#define SP_BASE_HEX_H

#include <stddef.h>
#include <stdint.h>
#include "base/err.h"

/* Writes 2*n lowercase hex chars and a NUL into out (size >= 2*n+1). */
void sp_hex_encode(const uint8_t *in, size_t n, char *out);
/* Decodes exactly 2*out_len hex chars (either case) from s of length slen. */
sp_err sp_hex_decode(const char *s, size_t slen, uint8_t *out, size_t out_len);
/* True when s is exactly 2*nbytes lowercase hex characters. */
int sp_hex_is_lower(const char *s, size_t nbytes);

#endif
