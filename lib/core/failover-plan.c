#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "failover-plan.h"
#include "macro.h"
#include "strutil.h"
#include "timefmt.h"

static const char *const failover_phase_table[_FAILOVER_PHASE_MAX] = {[FAILOVER_PHASE_DETECT] = "detect",
        [FAILOVER_PHASE_ELECT] = "elect",
        [FAILOVER_PHASE_PRE_HOOKS] = "pre-hooks",
        [FAILOVER_PHASE_FENCE] = "fence",
        [FAILOVER_PHASE_SELECT] = "select",
        [FAILOVER_PHASE_CATCH_UP] = "catch-up",
        [FAILOVER_PHASE_PROMOTE] = "promote",
        [FAILOVER_PHASE_ENDPOINTS] = "endpoints",
        [FAILOVER_PHASE_REPOINT_REPLICAS] = "repoint-replicas",
        [FAILOVER_PHASE_DONE] = "done",
        [FAILOVER_PHASE_FAILED] = "failed"};

static const char *const failover_result_table[_FAILOVER_RESULT_MAX] = {
        [FAILOVER_RESULT_RUNNING] = "running",
        [FAILOVER_RESULT_OK] = "ok",
        [FAILOVER_RESULT_DEGRADED] = "degraded",
        [FAILOVER_RESULT_FAILED] = "failed",
        [FAILOVER_RESULT_ABORTED] = "aborted"};

/* The codes are the enum names without their prefix. */
#define R(x) [FAILOVER_REASON_##x] = #x
static const char *const failover_reason_table[_FAILOVER_REASON_MAX] = {R(OK), R(AUTO_DISABLED),
        R(MAINTENANCE), R(QUORUM_LOST), R(NOT_ODOWN), R(PRIMARY_RETURNED), R(COOLDOWN), R(NO_CANDIDATE),
        R(ERRANT_GTID), R(LAGGING), R(CANDIDATE_BEHIND), R(FAILED_PRIMARY), R(NOT_PROMOTABLE),
        R(UNREACHABLE), R(NO_BINLOG), R(NOT_A_REPLICA), R(REPLICATION_BROKEN), R(DIVERGED),
        R(ELECTION_FAILED), R(STALE_EPOCH), R(PRE_HOOK_VETO), R(FENCE_FAILED), R(CATCH_UP_FAILED),
        R(PROMOTE_FAILED), R(ENDPOINT_FAILED), R(REPOINT_FAILED), R(TIMEOUT), R(ANOTHER_PRIMARY),
        R(BUSY)};
#undef R

static const char *const failover_event_table[_FAILOVER_EVENT_MAX] = {[FAILOVER_EVENT_PHASE_OK] = "phase-ok",
        [FAILOVER_EVENT_PHASE_DEGRADED] = "phase-degraded",
        [FAILOVER_EVENT_PHASE_FAILED] = "phase-failed",
        [FAILOVER_EVENT_TICK] = "tick",
        [FAILOVER_EVENT_PRIMARY_RETURNED] = "primary-returned",
        [FAILOVER_EVENT_ABORT] = "abort"};

#define DEFINE_STRING_TABLE(name, type, table, max)                                                         \
        const char *name##_to_string(type v) {                                                              \
                if ((int) v < 0 || (int) v >= (max))                                                        \
                        return NULL;                                                                        \
                return table[v];                                                                            \
        }                                                                                                   \
        type name##_from_string(const char *s) {                                                            \
                return (type) str_table_find(table, (max), s);                                              \
        }

DEFINE_STRING_TABLE(failover_phase, failover_phase, failover_phase_table, _FAILOVER_PHASE_MAX)
DEFINE_STRING_TABLE(failover_result, failover_result, failover_result_table, _FAILOVER_RESULT_MAX)
DEFINE_STRING_TABLE(failover_reason, failover_reason, failover_reason_table, _FAILOVER_REASON_MAX)
DEFINE_STRING_TABLE(failover_event, failover_event, failover_event_table, _FAILOVER_EVENT_MAX)

failover_reason failover_reason_from_candidate(candidate_reason r) {
        failover_reason f = failover_reason_from_string(candidate_reason_to_string(r));

        return f <= FAILOVER_REASON_OK ? FAILOVER_REASON_NO_CANDIDATE : f;
}

static uint64_t add_sat(uint64_t a, uint64_t b) {
        return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

static uint64_t max_u64(uint64_t a, uint64_t b) {
        return a > b ? a : b;
}

static uint64_t mul_sat(uint64_t a, uint64_t b) {
        return b != 0 && a > UINT64_MAX / b ? UINT64_MAX : a * b;
}

/* ---- the run ---- */

/* permille of failover.timeout_ms (see the budget in the header) */
static const unsigned phase_share[_FAILOVER_PHASE_MAX] = {[FAILOVER_PHASE_ELECT] = 100,
        [FAILOVER_PHASE_PRE_HOOKS] = 200,
        [FAILOVER_PHASE_FENCE] = 100,
        [FAILOVER_PHASE_SELECT] = 50,
        [FAILOVER_PHASE_CATCH_UP] = 400,
        [FAILOVER_PHASE_PROMOTE] = 150,
        [FAILOVER_PHASE_ENDPOINTS] = 300,
        [FAILOVER_PHASE_REPOINT_REPLICAS] = 200};

unsigned failover_plan_phase_share(failover_phase p) {
        return (int) p < 0 || p >= _FAILOVER_PHASE_MAX ? 0 : phase_share[p];
}

/* permille of total_usec, without overflowing */
static uint64_t slice(uint64_t total_usec, unsigned permille) {
        return add_sat(mul_sat(total_usec / 1000, permille), total_usec % 1000 * permille / 1000);
}

uint64_t failover_plan_phase_budget_usec(uint64_t timeout_ms, failover_phase p) {
        unsigned share = failover_plan_phase_share(p);

        return share == 0 ? UINT64_MAX : slice(mul_sat(timeout_ms, USEC_PER_MSEC), share);
}

bool failover_phase_is_committed(failover_phase p) {
        return p >= FAILOVER_PHASE_PROMOTE && p <= FAILOVER_PHASE_DONE;
}

int failover_run_set_text(char **field, const char *value) {
        char *copy = NULL;

        if (!field)
                return -EINVAL;
        if (value) {
                copy = strdup(value);
                if (!copy)
                        return -ENOMEM;
        }
        free(*field);
        *field = copy;
        return 0;
}

static failover_run *run_alloc(void) {
        failover_run *run = calloc(1, sizeof(*run));

        if (run) {
                run->failed_phase = _FAILOVER_PHASE_INVALID;
                for (size_t p = 0; p < _FAILOVER_PHASE_MAX; p++)
                        run->phases[p].deadline_usec = UINT64_MAX;
        }
        return run;
}

/* The deadline of phase p entered at now (see the budget in the header). */
static uint64_t deadline_for(const failover_run *run, failover_phase p, uint64_t now) {
        uint64_t base, extra = 0;
        unsigned sum = 0;

        if (phase_share[p] == 0)
                return UINT64_MAX;
        if (p >= FAILOVER_PHASE_ENDPOINTS)
                return add_sat(now, slice(run->timeout_usec, phase_share[p]));
        if (p >= FAILOVER_PHASE_PRE_HOOKS) {
                uint64_t own = slice(run->timeout_usec, phase_share[FAILOVER_PHASE_PRE_HOOKS]);

                extra = run->pre_hooks_usec > own ? run->pre_hooks_usec - own : 0;
        }
        for (failover_phase q = FAILOVER_PHASE_ELECT; q <= p; q++)
                sum += phase_share[q];
        base = p == FAILOVER_PHASE_ELECT ? now : run->phases[FAILOVER_PHASE_ELECT].start_usec;
        return add_sat(add_sat(base, slice(run->timeout_usec, sum)), extra);
}

static void enter(failover_run *run, failover_phase p, uint64_t now) {
        run->phases[p] = (failover_phase_span){
                .entered = true, .start_usec = now, .deadline_usec = deadline_for(run, p, now)};
        run->phase = p;
        if (p == FAILOVER_PHASE_DONE || p == FAILOVER_PHASE_FAILED) {
                run->phases[p].ended = true;
                run->phases[p].end_usec = now;
                run->ended_usec = now;
        }
}

static void leave(failover_run *run, uint64_t now) {
        run->phases[run->phase].ended = true;
        run->phases[run->phase].end_usec = now;
}

int failover_run_new(const cluster_conf *conf, const char *old_primary, bool manual, bool forced,
        uint64_t started_usec, uint64_t started_realtime_usec, failover_run **ret) {
        _cleanup_(failover_run_freep) failover_run *run = NULL;

        if (!conf || !conf->name || !old_primary || !ret)
                return -EINVAL;
        run = run_alloc();
        if (!run)
                return -ENOMEM;
        if (failover_run_set_text(&run->cluster, conf->name) < 0 ||
                failover_run_set_text(&run->old_primary, old_primary) < 0)
                return -ENOMEM;
        run->manual = manual;
        run->forced = forced;
        run->started_usec = started_usec;
        run->started_realtime_usec = started_realtime_usec;
        run->timeout_usec = mul_sat(conf->failover.timeout_ms, USEC_PER_MSEC);
        run->pre_hooks_usec =
                failover_plan_phase_budget_usec(conf->failover.timeout_ms, FAILOVER_PHASE_PRE_HOOKS);
        for (size_t k = 0; k < conf->n_hooks; k++)
                if (conf->hooks[k].class == HOOK_CLASS_PRE)
                        run->pre_hooks_usec = max_u64(
                                run->pre_hooks_usec, mul_sat(conf->hooks[k].timeout_ms, USEC_PER_MSEC));
        run->result = FAILOVER_RESULT_RUNNING;
        enter(run, FAILOVER_PHASE_DETECT, started_usec);
        *ret = TAKE_PTR(run);
        return 0;
}

uint64_t failover_plan_deadline(const failover_run *run) {
        if (!run || (int) run->phase < 0 || run->phase >= _FAILOVER_PHASE_MAX)
                return UINT64_MAX;
        return run->phases[run->phase].deadline_usec;
}

static const failover_reason default_reason[_FAILOVER_PHASE_MAX] = {
        [FAILOVER_PHASE_DETECT] = FAILOVER_REASON_NOT_ODOWN,
        [FAILOVER_PHASE_ELECT] = FAILOVER_REASON_ELECTION_FAILED,
        [FAILOVER_PHASE_PRE_HOOKS] = FAILOVER_REASON_PRE_HOOK_VETO,
        [FAILOVER_PHASE_FENCE] = FAILOVER_REASON_FENCE_FAILED,
        [FAILOVER_PHASE_SELECT] = FAILOVER_REASON_NO_CANDIDATE,
        [FAILOVER_PHASE_CATCH_UP] = FAILOVER_REASON_CATCH_UP_FAILED,
        [FAILOVER_PHASE_PROMOTE] = FAILOVER_REASON_PROMOTE_FAILED,
        [FAILOVER_PHASE_ENDPOINTS] = FAILOVER_REASON_ENDPOINT_FAILED,
        [FAILOVER_PHASE_REPOINT_REPLICAS] = FAILOVER_REASON_REPOINT_FAILED};

static void advance(failover_run *run, uint64_t now) {
        failover_phase next = run->phase + 1;

        leave(run, now);
        if (next == FAILOVER_PHASE_DONE)
                run->result = run->degraded ? FAILOVER_RESULT_DEGRADED : FAILOVER_RESULT_OK;
        enter(run, next, now);
}

static void finish(failover_run *run, failover_result result, failover_reason reason, uint64_t now) {
        leave(run, now);
        run->failed_phase = run->phase;
        run->result = result;
        run->reason = reason;
        enter(run, FAILOVER_PHASE_FAILED, now);
}

static void degrade(failover_run *run, failover_reason reason) {
        if (!run->degraded)
                run->reason = reason;
        run->degraded = true;
}

int failover_plan_next(failover_run *run, failover_event event, failover_reason reason, uint64_t now_usec) {
        failover_phase p;
        bool abortable, failable, degradable;

        if (!run || (int) event < 0 || event >= _FAILOVER_EVENT_MAX || (int) reason < 0 ||
                reason >= _FAILOVER_REASON_MAX || (int) run->phase < 0 || run->phase >= _FAILOVER_PHASE_MAX)
                return -EINVAL;
        p = run->phase;
        if (p == FAILOVER_PHASE_DONE || p == FAILOVER_PHASE_FAILED)
                return event == FAILOVER_EVENT_TICK ? 0 : -EBUSY;
        now_usec = max_u64(now_usec, run->phases[p].start_usec);
        abortable = p <= FAILOVER_PHASE_CATCH_UP;
        failable = p <= FAILOVER_PHASE_PROMOTE;
        degradable = p >= FAILOVER_PHASE_ENDPOINTS;
        if (reason == FAILOVER_REASON_OK)
                reason = event == FAILOVER_EVENT_ABORT ? FAILOVER_REASON_STALE_EPOCH : default_reason[p];

        switch (event) {
        case FAILOVER_EVENT_PHASE_OK:
                if ((p == FAILOVER_PHASE_ELECT && run->epoch == 0) ||
                        (p == FAILOVER_PHASE_SELECT && !run->new_primary))
                        return -EINVAL;
                advance(run, now_usec);
                return 1;
        case FAILOVER_EVENT_PHASE_DEGRADED:
                if (!degradable)
                        return -EBUSY;
                degrade(run, reason);
                advance(run, now_usec);
                return 1;
        case FAILOVER_EVENT_PHASE_FAILED:
                if (!failable)
                        return -EBUSY;
                finish(run, FAILOVER_RESULT_FAILED, reason, now_usec);
                return 1;
        case FAILOVER_EVENT_TICK:
                if (now_usec < run->phases[p].deadline_usec)
                        return 0;
                if (failable)
                        finish(run, FAILOVER_RESULT_FAILED, FAILOVER_REASON_TIMEOUT, now_usec);
                else {
                        degrade(run, FAILOVER_REASON_TIMEOUT);
                        advance(run, now_usec);
                }
                return 1;
        case FAILOVER_EVENT_PRIMARY_RETURNED:
        case FAILOVER_EVENT_ABORT:
                if (!abortable)
                        return -EBUSY;
                finish(run, FAILOVER_RESULT_ABORTED,
                        event == FAILOVER_EVENT_ABORT ? reason : FAILOVER_REASON_PRIMARY_RETURNED, now_usec);
                return 1;
        default:
                return -EINVAL;
        }
}

/* Appends "; " and a formatted piece to *text (a memstream's FILE). */
_printf_(3, 4) static void piece(FILE *f, bool *first, const char *fmt, ...) {
        va_list ap;

        if (!*first)
                fputs("; ", f);
        *first = false;
        va_start(ap, fmt);
        vfprintf(f, fmt, ap);
        va_end(ap);
}

static int close_memstream(FILE *f, char **text, char **ret) {
        if (fclose(f) != 0 || !*text) {
                free(*text);
                return -ENOMEM;
        }
        *ret = *text;
        return 0;
}

int failover_run_assess_loss(failover_run *run, const server_status *old_primary_last_good,
        const candidate_selection *sel, const cluster_conf *conf) {
        const server_status *s = old_primary_last_good;
        _cleanup_free_ char *missing = NULL;
        char *text = NULL, *why = NULL;
        size_t size = 0;
        bool first = true;
        FILE *f;
        int r;

        if (!run || (sel && !conf))
                return -EINVAL;
        if (sel && sel->candidate_behind && candidate_selection_format_missing(sel, conf, &missing) < 0)
                return -ENOMEM;
        f = open_memstream(&text, &size);
        if (!f)
                return -ENOMEM;
        if (!s || !probe_error_class_is_alive(s->error_class) || !s->have_variables)
                piece(f, &first, "no good probe of the old primary %s: whether it ran semi-sync is unknown",
                        run->old_primary);
        else if (!s->semi_sync_master_enabled)
                piece(f, &first,
                        "semi-sync was not enabled on the old primary %s (rpl_semi_sync_master_enabled "
                        "OFF): what it committed after its last probe may be lost",
                        run->old_primary);
        else if (!s->have_semi_sync_status)
                piece(f, &first,
                        "whether the old primary %s really ran semi-sync at its last probe is unknown",
                        run->old_primary);
        else if (!s->semi_sync_master_status)
                piece(f, &first,
                        "the old primary %s had fallen back to asynchronous replication at its last "
                        "probe (Rpl_semi_sync_master_status OFF)",
                        run->old_primary);
        if (missing)
                piece(f, &first, "the new primary lacks %s", missing);
        r = close_memstream(f, &text, &why);
        if (r < 0)
                return r;
        if (first) { /* nothing lost */
                free(why);
                why = NULL;
        }
        if (failover_run_set_text(&run->missing_gtids, missing) < 0) {
                free(why);
                return -ENOMEM;
        }
        run->lossy = !first;
        free(run->lossy_why);
        run->lossy_why = why;
        return 0;
}

/* ---- JSON of a run ---- */

static void add(json_object *o, const char *key, json_object *v) {
        json_object_object_add(o, key, v);
}

static json_object *str_or_null(const char *s) {
        return s ? json_object_new_string(s) : NULL;
}

static json_object *u64_or_null(bool known, uint64_t v) {
        return known ? json_object_new_uint64(v) : NULL;
}

static json_object *get(json_object *o, const char *key) {
        json_object *v = NULL;

        if (!o || !json_object_is_type(o, json_type_object) || !json_object_object_get_ex(o, key, &v))
                return NULL;
        return v; /* NULL also for a JSON null */
}

typedef enum field_type { FIELD_TEXT, FIELD_U64, FIELD_BOOL } field_type;

/* The plain fields of a run, in JSON order; a required one must be there (not null) to read a run back. */
static const struct run_field {
        const char *key;
        field_type type;
        size_t offset;
        bool required;
} run_fields[] = {
        {"cluster", FIELD_TEXT, offsetof(failover_run, cluster), true},
        {"epoch", FIELD_U64, offsetof(failover_run, epoch), false},
        {"old_primary", FIELD_TEXT, offsetof(failover_run, old_primary), true},
        {"new_primary", FIELD_TEXT, offsetof(failover_run, new_primary), false},
        {"old_primary_gtid", FIELD_TEXT, offsetof(failover_run, old_primary_gtid), false},
        {"new_primary_gtid", FIELD_TEXT, offsetof(failover_run, new_primary_gtid), false},
        {"manual", FIELD_BOOL, offsetof(failover_run, manual), false},
        {"switchover", FIELD_BOOL, offsetof(failover_run, switchover), false},
        {"forced", FIELD_BOOL, offsetof(failover_run, forced), false},
        {"started_usec", FIELD_U64, offsetof(failover_run, started_usec), true},
        {"started_realtime_usec", FIELD_U64, offsetof(failover_run, started_realtime_usec), false},
        {"timeout_usec", FIELD_U64, offsetof(failover_run, timeout_usec), false},
        {"pre_hooks_usec", FIELD_U64, offsetof(failover_run, pre_hooks_usec), false},
        {"degraded", FIELD_BOOL, offsetof(failover_run, degraded), false},
        {"message", FIELD_TEXT, offsetof(failover_run, message), false},
        {"lossy", FIELD_BOOL, offsetof(failover_run, lossy), false},
        {"lossy_why", FIELD_TEXT, offsetof(failover_run, lossy_why), false},
        {"missing_gtids", FIELD_TEXT, offsetof(failover_run, missing_gtids), false},
};

failover_run *failover_run_free(failover_run *run) {
        if (!run)
                return NULL;
        for (size_t k = 0; k < ELEMENTSOF(run_fields); k++)
                if (run_fields[k].type == FIELD_TEXT)
                        free(*(char **) ((char *) run + run_fields[k].offset));
        free(run);
        return NULL;
}

static json_object *field_to_json(const failover_run *run, const struct run_field *fd) {
        const void *p = (const char *) run + fd->offset;

        switch (fd->type) {
        case FIELD_TEXT:
                return str_or_null(*(char *const *) p);
        case FIELD_U64:
                return json_object_new_uint64(*(const uint64_t *) p);
        default:
                return json_object_new_boolean(*(const bool *) p);
        }
}

/* Reads fd into the struct at base. A missing or null value: -EINVAL when required, else the field
 * stays as it is. */
static int field_from_json(json_object *j, void *base, const struct run_field *fd) {
        json_object *v = get(j, fd->key);
        void *p = (char *) base + fd->offset;

        if (!v)
                return fd->required ? -EINVAL : 0;
        switch (fd->type) {
        case FIELD_TEXT:
                if (!json_object_is_type(v, json_type_string))
                        return -EINVAL;
                return failover_run_set_text(p, json_object_get_string(v));
        case FIELD_U64:
                if (!json_object_is_type(v, json_type_int) || json_object_get_int64(v) < 0)
                        return -EINVAL;
                *(uint64_t *) p = json_object_get_uint64(v);
                return 0;
        default:
                if (!json_object_is_type(v, json_type_boolean))
                        return -EINVAL;
                *(bool *) p = json_object_get_boolean(v);
                return 0;
        }
}

static int u64_from_json(json_object *j, const char *key, bool required, uint64_t *ret) {
        struct run_field fd = {.key = key, .type = FIELD_U64, .required = required};

        return field_from_json(j, ret, &fd);
}

/* An enum by its name in table; missing or null: -EINVAL when required, else *ret stays. */
static int enum_from_json(
        json_object *j, const char *key, bool required, const char *const *table, int n, int *ret) {
        json_object *v = get(j, key);
        int e;

        if (!v)
                return required ? -EINVAL : 0;
        e = json_object_is_type(v, json_type_string) ? str_table_find(table, n, json_object_get_string(v))
                                                     : -EINVAL;
        if (e < 0)
                return -EINVAL;
        *ret = e;
        return 0;
}

static json_object *phase_to_json(const failover_phase_span *sp, failover_phase p) {
        json_object *e = json_object_new_object();

        if (!e)
                return NULL;
        add(e, "phase", json_object_new_string(failover_phase_to_string(p)));
        add(e, "start_usec", json_object_new_uint64(sp->start_usec));
        add(e, "end_usec", u64_or_null(sp->ended, sp->end_usec));
        add(e, "deadline_usec", u64_or_null(sp->deadline_usec != UINT64_MAX, sp->deadline_usec));
        if (sp->ended) {
                uint64_t d = sp->end_usec - sp->start_usec;
                char buf[32];

                snprintf(buf, sizeof(buf), "%" PRIu64 ".%03" PRIu64, d / 1000, d % 1000);
                add(e, "duration_ms", json_object_new_double_s((double) d / 1000.0, buf));
        } else
                add(e, "duration_ms", NULL);
        return e;
}

static int phase_from_json(json_object *e, failover_run *run) {
        failover_phase_span sp = {.entered = true, .deadline_usec = UINT64_MAX};
        int p = 0, r;

        r = enum_from_json(e, "phase", true, failover_phase_table, _FAILOVER_PHASE_MAX, &p);
        if (r >= 0)
                r = u64_from_json(e, "start_usec", true, &sp.start_usec);
        if (r >= 0)
                r = u64_from_json(e, "deadline_usec", false, &sp.deadline_usec);
        if (r >= 0 && get(e, "end_usec")) {
                sp.ended = true;
                r = u64_from_json(e, "end_usec", true, &sp.end_usec);
        }
        if (r < 0 || run->phases[p].entered || (sp.ended && sp.end_usec < sp.start_usec))
                return -EINVAL;
        run->phases[p] = sp;
        return 0;
}

int failover_run_to_json(const failover_run *run, json_object **ret) {
        json_object *o, *phases;
        char at[TIMEFMT_RFC3339_MAX];

        if (!run || !ret)
                return -EINVAL;
        o = json_object_new_object();
        phases = json_object_new_array();
        if (!o || !phases) {
                json_object_put(o);
                json_object_put(phases);
                return -ENOMEM;
        }
        for (size_t k = 0; k < ELEMENTSOF(run_fields); k++)
                add(o, run_fields[k].key, field_to_json(run, &run_fields[k]));
        add(o, "started_at",
                timefmt_rfc3339_ms(run->started_realtime_usec, at) >= 0 ? json_object_new_string(at) : NULL);
        add(o, "ended_usec", u64_or_null(run->ended_usec != 0, run->ended_usec));
        add(o, "phase", str_or_null(failover_phase_to_string(run->phase)));
        add(o, "failed_phase", str_or_null(failover_phase_to_string(run->failed_phase)));
        add(o, "result", str_or_null(failover_result_to_string(run->result)));
        add(o, "reason", str_or_null(failover_reason_to_string(run->reason)));
        add(o, "phases", phases);
        for (failover_phase p = 0; p < _FAILOVER_PHASE_MAX; p++) {
                json_object *e = run->phases[p].entered ? phase_to_json(&run->phases[p], p) : NULL;

                if (run->phases[p].entered && (!e || json_object_array_add(phases, e) < 0)) {
                        json_object_put(e);
                        json_object_put(o);
                        return -ENOMEM;
                }
        }
        *ret = o;
        return 0;
}

int failover_run_from_json(json_object *j, failover_run **ret) {
        _cleanup_(failover_run_freep) failover_run *run = NULL;
        json_object *phases = get(j, "phases");
        int phase = 0, failed_phase = _FAILOVER_PHASE_INVALID, result = 0, reason = FAILOVER_REASON_OK,
            r = 0;

        if (!ret || !phases || !json_object_is_type(phases, json_type_array))
                return -EINVAL;
        run = run_alloc();
        if (!run)
                return -ENOMEM;
        for (size_t k = 0; r >= 0 && k < ELEMENTSOF(run_fields); k++)
                r = field_from_json(j, run, &run_fields[k]);
        if (r >= 0)
                r = u64_from_json(j, "ended_usec", false, &run->ended_usec);
        if (r >= 0)
                r = enum_from_json(j, "phase", true, failover_phase_table, _FAILOVER_PHASE_MAX, &phase);
        if (r >= 0)
                r = enum_from_json(
                        j, "failed_phase", false, failover_phase_table, _FAILOVER_PHASE_MAX, &failed_phase);
        if (r >= 0)
                r = enum_from_json(j, "result", true, failover_result_table, _FAILOVER_RESULT_MAX, &result);
        if (r >= 0)
                r = enum_from_json(j, "reason", false, failover_reason_table, _FAILOVER_REASON_MAX, &reason);
        for (size_t k = 0; r >= 0 && k < json_object_array_length(phases); k++)
                r = phase_from_json(json_object_array_get_idx(phases, k), run);
        if (r < 0)
                return r;
        run->phase = phase;
        run->failed_phase = failed_phase;
        run->result = result;
        run->reason = reason;
        if (!run->phases[run->phase].entered)
                return -EINVAL;
        *ret = TAKE_PTR(run);
        return 0;
}

/* ---- human renderings ---- */

/* "12.3 ms" */
static void print_ms(FILE *f, uint64_t usec) {
        fprintf(f, "%" PRIu64 ".%" PRIu64 " ms", usec / 1000, usec % 1000 / 100);
}

int failover_run_format(const failover_run *run, char **ret) {
        char *text = NULL, at[TIMEFMT_RFC3339_MAX] = "?";
        size_t size = 0;
        FILE *f;

        if (!run || !ret)
                return -EINVAL;
        f = open_memstream(&text, &size);
        if (!f)
                return -ENOMEM;
        (void) timefmt_rfc3339_ms(run->started_realtime_usec, at);
        fprintf(f, "epoch %" PRIu64 ": %s of %s to %s: %s", run->epoch,
                run->switchover ? "switchover" : run->manual ? "manual failover" : "failover",
                run->old_primary ?: "?", run->new_primary ?: "?",
                failover_result_to_string(run->result) ?: "?");
        if (run->result == FAILOVER_RESULT_FAILED || run->result == FAILOVER_RESULT_ABORTED)
                fprintf(f, " in %s", failover_phase_to_string(run->failed_phase) ?: "?");
        if (run->reason != FAILOVER_REASON_OK)
                fprintf(f, ": %s", failover_reason_to_string(run->reason) ?: "?");
        fprintf(f, " (started %s%s%s)\n", at, run->forced ? ", forced" : "", run->lossy ? ", LOSSY" : "");
        for (failover_phase p = FAILOVER_PHASE_DETECT; p < FAILOVER_PHASE_DONE; p++) {
                const failover_phase_span *sp = &run->phases[p];

                if (!sp->entered)
                        continue;
                fprintf(f, "  %-18s", failover_phase_to_string(p));
                if (sp->ended)
                        print_ms(f, sp->end_usec - sp->start_usec);
                else
                        fputs("running", f);
                fputc('\n', f);
        }
        if (run->phases[FAILOVER_PHASE_ELECT].entered && run->ended_usec) {
                fprintf(f, "  %-18s", "after detection");
                print_ms(f, run->ended_usec - run->phases[FAILOVER_PHASE_ELECT].start_usec);
                fputc('\n', f);
        }
        if (run->old_primary_gtid || run->new_primary_gtid)
                fprintf(f, "  %-18s%s %s, %s %s\n", "positions", run->old_primary ?: "?",
                        run->old_primary_gtid ?: "?", run->new_primary ?: "?", run->new_primary_gtid ?: "?");
        if (run->message)
                fprintf(f, "  message: %s\n", run->message);
        if (run->lossy)
                fprintf(f, "  lossy: %s\n", run->lossy_why ?: "?");
        return close_memstream(f, &text, ret);
}
