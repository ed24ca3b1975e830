/*
 * parallel.h — runs the independent, costly items of one MLS operation on a
 * few threads: the key package checks of a multi-Add commit, a Welcome's
 * per-joiner HPKE encryptions, an UpdatePath's node key derivations and
 * per-copath-node encryptions. Each item costs at least one elliptic-curve
 * scalar multiplication (tens of µs), so splitting pays from two items on.
 *
 * The helper threads form one pool per process, started lazily on first use
 * (threads - 1 of them; the calling thread works too) and kept for the life
 * of the process, blocked on a condition variable between jobs (a child made
 * by fork starts a fresh pool). They block every asynchronous signal. The
 * pool runs one job at a time: a caller that finds it busy — another
 * thread's operation, or a nested call from inside an item — runs its items
 * itself, in order. A helper takes items only while it actually runs, so
 * when the other cores are busy the caller ends up doing most of them.
 *
 * Determinism is the caller's part: items write only to their own slots, and
 * anything drawn from a group's rng is drawn before the split, in item order
 * (see mls_rand_fixed), so the output bytes never depend on the threading.
 *
 * Items run OpenSSL on several threads at once: each must use its own EVP
 * contexts (crypto.c keeps its caches per thread) and only read shared keys.
 *
 * Ownership: nothing here allocates for the caller; the pool's threads are
 * never stopped (they hold no memory of any job once it has returned).
 */
#ifndef SP_MLS_PARALLEL_H
#define SP_MLS_PARALLEL_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "mls/crypto.h"

/* The most threads an operation uses by default (the default is the number
 * of online CPUs, at most this). */
#define MLS_PARALLEL_DEFAULT_MAX 4
#define MLS_PARALLEL_MAX 16

typedef sp_err (*mls_parallel_fn)(void *arg, size_t i);

/* Runs fn(arg, i) for every i in [0, n). Returns SP_OK, or the error of the
 * lowest i that failed — the same one a plain loop stopping at the first
 * error returns; items above a failed one may then not run at all. */
sp_err mls_parallel_for(size_t n, mls_parallel_fn fn, void *arg);

/* Threads per operation, the caller's included: 1 runs everything serially,
 * 0 restores the default; values above MLS_PARALLEL_MAX are capped. Takes
 * effect for the next operation; pool threads already started stay (idle). */
void mls_parallel_set_threads(unsigned n);
unsigned mls_parallel_threads(void);

/* An mls_rand that hands out the n bytes at p once, then fails
 * (SP_ERR_STATE): an item's randomness, drawn beforehand in order. */
typedef struct {
    const uint8_t *p;
    size_t n;
} mls_rand_fixed_src;
sp_err mls_rand_fixed(void *src, uint8_t *out, size_t n);

/* n items' randomness, `each` bytes apiece, into out (n * each bytes, secret:
 * wipe it): one draw per item from rng in item order — what a serial loop
 * drawing once per item would get — or one single draw from the system
 * source when rng is NULL. */
sp_err mls_rand_items(const mls_rand *rng, size_t n, size_t each, uint8_t *out);

#endif
