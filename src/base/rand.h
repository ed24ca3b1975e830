/* rand.h — cryptographically secure random bytes (OpenSSL's DRBG) for the daemon.
 * mls/ does not use this directly: it takes an injectable source so vectors can drive it. */
#ifndef SP_BASE_RAND_H
#define SP_BASE_RAND_H

#include <stddef.h>
#include <stdint.h>
#include "base/err.h"

sp_err sp_random(void *out, size_t n);
/* The same for small draws (n <= SP_RANDOM_SMALL_MAX), from a per-thread pool that sp_random fills
 * 1 KiB at a time: RAND_bytes costs about 2 µs a call whatever the size, a noticeable share of a
 * message's cost. Bytes handed out are wiped from the pool; a forked child refills its own. */
#define SP_RANDOM_SMALL_MAX 64
sp_err sp_random_small(void *out, size_t n);
/* A random UUID v4 as 36 lowercase characters plus NUL. */
sp_err sp_uuid_v4(char out[37]);
/* True when s is a UUID v4 in canonical lowercase form. */
int sp_uuid_is_valid(const char *s);

#endif
