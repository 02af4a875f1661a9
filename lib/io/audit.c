#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <sys/stat.h>
#include <time.h>

#include "audit.h"
#include "timefmt.h"
#include "fsutil.h"
#include "macro.h"

/* The reader goes backwards through the file in chunks of this size. */
#define AUDIT_CHUNK (64 * 1024)

struct audit {
        int fd;
        bool need_newline; /* the file may end inside a line: start the next record on a new one */
};

static void audit_json_putp(json_object **o) {
        json_object_put(*o);
}
#define _cleanup_json_ _cleanup_(audit_json_putp)

int audit_open_fd(int fd, audit **ret) {
        _cleanup_close_ int owned = fd;
        struct stat st;
        audit *a;

        if (fd < 0 || !ret)
                return -EINVAL;
        if (fstat(fd, &st) < 0)
                return -errno;

        a = calloc(1, sizeof(*a));
        if (!a)
                return -ENOMEM;

        /* A crash in the middle of a write leaves a torn last line. The fd may be write-only, then
         * we cannot tell and assume the file is fine. */
        if (S_ISREG(st.st_mode) && st.st_size > 0) {
                char c;

                if (pread(fd, &c, 1, st.st_size - 1) == 1 && c != '\n')
                        a->need_newline = true;
        }
        a->fd = TAKE_FD(owned);
        *ret = a;
        return 0;
}

int audit_open(const char *state_dir, audit **ret) {
        _cleanup_close_ int dir_fd = -1, fd = -1;
        int r;

        if (!state_dir || !ret)
                return -EINVAL;
        dir_fd = fsutil_open_dir(state_dir);
        if (dir_fd < 0)
                return dir_fd;
        fd = openat(dir_fd, AUDIT_FILE_NAME, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW,
                AUDIT_FILE_MODE);
        if (fd < 0)
                return -errno;
        /* Make the directory entry durable too, in case we just created the file. */
        r = fsutil_fsync_dir(dir_fd);
        if (r < 0)
                return r;
        return audit_open_fd(TAKE_FD(fd), ret);
}

audit *audit_close(audit *a) {
        if (!a)
                return NULL;
        if (a->fd >= 0)
                (void) close(a->fd);
        free(a);
        return NULL;
}

int audit_format_timestamp(uint64_t realtime_usec, char buf[static AUDIT_TIMESTAMP_MAX]) {
        return timefmt_rfc3339_ms(realtime_usec, buf);
}

static int audit_now(char buf[static AUDIT_TIMESTAMP_MAX]) {
        return timefmt_rfc3339_ms(timefmt_now_realtime_usec(), buf);
}

/* Adds v to o under key, taking v, also on failure; a NULL v is a failed allocation. */
static int audit_json_add(json_object *o, const char *key, json_object *v) {
        if (v && json_object_object_add(o, key, v) >= 0)
                return 0;
        json_object_put(v);
        return -ENOMEM;
}

/* Adds a string, or null when s is NULL. */
static int audit_json_add_string(json_object *o, const char *key, const char *s) {
        if (!s)
                return json_object_object_add(o, key, NULL) < 0 ? -ENOMEM : 0;
        return audit_json_add(o, key, json_object_new_string(s));
}

static int audit_add_ts(json_object *record) {
        char ts[AUDIT_TIMESTAMP_MAX];
        json_object *v;
        int r;

        r = audit_now(ts);
        if (r < 0)
                return r;
        v = json_object_new_string(ts);
        if (!v)
                return -ENOMEM;
        return audit_json_add(record, "ts", v);
}

int audit_append(audit *a, json_object *record) {
        _cleanup_free_ char *buf = NULL;
        const char *line;
        size_t n, len, done = 0;
        bool prefix;
        json_object *ts;
        int r;

        if (!a || !json_object_is_type(record, json_type_object))
                return -EINVAL;
        if (!json_object_object_get_ex(record, "ts", &ts)) {
                r = audit_add_ts(record);
                if (r < 0)
                        return r;
        } else if (!json_object_is_type(ts, json_type_string))
                return -EINVAL;

        /* Plain output escapes every control character: no newline can appear inside. */
        line = json_object_to_json_string_ext(
                record, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
        if (!line)
                return -ENOMEM;
        n = strlen(line);
        if (memchr(line, '\n', n))
                return -EINVAL;

        prefix = a->need_newline;
        buf = malloc(n + 2);
        if (!buf)
                return -ENOMEM;
        len = 0;
        if (prefix)
                buf[len++] = '\n';
        memcpy(buf + len, line, n);
        len += n;
        buf[len++] = '\n';

        /* One write for the whole line; a regular file only returns short on a full disk or a
         * signal, and then we go on with the rest. */
        while (done < len) {
                ssize_t k = write(a->fd, buf + done, len - done);

                if (k < 0 && errno == EINTR)
                        continue;
                if (k <= 0) {
                        r = k < 0 ? -errno : -EIO;
                        a->need_newline = prefix || done > 0;
                        return r;
                }
                done += (size_t) k;
        }
        a->need_newline = false;

        if (fdatasync(a->fd) < 0)
                return -errno;
        return 0;
}

int audit_decision(audit *a, const char *cluster, uint64_t epoch, const char *decision, const char *reason,
        json_object *inputs) {
        _cleanup_json_ json_object *in = inputs, *record = NULL;
        int r;

        if (!a || !decision)
                return -EINVAL;
        record = json_object_new_object();
        if (!record)
                return -ENOMEM;

        /* ts first, so that a human reading the file sees it first. */
        r = audit_add_ts(record);
        if (r < 0)
                return r;
        if (audit_json_add_string(record, "cluster", cluster) < 0 ||
                audit_json_add(record, "epoch", json_object_new_uint64(epoch)) < 0 ||
                audit_json_add_string(record, "decision", decision) < 0 ||
                audit_json_add_string(record, "reason", reason) < 0 ||
                json_object_object_add(record, "inputs", in) < 0) /* NULL inputs: null */
                return -ENOMEM;
        in = NULL; /* the record owns it now */
        return audit_append(a, record);
}

bool audit_filter_cluster(json_object *record, void *userdata) {
        json_object *c;

        if (!json_object_object_get_ex(record, "cluster", &c) || !json_object_is_type(c, json_type_string))
                return false;
        return streq_ptr(json_object_get_string(c), userdata);
}

typedef struct audit_tail {
        size_t max_records;
        audit_filter_t filter;
        void *userdata;
        json_tokener *tok;
        json_object *found; /* newest first */
        int skipped;
} audit_tail;

/* Takes one complete line: 1 when enough records are found, 0 to go on. */
static int audit_tail_line(audit_tail *t, const char *line, size_t len) {
        json_object *o;
        size_t end;

        if (len == 0)
                return 0;
        if (len > AUDIT_LINE_MAX || memchr(line, 0, len)) {
                t->skipped++;
                return 0;
        }

        json_tokener_reset(t->tok);
        o = json_tokener_parse_ex(t->tok, line, (int) len);
        end = json_tokener_get_parse_end(t->tok);
        /* line[len] is NUL: strspn() stops there. */
        if (!o || !json_object_is_type(o, json_type_object) || end + strspn(line + end, " \t\r") != len) {
                json_object_put(o);
                t->skipped++;
                return 0;
        }
        if (t->filter && !t->filter(o, t->userdata)) {
                json_object_put(o);
                return 0;
        }
        if (json_object_array_add(t->found, o) < 0) {
                json_object_put(o);
                return -ENOMEM;
        }
        return t->max_records > 0 && json_object_array_length(t->found) >= t->max_records;
}

static int audit_pread_all(int fd, char *buf, size_t len, off_t offset) {
        while (len > 0) {
                ssize_t k = pread(fd, buf, len, offset);

                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0)
                        return -errno;
                if (k == 0)
                        return -EIO; /* the file shrank under us: it is append-only */
                buf += k;
                len -= (size_t) k;
                offset += k;
        }
        return 0;
}

/* Walks the file from its end, a chunk at a time, handing complete lines to audit_tail_line(). */
static int audit_tail_scan(audit_tail *t, int fd, off_t size) {
        _cleanup_free_ char *carry = NULL; /* the start of the file's next line, not yet complete */
        size_t carry_len = 0;
        bool at_end = true;     /* the next segment is the bytes after the file's last newline */
        bool oversized = false; /* the carried line grew beyond AUDIT_LINE_MAX and was dropped */
        off_t pos = size;
        int r;

        while (pos > 0) {
                size_t chunk = pos < AUDIT_CHUNK ? (size_t) pos : AUDIT_CHUNK, len, end;
                _cleanup_free_ char *buf = NULL;

                pos -= (off_t) chunk;
                len = chunk + carry_len;
                buf = malloc(len + 1);
                if (!buf)
                        return -ENOMEM;
                r = audit_pread_all(fd, buf, chunk, pos);
                if (r < 0)
                        return r;
                if (carry_len > 0)
                        memcpy(buf + chunk, carry, carry_len);
                buf[len] = 0;
                free(TAKE_PTR(carry));
                carry_len = 0;

                end = len;
                for (size_t i = len; i-- > 0;) {
                        if (buf[i] != '\n')
                                continue;
                        buf[end] = 0;
                        if (at_end || oversized)
                                t->skipped += end > i + 1 || oversized; /* a torn or an endless line */
                        else {
                                r = audit_tail_line(t, buf + i + 1, end - i - 1);
                                if (r != 0)
                                        return r;
                        }
                        at_end = oversized = false;
                        end = i;
                }

                if (end > AUDIT_LINE_MAX)
                        oversized = true;
                else if (end > 0) {
                        carry = TAKE_PTR(buf);
                        carry_len = end;
                }
        }

        /* What is left is the file's first line, complete unless it is also its last. */
        if (at_end || oversized) {
                t->skipped += carry_len > 0 || oversized;
                return 0;
        }
        if (carry)
                carry[carry_len] = 0;
        r = audit_tail_line(t, carry, carry_len);
        return r < 0 ? r : 0;
}

int audit_read_tail(const char *state_dir, size_t max_records, audit_filter_t filter, void *userdata,
        json_object **ret_array) {
        _cleanup_close_ int dir_fd = -1, fd = -1;
        _cleanup_json_ json_object *found = NULL, *result = NULL;
        audit_tail t = {.max_records = max_records, .filter = filter, .userdata = userdata};
        struct stat st;
        int r;

        if (!state_dir || !ret_array)
                return -EINVAL;
        dir_fd = fsutil_open_dir(state_dir);
        if (dir_fd < 0)
                return dir_fd;
        result = json_object_new_array();
        if (!result)
                return -ENOMEM;
        fd = openat(dir_fd, AUDIT_FILE_NAME, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0) {
                if (errno != ENOENT)
                        return -errno;
                *ret_array = TAKE_PTR(result); /* nothing audited yet */
                return 0;
        }
        if (fstat(fd, &st) < 0)
                return -errno;
        if (!S_ISREG(st.st_mode))
                return -EBADFD;

        found = t.found = json_object_new_array();
        t.tok = json_tokener_new();
        if (!found || !t.tok) {
                json_tokener_free(t.tok);
                return -ENOMEM;
        }
        json_tokener_set_flags(t.tok, JSON_TOKENER_STRICT);
        r = audit_tail_scan(&t, fd, st.st_size);
        json_tokener_free(t.tok);
        if (r < 0)
                return r;

        for (size_t i = json_object_array_length(found); i-- > 0;) {
                json_object *o = json_object_array_get_idx(found, i);

                if (json_object_array_add(result, json_object_get(o)) < 0) {
                        json_object_put(o);
                        return -ENOMEM;
                }
        }
        *ret_array = TAKE_PTR(result);
        return t.skipped;
}
