/* The control socket of control-server.h: listening, connections and the request/reply flow; who
 * is admitted, the rate limits and the throttle of reported events are in control-access.c. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>

#include "control-access.h"
#include "control-server.h"

#define LISTEN_BACKLOG    64
#define ACCEPT_BATCH      16              /* connections taken per wake-up, for fairness */
#define ACCEPT_PAUSE_USEC (100 * 1000ULL) /* after accept() failed for want of fds or memory */
#define READ_CHUNK        (16 * 1024)
#define LOCK_TRIES        200           /* 10 ms apart */
#define TIMER_ACCURACY    USEC_PER_MSEC /* sd-event would allow 250 ms of slack */

typedef enum client_state {
        CLIENT_READING, /* waiting for the request line */
        CLIENT_WAITING, /* the request is with the handler */
        CLIENT_WRITING, /* the reply is being written */
        CLIENT_CLOSED,  /* disconnected; only references keep it */
} client_state;

struct control_client {
        unsigned n_ref;
        control_server *server; /* NULL once closed */
        control_client *prev, *next;
        client_state state;
        bool answered; /* an answer was queued (maybe not written: the client may have gone) */
        int fd;
        struct ucred peer;
        sd_event_source *io, *timer;
        control_line_splitter *splitter;
        char *wbuf;
        size_t wlen, woff;
        control_client_gone_t gone_cb;
        void *gone_userdata;
};

struct control_server {
        sd_event *event;
        char *path;
        dev_t dev; /* of the socket file we bound, to remove only that one */
        ino_t ino;
        int fd;
        sd_event_source *listen_source, *pause_source;
        control_server_options opts; /* opts.group_name points to group_name */
        char *group_name;
        uid_t euid;
        control_handler_t handler;
        void *userdata;
        control_server_event_t event_cb;
        void *event_userdata;
        control_client *clients;
        unsigned n_clients;
        rate_bucket buckets[RATE_TABLE_SIZE];
        report_slot reports[REPORT_TABLE_SIZE];
        control_server_stats stats;
};

static const char *const event_table[_CONTROL_SERVER_EVENT_MAX] = {
        [CONTROL_SERVER_EVENT_DENIED] = "denied",
        [CONTROL_SERVER_EVENT_BUSY] = "busy",
        [CONTROL_SERVER_EVENT_RATE_LIMITED] = "rate-limited",
        [CONTROL_SERVER_EVENT_BAD_REQUEST] = "bad-request",
        [CONTROL_SERVER_EVENT_REQUEST_TIMEOUT] = "request-timeout",
        [CONTROL_SERVER_EVENT_REPLY_TIMEOUT] = "reply-timeout",
        [CONTROL_SERVER_EVENT_WRITE_TIMEOUT] = "write-timeout",
        [CONTROL_SERVER_EVENT_GONE] = "gone",
        [CONTROL_SERVER_EVENT_ACCEPT_FAILED] = "accept-failed",
};

const char *control_server_event_to_string(control_server_event ev) {
        if (ev < 0 || ev >= _CONTROL_SERVER_EVENT_MAX)
                return NULL;
        return event_table[ev];
}

static uint64_t now_usec(control_server *s) {
        uint64_t t = 0;

        (void) sd_event_now(s->event, CLOCK_MONOTONIC, &t);
        return t;
}

/* Counts ev and tells the callback, at most once per report interval per event and peer uid. */
static void server_event(control_server *s, control_server_event ev, const struct ucred *peer) {
        unsigned n;

        if (!s || ev < 0 || ev >= _CONTROL_SERVER_EVENT_MAX)
                return;
        s->stats.events[ev]++;
        if (!s->event_cb)
                return;

        if (!control_access_report_take(s->reports, peer ? peer->uid : REPORT_NO_PEER, ev, now_usec(s),
                    s->opts.report_interval_usec, &n))
                return;
        s->event_cb(s, ev, peer, n, s->event_userdata);
}

/* Best effort, for a connection closed right after: one non-blocking send of an error line. */
static void send_error(int fd, control_error code, const char *message) {
        _cleanup_free_ char *line = NULL;
        size_t n;

        if (control_reply_format_error(code, message, &line, &n) >= 0)
                (void) send(fd, line, n, MSG_DONTWAIT | MSG_NOSIGNAL);
}

control_client *control_client_ref(control_client *c) {
        if (c)
                c->n_ref++;
        return c;
}

control_client *control_client_unref(control_client *c) {
        if (!c || --c->n_ref > 0)
                return NULL;
        /* The server holds a reference until it closes the client, so c is closed here. */
        free(c);
        return NULL;
}

/* Disconnects c, reports ev (unless _INVALID), tells the gone callback when c was unanswered, and
 * drops the server's reference: the caller needs its own to touch c afterwards. */
static void client_close(control_client *c, control_server_event ev) {
        control_server *s = c->server;
        bool unanswered = c->state == CLIENT_WAITING;

        if (c->state == CLIENT_CLOSED)
                return;
        c->state = CLIENT_CLOSED;
        c->io = sd_event_source_disable_unref(c->io);
        c->timer = sd_event_source_disable_unref(c->timer);
        c->splitter = control_line_splitter_free(c->splitter);
        free(c->wbuf);
        c->wbuf = NULL;
        if (c->fd >= 0)
                close(c->fd);
        c->fd = -1;

        if (c->prev)
                c->prev->next = c->next;
        else
                s->clients = c->next;
        if (c->next)
                c->next->prev = c->prev;
        c->prev = c->next = NULL;
        s->n_clients--;
        c->server = NULL;

        server_event(s, ev, &c->peer);
        if (unanswered && c->gone_cb)
                c->gone_cb(c, c->gone_userdata);
        control_client_unref(c);
}

static int client_arm_timer(control_client *c, uint64_t usec) {
        int r = sd_event_source_set_time_relative(c->timer, usec);
        if (r < 0)
                return r;
        return sd_event_source_set_enabled(c->timer, SD_EVENT_ONESHOT);
}

/* Writes what the socket takes; closes c when done or failed. */
static void client_write(control_client *c) {
        while (c->woff < c->wlen) {
                ssize_t n = send(c->fd, c->wbuf + c->woff, c->wlen - c->woff, MSG_DONTWAIT | MSG_NOSIGNAL);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        if (errno == EAGAIN) {
                                if (sd_event_source_set_io_events(c->io, EPOLLOUT) < 0)
                                        client_close(c, CONTROL_SERVER_EVENT_GONE);
                                return;
                        }
                        client_close(c, CONTROL_SERVER_EVENT_GONE);
                        return;
                }
                c->woff += (size_t) n;
        }
        c->server->stats.replied++;
        client_close(c, _CONTROL_SERVER_EVENT_INVALID);
}

/* Queues line (taken) as the answer and starts writing it. */
static int client_send(control_client *c, char *line, size_t len) {
        control_server *s = c->server;
        int r;

        c->answered = true;
        c->wbuf = line;
        c->wlen = len;
        c->woff = 0;
        c->state = CLIENT_WRITING;
        r = client_arm_timer(c, s->opts.write_timeout_usec);
        if (r < 0) {
                client_close(c, CONTROL_SERVER_EVENT_GONE);
                return r;
        }
        client_write(c);
        return 0;
}

/* Answers an error from the server itself and reports ev. */
static int client_fail(control_client *c, control_server_event ev, control_error code, const char *message) {
        char *line = NULL;
        size_t n;
        int r;

        server_event(c->server, ev, &c->peer);
        r = control_reply_format_error(code, message, &line, &n);
        if (r < 0) {
                client_close(c, CONTROL_SERVER_EVENT_GONE);
                return r;
        }
        return client_send(c, line, n);
}

static int client_check_answerable(const control_client *c) {
        if (!c)
                return -EINVAL;
        if (c->answered)
                return -EALREADY;
        if (c->state != CLIENT_WAITING)
                return -ENOTCONN;
        return 0;
}

int control_client_reply(control_client *c, json_object *result) {
        _cleanup_(control_client_unrefp) control_client *ref = NULL;
        char *line = NULL;
        size_t n;
        int r;

        r = client_check_answerable(c);
        if (r >= 0)
                r = control_reply_format_ok(result, &line, &n);
        json_object_put(result);
        if (r == -EMSGSIZE) {
                ref = control_client_ref(c);
                (void) client_fail(c, _CONTROL_SERVER_EVENT_INVALID, CONTROL_ERROR_INTERNAL,
                        "the reply is larger than 16 MiB");
                return r;
        }
        if (r < 0)
                return r;
        ref = control_client_ref(c);
        return client_send(c, line, n);
}

int control_client_reply_error(control_client *c, control_error code, const char *fmt, ...) {
        _cleanup_(control_client_unrefp) control_client *ref = NULL;
        char message[CONTROL_MESSAGE_MAX] = "";
        va_list ap;
        int r = client_check_answerable(c);

        if (r < 0)
                return r;
        if (!control_error_to_string(code))
                return -EINVAL;
        if (fmt) {
                va_start(ap, fmt);
                (void) vsnprintf(message, sizeof(message), fmt, ap);
                va_end(ap);
        }
        ref = control_client_ref(c);
        return client_fail(c, _CONTROL_SERVER_EVENT_INVALID, code, message);
}

bool control_client_is_waiting(const control_client *c) {
        return c && c->state == CLIENT_WAITING;
}

const struct ucred *control_client_get_peer(const control_client *c) {
        return c ? &c->peer : NULL;
}

int control_client_set_reply_timeout(control_client *c, uint64_t usec) {
        int r = client_check_answerable(c);
        if (r < 0)
                return r;
        return client_arm_timer(c, usec ?: CONTROL_REPLY_TIMEOUT_USEC_DEFAULT);
}

void control_client_set_gone_callback(control_client *c, control_client_gone_t cb, void *userdata) {
        if (!c)
                return;
        c->gone_cb = cb;
        c->gone_userdata = userdata;
}

static void client_dispatch(control_client *c, const char *line, size_t len) {
        _cleanup_(control_request_freep) control_request *req = NULL;
        control_server *s = c->server;
        control_error_info err;
        int r;

        r = control_request_parse(line, len, &req, &err);
        if (r == -EBADMSG) {
                (void) client_fail(c, CONTROL_SERVER_EVENT_BAD_REQUEST, err.code, err.message);
                return;
        }
        if (r < 0) {
                (void) client_fail(c, _CONTROL_SERVER_EVENT_INVALID, CONTROL_ERROR_INTERNAL, strerror(-r));
                return;
        }

        /* Stop reading (anything after the request is ignored) but still notice a hang-up, which
         * epoll reports whatever the events asked for. */
        c->state = CLIENT_WAITING;
        c->splitter = control_line_splitter_free(c->splitter);
        r = sd_event_source_set_io_events(c->io, 0);
        if (r >= 0)
                r = client_arm_timer(c, s->opts.reply_timeout_usec);
        if (r < 0) {
                (void) client_fail(c, _CONTROL_SERVER_EVENT_INVALID, CONTROL_ERROR_INTERNAL, strerror(-r));
                return;
        }

        r = s->handler(s, c, req, s->userdata);
        if (r < 0 && c->state == CLIENT_WAITING)
                (void) control_client_reply_error(c, CONTROL_ERROR_INTERNAL, "%s", strerror(-r));
}

static void client_read(control_client *c) {
        char buf[READ_CHUNK];

        for (;;) {
                ssize_t n = recv(c->fd, buf, sizeof(buf), MSG_DONTWAIT);
                size_t off = 0;

                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        if (errno != EAGAIN)
                                client_close(c, CONTROL_SERVER_EVENT_GONE);
                        return;
                }
                if (n == 0) {
                        if (control_line_splitter_pending(c->splitter) > 0)
                                (void) client_fail(c, CONTROL_SERVER_EVENT_BAD_REQUEST,
                                        CONTROL_ERROR_BAD_REQUEST,
                                        "the request does not end with a newline");
                        else
                                client_close(c, CONTROL_SERVER_EVENT_GONE);
                        return;
                }
                while (off < (size_t) n) {
                        const char *line;
                        size_t consumed, len;
                        int r;

                        r = control_line_splitter_feed(c->splitter, buf + off, (size_t) n - off, &consumed);
                        if (r == -EMSGSIZE) {
                                char m[64];

                                (void) snprintf(
                                        m, sizeof(m), "request longer than %d bytes", CONTROL_REQUEST_MAX);
                                (void) client_fail(
                                        c, CONTROL_SERVER_EVENT_BAD_REQUEST, CONTROL_ERROR_TOO_LARGE, m);
                                return;
                        }
                        if (r < 0) {
                                (void) client_fail(c, _CONTROL_SERVER_EVENT_INVALID, CONTROL_ERROR_INTERNAL,
                                        strerror(-r));
                                return;
                        }
                        if (r > 0) {
                                if (control_line_splitter_get(c->splitter, &line, &len) >= 0)
                                        client_dispatch(c, line, len);
                                return;
                        }
                        off += consumed;
                }
        }
}

static int on_client_io(sd_event_source *es, int fd, uint32_t revents, void *userdata) {
        _cleanup_(control_client_unrefp) control_client *c = control_client_ref(userdata);

        switch (c->state) {
        case CLIENT_READING:
                client_read(c);
                break;
        case CLIENT_WAITING:
                if (revents & (EPOLLHUP | EPOLLERR))
                        client_close(c, CONTROL_SERVER_EVENT_GONE);
                break;
        case CLIENT_WRITING:
                client_write(c);
                break;
        case CLIENT_CLOSED:
                break;
        }
        return 0;
}

static int on_client_timer(sd_event_source *es, uint64_t usec, void *userdata) {
        _cleanup_(control_client_unrefp) control_client *c = control_client_ref(userdata);
        control_server *s = c->server;
        char m[96];

        switch (c->state) {
        case CLIENT_READING:
                (void) snprintf(m, sizeof(m), "no complete request within %llu ms",
                        (unsigned long long) (s->opts.request_timeout_usec / USEC_PER_MSEC));
                /* One attempt only, then the slot is free: a client that sent nothing has room for it. */
                send_error(c->fd, CONTROL_ERROR_TIMEOUT, m);
                client_close(c, CONTROL_SERVER_EVENT_REQUEST_TIMEOUT);
                break;
        case CLIENT_WAITING:
                (void) client_fail(c, CONTROL_SERVER_EVENT_REPLY_TIMEOUT, CONTROL_ERROR_TIMEOUT,
                        "the daemon did not answer in time");
                break;
        case CLIENT_WRITING:
                client_close(c, CONTROL_SERVER_EVENT_WRITE_TIMEOUT);
                break;
        case CLIENT_CLOSED:
                break;
        }
        return 0;
}

/* How many open connections peer uid has. */
static unsigned clients_of(control_server *s, uid_t uid) {
        unsigned n = 0;

        for (control_client *c = s->clients; c; c = c->next)
                n += c->peer.uid == uid;
        return n;
}

static void server_accept_one(control_server *s, int fd) {
        struct ucred peer = {};
        socklen_t len = sizeof(peer);
        control_client *c;
        char m[256];

        if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &peer, &len) < 0) {
                close(fd);
                return;
        }
        if (!control_access_peer_admitted(s->euid, &s->opts, fd, &peer)) {
                control_access_denied_message(s->euid, &s->opts, peer.uid, m, sizeof(m));
                send_error(fd, CONTROL_ERROR_PERMISSION_DENIED, m);
                close(fd);
                server_event(s, CONTROL_SERVER_EVENT_DENIED, &peer);
                return;
        }
        if (s->n_clients >= s->opts.max_clients) {
                (void) snprintf(
                        m, sizeof(m), "too many control clients (%u); try again", s->opts.max_clients);
                send_error(fd, CONTROL_ERROR_BUSY, m);
                close(fd);
                server_event(s, CONTROL_SERVER_EVENT_BUSY, &peer);
                return;
        }
        if (clients_of(s, peer.uid) >= s->opts.max_clients_per_uid) {
                (void) snprintf(m, sizeof(m), "too many control connections from uid %u (%u); try again",
                        (unsigned) peer.uid, s->opts.max_clients_per_uid);
                send_error(fd, CONTROL_ERROR_BUSY, m);
                close(fd);
                server_event(s, CONTROL_SERVER_EVENT_BUSY, &peer);
                return;
        }
        if (!control_access_rate_take(s->buckets, &s->opts, peer.uid, now_usec(s))) {
                (void) snprintf(m, sizeof(m),
                        "rate limited: uid %u made more than %u requests a second; try again in a second",
                        (unsigned) peer.uid, s->opts.rate_per_sec);
                send_error(fd, CONTROL_ERROR_BUSY, m);
                close(fd);
                server_event(s, CONTROL_SERVER_EVENT_RATE_LIMITED, &peer);
                return;
        }

        c = calloc(1, sizeof(*c));
        if (!c) {
                close(fd);
                return;
        }
        *c = (control_client){.n_ref = 1, .server = s, .state = CLIENT_READING, .fd = fd, .peer = peer};
        if (control_line_splitter_new(CONTROL_REQUEST_MAX, &c->splitter) < 0 ||
                sd_event_add_io(s->event, &c->io, fd, EPOLLIN, on_client_io, c) < 0 ||
                sd_event_add_time_relative(s->event, &c->timer, CLOCK_MONOTONIC,
                        s->opts.request_timeout_usec, TIMER_ACCURACY, on_client_timer, c) < 0) {
                c->io = sd_event_source_disable_unref(c->io);
                c->splitter = control_line_splitter_free(c->splitter);
                free(c);
                close(fd);
                return;
        }
        c->next = s->clients;
        if (s->clients)
                s->clients->prev = c;
        s->clients = c;
        s->n_clients++;
        s->stats.accepted++;
}

static int on_pause_end(sd_event_source *es, uint64_t usec, void *userdata) {
        control_server *s = userdata;

        (void) sd_event_source_set_enabled(s->listen_source, SD_EVENT_ON);
        return 0;
}

static int on_listen(sd_event_source *es, int fd, uint32_t revents, void *userdata) {
        control_server *s = userdata;

        for (unsigned i = 0; i < ACCEPT_BATCH; i++) {
                int cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

                if (cfd >= 0) {
                        server_accept_one(s, cfd);
                        continue;
                }
                if (errno == EAGAIN)
                        return 0;
                if (errno == EINTR || errno == ECONNABORTED || errno == EPROTO)
                        continue;
                /* EMFILE, ENFILE, ENOBUFS, ENOMEM: the socket stays readable, so stop watching it
                 * for a moment rather than spin. */
                server_event(s, CONTROL_SERVER_EVENT_ACCEPT_FAILED, NULL);
                if (sd_event_source_set_time_relative(s->pause_source, ACCEPT_PAUSE_USEC) >= 0 &&
                        sd_event_source_set_enabled(s->pause_source, SD_EVENT_ONESHOT) >= 0)
                        (void) sd_event_source_set_enabled(s->listen_source, SD_EVENT_OFF);
                return 0;
        }
        return 0;
}

/* Takes an exclusive flock on the directory of path, so that two servers do not probe, unlink and
 * bind the same path at once. Returns the fd holding it. */
static int lock_parent(const char *path) {
        _cleanup_free_ char *dir = NULL;
        const char *slash = strrchr(path, '/');
        _cleanup_close_ int fd = -1;

        dir = slash ? strndup(path, slash == path ? 1 : (size_t) (slash - path)) : strdup(".");
        if (!dir)
                return -ENOMEM;
        fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        for (unsigned i = 0; flock(fd, LOCK_EX | LOCK_NB) < 0; i++) {
                if (errno != EWOULDBLOCK)
                        return -errno;
                if (i >= LOCK_TRIES)
                        return -EBUSY;
                (void) nanosleep(&(struct timespec){.tv_nsec = 10 * 1000 * 1000}, NULL);
        }
        return TAKE_FD(fd);
}

/* Removes a socket at sa nobody listens on; -EADDRINUSE when someone does, -EEXIST when it is no socket. */
static int remove_stale(const struct sockaddr_un *sa) {
        _cleanup_close_ int fd = -1;
        struct stat st;

        if (lstat(sa->sun_path, &st) < 0)
                return errno == ENOENT ? 0 : -errno;
        if (!S_ISSOCK(st.st_mode))
                return -EEXIST;
        /* Non-blocking: a live server with a full backlog answers EAGAIN instead of blocking us. */
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0)
                return -errno;
        if (connect(fd, (const struct sockaddr *) sa, sizeof(*sa)) >= 0 || errno == EAGAIN ||
                errno == EINPROGRESS)
                return -EADDRINUSE;
        if (errno == ENOENT)
                return 0;
        if (errno != ECONNREFUSED)
                return -errno;
        if (unlink(sa->sun_path) < 0 && errno != ENOENT)
                return -errno;
        return 0;
}

static int server_listen(control_server *s) {
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        _cleanup_close_ int lock_fd = -1, fd = -1, path_fd = -1;
        mode_t mode = s->opts.has_group ? CONTROL_SOCKET_MODE_GROUP : CONTROL_SOCKET_MODE_PRIVATE, old_umask;
        char proc[64];
        struct stat st;
        int r;

        if (strlen(s->path) >= sizeof(sa.sun_path))
                return -ENAMETOOLONG;
        strcpy(sa.sun_path, s->path);

        lock_fd = lock_parent(s->path);
        if (lock_fd < 0)
                return lock_fd;
        r = remove_stale(&sa);
        if (r < 0)
                return r;

        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0)
                return -errno;
        /* bind() creates the file with the umask applied: the process's, so set for the call only (the
         * daemon binds once, at start, before it starts threads; none of them creates files anyway). */
        old_umask = umask(~mode & 0777);
        r = bind(fd, (const struct sockaddr *) &sa, sizeof(sa)) < 0 ? -errno : 0;
        (void) umask(old_umask);
        if (r < 0)
                return r;

        /* Nobody can connect before listen() (ECONNREFUSED), so fixing the group and the mode between
         * bind() and listen() leaves no window. Both go through an O_PATH fd of the file we bound, never
         * the path again, so that a symlink put in its place is not followed as root. */
        path_fd = open(s->path, O_PATH | O_NOFOLLOW | O_CLOEXEC);
        if (path_fd < 0 || fstat(path_fd, &st) < 0) {
                r = -errno;
                goto fail;
        }
        if (!S_ISSOCK(st.st_mode))
                return -EEXIST; /* not what we bound: someone else's to remove */
        if (s->opts.has_group && st.st_gid != s->opts.group &&
                fchownat(path_fd, "", (uid_t) -1, s->opts.group, AT_EMPTY_PATH) < 0) {
                r = -errno;
                goto fail;
        }
        /* A default ACL on the directory overrides the umask: set the mode explicitly then. */
        if ((st.st_mode & 07777) != mode) {
                (void) snprintf(proc, sizeof(proc), "/proc/self/fd/%d", path_fd);
                if (chmod(proc, mode) < 0 || fstat(path_fd, &st) < 0) {
                        r = -errno;
                        goto fail;
                }
                if ((st.st_mode & 07777) != mode) {
                        r = -EPERM;
                        goto fail;
                }
        }
        if (listen(fd, LISTEN_BACKLOG) < 0) {
                r = -errno;
                goto fail;
        }
        s->dev = st.st_dev;
        s->ino = st.st_ino;
        s->fd = TAKE_FD(fd);
        return 0;

fail:
        (void) unlink(s->path);
        return r;
}

int control_server_new(sd_event *e, const char *path, const control_server_options *opts,
        control_handler_t handler, void *userdata, control_server **ret) {
        _cleanup_(control_server_freep) control_server *s = NULL;
        int r;

        if (!e || !path || !*path || !handler || !ret)
                return -EINVAL;
        s = calloc(1, sizeof(*s));
        if (!s)
                return -ENOMEM;
        s->fd = -1;
        s->event = sd_event_ref(e);
        s->euid = geteuid();
        s->handler = handler;
        s->userdata = userdata;
        if (opts)
                s->opts = *opts;
        s->opts.max_clients = s->opts.max_clients ?: CONTROL_MAX_CLIENTS_DEFAULT;
        s->opts.max_clients_per_uid = s->opts.max_clients_per_uid ?: CONTROL_MAX_CLIENTS_PER_UID_DEFAULT;
        s->opts.request_timeout_usec = s->opts.request_timeout_usec ?: CONTROL_REQUEST_TIMEOUT_USEC_DEFAULT;
        s->opts.reply_timeout_usec = s->opts.reply_timeout_usec ?: CONTROL_REPLY_TIMEOUT_USEC_DEFAULT;
        s->opts.write_timeout_usec = s->opts.write_timeout_usec ?: CONTROL_WRITE_TIMEOUT_USEC_DEFAULT;
        s->opts.rate_burst = s->opts.rate_burst ?: CONTROL_RATE_BURST_DEFAULT;
        s->opts.rate_per_sec = s->opts.rate_per_sec ?: CONTROL_RATE_PER_SEC_DEFAULT;
        s->opts.report_interval_usec = s->opts.report_interval_usec ?: CONTROL_REPORT_INTERVAL_USEC_DEFAULT;
        s->path = strdup(path);
        if (!s->path)
                return -ENOMEM;
        if (s->opts.has_group && s->opts.group_name) {
                s->group_name = strdup(s->opts.group_name);
                if (!s->group_name)
                        return -ENOMEM;
        }
        s->opts.group_name = s->group_name;

        r = server_listen(s);
        if (r < 0)
                return r;
        r = sd_event_add_io(e, &s->listen_source, s->fd, EPOLLIN, on_listen, s);
        if (r < 0)
                return r;
        r = sd_event_add_time_relative(
                e, &s->pause_source, CLOCK_MONOTONIC, ACCEPT_PAUSE_USEC, 0, on_pause_end, s);
        if (r < 0)
                return r;
        r = sd_event_source_set_enabled(s->pause_source, SD_EVENT_OFF);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(s);
        return 0;
}

control_server *control_server_free(control_server *s) {
        struct stat st;

        if (!s)
                return NULL;
        while (s->clients) {
                _cleanup_(control_client_unrefp) control_client *c = control_client_ref(s->clients);
                client_close(c, _CONTROL_SERVER_EVENT_INVALID);
        }
        s->listen_source = sd_event_source_disable_unref(s->listen_source);
        s->pause_source = sd_event_source_disable_unref(s->pause_source);
        if (s->fd >= 0) {
                if (lstat(s->path, &st) >= 0 && st.st_dev == s->dev && st.st_ino == s->ino)
                        (void) unlink(s->path);
                close(s->fd);
        }
        free(s->path);
        free(s->group_name);
        sd_event_unref(s->event);
        free(s);
        return NULL;
}

void control_server_set_event_callback(control_server *s, control_server_event_t cb, void *userdata) {
        if (!s)
                return;
        s->event_cb = cb;
        s->event_userdata = userdata;
}

const char *control_server_get_path(const control_server *s) {
        return s ? s->path : NULL;
}

unsigned control_server_get_n_clients(const control_server *s) {
        return s ? s->n_clients : 0;
}

void control_server_get_stats(const control_server *s, control_server_stats *ret) {
        if (s && ret)
                *ret = s->stats;
}
