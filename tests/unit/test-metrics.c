/* Unit tests for lib/core/metrics.c: declaring families, counters, gauges and histograms, label
 * escaping, and the rendered text format 0.0.4 compared byte for byte. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "macro.h"
#include "metrics.h"

/* Renders m and compares it with want. */
static void assert_render(const metrics *m, const char *want) {
        _cleanup_free_ char *text = NULL;
        size_t len = 0;

        ck_assert_int_eq(metrics_render(m, &text, &len), 0);
        ck_assert_str_eq(text, want);
        ck_assert_uint_eq(len, strlen(want));
}

START_TEST(test_counter_and_gauge) {
        _cleanup_(metrics_freep) metrics *m = NULL;
        metric_family *c = NULL, *g = NULL;
        double v = -1;

        ck_assert_int_eq(metrics_new(&m), 0);
        assert_render(m, "");
        ck_assert_int_eq(metrics_declare(m, "failovers_total", METRIC_COUNTER, "Failovers by result.", NULL, 0, &c), 0);
        ck_assert_int_eq(metrics_declare(m, "epoch", METRIC_GAUGE, "The epoch.", NULL, 0, &g), 0);
        ck_assert_ptr_eq(metrics_find(m, "epoch"), g);
        ck_assert_ptr_null(metrics_find(m, "nope"));
        /* declared, no series yet: HELP and TYPE only */
        assert_render(m, "# HELP mariadb_sentinel_failovers_total Failovers by result.\n"
                         "# TYPE mariadb_sentinel_failovers_total counter\n"
                         "# HELP mariadb_sentinel_epoch The epoch.\n"
                         "# TYPE mariadb_sentinel_epoch gauge\n");

        ck_assert_int_eq(metric_add(c, METRIC_LABELS("cluster", "main", "result", "ok"), 0), 0);
        ck_assert_int_eq(metric_inc(c, METRIC_LABELS("cluster", "main", "result", "failed")), 0);
        ck_assert_int_eq(metric_inc(c, METRIC_LABELS("cluster", "main", "result", "ok")), 0);
        ck_assert_int_eq(metric_add(c, METRIC_LABELS("cluster", "main", "result", "ok"), 2), 0);
        ck_assert_int_eq(metric_get(c, METRIC_LABELS("cluster", "main", "result", "ok"), &v), 0);
        ck_assert(v == 3);
        ck_assert_int_eq(metric_get(c, METRIC_LABELS("cluster", "other", "result", "ok"), &v), -ENOENT);
        /* label order is part of the series' identity: a different order is another series */
        ck_assert_int_eq(metric_get(c, METRIC_LABELS("result", "ok", "cluster", "main"), &v), -ENOENT);
        ck_assert_uint_eq(metric_family_size(c), 2);

        ck_assert_int_eq(metric_set(g, NULL, 7), 0);
        ck_assert_int_eq(metric_set(g, NULL, 12), 0);
        ck_assert_int_eq(metric_add(g, NULL, -0.5), 0);
        assert_render(m, "# HELP mariadb_sentinel_failovers_total Failovers by result.\n"
                         "# TYPE mariadb_sentinel_failovers_total counter\n"
                         "mariadb_sentinel_failovers_total{cluster=\"main\",result=\"ok\"} 3\n"
                         "mariadb_sentinel_failovers_total{cluster=\"main\",result=\"failed\"} 1\n"
                         "# HELP mariadb_sentinel_epoch The epoch.\n"
                         "# TYPE mariadb_sentinel_epoch gauge\n"
                         "mariadb_sentinel_epoch 11.5\n");

        metric_family_reset(g);
        ck_assert_uint_eq(metric_family_size(g), 0);
        ck_assert_int_eq(metric_get(g, NULL, &v), -ENOENT);
}
END_TEST

START_TEST(test_label_escaping) {
        _cleanup_(metrics_freep) metrics *m = NULL;
        metric_family *g = NULL;

        ck_assert_int_eq(metrics_new(&m), 0);
        ck_assert_int_eq(metrics_declare(m, "info", METRIC_GAUGE, "Help with a \\ backslash.", NULL, 0, &g), 0);
        ck_assert_int_eq(metric_set(g, METRIC_LABELS("v", "a\\b\"c\nd", "plain", "x'y{z}=,"), 1), 0);
        ck_assert_int_eq(metric_set(g, METRIC_LABELS("empty", ""), 2), 0);
        assert_render(m, "# HELP mariadb_sentinel_info Help with a \\\\ backslash.\n"
                         "# TYPE mariadb_sentinel_info gauge\n"
                         "mariadb_sentinel_info{v=\"a\\\\b\\\"c\\nd\",plain=\"x'y{z}=,\"} 1\n"
                         "mariadb_sentinel_info{empty=\"\"} 2\n");
}
END_TEST

START_TEST(test_histogram) {
        _cleanup_(metrics_freep) metrics *m = NULL;
        static const double bounds[] = { 0.005, 0.1, 1, 2.5 };
        metric_family *h = NULL;
        double v = 0;

        ck_assert_int_eq(metrics_new(&m), 0);
        ck_assert_int_eq(metrics_declare(m, "phase_duration_seconds", METRIC_HISTOGRAM, "Phase durations.", bounds,
                                 ELEMENTSOF(bounds), &h),
                0);
        ck_assert_int_eq(metric_observe(h, METRIC_LABELS("phase", "elect"), 0.001), 0);
        ck_assert_int_eq(metric_observe(h, METRIC_LABELS("phase", "elect"), 0.005), 0); /* bound inclusive */
        ck_assert_int_eq(metric_observe(h, METRIC_LABELS("phase", "elect"), 0.5), 0);
        ck_assert_int_eq(metric_observe(h, METRIC_LABELS("phase", "elect"), 30), 0); /* only +Inf */
        ck_assert_int_eq(metric_observe(h, METRIC_LABELS("phase", "promote"), 2.5), 0);
        ck_assert_int_eq(metric_get(h, METRIC_LABELS("phase", "elect"), &v), 0);
        ck_assert(v == 4);
        assert_render(m, "# HELP mariadb_sentinel_phase_duration_seconds Phase durations.\n"
                         "# TYPE mariadb_sentinel_phase_duration_seconds histogram\n"
                         "mariadb_sentinel_phase_duration_seconds_bucket{phase=\"elect\",le=\"0.005\"} 2\n"
                         "mariadb_sentinel_phase_duration_seconds_bucket{phase=\"elect\",le=\"0.1\"} 2\n"
                         "mariadb_sentinel_phase_duration_seconds_bucket{phase=\"elect\",le=\"1\"} 3\n"
                         "mariadb_sentinel_phase_duration_seconds_bucket{phase=\"elect\",le=\"2.5\"} 3\n"
                         "mariadb_sentinel_phase_duration_seconds_bucket{phase=\"elect\",le=\"+Inf\"} 4\n"
                         "mariadb_sentinel_phase_duration_seconds_sum{phase=\"elect\"} 30.506\n"
                         "mariadb_sentinel_phase_duration_seconds_count{phase=\"elect\"} 4\n"
                         "mariadb_sentinel_phase_duration_seconds_bucket{phase=\"promote\",le=\"0.005\"} 0\n"
                         "mariadb_sentinel_phase_duration_seconds_bucket{phase=\"promote\",le=\"0.1\"} 0\n"
                         "mariadb_sentinel_phase_duration_seconds_bucket{phase=\"promote\",le=\"1\"} 0\n"
                         "mariadb_sentinel_phase_duration_seconds_bucket{phase=\"promote\",le=\"2.5\"} 1\n"
                         "mariadb_sentinel_phase_duration_seconds_bucket{phase=\"promote\",le=\"+Inf\"} 1\n"
                         "mariadb_sentinel_phase_duration_seconds_sum{phase=\"promote\"} 2.5\n"
                         "mariadb_sentinel_phase_duration_seconds_count{phase=\"promote\"} 1\n");
}
END_TEST

START_TEST(test_histogram_without_labels) {
        _cleanup_(metrics_freep) metrics *m = NULL;
        static const double bounds[] = { 1 };
        metric_family *h = NULL;

        ck_assert_int_eq(metrics_new(&m), 0);
        ck_assert_int_eq(metrics_declare(m, "h", METRIC_HISTOGRAM, "H.", bounds, 1, &h), 0);
        ck_assert_int_eq(metric_observe(h, NULL, -INFINITY), 0);
        assert_render(m, "# HELP mariadb_sentinel_h H.\n"
                         "# TYPE mariadb_sentinel_h histogram\n"
                         "mariadb_sentinel_h_bucket{le=\"1\"} 1\n"
                         "mariadb_sentinel_h_bucket{le=\"+Inf\"} 1\n"
                         "mariadb_sentinel_h_sum -Inf\n"
                         "mariadb_sentinel_h_count 1\n");
}
END_TEST

START_TEST(test_values) {
        _cleanup_(metrics_freep) metrics *m = NULL;
        metric_family *g = NULL;
        static const struct {
                double v;
                const char *text;
        } rows[] = {
                { 0, "0" },         { 1, "1" },           { -3, "-3" },       { 0.1, "0.1" },
                { 1.0 / 3, "0.3333333333333333" },        { 1e21, "1e+21" },  { 123456789, "123456789" },
                { INFINITY, "+Inf" }, { -INFINITY, "-Inf" }, { NAN, "NaN" },
                /* no exponent between 1e-4 and 1e15 (bucket bounds are label values) */
                { 120, "120" },       { 1e14, "100000000000000" }, { 0.0005, "0.0005" }, { 0.00012, "0.00012" },
                { 1234567.5, "1234567.5" },               { 2.5e-5, "2.5e-05" }, { -0.0, "-0" },
        };

        ck_assert_int_eq(metrics_new(&m), 0);
        ck_assert_int_eq(metrics_declare(m, "g", METRIC_GAUGE, "G.", NULL, 0, &g), 0);
        for (size_t i = 0; i < ELEMENTSOF(rows); i++) {
                _cleanup_free_ char *text = NULL, *want = NULL;
                metric_family_reset(g);
                ck_assert_int_eq(metric_set(g, NULL, rows[i].v), 0);
                ck_assert_int_eq(metrics_render(m, &text, NULL), 0);
                ck_assert_int_ge(asprintf(&want, "# HELP mariadb_sentinel_g G.\n# TYPE mariadb_sentinel_g gauge\n"
                                                 "mariadb_sentinel_g %s\n",
                                         rows[i].text),
                        0);
                ck_assert_str_eq(text, want);
        }
}
END_TEST

START_TEST(test_refusals) {
        _cleanup_(metrics_freep) metrics *m = NULL;
        static const double bounds[] = { 1, 2 }, unsorted[] = { 2, 1 }, inf[] = { 1, INFINITY };
        metric_family *c = NULL, *g = NULL, *h = NULL;

        ck_assert_int_eq(metrics_new(&m), 0);
        ck_assert_int_eq(metrics_declare(m, "c_total", METRIC_COUNTER, "C.", NULL, 0, &c), 0);
        ck_assert_int_eq(metrics_declare(m, "g", METRIC_GAUGE, "G.", NULL, 0, &g), 0);
        ck_assert_int_eq(metrics_declare(m, "h", METRIC_HISTOGRAM, "H.", bounds, 2, &h), 0);

        /* names, help, types, buckets */
        ck_assert_int_eq(metrics_declare(m, "c_total", METRIC_COUNTER, "again", NULL, 0, NULL), -EEXIST);
        ck_assert_int_eq(metrics_declare(m, "9lives", METRIC_GAUGE, "x", NULL, 0, NULL), -EINVAL);
        ck_assert_int_eq(metrics_declare(m, "a-b", METRIC_GAUGE, "x", NULL, 0, NULL), -EINVAL);
        ck_assert_int_eq(metrics_declare(m, "", METRIC_GAUGE, "x", NULL, 0, NULL), -EINVAL);
        ck_assert_int_eq(metrics_declare(m, "ok:name", METRIC_GAUGE, "x", NULL, 0, NULL), 0);
        ck_assert_int_eq(metrics_declare(m, "x", METRIC_GAUGE, "", NULL, 0, NULL), -EINVAL);
        ck_assert_int_eq(metrics_declare(m, "x", METRIC_GAUGE, "two\nlines", NULL, 0, NULL), -EINVAL);
        ck_assert_int_eq(metrics_declare(m, "x", _METRIC_TYPE_MAX, "x", NULL, 0, NULL), -EINVAL);
        ck_assert_int_eq(metrics_declare(m, "x", METRIC_GAUGE, "x", bounds, 2, NULL), -EINVAL);
        ck_assert_int_eq(metrics_declare(m, "x", METRIC_HISTOGRAM, "x", NULL, 0, NULL), -EINVAL);
        ck_assert_int_eq(metrics_declare(m, "x", METRIC_HISTOGRAM, "x", unsorted, 2, NULL), -EINVAL);
        ck_assert_int_eq(metrics_declare(m, "x", METRIC_HISTOGRAM, "x", inf, 2, NULL), -EINVAL);
        ck_assert_ptr_null(metrics_find(m, "x"));

        /* what each type takes */
        ck_assert_int_eq(metric_add(c, NULL, -1), -EINVAL);
        ck_assert_int_eq(metric_add(c, NULL, NAN), -EINVAL);
        ck_assert_int_eq(metric_set(c, NULL, 1), -EINVAL);
        ck_assert_int_eq(metric_observe(c, NULL, 1), -EINVAL);
        ck_assert_int_eq(metric_observe(g, NULL, 1), -EINVAL);
        ck_assert_int_eq(metric_add(h, NULL, 1), -EINVAL);
        ck_assert_int_eq(metric_set(h, NULL, 1), -EINVAL);
        ck_assert_int_eq(metric_observe(h, NULL, NAN), -EINVAL);

        /* label names */
        ck_assert_int_eq(metric_inc(c, METRIC_LABELS("9x", "v")), -EINVAL);
        ck_assert_int_eq(metric_inc(c, METRIC_LABELS("__name__", "v")), -EINVAL);
        ck_assert_int_eq(metric_inc(c, METRIC_LABELS("a-b", "v")), -EINVAL);
        ck_assert_int_eq(metric_inc(c, METRIC_LABELS("a", "1", "a", "2")), -EINVAL);
        ck_assert_int_eq(metric_inc(c, ((const char *const[]){ "a", NULL })), -EINVAL);
        ck_assert_int_eq(metric_observe(h, METRIC_LABELS("le", "1"), 1), -EINVAL);
        ck_assert_int_eq(metric_inc(c, METRIC_LABELS("le", "1")), 0); /* only histograms reserve le */
        ck_assert_uint_eq(metric_family_size(c), 1);
        ck_assert_uint_eq(metric_family_size(h), 0);
}
END_TEST

START_TEST(test_many_series) {
        _cleanup_(metrics_freep) metrics *m = NULL;
        metric_family *g = NULL;
        char name[16];
        double v = 0;

        ck_assert_int_eq(metrics_new(&m), 0);
        ck_assert_int_eq(metrics_declare(m, "up", METRIC_GAUGE, "Up.", NULL, 0, &g), 0);
        for (int i = 0; i < 100; i++) {
                snprintf(name, sizeof(name), "db-%d", i);
                ck_assert_int_eq(metric_set(g, METRIC_LABELS("server", name), i), 0);
        }
        ck_assert_uint_eq(metric_family_size(g), 100);
        ck_assert_int_eq(metric_get(g, METRIC_LABELS("server", "db-42"), &v), 0);
        ck_assert(v == 42);
}
END_TEST

START_TEST(test_strings) {
        ck_assert_str_eq(metric_type_to_string(METRIC_COUNTER), "counter");
        ck_assert_str_eq(metric_type_to_string(METRIC_GAUGE), "gauge");
        ck_assert_str_eq(metric_type_to_string(METRIC_HISTOGRAM), "histogram");
        ck_assert_ptr_null(metric_type_to_string(_METRIC_TYPE_MAX));
        ck_assert_ptr_null(metric_type_to_string(_METRIC_TYPE_INVALID));
}
END_TEST

static Suite *metrics_suite(void) {
        Suite *s = suite_create("metrics");
        TCase *tc = tcase_create("core");

        tcase_add_test(tc, test_counter_and_gauge);
        tcase_add_test(tc, test_label_escaping);
        tcase_add_test(tc, test_histogram);
        tcase_add_test(tc, test_histogram_without_labels);
        tcase_add_test(tc, test_values);
        tcase_add_test(tc, test_refusals);
        tcase_add_test(tc, test_many_series);
        tcase_add_test(tc, test_strings);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        SRunner *sr = srunner_create(metrics_suite());
        int failed;

        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
