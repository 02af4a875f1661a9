/* The result of one query: rows of nullable strings, with the column names. Pure data that owns
 * its strings: db.c builds it from the connector's result (which it then frees), and anything else
 * (a test, say) can build one without a server. */
#pragma once

#include <stddef.h>
#include <stdint.h>

typedef struct db_result db_result;

/* A result holding copies of names (n_columns non-NULL strings) and cells (n_rows * n_columns
 * nullable strings, row-major; NULL for SQL NULL, and may be NULL as a whole for all NULLs).
 * 0 and *ret; -EINVAL on a missing name; -ENOMEM. */
int db_result_new(size_t n_rows, size_t n_columns, const char *const *names, const char *const *cells,
        uint64_t affected_rows, db_result **ret);

/* Frees r and all its strings. NULL-safe; returns NULL. */
db_result *db_result_free(db_result *r);

static inline void db_result_freep(db_result **r) {
        db_result_free(*r);
}

/* The number of rows; 0 for NULL. */
size_t db_result_n_rows(const db_result *r);

/* The number of columns; 0 for NULL. */
size_t db_result_n_columns(const db_result *r);

/* The name of a column; NULL when out of range. */
const char *db_result_column_name(const db_result *r, size_t column);

/* The index of a column, by name, ignoring case; -ENOENT when there is none, -EINVAL for NULL. */
int db_result_column_index(const db_result *r, const char *name);

/* A value: NULL for SQL NULL and for a row or column out of range. */
const char *db_result_value(const db_result *r, size_t row, size_t column);

/* A value by column name (see db_result_value()); NULL also when there is no such column. */
const char *db_result_value_by_name(const db_result *r, size_t row, const char *column);

/* Rows changed by a statement without a result set; 0 for NULL. */
uint64_t db_result_affected_rows(const db_result *r);
