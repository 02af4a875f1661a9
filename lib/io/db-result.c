/* Query results as plain data. See db-result.h.
 *
 * One allocation per result: the header, then the pointers (the names, then the cells row-major),
 * then the strings they point to. */
#include <errno.h>
#include <string.h>
#include <strings.h>

#include "db-result.h"
#include "macro.h"

struct db_result {
        size_t n_rows;
        size_t n_columns;
        uint64_t affected_rows;
        char **names; /* n_columns, into slots */
        char **cells; /* n_rows * n_columns, row-major, into slots; NULL for SQL NULL */
        char *slots[];
};

/* Adds the bytes s needs (with its NUL) to *size; false on overflow. */
static bool db_result_add_size(size_t *size, const char *s) {
        return !s || !__builtin_add_overflow(*size, strlen(s) + 1, size);
}

/* Copies s to *p, advancing *p; NULL stays NULL. */
static char *db_result_copy(char **p, const char *s) {
        char *c = *p;

        if (!s)
                return NULL;
        *p = stpcpy(c, s) + 1;
        return c;
}

int db_result_new(size_t n_rows, size_t n_columns, const char *const *names, const char *const *cells,
        uint64_t affected_rows, db_result **ret) {
        size_t n_cells, size;
        db_result *r;
        char *p;

        if (!ret || (n_columns > 0 && !names))
                return -EINVAL;
        for (size_t k = 0; k < n_columns; k++)
                if (!names[k])
                        return -EINVAL;
        if (__builtin_mul_overflow(n_rows, n_columns, &n_cells) ||
                __builtin_add_overflow(n_cells, n_columns, &size) ||
                __builtin_mul_overflow(size, sizeof(char *), &size) ||
                __builtin_add_overflow(size, sizeof(db_result), &size))
                return -ENOMEM;
        for (size_t k = 0; k < n_columns; k++)
                if (!db_result_add_size(&size, names[k]))
                        return -ENOMEM;
        for (size_t i = 0; cells && i < n_cells; i++)
                if (!db_result_add_size(&size, cells[i]))
                        return -ENOMEM;
        r = malloc(size);
        if (!r)
                return -ENOMEM;
        *r = (db_result){.n_rows = n_rows, .n_columns = n_columns, .affected_rows = affected_rows};
        r->names = r->slots;
        r->cells = r->slots + n_columns;
        p = (char *) (r->cells + n_cells);
        for (size_t k = 0; k < n_columns; k++)
                r->names[k] = db_result_copy(&p, names[k]);
        for (size_t i = 0; i < n_cells; i++)
                r->cells[i] = db_result_copy(&p, cells ? cells[i] : NULL);
        *ret = r;
        return 0;
}

db_result *db_result_free(db_result *r) {
        free(r);
        return NULL;
}

size_t db_result_n_rows(const db_result *r) {
        return r ? r->n_rows : 0;
}

size_t db_result_n_columns(const db_result *r) {
        return r ? r->n_columns : 0;
}

const char *db_result_column_name(const db_result *r, size_t column) {
        return r && column < r->n_columns ? r->names[column] : NULL;
}

int db_result_column_index(const db_result *r, const char *name) {
        if (!r || !name)
                return -EINVAL;
        for (size_t k = 0; k < r->n_columns && k < INT32_MAX; k++)
                if (strcasecmp(r->names[k], name) == 0)
                        return (int) k;
        return -ENOENT;
}

const char *db_result_value(const db_result *r, size_t row, size_t column) {
        return r && row < r->n_rows && column < r->n_columns ? r->cells[row * r->n_columns + column] : NULL;
}

const char *db_result_value_by_name(const db_result *r, size_t row, const char *column) {
        int k = db_result_column_index(r, column);
        return k < 0 ? NULL : db_result_value(r, row, (size_t) k);
}

uint64_t db_result_affected_rows(const db_result *r) {
        return r ? r->affected_rows : 0;
}
