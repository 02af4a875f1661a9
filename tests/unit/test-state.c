/* Unit tests for lib/io/state.c: the rules, the file format, corruption of every kind, and a
 * simulated crash (or failure) after every step of the atomic write. */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <inttypes.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fsutil.h"
#include "macro.h"
#include "tmpdir-util.h"
#include "state.h"

static char root[] = "/tmp/test-state-XXXXXX";
static char tmpdir[TMPDIR_SIZE];

static void setup(void) {
        tmpdir_make(root, tmpdir);
}

static void teardown(void) {
        (void) tmpdir_rm_rf(tmpdir);
}

static size_t count_temps(void) {
        DIR *d = opendir(tmpdir);
        struct dirent *de;
        size_t n = 0;

        ck_assert_ptr_nonnull(d);
        while ((de = readdir(d)))
                n += fsutil_is_temp_name(de->d_name, STATE_FILE_NAME);
        closedir(d);
        return n;
}

/* Writes raw bytes as state.json, bypassing the atomic writer. */
static void write_raw(const char *data, size_t len) {
        char p[PATH_MAX];
        int fd;

        (void) snprintf(p, sizeof(p), "%s/%s", tmpdir, STATE_FILE_NAME);
        fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        ck_assert_int_ge(fd, 0);
        ck_assert_int_eq(write(fd, data, len), (ssize_t) len);
        close(fd);
}

/* A file with body and its correct checksum line: for content that is wrong in meaning only. */
static char *seal(const char *body) {
        unsigned char md[EVP_MAX_MD_SIZE];
        unsigned n = 0;
        char *out, *p;

        ck_assert_int_eq(EVP_Digest(body, strlen(body), md, &n, EVP_sha256(), NULL), 1);
        out = malloc(strlen(body) + 8 + 2 * n + 2);
        ck_assert_ptr_nonnull(out);
        p = stpcpy(stpcpy(out, body), "sha256:");
        for (unsigned i = 0; i < n; i++)
                p += sprintf(p, "%02x", md[i]);
        strcpy(p, "\n");
        return out;
}

/* Realtime microseconds for maintenance ends and failovers (2023-11-14T22:13:20Z and a bit). */
#define T0 UINT64_C(1700000000000000)
#define T1 UINT64_C(1700000123456789)

/* The "old" state of the crash tests: epoch 5, two votes, two clusters, one in maintenance. */
static state *make_old(void) {
        state *s = NULL;

        ck_assert_int_eq(state_new(&s), 0);
        ck_assert_int_eq(state_record_vote(s, 3, "az-b"), 1);
        ck_assert_int_eq(state_record_vote(s, 5, "az-a"), 1);
        ck_assert_int_eq(state_set_cluster_primary(s, "main", "db-a", 3), 1);
        ck_assert_int_eq(state_set_cluster_primary(s, "aux", "db-x", 1), 1);
        ck_assert_int_eq(state_set_cluster_maintenance(s, "aux", T0), 1);
        return s;
}

/* The "new" state: a further vote, a new primary after a failover, a higher epoch, maintenance
 * over for one cluster and begun for another that has no known primary. */
static state *make_new(void) {
        state *s = make_old();

        ck_assert_int_eq(state_record_vote(s, 6, "az-c"), 1);
        ck_assert_int_eq(state_set_cluster_primary(s, "main", "db-b", 6), 1);
        ck_assert_int_eq(state_set_cluster_last_failover(s, "main", T1, 6), 1);
        ck_assert_int_eq(state_set_cluster_maintenance(s, "aux", STATE_MAINTENANCE_OFF), 1);
        ck_assert_int_eq(state_set_cluster_maintenance(s, "ops", STATE_MAINTENANCE_FOREVER), 1);
        ck_assert_int_eq(state_set_epoch(s, 7), 1);
        return s;
}

static state *load_ok(int expect) {
        _cleanup_free_ char *detail = NULL;
        state *s = NULL;
        int r = state_load(tmpdir, &s, &detail);

        ck_assert_msg(
                r == expect, "state_load: %d (%s), expected %d", r, detail ?: state_strerror(r), expect);
        return s;
}

START_TEST(test_missing_file_is_fresh) {
        _cleanup_(state_freep) state *s = load_ok(0);
        _cleanup_(state_freep) state *fresh = NULL;
        const char *c = "x";

        ck_assert_int_eq(state_get_epoch(s), 0);
        ck_assert_int_eq(state_last_vote(s, NULL, &c), 0);
        ck_assert_ptr_null(c);
        ck_assert_uint_eq(state_n_clusters(s), 0);
        ck_assert_int_eq(state_new(&fresh), 0);
        ck_assert(state_equal(s, fresh));
}
END_TEST

START_TEST(test_missing_dir) {
        _cleanup_(state_freep) state *old = make_old();
        _cleanup_free_ char *detail = NULL;
        char p[PATH_MAX];
        state *s = NULL;

        (void) snprintf(p, sizeof(p), "%s/nope", tmpdir);
        ck_assert_int_eq(state_load(p, &s, &detail), -ENOENT);
        ck_assert_ptr_null(s);
        ck_assert_ptr_nonnull(strstr(detail, "nope"));
        ck_assert_int_eq(state_save(p, old), -ENOENT);
}
END_TEST

START_TEST(test_round_trip) {
        _cleanup_(state_freep) state *a = make_new(), *b = NULL, *c = NULL;
        _cleanup_free_ char *data = NULL, *data2 = NULL;
        size_t len, len2;
        const char *name;
        uint64_t e;
        char p[PATH_MAX];
        struct stat st;

        ck_assert_int_eq(state_save(tmpdir, a), 0);
        b = load_ok(1);
        ck_assert(state_equal(a, b));
        ck_assert_int_eq(state_get_epoch(b), 7);
        ck_assert_int_eq(state_vote_for(b, 6, &name), 1);
        ck_assert_str_eq(name, "az-c");
        ck_assert_int_eq(state_vote_for(b, 3, &name), 1);
        ck_assert_str_eq(name, "az-b");
        ck_assert_int_eq(state_vote_for(b, 4, &name), 0);
        ck_assert_int_eq(state_get_cluster_primary(b, "main", &name, &e), 1);
        ck_assert_str_eq(name, "db-b");
        ck_assert_int_eq(e, 6);
        ck_assert_int_eq(state_get_cluster_primary(b, "nope", &name, &e), 0);
        ck_assert_ptr_null(name);
        ck_assert_int_eq(state_get_cluster_primary(b, "ops", &name, &e), 0);
        ck_assert_ptr_null(name);
        ck_assert_uint_eq(state_n_clusters(b), 2);
        ck_assert_int_eq(state_get_cluster_maintenance(b, "ops", &e), 1);
        ck_assert(e == STATE_MAINTENANCE_FOREVER);
        ck_assert_int_eq(state_get_cluster_maintenance(b, "aux", &e), 0);
        ck_assert(e == 0);
        ck_assert_int_eq(state_get_cluster_last_failover(b, "main", &e, NULL), 1);
        ck_assert(e == T1);

        (void) snprintf(p, sizeof(p), "%s/%s", tmpdir, STATE_FILE_NAME);
        ck_assert_int_eq(stat(p, &st), 0);
        ck_assert_int_eq(st.st_mode & 07777, STATE_FILE_MODE);
        ck_assert_uint_eq(count_temps(), 0);

        /* Byte-stable: format(parse(format(s))) == format(s). */
        ck_assert_int_eq(state_format(a, &data, &len), 0);
        ck_assert_int_eq(state_parse(data, len, &c, NULL), 0);
        ck_assert_int_eq(state_format(c, &data2, &len2), 0);
        ck_assert_uint_eq(len, len2);
        ck_assert_mem_eq(data, data2, len);
        ck_assert_ptr_nonnull(strstr(data, "\"version\": 1"));

        /* The largest epoch survives the trip. */
        ck_assert_int_eq(state_set_epoch(a, STATE_EPOCH_MAX), 1);
        ck_assert_int_eq(state_save(tmpdir, a), 0);
        state_free(b);
        b = load_ok(1);
        ck_assert(state_get_epoch(b) == STATE_EPOCH_MAX);
}
END_TEST

START_TEST(test_epoch_rules) {
        _cleanup_(state_freep) state *s = NULL;

        ck_assert_int_eq(state_new(&s), 0);
        ck_assert_int_eq(state_set_epoch(s, 0), 0);
        ck_assert_int_eq(state_set_epoch(s, 4), 1);
        ck_assert_int_eq(state_set_epoch(s, 4), 0);
        ck_assert_int_eq(state_set_epoch(s, 3), -STATE_ERROR_EPOCH_BACKWARDS);
        ck_assert_int_eq(state_set_epoch(s, 0), -STATE_ERROR_EPOCH_BACKWARDS);
        ck_assert_int_eq(state_set_epoch(s, UINT64_MAX), -ERANGE);
        ck_assert_int_eq(state_get_epoch(s), 4);
}
END_TEST

/* One vote per epoch, epochs only forward: a script run against one state. */
static const struct {
        uint64_t epoch;
        const char *candidate;
        int r;
        uint64_t epoch_after;
} vote_steps[] = {
        {2, "az-a", 1, 2},
        {2, "az-a", 0, 2},                          /* the same vote again: fine */
        {2, "az-b", -STATE_ERROR_ALREADY_VOTED, 2}, /* a second, different vote */
        {1, "az-a", -STATE_ERROR_VOTE_STALE, 2},    /* older than the last vote */
        {5, "az-b", 1, 5},                          /* raises the epoch */
        {2, "az-a", -STATE_ERROR_VOTE_STALE, 5},    /* even the same old vote */
        {5, "az-c", -STATE_ERROR_ALREADY_VOTED, 5},
        {6, "", -EINVAL, 5},
        {6, NULL, -EINVAL, 5},
        {6, "a\nb", -EINVAL, 5},
        {UINT64_MAX, "az-a", -ERANGE, 5},
        {6, "az-c", 1, 6},
};

START_TEST(test_vote_rules) {
        _cleanup_(state_freep) state *s = NULL;
        const char *c;
        uint64_t e;

        ck_assert_int_eq(state_new(&s), 0);
        ck_assert_int_eq(state_vote_for(s, 2, &c), 0);
        for (size_t i = 0; i < ELEMENTSOF(vote_steps); i++) {
                int r = state_record_vote(s, vote_steps[i].epoch, vote_steps[i].candidate);

                ck_assert_msg(r == vote_steps[i].r, "step %zu: %d (%s), expected %d", i, r,
                        state_strerror(r), vote_steps[i].r);
                ck_assert_int_eq(state_get_epoch(s), vote_steps[i].epoch_after);
        }
        ck_assert_int_eq(state_vote_for(s, 2, &c), 1);
        ck_assert_str_eq(c, "az-a");
        ck_assert_int_eq(state_vote_for(s, 5, &c), 1);
        ck_assert_str_eq(c, "az-b");
        ck_assert_int_eq(state_vote_for(s, 7, &c), 0);
        ck_assert_int_eq(state_last_vote(s, &e, &c), 1);
        ck_assert_int_eq(e, 6);
        ck_assert_str_eq(c, "az-c");

        /* A vote below a current epoch raised without voting is stale too. */
        ck_assert_int_eq(state_set_epoch(s, 9), 1);
        ck_assert_int_eq(state_record_vote(s, 8, "az-a"), -STATE_ERROR_VOTE_STALE);
        ck_assert_int_eq(state_record_vote(s, 9, "az-a"), 1);
}
END_TEST

START_TEST(test_vote_history_bound) {
        _cleanup_(state_freep) state *s = NULL, *t = NULL;
        const char *c;

        ck_assert_int_eq(state_new(&s), 0);
        for (uint64_t e = 1; e <= STATE_VOTES_MAX + 4; e++)
                ck_assert_int_eq(state_record_vote(s, e * 10, e % 2 ? "az-a" : "az-b"), 1);
        /* The oldest four are forgotten: unknown, and still refused. */
        ck_assert_int_eq(state_vote_for(s, 10, &c), -STATE_ERROR_VOTE_STALE);
        ck_assert_int_eq(state_vote_for(s, 45, &c), -STATE_ERROR_VOTE_STALE);
        ck_assert_int_eq(state_vote_for(s, 50, &c), 1);
        ck_assert_str_eq(c, "az-a");
        ck_assert_int_eq(state_vote_for(s, 55, &c), 0);
        ck_assert_int_eq(state_record_vote(s, 10, "az-a"), -STATE_ERROR_VOTE_STALE);
        ck_assert_int_eq(state_save(tmpdir, s), 0);
        t = load_ok(1);
        ck_assert(state_equal(s, t));
}
END_TEST

START_TEST(test_cluster_rules) {
        _cleanup_(state_freep) state *s = NULL;
        const char *p;
        uint64_t e;

        ck_assert_int_eq(state_new(&s), 0);
        ck_assert_int_eq(state_set_cluster_primary(s, "main", "db-a", 0), 1);
        ck_assert_int_eq(state_set_cluster_primary(s, "main", "db-a", 0), 0);
        ck_assert_int_eq(state_set_cluster_primary(s, "main", "db-b", 0), -STATE_ERROR_CONFIG_CONFLICT);
        ck_assert_int_eq(state_set_cluster_primary(s, "main", "db-b", 4), 1);
        ck_assert_int_eq(state_set_cluster_primary(s, "main", "db-a", 3), -STATE_ERROR_CONFIG_EPOCH_STALE);
        ck_assert_int_eq(state_set_cluster_primary(s, "main", "db-b", 3), -STATE_ERROR_CONFIG_EPOCH_STALE);
        ck_assert_int_eq(state_set_cluster_primary(s, "", "db-b", 5), -EINVAL);
        ck_assert_int_eq(state_set_cluster_primary(s, "main", NULL, 5), -EINVAL);
        ck_assert_int_eq(state_set_cluster_primary(s, "main", "db-c", UINT64_MAX), -ERANGE);
        ck_assert_int_eq(state_set_cluster_primary(s, "b", "db-1", 1), 1);
        ck_assert_int_eq(state_set_cluster_primary(s, "a", "db-2", 2), 1);
        ck_assert_uint_eq(state_n_clusters(s), 3);
        ck_assert_int_eq(state_get_cluster_primary(s, "main", &p, &e), 1);
        ck_assert_str_eq(p, "db-b");
        ck_assert_int_eq(e, 4);
        ck_assert_int_eq(state_get_cluster_primary(s, "a", &p, &e), 1);
        ck_assert_str_eq(p, "db-2");
        /* The config epoch is the cluster's own: it does not move the sentinel's epoch. */
        ck_assert_int_eq(state_get_epoch(s), 0);
}
END_TEST

/* A fresh state with cluster "m" in maintenance until T0, and no primary. */
static state *make_maintenance_only(void) {
        state *s = NULL;

        ck_assert_int_eq(state_new(&s), 0);
        ck_assert_int_eq(state_set_cluster_maintenance(s, "m", T0), 1);
        return s;
}

START_TEST(test_maintenance_rules) {
        _cleanup_(state_freep) state *s = NULL, *fresh = NULL;
        static const uint64_t values[] = {1, T0, STATE_EPOCH_MAX, STATE_MAINTENANCE_FOREVER, T1};
        const char *p = "x";
        uint64_t u = 42;

        ck_assert_int_eq(state_new(&s), 0);
        ck_assert_int_eq(state_new(&fresh), 0);
        ck_assert_int_eq(state_get_cluster_maintenance(s, "m", &u), 0);
        ck_assert(u == 0);
        /* Off on an unknown cluster changes nothing, and makes no entry. */
        ck_assert_int_eq(state_set_cluster_maintenance(s, "m", STATE_MAINTENANCE_OFF), 0);
        ck_assert(state_equal(s, fresh));

        /* Every value reads back, ordinary, the largest and forever alike. */
        for (size_t i = 0; i < ELEMENTSOF(values); i++) {
                ck_assert_int_eq(state_set_cluster_maintenance(s, "m", values[i]), 1);
                ck_assert_int_eq(state_set_cluster_maintenance(s, "m", values[i]), 0);
                ck_assert_int_eq(state_get_cluster_maintenance(s, "m", &u), 1);
                ck_assert(u == values[i]);
        }
        /* An entry without a primary: no primary, not counted. */
        ck_assert_int_eq(state_get_cluster_primary(s, "m", &p, &u), 0);
        ck_assert_ptr_null(p);
        ck_assert(u == 0);
        ck_assert_uint_eq(state_n_clusters(s), 0);
        ck_assert(!state_equal(s, fresh));

        /* Bad arguments change nothing. */
        ck_assert_int_eq(state_set_cluster_maintenance(NULL, "m", T0), -EINVAL);
        ck_assert_int_eq(state_set_cluster_maintenance(s, NULL, T0), -EINVAL);
        ck_assert_int_eq(state_set_cluster_maintenance(s, "", T0), -EINVAL);
        ck_assert_int_eq(state_set_cluster_maintenance(s, "a\nb", T0), -EINVAL);
        ck_assert_int_eq(state_get_cluster_maintenance(NULL, "m", &u), -EINVAL);
        ck_assert_int_eq(state_get_cluster_maintenance(s, NULL, &u), -EINVAL);
        ck_assert_int_eq(state_get_cluster_maintenance(s, "m", NULL), 1);
        ck_assert_int_eq(state_get_cluster_maintenance(s, "m", &u), 1);
        ck_assert(u == T1);

        /* A primary adopted during maintenance: any config epoch, and the maintenance stays. */
        ck_assert_int_eq(state_set_cluster_primary(s, "m", "db-a", 0), 1);
        ck_assert_int_eq(state_get_cluster_primary(s, "m", &p, &u), 1);
        ck_assert_str_eq(p, "db-a");
        ck_assert_uint_eq(state_n_clusters(s), 1);
        ck_assert_int_eq(state_get_cluster_maintenance(s, "m", &u), 1);
        ck_assert(u == T1);
        /* Off again: the primary stays. */
        ck_assert_int_eq(state_set_cluster_maintenance(s, "m", STATE_MAINTENANCE_OFF), 1);
        ck_assert_int_eq(state_get_cluster_maintenance(s, "m", &u), 0);
        ck_assert(u == 0);
        ck_assert_int_eq(state_get_cluster_primary(s, "m", &p, NULL), 1);
        ck_assert_uint_eq(state_n_clusters(s), 1);

        /* On and off for a cluster known for nothing else gives back a fresh state. */
        state_free(s);
        s = make_maintenance_only();
        ck_assert_int_eq(state_set_cluster_maintenance(s, "m", STATE_MAINTENANCE_OFF), 1);
        ck_assert(state_equal(s, fresh));
        /* Sorted by name, as primaries are. */
        ck_assert_int_eq(state_set_cluster_maintenance(s, "z", T0), 1);
        ck_assert_int_eq(state_set_cluster_primary(s, "b", "db-b", 1), 1);
        ck_assert_int_eq(state_set_cluster_maintenance(s, "a", T1), 1);
        ck_assert_int_eq(state_get_cluster_maintenance(s, "z", &u), 1);
        ck_assert(u == T0);
        ck_assert_int_eq(state_get_cluster_maintenance(s, "a", &u), 1);
        ck_assert(u == T1);
        ck_assert_int_eq(state_get_cluster_maintenance(s, "b", &u), 0);
        ck_assert_uint_eq(state_n_clusters(s), 1);
}
END_TEST

/* The pending flag: only with a primary, cleared by any new primary, persisted only when set. */
START_TEST(test_pending_rules) {
        _cleanup_(state_freep) state *s = NULL, *t = NULL, *committed = NULL;
        _cleanup_free_ char *data = NULL;
        const char *p;
        uint64_t e;
        size_t len;

        ck_assert_int_eq(state_new(&s), 0);
        ck_assert(!state_get_cluster_pending(s, "m"));
        ck_assert(!state_get_cluster_pending(NULL, "m"));
        ck_assert(!state_get_cluster_pending(s, NULL));
        /* Not without a primary: true is refused, false is no change (and makes no entry). */
        ck_assert_int_eq(state_set_cluster_pending(s, "m", true), -ENOENT);
        ck_assert_int_eq(state_set_cluster_pending(s, "m", false), 0);
        ck_assert_int_eq(state_set_cluster_maintenance(s, "m", T0), 1);
        ck_assert_int_eq(state_set_cluster_pending(s, "m", true), -ENOENT);
        ck_assert_int_eq(state_set_cluster_maintenance(s, "m", STATE_MAINTENANCE_OFF), 1);
        ck_assert_int_eq(state_set_cluster_pending(NULL, "m", true), -EINVAL);
        ck_assert_int_eq(state_set_cluster_pending(s, NULL, true), -EINVAL);

        /* The write-ahead of a failover: the primary, then pending. */
        ck_assert_int_eq(state_set_cluster_primary(s, "m", "db-a", 1), 1);
        ck_assert(!state_get_cluster_pending(s, "m"));
        ck_assert_int_eq(state_set_cluster_primary(s, "m", "db-b", 2), 1);
        ck_assert_int_eq(state_set_cluster_pending(s, "m", true), 1);
        ck_assert_int_eq(state_set_cluster_pending(s, "m", true), 0);
        ck_assert(state_get_cluster_pending(s, "m"));
        ck_assert(!state_get_cluster_pending(s, "other"));
        /* The primary and its epoch are what they are, pending or not. */
        ck_assert_int_eq(state_get_cluster_primary(s, "m", &p, &e), 1);
        ck_assert_str_eq(p, "db-b");
        ck_assert(e == 2);

        /* Persisted, only when set, and it counts for state_equal(). */
        ck_assert_int_eq(state_format(s, &data, &len), 0);
        ck_assert_ptr_nonnull(strstr(data, "\"pending\": true"));
        ck_assert_int_eq(state_save(tmpdir, s), 0);
        t = load_ok(1);
        ck_assert(state_equal(s, t));
        ck_assert(state_get_cluster_pending(t, "m"));

        /* The same primary in the same epoch again (0) keeps it pending. */
        ck_assert_int_eq(state_set_cluster_primary(t, "m", "db-b", 2), 0);
        ck_assert(state_get_cluster_pending(t, "m"));
        /* Committed: cleared, and the file is as if it had never been pending. */
        ck_assert_int_eq(state_set_cluster_pending(t, "m", false), 1);
        ck_assert(!state_equal(s, t));
        ck_assert_int_eq(state_new(&committed), 0);
        ck_assert_int_eq(state_set_cluster_primary(committed, "m", "db-b", 2), 1);
        ck_assert(state_equal(t, committed));
        free(data);
        data = NULL;
        ck_assert_int_eq(state_format(t, &data, &len), 0);
        ck_assert_ptr_null(strstr(data, "pending"));

        /* A newer configuration (adopted from a peer, or the resumed run's own) clears it. */
        ck_assert_int_eq(state_set_cluster_pending(s, "m", true), 0);
        ck_assert_int_eq(state_set_cluster_primary(s, "m", "db-c", 3), 1);
        ck_assert(!state_get_cluster_pending(s, "m"));
        ck_assert_int_eq(state_set_cluster_pending(s, "m", true), 1);
        ck_assert_int_eq(state_set_cluster_primary(s, "m", "db-c", 4), 1);
        ck_assert(!state_get_cluster_pending(s, "m"));
        /* A refused older one leaves it as it was. */
        ck_assert_int_eq(state_set_cluster_pending(s, "m", true), 1);
        ck_assert_int_eq(state_set_cluster_primary(s, "m", "db-a", 3), -STATE_ERROR_CONFIG_EPOCH_STALE);
        ck_assert_int_eq(state_set_cluster_primary(s, "m", "db-a", 4), -STATE_ERROR_CONFIG_CONFLICT);
        ck_assert(state_get_cluster_pending(s, "m"));
}
END_TEST

/* The time of the last maintenance change: set with the end, kept by the plain setter and by "off",
 * persisted; an entry holding only that time lives on. */
START_TEST(test_maintenance_set_rules) {
        _cleanup_(state_freep) state *s = NULL, *t = NULL, *fresh = NULL;
        _cleanup_free_ char *data = NULL;
        uint64_t u = 42, set = 42;
        size_t len;

        ck_assert_int_eq(state_new(&s), 0);
        ck_assert_int_eq(state_new(&fresh), 0);
        ck_assert_int_eq(state_get_cluster_maintenance_at(s, "m", &u, &set), 0);
        ck_assert(u == 0 && set == 0);
        ck_assert_int_eq(state_set_cluster_maintenance_at(s, "m", STATE_MAINTENANCE_OFF, 0), 0);
        ck_assert(state_equal(s, fresh));

        ck_assert_int_eq(state_set_cluster_maintenance_at(s, "m", STATE_MAINTENANCE_FOREVER, T0), 1);
        ck_assert_int_eq(state_set_cluster_maintenance_at(s, "m", STATE_MAINTENANCE_FOREVER, T0), 0);
        ck_assert_int_eq(state_get_cluster_maintenance_at(s, "m", &u, &set), 1);
        ck_assert(u == STATE_MAINTENANCE_FOREVER && set == T0);
        /* Either half is a change. */
        ck_assert_int_eq(state_set_cluster_maintenance_at(s, "m", STATE_MAINTENANCE_FOREVER, T0 + 1), 1);
        ck_assert_int_eq(state_set_cluster_maintenance_at(s, "m", T1, T0 + 1), 1);
        ck_assert_int_eq(state_get_cluster_maintenance(s, "m", &u), 1);
        ck_assert(u == T1);
        /* The plain setter (a TTL that expired) keeps the time of the change. */
        ck_assert_int_eq(state_set_cluster_maintenance(s, "m", STATE_MAINTENANCE_OFF), 1);
        ck_assert_int_eq(state_get_cluster_maintenance(s, "m", &u), 0);
        ck_assert_int_eq(state_get_cluster_maintenance_at(s, "m", &u, &set), 1);
        ck_assert(u == STATE_MAINTENANCE_OFF && set == T0 + 1);
        ck_assert(!state_equal(s, fresh));
        /* Off with a time: persisted, and read back the same. */
        ck_assert_int_eq(state_format(s, &data, &len), 0);
        ck_assert_ptr_nonnull(strstr(data, "\"maintenance_set_usec\": 1700000000000001"));
        ck_assert_ptr_null(strstr(data, "maintenance_until_usec"));
        ck_assert_int_eq(state_save(tmpdir, s), 0);
        t = load_ok(1);
        ck_assert(state_equal(s, t));
        ck_assert_int_eq(state_get_cluster_maintenance_at(t, "m", &u, &set), 1);
        ck_assert(u == STATE_MAINTENANCE_OFF && set == T0 + 1);
        ck_assert_uint_eq(state_n_clusters(t), 0);
        /* It counts for state_equal(). */
        ck_assert_int_eq(state_set_cluster_maintenance_at(t, "m", STATE_MAINTENANCE_OFF, T0 + 2), 1);
        ck_assert(!state_equal(s, t));
        /* Nothing left at all gives back a fresh state. */
        ck_assert_int_eq(state_set_cluster_maintenance_at(s, "m", STATE_MAINTENANCE_OFF, 0), 1);
        ck_assert(state_equal(s, fresh));
        ck_assert_int_eq(state_get_cluster_maintenance_at(s, "m", NULL, NULL), 0);

        /* Bad arguments change nothing. */
        ck_assert_int_eq(state_set_cluster_maintenance_at(s, "m", T0, UINT64_MAX), -ERANGE);
        ck_assert_int_eq(state_set_cluster_maintenance_at(NULL, "m", T0, T0), -EINVAL);
        ck_assert_int_eq(state_set_cluster_maintenance_at(s, "", T0, T0), -EINVAL);
        ck_assert_int_eq(state_get_cluster_maintenance_at(NULL, "m", &u, &set), -EINVAL);
        ck_assert_int_eq(state_get_cluster_maintenance_at(s, NULL, &u, &set), -EINVAL);
        ck_assert(state_equal(s, fresh));
        /* The largest time. */
        ck_assert_int_eq(state_set_cluster_maintenance_at(s, "m", T0, UINT64_MAX - 1), 1);
        ck_assert_int_eq(state_get_cluster_maintenance_at(s, "m", &u, &set), 1);
        ck_assert(u == T0 && set == UINT64_MAX - 1);
}
END_TEST

START_TEST(test_last_failover_rules) {
        _cleanup_(state_freep) state *s = NULL;
        uint64_t u = 42, e = 42;
        const char *p;

        ck_assert_int_eq(state_new(&s), 0);
        ck_assert_int_eq(state_get_cluster_last_failover(s, "m", &u, &e), 0);
        ck_assert(u == 0 && e == 0);

        ck_assert_int_eq(state_set_cluster_last_failover(s, "m", T0, 5), 1);
        ck_assert_int_eq(state_set_cluster_last_failover(s, "m", T0, 5), 0);
        ck_assert_int_eq(state_get_cluster_last_failover(s, "m", &u, &e), 1);
        ck_assert(u == T0 && e == 5);
        /* Known only for its failover: no primary, not counted, no maintenance. */
        ck_assert_int_eq(state_get_cluster_primary(s, "m", &p, NULL), 0);
        ck_assert_uint_eq(state_n_clusters(s), 0);
        ck_assert_int_eq(state_get_cluster_maintenance(s, "m", &u), 0);

        /* Either half changes it; the record is replaced, with no ordering rule. */
        ck_assert_int_eq(state_set_cluster_last_failover(s, "m", T0, 6), 1);
        ck_assert_int_eq(state_set_cluster_last_failover(s, "m", T1, 6), 1);
        ck_assert_int_eq(state_set_cluster_last_failover(s, "m", T0, 2), 1);
        ck_assert_int_eq(state_get_cluster_last_failover(s, "m", &u, &e), 1);
        ck_assert(u == T0 && e == 2);
        /* The extremes, and zero, which is a known failover too. */
        ck_assert_int_eq(state_set_cluster_last_failover(s, "m", UINT64_MAX - 1, STATE_EPOCH_MAX), 1);
        ck_assert_int_eq(state_get_cluster_last_failover(s, "m", &u, &e), 1);
        ck_assert(u == UINT64_MAX - 1 && e == STATE_EPOCH_MAX);
        ck_assert_int_eq(state_set_cluster_last_failover(s, "m", 0, 0), 1);
        ck_assert_int_eq(state_get_cluster_last_failover(s, "m", &u, &e), 1);
        ck_assert(u == 0 && e == 0);

        /* Bad arguments change nothing. */
        ck_assert_int_eq(state_set_cluster_last_failover(s, "m", UINT64_MAX, 1), -ERANGE);
        ck_assert_int_eq(state_set_cluster_last_failover(s, "m", T0, UINT64_MAX), -ERANGE);
        ck_assert_int_eq(state_set_cluster_last_failover(s, "", T0, 1), -EINVAL);
        ck_assert_int_eq(state_set_cluster_last_failover(s, NULL, T0, 1), -EINVAL);
        ck_assert_int_eq(state_set_cluster_last_failover(NULL, "m", T0, 1), -EINVAL);
        ck_assert_int_eq(state_get_cluster_last_failover(NULL, "m", &u, &e), -EINVAL);
        ck_assert_int_eq(state_get_cluster_last_failover(s, NULL, &u, &e), -EINVAL);
        ck_assert_int_eq(state_get_cluster_last_failover(s, "m", NULL, NULL), 1);
        ck_assert_int_eq(state_get_cluster_last_failover(s, "m", &u, &e), 1);
        ck_assert(u == 0 && e == 0);
        ck_assert_int_eq(state_set_cluster_last_failover(s, "n", UINT64_MAX, 1), -ERANGE);
        ck_assert_int_eq(state_get_cluster_last_failover(s, "n", &u, &e), 0);

        /* The failover does not move the sentinel's epoch, nor stop a primary being adopted. */
        ck_assert_int_eq(state_get_epoch(s), 0);
        ck_assert_int_eq(state_set_cluster_primary(s, "m", "db-a", 0), 1);
        ck_assert_uint_eq(state_n_clusters(s), 1);
        ck_assert_int_eq(state_get_cluster_last_failover(s, "m", &u, &e), 1);
}
END_TEST

/* Every new field, at every kind of value, through state_format()/state_parse() (byte-stable) and
 * through state_save()/state_load(). */
START_TEST(test_new_fields_round_trip) {
        _cleanup_(state_freep) state *a = NULL, *b = NULL, *c = NULL;
        _cleanup_free_ char *data = NULL, *data2 = NULL;
        size_t len, len2;
        uint64_t u, e;

        ck_assert_int_eq(state_new(&a), 0);
        ck_assert_int_eq(state_set_cluster_primary(a, "all", "db-a", 4), 1);
        ck_assert_int_eq(state_set_cluster_maintenance(a, "all", T0), 1);
        ck_assert_int_eq(state_set_cluster_last_failover(a, "all", T1, 4), 1);
        ck_assert_int_eq(state_set_cluster_maintenance(a, "forever", STATE_MAINTENANCE_FOREVER), 1);
        ck_assert_int_eq(state_set_cluster_maintenance(a, "largest", UINT64_MAX - 1), 1);
        ck_assert_int_eq(state_set_cluster_maintenance(a, "smallest", 1), 1);
        ck_assert_int_eq(state_set_cluster_last_failover(a, "fo-max", UINT64_MAX - 1, STATE_EPOCH_MAX), 1);
        ck_assert_int_eq(state_set_cluster_last_failover(a, "fo-zero", 0, 0), 1);
        ck_assert_int_eq(state_set_cluster_primary(a, "plain", "db-p", 0), 1);
        ck_assert_int_eq(state_set_epoch(a, 9), 1);

        ck_assert_int_eq(state_format(a, &data, &len), 0);
        ck_assert_int_eq(state_parse(data, len, &b, NULL), 0);
        ck_assert(state_equal(a, b));
        ck_assert_int_eq(state_format(b, &data2, &len2), 0);
        ck_assert_uint_eq(len, len2);
        ck_assert_mem_eq(data, data2, len);
        ck_assert_ptr_nonnull(strstr(data, "\"maintenance_until_usec\": \"forever\""));
        ck_assert_ptr_nonnull(strstr(data, "\"maintenance_until_usec\": 18446744073709551614"));
        ck_assert_ptr_nonnull(strstr(data, "\"last_failover_usec\": 1700000123456789"));
        ck_assert_ptr_nonnull(strstr(data, "\"last_failover_epoch\": 18446744073709551614"));
        /* Omitted when unset: "plain" is written as before. */
        ck_assert_ptr_nonnull(strstr(data, "\"name\": \"plain\",\n      \"primary\": \"db-p\",\n"
                                           "      \"config_epoch\": 0\n    }"));

        ck_assert_int_eq(state_save(tmpdir, a), 0);
        c = load_ok(1);
        ck_assert(state_equal(a, c));
        ck_assert_uint_eq(state_n_clusters(c), 2);
        ck_assert_int_eq(state_get_cluster_maintenance(c, "all", &u), 1);
        ck_assert(u == T0);
        ck_assert_int_eq(state_get_cluster_maintenance(c, "forever", &u), 1);
        ck_assert(u == STATE_MAINTENANCE_FOREVER);
        ck_assert_int_eq(state_get_cluster_maintenance(c, "largest", &u), 1);
        ck_assert(u == UINT64_MAX - 1);
        ck_assert_int_eq(state_get_cluster_maintenance(c, "smallest", &u), 1);
        ck_assert(u == 1);
        ck_assert_int_eq(state_get_cluster_maintenance(c, "plain", &u), 0);
        ck_assert_int_eq(state_get_cluster_last_failover(c, "all", &u, &e), 1);
        ck_assert(u == T1 && e == 4);
        ck_assert_int_eq(state_get_cluster_last_failover(c, "fo-max", &u, &e), 1);
        ck_assert(u == UINT64_MAX - 1 && e == STATE_EPOCH_MAX);
        ck_assert_int_eq(state_get_cluster_last_failover(c, "fo-zero", &u, &e), 1);
        ck_assert(u == 0 && e == 0);
        ck_assert_int_eq(state_get_cluster_last_failover(c, "plain", &u, &e), 0);
        ck_assert_int_eq(state_get_cluster_primary(c, "forever", NULL, NULL), 0);

        /* Each field counts for state_equal(). */
        ck_assert_int_eq(state_set_cluster_maintenance(c, "all", T0 + 1), 1);
        ck_assert(!state_equal(a, c));
        ck_assert_int_eq(state_set_cluster_maintenance(c, "all", T0), 1);
        ck_assert(state_equal(a, c));
        ck_assert_int_eq(state_set_cluster_last_failover(c, "all", T1, 5), 1);
        ck_assert(!state_equal(a, c));
        ck_assert_int_eq(state_set_cluster_last_failover(c, "all", T1, 4), 1);
        ck_assert(state_equal(a, c));
        ck_assert_int_eq(state_set_cluster_last_failover(c, "plain", 0, 0), 1);
        ck_assert(!state_equal(a, c));
}
END_TEST

/* Files from before maintenance and failovers were kept, and files using each optional key alone. */
static const char *const good_bodies[] = {
        "{\n  \"version\": 1,\n  \"current_epoch\": 3,\n  \"votes\": [\n    {\n      \"epoch\": 3,\n"
        "      \"candidate\": \"az-a\"\n    }\n  ],\n  \"clusters\": [\n    {\n      \"name\": \"main\",\n"
        "      \"primary\": \"db-a\",\n      \"config_epoch\": 2\n    }\n  ]\n}\n",
        "{ \"version\": 1, \"current_epoch\": 0, \"votes\": [], \"clusters\": [] }\n",
        "{ \"version\": 1, \"current_epoch\": 3, \"votes\": [], \"clusters\": [ { \"name\": \"main\", "
        "\"maintenance_until_usec\": \"forever\" } ] }\n",
        "{ \"version\": 1, \"current_epoch\": 3, \"votes\": [], \"clusters\": [ { \"name\": \"main\", "
        "\"maintenance_until_usec\": 18446744073709551614 } ] }\n",
        "{ \"version\": 1, \"current_epoch\": 3, \"votes\": [], \"clusters\": [ { \"name\": \"main\", "
        "\"last_failover_usec\": 0, \"last_failover_epoch\": 0 } ] }\n",
        /* No cross-check of the failover epoch against current_epoch. */
        "{ \"version\": 1, \"current_epoch\": 3, \"votes\": [], \"clusters\": [ { \"name\": \"main\", "
        "\"last_failover_epoch\": 18446744073709551614, \"last_failover_usec\": 1700000000000000, "
        "\"maintenance_until_usec\": 1, \"config_epoch\": 7, \"primary\": \"db-b\" } ] }\n",
        /* A primary written ahead of its promotion; "pending": false reads as absent. */
        "{ \"version\": 1, \"current_epoch\": 3, \"votes\": [], \"clusters\": [ { \"name\": \"main\", "
        "\"primary\": \"db-b\", \"config_epoch\": 3, \"pending\": true } ] }\n",
        "{ \"version\": 1, \"current_epoch\": 3, \"votes\": [], \"clusters\": [ { \"name\": \"main\", "
        "\"primary\": \"db-b\", \"config_epoch\": 3, \"pending\": false } ] }\n",
        /* Maintenance off, with the time of the change that turned it off kept. */
        "{ \"version\": 1, \"current_epoch\": 3, \"votes\": [], \"clusters\": [ { \"name\": \"main\", "
        "\"maintenance_set_usec\": 1700000000000000 } ] }\n",
        "{ \"version\": 1, \"current_epoch\": 3, \"votes\": [], \"clusters\": [ { \"name\": \"main\", "
        "\"maintenance_until_usec\": \"forever\", \"maintenance_set_usec\": 18446744073709551614 } ] }\n",
};

START_TEST(test_good_content) {
        _cleanup_free_ char *data = seal(good_bodies[_i]);
        _cleanup_(state_freep) state *s = NULL, *t = NULL;
        _cleanup_free_ char *detail = NULL, *again = NULL;
        size_t len;

        write_raw(data, strlen(data));
        ck_assert_int_eq(state_load(tmpdir, &s, &detail), 1);
        ck_assert_ptr_null(detail);
        /* And what it loaded saves and loads again the same. */
        ck_assert_int_eq(state_format(s, &again, &len), 0);
        ck_assert_int_eq(state_parse(again, len, &t, NULL), 0);
        ck_assert(state_equal(s, t));
}
END_TEST

START_TEST(test_old_format_loads) {
        _cleanup_free_ char *data = seal(good_bodies[0]);
        _cleanup_(state_freep) state *s = NULL;
        const char *p;
        uint64_t u = 42, e = 42;

        write_raw(data, strlen(data));
        s = load_ok(1);
        ck_assert_int_eq(state_get_epoch(s), 3);
        ck_assert_uint_eq(state_n_clusters(s), 1);
        ck_assert_int_eq(state_get_cluster_primary(s, "main", &p, &e), 1);
        ck_assert_str_eq(p, "db-a");
        ck_assert(e == 2);
        ck_assert_int_eq(state_get_cluster_maintenance(s, "main", &u), 0);
        ck_assert(u == 0);
        ck_assert_int_eq(state_get_cluster_last_failover(s, "main", &u, &e), 0);
        ck_assert(u == 0 && e == 0);
        /* Files from before "pending" and "maintenance_set_usec": committed, never set. */
        ck_assert(!state_get_cluster_pending(s, "main"));
        ck_assert_int_eq(state_get_cluster_maintenance_at(s, "main", &u, &e), 0);
        ck_assert(u == 0 && e == 0);
}
END_TEST

START_TEST(test_truncated_every_length) {
        _cleanup_(state_freep) state *s = make_new();
        _cleanup_free_ char *data = NULL;
        size_t len;

        ck_assert_int_eq(state_format(s, &data, &len), 0);
        for (size_t n = 0; n < len; n++) {
                _cleanup_free_ char *detail = NULL;
                state *t = NULL;
                int r;

                write_raw(data, n);
                r = state_load(tmpdir, &t, &detail);
                ck_assert_msg(r < 0, "truncated to %zu of %zu bytes: loaded (%d)", n, len, r);
                ck_assert_msg(state_error_is_corruption(r), "length %zu: %d %s", n, r, state_strerror(r));
                ck_assert_ptr_null(t);
                ck_assert_ptr_nonnull(detail);
                ck_assert_ptr_nonnull(strstr(detail, STATE_FILE_NAME));
        }
        write_raw(data, len);
        state_free(load_ok(1));
}
END_TEST

START_TEST(test_flipped_bytes) {
        static const unsigned char masks[] = {0x01, 0x02, 0x04, 0x08, 0x10, 0x20, 0x40, 0x80, 0xff};
        _cleanup_(state_freep) state *s = make_new();
        _cleanup_free_ char *data = NULL, *detail = NULL;
        size_t len;
        state *t = NULL;

        ck_assert_int_eq(state_format(s, &data, &len), 0);
        for (size_t i = 0; i < len; i++)
                for (size_t m = 0; m < ELEMENTSOF(masks); m++) {
                        int r;

                        data[i] ^= masks[m];
                        r = state_parse(data, len, &t, NULL);
                        ck_assert_msg(r < 0 && state_error_is_corruption(r), "byte %zu ^ 0x%02x: %d", i,
                                masks[m], r);
                        ck_assert_ptr_null(t);
                        data[i] ^= masks[m];
                }

        /* And once through the file, for the message. */
        data[len / 3] ^= 0x01;
        write_raw(data, len);
        ck_assert_int_eq(state_load(tmpdir, &t, &detail), -STATE_ERROR_CHECKSUM);
        ck_assert_ptr_nonnull(strstr(detail, "checksum"));
}
END_TEST

/* Bodies with a correct checksum whose content is wrong. */
static const struct {
        const char *body;
        int r;
} bad_bodies[] = {
        {"{ \"version\": 2, \"current_epoch\": 1, \"votes\": [], \"clusters\": [] }\n",
                -STATE_ERROR_VERSION},
        {"{ \"version\": 0, \"current_epoch\": 1, \"votes\": [], \"clusters\": [] }\n",
                -STATE_ERROR_VERSION},
        {"{ \"version\": \"1\", \"current_epoch\": 1, \"votes\": [], \"clusters\": [] }\n",
                -STATE_ERROR_VERSION},
        {"{ \"version\": 1.0, \"current_epoch\": 1, \"votes\": [], \"clusters\": [] }\n",
                -STATE_ERROR_VERSION},
        {"{ \"current_epoch\": 1, \"votes\": [], \"clusters\": [] }\n", -STATE_ERROR_VERSION},
        {"{ \"version\": 99, \"something\": \"else\" }\n", -STATE_ERROR_VERSION},
        {"{ \"version\": 1, \"votes\": [], \"clusters\": [] }\n", -STATE_ERROR_INVALID},
        {"{ \"version\": 1, \"current_epoch\": -1, \"votes\": [], \"clusters\": [] }\n",
                -STATE_ERROR_INVALID},
        {"{ \"version\": 1, \"current_epoch\": 1.5, \"votes\": [], \"clusters\": [] }\n",
                -STATE_ERROR_INVALID},
        {"{ \"version\": 1, \"current_epoch\": \"1\", \"votes\": [], \"clusters\": [] }\n",
                -STATE_ERROR_INVALID},
        {"{ \"version\": 1, \"current_epoch\": 18446744073709551615, \"votes\": [], \"clusters\": [] }\n",
                -STATE_ERROR_INVALID},
        {"{ \"version\": 1, \"current_epoch\": 99999999999999999999, \"votes\": [], \"clusters\": [] }\n",
                -STATE_ERROR_INVALID},
        {"{ \"version\": 1, \"current_epoch\": 1, \"clusters\": [] }\n", -STATE_ERROR_INVALID},
        {"{ \"version\": 1, \"current_epoch\": 1, \"votes\": {}, \"clusters\": [] }\n",
                -STATE_ERROR_INVALID},
        {"{ \"version\": 1, \"current_epoch\": 1, \"votes\": [], \"clusters\": [], \"x\": 1 }\n",
                -STATE_ERROR_INVALID},
        {"{ \"version\": 1, \"current_epoch\": 3, \"votes\": [ { \"epoch\": 4, \"candidate\": \"a\" } ], "
         "\"clusters\": [] }\n",
                -STATE_ERROR_INVALID}, /* a vote above the current epoch */
        {"{ \"version\": 1, \"current_epoch\": 3, \"votes\": [ { \"epoch\": 2, \"candidate\": \"a\" }, "
         "{ \"epoch\": 2, \"candidate\": \"b\" } ], \"clusters\": [] }\n",
                -STATE_ERROR_INVALID}, /* two votes in one epoch */
        {"{ \"version\": 1, \"current_epoch\": 3, \"votes\": [ { \"epoch\": 3, \"candidate\": \"a\" }, "
         "{ \"epoch\": 2, \"candidate\": \"b\" } ], \"clusters\": [] }\n",
                -STATE_ERROR_INVALID}, /* out of order */
        {"{ \"version\": 1, \"current_epoch\": 3, \"votes\": [ { \"epoch\": 3, \"candidate\": \"\" } ], "
         "\"clusters\": [] }\n",
                -STATE_ERROR_INVALID},
        {"{ \"version\": 1, \"current_epoch\": 3, \"votes\": [ { \"epoch\": 3, \"candidate\": \"a\\u0000b\" "
         "} ], "
         "\"clusters\": [] }\n",
                -STATE_ERROR_INVALID},
        {"{ \"version\": 1, \"current_epoch\": 3, \"votes\": [ { \"epoch\": 3 } ], \"clusters\": [] }\n",
                -STATE_ERROR_INVALID},
        {"{ \"version\": 1, \"current_epoch\": 3, \"votes\": [ 3 ], \"clusters\": [] }\n",
                -STATE_ERROR_INVALID},
        {"{ \"version\": 1, \"current_epoch\": 3, \"votes\": [], \"clusters\": [ { \"name\": \"m\", "
         "\"primary\": \"a\", \"config_epoch\": 1 }, { \"name\": \"m\", \"primary\": \"b\", "
         "\"config_epoch\": 2 } ] "
         "}\n",
                -STATE_ERROR_INVALID}, /* a cluster twice */
        {"{ \"version\": 1, \"current_epoch\": 3, \"votes\": [], \"clusters\": [ { \"name\": \"m\", "
         "\"primary\": \"a\", \"config_epoch\": 1, \"extra\": true } ] }\n",
                -STATE_ERROR_INVALID},
        {"{ \"version\": 1, \"current_epoch\": 3, \"votes\": [], \"clusters\": [ { \"name\": \"m\", "
         "\"primary\": \"a\\u001b\", \"config_epoch\": 1 } ] }\n",
                -STATE_ERROR_INVALID},
#define CL(x)                                                                                               \
        "{ \"version\": 1, \"current_epoch\": 3, \"votes\": [], \"clusters\": [ { \"name\": \"m\", " x      \
        " } ] }\n"
        {CL("\"maintenance_until_usec\": true"), -STATE_ERROR_INVALID},
        {CL("\"maintenance_until_usec\": null"), -STATE_ERROR_INVALID},
        {CL("\"maintenance_until_usec\": \"never\""), -STATE_ERROR_INVALID},
        {CL("\"maintenance_until_usec\": \"Forever\""), -STATE_ERROR_INVALID},
        {CL("\"maintenance_until_usec\": \"forever\\u0000\""), -STATE_ERROR_INVALID},
        {CL("\"maintenance_until_usec\": \"1700000000000000\""), -STATE_ERROR_INVALID},
        {CL("\"maintenance_until_usec\": 0"), -STATE_ERROR_INVALID}, /* off is omitted */
        {CL("\"maintenance_until_usec\": -1"), -STATE_ERROR_INVALID},
        {CL("\"maintenance_until_usec\": 1.5"), -STATE_ERROR_INVALID},
        {CL("\"maintenance_until_usec\": 18446744073709551615"), -STATE_ERROR_INVALID},
        {CL("\"maintenance_until_usec\": 99999999999999999999"), -STATE_ERROR_INVALID},
        {CL("\"maintenance_until_usec\": [ 1 ]"), -STATE_ERROR_INVALID},
        {CL("\"last_failover_usec\": 5"), -STATE_ERROR_INVALID}, /* half a failover */
        {CL("\"last_failover_epoch\": 5"), -STATE_ERROR_INVALID},
        {CL("\"last_failover_usec\": \"5\", \"last_failover_epoch\": 5"), -STATE_ERROR_INVALID},
        {CL("\"last_failover_usec\": 5, \"last_failover_epoch\": \"5\""), -STATE_ERROR_INVALID},
        {CL("\"last_failover_usec\": 5, \"last_failover_epoch\": null"), -STATE_ERROR_INVALID},
        {CL("\"last_failover_usec\": -5, \"last_failover_epoch\": 5"), -STATE_ERROR_INVALID},
        {CL("\"last_failover_usec\": 5, \"last_failover_epoch\": 5.0"), -STATE_ERROR_INVALID},
        {CL("\"last_failover_usec\": 18446744073709551615, \"last_failover_epoch\": 5"),
                -STATE_ERROR_INVALID},
        {CL("\"last_failover_usec\": 5, \"last_failover_epoch\": 18446744073709551615"),
                -STATE_ERROR_INVALID},
        {CL("\"primary\": \"a\""), -STATE_ERROR_INVALID}, /* half a primary */
        {CL("\"config_epoch\": 1, \"maintenance_until_usec\": 1"), -STATE_ERROR_INVALID},
        {CL("\"primary\": null, \"config_epoch\": 1"), -STATE_ERROR_INVALID},
        {CL("\"maintenance_until_usec\": 1, \"maintenance\": true"), -STATE_ERROR_INVALID},
        {CL("\"pending\": true"), -STATE_ERROR_INVALID}, /* pending without a primary */
        {CL("\"pending\": true, \"maintenance_until_usec\": 1"), -STATE_ERROR_INVALID},
        {CL("\"primary\": \"a\", \"config_epoch\": 1, \"pending\": 1"), -STATE_ERROR_INVALID},
        {CL("\"primary\": \"a\", \"config_epoch\": 1, \"pending\": \"true\""), -STATE_ERROR_INVALID},
        {CL("\"primary\": \"a\", \"config_epoch\": 1, \"pending\": null"), -STATE_ERROR_INVALID},
        {CL("\"maintenance_set_usec\": 0"), -STATE_ERROR_INVALID}, /* unknown is omitted */
        {CL("\"maintenance_set_usec\": -1"), -STATE_ERROR_INVALID},
        {CL("\"maintenance_set_usec\": \"1\""), -STATE_ERROR_INVALID},
        {CL("\"maintenance_set_usec\": 18446744073709551615"), -STATE_ERROR_INVALID},
        {CL("\"maintenance_until_usec\": 1, \"maintenance_set_usec\": null"), -STATE_ERROR_INVALID},
        {"{ \"version\": 1, \"current_epoch\": 3, \"votes\": [], \"clusters\": [ { \"name\": \"m\" } ] }\n",
                -STATE_ERROR_INVALID}, /* a cluster that holds nothing */
        {"{ \"version\": 1, \"current_epoch\": 3, \"votes\": [], \"clusters\": [ { \"name\": \"m\", "
         "\"maintenance_until_usec\": 1 }, { \"name\": \"m\", \"last_failover_usec\": 1, "
         "\"last_failover_epoch\": 1 } ] }\n",
                -STATE_ERROR_INVALID}, /* a cluster twice, without a primary */
        {"{ \"version\": 1, \"current_epoch\": 3, \"votes\": [], \"clusters\": [ { "
         "\"maintenance_until_usec\": 1 } ] }\n",
                -STATE_ERROR_INVALID}, /* no name */
#undef CL
        {"[ 1 ]\n", -STATE_ERROR_SYNTAX},
        {"{ \"version\": 1 } {}\n", -STATE_ERROR_SYNTAX},
        {"{ \"version\": 1, }\n", -STATE_ERROR_SYNTAX},
        {"\n", -STATE_ERROR_SYNTAX},
        {"", -STATE_ERROR_SYNTAX},
};

START_TEST(test_bad_content) {
        _cleanup_free_ char *data = seal(bad_bodies[_i].body), *detail = NULL;
        state *s = NULL;
        int r;

        write_raw(data, strlen(data));
        r = state_load(tmpdir, &s, &detail);
        ck_assert_msg(r == bad_bodies[_i].r, "row %d: %d (%s), expected %d", _i, r, detail ?: "-",
                bad_bodies[_i].r);
        ck_assert_ptr_null(s);
        ck_assert_ptr_nonnull(detail);
}
END_TEST

/* sha256("{}\n"), right, then in the wrong case. */
#define SUM_LC "ca3d163bab055381827226140568f3bef7eaac187cebd76878e0b63e9e442356"
#define SUM_UC "CA3D163BAB055381827226140568F3BEF7EAAC187CEBD76878E0B63E9E442356"

START_TEST(test_bad_framing) {
        static const struct {
                const char *file;
                int r;
        } files[] = {
                {"{}\nsha256:" SUM_LC "\n", -STATE_ERROR_VERSION}, /* the framing is right */
                {"{}\nsha256:" SUM_UC "\n", -STATE_ERROR_CHECKSUM},
                {"{}\nsha256:" SUM_LC " \n", -STATE_ERROR_CHECKSUM},
                {"{}\nsha256:00\n", -STATE_ERROR_CHECKSUM},
                {"{}\nSHA256:" SUM_LC "\n", -STATE_ERROR_TRUNCATED},
                {"{}\nsha256:" SUM_LC "\n\n", -STATE_ERROR_TRUNCATED},
                {"{}\nsha256:" SUM_LC, -STATE_ERROR_TRUNCATED},
                {"{}\n", -STATE_ERROR_TRUNCATED},
                {"\n", -STATE_ERROR_TRUNCATED},
        };
        for (size_t i = 0; i < ELEMENTSOF(files); i++) {
                state *s = NULL;
                int r = state_parse(files[i].file, strlen(files[i].file), &s, NULL);

                ck_assert_msg(r == files[i].r, "file %zu: %d, expected %d", i, r, files[i].r);
                ck_assert_ptr_null(s);
        }
}
END_TEST

START_TEST(test_not_a_file) {
        _cleanup_free_ char *detail = NULL;
        char p[PATH_MAX];
        state *s = NULL;

        (void) snprintf(p, sizeof(p), "%s/%s", tmpdir, STATE_FILE_NAME);
        ck_assert_int_eq(mkdir(p, 0700), 0);
        ck_assert_int_eq(state_load(tmpdir, &s, &detail), -EISDIR);
        ck_assert_ptr_null(s);
        ck_assert_ptr_nonnull(detail);
}
END_TEST

typedef struct crash_plan {
        fsutil_step at;
        int action; /* FSUTIL_STEP_CRASH, or a negative errno */
        unsigned calls;
} crash_plan;

static int crash_cb(fsutil_step step, void *userdata) {
        crash_plan *p = userdata;

        p->calls++;
        return step == p->at ? p->action : 0;
}

/* Crash (or fail) at each step of replacing the old state with the new one: a fresh load sees
 * exactly one of them, complete, never an error and never epoch 0. */
static void crash_at(fsutil_step at, int action) {
        _cleanup_(state_freep) state *old = make_old(), *new = make_new(), *seen = NULL, *again = NULL;
        crash_plan plan = {.at = at, .action = action};
        const fsutil_write_options opts = {.step_cb = crash_cb, .userdata = &plan};
        bool committed = at >= FSUTIL_STEP_RENAMED;
        int r;

        ck_assert_int_eq(state_save(tmpdir, old), 0);
        r = state_save_full(tmpdir, new, &opts);
        ck_assert_int_eq(r, action == FSUTIL_STEP_CRASH ? -ECANCELED : action);
        ck_assert_uint_eq(plan.calls, (unsigned) at + 1);

        seen = load_ok(1);
        ck_assert_msg(state_equal(seen, committed ? new : old), "%s at %s: saw a mix",
                action == FSUTIL_STEP_CRASH ? "crash" : "failure", fsutil_step_to_string(at));
        ck_assert_int_ne(state_get_epoch(seen), 0);

        /* A failure cleans up after itself; a crash leaves its temp file until the next save. */
        if (action != FSUTIL_STEP_CRASH || committed)
                ck_assert_uint_eq(count_temps(), 0);
        else
                ck_assert_uint_eq(count_temps(), 1);

        ck_assert_int_eq(state_save(tmpdir, new), 0);
        ck_assert_uint_eq(count_temps(), 0);
        again = load_ok(1);
        ck_assert(state_equal(again, new));
}

START_TEST(test_crash_every_step) {
        crash_at((fsutil_step) _i, FSUTIL_STEP_CRASH);
}
END_TEST

START_TEST(test_fail_every_step) {
        crash_at((fsutil_step) _i, -EIO);
}
END_TEST

/* The very first save crashing before its rename leaves no state: fresh is right, since no vote
 * may be sent before state_save() returns. */
START_TEST(test_crash_first_save) {
        _cleanup_(state_freep) state *new = make_new(), *seen = NULL;
        crash_plan plan = {.at = (fsutil_step) _i, .action = FSUTIL_STEP_CRASH};
        const fsutil_write_options opts = {.step_cb = crash_cb, .userdata = &plan};
        bool committed = plan.at >= FSUTIL_STEP_RENAMED;

        ck_assert_int_eq(state_save_full(tmpdir, new, &opts), -ECANCELED);
        seen = load_ok(committed ? 1 : 0);
        ck_assert_int_eq(state_get_epoch(seen), committed ? 7 : 0);
}
END_TEST

START_TEST(test_leftover_temp_ignored) {
        _cleanup_(state_freep) state *s = make_old(), *t = NULL;
        char p[PATH_MAX];
        int fd;

        ck_assert_int_eq(state_save(tmpdir, s), 0);
        (void) snprintf(p, sizeof(p), "%s/.%s.tmpAbC123", tmpdir, STATE_FILE_NAME);
        fd = open(p, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
        ck_assert_int_ge(fd, 0);
        ck_assert_int_eq(write(fd, "{ \"garb", 7), 7);
        close(fd);
        ck_assert_uint_eq(count_temps(), 1);

        t = load_ok(1);
        ck_assert(state_equal(s, t));
        ck_assert_int_eq(state_save(tmpdir, s), 0);
        ck_assert_uint_eq(count_temps(), 0);
}
END_TEST

START_TEST(test_strerror) {
        for (int e = STATE_ERROR_TRUNCATED; e < _STATE_ERROR_MAX; e++) {
                const char *m = state_strerror(-e);

                ck_assert_ptr_nonnull(m);
                ck_assert_ptr_null(strstr(m, "Unknown error"));
                for (int f = STATE_ERROR_TRUNCATED; f < e; f++)
                        ck_assert_str_ne(m, state_strerror(-f));
                ck_assert(state_error_is_corruption(-e) == (e <= STATE_ERROR_INVALID));
        }
        ck_assert_str_eq(state_strerror(-ENOENT), strerror(ENOENT));
        ck_assert(!state_error_is_corruption(-ENOENT));
        ck_assert_ptr_null(state_free(NULL));
}
END_TEST

static Suite *state_suite(void) {
        Suite *s = suite_create("state");
        TCase *tc = tcase_create("state");

        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, test_missing_file_is_fresh);
        tcase_add_test(tc, test_missing_dir);
        tcase_add_test(tc, test_round_trip);
        tcase_add_test(tc, test_epoch_rules);
        tcase_add_test(tc, test_vote_rules);
        tcase_add_test(tc, test_vote_history_bound);
        tcase_add_test(tc, test_cluster_rules);
        tcase_add_test(tc, test_maintenance_rules);
        tcase_add_test(tc, test_pending_rules);
        tcase_add_test(tc, test_maintenance_set_rules);
        tcase_add_test(tc, test_last_failover_rules);
        tcase_add_test(tc, test_new_fields_round_trip);
        tcase_add_loop_test(tc, test_good_content, 0, ELEMENTSOF(good_bodies));
        tcase_add_test(tc, test_old_format_loads);
        tcase_add_test(tc, test_truncated_every_length);
        tcase_add_test(tc, test_flipped_bytes);
        tcase_add_loop_test(tc, test_bad_content, 0, ELEMENTSOF(bad_bodies));
        tcase_add_test(tc, test_bad_framing);
        tcase_add_test(tc, test_not_a_file);
        tcase_add_loop_test(tc, test_crash_every_step, 0, _FSUTIL_STEP_MAX);
        tcase_add_loop_test(tc, test_fail_every_step, 0, _FSUTIL_STEP_MAX);
        tcase_add_loop_test(tc, test_crash_first_save, 0, _FSUTIL_STEP_MAX);
        tcase_add_test(tc, test_leftover_temp_ignored);
        tcase_add_test(tc, test_strerror);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        SRunner *sr;
        int failed;

        if (!mkdtemp(root)) {
                perror("mkdtemp");
                return EXIT_FAILURE;
        }
        sr = srunner_create(state_suite());
        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        (void) tmpdir_rm_rf(root);
        return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
