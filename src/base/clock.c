/* clock.c — monotonic time (see clock.h). */
#include "base/clock.h"

#include <time.h>

uint64_t sp_monotonic_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}
