#!/usr/bin/env bash
# TLS from the sentinel to MariaDB, against real servers. The test makes with openssl a CA, a server
# certificate for 127.0.0.1 (CN and IP subjectAltName, so verify_server_cert passes on loopback), a
# client certificate, and an unrelated "wrong" CA; it starts a 3-server cluster with ssl_ca/ssl_cert/
# ssl_key (the harness's MDB_TLS_* opt-in: repl REQUIRE SSL, replication over TLS) and makes the
# sentinel's account REQUIRE X509, so only a TLS session presenting a certificate of the CA logs in.
# One sentinel (quorum 1) runs with tls { ca, cert, key, verify_server_cert = true }.
#   a. every server is probed (so its sessions are TLS with the client certificate); plain TCP and TLS
#      without the client certificate are refused for that account; Ssl_accepts grows.
#   b. kill -9 the primary: the failover promotes a replica, and the replica the sentinel repointed
#      replicates over TLS (Master_SSL_Allowed Yes, Master_SSL_CA_File the CA, IO thread Yes).
#   c. (maintenance on) the CA file at the configured path overwritten with the wrong CA: nothing
#      changes until a reload (the open sessions stay); after `sentinelctl reload` every live server
#      is down with error "tls" and a one-line message naming TLS and the certificate, in status
#      --json and in the text status; the daemon keeps running.
#   d. the right CA written back at the same path and a reload: the probes succeed again.
#   e. a config whose tls.key is missing or not a PEM key is refused by --check-config (exit 2, one
#      line naming tls.key) and by a reload (the running config stays, probes go on).
#   f. the old primary restarted without TLS (--skip-ssl): its probe fails with a TLS error ("does
#      not offer TLS"), also with verify_server_cert = false; never a plain-text session.
# Every process (mariadbd, sentinel) is killed by PID in the exit trap, also on failure.
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
. "$here/lib.sh"
# shellcheck source=../harness/mdb-harness.sh
. "$here/../harness/mdb-harness.sh"

command -v openssl >/dev/null || { echo "test-tls.sh: openssl is not installed; skipping"; exit 77; }
for b in "$SENTINEL" "$SENTINELCTL"; do
  if [ ! -x "$b" ]; then echo "FAIL: $b is not built"; exit 1; fi
done

mdb_trap_teardown
PKI=$(mktemp -d "${TMPDIR:-/tmp}/sentinel-tls-pki.XXXXXX") || exit 1
mdb_on_exit 'rm -rf "$PKI"'

# ---- the certificates ----
# pki_ca NAME: a self-signed CA NAME.pem / NAME.key
pki_ca() {
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
    -subj "/CN=sentinel-test-$1" -keyout "$PKI/$1.key" -out "$PKI/$1.pem" 2>>"$PKI/openssl.log"
}
# pki_leaf NAME CN EXT: NAME.pem / NAME.key signed by the ca
pki_leaf() {
  printf '%s\n' "$3" >"$PKI/$1.ext"
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj "/CN=$2" \
    -keyout "$PKI/$1.key" -out "$PKI/$1.csr" 2>>"$PKI/openssl.log" &&
    openssl x509 -req -in "$PKI/$1.csr" -CA "$PKI/ca.pem" -CAkey "$PKI/ca.key" -CAcreateserial -days 2 \
      -extfile "$PKI/$1.ext" -out "$PKI/$1.pem" 2>>"$PKI/openssl.log"
}
if ! { pki_ca ca && pki_ca wrong-ca &&
  pki_leaf server 127.0.0.1 'subjectAltName=IP:127.0.0.1' &&
  pki_leaf client sentinel-client 'extendedKeyUsage=clientAuth'; }; then
  echo "FAIL: openssl could not make the certificates:"; sed 's/^/    /' "$PKI/openssl.log"; exit 1
fi
chmod 0600 "$PKI"/*.key
cp "$PKI/ca.pem" "$PKI/live-ca.pem"   # the path the sentinel's config names; overwritten in c and d

# ---- the cluster: TLS on every server, sentinel REQUIRE X509 ----
export MDB_TLS_CA=$PKI/ca.pem MDB_TLS_CERT=$PKI/server.pem MDB_TLS_KEY=$PKI/server.key
mdb_cluster_up 3 >/dev/null || exit 1
for i in 1 2 3; do
  mdb_sql "$i" "SET SESSION sql_log_bin=0; ALTER USER 'sentinel'@'%' REQUIRE X509" || { echo "FAIL: ALTER USER on $i"; exit 1; }
done
check "the servers have TLS (have_ssl YES)" test "$(mdb_var 1 have_ssl)" = YES
# as_sentinel I ARGS...: the sentinel's account over TCP with the client's extra arguments
as_sentinel() {
  local i=$1 h=MDB_HOST_$1 p=MDB_PORT_$1; shift
  MYSQL_PWD=$(mdb_password sentinel) "$MDB_CLIENT" --no-defaults --connect-timeout=5 --protocol=TCP \
    -h "${!h}" -P "${!p}" -u sentinel -N -B "$@" -e 'SELECT 1' >/dev/null 2>&1
}
check "the sentinel's account: plain TCP refused" eval '! as_sentinel 1 --skip-ssl'
check "the sentinel's account: TLS without the client certificate refused" eval '! as_sentinel 1 --ssl "--ssl-ca=$PKI/ca.pem"'
check "the sentinel's account: TLS with the client certificate accepted" \
  as_sentinel 1 --ssl "--ssl-ca=$PKI/ca.pem" "--ssl-cert=$PKI/client.pem" "--ssl-key=$PKI/client.key"

mon_init sentinel-tls || exit 1
# tls_write_config [VERIFY [KEY]]: the cluster with tls { ca = live-ca.pem, cert, key, verify }
tls_write_config() {
  {
    mon_sentinel_block
    printf 'clusters = (\n'
    mon_cluster_head main
    cat <<CONF
    tls = { ca = "$PKI/live-ca.pem"; cert = "$PKI/client.pem"; key = "${2:-$PKI/client.key}";
            verify_server_cert = ${1:-true}; };
    probe = { interval_ms = 250; timeout_ms = 250; down_after_ms = 1500; };
    failover = { auto = true; cooldown_s = 0; };
    fencing = { self_fence_after_ms = 600; };
    hooks = ( { command = "$MON_DIR/hook"; events = [ "*" ]; timeout_ms = 5000; } );
  }
);
CONF
  } >"$MON_CONF.tmp" && mv "$MON_CONF.tmp" "$MON_CONF"
}
view='[c["state"], c["primary"], c["epoch"], [(s["name"], s["role"], s.get("error"), s.get("error_message")) for s in c["servers"]]]'

# ==== a. probes over TLS with the client certificate ====
accepts0=$(mdb_status_var 1 Ssl_accepts)
tls_write_config
mon_start
ms=$(mon_q wait 'c["state"] == "healthy" and c["primary"] == "db-1" and all(s["reachable"] for s in c["servers"])' 10000 '' "$view"); rc=$?
check "a: every server probed over TLS (REQUIRE X509), healthy, primary db-1 ($ms ms)" test "$rc" -eq 0
mon_require_alive "after its start"
check "a: the sentinel's sessions on db-1 are TLS (Ssl_accepts $accepts0 -> $(mdb_status_var 1 Ssl_accepts))" \
  test "$(mdb_status_var 1 Ssl_accepts)" -gt "$accepts0"
check "a: the sentinel holds a session on db-1" \
  test "$(mdb_sql 1 "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE USER = 'sentinel'")" -ge 1

# ==== b. failover: the repointed replica replicates over TLS ====
t0=$(date +%s%N)
mdb_kill 1 || exit 1
failed_over='c["primary"] in ("db-2", "db-3") and c["epoch"] == 1 and srv[c["primary"]]["role"] == "primary" and srv[c["primary"]]["read_only"] is False'
ms=$(mon_q wait "$failed_over" 20000 "$t0" "$view"); rc=$?
check "b: failover to a replica, epoch 1 ($ms ms)" test "$rc" -eq 0
new=$(mon_q get 'c["primary"]'); new=${new#db-}
other=2; [ "$new" != 2 ] || other=3
np=MDB_PORT_$new
io_yes() { [ "$(mdb_slave_field "$other" Slave_IO_Running)" = Yes ] && [ "$(mdb_slave_field "$other" Master_Port)" = "${!np}" ]; }
check "b: db-$other follows db-$new with its IO thread running (repl REQUIRE SSL)" mon_wait 15 io_yes
check "b: db-$other: Master_SSL_Allowed Yes" test "$(mdb_slave_field "$other" Master_SSL_Allowed)" = Yes
check "b: db-$other: Master_SSL_CA_File is the configured CA" test "$(mdb_slave_field "$other" Master_SSL_CA_File)" = "$PKI/live-ca.pem"
check "b: db-$other: Master_SSL_Verify_Server_Cert Yes" test "$(mdb_slave_field "$other" Master_SSL_Verify_Server_Cert)" = Yes
check "b: db-$other: no client certificate given to the replica (Master_SSL_Cert empty)" test -z "$(mdb_slave_field "$other" Master_SSL_Cert)"
ms=$(mon_q wait 'all(srv[n]["reachable"] for n in ("db-2", "db-3"))' 10000 '' "$view"); rc=$?
check "b: db-2 and db-3 reachable after the failover" test "$rc" -eq 0

# ==== c. the wrong CA at the same path, re-read at reload ====
mon_ctl maintenance main on >/dev/null || fail "c: maintenance on"
cp "$PKI/wrong-ca.pem" "$PKI/live-ca.pem.tmp" && mv "$PKI/live-ca.pem.tmp" "$PKI/live-ca.pem"
out=$(mon_q hold 'all(srv[n]["reachable"] for n in ("db-2", "db-3"))' 1000 '' "$view"); rc=$?
check "c: the open TLS sessions stay until a reload ($out)" test "$rc" -eq 0
mon_ctl reload >/dev/null || fail "c: sentinelctl reload"
tls_down='all(not srv[n]["reachable"] and srv[n].get("error") == "tls" for n in ("db-2", "db-3"))'
ms=$(mon_q wait "$tls_down" 10000 '' "$view"); rc=$?
check "c: after the reload db-2 and db-3 fail with error tls ($ms ms)" test "$rc" -eq 0
msg=$(mon_q get 'srv["db-2"].get("error_message") or ""')
echo "    db-2: $msg"
check "c: the message is one line naming TLS, the certificate check and tls.ca" \
  mon_one_line "$msg" "TLS: *certificate*tls.ca $PKI/live-ca.pem*"
text=$(mon_ctl status main 2>&1)
check "c: the text status shows the TLS error line" grep -qE "^tls error: db-2: TLS: .*certificate" <<<"$text"
check "c: the text status notes tls for db-2" grep -qE '^db-2 .* tls$|^db-2 .*tls' <<<"$text"
check "c: the reload logged that the TLS files are read again" grep -q 'TLS certificate and key files are read again' "$MON_LOG"
mon_require_alive "with the wrong CA"
check "c: the daemon keeps running" _mon_alive "$MON_PID"

# ==== d. the right CA back at the same path ====
cp "$PKI/ca.pem" "$PKI/live-ca.pem.tmp" && mv "$PKI/live-ca.pem.tmp" "$PKI/live-ca.pem"
mon_ctl reload >/dev/null || fail "d: sentinelctl reload"
ms=$(mon_q wait 'all(srv[n]["reachable"] for n in ("db-2", "db-3"))' 10000 '' "$view"); rc=$?
check "d: the right CA at the same path and a reload: db-2 and db-3 reachable again ($ms ms)" test "$rc" -eq 0

# ==== e. a missing or bad key is refused at load ====
good_conf=$(cat "$MON_CONF")
tls_write_config true "$PKI/no-such.key"
out=$("$SENTINEL" --check-config --config "$MON_CONF" 2>&1 >/dev/null); rc=$?
check "e: --check-config refuses a missing tls.key with exit 2 ($rc)" test "$rc" -eq 2
check "e: in one line naming tls.key and the file: $out" mon_one_line "$out" "*$MON_CONF:*tls.key: cannot access $PKI/no-such.key: No such file or directory*"
cp "$PKI/client.pem" "$PKI/not-a-key.pem"
tls_write_config true "$PKI/not-a-key.pem"
out=$("$SENTINEL" --check-config --config "$MON_CONF" 2>&1 >/dev/null); rc=$?
check "e: --check-config refuses a tls.key holding no key ($rc): $out" \
  eval '[ "$rc" -eq 2 ] && mon_one_line "$out" "*tls.key: $PKI/not-a-key.pem holds no PEM private key*"'
out=$(mon_ctl reload 2>&1); rc=$?
check "e: a reload with that key is refused ($rc): $out" eval '[ "$rc" -eq 1 ] && [[ $out == *tls.key* ]]'
printf '%s\n' "$good_conf" >"$MON_CONF"
out=$(mon_q hold 'all(srv[n]["reachable"] for n in ("db-2", "db-3"))' 1000 '' "$view"); rc=$?
check "e: the running config stays, the probes go on ($out)" test "$rc" -eq 0

# ==== f. a server without TLS: never plain text ====
mdb_start 1 --skip-ssl --skip-slave-start >/dev/null || exit 1
check "f: db-1 restarted without TLS (have_ssl DISABLED)" test "$(mdb_var 1 have_ssl)" = DISABLED
no_tls='srv["db-1"].get("error") == "tls" and "does not offer TLS" in (srv["db-1"].get("error_message") or "")'
ms=$(mon_q wait "$no_tls" 10000 '' "$view"); rc=$?
check "f: db-1's probe fails with a TLS error, not a plain-text session ($ms ms)" test "$rc" -eq 0
tls_write_config false
mon_ctl reload >/dev/null || fail "f: reload with verify_server_cert = false"
sleep 1
ms=$(mon_q wait "$no_tls and srv[\"db-1\"][\"last_probe_age_ms\"] < 500" 10000 '' "$view"); rc=$?
check "f: also with verify_server_cert = false ($ms ms)" test "$rc" -eq 0
ms=$(mon_q wait 'all(srv[n]["reachable"] for n in ("db-2", "db-3"))' 10000 '' "$view"); rc=$?
check "f: db-2 and db-3 reachable with verify_server_cert = false" test "$rc" -eq 0
check "f: no sentinel session on the plain-text db-1" \
  test "$(mdb_sql 1 "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE USER = 'sentinel'")" -eq 0

mon_require_alive "at the end"
mon_stop
check "the daemon stops cleanly (status $MON_RC)" test "$MON_RC" = 0
check "no sanitizer report in the sentinel's log" mon_sanitizer_clean
mon_finish
