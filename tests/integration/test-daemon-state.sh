#!/usr/bin/env bash
# The daemon's start-up: it writes its state and audit log, exits cleanly on SIGTERM, refuses a
# bad reload and keeps running, and a truncated or corrupt state file stops it with a clear error
# instead of a silent reset.
set -uo pipefail
. "$(dirname "$0")/lib.sh"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/sentinel-daemon-state.XXXXXX")
pid=
cleanup() { [ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT
minimal_config "$tmp"
state="$tmp/state/state.json"

# wait_for COND_DESC TIMEOUT_S CMD...: poll CMD every 50 ms
wait_for() { local t=$(( $1 * 20 )); shift; while ((t-- > 0)); do "$@" && return 0; sleep 0.05; done; return 1; }

"$SENTINEL" --config "$tmp/sentinel.conf" 2>"$tmp/log1" &
pid=$!
check "first start writes state.json" wait_for 10 test -s "$state"
check "...and the audit log has sentinel-start" wait_for 10 grep -q '"sentinel-start"' "$tmp/state/audit.jsonl"
check "state.json is mode 0600" test "$(stat -c %a "$state")" = 600

# A second daemon on the same state_dir is refused (it could vote twice in one epoch).
timeout 20 "$SENTINEL" --config "$tmp/sentinel.conf" 2>"$tmp/log-second"; rc=$?
check "second daemon on the same state_dir: exit 1 (got $rc)" test "$rc" -eq 1
check "...saying the state directory is in use" grep -q "is in use by another" "$tmp/log-second"

# A broken config on reload is refused; the daemon keeps running with the old one.
cp "$tmp/sentinel.conf" "$tmp/sentinel.conf.good"
sed -i 's/quorum = 1;/quorum = 9;/' "$tmp/sentinel.conf"
kill -HUP "$pid"
check "bad reload is logged as refused" wait_for 10 grep -q "reload refused" "$tmp/log1"
check "...naming the line" grep -qE "sentinel.conf:[0-9]+: .*quorum" "$tmp/log1"
check "...and the daemon still runs" kill -0 "$pid"
cp "$tmp/sentinel.conf.good" "$tmp/sentinel.conf"
kill -HUP "$pid"
check "good reload is accepted" wait_for 10 grep -q "configuration reloaded" "$tmp/log1"

kill -TERM "$pid"; wait "$pid"; rc=$?; pid=
check "SIGTERM: exit 0 (got $rc)" test "$rc" -eq 0
check "audit log has sentinel-stop" grep -q '"sentinel-stop"' "$tmp/state/audit.jsonl"
check "every audit line is JSON" python3 -c 'import json,sys; [json.loads(l) for l in open(sys.argv[1])]' "$tmp/state/audit.jsonl"
sed 's/^/    /' "$tmp/log1"

# A second start keeps the same state.
cp "$state" "$tmp/state.good"
"$SENTINEL" --config "$tmp/sentinel.conf" 2>"$tmp/log2" & pid=$!
check "restart with a good state runs" wait_for 10 grep -q "started" "$tmp/log2"
kill -TERM "$pid"; wait "$pid"; pid=

# Truncated and corrupt state files stop the daemon: exit 1, one clear line, file untouched.
corrupt() {  # corrupt NAME WHY EDIT-COMMAND
  local name=$1 why=$2; shift 2
  cp "$tmp/state.good" "$state"; chmod 600 "$state"
  "$@"
  local before; before=$(md5sum <"$state")
  timeout 20 "$SENTINEL" --config "$tmp/sentinel.conf" 2>"$tmp/log-$name"; local rc=$?
  check "$name state: exit 1 (got $rc)" test "$rc" -eq 1
  check "$name state: says why ($why) and refuses to start: $(head -c 200 "$tmp/log-$name")" \
    grep -q "$why.*refusing to start" "$tmp/log-$name"
  check "$name state: the file was not reset" test "$(md5sum <"$state")" = "$before"
}
corrupt truncated truncated truncate -s $(( $(stat -c %s "$tmp/state.good") / 2 )) "$state"
corrupt empty empty truncate -s 0 "$state"
corrupt flipped checksum sed -i 's/"version"/"versiom"/' "$state"
corrupt garbage truncated bash -c 'printf "\x00\x01garbage" >"$1"' _ "$state"

finish
