/* Unit tests for lib/io/log.c: the stderr line format and the journald fields. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"

static char *format_line(int priority, const log_fields *f, const char *msg) {
        char *buf = NULL;
        size_t len = 0;
        FILE *out = open_memstream(&buf, &len);
        ck_assert_ptr_nonnull(out);
        log_format_line(out, "mariadb-sentinel", priority, f, msg);
        fclose(out);
        return buf;
}

START_TEST(test_line_plain) {
        char *s = format_line(LOG_ERR, &LOG_FIELDS_NONE, "cannot open state");
        /* 2026-11-29T03:41:07.123Z mariadb-sentinel: error: cannot open state\n */
        ck_assert_msg(
                strlen(s) > 25 && s[4] == '-' && s[10] == 'T' && s[23] == 'Z', "bad timestamp in %s", s);
        ck_assert_str_eq(s + 25, "mariadb-sentinel: error: cannot open state\n");
        free(s);
}
END_TEST

START_TEST(test_line_event) {
        log_fields f = {.cluster = "main",
                .has_epoch = true,
                .epoch = 7,
                .event = EVENT_FAILOVER_REFUSED,
                .reason = "COOLDOWN"};
        char *s = format_line(LOG_CRIT, &f, "refused:\nlast failover 10 s ago");
        ck_assert_str_eq(s + 25,
                "mariadb-sentinel: crit: cluster=main epoch=7 event=failover-refused reason=COOLDOWN: "
                "refused: last failover 10 s ago\n");
        ck_assert_ptr_eq(strchr(s, '\n'), s + strlen(s) - 1); /* one record, one line */
        free(s);
}
END_TEST

static const char *find_field(struct iovec *iov, int n, const char *key) {
        size_t k = strlen(key);
        for (int i = 0; i < n; i++)
                if (iov[i].iov_len > k && memcmp(iov[i].iov_base, key, k) == 0 &&
                        ((char *) iov[i].iov_base)[k] == '=')
                        return (const char *) iov[i].iov_base + k + 1;
        return NULL;
}

START_TEST(test_journal_fields_event) {
        struct iovec iov[LOG_MAX_FIELDS];
        log_fields f = {
                .cluster = "main", .has_epoch = true, .epoch = 42, .event = EVENT_SDOWN, .reason = NULL};
        int n = log_build_iovec(iov, "mariadb-sentinel", LOG_WARNING, &f, "primary db-a is down");
        ck_assert_int_ge(n, 7);
        ck_assert_str_eq(find_field(iov, n, "MESSAGE"), "primary db-a is down");
        ck_assert_str_eq(find_field(iov, n, "PRIORITY"), "4");
        ck_assert_str_eq(find_field(iov, n, "SENTINEL_CLUSTER"), "main");
        ck_assert_str_eq(find_field(iov, n, "SENTINEL_EPOCH"), "42");
        ck_assert_str_eq(find_field(iov, n, "SENTINEL_EVENT"), "sdown");
        ck_assert_str_eq(find_field(iov, n, "MESSAGE_ID"), event_message_id(EVENT_SDOWN));
        ck_assert_str_eq(find_field(iov, n, "SENTINEL_SEVERITY"), "warning");
        ck_assert_ptr_null(find_field(iov, n, "SENTINEL_REASON"));
        log_free_iovec(iov, n);
}
END_TEST

START_TEST(test_journal_fields_plain) {
        struct iovec iov[LOG_MAX_FIELDS];
        int n = log_build_iovec(iov, "sentinelctl", LOG_INFO, &LOG_FIELDS_NONE, "hello");
        ck_assert_int_eq(n, 3);
        ck_assert_str_eq(find_field(iov, n, "SYSLOG_IDENTIFIER"), "sentinelctl");
        ck_assert_ptr_null(find_field(iov, n, "MESSAGE_ID"));
        ck_assert_ptr_null(find_field(iov, n, "SENTINEL_EPOCH"));
        log_free_iovec(iov, n);
}
END_TEST

START_TEST(test_event_table) {
        /* Every event has a name that round-trips, a severity and a distinct 128-bit MESSAGE_ID. */
        for (int i = 0; i < _EVENT_MAX; i++) {
                const char *name = event_to_string((sentinel_event) i);
                ck_assert_ptr_nonnull(name);
                ck_assert_int_eq(event_from_string(name), i);
                ck_assert_ptr_nonnull(event_severity_to_string(event_severity_of((sentinel_event) i)));
                const char *id = event_message_id((sentinel_event) i);
                ck_assert_uint_eq(strlen(id), 32);
                ck_assert_uint_eq(strspn(id, "0123456789abcdef"), 32);
                for (int j = 0; j < i; j++)
                        ck_assert_str_ne(id, event_message_id((sentinel_event) j));
        }
        ck_assert_int_eq(event_from_string("failover-begin"), _EVENT_INVALID);
        ck_assert_int_eq(event_from_string(NULL), _EVENT_INVALID);
        ck_assert_ptr_null(event_to_string(_EVENT_MAX));
        ck_assert_ptr_null(event_to_string(_EVENT_INVALID));
        ck_assert_int_eq(log_priority_of_event(EVENT_FAILOVER_FAILED), LOG_CRIT);
        ck_assert_int_eq(log_priority_of_event(EVENT_PEER_UP), LOG_NOTICE);
        ck_assert_uint_eq(EVENT_MASK_ALL, (1u << _EVENT_MAX) - 1);
}
END_TEST

START_TEST(test_journal_stream_detection) {
        char buf[64];
        struct stat st;
        ck_assert_int_eq(fstat(STDERR_FILENO, &st), 0);
        unsetenv("JOURNAL_STREAM");
        ck_assert(!log_stderr_is_journal());
        snprintf(buf, sizeof(buf), "%llu:%llu", (unsigned long long) st.st_dev,
                (unsigned long long) st.st_ino);
        setenv("JOURNAL_STREAM", buf, 1);
        ck_assert(log_stderr_is_journal());
        log_setup("test", LOG_TARGET_AUTO, LOG_INFO);
        ck_assert_int_eq(log_get_target(), LOG_TARGET_JOURNAL);
        setenv("JOURNAL_STREAM", "1:2", 1);
        ck_assert(!log_stderr_is_journal());
        log_setup("test", LOG_TARGET_AUTO, LOG_INFO);
        ck_assert_int_eq(log_get_target(), LOG_TARGET_STDERR);
        unsetenv("JOURNAL_STREAM");
}
END_TEST

int main(void) {
        Suite *s = suite_create("log");
        TCase *tc = tcase_create("log");
        tcase_add_test(tc, test_line_plain);
        tcase_add_test(tc, test_line_event);
        tcase_add_test(tc, test_journal_fields_event);
        tcase_add_test(tc, test_journal_fields_plain);
        tcase_add_test(tc, test_event_table);
        tcase_add_test(tc, test_journal_stream_detection);
        suite_add_tcase(s, tc);
        SRunner *sr = srunner_create(s);
        srunner_run_all(sr, CK_NORMAL);
        int failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
