/* Internal to the config loader (config.c, config-check.c); no other module includes this.
 * The typed getters below each return 1 when the key is set (and *ret is filled), 0 when it is
 * absent and optional, and a negative errno otherwise: -EINVAL after recording the one error line
 * ("FILE:LINE: what is wrong") in the loader, or -ENOMEM. */
#pragma once

#include <libconfig.h>
#include <stdbool.h>
#include <stdint.h>

#include "config.h"
#include "macro.h"

/* The state of one config_load(): where relative names resolve, and the first error. */
typedef struct loader {
        const char *path; /* the main file, as given: every message starts with it */
        char *dir;        /* its directory, absolute: relative secrets and tls files resolve here */
        char *error;      /* "FILE:LINE: what is wrong" */
        char where[2][256];
        unsigned which;
} loader;

/* Records "FILE:LINE: message" as the error (line 0 is reported as 1); returns -EINVAL (-ENOMEM). */
int loader_fail_at(loader *l, const char *file, unsigned line, const char *format, ...) _printf_(4, 5);

/* loader_fail_at() at a setting's line in the main file. */
#define loader_fail(l, s, ...)                                                                              \
        loader_fail_at((l), (l)->path, (s) ? config_setting_source_line(s) : 1, __VA_ARGS__)

/* The dotted path of a setting, "clusters[0].probe.timeout_ms"; valid until the third call. */
const char *loader_where(loader *l, const config_setting_t *s);

/* Records "missing required key" at group g's line, with an optional explanation; returns -EINVAL. */
int loader_missing(loader *l, config_setting_t *g, const char *key, const char *why);

/* Refuses any key of group g that is not in known (NULL-terminated), with a did-you-mean. */
int loader_check_keys(loader *l, config_setting_t *g, const char *const *known);

/* The setting of that type (CONFIG_TYPE_INT also accepts INT64); expected names it for messages. */
int loader_get_setting(loader *l, config_setting_t *g, const char *key, bool required, int type,
        const char *expected, config_setting_t **ret);

/* A non-empty string without control characters, copied. */
int loader_get_string(loader *l, config_setting_t *g, const char *key, bool required, char **ret);

/* A string that is a name (str_is_name()), copied. */
int loader_get_name(loader *l, config_setting_t *g, const char *key, bool required, char **ret);

/* An integer within min..max (a unit from the key's _ms/_s suffix appears in messages). */
int loader_get_int(loader *l, config_setting_t *g, const char *key, bool required, long long min,
        long long max, long long *ret);

/* An optional integer within min..max, as uint64_t. */
int loader_get_u64(
        loader *l, config_setting_t *g, const char *key, long long min, long long max, uint64_t *ret);

/* An optional boolean. */
int loader_get_bool(loader *l, config_setting_t *g, const char *key, bool *ret);

/* An absolute path, copied. */
int loader_get_absolute_path(loader *l, config_setting_t *g, const char *key, bool required, char **ret);

/* An optional existing regular file that is not a secret; relative names resolve against the
 * config's directory; the resolved path is returned. */
int loader_get_file(loader *l, config_setting_t *g, const char *key, char **ret);

/* A *_file secret: resolved with secret_resolve() and read with secret_read_file(). */
int loader_get_secret(loader *l, config_setting_t *g, const char *key, bool required, secret *ret);

/* A "host:port"; without a port default_port applies (0: a port is required); ip_only refuses names. */
int loader_get_hostport(loader *l, config_setting_t *g, const char *key, bool required,
        uint16_t default_port, bool ip_only, hostport *ret);

/* A group { ... }. */
int loader_get_group(loader *l, config_setting_t *g, const char *key, bool required, config_setting_t **ret);

/* A list of groups ( { ... }, ... ); an empty array [] counts as an empty list. */
int loader_get_group_list(
        loader *l, config_setting_t *g, const char *key, bool required, config_setting_t **ret);

/* Reads list key, a list of groups, into a new zeroed array of elements of size bytes, calling read()
 * on each. *array and *n are set as soon as the array exists, also when a later read fails, so that
 * the caller frees what was read. */
int loader_read_list(loader *l, config_setting_t *g, const char *key, bool required, size_t size,
        int (*read)(loader *l, config_setting_t *e, void *element), void **array, size_t *n);

/* config-check.c: one element of clusters, read and checked on its own (servers, tls, timings,
 * endpoints, hooks, secrets); the rules between clusters and the sentinel are config_check()'s. */
int loader_read_cluster(loader *l, config_setting_t *g, void *element);
