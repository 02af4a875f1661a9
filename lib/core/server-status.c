#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "macro.h"
#include "server-status.h"

static const char *const probe_error_class_table[_PROBE_ERROR_CLASS_MAX] = {
        [PROBE_OK] = "ok",
        [PROBE_NO_ANSWER] = "no-answer",
        [PROBE_REFUSED] = "refused",
        [PROBE_AUTH] = "auth",
        [PROBE_SERVER_ERROR] = "server-error",
        [PROBE_TLS] = "tls",
        [PROBE_RESOLVE] = "resolve",
        [PROBE_PROTOCOL] = "protocol",
        [PROBE_LOST] = "lost",
        [PROBE_INTERNAL] = "internal",
};

static const char *const replica_io_state_table[_REPLICA_IO_STATE_MAX] = {
        [REPLICA_IO_NO] = "No",
        [REPLICA_IO_CONNECTING] = "Connecting",
        [REPLICA_IO_YES] = "Yes",
};

static const char *const replica_using_gtid_table[_REPLICA_USING_GTID_MAX] = {
        [REPLICA_USING_GTID_NO] = "No",
        [REPLICA_USING_GTID_CURRENT_POS] = "Current_Pos",
        [REPLICA_USING_GTID_SLAVE_POS] = "Slave_Pos",
};

static int table_lookup(const char *const *table, size_t n, const char *s, bool ignore_case) {
        if (!s)
                return -EINVAL;
        for (size_t i = 0; i < n; i++)
                if (table[i] && (ignore_case ? strcasecmp(table[i], s) == 0 : streq(table[i], s)))
                        return (int) i;
        return -EINVAL;
}

const char *probe_error_class_to_string(probe_error_class c) {
        if (c < 0 || c >= _PROBE_ERROR_CLASS_MAX)
                return NULL;
        return probe_error_class_table[c];
}

probe_error_class probe_error_class_from_string(const char *s) {
        return (probe_error_class) table_lookup(probe_error_class_table, _PROBE_ERROR_CLASS_MAX, s, false);
}

bool probe_error_class_is_alive(probe_error_class c) {
        return c == PROBE_OK || c == PROBE_AUTH || c == PROBE_SERVER_ERROR;
}

const char *replica_io_state_to_string(replica_io_state s) {
        if (s < 0 || s >= _REPLICA_IO_STATE_MAX)
                return NULL;
        return replica_io_state_table[s];
}

replica_io_state replica_io_state_from_string(const char *s) {
        return (replica_io_state) table_lookup(replica_io_state_table, _REPLICA_IO_STATE_MAX, s, true);
}

const char *replica_using_gtid_to_string(replica_using_gtid g) {
        if (g < 0 || g >= _REPLICA_USING_GTID_MAX)
                return NULL;
        return replica_using_gtid_table[g];
}

replica_using_gtid replica_using_gtid_from_string(const char *s) {
        return (replica_using_gtid) table_lookup(replica_using_gtid_table, _REPLICA_USING_GTID_MAX, s, true);
}

int server_status_parse_bool(const char *s, bool *ret) {
        static const char *const yes[] = {"1", "ON", "YES", "TRUE"};
        static const char *const no[] = {"0", "OFF", "NO", "FALSE"};

        if (!s || !ret)
                return -EINVAL;
        if (table_lookup(yes, ELEMENTSOF(yes), s, true) >= 0) {
                *ret = true;
                return 0;
        }
        if (table_lookup(no, ELEMENTSOF(no), s, true) >= 0) {
                *ret = false;
                return 0;
        }
        return -EINVAL;
}

void server_replication_done(server_replication *r) {
        if (!r)
                return;
        free(r->connection_name);
        free(r->master_host);
        gtid_list_done(&r->gtid_io_pos);
        free(r->last_io_error);
        free(r->last_sql_error);
        *r = (server_replication){};
}

void server_status_done(server_status *s) {
        if (!s)
                return;
        free(s->error_message);
        free(s->version);
        gtid_list_done(&s->gtid_current_pos);
        gtid_list_done(&s->gtid_binlog_pos);
        gtid_list_done(&s->gtid_slave_pos);
        for (size_t i = 0; i < s->n_replication; i++)
                server_replication_done(&s->replication[i]);
        free(s->replication);
        *s = (server_status){};
}

server_status *server_status_free(server_status *s) {
        if (!s)
                return NULL;
        server_status_done(s);
        free(s);
        return NULL;
}

/* strdup() that keeps NULL as NULL; false only when out of memory. */
static bool strdup_null(const char *s, char **ret) {
        *ret = NULL;
        if (!s)
                return true;
        *ret = strdup(s);
        return *ret != NULL;
}

static int server_replication_copy(const server_replication *src, server_replication *ret) {
        server_replication r = *src;

        r.connection_name = r.master_host = r.last_io_error = r.last_sql_error = NULL;
        r.gtid_io_pos = GTID_LIST_EMPTY;
        if (!strdup_null(src->connection_name, &r.connection_name) ||
                !strdup_null(src->master_host, &r.master_host) ||
                !strdup_null(src->last_io_error, &r.last_io_error) ||
                !strdup_null(src->last_sql_error, &r.last_sql_error) ||
                gtid_list_copy(&src->gtid_io_pos, &r.gtid_io_pos) < 0) {
                server_replication_done(&r);
                return -ENOMEM;
        }
        *ret = r;
        return 0;
}

int server_status_copy(const server_status *src, server_status *ret) {
        server_status s;

        if (!src || !ret)
                return -EINVAL;
        s = *src;
        s.error_message = s.version = NULL;
        s.gtid_current_pos = s.gtid_binlog_pos = s.gtid_slave_pos = GTID_LIST_EMPTY;
        s.replication = NULL;
        s.n_replication = 0;

        if (!strdup_null(src->error_message, &s.error_message) || !strdup_null(src->version, &s.version) ||
                gtid_list_copy(&src->gtid_current_pos, &s.gtid_current_pos) < 0 ||
                gtid_list_copy(&src->gtid_binlog_pos, &s.gtid_binlog_pos) < 0 ||
                gtid_list_copy(&src->gtid_slave_pos, &s.gtid_slave_pos) < 0)
                goto fail;
        if (src->n_replication > 0) {
                s.replication = calloc(src->n_replication, sizeof(server_replication));
                if (!s.replication)
                        goto fail;
                for (; s.n_replication < src->n_replication; s.n_replication++)
                        if (server_replication_copy(
                                    &src->replication[s.n_replication], &s.replication[s.n_replication]) < 0)
                                goto fail;
        }
        *ret = s;
        return 0;

fail:
        server_status_done(&s);
        return -ENOMEM;
}

int server_status_set_error(server_status *s, probe_error_class c, uint32_t number, const char *message) {
        char *m = NULL;

        if (!s || c < 0 || c >= _PROBE_ERROR_CLASS_MAX)
                return -EINVAL;
        if (!strdup_null(message, &m))
                return -ENOMEM;
        free(s->error_message);
        s->error_message = m;
        s->error_class = c;
        s->error_number = number;
        s->reachable = probe_error_class_is_alive(c);
        return 0;
}

const server_replication *server_status_find_replication(
        const server_status *s, const char *connection_name) {
        if (!s || !connection_name)
                return NULL;
        for (size_t i = 0; i < s->n_replication; i++)
                if (streq_ptr(s->replication[i].connection_name, connection_name))
                        return &s->replication[i];
        return NULL;
}
