/* libFuzzer target for the GTID parser (lib/core/gtid.c): what MariaDB servers report as
 * @@gtid_current_pos, @@gtid_slave_pos, Gtid_IO_Pos, and what peers and state carry.
 *
 * The input is read as one GTID, as one GTID list, and as up to four lists separated by '|', which
 * are then compared with each other. Invariants beyond "no crash, no leak":
 *   - what parses formats canonically and re-parses equal, and the canonical text is a fixed point
 *     (a canonical input, without leading zeros or spaces, formats to itself);
 *   - a parsed list is sorted by domain with one GTID per domain, and gtid_list_get() finds each;
 *   - gtid_list_compare() agrees with the per-domain walk (gtid_cmp_iter) and the rules of gtid.h, and
 *     is antisymmetric; contains, missing, most_advanced and set agree with it.
 * Seeds: tests/fuzz/corpus-gtid. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz-util.h"
#include "gtid.h"
#include "macro.h"

#define MAX_LISTS 4

static bool gtid_eq(const gtid *a, const gtid *b) {
        return a->domain_id == b->domain_id && a->server_id == b->server_id && a->seq_no == b->seq_no;
}

static bool list_eq(const gtid_list *a, const gtid_list *b) {
        if (a->n != b->n)
                return false;
        for (size_t i = 0; i < a->n; i++)
                if (!gtid_eq(&a->items[i], &b->items[i]))
                        return false;
        return true;
}

/* No number with a leading zero: the form gtid_format() writes. */
static bool no_leading_zero(const char *s) {
        for (const char *p = s; *p; p++)
                if (*p == '0' && (p == s || p[-1] < '0' || p[-1] > '9') && p[1] >= '0' && p[1] <= '9')
                        return false;
        return true;
}

static gtid_order mirror(gtid_order o) {
        return o == GTID_ORDER_AHEAD ? GTID_ORDER_BEHIND : o == GTID_ORDER_BEHIND ? GTID_ORDER_AHEAD : o;
}

static void one_gtid(const char *s) {
        char buf[GTID_STRING_MAX], again_buf[GTID_STRING_MAX];
        gtid g, again;
        gtid_list l;
        int r;

        if (gtid_parse(s, &g) < 0)
                return;
        gtid_format(&g, buf);
        check(strlen(buf) < GTID_STRING_MAX);
        check(gtid_parse(buf, &again) == 0 && gtid_eq(&g, &again));
        check(streq(gtid_format(&again, again_buf), buf));
        if (no_leading_zero(s))
                check(streq(buf, s));
        check(gtid_compare(&g, &again) == GTID_ORDER_EQUAL);

        /* One GTID is a list of one. */
        r = gtid_list_parse(s, &l);
        check(r == 0 || r == -ENOMEM);
        if (r == 0) {
                check(l.n == 1 && gtid_eq(&l.items[0], &g));
                gtid_list_done(&l);
        }
}

/* Parses s as a list into *ret (left empty when it does not parse) and checks it: 0 or -EINVAL. */
static int one_list(const char *s, gtid_list *ret) {
        _cleanup_free_ char *text = NULL, *text_again = NULL;
        _cleanup_(gtid_list_done) gtid_list again = GTID_LIST_EMPTY, copy = GTID_LIST_EMPTY;
        gtid_list l;
        int r;

        *ret = GTID_LIST_EMPTY;
        r = gtid_list_parse(s, &l);
        if (r < 0) {
                check(r == -EINVAL || r == -ENOMEM);
                return r;
        }
        check((l.n == 0) == (l.items == NULL));
        for (size_t i = 0; i < l.n; i++) {
                check(i == 0 || l.items[i - 1].domain_id < l.items[i].domain_id);
                check(gtid_list_get(&l, l.items[i].domain_id) == &l.items[i]);
        }

        if (gtid_list_format(&l, &text) < 0)
                goto done;
        check(!strpbrk(text, " \t\r\n"));
        check((l.n == 0) == (text[0] == '\0'));
        if (no_leading_zero(s) && !strpbrk(s, " \t\r\n") && l.n <= 1)
                check(streq(text, s));
        r = gtid_list_parse(text, &again);
        check(r == 0 || r == -ENOMEM);
        if (r == 0) {
                check(list_eq(&l, &again));
                check(gtid_list_format(&again, &text_again) < 0 || streq(text, text_again));
                check(gtid_list_compare(&l, &again) == GTID_ORDER_EQUAL);
                check(gtid_list_contains(&l, &again) && gtid_list_contains(&again, &l));
        }
        if (gtid_list_copy(&l, &copy) == 0)
                check(list_eq(&l, &copy));
done:
        *ret = l;
        return 0;
}

/* a against b: the overall order from the per-domain walk, and everything derived from it. */
static void pair(const gtid_list *a, const gtid_list *b) {
        _cleanup_(gtid_diff_done) gtid_diff diff = GTID_DIFF_EMPTY;
        _cleanup_(gtid_list_done) gtid_list merged = GTID_LIST_EMPTY;
        _cleanup_free_ char *diff_text = NULL;
        bool ahead = false, behind = false, diverged = false, first = true;
        size_t n_missing = 0, index = SIZE_MAX;
        uint32_t last_domain = 0;
        gtid_order expected, o;
        gtid_domain_cmp d;
        int r;

        for (gtid_cmp_iter it = GTID_CMP_ITER_INIT(a, b); gtid_cmp_iter_next(&it, &d);) {
                check(first || d.domain_id > last_domain);
                first = false, last_domain = d.domain_id;
                check(d.a || d.b);
                check(d.a == gtid_list_get(a, d.domain_id) && d.b == gtid_list_get(b, d.domain_id));
                check(d.order == gtid_compare(d.a, d.b));
                check(mirror(d.order) == gtid_compare(d.b, d.a));
                ahead |= d.order == GTID_ORDER_AHEAD;
                behind |= d.order == GTID_ORDER_BEHIND;
                diverged |= d.order == GTID_ORDER_DIVERGED;
                n_missing += d.order == GTID_ORDER_AHEAD || d.order == GTID_ORDER_DIVERGED;
        }
        expected = diverged || (ahead && behind) ? GTID_ORDER_DIVERGED
                   : ahead                       ? GTID_ORDER_AHEAD
                   : behind                      ? GTID_ORDER_BEHIND
                                                 : GTID_ORDER_EQUAL;
        o = gtid_list_compare(a, b);
        check(o == expected);
        check(gtid_list_compare(b, a) == mirror(o));
        check(gtid_order_from_string(gtid_order_to_string(o)) == o);
        check(gtid_list_contains(a, b) == (o == GTID_ORDER_EQUAL || o == GTID_ORDER_AHEAD));

        /* What a has that b lacks: one range per domain where a is ahead or diverged. */
        r = gtid_list_missing(a, b, &diff);
        check(r >= 0 || r == -ENOMEM);
        if (r >= 0) {
                check((size_t) r == n_missing && diff.n == n_missing);
                for (size_t i = 0; i < diff.n; i++) {
                        const gtid_range *g = &diff.items[i];
                        const gtid *ref = gtid_list_get(b, g->last.domain_id);

                        check(i == 0 || diff.items[i - 1].last.domain_id < g->last.domain_id);
                        check(gtid_list_get(a, g->last.domain_id) &&
                                gtid_eq(gtid_list_get(a, g->last.domain_id), &g->last));
                        check(g->after_seq_no == (ref ? ref->seq_no : 0));
                        check(g->ref_server_id == (ref ? ref->server_id : 0));
                        check(g->diverged == (gtid_compare(&g->last, ref) == GTID_ORDER_DIVERGED));
                        check(g->diverged || g->last.seq_no > g->after_seq_no);
                }
                if (gtid_diff_format(&diff, &diff_text) == 0)
                        check((diff.n == 0) == (diff_text[0] == '\0') && fuzz_is_one_line(diff_text));
        }

        /* The most advanced of the two, with an unknown position in between. */
        const gtid_list *lists[] = {a, NULL, b};
        r = gtid_list_most_advanced(lists, ELEMENTSOF(lists), &index);
        if (o == GTID_ORDER_DIVERGED)
                check(r == -GTID_ERR_DIVERGED);
        else
                check(r == 0 && index == (o == GTID_ORDER_BEHIND ? 2 : 0));

        /* b's GTIDs set into a copy of a: b's win, a's other domains stay. */
        if (gtid_list_copy(a, &merged) < 0)
                return;
        for (size_t i = 0; i < b->n; i++)
                if (gtid_list_set(&merged, &b->items[i]) < 0)
                        return;
        for (size_t i = 0; i < merged.n; i++) {
                const gtid *x = gtid_list_get(b, merged.items[i].domain_id)
                                        ?: gtid_list_get(a, merged.items[i].domain_id);

                check(i == 0 || merged.items[i - 1].domain_id < merged.items[i].domain_id);
                check(x && gtid_eq(x, &merged.items[i]));
        }
        check(gtid_list_contains(&merged, b));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_free_ char *s = fuzz_strndup(data, size);
        gtid_list lists[MAX_LISTS];
        size_t n = 0;
        char *p, *bar;

        one_gtid(s);
        if (one_list(s, &lists[0]) == 0)
                gtid_list_done(&lists[0]);

        for (p = s; n < MAX_LISTS; p = bar + 1) {
                bar = strchr(p, '|');
                if (bar)
                        *bar = '\0';
                one_gtid(p);
                if (one_list(p, &lists[n]) == 0)
                        n++;
                if (!bar)
                        break;
        }
        for (size_t i = 0; i < n; i++)
                for (size_t j = 0; j < n; j++)
                        pair(&lists[i], &lists[j]);
        for (size_t i = 0; i < n; i++)
                gtid_list_done(&lists[i]);
        return 0;
}
