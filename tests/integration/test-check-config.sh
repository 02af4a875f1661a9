#!/usr/bin/env bash
# mariadb-sentinel --check-config: the shipped example passes (with dummy secrets in a
# credentials directory), broken configs exit 2 with one FILE:LINE: line, secrets never print.
set -uo pipefail
. "$(dirname "$0")/lib.sh"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/sentinel-check-config.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

# The example, with dummy secrets provided the way systemd's LoadCredential= provides them.
creds="$tmp/creds"; mkdir -m 0700 "$creds"
for s in main.password main.repl-password peer.key; do write_secret "$creds" "$s" "dummy-$s-value"; done
write_tsig_key "$creds" tsig.key
for f in "$SOURCE_ROOT"/config/*.conf.example; do
  for s in $(grep -oE '_file *= *"[^"/]+"' "$f" | sed -E 's/.*"([^"]+)"/\1/' | sort -u); do
    [ -e "$creds/$s" ] || write_secret "$creds" "$s" "dummy-$s-value"
  done
done
out=$(CREDENTIALS_DIRECTORY=$creds "$SENTINEL" --check-config --config "$SOURCE_ROOT/config/mariadb-sentinel.conf.example" 2>&1)
rc=$?
check "example config passes --check-config (exit $rc)" test "$rc" -eq 0
echo "$out" | sed 's/^/    /'
check "summary names the three sentinels" bash -c 'grep -q az-a <<<"$1" && grep -q az-b <<<"$1" && grep -q az-c <<<"$1"' _ "$out"
check "summary names the servers" bash -c 'grep -q db-a <<<"$1" && grep -q db-b <<<"$1" && grep -q db-c <<<"$1"' _ "$out"
check "summary shows no secret" bash -c '! grep -q "dummy-" <<<"$1"' _ "$out"
check "summary shows no TSIG secret" bash -c '! grep -qF "$(grep secret "$2" | cut -d\" -f2)" <<<"$1"' _ "$out" "$creds/tsig.key"

# Without the credentials, the example names the missing file on its line.
out=$(cd "$tmp" && "$SENTINEL" --check-config --config "$SOURCE_ROOT/config/mariadb-sentinel.conf.example" 2>&1)
rc=$?
check "missing secret: exit 2 (got $rc)" test "$rc" -eq 2
check "missing secret: one line FILE:LINE: ($out)" bash -c '[[ $(wc -l <<<"$1") -eq 1 && "$1" =~ ^mariadb-sentinel:\ .*mariadb-sentinel\.conf\.example:[0-9]+:\  ]]' _ "$out"

# A broken config of our own: a wrong key on a known line.
minimal_config "$tmp"
sed -i 's/quorum = 1;/quorom = 1;/' "$tmp/sentinel.conf"
line=$(grep -n quorom "$tmp/sentinel.conf" | cut -d: -f1)
out=$("$SENTINEL" --check-config --config "$tmp/sentinel.conf" 2>&1); rc=$?
check "unknown key: exit 2" test "$rc" -eq 2
check "unknown key: $out" bash -c '[[ "$1" == "mariadb-sentinel: $2:$3: "* && "$1" == *"quorum"* ]]' _ "$out" "$tmp/sentinel.conf" "$line"

# Syntax error
minimal_config "$tmp"
sed -i '3s/.*/  zone = "zone-a"  oops;/' "$tmp/sentinel.conf"
out=$("$SENTINEL" --check-config --config "$tmp/sentinel.conf" 2>&1); rc=$?
check "syntax error: exit 2 with FILE:3: ($out)" bash -c '[[ $2 -eq 2 && "$1" == *"sentinel.conf:3: "*"syntax error"* ]]' _ "$out" "$rc"

# Secret readable by others
minimal_config "$tmp"
chmod 0644 "$tmp/main.password"
out=$("$SENTINEL" --check-config --config "$tmp/sentinel.conf" 2>&1); rc=$?
check "group/other-readable secret refused: exit 2 ($out)" bash -c '[[ $2 -eq 2 && "$1" == *main.password* ]]' _ "$out" "$rc"
check "...and its content is not printed" bash -c '! grep -qF "$(cat "$2")" <<<"$1"' _ "$out" "$tmp/main.password"

# Missing config file
out=$("$SENTINEL" --check-config --config "$tmp/nope.conf" 2>&1); rc=$?
check "missing config: exit 2 ($out)" bash -c '[[ $2 -eq 2 && "$1" == *nope.conf* ]]' _ "$out" "$rc"

# Usage errors
"$SENTINEL" --bogus >/dev/null 2>&1; rc=$?
check "unknown option: exit 2" test "$rc" -eq 2
out=$("$SENTINEL" --version); check "--version ($out)" bash -c '[[ "$1" == "mariadb-sentinel "[0-9]* ]]' _ "$out"
check "--help mentions --check-config" bash -c '"$1" --help | grep -q -- --check-config' _ "$SENTINEL"

# sentinelctl: usage errors exit 2, an absent daemon exits 3 with one line.
"$SENTINELCTL" frobnicate >/dev/null 2>&1; rc=$?
check "sentinelctl unknown verb: exit 2" test "$rc" -eq 2
"$SENTINELCTL" failover main >/dev/null 2>&1; rc=$?
check "sentinelctl failover without --force: exit 2" test "$rc" -eq 2
out=$("$SENTINELCTL" --config "$tmp/sentinel.conf" status 2>&1); rc=$?
check "sentinelctl with the daemon down: exit 3 ($out)" bash -c '[[ $2 -eq 3 && "$1" == *"$3/control.sock"* && $(wc -l <<<"$1") -eq 1 ]]' _ "$out" "$rc" "$tmp"

finish
