#!/usr/bin/env bash
# Semi-sync follows the role (SPEC 5.11) for replicas too: the reconciler turns the semi-sync master
# side of a read-only replica of the known primary off (a replica with it on makes its SQL thread wait
# for acks it never gets), against a real 3-server semi-sync cluster (server 1 primary,
# rpl_semi_sync_master_timeout 30 s on every server, so that a stall cannot pass for lag) and one
# sentinel (probe interval 200 ms).
#   (a) epoch 0 (an adopted primary): db-2 gets rpl_semi_sync_master_enabled=ON and a write on the
#       primary right after, which stalls its SQL thread: within 5 s the master side is off, the write
#       is applied (long before the 30 s timeout), one semi-sync-corrected record (reason
#       SEMI_SYNC_ON_REPLICA, changed: only the master side; the IO thread left alone) and one log
#       line; a later write is applied on db-2 within 2 s and acknowledged by semi-sync.
#   (b) never on a writable server: db-3 with its slave side off (so not a semi-sync client), then
#       read_only=OFF and the master side on: left alone for 2 s; once read-only again: master side
#       off, slave side on, IO thread restarted (the primary counts 2 semi-sync clients again).
#   (c) idempotent: nothing more is done or recorded in the next 2 s; the primary was never touched
#       (writable, master side on and running, slave side off, no replication, epoch 0).
#   (d) the soak's case: db-2 restarted with rpl_semi_sync_master_enabled=ON on its command line (its
#       my.cnf) and a write right after: corrected and applied within 5 s.
#   (e) after a switchover (epoch 1, db-2 primary): db-1, now a replica, with the master side on is
#       corrected the same way.
#   (f) a replica that may not be promoted (db-3, promotable = false after a reload) keeps the
#       semi-sync slave side its DBA gave it (off): a switchover back to db-1 repoints it without
#       turning it on, and its master side turned on is corrected without turning the slave side on.
# Ends with a clean SIGTERM and no sanitizer report. Every process is killed by PID in the exit trap.
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
. "$here/lib.sh"
# shellcheck source=../harness/mdb-harness.sh
. "$here/../harness/mdb-harness.sh"
mdb_trap_teardown

for f in "$SENTINEL" "$SENTINELCTL"; do
  [ -x "$f" ] || { echo "FAIL: $f is not built"; exit 1; }
done
export MDB_SEMISYNC_TIMEOUT_MS=30000
mdb_cluster_up 3 --semisync >/dev/null || exit 1
mon_init sentinel-reconcile-semisync || exit 1
mon_write_config main
mdb_sql 1 "CREATE TABLE app.t (id INT PRIMARY KEY)" || exit 1
mdb_wait_replicated || exit 1

mon_start
ms=$(mon_q wait 'c["state"] == "healthy" and c["primary"] == "db-1"' 10000); rc=$?
check "healthy with primary db-1 ($ms ms)" test "$rc" -eq 0
check "db-1 adopted as the primary (epoch 0)" mon_wait 5 mon_audit_has primary-adopted
mon_require_alive "after its start"

# ---- helpers ----
# corrected [SERVER]: the semi-sync-corrected records (of SERVER), one JSON line each
corrected() {
  python3 -c '
import json, sys
for line in open(sys.argv[1]):
    r = json.loads(line)
    if r.get("decision") == "semi-sync-corrected" and (len(sys.argv) < 3 or r["inputs"].get("server") == sys.argv[2]):
        print(json.dumps({"epoch": r.get("epoch"), "reason": r.get("reason"), "cluster": r.get("cluster"),
                          "server": r["inputs"].get("server"), "primary": r["inputs"].get("primary"),
                          "changed": r["inputs"].get("changed")}))
' "$MON_AUDIT" "$@"
}
n_corrected() { corrected "$@" | grep -c .; }
n_logged() { grep -c "$1, a replica of .* had the semi-sync master side on" "$MON_LOG"; }
var_is() { [ "$(mdb_var "$1" "$2")" = "$3" ]; }
has_row() { [ "$(mdb_sql "$1" "SELECT COUNT(*) FROM app.t WHERE id = $2")" = 1 ]; }
clients_are() { [ "$(mdb_status_var "$1" Rpl_semi_sync_master_clients)" = "$2" ]; }
now_ms() { echo $(($(date +%s%N) / 1000000)); }
io_thread_id() { mdb_sql "$1" "SELECT ID FROM information_schema.PROCESSLIST WHERE USER = 'system user' AND STATE LIKE '%master to send%'"; }

# ---- (a) epoch 0: a replica turns the master side on, and a write stalls its SQL thread ----
io2=$(io_thread_id 2)
no_tx0=$(mdb_status_var 1 Rpl_semi_sync_master_no_tx)
mdb_sql 2 "SET GLOBAL rpl_semi_sync_master_enabled = ON"
t0=$(now_ms)
mdb_sql_as app 1 "INSERT INTO app.t VALUES (1)"
check "db-2: the master side is turned off within 5 s" mdb_wait_until 5 var_is 2 rpl_semi_sync_master_enabled 0
check "db-2: the write it stalled on is applied within 5 s (the timeout is 30 s)" mdb_wait_until 5 has_row 2 1
echo "    FIGURE: db-2 applied the stalled write $(($(now_ms) - t0)) ms after the master side went on"
check "one semi-sync-corrected record for db-2 ($(corrected db-2 | tr '\n' ' '))" mon_wait 5 eval '[ "$(n_corrected db-2)" = 1 ]'
check "...epoch 0, reason SEMI_SYNC_ON_REPLICA, primary db-1, only the master side changed" \
  python3 -c 'import json, sys; r = json.loads(sys.argv[1]); sys.exit(0 if r["epoch"] == 0 and r["reason"] == "SEMI_SYNC_ON_REPLICA" and r["cluster"] == "main" and r["primary"] == "db-1" and r["changed"] == ["rpl_semi_sync_master_enabled=OFF"] else 1)' \
  "$(corrected db-2)"
check "...and one log line with cluster, epoch and reason: $(grep -m1 'db-2, a replica of' "$MON_LOG")" \
  eval '[ "$(n_logged db-2)" = 1 ] && grep -q "cluster=main .*epoch=0 .*reason=SEMI_SYNC_ON_REPLICA.*db-2, a replica of db-1" "$MON_LOG"'
check "db-2: slave side still on, the IO thread not restarted (id $io2 -> $(io_thread_id 2))" \
  eval '[ "$(mdb_var 2 rpl_semi_sync_slave_enabled)" = 1 ] && [ "$(io_thread_id 2)" = "$io2" ]'
t0=$(now_ms)
mdb_sql_as app 1 "INSERT INTO app.t VALUES (2)"
check "a later write is applied on db-2 within 2 s" mdb_wait_until 2 has_row 2 2
echo "    FIGURE: db-2 applied a write $(($(now_ms) - t0)) ms after the primary committed it"
check "...and the primary got its semi-sync ack (Rpl_semi_sync_master_no_tx $no_tx0 -> $(mdb_status_var 1 Rpl_semi_sync_master_no_tx))" \
  test "$(mdb_status_var 1 Rpl_semi_sync_master_no_tx)" = "$no_tx0"

# ---- (b) never on a writable server; the slave side on and the IO thread restarted ----
mdb_sql 3 "STOP SLAVE IO_THREAD; SET GLOBAL rpl_semi_sync_slave_enabled = OFF; START SLAVE IO_THREAD"
check "db-3 is no semi-sync client any more (the primary counts 1)" mdb_wait_until 5 clients_are 1 1
mdb_sql 3 "SET GLOBAL read_only = OFF; SET GLOBAL rpl_semi_sync_master_enabled = ON"
sleep 2
check "db-3 writable with the master side on: left alone for 2 s (10 probe rounds)" \
  eval 'var_is 3 rpl_semi_sync_master_enabled 1 && [ "$(n_corrected db-3)" = 0 ]'
mdb_sql 3 "SET GLOBAL read_only = ON"
check "db-3 read-only again: master side off within 5 s" mdb_wait_until 5 var_is 3 rpl_semi_sync_master_enabled 0
check "...slave side on" mdb_wait_until 2 var_is 3 rpl_semi_sync_slave_enabled 1
check "...the primary counts 2 semi-sync clients again (the IO thread was restarted)" mdb_wait_until 5 clients_are 1 2
check "...replicating (both threads running)" mdb_wait_slave_running 3
check "...one semi-sync-corrected record for db-3 with all three changes ($(corrected db-3 | tr '\n' ' '))" \
  mon_wait 5 eval '[ "$(n_corrected db-3)" = 1 ] && corrected db-3 | grep -qF "\"changed\": [\"rpl_semi_sync_master_enabled=OFF\", \"rpl_semi_sync_slave_enabled=ON\", \"IO thread restarted\"]"'
mdb_sql_as app 1 "INSERT INTO app.t VALUES (3)"
check "a write reaches both replicas" mdb_wait_replicated

# ---- (c) idempotent; the primary untouched ----
sleep 2
check "nothing more recorded or logged in 2 s ($(n_corrected) records, $(n_logged 'db-[0-9]') log lines)" \
  eval '[ "$(n_corrected)" = 2 ] && [ "$(n_logged "db-[0-9]")" = 2 ]'
check "no failure logged" eval '! grep -q "cannot turn the semi-sync master side" "$MON_LOG"'
check "the primary db-1: writable, master side on and running, slave side off, no replication" \
  eval 'var_is 1 read_only 0 && var_is 1 rpl_semi_sync_master_enabled 1 && var_is 1 rpl_semi_sync_slave_enabled 0 &&
        [ "$(mdb_status_var 1 Rpl_semi_sync_master_status)" = ON ] && [ -z "$(mdb_sql 1 "SHOW SLAVE STATUS")" ]'
check "still epoch 0, healthy, no fence, rejoin or failover" \
  eval 'mon_q true "c[\"epoch\"] == 0 and c[\"primary\"] == \"db-1\"" && ! grep -qE "\"decision\":\"(fenced|rejoined|failover-start|switchover-start)\"" "$MON_AUDIT"'
check "no hook ran for the correction" eval '! grep -q "semi-sync-corrected" "$MON_HOOKS"'

# ---- (d) the soak's case: restarted with the master side on in its own configuration ----
mdb_stop 2 || fail "mdb_stop 2"
mdb_start 2 --rpl-semi-sync-master-enabled=ON || fail "mdb_start 2"
check "db-2 came back with the master side on, replicating" mdb_wait_slave_running 2
t0=$(now_ms)
mdb_sql_as app 1 "INSERT INTO app.t VALUES (4)"
check "db-2: master side off within 5 s" mdb_wait_until 5 var_is 2 rpl_semi_sync_master_enabled 0
check "db-2: the write applied within 5 s" mdb_wait_until 5 has_row 2 4
echo "    FIGURE: restarted db-2 applied a write $(($(now_ms) - t0)) ms after it"
check "a second semi-sync-corrected record for db-2" mon_wait 5 eval '[ "$(n_corrected db-2)" = 2 ]'
mon_require_alive "after the restart of db-2"

# ---- (e) after a switchover: the old primary, now a replica, is corrected the same way ----
out=$(mon_ctl switchover main --to db-2 2>&1); rc=$?
check "switchover main --to db-2: exit 0 ($(head -n1 <<<"$out"))" test "$rc" -eq 0
ms=$(mon_q wait 'c["state"] == "healthy" and c["primary"] == "db-2" and c["epoch"] == 1 and srv["db-1"]["replicating_from"] == "db-2"' 10000); rc=$?
check "healthy, db-2 the primary of epoch 1, db-1 its replica ($ms ms)" test "$rc" -eq 0
check "db-1 has the master side off after its demotion" var_is 1 rpl_semi_sync_master_enabled 0
mdb_sql 1 "SET GLOBAL rpl_semi_sync_master_enabled = ON"
mdb_sql_as app 2 "INSERT INTO app.t VALUES (5)"
check "db-1: master side off within 5 s" mdb_wait_until 5 var_is 1 rpl_semi_sync_master_enabled 0
check "db-1: the write applied within 5 s" mdb_wait_until 5 has_row 1 5
check "a semi-sync-corrected record for db-1 at epoch 1, primary db-2" \
  mon_wait 5 eval 'corrected db-1 | grep -q "\"epoch\": 1, .*\"primary\": \"db-2\""'
check "the primary db-2 kept its master side" var_is 2 rpl_semi_sync_master_enabled 1

# ---- (f) a server that may not be promoted keeps its slave side ----
sed -i 's|\({ name = "db-3";[^}]*\) }|\1 promotable = false; }|' "$MON_CONF"
check "the config marks db-3 promotable = false" grep -q 'name = "db-3";.*promotable = false; }' "$MON_CONF"
out=$(mon_ctl reload 2>&1); rc=$?
check "reload: exit 0 ($out)" test "$rc" -eq 0
mdb_sql 3 "SET GLOBAL rpl_semi_sync_slave_enabled = OFF; STOP SLAVE IO_THREAD; START SLAVE IO_THREAD" || fail "db-3: slave side off"
check "db-3 is no semi-sync client of db-2 any more (db-2 counts 1)" mdb_wait_until 5 clients_are 2 1
out=$(mon_ctl switchover main --to db-1 2>&1); rc=$?
check "switchover main --to db-1: exit 0 ($(head -n1 <<<"$out"))" test "$rc" -eq 0
ms=$(mon_q wait 'c["state"] == "healthy" and c["primary"] == "db-1" and c["epoch"] == 2 and srv["db-3"]["replicating_from"] == "db-1"' 10000); rc=$?
check "healthy, db-1 the primary of epoch 2, db-3 repointed to it ($ms ms)" test "$rc" -eq 0
check "db-3 (promotable = false): its slave side left off by the repoint" var_is 3 rpl_semi_sync_slave_enabled 0
check "...and db-2, promotable, has it on" var_is 2 rpl_semi_sync_slave_enabled 1
n3=$(n_corrected db-3)
mdb_sql 3 "SET GLOBAL rpl_semi_sync_master_enabled = ON"
check "db-3: master side off within 5 s" mdb_wait_until 5 var_is 3 rpl_semi_sync_master_enabled 0
check "...its slave side still off" var_is 3 rpl_semi_sync_slave_enabled 0
check "...one more semi-sync-corrected record for db-3, only the master side changed" \
  mon_wait 5 eval '[ "$(n_corrected db-3)" = $((n3 + 1)) ] && corrected db-3 | tail -n 1 | grep -q "\"changed\": \[\"rpl_semi_sync_master_enabled=OFF\"\]"'

mon_stop
check "SIGTERM: exit 0 ($MON_RC)" test "$MON_RC" = 0
check "no sanitizer report" mon_sanitizer_clean
mon_finish
