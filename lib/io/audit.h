/* The append-only JSONL audit log state_dir/audit.jsonl (SPEC 5.10): one JSON object per line,
 * each durable (fdatasync) before audit_append() returns, read back by sentinelctl history/why.
 * A crash can tear the last line: the reader skips it, and the next writer starts a fresh line. */
#pragma once

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define AUDIT_FILE_NAME "audit.jsonl"
#define AUDIT_FILE_MODE 0640
/* "2026-11-29T03:41:07.123Z" and its NUL. */
#define AUDIT_TIMESTAMP_MAX 25
/* Longer lines are skipped by the reader. */
#define AUDIT_LINE_MAX (1024 * 1024)

typedef struct audit audit;

/* Opens state_dir/audit.jsonl for appending, creating it (mode 0640) but never truncating it. */
int audit_open(const char *state_dir, audit **ret);

/* Wraps an fd open for writing, taking it (also on failure): for tests and special files. */
int audit_open_fd(int fd, audit **ret);

/* Closes the log; accepts NULL; returns NULL. */
audit *audit_close(audit *a);

static inline void audit_closep(audit **a) {
        audit_close(*a);
}

/* Formats wall-clock microseconds since the Unix epoch as RFC 3339 UTC with milliseconds. */
int audit_format_timestamp(uint64_t realtime_usec, char buf[static AUDIT_TIMESTAMP_MAX]);

/* Appends record (an object; "ts" added to it if absent) as one line in one write, durable on return. */
int audit_append(audit *a, json_object *record);

/* Appends {ts, cluster, epoch, decision, reason, inputs} (NULL: null), taking inputs even on failure. */
int audit_decision(audit *a, const char *cluster, uint64_t epoch, const char *decision, const char *reason,
        json_object *inputs);

/* Decides whether audit_read_tail() keeps a record. */
typedef bool (*audit_filter_t)(json_object *record, void *userdata);

/* A filter keeping the records whose "cluster" is userdata (a const char *). */
bool audit_filter_cluster(json_object *record, void *userdata);

/* The last max_records (0: all) records filter keeps, oldest first; returns the bad lines skipped. */
int audit_read_tail(const char *state_dir, size_t max_records, audit_filter_t filter, void *userdata,
        json_object **ret_array);
