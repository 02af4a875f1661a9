/* TAP-style checks shared by the C integration programs: "ok N - what" / "not ok N - what",
 * a fatal REQUIRE for steps the rest cannot do without, a monotonic clock and required env. */
#pragma once

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "macro.h"

static unsigned n_checks, n_failed;

/* Prints and counts one check; returns ok. */
_printf_(2, 3) static inline bool check(bool ok, const char *fmt, ...) {
        va_list ap;

        n_checks++;
        printf("%s %u - ", ok ? "ok" : "not ok", n_checks);
        va_start(ap, fmt);
        vprintf(fmt, ap);
        va_end(ap);
        putchar('\n');
        fflush(stdout);
        if (!ok)
                n_failed++;
        return ok;
}

/* A step the rest of the test cannot do without: silent when it works, fatal when not. */
#define REQUIRE(ok, ...)                                                                                    \
        do {                                                                                                \
                if (!(ok)) {                                                                                \
                        check(false, __VA_ARGS__);                                                          \
                        printf("# required step failed at %s:%d; stopping\n", __FILE__, __LINE__);          \
                        exit(EXIT_FAILURE);                                                                 \
                }                                                                                           \
        } while (0)

/* CLOCK_MONOTONIC in microseconds. */
static inline uint64_t now_usec(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * USEC_PER_SEC + (uint64_t) ts.tv_nsec / 1000;
}

/* A variable the test's shell wrapper must set; exits when it is missing. */
static inline const char *env(const char *name) {
        const char *v = getenv(name);

        if (!v || !*v) {
                printf("# %s is not set (run the test through its .sh wrapper)\n", name);
                exit(EXIT_FAILURE);
        }
        return v;
}
