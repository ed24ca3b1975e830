/*
 * vectors.h — how a category of official test vectors plugs into build/mls-vectors.
 *
 * Each category lives in its own file test/mls-vectors/vec_<name>.c and
 * registers itself with MLS_VECTOR_CATEGORY(name, fn). fn receives the parsed
 * JSON file and reports each case with vec_case(); a failing case prints why.
 */
#ifndef SP_TEST_VECTORS_H
#define SP_TEST_VECTORS_H

#include <stddef.h>
#include "json.h"

typedef struct vec_stats {
    int passed, failed;
} vec_stats;

typedef void (*vec_fn)(const json *root, vec_stats *st);

void vec_register(const char *name, vec_fn fn);

/* Records one case: ok != 0 passes; otherwise prints "FAIL <category> case <i>: <why>". */
void vec_case(vec_stats *st, size_t index, int ok, const char *why);

#define MLS_VECTOR_CATEGORY(name, fn) \
    __attribute__((constructor)) static void vec_reg_##fn(void) { vec_register(name, fn); }

#endif
