#include <errno.h>
#include <libconfig.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config-peek.h"
#include "config.h"
#include "macro.h"

static void config_destroyp(config_t **c) {
        if (*c)
                config_destroy(*c);
}

int config_peek_control_socket(const char *path, char **ret, char **ret_error) {
        config_t cfg, *cleanup _cleanup_(config_destroyp) = NULL;
        const char *value = NULL, *name = NULL;
        char *s;

        config_init(&cfg);
        cleanup = &cfg;
        if (config_read_file(&cfg, path) != CONFIG_TRUE) {
                int r = config_error_type(&cfg) == CONFIG_ERR_FILE_IO ? -errno : -EINVAL;
                if (r == 0)
                        r = -EIO;
                if (config_error_type(&cfg) == CONFIG_ERR_FILE_IO)
                        r = asprintf(ret_error, "%s: cannot read: %s", path, strerror(-r)) < 0 ? -ENOMEM : r;
                else
                        r = asprintf(ret_error, "%s:%d: %s", path, config_error_line(&cfg),
                                    config_error_text(&cfg)) < 0 ? -ENOMEM : -EINVAL;
                return r;
        }
        if (config_lookup_string(&cfg, "sentinel.control_socket", &value) == CONFIG_TRUE)
                s = strdup(value);
        else if (config_lookup_string(&cfg, "sentinel.name", &name) == CONFIG_TRUE) {
                if (asprintf(&s, CONFIG_DEFAULT_CONTROL_SOCKET_DIR "/%s.sock", name) < 0)
                        s = NULL;
        } else
                return asprintf(ret_error, "%s: no sentinel.name or sentinel.control_socket", path) < 0 ? -ENOMEM
                                                                                                       : -EINVAL;
        if (!s)
                return -ENOMEM;
        *ret = s;
        return 0;
}
