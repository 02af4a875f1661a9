/* Reading the one setting sentinelctl needs from a config, without loading secrets. */
#pragma once

#define CONFIG_RUNTIME_DIR "/run/mariadb-sentinel"
#define CONFIG_STATE_ROOT "/var/lib/mariadb-sentinel"

/* The default control socket of sentinel NAME: CONFIG_RUNTIME_DIR/NAME.sock (malloc'd, NULL on OOM). */
char *config_default_control_socket(const char *name);

/* The default state directory of sentinel NAME: CONFIG_STATE_ROOT/NAME (malloc'd, NULL on OOM). */
char *config_default_state_dir(const char *name);

/* Reads sentinel.control_socket (or its default from sentinel.name) from the config at path without
 * validating the rest or touching secret files; on error *ret_error is "FILE[:LINE]: what is wrong". */
int config_peek_control_socket(const char *path, char **ret, char **ret_error);
