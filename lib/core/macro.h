/* Small helpers shared by every module: cleanup attributes, array size, ownership. */
#pragma once

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define _cleanup_(f) __attribute__((cleanup(f)))
#define _unused_ __attribute__((unused))
#define _printf_(a, b) __attribute__((format(printf, a, b)))
#define _warn_unused_result_ __attribute__((warn_unused_result))

#define ELEMENTSOF(x) (sizeof(x) / sizeof((x)[0]))

/* Take ownership of *p, leaving NULL behind (systemd's TAKE_PTR). */
#define TAKE_PTR(p)                                                                                \
        ({                                                                                         \
                __typeof__(p) *_pp_ = &(p);                                                        \
                __typeof__(p) _p_ = *_pp_;                                                         \
                *_pp_ = NULL;                                                                      \
                _p_;                                                                               \
        })

/* Take ownership of an fd, leaving -1 behind. */
#define TAKE_FD(fd)                                                                                \
        ({                                                                                         \
                int *_fdp_ = &(fd);                                                                \
                int _fd_ = *_fdp_;                                                                 \
                *_fdp_ = -1;                                                                       \
                _fd_;                                                                              \
        })

static inline void freep(void *p) {
        free(*(void **) p);
}
#define _cleanup_free_ _cleanup_(freep)

static inline void closep(int *fd) {
        if (*fd >= 0)
                close(*fd);
}
#define _cleanup_close_ _cleanup_(closep)

static inline bool streq_ptr(const char *a, const char *b) {
        if (!a || !b)
                return a == b;
        return strcmp(a, b) == 0;
}
#define streq(a, b) (strcmp((a), (b)) == 0)

#define USEC_PER_MSEC 1000ULL
#define USEC_PER_SEC 1000000ULL
