#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "macro.h"
#include "peer-payload.h"

/* Every payload type is a flat object described by a table of fields; OPINION is an array of such
 * objects. One table serves building, parsing and freeing, so what is built always parses back. */

typedef enum field_kind {
        FIELD_NAME,     /* string: 1..PEER_STRING_MAX bytes, no control character */
        FIELD_TEXT,     /* string: 0..PEER_STRING_MAX bytes, no control character */
        FIELD_SENTINEL, /* string: a sentinel name, peer_name_is_valid() */
        FIELD_U64,      /* integer 0..PEER_U64_MAX */
        FIELD_BOOL,
} field_kind;

typedef struct field {
        const char *key;
        field_kind kind;
        bool nullable; /* strings: NULL is null; u64: PEER_MS_NEVER is null */
        bool optional; /* may be missing (a field added later: an older sender leaves it out): zero then */
        size_t offset;
} field;

#define F(type, member, k, n)                                                                               \
        { .key = #member, .kind = (k), .nullable = (n), .offset = offsetof(type, member) }
#define F_OPTIONAL(type, member, k)                                                                         \
        { .key = #member, .kind = (k), .optional = true, .offset = offsetof(type, member) }

static const field hello_fields[] = {
        F(peer_hello, zone, FIELD_NAME, false),
        F(peer_hello, epoch, FIELD_U64, false),
        F(peer_hello, version, FIELD_NAME, false),
        {},
};

static const field opinion_cluster_fields[] = {
        F(peer_opinion_cluster, name, FIELD_NAME, false),
        F(peer_opinion_cluster, primary, FIELD_NAME, true),
        F(peer_opinion_cluster, sdown, FIELD_BOOL, false),
        F(peer_opinion_cluster, last_ok_ms_ago, FIELD_U64, true),
        F(peer_opinion_cluster, evidence, FIELD_U64, false),
        F(peer_opinion_cluster, config_epoch, FIELD_U64, false),
        F(peer_opinion_cluster, pending, FIELD_BOOL, false),
        F(peer_opinion_cluster, confirms, FIELD_BOOL, false),
        F(peer_opinion_cluster, self_fenced, FIELD_BOOL, false),
        F_OPTIONAL(peer_opinion_cluster, settled_epoch, FIELD_U64),
        {},
};

/* The members of an OPINION beside its clusters. */
static const field opinion_fields[] = {
        F(peer_opinion, ping, FIELD_U64, false),
        F(peer_opinion, pong, FIELD_U64, true),
        {},
};

static const field vote_request_fields[] = {
        F(peer_vote_request, cluster, FIELD_NAME, false),
        F(peer_vote_request, epoch, FIELD_U64, false),
        F(peer_vote_request, primary, FIELD_NAME, false),
        F(peer_vote_request, kind, FIELD_NAME, false),
        {},
};

static const field vote_reply_fields[] = {
        F(peer_vote_reply, cluster, FIELD_NAME, false),
        F(peer_vote_reply, epoch, FIELD_U64, false),
        F(peer_vote_reply, granted, FIELD_BOOL, false),
        F(peer_vote_reply, voted_for, FIELD_SENTINEL, true),
        F(peer_vote_reply, reason, FIELD_TEXT, false),
        {},
};

static const field config_fields[] = {
        F(peer_config, cluster, FIELD_NAME, false),
        F(peer_config, epoch, FIELD_U64, false),
        F(peer_config, primary, FIELD_NAME, false),
        {},
};

static const field maintenance_fields[] = {
        F(peer_maintenance, cluster, FIELD_NAME, false),
        F(peer_maintenance, until_usec, FIELD_U64, false),
        F(peer_maintenance, set_usec, FIELD_U64, false),
        {},
};

static void json_putp(json_object **o) {
        json_object_put(*o);
}
#define _cleanup_json_ _cleanup_(json_putp)

static bool is_field_kind_string(field_kind k) {
        return k == FIELD_NAME || k == FIELD_TEXT || k == FIELD_SENTINEL;
}

static bool string_is_valid(field_kind kind, const char *s, size_t len) {
        if (kind == FIELD_SENTINEL)
                return len == strlen(s) && peer_name_is_valid(s);
        if (len > PEER_STRING_MAX || (kind == FIELD_NAME && len == 0))
                return false;
        for (size_t i = 0; i < len; i++)
                if ((unsigned char) s[i] < 0x20 || s[i] == 0x7f) /* also a NUL inside */
                        return false;
        return true;
}

static char **field_string(const field *f, void *s) {
        return (char **) ((uint8_t *) s + f->offset);
}

static uint64_t *field_u64(const field *f, void *s) {
        return (uint64_t *) ((uint8_t *) s + f->offset);
}

static bool *field_bool(const field *f, void *s) {
        return (bool *) ((uint8_t *) s + f->offset);
}

static void fields_done(const field *fields, void *s) {
        for (const field *f = fields; f->key; f++)
                if (is_field_kind_string(f->kind))
                        free(*field_string(f, s));
}

/* Adds the members of struct s described by fields to the object o; -EINVAL when a value is out of
 * range, -ENOMEM. */
static int fields_build(const field *fields, const void *s, json_object *o) {
        void *m = (void *) s; /* only read */

        for (const field *f = fields; f->key; f++) {
                json_object *v = NULL;

                if (is_field_kind_string(f->kind)) {
                        const char *str = *field_string(f, m);

                        if (!str && !f->nullable)
                                return -EINVAL;
                        if (str) {
                                if (!string_is_valid(f->kind, str, strlen(str)))
                                        return -EINVAL;
                                v = json_object_new_string(str);
                                if (!v)
                                        return -ENOMEM;
                        }
                } else if (f->kind == FIELD_U64) {
                        uint64_t u = *field_u64(f, m);

                        if (u == PEER_MS_NEVER && !f->nullable)
                                return -EINVAL;
                        if (u != PEER_MS_NEVER) {
                                v = json_object_new_uint64(u);
                                if (!v)
                                        return -ENOMEM;
                        }
                } else {
                        v = json_object_new_boolean(*field_bool(f, m));
                        if (!v)
                                return -ENOMEM;
                }
                /* v NULL is JSON null. */
                if (json_object_object_add(o, f->key, v) < 0) {
                        json_object_put(v);
                        return -ENOMEM;
                }
        }
        return 0;
}

/* Reads the members of the object o described by fields into the zeroed struct ret; -EINVAL when
 * one is missing, mistyped or out of range, -ENOMEM. On failure ret is left zeroed. */
static int fields_parse(json_object *o, const field *fields, void *ret) {
        int r = 0;

        if (!json_object_is_type(o, json_type_object))
                return -EINVAL;
        for (const field *f = fields; f->key && r == 0; f++) {
                json_object *v;

                if (!json_object_object_get_ex(o, f->key, &v)) {
                        if (f->optional)
                                continue;
                        r = -EINVAL;
                        break;
                }
                if (!v) { /* null */
                        if (!f->nullable)
                                r = -EINVAL;
                        else if (f->kind == FIELD_U64)
                                *field_u64(f, ret) = PEER_MS_NEVER;
                        continue;
                }
                if (is_field_kind_string(f->kind)) {
                        const char *str = json_object_get_string(v);
                        size_t len = (size_t) json_object_get_string_len(v);
                        char *copy;

                        if (!json_object_is_type(v, json_type_string) ||
                                !string_is_valid(f->kind, str, len)) {
                                r = -EINVAL;
                                break;
                        }
                        copy = strndup(str, len);
                        if (!copy) {
                                r = -ENOMEM;
                                break;
                        }
                        *field_string(f, ret) = copy;
                } else if (f->kind == FIELD_U64) {
                        /* A negative number reads as int64 < 0; anything past UINT64_MAX as UINT64_MAX. */
                        if (!json_object_is_type(v, json_type_int) || json_object_get_int64(v) < 0 ||
                                json_object_get_uint64(v) > PEER_U64_MAX)
                                r = -EINVAL;
                        else
                                *field_u64(f, ret) = json_object_get_uint64(v);
                } else {
                        if (!json_object_is_type(v, json_type_boolean))
                                r = -EINVAL;
                        else
                                *field_bool(f, ret) = json_object_get_boolean(v);
                }
        }
        if (r < 0) {
                fields_done(fields, ret);
                for (const field *f = fields; f->key; f++)
                        if (is_field_kind_string(f->kind))
                                *field_string(f, ret) = NULL;
        }
        return r;
}

/* Builds a flat payload from struct s. */
static int flat_build(const field *fields, const void *s, json_object **ret) {
        _cleanup_json_ json_object *o = NULL;
        int r;

        if (!ret)
                return -EINVAL;
        o = json_object_new_object();
        if (!o)
                return -ENOMEM;
        r = fields_build(fields, s, o);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(o);
        return 0;
}

int peer_hello_build(const char *zone, uint64_t epoch, const char *version, json_object **ret) {
        peer_hello h = {.zone = (char *) zone, .epoch = epoch, .version = (char *) version};

        return flat_build(hello_fields, &h, ret);
}

int peer_hello_parse(json_object *p, peer_hello *ret) {
        peer_hello h = {};
        int r;

        if (!ret)
                return -EINVAL;
        r = fields_parse(p, hello_fields, &h);
        if (r < 0)
                return r;
        *ret = h;
        return 0;
}

void peer_hello_done(peer_hello *h) {
        if (!h)
                return;
        fields_done(hello_fields, h);
        *h = (peer_hello){};
}

static bool opinion_has_duplicates(const peer_opinion_cluster *c, size_t n) {
        for (size_t i = 1; i < n; i++)
                for (size_t j = 0; j < i; j++)
                        if (streq(c[i].name, c[j].name))
                                return true;
        return false;
}

int peer_opinion_build(uint64_t ping, uint64_t pong, const peer_opinion_cluster *clusters, size_t n_clusters,
        json_object **ret) {
        _cleanup_json_ json_object *o = NULL;
        peer_opinion top = {.ping = ping, .pong = pong};
        json_object *array;
        int r;

        if (!ret || (!clusters && n_clusters > 0))
                return -EINVAL;
        o = json_object_new_object();
        if (o && (r = fields_build(opinion_fields, &top, o)) < 0)
                return r;
        array = json_object_new_array_ext((int) n_clusters);
        if (!o || !array) {
                json_object_put(array);
                return -ENOMEM;
        }
        if (json_object_object_add(o, "clusters", array) < 0) {
                json_object_put(array);
                return -ENOMEM;
        }
        for (size_t i = 0; i < n_clusters; i++) {
                json_object *entry = json_object_new_object();

                if (!entry)
                        return -ENOMEM;
                if (json_object_array_add(array, entry) < 0) {
                        json_object_put(entry);
                        return -ENOMEM;
                }
                r = fields_build(opinion_cluster_fields, &clusters[i], entry);
                if (r < 0)
                        return r;
        }
        if (opinion_has_duplicates(clusters, n_clusters))
                return -EINVAL;
        *ret = TAKE_PTR(o);
        return 0;
}

int peer_opinion_parse(json_object *p, peer_opinion *ret) {
        _cleanup_(peer_opinion_done) peer_opinion o = {};
        json_object *array;
        size_t n;
        int r;

        if (!ret)
                return -EINVAL;
        if (!json_object_is_type(p, json_type_object) || !json_object_object_get_ex(p, "clusters", &array) ||
                !json_object_is_type(array, json_type_array))
                return -EINVAL;
        r = fields_parse(p, opinion_fields, &o); /* ping and pong: no strings to free */
        if (r < 0)
                return r;
        n = json_object_array_length(array);
        if (n > 0) {
                o.clusters = calloc(n, sizeof(peer_opinion_cluster));
                if (!o.clusters)
                        return -ENOMEM;
        }
        for (size_t i = 0; i < n; i++) {
                r = fields_parse(
                        json_object_array_get_idx(array, i), opinion_cluster_fields, &o.clusters[i]);
                if (r < 0)
                        return r;
                o.n_clusters++;
        }
        if (opinion_has_duplicates(o.clusters, o.n_clusters))
                return -EINVAL;
        *ret = o;
        o = (peer_opinion){};
        return 0;
}

void peer_opinion_done(peer_opinion *o) {
        if (!o)
                return;
        for (size_t i = 0; i < o->n_clusters; i++)
                fields_done(opinion_cluster_fields, &o->clusters[i]);
        free(o->clusters);
        *o = (peer_opinion){};
}

const peer_opinion_cluster *peer_opinion_find(const peer_opinion *o, const char *cluster) {
        if (!o || !cluster)
                return NULL;
        for (size_t i = 0; i < o->n_clusters; i++)
                if (streq(o->clusters[i].name, cluster))
                        return &o->clusters[i];
        return NULL;
}

int peer_vote_request_build(
        const char *cluster, uint64_t epoch, const char *primary, const char *kind, json_object **ret) {
        peer_vote_request v = {
                .cluster = (char *) cluster, .epoch = epoch, .primary = (char *) primary, .kind = (char *) kind};

        if (!peer_vote_kind_is_valid(kind))
                return -EINVAL;
        return flat_build(vote_request_fields, &v, ret);
}

bool peer_vote_kind_is_valid(const char *kind) {
        return kind && (streq(kind, PEER_VOTE_KIND_FAILOVER) || streq(kind, PEER_VOTE_KIND_SWITCHOVER) ||
                               streq(kind, PEER_VOTE_KIND_FORCED));
}

int peer_vote_request_parse(json_object *p, peer_vote_request *ret) {
        peer_vote_request v = {};
        int r;

        if (!ret)
                return -EINVAL;
        r = fields_parse(p, vote_request_fields, &v);
        if (r < 0)
                return r;
        if (!peer_vote_kind_is_valid(v.kind)) {
                peer_vote_request_done(&v);
                return -EINVAL;
        }
        *ret = v;
        return 0;
}

void peer_vote_request_done(peer_vote_request *v) {
        if (!v)
                return;
        fields_done(vote_request_fields, v);
        *v = (peer_vote_request){};
}

int peer_vote_reply_build(const char *cluster, uint64_t epoch, bool granted, const char *voted_for,
        const char *reason, json_object **ret) {
        peer_vote_reply v = {
                .cluster = (char *) cluster,
                .epoch = epoch,
                .granted = granted,
                .voted_for = (char *) voted_for,
                .reason = (char *) (reason ?: ""),
        };

        return flat_build(vote_reply_fields, &v, ret);
}

int peer_vote_reply_parse(json_object *p, peer_vote_reply *ret) {
        peer_vote_reply v = {};
        int r;

        if (!ret)
                return -EINVAL;
        r = fields_parse(p, vote_reply_fields, &v);
        if (r < 0)
                return r;
        *ret = v;
        return 0;
}

void peer_vote_reply_done(peer_vote_reply *v) {
        if (!v)
                return;
        fields_done(vote_reply_fields, v);
        *v = (peer_vote_reply){};
}

int peer_config_build(const char *cluster, uint64_t epoch, const char *primary, json_object **ret) {
        peer_config c = {.cluster = (char *) cluster, .epoch = epoch, .primary = (char *) primary};

        return flat_build(config_fields, &c, ret);
}

int peer_config_parse(json_object *p, peer_config *ret) {
        peer_config c = {};
        int r;

        if (!ret)
                return -EINVAL;
        r = fields_parse(p, config_fields, &c);
        if (r < 0)
                return r;
        *ret = c;
        return 0;
}

void peer_config_done(peer_config *c) {
        if (!c)
                return;
        fields_done(config_fields, c);
        *c = (peer_config){};
}

int peer_maintenance_build(const char *cluster, uint64_t until_usec, uint64_t set_usec, json_object **ret) {
        peer_maintenance m = {.cluster = (char *) cluster, .until_usec = until_usec, .set_usec = set_usec};

        return flat_build(maintenance_fields, &m, ret);
}

int peer_maintenance_parse(json_object *p, peer_maintenance *ret) {
        peer_maintenance m = {};
        int r;

        if (!ret)
                return -EINVAL;
        r = fields_parse(p, maintenance_fields, &m);
        if (r < 0)
                return r;
        *ret = m;
        return 0;
}

void peer_maintenance_done(peer_maintenance *m) {
        if (!m)
                return;
        fields_done(maintenance_fields, m);
        *m = (peer_maintenance){};
}

int peer_payload_check(peer_msg_type type, json_object *p) {
        /* Big enough for any flat payload struct. */
        union {
                peer_hello hello;
                peer_vote_request vote_request;
                peer_vote_reply vote_reply;
                peer_config config;
                peer_maintenance maintenance;
        } u = {};
        static const field *const tables[_PEER_MSG_TYPE_MAX] = {
                [PEER_MSG_HELLO] = hello_fields,
                [PEER_MSG_VOTE_REQUEST] = vote_request_fields,
                [PEER_MSG_VOTE_REPLY] = vote_reply_fields,
                [PEER_MSG_CONFIG] = config_fields,
                [PEER_MSG_MAINTENANCE] = maintenance_fields,
        };
        peer_opinion o;
        int r;

        if (type == PEER_MSG_VOTE_REQUEST) {
                r = peer_vote_request_parse(p, &u.vote_request);
                if (r >= 0)
                        peer_vote_request_done(&u.vote_request);
                return r;
        }
        if (type == PEER_MSG_OPINION) {
                r = peer_opinion_parse(p, &o);
                if (r >= 0)
                        peer_opinion_done(&o);
                return r;
        }
        if (type <= 0 || type >= _PEER_MSG_TYPE_MAX)
                return -EINVAL;
        r = fields_parse(p, tables[type], &u);
        if (r >= 0)
                fields_done(tables[type], &u);
        return r;
}
