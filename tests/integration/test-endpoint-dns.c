/* Integration test of lib/io/endpoint-dns.c against a real BIND named on loopback: updates and their
 * verification (A, then AAAA and back), the epoch record refusing older epochs locally and at the
 * server (prerequisite, NXRRSET), a lost race, two writers at once, wrong keys (BADSIG, BADKEY, a key
 * without update rights, no key), a foreign epoch record, named stopped (TIMEOUT within the deadline
 * while a timer keeps firing) and restarted (the retry succeeds; an update in flight completes), IPv6
 * transport, a server given by name, cancelling, and bad arguments. Every change is also checked
 * with dig, an independent client.
 *
 * Run by test-endpoint-dns.sh, which starts named with tests/harness/named-harness.sh and exports its
 * named.env (NAMED_*) and NAMED_HARNESS. Prints "ok N - ..." per check; exit 0 all passed, 1 a check
 * failed. */
#include <errno.h>
#include <inttypes.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <systemd/sd-event.h>
#include <time.h>

#include "config.h"
#include "dns-epoch.h"
#include "endpoint-dns.h"
#include "macro.h"
#include "tsig-key.h"

#define MSEC ((uint64_t) USEC_PER_MSEC)

extern char **environ;

#include "tap.h"

/* ---- the world outside: named-harness.sh and dig (blocking, but never inside the loop) ---- */

static pid_t spawn_harness(const char *verb) {
        char *argv[] = {(char *) env("NAMED_HARNESS"), (char *) verb, (char *) env("NAMED_DIR"), NULL};
        pid_t pid;

        REQUIRE(posix_spawn(&pid, argv[0], NULL, NULL, argv, environ) == 0, "spawn named-harness.sh %s",
                verb);
        return pid;
}

static int wait_exit(pid_t pid) {
        int status;

        while (waitpid(pid, &status, 0) < 0)
                if (errno != EINTR)
                        return -1;
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static int harness(const char *verb) {
        return wait_exit(spawn_harness(verb));
}

/* dig +short at named, signed with the update key: the answers joined by ',' without quotes. */
static char *dig(const char *name, const char *type) {
        char cmd[1024], line[512];
        size_t len = 0;
        char *out = calloc(1, 4096);
        FILE *f;

        REQUIRE(out, "calloc");
        snprintf(cmd, sizeof(cmd), "dig @%s -p %s -k '%s' +norec +short +time=2 +tries=2 '%s' %s 2>&1",
                env("NAMED_HOST"), env("NAMED_PORT"), env("NAMED_KEY_FILE"), name, type);
        f = popen(cmd, "r");
        REQUIRE(f, "popen dig");
        while (fgets(line, sizeof(line), f)) {
                line[strcspn(line, "\n")] = '\0';
                for (char *p = line; *p && len < 4000; p++)
                        if (*p != '"')
                                out[len++] = *p;
                if (len < 4000)
                        out[len++] = ',';
        }
        if (len > 0)
                out[len - 1] = '\0';
        pclose(f);
        return out;
}

static bool dig_is(const char *name, const char *type, const char *want) {
        _cleanup_free_ char *got = dig(name, type);

        return check(streq(got, want), "dig %s %s: \"%s\" (want \"%s\")", name, type, got, want);
}

/* nsupdate with the update key: the commands (a "send" is appended); its exit status. */
static int nsupdate(const char *commands) {
        char cmd[512];
        FILE *f;

        snprintf(cmd, sizeof(cmd), "nsupdate -t 3 -k '%s' >/dev/null 2>&1", env("NAMED_KEY_FILE"));
        f = popen(cmd, "w");
        REQUIRE(f, "popen nsupdate");
        fprintf(f, "server %s %s\nzone %s\n%s\nsend\n", env("NAMED_HOST"), env("NAMED_PORT"),
                env("NAMED_ZONE"), commands);
        return pclose(f);
}

/* ---- running operations on a loop ---- */

typedef struct run {
        bool done;
        endpoint_dns_result result;
        unsigned calls;
} run;

static void on_result(endpoint_dns_op *op, const endpoint_dns_result *result, void *userdata) {
        run *r = userdata;

        r->done = true;
        r->calls++;
        r->result = *result;
        printf("#   %s: %s\n", endpoint_dns_status_to_string(result->status), result->message);
}

static unsigned ticks;

static int on_tick(sd_event_source *s, uint64_t usec, void *userdata) {
        ticks++;
        (void) sd_event_source_set_time(s, usec + 20 * MSEC);
        return 0;
}

/* Runs e until every run in runs is done, or REQUIREs out after limit_usec. */
static void loop_until(sd_event *e, run **runs, size_t n, uint64_t limit_usec) {
        uint64_t end = now_usec() + limit_usec;

        for (;;) {
                bool all = true;

                for (size_t i = 0; i < n; i++)
                        all = all && runs[i]->done;
                if (all)
                        return;
                REQUIRE(now_usec() < end, "the operation ended within %" PRIu64 " ms", limit_usec / MSEC);
                REQUIRE(sd_event_run(e, 100 * MSEC) >= 0, "sd_event_run");
        }
}

static endpoint_dns_result update(sd_event *e, const dns_endpoint_conf *conf, uint64_t epoch,
        const char *primary, const char *address, uint64_t timeout_usec, const dns_epoch_record *previous) {
        endpoint_dns_params p = {.epoch = epoch,
                .primary = primary,
                .address = address,
                .timeout_usec = timeout_usec,
                .previous = previous};
        _cleanup_(endpoint_dns_op_freep) endpoint_dns_op *op = NULL;
        run r = {}, *rs[] = {&r};
        int k;

        printf("# update epoch %" PRIu64 " -> %s %s%s\n", epoch, primary, address,
                previous ? " (with previous)" : "");
        k = endpoint_dns_update(e, conf, &p, on_result, &r, &op);
        REQUIRE(k == 0, "endpoint_dns_update() started: %s", strerror(-k));
        REQUIRE(!r.done, "no result from the call itself");
        loop_until(e, rs, 1, (timeout_usec ?: ENDPOINT_DNS_TIMEOUT_DEFAULT_USEC) + 5 * USEC_PER_SEC);
        check(r.calls == 1, "the handler ran once");
        check(!endpoint_dns_op_is_running(op), "the operation is over");
        return r.result;
}

static endpoint_dns_result read_record(sd_event *e, const dns_endpoint_conf *conf) {
        _cleanup_(endpoint_dns_op_freep) endpoint_dns_op *op = NULL;
        run r = {}, *rs[] = {&r};
        int k;

        k = endpoint_dns_read(e, conf, 3 * USEC_PER_SEC, on_result, &r, &op);
        REQUIRE(k == 0, "endpoint_dns_read() started: %s", strerror(-k));
        loop_until(e, rs, 1, 8 * USEC_PER_SEC);
        return r.result;
}

static tsig_key load_key(const char *path) {
        char buf[4096];
        size_t n;
        tsig_key k = {};
        FILE *f = fopen(path, "re");

        REQUIRE(f, "open %s", path);
        n = fread(buf, 1, sizeof(buf), f);
        fclose(f);
        REQUIRE(tsig_key_parse(buf, n, &k, NULL, NULL) == 0, "parse %s", path);
        return k;
}

static bool record_is(const endpoint_dns_result *r, uint64_t epoch, const char *primary) {
        return r->have_record && r->record.epoch == epoch && streq(r->record.primary, primary);
}

/* ---- the cases ---- */

static char name_a[256], owner[300];

static void test_update_and_verify(sd_event *e, const dns_endpoint_conf *conf) {
        endpoint_dns_result r;

        r = read_record(e, conf);
        check(r.status == ENDPOINT_DNS_OK && r.record_absent && !r.have_record,
                "read: no epoch record at first");

        r = update(e, conf, 1, "db-a", "10.0.1.20", 0, NULL);
        check(r.status == ENDPOINT_DNS_OK, "epoch 1: ok");
        check(r.updated && r.n_updates == 1 && r.update_rcode == 0 && !r.prerequisite_failed,
                "epoch 1: one update, NOERROR");
        check(record_is(&r, 1, "db-a"), "epoch 1: the verified record is epoch=1 primary=db-a");
        check(strstr(r.message, "10.0.1.20") != NULL, "epoch 1: the message names the address");
        dig_is(name_a, "A", "10.0.1.20");
        dig_is(owner, "TXT", "epoch=1 primary=db-a");

        r = update(e, conf, 2, "db-b", "10.0.2.20", 0, NULL);
        check(r.status == ENDPOINT_DNS_OK && r.n_updates == 1, "epoch 2: ok");
        dig_is(name_a, "A", "10.0.2.20");
        dig_is(owner, "TXT", "epoch=2 primary=db-b");

        r = update(e, conf, 2, "db-b", "10.0.2.20", 0, NULL);
        check(r.status == ENDPOINT_DNS_OK && r.n_updates == 1, "epoch 2 again: ok (an idempotent retry)");

        r = read_record(e, conf);
        check(r.status == ENDPOINT_DNS_OK && record_is(&r, 2, "db-b"), "read: epoch 2, db-b");
}

static void test_stale(sd_event *e, const dns_endpoint_conf *conf) {
        dns_epoch_record old = {.epoch = 0};
        endpoint_dns_result r;

        r = update(e, conf, 1, "db-a", "10.0.1.20", 0, NULL);
        check(r.status == ENDPOINT_DNS_STALE, "epoch 1 after 2: stale");
        check(r.n_updates == 0 && r.update_rcode == -1,
                "epoch 1 after 2: refused by the read, nothing sent");
        check(record_is(&r, 2, "db-b"), "epoch 1 after 2: the result says epoch 2 is there");
        r = update(e, conf, 2, "db-c", "10.0.3.20", 0, NULL);
        check(r.status == ENDPOINT_DNS_STALE && r.n_updates == 0, "epoch 2 for another primary: refused");

        /* an older epoch that believes the record is older still: the server refuses it */
        strcpy(old.primary, "db-a");
        r = update(e, conf, 1, "db-a", "10.0.1.20", 0, &old);
        check(r.status == ENDPOINT_DNS_STALE, "epoch 1 with a stale view: stale");
        check(r.n_updates == 1 && r.prerequisite_failed && r.update_rcode == 8,
                "epoch 1 with a stale view: the server refused the prerequisite (NXRRSET, rcode %d)",
                r.update_rcode);
        dig_is(name_a, "A", "10.0.2.20");
        dig_is(owner, "TXT", "epoch=2 primary=db-b");

        /* an outdated view of the record: the server refuses the prerequisite, the re-read corrects it */
        strcpy(old.primary, "db-x");
        r = update(e, conf, 2, "db-b", "10.0.2.20", 0, &old);
        check(r.status == ENDPOINT_DNS_OK && r.prerequisite_failed && r.n_updates == 1,
                "epoch 2 from an outdated view: refused, and the re-read finds it already there: ok");
        r = update(e, conf, 3, "db-a", "10.0.1.20", 0, &old);
        check(r.status == ENDPOINT_DNS_OK && r.prerequisite_failed && r.n_updates == 2 &&
                        r.update_rcode == 0,
                "epoch 3 from an outdated view: refused, re-read, sent again from what was read: ok");
        dig_is(name_a, "A", "10.0.1.20");
        dig_is(owner, "TXT", "epoch=3 primary=db-a");
}

static void test_race(sd_event *e, const dns_endpoint_conf *conf) {
        _cleanup_(endpoint_dns_op_freep) endpoint_dns_op *op6 = NULL, *op7 = NULL;
        endpoint_dns_params p6 = {.epoch = 6, .primary = "db-a", .address = "10.0.1.20"};
        endpoint_dns_params p7 = {.epoch = 7, .primary = "db-c", .address = "10.0.3.20"};
        run r6 = {}, r7 = {}, *both[] = {&r6, &r7};
        dns_epoch_record seen;
        endpoint_dns_result r;

        /* two writers (epochs 4 and 5) read the same record; the newer writes first; then the older */
        r = read_record(e, conf);
        REQUIRE(r.status == ENDPOINT_DNS_OK && record_is(&r, 3, "db-a"),
                "race: the shared read sees epoch 3");
        seen = r.record;
        r = update(e, conf, 5, "db-c", "10.0.3.20", 0, &seen);
        check(r.status == ENDPOINT_DNS_OK && r.n_updates == 1, "race: epoch 5 from the shared read: ok");
        r = update(e, conf, 4, "db-b", "10.0.2.20", 0, &seen);
        check(r.status == ENDPOINT_DNS_STALE, "race: epoch 4 from the same read: stale");
        check(r.prerequisite_failed && r.update_rcode == 8 && r.n_updates == 1,
                "race: epoch 4 refused by the server's prerequisite (rcode %d, NXRRSET)", r.update_rcode);
        check(record_is(&r, 5, "db-c"), "race: epoch 4 learned that epoch 5 is there");
        dig_is(name_a, "A", "10.0.3.20");
        dig_is(owner, "TXT", "epoch=5 primary=db-c");

        /* two writers in flight at once, both from that old read: the newer epoch ends up recorded */
        p6.previous = p7.previous = &seen;
        REQUIRE(endpoint_dns_update(e, conf, &p6, on_result, &r6, &op6) == 0, "start epoch 6");
        REQUIRE(endpoint_dns_update(e, conf, &p7, on_result, &r7, &op7) == 0, "start epoch 7");
        loop_until(e, both, 2, 15 * USEC_PER_SEC);
        check(r7.result.status == ENDPOINT_DNS_OK, "at once: epoch 7 ok");
        check(r6.result.status == ENDPOINT_DNS_OK || r6.result.status == ENDPOINT_DNS_STALE,
                "at once: epoch 6 ok or stale (%s)", endpoint_dns_status_to_string(r6.result.status));
        check(r6.result.prerequisite_failed && r7.result.prerequisite_failed,
                "at once: both were refused once for the old read");
        dig_is(owner, "TXT", "epoch=7 primary=db-c");
        dig_is(name_a, "A", "10.0.3.20");
}

static void test_keys(sd_event *e, const dns_endpoint_conf *good) {
        dns_endpoint_conf conf = *good;
        uint8_t wrong[32];
        tsig_key reader;
        dns_epoch_record seen = {.epoch = 7};
        endpoint_dns_result r;

        strcpy(seen.primary, "db-c");
        for (size_t i = 0; i < sizeof(wrong); i++)
                wrong[i] = (uint8_t) (i * 7 + 1);
        conf.tsig.secret = wrong;
        conf.tsig.secret_size = sizeof(wrong);
        r = update(e, &conf, 8, "db-a", "10.0.1.20", 0, NULL);
        check(r.status == ENDPOINT_DNS_REFUSED && r.rcode == 9 && r.tsig_error == 16,
                "wrong secret: the read is refused, NOTAUTH BADSIG (rcode %d, tsig %d)", r.rcode,
                r.tsig_error);
        r = update(e, &conf, 8, "db-a", "10.0.1.20", 0, &seen);
        check(r.status == ENDPOINT_DNS_REFUSED && r.update_rcode == 9 && r.tsig_error == 16,
                "wrong secret: the update is refused, NOTAUTH BADSIG (rcode %d, tsig %d)", r.update_rcode,
                r.tsig_error);
        check(strstr(r.message, "BADSIG") != NULL, "wrong secret: the message says BADSIG");

        conf.tsig.name = (char *) "nosuch-key";
        r = update(e, &conf, 8, "db-a", "10.0.1.20", 0, &seen);
        check(r.status == ENDPOINT_DNS_REFUSED && r.update_rcode == 9 && r.tsig_error == 17,
                "unknown key: NOTAUTH BADKEY (rcode %d, tsig %d)", r.update_rcode, r.tsig_error);

        reader = load_key(env("NAMED_READER_KEY_FILE"));
        conf.tsig = reader;
        r = update(e, &conf, 8, "db-a", "10.0.1.20", 0, NULL);
        check(r.status == ENDPOINT_DNS_REFUSED && r.update_rcode == 5 && r.tsig_error == 0,
                "key without update rights: read fine, update REFUSED (rcode %d)", r.update_rcode);
        tsig_key_done(&reader);

        conf.tsig = (tsig_key){};
        r = update(e, &conf, 8, "db-a", "10.0.1.20", 0, NULL);
        check(r.status == ENDPOINT_DNS_REFUSED && r.update_rcode == 5, "no key: update REFUSED (rcode %d)",
                r.update_rcode);
        dig_is(name_a, "A", "10.0.3.20");
        dig_is(owner, "TXT", "epoch=7 primary=db-c");
}

static void test_outage(sd_event *e, const dns_endpoint_conf *conf) {
        _cleanup_(sd_event_source_unrefp) sd_event_source *tick = NULL;
        _cleanup_(endpoint_dns_op_freep) endpoint_dns_op *op = NULL;
        endpoint_dns_params p = {
                .epoch = 9, .primary = "db-b", .address = "10.0.2.20", .timeout_usec = 20 * USEC_PER_SEC};
        run rr = {}, *rs[] = {&rr};
        endpoint_dns_result r;
        uint64_t t0, took;
        pid_t starter;

        REQUIRE(sd_event_add_time_relative(e, &tick, CLOCK_MONOTONIC, 20 * MSEC, MSEC, on_tick, NULL) >= 0 &&
                        sd_event_source_set_enabled(tick, SD_EVENT_ON) >= 0,
                "ticker");
        REQUIRE(harness("stop") == 0, "named-harness.sh stop");
        ticks = 0;
        t0 = now_usec();
        r = update(e, conf, 8, "db-a", "10.0.1.20", 1500 * MSEC, NULL);
        took = now_usec() - t0;
        check(r.status == ENDPOINT_DNS_TIMEOUT, "named stopped: timeout");
        check(took >= 1500 * MSEC && took < 2000 * MSEC,
                "named stopped: after %" PRIu64 " ms (deadline 1500)", took / MSEC);
        check(r.duration_usec >= 1500 * MSEC && r.duration_usec < 1600 * MSEC,
                "named stopped: duration %" PRIu64 " ms", r.duration_usec / MSEC);
        check(ticks >= 50, "named stopped: the loop stayed responsive (%u ticks of 20 ms)", ticks);
        check(r.n_datagrams >= 3 && r.n_updates == 0, "named stopped: %u datagrams retransmitted",
                r.n_datagrams);
        check(strstr(r.message, "port unreachable") != NULL,
                "named stopped: the message says port unreachable");

        REQUIRE(harness("start") == 0, "named-harness.sh start");
        r = update(e, conf, 8, "db-a", "10.0.1.20", 0, NULL);
        check(r.status == ENDPOINT_DNS_OK, "named back: the retry succeeds");
        dig_is(name_a, "A", "10.0.1.20");

        /* an update in flight across a restart */
        REQUIRE(harness("stop") == 0, "named-harness.sh stop");
        REQUIRE(endpoint_dns_update(e, conf, &p, on_result, &rr, &op) == 0, "start epoch 9");
        t0 = now_usec();
        while (now_usec() - t0 < 700 * MSEC)
                REQUIRE(sd_event_run(e, 50 * MSEC) >= 0, "sd_event_run");
        check(!rr.done, "in flight: still waiting for named");
        starter = spawn_harness("start");
        loop_until(e, rs, 1, 25 * USEC_PER_SEC);
        check(wait_exit(starter) == 0, "in flight: named restarted");
        check(rr.result.status == ENDPOINT_DNS_OK && rr.result.n_datagrams > 2,
                "in flight: the update completed once named was back (%u datagrams)", rr.result.n_datagrams);
        dig_is(name_a, "A", "10.0.2.20");
        dig_is(owner, "TXT", "epoch=9 primary=db-b");
}

static void test_ipv6(sd_event *e, const dns_endpoint_conf *conf) {
        dns_endpoint_conf c = *conf;
        endpoint_dns_result r;
        const char *host6 = getenv("NAMED_HOST6");

        r = update(e, conf, 10, "db-c", "2001:db8:0:3::20", 0, NULL);
        check(r.status == ENDPOINT_DNS_OK, "AAAA: ok");
        check(strstr(r.message, "AAAA 2001:db8:0:3::20") != NULL, "AAAA: the message names it");
        dig_is(name_a, "AAAA", "2001:db8:0:3::20");
        dig_is(name_a, "A", "");
        r = update(e, conf, 11, "db-a", "10.0.1.20", 0, NULL);
        check(r.status == ENDPOINT_DNS_OK, "back to A: ok");
        dig_is(name_a, "A", "10.0.1.20");
        dig_is(name_a, "AAAA", "");

        if (!host6 || !*host6) {
                printf("# no IPv6 loopback: skipping the IPv6 transport and the server by name\n");
                return;
        }
        c.server.host = (char *) host6;
        c.server.family = AF_INET6;
        r = update(e, &c, 12, "db-b", "10.0.2.20", 0, NULL);
        check(r.status == ENDPOINT_DNS_OK, "over IPv6 to [%s]: ok", host6);
        c.server.host = (char *) "localhost";
        c.server.family = AF_UNSPEC;
        r = update(e, &c, 13, "db-c", "10.0.3.20", 0, NULL);
        check(r.status == ENDPOINT_DNS_OK, "server by name (localhost): ok");
        dig_is(owner, "TXT", "epoch=13 primary=db-c");
}

static void test_api(sd_event *e, const dns_endpoint_conf *conf) {
        _cleanup_(endpoint_dns_op_freep) endpoint_dns_op *op = NULL;
        endpoint_dns_params p = {.epoch = 14, .primary = "db-a", .address = "10.0.1.20"};
        dns_endpoint_conf c = *conf;
        run r = {};
        uint64_t t0;

        REQUIRE(endpoint_dns_update(e, conf, &p, on_result, &r, &op) == 0, "start epoch 14");
        op = endpoint_dns_op_free(op);
        t0 = now_usec();
        while (now_usec() - t0 < 300 * MSEC)
                REQUIRE(sd_event_run(e, 50 * MSEC) >= 0, "sd_event_run");
        check(!r.done, "cancelled: the handler never ran");
        check(endpoint_dns_op_free(NULL) == NULL, "free(NULL)");

        p.address = "10.0.1.300";
        check(endpoint_dns_update(e, conf, &p, on_result, &r, &op) == -EINVAL && !op,
                "bad address: -EINVAL");
        p.address = "db-a.example";
        check(endpoint_dns_update(e, conf, &p, on_result, &r, &op) == -EINVAL,
                "host name as address: -EINVAL");
        p.address = "10.0.1.20";
        p.primary = "db a";
        check(endpoint_dns_update(e, conf, &p, on_result, &r, &op) == -EINVAL, "bad primary: -EINVAL");
        p.primary = "db-a";
        c.tsig.algorithm = TSIG_HMAC_SHA384;
        check(endpoint_dns_update(e, &c, &p, on_result, &r, &op) == -EOPNOTSUPP, "hmac-sha384: -EOPNOTSUPP");
        c = *conf;
        c.name = (char *) "primary.other.test.";
        check(endpoint_dns_update(e, &c, &p, on_result, &r, &op) == -EINVAL,
                "name outside the zone: -EINVAL");
        check(!r.done, "no handler ran for a refused call");
        check(endpoint_dns_status_to_string(ENDPOINT_DNS_VERIFY_FAILED) &&
                        streq(endpoint_dns_status_to_string(ENDPOINT_DNS_VERIFY_FAILED), "verify-failed") &&
                        !endpoint_dns_status_to_string(_ENDPOINT_DNS_STATUS_MAX),
                "status names");
}

static void test_foreign_record(sd_event *e, const dns_endpoint_conf *conf) {
        _cleanup_free_ char *before = dig(name_a, "A");
        char cmd[512];
        endpoint_dns_result r;

        snprintf(cmd, sizeof(cmd), "update add %s 60 TXT \"somebody else\"", owner);
        REQUIRE(nsupdate(cmd) == 0, "nsupdate a second TXT record");
        r = update(e, conf, 20, "db-b", "10.0.2.20", 0, NULL);
        check(r.status == ENDPOINT_DNS_FAILED && r.n_updates == 0,
                "a foreign epoch record: failed, nothing sent");
        check(strstr(r.message, "refusing to write over it") != NULL,
                "a foreign epoch record: the message says so");
        dig_is(name_a, "A", before);
}

int main(void) {
        _cleanup_(sd_event_unrefp) sd_event *e = NULL;
        dns_endpoint_conf conf = {};

        setvbuf(stdout, NULL, _IOLBF, 0);
        snprintf(name_a, sizeof(name_a), "primary.%s", env("NAMED_ZONE"));
        snprintf(owner, sizeof(owner), "%s.%s", DNS_EPOCH_LABEL, name_a);
        conf.server = (hostport){.host = (char *) env("NAMED_HOST"),
                .port = (uint16_t) atoi(env("NAMED_PORT")),
                .family = AF_INET};
        conf.zone = (char *) env("NAMED_ZONE");
        conf.name = name_a;
        conf.ttl = 5;
        conf.tsig_key_file = (char *) env("NAMED_KEY_FILE");
        conf.tsig = load_key(conf.tsig_key_file);
        REQUIRE(sd_event_new(&e) >= 0, "sd_event_new");

        test_update_and_verify(e, &conf);
        test_stale(e, &conf);
        test_race(e, &conf);
        test_keys(e, &conf);
        test_outage(e, &conf);
        test_ipv6(e, &conf);
        test_api(e, &conf);
        test_foreign_record(e, &conf);

        tsig_key_done(&conf.tsig);
        printf("%u checks, %u failed\n", n_checks, n_failed);
        return n_failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
