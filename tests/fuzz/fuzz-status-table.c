/* libFuzzer target for the table `sentinelctl status` prints (lib/core/status-json.c
 * status_format_table()), which renders whatever JSON the control socket answered: a daemon of
 * another version, or anything listening on the socket path.
 *
 * The input is read as sentinelctl reads it: as a reply line (control_reply_parse()), whose result
 * is the status document, and, so that the seeds stay readable, as the status document itself.
 * Each document is rendered whole, for each of its first clusters by name, and for a cluster it does
 * not have. Invariants beyond "no crash, no leak": -EINVAL exactly when the document is not an object
 * with a "clusters" array; -ENOENT exactly when the cluster asked for is not in it; a table is
 * text ending in a newline (empty only without clusters and sentinel) that starts with the cluster
 * asked for.
 * Seeds: tests/fuzz/corpus-status-table. */
#include <errno.h>
#include <json-c/json.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control-proto.h"
#include "fuzz-util.h"
#include "macro.h"
#include "status-json.h"

#define MAX_NAMED 3

static void render(json_object *status, const char *cluster, bool valid, bool present) {
        _cleanup_free_ char *text = NULL;
        int r = status_format_table(status, cluster, &text);

        if (!valid) {
                check(r == -EINVAL && !text);
                return;
        }
        if (r == -ENOMEM)
                return;
        if (cluster && !present) {
                check(r == -ENOENT && !text);
                return;
        }
        check(r == 0 && text);
        check(text[0] == '\0' || text[strlen(text) - 1] == '\n');
        if (cluster) {
                check(strncmp(text, "CLUSTER ", 8) == 0);
                check(strncmp(text + 8, cluster, strlen(cluster)) == 0 && text[8 + strlen(cluster)] == '\n');
        }
}

static void one_document(json_object *status) {
        json_object *clusters = NULL;
        bool valid = json_object_is_type(status, json_type_object) &&
                     json_object_object_get_ex(status, "clusters", &clusters) &&
                     json_object_is_type(clusters, json_type_array);
        size_t named = 0;

        render(status, NULL, valid, true);
        render(status, "\x01no such cluster", valid, false);
        for (size_t i = 0; valid && i < json_object_array_length(clusters) && named < MAX_NAMED; i++) {
                json_object *c = json_object_array_get_idx(clusters, i), *name = NULL;
                const char *s;

                if (!json_object_is_type(c, json_type_object) ||
                        !json_object_object_get_ex(c, "name", &name) ||
                        !json_object_is_type(name, json_type_string))
                        continue;
                s = json_object_get_string(name);
                /* A name with a NUL or a newline inside cannot be checked against the first line. */
                if (strlen(s) != (size_t) json_object_get_string_len(name) || strchr(s, '\n') ||
                        streq(s, "\x01no such cluster"))
                        continue;
                render(status, s, true, true);
                named++;
        }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_(control_reply_freep) control_reply *reply = NULL;
        json_tokener *tok;
        json_object *doc;

        /* As sentinelctl gets it: a reply whose result is the document. */
        if (control_reply_parse((const char *) data, size, &reply) == 0 && reply->ok)
                one_document(reply->result);

        /* The document alone. */
        if (size > INT32_MAX)
                return 0;
        tok = json_tokener_new();
        if (!tok)
                return 0;
        doc = json_tokener_parse_ex(tok, (const char *) data, (int) size);
        json_tokener_free(tok);
        if (doc)
                one_document(doc);
        json_object_put(doc);
        return 0;
}
