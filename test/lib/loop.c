/* loop.c — see loop.h. */
#include "loop.h"

#include <event2/event.h>
#include <event2/util.h>

static void tick(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    event_base_loopbreak(arg);
}

int loop_run_until(struct event_base *base, loop_pred_fn p, void *arg, int ms)
{
    struct event *t = event_new(base, -1, EV_PERSIST, tick, base);
    struct timeval tv = {0, 2000};
    event_add(t, &tv);
    struct timeval deadline;
    evutil_gettimeofday(&deadline, NULL);
    deadline.tv_sec += ms / 1000;
    deadline.tv_usec += (ms % 1000) * 1000;
    int ok = 0;
    for (;;) {
        if (p(arg)) {
            ok = 1;
            break;
        }
        struct timeval now;
        evutil_gettimeofday(&now, NULL);
        if (evutil_timercmp(&now, &deadline, >))
            break;
        event_base_loop(base, EVLOOP_ONCE);
    }
    event_free(t);
    return ok;
}

void loop_run_for(struct event_base *base, int ms)
{
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
    event_base_loopexit(base, &tv);
    event_base_dispatch(base);
}
