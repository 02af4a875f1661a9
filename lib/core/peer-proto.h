/* The sentinels' peer protocol (SPEC 1, 5.2, 5.3; issue 5): the wire format of one authenticated
 * message, the stream splitter, and replay protection. Pure code: no sockets, no event loop, no
 * clock reads (boot times travel in the messages), no logging. The payloads of each type are built
 * and read by peer-payload.h.
 *
 * One message (all integers big-endian):
 *   u32  length of everything after this field, 68..PEER_MSG_MAX
 *   4    magic "MSPM"
 *   u8   version, PEER_PROTO_VERSION
 *   u8   type (peer_msg_type: HELLO=1 .. MAINTENANCE=6)
 *   u8   sender name length (1..PEER_NAME_MAX), then the name: printable ASCII without space
 *   u64  boot_time_usec   CLOCK_REALTIME of the sender's start: orders its boots
 *   u64  boot_nonce       random per start: tells two boots in the same microsecond apart
 *   u64  seq              per boot, from 1, +1 per message sent to anyone
 *   u32  payload length, then the payload: one JSON object, UTF-8, no NUL byte
 *   32   HMAC-SHA256 of every byte from the length field through the payload, under the peer secret
 *
 * Decoding trusts nothing before the MAC has been checked. The MAC is the frame's last 32 bytes,
 * so locating it needs only the length field; before it, decoding checks just the length, the
 * magic (to name a stray client BAD_MAGIC) and the version (another version may lay out or sign
 * its frames differently: a peer of another version is BAD_VERSION, not a forger). Everything
 * else — type, name, the inner lengths, the JSON — is read only from authenticated bytes, and the
 * JSON is parsed last. A corrupted or forged byte anywhere after the version is BAD_MAC.
 *
 * Replay protection (peer_replay_check()): the receiver keeps, per sender, the newest boot it has
 * seen and the highest seq of that boot. Boots are ordered by (boot_time_usec, boot_nonce),
 * lexicographically: a later time is a newer boot; at the same microsecond the higher nonce is the
 * newer one (an arbitrary but fixed choice, so both receivers of two such boots agree). A boot
 * once superseded is stale forever. Within a boot a message must carry a seq above the last one
 * accepted; gaps are normal (seq counts messages to all peers), and since TCP keeps order a message
 * older than one already accepted can only be a replay or a reordering by an attacker: both are
 * REPLAYED. Consequences for the sender: seq starts at 1 (0 is never accepted), and
 * boot_time_usec must grow across its restarts even when the wall clock steps back (persist it and
 * take max(now, last + 1)), or its peers reject the new boot as STALE_BOOT. The receiver keeps this
 * state in memory only: after it restarts it accepts any boot of a sender once; what a replayed
 * message could then do is bounded by the epochs in the payloads (an old vote or configuration
 * carries an old epoch). */
#pragma once

#include <errno.h>
#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PEER_PROTO_VERSION 1
/* The most bytes a frame may announce after its length field. */
#define PEER_MSG_MAX (64 * 1024)
/* The longest sender name, in bytes. */
#define PEER_NAME_MAX 64
/* The length of the HMAC-SHA256 that ends each frame. */
#define PEER_MAC_SIZE 32
/* The fewest bytes a frame may announce: a 1-byte name, an empty payload. */
#define PEER_MSG_MIN (4 + 1 + 1 + 1 + 1 + 3 * 8 + 4 + PEER_MAC_SIZE)

typedef enum peer_msg_type {
        PEER_MSG_HELLO = 1,    /* liveness and identity: zone, epoch, software version */
        PEER_MSG_OPINION,      /* per cluster: primary, SDOWN, last probe, replica evidence */
        PEER_MSG_VOTE_REQUEST, /* "vote for me in this epoch": the failed primary */
        PEER_MSG_VOTE_REPLY,   /* granted or not, and for whom */
        PEER_MSG_CONFIG,       /* cluster, epoch, primary: the highest epoch wins */
        PEER_MSG_MAINTENANCE,  /* maintenance mode on until a time, or off */
        _PEER_MSG_TYPE_MAX,
        _PEER_MSG_TYPE_INVALID = -EINVAL,
} peer_msg_type;

/* Why a message was dropped. decode() sets the framing and authentication reasons, replay_check()
 * REPLAYED and STALE_BOOT; UNKNOWN_SENDER is the caller's (a valid message from a name that is not
 * among the configured peers), named here so every drop is counted under one enum. */
typedef enum peer_reject {
        PEER_REJECT_TRUNCATED,      /* fewer bytes than the frame or one of its parts needs */
        PEER_REJECT_OVERSIZED,      /* announces more than PEER_MSG_MAX, or the buffer holds more */
        PEER_REJECT_BAD_MAGIC,      /* not "MSPM": not a sentinel */
        PEER_REJECT_BAD_VERSION,    /* a protocol version we do not speak */
        PEER_REJECT_UNKNOWN_TYPE,   /* authenticated, but a type we do not know */
        PEER_REJECT_BAD_NAME,       /* authenticated, but the sender name is empty, long or unprintable */
        PEER_REJECT_BAD_MAC,        /* forged, corrupted, or signed with another secret */
        PEER_REJECT_BAD_PAYLOAD,    /* authenticated, but not one JSON object in UTF-8 */
        PEER_REJECT_REPLAYED,       /* the sender's current boot, seq not above the last one accepted */
        PEER_REJECT_STALE_BOOT,     /* from a boot of the sender older than one already seen */
        PEER_REJECT_UNKNOWN_SENDER, /* not a configured peer (set by the caller) */
        _PEER_REJECT_MAX,
        _PEER_REJECT_INVALID = -EINVAL,
} peer_reject;

/* One message. Decoded messages own payload; release with peer_msg_done(). */
typedef struct peer_msg {
        peer_msg_type type;
        char sender[PEER_NAME_MAX + 1]; /* NUL-terminated */
        uint64_t boot_time_usec;
        uint64_t boot_nonce;
        uint64_t seq;
        json_object *payload; /* a JSON object */
} peer_msg;

/* Per sender: the newest boot seen and the last seq accepted from it. Zero-initialise (known =
 * false) for a sender never heard from; change it only through peer_replay_check(). */
typedef struct peer_replay {
        uint64_t boot_time_usec;
        uint64_t boot_nonce;
        uint64_t last_seq;
        bool known;
} peer_replay;

/* "hello", "opinion", "vote-request", "vote-reply", "config", "maintenance"; NULL when out of range. */
const char *peer_msg_type_to_string(peer_msg_type t);

/* Parses the names above; _PEER_MSG_TYPE_INVALID when unknown or NULL. */
peer_msg_type peer_msg_type_from_string(const char *s);

/* "truncated", "oversized", "bad-magic", "bad-version", "unknown-type", "bad-name", "bad-mac",
 * "bad-payload", "replayed", "stale-boot", "unknown-sender"; NULL when out of range. */
const char *peer_reject_to_string(peer_reject r);

/* Parses the names above; _PEER_REJECT_INVALID when unknown or NULL. */
peer_reject peer_reject_from_string(const char *s);

/* Whether s is a valid sender name: 1..PEER_NAME_MAX bytes of printable ASCII without space. */
bool peer_name_is_valid(const char *s);

/* Serializes and signs m into a new buffer (*ret, *ret_len bytes) that peer_msg_decode() accepts
 * under the same key and gives back equal to m. m->payload NULL is sent as {}. -EINVAL when m does
 * not make a valid message (type out of range, invalid sender, seq 0, a payload that is not an
 * object or serializes to invalid UTF-8) or the key is empty, -EMSGSIZE when the frame would
 * exceed PEER_MSG_MAX, -ENOMEM. */
int peer_msg_encode(const peer_msg *m, const void *key, size_t key_len, uint8_t **ret, size_t *ret_len);

/* Decodes and authenticates one whole frame (exactly len bytes, see peer_frame_length()). 0 with
 * *ret filled (release with peer_msg_done()); -EBADMSG with *ret_reason (when not NULL) when the
 * frame is invalid, with *ret untouched; -ENOMEM; -EINVAL when called wrongly (empty key). The JSON
 * payload is parsed only after the MAC has been verified in constant time. No replay check: call
 * peer_replay_check() next. */
int peer_msg_decode(const uint8_t *buf, size_t len, const void *key, size_t key_len, peer_msg *ret,
        peer_reject *ret_reason);

/* Releases the payload and zeroes *m; NULL-safe. */
void peer_msg_done(peer_msg *m);

/* Splits a byte stream: given the len bytes buffered so far (starting at a frame), 0 when more are
 * needed to know or hold the first frame, 1 with *ret_frame_len the frame's total length (length
 * field included) when buf holds all of it, -EMSGSIZE when it announces more than PEER_MSG_MAX (drop
 * the connection: the stream cannot be resynchronised). A frame too short to be valid is still
 * returned, for peer_msg_decode() to reject as TRUNCATED. */
int peer_frame_length(const uint8_t *buf, size_t len, size_t *ret_frame_len);

/* Checks m against the replay state of its sender (see the top of this file) and records it when
 * accepted: 1 when m opens a boot not seen before (the first message ever, or the sender
 * restarted: forget its per-boot state), 0 when it continues the current boot; -EBADMSG with
 * *ret_reason (when not NULL) REPLAYED or STALE_BOOT, with *r untouched; -EINVAL when called
 * wrongly. */
int peer_replay_check(peer_replay *r, const peer_msg *m, peer_reject *ret_reason);
