/* libFuzzer target for what a sentinel reads from its peers' TCP connections: the frame splitter, the
 * decoder, replay protection and the payload parsers.
 *
 *   clang -std=gnu11 -D_GNU_SOURCE -g -O1 -fsanitize=fuzzer,address,undefined -Ilib/core \
 *     $(pkg-config --cflags json-c) tests/fuzz/fuzz-peer-decode.c lib/core/peer-proto.c \
 *     lib/core/peer-payload.c -lcrypto $(pkg-config --libs json-c) -o fuzz-peer-decode
 *   ./fuzz-peer-decode -max_total_time=60 NEW_CORPUS_DIR tests/fuzz/corpus-peer-decode
 *
 * Each input is read twice:
 *   - as a byte stream from the network: split into frames and decoded, every rejection naming a
 *     known reason. The raw-* seeds are frames signed with KEY and decode; the fuzzer cannot forge
 *     HMAC-SHA256, so what it makes of them is rejected before their JSON is parsed.
 *   - as the body of a frame from a peer with the key, a buggy or newer one: the bytes after the
 *     version, framed and signed here, so the fuzzer reaches everything the decoder does only
 *     after the MAC (type, name, inner lengths, JSON) and the payload parsers.
 * Invariants beyond "no crash, no leak": a decoded message re-encodes to a frame that decodes to the
 * same message; a payload that parses builds back into one that parses to the same values; replay
 * state changes only when a message is accepted. The seeds in tests/fuzz/corpus-peer-decode are
 * valid frames (raw-*) and valid bodies (body-*) of every type. */
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz-util.h"
#include "macro.h"
#include "peer-payload.h"
#include "peer-proto.h"

static const char KEY[] = "fuzz-peer-secret-0123456789abcdef";
#define KEY_LEN (sizeof(KEY) - 1)

static bool same_str(const char *a, const char *b) {
        return streq_ptr(a, b);
}

/* Parses p as type t; when valid, builds it again from the parsed values and checks the copy parses
 * to the same values. */
static void payload_round_trip(peer_msg_type t, json_object *p) {
        json_object *again = NULL;
        int r;

        switch (t) {
        case PEER_MSG_HELLO: {
                peer_hello a, b;
                if (peer_hello_parse(p, &a) < 0)
                        return;
                r = peer_hello_build(a.zone, a.epoch, a.version, &again);
                check(r == 0 || r == -ENOMEM);
                if (r == 0 && peer_hello_parse(again, &b) == 0) {
                        check(same_str(a.zone, b.zone) && a.epoch == b.epoch &&
                                same_str(a.version, b.version));
                        peer_hello_done(&b);
                }
                peer_hello_done(&a);
                break;
        }
        case PEER_MSG_OPINION: {
                peer_opinion a, b;
                if (peer_opinion_parse(p, &a) < 0)
                        return;
                r = peer_opinion_build(a.ping, a.pong, a.clusters, a.n_clusters, &again);
                check(r == 0 || r == -ENOMEM);
                if (r == 0 && peer_opinion_parse(again, &b) == 0) {
                        check(a.n_clusters == b.n_clusters && a.ping == b.ping && a.pong == b.pong);
                        for (size_t i = 0; i < a.n_clusters; i++) {
                                const peer_opinion_cluster *x = &a.clusters[i], *y = &b.clusters[i];
                                check(same_str(x->name, y->name) && same_str(x->primary, y->primary));
                                check(x->sdown == y->sdown && x->last_ok_ms_ago == y->last_ok_ms_ago);
                                check(x->evidence == y->evidence && x->config_epoch == y->config_epoch);
                                check(x->pending == y->pending && x->confirms == y->confirms &&
                                        x->self_fenced == y->self_fenced);
                                check(peer_opinion_find(&a, x->name) == x);
                        }
                        peer_opinion_done(&b);
                }
                peer_opinion_done(&a);
                break;
        }
        case PEER_MSG_VOTE_REQUEST: {
                peer_vote_request a, b;
                if (peer_vote_request_parse(p, &a) < 0)
                        return;
                r = peer_vote_request_build(a.cluster, a.epoch, a.primary, a.kind, &again);
                check(r == 0 || r == -ENOMEM);
                if (r == 0 && peer_vote_request_parse(again, &b) == 0) {
                        check(same_str(a.cluster, b.cluster) && a.epoch == b.epoch &&
                                same_str(a.primary, b.primary) && same_str(a.kind, b.kind));
                        peer_vote_request_done(&b);
                }
                peer_vote_request_done(&a);
                break;
        }
        case PEER_MSG_VOTE_REPLY: {
                peer_vote_reply a, b;
                if (peer_vote_reply_parse(p, &a) < 0)
                        return;
                r = peer_vote_reply_build(a.cluster, a.epoch, a.granted, a.voted_for, a.reason, &again);
                check(r == 0 || r == -ENOMEM);
                if (r == 0 && peer_vote_reply_parse(again, &b) == 0) {
                        check(same_str(a.cluster, b.cluster) && a.epoch == b.epoch &&
                                a.granted == b.granted);
                        check(same_str(a.voted_for, b.voted_for) && same_str(a.reason, b.reason));
                        peer_vote_reply_done(&b);
                }
                peer_vote_reply_done(&a);
                break;
        }
        case PEER_MSG_CONFIG: {
                peer_config a, b;
                if (peer_config_parse(p, &a) < 0)
                        return;
                r = peer_config_build(a.cluster, a.epoch, a.primary, &again);
                check(r == 0 || r == -ENOMEM);
                if (r == 0 && peer_config_parse(again, &b) == 0) {
                        check(same_str(a.cluster, b.cluster) && a.epoch == b.epoch &&
                                same_str(a.primary, b.primary));
                        peer_config_done(&b);
                }
                peer_config_done(&a);
                break;
        }
        case PEER_MSG_MAINTENANCE: {
                peer_maintenance a, b;
                if (peer_maintenance_parse(p, &a) < 0)
                        return;
                r = peer_maintenance_build(a.cluster, a.until_usec, a.set_usec, &again);
                check(r == 0 || r == -ENOMEM);
                if (r == 0 && peer_maintenance_parse(again, &b) == 0) {
                        check(same_str(a.cluster, b.cluster) && a.until_usec == b.until_usec &&
                                a.set_usec == b.set_usec);
                        peer_maintenance_done(&b);
                }
                peer_maintenance_done(&a);
                break;
        }
        default:
                check(peer_payload_check(t, p) == -EINVAL);
                return;
        }
        json_object_put(again);
}

/* A decoded message: well-formed, re-encodes to an equal message, its payload parses as every type
 * without crashing. */
static void check_decoded(const peer_msg *m) {
        _cleanup_free_ uint8_t *buf = NULL;
        peer_msg again;
        size_t len;
        int r;

        check(peer_msg_type_to_string(m->type));
        check(peer_name_is_valid(m->sender));
        check(json_object_is_type(m->payload, json_type_object));

        for (int t = 0; t <= _PEER_MSG_TYPE_MAX; t++) {
                r = peer_payload_check(t, m->payload);
                check(r == 0 || r == -EINVAL || r == -ENOMEM);
                payload_round_trip(t, m->payload);
        }

        if (m->seq == 0) /* not sendable */
                return;
        r = peer_msg_encode(m, KEY, KEY_LEN, &buf, &len);
        if (r == -ENOMEM || r == -EMSGSIZE) /* re-serialized JSON may be longer: "\/" vs "/" etc. */
                return;
        check(r == 0);
        check(peer_msg_decode(buf, len, KEY, KEY_LEN, &again, NULL) == 0);
        check(again.type == m->type && streq(again.sender, m->sender));
        check(again.boot_time_usec == m->boot_time_usec && again.boot_nonce == m->boot_nonce);
        check(again.seq == m->seq);
        /* Compared as text: json-c reads NaN, which equals nothing, not even itself. */
        check(streq(json_object_to_json_string_ext(again.payload, JSON_C_TO_STRING_PLAIN),
                json_object_to_json_string_ext(m->payload, JSON_C_TO_STRING_PLAIN)));
        peer_msg_done(&again);
}

/* Replay state after a check: unchanged when rejected, the message's boot and seq when accepted. */
static void check_replay(peer_replay *r, const peer_msg *m) {
        peer_replay before = *r;
        peer_reject why = _PEER_REJECT_INVALID;
        int k = peer_replay_check(r, m, &why);

        if (k < 0) {
                check(k == -EBADMSG);
                check(why == PEER_REJECT_REPLAYED || why == PEER_REJECT_STALE_BOOT);
                check(r->known == before.known && r->last_seq == before.last_seq);
                check(r->boot_time_usec == before.boot_time_usec && r->boot_nonce == before.boot_nonce);
                return;
        }
        check(k == 0 || k == 1);
        check(r->known && r->last_seq == m->seq && m->seq > 0);
        check(r->boot_time_usec == m->boot_time_usec && r->boot_nonce == m->boot_nonce);
        if (k == 0)
                check(before.known && m->seq > before.last_seq);
        /* The same message again is always a replay. */
        check(peer_replay_check(r, m, &why) == -EBADMSG && why == PEER_REJECT_REPLAYED);
}

/* The offset of the first 0xff 0xfe 0xfd in data[0..size), or size. */
static size_t find_marker(const uint8_t *data, size_t size) {
        for (size_t i = 0; i + 3 <= size; i++)
                if (data[i] == 0xff && data[i + 1] == 0xfe && data[i + 2] == 0xfd)
                        return i;
        return size;
}

static void check_rejected(int r, peer_reject why) {
        check(r == -EBADMSG || r == -ENOMEM);
        if (r == -EBADMSG) {
                check(peer_reject_to_string(why));
                check(why != PEER_REJECT_REPLAYED && why != PEER_REJECT_STALE_BOOT &&
                        why != PEER_REJECT_UNKNOWN_SENDER);
        }
}

/* The input as a stream of frames, all under one replay state. */
static void as_stream(const uint8_t *data, size_t size) {
        peer_replay replay_state = {}, *replay = &replay_state;
        size_t off = 0;

        while (off < size) {
                peer_msg m = {};
                peer_reject why = _PEER_REJECT_INVALID;
                size_t n = 0;
                int r = peer_frame_length(data + off, size - off, &n);

                if (r == -EMSGSIZE) {
                        check(size - off >= 4);
                        r = peer_msg_decode(data + off, size - off, KEY, KEY_LEN, &m, &why);
                        check(r == -EBADMSG && why == PEER_REJECT_OVERSIZED);
                        return;
                }
                check(r == 0 || r == 1);
                if (r == 0) {
                        /* Incomplete: decoding what is there says so. */
                        r = peer_msg_decode(data + off, size - off, KEY, KEY_LEN, &m, &why);
                        check(r == -EBADMSG && why == PEER_REJECT_TRUNCATED);
                        return;
                }
                check(n >= 4 && n <= size - off && n <= 4 + PEER_MSG_MAX);
                r = peer_msg_decode(data + off, n, KEY, KEY_LEN, &m, &why);
                if (r == 0) { /* a seed signed with KEY, or a frame only its length field was cut from */
                        check_decoded(&m);
                        check_replay(replay, &m);
                        peer_msg_done(&m);
                } else {
                        check_rejected(r, why);
                        check(!m.payload);
                }
                off += n;
        }
}

/* The input as the body of a frame signed with the key: everything after the version byte and
 * before the MAC. A few bodies, split at a 0xff 0xfe 0xfd marker, feed one replay state. */
static void as_signed_body(const uint8_t *data, size_t size) {
        _cleanup_free_ uint8_t *frame = NULL;
        peer_replay replay = {};
        size_t off = 0;

        frame = malloc(4 + PEER_MSG_MAX);
        if (!frame)
                return;
        while (off <= size) {
                size_t n = find_marker(data + off, size - off);
                bool last = n == size - off;
                size_t total = 4 + 4 + 1 + n + PEER_MAC_SIZE;
                peer_reject why = _PEER_REJECT_INVALID;
                unsigned mac_len = 0;
                peer_msg m = {};
                int r;

                if (total - 4 > PEER_MSG_MAX)
                        return;
                frame[0] = (uint8_t) ((total - 4) >> 24), frame[1] = (uint8_t) ((total - 4) >> 16);
                frame[2] = (uint8_t) ((total - 4) >> 8), frame[3] = (uint8_t) (total - 4);
                memcpy(frame + 4, "MSPM", 4);
                frame[8] = PEER_PROTO_VERSION;
                memcpy(frame + 9, data + off, n);
                check(HMAC(EVP_sha256(), KEY, (int) KEY_LEN, frame, total - PEER_MAC_SIZE,
                        frame + total - PEER_MAC_SIZE, &mac_len));

                r = peer_msg_decode(frame, total, KEY, KEY_LEN, &m, &why);
                if (r == 0) {
                        check_decoded(&m);
                        check_replay(&replay, &m);
                        peer_msg_done(&m);
                } else {
                        check_rejected(r, why);
                        if (r == -EBADMSG)
                                check(why != PEER_REJECT_BAD_MAC && why != PEER_REJECT_BAD_MAGIC &&
                                        why != PEER_REJECT_BAD_VERSION && why != PEER_REJECT_OVERSIZED);
                }
                /* The same frame with the last byte of its MAC flipped is forged. */
                frame[total - 1] ^= 1;
                r = peer_msg_decode(frame, total, KEY, KEY_LEN, &m, &why);
                check(r == -EBADMSG && (why == PEER_REJECT_BAD_MAC || why == PEER_REJECT_TRUNCATED));

                if (last)
                        break;
                off += n + 3;
        }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        as_stream(data, size);
        as_signed_body(data, size);
        return 0;
}
