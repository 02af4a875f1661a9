/* TSIG keys (RFC 8945) for the DNS endpoint, read from BIND's key file format, as written by
 * tsig-keygen:   key "name" { algorithm hmac-sha256; secret "base64"; };   */
#pragma once

#include <errno.h>
#include <stddef.h>
#include <stdint.h>

typedef enum tsig_algorithm {
        TSIG_HMAC_MD5,
        TSIG_HMAC_SHA1,
        TSIG_HMAC_SHA224,
        TSIG_HMAC_SHA256,
        TSIG_HMAC_SHA384,
        TSIG_HMAC_SHA512,
        _TSIG_ALGORITHM_MAX,
        _TSIG_ALGORITHM_INVALID = -EINVAL,
} tsig_algorithm;

typedef struct tsig_key {
        char *name; /* the key's name as written, e.g. "sentinel-key"; NULL when unset */
        tsig_algorithm algorithm;
        uint8_t *secret;    /* the decoded key bytes: NEVER print */
        size_t secret_size; /* at least 1 when set */
} tsig_key;

/* The BIND name of an algorithm ("hmac-sha256"), or NULL when out of range. */
const char *tsig_algorithm_to_string(tsig_algorithm a);

/* Parses an algorithm name, ignoring case; _TSIG_ALGORITHM_INVALID when unknown. */
tsig_algorithm tsig_algorithm_from_string(const char *s);

/* Parses the text of a key file holding exactly one key statement; '#', '//' and C comments and any
 * whitespace are allowed around the tokens, anything else is refused. On success fills *ret (release
 * with tsig_key_done()). On failure returns -EINVAL and, when not NULL, sets *ret_error_line to the
 * 1-based line at fault and *ret_error to a reason that never quotes the file's contents; or -ENOMEM. */
int tsig_key_parse(const char *text, size_t size, tsig_key *ret, unsigned *ret_error_line, char **ret_error);

/* Wipes and frees the secret, frees the name, and zeroes *k; NULL-safe. */
void tsig_key_done(tsig_key *k);
