#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "macro.h"
#include "strutil.h"
#include "switchover-check.h"

static const char *const switchover_reason_table[_SWITCHOVER_REASON_MAX] = {
        [SWITCHOVER_REASON_OK] = "OK",
        [SWITCHOVER_REASON_UNKNOWN_TARGET] = "UNKNOWN_TARGET",
        [SWITCHOVER_REASON_NO_PRIMARY] = "NO_PRIMARY",
        [SWITCHOVER_REASON_PRIMARY_DOWN] = "PRIMARY_DOWN",
        [SWITCHOVER_REASON_PRIMARY_UNKNOWN] = "PRIMARY_UNKNOWN",
        [SWITCHOVER_REASON_PRIMARY_READ_ONLY] = "PRIMARY_READ_ONLY",
        [SWITCHOVER_REASON_TARGET_IS_PRIMARY] = "TARGET_IS_PRIMARY",
        [SWITCHOVER_REASON_NO_CANDIDATE] = "NO_CANDIDATE",
        [SWITCHOVER_REASON_CURRENT_PRIMARY] = "CURRENT_PRIMARY",
        [SWITCHOVER_REASON_NOT_TARGET] = "NOT_TARGET",
        [SWITCHOVER_REASON_NOT_PROMOTABLE] = "NOT_PROMOTABLE",
        [SWITCHOVER_REASON_UNREACHABLE] = "UNREACHABLE",
        [SWITCHOVER_REASON_NO_BINLOG] = "NO_BINLOG",
        [SWITCHOVER_REASON_NOT_A_REPLICA] = "NOT_A_REPLICA",
        [SWITCHOVER_REASON_REPLICATION_BROKEN] = "REPLICATION_BROKEN",
        [SWITCHOVER_REASON_ERRANT_GTID] = "ERRANT_GTID",
        [SWITCHOVER_REASON_LAGGING] = "LAGGING",
};

/* What each server check verifies, for the listing. */
static const char *const check_label_table[_SWITCHOVER_REASON_MAX] = {
        [SWITCHOVER_REASON_CURRENT_PRIMARY] = "current-primary",
        [SWITCHOVER_REASON_NOT_TARGET] = "target",
        [SWITCHOVER_REASON_NOT_PROMOTABLE] = "promotable",
        [SWITCHOVER_REASON_UNREACHABLE] = "reachable",
        [SWITCHOVER_REASON_NO_BINLOG] = "binlog",
        [SWITCHOVER_REASON_NOT_A_REPLICA] = "replica",
        [SWITCHOVER_REASON_REPLICATION_BROKEN] = "replication",
        [SWITCHOVER_REASON_ERRANT_GTID] = "errant",
        [SWITCHOVER_REASON_LAGGING] = "lag",
};

#define FIRST_CHECK SWITCHOVER_REASON_CURRENT_PRIMARY
#define ALL_CHECKS  (((1u << _SWITCHOVER_REASON_MAX) - 1) & ~((1u << FIRST_CHECK) - 1))

const char *switchover_reason_to_string(switchover_reason r) {
        if ((int) r < 0 || r >= _SWITCHOVER_REASON_MAX)
                return NULL;
        return switchover_reason_table[r];
}

switchover_reason switchover_reason_from_string(const char *s) {
        return (switchover_reason) str_table_find(switchover_reason_table, _SWITCHOVER_REASON_MAX, s);
}

switchover_check *switchover_check_free(switchover_check *c) {
        if (!c)
                return NULL;
        for (size_t i = 0; c->verdicts && i < c->n_servers; i++) {
                free(c->verdicts[i].text);
                gtid_diff_done(&c->verdicts[i].errant);
        }
        free(c->verdicts);
        free(c->candidates);
        free(c->text);
        free(c->target_name);
        free(c);
        return NULL;
}

/* ---- checking ---- */

typedef struct checker {
        const cluster_conf *conf;
        const server_status *const *latest;
        const topology *t;
        switchover_check *c;
        int r; /* the first error; fail() does nothing once set */
} checker;

static const char *name_of(const checker *x, size_t i) {
        return x->conf->servers[i].name;
}

/* Appends a formatted piece to *text, "; " between pieces. */
_printf_(3, 4) static int append(char **text, const char *sep, const char *fmt, ...) {
        _cleanup_free_ char *piece = NULL;
        char *joined = NULL;
        va_list ap;
        int r;

        va_start(ap, fmt);
        r = vasprintf(&piece, fmt, ap);
        va_end(ap);
        if (r < 0) {
                piece = NULL;
                return -ENOMEM;
        }
        if (asprintf(&joined, "%s%s%s", *text ?: "", *text ? sep : "", piece) < 0)
                return -ENOMEM;
        free(*text);
        *text = joined;
        return 0;
}

/* Records that check k failed for server i, with its explanation appended to the verdict's text. */
_printf_(4, 5) static void fail(checker *x, size_t i, switchover_reason k, const char *fmt, ...) {
        switchover_verdict *v = &x->c->verdicts[i];
        _cleanup_free_ char *piece = NULL;
        va_list ap;
        int r;

        v->checked |= SWITCHOVER_BIT(k);
        v->failed |= SWITCHOVER_BIT(k);
        if (x->r < 0)
                return;
        va_start(ap, fmt);
        r = vasprintf(&piece, fmt, ap);
        va_end(ap);
        if (r < 0) {
                piece = NULL;
                x->r = -ENOMEM;
                return;
        }
        if (append(&v->text, "; ", "%s", piece) < 0)
                x->r = -ENOMEM;
}

static void pass(checker *x, size_t i, switchover_reason k) {
        x->c->verdicts[i].checked |= SWITCHOVER_BIT(k);
}

static void check_broken(checker *x, size_t i, const server_replication *row) {
        const topology_server *ts = &x->t->servers[i];
        char io_err[48] = "", sql_err[48] = "";

        if (!ts->broken && row->io_running == REPLICA_IO_YES && row->sql_running &&
                row->last_io_errno == 0 && row->last_sql_errno == 0) {
                pass(x, i, SWITCHOVER_REASON_REPLICATION_BROKEN);
                return;
        }
        if (row->last_io_errno != 0)
                snprintf(io_err, sizeof(io_err), ", IO error %" PRIu32 ": ", row->last_io_errno);
        if (row->last_sql_errno != 0)
                snprintf(sql_err, sizeof(sql_err), ", SQL error %" PRIu32 ": ", row->last_sql_errno);
        fail(x, i, SWITCHOVER_REASON_REPLICATION_BROKEN,
                "replication from %s is broken: IO thread %s, SQL thread %s%s%s%s%s",
                name_of(x, x->c->primary), replica_io_state_to_string(row->io_running) ?: "?",
                row->sql_running ? "running" : "stopped", io_err,
                row->last_io_errno != 0 ? row->last_io_error ?: "" : "", sql_err,
                row->last_sql_errno != 0 ? row->last_sql_error ?: "" : "");
}

static int check_errant(checker *x, size_t i) {
        const topology_server *ts = &x->t->servers[i];
        switchover_verdict *v = &x->c->verdicts[i];
        _cleanup_free_ char *text = NULL;
        int r;

        if (x->c->primary == TOPOLOGY_NONE || !ts->gtid_known) {
                fail(x, i, SWITCHOVER_REASON_ERRANT_GTID, "errant transactions unknown (%s)",
                        x->c->primary == TOPOLOGY_NONE ? "no primary" : "no GTID position of the primary");
                return x->r;
        }
        v->behind_known = true;
        v->behind_transactions = ts->gtid_behind_transactions;
        v->errant_known = true;
        if (ts->errant.n == 0) {
                pass(x, i, SWITCHOVER_REASON_ERRANT_GTID);
                return 0;
        }
        v->errant.items = calloc(ts->errant.n, sizeof(gtid_range));
        if (!v->errant.items)
                return -ENOMEM;
        memcpy(v->errant.items, ts->errant.items, ts->errant.n * sizeof(gtid_range));
        v->errant.n = ts->errant.n;
        r = gtid_diff_format(&v->errant, &text);
        if (r < 0)
                return r;
        fail(x, i, SWITCHOVER_REASON_ERRANT_GTID, "has transactions the primary %s lacks: %s",
                name_of(x, x->c->primary), text);
        return x->r;
}

/* Seconds_Behind_Master's resolution: 1 is what a caught-up replica under steady writes shows. */
#define SWITCHOVER_LAG_MAX_MS 1000

static void check_lag(checker *x, size_t i) {
        const topology_server *ts = &x->t->servers[i];
        switchover_verdict *v = &x->c->verdicts[i];

        if (!ts->lag_known) {
                fail(x, i, SWITCHOVER_REASON_LAGGING, "lag unknown (Seconds_Behind_Master NULL)");
                return;
        }
        v->lag_known = true;
        v->lag_ms = ts->lag_ms;
        if (v->lag_ms > SWITCHOVER_LAG_MAX_MS)
                fail(x, i, SWITCHOVER_REASON_LAGGING,
                        "lags %" PRIu64 " ms behind %s (a switchover needs at most 1 s)",
                        v->lag_ms, name_of(x, x->c->primary));
        else
                pass(x, i, SWITCHOVER_REASON_LAGGING);
}

/* Every check of server i (see the header). */
static int check_server(checker *x, size_t i) {
        const server_conf *sc = &x->conf->servers[i];
        const server_status *s = x->latest[i];
        const topology_server *ts = &x->t->servers[i];
        switchover_check *c = x->c;
        size_t p = c->primary;
        int r;

        c->verdicts[i].same_zone = p != TOPOLOGY_NONE && sc->zone && x->conf->servers[p].zone &&
                                   streq(sc->zone, x->conf->servers[p].zone);
        if (i == p) {
                fail(x, i, SWITCHOVER_REASON_CURRENT_PRIMARY, "the current primary");
                return x->r;
        }
        if (c->target_name) {
                if (i != c->target)
                        fail(x, i, SWITCHOVER_REASON_NOT_TARGET, "not the --to target %s", c->target_name);
                else
                        pass(x, i, SWITCHOVER_REASON_NOT_TARGET);
        }
        if (!sc->promotable)
                fail(x, i, SWITCHOVER_REASON_NOT_PROMOTABLE, "promotable = false in the configuration");
        else
                pass(x, i, SWITCHOVER_REASON_NOT_PROMOTABLE);

        if (!s || !probe_error_class_is_alive(s->error_class)) {
                fail(x, i, SWITCHOVER_REASON_UNREACHABLE, "%s%s%s", !s ? "never probed" : "not reachable (",
                        s ? probe_error_class_to_string(s->error_class) ?: "?" : "", s ? ")" : "");
                return x->r;
        }
        if (!s->have_variables) {
                fail(x, i, SWITCHOVER_REASON_UNREACHABLE, "answered, but its variables could not be read");
                return x->r;
        }
        if (!s->have_replication)
                fail(x, i, SWITCHOVER_REASON_UNREACHABLE,
                        "answered, but its replication status could not be read");
        else
                pass(x, i, SWITCHOVER_REASON_UNREACHABLE);

        if (!s->log_bin || !s->log_slave_updates)
                fail(x, i, SWITCHOVER_REASON_NO_BINLOG, "%s%s%s", !s->log_bin ? "log_bin=OFF" : "",
                        !s->log_bin && !s->log_slave_updates ? ", " : "",
                        !s->log_slave_updates ? "log_slave_updates=OFF" : "");
        else
                pass(x, i, SWITCHOVER_REASON_NO_BINLOG);

        if (s->have_replication) {
                if (p == TOPOLOGY_NONE)
                        fail(x, i, SWITCHOVER_REASON_NOT_A_REPLICA, "there is no primary to replicate from");
                else if (ts->follows != p || ts->replication >= s->n_replication)
                        fail(x, i, SWITCHOVER_REASON_NOT_A_REPLICA,
                                "does not replicate from the primary %s (%s%s)", name_of(x, p),
                                ts->follows != TOPOLOGY_NONE ? "it replicates from "
                                : ts->replication != TOPOLOGY_NONE
                                        ? "it replicates from no configured server"
                                        : "it replicates from nobody",
                                ts->follows != TOPOLOGY_NONE ? name_of(x, ts->follows) : "");
                else {
                        pass(x, i, SWITCHOVER_REASON_NOT_A_REPLICA);
                        check_broken(x, i, &s->replication[ts->replication]);
                }
        }
        r = check_errant(x, i);
        if (r < 0)
                return r;
        if (c->verdicts[i].checked & SWITCHOVER_BIT(SWITCHOVER_REASON_REPLICATION_BROKEN))
                check_lag(x, i);
        return x->r;
}

/* Whether eligible server a ranks before b. */
static bool ranks_before(const checker *x, size_t a, size_t b) {
        const switchover_verdict *va = &x->c->verdicts[a], *vb = &x->c->verdicts[b];
        const server_conf *ca = &x->conf->servers[a], *cb = &x->conf->servers[b];

        if (ca->priority != cb->priority)
                return ca->priority > cb->priority;
        if (va->same_zone != vb->same_zone)
                return va->same_zone;
        if (va->behind_transactions != vb->behind_transactions)
                return va->behind_transactions < vb->behind_transactions;
        return a < b;
}

static int rank(checker *x) {
        switchover_check *c = x->c;

        c->candidates = calloc(c->n_servers ?: 1, sizeof(size_t));
        if (!c->candidates)
                return -ENOMEM;
        for (size_t i = 0; i < c->n_servers; i++) {
                switchover_verdict *v = &c->verdicts[i];
                size_t k;

                v->reason = SWITCHOVER_REASON_OK;
                for (int b = FIRST_CHECK; b < _SWITCHOVER_REASON_MAX; b++)
                        if (v->failed & SWITCHOVER_BIT(b)) {
                                v->reason = b;
                                break;
                        }
                /* a check is skipped only after one it needs failed: OK means all were made */
                v->eligible = v->reason == SWITCHOVER_REASON_OK;
                if (!v->eligible)
                        continue;
                /* insertion sort: a handful of servers */
                for (k = c->n_candidates; k > 0 && ranks_before(x, i, c->candidates[k - 1]); k--)
                        c->candidates[k] = c->candidates[k - 1];
                c->candidates[k] = i;
                c->n_candidates++;
        }
        for (size_t k = 0; k < c->n_candidates; k++)
                c->verdicts[c->candidates[k]].rank = k + 1;
        return 0;
}

/* The eligible servers' text, and every text made one line. */
static int finish_texts(checker *x) {
        for (size_t i = 0; i < x->c->n_servers; i++) {
                switchover_verdict *v = &x->c->verdicts[i];
                char *t = NULL;

                if (v->eligible) {
                        if (asprintf(&t,
                                    "rank %zu: priority %d, %s %s, lag %" PRIu64 " ms, %" PRIu64
                                    " transactions behind (caught up after fencing)",
                                    v->rank, x->conf->servers[i].priority,
                                    v->same_zone ? "same zone as" : "not in the zone of",
                                    name_of(x, x->c->primary), v->lag_ms, v->behind_transactions) < 0)
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

/* The cluster's verdict: reason, candidate and text (see the header for the order). */
static int decide(checker *x) {
        switchover_check *c = x->c;
        const server_status *ps = c->primary != TOPOLOGY_NONE ? x->latest[c->primary] : NULL;
        const topology_server *pt = c->primary != TOPOLOGY_NONE ? &x->t->servers[c->primary] : NULL;
        const char *pn = c->primary != TOPOLOGY_NONE ? name_of(x, c->primary) : NULL;
        char *text = NULL;
        int r;

        if (c->target_name && c->target == TOPOLOGY_NONE) {
                c->reason = SWITCHOVER_REASON_UNKNOWN_TARGET;
                r = asprintf(&text, "--to %s names no server of %s", c->target_name, x->conf->name);
        } else if (!pt) {
                c->reason = SWITCHOVER_REASON_NO_PRIMARY;
                r = asprintf(&text, "%s has no primary", x->conf->name);
        } else if (!pt->alive) {
                c->reason = SWITCHOVER_REASON_PRIMARY_DOWN;
                r = asprintf(&text, "the primary %s is %s%s%s", pn, ps ? "down (" : "never probed",
                        ps ? probe_error_class_to_string(ps->error_class) ?: "?" : "", ps ? ")" : "");
        } else if (!ps->have_variables) {
                c->reason = SWITCHOVER_REASON_PRIMARY_UNKNOWN;
                r = asprintf(&text, "the primary %s answered, but its variables could not be read", pn);
        } else if (!pt->writable) {
                c->reason = SWITCHOVER_REASON_PRIMARY_READ_ONLY;
                r = asprintf(&text, "the primary %s is read-only", pn);
        } else if (c->target == c->primary) {
                c->reason = SWITCHOVER_REASON_TARGET_IS_PRIMARY;
                r = asprintf(&text, "--to %s names the current primary", pn);
        } else if (c->target != TOPOLOGY_NONE && !c->verdicts[c->target].eligible) {
                c->reason = c->verdicts[c->target].reason;
                r = asprintf(&text, "--to %s: %s", c->target_name, c->verdicts[c->target].text ?: "");
        } else if (c->n_candidates == 0) {
                c->reason = SWITCHOVER_REASON_NO_CANDIDATE;
                r = asprintf(&text, "no server can be promoted");
                for (size_t i = 0, n = 0; r >= 0 && i < c->n_servers; i++)
                        if (i != c->primary)
                                r = append(&text, n++ ? ", " : ": ", "%s %s", name_of(x, i),
                                        switchover_reason_to_string(c->verdicts[i].reason));
        } else {
                c->ok = true;
                c->reason = SWITCHOVER_REASON_OK;
                c->candidate = c->candidates[0];
                r = asprintf(&text, "%s -> %s (%s)", pn, name_of(x, c->candidate),
                        c->verdicts[c->candidate].text ?: "");
        }
        if (r < 0) {
                free(text);
                return -ENOMEM;
        }
        for (char *p = text; *p; p++)
                if ((unsigned char) *p < 0x20 || *p == 0x7f)
                        *p = ' ';
        c->text = text;
        return 0;
}

int switchover_check_run(const cluster_conf *conf, const server_status *const *latest, const topology *t,
        const char *target, switchover_check **ret) {
        _cleanup_(switchover_check_freep) switchover_check *c = NULL;
        checker x = {.conf = conf, .latest = latest, .t = t};
        int r = 0;

        if (!conf || !latest || !t || !ret || t->n_servers != conf->n_servers ||
                (t->primary != TOPOLOGY_NONE && t->primary >= conf->n_servers))
                return -EINVAL;

        c = calloc(1, sizeof(*c));
        if (!c)
                return -ENOMEM;
        *c = (switchover_check){.primary = t->primary, .candidate = TOPOLOGY_NONE, .target = TOPOLOGY_NONE};
        if (target) {
                c->target_name = strdup(target);
                if (!c->target_name)
                        return -ENOMEM;
                for (size_t i = 0; i < conf->n_servers && c->target == TOPOLOGY_NONE; i++)
                        if (streq_ptr(conf->servers[i].name, target))
                                c->target = i;
        }
        c->verdicts = calloc(conf->n_servers ?: 1, sizeof(switchover_verdict));
        if (!c->verdicts)
                return -ENOMEM;
        c->n_servers = conf->n_servers;
        x.c = c;

        for (size_t i = 0; r >= 0 && i < conf->n_servers; i++)
                r = check_server(&x, i);
        if (r >= 0)
                r = x.r;
        if (r >= 0)
                r = rank(&x);
        if (r >= 0)
                r = finish_texts(&x);
        if (r >= 0)
                r = decide(&x);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(c);
        return 0;
}

/* ---- JSON ---- */

static json_object *codes(unsigned mask) {
        json_object *a = json_object_new_array();

        for (int k = FIRST_CHECK; a && k < _SWITCHOVER_REASON_MAX; k++)
                if (mask & SWITCHOVER_BIT(k))
                        json_object_array_add(a, json_object_new_string(switchover_reason_to_string(k)));
        return a;
}

static json_object *name_json(const cluster_conf *conf, size_t i) {
        return i < conf->n_servers ? json_object_new_string(conf->servers[i].name) : NULL;
}

int switchover_check_to_json(const switchover_check *c, const cluster_conf *conf, json_object **ret) {
        json_object *o, *servers;

        if (!c || !conf || !ret || c->n_servers != conf->n_servers)
                return -EINVAL;
        o = json_object_new_object();
        servers = json_object_new_array();
        if (!o || !servers) {
                json_object_put(o);
                json_object_put(servers);
                return -ENOMEM;
        }
        json_object_object_add(o, "cluster", conf->name ? json_object_new_string(conf->name) : NULL);
        json_object_object_add(o, "ok", json_object_new_boolean(c->ok));
        json_object_object_add(
                o, "reason", json_object_new_string(switchover_reason_to_string(c->reason) ?: "?"));
        json_object_object_add(o, "text", json_object_new_string(c->text ?: ""));
        json_object_object_add(o, "primary", name_json(conf, c->primary));
        json_object_object_add(o, "candidate", name_json(conf, c->candidate));
        json_object_object_add(o, "target", c->target_name ? json_object_new_string(c->target_name) : NULL);
        json_object_object_add(o, "servers", servers);
        for (size_t i = 0; i < c->n_servers; i++) {
                const switchover_verdict *v = &c->verdicts[i];
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
                        e, "reason", json_object_new_string(switchover_reason_to_string(v->reason) ?: "?"));
                json_object_object_add(e, "text", json_object_new_string(v->text ?: ""));
                json_object_object_add(e, "passed", codes(v->checked & ~v->failed));
                json_object_object_add(e, "failed", codes(v->failed));
                json_object_object_add(e, "not_checked", codes(ALL_CHECKS & ~v->checked));
                json_object_object_add(e, "lag_ms", v->lag_known ? json_object_new_uint64(v->lag_ms) : NULL);
                json_object_object_add(e, "behind_transactions",
                        v->behind_known ? json_object_new_uint64(v->behind_transactions) : NULL);
                json_object_object_add(
                        e, "errant", v->errant_known ? json_object_new_string(errant ?: "") : NULL);
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

static bool in_list(json_object *e, const char *key, const char *code) {
        json_object *a = get(e, key);

        for (size_t k = 0; a && json_object_is_type(a, json_type_array) && k < json_object_array_length(a);
                k++)
                if (streq_ptr(json_object_get_string(json_object_array_get_idx(a, k)), code))
                        return true;
        return false;
}

static void format_server(FILE *f, json_object *e) {
        json_object *rank = get(e, "rank");
        const char *reason = get_str(e, "reason", "?"), *sep = "";

        if (rank && json_object_is_type(rank, json_type_int))
                fprintf(f, "#%" PRId64 " ", json_object_get_int64(rank));
        else
                fprintf(f, "-  ");
        fprintf(f, "%s (%s, priority %" PRId64 "): %s: %s\n", get_str(e, "name", "?"),
                get_str(e, "zone", "-"), json_object_get_int64(get(e, "priority")),
                streq(reason, "OK") ? "eligible" : reason, get_str(e, "text", ""));
        if (streq(reason, "CURRENT_PRIMARY"))
                return;
        fputs("   checks: ", f);
        for (int k = FIRST_CHECK; k < _SWITCHOVER_REASON_MAX; k++) {
                const char *code = switchover_reason_to_string(k);
                const char *st = in_list(e, "failed", code)   ? "FAILED"
                                 : in_list(e, "passed", code) ? "ok"
                                                              : NULL;

                /* the primary's check only when it fails, the target's only when there is one */
                if ((k == SWITCHOVER_REASON_CURRENT_PRIMARY && !streq_ptr(st, "FAILED")) ||
                        (k == SWITCHOVER_REASON_NOT_TARGET && !st))
                        continue;
                fprintf(f, "%s%s %s", sep, check_label_table[k], st ?: "-");
                sep = ", ";
        }
        fputc('\n', f);
}

int switchover_check_format(json_object *j, char **ret) {
        json_object *servers = get(j, "servers"), *ok = get(j, "ok");
        const char *target = get_str(j, "target", NULL);
        char *text = NULL;
        size_t size = 0, n;
        FILE *f;

        if (!ret || !j || !json_object_is_type(j, json_type_object))
                return -EINVAL;
        if (servers && !json_object_is_type(servers, json_type_array))
                servers = NULL;
        f = open_memstream(&text, &size);
        if (!f)
                return -ENOMEM;
        if (ok && json_object_get_boolean(ok))
                fprintf(f, "switchover of %s: %s -> %s", get_str(j, "cluster", "?"),
                        get_str(j, "primary", "?"), get_str(j, "candidate", "?"));
        else
                fprintf(f, "switchover of %s refused: %s: %s", get_str(j, "cluster", "?"),
                        get_str(j, "reason", "?"), get_str(j, "text", ""));
        fprintf(f, "%s%s%s\n", target ? " (--to " : "", target ?: "", target ? ")" : "");

        /* eligible ones in rank order, then the others in config order */
        n = servers ? json_object_array_length(servers) : 0;
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
        if (fclose(f) != 0 || !text) {
                free(text);
                return -ENOMEM;
        }
        *ret = text;
        return 0;
}
