#include <assert.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gtid.h"
#include "macro.h"

static const char *const gtid_order_table[_GTID_ORDER_MAX] = {
        [GTID_ORDER_EQUAL] = "equal",
        [GTID_ORDER_BEHIND] = "behind",
        [GTID_ORDER_AHEAD] = "ahead",
        [GTID_ORDER_DIVERGED] = "diverged",
};

const char *gtid_order_to_string(gtid_order o) {
        if (o < 0 || o >= _GTID_ORDER_MAX)
                return NULL;
        return gtid_order_table[o];
}

gtid_order gtid_order_from_string(const char *s) {
        if (!s)
                return _GTID_ORDER_INVALID;
        for (int i = 0; i < _GTID_ORDER_MAX; i++)
                if (streq(gtid_order_table[i], s))
                        return (gtid_order) i;
        return _GTID_ORDER_INVALID;
}

const char *gtid_strerror(int r) {
        switch (r) {
        case -GTID_ERR_DIVERGED:
                return "GTID positions diverge: none contains all the others";
        case -EINVAL:
                return "Malformed GTID position";
        case -ENODATA:
                return "No GTID position given";
        default:
                /* The daemon is single-threaded, so strerror()'s static buffer is fine here. */
                return strerror(r < 0 ? -r : r);
        }
}

/* Locale-independent: a GTID list is ASCII whatever LC_CTYPE says. */
static bool gtid_is_digit(char c) {
        return c >= '0' && c <= '9';
}

static bool gtid_is_space(char c) {
        return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static const char *gtid_skip_space(const char *p) {
        while (gtid_is_space(*p))
                p++;
        return p;
}

/* Reads one unsigned decimal number <= max at *p and advances *p past it. At least one digit, no
 * sign; leading zeros are accepted, as the server's own parser does. */
static int gtid_parse_number(const char **p, uint64_t max, uint64_t *ret) {
        const char *s = *p;
        uint64_t v = 0;

        if (!gtid_is_digit(*s))
                return -EINVAL;

        for (; gtid_is_digit(*s); s++) {
                unsigned d = (unsigned) (*s - '0');

                if (v > (max - d) / 10)
                        return -EINVAL;
                v = v * 10 + d;
        }

        *p = s;
        *ret = v;
        return 0;
}

/* Reads "D-S-N" at *p and advances *p past it; whatever follows is the caller's business. */
static int gtid_parse_at(const char **p, gtid *ret) {
        const char *s = *p;
        uint64_t domain, server, seq;
        int r;

        r = gtid_parse_number(&s, UINT32_MAX, &domain);
        if (r < 0)
                return r;
        if (*s++ != '-')
                return -EINVAL;
        r = gtid_parse_number(&s, UINT32_MAX, &server);
        if (r < 0)
                return r;
        if (*s++ != '-')
                return -EINVAL;
        r = gtid_parse_number(&s, UINT64_MAX, &seq);
        if (r < 0)
                return r;

        *p = s;
        *ret = (gtid){.domain_id = (uint32_t) domain, .server_id = (uint32_t) server, .seq_no = seq};
        return 0;
}

int gtid_parse(const char *s, gtid *ret) {
        gtid g;
        int r;

        assert(s);
        assert(ret);

        r = gtid_parse_at(&s, &g);
        if (r < 0)
                return r;
        if (*s != '\0')
                return -EINVAL;

        *ret = g;
        return 0;
}

char *gtid_format(const gtid *g, char buf[static GTID_STRING_MAX]) {
        assert(g);

        snprintf(buf, GTID_STRING_MAX, "%" PRIu32 "-%" PRIu32 "-%" PRIu64, g->domain_id, g->server_id,
                g->seq_no);
        return buf;
}

gtid_order gtid_compare(const gtid *a, const gtid *b) {
        uint64_t sa = a ? a->seq_no : 0, sb = b ? b->seq_no : 0;

        if (a && b && a->domain_id != b->domain_id)
                return _GTID_ORDER_INVALID;

        if (sa > sb)
                return GTID_ORDER_AHEAD;
        if (sa < sb)
                return GTID_ORDER_BEHIND;
        /* Same seq_no: the same transaction only if the same server wrote it. seq_no 0 is no
         * transaction at all, so it cannot diverge. */
        if (sa != 0 && a->server_id != b->server_id)
                return GTID_ORDER_DIVERGED;
        return GTID_ORDER_EQUAL;
}

static int gtid_cmp_domain(const void *x, const void *y) {
        const gtid *a = x, *b = y;

        return a->domain_id < b->domain_id ? -1 : a->domain_id > b->domain_id;
}

int gtid_list_parse(const char *s, gtid_list *ret) {
        _cleanup_free_ gtid *items = NULL;
        size_t n = 0, allocated = 0;
        const char *p;
        int r;

        assert(s);
        assert(ret);

        p = gtid_skip_space(s);
        while (*p != '\0') {
                if (n == allocated) {
                        size_t m = allocated ? allocated * 2 : 4;
                        gtid *t;

                        t = reallocarray(items, m, sizeof(gtid));
                        if (!t)
                                return -ENOMEM;
                        items = t;
                        allocated = m;
                }

                r = gtid_parse_at(&p, &items[n]);
                if (r < 0)
                        return r;
                n++;

                p = gtid_skip_space(p);
                if (*p == '\0')
                        break;
                if (*p != ',')
                        return -EINVAL;
                p = gtid_skip_space(p + 1);
                if (*p == '\0') /* a trailing comma is an empty element */
                        return -EINVAL;
        }

        if (n > 1)
                qsort(items, n, sizeof(gtid), gtid_cmp_domain);
        for (size_t i = 1; i < n; i++)
                if (items[i - 1].domain_id == items[i].domain_id)
                        return -EINVAL;

        *ret = (gtid_list){.n = n, .items = n > 0 ? TAKE_PTR(items) : NULL};
        return 0;
}

int gtid_list_format(const gtid_list *l, char **ret) {
        _cleanup_free_ char *s = NULL;
        size_t len = 0;

        assert(l);
        assert(ret);

        /* Each GTID needs at most GTID_STRING_MAX - 1 characters plus a comma or the NUL. */
        if (l->n > SIZE_MAX / GTID_STRING_MAX - 1)
                return -ENOMEM;
        s = malloc(l->n * GTID_STRING_MAX + 1);
        if (!s)
                return -ENOMEM;
        s[0] = '\0';

        for (size_t i = 0; i < l->n; i++) {
                char buf[GTID_STRING_MAX];

                if (i > 0)
                        s[len++] = ',';
                gtid_format(&l->items[i], buf);
                strcpy(s + len, buf);
                len += strlen(buf);
        }

        *ret = TAKE_PTR(s);
        return 0;
}

void gtid_list_done(gtid_list *l) {
        if (!l)
                return;
        free(l->items);
        *l = GTID_LIST_EMPTY;
}

int gtid_list_copy(const gtid_list *src, gtid_list *ret) {
        gtid *items = NULL;

        assert(src);
        assert(ret);

        if (src->n > 0) {
                items = reallocarray(NULL, src->n, sizeof(gtid));
                if (!items)
                        return -ENOMEM;
                memcpy(items, src->items, src->n * sizeof(gtid));
        }

        *ret = (gtid_list){.n = src->n, .items = items};
        return 0;
}

/* The index of domain_id in l, or where it would be inserted; *found says which. */
static size_t gtid_list_find(const gtid_list *l, uint32_t domain_id, bool *found) {
        size_t lo = 0, hi = l->n;

        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;

                if (l->items[mid].domain_id < domain_id)
                        lo = mid + 1;
                else
                        hi = mid;
        }

        *found = lo < l->n && l->items[lo].domain_id == domain_id;
        return lo;
}

const gtid *gtid_list_get(const gtid_list *l, uint32_t domain_id) {
        bool found;
        size_t i;

        assert(l);

        i = gtid_list_find(l, domain_id, &found);
        return found ? &l->items[i] : NULL;
}

int gtid_list_set(gtid_list *l, const gtid *g) {
        bool found;
        gtid *t;
        size_t i;

        assert(l);
        assert(g);

        i = gtid_list_find(l, g->domain_id, &found);
        if (found) {
                l->items[i] = *g;
                return 0;
        }

        if (l->n >= SIZE_MAX / sizeof(gtid) - 1)
                return -ENOMEM;
        t = reallocarray(l->items, l->n + 1, sizeof(gtid));
        if (!t)
                return -ENOMEM;
        memmove(t + i + 1, t + i, (l->n - i) * sizeof(gtid));
        t[i] = *g;
        l->items = t;
        l->n++;
        return 0;
}

bool gtid_cmp_iter_next(gtid_cmp_iter *it, gtid_domain_cmp *ret) {
        const gtid *a = NULL, *b = NULL;

        assert(it);
        assert(it->a);
        assert(it->b);
        assert(ret);

        if (it->i < it->a->n)
                a = &it->a->items[it->i];
        if (it->j < it->b->n)
                b = &it->b->items[it->j];
        if (!a && !b)
                return false;

        /* Merge step: take the lower domain; when both lists have it, take both. */
        if (a && b && a->domain_id < b->domain_id)
                b = NULL;
        else if (a && b && a->domain_id > b->domain_id)
                a = NULL;
        if (a)
                it->i++;
        if (b)
                it->j++;

        *ret = (gtid_domain_cmp){
                .domain_id = a ? a->domain_id : b->domain_id,
                .a = a,
                .b = b,
                .order = gtid_compare(a, b),
        };
        return true;
}

gtid_order gtid_list_compare(const gtid_list *a, const gtid_list *b) {
        bool ahead = false, behind = false;
        gtid_domain_cmp d;

        assert(a);
        assert(b);

        for (gtid_cmp_iter it = GTID_CMP_ITER_INIT(a, b); gtid_cmp_iter_next(&it, &d);)
                switch (d.order) {
                case GTID_ORDER_AHEAD:
                        ahead = true;
                        break;
                case GTID_ORDER_BEHIND:
                        behind = true;
                        break;
                case GTID_ORDER_DIVERGED:
                        return GTID_ORDER_DIVERGED;
                default:
                        break;
                }

        if (ahead && behind) /* each has transactions the other lacks */
                return GTID_ORDER_DIVERGED;
        if (ahead)
                return GTID_ORDER_AHEAD;
        if (behind)
                return GTID_ORDER_BEHIND;
        return GTID_ORDER_EQUAL;
}

bool gtid_list_contains(const gtid_list *a, const gtid_list *b) {
        gtid_order o = gtid_list_compare(b, a);

        return o == GTID_ORDER_EQUAL || o == GTID_ORDER_BEHIND;
}

int gtid_list_most_advanced(const gtid_list *const *lists, size_t n, size_t *ret_index) {
        bool any = false;

        assert(lists || n == 0);
        assert(ret_index);

        /* Quadratic, but n is the number of servers of a cluster. A pairwise tournament would be
         * wrong: 0-3-101 is ahead of both 0-1-100 and 0-2-100 although those two diverge. */
        for (size_t i = 0; i < n; i++) {
                bool best = true;

                if (!lists[i])
                        continue;
                any = true;

                for (size_t j = 0; j < n && best; j++) {
                        gtid_order o;

                        if (j == i || !lists[j])
                                continue;
                        o = gtid_list_compare(lists[i], lists[j]);
                        best = o == GTID_ORDER_EQUAL || o == GTID_ORDER_AHEAD;
                }

                if (best) {
                        *ret_index = i;
                        return 0;
                }
        }

        return any ? -GTID_ERR_DIVERGED : -ENODATA;
}

int gtid_list_missing(const gtid_list *have, const gtid_list *ref, gtid_diff *ret) {
        _cleanup_free_ gtid_range *items = NULL;
        gtid_domain_cmp d;
        size_t n = 0;

        assert(have);
        assert(ref);
        assert(ret);

        /* At most one range per domain of have. */
        if (have->n > 0) {
                items = reallocarray(NULL, have->n, sizeof(gtid_range));
                if (!items)
                        return -ENOMEM;
        }

        for (gtid_cmp_iter it = GTID_CMP_ITER_INIT(have, ref); gtid_cmp_iter_next(&it, &d);) {
                if (d.order != GTID_ORDER_AHEAD && d.order != GTID_ORDER_DIVERGED)
                        continue;

                assert(d.a); /* AHEAD or DIVERGED implies have has the domain */
                assert(n < have->n);
                items[n++] = (gtid_range){
                        .last = *d.a,
                        .after_seq_no = d.b ? d.b->seq_no : 0,
                        .ref_server_id = d.b ? d.b->server_id : 0,
                        .diverged = d.order == GTID_ORDER_DIVERGED,
                };
        }

        if (n == 0) {
                free(items);
                items = NULL;
        }
        *ret = (gtid_diff){.n = n, .items = TAKE_PTR(items)};
        return (int) (n > INT_MAX ? INT_MAX : n);
}

void gtid_diff_done(gtid_diff *d) {
        if (!d)
                return;
        free(d->items);
        *d = GTID_DIFF_EMPTY;
}

/* Longest range text: "D-S-L (diverged from D-R-L)", longer than "D-S-F..L". */
#define GTID_RANGE_STRING_MAX (2 * GTID_STRING_MAX + sizeof(" (diverged from )"))

static void gtid_range_format(const gtid_range *r, char buf[static GTID_RANGE_STRING_MAX]) {
        char last[GTID_STRING_MAX];

        gtid_format(&r->last, last);

        if (r->diverged) {
                char theirs[GTID_STRING_MAX];
                gtid g = {r->last.domain_id, r->ref_server_id, r->after_seq_no};

                snprintf(buf, GTID_RANGE_STRING_MAX, "%s (diverged from %s)", last, gtid_format(&g, theirs));
        } else if (r->last.seq_no - r->after_seq_no > 1)
                snprintf(buf, GTID_RANGE_STRING_MAX, "%" PRIu32 "-%" PRIu32 "-%" PRIu64 "..%" PRIu64,
                        r->last.domain_id, r->last.server_id, r->after_seq_no + 1, r->last.seq_no);
        else
                memcpy(buf, last, sizeof(last));
}

int gtid_diff_format(const gtid_diff *d, char **ret) {
        _cleanup_free_ char *s = NULL;
        size_t len = 0, step = GTID_RANGE_STRING_MAX + 2; /* the text and ", " */

        assert(d);
        assert(ret);

        if (d->n > (SIZE_MAX - 1) / step)
                return -ENOMEM;
        s = malloc(d->n * step + 1);
        if (!s)
                return -ENOMEM;
        s[0] = '\0';

        for (size_t i = 0; i < d->n; i++) {
                char buf[GTID_RANGE_STRING_MAX];

                if (i > 0) {
                        memcpy(s + len, ", ", 2);
                        len += 2;
                }
                gtid_range_format(&d->items[i], buf);
                strcpy(s + len, buf);
                len += strlen(buf);
        }

        *ret = TAKE_PTR(s);
        return 0;
}
