/* Secrets read from files (passwords, the peer key, TSIG keys): never inline in the config, never
 * printed. Each secret is kept in exactly one heap copy, which secret_done() wipes. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The largest secret file accepted. */
#define SECRET_SIZE_MAX ((size_t) 64 * 1024)

typedef struct secret {
        char *path;    /* the file it was read from: safe to print */
        uint8_t *data; /* size bytes plus a NUL after them; NEVER print; NULL when not set */
        size_t size;   /* at least 1 when set */
} secret;

/* Resolves the file named by a *_file setting: an absolute name as is; a relative one in
 * $CREDENTIALS_DIRECTORY (systemd LoadCredential=) when it exists there, else under base_dir.
 * Returns 0 with a new string in *ret, or -ENOMEM. */
int secret_resolve(const char *name, const char *base_dir, char **ret);

/* Reads a secret file. The file must be a regular file (symlinks are followed: the target counts)
 * that neither group nor others may access (mode & 0077 == 0; or group bits that are only the mask of
 * an ACL granting no one but the owner and this process's user, as systemd writes credentials on
 * tmpfs), at most SECRET_SIZE_MAX bytes, and
 * not empty once one trailing "\n" or "\r\n" is stripped. On success fills *ret (release with
 * secret_done()). On failure returns a negative errno (-ENOENT, -EACCES, ... from open(2); -EISDIR,
 * -EBADFD not a regular file; -EPERM too open; -EFBIG too large or growing; -ENODATA empty) and,
 * when ret_error is not NULL, sets *ret_error to a one-line reason naming the path, never the
 * contents. */
int secret_read_file(const char *path, secret *ret, char **ret_error);

/* Wipes the bytes (explicit_bzero), frees them and the path, and zeroes *s; NULL-safe. */
void secret_done(secret *s);

/* Whether s holds a secret. */
static inline bool secret_is_set(const secret *s) {
        return s && s->data;
}
