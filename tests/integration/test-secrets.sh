#!/usr/bin/env bash
# No secret leaves its file (issue 7): three sentinels with peers (peers-lib.sh; quorum 2) over a
# 3-server semi-sync harness cluster on 127.0.0.11..13 (one port), a DNS endpoint at a real named
# with a TSIG key, an exec endpoint and a hook for every event that each dump their whole
# environment, arguments, stdin and open fds to a file per call, and the HTTP listener on every
# sentinel. The secrets are long, distinctive random strings: the monitor and replication passwords
# (the test gives both accounts new ones), the peer secret and named's TSIG key. s-1 reads them from
# absolute paths, s-2 and s-3 from $CREDENTIALS_DIRECTORY (relative *_file names). A fifth one is in
# the daemons' environment (MYSQL_PWD, as an operator's shell may hold one): hooks must not get it.
#   1. --check-config of every config, and of broken ones (a secret inline, a group-readable secret
#      file, misplaced and malformed TSIG secrets): what they print is collected;
#   2. kill -9 the primary: all three agree on the new primary and epoch, the name and its epoch
#      record answer it, the other replica follows it (the new replication password works), the
#      hook ran for failover-start and failover-end, the exec endpoint ran;
#   3. the old primary restarted (rejoin), maintenance on/off, reload (also of a broken config),
#      switchover --dry-run, switchover to the other replica, a refused failover --dry-run;
#   4. a replication password longer than MariaDB's 96 characters for MASTER_PASSWORD (whose
#      CHANGE MASTER TO error would quote its first 64 characters): every reload and --check-config
#      refuse it with one line naming the file and the length;
# After each phase: sentinelctl status / status --json / history / history --json / why / why --json
# and GET /metrics, /health, /v1/status, /v1/clusters/main/primary (and 404s) of every sentinel.
# At the end every log (stderr, stdout), audit log and state_dir file, every sentinelctl and HTTP
# answer, every hook and exec dump and every --check-config output is searched (as bytes) for every
# secret: whole, its first and last 16 characters, and encoded (hex, base64, the TSIG key's decoded
# bytes in raw/hex/base64url, the MariaDB password hash). One ok/FAIL line per secret and kind of
# source. No hook or exec child may hold a secret file open or inherit any fd beyond 0-2.
# Controls, so the search can fail: it finds each secret in its own files, finds every encoded form
# in a canary file, and the corpus is the real thing (the failover is in the logs, metrics, audit
# logs, status and hook dumps). Skipped (77) without named, dig, tsig-keygen, nsupdate or curl.
# Every process is killed by PID in the exit trap, also on failure. SECRETS_KEEP=DIR keeps a copy of
# the test's directory (configs, logs, dumps, corpus) at exit.
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
. "$here/lib.sh"
# shellcheck source=../harness/mdb-harness.sh
. "$here/../harness/mdb-harness.sh"
# shellcheck source=../harness/named-harness.sh
. "$here/../harness/named-harness.sh"
# shellcheck source=peers-lib.sh
. "$here/peers-lib.sh"

for tool in named dig tsig-keygen nsupdate; do
  if ! _named_find_bin "$tool" >/dev/null 2>&1; then echo "test-secrets.sh: $tool is not installed; skipping"; exit 77; fi
done
command -v curl >/dev/null || { echo "test-secrets.sh: curl is not installed; skipping"; exit 77; }
command -v openssl >/dev/null || { echo "test-secrets.sh: openssl is not installed; skipping"; exit 77; }
if [ ! -x "$SENTINEL" ] || [ ! -x "$SENTINELCTL" ]; then echo "FAIL: $SENTINEL or $SENTINELCTL is not built"; exit 1; fi

mdb_trap_teardown
T_START=$(date +%s%N)
sec_keep() { [ -z "${SECRETS_KEEP:-}" ] || [ -z "${MON_DIR:-}" ] || cp -a "$MON_DIR" "$SECRETS_KEEP"; true; }
mdb_on_exit sec_keep   # first: runs before peers_cleanup and mon_cleanup

# ---- the cluster: one port, three loopback addresses (the DNS name alone tells the primary) ----
port=$(mon_free_port) || { echo "FAIL: no free port"; exit 1; }
for i in 1 2 3; do export "MDB_BIND_FOR_$i=127.0.0.$((10 + i))" "MDB_PORT_FOR_$i=$port"; done
peers_up sentinel-secrets || exit 1
named_trap_teardown
named_up >/dev/null 2>&1 || { echo "FAIL: named did not start"; exit 1; }
DNS_NAME=primary.$NAMED_ZONE
EPOCH_OWNER=_sentinel-epoch.$DNS_NAME

# ---- the secrets ----
SEC=$MON_DIR/secrets CREDS=$MON_DIR/creds DUMP=$MON_DIR/dumps C=$MON_DIR/corpus
mkdir -p "$SEC" "$CREDS" "$DUMP" "$C" && chmod 0700 "$SEC" "$CREDS" || exit 1
MON_PW=sntlMON-$(openssl rand -hex 24)
REPL_PW=sntlREPL-$(openssl rand -hex 24)
PEER_SECRET=sntlPEER-$(openssl rand -hex 24)
# A secret in the daemons' own environment (as an operator's shell may hold one): no hook may see it.
ENV_SECRET=sntlENV-$(openssl rand -hex 24)
TSIG_B64=$(sed -n 's/^[[:space:]]*secret "\([^"]*\)";.*/\1/p' "$NAMED_KEY_FILE")
[ "${#TSIG_B64}" -ge 40 ] || { echo "FAIL: no TSIG secret in $NAMED_KEY_FILE"; exit 1; }
for d in "$SEC" "$CREDS"; do
  write_secret "$d" monitor.password "$MON_PW"
  write_secret "$d" repl.password "$REPL_PW"
  write_secret "$d" peer.key "$PEER_SECRET"
  (umask 077; cp "$NAMED_KEY_FILE" "$d/tsig.key")
done
# The accounts get the new passwords on every server (outside the binlog, as the harness made them),
# the replicas replicate with the new one; the harness's files follow, for its own helpers.
for i in 1 2 3; do
  mdb_sql "$i" "SET SESSION sql_log_bin=0; ALTER USER 'sentinel'@'%' IDENTIFIED BY '$MON_PW'; ALTER USER 'repl'@'%' IDENTIFIED BY '$REPL_PW';" ||
    { echo "FAIL: ALTER USER on db-$i"; exit 1; }
done
for i in 2 3; do
  mdb_sql "$i" "STOP SLAVE; CHANGE MASTER TO MASTER_PASSWORD='$REPL_PW'; START SLAVE;" || { echo "FAIL: CHANGE MASTER on db-$i"; exit 1; }
done
( umask 077; printf '%s' "$MON_PW" >"$MDB_DIR/sentinel.password"; printf '%s' "$REPL_PW" >"$MDB_DIR/repl.password" )
for i in 2 3; do mdb_wait_slave_running "$i" >/dev/null || { echo "FAIL: db-$i does not replicate with the new password"; exit 1; }; done
check "semi-sync: the primary counts both replicas again" mdb_wait_until 20 eval '[ "$(mdb_status_var 1 Rpl_semi_sync_master_clients)" = 2 ]'
check "the monitor account logs in with the new password" eval '[ "$(mdb_sql_as sentinel 2 "SELECT 1")" = 1 ]'

# ---- the dumping hook and exec endpoint: environment (NUL-separated), arguments, stdin, open fds ----
for kind in hook exec; do
  cat >"$MON_DIR/dump-$kind" <<SH
#!/bin/sh
f="$DUMP/$kind.\${SENTINEL_NAME:-none}.\${SENTINEL_EVENT:-none}.\$(date +%s%N).\$\$"
env -0 >"\$f.env.tmp"
printf '%s\0' "\$0" "\$@" >"\$f.args.tmp"
cat >"\$f.stdin.tmp"
ls -l /proc/\$\$/fd/ >"\$f.fds.tmp"   # the shell's own fds (ls is its child; dash redirects in the child)
for x in env args stdin fds; do mv "\$f.\$x.tmp" "\$f.\$x"; done
SH
  chmod 0755 "$MON_DIR/dump-$kind"
done

# ---- the configs: s-1 absolute secret paths, s-2 and s-3 relative ones from $CREDENTIALS_DIRECTORY ----
# sec_cluster_block DIR: the cluster (quorum 2, the accounts, db-1..3, fast probes, no cooldown, the
# DNS and exec endpoints, the hook for every event) with the secret files in DIR ("" = relative)
sec_cluster_block() {
  local d=${1:+$1/}
  MDB_SENTINEL_PASSWORD_FILE=${d}monitor.password MDB_REPL_PASSWORD_FILE=${d}repl.password mon_cluster_head main |
    sed 's/quorum = 1;/quorum = 2;/'
  cat <<CONF
    probe = { interval_ms = 200; timeout_ms = 200; down_after_ms = 1000; };
    failover = { auto = true; cooldown_s = 0; };
    fencing = { self_fence_after_ms = 600; };
    endpoints = (
      { type = "dns"; server = "$NAMED_HOST:$NAMED_PORT"; zone = "$NAMED_ZONE"; name = "$DNS_NAME";
        ttl = 1; tsig_key_file = "${d}tsig.key"; },
      { type = "exec"; command = "$MON_DIR/dump-exec"; timeout_ms = 5000; }
    );
    hooks = ( { command = "$MON_DIR/dump-hook"; events = [ "*" ]; timeout_ms = 5000; } );
  }
CONF
}
# shellcheck source=http-lib.sh
. "$here/http-lib.sh"
declare -A HPORT=()
for i in 1 2 3; do
  # shellcheck disable=SC2034 # write_conf's input
  if [ "$i" = 1 ]; then
    cluster_block=$(sec_cluster_block "$SEC")
    write_conf 1 secrets/peer.key
  else
    cluster_block=$(sec_cluster_block '')
    write_conf "$i" secrets/peer.key
    sed -i "s|peer_secret_file = \"$MON_DIR/secrets/peer.key\"|peer_secret_file = \"peer.key\"|" "$MON_DIR/s-$i/sentinel.conf"
  fi
  for _ in $(seq 20); do
    http_listen_add "$MON_DIR/s-$i/sentinel.conf" >/dev/null || exit 1
    [[ " ${HPORT[*]} " == *" $HTTP_PORT "* ]] || break
    sed -i '/^  http_listen = /d' "$MON_DIR/s-$i/sentinel.conf"
  done
  HPORT[$i]=$HTTP_PORT
done
check "s-2 and s-3 name every secret file relatively (from \$CREDENTIALS_DIRECTORY), none beside their configs" \
  eval '! grep -q "$SEC\|$MON_DIR/peer.key" "$MON_DIR/s-2/sentinel.conf" "$MON_DIR/s-3/sentinel.conf" && [ -z "$(ls "$MON_DIR/s-2" | grep -E "password|\.key")" ]'

# creds_env I: the environment of sentinel I's programs: no journal, $CREDENTIALS_DIRECTORY for s-2/3
creds_env() {
  if [ "$1" = 1 ]; then echo env -u JOURNAL_STREAM -u CREDENTIALS_DIRECTORY "MYSQL_PWD=$ENV_SECRET"
  else echo env -u JOURNAL_STREAM "CREDENTIALS_DIRECTORY=$CREDS" "MYSQL_PWD=$ENV_SECRET"; fi
}
# s_start I: the daemon of s-I, stdout and stderr to its files (PID[I], killed by peers_cleanup)
s_start() {
  local -a e
  read -ra e <<<"$(creds_env "$1")"
  "${e[@]}" "$SENTINEL" --config "$MON_DIR/s-$1/sentinel.conf" >>"$MON_DIR/s-$1/sentinel.out" 2>>"$MON_DIR/s-$1/sentinel.log" &
  PID[$1]=$!
}
# run_to FILE CMD...: CMD's stdout and stderr appended to FILE with a header line; its exit status
run_to() {
  local f=$1 rc
  shift
  printf '==== %s\n' "${*//$ENV_SECRET/<the environment secret>}" >>"$f"
  "$@" >>"$f" 2>&1; rc=$?
  printf '==== exit %s\n' "$rc" >>"$f"
  return "$rc"
}
ctl() { local i=$1; shift; "$SENTINELCTL" -s "$MON_DIR/s-$i/control.sock" "$@"; }

# ---- 1. --check-config, good and broken ----
mkdir -p "$C/check-config" "$MON_DIR/bad"
for i in 1 2 3; do
  read -ra e <<<"$(creds_env "$i")"
  run_to "$C/check-config/s-$i.out" "${e[@]}" "$SENTINEL" --check-config --config "$MON_DIR/s-$i/sentinel.conf"
  check "s-$i: --check-config accepts its config (exit $?)" grep -q 'configuration OK' "$C/check-config/s-$i.out"
done
# bad_conf NAME SED: s-1's config changed by SED, checked; its output must be a refusal (exit 2)
bad_conf() {
  sed "$2" "$MON_DIR/s-1/sentinel.conf" >"$MON_DIR/bad/$1.conf"
  run_to "$C/check-config/bad-$1.out" env -u CREDENTIALS_DIRECTORY "$SENTINEL" --check-config --config "$MON_DIR/bad/$1.conf"
  local rc=$?
  check "broken config '$1': refused, exit 2 ($rc): $(sed -n 2p "$C/check-config/bad-$1.out" | cut -c1-150)" test "$rc" -eq 2
}
(umask 077
 cp "$SEC/monitor.password" "$MON_DIR/bad/monitor.password"
 printf 'key "sentinel-key" {\n\talgorithm hmac-sha256;\n\tsecret %s;\n};\n' "$TSIG_B64" >"$MON_DIR/bad/unquoted.key"
 printf 'key "sentinel-key" {\n\talgorithm hmac-sha256;\n\t%s;\n};\n' "$TSIG_B64" >"$MON_DIR/bad/bare.key"
 printf 'key "sentinel-key" {\n\talgorithm %s;\n\tsecret "%s";\n};\n' "$TSIG_B64" "$TSIG_B64" >"$MON_DIR/bad/algorithm.key"
 printf 'key "sentinel-key" {\n\talgorithm hmac-sha256;\n\tsecret "%s!";\n};\n' "$TSIG_B64" >"$MON_DIR/bad/base64.key"
 printf 'key "sentinel-key" {\n\talgorithm hmac-sha256;\n\tsecret "%s\n";\n};\n' "$TSIG_B64" >"$MON_DIR/bad/open.key"
 printf 'key "sentinel-key" {\n\talgorithm hmac-sha256;\n\tsecret "%s";\n};\n%s\n' "$TSIG_B64" "$TSIG_B64" >"$MON_DIR/bad/after.key")
chmod 0640 "$MON_DIR/bad/monitor.password"
bad_conf inline-password "s|^    password_file = .*|    password = \"$MON_PW\";|"
bad_conf inline-repl "s|^    replication_password_file = .*|    replication_password = \"$REPL_PW\";|"
bad_conf inline-peer "s|^  peer_secret_file = .*|  peer_secret = \"$PEER_SECRET\";|"
bad_conf inline-tsig "s|tsig_key_file = \"[^\"]*\"|tsig_key = \"$TSIG_B64\"|"
bad_conf group-readable "s|^    password_file = .*|    password_file = \"$MON_DIR/bad/monitor.password\";|"
for k in unquoted bare algorithm base64 open after; do
  bad_conf "tsig-$k" "s|tsig_key_file = \"[^\"]*\"|tsig_key_file = \"$MON_DIR/bad/$k.key\"|"
done
bad_conf tsig-is-password "s|tsig_key_file = \"[^\"]*\"|tsig_key_file = \"$SEC/monitor.password\"|"
bad_conf peer-is-dir "s|^  peer_secret_file = .*|  peer_secret_file = \"$SEC\";|"

# ---- 2. start; the name points at db-1 (epoch 0) ----
host_of() { local h=MDB_HOST_${1#db-}; printf '%s\n' "${!h}"; }
dig_a() { dig @"$NAMED_HOST" -p "$NAMED_PORT" +norec +time=1 +tries=1 "$DNS_NAME" A +short 2>/dev/null; }
dig_txt() { dig @"$NAMED_HOST" -p "$NAMED_PORT" +norec +time=1 +tries=1 "$EPOCH_OWNER" TXT +short 2>/dev/null; }
dns_is() { [ "$(dig_a)" = "$(host_of "$1")" ] && [ "$(dig_txt)" = "\"epoch=$2 primary=$1\"" ]; }
printf 'update add %s 1 A %s\nupdate add %s 1 TXT "epoch=0 primary=db-1"\n' "$DNS_NAME" "$MDB_HOST_1" "$EPOCH_OWNER" |
  named_nsupdate >/dev/null || { echo "FAIL: nsupdate of the initial records"; exit 1; }
s_start 1; s_start 2; s_start 3
for i in 1 2 3; do
  ms=$(q "$i" wait "c.get('state') == 'healthy' and c.get('primary') == 'db-1' and len($REACH) == 2" 20000 '' \
    "[c.get('state'), c.get('primary'), $REACH]"); rc=$?
  check "s-$i: healthy, primary db-1, both peers reachable (the peer secret works) ($ms ms)" test "$rc" -eq 0
done
[ "$_fails" -eq 0 ] || { finish; exit 1; }
check "the daemons run with MYSQL_PWD=<the environment secret> (control for the hooks' clean environment)" \
  grep -qzx "MYSQL_PWD=$ENV_SECRET" "/proc/${PID[1]}/environ"

# snapshot TAG: every sentinelctl read verb and every HTTP path of every sentinel, into the corpus
snapshot() {
  local tag=$1 i p
  mkdir -p "$C/ctl" "$C/http"
  for i in 1 2 3; do
    [ -n "${PID[$i]:-}" ] || continue
    run_to "$C/ctl/status.s-$i.$tag" ctl "$i" status
    run_to "$C/ctl/status.s-$i.$tag" ctl "$i" status main
    run_to "$C/ctl/status-json.s-$i.$tag" ctl "$i" status --json
    run_to "$C/ctl/status-json.s-$i.$tag" ctl "$i" status main --json
    run_to "$C/ctl/history.s-$i.$tag" ctl "$i" history main
    run_to "$C/ctl/history.s-$i.$tag" ctl "$i" history main --json
    run_to "$C/ctl/why.s-$i.$tag" ctl "$i" why main
    run_to "$C/ctl/why.s-$i.$tag" ctl "$i" why main --json
    for p in /metrics /health /v1/status /v1/clusters/main/primary /v1/clusters/nope/primary /nope; do
      curl -sS -i --max-time 5 "http://127.0.0.1:${HPORT[$i]}$p" >"$C/http/s-$i.$tag.${p//\//_}" 2>&1
    done
  done
}
snapshot 0-healthy

# ---- 3. kill -9 the primary ----
mdb_kill 1 || exit 1
T0=$(date +%s%N)
for i in 1 2 3; do
  out=$(q "$i" wait 'c.get("primary") not in (None, "db-1") and c.get("epoch", 0) >= 1 and c.get("state") != "failover"' 30000 \
    "$T0" '[c.get("primary"), c.get("epoch"), c.get("state")]')
  check "s-$i: a new primary after kill -9 db-1 ($out ms)" test $? -eq 0
done
views=$(for i in 1 2 3; do q "$i" get '"%s@%s" % (c.get("primary"), c.get("epoch"))'; done | sort -u)
check "all three agree on one primary and epoch ($(tr '\n' ' ' <<<"$views"))" test "$(wc -l <<<"$views")" -eq 1
NEW=$(cut -d@ -f1 <<<"$views" | head -n 1) EPOCH=$(cut -d@ -f2 <<<"$views" | head -n 1)
OTHER=db-2; [ "$NEW" = db-2 ] && OTHER=db-3
case "$NEW" in db-2 | db-3) ;; *) fail "no new primary ($views)"; finish; exit 1 ;; esac
check "the name answers $NEW ($(host_of "$NEW")) and the epoch record epoch=$EPOCH (the TSIG key works) [$(dig_a) $(dig_txt)]" \
  mon_wait 10 dns_is "$NEW" "$EPOCH"
other_follows() {
  [ "$(mdb_slave_field "${OTHER#db-}" Master_Host) $(mdb_slave_field "${OTHER#db-}" Slave_IO_Running)" = "$(host_of "$NEW") Yes" ]
}
check "$OTHER replicates from $NEW, IO thread running (the replication password works)" mon_wait 15 other_follows
dumped() { compgen -G "$DUMP/$1.*.$2.*.env" >/dev/null; }
check "the hook dumped failover-start" mon_wait 10 dumped hook failover-start
check "the hook dumped failover-end" mon_wait 10 dumped hook failover-end
check "the exec endpoint dumped its run" mon_wait 10 dumped exec '*'
snapshot 1-failover

# ---- 4. the operator's verbs; the old primary back; a switchover ----
mkdir -p "$C/ops"
mdb_start 1 >/dev/null || exit 1
ms=$(q 1 wait "srv['db-1']['role'] == 'replica' and srv['db-1']['replicating_from'] == '$NEW'" 20000 '' \
  "[srv['db-1']['role'], srv['db-1']['replicating_from']]"); rc=$?
check "db-1 restarted: rejoined as a replica of $NEW ($ms)" test "$rc" -eq 0
check "...with its IO thread running (a CHANGE MASTER with the replication password)" \
  mon_wait 10 eval '[ "$(mdb_slave_field 1 Slave_IO_Running)" = Yes ]'
run_to "$C/ops/maintenance" ctl 2 maintenance main on --ttl 600
check "maintenance on (s-2)" eval 'q 1 wait "c.get(\"maintenance\") is True" 5000 >/dev/null'
run_to "$C/ops/maintenance" ctl 3 maintenance main off
check "maintenance off (s-3)" eval 'q 1 wait "c.get(\"maintenance\") is False" 5000 >/dev/null'
for i in 1 2 3; do run_to "$C/ops/reload" ctl "$i" reload; done
check "reload of every sentinel: exit 0" eval '[ "$(grep -c "^==== exit 0" "$C/ops/reload")" -eq 3 ]'
kill -HUP "${PID[2]}"
# a broken config reloaded: refused, the old one stays
cp "$MON_DIR/s-1/sentinel.conf" "$MON_DIR/s-1/sentinel.conf.good"
sed -i "s|^    password_file = .*|    password = \"$MON_PW\";|" "$MON_DIR/s-1/sentinel.conf"
run_to "$C/ops/reload-bad" ctl 1 reload
check "reload of a config with an inline password: refused" grep -q '^==== exit [12]$' "$C/ops/reload-bad"
sed -i "s|^    replication_password_file = .*|    replication_password_file = \"$MON_DIR/bad/monitor.password\";|" "$MON_DIR/s-1/sentinel.conf.good"
cp "$MON_DIR/s-1/sentinel.conf.good" "$MON_DIR/s-1/sentinel.conf"
run_to "$C/ops/reload-bad" ctl 1 reload
check "reload of a config with a group-readable secret file: refused" eval '[ "$(grep -c "^==== exit [12]$" "$C/ops/reload-bad")" -eq 2 ]'
sed -i "s|replication_password_file = \"$MON_DIR/bad/monitor.password\"|replication_password_file = \"$SEC/repl.password\"|" "$MON_DIR/s-1/sentinel.conf"
run_to "$C/ops/reload" ctl 1 reload
check "the good config again: reload exit 0" test "$(tail -n 1 "$C/ops/reload")" = "==== exit 0"
run_to "$C/ops/failover-dry-run" ctl 1 failover main --force --dry-run
run_to "$C/ops/switchover" ctl 3 switchover main --to "$OTHER" --dry-run
check "switchover --to $OTHER --dry-run: exit 0" test "$(tail -n 1 "$C/ops/switchover")" = "==== exit 0"
run_to "$C/ops/switchover" ctl 3 switchover main --to "$OTHER"
check "switchover --to $OTHER: exit 0" test "$(tail -n 1 "$C/ops/switchover")" = "==== exit 0"
for i in 1 2 3; do
  out=$(q "$i" wait "c.get('primary') == '$OTHER' and c.get('epoch', 0) > $EPOCH and c.get('state') != 'switchover'" 15000 \
    '' '[c.get("primary"), c.get("epoch"), c.get("state")]')
  check "s-$i: $OTHER is the primary after the switchover ($out ms)" test $? -eq 0
done
check "the hook dumped switchover-end" mon_wait 10 dumped hook switchover-end
sleep 1   # the last hooks and audit records
snapshot 2-switchover

# ---- 5. a replication password MariaDB would refuse: longer than MASTER_PASSWORD's 96 characters
# (its CHANGE MASTER TO error would quote the password, "String '...' is too long"): every reload is
# refused with one line naming the file and the length, and the sentinels keep the old password ----
LONG_PW=sntlLONG-$(openssl rand -hex 64)
for d in "$SEC" "$CREDS"; do write_secret "$d" long.password "$LONG_PW"; done
for i in 1 2 3; do
  sed -i 's|repl\.password";|long.password";|' "$MON_DIR/s-$i/sentinel.conf"
  run_to "$C/ops/reload-long" ctl "$i" reload
done
check "every sentinel refused a reload with a ${#LONG_PW}-character replication password (exit 1)" \
  test "$(grep -c '^==== exit 1' "$C/ops/reload-long")" -eq 3
check "...saying why: 'has ${#LONG_PW} characters; MariaDB's CHANGE MASTER TO takes at most 96'" \
  test "$(grep -c "has ${#LONG_PW} characters; MariaDB's CHANGE MASTER TO takes at most 96" "$C/ops/reload-long")" -eq 3
run_to "$C/ops/check-config-long" "$SENTINEL" --check-config --config "$MON_DIR/s-1/sentinel.conf"
check "...and --check-config exits 2 on it" test "$(tail -n 1 "$C/ops/check-config-long")" = "==== exit 2"
for i in 1 2 3; do sed -i 's|long\.password";|repl.password";|' "$MON_DIR/s-$i/sentinel.conf"; done
snapshot 3-long-password
for i in 1 2 3; do stop "$i"; done   # SIGTERM: the shutdown's lines too (and LeakSanitizer's report)

# ---- 6. the search ----
cat >"$MON_DIR/scan.py" <<'PY'
# scan.py SPEC_JSON: for every secret and every kind of source, search each file (as bytes) for every
# form of the secret; print "ok: ..." or "FAIL: ..." per (secret, kind), "info: ..." lines otherwise.
import base64, hashlib, json, os, sys

spec = json.load(open(sys.argv[1]))

def forms(name, s):
    b = s.encode()
    f = {"text": b, "first16": b[:16], "last16": b[-16:], "hex": b.hex().encode(),
         "HEX": b.hex().upper().encode(), "base64": base64.b64encode(b)[:-4]}
    if name in ("monitor-password", "replication-password", "long-replication-password"):
        h = hashlib.sha1(hashlib.sha1(b).digest()).hexdigest()
        f["mysql-hash"], f["MYSQL-HASH"] = h.encode(), h.upper().encode()
    if name == "tsig-key":
        raw = base64.b64decode(s)
        f.update({"raw": raw, "raw-first16": raw[:16], "raw-hex": raw.hex().encode(),
                  "raw-HEX": raw.hex().upper().encode(), "raw-first16-hex": raw[:16].hex().encode(),
                  "base64url": base64.urlsafe_b64encode(raw).rstrip(b"="),
                  "escaped": s.replace("/", "\\/").encode()})
    return {k: v for k, v in f.items() if len(v) >= 12}

secrets = {n: forms(n, s) for n, s in spec["secrets"].items()}

def hits(path, fs):
    try:
        data = open(path, "rb").read()
    except OSError as e:
        return None, str(e)
    return data, [(k, data.find(v)) for k, v in fs.items() if v in data]

# where DATA OFF: the line of a hit and the text before it, every form of every secret masked (also
# pieces of them: the window is masked before it is cut), so the report itself leaks nothing
def where(data, off):
    line = data.count(b"\n", 0, off) + 1
    w = data[max(0, off - 200):off]
    for name, fs in secrets.items():
        for k, v in sorted(fs.items(), key=lambda kv: -len(kv[1])):
            w = w.replace(v, ("<%s/%s>" % (name, k)).encode())
    w = w[-60:]
    w = w[w.rfind(b"\n") + 1:]
    return line, w.decode("utf-8", "replace") + "<<HERE>>"

fails = 0
mode = spec.get("mode", "absent")
for kind, files in spec["kinds"].items():
    size = sum(os.path.getsize(f) for f in files if os.path.exists(f))
    for name, fs in secrets.items():
        found, errs = [], []
        for path in files:
            data, h = hits(path, fs)
            if data is None:
                errs.append("%s: %s" % (path, h)); continue
            for k, off in h:
                found.append((path, k, off, data))
        label = "%s in %s (%d files, %d bytes, %d forms)" % (name, kind, len(files), size, len(fs))
        if mode == "absent":
            if found or errs:
                fails += 1
                for path, k, off, data in found[:5]:
                    line, ctx = where(data, off)
                    print("info:   %s (%s) at %s:%d: ...%s..." % (name, k, path, line, ctx))
                print("FAIL: %s: %s" % (label, "; ".join(sorted({"%s:%s" % (os.path.relpath(p, spec["root"]), k) for p, k, _, _ in found})) or "; ".join(errs)))
            else:
                print("ok: no %s" % label)
        else:  # "present": kind is NAME:FORMS, each of its files must hold those forms of that secret
            want_name, want_forms = kind.split(":")
            if name != want_name:
                continue
            missing = sorted({"%s in %s" % (f, os.path.basename(p)) for p in files for f in want_forms.split(",")
                              if not any(k == f and q == p for q, k, _, _ in found)})
            if missing or errs or not files:
                fails += 1
                print("FAIL: control: %s: forms %s not found %s" % (label, ",".join(missing), "; ".join(errs)))
            else:
                print("ok: control: %s found (%s)" % (label, want_forms))
sys.exit(1 if fails else 0)
PY
# scan SPEC: the scanner's lines as checks
scan() {
  local line
  while IFS= read -r line; do
    case $line in
    ok:*) pass "${line#ok: }" ;;
    FAIL:*) fail "${line#FAIL: }" ;;
    info:*) echo "    ${line#info: }" ;;
    *) echo "    $line" ;;
    esac
  done < <(python3 "$MON_DIR/scan.py" "$1" 2>&1)
}
# spec MODE KIND=FILE... : the scanner's input (the secrets, and the files of each kind) on stdout
spec() {
  python3 - "$@" <<'PY'
import json, os, sys
mode, kinds = sys.argv[1], {}
for a in sys.argv[2:]:
    k, f = a.split("=", 1)
    kinds.setdefault(k, []).append(f)
print(json.dumps({"mode": mode, "root": os.environ["MON_DIR"], "kinds": kinds, "secrets": {
    "monitor-password": os.environ["MON_PW"], "replication-password": os.environ["REPL_PW"],
    "peer-secret": os.environ["PEER_SECRET"], "tsig-key": os.environ["TSIG_B64"],
    "daemon-environment": os.environ["ENV_SECRET"], "long-replication-password": os.environ["LONG_PW"]}}))
PY
}
export MON_DIR MON_PW REPL_PW PEER_SECRET TSIG_B64 ENV_SECRET LONG_PW

# -- the controls: each secret is found in its own files, every encoded form in a canary --
python3 - "$MON_DIR/canary" <<'PY'
import base64, hashlib, os, sys
out = b""
for n in ("MON_PW", "REPL_PW", "PEER_SECRET", "TSIG_B64", "ENV_SECRET", "LONG_PW"):
    b = os.environ[n].encode()
    out += b"x" + b + b"\n" + b.hex().encode() + b" " + b.hex().upper().encode() + b" " + base64.b64encode(b) + b"\n"
    out += hashlib.sha1(hashlib.sha1(b).digest()).hexdigest().encode() + b" " + hashlib.sha1(hashlib.sha1(b).digest()).hexdigest().upper().encode() + b"\n"
raw = base64.b64decode(os.environ["TSIG_B64"])
out += raw + b"\n" + raw.hex().encode() + b" " + raw.hex().upper().encode() + b" " + base64.urlsafe_b64encode(raw) + b" " + os.environ["TSIG_B64"].replace("/", "\\/").encode() + b"\n"
open(sys.argv[1], "wb").write(out)
PY
spec present "monitor-password:text,first16,last16=$SEC/monitor.password" "monitor-password:text,first16,last16=$CREDS/monitor.password" \
  "replication-password:text,first16,last16=$SEC/repl.password" "replication-password:text,first16,last16=$CREDS/repl.password" \
  "peer-secret:text,first16,last16=$SEC/peer.key" "peer-secret:text,first16,last16=$CREDS/peer.key" \
  "tsig-key:text,first16,last16=$NAMED_KEY_FILE" "tsig-key:text,first16,last16=$CREDS/tsig.key" \
  "long-replication-password:text,first16,last16=$SEC/long.password" \
  "long-replication-password:text,first16,last16=$CREDS/long.password" >"$MON_DIR/spec-files.json"
scan "$MON_DIR/spec-files.json"
spec present "monitor-password:text,hex,HEX,base64,mysql-hash,MYSQL-HASH=$MON_DIR/canary" \
  "replication-password:text,hex,HEX,base64,mysql-hash,MYSQL-HASH=$MON_DIR/canary" \
  "peer-secret:text,hex,HEX,base64=$MON_DIR/canary" "daemon-environment:text,first16,last16,hex,base64=$MON_DIR/canary" \
  "tsig-key:text,raw,raw-first16,raw-hex,raw-HEX,raw-first16-hex,base64url,escaped=$MON_DIR/canary" >"$MON_DIR/spec-canary.json"
scan "$MON_DIR/spec-canary.json"

# -- the corpus is the real thing --
# shellcheck disable=SC2034 # used in eval'ed checks
logs=("$MON_DIR"/s-[123]/sentinel.log "$MON_DIR"/s-[123]/sentinel.out)
# (no grep -q after a pipe: under pipefail the first grep's SIGPIPE would fail the pipeline)
check "the logs tell the failover to $NEW" eval 'grep -h "event=failover-end" "${logs[@]}" | grep "$NEW is the primary" >/dev/null'
check "the logs tell the switchover to $OTHER" eval 'grep -h -i "switchover" "${logs[@]}" | grep "$OTHER" >/dev/null'
check "the logs have the refused reloads (inline password, group-readable file, a too long password)" eval '[ "$(grep -h -c "reload refused" "$MON_DIR/s-1/sentinel.log")" -eq 3 ]'
check "the audit logs have a failover-run and a switchover-run" \
  eval 'grep -q "\"failover-run\"" "$MON_DIR"/s-*/state/audit.jsonl && grep -q "\"switchover-run\"" "$MON_DIR"/s-*/state/audit.jsonl'
check "the metrics after the failover count it (failovers_total)" \
  eval 'grep -h "^mariadb_sentinel_failovers_total" "$C"/http/s-*.1-failover._metrics | grep -v " 0$" >/dev/null'
check "/v1/status after the switchover names $OTHER the primary" \
  grep -q "\"primary\": *\"$OTHER\"" "$C/http/s-1.2-switchover._v1_status"
check "status --json after the failover names $NEW" grep -q "\"primary\": *\"$NEW\"" "$C/ctl/status-json.s-1.1-failover"
check "history (of the three) names the failover and the switchover" \
  eval 'cat "$C"/ctl/history.s-*.2-switchover | grep -i failover | grep "$NEW" >/dev/null && cat "$C"/ctl/history.s-*.2-switchover | grep -i switchover | grep "$OTHER" >/dev/null'
env_has() { grep -qz "^$2$" "$1"; }
f_end=$(compgen -G "$DUMP/hook.*.failover-end.*.env" | head -n 1)
check "a hook dump of failover-end has SENTINEL_EVENT=failover-end and SENTINEL_NEW_PRIMARY=$NEW ... ($f_end)" \
  eval 'env_has "$f_end" SENTINEL_EVENT=failover-end && env_has "$f_end" "SENTINEL_NEW_PRIMARY=$NEW $(host_of "$NEW"):$port"'
check "...and its stdin is the event's JSON" grep -q '"event": *"failover-end"' "${f_end%.env}.stdin"
f_cred=$(compgen -G "$DUMP/hook.s-[23].*.env" | head -n 1)
check "a hook of s-2/s-3 got CREDENTIALS_DIRECTORY (the path only) ($f_cred)" env_has "$f_cred" "CREDENTIALS_DIRECTORY=$CREDS"
n_hook=$(compgen -G "$DUMP/hook.*.env" | wc -l) n_exec=$(compgen -G "$DUMP/exec.*.env" | wc -l)
check "hook dumps: $n_hook calls, exec endpoint dumps: $n_exec calls" test "$n_hook" -ge 10 -a "$n_exec" -ge 2
n_bad=$(ls "$C"/check-config/bad-*.out | wc -l)
check "each of the $n_bad broken configs' refusals is one line starting 'mariadb-sentinel: '" \
  eval '[ "$(grep -l -c "^mariadb-sentinel: " "$C"/check-config/bad-*.out | wc -l)" -eq "$n_bad" ] && [ "$(cat "$C"/check-config/bad-*.out | grep -vc "^====")" -eq "$n_bad" ]'

# -- the search, one kind of source at a time --
kinds=()
add() { local k=$1 f; shift; for f in "$@"; do [ -f "$f" ] && kinds+=("$k=$f"); done; }
add log "$MON_DIR"/s-[123]/sentinel.log
add stdout "$MON_DIR"/s-[123]/sentinel.out
add audit "$MON_DIR"/s-[123]/state/audit.jsonl
while IFS= read -r f; do add state-dir "$f"; done < <(find "$MON_DIR"/s-[123]/state -type f ! -name audit.jsonl)
add ctl-status "$C"/ctl/status.* "$C"/ctl/status-json.*
add ctl-history-why "$C"/ctl/history.* "$C"/ctl/why.*
add ctl-ops "$C"/ops/*
add http-metrics "$C"/http/*._metrics
add http-status "$C"/http/*._v1_status
add http-other "$C"/http/*._health "$C"/http/*._v1_clusters_* "$C"/http/*._nope
add hook-env "$DUMP"/hook.*.env
add hook-args-stdin "$DUMP"/hook.*.args "$DUMP"/hook.*.stdin
add exec-env-args-stdin "$DUMP"/exec.*.env "$DUMP"/exec.*.args "$DUMP"/exec.*.stdin
add check-config "$C"/check-config/s-*.out
add check-config-errors "$C"/check-config/bad-*.out
spec absent "${kinds[@]}" >"$MON_DIR/spec-corpus.json"
scan "$MON_DIR/spec-corpus.json"

# -- no hook or exec child holds a secret file (or anything in the secret directories) open --
fds=$(cat "$DUMP"/*.fds | sed -n 's/.* \([0-9]*\) -> /\1 -> /p')
open_secrets=$(grep -E -- "-> ($SEC|$CREDS|$(dirname "$NAMED_KEY_FILE"))/" <<<"$fds" | sort -u)
check "no hook or exec child had a secret file open ($(wc -l <<<"$fds") fds in $(ls "$DUMP"/*.fds | wc -l) dumps)${open_secrets:+: $open_secrets}" \
  test -z "$open_secrets"
# dash's own: its script on fd 10, and on fd 11 the stdout it saved for the redirection (the same pipe as
# stderr); anything else beyond stdin/stdout/stderr was inherited from the sentinel
extra_fds=$(for f in "$DUMP"/*.fds; do
  sed -n 's/.* \([0-9]*\) -> /\1 -> /p' "$f" | awk -v me="$MON_DIR" '
    { fd = $1; sub(/^[0-9]+ -> /, ""); t[fd] = $0 }
    END { for (fd in t) if (fd > 2 && !(fd == 10 && t[fd] ~ "^" me "/dump-(hook|exec)$") && !(fd == 11 && t[fd] == t[2]))
            print fd " -> " t[fd] }'
done | sed 's/\[[0-9]*\]//' | sort | uniq -c)
check "hook and exec children inherit no fd beyond 0-2${extra_fds:+: ${extra_fds//$'\n'/; }}" test -z "$extra_fds"

bytes() { cat "$@" 2>/dev/null | wc -c; }
echo "    corpus: logs $(bytes "$MON_DIR"/s-*/sentinel.log "$MON_DIR"/s-*/sentinel.out) B, audit $(bytes "$MON_DIR"/s-*/state/audit.jsonl) B," \
  "state_dir $(find "$MON_DIR"/s-[123]/state -type f ! -name audit.jsonl -exec cat {} + | wc -c) B, sentinelctl $(bytes "$C"/ctl/* "$C"/ops/*) B," \
  "HTTP $(bytes "$C"/http/*) B, hook/exec dumps $(bytes "$DUMP"/*) B in $(ls "$DUMP" | wc -l) files," \
  "check-config $(bytes "$C"/check-config/*) B; ${#kinds[@]} files in all"
for i in 1 2 3; do check "s-$i has no sanitizer report" eval '! grep -qE "ERROR: (Address|Leak)Sanitizer|runtime error:" "$MON_DIR/s-$i/sentinel.log"'; done
echo "    FIGURE: test-secrets ran $((($(date +%s%N) - T_START) / 1000000)) ms"
mon_finish
