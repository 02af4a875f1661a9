/* Unit tests for lib/core/control-proto.c: requests (valid and every way of being invalid),
 * replies both ways, the line splitter, the one-line sanitizer. Each table row is one loop
 * iteration. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control-proto.h"
#include "macro.h"

static void json_putp(json_object **o) {
        json_object_put(*o);
}
#define _cleanup_json_ _cleanup_(json_putp)

#define OK (-1) /* expected code of a valid request */

/* ---- requests ---- */

static const struct {
        const char *in;
        int code;           /* OK or the control_error */
        const char *expect; /* OK: "command cluster", else a substring of the message */
} requests[] = {
        /* valid */
        {"{\"version\":1,\"command\":\"ping\"}", OK, "ping -"},
        {"{\"version\":1,\"command\":\"status\",\"cluster\":null,\"args\":{}}", OK, "status -"},
        {"{\"version\":1,\"command\":\"status\",\"cluster\":\"main\"}", OK, "status main"},
        {" \t{ \"command\" : \"switchover\", \"version\":1,\"cluster\":\"main\",\"args\":{\"to\":\"db-b\","
         "\"timeout_ms\":30000,\"dry_run\":true}} \r",
                OK, "switchover main"},
        {"{\"version\":1,\"command\":\"failover\",\"cluster\":\"c\",\"args\":{\"force\":true,\"no_quorum\":"
         "false,"
         "\"to\":\"x\",\"dry_run\":false}}",
                OK, "failover c"},
        {"{\"version\":1,\"command\":\"maintenance\",\"cluster\":\"m\",\"args\":{\"enabled\":true,\"ttl_s\":"
         "600}}",
                OK, "maintenance m"},
        {"{\"version\":1,\"command\":\"maintenance\",\"cluster\":\"m\",\"args\":{\"enabled\":false}}", OK,
                "maintenance m"},
        {"{\"version\":1,\"command\":\"history\",\"cluster\":\"m\",\"args\":{\"limit\":0}}", OK,
                "history m"},
        {"{\"version\":1,\"command\":\"why\",\"cluster\":\"m\"}", OK, "why m"},
        {"{\"version\":1,\"command\":\"reload\",\"cluster\":null}", OK, "reload -"},
        {"{\"version\":1,\"command\":\"status\",\"cluster\":\"z\\u00fcrich\"}", OK, "status z\xc3\xbcrich"},
        {"{\"version\":1,\"command\":\"switchover\",\"cluster\":\"m\",\"args\":{\"timeout_ms\":4294967295}}",
                OK, "switchover m"},

        /* not JSON, not an object, not one object */
        {"", CONTROL_ERROR_BAD_REQUEST, "empty"},
        {"   ", CONTROL_ERROR_BAD_REQUEST, "empty"},
        {"{", CONTROL_ERROR_BAD_REQUEST, "truncated"},
        {"{\"version\":1,\"command\":\"ping\"", CONTROL_ERROR_BAD_REQUEST, "truncated"},
        {"[]", CONTROL_ERROR_BAD_REQUEST, "not an object"},
        {"\"ping\"", CONTROL_ERROR_BAD_REQUEST, "not an object"},
        {"null", CONTROL_ERROR_BAD_REQUEST, "not an object"},
        {"42", CONTROL_ERROR_BAD_REQUEST, "not an object"},
        {"{\"version\":1,\"command\":\"ping\"} {}", CONTROL_ERROR_BAD_REQUEST, "not a JSON request"},
        {"{\"version\":1,\"command\":\"ping\"}x", CONTROL_ERROR_BAD_REQUEST, "not a JSON request"},
        {"{\"version\":1,\"command\":\"ping\",}", CONTROL_ERROR_BAD_REQUEST, "not a JSON request"},
        {"{'version':1,\"command\":\"ping\"}", CONTROL_ERROR_BAD_REQUEST, "single-quoted"},
        {"{\"version\":1,\"command\":\"history\",\"cluster\":\"m\",\"args\":{'limit':1}}",
                CONTROL_ERROR_BAD_REQUEST, "single-quoted"},
        {"{\"version\":1,\"command\":'ping'}", CONTROL_ERROR_BAD_REQUEST, "not a JSON request"},
        {"{\"version\":1,/*c*/\"command\":\"ping\"}", CONTROL_ERROR_BAD_REQUEST, "not a JSON request"},
        {"\xef\xbb\xbf{\"version\":1,\"command\":\"ping\"}", CONTROL_ERROR_BAD_REQUEST,
                "not a JSON request"},
        {"{\"version\":1,\"command\":\"status\",\"cluster\":\"\xff\"}", CONTROL_ERROR_BAD_REQUEST,
                "not a JSON request"},
        {"{\"version\":1,\"command\":\"status\",\"cluster\":\"\xc0\xaf\"}", CONTROL_ERROR_BAD_REQUEST,
                "'cluster'"},

        /* keys */
        {"{\"version\":1,\"command\":\"ping\",\"extra\":1}", CONTROL_ERROR_BAD_REQUEST,
                "unknown key 'extra'"},
        {"{\"Version\":1,\"command\":\"ping\"}", CONTROL_ERROR_BAD_REQUEST, "unknown key 'Version'"},
        {"{\"version\":1,\"command\":\"ping\",\"a\\nb\":1}", CONTROL_ERROR_BAD_REQUEST, "unknown key 'a?b'"},
        {"{\"version\":1,\"command\":\"ping\",\"command\":\"reload\"}", CONTROL_ERROR_BAD_REQUEST,
                "duplicate"},
        {"{\"version\":1,\"version\":1,\"command\":\"ping\"}", CONTROL_ERROR_BAD_REQUEST, "duplicate"},
        {"{\"version\":1,\"command\":\"history\",\"cluster\":\"a\",\"args\":{\"limit\":1,\"limit\":2}}",
                CONTROL_ERROR_BAD_REQUEST, "duplicate"},
        {"{\"version\":1,\"command\":\"history\",\"cluster\":\"a,{\\\"\",\"args\":{\"limit\":1}}", OK,
                "history a,{\""},

        /* version */
        {"{\"command\":\"ping\"}", CONTROL_ERROR_BAD_REQUEST, "'version' must be the integer 1"},
        {"{\"version\":\"1\",\"command\":\"ping\"}", CONTROL_ERROR_BAD_REQUEST, "'version'"},
        {"{\"version\":1.0,\"command\":\"ping\"}", CONTROL_ERROR_BAD_REQUEST, "'version'"},
        {"{\"version\":true,\"command\":\"ping\"}", CONTROL_ERROR_BAD_REQUEST, "'version'"},
        {"{\"version\":null,\"command\":\"ping\"}", CONTROL_ERROR_BAD_REQUEST, "'version'"},
        {"{\"version\":NaN,\"command\":\"ping\"}", CONTROL_ERROR_BAD_REQUEST, "'version'"},
        {"{\"version\":2,\"command\":\"ping\"}", CONTROL_ERROR_BAD_REQUEST,
                "unsupported protocol version 2"},
        {"{\"version\":0,\"command\":\"ping\"}", CONTROL_ERROR_BAD_REQUEST,
                "unsupported protocol version 0"},
        {"{\"version\":-0,\"command\":\"ping\"}", CONTROL_ERROR_BAD_REQUEST,
                "unsupported protocol version 0"},
        {"{\"version\":-1,\"command\":\"ping\"}", CONTROL_ERROR_BAD_REQUEST, "unsupported"},
        {"{\"version\":99999999999999999999999,\"command\":\"ping\"}", CONTROL_ERROR_BAD_REQUEST,
                "unsupported"},
        {"{\"version\":4294967297,\"command\":\"ping\"}", CONTROL_ERROR_BAD_REQUEST, "unsupported"},

        /* command */
        {"{\"version\":1}", CONTROL_ERROR_BAD_REQUEST, "'command' must be a string"},
        {"{\"version\":1,\"command\":5}", CONTROL_ERROR_BAD_REQUEST, "'command' must be a string"},
        {"{\"version\":1,\"command\":null}", CONTROL_ERROR_BAD_REQUEST, "'command' must be a string"},
        {"{\"version\":1,\"command\":[\"ping\"]}", CONTROL_ERROR_BAD_REQUEST, "'command' must be a string"},
        {"{\"version\":1,\"command\":\"pi\\u0000ng\"}", CONTROL_ERROR_BAD_REQUEST,
                "'command' must be a string"},
        {"{\"version\":1,\"command\":\"frobnicate\"}", CONTROL_ERROR_UNKNOWN_COMMAND,
                "unknown command 'frobnicate'"},
        {"{\"version\":1,\"command\":\"STATUS\"}", CONTROL_ERROR_UNKNOWN_COMMAND, "'STATUS'"},
        {"{\"version\":1,\"command\":\"\"}", CONTROL_ERROR_UNKNOWN_COMMAND, "''"},
        {"{\"version\":1,\"command\":\"ping\\u001b[2J\"}", CONTROL_ERROR_UNKNOWN_COMMAND, "'ping?[2J'"},
        {"{\"version\":1,\"command\":\"status \"}", CONTROL_ERROR_UNKNOWN_COMMAND, "'status '"},

        /* cluster */
        {"{\"version\":1,\"command\":\"status\",\"cluster\":5}", CONTROL_ERROR_BAD_REQUEST, "'cluster'"},
        {"{\"version\":1,\"command\":\"status\",\"cluster\":\"\"}", CONTROL_ERROR_BAD_REQUEST, "'cluster'"},
        {"{\"version\":1,\"command\":\"status\",\"cluster\":\"a\\nb\"}", CONTROL_ERROR_BAD_REQUEST,
                "'cluster'"},
        {"{\"version\":1,\"command\":\"status\",\"cluster\":\"a\\u0000b\"}", CONTROL_ERROR_BAD_REQUEST,
                "'cluster'"},
        {"{\"version\":1,\"command\":\"status\",\"cluster\":{}}", CONTROL_ERROR_BAD_REQUEST, "'cluster'"},
        {"{\"version\":1,\"command\":\"status\",\"cluster\":true}", CONTROL_ERROR_BAD_REQUEST, "'cluster'"},
        {"{\"version\":1,\"command\":\"reload\",\"cluster\":\"main\"}", CONTROL_ERROR_BAD_REQUEST,
                "reload takes no cluster"},
        {"{\"version\":1,\"command\":\"ping\",\"cluster\":\"main\"}", CONTROL_ERROR_BAD_REQUEST,
                "takes no cluster"},
        {"{\"version\":1,\"command\":\"switchover\"}", CONTROL_ERROR_BAD_REQUEST,
                "switchover needs a cluster"},
        {"{\"version\":1,\"command\":\"why\",\"cluster\":null}", CONTROL_ERROR_BAD_REQUEST,
                "why needs a cluster"},

        /* args */
        {"{\"version\":1,\"command\":\"ping\",\"args\":null}", CONTROL_ERROR_BAD_REQUEST,
                "'args' must be an object"},
        {"{\"version\":1,\"command\":\"ping\",\"args\":[]}", CONTROL_ERROR_BAD_REQUEST,
                "'args' must be an object"},
        {"{\"version\":1,\"command\":\"ping\",\"args\":\"x\"}", CONTROL_ERROR_BAD_REQUEST, "'args'"},
        {"{\"version\":1,\"command\":\"status\",\"args\":{\"json\":true}}", CONTROL_ERROR_BAD_REQUEST,
                "unknown argument 'json' for status"},
        {"{\"version\":1,\"command\":\"switchover\",\"cluster\":\"m\",\"args\":{\"force\":true}}",
                CONTROL_ERROR_BAD_REQUEST, "unknown argument 'force' for switchover"},
        {"{\"version\":1,\"command\":\"switchover\",\"cluster\":\"m\",\"args\":{\"timeout_ms\":\"5\"}}",
                CONTROL_ERROR_BAD_REQUEST, "'timeout_ms' must be an integer"},
        {"{\"version\":1,\"command\":\"switchover\",\"cluster\":\"m\",\"args\":{\"timeout_ms\":-1}}",
                CONTROL_ERROR_BAD_REQUEST, "'timeout_ms'"},
        {"{\"version\":1,\"command\":\"switchover\",\"cluster\":\"m\",\"args\":{\"timeout_ms\":1.5}}",
                CONTROL_ERROR_BAD_REQUEST, "'timeout_ms'"},
        {"{\"version\":1,\"command\":\"switchover\",\"cluster\":\"m\",\"args\":{\"timeout_ms\":4294967296}}",
                CONTROL_ERROR_BAD_REQUEST, "'timeout_ms'"},
        {"{\"version\":1,\"command\":\"switchover\",\"cluster\":\"m\",\"args\":{\"timeout_ms\":"
         "18446744073709551615}}",
                CONTROL_ERROR_BAD_REQUEST, "'timeout_ms'"},
        {"{\"version\":1,\"command\":\"switchover\",\"cluster\":\"m\",\"args\":{\"dry_run\":1}}",
                CONTROL_ERROR_BAD_REQUEST, "'dry_run' must be true or false"},
        {"{\"version\":1,\"command\":\"switchover\",\"cluster\":\"m\",\"args\":{\"to\":5}}",
                CONTROL_ERROR_BAD_REQUEST, "'to' must be a name"},
        {"{\"version\":1,\"command\":\"switchover\",\"cluster\":\"m\",\"args\":{\"to\":\"\"}}",
                CONTROL_ERROR_BAD_REQUEST, "'to'"},
        {"{\"version\":1,\"command\":\"switchover\",\"cluster\":\"m\",\"args\":{\"to\":{\"a\":1}}}",
                CONTROL_ERROR_BAD_REQUEST, "'to'"},
        {"{\"version\":1,\"command\":\"switchover\",\"cluster\":\"m\",\"args\":{\"to\":[[[[[[1]]]]]]}}",
                CONTROL_ERROR_BAD_REQUEST, "nesting"},
        {"{\"version\":1,\"command\":\"maintenance\",\"cluster\":\"m\",\"args\":{\"ttl_s\":5}}",
                CONTROL_ERROR_BAD_REQUEST, "maintenance needs the argument 'enabled'"},
        {"{\"version\":1,\"command\":\"maintenance\",\"cluster\":\"m\"}", CONTROL_ERROR_BAD_REQUEST,
                "needs the argument 'enabled'"},
};

START_TEST(test_request_table) {
        _cleanup_(control_request_freep) control_request *req = NULL;
        control_error_info err = {.code = _CONTROL_ERROR_INVALID};
        const char *in = requests[_i].in;
        char got[CONTROL_NAME_MAX + 64];
        int r;

        r = control_request_parse(in, strlen(in), &req, &err);
        if (requests[_i].code == OK) {
                ck_assert_msg(r == 0, "%s: %d %s", in, r, err.message);
                ck_assert_ptr_nonnull(req->args);
                ck_assert(json_object_is_type(req->args, json_type_object));
                (void) snprintf(got, sizeof(got), "%s %s", control_command_to_string(req->command),
                        req->cluster ?: "-");
                ck_assert_str_eq(got, requests[_i].expect);
        } else {
                ck_assert_msg(r == -EBADMSG, "%s: %d", in, r);
                ck_assert_ptr_null(req);
                ck_assert_msg((int) err.code == requests[_i].code, "%s: %s (%s)", in,
                        control_error_to_string(err.code), err.message);
                ck_assert_msg(strstr(err.message, requests[_i].expect), "%s: message '%s' lacks '%s'", in,
                        err.message, requests[_i].expect);
                ck_assert(!strchr(err.message, '\n'));
        }
}
END_TEST

/* Builds a request of exactly n bytes by padding a valid one with spaces inside the object. */
static char *padded_request(size_t n) {
        const char *head = "{\"version\":1,\"command\":\"ping\"", *tail = "}";
        char *s = malloc(n + 1);

        ck_assert_ptr_nonnull(s);
        memset(s, ' ', n);
        memcpy(s, head, strlen(head));
        memcpy(s + n - strlen(tail), tail, strlen(tail));
        s[n] = 0;
        return s;
}

START_TEST(test_request_size_and_nul) {
        _cleanup_(control_request_freep) control_request *req = NULL;
        _cleanup_free_ char *max = padded_request(CONTROL_REQUEST_MAX),
                            *over = padded_request(CONTROL_REQUEST_MAX + 1);
        _cleanup_free_ char *huge = padded_request(8 * 1024 * 1024);
        static const char nul[] = "{\"version\":1,\"command\":\"ping\"}\0";
        static const char nul_in_string[] = "{\"version\":1,\"command\":\"pi\0ng\"}";
        control_error_info err;

        ck_assert_int_eq(control_request_parse(max, CONTROL_REQUEST_MAX, &req, &err), 0);
        ck_assert_int_eq(req->command, CONTROL_COMMAND_PING);
        req = control_request_free(req);
        ck_assert_int_eq(control_request_parse(over, CONTROL_REQUEST_MAX + 1, &req, &err), -EBADMSG);
        ck_assert_int_eq(err.code, CONTROL_ERROR_TOO_LARGE);
        ck_assert_int_eq(control_request_parse(huge, strlen(huge), &req, &err), -EBADMSG);
        ck_assert_int_eq(err.code, CONTROL_ERROR_TOO_LARGE);

        ck_assert_int_eq(control_request_parse(nul, sizeof(nul) - 1, &req, &err), -EBADMSG);
        ck_assert_int_eq(err.code, CONTROL_ERROR_BAD_REQUEST);
        ck_assert_ptr_nonnull(strstr(err.message, "NUL"));
        ck_assert_int_eq(
                control_request_parse(nul_in_string, sizeof(nul_in_string) - 1, &req, &err), -EBADMSG);
        ck_assert_ptr_nonnull(strstr(err.message, "NUL"));
        /* Not NUL-terminated: the parser reads len bytes only. */
        ck_assert_int_eq(
                control_request_parse("{\"version\":1,\"command\":\"ping\"}XYZ", 30, &req, &err), 0);
        req = control_request_free(req);

        ck_assert_int_eq(control_request_parse(NULL, 0, &req, &err), -EBADMSG);
        ck_assert_int_eq(control_request_parse(NULL, 5, &req, &err), -EINVAL);
        ck_assert_int_eq(control_request_parse("{}", 2, NULL, &err), -EINVAL);
        ck_assert_int_eq(control_request_parse("{}", 2, &req, NULL), -EINVAL);
        ck_assert_ptr_null(req);
}
END_TEST

START_TEST(test_request_args_getters) {
        static const char in[] =
                "{\"version\":1,\"command\":\"switchover\",\"cluster\":\"m\",\"args\":{\"to\":\"db-b\","
                "\"timeout_ms\":4294967295,\"dry_run\":true}}";
        _cleanup_(control_request_freep) control_request *req = NULL;
        control_error_info err;

        ck_assert_int_eq(control_request_parse(in, strlen(in), &req, &err), 0);
        ck_assert_str_eq(control_request_get_string(req, "to"), "db-b");
        ck_assert_ptr_null(control_request_get_string(req, "dry_run"));
        ck_assert_ptr_null(control_request_get_string(req, "nope"));
        ck_assert_uint_eq(control_request_get_uint(req, "timeout_ms", 7), UINT32_MAX);
        ck_assert_uint_eq(control_request_get_uint(req, "nope", 7), 7);
        ck_assert(control_request_get_bool(req, "dry_run", false));
        ck_assert(!control_request_get_bool(req, "nope", false));
        ck_assert(control_request_get_bool(NULL, "dry_run", true));
}
END_TEST

static json_object *args_of(const char *json) {
        json_object *o = json ? json_tokener_parse(json) : NULL;

        ck_assert(!json || o);
        return o;
}

static const struct {
        control_command command;
        const char *cluster;
        const char *args;
        int r;
} formats[] = {
        {CONTROL_COMMAND_PING, NULL, NULL, 0},
        {CONTROL_COMMAND_STATUS, NULL, "{}", 0},
        {CONTROL_COMMAND_STATUS, "main", NULL, 0},
        {CONTROL_COMMAND_SWITCHOVER, "main", "{\"to\":\"db-b\",\"timeout_ms\":30000,\"dry_run\":true}", 0},
        {CONTROL_COMMAND_FAILOVER, "main", "{\"force\":true,\"no_quorum\":true}", 0},
        {CONTROL_COMMAND_MAINTENANCE, "main", "{\"enabled\":true,\"ttl_s\":60}", 0},
        {CONTROL_COMMAND_HISTORY, "a\"b\\c/d", "{\"limit\":10}", 0},
        {CONTROL_COMMAND_WHY, "main", NULL, 0},
        {CONTROL_COMMAND_RELOAD, NULL, NULL, 0},
        {CONTROL_COMMAND_RELOAD, "main", NULL, -EINVAL},
        {CONTROL_COMMAND_WHY, NULL, NULL, -EINVAL},
        {CONTROL_COMMAND_WHY, "", NULL, -EINVAL},
        {CONTROL_COMMAND_STATUS, "a\nb", NULL, -EINVAL},
        {CONTROL_COMMAND_MAINTENANCE, "main", "{}", -EINVAL},
        {CONTROL_COMMAND_SWITCHOVER, "main", "{\"timeout_ms\":\"1\"}", -EINVAL},
        {CONTROL_COMMAND_SWITCHOVER, "main", "[]", -EINVAL},
        {_CONTROL_COMMAND_MAX, NULL, NULL, -EINVAL},
        {_CONTROL_COMMAND_INVALID, NULL, NULL, -EINVAL},
};

START_TEST(test_request_format_round_trip) {
        _cleanup_(control_request_freep) control_request *req = NULL;
        _cleanup_json_ json_object *args = args_of(formats[_i].args);
        _cleanup_free_ char *line = NULL;
        control_error_info err;
        size_t len = 0;
        int r;

        r = control_request_format(formats[_i].command, formats[_i].cluster, args, &line, &len);
        ck_assert_int_eq(r, formats[_i].r);
        if (r < 0) {
                ck_assert_ptr_null(line);
                return;
        }
        ck_assert_uint_eq(len, strlen(line));
        ck_assert_ptr_eq(strchr(line, '\n'), line + len - 1);
        ck_assert_int_eq(control_request_parse(line, len - 1, &req, &err), 0);
        ck_assert_int_eq(req->command, formats[_i].command);
        ck_assert(streq_ptr(req->cluster, formats[_i].cluster));
        if (args)
                ck_assert(json_object_equal(req->args, args));
        else
                ck_assert_int_eq(json_object_object_length(req->args), 0);
}
END_TEST

/* ---- names ---- */

START_TEST(test_names) {
        for (int i = 0; i < _CONTROL_COMMAND_MAX; i++) {
                ck_assert_ptr_nonnull(control_command_to_string(i));
                ck_assert_int_eq(control_command_from_string(control_command_to_string(i)), i);
        }
        for (int i = 0; i < _CONTROL_ERROR_MAX; i++) {
                ck_assert_ptr_nonnull(control_error_to_string(i));
                ck_assert_int_eq(control_error_from_string(control_error_to_string(i)), i);
        }
        ck_assert_ptr_null(control_command_to_string(_CONTROL_COMMAND_MAX));
        ck_assert_ptr_null(control_command_to_string(_CONTROL_COMMAND_INVALID));
        ck_assert_int_eq(control_command_from_string("Ping"), _CONTROL_COMMAND_INVALID);
        ck_assert_int_eq(control_command_from_string(NULL), _CONTROL_COMMAND_INVALID);
        ck_assert_ptr_null(control_error_to_string(_CONTROL_ERROR_MAX));
        ck_assert_int_eq(control_error_from_string("busy"), _CONTROL_ERROR_INVALID);
        ck_assert_int_eq(control_error_from_string(NULL), _CONTROL_ERROR_INVALID);
        ck_assert_str_eq(control_command_to_string(CONTROL_COMMAND_MAINTENANCE), "maintenance");
        ck_assert_str_eq(control_error_to_string(CONTROL_ERROR_UNKNOWN_COMMAND), "UNKNOWN_COMMAND");
}
END_TEST

/* ---- replies ---- */

START_TEST(test_reply_ok_round_trip) {
        _cleanup_json_ json_object *result =
                json_tokener_parse("{\"clusters\":[{\"name\":\"main\",\"epoch\":7,\"servers\":[{\"gtid\":"
                                   "\"0-1-5\",\"lag_ms\":null}]}],"
                                   "\"text\":\"two\\nlines\"}");
        _cleanup_(control_reply_freep) control_reply *reply = NULL;
        _cleanup_free_ char *line = NULL, *empty = NULL;
        size_t len;

        ck_assert_ptr_nonnull(result);
        ck_assert_int_eq(control_reply_format_ok(result, &line, &len), 0);
        ck_assert_ptr_eq(strchr(line, '\n'), line + len - 1);
        ck_assert_int_eq(control_reply_parse(line, len - 1, &reply), 0);
        ck_assert(reply->ok);
        ck_assert(json_object_equal(reply->result, result));
        ck_assert_ptr_null(reply->error_code);
        reply = control_reply_free(reply);

        ck_assert_int_eq(control_reply_format_ok(NULL, &empty, &len), 0);
        ck_assert_str_eq(empty, "{\"version\":1,\"ok\":true,\"result\":{}}\n");

        {
                _cleanup_json_ json_object *arr = json_object_new_array();
                _cleanup_free_ char *bad = NULL;
                ck_assert_int_eq(control_reply_format_ok(arr, &bad, &len), -EINVAL);
        }
}
END_TEST

START_TEST(test_reply_error_round_trip) {
        for (int code = 0; code < _CONTROL_ERROR_MAX; code++) {
                _cleanup_(control_reply_freep) control_reply *reply = NULL;
                _cleanup_free_ char *line = NULL;
                size_t len;

                ck_assert_int_eq(
                        control_reply_format_error(code, "line one\nline\ttwo \x1b[31m", &line, &len), 0);
                ck_assert_ptr_eq(strchr(line, '\n'), line + len - 1);
                ck_assert_int_eq(control_reply_parse(line, len - 1, &reply), 0);
                ck_assert(!reply->ok);
                ck_assert_ptr_null(reply->result);
                ck_assert_int_eq(reply->error, code);
                ck_assert_str_eq(reply->error_code, control_error_to_string(code));
                ck_assert_str_eq(reply->error_message, "line one?line?two ?[31m");
        }
}
END_TEST

START_TEST(test_reply_error_long_message) {
        _cleanup_(control_reply_freep) control_reply *reply = NULL;
        _cleanup_free_ char *line = NULL, *msg = malloc(5000);
        size_t len;

        memset(msg, '"', 4999);
        msg[4999] = 0;
        ck_assert_int_eq(control_reply_format_error(CONTROL_ERROR_FAILED, msg, &line, &len), 0);
        ck_assert_int_eq(control_reply_parse(line, len - 1, &reply), 0);
        ck_assert_uint_eq(strlen(reply->error_message), CONTROL_MESSAGE_MAX - 1);
        ck_assert_str_eq(reply->error_message + CONTROL_MESSAGE_MAX - 4, "...");
        ck_assert_int_eq(control_reply_format_error(_CONTROL_ERROR_MAX, "x", &line, &len), -EINVAL);
}
END_TEST

START_TEST(test_reply_too_large) {
        _cleanup_json_ json_object *result = json_object_new_object();
        _cleanup_free_ char *big = malloc(CONTROL_REPLY_MAX + 1), *line = NULL;
        size_t len;

        memset(big, 'x', CONTROL_REPLY_MAX);
        big[CONTROL_REPLY_MAX] = 0;
        json_object_object_add(result, "blob", json_object_new_string(big));
        ck_assert_int_eq(control_reply_format_ok(result, &line, &len), -EMSGSIZE);
        ck_assert_ptr_null(line);
}
END_TEST

static const struct {
        const char *in;
        int r;
        int error;        /* for an error reply */
        const char *code; /* for an error reply */
        const char *message;
} replies[] = {
        {"{\"version\":1,\"ok\":true,\"result\":{}}", 0, 0, NULL, NULL},
        {"{\"version\":1,\"ok\":true,\"result\":{},\"extra\":[1,2]}", 0, 0, NULL, NULL},
        {"{\"version\":1,\"ok\":false,\"error\":{\"code\":\"BUSY\",\"message\":\"try later\"}}", 0,
                CONTROL_ERROR_BUSY, "BUSY", "try later"},
        {"{\"version\":1,\"ok\":false,\"error\":{\"code\":\"BUSY\"}}", 0, CONTROL_ERROR_BUSY, "BUSY", ""},
        {"{\"version\":1,\"ok\":false,\"error\":{\"code\":\"FROM_THE_FUTURE\",\"message\":\"m\",\"hint\":1}"
         "}",
                0, _CONTROL_ERROR_INVALID, "FROM_THE_FUTURE", "m"},
        {"{\"version\":1,\"ok\":false,\"error\":{\"code\":\"FAILED\",\"message\":5}}", 0,
                CONTROL_ERROR_FAILED, "FAILED", ""},
        {"{\"version\":1,\"ok\":false,\"error\":{\"code\":\"FAILED\",\"message\":\"a\\u0000b\\r\\nc\"}}", 0,
                CONTROL_ERROR_FAILED, "FAILED", "a?b??c"},
        {"", -EBADMSG, 0, NULL, NULL},
        {"[]", -EBADMSG, 0, NULL, NULL},
        {"{\"ok\":true,\"result\":{}}", -EBADMSG, 0, NULL, NULL},
        {"{\"version\":2,\"ok\":true,\"result\":{}}", -EBADMSG, 0, NULL, NULL},
        {"{\"version\":1,\"result\":{}}", -EBADMSG, 0, NULL, NULL},
        {"{\"version\":1,\"ok\":1,\"result\":{}}", -EBADMSG, 0, NULL, NULL},
        {"{\"version\":1,\"ok\":true}", -EBADMSG, 0, NULL, NULL},
        {"{\"version\":1,\"ok\":true,\"result\":[]}", -EBADMSG, 0, NULL, NULL},
        {"{\"version\":1,\"ok\":false}", -EBADMSG, 0, NULL, NULL},
        {"{\"version\":1,\"ok\":false,\"error\":\"BUSY\"}", -EBADMSG, 0, NULL, NULL},
        {"{\"version\":1,\"ok\":false,\"error\":{\"message\":\"m\"}}", -EBADMSG, 0, NULL, NULL},
        {"{\"version\":1,\"ok\":false,\"error\":{\"code\":7}}", -EBADMSG, 0, NULL, NULL},
        {"{\"version\":1,\"ok\":true,\"result\":{}} x", -EBADMSG, 0, NULL, NULL},
};

START_TEST(test_reply_parse_table) {
        _cleanup_(control_reply_freep) control_reply *reply = NULL;
        const char *in = replies[_i].in;

        ck_assert_int_eq(control_reply_parse(in, strlen(in), &reply), replies[_i].r);
        if (replies[_i].r < 0) {
                ck_assert_ptr_null(reply);
                return;
        }
        if (!replies[_i].code) {
                ck_assert(reply->ok);
                ck_assert_ptr_nonnull(reply->result);
                return;
        }
        ck_assert(!reply->ok);
        ck_assert_int_eq(reply->error, replies[_i].error);
        ck_assert_str_eq(reply->error_code, replies[_i].code);
        ck_assert_str_eq(reply->error_message, replies[_i].message);
}
END_TEST

/* ---- the line splitter ---- */

START_TEST(test_splitter_across_feeds) {
        _cleanup_(control_line_splitter_freep) control_line_splitter *s = NULL;
        static const char stream[] = "first\n\nthird line\nfourth";
        const char *expect[] = {"first", "", "third line"};
        const char *line;
        size_t got = 0, len, consumed;

        /* Byte by byte. */
        ck_assert_int_eq(control_line_splitter_new(64, &s), 0);
        for (size_t i = 0; i < sizeof(stream) - 1; i++) {
                int r = control_line_splitter_feed(s, stream + i, 1, &consumed);
                ck_assert_int_ge(r, 0);
                ck_assert_uint_eq(consumed, 1);
                if (r == 1) {
                        ck_assert_int_eq(control_line_splitter_get(s, &line, &len), 0);
                        ck_assert_uint_lt(got, ELEMENTSOF(expect));
                        ck_assert_str_eq(line, expect[got++]);
                        ck_assert_uint_eq(len, strlen(line));
                        ck_assert_uint_eq(control_line_splitter_pending(s), 0);
                        control_line_splitter_pop(s);
                }
        }
        ck_assert_uint_eq(got, 3);
        ck_assert_uint_eq(control_line_splitter_pending(s), strlen("fourth"));
        ck_assert_int_eq(control_line_splitter_get(s, &line, &len), -ENODATA);

        /* All at once: one line per feed, the caller feeds the rest. */
        control_line_splitter_reset(s);
        got = 0;
        for (size_t off = 0; off < sizeof(stream) - 1; off += consumed) {
                int r = control_line_splitter_feed(s, stream + off, sizeof(stream) - 1 - off, &consumed);
                ck_assert_int_ge(r, 0);
                if (r == 1) {
                        ck_assert_int_eq(control_line_splitter_feed(s, "x", 1, &len), -EBUSY);
                        ck_assert_int_eq(control_line_splitter_get(s, &line, &len), 0);
                        ck_assert_str_eq(line, expect[got++]);
                        control_line_splitter_pop(s);
                }
        }
        ck_assert_uint_eq(got, 3);
}
END_TEST

START_TEST(test_splitter_cap_and_nul) {
        _cleanup_(control_line_splitter_freep) control_line_splitter *s = NULL;
        char buf[20];
        const char *line;
        size_t consumed, len;

        ck_assert_int_eq(control_line_splitter_new(8, &s), 0);
        /* Exactly the cap, NULs included. */
        memcpy(buf, "ab\0de\0gh\n", 9);
        ck_assert_int_eq(control_line_splitter_feed(s, buf, 9, &consumed), 1);
        ck_assert_uint_eq(consumed, 9);
        ck_assert_int_eq(control_line_splitter_get(s, &line, &len), 0);
        ck_assert_uint_eq(len, 8);
        ck_assert_int_eq(memcmp(line, "ab\0de\0gh", 8), 0);
        ck_assert_int_eq(line[8], 0);
        control_line_splitter_pop(s);

        /* One byte over, in two feeds: sticky until reset. */
        ck_assert_int_eq(control_line_splitter_feed(s, "12345", 5, &consumed), 0);
        ck_assert_int_eq(control_line_splitter_feed(s, "6789\n", 5, &consumed), -EMSGSIZE);
        ck_assert_int_eq(control_line_splitter_feed(s, "\n", 1, &consumed), -EMSGSIZE);
        control_line_splitter_pop(s);
        ck_assert_int_eq(control_line_splitter_feed(s, "\n", 1, &consumed), -EMSGSIZE);
        control_line_splitter_reset(s);
        ck_assert_int_eq(control_line_splitter_feed(s, "ok\n", 3, &consumed), 1);
        ck_assert_int_eq(control_line_splitter_get(s, &line, &len), 0);
        ck_assert_str_eq(line, "ok");

        ck_assert_int_eq(control_line_splitter_new(0, &s), -EINVAL);
        ck_assert_ptr_null(control_line_splitter_free(NULL));
}
END_TEST

START_TEST(test_splitter_large) {
        _cleanup_(control_line_splitter_freep) control_line_splitter *s = NULL;
        _cleanup_free_ char *big = malloc(CONTROL_REQUEST_MAX + 2);
        const char *line;
        size_t consumed, len, off = 0;
        int r = 0;

        memset(big, 'a', CONTROL_REQUEST_MAX);
        big[CONTROL_REQUEST_MAX] = '\n';
        ck_assert_int_eq(control_line_splitter_new(CONTROL_REQUEST_MAX, &s), 0);
        while (r == 0) {
                size_t n = CONTROL_REQUEST_MAX + 1 - off < 1000 ? CONTROL_REQUEST_MAX + 1 - off : 1000;
                r = control_line_splitter_feed(s, big + off, n, &consumed);
                off += consumed;
        }
        ck_assert_int_eq(r, 1);
        ck_assert_int_eq(control_line_splitter_get(s, &line, &len), 0);
        ck_assert_uint_eq(len, CONTROL_REQUEST_MAX);
}
END_TEST

/* ---- the sanitizer ---- */

static const struct {
        const char *in;
        size_t size;
        const char *out;
} sanitized[] = {
        {"plain", 64, "plain"},
        {"", 64, ""},
        {"tab\there\r\n", 64, "tab?here??"},
        {"z\xc3\xbcrich \xe2\x82\xac \xf0\x9f\x98\x80", 64, "z\xc3\xbcrich \xe2\x82\xac \xf0\x9f\x98\x80"},
        {"bad \xff \xc3 \xed\xa0\x80 \xc2\x85", 64, "bad ? ? ??? ??"},
        {"0123456789", 11, "0123456789"},
        {"0123456789", 10, "012345..."},
        {"0123456789", 4, "..."},
        {"\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac", 8, "\xe2\x82\xac..."},
        {"\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac", 10, "\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac"},
};

START_TEST(test_sanitize) {
        char buf[64];

        ck_assert_str_eq(
                control_sanitize_line(sanitized[_i].in, strlen(sanitized[_i].in), buf, sanitized[_i].size),
                sanitized[_i].out);
        ck_assert_uint_lt(strlen(buf), sanitized[_i].size);
        ck_assert_str_eq(control_sanitize_line(NULL, 5, buf, sizeof(buf)), "");
}
END_TEST

static Suite *control_proto_suite(void) {
        Suite *s = suite_create("control-proto");
        TCase *tc = tcase_create("control-proto");

        tcase_add_loop_test(tc, test_request_table, 0, ELEMENTSOF(requests));
        tcase_add_test(tc, test_request_size_and_nul);
        tcase_add_test(tc, test_request_args_getters);
        tcase_add_loop_test(tc, test_request_format_round_trip, 0, ELEMENTSOF(formats));
        tcase_add_test(tc, test_names);
        tcase_add_test(tc, test_reply_ok_round_trip);
        tcase_add_test(tc, test_reply_error_round_trip);
        tcase_add_test(tc, test_reply_error_long_message);
        tcase_add_test(tc, test_reply_too_large);
        tcase_add_loop_test(tc, test_reply_parse_table, 0, ELEMENTSOF(replies));
        tcase_add_test(tc, test_splitter_across_feeds);
        tcase_add_test(tc, test_splitter_cap_and_nul);
        tcase_add_test(tc, test_splitter_large);
        tcase_add_loop_test(tc, test_sanitize, 0, ELEMENTSOF(sanitized));
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        SRunner *sr = srunner_create(control_proto_suite());
        int failed;

        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
