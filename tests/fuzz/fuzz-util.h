/* Shared by the libFuzzer targets in tests/fuzz/: check() aborts with the failed condition, so that
 * libFuzzer keeps the input as a crash, and a few helpers for the invariants. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define check(x)                                                                                            \
        do {                                                                                                \
                if (!(x)) {                                                                                 \
                        fprintf(stderr, "%s:%d: %s\n", __FILE__, __LINE__, #x);                             \
                        abort();                                                                            \
                }                                                                                           \
        } while (0)

/* A NUL-terminated copy of data (a NUL inside ends the string early); aborts when out of memory, which
 * under libFuzzer's malloc limit is a report anyway. */
static inline char *fuzz_strndup(const uint8_t *data, size_t size) {
        char *s = malloc(size + 1);

        check(s);
        memcpy(s, data, size);
        s[size] = '\0';
        return s;
}

/* Whether s is one line of text: no newline, no carriage return. */
static inline bool fuzz_is_one_line(const char *s) {
        return s && !strpbrk(s, "\r\n");
}
