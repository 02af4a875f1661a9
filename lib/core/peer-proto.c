#include <errno.h>
#include <limits.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <string.h>

#include "macro.h"
#include "peer-proto.h"

#define MAGIC      "MSPM"
#define MAGIC_SIZE 4
/* The JSON payload nests {"clusters":[{...}]}; the rest is room for fields of later versions. */
#define PAYLOAD_DEPTH 32

/* Offsets from the start of the frame (the length field). */
#define OFF_MAGIC    4
#define OFF_VERSION  (OFF_MAGIC + MAGIC_SIZE)
#define OFF_TYPE     (OFF_VERSION + 1)
#define OFF_NAME_LEN (OFF_TYPE + 1)
#define OFF_NAME     (OFF_NAME_LEN + 1)
/* After the name: three u64 and the payload length. */
#define FIXED_AFTER_NAME (3 * 8 + 4)

static void json_putp(json_object **o) {
        json_object_put(*o);
}
#define _cleanup_json_ _cleanup_(json_putp)

static const char *const type_table[_PEER_MSG_TYPE_MAX] = {
        [PEER_MSG_HELLO] = "hello",
        [PEER_MSG_OPINION] = "opinion",
        [PEER_MSG_VOTE_REQUEST] = "vote-request",
        [PEER_MSG_VOTE_REPLY] = "vote-reply",
        [PEER_MSG_CONFIG] = "config",
        [PEER_MSG_MAINTENANCE] = "maintenance",
};

static const char *const reject_table[_PEER_REJECT_MAX] = {
        [PEER_REJECT_TRUNCATED] = "truncated",
        [PEER_REJECT_OVERSIZED] = "oversized",
        [PEER_REJECT_BAD_MAGIC] = "bad-magic",
        [PEER_REJECT_BAD_VERSION] = "bad-version",
        [PEER_REJECT_UNKNOWN_TYPE] = "unknown-type",
        [PEER_REJECT_BAD_NAME] = "bad-name",
        [PEER_REJECT_BAD_MAC] = "bad-mac",
        [PEER_REJECT_BAD_PAYLOAD] = "bad-payload",
        [PEER_REJECT_REPLAYED] = "replayed",
        [PEER_REJECT_STALE_BOOT] = "stale-boot",
        [PEER_REJECT_UNKNOWN_SENDER] = "unknown-sender",
};

const char *peer_msg_type_to_string(peer_msg_type t) {
        if (t <= 0 || t >= _PEER_MSG_TYPE_MAX)
                return NULL;
        return type_table[t];
}

peer_msg_type peer_msg_type_from_string(const char *s) {
        if (!s)
                return _PEER_MSG_TYPE_INVALID;
        for (int i = 1; i < _PEER_MSG_TYPE_MAX; i++)
                if (streq(type_table[i], s))
                        return (peer_msg_type) i;
        return _PEER_MSG_TYPE_INVALID;
}

const char *peer_reject_to_string(peer_reject r) {
        if (r < 0 || r >= _PEER_REJECT_MAX)
                return NULL;
        return reject_table[r];
}

peer_reject peer_reject_from_string(const char *s) {
        if (!s)
                return _PEER_REJECT_INVALID;
        for (int i = 0; i < _PEER_REJECT_MAX; i++)
                if (streq(reject_table[i], s))
                        return (peer_reject) i;
        return _PEER_REJECT_INVALID;
}

static bool name_is_valid(const uint8_t *s, size_t len) {
        if (len < 1 || len > PEER_NAME_MAX)
                return false;
        for (size_t i = 0; i < len; i++)
                if (s[i] <= 0x20 || s[i] >= 0x7f)
                        return false;
        return true;
}

bool peer_name_is_valid(const char *s) {
        return s && name_is_valid((const uint8_t *) s, strnlen(s, PEER_NAME_MAX + 1));
}

/* Whether s[0..len) is UTF-8 without NUL, overlong forms, surrogates or code points past U+10FFFF. */
static bool utf8_is_valid(const uint8_t *s, size_t len) {
        size_t i = 0;

        while (i < len) {
                uint8_t c = s[i];
                uint32_t cp;
                size_t n;

                if (c == 0)
                        return false;
                if (c < 0x80) {
                        i++;
                        continue;
                }
                if (c >= 0xc2 && c <= 0xdf)
                        n = 1, cp = c & 0x1f;
                else if (c >= 0xe0 && c <= 0xef)
                        n = 2, cp = c & 0x0f;
                else if (c >= 0xf0 && c <= 0xf4)
                        n = 3, cp = c & 0x07;
                else
                        return false;
                if (len - i - 1 < n)
                        return false;
                for (size_t k = 1; k <= n; k++) {
                        if ((s[i + k] & 0xc0) != 0x80)
                                return false;
                        cp = (cp << 6) | (s[i + k] & 0x3f);
                }
                if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) || cp > 0x10ffff ||
                        (cp >= 0xd800 && cp <= 0xdfff))
                        return false;
                i += n + 1;
        }
        return true;
}

static void put_u32(uint8_t *p, uint32_t v) {
        for (int i = 3; i >= 0; i--, v >>= 8)
                p[i] = (uint8_t) v;
}

static void put_u64(uint8_t *p, uint64_t v) {
        for (int i = 7; i >= 0; i--, v >>= 8)
                p[i] = (uint8_t) v;
}

static uint32_t get_u32(const uint8_t *p) {
        return (uint32_t) p[0] << 24 | (uint32_t) p[1] << 16 | (uint32_t) p[2] << 8 | p[3];
}

static uint64_t get_u64(const uint8_t *p) {
        return (uint64_t) get_u32(p) << 32 | get_u32(p + 4);
}

/* HMAC-SHA256 of data under key into mac (PEER_MAC_SIZE bytes). */
static int mac_compute(const void *key, size_t key_len, const uint8_t *data, size_t len, uint8_t *mac) {
        unsigned mac_len = 0;

        if (key_len > INT_MAX)
                return -EINVAL;
        if (!HMAC(EVP_sha256(), key, (int) key_len, data, len, mac, &mac_len) || mac_len != PEER_MAC_SIZE)
                return -ENOMEM; /* OpenSSL fails only for want of memory (or a broken install) */
        return 0;
}

int peer_msg_encode(const peer_msg *m, const void *key, size_t key_len, uint8_t **ret, size_t *ret_len) {
        _cleanup_json_ json_object *empty = NULL;
        _cleanup_free_ uint8_t *buf = NULL;
        const char *payload;
        size_t name_len, payload_len, total, off;
        int r;

        if (!m || !key || key_len == 0 || !ret || !ret_len)
                return -EINVAL;
        if (m->type <= 0 || m->type >= _PEER_MSG_TYPE_MAX || !peer_name_is_valid(m->sender) || m->seq == 0)
                return -EINVAL;
        if (m->payload && !json_object_is_type(m->payload, json_type_object))
                return -EINVAL;

        if (!m->payload) {
                empty = json_object_new_object();
                if (!empty)
                        return -ENOMEM;
        }
        payload = json_object_to_json_string_length(
                m->payload ?: empty, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &payload_len);
        if (!payload)
                return -ENOMEM;
        /* json-c writes the bytes of a string as they are: a string holding invalid UTF-8 would be
         * refused by every receiver, so it is refused here. */
        if (!utf8_is_valid((const uint8_t *) payload, payload_len))
                return -EINVAL;

        name_len = strlen(m->sender);
        if (payload_len > PEER_MSG_MAX)
                return -EMSGSIZE;
        total = OFF_NAME + name_len + FIXED_AFTER_NAME + payload_len + PEER_MAC_SIZE;
        if (total - 4 > PEER_MSG_MAX)
                return -EMSGSIZE;
        buf = malloc(total);
        if (!buf)
                return -ENOMEM;

        put_u32(buf, (uint32_t) (total - 4));
        memcpy(buf + OFF_MAGIC, MAGIC, MAGIC_SIZE);
        buf[OFF_VERSION] = PEER_PROTO_VERSION;
        buf[OFF_TYPE] = (uint8_t) m->type;
        buf[OFF_NAME_LEN] = (uint8_t) name_len;
        memcpy(buf + OFF_NAME, m->sender, name_len);
        off = OFF_NAME + name_len;
        put_u64(buf + off, m->boot_time_usec);
        put_u64(buf + off + 8, m->boot_nonce);
        put_u64(buf + off + 16, m->seq);
        put_u32(buf + off + 24, (uint32_t) payload_len);
        memcpy(buf + off + FIXED_AFTER_NAME, payload, payload_len);

        r = mac_compute(key, key_len, buf, total - PEER_MAC_SIZE, buf + total - PEER_MAC_SIZE);
        if (r < 0)
                return r;

        *ret = TAKE_PTR(buf);
        *ret_len = total;
        return 0;
}

int peer_frame_length(const uint8_t *buf, size_t len, size_t *ret_frame_len) {
        uint32_t announced;

        if (!buf && len > 0)
                return -EINVAL;
        if (len < 4)
                return 0;
        announced = get_u32(buf);
        if (announced > PEER_MSG_MAX)
                return -EMSGSIZE;
        if (len < 4 + (size_t) announced)
                return 0;
        if (ret_frame_len)
                *ret_frame_len = 4 + (size_t) announced;
        return 1;
}

static int reject(peer_reject reason, peer_reject *ret_reason) {
        if (ret_reason)
                *ret_reason = reason;
        return -EBADMSG;
}

/* Parses the authenticated payload bytes: exactly one JSON object, UTF-8, no NUL byte, nothing but
 * whitespace around it. -EBADMSG when it is not one (json-c 0.16 does not tell a failed allocation
 * from bad JSON: that is -EBADMSG too), -ENOMEM. */
static int payload_parse(const uint8_t *p, size_t len, json_object **ret) {
        enum json_tokener_error e;
        json_tokener *tok;
        json_object *o;
        size_t end;

        if (len > INT_MAX || !utf8_is_valid(p, len)) /* also refuses NUL bytes */
                return -EBADMSG;
        tok = json_tokener_new_ex(PAYLOAD_DEPTH);
        if (!tok)
                return -ENOMEM;
        json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
        o = json_tokener_parse_ex(tok, (const char *) p, (int) len);
        e = json_tokener_get_error(tok);
        end = json_tokener_get_parse_end(tok);
        json_tokener_free(tok);

        if (e != json_tokener_success || !json_object_is_type(o, json_type_object)) {
                json_object_put(o);
                return -EBADMSG;
        }
        for (; end < len; end++)
                if (p[end] != ' ' && p[end] != '\t' && p[end] != '\r' && p[end] != '\n') {
                        json_object_put(o);
                        return -EBADMSG;
                }
        *ret = o;
        return 0;
}

int peer_msg_decode(const uint8_t *buf, size_t len, const void *key, size_t key_len, peer_msg *ret,
        peer_reject *ret_reason) {
        uint8_t mac[PEER_MAC_SIZE];
        json_object *payload = NULL;
        size_t name_len, off, payload_len, body_end;
        uint32_t announced;
        uint8_t type;
        int r;

        if ((!buf && len > 0) || !key || key_len == 0 || !ret)
                return -EINVAL;

        /* Before the MAC: only what is needed to find it and to tell a stranger or another version
         * from a forger. */
        if (len < 4)
                return reject(PEER_REJECT_TRUNCATED, ret_reason);
        announced = get_u32(buf);
        if (announced > PEER_MSG_MAX)
                return reject(PEER_REJECT_OVERSIZED, ret_reason);
        if (len < 4 + (size_t) announced)
                return reject(PEER_REJECT_TRUNCATED, ret_reason);
        if (len > 4 + (size_t) announced)
                return reject(PEER_REJECT_OVERSIZED, ret_reason);
        if (len < OFF_VERSION + 1)
                return reject(PEER_REJECT_TRUNCATED, ret_reason);
        if (memcmp(buf + OFF_MAGIC, MAGIC, MAGIC_SIZE) != 0)
                return reject(PEER_REJECT_BAD_MAGIC, ret_reason);
        if (buf[OFF_VERSION] != PEER_PROTO_VERSION)
                return reject(PEER_REJECT_BAD_VERSION, ret_reason);
        if (announced < PEER_MSG_MIN)
                return reject(PEER_REJECT_TRUNCATED, ret_reason);

        body_end = len - PEER_MAC_SIZE;
        r = mac_compute(key, key_len, buf, body_end, mac);
        if (r < 0)
                return r;
        if (CRYPTO_memcmp(mac, buf + body_end, PEER_MAC_SIZE) != 0)
                return reject(PEER_REJECT_BAD_MAC, ret_reason);

        /* Authenticated from here on: the sender built this frame, however wrongly. */
        type = buf[OFF_TYPE];
        if (type < 1 || type >= _PEER_MSG_TYPE_MAX)
                return reject(PEER_REJECT_UNKNOWN_TYPE, ret_reason);
        name_len = buf[OFF_NAME_LEN];
        if (OFF_NAME + name_len + FIXED_AFTER_NAME > body_end)
                return reject(PEER_REJECT_TRUNCATED, ret_reason);
        if (!name_is_valid(buf + OFF_NAME, name_len))
                return reject(PEER_REJECT_BAD_NAME, ret_reason);
        off = OFF_NAME + name_len;
        payload_len = get_u32(buf + off + 24);
        if (payload_len > body_end - off - FIXED_AFTER_NAME)
                return reject(PEER_REJECT_TRUNCATED, ret_reason);
        if (payload_len < body_end - off - FIXED_AFTER_NAME)
                return reject(PEER_REJECT_BAD_PAYLOAD, ret_reason);
        r = payload_parse(buf + off + FIXED_AFTER_NAME, payload_len, &payload);
        if (r == -EBADMSG)
                return reject(PEER_REJECT_BAD_PAYLOAD, ret_reason);
        if (r < 0)
                return r;

        *ret = (peer_msg){
                .type = (peer_msg_type) type,
                .boot_time_usec = get_u64(buf + off),
                .boot_nonce = get_u64(buf + off + 8),
                .seq = get_u64(buf + off + 16),
                .payload = payload,
        };
        memcpy(ret->sender, buf + OFF_NAME, name_len);
        ret->sender[name_len] = 0;
        return 0;
}

void peer_msg_done(peer_msg *m) {
        if (!m)
                return;
        json_object_put(m->payload);
        *m = (peer_msg){};
}

int peer_replay_check(peer_replay *r, const peer_msg *m, peer_reject *ret_reason) {
        bool newer;

        if (!r || !m)
                return -EINVAL;

        if (r->known && m->boot_time_usec == r->boot_time_usec && m->boot_nonce == r->boot_nonce) {
                if (m->seq <= r->last_seq)
                        return reject(PEER_REJECT_REPLAYED, ret_reason);
                r->last_seq = m->seq;
                return 0;
        }

        newer = !r->known || m->boot_time_usec > r->boot_time_usec ||
                (m->boot_time_usec == r->boot_time_usec && m->boot_nonce > r->boot_nonce);
        if (!newer)
                return reject(PEER_REJECT_STALE_BOOT, ret_reason);
        /* A boot starts at seq 1: 0 is what no sender sends, so never accept it. */
        if (m->seq == 0)
                return reject(PEER_REJECT_REPLAYED, ret_reason);
        *r = (peer_replay){
                .boot_time_usec = m->boot_time_usec,
                .boot_nonce = m->boot_nonce,
                .last_seq = m->seq,
                .known = true,
        };
        return 1;
}
