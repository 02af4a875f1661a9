/* The agreement rules (quorum.h). The Promela model tests/model/sentinel.pml checks them together
 * under message loss, duplication, reordering and crash-restart; each section below names the part
 * of the model that stands for it. */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "macro.h"
#include "quorum.h"

static uint64_t add_sat(uint64_t a, uint64_t b) {
        return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

static uint64_t mul_sat(uint64_t a, uint64_t b) {
        return b != 0 && a > UINT64_MAX / b ? UINT64_MAX : a * b;
}

/* Milliseconds for humans, rounded up (a deadline 1 usec away is "1 ms", not "0 ms"). */
static uint64_t usec_to_ms_up(uint64_t usec) {
        return usec / USEC_PER_MSEC + (usec % USEC_PER_MSEC != 0);
}

static void add(json_object *o, const char *key, json_object *v) {
        json_object_object_add(o, key, v);
}

static json_object *str_or_null(const char *s) {
        return s ? json_object_new_string(s) : NULL;
}

_printf_(1, 2) static char *text_printf(const char *fmt, ...) {
        char *s = NULL;
        va_list ap;
        int r;

        va_start(ap, fmt);
        r = vasprintf(&s, fmt, ap);
        va_end(ap);
        return r < 0 ? NULL : s;
}

#define DEFINE_STRING_TABLE(name, type, max, invalid, ...)                                                  \
        static const char *const name##_table[max] = {__VA_ARGS__};                                         \
        const char *name##_to_string(type v) {                                                              \
                if ((int) v < 0 || v >= max)                                                                \
                        return NULL;                                                                        \
                return name##_table[v];                                                                     \
        }                                                                                                   \
        type name##_from_string(const char *s) {                                                            \
                if (!s)                                                                                     \
                        return invalid;                                                                     \
                for (int i = 0; i < max; i++)                                                               \
                        if (streq(name##_table[i], s))                                                      \
                                return (type) i;                                                            \
                return invalid;                                                                             \
        }

DEFINE_STRING_TABLE(quorum_odown_reason, quorum_odown_reason, _QUORUM_ODOWN_MAX,
        _QUORUM_ODOWN_INVALID, [QUORUM_ODOWN_OK] = "ODOWN", [QUORUM_ODOWN_NO_PRIMARY] = "NO_PRIMARY",
        [QUORUM_ODOWN_NOT_SDOWN] = "NOT_SDOWN", [QUORUM_ODOWN_NO_QUORUM] = "NO_QUORUM",
        [QUORUM_ODOWN_EVIDENCE] = "REPLICA_EVIDENCE")

DEFINE_STRING_TABLE(quorum_vote_verdict, quorum_vote_verdict, _QUORUM_VOTE_MAX,
        _QUORUM_VOTE_INVALID, [QUORUM_VOTE_GRANTED] = "GRANTED",
        [QUORUM_VOTE_GRANTED_AGAIN] = "GRANTED_AGAIN", [QUORUM_VOTE_STALE] = "STALE",
        [QUORUM_VOTE_ALREADY_VOTED] = "ALREADY_VOTED", [QUORUM_VOTE_CONFIG_MISMATCH] = "CONFIG_MISMATCH",
        [QUORUM_VOTE_NOT_ODOWN] = "NOT_ODOWN", [QUORUM_VOTE_BAD_REQUEST] = "BAD_REQUEST",
        [QUORUM_VOTE_BUSY] = "BUSY")

DEFINE_STRING_TABLE(quorum_vote_kind, quorum_vote_kind, _QUORUM_VOTE_KIND_MAX, _QUORUM_VOTE_KIND_INVALID,
        [QUORUM_VOTE_KIND_FAILOVER] = "failover", [QUORUM_VOTE_KIND_SWITCHOVER] = "switchover",
        [QUORUM_VOTE_KIND_FORCED] = "forced")

DEFINE_STRING_TABLE(quorum_config_order, quorum_config_order, _QUORUM_CONFIG_MAX,
        _QUORUM_CONFIG_INVALID, [QUORUM_CONFIG_OLDER] = "older", [QUORUM_CONFIG_SAME] = "same",
        [QUORUM_CONFIG_NEWER] = "newer", [QUORUM_CONFIG_CONFLICT] = "conflict")

DEFINE_STRING_TABLE(quorum_fence_action, quorum_fence_action, _QUORUM_FENCE_ACTION_MAX,
        _QUORUM_FENCE_ACTION_INVALID, [QUORUM_FENCE_KEEP] = "keep", [QUORUM_FENCE_FENCE] = "fence",
        [QUORUM_FENCE_LIFT] = "lift")

DEFINE_STRING_TABLE(quorum_fence_reason, quorum_fence_reason, _QUORUM_FENCE_REASON_MAX,
        _QUORUM_FENCE_REASON_INVALID, [QUORUM_FENCE_NOT_PRIMARY_ZONE] = "NOT_PRIMARY_ZONE",
        [QUORUM_FENCE_MAJORITY_HEARD] = "MAJORITY_HEARD", [QUORUM_FENCE_MAJORITY_SILENT] = "MAJORITY_SILENT",
        [QUORUM_FENCE_NEVER_HEARD] = "NEVER_HEARD", [QUORUM_FENCE_NOT_CONFIRMED] = "NOT_CONFIRMED",
        [QUORUM_FENCE_CONFIRMED] = "CONFIRMED")

size_t quorum_majority(size_t n_sentinels) {
        return n_sentinels / 2 + 1;
}

/* ---- ODOWN (sentinel.pml: ODOWN(); the model keeps the own-SDOWN rule exact and over-approximates
 * the rest, which only ever withholds ODOWN) ---- */

/* The opinion that counts for name: the latest received among those with that name. */
static const quorum_opinion *latest_opinion(const quorum_odown_input *in, size_t k) {
        const quorum_opinion *o = &in->opinions[k];

        for (size_t i = 0; i < in->n_opinions; i++) {
                const quorum_opinion *p = &in->opinions[i];

                if (i == k || !streq_ptr(p->sentinel, o->sentinel))
                        continue;
                /* the later wins; of two at the same time, the one listed last */
                if (p->received_usec > o->received_usec || (p->received_usec == o->received_usec && i > k))
                        return NULL;
        }
        return o;
}

static bool opinion_fresh(const quorum_odown_input *in, const quorum_opinion *o) {
        /* a time in the future counts as now */
        return o->received_usec >= in->now_usec || in->now_usec - o->received_usec <= in->window_usec;
}

/* "az-a, az-b" */
static void fput_names(FILE *f, char *const *names) {
        for (size_t i = 0; names && names[i]; i++)
                fprintf(f, "%s%s", i ? ", " : "", names[i]);
}

static int odown_text(const quorum_odown_input *in, const quorum_odown_result *r, char **ret) {
        const char *primary = in->primary ?: "?";
        uint64_t window_ms = usec_to_ms_up(in->window_usec);
        char *text = NULL;
        size_t size = 0;
        FILE *f;

        f = open_memstream(&text, &size);
        if (!f)
                return -ENOMEM;
        switch (r->reason) {
        case QUORUM_ODOWN_NO_PRIMARY:
                fputs("not ODOWN: no primary is known", f);
                break;
        case QUORUM_ODOWN_NOT_SDOWN:
                fprintf(f, "%s is not ODOWN: this sentinel does not see it SDOWN itself", primary);
                break;
        case QUORUM_ODOWN_EVIDENCE:
                fprintf(f, "%s is not ODOWN: %u replica IO thread%s still connected to it", primary,
                        r->evidence, r->evidence == 1 ? " is" : "s are");
                fprintf(f, ", though %zu of quorum %u sentinels see it SDOWN", r->count, in->quorum);
                break;
        default:
                fprintf(f, "%s is %sODOWN: %zu of quorum %u sentinel%s see%s it SDOWN within %" PRIu64 " ms",
                        primary, r->odown ? "" : "not ", r->count, in->quorum, in->quorum == 1 ? "" : "s",
                        r->count == 1 ? "s" : "", window_ms);
                break;
        }
        if (r->count > 0 && r->reason != QUORUM_ODOWN_NOT_SDOWN) {
                fputs(" (", f);
                fput_names(f, r->agree);
                fputs(")", f);
        }
        if (r->stale > 0)
                fprintf(f, "; %zu stale opinion%s ignored", r->stale, r->stale == 1 ? "" : "s");
        if (r->other_primary > 0)
                fprintf(f, "; %zu opinion%s about another primary ignored", r->other_primary,
                        r->other_primary == 1 ? "" : "s");
        if (fclose(f) != 0 || !text) {
                free(text);
                return -ENOMEM;
        }
        *ret = text;
        return 0;
}

int quorum_odown(const quorum_odown_input *in, quorum_odown_result *ret) {
        _cleanup_(quorum_odown_result_done) quorum_odown_result r = {};
        size_t n = 0;
        int k;

        if (!in || !ret || !in->self || in->quorum == 0 || (in->n_opinions > 0 && !in->opinions))
                return -EINVAL;

        r.agree = calloc(in->n_opinions + 2, sizeof(char *));
        if (!r.agree)
                return -ENOMEM;
        if (in->primary) {
                r.evidence = in->replica_evidence;
                if (in->sdown) {
                        r.agree[n] = strdup(in->self);
                        if (!r.agree[n++])
                                return -ENOMEM;
                }
                for (size_t i = 0; i < in->n_opinions; i++) {
                        const quorum_opinion *o = &in->opinions[i];

                        if (!o->sentinel || streq(o->sentinel, in->self) || !latest_opinion(in, i))
                                continue;
                        if (!opinion_fresh(in, o)) {
                                r.stale += o->sdown && streq_ptr(o->primary, in->primary);
                                continue;
                        }
                        if (!streq_ptr(o->primary, in->primary)) {
                                r.other_primary++;
                                continue;
                        }
                        r.evidence = r.evidence > UINT_MAX - o->replica_evidence
                                             ? UINT_MAX
                                             : r.evidence + o->replica_evidence;
                        if (o->sdown) {
                                r.agree[n] = strdup(o->sentinel);
                                if (!r.agree[n++])
                                        return -ENOMEM;
                        }
                }
        }
        r.count = n;

        if (!in->primary)
                r.reason = QUORUM_ODOWN_NO_PRIMARY;
        else if (!in->sdown)
                r.reason = QUORUM_ODOWN_NOT_SDOWN;
        else if (r.count < in->quorum)
                r.reason = QUORUM_ODOWN_NO_QUORUM;
        else if (r.evidence > 0)
                r.reason = QUORUM_ODOWN_EVIDENCE;
        else
                r.reason = QUORUM_ODOWN_OK;
        r.odown = r.reason == QUORUM_ODOWN_OK;

        k = odown_text(in, &r, &r.text);
        if (k < 0)
                return k;
        *ret = r;
        r = (quorum_odown_result){};
        return 0;
}

void quorum_odown_result_done(quorum_odown_result *r) {
        if (!r)
                return;
        for (size_t i = 0; r->agree && r->agree[i]; i++)
                free(r->agree[i]);
        free(r->agree);
        free(r->text);
        *r = (quorum_odown_result){};
}

int quorum_odown_to_json(const quorum_odown_result *r, const quorum_odown_input *in, json_object **ret) {
        json_object *o, *agree;

        if (!r || !in || !ret)
                return -EINVAL;
        o = json_object_new_object();
        agree = json_object_new_array();
        if (!o || !agree) {
                json_object_put(o);
                json_object_put(agree);
                return -ENOMEM;
        }
        add(o, "odown", json_object_new_boolean(r->odown));
        add(o, "reason", str_or_null(quorum_odown_reason_to_string(r->reason)));
        add(o, "text", str_or_null(r->text));
        add(o, "primary", str_or_null(in->primary));
        add(o, "count", json_object_new_uint64(r->count));
        add(o, "quorum", json_object_new_uint64(in->quorum));
        for (size_t i = 0; r->agree && r->agree[i]; i++)
                json_object_array_add(agree, json_object_new_string(r->agree[i]));
        add(o, "agree", agree);
        add(o, "evidence", json_object_new_uint64(r->evidence));
        add(o, "stale", json_object_new_uint64(r->stale));
        add(o, "other_primary", json_object_new_uint64(r->other_primary));
        add(o, "window_ms", json_object_new_uint64(usec_to_ms_up(in->window_usec)));
        *ret = o;
        return 0;
}

/* ---- votes (sentinel.pml: CAN_GRANT(), grant(), and start_election() for a candidate's own
 * vote) ---- */

bool quorum_vote_is_granted(quorum_vote_verdict v) {
        return v == QUORUM_VOTE_GRANTED || v == QUORUM_VOTE_GRANTED_AGAIN;
}

quorum_vote_verdict quorum_vote_decide(const quorum_vote_request *req, const quorum_vote_input *in) {
        if (!req || !in || !req->cluster || !req->candidate || !req->primary ||
                req->epoch > QUORUM_EPOCH_MAX || !quorum_vote_kind_to_string(req->kind))
                return QUORUM_VOTE_BAD_REQUEST;
        if (req->epoch < in->current_epoch)
                return QUORUM_VOTE_STALE;
        /* The last vote's epoch is at most the current epoch (recording a vote raises it), so an epoch
         * at or above the current one is either that of the last vote or one never voted in. */
        if (in->last_vote_candidate && req->epoch == in->last_vote_epoch)
                return streq(in->last_vote_candidate, req->candidate) ? QUORUM_VOTE_GRANTED_AGAIN
                                                                      : QUORUM_VOTE_ALREADY_VOTED;
        if (in->last_vote_candidate && req->epoch < in->last_vote_epoch)
                return QUORUM_VOTE_STALE; /* inconsistent inputs; refuse like state_record_vote() */
        if (!streq_ptr(req->cluster, in->cluster) || !streq_ptr(req->primary, in->primary))
                return QUORUM_VOTE_CONFIG_MISMATCH;
        /* While another run may be going on, only the candidate of our last vote (whose own earlier run
         * is over: it asks anew) gets a vote: a second leader of a newer epoch would act on what the first
         * is changing, and could promote another candidate (quorum.h). */
        if (in->busy && !streq_ptr(in->last_vote_candidate, req->candidate))
                return QUORUM_VOTE_BUSY;
        if (req->kind == QUORUM_VOTE_KIND_FAILOVER && !in->odown)
                return QUORUM_VOTE_NOT_ODOWN;
        return QUORUM_VOTE_GRANTED;
}

int quorum_vote_describe(
        const quorum_vote_request *req, const quorum_vote_input *in, quorum_vote_verdict v, char **ret) {
        const char *cand, *s;
        char *text;

        if (!req || !in || !ret || (int) v < 0 || v >= _QUORUM_VOTE_MAX)
                return -EINVAL;
        cand = req->candidate ?: "?";
        switch (v) {
        case QUORUM_VOTE_GRANTED:
                if (req->kind == QUORUM_VOTE_KIND_SWITCHOVER)
                        text = text_printf("vote for %s in epoch %" PRIu64
                                           " granted: an operator's switchover of %s of %s (ODOWN not needed)",
                                cand, req->epoch, req->primary, req->cluster);
                else if (req->kind == QUORUM_VOTE_KIND_FORCED)
                        text = text_printf("vote for %s in epoch %" PRIu64
                                           " granted: an operator's forced failover of %s of %s (ODOWN not needed)",
                                cand, req->epoch, req->primary, req->cluster);
                else
                        text = text_printf("vote for %s in epoch %" PRIu64 " granted: %s of %s is ODOWN here too",
                                cand, req->epoch, req->primary, req->cluster);
                break;
        case QUORUM_VOTE_GRANTED_AGAIN:
                text = text_printf("vote for %s in epoch %" PRIu64 " granted again: already given to it",
                        cand, req->epoch);
                break;
        case QUORUM_VOTE_STALE:
                text = text_printf("vote for %s in epoch %" PRIu64 " denied: stale, our epoch is %" PRIu64,
                        cand, req->epoch, in->current_epoch);
                break;
        case QUORUM_VOTE_ALREADY_VOTED:
                text = text_printf("vote for %s in epoch %" PRIu64
                                   " denied: already voted for %s in that epoch",
                        cand, req->epoch, in->last_vote_candidate ?: "?");
                break;
        case QUORUM_VOTE_CONFIG_MISMATCH:
                if (!streq_ptr(req->cluster, in->cluster))
                        text = text_printf("vote for %s in epoch %" PRIu64
                                           " denied: asked about cluster %s, this is about %s",
                                cand, req->epoch, req->cluster, in->cluster ?: "?");
                else
                        text = text_printf("vote for %s in epoch %" PRIu64
                                           " denied: it says %s failed, the primary of %s here is %s",
                                cand, req->epoch, req->primary, req->cluster, in->primary ?: "unknown");
                break;
        case QUORUM_VOTE_NOT_ODOWN:
                text = text_printf("vote for %s in epoch %" PRIu64 " denied: %s of %s is not ODOWN here",
                        cand, req->epoch, req->primary, req->cluster);
                break;
        case QUORUM_VOTE_BUSY:
                text = text_printf("vote for %s in epoch %" PRIu64 " denied: a %s of %s while another run of %s "
                                   "may be going on",
                        cand, req->epoch,
                        req->kind == QUORUM_VOTE_KIND_SWITCHOVER ? "switchover"
                        : req->kind == QUORUM_VOTE_KIND_FORCED   ? "forced failover"
                                                                 : "failover",
                        req->primary, req->cluster);
                break;
        default:
                s = !req->cluster                             ? "no cluster"
                    : !req->candidate                         ? "no candidate"
                    : !req->primary                           ? "no primary"
                    : !quorum_vote_kind_to_string(req->kind) ? "unknown kind"
                                                              : "epoch too high";
                text = text_printf("vote request denied: malformed (%s)", s);
                break;
        }
        if (!text)
                return -ENOMEM;
        *ret = text;
        return 0;
}

int quorum_vote_to_json(const quorum_vote_request *req, const quorum_vote_input *in, quorum_vote_verdict v,
        json_object **ret) {
        _cleanup_free_ char *text = NULL;
        json_object *o, *rq, *inputs;
        int r;

        r = quorum_vote_describe(req, in, v, &text);
        if (r < 0)
                return r;
        if (!ret)
                return -EINVAL;
        o = json_object_new_object();
        rq = json_object_new_object();
        inputs = json_object_new_object();
        if (!o || !rq || !inputs) {
                json_object_put(o);
                json_object_put(rq);
                json_object_put(inputs);
                return -ENOMEM;
        }
        add(o, "verdict", json_object_new_string(quorum_vote_verdict_to_string(v)));
        add(o, "granted", json_object_new_boolean(quorum_vote_is_granted(v)));
        add(o, "text", json_object_new_string(text));
        add(rq, "cluster", str_or_null(req->cluster));
        add(rq, "epoch", json_object_new_uint64(req->epoch));
        add(rq, "candidate", str_or_null(req->candidate));
        add(rq, "primary", str_or_null(req->primary));
        add(rq, "kind", str_or_null(quorum_vote_kind_to_string(req->kind)));
        add(o, "request", rq);
        add(inputs, "current_epoch", json_object_new_uint64(in->current_epoch));
        add(inputs, "last_vote_epoch",
                in->last_vote_candidate ? json_object_new_uint64(in->last_vote_epoch) : NULL);
        add(inputs, "last_vote_candidate", str_or_null(in->last_vote_candidate));
        add(inputs, "primary", str_or_null(in->primary));
        add(inputs, "odown", json_object_new_boolean(in->odown));
        add(inputs, "busy", json_object_new_boolean(in->busy));
        add(o, "inputs", inputs);
        *ret = o;
        return 0;
}

/* ---- the tally (sentinel.pml: CAN_WIN(), got_vote()) ---- */

int quorum_tally(const char *self, uint64_t epoch, const char *const *sentinels, size_t n_sentinels,
        const quorum_vote_reply *replies, size_t n_replies, quorum_tally_result *ret) {
        _cleanup_free_ uint8_t *seen = NULL; /* per sentinel: 1 denied, 2 granted */
        quorum_tally_result t = {};
        bool self_found = false;

        if (!self || !sentinels || n_sentinels == 0 || (n_replies > 0 && !replies) || !ret)
                return -EINVAL;
        for (size_t i = 0; i < n_sentinels; i++) {
                if (!sentinels[i])
                        return -EINVAL;
                for (size_t j = 0; j < i; j++)
                        if (streq(sentinels[i], sentinels[j]))
                                return -EINVAL;
                self_found = self_found || streq(sentinels[i], self);
        }
        if (!self_found)
                return -EINVAL;

        seen = calloc(n_sentinels, 1);
        if (!seen)
                return -ENOMEM;
        for (size_t k = 0; k < n_replies; k++) {
                const quorum_vote_reply *v = &replies[k];

                if (!v->voter || v->epoch != epoch)
                        continue;
                for (size_t i = 0; i < n_sentinels; i++) {
                        if (!streq(sentinels[i], v->voter))
                                continue;
                        if (v->granted && streq_ptr(v->candidate, self))
                                seen[i] = 2;
                        else if (!v->granted && seen[i] == 0)
                                seen[i] = 1;
                        break;
                }
        }
        for (size_t i = 0; i < n_sentinels; i++) {
                t.count += seen[i] == 2;
                t.denied += seen[i] == 1;
        }
        t.needed = quorum_majority(n_sentinels);
        t.won = t.count >= t.needed;
        *ret = t;
        return 0;
}

/* ---- retrying an election (sentinel.pml: a candidate may start again at any later point) ---- */

uint64_t quorum_retry_delay_usec(uint64_t base_usec, unsigned attempt, uint32_t random_u32) {
        unsigned steps = attempt < QUORUM_RETRY_ATTEMPTS_CAP ? attempt : QUORUM_RETRY_ATTEMPTS_CAP;
        /* floor(base * r / 2^32): uniform in [0, base) without modulo bias or overflow */
        uint64_t jitter = (uint64_t) (((unsigned __int128) base_usec * random_u32) >> 32);

        return add_sat(mul_sat(base_usec, 1 + (uint64_t) steps), jitter);
}

/* ---- configuration (sentinel.pml: adopt_config()) ---- */

quorum_config_order quorum_config_newer(
        uint64_t known_epoch, const char *known_primary, uint64_t epoch, const char *primary) {
        if (!primary || epoch > QUORUM_EPOCH_MAX || known_epoch > QUORUM_EPOCH_MAX)
                return _QUORUM_CONFIG_INVALID;
        if (!known_primary || epoch > known_epoch)
                return QUORUM_CONFIG_NEWER;
        if (epoch < known_epoch)
                return QUORUM_CONFIG_OLDER;
        return streq(primary, known_primary) ? QUORUM_CONFIG_SAME : QUORUM_CONFIG_CONFLICT;
}

/* ---- self-fencing (sentinel.pml: CONFIRMS(), SELF_REM, LEASE, SILENT, FENCE_DUE, LIFT_OK, hello_recv(),
 * restart()) ---- */

static int cmp_desc(const void *a, const void *b) {
        uint64_t x = *(const uint64_t *) a, y = *(const uint64_t *) b;

        return x < y ? 1 : x > y ? -1 : 0;
}

int quorum_majority_heard_usec(
        const uint64_t *confirmed_usec, size_t n, size_t majority, uint64_t *ret_usec) {
        _cleanup_free_ uint64_t *v = NULL;
        size_t known = 0;

        if (majority == 0 || majority > n || !confirmed_usec)
                return -EINVAL;
        v = malloc(n * sizeof(uint64_t));
        if (!v)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++)
                if (confirmed_usec[i] != QUORUM_NEVER)
                        v[known++] = confirmed_usec[i];
        if (known < majority)
                return 0;
        qsort(v, known, sizeof(uint64_t), cmp_desc);
        if (ret_usec)
                *ret_usec = v[majority - 1];
        return 1;
}

static bool same_zone(const char *a, const char *b) {
        return a && b && *a && streq(a, b);
}

quorum_fence_decision quorum_self_fence(const quorum_fence_input *in) {
        quorum_fence_decision d = {
                .action = QUORUM_FENCE_KEEP,
                .silent_usec = UINT64_MAX,
                .deadline_usec = UINT64_MAX,
        };
        uint64_t after, heard;
        bool silent;

        if (!in) {
                d.reason = QUORUM_FENCE_NOT_PRIMARY_ZONE;
                return d;
        }
        after = mul_sat(in->self_fence_after_ms, USEC_PER_MSEC);
        if (in->majority_heard) {
                heard = in->majority_heard_usec < in->now_usec ? in->majority_heard_usec : in->now_usec;
                d.silent_usec = in->now_usec - heard;
        }
        silent = d.silent_usec >= after; /* inclusive; never heard is silent */

        if (!same_zone(in->zone, in->primary_zone))
                d.reason = QUORUM_FENCE_NOT_PRIMARY_ZONE;
        else if (in->fenced) {
                if (in->majority_confirms && !silent) {
                        d.action = QUORUM_FENCE_LIFT;
                        d.reason = QUORUM_FENCE_CONFIRMED;
                } else
                        d.reason = QUORUM_FENCE_NOT_CONFIRMED;
        } else if (!in->majority_heard) {
                d.action = QUORUM_FENCE_FENCE;
                d.reason = QUORUM_FENCE_NEVER_HEARD;
        } else if (silent) {
                d.action = QUORUM_FENCE_FENCE;
                d.reason = QUORUM_FENCE_MAJORITY_SILENT;
        } else {
                d.reason = QUORUM_FENCE_MAJORITY_HEARD;
                d.deadline_usec = add_sat(in->now_usec - d.silent_usec, after);
        }
        return d;
}

int quorum_fence_describe(const quorum_fence_input *in, const quorum_fence_decision *d, char **ret) {
        uint64_t after_ms, silent_ms;
        char *text;

        if (!in || !d || !ret)
                return -EINVAL;
        after_ms = in->self_fence_after_ms;
        silent_ms = usec_to_ms_up(d->silent_usec);
        switch (d->reason) {
        case QUORUM_FENCE_NOT_PRIMARY_ZONE:
                text = text_printf("keep: the primary's zone %s is not this sentinel's zone %s",
                        in->primary_zone ?: "(none)", in->zone ?: "(none)");
                break;
        case QUORUM_FENCE_MAJORITY_HEARD:
                text = text_printf("keep: a majority confirmed the primary %" PRIu64
                                   " ms ago; fence if none does for %" PRIu64 " ms",
                        silent_ms, after_ms);
                break;
        case QUORUM_FENCE_MAJORITY_SILENT:
                text = text_printf("fence: no majority of sentinels confirmed the primary for %" PRIu64
                                   " ms (self_fence_after_ms %" PRIu64 ")",
                        silent_ms, after_ms);
                break;
        case QUORUM_FENCE_NEVER_HEARD:
                text = text_printf(
                        "fence: no majority of sentinels confirmed the primary since this sentinel "
                        "started");
                break;
        case QUORUM_FENCE_NOT_CONFIRMED:
                text = text_printf("keep fenced: no majority confirms the primary in the current epoch%s",
                        in->majority_confirms ? " within self_fence_after_ms" : "");
                break;
        case QUORUM_FENCE_CONFIRMED:
                text = text_printf("lift: a majority confirms the primary in the current epoch again");
                break;
        default:
                return -EINVAL;
        }
        if (!text)
                return -ENOMEM;
        *ret = text;
        return 0;
}

int quorum_fence_to_json(const quorum_fence_input *in, const quorum_fence_decision *d, json_object **ret) {
        _cleanup_free_ char *text = NULL;
        json_object *o, *inputs;
        int r;

        r = quorum_fence_describe(in, d, &text);
        if (r < 0)
                return r;
        o = json_object_new_object();
        inputs = json_object_new_object();
        if (!o || !inputs) {
                json_object_put(o);
                json_object_put(inputs);
                return -ENOMEM;
        }
        add(o, "action", str_or_null(quorum_fence_action_to_string(d->action)));
        add(o, "reason", str_or_null(quorum_fence_reason_to_string(d->reason)));
        add(o, "text", json_object_new_string(text));
        add(o, "silent_ms",
                d->silent_usec == UINT64_MAX ? NULL : json_object_new_uint64(usec_to_ms_up(d->silent_usec)));
        add(o, "deadline_ms_left",
                d->deadline_usec == UINT64_MAX
                        ? NULL
                        : json_object_new_uint64(usec_to_ms_up(
                                  d->deadline_usec > in->now_usec ? d->deadline_usec - in->now_usec : 0)));
        add(inputs, "zone", str_or_null(in->zone));
        add(inputs, "primary_zone", str_or_null(in->primary_zone));
        add(inputs, "fenced", json_object_new_boolean(in->fenced));
        add(inputs, "majority_confirms", json_object_new_boolean(in->majority_confirms));
        add(inputs, "self_fence_after_ms", json_object_new_uint64(in->self_fence_after_ms));
        add(o, "inputs", inputs);
        *ret = o;
        return 0;
}
