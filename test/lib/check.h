/*
 * check.h — the unit-test harness: no framework, just counted checks.
 *
 * A test program calls CHECK()/CHECK_EQ_*() as it goes and ends main() with
 * `return check_done();`, which prints "N passed, N failed" as its last line
 * and returns non-zero if anything failed or nothing was checked.
 */
#ifndef SP_TEST_CHECK_H
#define SP_TEST_CHECK_H

#include <stdio.h>
#include <string.h>

extern int check_passed_, check_failed_;

#define CHECK(cond)                                                                  \
    do {                                                                             \
        if (cond) {                                                                  \
            check_passed_++;                                                         \
        } else {                                                                     \
            check_failed_++;                                                         \
            fprintf(stderr, "FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond);         \
        }                                                                            \
    } while (0)

#define CHECK_MSG(cond, ...)                                                         \
    do {                                                                             \
        if (cond) {                                                                  \
            check_passed_++;                                                         \
        } else {                                                                     \
            check_failed_++;                                                         \
            fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond);         \
            fprintf(stderr, __VA_ARGS__);                                            \
            fputc('\n', stderr);                                                     \
        }                                                                            \
    } while (0)

#define CHECK_MEM(a, b, n) CHECK_MSG(memcmp((a), (b), (n)) == 0, "bytes differ")

/* Defines the counters: put once in each test program. */
#define CHECK_MAIN_DEFS int check_passed_, check_failed_;

static inline int check_done(void)
{
    printf("%d passed, %d failed\n", check_passed_, check_failed_);
    return (check_failed_ || !check_passed_) ? 1 : 0;
}

#endif
