#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# `mdb_cluster_up N --semisync` gives a primary running semi-sync replication
# (master side, AFTER_SYNC) acknowledged by every replica (slave side only),
# and a restarted replica comes back as a semi-sync client.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../harness/mdb-harness.sh
. "$here/../harness/mdb-harness.sh"
mdb_trap_teardown

t0=$(_mdb_now_us)
mdb_cluster_up 3 --semisync
elapsed=$(mdb_elapsed "$t0")
echo "# 3 servers up with semi-sync in $elapsed s"
mdb_assert_eq "env file records semi-sync" 1 "$MDB_SEMISYNC"

# ---- primary: master side only ------------------------------------------------
mdb_assert_eq "primary: rpl_semi_sync_master_enabled=ON" 1 "$(mdb_var 1 rpl_semi_sync_master_enabled)"
mdb_assert_eq "primary: Rpl_semi_sync_master_status=ON" ON "$(mdb_status_var 1 Rpl_semi_sync_master_status)"
mdb_assert_eq "primary: Rpl_semi_sync_master_clients=2" 2 "$(mdb_status_var 1 Rpl_semi_sync_master_clients)"
mdb_assert_eq "primary: rpl_semi_sync_master_wait_point=AFTER_SYNC" AFTER_SYNC "$(mdb_var 1 rpl_semi_sync_master_wait_point)"
mdb_assert_eq "primary: rpl_semi_sync_master_timeout=$MDB_SEMISYNC_TIMEOUT_MS ms" "$MDB_SEMISYNC_TIMEOUT_MS" \
	"$(mdb_var 1 rpl_semi_sync_master_timeout)"
mdb_assert_eq "primary: slave side off (rpl_semi_sync_slave_enabled=OFF)" 0 "$(mdb_var 1 rpl_semi_sync_slave_enabled)"

# ---- replicas: slave side only --------------------------------------------------
for i in 2 3; do
	mdb_assert_eq "replica $i: rpl_semi_sync_slave_enabled=ON" 1 "$(mdb_var "$i" rpl_semi_sync_slave_enabled)"
	mdb_assert_eq "replica $i: Rpl_semi_sync_slave_status=ON" ON "$(mdb_status_var "$i" Rpl_semi_sync_slave_status)"
	mdb_assert_eq "replica $i: master side off (rpl_semi_sync_master_enabled=OFF)" 0 "$(mdb_var "$i" rpl_semi_sync_master_enabled)"
	mdb_assert_eq "replica $i: Rpl_semi_sync_master_status=OFF" OFF "$(mdb_status_var "$i" Rpl_semi_sync_master_status)"
done

# ---- a write is acknowledged ------------------------------------------------------
mdb_sql_as app 1 "CREATE TABLE app.t (id INT PRIMARY KEY)"
yes0=$(mdb_status_var 1 Rpl_semi_sync_master_yes_tx)
no0=$(mdb_status_var 1 Rpl_semi_sync_master_no_tx)
mdb_sql_as app 1 "INSERT INTO app.t VALUES (1)"
yes1=$(mdb_status_var 1 Rpl_semi_sync_master_yes_tx)
no1=$(mdb_status_var 1 Rpl_semi_sync_master_no_tx)
mdb_assert_eq "a write (one INSERT) is acknowledged: Rpl_semi_sync_master_yes_tx $yes0 -> $yes1" "$((yes0 + 1))" "$yes1"
mdb_assert_eq "... and no transaction went unacknowledged (Rpl_semi_sync_master_no_tx)" "$no0" "$no1"
mdb_assert "... it is on both replicas" mdb_wait_replicated
for i in 2 3; do
	mdb_assert_eq "replica $i has the row" 1 "$(mdb_sql "$i" "SELECT COUNT(*) FROM app.t")"
done

# ---- restart a replica: the slave side comes back with it -------------------------
mdb_assert "mdb_stop 3 (orderly shutdown)" mdb_stop 3
mdb_assert_fails "server 3 is not running" mdb_is_running 3
clients_are() { [ "$(mdb_status_var 1 Rpl_semi_sync_master_clients)" = "$1" ]; }
mdb_assert "primary: Rpl_semi_sync_master_clients drops to 1" mdb_wait_until 10 clients_are 1
yes0=$(mdb_status_var 1 Rpl_semi_sync_master_yes_tx)
mdb_sql_as app 1 "INSERT INTO app.t VALUES (2)"
mdb_assert "with one replica down a write is still acknowledged (yes_tx increases)" \
	test "$(mdb_status_var 1 Rpl_semi_sync_master_yes_tx)" -gt "$yes0"
mdb_start 3
mdb_assert "mdb_start 3: running again" mdb_is_running 3
mdb_assert_eq "... with the same port" "$MDB_PORT_3" "$(mdb_sql 3 "SELECT @@port")"
mdb_assert_eq "... env file has its new pid" "MDB_PID_3=$(cat "$MDB_PIDFILE_3")" \
	"$(grep -o '^export MDB_PID_3=.*' "$MDB_DIR/cluster.env" | sed 's/^export //')"
mdb_assert_eq "... slave side on again (from its command line)" 1 "$(mdb_var 3 rpl_semi_sync_slave_enabled)"
mdb_assert "... replicating" mdb_wait_slave_running 3
mdb_assert "primary: Rpl_semi_sync_master_clients back to 2" mdb_wait_until 10 clients_are 2
mdb_assert "... replica 3 caught up with the write it missed" mdb_wait_replicated

# ---- SIGKILL a replica and restart it ------------------------------------------------
old=$MDB_PID_2
mdb_kill 2
dead() { # PID: no such process, or a zombie
	local st
	st=$(cat "/proc/$1/stat" 2>/dev/null) || return 0
	st=${st##*) }
	[ "${st%% *}" = Z ]
}
mdb_assert "mdb_kill 2: process $old is gone" dead "$old"
mdb_start 2
mdb_assert "mdb_start 2 after SIGKILL: replicating again" mdb_wait_slave_running 2
mdb_assert "primary: Rpl_semi_sync_master_clients back to 2" mdb_wait_until 10 clients_are 2
yes0=$(mdb_status_var 1 Rpl_semi_sync_master_yes_tx)
mdb_sql_as app 1 "INSERT INTO app.t VALUES (3)"
mdb_assert "a write after the restarts is acknowledged" test "$(mdb_status_var 1 Rpl_semi_sync_master_yes_tx)" -gt "$yes0"
mdb_assert_eq "primary still Rpl_semi_sync_master_status=ON" ON "$(mdb_status_var 1 Rpl_semi_sync_master_status)"
mdb_assert "all replicas caught up" mdb_wait_replicated

mdb_done "test-harness-semisync (3 servers up in $elapsed s)"
