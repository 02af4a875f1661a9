/* Small string helpers for the core: edit distance for "did you mean", name and path checks. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* The edit distance between a and b, ignoring ASCII case: insertions, deletions, substitutions and
 * swaps of two adjacent characters each cost 1 (Damerau-Levenshtein, optimal string alignment).
 * Returns SIZE_MAX when out of memory or when either string is longer than 256 bytes. */
size_t str_edit_distance(const char *a, const char *b);

/* How many edits still make a typo of word rather than another word: 1 up to 4 characters, 2 up to
 * 8, else 3. */
size_t str_typo_distance(const char *word);

/* The candidate closest to word within str_typo_distance(word) edits (the first on a tie), or NULL
 * when none is close or word is one of them; candidates ends with NULL. */
const char *str_closest(const char *word, const char *const *candidates);

/* Whether s is one of the strings of list, which ends with NULL. */
bool str_in_list(const char *const *list, const char *s);

/* The index of s in table (n entries, NULL entries skipped), or -EINVAL: for enum from_string(). */
int str_table_find(const char *const *table, int n, const char *s);

/* Whether s ends with suffix. */
bool str_endswith(const char *s, const char *suffix);

/* Whether s contains an ASCII control character (below 0x20, or 0x7f). */
bool str_has_control(const char *s);

/* Sets *ret_error (when ret_error is not NULL) to the formatted one-line message, or NULL when out of
 * memory, and returns r: for the functions that fail with an errno and a reason. */
int str_error_set(char **ret_error, int r, const char *format, ...) __attribute__((format(printf, 3, 4)));

/* Writes s to f for a terminal: newlines and tabs as they are, every other ASCII control character
 * (an escape sequence from a server's error text, say) as \xNN. Returns what fputs() returns. */
int str_fputs_printable(const char *s, FILE *f);

/* Whether s is a name fit for paths, URLs and environment values: 1 to 64 of [A-Za-z0-9._-],
 * starting with a letter or a digit. */
bool str_is_name(const char *s);

/* dir and name joined by one '/', or a copy of name when it is absolute; NULL when out of memory. */
char *str_path_join(const char *dir, const char *name);

/* The directory of path: "." when it has no '/', "/" for a file in the root; NULL when out of memory. */
char *str_dirname(const char *path);
