#!/usr/bin/env bash
# SDOWN against a real 3-server cluster (server 1 primary): a hung primary (kill -STOP) is SDOWN within
# down_after_ms + 2 intervals and cleared by kill -CONT; a killed one (kill -9) is SDOWN and clears
# when it is restarted; a primary with max_connections exhausted by idle clients is NOT SDOWN (the
# sentinel keeps its connection, and a reconnect gets CONNECTION ADMIN's extra slot). Each event is
# checked in the status, the log, the audit log and the hook. Ends with a clean SIGTERM.
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
. "$here/lib.sh"
# shellcheck source=../harness/mdb-harness.sh
. "$here/../harness/mdb-harness.sh"
mdb_trap_teardown

interval_ms=200 down_after_ms=1000 margin_ms=500   # as mon_cluster_block configures them
bound_ms=$((down_after_ms + 2 * interval_ms + margin_ms))
healthy='c["state"] == "healthy" and not srv["db-1"]["sdown"] and all(s["reachable"] for s in c["servers"])'
summary='[c["state"], c["state_reasons"], [(s["name"], s["reachable"], s["error"], s["sdown"]) for s in c["servers"]]]'

if [ ! -x "$SENTINEL" ] || [ ! -x "$SENTINELCTL" ]; then echo "FAIL: $SENTINEL or $SENTINELCTL is not built"; exit 1; fi
mdb_cluster_up 3 >/dev/null || exit 1
mon_init sentinel-monitor-sdown || exit 1
mon_notify_listen || exit 1
MON_AUTO=false mon_write_config demo   # this test watches SDOWN, not the failover that follows it
mon_start
check "READY=1 on NOTIFY_SOCKET" mon_wait 10 grep -qx 'READY=1' "$MON_NOTIFY"
ms=$(mon_q wait "$healthy" 5000 '' "$summary"); rc=$?
check "healthy with primary db-1 ($ms ms)" test "$rc" -eq 0
mon_require_alive "after its start"

at_most() { [[ $1 =~ ^[0-9]+$ ]] && [ "$1" -le "$2" ]; }

# sdown_figure HOW: time from now until the status shows db-1 SDOWN; prints and checks it
sdown_figure() {
  local how=$1 t0 ms rc
  t0=$(date +%s%N)
  shift
  "$@"
  # One sentinel with quorum 1: its own SDOWN is the quorum, so the state shows odown.
  ms=$(mon_q wait 'srv["db-1"]["sdown"] is True and c["state"] == "odown"' 10000 "$t0" "$summary"); rc=$?
  echo "    FIGURE: SDOWN of the primary ($how) detected after $ms ms (bound $bound_ms ms = down_after $down_after_ms + 2 x interval $interval_ms + margin $margin_ms)"
  check "$how: status shows db-1 sdown and the state odown ($ms ms)" test "$rc" -eq 0
  check "$how: ...within $bound_ms ms ($ms ms)" at_most "$ms" "$bound_ms"
}

# ---- 4. kill -STOP the primary: SDOWN within down_after_ms + 2 intervals; kill -CONT: cleared ----
sdown_figure "kill -STOP" mdb_kill 1 STOP
check "the log has event=sdown for the primary db-1: $(grep -m1 'event=sdown' "$MON_LOG")" \
  mon_wait 3 grep -qE 'cluster=demo .*event=sdown[ :].*primary db-1 ' "$MON_LOG"
check "the audit log has decision sdown for db-1" mon_wait 3 mon_audit_has sdown db-1
check "the hook got SENTINEL_EVENT=sdown" mon_wait 5 mon_hook_got sdown
check "STATUS= says demo: odown" mon_wait 3 grep -qx 'STATUS=demo: odown, primary db-1' "$MON_NOTIFY"
check "the replicas are not SDOWN" mon_q true 'not srv["db-2"]["sdown"] and not srv["db-3"]["sdown"]'
t0=$(date +%s%N)
mdb_kill 1 CONT
ms=$(mon_q wait "$healthy" 5000 "$t0" "$summary"); rc=$?
check "kill -CONT: sdown false and the state healthy again ($ms ms)" test "$rc" -eq 0
check "the log has event=sdown-cleared for db-1" mon_wait 3 grep -qE 'cluster=demo .*event=sdown-cleared[ :].*db-1 ' "$MON_LOG"
check "the audit log has decision sdown-cleared for db-1" mon_wait 3 mon_audit_has sdown-cleared db-1
check "the hook got SENTINEL_EVENT=sdown-cleared" mon_wait 5 mon_hook_got sdown-cleared
mon_require_alive "with the primary stopped and continued"

# ---- 5. kill -9 the primary: SDOWN; restarted: cleared and healthy ----
sdown_figure "kill -9" mdb_kill 1 KILL
check "...its error class is refused or no-answer ($(mon_q get 'srv["db-1"]["error"]'))" \
  mon_q true 'srv["db-1"]["error"] in ("refused", "no-answer") and srv["db-1"]["reachable"] is False'
check "two sdown events for db-1 in the log" test "$(grep -cE 'event=sdown[ :].*db-1 ' "$MON_LOG")" -eq 2
mdb_start 1 || exit 1
ms=$(mon_q wait "$healthy" 15000 '' "$summary"); rc=$?
check "restarted (mdb_start 1): healthy again ($ms ms)" test "$rc" -eq 0
check "two sdown-cleared events for db-1 in the log" \
  mon_wait 3 test "$(grep -cE 'event=sdown-cleared[ :].*db-1 ' "$MON_LOG")" -eq 2
mon_require_alive "with the primary killed and restarted"

# ---- 6. max_connections exhausted on the primary by idle clients: NOT SDOWN ----
# max_connections=10 (the minimum) counts the two replicas' binlog dumps and the sentinel's own
# connection; 12 app clients take the rest, the surplus is refused with ER_CON_COUNT_ERROR (1040).
clients=()
app_client() {  # one idle app connection to the primary, in the background; its PID in MON_PIDS
  MYSQL_PWD=$(mdb_password app) "${MDB_CLIENT:-mariadb}" --no-defaults -h "$MDB_HOST_1" -P "$MDB_PORT_1" \
    -u app -e "SELECT SLEEP(60)" >/dev/null 2>>"$MON_DIR/clients.err" &
  MON_PIDS+=("$!")
  clients+=("$!")
}
saturated() {  # one more app connection is refused with 1040 (plain, or reported within the TLS handshake)
  local out
  out=$(MYSQL_PWD=$(mdb_password app) "${MDB_CLIENT:-mariadb}" --no-defaults -h "$MDB_HOST_1" -P "$MDB_PORT_1" \
    -u app -e "SELECT 1" 2>&1)
  [[ $out == *"1040"*"Too many connections"* ]]
}
saturate() {  # tops up with app clients until saturated (a connection that was closing may have
  # taken a slot when the first ones connected)
  for _ in $(seq 20); do saturated && return 0; app_client; sleep 0.3; done
  return 1
}
hold_ms=$((2 * down_after_ms + 500))
# not SDOWN, and probed recently (not a stale answer from before the saturation)
not_sdown='not srv["db-1"]["sdown"] and c["state"] not in ("sdown", "odown") and srv["db-1"]["last_probe_age_ms"] < 1000'
alive='(srv["db-1"]["reachable"] or srv["db-1"]["error"] == "server-error")'
note='[c["state"], srv["db-1"]["reachable"], srv["db-1"]["error"], srv["db-1"]["error_number"]]'

mdb_sql 1 "SET GLOBAL max_connections = 10"
for _ in $(seq 12); do app_client; done
check "the primary is saturated: another app connection gets ERROR 1040" saturate
n=0; for p in "${clients[@]}"; do _mon_alive "$p" && n=$((n + 1)); done
echo "    of ${#clients[@]} app clients, $n hold a connection, $(grep -c '1040.*Too many connections' "$MON_DIR/clients.err") were refused with 1040"
out=$(mon_q hold "$not_sdown and $alive" "$hold_ms" '' "$note"); rc=$?
check "saturated for $hold_ms ms: db-1 never sdown, always reachable or server-error ($out)" test "$rc" -eq 0

# Now make the sentinel reconnect while saturated: kill its connection (root takes the extra slot for
# that), then fill the slot it freed. It gets back in by CONNECTION ADMIN's reserved connection (or,
# if an app client was slower, by the freed slot); a refusal with 1040 would still be alive.
ids=$(mdb_sql 1 "SELECT GROUP_CONCAT(id) FROM information_schema.PROCESSLIST WHERE user = 'sentinel'")
check "the sentinel holds one persistent connection to the primary (ids: $ids)" at_most "$ids" 999999999
for id in ${ids//,/ }; do mdb_sql 1 "KILL CONNECTION $id" || true; done
for _ in 1 2 3; do app_client; done
out=$(mon_q hold "$not_sdown" "$hold_ms" '' "$note"); rc=$?
check "its connection killed, saturated for $hold_ms ms more: db-1 never sdown ($out)" test "$rc" -eq 0
check "...and then reachable or server-error ($(mon_q get "$note"))" mon_q true "$alive"
check "...still saturated" saturated
if out=$(mdb_sql 1 "SELECT 1" 2>&1); then
  echo "    (root got in: the sentinel reconnected through a normal slot freed by the kill)"
else
  echo "    (root refused, $out: the sentinel holds the one reserved CONNECTION ADMIN slot)"
fi
check "no sdown event for db-1 beyond the two above" test "$(grep -cE 'event=sdown[ :].*db-1 ' "$MON_LOG")" -eq 2
for p in "${clients[@]}"; do kill -TERM "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
t0=$(date +%s%N)
check "max_connections back to 151 (as root, once the server has closed the clients' connections)" \
  mon_wait 20 mdb_sql 1 "SET GLOBAL max_connections = 151" 2>/dev/null
echo "    the server took $((($(date +%s%N) - t0) / 1000000)) ms to free the killed clients' connections"
ms=$(mon_q wait "$healthy and srv['db-1']['error'] is None" 5000 '' "$summary"); rc=$?
check "connections released: healthy, no error on db-1 ($ms ms)" test "$rc" -eq 0
mon_require_alive "with the primary saturated"

# ---- SIGTERM: exit 0, sanitizer-clean ----
mon_stop
check "SIGTERM: exit 0 (got $MON_RC)" test "$MON_RC" = 0
check "the audit log ends with sentinel-stop" \
  python3 -c 'import json,sys; sys.exit(json.loads(sys.argv[1])["decision"] != "sentinel-stop")' "$(tail -n 1 "$MON_AUDIT")"
check "no sanitizer report in the daemon's stderr" mon_sanitizer_clean

mon_finish
