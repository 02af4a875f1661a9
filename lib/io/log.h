/* Logging for the daemon and the CLI: structured journald records under systemd, plain lines on
 * stderr otherwise. The target is chosen once by log_setup() at start-up and never changes after:
 * it is the only process-wide setting outside the daemon's context. Library code does not log;
 * it returns errors and its caller logs once. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/uio.h>
#include <syslog.h>

#include "event.h"
#include "macro.h"

typedef enum log_target {
        LOG_TARGET_AUTO,    /* journal when stderr is connected to journald, else stderr */
        LOG_TARGET_JOURNAL, /* sd_journal_sendv() */
        LOG_TARGET_STDERR,  /* one plain line per record */
        _LOG_TARGET_MAX,
        _LOG_TARGET_INVALID = -22,
} log_target;

/* The structured context of one record; every field is optional (NULL / has_epoch false / event < 0). */
typedef struct log_fields {
        const char *cluster;
        bool has_epoch;
        uint64_t epoch;
        sentinel_event event; /* _EVENT_INVALID when the record is not an event */
        const char *reason;   /* a reason code such as "COOLDOWN" */
} log_fields;

#define LOG_FIELDS_NONE ((log_fields){ .event = _EVENT_INVALID })

/* Chooses the target (AUTO resolves against $JOURNAL_STREAM) and the identifier; call once at start. */
void log_setup(const char *ident, log_target target, int max_priority);

/* The target in force after log_setup(): LOG_TARGET_JOURNAL or LOG_TARGET_STDERR. */
log_target log_get_target(void);

/* Whether stderr is the journal's stream ($JOURNAL_STREAM names stderr's device and inode). */
bool log_stderr_is_journal(void);

/* Logs one record at a syslog priority; returns 0, or -errno when the journal refused it. */
int log_fields_full(int priority, const log_fields *f, const char *format, ...) _printf_(3, 4);

/* Writes the stderr form of a record (no newline inside, one at the end) to f. */
void log_format_line(FILE *out, const char *ident, int priority, const log_fields *f, const char *message);

/* Fills iov (at least LOG_MAX_FIELDS entries) with the journal fields of a record, allocating each
 * "KEY=value" string; returns the number used. Free them with log_free_iovec(). */
#define LOG_MAX_FIELDS 9
int log_build_iovec(struct iovec *iov, const char *ident, int priority, const log_fields *f, const char *message);

/* Frees the strings log_build_iovec() allocated. */
void log_free_iovec(struct iovec *iov, int n);

#define log_error(...) log_fields_full(LOG_ERR, &LOG_FIELDS_NONE, __VA_ARGS__)
#define log_warning(...) log_fields_full(LOG_WARNING, &LOG_FIELDS_NONE, __VA_ARGS__)
#define log_notice(...) log_fields_full(LOG_NOTICE, &LOG_FIELDS_NONE, __VA_ARGS__)
#define log_info(...) log_fields_full(LOG_INFO, &LOG_FIELDS_NONE, __VA_ARGS__)
#define log_debug(...) log_fields_full(LOG_DEBUG, &LOG_FIELDS_NONE, __VA_ARGS__)

/* Logs a SPEC 6 event for a cluster and epoch, at the event's severity, with its MESSAGE_ID. */
#define log_event(ev, cluster_, epoch_, reason_, ...)                                                      \
        log_fields_full(log_priority_of_event(ev),                                                     \
                &(log_fields){ .cluster = (cluster_), .has_epoch = true, .epoch = (epoch_), .event = (ev), \
                        .reason = (reason_) },                                                         \
                __VA_ARGS__)

/* The syslog priority an event is logged at (critical → LOG_CRIT, warning → LOG_WARNING, info → LOG_NOTICE). */
int log_priority_of_event(sentinel_event ev);
