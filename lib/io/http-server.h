/* A small HTTP/1.1 server for read-only endpoints (/metrics, /health, /v1/status): libmicrohttpd driven
 * by the caller's sd-event loop, without threads. MHD runs in its external epoll mode: its epoll fd is
 * an sd-event io source and MHD_run() is called when it is readable, and a timer follows
 * MHD_get_timeout() (connection timeouts, and connections MHD still has data for). Every handler call
 * therefore runs on the loop's thread and may read the daemon's state; MHD never blocks (its sockets
 * are non-blocking), so neither does the loop.
 *
 * What it serves: GET and HEAD only (anything else 405 with Allow: GET, HEAD); the handler gets the path
 * (without the query string) and returns status, content type and body; HEAD gets the same headers
 * without the body. Every request is answered as soon as its headers are in, so a request body is never
 * read, and MHD then closes the connection (Connection: close): one request per connection. Limits: HTTP_SERVER_MAX_CONNECTIONS connections at once
 * (more are accepted and closed at once by MHD), HTTP_SERVER_MAX_PER_IP per client address, and each
 * connection closed after HTTP_SERVER_TIMEOUT_S idle seconds. The listening socket is bound by
 * http_server_new() itself, so that a failure returns its precise errno (-EADDRINUSE, -EADDRNOTAVAIL,
 * -EACCES). Nothing here logs above debug. */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "hostport.h"
#include "macro.h"

#define HTTP_SERVER_MAX_CONNECTIONS 32
#define HTTP_SERVER_MAX_PER_IP      16
#define HTTP_SERVER_TIMEOUT_S       10

typedef struct http_server http_server;

/* What a handler answers. body is malloc()ed and taken by the server (NULL: empty). */
typedef struct http_reply {
        unsigned status;          /* 200, 404, 503, ... */
        const char *content_type; /* a static string; NULL: text/plain; charset=utf-8 */
        char *body;
        size_t body_len;
} http_reply;

/* Answers a GET or HEAD of path into *reply (zeroed by the caller): 0, or a negative errno (then the
 * client gets 500 and whatever body was set is freed). */
typedef int (*http_handler)(http_server *s, const char *path, http_reply *reply, void *userdata);

/* Listens on address (an IP literal and a port; port 0 picks a free one, see http_server_port()) on
 * loop e and serves every request through handler. 0 and *ret; -EINVAL (no host, not an IP literal);
 * -EOPNOTSUPP (libmicrohttpd built without epoll); the socket's errno (-EADDRINUSE, ...); -ENOMEM. */
int http_server_new(sd_event *e, const hostport *address, http_handler handler, void *userdata,
        http_server **ret);

/* Closes every connection and the listening socket, and frees; NULL-safe; returns NULL. */
http_server *http_server_free(http_server *s);

static inline void http_server_freep(http_server **s) {
        http_server_free(*s);
}

/* The port the server listens on (the one picked when asked for port 0). */
uint16_t http_server_port(const http_server *s);

/* Fills *reply with status and a body made with printf's format (text/plain). 0 or -ENOMEM. */
int http_reply_text(http_reply *reply, unsigned status, const char *format, ...) _printf_(3, 4);
