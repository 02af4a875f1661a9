/* The metrics registry (metrics.h). Series are found by a linear search over their family: the
 * sentinel has tens to a few hundred series, and a scrape touches each of them once. */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "macro.h"
#include "metrics.h"

typedef struct metric_series {
        char **labels; /* 2 x n_labels: name, value, ... */
        size_t n_labels;
        double value;     /* counter, gauge */
        uint64_t *counts; /* histogram: per bucket (not cumulative), n_buckets of them */
        uint64_t count;   /* histogram: every observation, +Inf included */
        double sum;
} metric_series;

struct metric_family {
        char *name;
        char *help;
        metric_type type;
        double *buckets;
        size_t n_buckets;
        metric_series *series;
        size_t n_series, n_allocated;
};

struct metrics {
        metric_family **families;
        size_t n_families;
};

static const char *const metric_type_table[_METRIC_TYPE_MAX] = {
        [METRIC_COUNTER] = "counter",
        [METRIC_GAUGE] = "gauge",
        [METRIC_HISTOGRAM] = "histogram",
};

const char *metric_type_to_string(metric_type t) {
        return t >= 0 && t < _METRIC_TYPE_MAX ? metric_type_table[t] : NULL;
}

int metrics_new(metrics **ret) {
        metrics *m = calloc(1, sizeof(*m));
        if (!m)
                return -ENOMEM;
        *ret = m;
        return 0;
}

static void series_done(metric_series *s) {
        for (size_t i = 0; i < 2 * s->n_labels; i++)
                free(s->labels[i]);
        free(s->labels);
        free(s->counts);
}

void metric_family_reset(metric_family *f) {
        for (size_t i = 0; i < f->n_series; i++)
                series_done(&f->series[i]);
        f->n_series = 0;
}

size_t metric_family_size(const metric_family *f) {
        return f ? f->n_series : 0;
}

static void family_free(metric_family *f) {
        if (!f)
                return;
        metric_family_reset(f);
        free(f->series);
        free(f->name);
        free(f->help);
        free(f->buckets);
        free(f);
}

metrics *metrics_free(metrics *m) {
        if (!m)
                return NULL;
        for (size_t i = 0; i < m->n_families; i++)
                family_free(m->families[i]);
        free(m->families);
        free(m);
        return NULL;
}

static bool is_alpha_(char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static bool is_digit(char c) {
        return c >= '0' && c <= '9';
}

static bool metric_name_is_valid(const char *s) {
        if (!s || !(is_alpha_(s[0]) || s[0] == ':'))
                return false;
        for (const char *p = s; *p; p++)
                if (!is_alpha_(*p) && !is_digit(*p) && *p != ':')
                        return false;
        return true;
}

static bool label_name_is_valid(const char *s) {
        if (!s || !is_alpha_(s[0]) || strncmp(s, "__", 2) == 0)
                return false;
        for (const char *p = s; *p; p++)
                if (!is_alpha_(*p) && !is_digit(*p))
                        return false;
        return true;
}

metric_family *metrics_find(const metrics *m, const char *name) {
        for (size_t i = 0; m && name && i < m->n_families; i++)
                if (streq(m->families[i]->name, name))
                        return m->families[i];
        return NULL;
}

int metrics_declare(metrics *m, const char *name, metric_type type, const char *help, const double *buckets,
        size_t n_buckets, metric_family **ret) {
        metric_family *f, **families;

        if (!m || !metric_name_is_valid(name) || type < 0 || type >= _METRIC_TYPE_MAX || !help || !help[0] ||
                strchr(help, '\n'))
                return -EINVAL;
        if (type == METRIC_HISTOGRAM) {
                if (!buckets || n_buckets == 0 || n_buckets > METRICS_BUCKETS_MAX)
                        return -EINVAL;
                for (size_t i = 0; i < n_buckets; i++)
                        if (!isfinite(buckets[i]) || (i > 0 && buckets[i] <= buckets[i - 1]))
                                return -EINVAL;
        } else if (buckets || n_buckets)
                return -EINVAL;
        if (metrics_find(m, name))
                return -EEXIST;

        f = calloc(1, sizeof(*f));
        if (!f)
                return -ENOMEM;
        f->type = type;
        f->name = strdup(name);
        f->help = strdup(help);
        if (type == METRIC_HISTOGRAM) {
                f->buckets = malloc(n_buckets * sizeof(double));
                if (f->buckets)
                        memcpy(f->buckets, buckets, n_buckets * sizeof(double));
                f->n_buckets = n_buckets;
        }
        families = realloc(m->families, (m->n_families + 1) * sizeof(*families));
        if (!f->name || !f->help || (type == METRIC_HISTOGRAM && !f->buckets) || !families) {
                if (families)
                        m->families = families;
                family_free(f);
                return -ENOMEM;
        }
        m->families = families;
        m->families[m->n_families++] = f;
        if (ret)
                *ret = f;
        return 0;
}

/* The number of pairs in labels, or -EINVAL when a name is bad, repeated or reserved for f. */
static int labels_count(const metric_family *f, const char *const *labels) {
        size_t n = 0;

        if (!labels)
                return 0;
        for (; labels[2 * n]; n++) {
                const char *name = labels[2 * n];
                if (!labels[2 * n + 1] || !label_name_is_valid(name) ||
                        (f->type == METRIC_HISTOGRAM && streq(name, "le")))
                        return -EINVAL;
                for (size_t k = 0; k < n; k++)
                        if (streq(labels[2 * k], name))
                                return -EINVAL;
        }
        return (int) n;
}

static bool series_matches(const metric_series *s, const char *const *labels, size_t n) {
        if (s->n_labels != n)
                return false;
        for (size_t i = 0; i < 2 * n; i++)
                if (!streq(s->labels[i], labels[i]))
                        return false;
        return true;
}

/* The series of labels; created (zeroed) when create is set. NULL with *ret_r set on failure. */
static metric_series *series_get(metric_family *f, const char *const *labels, bool create, int *ret_r) {
        metric_series *s;
        int n = labels_count(f, labels);

        if (n < 0) {
                *ret_r = n;
                return NULL;
        }
        for (size_t i = 0; i < f->n_series; i++)
                if (series_matches(&f->series[i], labels, (size_t) n))
                        return &f->series[i];
        if (!create) {
                *ret_r = -ENOENT;
                return NULL;
        }
        if (f->n_series == f->n_allocated) {
                size_t want = f->n_allocated ? 2 * f->n_allocated : 8;
                metric_series *more = realloc(f->series, want * sizeof(*more));
                if (!more)
                        goto oom;
                f->series = more;
                f->n_allocated = want;
        }
        s = &f->series[f->n_series];
        *s = (metric_series){ .n_labels = (size_t) n };
        if (n > 0) {
                s->labels = calloc(2 * (size_t) n, sizeof(char *));
                if (!s->labels)
                        goto oom;
                for (int i = 0; i < 2 * n; i++)
                        if (!(s->labels[i] = strdup(labels[i]))) {
                                series_done(s);
                                goto oom;
                        }
        }
        if (f->type == METRIC_HISTOGRAM && !(s->counts = calloc(f->n_buckets, sizeof(uint64_t)))) {
                series_done(s);
                goto oom;
        }
        f->n_series++;
        return s;
oom:
        *ret_r = -ENOMEM;
        return NULL;
}

int metric_add(metric_family *f, const char *const *labels, double v) {
        metric_series *s;
        int r = 0;

        if (!f || f->type == METRIC_HISTOGRAM || !isfinite(v) || (f->type == METRIC_COUNTER && v < 0))
                return -EINVAL;
        s = series_get(f, labels, true, &r);
        if (!s)
                return r;
        s->value += v;
        return 0;
}

int metric_inc(metric_family *f, const char *const *labels) {
        return metric_add(f, labels, 1);
}

int metric_set(metric_family *f, const char *const *labels, double v) {
        metric_series *s;
        int r = 0;

        if (!f || f->type != METRIC_GAUGE)
                return -EINVAL;
        s = series_get(f, labels, true, &r);
        if (!s)
                return r;
        s->value = v;
        return 0;
}

int metric_observe(metric_family *f, const char *const *labels, double v) {
        metric_series *s;
        int r = 0;

        if (!f || f->type != METRIC_HISTOGRAM || isnan(v))
                return -EINVAL;
        s = series_get(f, labels, true, &r);
        if (!s)
                return r;
        for (size_t i = 0; i < f->n_buckets; i++)
                if (v <= f->buckets[i]) {
                        s->counts[i]++;
                        break;
                }
        s->count++;
        s->sum += v;
        return 0;
}

int metric_get(const metric_family *f, const char *const *labels, double *ret) {
        metric_series *s;
        int r = 0;

        if (!f || !ret)
                return -EINVAL;
        s = series_get((metric_family *) f, labels, false, &r);
        if (!s)
                return r;
        *ret = f->type == METRIC_HISTOGRAM ? (double) s->count : s->value;
        return 0;
}

/* The shortest decimal that reads back as v, without an exponent between 1e-4 and 1e15 (a bucket
 * bound is a label value: le="120", never le="1.2e+02"); +Inf, -Inf, NaN as the format spells them. */
static void format_value(double v, char buf[static 32]) {
        double a = v < 0 ? -v : v;

        if (isnan(v)) {
                strcpy(buf, "NaN");
                return;
        }
        if (isinf(v)) {
                strcpy(buf, v > 0 ? "+Inf" : "-Inf");
                return;
        }
        if (a < 1e15 && v == (double) (int64_t) v) {
                snprintf(buf, 32, "%.0f", v);
                return;
        }
        for (int precision = 1; precision <= 17; precision++) {
                snprintf(buf, 32, "%.*g", precision, v);
                if (strtod(buf, NULL) == v)
                        break;
        }
        if (!strchr(buf, 'e') || a < 1e-4 || a >= 1e15)
                return;
        for (int decimals = 1; decimals <= 20; decimals++) {
                snprintf(buf, 32, "%.*f", decimals, v);
                if (strtod(buf, NULL) == v)
                        return;
        }
}

static void put_escaped(FILE *f, const char *s, bool quotes) {
        for (; *s; s++) {
                if (*s == '\\')
                        fputs("\\\\", f);
                else if (*s == '\n')
                        fputs("\\n", f);
                else if (*s == '"' && quotes)
                        fputs("\\\"", f);
                else
                        fputc(*s, f);
        }
}

/* NAME{labels[,le="bound"]} (no braces without any label). */
static void put_series_name(FILE *f, const metric_family *fam, const char *suffix, const metric_series *s,
        const char *le) {
        fprintf(f, METRICS_PREFIX "%s%s", fam->name, suffix);
        if (s->n_labels == 0 && !le)
                return;
        fputc('{', f);
        for (size_t i = 0; i < s->n_labels; i++) {
                fprintf(f, "%s%s=\"", i ? "," : "", s->labels[2 * i]);
                put_escaped(f, s->labels[2 * i + 1], true);
                fputc('"', f);
        }
        if (le)
                fprintf(f, "%sle=\"%s\"", s->n_labels ? "," : "", le);
        fputc('}', f);
}

static void put_family(FILE *f, const metric_family *fam) {
        char value[32], le[32];

        fprintf(f, "# HELP " METRICS_PREFIX "%s ", fam->name);
        put_escaped(f, fam->help, false);
        fprintf(f, "\n# TYPE " METRICS_PREFIX "%s %s\n", fam->name, metric_type_to_string(fam->type));
        for (size_t i = 0; i < fam->n_series; i++) {
                const metric_series *s = &fam->series[i];
                if (fam->type != METRIC_HISTOGRAM) {
                        put_series_name(f, fam, "", s, NULL);
                        format_value(s->value, value);
                        fprintf(f, " %s\n", value);
                        continue;
                }
                uint64_t cumulative = 0;
                for (size_t b = 0; b < fam->n_buckets; b++) {
                        cumulative += s->counts[b];
                        format_value(fam->buckets[b], le);
                        put_series_name(f, fam, "_bucket", s, le);
                        fprintf(f, " %llu\n", (unsigned long long) cumulative);
                }
                put_series_name(f, fam, "_bucket", s, "+Inf");
                fprintf(f, " %llu\n", (unsigned long long) s->count);
                put_series_name(f, fam, "_sum", s, NULL);
                format_value(s->sum, value);
                fprintf(f, " %s\n", value);
                put_series_name(f, fam, "_count", s, NULL);
                fprintf(f, " %llu\n", (unsigned long long) s->count);
        }
}

int metrics_render(const metrics *m, char **ret, size_t *ret_len) {
        char *buf = NULL;
        size_t len = 0;
        FILE *f;
        int r;

        if (!m || !ret)
                return -EINVAL;
        f = open_memstream(&buf, &len);
        if (!f)
                return -ENOMEM;
        for (size_t i = 0; i < m->n_families; i++)
                put_family(f, m->families[i]);
        r = ferror(f) ? -ENOMEM : 0;
        if (fclose(f) != 0 && r == 0)
                r = -ENOMEM;
        if (r < 0) {
                free(buf);
                return r;
        }
        *ret = buf;
        if (ret_len)
                *ret_len = len;
        return 0;
}
