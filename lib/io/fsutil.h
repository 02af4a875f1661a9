/* Small file system helpers for state_dir: atomic replace, bounded reads, mkdir -p.
 *
 * fsutil_write_atomic_at() writes a unique ".NAME.tmpXXXXXX" beside NAME, fsyncs it, renames it
 * over NAME and fsyncs the directory, so a reader sees the old NAME or the new one, whole. A
 * failure before the rename removes the temp file and leaves NAME alone; a failure after it (the
 * directory fsync) leaves the new NAME in place, maybe not yet durable. */
#pragma once

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* The steps of fsutil_write_atomic_at(), in order; the test seam is called after each. */
typedef enum fsutil_step {
        FSUTIL_STEP_CREATED,    /* the temp file exists, empty */
        FSUTIL_STEP_PARTIAL,    /* the first half of the data is written to the temp file */
        FSUTIL_STEP_WRITTEN,    /* all data is written, not yet fsynced */
        FSUTIL_STEP_SYNCED,     /* the temp file is fsynced */
        FSUTIL_STEP_RENAMED,    /* the temp file is renamed over NAME */
        FSUTIL_STEP_DIR_SYNCED, /* the directory is fsynced: done */
        _FSUTIL_STEP_MAX,
        _FSUTIL_STEP_INVALID = -EINVAL,
} fsutil_step;

/* What a step callback returns to make the writer stop dead, as if the process had died there. */
#define FSUTIL_STEP_CRASH 1

typedef struct fsutil_write_options {
        /* Test seam, NULL in production, called after each step. It returns 0 to go on; a negative
         * errno to fail that step as if its system call had (the writer cleans up as it then would,
         * and returns that errno); or FSUTIL_STEP_CRASH to stop right there: the writer closes its
         * fds, as the kernel would, leaves every file on disk as it is and returns -ECANCELED. */
        int (*step_cb)(fsutil_step step, void *userdata);
        void *userdata;
} fsutil_write_options;

/* The name of a step ("created", "dir-synced"), or NULL when out of range. */
const char *fsutil_step_to_string(fsutil_step s);

/* Atomically and durably replaces dir_fd/name with data, with exactly mode (no umask); opts may be NULL. */
int fsutil_write_atomic_at(int dir_fd, const char *name, const void *data, size_t len, mode_t mode,
        const fsutil_write_options *opts);

/* fsutil_write_atomic_at() for a directory given by its path. */
int fsutil_write_atomic(const char *dir, const char *name, const void *data, size_t len, mode_t mode,
        const fsutil_write_options *opts);

/* Whether filename is one of the temp files that fsutil_write_atomic_at() makes for name. */
bool fsutil_is_temp_name(const char *filename, const char *name);

/* Removes leftover temp files of name (from a writer that died) in dir_fd; returns how many. */
int fsutil_remove_temps_at(int dir_fd, const char *name);

/* Reads a whole regular file of at most max_size bytes, NUL-terminated (*ret_len, if asked, excludes the
 * NUL). */
int fsutil_read_file_at(int dir_fd, const char *name, size_t max_size, char **ret_data, size_t *ret_len);

/* fsutil_read_file_at() for a path; -EFBIG when larger than max_size, -EISDIR/-EBADFD when not a file. */
int fsutil_read_file(const char *path, size_t max_size, char **ret_data, size_t *ret_len);

/* Creates path and its missing parents with mode: 1 when it created any, 0 when all existed, -ENOTDIR. */
int fsutil_mkdir_p(const char *path, mode_t mode);

/* Opens a directory O_RDONLY|O_DIRECTORY|O_CLOEXEC; returns the fd. */
int fsutil_open_dir(const char *path);

/* fsyncs a directory (after a rename or a create in it, to make the entry durable). */
int fsutil_fsync_dir(int dir_fd);

/* Takes an exclusive, non-blocking lock on dir/name (created 0600), held until the returned fd is
 * closed: -EWOULDBLOCK when another process holds it. */
int fsutil_lock_file(const char *dir, const char *name);
