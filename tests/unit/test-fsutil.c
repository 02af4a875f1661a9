/* Unit tests for lib/io/fsutil.c: the atomic writer (what is on disk after a crash or failure at
 * each step), bounded reads, mkdir -p. */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fsutil.h"
#include "macro.h"
#include "tmpdir-util.h"

static char root[] = "/tmp/test-fsutil-XXXXXX";
static char tmpdir[TMPDIR_SIZE];

static void setup(void) {
        tmpdir_make(root, tmpdir);
}

static void teardown(void) {
        (void) tmpdir_rm_rf(tmpdir);
}

/* The content of the one temp file of name, or NULL when there is none. */
static char *read_temp(const char *name, size_t *ret_n_temps) {
        DIR *d = opendir(tmpdir);
        struct dirent *de;
        char *data = NULL;
        size_t n = 0;

        ck_assert_ptr_nonnull(d);
        while ((de = readdir(d)))
                if (fsutil_is_temp_name(de->d_name, name)) {
                        char p[PATH_MAX];

                        (void) snprintf(p, sizeof(p), "%s/%s", tmpdir, de->d_name);
                        free(data);
                        ck_assert_int_eq(fsutil_read_file(p, 1024, &data, NULL), 0);
                        n++;
                }
        closedir(d);
        *ret_n_temps = n;
        return data;
}

static char *read_name(const char *name) {
        char p[PATH_MAX], *data = NULL;

        (void) snprintf(p, sizeof(p), "%s/%s", tmpdir, name);
        ck_assert_int_eq(fsutil_read_file(p, 1024, &data, NULL), 0);
        return data;
}

typedef struct plan {
        fsutil_step at;
        int action;
} plan;

static int step_cb(fsutil_step step, void *userdata) {
        const plan *p = userdata;

        return step == p->at ? p->action : 0;
}

/* What the disk holds after the writer stops at each step: NAME is old or new, never anything else. */
static void stop_at(fsutil_step at, int action) {
        static const char old[] = "old content", new[] = "the new content";
        plan p = {.at = at, .action = action};
        const fsutil_write_options opts = {.step_cb = step_cb, .userdata = &p};
        _cleanup_free_ char *seen = NULL, *temp = NULL;
        bool committed = at >= FSUTIL_STEP_RENAMED;
        size_t n_temps;

        ck_assert_int_eq(fsutil_write_atomic(tmpdir, "f", old, strlen(old), 0600, NULL), 0);
        ck_assert_int_eq(fsutil_write_atomic(tmpdir, "f", new, strlen(new), 0600, &opts),
                action == FSUTIL_STEP_CRASH ? -ECANCELED : action);
        seen = read_name("f");
        ck_assert_str_eq(seen, committed ? new : old);

        temp = read_temp("f", &n_temps);
        if (committed || action != FSUTIL_STEP_CRASH) {
                ck_assert_uint_eq(n_temps, 0); /* renamed away, or cleaned up after a failure */
                return;
        }
        /* A crash leaves the temp file as far as it got. */
        ck_assert_uint_eq(n_temps, 1);
        if (at == FSUTIL_STEP_CREATED)
                ck_assert_str_eq(temp, "");
        else if (at == FSUTIL_STEP_PARTIAL)
                ck_assert_str_eq(temp, "the new");
        else
                ck_assert_str_eq(temp, new);
        {
                _cleanup_close_ int dir_fd = fsutil_open_dir(tmpdir);

                ck_assert_int_ge(dir_fd, 0);
                ck_assert_int_eq(fsutil_remove_temps_at(dir_fd, "f"), 1);
                ck_assert_int_eq(fsutil_remove_temps_at(dir_fd, "f"), 0);
        }
}

START_TEST(test_crash_at_step) {
        stop_at((fsutil_step) _i, FSUTIL_STEP_CRASH);
}
END_TEST

START_TEST(test_fail_at_step) {
        stop_at((fsutil_step) _i, -ENOSPC);
}
END_TEST

START_TEST(test_files) {
        _cleanup_free_ char *buf = NULL;
        char p[PATH_MAX];
        size_t len = 99;
        struct stat st;

        umask(077); /* the mode asked for is the mode given */
        ck_assert_int_eq(fsutil_write_atomic(tmpdir, "f", "hello", 5, 0644, NULL), 0);
        (void) snprintf(p, sizeof(p), "%s/f", tmpdir);
        ck_assert_int_eq(stat(p, &st), 0);
        ck_assert_int_eq(st.st_mode & 07777, 0644);
        ck_assert_int_eq(fsutil_read_file(p, 5, &buf, &len), 0);
        ck_assert_uint_eq(len, 5);
        ck_assert_str_eq(buf, "hello");
        free(TAKE_PTR(buf));
        ck_assert_int_eq(fsutil_read_file(p, 4, &buf, &len), -EFBIG);
        ck_assert_ptr_null(buf);
        ck_assert_int_eq(fsutil_write_atomic(tmpdir, "f", "", 0, 0600, NULL), 0);
        ck_assert_int_eq(fsutil_read_file(p, 0, &buf, &len), 0);
        ck_assert_uint_eq(len, 0);
        free(TAKE_PTR(buf));
        ck_assert_int_eq(fsutil_read_file(tmpdir, 10, &buf, &len), -EISDIR);
        ck_assert_int_eq(fsutil_read_file("/dev/null", 10, &buf, &len), -EBADFD);
        ck_assert_int_eq(fsutil_read_file("/nonexistent/x", 10, &buf, &len), -ENOENT);

        ck_assert_int_eq(fsutil_write_atomic(tmpdir, "a/b", "x", 1, 0600, NULL), -EINVAL);
        ck_assert_int_eq(fsutil_write_atomic(tmpdir, "..", "x", 1, 0600, NULL), -EINVAL);
        ck_assert_int_eq(fsutil_write_atomic(tmpdir, "", "x", 1, 0600, NULL), -EINVAL);
        ck_assert_int_eq(fsutil_write_atomic("/nonexistent", "f", "x", 1, 0600, NULL), -ENOENT);
        ck_assert_int_eq(fsutil_write_atomic_at(-5, "f", "x", 1, 0600, NULL), -EBADF);
}
END_TEST

START_TEST(test_names) {
        char longname[NAME_MAX + 1];

        ck_assert(fsutil_is_temp_name(".f.tmpAb12Z9", "f"));
        ck_assert(!fsutil_is_temp_name(".f.tmpAb12Z", "f"));
        ck_assert(!fsutil_is_temp_name(".f.tmpAb12Z9x", "f"));
        ck_assert(!fsutil_is_temp_name(".g.tmpAb12Z9", "f"));
        ck_assert(!fsutil_is_temp_name(".f.tmpAb-2Z9", "f"));
        ck_assert(!fsutil_is_temp_name("f", "f"));
        ck_assert_str_eq(fsutil_step_to_string(FSUTIL_STEP_CREATED), "created");
        ck_assert_str_eq(fsutil_step_to_string(FSUTIL_STEP_DIR_SYNCED), "dir-synced");
        ck_assert_ptr_null(fsutil_step_to_string(_FSUTIL_STEP_MAX));
        ck_assert_ptr_null(fsutil_step_to_string(_FSUTIL_STEP_INVALID));

        /* The temp name must fit NAME_MAX too. */
        memset(longname, 'n', NAME_MAX);
        longname[NAME_MAX] = 0;
        ck_assert_int_eq(fsutil_write_atomic(tmpdir, longname, "x", 1, 0600, NULL), -EINVAL);
        longname[NAME_MAX - 11] = 0;
        ck_assert_int_eq(fsutil_write_atomic(tmpdir, longname, "x", 1, 0600, NULL), 0);
}
END_TEST

START_TEST(test_mkdir_p) {
        char q[PATH_MAX];

        (void) snprintf(q, sizeof(q), "%s/x/y//z/", tmpdir);
        ck_assert_int_eq(fsutil_mkdir_p(q, 0700), 1);
        ck_assert_int_eq(fsutil_mkdir_p(q, 0700), 0);
        ck_assert_int_eq(fsutil_mkdir_p("/", 0700), 0);
        ck_assert_int_eq(fsutil_mkdir_p("", 0700), -EINVAL);
        ck_assert_int_eq(fsutil_write_atomic(tmpdir, "f", "x", 1, 0600, NULL), 0);
        (void) snprintf(q, sizeof(q), "%s/f/g", tmpdir);
        ck_assert_int_eq(fsutil_mkdir_p(q, 0700), -ENOTDIR);
        (void) snprintf(q, sizeof(q), "%s/x/y/z", tmpdir);
        ck_assert_int_eq(rmdir(q), 0);
        (void) snprintf(q, sizeof(q), "%s/x/y", tmpdir);
        ck_assert_int_eq(rmdir(q), 0);
}
END_TEST

START_TEST(test_lock_file) {
        int a, b;

        a = fsutil_lock_file(tmpdir, "lock");
        ck_assert_int_ge(a, 0);
        /* A second open file description (as a second daemon would have) is refused. */
        b = fsutil_lock_file(tmpdir, "lock");
        ck_assert_int_eq(b, -EWOULDBLOCK);
        ck_assert_int_eq(close(a), 0);
        b = fsutil_lock_file(tmpdir, "lock");
        ck_assert_int_ge(b, 0);
        ck_assert_int_eq(close(b), 0);
        ck_assert_int_eq(fsutil_lock_file("/nonexistent-dir-for-test", "lock"), -ENOENT);
}
END_TEST

static Suite *fsutil_suite(void) {
        Suite *s = suite_create("fsutil");
        TCase *tc = tcase_create("fsutil");

        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_loop_test(tc, test_crash_at_step, 0, _FSUTIL_STEP_MAX);
        tcase_add_loop_test(tc, test_fail_at_step, 0, _FSUTIL_STEP_MAX);
        tcase_add_test(tc, test_files);
        tcase_add_test(tc, test_names);
        tcase_add_test(tc, test_mkdir_p);
        tcase_add_test(tc, test_lock_file);
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
        sr = srunner_create(fsutil_suite());
        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        (void) tmpdir_rm_rf(root);
        return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
