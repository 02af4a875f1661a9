/* Unit tests for lib/core/topology.c: each table row is one cluster snapshot (three configured servers,
 * their probes, the known primary) and everything the topology must derive from it. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "macro.h"
#include "topology.h"

/* ---- building inputs by hand ---- */

enum { P_NONE, P_OK, P_DOWN, P_NOVARS, P_NOROWS };

typedef struct row_spec {
        const char *host; /* NULL ends the rows */
        uint16_t port;
        uint32_t master_id;
        const char *io; /* NULL: "Yes" */
        bool sql_stopped;
        bool sbm_null;
        uint64_t sbm;
        const char *conn;
} row_spec;

typedef struct probe_spec {
        int state; /* P_NONE: never probed; P_DOWN: no answer (stale data kept); P_NOVARS: alive, too
                    * many connections; P_NOROWS: variables read, replication not */
        bool ro;
        uint32_t sid;
        const char *current, *binlog; /* NULL: binlog = current */
        bool no_log_bin, no_lsu;
        bool semi_master, semi_status_known, semi_status;
        uint64_t started, finished;
        row_spec rows[3];
} probe_spec;

#define SERVER(n, h, z, prio, prom)                                                                         \
        {                                                                                                   \
                .name = (char *) (n), .host = (char *) (h), .family = AF_INET, .port = 3306,                \
                .zone = (char *) (z), .priority = (prio), .promotable = (prom)                              \
        }

/* db-c is not promotable. */
static const server_conf servers3[] = {
        SERVER("db-a", "10.0.0.1", "az-a", 100, true),
        SERVER("db-b", "10.0.0.2", "az-b", 90, true),
        SERVER("db-c", "10.0.0.3", "az-c", 0, false),
};

static cluster_conf conf3(void) {
        return (cluster_conf){
                .name = (char *) "main",
                .quorum = 2,
                .n_servers = ELEMENTSOF(servers3),
                .servers = (server_conf *) servers3,
                .failover = {.max_lag_ms = 10000},
        };
}

static gtid_list parse(const char *s) {
        gtid_list l = GTID_LIST_EMPTY;

        ck_assert_msg(gtid_list_parse(s ?: "", &l) == 0, "bad test GTID \"%s\"", s);
        return l;
}

static server_status *make_status(const probe_spec *p) {
        server_status *s;

        if (p->state == P_NONE)
                return NULL;
        s = calloc(1, sizeof(*s));
        ck_assert_ptr_nonnull(s);
        s->started_usec = p->started;
        s->finished_usec = p->finished;
        s->error_class = p->state == P_DOWN     ? PROBE_NO_ANSWER
                         : p->state == P_NOVARS ? PROBE_SERVER_ERROR
                                                : PROBE_OK;
        s->reachable = probe_error_class_is_alive(s->error_class);
        s->have_variables = p->state != P_NOVARS; /* a down server keeps its stale half-probe */
        s->read_only = p->ro;
        s->server_id = p->sid;
        s->gtid_current_pos = parse(p->current);
        s->gtid_binlog_pos = parse(p->binlog ?: p->current);
        s->log_bin = !p->no_log_bin;
        s->log_slave_updates = !p->no_lsu;
        s->semi_sync_master_enabled = p->semi_master;
        s->have_semi_sync_status = p->semi_status_known;
        s->semi_sync_master_status = p->semi_status;
        s->have_replication = p->state == P_OK || p->state == P_DOWN;
        for (size_t k = 0; k < ELEMENTSOF(p->rows) && p->rows[k].host; k++) {
                const row_spec *rs = &p->rows[k];
                server_replication *row;

                s->replication = reallocarray(s->replication, s->n_replication + 1, sizeof(*row));
                ck_assert_ptr_nonnull(s->replication);
                row = &s->replication[s->n_replication++];
                *row = (server_replication){
                        .connection_name = strdup(rs->conn ?: ""),
                        .master_host = strdup(rs->host),
                        .master_port = rs->port ?: 3306,
                        .master_server_id = rs->master_id,
                        .io_running = replica_io_state_from_string(rs->io ?: "Yes"),
                        .sql_running = !rs->sql_stopped,
                        .using_gtid = REPLICA_USING_GTID_SLAVE_POS,
                        .seconds_behind_master_known = !rs->sbm_null && !rs->sql_stopped,
                        .seconds_behind_master = rs->sbm,
                        .last_io_error = strdup(""),
                        .last_sql_error = strdup(rs->sql_stopped ? "Error 1062" : ""),
                };
                ck_assert_int_ge(row->io_running, 0);
        }
        return s;
}

typedef struct inputs {
        cluster_conf conf;
        server_status *st[3];
} inputs;

static void inputs_done(inputs *in) {
        for (size_t i = 0; i < ELEMENTSOF(in->st); i++)
                server_status_free(in->st[i]);
}

static topology *build(inputs *in, const probe_spec p[3], const char *known) {
        topology *t = NULL;

        in->conf = conf3();
        for (size_t i = 0; i < 3; i++)
                in->st[i] = make_status(&p[i]);
        ck_assert_int_eq(topology_build(&in->conf, (const server_status *const *) in->st, known, &t), 0);
        ck_assert_ptr_nonnull(t);
        ck_assert_uint_eq(t->n_servers, 3);
        return t;
}

/* Everything at once: reason names ("a b") into *ret_reasons, mismatches "kind:server kind:server"
 * (server "-" when none) into *ret_mismatches. */
static void summarize(
        const topology *t, const cluster_conf *conf, char **ret_reasons, char **ret_mismatches) {
        size_t size = 0;
        FILE *f = open_memstream(ret_reasons, &size);
        const char *sep = "";

        for (int k = 0; k < _TOPOLOGY_REASON_MAX; k++)
                if (t->reasons & TOPOLOGY_REASON_BIT(k)) {
                        fprintf(f, "%s%s", sep, topology_reason_to_string(k));
                        sep = " ";
                }
        fclose(f);
        f = open_memstream(ret_mismatches, &size);
        for (size_t k = 0; k < t->n_mismatches; k++) {
                const topology_mismatch *m = &t->mismatches[k];

                ck_assert_ptr_nonnull(m->text);
                ck_assert_ptr_null(strchr(m->text, '\n'));
                fprintf(f, "%s%s:%s", k ? " " : "", topology_mismatch_kind_to_string(m->kind),
                        m->n_servers ? conf->servers[m->servers[0]].name : "-");
        }
        fclose(f);
}

/* ---- the probes most rows start from ---- */

#define ROW_TO(octet, id, ...)                                                                              \
        { .host = "10.0.0." #octet, .master_id = (id), __VA_ARGS__ }
#define PRIMARY(id, pos, ...)                                                                               \
        { .state = P_OK, .sid = (id), .current = (pos), __VA_ARGS__ }
#define REPLICA(id, pos, ...)                                                                               \
        { .state = P_OK, .ro = true, .sid = (id), .current = (pos), __VA_ARGS__ }
#define REPLICA_OF_A(id, pos, ...) REPLICA(id, pos, .rows = {ROW_TO(1, 1, __VA_ARGS__)})
#define DOWN                                                                                                \
        { .state = P_DOWN, .sid = 9, .current = "0-9-999" }
#define NEVER                                                                                               \
        { .state = P_NONE }
#define R_P SERVER_ROLE_PRIMARY
#define R_R SERVER_ROLE_REPLICA
#define R_F SERVER_ROLE_FENCED
#define R_D SERVER_ROLE_DOWN
#define R_U SERVER_ROLE_UNKNOWN

static const struct topo_case {
        const char *what;
        const char *known;
        probe_spec p[3];
        server_role roles[3];
        const char *primary; /* NULL: none */
        cluster_state state;
        const char *reasons;    /* reason names, in enum order */
        const char *follows[3]; /* NULL: none */
        size_t evidence;
        const char *mismatches; /* mismatch_summary() */
} topo_cases[] = {
        {"healthy", "db-a", {PRIMARY(1, "0-1-100"), REPLICA_OF_A(2, "0-1-100"), REPLICA_OF_A(3, "0-1-100")},
                {R_P, R_R, R_R}, "db-a", CLUSTER_STATE_HEALTHY, "", {NULL, "db-a", "db-a"}, 2, ""},
        {"healthy, primary discovered", NULL,
                {PRIMARY(1, "0-1-100"), REPLICA_OF_A(2, "0-1-100"), REPLICA_OF_A(3, "0-1-100")},
                {R_P, R_R, R_R}, "db-a", CLUSTER_STATE_HEALTHY, "", {NULL, "db-a", "db-a"}, 2, ""},
        {"never probed, primary known", "db-a", {NEVER, NEVER, NEVER}, {R_U, R_U, R_U}, "db-a",
                CLUSTER_STATE_DEGRADED, "primary-unknown replica-unknown", {}, 0, ""},
        {"never probed, nothing known", NULL, {NEVER, NEVER, NEVER}, {R_U, R_U, R_U}, NULL,
                CLUSTER_STATE_NO_PRIMARY, "no-primary replica-unknown", {}, 0, ""},
        {"primary down, its stale half-probe ignored", "db-a",
                {DOWN, REPLICA_OF_A(2, "0-1-100", .io = "Connecting"),
                        REPLICA_OF_A(3, "0-1-100", .io = "Connecting")},
                {R_D, R_R, R_R}, "db-a", CLUSTER_STATE_DEGRADED, "primary-down replication-broken",
                {NULL, "db-a", "db-a"}, 0, ""},
        {"primary down, replicas still connected (hung primary)", "db-a",
                {DOWN, REPLICA_OF_A(2, "0-1-100"), REPLICA_OF_A(3, "0-1-100")}, {R_D, R_R, R_R}, "db-a",
                CLUSTER_STATE_DEGRADED, "primary-down", {NULL, "db-a", "db-a"}, 2, ""},
        {"primary answers too-many-connections: alive, primary", "db-a",
                {{.state = P_NOVARS}, REPLICA_OF_A(2, "0-1-100"), REPLICA_OF_A(3, "0-1-100")},
                {R_P, R_R, R_R}, "db-a", CLUSTER_STATE_DEGRADED, "primary-unknown", {NULL, "db-a", "db-a"},
                2, ""},
        {"replica denies access: alive, unknown", "db-a",
                {PRIMARY(1, "0-1-100"), {.state = P_NOVARS}, REPLICA_OF_A(3, "0-1-100")}, {R_P, R_U, R_R},
                "db-a", CLUSTER_STATE_DEGRADED, "replica-unknown", {NULL, NULL, "db-a"}, 1, ""},
        {"replication status unreadable: unknown", "db-a",
                {PRIMARY(1, "0-1-100"), {.state = P_NOROWS, .ro = true, .sid = 2},
                        {.state = P_NOROWS, .sid = 3}},
                {R_P, R_U, R_U}, "db-a", CLUSTER_STATE_DEGRADED, "replica-unknown", {}, 0, ""},
        {"replica down", "db-a", {PRIMARY(1, "0-1-100"), REPLICA_OF_A(2, "0-1-100"), DOWN}, {R_P, R_R, R_D},
                "db-a", CLUSTER_STATE_DEGRADED, "replica-down", {NULL, "db-a", NULL}, 1, ""},
        {"fenced primary", "db-a",
                {REPLICA(1, "0-1-100"), REPLICA_OF_A(2, "0-1-100"), REPLICA_OF_A(3, "0-1-100")},
                {R_F, R_R, R_R}, "db-a", CLUSTER_STATE_FENCED, "primary-fenced mismatch",
                {NULL, "db-a", "db-a"}, 2, "primary-read-only:db-a"},
        {"fenced primary keeps a stale stopped connection", "db-a",
                {REPLICA(1, "0-1-100", .rows = {ROW_TO(2, 2, .io = "No", .sql_stopped = true)}),
                        REPLICA_OF_A(2, "0-1-100"), REPLICA_OF_A(3, "0-1-100")},
                {R_F, R_R, R_R}, "db-a", CLUSTER_STATE_FENCED, "primary-fenced mismatch",
                {NULL, "db-a", "db-a"}, 2, "primary-read-only:db-a"},
        {"after failover: old primary fenced, not rejoined", "db-b",
                {REPLICA(1, "0-1-100"), PRIMARY(2, "0-2-105", .binlog = "0-2-105"),
                        REPLICA(3, "0-2-105", .rows = {ROW_TO(2, 2)})},
                {R_F, R_P, R_R}, "db-b", CLUSTER_STATE_DEGRADED, "not-replicating", {NULL, NULL, "db-b"}, 1,
                "not-replicating:db-a"},
        {"split brain: a second writable server", "db-a",
                {PRIMARY(1, "0-1-100"), PRIMARY(2, "0-1-100"), REPLICA_OF_A(3, "0-1-100")}, {R_P, R_P, R_R},
                "db-a", CLUSTER_STATE_DEGRADED, "mismatch", {NULL, NULL, "db-a"}, 1,
                "multiple-primaries:db-a unexpected-primary:db-b"},
        {"split brain, nothing known: no primary", NULL,
                {PRIMARY(1, "0-1-100"), PRIMARY(2, "0-1-100"), REPLICA_OF_A(3, "0-1-100")}, {R_P, R_P, R_R},
                NULL, CLUSTER_STATE_NO_PRIMARY, "no-primary mismatch", {NULL, NULL, "db-a"}, 0,
                "multiple-primaries:db-a"},
        {"nothing writable, nothing known", NULL,
                {REPLICA(1, "0-1-100"), REPLICA_OF_A(2, "0-1-100"), REPLICA_OF_A(3, "0-1-100")},
                {R_F, R_R, R_R}, NULL, CLUSTER_STATE_NO_PRIMARY, "no-primary not-replicating",
                {NULL, "db-a", "db-a"}, 0, "not-replicating:db-a"},
        {"known primary not configured: discovered instead", "db-x",
                {PRIMARY(1, "0-1-100"), REPLICA_OF_A(2, "0-1-100"), REPLICA_OF_A(3, "0-1-100")},
                {R_P, R_R, R_R}, "db-a", CLUSTER_STATE_DEGRADED, "mismatch", {NULL, "db-a", "db-a"}, 2,
                "primary-not-configured:-"},
        {"replica follows an unknown address", "db-a",
                {PRIMARY(1, "0-1-100"), REPLICA_OF_A(2, "0-1-100"),
                        REPLICA(3, "0-1-100", .rows = {ROW_TO(9, 0)})},
                {R_P, R_R, R_R}, "db-a", CLUSTER_STATE_DEGRADED, "mismatch", {NULL, "db-a", NULL}, 1,
                "follows-unknown:db-c"},
        {"replica follows the primary by an alias, known by server_id", "db-a",
                {PRIMARY(1, "0-1-100"), REPLICA_OF_A(2, "0-1-100"),
                        REPLICA(3, "0-1-100", .rows = {{.host = "primary.db.example.", .master_id = 1}})},
                {R_P, R_R, R_R}, "db-a", CLUSTER_STATE_DEGRADED, "mismatch", {NULL, "db-a", "db-a"}, 2,
                "follows-alias:db-c"},
        {"alias with a colliding server_id stays unknown", "db-a",
                {PRIMARY(1, "0-1-100"), REPLICA_OF_A(1, "0-1-100"),
                        REPLICA(3, "0-1-100", .rows = {{.host = "primary.db.example.", .master_id = 1}})},
                {R_P, R_R, R_R}, "db-a", CLUSTER_STATE_DEGRADED, "mismatch", {NULL, "db-a", NULL}, 1,
                "server-id-collision:db-a follows-unknown:db-c"},
        {"cascading replica follows a replica", "db-a",
                {PRIMARY(1, "0-1-100"), REPLICA_OF_A(2, "0-1-100"),
                        REPLICA(3, "0-1-100", .rows = {ROW_TO(2, 2)})},
                {R_P, R_R, R_R}, "db-a", CLUSTER_STATE_DEGRADED, "mismatch", {NULL, "db-a", "db-b"}, 1,
                "follows-non-primary:db-c"},
        {"writable replica", "db-a",
                {PRIMARY(1, "0-1-100"),
                        {.state = P_OK, .sid = 2, .current = "0-1-100", .rows = {ROW_TO(1, 1)}},
                        REPLICA_OF_A(3, "0-1-100")},
                {R_P, R_R, R_R}, "db-a", CLUSTER_STATE_DEGRADED, "mismatch", {NULL, "db-a", "db-a"}, 2,
                "writable-replica:db-b"},
        {"circular: the primary replicates from a replica", "db-a",
                {PRIMARY(1, "0-1-100", .rows = {ROW_TO(3, 3)}), REPLICA_OF_A(2, "0-1-100"),
                        REPLICA_OF_A(3, "0-1-100")},
                {R_P, R_R, R_R}, "db-a", CLUSTER_STATE_DEGRADED, "mismatch", {"db-c", "db-a", "db-a"}, 2,
                "primary-replicating:db-a"},
        {"primary with a stopped leftover connection is fine", "db-a",
                {PRIMARY(1, "0-1-100", .rows = {ROW_TO(3, 3, .io = "No", .sql_stopped = true)}),
                        REPLICA_OF_A(2, "0-1-100"), REPLICA_OF_A(3, "0-1-100")},
                {R_P, R_R, R_R}, "db-a", CLUSTER_STATE_HEALTHY, "", {NULL, "db-a", "db-a"}, 2, ""},
        {"writable with only stopped connections acts as primary", "db-a",
                {PRIMARY(1, "0-1-100"),
                        PRIMARY(2, "0-1-100", .rows = {ROW_TO(1, 1, .io = "No", .sql_stopped = true)}),
                        REPLICA_OF_A(3, "0-1-100")},
                {R_P, R_P, R_R}, "db-a", CLUSTER_STATE_DEGRADED, "mismatch", {NULL, NULL, "db-a"}, 1,
                "multiple-primaries:db-a unexpected-primary:db-b"},
        {"SQL thread stopped", "db-a",
                {PRIMARY(1, "0-1-100"), REPLICA_OF_A(2, "0-1-90", .sql_stopped = true),
                        REPLICA_OF_A(3, "0-1-100")},
                {R_P, R_R, R_R}, "db-a", CLUSTER_STATE_DEGRADED, "replication-broken",
                {NULL, "db-a", "db-a"}, 2, ""},
        {"replica stopped altogether is a broken replica", "db-a",
                {PRIMARY(1, "0-1-100"), REPLICA_OF_A(2, "0-1-90", .io = "No", .sql_stopped = true),
                        REPLICA_OF_A(3, "0-1-100")},
                {R_P, R_R, R_R}, "db-a", CLUSTER_STATE_DEGRADED, "replication-broken",
                {NULL, "db-a", "db-a"}, 1, ""},
        {"lagging replica", "db-a",
                {PRIMARY(1, "0-1-100"), REPLICA_OF_A(2, "0-1-50", .sbm = 11), REPLICA_OF_A(3, "0-1-100")},
                {R_P, R_R, R_R}, "db-a", CLUSTER_STATE_DEGRADED, "replica-lagging", {NULL, "db-a", "db-a"},
                2, ""},
        {"lag exactly max_lag_ms is not lagging", "db-a",
                {PRIMARY(1, "0-1-100"), REPLICA_OF_A(2, "0-1-50", .sbm = 10), REPLICA_OF_A(3, "0-1-100")},
                {R_P, R_R, R_R}, "db-a", CLUSTER_STATE_HEALTHY, "", {NULL, "db-a", "db-a"}, 2, ""},
        {"errant local write on a replica", "db-a",
                {PRIMARY(1, "0-1-100"), REPLICA_OF_A(2, "0-2-101"), REPLICA_OF_A(3, "0-1-100")},
                {R_P, R_R, R_R}, "db-a", CLUSTER_STATE_DEGRADED, "errant", {NULL, "db-a", "db-a"}, 2,
                "errant:db-b"},
        {"errant write in the replica's own domain", "db-a",
                {PRIMARY(1, "0-1-100"), REPLICA_OF_A(2, "0-1-100,7-2-3"), REPLICA_OF_A(3, "0-1-100")},
                {R_P, R_R, R_R}, "db-a", CLUSTER_STATE_DEGRADED, "errant", {NULL, "db-a", "db-a"}, 2,
                "errant:db-b"},
        {"errant on the fenced old primary", "db-b",
                {REPLICA(1, "0-1-103"), PRIMARY(2, "0-1-100"),
                        REPLICA(3, "0-1-100", .rows = {ROW_TO(2, 2)})},
                {R_F, R_P, R_R}, "db-b", CLUSTER_STATE_DEGRADED, "errant not-replicating",
                {NULL, NULL, "db-b"}, 1, "not-replicating:db-a errant:db-a"},
        {"server_id collision", "db-a",
                {PRIMARY(1, "0-1-100"), REPLICA_OF_A(2, "0-1-100"), REPLICA_OF_A(2, "0-1-100")},
                {R_P, R_R, R_R}, "db-a", CLUSTER_STATE_DEGRADED, "mismatch", {NULL, "db-a", "db-a"}, 2,
                "server-id-collision:db-b"},
        {"three servers share a server_id", "db-a",
                {PRIMARY(7, "0-7-100"), REPLICA(7, "0-7-100", .rows = {ROW_TO(1, 0)}),
                        REPLICA(7, "0-7-100", .rows = {ROW_TO(1, 0)})},
                {R_P, R_R, R_R}, "db-a", CLUSTER_STATE_DEGRADED, "mismatch", {NULL, "db-a", "db-a"}, 2,
                "server-id-collision:db-a"},
        {"down servers cannot collide", "db-a", {PRIMARY(9, "0-9-100"), REPLICA_OF_A(2, "0-9-100"), DOWN},
                {R_P, R_R, R_D}, "db-a", CLUSTER_STATE_DEGRADED, "replica-down", {NULL, "db-a", NULL}, 1,
                ""},
        {"log_bin off: primary and promotable replica, not the non-promotable one", "db-a",
                {PRIMARY(1, "0-1-100", .no_log_bin = true),
                        REPLICA(2, "0-1-100", .no_log_bin = true, .rows = {ROW_TO(1, 1)}),
                        REPLICA(3, "0-1-100", .no_log_bin = true, .rows = {ROW_TO(1, 1)})},
                {R_P, R_R, R_R}, "db-a", CLUSTER_STATE_DEGRADED, "mismatch", {NULL, "db-a", "db-a"}, 2,
                "log-bin-off:db-a log-bin-off:db-b"},
        {"log_slave_updates off on promotable servers only", "db-a",
                {PRIMARY(1, "0-1-100", .no_lsu = true),
                        REPLICA(2, "0-1-100", .no_lsu = true, .rows = {ROW_TO(1, 1)}),
                        REPLICA(3, "0-1-100", .no_lsu = true, .rows = {ROW_TO(1, 1)})},
                {R_P, R_R, R_R}, "db-a", CLUSTER_STATE_DEGRADED, "mismatch", {NULL, "db-a", "db-a"}, 2,
                "log-slave-updates-off:db-a log-slave-updates-off:db-b"},
        {"semi-sync master side on a replica", "db-a",
                {PRIMARY(1, "0-1-100", .semi_master = true, .semi_status_known = true, .semi_status = true),
                        REPLICA_OF_A(2, "0-1-100"),
                        REPLICA(3, "0-1-100", .semi_master = true, .rows = {ROW_TO(1, 1)})},
                {R_P, R_R, R_R}, "db-a", CLUSTER_STATE_DEGRADED, "mismatch", {NULL, "db-a", "db-a"}, 2,
                "semi-sync-on-replica:db-c"},
        {"semi-sync fell back to async", "db-a",
                {PRIMARY(1, "0-1-100", .semi_master = true, .semi_status_known = true),
                        REPLICA_OF_A(2, "0-1-100"), REPLICA_OF_A(3, "0-1-100")},
                {R_P, R_R, R_R}, "db-a", CLUSTER_STATE_DEGRADED, "mismatch", {NULL, "db-a", "db-a"}, 2,
                "semi-sync-fallback:db-a"},
        {"semi-sync status unknown is not a fallback", "db-a",
                {PRIMARY(1, "0-1-100", .semi_master = true), REPLICA_OF_A(2, "0-1-100"),
                        REPLICA_OF_A(3, "0-1-100")},
                {R_P, R_R, R_R}, "db-a", CLUSTER_STATE_HEALTHY, "", {NULL, "db-a", "db-a"}, 2, ""},
        {"switched over behind the sentinel's back", "db-a",
                {REPLICA(1, "0-2-110", .rows = {ROW_TO(2, 2)}), PRIMARY(2, "0-2-110"),
                        REPLICA(3, "0-2-110", .rows = {ROW_TO(2, 2)})},
                {R_R, R_P, R_R}, "db-a", CLUSTER_STATE_DEGRADED, "primary-unknown mismatch",
                {"db-b", NULL, "db-b"}, 0,
                "primary-read-only:db-a primary-replicating:db-a unexpected-primary:db-b "
                "follows-non-primary:db-c"},
        {"multi-source: the connection to the primary is the main one", "db-a",
                {PRIMARY(1, "0-1-100"),
                        REPLICA(2, "0-1-100",
                                .rows = {{.host = "10.9.9.9", .io = "No", .sql_stopped = true},
                                        ROW_TO(1, 1, .conn = "main")}),
                        REPLICA_OF_A(3, "0-1-100")},
                {R_P, R_R, R_R}, "db-a", CLUSTER_STATE_HEALTHY, "", {NULL, "db-a", "db-a"}, 2, ""},
        {"multi-source: a running extra connection elsewhere", "db-a",
                {PRIMARY(1, "0-1-100"),
                        REPLICA(2, "0-1-100,5-9-7",
                                .rows = {ROW_TO(1, 1), {.host = "10.9.9.9", .conn = "ext"}}),
                        REPLICA_OF_A(3, "0-1-100")},
                {R_P, R_R, R_R}, "db-a", CLUSTER_STATE_DEGRADED, "errant mismatch", {NULL, "db-a", "db-a"},
                2, "follows-unknown:db-b errant:db-b"},
};

START_TEST(test_topology_cases) {
        const struct topo_case *c = &topo_cases[_i];
        _cleanup_(inputs_done) inputs in = {};
        _cleanup_(topology_freep) topology *t = build(&in, c->p, c->known);
        _cleanup_free_ char *mm = NULL, *reasons = NULL;

        summarize(t, &in.conf, &reasons, &mm);

        for (size_t i = 0; i < 3; i++) {
                ck_assert_msg(t->servers[i].role == c->roles[i], "%s: %s is %s, expected %s", c->what,
                        servers3[i].name, server_role_to_string(t->servers[i].role),
                        server_role_to_string(c->roles[i]));
                ck_assert_msg(streq_ptr(t->servers[i].follows == TOPOLOGY_NONE
                                                ? NULL
                                                : servers3[t->servers[i].follows].name,
                                      c->follows[i]),
                        "%s: %s follows %zu", c->what, servers3[i].name, t->servers[i].follows);
        }
        ck_assert_msg(streq_ptr(t->primary == TOPOLOGY_NONE ? NULL : servers3[t->primary].name, c->primary),
                "%s: primary %zu", c->what, t->primary);
        ck_assert_msg(t->state == c->state, "%s: state %s", c->what, cluster_state_to_string(t->state));
        ck_assert_msg(streq(reasons, c->reasons), "%s: reasons \"%s\"", c->what, reasons);
        ck_assert_msg((t->reasons == 0) == (t->state == CLUSTER_STATE_HEALTHY), "%s", c->what);
        ck_assert_msg(t->primary_evidence == c->evidence, "%s: evidence %zu", c->what, t->primary_evidence);
        ck_assert_msg(streq(mm, c->mismatches), "%s: mismatches \"%s\"", c->what, mm);
        ck_assert(t->primary_from_state ==
                  (c->known && t->primary != TOPOLOGY_NONE && streq(c->known, c->primary)));

        /* Behind and errant only when both the primary and the server answered with their variables. */
        for (size_t i = 0; i < 3; i++) {
                const topology_server *ts = &t->servers[i];
                bool ref = t->primary != TOPOLOGY_NONE && t->servers[t->primary].alive &&
                           in.st[t->primary]->have_variables;

                ck_assert(
                        ts->gtid_known == (i != t->primary && ts->alive && in.st[i]->have_variables && ref));
                ck_assert(ts->gtid_known || (!ts->gtid_behind && ts->errant.n == 0));
                ck_assert(!ts->writable || ts->alive);
                ck_assert((ts->role == SERVER_ROLE_DOWN) == (in.st[i] && !ts->alive));
        }
}
END_TEST

/* ---- GTID: behind and errant against the primary ---- */

static const struct gtid_case {
        const char *what;
        uint32_t primary_sid;
        const char *p_binlog, *p_current;
        const char *r_current;
        bool primary_newer; /* the primary's probe started after the replica's finished */
        bool behind;
        uint64_t behind_n;
        const char *errant; /* gtid_diff_format(), "" none */
} gtid_cases[] = {
        {"in sync", 1, "0-1-100", "0-1-100", "0-1-100", false, false, 0, ""},
        {"ordinary lag", 1, "0-1-100", "0-1-100", "0-1-90", false, true, 10, ""},
        {"lag in a domain the replica lacks", 1, "0-1-100,1-1-5", "0-1-100,1-1-5", "0-1-100", false, true, 5,
                ""},
        {"lag across a failover (new server_id)", 2, "0-2-120", "0-2-120", "0-1-100", false, true, 20, ""},
        {"snapshot race: replica saw the primary's newer write", 1, "0-1-100", "0-1-100", "0-1-103", false,
                false, 0, ""},
        {"primary provably newer: it lost what it wrote", 1, "0-1-100", "0-1-100", "0-1-103", true, false, 0,
                "0-1-101..103"},
        {"local write on the replica", 1, "0-1-100", "0-1-100", "0-2-101", false, false, 0, "0-2-101"},
        {"several local writes", 1, "0-1-100", "0-1-100", "0-2-105", true, false, 0, "0-2-101..105"},
        {"diverged at the same seq_no", 1, "0-1-100", "0-1-100", "0-2-100", false, false, 0,
                "0-2-100 (diverged from 0-1-100)"},
        {"local write in its own domain, lagging elsewhere", 1, "0-1-100", "0-1-100", "0-1-95,3-2-4", false,
                true, 5, "3-2-1..4"},
        {"lossy failover: the old primary's write the new one lacks", 2, "0-1-100", "0-1-100", "0-1-101",
                false, false, 0, "0-1-101"},
        {"promoted with log_slave_updates off: current_pos covers the binlog", 2, "0-2-50", "0-1-120",
                "0-1-120", false, false, 0, ""},
        {"primary's binlog ahead of its current_pos", 1, "0-1-130", "0-1-120", "0-1-125", false, true, 5,
                ""},
        {"empty replica", 1, "0-1-3", "0-1-3", "", false, true, 3, ""},
        {"empty primary", 1, "", "", "0-2-3", false, false, 0, "0-2-1..3"},
        {"both empty", 1, "", "", "", false, false, 0, ""},
};

START_TEST(test_gtid_cases) {
        const struct gtid_case *c = &gtid_cases[_i];
        probe_spec p[3] = {
                PRIMARY(c->primary_sid, c->p_current, .binlog = c->p_binlog,
                        .started = c->primary_newer ? 2000 : 500, .finished = 2100),
                REPLICA_OF_A(5, c->r_current),
                REPLICA_OF_A(6, c->p_current),
        };
        _cleanup_(inputs_done) inputs in = {};
        _cleanup_(topology_freep) topology *t = NULL;
        _cleanup_free_ char *errant = NULL;
        const topology_server *ts;

        p[1].started = 1000;
        p[1].finished = 1100;
        t = build(&in, p, "db-a");
        ts = &t->servers[1];
        ck_assert(ts->gtid_known);
        ck_assert_msg(ts->gtid_behind == c->behind, "%s: behind %d", c->what, ts->gtid_behind);
        ck_assert_msg(ts->gtid_behind_transactions == c->behind_n, "%s: behind by %llu", c->what,
                (unsigned long long) ts->gtid_behind_transactions);
        ck_assert_int_eq(gtid_diff_format(&ts->errant, &errant), 0);
        ck_assert_msg(streq(errant, c->errant), "%s: errant \"%s\"", c->what, errant);
        ck_assert(
                (topology_find_mismatch(t, TOPOLOGY_MISMATCH_ERRANT, 1) != NULL) == (c->errant[0] != '\0'));
        ck_assert(!t->servers[0].gtid_known); /* never for the primary itself */
        ck_assert_uint_eq(t->servers[0].errant.n, 0);
}
END_TEST

/* ---- lag ---- */

static const struct lag_case {
        bool null;
        uint64_t sbm;
        bool known;
        uint64_t lag_ms;
        bool lagging;
} lag_cases[] = {
        {false, 0, true, 0, false},
        {false, 1, true, 1000, false},
        {false, 10, true, 10000, false},
        {false, 11, true, 11000, true},
        {true, 0, false, 0, false},
        {false, UINT64_MAX / 1000, true, UINT64_MAX / 1000 * 1000, true},
        {false, UINT64_MAX / 1000 + 1, true, UINT64_MAX, true},
        {false, UINT64_MAX, true, UINT64_MAX, true},
};

START_TEST(test_lag) {
        const struct lag_case *c = &lag_cases[_i];
        probe_spec p[3] = {
                PRIMARY(1, "0-1-100"),
                REPLICA_OF_A(2, "0-1-100", .sbm = c->sbm, .sbm_null = c->null),
                REPLICA_OF_A(3, "0-1-100"),
        };
        _cleanup_(inputs_done) inputs in = {};
        _cleanup_(topology_freep) topology *t = build(&in, p, "db-a");

        ck_assert(t->servers[1].lag_known == c->known);
        ck_assert_uint_eq(t->servers[1].lag_ms, c->lag_ms);
        ck_assert(t->servers[1].lagging == c->lagging);
        ck_assert(t->servers[0].lag_known); /* the primary: 0 */
        ck_assert_uint_eq(t->servers[0].lag_ms, 0);
        ck_assert(!t->servers[1].broken);
        ck_assert_uint_eq(t->servers[1].replication, 0);
}
END_TEST

/* ---- address matching ---- */

static const struct addr_case {
        const char *conf_host;
        uint16_t conf_port;
        const char *host;
        uint16_t port;
        bool match;
} addr_cases[] = {
        {"10.0.0.1", 3306, "10.0.0.1", 3306, true},
        {"10.0.0.1", 3306, "10.0.0.1", 3307, false},
        {"10.0.0.1", 3306, "10.0.0.10", 3306, false},
        {"db-a.example", 3306, "db-a.example", 3306, true},
        {"db-a.example", 3306, "DB-A.Example.", 3306, true},
        {"db-a.example.", 3306, "db-a.example", 3306, true},
        {"db-a.example", 3306, "db-a", 3306, false},
        {"::1", 3306, "0:0:0:0:0:0:0:1", 3306, true},
        {"2001:db8::1", 3306, "2001:DB8:0::1", 3306, true},
        {"::1", 3306, "::2", 3306, false},
        {"localhost", 3306, "127.0.0.1", 3306, false},
        {"127.0.0.1", 3306, "localhost", 3306, false},
        {"127.0.0.1", 3306, "", 3306, false},
        {"127.0.0.1", 3306, "not a host!", 3306, false},
};

START_TEST(test_address) {
        const struct addr_case *c = &addr_cases[_i];
        server_conf sc[2] = {
                {.name = (char *) "other", .host = (char *) "192.0.2.1", .port = 3306},
                {.name = (char *) "x", .host = (char *) c->conf_host, .port = c->conf_port},
        };
        cluster_conf conf = {.n_servers = 2, .servers = sc};

        ck_assert_uint_eq(topology_server_by_address(&conf, c->host, c->port), c->match ? 1 : TOPOLOGY_NONE);
        ck_assert_uint_eq(topology_server_by_address(&conf, NULL, 3306), TOPOLOGY_NONE);
        ck_assert_uint_eq(topology_server_by_address(NULL, c->host, c->port), TOPOLOGY_NONE);
}
END_TEST

/* ---- overlay ---- */

static const struct overlay_case {
        cluster_state derived;
        cluster_state_overlay o;
        cluster_state want;
} overlay_cases[] = {
        {CLUSTER_STATE_HEALTHY, {}, CLUSTER_STATE_HEALTHY},
        {CLUSTER_STATE_DEGRADED, {}, CLUSTER_STATE_DEGRADED},
        {CLUSTER_STATE_NO_PRIMARY, {}, CLUSTER_STATE_NO_PRIMARY},
        {CLUSTER_STATE_HEALTHY, {.maintenance = true}, CLUSTER_STATE_MAINTENANCE},
        {CLUSTER_STATE_FENCED, {.maintenance = true}, CLUSTER_STATE_MAINTENANCE},
        {CLUSTER_STATE_DEGRADED, {.sdown = true, .maintenance = true}, CLUSTER_STATE_SDOWN},
        {CLUSTER_STATE_DEGRADED, {.sdown = true, .odown = true}, CLUSTER_STATE_ODOWN},
        {CLUSTER_STATE_DEGRADED, {.fenced = true}, CLUSTER_STATE_FENCED},
        {CLUSTER_STATE_HEALTHY, {.fenced = true, .sdown = true}, CLUSTER_STATE_SDOWN},
        {CLUSTER_STATE_DEGRADED, {.odown = true, .failover = true}, CLUSTER_STATE_FAILOVER},
        {CLUSTER_STATE_HEALTHY, {.switchover = true, .maintenance = true}, CLUSTER_STATE_SWITCHOVER},
        {CLUSTER_STATE_HEALTHY, {.switchover = true, .failover = true}, CLUSTER_STATE_FAILOVER},
        {CLUSTER_STATE_HEALTHY,
                {.failover = true,
                        .switchover = true,
                        .odown = true,
                        .sdown = true,
                        .fenced = true,
                        .maintenance = true},
                CLUSTER_STATE_FAILOVER},
};

START_TEST(test_overlay) {
        const struct overlay_case *c = &overlay_cases[_i];

        ck_assert_int_eq(cluster_state_resolve(c->derived, &c->o), c->want);
        ck_assert_int_eq(cluster_state_resolve(c->derived, NULL), c->derived);
}
END_TEST

/* ---- strings, errors, lookups ---- */

START_TEST(test_strings) {
        for (int k = 0; k < _SERVER_ROLE_MAX; k++)
                ck_assert_int_eq(server_role_from_string(server_role_to_string(k)), k);
        for (int k = 0; k < _CLUSTER_STATE_MAX; k++)
                ck_assert_int_eq(cluster_state_from_string(cluster_state_to_string(k)), k);
        for (int k = 0; k < _TOPOLOGY_REASON_MAX; k++)
                ck_assert_int_eq(topology_reason_from_string(topology_reason_to_string(k)), k);
        for (int k = 0; k < _TOPOLOGY_MISMATCH_KIND_MAX; k++) {
                ck_assert_int_eq(topology_mismatch_kind_from_string(topology_mismatch_kind_to_string(k)), k);
                ck_assert_int_eq(topology_mismatch_kind_event(k),
                        k == TOPOLOGY_MISMATCH_ERRANT ? EVENT_ERRANT : EVENT_TOPOLOGY_MISMATCH);
        }
        ck_assert_str_eq(cluster_state_to_string(CLUSTER_STATE_NO_PRIMARY), "no-primary");
        ck_assert_str_eq(server_role_to_string(SERVER_ROLE_FENCED), "fenced");
        ck_assert_ptr_null(server_role_to_string(_SERVER_ROLE_MAX));
        ck_assert_ptr_null(server_role_to_string(_SERVER_ROLE_INVALID));
        ck_assert_ptr_null(cluster_state_to_string(_CLUSTER_STATE_MAX));
        ck_assert_ptr_null(topology_reason_to_string(_TOPOLOGY_REASON_MAX));
        ck_assert_ptr_null(topology_mismatch_kind_to_string(_TOPOLOGY_MISMATCH_KIND_MAX));
        ck_assert_int_eq(topology_mismatch_kind_event(_TOPOLOGY_MISMATCH_KIND_MAX), _EVENT_INVALID);
        ck_assert_int_eq(topology_mismatch_kind_event(_TOPOLOGY_MISMATCH_KIND_INVALID), _EVENT_INVALID);
        ck_assert_int_eq(server_role_from_string(NULL), _SERVER_ROLE_INVALID);
        ck_assert_int_eq(server_role_from_string("Primary"), _SERVER_ROLE_INVALID);
        ck_assert_int_eq(cluster_state_from_string("no_primary"), _CLUSTER_STATE_INVALID);
        ck_assert_int_eq(topology_mismatch_kind_from_string(""), _TOPOLOGY_MISMATCH_KIND_INVALID);
        ck_assert_int_eq(topology_reason_from_string("x"), _TOPOLOGY_REASON_INVALID);
}
END_TEST

START_TEST(test_api_edges) {
        cluster_conf conf = conf3();
        const server_status *none[3] = {};
        topology *t = NULL;

        ck_assert_int_eq(topology_build(NULL, none, NULL, &t), -EINVAL);
        ck_assert_int_eq(topology_build(&conf, NULL, NULL, &t), -EINVAL);
        ck_assert_int_eq(topology_build(&conf, none, NULL, NULL), -EINVAL);
        ck_assert_ptr_null(t);
        ck_assert_ptr_null(topology_free(NULL));
        ck_assert_ptr_null(topology_find_mismatch(NULL, TOPOLOGY_MISMATCH_ERRANT, TOPOLOGY_NONE));

        /* A config without servers is refused by config_load(); the topology copes anyway. */
        conf.n_servers = 0;
        ck_assert_int_eq(topology_build(&conf, none, "db-a", &t), 0);
        ck_assert_uint_eq(t->n_servers, 0);
        ck_assert_int_eq(t->state, CLUSTER_STATE_NO_PRIMARY);
        ck_assert_ptr_nonnull(
                topology_find_mismatch(t, TOPOLOGY_MISMATCH_PRIMARY_NOT_CONFIGURED, TOPOLOGY_NONE));
        ck_assert_ptr_null(topology_free(t));
}
END_TEST

START_TEST(test_mismatch_details) {
        probe_spec p[3] = {
                PRIMARY(1, "0-1-100"),
                REPLICA_OF_A(2, "0-2-101"),
                REPLICA(3, "0-1-100", .rows = {{.host = "2001:db8::9", .port = 3307}}),
        };
        _cleanup_(inputs_done) inputs in = {};
        _cleanup_(topology_freep) topology *t = build(&in, p, "db-a");
        const topology_mismatch *m;

        m = topology_find_mismatch(t, TOPOLOGY_MISMATCH_ERRANT, 1);
        ck_assert_ptr_nonnull(m);
        ck_assert_str_eq(m->text, "db-b has transactions the primary db-a lacks: 0-2-101");
        ck_assert_uint_eq(m->n_servers, 2);
        ck_assert_uint_eq(m->servers[1], 0);
        ck_assert_ptr_null(topology_find_mismatch(t, TOPOLOGY_MISMATCH_ERRANT, 2));
        ck_assert_ptr_eq(topology_find_mismatch(t, TOPOLOGY_MISMATCH_ERRANT, TOPOLOGY_NONE), m);

        m = topology_find_mismatch(t, TOPOLOGY_MISMATCH_FOLLOWS_UNKNOWN, 2);
        ck_assert_ptr_nonnull(m);
        ck_assert_str_eq(
                m->text, "db-c replicates from [2001:db8::9]:3307, which is not a configured server");
        ck_assert_uint_eq(t->servers[2].follows, TOPOLOGY_NONE);
        ck_assert_uint_eq(t->servers[2].replication, 0);
}
END_TEST

static Suite *topology_suite(void) {
        Suite *s = suite_create("topology");
        TCase *tc = tcase_create("core");

        tcase_add_loop_test(tc, test_topology_cases, 0, ELEMENTSOF(topo_cases));
        tcase_add_loop_test(tc, test_gtid_cases, 0, ELEMENTSOF(gtid_cases));
        tcase_add_loop_test(tc, test_lag, 0, ELEMENTSOF(lag_cases));
        tcase_add_loop_test(tc, test_address, 0, ELEMENTSOF(addr_cases));
        tcase_add_loop_test(tc, test_overlay, 0, ELEMENTSOF(overlay_cases));
        tcase_add_test(tc, test_strings);
        tcase_add_test(tc, test_api_edges);
        tcase_add_test(tc, test_mismatch_details);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        SRunner *sr = srunner_create(topology_suite());
        int failed;

        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
