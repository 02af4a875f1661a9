#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "hostport.h"
#include "macro.h"
#include "topology.h"

static const char *const server_role_table[_SERVER_ROLE_MAX] = {
        [SERVER_ROLE_PRIMARY] = "primary",
        [SERVER_ROLE_REPLICA] = "replica",
        [SERVER_ROLE_FENCED] = "fenced",
        [SERVER_ROLE_DOWN] = "down",
        [SERVER_ROLE_UNKNOWN] = "unknown",
};

static const char *const cluster_state_table[_CLUSTER_STATE_MAX] = {
        [CLUSTER_STATE_HEALTHY] = "healthy",
        [CLUSTER_STATE_DEGRADED] = "degraded",
        [CLUSTER_STATE_SDOWN] = "sdown",
        [CLUSTER_STATE_ODOWN] = "odown",
        [CLUSTER_STATE_FAILOVER] = "failover",
        [CLUSTER_STATE_SWITCHOVER] = "switchover",
        [CLUSTER_STATE_FENCED] = "fenced",
        [CLUSTER_STATE_NO_PRIMARY] = "no-primary",
        [CLUSTER_STATE_MAINTENANCE] = "maintenance",
};

static const char *const topology_reason_table[_TOPOLOGY_REASON_MAX] = {
        [TOPOLOGY_REASON_NO_PRIMARY] = "no-primary",
        [TOPOLOGY_REASON_PRIMARY_DOWN] = "primary-down",
        [TOPOLOGY_REASON_PRIMARY_UNKNOWN] = "primary-unknown",
        [TOPOLOGY_REASON_PRIMARY_FENCED] = "primary-fenced",
        [TOPOLOGY_REASON_REPLICA_DOWN] = "replica-down",
        [TOPOLOGY_REASON_REPLICA_UNKNOWN] = "replica-unknown",
        [TOPOLOGY_REASON_REPLICATION_BROKEN] = "replication-broken",
        [TOPOLOGY_REASON_REPLICA_LAGGING] = "replica-lagging",
        [TOPOLOGY_REASON_ERRANT] = "errant",
        [TOPOLOGY_REASON_NOT_REPLICATING] = "not-replicating",
        [TOPOLOGY_REASON_MISMATCH] = "mismatch",
};

static const char *const topology_mismatch_kind_table[_TOPOLOGY_MISMATCH_KIND_MAX] = {
        [TOPOLOGY_MISMATCH_PRIMARY_NOT_CONFIGURED] = "primary-not-configured",
        [TOPOLOGY_MISMATCH_MULTIPLE_PRIMARIES] = "multiple-primaries",
        [TOPOLOGY_MISMATCH_UNEXPECTED_PRIMARY] = "unexpected-primary",
        [TOPOLOGY_MISMATCH_PRIMARY_READ_ONLY] = "primary-read-only",
        [TOPOLOGY_MISMATCH_PRIMARY_REPLICATING] = "primary-replicating",
        [TOPOLOGY_MISMATCH_WRITABLE_REPLICA] = "writable-replica",
        [TOPOLOGY_MISMATCH_FOLLOWS_UNKNOWN] = "follows-unknown",
        [TOPOLOGY_MISMATCH_FOLLOWS_ALIAS] = "follows-alias",
        [TOPOLOGY_MISMATCH_FOLLOWS_NON_PRIMARY] = "follows-non-primary",
        [TOPOLOGY_MISMATCH_NOT_REPLICATING] = "not-replicating",
        [TOPOLOGY_MISMATCH_ERRANT] = "errant",
        [TOPOLOGY_MISMATCH_SERVER_ID_COLLISION] = "server-id-collision",
        [TOPOLOGY_MISMATCH_LOG_BIN_OFF] = "log-bin-off",
        [TOPOLOGY_MISMATCH_LOG_SLAVE_UPDATES_OFF] = "log-slave-updates-off",
        [TOPOLOGY_MISMATCH_SEMI_SYNC_ON_REPLICA] = "semi-sync-on-replica",
        [TOPOLOGY_MISMATCH_SEMI_SYNC_FALLBACK] = "semi-sync-fallback",
};

static int lookup(const char *const *table, int n, const char *s) {
        if (!s)
                return -EINVAL;
        for (int i = 0; i < n; i++)
                if (table[i] && streq(table[i], s))
                        return i;
        return -EINVAL;
}

#define DEFINE_STRING_TABLE(name, type, table, max)                                                         \
        const char *name##_to_string(type v) {                                                              \
                if ((int) v < 0 || (int) v >= (max))                                                        \
                        return NULL;                                                                        \
                return table[v];                                                                            \
        }                                                                                                   \
        type name##_from_string(const char *s) {                                                            \
                return (type) lookup(table, (max), s);                                                      \
        }

DEFINE_STRING_TABLE(server_role, server_role, server_role_table, _SERVER_ROLE_MAX)
DEFINE_STRING_TABLE(cluster_state, cluster_state, cluster_state_table, _CLUSTER_STATE_MAX)
DEFINE_STRING_TABLE(topology_reason, topology_reason, topology_reason_table, _TOPOLOGY_REASON_MAX)
DEFINE_STRING_TABLE(topology_mismatch_kind, topology_mismatch_kind, topology_mismatch_kind_table,
        _TOPOLOGY_MISMATCH_KIND_MAX)

sentinel_event topology_mismatch_kind_event(topology_mismatch_kind k) {
        if ((int) k < 0 || k >= _TOPOLOGY_MISMATCH_KIND_MAX)
                return _EVENT_INVALID;
        return k == TOPOLOGY_MISMATCH_ERRANT ? EVENT_ERRANT : EVENT_TOPOLOGY_MISMATCH;
}

cluster_state cluster_state_resolve(cluster_state derived, const cluster_state_overlay *o) {
        if (!o)
                return derived;
        if (o->failover)
                return CLUSTER_STATE_FAILOVER;
        if (o->switchover)
                return CLUSTER_STATE_SWITCHOVER;
        if (o->odown)
                return CLUSTER_STATE_ODOWN;
        if (o->sdown)
                return CLUSTER_STATE_SDOWN;
        if (o->fenced)
                return CLUSTER_STATE_FENCED;
        if (o->maintenance)
                return CLUSTER_STATE_MAINTENANCE;
        return derived;
}

/* ---- addresses ---- */

static int host_family(const char *host) {
        int family;

        return host_parse(host, &family, NULL) < 0 ? AF_UNSPEC : family;
}

size_t topology_server_by_address(const cluster_conf *conf, const char *host, uint16_t port) {
        hostport a;

        if (!conf || !host)
                return TOPOLOGY_NONE;
        a = (hostport){.host = (char *) host, .port = port, .family = host_family(host)};
        for (size_t i = 0; i < conf->n_servers; i++) {
                const server_conf *sc = &conf->servers[i];

                if (sc->host && hostport_equal(&a, &(hostport){.host = sc->host,
                                                           .port = sc->port,
                                                           .family = host_family(sc->host)}))
                        return i;
        }
        return TOPOLOGY_NONE;
}

/* ---- building ---- */

typedef struct builder {
        const cluster_conf *conf;
        const server_status *const *statuses;
        topology *t;
        size_t known; /* the known primary's index, or TOPOLOGY_NONE */
        gtid_list reference;
        bool have_reference;
        int r; /* the first error: add_mismatch() does nothing once it is set */
} builder;

static void topology_mismatch_done(topology_mismatch *m) {
        free(m->text);
        free(m->servers);
        *m = (topology_mismatch){};
}

topology *topology_free(topology *t) {
        if (!t)
                return NULL;
        for (size_t i = 0; i < t->n_servers; i++)
                gtid_diff_done(&t->servers[i].errant);
        free(t->servers);
        for (size_t i = 0; i < t->n_mismatches; i++)
                topology_mismatch_done(&t->mismatches[i]);
        free(t->mismatches);
        free(t);
        return NULL;
}

static void *memdup(const void *p, size_t n) {
        void *q = malloc(n);

        return q ? memcpy(q, p, n) : NULL;
}

/* Appends a mismatch; on failure remembers -ENOMEM in b->r, and does nothing once b->r is set. */
_printf_(5, 6) static void add_mismatch(
        builder *b, topology_mismatch_kind kind, const size_t *servers, size_t n, const char *fmt, ...) {
        topology_mismatch m = {.kind = kind, .n_servers = n};
        topology_mismatch *a;
        va_list ap;
        int r;

        if (b->r < 0)
                return;
        va_start(ap, fmt);
        r = vasprintf(&m.text, fmt, ap);
        va_end(ap);
        if (r < 0)
                m.text = NULL;
        if (n > 0)
                m.servers = memdup(servers, n * sizeof(size_t));
        a = m.text && (n == 0 || m.servers)
                    ? reallocarray(b->t->mismatches, b->t->n_mismatches + 1, sizeof(*a))
                    : NULL;
        if (!a) {
                topology_mismatch_done(&m);
                b->r = -ENOMEM;
                return;
        }
        b->t->mismatches = a;
        b->t->mismatches[b->t->n_mismatches++] = m;
}

static const char *name_of(const builder *b, size_t i) {
        return b->conf->servers[i].name;
}

static bool row_running(const server_replication *row) {
        return row->io_running != REPLICA_IO_NO || row->sql_running;
}

static bool any_row_running(const server_status *s) {
        for (size_t k = 0; k < s->n_replication; k++)
                if (row_running(&s->replication[k]))
                        return true;
        return false;
}

static server_role role_of(const server_status *s, bool is_known) {
        if (!s)
                return SERVER_ROLE_UNKNOWN;
        if (!probe_error_class_is_alive(s->error_class))
                return SERVER_ROLE_DOWN;
        if (!s->have_variables)
                return is_known ? SERVER_ROLE_PRIMARY : SERVER_ROLE_UNKNOWN;
        if (!s->read_only) {
                if (is_known)
                        return SERVER_ROLE_PRIMARY;
                if (!s->have_replication)
                        return SERVER_ROLE_UNKNOWN;
                return any_row_running(s) ? SERVER_ROLE_REPLICA : SERVER_ROLE_PRIMARY;
        }
        if (is_known)
                return s->have_replication && any_row_running(s) ? SERVER_ROLE_REPLICA : SERVER_ROLE_FENCED;
        if (!s->have_replication)
                return SERVER_ROLE_UNKNOWN;
        return s->n_replication > 0 ? SERVER_ROLE_REPLICA : SERVER_ROLE_FENCED;
}

/* The statuses a server's replication rows may be read from: alive, rows read. */
static const server_status *rows_of(const builder *b, size_t i) {
        const server_status *s = b->statuses[i];

        if (!s || !b->t->servers[i].alive || !s->have_replication)
                return NULL;
        return s;
}

/* Whom one replication row follows: by address, else by a unique Master_Server_Id. */
static size_t row_follows(const builder *b, const server_replication *row, bool *ret_by_server_id) {
        size_t found = TOPOLOGY_NONE;

        *ret_by_server_id = false;
        found = topology_server_by_address(b->conf, row->master_host, row->master_port);
        if (found != TOPOLOGY_NONE || row->master_server_id == 0)
                return found;
        for (size_t j = 0; j < b->conf->n_servers; j++) {
                const server_status *o = b->statuses[j];

                if (!o || !b->t->servers[j].alive || !o->have_variables ||
                        o->server_id != row->master_server_id)
                        continue;
                if (found != TOPOLOGY_NONE)
                        return TOPOLOGY_NONE; /* ambiguous: a server_id collision */
                found = j;
        }
        *ret_by_server_id = found != TOPOLOGY_NONE;
        return found;
}

static size_t pick_primary(builder *b) {
        size_t found = TOPOLOGY_NONE;

        if (b->known != TOPOLOGY_NONE) {
                b->t->primary_from_state = true;
                return b->known;
        }
        for (size_t i = 0; i < b->t->n_servers; i++) {
                if (b->t->servers[i].role != SERVER_ROLE_PRIMARY || !b->t->servers[i].writable)
                        continue;
                if (found != TOPOLOGY_NONE)
                        return TOPOLOGY_NONE;
                found = i;
        }
        return found;
}

static void describe_row(
        const builder *b, const server_replication *row, size_t follows, char *buf, size_t size) {
        if (follows != TOPOLOGY_NONE)
                snprintf(buf, size, "%s", name_of(b, follows));
        else {
                hostport hp = {.host = row->master_host ?: (char *) "?",
                        .port = row->master_port,
                        .family = row->master_host ? host_family(row->master_host) : AF_UNSPEC};

                hostport_format(&hp, buf, size);
        }
}

/* Main connection, whom it follows, broken, lag, evidence; mismatches about the rows. */
static int analyse_replication(builder *b, size_t i) {
        topology *t = b->t;
        topology_server *ts = &t->servers[i];
        const server_status *s = rows_of(b, i);
        size_t main = TOPOLOGY_NONE, running = TOPOLOGY_NONE;

        if (!s || s->n_replication == 0)
                return 0;
        for (size_t k = 0; k < s->n_replication; k++) {
                const server_replication *row = &s->replication[k];
                bool by_id;
                size_t f = row_follows(b, row, &by_id);

                if (f != TOPOLOGY_NONE && f == t->primary && f != i) {
                        if (main == TOPOLOGY_NONE)
                                main = k;
                        if (row->io_running == REPLICA_IO_YES)
                                ts->primary_io_connected = true;
                }
                if (running == TOPOLOGY_NONE && row_running(row))
                        running = k;
        }
        if (ts->role != SERVER_ROLE_REPLICA && running == TOPOLOGY_NONE)
                return 0; /* stopped connections of a server that is no replica: stale, not followed */
        if (main == TOPOLOGY_NONE)
                main = running != TOPOLOGY_NONE ? running : 0;
        ts->replication = main;
        ts->follows = row_follows(b, &s->replication[main], &ts->follows_by_server_id);

        if (i == t->primary || ts->role != SERVER_ROLE_REPLICA) {
                /* The primary's running connections; a fenced server's stopped ones say nothing. */
                for (size_t k = 0; i == t->primary && k < s->n_replication; k++) {
                        const server_replication *row = &s->replication[k];
                        char from[HOSTPORT_FORMAT_MAX];
                        bool by_id;

                        if (!row_running(row))
                                continue;
                        describe_row(b, row, row_follows(b, row, &by_id), from, sizeof(from));
                        add_mismatch(b, TOPOLOGY_MISMATCH_PRIMARY_REPLICATING, &i, 1,
                                "the primary %s replicates from %s", name_of(b, i), from);
                }
                return b->r;
        }

        const server_replication *mr = &s->replication[main];
        ts->broken = mr->io_running != REPLICA_IO_YES || !mr->sql_running;
        if (mr->seconds_behind_master_known) {
                ts->lag_known = true;
                ts->lag_ms = mr->seconds_behind_master > UINT64_MAX / 1000
                                     ? UINT64_MAX
                                     : mr->seconds_behind_master * 1000;
                ts->lagging = ts->lag_ms > b->conf->failover.max_lag_ms;
        }

        for (size_t k = 0; k < s->n_replication; k++) {
                const server_replication *row = &s->replication[k];
                char from[HOSTPORT_FORMAT_MAX];
                bool by_id;
                size_t f;

                if (k != main && !row_running(row))
                        continue; /* a stale, stopped extra connection */
                f = row_follows(b, row, &by_id);
                describe_row(b, row, TOPOLOGY_NONE, from, sizeof(from));
                if (f == TOPOLOGY_NONE)
                        add_mismatch(b, TOPOLOGY_MISMATCH_FOLLOWS_UNKNOWN, &i, 1,
                                "%s replicates from %s, which is not a configured server", name_of(b, i),
                                from);
                else if (by_id)
                        add_mismatch(b, TOPOLOGY_MISMATCH_FOLLOWS_ALIAS, (size_t[]){i, f}, 2,
                                "%s replicates from %s, which is not a configured address; its server_id %u "
                                "is %s's",
                                name_of(b, i), from, (unsigned) row->master_server_id, name_of(b, f));
                if (f != TOPOLOGY_NONE && t->primary != TOPOLOGY_NONE && f != t->primary)
                        add_mismatch(b, TOPOLOGY_MISMATCH_FOLLOWS_NON_PRIMARY, (size_t[]){i, f, t->primary},
                                3, "%s replicates from %s, not from the primary %s", name_of(b, i),
                                name_of(b, f), name_of(b, t->primary));
        }
        return b->r;
}

/* The primary's reference position: per domain the more advanced of binlog and current pos. */
static int build_reference(builder *b) {
        const server_status *p;
        int r;

        if (b->t->primary == TOPOLOGY_NONE)
                return 0;
        p = b->statuses[b->t->primary];
        if (!p || !b->t->servers[b->t->primary].alive || !p->have_variables)
                return 0;
        r = gtid_list_copy(&p->gtid_binlog_pos, &b->reference);
        if (r < 0)
                return r;
        for (size_t k = 0; k < p->gtid_current_pos.n; k++) {
                const gtid *c = &p->gtid_current_pos.items[k];
                const gtid *have = gtid_list_get(&b->reference, c->domain_id);

                if (have && have->seq_no >= c->seq_no)
                        continue;
                r = gtid_list_set(&b->reference, c);
                if (r < 0)
                        return r;
        }
        b->have_reference = true;
        return 0;
}

static int analyse_gtid(builder *b, size_t i) {
        topology *t = b->t;
        topology_server *ts = &t->servers[i];
        const server_status *s = b->statuses[i], *p;
        _cleanup_(gtid_diff_done) gtid_diff behind = GTID_DIFF_EMPTY;
        size_t n_errant = 0;
        bool primary_newer;
        int r;

        if (i == t->primary || !b->have_reference || !s || !ts->alive || !s->have_variables)
                return 0;
        p = b->statuses[t->primary];

        r = gtid_list_missing(&b->reference, &s->gtid_current_pos, &behind);
        if (r < 0)
                return r;
        for (size_t k = 0; k < behind.n; k++)
                if (!behind.items[k].diverged) {
                        uint64_t gap = behind.items[k].last.seq_no - behind.items[k].after_seq_no;

                        ts->gtid_behind = true;
                        ts->gtid_behind_transactions = gap > UINT64_MAX - ts->gtid_behind_transactions
                                                               ? UINT64_MAX
                                                               : ts->gtid_behind_transactions + gap;
                }

        /* errant: what it has that the primary lacks, filtered in place into ts->errant */
        r = gtid_list_missing(&s->gtid_current_pos, &b->reference, &ts->errant);
        if (r < 0)
                return r;
        ts->gtid_known = true;
        primary_newer = p->started_usec > s->finished_usec;
        for (size_t k = 0; k < ts->errant.n; k++) {
                const gtid_range *g = &ts->errant.items[k];

                /* the primary's own write, seen later than our snapshot of it: not errant */
                if (g->diverged || primary_newer || g->last.server_id != p->server_id)
                        ts->errant.items[n_errant++] = *g;
        }
        ts->errant.n = n_errant;
        if (n_errant == 0)
                gtid_diff_done(&ts->errant);

        if (n_errant > 0) {
                _cleanup_free_ char *text = NULL;

                r = gtid_diff_format(&ts->errant, &text);
                if (r < 0)
                        return r;
                add_mismatch(b, TOPOLOGY_MISMATCH_ERRANT, (size_t[]){i, t->primary}, 2,
                        "%s has transactions the primary %s lacks: %s", name_of(b, i),
                        name_of(b, t->primary), text);
        }
        return b->r;
}

/* Roles, writable and "replicates from nobody" mismatches; binlog settings; semi-sync. */
static int analyse_server(builder *b, size_t i) {
        topology *t = b->t;
        topology_server *ts = &t->servers[i];
        const server_status *s = b->statuses[i];
        const server_conf *sc = &b->conf->servers[i];
        bool is_primary = i == t->primary;

        if (!ts->alive || !s->have_variables)
                return 0;

        if (is_primary && b->t->primary_from_state && s->read_only)
                add_mismatch(b, TOPOLOGY_MISMATCH_PRIMARY_READ_ONLY, &i, 1, "the primary %s is read-only",
                        name_of(b, i));
        else if (!is_primary && ts->role == SERVER_ROLE_PRIMARY && b->t->primary_from_state)
                add_mismatch(b, TOPOLOGY_MISMATCH_UNEXPECTED_PRIMARY, (size_t[]){i, t->primary}, 2,
                        "%s is writable and replicates from nobody, but the primary is %s", name_of(b, i),
                        name_of(b, t->primary));
        else if (!is_primary && ts->role == SERVER_ROLE_REPLICA && ts->writable)
                add_mismatch(b, TOPOLOGY_MISMATCH_WRITABLE_REPLICA, &i, 1,
                        "the replica %s is writable (read_only=OFF)", name_of(b, i));
        else if (!is_primary && ts->role == SERVER_ROLE_FENCED)
                add_mismatch(b, TOPOLOGY_MISMATCH_NOT_REPLICATING, &i, 1,
                        "%s is read-only and replicates from nobody", name_of(b, i));

        if ((sc->promotable || is_primary) && !s->log_bin)
                add_mismatch(b, TOPOLOGY_MISMATCH_LOG_BIN_OFF, &i, 1,
                        "%s%s has log_bin=OFF: as primary it has no binlog for replicas to follow",
                        is_primary ? "the primary " : "", name_of(b, i));
        if (sc->promotable && s->log_bin && !s->log_slave_updates)
                add_mismatch(b, TOPOLOGY_MISMATCH_LOG_SLAVE_UPDATES_OFF, &i, 1,
                        "%s has log_slave_updates=OFF: promoted, its binlog would lack the replicated "
                        "transactions the other replicas may still need",
                        name_of(b, i));
        if (!is_primary && ts->role == SERVER_ROLE_REPLICA && s->semi_sync_master_enabled)
                add_mismatch(b, TOPOLOGY_MISMATCH_SEMI_SYNC_ON_REPLICA, &i, 1,
                        "the replica %s has rpl_semi_sync_master_enabled=ON", name_of(b, i));
        if (is_primary && s->semi_sync_master_enabled && s->have_semi_sync_status &&
                !s->semi_sync_master_status)
                add_mismatch(b, TOPOLOGY_MISMATCH_SEMI_SYNC_FALLBACK, &i, 1,
                        "the primary %s has semi-sync enabled but runs asynchronously (%llu semi-sync "
                        "replicas)",
                        name_of(b, i), (unsigned long long) s->semi_sync_master_clients);
        return b->r;
}

/* "a, b and c": names of the servers in list. */
static char *join_names(const builder *b, const size_t *list, size_t n) {
        char *text = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&text, &size);

        if (!f)
                return NULL;
        for (size_t k = 0; k < n; k++)
                fprintf(f, "%s%s", k == 0 ? "" : k + 1 == n ? " and " : ", ", name_of(b, list[k]));
        if (fclose(f) != 0) {
                free(text);
                return NULL;
        }
        return text;
}

static int analyse_cluster(builder *b, const char *known_primary) {
        topology *t = b->t;
        _cleanup_free_ size_t *list = NULL;
        size_t n = 0;

        if (known_primary && b->known == TOPOLOGY_NONE)
                add_mismatch(b, TOPOLOGY_MISMATCH_PRIMARY_NOT_CONFIGURED, NULL, 0,
                        "the state names %s as the primary, which is not a configured server",
                        known_primary);

        list = calloc(t->n_servers ?: 1, sizeof(size_t));
        if (!list)
                return -ENOMEM;
        for (size_t i = 0; i < t->n_servers; i++)
                if (t->servers[i].role == SERVER_ROLE_PRIMARY && t->servers[i].writable)
                        list[n++] = i;
        if (n >= 2) {
                _cleanup_free_ char *names = join_names(b, list, n);

                if (!names)
                        return -ENOMEM;
                add_mismatch(b, TOPOLOGY_MISMATCH_MULTIPLE_PRIMARIES, list, n,
                        "%zu servers are writable and replicate from nobody: %s", n, names);
        }

        /* server_id collisions, one mismatch per shared id, in config order of its first server */
        for (size_t i = 0; i < t->n_servers; i++) {
                const server_status *s = b->statuses[i];
                bool seen_before = false;

                if (!s || !t->servers[i].alive || !s->have_variables)
                        continue;
                n = 0;
                for (size_t j = 0; j < t->n_servers; j++) {
                        const server_status *o = b->statuses[j];

                        if (!o || !t->servers[j].alive || !o->have_variables || o->server_id != s->server_id)
                                continue;
                        if (j < i)
                                seen_before = true;
                        list[n++] = j;
                }
                if (seen_before || n < 2)
                        continue;
                _cleanup_free_ char *names = join_names(b, list, n);
                if (!names)
                        return -ENOMEM;
                add_mismatch(b, TOPOLOGY_MISMATCH_SERVER_ID_COLLISION, list, n, "%s share server_id %u",
                        names, (unsigned) s->server_id);
        }
        return b->r;
}

/* Mismatch kinds that have a reason of their own. */
static bool mismatch_has_own_reason(topology_mismatch_kind k) {
        return k == TOPOLOGY_MISMATCH_ERRANT || k == TOPOLOGY_MISMATCH_NOT_REPLICATING;
}

static void derive_state(topology *t) {
        unsigned reasons = 0;

        for (size_t i = 0; i < t->n_servers; i++) {
                const topology_server *ts = &t->servers[i];

                if (i == t->primary) {
                        if (ts->role == SERVER_ROLE_DOWN)
                                reasons |= TOPOLOGY_REASON_BIT(TOPOLOGY_REASON_PRIMARY_DOWN);
                        else if (ts->role == SERVER_ROLE_FENCED)
                                reasons |= TOPOLOGY_REASON_BIT(TOPOLOGY_REASON_PRIMARY_FENCED);
                        else if (ts->role != SERVER_ROLE_PRIMARY || !ts->writable)
                                reasons |= TOPOLOGY_REASON_BIT(TOPOLOGY_REASON_PRIMARY_UNKNOWN);
                        continue;
                }
                if (ts->role == SERVER_ROLE_DOWN)
                        reasons |= TOPOLOGY_REASON_BIT(TOPOLOGY_REASON_REPLICA_DOWN);
                else if (ts->role == SERVER_ROLE_UNKNOWN)
                        reasons |= TOPOLOGY_REASON_BIT(TOPOLOGY_REASON_REPLICA_UNKNOWN);
                else if (ts->role == SERVER_ROLE_FENCED)
                        reasons |= TOPOLOGY_REASON_BIT(TOPOLOGY_REASON_NOT_REPLICATING);
                if (ts->broken)
                        reasons |= TOPOLOGY_REASON_BIT(TOPOLOGY_REASON_REPLICATION_BROKEN);
                if (ts->lagging)
                        reasons |= TOPOLOGY_REASON_BIT(TOPOLOGY_REASON_REPLICA_LAGGING);
                if (ts->errant.n > 0)
                        reasons |= TOPOLOGY_REASON_BIT(TOPOLOGY_REASON_ERRANT);
        }
        for (size_t k = 0; k < t->n_mismatches; k++)
                if (!mismatch_has_own_reason(t->mismatches[k].kind))
                        reasons |= TOPOLOGY_REASON_BIT(TOPOLOGY_REASON_MISMATCH);

        if (t->primary == TOPOLOGY_NONE) {
                reasons |= TOPOLOGY_REASON_BIT(TOPOLOGY_REASON_NO_PRIMARY);
                t->state = CLUSTER_STATE_NO_PRIMARY;
        } else if (t->servers[t->primary].role == SERVER_ROLE_FENCED)
                t->state = CLUSTER_STATE_FENCED;
        else
                t->state = reasons ? CLUSTER_STATE_DEGRADED : CLUSTER_STATE_HEALTHY;
        t->reasons = reasons;
}

int topology_build(const cluster_conf *conf, const server_status *const *statuses, const char *known_primary,
        topology **ret) {
        _cleanup_(topology_freep) topology *t = NULL;
        builder b = {
                .conf = conf, .statuses = statuses, .known = TOPOLOGY_NONE, .reference = GTID_LIST_EMPTY};
        int r;

        if (!conf || !statuses || !ret)
                return -EINVAL;

        t = calloc(1, sizeof(*t));
        if (!t)
                return -ENOMEM;
        t->servers = calloc(conf->n_servers ?: 1, sizeof(topology_server));
        if (!t->servers)
                return -ENOMEM;
        t->n_servers = conf->n_servers;
        b.t = t;
        if (known_primary)
                for (size_t i = 0; i < conf->n_servers; i++)
                        if (streq_ptr(conf->servers[i].name, known_primary))
                                b.known = i;

        for (size_t i = 0; i < t->n_servers; i++) {
                const server_status *s = statuses[i];
                topology_server *ts = &t->servers[i];

                *ts = (topology_server){.replication = TOPOLOGY_NONE, .follows = TOPOLOGY_NONE};
                ts->role = role_of(s, i == b.known);
                ts->alive = s && probe_error_class_is_alive(s->error_class);
                ts->writable = ts->alive && s->have_variables && !s->read_only;
        }
        t->primary = pick_primary(&b);
        if (t->primary != TOPOLOGY_NONE && t->servers[t->primary].role == SERVER_ROLE_PRIMARY) {
                t->servers[t->primary].lag_known = true;
                t->servers[t->primary].lag_ms = 0;
        }

        r = analyse_cluster(&b, known_primary);
        if (r >= 0)
                r = build_reference(&b);
        for (size_t i = 0; r >= 0 && i < t->n_servers; i++) {
                r = analyse_server(&b, i);
                if (r >= 0)
                        r = analyse_replication(&b, i);
                if (r >= 0)
                        r = analyse_gtid(&b, i);
                if (r >= 0 && t->servers[i].primary_io_connected)
                        t->primary_evidence++;
        }
        gtid_list_done(&b.reference);
        if (r < 0)
                return r;

        derive_state(t);
        *ret = TAKE_PTR(t);
        return 0;
}

const topology_mismatch *topology_find_mismatch(
        const topology *t, topology_mismatch_kind kind, size_t server) {
        if (!t)
                return NULL;
        for (size_t k = 0; k < t->n_mismatches; k++) {
                const topology_mismatch *m = &t->mismatches[k];

                if (m->kind != kind)
                        continue;
                if (server == TOPOLOGY_NONE || (m->n_servers > 0 && m->servers[0] == server))
                        return m;
        }
        return NULL;
}
