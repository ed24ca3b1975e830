/* vec_passive-client-welcome.c — passive-client-welcome.json: join from a Welcome and follow the group (see passive_client.c). */
#include "passive_client.h"

static void run(const json *root, vec_stats *st) { passive_client_run(root, st); }

MLS_VECTOR_CATEGORY("passive-client-welcome", run)
