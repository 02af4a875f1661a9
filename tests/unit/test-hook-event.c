/* Unit tests for lib/core/hook-event.c: the exact environment, sanitising, server and time formats,
 * the stdin JSON. */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hook-event.h"
#include "macro.h"

/* 2026-11-29T03:41:07.123Z */
#define T0 (1795923667ULL * USEC_PER_SEC + 123456ULL)

static void json_putp(json_object **o) {
        json_object_put(*o);
}
#define _cleanup_json_ _cleanup_(json_putp)

static void env_freep(char ***env) {
        hook_env_free(*env);
}
#define _cleanup_env_ _cleanup_(env_freep)

static hook_event full_event(void) {
        return (hook_event){
                .event = EVENT_FAILOVER_END,
                .cluster = "main",
                .epoch = 42,
                .sentinel_name = "s1",
                .sentinel_zone = "az-a",
                .old_primary = {.name = "db1", .host = "10.0.0.1", .port = 3306},
                .new_primary = {.name = "db2", .host = "10.0.0.2", .port = 3307},
                .message = "db2 is the new primary",
                .realtime_usec = T0,
        };
}

static void assert_env(char **env, const char *const *expected) {
        size_t i = 0;

        for (; expected[i]; i++) {
                ck_assert_ptr_nonnull(env[i]);
                ck_assert_str_eq(env[i], expected[i]);
        }
        ck_assert_ptr_null(env[i]);
}

START_TEST(test_env_exact) {
        _cleanup_env_ char **env = NULL;
        hook_event ev = full_event();
        static const char *const expected[] = {
                "SENTINEL_EVENT=failover-end",
                "SENTINEL_CLUSTER=main",
                "SENTINEL_EPOCH=42",
                "SENTINEL_SEVERITY=warning",
                "SENTINEL_NAME=s1",
                "SENTINEL_ZONE=az-a",
                "SENTINEL_OLD_PRIMARY=db1 10.0.0.1:3306",
                "SENTINEL_NEW_PRIMARY=db2 10.0.0.2:3307",
                "SENTINEL_MESSAGE=db2 is the new primary",
                "PATH=/usr/sbin:/usr/bin:/sbin:/bin",
                "LANG=C.UTF-8",
                NULL,
        };

        ck_assert_int_eq(hook_event_build_env(&ev, HOOK_TARGET_HOOK, &env), 0);
        assert_env(env, expected);
}
END_TEST

START_TEST(test_env_exec_endpoint) {
        _cleanup_env_ char **env = NULL, **none = NULL;
        hook_event ev = full_event();
        static const char *const expected[] = {
                "SENTINEL_EVENT=endpoint-updated",
                "SENTINEL_CLUSTER=main",
                "SENTINEL_EPOCH=42",
                "SENTINEL_SEVERITY=info",
                "SENTINEL_NAME=s1",
                "SENTINEL_ZONE=az-a",
                "SENTINEL_OLD_PRIMARY=db1 10.0.0.1:3306",
                "SENTINEL_NEW_PRIMARY=db2 [fd00::2]:3307",
                "SENTINEL_MESSAGE=db2 is the new primary",
                "SENTINEL_PRIMARY_HOST=fd00::2",
                "SENTINEL_PRIMARY_PORT=3307",
                "PATH=/usr/sbin:/usr/bin:/sbin:/bin",
                "LANG=C.UTF-8",
                NULL,
        };

        ev.event = EVENT_ENDPOINT_UPDATED;
        ev.new_primary.host = "fd00::2";
        ck_assert_int_eq(hook_event_build_env(&ev, HOOK_TARGET_EXEC_ENDPOINT, &env), 0);
        assert_env(env, expected);

        /* An exec endpoint without a new primary address has nothing to point at. */
        ev.new_primary.host = NULL;
        ck_assert_int_eq(hook_event_build_env(&ev, HOOK_TARGET_EXEC_ENDPOINT, &none), -EINVAL);
        ck_assert_ptr_null(none);
        ev.new_primary.host = "10.0.0.2";
        ev.new_primary.port = 0;
        ck_assert_int_eq(hook_event_build_env(&ev, HOOK_TARGET_EXEC_ENDPOINT, &none), -EINVAL);
        ck_assert_ptr_null(none);
}
END_TEST

START_TEST(test_env_unknown) {
        _cleanup_env_ char **env = NULL;
        hook_event ev = {
                .event = EVENT_PEER_DOWN,
                .cluster = "c",
                .new_primary = {.name = "db9"},
        };
        static const char *const expected[] = {
                "SENTINEL_EVENT=peer-down",
                "SENTINEL_CLUSTER=c",
                "SENTINEL_EPOCH=0",
                "SENTINEL_SEVERITY=warning",
                "SENTINEL_NAME=",
                "SENTINEL_ZONE=",
                "SENTINEL_OLD_PRIMARY=",
                "SENTINEL_NEW_PRIMARY=db9",
                "SENTINEL_MESSAGE=",
                "PATH=/usr/sbin:/usr/bin:/sbin:/bin",
                "LANG=C.UTF-8",
                NULL,
        };

        ck_assert_int_eq(hook_event_build_env(&ev, HOOK_TARGET_HOOK, &env), 0);
        assert_env(env, expected);
}
END_TEST

START_TEST(test_env_sanitised) {
        _cleanup_env_ char **env = NULL;
        _cleanup_free_ char *longmsg = malloc(HOOK_EVENT_VALUE_MAX + 100);
        hook_event ev = full_event();
        size_t i;

        ck_assert_ptr_nonnull(longmsg);
        memset(longmsg, 'm', HOOK_EVENT_VALUE_MAX + 99);
        longmsg[HOOK_EVENT_VALUE_MAX + 99] = '\0';
        ev.cluster = "ma\nin";
        ev.sentinel_name = "s1\r\nX=evil";
        ev.old_primary.name = "db\x01\xff";
        ev.message = longmsg;
        ck_assert_int_eq(hook_event_build_env(&ev, HOOK_TARGET_HOOK, &env), 0);
        for (i = 0; env[i]; i++)
                ck_assert_ptr_null(strpbrk(env[i], "\n\r\x01"));
        ck_assert_uint_eq(i, 11);
        ck_assert_str_eq(env[1], "SENTINEL_CLUSTER=ma in");
        ck_assert_str_eq(env[4], "SENTINEL_NAME=s1  X=evil");
        ck_assert_str_eq(env[6], "SENTINEL_OLD_PRIMARY=db ? 10.0.0.1:3306");
        ck_assert_uint_eq(strlen(env[8]), strlen("SENTINEL_MESSAGE=") + HOOK_EVENT_VALUE_MAX);
}
END_TEST

static const struct {
        const char *in;
        bool keep_control;
        size_t max;
        const char *out;
} sanitize_cases[] = {
        {"plain", false, 0, "plain"},
        {NULL, false, 0, ""},
        {"a\nb\tc\x7f", false, 0, "a b c "},
        {"a\nb\tc\x7f", true, 0, "a\nb\tc\x7f"},
        {"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x90\xac", false, 0, "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x90\xac"},
        {"\xff", false, 0, "?"},
        {"\xc0\xaf", false, 0, "??"},           /* overlong '/' */
        {"\xed\xa0\x80", false, 0, "???"},      /* a surrogate */
        {"\xf4\x90\x80\x80", false, 0, "????"}, /* above U+10FFFF */
        {"\xe2\x82", false, 0, "??"},           /* cut short */
        {"x\xe2\x82", true, 0, "x??"},
        {"abcdef", false, 4, "abcd"},
        {"a\xc3\xa9z", false, 2, "a"}, /* never half a character */
        {"a\xc3\xa9z", false, 3, "a\xc3\xa9"},
        {"\xff\xff\xff", false, 2, "??"},
};

START_TEST(test_sanitize) {
        _cleanup_free_ char *out = NULL;

        ck_assert_int_eq(hook_event_sanitize(sanitize_cases[_i].in, sanitize_cases[_i].keep_control,
                                 sanitize_cases[_i].max, &out),
                0);
        ck_assert_str_eq(out, sanitize_cases[_i].out);
}
END_TEST

static const struct {
        hook_server s;
        const char *out;
} server_cases[] = {
        {{"db1", "10.0.0.1", 3306}, "db1 10.0.0.1:3306"},
        {{"db1", "::1", 3306}, "db1 [::1]:3306"},
        {{"db1", "db1.example", 0}, "db1 db1.example"},
        {{"db1", NULL, 3306}, "db1"},
        {{NULL, "10.0.0.1", 3306}, "10.0.0.1:3306"},
        {{NULL, NULL, 0}, ""},
};

START_TEST(test_format_server) {
        _cleanup_free_ char *out = NULL;

        ck_assert_int_eq(hook_event_format_server(&server_cases[_i].s, &out), 0);
        ck_assert_str_eq(out, server_cases[_i].out);
}
END_TEST

START_TEST(test_timestamp) {
        char buf[HOOK_EVENT_TIMESTAMP_MAX];

        ck_assert_int_eq(hook_event_format_timestamp(T0, buf), 0);
        ck_assert_str_eq(buf, "2026-11-29T03:41:07.123Z");
        ck_assert_int_eq(hook_event_format_timestamp(0, buf), 0);
        ck_assert_str_eq(buf, "1970-01-01T00:00:00.000Z");
        ck_assert_int_eq(hook_event_format_timestamp(UINT64_MAX, buf), -ERANGE);
}
END_TEST

static json_object *member(json_object *o, const char *key) {
        json_object *v = NULL;

        ck_assert_msg(json_object_object_get_ex(o, key, &v), "no member %s", key);
        return v;
}

static const char *str_member(json_object *o, const char *key) {
        json_object *v = member(o, key);

        ck_assert(json_object_is_type(v, json_type_string));
        return json_object_get_string(v);
}

START_TEST(test_json) {
        _cleanup_(hook_invocation_freep) hook_invocation *inv = NULL;
        _cleanup_json_ json_object *details = json_object_new_object(), *o = NULL;
        hook_event ev = full_event();
        json_object *p, *s;

        json_object_object_add(details, "phase", json_object_new_string("promote"));
        ev.details = details;
        ev.message = "two\nlines \xff";
        ev.old_primary = (hook_server){.name = "db1"};
        ck_assert_int_eq(hook_event_build(&ev, HOOK_TARGET_HOOK, &inv), 0);
        ck_assert_uint_eq(inv->n_env, 11);
        ck_assert_ptr_null(inv->env[11]);

        /* One line, with its newline. */
        ck_assert_uint_eq(strlen(inv->input), inv->input_size);
        ck_assert_ptr_eq(strchr(inv->input, '\n'), inv->input + inv->input_size - 1);
        o = json_tokener_parse(inv->input);
        ck_assert_ptr_nonnull(o);

        ck_assert_str_eq(str_member(o, "event"), "failover-end");
        ck_assert_str_eq(str_member(o, "cluster"), "main");
        ck_assert_uint_eq(json_object_get_uint64(member(o, "epoch")), 42);
        ck_assert_str_eq(str_member(o, "severity"), "warning");
        s = member(o, "sentinel");
        ck_assert_str_eq(str_member(s, "name"), "s1");
        ck_assert_str_eq(str_member(s, "zone"), "az-a");
        p = member(o, "new_primary");
        ck_assert_str_eq(str_member(p, "name"), "db2");
        ck_assert_str_eq(str_member(p, "host"), "10.0.0.2");
        ck_assert_int_eq(json_object_get_int(member(p, "port")), 3307);
        p = member(o, "old_primary");
        ck_assert_str_eq(str_member(p, "name"), "db1");
        ck_assert_ptr_null(member(p, "host"));
        ck_assert_ptr_null(member(p, "port"));
        /* JSON keeps the newline (escaped); only the broken byte is repaired. */
        ck_assert_str_eq(str_member(o, "message"), "two\nlines ?");
        ck_assert_str_eq(str_member(o, "at"), "2026-11-29T03:41:07.123Z");
        ck_assert_str_eq(str_member(member(o, "details"), "phase"), "promote");
        ck_assert_int_eq(json_object_object_length(o), 10);
}
END_TEST

START_TEST(test_json_defaults) {
        _cleanup_json_ json_object *o = NULL;
        hook_event ev = {.event = EVENT_QUORUM_LOST, .cluster = "c"};

        ck_assert_int_eq(hook_event_to_json(&ev, &o), 0);
        ck_assert(json_object_is_type(member(o, "details"), json_type_object));
        ck_assert_int_eq(json_object_object_length(member(o, "details")), 0);
        ck_assert_ptr_null(member(o, "message"));
        ck_assert_ptr_null(member(member(o, "sentinel"), "name"));
        ck_assert_str_eq(str_member(o, "severity"), "critical");
}
END_TEST

START_TEST(test_invalid) {
        _cleanup_(hook_invocation_freep) hook_invocation *inv = NULL;
        _cleanup_json_ json_object *arr = json_object_new_array();
        hook_event ev = full_event();

        ck_assert_int_eq(hook_event_build(NULL, HOOK_TARGET_HOOK, &inv), -EINVAL);
        ev.event = _EVENT_MAX;
        ck_assert_int_eq(hook_event_build(&ev, HOOK_TARGET_HOOK, &inv), -EINVAL);
        ev.event = _EVENT_INVALID;
        ck_assert_int_eq(hook_event_build(&ev, HOOK_TARGET_HOOK, &inv), -EINVAL);
        ev = full_event();
        ev.cluster = NULL;
        ck_assert_int_eq(hook_event_build(&ev, HOOK_TARGET_HOOK, &inv), -EINVAL);
        ev = full_event();
        ev.details = arr;
        ck_assert_int_eq(hook_event_build(&ev, HOOK_TARGET_HOOK, &inv), -EINVAL);
        ev = full_event();
        ck_assert_int_eq(hook_event_build(&ev, _HOOK_TARGET_MAX, &inv), -EINVAL);
        ck_assert_ptr_null(inv);
        ck_assert_ptr_null(hook_invocation_free(NULL));
        ck_assert_ptr_null(hook_env_free(NULL));
}
END_TEST

static Suite *hook_event_suite(void) {
        Suite *s = suite_create("hook-event");
        TCase *tc = tcase_create("core");

        tcase_add_test(tc, test_env_exact);
        tcase_add_test(tc, test_env_exec_endpoint);
        tcase_add_test(tc, test_env_unknown);
        tcase_add_test(tc, test_env_sanitised);
        tcase_add_loop_test(tc, test_sanitize, 0, ELEMENTSOF(sanitize_cases));
        tcase_add_loop_test(tc, test_format_server, 0, ELEMENTSOF(server_cases));
        tcase_add_test(tc, test_timestamp);
        tcase_add_test(tc, test_json);
        tcase_add_test(tc, test_json_defaults);
        tcase_add_test(tc, test_invalid);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        SRunner *sr = srunner_create(hook_event_suite());
        int failed;

        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
