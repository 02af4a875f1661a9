#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>

#include "control-client.h"
#include "macro.h"

#define READ_CHUNK (64 * 1024)

struct control_conn {
        int fd;
        bool used;
};

int control_conn_open(const char *path, control_conn **ret) {
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        _cleanup_close_ int fd = -1;
        control_conn *c;

        if (!path || !*path || !ret)
                return -EINVAL;
        if (strlen(path) >= sizeof(sa.sun_path))
                return -ENAMETOOLONG;
        strcpy(sa.sun_path, path);

        /* Non-blocking: connect() to a daemon whose backlog is full fails with EAGAIN instead of
         * hanging; on AF_UNIX it otherwise completes at once. */
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0)
                return -errno;
        if (connect(fd, (const struct sockaddr *) &sa, sizeof(sa)) < 0)
                return errno == EINPROGRESS ? -EAGAIN : -errno;

        c = calloc(1, sizeof(*c));
        if (!c)
                return -ENOMEM;
        c->fd = TAKE_FD(fd);
        *ret = c;
        return 0;
}

control_conn *control_conn_close(control_conn *c) {
        if (!c)
                return NULL;
        if (c->fd >= 0)
                close(c->fd);
        free(c);
        return NULL;
}

static uint64_t now_usec(void) {
        struct timespec ts;

        (void) clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * USEC_PER_SEC + (uint64_t) ts.tv_nsec / 1000;
}

/* Waits for events on fd until deadline (UINT64_MAX: none): the revents, or -ETIMEDOUT. */
static int wait_fd(int fd, short events, uint64_t deadline) {
        for (;;) {
                struct pollfd p = {.fd = fd, .events = events};
                int timeout_ms = -1, r;

                if (deadline != UINT64_MAX) {
                        uint64_t now = now_usec();
                        if (now >= deadline)
                                return -ETIMEDOUT;
                        /* Round up, so as not to spin on a sub-millisecond rest. */
                        timeout_ms = (deadline - now + USEC_PER_MSEC - 1) / USEC_PER_MSEC > INT32_MAX
                                             ? INT32_MAX
                                             : (int) ((deadline - now + USEC_PER_MSEC - 1) / USEC_PER_MSEC);
                }
                r = poll(&p, 1, timeout_ms);
                if (r < 0 && errno != EINTR)
                        return -errno;
                if (r > 0)
                        return p.revents;
        }
}

/* Sends all of data, unless the daemon answers or hangs up first (it refuses an oversized request
 * before reading it all): 0 when sent, 1 when there is something to read, -errno. */
static int send_all(int fd, const char *data, size_t len, uint64_t deadline) {
        size_t off = 0;

        while (off < len) {
                ssize_t n = send(fd, data + off, len - off, MSG_NOSIGNAL | MSG_DONTWAIT);
                int r;

                if (n >= 0) {
                        off += (size_t) n;
                        continue;
                }
                if (errno == EPIPE || errno == ECONNRESET)
                        return 1; /* perhaps an error reply is waiting */
                if (errno != EAGAIN && errno != EINTR)
                        return -errno;
                r = wait_fd(fd, POLLOUT | POLLIN, deadline);
                if (r < 0)
                        return r;
                if (r & (POLLIN | POLLHUP | POLLERR))
                        return 1;
        }
        return 0;
}

static int recv_reply(int fd, uint64_t deadline, control_reply **ret) {
        _cleanup_(control_line_splitter_freep) control_line_splitter *sp = NULL;
        _cleanup_free_ char *buf = malloc(READ_CHUNK);
        int r;

        if (!buf)
                return -ENOMEM;
        r = control_line_splitter_new(CONTROL_REPLY_MAX, &sp);
        if (r < 0)
                return r;
        for (;;) {
                const char *line;
                size_t consumed, len;
                ssize_t n;

                r = wait_fd(fd, POLLIN, deadline);
                if (r < 0)
                        return r;
                n = recv(fd, buf, READ_CHUNK, MSG_DONTWAIT);
                if (n < 0) {
                        if (errno == EAGAIN || errno == EINTR)
                                continue;
                        return errno == EPIPE ? -ECONNRESET : -errno;
                }
                if (n == 0)
                        return -ECONNRESET;
                r = control_line_splitter_feed(sp, buf, (size_t) n, &consumed);
                if (r < 0)
                        return r;
                if (r > 0) {
                        r = control_line_splitter_get(sp, &line, &len);
                        if (r < 0)
                                return r;
                        return control_reply_parse(line, len, ret);
                }
        }
}

int control_conn_call_raw(
        control_conn *c, const void *data, size_t len, uint64_t timeout_usec, control_reply **ret) {
        uint64_t deadline = UINT64_MAX;
        int r;

        if (!c || (!data && len > 0) || !ret)
                return -EINVAL;
        if (c->used)
                return -EALREADY;
        c->used = true;
        if (timeout_usec != CONTROL_TIMEOUT_INFINITY) {
                deadline = now_usec() + timeout_usec;
                if (deadline < timeout_usec)
                        deadline = UINT64_MAX;
        }
        r = send_all(c->fd, data, len, deadline);
        if (r < 0)
                return r;
        return recv_reply(c->fd, deadline, ret);
}

int control_conn_call(control_conn *c, control_command command, const char *cluster, json_object *args,
        uint64_t timeout_usec, control_reply **ret) {
        _cleanup_free_ char *line = NULL;
        size_t len;
        int r;

        if (!c || !ret)
                return -EINVAL;
        r = control_request_format(command, cluster, args, &line, &len);
        if (r < 0)
                return r;
        return control_conn_call_raw(c, line, len, timeout_usec, ret);
}

const char *control_conn_strerror(int r) {
        switch (r < 0 ? -r : r) {
        case ENOENT:
                return "no socket there (is the daemon running?)";
        case ECONNREFUSED:
                return "nothing listens on the socket (is the daemon running?)";
        case EACCES:
        case EPERM:
                return "permission denied (root or the control socket's group only)";
        case EAGAIN:
                return "the daemon is not accepting connections (backlog full)";
        case ENOTSOCK:
                return "not a socket";
        case ENAMETOOLONG:
                return "the socket path is too long";
        case ETIMEDOUT:
                return "no reply in time";
        case ECONNRESET:
                return "the daemon closed the connection without a reply";
        case EBADMSG:
                return "the daemon's reply is not valid";
        case EMSGSIZE:
                return "the daemon's reply is too large";
        default:
                return strerror(r < 0 ? -r : r);
        }
}
