/* Unit tests of the config loader (SPEC 3) and its helpers: hostport, secret, strutil, tsig-key. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "config.h"
#include "hostport.h"
#include "macro.h"
#include "secret.h"
#include "strutil.h"
#include "tsig-key.h"

/* Distinctive secrets: none of them may ever show up in an error or in the summary. */
#define PW         "Pa55-w0rd-MAIN-xyzzy"
#define REPL_PW    "Repl-S3cret-plugh"
#define PEER_KEY   "peer-K3y-frobozz"
#define TSIG_BYTES "tsig-Secret-Bytes-0123456789abcd"
#define TSIG_B64   "dHNpZy1TZWNyZXQtQnl0ZXMtMDEyMzQ1Njc4OWFiY2Q="
#define TSIG_FILE  "key \"sentinel-key\" {\n\talgorithm hmac-sha256;\n\tsecret \"" TSIG_B64 "\";\n};\n"
/* Only their PEM armour is checked at load; the connector reads them. */
#define FAKE_CERT "subject=CN = test\n-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
#define FAKE_KEY  "-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n"

static const char *const all_secrets[] = {PW, REPL_PW, PEER_KEY, TSIG_BYTES, TSIG_B64};

static char tmpdir[128];

static int rm_entry(const char *p, const struct stat *st, int flag, struct FTW *ftw) {
        return remove(p);
}

static void write_file_len(const char *name, const void *data, size_t len, mode_t mode) {
        char path[PATH_MAX];
        int fd;

        snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
        unlink(path);
        fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        ck_assert_int_ge(fd, 0);
        ck_assert_int_eq(write(fd, data, len), (ssize_t) len);
        ck_assert_int_eq(fchmod(fd, mode), 0);
        close(fd);
}

static void write_file(const char *name, const char *text, mode_t mode) {
        write_file_len(name, text, strlen(text), mode);
}

static const char *tmp_path(const char *name) {
        static char buf[4][PATH_MAX];
        static unsigned n;
        char *p = buf[n++ % 4];

        snprintf(p, PATH_MAX, "%s/%s", tmpdir, name);
        return p;
}

static void setup(void) {
        snprintf(tmpdir, sizeof(tmpdir), "/tmp/test-config-XXXXXX");
        ck_assert_ptr_nonnull(mkdtemp(tmpdir));
        unsetenv("CREDENTIALS_DIRECTORY");
        write_file("main.password", PW "\n", 0600);
        write_file("main.repl-password", REPL_PW "\n", 0600);
        write_file("peer.key", PEER_KEY "\n", 0600);
        write_file("tsig.key", TSIG_FILE, 0600);
        write_file("db-ca.pem", FAKE_CERT, 0644);
        write_file("client.pem", FAKE_CERT, 0644);
        write_file("client-key.pem", FAKE_KEY, 0600);
}

static void teardown(void) {
        nftw(tmpdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static void assert_no_secret(const char *text) {
        for (size_t i = 0; i < ELEMENTSOF(all_secrets); i++)
                ck_assert_msg(!strstr(text, all_secrets[i]), "a secret leaked into: %s", text);
}

/* The config text is assembled from numbered lines, so each case knows where its error is. */
// clang-format off
#define L_SENTINEL "sentinel = {\n"                                                           /* 1 */
#define L_NAME     " name = \"az-a\"; zone = \"z1\";\n"                                      /* 2 */
#define L_LISTEN   " listen = \"10.0.0.1:26400\";\n"                                         /* 3 */
#define L_PSF      " peer_secret_file = \"peer.key\";\n"                                     /* 4 */
#define L_PEERS    " peers = ( { name = \"az-b\"; zone = \"z2\"; address = \"10.0.0.2:26400\"; },\n" \
                   "           { name = \"az-c\"; zone = \"z3\"; address = \"10.0.0.3:26400\"; } );\n" /* 5-6 */
#define L_SEND     "};\n"                                                                     /* 7 */
#define L_CLUSTERS "clusters = ( {\n"                                                         /* 8 */
#define L_CNAME    " name = \"main\"; quorum = 2;\n"                                         /* 9 */
#define L_USER     " user = \"sentinel\"; password_file = \"main.password\";\n"              /* 10 */
#define L_REPL     " replication_user = \"repl\"; replication_password_file = \"main.repl-password\";\n" /* 11 */
#define L_SERVERS  " servers = ( { name = \"db-a\"; host = \"10.0.1.20\"; zone = \"z1\"; },\n" \
                   "             { name = \"db-b\"; host = \"10.0.2.20\"; zone = \"z2\"; } );\n" /* 12-13 */
#define L_CEND     "} );\n"

#define CONF(listen, psf, peers, sx, cname, servers, cx) \
        L_SENTINEL L_NAME listen psf peers sx L_SEND L_CLUSTERS cname L_USER L_REPL servers cx L_CEND
#define GOOD  CONF(L_LISTEN, L_PSF, L_PEERS, "", L_CNAME, L_SERVERS, "")
#define LX(x) CONF(x, L_PSF, L_PEERS, "", L_CNAME, L_SERVERS, "")       /* x on line 3 */
#define PX(x) CONF(L_LISTEN, L_PSF, x, "", L_CNAME, L_SERVERS, "")      /* x on lines 5-6 */
#define SX(x) CONF(L_LISTEN, L_PSF, L_PEERS, x, L_CNAME, L_SERVERS, "") /* x on line 7 */
#define NX(x) CONF(L_LISTEN, L_PSF, L_PEERS, "", x, L_SERVERS, "")      /* x on line 9 */
#define VX(x) CONF(L_LISTEN, L_PSF, L_PEERS, "", L_CNAME, x, "")        /* x from line 12 */
#define CX(x) CONF(L_LISTEN, L_PSF, L_PEERS, "", L_CNAME, L_SERVERS, x) /* x on line 14 */
#define SRV(a, b) " servers = ( { name = \"db-a\"; host = \"10.0.1.20\"; zone = \"z1\"; " a " },\n" \
                  "             { name = \"db-b\"; host = \"10.0.2.20\"; zone = \"z2\"; " b " } );\n"
#define EP(x)   CX(" endpoints = ( { " x " } );\n")
#define HOOK(x) CX(" hooks = ( { command = \"/bin/true\"; " x " } );\n")
#define EP_TSIG EP("type = \"dns\"; server = \"10.0.0.2\"; zone = \"db.example.\"; name = \"p.db.example.\"; tsig_key_file = \"tsig.key\";")
#define TWO_CLUSTERS(name2) /* the second cluster on line 14, its servers on 18-19 */ \
        L_SENTINEL L_NAME L_LISTEN L_PSF L_PEERS L_SEND L_CLUSTERS L_CNAME L_USER L_REPL L_SERVERS \
        "}, {\n" name2 L_USER L_REPL L_SERVERS L_CEND
// clang-format on

typedef struct broken_case {
        const char *text;
        unsigned line;
        const char *gist;
        const char *file; /* replaced in the temp dir before loading (NULL content: removed) */
        const char *content;
        mode_t mode;        /* 0: 0600 */
        bool dir, fifo;     /* make .file a directory, a FIFO */
        bool error_in_file; /* the error points into .file, not into the config */
        bool creds;         /* $CREDENTIALS_DIRECTORY: an empty temp directory */
        size_t len;         /* .content's length when it holds NUL bytes */
} broken_case;

// clang-format off
#define BAD(text_, line_, gist_, ...) { .text = text_, .line = line_, .gist = gist_, __VA_ARGS__ }

static const broken_case broken_cases[] = {
        /* syntax and structure */
        BAD("sentinel = {\n name = \"a\"\n zone = ;\n};\n", 3, "syntax error"),
        BAD(SX(" name = \"again\";\n"), 7, "duplicate setting name"),
        BAD("sentinal = { name = \"a\"; };\n", 1, "unknown key 'sentinal'; did you mean 'sentinel'?"),
        BAD(SX(" contol_socket = \"/run/x.sock\";\n"), 7, "did you mean 'control_socket'?"),
        BAD(CX(" probe = { intervall_ms = 500; };\n"), 14, "unknown key 'clusters[0].probe.intervall_ms'; did you mean 'interval_ms'?"),
        BAD(CX(" colour = \"blue\";\n"), 14, "unknown key 'clusters[0].colour' (known keys here: name, quorum"),
        BAD(CX(" password = \"hunter2\";\n"), 14, "secrets are never written in the config"),
        BAD(PX(" peers = ( { name = \"az-b\"; zone = \"z2\"; adress = \"10.0.0.2:26400\"; } );\n"), 5, "did you mean 'address'?"),
        BAD("clusters = ( );\n", 1, "missing required key 'sentinel' at the top level"),
        BAD(L_SENTINEL L_NAME L_SEND, 1, "missing required key 'clusters' at the top level"),
        BAD(L_SENTINEL L_NAME L_SEND "clusters = ( );\n", 4, "clusters is empty"),
        BAD("sentinel = \"az-a\";\n", 1, "sentinel must be a group { ... }, not a string"),
        BAD("sentinel = {\n zone = \"z1\";\n};\n", 1, "missing required key 'name' in sentinel"),
        BAD(PX(" peers = \"az-b\";\n"), 5, "sentinel.peers must be a list"),
        BAD(VX(" servers = { name = \"db-a\"; };\n"), 12, "servers must be a list"),
        BAD(VX(" servers = ( \"db-a\", \"db-b\" );\n"), 12, "servers[0] must be a group"),
        BAD("@include \"other.conf\"\n" GOOD, 1, "@include is not supported", .file = "other.conf", .content = "x = 1;\n"),
        BAD("  @include \"/\"\n" GOOD, 1, "@include is not supported"), /* libconfig itself would exit(2) */
        /* types and ranges */
        BAD(CX(" probe = { interval_ms = \"1000\"; };\n"), 14, "must be an integer, not a string (write the number without quotes)"),
        BAD(CX(" probe = { down_after_ms = 5.5; };\n"), 14, "must be an integer, not a floating-point number"),
        BAD(CX(" failover = { auto = \"true\"; };\n"), 14, "failover.auto must be true or false, not a string"),
        BAD(VX(SRV("promotable = 1;", "")), 12, "promotable must be true or false, not an integer"),
        BAD(CX(" probe = { interval_ms = 0; };\n"), 14, "interval_ms is 0: a duration must be positive (in milliseconds)"),
        BAD(CX(" failover = { timeout_ms = -5; };\n"), 14, "timeout_ms is -5: a duration must be positive"),
        BAD(CX(" failover = { cooldown_s = -1; };\n"), 14, "cooldown_s is -1, below the minimum of 0 seconds"),
        BAD(CX(" probe = { down_after_ms = 100000000; };\n"), 14, "above the maximum of 86400000 milliseconds"),
        BAD(HOOK("events = [ \"*\" ]; timeout_ms = 0;"), 14, "a duration must be positive"),
        BAD(EP("type = \"exec\"; command = \"/bin/true\"; timeout_ms = 0;"), 14, "a duration must be positive"),
        /* timing rules */
        BAD(CX(" fencing = { self_fence_after_ms = 5000; };\n"), 14, "self_fence_after_ms (5000) must be less than probe.down_after_ms (5000)"),
        BAD(CX(" probe = { down_after_ms = 2000; };\n"), 14, "self_fence_after_ms (3000) must be less than probe.down_after_ms (2000)"),
        BAD(CX(" probe = { interval_ms = 500; timeout_ms = 800; };\n"), 14, "timeout_ms (800) is longer than probe.interval_ms (500)"),
        BAD(CX(" probe = { interval_ms = 2000; down_after_ms = 1500; };\n"), 14, "down_after_ms (1500) is shorter than probe.interval_ms"),
        /* sentinel and peers */
        BAD(PX(" peers = ( { name = \"az-b\"; zone = \"z2\"; address = \"10.0.0.2:26400\"; },\n { name = \"az-b\"; zone = \"z3\"; address = \"10.0.0.3:26400\"; } );\n"), 6, "peer name \"az-b\" is used twice (first on line 5)"),
        BAD(PX(" peers = ( { name = \"az-b\"; zone = \"z2\"; address = \"sentinel-b.example:26400\"; } );\n"), 5, "must use an IP address, not a host name (peers are dialled by address, without DNS)"),
        BAD(PX(" peers = ( { name = \"az-b\"; zone = \"z2\"; address = \"10.0.0.2:26400\"; },\n { name = \"az-a\"; zone = \"z3\"; address = \"10.0.0.3:26400\"; } );\n"), 6, "peer \"az-a\" has this sentinel's own name"),
        BAD(PX(" peers = ( { name = \"az-b\"; zone = \"z2\"; address = \"10.0.0.2:26400\"; },\n { name = \"az-c\"; zone = \"z3\"; address = \"10.0.0.2:26400\"; } );\n"), 6, "peers \"az-b\" and \"az-c\" have the same address 10.0.0.2:26400"),
        BAD(PX(" peers = ( { name = \"az-b\"; zone = \"z2\"; address = \"10.0.0.1:26400\"; } );\n"), 5, "has this sentinel's own listen address"),
        BAD(PX(" peers = ( { name = \"az-b\"; zone = \"z2\"; address = \"10.0.0.2\"; } );\n"), 5, "address \"10.0.0.2\" has no port: write HOST:PORT"),
        BAD(PX(" peers = ( { name = \"az b\"; zone = \"z2\"; address = \"10.0.0.2:1\"; } );\n"), 5, "\"az b\" is not a valid name"),
        BAD(LX(" listen = \"10.0.0.1:99999\";\n"), 3, "sentinel.listen \"10.0.0.1:99999\" has a port out of range 1..65535"),
        BAD(LX(" listen = \"sentinel-a.example:26400\";\n"), 3, "must use an IP address, not a host name"),
        BAD(LX(" listen = \"::1:26400\";\n"), 3, "is an IPv6 address without brackets: write [ADDRESS]:PORT"),
        BAD(LX(""), 1, "missing required key 'listen' in sentinel (required with peers"),
        BAD(CONF(L_LISTEN, "", L_PEERS, "", L_CNAME, L_SERVERS, ""), 1, "missing required key 'peer_secret_file' in sentinel"),
        BAD(SX(" state_dir = \"var/lib/x\";\n"), 7, "sentinel.state_dir \"var/lib/x\" must be an absolute path"),
        BAD(SX(" control_socket = \"x.sock\";\n"), 7, "must be an absolute path"),
        BAD(SX(" control_socket = \"/run/mariadb-sentinel/this-is-a-rather-long-directory-name/and-an-even-longer-socket-file-name-that-goes-on.sock\";\n"), 7, "a unix socket path is at most 107"),
        BAD(SX(" http_listen = \"10.0.0.1:26400\";\n"), 7, "http_listen is the same address as sentinel.listen"),
        BAD(SX(" http_listen = \"localhost\";\n"), 7, "http_listen \"localhost\" has no port"),
        BAD(PX(" peers = ( { name = \"az-b\"; zone = \"eu west\"; address = \"10.0.0.2:1\"; } );\n"), 5, "zone \"eu west\" is not a valid name"),
        BAD(SX(" http_listen = \"\";\n"), 7, "sentinel.http_listen is empty"),
        /* secrets */
        BAD(GOOD, 4, "secret file %T/peer.key is accessible by group or others (mode 0644); run chmod 0600", .file = "peer.key", .content = PEER_KEY, .mode = 0644),
        BAD(GOOD, 4, "(mode 0640)", .file = "peer.key", .content = PEER_KEY, .mode = 0640),
        BAD(GOOD, 4, "(mode 0604)", .file = "peer.key", .content = PEER_KEY, .mode = 0604),
        BAD(GOOD, 10, "secret file %T/main.password is empty", .file = "main.password", .content = ""),
        BAD(GOOD, 10, "is empty", .file = "main.password", .content = "\n"),
        BAD(GOOD, 10, "is empty", .file = "main.password", .content = "\r\n"),
        BAD(GOOD, 10, "password_file: cannot open secret file %T/main.password: No such file or directory", .file = "main.password", .content = NULL),
        BAD(GOOD, 10, "not in $CREDENTIALS_DIRECTORY", .file = "main.password", .content = NULL, .creds = true),
        BAD(GOOD, 11, "secret file %T/main.repl-password is a directory", .file = "main.repl-password", .content = NULL, .dir = true),
        BAD(GOOD, 11, "is not a regular file", .file = "main.repl-password", .content = NULL, .fifo = true),
        BAD(GOOD, 10, "contains a NUL byte", .file = "main.password", .content = "ab\0cd", .len = 5),
        BAD(GOOD, 11, "the password in %T/main.repl-password has 97 characters; MariaDB's CHANGE MASTER TO takes at most 96", .file = "main.repl-password", .content = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"),
        BAD(GOOD, 11, "has 97 characters", .file = "main.repl-password", .content = "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"), /* é: 2 bytes */
        BAD(CONF(L_LISTEN, " peer_secret_file = \"sntlSECRETSECRETSECRET42\";\n", L_PEERS, "", L_CNAME, L_SERVERS, ""), 4,
                "sentinel.peer_secret_file: no such file (its 24-character name is not shown"),
        /* clusters and servers */
        BAD(NX(" name = \"main\"; quorum = 0;\n"), 9, "clusters[0].quorum is 0, below the minimum of 1"),
        BAD(NX(" name = \"main\"; quorum = 4;\n"), 9, "quorum 4 is more than the 3 sentinels (this one and 2 peers)"),
        BAD(NX(" name = \"main\"; quorum = \"2\";\n"), 9, "quorum must be an integer, not a string"),
        BAD(L_SENTINEL L_NAME L_SEND L_CLUSTERS L_CNAME L_USER L_REPL L_SERVERS L_CEND, 5, "quorum 2 is more than the 1 sentinel"),
        BAD(NX(" name = \"main db\"; quorum = 2;\n"), 9, "clusters[0].name \"main db\" is not a valid name"),
        BAD(NX(" quorum = 2;\n"), 8, "missing required key 'name' in clusters[0]"),
        BAD(TWO_CLUSTERS(L_CNAME), 14, "cluster name \"main\" is used twice (first on line 8)"),
        BAD(TWO_CLUSTERS(" name = \"other\"; quorum = 2;\n"), 18, "server 10.0.1.20:3306 (\"db-a\") is also in cluster \"main\""),
        BAD(VX(SRV("priority = 2000000;", "")), 12, "priority is 2000000, above the maximum of 1000000"),
        BAD(VX(" servers = ( { name = \"db-a\"; host = \"10.0.1.20\"; zone = \"z1\"; },\n { name = \"db-a\"; host = \"10.0.2.20\"; zone = \"z2\"; } );\n"), 13, "server name \"db-a\" is used twice (first on line 12)"),
        BAD(VX(" servers = ( { name = \"db-a\"; host = \"2001:db8::1\"; zone = \"z1\"; },\n { name = \"db-b\"; host = \"2001:DB8:0::1\"; zone = \"z2\"; } );\n"), 13, "have the same host and port"),
        BAD(VX(" servers = ( { name = \"db-a\"; host = \"10.0.1.20\"; zone = \"z1\"; },\n { name = \"db-b\"; host = \"10.0.1.20\"; port = 3306; zone = \"z2\"; } );\n"), 13, "servers \"db-a\" and \"db-b\" have the same host and port 10.0.1.20:3306"),
        BAD(VX(" servers = ( { name = \"db-a\"; host = \"10.0.1.20:3306\"; zone = \"z1\"; },\n { name = \"db-b\"; host = \"10.0.2.20\"; zone = \"z2\"; } );\n"), 12, "host \"10.0.1.20:3306\" must not include a port"),
        BAD(VX(" servers = ( { name = \"db-a\"; host = \"300.1.2.3\"; zone = \"z1\"; },\n { name = \"db-b\"; host = \"10.0.2.20\"; zone = \"z2\"; } );\n"), 12, "is not a valid IPv4 address"),
        BAD(VX(" servers = ( { name = \"db-a\"; host = \"db..example\"; zone = \"z1\"; },\n { name = \"db-b\"; host = \"10.0.2.20\"; zone = \"z2\"; } );\n"), 12, "is not a valid host name or IP address"),
        BAD(VX(SRV("port = 70000;", "")), 12, "port is 70000, above the maximum of 65535"),
        BAD(VX(SRV("", "port = 0;")), 13, "port is 0, below the minimum of 1"),
        BAD(VX(SRV("promotable = false;", "promotable = false;")), 12, "cluster \"main\" has no promotable server"),
        BAD(VX(" servers = ( { name = \"db-a\"; host = \"10.0.1.20\"; zone = \"z1\"; } );\n"), 12, "has 1 server; it needs at least 2"),
        BAD(VX(" servers = ( { name = \"db-a\"; host = \"10.0.1.20\"; zone = \"\"; },\n { name = \"db-b\"; host = \"10.0.2.20\"; zone = \"z2\"; } );\n"), 12, "servers[0].zone is empty"),
        BAD(VX(" servers = ( { name = \"db-a\"; host = \"10.0.1.20\"; },\n { name = \"db-b\"; host = \"10.0.2.20\"; zone = \"z2\"; } );\n"), 12, "missing required key 'zone' in clusters[0].servers[0]"),
        BAD(CX(" tls = { cert = \"db-ca.pem\"; };\n"), 14, "missing required key 'key' in clusters[0].tls"),
        BAD(CX(" tls = { ca = \"no-such-ca.pem\"; };\n"), 14, "tls.ca: cannot access %T/no-such-ca.pem: No such file or directory"),
        BAD(CX(" tls = { ca = \".\"; };\n"), 14, "is not a regular file"),
        BAD(CX(" tls = { key = \"client-key.pem\"; };\n"), 14, "missing required key 'cert' in clusters[0].tls (a client certificate needs its key"),
        BAD(CX(" tls = { cert = \"client.pem\"; key = \"gone.pem\"; };\n"), 14, "tls.key: cannot access %T/gone.pem: No such file or directory"),
        BAD(CX(" tls = { ca = \"der-ca.crt\"; };\n"), 14, "tls.ca: %T/der-ca.crt holds no PEM certificate", .file = "der-ca.crt", .content = "not really a CA\n"),
        BAD(CX(" tls = { ca = \"db-ca.pem\"; cert = \"client-key.pem\"; key = \"client-key.pem\"; };\n"), 14, "tls.cert: %T/client-key.pem holds no PEM certificate"),
        BAD(CX(" tls = { cert = \"client.pem\"; key = \"client-key.pem\"; };\n"), 14, "tls.key: %T/client-key.pem is accessible by others (mode 0644); run chmod 0600", .file = "client-key.pem", .content = FAKE_KEY, .mode = 0644),
        BAD(CX(" tls = { cert = \"client.pem\"; key = \"client-key.pem\"; };\n"), 14, "(mode 0604)", .file = "client-key.pem", .content = FAKE_KEY, .mode = 0604),
        BAD(CX(" tls = { cert = \"client.pem\"; key = \"client.pem\"; };\n"), 14, "tls.key: %T/client.pem holds no PEM private key"),
        BAD(CX(" tls = { cert = \"client.pem\"; key = \"empty.key\"; };\n"), 14, "holds no PEM private key", .file = "empty.key", .content = ""),
        BAD(CX(" tls = { cert = \"client.pem\"; key = \"enc.key\"; };\n"), 14, "tls.key: %T/enc.key is an encrypted key and the sentinel has no passphrase for it", .file = "enc.key", .content = "-----BEGIN ENCRYPTED PRIVATE KEY-----\nMIIB\n-----END ENCRYPTED PRIVATE KEY-----\n"),
        BAD(CX(" tls = { cert = \"client.pem\"; key = \"old.key\"; };\n"), 14, "is an encrypted key", .file = "old.key", .content = "-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,00\n\nMIIB\n-----END RSA PRIVATE KEY-----\n"),
        /* endpoints */
        BAD(EP("type = \"dsn\"; server = \"10.0.0.2\";"), 14, "\"dsn\" is not an endpoint type; did you mean 'dns'?"),
        BAD(EP("type = \"carrier-pigeon\";"), 14, "use dns, vip or exec"),
        BAD(EP("server = \"10.0.0.2\";"), 14, "missing required key 'type' in clusters[0].endpoints[0]"),
        BAD(EP("type = \"dns\"; interface = \"eth0\";"), 14, "endpoints[0].interface does not apply to a dns endpoint (it is a key of vip endpoints)"),
        BAD(EP("type = \"dns\"; server = \"10.0.0.2:0\"; zone = \"db.example.\"; name = \"p.db.example.\";"), 14, "has a port out of range"),
        BAD(EP("type = \"dns\"; server = \"10.0.0.2\"; zone = \"db.example.\"; name = \"primary.other.example.\";"), 14, "is not inside zone \"db.example.\""),
        BAD(EP("type = \"dns\"; server = \"10.0.0.2\"; name = \"p.db.example.\";"), 14, "missing required key 'zone'"),
        BAD(EP("type = \"dns\"; server = \"10.0.0.2\"; zone = \"db example\"; name = \"p\";"), 14, "is not a valid DNS name"),
        BAD(EP("type = \"dns\"; server = \"10.0.0.2\"; zone = \"db.example.\"; name = \"p.db.example.\"; ttl = 100000;"), 14, "ttl is 100000, above the maximum of 86400"),
        BAD(EP("type = \"vip\"; address = \"10.0.1.100\"; interface = \"eth0\";"), 14, "has no prefix length"),
        BAD(EP("type = \"vip\"; address = \"10.0.1.0/24\"; interface = \"eth0\";"), 14, "is the network address of its /24 network"),
        BAD(EP("type = \"vip\"; address = \"10.0.1.100/24\"; interface = \"eth0:1\";"), 14, "is not a network interface name"),
        BAD(CX(" endpoints = ( { type = \"vip\"; address = \"10.0.1.100/24\"; interface = \"eth0\"; },\n { type = \"vip\"; address = \"10.0.1.100/32\"; interface = \"eth1\"; } );\n"), 15, "repoints the same address as the one on line 14"),
        BAD(EP("type = \"exec\"; command = \"route53-upsert\";"), 14, "command \"route53-upsert\" must be an absolute path"),
        /* tsig key files */
        BAD(EP_TSIG, 14, "accessible by group or others (mode 0644)", .file = "tsig.key", .content = TSIG_FILE, .mode = 0644),
        BAD(EP_TSIG, 3, "the key has no 'algorithm' (add: algorithm hmac-sha256;) (read for clusters[0].endpoints[0].tsig_key_file at %C:14)", .file = "tsig.key", .content = "key \"k\" {\n secret \"" TSIG_B64 "\";\n};\n", .error_in_file = true),
        BAD(EP_TSIG, 4, "the secret is not valid base64", .file = "tsig.key", .content = "# made by hand\nkey \"k\" {\n algorithm hmac-sha256;\n secret \"" TSIG_B64 "*\";\n};\n", .error_in_file = true),
        BAD(EP_TSIG, 2, "unknown algorithm; did you mean 'hmac-sha256'?", .file = "tsig.key", .content = "key \"k\" {\n algorithm hmac-sha257;\n secret \"" TSIG_B64 "\";\n};\n", .error_in_file = true),
        /* hooks */
        BAD(HOOK("events = [ \"failover-ended\" ];"), 14, "unknown event \"failover-ended\"; did you mean 'failover-end'?"),
        BAD(HOOK("events = [ \"sdown\", \"bogus-thing\" ];"), 14, "unknown event \"bogus-thing\""),
        BAD(HOOK("events = [ ];"), 14, "hooks[0].events is empty"),
        BAD(HOOK("events = \"*\";"), 14, "must be a list of event names"),
        BAD(HOOK(""), 14, "missing required key 'events' in clusters[0].hooks[0] (use [ \"*\" ] for every event)"),
        BAD(HOOK("events = [ \"sdown\", \"sdown\" ];"), 14, "event \"sdown\" is listed twice"),
        BAD(HOOK("events = [ \"*\", \"sdown\" ];"), 14, "\"*\" already means every event"),
        BAD(HOOK("events = [ \"*\" ]; class = \"pree\";"), 14, "\"pree\" is not a hook class; did you mean 'pre'?"),
        BAD(HOOK("events = [ \"*\" ]; class = \"sync\";"), 14, "use \"notify\" (the default) or \"pre\""),
        BAD(CX(" hooks = ( { command = \"pagerduty\"; events = [ \"*\" ]; } );\n"), 14, "must be an absolute path"),
};
// clang-format on

/* Expands %T (the temp dir) and %C (the config file) in a gist. */
static char *expand(const char *gist, const char *conf) {
        char *out = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&out, &size);

        for (const char *p = gist; *p; p++) {
                if (p[0] == '%' && p[1] == 'T') {
                        fputs(tmpdir, f);
                        p++;
                } else if (p[0] == '%' && p[1] == 'C') {
                        fputs(conf, f);
                        p++;
                } else
                        fputc(*p, f);
        }
        fclose(f);
        return out;
}

START_TEST(test_broken) {
        const broken_case *t = &broken_cases[_i];
        _cleanup_free_ char *err = NULL, *prefix = NULL, *gist = NULL;
        const char *conf = tmp_path("sentinel.conf");
        config *c = NULL;
        int r;

        if (t->file) {
                const char *p = tmp_path(t->file);

                unlink(p);
                if (t->dir)
                        ck_assert_int_eq(mkdir(p, 0700), 0);
                else if (t->fifo)
                        ck_assert_int_eq(mkfifo(p, 0600), 0);
                else if (t->content)
                        write_file_len(t->file, t->content, t->len ?: strlen(t->content), t->mode ?: 0600);
        }
        if (t->creds) {
                ck_assert_int_eq(mkdir(tmp_path("creds"), 0700), 0);
                setenv("CREDENTIALS_DIRECTORY", tmp_path("creds"), 1);
        }
        write_file("sentinel.conf", t->text, 0644);

        r = config_load(conf, &c, &err);
        if (getenv("TEST_CONFIG_VERBOSE"))
                fprintf(stderr, "case %d: %s\n", _i, err ?: "(none)");
        ck_assert_msg(r == -EINVAL, "case %d: config_load() = %d, error: %s", _i, r, err ?: "(none)");
        ck_assert_ptr_null(c);
        ck_assert_ptr_nonnull(err);
        ck_assert_int_ge(
                asprintf(&prefix, "%s:%u: ", t->error_in_file ? tmp_path(t->file) : conf, t->line), 0);
        gist = expand(t->gist, conf);
        ck_assert_msg(strncmp(err, prefix, strlen(prefix)) == 0,
                "case %d: error \"%s\" does not start with \"%s\"", _i, err, prefix);
        ck_assert_msg(strstr(err, gist), "case %d: error \"%s\" does not say \"%s\"", _i, err, gist);
        ck_assert_msg(!strchr(err, '\n'), "case %d: error has a newline: %s", _i, err);
        assert_no_secret(err);
}
END_TEST

static config *load_ok(const char *text) {
        _cleanup_free_ char *err = NULL;
        config *c = NULL;
        int r;

        write_file("sentinel.conf", text, 0644);
        r = config_load(tmp_path("sentinel.conf"), &c, &err);
        ck_assert_msg(r == 0, "config_load() = %d: %s", r, err ?: "(no message)");
        ck_assert_ptr_null(err);
        return c;
}

START_TEST(test_good_base) {
        /* The base every broken case starts from is itself fine. */
        config *c = load_ok(GOOD);

        ck_assert_uint_eq(config_n_sentinels(c), 3);
        ck_assert_uint_eq(config_majority(c), 2);
        ck_assert_ptr_null(config_free(c));
        ck_assert_ptr_null(config_free(NULL));
}
END_TEST

// clang-format off
#define DEFAULTS_CONF \
        "sentinel = { name = \"solo\"; zone = \"z1\"; };\n" \
        "clusters = ( { name = \"main\"; quorum = 1; user = \"u\"; password_file = \"main.password\";\n" \
        "  replication_user = \"r\"; replication_password_file = \"main.repl-password\";\n" \
        "  servers = ( { name = \"a\"; host = \"db-a.example\"; zone = \"z1\"; },\n" \
        "              { name = \"b\"; host = \"2001:db8::2\"; zone = \"z2\"; } );\n" \
        "  endpoints = ( { type = \"dns\"; server = \"ns1.example\"; zone = \"db.example\"; name = \"p.db.example\"; },\n" \
        "                { type = \"vip\"; address = \"fd00::10/64\"; interface = \"eth0\"; },\n" \
        "                { type = \"exec\"; command = \"/bin/true\"; } );\n" \
        "  hooks = ( { command = \"/bin/true\"; events = [ \"failover-end\", \"fenced\" ]; } ); } );\n"
// clang-format on

START_TEST(test_defaults) {
        config *c = load_ok(DEFAULTS_CONF);
        const sentinel_conf *s = &c->sentinel;
        const cluster_conf *cl = &c->clusters[0];
        const endpoint_conf *e = cl->endpoints;

        ck_assert_str_eq(c->path, tmp_path("sentinel.conf"));
        ck_assert_str_eq(s->name, "solo");
        ck_assert_ptr_null(s->listen.host);
        ck_assert_ptr_null(s->http_listen.host);
        ck_assert_str_eq(s->control_socket, "/run/mariadb-sentinel/solo.sock");
        ck_assert_str_eq(s->state_dir, "/var/lib/mariadb-sentinel/solo");
        ck_assert(!secret_is_set(&s->peer_secret));
        ck_assert_uint_eq(s->n_peers, 0);
        ck_assert_uint_eq(s->line, 1);
        ck_assert_uint_eq(config_n_sentinels(c), 1);
        ck_assert_uint_eq(config_majority(c), 1);

        ck_assert_uint_eq(c->n_clusters, 1);
        ck_assert_ptr_eq(config_find_cluster(c, "main"), cl);
        ck_assert_ptr_null(config_find_cluster(c, "nope"));
        ck_assert(cl->quorum == 1 && cl->line == 2 && cl->quorum_line == 2 && cl->servers_line == 4);
        ck_assert_str_eq((const char *) cl->password.data, PW);
        ck_assert_uint_eq(cl->password.size, strlen(PW));
        ck_assert_str_eq(cl->password.path, tmp_path("main.password"));
        ck_assert_str_eq((const char *) cl->replication_password.data, REPL_PW);
        ck_assert(!cl->tls.enabled && cl->tls.verify_server_cert);

        ck_assert_uint_eq(cl->n_servers, 2);
        ck_assert_ptr_eq(cluster_conf_find_server(cl, "b"), &cl->servers[1]);
        ck_assert_uint_eq(cl->servers[0].port, 3306);
        ck_assert_int_eq(cl->servers[0].priority, 0);
        ck_assert(cl->servers[0].promotable);
        ck_assert_int_eq(cl->servers[0].family, AF_UNSPEC);
        ck_assert_int_eq(cl->servers[1].family, AF_INET6);
        ck_assert_uint_eq(cl->servers[1].line, 5);

        ck_assert_uint_eq(cl->probe.interval_ms, 1000);
        ck_assert_uint_eq(cl->probe.timeout_ms, 1000);
        ck_assert_uint_eq(cl->probe.down_after_ms, 5000);
        ck_assert(cl->failover.automatic);
        ck_assert_uint_eq(cl->failover.max_lag_ms, 10000);
        ck_assert_uint_eq(cl->failover.cooldown_s, 3600);
        ck_assert_uint_eq(cl->failover.timeout_ms, 30000);
        ck_assert_uint_eq(cl->fencing.self_fence_after_ms, 3000);

        ck_assert_uint_eq(cl->n_endpoints, 3);
        ck_assert(e[0].type == ENDPOINT_DNS && e[0].line == 6);
        ck_assert_str_eq(e[0].dns.server.host, "ns1.example");
        ck_assert_uint_eq(e[0].dns.server.port, 53);
        ck_assert_str_eq(e[0].dns.zone, "db.example.");
        ck_assert_str_eq(e[0].dns.name, "p.db.example.");
        ck_assert_uint_eq(e[0].dns.ttl, 5);
        ck_assert(!e[0].dns.tsig_key_file && !e[0].dns.tsig.name);
        ck_assert(e[1].type == ENDPOINT_VIP && e[1].vip.address.family == AF_INET6);
        ck_assert_uint_eq(e[1].vip.address.prefixlen, 64);
        ck_assert_str_eq(e[1].vip.interface, "eth0");
        ck_assert_int_eq(e[2].type, ENDPOINT_EXEC);
        ck_assert_uint_eq(e[2].exec.timeout_ms, 5000);

        ck_assert_uint_eq(cl->n_hooks, 1);
        ck_assert_int_eq(cl->hooks[0].class, HOOK_CLASS_NOTIFY);
        ck_assert_uint_eq(cl->hooks[0].timeout_ms, 10000);
        ck_assert_uint_eq(
                cl->hooks[0].event_mask, EVENT_MASK(EVENT_FAILOVER_END) | EVENT_MASK(EVENT_FENCED));
        config_free(c);
}
END_TEST

/* Loads config/mariadb-sentinel.conf.example with the secrets only in a temp $CREDENTIALS_DIRECTORY. */
static config *load_example(void) {
        static const char *const secrets[] = {"main.password", "main.repl-password", "peer.key", "tsig.key"};
        const char *root = getenv("SOURCE_ROOT") ?: ".";
        _cleanup_free_ char *src = NULL, *text = NULL;
        size_t size = 0;
        FILE *f;

        ck_assert_int_ge(asprintf(&src, "%s/config/mariadb-sentinel.conf.example", root), 0);
        f = fopen(src, "re");
        ck_assert_msg(f, "cannot open %s (set SOURCE_ROOT to the source tree)", src);
        ck_assert_int_gt(getdelim(&text, &size, '\0', f), 0);
        fclose(f);

        ck_assert_int_eq(mkdir(tmp_path("creds"), 0700), 0);
        for (size_t i = 0; i < ELEMENTSOF(secrets); i++) {
                char to[64];

                snprintf(to, sizeof(to), "creds/%s", secrets[i]);
                ck_assert_int_eq(rename(tmp_path(secrets[i]), tmp_path(to)), 0);
        }
        setenv("CREDENTIALS_DIRECTORY", tmp_path("creds"), 1);
        return load_ok(text);
}

START_TEST(test_example) {
        config *c = load_example();
        const cluster_conf *cl = config_find_cluster(c, "main");

        ck_assert_str_eq(c->sentinel.name, "az-a");
        ck_assert_uint_eq(c->sentinel.n_peers, 2);
        ck_assert_str_eq((const char *) c->sentinel.peer_secret.data, PEER_KEY);
        ck_assert_str_eq(c->sentinel.peer_secret.path, tmp_path("creds/peer.key"));
        ck_assert_ptr_nonnull(cl);
        ck_assert_uint_eq(cl->quorum, 2);
        ck_assert_uint_eq(cl->n_servers, 3);
        ck_assert(!cluster_conf_find_server(cl, "db-c")->promotable);
        ck_assert_int_eq(cluster_conf_find_server(cl, "db-a")->priority, 100);
        ck_assert(cl->tls.enabled && cl->tls.verify_server_cert && !cl->tls.ca);
        ck_assert_uint_eq(cl->n_endpoints, 3);
        ck_assert_int_eq(cl->endpoints[0].type, ENDPOINT_DNS);
        ck_assert_str_eq(cl->endpoints[0].dns.tsig.name, "sentinel-key");
        ck_assert_int_eq(cl->endpoints[0].dns.tsig.algorithm, TSIG_HMAC_SHA256);
        ck_assert_uint_eq(cl->endpoints[0].dns.tsig.secret_size, strlen(TSIG_BYTES));
        ck_assert_int_eq(memcmp(cl->endpoints[0].dns.tsig.secret, TSIG_BYTES, strlen(TSIG_BYTES)), 0);
        ck_assert_int_eq(cl->endpoints[1].type, ENDPOINT_VIP);
        ck_assert_int_eq(cl->endpoints[2].type, ENDPOINT_EXEC);
        ck_assert_uint_eq(cl->n_hooks, 1);
        ck_assert_uint_eq(cl->hooks[0].event_mask, EVENT_MASK_ALL);
        config_free(c);
}
END_TEST

START_TEST(test_summary_has_no_secrets) {
        static const char *const expected[] = {
                "sentinel az-a (zone eu-west-2a)",
                "/run/mariadb-sentinel/az-a.sock",
                "az-c             zone eu-west-2c       10.0.3.10:26400",
                "a majority is 2",
                "db-c             10.0.3.20:3306           priority 0, not promotable",
                "self-fence after 3000 ms",
                "vip   10.0.1.100/24 on eth0",
                "notify /usr/libexec/mariadb-sentinel/pagerduty",
        };
        config *c = load_example();
        char *out = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&out, &size);

        config_print_summary(c, f);
        fclose(f);
        assert_no_secret(out);
        for (size_t i = 0; i < ELEMENTSOF(expected); i++)
                ck_assert_msg(strstr(out, expected[i]), "summary lacks \"%s\":\n%s", expected[i], out);
        ck_assert_ptr_nonnull(strstr(out, tmp_path("creds/tsig.key")));
        free(out);
        config_free(c);
}
END_TEST

START_TEST(test_credentials_precedence) {
        config *c;

        /* Both places hold the file: $CREDENTIALS_DIRECTORY wins; a tls file is not a secret. */
        ck_assert_int_eq(mkdir(tmp_path("creds"), 0700), 0);
        write_file("creds/main.password", "from-credentials\n", 0400);
        write_file("creds/db-ca.pem", "another CA\n", 0400);
        setenv("CREDENTIALS_DIRECTORY", tmp_path("creds"), 1);
        c = load_ok(CX(" tls = { ca = \"db-ca.pem\"; };\n"));
        ck_assert_str_eq((const char *) c->clusters[0].password.data, "from-credentials");
        ck_assert_str_eq(c->clusters[0].password.path, tmp_path("creds/main.password"));
        ck_assert_str_eq(c->clusters[0].tls.ca, tmp_path("db-ca.pem"));
        /* Not there: next to the config. */
        ck_assert_str_eq((const char *) c->clusters[0].replication_password.data, REPL_PW);
        config_free(c);

        unsetenv("CREDENTIALS_DIRECTORY");
        c = load_ok(GOOD);
        ck_assert_str_eq((const char *) c->clusters[0].password.data, PW);
        config_free(c);
}
END_TEST

START_TEST(test_tls_files) {
        config *c;

        /* Every file given: absolute paths next to the config; a group without ca is TLS too. */
        c = load_ok(CX(" tls = { ca = \"db-ca.pem\"; cert = \"client.pem\"; key = \"client-key.pem\"; "
                       "verify_server_cert = false; };\n"));
        ck_assert(c->clusters[0].tls.enabled && !c->clusters[0].tls.verify_server_cert);
        ck_assert_str_eq(c->clusters[0].tls.ca, tmp_path("db-ca.pem"));
        ck_assert_str_eq(c->clusters[0].tls.cert, tmp_path("client.pem"));
        ck_assert_str_eq(c->clusters[0].tls.key, tmp_path("client-key.pem"));
        config_free(c);
        c = load_ok(CX(" tls = { };\n"));
        ck_assert(c->clusters[0].tls.enabled && c->clusters[0].tls.verify_server_cert &&
                  !c->clusters[0].tls.ca);
        config_free(c);

        /* A key the daemon's user cannot read is refused at load (root reads any file: not testable). */
        if (geteuid() != 0) {
                _cleanup_free_ char *err = NULL;

                write_file("locked.key", FAKE_KEY, 0000);
                write_file("sentinel.conf", CX(" tls = { cert = \"client.pem\"; key = \"locked.key\"; };\n"),
                        0644);
                ck_assert_int_eq(config_load(tmp_path("sentinel.conf"), &c, &err), -EINVAL);
                ck_assert_ptr_nonnull(strstr(err, "tls.key: cannot read"));
                ck_assert_ptr_nonnull(
                        strstr(err, "Permission denied; make it readable by the user the sentinel runs as"));
                ck_assert_ptr_null(strchr(err, '\n'));
        }
}
END_TEST

START_TEST(test_secret_newlines) {
        static const char *const cases[][2] = {
                {"pw\n", "pw"},
                {"pw\r\n", "pw"},
                {"pw", "pw"},
                {"pw\n\n", "pw\n"},
                {"\npw", "\npw"},
                {" pw \n", " pw "},
                {"p\nw\n", "p\nw"},
                {"pw\r", "pw\r"},
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                secret s = {};

                write_file("s", cases[i][0], 0600);
                ck_assert_int_eq(secret_read_file(tmp_path("s"), &s, NULL), 0);
                ck_assert_uint_eq(s.size, strlen(cases[i][1]));
                ck_assert_int_eq(memcmp(s.data, cases[i][1], s.size), 0);
                ck_assert_int_eq(s.data[s.size], 0);
                secret_done(&s);
                ck_assert_ptr_null(s.data);
        }
        secret_done(NULL);
}
END_TEST

START_TEST(test_secret_files) {
        _cleanup_free_ char *big = malloc(SECRET_SIZE_MAX + 2), *err = NULL;
        secret s = {};

        /* 0400 is fine; a symlink is followed and its target judged. */
        write_file("ro", "x\n", 0400);
        ck_assert_int_eq(symlink(tmp_path("ro"), tmp_path("link")), 0);
        ck_assert_int_eq(secret_read_file(tmp_path("link"), &s, NULL), 0);
        ck_assert_str_eq(s.path, tmp_path("link"));
        secret_done(&s);
        write_file("rw-others", "x\n", 0602);
        ck_assert_int_eq(secret_read_file(tmp_path("rw-others"), &s, NULL), -EPERM);
        ck_assert_int_eq(mkfifo(tmp_path("fifo"), 0600), 0); /* must not hang */
        ck_assert_int_eq(secret_read_file(tmp_path("fifo"), &s, NULL), -EBADFD);
        ck_assert_int_eq(secret_read_file(tmp_path("nope"), &s, &err), -ENOENT);
        ck_assert_ptr_nonnull(strstr(err, tmp_path("nope")));
        memset(big, 'a', SECRET_SIZE_MAX + 1);
        write_file_len("big", big, SECRET_SIZE_MAX + 1, 0600);
        ck_assert_int_eq(secret_read_file(tmp_path("big"), &s, NULL), -EFBIG);
        write_file_len("max", big, SECRET_SIZE_MAX, 0600);
        ck_assert_int_eq(secret_read_file(tmp_path("max"), &s, NULL), 0);
        ck_assert_uint_eq(s.size, SECRET_SIZE_MAX);
        secret_done(&s);
}
END_TEST

/* One POSIX ACL entry; set_acl() writes them as the kernel stores them (version 2, then tag, perm, id,
 * little-endian like the hosts we run on). */
typedef struct acl_entry {
        uint16_t tag, perm;
        uint32_t id;
} acl_entry;

/* 0 on success, -errno (-EOPNOTSUPP: the file system has no ACLs). */
static int set_acl(const char *name, const acl_entry *entries, size_t n) {
        uint8_t buf[4 + 16 * sizeof(acl_entry)];
        uint32_t version = 2;

        ck_assert_uint_le(n, 16);
        memcpy(buf, &version, 4);
        for (size_t i = 0; i < n; i++)
                memcpy(buf + 4 + sizeof(acl_entry) * i, &entries[i], sizeof(acl_entry));
        return setxattr(tmp_path(name), "system.posix_acl_access", buf, 4 + sizeof(acl_entry) * n, 0) < 0
                       ? -errno
                       : 0;
}

START_TEST(test_secret_acl) {
        enum { UO = 0x01, U = 0x02, GO = 0x04, G = 0x08, M = 0x10, O = 0x20 };
        const uint32_t any = UINT32_MAX, me = geteuid(), other = me == 65534 ? 65533 : 65534;
        /* systemd's credential on tmpfs: 0400 root, plus read for the service's user (mode 0440) */
        const acl_entry systemd_way[] = {{UO, 4, any}, {U, 4, me}, {GO, 0, any}, {M, 4, any}, {O, 0, any}};
        const acl_entry another_user[] = {
                {UO, 4, any}, {U, 4, other}, {GO, 0, any}, {M, 4, any}, {O, 0, any}};
        const acl_entry group_reads[] = {{UO, 4, any}, {U, 4, me}, {GO, 4, any}, {M, 4, any}, {O, 0, any}};
        const acl_entry a_group[] = {
                {UO, 4, any}, {U, 4, me}, {GO, 0, any}, {G, 4, 0}, {M, 4, any}, {O, 0, any}};
        const acl_entry masked_out[] = {{UO, 4, any}, {U, 4, other}, {GO, 4, any}, {M, 0, any}, {O, 0, any}};
        _cleanup_free_ char *err = NULL;
        struct stat st;
        secret s = {};
        int r;

        write_file("acl", "x\n", 0400);
        r = set_acl("acl", systemd_way, ELEMENTSOF(systemd_way));
        if (r == -EOPNOTSUPP) {
                printf("test_secret_acl: no ACLs on %s, not checked\n", tmpdir);
                return;
        }
        ck_assert_int_eq(r, 0);
        ck_assert_int_eq(stat(tmp_path("acl"), &st), 0);
        ck_assert_uint_eq(st.st_mode & 07777, 0440); /* the mask shows as the group's bits */
        ck_assert_int_eq(secret_read_file(tmp_path("acl"), &s, NULL), 0);
        ck_assert_str_eq((const char *) s.data, "x");
        secret_done(&s);

        /* Anyone else in the ACL who can read: refused, as a group-readable mode is. */
        ck_assert_int_eq(set_acl("acl", another_user, ELEMENTSOF(another_user)), 0);
        ck_assert_int_eq(secret_read_file(tmp_path("acl"), &s, &err), -EPERM);
        ck_assert_ptr_nonnull(strstr(err, "accessible by group or others (mode 0440)"));
        ck_assert_int_eq(set_acl("acl", group_reads, ELEMENTSOF(group_reads)), 0);
        ck_assert_int_eq(secret_read_file(tmp_path("acl"), &s, NULL), -EPERM);
        ck_assert_int_eq(set_acl("acl", a_group, ELEMENTSOF(a_group)), 0);
        ck_assert_int_eq(secret_read_file(tmp_path("acl"), &s, NULL), -EPERM);
        /* others: never, whatever the ACL */
        ck_assert_int_eq(set_acl("acl", systemd_way, ELEMENTSOF(systemd_way)), 0);
        ck_assert_int_eq(chmod(tmp_path("acl"), 0444), 0);
        ck_assert_int_eq(secret_read_file(tmp_path("acl"), &s, NULL), -EPERM);
        /* a mask of nothing: the mode is 0400 and the entries grant nothing */
        ck_assert_int_eq(set_acl("acl", masked_out, ELEMENTSOF(masked_out)), 0);
        ck_assert_int_eq(stat(tmp_path("acl"), &st), 0);
        ck_assert_uint_eq(st.st_mode & 07777, 0400);
        ck_assert_int_eq(secret_read_file(tmp_path("acl"), &s, NULL), 0);
        secret_done(&s);
}
END_TEST

START_TEST(test_missing_main_file) {
        _cleanup_free_ char *err = NULL, *want = NULL;
        config *c = NULL;

        ck_assert_int_eq(config_load(tmp_path("nope.conf"), &c, &err), -ENOENT);
        ck_assert_int_ge(
                asprintf(&want, "%s: cannot read: No such file or directory", tmp_path("nope.conf")), 0);
        ck_assert_str_eq(err, want);
        ck_assert_ptr_null(c);
        free(err);
        err = NULL;
        ck_assert_int_eq(config_load(tmpdir, &c, &err), -EISDIR);
        ck_assert_ptr_nonnull(strstr(err, ": cannot read: Is a directory"));
}
END_TEST

// clang-format off
static const struct { const char *text, *name; tsig_algorithm algorithm; } tsig_good[] = {
        { TSIG_FILE, "sentinel-key", TSIG_HMAC_SHA256 },
        { "# tsig-keygen output\nkey \"k.example.\" {\r\n algorithm \"HMAC-SHA512\";\r\n secret \"" TSIG_B64 "\";\r\n};\r\n", "k.example.", TSIG_HMAC_SHA512 },
        { "/* a\n multi-line comment */ key k // trailing\n{ secret \"dHNpZy1TZWNy ZXQtQnl0ZXMtMDEyMzQ1Njc4OWFiY2Q=\"; algorithm hmac-sha1; } ;", "k", TSIG_HMAC_SHA1 },
};

static const struct { const char *text; unsigned line; const char *gist; } tsig_bad[] = {
        { "", 1, "no key statement" },
        { "# only a comment\n", 2, "no key statement" },
        { "server 10.0.0.1 { keys k; };\n", 1, "expected a key statement" },
        { "key {\n", 1, "expected the key name" },
        { "key \"bad name\" {};\n", 1, "not a valid DNS name" },
        { "key \"k\"\n secret \"" TSIG_B64 "\";\n", 2, "expected '{' after the key name" },
        { "key \"k\" {\n algorithm hmac-sha256\n secret \"" TSIG_B64 "\";\n};\n", 3, "expected ';' after the algorithm" },
        { "key \"k\" {\n algorithm hmac-sha256;\n secret " TSIG_B64 ";\n};\n", 3, "must be a quoted base64 string" },
        { "key \"k\" [\n", 1, "unexpected character" },
        { "key \"k\" {\n algorithm hmac-sha256;\n secret \"" TSIG_B64 "\";\n}\n", 5, "expected ';' after '}'" },
        { "key \"k\" {\n algorithm hmac-sha256;\n};\n", 3, "the key has no 'secret'" },
        { "key \"k\" {\n secret \"" TSIG_B64 "\";\n};\n", 3, "the key has no 'algorithm'" },
        { "key \"k\" {\n algorithm hmac-sha256;\n algorithm hmac-sha1;\n", 3, "'algorithm' is given twice" },
        { "key \"k\" {\n algoritm hmac-sha256;\n", 2, "unknown statement in the key block; did you mean 'algorithm'?" },
        { "key \"k\" {\n algorithm hmac-sha256;\n secret \"" TSIG_B64 "\";\n", 4, "opened on line 1 is never closed" },
        { "key \"k\" {\n algorithm hmac-sha256;\n secret \"" TSIG_B64 "\";\n};\nkey \"l\" { };\n", 5, "more than one key statement" },
        { "key \"k\" {\n secret \"" TSIG_B64 "\n\";\n", 2, "quoted string not closed on the same line" },
        { "key \"k\" {\n secret \"\";\n", 2, "the secret is empty" },
        { "key \"k\" {\n secret \"QUJD\";\n secret \"QUJD\";\n", 3, "'secret' is given twice" },
        { "key \"k\" {\n secret \"QUJ\";\n", 2, "not valid base64" },
        { "key \"k\" {\n secret \"QQ=A\";\n", 2, "not valid base64" },
        { "key \"k\" {\n\n /* never closed\n", 3, "comment opened here is never closed" },
        { "key \"k\" { algorithm md4; };\n", 1, "unknown algorithm" },
};
// clang-format on

START_TEST(test_tsig) {
        for (size_t i = 0; i < ELEMENTSOF(tsig_good); i++) {
                tsig_key k = {};

                ck_assert_int_eq(
                        tsig_key_parse(tsig_good[i].text, strlen(tsig_good[i].text), &k, NULL, NULL), 0);
                ck_assert_str_eq(k.name, tsig_good[i].name);
                ck_assert_int_eq(k.algorithm, tsig_good[i].algorithm);
                ck_assert_uint_eq(k.secret_size, strlen(TSIG_BYTES));
                ck_assert_int_eq(memcmp(k.secret, TSIG_BYTES, k.secret_size), 0);
                tsig_key_done(&k);
                ck_assert_ptr_null(k.secret);
        }
        for (size_t i = 0; i < ELEMENTSOF(tsig_bad); i++) {
                _cleanup_free_ char *err = NULL;
                tsig_key k = {};
                unsigned line = 0;

                ck_assert_int_eq(tsig_key_parse(tsig_bad[i].text, strlen(tsig_bad[i].text), &k, &line, &err),
                        -EINVAL);
                ck_assert_msg(line == tsig_bad[i].line, "case %zu: line %u, want %u (%s)", i, line,
                        tsig_bad[i].line, err);
                ck_assert_msg(strstr(err, tsig_bad[i].gist), "case %zu: \"%s\" lacks \"%s\"", i, err,
                        tsig_bad[i].gist);
                assert_no_secret(err);
                ck_assert_ptr_null(k.name);
        }
        ck_assert_str_eq(tsig_algorithm_to_string(TSIG_HMAC_SHA256), "hmac-sha256");
        ck_assert_int_eq(tsig_algorithm_from_string("hmac-sha3"), _TSIG_ALGORITHM_INVALID);
}
END_TEST

// clang-format off
static const struct { const char *in; uint16_t default_port; const char *host; uint16_t port; int family; } hostport_good[] = {
        { "10.0.0.1:26400", 0, "10.0.0.1", 26400, AF_INET },
        { "[::1]:53", 0, "::1", 53, AF_INET6 },
        { "[2001:db8::10]:3306", 0, "2001:db8::10", 3306, AF_INET6 },
        { "db.example.com:3306", 0, "db.example.com", 3306, AF_UNSPEC },
        { "ns1.example.:65535", 0, "ns1.example.", 65535, AF_UNSPEC },
        { "db_a:1", 0, "db_a", 1, AF_UNSPEC },
        { "db-a", 3306, "db-a", 3306, AF_UNSPEC },
        { "10.0.0.2", 53, "10.0.0.2", 53, AF_INET },
        { "[fe80::1]", 53, "fe80::1", 53, AF_INET6 },
};

static const struct { const char *in; uint16_t default_port; const char *reason; } hostport_bad[] = {
        { "", 0, "is empty" },                               { "10.0.0.1", 0, "has no port" },
        { "10.0.0.1:", 0, "empty port" },                    { "10.0.0.1:0", 0, "out of range 1..65535" },
        { "10.0.0.1:65536", 0, "out of range 1..65535" },    { "10.0.0.1:99999999999999999999", 0, "out of range" },
        { "10.0.0.1:http", 0, "not a number" },              { "10.0.0.1:-1", 0, "not a number" },
        { ":3306", 0, "empty host" },                        { "::1:53", 0, "without brackets" },
        { "2001:db8::1", 53, "without brackets" },           { "[::1", 0, "without its ']'" },
        { "[::1]x", 0, "after ']'" },                        { "[10.0.0.1]:53", 0, "invalid IPv6" },
        { "[::g]:53", 0, "invalid IPv6" },                   { "[fe80::1%eth0]:53", 0, "zone index" },
        { "300.1.2.3:53", 0, "not a valid IPv4" },           { "10.0.1:53", 0, "not a valid IPv4" },
        { "-db:3306", 0, "not a valid host name" },          { "db-:3306", 0, "not a valid host name" },
        { "db..example:3306", 0, "not a valid host name" },  { "db a:3306", 0, "not a valid host name" },
        { "a234567890123456789012345678901234567890123456789012345678901234.example:1", 0, "not a valid host name" },
};
// clang-format on

START_TEST(test_hostport) {
        char buf[HOSTPORT_FORMAT_MAX];
        const char *reason = NULL;
        hostport a = {}, b = {};
        int family = -1;

        for (size_t i = 0; i < ELEMENTSOF(hostport_good); i++) {
                int r = hostport_parse(hostport_good[i].in, hostport_good[i].default_port, &a, &reason);

                ck_assert_msg(r == 0, "\"%s\": %d %s", hostport_good[i].in, r, reason);
                ck_assert_str_eq(a.host, hostport_good[i].host);
                ck_assert_uint_eq(a.port, hostport_good[i].port);
                ck_assert_int_eq(a.family, hostport_good[i].family);
                hostport_done(&a);
        }
        for (size_t i = 0; i < ELEMENTSOF(hostport_bad); i++) {
                int r = hostport_parse(hostport_bad[i].in, hostport_bad[i].default_port, &a, &reason);

                ck_assert_msg(r == -EINVAL, "\"%s\": %d", hostport_bad[i].in, r);
                ck_assert_msg(strstr(reason, hostport_bad[i].reason), "\"%s\": \"%s\" lacks \"%s\"",
                        hostport_bad[i].in, reason, hostport_bad[i].reason);
                ck_assert_ptr_null(a.host);
        }

        ck_assert_int_eq(hostport_parse("[::1]:53", 0, &a, NULL), 0);
        ck_assert_int_eq(hostport_parse("[0:0::1]:53", 0, &b, NULL), 0);
        ck_assert(hostport_equal(&a, &b));
        ck_assert_str_eq(hostport_format(&a, buf, sizeof(buf)), "[::1]:53");
        hostport_done(&a);
        hostport_done(&b);
        ck_assert_int_eq(hostport_parse("DB.Example:1", 0, &a, NULL), 0);
        ck_assert_int_eq(hostport_parse("db.example.:1", 0, &b, NULL), 0);
        ck_assert(hostport_equal(&a, &b));
        hostport_done(&a);
        hostport_done(&b);
        hostport_done(NULL);

        ck_assert_int_eq(host_parse("::1", &family, NULL), 0);
        ck_assert_int_eq(family, AF_INET6);
        ck_assert_int_eq(host_parse("[::1]", NULL, NULL), -EINVAL);
        ck_assert_int_eq(host_parse("10.0.0.1:3306", NULL, NULL), -EINVAL);
        ck_assert(dns_name_is_in_zone("p.db.example.", "DB.example"));
        ck_assert(dns_name_is_in_zone("db.example", "db.example."));
        ck_assert(!dns_name_is_in_zone("pdb.example.", "db.example."));
}
END_TEST

START_TEST(test_ip_prefix) {
        static const char *const bad[] = {"10.0.1.100", "10.0.1.100/33", "fd00::1/129", "10.0.1.100/0",
                "10.0.1.100/2x", "host/24", "10.0.1.100/"};
        char buf[IP_PREFIX_FORMAT_MAX];
        const char *reason = NULL;
        ip_prefix p, q;

        ck_assert_int_eq(ip_prefix_parse("10.0.1.100/24", &p, NULL), 0);
        ck_assert(p.family == AF_INET && p.prefixlen == 24);
        ck_assert(!ip_prefix_is_network(&p) && !ip_prefix_is_broadcast(&p));
        ck_assert_str_eq(ip_prefix_format(&p, buf, sizeof(buf)), "10.0.1.100/24");
        ck_assert_int_eq(ip_prefix_parse("10.0.1.100/32", &q, NULL), 0);
        ck_assert(ip_prefix_same_address(&p, &q));
        ck_assert(ip_prefix_parse("10.0.1.0/24", &p, NULL) == 0 && ip_prefix_is_network(&p));
        ck_assert(ip_prefix_parse("10.0.1.255/24", &p, NULL) == 0 && ip_prefix_is_broadcast(&p));
        ck_assert(ip_prefix_parse("10.0.1.0/31", &p, NULL) == 0 && !ip_prefix_is_network(&p));
        ck_assert_int_eq(ip_prefix_parse("fd00::10/64", &p, NULL), 0);
        ck_assert_str_eq(ip_prefix_format(&p, buf, sizeof(buf)), "fd00::10/64");
        for (size_t i = 0; i < ELEMENTSOF(bad); i++)
                ck_assert_msg(ip_prefix_parse(bad[i], &p, &reason) == -EINVAL, "\"%s\" parsed", bad[i]);
        ck_assert_int_eq(ip_prefix_parse("10.0.1.100", &p, &reason), -EINVAL);
        ck_assert_ptr_nonnull(strstr(reason, "no prefix length"));
}
END_TEST

START_TEST(test_strutil) {
        static const char *const keys[] = {"interval_ms", "timeout_ms", "down_after_ms", NULL};
        _cleanup_free_ char *d1 = str_dirname("/etc/x.conf"), *d2 = str_dirname("x.conf"),
                            *d3 = str_dirname("/x"), *j1 = str_path_join("/etc", "a"),
                            *j2 = str_path_join("/etc/", "/abs");

        ck_assert_uint_eq(str_edit_distance("interval_ms", "intervall_ms"), 1);
        ck_assert_uint_eq(str_edit_distance("dns", "dsn"), 1);
        ck_assert_uint_eq(str_edit_distance("Zone", "zone"), 0);
        ck_assert_uint_eq(str_edit_distance("", "abc"), 3);
        ck_assert_uint_eq(str_edit_distance("kitten", "sitting"), 3);
        ck_assert_str_eq(str_closest("intervall_ms", keys), "interval_ms");
        ck_assert_str_eq(str_closest("timout_ms", keys), "timeout_ms");
        ck_assert_ptr_null(str_closest("colour", keys));
        ck_assert_ptr_null(str_closest("timeout_ms", keys));
        ck_assert(str_is_name("az-a") && str_is_name("1") && !str_is_name("-a") && !str_is_name("a b"));
        ck_assert(!str_is_name("") && str_has_control("a\tb") && !str_has_control("a b"));
        {
                char *out = NULL;
                size_t n = 0;
                FILE *f = open_memstream(&out, &n);
                ck_assert_ptr_nonnull(f);
                ck_assert_int_eq(str_fputs_printable("ok\tline\n\x1b[2Jbell\a\x7f\xc3\xa9", f), 0);
                ck_assert_int_eq(fclose(f), 0);
                ck_assert_str_eq(out, "ok\tline\n\\x1b[2Jbell\\x07\\x7f\xc3\xa9");
                free(out);
        }
        ck_assert(streq(d1, "/etc") && streq(d2, ".") && streq(d3, "/"));
        ck_assert(streq(j1, "/etc/a") && streq(j2, "/abs"));
        ck_assert(str_in_list(keys, "timeout_ms") && !str_in_list(keys, "timeout"));
        ck_assert_str_eq(endpoint_type_to_string(ENDPOINT_VIP), "vip");
        ck_assert_int_eq(endpoint_type_from_string("exec"), ENDPOINT_EXEC);
        ck_assert_int_eq(endpoint_type_from_string("nope"), _ENDPOINT_TYPE_INVALID);
        ck_assert_str_eq(hook_class_to_string(HOOK_CLASS_PRE), "pre");
        ck_assert_int_eq(hook_class_from_string("notify"), HOOK_CLASS_NOTIFY);
        ck_assert_ptr_null(hook_class_to_string(_HOOK_CLASS_MAX));
}
END_TEST

static Suite *config_suite(void) {
        Suite *s = suite_create("config");
        TCase *tc = tcase_create("config");

        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_loop_test(tc, test_broken, 0, (int) ELEMENTSOF(broken_cases));
        tcase_add_test(tc, test_good_base);
        tcase_add_test(tc, test_defaults);
        tcase_add_test(tc, test_example);
        tcase_add_test(tc, test_summary_has_no_secrets);
        tcase_add_test(tc, test_credentials_precedence);
        tcase_add_test(tc, test_tls_files);
        tcase_add_test(tc, test_secret_newlines);
        tcase_add_test(tc, test_secret_files);
        tcase_add_test(tc, test_secret_acl);
        tcase_add_test(tc, test_missing_main_file);
        tcase_add_test(tc, test_tsig);
        tcase_add_test(tc, test_hostport);
        tcase_add_test(tc, test_ip_prefix);
        tcase_add_test(tc, test_strutil);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        SRunner *sr = srunner_create(config_suite());
        int failed;

        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
