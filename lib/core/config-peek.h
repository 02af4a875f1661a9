/* Reading the one setting sentinelctl needs from a config, without loading secrets. */
#pragma once

/* Reads sentinel.control_socket (or its default from sentinel.name, as config_load() fills it) from
 * the config at path without validating the rest or touching secret files; on error *ret_error is
 * "FILE[:LINE]: what is wrong". */
int config_peek_control_socket(const char *path, char **ret, char **ret_error);
