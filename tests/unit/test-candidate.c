/* Unit tests for lib/core/candidate.c: each table row is a failed primary db-a, what every server looked
 * like at the primary's last good probe and after it died, --force and --to, and the verdicts and ranking
 * that must come out. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "candidate.h"
#include "macro.h"

/* ---- building inputs by hand ---- */

enum { S_DEFAULT, S_NEVER, S_OK, S_DOWN, S_NOVARS, S_NOROWS };

typedef struct st_spec {
        int state;
        uint32_t sid;
        const char *current, *binlog; /* binlog NULL: current */
        bool no_log_bin, no_lsu;
        const char *to; /* the connection's Master_Host (port 3306); NULL: none */
        uint32_t master_id;
        const char *io; /* NULL: "Yes" */
        bool sql_stopped;
        uint32_t sql_errno;
        bool sbm_null;
        uint64_t sbm;
        const char *io_pos; /* Gtid_IO_Pos; NULL: empty */
} st_spec;

typedef struct srv_spec {
        const char *name, *zone;
        int priority;
        bool not_promotable;
} srv_spec;

#define N 4
#define A "10.0.0.1"

/* db-a is the failed primary; db-c is not promotable; db-b and db-d tie on priority, db-d shares db-a's
 * zone. */
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
        s->read_only = p->to != NULL;
        s->server_id = p->sid;
        s->gtid_current_pos = parse(p->current);
        s->gtid_binlog_pos = parse(p->binlog ?: p->current);
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
                        .gtid_io_pos = parse(p->io_pos),
                        .seconds_behind_master_known = !p->sbm_null,
                        .seconds_behind_master = p->sbm,
                        .last_io_error = strdup(""),
                        .last_sql_errno = p->sql_errno,
                        .last_sql_error = strdup(p->sql_errno ? "Duplicate entry '1'\nfor key" : ""),
                };
        }
        return s;
}

typedef struct cand_case {
        const char *what;
        srv_spec servers[N];     /* servers[0].name NULL: default_servers */
        const char *primary_pos; /* db-a's position at its last good probe; NULL: "0-1-100" */
        bool no_primary_probe;   /* db-a never answered */
        st_spec latest[N];       /* latest[0] S_DEFAULT: down */
        st_spec good[N];         /* S_DEFAULT: db-a up at primary_pos, the others as latest */
        bool forced;
        const char *target;
        int ret;
        const char *reasons;       /* verdict codes in config order */
        const char *ranking;       /* eligible names, best first */
        const char *most_advanced; /* NULL: do not check */
        const char *missing;       /* NULL: "" */
        const char *b_text;        /* a part of db-b's verdict text; NULL: not checked */
} cand_case;

typedef struct inputs {
        cluster_conf conf;
        server_conf servers[N];
        server_status *latest[N], *good[N];
        topology *t;
} inputs;

static void inputs_done(inputs *in) {
        for (size_t i = 0; i < N; i++) {
                server_status_free(in->latest[i]);
                server_status_free(in->good[i]);
        }
        topology_free(in->t);
}

static void build_inputs(inputs *in, const cand_case *c) {
        const srv_spec *sv = c->servers[0].name ? c->servers : default_servers;

        for (size_t i = 0; i < N; i++) {
                st_spec l = c->latest[i], g = c->good[i];

                in->servers[i] = (server_conf){.name = (char *) sv[i].name,
                        .host = (char *) hosts[i],
                        .family = AF_INET,
                        .port = 3306,
                        .zone = (char *) sv[i].zone,
                        .priority = sv[i].priority,
                        .promotable = !sv[i].not_promotable};
                if (i == 0 && l.state == S_DEFAULT)
                        l = (st_spec){.state = S_DOWN, .sid = 1};
                if (g.state == S_DEFAULT)
                        g = i == 0 ? (c->no_primary_probe ? (st_spec){.state = S_NEVER}
                                                          : (st_spec){.state = S_OK,
                                                                    .sid = 1,
                                                                    .current = c->primary_pos ?: "0-1-100"})
                                   : l;
                ck_assert_int_ne(l.state, S_DEFAULT);
                in->latest[i] = make_status(&l);
                in->good[i] = make_status(&g);
        }
        in->conf = (cluster_conf){.name = (char *) "main",
                .quorum = 2,
                .n_servers = N,
                .servers = in->servers,
                .failover = {
                        .automatic = true, .max_lag_ms = 10000, .cooldown_s = 3600, .timeout_ms = 30000}};
        ck_assert_int_eq(
                topology_build(&in->conf, (const server_status *const *) in->latest, "db-a", &in->t), 0);
}

static int select_for(inputs *in, const cand_case *c, candidate_selection **ret) {
        candidate_options o = {.forced = c->forced, .target = c->target};

        build_inputs(in, c);
        return candidate_select(&in->conf, (const server_status *const *) in->latest,
                (const server_status *const *) in->good, in->t, 0, &o, ret);
}

#define RPL(pos, host, id, ...)                                                                             \
        { .state = S_OK, .sid = 9, .current = (pos), .to = (host), .master_id = (id), __VA_ARGS__ }
#define REP(pos, ...) RPL(pos, A, 1, __VA_ARGS__)
#define DOWN                                                                                                \
        { .state = S_DOWN, .sid = 9, .current = "0-1-999", .to = A }
#define NEVER                                                                                               \
        { .state = S_NEVER }
#define SYNC REP("0-1-100")

static const cand_case cases[] = {
        /* ranking */
        {"in sync: priority ties, the primary's zone first", .latest = {{}, SYNC, SYNC, SYNC},
                .reasons = "FAILED_PRIMARY OK NOT_PROMOTABLE OK", .ranking = "db-d db-b",
                .most_advanced = "0-1-100"},
        {"most advanced beats priority and zone", .latest = {{}, REP("0-1-105"), SYNC, REP("0-1-103")},
                .reasons = "FAILED_PRIMARY OK NOT_PROMOTABLE OK", .ranking = "db-b db-d",
                .most_advanced = "0-1-105"},
        {"received but not applied counts (Gtid_IO_Pos)",
                .latest = {{}, REP("0-1-100", .io_pos = "0-1-106"), SYNC, REP("0-1-105")},
                .reasons = "FAILED_PRIMARY OK NOT_PROMOTABLE OK", .ranking = "db-b db-d",
                .most_advanced = "0-1-106", .missing = ""},
        {"applied beyond an empty Gtid_IO_Pos counts",
                .latest = {{}, REP("0-1-101", .io_pos = ""), SYNC, SYNC},
                .reasons = "FAILED_PRIMARY OK NOT_PROMOTABLE OK", .ranking = "db-b db-d",
                .most_advanced = "0-1-101"},
        {"higher priority breaks a tie",
                .servers = {{"db-a", "az-a", 100, false}, {"db-b", "az-b", 95, false},
                        {"db-c", "az-c", 0, true}, {"db-d", "az-a", 90, false}},
                .latest = {{}, SYNC, SYNC, SYNC}, .reasons = "FAILED_PRIMARY OK NOT_PROMOTABLE OK",
                .ranking = "db-b db-d"},
        {"config order breaks a full tie",
                .servers = {{"db-a", "az-a", 100, false}, {"db-b", "az-b", 90, false},
                        {"db-c", "az-c", 0, true}, {"db-d", "az-b", 90, false}},
                .latest = {{}, SYNC, SYNC, SYNC}, .reasons = "FAILED_PRIMARY OK NOT_PROMOTABLE OK",
                .ranking = "db-b db-d"},
        {"priority can be negative",
                .servers = {{"db-a", "az-a", 0, false}, {"db-b", "az-b", -5, false},
                        {"db-c", "az-c", 0, false}, {"db-d", "az-a", -10, false}},
                .latest = {{}, SYNC, SYNC, SYNC}, .reasons = "FAILED_PRIMARY OK OK OK",
                .ranking = "db-c db-b db-d"},
        {"multi-domain: comparable positions", .primary_pos = "0-1-100,1-1-50",
                .latest = {{}, REP("0-1-100,1-1-52"), SYNC, REP("0-1-100,1-1-50")},
                .reasons = "FAILED_PRIMARY OK NOT_PROMOTABLE OK", .ranking = "db-b db-d",
                .most_advanced = "0-1-100,1-1-52", .missing = ""},
        {"multi-domain: incomparable, fewest missing wins, the rest reported",
                .primary_pos = "0-1-100,1-1-50",
                .latest = {{}, REP("0-1-100,1-1-52"), SYNC, REP("0-1-101,1-1-50")},
                .reasons = "FAILED_PRIMARY OK NOT_PROMOTABLE OK", .ranking = "db-b db-d",
                .most_advanced = "0-1-101,1-1-52", .missing = "0-1-101 (on db-d)"},
        {"multi-domain: a domain only one replica received", .primary_pos = "0-1-100,1-1-50",
                .latest = {{}, REP("0-1-100,1-1-50"), SYNC, REP("0-1-100", .io_pos = "0-1-100,1-1-53")},
                .reasons = "FAILED_PRIMARY OK NOT_PROMOTABLE OK", .ranking = "db-d db-b",
                .most_advanced = "0-1-100,1-1-53", .missing = ""},
        {"multi-domain, one replica still behind an old failover (server_id changed in domain 0)",
                .primary_pos = "0-1-200,1-1-50",
                .latest = {{}, REP("0-1-203,1-1-50"), SYNC, REP("0-2-150,1-1-51")},
                .reasons = "FAILED_PRIMARY OK NOT_PROMOTABLE OK", .ranking = "db-b db-d",
                .most_advanced = "0-1-203,1-1-51", .missing = "1-1-51 (on db-d)"},
        {"excluded but most advanced: a non-promotable replica got more",
                .latest = {{}, REP("0-1-103"), REP("0-1-105"), REP("0-1-102")},
                .reasons = "FAILED_PRIMARY OK NOT_PROMOTABLE OK", .ranking = "db-b db-d",
                .most_advanced = "0-1-105", .missing = "0-1-104..105 (on db-c)"},
        {"excluded but most advanced: a lagging replica got more",
                .latest = {{}, REP("0-1-101"), SYNC, REP("0-1-104", .sbm = 60)},
                .reasons = "FAILED_PRIMARY OK NOT_PROMOTABLE LAGGING", .ranking = "db-b",
                .most_advanced = "0-1-104", .missing = "0-1-102..104 (on db-d)"},
        {"nothing eligible", .latest = {{}, DOWN, SYNC, DOWN},
                .reasons = "FAILED_PRIMARY UNREACHABLE NOT_PROMOTABLE UNREACHABLE", .ranking = ""},

        /* exclusions */
        {"unreachable: down", .latest = {{}, DOWN, SYNC, SYNC},
                .reasons = "FAILED_PRIMARY UNREACHABLE NOT_PROMOTABLE OK", .ranking = "db-d"},
        {"unreachable: never probed", .b_text = "never probed", .latest = {{}, NEVER, SYNC, SYNC},
                .reasons = "FAILED_PRIMARY UNREACHABLE NOT_PROMOTABLE OK", .ranking = "db-d"},
        {"unreachable: too many connections", .b_text = "answered, but its variables could not be read",
                .latest = {{}, {.state = S_NOVARS}, SYNC, SYNC},
                .reasons = "FAILED_PRIMARY UNREACHABLE NOT_PROMOTABLE OK", .ranking = "db-d"},
        {"unreachable: replication status unreadable",
                .b_text = "answered, but its replication status could not be read",
                .latest = {{}, {.state = S_NOROWS, .current = "0-1-100"}, SYNC, SYNC},
                .reasons = "FAILED_PRIMARY UNREACHABLE NOT_PROMOTABLE OK", .ranking = "db-d"},
        {"log_bin off", .b_text = "log_bin=OFF",
                .latest = {{}, REP("0-1-100", .no_log_bin = true), SYNC, SYNC},
                .reasons = "FAILED_PRIMARY NO_BINLOG NOT_PROMOTABLE OK", .ranking = "db-d"},
        {"log_slave_updates off", .latest = {{}, SYNC, SYNC, REP("0-1-100", .no_lsu = true)},
                .reasons = "FAILED_PRIMARY OK NOT_PROMOTABLE NO_BINLOG", .ranking = "db-b"},
        {"replicates from another replica", .latest = {{}, SYNC, SYNC, RPL("0-1-100", "10.0.0.2", 2)},
                .reasons = "FAILED_PRIMARY OK NOT_PROMOTABLE NOT_A_REPLICA", .ranking = "db-b"},
        {"replicates from nobody", .latest = {{}, SYNC, SYNC, {.state = S_OK, .current = "0-1-100"}},
                .reasons = "FAILED_PRIMARY OK NOT_PROMOTABLE NOT_A_REPLICA", .ranking = "db-b"},
        {"replicates from the primary by an alias, known by server_id",
                .latest = {{}, SYNC, SYNC, RPL("0-1-100", "primary.db.example.", 1)},
                .reasons = "FAILED_PRIMARY OK NOT_PROMOTABLE OK", .ranking = "db-d db-b"},
        {"an alias is no proof without the primary's server_id", .no_primary_probe = true,
                .latest = {{}, SYNC, SYNC, RPL("0-1-100", "primary.db.example.", 1)},
                .reasons = "FAILED_PRIMARY OK NOT_PROMOTABLE NOT_A_REPLICA", .ranking = "db-b"},
        {"broken before the primary died: IO thread stopped",
                .latest = {{}, REP("0-1-90", .io = "Connecting"), SYNC, SYNC},
                .good = {{}, REP("0-1-90", .io = "No", .sql_stopped = true), {}, {}},
                .reasons = "FAILED_PRIMARY REPLICATION_BROKEN NOT_PROMOTABLE OK", .ranking = "db-d"},
        {"broken before the primary died: IO thread Connecting while it was up",
                .b_text = "IO thread Connecting, SQL thread running",
                .latest = {{}, REP("0-1-90", .io = "Connecting"), SYNC, SYNC},
                .good = {{}, REP("0-1-90", .io = "Connecting"), {}, {}},
                .reasons = "FAILED_PRIMARY REPLICATION_BROKEN NOT_PROMOTABLE OK", .ranking = "db-d"},
        {"broken before the primary died: SQL error",
                .latest = {{}, REP("0-1-90", .sql_stopped = true, .sql_errno = 1062), SYNC, SYNC},
                .reasons = "FAILED_PRIMARY REPLICATION_BROKEN NOT_PROMOTABLE OK", .ranking = "db-d"},
        {"SQL thread stopped without error while the primary was up: lagging, not broken",
                .b_text = "(its SQL thread was stopped)",
                .latest = {{}, REP("0-1-100", .sql_stopped = true, .sbm_null = true), SYNC, SYNC},
                .good = {{}, REP("0-1-90", .sql_stopped = true, .sbm_null = true), {}, {}},
                .reasons = "FAILED_PRIMARY LAGGING NOT_PROMOTABLE OK", .ranking = "db-d"},
        {"SQL thread failed after the primary died",
                .b_text = "its SQL thread stopped with error 1062 after db-a failed",
                .latest = {{}, REP("0-1-100", .sql_stopped = true, .sql_errno = 1062), SYNC, SYNC},
                .good = {{}, SYNC, {}, {}}, .reasons = "FAILED_PRIMARY REPLICATION_BROKEN NOT_PROMOTABLE OK",
                .ranking = "db-d"},
        {"IO thread Connecting after the primary died is fine",
                .latest = {{}, REP("0-1-100", .io = "Connecting", .sbm_null = true), SYNC,
                        REP("0-1-100", .io = "Connecting", .sbm_null = true)},
                .good = {{}, SYNC, {}, SYNC}, .reasons = "FAILED_PRIMARY OK NOT_PROMOTABLE OK",
                .ranking = "db-d db-b"},
        {"SQL thread stopped without error after the primary died is fine",
                .latest = {{}, REP("0-1-100", .sql_stopped = true), SYNC, SYNC}, .good = {{}, SYNC, {}, {}},
                .reasons = "FAILED_PRIMARY OK NOT_PROMOTABLE OK", .ranking = "db-d db-b"},
        {"lagging at the last good probe", .latest = {{}, REP("0-1-100", .sbm = 11), SYNC, SYNC},
                .reasons = "FAILED_PRIMARY LAGGING NOT_PROMOTABLE OK", .ranking = "db-d"},
        {"lag exactly max_lag_ms is fine", .latest = {{}, REP("0-1-100", .sbm = 10), SYNC, SYNC},
                .reasons = "FAILED_PRIMARY OK NOT_PROMOTABLE OK", .ranking = "db-d db-b"},
        {"lag only after the primary died does not count",
                .latest = {{}, REP("0-1-100", .sbm = 500), SYNC, SYNC}, .good = {{}, SYNC, {}, {}},
                .reasons = "FAILED_PRIMARY OK NOT_PROMOTABLE OK", .ranking = "db-d db-b"},
        {"lag unknown: no probe of it while the primary was up", .b_text = "(no probe of it then)",
                .latest = {{}, SYNC, SYNC, SYNC}, .good = {{}, NEVER, {}, {}},
                .reasons = "FAILED_PRIMARY LAGGING NOT_PROMOTABLE OK", .ranking = "db-d"},
        {"lag unknown: Seconds_Behind_Master NULL", .b_text = "(Seconds_Behind_Master NULL)",
                .latest = {{}, SYNC, SYNC, SYNC}, .good = {{}, REP("0-1-100", .sbm_null = true), {}, {}},
                .reasons = "FAILED_PRIMARY LAGGING NOT_PROMOTABLE OK", .ranking = "db-d"},
        {"lag unknown: the replica was down then", .b_text = "(it did not answer then)",
                .latest = {{}, SYNC, SYNC, SYNC}, .good = {{}, DOWN, {}, {}},
                .reasons = "FAILED_PRIMARY LAGGING NOT_PROMOTABLE OK", .ranking = "db-d"},
        {"errant local write", .latest = {{}, REP("0-9-101"), SYNC, SYNC},
                .reasons = "FAILED_PRIMARY ERRANT_GTID NOT_PROMOTABLE OK", .ranking = "db-d",
                .most_advanced = "0-1-100"},
        {"errant write in another domain", .b_text = "has transactions db-a lacked: 7-9-1..3",
                .latest = {{}, REP("0-1-100,7-9-3"), SYNC, SYNC},
                .reasons = "FAILED_PRIMARY ERRANT_GTID NOT_PROMOTABLE OK", .ranking = "db-d",
                .most_advanced = "0-1-100"},
        {"the primary's own later writes are not errant", .latest = {{}, REP("0-1-104"), SYNC, SYNC},
                .reasons = "FAILED_PRIMARY OK NOT_PROMOTABLE OK", .ranking = "db-b db-d", .missing = ""},
        {"a former primary's writes the failed one lacked are errant", .primary_pos = "0-2-100",
                .latest = {{}, REP("0-5-101"), REP("0-2-100"), REP("0-2-100")},
                .reasons = "FAILED_PRIMARY ERRANT_GTID NOT_PROMOTABLE OK", .ranking = "db-d"},
        {"errant capped: its received stream beyond the errant write still counts",
                .latest = {{}, REP("0-9-101", .io_pos = "0-1-103"), SYNC, SYNC}, .forced = true,
                .reasons = "FAILED_PRIMARY OK NOT_PROMOTABLE OK", .ranking = "db-b db-d",
                .most_advanced = "0-1-103"},
        {"diverged from the most advanced (Gtid_IO_Pos from another server)",
                .latest = {{}, REP("0-1-100", .io_pos = "0-1-105"), SYNC,
                        REP("0-1-100", .io_pos = "0-4-105")},
                .reasons = "FAILED_PRIMARY OK NOT_PROMOTABLE DIVERGED", .ranking = "db-b",
                .most_advanced = "0-1-105"},
        {"diverged without a good probe of the primary: config order picks the reference",
                .no_primary_probe = true, .latest = {{}, REP("0-1-105"), SYNC, REP("0-3-105")},
                .reasons = "FAILED_PRIMARY OK NOT_PROMOTABLE DIVERGED", .ranking = "db-b",
                .most_advanced = "0-1-105"},
        {"several failures: the first is the reason",
                .latest = {{}, SYNC, SYNC, REP("0-9-101", .no_lsu = true, .sbm = 30)},
                .reasons = "FAILED_PRIMARY OK NOT_PROMOTABLE NO_BINLOG", .ranking = "db-b"},

        /* --force */
        {"forced: errant allowed", .latest = {{}, REP("0-9-101"), SYNC, DOWN}, .forced = true,
                .reasons = "FAILED_PRIMARY OK NOT_PROMOTABLE UNREACHABLE", .ranking = "db-b", .missing = ""},
        {"forced: lagging allowed", .latest = {{}, REP("0-1-100", .sbm = 60), SYNC, SYNC}, .forced = true,
                .reasons = "FAILED_PRIMARY OK NOT_PROMOTABLE OK", .ranking = "db-d db-b"},
        {"forced: errant and lagging at once", .latest = {{}, REP("0-9-101", .sbm = 60), SYNC, DOWN},
                .forced = true, .reasons = "FAILED_PRIMARY OK NOT_PROMOTABLE UNREACHABLE",
                .ranking = "db-b"},
        {"forced: not promotable never", .latest = {{}, DOWN, SYNC, DOWN}, .forced = true,
                .reasons = "FAILED_PRIMARY UNREACHABLE NOT_PROMOTABLE UNREACHABLE", .ranking = ""},
        {"forced: broken replication never",
                .latest = {{}, REP("0-1-90", .sql_stopped = true, .sql_errno = 1062), SYNC, DOWN},
                .forced = true, .reasons = "FAILED_PRIMARY REPLICATION_BROKEN NOT_PROMOTABLE UNREACHABLE",
                .ranking = ""},

        /* --to */
        {"--to a valid target", .b_text = "rank 1", .latest = {{}, SYNC, SYNC, SYNC}, .target = "db-b",
                .reasons = "FAILED_PRIMARY OK NOT_TARGET NOT_TARGET", .ranking = "db-b", .missing = ""},
        {"--to a target behind another server", .latest = {{}, REP("0-1-105"), SYNC, SYNC}, .target = "db-d",
                .reasons = "FAILED_PRIMARY NOT_TARGET NOT_TARGET OK", .ranking = "db-d",
                .missing = "0-1-101..105 (on db-b)"},
        {"--to a non-promotable server", .latest = {{}, SYNC, SYNC, SYNC}, .target = "db-c", .forced = true,
                .reasons = "FAILED_PRIMARY NOT_TARGET NOT_PROMOTABLE NOT_TARGET", .ranking = ""},
        {"--to a lagging server", .latest = {{}, REP("0-1-100", .sbm = 60), SYNC, SYNC}, .target = "db-b",
                .reasons = "FAILED_PRIMARY LAGGING NOT_TARGET NOT_TARGET", .ranking = ""},
        {"--to a lagging server, forced", .latest = {{}, REP("0-1-100", .sbm = 60), SYNC, SYNC},
                .target = "db-b", .forced = true, .reasons = "FAILED_PRIMARY OK NOT_TARGET NOT_TARGET",
                .ranking = "db-b"},
        {"--to an unreachable server", .b_text = "not reachable (no-answer)",
                .latest = {{}, DOWN, SYNC, SYNC}, .target = "db-b",
                .reasons = "FAILED_PRIMARY UNREACHABLE NOT_TARGET NOT_TARGET", .ranking = ""},
        {"--to the failed primary", .latest = {{}, SYNC, SYNC, SYNC}, .target = "db-a",
                .reasons = "FAILED_PRIMARY NOT_TARGET NOT_TARGET NOT_TARGET", .ranking = ""},
        {"--to an unknown server", .latest = {{}, SYNC, SYNC, SYNC}, .target = "db-x", .ret = -ENOENT},
};

static char *join_reasons(const candidate_selection *s) {
        char *text = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&text, &size);

        for (size_t i = 0; i < s->n_servers; i++)
                fprintf(f, "%s%s", i ? " " : "", candidate_reason_to_string(s->verdicts[i].reason));
        fclose(f);
        return text;
}

static char *join_ranking(const candidate_selection *s, const cluster_conf *conf) {
        char *text = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&text, &size);

        for (size_t k = 0; k < s->n_candidates; k++)
                fprintf(f, "%s%s", k ? " " : "", conf->servers[s->candidates[k]].name);
        fclose(f);
        return text;
}

START_TEST(test_cases) {
        const cand_case *c = &cases[_i];
        _cleanup_(inputs_done) inputs in = {};
        _cleanup_(candidate_selection_freep) candidate_selection *s = NULL;
        _cleanup_free_ char *reasons = NULL, *ranking = NULL, *missing = NULL, *most = NULL;
        int r = select_for(&in, c, &s);

        ck_assert_msg(r == c->ret, "%s: returned %d", c->what, r);
        if (r < 0) {
                ck_assert_ptr_null(s);
                return;
        }
        reasons = join_reasons(s);
        ranking = join_ranking(s, &in.conf);
        ck_assert_msg(streq(reasons, c->reasons), "%s: reasons \"%s\"", c->what, reasons);
        ck_assert_msg(streq(ranking, c->ranking), "%s: ranking \"%s\"", c->what, ranking);
        ck_assert_int_eq(candidate_selection_format_missing(s, &in.conf, &missing), 0);
        if (c->missing)
                ck_assert_msg(streq(missing, c->missing), "%s: missing \"%s\"", c->what, missing);
        ck_assert(s->candidate_behind == (missing[0] != 0));
        if (c->b_text)
                ck_assert_msg(strstr(s->verdicts[1].text, c->b_text), "%s: text \"%s\"", c->what,
                        s->verdicts[1].text);
        ck_assert_int_eq(gtid_list_format(&s->most_advanced, &most), 0);
        if (c->most_advanced)
                ck_assert_msg(streq(most, c->most_advanced), "%s: most advanced \"%s\"", c->what, most);

        /* invariants: a verdict per server, one line each; ranks consistent; eligible iff nothing blocks */
        ck_assert_uint_eq(s->n_servers, N);
        for (size_t i = 0; i < N; i++) {
                const candidate_verdict *v = &s->verdicts[i];

                ck_assert_msg(v->text && v->text[0] && !strchr(v->text, '\n'), "%s: %zu text", c->what, i);
                ck_assert(v->eligible == (v->reason == CANDIDATE_OK));
                ck_assert(v->eligible == ((v->failed & ~v->overridden) == 0));
                ck_assert((v->failed & ~v->checked) == 0);
                ck_assert((v->overridden & ~v->failed) == 0);
                ck_assert(c->forced || v->overridden == 0);
                ck_assert((v->overridden & ~CANDIDATE_FORCIBLE) == 0);
                ck_assert(v->eligible == (v->rank > 0));
                if (v->rank)
                        ck_assert_uint_eq(s->candidates[v->rank - 1], i);
                if (v->eligible && v->overridden)
                        ck_assert_ptr_nonnull(strstr(v->text, "overridden by --force"));
        }
        ck_assert_uint_eq(s->verdicts[0].failed, CANDIDATE_BIT(CANDIDATE_FAILED_PRIMARY));
        ck_assert_uint_eq(candidate_selection_best(s), s->n_candidates ? s->candidates[0] : TOPOLOGY_NONE);
}
END_TEST

/* ---- texts, masks, JSON and the listing ---- */

static candidate_selection *select_case(inputs *in, const cand_case *c) {
        candidate_selection *s = NULL;

        ck_assert_int_eq(select_for(in, c, &s), 0);
        return s;
}

START_TEST(test_texts) {
        static const cand_case c = {"texts", .latest = {{}, REP("0-1-100", .sbm = 11), REP("0-9-101"), DOWN},
                .good = {{}, {}, REP("0-9-101", .io = "Connecting", .sql_stopped = true, .sql_errno = 1062),
                        {}}};
        _cleanup_(inputs_done) inputs in = {};
        _cleanup_(candidate_selection_freep) candidate_selection *s = select_case(&in, &c);

        ck_assert_str_eq(s->verdicts[0].text, "the failed primary");
        ck_assert_str_eq(s->verdicts[1].text,
                "lagged 11000 ms behind db-a at its last good probe (failover.max_lag_ms 10000)");
        ck_assert_str_eq(s->verdicts[2].text,
                "promotable = false in the configuration; replication from db-a was broken at its last good "
                "probe: "
                "IO thread Connecting, SQL thread stopped, SQL error 1062: Duplicate entry '1' for key; has "
                "transactions db-a lacked: 0-9-101");
        ck_assert_str_eq(s->verdicts[3].text, "not reachable (no-answer)");
        ck_assert_str_eq(s->verdicts[1].text,
                "lagged 11000 ms behind db-a at its last good probe (failover.max_lag_ms 10000)");
        ck_assert_uint_eq(s->verdicts[1].lag_ms, 11000);
        ck_assert(s->verdicts[1].lag_known);
        ck_assert(!s->verdicts[3].position_known);
        /* an unreachable server: what needs its probe was not checked */
        ck_assert_uint_eq(s->verdicts[3].checked, CANDIDATE_BIT(CANDIDATE_FAILED_PRIMARY) |
                                                          CANDIDATE_BIT(CANDIDATE_NOT_PROMOTABLE) |
                                                          CANDIDATE_BIT(CANDIDATE_UNREACHABLE));
        ck_assert_uint_eq(s->verdicts[2].failed, CANDIDATE_BIT(CANDIDATE_NOT_PROMOTABLE) |
                                                         CANDIDATE_BIT(CANDIDATE_REPLICATION_BROKEN) |
                                                         CANDIDATE_BIT(CANDIDATE_ERRANT_GTID));
        ck_assert_uint_eq(s->n_candidates, 0);
}
END_TEST

START_TEST(test_eligible_text) {
        static const cand_case c = {
                "eligible", .latest = {{}, REP("0-9-101"), SYNC, REP("0-1-102")}, .forced = true};
        _cleanup_(inputs_done) inputs in = {};
        _cleanup_(candidate_selection_freep) candidate_selection *s = select_case(&in, &c);

        ck_assert_str_eq(s->verdicts[3].text,
                "rank 1: received 0-1-102, 0 transactions behind the most advanced, "
                "priority 90, same zone as db-a");
        ck_assert_str_eq(s->verdicts[1].text,
                "rank 2: received 0-9-101, 2 transactions behind the most advanced, priority 90, not in the "
                "zone of "
                "db-a; has transactions db-a lacked: 0-9-101 (overridden by --force)");
        ck_assert_uint_eq(s->verdicts[1].overridden, CANDIDATE_BIT(CANDIDATE_ERRANT_GTID));
        ck_assert_uint_eq(s->verdicts[1].behind_transactions, 2);
        ck_assert_uint_eq(s->verdicts[1].errant.n, 1);
        ck_assert(!s->candidate_behind);
        ck_assert_uint_eq(s->most_advanced_server, 3);
}
END_TEST

START_TEST(test_json_and_listing) {
        static const cand_case c = {
                "json", .latest = {{}, REP("0-1-103", .sbm = 20), REP("0-1-105"), REP("0-1-102")}};
        _cleanup_(inputs_done) inputs in = {};
        _cleanup_(candidate_selection_freep) candidate_selection *s = select_case(&in, &c);
        _cleanup_free_ char *listing = NULL;
        json_object *j = NULL, *servers, *b;
        const char *text;

        ck_assert_int_eq(candidate_selection_to_json(s, &in.conf, &j), 0);
        text = json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN);
        ck_assert_ptr_nonnull(strstr(text, "\"old_primary\":\"db-a\",\"target\":null,\"forced\":false,"
                                           "\"candidate\":\"db-d\",\"most_advanced\":\"0-1-105\","
                                           "\"most_advanced_server\":\"db-c\",\"candidate_behind\":true,"
                                           "\"missing\":\"0-1-103..105 (on db-c)\""));
        ck_assert(json_object_object_get_ex(j, "servers", &servers));
        ck_assert_uint_eq(json_object_array_length(servers), N);
        b = json_object_array_get_idx(servers, 1);
        ck_assert_str_eq(
                json_object_to_json_string_ext(json_object_object_get(b, "failed"), JSON_C_TO_STRING_PLAIN),
                "[\"LAGGING\"]");
        ck_assert_str_eq(
                json_object_to_json_string_ext(json_object_object_get(b, "passed"), JSON_C_TO_STRING_PLAIN),
                "[\"FAILED_PRIMARY\",\"NOT_PROMOTABLE\",\"UNREACHABLE\",\"NO_BINLOG\",\"NOT_A_REPLICA\","
                "\"REPLICATION_BROKEN\",\"ERRANT_GTID\",\"DIVERGED\"]");
        ck_assert_str_eq(json_object_to_json_string_ext(
                                 json_object_object_get(b, "not_checked"), JSON_C_TO_STRING_PLAIN),
                "[\"NOT_TARGET\"]");
        ck_assert_int_eq(json_object_get_int(json_object_object_get(b, "lag_ms")), 20000);
        ck_assert(json_object_object_get(b, "rank") == NULL);
        ck_assert_str_eq(json_object_get_string(json_object_object_get(b, "errant")), "");
        ck_assert(json_object_object_get(json_object_array_get_idx(servers, 0), "received") == NULL);

        ck_assert_int_eq(candidate_selection_format(j, &listing), 0);
        ck_assert_str_eq(listing,
                "candidates to replace db-a: most advanced position 0-1-105 (db-c)\n"
                "#1 db-d (az-a, priority 90): eligible: rank 1: received 0-1-102, 3 transactions behind the "
                "most "
                "advanced, priority 90, same zone as db-a\n"
                "   checks: promotable ok, reachable ok, binlog ok, replica ok, replication ok, errant ok, "
                "lag ok, "
                "diverged ok\n"
                "-  db-a (az-a, priority 100): FAILED_PRIMARY: the failed primary\n"
                "   checks: old-primary FAILED, promotable -, reachable -, binlog -, replica -, replication "
                "-, errant "
                "-, lag -, diverged -\n"
                "-  db-b (az-b, priority 90): LAGGING: lagged 20000 ms behind db-a at its last good probe "
                "(failover.max_lag_ms 10000)\n"
                "   checks: promotable ok, reachable ok, binlog ok, replica ok, replication ok, errant ok, "
                "lag FAILED, "
                "diverged ok\n"
                "-  db-c (az-c, priority 0): NOT_PROMOTABLE: promotable = false in the configuration\n"
                "   checks: promotable FAILED, reachable ok, binlog ok, replica ok, replication ok, errant "
                "ok, lag ok, "
                "diverged ok\n"
                "CANDIDATE_BEHIND: db-d lacks 0-1-103..105 (on db-c)\n");
        json_object_put(j);
}
END_TEST

START_TEST(test_listing_tolerant) {
        json_object *j = json_tokener_parse("{\"servers\":[{},{\"rank\":1,\"name\":\"x\",\"reason\":\"OK\","
                                            "\"overridden\":[\"LAGGING\"]}]}");
        _cleanup_free_ char *text = NULL;

        ck_assert_int_eq(candidate_selection_format(j, &text), 0);
        ck_assert_str_eq(text,
                "candidates to replace ?: most advanced position unknown\n"
                "#1 x (-, priority 0): eligible: \n"
                "   checks: promotable -, reachable -, binlog -, replica -, replication -, errant -, "
                "lag overridden, diverged -\n"
                "-  ? (-, priority 0): ?: \n"
                "   checks: promotable -, reachable -, binlog -, replica -, replication -, errant -, "
                "lag -, diverged -\n"
                "no eligible candidate\n");
        json_object_put(j);
        ck_assert_int_eq(candidate_selection_format(NULL, &text), -EINVAL);
}
END_TEST

START_TEST(test_strings_and_edges) {
        inputs in = {};
        candidate_selection *s = (candidate_selection *) 1;

        for (int r = 0; r < _CANDIDATE_REASON_MAX; r++) {
                ck_assert_ptr_nonnull(candidate_reason_to_string(r));
                ck_assert_ptr_nonnull(candidate_reason_label(r));
                ck_assert_int_eq(candidate_reason_from_string(candidate_reason_to_string(r)), r);
        }
        ck_assert_ptr_null(candidate_reason_to_string(_CANDIDATE_REASON_MAX));
        ck_assert_ptr_null(candidate_reason_to_string(-1));
        ck_assert_ptr_null(candidate_reason_label(_CANDIDATE_REASON_MAX));
        ck_assert_int_eq(candidate_reason_from_string("lagging"), _CANDIDATE_REASON_INVALID);
        ck_assert_int_eq(candidate_reason_from_string(NULL), _CANDIDATE_REASON_INVALID);
        ck_assert_str_eq(candidate_reason_to_string(CANDIDATE_REPLICATION_BROKEN), "REPLICATION_BROKEN");

        build_inputs(&in, &(cand_case){.latest = {{}, SYNC, SYNC, SYNC}});
        ck_assert_int_eq(candidate_select(NULL, (const server_status *const *) in.latest,
                                 (const server_status *const *) in.good, in.t, 0, NULL, &s),
                -EINVAL);
        ck_assert_int_eq(candidate_select(&in.conf, (const server_status *const *) in.latest,
                                 (const server_status *const *) in.good, in.t, N, NULL, &s),
                -EINVAL);
        ck_assert_ptr_eq(s, (candidate_selection *) 1); /* untouched on failure */
        /* without a topology and options: still works */
        ck_assert_int_eq(candidate_select(&in.conf, (const server_status *const *) in.latest,
                                 (const server_status *const *) in.good, NULL, 0, NULL, &s),
                0);
        ck_assert_uint_eq(s->n_candidates, 2);
        ck_assert_uint_eq(s->target, TOPOLOGY_NONE);
        candidate_selection_free(s);
        ck_assert_ptr_null(candidate_selection_free(NULL));
        ck_assert_uint_eq(candidate_selection_best(NULL), TOPOLOGY_NONE);
        inputs_done(&in);
}
END_TEST

static Suite *candidate_suite(void) {
        Suite *s = suite_create("candidate");
        TCase *tc = tcase_create("core");

        tcase_add_loop_test(tc, test_cases, 0, ELEMENTSOF(cases));
        tcase_add_test(tc, test_texts);
        tcase_add_test(tc, test_eligible_text);
        tcase_add_test(tc, test_json_and_listing);
        tcase_add_test(tc, test_listing_tolerant);
        tcase_add_test(tc, test_strings_and_edges);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        SRunner *sr = srunner_create(candidate_suite());
        int failed;

        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
