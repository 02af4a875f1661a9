/* Host names to numeric addresses without blocking an event loop.
 *
 * An IP literal is recognised on the spot (resolve_numeric(), no lookup). A name is looked up by
 * getaddrinfo() in a detached helper thread (resolve_job_start()), which signals an eventfd the
 * caller watches for EPOLLIN; the caller keeps its own deadline. A hung resolver (a stuck NSS module,
 * a dead DNS server) only ties up that thread: the caller may stop waiting at any time, and keeping
 * the job to wait for it again (rather than starting another) bounds it to one thread per caller.
 *
 * Nothing here logs, and nothing depends on an event loop: the caller watches the fd. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

/* Addresses tried per name, in getaddrinfo()'s order ("localhost" may give ::1, then 127.0.0.1). */
#define RESOLVE_ADDRESSES_MAX 4
/* Room for a numeric IPv6 address with a scope: "ffff:...%interface". */
#define RESOLVE_ADDRESS_MAX 64

/* What a name resolved to. */
typedef struct resolve_result {
        int gai_error;      /* 0, or getaddrinfo()'s EAI_* (for gai_strerror()); EAI_NONAME if none usable */
        size_t n_addresses; /* at least 1 when gai_error is 0 */
        char addresses[RESOLVE_ADDRESSES_MAX][RESOLVE_ADDRESS_MAX]; /* numeric, NUL-terminated */
} resolve_result;

/* One lookup in a helper thread; refcounted, as the caller and the thread may let go in any order. */
typedef struct resolve_job resolve_job;

/* Whether host is an IP literal; if so, *ret holds its numeric form as the one address. Never looks
 * anything up (AI_NUMERICHOST) and never blocks. */
bool resolve_numeric(const char *host, resolve_result *ret);

/* Starts looking host up in a new detached thread that blocks all signals (they stay with the
 * caller's signalfd). 0 and *ret; -ENOMEM, or the negative errno of eventfd() or pthread_create(). */
int resolve_job_start(const char *host, resolve_job **ret);

/* Drops the caller's reference (stop watching resolve_job_fd() first: the fd closes with the last
 * reference); a running thread keeps its own and finishes in its own time. NULL-safe; returns NULL. */
resolve_job *resolve_job_unref(resolve_job *j);

/* The eventfd (O_CLOEXEC, non-blocking) that becomes readable once the job is done, and stays so
 * (nothing reads it); valid until the caller's reference is dropped. */
int resolve_job_fd(const resolve_job *j);

/* The answer once the thread is done (complete and unchanging from then on, valid until
 * resolve_job_unref()); NULL while it still runs. */
const resolve_result *resolve_job_result(const resolve_job *j);
