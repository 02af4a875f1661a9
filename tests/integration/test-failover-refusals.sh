#!/usr/bin/env bash
# The failover engine's refusals and safety rules against real servers (SPEC 5.4, 5.6, 5.7, 5.10, 6;
# issue 4), one sentinel with quorum 1, a fresh small cluster per scenario:
#   1. lagging candidate: a replica whose SQL thread is stopped is not promoted (the other one is);
#      with only a really lagging replica (MASTER_DELAY: both threads run, Seconds_Behind_Master
#      grows) the failover is refused LAGGING, paged, re-paged every down_after_ms, shown by `why`;
#      and the issue's own case, the only replica with its SQL thread stopped, is refused LAGGING
#   2. `--dry-run` of switchover and of a forced failover changes nothing on any server
#   3. maintenance blocks a failover until it is turned off, or until its TTL expires
#   4. cooldown blocks a second automatic failover
#   5. a `pre` hook exiting 1 vetoes the failover (failover-failed PRE_HOOK_VETO); nothing promoted
#   6. a notify hook that never ends is killed at its timeout and does not delay the failover
#   7. an old primary with a transaction the new primary lacks is not rejoined (rejoin-failed
#      DIVERGED), stays read-only, and keeps that transaction
#   and after a clean failover no stale topology-mismatch is paged (scenario 6)
# Timings as the monitor tests: probe every 200 ms, timeout 200 ms, down after 1000 ms. The clusters
# are brought up ahead by a background worker (fr_prefetch) while the scenarios run.
# SCENARIOS="1 5" runs only those (for debugging).
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
. "$here/lib.sh"
# shellcheck source=../harness/mdb-harness.sh
. "$here/../harness/mdb-harness.sh"
mdb_trap_teardown

if [ ! -x "$SENTINEL" ] || [ ! -x "$SENTINELCTL" ]; then echo "FAIL: $SENTINEL or $SENTINELCTL is not built"; exit 1; fi
mon_init sentinel-failover-refusals || exit 1
T_BEGIN=$(date +%s%N)
down_after_ms=1000
SCENARIOS=${SCENARIOS:-1 2 3 4 5 6 7}

# ---------------------------------------------------------------- helpers ----

ms_since() { echo $((($(date +%s%N) - $1) / 1000000)); }
want() { [[ " $SCENARIOS " == *" $1 "* ]]; }

# The cluster block of "main" over the current harness cluster. FR_AUTO (true), FR_MAX_LAG_MS (1000),
# FR_COOLDOWN_S (0) and FR_HOOKS (more hook entries, each ending with a comma) vary per scenario;
# the recording hook (MON_HOOKS) always gets every event.
fr_write_config() {
  {
    mon_sentinel_block "$FR_STATE"
    printf 'clusters = (\n'
    mon_cluster_head main
    cat <<BLOCK
    probe = { interval_ms = 200; timeout_ms = 200; down_after_ms = $down_after_ms; };
    failover = { auto = ${FR_AUTO:-true}; max_lag_ms = ${FR_MAX_LAG_MS:-1000}; cooldown_s = ${FR_COOLDOWN_S:-0}; };
    fencing = { self_fence_after_ms = 600; };
    hooks = (
      ${FR_HOOKS:-}
      { command = "$MON_DIR/hook"; events = [ "*" ]; timeout_ms = 5000; }
    );
  }
);
BLOCK
  } >"$MON_CONF.tmp" && mv "$MON_CONF.tmp" "$MON_CONF"
}

# The clusters are brought up ahead, one after the other, by a background worker, while the
# scenarios run (each takes a second, several on a loaded machine). For each scenario NUM the worker
# writes MON_DIR/up-NUM.dir (the cluster's directory, before it starts anything in it), then
# up-NUM.ready (N servers up, db-1 primary, app.t with rows 1..3 replicated) or up-NUM.failed.
# fr_exit, the EXIT trap, stops the worker and adopts every directory it made before the harness's
# teardown, so no server outlives the test whenever it ends.
fr_prefetch() { # NUM:N...
  (
    trap - EXIT
    trap 'exit 143' TERM
    for spec in "$@"; do
      num=${spec%%:*} n=${spec#*:}
      dir=$(mktemp -d "${TMPDIR:-/tmp}/mdb-cluster.XXXXXX") || exit 1
      printf '%s\n' "$dir" >"$MON_DIR/up-$num.dir"
      if mdb_cluster_up "$n" --dir "$dir" >"$MON_DIR/up-$num.log" 2>&1 &&
        mdb_sql_as app 1 "CREATE TABLE app.t (id INT PRIMARY KEY); INSERT INTO app.t VALUES (1), (2), (3)" \
          >>"$MON_DIR/up-$num.log" 2>&1 &&
        mdb_wait_replicated >>"$MON_DIR/up-$num.log" 2>&1; then
        touch "$MON_DIR/up-$num.ready"
      else
        touch "$MON_DIR/up-$num.failed"
      fi
    done
  ) &
  FR_UP_PID=$!
}
fr_stop_prefetch() {
  local f d
  if [ -n "${FR_UP_PID:-}" ]; then
    kill -TERM "$FR_UP_PID" 2>/dev/null
    wait "$FR_UP_PID" 2>/dev/null
    FR_UP_PID=''
  fi
  for f in "${MON_DIR:-/nonexistent}"/up-*.dir; do
    [ -f "$f" ] || continue
    d=$(cat "$f")
    if [ -f "$d/.mdb-cluster" ]; then mdb_own "$d"; else rmdir "$d" 2>/dev/null; fi
  done
}
fr_exit() {
  local rc=$? p
  fr_stop_prefetch
  # A sleeping hook (scenario 6) that its sentinel failed to kill: by PID, if it is still that script.
  for p in $(cat "${MON_DIR:-/nonexistent}/sleeper.pids" 2>/dev/null); do
    grep -qs sleeper "/proc/$p/cmdline" && kill -KILL "$p" 2>/dev/null
  done
  (exit "$rc")
  _mdb_exit_trap
}
trap fr_exit EXIT

# fr_scenario NUM TITLE: stops the previous scenario's sentinel (it must exit 0) and cluster, takes
# the worker's cluster NUM, a fresh state dir (so a fresh audit log, epoch, cooldown) and hook log,
# starts the sentinel and waits until it sees the cluster healthy.
FR_SCEN=''
fr_scenario() {
  local num=$1 title=$2 t0 dir
  fr_end_scenario
  FR_SCEN=$num
  t0=$(date +%s%N)
  # (bounded; also ends when the worker has gone without a verdict for this cluster)
  mdb_wait_until 120 eval '[ -e "$MON_DIR/up-$num.ready" ] || [ -e "$MON_DIR/up-$num.failed" ] || ! kill -0 "$FR_UP_PID"'
  dir=$(cat "$MON_DIR/up-$num.dir" 2>/dev/null)
  [ -n "$dir" ] && mdb_own "$dir"
  if [ ! -e "$MON_DIR/up-$num.ready" ] || ! mdb_cluster_load "$dir"; then
    fail "scenario $num: its cluster did not come up"
    sed 's/^/    /' "$MON_DIR/up-$num.log" 2>/dev/null | tail -n 30
    finish
    exit 1
  fi
  echo "# ---- scenario $num: $title (at $(ms_since "$T_BEGIN") ms; waited $(ms_since "$t0") ms for its cluster of $MDB_N)"
  FR_STATE=$MON_DIR/state-$num
  MON_AUDIT=$FR_STATE/audit.jsonl
  : >"$MON_HOOKS"
  fr_write_config
  printf '# ---- scenario %s: %s\n' "$num" "$title" >>"$MON_LOG"
  mon_start
  mon_q wait 'c["state"] == "healthy" and c["primary"] == "db-1"' 10000 >/dev/null
  check "scenario $num: the sentinel sees $MDB_N servers healthy, primary db-1" \
    mon_q true 'c["state"] == "healthy" and c["primary"] == "db-1" and len(c["servers"]) == '"$MDB_N"
}

# fr_end_scenario: the sentinel stops with exit 0; the cluster goes down
fr_end_scenario() {
  if [ -n "${MON_PID:-}" ]; then
    mon_stop
    check "scenario $FR_SCEN: the sentinel exits 0 on SIGTERM (got $MON_RC)" test "$MON_RC" = 0
  fi
  if [ -n "${MDB_DIR:-}" ]; then mdb_cluster_down "$MDB_DIR" >/dev/null; fi
  MDB_DIR=''
}

# audit EXPR: true when the Python EXPR holds over the audit log; R = its records (oldest first),
# ev(decision[, reason]) = the records of that decision (and reason code), inp(r) = r's inputs,
# ms(r) = r's timestamp in ms since the epoch. audit_get EXPR prints the value instead.
_audit() {
  python3 - "$MON_AUDIT" "$1" "$2" <<'PY'
import datetime, json, sys
R = []
try:
    for line in open(sys.argv[1]):
        if line.strip():
            R.append(json.loads(line))
except OSError:
    pass
def inp(r): return r.get("inputs") or {}
def ev(d, reason=None): return [r for r in R if r.get("decision") == d and (reason is None or r.get("reason") == reason)]
def ms(r): return int(datetime.datetime.fromisoformat(r["ts"].replace("Z", "+00:00")).timestamp() * 1000)
try:
    v = eval(sys.argv[3])
except Exception as e:
    v, ok = "%s: %s" % (type(e).__name__, e), False
else:
    ok = bool(v)
if sys.argv[2] == "get":
    print(v if isinstance(v, str) else json.dumps(v))
sys.exit(0 if ok else 1)
PY
}
audit() { _audit true "$1"; }
audit_get() { _audit get "$1"; }

# hook_has EVENT [REASON]: the recording hook ran for EVENT of cluster main (environment and stdin
# agree) with details.reason REASON
hook_has() {
  python3 - "$MON_HOOKS" "$1" "${2:-}" <<'PY'
import json, sys
path, event, reason = sys.argv[1:4]
for rec in open(path).read().split("--- end\n"):
    if "--- stdin\n" not in rec:
        continue
    env, body = rec.split("--- stdin\n", 1)
    env = dict(l.split("=", 1) for l in env.splitlines() if "=" in l)
    try:
        j = json.loads(body)
    except ValueError:
        continue
    if (env.get("SENTINEL_EVENT") == event and env.get("SENTINEL_CLUSTER") == "main" and j.get("event") == event
            and (not reason or (j.get("details") or {}).get("reason") == reason)):
        sys.exit(0)
sys.exit(1)
PY
}

# no_run: no failover or switchover started or ran
no_run() { audit 'not ev("failover-start") and not ev("failover-run") and not ev("switchover-start") and not ev("switchover-run")'; }

# ro I: server I is read-only
ro() { [ "$(mdb_var "$1" read_only 2>/dev/null)" = 1 ]; }

# master_of I: "host:port IO SQL" of server I's replication (empty when it has none)
master_of() {
  mdb_sql_vertical "$1" "SHOW ALL SLAVES STATUS" |
    awk '$1 == "Master_Host:" { h = $2 } $1 == "Master_Port:" { p = $2 } $1 == "Slave_IO_Running:" { io = $2 }
         $1 == "Slave_SQL_Running:" { sql = $2 } END { if (h != "") print h ":" p, io, sql }'
}
follows() { [[ $(master_of "$1") == "$(_mdb_get HOST "$2"):$(_mdb_get PORT "$2") "* ]]; }

# at_least V N: V is a number >= N
at_least() { [[ $1 =~ ^[0-9]+$ ]] && [ "$1" -ge "$2" ]; }

# sbm_at_least I N: Seconds_Behind_Master of replica I is at least N
sbm_at_least() { local v; v=$(mdb_slave_field "$1" Seconds_Behind_Master); [[ $v =~ ^[0-9]+$ ]] && [ "$v" -ge "$2" ]; }
# rows I: the rows of app.t on server I
rows() { mdb_sql "$1" "SELECT COUNT(*) FROM app.t"; }
rows_are() { [ "$(rows "$1" 2>/dev/null)" = "$2" ]; }
# io_pos_is_primary I P: replica I received everything of server P's binlog
io_pos_is_primary() { [ "$(mdb_slave_field "$1" Gtid_IO_Pos)" = "$(mdb_var "$2" gtid_binlog_pos)" ]; }

# The clusters, in the order the scenarios take them: 1b has two servers, the others three.
plan=()
for num in 1a 1b 2 3 4 5 6 7; do
  want "${num%[ab]}" || continue
  if [ "$num" = 1b ]; then plan+=("$num:2"); else plan+=("$num:3"); fi
done
fr_prefetch "${plan[@]}"

status_note='[c["state"], c["primary"], c["epoch"], [(s["name"], s["role"], s["read_only"], s["reachable"]) for s in c["servers"]]]'

# ---------------------------------------------- 1. lagging candidates ----
if want 1; then
  # db-2 and db-3 tie on everything else (position, priority, zone), and db-2 wins the tie (it is
  # the candidate of scenario 2's dry runs): only its stopped SQL thread makes it lose here.
  fr_scenario 1a "a replica with its SQL thread stopped is passed over"
  mdb_sql 2 "STOP SLAVE SQL_THREAD"
  mdb_sql_as app 1 "INSERT INTO app.t VALUES (4), (5), (6)"
  mdb_wait_until 10 io_pos_is_primary 2 1
  check "db-2 received the primary's last writes ($(mdb_slave_field 2 Gtid_IO_Pos)) but did not apply them (gtid_slave_pos $(mdb_var 2 gtid_slave_pos), $(mdb_sql 2 'SELECT COUNT(*) FROM app.t') rows)" \
    test "$(mdb_slave_field 2 Gtid_IO_Pos)" = "$(mdb_var 1 gtid_binlog_pos)" -a "$(mdb_sql 2 'SELECT COUNT(*) FROM app.t')" = 3
  mon_q wait 'srv["db-2"]["replication"]["sql_running"] is False' 3000 >/dev/null
  t0=$(date +%s%N)
  mdb_kill 1
  ms=$(mon_q wait 'c["primary"] == "db-3" and srv["db-3"]["role"] == "primary" and srv["db-3"]["read_only"] is False' 10000 "$t0" "$status_note"); rc=$?
  check "kill -9 db-1: db-3 is promoted, not the lagging db-2 ($ms)" test "$rc" -eq 0
  check "db-2 stays read-only" ro 2
  check "one failover-run, result ok, new primary db-3" \
    audit 'len(ev("failover-run")) == 1 and inp(ev("failover-run")[0])["run"]["result"] == "ok" and inp(ev("failover-run")[0])["run"]["new_primary"] == "db-3"'
  v=$(audit_get '[s for s in inp(ev("failover-start")[0])["decision"]["selection"]["servers"] if s["name"] == "db-2"][0]')
  echo "    the decision's verdict on db-2: $v"
  check "the decision shows db-2 not eligible" audit '[s for s in inp(ev("failover-start")[0])["decision"]["selection"]["servers"] if s["name"] == "db-2"][0]["eligible"] is False'
  check "db-2 is repointed to db-3" mon_wait 10 follows 2 3
  check "...and applies the rows it had received (6 rows)" mon_wait 10 rows_are 2 6
  mon_require_alive "in scenario 1a"

  fr_scenario 1b "the only replica lags (MASTER_DELAY): refused LAGGING"
  # Delayed replication is a real lag: both threads run, the events are received, and
  # Seconds_Behind_Master grows until they are applied (60 s later).
  mdb_sql 2 "STOP SLAVE; CHANGE MASTER TO MASTER_DELAY = 60; START SLAVE"
  mdb_wait_slave_running 2
  mdb_sql_as app 1 "INSERT INTO app.t VALUES (4), (5), (6)"
  check "db-2 lags more than max_lag_ms = 1000 (Seconds_Behind_Master >= 2)" mon_wait 10 sbm_at_least 2 2
  ms=$(mon_q wait 'srv["db-2"]["replication"]["seconds_behind_master"] >= 2' 3000 '' 'srv["db-2"]["replication"]'); rc=$?
  check "...and the sentinel sees it ($ms)" test "$rc" -eq 0
  t0=$(date +%s%N)
  mdb_kill 1
  check "kill -9 db-1: failover-refused LAGGING in the audit log" mon_wait 5 audit 'ev("failover-refused", "LAGGING")'
  t_ref=$(ms_since "$t0")
  check "...and paged to the hook (failover-refused, reason LAGGING)" mon_wait 5 hook_has failover-refused LAGGING
  check "...its inputs name db-1 and carry the decision (go false, reason LAGGING)" \
    audit 'inp(ev("failover-refused")[0])["old_primary"] == "db-1" and inp(ev("failover-refused")[0])["decision"]["go"] is False and inp(ev("failover-refused")[0])["decision"]["reason"] == "LAGGING"'
  out=$(mon_ctl why main); rc=$?
  echo "$out" | sed 's/^/    why: /'
  check "sentinelctl why main (exit $rc) says LAGGING" grep -q LAGGING <<<"$out"
  out=$(mon_q hold 'c["primary"] == "db-1" and srv["db-2"]["read_only"] is True and srv["db-2"]["role"] == "replica"' 2500 '' "$status_note"); rc=$?
  check "no promotion: db-2 stays a read-only replica for 2.5 s more ($out)" test "$rc" -eq 0
  check "db-2 is read-only (on the server)" ro 2
  check "no failover started" no_run
  # (The daemon times the pages by its loop's clock; the records' wall-clock stamps are taken when
  # written, after the fsyncs of the sdown and odown records before the first one, which took over
  # 50 ms once with the whole suite running: 250 ms of slack, still far from a page repeated at once.)
  check "re-paged: a second failover-refused LAGGING record down_after_ms after the first" \
    mon_wait 3 audit 'len(ev("failover-refused", "LAGGING")) >= 2 and ms(ev("failover-refused", "LAGGING")[1]) - ms(ev("failover-refused", "LAGGING")[0]) >= '"$((down_after_ms - 250))"
  echo "    FIGURE: refusal after $t_ref ms; pages at $(audit_get '[ms(r) - ms(ev("failover-refused")[0]) for r in ev("failover-refused")]') ms"
  check "the hook got it twice" test "$(grep -c '^SENTINEL_EVENT=failover-refused' "$MON_HOOKS")" -ge 2

  # The issue's own case: the only replica's SQL thread stopped (it received everything, applied
  # nothing). db-1 comes back first (the refusal ends), db-2 loses its delay.
  mdb_start 1 >/dev/null
  check "db-1 back: the refusal ended (refusal-ended PRIMARY_RETURNED)" mon_wait 5 audit 'ev("refusal-ended", "PRIMARY_RETURNED")'
  mdb_sql 2 "STOP SLAVE; CHANGE MASTER TO MASTER_DELAY = 0; START SLAVE"
  mdb_wait_replicated
  mdb_sql 2 "STOP SLAVE SQL_THREAD"
  mdb_sql_as app 1 "INSERT INTO app.t VALUES (7), (8)"
  mdb_wait_until 10 io_pos_is_primary 2 1
  mon_q wait 'srv["db-2"]["replication"]["sql_running"] is False' 3000 >/dev/null
  n0=$(audit_get 'len(ev("failover-refused"))')
  mdb_kill 1
  check "only replica with its SQL thread stopped, kill -9 db-1: failover refused" \
    mon_wait 5 audit 'len(ev("failover-refused")) > '"$n0"
  reason=$(audit_get 'ev("failover-refused")[-1]["reason"]')
  echo "    refused with reason $reason: $(audit_get 'inp(ev("failover-refused")[-1])["decision"]["text"]')"
  echo "    db-2's verdict: $(audit_get '[s["reason"] + ": " + s["text"] for s in inp(ev("failover-refused")[-1])["decision"]["selection"]["servers"] if s["name"] == "db-2"][0]')"
  check "...with reason LAGGING, as issue 4 says for this case (got $reason)" test "$reason" = LAGGING
  out=$(mon_q hold 'c["primary"] == "db-1" and srv["db-2"]["read_only"] is True' 1500 '' "$status_note"); rc=$?
  check "...db-2 is not promoted ($out)" test "$rc" -eq 0
  check "...no failover started" no_run
  mon_require_alive "in scenario 1b"
fi

# ------------------------------------------------ 2. --dry-run changes nothing ----
# snapshot I...: per server its read_only, binlog position, semi-sync master side and replication
snapshot() {
  local i
  for i in "$@"; do
    printf 'db-%s read_only=%s binlog=%s semi=%s repl=[%s]\n' "$i" "$(mdb_var "$i" read_only)" \
      "$(mdb_var "$i" gtid_binlog_pos)" "$(mdb_var "$i" rpl_semi_sync_master_enabled)" "$(master_of "$i")"
  done
}
if want 2; then
  FR_AUTO=false
  fr_scenario 2 "--dry-run changes nothing (auto = false)"
  unset FR_AUTO
  before=$(snapshot 1 2 3)
  out=$(mon_ctl switchover main --dry-run 2>&1); rc=$?
  echo "$out" | head -n 3 | sed 's/^/    switchover --dry-run: /'
  check "switchover --dry-run on a healthy cluster: exit 0 (got $rc)" test "$rc" -eq 0
  check "...it names a candidate" grep -qE 'db-[23]' <<<"$out"
  sleep 0.5 # what a run would do takes well under that
  after=$(snapshot 1 2 3)
  check "...read_only, binlog, semi-sync and replication of every server unchanged" test "$before" = "$after"
  [ "$before" = "$after" ] || diff <(echo "$before") <(echo "$after") | sed 's/^/    /'
  check "...primary db-1, epoch 0" mon_q true 'c["primary"] == "db-1" and c["epoch"] == 0 and srv["db-1"]["read_only"] is False'

  mdb_kill 1
  check "kill -9 db-1 with auto = false: refused AUTO_DISABLED, paged" \
    mon_wait 5 eval 'audit '"'"'ev("failover-refused", "AUTO_DISABLED")'"'"' && hook_has failover-refused AUTO_DISABLED'
  before=$(snapshot 2 3)
  out=$(mon_ctl failover main --force --dry-run 2>&1); rc=$?
  echo "$out" | head -n 3 | sed 's/^/    failover --force --dry-run: /'
  check "failover --force --dry-run with the primary down: exit 0 (got $rc)" test "$rc" -eq 0
  check "...it names a candidate" grep -qE 'db-[23]' <<<"$out"
  out=$(mon_ctl failover main --force --dry-run --to db-1 2>&1); rc=$?
  check "failover --force --dry-run --to db-1 (the dead primary): exit 1, refused (got $rc: $(head -n 1 <<<"$out"))" test "$rc" -eq 1
  out=$(mon_ctl switchover main --dry-run 2>&1); rc=$?
  check "switchover --dry-run with the primary down: exit 1, refused (got $rc: $(head -n 1 <<<"$out"))" test "$rc" -eq 1
  sleep 0.5
  after=$(snapshot 2 3)
  check "...read_only, binlog, semi-sync and replication of db-2 and db-3 unchanged" test "$before" = "$after"
  [ "$before" = "$after" ] || diff <(echo "$before") <(echo "$after") | sed 's/^/    /'
  check "...the sentinel still knows db-1 as the primary, epoch 0" mon_q true 'c["primary"] == "db-1" and c["epoch"] == 0'
  check "no failover or switchover ran" no_run
  check "nothing was recorded as requested (a dry run writes nothing)" \
    audit 'not ev("failover-requested") and not ev("switchover-requested")'
  mon_require_alive "in scenario 2"
fi

# ------------------------------------------------------- 3. maintenance ----
# new_primary: the index of the primary the sentinel knows
known_primary() { local p; p=$(mon_q get 'c["primary"]') && echo "${p#db-}"; }
if want 3; then
  fr_scenario 3 "maintenance blocks the failover; off or its TTL lets it happen"
  out=$(mon_ctl maintenance main on 2>&1); rc=$?
  check "maintenance main on: exit 0 ($out)" test "$rc" -eq 0
  check "...audited (maintenance-on OPERATOR)" audit 'ev("maintenance-on", "OPERATOR")'
  t0=$(date +%s%N)
  mdb_kill 1
  out=$(mon_q hold 'c["primary"] == "db-1" and srv["db-2"]["read_only"] is True and srv["db-3"]["read_only"] is True' 3000 "$t0" "$status_note"); rc=$?
  check "kill -9 db-1 in maintenance: no promotion for 3 s ($out)" test "$rc" -eq 0
  check "...refused MAINTENANCE in the audit log" audit 'ev("failover-refused", "MAINTENANCE")'
  check "...and paged (hook: failover-refused, reason MAINTENANCE)" hook_has failover-refused MAINTENANCE
  check "...no failover started" no_run
  t0=$(date +%s%N)
  out=$(mon_ctl maintenance main off 2>&1); rc=$?
  check "maintenance main off: exit 0 ($out)" test "$rc" -eq 0
  ms=$(mon_q wait 'c["primary"] in ("db-2", "db-3") and srv[c["primary"]]["read_only"] is False' 5000 "$t0" "$status_note"); rc=$?
  check "...the failover happens ($ms ms after 'off')" test "$rc" -eq 0
  check "...one failover-run, result ok" audit 'len(ev("failover-run")) == 1 and inp(ev("failover-run")[0])["run"]["result"] == "ok"'
  p=$(known_primary)
  mdb_start 1 >/dev/null
  ms=$(mon_q wait 'srv["db-1"]["role"] == "replica" and srv["db-1"]["read_only"] is True and c["state"] == "healthy"' 10000 '' "$status_note"); rc=$?
  check "db-1 restarted: it rejoins as a replica of db-$p ($ms)" test "$rc" -eq 0

  t0=$(date +%s%N)
  out=$(mon_ctl maintenance main on --ttl 2 2>&1); rc=$?
  check "maintenance main on --ttl 2: exit 0 ($out)" test "$rc" -eq 0
  n0=$(audit_get 'len(ev("failover-refused", "MAINTENANCE"))')
  mdb_kill "$p"
  ms=$(mon_q wait 'c["primary"] != "db-'"$p"'" and srv[c["primary"]]["read_only"] is False' 9000 "$t0" "$status_note"); rc=$?
  check "kill -9 the primary db-$p: failed over by itself once the TTL expired ($ms ms after 'on --ttl 2')" test "$rc" -eq 0
  check "...not before the TTL (2000 ms)" at_least "$ms" 2000
  check "...refused MAINTENANCE meanwhile" audit 'len(ev("failover-refused", "MAINTENANCE")) > '"$n0"
  check "...maintenance-off with reason EXPIRED in the audit log" audit 'ev("maintenance-off", "EXPIRED")'
  check "...two failover-run records, both ok" \
    audit 'len(ev("failover-run")) == 2 and all(inp(r)["run"]["result"] == "ok" for r in ev("failover-run"))'
  mon_require_alive "in scenario 3"
fi

# ---------------------------------------------------------- 4. cooldown ----
if want 4; then
  FR_COOLDOWN_S=3600
  fr_scenario 4 "cooldown blocks a second automatic failover"
  unset FR_COOLDOWN_S
  t0=$(date +%s%N)
  mdb_kill 1
  ms=$(mon_q wait 'c["primary"] in ("db-2", "db-3") and srv[c["primary"]]["read_only"] is False' 8000 "$t0" "$status_note"); rc=$?
  check "kill -9 db-1: the first failover happens ($ms ms)" test "$rc" -eq 0
  baseline_ms=$(audit_get 'inp(ev("failover-end")[0])["elect_to_end_ms"]')
  p=$(known_primary)
  mdb_start 1 >/dev/null
  ms=$(mon_q wait 'srv["db-1"]["role"] == "replica" and srv["db-1"]["read_only"] is True and c["state"] == "healthy"' 10000 '' "$status_note"); rc=$?
  check "db-1 restarted: it rejoins as a replica of db-$p ($ms)" test "$rc" -eq 0
  check "...audited (rejoined)" mon_wait 3 audit 'ev("rejoined")'
  t0=$(date +%s%N)
  mdb_kill "$p"
  check "kill -9 the new primary db-$p: refused COOLDOWN in the audit log" mon_wait 5 audit 'ev("failover-refused", "COOLDOWN")'
  check "...and paged (hook: failover-refused, reason COOLDOWN)" mon_wait 3 hook_has failover-refused COOLDOWN
  out=$(mon_q hold 'c["primary"] == "db-'"$p"'" and all(s["read_only"] is True for s in c["servers"] if s["reachable"])' 2000 '' "$status_note"); rc=$?
  check "...no second promotion for 2 s more ($out)" test "$rc" -eq 0
  check "...one failover-run only" audit 'len(ev("failover-run")) == 1 and len(ev("failover-start")) == 1'
  out=$(mon_ctl why main)
  check "sentinelctl why main says COOLDOWN" grep -q COOLDOWN <<<"$out"
  mon_require_alive "in scenario 4"
fi

# ---------------------------------------------------- 5. pre hook veto ----
if want 5; then
  printf '#!/bin/sh\necho "vetoed by the test"\nexit 1\n' >"$MON_DIR/veto"
  chmod 0755 "$MON_DIR/veto"
  FR_HOOKS="{ command = \"$MON_DIR/veto\"; events = [ \"failover-start\", \"switchover-start\" ]; timeout_ms = 5000; class = \"pre\"; },"
  fr_scenario 5 "a pre hook exiting 1 vetoes the failover"
  unset FR_HOOKS
  mdb_kill 1
  check "kill -9 db-1: a failover-run record" mon_wait 6 audit 'ev("failover-run")'
  check "...result failed, reason PRE_HOOK_VETO ($(audit_get '[inp(r)["run"]["result"] + " " + str(inp(r)["run"].get("reason")) for r in ev("failover-run")]'))" \
    audit 'inp(ev("failover-run")[0])["run"]["result"] == "failed" and inp(ev("failover-run")[0])["run"]["reason"] == "PRE_HOOK_VETO"'
  check "...failover-failed PRE_HOOK_VETO in the audit log" audit 'ev("failover-failed", "PRE_HOOK_VETO")'
  check "...and paged (hook: failover-failed, reason PRE_HOOK_VETO)" mon_wait 3 hook_has failover-failed PRE_HOOK_VETO
  check "...the pre hook's run is audited (exit status 1, its output)" \
    audit 'any(inp(r)["command"].endswith("/veto") and inp(r).get("exit_status") == 1 and "vetoed" in inp(r).get("output_head", "") for r in ev("hook"))'
  out=$(mon_q hold 'c["primary"] == "db-1" and srv["db-2"]["read_only"] is True and srv["db-3"]["read_only"] is True' 2000 '' "$status_note"); rc=$?
  check "...no promotion for 2 s ($out)" test "$rc" -eq 0
  check "db-2 and db-3 are read-only replicas of db-1 still ($(master_of 2); $(master_of 3))" \
    eval 'ro 2 && ro 3 && follows 2 1 && follows 3 1'
  check "...and no run after the vetoed one" audit 'len(ev("failover-run")) == 1'
  mon_require_alive "in scenario 5"
fi

# ------------------------------------ 6. a hook that sleeps forever ----
if want 6; then
  # It ignores SIGTERM (and so does its sleep), so only the SIGKILL after the timeout ends it.
  printf '#!/bin/sh\necho $$ >>"%s"\ntrap "" TERM\nwhile :; do sleep 1; done\n' "$MON_DIR/sleeper.pids" >"$MON_DIR/sleeper"
  chmod 0755 "$MON_DIR/sleeper"
  FR_HOOKS="{ command = \"$MON_DIR/sleeper\"; events = [ \"*\" ]; timeout_ms = 1000; },"
  fr_scenario 6 "a notify hook that never ends does not delay the failover"
  unset FR_HOOKS
  t0=$(date +%s%N)
  mdb_kill 1
  ms=$(mon_q wait 'c["primary"] in ("db-2", "db-3") and srv[c["primary"]]["read_only"] is False' 8000 "$t0" "$status_note"); rc=$?
  check "kill -9 db-1 with a sleeping hook on every event: the failover completes ($ms ms)" test "$rc" -eq 0
  check "...result ok" mon_wait 3 audit 'ev("failover-run") and inp(ev("failover-run")[0])["run"]["result"] == "ok"'
  e2e=$(audit_get 'inp(ev("failover-end")[0])["elect_to_end_ms"]')
  phases=$(audit_get '{p["phase"]: p.get("duration_ms") for p in inp(ev("failover-run")[0])["run"]["phases"]}')
  echo "    FIGURE: elect->end ${e2e} ms with the sleeping hook (phases: $phases); without it (scenario 4): ${baseline_ms:-n/a} ms"
  check "...elect->end ($e2e ms) is below the hook's timeout (1000 ms): the hook delayed nothing" \
    eval 'at_least "$e2e" 0 && [ "$e2e" -lt 1000 ]'
  check "the sleeping hook's runs end with outcome timeout in the audit log" \
    mon_wait 5 audit 'any(inp(r)["command"].endswith("/sleeper") and r["reason"] == "timeout" and inp(r)["outcome"] == "timeout" for r in ev("hook"))'
  sleepers_gone() { local p; for p in $(cat "$MON_DIR/sleeper.pids" 2>/dev/null); do _mon_alive "$p" && return 1; done; return 0; }
  n=$(wc -l <"$MON_DIR/sleeper.pids")
  check "...every one of its $n runs was killed (no sleeper process left within 8 s)" mon_wait 8 sleepers_gone
  check "no topology-mismatch paged after the failover ended (the servers agree with the new topology)" \
    audit 'not [r for r in R if r["decision"] == "topology-mismatch" and ms(r) >= ms(ev("failover-end")[0])]'
  audit_get '[r["reason"] + ": " + inp(r)["message"] for r in ev("topology-mismatch")]' | sed 's/^/    topology-mismatch records: /'
  mon_require_alive "in scenario 6"
fi

# ------------------------------------------------ 7. diverged old primary ----
# The old primary gets a transaction the new primary lacks the way issue 4 puts it, "written while it
# was isolated": after the failover it is started with --skip-networking (the sentinel and the
# replicas cannot reach it; root still can, over its unix socket), a row is written on it, and it is
# restarted normally. It comes back writable with that GTID (0-1-N) beside the new primary's own
# writes: not a prefix of the new primary's history. (Stopping the replicas' IO threads before the
# kill instead does not get there: replication stopped at the primary's last good probe makes every
# replica REPLICATION_BROKEN, not promotable even with --force, so no failover happens at all.)
if want 7; then
  fr_scenario 7 "a diverged old primary is not rejoined"
  t0=$(date +%s%N)
  mdb_kill 1
  ms=$(mon_q wait 'c["primary"] in ("db-2", "db-3") and srv[c["primary"]]["read_only"] is False' 8000 "$t0" "$status_note"); rc=$?
  check "kill -9 db-1: failed over ($ms ms)" test "$rc" -eq 0
  p=$(known_primary)
  mdb_sql_as app "$p" "INSERT INTO app.t VALUES (10)"
  mdb_start 1 --skip-networking >/dev/null
  mdb_sql 1 "INSERT INTO app.t VALUES (99)"
  extra=$(mdb_var 1 gtid_binlog_pos)
  echo "    db-1 (isolated) at $extra; the new primary db-$p at $(mdb_var "$p" gtid_binlog_pos)"
  mdb_stop 1
  mdb_start 1 >/dev/null
  check "db-1 restarted with its extra transaction: rejoin-failed DIVERGED in the audit log" \
    mon_wait 10 audit 'ev("rejoin-failed", "DIVERGED")'
  check "...about db-1, naming its extra GTIDs ($(audit_get 'inp(ev("rejoin-failed")[0]).get("extra_gtids")'))" \
    audit 'inp(ev("rejoin-failed")[0]).get("server") == "db-1" and "0-1-" in (inp(ev("rejoin-failed")[0]).get("extra_gtids") or "")'
  check "...and paged (hook: rejoin-failed, reason DIVERGED)" mon_wait 3 hook_has rejoin-failed DIVERGED
  check "db-1 is read-only" mon_wait 3 ro 1
  check "...it kept its extra row (nothing discarded)" test "$(mdb_sql 1 'SELECT COUNT(*) FROM app.t WHERE id = 99')" = 1
  check "...its binlog still ends at $extra" test "$(mdb_var 1 gtid_binlog_pos)" = "$extra"
  check "...it does not replicate ($(master_of 1))" test -z "$(master_of 1 | grep ' Yes')"
  still_primary_without_99() {
    [ "$(mdb_sql "$1" "SELECT COUNT(*) FROM app.t WHERE id = 99")" = 0 ] && ! ro "$1" && mon_q true 'c["primary"] == "db-'"$1"'"'
  }
  check "...the new primary db-$p lacks that row and is still the writable primary" still_primary_without_99 "$p"
  check "no rejoined record for db-1" audit 'not ev("rejoined")'
  mon_require_alive "in scenario 7"
fi

fr_end_scenario
echo "# all scenarios: $(ms_since "$T_BEGIN") ms"
check "no sanitizer report in the sentinel's log" mon_sanitizer_clean
mon_finish
