#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

#include "failover-decide.h"
#include "macro.h"
#include "timefmt.h"

/* The small helpers below are the same as failover-plan.c's (static there too). */

static uint64_t add_sat(uint64_t a, uint64_t b) {
        return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

static uint64_t max_u64(uint64_t a, uint64_t b) {
        return a > b ? a : b;
}

static uint64_t mul_sat(uint64_t a, uint64_t b) {
        return b != 0 && a > UINT64_MAX / b ? UINT64_MAX : a * b;
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

static void add(json_object *o, const char *key, json_object *v) {
        json_object_object_add(o, key, v);
}

static json_object *str_or_null(const char *s) {
        return s ? json_object_new_string(s) : NULL;
}

static json_object *get(json_object *o, const char *key) {
        json_object *v = NULL;

        if (!o || !json_object_is_type(o, json_type_object) || !json_object_object_get_ex(o, key, &v))
                return NULL;
        return v; /* NULL also for a JSON null */
}

/* ---- deciding ---- */

static uint64_t cooldown_remaining(const failover_decide_input *in) {
        uint64_t cd = mul_sat(in->conf->failover.cooldown_s, USEC_PER_SEC), last, now, end;

        if (in->last_failover_usec != 0) {
                last = in->last_failover_usec;
                now = in->now_usec;
        } else if (in->last_failover_realtime_usec != 0) {
                last = in->last_failover_realtime_usec;
                now = in->now_realtime_usec;
        } else
                return 0;
        end = add_sat(last, cd);
        now = max_u64(now, last); /* a last failover in the future counts as just now */
        return now >= end ? 0 : end - now;
}

/* Why no candidate: the target's failed check; else ERRANT_GTID or LAGGING when some server failed only
 * those; else NO_CANDIDATE. Sets *ret_server to the server the reason is about. */
static failover_reason no_candidate_reason(const candidate_selection *s, size_t *ret_server) {
        candidate_reason best = _CANDIDATE_REASON_MAX;

        *ret_server = TOPOLOGY_NONE;
        if (!s)
                return FAILOVER_REASON_NO_CANDIDATE;
        if (s->target != TOPOLOGY_NONE) {
                *ret_server = s->target;
                return failover_reason_from_candidate(s->verdicts[s->target].reason);
        }
        for (size_t i = 0; i < s->n_servers; i++) {
                const candidate_verdict *v = &s->verdicts[i];

                if (v->failed != 0 && (v->failed & ~CANDIDATE_FORCIBLE) == 0 && v->reason < best) {
                        best = v->reason;
                        *ret_server = i;
                }
        }
        return best == _CANDIDATE_REASON_MAX ? FAILOVER_REASON_NO_CANDIDATE
                                             : failover_reason_from_candidate(best);
}

/* Every refusal that holds, the first one, the candidate and what --force overrode; about is the server a
 * candidate refusal is about. */
static void decide_checks(const failover_decide_input *in, failover_decision *d, size_t *about) {
        const candidate_selection *s = in->selection;
        bool sdown_suffices = in->manual && in->no_quorum;

        if (!in->manual && !in->conf->failover.automatic)
                d->refusals |= FAILOVER_REASON_BIT(FAILOVER_REASON_AUTO_DISABLED);
        if (!in->manual && in->maintenance)
                d->refusals |= FAILOVER_REASON_BIT(FAILOVER_REASON_MAINTENANCE);
        if (!sdown_suffices && in->sentinels_reachable < in->majority)
                d->refusals |= FAILOVER_REASON_BIT(FAILOVER_REASON_QUORUM_LOST);
        if (!(sdown_suffices ? in->primary_sdown : in->primary_odown))
                d->refusals |= FAILOVER_REASON_BIT(FAILOVER_REASON_NOT_ODOWN);
        else if (in->primary_alive)
                d->refusals |= FAILOVER_REASON_BIT(FAILOVER_REASON_PRIMARY_RETURNED);
        d->cooldown_remaining_usec = cooldown_remaining(in);
        if (!in->manual && d->cooldown_remaining_usec > 0)
                d->refusals |= FAILOVER_REASON_BIT(FAILOVER_REASON_COOLDOWN);
        if (s && s->n_candidates > 0) {
                d->candidate = s->candidates[0];
                for (int c = 1; c < _CANDIDATE_REASON_MAX; c++)
                        if (s->verdicts[d->candidate].overridden & CANDIDATE_BIT(c))
                                d->overridden |= FAILOVER_REASON_BIT(failover_reason_from_candidate(c));
                if (s->candidate_behind)
                        *(in->forced ? &d->overridden : &d->refusals) |=
                                FAILOVER_REASON_BIT(FAILOVER_REASON_CANDIDATE_BEHIND);
        } else
                d->refusals |= FAILOVER_REASON_BIT(no_candidate_reason(s, about));

        /* The enum order is the order of the checks: the candidate's refusal (one of NO_CANDIDATE and
         * after) and CANDIDATE_BEHIND never hold together. */
        d->reason = FAILOVER_REASON_OK;
        for (failover_reason r = 1; r < _FAILOVER_REASON_MAX && d->reason == FAILOVER_REASON_OK; r++)
                if (d->refusals & FAILOVER_REASON_BIT(r))
                        d->reason = r;
        d->go = d->refusals == 0;
        if (!d->go)
                d->candidate = TOPOLOGY_NONE;
}

/* The one line of a decision. */
static int decision_text(
        const failover_decide_input *in, const failover_decision *d, size_t about, char **ret) {
        const candidate_selection *s = in->selection;
        const char *primary = in->primary ?: "?";
        const char *about_name = about < in->conf->n_servers ? in->conf->servers[about].name : "?";
        _cleanup_free_ char *missing = NULL;
        char *text = NULL;
        size_t size = 0;
        bool first = true;
        FILE *f;

        if (s && s->candidate_behind && candidate_selection_format_missing(s, in->conf, &missing) < 0)
                return -ENOMEM;
        f = open_memstream(&text, &size);
        if (!f)
                return -ENOMEM;
        switch (d->reason) {
        case FAILOVER_REASON_OK:
                piece(f, &first, "failover of %s to %s", primary,
                        s && d->candidate < s->n_servers ? in->conf->servers[d->candidate].name : "?");
                break;
        case FAILOVER_REASON_AUTO_DISABLED:
                piece(f, &first, "automatic failover is disabled (failover.auto = false)");
                break;
        case FAILOVER_REASON_MAINTENANCE:
                piece(f, &first, "the cluster is in maintenance mode");
                break;
        case FAILOVER_REASON_QUORUM_LOST:
                piece(f, &first,
                        "this sentinel reaches %zu sentinels (itself included); a failover needs a "
                        "majority of %zu",
                        in->sentinels_reachable, in->majority);
                break;
        case FAILOVER_REASON_NOT_ODOWN:
                piece(f, &first, "the primary %s is not %s", primary,
                        in->manual && in->no_quorum ? "SDOWN" : "ODOWN");
                break;
        case FAILOVER_REASON_PRIMARY_RETURNED:
                piece(f, &first, "the primary %s answers again", primary);
                break;
        case FAILOVER_REASON_COOLDOWN:
                piece(f, &first,
                        "the last failover was less than failover.cooldown_s %" PRIu64 " s ago: %" PRIu64
                        " s left",
                        in->conf->failover.cooldown_s,
                        (uint64_t) ((d->cooldown_remaining_usec + USEC_PER_SEC - 1) / USEC_PER_SEC));
                break;
        case FAILOVER_REASON_NO_CANDIDATE:
                piece(f, &first, "no server can replace %s", primary);
                break;
        case FAILOVER_REASON_CANDIDATE_BEHIND:
                piece(f, &first, "the best candidate %s lacks %s",
                        s && s->n_candidates ? in->conf->servers[s->candidates[0]].name : "?",
                        missing ?: "?");
                break;
        default:
                piece(f, &first, "%s%s: %s",
                        s && s->target != TOPOLOGY_NONE ? "--to " : "no other candidate; ", about_name,
                        s && about < s->n_servers ? s->verdicts[about].text ?: "" : "");
                break;
        }
        for (failover_reason r = 1; r < _FAILOVER_REASON_MAX; r++)
                if ((d->refusals & FAILOVER_REASON_BIT(r)) && r != d->reason)
                        piece(f, &first, "also %s", failover_reason_to_string(r));
        if (d->overridden)
                fputs(" (forced past", f);
        for (failover_reason r = 1; r < _FAILOVER_REASON_MAX; r++)
                if (d->overridden & FAILOVER_REASON_BIT(r))
                        fprintf(f, " %s", failover_reason_to_string(r));
        if (d->overridden)
                fputs(")", f);
        return close_memstream(f, &text, ret);
}

int failover_plan_decide(const failover_decide_input *in, failover_decision *ret) {
        failover_decision d = {.candidate = TOPOLOGY_NONE};
        size_t about = TOPOLOGY_NONE;
        int r;

        if (!in || !in->conf || !ret)
                return -EINVAL;
        decide_checks(in, &d, &about);
        r = decision_text(in, &d, about, &d.text);
        if (r < 0)
                return r;
        *ret = d;
        return 0;
}

void failover_decision_done(failover_decision *d) {
        if (!d)
                return;
        free(d->text);
        d->text = NULL;
}

static json_object *reason_list(uint64_t mask) {
        json_object *a = json_object_new_array();

        for (failover_reason r = 1; a && r < _FAILOVER_REASON_MAX; r++)
                if (mask & FAILOVER_REASON_BIT(r))
                        json_object_array_add(a, json_object_new_string(failover_reason_to_string(r)));
        return a;
}

static const struct {
        const char *key;
        size_t offset;
} input_flags[] = {{"manual", offsetof(failover_decide_input, manual)},
        {"forced", offsetof(failover_decide_input, forced)},
        {"no_quorum", offsetof(failover_decide_input, no_quorum)},
        {"maintenance", offsetof(failover_decide_input, maintenance)},
        {"primary_sdown", offsetof(failover_decide_input, primary_sdown)},
        {"primary_odown", offsetof(failover_decide_input, primary_odown)},
        {"primary_alive", offsetof(failover_decide_input, primary_alive)}};

int failover_decision_to_json(
        const failover_decision *d, const failover_decide_input *in, json_object **ret) {
        json_object *o, *inputs, *sel = NULL;
        char at[TIMEFMT_RFC3339_MAX];

        if (!d || !in || !in->conf || !ret)
                return -EINVAL;
        if (in->selection && candidate_selection_to_json(in->selection, in->conf, &sel) < 0)
                return -ENOMEM;
        o = json_object_new_object();
        inputs = json_object_new_object();
        if (!o || !inputs) {
                json_object_put(o);
                json_object_put(inputs);
                json_object_put(sel);
                return -ENOMEM;
        }
        add(o, "go", json_object_new_boolean(d->go));
        add(o, "reason", json_object_new_string(failover_reason_to_string(d->reason) ?: "?"));
        add(o, "refusals", reason_list(d->refusals));
        add(o, "overridden", reason_list(d->overridden));
        add(o, "candidate",
                d->candidate < in->conf->n_servers
                        ? json_object_new_string(in->conf->servers[d->candidate].name)
                        : NULL);
        add(o, "text", json_object_new_string(d->text ?: ""));
        add(o, "primary", str_or_null(in->primary));
        add(o, "inputs", inputs);
        for (size_t k = 0; k < ELEMENTSOF(input_flags); k++)
                add(inputs, input_flags[k].key,
                        json_object_new_boolean(
                                *(const bool *) ((const char *) in + input_flags[k].offset)));
        add(inputs, "auto", json_object_new_boolean(in->conf->failover.automatic));
        add(inputs, "sentinels_reachable", json_object_new_uint64(in->sentinels_reachable));
        add(inputs, "majority", json_object_new_uint64(in->majority));
        add(inputs, "cooldown_s", json_object_new_uint64(in->conf->failover.cooldown_s));
        add(inputs, "cooldown_remaining_ms",
                json_object_new_uint64((d->cooldown_remaining_usec + 999) / 1000));
        add(inputs, "last_failover_at",
                in->last_failover_realtime_usec &&
                                timefmt_rfc3339_ms(in->last_failover_realtime_usec, at) >= 0
                        ? json_object_new_string(at)
                        : NULL);
        add(o, "selection", sel);
        *ret = o;
        return 0;
}

static const char *jstr(json_object *o, const char *key, const char *def) {
        json_object *v = get(o, key);

        return v && json_object_is_type(v, json_type_string) ? json_object_get_string(v) : def;
}

/* "yes", "no", "-" (missing or not a boolean) */
static const char *jbool(json_object *o, const char *key) {
        json_object *v = get(o, key);

        return !v || !json_object_is_type(v, json_type_boolean) ? "-"
               : json_object_get_boolean(v)                     ? "yes"
                                                                : "no";
}

static bool json_list_has(json_object *a, const char *s) {
        for (size_t k = 0; a && json_object_is_type(a, json_type_array) && k < json_object_array_length(a);
                k++)
                if (streq_ptr(json_object_get_string(json_object_array_get_idx(a, k)), s))
                        return true;
        return false;
}

int failover_decision_format(json_object *j, char **ret) {
        json_object *in = get(j, "inputs"), *sel = get(j, "selection");
        _cleanup_free_ char *listing = NULL;
        char *text = NULL;
        size_t size = 0;
        bool go;
        FILE *f;

        if (!ret || !j || !json_object_is_type(j, json_type_object))
                return -EINVAL;
        if (sel && candidate_selection_format(sel, &listing) == -ENOMEM)
                return -ENOMEM;
        f = open_memstream(&text, &size);
        if (!f)
                return -ENOMEM;
        go = streq(jbool(j, "go"), "yes");
        fprintf(f, "failover of %s: %s%s%s: %s\n", jstr(j, "primary", "?"), go ? "GO" : "REFUSED",
                go ? "" : " ", go ? "" : jstr(j, "reason", "?"), jstr(j, "text", ""));
        fputs("checks:", f);
        for (failover_reason r = FAILOVER_REASON_AUTO_DISABLED; r <= FAILOVER_REASON_COOLDOWN; r++)
                fprintf(f, "%s %s %s", r == FAILOVER_REASON_AUTO_DISABLED ? "" : ",",
                        failover_reason_to_string(r),
                        json_list_has(get(j, "refusals"), failover_reason_to_string(r)) ? "REFUSED" : "ok");
        fputs("\ninputs:", f);
        if (in && json_object_is_type(in, json_type_object)) {
                json_object_object_foreach(in, key, v) {
                        fprintf(f, " %s=%s", key, v ? json_object_get_string(v) : "null");
                }
        }
        fputc('\n', f);
        if (listing)
                fputs(listing, f);
        else
                fputs("no candidates were considered\n", f);
        return close_memstream(f, &text, ret);
}

/* ---- paging while refused ---- */

bool failover_plan_should_repage(uint64_t last_page_usec, uint64_t down_after_ms, uint64_t now_usec) {
        return now_usec >= add_sat(last_page_usec, mul_sat(down_after_ms, USEC_PER_MSEC));
}

bool failover_pager_refused(
        failover_pager *p, failover_reason reason, uint64_t down_after_ms, uint64_t now_usec) {
        if (!p)
                return false;
        if (p->paged && p->reason == reason &&
                !failover_plan_should_repage(p->last_page_usec, down_after_ms, now_usec))
                return false;
        *p = (failover_pager){.paged = true, .reason = reason, .last_page_usec = now_usec};
        return true;
}

uint64_t failover_pager_next_usec(const failover_pager *p, uint64_t down_after_ms) {
        if (!p || !p->paged)
                return UINT64_MAX;
        return add_sat(p->last_page_usec, mul_sat(down_after_ms, USEC_PER_MSEC));
}

void failover_pager_clear(failover_pager *p) {
        if (p)
                *p = (failover_pager){};
}
