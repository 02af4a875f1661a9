/* Unit tests for lib/core/gtid.c: every table row is one Check loop iteration. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gtid.h"
#include "macro.h"

#define _cleanup_gtid_list_ _cleanup_(gtid_list_done)
#define _cleanup_gtid_diff_ _cleanup_(gtid_diff_done)

/* Parses a list that the test expects to be valid. */
static gtid_list parse_ok(const char *s) {
        gtid_list l = GTID_LIST_EMPTY;
        int r = gtid_list_parse(s, &l);

        ck_assert_msg(r == 0, "parsing \"%s\": %d", s, r);
        return l;
}

/* ---- valid lists: parse, check the canonical form, parse that again ---- */

static const struct {
        const char *in;
        const char *canonical;
        size_t n;
} valid_lists[] = {
        {"", "", 0},
        {" ", "", 0},
        {" \t\r\n ", "", 0},
        {"0-1-100", "0-1-100", 1},
        {"0-1-0", "0-1-0", 1},
        {"0-0-0", "0-0-0", 1},
        {"0-1-100,1-2-5", "0-1-100,1-2-5", 2},
        {"1-2-5,0-1-100", "0-1-100,1-2-5", 2},
        {"0-1-100, 1-2-5", "0-1-100,1-2-5", 2},
        {"0-1-100 ,1-2-5", "0-1-100,1-2-5", 2},
        {"0-1-100,\n1-2-5", "0-1-100,1-2-5", 2},
        {"0-1-100,\r\n1-2-5,\n2-3-7", "0-1-100,1-2-5,2-3-7", 3},
        {"  0-1-100  ", "0-1-100", 1},
        {"\n0-1-100\n", "0-1-100", 1},
        {"\t0-1-1\t,\t1-1-1\t", "0-1-1,1-1-1", 2},
        {"10-1-1,2-1-1,1-1-1", "1-1-1,2-1-1,10-1-1", 3},
        {"5-1-1,4-1-1,3-1-1,2-1-1,1-1-1,0-1-1", "0-1-1,1-1-1,2-1-1,3-1-1,4-1-1,5-1-1", 6},
        {"4294967295-4294967295-18446744073709551615", "4294967295-4294967295-18446744073709551615", 1},
        {"4294967295-1-1,0-1-1", "0-1-1,4294967295-1-1", 2},
        {"007-01-0100", "7-1-100", 1},
        {"0-1-18446744073709551614", "0-1-18446744073709551614", 1},
};

START_TEST(test_parse_valid) {
        _cleanup_gtid_list_ gtid_list l = GTID_LIST_EMPTY, again = GTID_LIST_EMPTY;
        _cleanup_free_ char *s = NULL, *s2 = NULL;

        l = parse_ok(valid_lists[_i].in);
        ck_assert_uint_eq(l.n, valid_lists[_i].n);
        ck_assert(l.n > 0 || !l.items);
        for (size_t k = 1; k < l.n; k++)
                ck_assert_uint_lt(l.items[k - 1].domain_id, l.items[k].domain_id);

        ck_assert_int_eq(gtid_list_format(&l, &s), 0);
        ck_assert_str_eq(s, valid_lists[_i].canonical);

        /* The canonical form is a fixed point. */
        again = parse_ok(s);
        ck_assert_int_eq(gtid_list_format(&again, &s2), 0);
        ck_assert_str_eq(s2, s);
        ck_assert_int_eq(gtid_list_compare(&l, &again), GTID_ORDER_EQUAL);
}
END_TEST

/* ---- malformed lists: -EINVAL, and *ret untouched ---- */

static const char *const invalid_lists[] = {
        ",",
        " , ",
        "0-1-1,",
        "0-1-1, ",
        ",0-1-1",
        "0-1-1,,1-1-1",
        "0-1-1, ,1-1-1",
        "0-1-1,\n,1-1-1",
        "0",
        "0-1",
        "0-1-",
        "0--1",
        "-1-1",
        "0-1-1-",
        "0-1-1-1",
        "--",
        "-",
        "+0-1-1",
        "0-+1-1",
        "0-1-+1",
        "-0-1-1",
        "0--1-1",
        "0-1--1",
        "a-1-1",
        "0-b-1",
        "0-1-c",
        "0-1-1x",
        "0-1-1 x",
        "0-1-1;1-1-1",
        "0-1-1 1-1-1",
        "0-1-1\n1-1-1",
        "0 -1-1",
        "0- 1-1",
        "0-1 -1",
        "0-1- 1",
        "0x1-1-1",
        "0-1-1e3",
        "0-1-1.5",
        "4294967296-1-1",
        "0-4294967296-1",
        "0-1-18446744073709551616",
        "99999999999999999999999-1-1",
        "0-1-99999999999999999999999999999",
        "0-1-1,0-2-2",
        "0-1-1,1-1-1,0-1-1",
        "3-1-1,1-1-1,3-1-2",
        "0_1_1",
        "0:1:1",
        "\xff-1-1",
        "0-1-1\x01",
        "0-1-\xd9\xa3",
};

START_TEST(test_parse_invalid) {
        gtid_list l = {.n = 4242, .items = (gtid *) &l};

        ck_assert_msg(gtid_list_parse(invalid_lists[_i], &l) == -EINVAL, "\"%s\" was not refused",
                invalid_lists[_i]);
        ck_assert_uint_eq(l.n, 4242);
        ck_assert_ptr_eq(l.items, &l);
}
END_TEST

/* ---- single GTIDs ---- */

static const struct {
        const char *in;
        int r;
        gtid g;
} single[] = {
        {"0-1-100", 0, {0, 1, 100}},
        {"1-2-5", 0, {1, 2, 5}},
        {"4294967295-4294967295-18446744073709551615", 0, {UINT32_MAX, UINT32_MAX, UINT64_MAX}},
        {"0-0-0", 0, {0, 0, 0}},
        {"", -EINVAL, {}},
        {" 0-1-1", -EINVAL, {}},
        {"0-1-1 ", -EINVAL, {}},
        {"0-1-1,1-1-1", -EINVAL, {}},
        {"0-1", -EINVAL, {}},
        {"4294967296-0-0", -EINVAL, {}},
        {"0-1-18446744073709551616", -EINVAL, {}},
        {"-0-1-1", -EINVAL, {}},
};

START_TEST(test_parse_single) {
        gtid g = {7, 7, 7};
        char buf[GTID_STRING_MAX];

        ck_assert_int_eq(gtid_parse(single[_i].in, &g), single[_i].r);
        if (single[_i].r < 0) {
                ck_assert_uint_eq(g.domain_id, 7);
                ck_assert_uint_eq(g.server_id, 7);
                ck_assert_uint_eq(g.seq_no, 7);
                return;
        }
        ck_assert_uint_eq(g.domain_id, single[_i].g.domain_id);
        ck_assert_uint_eq(g.server_id, single[_i].g.server_id);
        ck_assert_uint_eq(g.seq_no, single[_i].g.seq_no);
        ck_assert_str_eq(gtid_format(&g, buf), single[_i].in);
}
END_TEST

/* ---- overall comparison of two lists (checked both ways round) ---- */

static const struct {
        const char *a;
        const char *b;
        gtid_order order;
} comparisons[] = {
        /* empty lists */
        {"", "", GTID_ORDER_EQUAL},
        {"0-1-1", "", GTID_ORDER_AHEAD},
        {"", "0-1-1", GTID_ORDER_BEHIND},
        {"0-1-0", "", GTID_ORDER_EQUAL},
        {"0-1-0", "0-2-0", GTID_ORDER_EQUAL},
        /* one domain */
        {"0-1-100", "0-1-100", GTID_ORDER_EQUAL},
        {"0-1-101", "0-1-100", GTID_ORDER_AHEAD},
        {"0-1-99", "0-1-100", GTID_ORDER_BEHIND},
        {"0-1-100", "0-2-100", GTID_ORDER_DIVERGED},
        {"0-1-18446744073709551615", "0-1-18446744073709551614", GTID_ORDER_AHEAD},
        /* server_id changes after failovers: compared by seq_no only */
        {"0-2-101", "0-1-100", GTID_ORDER_AHEAD},
        {"0-1-100", "0-2-101", GTID_ORDER_BEHIND},
        {"0-3-250", "0-1-100", GTID_ORDER_AHEAD},
        {"0-1-100,1-1-50", "0-2-101,1-3-50", GTID_ORDER_DIVERGED},
        {"0-1-100,1-3-49", "0-2-101,1-3-50", GTID_ORDER_BEHIND},
        {"0-2-101,1-3-50", "0-1-100,1-3-50", GTID_ORDER_AHEAD},
        /* several domains */
        {"0-1-100,1-2-5", "0-1-100,1-2-5", GTID_ORDER_EQUAL},
        {"1-2-5,0-1-100", "0-1-100,1-2-5", GTID_ORDER_EQUAL},
        {"0-1-100,1-2-6", "0-1-100,1-2-5", GTID_ORDER_AHEAD},
        {"0-1-101,1-2-6", "0-1-100,1-2-5", GTID_ORDER_AHEAD},
        {"0-1-99,1-2-5", "0-1-100,1-2-5", GTID_ORDER_BEHIND},
        {"0-1-99,1-2-4", "0-1-100,1-2-5", GTID_ORDER_BEHIND},
        {"0-1-101,1-2-4", "0-1-100,1-2-5", GTID_ORDER_DIVERGED},
        {"0-1-100,1-2-5", "0-1-100,1-3-5", GTID_ORDER_DIVERGED},
        {"0-1-101,1-2-5", "0-1-100,1-3-5", GTID_ORDER_DIVERGED},
        {"0-1-100,1-2-5,2-1-7", "0-1-100,1-2-5,2-1-7", GTID_ORDER_EQUAL},
        {"0-1-100,1-2-5,2-1-8", "0-1-100,1-2-5,2-1-7", GTID_ORDER_AHEAD},
        /* a domain missing on one side counts as seq_no 0 there */
        {"0-1-100,1-2-5", "0-1-100", GTID_ORDER_AHEAD},
        {"0-1-100", "0-1-100,1-2-5", GTID_ORDER_BEHIND},
        {"0-1-100,1-2-0", "0-1-100", GTID_ORDER_EQUAL},
        {"1-2-5", "0-1-100", GTID_ORDER_DIVERGED},
        {"0-1-100,1-2-5", "0-1-99,2-1-1", GTID_ORDER_DIVERGED},
        {"0-1-100,2-1-1", "0-1-99", GTID_ORDER_AHEAD},
        {"0-1-99", "0-1-99,1-1-1,2-1-1,3-1-1", GTID_ORDER_BEHIND},
        {"4294967295-1-1", "0-1-1", GTID_ORDER_DIVERGED},
};

static gtid_order order_mirror(gtid_order o) {
        return o == GTID_ORDER_AHEAD ? GTID_ORDER_BEHIND : o == GTID_ORDER_BEHIND ? GTID_ORDER_AHEAD : o;
}

START_TEST(test_compare) {
        _cleanup_gtid_list_ gtid_list a = parse_ok(comparisons[_i].a), b = parse_ok(comparisons[_i].b);
        gtid_order o = comparisons[_i].order, got = gtid_list_compare(&a, &b);

        ck_assert_msg(got == o, "\"%s\" vs \"%s\": %s, expected %s", comparisons[_i].a, comparisons[_i].b,
                gtid_order_to_string(got), gtid_order_to_string(o));
        ck_assert_int_eq(gtid_list_compare(&b, &a), order_mirror(o));
        ck_assert_int_eq(gtid_list_compare(&a, &a), GTID_ORDER_EQUAL);

        /* contains(x, y): y EQUAL or BEHIND x */
        ck_assert(gtid_list_contains(&a, &b) == (o == GTID_ORDER_EQUAL || o == GTID_ORDER_AHEAD));
        ck_assert(gtid_list_contains(&b, &a) == (o == GTID_ORDER_EQUAL || o == GTID_ORDER_BEHIND));
}
END_TEST

/* ---- per-domain detail through the iterator ---- */

static const struct {
        const char *a;
        const char *b;
        const char *detail; /* "domain:order[:a?b?]" where a?/b? says which side has the domain */
} details[] = {
        {"", "", ""},
        {"0-1-1", "", "0:ahead:a"},
        {"", "0-1-1", "0:behind:b"},
        {"0-1-100,1-2-5", "0-1-100,1-2-5", "0:equal:ab 1:equal:ab"},
        {"0-1-101,1-2-4", "0-1-100,1-2-5", "0:ahead:ab 1:behind:ab"},
        {"0-1-100,2-3-7", "1-2-5,2-4-7", "0:ahead:a 1:behind:b 2:diverged:ab"},
        {"0-2-101", "0-1-100", "0:ahead:ab"},
        {"0-1-0", "", "0:equal:a"},
        {"1-1-1,3-1-1,5-1-1", "0-1-1,2-1-1,4-1-1,6-1-1",
                "0:behind:b 1:ahead:a 2:behind:b 3:ahead:a 4:behind:b 5:ahead:a 6:behind:b"},
        {"4294967295-1-5", "0-1-5,4294967295-1-5", "0:behind:b 4294967295:equal:ab"},
};

START_TEST(test_compare_detail) {
        _cleanup_gtid_list_ gtid_list a = parse_ok(details[_i].a), b = parse_ok(details[_i].b);
        char out[512] = "";
        size_t len = 0;
        gtid_domain_cmp d;

        for (gtid_cmp_iter it = GTID_CMP_ITER_INIT(&a, &b); gtid_cmp_iter_next(&it, &d);) {
                ck_assert_ptr_eq(d.a, gtid_list_get(&a, d.domain_id));
                ck_assert_ptr_eq(d.b, gtid_list_get(&b, d.domain_id));
                ck_assert_int_eq(d.order, gtid_compare(d.a, d.b));
                len += (size_t) snprintf(out + len, sizeof(out) - len, "%s%u:%s:%s%s", len ? " " : "",
                        d.domain_id, gtid_order_to_string(d.order), d.a ? "a" : "", d.b ? "b" : "");
                ck_assert_uint_lt(len, sizeof(out));
        }
        ck_assert_str_eq(out, details[_i].detail);
}
END_TEST

/* ---- errant transactions: what have has that ref lacks ---- */

static const struct {
        const char *have;
        const char *ref;
        int n;
        const char *text;
} missing[] = {
        {"", "", 0, ""},
        {"", "0-1-100", 0, ""},
        {"0-1-100", "0-1-100", 0, ""},
        {"0-1-99", "0-1-100", 0, ""},
        {"0-1-100", "0-2-101", 0, ""},
        {"0-1-0", "", 0, ""},
        {"0-2-105", "0-1-100", 1, "0-2-101..105"},
        {"0-2-101", "0-1-100", 1, "0-2-101"},
        {"0-1-102", "0-1-100", 1, "0-1-101..102"},
        {"0-2-100", "0-1-100", 1, "0-2-100 (diverged from 0-1-100)"},
        {"1-2-5", "", 1, "1-2-1..5"},
        {"1-2-1", "", 1, "1-2-1"},
        {"0-1-100,1-2-5", "0-1-100", 1, "1-2-1..5"},
        {"0-1-101,1-2-4", "0-1-100,1-2-5", 1, "0-1-101"},
        {"0-1-100,1-3-7", "0-1-100,1-1-7", 1, "1-3-7 (diverged from 1-1-7)"},
        {"0-2-105,1-3-7", "0-1-100,1-1-7", 2, "0-2-101..105, 1-3-7 (diverged from 1-1-7)"},
        {"0-2-105,1-3-7,2-1-3", "0-1-100,1-1-7", 3, "0-2-101..105, 1-3-7 (diverged from 1-1-7), 2-1-1..3"},
        {"0-1-18446744073709551615", "0-1-0", 1, "0-1-1..18446744073709551615"},
        {"4294967295-4294967295-18446744073709551615", "4294967295-1-18446744073709551615", 1,
                "4294967295-4294967295-18446744073709551615 (diverged from "
                "4294967295-1-18446744073709551615)"},
        {"0-1-5", "0-1-4,1-1-9", 1, "0-1-5"},
};

START_TEST(test_missing) {
        _cleanup_gtid_list_ gtid_list have = parse_ok(missing[_i].have), ref = parse_ok(missing[_i].ref);
        _cleanup_gtid_diff_ gtid_diff d = GTID_DIFF_EMPTY;
        _cleanup_free_ char *s = NULL;

        ck_assert_int_eq(gtid_list_missing(&have, &ref, &d), missing[_i].n);
        ck_assert_uint_eq(d.n, (size_t) missing[_i].n);
        ck_assert(d.n > 0 || !d.items);
        ck_assert_int_eq(gtid_diff_format(&d, &s), 0);
        ck_assert_str_eq(s, missing[_i].text);

        /* Something missing exactly when have is not contained in ref. */
        ck_assert((d.n == 0) == gtid_list_contains(&ref, &have));

        for (size_t k = 0; k < d.n; k++) {
                const gtid *h = gtid_list_get(&have, d.items[k].last.domain_id);
                const gtid *r = gtid_list_get(&ref, d.items[k].last.domain_id);

                ck_assert_ptr_nonnull(h);
                ck_assert_uint_eq(d.items[k].last.seq_no, h->seq_no);
                ck_assert_uint_eq(d.items[k].after_seq_no, r ? r->seq_no : 0);
                ck_assert_uint_eq(d.items[k].ref_server_id, r ? r->server_id : 0);
                ck_assert(d.items[k].diverged == (gtid_compare(h, r) == GTID_ORDER_DIVERGED));
        }
}
END_TEST

/* ---- the most advanced of several lists ---- */

#define NOLIST ((const char *) 1) /* a NULL entry: unknown position */

static const struct {
        const char *lists[6]; /* NULL-terminated */
        int r;
        size_t index;
} advanced[] = {
        {{NULL}, -ENODATA, 0},
        {{NOLIST, NOLIST, NULL}, -ENODATA, 0},
        {{"", NULL}, 0, 0},
        {{"0-1-100", NULL}, 0, 0},
        {{"", "", "", NULL}, 0, 0},
        {{"0-1-100", "0-1-101", "0-1-99", NULL}, 0, 1},
        {{"0-1-101", "0-1-100", "0-1-99", NULL}, 0, 0},
        {{"0-1-99", "0-1-100", "0-1-101", NULL}, 0, 2},
        /* ties: the lowest index */
        {{"0-1-100", "0-1-101", "0-1-101", NULL}, 0, 1},
        {{"0-1-100", "0-1-100", NULL}, 0, 0},
        {{"0-1-99", "1-1-5,0-1-100", "0-1-100,1-1-5", NULL}, 0, 1},
        /* server_id changes */
        {{"0-1-100", "0-2-102", "0-2-101", NULL}, 0, 1},
        /* divergence */
        {{"0-1-100", "0-2-100", NULL}, -GTID_ERR_DIVERGED, 0},
        {{"0-1-101,1-1-4", "0-1-100,1-1-5", NULL}, -GTID_ERR_DIVERGED, 0},
        {{"0-1-5", "1-1-5", NULL}, -GTID_ERR_DIVERGED, 0},
        {{"0-1-100", "0-2-100", "0-1-99", NULL}, -GTID_ERR_DIVERGED, 0},
        /* diverging lists, yet a third is ahead of both: pairwise elimination would miss it */
        {{"0-1-100", "0-2-100", "0-3-101", NULL}, 0, 2},
        {{"0-1-101,1-1-4", "0-1-100,1-1-5", "0-1-101,1-1-5", NULL}, 0, 2},
        /* multi-domain */
        {{"0-1-100,1-2-5", "0-1-100", "1-2-5", "0-1-90,1-2-3", NULL}, 0, 0},
        {{"0-1-100", "0-1-100,1-2-1", NULL}, 0, 1},
        /* unknown positions are skipped */
        {{NOLIST, "0-1-100", NOLIST, "0-1-99", NULL}, 0, 1},
        {{NOLIST, "0-1-100", "0-2-100", NULL}, -GTID_ERR_DIVERGED, 0},
        {{"", "0-1-1", NOLIST, NULL}, 0, 1},
};

START_TEST(test_most_advanced) {
        gtid_list storage[6] = {};
        const gtid_list *lists[6] = {};
        size_t n = 0, index = 4242;
        int r;

        for (; advanced[_i].lists[n]; n++)
                if (advanced[_i].lists[n] != NOLIST) {
                        storage[n] = parse_ok(advanced[_i].lists[n]);
                        lists[n] = &storage[n];
                }

        r = gtid_list_most_advanced(lists, n, &index);
        ck_assert_int_eq(r, advanced[_i].r);
        if (r < 0)
                ck_assert_uint_eq(index, 4242);
        else {
                ck_assert_uint_eq(index, advanced[_i].index);
                for (size_t k = 0; k < n; k++)
                        if (lists[k])
                                ck_assert(gtid_list_contains(lists[index], lists[k]));
        }

        for (size_t k = 0; k < n; k++)
                gtid_list_done(&storage[k]);
}
END_TEST

/* ---- the rest of the API ---- */

START_TEST(test_compare_single) {
        gtid a = {0, 1, 100}, b = {0, 2, 100}, c = {0, 2, 101}, z = {0, 9, 0}, other = {1, 1, 100};

        ck_assert_int_eq(gtid_compare(&a, &a), GTID_ORDER_EQUAL);
        ck_assert_int_eq(gtid_compare(&a, &b), GTID_ORDER_DIVERGED);
        ck_assert_int_eq(gtid_compare(&a, &c), GTID_ORDER_BEHIND);
        ck_assert_int_eq(gtid_compare(&c, &a), GTID_ORDER_AHEAD);
        ck_assert_int_eq(gtid_compare(&a, NULL), GTID_ORDER_AHEAD);
        ck_assert_int_eq(gtid_compare(NULL, &a), GTID_ORDER_BEHIND);
        ck_assert_int_eq(gtid_compare(NULL, NULL), GTID_ORDER_EQUAL);
        ck_assert_int_eq(gtid_compare(&z, NULL), GTID_ORDER_EQUAL);
        ck_assert_int_eq(gtid_compare(&a, &other), _GTID_ORDER_INVALID);
}
END_TEST

START_TEST(test_get_set_copy_done) {
        _cleanup_gtid_list_ gtid_list l = GTID_LIST_EMPTY, c = GTID_LIST_EMPTY, e = GTID_LIST_EMPTY;
        _cleanup_free_ char *s = NULL, *s2 = NULL;
        gtid g;

        ck_assert_ptr_null(gtid_list_get(&l, 0));
        ck_assert_int_eq(gtid_list_set(&l, &(gtid){5, 1, 50}), 0);
        ck_assert_int_eq(gtid_list_set(&l, &(gtid){1, 1, 10}), 0);
        ck_assert_int_eq(gtid_list_set(&l, &(gtid){9, 1, 90}), 0);
        ck_assert_int_eq(gtid_list_set(&l, &(gtid){3, 1, 30}), 0);
        ck_assert_int_eq(gtid_list_set(&l, &(gtid){5, 2, 51}), 0); /* replaces */
        ck_assert_uint_eq(l.n, 4);
        ck_assert_int_eq(gtid_list_format(&l, &s), 0);
        ck_assert_str_eq(s, "1-1-10,3-1-30,5-2-51,9-1-90");

        ck_assert_ptr_null(gtid_list_get(&l, 0));
        ck_assert_ptr_null(gtid_list_get(&l, 4));
        ck_assert_ptr_null(gtid_list_get(&l, 10));
        ck_assert_ptr_null(gtid_list_get(&l, UINT32_MAX));
        ck_assert_uint_eq(gtid_list_get(&l, 1)->seq_no, 10);
        ck_assert_uint_eq(gtid_list_get(&l, 5)->server_id, 2);
        ck_assert_uint_eq(gtid_list_get(&l, 9)->seq_no, 90);

        ck_assert_int_eq(gtid_list_copy(&l, &c), 0);
        ck_assert_ptr_ne(c.items, l.items);
        ck_assert_int_eq(gtid_list_format(&c, &s2), 0);
        ck_assert_str_eq(s2, s);
        ck_assert_int_eq(gtid_list_set(&c, &(gtid){9, 1, 91}), 0);
        ck_assert_uint_eq(gtid_list_get(&l, 9)->seq_no, 90); /* deep copy */
        ck_assert_int_eq(gtid_list_compare(&c, &l), GTID_ORDER_AHEAD);

        gtid_list_done(&c);
        ck_assert_int_eq(gtid_list_copy(&e, &c), 0);
        ck_assert_uint_eq(c.n, 0);
        ck_assert_ptr_null(c.items);

        gtid_list_done(&l);
        ck_assert_uint_eq(l.n, 0);
        ck_assert_ptr_null(l.items);
        gtid_list_done(&l); /* idempotent */
        gtid_list_done(NULL);
        gtid_diff_done(NULL);

        ck_assert_int_eq(gtid_parse("3-4-5", &g), 0);
        ck_assert_int_eq(gtid_list_set(&l, &g), 0);
        ck_assert_ptr_eq(gtid_list_get(&l, 3), &l.items[0]);
}
END_TEST

START_TEST(test_strings) {
        char buf[GTID_STRING_MAX];

        for (gtid_order o = 0; o < _GTID_ORDER_MAX; o++)
                ck_assert_int_eq(gtid_order_from_string(gtid_order_to_string(o)), o);
        ck_assert_str_eq(gtid_order_to_string(GTID_ORDER_DIVERGED), "diverged");
        ck_assert_ptr_null(gtid_order_to_string(_GTID_ORDER_MAX));
        ck_assert_ptr_null(gtid_order_to_string(_GTID_ORDER_INVALID));
        ck_assert_int_eq(gtid_order_from_string("sideways"), _GTID_ORDER_INVALID);
        ck_assert_int_eq(gtid_order_from_string(NULL), _GTID_ORDER_INVALID);

        ck_assert_str_eq(gtid_format(&(gtid){UINT32_MAX, UINT32_MAX, UINT64_MAX}, buf),
                "4294967295-4294967295-18446744073709551615");
        ck_assert_uint_eq(strlen(buf), GTID_STRING_MAX - 1);

        ck_assert_ptr_nonnull(strstr(gtid_strerror(-GTID_ERR_DIVERGED), "diverge"));
        ck_assert_ptr_nonnull(gtid_strerror(-EINVAL));
        ck_assert_ptr_nonnull(gtid_strerror(-ENOMEM));
        ck_assert_ptr_nonnull(gtid_strerror(-ENODATA));
}
END_TEST

/* A long list: growth of the parse buffer, sorting and the format buffer size. */
START_TEST(test_long_list) {
        _cleanup_gtid_list_ gtid_list l = GTID_LIST_EMPTY;
        _cleanup_free_ char *in = NULL, *out = NULL;
        size_t len = 0, size = 1000 * (GTID_STRING_MAX + 2);

        in = malloc(size);
        ck_assert_ptr_nonnull(in);
        for (unsigned k = 1000; k > 0; k--)
                len += (size_t) snprintf(in + len, size - len, "%s%u-4294967295-18446744073709551615",
                        k < 1000 ? ",\n" : "", UINT32_MAX - k);
        ck_assert_uint_lt(len, size);

        l = parse_ok(in);
        ck_assert_uint_eq(l.n, 1000);
        ck_assert_uint_eq(l.items[0].domain_id, UINT32_MAX - 1000);
        ck_assert_uint_eq(l.items[999].domain_id, UINT32_MAX - 1);
        ck_assert_int_eq(gtid_list_format(&l, &out), 0);
        ck_assert_uint_eq(strlen(out), 1000 * (GTID_STRING_MAX - 1) + 999); /* and 999 commas */
}
END_TEST

static Suite *gtid_suite(void) {
        Suite *s = suite_create("gtid");
        TCase *tc = tcase_create("core");

        tcase_add_loop_test(tc, test_parse_valid, 0, ELEMENTSOF(valid_lists));
        tcase_add_loop_test(tc, test_parse_invalid, 0, ELEMENTSOF(invalid_lists));
        tcase_add_loop_test(tc, test_parse_single, 0, ELEMENTSOF(single));
        tcase_add_loop_test(tc, test_compare, 0, ELEMENTSOF(comparisons));
        tcase_add_loop_test(tc, test_compare_detail, 0, ELEMENTSOF(details));
        tcase_add_loop_test(tc, test_missing, 0, ELEMENTSOF(missing));
        tcase_add_loop_test(tc, test_most_advanced, 0, ELEMENTSOF(advanced));
        tcase_add_test(tc, test_compare_single);
        tcase_add_test(tc, test_get_set_copy_done);
        tcase_add_test(tc, test_strings);
        tcase_add_test(tc, test_long_list);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        SRunner *sr = srunner_create(gtid_suite());
        int failed;

        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
