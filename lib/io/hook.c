#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "hook.h"
#include "macro.h"

/* One event, shared by the hooks it runs. */
typedef struct hook_batch {
        unsigned n_ref;
        char *cluster;
        sentinel_event event;
        uint64_t epoch;
        hook_invocation *invocation;
} hook_batch;

typedef struct hook_job hook_job;

/* One hook for one event. At any time in at most one list: a queue, or a pre request's pending. */
struct hook_job {
        hook_dispatcher *dispatcher;
        hook_batch *batch;
        hook_conf hook; /* a copy; hook.command is ours */
        runner *runner; /* while it runs */
        hook_pre *pre;  /* the request it belongs to; NULL for a notify hook */
        hook_job *prev, *next;
};

typedef struct hook_job_list {
        hook_job *head, *tail;
        size_t n;
} hook_job_list;

struct hook_pre {
        unsigned n_ref; /* one for the handle (dropped by the verdict or a cancel), one per frame */
        bool stopped;   /* finished or cancelled: nothing more runs, no (further) verdict */
        bool in_verdict;
        hook_dispatcher *dispatcher; /* not a reference: the dispatcher stops us when it goes */
        hook_job_list pending;       /* still to run, in config order */
        hook_job *current;           /* running */
        sd_event_source *start_source;
        hook_verdict_handler handler;
        void *userdata;
        hook_pre *prev, *next;
};

struct hook_dispatcher {
        unsigned n_ref; /* one for the owner, one per frame that calls out to a handler */
        bool freed;
        sd_event *event;
        unsigned max_running, max_queued;
        uint64_t kill_grace_usec;
        hook_job_list queued;  /* notify hooks waiting, oldest first */
        hook_job_list running; /* notify hooks running */
        hook_job_list dropped; /* dropped, to be reported from the loop */
        hook_pre *pres;        /* pre requests not yet decided */
        unsigned n_pre_running;
        sd_event_source *kick_source; /* reports drops and starts queued hooks, from the loop */
        hook_stats stats;
        hook_report_handler handler;
        void *userdata;
};

static const char *const hook_outcome_table[_HOOK_OUTCOME_MAX] = {
        [HOOK_OUTCOME_SUCCESS] = "success",
        [HOOK_OUTCOME_FAILED] = "failed",
        [HOOK_OUTCOME_TIMEOUT] = "timeout",
        [HOOK_OUTCOME_ERROR] = "error",
        [HOOK_OUTCOME_DROPPED] = "dropped",
};

const char *hook_outcome_to_string(hook_outcome o) {
        if (o < 0 || o >= _HOOK_OUTCOME_MAX)
                return NULL;
        return hook_outcome_table[o];
}

hook_outcome hook_outcome_from_result(const runner_result *res) {
        if (!res)
                return _HOOK_OUTCOME_INVALID;
        if (res->exec_error < 0)
                return HOOK_OUTCOME_ERROR;
        if (res->timed_out)
                return HOOK_OUTCOME_TIMEOUT;
        if (res->code == CLD_EXITED && res->status == 0)
                return HOOK_OUTCOME_SUCCESS;
        return HOOK_OUTCOME_FAILED;
}

static void hook_list_append(hook_job_list *l, hook_job *j) {
        j->prev = l->tail;
        j->next = NULL;
        if (l->tail)
                l->tail->next = j;
        else
                l->head = j;
        l->tail = j;
        l->n++;
}

static void hook_list_remove(hook_job_list *l, hook_job *j) {
        if (j->prev)
                j->prev->next = j->next;
        else
                l->head = j->next;
        if (j->next)
                j->next->prev = j->prev;
        else
                l->tail = j->prev;
        j->prev = j->next = NULL;
        l->n--;
}

static hook_job *hook_list_pop(hook_job_list *l) {
        hook_job *j = l->head;

        if (j)
                hook_list_remove(l, j);
        return j;
}

static hook_batch *hook_batch_unref(hook_batch *b) {
        if (!b || --b->n_ref > 0)
                return NULL;
        hook_invocation_free(b->invocation);
        free(b->cluster);
        free(b);
        return NULL;
}

static void hook_batch_unrefp(hook_batch **b) {
        hook_batch_unref(*b);
}

static int hook_batch_new(const hook_event *ev, hook_batch **ret) {
        _cleanup_(hook_batch_unrefp) hook_batch *b = NULL;
        int r;

        b = calloc(1, sizeof(*b));
        if (!b)
                return -ENOMEM;
        b->n_ref = 1;
        b->event = ev->event;
        b->epoch = ev->epoch;
        r = hook_event_build(ev, HOOK_TARGET_HOOK, &b->invocation);
        if (r < 0)
                return r;
        b->cluster = strdup(ev->cluster);
        if (!b->cluster)
                return -ENOMEM;
        *ret = TAKE_PTR(b);
        return 0;
}

/* Frees a job that is in no list; a running hook is killed and reaped. */
static hook_job *hook_job_free(hook_job *j) {
        if (!j)
                return NULL;
        runner_free(j->runner);
        hook_batch_unref(j->batch);
        free(j->hook.command);
        free(j);
        return NULL;
}

static hook_job *hook_job_new(hook_dispatcher *d, hook_batch *b, const hook_conf *hook, hook_pre *pre) {
        hook_job *j = calloc(1, sizeof(*j));

        if (!j)
                return NULL;
        j->hook = *hook;
        j->hook.command = hook->command ? strdup(hook->command) : NULL;
        if (hook->command && !j->hook.command) {
                free(j);
                return NULL;
        }
        j->dispatcher = d;
        j->batch = b;
        b->n_ref++;
        j->pre = pre;
        return j;
}

static void hook_job_list_free(hook_job_list *l) {
        hook_job *j;

        while ((j = hook_list_pop(l)))
                hook_job_free(j);
}

static hook_dispatcher *hook_dispatcher_ref(hook_dispatcher *d) {
        d->n_ref++;
        return d;
}

static hook_dispatcher *hook_dispatcher_unref(hook_dispatcher *d) {
        if (!d || --d->n_ref > 0)
                return NULL;
        /* hook_dispatcher_free() has released everything else. */
        sd_event_unref(d->event);
        free(d);
        return NULL;
}

static void hook_report_emit(
        hook_dispatcher *d, hook_job *j, hook_outcome o, const runner_result *res, int error) {
        if (!d->handler || d->freed)
                return;
        d->handler(d,
                &(hook_report){
                        .hook = &j->hook,
                        .cluster = j->batch->cluster,
                        .event = j->batch->event,
                        .epoch = j->batch->epoch,
                        .outcome = o,
                        .result = res,
                        .error = error,
                },
                d->userdata);
}

static void hook_job_on_done(runner *rn, const runner_result *res, void *userdata);

/* Starts j's process; counts the attempt, and a failure to start. */
static int hook_job_start(hook_job *j) {
        hook_dispatcher *d = j->dispatcher;
        const hook_invocation *inv = j->batch->invocation;
        uint64_t timeout_ms = j->hook.timeout_ms ?: CONFIG_DEFAULT_HOOK_TIMEOUT_MS;
        int r;

        d->stats.runs++;
        r = runner_start(d->event,
                &(runner_params){
                        .command = j->hook.command,
                        .env = inv->env,
                        .input = inv->input,
                        .input_size = inv->input_size,
                        .timeout_usec = timeout_ms < UINT64_MAX / USEC_PER_MSEC ? timeout_ms * USEC_PER_MSEC
                                                                                : UINT64_MAX,
                        .kill_grace_usec = d->kill_grace_usec,
                },
                hook_job_on_done, j, &j->runner);
        if (r < 0)
                d->stats.failures++;
        return r;
}

/* Starts queued notify hooks while there is room. */
static void hook_dispatcher_start_queued(hook_dispatcher *d) {
        hook_job *j;

        hook_dispatcher_ref(d);
        while (!d->freed && d->running.n < d->max_running && (j = hook_list_pop(&d->queued))) {
                int r = hook_job_start(j);

                if (r >= 0) {
                        hook_list_append(&d->running, j);
                        continue;
                }
                hook_report_emit(d, j, HOOK_OUTCOME_ERROR, NULL, r);
                hook_job_free(j);
        }
        hook_dispatcher_unref(d);
}

static int hook_dispatcher_on_kick(sd_event_source *s, void *userdata) {
        hook_dispatcher *d = hook_dispatcher_ref(userdata);
        hook_job *j;

        while (!d->freed && (j = hook_list_pop(&d->dropped))) {
                hook_report_emit(d, j, HOOK_OUTCOME_DROPPED, NULL, 0);
                hook_job_free(j);
        }
        if (!d->freed)
                hook_dispatcher_start_queued(d);
        hook_dispatcher_unref(d);
        return 0;
}

static hook_pre *hook_pre_ref(hook_pre *p) {
        p->n_ref++;
        return p;
}

static hook_pre *hook_pre_unref(hook_pre *p) {
        if (!p || --p->n_ref > 0)
                return NULL;
        p->start_source = sd_event_source_disable_unref(p->start_source);
        hook_job_free(p->current);
        hook_job_list_free(&p->pending);
        free(p);
        return NULL;
}

static void hook_pre_unrefp(hook_pre **p) {
        hook_pre_unref(*p);
}

/* Ends p for good: out of the dispatcher's list, its running hook killed, the rest forgotten. */
static void hook_pre_stop(hook_pre *p) {
        hook_dispatcher *d = p->dispatcher;

        if (p->stopped)
                return;
        p->stopped = true;
        if (p->prev)
                p->prev->next = p->next;
        else
                d->pres = p->next;
        if (p->next)
                p->next->prev = p->prev;
        p->prev = p->next = NULL;

        p->start_source = sd_event_source_disable_unref(p->start_source);
        if (p->current) {
                p->current = hook_job_free(p->current);
                d->n_pre_running--;
        }
        hook_job_list_free(&p->pending);
}

/* Delivers the verdict and drops the handle's reference; the caller holds one of its own. */
static void hook_pre_finish(hook_pre *p, const hook_verdict *v) {
        hook_dispatcher *d = p->dispatcher;

        hook_pre_stop(p);
        p->in_verdict = true;
        if (p->handler && !d->freed)
                p->handler(d, v, p->userdata);
        p->in_verdict = false;
        hook_pre_unref(p);
}

/* Starts p's next hook, or delivers the verdict when none is left. */
static void hook_pre_next(hook_pre *p) {
        hook_dispatcher *d = hook_dispatcher_ref(p->dispatcher);
        hook_job *j;
        int r;

        hook_pre_ref(p);
        j = hook_list_pop(&p->pending);
        if (!j)
                hook_pre_finish(p, &(hook_verdict){.allow = true});
        else if ((r = hook_job_start(j)) >= 0) {
                p->current = j;
                d->n_pre_running++;
        } else {
                hook_report_emit(d, j, HOOK_OUTCOME_ERROR, NULL, r);
                if (!p->stopped)
                        hook_pre_finish(
                                p, &(hook_verdict){
                                           .hook = &j->hook, .outcome = HOOK_OUTCOME_ERROR, .error = r});
                hook_job_free(j);
        }
        hook_pre_unref(p);
        hook_dispatcher_unref(d);
}

static int hook_pre_on_start(sd_event_source *s, void *userdata) {
        hook_pre *p = userdata;

        p->start_source = sd_event_source_disable_unref(p->start_source);
        hook_pre_next(p);
        return 0;
}

static void hook_pre_on_job_done(hook_pre *p, hook_job *j, hook_outcome o, const runner_result *res) {
        hook_dispatcher *d = p->dispatcher;
        int error = o == HOOK_OUTCOME_ERROR ? res->exec_error : 0;

        hook_pre_ref(p);
        p->current = NULL;
        d->n_pre_running--;
        hook_report_emit(d, j, o, res, error);
        if (!p->stopped) {
                if (o == HOOK_OUTCOME_SUCCESS)
                        hook_pre_next(p);
                else
                        hook_pre_finish(
                                p, &(hook_verdict){
                                           .hook = &j->hook, .outcome = o, .result = res, .error = error});
        }
        hook_job_free(j);
        hook_pre_unref(p);
}

static void hook_job_on_done(runner *rn, const runner_result *res, void *userdata) {
        hook_job *j = userdata;
        hook_dispatcher *d = hook_dispatcher_ref(j->dispatcher);
        hook_outcome o = hook_outcome_from_result(res);

        j->runner = runner_free(j->runner); /* already reaped: this only frees */
        if (o != HOOK_OUTCOME_SUCCESS)
                d->stats.failures++;
        if (o == HOOK_OUTCOME_TIMEOUT)
                d->stats.timeouts++;

        if (j->pre)
                hook_pre_on_job_done(j->pre, j, o, res);
        else {
                hook_list_remove(&d->running, j);
                hook_report_emit(d, j, o, res, o == HOOK_OUTCOME_ERROR ? res->exec_error : 0);
                hook_job_free(j);
                hook_dispatcher_start_queued(d);
        }
        hook_dispatcher_unref(d);
}

int hook_dispatcher_new(sd_event *e, const hook_dispatcher_params *params, hook_report_handler handler,
        void *userdata, hook_dispatcher **ret) {
        _cleanup_(hook_dispatcher_freep) hook_dispatcher *d = NULL;
        int r;

        if (!e || !ret)
                return -EINVAL;
        d = calloc(1, sizeof(*d));
        if (!d)
                return -ENOMEM;
        d->n_ref = 1;
        d->event = sd_event_ref(e);
        d->max_running = params && params->max_running > 0 ? params->max_running : HOOK_MAX_RUNNING_DEFAULT;
        d->max_queued = params && params->max_queued > 0 ? params->max_queued : HOOK_MAX_QUEUED_DEFAULT;
        d->kill_grace_usec = params ? params->kill_grace_usec : 0;
        d->handler = handler;
        d->userdata = userdata;

        r = sd_event_add_defer(e, &d->kick_source, hook_dispatcher_on_kick, d);
        if (r < 0)
                return r;
        r = sd_event_source_set_enabled(d->kick_source, SD_EVENT_OFF);
        if (r < 0)
                return r;
        (void) sd_event_source_set_description(d->kick_source, "hook-kick");
        *ret = TAKE_PTR(d);
        return 0;
}

hook_dispatcher *hook_dispatcher_free(hook_dispatcher *d) {
        if (!d || d->freed)
                return NULL;
        d->freed = true;
        d->kick_source = sd_event_source_disable_unref(d->kick_source);
        hook_job_list_free(&d->queued);
        hook_job_list_free(&d->dropped);
        hook_job_list_free(&d->running); /* kills and reaps */
        while (d->pres) {
                hook_pre *p = d->pres;

                hook_pre_stop(p);
                hook_pre_unref(p); /* the handle's reference */
        }
        return hook_dispatcher_unref(d);
}

static bool hook_matches(const hook_conf *h, hook_class class, sentinel_event event) {
        return h->class == class && (h->event_mask & EVENT_MASK(event));
}

static bool hook_args_valid(
        const hook_dispatcher *d, const hook_conf *hooks, size_t n_hooks, const hook_event *ev) {
        return d && !d->freed && (hooks || n_hooks == 0) && ev && ev->event >= 0 && ev->event < _EVENT_MAX &&
               ev->cluster;
}

int hook_dispatcher_notify(
        hook_dispatcher *d, const hook_conf *hooks, size_t n_hooks, const hook_event *ev) {
        _cleanup_(hook_batch_unrefp) hook_batch *b = NULL;
        hook_job_list new = {};
        hook_job *j;
        size_t n;
        int r;

        if (!hook_args_valid(d, hooks, n_hooks, ev))
                return -EINVAL;
        for (size_t i = 0; i < n_hooks; i++) {
                if (!hook_matches(&hooks[i], HOOK_CLASS_NOTIFY, ev->event))
                        continue;
                if (!b) {
                        r = hook_batch_new(ev, &b);
                        if (r < 0)
                                goto fail;
                }
                j = hook_job_new(d, b, &hooks[i], NULL);
                if (!j) {
                        r = -ENOMEM;
                        goto fail;
                }
                hook_list_append(&new, j);
        }
        n = new.n;
        if (n == 0)
                return 0;

        /* The event loop starts them (and reports the drops): never a fork or a handler call from
         * within the caller's step. */
        r = sd_event_source_set_enabled(d->kick_source, SD_EVENT_ONESHOT);
        if (r < 0)
                goto fail;

        while ((j = hook_list_pop(&new))) {
                hook_list_append(&d->queued, j);
                if (d->queued.n <= d->max_queued)
                        continue;
                /* Full: the oldest goes (see hook.h for why). Its report waits for the loop; those
                 * reports are bounded too, the counter is exact. */
                j = hook_list_pop(&d->queued);
                d->stats.drops++;
                if (d->dropped.n < d->max_queued)
                        hook_list_append(&d->dropped, j);
                else
                        hook_job_free(j);
        }
        return n > INT32_MAX ? INT32_MAX : (int) n;

fail:
        hook_job_list_free(&new);
        return r;
}

int hook_dispatcher_run_pre(hook_dispatcher *d, const hook_conf *hooks, size_t n_hooks, const hook_event *ev,
        hook_verdict_handler handler, void *userdata, hook_pre **ret) {
        _cleanup_(hook_batch_unrefp) hook_batch *b = NULL;
        _cleanup_(hook_pre_unrefp) hook_pre *p = NULL;
        int r;

        if (!hook_args_valid(d, hooks, n_hooks, ev))
                return -EINVAL;
        p = calloc(1, sizeof(*p));
        if (!p)
                return -ENOMEM;
        p->n_ref = 1;
        p->dispatcher = d;
        p->handler = handler;
        p->userdata = userdata;

        for (size_t i = 0; i < n_hooks; i++) {
                hook_job *j;

                if (!hook_matches(&hooks[i], HOOK_CLASS_PRE, ev->event))
                        continue;
                if (!b) {
                        r = hook_batch_new(ev, &b);
                        if (r < 0)
                                return r;
                }
                j = hook_job_new(d, b, &hooks[i], p);
                if (!j)
                        return -ENOMEM;
                hook_list_append(&p->pending, j);
        }

        /* Even with nothing to run, the verdict comes from the loop: one code path for the caller. */
        r = sd_event_add_defer(d->event, &p->start_source, hook_pre_on_start, p);
        if (r < 0)
                return r;
        (void) sd_event_source_set_description(p->start_source, "hook-pre-start");

        p->next = d->pres;
        if (d->pres)
                d->pres->prev = p;
        d->pres = p;
        if (ret)
                *ret = p;
        TAKE_PTR(p);
        return 0;
}

hook_pre *hook_pre_cancel(hook_pre *p) {
        if (!p || p->in_verdict || p->stopped)
                return NULL;
        hook_pre_stop(p);
        hook_pre_unref(p);
        return NULL;
}

void hook_dispatcher_get_stats(const hook_dispatcher *d, hook_stats *ret) {
        if (!ret)
                return;
        if (!d) {
                *ret = (hook_stats){};
                return;
        }
        *ret = d->stats;
        ret->running = (unsigned) d->running.n + d->n_pre_running;
        ret->queued = (unsigned) d->queued.n;
}
