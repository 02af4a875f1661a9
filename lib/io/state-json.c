/* state.json's text: state_format() and state_parse() (the format is described in state.h); the
 * in-memory model and loading and saving the file are in state.c. */
#include <errno.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <openssl/evp.h>
#include <stdio.h>

#include "macro.h"
#include "state-internal.h"

#define CHECKSUM_PREFIX  "sha256:"
#define CHECKSUM_HEX_LEN (2 * 32)

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
