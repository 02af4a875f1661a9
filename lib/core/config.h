/* The configuration of SPEC 3, read from a libconfig file by config_load(): fully validated, with
 * every default filled in, and read-only afterwards (callers hold a const config *). Secrets are read
 * from their files at load time and kept in exactly one copy each, which config_free() wipes; every
 * other field is safe to print. Each element records the line it was defined on, for later messages. */
#pragma once

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "event.h"
#include "hostport.h"
#include "secret.h"
#include "tsig-key.h"

/* The SPEC 3 defaults. */
#define CONFIG_DEFAULT_CONTROL_SOCKET_DIR  "/run/mariadb-sentinel"     /* + "/NAME.sock" */
#define CONFIG_DEFAULT_STATE_DIR_PARENT    "/var/lib/mariadb-sentinel" /* + "/NAME" */
#define CONFIG_DEFAULT_SERVER_PORT         3306
#define CONFIG_DEFAULT_SERVER_PRIORITY     0
#define CONFIG_DEFAULT_PROBE_INTERVAL_MS   1000
#define CONFIG_DEFAULT_PROBE_TIMEOUT_MS    1000
#define CONFIG_DEFAULT_DOWN_AFTER_MS       5000
#define CONFIG_DEFAULT_MAX_LAG_MS          10000
#define CONFIG_DEFAULT_COOLDOWN_S          3600
#define CONFIG_DEFAULT_FAILOVER_TIMEOUT_MS 30000
#define CONFIG_DEFAULT_SELF_FENCE_AFTER_MS 3000
#define CONFIG_DEFAULT_DNS_PORT            53
#define CONFIG_DEFAULT_DNS_TTL             5
#define CONFIG_DEFAULT_EXEC_TIMEOUT_MS     5000
#define CONFIG_DEFAULT_HOOK_TIMEOUT_MS     10000

typedef enum endpoint_type {
        ENDPOINT_DNS,  /* RFC 2136 update of an A/AAAA record */
        ENDPOINT_VIP,  /* a virtual IP address moved between hosts */
        ENDPOINT_EXEC, /* a command that repoints whatever the site uses */
        _ENDPOINT_TYPE_MAX,
        _ENDPOINT_TYPE_INVALID = -EINVAL,
} endpoint_type;

typedef enum hook_class {
        HOOK_CLASS_NOTIFY, /* asynchronous; never delays a failover step */
        HOOK_CLASS_PRE,    /* runs before fencing; non-zero exit or timeout aborts the failover */
        _HOOK_CLASS_MAX,
        _HOOK_CLASS_INVALID = -EINVAL,
} hook_class;

typedef struct peer_conf {
        char *name;
        char *zone;
        hostport address; /* the peer's listen address */
        unsigned line;
} peer_conf;

typedef struct sentinel_conf {
        char *name; /* unique among the sentinels; safe in paths */
        char *zone;
        hostport listen;      /* IP literal; listen.host NULL when not set (only allowed without peers) */
        char *control_socket; /* absolute; default /run/mariadb-sentinel/NAME.sock */
        char *control_group;  /* a group whose members may use the control socket; NULL: root only */
        gid_t control_gid;    /* control_group's gid, looked up at load; 0 when no group */
        char *state_dir;      /* absolute; default /var/lib/mariadb-sentinel/NAME */
        hostport http_listen; /* IP literal; http_listen.host NULL when not set */
        secret peer_secret;   /* always set when there are peers; unset (data NULL) only without */
        size_t n_peers;
        peer_conf *peers;
        unsigned line;
} sentinel_conf;

typedef struct tls_conf {
        bool enabled;            /* a tls group is present */
        char *ca, *cert, *key;   /* absolute paths (relative ones resolved against the config's
                                  * directory), each NULL when not set; cert and key come together */
        bool verify_server_cert; /* default true */
        unsigned line;
} tls_conf;

typedef struct server_conf {
        char *name;
        char *host;    /* a host name, IPv4 or IPv6 address, without brackets */
        int family;    /* AF_INET, AF_INET6, or AF_UNSPEC for a name */
        uint16_t port; /* default 3306 */
        char *zone;
        int priority;    /* default 0; higher wins among equally advanced standbys */
        bool promotable; /* default true */
        unsigned line;
} server_conf;

typedef struct probe_conf {
        uint64_t interval_ms;   /* default 1000 */
        uint64_t timeout_ms;    /* default 1000; <= interval_ms */
        uint64_t down_after_ms; /* default 5000; >= interval_ms */
        unsigned line;          /* 0 when the group is absent */
} probe_conf;

typedef struct failover_conf {
        bool automatic;      /* the config's "auto"; default true */
        uint64_t max_lag_ms; /* default 10000; 0 = only a standby with no lag */
        uint64_t cooldown_s; /* default 3600; 0 = no anti-flapping pause */
        uint64_t timeout_ms; /* default 30000 */
        unsigned line;
} failover_conf;

typedef struct fencing_conf {
        uint64_t self_fence_after_ms; /* default 3000; < probe.down_after_ms */
        unsigned line;
} fencing_conf;

typedef struct dns_endpoint_conf {
        hostport server;     /* the primary DNS server; default port 53 */
        char *zone;          /* absolute (ends with '.') */
        char *name;          /* absolute, in zone */
        uint32_t ttl;        /* seconds; default 5 */
        char *tsig_key_file; /* the resolved path, NULL when updates are not signed */
        tsig_key tsig;       /* tsig.name NULL when tsig_key_file is not set */
} dns_endpoint_conf;

typedef struct vip_endpoint_conf {
        ip_prefix address; /* family, address and prefix length */
        char *interface;
} vip_endpoint_conf;

typedef struct exec_endpoint_conf {
        char *command;       /* an absolute path */
        uint64_t timeout_ms; /* default 5000 */
} exec_endpoint_conf;

typedef struct endpoint_conf {
        endpoint_type type; /* selects the member of the union */
        union {
                dns_endpoint_conf dns;
                vip_endpoint_conf vip;
                exec_endpoint_conf exec;
        };
        unsigned line;
} endpoint_conf;

typedef struct hook_conf {
        char *command;         /* an absolute path */
        event_mask event_mask; /* never 0; "*" is EVENT_MASK_ALL */
        hook_class class;      /* default notify */
        uint64_t timeout_ms;   /* default 10000 */
        unsigned line;
} hook_conf;

typedef struct cluster_conf {
        char *name;      /* unique; safe in paths and URLs */
        unsigned quorum; /* 1..number of sentinels */
        char *user;
        secret password;
        char *replication_user;
        secret replication_password;
        tls_conf tls;
        size_t n_servers; /* at least 2, at least one promotable */
        server_conf *servers;
        probe_conf probe;
        failover_conf failover;
        fencing_conf fencing;
        size_t n_endpoints; /* may be 0 */
        endpoint_conf *endpoints;
        size_t n_hooks;
        hook_conf *hooks;
        unsigned line;
        unsigned quorum_line;
        unsigned servers_line;
} cluster_conf;

typedef struct config {
        char *path; /* as given to config_load() */
        sentinel_conf sentinel;
        size_t n_clusters; /* at least 1 */
        cluster_conf *clusters;
} config;

/* Reads and validates the file at path. On success returns 0 and a new config in *ret. On failure
 * returns a negative errno (-EINVAL for anything wrong in the config or a file it names; -ENOENT,
 * -EACCES, ... when the main file cannot be read; -ENOMEM) and, when ret_error is not NULL, sets
 * *ret_error (set on failure only, by exception) to one line without a newline: "FILE:LINE: what is
 * wrong", or "FILE: cannot read: REASON" for the main file. No secret byte is ever in the message. */
int config_load(const char *path, config **ret, char **ret_error);

/* Wipes every secret (explicit_bzero) and frees c; NULL-safe; returns NULL. */
config *config_free(config *c);

/* Prints the short human summary of --check-config: the sentinel, its peers, quorum and majority, and
 * per cluster its servers by zone, timings, endpoints and hooks. Prints secret paths, never secrets. */
void config_print_summary(const config *c, FILE *f);

/* Cross-field rules over a config whose fields are each valid (config-check.c; config_load() runs it):
 * unique names and addresses, quorum, promotable servers. 0 when they hold; else -EINVAL, and
 * *ret_error (set on failure only) as config_load()'s. -ENOMEM when out of memory. */
int config_check(const config *c, char **ret_error);

/* The number of sentinels: this one plus its peers. */
size_t config_n_sentinels(const config *c);

/* The votes a leader needs: a majority of all configured sentinels. */
size_t config_majority(const config *c);

/* The cluster called name, or NULL. */
const cluster_conf *config_find_cluster(const config *c, const char *name);

/* The server called name in cluster cl, or NULL. */
const server_conf *cluster_conf_find_server(const cluster_conf *cl, const char *name);

/* "dns", "vip", "exec"; NULL when out of range. */
const char *endpoint_type_to_string(endpoint_type t);

/* Parses an endpoint type; _ENDPOINT_TYPE_INVALID when unknown. */
endpoint_type endpoint_type_from_string(const char *s);

/* "notify", "pre"; NULL when out of range. */
const char *hook_class_to_string(hook_class c);

/* Parses a hook class; _HOOK_CLASS_INVALID when unknown. */
hook_class hook_class_from_string(const char *s);
