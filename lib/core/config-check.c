/* The clusters of the config: each element read and checked on its own (servers, tls, timings,
 * endpoints, hooks), then config_check(), the rules across the whole config (unique names and
 * addresses, quorum against the number of sentinels, promotable servers). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "config-internal.h"
#include "macro.h"
#include "strutil.h"

static const char *const endpoint_type_table[_ENDPOINT_TYPE_MAX + 1] = {
        [ENDPOINT_DNS] = "dns",
        [ENDPOINT_VIP] = "vip",
        [ENDPOINT_EXEC] = "exec",
        [_ENDPOINT_TYPE_MAX] = NULL,
};

static const char *const hook_class_table[_HOOK_CLASS_MAX + 1] = {
        [HOOK_CLASS_NOTIFY] = "notify",
        [HOOK_CLASS_PRE] = "pre",
        [_HOOK_CLASS_MAX] = NULL,
};

const char *endpoint_type_to_string(endpoint_type t) {
        return t >= 0 && t < _ENDPOINT_TYPE_MAX ? endpoint_type_table[t] : NULL;
}

endpoint_type endpoint_type_from_string(const char *s) {
        return (endpoint_type) str_table_find(endpoint_type_table, _ENDPOINT_TYPE_MAX, s);
}

const char *hook_class_to_string(hook_class c) {
        return c >= 0 && c < _HOOK_CLASS_MAX ? hook_class_table[c] : NULL;
}

hook_class hook_class_from_string(const char *s) {
        return (hook_class) str_table_find(hook_class_table, _HOOK_CLASS_MAX, s);
}

/* The setting to blame for a rule two keys break together: the first one set, else the group. */
#define BLAME(a, b, group) ((a) ?: (b) ?: (group))

/* The longest MASTER_PASSWORD MariaDB takes, in characters. */
#define REPLICATION_PASSWORD_MAX 96

static int read_server(loader *l, config_setting_t *g, void *element) {
        static const char *const keys[] = {"name", "host", "port", "zone", "priority", "promotable", NULL};
        server_conf *sv = element;
        const char *reason = NULL;
        long long v = 0;
        int r;

        sv->line = config_setting_source_line(g);
        sv->port = CONFIG_DEFAULT_SERVER_PORT;
        sv->priority = CONFIG_DEFAULT_SERVER_PRIORITY;
        sv->promotable = true;

        r = loader_check_keys(l, g, keys);
        if (r >= 0)
                r = loader_get_name(l, g, "name", true, &sv->name);
        if (r >= 0)
                r = loader_get_string(l, g, "host", true, &sv->host);
        if (r < 0)
                return r;
        if (host_parse(sv->host, &sv->family, &reason) < 0)
                return loader_fail(l, config_setting_get_member(g, "host"), "%s \"%s\" %s",
                        loader_where(l, config_setting_get_member(g, "host")), sv->host, reason);
        r = loader_get_int(l, g, "port", false, 1, 65535, &v);
        if (r > 0)
                sv->port = (uint16_t) v;
        if (r >= 0)
                r = loader_get_name(l, g, "zone", true, &sv->zone);
        if (r >= 0)
                r = loader_get_int(l, g, "priority", false, -1000000, 1000000, &v);
        if (r > 0)
                sv->priority = (int) v;
        if (r >= 0)
                r = loader_get_bool(l, g, "promotable", &sv->promotable);
        return r < 0 ? r : 0;
}

/* What the connector can use: PEM (it reads nothing else), and a key it can open without a
 * passphrase (it has none; OpenSSL would try to ask on a terminal). The first TLS_PEM_READ_MAX bytes
 * are looked at, enough for any certificate bundle. */
#define TLS_PEM_READ_MAX (4u << 20)

static int check_pem(loader *l, config_setting_t *g, const char *key, const char *path, bool private_key) {
        config_setting_t *s = config_setting_get_member(g, key);
        _cleanup_free_ char *buf = malloc(TLS_PEM_READ_MAX);
        FILE *f;
        struct stat st;
        size_t n;
        bool encrypted, found;

        if (!buf)
                return -ENOMEM;
        f = fopen(path, "re");
        if (!f) {
                const char *reason = strerror(errno);

                return loader_fail(l, s,
                        "%s: cannot read %s: %s; make it readable by the user the sentinel runs as",
                        loader_where(l, s), path, reason);
        }
        if (fstat(fileno(f), &st) < 0)
                st.st_mode = 0;
        n = fread(buf, 1, TLS_PEM_READ_MAX, f);
        fclose(f);
        if (!private_key) {
                if (!memmem(buf, n, "-----BEGIN CERTIFICATE-----", strlen("-----BEGIN CERTIFICATE-----")))
                        return loader_fail(l, s,
                                "%s: %s holds no PEM certificate (\"-----BEGIN CERTIFICATE-----\"); "
                                "give the certificate in PEM form (openssl x509 -in FILE -outform PEM)",
                                loader_where(l, s), path);
                return 0;
        }
        found = memmem(buf, n, "PRIVATE KEY-----", strlen("PRIVATE KEY-----")) != NULL;
        encrypted = memmem(buf, n, "-----BEGIN ENCRYPTED PRIVATE KEY-----",
                            strlen("-----BEGIN ENCRYPTED PRIVATE KEY-----")) ||
                    memmem(buf, n, "Proc-Type: 4,ENCRYPTED", strlen("Proc-Type: 4,ENCRYPTED"));
        explicit_bzero(buf, n);
        if (!found)
                return loader_fail(l, s,
                        "%s: %s holds no PEM private key (\"-----BEGIN ... PRIVATE KEY-----\"); "
                        "give the key of tls.cert in PEM form",
                        loader_where(l, s), path);
        if (encrypted)
                return loader_fail(l, s,
                        "%s: %s is an encrypted key and the sentinel has no passphrase for it; store it "
                        "unencrypted with mode 0600 (openssl pkey -in KEY -out NEW-KEY)",
                        loader_where(l, s), path);
        /* Like a secret file, but group access stays allowed (Debian's ssl-cert group, 0640). */
        if (st.st_mode & 0007)
                return loader_fail(l, s,
                        "%s: %s is accessible by others (mode %04o); run chmod 0600 (or 0640 for a group "
                        "the sentinel's user is in)",
                        loader_where(l, s), path, (unsigned) (st.st_mode & 07777));
        return 0;
}

static int read_tls(loader *l, config_setting_t *cg, tls_conf *t) {
        static const char *const keys[] = {"ca", "cert", "key", "verify_server_cert", NULL};
        config_setting_t *g = NULL;
        int r;

        t->verify_server_cert = true;
        r = loader_get_group(l, cg, "tls", false, &g);
        if (r <= 0)
                return r;
        t->enabled = true;
        t->line = config_setting_source_line(g);
        r = loader_check_keys(l, g, keys);
        if (r >= 0)
                r = loader_get_file(l, g, "ca", &t->ca);
        if (r >= 0)
                r = loader_get_file(l, g, "cert", &t->cert);
        if (r >= 0)
                r = loader_get_file(l, g, "key", &t->key);
        if (r >= 0)
                r = loader_get_bool(l, g, "verify_server_cert", &t->verify_server_cert);
        if (r < 0)
                return r;
        if (!t->cert != !t->key)
                return loader_missing(l, g, t->cert ? "key" : "cert",
                        " (a client certificate needs its key, and a key its certificate)");
        if (t->ca)
                r = check_pem(l, g, "ca", t->ca, false);
        if (r >= 0 && t->cert)
                r = check_pem(l, g, "cert", t->cert, false);
        if (r >= 0 && t->key)
                r = check_pem(l, g, "key", t->key, true);
        return r < 0 ? r : 0;
}

static int read_timings(loader *l, config_setting_t *cg, cluster_conf *cl) {
        static const char *const probe_keys[] = {"interval_ms", "timeout_ms", "down_after_ms", NULL};
        static const char *const failover_keys[] = {"auto", "max_lag_ms", "cooldown_s", "timeout_ms", NULL};
        static const char *const fencing_keys[] = {"self_fence_after_ms", NULL};
        config_setting_t *g, *probe = NULL, *fencing = NULL;
        probe_conf *p = &cl->probe;
        int r;

        *p = (probe_conf){.interval_ms = CONFIG_DEFAULT_PROBE_INTERVAL_MS,
                .timeout_ms = CONFIG_DEFAULT_PROBE_TIMEOUT_MS,
                .down_after_ms = CONFIG_DEFAULT_DOWN_AFTER_MS};
        cl->failover = (failover_conf){.automatic = true,
                .max_lag_ms = CONFIG_DEFAULT_MAX_LAG_MS,
                .cooldown_s = CONFIG_DEFAULT_COOLDOWN_S,
                .timeout_ms = CONFIG_DEFAULT_FAILOVER_TIMEOUT_MS};
        cl->fencing = (fencing_conf){.self_fence_after_ms = CONFIG_DEFAULT_SELF_FENCE_AFTER_MS};

        r = loader_get_group(l, cg, "probe", false, &probe);
        if (r > 0) {
                p->line = config_setting_source_line(probe);
                r = loader_check_keys(l, probe, probe_keys);
                if (r >= 0)
                        r = loader_get_u64(l, probe, "interval_ms", 10, 3600000, &p->interval_ms);
                if (r >= 0)
                        r = loader_get_u64(l, probe, "timeout_ms", 10, 3600000, &p->timeout_ms);
                if (r >= 0)
                        r = loader_get_u64(l, probe, "down_after_ms", 1, 86400000, &p->down_after_ms);
                if (r < 0)
                        return r;
                if (p->timeout_ms > p->interval_ms)
                        return loader_fail(l,
                                BLAME(config_setting_get_member(probe, "timeout_ms"),
                                        config_setting_get_member(probe, "interval_ms"), probe),
                                "%s.probe.timeout_ms (%llu) is longer than probe.interval_ms (%llu): a "
                                "probe must end before the next one starts; lower timeout_ms or raise "
                                "interval_ms",
                                loader_where(l, cg), (unsigned long long) p->timeout_ms,
                                (unsigned long long) p->interval_ms);
                if (p->down_after_ms < p->interval_ms)
                        return loader_fail(l,
                                BLAME(config_setting_get_member(probe, "down_after_ms"),
                                        config_setting_get_member(probe, "interval_ms"), probe),
                                "%s.probe.down_after_ms (%llu) is shorter than probe.interval_ms (%llu): "
                                "one failed probe would mark a server down; raise down_after_ms",
                                loader_where(l, cg), (unsigned long long) p->down_after_ms,
                                (unsigned long long) p->interval_ms);
        }
        if (r < 0)
                return r;

        r = loader_get_group(l, cg, "failover", false, &g);
        if (r > 0) {
                cl->failover.line = config_setting_source_line(g);
                r = loader_check_keys(l, g, failover_keys);
                if (r >= 0)
                        r = loader_get_bool(l, g, "auto", &cl->failover.automatic);
                if (r >= 0)
                        r = loader_get_u64(l, g, "max_lag_ms", 0, 86400000, &cl->failover.max_lag_ms);
                if (r >= 0)
                        r = loader_get_u64(l, g, "cooldown_s", 0, 30 * 86400, &cl->failover.cooldown_s);
                if (r >= 0)
                        r = loader_get_u64(l, g, "timeout_ms", 1, 3600000, &cl->failover.timeout_ms);
        }
        if (r < 0)
                return r;

        r = loader_get_group(l, cg, "fencing", false, &fencing);
        if (r > 0) {
                cl->fencing.line = config_setting_source_line(fencing);
                r = loader_check_keys(l, fencing, fencing_keys);
                if (r >= 0)
                        r = loader_get_u64(l, fencing, "self_fence_after_ms", 1, 86400000,
                                &cl->fencing.self_fence_after_ms);
        }
        if (r < 0)
                return r;

        /* SPEC 5.5: an isolated primary must stop taking writes before anyone may promote another. */
        if (cl->fencing.self_fence_after_ms >= p->down_after_ms)
                return loader_fail(l,
                        BLAME(fencing ? config_setting_get_member(fencing, "self_fence_after_ms") : NULL,
                                probe ? config_setting_get_member(probe, "down_after_ms") : NULL, cg),
                        "%s.fencing.self_fence_after_ms (%llu) must be less than probe.down_after_ms "
                        "(%llu), so an isolated primary turns read-only before another can be promoted; "
                        "lower self_fence_after_ms or raise down_after_ms",
                        loader_where(l, cg), (unsigned long long) cl->fencing.self_fence_after_ms,
                        (unsigned long long) p->down_after_ms);
        return 0;
}

static const char *const endpoint_keys[_ENDPOINT_TYPE_MAX][7] = {
        [ENDPOINT_DNS] = {"type", "server", "zone", "name", "ttl", "tsig_key_file", NULL},
        [ENDPOINT_VIP] = {"type", "address", "interface", NULL},
        [ENDPOINT_EXEC] = {"type", "command", "timeout_ms", NULL},
};

/* A DNS name, made absolute (a trailing dot added when missing). */
static int read_dns_name(loader *l, config_setting_t *g, const char *key, char **ret) {
        _cleanup_free_ char *v = NULL;
        int r;

        r = loader_get_string(l, g, key, true, &v);
        if (r < 0)
                return r;
        if (!dns_name_is_valid(v))
                return loader_fail(l, config_setting_get_member(g, key), "%s \"%s\" is not a valid DNS name",
                        loader_where(l, config_setting_get_member(g, key)), v);
        if (!str_endswith(v, ".")) {
                char *abs;

                if (asprintf(&abs, "%s.", v) < 0)
                        return -ENOMEM;
                free(v);
                v = abs;
        }
        *ret = TAKE_PTR(v);
        return 1;
}

/* The TSIG key file is a secret file too; its own syntax errors point into it. */
static int read_tsig(loader *l, config_setting_t *g, dns_endpoint_conf *d) {
        _cleanup_free_ char *reason = NULL;
        config_setting_t *s = config_setting_get_member(g, "tsig_key_file");
        secret raw = {};
        unsigned line = 0;
        int r;

        r = loader_get_secret(l, g, "tsig_key_file", false, &raw);
        if (r <= 0)
                return r;
        d->tsig_key_file = strdup(raw.path);
        if (!d->tsig_key_file) {
                secret_done(&raw);
                return -ENOMEM;
        }
        r = tsig_key_parse((const char *) raw.data, raw.size, &d->tsig, &line, &reason);
        secret_done(&raw);
        if (r == -EINVAL)
                return loader_fail_at(l, d->tsig_key_file, line, "%s (read for %s at %s:%u)",
                        reason ?: "not a valid key file", loader_where(l, s), l->path,
                        config_setting_source_line(s));
        return r;
}

static int read_vip(loader *l, config_setting_t *g, vip_endpoint_conf *v) {
        _cleanup_free_ char *address = NULL;
        char buf[IP_PREFIX_FORMAT_MAX];
        const char *reason = NULL;
        config_setting_t *s = NULL;
        int r;

        r = loader_get_string(l, g, "address", true, &address);
        if (r < 0)
                return r;
        s = config_setting_get_member(g, "address");
        if (ip_prefix_parse(address, &v->address, &reason) < 0)
                return loader_fail(l, s, "%s \"%s\" %s", loader_where(l, s), address, reason);
        if (ip_prefix_is_network(&v->address) || ip_prefix_is_broadcast(&v->address))
                return loader_fail(l, s,
                        "%s \"%s\" is the %s address of its /%u network; a VIP must be a host address",
                        loader_where(l, s), ip_prefix_format(&v->address, buf, sizeof(buf)),
                        ip_prefix_is_network(&v->address) ? "network" : "broadcast", v->address.prefixlen);

        r = loader_get_string(l, g, "interface", true, &v->interface);
        if (r < 0)
                return r;
        s = config_setting_get_member(g, "interface");
        if (strlen(v->interface) > 15 || strpbrk(v->interface, "/: \t") || streq(v->interface, ".") ||
                streq(v->interface, ".."))
                return loader_fail(l, s,
                        "%s \"%s\" is not a network interface name (at most 15 characters, no '/', ':' or "
                        "spaces)",
                        loader_where(l, s), v->interface);
        return 0;
}

static int read_endpoint(loader *l, config_setting_t *g, void *element) {
        _cleanup_free_ char *type = NULL;
        endpoint_conf *e = element;
        config_setting_t *s = NULL;
        long long v = 0;
        int r;

        e->line = config_setting_source_line(g);
        r = loader_get_string(l, g, "type", true, &type);
        if (r < 0)
                return r;
        e->type = endpoint_type_from_string(type);
        if (e->type < 0) {
                const char *guess = str_closest(type, endpoint_type_table);

                s = config_setting_get_member(g, "type");
                e->type = ENDPOINT_DNS; /* every pointer of the union is still NULL */
                return loader_fail(l, s, "%s \"%s\" is not an endpoint type; %s%s%s", loader_where(l, s),
                        type, guess ? "did you mean '" : "use dns, vip or exec", guess ?: "",
                        guess ? "'?" : "");
        }

        /* A key of another endpoint type says more than "unknown key". */
        for (int i = 0; i < config_setting_length(g); i++) {
                s = config_setting_get_elem(g, (unsigned) i);
                for (int t = 0; t < _ENDPOINT_TYPE_MAX; t++)
                        if (!str_in_list(endpoint_keys[e->type], config_setting_name(s)) &&
                                str_in_list(endpoint_keys[t], config_setting_name(s)))
                                return loader_fail(l, s,
                                        "%s does not apply to a %s endpoint (it is a key of %s endpoints)",
                                        loader_where(l, s), type, endpoint_type_table[t]);
        }
        r = loader_check_keys(l, g, endpoint_keys[e->type]);
        if (r < 0)
                return r;

        switch (e->type) {
        case ENDPOINT_DNS:
                e->dns.ttl = CONFIG_DEFAULT_DNS_TTL;
                r = loader_get_hostport(
                        l, g, "server", true, CONFIG_DEFAULT_DNS_PORT, false, &e->dns.server);
                if (r >= 0)
                        r = read_dns_name(l, g, "zone", &e->dns.zone);
                if (r >= 0)
                        r = read_dns_name(l, g, "name", &e->dns.name);
                if (r < 0)
                        return r;
                if (!dns_name_is_in_zone(e->dns.name, e->dns.zone)) {
                        s = config_setting_get_member(g, "name");
                        return loader_fail(l, s,
                                "%s \"%s\" is not inside zone \"%s\"; an update can only change names of "
                                "its zone",
                                loader_where(l, s), e->dns.name, e->dns.zone);
                }
                r = loader_get_int(l, g, "ttl", false, 0, 86400, &v);
                if (r > 0)
                        e->dns.ttl = (uint32_t) v;
                if (r >= 0)
                        r = read_tsig(l, g, &e->dns);
                break;
        case ENDPOINT_VIP:
                r = read_vip(l, g, &e->vip);
                break;
        case ENDPOINT_EXEC:
                e->exec.timeout_ms = CONFIG_DEFAULT_EXEC_TIMEOUT_MS;
                r = loader_get_absolute_path(l, g, "command", true, &e->exec.command);
                if (r >= 0)
                        r = loader_get_u64(l, g, "timeout_ms", 1, 3600000, &e->exec.timeout_ms);
                break;
        default:
                r = -EINVAL;
        }
        return r < 0 ? r : 0;
}

static int read_events(loader *l, config_setting_t *g, event_mask *ret) {
        const char *names[_EVENT_MAX + 2];
        config_setting_t *s = config_setting_get_member(g, "events");
        event_mask mask = 0;
        int n;

        if (!s)
                return loader_missing(l, g, "events", " (use [ \"*\" ] for every event)");
        if (config_setting_type(s) != CONFIG_TYPE_ARRAY && config_setting_type(s) != CONFIG_TYPE_LIST)
                return loader_fail(l, s,
                        "%s must be a list of event names like [ \"failover-end\" ] or [ \"*\" ]",
                        loader_where(l, s));
        n = config_setting_length(s);
        if (n == 0)
                return loader_fail(l, s,
                        "%s is empty: list the events that run this hook, or [ \"*\" ] for all",
                        loader_where(l, s));

        for (int i = 0; i < _EVENT_MAX; i++)
                names[i] = event_to_string((sentinel_event) i);
        names[_EVENT_MAX] = "*";
        names[_EVENT_MAX + 1] = NULL;

        for (int i = 0; i < n; i++) {
                config_setting_t *e = config_setting_get_elem(s, (unsigned) i);
                const char *v;
                event_mask bit;

                if (config_setting_type(e) != CONFIG_TYPE_STRING)
                        return loader_fail(
                                l, e, "%s must be an event name in double quotes", loader_where(l, e));
                v = config_setting_get_string(e);
                if (streq(v, "*")) {
                        if (n > 1)
                                return loader_fail(l, e,
                                        "%s: \"*\" already means every event; list \"*\" alone or single "
                                        "events",
                                        loader_where(l, s));
                        bit = EVENT_MASK_ALL;
                } else {
                        sentinel_event ev = event_from_string(v);

                        if (ev < 0) {
                                const char *guess = str_closest(v, names);

                                if (guess)
                                        return loader_fail(l, e,
                                                "%s: unknown event \"%s\"; did you mean '%s'?",
                                                loader_where(l, s), str_has_control(v) ? "?" : v, guess);
                                char list[512] = "";
                                size_t m = 0;

                                for (int k = 0; names[k] && m < sizeof(list); k++)
                                        m += (size_t) snprintf(
                                                list + m, sizeof(list) - m, "%s%s", k ? ", " : "", names[k]);
                                return loader_fail(l, e, "%s: unknown event \"%s\" (events: %s)",
                                        loader_where(l, s), str_has_control(v) ? "?" : v, list);
                        }
                        bit = EVENT_MASK(ev);
                }
                if (mask & bit)
                        return loader_fail(l, e, "%s: event \"%s\" is listed twice", loader_where(l, s), v);
                mask |= bit;
        }
        *ret = mask;
        return 1;
}

static int read_hook(loader *l, config_setting_t *g, void *element) {
        static const char *const keys[] = {"command", "events", "class", "timeout_ms", NULL};
        hook_conf *h = element;
        _cleanup_free_ char *class = NULL;
        int r;

        h->line = config_setting_source_line(g);
        h->class = HOOK_CLASS_NOTIFY;
        h->timeout_ms = CONFIG_DEFAULT_HOOK_TIMEOUT_MS;

        r = loader_check_keys(l, g, keys);
        if (r >= 0)
                r = loader_get_absolute_path(l, g, "command", true, &h->command);
        if (r >= 0)
                r = read_events(l, g, &h->event_mask);
        if (r >= 0)
                r = loader_get_string(l, g, "class", false, &class);
        if (r < 0)
                return r;
        if (class) {
                config_setting_t *s = config_setting_get_member(g, "class");
                const char *guess;

                h->class = hook_class_from_string(class);
                if (h->class < 0) {
                        guess = str_closest(class, hook_class_table);
                        return loader_fail(l, s, "%s \"%s\" is not a hook class; %s%s%s", loader_where(l, s),
                                class, guess ? "did you mean '" : "use \"notify\" (the default) or \"pre\"",
                                guess ?: "", guess ? "'?" : "");
                }
        }
        r = loader_get_u64(l, g, "timeout_ms", 1, 3600000, &h->timeout_ms);
        return r < 0 ? r : 0;
}

int loader_read_cluster(loader *l, config_setting_t *g, void *element) {
        static const char *const keys[] = {"name", "quorum", "user", "password_file", "replication_user",
                "replication_password_file", "tls", "servers", "probe", "failover", "fencing", "endpoints",
                "hooks", NULL};
        cluster_conf *cl = element;
        void *array = NULL;
        long long q = 0;
        int r;

        cl->line = config_setting_source_line(g);
        r = loader_check_keys(l, g, keys);
        if (r >= 0)
                r = loader_get_name(l, g, "name", true, &cl->name);
        if (r >= 0)
                r = loader_get_int(l, g, "quorum", true, 1, 1000, &q);
        if (r < 0)
                return r;
        cl->quorum = (unsigned) q;
        cl->quorum_line = config_setting_source_line(config_setting_get_member(g, "quorum"));
        r = loader_get_string(l, g, "user", true, &cl->user);
        if (r >= 0)
                r = loader_get_string(l, g, "replication_user", true, &cl->replication_user);
        if (r >= 0)
                r = read_tls(l, g, &cl->tls);
        if (r >= 0)
                r = loader_read_list(
                        l, g, "servers", true, sizeof(server_conf), read_server, &array, &cl->n_servers);
        cl->servers = TAKE_PTR(array);
        if (r < 0)
                return r;
        cl->servers_line = config_setting_source_line(config_setting_get_member(g, "servers"));

        r = read_timings(l, g, cl);
        if (r >= 0)
                r = loader_read_list(l, g, "endpoints", false, sizeof(endpoint_conf), read_endpoint, &array,
                        &cl->n_endpoints);
        cl->endpoints = TAKE_PTR(array);
        if (r >= 0)
                r = loader_read_list(
                        l, g, "hooks", false, sizeof(hook_conf), read_hook, &array, &cl->n_hooks);
        cl->hooks = TAKE_PTR(array);
        /* Secrets last: no file is opened for a config that is wrong anyway. */
        if (r >= 0)
                r = loader_get_secret(l, g, "password_file", true, &cl->password);
        if (r >= 0)
                r = loader_get_secret(l, g, "replication_password_file", true, &cl->replication_password);
        if (r < 0)
                return r;
        /* The connector takes passwords as C strings: a NUL inside would silently cut them short. */
        for (int i = 0; i < 2; i++) {
                const secret *pw = i == 0 ? &cl->password : &cl->replication_password;
                config_setting_t *s =
                        config_setting_get_member(g, i == 0 ? "password_file" : "replication_password_file");

                if (memchr(pw->data, 0, pw->size))
                        return loader_fail(l, s,
                                "%s: %s contains a NUL byte, which a MariaDB password cannot hold",
                                loader_where(l, s), pw->path);
        }
        /* MariaDB refuses a longer MASTER_PASSWORD, and its error quotes the password: refused here,
         * before any CHANGE MASTER TO could fail at a failover. */
        size_t chars = 0;
        for (size_t k = 0; k < cl->replication_password.size; k++)
                chars += ((const unsigned char *) cl->replication_password.data)[k] >> 6 != 2; /* UTF-8 */
        if (chars > REPLICATION_PASSWORD_MAX) {
                config_setting_t *s = config_setting_get_member(g, "replication_password_file");
                return loader_fail(l, s,
                        "%s: the password in %s has %zu characters; MariaDB's CHANGE MASTER TO takes at most "
                        "%d (MASTER_PASSWORD): set a shorter one for the replication user",
                        loader_where(l, s), cl->replication_password.path, chars, REPLICATION_PASSWORD_MAX);
        }
        return 0;
}

static int check_fail(const config *c, char **ret_error, unsigned line, const char *format, ...)
        _printf_(4, 5);
static int check_fail(const config *c, char **ret_error, unsigned line, const char *format, ...) {
        _cleanup_free_ char *msg = NULL;
        va_list ap;
        int k;

        va_start(ap, format);
        k = vasprintf(&msg, format, ap);
        va_end(ap);
        if (k < 0)
                return -ENOMEM;
        if (ret_error && asprintf(ret_error, "%s:%u: %s", c->path, line ? line : 1, msg) < 0) {
                *ret_error = NULL;
                return -ENOMEM;
        }
        return -EINVAL;
}

static hostport server_address(const server_conf *sv) {
        return (hostport){.host = sv->host, .port = sv->port, .family = sv->family};
}

static const char *format_server(const server_conf *sv, char *buf, size_t size) {
        hostport hp = server_address(sv);

        return hostport_format(&hp, buf, size);
}

static bool server_same_address(const server_conf *a, const server_conf *b) {
        hostport x = server_address(a), y = server_address(b);

        return hostport_equal(&x, &y);
}

/* Whether two endpoints would fight over the same thing: a DNS name, a VIP, or (in one cluster) a command.
 */
static bool endpoint_conflict(const endpoint_conf *a, const endpoint_conf *b, bool same_cluster) {
        if (a->type != b->type)
                return false;
        switch (a->type) {
        case ENDPOINT_DNS:
                return strcasecmp(a->dns.name, b->dns.name) == 0;
        case ENDPOINT_VIP:
                return ip_prefix_same_address(&a->vip.address, &b->vip.address);
        case ENDPOINT_EXEC:
                return same_cluster && streq(a->exec.command, b->exec.command);
        default:
                return false;
        }
}

static int check_sentinel(const config *c, char **ret_error) {
        const sentinel_conf *s = &c->sentinel;
        char buf[HOSTPORT_FORMAT_MAX];

        for (size_t i = 0; i < s->n_peers; i++) {
                const peer_conf *p = &s->peers[i];

                if (streq(p->name, s->name))
                        return check_fail(c, ret_error, p->line,
                                "peer \"%s\" has this sentinel's own name (sentinel.name); every sentinel "
                                "needs a unique name",
                                p->name);
                if (s->listen.host && hostport_equal(&p->address, &s->listen))
                        return check_fail(c, ret_error, p->line,
                                "peer \"%s\" has this sentinel's own listen address %s", p->name,
                                hostport_format(&p->address, buf, sizeof(buf)));
                for (size_t j = 0; j < i; j++) {
                        if (streq(p->name, s->peers[j].name))
                                return check_fail(c, ret_error, p->line,
                                        "peer name \"%s\" is used twice (first on line %u); every sentinel "
                                        "needs a unique name",
                                        p->name, s->peers[j].line);
                        if (hostport_equal(&p->address, &s->peers[j].address))
                                return check_fail(c, ret_error, p->line,
                                        "peers \"%s\" and \"%s\" have the same address %s", s->peers[j].name,
                                        p->name, hostport_format(&p->address, buf, sizeof(buf)));
                }
        }
        return 0;
}

static int check_cluster(const config *c, size_t ci, char **ret_error) {
        const cluster_conf *cl = &c->clusters[ci];
        size_t n_promotable = 0, n = config_n_sentinels(c);
        char buf[HOSTPORT_FORMAT_MAX];

        for (size_t j = 0; j < ci; j++)
                if (streq(cl->name, c->clusters[j].name))
                        return check_fail(c, ret_error, cl->line,
                                "cluster name \"%s\" is used twice (first on line %u)", cl->name,
                                c->clusters[j].line);

        if (cl->quorum > n && n == 1)
                return check_fail(c, ret_error, cl->quorum_line,
                        "cluster \"%s\": quorum %u is more than the 1 sentinel (this one; there are no "
                        "peers): use quorum = 1, or add peers",
                        cl->name, cl->quorum);
        if (cl->quorum > n)
                return check_fail(c, ret_error, cl->quorum_line,
                        "cluster \"%s\": quorum %u is more than the %zu sentinels (this one and %zu "
                        "peer%s); use 1..%zu, usually a majority (%zu)",
                        cl->name, cl->quorum, n, n - 1, n - 1 == 1 ? "" : "s", n, config_majority(c));

        if (cl->n_servers < 2)
                return check_fail(c, ret_error, cl->servers_line,
                        "cluster \"%s\" has %zu server%s; it needs at least 2 (a primary and a standby) to "
                        "fail over",
                        cl->name, cl->n_servers, cl->n_servers == 1 ? "" : "s");

        for (size_t i = 0; i < cl->n_servers; i++) {
                const server_conf *sv = &cl->servers[i];

                if (sv->promotable)
                        n_promotable++;
                for (size_t j = 0; j < i; j++) {
                        if (streq(sv->name, cl->servers[j].name))
                                return check_fail(c, ret_error, sv->line,
                                        "cluster \"%s\": server name \"%s\" is used twice (first on line "
                                        "%u)",
                                        cl->name, sv->name, cl->servers[j].line);
                        if (server_same_address(sv, &cl->servers[j]))
                                return check_fail(c, ret_error, sv->line,
                                        "cluster \"%s\": servers \"%s\" and \"%s\" have the same host and "
                                        "port %s",
                                        cl->name, cl->servers[j].name, sv->name,
                                        format_server(sv, buf, sizeof(buf)));
                }
                for (size_t k = 0; k < ci; k++)
                        for (size_t j = 0; j < c->clusters[k].n_servers; j++)
                                if (server_same_address(sv, &c->clusters[k].servers[j]))
                                        return check_fail(c, ret_error, sv->line,
                                                "server %s (\"%s\") is also in cluster \"%s\" (line %u); a "
                                                "server belongs to one cluster",
                                                format_server(sv, buf, sizeof(buf)), sv->name,
                                                c->clusters[k].name, c->clusters[k].servers[j].line);
        }
        if (n_promotable == 0)
                return check_fail(c, ret_error, cl->servers_line,
                        "cluster \"%s\" has no promotable server: set promotable = true on at least one "
                        "standby",
                        cl->name);

        for (size_t i = 0; i < cl->n_endpoints; i++) {
                const endpoint_conf *e = &cl->endpoints[i];

                for (size_t k = 0; k <= ci; k++)
                        for (size_t j = 0; j < (k == ci ? i : c->clusters[k].n_endpoints); j++)
                                if (endpoint_conflict(e, &c->clusters[k].endpoints[j], k == ci))
                                        return check_fail(c, ret_error, e->line,
                                                "cluster \"%s\": this %s endpoint repoints the same %s as "
                                                "the one on line %u",
                                                cl->name, endpoint_type_to_string(e->type),
                                                e->type == ENDPOINT_DNS   ? "name"
                                                : e->type == ENDPOINT_VIP ? "address"
                                                                          : "command",
                                                c->clusters[k].endpoints[j].line);
        }
        return 0;
}

int config_check(const config *c, char **ret_error) {
        int r;

        r = check_sentinel(c, ret_error);
        if (r < 0)
                return r;
        for (size_t i = 0; i < c->n_clusters; i++) {
                r = check_cluster(c, i, ret_error);
                if (r < 0)
                        return r;
        }
        return 0;
}
