#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "macro.h"
#include "strutil.h"

#define EDIT_DISTANCE_MAX_LEN 256

static char lower(char c) {
        return c >= 'A' && c <= 'Z' ? (char) (c - 'A' + 'a') : c;
}

static size_t min3(size_t a, size_t b, size_t c) {
        size_t m = a < b ? a : b;
        return m < c ? m : c;
}

size_t str_edit_distance(const char *a, const char *b) {
        size_t la = strlen(a), lb = strlen(b);

        if (la > EDIT_DISTANCE_MAX_LEN || lb > EDIT_DISTANCE_MAX_LEN)
                return SIZE_MAX;

        /* Three rows of the (la+1) x (lb+1) matrix: two back (for swaps), one back, and the current. */
        _cleanup_free_ size_t *rows = malloc(3 * (lb + 1) * sizeof(size_t));
        if (!rows)
                return SIZE_MAX;
        size_t *pprev = rows, *prev = rows + (lb + 1), *cur = rows + 2 * (lb + 1);

        for (size_t j = 0; j <= lb; j++)
                prev[j] = j;

        for (size_t i = 1; i <= la; i++) {
                cur[0] = i;
                for (size_t j = 1; j <= lb; j++) {
                        size_t cost = lower(a[i - 1]) == lower(b[j - 1]) ? 0 : 1;

                        cur[j] = min3(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost);
                        if (i > 1 && j > 1 && lower(a[i - 1]) == lower(b[j - 2]) &&
                                lower(a[i - 2]) == lower(b[j - 1]) && pprev[j - 2] + 1 < cur[j])
                                cur[j] = pprev[j - 2] + 1;
                }
                size_t *t = pprev;
                pprev = prev;
                prev = cur;
                cur = t;
        }

        return prev[lb];
}

size_t str_typo_distance(const char *word) {
        size_t n = strlen(word);

        if (n <= 4)
                return 1;
        if (n <= 8)
                return 2;
        return 3;
}

const char *str_closest(const char *word, const char *const *candidates) {
        const char *best = NULL;
        size_t best_d = SIZE_MAX, limit = str_typo_distance(word);

        for (const char *const *c = candidates; *c; c++) {
                size_t d = str_edit_distance(word, *c);

                if (d == 0)
                        return NULL;
                if (d <= limit && d < best_d) {
                        best = *c;
                        best_d = d;
                }
        }
        return best;
}

bool str_in_list(const char *const *list, const char *s) {
        for (; *list; list++)
                if (strcmp(*list, s) == 0)
                        return true;
        return false;
}

int str_table_find(const char *const *table, int n, const char *s) {
        for (int i = 0; s && i < n; i++)
                if (table[i] && strcmp(table[i], s) == 0)
                        return i;
        return -EINVAL;
}

bool str_endswith(const char *s, const char *suffix) {
        size_t ls = strlen(s), lx = strlen(suffix);

        return ls >= lx && memcmp(s + ls - lx, suffix, lx) == 0;
}

bool str_has_control(const char *s) {
        for (; *s; s++)
                if ((unsigned char) *s < 0x20 || *s == 0x7f)
                        return true;
        return false;
}

int str_error_set(char **ret_error, int r, const char *format, ...) {
        va_list ap;

        if (ret_error) {
                va_start(ap, format);
                if (vasprintf(ret_error, format, ap) < 0)
                        *ret_error = NULL;
                va_end(ap);
        }
        return r;
}

int str_fputs_printable(const char *s, FILE *f) {
        for (const char *p = s; *p; p++) {
                unsigned char c = (unsigned char) *p;
                int r = (c < 0x20 && c != '\n' && c != '\t') || c == 0x7f ? fprintf(f, "\\x%02x", c) : fputc(c, f);
                if (r < 0)
                        return EOF;
        }
        return 0;
}

static bool is_alnum(char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

bool str_is_name(const char *s) {
        size_t n = strlen(s);

        if (n < 1 || n > 64 || !is_alnum(s[0]))
                return false;
        for (size_t i = 1; i < n; i++)
                if (!is_alnum(s[i]) && !strchr("._-", s[i]))
                        return false;
        return true;
}

char *str_path_join(const char *dir, const char *name) {
        char *p;

        if (name[0] == '/' || !dir || dir[0] == '\0')
                return strdup(name);
        if (asprintf(&p, "%s%s%s", dir, str_endswith(dir, "/") ? "" : "/", name) < 0)
                return NULL;
        return p;
}

char *str_dirname(const char *path) {
        const char *slash = strrchr(path, '/');

        if (!slash)
                return strdup(".");
        while (slash > path && slash[-1] == '/')
                slash--;
        if (slash == path)
                return strdup("/");
        return strndup(path, (size_t) (slash - path));
}
