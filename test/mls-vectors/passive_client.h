/* passive_client.h — the runner shared by the passive-client-* categories. */
#ifndef SP_TEST_PASSIVE_CLIENT_H
#define SP_TEST_PASSIVE_CLIENT_H

#include "vectors.h"

/* Joins from the case's Welcome and follows every epoch; NULL on success,
 * otherwise why the case failed. */
const char *passive_client_case(const json *c);
void passive_client_run(const json *root, vec_stats *st);

#endif
