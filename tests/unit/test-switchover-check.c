/* Unit tests for lib/core/switchover-check.c: each table row is what every server said at its latest probe
 * (db-a is the known primary), --to, and the verdicts, ranking and refusal that must come out. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "macro.h"
#include "switchover-check.h"

/* ---- building inputs by hand ---- */

enum { S_DEFAULT, S_NEVER, S_OK, S_DOWN, S_NOVARS, S_NOROWS };

typedef struct st_spec {
        int state;
        uint32_t sid;
        const char *current;
        bool ro; /* read_only ON (a server with a connection is read-only anyway) */
        bool no_log_bin, no_lsu;
        const char *to;     /* the connection's Master_Host (port 3306); NULL: none */
        uint32_t master_id; /* its Master_Server_Id; 0: not known */
        const char *io;     /* NULL: "Yes" */
        bool sql_stopped;
        uint32_t sql_errno, io_errno;
        bool sbm_null;
        uint64_t sbm;
} st_spec;

typedef struct srv_spec {
        const char *name, *zone;
        int priority;
        bool not_promotable;
} srv_spec;

#define N 4
#define A "10.0.0.1"

/* db-a is the primary; db-c is not promotable; db-b and db-d tie on priority, db-d shares db-a's zone. */
static const srv_spec default_servers[N] = {
        {"db-a", "az-a", 100, false},
        {"db-b", "az-b", 90, false},
        {"db-c", "az-c", 0, true},
        {"db-d", "az-a", 90, false},
};

static const char *const hosts[N] = {"10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.4"};

static gtid_list parse(const char *s) {
        gtid_list l = GTID_LIST_EMPTY;

        ck_assert_msg(gtid_list_parse(s ?: "", &l) == 0, "bad test GTID \"%s\"", s);
        return l;
}

static server_status *make_status(const st_spec *p) {
        server_status *s;

        if (p->state == S_NEVER)
                return NULL;
        s = calloc(1, sizeof(*s));
        ck_assert_ptr_nonnull(s);
        s->error_class = p->state == S_DOWN     ? PROBE_NO_ANSWER
                         : p->state == S_NOVARS ? PROBE_SERVER_ERROR
                                                : PROBE_OK;
        s->reachable = probe_error_class_is_alive(s->error_class);
        s->have_variables = p->state != S_NOVARS;
        s->have_replication = p->state == S_OK || p->state == S_DOWN;
        s->read_only = p->ro || p->to;
        s->server_id = p->sid;
        s->gtid_current_pos = parse(p->current);
        s->gtid_binlog_pos = parse(p->current);
        s->log_bin = !p->no_log_bin;
        s->log_slave_updates = !p->no_lsu;
        if (p->to) {
                s->replication = calloc(1, sizeof(server_replication));
                ck_assert_ptr_nonnull(s->replication);
                s->n_replication = 1;
                s->replication[0] = (server_replication){
                        .connection_name = strdup(""),
                        .master_host = strdup(p->to),
                        .master_port = 3306,
                        .master_server_id = p->master_id,
                        .io_running = replica_io_state_from_string(p->io ?: "Yes"),
                        .sql_running = !p->sql_stopped,
                        .using_gtid = REPLICA_USING_GTID_SLAVE_POS,
                        .gtid_io_pos = parse(p->current),
                        .seconds_behind_master_known = !p->sbm_null,
                        .seconds_behind_master = p->sbm,
                        .last_io_errno = p->io_errno,
                        .last_io_error = strdup(p->io_errno ? "error connecting\nto master" : ""),
                        .last_sql_errno = p->sql_errno,
                        .last_sql_error = strdup(p->sql_errno ? "Duplicate entry '1'\nfor key" : ""),
                };
        }
        return s;
}

typedef struct sw_case {
        const char *what;
        srv_spec servers[N]; /* servers[0].name NULL: default_servers */
        st_spec latest[N];   /* latest[0] S_DEFAULT: the primary, up and writable at 0-1-100 */
        bool no_known;       /* no known primary (else "db-a") */
        const char *target;
        const char *reason;    /* the check's reason code */
        const char *candidate; /* NULL: none */
        const char *reasons;   /* verdict codes in config order */
        const char *ranking;   /* eligible names, best first */
        const char *text;      /* a part of the check's text; NULL: not checked */
        const char *b_text;    /* a part of db-b's verdict text; NULL: not checked */
} sw_case;

typedef struct inputs {
        cluster_conf conf;
        server_conf servers[N];
        server_status *latest[N];
        topology *t;
} inputs;

static void inputs_done(inputs *in) {
        for (size_t i = 0; i < N; i++)
                server_status_free(in->latest[i]);
        topology_free(in->t);
}

static void build_inputs(inputs *in, const sw_case *c) {
        const srv_spec *sv = c->servers[0].name ? c->servers : default_servers;

        for (size_t i = 0; i < N; i++) {
                st_spec l = c->latest[i];

                in->servers[i] = (server_conf){.name = (char *) sv[i].name,
                        .host = (char *) hosts[i],
                        .family = AF_INET,
                        .port = 3306,
                        .zone = (char *) sv[i].zone,
                        .priority = sv[i].priority,
                        .promotable = !sv[i].not_promotable};
                if (i == 0 && l.state == S_DEFAULT)
                        l = (st_spec){.state = S_OK, .sid = 1, .current = "0-1-100"};
                ck_assert_int_ne(l.state, S_DEFAULT);
                in->latest[i] = make_status(&l);
        }
        in->conf = (cluster_conf){.name = (char *) "main",
                .quorum = 2,
                .n_servers = N,
                .servers = in->servers,
                .failover = {
                        .automatic = true, .max_lag_ms = 10000, .cooldown_s = 3600, .timeout_ms = 30000}};
        ck_assert_int_eq(topology_build(&in->conf, (const server_status *const *) in->latest,
                                 c->no_known ? NULL : "db-a", &in->t),
                0);
}

static switchover_check *check_case(inputs *in, const sw_case *c) {
        switchover_check *s = NULL;

        build_inputs(in, c);
        ck_assert_int_eq(switchover_check_run(
                                 &in->conf, (const server_status *const *) in->latest, in->t, c->target, &s),
                0);
        return s;
}

#define RPL(pos, host, ...)                                                                                 \
        { .state = S_OK, .sid = 9, .current = (pos), .to = (host), __VA_ARGS__ }
#define REP(pos, ...) RPL(pos, A, __VA_ARGS__)
#define DOWN                                                                                                \
        { .state = S_DOWN, .sid = 9, .current = "0-1-100", .to = A }
#define NEVER                                                                                               \
        { .state = S_NEVER }
#define SYNC REP("0-1-100")
#define ALL_SYNC                                                                                            \
        { {}, SYNC, SYNC, SYNC }

static const sw_case cases[] = {
        /* ranking */
        {"in sync: priority ties, the primary's zone first", .latest = ALL_SYNC, .reason = "OK",
                .candidate = "db-d", .reasons = "CURRENT_PRIMARY OK NOT_PROMOTABLE OK",
                .ranking = "db-d db-b",
                .text = "db-a -> db-d (rank 1: priority 90, same zone as db-a, lag 0 ms, 0 transactions "
                        "behind"},
        {"priority beats zone and transactions behind",
                .servers = {{"db-a", "az-a", 100, false}, {"db-b", "az-b", 95, false},
                        {"db-c", "az-c", 0, true}, {"db-d", "az-a", 90, false}},
                .latest = {{}, REP("0-1-95"), SYNC, SYNC}, .reason = "OK", .candidate = "db-b",
                .reasons = "CURRENT_PRIMARY OK NOT_PROMOTABLE OK", .ranking = "db-b db-d",
                .b_text = "rank 1: priority 95, not in the zone of db-a, lag 0 ms, 5 transactions behind"},
        {"zone beats transactions behind", .latest = {{}, SYNC, SYNC, REP("0-1-97")}, .reason = "OK",
                .candidate = "db-d", .reasons = "CURRENT_PRIMARY OK NOT_PROMOTABLE OK",
                .ranking = "db-d db-b"},
        {"fewer transactions behind breaks a tie",
                .servers = {{"db-a", "az-a", 100, false}, {"db-b", "az-b", 90, false},
                        {"db-c", "az-c", 0, true}, {"db-d", "az-b", 90, false}},
                .latest = {{}, REP("0-1-97"), SYNC, SYNC}, .reason = "OK", .candidate = "db-d",
                .reasons = "CURRENT_PRIMARY OK NOT_PROMOTABLE OK", .ranking = "db-d db-b"},
        {"config order breaks a full tie",
                .servers = {{"db-a", "az-a", 100, false}, {"db-b", "az-b", 90, false},
                        {"db-c", "az-c", 0, true}, {"db-d", "az-b", 90, false}},
                .latest = ALL_SYNC, .reason = "OK", .candidate = "db-b",
                .reasons = "CURRENT_PRIMARY OK NOT_PROMOTABLE OK", .ranking = "db-b db-d"},
        {"priority can be negative",
                .servers = {{"db-a", "az-a", 0, false}, {"db-b", "az-b", -5, false},
                        {"db-c", "az-c", 0, false}, {"db-d", "az-a", -10, false}},
                .latest = ALL_SYNC, .reason = "OK", .candidate = "db-c",
                .reasons = "CURRENT_PRIMARY OK OK OK", .ranking = "db-c db-b db-d"},
        {"no zones: nobody is in the primary's zone",
                .servers = {{"db-a", NULL, 0, false}, {"db-b", NULL, 0, false}, {"db-c", NULL, 0, true},
                        {"db-d", NULL, 0, false}},
                .latest = {{}, REP("0-1-99"), SYNC, SYNC}, .reason = "OK", .candidate = "db-d",
                .reasons = "CURRENT_PRIMARY OK NOT_PROMOTABLE OK", .ranking = "db-d db-b"},

        /* each check failing alone (db-b) */
        {"not promotable",
                .servers = {{"db-a", "az-a", 100, false}, {"db-b", "az-b", 90, true},
                        {"db-c", "az-c", 0, false}, {"db-d", "az-a", 90, false}},
                .latest = ALL_SYNC, .reason = "OK", .candidate = "db-d",
                .reasons = "CURRENT_PRIMARY NOT_PROMOTABLE OK OK", .ranking = "db-d db-c",
                .b_text = "promotable = false in the configuration"},
        {"unreachable: down", .latest = {{}, DOWN, SYNC, SYNC}, .reason = "OK", .candidate = "db-d",
                .reasons = "CURRENT_PRIMARY UNREACHABLE NOT_PROMOTABLE OK", .ranking = "db-d",
                .b_text = "not reachable (no-answer)"},
        {"unreachable: never probed", .latest = {{}, NEVER, SYNC, SYNC}, .reason = "OK", .candidate = "db-d",
                .reasons = "CURRENT_PRIMARY UNREACHABLE NOT_PROMOTABLE OK", .ranking = "db-d",
                .b_text = "never probed"},
        {"unreachable: variables unreadable", .latest = {{}, {.state = S_NOVARS}, SYNC, SYNC},
                .reason = "OK", .candidate = "db-d",
                .reasons = "CURRENT_PRIMARY UNREACHABLE NOT_PROMOTABLE OK", .ranking = "db-d",
                .b_text = "answered, but its variables could not be read"},
        {"unreachable: replication status unreadable",
                .latest = {{}, {.state = S_NOROWS, .current = "0-1-100", .ro = true}, SYNC, SYNC},
                .reason = "OK", .candidate = "db-d",
                .reasons = "CURRENT_PRIMARY UNREACHABLE NOT_PROMOTABLE OK", .ranking = "db-d",
                .b_text = "answered, but its replication status could not be read"},
        {"log_bin off", .latest = {{}, REP("0-1-100", .no_log_bin = true), SYNC, SYNC}, .reason = "OK",
                .candidate = "db-d", .reasons = "CURRENT_PRIMARY NO_BINLOG NOT_PROMOTABLE OK",
                .ranking = "db-d", .b_text = "log_bin=OFF"},
        {"log_slave_updates off", .latest = {{}, REP("0-1-100", .no_lsu = true), SYNC, SYNC}, .reason = "OK",
                .candidate = "db-d", .reasons = "CURRENT_PRIMARY NO_BINLOG NOT_PROMOTABLE OK",
                .ranking = "db-d", .b_text = "log_slave_updates=OFF"},
        {"replicates from another replica", .latest = {{}, RPL("0-1-100", "10.0.0.4"), SYNC, SYNC},
                .reason = "OK", .candidate = "db-d",
                .reasons = "CURRENT_PRIMARY NOT_A_REPLICA NOT_PROMOTABLE OK", .ranking = "db-d",
                .b_text = "does not replicate from the primary db-a (it replicates from db-d)"},
        {"replicates from an unknown server", .latest = {{}, RPL("0-1-100", "10.9.9.9"), SYNC, SYNC},
                .reason = "OK", .candidate = "db-d",
                .reasons = "CURRENT_PRIMARY NOT_A_REPLICA NOT_PROMOTABLE OK", .ranking = "db-d",
                .b_text = "(it replicates from no configured server)"},
        {"replicates from the primary at an alias, known by its server_id",
                .latest = {{}, RPL("0-1-100", "primary.db.example.", .master_id = 1), SYNC, SYNC},
                .reason = "OK", .candidate = "db-d", .reasons = "CURRENT_PRIMARY OK NOT_PROMOTABLE OK",
                .ranking = "db-d db-b"},
        {"replicates from nobody",
                .latest = {{}, {.state = S_OK, .current = "0-1-100", .ro = true}, SYNC, SYNC},
                .reason = "OK", .candidate = "db-d",
                .reasons = "CURRENT_PRIMARY NOT_A_REPLICA NOT_PROMOTABLE OK", .ranking = "db-d",
                .b_text = "(it replicates from nobody)"},
        {"broken: IO thread No", .latest = {{}, REP("0-1-100", .io = "No"), SYNC, SYNC}, .reason = "OK",
                .candidate = "db-d", .reasons = "CURRENT_PRIMARY REPLICATION_BROKEN NOT_PROMOTABLE OK",
                .ranking = "db-d",
                .b_text = "replication from db-a is broken: IO thread No, SQL thread running"},
        {"broken: IO thread Connecting", .latest = {{}, REP("0-1-100", .io = "Connecting"), SYNC, SYNC},
                .reason = "OK", .candidate = "db-d",
                .reasons = "CURRENT_PRIMARY REPLICATION_BROKEN NOT_PROMOTABLE OK", .ranking = "db-d"},
        {"broken: SQL thread stopped", .latest = {{}, REP("0-1-100", .sql_stopped = true), SYNC, SYNC},
                .reason = "OK", .candidate = "db-d",
                .reasons = "CURRENT_PRIMARY REPLICATION_BROKEN NOT_PROMOTABLE OK", .ranking = "db-d",
                .b_text = "SQL thread stopped"},
        {"broken: a Last_SQL_Errno with both threads running",
                .latest = {{}, REP("0-1-100", .sql_errno = 1062), SYNC, SYNC}, .reason = "OK",
                .candidate = "db-d", .reasons = "CURRENT_PRIMARY REPLICATION_BROKEN NOT_PROMOTABLE OK",
                .ranking = "db-d", .b_text = "SQL error 1062: Duplicate entry '1' for key"},
        {"broken: a Last_IO_Errno with both threads running",
                .latest = {{}, REP("0-1-100", .io_errno = 2003), SYNC, SYNC}, .reason = "OK",
                .candidate = "db-d", .reasons = "CURRENT_PRIMARY REPLICATION_BROKEN NOT_PROMOTABLE OK",
                .ranking = "db-d", .b_text = "IO error 2003: error connecting to master"},
        {"errant local write", .latest = {{}, REP("0-9-101"), SYNC, SYNC}, .reason = "OK",
                .candidate = "db-d", .reasons = "CURRENT_PRIMARY ERRANT_GTID NOT_PROMOTABLE OK",
                .ranking = "db-d", .b_text = "has transactions the primary db-a lacks: 0-9-101"},
        {"errant write in another domain", .latest = {{}, REP("0-1-100,7-9-3"), SYNC, SYNC}, .reason = "OK",
                .candidate = "db-d", .reasons = "CURRENT_PRIMARY ERRANT_GTID NOT_PROMOTABLE OK",
                .ranking = "db-d", .b_text = "lacks: 7-9-1..3"},
        {"one second, Seconds_Behind_Master's resolution, is caught up",
                .latest = {{}, REP("0-1-100", .sbm = 1), SYNC, SYNC}, .reason = "OK", .candidate = "db-d",
                .reasons = "CURRENT_PRIMARY OK NOT_PROMOTABLE OK", .ranking = "db-d db-b"},
        {"lagging two seconds", .latest = {{}, REP("0-1-100", .sbm = 2), SYNC, SYNC}, .reason = "OK",
                .candidate = "db-d", .reasons = "CURRENT_PRIMARY LAGGING NOT_PROMOTABLE OK",
                .ranking = "db-d", .b_text = "lags 2000 ms behind db-a (a switchover needs at most 1 s)"},
        {"lag unknown", .latest = {{}, REP("0-1-100", .sbm_null = true), SYNC, SYNC}, .reason = "OK",
                .candidate = "db-d", .reasons = "CURRENT_PRIMARY LAGGING NOT_PROMOTABLE OK",
                .ranking = "db-d", .b_text = "lag unknown (Seconds_Behind_Master NULL)"},
        {"lag 0 with transactions behind is fine", .latest = {{}, REP("0-1-90"), SYNC, DOWN}, .reason = "OK",
                .candidate = "db-b", .reasons = "CURRENT_PRIMARY OK NOT_PROMOTABLE UNREACHABLE",
                .ranking = "db-b", .b_text = "10 transactions behind"},
        {"several failures: the first is the reason, all are told",
                .latest = {{}, REP("0-9-101", .no_lsu = true, .sbm = 30), SYNC, SYNC}, .reason = "OK",
                .candidate = "db-d", .reasons = "CURRENT_PRIMARY NO_BINLOG NOT_PROMOTABLE OK",
                .ranking = "db-d",
                .b_text = "log_slave_updates=OFF; has transactions the primary db-a lacks: 0-9-101; lags "
                          "30000 ms"},

        /* --to */
        {"--to a valid target below the best", .latest = ALL_SYNC, .target = "db-b", .reason = "OK",
                .candidate = "db-b", .reasons = "CURRENT_PRIMARY OK NOT_TARGET NOT_TARGET",
                .ranking = "db-b", .text = "db-a -> db-b (rank 1"},
        {"--to a lagging server", .latest = {{}, REP("0-1-100", .sbm = 3), SYNC, SYNC}, .target = "db-b",
                .reason = "LAGGING", .reasons = "CURRENT_PRIMARY LAGGING NOT_TARGET NOT_TARGET",
                .ranking = "", .text = "--to db-b: lags 3000 ms behind db-a"},
        {"--to a non-promotable server", .latest = ALL_SYNC, .target = "db-c", .reason = "NOT_PROMOTABLE",
                .reasons = "CURRENT_PRIMARY NOT_TARGET NOT_PROMOTABLE NOT_TARGET", .ranking = "",
                .text = "--to db-c: promotable = false in the configuration"},
        {"--to an unreachable server", .latest = {{}, DOWN, SYNC, SYNC}, .target = "db-b",
                .reason = "UNREACHABLE", .reasons = "CURRENT_PRIMARY UNREACHABLE NOT_TARGET NOT_TARGET",
                .ranking = "", .text = "--to db-b: not reachable (no-answer)"},
        {"--to an unknown server", .latest = ALL_SYNC, .target = "db-x", .reason = "UNKNOWN_TARGET",
                .reasons = "CURRENT_PRIMARY NOT_TARGET NOT_TARGET NOT_TARGET", .ranking = "",
                .text = "--to db-x names no server of main"},
        {"--to the primary", .latest = ALL_SYNC, .target = "db-a", .reason = "TARGET_IS_PRIMARY",
                .reasons = "CURRENT_PRIMARY NOT_TARGET NOT_TARGET NOT_TARGET", .ranking = "",
                .text = "--to db-a names the current primary"},
        {"an unknown target goes before no primary", .no_known = true, .target = "db-x",
                .latest = {{.state = S_OK, .sid = 1, .current = "0-1-100", .ro = true}, SYNC, SYNC, SYNC},
                .reason = "UNKNOWN_TARGET", .reasons = "NOT_TARGET NOT_TARGET NOT_TARGET NOT_TARGET",
                .ranking = ""},

        /* the cluster */
        {"no primary", .no_known = true,
                .latest = {{.state = S_OK, .sid = 1, .current = "0-1-100", .ro = true}, SYNC, SYNC, SYNC},
                .reason = "NO_PRIMARY",
                .reasons = "NOT_A_REPLICA NOT_A_REPLICA NOT_PROMOTABLE NOT_A_REPLICA", .ranking = "",
                .text = "main has no primary", .b_text = "there is no primary to replicate from"},
        {"primary down", .latest = {{.state = S_DOWN, .sid = 1}, SYNC, SYNC, SYNC}, .reason = "PRIMARY_DOWN",
                .reasons = "CURRENT_PRIMARY ERRANT_GTID NOT_PROMOTABLE ERRANT_GTID", .ranking = "",
                .text = "the primary db-a is down (no-answer)",
                .b_text = "errant transactions unknown (no GTID position of the primary)"},
        {"primary never probed", .latest = {NEVER, SYNC, SYNC, SYNC}, .reason = "PRIMARY_DOWN",
                .reasons = "CURRENT_PRIMARY ERRANT_GTID NOT_PROMOTABLE ERRANT_GTID", .ranking = "",
                .text = "the primary db-a is never probed"},
        {"primary's variables unreadable", .latest = {{.state = S_NOVARS}, SYNC, SYNC, SYNC},
                .reason = "PRIMARY_UNKNOWN",
                .reasons = "CURRENT_PRIMARY ERRANT_GTID NOT_PROMOTABLE ERRANT_GTID", .ranking = "",
                .text = "the primary db-a answered, but its variables could not be read"},
        {"primary read-only",
                .latest = {{.state = S_OK, .sid = 1, .current = "0-1-100", .ro = true}, SYNC, SYNC, SYNC},
                .reason = "PRIMARY_READ_ONLY", .reasons = "CURRENT_PRIMARY OK NOT_PROMOTABLE OK",
                .ranking = "db-d db-b", .text = "the primary db-a is read-only"},
        {"the primary goes before --to", .target = "db-b",
                .latest = {{.state = S_OK, .sid = 1, .current = "0-1-100", .ro = true}, SYNC, SYNC, SYNC},
                .reason = "PRIMARY_READ_ONLY", .reasons = "CURRENT_PRIMARY OK NOT_TARGET NOT_TARGET",
                .ranking = "db-b"},
        {"no candidate", .latest = {{}, DOWN, SYNC, REP("0-1-100", .sbm = 5)}, .reason = "NO_CANDIDATE",
                .reasons = "CURRENT_PRIMARY UNREACHABLE NOT_PROMOTABLE LAGGING", .ranking = "",
                .text = "no server can be promoted: db-b UNREACHABLE, db-c NOT_PROMOTABLE, db-d LAGGING"},
};

static char *join_reasons(const switchover_check *s) {
        char *text = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&text, &size);

        for (size_t i = 0; i < s->n_servers; i++)
                fprintf(f, "%s%s", i ? " " : "", switchover_reason_to_string(s->verdicts[i].reason));
        fclose(f);
        return text;
}

static char *join_ranking(const switchover_check *s, const cluster_conf *conf) {
        char *text = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&text, &size);

        for (size_t k = 0; k < s->n_candidates; k++)
                fprintf(f, "%s%s", k ? " " : "", conf->servers[s->candidates[k]].name);
        fclose(f);
        return text;
}

START_TEST(test_cases) {
        const sw_case *c = &cases[_i];
        _cleanup_(inputs_done) inputs in = {};
        _cleanup_(switchover_check_freep) switchover_check *s = check_case(&in, c);
        _cleanup_free_ char *reasons = join_reasons(s), *ranking = join_ranking(s, &in.conf);
        const char *cand = s->candidate != TOPOLOGY_NONE ? in.conf.servers[s->candidate].name : NULL;

        ck_assert_msg(streq(switchover_reason_to_string(s->reason), c->reason), "%s: reason %s (%s)",
                c->what, switchover_reason_to_string(s->reason), s->text);
        ck_assert_msg(streq_ptr(cand, c->candidate), "%s: candidate %s", c->what, cand ?: "(none)");
        ck_assert_msg(streq(reasons, c->reasons), "%s: reasons \"%s\"", c->what, reasons);
        ck_assert_msg(streq(ranking, c->ranking), "%s: ranking \"%s\"", c->what, ranking);
        ck_assert_msg(s->text && !strchr(s->text, '\n'), "%s: text", c->what);
        if (c->text)
                ck_assert_msg(strstr(s->text, c->text), "%s: text \"%s\"", c->what, s->text);
        if (c->b_text)
                ck_assert_msg(strstr(s->verdicts[1].text, c->b_text), "%s: db-b's text \"%s\"", c->what,
                        s->verdicts[1].text);

        /* invariants */
        ck_assert(s->ok == (s->reason == SWITCHOVER_REASON_OK));
        ck_assert(s->ok == (s->candidate != TOPOLOGY_NONE));
        ck_assert_uint_eq(s->n_servers, N);
        for (size_t i = 0; i < N; i++) {
                const switchover_verdict *v = &s->verdicts[i];

                ck_assert_msg(v->text && v->text[0] && !strchr(v->text, '\n'), "%s: %zu text", c->what, i);
                ck_assert(v->eligible == (v->reason == SWITCHOVER_REASON_OK));
                ck_assert(v->eligible == (v->failed == 0));
                ck_assert((v->failed & ~v->checked) == 0);
                ck_assert(v->eligible == (v->rank > 0));
                if (v->rank)
                        ck_assert_uint_eq(s->candidates[v->rank - 1], i);
                /* eligible: every check that applies was made */
                if (v->eligible)
                        ck_assert_uint_eq(v->checked | SWITCHOVER_BIT(SWITCHOVER_REASON_NOT_TARGET),
                                SWITCHOVER_BIT(SWITCHOVER_REASON_NOT_TARGET) |
                                        SWITCHOVER_BIT(SWITCHOVER_REASON_NOT_PROMOTABLE) |
                                        SWITCHOVER_BIT(SWITCHOVER_REASON_UNREACHABLE) |
                                        SWITCHOVER_BIT(SWITCHOVER_REASON_NO_BINLOG) |
                                        SWITCHOVER_BIT(SWITCHOVER_REASON_NOT_A_REPLICA) |
                                        SWITCHOVER_BIT(SWITCHOVER_REASON_REPLICATION_BROKEN) |
                                        SWITCHOVER_BIT(SWITCHOVER_REASON_ERRANT_GTID) |
                                        SWITCHOVER_BIT(SWITCHOVER_REASON_LAGGING));
                if (v->eligible)
                        ck_assert(v->lag_known && v->lag_ms <= 1000 && v->behind_known && v->errant_known &&
                                  v->errant.n == 0);
        }
        if (s->primary != TOPOLOGY_NONE)
                ck_assert_uint_eq(
                        s->verdicts[s->primary].failed, SWITCHOVER_BIT(SWITCHOVER_REASON_CURRENT_PRIMARY));
        if (s->ok && s->target != TOPOLOGY_NONE)
                ck_assert_uint_eq(s->candidate, s->target);
}
END_TEST

/* ---- texts, masks, JSON and the listing ---- */

START_TEST(test_texts_and_masks) {
        static const sw_case c = {"texts", .latest = {{},
                                                   REP("0-9-101", .io = "Connecting", .sql_stopped = true,
                                                           .sql_errno = 1062, .sbm_null = true),
                                                   REP("0-1-98"), DOWN}};
        _cleanup_(inputs_done) inputs in = {};
        _cleanup_(switchover_check_freep) switchover_check *s = check_case(&in, &c);

        ck_assert_str_eq(s->verdicts[0].text, "the current primary");
        ck_assert_str_eq(s->verdicts[1].text,
                "replication from db-a is broken: IO thread Connecting, SQL thread stopped, SQL error 1062: "
                "Duplicate entry '1' for key; has transactions the primary db-a lacks: 0-9-101; lag unknown "
                "(Seconds_Behind_Master NULL)");
        ck_assert_str_eq(s->verdicts[2].text, "promotable = false in the configuration");
        ck_assert_str_eq(s->verdicts[3].text, "not reachable (no-answer)");
        ck_assert_str_eq(s->text, "no server can be promoted: db-b REPLICATION_BROKEN, db-c NOT_PROMOTABLE, "
                                  "db-d UNREACHABLE");
        /* an unreachable server: what needs its probe was not checked */
        ck_assert_uint_eq(s->verdicts[3].checked, SWITCHOVER_BIT(SWITCHOVER_REASON_NOT_PROMOTABLE) |
                                                          SWITCHOVER_BIT(SWITCHOVER_REASON_UNREACHABLE));
        ck_assert_uint_eq(s->verdicts[1].failed, SWITCHOVER_BIT(SWITCHOVER_REASON_REPLICATION_BROKEN) |
                                                         SWITCHOVER_BIT(SWITCHOVER_REASON_ERRANT_GTID) |
                                                         SWITCHOVER_BIT(SWITCHOVER_REASON_LAGGING));
        ck_assert(!s->verdicts[1].lag_known);
        ck_assert_uint_eq(s->verdicts[1].errant.n, 1);
        /* db-c fails only the config check; the rest is evaluated for display */
        ck_assert_uint_eq(s->verdicts[2].failed, SWITCHOVER_BIT(SWITCHOVER_REASON_NOT_PROMOTABLE));
        ck_assert(s->verdicts[2].behind_known && s->verdicts[2].lag_known);
        ck_assert_uint_eq(s->verdicts[2].behind_transactions, 2);
        ck_assert(!s->verdicts[3].behind_known && !s->verdicts[3].errant_known);
        ck_assert(!s->ok);
        ck_assert_uint_eq(s->candidate, TOPOLOGY_NONE);
        ck_assert_uint_eq(s->n_candidates, 0);

        /* a replica without readable replication rows: binlog and errant still checked */
        static const sw_case c2 = {"norows", .latest = {{},
                                                     {.state = S_NOROWS,
                                                             .sid = 9,
                                                             .current = "0-1-100,7-9-5",
                                                             .ro = true,
                                                             .no_log_bin = true},
                                                     SYNC, SYNC}};
        _cleanup_(inputs_done) inputs in2 = {};
        _cleanup_(switchover_check_freep) switchover_check *s2 = check_case(&in2, &c2);

        ck_assert_uint_eq(s2->verdicts[1].failed, SWITCHOVER_BIT(SWITCHOVER_REASON_UNREACHABLE) |
                                                          SWITCHOVER_BIT(SWITCHOVER_REASON_NO_BINLOG) |
                                                          SWITCHOVER_BIT(SWITCHOVER_REASON_ERRANT_GTID));
        ck_assert_uint_eq(s2->verdicts[1].checked,
                s2->verdicts[1].failed | SWITCHOVER_BIT(SWITCHOVER_REASON_NOT_PROMOTABLE));
}
END_TEST

START_TEST(test_json_and_listing) {
        static const sw_case c = {
                "json", .latest = {{}, REP("0-1-97", .sbm = 2), REP("0-9-101"), REP("0-1-99")}};
        _cleanup_(inputs_done) inputs in = {};
        _cleanup_(switchover_check_freep) switchover_check *s = check_case(&in, &c);
        _cleanup_free_ char *listing = NULL;
        json_object *j = NULL, *servers, *b;
        const char *text;

        ck_assert_int_eq(switchover_check_to_json(s, &in.conf, &j), 0);
        text = json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN);
        ck_assert_msg(
                strstr(text, "{\"cluster\":\"main\",\"ok\":true,\"reason\":\"OK\",\"text\":\"db-a -> db-d "
                             "(rank 1: priority 90, same zone as db-a, lag 0 ms, 1 transactions behind "
                             "(caught up after fencing))\",\"primary\":\"db-a\",\"candidate\":\"db-d\","
                             "\"target\":null,\"servers\":["),
                "%s", text);
        ck_assert(json_object_object_get_ex(j, "servers", &servers));
        ck_assert_uint_eq(json_object_array_length(servers), N);
        b = json_object_array_get_idx(servers, 1);
        ck_assert_str_eq(json_object_to_json_string_ext(b, JSON_C_TO_STRING_PLAIN),
                "{\"name\":\"db-b\",\"zone\":\"az-b\",\"priority\":90,\"eligible\":false,\"rank\":null,"
                "\"reason\":\"LAGGING\",\"text\":\"lags 2000 ms behind db-a (a switchover needs at most 1 s)\","
                "\"passed\":[\"NOT_PROMOTABLE\",\"UNREACHABLE\",\"NO_BINLOG\",\"NOT_A_REPLICA\","
                "\"REPLICATION_BROKEN\",\"ERRANT_GTID\"],\"failed\":[\"LAGGING\"],"
                "\"not_checked\":[\"CURRENT_PRIMARY\",\"NOT_TARGET\"],\"lag_ms\":2000,"
                "\"behind_transactions\":3,\"errant\":\"\"}");
        ck_assert_str_eq(json_object_get_string(
                                 json_object_object_get(json_object_array_get_idx(servers, 2), "errant")),
                "0-9-101");
        ck_assert(json_object_object_get(json_object_array_get_idx(servers, 0), "lag_ms") == NULL);
        ck_assert_int_eq(
                json_object_get_int(json_object_object_get(json_object_array_get_idx(servers, 3), "rank")),
                1);

        ck_assert_int_eq(switchover_check_format(j, &listing), 0);
        ck_assert_str_eq(listing,
                "switchover of main: db-a -> db-d\n"
                "#1 db-d (az-a, priority 90): eligible: rank 1: priority 90, same zone as db-a, lag 0 ms, 1 "
                "transactions behind (caught up after fencing)\n"
                "   checks: promotable ok, reachable ok, binlog ok, replica ok, replication ok, errant ok, "
                "lag ok\n"
                "-  db-a (az-a, priority 100): CURRENT_PRIMARY: the current primary\n"
                "-  db-b (az-b, priority 90): LAGGING: lags 2000 ms behind db-a (a switchover needs at most 1 s)\n"
                "   checks: promotable ok, reachable ok, binlog ok, replica ok, replication ok, errant ok, "
                "lag "
                "FAILED\n"
                "-  db-c (az-c, priority 0): NOT_PROMOTABLE: promotable = false in the configuration; has "
                "transactions the primary db-a lacks: 0-9-101\n"
                "   checks: promotable FAILED, reachable ok, binlog ok, replica ok, replication ok, errant "
                "FAILED, "
                "lag ok\n");
        json_object_put(j);
}
END_TEST

START_TEST(test_refused_listing) {
        static const sw_case c = {"refused", .latest = {{}, DOWN, SYNC, SYNC}, .target = "db-b"};
        _cleanup_(inputs_done) inputs in = {};
        _cleanup_(switchover_check_freep) switchover_check *s = check_case(&in, &c);
        _cleanup_free_ char *listing = NULL;
        json_object *j = NULL;

        ck_assert_int_eq(switchover_check_to_json(s, &in.conf, &j), 0);
        ck_assert_str_eq(json_object_get_string(json_object_object_get(j, "target")), "db-b");
        ck_assert(json_object_object_get(j, "candidate") == NULL);
        ck_assert_int_eq(switchover_check_format(j, &listing), 0);
        ck_assert_msg(strstr(listing, "switchover of main refused: UNREACHABLE: --to db-b: not reachable "
                                      "(no-answer) (--to db-b)\n"),
                "%s", listing);
        ck_assert_msg(strstr(listing,
                              "-  db-b (az-b, priority 90): UNREACHABLE: not reachable (no-answer)\n"
                              "   checks: target ok, promotable ok, reachable FAILED, binlog -, replica -, "
                              "replication -, errant -, lag -\n"),
                "%s", listing);
        ck_assert_msg(strstr(listing, "-  db-d (az-a, priority 90): NOT_TARGET: not the --to target db-b\n"
                                      "   checks: target FAILED, promotable ok"),
                "%s", listing);
        json_object_put(j);
}
END_TEST

START_TEST(test_listing_tolerant) {
        json_object *j = json_tokener_parse("{\"servers\":[{},{\"rank\":1,\"name\":\"x\",\"reason\":\"OK\","
                                            "\"passed\":[\"LAGGING\"]}, 3]}");
        _cleanup_free_ char *text = NULL;

        ck_assert_int_eq(switchover_check_format(j, &text), 0);
        ck_assert_str_eq(text,
                "switchover of ? refused: ?: \n"
                "#1 x (-, priority 0): eligible: \n"
                "   checks: promotable -, reachable -, binlog -, replica -, replication -, errant -, "
                "lag ok\n"
                "-  ? (-, priority 0): ?: \n"
                "   checks: promotable -, reachable -, binlog -, replica -, replication -, errant -, "
                "lag -\n"
                "-  ? (-, priority 0): ?: \n"
                "   checks: promotable -, reachable -, binlog -, replica -, replication -, errant -, "
                "lag -\n");
        json_object_put(j);
        free(TAKE_PTR(text));

        j = json_tokener_parse("{\"ok\":true,\"cluster\":\"main\",\"servers\":7}");
        ck_assert_int_eq(switchover_check_format(j, &text), 0);
        ck_assert_str_eq(text, "switchover of main: ? -> ?\n");
        json_object_put(j);
        free(TAKE_PTR(text));

        j = json_object_new_array();
        ck_assert_int_eq(switchover_check_format(j, &text), -EINVAL);
        ck_assert_int_eq(switchover_check_format(NULL, &text), -EINVAL);
        json_object_put(j);
}
END_TEST

START_TEST(test_strings_and_edges) {
        inputs in = {};
        switchover_check *s = (switchover_check *) 1;
        json_object *j = NULL;
        topology *t;

        for (int r = 0; r < _SWITCHOVER_REASON_MAX; r++) {
                ck_assert_ptr_nonnull(switchover_reason_to_string(r));
                ck_assert_int_eq(switchover_reason_from_string(switchover_reason_to_string(r)), r);
        }
        ck_assert_ptr_null(switchover_reason_to_string(_SWITCHOVER_REASON_MAX));
        ck_assert_ptr_null(switchover_reason_to_string(-1));
        ck_assert_int_eq(switchover_reason_from_string("lagging"), _SWITCHOVER_REASON_INVALID);
        ck_assert_int_eq(switchover_reason_from_string(NULL), _SWITCHOVER_REASON_INVALID);
        ck_assert_str_eq(
                switchover_reason_to_string(SWITCHOVER_REASON_PRIMARY_READ_ONLY), "PRIMARY_READ_ONLY");

        build_inputs(&in, &(sw_case){.latest = ALL_SYNC});
        const server_status *const *latest = (const server_status *const *) in.latest;
        ck_assert_int_eq(switchover_check_run(NULL, latest, in.t, NULL, &s), -EINVAL);
        ck_assert_int_eq(switchover_check_run(&in.conf, NULL, in.t, NULL, &s), -EINVAL);
        ck_assert_int_eq(switchover_check_run(&in.conf, latest, NULL, NULL, &s), -EINVAL);
        ck_assert_int_eq(switchover_check_run(&in.conf, latest, in.t, NULL, NULL), -EINVAL);
        t = in.t;
        t->n_servers--;
        ck_assert_int_eq(switchover_check_run(&in.conf, latest, t, NULL, &s), -EINVAL);
        t->n_servers++;
        ck_assert_ptr_eq(s, (switchover_check *) 1); /* untouched on failure */

        ck_assert_int_eq(switchover_check_run(&in.conf, latest, in.t, NULL, &s), 0);
        ck_assert_uint_eq(s->primary, 0);
        ck_assert_uint_eq(s->target, TOPOLOGY_NONE);
        ck_assert_ptr_null(s->target_name);
        ck_assert_int_eq(switchover_check_to_json(NULL, &in.conf, &j), -EINVAL);
        ck_assert_int_eq(switchover_check_to_json(s, NULL, &j), -EINVAL);
        in.conf.n_servers--;
        ck_assert_int_eq(switchover_check_to_json(s, &in.conf, &j), -EINVAL);
        in.conf.n_servers++;
        ck_assert_ptr_null(j);
        ck_assert_ptr_null(switchover_check_free(s));
        ck_assert_ptr_null(switchover_check_free(NULL));
        inputs_done(&in);
}
END_TEST

static Suite *switchover_check_suite(void) {
        Suite *s = suite_create("switchover-check");
        TCase *tc = tcase_create("core");

        tcase_add_loop_test(tc, test_cases, 0, ELEMENTSOF(cases));
        tcase_add_test(tc, test_texts_and_masks);
        tcase_add_test(tc, test_json_and_listing);
        tcase_add_test(tc, test_refused_listing);
        tcase_add_test(tc, test_listing_tolerant);
        tcase_add_test(tc, test_strings_and_edges);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        SRunner *sr = srunner_create(switchover_check_suite());
        int failed;

        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
