#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "config-read.h"
#include "macro.h"
#include "strutil.h"

/* The line number of the first @include directive in text (libconfig: optional blanks, then
 * "@include" at the start of a line), or 0. */
static unsigned include_line(const char *text) {
        unsigned line = 1;

        for (const char *p = text; *p; line++) {
                const char *q = p + strspn(p, " \t");
                if (strncmp(q, "@include", 8) == 0)
                        return line;
                p = strchr(p, '\n');
                if (!p)
                        break;
                p++;
        }
        return 0;
}

int config_read_text(const char *path, char **ret_text, char **ret_error) {
        _cleanup_free_ char *buf = NULL;
        struct stat st;
        size_t len = 0;
        unsigned line;
        FILE *f;
        int r;

        f = fopen(path, "re");
        if (!f)
                return str_error_set(ret_error, -errno, "%s: cannot read: %s", path, strerror(errno));
        /* Anything readable goes (a pipe from --config <(...) too), but not a directory. */
        r = fstat(fileno(f), &st) < 0 ? -errno : S_ISDIR(st.st_mode) ? -EISDIR : 0;
        if (r >= 0) {
                buf = malloc(CONFIG_FILE_MAX + 1);
                if (!buf)
                        r = -ENOMEM;
        }
        while (r >= 0) {
                size_t n = fread(buf + len, 1, CONFIG_FILE_MAX + 1 - len, f);
                len += n;
                if (len > CONFIG_FILE_MAX)
                        r = -EFBIG;
                else if (n == 0) {
                        r = ferror(f) ? -EIO : 0;
                        break;
                }
        }
        fclose(f);
        if (r == -EFBIG)
                return str_error_set(ret_error, r, "%s: larger than %d bytes: not a configuration file", path, CONFIG_FILE_MAX);
        if (r < 0)
                return str_error_set(ret_error, r, "%s: cannot read: %s", path, strerror(-r));
        buf[len] = 0;
        if (strlen(buf) != len)
                return str_error_set(ret_error, -EINVAL, "%s: holds a NUL byte: not a configuration file", path);
        line = include_line(buf);
        if (line > 0)
                return str_error_set(ret_error, -EINVAL, "%s:%u: @include is not supported: keep the whole configuration in %s",
                        path, line, path);
        *ret_text = TAKE_PTR(buf);
        return 0;
}
