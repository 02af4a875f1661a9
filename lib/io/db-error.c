/* What a failed connect or query was, for db.c: the connector's and the server's error numbers and
 * texts classified (probe_error_class), and TLS failures named with the files the operator must fix. */
#include <errmsg.h>
#include <errno.h>
#include <mysqld_error.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db-internal.h"
#include "macro.h"

/* The OS errno Connector/C puts into some messages: "... (111)" or "..., system error: 110". */
static int db_message_errno(const char *m) {
        const char *p = m ? strstr(m, "system error: ") : NULL;
        size_t n = m ? strlen(m) : 0;

        if (p)
                return atoi(p + strlen("system error: "));
        if (n < 3 || m[n - 1] != ')')
                return 0;
        for (p = m + n - 2; p > m && *p >= '0' && *p <= '9'; p--)
                ;
        return *p == '(' ? atoi(p + 1) : 0;
}

static const uint32_t db_errors_auth[] = {ER_ACCESS_DENIED_ERROR, ER_DBACCESS_DENIED_ERROR,
        ER_SPECIFIC_ACCESS_DENIED_ERROR, ER_TABLEACCESS_DENIED_ERROR, ER_HOST_NOT_PRIVILEGED,
        ER_ACCESS_DENIED_NO_PASSWORD_ERROR, ER_ACCOUNT_HAS_BEEN_LOCKED, ER_MUST_CHANGE_PASSWORD_LOGIN,
        ER_NOT_SUPPORTED_AUTH_MODE, CR_AUTH_PLUGIN_CANNOT_LOAD, CR_AUTH_PLUGIN_ERR};
static const uint32_t db_errors_protocol[] = {ER_HANDSHAKE_ERROR, ER_NET_PACKETS_OUT_OF_ORDER};
static const uint32_t db_errors_internal[] = {CR_OUT_OF_MEMORY, CR_SOCKET_CREATE_ERROR,
        CR_EVENT_CREATE_FAILED, CR_ASYNC_NOT_SUPPORTED, CR_ERR_LOAD_PLUGIN};
/* Refused, or no answer when the OS says it timed out. */
static const uint32_t db_errors_refused[] = {CR_CONN_HOST_ERROR, CR_CONNECTION_ERROR, CR_IPSOCK_ERROR};
/* The connection broke, or no answer when it timed out. */
static const uint32_t db_errors_lost[] = {
        CR_SERVER_GONE_ERROR, CR_SERVER_LOST, CR_SERVER_LOST_EXTENDED, CR_ERR_NET_READ, CR_ERR_NET_WRITE};

static bool db_error_in(uint32_t number, const uint32_t *set, size_t n) {
        for (size_t i = 0; i < n; i++)
                if (set[i] == number)
                        return true;
        return false;
}
#define DB_ERROR_IN(number, set) db_error_in((number), (set), ELEMENTSOF(set))

probe_error_class db_error_classify(uint32_t number, const char *message) {
        int e = db_message_errno(message);

        if (number == 0)
                return PROBE_OK;
        if (DB_ERROR_IN(number, db_errors_auth))
                return PROBE_AUTH;
        if (DB_ERROR_IN(number, db_errors_protocol))
                return PROBE_PROTOCOL;
        if (DB_ERROR_IN(number, db_errors_internal))
                return PROBE_INTERNAL;
        if (number == CR_UNKNOWN_HOST)
                return PROBE_RESOLVE;
        if (number == CR_SSL_CONNECTION_ERROR)
                return PROBE_TLS;
        if (DB_ERROR_IN(number, db_errors_refused))
                return e == ETIMEDOUT ? PROBE_NO_ANSWER : PROBE_REFUSED;
        if (DB_ERROR_IN(number, db_errors_lost))
                return e == ETIMEDOUT || e == EAGAIN || (message && strcasestr(message, "timeout"))
                               ? PROBE_NO_ANSWER
                               : PROBE_LOST;
        /* Any other client error: the server said something we did not expect. Any server error
         * (ER_*: too many connections, lock wait, shutting down, ...): it answered, so it lives. */
        if ((number >= CR_MIN_ERROR && number <= CR_MAX_ERROR) || number >= CR_EVENT_CREATE_FAILED)
                return PROBE_PROTOCOL;
        return PROBE_SERVER_ERROR;
}

/* Whether, after this error, the session is gone (or in an unknown state) and must be dropped. */
bool db_error_kills_connection(const db_error *e) {
        if (e->error_class == PROBE_AUTH)
                return false; /* a statement refused for a missing privilege: the session is fine */
        if (e->error_class == PROBE_SERVER_ERROR)
                return e->number == ER_SERVER_SHUTDOWN || e->number == ER_CONNECTION_KILLED ||
                       e->number == ER_ABORTING_CONNECTION || e->number == ER_NEW_ABORTING_CONNECTION ||
                       e->number == ER_CON_COUNT_ERROR;
        return true; /* client side, timeout, protocol: gone, or in an unknown state */
}

void db_error_set(
        db_error *e, probe_error_class class, uint32_t number, int sys_error, const char *fmt, ...) {
        va_list ap;

        *e = (db_error){.error_class = class, .number = number, .sys_error = sys_error};
        va_start(ap, fmt);
        (void) vsnprintf(e->message, sizeof(e->message), fmt, ap);
        va_end(ap);
}

/* Whether a failed connect of a TLS connection is the TLS layer's doing: the connector's own TLS
 * error, or another client error whose text names TLS, SSL or a certificate (the connector reports
 * some handshake failures, such as an unreadable key, under other numbers). */
static bool db_error_is_tls(uint32_t n, const char *m) {
        return n == CR_SSL_CONNECTION_ERROR ||
               (m && (strcasestr(m, "SSL") || strcasestr(m, "TLS") || strcasestr(m, "certificate")));
}

/* One line naming TLS and what we gave the connector, so the operator sees which file to fix:
 * "TLS: self-signed certificate in certificate chain (tls.ca /etc/ssl/db-ca.pem, verify_server_cert
 * on)". The connector's text is cut first when it does not fit; the file names are what matters. */
static void db_error_set_tls(db_conn *c, db_error *e, uint32_t n, const char *m) {
        static const char *const prefixes[] = {"TLS/SSL error: ", "SSL connection error: "};
        const struct {
                const char *key, *path;
        } used[] = {{"tls.ca", c->tls_ca}, {"tls.cert", c->tls_cert}, {"tls.key", c->tls_key}};
        char files[DB_ERROR_MESSAGE_MAX / 2 + 64];
        size_t k = 0;

        for (size_t i = 0; i < ELEMENTSOF(prefixes); i++)
                if (strncmp(m, prefixes[i], strlen(prefixes[i])) == 0 && m[strlen(prefixes[i])])
                        m += strlen(prefixes[i]);
        files[0] = '\0';
        for (size_t i = 0; i < ELEMENTSOF(used); i++)
                if (used[i].path && k < sizeof(files))
                        k += (size_t) snprintf(files + k, sizeof(files) - k, "%s%s %s", k ? ", " : "",
                                used[i].key, used[i].path);
        if (k >= sizeof(files))
                k = sizeof(files) - 1;
        db_error_set(e, PROBE_TLS, n, 0, "TLS: %.*s (%s%sverify_server_cert %s)",
                (int) (sizeof(e->message) - k - 48), m, files, k ? ", " : "", c->tls_verify ? "on" : "off");
}

/* Whether the server's greeting came and did not offer TLS. Connector/C 3.3 then refuses to go on
 * only when it verifies the certificate; without verify_server_cert it logs in in plain text (we
 * drop such a session at once, see db_connect_done(), and the login itself may fail first, say for
 * an account that REQUIRES SSL): either way what the operator must know is that TLS is missing. */
static bool db_server_lacks_tls(db_conn *c) {
        return c->mysql && c->mysql->server_capabilities != 0 &&
               !(c->mysql->server_capabilities & CLIENT_SSL);
}

void db_error_set_no_tls(db_conn *c, db_error *e) {
        db_error_set(e, PROBE_TLS, CR_SSL_CONNECTION_ERROR, 0,
                "TLS: %s port %u does not offer TLS (no ssl_cert/ssl_key on the server?); the sentinel "
                "does not use a plain-text session when tls is configured",
                c->resolved.addresses[c->i_address], c->port);
}

void db_error_from_mysql(db_conn *c, db_error *e) {
        uint32_t n = c->mysql ? mysql_errno(c->mysql) : 0;
        const char *m = c->mysql ? mysql_error(c->mysql) : NULL;

        if (c->timed_out)
                db_error_set(e, PROBE_NO_ANSWER, 0, ETIMEDOUT,
                        "no answer from %s port %u within the deadline (%s)",
                        c->resolved.addresses[c->i_address], c->port,
                        c->state == DB_STATE_CONNECTING ? "connecting" : "querying");
        else if (n == 0)
                db_error_set(e, PROBE_PROTOCOL, CR_UNKNOWN_ERROR, 0, "failed without an error");
        else if (c->tls && c->state == DB_STATE_CONNECTING && db_server_lacks_tls(c))
                db_error_set_no_tls(c, e);
        else if (c->tls && c->state == DB_STATE_CONNECTING && db_error_is_tls(n, m))
                db_error_set_tls(c, e, n, m && *m ? m : "the handshake failed");
        else
                db_error_set(e, db_error_classify(n, m), n, 0, "%s", m && *m ? m : "unknown error");
        if (c->mysql && !c->timed_out)
                snprintf(e->sqlstate, sizeof(e->sqlstate), "%s", mysql_sqlstate(c->mysql));
}
