/* Unit tests for lib/core/peer-proto.c and lib/core/peer-payload.c: round trips of every message
 * type; every way a frame is rejected (each byte flipped, each truncation, oversized, wrong key,
 * hand-made frames with a valid MAC and a bad field); the replay rules; the payload schemas. Each
 * table row is one loop iteration. */
#include <check.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "macro.h"
#include "peer-payload.h"
#include "peer-proto.h"

static void json_putp(json_object **o) {
        json_object_put(*o);
}
#define _cleanup_json_ _cleanup_(json_putp)

static const char KEY[] = "0123456789abcdef0123456789abcdef";
#define KEY_LEN (sizeof(KEY) - 1)

#define OK (-1) /* an expected reject reason meaning "accepted" */

static json_object *parse_json(const char *s) {
        json_object *o = json_tokener_parse(s);

        ck_assert_msg(o, "bad test JSON: %s", s);
        return o;
}

/* A valid frame of type t with payload p (not taken), seq 7. */
static void encode_one(peer_msg_type t, json_object *p, uint8_t **ret, size_t *ret_len) {
        peer_msg m = {.type = t,
                .boot_time_usec = 1700000000000000ULL,
                .boot_nonce = 0xdeadbeef,
                .seq = 7,
                .payload = p};

        strcpy(m.sender, "az-a");
        ck_assert_int_eq(peer_msg_encode(&m, KEY, KEY_LEN, ret, ret_len), 0);
}

/* Recomputes the MAC of a frame after the test edited it, as a peer with the key would. */
static void resign(uint8_t *buf, size_t len) {
        unsigned n = 0;

        ck_assert(HMAC(
                EVP_sha256(), KEY, (int) KEY_LEN, buf, len - PEER_MAC_SIZE, buf + len - PEER_MAC_SIZE, &n));
        ck_assert_uint_eq(n, PEER_MAC_SIZE);
}

/* A hand-made frame with a valid MAC: fields as given, the length field computed. */
static size_t craft(uint8_t *buf, uint8_t version, uint8_t type, const char *name, size_t name_len,
        const char *payload, size_t payload_len, uint32_t payload_len_field) {
        size_t off = 0, total = 4 + 4 + 3 + name_len + 28 + payload_len + PEER_MAC_SIZE;
        uint32_t announced = (uint32_t) (total - 4);

        buf[off++] = announced >> 24, buf[off++] = announced >> 16, buf[off++] = announced >> 8;
        buf[off++] = announced;
        memcpy(buf + off, "MSPM", 4), off += 4;
        buf[off++] = version, buf[off++] = type, buf[off++] = (uint8_t) name_len;
        memcpy(buf + off, name, name_len), off += name_len;
        memset(buf + off, 0, 24), off += 24;
        buf[off - 1] = 1; /* seq 1 */
        buf[off++] = payload_len_field >> 24, buf[off++] = payload_len_field >> 16;
        buf[off++] = payload_len_field >> 8, buf[off++] = payload_len_field;
        memcpy(buf + off, payload, payload_len), off += payload_len;
        resign(buf, off + PEER_MAC_SIZE);
        return off + PEER_MAC_SIZE;
}

/* ---- names ---- */

START_TEST(test_names) {
        for (int i = 1; i < _PEER_MSG_TYPE_MAX; i++)
                ck_assert_int_eq(peer_msg_type_from_string(peer_msg_type_to_string(i)), i);
        for (int i = 0; i < _PEER_REJECT_MAX; i++)
                ck_assert_int_eq(peer_reject_from_string(peer_reject_to_string(i)), i);
        ck_assert_ptr_null(peer_msg_type_to_string(0));
        ck_assert_ptr_null(peer_msg_type_to_string(_PEER_MSG_TYPE_MAX));
        ck_assert_ptr_null(peer_reject_to_string(_PEER_REJECT_MAX));
        ck_assert_ptr_null(peer_reject_to_string(_PEER_REJECT_INVALID));
        ck_assert_int_eq(peer_msg_type_from_string("nope"), _PEER_MSG_TYPE_INVALID);
        ck_assert_int_eq(peer_msg_type_from_string(NULL), _PEER_MSG_TYPE_INVALID);
        ck_assert_int_eq(peer_reject_from_string("nope"), _PEER_REJECT_INVALID);
        ck_assert_str_eq(peer_reject_to_string(PEER_REJECT_TRUNCATED), "truncated");
        ck_assert_str_eq(peer_reject_to_string(PEER_REJECT_BAD_MAC), "bad-mac");
        ck_assert_str_eq(peer_reject_to_string(PEER_REJECT_UNKNOWN_SENDER), "unknown-sender");
        ck_assert_str_eq(peer_msg_type_to_string(PEER_MSG_VOTE_REQUEST), "vote-request");

        ck_assert(peer_name_is_valid("az-a"));
        ck_assert(peer_name_is_valid("x"));
        ck_assert(peer_name_is_valid("!~"));
        ck_assert(!peer_name_is_valid(""));
        ck_assert(!peer_name_is_valid(NULL));
        ck_assert(!peer_name_is_valid("a b"));
        ck_assert(!peer_name_is_valid("a\tb"));
        ck_assert(!peer_name_is_valid("z\xc3\xbcrich"));
        ck_assert(!peer_name_is_valid("a\x7f"));
        ck_assert(peer_name_is_valid(
                "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa")); /* 64 */
        ck_assert(!peer_name_is_valid(
                "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa")); /* 65 */
}
END_TEST

/* ---- round trips ---- */

/* Builds the payload of each type, sends it, and reads it back field by field. */
START_TEST(test_round_trip) {
        peer_opinion_cluster clusters[] = {
                {.name = "main",
                        .primary = "db-a",
                        .sdown = true,
                        .last_ok_ms_ago = 5200,
                        .evidence = 1,
                        .config_epoch = 3,
                        .pending = true,
                        .confirms = false,
                        .self_fenced = true,
                        .settled_epoch = 2},
                {.name = "other",
                        .primary = NULL,
                        .sdown = false,
                        .last_ok_ms_ago = PEER_MS_NEVER,
                        .evidence = 0,
                        .config_epoch = PEER_U64_MAX,
                        .pending = false,
                        .confirms = true},
        };
        _cleanup_json_ json_object *p = NULL;
        _cleanup_free_ uint8_t *buf = NULL;
        peer_msg m = {.type = _i,
                         .boot_time_usec = 1700000000123456ULL,
                         .boot_nonce = UINT64_MAX,
                         .seq = UINT64_MAX},
                 d;
        peer_reject why = _PEER_REJECT_INVALID;
        size_t len, frame_len = 0;

        switch (_i) {
        case PEER_MSG_HELLO:
                ck_assert_int_eq(peer_hello_build("eu-west-2a", 42, "0.1.0", &p), 0);
                break;
        case PEER_MSG_OPINION:
                ck_assert_int_eq(peer_opinion_build(7, 5, clusters, ELEMENTSOF(clusters), &p), 0);
                break;
        case PEER_MSG_VOTE_REQUEST:
                ck_assert_int_eq(peer_vote_request_build("main", 4, "db-a", PEER_VOTE_KIND_SWITCHOVER, &p), 0);
                break;
        case PEER_MSG_VOTE_REPLY:
                ck_assert_int_eq(peer_vote_reply_build("main", 4, false, "az-b", "already voted", &p), 0);
                break;
        case PEER_MSG_CONFIG:
                ck_assert_int_eq(peer_config_build("main", 4, "db-b", &p), 0);
                break;
        case PEER_MSG_MAINTENANCE:
                ck_assert_int_eq(peer_maintenance_build("main", 1700000600000000ULL, 1700000000000000ULL, &p), 0);
                break;
        }
        m.payload = p;
        strcpy(m.sender, "az-c");
        ck_assert_int_eq(peer_msg_encode(&m, KEY, KEY_LEN, &buf, &len), 0);
        ck_assert_int_eq(peer_frame_length(buf, len, &frame_len), 1);
        ck_assert_uint_eq(frame_len, len);
        ck_assert_int_eq(peer_msg_decode(buf, len, KEY, KEY_LEN, &d, &why), 0);
        ck_assert_int_eq(d.type, _i);
        ck_assert_str_eq(d.sender, "az-c");
        ck_assert_uint_eq(d.boot_time_usec, m.boot_time_usec);
        ck_assert_uint_eq(d.boot_nonce, m.boot_nonce);
        ck_assert_uint_eq(d.seq, m.seq);
        ck_assert(json_object_equal(d.payload, p));
        ck_assert_int_eq(peer_payload_check(d.type, d.payload), 0);
        /* No payload is valid as another type, but a VOTE_REQUEST has every member of a CONFIG. */
        for (int t = 1; t < _PEER_MSG_TYPE_MAX; t++) {
                bool same = t == _i || (t == PEER_MSG_CONFIG && _i == PEER_MSG_VOTE_REQUEST);
                ck_assert_int_eq(peer_payload_check(t, d.payload), same ? 0 : -EINVAL);
        }

        switch (_i) {
        case PEER_MSG_HELLO: {
                peer_hello h;
                ck_assert_int_eq(peer_hello_parse(d.payload, &h), 0);
                ck_assert_str_eq(h.zone, "eu-west-2a");
                ck_assert_uint_eq(h.epoch, 42);
                ck_assert_str_eq(h.version, "0.1.0");
                peer_hello_done(&h);
                ck_assert_ptr_null(h.zone);
                break;
        }
        case PEER_MSG_OPINION: {
                peer_opinion o;
                const peer_opinion_cluster *c;
                ck_assert_int_eq(peer_opinion_parse(d.payload, &o), 0);
                ck_assert_uint_eq(o.n_clusters, 2);
                c = peer_opinion_find(&o, "main");
                ck_assert_ptr_eq(c, &o.clusters[0]);
                ck_assert_str_eq(c->primary, "db-a");
                ck_assert(c->sdown);
                ck_assert_uint_eq(c->last_ok_ms_ago, 5200);
                ck_assert_uint_eq(c->evidence, 1);
                ck_assert_uint_eq(c->config_epoch, 3);
                ck_assert(c->pending && !c->confirms && c->self_fenced);
                ck_assert_uint_eq(c->settled_epoch, 2);
                ck_assert_uint_eq(o.ping, 7);
                ck_assert_uint_eq(o.pong, 5);
                c = peer_opinion_find(&o, "other");
                ck_assert_ptr_nonnull(c);
                ck_assert_ptr_null(c->primary);
                ck_assert(!c->sdown);
                ck_assert_uint_eq(c->last_ok_ms_ago, PEER_MS_NEVER);
                ck_assert_uint_eq(c->config_epoch, PEER_U64_MAX);
                ck_assert(!c->pending && c->confirms);
                ck_assert_ptr_null(peer_opinion_find(&o, "none"));
                peer_opinion_done(&o);
                ck_assert_uint_eq(o.n_clusters, 0);
                break;
        }
        case PEER_MSG_VOTE_REQUEST: {
                peer_vote_request v;
                ck_assert_int_eq(peer_vote_request_parse(d.payload, &v), 0);
                ck_assert_str_eq(v.cluster, "main");
                ck_assert_uint_eq(v.epoch, 4);
                ck_assert_str_eq(v.primary, "db-a");
                ck_assert_str_eq(v.kind, PEER_VOTE_KIND_SWITCHOVER);
                peer_vote_request_done(&v);
                break;
        }
        case PEER_MSG_VOTE_REPLY: {
                peer_vote_reply v;
                ck_assert_int_eq(peer_vote_reply_parse(d.payload, &v), 0);
                ck_assert_str_eq(v.cluster, "main");
                ck_assert_uint_eq(v.epoch, 4);
                ck_assert(!v.granted);
                ck_assert_str_eq(v.voted_for, "az-b");
                ck_assert_str_eq(v.reason, "already voted");
                peer_vote_reply_done(&v);
                break;
        }
        case PEER_MSG_CONFIG: {
                peer_config c;
                ck_assert_int_eq(peer_config_parse(d.payload, &c), 0);
                ck_assert_str_eq(c.cluster, "main");
                ck_assert_uint_eq(c.epoch, 4);
                ck_assert_str_eq(c.primary, "db-b");
                peer_config_done(&c);
                break;
        }
        case PEER_MSG_MAINTENANCE: {
                peer_maintenance mm;
                ck_assert_int_eq(peer_maintenance_parse(d.payload, &mm), 0);
                ck_assert_str_eq(mm.cluster, "main");
                ck_assert_uint_eq(mm.until_usec, 1700000600000000ULL);
                ck_assert_uint_eq(mm.set_usec, 1700000000000000ULL);
                peer_maintenance_done(&mm);
                break;
        }
        }
        peer_msg_done(&d);
        ck_assert_ptr_null(d.payload);
        peer_msg_done(NULL);
}
END_TEST

/* The exact bytes of a small frame: the layout is the protocol. */
START_TEST(test_layout) {
        static const uint8_t head[] = {
                0, 0, 0, 70,              /* 4+1+1+1 + 1 + 24 + 4 + 2 + 32 */
                'M', 'S', 'P', 'M', 1, 5, /* magic, version, CONFIG */
                1, 'x',                   /* name */
                0, 0, 0, 0, 0, 0, 0, 9,   /* boot_time_usec */
                1, 2, 3, 4, 5, 6, 7, 8,   /* boot_nonce */
                0, 0, 0, 0, 0, 0, 1, 0,   /* seq */
                0, 0, 0, 2, '{', '}',     /* payload */
        };
        peer_msg m = {.type = PEER_MSG_CONFIG,
                .sender = "x",
                .boot_time_usec = 9,
                .boot_nonce = 0x0102030405060708ULL,
                .seq = 256};
        _cleanup_free_ uint8_t *buf = NULL;
        uint8_t copy[sizeof(head) + PEER_MAC_SIZE];
        size_t len;

        ck_assert_int_eq(peer_msg_encode(&m, KEY, KEY_LEN, &buf, &len), 0); /* NULL payload: {} */
        ck_assert_uint_eq(len, sizeof(head) + PEER_MAC_SIZE);
        ck_assert_uint_eq(len - 4, PEER_MSG_MIN + 2);
        ck_assert_mem_eq(buf, head, sizeof(head));
        memcpy(copy, buf, len);
        resign(copy, len);
        ck_assert_mem_eq(copy, buf, len);
}
END_TEST

/* ---- rejections ---- */

/* Every byte of a valid frame flipped in three ways: always rejected, for the reason its field gives. */
START_TEST(test_flip_every_byte) {
        static const uint8_t masks[] = {0x01, 0x80, 0xff};
        _cleanup_json_ json_object *p = NULL;
        _cleanup_free_ uint8_t *buf = NULL;
        size_t len;

        ck_assert_int_eq(peer_vote_reply_build("main", 9, true, "az-a", "", &p), 0);
        encode_one(PEER_MSG_VOTE_REPLY, p, &buf, &len);
        for (size_t i = 0; i < len; i++)
                for (size_t k = 0; k < ELEMENTSOF(masks); k++) {
                        peer_msg d = {};
                        peer_reject why = _PEER_REJECT_INVALID;
                        int r;

                        buf[i] ^= masks[k];
                        r = peer_msg_decode(buf, len, KEY, KEY_LEN, &d, &why);
                        buf[i] ^= masks[k];
                        ck_assert_msg(r == -EBADMSG, "byte %zu ^ 0x%02x accepted", i, masks[k]);
                        ck_assert_ptr_null(d.payload);
                        if (i < 4) /* the length: longer than the buffer, or shorter */
                                ck_assert_msg(why == PEER_REJECT_TRUNCATED || why == PEER_REJECT_OVERSIZED,
                                        "byte %zu: %s", i, peer_reject_to_string(why));
                        else if (i < 8)
                                ck_assert_int_eq(why, PEER_REJECT_BAD_MAGIC);
                        else if (i == 8)
                                ck_assert_int_eq(why, PEER_REJECT_BAD_VERSION);
                        else
                                ck_assert_msg(why == PEER_REJECT_BAD_MAC, "byte %zu: %s", i,
                                        peer_reject_to_string(why));
                }
        /* Unharmed. */
        peer_msg d;
        ck_assert_int_eq(peer_msg_decode(buf, len, KEY, KEY_LEN, &d, NULL), 0);
        peer_msg_done(&d);
}
END_TEST

START_TEST(test_truncate_everywhere) {
        _cleanup_json_ json_object *p = NULL;
        _cleanup_free_ uint8_t *buf = NULL, *longer = NULL;
        size_t len, n = 0;

        ck_assert_int_eq(peer_hello_build("eu-west-2a", 1, "0.1.0", &p), 0);
        encode_one(PEER_MSG_HELLO, p, &buf, &len);
        for (size_t i = 0; i < len; i++) {
                peer_msg d = {};
                peer_reject why = _PEER_REJECT_INVALID;

                ck_assert_int_eq(peer_frame_length(buf, i, &n), 0);
                ck_assert_int_eq(peer_msg_decode(buf, i, KEY, KEY_LEN, &d, &why), -EBADMSG);
                ck_assert_int_eq(why, PEER_REJECT_TRUNCATED);
        }
        /* A stream holding this frame and the start of the next. */
        longer = malloc(len + 3);
        memcpy(longer, buf, len);
        memcpy(longer + len, buf, 3);
        ck_assert_int_eq(peer_frame_length(longer, len + 3, &n), 1);
        ck_assert_uint_eq(n, len);
        ck_assert_int_eq(peer_frame_length(longer + len, 3, &n), 0);
        /* More bytes than the frame: the caller split it wrongly. */
        peer_reject why;
        peer_msg d;
        ck_assert_int_eq(peer_msg_decode(longer, len + 3, KEY, KEY_LEN, &d, &why), -EBADMSG);
        ck_assert_int_eq(why, PEER_REJECT_OVERSIZED);
        ck_assert_int_eq(peer_frame_length(NULL, 0, &n), 0);
}
END_TEST

START_TEST(test_oversized) {
        static const uint8_t over[] = {0, 1, 0, 1, 'M', 'S', 'P', 'M', 1}; /* PEER_MSG_MAX + 1 */
        static const uint8_t huge[] = {0xff, 0xff, 0xff, 0xff};
        static const uint8_t max[] = {0, 1, 0, 0}; /* exactly PEER_MSG_MAX: wait for the rest */
        _cleanup_json_ json_object *p = json_object_new_object();
        _cleanup_free_ char *big = NULL;
        _cleanup_free_ uint8_t *buf = NULL;
        peer_msg m = {.type = PEER_MSG_HELLO, .sender = "az-a", .seq = 1}, d;
        peer_reject why;
        size_t len, n, room;

        ck_assert_int_eq(peer_frame_length(over, sizeof(over), &n), -EMSGSIZE);
        ck_assert_int_eq(peer_frame_length(over, 4, &n), -EMSGSIZE);
        ck_assert_int_eq(peer_frame_length(huge, 4, &n), -EMSGSIZE);
        ck_assert_int_eq(peer_frame_length(max, 4, &n), 0);
        ck_assert_int_eq(peer_msg_decode(over, sizeof(over), KEY, KEY_LEN, &d, &why), -EBADMSG);
        ck_assert_int_eq(why, PEER_REJECT_OVERSIZED);
        ck_assert_int_eq(peer_msg_decode(huge, 4, KEY, KEY_LEN, &d, &why), -EBADMSG);
        ck_assert_int_eq(why, PEER_REJECT_OVERSIZED);

        /* The largest payload that fits, and one byte more. {"x":"aaa..."} is 8 bytes plus the string. */
        room = PEER_MSG_MAX - (PEER_MSG_MIN - 1 + strlen("az-a")) - 8;
        big = malloc(room + 2);
        memset(big, 'a', room + 1);
        big[room] = 0;
        json_object_object_add(p, "x", json_object_new_string(big));
        m.payload = p;
        ck_assert_int_eq(peer_msg_encode(&m, KEY, KEY_LEN, &buf, &len), 0);
        ck_assert_uint_eq(len, 4 + PEER_MSG_MAX);
        ck_assert_int_eq(peer_frame_length(buf, len, &n), 1);
        ck_assert_int_eq(peer_msg_decode(buf, len, KEY, KEY_LEN, &d, &why), 0);
        peer_msg_done(&d);
        free(TAKE_PTR(buf));
        big[room] = 'a';
        big[room + 1] = 0;
        json_object_object_add(p, "x", json_object_new_string(big));
        ck_assert_int_eq(peer_msg_encode(&m, KEY, KEY_LEN, &buf, &len), -EMSGSIZE);
        ck_assert_ptr_null(buf);
}
END_TEST

START_TEST(test_wrong_key) {
        static const char other[] = "0123456789abcdef0123456789abcdeF";
        _cleanup_free_ uint8_t *buf = NULL;
        peer_reject why;
        peer_msg d;
        size_t len;

        encode_one(PEER_MSG_HELLO, NULL, &buf, &len);
        ck_assert_int_eq(peer_msg_decode(buf, len, other, KEY_LEN, &d, &why), -EBADMSG);
        ck_assert_int_eq(why, PEER_REJECT_BAD_MAC);
        ck_assert_int_eq(peer_msg_decode(buf, len, KEY, KEY_LEN - 1, &d, &why), -EBADMSG);
        ck_assert_int_eq(why, PEER_REJECT_BAD_MAC);
        ck_assert_int_eq(peer_msg_decode(buf, len, KEY, 0, &d, &why), -EINVAL);
        ck_assert_int_eq(peer_msg_decode(buf, len, KEY, KEY_LEN, &d, &why), 0);
        peer_msg_done(&d);
}
END_TEST

/* Frames made by hand and signed with the right key: what only a peer with the secret (a newer
 * version, or a bug) could send. */
static const struct {
        const char *what;
        uint8_t version, type;
        const char *name;
        int name_len; /* -1: strlen */
        const char *payload;
        int payload_len;      /* -1: strlen */
        int payload_len_diff; /* added to the payload length field */
        int want;             /* OK or the peer_reject */
} crafted[] = {
        {"valid", 1, 1, "az-a", -1, "{}", -1, 0, OK},
        {"whitespace around", 1, 1, "az-a", -1, " \r\n\t{ } \n", -1, 0, OK},
        {"unknown key, nested", 1, 2, "az-a", -1, "{\"x\":[[[{\"y\":null}]]]}", -1, 0, OK},
        {"version 2", 2, 1, "az-a", -1, "{}", -1, 0, PEER_REJECT_BAD_VERSION},
        {"version 0", 0, 1, "az-a", -1, "{}", -1, 0, PEER_REJECT_BAD_VERSION},
        {"version 255", 255, 1, "az-a", -1, "{}", -1, 0, PEER_REJECT_BAD_VERSION},
        {"type 0", 1, 0, "az-a", -1, "{}", -1, 0, PEER_REJECT_UNKNOWN_TYPE},
        {"type 7", 1, 7, "az-a", -1, "{}", -1, 0, PEER_REJECT_UNKNOWN_TYPE},
        {"type 255", 1, 255, "az-a", -1, "{}", -1, 0, PEER_REJECT_UNKNOWN_TYPE},
        {"empty name", 1, 1, "", -1, "{}", -1, 0, PEER_REJECT_BAD_NAME},
        {"name with space", 1, 1, "az a", -1, "{}", -1, 0, PEER_REJECT_BAD_NAME},
        {"name with NUL", 1, 1, "az\0a", 4, "{}", -1, 0, PEER_REJECT_BAD_NAME},
        {"name with newline", 1, 1, "az\n", -1, "{}", -1, 0, PEER_REJECT_BAD_NAME},
        {"name UTF-8", 1, 1, "z\xc3\xbcrich", -1, "{}", -1, 0, PEER_REJECT_BAD_NAME},
        {"name 64", 1, 1, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", -1, "{}", -1,
                0, OK},
        {"name 65", 1, 1, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", -1, "{}", -1,
                0, PEER_REJECT_BAD_NAME},
        {"name 200", 1, 1,
                "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
                "aaaaaaaaa"
                "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
                "aaaaaaaaa",
                -1, "{}", -1, 0, PEER_REJECT_BAD_NAME},
        {"payload length short", 1, 1, "az-a", -1, "{}", -1, -1, PEER_REJECT_BAD_PAYLOAD},
        {"payload length zero", 1, 1, "az-a", -1, "{}", -1, -2, PEER_REJECT_BAD_PAYLOAD},
        {"payload length long", 1, 1, "az-a", -1, "{}", -1, 1, PEER_REJECT_TRUNCATED},
        {"payload length huge", 1, 1, "az-a", -1, "{}", -1, 0x7ffffff0, PEER_REJECT_TRUNCATED},
        {"empty payload", 1, 1, "az-a", -1, "", -1, 0, PEER_REJECT_BAD_PAYLOAD},
        {"array", 1, 1, "az-a", -1, "[]", -1, 0, PEER_REJECT_BAD_PAYLOAD},
        {"string", 1, 1, "az-a", -1, "\"x\"", -1, 0, PEER_REJECT_BAD_PAYLOAD},
        {"null", 1, 1, "az-a", -1, "null", -1, 0, PEER_REJECT_BAD_PAYLOAD},
        {"not JSON", 1, 1, "az-a", -1, "hello", -1, 0, PEER_REJECT_BAD_PAYLOAD},
        {"unterminated", 1, 1, "az-a", -1, "{\"a\":1", -1, 0, PEER_REJECT_BAD_PAYLOAD},
        {"two objects", 1, 1, "az-a", -1, "{}{}", -1, 0, PEER_REJECT_BAD_PAYLOAD},
        {"trailing", 1, 1, "az-a", -1, "{}x", -1, 0, PEER_REJECT_BAD_PAYLOAD},
        {"NUL byte", 1, 1, "az-a", -1, "{}\0", 3, 0, PEER_REJECT_BAD_PAYLOAD},
        {"NUL in string", 1, 1, "az-a", -1, "{\"a\":\"x\0y\"}", 11, 0, PEER_REJECT_BAD_PAYLOAD},
        {"invalid UTF-8", 1, 1, "az-a", -1, "{\"a\":\"\xff\"}", -1, 0, PEER_REJECT_BAD_PAYLOAD},
        {"overlong UTF-8", 1, 1, "az-a", -1, "{\"a\":\"\xc0\xaf\"}", -1, 0, PEER_REJECT_BAD_PAYLOAD},
        {"surrogate UTF-8", 1, 1, "az-a", -1, "{\"a\":\"\xed\xa0\x80\"}", -1, 0, PEER_REJECT_BAD_PAYLOAD},
        {"valid UTF-8", 1, 1, "az-a", -1, "{\"a\":\"z\xc3\xbcrich \xf0\x9f\x98\x80\"}", -1, 0, OK},
        {"too deep", 1, 1, "az-a", -1,
                "{\"a\":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}",
                -1, 0, PEER_REJECT_BAD_PAYLOAD},
};

START_TEST(test_crafted) {
        uint8_t buf[1024];
        size_t name_len =
                crafted[_i].name_len < 0 ? strlen(crafted[_i].name) : (size_t) crafted[_i].name_len;
        size_t payload_len =
                crafted[_i].payload_len < 0 ? strlen(crafted[_i].payload) : (size_t) crafted[_i].payload_len;
        size_t len = craft(buf, crafted[_i].version, crafted[_i].type, crafted[_i].name, name_len,
                crafted[_i].payload, payload_len, (uint32_t) (payload_len + crafted[_i].payload_len_diff));
        peer_reject why = _PEER_REJECT_INVALID;
        peer_msg d = {};
        int r;

        r = peer_msg_decode(buf, len, KEY, KEY_LEN, &d, &why);
        if (crafted[_i].want == OK) {
                ck_assert_msg(r == 0, "%s: %s", crafted[_i].what, peer_reject_to_string(why));
                ck_assert_int_eq(d.type, crafted[_i].type);
                ck_assert_str_eq(d.sender, crafted[_i].name);
                ck_assert_uint_eq(d.seq, 1);
                ck_assert(json_object_is_type(d.payload, json_type_object));
                peer_msg_done(&d);
        } else {
                ck_assert_int_eq(r, -EBADMSG);
                ck_assert_msg(why == (peer_reject) crafted[_i].want, "%s: %s", crafted[_i].what,
                        peer_reject_to_string(why));
                ck_assert_ptr_null(d.payload);
        }
}
END_TEST

/* Short frames with a valid MAC and bad magic or inner lengths. */
START_TEST(test_crafted_framing) {
        uint8_t buf[256];
        size_t len = craft(buf, 1, 1, "az-a", 4, "{}", 2, 2);
        peer_reject why;
        peer_msg d;

        /* The name length pointing past the end of the header. */
        buf[10] = 60;
        resign(buf, len);
        ck_assert_int_eq(peer_msg_decode(buf, len, KEY, KEY_LEN, &d, &why), -EBADMSG);
        ck_assert_int_eq(why, PEER_REJECT_TRUNCATED);
        buf[10] = 4;
        memcpy(buf + 4, "MSPN", 4);
        resign(buf, len);
        ck_assert_int_eq(peer_msg_decode(buf, len, KEY, KEY_LEN, &d, &why), -EBADMSG);
        ck_assert_int_eq(why, PEER_REJECT_BAD_MAGIC);

        /* Announcing fewer bytes than the smallest frame, each length from 0. */
        for (uint32_t n = 0; n < PEER_MSG_MIN; n++) {
                memset(buf, 0, sizeof(buf));
                buf[3] = (uint8_t) n;
                memcpy(buf + 4, "MSPM\1\1\1a", 8);
                ck_assert_int_eq(peer_msg_decode(buf, 4 + n, KEY, KEY_LEN, &d, &why), -EBADMSG);
                ck_assert_msg(why == PEER_REJECT_TRUNCATED, "%u: %s", n, peer_reject_to_string(why));
        }
}
END_TEST

static const struct {
        const char *what;
        peer_msg_type type;
        const char *sender;
        uint64_t seq;
        const char *payload; /* NULL: none */
        int want;
} bad_encodes[] = {
        {"type 0", 0, "az-a", 1, NULL, -EINVAL},
        {"type 7", 7, "az-a", 1, NULL, -EINVAL},
        {"empty sender", PEER_MSG_HELLO, "", 1, NULL, -EINVAL},
        {"sender with space", PEER_MSG_HELLO, "a b", 1, NULL, -EINVAL},
        {"seq 0", PEER_MSG_HELLO, "az-a", 0, NULL, -EINVAL},
        {"array payload", PEER_MSG_HELLO, "az-a", 1, "[]", -EINVAL},
        {"invalid UTF-8", PEER_MSG_HELLO, "az-a", 1, "{\"a\":\"\xff\"}", -EINVAL},
        {"NUL in a string", PEER_MSG_HELLO, "az-a", 1, "{\"a\":\"\\u0000\"}", 0}, /* sent as \u0000 */
        {"valid", PEER_MSG_HELLO, "az-a", 1, "{\"a\":[1,2]}", 0},
};

START_TEST(test_encode_invalid) {
        _cleanup_json_ json_object *p = bad_encodes[_i].payload ? parse_json(bad_encodes[_i].payload) : NULL;
        _cleanup_free_ uint8_t *buf = NULL;
        peer_msg m = {.type = bad_encodes[_i].type, .seq = bad_encodes[_i].seq, .payload = p};
        size_t len;

        strcpy(m.sender, bad_encodes[_i].sender);
        ck_assert_msg(peer_msg_encode(&m, KEY, KEY_LEN, &buf, &len) == bad_encodes[_i].want, "%s",
                bad_encodes[_i].what);
        if (bad_encodes[_i].want == 0) {
                peer_msg d;
                ck_assert_int_eq(peer_msg_decode(buf, len, KEY, KEY_LEN, &d, NULL), 0);
                ck_assert(json_object_equal(d.payload, p));
                peer_msg_done(&d);
        } else
                ck_assert_ptr_null(buf);
        ck_assert_int_eq(peer_msg_encode(&m, KEY, 0, &buf, &len), -EINVAL);
}
END_TEST

/* ---- replay ---- */

typedef struct replay_step {
        uint64_t time, nonce, seq;
        int want; /* 1 new boot, 0 same boot, or -(1 + peer_reject) */
} replay_step;

#define NEW      1
#define SAME     0
#define REPLAYED (-1 - PEER_REJECT_REPLAYED)
#define STALE    (-1 - PEER_REJECT_STALE_BOOT)

static const struct {
        const char *what;
        replay_step steps[8];
} replays[] = {
        {"in order, with gaps",
                {{100, 5, 1, NEW}, {100, 5, 2, SAME}, {100, 5, 10, SAME}, {100, 5, 11, SAME}}},
        {"first message need not be seq 1", {{100, 5, 40, NEW}, {100, 5, 41, SAME}}},
        {"duplicate", {{100, 5, 1, NEW}, {100, 5, 2, SAME}, {100, 5, 2, REPLAYED}, {100, 5, 3, SAME}}},
        {"reordered old", {{100, 5, 1, NEW}, {100, 5, 3, SAME}, {100, 5, 2, REPLAYED}, {100, 5, 1, REPLAYED},
                                  {100, 5, 4, SAME}}},
        {"seq 0 never", {{100, 5, 0, REPLAYED}, {100, 5, 1, NEW}, {200, 1, 0, REPLAYED}, {100, 5, 2, SAME}}},
        {"newer boot resets seq",
                {{100, 5, 50, NEW}, {200, 1, 1, NEW}, {200, 1, 2, SAME}, {100, 5, 51, STALE}}},
        {"older boot", {{200, 1, 1, NEW}, {100, 5, 99, STALE}, {199, 0xffff, 1, STALE}, {200, 1, 2, SAME}}},
        {"same time, higher nonce is newer",
                {{100, 5, 1, NEW}, {100, 6, 1, NEW}, {100, 5, 2, STALE}, {100, 6, 2, SAME}}},
        {"same time, lower nonce is stale", {{100, 6, 1, NEW}, {100, 5, 1, STALE}, {100, 6, 2, SAME}}},
        {"superseded stays stale",
                {{100, 5, 1, NEW}, {300, 1, 1, NEW}, {200, 1, 1, STALE}, {100, 5, 9, STALE}}},
        {"extremes", {{0, 0, 1, NEW}, {0, 0, UINT64_MAX, SAME}, {0, 0, UINT64_MAX, REPLAYED},
                             {UINT64_MAX, UINT64_MAX, 1, NEW}, {UINT64_MAX, 0, 5, STALE}}},
};

START_TEST(test_replay) {
        peer_replay r = {};

        for (const replay_step *s = replays[_i].steps; s->seq || s->want; s++) {
                peer_msg m = {.type = PEER_MSG_HELLO,
                        .sender = "az-b",
                        .boot_time_usec = s->time,
                        .boot_nonce = s->nonce,
                        .seq = s->seq};
                peer_replay before = r;
                peer_reject why = _PEER_REJECT_INVALID;
                int got = peer_replay_check(&r, &m, &why);

                if (got == -EBADMSG) {
                        got = -1 - (int) why;
                        ck_assert(r.known == before.known && r.last_seq == before.last_seq &&
                                  r.boot_time_usec == before.boot_time_usec &&
                                  r.boot_nonce == before.boot_nonce);
                } else {
                        ck_assert(r.known);
                        ck_assert_uint_eq(r.last_seq, s->seq);
                        ck_assert_uint_eq(r.boot_time_usec, s->time);
                        ck_assert_uint_eq(r.boot_nonce, s->nonce);
                }
                ck_assert_msg(got == s->want, "%s: step %td: got %d want %d", replays[_i].what,
                        s - replays[_i].steps, got, s->want);
        }
        ck_assert_int_eq(peer_replay_check(NULL, NULL, NULL), -EINVAL);
}
END_TEST

/* ---- payloads ---- */

#define OPINION_ENTRY                                                                                       \
        "{\"name\":\"main\",\"primary\":\"db-a\",\"sdown\":true,\"last_ok_ms_ago\":10,\"evidence\":0,"      \
        "\"config_epoch\":1,\"pending\":false,\"confirms\":true,\"self_fenced\":false}"

static const struct {
        peer_msg_type type;
        const char *json;
        int want;
} payloads[] = {
        {PEER_MSG_HELLO, "{\"zone\":\"a\",\"epoch\":0,\"version\":\"1\"}", 0},
        {PEER_MSG_HELLO, "{\"zone\":\"a\",\"epoch\":0,\"version\":\"1\",\"future\":{\"x\":[1]}}", 0},
        {PEER_MSG_HELLO, "{\"zone\":\"a\",\"epoch\":18446744073709551614,\"version\":\"1\"}", 0},
        {PEER_MSG_HELLO, "{\"zone\":\"a\",\"epoch\":18446744073709551615,\"version\":\"1\"}", -EINVAL},
        {PEER_MSG_HELLO, "{\"zone\":\"a\",\"epoch\":99999999999999999999999,\"version\":\"1\"}", -EINVAL},
        {PEER_MSG_HELLO, "{\"zone\":\"a\",\"epoch\":-1,\"version\":\"1\"}", -EINVAL},
        {PEER_MSG_HELLO, "{\"zone\":\"a\",\"epoch\":1.0,\"version\":\"1\"}", -EINVAL},
        {PEER_MSG_HELLO, "{\"zone\":\"a\",\"epoch\":\"1\",\"version\":\"1\"}", -EINVAL},
        {PEER_MSG_HELLO, "{\"zone\":\"a\",\"epoch\":true,\"version\":\"1\"}", -EINVAL},
        {PEER_MSG_HELLO, "{\"zone\":\"a\",\"epoch\":null,\"version\":\"1\"}", -EINVAL},
        {PEER_MSG_HELLO, "{\"zone\":\"a\",\"version\":\"1\"}", -EINVAL},
        {PEER_MSG_HELLO, "{\"zone\":\"\",\"epoch\":0,\"version\":\"1\"}", -EINVAL},
        {PEER_MSG_HELLO, "{\"zone\":\"a\\u0000b\",\"epoch\":0,\"version\":\"1\"}", -EINVAL},
        {PEER_MSG_HELLO, "{\"zone\":\"a\\nb\",\"epoch\":0,\"version\":\"1\"}", -EINVAL},
        {PEER_MSG_HELLO, "{\"zone\":1,\"epoch\":0,\"version\":\"1\"}", -EINVAL},
        {PEER_MSG_HELLO, "{\"zone\":null,\"epoch\":0,\"version\":\"1\"}", -EINVAL},
        {PEER_MSG_HELLO, "{\"zone\":\"a\",\"epoch\":0}", -EINVAL},
        {PEER_MSG_HELLO, "[]", -EINVAL},

        {PEER_MSG_OPINION, "{\"ping\":1,\"pong\":null,\"clusters\":[]}", 0},
        {PEER_MSG_OPINION, "{\"ping\":1,\"pong\":null,\"clusters\":[" OPINION_ENTRY "]}", 0},
        {PEER_MSG_OPINION,
                "{\"ping\":1,\"pong\":null,\"clusters\":[{\"name\":\"m\",\"primary\":null,\"sdown\":false,\"last_ok_ms_ago\":null,"
                "\"evidence\":3,\"config_epoch\":0,\"pending\":false,\"confirms\":false,\"self_fenced\":false,\"new\":1}]}",
                0},
        {PEER_MSG_OPINION, "{\"ping\":1,\"pong\":null,\"clusters\":[" OPINION_ENTRY "," OPINION_ENTRY "]}", -EINVAL}, /* duplicate */
        {PEER_MSG_OPINION, "{\"ping\":1,\"pong\":null,\"clusters\":[" OPINION_ENTRY ",1]}", -EINVAL},
        {PEER_MSG_OPINION, "{\"ping\":1,\"pong\":null,\"clusters\":[" OPINION_ENTRY ",null]}", -EINVAL},
        {PEER_MSG_OPINION, "{\"ping\":1,\"pong\":null,\"clusters\":{}}", -EINVAL},
        {PEER_MSG_OPINION, "{\"ping\":1,\"pong\":null,\"clusters\":null}", -EINVAL},
        {PEER_MSG_OPINION, "{}", -EINVAL},
        {PEER_MSG_OPINION, "{\"pong\":3,\"clusters\":[]}", -EINVAL}, /* ping missing */
        {PEER_MSG_OPINION, "{\"ping\":1,\"clusters\":[]}", -EINVAL},  /* pong missing: null must be said */
        {PEER_MSG_OPINION, "{\"ping\":null,\"pong\":null,\"clusters\":[]}", -EINVAL},
        {PEER_MSG_OPINION, "{\"ping\":1,\"pong\":2,\"clusters\":[]}", 0},
        /* settled_epoch is optional (an older sender leaves it out), but typed when given */
        {PEER_MSG_OPINION,
                "{\"ping\":1,\"pong\":null,\"clusters\":[{\"name\":\"m\",\"primary\":null,\"sdown\":false,\"last_ok_ms_ago\":null,"
                "\"evidence\":3,\"config_epoch\":0,\"pending\":false,\"confirms\":false,\"self_fenced\":false,\"settled_epoch\":7}]}",
                0},
        {PEER_MSG_OPINION,
                "{\"ping\":1,\"pong\":null,\"clusters\":[{\"name\":\"m\",\"primary\":null,\"sdown\":false,\"last_ok_ms_ago\":null,"
                "\"evidence\":3,\"config_epoch\":0,\"pending\":false,\"confirms\":false,\"self_fenced\":false,\"settled_epoch\":null}]}",
                -EINVAL},
        {PEER_MSG_OPINION,
                "{\"ping\":1,\"pong\":null,\"clusters\":[{\"name\":\"m\",\"primary\":null,\"sdown\":false,\"last_ok_ms_ago\":null,"
                "\"evidence\":3,\"config_epoch\":0,\"pending\":false,\"confirms\":false,\"self_fenced\":false,\"settled_epoch\":\"7\"}]}",
                -EINVAL},
        {PEER_MSG_OPINION,
                "{\"ping\":1,\"pong\":2,\"clusters\":[{\"name\":\"m\",\"primary\":null,\"sdown\":false,"
                "\"last_ok_ms_ago\":null,\"evidence\":3,\"config_epoch\":0,\"pending\":false}]}",
                -EINVAL}, /* confirms missing */
        {PEER_MSG_OPINION,
                "{\"ping\":1,\"pong\":null,\"clusters\":[{\"name\":\"m\",\"primary\":null,\"sdown\":1,\"last_ok_ms_ago\":null,"
                "\"evidence\":3,\"config_epoch\":0,\"pending\":false,\"confirms\":false,\"self_fenced\":false}]}",
                -EINVAL},
        {PEER_MSG_OPINION,
                "{\"ping\":1,\"pong\":null,\"clusters\":[{\"name\":\"m\",\"sdown\":false,\"last_ok_ms_ago\":null,"
                "\"evidence\":3,\"config_epoch\":0,\"pending\":false,\"confirms\":false,\"self_fenced\":false}]}",
                -EINVAL}, /* primary missing: null must be said */
        {PEER_MSG_OPINION,
                "{\"ping\":1,\"pong\":null,\"clusters\":[{\"name\":\"m\",\"primary\":null,\"sdown\":false,"
                "\"evidence\":3,\"config_epoch\":0,\"pending\":false,\"confirms\":false,\"self_fenced\":false}]}",
                -EINVAL},
        {PEER_MSG_OPINION,
                "{\"ping\":1,\"pong\":null,\"clusters\":[{\"name\":\"m\",\"primary\":null,\"sdown\":false,\"last_ok_ms_ago\":null,"
                "\"evidence\":null,\"config_epoch\":0,\"pending\":false,\"confirms\":false,\"self_fenced\":false}]}",
                -EINVAL},
        {PEER_MSG_OPINION,
                "{\"ping\":1,\"pong\":null,\"clusters\":[{\"name\":\"m\",\"primary\":null,\"sdown\":false,\"last_ok_ms_ago\":-5,"
                "\"evidence\":0,\"config_epoch\":0,\"pending\":false,\"confirms\":false,\"self_fenced\":false}]}",
                -EINVAL},

        {PEER_MSG_VOTE_REQUEST, "{\"cluster\":\"main\",\"epoch\":5,\"primary\":\"db-a\",\"kind\":\"failover\"}", 0},
        {PEER_MSG_VOTE_REQUEST, "{\"cluster\":\"main\",\"epoch\":5,\"primary\":\"db-a\",\"kind\":\"forced\"}", 0},
        {PEER_MSG_VOTE_REQUEST, "{\"cluster\":\"main\",\"epoch\":5,\"primary\":\"db-a\"}", -EINVAL},
        {PEER_MSG_VOTE_REQUEST, "{\"cluster\":\"main\",\"epoch\":5,\"primary\":\"db-a\",\"kind\":\"other\"}", -EINVAL},
        {PEER_MSG_VOTE_REQUEST, "{\"cluster\":\"main\",\"epoch\":5,\"primary\":null}", -EINVAL},
        {PEER_MSG_VOTE_REQUEST, "{\"cluster\":\"main\",\"epoch\":5}", -EINVAL},
        {PEER_MSG_VOTE_REQUEST, "{\"epoch\":5,\"primary\":\"db-a\"}", -EINVAL},

        {PEER_MSG_VOTE_REPLY,
                "{\"cluster\":\"m\",\"epoch\":5,\"granted\":true,\"voted_for\":\"az-a\",\"reason\":\"\"}",
                0},
        {PEER_MSG_VOTE_REPLY,
                "{\"cluster\":\"m\",\"epoch\":5,\"granted\":false,\"voted_for\":null,\"reason\":\"no "
                "ODOWN\"}",
                0},
        {PEER_MSG_VOTE_REPLY,
                "{\"cluster\":\"m\",\"epoch\":5,\"granted\":false,\"voted_for\":\"a b\",\"reason\":\"\"}",
                -EINVAL},
        {PEER_MSG_VOTE_REPLY,
                "{\"cluster\":\"m\",\"epoch\":5,\"granted\":\"yes\",\"voted_for\":null,\"reason\":\"\"}",
                -EINVAL},
        {PEER_MSG_VOTE_REPLY, "{\"cluster\":\"m\",\"epoch\":5,\"granted\":true,\"voted_for\":null}",
                -EINVAL},
        {PEER_MSG_VOTE_REPLY, "{\"cluster\":\"m\",\"epoch\":5,\"granted\":true,\"reason\":\"\"}", -EINVAL},
        {PEER_MSG_VOTE_REPLY,
                "{\"cluster\":\"m\",\"epoch\":5,\"granted\":true,\"voted_for\":null,\"reason\":null}",
                -EINVAL},

        {PEER_MSG_CONFIG, "{\"cluster\":\"main\",\"epoch\":7,\"primary\":\"db-b\"}", 0},
        {PEER_MSG_CONFIG, "{\"cluster\":\"main\",\"epoch\":7,\"primary\":\"\"}", -EINVAL},
        {PEER_MSG_CONFIG, "{\"cluster\":\"main\",\"epoch\":[7],\"primary\":\"db-b\"}", -EINVAL},
        {PEER_MSG_CONFIG, "{\"cluster\":[\"main\"],\"epoch\":7,\"primary\":\"db-b\"}", -EINVAL},

        {PEER_MSG_MAINTENANCE, "{\"cluster\":\"main\",\"until_usec\":0,\"set_usec\":5}", 0},
        {PEER_MSG_MAINTENANCE, "{\"cluster\":\"main\",\"until_usec\":0}", -EINVAL},
        {PEER_MSG_MAINTENANCE, "{\"cluster\":\"main\",\"until_usec\":1700000000000000,\"set_usec\":1}", 0},
        {PEER_MSG_MAINTENANCE, "{\"cluster\":\"main\",\"until_usec\":null}", -EINVAL},
        {PEER_MSG_MAINTENANCE, "{\"cluster\":\"main\"}", -EINVAL},
        {PEER_MSG_MAINTENANCE, "{\"until_usec\":0}", -EINVAL},

        {0, "{}", -EINVAL},
        {_PEER_MSG_TYPE_MAX, "{}", -EINVAL},
};

START_TEST(test_payload_table) {
        _cleanup_json_ json_object *p = parse_json(payloads[_i].json);
        int r = peer_payload_check(payloads[_i].type, p);

        ck_assert_msg(r == payloads[_i].want, "%s: got %d", payloads[_i].json, r);
}
END_TEST

/* Strings at and past their limits, and a parse that fails late leaves nothing behind. */
START_TEST(test_payload_strings) {
        char s255[256], s256[257];
        json_object *p = NULL;
        peer_vote_reply v = {.cluster = (char *) "untouched"};

        memset(s255, 'x', 255), s255[255] = 0;
        memset(s256, 'x', 256), s256[256] = 0;
        ck_assert_int_eq(peer_config_build(s255, 1, s255, &p), 0);
        ck_assert_int_eq(peer_payload_check(PEER_MSG_CONFIG, p), 0);
        json_object_put(p), p = NULL;
        ck_assert_int_eq(peer_config_build(s256, 1, "db", &p), -EINVAL);
        ck_assert_int_eq(peer_config_build("m", 1, s256, &p), -EINVAL);
        ck_assert_ptr_null(p);

        p = parse_json(
                "{\"cluster\":\"m\",\"epoch\":5,\"granted\":true,\"voted_for\":\"az-a\",\"reason\":1}");
        ck_assert_int_eq(peer_vote_reply_parse(p, &v), -EINVAL); /* cluster and voted_for freed (ASan) */
        ck_assert_str_eq(v.cluster, "untouched");
        json_object_put(p);
}
END_TEST

START_TEST(test_build_invalid) {
        peer_opinion_cluster dup[] = {
                {.name = "a", .config_epoch = 1, .last_ok_ms_ago = 1},
                {.name = "a", .config_epoch = 2, .last_ok_ms_ago = 1},
        };
        peer_opinion_cluster bad[] = {
                {.name = "a", .evidence = PEER_MS_NEVER},
                {.name = NULL},
                {.name = "a\tb"},
                {.name = "a", .primary = ""},
        };
        json_object *p = NULL;

        ck_assert_int_eq(peer_hello_build(NULL, 1, "v", &p), -EINVAL);
        ck_assert_int_eq(peer_hello_build("z", 1, "", &p), -EINVAL);
        ck_assert_int_eq(peer_hello_build("z", UINT64_MAX, "v", &p), -EINVAL);
        ck_assert_int_eq(peer_hello_build("z", 1, "v", NULL), -EINVAL);
        ck_assert_int_eq(peer_opinion_build(1, PEER_MS_NEVER, dup, 2, &p), -EINVAL);
        for (size_t i = 0; i < ELEMENTSOF(bad); i++)
                ck_assert_int_eq(peer_opinion_build(1, PEER_MS_NEVER, &bad[i], 1, &p), -EINVAL);
        ck_assert_int_eq(peer_opinion_build(1, PEER_MS_NEVER, NULL, 1, &p), -EINVAL);
        ck_assert_int_eq(peer_opinion_build(PEER_MS_NEVER, 1, NULL, 0, &p), -EINVAL); /* ping not null */
        ck_assert_int_eq(peer_vote_request_build("m", 1, NULL, PEER_VOTE_KIND_FAILOVER, &p), -EINVAL);
        ck_assert_int_eq(peer_vote_request_build("m", 1, "db", "promote-anyway", &p), -EINVAL);
        ck_assert_int_eq(peer_vote_request_build("m", 1, "db", NULL, &p), -EINVAL);
        ck_assert_int_eq(peer_vote_reply_build("m", 1, true, "not a name", "", &p), -EINVAL);
        ck_assert_int_eq(peer_vote_reply_build("m", 1, true, "az-a", "line\nbreak", &p), -EINVAL);
        ck_assert_int_eq(peer_config_build("m", UINT64_MAX, "db", &p), -EINVAL);
        ck_assert_int_eq(peer_maintenance_build("", 0, 0, &p), -EINVAL);
        ck_assert_ptr_null(p);

        /* The empty opinion, and a NULL reason sent as "". */
        ck_assert_int_eq(peer_opinion_build(0, PEER_MS_NEVER, NULL, 0, &p), 0);
        ck_assert_str_eq(json_object_to_json_string_ext(p, JSON_C_TO_STRING_PLAIN),
                "{\"ping\":0,\"pong\":null,\"clusters\":[]}");
        json_object_put(p);
        ck_assert_int_eq(peer_vote_reply_build("m", 1, false, NULL, NULL, &p), 0);
        ck_assert_str_eq(json_object_to_json_string_ext(p, JSON_C_TO_STRING_PLAIN),
                "{\"cluster\":\"m\",\"epoch\":1,\"granted\":false,\"voted_for\":null,\"reason\":\"\"}");
        json_object_put(p);
}
END_TEST

static Suite *peer_proto_suite(void) {
        Suite *s = suite_create("peer-proto");
        TCase *tc = tcase_create("peer-proto");

        tcase_add_test(tc, test_names);
        tcase_add_loop_test(tc, test_round_trip, 1, _PEER_MSG_TYPE_MAX);
        tcase_add_test(tc, test_layout);
        tcase_add_test(tc, test_flip_every_byte);
        tcase_add_test(tc, test_truncate_everywhere);
        tcase_add_test(tc, test_oversized);
        tcase_add_test(tc, test_wrong_key);
        tcase_add_loop_test(tc, test_crafted, 0, ELEMENTSOF(crafted));
        tcase_add_test(tc, test_crafted_framing);
        tcase_add_loop_test(tc, test_encode_invalid, 0, ELEMENTSOF(bad_encodes));
        tcase_add_loop_test(tc, test_replay, 0, ELEMENTSOF(replays));
        tcase_add_loop_test(tc, test_payload_table, 0, ELEMENTSOF(payloads));
        tcase_add_test(tc, test_payload_strings);
        tcase_add_test(tc, test_build_invalid);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        SRunner *sr = srunner_create(peer_proto_suite());
        int failed;

        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
