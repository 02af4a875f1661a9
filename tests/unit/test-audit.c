/* Unit tests for lib/io/audit.c: one line per record, timestamps, durability paths, torn lines,
 * reading the tail back. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "audit.h"
#include "fsutil.h"
#include "macro.h"
#include "tmpdir-util.h"

static char root[] = "/tmp/test-audit-XXXXXX";
static char tmpdir[TMPDIR_SIZE];
static char logpath[PATH_MAX];

static void setup(void) {
        tmpdir_make(root, tmpdir);
        (void) snprintf(logpath, sizeof(logpath), "%s/%s", tmpdir, AUDIT_FILE_NAME);
        umask(022);
}

static void teardown(void) {
        (void) tmpdir_rm_rf(tmpdir);
}

static void json_putp(json_object **o) {
        json_object_put(*o);
}
#define _cleanup_json_ _cleanup_(json_putp)

static char *read_log(size_t *ret_len) {
        char *buf = NULL;

        ck_assert_int_eq(fsutil_read_file(logpath, 64 * 1024 * 1024, &buf, ret_len), 0);
        return buf;
}

static void append_raw(const char *data, size_t len) {
        int fd = open(logpath, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);

        ck_assert_int_ge(fd, 0);
        ck_assert_int_eq(write(fd, data, len), (ssize_t) len);
        close(fd);
}

static size_t count_lines(const char *buf) {
        size_t n = 0;

        for (const char *p = buf; (p = strchr(p, '\n')); p++)
                n++;
        return n;
}

static json_object *record_seq(const char *cluster, int seq) {
        json_object *o = json_object_new_object();

        json_object_object_add(o, "cluster", json_object_new_string(cluster));
        json_object_object_add(o, "seq", json_object_new_int(seq));
        return o;
}

static int get_int(json_object *o, const char *key) {
        json_object *v;

        ck_assert(json_object_object_get_ex(o, key, &v));
        return json_object_get_int(v);
}

static const char *get_str(json_object *o, const char *key) {
        json_object *v;

        ck_assert(json_object_object_get_ex(o, key, &v));
        return json_object_get_string(v);
}

static const struct {
        const char *date; /* UTC, as timegm() reads it */
        unsigned usec;
        const char *out;
} stamps[] = {
        {"1970-01-01 00:00:00", 0, "1970-01-01T00:00:00.000Z"},
        {"2026-11-29 03:41:07", 123456, "2026-11-29T03:41:07.123Z"},
        {"2000-02-29 23:59:59", 999999, "2000-02-29T23:59:59.999Z"},
        {"9999-12-31 23:59:59", 1000, "9999-12-31T23:59:59.001Z"},
};

START_TEST(test_timestamp) {
        struct tm tm = {};
        char buf[AUDIT_TIMESTAMP_MAX];
        time_t t;

        ck_assert_ptr_nonnull(strptime(stamps[_i].date, "%Y-%m-%d %H:%M:%S", &tm));
        t = timegm(&tm);
        ck_assert_int_eq(audit_format_timestamp((uint64_t) t * 1000000 + stamps[_i].usec, buf), 0);
        ck_assert_str_eq(buf, stamps[_i].out);
        /* Year 10000 does not fit RFC 3339. */
        ck_assert_int_eq(audit_format_timestamp(253402300800ULL * 1000000, buf), -ERANGE);
}
END_TEST

START_TEST(test_append_one_line_each) {
        _cleanup_(audit_closep) audit *a = NULL;
        _cleanup_free_ char *buf = NULL;
        _cleanup_json_ json_object *r1 = NULL, *r2 = NULL;
        regex_t re;
        size_t len;
        struct stat st;
        char *line, *save = NULL;
        int n = 0;

        ck_assert_int_eq(audit_open(tmpdir, &a), 0);
        r1 = json_object_new_object();
        json_object_object_add(r1, "msg", json_object_new_string("two\nlines\r\tand \"quotes\" / \x01 ü"));
        ck_assert_int_eq(audit_append(a, r1), 0);
        ck_assert_ptr_nonnull(json_object_object_get(r1, "ts")); /* added to the caller's record */
        r2 = json_object_new_object();
        json_object_object_add(r2, "ts", json_object_new_string("2001-01-01T00:00:00.000Z"));
        ck_assert_int_eq(audit_append(a, r2), 0);
        ck_assert_int_eq(audit_decision(a, "main", 7, "failover-refused", "COOLDOWN", NULL), 0);

        ck_assert_int_eq(stat(logpath, &st), 0);
        ck_assert_int_eq(st.st_mode & 07777, AUDIT_FILE_MODE);

        buf = read_log(&len);
        ck_assert_uint_eq(count_lines(buf), 3);
        ck_assert_int_eq(buf[len - 1], '\n');
        ck_assert_int_eq(regcomp(&re, "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}Z$",
                                 REG_EXTENDED | REG_NOSUB),
                0);
        for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save), n++) {
                _cleanup_json_ json_object *o = json_tokener_parse(line);

                ck_assert_ptr_nonnull(o);
                ck_assert(json_object_is_type(o, json_type_object));
                ck_assert_int_eq(regexec(&re, get_str(o, "ts"), 0, NULL, 0), 0);
                if (n == 0)
                        ck_assert_str_eq(get_str(o, "msg"), "two\nlines\r\tand \"quotes\" / \x01 ü");
                if (n == 1)
                        ck_assert_str_eq(get_str(o, "ts"), "2001-01-01T00:00:00.000Z");
                if (n == 2)
                        ck_assert_ptr_eq(strstr(line, "{\"ts\":"), line); /* ts comes first */
        }
        regfree(&re);
        ck_assert_int_eq(n, 3);
}
END_TEST

START_TEST(test_decision_record) {
        _cleanup_(audit_closep) audit *a = NULL;
        _cleanup_json_ json_object *all = NULL;
        json_object *in = json_object_new_object(), *o, *v;

        json_object_object_add(in, "sdown_votes", json_object_new_int(1));
        ck_assert_int_eq(audit_open(tmpdir, &a), 0);
        ck_assert_int_eq(audit_decision(a, "main", 12, "no-failover", "QUORUM_LOST", in), 0);
        ck_assert_int_eq(audit_decision(a, NULL, UINT64_MAX - 1, "noop", NULL, NULL), 0);
        ck_assert_int_eq(audit_decision(a, "main", 1, NULL, "X", json_object_new_object()), -EINVAL);

        ck_assert_int_eq(audit_read_tail(tmpdir, 0, NULL, NULL, &all), 0);
        ck_assert_uint_eq(json_object_array_length(all), 2);
        o = json_object_array_get_idx(all, 0);
        ck_assert_str_eq(get_str(o, "cluster"), "main");
        ck_assert_int_eq(get_int(o, "epoch"), 12);
        ck_assert_str_eq(get_str(o, "decision"), "no-failover");
        ck_assert_str_eq(get_str(o, "reason"), "QUORUM_LOST");
        ck_assert(json_object_object_get_ex(o, "inputs", &v));
        ck_assert_int_eq(get_int(v, "sdown_votes"), 1);
        ck_assert_int_eq(json_object_object_length(o), 6);

        o = json_object_array_get_idx(all, 1);
        ck_assert(json_object_object_get_ex(o, "cluster", &v) && v == NULL);
        ck_assert(json_object_object_get_ex(o, "reason", &v) && v == NULL);
        ck_assert(json_object_object_get_ex(o, "inputs", &v) && v == NULL);
        ck_assert(json_object_get_uint64(json_object_object_get(o, "epoch")) == UINT64_MAX - 1);
}
END_TEST

START_TEST(test_reopen_appends) {
        _cleanup_free_ char *buf = NULL;
        size_t len;

        for (int round = 0; round < 3; round++) {
                _cleanup_(audit_closep) audit *a = NULL;
                _cleanup_json_ json_object *r = record_seq("main", round);

                ck_assert_int_eq(audit_open(tmpdir, &a), 0);
                ck_assert_int_eq(audit_append(a, r), 0);
        }
        buf = read_log(&len);
        ck_assert_uint_eq(count_lines(buf), 3);
        ck_assert_ptr_null(audit_close(NULL));
}
END_TEST

/* A crash tore the last line: the reader skips it, and the next writer starts a new line. */
START_TEST(test_torn_last_line) {
        _cleanup_json_ json_object *all = NULL, *r = record_seq("main", 3);
        _cleanup_(audit_closep) audit *a = NULL;
        const char *torn = "{\"ts\":\"2026-01-01T00:00:00.000Z\",\"cluster\":\"main\",\"seq\":2";

        append_raw("{\"seq\":0}\n{\"seq\":1}\n", 20);
        append_raw(torn, strlen(torn));
        ck_assert_int_eq(audit_read_tail(tmpdir, 0, NULL, NULL, &all), 1);
        ck_assert_uint_eq(json_object_array_length(all), 2);
        ck_assert_int_eq(get_int(json_object_array_get_idx(all, 1), "seq"), 1);
        json_object_put(TAKE_PTR(all));

        ck_assert_int_eq(audit_open(tmpdir, &a), 0);
        ck_assert_int_eq(audit_append(a, r), 0);
        ck_assert_int_eq(audit_read_tail(tmpdir, 0, NULL, NULL, &all), 1); /* now torn in the middle */
        ck_assert_uint_eq(json_object_array_length(all), 3);
        ck_assert_int_eq(get_int(json_object_array_get_idx(all, 2), "seq"), 3);
}
END_TEST

/* Cut the log at every length: the reader never fails and returns exactly the complete lines. */
START_TEST(test_truncated_every_length) {
        _cleanup_free_ char *full = NULL;
        size_t len;

        {
                _cleanup_(audit_closep) audit *a = NULL;

                ck_assert_int_eq(audit_open(tmpdir, &a), 0);
                for (int i = 0; i < 4; i++) {
                        _cleanup_json_ json_object *r = record_seq(i % 2 ? "a" : "b", i);

                        ck_assert_int_eq(audit_append(a, r), 0);
                }
        }
        full = read_log(&len);
        for (size_t n = 0; n <= len; n++) {
                _cleanup_json_ json_object *all = NULL;
                size_t complete = 0;
                int r;

                ck_assert_int_eq(truncate(logpath, 0), 0);
                append_raw(full, n);
                for (size_t i = 0; i < n; i++)
                        complete += full[i] == '\n';
                r = audit_read_tail(tmpdir, 0, NULL, NULL, &all);
                ck_assert_int_eq(r, n > 0 && full[n - 1] != '\n');
                ck_assert_uint_eq(json_object_array_length(all), complete);
                for (size_t i = 0; i < complete; i++)
                        ck_assert_int_eq(get_int(json_object_array_get_idx(all, i), "seq"), (int) i);
        }
}
END_TEST

/* Many records with long lines, so that lines straddle the reader's chunks. */
START_TEST(test_tail_max_and_filter) {
        _cleanup_(audit_closep) audit *a = NULL;
        _cleanup_json_ json_object *all = NULL, *some = NULL, *none = NULL;
        char pad[900];

        memset(pad, 'x', sizeof(pad) - 1);
        pad[sizeof(pad) - 1] = 0;
        ck_assert_int_eq(audit_open(tmpdir, &a), 0);
        for (int i = 0; i < 300; i++) {
                _cleanup_json_ json_object *r = record_seq(i % 3 ? "a" : "b", i);

                json_object_object_add(r, "pad", json_object_new_string(pad + i));
                ck_assert_int_eq(audit_append(a, r), 0);
        }

        ck_assert_int_eq(audit_read_tail(tmpdir, 0, NULL, NULL, &all), 0);
        ck_assert_uint_eq(json_object_array_length(all), 300);
        for (int i = 0; i < 300; i++)
                ck_assert_int_eq(get_int(json_object_array_get_idx(all, i), "seq"), i);

        ck_assert_int_eq(audit_read_tail(tmpdir, 10, audit_filter_cluster, (void *) "b", &some), 0);
        ck_assert_uint_eq(json_object_array_length(some), 10);
        for (int i = 0; i < 10; i++) /* the ten newest "b" records, oldest first: 270, 273, ... 297 */
                ck_assert_int_eq(get_int(json_object_array_get_idx(some, i), "seq"), 270 + 3 * i);

        ck_assert_int_eq(audit_read_tail(tmpdir, 5, audit_filter_cluster, (void *) "nope", &none), 0);
        ck_assert_uint_eq(json_object_array_length(none), 0);
}
END_TEST

START_TEST(test_skips_bad_lines) {
        _cleanup_json_ json_object *all = NULL;
        static const char garbage[] = "{\"seq\":0}\n"
                                      "\n"
                                      "[1,2]\n"
                                      "{\"seq\":1} trailing\n"
                                      "{\"seq\":\n"
                                      "{\"seq\":2}\r\n"
                                      "42\n"
                                      "{\"seq\":3}\n";
        char *big;

        append_raw(garbage, strlen(garbage));
        /* A line longer than AUDIT_LINE_MAX, then a good one. */
        big = malloc(AUDIT_LINE_MAX + 64);
        ck_assert_ptr_nonnull(big);
        memset(big, 'x', AUDIT_LINE_MAX + 63);
        memcpy(big, "{\"seq\":\"", 8);
        big[AUDIT_LINE_MAX + 63] = '\n';
        append_raw(big, AUDIT_LINE_MAX + 64);
        free(big);
        append_raw("{\"seq\":4}\n", 10);

        /* Skipped: the array, the trailing data, the cut object, the number, the long line. */
        ck_assert_int_eq(audit_read_tail(tmpdir, 0, NULL, NULL, &all), 5);
        ck_assert_uint_eq(json_object_array_length(all), 4);
        ck_assert_int_eq(get_int(json_object_array_get_idx(all, 0), "seq"), 0);
        for (int i = 1; i < 4; i++)
                ck_assert_int_eq(get_int(json_object_array_get_idx(all, i), "seq"), i + 1);
}
END_TEST

START_TEST(test_missing_log) {
        _cleanup_json_ json_object *all = NULL;
        json_object *none = NULL;
        char p[PATH_MAX];

        ck_assert_int_eq(audit_read_tail(tmpdir, 0, NULL, NULL, &all), 0);
        ck_assert_uint_eq(json_object_array_length(all), 0);
        (void) snprintf(p, sizeof(p), "%s/nope", tmpdir);
        ck_assert_int_eq(audit_read_tail(p, 0, NULL, NULL, &none), -ENOENT);
        ck_assert_ptr_null(none);
}
END_TEST

/* The durability path: a failed write and a failed fdatasync are both reported. */
START_TEST(test_write_and_sync_errors) {
        _cleanup_json_ json_object *r = record_seq("main", 1), *bad = json_object_new_array(),
                                   *badts = json_object_new_object();
        audit *a = NULL;
        int fds[2];
        char buf[256];
        ssize_t n;

        ck_assert_int_eq(audit_open_fd(open("/dev/full", O_WRONLY | O_CLOEXEC), &a), 0);
        ck_assert_int_eq(audit_append(a, r), -ENOSPC);
        a = audit_close(a);

        /* A pipe takes the line but cannot be synced. */
        ck_assert_int_eq(pipe2(fds, O_CLOEXEC), 0);
        ck_assert_int_eq(audit_open_fd(fds[1], &a), 0);
        ck_assert_int_eq(audit_append(a, r), -EINVAL);
        n = read(fds[0], buf, sizeof(buf) - 1);
        ck_assert_int_gt(n, 0);
        buf[n] = 0;
        ck_assert_uint_eq(count_lines(buf), 1);
        ck_assert_ptr_nonnull(strstr(buf, "\"seq\":1"));

        ck_assert_int_eq(audit_append(a, bad), -EINVAL);
        json_object_object_add(badts, "ts", json_object_new_int(5));
        ck_assert_int_eq(audit_append(a, badts), -EINVAL);
        ck_assert_int_eq(audit_append(NULL, r), -EINVAL);
        a = audit_close(a);
        close(fds[0]);
        ck_assert_int_eq(audit_open_fd(-1, &a), -EINVAL);
}
END_TEST

static Suite *audit_suite(void) {
        Suite *s = suite_create("audit");
        TCase *tc = tcase_create("audit");

        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_loop_test(tc, test_timestamp, 0, ELEMENTSOF(stamps));
        tcase_add_test(tc, test_append_one_line_each);
        tcase_add_test(tc, test_decision_record);
        tcase_add_test(tc, test_reopen_appends);
        tcase_add_test(tc, test_torn_last_line);
        tcase_add_test(tc, test_truncated_every_length);
        tcase_add_test(tc, test_tail_max_and_filter);
        tcase_add_test(tc, test_skips_bad_lines);
        tcase_add_test(tc, test_missing_log);
        tcase_add_test(tc, test_write_and_sync_errors);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        SRunner *sr;
        int failed;

        if (!mkdtemp(root)) {
                perror("mkdtemp");
                return EXIT_FAILURE;
        }
        sr = srunner_create(audit_suite());
        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        (void) tmpdir_rm_rf(root);
        return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
