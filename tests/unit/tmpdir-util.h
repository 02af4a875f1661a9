/* Temp directories for unit tests: main() makes one root per test binary and removes it whatever
 * happened, since Check skips a checked fixture's teardown when the test fails. */
#pragma once

#include <check.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static int tmpdir_unlink_cb(const char *path, const struct stat *st, int type, struct FTW *ftw) {
        (void) st;
        (void) ftw;
        return type == FTW_DP ? rmdir(path) : unlink(path);
}

/* Removes path and everything below it, without following symlinks. */
static inline int tmpdir_rm_rf(const char *path) {
        return nftw(path, tmpdir_unlink_cb, 16, FTW_DEPTH | FTW_PHYS);
}

/* A path buffer for tmpdir_make(): short, so that paths built on it fit PATH_MAX. */
#define TMPDIR_SIZE 64

/* Makes a fresh directory below root into buf (TMPDIR_SIZE bytes). */
static inline void tmpdir_make(const char *root, char *buf) {
        ck_assert_int_lt(snprintf(buf, TMPDIR_SIZE, "%s/XXXXXX", root), TMPDIR_SIZE);
        ck_assert_ptr_nonnull(mkdtemp(buf));
}
