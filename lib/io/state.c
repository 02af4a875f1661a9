#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <openssl/evp.h>
#include <stdarg.h>
#include <stdio.h>

#include "fsutil.h"
#include "macro.h"
#include "state.h"

#define CHECKSUM_PREFIX  "sha256:"
#define CHECKSUM_HEX_LEN (2 * 32)

typedef struct state_vote {
        uint64_t epoch;
        char *candidate;
} state_vote;

/* An entry lives while it holds something: a primary, a maintenance (or the time of its last change) or
 * a last failover. */
typedef struct state_cluster {
        char *name;
        char *primary; /* NULL when unknown, with config_epoch 0 */
        uint64_t config_epoch;
        bool pending; /* primary is written ahead of its promotion, not committed yet; only with primary */
        uint64_t maintenance_until; /* STATE_MAINTENANCE_OFF, STATE_MAINTENANCE_FOREVER or realtime usec */
        uint64_t maintenance_set;   /* realtime usec of the last change of maintenance_until; 0: unknown */
        bool has_failover;
        uint64_t failover_usec, failover_epoch; /* 0 without has_failover */
} state_cluster;

struct state {
        uint64_t epoch;
        state_vote votes[STATE_VOTES_MAX]; /* oldest first, epochs strictly increasing */
        size_t n_votes;
        state_cluster *clusters; /* sorted by name */
        size_t n_clusters;
};

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

_printf_(3, 4) static int state_fail(char **reterr_detail, int r, const char *fmt, ...) {
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

static bool state_name_is_valid(const char *s, size_t len) {
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
static state_cluster *state_cluster_find(const state *s, const char *cluster, size_t *ret_i) {
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
static state_cluster *state_cluster_insert(state *s, size_t i, const char *cluster) {
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

static void state_json_putp(json_object **o) {
        json_object_put(*o);
}
#define _cleanup_json_ _cleanup_(state_json_putp)

static int state_sha256_hex(const void *data, size_t len, char hex[static CHECKSUM_HEX_LEN + 1]) {
        unsigned char md[EVP_MAX_MD_SIZE];
        unsigned n = 0;

        if (EVP_Digest(data, len, md, &n, EVP_sha256(), NULL) != 1 || n * 2 != CHECKSUM_HEX_LEN)
                return -EIO;
        for (unsigned i = 0; i < n; i++)
                (void) snprintf(hex + 2 * i, 3, "%02x", md[i]);
        return 0;
}

/* Adds v to o under key, or appends it to the array o when key is NULL; takes v, also on failure. */
static int state_json_add(json_object *o, const char *key, json_object *v) {
        if (v && (key ? json_object_object_add(o, key, v) : json_object_array_add(o, v)) >= 0)
                return 0;
        json_object_put(v);
        return -ENOMEM;
}

static json_object *state_to_json(const state *s) {
        _cleanup_json_ json_object *root = NULL, *votes = NULL, *clusters = NULL;

        root = json_object_new_object();
        votes = json_object_new_array();
        clusters = json_object_new_array();
        if (!root || !votes || !clusters)
                return NULL;

        for (size_t i = 0; i < s->n_votes; i++) {
                json_object *v = json_object_new_object();

                if (state_json_add(votes, NULL, v) < 0 ||
                        state_json_add(v, "epoch", json_object_new_uint64(s->votes[i].epoch)) < 0 ||
                        state_json_add(v, "candidate", json_object_new_string(s->votes[i].candidate)) < 0)
                        return NULL;
        }
        for (size_t i = 0; i < s->n_clusters; i++) {
                const state_cluster *sc = &s->clusters[i];
                json_object *c = json_object_new_object();

                if (state_json_add(clusters, NULL, c) < 0 ||
                        state_json_add(c, "name", json_object_new_string(sc->name)) < 0)
                        return NULL;
                if (sc->primary && (state_json_add(c, "primary", json_object_new_string(sc->primary)) < 0 ||
                                           state_json_add(c, "config_epoch",
                                                   json_object_new_uint64(sc->config_epoch)) < 0))
                        return NULL;
                if (sc->primary && sc->pending &&
                        state_json_add(c, "pending", json_object_new_boolean(true)) < 0)
                        return NULL;
                if (sc->maintenance_until != STATE_MAINTENANCE_OFF &&
                        state_json_add(c, "maintenance_until_usec",
                                sc->maintenance_until == STATE_MAINTENANCE_FOREVER
                                        ? json_object_new_string("forever")
                                        : json_object_new_uint64(sc->maintenance_until)) < 0)
                        return NULL;
                if (sc->maintenance_set != 0 && state_json_add(c, "maintenance_set_usec",
                                                        json_object_new_uint64(sc->maintenance_set)) < 0)
                        return NULL;
                if (sc->has_failover && (state_json_add(c, "last_failover_usec",
                                                 json_object_new_uint64(sc->failover_usec)) < 0 ||
                                                state_json_add(c, "last_failover_epoch",
                                                        json_object_new_uint64(sc->failover_epoch)) < 0))
                        return NULL;
        }

        if (state_json_add(root, "version", json_object_new_int(STATE_FILE_VERSION)) < 0 ||
                state_json_add(root, "current_epoch", json_object_new_uint64(s->epoch)) < 0 ||
                state_json_add(root, "votes", TAKE_PTR(votes)) < 0 ||
                state_json_add(root, "clusters", TAKE_PTR(clusters)) < 0)
                return NULL;
        return TAKE_PTR(root);
}

int state_format(const state *s, char **ret_data, size_t *ret_len) {
        _cleanup_json_ json_object *root = NULL;
        _cleanup_free_ char *b = NULL;
        char hex[CHECKSUM_HEX_LEN + 1], *data;
        const char *body;
        int r;

        if (!s || !ret_data)
                return -EINVAL;
        root = state_to_json(s);
        if (!root)
                return -ENOMEM;
        body = json_object_to_json_string_ext(
                root, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED | JSON_C_TO_STRING_NOSLASHESCAPE);
        if (!body)
                return -ENOMEM;

        /* The checksum covers every byte before its line, including the newline that ends the body. */
        if (asprintf(&b, "%s\n", body) < 0)
                return -ENOMEM;
        r = state_sha256_hex(b, strlen(b), hex);
        if (r < 0)
                return r;
        r = asprintf(&data, "%s" CHECKSUM_PREFIX "%s\n", b, hex);
        if (r < 0)
                return -ENOMEM;
        *ret_data = data;
        if (ret_len)
                *ret_len = (size_t) r;
        return 0;
}

/* Fails unless o is an object with keys (NULL-terminated), of which only the first n_required must be
 * there, and no other key; their values go to values[], NULL for those missing. */
static int state_object_get(json_object *o, const char *what, const char *const *keys, size_t n_required,
        json_object **values, char **reterr_detail) {
        size_t present = 0;

        if (!json_object_is_type(o, json_type_object))
                return state_fail(reterr_detail, -STATE_ERROR_INVALID, "%s is not an object", what);
        for (size_t n = 0; keys[n]; n++) {
                values[n] = NULL;
                if (!json_object_object_get_ex(o, keys[n], &values[n])) {
                        if (n < n_required)
                                return state_fail(reterr_detail, -STATE_ERROR_INVALID,
                                        "%s: \"%s\" is missing", what, keys[n]);
                        continue;
                }
                /* A JSON null is a value of the wrong type, never a missing key. */
                if (!values[n])
                        return state_fail(
                                reterr_detail, -STATE_ERROR_INVALID, "%s: \"%s\" is null", what, keys[n]);
                present++;
        }
        /* json-c keeps one value per key: with the known keys counted, any other is one too many. */
        if ((size_t) json_object_object_length(o) != present)
                return state_fail(reterr_detail, -STATE_ERROR_INVALID, "%s: unknown key", what);
        return 0;
}

static int state_uint_value(json_object *v, const char *what, const char *key, uint64_t min, uint64_t max,
        uint64_t *ret, char **reterr_detail) {
        /* json-c saturates numbers above UINT64_MAX to it: every max here is below it. */
        if (!json_object_is_type(v, json_type_int) || json_object_get_int64(v) < 0 ||
                json_object_get_uint64(v) < min || json_object_get_uint64(v) > max)
                return state_fail(reterr_detail, -STATE_ERROR_INVALID,
                        "%s: \"%s\" is not an integer from %" PRIu64 " to %" PRIu64, what, key, min, max);
        *ret = json_object_get_uint64(v);
        return 0;
}

static int state_epoch_value(
        json_object *v, const char *what, const char *key, uint64_t *ret, char **reterr_detail) {
        return state_uint_value(v, what, key, 0, STATE_EPOCH_MAX, ret, reterr_detail);
}

/* "maintenance_until_usec": "forever", or a realtime from 1 (0 is off, and omitted) to UINT64_MAX - 1. */
static int state_maintenance_value(json_object *v, const char *what, uint64_t *ret, char **reterr_detail) {
        if (json_object_is_type(v, json_type_string)) {
                if (json_object_get_string_len(v) != strlen("forever") ||
                        !streq(json_object_get_string(v), "forever"))
                        return state_fail(reterr_detail, -STATE_ERROR_INVALID,
                                "%s: \"maintenance_until_usec\" is a string other than \"forever\"", what);
                *ret = STATE_MAINTENANCE_FOREVER;
                return 0;
        }
        return state_uint_value(v, what, "maintenance_until_usec", 1, UINT64_MAX - 1, ret, reterr_detail);
}

static int state_name_value(
        json_object *v, const char *what, const char *key, const char **ret, char **reterr_detail) {
        if (!json_object_is_type(v, json_type_string) ||
                !state_name_is_valid(json_object_get_string(v), (size_t) json_object_get_string_len(v)))
                return state_fail(reterr_detail, -STATE_ERROR_INVALID,
                        "%s: \"%s\" is not a name of 1 to %d printable bytes", what, key, STATE_NAME_MAX);
        *ret = json_object_get_string(v);
        return 0;
}

static int state_from_json(json_object *root, state **ret, char **reterr_detail) {
        static const char *const root_keys[] = {"version", "current_epoch", "votes", "clusters", NULL};
        static const char *const vote_keys[] = {"epoch", "candidate", NULL};
        static const char *const cluster_keys[] = {"name", "primary", "config_epoch",
                "maintenance_until_usec", "last_failover_usec", "last_failover_epoch", "pending",
                "maintenance_set_usec", NULL};
        _cleanup_(state_freep) state *s = NULL;
        json_object *v, *top[4], *f[8];
        char what[64];
        int r;

        if (!json_object_is_type(root, json_type_object))
                return state_fail(reterr_detail, -STATE_ERROR_SYNTAX, "the body is not a JSON object");

        /* The version first: a newer file may not follow any of the rules below. */
        if (!json_object_object_get_ex(root, "version", &v))
                return state_fail(reterr_detail, -STATE_ERROR_VERSION, "\"version\" is missing");
        if (!json_object_is_type(v, json_type_int) || json_object_get_int64(v) != STATE_FILE_VERSION)
                return state_fail(reterr_detail, -STATE_ERROR_VERSION,
                        "unknown version %s (this build reads version %d only)",
                        json_object_to_json_string(v), STATE_FILE_VERSION);

        r = state_new(&s);
        if (r >= 0)
                r = state_object_get(root, "the top level", root_keys, 4, top, reterr_detail);
        if (r >= 0)
                r = state_epoch_value(top[1], "the top level", "current_epoch", &s->epoch, reterr_detail);
        if (r < 0)
                return r;
        if (!json_object_is_type(top[2], json_type_array) || !json_object_is_type(top[3], json_type_array))
                return state_fail(
                        reterr_detail, -STATE_ERROR_INVALID, "\"votes\" or \"clusters\" is not an array");
        if (json_object_array_length(top[2]) > STATE_VOTES_MAX)
                return state_fail(
                        reterr_detail, -STATE_ERROR_INVALID, "more than %d votes", STATE_VOTES_MAX);

        for (size_t i = 0; i < json_object_array_length(top[2]); i++) {
                const char *candidate;
                uint64_t epoch = 0;

                (void) snprintf(what, sizeof(what), "votes[%zu]", i);
                r = state_object_get(
                        json_object_array_get_idx(top[2], i), what, vote_keys, 2, f, reterr_detail);
                if (r >= 0)
                        r = state_epoch_value(f[0], what, "epoch", &epoch, reterr_detail);
                if (r >= 0)
                        r = state_name_value(f[1], what, "candidate", &candidate, reterr_detail);
                if (r < 0)
                        return r;
                if (s->n_votes > 0 && epoch <= s->votes[s->n_votes - 1].epoch)
                        return state_fail(reterr_detail, -STATE_ERROR_INVALID,
                                "%s: epoch %" PRIu64 " is not above the previous vote's", what, epoch);
                if (epoch > s->epoch)
                        return state_fail(reterr_detail, -STATE_ERROR_INVALID,
                                "%s: epoch %" PRIu64 " is above current_epoch %" PRIu64, what, epoch,
                                s->epoch);
                s->votes[s->n_votes].candidate = strdup(candidate);
                if (!s->votes[s->n_votes].candidate)
                        return -ENOMEM;
                s->votes[s->n_votes++].epoch = epoch;
        }

        for (size_t i = 0; i < json_object_array_length(top[3]); i++) {
                const char *name, *primary = NULL;
                state_cluster c = {}, *e;
                size_t at;

                (void) snprintf(what, sizeof(what), "clusters[%zu]", i);
                r = state_object_get(
                        json_object_array_get_idx(top[3], i), what, cluster_keys, 1, f, reterr_detail);
                if (r >= 0)
                        r = state_name_value(f[0], what, "name", &name, reterr_detail);
                if (r >= 0 && !f[1] != !f[2])
                        r = state_fail(reterr_detail, -STATE_ERROR_INVALID,
                                "%s: \"primary\" and \"config_epoch\" come only together", what);
                if (r >= 0 && !f[4] != !f[5])
                        r = state_fail(reterr_detail, -STATE_ERROR_INVALID,
                                "%s: \"last_failover_usec\" and \"last_failover_epoch\" come only together",
                                what);
                if (r >= 0 && f[6] && !f[1])
                        r = state_fail(reterr_detail, -STATE_ERROR_INVALID,
                                "%s: \"pending\" comes only with \"primary\"", what);
                if (r >= 0 && f[6] && !json_object_is_type(f[6], json_type_boolean))
                        r = state_fail(reterr_detail, -STATE_ERROR_INVALID,
                                "%s: \"pending\" is not a boolean", what);
                if (r >= 0 && !f[1] && !f[3] && !f[4] && !f[7])
                        r = state_fail(
                                reterr_detail, -STATE_ERROR_INVALID, "%s: the cluster holds nothing", what);
                if (r >= 0 && f[1])
                        r = state_name_value(f[1], what, "primary", &primary, reterr_detail);
                if (r >= 0 && f[2])
                        r = state_epoch_value(f[2], what, "config_epoch", &c.config_epoch, reterr_detail);
                if (r >= 0 && f[3])
                        r = state_maintenance_value(f[3], what, &c.maintenance_until, reterr_detail);
                if (r >= 0 && f[4])
                        r = state_uint_value(f[4], what, "last_failover_usec", 0, UINT64_MAX - 1,
                                &c.failover_usec, reterr_detail);
                if (r >= 0 && f[5])
                        r = state_epoch_value(
                                f[5], what, "last_failover_epoch", &c.failover_epoch, reterr_detail);
                if (r >= 0 && f[7])
                        r = state_uint_value(f[7], what, "maintenance_set_usec", 1, UINT64_MAX - 1,
                                &c.maintenance_set, reterr_detail);
                if (r < 0)
                        return r;
                if (state_cluster_find(s, name, &at))
                        return state_fail(reterr_detail, -STATE_ERROR_INVALID,
                                "%s: cluster \"%s\" appears twice", what, name);
                if (primary && !(c.primary = strdup(primary)))
                        return -ENOMEM;
                e = state_cluster_insert(s, at, name);
                if (!e) {
                        free(c.primary);
                        return -ENOMEM;
                }
                c.name = e->name;
                c.has_failover = !!f[4];
                c.pending = f[6] && json_object_get_boolean(f[6]);
                *e = c;
        }

        *ret = TAKE_PTR(s);
        return 0;
}

int state_parse(const char *data, size_t len, state **ret, char **reterr_detail) {
        _cleanup_json_ json_object *root = NULL;
        char hex[CHECKSUM_HEX_LEN + 1];
        const char *line, *nl;
        size_t body_len, line_len, end;
        json_tokener *tok;
        int r;

        if ((!data && len > 0) || !ret)
                return -EINVAL;

        /* Framing: BODY "sha256:" HEX "\n", where BODY ends with a newline. */
        if (len == 0)
                return state_fail(reterr_detail, -STATE_ERROR_TRUNCATED, "the file is empty");
        if (data[len - 1] != '\n')
                return state_fail(reterr_detail, -STATE_ERROR_TRUNCATED, "the last line is incomplete");
        nl = len > 1 ? memrchr(data, '\n', len - 1) : NULL;
        body_len = nl ? (size_t) (nl - data) + 1 : 0;
        line = data + body_len;
        line_len = len - body_len - 1;
        if (line_len < strlen(CHECKSUM_PREFIX) ||
                memcmp(line, CHECKSUM_PREFIX, strlen(CHECKSUM_PREFIX)) != 0)
                return state_fail(reterr_detail, -STATE_ERROR_TRUNCATED, "the checksum line is missing");
        if (line_len != strlen(CHECKSUM_PREFIX) + CHECKSUM_HEX_LEN ||
                /* Lower case only, so that no flipped bit goes unnoticed; the '\n' stops strspn(). */
                strspn(line + strlen(CHECKSUM_PREFIX), "0123456789abcdef") != CHECKSUM_HEX_LEN)
                return state_fail(reterr_detail, -STATE_ERROR_CHECKSUM, "the checksum line is malformed");
        r = state_sha256_hex(data, body_len, hex);
        if (r < 0)
                return r;
        if (memcmp(hex, line + strlen(CHECKSUM_PREFIX), CHECKSUM_HEX_LEN) != 0)
                return state_fail(reterr_detail, -STATE_ERROR_CHECKSUM,
                        "the checksum does not match the content (stored %.12s..., computed %.12s...)",
                        line + strlen(CHECKSUM_PREFIX), hex);

        if (memchr(data, 0, body_len))
                return state_fail(reterr_detail, -STATE_ERROR_SYNTAX, "the body contains a NUL byte");
        tok = json_tokener_new();
        if (!tok)
                return -ENOMEM;
        json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
        root = json_tokener_parse_ex(tok, data, (int) body_len);
        if (!root) {
                enum json_tokener_error e = json_tokener_get_error(tok);

                end = json_tokener_get_parse_end(tok);
                json_tokener_free(tok);
                return state_fail(reterr_detail, -STATE_ERROR_SYNTAX, "invalid JSON at byte %zu: %s", end,
                        e == json_tokener_continue ? "unexpected end" : json_tokener_error_desc(e));
        }
        end = json_tokener_get_parse_end(tok);
        json_tokener_free(tok);
        if (end + strspn(data + end, " \t\r\n") != body_len)
                return state_fail(reterr_detail, -STATE_ERROR_SYNTAX,
                        "unexpected data after the JSON at byte %zu", end);

        return state_from_json(root, ret, reterr_detail);
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
