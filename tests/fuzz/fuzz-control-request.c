/* libFuzzer target for what the control socket reads from untrusted peers: the line splitter and
 * the request parser (plus the reply parser and the sanitizer, which read the daemon's bytes).
 *
 *   clang -std=gnu11 -D_GNU_SOURCE -g -fsanitize=fuzzer,address,undefined -Ilib/core \
 *     tests/fuzz/fuzz-control-request.c lib/core/control-proto.c $(pkg-config --cflags --libs json-c) \
 *     -o fuzz-control-request
 *   ./fuzz-control-request -max_total_time=30 NEW_CORPUS_DIR tests/fuzz/corpus-control-request
 *
 * Invariants checked beyond "no crash, no leak": an error always carries a known code and a
 * one-line printable message; a request that parses formats back to a line that parses to the
 * same request. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz-util.h"
#include "control-proto.h"
#include "macro.h"

static void check_message(const char *m) {
        check(strlen(m) < CONTROL_MESSAGE_MAX);
        for (const unsigned char *p = (const unsigned char *) m; *p; p++)
                check(*p >= 0x20 && *p != 0x7f);
}

static void one_request(const char *line, size_t len) {
        _cleanup_(control_request_freep) control_request *req = NULL, *again = NULL;
        _cleanup_free_ char *formatted = NULL;
        control_error_info err;
        size_t n;
        int r;

        r = control_request_parse(line, len, &req, &err);
        if (r < 0) {
                check(r == -EBADMSG || r == -ENOMEM);
                check(!req);
                if (r == -EBADMSG) {
                        check(control_error_to_string(err.code));
                        check_message(err.message);
                }
                return;
        }
        check(control_command_to_string(req->command));
        check(json_object_is_type(req->args, json_type_object));
        (void) control_request_get_string(req, "to");
        (void) control_request_get_uint(req, "timeout_ms", 0);
        (void) control_request_get_bool(req, "dry_run", false);

        r = control_request_format(req->command, req->cluster, req->args, &formatted, &n);
        if (r == -ENOMEM)
                return;
        check(r == 0);
        check(n > 0 && formatted[n - 1] == '\n' && !memchr(formatted, '\n', n - 1));
        check(control_request_parse(formatted, n - 1, &again, &err) == 0);
        check(again->command == req->command);
        check(streq_ptr(again->cluster, req->cluster));
        check(json_object_equal(again->args, req->args));
}

static void one_reply(const char *line, size_t len) {
        _cleanup_(control_reply_freep) control_reply *reply = NULL;

        if (control_reply_parse(line, len, &reply) < 0) {
                check(!reply);
                return;
        }
        if (reply->ok)
                check(json_object_is_type(reply->result, json_type_object));
        else {
                check_message(reply->error_code);
                check_message(reply->error_message);
        }
}

/* Splits data into lines of at most max bytes, as the server reads a stream; parses each line. */
static void split(const uint8_t *data, size_t size, size_t max, bool requests) {
        _cleanup_(control_line_splitter_freep) control_line_splitter *s = NULL;
        size_t off = 0;

        if (control_line_splitter_new(max, &s) < 0)
                return;
        while (off < size) {
                const char *line;
                size_t consumed, len;
                int r = control_line_splitter_feed(s, data + off, size - off, &consumed);

                if (r == -EMSGSIZE) {
                        check(control_line_splitter_feed(s, "\n", 1, &consumed) == -EMSGSIZE);
                        control_line_splitter_reset(s);
                        off++;
                        continue;
                }
                if (r < 0)
                        return;
                check(consumed > 0 && consumed <= size - off);
                off += consumed;
                if (r == 0) {
                        check(off == size);
                        check(control_line_splitter_pending(s) <= max);
                        break;
                }
                check(control_line_splitter_get(s, &line, &len) == 0);
                check(len <= max && line[len] == 0);
                if (requests)
                        one_request(line, len);
                else
                        one_reply(line, len);
                control_line_splitter_pop(s);
        }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        char buf[CONTROL_MESSAGE_MAX];

        /* The whole input as one request, and as the server would read it. */
        one_request((const char *) data, size);
        split(data, size, CONTROL_REQUEST_MAX, true);
        /* A small cap, from the first byte, to reach the overflow paths. */
        if (size > 0)
                split(data + 1, size - 1, 1 + data[0] % 64, true);
        one_reply((const char *) data, size);
        split(data, size, CONTROL_REPLY_MAX, false);
        check_message(control_sanitize_line((const char *) data, size, buf, 4 + size % (sizeof(buf) - 4)));
        return 0;
}
