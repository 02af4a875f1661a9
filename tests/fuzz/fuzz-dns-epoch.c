/* libFuzzer target for what the DNS endpoint reads from the DNS server (lib/core/dns-epoch.c): the
 * epoch record's text and the answers that carry it and the endpoint's address. An answer arrives
 * over UDP and is not always signed (a server without TSIG, a refusal), so anyone on the path can
 * send one; lib/io/endpoint-dns.c hands what ldns_wire2pkt() makes of it to these functions.
 *
 * Each input is read twice:
 *   - as the text of one TXT character-string: dns_epoch_parse(); the canonical form is the only one
 *     accepted, so what parses formats back to exactly the input;
 *   - as a DNS message (ldns_wire2pkt()): the epoch record of NAME read from its answer section, and
 *     NAME's A and AAAA records checked against an address and against none.
 * Invariants beyond "no crash, no leak": the documented return values only; a record read from an
 * answer formats to a text that parses to it; descriptions are NUL-terminated within their buffer
 * and one line. Seeds: tests/fuzz/corpus-dns-epoch (raw answers, and record texts). */
#include <arpa/inet.h>
#include <errno.h>
#include <ldns/ldns.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "dns-epoch.h"
#include "fuzz-util.h"
#include "macro.h"

#define NAME "primary.db.example."

static void one_text(const uint8_t *data, size_t size) {
        char buf[DNS_EPOCH_TEXT_MAX];
        dns_epoch_record rec, again;
        int n;

        if (dns_epoch_parse(data, size, &rec) < 0)
                return;
        n = dns_epoch_format(rec.epoch, rec.primary, buf, sizeof(buf));
        check(n > 0 && (size_t) n == size && memcmp(buf, data, size) == 0);
        check(dns_epoch_parse(buf, (size_t) n, &again) == 0);
        check(again.epoch == rec.epoch && streq(again.primary, rec.primary));
        check(dns_epoch_decide(&rec, rec.epoch, rec.primary) == DNS_EPOCH_REPEAT);
        if (rec.epoch > 0)
                check(dns_epoch_decide(&rec, rec.epoch - 1, rec.primary) == DNS_EPOCH_STALE);
        if (rec.epoch < UINT64_MAX)
                check(dns_epoch_decide(&rec, rec.epoch + 1, rec.primary) == DNS_EPOCH_ADVANCE);
}

/* A description written into a buffer of size bytes: terminated inside it, one line. */
static void check_text(const char *buf, size_t size) {
        check(memchr(buf, '\0', size));
        check(fuzz_is_one_line(buf));
}

static void one_answer(const uint8_t *data, size_t size) {
        static const uint8_t v4[4] = {192, 0, 2, 10};
        static const uint8_t v6[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 0x0a};
        char why[128], found[64], buf[DNS_EPOCH_TEXT_MAX];
        dns_epoch_record rec, again;
        ldns_pkt *pkt = NULL;
        int r;

        if (ldns_wire2pkt(&pkt, data, size) != LDNS_STATUS_OK) {
                ldns_pkt_free(pkt);
                return;
        }

        memset(why, 'x', sizeof(why));
        r = dns_epoch_from_answer(pkt, NAME, &rec, why, sizeof(why));
        check(r == 0 || r == 1 || r == -EBADMSG || r == -ENOMEM);
        if (r == -EBADMSG)
                check_text(why, sizeof(why));
        if (r == 1) {
                int n = dns_epoch_format(rec.epoch, rec.primary, buf, sizeof(buf));

                check(n > 0);
                check(dns_epoch_parse(buf, (size_t) n, &again) == 0);
                check(again.epoch == rec.epoch && streq(again.primary, rec.primary));
        }

        /* Tiny buffers too: the descriptions are cut, never overrun. */
        r = dns_epoch_from_answer(pkt, NAME, &rec, why, 4);
        check(r == 0 || r == 1 || r == -EBADMSG || r == -ENOMEM);
        if (r == -EBADMSG)
                check_text(why, 4);

        for (int k = 0; k < 2; k++) {
                int family = k == 0 ? AF_INET : AF_INET6;
                const void *address = k == 0 ? (const void *) v4 : (const void *) v6;

                memset(found, 'x', sizeof(found));
                r = dns_epoch_check_address(pkt, NAME, family, address, found, sizeof(found));
                check(r == 0 || r == -EBADMSG || r == -ENOMEM);
                if (r != -ENOMEM)
                        check_text(found, sizeof(found));
                r = dns_epoch_check_address(pkt, NAME, family, NULL, found, 8);
                check(r == 0 || r == -EBADMSG || r == -ENOMEM);
                if (r != -ENOMEM)
                        check_text(found, 8);
        }
        ldns_pkt_free(pkt);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        one_text(data, size);
        one_answer(data, size);
        return 0;
}
