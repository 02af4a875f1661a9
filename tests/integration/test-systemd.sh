#!/usr/bin/env bash
# The systemd side of the sentinel:
#  1. `meson install --destdir` puts every file meson plans to install in place (the programs, the
#     unit, its sysusers.d user, the examples, the hooks, the man pages), the unit matches the
#     config's defaults and the build's paths, and `systemd-analyze verify` passes on the installed
#     unit as an instance, plain and with the VIP drop-in, without a single warning about it;
#     `systemd-analyze security --offline` shows the drop-in grants CAP_NET_ADMIN, ambient
#     capabilities and AF_PACKET, and the plain unit none of them.
#  2. The daemon as systemd runs it (NOTIFY_SOCKET, WATCHDOG_USEC, WATCHDOG_PID its own PID):
#     READY=1 with STATUS=, then WATCHDOG=1 pings from the loop; none for a WATCHDOG_PID that is
#     not its own (as sd_watchdog_enabled() wants).
#  3. Secrets from $CREDENTIALS_DIRECTORY, named bare in the config and absent beside it: used (the
#     daemon probes the cluster with them), also when written as systemd writes them on tmpfs (mode
#     0400 plus an ACL for the service's user, which shows as 0440); without the credential, or with
#     one another user may read, a one-line refusal and exit 2.
# Exit 77 only when systemd-analyze is not installed (scripts/bootstrap installs it: package systemd).
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
. "$here/lib.sh"
# shellcheck source=../harness/mdb-harness.sh
. "$here/../harness/mdb-harness.sh"

if ! command -v systemd-analyze >/dev/null; then
  echo "SKIP: systemd-analyze is not installed (Debian package systemd)"
  exit 77
fi
if [ ! -x "$SENTINEL" ] || [ ! -x "$SENTINELCTL" ]; then echo "FAIL: $SENTINEL or $SENTINELCTL is not built"; exit 1; fi
mdb_trap_teardown
mon_init sentinel-systemd || exit 1

# ---- 1. meson install --destdir; the installed unit ----
dest=$MON_DIR/dest
meson install -C "$BUILD_ROOT" --no-rebuild --destdir "$dest" >"$MON_DIR/install.log" 2>&1; rc=$?
check "meson install --destdir: exit 0 (got $rc)" test "$rc" -eq 0
[ "$rc" -eq 0 ] || sed 's/^/    | /' "$MON_DIR/install.log"
# Every file meson plans to install, as (source, installed path) lines.
meson introspect --installed "$BUILD_ROOT" | python3 -c '
import json, sys
for src, dst in sorted(json.load(sys.stdin).items()):
    print(src + "\t" + dst)
' >"$MON_DIR/installed"
missing=$(while IFS=$'\t' read -r src dst; do
  if [ -d "$src" ]; then   # an install_subdir: each of its files
    (cd "$src" && find . -type f ! -path '*/__pycache__/*') | while read -r f; do
      [ -f "$dest$dst/${f#./}" ] || echo "$dest$dst/${f#./}"
    done
  elif [ ! -f "$dest$dst" ]; then echo "$dest$dst"; fi
done <"$MON_DIR/installed")
check "every file of the install plan ($(wc -l <"$MON_DIR/installed") entries) is under the destdir${missing:+; missing: $missing}" \
  test -z "$missing"
installed() { PAT=$1 awk -F'\t' '$1 ~ ENVIRON["PAT"] { print $2; exit }' "$MON_DIR/installed"; }
unit_path=$(installed '/mariadb-sentinel@\.service$')
daemon_path=$(installed '/sentinel/mariadb-sentinel$')
sysusers_path=$(installed '/sysusers\.d/mariadb-sentinel\.conf$')
check "the unit goes to a systemd unit directory: $unit_path" \
  test -n "$unit_path" -a "${unit_path%/lib/systemd/system/mariadb-sentinel@.service}" != "$unit_path"
check "the sysusers.d file goes to a sysusers.d directory: $sysusers_path" \
  test -n "$sysusers_path" -a "${sysusers_path%/sysusers.d/mariadb-sentinel.conf}" != "$sysusers_path"
check "the example config and the VIP drop-in go to the documentation's examples" \
  bash -c 'grep -q "/examples/mariadb-sentinel.conf.example$" "$1" && grep -q "/examples/vip.conf.example$" "$1"' _ "$MON_DIR/installed"
check "the installed daemon runs: $("$dest$daemon_path" --version 2>&1)" "$dest$daemon_path" --version
if [ -d "$SOURCE_ROOT/scripts/hooks" ]; then
  hooks_dst=$(installed '/scripts/hooks$')
  bad=$(cd "$SOURCE_ROOT/scripts/hooks" && for f in *; do
    [ -f "$f" ] || continue
    [ "$(stat -c %a "$f")" = "$(stat -c %a "$dest$hooks_dst/$f" 2>/dev/null)" ] || echo "$f"
  done)
  check "the hooks (scripts/hooks/*) are installed to $hooks_dst with their modes${bad:+; not: $bad}" \
    test -n "$hooks_dst" -a -z "$bad"
else
  echo "note: no scripts/hooks directory: no hooks to install"
fi

unit=$dest$unit_path
key() { sed -n "s/^$1=//p" "$unit"; }
conf_dir=$(sed -n 's/^#define SENTINEL_DEFAULT_CONFIG "\(.*\)\/[^/]*"$/\1/p' "$BUILD_ROOT/sentinel-build.h")
check "ExecStart is the installed daemon with the build's config directory: $(key ExecStart)" \
  test "$(key ExecStart)" = "$daemon_path --config $conf_dir/%i.conf"
check "Type=notify, WatchdogSec=30s, NotifyAccess=main, Restart=on-failure" \
  test "$(key Type) $(key WatchdogSec) $(key NotifyAccess) $(key Restart)" = "notify 30s main on-failure"
# The directories systemd makes must be the config's defaults for a sentinel named after the instance.
write_secret "$MON_DIR" pw
cat >"$MON_DIR/defaults.conf" <<CONF
sentinel = { name = "az-a"; zone = "z"; };
clusters = ( { name = "main"; quorum = 1; user = "u"; password_file = "$MON_DIR/pw"; replication_user = "r";
  replication_password_file = "$MON_DIR/pw"; servers = ( { name = "a"; host = "127.0.0.1"; zone = "z"; },
  { name = "b"; host = "127.0.0.2"; zone = "z"; } ); } );
CONF
summary=$("$SENTINEL" --check-config --config "$MON_DIR/defaults.conf" 2>&1)
state_default=$(sed -n 's/^  state dir *//p' <<<"$summary")
socket_default=$(sed -n 's/^  control socket *//p' <<<"$summary")
check "StateDirectory=$(key StateDirectory) is the default state_dir of sentinel az-a ($state_default)" \
  test "/var/lib/$(key StateDirectory | sed 's/%i/az-a/')" = "$state_default"
check "RuntimeDirectory=$(key RuntimeDirectory) holds the default control_socket of az-a ($socket_default)" \
  test "/run/$(key RuntimeDirectory)/az-a.sock" = "$socket_default"
check "...and is kept when one instance stops (RuntimeDirectoryPreserve=yes: it is shared)" \
  test "$(key RuntimeDirectoryPreserve)" = yes
user=$(key User)
check "User=$user and Group=$(key Group) are the user the sysusers.d file creates" \
  bash -c '[ "$1" = "$2" ] && grep -qE "^u $1 " "$3"' _ "$user" "$(key Group)" "$dest$sysusers_path"
if command -v systemd-sysusers >/dev/null; then
  mkdir -p "$MON_DIR/root/etc"
  systemd-sysusers --root="$MON_DIR/root" "$dest$sysusers_path" >/dev/null 2>&1
  check "systemd-sysusers creates $user with a nologin shell from it: $(grep "^$user:" "$MON_DIR/root/etc/passwd")" \
    grep -qE "^$user:x:[0-9]+:[0-9]+:.*:/usr/sbin/nologin$" "$MON_DIR/root/etc/passwd"
fi
check "hardening: ProtectSystem=strict ProtectHome=yes PrivateTmp=yes NoNewPrivileges=yes" \
  test "$(key ProtectSystem) $(key ProtectHome) $(key PrivateTmp) $(key NoNewPrivileges)" = "strict yes yes yes"
check "...RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6 AF_NETLINK, SystemCallFilter=@system-service" \
  test "$(key RestrictAddressFamilies)|$(key SystemCallFilter)" = "AF_UNIX AF_INET AF_INET6 AF_NETLINK|@system-service"
check "...no capabilities: CapabilityBoundingSet= and AmbientCapabilities= empty" \
  test "$(grep -cxE 'CapabilityBoundingSet=|AmbientCapabilities=' "$unit")" -eq 2
check "LoadCredential= for peer.key, tsig.key, pagerduty.key from the credential store" \
  test "$(key LoadCredential | tr '\n' ' ')" = "peer.key:mariadb-sentinel.peer.key tsig.key:mariadb-sentinel.tsig.key pagerduty.key:mariadb-sentinel.pagerduty.key "

# systemd-analyze needs ExecStart= to exist: a copy of the unit whose ExecStart= is the destdir's
# daemon. The man pages of Documentation= are looked up in the destdir's (not built: --man=no).
units=$MON_DIR/units
mkdir -p "$units/mariadb-sentinel@az-v.service.d"
sed "s|^ExecStart=$daemon_path |ExecStart=$dest$daemon_path |" "$unit" >"$units/mariadb-sentinel@.service"
cp "$dest$(installed '/vip\.conf\.example$')" "$units/mariadb-sentinel@az-v.service.d/vip.conf"
man_dir=$(awk -F'\t' '$2 ~ /\/man\/man8\/mariadb-sentinel\.8$/ { print $2 }' "$MON_DIR/installed")
man_opt=--man=yes
if [ -n "$man_dir" ]; then export MANPATH=$dest${man_dir%/man8/*}
else man_opt=--man=no; echo "note: no man pages in this build (scdoc missing): Documentation= not checked"; fi
for inst in az-a az-v; do
  out=$(systemd-analyze verify "$man_opt" "$units/mariadb-sentinel@$inst.service" 2>&1); rc=$?
  [ -z "$out" ] || sed 's/^/    | /' <<<"$out"
  check "systemd-analyze verify mariadb-sentinel@$inst.service$([ $inst = az-v ] && echo ' (with vip.conf)'): exit 0 (got $rc)" \
    test "$rc" -eq 0
  check "...and not one line about the unit" bash -c '! grep -q mariadb-sentinel <<<"$1"' _ "$out"
  systemd-analyze security --offline=yes "$units/mariadb-sentinel@$inst.service" >"$MON_DIR/security-$inst" 2>&1
  grep -m1 'Overall exposure' "$MON_DIR/security-$inst" | sed 's/^/    /'
done
sec() { grep -qF -- "$1 $2 " "$MON_DIR/security-$3"; }   # sec ✓|✗ SETTING INSTANCE
for what in 'CapabilityBoundingSet=~CAP_NET_ADMIN' 'AmbientCapabilities=' 'RestrictAddressFamilies=~AF_PACKET'; do
  sec ✓ "$what" az-a && sec ✗ "$what" az-v; rc=$?
  check "systemd-analyze security: $what ✓ for the plain unit, ✗ with the VIP drop-in" test "$rc" -eq 0
done
check "...and exotic address families stay closed with the drop-in" sec ✓ 'RestrictAddressFamilies=~…' az-v

# ---- 2. NOTIFY_SOCKET and the watchdog, as under systemd ----
mdb_cluster_up 2 >/dev/null || exit 1
mon_notify_listen || exit 1
MON_AUTO=false mon_write_config demo
# start_as_service WATCHDOG_PID_EXPR: the daemon with NOTIFY_SOCKET and a 1 s watchdog; WATCHDOG_PID is
# the expression evaluated in the shell that execs it ($$: the daemon itself). Extra variables for
# the daemon: START_ENV (one NAME=VALUE); its config: START_CONF (default MON_CONF).
start_as_service() {
  MON_T0=$(date +%s%N)
  env ${START_ENV:+"$START_ENV"} NOTIFY_SOCKET="$MON_DIR/notify.sock" WATCHDOG_USEC=1000000 \
    bash -c "export WATCHDOG_PID=$1; exec \"\$0\" --config \"\$1\"" "$SENTINEL" "${START_CONF:-$MON_CONF}" 2>>"$MON_LOG" &
  MON_PID=$!
}
start_as_service '$$'
check "READY=1 on NOTIFY_SOCKET" mon_wait 10 grep -qx 'READY=1' "$MON_NOTIFY"
check "STATUS=demo: healthy, primary db-1 ($(grep -m1 '^STATUS=' "$MON_NOTIFY"))" \
  mon_wait 5 grep -qx 'STATUS=demo: healthy, primary db-1' "$MON_NOTIFY"
check "WATCHDOG=1 from the loop, with WATCHDOG_PID the daemon's PID $MON_PID" \
  mon_wait 5 grep -qx 'WATCHDOG=1' "$MON_NOTIFY"
n0=$(grep -cx 'WATCHDOG=1' "$MON_NOTIFY"); sleep 3; n1=$(grep -cx 'WATCHDOG=1' "$MON_NOTIFY")
check "...at least every 3/4 of WATCHDOG_USEC=1 s: $((n1 - n0)) pings in 3 s (want >= 3)" test $((n1 - n0)) -ge 3
mon_require_alive "under the watchdog"
mon_stop
check "SIGTERM: exit 0 (got $MON_RC), STOPPING=1 sent" \
  bash -c '[ "$1" = 0 ] && grep -qx STOPPING=1 "$2"' _ "$MON_RC" "$MON_NOTIFY"
: >"$MON_NOTIFY"
start_as_service 1   # the watchdog belongs to another process (PID 1): not ours to ping
check "WATCHDOG_PID=1: READY=1 still arrives" mon_wait 10 grep -qx 'READY=1' "$MON_NOTIFY"
sleep 1.5
check "...but no WATCHDOG=1 in 1.5 s" bash -c '! grep -qx WATCHDOG=1 "$1"' _ "$MON_NOTIFY"
mon_stop

# ---- 3. secrets from $CREDENTIALS_DIRECTORY ----
cdir=$MON_DIR/creds-conf creds=$MON_DIR/credentials
mkdir -p "$cdir" && mkdir -m 0700 "$creds"
# As systemd writes them: read-only for the owner.
(umask 077; cat "$MDB_SENTINEL_PASSWORD_FILE" >"$creds/main.password"; cat "$MDB_REPL_PASSWORD_FILE" >"$creds/main.repl-password")
write_secret "$creds" peer.key
write_tsig_key "$creds" tsig.key
chmod 0400 "$creds"/*
{
  printf 'sentinel = {\n  name = "cred-a";\n  zone = "zone-1";\n  control_socket = "%s";\n  state_dir = "%s";\n' \
    "$MON_SOCK" "$MON_DIR/state-creds"
  printf '  peer_secret_file = "peer.key";\n};\nclusters = (\n  {\n    name = "demo";\n    quorum = 1;\n'
  printf '    user = "%s";\n    password_file = "main.password";\n' "$MDB_SENTINEL_USER"
  printf '    replication_user = "%s";\n    replication_password_file = "main.repl-password";\n' "$MDB_REPL_USER"
  printf '    servers = (\n'
  printf '      { name = "db-1"; host = "%s"; port = %s; zone = "zone-1"; },\n' "$MDB_HOST_1" "$MDB_PORT_1"
  printf '      { name = "db-2"; host = "%s"; port = %s; zone = "zone-2"; }\n    );\n' "$MDB_HOST_2" "$MDB_PORT_2"
  printf '    probe = { interval_ms = 200; timeout_ms = 200; down_after_ms = 1000; };\n'
  printf '    failover = { auto = false; };\n    fencing = { self_fence_after_ms = 600; };\n'
  printf '    endpoints = ( { type = "dns"; server = "127.0.0.1:53"; zone = "db.test."; name = "primary.db.test.";\n'
  printf '      tsig_key_file = "tsig.key"; } );\n  }\n);\n'
} >"$cdir/sentinel.conf"
line_pw=$(grep -n 'password_file = "main.password"' "$cdir/sentinel.conf" | cut -d: -f1)
line_peer=$(grep -n 'peer_secret_file = "peer.key"' "$cdir/sentinel.conf" | cut -d: -f1)
check "the config names its secrets bare, and none of them is beside it" \
  bash -c 'for f in main.password main.repl-password peer.key tsig.key; do grep -q "\"$f\"" "$1/sentinel.conf" && [ ! -e "$1/$f" ] || exit 1; done' _ "$cdir"

summary=$(CREDENTIALS_DIRECTORY=$creds "$SENTINEL" --check-config --config "$cdir/sentinel.conf" 2>&1); rc=$?
sed 's/^/    | /' <<<"$summary"
check "--check-config with \$CREDENTIALS_DIRECTORY: exit 0 (got $rc)" test "$rc" -eq 0
for pat in "peer secret +$creds/peer.key" "user .*password from $creds/main.password" \
  "replication .*password from $creds/main.repl-password" "tsig key .*from $creds/tsig.key"; do
  check "...reads ${pat##*/} from the credentials directory" grep -qE "$pat" <<<"$summary"
done

# systemd on tmpfs: mode 0400, owner root, plus an ACL entry for the service's user (here: us).
acl() {  # acl FILE UID: user::r--, user:UID:r--, group::---, mask::r--, other::---
  python3 -c '
import os, struct, sys
e = [(0x01, 4, 0xffffffff), (0x02, 4, int(sys.argv[2])), (0x04, 0, 0xffffffff), (0x10, 4, 0xffffffff), (0x20, 0, 0xffffffff)]
os.setxattr(sys.argv[1], "system.posix_acl_access", struct.pack("<I", 2) + b"".join(struct.pack("<HHI", *x) for x in e))
' "$1" "$2"
}
if acl "$creds/main.password" "$(id -u)" 2>"$MON_DIR/acl.err"; then
  check "main.password carries an ACL for us: mode $(stat -c %a "$creds/main.password"), as systemd writes it on tmpfs" \
    test "$(stat -c %a "$creds/main.password")" = 440
else
  echo "note: no ACLs on $creds ($(cat "$MON_DIR/acl.err")): the credential stays mode 0400"
fi
START_ENV="CREDENTIALS_DIRECTORY=$creds" START_CONF=$cdir/sentinel.conf start_as_service '$$'
check "the daemon starts on the credentials: READY=1" mon_wait 10 grep -qx 'READY=1' "$MON_NOTIFY"
ms=$(mon_q wait 'c["primary"] == "db-1" and all(s["reachable"] for s in c["servers"])' 10000 '' \
  '[c.get("primary"), [(s["name"], s["reachable"], s["error"]) for s in c.get("servers", [])]]'); rc=$?
check "...and logs in with them: status shows the primary db-1, every server reachable ($ms ms)" test "$rc" -eq 0
check "...the state is healthy ($(mon_q get 'c["state"]'))" mon_q true 'c["state"] == "healthy"'
mon_stop
check "...SIGTERM: exit 0 (got $MON_RC)" test "$MON_RC" = 0

# refused DESCRIPTION GLOB [VAR=VALUE...]: the daemon (with those variables) exits 2 at once with one
# line on stderr matching GLOB
refused() {
  local what=$1 glob=$2 out rc; shift 2
  out=$(env "$@" timeout 20 "$SENTINEL" --config "$cdir/sentinel.conf" 2>&1 >/dev/null); rc=$?
  check "$what: exit 2 (got $rc)" test "$rc" -eq 2
  check "...one line: $out" mon_one_line "$out" "$glob"
}
mv "$creds/main.password" "$MON_DIR/main.password.away"
refused "main.password not in \$CREDENTIALS_DIRECTORY nor beside the config" \
  "mariadb-sentinel: $cdir/sentinel.conf:$line_pw: *password_file*cannot open secret file $cdir/main.password: No such file or directory (not in \$CREDENTIALS_DIRECTORY $creds either)" \
  CREDENTIALS_DIRECTORY="$creds"
refused "without \$CREDENTIALS_DIRECTORY, the first secret (peer.key) is not found beside the config" \
  "mariadb-sentinel: $cdir/sentinel.conf:$line_peer: sentinel.peer_secret_file: cannot open secret file $cdir/peer.key: No such file or directory" \
  -u CREDENTIALS_DIRECTORY
mv "$MON_DIR/main.password.away" "$creds/main.password"
if acl "$creds/main.password" 65534 2>/dev/null; then
  refused "a credential whose ACL lets another user (65534) read it" \
    "mariadb-sentinel: $cdir/sentinel.conf:$line_pw: *secret file $creds/main.password is accessible by group or others (mode 0440)*" \
    CREDENTIALS_DIRECTORY="$creds"
fi
check "the daemon's stderr has no sanitizer report" mon_sanitizer_clean

mon_finish
