# Shared helpers for the integration tests (sourced). Needs BUILD_ROOT and SOURCE_ROOT.
: "${SOURCE_ROOT:=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
: "${BUILD_ROOT:=$SOURCE_ROOT/build}"
SENTINEL="$BUILD_ROOT/sentinel/mariadb-sentinel"
SENTINELCTL="$BUILD_ROOT/sentinel/sentinelctl"

_fails=0
_passes=0
pass() { echo "ok: $*"; _passes=$((_passes + 1)); }
fail() { echo "FAIL: $*"; _fails=$((_fails + 1)); }
# check DESCRIPTION COMMAND...: passes when the command succeeds
check() { local d=$1; shift; if "$@"; then pass "$d"; else fail "$d"; fi; }
finish() {
  echo "$_passes passed, $_fails failed"
  [ "$_fails" -eq 0 ] && [ "$_passes" -gt 0 ]
}

# write_secret DIR NAME [CONTENT]: a 0600 secret file
write_secret() {
  ( umask 077; printf '%s\n' "${3:-secret-$2-$RANDOM$RANDOM}" >"$1/$2" )
}

# write_tsig_key DIR NAME: a BIND key file for hmac-sha256
write_tsig_key() {
  ( umask 077; printf 'key "sentinel-key" {\n\talgorithm hmac-sha256;\n\tsecret "%s";\n};\n' \
      "$(head -c 32 /dev/urandom | base64)" >"$1/$2" )
}

# minimal_config DIR: a one-sentinel config with its secrets, state in DIR/state
minimal_config() {
  local dir=$1
  write_secret "$dir" main.password
  write_secret "$dir" main.repl-password
  cat >"$dir/sentinel.conf" <<CONF
sentinel = {
  name = "az-a";
  zone = "zone-a";
  control_socket = "$dir/control.sock";
  state_dir = "$dir/state";
};
clusters = (
  {
    name = "main";
    quorum = 1;
    user = "sentinel";
    password_file = "main.password";
    replication_user = "repl";
    replication_password_file = "main.repl-password";
    servers = (
      { name = "db-a"; host = "127.0.0.1"; port = 3306; zone = "zone-a"; },
      { name = "db-b"; host = "127.0.0.1"; port = 3307; zone = "zone-b"; }
    );
  }
);
CONF
}

# ---- Monitor tests (test-monitor*.sh): one sentinel watching a harness cluster ----
# Needs tests/harness/mdb-harness.sh sourced, mdb_trap_teardown armed and mdb_cluster_up done.
# Everything of the sentinel's lives in MON_DIR (config, state and audit log, its stderr, the hook's
# records, the NOTIFY_SOCKET listener's datagrams); mon_cleanup, run from the harness's exit trap
# (also on failure or SIGTERM), kills every process started here by PID and removes MON_DIR.

# mon_init NAME: MON_DIR and the file names, the cleanup, the hook script
# mon_free_port [NOT...]: prints a port in 20000..31999 (below Linux's ephemeral range) that no TCP or
# UDP socket on this machine uses and that is none of NOT; 1 when 200 tries found none.
# mon_free_port_in LOW SPAN [NOT...]: the same in LOW..LOW+SPAN-1.
mon_free_port() { mon_free_port_in 20000 12000 "$@"; }
mon_free_port_in() {
  local p lo=$1 span=$2
  shift 2
  for _ in $(seq 200); do
    p=$((lo + ${SRANDOM:-$((RANDOM * 32768 + RANDOM))} % span))
    [[ " $* " == *" $p "* ]] && continue
    [ -z "$(ss -Htuan "( sport = :$p )" 2>/dev/null)" ] && { echo "$p"; return 0; }
  done
  return 1
}

mon_init() {
  MON_DIR=$(mktemp -d "${TMPDIR:-/tmp}/$1.XXXXXX") || return 1
  MON_CONF=$MON_DIR/sentinel.conf
  MON_SOCK=$MON_DIR/control.sock
  MON_LOG=$MON_DIR/sentinel.log
  MON_AUDIT=$MON_DIR/state/audit.jsonl
  MON_HOOKS=$MON_DIR/hooks.log
  MON_NOTIFY=$MON_DIR/notify.log
  MON_PID='' MON_RC='' MON_PIDS=() MON_FINISHED=''
  : >"$MON_LOG"; : >"$MON_HOOKS"; : >"$MON_NOTIFY"
  mdb_on_exit mon_cleanup
  # The hook appends its SENTINEL_* environment and its stdin (the event's JSON) in one write.
  cat >"$MON_DIR/hook" <<HOOK
#!/bin/sh
rec=\$(env | grep '^SENTINEL_' | sort; echo '--- stdin'; cat; echo; echo '--- end')
printf '%s\n' "\$rec" >>"$MON_HOOKS"
HOOK
  chmod 0755 "$MON_DIR/hook"
}

# mon_cleanup: the sentinel (TERM, then KILL after 5 s), every other PID in MON_PIDS, MON_DIR.
# Shows the sentinel's log when the test failed or did not get to mon_finish.
mon_cleanup() {
  local p
  if [ -n "${MON_PID:-}" ]; then
    kill -TERM "$MON_PID" 2>/dev/null
    for _ in $(seq 100); do _mon_alive "$MON_PID" || break; sleep 0.05; done
    kill -KILL "$MON_PID" 2>/dev/null
    wait "$MON_PID" 2>/dev/null
    MON_PID=''
  fi
  for p in "${MON_PIDS[@]}"; do kill -KILL "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
  MON_PIDS=()
  if [ -z "${MON_FINISHED:-}" ] || [ "${_fails:-0}" -gt 0 ]; then
    if ! mon_sanitizer_clean 2>/dev/null; then
      echo "--- sanitizer report in the sentinel log, $MON_LOG:"
      grep -m1 -A 70 -E 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$MON_LOG" | sed 's/^/    /'
    else
      echo "--- sentinel log (tail), $MON_LOG:"; tail -n 80 "$MON_LOG" 2>/dev/null | sed 's/^/    /'
    fi
  fi
  [ -z "${MON_DIR:-}" ] || rm -rf "$MON_DIR"
  true
}

# mon_sentinel_block [STATE_DIR]: the single sentinel's section (mon-a in zone-1, MON_SOCK, state in
# STATE_DIR, default MON_DIR/state)
mon_sentinel_block() {
  printf 'sentinel = {\n  name = "mon-a";\n  zone = "zone-1";\n  control_socket = "%s";\n  state_dir = "%s";\n};\n' \
    "$MON_SOCK" "${1:-$MON_DIR/state}"
}

# mon_cluster_head NAME: the start of a cluster block over the harness's servers db-1..db-N (zones
# zone-1..N): name, quorum 1, the accounts and the servers list; the caller adds the rest and "}"
mon_cluster_head() {
  local i h p sep
  cat <<BLOCK
  {
    name = "$1";
    quorum = 1;
    user = "$MDB_SENTINEL_USER";
    password_file = "$MDB_SENTINEL_PASSWORD_FILE";
    replication_user = "$MDB_REPL_USER";
    replication_password_file = "$MDB_REPL_PASSWORD_FILE";
    servers = (
BLOCK
  for ((i = 1; i <= MDB_N; i++)); do
    h=MDB_HOST_$i p=MDB_PORT_$i sep=,
    [ "$i" -lt "$MDB_N" ] || sep=
    printf '      { name = "db-%s"; host = "%s"; port = %s; zone = "zone-%s"; }%s\n' "$i" "${!h}" "${!p}" "$i" "$sep"
  done
  printf '    );\n'
}

# mon_cluster_block NAME: mon_cluster_head, the probe and fencing timings of the monitor tests, and
# the recording hook for every event; automatic failover unless MON_AUTO=false (the monitor tests
# watch a dead primary stay dead)
mon_cluster_block() {
  mon_cluster_head "$1"
  cat <<BLOCK
    probe = { interval_ms = 200; timeout_ms = 200; down_after_ms = 1000; };
    failover = { auto = ${MON_AUTO:-true}; };
    fencing = { self_fence_after_ms = 600; };
    hooks = ( { command = "$MON_DIR/hook"; events = [ "*" ]; timeout_ms = 5000; } );
  }
BLOCK
}

# mon_write_config CLUSTER[=DIR]...: MON_CONF with one cluster block per name, over the servers of the
# current harness cluster or of the one in DIR (a server may belong to one cluster only)
mon_write_config() {
  local n sep=''
  {
    mon_sentinel_block
    printf 'clusters = (\n'
    for n in "$@"; do
      printf '%s' "$sep"; sep=,
      if [[ $n == *=* ]]; then (mdb_cluster_load "${n#*=}" && mon_cluster_block "${n%%=*}"); else mon_cluster_block "$n"; fi
    done
    printf ');\n'
  } >"$MON_CONF.tmp" && mv "$MON_CONF.tmp" "$MON_CONF"
}

# mon_notify_listen: an AF_UNIX datagram socket at MON_DIR/notify.sock appending what it receives to
# MON_NOTIFY (one line per assignment); its PID joins MON_PIDS
mon_notify_listen() {
  python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
with open(sys.argv[2], "ab", buffering=0) as f:
    while True:
        f.write(s.recv(65536).rstrip(b"\n") + b"\n")
' "$MON_DIR/notify.sock" "$MON_NOTIFY" &
  MON_PIDS+=("$!")
  for _ in $(seq 100); do [ -S "$MON_DIR/notify.sock" ] && return 0; sleep 0.05; done
  echo "mon_notify_listen: no socket after 5 s" >&2
  return 1
}

# mon_start: the daemon on MON_CONF (stderr appended to MON_LOG), NOTIFY_SOCKET and a watchdog set;
# MON_PID, MON_T0 (ns since the epoch)
mon_start() {
  MON_T0=$(date +%s%N)
  NOTIFY_SOCKET=$MON_DIR/notify.sock WATCHDOG_USEC=2000000 "$SENTINEL" --config "$MON_CONF" 2>>"$MON_LOG" &
  MON_PID=$!
}

# _mon_alive PID: the process exists and is not a zombie (an unreaped child still answers kill -0)
_mon_alive() { [ -r "/proc/$1/stat" ] && [ "$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -c1)" != Z ]; }

# mon_stop: SIGTERM, wait at most 10 s (then SIGKILL); MON_RC: the exit status, or "hung"
mon_stop() {
  kill -TERM "$MON_PID" 2>/dev/null
  for _ in $(seq 200); do _mon_alive "$MON_PID" || break; sleep 0.05; done
  if _mon_alive "$MON_PID"; then
    kill -KILL "$MON_PID"; wait "$MON_PID" 2>/dev/null; MON_RC=hung
  else
    wait "$MON_PID"; MON_RC=$?
  fi
  MON_PID=''
}

# mon_ctl ARGS...: sentinelctl on the test's control socket
mon_ctl() { "$SENTINELCTL" -s "$MON_SOCK" "$@"; }

# mon_q MODE EXPR [LIMIT_MS [T0_NS [NOTE]]]: evaluates the Python expression EXPR over
# `sentinelctl status --json` (MON_Q_CLUSTER, if set, is passed as the CLUSTER argument), with
# d = the document, cs = its clusters, c = the first cluster, srv = c's servers by name.
#   get    print the value (JSON for non-strings); 1 if status failed
#   true   0 when EXPR is true
#   wait   poll every 50 ms for at most LIMIT_MS until EXPR is true; print the ms elapsed since
#          T0_NS (default: now); on timeout print the last value of NOTE (default EXPR) and return 1
#   hold   poll every 50 ms for LIMIT_MS; EXPR must be true every time; print the samples and the
#          distinct values of NOTE; else print when it broke and return 1
# Any mode gives up at once (return 1) when the daemon MON_PID has exited.
mon_q() {
  python3 -c '
import json, subprocess, sys, time
ctl, sock, cluster, mode, expr = sys.argv[1:6]
limit = float(sys.argv[6]) if len(sys.argv) > 6 and sys.argv[6] else 0
t0 = int(sys.argv[7]) if len(sys.argv) > 7 and sys.argv[7] else time.time_ns()
note = sys.argv[8] if len(sys.argv) > 8 and sys.argv[8] else expr
pid = sys.argv[9] if len(sys.argv) > 9 else ""

def daemon_gone():
    if not pid:
        return False
    try:
        return open("/proc/%s/stat" % pid).read().rsplit(") ", 1)[1][0] == "Z"
    except OSError:
        return True

def sample():
    if daemon_gone():
        print("the daemon (PID %s) has exited" % pid)
        sys.exit(1)
    args = [ctl, "-s", sock, "status", "--json"] + ([cluster] if cluster else [])
    try:
        p = subprocess.run(args, capture_output=True, text=True, timeout=5)
    except subprocess.TimeoutExpired:
        return None, "sentinelctl timed out"
    if p.returncode != 0:
        return None, "sentinelctl exit %d: %s" % (p.returncode, p.stderr.strip())
    try:
        d = json.loads(p.stdout)
        cs = d["clusters"]
        c = cs[0] if cs else {}
        return {"d": d, "cs": cs, "c": c, "srv": {s["name"]: s for s in c.get("servers", [])}}, None
    except (ValueError, KeyError, TypeError) as e:
        return None, "bad status JSON: %s" % e

def ev(e, env):
    try:
        return True, eval(e, dict(env))
    except Exception as x:
        return False, "%s: %s" % (type(x).__name__, x)

def show(v):
    return v if isinstance(v, str) else json.dumps(v)

def ms():
    return (time.time_ns() - t0) / 1e6

if mode in ("get", "true"):
    env, err = sample()
    if env is None:
        print(err, file=sys.stderr); sys.exit(1)
    ok, v = ev(expr, env)
    if mode == "get":
        print(show(v)); sys.exit(0 if ok else 1)
    sys.exit(0 if ok and v else 1)
end = time.monotonic() + limit / 1000
seen, n, last = [], 0, None
while True:
    env, err = sample()
    if env is None:
        ok, v, last = False, None, err
    else:
        ok, v = ev(expr, env)
        last = show(ev(note, env)[1])
    n += 1
    if mode == "wait" and ok and v:
        print("%d" % ms()); sys.exit(0)
    if mode == "hold":
        if not (ok and v):
            print("broke after %d ms (sample %d): %s" % (ms(), n, last)); sys.exit(1)
        if last not in seen:
            seen.append(last)
    if time.monotonic() >= end:
        break
    time.sleep(0.05)
if mode == "wait":
    print("not after %d ms; last: %s" % (ms(), last)); sys.exit(1)
print("%d samples over %d ms, seen: %s" % (n, ms(), "; ".join(seen))); sys.exit(0)
' "$SENTINELCTL" "$MON_SOCK" "${MON_Q_CLUSTER:-}" "$1" "$2" "${3:-}" "${4:-}" "${5:-}" "${MON_PID:-}"
}

# mon_hook_got EVENT [CLUSTER]: the hook ran for EVENT (SENTINEL_EVENT and the stdin JSON agree)
mon_hook_got() {
  python3 -c '
import json, sys
path, event, cluster = sys.argv[1:4]
for rec in open(path).read().split("--- end\n"):
    if "--- stdin\n" not in rec:
        continue
    env, body = rec.split("--- stdin\n", 1)
    env = dict(l.split("=", 1) for l in env.splitlines() if "=" in l)
    try:
        j = json.loads(body)
    except ValueError:
        continue
    if (env.get("SENTINEL_EVENT") == event and env.get("SENTINEL_CLUSTER") == cluster
            and j.get("event") == event and j.get("cluster") == cluster):
        sys.exit(0)
sys.exit(1)
' "$MON_HOOKS" "$1" "${2:-demo}"
}

# mon_audit_has DECISION [SERVER]: a record of the audit log with that decision (and inputs.server)
mon_audit_has() {
  python3 -c '
import json, sys
for line in open(sys.argv[1]):
    r = json.loads(line)
    if r.get("decision") == sys.argv[2] and (len(sys.argv) < 4 or (r.get("inputs") or {}).get("server") == sys.argv[3]):
        sys.exit(0)
sys.exit(1)
' "$MON_AUDIT" "$@"
}

# mon_wait S CMD...: poll CMD every 50 ms for at most S seconds; gives up when the daemon has exited
mon_wait() {
  local t=$(($1 * 20)); shift
  while ((t-- > 0)); do
    "$@" && return 0
    [ -z "${MON_PID:-}" ] || _mon_alive "$MON_PID" || return 1
    sleep 0.05
  done
  return 1
}

# mon_sanitizer_clean: no AddressSanitizer, LeakSanitizer or UBSan report in the sentinel's stderr
mon_sanitizer_clean() { ! grep -qE 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$MON_LOG"; }

# mon_finish: mark the end (no log dump unless a check failed) and print the summary
mon_finish() { MON_FINISHED=1; finish; }

# mon_q_cluster CLUSTER MODE EXPR...: mon_q on `sentinelctl status CLUSTER --json`
mon_q_cluster() { local MON_Q_CLUSTER=$1; shift; mon_q "$@"; }

# mon_one_line TEXT GLOB: TEXT is exactly one line and matches the glob pattern GLOB
mon_one_line() { [[ $(wc -l <<<"$1") -eq 1 && $1 == $2 ]]; }

# mon_require_alive WHERE: the daemon still runs; else a failed check, the exit status, and exit 1
# at once (the trap cleans up and shows the log or the sanitizer report)
mon_require_alive() {
  _mon_alive "$MON_PID" && return 0
  wait "$MON_PID"; MON_RC=$?; MON_PID=''
  fail "the daemon exited (status $MON_RC) $1; giving up"
  finish
  exit 1
}
