/* Host name resolution in a helper thread. See resolve.h.
 *
 * A thread plus an eventfd rather than getaddrinfo_a(), which reports through a signal or polling,
 * or a child process, which is more machinery. The thread is detached and never cancelled: a lookup
 * cannot be interrupted, so whoever stops waiting just lets go of the job, and the last of the two
 * references (the caller's and the thread's) frees it. */
#include <errno.h>
#include <netdb.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>

#include "macro.h"
#include "resolve.h"

struct resolve_job {
        int n_ref; /* __atomic */
        int done;  /* __atomic; set by the thread, after it wrote result and before it writes efd */
        int efd;   /* eventfd the thread writes once; closed with the job */
        resolve_result result;
        char host[];
};

/* The numeric form of one address, appended to r->addresses; false when it has none. */
static bool resolve_add_address(resolve_result *r, const struct addrinfo *ai) {
        if (getnameinfo(ai->ai_addr, ai->ai_addrlen, r->addresses[r->n_addresses], RESOLVE_ADDRESS_MAX, NULL,
                    0, NI_NUMERICHOST) != 0)
                return false;
        r->n_addresses++;
        return true;
}

bool resolve_numeric(const char *host, resolve_result *ret) {
        struct addrinfo hints = {.ai_flags = AI_NUMERICHOST, .ai_socktype = SOCK_STREAM}, *ai = NULL;
        resolve_result r = {};
        bool ok;

        if (!host || getaddrinfo(host, NULL, &hints, &ai) != 0)
                return false;
        ok = resolve_add_address(&r, ai);
        freeaddrinfo(ai);
        if (ok)
                *ret = r;
        return ok;
}

resolve_job *resolve_job_unref(resolve_job *j) {
        if (!j || __atomic_sub_fetch(&j->n_ref, 1, __ATOMIC_ACQ_REL) > 0)
                return NULL;
        close(j->efd);
        free(j);
        return NULL;
}

static void *resolve_thread(void *arg) {
        resolve_job *j = arg;
        resolve_result *r = &j->result;
        struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *ai = NULL;

        r->gai_error = getaddrinfo(j->host, NULL, &hints, &ai);
        for (struct addrinfo *p = ai; p && r->n_addresses < RESOLVE_ADDRESSES_MAX; p = p->ai_next)
                (void) resolve_add_address(r, p);
        if (ai)
                freeaddrinfo(ai);
        if (r->gai_error == 0 && r->n_addresses == 0)
                r->gai_error = EAI_NONAME;
        __atomic_store_n(&j->done, 1, __ATOMIC_RELEASE);
        (void) eventfd_write(j->efd, 1);
        resolve_job_unref(j);
        return NULL;
}

int resolve_job_start(const char *host, resolve_job **ret) {
        resolve_job *j;
        sigset_t all, saved;
        pthread_attr_t attr;
        pthread_t thread;
        int r;

        if (!host || !ret)
                return -EINVAL;
        j = calloc(1, sizeof(resolve_job) + strlen(host) + 1);
        if (!j)
                return -ENOMEM;
        strcpy(j->host, host);
        j->n_ref = 2; /* the caller's and the thread's */
        j->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        r = j->efd < 0 ? errno : pthread_attr_init(&attr);
        if (r == 0) {
                (void) pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
                sigfillset(&all);
                (void) pthread_sigmask(SIG_SETMASK, &all, &saved);
                r = pthread_create(&thread, &attr, resolve_thread, j);
                (void) pthread_sigmask(SIG_SETMASK, &saved, NULL);
                (void) pthread_attr_destroy(&attr);
        }
        if (r != 0) {
                if (j->efd >= 0)
                        close(j->efd);
                free(j);
                return -r;
        }
        *ret = j;
        return 0;
}

int resolve_job_fd(const resolve_job *j) {
        return j ? j->efd : -EINVAL;
}

const resolve_result *resolve_job_result(const resolve_job *j) {
        return j && __atomic_load_n(&j->done, __ATOMIC_ACQUIRE) ? &j->result : NULL;
}
