/* Integration test of lib/io/endpoints.c: every endpoint of one cluster at once, against a real BIND
 * named on loopback and real commands. A dns endpoint (checked with dig), a vip endpoint of another
 * zone (skipped: the netlink side is tests/netns/test-endpoint-vip), and exec endpoints: one that
 * records its environment and stdin, one that exits 3, one that sleeps past its timeout. Also: a
 * stale epoch, a new primary given by host name, the deadline cutting a command short, cancelling,
 * a cluster without endpoints, a result that is all synchronous, and bad arguments.
 *
 * Run by test-endpoints.sh, which starts named with tests/harness/named-harness.sh, exports its
 * NAMED_* and ENDPOINTS_DIR (an empty directory for the scripts and their records, inside the
 * harness's directory), and kills any command left behind by the pids the scripts record. Prints
 * "ok N - ..." per check; exit 0 all passed, 1 a check failed. */
#include <errno.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <systemd/sd-event.h>
#include <unistd.h>

#include "config.h"
#include "dns-epoch.h"
#include "endpoints.h"
#include "macro.h"
#include "topology.h"
#include "tsig-key.h"

#define MSEC ((uint64_t) USEC_PER_MSEC)

#include "tap.h"

static char name_a[256], owner[300], dir[512];

/* ---- the world outside (blocking, but never inside the loop) ---- */

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

static char *read_file(const char *path) {
        char *buf = calloc(1, 65536);
        size_t n;
        FILE *f;

        REQUIRE(buf, "calloc");
        f = fopen(path, "re");
        if (!f)
                return buf;
        n = fread(buf, 1, 65535, f);
        buf[n] = '\0';
        fclose(f);
        return buf;
}

static void write_script(const char *name, const char *body) {
        char path[600];
        FILE *f;

        snprintf(path, sizeof(path), "%s/%s", dir, name);
        f = fopen(path, "we");
        REQUIRE(f, "create %s", path);
        /* every script records its pid (its process group) for the wrapper's cleanup */
        fprintf(f, "#!/bin/sh\necho $$ >>'%s/pids'\n%s", dir, body);
        REQUIRE(fclose(f) == 0 && chmod(path, 0755) == 0, "write %s", path);
}

/* The pid the sleeping script recorded last, or 0. */
static pid_t last_sleeper_pid(void) {
        _cleanup_free_ char *pids = NULL;
        char path[600];
        pid_t pid = 0;

        snprintf(path, sizeof(path), "%s/sleeper.pid", dir);
        pids = read_file(path);
        sscanf(pids, "%d", &pid);
        return pid;
}

/* Whether pid is gone (or a zombie of someone else's). */
static bool process_gone(pid_t pid) {
        char path[64], state = 0;
        FILE *f;

        if (pid <= 0)
                return false;
        snprintf(path, sizeof(path), "/proc/%d/stat", pid);
        f = fopen(path, "re");
        if (!f)
                return true;
        if (fscanf(f, "%*d (%*[^)]) %c", &state) != 1)
                state = 0;
        fclose(f);
        return state == 'Z';
}

/* ---- the cluster ---- */

static server_conf servers[] = {
        {.name = "db-a", .host = "127.0.0.1", .family = AF_INET, .port = 3306, .zone = "zone-a"},
        {.name = "db-b", .host = "127.0.0.2", .family = AF_INET, .port = 3307, .zone = "zone-b"},
        {.name = "db-c", .host = "localhost", .family = AF_UNSPEC, .port = 3308, .zone = "zone-c"},
};
enum { DB_A, DB_B, DB_C };

static endpoint_conf ep_dns, ep_vip, ep_record, ep_fail, ep_sleep;

static cluster_conf cluster_of(endpoint_conf *eps, size_t n) {
        return (cluster_conf){.name = "main",
                .n_servers = ELEMENTSOF(servers),
                .servers = servers,
                .n_endpoints = n,
                .endpoints = eps};
}

static void setup_endpoints(void) {
        char path[600];
        size_t n;
        FILE *f;
        char buf[4096];

        ep_dns.type = ENDPOINT_DNS;
        ep_dns.dns.server = (hostport){.host = (char *) env("NAMED_HOST"),
                .port = (uint16_t) atoi(env("NAMED_PORT")),
                .family = AF_INET};
        ep_dns.dns.zone = (char *) env("NAMED_ZONE");
        ep_dns.dns.name = name_a;
        ep_dns.dns.ttl = 5;
        ep_dns.dns.tsig_key_file = (char *) env("NAMED_KEY_FILE");
        f = fopen(ep_dns.dns.tsig_key_file, "re");
        REQUIRE(f, "open the key");
        n = fread(buf, 1, sizeof(buf), f);
        fclose(f);
        REQUIRE(tsig_key_parse(buf, n, &ep_dns.dns.tsig, NULL, NULL) == 0, "parse the key");

        ep_vip.type = ENDPOINT_VIP;
        REQUIRE(ip_prefix_parse("10.200.99.100/24", &ep_vip.vip.address, NULL) == 0, "vip address");
        ep_vip.vip.interface = "nosuch0";

        snprintf(path, sizeof(path), "%s/record", dir);
        ep_record.type = ENDPOINT_EXEC;
        ep_record.exec.command = strdup(path);
        ep_record.exec.timeout_ms = 5000;
        snprintf(buf, sizeof(buf),
                "env | grep '^SENTINEL_' | sort >'%s/record.env'\ncat >'%s/record.json'\necho recorded "
                "for $SENTINEL_PRIMARY_HOST\n",
                dir, dir);
        write_script("record", buf);

        snprintf(path, sizeof(path), "%s/fail", dir);
        ep_fail.type = ENDPOINT_EXEC;
        ep_fail.exec.command = strdup(path);
        ep_fail.exec.timeout_ms = 5000;
        write_script("fail", "echo >&2\necho 'boom:\tno route to the load balancer' >&2\nexit 3\n");

        snprintf(path, sizeof(path), "%s/sleep", dir);
        ep_sleep.type = ENDPOINT_EXEC;
        ep_sleep.exec.command = strdup(path);
        ep_sleep.exec.timeout_ms = 1000;
        snprintf(buf, sizeof(buf), "echo $$ >'%s/sleeper.pid'\nsleep 1000\n", dir);
        write_script("sleep", buf);
        REQUIRE(ep_record.exec.command && ep_fail.exec.command && ep_sleep.exec.command, "strdup");
}

/* ---- running ops on the loop ---- */

typedef struct run {
        unsigned calls;
        bool from_call; /* the handler ran inside endpoints_update() */
        bool in_call;
        endpoints_result res;
        endpoint_outcome outcomes[8];
} run;

static void on_result(endpoints_op *op, const endpoints_result *res, void *userdata) {
        run *r = userdata;

        r->calls++;
        r->from_call = r->from_call || r->in_call;
        r->res = *res;
        for (size_t i = 0; i < res->n && i < ELEMENTSOF(r->outcomes); i++) {
                r->outcomes[i] = res->outcomes[i];
                printf("#   [%zu] %s%s%s%s: %s\n", i, res->outcomes[i].ok ? "ok" : "FAILED",
                        res->outcomes[i].skipped ? " skipped" : "", res->outcomes[i].stale ? " stale" : "",
                        res->outcomes[i].timed_out ? " timed-out" : "", res->outcomes[i].message);
        }
        r->res.outcomes = r->outcomes;
        printf("#   all_ok=%d any_stale=%d in %" PRIu64 " ms\n", res->all_ok, res->any_stale,
                res->duration_usec / MSEC);
}

static void loop_until(sd_event *e, run *r, uint64_t limit_usec) {
        uint64_t end = now_usec() + limit_usec;

        while (r->calls == 0) {
                REQUIRE(now_usec() < end, "the operation ended within %" PRIu64 " ms", limit_usec / MSEC);
                REQUIRE(sd_event_run(e, 100 * MSEC) >= 0, "sd_event_run");
        }
}

/* Runs one op to its end; returns how long it took. */
static uint64_t run_op(sd_event *e, const endpoints_params *p, run *r, uint64_t limit_usec) {
        _cleanup_(endpoints_op_freep) endpoints_op *op = NULL;
        uint64_t t0 = now_usec(), t1;
        int k;

        printf("# epoch %" PRIu64 " -> %s, %zu endpoints\n", p->epoch, servers[p->new_primary].name,
                p->conf->n_endpoints);
        r->in_call = true;
        k = endpoints_update(e, p, on_result, r, &op);
        r->in_call = false;
        REQUIRE(k == 0, "endpoints_update() started: %s", strerror(-k));
        check(r->calls == 0 && endpoints_op_is_running(op), "no result from the call itself");
        loop_until(e, r, limit_usec);
        t1 = now_usec();
        check(r->calls == 1 && !r->from_call && !endpoints_op_is_running(op),
                "the handler ran once, from the loop");
        /* a few more iterations: nothing else may arrive */
        for (int i = 0; i < 3; i++)
                REQUIRE(sd_event_run(e, 10 * MSEC) >= 0, "sd_event_run");
        check(r->calls == 1, "and only once");
        return t1 - t0;
}

static endpoints_params params(const cluster_conf *c, uint64_t epoch, size_t new_primary, size_t old_primary,
        uint64_t timeout_usec) {
        return (endpoints_params){.conf = c,
                .sentinel_name = "az-x",
                .sentinel_zone = "zone-x",
                .epoch = epoch,
                .new_primary = new_primary,
                .old_primary = old_primary,
                .event = EVENT_FAILOVER_END,
                .message = "failover to db-b\ndone",
                .deadline_usec = now_usec() + timeout_usec};
}

/* ---- the cases ---- */

static void test_all(sd_event *e) {
        endpoint_conf eps[] = {ep_dns, ep_vip, ep_record, ep_fail, ep_sleep};
        cluster_conf c = cluster_of(eps, ELEMENTSOF(eps));
        endpoints_params p = params(&c, 3, DB_B, DB_A, 10 * USEC_PER_SEC);
        _cleanup_free_ char *envs = NULL, *json_text = NULL;
        json_object *j = NULL, *v;
        char path[600];
        run r = {};
        uint64_t took;
        pid_t sleeper;

        took = run_op(e, &p, &r, 15 * USEC_PER_SEC);
        REQUIRE(r.res.n == 5, "five outcomes");
        for (size_t i = 0; i < 5; i++)
                check(r.outcomes[i].index == i && r.outcomes[i].type == eps[i].type,
                        "outcome %zu: index and type", i);
        check(!r.res.all_ok && !r.res.any_stale, "not all ok, nothing stale");

        check(r.outcomes[0].ok && !r.outcomes[0].stale, "dns: ok");
        check(strstr(r.outcomes[0].message, "127.0.0.2") && strstr(r.outcomes[0].message, "epoch 3") &&
                        strstr(r.outcomes[0].message, "verified"),
                "dns: the message names the address, the epoch and the verification");
        dig_is(name_a, "A", "127.0.0.2");
        dig_is(owner, "TXT", "epoch=3 primary=db-b");

        check(r.outcomes[1].ok && r.outcomes[1].skipped, "vip of neither primary's zone: ok, skipped");
        check(strstr(r.outcomes[1].message, "not this sentinel's zone") != NULL,
                "vip: the message says why");

        check(r.outcomes[2].ok && !r.outcomes[2].timed_out, "exec record: ok");
        check(strstr(r.outcomes[2].message, "recorded for 127.0.0.2") != NULL,
                "exec record: the message has its output's first line");
        snprintf(path, sizeof(path), "%s/record.env", dir);
        envs = read_file(path);
        check(strstr(envs, "SENTINEL_PRIMARY_HOST=127.0.0.2\n") &&
                        strstr(envs, "SENTINEL_PRIMARY_PORT=3307\n"),
                "exec record: SENTINEL_PRIMARY_HOST and _PORT are the new primary's");
        check(strstr(envs, "SENTINEL_EPOCH=3\n") && strstr(envs, "SENTINEL_EVENT=failover-end\n") &&
                        strstr(envs, "SENTINEL_CLUSTER=main\n"),
                "exec record: SENTINEL_EPOCH, SENTINEL_EVENT, SENTINEL_CLUSTER");
        check(strstr(envs, "SENTINEL_OLD_PRIMARY=db-a 127.0.0.1:3306\n") &&
                        strstr(envs, "SENTINEL_NEW_PRIMARY=db-b 127.0.0.2:3307\n") &&
                        strstr(envs, "SENTINEL_MESSAGE=failover to db-b done\n") &&
                        strstr(envs, "SENTINEL_ZONE=zone-x\n"),
                "exec record: old and new primary, message (sanitised), zone");
        snprintf(path, sizeof(path), "%s/record.json", dir);
        json_text = read_file(path);
        j = json_tokener_parse(json_text);
        check(j && json_object_is_type(j, json_type_object), "exec record: stdin is a JSON object");
        check(j && json_object_object_get_ex(j, "event", &v) &&
                        streq(json_object_get_string(v), "failover-end") &&
                        json_object_object_get_ex(j, "epoch", &v) && json_object_get_int64(v) == 3,
                "exec record: its event and epoch");
        check(j && json_object_object_get_ex(j, "new_primary", &v) &&
                        json_object_object_get_ex(v, "host", &v) &&
                        streq(json_object_get_string(v), "127.0.0.2"),
                "exec record: its new_primary.host");
        json_object_put(j);

        check(!r.outcomes[3].ok && !r.outcomes[3].timed_out, "exec exit 3: failed");
        check(strstr(r.outcomes[3].message, "exited with status 3") &&
                        strstr(r.outcomes[3].message, "boom: no route to the load balancer"),
                "exec exit 3: the message says how and has the first line of output, sanitised");

        check(!r.outcomes[4].ok && r.outcomes[4].timed_out, "exec sleep: failed, timed out");
        check(strstr(r.outcomes[4].message, "signal TERM after its timeout") != NULL,
                "exec sleep: killed by SIGTERM at its timeout");
        check(r.outcomes[4].duration_usec >= 1000 * MSEC && r.outcomes[4].duration_usec < 4000 * MSEC,
                "exec sleep: ended after %" PRIu64 " ms (timeout 1000)", r.outcomes[4].duration_usec / MSEC);
        check(took >= 1000 * MSEC && took < 4000 * MSEC, "the whole op: %" PRIu64 " ms (< timeout + 3 s)",
                took / MSEC);
        check(r.outcomes[2].duration_usec < r.outcomes[4].duration_usec,
                "the quick ones did not wait for the slow one (%" PRIu64 " ms)",
                r.outcomes[2].duration_usec / MSEC);
        sleeper = last_sleeper_pid();
        check(process_gone(sleeper), "exec sleep: process %d is gone", sleeper);
}

static void test_stale(sd_event *e) {
        endpoint_conf eps[] = {ep_dns};
        cluster_conf c = cluster_of(eps, 1);
        endpoints_params p;
        run r5 = {}, r4 = {};

        p = params(&c, 5, DB_A, DB_B, 5 * USEC_PER_SEC);
        run_op(e, &p, &r5, 10 * USEC_PER_SEC);
        check(r5.res.all_ok && r5.outcomes[0].ok, "epoch 5: ok");
        dig_is(owner, "TXT", "epoch=5 primary=db-a");

        p = params(&c, 4, DB_B, DB_A, 5 * USEC_PER_SEC);
        run_op(e, &p, &r4, 10 * USEC_PER_SEC);
        check(!r4.res.all_ok && r4.res.any_stale, "epoch 4 after 5: not ok, any_stale");
        check(!r4.outcomes[0].ok && r4.outcomes[0].stale, "epoch 4 after 5: the dns outcome is stale");
        check(strstr(r4.outcomes[0].message, "stale") != NULL, "epoch 4 after 5: the message says stale");
        dig_is(name_a, "A", "127.0.0.1");
        dig_is(owner, "TXT", "epoch=5 primary=db-a");
}

static void test_resolve(sd_event *e) {
        endpoint_conf eps[] = {ep_dns};
        cluster_conf c = cluster_of(eps, 1);
        endpoints_params p = params(&c, 6, DB_C, DB_A, 5 * USEC_PER_SEC);
        _cleanup_free_ char *a = NULL, *aaaa = NULL;
        run r = {};

        run_op(e, &p, &r, 10 * USEC_PER_SEC);
        check(r.res.all_ok, "new primary by host name (localhost): resolved and ok");
        a = dig(name_a, "A");
        aaaa = dig(name_a, "AAAA");
        check((streq(a, "127.0.0.1") && streq(aaaa, "")) || (streq(a, "") && streq(aaaa, "::1")),
                "new primary by host name: dig says A \"%s\" AAAA \"%s\"", a, aaaa);
        dig_is(owner, "TXT", "epoch=6 primary=db-c");
}

static void test_deadline(sd_event *e) {
        endpoint_conf eps[] = {ep_dns, ep_sleep};
        cluster_conf c = cluster_of(eps, 2);
        endpoints_params p;
        run r = {};
        uint64_t took;
        pid_t sleeper;

        eps[1].exec.timeout_ms = 30000;
        p = params(&c, 7, DB_B, DB_C, 700 * MSEC);
        took = run_op(e, &p, &r, 10 * USEC_PER_SEC);
        check(took >= 650 * MSEC && took < 2700 * MSEC,
                "deadline 700 ms before the command's timeout: %" PRIu64 " ms", took / MSEC);
        check(r.outcomes[0].ok, "deadline: the dns endpoint made it");
        check(!r.outcomes[1].ok && r.outcomes[1].timed_out && strstr(r.outcomes[1].message, "deadline"),
                "deadline: the command is timed out at the deadline");
        sleeper = last_sleeper_pid();
        check(process_gone(sleeper), "deadline: its process %d is gone", sleeper);

        p = params(&c, 8, DB_B, DB_C, 0);
        p.deadline_usec = now_usec() - 1;
        r = (run){};
        run_op(e, &p, &r, 2 * USEC_PER_SEC);
        check(!r.res.all_ok && r.outcomes[0].timed_out && r.outcomes[1].timed_out &&
                        strstr(r.outcomes[0].message, "not started"),
                "a deadline already past: nothing started, all timed out");
        dig_is(owner, "TXT", "epoch=7 primary=db-b");
}

static void test_cancel(sd_event *e) {
        endpoint_conf eps[] = {ep_sleep, ep_dns};
        cluster_conf c = cluster_of(eps, 2);
        endpoints_params p = params(&c, 9, DB_A, DB_B, 5 * USEC_PER_SEC);
        endpoints_op *op = NULL;
        char path[600];
        run r = {};
        uint64_t t0;
        pid_t sleeper;

        snprintf(path, sizeof(path), "%s/sleeper.pid", dir);
        (void) unlink(path);
        REQUIRE(endpoints_update(e, &p, on_result, &r, &op) == 0, "start");
        t0 = now_usec();
        while (last_sleeper_pid() == 0 && now_usec() - t0 < 5 * USEC_PER_SEC)
                REQUIRE(sd_event_run(e, 50 * MSEC) >= 0, "sd_event_run");
        sleeper = last_sleeper_pid();
        check(!process_gone(sleeper), "cancel: the command runs (%d)", sleeper);
        check(endpoints_op_free(op) == NULL, "cancel: freed");
        check(process_gone(sleeper), "cancel: its process is gone");
        t0 = now_usec();
        while (now_usec() - t0 < 300 * MSEC)
                REQUIRE(sd_event_run(e, 50 * MSEC) >= 0, "sd_event_run");
        check(r.calls == 0, "cancel: the handler never ran");
        check(endpoints_op_free(NULL) == NULL, "free(NULL)");
}

static void test_synchronous(sd_event *e) {
        endpoint_conf eps[] = {ep_vip};
        cluster_conf none = cluster_of(NULL, 0), one = cluster_of(eps, 1);
        endpoints_params p = params(&none, 10, DB_A, DB_B, USEC_PER_SEC);
        run r0 = {}, r1 = {};

        run_op(e, &p, &r0, USEC_PER_SEC);
        check(r0.res.n == 0 && r0.res.all_ok && !r0.res.any_stale, "no endpoints: all ok, n 0");

        p = params(&one, 10, DB_A, TOPOLOGY_NONE, USEC_PER_SEC);
        run_op(e, &p, &r1, USEC_PER_SEC);
        check(r1.res.n == 1 && r1.res.all_ok && r1.outcomes[0].ok && r1.outcomes[0].skipped,
                "only a vip of another zone: skipped, delivered from the loop");
        p.sentinel_zone = NULL;
        r1 = (run){};
        run_op(e, &p, &r1, USEC_PER_SEC);
        check(r1.outcomes[0].skipped, "no sentinel zone: skipped");
}

static void test_api(sd_event *e) {
        endpoint_conf eps[] = {ep_vip};
        cluster_conf c = cluster_of(eps, 1);
        endpoints_params p = params(&c, 11, DB_A, DB_B, USEC_PER_SEC);
        endpoints_op *op = NULL;
        run r = {};

        p.new_primary = 3;
        check(endpoints_update(e, &p, on_result, &r, &op) == -EINVAL && !op,
                "new primary out of range: -EINVAL");
        p.new_primary = DB_A;
        p.old_primary = 7;
        check(endpoints_update(e, &p, on_result, &r, &op) == -EINVAL, "old primary out of range: -EINVAL");
        p.old_primary = DB_B;
        p.deadline_usec = 0;
        check(endpoints_update(e, &p, on_result, &r, &op) == -EINVAL, "deadline 0: -EINVAL");
        p.deadline_usec = now_usec() + USEC_PER_SEC;
        p.event = _EVENT_MAX;
        check(endpoints_update(e, &p, on_result, &r, &op) == -EINVAL, "bad event: -EINVAL");
        p.event = EVENT_FAILOVER_END;
        check(endpoints_update(e, &p, NULL, &r, &op) == -EINVAL, "no handler: -EINVAL");
        check(endpoints_update(e, NULL, on_result, &r, &op) == -EINVAL, "no params: -EINVAL");
        check(!op && r.calls == 0, "no op, no handler call for a refused call");
}

int main(void) {
        _cleanup_(sd_event_unrefp) sd_event *e = NULL;
        sigset_t chld;

        setvbuf(stdout, NULL, _IOLBF, 0);
        /* as the daemon does: the runner's child sources need SIGCHLD blocked */
        sigemptyset(&chld);
        sigaddset(&chld, SIGCHLD);
        REQUIRE(sigprocmask(SIG_BLOCK, &chld, NULL) == 0, "block SIGCHLD");
        snprintf(dir, sizeof(dir), "%s", env("ENDPOINTS_DIR"));
        snprintf(name_a, sizeof(name_a), "primary.%s", env("NAMED_ZONE"));
        snprintf(owner, sizeof(owner), "%s.%s", DNS_EPOCH_LABEL, name_a);
        setup_endpoints();
        REQUIRE(sd_event_new(&e) >= 0, "sd_event_new");

        test_all(e);
        test_stale(e);
        test_resolve(e);
        test_deadline(e);
        test_cancel(e);
        test_synchronous(e);
        test_api(e);

        tsig_key_done(&ep_dns.dns.tsig);
        free(ep_record.exec.command);
        free(ep_fail.exec.command);
        free(ep_sleep.exec.command);
        printf("%u checks, %u failed\n", n_checks, n_failed);
        return n_failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
