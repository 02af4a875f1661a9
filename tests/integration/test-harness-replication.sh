#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# The shared harness brings up a real 3-server MariaDB GTID cluster quickly,
# configured as the sentinel expects, and its `sentinel` account can do every
# statement the sentinel needs - each privilege proven necessary - but cannot
# touch application data.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../harness/mdb-harness.sh
. "$here/../harness/mdb-harness.sh"
mdb_trap_teardown

budget_s=${MDB_UP_BUDGET_S:-10}

# ---- bring-up -------------------------------------------------------------
t0=$(_mdb_now_us)
mdb_cluster_up 3
elapsed=$(mdb_elapsed "$t0")
echo "# 3 servers up and replicating in $elapsed s (budget $budget_s s)"
mdb_assert "cluster of 3 came up within $budget_s s (took $elapsed s)" \
	test "$(($(_mdb_now_us) - t0))" -lt "$((budget_s * 1000000))"

# ---- configuration --------------------------------------------------------
for i in 1 2 3; do
	mdb_assert_eq "server $i: log_bin, log_slave_updates, gtid_strict_mode, binlog_format=ROW, server_id=$i, skip_name_resolve" \
		"1	1	1	ROW	$i	1" \
		"$(mdb_sql "$i" "SELECT @@log_bin, @@log_slave_updates, @@gtid_strict_mode, @@binlog_format, @@server_id, @@skip_name_resolve")"
	mdb_assert_eq "server $i: listens on the env file's address ($(_mdb_get HOST "$i"):$(_mdb_get PORT "$i"))" \
		"$(_mdb_get BIND "$i")	$(_mdb_get PORT "$i")" "$(mdb_sql "$i" "SELECT @@bind_address, @@port")"
	mdb_assert_eq "server $i: pid in env file = pid file = running process" \
		"$(cat "$(_mdb_get PIDFILE "$i")")" "$(_mdb_get PID "$i")"
done
mdb_assert_eq "primary (1) is writable: read_only=OFF" 0 "$(mdb_var 1 read_only)"
for i in 2 3; do
	mdb_assert_eq "replica $i is read_only=ON" 1 "$(mdb_var "$i" read_only)"
	mdb_assert_eq "replica $i: IO and SQL threads running" "Yes Yes" \
		"$(mdb_slave_field "$i" Slave_IO_Running) $(mdb_slave_field "$i" Slave_SQL_Running)"
	mdb_assert_eq "replica $i: MASTER_USE_GTID=slave_pos (Using_Gtid)" Slave_Pos "$(mdb_slave_field "$i" Using_Gtid)"
	mdb_assert_eq "replica $i: replicates from server 1 as repl" "$MDB_HOST_1:$MDB_PORT_1 repl" \
		"$(mdb_slave_field "$i" Master_Host):$(mdb_slave_field "$i" Master_Port) $(mdb_slave_field "$i" Master_User)"
done
for u in sentinel repl app; do
	f="$MDB_DIR/$u.password"
	mdb_assert_eq "password file of $u is mode 0600" 600 "$(stat -c %a "$f")"
	mdb_assert_match "password file of $u holds a random 64-hex-digit password, no newline" '^[0-9a-f]{64}$' "$(cat "$f")"
	mdb_assert_eq "password file of $u has no trailing newline" 64 "$(wc -c <"$f")"
done
mdb_assert_eq "env file names the password files" \
	"$MDB_DIR/sentinel.password $MDB_DIR/repl.password $MDB_DIR/app.password" \
	"$MDB_SENTINEL_PASSWORD_FILE $MDB_REPL_PASSWORD_FILE $MDB_APP_PASSWORD_FILE"

# ---- replication ------------------------------------------------------------
mdb_sql_as app 1 "CREATE TABLE app.t (id INT PRIMARY KEY, v VARCHAR(40)) ENGINE=InnoDB"
mdb_sql_as app 1 "INSERT INTO app.t SELECT seq, MD5(seq) FROM app.seq_1_to_100"
for k in 101 102 103; do
	mdb_sql_as app 1 "INSERT INTO app.t VALUES ($k, 'single')"
done
mdb_assert "all replicas reach the primary's gtid_binlog_pos (mdb_wait_replicated)" mdb_wait_replicated
sum1=$(mdb_sql 1 "CHECKSUM TABLE app.t" | cut -f2)
for i in 2 3; do
	mdb_assert_eq "replica $i has the 103 rows written on the primary" 103 "$(mdb_sql_as app "$i" "SELECT COUNT(*) FROM app.t")"
	mdb_assert_eq "replica $i: table checksum equals the primary's" "$sum1" "$(mdb_sql "$i" "CHECKSUM TABLE app.t" | cut -f2)"
done
pos=$(mdb_var 1 gtid_binlog_pos)
mdb_assert_match "primary's gtid_binlog_pos is a single domain-0 server-1 GTID" '^0-1-[0-9]+$' "$pos"
mdb_assert_eq "primary: gtid_current_pos = gtid_binlog_pos" "$pos" "$(mdb_var 1 gtid_current_pos)"
for i in 2 3; do
	mdb_assert_eq "replica $i: gtid_slave_pos, gtid_current_pos, gtid_binlog_pos equal the primary's ($pos)" \
		"$pos $pos $pos" "$(mdb_var "$i" gtid_slave_pos) $(mdb_var "$i" gtid_current_pos) $(mdb_var "$i" gtid_binlog_pos)"
done
mdb_assert_fails "app user cannot write on a read_only replica" mdb_sql_as app 2 "INSERT INTO app.t VALUES (999, 'x')"
mdb_assert_match "... refused by read_only (ER_OPTION_PREVENTS_STATEMENT 1290)" 'ERROR 1290' "$MDB_LAST_OUT"

# ---- accounts -----------------------------------------------------------------
# shellcheck disable=SC2016 # backquotes are SQL identifiers, not expansions
mdb_assert_match "repl has REPLICATION SLAVE and nothing else" \
	'^GRANT REPLICATION SLAVE ON \*\.\* TO `repl`@`%` IDENTIFIED BY PASSWORD' \
	"$(mdb_sql 1 "SHOW GRANTS FOR 'repl'@'%'")"
mdb_assert_fails "repl cannot read application tables" mdb_sql_as repl 1 "SELECT * FROM app.t"
# "GRANT A, B ON *.* TO ... IDENTIFIED BY ..." -> "A,B" sorted (the server
# orders privileges its own way).
privset() {
	local g=${1%% ON \**}
	tr ',' '\n' <<<"${g#GRANT }" | sed 's/^ *//' | sort | paste -sd,
}
documented="SLAVE MONITOR, BINLOG MONITOR, REPLICATION SLAVE ADMIN, REPLICATION MASTER ADMIN, READ_ONLY ADMIN, CONNECTION ADMIN, PROCESS, RELOAD"
for i in 1 2 3; do
	mdb_assert_eq "server $i: sentinel holds exactly: $documented" \
		"$(privset "GRANT $documented ON *.*")" "$(privset "$(mdb_sql_as sentinel "$i" "SHOW GRANTS FOR CURRENT_USER")")"
done

# ---- the sentinel's statements, each as `sentinel` over TCP ---------------------
S() { mdb_sql_as sentinel "$@"; }

# Probing.
mdb_assert_match "sentinel: SHOW ALL SLAVES STATUS on replica 2 shows its primary" "$MDB_PORT_1" "$(S 2 "SHOW ALL SLAVES STATUS")"
mdb_assert_match "sentinel: SHOW SLAVE STATUS on replica 3" 'Yes' "$(S 3 "SHOW SLAVE STATUS")"
mdb_assert_eq "sentinel: reads gtid_current_pos, gtid_binlog_pos, gtid_slave_pos" "$pos	$pos	$pos" \
	"$(S 2 "SELECT @@gtid_current_pos, @@gtid_binlog_pos, @@gtid_slave_pos")"
mdb_assert_match "sentinel: SHOW GLOBAL STATUS LIKE 'Rpl_semi_sync%'" 'Rpl_semi_sync_master_status' \
	"$(S 1 "SHOW GLOBAL STATUS LIKE 'Rpl_semi_sync%'")"
mdb_assert_match "sentinel: SHOW GLOBAL VARIABLES LIKE 'rpl_semi_sync%'" 'rpl_semi_sync_master_wait_point' \
	"$(S 1 "SHOW GLOBAL VARIABLES LIKE 'rpl_semi_sync%'")"
mdb_assert_match "sentinel: SHOW BINLOG STATUS (binlog coordinates)" 'mariadb-bin\.0+1' "$(S 1 "SHOW BINLOG STATUS")"
mdb_assert_eq "sentinel: SHOW SLAVE HOSTS on the primary lists both replicas" "2 3" \
	"$(S 1 "SHOW SLAVE HOSTS" | cut -f1 | sort | tr '\n' ' ' | sed 's/ $//')"
mdb_assert_eq "sentinel: SELECT MASTER_GTID_WAIT('$pos', 5) on replica 2 returns 0" 0 \
	"$(S 2 "SELECT MASTER_GTID_WAIT('$pos', 5)")"

# Fencing: read_only, and finding + killing other users' connections.
mdb_assert "sentinel: SET GLOBAL read_only=ON on the primary" S 1 "SET GLOBAL read_only=ON"
mdb_assert_eq "... the primary is now read_only" 1 "$(mdb_var 1 read_only)"
mdb_assert_fails "... and refuses the app user's writes" mdb_sql_as app 1 "INSERT INTO app.t VALUES (1000, 'fenced')"
mdb_assert "sentinel: SET GLOBAL read_only=OFF on the primary" S 1 "SET GLOBAL read_only=OFF"
mdb_assert "... the app user can write again" mdb_sql_as app 1 "INSERT INTO app.t VALUES (1000, 'unfenced')"

# Helpers for background app connections sitting in SELECT SLEEP(60).
sleeping="USER='app' AND INFO LIKE 'SELECT SLEEP%'"
sleeper_ids() { mdb_sql "$1" "SELECT ID FROM information_schema.PROCESSLIST WHERE $sleeping"; }
sleepers_are() { [ "$(sleeper_ids "$1" | grep -c .)" = "$2" ]; }
gone() { ! kill -0 "$1" 2>/dev/null; }

mdb_sql_as app 1 "SELECT SLEEP(60)" >/dev/null 2>&1 &
sleeper=$!
mdb_assert "an app connection is running SELECT SLEEP(60) on the primary" mdb_wait_until 10 sleepers_are 1 1
id=$(S 1 "SELECT ID FROM information_schema.PROCESSLIST WHERE $sleeping")
mdb_assert_match "sentinel: sees the app user's connection in the process list (PROCESS)" '^[0-9]+$' "$id"
mdb_assert "sentinel: KILL CONNECTION $id (another user's connection)" S 1 "KILL CONNECTION $id"
mdb_assert "... the app client is disconnected" mdb_wait_until 10 gone "$sleeper"
wait "$sleeper" 2>/dev/null || true

# Semi-sync knobs, master side on the primary, slave side on a replica.
mdb_assert "sentinel: SET GLOBAL rpl_semi_sync_master_enabled=ON, wait point, timeout on the primary" \
	S 1 "SET GLOBAL rpl_semi_sync_master_wait_point=AFTER_SYNC; SET GLOBAL rpl_semi_sync_master_timeout=5000; SET GLOBAL rpl_semi_sync_master_enabled=ON"
mdb_assert_eq "... took effect" "1 AFTER_SYNC 5000" "$(mdb_sql 1 "SELECT @@rpl_semi_sync_master_enabled, @@rpl_semi_sync_master_wait_point, @@rpl_semi_sync_master_timeout" | tr '\t' ' ')"
mdb_assert "sentinel: SET GLOBAL rpl_semi_sync_master_enabled=OFF on the primary" S 1 "SET GLOBAL rpl_semi_sync_master_enabled=OFF"
mdb_assert_eq "... took effect" 0 "$(mdb_var 1 rpl_semi_sync_master_enabled)"
mdb_assert "sentinel: SET GLOBAL rpl_semi_sync_slave_enabled=ON + restart the IO thread on replica 2" \
	S 2 "SET GLOBAL rpl_semi_sync_slave_enabled=ON; STOP SLAVE IO_THREAD; START SLAVE IO_THREAD"
mdb_assert_eq "... took effect" 1 "$(mdb_var 2 rpl_semi_sync_slave_enabled)"
mdb_assert "sentinel: SET GLOBAL rpl_semi_sync_slave_enabled=OFF + restart the IO thread on replica 2" \
	S 2 "SET GLOBAL rpl_semi_sync_slave_enabled=OFF; STOP SLAVE IO_THREAD; START SLAVE IO_THREAD"
mdb_assert_eq "... took effect" 0 "$(mdb_var 2 rpl_semi_sync_slave_enabled)"
mdb_assert "... replica 2 replicates again" mdb_wait_slave_running 2

# Repointing a replica: STOP SLAVE, RESET SLAVE ALL, gtid_slave_pos, CHANGE MASTER, START SLAVE.
mdb_assert "sentinel: STOP SLAVE on replica 3" S 3 "STOP SLAVE"
mdb_assert "sentinel: RESET SLAVE ALL on replica 3" S 3 "RESET SLAVE ALL"
mdb_assert_eq "... replica 3 has no primary any more" "" "$(mdb_sql 3 "SHOW SLAVE STATUS")"
p3=$(mdb_var 3 gtid_current_pos)
mdb_assert "sentinel: SET GLOBAL gtid_slave_pos='$p3' on replica 3" S 3 "SET GLOBAL gtid_slave_pos='$p3'"
mdb_assert "sentinel: CHANGE MASTER TO ... MASTER_USE_GTID=slave_pos on replica 3" \
	S 3 "CHANGE MASTER TO MASTER_HOST='$MDB_HOST_1', MASTER_PORT=$MDB_PORT_1, MASTER_USER='repl', MASTER_PASSWORD='$(mdb_password repl)', MASTER_USE_GTID=slave_pos, MASTER_CONNECT_RETRY=1"
mdb_assert "sentinel: START SLAVE on replica 3" S 3 "START SLAVE"
mdb_assert "... replica 3 replicates again" mdb_wait_slave_running 3
mdb_sql_as app 1 "INSERT INTO app.t VALUES (1001, 'after repoint')"
mdb_assert "... and catches up with new writes" mdb_wait_replicated

# max_connections saturated: only CONNECTION ADMIN gets the reserved extra slot.
# (max_connections is lowered once the 10 are in: root's own polling
# connection would otherwise take one of the 10 slots; 10 is the minimum.)
sleepers=()
for _ in $(seq 10); do
	mdb_sql_as app 2 "SELECT SLEEP(60)" >/dev/null 2>&1 &
	sleepers+=($!)
done
mdb_assert "10 app connections are open on replica 2" mdb_wait_until 10 sleepers_are 2 10
mdb_sql 2 "SET GLOBAL max_connections=10"
mdb_assert_eq "... and fill max_connections=10" "10 10" \
	"$(mdb_var 2 max_connections) $(mdb_sql 2 "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE USER='app'")"
mdb_assert_fails "an 11th app connection is refused" mdb_sql_as app 2 "SELECT 1"
mdb_assert_match "... with ER_CON_COUNT_ERROR (Too many connections)" '1040|Too many connections' "$MDB_LAST_OUT"
mdb_assert_fails "repl (no CONNECTION ADMIN) is refused too" mdb_sql_as repl 2 "SELECT 1"
mdb_assert_eq "sentinel still gets in (CONNECTION ADMIN)" 1 "$(S 2 "SELECT 1")"
# (KILL CONNECTION per id, as fencing would: KILL USER of 10 sleeping
# connections takes ~2 s in 10.11, KILL CONNECTION of each is immediate.)
kills=$(S 2 "SELECT CONCAT('KILL CONNECTION ', ID, ';') FROM information_schema.PROCESSLIST WHERE $sleeping")
mdb_assert "sentinel: lists and kills the 10 app connections while saturated" S 2 "$kills"
for p in "${sleepers[@]}"; do wait "$p" 2>/dev/null || true; done
mdb_sql 2 "SET GLOBAL max_connections=151"

# ---- least privilege: without each privilege its statement is refused ---------
revoke() { mdb_sql "$2" "SET SESSION sql_log_bin=0; REVOKE $1 ON *.* FROM 'sentinel'@'%'"; }
grant() { mdb_sql "$2" "SET SESSION sql_log_bin=0; GRANT $1 ON *.* TO 'sentinel'@'%'"; }
needs() { # PRIV SERVER SQL
	revoke "$1" "$2"
	mdb_assert_fails "without $1, sentinel is refused: $3" S "$2" "$3"
	mdb_assert_match "... with an access-denied error" 'ERROR (1227|1095|1142|1044)' "$MDB_LAST_OUT"
	grant "$1" "$2"
}
needs "SLAVE MONITOR" 2 "SHOW SLAVE STATUS"
needs "BINLOG MONITOR" 1 "SHOW BINLOG STATUS"
needs "REPLICATION SLAVE ADMIN" 2 "SET GLOBAL rpl_semi_sync_slave_enabled=OFF"
needs "REPLICATION MASTER ADMIN" 1 "SET GLOBAL rpl_semi_sync_master_enabled=OFF"
needs "READ_ONLY ADMIN" 1 "SET GLOBAL read_only=OFF"
mdb_sql 3 "STOP SLAVE"
needs "RELOAD" 3 "RESET SLAVE"
mdb_sql 3 "START SLAVE"
mdb_sql_as app 1 "SELECT SLEEP(60)" >/dev/null 2>&1 &
sleeper=$!
mdb_wait_until 10 sleepers_are 1 1
id=$(sleeper_ids 1)
revoke PROCESS 1
mdb_assert_eq "without PROCESS, sentinel does not see other users' connections" 0 \
	"$(S 1 "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE $sleeping")"
grant PROCESS 1
needs "CONNECTION ADMIN" 1 "KILL CONNECTION $id"
mdb_assert "with CONNECTION ADMIN back, sentinel kills it" S 1 "KILL CONNECTION $id"
wait "$sleeper" 2>/dev/null || true

# ---- ... and no access to data ----------------------------------------------
mdb_assert_fails "sentinel cannot SELECT from an application table" S 1 "SELECT * FROM app.t"
mdb_assert_match "... ER_TABLEACCESS_DENIED_ERROR" 'ERROR 1142' "$MDB_LAST_OUT"
mdb_assert_fails "sentinel cannot INSERT into an application table" S 1 "INSERT INTO app.t VALUES (2000, 'no')"
mdb_assert_fails "sentinel cannot read mysql.user" S 1 "SELECT * FROM mysql.user"
mdb_assert_fails "sentinel cannot CREATE DATABASE" S 1 "CREATE DATABASE nope"
mdb_assert_fails "sentinel has no SUPER (SET GLOBAL sql_slave_skip_counter)" S 2 "SET GLOBAL sql_slave_skip_counter=1"

mdb_assert "replication still healthy at the end" mdb_wait_replicated
mdb_done "test-harness-replication (3 servers up in $elapsed s)"
