/*
 * base/clock.h — monotonic time, for intervals and timeouts (never for timestamps a user sees:
 * those are wall-clock, store_now_ms).
 */
#ifndef SP_BASE_CLOCK_H
#define SP_BASE_CLOCK_H

#include <stdint.h>

/* Milliseconds on CLOCK_MONOTONIC (from an arbitrary start). */
uint64_t sp_monotonic_ms(void);

#endif
