/* libFuzzer target for the TSIG key file parser (lib/core/tsig-key.c tsig_key_parse()): BIND's
 * key "name" { algorithm hmac-sha256; secret "base64"; }; as tsig-keygen writes it, read by the config
 * loader from a file the operator points it at.
 *
 * Invariants beyond "no crash, no leak": a key that parses has a valid DNS name, a known algorithm
 * and at least one secret byte; a failure is -EINVAL with a one-line reason and a line number within
 * the input, or -ENOMEM; the reason never quotes the secret (checked for the first secret "..." of
 * at least 12 base64 characters). Seeds: tests/fuzz/corpus-tsig-key. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz-util.h"
#include "hostport.h"
#include "macro.h"
#include "tsig-key.h"

static unsigned count_lines(const uint8_t *data, size_t size) {
        unsigned n = 1;

        for (size_t i = 0; i < size; i++)
                n += data[i] == '\n';
        return n;
}

/* The text of the first secret "..." in the input when it is at least 12 base64 characters (shorter
 * ones could be words of the messages themselves), else NULL. */
static char *find_secret(const uint8_t *data, size_t size) {
        const uint8_t *p = memmem(data, size, "secret \"", 8), *end = data + size, *q;

        if (!p)
                return NULL;
        p += 8;
        for (q = p; q < end && *q != '"'; q++)
                if (*q == '\0' ||
                        !strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=", *q))
                        return NULL;
        if (q == end || q - p < 12)
                return NULL;
        return fuzz_strndup(p, (size_t) (q - p));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_free_ char *error = NULL, *secret = NULL;
        unsigned line = 0;
        tsig_key k;
        int r;

        r = tsig_key_parse((const char *) data, size, &k, &line, &error);
        if (r < 0) {
                check(r == -EINVAL || r == -ENOMEM);
                if (r == -EINVAL) {
                        check(error && fuzz_is_one_line(error));
                        check(line >= 1 && line <= count_lines(data, size));
                        secret = find_secret(data, size);
                        check(!secret || !strstr(error, secret));
                }
                return 0;
        }
        check(r == 0 && !error);
        check(k.name && dns_name_is_valid(k.name));
        check(tsig_algorithm_to_string(k.algorithm));
        check(tsig_algorithm_from_string(tsig_algorithm_to_string(k.algorithm)) == k.algorithm);
        check(k.secret && k.secret_size >= 1);
        tsig_key_done(&k);
        check(!k.name && !k.secret && k.secret_size == 0);
        return 0;
}
