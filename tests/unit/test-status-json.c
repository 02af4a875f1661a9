/* Unit tests for lib/core/status-json.c: the SPEC 4 document built from a sample cluster (exact text),
 * its fields one by one, and the human table rendered from JSON (exact text), also from damaged JSON. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "macro.h"
#include "peer-proto.h"
#include "status-json.h"

#define NOW_USEC (10 * USEC_PER_SEC)

static const server_conf sample_servers[] = {
        {.name = (char *) "db-a",
                .host = (char *) "10.0.1.20",
                .family = AF_INET,
                .port = 3306,
                .zone = (char *) "eu-west-2a",
                .priority = 100,
                .promotable = true},
        {.name = (char *) "db-b",
                .host = (char *) "10.0.2.20",
                .family = AF_INET,
                .port = 3306,
                .zone = (char *) "eu-west-2b",
                .priority = 90,
                .promotable = true},
        {.name = (char *) "db-c",
                .host = (char *) "10.0.3.20",
                .family = AF_INET,
                .port = 3306,
                .zone = (char *) "eu-west-2c",
                .promotable = false},
};

static const peer_conf sample_peers[] = {
        {.name = (char *) "az-b", .zone = (char *) "eu-west-2b"},
        {.name = (char *) "az-c", .zone = (char *) "eu-west-2c"},
};

/* Everything the daemon would hold for the sample: config, probes, trackers, topology. */
typedef struct sample {
        cluster_conf conf;
        server_status st[3];
        const server_status *stp[3];
        sdown_tracker sd[3];
        topology *t;
        status_server servers[3];
        status_cluster cluster;
        status_last_event ev;
        status_peer peers[2];
        uint64_t rejects[_PEER_REJECT_MAX];
        status_sentinel sentinel;
} sample;

static void sample_done(sample *s) {
        for (size_t i = 0; i < 3; i++)
                server_status_done(&s->st[i]);
        topology_free(s->t);
}

static void set_pos(gtid_list *l, const char *s) {
        ck_assert_int_eq(gtid_list_parse(s, l), 0);
}

static void sample_init(sample *s) {
        server_replication *row;

        *s = (sample){};
        s->conf = (cluster_conf){
                .name = (char *) "main",
                .quorum = 2,
                .n_servers = 3,
                .servers = (server_conf *) sample_servers,
                .failover = {.max_lag_ms = 10000},
        };

        /* db-a: the primary, semi-sync running */
        s->st[0] = (server_status){.seq = 12,
                .started_usec = NOW_USEC - 300000,
                .finished_usec = NOW_USEC - 100000,
                .latency_usec = 250,
                .reachable = true,
                .error_class = PROBE_OK,
                .have_variables = true,
                .server_id = 1,
                .log_bin = true,
                .log_slave_updates = true,
                .semi_sync_master_enabled = true,
                .have_semi_sync_status = true,
                .semi_sync_master_status = true,
                .semi_sync_master_clients = 1,
                .have_replication = true};
        s->st[0].version = strdup("11.4.2-MariaDB");
        set_pos(&s->st[0].gtid_current_pos, "0-1-1042");
        set_pos(&s->st[0].gtid_binlog_pos, "0-1-1042");

        /* db-b: a replica one second behind */
        s->st[1] = (server_status){.seq = 12,
                .started_usec = NOW_USEC - 300000,
                .finished_usec = NOW_USEC - 99000,
                .latency_usec = 1234,
                .reachable = true,
                .error_class = PROBE_OK,
                .have_variables = true,
                .read_only = true,
                .server_id = 2,
                .log_bin = true,
                .log_slave_updates = true,
                .semi_sync_slave_enabled = true,
                .have_replication = true,
                .n_replication = 1};
        s->st[1].version = strdup("11.4.2-MariaDB");
        set_pos(&s->st[1].gtid_current_pos, "0-1-1041");
        set_pos(&s->st[1].gtid_binlog_pos, "0-1-1041");
        set_pos(&s->st[1].gtid_slave_pos, "0-1-1041");
        s->st[1].replication = row = calloc(1, sizeof(*row));
        ck_assert_ptr_nonnull(row);
        *row = (server_replication){.connection_name = strdup(""),
                .master_host = strdup("10.0.1.20"),
                .master_port = 3306,
                .master_server_id = 1,
                .io_running = REPLICA_IO_YES,
                .sql_running = true,
                .using_gtid = REPLICA_USING_GTID_SLAVE_POS,
                .seconds_behind_master_known = true,
                .seconds_behind_master = 1,
                .last_io_error = strdup(""),
                .last_sql_error = strdup("")};
        set_pos(&row->gtid_io_pos, "0-1-1042");

        /* db-c: gone */
        s->st[2] = (server_status){
                .seq = 12, .started_usec = NOW_USEC - 1300000, .finished_usec = NOW_USEC - 300000};
        ck_assert_int_eq(
                server_status_set_error(&s->st[2], PROBE_NO_ANSWER, 0, "no answer within 1000 ms"), 0);

        for (size_t i = 0; i < 3; i++) {
                s->stp[i] = &s->st[i];
                sdown_init(&s->sd[i], 5 * USEC_PER_SEC, 2 * USEC_PER_SEC, 0);
                sdown_observe(&s->sd[i], USEC_PER_SEC, true);
        }
        for (uint64_t t = 2; t <= 9; t++)
                sdown_observe(&s->sd[2], t * USEC_PER_SEC, false);
        ck_assert(sdown_is_down(&s->sd[2]));

        ck_assert_int_eq(topology_build(&s->conf, s->stp, "db-a", &s->t), 0);
        for (size_t i = 0; i < 3; i++)
                status_server_init(&s->servers[i], &s->conf, i, s->stp[i], s->t, &s->sd[i], NOW_USEC);
        status_cluster_init(&s->cluster, &s->conf, s->t, s->servers);
        s->cluster.epoch = 7;
        s->cluster.leader = "az-b";
        s->ev = (status_last_event){
                .type = EVENT_FAILOVER_END, .epoch = 7, .at_realtime_usec = 1767225600123456};
        s->cluster.last_event = &s->ev;

        for (size_t i = 0; i < 2; i++)
                status_peer_init(&s->peers[i], &sample_peers[i]);
        s->peers[0].reachable = true;
        s->peers[0].last_seen_known = true;
        s->peers[0].last_seen_ms = 120;
        s->peers[0].epoch_known = true;
        s->peers[0].epoch = 7;
        s->rejects[PEER_REJECT_BAD_MAC] = 3;
        s->rejects[PEER_REJECT_REPLAYED] = 1;
        s->peers[1].rejected = s->rejects;
        s->sentinel = (status_sentinel){
                .name = "az-a", .zone = "eu-west-2a", .version = "0.1.0", .peers = s->peers, .n_peers = 2};
}

static const char *plain(json_object *o) {
        return json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
}

static json_object *path(json_object *o, const char *const *keys) {
        for (; *keys; keys++) {
                char *end;
                long idx = strtol(*keys, &end, 10);

                ck_assert_msg(o, "no object to look up \"%s\" in", *keys);
                if (*end == '\0') {
                        ck_assert_int_lt(idx, json_object_array_length(o));
                        o = json_object_array_get_idx(o, idx);
                } else
                        ck_assert_msg(json_object_object_get_ex(o, *keys, &o), "no key \"%s\"", *keys);
        }
        return o; /* NULL for a JSON null */
}

#define AT(o, ...) path((o), (const char *const[]){__VA_ARGS__, NULL})

/* ---- the sample: exact server JSON, then fields by path ---- */

START_TEST(test_sample_servers) {
        _cleanup_(sample_done) sample s;
        json_object *o = NULL;

        sample_init(&s);
        ck_assert_int_eq(status_json_server(&s.servers[0], &o), 0);
        ck_assert_str_eq(plain(o),
                "{\"name\":\"db-a\",\"host\":\"10.0.1.20\",\"port\":3306,\"zone\":\"eu-west-2a\",\"role\":"
                "\"primary\","
                "\"reachable\":true,\"read_only\":false,\"gtid_current_pos\":\"0-1-1042\",\"replicating_"
                "from\":null,"
                "\"lag_ms\":0,\"sdown\":false,\"promotable\":true,\"priority\":100,\"error\":null,"
                "\"error_number\":null,\"error_message\":null,\"probe_latency_ms\":0.250,\"last_probe_age_"
                "ms\":100,"
                "\"failing_for_ms\":null,\"server_id\":1,\"version\":\"11.4.2-MariaDB\","
                "\"gtid_binlog_pos\":\"0-1-1042\",\"gtid_slave_pos\":\"\",\"gtid_behind\":null,"
                "\"gtid_behind_transactions\":null,\"errant\":null,\"replicating_from_address\":null,"
                "\"replication\":null,\"broken\":false,\"lagging\":false,\"log_bin\":true,\"log_slave_"
                "updates\":true,"
                "\"semi_sync\":{\"master_enabled\":true,\"slave_enabled\":false,\"master_status\":true,"
                "\"master_clients\":1}}");
        json_object_put(o);

        ck_assert_int_eq(status_json_server(&s.servers[1], &o), 0);
        ck_assert_str_eq(json_object_get_string(AT(o, "role")), "replica");
        ck_assert_str_eq(json_object_get_string(AT(o, "replicating_from")), "db-a");
        ck_assert_str_eq(json_object_get_string(AT(o, "replicating_from_address")), "10.0.1.20:3306");
        ck_assert_int_eq(json_object_get_int64(AT(o, "lag_ms")), 1000);
        ck_assert_str_eq(json_object_get_string(AT(o, "probe_latency_ms")), "1.234");
        ck_assert(json_object_get_boolean(AT(o, "gtid_behind")));
        ck_assert_int_eq(json_object_get_int64(AT(o, "gtid_behind_transactions")), 1);
        ck_assert_str_eq(json_object_get_string(AT(o, "replication", "io_running")), "Yes");
        ck_assert_str_eq(json_object_get_string(AT(o, "replication", "using_gtid")), "Slave_Pos");
        ck_assert_str_eq(json_object_get_string(AT(o, "replication", "gtid_io_pos")), "0-1-1042");
        ck_assert_int_eq(json_object_get_int64(AT(o, "replication", "seconds_behind_master")), 1);
        ck_assert(json_object_is_type(AT(o, "semi_sync", "master_status"), json_type_null));
        ck_assert(json_object_is_type(AT(o, "errant"), json_type_null));
        json_object_put(o);

        ck_assert_int_eq(status_json_server(&s.servers[2], &o), 0);
        ck_assert_str_eq(plain(o),
                "{\"name\":\"db-c\",\"host\":\"10.0.3.20\",\"port\":3306,\"zone\":\"eu-west-2c\",\"role\":"
                "\"down\","
                "\"reachable\":false,\"read_only\":null,\"gtid_current_pos\":null,\"replicating_from\":null,"
                "\"lag_ms\":null,\"sdown\":true,\"promotable\":false,\"priority\":0,\"error\":\"no-answer\","
                "\"error_number\":null,\"error_message\":\"no answer within 1000 "
                "ms\",\"probe_latency_ms\":null,"
                "\"last_probe_age_ms\":300,\"failing_for_ms\":8000,\"server_id\":null,\"version\":null,"
                "\"gtid_binlog_pos\":null,\"gtid_slave_pos\":null,\"gtid_behind\":null,"
                "\"gtid_behind_transactions\":null,\"errant\":null,\"replicating_from_address\":null,"
                "\"replication\":null,\"broken\":false,\"lagging\":false,\"log_bin\":null,\"log_slave_"
                "updates\":null,"
                "\"semi_sync\":null}");
        json_object_put(o);
}
END_TEST

START_TEST(test_sample_document) {
        _cleanup_(sample_done) sample s;
        json_object *doc = NULL, *c;

        sample_init(&s);
        ck_assert_int_eq(status_json_build(&s.sentinel, &s.cluster, 1, &doc), 0);
        ck_assert_str_eq(plain(AT(doc, "sentinel")),
                "{\"name\":\"az-a\",\"zone\":\"eu-west-2a\",\"version\":\"0.1.0\",\"peers\":["
                "{\"name\":\"az-b\",\"zone\":\"eu-west-2b\",\"reachable\":true,\"last_seen_ms\":120,\"epoch\":7,"
                "\"rejected\":{}},"
                "{\"name\":\"az-c\",\"zone\":\"eu-west-2c\",\"reachable\":false,\"last_seen_ms\":null,\"epoch\":null,"
                "\"rejected\":{\"bad-mac\":3,\"replayed\":1}}]}");
        c = AT(doc, "clusters", "0");
        ck_assert_str_eq(json_object_get_string(AT(c, "name")), "main");
        ck_assert_str_eq(json_object_get_string(AT(c, "state")), "degraded");
        ck_assert_int_eq(json_object_get_int64(AT(c, "epoch")), 7);
        ck_assert_str_eq(json_object_get_string(AT(c, "leader")), "az-b");
        ck_assert_str_eq(json_object_get_string(AT(c, "primary")), "db-a");
        ck_assert(!json_object_get_boolean(AT(c, "maintenance")));
        ck_assert_uint_eq(json_object_array_length(AT(c, "servers")), 3);
        ck_assert_str_eq(json_object_get_string(AT(c, "servers", "2", "name")), "db-c");
        ck_assert_str_eq(plain(AT(c, "last_event")),
                "{\"type\":\"failover-end\",\"epoch\":7,\"at\":\"2026-01-01T00:00:00.123Z\"}");
        ck_assert_int_eq(json_object_get_int64(AT(c, "quorum")), 2);
        ck_assert_str_eq(plain(AT(c, "state_reasons")), "[\"replica-down\"]");
        ck_assert_str_eq(plain(AT(c, "mismatches")), "[]");
        ck_assert_int_eq(json_object_get_int64(AT(c, "replica_evidence")), 1);

        /* The SPEC 4 keys, in order, before any extra. */
        {
                static const char *const spec[] = {"name", "state", "epoch", "leader", "primary",
                        "maintenance", "servers", "last_event"};
                size_t k = 0;

                json_object_object_foreach(c, key, val) {
                        (void) val;
                        if (k < ELEMENTSOF(spec))
                                ck_assert_str_eq(key, spec[k]);
                        k++;
                }
                ck_assert_uint_eq(k, ELEMENTSOF(spec) + 4);
        }
        json_object_put(doc);
}
END_TEST

START_TEST(test_mismatches_and_nulls) {
        _cleanup_(sample_done) sample s;
        json_object *c = NULL;
        gtid g = {.domain_id = 0, .server_id = 2, .seq_no = 1043};

        sample_init(&s);
        /* db-b writes locally: errant, and the cluster lists it */
        ck_assert_int_eq(gtid_list_set(&s.st[1].gtid_current_pos, &g), 0);
        s.t = topology_free(s.t);
        ck_assert_int_eq(topology_build(&s.conf, s.stp, "db-a", &s.t), 0);
        for (size_t i = 0; i < 3; i++)
                status_server_init(&s.servers[i], &s.conf, i, s.stp[i], s.t, &s.sd[i], NOW_USEC);
        status_cluster_init(&s.cluster, &s.conf, s.t, s.servers);
        s.cluster.state =
                cluster_state_resolve(s.cluster.state, &(cluster_state_overlay){.maintenance = true});
        s.cluster.maintenance = true;

        ck_assert_int_eq(status_json_cluster(&s.cluster, &c), 0);
        ck_assert_str_eq(json_object_get_string(AT(c, "state")), "maintenance");
        ck_assert(json_object_get_boolean(AT(c, "maintenance")));
        ck_assert(json_object_is_type(AT(c, "leader"), json_type_null));
        ck_assert(json_object_is_type(AT(c, "last_event"), json_type_null));
        ck_assert_int_eq(json_object_get_int64(AT(c, "epoch")), 0);
        ck_assert_str_eq(plain(AT(c, "state_reasons")), "[\"replica-down\",\"errant\"]");
        ck_assert_str_eq(plain(AT(c, "mismatches")),
                "[{\"kind\":\"errant\",\"text\":\"db-b has transactions the primary db-a lacks: 0-2-1043\","
                "\"servers\":[\"db-b\",\"db-a\"]}]");
        ck_assert_str_eq(json_object_get_string(AT(c, "servers", "1", "errant")), "0-2-1043");
        ck_assert(!json_object_get_boolean(AT(c, "servers", "1", "gtid_behind")));
        json_object_put(c);
}
END_TEST

START_TEST(test_without_topology) {
        /* Before the first round: no topology, no probes, no trackers. */
        cluster_conf conf = {.name = (char *) "main",
                .quorum = 1,
                .n_servers = 3,
                .servers = (server_conf *) sample_servers};
        status_server servers[3];
        status_cluster c;
        json_object *o = NULL;

        for (size_t i = 0; i < 3; i++)
                status_server_init(&servers[i], &conf, i, NULL, NULL, NULL, NOW_USEC);
        status_cluster_init(&c, &conf, NULL, servers);
        ck_assert_int_eq(status_json_cluster(&c, &o), 0);
        ck_assert_str_eq(json_object_get_string(AT(o, "state")), "no-primary");
        ck_assert(json_object_is_type(AT(o, "primary"), json_type_null));
        ck_assert(json_object_is_type(AT(o, "replica_evidence"), json_type_null));
        ck_assert_str_eq(json_object_get_string(AT(o, "servers", "0", "role")), "unknown");
        ck_assert(!json_object_get_boolean(AT(o, "servers", "0", "reachable")));
        ck_assert(json_object_is_type(AT(o, "servers", "0", "error"), json_type_null));
        ck_assert(json_object_is_type(AT(o, "servers", "0", "last_probe_age_ms"), json_type_null));
        ck_assert(json_object_is_type(AT(o, "servers", "0", "lag_ms"), json_type_null));
        json_object_put(o);
}
END_TEST

START_TEST(test_api_edges) {
        status_sentinel sn = {.name = "x"};
        json_object *o = NULL;

        ck_assert_int_eq(status_json_server(NULL, &o), -EINVAL);
        ck_assert_int_eq(status_json_cluster(NULL, &o), -EINVAL);
        ck_assert_int_eq(status_json_cluster(&(status_cluster){.n_servers = 1}, &o), -EINVAL);
        ck_assert_int_eq(status_json_sentinel(NULL, &o), -EINVAL);
        ck_assert_int_eq(status_json_sentinel(&(status_sentinel){.n_peers = 1}, &o), -EINVAL);
        ck_assert_int_eq(status_json_build(&sn, NULL, 1, &o), -EINVAL);
        ck_assert_int_eq(status_json_build(NULL, NULL, 0, &o), -EINVAL);
        ck_assert_ptr_null(o);

        ck_assert_int_eq(status_json_build(&sn, NULL, 0, &o), 0);
        ck_assert_str_eq(plain(o), "{\"sentinel\":{\"name\":\"x\",\"zone\":null,\"version\":null,\"peers\":["
                                   "]},\"clusters\":[]}");
        json_object_put(o);
}
END_TEST

static const struct time_case {
        uint64_t usec;
        const char *text;
} time_cases[] = {
        {0, "1970-01-01T00:00:00.000Z"},
        {999, "1970-01-01T00:00:00.000Z"},
        {1000, "1970-01-01T00:00:00.001Z"},
        {1767225600123456, "2026-01-01T00:00:00.123Z"},
        {951782400999999, "2000-02-29T00:00:00.999Z"},
};

START_TEST(test_time) {
        char buf[STATUS_TIME_MAX];

        ck_assert_str_eq(status_format_time(time_cases[_i].usec, buf), time_cases[_i].text);
}
END_TEST

/* ---- the human table ---- */

static const char sample_table[] =
        "CLUSTER main\n"
        "NAME  ZONE        ROLE     REACHABLE  READ_ONLY  GTID      LAG  NOTES\n"
        "db-a  eu-west-2a  primary  yes        no         0-1-1042  0s\n"
        "db-b  eu-west-2b  replica  yes        yes        0-1-1041  1s\n"
        "db-c  eu-west-2c  down     no         -          -         -    sdown, no-answer\n"
        "state: degraded (replica-down)  epoch: 7  leader: az-b  primary: db-a  maintenance: off\n"
        "last event: failover-end (epoch 7) at 2026-01-01T00:00:00.123Z\n"
        "\n"
        "SENTINEL az-a  zone: eu-west-2a  version: 0.1.0\n"
        "PEER  ZONE        REACHABLE  LAST_SEEN  EPOCH  REJECTED\n"
        "az-b  eu-west-2b  yes        120ms      7      0\n"
        "az-c  eu-west-2c  no         -          -      4\n";

START_TEST(test_table_sample) {
        _cleanup_(sample_done) sample s;
        _cleanup_free_ char *text = NULL, *again = NULL;
        json_object *doc = NULL, *parsed;

        sample_init(&s);
        ck_assert_int_eq(status_json_build(&s.sentinel, &s.cluster, 1, &doc), 0);
        ck_assert_int_eq(status_format_table(doc, NULL, &text), 0);
        ck_assert_str_eq(text, sample_table);

        /* The CLI gets text over the socket: the table from the parsed JSON is the same. */
        parsed = json_tokener_parse(json_object_to_json_string_ext(doc, JSON_C_TO_STRING_PRETTY));
        ck_assert_ptr_nonnull(parsed);
        ck_assert_int_eq(status_format_table(parsed, "main", &again), 0);
        ck_assert_str_eq(again, sample_table);
        json_object_put(parsed);
        json_object_put(doc);
}
END_TEST

static const struct table_case {
        const char *json;
        const char *cluster;
        int r;
        const char *text;
} table_cases[] = {
        {"[]", NULL, -EINVAL, NULL},
        {"{}", NULL, -EINVAL, NULL},
        {"{\"clusters\":{}}", NULL, -EINVAL, NULL},
        {"{\"clusters\":[]}", NULL, 0, ""},
        {"{\"clusters\":[]}", "main", -ENOENT, NULL},
        {"{\"clusters\":[{\"name\":\"a\"}]}", "b", -ENOENT, NULL},
        /* a damaged cluster: everything missing or of the wrong type prints as "-" */
        {"{\"clusters\":[{\"name\":7,\"servers\":[{\"name\":\"s\",\"zone\":1,\"reachable\":\"yes\","
         "\"lag_ms\":\"5\",\"gtid_current_pos\":\"\"},5]}]}",
                NULL, 0,
                "CLUSTER -\n"
                "NAME  ZONE  ROLE  REACHABLE  READ_ONLY  GTID     LAG\n"
                "s     -     -     -          -          (empty)  -\n"
                "-     -     -     -          -          -        -\n"
                "state: -  epoch: -  leader: none  primary: none  maintenance: -\n"},
        /* notes: broken replication, lagging, cascading, unknown source, errant; mismatches; filter */
        {"{\"clusters\":[{\"name\":\"x\",\"servers\":[]},{\"name\":\"main\",\"state\":\"degraded\","
         "\"epoch\":3,"
         "\"primary\":\"p\",\"maintenance\":true,\"state_reasons\":[\"replication-broken\",\"errant\"],"
         "\"servers\":["
         "{\"name\":\"p\",\"role\":\"primary\",\"lag_ms\":0},"
         "{\"name\":\"r1\",\"role\":\"replica\",\"lag_ms\":1500,\"lagging\":true,\"replicating_from\":\"p\","
         "\"replication\":{\"io_running\":\"Connecting\",\"sql_running\":false}},"
         "{\"name\":\"r2\",\"role\":\"replica\",\"lag_ms\":12000,\"replicating_from\":\"r1\",\"errant\":\"0-"
         "2-5\"},"
         "{\"name\":\"r3\",\"role\":\"replica\",\"replicating_from\":null,"
         "\"replicating_from_address\":\"10.9.9.9:3306\",\"replication\":{\"io_running\":\"Yes\",\"sql_"
         "running\":true}}],"
         "\"mismatches\":[{\"kind\":\"errant\",\"text\":\"r2 has transactions\"},{\"text\":7}]}]}",
                "main", 0,
                "CLUSTER main\n"
                "NAME  ZONE  ROLE     REACHABLE  READ_ONLY  GTID  LAG     NOTES\n"
                "p     -     primary  -          -          -     0s\n"
                "r1    -     replica  -          -          -     1500ms  io=Connecting, sql=stopped, "
                "lagging\n"
                "r2    -     replica  -          -          -     12s     follows r1, errant 0-2-5\n"
                "r3    -     replica  -          -          -     -       follows 10.9.9.9:3306\n"
                "state: degraded (replication-broken, errant)  epoch: 3  leader: none  primary: p  "
                "maintenance: on\n"
                "mismatch: r2 has transactions\n"
                "mismatch: ?\n"},
        /* a TLS failure: its message on a line of its own; other errors only as a note */
        {"{\"clusters\":[{\"name\":\"t\",\"servers\":[{\"name\":\"a\",\"role\":\"down\",\"error\":\"tls\","
         "\"error_message\":\"TLS: certificate verify failed (tls.ca /x.pem)\"},{\"name\":\"b\",\"error\":"
         "\"refused\",\"error_message\":\"Connection refused\"},{\"name\":\"c\",\"error\":\"tls\"}]}]}",
                NULL, 0,
                "CLUSTER t\n"
                "NAME  ZONE  ROLE  REACHABLE  READ_ONLY  GTID  LAG  NOTES\n"
                "a     -     down  -          -          -     -    tls\n"
                "b     -     -     -          -          -     -    refused\n"
                "c     -     -     -          -          -     -    tls\n"
                "state: -  epoch: -  leader: none  primary: none  maintenance: -\n"
                "tls error: a: TLS: certificate verify failed (tls.ca /x.pem)\n"},
        /* two clusters, a sentinel without peers */
        {"{\"sentinel\":{\"name\":\"az-a\",\"peers\":[]},\"clusters\":[{\"name\":\"a\",\"servers\":[]},"
         "{\"name\":\"b\",\"leader\":\"az-a\",\"last_event\":{\"type\":\"sdown\"}}]}",
                NULL, 0,
                "CLUSTER a\n"
                "NAME  ZONE  ROLE  REACHABLE  READ_ONLY  GTID  LAG\n"
                "state: -  epoch: -  leader: none  primary: none  maintenance: -\n"
                "\n"
                "CLUSTER b\n"
                "NAME  ZONE  ROLE  REACHABLE  READ_ONLY  GTID  LAG\n"
                "state: -  epoch: -  leader: az-a  primary: none  maintenance: -\n"
                "last event: sdown at -\n"
                "\n"
                "SENTINEL az-a  zone: -  version: -\n"
                "peers: none\n"},
};

START_TEST(test_table_cases) {
        const struct table_case *c = &table_cases[_i];
        json_object *o = json_tokener_parse(c->json);
        char *text = NULL;

        ck_assert_ptr_nonnull(o);
        ck_assert_int_eq(status_format_table(o, c->cluster, &text), c->r);
        if (c->r >= 0)
                ck_assert_str_eq(text, c->text);
        else
                ck_assert_ptr_null(text);
        free(text);
        json_object_put(o);
}
END_TEST

START_TEST(test_table_null) {
        char *text = NULL;

        ck_assert_int_eq(status_format_table(NULL, NULL, &text), -EINVAL);
        ck_assert_ptr_null(text);
}
END_TEST

static Suite *status_json_suite(void) {
        Suite *s = suite_create("status-json");
        TCase *tc = tcase_create("core");

        tcase_add_test(tc, test_sample_servers);
        tcase_add_test(tc, test_sample_document);
        tcase_add_test(tc, test_mismatches_and_nulls);
        tcase_add_test(tc, test_without_topology);
        tcase_add_test(tc, test_api_edges);
        tcase_add_loop_test(tc, test_time, 0, ELEMENTSOF(time_cases));
        tcase_add_test(tc, test_table_sample);
        tcase_add_loop_test(tc, test_table_cases, 0, ELEMENTSOF(table_cases));
        tcase_add_test(tc, test_table_null);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        SRunner *sr = srunner_create(status_json_suite());
        int failed;

        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
