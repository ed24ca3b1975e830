/* vec_passive-client-random.c — passive-client-random.json: join from a Welcome and follow the group
 * through 200 epochs of random adds, removes, updates and commits (see passive_client.c). */
#include "passive_client.h"

static void run(const json *root, vec_stats *st) { passive_client_run(root, st); }

MLS_VECTOR_CATEGORY("passive-client-random", run)
