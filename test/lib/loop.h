/*
 * loop.h — driving a libevent loop from a unit test: until something holds, or for a while.
 */
#ifndef SP_TEST_LOOP_H
#define SP_TEST_LOOP_H

struct event_base;

typedef int (*loop_pred_fn)(void *arg);

/* Runs base until p(arg) holds (asked at least every 2 ms) or ms pass; returns whether it held. */
int loop_run_until(struct event_base *base, loop_pred_fn p, void *arg, int ms);
/* Runs base for ms. */
void loop_run_for(struct event_base *base, int ms);

#endif
