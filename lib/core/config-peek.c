#include <errno.h>
#include <libconfig.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config-peek.h"
#include "config-read.h"
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

        _cleanup_free_ char *data = NULL;
        int r;

        config_init(&cfg);
        cleanup = &cfg;
        r = config_read_text(path, &data, ret_error); /* bounded, @include refused (config-read.h) */
        if (r < 0)
                return r;
        if (config_read_string(&cfg, data) != CONFIG_TRUE)
                return asprintf(ret_error, "%s:%d: %s", path, config_error_line(&cfg), config_error_text(&cfg)) < 0
                               ? -ENOMEM
                               : -EINVAL;
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
