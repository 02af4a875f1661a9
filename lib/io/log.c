#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <systemd/sd-journal.h>

#include "log.h"
#include "timefmt.h"

/* Set once by log_setup() before anything else runs; read-only afterwards. */
static struct {
        const char *ident;
        log_target target;
        int max_priority;
} log_conf = { "mariadb-sentinel", LOG_TARGET_STDERR, LOG_INFO };

static const char *const priority_names[] = {
        [LOG_EMERG] = "emerg", [LOG_ALERT] = "alert", [LOG_CRIT] = "crit", [LOG_ERR] = "error",
        [LOG_WARNING] = "warning", [LOG_NOTICE] = "notice", [LOG_INFO] = "info", [LOG_DEBUG] = "debug",
};

bool log_stderr_is_journal(void) {
        const char *e = getenv("JOURNAL_STREAM");
        unsigned long long dev, ino;
        struct stat st;

        if (!e || sscanf(e, "%llu:%llu", &dev, &ino) != 2)
                return false;
        if (fstat(STDERR_FILENO, &st) < 0)
                return false;
        return (unsigned long long) st.st_dev == dev && (unsigned long long) st.st_ino == ino;
}

void log_setup(const char *ident, log_target target, int max_priority) {
        if (ident)
                log_conf.ident = ident;
        if (target == LOG_TARGET_AUTO)
                target = log_stderr_is_journal() ? LOG_TARGET_JOURNAL : LOG_TARGET_STDERR;
        log_conf.target = target;
        log_conf.max_priority = max_priority;
}

log_target log_get_target(void) {
        return log_conf.target;
}

int log_priority_of_event(sentinel_event ev) {
        switch (event_severity_of(ev)) {
        case SEVERITY_CRITICAL:
                return LOG_CRIT;
        case SEVERITY_WARNING:
                return LOG_WARNING;
        default:
                return LOG_NOTICE;
        }
}

static const char *priority_name(int priority) {
        if (priority < 0 || priority >= (int) ELEMENTSOF(priority_names))
                return "log";
        return priority_names[priority];
}

void log_format_line(FILE *out, const char *ident, int priority, const log_fields *f, const char *message) {
        char when[TIMEFMT_RFC3339_MAX + 1] = "";

        if (timefmt_rfc3339_ms(timefmt_now_realtime_usec(), when) == 0)
                strcat(when, " ");

        flockfile(out);
        fprintf(out, "%s%s: %s:", when, ident ? ident : "mariadb-sentinel", priority_name(priority));
        if (f && f->cluster)
                fprintf(out, " cluster=%s", f->cluster);
        if (f && f->has_epoch)
                fprintf(out, " epoch=%" PRIu64, f->epoch);
        if (f && event_to_string(f->event))
                fprintf(out, " event=%s", event_to_string(f->event));
        if (f && f->reason)
                fprintf(out, " reason=%s", f->reason);
        fputs(f && (f->cluster || f->has_epoch || event_to_string(f->event) || f->reason) ? ": " : " ", out);
        /* One record, one line: newlines inside a message would split it for readers. */
        for (const char *p = message; *p; p++)
                fputc(*p == '\n' ? ' ' : *p, out);
        fputc('\n', out);
        funlockfile(out);
        fflush(out);
}

static int iov_add(struct iovec *iov, int *n, const char *fmt, ...) _printf_(3, 4);
static int iov_add(struct iovec *iov, int *n, const char *fmt, ...) {
        va_list ap;
        char *s;
        int len;

        va_start(ap, fmt);
        len = vasprintf(&s, fmt, ap);
        va_end(ap);
        if (len < 0)
                return -ENOMEM;
        iov[*n] = (struct iovec){ .iov_base = s, .iov_len = (size_t) len };
        (*n)++;
        return 0;
}

int log_build_iovec(struct iovec *iov, const char *ident, int priority, const log_fields *f, const char *message) {
        int n = 0, r = 0;

        r |= iov_add(iov, &n, "MESSAGE=%s", message);
        r |= iov_add(iov, &n, "PRIORITY=%d", priority);
        r |= iov_add(iov, &n, "SYSLOG_IDENTIFIER=%s", ident ? ident : "mariadb-sentinel");
        if (f && f->cluster)
                r |= iov_add(iov, &n, "SENTINEL_CLUSTER=%s", f->cluster);
        if (f && f->has_epoch)
                r |= iov_add(iov, &n, "SENTINEL_EPOCH=%" PRIu64, f->epoch);
        if (f && event_to_string(f->event)) {
                r |= iov_add(iov, &n, "SENTINEL_EVENT=%s", event_to_string(f->event));
                r |= iov_add(iov, &n, "MESSAGE_ID=%s", event_message_id(f->event));
                r |= iov_add(iov, &n, "SENTINEL_SEVERITY=%s", event_severity_to_string(event_severity_of(f->event)));
        }
        if (f && f->reason)
                r |= iov_add(iov, &n, "SENTINEL_REASON=%s", f->reason);
        if (r < 0) {
                log_free_iovec(iov, n);
                return -ENOMEM;
        }
        return n;
}

void log_free_iovec(struct iovec *iov, int n) {
        for (int i = 0; i < n; i++)
                free(iov[i].iov_base);
}

int log_fields_full(int priority, const log_fields *f, const char *format, ...) {
        _cleanup_free_ char *message = NULL;
        va_list ap;
        int r = 0;

        if (priority > log_conf.max_priority)
                return 0;

        va_start(ap, format);
        if (vasprintf(&message, format, ap) < 0)
                message = NULL;
        va_end(ap);
        if (!message)
                return -ENOMEM;

        if (log_conf.target == LOG_TARGET_JOURNAL) {
                struct iovec iov[LOG_MAX_FIELDS];
                int n = log_build_iovec(iov, log_conf.ident, priority, f, message);
                if (n >= 0) {
                        r = sd_journal_sendv(iov, n);
                        log_free_iovec(iov, n);
                        if (r >= 0)
                                return 0;
                }
                /* Journal gone: the line must not be lost, fall back to stderr. */
        }
        log_format_line(stderr, log_conf.ident, priority, f, message);
        return r < 0 ? r : 0;
}
