#!/usr/bin/env bash
# The monitor against a real 3-server cluster (server 1 primary, 2 and 3 replicas): status JSON and
# table (roles, replication, GTIDs, lag, state), READY=1/STATUS= on NOTIFY_SOCKET, a stopped SQL
# thread (degraded, then healthy), an errant transaction (status, log, audit, hook), reload with a
# new cluster and with a broken config, and a clean SIGTERM. SDOWN: test-monitor-sdown.sh.
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
. "$here/lib.sh"
# shellcheck source=../harness/mdb-harness.sh
. "$here/../harness/mdb-harness.sh"
mdb_trap_teardown

if [ ! -x "$SENTINEL" ] || [ ! -x "$SENTINELCTL" ]; then echo "FAIL: $SENTINEL or $SENTINELCTL is not built"; exit 1; fi
# A second cluster (2 servers) for the reload with a new cluster; then the main one, whose MDB_*
# variables stay in force.
mdb_cluster_up 2 >/dev/null || exit 1
dir2=$MDB_DIR
mdb_cluster_up 3 >/dev/null || exit 1
mon_init sentinel-monitor || exit 1
mon_notify_listen || exit 1
mon_write_config demo
mon_start

# ---- 1. status: primary, replicas, GTIDs, lag, state; the table; READY=1 and STATUS= ----
mon_wait 10 grep -qx 'READY=1' "$MON_NOTIFY"; rc=$?
check "READY=1 on NOTIFY_SOCKET after the first probe round ($((($(date +%s%N) - MON_T0) / 1000000)) ms after the start, 50 ms polls)" \
  test "$rc" -eq 0
check "a STATUS= line arrived: $(grep -m1 '^STATUS=' "$MON_NOTIFY")" grep -q '^STATUS=.' "$MON_NOTIFY"
check "STATUS= says demo is healthy with primary db-1" \
  mon_wait 5 grep -qx 'STATUS=demo: healthy, primary db-1' "$MON_NOTIFY"
check "WATCHDOG=1 pings from the loop (WATCHDOG_USEC=2 s)" mon_wait 5 grep -qx 'WATCHDOG=1' "$MON_NOTIFY"
mon_require_alive "after its start"

mdb_sql_as app 1 "CREATE TABLE app.t (id INT PRIMARY KEY)"
for i in 1 2 3 4 5; do mdb_sql_as app 1 "INSERT INTO app.t VALUES ($i)"; done
mdb_wait_replicated -p 1 2 3 || exit 1
pos=$(mdb_var 1 gtid_current_pos)
ms=$(mon_q wait 'all(srv[s]["gtid_current_pos"] == "'"$pos"'" for s in ("db-1", "db-2", "db-3"))' 5000 '' \
  '[s["gtid_current_pos"] for s in c["servers"]]'); rc=$?
check "the status shows every server at the primary's @@gtid_current_pos $pos ($ms ms)" test "$rc" -eq 0
for i in 1 2 3; do
  own=$(mdb_var "$i" gtid_current_pos)
  got=$(mon_q get "srv['db-$i']['gtid_current_pos']")
  check "db-$i gtid_current_pos in status ($got) = the server's own @@gtid_current_pos ($own)" test "$got" = "$own"
done
check "primary is db-1 ($(mon_q get 'c["primary"]'))" mon_q true 'c["primary"] == "db-1"'
check "db-1: role primary, reachable, writable, replicating from nobody, not sdown" \
  mon_q true 'srv["db-1"]["role"] == "primary" and srv["db-1"]["reachable"] and srv["db-1"]["read_only"] is False and srv["db-1"]["replicating_from"] is None and not srv["db-1"]["sdown"]'
for i in 2 3; do
  check "db-$i: role replica, read-only, replicating_from db-1 ($(mon_q get "[srv['db-$i'][k] for k in ('role', 'replicating_from', 'read_only')]"))" \
    mon_q true "srv['db-$i']['role'] == 'replica' and srv['db-$i']['replicating_from'] == 'db-1' and srv['db-$i']['read_only'] is True"
done
check "lag_ms is 0 on every server ($(mon_q get '[s["lag_ms"] for s in c["servers"]]'))" \
  mon_q true 'all(s["lag_ms"] == 0 for s in c["servers"])'
check "state healthy, no reasons, no mismatches ($(mon_q get '[c["state"], c["state_reasons"], c["mismatches"]]'))" \
  mon_q true 'c["state"] == "healthy" and c["state_reasons"] == [] and c["mismatches"] == []'
check "no server reports a probe error" mon_q true 'all(s["error"] is None and s["errant"] is None for s in c["servers"])'

mon_ctl status demo >"$MON_DIR/table"; rc=$?
sed 's/^/    | /' "$MON_DIR/table"
table=$(cat "$MON_DIR/table")
check "sentinelctl status (table): exit 0" test "$rc" -eq 0
check "the table has db-1 as primary in zone-1" grep -qE '^db-1 +zone-1 +primary ' <<<"$table"
check "the table has db-2 as replica in zone-2" grep -qE '^db-2 +zone-2 +replica ' <<<"$table"
check "the table has db-3 as replica in zone-3" grep -qE '^db-3 +zone-3 +replica ' <<<"$table"
check "the table shows the state healthy and the primary" grep -qE '^state: healthy .*primary: db-1' <<<"$table"
mon_require_alive "during the status checks"

# ---- 2. a replica's SQL thread stopped: degraded (replication-broken), then healthy again ----
t0=$(date +%s%N)
mdb_sql 2 "STOP SLAVE SQL_THREAD"
ms=$(mon_q wait 'c["state"] == "degraded" and "replication-broken" in c["state_reasons"]' 2000 "$t0" \
  '[c["state"], c["state_reasons"]]'); rc=$?
check "SQL thread stopped on db-2: state degraded, reason replication-broken, within 2000 ms ($ms ms)" test "$rc" -eq 0
check "...db-2 is shown broken with sql_running false" \
  mon_q true 'srv["db-2"]["broken"] is True and srv["db-2"]["replication"]["sql_running"] is False'
check "...and db-3 is not" mon_q true 'srv["db-3"]["broken"] is False'
t0=$(date +%s%N)
mdb_sql 2 "START SLAVE SQL_THREAD"
ms=$(mon_q wait 'c["state"] == "healthy" and c["state_reasons"] == []' 2000 "$t0" '[c["state"], c["state_reasons"]]'); rc=$?
check "SQL thread started again: healthy within 2000 ms ($ms ms)" test "$rc" -eq 0
mon_require_alive "with a replica's SQL thread stopped and started"

# ---- 3. an errant transaction on db-3: status, mismatch, log, audit, hook ----
# root has READ_ONLY ADMIN, so it writes on the read-only replica; sql_log_bin=1 gives it a GTID of
# db-3's own (0-3-N) that the primary never had.
t0=$(date +%s%N)
mdb_sql 3 "SET SESSION sql_log_bin=1; INSERT INTO app.t VALUES (1000)"
errant=$(mdb_var 3 gtid_current_pos)
ms=$(mon_q wait 'srv["db-3"]["errant"] is not None' 3000 "$t0" '[srv["db-3"]["errant"], c["mismatches"]]'); rc=$?
check "errant on db-3 (server at $errant): detected in the status ($ms ms)" test "$rc" -eq 0
got=$(mon_q get 'srv["db-3"]["errant"]')
check "db-3 errant = $got, its own transaction $errant" test "$got" = "$errant"
check "db-1 and db-2 have no errant GTIDs" mon_q true 'srv["db-1"]["errant"] is None and srv["db-2"]["errant"] is None'
check "a mismatch of kind errant names db-3 ($(mon_q get '[m["kind"] + ": " + m["text"] for m in c["mismatches"]]'))" \
  mon_q true 'any(m["kind"] == "errant" and "db-3" in m["servers"] for m in c["mismatches"])'
check "state degraded with reason errant ($(mon_q get '[c["state"], c["state_reasons"]]'))" \
  mon_q true 'c["state"] == "degraded" and "errant" in c["state_reasons"]'
check "the log has event=errant for db-3: $(grep -m1 'event=errant' "$MON_LOG")" \
  mon_wait 3 grep -qE 'cluster=demo .*event=errant[ :].*db-3' "$MON_LOG"
check "the audit log has a record with decision errant for db-3" mon_wait 3 mon_audit_has errant db-3
check "the hook got SENTINEL_EVENT=errant with the event's JSON on stdin" mon_wait 5 mon_hook_got errant
check "...with SENTINEL_NAME, SENTINEL_SEVERITY and SENTINEL_MESSAGE set" \
  grep -qx "SENTINEL_NAME=mon-a" "$MON_HOOKS"
check "...SENTINEL_SEVERITY" grep -q "^SENTINEL_SEVERITY=." "$MON_HOOKS"
check "...SENTINEL_MESSAGE naming db-3" grep -q "^SENTINEL_MESSAGE=.*db-3" "$MON_HOOKS"
mon_require_alive "after the errant transaction"

# ---- 7. reload: a second cluster by SIGHUP; a broken config refused by sentinelctl reload ----
mon_write_config demo "demo2=$dir2"
kill -HUP "$MON_PID"
ms=$(mon_q wait '[x["name"] for x in cs] == ["demo", "demo2"]' 5000 '' '[x["name"] for x in cs]'); rc=$?
check "SIGHUP with a second cluster: status lists demo and demo2 ($ms ms)" test "$rc" -eq 0
ms=$(mon_q_cluster demo2 wait 'c["name"] == "demo2" and c["primary"] == "db-1" and srv["db-2"]["role"] == "replica" and c["state"] == "healthy"' 5000 '' \
  '[c.get("primary"), [(s["name"], s["role"]) for s in c.get("servers", [])]]'); rc=$?
check "...demo2 probes its servers: primary db-1, replica db-2 ($ms ms)" test "$rc" -eq 0
check "...demo kept its state (degraded, errant) across the reload" \
  mon_q true 'c["name"] == "demo" and "errant" in c["state_reasons"]'
check "...logged as reloaded, 2 clusters" grep -qE "configuration reloaded .*2 cluster" "$MON_LOG"
check "...RELOADING=1 was sent" grep -qx 'RELOADING=1' "$MON_NOTIFY"

cp "$MON_CONF" "$MON_CONF.good"
sed -i '0,/quorum = 1;/s//quorum = 9;/' "$MON_CONF"
line=$(grep -n 'quorum = 9;' "$MON_CONF" | cut -d: -f1)
err=$(mon_ctl reload 2>&1 >/dev/null); rc=$?
check "sentinelctl reload with quorum = 9: exit 1 (got $rc)" test "$rc" -eq 1
check "...one line on stderr naming $MON_CONF:$line and quorum: $err" \
  mon_one_line "$err" "sentinelctl: *$MON_CONF:$line: *quorum*"
check "...the daemon still runs" _mon_alive "$MON_PID"
check "...with both clusters" mon_q true '[x["name"] for x in cs] == ["demo", "demo2"]'
check "...the refusal is audited (reload-refused)" mon_audit_has reload-refused
out=$(mon_ctl status nosuchcluster 2>&1); rc=$?
check "sentinelctl status nosuchcluster: exit 1 (got $rc)" test "$rc" -eq 1
check "...one line naming it: $out" mon_one_line "$out" "sentinelctl: *nosuchcluster*"
cp "$MON_CONF.good" "$MON_CONF"
mon_require_alive "after the reloads"

# ---- 8. SIGTERM: exit 0, socket removed, sentinel-stop last in the audit log; sentinelctl exits 3 ----
mon_stop
check "SIGTERM: exit 0 (got $MON_RC)" test "$MON_RC" = 0
check "the control socket file is removed" test ! -e "$MON_SOCK"
last=$(tail -n 1 "$MON_AUDIT")
check "the audit log ends with sentinel-stop: $last" \
  python3 -c 'import json,sys; sys.exit(json.loads(sys.argv[1])["decision"] != "sentinel-stop")' "$last"
check "every audit line is JSON" python3 -c 'import json,sys; [json.loads(l) for l in open(sys.argv[1])]' "$MON_AUDIT"
check "STOPPING=1 was sent" grep -qx 'STOPPING=1' "$MON_NOTIFY"
out=$(mon_ctl status 2>&1); rc=$?
check "sentinelctl status with the daemon gone: exit 3 (got $rc)" test "$rc" -eq 3
check "...with one line: $out" mon_one_line "$out" "sentinelctl: *"
check "no sanitizer report in the daemon's stderr" mon_sanitizer_clean

mon_finish
