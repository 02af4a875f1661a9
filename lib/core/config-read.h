/* Reading a configuration file into memory before libconfig parses it, so that what libconfig would
 * do on its own with @include (exit(2) on a directory, read /dev/zero forever, open a FIFO) never
 * happens: the file is read once, bounded, and an @include line is refused with its line number. */
#pragma once

#include <stddef.h>

/* The most a configuration file may hold, in bytes. */
#define CONFIG_FILE_MAX (1024 * 1024)

/* Reads path (not a directory; at most CONFIG_FILE_MAX bytes) into a new NUL-terminated string.
 * 0 and *ret_text; else a negative errno and, when ret_error is not NULL, one line "PATH: ..." or
 * "PATH:LINE: @include is not supported: keep the whole configuration in PATH" (-EINVAL). */
int config_read_text(const char *path, char **ret_text, char **ret_error);
