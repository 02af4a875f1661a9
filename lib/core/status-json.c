#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "macro.h"
#include "peer-proto.h"
#include "status-json.h"
#include "timefmt.h"

/* ---- filling the input structs ---- */

void status_peer_init(status_peer *ret, const peer_conf *p) {
        *ret = (status_peer){.name = p->name, .zone = p->zone};
}

static uint64_t age_ms(uint64_t now_usec, uint64_t then_usec) {
        return now_usec > then_usec ? (now_usec - then_usec) / USEC_PER_MSEC : 0;
}

void status_server_init(status_server *ret, const cluster_conf *conf, size_t index, const server_status *st,
        const topology *t, const sdown_tracker *sd, uint64_t now_usec) {
        const server_conf *sc = &conf->servers[index];
        const topology_server *ts = t && index < t->n_servers ? &t->servers[index] : NULL;
        bool alive = st && probe_error_class_is_alive(st->error_class);
        status_server s = {
                .name = sc->name,
                .host = sc->host,
                .port = sc->port,
                .zone = sc->zone,
                .promotable = sc->promotable,
                .priority = sc->priority,
                .role = ts             ? ts->role
                        : st && !alive ? SERVER_ROLE_DOWN
                                       : SERVER_ROLE_UNKNOWN,
                .reachable = alive,
                .sdown = sd && sdown_is_down(sd),
        };
        uint64_t since;

        if (sd && sdown_failing_since(sd, &since) >= 0) {
                s.failing_known = true;
                s.failing_for_ms = age_ms(now_usec, since);
        }
        if (st) {
                s.probed = true;
                s.error = st->error_class;
                s.error_number = st->error_number;
                s.error_message = st->error_message;
                s.latency_known = st->latency_usec > 0;
                s.probe_latency_usec = st->latency_usec;
                s.last_probe_age_known = st->finished_usec > 0;
                s.last_probe_age_ms = age_ms(now_usec, st->finished_usec);
        }
        if (alive && st->have_variables) {
                s.variables_known = true;
                s.read_only = st->read_only;
                s.server_id = st->server_id;
                s.version = st->version;
                s.gtid_current_pos = &st->gtid_current_pos;
                s.gtid_binlog_pos = &st->gtid_binlog_pos;
                s.gtid_slave_pos = &st->gtid_slave_pos;
                s.log_bin = st->log_bin;
                s.log_slave_updates = st->log_slave_updates;
                s.semi_sync_master_enabled = st->semi_sync_master_enabled;
                s.semi_sync_slave_enabled = st->semi_sync_slave_enabled;
        }
        if (alive && st->have_semi_sync_status) {
                s.semi_sync_status_known = true;
                s.semi_sync_master_status = st->semi_sync_master_status;
                s.semi_sync_master_clients = st->semi_sync_master_clients;
        }
        if (ts) {
                if (ts->follows != TOPOLOGY_NONE && ts->follows < conf->n_servers)
                        s.replicating_from = conf->servers[ts->follows].name;
                if (alive && st->have_replication && ts->replication < st->n_replication)
                        s.replication = &st->replication[ts->replication];
                s.broken = ts->broken;
                s.lag_known = ts->lag_known;
                s.lag_ms = ts->lag_ms;
                s.lagging = ts->lagging;
                s.gtid_known = ts->gtid_known;
                s.gtid_behind = ts->gtid_behind;
                s.gtid_behind_transactions = ts->gtid_behind_transactions;
                s.errant = &ts->errant;
        }
        *ret = s;
}

void status_cluster_init(
        status_cluster *ret, const cluster_conf *conf, const topology *t, const status_server *servers) {
        status_cluster c = {
                .name = conf->name,
                .state = t ? t->state : CLUSTER_STATE_NO_PRIMARY,
                .quorum = conf->quorum,
                .servers = servers,
                .n_servers = conf->n_servers,
        };

        if (t) {
                if (t->primary != TOPOLOGY_NONE && t->primary < conf->n_servers) {
                        c.primary = conf->servers[t->primary].name;
                        c.replica_evidence_known = true;
                        c.replica_evidence = t->primary_evidence;
                }
                c.reasons = t->reasons;
                c.mismatches = t->mismatches;
                c.n_mismatches = t->n_mismatches;
        }
        *ret = c;
}

const char *status_format_time(uint64_t realtime_usec, char buf[static STATUS_TIME_MAX]) {
        if (timefmt_rfc3339_ms(realtime_usec, buf) < 0)
                snprintf(buf, STATUS_TIME_MAX, "@%" PRIu64, realtime_usec);
        return buf;
}

/* ---- building JSON: every put is a no-op after the first failure, which b->r keeps ---- */

typedef struct jb {
        json_object *o;
        int r;
} jb;

static jb jb_new(json_object *o) {
        return (jb){.o = o, .r = o ? 0 : -ENOMEM};
}

/* Adds v (NULL: JSON null when is_null, else out of memory) under key; takes v. */
static void put(jb *b, const char *key, json_object *v, bool is_null) {
        if (b->r < 0 || (!v && !is_null)) {
                json_object_put(v);
                if (b->r >= 0)
                        b->r = -ENOMEM;
                return;
        }
        if (json_object_object_add(b->o, key, v) < 0) {
                json_object_put(v);
                b->r = -ENOMEM;
        }
}

static void put_null(jb *b, const char *key) {
        put(b, key, NULL, true);
}

static void put_str(jb *b, const char *key, const char *s) {
        put(b, key, s ? json_object_new_string(s) : NULL, !s);
}

static void put_bool(jb *b, const char *key, bool v) {
        put(b, key, json_object_new_boolean(v), false);
}

static void put_opt_bool(jb *b, const char *key, bool known, bool v) {
        put(b, key, known ? json_object_new_boolean(v) : NULL, !known);
}

static void put_u64(jb *b, const char *key, uint64_t v) {
        put(b, key, json_object_new_uint64(v), false);
}

static void put_opt_u64(jb *b, const char *key, bool known, uint64_t v) {
        put(b, key, known ? json_object_new_uint64(v) : NULL, !known);
}

static void put_gtid_list(jb *b, const char *key, const gtid_list *l) {
        _cleanup_free_ char *s = NULL;

        if (b->r < 0)
                return;
        if (l && gtid_list_format(l, &s) < 0) {
                b->r = -ENOMEM;
                return;
        }
        put_str(b, key, s);
}

/* Finishes: 0 and the object in *ret, or the first error (and the object freed). */
static int jb_finish(jb *b, json_object **ret) {
        if (b->r < 0) {
                json_object_put(b->o);
                return b->r;
        }
        *ret = b->o;
        return 0;
}

/* The finished object, or NULL when something failed. */
static json_object *finish(jb *b) {
        json_object *o = NULL;

        return jb_finish(b, &o) < 0 ? NULL : o;
}

static json_object *semi_sync_json(const status_server *s) {
        jb b = jb_new(json_object_new_object());

        put_bool(&b, "master_enabled", s->semi_sync_master_enabled);
        put_bool(&b, "slave_enabled", s->semi_sync_slave_enabled);
        put_opt_bool(&b, "master_status", s->semi_sync_status_known, s->semi_sync_master_status);
        put_opt_u64(&b, "master_clients", s->semi_sync_status_known, s->semi_sync_master_clients);
        return finish(&b);
}

static json_object *replication_json(const server_replication *row) {
        jb b = jb_new(json_object_new_object());

        put_str(&b, "connection_name", row->connection_name ?: "");
        put_str(&b, "master_host", row->master_host);
        put_u64(&b, "master_port", row->master_port);
        put_opt_u64(&b, "master_server_id", row->master_server_id != 0, row->master_server_id);
        put_str(&b, "io_running", replica_io_state_to_string(row->io_running));
        put_bool(&b, "sql_running", row->sql_running);
        put_str(&b, "using_gtid", replica_using_gtid_to_string(row->using_gtid));
        put_gtid_list(&b, "gtid_io_pos", &row->gtid_io_pos);
        put_opt_u64(
                &b, "seconds_behind_master", row->seconds_behind_master_known, row->seconds_behind_master);
        put_u64(&b, "last_io_errno", row->last_io_errno);
        put_str(&b, "last_io_error", row->last_io_error ?: "");
        put_u64(&b, "last_sql_errno", row->last_sql_errno);
        put_str(&b, "last_sql_error", row->last_sql_error ?: "");
        return finish(&b);
}

int status_json_server(const status_server *s, json_object **ret) {
        jb b;

        if (!s || !ret)
                return -EINVAL;
        b = jb_new(json_object_new_object());

        /* SPEC 4, in its order */
        put_str(&b, "name", s->name);
        put_str(&b, "host", s->host);
        put_u64(&b, "port", s->port);
        put_str(&b, "zone", s->zone);
        put_str(&b, "role", server_role_to_string(s->role));
        put_bool(&b, "reachable", s->reachable);
        put_opt_bool(&b, "read_only", s->variables_known, s->read_only);
        put_gtid_list(&b, "gtid_current_pos", s->variables_known ? s->gtid_current_pos : NULL);
        put_str(&b, "replicating_from", s->replicating_from);
        put_opt_u64(&b, "lag_ms", s->lag_known, s->lag_ms);
        put_bool(&b, "sdown", s->sdown);

        /* extras */
        put_bool(&b, "promotable", s->promotable);
        put(&b, "priority", json_object_new_int(s->priority), false);
        put_str(&b, "error",
                s->probed && s->error != PROBE_OK ? probe_error_class_to_string(s->error) : NULL);
        put_opt_u64(&b, "error_number", s->probed && s->error_number != 0, s->error_number);
        put_str(&b, "error_message", s->probed ? s->error_message : NULL);
        if (s->probed && s->latency_known) {
                char v[32];

                /* sub-millisecond latencies matter (loopback, same AZ): three decimals, written exactly */
                snprintf(v, sizeof(v), "%" PRIu64 ".%03" PRIu64, s->probe_latency_usec / 1000,
                        s->probe_latency_usec % 1000);
                put(&b, "probe_latency_ms",
                        json_object_new_double_s((double) s->probe_latency_usec / 1000.0, v), false);
        } else
                put_null(&b, "probe_latency_ms");
        put_opt_u64(&b, "last_probe_age_ms", s->probed && s->last_probe_age_known, s->last_probe_age_ms);
        put_opt_u64(&b, "failing_for_ms", s->failing_known, s->failing_for_ms);
        put_opt_u64(&b, "server_id", s->variables_known, s->server_id);
        put_str(&b, "version", s->variables_known ? s->version : NULL);
        put_gtid_list(&b, "gtid_binlog_pos", s->variables_known ? s->gtid_binlog_pos : NULL);
        put_gtid_list(&b, "gtid_slave_pos", s->variables_known ? s->gtid_slave_pos : NULL);
        put_opt_bool(&b, "gtid_behind", s->gtid_known, s->gtid_behind);
        put_opt_u64(&b, "gtid_behind_transactions", s->gtid_known, s->gtid_behind_transactions);
        if (s->gtid_known && s->errant && s->errant->n > 0) {
                _cleanup_free_ char *text = NULL;

                if (b.r >= 0 && gtid_diff_format(s->errant, &text) < 0)
                        b.r = -ENOMEM;
                put_str(&b, "errant", text ?: "");
        } else
                put_null(&b, "errant");
        if (s->replication && s->replication->master_host) {
                char addr[HOSTPORT_FORMAT_MAX];
                hostport hp = {.host = s->replication->master_host,
                        .port = s->replication->master_port,
                        .family = strchr(s->replication->master_host, ':') ? AF_INET6 : AF_INET};

                put_str(&b, "replicating_from_address", hostport_format(&hp, addr, sizeof(addr)));
        } else
                put_null(&b, "replicating_from_address");
        put(&b, "replication", s->replication ? replication_json(s->replication) : NULL, !s->replication);
        put_bool(&b, "broken", s->broken);
        put_bool(&b, "lagging", s->lagging);
        put_opt_bool(&b, "log_bin", s->variables_known, s->log_bin);
        put_opt_bool(&b, "log_slave_updates", s->variables_known, s->log_slave_updates);
        put(&b, "semi_sync", s->variables_known ? semi_sync_json(s) : NULL, !s->variables_known);
        return jb_finish(&b, ret);
}

/* Appends v to the array *a (taking v); on failure (v NULL included) frees *a and leaves NULL there,
 * which later calls and put() take as out of memory. */
static void append(json_object **a, json_object *v) {
        if (*a && v && json_object_array_add(*a, v) >= 0)
                return;
        json_object_put(v);
        json_object_put(*a);
        *a = NULL;
}

static json_object *mismatch_json(const status_cluster *c, const topology_mismatch *m) {
        jb b = jb_new(json_object_new_object());
        json_object *a = json_object_new_array();

        put_str(&b, "kind", topology_mismatch_kind_to_string(m->kind));
        put_str(&b, "text", m->text);
        for (size_t k = 0; k < m->n_servers; k++)
                if (m->servers[k] < c->n_servers && c->servers[m->servers[k]].name)
                        append(&a, json_object_new_string(c->servers[m->servers[k]].name));
        put(&b, "servers", a, false);
        return finish(&b);
}

int status_json_cluster(const status_cluster *c, json_object **ret) {
        json_object *servers = json_object_new_array(), *reasons = json_object_new_array(),
                    *mismatches = json_object_new_array();
        jb b;

        if (!c || !ret || (c->n_servers > 0 && !c->servers)) {
                json_object_put(servers);
                json_object_put(reasons);
                json_object_put(mismatches);
                return -EINVAL;
        }
        b = jb_new(json_object_new_object());
        put_str(&b, "name", c->name);
        put_str(&b, "state", cluster_state_to_string(c->state));
        put_u64(&b, "epoch", c->epoch);
        put_str(&b, "leader", c->leader);
        put_str(&b, "primary", c->primary);
        put_bool(&b, "maintenance", c->maintenance);
        for (size_t i = 0; i < c->n_servers; i++) {
                json_object *o = NULL;

                append(&servers, status_json_server(&c->servers[i], &o) < 0 ? NULL : o);
        }
        put(&b, "servers", servers, false);
        if (c->last_event) {
                jb e = jb_new(json_object_new_object());
                char at[STATUS_TIME_MAX];

                put_str(&e, "type", event_to_string(c->last_event->type));
                put_u64(&e, "epoch", c->last_event->epoch);
                put_str(&e, "at", status_format_time(c->last_event->at_realtime_usec, at));
                put(&b, "last_event", finish(&e), false);
        } else
                put_null(&b, "last_event");

        put_u64(&b, "quorum", c->quorum);
        for (int k = 0; k < _TOPOLOGY_REASON_MAX; k++)
                if (c->reasons & TOPOLOGY_REASON_BIT(k))
                        append(&reasons, json_object_new_string(topology_reason_to_string(k)));
        put(&b, "state_reasons", reasons, false);
        for (size_t k = 0; k < c->n_mismatches; k++)
                append(&mismatches, mismatch_json(c, &c->mismatches[k]));
        put(&b, "mismatches", mismatches, false);
        put_opt_u64(&b, "replica_evidence", c->replica_evidence_known, c->replica_evidence);
        return jb_finish(&b, ret);
}

int status_json_sentinel(const status_sentinel *s, json_object **ret) {
        json_object *peers;
        jb b;

        if (!s || !ret || (s->n_peers > 0 && !s->peers))
                return -EINVAL;
        b = jb_new(json_object_new_object());
        put_str(&b, "name", s->name);
        put_str(&b, "zone", s->zone);
        put_str(&b, "version", s->version);
        peers = json_object_new_array();
        for (size_t i = 0; i < s->n_peers; i++) {
                jb pb = jb_new(json_object_new_object());

                put_str(&pb, "name", s->peers[i].name);
                put_str(&pb, "zone", s->peers[i].zone);
                put_bool(&pb, "reachable", s->peers[i].reachable);
                put_opt_u64(&pb, "last_seen_ms", s->peers[i].last_seen_known, s->peers[i].last_seen_ms);
                put_opt_u64(&pb, "epoch", s->peers[i].epoch_known, s->peers[i].epoch);
                jb rb = jb_new(json_object_new_object());
                for (int k = 0; s->peers[i].rejected && k < _PEER_REJECT_MAX; k++)
                        if (s->peers[i].rejected[k] > 0)
                                put_u64(&rb, peer_reject_to_string(k), s->peers[i].rejected[k]);
                put(&pb, "rejected", finish(&rb), false);
                append(&peers, finish(&pb));
        }
        put(&b, "peers", peers, false);
        return jb_finish(&b, ret);
}

int status_json_build(
        const status_sentinel *s, const status_cluster *clusters, size_t n_clusters, json_object **ret) {
        json_object *o = NULL, *a;
        jb b;
        int r;

        if (!s || !ret || (n_clusters > 0 && !clusters))
                return -EINVAL;
        r = status_json_sentinel(s, &o);
        if (r < 0)
                return r;
        b = jb_new(json_object_new_object());
        put(&b, "sentinel", o, false);
        a = json_object_new_array();
        for (size_t i = 0; i < n_clusters && r >= 0; i++) {
                r = status_json_cluster(&clusters[i], &o);
                append(&a, r < 0 ? NULL : o);
        }
        if (r < 0 && b.r >= 0)
                b.r = r;
        put(&b, "clusters", a, false);
        return jb_finish(&b, ret);
}

/* ---- the human table, from the JSON alone ---- */

static json_object *get(json_object *o, const char *key) {
        json_object *v = NULL;

        if (!o || !json_object_is_type(o, json_type_object) || !json_object_object_get_ex(o, key, &v))
                return NULL;
        return v;
}

static const char *get_str(json_object *o, const char *key) {
        json_object *v = get(o, key);

        return v && json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
}

/* 1 true, 0 false, -1 missing, null or not a boolean. */
static int get_bool(json_object *o, const char *key) {
        json_object *v = get(o, key);

        if (!v || !json_object_is_type(v, json_type_boolean))
                return -1;
        return json_object_get_boolean(v) ? 1 : 0;
}

static bool get_u64(json_object *o, const char *key, uint64_t *ret) {
        json_object *v = get(o, key);

        if (!v || !json_object_is_type(v, json_type_int))
                return false;
        *ret = json_object_get_uint64(v);
        return true;
}

static const char *yes_no(int b) {
        return b < 0 ? "-" : b ? "yes" : "no";
}

/* "0s", "12s" (whole seconds, as Seconds_Behind_Master gives them), else "1500ms"; "-" unknown. */
static void format_ms(json_object *o, const char *key, char *buf, size_t size) {
        uint64_t ms;

        if (!get_u64(o, key, &ms))
                snprintf(buf, size, "-");
        else if (ms % 1000 == 0)
                snprintf(buf, size, "%" PRIu64 "s", ms / 1000);
        else
                snprintf(buf, size, "%" PRIu64 "ms", ms);
}

/* Cells in rows of n_cols, printed in aligned columns two spaces apart, no trailing blanks. */
typedef struct table {
        size_t n_cols;
        size_t n_cells;
        char **cells;
} table;

static void table_done(table *t) {
        for (size_t i = 0; i < t->n_cells; i++)
                free(t->cells[i]);
        free(t->cells);
        *t = (table){};
}

static int table_add(table *t, const char *s) {
        char **a = reallocarray(t->cells, t->n_cells + 1, sizeof(char *));

        if (!a)
                return -ENOMEM;
        t->cells = a;
        t->cells[t->n_cells] = strdup(s ?: "-");
        if (!t->cells[t->n_cells])
                return -ENOMEM;
        t->n_cells++;
        return 0;
}

/* A last column empty in every row but the header (NOTES with nothing to say) is left out. */
static void table_print(const table *t, FILE *f) {
        size_t width[16] = {}, n_cols = t->n_cols;
        bool last_used = false;

        for (size_t i = t->n_cols; i < t->n_cells; i++)
                if (i % t->n_cols == t->n_cols - 1 && t->cells[i][0] != '\0')
                        last_used = true;
        if (!last_used && n_cols > 1)
                n_cols--;
        for (size_t i = 0; i < t->n_cells; i++)
                if (strlen(t->cells[i]) > width[i % t->n_cols])
                        width[i % t->n_cols] = strlen(t->cells[i]);
        for (size_t row = 0; row * t->n_cols < t->n_cells; row++) {
                char **c = t->cells + row * t->n_cols;
                size_t last = n_cols;

                while (last > 1 && c[last - 1][0] == '\0')
                        last--;
                for (size_t k = 0; k < last; k++)
                        fprintf(f, "%s%-*s", k ? "  " : "", k + 1 < last ? (int) width[k] : 0, c[k]);
                fputc('\n', f);
        }
}

/* "sdown, no-answer, io=Connecting, sql=stopped, lagging, follows db-b, errant 0-2-5". */
static char *server_notes(json_object *s, const char *primary) {
        json_object *repl = get(s, "replication");
        const char *v, *sep = "";
        char *text = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&text, &size);

        if (!f)
                return NULL;
#define NOTE(...)                                                                                           \
        do {                                                                                                \
                fputs(sep, f);                                                                              \
                fprintf(f, __VA_ARGS__);                                                                    \
                sep = ", ";                                                                                 \
        } while (0)
        if (get_bool(s, "sdown") == 1)
                NOTE("sdown");
        if ((v = get_str(s, "error")))
                NOTE("%s", v);
        if ((v = get_str(repl, "io_running")) && strcmp(v, "Yes") != 0)
                NOTE("io=%s", v);
        if (repl && get_bool(repl, "sql_running") == 0)
                NOTE("sql=stopped");
        if (get_bool(s, "lagging") == 1)
                NOTE("lagging");
        if ((v = get_str(s, "replicating_from")) && primary && !streq(v, primary))
                NOTE("follows %s", v);
        else if (!v && (v = get_str(s, "replicating_from_address")))
                NOTE("follows %s", v);
        if ((v = get_str(s, "errant")))
                NOTE("errant %s", v);
#undef NOTE
        if (fclose(f) != 0) {
                free(text);
                return NULL;
        }
        return text;
}

static int format_cluster(json_object *c, FILE *f) {
        static const char *const header[] = {
                "NAME", "ZONE", "ROLE", "REACHABLE", "READ_ONLY", "GTID", "LAG", "NOTES"};
        json_object *servers = get(c, "servers"), *reasons = get(c, "state_reasons"),
                    *ev = get(c, "last_event");
        json_object *mismatches = get(c, "mismatches");
        const char *primary = get_str(c, "primary");
        table t = {.n_cols = ELEMENTSOF(header)};
        uint64_t epoch;
        int r = 0;

        fprintf(f, "CLUSTER %s\n", get_str(c, "name") ?: "-");
        for (size_t k = 0; r >= 0 && k < ELEMENTSOF(header); k++)
                r = table_add(&t, header[k]);
        for (size_t i = 0; r >= 0 && json_object_is_type(servers, json_type_array) &&
                           i < json_object_array_length(servers);
                i++) {
                json_object *s = json_object_array_get_idx(servers, i);
                const char *pos = get_str(s, "gtid_current_pos");
                _cleanup_free_ char *notes = server_notes(s, primary);
                char lag[32];

                if (!notes)
                        r = -ENOMEM;
                format_ms(s, "lag_ms", lag, sizeof(lag));
                const char *row[] = {get_str(s, "name"), get_str(s, "zone"), get_str(s, "role"),
                        yes_no(get_bool(s, "reachable")), yes_no(get_bool(s, "read_only")),
                        pos && pos[0] == '\0' ? "(empty)" : pos, lag, notes ?: ""};
                for (size_t k = 0; r >= 0 && k < ELEMENTSOF(row); k++)
                        r = table_add(&t, row[k]);
        }
        if (r >= 0)
                table_print(&t, f);
        table_done(&t);
        if (r < 0)
                return r;

        fprintf(f, "state: %s", get_str(c, "state") ?: "-");
        for (size_t k = 0;
                json_object_is_type(reasons, json_type_array) && k < json_object_array_length(reasons);
                k++) {
                json_object *v = json_object_array_get_idx(reasons, k);

                fprintf(f, "%s%s", k == 0 ? " (" : ", ",
                        json_object_is_type(v, json_type_string) ? json_object_get_string(v) : "?");
                if (k + 1 == json_object_array_length(reasons))
                        fputc(')', f);
        }
        bool have_epoch = get_u64(c, "epoch", &epoch);
        if (have_epoch)
                fprintf(f, "  epoch: %" PRIu64, epoch);
        else
                fputs("  epoch: -", f);
        uint64_t config_epoch = 0;
        if (have_epoch && get_u64(c, "config_epoch", &config_epoch) && config_epoch != epoch)
                fprintf(f, " (primary's: %" PRIu64 ")", config_epoch);
        fprintf(f, "  leader: %s  primary: %s  maintenance: %s\n", get_str(c, "leader") ?: "none",
                primary ?: "none",
                get_bool(c, "maintenance") == 1   ? "on"
                : get_bool(c, "maintenance") == 0 ? "off"
                                                  : "-");
        if (get_str(ev, "type")) {
                fprintf(f, "last event: %s", get_str(ev, "type"));
                if (get_u64(ev, "epoch", &epoch))
                        fprintf(f, " (epoch %" PRIu64 ")", epoch);
                fprintf(f, " at %s\n", get_str(ev, "at") ?: "-");
        }
        for (size_t k = 0;
                json_object_is_type(mismatches, json_type_array) && k < json_object_array_length(mismatches);
                k++)
                fprintf(f, "mismatch: %s\n",
                        get_str(json_object_array_get_idx(mismatches, k), "text") ?: "?");
        /* A TLS failure is the operator's to fix (a file, a CA, the server's certificate), and its
         * class alone does not say what: its message, one line per server. */
        for (size_t i = 0;
                json_object_is_type(servers, json_type_array) && i < json_object_array_length(servers);
                i++) {
                json_object *s = json_object_array_get_idx(servers, i);
                const char *m = get_str(s, "error_message");

                if (streq_ptr(get_str(s, "error"), "tls") && m)
                        fprintf(f, "tls error: %s: %s\n", get_str(s, "name") ?: "-", m);
        }
        return 0;
}

static int format_sentinel(json_object *s, FILE *f) {
        static const char *const header[] = {"PEER", "ZONE", "REACHABLE", "LAST_SEEN", "EPOCH", "REJECTED"};
        json_object *peers = get(s, "peers");
        table t = {.n_cols = ELEMENTSOF(header)};
        size_t n = json_object_is_type(peers, json_type_array) ? json_object_array_length(peers) : 0;
        int r = 0;

        fprintf(f, "SENTINEL %s  zone: %s  version: %s\n", get_str(s, "name") ?: "-",
                get_str(s, "zone") ?: "-", get_str(s, "version") ?: "-");
        if (n == 0) {
                fputs("peers: none\n", f);
                return 0;
        }
        for (size_t k = 0; r >= 0 && k < ELEMENTSOF(header); k++)
                r = table_add(&t, header[k]);
        for (size_t i = 0; r >= 0 && i < n; i++) {
                json_object *p = json_object_array_get_idx(peers, i);
                char seen[32];

                char epoch[24] = "-", rejected[24];
                uint64_t n_rejected = 0;
                json_object *e = get(p, "epoch"), *rj = get(p, "rejected");

                format_ms(p, "last_seen_ms", seen, sizeof(seen));
                if (json_object_is_type(e, json_type_int))
                        snprintf(epoch, sizeof(epoch), "%" PRIu64, json_object_get_uint64(e));
                if (json_object_is_type(rj, json_type_object)) {
                        json_object_object_foreach(rj, key, val) {
                                (void) key;
                                n_rejected += json_object_get_uint64(val);
                        }
                }
                snprintf(rejected, sizeof(rejected), "%" PRIu64, n_rejected);
                const char *row[] = {get_str(p, "name"), get_str(p, "zone"), yes_no(get_bool(p, "reachable")), seen,
                        epoch, rejected};
                for (size_t k = 0; r >= 0 && k < ELEMENTSOF(row); k++)
                        r = table_add(&t, row[k]);
        }
        if (r >= 0)
                table_print(&t, f);
        table_done(&t);
        return r;
}

int status_format_table(json_object *status, const char *cluster, char **ret) {
        json_object *clusters = get(status, "clusters"), *sentinel = get(status, "sentinel");
        _cleanup_free_ char *text = NULL;
        size_t size = 0, shown = 0;
        FILE *f;
        int r = 0;

        if (!ret || !json_object_is_type(clusters, json_type_array))
                return -EINVAL;
        f = open_memstream(&text, &size);
        if (!f)
                return -ENOMEM;
        for (size_t i = 0; r >= 0 && i < json_object_array_length(clusters); i++) {
                json_object *c = json_object_array_get_idx(clusters, i);

                if (cluster && !streq_ptr(get_str(c, "name"), cluster))
                        continue;
                if (shown++ > 0)
                        fputc('\n', f);
                r = format_cluster(c, f);
        }
        if (r >= 0 && cluster && shown == 0)
                r = -ENOENT;
        if (r >= 0 && sentinel) {
                if (shown > 0)
                        fputc('\n', f);
                r = format_sentinel(sentinel, f);
        }
        if (fclose(f) != 0 && r >= 0)
                r = -ENOMEM;
        if (r < 0)
                return r;
        *ret = TAKE_PTR(text);
        return 0;
}
