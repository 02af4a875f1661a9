/* A small registry of metrics rendered in the Prometheus text exposition format 0.0.4: counters, gauges
 * and histograms with fixed buckets, grouped in families that carry a HELP and a TYPE line, each series
 * with its own label set. Every family name is prefixed METRICS_PREFIX when rendered. Pure: no I/O, no
 * clock, no locks (the daemon's one thread owns it).
 *
 * The format (https://prometheus.io/docs/instrumenting/exposition_formats/), as rendered here:
 *   # HELP mariadb_sentinel_NAME text            (backslash and newline escaped as \\ and \n)
 *   # TYPE mariadb_sentinel_NAME counter|gauge|histogram
 *   mariadb_sentinel_NAME{label="value",...} VALUE
 * Label values escape backslash, double quote and newline (\\, \", \n). A histogram series is rendered
 * as NAME_bucket{...,le="BOUND"} (cumulative counts, one per bucket, then le="+Inf"), NAME_sum and
 * NAME_count. Values are the shortest decimal that reads back as the same double; +Inf, -Inf, NaN.
 * Families come out in the order they were declared, series in the order they were first touched. */
#pragma once

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>

#define METRICS_PREFIX       "mariadb_sentinel_"
#define METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"
#define METRICS_BUCKETS_MAX  32

typedef enum metric_type {
        METRIC_COUNTER,
        METRIC_GAUGE,
        METRIC_HISTOGRAM,
        _METRIC_TYPE_MAX,
        _METRIC_TYPE_INVALID = -EINVAL,
} metric_type;

typedef struct metrics metrics;
typedef struct metric_family metric_family;

/* A label set: a NULL-terminated array of name, value pairs; NULL is the empty set. Names match
 * [a-zA-Z_][a-zA-Z0-9_]* and do not start with "__"; a histogram's labels may not be called "le". */
#define METRIC_LABELS(...) ((const char *const[]){ __VA_ARGS__, NULL })

/* "counter", "gauge", "histogram"; NULL when out of range. */
const char *metric_type_to_string(metric_type t);

/* A new, empty registry: 0 and *ret, or -ENOMEM. */
int metrics_new(metrics **ret);

/* Frees the registry with every family and series; NULL-safe; returns NULL. */
metrics *metrics_free(metrics *m);

static inline void metrics_freep(metrics **m) {
        metrics_free(*m);
}

/* Declares the family name (without the prefix; [a-zA-Z_:][a-zA-Z0-9_:]*) of type with its help text
 * (one line, not empty). A histogram takes n_buckets (1..METRICS_BUCKETS_MAX) finite, strictly
 * ascending upper bounds (copied; +Inf is implied); the others take none. 0 and *ret (may be NULL;
 * owned by m); -EEXIST when the name is declared already; -EINVAL; -ENOMEM. */
int metrics_declare(metrics *m, const char *name, metric_type type, const char *help, const double *buckets,
        size_t n_buckets, metric_family **ret);

/* The family declared as name (without the prefix), or NULL. */
metric_family *metrics_find(const metrics *m, const char *name);

/* Adds v to the series of labels, created at 0 when new: a counter takes v >= 0 (0 only creates the
 * series, so that it is rendered before its first event), a gauge any finite v. 0; -EINVAL for a bad
 * label set or value, or a histogram; -ENOMEM. */
int metric_add(metric_family *f, const char *const *labels, double v);

/* metric_add(f, labels, 1). */
int metric_inc(metric_family *f, const char *const *labels);

/* Sets the gauge series of labels to v (any double); -EINVAL for a counter or histogram or a bad
 * label set; -ENOMEM. */
int metric_set(metric_family *f, const char *const *labels, double v);

/* Counts v (not NaN) in the histogram series of labels: in the first bucket whose bound is >= v, in
 * _count, and into _sum. -EINVAL when f is no histogram, v is NaN or the labels are bad; -ENOMEM. */
int metric_observe(metric_family *f, const char *const *labels, double v);

/* The value of a counter or gauge series (a histogram's: its _count); -ENOENT when the series does
 * not exist, -EINVAL. */
int metric_get(const metric_family *f, const char *const *labels, double *ret);

/* Drops every series of the family (a gauge refilled from scratch at each scrape). */
void metric_family_reset(metric_family *f);

/* How many series the family has. */
size_t metric_family_size(const metric_family *f);

/* The whole registry in the text format (ends with a newline unless empty): 0 and a new string in
 * *ret (its length in *ret_len, may be NULL); -ENOMEM. */
int metrics_render(const metrics *m, char **ret, size_t *ret_len);
