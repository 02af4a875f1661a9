/* libFuzzer target for state.json (lib/io/state.c state_parse()): the file a sentinel reads back at
 * start, which a disk, a crash or an operator may have damaged.
 *
 * Each input is read twice:
 *   - as the file's bytes, checksum line included (the fuzzer rarely gets a SHA-256 right, so this
 *     mostly reaches the framing);
 *   - as a body signed here: the input up to its last line when that is a "sha256:" line (the seeds
 *     are whole files), else all of it, followed by a fresh checksum line, so that the fuzzer reaches
 *     the JSON and the rules behind it.
 * Invariants beyond "no crash, no leak": a failure is a corruption error (or -ENOMEM) with a one-line
 * detail; a state that parses formats to a file that parses to an equal state and formats to the same
 * bytes again; the getters agree with what was parsed. Seeds: tests/fuzz/corpus-state. */
#include <errno.h>
#include <openssl/evp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz-util.h"
#include "macro.h"
#include "state.h"

#define CHECKSUM_PREFIX "sha256:"

static void check_state(const state *s) {
        const char *candidate = NULL, *again = NULL;
        uint64_t epoch = 0;
        int r;

        r = state_last_vote(s, &epoch, &candidate);
        check(r == 0 || r == 1);
        if (r == 1) {
                check(epoch <= state_get_epoch(s) && candidate);
                check(state_vote_for(s, epoch, &again) == 1 && streq(again, candidate));
        } else
                check(epoch == 0 && !candidate);
        check(state_get_epoch(s) <= STATE_EPOCH_MAX);
}

static void one_file(const char *data, size_t len) {
        _cleanup_(state_freep) state *s = NULL, *again = NULL;
        _cleanup_free_ char *detail = NULL, *text = NULL, *text_again = NULL;
        size_t n = 0, n_again = 0;
        int r;

        r = state_parse(data, len, &s, &detail);
        if (r < 0) {
                check(!s);
                if (r == -ENOMEM)
                        return;
                check(state_error_is_corruption(r));
                check(state_strerror(r));
                check(detail && fuzz_is_one_line(detail));
                return;
        }
        check(r == 0 && s);
        check_state(s);

        r = state_format(s, &text, &n);
        if (r == -ENOMEM)
                return;
        check(r == 0 && n == strlen(text));
        r = state_parse(text, n, &again, NULL);
        check(r == 0 || r == -ENOMEM);
        if (r < 0)
                return;
        check(state_equal(s, again) && state_equal(again, s));
        check(state_n_clusters(s) == state_n_clusters(again));
        r = state_format(again, &text_again, &n_again);
        check(r == 0 || r == -ENOMEM);
        if (r == 0)
                check(n == n_again && memcmp(text, text_again, n) == 0);
}

/* The body of the input (see above) with a checksum line of its own. */
static void one_signed_body(const uint8_t *data, size_t size) {
        _cleanup_free_ char *file = NULL;
        unsigned char md[EVP_MAX_MD_SIZE];
        const uint8_t *nl;
        size_t body = size;
        unsigned md_len = 0;

        /* Drop a last line that is a checksum line (with or without its newline). */
        nl = size > 1 ? memrchr(data, '\n', size - 1) : NULL;
        if (nl && (size_t) (data + size - (nl + 1)) >= strlen(CHECKSUM_PREFIX) &&
                memcmp(nl + 1, CHECKSUM_PREFIX, strlen(CHECKSUM_PREFIX)) == 0)
                body = (size_t) (nl + 1 - data);

        file = malloc(body + 1 + strlen(CHECKSUM_PREFIX) + 2 * EVP_MAX_MD_SIZE + 2);
        check(file);
        memcpy(file, data, body);
        if (body == 0 || file[body - 1] != '\n')
                file[body++] = '\n';
        check(EVP_Digest(file, body, md, &md_len, EVP_sha256(), NULL) == 1);
        memcpy(file + body, CHECKSUM_PREFIX, strlen(CHECKSUM_PREFIX));
        body += strlen(CHECKSUM_PREFIX);
        for (unsigned i = 0; i < md_len; i++)
                body += (size_t) snprintf(file + body, 3, "%02x", md[i]);
        file[body++] = '\n';
        one_file(file, body);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        one_file((const char *) data, size);
        one_signed_body(data, size);
        return 0;
}
