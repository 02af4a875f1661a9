#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <libconfig.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "config-read.h"
#include "config-internal.h"
#include "macro.h"
#include "strutil.h"

int loader_fail_at(loader *l, const char *file, unsigned line, const char *format, ...) {
        _cleanup_free_ char *msg = NULL;
        va_list ap;

        va_start(ap, format);
        if (vasprintf(&msg, format, ap) < 0)
                msg = NULL;
        va_end(ap);
        if (!msg)
                return -ENOMEM;
        free(l->error);
        if (asprintf(&l->error, "%s:%u: %s", file, line ? line : 1, msg) < 0) {
                l->error = NULL;
                return -ENOMEM;
        }
        return -EINVAL;
}

static void setting_path(const config_setting_t *s, char *buf, size_t size) {
        size_t n;

        if (!s || config_setting_is_root(s)) {
                buf[0] = '\0';
                return;
        }
        setting_path(config_setting_parent(s), buf, size);
        n = strlen(buf);
        if (config_setting_name(s))
                snprintf(buf + n, size - n, "%s%s", n > 0 ? "." : "", config_setting_name(s));
        else
                snprintf(buf + n, size - n, "[%d]", config_setting_index(s));
}

/* The dotted path of a setting, "clusters[0].probe.timeout_ms"; two may be in use at once. */
const char *loader_where(loader *l, const config_setting_t *s) {
        char *buf = l->where[l->which++ % 2];

        setting_path(s, buf, sizeof(l->where[0]));
        return buf;
}

static const char *type_name(int type) {
        static const char *const names[] = {
                [CONFIG_TYPE_GROUP] = "a group { ... }",
                [CONFIG_TYPE_INT] = "an integer",
                [CONFIG_TYPE_INT64] = "an integer",
                [CONFIG_TYPE_FLOAT] = "a floating-point number",
                [CONFIG_TYPE_STRING] = "a string",
                [CONFIG_TYPE_BOOL] = "a boolean",
                [CONFIG_TYPE_ARRAY] = "an array [ ... ]",
                [CONFIG_TYPE_LIST] = "a list ( ... )",
        };

        return type >= 0 && type < (int) ELEMENTSOF(names) && names[type] ? names[type] : "nothing";
}

static int wrong_type(loader *l, config_setting_t *s, const char *expected) {
        const char *hint = "";

        if (config_setting_type(s) == CONFIG_TYPE_STRING) {
                const char *v = config_setting_get_string(s);
                char *end;

                if (streq(expected, "an integer") && v[0] != '\0') {
                        errno = 0;
                        (void) strtoll(v, &end, 10);
                        if (*end == '\0' && errno == 0)
                                hint = " (write the number without quotes)";
                }
                if (streq(expected, "true or false") &&
                        (strcasecmp(v, "true") == 0 || strcasecmp(v, "false") == 0))
                        hint = " (write true or false without quotes)";
        } else if (config_setting_type(s) == CONFIG_TYPE_FLOAT && streq(expected, "an integer"))
                hint = " (durations are whole numbers; the unit is in the key's name)";
        else if (streq(expected, "a string") && config_setting_is_scalar(s))
                hint = " (put the value in double quotes)";

        return loader_fail(l, s, "%s must be %s, not %s%s", loader_where(l, s), expected,
                type_name(config_setting_type(s)), hint);
}

int loader_missing(loader *l, config_setting_t *g, const char *key, const char *why) {
        const char *w = loader_where(l, g);

        return loader_fail(l, g, "missing required key '%s' %s%s%s", key, w[0] ? "in " : "at the top level",
                w, why ?: "");
}

/* Secrets written inline, and the *_file key that should hold their path instead. */
static const char *const inline_secrets[][2] = {
        {"password", "password_file"},
        {"replication_password", "replication_password_file"},
        {"peer_secret", "peer_secret_file"},
        {"tsig_key", "tsig_key_file"},
        {"secret", NULL},
};

static int unknown_key(loader *l, config_setting_t *s, const char *const *known) {
        const char *name = config_setting_name(s), *guess;
        char list[256] = "";
        size_t n = 0;

        for (size_t i = 0; i < ELEMENTSOF(inline_secrets); i++)
                if (streq(name, inline_secrets[i][0]))
                        return loader_fail(l, s,
                                "%s: secrets are never written in the config: put it in a file only the "
                                "sentinel can read (chmod 0600) and name that file with '%s'",
                                loader_where(l, s),
                                inline_secrets[i][1] && str_in_list(known, inline_secrets[i][1])
                                        ? inline_secrets[i][1]
                                        : "..._file");

        guess = str_closest(name, known);
        if (guess)
                return loader_fail(l, s, "unknown key '%s'; did you mean '%s'?", loader_where(l, s), guess);

        for (const char *const *k = known; *k && n < sizeof(list); k++)
                n += (size_t) snprintf(list + n, sizeof(list) - n, "%s%s", n ? ", " : "", *k);
        return loader_fail(l, s, "unknown key '%s' (known keys here: %s)", loader_where(l, s), list);
}

int loader_check_keys(loader *l, config_setting_t *g, const char *const *known) {
        for (int i = 0; i < config_setting_length(g); i++) {
                config_setting_t *s = config_setting_get_elem(g, (unsigned) i);

                if (!str_in_list(known, config_setting_name(s)))
                        return unknown_key(l, s, known);
        }
        return 0;
}

int loader_get_setting(loader *l, config_setting_t *g, const char *key, bool required, int type,
        const char *expected, config_setting_t **ret) {
        config_setting_t *s = config_setting_get_member(g, key);

        if (!s)
                return required ? loader_missing(l, g, key, NULL) : 0;
        if (config_setting_type(s) != type &&
                !(type == CONFIG_TYPE_INT && config_setting_type(s) == CONFIG_TYPE_INT64))
                return wrong_type(l, s, expected);
        *ret = s;
        return 1;
}

int loader_get_string(loader *l, config_setting_t *g, const char *key, bool required, char **ret) {
        config_setting_t *s = NULL;
        const char *v;
        char *copy;
        int r;

        r = loader_get_setting(l, g, key, required, CONFIG_TYPE_STRING, "a string", &s);
        if (r <= 0)
                return r;
        v = config_setting_get_string(s);
        if (!v || v[0] == '\0')
                return loader_fail(l, s, "%s is empty", loader_where(l, s));
        if (str_has_control(v))
                return loader_fail(l, s, "%s contains a control character", loader_where(l, s));
        copy = strdup(v);
        if (!copy)
                return -ENOMEM;
        *ret = copy;
        return 1;
}

int loader_get_name(loader *l, config_setting_t *g, const char *key, bool required, char **ret) {
        _cleanup_free_ char *v = NULL;
        int r;

        r = loader_get_string(l, g, key, required, &v);
        if (r <= 0)
                return r;
        if (!str_is_name(v))
                return loader_fail(l, config_setting_get_member(g, key),
                        "%s \"%s\" is not a valid name: use 1 to 64 letters, digits, '.', '_' or '-', "
                        "starting with a letter or digit",
                        loader_where(l, config_setting_get_member(g, key)), v);
        *ret = TAKE_PTR(v);
        return 1;
}

int loader_get_int(loader *l, config_setting_t *g, const char *key, bool required, long long min,
        long long max, long long *ret) {
        const char *unit = str_endswith(key, "_ms")  ? " milliseconds"
                           : str_endswith(key, "_s") ? " seconds"
                                                     : "";
        config_setting_t *s = NULL;
        long long v = 0;
        int r;

        r = loader_get_setting(l, g, key, required, CONFIG_TYPE_INT, "an integer", &s);
        if (r <= 0)
                return r;
        v = config_setting_get_int64(s);
        if (v < min && min >= 1 && v <= 0 && unit[0])
                return loader_fail(
                        l, s, "%s is %lld: a duration must be positive (in%s)", loader_where(l, s), v, unit);
        if (v < min)
                return loader_fail(
                        l, s, "%s is %lld, below the minimum of %lld%s", loader_where(l, s), v, min, unit);
        if (v > max)
                return loader_fail(
                        l, s, "%s is %lld, above the maximum of %lld%s", loader_where(l, s), v, max, unit);
        *ret = v;
        return 1;
}

int loader_get_u64(
        loader *l, config_setting_t *g, const char *key, long long min, long long max, uint64_t *ret) {
        long long v = 0;
        int r;

        r = loader_get_int(l, g, key, false, min, max, &v);
        if (r > 0)
                *ret = (uint64_t) v;
        return r;
}

int loader_get_bool(loader *l, config_setting_t *g, const char *key, bool *ret) {
        config_setting_t *s = NULL;
        int r;

        r = loader_get_setting(l, g, key, false, CONFIG_TYPE_BOOL, "true or false", &s);
        if (r > 0)
                *ret = config_setting_get_bool(s);
        return r;
}

int loader_get_absolute_path(loader *l, config_setting_t *g, const char *key, bool required, char **ret) {
        _cleanup_free_ char *v = NULL;
        int r;

        r = loader_get_string(l, g, key, required, &v);
        if (r <= 0)
                return r;
        if (v[0] != '/')
                return loader_fail(l, config_setting_get_member(g, key),
                        "%s \"%s\" must be an absolute path (starting with '/')",
                        loader_where(l, config_setting_get_member(g, key)), v);
        *ret = TAKE_PTR(v);
        return 1;
}

/* A local file that is not a secret (tls): relative names resolve against the config's directory. */
int loader_get_file(loader *l, config_setting_t *g, const char *key, char **ret) {
        _cleanup_free_ char *v = NULL, *p = NULL;
        struct stat st;
        int r, fd;

        r = loader_get_string(l, g, key, false, &v);
        if (r <= 0)
                return r;
        p = str_path_join(l->dir, v);
        if (!p)
                return -ENOMEM;
        if (stat(p, &st) < 0) {
                const char *reason = strerror(errno);

                return loader_fail(l, config_setting_get_member(g, key), "%s: cannot access %s: %s",
                        loader_where(l, config_setting_get_member(g, key)), p, reason);
        }
        if (!S_ISREG(st.st_mode))
                return loader_fail(l, config_setting_get_member(g, key), "%s: %s is not a regular file",
                        loader_where(l, config_setting_get_member(g, key)), p);
        /* Read now, by the user the daemon runs as: a file it cannot read is found at load, not at
         * the first connection. */
        fd = open(p, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0) {
                const char *reason = strerror(errno);

                return loader_fail(l, config_setting_get_member(g, key),
                        "%s: cannot read %s: %s; make it readable by the user the sentinel runs as",
                        loader_where(l, config_setting_get_member(g, key)), p, reason);
        }
        (void) close(fd);
        *ret = TAKE_PTR(p);
        return 1;
}

/* Reads the secret file a *_file key names into *ret. */
/* See loader_get_secret(). */
#define SECRET_NAME_SHOWN_MAX 16

int loader_get_secret(loader *l, config_setting_t *g, const char *key, bool required, secret *ret) {
        _cleanup_free_ char *name = NULL, *path = NULL, *reason = NULL;
        const char *creds = getenv("CREDENTIALS_DIRECTORY");
        config_setting_t *s = NULL;
        int r;

        r = loader_get_string(l, g, key, required, &name);
        if (r <= 0)
                return r;
        s = config_setting_get_member(g, key);
        r = secret_resolve(name, l->dir, &path);
        if (r < 0)
                return r;
        r = secret_read_file(path, ret, &reason);
        if (r == -ENOMEM)
                return r;
        /* A long name with no '/' and no '.' that names no file may be the secret itself, written where
         * its file's name belongs: not echoed into logs. */
        if (r == -ENOENT && !strchr(name, '/') && !strchr(name, '.') && strlen(name) >= SECRET_NAME_SHOWN_MAX)
                return loader_fail(l, s,
                        "%s: no such file (its %zu-character name is not shown: with no '/' or '.' it may be "
                        "the secret itself; give the name of a file that holds it)",
                        loader_where(l, s), strlen(name));
        if (r < 0) {
                bool looked = r == -ENOENT && name[0] != '/' && creds && creds[0];

                return loader_fail(l, s, "%s: %s%s%s%s", loader_where(l, s),
                        reason ?: "cannot read the secret file",
                        looked ? " (not in $CREDENTIALS_DIRECTORY " : "", looked ? creds : "",
                        looked ? " either)" : "");
        }
        return 1;
}

int loader_get_hostport(loader *l, config_setting_t *g, const char *key, bool required,
        uint16_t default_port, bool ip_only, hostport *ret) {
        _cleanup_free_ char *v = NULL;
        const char *reason = NULL;
        config_setting_t *s = NULL;
        hostport hp;
        int r;

        r = loader_get_string(l, g, key, required, &v);
        if (r <= 0)
                return r;
        s = config_setting_get_member(g, key);
        r = hostport_parse(v, default_port, &hp, &reason);
        if (r == -EINVAL)
                return loader_fail(l, s, "%s \"%s\" %s", loader_where(l, s), v, reason);
        if (r < 0)
                return r;
        if (ip_only && hp.family == AF_UNSPEC) {
                hostport_done(&hp);
                return loader_fail(l, s,
                        "%s \"%s\" must use an IP address, not a host name (it is bound locally; use "
                        "0.0.0.0 or [::] for every address)",
                        loader_where(l, s), v);
        }
        *ret = hp;
        return 1;
}

int loader_get_group(
        loader *l, config_setting_t *g, const char *key, bool required, config_setting_t **ret) {
        return loader_get_setting(l, g, key, required, CONFIG_TYPE_GROUP, "a group { ... }", ret);
}

/* A list of groups, "( { ... }, { ... } )"; an empty array "[]" counts as an empty list. */
int loader_get_group_list(
        loader *l, config_setting_t *g, const char *key, bool required, config_setting_t **ret) {
        config_setting_t *s = config_setting_get_member(g, key);

        if (!s)
                return required ? loader_missing(l, g, key, NULL) : 0;
        if (config_setting_type(s) != CONFIG_TYPE_LIST &&
                !(config_setting_type(s) == CONFIG_TYPE_ARRAY && config_setting_length(s) == 0))
                return wrong_type(l, s, "a list ( { ... }, ... )");
        for (int i = 0; i < config_setting_length(s); i++) {
                config_setting_t *e = config_setting_get_elem(s, (unsigned) i);

                if (config_setting_type(e) != CONFIG_TYPE_GROUP)
                        return wrong_type(l, e, "a group { ... }");
        }
        *ret = s;
        return 1;
}

int loader_read_list(loader *l, config_setting_t *g, const char *key, bool required, size_t size,
        int (*read)(loader *l, config_setting_t *e, void *element), void **array, size_t *n) {
        config_setting_t *list = NULL;
        int r;

        r = loader_get_group_list(l, g, key, required, &list);
        if (r <= 0 || config_setting_length(list) == 0)
                return r;
        *array = calloc((size_t) config_setting_length(list), size);
        if (!*array)
                return -ENOMEM;
        *n = (size_t) config_setting_length(list);
        for (size_t i = 0; i < *n; i++) {
                r = read(l, config_setting_get_elem(list, (unsigned) i), (char *) *array + i * size);
                if (r < 0)
                        return r;
        }
        return 1;
}

static int read_peer(loader *l, config_setting_t *g, void *element) {
        static const char *const keys[] = {"name", "zone", "address", NULL};
        peer_conf *p = element;
        int r;

        p->line = config_setting_source_line(g);
        r = loader_check_keys(l, g, keys);
        if (r >= 0)
                r = loader_get_name(l, g, "name", true, &p->name);
        if (r >= 0)
                r = loader_get_name(l, g, "zone", true, &p->zone);
        if (r >= 0)
                r = loader_get_hostport(l, g, "address", true, 0, false, &p->address);
        if (r >= 0 && p->address.family == AF_UNSPEC) {
                /* The peer link dials without a resolver (a lookup would block the loop or need one of its
                 * own, and DNS is the very thing a failover changes). */
                config_setting_t *s = config_setting_get_member(g, "address");
                return loader_fail(l, s, "%s \"%s\" must use an IP address, not a host name (peers are dialled "
                        "by address, without DNS)", loader_where(l, s), p->address.host);
        }
        return r < 0 ? r : 0;
}

/* The gid of group name: 1 and *ret when it exists, 0 when not, a negative errno when the lookup failed. */
static int lookup_group(const char *name, gid_t *ret) {
        _cleanup_free_ char *buf = NULL;
        struct group grp, *found = NULL;
        size_t size = 4096;
        int r;

        for (;;) {
                free(buf);
                buf = malloc(size);
                if (!buf)
                        return -ENOMEM;
                r = getgrnam_r(name, &grp, buf, size, &found);
                if (r != ERANGE || size >= 1024 * 1024)
                        break;
                size *= 2;
        }
        if (r != 0 && r != ENOENT && r != ESRCH)
                return -r;
        if (!found)
                return 0;
        *ret = found->gr_gid;
        return 1;
}

static int read_control_group(loader *l, config_setting_t *g, sentinel_conf *s) {
        int r = loader_get_string(l, g, "control_group", false, &s->control_group);

        if (r <= 0)
                return r;
        r = lookup_group(s->control_group, &s->control_gid);
        if (r < 0)
                return loader_fail(l, config_setting_get_member(g, "control_group"),
                        "sentinel.control_group \"%s\": cannot look the group up: %s", s->control_group,
                        strerror(-r));
        if (r == 0)
                return loader_fail(l, config_setting_get_member(g, "control_group"),
                        "sentinel.control_group \"%s\": no such group on this host", s->control_group);
        return 0;
}

static int read_sentinel(loader *l, config_setting_t *root, sentinel_conf *s) {
        static const char *const keys[] = {"name", "zone", "listen", "control_socket", "control_group",
                "state_dir", "http_listen", "peer_secret_file", "peers", NULL};
        config_setting_t *g = NULL;
        void *array = NULL;
        int r;

        r = loader_get_group(l, root, "sentinel", true, &g);
        if (r < 0)
                return r;
        s->line = config_setting_source_line(g);
        r = loader_check_keys(l, g, keys);
        if (r < 0)
                return r;
        r = loader_get_name(l, g, "name", true, &s->name);
        if (r < 0)
                return r;
        r = loader_get_name(l, g, "zone", true, &s->zone);
        if (r < 0)
                return r;
        r = loader_get_hostport(l, g, "listen", false, 0, true, &s->listen);
        if (r < 0)
                return r;

        r = loader_get_absolute_path(l, g, "control_socket", false, &s->control_socket);
        if (r == 0 &&
                asprintf(&s->control_socket, CONFIG_DEFAULT_CONTROL_SOCKET_DIR "/%s.sock", s->name) < 0) {
                s->control_socket = NULL;
                return -ENOMEM;
        }
        if (r < 0)
                return r;
        if (strlen(s->control_socket) >= sizeof(((struct sockaddr_un *) NULL)->sun_path))
                return loader_fail(l, config_setting_get_member(g, "control_socket") ?: g,
                        "sentinel.control_socket \"%s\" is %zu bytes long; a unix socket path is at most "
                        "%zu",
                        s->control_socket, strlen(s->control_socket),
                        sizeof(((struct sockaddr_un *) NULL)->sun_path) - 1);
        if (str_endswith(s->control_socket, "/"))
                return loader_fail(l, config_setting_get_member(g, "control_socket"),
                        "sentinel.control_socket \"%s\" names a directory; name the socket file",
                        s->control_socket);
        r = read_control_group(l, g, s);
        if (r < 0)
                return r;

        r = loader_get_absolute_path(l, g, "state_dir", false, &s->state_dir);
        if (r == 0 && asprintf(&s->state_dir, CONFIG_DEFAULT_STATE_DIR_PARENT "/%s", s->name) < 0) {
                s->state_dir = NULL;
                return -ENOMEM;
        }
        if (r < 0)
                return r;

        r = loader_get_hostport(l, g, "http_listen", false, 0, true, &s->http_listen);
        if (r < 0)
                return r;
        if (s->listen.host && s->http_listen.host && hostport_equal(&s->listen, &s->http_listen))
                return loader_fail(l, config_setting_get_member(g, "http_listen"),
                        "sentinel.http_listen is the same address as sentinel.listen; give each its own "
                        "port");

        r = loader_read_list(l, g, "peers", false, sizeof(peer_conf), read_peer, &array, &s->n_peers);
        s->peers = array;
        if (r < 0)
                return r;
        if (s->n_peers > 0) {
                if (!s->listen.host)
                        return loader_missing(
                                l, g, "listen", " (required with peers: the IP:PORT the peers connect to)");
                if (!config_setting_get_member(g, "peer_secret_file"))
                        return loader_missing(l, g, "peer_secret_file",
                                " (required with peers: the shared key that authenticates them)");
        }

        r = loader_get_secret(l, g, "peer_secret_file", false, &s->peer_secret);
        return r < 0 ? r : 0;
}

/* @include would make lines point into other files; one file keeps every message exact. */
static int refuse_includes(loader *l, const config_setting_t *s) {
        const char *file = config_setting_source_file(s);

        if (file && !streq(file, l->path)) {
                _cleanup_free_ char *p = str_path_join(l->dir, file);

                if (!p)
                        return -ENOMEM;
                return loader_fail_at(l, p, config_setting_source_line(s),
                        "@include is not supported: keep the whole configuration in %s", l->path);
        }
        if (config_setting_is_aggregate(s))
                for (int i = 0; i < config_setting_length(s); i++) {
                        int r = refuse_includes(l, config_setting_get_elem(s, (unsigned) i));
                        if (r < 0)
                                return r;
                }
        return 0;
}

static int read_config(loader *l, config_setting_t *root, config *c) {
        static const char *const keys[] = {"sentinel", "clusters", NULL};
        void *array = NULL;
        int r;

        r = refuse_includes(l, root);
        if (r >= 0)
                r = loader_check_keys(l, root, keys);
        if (r >= 0)
                r = read_sentinel(l, root, &c->sentinel);
        if (r >= 0)
                r = loader_read_list(l, root, "clusters", true, sizeof(cluster_conf), loader_read_cluster,
                        &array, &c->n_clusters);
        c->clusters = array;
        if (r < 0)
                return r;
        if (c->n_clusters == 0)
                return loader_fail(l, config_setting_get_member(root, "clusters"),
                        "clusters is empty: define at least one cluster");
        return 0;
}

static char *absolute_dirname(const char *path) {
        _cleanup_free_ char *dir = str_dirname(path), *cwd = NULL;

        if (!dir || dir[0] == '/')
                return TAKE_PTR(dir);
        cwd = getcwd(NULL, 0);
        if (!cwd)
                return NULL;
        if (streq(dir, "."))
                return TAKE_PTR(cwd);
        return str_path_join(cwd, dir);
}

static void config_freep(config **c) {
        config_free(*c);
}

static void config_tp(config_t *lc) {
        config_destroy(lc);
}

int config_load(const char *path, config **ret, char **ret_error) {
        _cleanup_(config_freep) config *c = NULL;
        _cleanup_(config_tp) config_t lc;
        loader l = {.path = path};
        _cleanup_free_ char *data = NULL;
        int r;

        config_init(&lc);

        /* Read here, bounded, @include refused: libconfig's own reading of an @include can exit(2) or
         * never end (config-read.h). */
        r = config_read_text(path, &data, ret_error);
        if (r < 0)
                return r;

        l.dir = absolute_dirname(path);
        if (!l.dir)
                return -ENOMEM;

        if (!config_read_string(&lc, data)) {
                const char *text = config_error_text(&lc) ?: "cannot parse";

                r = str_error_set(ret_error, -EINVAL, "%s:%d: %s%s", config_error_file(&lc) ?: path,
                        config_error_line(&lc) > 0 ? config_error_line(&lc) : 1, text,
                        streq(text, "duplicate setting name") ? " (each key may appear once in a group)"
                        : streq(text, "syntax error")
                                ? " (look for a missing ';', '\"', '}' or ')' here or just before)"
                                : "");
                free(l.dir);
                return r;
        }

        c = calloc(1, sizeof(config));
        if (!c || !(c->path = strdup(path))) {
                free(l.dir);
                return -ENOMEM;
        }

        r = read_config(&l, config_root_setting(&lc), c);
        if (r >= 0)
                r = config_check(c, ret_error);
        else if (ret_error)
                *ret_error = TAKE_PTR(l.error);
        free(l.error);
        free(l.dir);
        if (r < 0)
                return r;

        *ret = TAKE_PTR(c);
        return 0;
}

static void endpoint_conf_done(endpoint_conf *e) {
        switch (e->type) {
        case ENDPOINT_DNS:
                hostport_done(&e->dns.server);
                free(e->dns.zone);
                free(e->dns.name);
                free(e->dns.tsig_key_file);
                tsig_key_done(&e->dns.tsig);
                break;
        case ENDPOINT_VIP:
                free(e->vip.interface);
                break;
        case ENDPOINT_EXEC:
                free(e->exec.command);
                break;
        default:
                break;
        }
}

static void cluster_conf_done(cluster_conf *cl) {
        free(cl->name);
        free(cl->user);
        secret_done(&cl->password);
        free(cl->replication_user);
        secret_done(&cl->replication_password);
        free(cl->tls.ca);
        free(cl->tls.cert);
        free(cl->tls.key);
        for (size_t i = 0; i < cl->n_servers; i++) {
                free(cl->servers[i].name);
                free(cl->servers[i].host);
                free(cl->servers[i].zone);
        }
        free(cl->servers);
        for (size_t i = 0; i < cl->n_endpoints; i++)
                endpoint_conf_done(&cl->endpoints[i]);
        free(cl->endpoints);
        for (size_t i = 0; i < cl->n_hooks; i++)
                free(cl->hooks[i].command);
        free(cl->hooks);
}

config *config_free(config *c) {
        if (!c)
                return NULL;
        free(c->path);
        free(c->sentinel.name);
        free(c->sentinel.zone);
        hostport_done(&c->sentinel.listen);
        free(c->sentinel.control_socket);
        free(c->sentinel.control_group);
        free(c->sentinel.state_dir);
        hostport_done(&c->sentinel.http_listen);
        secret_done(&c->sentinel.peer_secret);
        for (size_t i = 0; i < c->sentinel.n_peers; i++) {
                free(c->sentinel.peers[i].name);
                free(c->sentinel.peers[i].zone);
                hostport_done(&c->sentinel.peers[i].address);
        }
        free(c->sentinel.peers);
        for (size_t i = 0; i < c->n_clusters; i++)
                cluster_conf_done(&c->clusters[i]);
        free(c->clusters);
        free(c);
        return NULL;
}

size_t config_n_sentinels(const config *c) {
        return 1 + c->sentinel.n_peers;
}

size_t config_majority(const config *c) {
        return config_n_sentinels(c) / 2 + 1;
}

const cluster_conf *config_find_cluster(const config *c, const char *name) {
        for (size_t i = 0; i < c->n_clusters; i++)
                if (streq(c->clusters[i].name, name))
                        return &c->clusters[i];
        return NULL;
}

const server_conf *cluster_conf_find_server(const cluster_conf *cl, const char *name) {
        for (size_t i = 0; i < cl->n_servers; i++)
                if (streq(cl->servers[i].name, name))
                        return &cl->servers[i];
        return NULL;
}
