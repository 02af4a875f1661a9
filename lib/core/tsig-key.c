#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "hostport.h"
#include "macro.h"
#include "strutil.h"
#include "tsig-key.h"

static const char *const algorithm_table[_TSIG_ALGORITHM_MAX + 1] = {
        [TSIG_HMAC_MD5] = "hmac-md5",
        [TSIG_HMAC_SHA1] = "hmac-sha1",
        [TSIG_HMAC_SHA224] = "hmac-sha224",
        [TSIG_HMAC_SHA256] = "hmac-sha256",
        [TSIG_HMAC_SHA384] = "hmac-sha384",
        [TSIG_HMAC_SHA512] = "hmac-sha512",
        [_TSIG_ALGORITHM_MAX] = NULL,
};

const char *tsig_algorithm_to_string(tsig_algorithm a) {
        if (a < 0 || a >= _TSIG_ALGORITHM_MAX)
                return NULL;
        return algorithm_table[a];
}

tsig_algorithm tsig_algorithm_from_string(const char *s) {
        if (!s)
                return _TSIG_ALGORITHM_INVALID;
        for (int i = 0; i < _TSIG_ALGORITHM_MAX; i++)
                if (strcasecmp(algorithm_table[i], s) == 0)
                        return (tsig_algorithm) i;
        return _TSIG_ALGORITHM_INVALID;
}

typedef enum token_type {
        TOKEN_EOF,
        TOKEN_WORD,
        TOKEN_STRING, /* start/len exclude the quotes */
        TOKEN_LBRACE,
        TOKEN_RBRACE,
        TOKEN_SEMICOLON,
} token_type;

typedef struct token {
        token_type type;
        const char *start;
        size_t len;
        unsigned line;
} token;

typedef struct parser {
        const char *p, *end;
        unsigned line;
        unsigned error_line;
        char *error;
} parser;

static int parser_fail(parser *ps, unsigned line, const char *format, ...) _printf_(3, 4);
static int parser_fail(parser *ps, unsigned line, const char *format, ...) {
        va_list ap;

        ps->error_line = line;
        va_start(ap, format);
        if (vasprintf(&ps->error, format, ap) < 0)
                ps->error = NULL;
        va_end(ap);
        return -EINVAL;
}

static bool is_word_char(char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
               c == '_' || c == '.';
}

/* Skips whitespace and comments; fails on a comment left open. */
static int skip_blank(parser *ps) {
        while (ps->p < ps->end) {
                char c = *ps->p;

                if (c == '\n') {
                        ps->line++;
                        ps->p++;
                } else if (c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v')
                        ps->p++;
                else if (c == '#' || (c == '/' && ps->p + 1 < ps->end && ps->p[1] == '/')) {
                        while (ps->p < ps->end && *ps->p != '\n')
                                ps->p++;
                } else if (c == '/' && ps->p + 1 < ps->end && ps->p[1] == '*') {
                        unsigned start = ps->line;

                        ps->p += 2;
                        for (;;) {
                                if (ps->p + 1 >= ps->end)
                                        return parser_fail(
                                                ps, start, "comment opened here is never closed with '*/'");
                                if (ps->p[0] == '*' && ps->p[1] == '/') {
                                        ps->p += 2;
                                        break;
                                }
                                if (*ps->p == '\n')
                                        ps->line++;
                                ps->p++;
                        }
                } else
                        break;
        }
        return 0;
}

static int next_token(parser *ps, token *ret) {
        int r;

        r = skip_blank(ps);
        if (r < 0)
                return r;

        *ret = (token){.type = TOKEN_EOF, .start = ps->p, .line = ps->line};
        if (ps->p >= ps->end)
                return 0;

        switch (*ps->p) {
        case '{':
                ret->type = TOKEN_LBRACE;
                ps->p++;
                return 0;
        case '}':
                ret->type = TOKEN_RBRACE;
                ps->p++;
                return 0;
        case ';':
                ret->type = TOKEN_SEMICOLON;
                ps->p++;
                return 0;
        case '"': {
                const char *q = ++ps->p;

                while (q < ps->end && *q != '"' && *q != '\n' && *q != '\0')
                        q++;
                if (q >= ps->end || *q != '"')
                        return parser_fail(ps, ret->line, "quoted string not closed on the same line");
                ret->type = TOKEN_STRING;
                ret->start = ps->p;
                ret->len = (size_t) (q - ps->p);
                ps->p = q + 1;
                return 0;
        }
        default:
                break;
        }

        if (!is_word_char(*ps->p))
                /* The character itself is not shown: it may be a piece of a misplaced secret. */
                return parser_fail(ps, ret->line,
                        "unexpected character (only key \"NAME\" { algorithm ...; secret \"...\"; }; and "
                        "comments are allowed)");
        ret->type = TOKEN_WORD;
        while (ps->p < ps->end && is_word_char(*ps->p))
                ps->p++;
        ret->len = (size_t) (ps->p - ret->start);
        return 0;
}

static bool token_is(const token *t, const char *word) {
        return t->type == TOKEN_WORD && strlen(word) == t->len && strncasecmp(t->start, word, t->len) == 0;
}

static int expect(parser *ps, token_type type, const char *what) {
        token t;
        int r;

        r = next_token(ps, &t);
        if (r < 0)
                return r;
        if (t.type != type)
                return parser_fail(ps, t.line, "expected %s", what);
        return 0;
}

static int base64_value(char c) {
        if (c >= 'A' && c <= 'Z')
                return c - 'A';
        if (c >= 'a' && c <= 'z')
                return c - 'a' + 26;
        if (c >= '0' && c <= '9')
                return c - '0' + 52;
        if (c == '+')
                return 62;
        if (c == '/')
                return 63;
        return -1;
}

/* Decodes standard base64 (blanks ignored, padding required) straight into the one buffer kept. */
static int base64_decode(const char *s, size_t len, uint8_t **ret, size_t *ret_size) {
        uint8_t *out;
        size_t n = 0, pad = 0, o = 0;
        uint32_t acc = 0;

        out = malloc(len / 4 * 3 + 3);
        if (!out)
                return -ENOMEM;

        for (size_t i = 0; i < len; i++) {
                char c = s[i];
                int v;

                if (c == ' ' || c == '\t')
                        continue;
                if (c == '=') {
                        pad++;
                        v = 0;
                } else {
                        v = base64_value(c);
                        if (v < 0 || pad > 0)
                                goto invalid;
                }
                acc = (acc << 6) | (uint32_t) v;
                if (++n % 4 == 0) {
                        if (pad > 2)
                                goto invalid;
                        out[o++] = (uint8_t) (acc >> 16);
                        if (pad < 2)
                                out[o++] = (uint8_t) (acc >> 8);
                        if (pad < 1)
                                out[o++] = (uint8_t) acc;
                        acc = 0;
                }
        }
        if (n % 4 != 0)
                goto invalid;

        acc = 0;
        *ret = out;
        *ret_size = o;
        return 0;

invalid:
        acc = 0;
        explicit_bzero(out, len / 4 * 3 + 3);
        free(out);
        return -EINVAL;
}

static int parse_key_block(parser *ps, unsigned key_line, tsig_key *k) {
        const char *const statements[] = {"algorithm", "secret", NULL};
        bool have_algorithm = false;
        token t, v;
        int r;

        for (;;) {
                r = next_token(ps, &t);
                if (r < 0)
                        return r;
                if (t.type == TOKEN_RBRACE)
                        break;
                if (t.type == TOKEN_EOF)
                        return parser_fail(ps, t.line,
                                "the key block opened on line %u is never closed with '};'", key_line);
                if (t.type != TOKEN_WORD)
                        return parser_fail(ps, t.line, "expected 'algorithm' or 'secret' in the key block");

                if (token_is(&t, "algorithm")) {
                        _cleanup_free_ char *name = NULL;

                        if (have_algorithm)
                                return parser_fail(ps, t.line, "'algorithm' is given twice");
                        r = next_token(ps, &v);
                        if (r < 0)
                                return r;
                        if (v.type != TOKEN_WORD && v.type != TOKEN_STRING)
                                return parser_fail(
                                        ps, v.line, "expected an algorithm name after 'algorithm'");
                        name = strndup(v.start, v.len);
                        if (!name)
                                return -ENOMEM;
                        k->algorithm = tsig_algorithm_from_string(name);
                        if (k->algorithm < 0) {
                                const char *guess = str_closest(name, algorithm_table);

                                return parser_fail(ps, v.line,
                                        "unknown algorithm%s%s%s (use hmac-sha256, or hmac-sha1, -sha224, "
                                        "-sha384, -sha512, -md5)",
                                        guess ? "; did you mean '" : "", guess ?: "", guess ? "'?" : "");
                        }
                        have_algorithm = true;
                        r = expect(ps, TOKEN_SEMICOLON, "';' after the algorithm");
                } else if (token_is(&t, "secret")) {
                        if (k->secret)
                                return parser_fail(ps, t.line, "'secret' is given twice");
                        r = next_token(ps, &v);
                        if (r < 0)
                                return r;
                        if (v.type != TOKEN_STRING)
                                return parser_fail(ps, v.line, "the secret must be a quoted base64 string");
                        r = base64_decode(v.start, v.len, &k->secret, &k->secret_size);
                        if (r == -EINVAL)
                                return parser_fail(ps, v.line, "the secret is not valid base64");
                        if (r < 0)
                                return r;
                        if (k->secret_size == 0)
                                return parser_fail(ps, v.line, "the secret is empty");
                        r = expect(ps, TOKEN_SEMICOLON, "';' after the secret");
                } else {
                        /* Unknown statements are not echoed: a misplaced secret could be one. Only
                         * short words can be typos; the copy is wiped. */
                        const char *guess = NULL;
                        char word[32];

                        if (t.len < sizeof(word)) {
                                memcpy(word, t.start, t.len);
                                word[t.len] = '\0';
                                guess = str_closest(word, statements);
                                explicit_bzero(word, sizeof(word));
                        }
                        if (guess)
                                return parser_fail(ps, t.line,
                                        "unknown statement in the key block; did you mean '%s'?", guess);
                        return parser_fail(ps, t.line,
                                "unknown statement in the key block (expected 'algorithm' or 'secret')");
                }
                if (r < 0)
                        return r;
        }

        if (!have_algorithm)
                return parser_fail(ps, t.line, "the key has no 'algorithm' (add: algorithm hmac-sha256;)");
        if (!k->secret)
                return parser_fail(ps, t.line, "the key has no 'secret'");
        return expect(ps, TOKEN_SEMICOLON, "';' after '}'");
}

int tsig_key_parse(
        const char *text, size_t size, tsig_key *ret, unsigned *ret_error_line, char **ret_error) {
        parser ps = {.p = text, .end = text + size, .line = 1};
        tsig_key k = {.algorithm = _TSIG_ALGORITHM_INVALID};
        bool have_key = false;
        token t;
        int r;

        for (;;) {
                r = next_token(&ps, &t);
                if (r < 0)
                        goto fail;
                if (t.type == TOKEN_EOF)
                        break;
                if (!token_is(&t, "key")) {
                        r = parser_fail(&ps, t.line,
                                "expected a key statement: key \"NAME\" { algorithm hmac-sha256; secret "
                                "\"BASE64\"; };");
                        goto fail;
                }
                if (have_key) {
                        r = parser_fail(&ps, t.line, "more than one key statement; keep one key per file");
                        goto fail;
                }
                have_key = true;

                token name;
                r = next_token(&ps, &name);
                if (r < 0)
                        goto fail;
                if (name.type != TOKEN_STRING && name.type != TOKEN_WORD) {
                        r = parser_fail(&ps, name.line, "expected the key name after 'key'");
                        goto fail;
                }
                k.name = strndup(name.start, name.len);
                if (!k.name) {
                        r = -ENOMEM;
                        goto fail;
                }
                if (!dns_name_is_valid(k.name)) {
                        r = parser_fail(&ps, name.line, "the key name is not a valid DNS name");
                        goto fail;
                }
                r = expect(&ps, TOKEN_LBRACE, "'{' after the key name");
                if (r < 0)
                        goto fail;
                r = parse_key_block(&ps, t.line, &k);
                if (r < 0)
                        goto fail;
        }

        if (!have_key) {
                r = parser_fail(&ps, t.line,
                        "no key statement: expected key \"NAME\" { algorithm hmac-sha256; secret "
                        "\"BASE64\"; };");
                goto fail;
        }

        *ret = k;
        return 0;

fail:
        tsig_key_done(&k);
        if (r == -EINVAL) {
                if (ret_error_line)
                        *ret_error_line = ps.error_line;
                if (ret_error)
                        *ret_error = TAKE_PTR(ps.error);
        }
        free(ps.error);
        return r;
}

void tsig_key_done(tsig_key *k) {
        if (!k)
                return;
        if (k->secret)
                explicit_bzero(k->secret, k->secret_size);
        free(k->secret);
        free(k->name);
        *k = (tsig_key){.algorithm = _TSIG_ALGORITHM_INVALID};
}
