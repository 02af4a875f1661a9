#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>

#include "control-proto.h"
#include "macro.h"

/* Requests are flat: the top-level object and args. Replies nest as deep as the status JSON. */
#define REQUEST_DEPTH 4
#define REPLY_DEPTH   64
/* Untrusted names are echoed in error messages, cut to this many bytes. */
#define ECHO_MAX 64

static void json_putp(json_object **o) {
        json_object_put(*o);
}
#define _cleanup_json_ _cleanup_(json_putp)

static const char *const error_table[_CONTROL_ERROR_MAX] = {
        [CONTROL_ERROR_BAD_REQUEST] = "BAD_REQUEST",
        [CONTROL_ERROR_TOO_LARGE] = "TOO_LARGE",
        [CONTROL_ERROR_UNKNOWN_COMMAND] = "UNKNOWN_COMMAND",
        [CONTROL_ERROR_UNKNOWN_CLUSTER] = "UNKNOWN_CLUSTER",
        [CONTROL_ERROR_REFUSED] = "REFUSED",
        [CONTROL_ERROR_FAILED] = "FAILED",
        [CONTROL_ERROR_BUSY] = "BUSY",
        [CONTROL_ERROR_TIMEOUT] = "TIMEOUT",
        [CONTROL_ERROR_PERMISSION_DENIED] = "PERMISSION_DENIED",
        [CONTROL_ERROR_INTERNAL] = "INTERNAL",
        [CONTROL_ERROR_UNSUPPORTED] = "UNSUPPORTED",
};

typedef enum arg_type {
        ARG_STRING,
        ARG_BOOL,
        ARG_UINT,
} arg_type;

typedef struct arg_spec {
        const char *name;
        arg_type type;
        bool required;
} arg_spec;

typedef enum cluster_rule {
        CLUSTER_NONE,
        CLUSTER_OPTIONAL,
        CLUSTER_REQUIRED,
} cluster_rule;

typedef struct command_spec {
        const char *name;
        cluster_rule cluster;
        const arg_spec *args; /* ends with a NULL name */
} command_spec;

static const arg_spec args_none[] = {{}};
static const arg_spec args_switchover[] = {
        {"to", ARG_STRING, false},
        {"timeout_ms", ARG_UINT, false},
        {"dry_run", ARG_BOOL, false},
        {},
};
static const arg_spec args_failover[] = {
        {"to", ARG_STRING, false},
        {"force", ARG_BOOL, false},
        {"no_quorum", ARG_BOOL, false},
        {"dry_run", ARG_BOOL, false},
        {},
};
static const arg_spec args_maintenance[] = {{"enabled", ARG_BOOL, true}, {"ttl_s", ARG_UINT, false}, {}};
static const arg_spec args_history[] = {{"limit", ARG_UINT, false}, {}};

static const command_spec command_table[_CONTROL_COMMAND_MAX] = {
        [CONTROL_COMMAND_PING] = {"ping", CLUSTER_NONE, args_none},
        [CONTROL_COMMAND_STATUS] = {"status", CLUSTER_OPTIONAL, args_none},
        [CONTROL_COMMAND_SWITCHOVER] = {"switchover", CLUSTER_REQUIRED, args_switchover},
        [CONTROL_COMMAND_FAILOVER] = {"failover", CLUSTER_REQUIRED, args_failover},
        [CONTROL_COMMAND_MAINTENANCE] = {"maintenance", CLUSTER_REQUIRED, args_maintenance},
        [CONTROL_COMMAND_HISTORY] = {"history", CLUSTER_REQUIRED, args_history},
        [CONTROL_COMMAND_WHY] = {"why", CLUSTER_REQUIRED, args_none},
        [CONTROL_COMMAND_RELOAD] = {"reload", CLUSTER_NONE, args_none},
};

const char *control_command_to_string(control_command c) {
        if (c < 0 || c >= _CONTROL_COMMAND_MAX)
                return NULL;
        return command_table[c].name;
}

control_command control_command_from_string(const char *s) {
        if (!s)
                return _CONTROL_COMMAND_INVALID;
        for (int i = 0; i < _CONTROL_COMMAND_MAX; i++)
                if (streq(command_table[i].name, s))
                        return (control_command) i;
        return _CONTROL_COMMAND_INVALID;
}

const char *control_error_to_string(control_error e) {
        if (e < 0 || e >= _CONTROL_ERROR_MAX)
                return NULL;
        return error_table[e];
}

control_error control_error_from_string(const char *s) {
        if (!s)
                return _CONTROL_ERROR_INVALID;
        for (int i = 0; i < _CONTROL_ERROR_MAX; i++)
                if (streq(error_table[i], s))
                        return (control_error) i;
        return _CONTROL_ERROR_INVALID;
}

/* The length of the printable UTF-8 sequence at s[0..left), or 0 when it is a control character or
 * invalid UTF-8 (then one byte is replaced). */
static size_t utf8_printable_len(const unsigned char *s, size_t left) {
        size_t n;

        if (s[0] < 0x20 || s[0] == 0x7f)
                return 0;
        if (s[0] < 0x80)
                return 1;
        if (s[0] >= 0xc2 && s[0] <= 0xdf)
                n = 2;
        else if (s[0] >= 0xe0 && s[0] <= 0xef)
                n = 3;
        else if (s[0] >= 0xf0 && s[0] <= 0xf4)
                n = 4;
        else
                return 0;
        if (left < n)
                return 0;
        for (size_t i = 1; i < n; i++)
                if ((s[i] & 0xc0) != 0x80)
                        return 0;
        if ((s[0] == 0xe0 && s[1] < 0xa0) || (s[0] == 0xed && s[1] >= 0xa0) ||     /* overlong, surrogate */
                (s[0] == 0xf0 && s[1] < 0x90) || (s[0] == 0xf4 && s[1] >= 0x90) || /* overlong, > U+10FFFF */
                (s[0] == 0xc2 && s[1] < 0xa0))                                     /* C1 controls */
                return 0;
        return n;
}

char *control_sanitize_line(const char *s, size_t len, char *buf, size_t size) {
        const unsigned char *u = (const unsigned char *) s;
        size_t total = 0, out = 0, i;
        bool cut;

        if (!buf || size < 4)
                return buf;
        if (!s)
                len = 0;

        /* First the length of the whole result, to know whether it needs cutting. */
        for (i = 0; i < len;) {
                size_t n = utf8_printable_len(u + i, len - i);
                total += n ?: 1;
                i += n ?: 1;
        }
        cut = total > size - 1;

        for (i = 0; i < len;) {
                size_t n = utf8_printable_len(u + i, len - i);
                if (out + (n ?: 1) > size - (cut ? 4 : 1))
                        break;
                if (n > 0)
                        memcpy(buf + out, s + i, n);
                else
                        buf[out] = '?';
                out += n ?: 1;
                i += n ?: 1;
        }
        if (cut) {
                memcpy(buf + out, "...", 3);
                out += 3;
        }
        buf[out] = 0;
        return buf;
}

static _printf_(3, 4) int fail(control_error_info *err, control_error code, const char *fmt, ...) {
        char raw[CONTROL_MESSAGE_MAX];
        va_list ap;

        va_start(ap, fmt);
        (void) vsnprintf(raw, sizeof(raw), fmt, ap);
        va_end(ap);
        err->code = code;
        (void) control_sanitize_line(raw, strlen(raw), err->message, sizeof(err->message));
        return -EBADMSG;
}

/* A JSON string without NULs, as a C string; NULL when o is not such a string. */
static const char *json_c_string(json_object *o, size_t *ret_len) {
        const char *s;
        int n;

        if (!json_object_is_type(o, json_type_string))
                return NULL;
        s = json_object_get_string(o);
        n = json_object_get_string_len(o);
        if (!s || n < 0 || strlen(s) != (size_t) n)
                return NULL;
        if (ret_len)
                *ret_len = (size_t) n;
        return s;
}

/* A name: 1..CONTROL_NAME_MAX bytes of printable UTF-8. */
static bool name_is_valid(const char *s, size_t n) {
        if (!s || n == 0 || n > CONTROL_NAME_MAX)
                return false;
        for (size_t i = 0, k; i < n; i += k) {
                k = utf8_printable_len((const unsigned char *) s + i, n - i);
                if (k == 0)
                        return false;
        }
        return true;
}

static const char *echo(const char *s, char buf[static ECHO_MAX + 4]) {
        return control_sanitize_line(s, s ? strlen(s) : 0, buf, ECHO_MAX + 4);
}

static bool is_ws(char c) {
        return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* json-c keeps the last of duplicate keys, and takes single-quoted strings. Once a request passed
 * its type checks it holds no array and no object but itself and args: count the members written
 * at depths 1 and 2 and compare them with what json-c kept. -EBADMSG on a single quote, -ENOTUNIQ
 * on a duplicate key. */
static int check_members(const char *buf, size_t len, json_object *o, json_object *args) {
        size_t commas[3] = {}, depth = 0;
        bool keys[3] = {}, in_string = false, escaped = false;

        for (size_t i = 0; i < len; i++) {
                char c = buf[i];

                if (in_string) {
                        if (escaped)
                                escaped = false;
                        else if (c == '\\')
                                escaped = true;
                        else if (c == '"')
                                in_string = false;
                } else if (c == '\'')
                        return -EBADMSG;
                else if (c == '"')
                        in_string = keys[depth] = true;
                else if (c == '{' && depth < 2)
                        depth++;
                else if (c == '}' && depth > 0)
                        depth--;
                else if (c == ',')
                        commas[depth]++;
        }
        if ((keys[1] ? commas[1] + 1 : 0) != (size_t) json_object_object_length(o))
                return -ENOTUNIQ;
        if (args && (keys[2] ? commas[2] + 1 : 0) != (size_t) json_object_object_length(args))
                return -ENOTUNIQ;
        return 0;
}

/* Parses JSON text into an object: strict, UTF-8, nothing but whitespace after it. */
static int parse_object(const char *buf, size_t len, int depth, json_object **ret, const char **ret_why,
        size_t *ret_offset) {
        enum json_tokener_error e;
        json_tokener *tok;
        json_object *o;
        size_t end, i;

        if (len > INT_MAX)
                return -EMSGSIZE;
        tok = json_tokener_new_ex(depth);
        if (!tok)
                return -ENOMEM;
        json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
        o = json_tokener_parse_ex(tok, buf, (int) len);
        e = json_tokener_get_error(tok);
        end = json_tokener_get_parse_end(tok);
        if (e == json_tokener_continue) {
                /* A NUL ends the text: "42" and "null" are complete only then. */
                o = json_tokener_parse_ex(tok, "", 1);
                e = json_tokener_get_error(tok);
        }
        json_tokener_free(tok);

        *ret_offset = end;
        for (i = 0; i < len && is_ws(buf[i]); i++)
                ;
        if (i == len)
                *ret_why = "empty";
        else if (e != json_tokener_success)
                *ret_why = e == json_tokener_error_parse_eof ? "truncated JSON" : json_tokener_error_desc(e);
        else if (!json_object_is_type(o, json_type_object))
                *ret_why = "not an object";
        else {
                for (i = end; i < len && is_ws(buf[i]); i++)
                        ;
                if (i == len) {
                        *ret = o;
                        return 0;
                }
                *ret_why = "trailing characters";
        }
        json_object_put(o);
        return -EBADMSG;
}

static int parse_args(json_object *args, control_command command, control_error_info *err) {
        const command_spec *spec = &command_table[command];
        const char *cmd = spec->name;
        char e[ECHO_MAX + 4];

        json_object_object_foreach(args, key, value) {
                const arg_spec *a;
                const char *s;
                size_t n;
                int64_t v;

                for (a = spec->args; a->name; a++)
                        if (streq(a->name, key))
                                break;
                if (!a->name)
                        return fail(err, CONTROL_ERROR_BAD_REQUEST, "unknown argument '%s' for %s",
                                echo(key, e), cmd);
                switch (a->type) {
                case ARG_STRING:
                        s = json_c_string(value, &n);
                        if (!name_is_valid(s, n))
                                return fail(err, CONTROL_ERROR_BAD_REQUEST,
                                        "argument '%s' must be a name of 1 to %d printable characters", key,
                                        CONTROL_NAME_MAX);
                        break;
                case ARG_BOOL:
                        if (!json_object_is_type(value, json_type_boolean))
                                return fail(err, CONTROL_ERROR_BAD_REQUEST,
                                        "argument '%s' must be true or false", key);
                        break;
                case ARG_UINT:
                        v = json_object_is_type(value, json_type_int) ? json_object_get_int64(value) : -1;
                        if (v < 0 || v > UINT32_MAX)
                                return fail(err, CONTROL_ERROR_BAD_REQUEST,
                                        "argument '%s' must be an integer from 0 to %u", key, UINT32_MAX);
                        break;
                }
        }
        for (const arg_spec *a = spec->args; a->name; a++)
                if (a->required && !json_object_object_get_ex(args, a->name, NULL))
                        return fail(
                                err, CONTROL_ERROR_BAD_REQUEST, "%s needs the argument '%s'", cmd, a->name);
        return 0;
}

int control_request_parse(const char *buf, size_t len, control_request **ret, control_error_info *err) {
        _cleanup_(control_request_freep) control_request *req = NULL;
        _cleanup_json_ json_object *o = NULL;
        json_object *version = NULL, *command = NULL, *cluster = NULL, *args = NULL;
        bool has_args = false;
        size_t offset = 0, n;
        const char *why = NULL, *s;
        char e[ECHO_MAX + 4];
        cluster_rule rule;
        int r;

        if ((!buf && len > 0) || !ret || !err)
                return -EINVAL;
        if (len > CONTROL_REQUEST_MAX)
                return fail(
                        err, CONTROL_ERROR_TOO_LARGE, "request longer than %d bytes", CONTROL_REQUEST_MAX);
        if (len > 0 && memchr(buf, 0, len))
                return fail(err, CONTROL_ERROR_BAD_REQUEST, "NUL byte in the request");

        r = parse_object(buf, len, REQUEST_DEPTH, &o, &why, &offset);
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                return fail(
                        err, CONTROL_ERROR_BAD_REQUEST, "not a JSON request: %s at byte %zu", why, offset);
        json_object_object_foreach(o, key, value) {
                if (streq(key, "version"))
                        version = value;
                else if (streq(key, "command"))
                        command = value;
                else if (streq(key, "cluster"))
                        cluster = value;
                else if (streq(key, "args")) {
                        args = value;
                        has_args = true;
                } else
                        return fail(err, CONTROL_ERROR_BAD_REQUEST, "unknown key '%s'", echo(key, e));
        }

        if (!json_object_is_type(version, json_type_int))
                return fail(err, CONTROL_ERROR_BAD_REQUEST, "'version' must be the integer %d",
                        CONTROL_PROTOCOL_VERSION);
        if (json_object_get_int64(version) != CONTROL_PROTOCOL_VERSION)
                return fail(err, CONTROL_ERROR_BAD_REQUEST,
                        "unsupported protocol version %" PRId64 " (this is %d)",
                        json_object_get_int64(version), CONTROL_PROTOCOL_VERSION);

        s = json_c_string(command, &n);
        if (!s)
                return fail(err, CONTROL_ERROR_BAD_REQUEST, "'command' must be a string");

        req = calloc(1, sizeof(*req));
        if (!req)
                return -ENOMEM;
        req->command = control_command_from_string(s);
        if (req->command < 0)
                return fail(err, CONTROL_ERROR_UNKNOWN_COMMAND, "unknown command '%s'",
                        control_sanitize_line(s, n, e, sizeof(e)));
        rule = command_table[req->command].cluster;

        if (cluster && !json_object_is_type(cluster, json_type_null)) {
                s = json_c_string(cluster, &n);
                if (!name_is_valid(s, n))
                        return fail(err, CONTROL_ERROR_BAD_REQUEST,
                                "'cluster' must be null or a name of 1 to %d printable characters",
                                CONTROL_NAME_MAX);
                if (rule == CLUSTER_NONE)
                        return fail(err, CONTROL_ERROR_BAD_REQUEST, "%s takes no cluster",
                                command_table[req->command].name);
                req->cluster = strdup(s);
                if (!req->cluster)
                        return -ENOMEM;
        } else if (rule == CLUSTER_REQUIRED)
                return fail(err, CONTROL_ERROR_BAD_REQUEST, "%s needs a cluster",
                        command_table[req->command].name);

        if (has_args && !json_object_is_type(args, json_type_object))
                return fail(err, CONTROL_ERROR_BAD_REQUEST, "'args' must be an object");
        req->args = args ? json_object_get(args) : json_object_new_object();
        if (!req->args)
                return -ENOMEM;
        r = parse_args(req->args, req->command, err);
        if (r < 0)
                return r;

        r = check_members(buf, len, o, args);
        if (r < 0)
                return fail(err, CONTROL_ERROR_BAD_REQUEST, "%s",
                        r == -ENOTUNIQ ? "duplicate key" : "not a JSON request: single-quoted string");

        *ret = TAKE_PTR(req);
        return 0;
}

control_request *control_request_free(control_request *r) {
        if (!r)
                return NULL;
        free(r->cluster);
        json_object_put(r->args);
        free(r);
        return NULL;
}

/* The argument key of r when it has type t, or NULL. */
static json_object *request_arg(const control_request *r, const char *key, json_type t) {
        json_object *v;

        if (!r || !key || !json_object_object_get_ex(r->args, key, &v) || !json_object_is_type(v, t))
                return NULL;
        return v;
}

const char *control_request_get_string(const control_request *r, const char *key) {
        return json_c_string(request_arg(r, key, json_type_string), NULL);
}

bool control_request_get_bool(const control_request *r, const char *key, bool def) {
        json_object *v = request_arg(r, key, json_type_boolean);
        return v ? json_object_get_boolean(v) : def;
}

uint64_t control_request_get_uint(const control_request *r, const char *key, uint64_t def) {
        json_object *v = request_arg(r, key, json_type_int);
        return v && json_object_get_int64(v) >= 0 ? (uint64_t) json_object_get_int64(v) : def;
}

/* Serializes o as one line plus "\n" into a new buffer. */
static int format_line(json_object *o, size_t max, char **ret, size_t *ret_len) {
        const char *s;
        size_t n;
        char *line;

        s = json_object_to_json_string_length(
                o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &n);
        if (!s)
                return -ENOMEM;
        if (n > max)
                return -EMSGSIZE;
        if (memchr(s, '\n', n))
                return -EINVAL; /* only a custom serializer can do this */
        line = malloc(n + 2);
        if (!line)
                return -ENOMEM;
        memcpy(line, s, n);
        line[n] = '\n';
        line[n + 1] = 0;
        *ret = line;
        if (ret_len)
                *ret_len = n + 1;
        return 0;
}

/* A new {"version":1} in *ret. */
static int envelope(json_object **ret) {
        json_object *o = json_object_new_object(), *v = json_object_new_int(CONTROL_PROTOCOL_VERSION);

        if (!o || !v || json_object_object_add(o, "version", v) < 0) {
                json_object_put(o);
                json_object_put(v);
                return -ENOMEM;
        }
        *ret = o;
        return 0;
}

/* Adds v (taken; NULL means its allocation failed) to o as key. */
static int add(json_object *o, const char *key, json_object *v) {
        if (!v)
                return -ENOMEM;
        if (json_object_object_add(o, key, v) < 0) {
                json_object_put(v);
                return -ENOMEM;
        }
        return 0;
}

int control_request_format(
        control_command command, const char *cluster, json_object *args, char **ret, size_t *ret_len) {
        _cleanup_(control_request_freep) control_request *check = NULL;
        _cleanup_json_ json_object *o = NULL;
        _cleanup_free_ char *line = NULL;
        control_error_info err;
        size_t n;
        int r;

        if (!control_command_to_string(command) || !ret ||
                (args && !json_object_is_type(args, json_type_object)))
                return -EINVAL;
        if (cluster && strlen(cluster) > CONTROL_NAME_MAX)
                return -EINVAL;
        if ((r = envelope(&o)) < 0 ||
                (r = add(o, "command", json_object_new_string(control_command_to_string(command)))) < 0)
                return r;
        if (cluster)
                r = add(o, "cluster", json_object_new_string(cluster));
        else
                r = json_object_object_add(o, "cluster", NULL) < 0 ? -ENOMEM : 0;
        if (r < 0)
                return r;
        if ((r = add(o, "args", args ? json_object_get(args) : json_object_new_object())) < 0)
                return r;

        r = format_line(o, CONTROL_REQUEST_MAX, &line, &n);
        if (r < 0)
                return r;
        r = control_request_parse(line, n - 1, &check, &err);
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                return -EINVAL;
        *ret = TAKE_PTR(line);
        if (ret_len)
                *ret_len = n;
        return 0;
}

int control_reply_format_ok(json_object *result, char **ret, size_t *ret_len) {
        _cleanup_json_ json_object *o = NULL;
        int r;

        if (!ret || (result && !json_object_is_type(result, json_type_object)))
                return -EINVAL;
        if ((r = envelope(&o)) < 0 || (r = add(o, "ok", json_object_new_boolean(true))) < 0 ||
                (r = add(o, "result", result ? json_object_get(result) : json_object_new_object())) < 0)
                return r;
        return format_line(o, CONTROL_REPLY_MAX, ret, ret_len);
}

int control_reply_format_error(control_error code, const char *message, char **ret, size_t *ret_len) {
        _cleanup_json_ json_object *o = NULL, *e = NULL;
        char m[CONTROL_MESSAGE_MAX];
        int r;

        if (!control_error_to_string(code) || !ret)
                return -EINVAL;
        (void) control_sanitize_line(message, message ? strlen(message) : 0, m, sizeof(m));
        e = json_object_new_object();
        if (!e)
                return -ENOMEM;
        if ((r = add(e, "code", json_object_new_string(control_error_to_string(code)))) < 0 ||
                (r = add(e, "message", json_object_new_string(m))) < 0 || (r = envelope(&o)) < 0 ||
                (r = add(o, "ok", json_object_new_boolean(false))) < 0 ||
                (r = add(o, "error", TAKE_PTR(e))) < 0)
                return r;
        return format_line(o, CONTROL_REPLY_MAX, ret, ret_len);
}

static char *sanitized_dup(json_object *v, size_t max) {
        const char *s = json_object_is_type(v, json_type_string) ? json_object_get_string(v) : "";
        size_t n = json_object_is_type(v, json_type_string) ? (size_t) json_object_get_string_len(v) : 0;
        char *buf = malloc(max);

        if (!buf)
                return NULL;
        return control_sanitize_line(s, n, buf, max);
}

int control_reply_parse(const char *buf, size_t len, control_reply **ret) {
        _cleanup_(control_reply_freep) control_reply *reply = NULL;
        _cleanup_json_ json_object *o = NULL;
        json_object *v, *e, *code;
        const char *why;
        size_t offset;
        int r;

        if ((!buf && len > 0) || !ret)
                return -EINVAL;
        if (len > CONTROL_REPLY_MAX || (len > 0 && memchr(buf, 0, len)))
                return -EBADMSG;
        r = parse_object(buf, len, REPLY_DEPTH, &o, &why, &offset);
        if (r < 0)
                return r;
        if (!json_object_object_get_ex(o, "version", &v) || !json_object_is_type(v, json_type_int) ||
                json_object_get_int64(v) != CONTROL_PROTOCOL_VERSION)
                return -EBADMSG;
        if (!json_object_object_get_ex(o, "ok", &v) || !json_object_is_type(v, json_type_boolean))
                return -EBADMSG;

        reply = calloc(1, sizeof(*reply));
        if (!reply)
                return -ENOMEM;
        reply->ok = json_object_get_boolean(v);
        reply->error = _CONTROL_ERROR_INVALID;
        if (reply->ok) {
                if (!json_object_object_get_ex(o, "result", &v) || !json_object_is_type(v, json_type_object))
                        return -EBADMSG;
                reply->result = json_object_get(v);
        } else {
                if (!json_object_object_get_ex(o, "error", &e) ||
                        !json_object_is_type(e, json_type_object) ||
                        !json_object_object_get_ex(e, "code", &code) ||
                        !json_object_is_type(code, json_type_string))
                        return -EBADMSG;
                if (!json_object_object_get_ex(e, "message", &v))
                        v = NULL;
                reply->error_code = sanitized_dup(code, ECHO_MAX + 4);
                reply->error_message = sanitized_dup(v, CONTROL_MESSAGE_MAX);
                if (!reply->error_code || !reply->error_message)
                        return -ENOMEM;
                reply->error = control_error_from_string(reply->error_code);
        }
        *ret = TAKE_PTR(reply);
        return 0;
}

control_reply *control_reply_free(control_reply *r) {
        if (!r)
                return NULL;
        json_object_put(r->result);
        free(r->error_code);
        free(r->error_message);
        free(r);
        return NULL;
}

struct control_line_splitter {
        size_t max_line;
        char *buf;
        size_t size;   /* allocated */
        size_t len;    /* buffered, without the NUL */
        bool complete; /* buf[0..len) is a whole line, its newline dropped */
        bool overflow;
};

int control_line_splitter_new(size_t max_line, control_line_splitter **ret) {
        control_line_splitter *s;

        if (!ret || max_line == 0 || max_line >= SIZE_MAX / 2)
                return -EINVAL;
        s = calloc(1, sizeof(*s));
        if (!s)
                return -ENOMEM;
        s->max_line = max_line;
        *ret = s;
        return 0;
}

control_line_splitter *control_line_splitter_free(control_line_splitter *s) {
        if (!s)
                return NULL;
        free(s->buf);
        free(s);
        return NULL;
}

int control_line_splitter_feed(
        control_line_splitter *s, const void *data, size_t len, size_t *ret_consumed) {
        const char *nl;
        size_t take;

        if (!s || (!data && len > 0) || !ret_consumed)
                return -EINVAL;
        if (s->overflow)
                return -EMSGSIZE;
        if (s->complete)
                return -EBUSY;

        nl = len > 0 ? memchr(data, '\n', len) : NULL;
        take = nl ? (size_t) (nl - (const char *) data) : len;
        if (take > s->max_line - s->len) {
                s->overflow = true;
                return -EMSGSIZE;
        }
        if (s->len + take + 1 > s->size) {
                size_t want = s->size < 128 ? 256 : s->size * 2;
                char *p;

                if (want > s->max_line + 1)
                        want = s->max_line + 1;
                if (want < s->len + take + 1)
                        want = s->len + take + 1;
                p = realloc(s->buf, want);

                if (!p)
                        return -ENOMEM;
                s->buf = p;
                s->size = want;
        }
        if (take > 0)
                memcpy(s->buf + s->len, data, take);
        s->len += take;
        s->buf[s->len] = 0;
        if (nl) {
                s->complete = true;
                *ret_consumed = take + 1;
                return 1;
        }
        *ret_consumed = take;
        return 0;
}

int control_line_splitter_get(const control_line_splitter *s, const char **ret_line, size_t *ret_len) {
        if (!s || !ret_line)
                return -EINVAL;
        if (!s->complete)
                return -ENODATA;
        *ret_line = s->buf;
        if (ret_len)
                *ret_len = s->len;
        return 0;
}

void control_line_splitter_pop(control_line_splitter *s) {
        if (!s || !s->complete)
                return;
        s->len = 0;
        s->complete = false;
}

void control_line_splitter_reset(control_line_splitter *s) {
        if (!s)
                return;
        s->len = 0;
        s->complete = false;
        s->overflow = false;
}

size_t control_line_splitter_pending(const control_line_splitter *s) {
        return s && !s->complete ? s->len : 0;
}
