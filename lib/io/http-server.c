/* The HTTP server (http-server.h): libmicrohttpd in its external epoll mode on an sd-event loop. */
#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include "http-server.h"
#include "log.h"
#include "macro.h"

#define HTTP_TEXT_PLAIN "text/plain; charset=utf-8"

struct http_server {
        sd_event *event;
        struct MHD_Daemon *mhd;
        sd_event_source *io;    /* MHD's epoll fd */
        sd_event_source *timer; /* MHD_get_timeout() */
        http_handler handler;
        void *userdata;
        uint16_t port;
};

int http_reply_text(http_reply *reply, unsigned status, const char *format, ...) {
        char *body = NULL;
        va_list ap;
        int n;

        va_start(ap, format);
        n = vasprintf(&body, format, ap);
        va_end(ap);
        if (n < 0)
                return -ENOMEM;
        free(reply->body);
        *reply = (http_reply){ .status = status, .content_type = HTTP_TEXT_PLAIN, .body = body, .body_len = (size_t) n };
        return 0;
}

/* Queues a response with body (taken, may be NULL) and its headers. */
static enum MHD_Result queue(struct MHD_Connection *c, unsigned status, const char *content_type, char *body,
        size_t len, bool allow) {
        struct MHD_Response *resp;
        enum MHD_Result ret;

        resp = body ? MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE)
                    : MHD_create_response_from_buffer(0, (void *) "", MHD_RESPMEM_PERSISTENT);
        if (!resp) {
                free(body);
                return MHD_NO; /* MHD closes the connection */
        }
        if (MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, content_type ?: HTTP_TEXT_PLAIN) != MHD_YES ||
                MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store") != MHD_YES ||
                (allow && MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, "GET, HEAD") != MHD_YES)) {
                MHD_destroy_response(resp);
                return MHD_NO;
        }
        ret = MHD_queue_response(c, status, resp);
        MHD_destroy_response(resp);
        return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url, const char *method,
        const char *version, const char *upload_data, size_t *upload_data_size, void **con_cls) {
        http_server *s = cls;
        http_reply reply = {};
        int r;

        /* Answered on the first call, when the headers are in: a body, if any, is never read (MHD
         * closes such a connection after the response). */
        if (!streq(method, MHD_HTTP_METHOD_GET) && !streq(method, MHD_HTTP_METHOD_HEAD)) {
                char *body = strdup("only GET and HEAD are served\n");
                return queue(c, MHD_HTTP_METHOD_NOT_ALLOWED, NULL, body, body ? strlen(body) : 0, true);
        }
        r = s->handler(s, url, &reply, s->userdata);
        if (r < 0 || reply.status < 100 || reply.status > 599) {
                log_debug("http: the handler of %s failed: %s", url, r < 0 ? strerror(-r) : "bad status");
                free(reply.body);
                char *body = strdup("internal error\n");
                return queue(c, MHD_HTTP_INTERNAL_SERVER_ERROR, NULL, body, body ? strlen(body) : 0, false);
        }
        return queue(c, reply.status, reply.content_type, reply.body, reply.body_len, false);
}

_printf_(2, 0) static void on_mhd_log(void *cls, const char *format, va_list ap) {
        char line[512];
        vsnprintf(line, sizeof(line), format, ap);
        line[strcspn(line, "\n")] = 0;
        log_debug("http: %s", line);
}

/* After every MHD_run(): MHD must run again within the time it says (0 when a connection has data
 * left that epoll will not announce again), or never when it says nothing is pending. */
static void http_server_arm(http_server *s) {
        MHD_UNSIGNED_LONG_LONG ms = 0;
        uint64_t now = 0;

        if (MHD_get_timeout(s->mhd, &ms) != MHD_YES) {
                (void) sd_event_source_set_enabled(s->timer, SD_EVENT_OFF);
                return;
        }
        (void) sd_event_now(s->event, CLOCK_MONOTONIC, &now);
        if (ms > UINT64_MAX / USEC_PER_MSEC - now)
                ms = (UINT64_MAX - now) / USEC_PER_MSEC;
        (void) sd_event_source_set_time(s->timer, now + ms * USEC_PER_MSEC);
        (void) sd_event_source_set_enabled(s->timer, SD_EVENT_ONESHOT);
}

static void http_server_run(http_server *s) {
        (void) MHD_run(s->mhd);
        http_server_arm(s);
}

static int on_io(sd_event_source *es, int fd, uint32_t revents, void *userdata) {
        http_server_run(userdata);
        return 0;
}

static int on_timer(sd_event_source *es, uint64_t usec, void *userdata) {
        http_server_run(userdata);
        return 0;
}

/* A listening TCP socket on address: the fd, or a negative errno. */
static int http_listen(const hostport *address, uint16_t *ret_port) {
        union {
                struct sockaddr sa;
                struct sockaddr_in in;
                struct sockaddr_in6 in6;
        } sa = {};
        socklen_t len;
        int one = 1;
        _cleanup_close_ int fd = -1;

        if (!address || !address->host)
                return -EINVAL;
        if (inet_pton(AF_INET, address->host, &sa.in.sin_addr) == 1) {
                sa.in.sin_family = AF_INET;
                sa.in.sin_port = htons(address->port);
                len = sizeof(sa.in);
        } else if (inet_pton(AF_INET6, address->host, &sa.in6.sin6_addr) == 1) {
                sa.in6.sin6_family = AF_INET6;
                sa.in6.sin6_port = htons(address->port);
                len = sizeof(sa.in6);
        } else
                return -EINVAL;
        fd = socket(sa.sa.sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return -errno;
        if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0)
                return -errno;
        if (sa.sa.sa_family == AF_INET6 && setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) < 0)
                return -errno;
        if (bind(fd, &sa.sa, len) < 0 || listen(fd, 64) < 0)
                return -errno;
        len = sizeof(sa);
        if (getsockname(fd, &sa.sa, &len) < 0)
                return -errno;
        *ret_port = ntohs(sa.sa.sa_family == AF_INET ? sa.in.sin_port : sa.in6.sin6_port);
        return TAKE_FD(fd);
}

int http_server_new(sd_event *e, const hostport *address, http_handler handler, void *userdata,
        http_server **ret) {
        _cleanup_(http_server_freep) http_server *s = NULL;
        const union MHD_DaemonInfo *info;
        int fd, r;

        if (!e || !address || !handler || !ret)
                return -EINVAL;
        if (MHD_is_feature_supported(MHD_FEATURE_EPOLL) != MHD_YES)
                return -EOPNOTSUPP;
        s = calloc(1, sizeof(*s));
        if (!s)
                return -ENOMEM;
        s->event = sd_event_ref(e);
        s->handler = handler;
        s->userdata = userdata;

        fd = http_listen(address, &s->port);
        if (fd < 0)
                return fd;
        /* No MHD_USE_INTERNAL_POLLING_THREAD: MHD runs only inside MHD_run(), on our thread. MHD takes
         * the listening socket and closes it in MHD_stop_daemon(). */
        s->mhd = MHD_start_daemon(MHD_USE_EPOLL | MHD_USE_ERROR_LOG, 0, NULL, NULL, on_request, s,
                MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, NULL,
                MHD_OPTION_LISTEN_SOCKET, (MHD_socket) fd,
                MHD_OPTION_CONNECTION_LIMIT, (unsigned) HTTP_SERVER_MAX_CONNECTIONS,
                MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned) HTTP_SERVER_MAX_PER_IP,
                MHD_OPTION_CONNECTION_TIMEOUT, (unsigned) HTTP_SERVER_TIMEOUT_S,
                MHD_OPTION_END);
        if (!s->mhd)
                /* Whether MHD closed fd on its way out is not documented: it is left alone (a start-up
                 * failure, which ends the daemon anyway) rather than risk closing a reused number. */
                return errno > 0 ? -errno : -ENOMEM;
        info = MHD_get_daemon_info(s->mhd, MHD_DAEMON_INFO_EPOLL_FD);
        if (!info || info->epoll_fd < 0)
                return -EOPNOTSUPP;
        r = sd_event_add_io(e, &s->io, info->epoll_fd, EPOLLIN, on_io, s);
        if (r < 0)
                return r;
        r = sd_event_add_time(e, &s->timer, CLOCK_MONOTONIC, 0, 0, on_timer, s);
        if (r < 0)
                return r;
        (void) sd_event_source_set_enabled(s->timer, SD_EVENT_OFF);
        http_server_arm(s);
        *ret = TAKE_PTR(s);
        return 0;
}

http_server *http_server_free(http_server *s) {
        if (!s)
                return NULL;
        sd_event_source_disable_unref(s->io);
        sd_event_source_disable_unref(s->timer);
        if (s->mhd)
                MHD_stop_daemon(s->mhd);
        sd_event_unref(s->event);
        free(s);
        return NULL;
}

uint16_t http_server_port(const http_server *s) {
        return s->port;
}
