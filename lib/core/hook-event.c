#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <time.h>

#include "hook-event.h"
#include "timefmt.h"
#include "macro.h"

/* The number of variables hook_event_build_env() can produce, without the NULL. */
#define HOOK_ENV_MAX 14

static void hook_json_putp(json_object **o) {
        json_object_put(*o);
}
#define _cleanup_json_ _cleanup_(hook_json_putp)

static void hook_env_freep(char ***env) {
        hook_env_free(*env);
}

char **hook_env_free(char **env) {
        if (!env)
                return NULL;
        for (char **p = env; *p; p++)
                free(*p);
        free(env);
        return NULL;
}

hook_invocation *hook_invocation_free(hook_invocation *inv) {
        if (!inv)
                return NULL;
        hook_env_free(inv->env);
        free(inv->input);
        free(inv);
        return NULL;
}

/* The length of the well-formed UTF-8 character at s (1..4), or 0 when s does not start one:
 * overlong forms, surrogates and code points above U+10FFFF are refused. A NUL ends the checks
 * early, so s is never read past its terminator. */
static size_t hook_utf8_len(const unsigned char *s) {
        unsigned char c = s[0], lo = 0x80, hi = 0xbf;

        if (c < 0x80)
                return 1;
        if (c >= 0xc2 && c <= 0xdf)
                return (s[1] & 0xc0) == 0x80 ? 2 : 0;
        if (c >= 0xe0 && c <= 0xef) {
                if (c == 0xe0)
                        lo = 0xa0;
                else if (c == 0xed)
                        hi = 0x9f;
                return s[1] >= lo && s[1] <= hi && (s[2] & 0xc0) == 0x80 ? 3 : 0;
        }
        if (c >= 0xf0 && c <= 0xf4) {
                if (c == 0xf0)
                        lo = 0x90;
                else if (c == 0xf4)
                        hi = 0x8f;
                return s[1] >= lo && s[1] <= hi && (s[2] & 0xc0) == 0x80 && (s[3] & 0xc0) == 0x80 ? 4 : 0;
        }
        return 0;
}

int hook_event_sanitize(const char *s, bool keep_control, size_t max_bytes, char **ret) {
        const unsigned char *p;
        size_t len, n = 0;
        char *out;

        if (!ret)
                return -EINVAL;
        s = s ?: "";
        len = strlen(s);
        if (max_bytes > 0 && len > max_bytes)
                len = max_bytes;
        out = malloc(len + 1); /* every replacement is one byte for at least one */
        if (!out)
                return -ENOMEM;

        for (p = (const unsigned char *) s; *p;) {
                size_t k = hook_utf8_len(p);

                if (k == 0) {
                        if (n + 1 > len)
                                break;
                        out[n++] = '?';
                        p++;
                        continue;
                }
                if (n + k > len)
                        break;
                if (k == 1 && !keep_control && (*p < 0x20 || *p == 0x7f))
                        out[n] = ' ';
                else
                        memcpy(out + n, p, k);
                n += k;
                p += k;
        }
        out[n] = '\0';
        *ret = out;
        return 0;
}

int hook_event_format_server(const hook_server *s, char **ret) {
        char port[8] = "";
        const char *lb = "", *rb = "";
        char *out;
        int k;

        if (!s || !ret)
                return -EINVAL;
        if (s->host && strchr(s->host, ':')) {
                lb = "[";
                rb = "]";
        }
        if (s->host && s->port > 0)
                (void) snprintf(port, sizeof(port), ":%u", (unsigned) s->port);

        if (s->name && s->host)
                k = asprintf(&out, "%s %s%s%s%s", s->name, lb, s->host, rb, port);
        else if (s->host)
                k = asprintf(&out, "%s%s%s%s", lb, s->host, rb, port);
        else
                k = asprintf(&out, "%s", s->name ?: "");
        if (k < 0)
                return -ENOMEM;
        *ret = out;
        return 0;
}

int hook_event_format_timestamp(uint64_t realtime_usec, char buf[static HOOK_EVENT_TIMESTAMP_MAX]) {
        return timefmt_rfc3339_ms(realtime_usec, buf);
}

static bool hook_event_is_valid(const hook_event *ev) {
        return ev && ev->event >= 0 && ev->event < _EVENT_MAX && ev->cluster &&
               (!ev->details || json_object_is_type(ev->details, json_type_object));
}

/* Appends "key=value" with value sanitised for the environment. */
static int hook_env_add(char **env, size_t *n, const char *key, const char *value) {
        _cleanup_free_ char *clean = NULL;
        int r;

        if (*n >= HOOK_ENV_MAX)
                return -E2BIG;
        r = hook_event_sanitize(value, false, HOOK_EVENT_VALUE_MAX, &clean);
        if (r < 0)
                return r;
        if (asprintf(&env[*n], "%s=%s", key, clean) < 0) {
                env[*n] = NULL;
                return -ENOMEM;
        }
        (*n)++;
        return 0;
}

static int hook_env_add_server(char **env, size_t *n, const char *key, const hook_server *s) {
        _cleanup_free_ char *v = NULL;
        int r;

        r = hook_event_format_server(s, &v);
        if (r < 0)
                return r;
        return hook_env_add(env, n, key, v);
}

/* Builds the environment and returns the number of variables in it. */
static int hook_event_env(const hook_event *ev, hook_target target, char ***ret) {
        _cleanup_(hook_env_freep) char **env = NULL;
        char epoch[24], port[8];
        size_t n = 0;
        int r;

        if (!hook_event_is_valid(ev) || target < 0 || target >= _HOOK_TARGET_MAX || !ret)
                return -EINVAL;
        if (target == HOOK_TARGET_EXEC_ENDPOINT && (!ev->new_primary.host || ev->new_primary.port == 0))
                return -EINVAL;
        env = calloc(HOOK_ENV_MAX + 1, sizeof(char *));
        if (!env)
                return -ENOMEM;
        (void) snprintf(epoch, sizeof(epoch), "%" PRIu64, ev->epoch);
        (void) snprintf(port, sizeof(port), "%u", (unsigned) ev->new_primary.port);

        if ((r = hook_env_add(env, &n, "SENTINEL_EVENT", event_to_string(ev->event))) < 0 ||
                (r = hook_env_add(env, &n, "SENTINEL_CLUSTER", ev->cluster)) < 0 ||
                (r = hook_env_add(env, &n, "SENTINEL_EPOCH", epoch)) < 0 ||
                (r = hook_env_add(env, &n, "SENTINEL_SEVERITY",
                         event_severity_to_string(event_severity_of(ev->event)))) < 0 ||
                (r = hook_env_add(env, &n, "SENTINEL_NAME", ev->sentinel_name)) < 0 ||
                (r = hook_env_add(env, &n, "SENTINEL_ZONE", ev->sentinel_zone)) < 0 ||
                (r = hook_env_add_server(env, &n, "SENTINEL_OLD_PRIMARY", &ev->old_primary)) < 0 ||
                (r = hook_env_add_server(env, &n, "SENTINEL_NEW_PRIMARY", &ev->new_primary)) < 0 ||
                (r = hook_env_add(env, &n, "SENTINEL_MESSAGE", ev->message)) < 0)
                return r;
        if (target == HOOK_TARGET_EXEC_ENDPOINT &&
                ((r = hook_env_add(env, &n, "SENTINEL_PRIMARY_HOST", ev->new_primary.host)) < 0 ||
                        (r = hook_env_add(env, &n, "SENTINEL_PRIMARY_PORT", port)) < 0))
                return r;
        if (ev->credentials_directory &&
                (r = hook_env_add(env, &n, "CREDENTIALS_DIRECTORY", ev->credentials_directory)) < 0)
                return r;
        if ((r = hook_env_add(env, &n, "PATH", HOOK_ENV_PATH)) < 0 ||
                (r = hook_env_add(env, &n, "LANG", HOOK_ENV_LANG)) < 0)
                return r;
        *ret = TAKE_PTR(env);
        return (int) n;
}

int hook_event_build_env(const hook_event *ev, hook_target target, char ***ret) {
        int r = hook_event_env(ev, target, ret);

        return r < 0 ? r : 0;
}

/* Adds v to o under key, taking v, also on failure; a NULL v is a failed allocation. */
static int hook_json_add(json_object *o, const char *key, json_object *v) {
        if (v && json_object_object_add(o, key, v) >= 0)
                return 0;
        json_object_put(v);
        return -ENOMEM;
}

/* Adds s with its UTF-8 repaired, or null when s is NULL. */
static int hook_json_add_string(json_object *o, const char *key, const char *s) {
        _cleanup_free_ char *clean = NULL;
        int r;

        if (!s)
                return json_object_object_add(o, key, NULL) < 0 ? -ENOMEM : 0;
        r = hook_event_sanitize(s, true, 0, &clean);
        if (r < 0)
                return r;
        return hook_json_add(o, key, json_object_new_string(clean));
}

static int hook_json_add_server(json_object *o, const char *key, const hook_server *s) {
        _cleanup_json_ json_object *obj = json_object_new_object();
        int r;

        if (!obj)
                return -ENOMEM;
        if ((r = hook_json_add_string(obj, "name", s->name)) < 0 ||
                (r = hook_json_add_string(obj, "host", s->host)) < 0)
                return r;
        if (s->port > 0)
                r = hook_json_add(obj, "port", json_object_new_int(s->port));
        else
                r = json_object_object_add(obj, "port", NULL) < 0 ? -ENOMEM : 0;
        if (r < 0)
                return r;
        return hook_json_add(o, key, TAKE_PTR(obj));
}

int hook_event_to_json(const hook_event *ev, json_object **ret) {
        _cleanup_json_ json_object *o = NULL, *sentinel = NULL;
        char at[HOOK_EVENT_TIMESTAMP_MAX];
        int r;

        if (!hook_event_is_valid(ev) || !ret)
                return -EINVAL;
        r = hook_event_format_timestamp(ev->realtime_usec, at);
        if (r < 0)
                return r;
        o = json_object_new_object();
        sentinel = json_object_new_object();
        if (!o || !sentinel)
                return -ENOMEM;
        if ((r = hook_json_add_string(sentinel, "name", ev->sentinel_name)) < 0 ||
                (r = hook_json_add_string(sentinel, "zone", ev->sentinel_zone)) < 0)
                return r;

        if ((r = hook_json_add_string(o, "event", event_to_string(ev->event))) < 0 ||
                (r = hook_json_add_string(o, "cluster", ev->cluster)) < 0 ||
                (r = hook_json_add(o, "epoch", json_object_new_uint64(ev->epoch))) < 0 ||
                (r = hook_json_add_string(
                         o, "severity", event_severity_to_string(event_severity_of(ev->event)))) < 0 ||
                (r = hook_json_add(o, "sentinel", TAKE_PTR(sentinel))) < 0 ||
                (r = hook_json_add_server(o, "old_primary", &ev->old_primary)) < 0 ||
                (r = hook_json_add_server(o, "new_primary", &ev->new_primary)) < 0 ||
                (r = hook_json_add_string(o, "message", ev->message)) < 0 ||
                (r = hook_json_add_string(o, "at", at)) < 0)
                return r;
        /* By reference: the caller keeps its own reference. */
        r = hook_json_add(
                o, "details", ev->details ? json_object_get(ev->details) : json_object_new_object());
        if (r < 0)
                return r;
        *ret = TAKE_PTR(o);
        return 0;
}

int hook_event_build(const hook_event *ev, hook_target target, hook_invocation **ret) {
        _cleanup_(hook_invocation_freep) hook_invocation *inv = NULL;
        _cleanup_json_ json_object *o = NULL;
        const char *text;
        size_t len;
        int r;

        if (!ret)
                return -EINVAL;
        inv = calloc(1, sizeof(*inv));
        if (!inv)
                return -ENOMEM;
        r = hook_event_env(ev, target, &inv->env);
        if (r < 0)
                return r;
        inv->n_env = (size_t) r;

        r = hook_event_to_json(ev, &o);
        if (r < 0)
                return r;
        /* Plain output escapes every control character: the document is exactly one line. */
        text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
        if (!text)
                return -ENOMEM;
        len = strlen(text);
        inv->input = malloc(len + 2);
        if (!inv->input)
                return -ENOMEM;
        memcpy(inv->input, text, len);
        inv->input[len] = '\n';
        inv->input[len + 1] = '\0';
        inv->input_size = len + 1;
        *ret = TAKE_PTR(inv);
        return 0;
}
