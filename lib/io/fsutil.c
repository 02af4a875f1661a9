#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>

#include "fsutil.h"
#include "macro.h"

#define TEMP_INFIX      ".tmp"
#define TEMP_SUFFIX_LEN 6
#define TEMP_ATTEMPTS   100

static const char temp_alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

static const char *const step_table[_FSUTIL_STEP_MAX] = {
        [FSUTIL_STEP_CREATED] = "created",
        [FSUTIL_STEP_PARTIAL] = "partial",
        [FSUTIL_STEP_WRITTEN] = "written",
        [FSUTIL_STEP_SYNCED] = "synced",
        [FSUTIL_STEP_RENAMED] = "renamed",
        [FSUTIL_STEP_DIR_SYNCED] = "dir-synced",
};

const char *fsutil_step_to_string(fsutil_step s) {
        if (s < 0 || s >= _FSUTIL_STEP_MAX)
                return NULL;
        return step_table[s];
}

/* A plain file name, short enough that its temp name still fits NAME_MAX. */
static bool fsutil_name_is_valid(const char *name) {
        size_t n;

        if (!name || !*name || streq(name, ".") || streq(name, ".."))
                return false;
        if (strchr(name, '/'))
                return false;
        n = strlen(name);
        return n + 1 + strlen(TEMP_INFIX) + TEMP_SUFFIX_LEN <= NAME_MAX;
}

bool fsutil_is_temp_name(const char *filename, const char *name) {
        size_t n, m;

        if (!filename || !fsutil_name_is_valid(name) || filename[0] != '.')
                return false;
        n = strlen(name);
        m = strlen(TEMP_INFIX);
        if (strlen(filename) != 1 + n + m + TEMP_SUFFIX_LEN)
                return false;
        if (memcmp(filename + 1, name, n) != 0 || memcmp(filename + 1 + n, TEMP_INFIX, m) != 0)
                return false;
        return strspn(filename + 1 + n + m, temp_alphabet) == TEMP_SUFFIX_LEN;
}

/* Uniqueness, not secrecy: falls back to the clock and pid when the entropy pool is not ready. */
static void fsutil_random_suffix(char suffix[static TEMP_SUFFIX_LEN + 1], unsigned attempt) {
        uint8_t bytes[TEMP_SUFFIX_LEN];

        if (getrandom(bytes, sizeof(bytes), GRND_NONBLOCK) != (ssize_t) sizeof(bytes)) {
                struct timespec ts = {};
                uint64_t x;

                (void) clock_gettime(CLOCK_MONOTONIC, &ts);
                x = (uint64_t) ts.tv_nsec ^ ((uint64_t) ts.tv_sec << 30) ^ ((uint64_t) getpid() << 12) ^
                    attempt;
                for (size_t i = 0; i < sizeof(bytes); i++) {
                        x ^= x >> 33;
                        x *= 0xff51afd7ed558ccdULL;
                        bytes[i] = (uint8_t) (x >> 24);
                }
        }
        for (size_t i = 0; i < TEMP_SUFFIX_LEN; i++)
                suffix[i] = temp_alphabet[bytes[i] % (sizeof(temp_alphabet) - 1)];
        suffix[TEMP_SUFFIX_LEN] = 0;
}

/* Creates a new, unique, empty temp file for name with exactly mode; returns its fd. */
static int fsutil_temp_create(int dir_fd, const char *name, mode_t mode, char tmp[static NAME_MAX + 1]) {
        for (unsigned attempt = 0; attempt < TEMP_ATTEMPTS; attempt++) {
                char suffix[TEMP_SUFFIX_LEN + 1];
                int fd, r;

                fsutil_random_suffix(suffix, attempt);
                (void) snprintf(tmp, NAME_MAX + 1, ".%s" TEMP_INFIX "%s", name, suffix);

                fd = openat(dir_fd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW,
                        mode & 07777);
                if (fd < 0) {
                        if (errno == EEXIST)
                                continue;
                        return -errno;
                }
                /* Not subject to the umask: the caller asked for this mode. */
                if (fchmod(fd, mode & 07777) < 0) {
                        r = -errno;
                        (void) close(fd);
                        (void) unlinkat(dir_fd, tmp, 0);
                        return r;
                }
                return fd;
        }
        return -EEXIST;
}

static int fsutil_write_all(int fd, const uint8_t *p, size_t len) {
        while (len > 0) {
                ssize_t n = write(fd, p, len);

                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (n == 0)
                        return -EIO;
                p += n;
                len -= (size_t) n;
        }
        return 0;
}

/* 0 to go on, a negative errno to fail the step, FSUTIL_STEP_CRASH to stop dead. */
static int fsutil_step_hook(const fsutil_write_options *opts, fsutil_step step) {
        int r;

        if (!opts || !opts->step_cb)
                return 0;
        r = opts->step_cb(step, opts->userdata);
        if (r > 0 && r != FSUTIL_STEP_CRASH)
                return -EINVAL;
        return r;
}

int fsutil_fsync_dir(int dir_fd) {
        if (fsync(dir_fd) < 0)
                return -errno;
        return 0;
}

int fsutil_write_atomic_at(int dir_fd, const char *name, const void *data, size_t len, mode_t mode,
        const fsutil_write_options *opts) {
        _cleanup_close_ int fd = -1;
        char tmp[NAME_MAX + 1];
        const uint8_t *p = data;
        size_t half = len / 2;
        bool renamed = false;
        int r;

        if (dir_fd < 0 && dir_fd != AT_FDCWD)
                return -EBADF;
        if (!fsutil_name_is_valid(name))
                return -EINVAL;
        if (!data && len > 0)
                return -EINVAL;

        fd = fsutil_temp_create(dir_fd, name, mode, tmp);
        if (fd < 0)
                return fd;
        r = fsutil_step_hook(opts, FSUTIL_STEP_CREATED);
        if (r != 0)
                goto stop;

        /* Two writes, always, so that the seam sees the same calls as production does. */
        r = fsutil_write_all(fd, p, half);
        if (r < 0)
                goto stop;
        r = fsutil_step_hook(opts, FSUTIL_STEP_PARTIAL);
        if (r != 0)
                goto stop;

        r = fsutil_write_all(fd, p + half, len - half);
        if (r < 0)
                goto stop;
        r = fsutil_step_hook(opts, FSUTIL_STEP_WRITTEN);
        if (r != 0)
                goto stop;

        if (fsync(fd) < 0) {
                r = -errno;
                goto stop;
        }
        r = fsutil_step_hook(opts, FSUTIL_STEP_SYNCED);
        if (r != 0)
                goto stop;

        if (renameat(dir_fd, tmp, dir_fd, name) < 0) {
                r = -errno;
                goto stop;
        }
        renamed = true;
        r = fsutil_step_hook(opts, FSUTIL_STEP_RENAMED);
        if (r != 0)
                goto stop;

        r = fsutil_fsync_dir(dir_fd);
        if (r < 0)
                goto stop;
        r = fsutil_step_hook(opts, FSUTIL_STEP_DIR_SYNCED);
        if (r != 0)
                goto stop;
        return 0;

stop:
        if (r == FSUTIL_STEP_CRASH)
                return -ECANCELED; /* leave the disk exactly as it is */
        if (!renamed)
                (void) unlinkat(dir_fd, tmp, 0);
        return r;
}

int fsutil_write_atomic(const char *dir, const char *name, const void *data, size_t len, mode_t mode,
        const fsutil_write_options *opts) {
        _cleanup_close_ int dir_fd = -1;

        if (!dir)
                return -EINVAL;
        dir_fd = fsutil_open_dir(dir);
        if (dir_fd < 0)
                return dir_fd;
        return fsutil_write_atomic_at(dir_fd, name, data, len, mode, opts);
}

static void closedirp(DIR **d) {
        if (*d)
                (void) closedir(*d);
}

int fsutil_remove_temps_at(int dir_fd, const char *name) {
        _cleanup_(closedirp) DIR *d = NULL;
        struct dirent *de;
        int fd, r = 0, n = 0;

        if (!fsutil_name_is_valid(name))
                return -EINVAL;

        /* A fresh fd, so that our reading position is our own. */
        fd = openat(dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        d = fdopendir(fd);
        if (!d) {
                r = -errno;
                (void) close(fd);
                return r;
        }

        for (;;) {
                errno = 0;
                de = readdir(d);
                if (!de) {
                        if (errno != 0 && r == 0)
                                r = -errno;
                        break;
                }
                if (!fsutil_is_temp_name(de->d_name, name))
                        continue;
                if (unlinkat(dir_fd, de->d_name, 0) < 0) {
                        if (errno != ENOENT && r == 0)
                                r = -errno;
                        continue;
                }
                n++;
        }
        return r < 0 ? r : n;
}

int fsutil_read_file_at(int dir_fd, const char *name, size_t max_size, char **ret_data, size_t *ret_len) {
        _cleanup_close_ int fd = -1;
        _cleanup_free_ char *buf = NULL;
        size_t size = 0, allocated;
        struct stat st;

        if (!name || !ret_data || max_size >= SIZE_MAX / 2)
                return -EINVAL;

        fd = openat(dir_fd, name, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return -errno;
        if (fstat(fd, &st) < 0)
                return -errno;
        if (S_ISDIR(st.st_mode))
                return -EISDIR;
        if (!S_ISREG(st.st_mode))
                return -EBADFD;
        if ((uintmax_t) st.st_size > max_size)
                return -EFBIG;

        /* st_size is a hint only: the file may grow or shrink while we read it. */
        allocated = (size_t) st.st_size + 1;
        buf = malloc(allocated);
        if (!buf)
                return -ENOMEM;

        for (;;) {
                ssize_t n;

                if (size + 1 >= allocated) {
                        size_t a = allocated * 2 < max_size + 2 ? allocated * 2 : max_size + 2;
                        char *nb;

                        if (a <= allocated)
                                return -EFBIG;
                        nb = realloc(buf, a);
                        if (!nb)
                                return -ENOMEM;
                        buf = nb;
                        allocated = a;
                }
                n = read(fd, buf + size, allocated - 1 - size);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (n == 0)
                        break;
                size += (size_t) n;
                if (size > max_size)
                        return -EFBIG;
        }

        buf[size] = 0;
        *ret_data = TAKE_PTR(buf);
        if (ret_len)
                *ret_len = size;
        return 0;
}

int fsutil_read_file(const char *path, size_t max_size, char **ret_data, size_t *ret_len) {
        if (!path)
                return -EINVAL;
        return fsutil_read_file_at(AT_FDCWD, path, max_size, ret_data, ret_len);
}

int fsutil_mkdir_p(const char *path, mode_t mode) {
        _cleanup_free_ char *p = NULL;
        bool created = false;
        struct stat st;
        char *s;

        if (!path || !*path)
                return -EINVAL;
        p = strdup(path);
        if (!p)
                return -ENOMEM;

        s = p;
        for (;;) {
                char saved;

                /* Skip leading slashes, then find the end of this component. */
                s += strspn(s, "/");
                s += strcspn(s, "/");
                saved = *s;
                *s = 0;

                if (mkdir(p, mode) >= 0)
                        created = true;
                else if (errno != EEXIST)
                        return -errno;
                else if (stat(p, &st) < 0)
                        return -errno;
                else if (!S_ISDIR(st.st_mode))
                        return -ENOTDIR;

                *s = saved;
                if (s[strspn(s, "/")] == 0)
                        break;
        }
        return created;
}

int fsutil_open_dir(const char *path) {
        int fd;

        if (!path)
                return -EINVAL;
        fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        return fd;
}

int fsutil_lock_file(const char *dir, const char *name) {
        _cleanup_close_ int dir_fd = -1, fd = -1;

        dir_fd = fsutil_open_dir(dir);
        if (dir_fd < 0)
                return dir_fd;
        fd = openat(dir_fd, name, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd < 0)
                return -errno;
        if (flock(fd, LOCK_EX | LOCK_NB) < 0)
                return -errno;
        return TAKE_FD(fd);
}
