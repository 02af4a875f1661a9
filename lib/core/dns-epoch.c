/* The epoch record of a DNS endpoint. See dns-epoch.h. */
#include <inttypes.h>
#include <stdio.h>
#include <sys/socket.h>
#include <string.h>

#include "dns-epoch.h"
#include "hostport.h"
#include "macro.h"
#include "strutil.h"

static const char *const action_table[_DNS_EPOCH_ACTION_MAX] = {
        [DNS_EPOCH_CREATE] = "create",
        [DNS_EPOCH_ADVANCE] = "advance",
        [DNS_EPOCH_REPEAT] = "repeat",
        [DNS_EPOCH_STALE] = "stale",
        [DNS_EPOCH_CONFLICT] = "conflict",
};

const char *dns_epoch_action_to_string(dns_epoch_action a) {
        return a >= 0 && a < _DNS_EPOCH_ACTION_MAX ? action_table[a] : NULL;
}

bool dns_epoch_action_writes(dns_epoch_action a) {
        return a == DNS_EPOCH_CREATE || a == DNS_EPOCH_ADVANCE || a == DNS_EPOCH_REPEAT;
}

int dns_epoch_owner(const char *name, char **ret) {
        size_t n;
        char *s;

        if (!name || !ret || !dns_name_is_valid(name))
                return -EINVAL;
        n = strlen(name);
        if (name[n - 1] == '.')
                n--;
        if (strlen(DNS_EPOCH_LABEL) + 1 + n > DNS_EPOCH_NAME_MAX)
                return -ENAMETOOLONG;
        if (asprintf(&s, "%s.%.*s.", DNS_EPOCH_LABEL, (int) n, name) < 0)
                return -ENOMEM;
        *ret = s;
        return 0;
}

int dns_epoch_format(uint64_t epoch, const char *primary, char *buf, size_t size) {
        int n;

        if (!primary || !str_is_name(primary) || !buf)
                return -EINVAL;
        n = snprintf(buf, size, "epoch=%" PRIu64 " primary=%s", epoch, primary);
        if (n < 0)
                return -EINVAL;
        if ((size_t) n >= size)
                return -ENOBUFS;
        return n;
}

/* Parses the decimal at *p..end (no sign, no leading zero, no overflow) and moves *p past it. */
static bool parse_u64(const char **p, const char *end, uint64_t *ret) {
        const char *s = *p;
        uint64_t v = 0;

        if (s >= end || *s < '0' || *s > '9' || (*s == '0' && s + 1 < end && s[1] >= '0' && s[1] <= '9'))
                return false;
        for (; s < end && *s >= '0' && *s <= '9'; s++) {
                unsigned d = (unsigned) (*s - '0');

                if (v > (UINT64_MAX - d) / 10)
                        return false;
                v = v * 10 + d;
        }
        *p = s;
        *ret = v;
        return true;
}

int dns_epoch_parse(const void *text, size_t size, dns_epoch_record *ret) {
        static const char epoch_key[] = "epoch=", primary_key[] = " primary=";
        const char *p = text, *end = p + size;
        dns_epoch_record rec = {};
        size_t n;

        if (!text || !ret)
                return -EINVAL;
        if (size < sizeof(epoch_key) - 1 || memcmp(p, epoch_key, sizeof(epoch_key) - 1) != 0)
                return -EINVAL;
        p += sizeof(epoch_key) - 1;
        if (!parse_u64(&p, end, &rec.epoch))
                return -EINVAL;
        if ((size_t) (end - p) < sizeof(primary_key) - 1 ||
                memcmp(p, primary_key, sizeof(primary_key) - 1) != 0)
                return -EINVAL;
        p += sizeof(primary_key) - 1;
        n = (size_t) (end - p);
        if (n == 0 || n > DNS_EPOCH_PRIMARY_MAX || memchr(p, '\0', n))
                return -EINVAL;
        memcpy(rec.primary, p, n);
        rec.primary[n] = '\0';
        if (!str_is_name(rec.primary))
                return -EINVAL;
        *ret = rec;
        return 0;
}

dns_epoch_action dns_epoch_decide(const dns_epoch_record *current, uint64_t epoch, const char *primary) {
        if (!primary || !str_is_name(primary))
                return _DNS_EPOCH_ACTION_INVALID;
        if (!current)
                return DNS_EPOCH_CREATE;
        if (current->epoch < epoch)
                return DNS_EPOCH_ADVANCE;
        if (current->epoch > epoch)
                return DNS_EPOCH_STALE;
        return streq(current->primary, primary) ? DNS_EPOCH_REPEAT : DNS_EPOCH_CONFLICT;
}

/* Appends one RR; rdata (taken) may be NULL for an empty one. */
static bool rr_list_add(ldns_rr_list *l, const ldns_rdf *owner, ldns_rr_type type, ldns_rr_class class,
        uint32_t ttl, ldns_rdf *rdata) {
        ldns_rr *rr = ldns_rr_new();
        ldns_rdf *o = ldns_rdf_clone(owner);

        if (!rr || !o || (rdata && !ldns_rr_push_rdf(rr, rdata))) {
                ldns_rr_free(rr);
                ldns_rdf_deep_free(o);
                ldns_rdf_deep_free(rdata);
                return false;
        }
        ldns_rr_set_owner(rr, o);
        ldns_rr_set_type(rr, type);
        ldns_rr_set_class(rr, class);
        ldns_rr_set_ttl(rr, ttl);
        if (!ldns_rr_list_push_rr(l, rr)) {
                ldns_rr_free(rr);
                return false;
        }
        return true;
}

/* The TXT rdata of one character-string (at most 255 bytes: the caller's texts are shorter). */
static ldns_rdf *txt_rdf(const char *s) {
        uint8_t buf[256];
        size_t n = strlen(s);

        if (n > 255)
                return NULL;
        buf[0] = (uint8_t) n;
        memcpy(buf + 1, s, n);
        return ldns_rdf_new_frm_data(LDNS_RDF_TYPE_STR, n + 1, buf);
}

int dns_epoch_update_new(const char *zone, const char *name, uint32_t ttl, const dns_epoch_record *prev,
        uint64_t epoch, const char *primary, int family, const void *address, ldns_pkt **ret) {
        char text[DNS_EPOCH_TEXT_MAX], prev_text[DNS_EPOCH_TEXT_MAX];
        _cleanup_free_ char *owner_text = NULL;
        ldns_rdf *zone_rdf = NULL, *name_rdf = NULL, *owner = NULL, *addr = NULL;
        ldns_rr_list *pr = NULL, *up = NULL;
        ldns_rr_type type = family == AF_INET ? LDNS_RR_TYPE_A : LDNS_RR_TYPE_AAAA;
        ldns_pkt *pkt = NULL;
        int r;

        if (!zone || !name || !address || !ret || !dns_name_is_valid(zone) ||
                !dns_name_is_in_zone(name, zone) || (family != AF_INET && family != AF_INET6) ||
                dns_epoch_format(epoch, primary, text, sizeof(text)) < 0 ||
                (prev && dns_epoch_format(prev->epoch, prev->primary, prev_text, sizeof(prev_text)) < 0))
                return -EINVAL;
        r = dns_epoch_owner(name, &owner_text);
        if (r < 0)
                return r;
        zone_rdf = ldns_dname_new_frm_str(zone);
        name_rdf = ldns_dname_new_frm_str(name);
        owner = ldns_dname_new_frm_str(owner_text);
        addr = ldns_rdf_new_frm_data(family == AF_INET ? LDNS_RDF_TYPE_A : LDNS_RDF_TYPE_AAAA,
                family == AF_INET ? 4 : 16, address);
        pr = ldns_rr_list_new();
        up = ldns_rr_list_new();
        if (zone_rdf && name_rdf && owner && addr && pr && up &&
                (prev ? rr_list_add(pr, owner, LDNS_RR_TYPE_TXT, LDNS_RR_CLASS_IN, 0, txt_rdf(prev_text))
                      : rr_list_add(pr, owner, LDNS_RR_TYPE_TXT, LDNS_RR_CLASS_NONE, 0, NULL)) &&
                rr_list_add(up, name_rdf, LDNS_RR_TYPE_A, LDNS_RR_CLASS_ANY, 0, NULL) &&
                rr_list_add(up, name_rdf, LDNS_RR_TYPE_AAAA, LDNS_RR_CLASS_ANY, 0, NULL) &&
                rr_list_add(up, name_rdf, type, LDNS_RR_CLASS_IN, ttl, TAKE_PTR(addr)) &&
                rr_list_add(up, owner, LDNS_RR_TYPE_TXT, LDNS_RR_CLASS_ANY, 0, NULL) &&
                rr_list_add(up, owner, LDNS_RR_TYPE_TXT, LDNS_RR_CLASS_IN, ttl, txt_rdf(text))) {
                pkt = ldns_update_pkt_new(TAKE_PTR(zone_rdf), LDNS_RR_CLASS_IN, pr, up, NULL);
                if (pkt) {
                        ldns_pkt_set_rd(pkt, false);
                        ldns_pkt_set_id(pkt, 0);
                }
        }
        ldns_rdf_deep_free(zone_rdf);
        ldns_rdf_deep_free(name_rdf);
        ldns_rdf_deep_free(owner);
        ldns_rdf_deep_free(addr);
        ldns_rr_list_deep_free(pr);
        ldns_rr_list_deep_free(up);
        if (!pkt)
                return -ENOMEM;
        *ret = pkt;
        return 0;
}

int dns_epoch_from_answer(
        const ldns_pkt *pkt, const char *name, dns_epoch_record *ret, char *why, size_t why_size) {
        _cleanup_free_ char *owner_text = NULL;
        const ldns_rr_list *an = ldns_pkt_answer(pkt);
        const ldns_rr *found = NULL;
        const ldns_rdf *rdf;
        ldns_rdf *owner;
        size_t n = 0;
        char *s;
        int r;

        r = dns_epoch_owner(name, &owner_text);
        if (r < 0)
                return r;
        owner = ldns_dname_new_frm_str(owner_text);
        if (!owner)
                return -ENOMEM;
        for (size_t i = 0; i < ldns_rr_list_rr_count(an); i++) {
                const ldns_rr *rr = ldns_rr_list_rr(an, i);

                if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_TXT && ldns_rr_get_class(rr) == LDNS_RR_CLASS_IN &&
                        ldns_dname_compare(ldns_rr_owner(rr), owner) == 0) {
                        found = rr;
                        n++;
                }
        }
        ldns_rdf_deep_free(owner);
        if (n == 0)
                return 0;
        if (n > 1) {
                snprintf(why, why_size, "%zu TXT records", n);
                return -EBADMSG;
        }
        rdf = ldns_rr_rd_count(found) == 1 ? ldns_rr_rdf(found, 0) : NULL;
        if (rdf && ldns_rdf_get_type(rdf) == LDNS_RDF_TYPE_STR && ldns_rdf_size(rdf) >= 1 &&
                ldns_rdf_data(rdf)[0] == ldns_rdf_size(rdf) - 1 &&
                dns_epoch_parse(ldns_rdf_data(rdf) + 1, ldns_rdf_size(rdf) - 1, ret) == 0)
                return 1;
        s = ldns_rr_rd_count(found) > 0 ? ldns_rdf2str(ldns_rr_rdf(found, 0)) : NULL;
        snprintf(why, why_size, "TXT %.100s%s", s ?: "(empty)", ldns_rr_rd_count(found) > 1 ? " ..." : "");
        free(s);
        return -EBADMSG;
}

int dns_epoch_check_address(const ldns_pkt *pkt, const char *name, int family, const void *address,
        char *found, size_t found_size) {
        const ldns_rr_list *an = ldns_pkt_answer(pkt);
        ldns_rr_type type = family == AF_INET ? LDNS_RR_TYPE_A : LDNS_RR_TYPE_AAAA;
        size_t size = family == AF_INET ? 4 : 16, n = 0, len = 0;
        bool same = false;
        ldns_rdf *owner;

        if (!name || !dns_name_is_valid(name) || (family != AF_INET && family != AF_INET6))
                return -EINVAL;
        owner = ldns_dname_new_frm_str(name);
        if (!owner)
                return -ENOMEM;
        snprintf(found, found_size, "none");
        for (size_t i = 0; i < ldns_rr_list_rr_count(an); i++) {
                const ldns_rr *rr = ldns_rr_list_rr(an, i);
                const ldns_rdf *rdf = ldns_rr_rd_count(rr) == 1 ? ldns_rr_rdf(rr, 0) : NULL;
                char *s;

                if (ldns_rr_get_type(rr) != type || ldns_dname_compare(ldns_rr_owner(rr), owner) != 0)
                        continue;
                same = n++ == 0 && address && rdf && ldns_rdf_size(rdf) == size &&
                       memcmp(ldns_rdf_data(rdf), address, size) == 0;
                s = rdf ? ldns_rdf2str(rdf) : NULL;
                if (len < found_size)
                        len += (size_t) snprintf(
                                found + len, found_size - len, "%s%s", len ? ", " : "", s ?: "?");
                free(s);
        }
        ldns_rdf_deep_free(owner);
        return (address ? n == 1 && same : n == 0) ? 0 : -EBADMSG;
}
