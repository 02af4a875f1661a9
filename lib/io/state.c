/* state.json's in-memory model: the epoch, the votes and the per-cluster entries, and loading and
 * saving the file; its JSON format and parsing are in state-json.c. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>

#include "fsutil.h"
#include "macro.h"
#include "state-internal.h"

#define E(e) [STATE_ERROR_##e - STATE_ERROR_TRUNCATED]
static const char *const state_error_table[_STATE_ERROR_MAX - STATE_ERROR_TRUNCATED] = {
        E(TRUNCATED) = "state file is truncated",
        E(CHECKSUM) = "state file checksum mismatch",
        E(SYNTAX) = "state file is not valid JSON",
        E(VERSION) = "state file has an unknown version",
        E(INVALID) = "state file holds an invalid value",
        E(EPOCH_BACKWARDS) = "epoch would go backwards",
        E(ALREADY_VOTED) = "already voted for another candidate in this epoch",
        E(VOTE_STALE) = "epoch is older than the current epoch or the last vote",
        E(CONFIG_EPOCH_STALE) = "config epoch is older than the known one",
        E(CONFIG_CONFLICT) = "another primary is already known for this config epoch",
};
#undef E

const char *state_strerror(int r) {
        if (r >= 0)
                return "success";
        if (-r >= STATE_ERROR_TRUNCATED && -r < _STATE_ERROR_MAX)
                return state_error_table[-r - STATE_ERROR_TRUNCATED];
        return strerror(-r);
}

bool state_error_is_corruption(int r) {
        return r <= -STATE_ERROR_TRUNCATED && r >= -STATE_ERROR_INVALID;
}

int state_fail(char **reterr_detail, int r, const char *fmt, ...) {
        va_list ap;

        if (reterr_detail) {
                char *d = NULL;

                va_start(ap, fmt);
                if (vasprintf(&d, fmt, ap) < 0)
                        d = NULL;
                va_end(ap);
                *reterr_detail = d;
        }
        return r;
}

bool state_name_is_valid(const char *s, size_t len) {
        if (!s || len == 0 || len > STATE_NAME_MAX || strlen(s) != len)
                return false;
        for (size_t i = 0; i < len; i++)
                if ((unsigned char) s[i] < 0x20 || s[i] == 0x7f)
                        return false;
        return true;
}

static bool state_name_ok(const char *s) {
        return s && state_name_is_valid(s, strnlen(s, STATE_NAME_MAX + 1));
}

int state_new(state **ret) {
        state *s;

        if (!ret)
                return -EINVAL;
        s = calloc(1, sizeof(*s));
        if (!s)
                return -ENOMEM;
        *ret = s;
        return 0;
}

state *state_free(state *s) {
        if (!s)
                return NULL;
        for (size_t i = 0; i < s->n_votes; i++)
                free(s->votes[i].candidate);
        for (size_t i = 0; i < s->n_clusters; i++) {
                free(s->clusters[i].name);
                free(s->clusters[i].primary);
        }
        free(s->clusters);
        free(s);
        return NULL;
}

uint64_t state_get_epoch(const state *s) {
        return s ? s->epoch : 0;
}

int state_set_epoch(state *s, uint64_t epoch) {
        if (!s)
                return -EINVAL;
        if (epoch > STATE_EPOCH_MAX)
                return -ERANGE;
        if (epoch < s->epoch)
                return -STATE_ERROR_EPOCH_BACKWARDS;
        if (epoch == s->epoch)
                return 0;
        s->epoch = epoch;
        return 1;
}

int state_record_vote(state *s, uint64_t epoch, const char *candidate) {
        state_vote *last;
        char *c;

        if (!s || !state_name_ok(candidate))
                return -EINVAL;
        if (epoch > STATE_EPOCH_MAX)
                return -ERANGE;

        last = s->n_votes > 0 ? &s->votes[s->n_votes - 1] : NULL;
        if (last && last->epoch == epoch)
                return streq(last->candidate, candidate) ? 0 : -STATE_ERROR_ALREADY_VOTED;
        if ((last && epoch < last->epoch) || epoch < s->epoch)
                return -STATE_ERROR_VOTE_STALE;

        c = strdup(candidate);
        if (!c)
                return -ENOMEM;
        if (s->n_votes == STATE_VOTES_MAX) {
                free(s->votes[0].candidate);
                memmove(s->votes, s->votes + 1, (STATE_VOTES_MAX - 1) * sizeof(state_vote));
                s->n_votes--;
        }
        s->votes[s->n_votes++] = (state_vote){.epoch = epoch, .candidate = c};
        s->epoch = epoch;
        return 1;
}

int state_vote_for(const state *s, uint64_t epoch, const char **ret_candidate) {
        if (!s)
                return -EINVAL;
        for (size_t i = 0; i < s->n_votes; i++)
                if (s->votes[i].epoch == epoch) {
                        if (ret_candidate)
                                *ret_candidate = s->votes[i].candidate;
                        return 1;
                }
        /* A full history may have dropped older votes: for those epochs we cannot tell. */
        if (s->n_votes == STATE_VOTES_MAX && epoch < s->votes[0].epoch)
                return -STATE_ERROR_VOTE_STALE;
        if (ret_candidate)
                *ret_candidate = NULL;
        return 0;
}

int state_last_vote(const state *s, uint64_t *ret_epoch, const char **ret_candidate) {
        const state_vote *v;

        if (!s)
                return -EINVAL;
        v = s->n_votes > 0 ? &s->votes[s->n_votes - 1] : NULL;
        if (ret_epoch)
                *ret_epoch = v ? v->epoch : 0;
        if (ret_candidate)
                *ret_candidate = v ? v->candidate : NULL;
        return !!v;
}

/* cluster's entry and its index, or NULL and where it would be inserted (ret_i may be NULL). */
state_cluster *state_cluster_find(const state *s, const char *cluster, size_t *ret_i) {
        size_t lo = 0, hi = s->n_clusters;
        bool found = false;

        while (lo < hi && !found) {
                size_t mid = lo + (hi - lo) / 2;
                int c = strcmp(s->clusters[mid].name, cluster);

                if (c == 0) {
                        lo = mid;
                        found = true;
                } else if (c < 0)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        if (ret_i)
                *ret_i = lo;
        return found ? &s->clusters[lo] : NULL;
}

/* Inserts an empty entry for cluster at i, where state_cluster_find() did not find it; NULL (and no
 * change) when out of memory. The caller fills it in before returning. */
state_cluster *state_cluster_insert(state *s, size_t i, const char *cluster) {
        _cleanup_free_ char *n = strdup(cluster);
        state_cluster *a;

        if (!n)
                return NULL;
        a = realloc(s->clusters, (s->n_clusters + 1) * sizeof(state_cluster));
        if (!a)
                return NULL;
        s->clusters = a;
        memmove(a + i + 1, a + i, (s->n_clusters - i) * sizeof(state_cluster));
        a[i] = (state_cluster){.name = TAKE_PTR(n)};
        s->n_clusters++;
        return &a[i];
}

/* Drops the entry at i once it holds nothing, so that clearing a field gives back an equal state. */
static void state_cluster_prune(state *s, size_t i) {
        const state_cluster *c = &s->clusters[i];

        if (c->primary || c->maintenance_until != STATE_MAINTENANCE_OFF || c->maintenance_set != 0 ||
                c->has_failover)
                return;
        free(c->name);
        memmove(s->clusters + i, s->clusters + i + 1, (s->n_clusters - i - 1) * sizeof(state_cluster));
        s->n_clusters--;
}

int state_set_cluster_primary(state *s, const char *cluster, const char *primary, uint64_t config_epoch) {
        _cleanup_free_ char *p = NULL;
        state_cluster *c;
        size_t i;

        if (!s || !state_name_ok(cluster) || !state_name_ok(primary))
                return -EINVAL;
        if (config_epoch > STATE_EPOCH_MAX)
                return -ERANGE;

        c = state_cluster_find(s, cluster, &i);
        /* An entry without a primary (only a maintenance or a failover) takes any config epoch. */
        if (c && c->primary) {
                if (config_epoch < c->config_epoch)
                        return -STATE_ERROR_CONFIG_EPOCH_STALE;
                if (config_epoch == c->config_epoch)
                        return streq(c->primary, primary) ? 0 : -STATE_ERROR_CONFIG_CONFLICT;
        }
        p = strdup(primary);
        if (!p || (!c && !(c = state_cluster_insert(s, i, cluster))))
                return -ENOMEM;
        free(c->primary);
        c->primary = TAKE_PTR(p);
        c->config_epoch = config_epoch;
        c->pending = false; /* a new configuration is committed unless the caller says otherwise */
        return 1;
}

int state_set_cluster_pending(state *s, const char *cluster, bool pending) {
        state_cluster *c;

        if (!s || !cluster)
                return -EINVAL;
        c = state_cluster_find(s, cluster, NULL);
        if (!c || !c->primary)
                return pending ? -ENOENT : 0;
        if (c->pending == pending)
                return 0;
        c->pending = pending;
        return 1;
}

bool state_get_cluster_pending(const state *s, const char *cluster) {
        const state_cluster *c = s && cluster ? state_cluster_find(s, cluster, NULL) : NULL;

        return c && c->primary && c->pending;
}

int state_get_cluster_primary(
        const state *s, const char *cluster, const char **ret_primary, uint64_t *ret_config_epoch) {
        const state_cluster *c;

        if (!s || !cluster)
                return -EINVAL;
        c = state_cluster_find(s, cluster, NULL);
        if (c && !c->primary)
                c = NULL;
        if (ret_primary)
                *ret_primary = c ? c->primary : NULL;
        if (ret_config_epoch)
                *ret_config_epoch = c ? c->config_epoch : 0;
        return !!c;
}

size_t state_n_clusters(const state *s) {
        size_t n = 0;

        for (size_t i = 0; s && i < s->n_clusters; i++)
                n += !!s->clusters[i].primary;
        return n;
}

int state_set_cluster_maintenance(state *s, const char *cluster, uint64_t until_realtime_usec) {
        state_cluster *c;
        size_t i;

        if (!s || !state_name_ok(cluster))
                return -EINVAL;
        c = state_cluster_find(s, cluster, &i);
        if ((c ? c->maintenance_until : STATE_MAINTENANCE_OFF) == until_realtime_usec)
                return 0;
        if (!c && !(c = state_cluster_insert(s, i, cluster)))
                return -ENOMEM;
        c->maintenance_until = until_realtime_usec;
        state_cluster_prune(s, i);
        return 1;
}

int state_set_cluster_maintenance_at(
        state *s, const char *cluster, uint64_t until_realtime_usec, uint64_t set_usec) {
        state_cluster *c;
        size_t i;

        if (!s || !state_name_ok(cluster))
                return -EINVAL;
        if (set_usec == UINT64_MAX)
                return -ERANGE;
        c = state_cluster_find(s, cluster, &i);
        if ((c ? c->maintenance_until : STATE_MAINTENANCE_OFF) == until_realtime_usec &&
                (c ? c->maintenance_set : 0) == set_usec)
                return 0;
        if (!c && !(c = state_cluster_insert(s, i, cluster)))
                return -ENOMEM;
        c->maintenance_until = until_realtime_usec;
        c->maintenance_set = set_usec;
        state_cluster_prune(s, i);
        return 1;
}

int state_get_cluster_maintenance_at(
        const state *s, const char *cluster, uint64_t *ret_until_realtime_usec, uint64_t *ret_set_usec) {
        const state_cluster *c;

        if (!s || !cluster)
                return -EINVAL;
        c = state_cluster_find(s, cluster, NULL);
        if (ret_until_realtime_usec)
                *ret_until_realtime_usec = c ? c->maintenance_until : STATE_MAINTENANCE_OFF;
        if (ret_set_usec)
                *ret_set_usec = c ? c->maintenance_set : 0;
        return c && (c->maintenance_until != STATE_MAINTENANCE_OFF || c->maintenance_set != 0);
}

int state_get_cluster_maintenance(const state *s, const char *cluster, uint64_t *ret_until_realtime_usec) {
        const state_cluster *c;
        uint64_t until;

        if (!s || !cluster)
                return -EINVAL;
        c = state_cluster_find(s, cluster, NULL);
        until = c ? c->maintenance_until : STATE_MAINTENANCE_OFF;
        if (ret_until_realtime_usec)
                *ret_until_realtime_usec = until;
        return until != STATE_MAINTENANCE_OFF;
}

int state_set_cluster_last_failover(state *s, const char *cluster, uint64_t realtime_usec, uint64_t epoch) {
        state_cluster *c;
        size_t i;

        if (!s || !state_name_ok(cluster))
                return -EINVAL;
        /* UINT64_MAX cannot be told apart from an overflow when read back (json-c saturates). */
        if (realtime_usec == UINT64_MAX || epoch > STATE_EPOCH_MAX)
                return -ERANGE;
        c = state_cluster_find(s, cluster, &i);
        if (c && c->has_failover && c->failover_usec == realtime_usec && c->failover_epoch == epoch)
                return 0;
        if (!c && !(c = state_cluster_insert(s, i, cluster)))
                return -ENOMEM;
        c->has_failover = true;
        c->failover_usec = realtime_usec;
        c->failover_epoch = epoch;
        return 1;
}

int state_get_cluster_last_failover(
        const state *s, const char *cluster, uint64_t *ret_realtime_usec, uint64_t *ret_epoch) {
        const state_cluster *c;

        if (!s || !cluster)
                return -EINVAL;
        c = state_cluster_find(s, cluster, NULL);
        if (c && !c->has_failover)
                c = NULL;
        if (ret_realtime_usec)
                *ret_realtime_usec = c ? c->failover_usec : 0;
        if (ret_epoch)
                *ret_epoch = c ? c->failover_epoch : 0;
        return !!c;
}

bool state_equal(const state *a, const state *b) {
        if (!a || !b)
                return a == b;
        if (a->epoch != b->epoch || a->n_votes != b->n_votes || a->n_clusters != b->n_clusters)
                return false;
        for (size_t i = 0; i < a->n_votes; i++)
                if (a->votes[i].epoch != b->votes[i].epoch ||
                        !streq(a->votes[i].candidate, b->votes[i].candidate))
                        return false;
        for (size_t i = 0; i < a->n_clusters; i++) {
                const state_cluster *x = &a->clusters[i], *y = &b->clusters[i];

                if (!streq(x->name, y->name) || !streq_ptr(x->primary, y->primary) ||
                        x->config_epoch != y->config_epoch || x->pending != y->pending ||
                        x->maintenance_until != y->maintenance_until ||
                        x->maintenance_set != y->maintenance_set || x->has_failover != y->has_failover ||
                        x->failover_usec != y->failover_usec || x->failover_epoch != y->failover_epoch)
                        return false;
        }
        return true;
}

int state_load(const char *state_dir, state **ret, char **reterr_detail) {
        _cleanup_close_ int dir_fd = -1;
        _cleanup_free_ char *data = NULL, *detail = NULL;
        size_t len;
        int r;

        if (!state_dir || !*state_dir || !ret)
                return -EINVAL;

        dir_fd = fsutil_open_dir(state_dir);
        if (dir_fd < 0)
                return state_fail(reterr_detail, dir_fd, "%s: cannot open the state directory: %s",
                        state_dir, strerror(-dir_fd));

        r = fsutil_read_file_at(dir_fd, STATE_FILE_NAME, STATE_FILE_SIZE_MAX, &data, &len);
        if (r == -ENOENT)
                return state_new(ret); /* never written: the one case that starts fresh */
        if (r < 0)
                return state_fail(reterr_detail, r, "%s/%s: cannot read: %s", state_dir, STATE_FILE_NAME,
                        strerror(-r));

        r = state_parse(data, len, ret, &detail);
        if (r < 0)
                return state_fail(reterr_detail, r, "%s/%s: %s: %s", state_dir, STATE_FILE_NAME,
                        state_strerror(r), detail ?: "?");
        return 1;
}

int state_save_full(const char *state_dir, const state *s, const fsutil_write_options *opts) {
        _cleanup_close_ int dir_fd = -1;
        _cleanup_free_ char *data = NULL;
        size_t len;
        int r;

        if (!state_dir || !s)
                return -EINVAL;
        r = state_format(s, &data, &len);
        if (r < 0)
                return r;
        dir_fd = fsutil_open_dir(state_dir);
        if (dir_fd < 0)
                return dir_fd;

        /* We are the only writer of state_dir: any temp file is a leftover of a crash. */
        (void) fsutil_remove_temps_at(dir_fd, STATE_FILE_NAME);
        return fsutil_write_atomic_at(dir_fd, STATE_FILE_NAME, data, len, STATE_FILE_MODE, opts);
}

int state_save(const char *state_dir, const state *s) {
        return state_save_full(state_dir, s, NULL);
}
