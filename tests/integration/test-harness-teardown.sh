#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Teardown kills exactly the mariadbd processes the harness started (by PID,
# never by name), also when a test fails, is killed, or a server is stopped,
# and removes the cluster directory; it never touches anything else.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
harness="$here/../harness/mdb-harness.sh"
cli="$here/../harness/mdb-cluster"
# shellcheck source=../harness/mdb-harness.sh
. "$harness"
mdb_trap_teardown

work=$(mktemp -d "${TMPDIR:-/tmp}/test-harness-teardown.XXXXXX")
bystander=
cleanup() {
	[ -z "$bystander" ] || kill "$bystander" 2>/dev/null || true
	rm -rf "$work"
}
mdb_on_exit cleanup

dead() { # PID: no such process, or a zombie
	local st
	st=$(cat "/proc/$1/stat" 2>/dev/null) || return 0
	st=${st##*) }
	[ "${st%% *}" = Z ]
}
all_dead() {
	local p
	for p in "$@"; do dead "$p" || return 1; done
}
listening() { [ -n "$(ss -Hltn "( sport = :$1 )")" ]; }
none_listening() {
	local p
	for p in "$@"; do ! listening "$p" || return 1; done
}
# Every live process whose command line mentions PATH (catches strays).
procs_under() {
	local d p
	for d in /proc/[0-9]*; do
		p=${d#/proc/}
		[ "$p" != $$ ] || continue
		tr '\0' ' ' <"$d/cmdline" 2>/dev/null | grep -Fq -- "$1" && ! dead "$p" && echo "$p"
	done
	return 0
}
# pids recorded for a cluster dir: from the pid files and from $! at launch
recorded_pids() {
	cat "$1"/srv*/mariadbd.pid "$1"/srv*/pids 2>/dev/null | sort -un
}

# ---- 1. the normal case, with one server SIGSTOPped ------------------------------
mdb_cluster_up 3
dir=$MDB_DIR
mapfile -t pids < <(recorded_pids "$dir")
ports=("$MDB_PORT_1" "$MDB_PORT_2" "$MDB_PORT_3")
mdb_assert_eq "3 servers, one PID each, pid files agree with \$!" 3 "${#pids[@]}"
mdb_assert_eq "env file PIDs are those PIDs" "${pids[*]}" "$(printf '%s\n' "$MDB_PID_1" "$MDB_PID_2" "$MDB_PID_3" | sort -n | paste -sd' ')"
mdb_assert "all 3 ports are listening" listening "${ports[2]}"
mdb_kill 2 STOP
mdb_assert_eq "server 2 is SIGSTOPped (state T)" T "$(awk '{ print $3 }' "/proc/$MDB_PID_2/stat")"
t0=$(_mdb_now_us)
mdb_assert "mdb_cluster_down succeeds" mdb_cluster_down "$dir"
echo "# teardown of 3 servers took $(mdb_elapsed "$t0") s"
mdb_assert "no process of PIDs ${pids[*]} remains" all_dead "${pids[@]}"
mdb_assert "the cluster directory $dir is gone" test ! -e "$dir"
mdb_assert "ports ${ports[*]} are free" none_listening "${ports[@]}"
mdb_assert_eq "no process mentions the directory any more" "" "$(procs_under "$dir")"
mdb_assert "mdb_cluster_down again is a no-op success" mdb_cluster_down "$dir"

# ---- 2. the test body fails: its EXIT trap still tears down ------------------------
rc=0
bash -c '
	set -euo pipefail
	. "$1"
	mdb_trap_teardown
	mdb_cluster_up 2
	printf "%s\n" "$MDB_DIR" >"$2/failing.dir"
	cat "$MDB_DIR"/srv*/mariadbd.pid "$MDB_DIR"/srv*/pids | sort -un >"$2/failing.pids"
	mdb_sql 1 "SELECT no_such_column FROM app.nothing"   # fails: set -e exits
	echo "not reached"
' _ "$harness" "$work" >"$work/failing.out" 2>"$work/failing.err" || rc=$?
show_if_missing() { # FILE STDERR_FILE: a helper step did not get that far
	[ -s "$1" ] || { echo "# missing $1; stderr was:"; sed 's/^/#   /' "$2"; exit 1; }
}
show_if_missing "$work/failing.dir" "$work/failing.err"
fdir=$(cat "$work/failing.dir")
mapfile -t fpids <"$work/failing.pids"
mdb_assert_eq "a failing test (set -e) exits non-zero, with its own status" 1 "$rc"
mdb_assert_eq "... after starting 2 servers (PIDs ${fpids[*]})" 2 "${#fpids[@]}"
mdb_assert "... none of them remains" all_dead "${fpids[@]}"
mdb_assert "... its directory $fdir is gone" test ! -e "$fdir"
mdb_assert_eq "... no stray process mentions it" "" "$(procs_under "$fdir")"
mdb_assert "... and the server error logs were shown on its stderr" grep -q 'tail of .*error.log' "$work/failing.err"
mdb_assert_fails "... 'not reached' was not reached" grep -q 'not reached' "$work/failing.out"

# ---- 3. an explicit exit 1 inside a subshell that sources the harness ----------------
rc=0
(
	# shellcheck source=../harness/mdb-harness.sh
	. "$harness"
	mdb_trap_teardown
	MDB_QUIET=1 mdb_cluster_up 1
	printf '%s\n' "$MDB_DIR" >"$work/sub.dir"
	recorded_pids "$MDB_DIR" >"$work/sub.pids"
	exit 1
) 2>"$work/sub.err" || rc=$?
show_if_missing "$work/sub.dir" "$work/sub.err"
sdir=$(cat "$work/sub.dir")
mapfile -t spids <"$work/sub.pids"
mdb_assert_eq "a subshell that exits 1 keeps status 1" 1 "$rc"
mdb_assert "... its server (PID ${spids[*]}) is gone" all_dead "${spids[@]}"
mdb_assert "... its directory is gone" test ! -e "$sdir"

# ---- 4. the test is killed (SIGTERM, as a test runner's timeout does) --------------
bash -c '
	set -euo pipefail
	. "$1"
	mdb_trap_teardown
	mdb_cluster_up 2
	printf "%s\n" "$MDB_DIR" >"$2/killed.dir.tmp"
	cat "$MDB_DIR"/srv*/mariadbd.pid | sort -un >"$2/killed.pids"
	mv "$2/killed.dir.tmp" "$2/killed.dir"
	while :; do sleep 0.1; done
' _ "$harness" "$work" 2>"$work/killed.err" &
victim=$!
mdb_wait_until 60 test -e "$work/killed.dir" || true
mdb_assert "a long-running test has its cluster up" test -e "$work/killed.dir"
show_if_missing "$work/killed.dir" "$work/killed.err"
kdir=$(cat "$work/killed.dir")
mapfile -t kpids <"$work/killed.pids"
kill -TERM "$victim"
rc=0
wait "$victim" || rc=$?
mdb_assert_eq "on SIGTERM the test exits with 143" 143 "$rc"
mdb_assert "... its servers (PIDs ${kpids[*]}) are gone" all_dead "${kpids[@]}"
mdb_assert "... its directory is gone" test ! -e "$kdir"

# ---- 5. PID reuse: a recorded PID that is no longer our mariadbd is left alone -------
mdb_cluster_up 1
sleep 300 &
bystander=$!
# shellcheck disable=SC2031 # (part 3's subshell set its own MDB_DIR; this is ours)
echo "$bystander" >>"$MDB_DIR/srv1/pids"
pid1=$MDB_PID_1
mdb_assert "teardown with an unrelated PID ($bystander) among the recorded ones" mdb_cluster_down
mdb_assert "... stops the server (PID $pid1)" dead "$pid1"
mdb_assert "... and leaves the unrelated process alive" kill -0 "$bystander"
kill "$bystander"
wait "$bystander" 2>/dev/null || true
bystander=

# ---- 6. refusals ---------------------------------------------------------------------
mkdir -p "$work/not-a-cluster"
echo precious >"$work/not-a-cluster/file"
mdb_assert_fails "mdb_cluster_down refuses a directory without the harness marker" \
	mdb_cluster_down "$work/not-a-cluster"
mdb_assert_eq "... and leaves it as it was" precious "$(cat "$work/not-a-cluster/file")"
mdb_assert_fails "mdb-cluster up refuses a non-empty directory" "$cli" up "$work/not-a-cluster" 1
mdb_assert_eq "... and leaves it as it was" precious "$(cat "$work/not-a-cluster/file")"

# ---- 7. a failed bring-up cleans up after itself --------------------------------------
mdb_assert_fails "bring-up with a bad mariadbd option fails" \
	mdb_cluster_up 2 --dir "$work/bad" --opt --no-such-option=1
# shellcheck disable=SC2031 # set by mdb_assert_fails in this shell
mdb_assert_match "... pointing at the error log" "see $work/bad/srv[12]/error.log" "$MDB_LAST_OUT"
mdb_assert "... leaving no directory" test ! -e "$work/bad"
mdb_assert_eq "... and no process" "" "$(procs_under "$work/bad")"

# ---- 7b. a bind race at bring-up is retried on a fresh port ---------------------------
# Another process takes the chosen port between the free-port check and
# mariadbd's bind: make the picker return a port we hold listening, once.
python3 -c '
import socket, sys, time
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen()
print(s.getsockname()[1], flush=True)
time.sleep(120)
' >"$work/busy.port" &
holder=$!
mdb_wait_until 10 test -s "$work/busy.port" || true
busy=$(cat "$work/busy.port")
rc=0
bash -c '
	set -euo pipefail
	. "$1"
	mdb_trap_teardown
	work=$2 busy=$3
	eval "$(declare -f _mdb_pick_port | sed "1s/_mdb_pick_port/_real_pick_port/")"
	_mdb_pick_port() {
		if [ "$1" = 1 ] && [ ! -e "$work/raced" ]; then
			: >"$work/raced"
			echo "$busy"
		else
			_real_pick_port "$1"
		fi
	}
	mdb_cluster_up 2
	echo "$MDB_PORT_1" >"$2/raced.port"
	mdb_wait_replicated
' _ "$harness" "$work" "$busy" 2>"$work/race.err" || rc=$?
kill "$holder" 2>/dev/null || true
wait "$holder" 2>/dev/null || true
mdb_assert_eq "bring-up succeeds although server 1's first port ($busy) was taken" 0 "$rc"
mdb_assert "... the race was detected in the error log and retried" grep -q "port $busy taken meanwhile, retrying" "$work/race.err"
mdb_assert "... server 1 ended up on another port ($(cat "$work/raced.port" 2>/dev/null))" test "$(cat "$work/raced.port")" != "$busy"

# ---- 8. the CLI ------------------------------------------------------------------------
env_out=$(timeout 120 "$cli" up "$work/cli" 2 2>"$work/cli.err")
mdb_assert "mdb-cluster up returns (stdout not held open by the servers)" test -n "$env_out"
mdb_assert_eq "... prints the env file it wrote" "$(cat "$work/cli/cluster.env")" "$env_out"
cpids=$( (eval "$env_out" && echo "$MDB_PID_1 $MDB_PID_2"))
read -ra cpids <<<"$cpids"
mdb_assert "... servers ${cpids[*]} are running" kill -0 "${cpids[@]}"
mdb_assert "mdb-cluster status exits 0 with every server up" "$cli" status "$work/cli"
mdb_assert_eq "mdb-cluster sql works" 1 "$("$cli" sql "$work/cli" 2 "SELECT @@read_only")"
mdb_assert "mdb-cluster stop 2" "$cli" stop "$work/cli" 2
mdb_assert_fails "mdb-cluster status exits non-zero with a server down" "$cli" status "$work/cli"
mdb_assert "mdb-cluster down" "$cli" down "$work/cli"
mdb_assert "... PIDs ${cpids[*]} are gone" all_dead "${cpids[@]}"
mdb_assert "... the directory is gone" test ! -e "$work/cli"

mdb_done "test-harness-teardown"
