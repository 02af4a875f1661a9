#include <errno.h>
#include <stdio.h>
#include <time.h>

#include "macro.h"
#include "timefmt.h"

int timefmt_rfc3339_ms(uint64_t realtime_usec, char buf[static TIMEFMT_RFC3339_MAX]) {
        time_t sec = (time_t) (realtime_usec / USEC_PER_SEC);
        unsigned msec = (unsigned) (realtime_usec % USEC_PER_SEC / USEC_PER_MSEC);
        struct tm tm;

        if (!buf)
                return -EINVAL;
        if (realtime_usec / USEC_PER_SEC > (uint64_t) INT64_MAX || !gmtime_r(&sec, &tm))
                return -ERANGE;
        if (strftime(buf, TIMEFMT_RFC3339_MAX, "%Y-%m-%dT%H:%M:%S", &tm) != 19)
                return -ERANGE;
        (void) snprintf(buf + 19, TIMEFMT_RFC3339_MAX - 19, ".%03uZ", msec);
        return 0;
}

uint64_t timefmt_now_realtime_usec(void) {
        struct timespec ts;

        if (clock_gettime(CLOCK_REALTIME, &ts) < 0)
                return 0;
        return (uint64_t) ts.tv_sec * USEC_PER_SEC + (uint64_t) ts.tv_nsec / 1000;
}
