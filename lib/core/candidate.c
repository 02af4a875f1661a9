#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "candidate.h"
#include "macro.h"
#include "strutil.h"

static const char *const candidate_reason_table[_CANDIDATE_REASON_MAX] = {
        [CANDIDATE_OK] = "OK",
        [CANDIDATE_FAILED_PRIMARY] = "FAILED_PRIMARY",
        [CANDIDATE_NOT_TARGET] = "NOT_TARGET",
        [CANDIDATE_NOT_PROMOTABLE] = "NOT_PROMOTABLE",
        [CANDIDATE_UNREACHABLE] = "UNREACHABLE",
        [CANDIDATE_NO_BINLOG] = "NO_BINLOG",
        [CANDIDATE_NOT_A_REPLICA] = "NOT_A_REPLICA",
        [CANDIDATE_REPLICATION_BROKEN] = "REPLICATION_BROKEN",
        [CANDIDATE_ERRANT_GTID] = "ERRANT_GTID",
        [CANDIDATE_LAGGING] = "LAGGING",
        [CANDIDATE_DIVERGED] = "DIVERGED",
};

static const char *const candidate_label_table[_CANDIDATE_REASON_MAX] = {
        [CANDIDATE_OK] = "eligible",
        [CANDIDATE_FAILED_PRIMARY] = "old-primary",
        [CANDIDATE_NOT_TARGET] = "target",
        [CANDIDATE_NOT_PROMOTABLE] = "promotable",
        [CANDIDATE_UNREACHABLE] = "reachable",
        [CANDIDATE_NO_BINLOG] = "binlog",
        [CANDIDATE_NOT_A_REPLICA] = "replica",
        [CANDIDATE_REPLICATION_BROKEN] = "replication",
        [CANDIDATE_ERRANT_GTID] = "errant",
        [CANDIDATE_LAGGING] = "lag",
        [CANDIDATE_DIVERGED] = "diverged",
};

const char *candidate_reason_to_string(candidate_reason r) {
        if ((int) r < 0 || r >= _CANDIDATE_REASON_MAX)
                return NULL;
        return candidate_reason_table[r];
}

candidate_reason candidate_reason_from_string(const char *s) {
        return (candidate_reason) str_table_find(candidate_reason_table, _CANDIDATE_REASON_MAX, s);
}

const char *candidate_reason_label(candidate_reason r) {
        if ((int) r < 0 || r >= _CANDIDATE_REASON_MAX)
                return NULL;
        return candidate_label_table[r];
}

/* Every check but OK. */
#define ALL_CHECKS (((1u << _CANDIDATE_REASON_MAX) - 1) & ~CANDIDATE_BIT(CANDIDATE_OK))

candidate_selection *candidate_selection_free(candidate_selection *s) {
        if (!s)
                return NULL;
        for (size_t i = 0; i < s->n_servers; i++) {
                free(s->verdicts[i].text);
                gtid_list_done(&s->verdicts[i].received);
                gtid_diff_done(&s->verdicts[i].errant);
        }
        free(s->verdicts);
        free(s->candidates);
        gtid_list_done(&s->most_advanced);
        gtid_diff_done(&s->missing);
        free(s->missing_source);
        free(s);
        return NULL;
}

size_t candidate_selection_best(const candidate_selection *s) {
        return s && s->n_candidates > 0 ? s->candidates[0] : TOPOLOGY_NONE;
}

/* ---- selecting ---- */

typedef struct selector {
        const cluster_conf *conf;
        const server_status *const *latest;
        const server_status *const *last_good;
        const topology *t;
        size_t old;
        const server_status *old_good; /* the failed primary's last good probe, NULL when unknown */
        gtid_list reference;           /* its position then; valid when old_good is set */
        gtid_list *clean;              /* per server: received, errant domains capped */
        candidate_selection *sel;
        int r; /* the first error; fail() does nothing once set */
} selector;

static const char *name_of(const selector *x, size_t i) {
        return x->conf->servers[i].name;
}

static bool answered(const server_status *s) {
        return s && probe_error_class_is_alive(s->error_class) && s->have_variables;
}

/* Records that check c failed for server i, appending the formatted explanation to its text. */
_printf_(4, 5) static void fail(selector *x, size_t i, candidate_reason c, const char *fmt, ...) {
        candidate_verdict *v = &x->sel->verdicts[i];
        bool overridden = x->sel->forced && (CANDIDATE_BIT(c) & CANDIDATE_FORCIBLE);
        _cleanup_free_ char *piece = NULL;
        char *joined = NULL;
        va_list ap;
        int r;

        v->checked |= CANDIDATE_BIT(c);
        v->failed |= CANDIDATE_BIT(c);
        if (overridden)
                v->overridden |= CANDIDATE_BIT(c);
        if (x->r < 0)
                return;
        va_start(ap, fmt);
        r = vasprintf(&piece, fmt, ap);
        va_end(ap);
        if (r < 0 || asprintf(&joined, "%s%s%s%s", v->text ?: "", v->text ? "; " : "", piece,
                             overridden ? " (overridden by --force)" : "") < 0) {
                piece = r < 0 ? NULL : piece;
                x->r = -ENOMEM;
                return;
        }
        free(v->text);
        v->text = joined;
}

static void pass(selector *x, size_t i, candidate_reason c) {
        x->sel->verdicts[i].checked |= CANDIDATE_BIT(c);
}

/* The connection of s to the failed primary: by address, else by its server_id (when the address is
 * no configured server at all). */
static const server_replication *row_to_old(const selector *x, const server_status *s) {
        const server_replication *by_id = NULL;
        uint32_t old_id = x->old_good ? x->old_good->server_id : 0;

        if (!s || !s->have_replication)
                return NULL;
        for (size_t k = 0; k < s->n_replication; k++) {
                const server_replication *row = &s->replication[k];
                size_t f = topology_server_by_address(x->conf, row->master_host, row->master_port);

                if (f == x->old)
                        return row;
                if (!by_id && f == TOPOLOGY_NONE && old_id != 0 && row->master_server_id == old_id)
                        by_id = row;
        }
        return by_id;
}

/* Per domain the more advanced of a and b (a wins a tie) into *ret. */
static int merge_max(const gtid_list *a, const gtid_list *b, gtid_list *ret) {
        _cleanup_(gtid_list_done) gtid_list l = GTID_LIST_EMPTY;
        int r = gtid_list_copy(a, &l);

        for (size_t k = 0; r >= 0 && k < b->n; k++) {
                const gtid *have = gtid_list_get(&l, b->items[k].domain_id);

                if (!have || have->seq_no < b->items[k].seq_no)
                        r = gtid_list_set(&l, &b->items[k]);
        }
        if (r < 0)
                return r;
        *ret = l;
        l = GTID_LIST_EMPTY;
        return 0;
}

static int check_broken(selector *x, size_t i, const server_replication *now) {
        const server_replication *then = row_to_old(x, x->last_good[i]);

        /* An SQL thread stopped without an error (an operator's STOP SLAVE SQL_THREAD, a delayed replica)
         * is not broken: it is behind by an unknown amount, which the lag check refuses (LAGGING). */
        if (then && answered(x->last_good[i]) &&
                (then->io_running != REPLICA_IO_YES || then->last_sql_errno != 0)) {
                char err[64] = "";

                if (then->last_sql_errno != 0)
                        snprintf(err, sizeof(err), ", SQL error %" PRIu32 ": ", then->last_sql_errno);
                fail(x, i, CANDIDATE_REPLICATION_BROKEN,
                        "replication from %s was broken at its last good probe: IO thread %s, SQL thread "
                        "%s%s%s",
                        name_of(x, x->old), replica_io_state_to_string(then->io_running) ?: "?",
                        then->sql_running ? "running" : "stopped", err,
                        then->last_sql_errno != 0 && then->last_sql_error ? then->last_sql_error : "");
                return x->r;
        }
        if (!now->sql_running && now->last_sql_errno != 0) {
                fail(x, i, CANDIDATE_REPLICATION_BROKEN,
                        "its SQL thread stopped with error %" PRIu32 " after %s failed: %s",
                        now->last_sql_errno, name_of(x, x->old), now->last_sql_error ?: "");
                return x->r;
        }
        pass(x, i, CANDIDATE_REPLICATION_BROKEN);
        return 0;
}

static int check_lag(selector *x, size_t i) {
        const server_replication *then = answered(x->last_good[i]) ? row_to_old(x, x->last_good[i]) : NULL;
        candidate_verdict *v = &x->sel->verdicts[i];
        uint64_t max = x->conf->failover.max_lag_ms;

        if (!then || !then->seconds_behind_master_known) {
                fail(x, i, CANDIDATE_LAGGING, "lag unknown at %s's last good probe (%s)", name_of(x, x->old),
                        !x->last_good[i]             ? "no probe of it then"
                        : !answered(x->last_good[i]) ? "it did not answer then"
                        : !then                      ? "no connection to it then"
                        : !then->sql_running         ? "its SQL thread was stopped"
                                                     : "Seconds_Behind_Master NULL");
                return x->r;
        }
        v->lag_known = true;
        v->lag_ms = then->seconds_behind_master > UINT64_MAX / 1000 ? UINT64_MAX
                                                                    : then->seconds_behind_master * 1000;
        if (v->lag_ms > max)
                fail(x, i, CANDIDATE_LAGGING,
                        "lagged %" PRIu64
                        " ms behind %s at its last good probe (failover.max_lag_ms %" PRIu64 ")",
                        v->lag_ms, name_of(x, x->old), max);
        else
                pass(x, i, CANDIDATE_LAGGING);
        return x->r;
}

/* Errant transactions against the failed primary's last good position; caps them in x->clean[i]. */
static int check_errant(selector *x, size_t i, const server_status *s) {
        candidate_verdict *v = &x->sel->verdicts[i];
        _cleanup_free_ char *text = NULL;
        size_t n = 0;
        int r;

        if (!x->old_good)
                return 0; /* not checked */
        r = gtid_list_missing(&s->gtid_current_pos, &x->reference, &v->errant);
        if (r < 0)
                return r;
        v->errant_known = true;
        for (size_t k = 0; k < v->errant.n; k++) {
                const gtid_range *g = &v->errant.items[k];

                if (g->diverged || g->last.server_id != x->old_good->server_id)
                        v->errant.items[n++] = *g;
        }
        v->errant.n = n;
        if (n == 0) {
                gtid_diff_done(&v->errant);
                pass(x, i, CANDIDATE_ERRANT_GTID);
                return 0;
        }
        for (size_t k = 0; k < n; k++) {
                const gtid_range *g = &v->errant.items[k];
                const gtid *top = gtid_list_get(&x->clean[i], g->last.domain_id);
                gtid cap = {.domain_id = g->last.domain_id,
                        .server_id = g->ref_server_id,
                        .seq_no = g->after_seq_no};

                /* not when the IO thread received more of the primary's stream on top of it */
                if (top && top->server_id == g->last.server_id && top->seq_no == g->last.seq_no) {
                        r = gtid_list_set(&x->clean[i], &cap);
                        if (r < 0)
                                return r;
                }
        }
        r = gtid_diff_format(&v->errant, &text);
        if (r < 0)
                return r;
        fail(x, i, CANDIDATE_ERRANT_GTID, "has transactions %s lacked: %s", name_of(x, x->old), text);
        return x->r;
}

/* Every check of server i that needs no other server. */
static int check_server(selector *x, size_t i) {
        const server_conf *sc = &x->conf->servers[i];
        const server_status *s = x->latest[i];
        candidate_verdict *v = &x->sel->verdicts[i];
        const server_replication *row;
        int r;

        v->same_zone =
                sc->zone && x->conf->servers[x->old].zone && streq(sc->zone, x->conf->servers[x->old].zone);
        if (i == x->old) {
                fail(x, i, CANDIDATE_FAILED_PRIMARY, "the failed primary");
                return x->r;
        }
        pass(x, i, CANDIDATE_FAILED_PRIMARY);
        if (x->sel->target != TOPOLOGY_NONE) {
                if (i != x->sel->target)
                        fail(x, i, CANDIDATE_NOT_TARGET, "not the --to target %s",
                                name_of(x, x->sel->target));
                else
                        pass(x, i, CANDIDATE_NOT_TARGET);
        }
        if (!sc->promotable)
                fail(x, i, CANDIDATE_NOT_PROMOTABLE, "promotable = false in the configuration");
        else
                pass(x, i, CANDIDATE_NOT_PROMOTABLE);

        if (!s || !probe_error_class_is_alive(s->error_class)) {
                fail(x, i, CANDIDATE_UNREACHABLE, "%s%s%s", !s ? "never probed" : "not reachable (",
                        s ? probe_error_class_to_string(s->error_class) ?: "?" : "", s ? ")" : "");
                return x->r;
        }
        if (!s->have_variables || !s->have_replication) {
                fail(x, i, CANDIDATE_UNREACHABLE, "answered, but its %s could not be read",
                        !s->have_variables ? "variables" : "replication status");
                return x->r;
        }
        pass(x, i, CANDIDATE_UNREACHABLE);

        if (!s->log_bin || !s->log_slave_updates)
                fail(x, i, CANDIDATE_NO_BINLOG, "%s", !s->log_bin ? "log_bin=OFF" : "log_slave_updates=OFF");
        else
                pass(x, i, CANDIDATE_NO_BINLOG);

        row = row_to_old(x, s);
        if (!row) {
                size_t f = x->t && i < x->t->n_servers ? x->t->servers[i].follows : TOPOLOGY_NONE;

                fail(x, i, CANDIDATE_NOT_A_REPLICA, "does not replicate from the failed primary %s%s%s%s",
                        name_of(x, x->old), f != TOPOLOGY_NONE ? " (it replicates from " : "",
                        f != TOPOLOGY_NONE ? name_of(x, f) : "", f != TOPOLOGY_NONE ? ")" : "");
                return x->r;
        }
        pass(x, i, CANDIDATE_NOT_A_REPLICA);

        r = check_broken(x, i, row);
        if (r < 0)
                return r;
        r = merge_max(&row->gtid_io_pos, &s->gtid_current_pos, &v->received);
        if (r < 0)
                return r;
        r = gtid_list_copy(&v->received, &x->clean[i]);
        if (r < 0)
                return r;
        v->position_known = true;
        r = check_errant(x, i, s);
        if (r < 0)
                return r;
        return check_lag(x, i);
}

/* The most advanced position over every known one; the failed primary's GTID wins a same-seq_no tie. */
static int build_most_advanced(selector *x) {
        candidate_selection *sel = x->sel;
        uint32_t old_id = x->old_good ? x->old_good->server_id : 0;
        int r;

        for (size_t i = 0; i < sel->n_servers; i++)
                for (size_t k = 0; sel->verdicts[i].position_known && k < x->clean[i].n; k++) {
                        const gtid *g = &x->clean[i].items[k];
                        const gtid *cur = gtid_list_get(&sel->most_advanced, g->domain_id);

                        if (g->seq_no == 0)
                                continue;
                        if (cur && (cur->seq_no > g->seq_no ||
                                           (cur->seq_no == g->seq_no && (cur->server_id == g->server_id ||
                                                                                g->server_id != old_id))))
                                continue;
                        r = gtid_list_set(&sel->most_advanced, g);
                        if (r < 0)
                                return r;
                }
        sel->most_advanced_server = TOPOLOGY_NONE;
        for (size_t i = 0; i < sel->n_servers; i++)
                if (sel->verdicts[i].position_known &&
                        gtid_list_contains(&x->clean[i], &sel->most_advanced)) {
                        sel->most_advanced_server = i;
                        break;
                }
        return 0;
}

static uint64_t add_sat(uint64_t a, uint64_t b) {
        return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

/* Transactions behind the most advanced position, and DIVERGED. */
static int compare_positions(selector *x, size_t i) {
        candidate_verdict *v = &x->sel->verdicts[i];
        _cleanup_(gtid_diff_done) gtid_diff behind = GTID_DIFF_EMPTY;
        _cleanup_free_ char *mine = NULL, *best = NULL;
        int r;

        if (!v->position_known)
                return 0;
        r = gtid_list_missing(&x->sel->most_advanced, &x->clean[i], &behind);
        if (r < 0)
                return r;
        for (size_t k = 0; k < behind.n; k++)
                v->behind_transactions = add_sat(v->behind_transactions,
                        behind.items[k].diverged
                                ? 1
                                : behind.items[k].last.seq_no - behind.items[k].after_seq_no);
        if (gtid_list_compare(&x->clean[i], &x->sel->most_advanced) != GTID_ORDER_DIVERGED) {
                pass(x, i, CANDIDATE_DIVERGED);
                return 0;
        }
        if (gtid_list_format(&v->received, &mine) < 0 || gtid_list_format(&x->sel->most_advanced, &best) < 0)
                return -ENOMEM;
        fail(x, i, CANDIDATE_DIVERGED, "its position %s diverges from the most advanced %s", mine, best);
        return x->r;
}

/* Whether eligible server a ranks before b. */
static bool ranks_before(const selector *x, size_t a, size_t b) {
        const candidate_verdict *va = &x->sel->verdicts[a], *vb = &x->sel->verdicts[b];
        const server_conf *ca = &x->conf->servers[a], *cb = &x->conf->servers[b];

        if (va->behind_transactions != vb->behind_transactions)
                return va->behind_transactions < vb->behind_transactions;
        if (ca->priority != cb->priority)
                return ca->priority > cb->priority;
        if (va->same_zone != vb->same_zone)
                return va->same_zone;
        return a < b;
}

static int rank(selector *x) {
        candidate_selection *sel = x->sel;
        size_t best;
        int r;

        sel->candidates = calloc(sel->n_servers ?: 1, sizeof(size_t));
        if (!sel->candidates)
                return -ENOMEM;
        for (size_t i = 0; i < sel->n_servers; i++) {
                candidate_verdict *v = &sel->verdicts[i];
                unsigned blocking = v->failed & ~v->overridden;
                size_t k;

                v->reason = CANDIDATE_OK;
                for (int c = 1; c < _CANDIDATE_REASON_MAX; c++)
                        if (blocking & CANDIDATE_BIT(c)) {
                                v->reason = c;
                                break;
                        }
                v->eligible = v->reason == CANDIDATE_OK;
                if (!v->eligible)
                        continue;
                /* insertion sort: a handful of servers */
                for (k = sel->n_candidates; k > 0 && ranks_before(x, i, sel->candidates[k - 1]); k--)
                        sel->candidates[k] = sel->candidates[k - 1];
                sel->candidates[k] = i;
                sel->n_candidates++;
        }
        for (size_t k = 0; k < sel->n_candidates; k++)
                sel->verdicts[sel->candidates[k]].rank = k + 1;
        if (sel->n_candidates == 0)
                return 0;

        best = sel->candidates[0];
        r = gtid_list_missing(&sel->most_advanced, &x->clean[best], &sel->missing);
        if (r <= 0)
                return r;
        sel->candidate_behind = true;
        sel->missing_source = calloc(sel->missing.n, sizeof(size_t));
        if (!sel->missing_source)
                return -ENOMEM;
        for (size_t k = 0; k < sel->missing.n; k++) {
                const gtid *want = &sel->missing.items[k].last;

                sel->missing_source[k] = TOPOLOGY_NONE;
                for (size_t i = 0; i < sel->n_servers && sel->missing_source[k] == TOPOLOGY_NONE; i++) {
                        const gtid *g = sel->verdicts[i].position_known
                                                ? gtid_list_get(&x->clean[i], want->domain_id)
                                                : NULL;

                        if (g && g->seq_no == want->seq_no && g->server_id == want->server_id)
                                sel->missing_source[k] = i;
                }
        }
        return 0;
}

/* The eligible servers' text, and every text made one line. */
static int finish_texts(selector *x) {
        for (size_t i = 0; i < x->sel->n_servers; i++) {
                candidate_verdict *v = &x->sel->verdicts[i];

                if (v->eligible) {
                        _cleanup_free_ char *pos = NULL;
                        char *t = NULL;

                        if (gtid_list_format(&v->received, &pos) < 0 ||
                                asprintf(&t,
                                        "rank %zu: received %s, %" PRIu64 " transactions behind the most "
                                        "advanced, priority %d, %s %s%s%s",
                                        v->rank, pos[0] ? pos : "nothing", v->behind_transactions,
                                        x->conf->servers[i].priority,
                                        v->same_zone ? "same zone as" : "not in the zone of",
                                        name_of(x, x->old), v->text ? "; " : "", v->text ?: "") < 0)
                                return -ENOMEM;
                        free(v->text);
                        v->text = t;
                }
                for (char *p = v->text; p && *p; p++)
                        if ((unsigned char) *p < 0x20 || *p == 0x7f)
                                *p = ' ';
        }
        return 0;
}

static void selector_done(selector *x) {
        for (size_t i = 0; x->clean && i < x->conf->n_servers; i++)
                gtid_list_done(&x->clean[i]);
        free(x->clean);
        gtid_list_done(&x->reference);
}

int candidate_select(const cluster_conf *conf, const server_status *const *latest,
        const server_status *const *last_good, const topology *t, size_t old_primary,
        const candidate_options *opts, candidate_selection **ret) {
        _cleanup_(candidate_selection_freep) candidate_selection *sel = NULL;
        _cleanup_(selector_done) selector x = {
                .conf = conf, .latest = latest, .last_good = last_good, .t = t, .old = old_primary};
        int r = 0;

        if (!conf || !latest || !last_good || !ret || old_primary >= conf->n_servers)
                return -EINVAL;

        sel = calloc(1, sizeof(*sel));
        if (!sel)
                return -ENOMEM;
        *sel = (candidate_selection){.old_primary = old_primary,
                .target = TOPOLOGY_NONE,
                .forced = opts && opts->forced,
                .most_advanced_server = TOPOLOGY_NONE};
        if (opts && opts->target) {
                for (size_t i = 0; i < conf->n_servers && sel->target == TOPOLOGY_NONE; i++)
                        if (streq_ptr(conf->servers[i].name, opts->target))
                                sel->target = i;
                if (sel->target == TOPOLOGY_NONE)
                        return -ENOENT;
        }
        sel->verdicts = calloc(conf->n_servers ?: 1, sizeof(candidate_verdict));
        x.clean = calloc(conf->n_servers ?: 1, sizeof(gtid_list));
        if (!sel->verdicts || !x.clean)
                return -ENOMEM;
        sel->n_servers = conf->n_servers;
        x.sel = sel;

        if (answered(last_good[old_primary])) {
                x.old_good = last_good[old_primary];
                r = merge_max(&x.old_good->gtid_binlog_pos, &x.old_good->gtid_current_pos, &x.reference);
        }
        for (size_t i = 0; r >= 0 && i < conf->n_servers; i++)
                r = check_server(&x, i);
        if (r >= 0)
                r = build_most_advanced(&x);
        for (size_t i = 0; r >= 0 && i < conf->n_servers; i++)
                r = compare_positions(&x, i);
        if (r >= 0)
                r = rank(&x);
        if (r >= 0)
                r = finish_texts(&x);
        if (r >= 0)
                r = x.r;
        if (r < 0)
                return r;
        *ret = TAKE_PTR(sel);
        return 0;
}

int candidate_selection_format_missing(const candidate_selection *s, const cluster_conf *conf, char **ret) {
        char *text = NULL;
        size_t size = 0;
        FILE *f;

        if (!s || !conf || !ret)
                return -EINVAL;
        f = open_memstream(&text, &size);
        if (!f)
                return -ENOMEM;
        for (size_t k = 0; s->candidate_behind && k < s->missing.n; k++) {
                _cleanup_free_ char *range = NULL;
                gtid_diff one = {.n = 1, .items = &s->missing.items[k]};
                size_t src = s->missing_source ? s->missing_source[k] : TOPOLOGY_NONE;

                if (gtid_diff_format(&one, &range) < 0)
                        break;
                fprintf(f, "%s%s (on %s)", k ? ", " : "", range,
                        src < conf->n_servers ? conf->servers[src].name : "?");
        }
        if (fclose(f) != 0 || !text) {
                free(text);
                return -ENOMEM;
        }
        *ret = text;
        return 0;
}

/* ---- JSON ---- */

static json_object *codes(unsigned mask) {
        json_object *a = json_object_new_array();

        for (int c = 1; a && c < _CANDIDATE_REASON_MAX; c++)
                if (mask & CANDIDATE_BIT(c))
                        json_object_array_add(a, json_object_new_string(candidate_reason_to_string(c)));
        return a;
}

static json_object *gtid_json(const gtid_list *l, bool known) {
        _cleanup_free_ char *s = NULL;

        if (!known || gtid_list_format(l, &s) < 0)
                return NULL;
        return json_object_new_string(s);
}

static json_object *name_json(const cluster_conf *conf, size_t i) {
        return i < conf->n_servers ? json_object_new_string(conf->servers[i].name) : NULL;
}

int candidate_selection_to_json(const candidate_selection *s, const cluster_conf *conf, json_object **ret) {
        json_object *o, *servers;
        _cleanup_free_ char *missing = NULL;

        if (!s || !conf || !ret || s->n_servers != conf->n_servers)
                return -EINVAL;
        if (candidate_selection_format_missing(s, conf, &missing) < 0)
                return -ENOMEM;
        o = json_object_new_object();
        servers = json_object_new_array();
        if (!o || !servers) {
                json_object_put(o);
                json_object_put(servers);
                return -ENOMEM;
        }
        json_object_object_add(o, "old_primary", name_json(conf, s->old_primary));
        json_object_object_add(o, "target", name_json(conf, s->target));
        json_object_object_add(o, "forced", json_object_new_boolean(s->forced));
        json_object_object_add(o, "candidate", name_json(conf, candidate_selection_best(s)));
        json_object_object_add(o, "most_advanced", gtid_json(&s->most_advanced, true));
        json_object_object_add(o, "most_advanced_server", name_json(conf, s->most_advanced_server));
        json_object_object_add(o, "candidate_behind", json_object_new_boolean(s->candidate_behind));
        json_object_object_add(o, "missing", s->candidate_behind ? json_object_new_string(missing) : NULL);
        json_object_object_add(o, "servers", servers);
        for (size_t i = 0; i < s->n_servers; i++) {
                const candidate_verdict *v = &s->verdicts[i];
                const server_conf *sc = &conf->servers[i];
                json_object *e = json_object_new_object();
                _cleanup_free_ char *errant = NULL;

                if (!e || (v->errant.n > 0 && gtid_diff_format(&v->errant, &errant) < 0)) {
                        json_object_put(e);
                        json_object_put(o);
                        return -ENOMEM;
                }
                json_object_array_add(servers, e);
                json_object_object_add(e, "name", json_object_new_string(sc->name));
                json_object_object_add(e, "zone", sc->zone ? json_object_new_string(sc->zone) : NULL);
                json_object_object_add(e, "priority", json_object_new_int(sc->priority));
                json_object_object_add(e, "eligible", json_object_new_boolean(v->eligible));
                json_object_object_add(e, "rank", v->rank ? json_object_new_uint64(v->rank) : NULL);
                json_object_object_add(
                        e, "reason", json_object_new_string(candidate_reason_to_string(v->reason)));
                json_object_object_add(e, "text", json_object_new_string(v->text ?: ""));
                json_object_object_add(e, "passed", codes(v->checked & ~v->failed));
                json_object_object_add(e, "failed", codes(v->failed & ~v->overridden));
                json_object_object_add(e, "overridden", codes(v->overridden));
                json_object_object_add(e, "not_checked", codes(ALL_CHECKS & ~v->checked));
                json_object_object_add(e, "received", gtid_json(&v->received, v->position_known));
                json_object_object_add(e, "behind_transactions",
                        v->position_known ? json_object_new_uint64(v->behind_transactions) : NULL);
                json_object_object_add(e, "lag_ms", v->lag_known ? json_object_new_uint64(v->lag_ms) : NULL);
                json_object_object_add(
                        e, "errant", !v->errant_known ? NULL : json_object_new_string(errant ?: ""));
        }
        *ret = o;
        return 0;
}

/* ---- the human listing, from the JSON alone ---- */

static json_object *get(json_object *o, const char *key) {
        json_object *v = NULL;

        if (!o || !json_object_is_type(o, json_type_object) || !json_object_object_get_ex(o, key, &v))
                return NULL;
        return v;
}

static const char *get_str(json_object *o, const char *key, const char *def) {
        json_object *v = get(o, key);

        return v && json_object_is_type(v, json_type_string) ? json_object_get_string(v) : def;
}

/* The status of check code in server e: "ok", "FAILED", "overridden", or NULL (not listed). */
static const char *check_status(json_object *e, const char *code) {
        static const struct {
                const char *key, *word;
        } lists[] = {{"failed", "FAILED"}, {"overridden", "overridden"}, {"passed", "ok"}};

        for (size_t l = 0; l < ELEMENTSOF(lists); l++) {
                json_object *a = get(e, lists[l].key);

                for (size_t k = 0;
                        a && json_object_is_type(a, json_type_array) && k < json_object_array_length(a); k++)
                        if (streq_ptr(json_object_get_string(json_object_array_get_idx(a, k)), code))
                                return lists[l].word;
        }
        return NULL;
}

static void format_server(FILE *f, json_object *e) {
        json_object *rank = get(e, "rank");
        const char *reason = get_str(e, "reason", "?"), *sep = "";
        int64_t priority = json_object_get_int64(get(e, "priority"));

        if (rank && json_object_is_type(rank, json_type_int))
                fprintf(f, "#%" PRId64 " ", json_object_get_int64(rank));
        else
                fprintf(f, "-  ");
        fprintf(f, "%s (%s, priority %" PRId64 "): %s: %s\n   checks: ", get_str(e, "name", "?"),
                get_str(e, "zone", "-"), priority, streq(reason, "OK") ? "eligible" : reason,
                get_str(e, "text", ""));
        for (int c = 1; c < _CANDIDATE_REASON_MAX; c++) {
                const char *st = check_status(e, candidate_reason_to_string(c));

                /* the failed-primary and target checks only when they fail */
                if ((c == CANDIDATE_FAILED_PRIMARY || c == CANDIDATE_NOT_TARGET) && !streq_ptr(st, "FAILED"))
                        continue;
                fprintf(f, "%s%s %s", sep, candidate_reason_label(c), st ?: "-");
                sep = ", ";
        }
        fputc('\n', f);
}

int candidate_selection_format(json_object *j, char **ret) {
        json_object *servers = get(j, "servers");
        const char *candidate = get_str(j, "candidate", NULL), *target = get_str(j, "target", NULL);
        char *text = NULL;
        size_t size = 0, n;
        FILE *f;

        if (!ret || !servers || !json_object_is_type(servers, json_type_array))
                return -EINVAL;
        f = open_memstream(&text, &size);
        if (!f)
                return -ENOMEM;
        n = json_object_array_length(servers);
        fprintf(f, "candidates to replace %s%s%s%s: most advanced position %s",
                get_str(j, "old_primary", "?"), target ? " (--to " : "", target ?: "", target ? ")" : "",
                get_str(j, "most_advanced", "unknown"));
        if (get_str(j, "most_advanced_server", NULL))
                fprintf(f, " (%s)", get_str(j, "most_advanced_server", ""));
        fprintf(f, "%s\n", get(j, "forced") && json_object_get_boolean(get(j, "forced")) ? ", forced" : "");
        /* eligible ones in rank order, then the others in config order */
        for (int64_t want = 1; want <= (int64_t) n; want++)
                for (size_t k = 0; k < n; k++) {
                        json_object *e = json_object_array_get_idx(servers, k), *r = get(e, "rank");

                        if (r && json_object_is_type(r, json_type_int) && json_object_get_int64(r) == want)
                                format_server(f, e);
                }
        for (size_t k = 0; k < n; k++) {
                json_object *e = json_object_array_get_idx(servers, k), *r = get(e, "rank");

                if (!r || !json_object_is_type(r, json_type_int))
                        format_server(f, e);
        }
        if (!candidate)
                fprintf(f, "no eligible candidate\n");
        else if (get_str(j, "missing", NULL))
                fprintf(f, "CANDIDATE_BEHIND: %s lacks %s\n", candidate, get_str(j, "missing", ""));
        if (fclose(f) != 0 || !text) {
                free(text);
                return -ENOMEM;
        }
        *ret = text;
        return 0;
}
