#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "macro.h"
#include "secret.h"
#include "strutil.h"

int secret_resolve(const char *name, const char *base_dir, char **ret) {
        const char *creds = getenv("CREDENTIALS_DIRECTORY");
        char *p;

        if (name[0] != '/' && creds && creds[0] != '\0') {
                struct stat st;

                p = str_path_join(creds, name);
                if (!p)
                        return -ENOMEM;
                /* Anything there wins, even a dangling symlink: better an error about it than
                 * silently reading a different file from the config directory. */
                if (fstatat(AT_FDCWD, p, &st, AT_SYMLINK_NOFOLLOW) >= 0) {
                        *ret = p;
                        return 0;
                }
                free(p);
        }

        p = str_path_join(base_dir, name);
        if (!p)
                return -ENOMEM;
        *ret = p;
        return 0;
}

/* The kernel's POSIX ACL xattr (linux/posix_acl_xattr.h): a version, then little-endian entries. */
#define ACL_XATTR_VERSION 2
enum { ACL_TAG_USER = 0x02, ACL_TAG_GROUP_OBJ = 0x04, ACL_TAG_GROUP = 0x08, ACL_TAG_MASK = 0x10 };
struct acl_xattr_entry {
        uint16_t tag, perm;
        uint32_t id;
};

/* Whether the group bits of a file's mode (an ACL's mask, when it has one) hide an ACL that lets no one
 * but the owner and this process's user in. That is how systemd writes a credential on a file system
 * with ACLs: mode 0400, owner root, and an entry for the service's user, which makes the mode 0440. */
static bool secret_acl_private(int fd) {
        uint8_t buf[4 + 32 * sizeof(struct acl_xattr_entry)];
        uint32_t version;
        uint16_t mask = 07;
        ssize_t n;

        n = fgetxattr(fd, "system.posix_acl_access", buf, sizeof(buf));
        if (n < 4 || (n - 4) % sizeof(struct acl_xattr_entry) != 0)
                return false; /* no ACL (the group bits are the group's), or more entries than we read */
        memcpy(&version, buf, 4);
        if (le32toh(version) != ACL_XATTR_VERSION)
                return false;
        for (size_t o = 4; o < (size_t) n; o += sizeof(struct acl_xattr_entry)) {
                struct acl_xattr_entry e;

                memcpy(&e, buf + o, sizeof(e));
                if (le16toh(e.tag) == ACL_TAG_MASK)
                        mask = le16toh(e.perm) & 07;
        }
        for (size_t o = 4; o < (size_t) n; o += sizeof(struct acl_xattr_entry)) {
                struct acl_xattr_entry e;
                uint16_t tag;

                memcpy(&e, buf + o, sizeof(e));
                tag = le16toh(e.tag);
                if (!(le16toh(e.perm) & mask))
                        continue;
                if (tag == ACL_TAG_GROUP_OBJ || tag == ACL_TAG_GROUP)
                        return false;
                if (tag == ACL_TAG_USER && le32toh(e.id) != (uint32_t) geteuid())
                        return false;
        }
        return true;
}

static void wipe_free(uint8_t *p, size_t n) {
        if (!p)
                return;
        explicit_bzero(p, n);
        free(p);
}

static ssize_t read_full(int fd, uint8_t *buf, size_t size) {
        size_t done = 0;

        while (done < size) {
                ssize_t n = read(fd, buf + done, size - done);

                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (n == 0)
                        break;
                done += (size_t) n;
        }
        return (ssize_t) done;
}

int secret_read_file(const char *path, secret *ret, char **ret_error) {
        _cleanup_close_ int fd = -1;
        _cleanup_free_ char *path_copy = NULL;
        struct stat st;
        uint8_t *buf, extra;
        size_t cap, size;
        ssize_t n;

        /* O_NONBLOCK so that a FIFO does not hang us in open(); it is refused below anyway.
         * Symlinks are followed on purpose (Kubernetes secret volumes are symlinks): the mode and
         * type checked are those of the file actually opened, which is what guards the bytes. */
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        if (fd < 0 || fstat(fd, &st) < 0) {
                int r = -errno;

                return str_error_set(ret_error, r, "cannot open secret file %s: %s", path, strerror(-r));
        }
        if (S_ISDIR(st.st_mode))
                return str_error_set(ret_error, -EISDIR, "secret file %s is a directory, not a file", path);
        if (!S_ISREG(st.st_mode))
                return str_error_set(ret_error, -EBADFD, "secret file %s is not a regular file", path);
        if ((st.st_mode & 0007) || ((st.st_mode & 0070) && !secret_acl_private(fd)))
                return str_error_set(ret_error, -EPERM,
                        "secret file %s is accessible by group or others (mode %04o); run chmod 0600 %s",
                        path, (unsigned) (st.st_mode & 07777), path);
        if ((uint64_t) st.st_size > SECRET_SIZE_MAX)
                return str_error_set(ret_error, -EFBIG, "secret file %s is larger than %zu KiB", path,
                        SECRET_SIZE_MAX / 1024);

        path_copy = strdup(path);
        if (!path_copy)
                return -ENOMEM;

        cap = (size_t) st.st_size;
        buf = malloc(cap + 1);
        if (!buf)
                return -ENOMEM;

        n = read_full(fd, buf, cap);
        if (n < 0) {
                wipe_free(buf, cap + 1);
                return str_error_set(
                        ret_error, (int) n, "cannot read secret file %s: %s", path, strerror((int) -n));
        }
        size = (size_t) n;

        /* The file must end where fstat() said: a file still being written is not read half. */
        n = read_full(fd, &extra, 1);
        explicit_bzero(&extra, sizeof(extra));
        if (n != 0) {
                wipe_free(buf, cap + 1);
                if (n < 0)
                        return str_error_set(ret_error, (int) n, "cannot read secret file %s: %s", path,
                                strerror((int) -n));
                return str_error_set(ret_error, -EFBIG, "secret file %s changed while being read", path);
        }

        if (size > 0 && buf[size - 1] == '\n') {
                size--;
                if (size > 0 && buf[size - 1] == '\r')
                        size--;
        }
        if (size == 0) {
                wipe_free(buf, cap + 1);
                return str_error_set(ret_error, -ENODATA, "secret file %s is empty", path);
        }
        buf[size] = 0;

        *ret = (secret){.path = TAKE_PTR(path_copy), .data = buf, .size = size};
        return 0;
}

void secret_done(secret *s) {
        if (!s)
                return;
        /* size + 1: the NUL after the bytes too. A stripped newline beyond it is not secret. */
        if (s->data)
                explicit_bzero(s->data, s->size + 1);
        free(s->data);
        free(s->path);
        *s = (secret){};
}
