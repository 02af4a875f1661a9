/* Unit tests for lib/core/dns-epoch.c: the epoch record's owner, canonical text and write rule, the UPDATE
 * message that carries it (section by section, and through the wire format), and reading answers. */
#include <arpa/inet.h>
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "dns-epoch.h"
#include "macro.h"

/* ---- owner ---- */

static const struct {
        const char *name;
        int r;
        const char *owner;
} owners[] = {
        {"primary.db.example.", 0, "_sentinel-epoch.primary.db.example."},
        {"primary.db.example", 0, "_sentinel-epoch.primary.db.example."},
        {"PRIMARY.Db.Test.", 0, "_sentinel-epoch.PRIMARY.Db.Test."},
        {"db.test.", 0, "_sentinel-epoch.db.test."},
        {"", -EINVAL, NULL},
        {".", -EINVAL, NULL},
        {"a..b.", -EINVAL, NULL},
        {"bad name.test.", -EINVAL, NULL},
};

START_TEST(test_owner) {
        _cleanup_free_ char *owner = NULL;
        int r = dns_epoch_owner(owners[_i].name, &owner);

        ck_assert_int_eq(r, owners[_i].r);
        if (r == 0)
                ck_assert_str_eq(owner, owners[_i].owner);
        else
                ck_assert_ptr_null(owner);
}
END_TEST

/* A name of exactly DNS_EPOCH_NAME_MAX - 16 characters fits; one more does not. */
START_TEST(test_owner_length) {
        char name[DNS_EPOCH_NAME_MAX + 2];
        size_t fit = DNS_EPOCH_NAME_MAX - strlen(DNS_EPOCH_LABEL) - 1;
        _cleanup_free_ char *owner = NULL;

        /* labels of 9 letters and a dot, then letters to the length wanted */
        for (size_t i = 0; i < sizeof(name) - 1; i++)
                name[i] = i % 10 == 9 ? '.' : 'a';
        name[fit] = '\0';
        if (name[fit - 1] == '.')
                name[fit - 1] = 'b';
        ck_assert_int_eq(dns_epoch_owner(name, &owner), 0);
        ck_assert_uint_eq(strlen(owner), DNS_EPOCH_NAME_MAX + 1);
        name[fit] = name[fit - 1] == '.' ? 'c' : 'd';
        name[fit + 1] = '\0';
        ck_assert_int_eq(dns_epoch_owner(name, &owner), -ENAMETOOLONG);
        ck_assert_int_eq(dns_epoch_owner(NULL, &owner), -EINVAL);
}
END_TEST

/* ---- format and parse ---- */

static const struct {
        uint64_t epoch;
        const char *primary;
        const char *text;
} canonical[] = {
        {0, "db-a", "epoch=0 primary=db-a"},
        {1, "db-a", "epoch=1 primary=db-a"},
        {7, "db.b_2", "epoch=7 primary=db.b_2"},
        {10, "X", "epoch=10 primary=X"},
        {UINT64_MAX, "db-c", "epoch=18446744073709551615 primary=db-c"},
        {42, "a234567890123456789012345678901234567890123456789012345678901234",
                "epoch=42 primary=a234567890123456789012345678901234567890123456789012345678901234"},
};

START_TEST(test_canonical) {
        char buf[DNS_EPOCH_TEXT_MAX];
        dns_epoch_record rec;
        int n;

        n = dns_epoch_format(canonical[_i].epoch, canonical[_i].primary, buf, sizeof(buf));
        ck_assert_int_eq(n, (int) strlen(canonical[_i].text));
        ck_assert_str_eq(buf, canonical[_i].text);
        ck_assert_int_eq(dns_epoch_parse(buf, (size_t) n, &rec), 0);
        ck_assert_uint_eq(rec.epoch, canonical[_i].epoch);
        ck_assert_str_eq(rec.primary, canonical[_i].primary);
        /* one byte short of room */
        ck_assert_int_eq(
                dns_epoch_format(canonical[_i].epoch, canonical[_i].primary, buf, (size_t) n), -ENOBUFS);
}
END_TEST

START_TEST(test_format_invalid) {
        char buf[DNS_EPOCH_TEXT_MAX];

        ck_assert_int_eq(dns_epoch_format(1, "", buf, sizeof(buf)), -EINVAL);
        ck_assert_int_eq(dns_epoch_format(1, "db a", buf, sizeof(buf)), -EINVAL);
        ck_assert_int_eq(dns_epoch_format(1, "-db", buf, sizeof(buf)), -EINVAL);
        ck_assert_int_eq(dns_epoch_format(1, "db\"a", buf, sizeof(buf)), -EINVAL);
        ck_assert_int_eq(dns_epoch_format(1, NULL, buf, sizeof(buf)), -EINVAL);
        ck_assert_int_eq(
                dns_epoch_format(1, "a2345678901234567890123456789012345678901234567890123456789012345", buf,
                        sizeof(buf)),
                -EINVAL);
}
END_TEST

static const char *const not_canonical[] = {
        "",
        "epoch=",
        "epoch=1",
        "epoch=1 ",
        "epoch=1 primary=",
        "epoch=01 primary=db-a",
        "epoch=00 primary=db-a",
        "epoch=+1 primary=db-a",
        "epoch=-1 primary=db-a",
        "epoch=1x primary=db-a",
        "epoch=1  primary=db-a",
        " epoch=1 primary=db-a",
        "epoch=1 primary=db-a ",
        "epoch=1 primary=db a",
        "epoch=1 primary=-db",
        "epoch=1 primary=db-a extra=1",
        "Epoch=1 primary=db-a",
        "epoch=1 Primary=db-a",
        "epoch=1\tprimary=db-a",
        "epoch=18446744073709551616 primary=db-a",
        "epoch=99999999999999999999 primary=db-a",
        "primary=db-a epoch=1",
        "epoch=1 primary=a2345678901234567890123456789012345678901234567890123456789012345",
};

START_TEST(test_parse_invalid) {
        dns_epoch_record rec = {.epoch = 99};

        ck_assert_int_eq(dns_epoch_parse(not_canonical[_i], strlen(not_canonical[_i]), &rec), -EINVAL);
        ck_assert_uint_eq(rec.epoch, 99); /* untouched on failure */
}
END_TEST

START_TEST(test_parse_nul) {
        static const char text[] = "epoch=1 primary=db\0a";
        dns_epoch_record rec;

        ck_assert_int_eq(dns_epoch_parse(text, sizeof(text) - 1, &rec), -EINVAL);
        /* the size counts, not a NUL: the prefix alone is a valid record */
        ck_assert_int_eq(dns_epoch_parse(text, sizeof(text) - 3, &rec), 0);
        ck_assert_str_eq(rec.primary, "db");
        ck_assert_int_eq(dns_epoch_parse(NULL, 0, &rec), -EINVAL);
}
END_TEST

/* ---- the write rule ---- */

static const struct {
        bool have;
        uint64_t current_epoch;
        const char *current_primary;
        uint64_t epoch;
        const char *primary;
        dns_epoch_action action;
} decisions[] = {
        {false, 0, NULL, 1, "db-a", DNS_EPOCH_CREATE},
        {false, 0, NULL, 0, "db-a", DNS_EPOCH_CREATE},
        {true, 1, "db-a", 2, "db-b", DNS_EPOCH_ADVANCE},
        {true, 1, "db-a", 2, "db-a", DNS_EPOCH_ADVANCE},
        {true, 0, "db-a", UINT64_MAX, "db-b", DNS_EPOCH_ADVANCE},
        {true, 2, "db-b", 2, "db-b", DNS_EPOCH_REPEAT},
        {true, 2, "db-b", 2, "db-a", DNS_EPOCH_CONFLICT},
        {true, 2, "db-b", 2, "DB-B", DNS_EPOCH_CONFLICT}, /* names are exact */
        {true, 2, "db-b", 1, "db-a", DNS_EPOCH_STALE},
        {true, 2, "db-b", 1, "db-b", DNS_EPOCH_STALE},
        {true, UINT64_MAX, "db-b", UINT64_MAX - 1, "db-a", DNS_EPOCH_STALE},
        {true, 1, "db-a", 2, "bad name", _DNS_EPOCH_ACTION_INVALID},
        {false, 0, NULL, 2, "", _DNS_EPOCH_ACTION_INVALID},
};

START_TEST(test_decide) {
        dns_epoch_record cur = {.epoch = decisions[_i].current_epoch};
        dns_epoch_action a;

        if (decisions[_i].current_primary)
                strcpy(cur.primary, decisions[_i].current_primary);
        a = dns_epoch_decide(decisions[_i].have ? &cur : NULL, decisions[_i].epoch, decisions[_i].primary);
        ck_assert_int_eq(a, decisions[_i].action);
        ck_assert(dns_epoch_action_writes(a) ==
                  (a == DNS_EPOCH_CREATE || a == DNS_EPOCH_ADVANCE || a == DNS_EPOCH_REPEAT));
}
END_TEST

START_TEST(test_action_names) {
        ck_assert_str_eq(dns_epoch_action_to_string(DNS_EPOCH_CREATE), "create");
        ck_assert_str_eq(dns_epoch_action_to_string(DNS_EPOCH_CONFLICT), "conflict");
        ck_assert_ptr_null(dns_epoch_action_to_string(_DNS_EPOCH_ACTION_MAX));
        ck_assert_ptr_null(dns_epoch_action_to_string(_DNS_EPOCH_ACTION_INVALID));
        ck_assert(!dns_epoch_action_writes(DNS_EPOCH_STALE));
        ck_assert(!dns_epoch_action_writes(_DNS_EPOCH_ACTION_INVALID));
}
END_TEST

/* ---- the UPDATE message ---- */

/* The text of RR i of list l, as ldns prints it (tabs become spaces). */
static char *rr_text(const ldns_rr_list *l, size_t i) {
        char *s = ldns_rr2str(ldns_rr_list_rr(l, i));

        ck_assert_ptr_nonnull(s);
        for (char *p = s; *p; p++)
                if (*p == '\t')
                        *p = ' ';
        s[strcspn(s, "\n")] = '\0';
        return s;
}

static void assert_rr(const ldns_rr_list *l, size_t i, const char *want) {
        _cleanup_free_ char *s = rr_text(l, i);

        ck_assert_str_eq(s, want);
}

/* Builds the message, and checks it survives the wire format unchanged. */
static ldns_pkt *update_ok(
        const dns_epoch_record *prev, uint64_t epoch, const char *primary, int family, const char *address) {
        uint8_t bytes[16], *wire = NULL;
        size_t size = 0;
        ldns_pkt *p = NULL, *back = NULL;

        ck_assert_int_eq(inet_pton(family, address, bytes), 1);
        ck_assert_int_eq(dns_epoch_update_new(
                                 "db.test.", "primary.db.test.", 5, prev, epoch, primary, family, bytes, &p),
                0);
        ck_assert_int_eq(ldns_pkt2wire(&wire, p, &size), LDNS_STATUS_OK);
        ck_assert_int_eq(ldns_wire2pkt(&back, wire, size), LDNS_STATUS_OK);
        ck_assert_int_eq(ldns_pkt_get_opcode(back), LDNS_PACKET_UPDATE);
        ck_assert(!ldns_pkt_rd(back) && !ldns_pkt_qr(back));
        ck_assert_uint_eq(ldns_pkt_id(back), 0);
        ck_assert_uint_eq(ldns_update_zocount(back), 1);
        assert_rr(ldns_pkt_question(back), 0, "db.test. IN SOA");
        ck_assert_uint_eq(ldns_update_prcount(back), 1);
        ck_assert_uint_eq(ldns_update_upcount(back), 5);
        ck_assert_uint_eq(ldns_pkt_arcount(back), 0);
        free(wire);
        ldns_pkt_free(p);
        return back;
}

/* An empty rdata (a deletion, a "does not exist") prints in RFC 3597 form: "\\# 0". */
START_TEST(test_update_first) {
        ldns_pkt *p = update_ok(NULL, 1, "db-a", AF_INET, "10.0.1.20");

        assert_rr(ldns_pkt_answer(p), 0, "_sentinel-epoch.primary.db.test. 0 NONE TXT \\# 0");
        assert_rr(ldns_pkt_authority(p), 0, "primary.db.test. 0 ANY A \\# 0");
        assert_rr(ldns_pkt_authority(p), 1, "primary.db.test. 0 ANY AAAA \\# 0");
        assert_rr(ldns_pkt_authority(p), 2, "primary.db.test. 5 IN A 10.0.1.20");
        assert_rr(ldns_pkt_authority(p), 3, "_sentinel-epoch.primary.db.test. 0 ANY TXT \\# 0");
        assert_rr(ldns_pkt_authority(p), 4,
                "_sentinel-epoch.primary.db.test. 5 IN TXT \"epoch=1 primary=db-a\"");
        ldns_pkt_free(p);
}
END_TEST

START_TEST(test_update_advance) {
        dns_epoch_record prev = {.epoch = 6, .primary = "db-c"};
        ldns_pkt *p = update_ok(&prev, 7, "db-b", AF_INET6, "2001:db8::20");

        assert_rr(
                ldns_pkt_answer(p), 0, "_sentinel-epoch.primary.db.test. 0 IN TXT \"epoch=6 primary=db-c\"");
        assert_rr(ldns_pkt_authority(p), 2, "primary.db.test. 5 IN AAAA 2001:db8::20");
        assert_rr(ldns_pkt_authority(p), 4,
                "_sentinel-epoch.primary.db.test. 5 IN TXT \"epoch=7 primary=db-b\"");
        ldns_pkt_free(p);
}
END_TEST

START_TEST(test_update_invalid) {
        uint8_t a[16] = {10, 0, 0, 1};
        dns_epoch_record bad = {.epoch = 1, .primary = "bad name"};
        ldns_pkt *p = NULL;

        ck_assert_int_eq(
                dns_epoch_update_new("db.test.", "primary.other.", 5, NULL, 1, "db-a", AF_INET, a, &p),
                -EINVAL);
        ck_assert_int_eq(
                dns_epoch_update_new("db.test.", "primary.db.test.", 5, NULL, 1, "db a", AF_INET, a, &p),
                -EINVAL);
        ck_assert_int_eq(
                dns_epoch_update_new("db.test.", "primary.db.test.", 5, &bad, 2, "db-a", AF_INET, a, &p),
                -EINVAL);
        ck_assert_int_eq(
                dns_epoch_update_new("db.test.", "primary.db.test.", 5, NULL, 1, "db-a", AF_UNIX, a, &p),
                -EINVAL);
        ck_assert_int_eq(
                dns_epoch_update_new("db..test.", "primary.db.test.", 5, NULL, 1, "db-a", AF_INET, a, &p),
                -EINVAL);
        ck_assert_ptr_null(p);
}
END_TEST

/* ---- reading answers ---- */

/* An answer packet holding the RRs given in presentation form (NULL-terminated). */
static ldns_pkt *answer(const char *const *rrs) {
        ldns_pkt *p = ldns_pkt_new();

        ck_assert_ptr_nonnull(p);
        for (size_t i = 0; rrs[i]; i++) {
                ldns_rr *rr = NULL;

                ck_assert_msg(
                        ldns_rr_new_frm_str(&rr, rrs[i], 0, NULL, NULL) == LDNS_STATUS_OK, "%s", rrs[i]);
                ck_assert(ldns_pkt_push_rr(p, LDNS_SECTION_ANSWER, rr));
        }
        return p;
}

static const struct {
        const char *rrs[4];
        int r;
        uint64_t epoch;
        const char *why;
} answers[] = {
        {{NULL}, 0, 0, NULL},
        {{"primary.db.test. 5 IN A 10.0.0.1", NULL}, 0, 0, NULL},
        {{"other.db.test. 5 IN TXT \"epoch=1 primary=db-a\"", NULL}, 0, 0, NULL},
        {{"_sentinel-epoch.primary.db.test. 5 IN TXT \"epoch=3 primary=db-a\"", NULL}, 1, 3, NULL},
        {{"_SENTINEL-EPOCH.Primary.DB.test. 5 IN TXT \"epoch=4 primary=db-b\"", NULL}, 1, 4, NULL},
        {{"primary.db.test. 5 IN A 10.0.0.1",
                 "_sentinel-epoch.primary.db.test. 5 IN TXT \"epoch=5 primary=db-c\"", NULL},
                1, 5, NULL},
        {{"_sentinel-epoch.primary.db.test. 5 IN TXT \"epoch=1 primary=db-a\"",
                 "_sentinel-epoch.primary.db.test. 5 IN TXT \"epoch=2 primary=db-b\"", NULL},
                -EBADMSG, 0, "2 TXT records"},
        {{"_sentinel-epoch.primary.db.test. 5 IN TXT \"epoch=1\" \"primary=db-a\"", NULL}, -EBADMSG, 0,
                "TXT \"epoch=1\" ..."},
        {{"_sentinel-epoch.primary.db.test. 5 IN TXT \"somebody else\"", NULL}, -EBADMSG, 0,
                "TXT \"somebody else\""},
        {{"_sentinel-epoch.primary.db.test. 5 IN TXT \"epoch=01 primary=db-a\"", NULL}, -EBADMSG, 0,
                "TXT \"epoch=01 primary=db-a\""},
};

START_TEST(test_from_answer) {
        ldns_pkt *p = answer(answers[_i].rrs);
        dns_epoch_record rec = {};
        char why[128] = "";
        int r = dns_epoch_from_answer(p, "primary.db.test.", &rec, why, sizeof(why));

        ck_assert_int_eq(r, answers[_i].r);
        if (r == 1)
                ck_assert_uint_eq(rec.epoch, answers[_i].epoch);
        if (answers[_i].why)
                ck_assert_str_eq(why, answers[_i].why);
        ck_assert_int_eq(dns_epoch_from_answer(p, "bad name", &rec, why, sizeof(why)), -EINVAL);
        ldns_pkt_free(p);
}
END_TEST

static const struct {
        const char *rrs[4];
        int family;
        const char *address; /* NULL: must be empty */
        int r;
        const char *found;
} addresses[] = {
        {{"primary.db.test. 5 IN A 10.0.0.1", NULL}, AF_INET, "10.0.0.1", 0, "10.0.0.1"},
        {{"PRIMARY.db.test. 5 IN A 10.0.0.1", NULL}, AF_INET, "10.0.0.1", 0, "10.0.0.1"},
        {{"primary.db.test. 5 IN A 10.0.0.2", NULL}, AF_INET, "10.0.0.1", -EBADMSG, "10.0.0.2"},
        {{"primary.db.test. 5 IN A 10.0.0.1", "primary.db.test. 5 IN A 10.0.0.2", NULL}, AF_INET, "10.0.0.1",
                -EBADMSG, "10.0.0.1, 10.0.0.2"},
        {{NULL}, AF_INET, "10.0.0.1", -EBADMSG, "none"},
        {{"primary.db.test. 5 IN CNAME other.db.test.", NULL}, AF_INET, "10.0.0.1", -EBADMSG, "none"},
        {{"primary.db.test. 5 IN AAAA 2001:db8::1", NULL}, AF_INET6, "2001:db8::1", 0, "2001:db8::1"},
        {{"primary.db.test. 5 IN AAAA 2001:db8::1", NULL}, AF_INET, NULL, 0, "none"},
        {{"primary.db.test. 5 IN AAAA 2001:db8::1", NULL}, AF_INET6, NULL, -EBADMSG, "2001:db8::1"},
        {{"other.db.test. 5 IN AAAA 2001:db8::1", NULL}, AF_INET6, NULL, 0, "none"},
};

START_TEST(test_check_address) {
        ldns_pkt *p = answer(addresses[_i].rrs);
        uint8_t bytes[16];
        char found[64];

        if (addresses[_i].address)
                ck_assert_int_eq(inet_pton(addresses[_i].family, addresses[_i].address, bytes), 1);
        ck_assert_int_eq(dns_epoch_check_address(p, "primary.db.test.", addresses[_i].family,
                                 addresses[_i].address ? bytes : NULL, found, sizeof(found)),
                addresses[_i].r);
        ck_assert_str_eq(found, addresses[_i].found);
        ck_assert_int_eq(dns_epoch_check_address(p, "primary.db.test.", AF_UNIX, NULL, found, sizeof(found)),
                -EINVAL);
        ldns_pkt_free(p);
}
END_TEST

static Suite *dns_epoch_suite(void) {
        Suite *s = suite_create("dns-epoch");
        TCase *tc = tcase_create("core");

        tcase_add_loop_test(tc, test_owner, 0, (int) ELEMENTSOF(owners));
        tcase_add_test(tc, test_owner_length);
        tcase_add_loop_test(tc, test_canonical, 0, (int) ELEMENTSOF(canonical));
        tcase_add_test(tc, test_format_invalid);
        tcase_add_loop_test(tc, test_parse_invalid, 0, (int) ELEMENTSOF(not_canonical));
        tcase_add_test(tc, test_parse_nul);
        tcase_add_loop_test(tc, test_decide, 0, (int) ELEMENTSOF(decisions));
        tcase_add_test(tc, test_action_names);
        tcase_add_test(tc, test_update_first);
        tcase_add_test(tc, test_update_advance);
        tcase_add_test(tc, test_update_invalid);
        tcase_add_loop_test(tc, test_from_answer, 0, (int) ELEMENTSOF(answers));
        tcase_add_loop_test(tc, test_check_address, 0, (int) ELEMENTSOF(addresses));
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        SRunner *sr = srunner_create(dns_epoch_suite());
        int failed;

        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? 0 : 1;
}
