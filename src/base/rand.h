/* rand.h — cryptographically secure random bytes (OpenSSL's DRBG) for the daemon.
 * mls/ does not use this directly: it takes an injectable source so vectors can drive it. */
#ifndef SP_BASE_RAND_H
#define SP_BASE_RAND_H

#include <stddef.h>
#include <stdint.h>
#include "base/err.h"

sp_err sp_random(void *out, size_t n);
/* A random UUID v4 as 36 lowercase characters plus NUL. */
sp_err sp_uuid_v4(char out[37]);
/* True when s is a UUID v4 in canonical lowercase form. */
int sp_uuid_is_valid(const char *s);

#endif
