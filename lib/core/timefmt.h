/* Wall-clock times for humans: RFC 3339 in UTC with milliseconds, the one format of the journal
 * lines on stderr, the audit log, hook events and the status JSON. */
#pragma once

#include <stdint.h>

/* "2026-11-29T03:41:07.123Z" and its NUL. */
#define TIMEFMT_RFC3339_MAX 25

/* Formats a CLOCK_REALTIME time in microseconds into buf: 0; -ERANGE when the year has more than
 * four digits (RFC 3339 has no room for them); -EINVAL when buf is NULL. */
int timefmt_rfc3339_ms(uint64_t realtime_usec, char buf[static TIMEFMT_RFC3339_MAX]);

/* The current CLOCK_REALTIME time in microseconds. */
uint64_t timefmt_now_realtime_usec(void);
