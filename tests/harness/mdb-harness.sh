# shellcheck shell=bash
#
# mdb-harness.sh - start, drive and tear down real MariaDB GTID replication
# clusters for mariadb-sentinel's integration tests, namespace tests and demo.
#
# Source it from bash (it changes none of the caller's shell options):
#
#     . tests/harness/mdb-harness.sh
#     mdb_trap_teardown              # EXIT/INT/TERM trap: tear down what we started
#     mdb_cluster_up 3 --semisync    # sets MDB_* variables, writes $MDB_DIR/cluster.env
#     mdb_sql 1 "CREATE TABLE app.t (id INT PRIMARY KEY)"
#     mdb_wait_replicated
#
# tests/harness/README.md documents every function, every MDB_* variable and
# every grant. Functions return non-zero (with one line on stderr saying why)
# instead of exiting, so they work the same with and without `set -e`.

if [ -z "${BASH_VERSION:-}" ]; then
	echo "mdb-harness.sh: needs bash" >&2
	return 1
fi

# ---------------------------------------------------------------- settings --
# Every knob can be set in the environment before sourcing or before a call.

: "${MDB_START_TIMEOUT_S:=60}"     # one server: launch -> accepts connections
: "${MDB_REPL_TIMEOUT_S:=60}"      # replication threads running / caught up
: "${MDB_STOP_TIMEOUT_S:=30}"      # SIGTERM -> gone, before SIGKILL
: "${MDB_SEMISYNC_TIMEOUT_MS:=5000}" # rpl_semi_sync_master_timeout
: "${MDB_BIND:=127.0.0.1}"         # default bind address of every server
: "${MDB_PORT_MIN:=20000}"         # free ports are picked in this range ...
: "${MDB_PORT_MAX:=32000}"         # ... below the kernel's ephemeral range
: "${MDB_INNODB_BUFFER_POOL:=32M}"
: "${MDB_INNODB_LOG_FILE:=16M}"

MDB_HARNESS_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
export MDB_HARNESS_DIR # e.g. "$MDB_HARNESS_DIR/mdb-cluster"

# Clusters started (or adopted with mdb_own), as "OWNER_BASHPID:DIR"; the
# EXIT trap that mdb_trap_teardown installs tears down those of its own
# process only, so a subshell's trap never takes the parent's clusters.
# (Sourcing the library twice keeps them.)
if [ -z "${_MDB_LOADED:-}" ]; then
	_MDB_OWNED_DIRS=()
	_MDB_EXIT_HOOKS=()
	_MDB_ASSERTIONS=0
	_MDB_LOADED=1
fi

# The fixed privilege set of the `sentinel` account; README.md says why each
# one is there, test-harness-replication.sh proves each is needed and enough.
MDB_SENTINEL_PRIVILEGES="SLAVE MONITOR, BINLOG MONITOR, REPLICATION SLAVE ADMIN, REPLICATION MASTER ADMIN, READ_ONLY ADMIN, CONNECTION ADMIN, PROCESS, RELOAD"
MDB_APP_PRIVILEGES="SELECT, INSERT, UPDATE, DELETE, CREATE, DROP, INDEX, ALTER, CREATE TEMPORARY TABLES, LOCK TABLES, CREATE VIEW, SHOW VIEW, TRIGGER, REFERENCES"

# ------------------------------------------------------------------ basics --

_mdb_log() {
	[ -n "${MDB_QUIET:-}" ] || printf 'mdb-harness: %s\n' "$*" >&2
}

_mdb_err() {
	printf 'mdb-harness: error: %s\n' "$*" >&2
}

# Monotonic-enough wall clock in microseconds (bash 5 EPOCHREALTIME).
_mdb_now_us() {
	local t=${EPOCHREALTIME:-}
	if [ -n "$t" ]; then
		printf '%s\n' "${t//[.,]/}"
	else
		printf '%s000000\n' "$(date +%s)"
	fi
}

# mdb_elapsed START_US: seconds since START_US as "S.SS".
mdb_elapsed() {
	local d=$(($(_mdb_now_us) - $1))
	printf '%d.%02d\n' $((d / 1000000)) $((d % 1000000 / 10000))
}

# _mdb_get NAME I -> value of MDB_NAME_I (empty when unset).
_mdb_get() {
	local v="MDB_${1}_${2}"
	printf '%s\n' "${!v:-}"
}

_mdb_set() {
	printf -v "MDB_${1}_${2}" '%s' "$3"
	export "MDB_${1}_${2}"
}

_mdb_find_bin() {
	local name c
	for name in "$@"; do
		if c=$(command -v "$name" 2>/dev/null); then
			printf '%s\n' "$c"
			return 0
		fi
		for c in /usr/sbin/"$name" /usr/bin/"$name" /usr/libexec/"$name" /usr/local/sbin/"$name" /usr/local/bin/"$name"; do
			if [ -x "$c" ]; then
				printf '%s\n' "$c"
				return 0
			fi
		done
	done
	return 1
}

# mdb_require_binaries: locate mariadbd, mariadb-install-db and the client.
# They are hard dependencies of the test suite (scripts/bootstrap installs
# them), so a missing one is an error, not a skip.
mdb_require_binaries() {
	[ -n "${MDB_MARIADBD:-}" ] || MDB_MARIADBD=$(_mdb_find_bin mariadbd mysqld) || {
		_mdb_err "mariadbd not found (run scripts/bootstrap, or set MDB_MARIADBD)"
		return 1
	}
	[ -n "${MDB_INSTALL_DB:-}" ] || MDB_INSTALL_DB=$(_mdb_find_bin mariadb-install-db mysql_install_db) || {
		_mdb_err "mariadb-install-db not found (run scripts/bootstrap, or set MDB_INSTALL_DB)"
		return 1
	}
	[ -n "${MDB_CLIENT:-}" ] || MDB_CLIENT=$(_mdb_find_bin mariadb mysql) || {
		_mdb_err "mariadb client not found (run scripts/bootstrap, or set MDB_CLIENT)"
		return 1
	}
	export MDB_MARIADBD MDB_INSTALL_DB MDB_CLIENT
}

_mdb_need_cluster() {
	if [ -z "${MDB_DIR:-}" ] || [ -z "${MDB_N:-}" ]; then
		_mdb_err "no cluster loaded (mdb_cluster_up, or mdb_cluster_load DIR)"
		return 1
	fi
}

_mdb_check_index() {
	_mdb_need_cluster || return 1
	case "${1:-}" in
	'' | *[!0-9]*)
		_mdb_err "bad server index '${1:-}'"
		return 1
		;;
	esac
	if [ "$1" -lt 1 ] || [ "$1" -gt "$MDB_N" ]; then
		_mdb_err "server index $1 out of range 1..$MDB_N"
		return 1
	fi
}

_mdb_srvdir() {
	printf '%s/srv%s\n' "$MDB_DIR" "$1"
}

# 32 random bytes as 64 hex digits: no quoting problems in SQL or config files.
_mdb_random_password() {
	od -An -tx1 -N32 /dev/urandom | tr -d ' \n'
}

# ------------------------------------------------------------- processes --

# _mdb_pid_is_ours PID DATADIR: PID is alive (not a zombie) and is a process
# started with --datadir=DATADIR. Guards every signal against PID reuse.
_mdb_pid_is_ours() {
	local pid=$1 datadir=$2 stat state
	case "$pid" in '' | *[!0-9]*) return 1 ;; esac
	stat=$(cat "/proc/$pid/stat" 2>/dev/null) || return 1
	state=${stat##*) }
	state=${state%% *}
	[ "$state" != Z ] || return 1
	tr '\0' '\n' 2>/dev/null <"/proc/$pid/cmdline" | grep -Fxq -- "--datadir=$datadir"
}

# _mdb_pid_alive PID: the process exists and is not a zombie.
_mdb_pid_alive() {
	local stat state
	stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	state=${stat##*) }
	state=${state%% *}
	[ "$state" != Z ]
}

# _mdb_pids_of SRVDIR: every live PID of this server that we started: those
# recorded from $! at launch and the one in its pid file.
_mdb_pids_of() {
	local srv=$1 datadir pid seen=" "
	datadir="$srv/data"
	{
		cat "$srv/pids" 2>/dev/null
		cat "$srv/mariadbd.pid" 2>/dev/null
		echo
	} | while read -r pid; do
		case "$seen" in *" $pid "*) continue ;; esac
		seen="$seen$pid "
		if _mdb_pid_is_ours "$pid" "$datadir"; then
			printf '%s\n' "$pid"
		fi
	done
}

# _mdb_wait_gone TIMEOUT_S PID:DATADIR...: wait until none of the PIDs is
# alive (or is ours any more); reap those that are children of this shell.
_mdb_wait_gone() {
	local timeout=$1 deadline e alive
	shift
	deadline=$(($(_mdb_now_us) + timeout * 1000000))
	while :; do
		alive=0
		for e in "$@"; do
			if _mdb_pid_is_ours "${e%%:*}" "${e#*:}"; then
				alive=1
				break
			fi
		done
		[ "$alive" -eq 1 ] || break
		[ "$(_mdb_now_us)" -lt "$deadline" ] || return 1
		sleep 0.05
	done
	for e in "$@"; do
		wait "${e%%:*}" 2>/dev/null || true
	done
	return 0
}

# _mdb_entries SRVDIR: "PID:DATADIR" for every live process of that server.
_mdb_entries() {
	local pid
	for pid in $(_mdb_pids_of "$1"); do
		printf '%s:%s\n' "$pid" "$1/data"
	done
}

# mdb_pid I: the PID of server I, if it is running.
mdb_pid() {
	_mdb_check_index "$1" || return 1
	local pid
	pid=$(_mdb_pids_of "$(_mdb_srvdir "$1")" | tail -n 1)
	[ -n "$pid" ] || return 1
	printf '%s\n' "$pid"
}

# mdb_is_running I
mdb_is_running() {
	mdb_pid "$1" >/dev/null 2>&1
}

# mdb_kill I [SIGNAL]: send SIGNAL (default KILL) to server I. For KILL it
# waits until the process is gone, for STOP until it is stopped; other
# signals (TERM, CONT, ...) are only sent - mdb_stop is the orderly shutdown.
mdb_kill() {
	_mdb_check_index "${1:-}" || return 1
	local i=$1 sig=${2:-KILL} srv
	local -a ents
	sig=${sig#SIG}
	srv=$(_mdb_srvdir "$i")
	mapfile -t ents < <(_mdb_entries "$srv")
	if [ "${#ents[@]}" -eq 0 ]; then
		_mdb_err "server $i is not running"
		return 1
	fi
	kill -s "$sig" "${ents[@]%%:*}" || return 1
	case "$sig" in
	KILL | 9)
		_mdb_wait_gone 10 "${ents[@]}" || {
			_mdb_err "server $i (pid ${ents[*]%%:*}) still alive 10 s after SIGKILL"
			return 1
		}
		;;
	STOP | 19)
		mdb_wait_until 10 _mdb_all_stopped "${ents[@]%%:*}" || {
			_mdb_err "server $i (pid ${ents[*]%%:*}) not stopped 10 s after SIGSTOP"
			return 1
		}
		;;
	esac
}

# _mdb_all_stopped PID...: every PID is in state T (stopped by a signal).
_mdb_all_stopped() {
	local pid st
	for pid in "$@"; do
		st=$(cat "/proc/$pid/stat" 2>/dev/null) || return 1
		st=${st##*) }
		[ "${st%% *}" = T ] || return 1
	done
}

# _mdb_stop_entries WHAT PID:DATADIR...: SIGTERM (and SIGCONT, for stopped
# ones), wait up to MDB_STOP_TIMEOUT_S, SIGKILL the rest, wait 10 s more.
_mdb_stop_entries() {
	local what=$1 e
	shift
	[ $# -gt 0 ] || return 0
	kill -TERM "${@%%:*}" 2>/dev/null
	kill -CONT "${@%%:*}" 2>/dev/null
	_mdb_wait_gone "$MDB_STOP_TIMEOUT_S" "$@" && return 0
	local -a left=()
	for e in "$@"; do
		_mdb_pid_is_ours "${e%%:*}" "${e#*:}" && left+=("$e")
	done
	_mdb_log "$what: pid ${left[*]%%:*} still running ${MDB_STOP_TIMEOUT_S} s after SIGTERM; SIGKILL"
	kill -KILL "${left[@]%%:*}" 2>/dev/null
	_mdb_wait_gone 10 "${left[@]}" && return 0
	_mdb_err "$what: pid ${left[*]%%:*} survives SIGKILL"
	return 1
}

# mdb_stop I: orderly shutdown of server I (SIGTERM, bounded wait, SIGKILL).
mdb_stop() {
	_mdb_check_index "${1:-}" || return 1
	local -a ents
	mapfile -t ents < <(_mdb_entries "$(_mdb_srvdir "$1")")
	_mdb_stop_entries "server $1" "${ents[@]}"
}

# ------------------------------------------------------------ server args --

# _mdb_write_args I ROLE: the mariadbd command line of server I (one argument
# per line in srvI/args), reused unchanged by every later mdb_start.
_mdb_write_args() {
	local i=$1 role=$2 srv extra_all extra_i
	local -a a more
	srv=$(_mdb_srvdir "$i")
	a=(
		--no-defaults # first, always: never read /etc/mysql or ~/.my.cnf
		"--datadir=$srv/data"
		"--tmpdir=$srv/tmp"
		"--socket=$(_mdb_get SOCKET "$i")"
		"--pid-file=$srv/mariadbd.pid"
		"--log-error=$srv/error.log"
		"--port=$(_mdb_get PORT "$i")"
		"--bind-address=$(_mdb_get BIND "$i")"
		"--report-host=$(_mdb_get HOST "$i")"
		"--report-port=$(_mdb_get PORT "$i")"
		"--server-id=$i"
		--log-bin=mariadb-bin
		--relay-log=relay-bin
		--log-slave-updates=ON
		--binlog-format=ROW
		--gtid-strict-mode=ON
		--skip-name-resolve
		--performance-schema=OFF
		"--innodb-buffer-pool-size=$MDB_INNODB_BUFFER_POOL"
		"--innodb-log-file-size=$MDB_INNODB_LOG_FILE"
		--innodb-use-native-aio=OFF
		--innodb-flush-log-at-trx-commit=2
		--innodb-buffer-pool-dump-at-shutdown=OFF
		--innodb-buffer-pool-load-at-startup=OFF
		--aria-pagecache-buffer-size=8M
		--key-buffer-size=1M
	)
	[ "$(id -u)" -ne 0 ] || a+=(--user=root)
	if [ "$role" = primary ]; then
		a+=(--read-only=OFF)
		if [ "${MDB_SEMISYNC:-0}" = 1 ]; then
			a+=(--rpl-semi-sync-master-enabled=ON
				--rpl-semi-sync-master-wait-point=AFTER_SYNC
				"--rpl-semi-sync-master-timeout=$MDB_SEMISYNC_TIMEOUT_MS")
		fi
	else
		a+=(--read-only=ON)
		# The wait point and timeout on every server, not only the first primary: a replica the
		# sentinel promotes turns the master side on, and must then wait AFTER_SYNC too.
		[ "${MDB_SEMISYNC:-0}" != 1 ] || a+=(--rpl-semi-sync-slave-enabled=ON
			--rpl-semi-sync-master-wait-point=AFTER_SYNC
			"--rpl-semi-sync-master-timeout=$MDB_SEMISYNC_TIMEOUT_MS")
	fi
	# Opt-in TLS (MDB_TLS_CA, MDB_TLS_CERT, MDB_TLS_KEY: PEM files the test made).
	[ -z "${MDB_TLS_CA:-}" ] || a+=("--ssl-ca=$MDB_TLS_CA" "--ssl-cert=$MDB_TLS_CERT" "--ssl-key=$MDB_TLS_KEY")
	extra_all=${_MDB_UP_OPTS:-}
	extra_i=$(_mdb_get MYSQLD_OPTS_FOR "$i")
	read -ra more <<<"$extra_all $extra_i"
	a+=("${more[@]}")
	printf '%s\n' "${a[@]}" >"$srv/args"
}

# --------------------------------------------------------------- launching --

_mdb_prefix_of() {
	_mdb_get PREFIX "$1"
}

# _mdb_port_in_use PREFIX... -- PORT
_mdb_port_in_use() {
	local -a prefix=()
	while [ "$1" != -- ]; do
		prefix+=("$1")
		shift
	done
	shift
	command -v ss >/dev/null 2>&1 || return 1
	[ -n "$("${prefix[@]}" ss -Htan "( sport = :$1 )" 2>/dev/null)" ]
}

# _mdb_pick_port I: a port no socket uses (in server I's network namespace),
# not given to another server of this cluster, below the ephemeral range so
# no outgoing connection takes it meanwhile. A bind race with a parallel test
# is still possible and is handled by relaunching (_mdb_wait_ready_many).
_mdb_pick_port() {
	local i=$1 lo=$MDB_PORT_MIN hi=$MDB_PORT_MAX eph_lo eph_hi p j taken try r
	local -a prefix
	read -ra prefix <<<"$(_mdb_prefix_of "$i")"
	if read -r eph_lo eph_hi </proc/sys/net/ipv4/ip_local_port_range 2>/dev/null &&
		[ "$hi" -ge "$eph_lo" ] && [ "$hi" -le "$eph_hi" ] && [ $((eph_lo - 1 - lo)) -ge 1000 ]; then
		hi=$((eph_lo - 1))
	fi
	for ((try = 0; try < 200; try++)); do
		r=${SRANDOM:-$((RANDOM * 32768 + RANDOM))}
		p=$((lo + r % (hi - lo + 1)))
		taken=0
		for ((j = 1; j <= MDB_N; j++)); do
			[ "$j" -eq "$i" ] && continue
			[ "$(_mdb_get PORT "$j")" = "$p" ] && taken=1
		done
		[ "$taken" -eq 0 ] || continue
		_mdb_port_in_use "${prefix[@]}" -- "$p" && continue
		printf '%s\n' "$p"
		return 0
	done
	_mdb_err "no free port found in $lo..$hi"
	return 1
}

# _mdb_launch I [MYSQLD_OPT...]: start server I in the background with its
# saved command line (plus options for this start only); records $!.
_mdb_launch() {
	local i=$1 srv sock pid off
	shift
	local -a prefix args
	srv=$(_mdb_srvdir "$i")
	sock=$(_mdb_get SOCKET "$i")
	read -ra prefix <<<"$(_mdb_prefix_of "$i")"
	mapfile -t args <"$srv/args"
	args+=("$@")
	printf '%s\n' "$@" >"$srv/launch.extra" # for a relaunch after a bind race
	off=$(stat -c %s "$srv/error.log" 2>/dev/null || echo 0)
	printf '%s\n' "$off" >"$srv/log.offset"
	rm -f "$sock" "$srv/mariadbd.pid"
	"${prefix[@]}" "$MDB_MARIADBD" "${args[@]}" </dev/null >>"$srv/mariadbd.out" 2>&1 &
	pid=$!
	printf '%s\n' "$pid" >>"$srv/pids"
	printf '%s\n' "$pid" >"$srv/launch.pid"
}

# The part of server I's error log written since its last launch.
_mdb_log_since_launch() {
	local srv off
	srv=$(_mdb_srvdir "$1")
	off=$(cat "$srv/log.offset" 2>/dev/null || echo 0)
	tail -c "+$((off + 1))" "$srv/error.log" 2>/dev/null
	tail -n 5 "$srv/mariadbd.out" 2>/dev/null
}

_mdb_show_log_tail() {
	local i=$1 srv
	srv=$(_mdb_srvdir "$i")
	printf 'mdb-harness: ---- last lines of %s ----\n' "$srv/error.log" >&2
	tail -n "${2:-25}" "$srv/error.log" 2>/dev/null | sed 's/^/  | /' >&2
	if [ -s "$srv/mariadbd.out" ]; then
		printf 'mdb-harness: ---- %s ----\n' "$srv/mariadbd.out" >&2
		tail -n 10 "$srv/mariadbd.out" | sed 's/^/  | /' >&2
	fi
}

# _mdb_ping I: server I accepts a root connection on its socket.
_mdb_ping() {
	local sock
	sock=$(_mdb_get SOCKET "$1")
	[ -S "$sock" ] || return 1
	"$MDB_CLIENT" --no-defaults --connect-timeout=2 -S "$sock" -u "$MDB_ADMIN_USER" \
		-N -B -e 'SELECT 1' >/dev/null 2>&1
}

# _mdb_wait_ready_many NEWPORT I...: wait (bounded) until every server I
# accepts connections. A server that died of a bind race is relaunched: on a
# fresh port if NEWPORT=1 (first start), on the same port otherwise (restart).
_mdb_wait_ready_many() {
	local newport=$1 i srv pid now p log
	shift
	local -a pending=("$@") next extra
	local -A deadline=() tries=()
	now=$(_mdb_now_us)
	for i in "${pending[@]}"; do
		deadline[$i]=$((now + MDB_START_TIMEOUT_S * 1000000))
		tries[$i]=0
	done
	while [ "${#pending[@]}" -gt 0 ]; do
		next=()
		for i in "${pending[@]}"; do
			srv=$(_mdb_srvdir "$i")
			if _mdb_ping "$i"; then
				continue
			fi
			pid=$(cat "$srv/launch.pid")
			if ! _mdb_pid_is_ours "$pid" "$srv/data" && _mdb_pid_alive "$pid"; then
				# Launched but not yet exec'd into mariadbd (its command line is still the
				# shell's): starting, not dead. Waiting for it here would block until the
				# server exits.
				:
			elif ! _mdb_pid_is_ours "$pid" "$srv/data"; then
				wait "$pid" 2>/dev/null || true
				log=$(_mdb_log_since_launch "$i")
				if grep -Eq 'Address already in use|Bind on TCP/IP port' <<<"$log" &&
					[ "${tries[$i]}" -lt 10 ]; then
					tries[$i]=$((tries[$i] + 1))
					if [ "$newport" = 1 ]; then
						p=$(_mdb_pick_port "$i") || return 1
						_mdb_log "server $i: port $(_mdb_get PORT "$i") taken meanwhile, retrying on $p"
						_mdb_set PORT "$i" "$p"
						_mdb_write_args "$i" "$(_mdb_role_of "$i")"
					else
						_mdb_log "server $i: port $(_mdb_get PORT "$i") busy, retrying"
						sleep 0.5
					fi
					mapfile -t extra < <(grep . "$srv/launch.extra")
					_mdb_launch "$i" "${extra[@]}"
					next+=("$i")
					continue
				fi
				_mdb_err "server $i (port $(_mdb_get PORT "$i")) exited during startup; see $srv/error.log"
				_mdb_show_log_tail "$i"
				return 1
			fi
			if [ "$(_mdb_now_us)" -ge "${deadline[$i]}" ]; then
				_mdb_err "server $i (pid $pid, port $(_mdb_get PORT "$i")) not accepting connections after ${MDB_START_TIMEOUT_S} s; see $srv/error.log"
				_mdb_show_log_tail "$i"
				return 1
			fi
			next+=("$i")
		done
		pending=("${next[@]}")
		[ "${#pending[@]}" -eq 0 ] || sleep 0.05
	done
	for i in "$@"; do
		_mdb_set PID "$i" "$(mdb_pid "$i")"
	done
}

_mdb_role_of() {
	if [ "$1" -eq "${MDB_INITIAL_PRIMARY:-1}" ]; then echo primary; else echo replica; fi
}

# mdb_start I [MYSQLD_OPT...]: start stopped server I again with the same
# command line (same port, socket, datadir, role options); options given
# here are added for this start only (e.g. --read-only=ON, --skip-slave-start).
mdb_start() {
	_mdb_check_index "${1:-}" || return 1
	local i=$1
	shift
	mdb_require_binaries || return 1
	if mdb_is_running "$i"; then
		_mdb_err "server $i is already running (pid $(mdb_pid "$i"))"
		return 1
	fi
	_mdb_launch "$i" "$@"
	_mdb_wait_ready_many 0 "$i" || return 1
	_mdb_write_env
}

# ------------------------------------------------------------------- SQL ----

# mdb_sql I SQL: run SQL on server I as the harness's admin (root over the
# unix socket). Batch output: tab-separated, no column names.
mdb_sql() {
	_mdb_check_index "${1:-}" || return 1
	[ $# -eq 2 ] || {
		_mdb_err "usage: mdb_sql I SQL"
		return 1
	}
	"$MDB_CLIENT" --no-defaults --connect-timeout=10 -S "$(_mdb_get SOCKET "$1")" \
		-u "$MDB_ADMIN_USER" -N -B -e "$2"
}

# mdb_sql_vertical I SQL: as mdb_sql, output "name: value" per column (\G).
mdb_sql_vertical() {
	_mdb_check_index "${1:-}" || return 1
	"$MDB_CLIENT" --no-defaults --connect-timeout=10 -S "$(_mdb_get SOCKET "$1")" \
		-u "$MDB_ADMIN_USER" -E -e "$2"
}

# mdb_password USER: the generated password of USER (sentinel, repl, app).
mdb_password() {
	_mdb_need_cluster || return 1
	local f="$MDB_DIR/$1.password"
	[ -r "$f" ] || {
		_mdb_err "no password file for user '$1' ($f)"
		return 1
	}
	cat "$f"
}

# mdb_sql_as USER I SQL: run SQL on server I as USER over TCP (host:port of
# server I, password from $MDB_DIR/USER.password, passed in the environment,
# not on the command line). Runs under server I's command prefix (so inside
# its network namespace). Same output format as mdb_sql.
mdb_sql_as() {
	[ $# -eq 3 ] || {
		_mdb_err "usage: mdb_sql_as USER I SQL"
		return 1
	}
	_mdb_check_index "$2" || return 1
	local user=$1 i=$2 pw
	local -a prefix
	pw=$(mdb_password "$user") || return 1
	read -ra prefix <<<"$(_mdb_prefix_of "$i")"
	local -a tls=()
	[ -z "${MDB_TLS_CA:-}" ] || tls=(--ssl "--ssl-ca=$MDB_TLS_CA")
	MYSQL_PWD=$pw "${prefix[@]}" "$MDB_CLIENT" --no-defaults --connect-timeout=10 --protocol=TCP "${tls[@]}" \
		-h "$(_mdb_get HOST "$i")" -P "$(_mdb_get PORT "$i")" -u "$user" -N -B -e "$3"
}

# mdb_var I NAME: the global value of system variable NAME on server I.
mdb_var() {
	mdb_sql "$1" "SELECT @@GLOBAL.$2"
}

# mdb_status_var I NAME: the value of global status variable NAME on server I.
mdb_status_var() {
	local out
	out=$(mdb_sql "$1" "SHOW GLOBAL STATUS LIKE '$2'") || return 1
	printf '%s\n' "${out#*$'\t'}"
}

# mdb_slave_field I FIELD: one field of SHOW SLAVE STATUS on server I (empty
# when the server is not a replica).
mdb_slave_field() {
	local out
	out=$(mdb_sql_vertical "$1" "SHOW SLAVE STATUS") || return 1
	awk -v f="$2" '{ k = $1 } k == f ":" { sub(/^[ \t]*[A-Za-z_]+:[ ]?/, ""); print; exit }' <<<"$out"
}

# ----------------------------------------------------------- replication ----

# _mdb_wait_slave_running I: IO and SQL threads of replica I say Yes, bounded.
_mdb_wait_slave_running() {
	local i=$1 deadline io sql out
	deadline=$(($(_mdb_now_us) + MDB_REPL_TIMEOUT_S * 1000000))
	while :; do
		out=$(mdb_sql_vertical "$i" "SHOW SLAVE STATUS" 2>/dev/null) || out=
		io=$(awk '$1 == "Slave_IO_Running:" { print $2 }' <<<"$out")
		sql=$(awk '$1 == "Slave_SQL_Running:" { print $2 }' <<<"$out")
		[ "$io" = Yes ] && [ "$sql" = Yes ] && return 0
		if [ "$(_mdb_now_us)" -ge "$deadline" ]; then
			_mdb_err "replica $i: replication not running after ${MDB_REPL_TIMEOUT_S} s (IO=$io SQL=$sql)"
			grep -E 'Last_(IO|SQL)_Error|Master_(Host|Port)' <<<"$out" | sed 's/^ */  | /' >&2
			_mdb_show_log_tail "$i" 10
			return 1
		fi
		sleep 0.05
	done
}

# mdb_wait_slave_running I: public form of the above.
mdb_wait_slave_running() {
	_mdb_check_index "${1:-}" || return 1
	_mdb_wait_slave_running "$1"
}

# mdb_wait_replicated [-t TIMEOUT_S] [-p PRIMARY] [REPLICA...]: wait until
# every replica (default: every server but the primary) has applied the
# primary's @@gtid_binlog_pos (MASTER_GTID_WAIT, bounded).
mdb_wait_replicated() {
	_mdb_need_cluster || return 1
	local timeout=$MDB_REPL_TIMEOUT_S primary=${MDB_PRIMARY:-1} pos r deadline left res
	local -a replicas=()
	while [ $# -gt 0 ]; do
		case "$1" in
		-t) timeout=$2; shift 2 ;;
		-p) primary=$2; shift 2 ;;
		*) replicas+=("$1"); shift ;;
		esac
	done
	if [ "${#replicas[@]}" -eq 0 ]; then
		for ((r = 1; r <= MDB_N; r++)); do
			[ "$r" -eq "$primary" ] || replicas+=("$r")
		done
	fi
	pos=$(mdb_sql "$primary" "SELECT @@GLOBAL.gtid_binlog_pos") || return 1
	deadline=$(($(_mdb_now_us) + timeout * 1000000))
	for r in "${replicas[@]}"; do
		left=$(((deadline - $(_mdb_now_us)) / 1000))
		[ "$left" -gt 0 ] || left=1
		res=$(mdb_sql "$r" "SELECT MASTER_GTID_WAIT('$pos', $((left / 1000)).$(printf '%03d' $((left % 1000))))") || return 1
		if [ "$res" != 0 ]; then
			_mdb_err "replica $r did not reach primary $primary's gtid_binlog_pos '$pos' within $timeout s (its gtid_slave_pos: '$(mdb_var "$r" gtid_slave_pos 2>/dev/null)', IO=$(mdb_slave_field "$r" Slave_IO_Running 2>/dev/null) SQL=$(mdb_slave_field "$r" Slave_SQL_Running 2>/dev/null) $(mdb_slave_field "$r" Last_Error 2>/dev/null))"
			return 1
		fi
	done
}

# mdb_wait_until TIMEOUT_S CMD...: run CMD every 50 ms until it succeeds;
# returns 1 after TIMEOUT_S (a bounded replacement for `until CMD; do`).
mdb_wait_until() {
	local deadline
	deadline=$(($(_mdb_now_us) + $1 * 1000000))
	shift
	until "$@" >/dev/null 2>&1; do
		[ "$(_mdb_now_us)" -lt "$deadline" ] || return 1
		sleep 0.05
	done
}

# ------------------------------------------------------------- env file ----

_mdb_write_env() {
	local i k tmp="$MDB_DIR/.cluster.env.tmp"
	{
		printf '# mariadb-sentinel test cluster (tests/harness/mdb-harness.sh)\n'
		printf '# source it, or: mdb_cluster_load DIR\n'
		for k in DIR N PRIMARY SEMISYNC ADMIN_USER \
			SENTINEL_USER SENTINEL_PASSWORD_FILE REPL_USER REPL_PASSWORD_FILE \
			APP_USER APP_PASSWORD_FILE APP_DB TLS_CA TLS_CERT TLS_KEY; do
			local v="MDB_$k"
			printf 'export MDB_%s=%q\n' "$k" "${!v:-}"
		done
		for ((i = 1; i <= MDB_N; i++)); do
			_mdb_set PID "$i" "$(mdb_pid "$i" 2>/dev/null || true)"
			for k in HOST BIND PORT SOCKET DATADIR PIDFILE PID SERVER_ID ERRLOG PREFIX; do
				printf 'export MDB_%s_%s=%q\n' "$k" "$i" "$(_mdb_get "$k" "$i")"
			done
		done
	} >"$tmp" && mv -f "$tmp" "$MDB_DIR/cluster.env"
}

# mdb_cluster_load DIR: make the cluster in DIR the current one (sources
# DIR/cluster.env), e.g. in a process other than the one that started it.
mdb_cluster_load() {
	local dir=${1:-}
	[ -r "$dir/cluster.env" ] || {
		_mdb_err "no cluster.env in '$dir'"
		return 1
	}
	# shellcheck disable=SC1091
	. "$dir/cluster.env"
	mdb_require_binaries
}

# mdb_own DIR: tear the cluster in DIR down too when this shell exits.
mdb_own() {
	_MDB_OWNED_DIRS+=("$BASHPID:$1")
}

# ------------------------------------------------------------ cluster up ----

_mdb_usage_up='mdb_cluster_up N [--semisync] [--bind ADDR] [--prefix CMD] [--dir DIR] [--opt MYSQLD_OPT]...'

# mdb_cluster_up N [--semisync] [--bind ADDR] [--prefix CMD] [--dir DIR]
#                  [--opt MYSQLD_OPT]...
# Start N servers (1 = primary, 2..N replicas of it) in a fresh directory
# (mktemp -d under $TMPDIR, or DIR, which must not exist or be empty), wait
# until replication runs, export the MDB_* variables and write
# $MDB_DIR/cluster.env. On failure it shows the relevant error log, tears
# down what it started (keeping the directory if MDB_KEEP_DIR is set) and
# returns 1.
mdb_cluster_up() {
	local n='' dir='' semisync=0
	_MDB_UP_BIND=$MDB_BIND
	_MDB_UP_PREFIX=${MDB_PREFIX:-}
	_MDB_UP_OPTS=${MDB_MYSQLD_OPTS:-}
	while [ $# -gt 0 ]; do
		case "$1" in
		--semisync) semisync=1; shift ;;
		--bind) _MDB_UP_BIND=${2:?--bind ADDR}; shift 2 ;;
		--bind=*) _MDB_UP_BIND=${1#*=}; shift ;;
		--prefix) _MDB_UP_PREFIX=${2?--prefix CMD}; shift 2 ;;
		--prefix=*) _MDB_UP_PREFIX=${1#*=}; shift ;;
		--dir) dir=${2:?--dir DIR}; shift 2 ;;
		--dir=*) dir=${1#*=}; shift ;;
		--opt) _MDB_UP_OPTS="$_MDB_UP_OPTS ${2:?--opt MYSQLD_OPT}"; shift 2 ;;
		--opt=*) _MDB_UP_OPTS="$_MDB_UP_OPTS ${1#*=}"; shift ;;
		-*) _mdb_err "unknown option '$1'; usage: $_mdb_usage_up"; return 1 ;;
		*)
			[ -z "$n" ] || { _mdb_err "usage: $_mdb_usage_up"; return 1; }
			n=$1; shift ;;
		esac
	done
	case "$n" in
	'' | *[!0-9]* | 0)
		_mdb_err "usage: $_mdb_usage_up"
		return 1
		;;
	esac
	mdb_require_binaries || return 1

	# The directory: fresh from mktemp, or the caller's (must be empty).
	if [ -z "$dir" ]; then
		dir=$(mktemp -d "${TMPDIR:-/tmp}/mdb-cluster.XXXXXX") || return 1
	else
		if [ -e "$dir" ] && [ -n "$(ls -A "$dir" 2>/dev/null)" ]; then
			_mdb_err "directory '$dir' exists and is not empty"
			return 1
		fi
		mkdir -p "$dir" || return 1
	fi
	dir=$(cd "$dir" && pwd -P) || return 1
	chmod 700 "$dir" || return 1
	printf 'mdb-harness cluster, started by pid %s\n' "$BASHPID" >"$dir/.mdb-cluster"
	mdb_own "$dir"

	export MDB_DIR=$dir MDB_N=$n MDB_PRIMARY=1 MDB_INITIAL_PRIMARY=1 MDB_SEMISYNC=$semisync
	if [ "$(id -u)" -eq 0 ]; then MDB_ADMIN_USER=root; else MDB_ADMIN_USER=$(id -un); fi
	export MDB_ADMIN_USER
	export MDB_SENTINEL_USER=sentinel MDB_REPL_USER=repl MDB_APP_USER=app MDB_APP_DB=app
	export MDB_SENTINEL_PASSWORD_FILE="$dir/sentinel.password"
	export MDB_REPL_PASSWORD_FILE="$dir/repl.password"
	export MDB_APP_PASSWORD_FILE="$dir/app.password"

	if ! _mdb_cluster_up_inner; then
		if [ -n "${MDB_KEEP_DIR:-}" ]; then
			_mdb_err "cluster in $dir failed to come up (directory kept: MDB_KEEP_DIR)"
		else
			_mdb_err "cluster in $dir failed to come up (removing it; MDB_KEEP_DIR=1 keeps it)"
		fi
		mdb_cluster_down "$dir" || true
		return 1
	fi
}

# Run SQL on several servers at once; "I:SQL" per argument. Fails if any fails.
_mdb_sql_parallel() {
	local e i rc=0
	local -a pids=() idx=()
	for e in "$@"; do
		i=${e%%:*}
		mdb_sql "$i" "${e#*:}" >"$(_mdb_srvdir "$i")/setup.out" 2>&1 &
		pids+=($!)
		idx+=("$i")
	done
	for e in "${!pids[@]}"; do
		if ! wait "${pids[$e]}"; then
			_mdb_err "setup SQL failed on server ${idx[$e]}: $(tr '\n' ' ' <"$(_mdb_srvdir "${idx[$e]}")/setup.out")"
			rc=1
		fi
	done
	return "$rc"
}

_mdb_cluster_up_inner() {
	local dir=$MDB_DIR n=$MDB_N i u v host bind prefix sock t0 t_inst t_start pw_s pw_r pw_a setup deadline clients
	local req='' ssl=''
	local -a fresh=() fixed=() sqls=()
	if [ -n "${MDB_TLS_CA:-}" ]; then
		if [ ! -r "$MDB_TLS_CA" ] || [ ! -r "${MDB_TLS_CERT:-}" ] || [ ! -r "${MDB_TLS_KEY:-}" ]; then
			_mdb_err "MDB_TLS_CA, MDB_TLS_CERT and MDB_TLS_KEY must all name readable PEM files"
			return 1
		fi
		req=' REQUIRE SSL' ssl=", MASTER_SSL=1, MASTER_SSL_CA='$MDB_TLS_CA'"
	fi
	t0=$(_mdb_now_us)

	# Secrets: one random password per account and cluster, mode 0600 files,
	# no trailing newline, usable as the sentinel's password_file.
	for u in sentinel repl app; do
		(umask 077 && _mdb_random_password >"$dir/$u.password") || return 1
	done
	pw_s=$(cat "$dir/sentinel.password") pw_r=$(cat "$dir/repl.password") pw_a=$(cat "$dir/app.password")

	# Per-server settings (MDB_*_FOR_I are per-server inputs; MDB_*_I outputs).
	for ((i = 1; i <= n; i++)); do
		bind=$(_mdb_get BIND_FOR "$i")
		bind=${bind:-$_MDB_UP_BIND}
		prefix=$(_mdb_get PREFIX_FOR "$i")
		prefix=${prefix:-$_MDB_UP_PREFIX}
		host=$(_mdb_get HOST_FOR "$i")
		if [ -z "$host" ]; then
			case "$bind" in
			0.0.0.0 | '*') host=127.0.0.1 ;;
			:: | '[::]') host=::1 ;;
			*) host=$bind ;;
			esac
		fi
		sock="$dir/s$i.sock"
		if [ "${#sock}" -gt 100 ]; then
			_mdb_err "unix socket path too long (${#sock} > 100 bytes): $sock; use a shorter TMPDIR"
			return 1
		fi
		_mdb_set BIND "$i" "$bind"
		_mdb_set HOST "$i" "$host"
		_mdb_set PREFIX "$i" "$prefix"
		_mdb_set PORT "$i" ""
		_mdb_set SOCKET "$i" "$sock"
		_mdb_set DATADIR "$i" "$dir/srv$i/data"
		_mdb_set PIDFILE "$i" "$dir/srv$i/mariadbd.pid"
		_mdb_set ERRLOG "$i" "$dir/srv$i/error.log"
		_mdb_set SERVER_ID "$i" "$i"
		_mdb_set PID "$i" ""
		mkdir -p "$dir/srv$i/tmp" || return 1
	done
	for ((i = 1; i <= n; i++)); do
		v=$(_mdb_get PORT_FOR "$i")
		if [ -n "$v" ]; then
			fixed+=("$i")
		else
			v=$(_mdb_pick_port "$i") || return 1
			fresh+=("$i")
		fi
		_mdb_set PORT "$i" "$v"
		_mdb_write_args "$i" "$(_mdb_role_of "$i")" || return 1
	done

	# One mariadb-install-db for the whole cluster, copied per server. Its
	# own tmpdir, like every server's: a starting mariadbd deletes every
	# "#sql*" file in its tmpdir, including other servers' temporary tables.
	mkdir -p "$dir/install-tmp" || return 1
	local -a inst=(--no-defaults "--datadir=$dir/template" "--tmpdir=$dir/install-tmp"
		--auth-root-authentication-method=socket
		"--auth-root-socket-user=$MDB_ADMIN_USER" --skip-test-db --skip-name-resolve
		"--innodb-buffer-pool-size=$MDB_INNODB_BUFFER_POOL" "--innodb-log-file-size=$MDB_INNODB_LOG_FILE"
		--innodb-use-native-aio=OFF)
	[ "$(id -u)" -ne 0 ] || inst+=(--user=root)
	if ! "$MDB_INSTALL_DB" "${inst[@]}" >"$dir/install.log" 2>&1; then
		_mdb_err "mariadb-install-db failed; see $dir/install.log"
		{ grep -iE 'error|abort|fail' "$dir/install.log" || tail -n 20 "$dir/install.log"; } |
			head -n 20 | sed 's/^/  | /' >&2
		return 1
	fi
	for ((i = 1; i <= n; i++)); do
		cp -a "$dir/template" "$dir/srv$i/data" || return 1
	done
	rm -rf "$dir/template" "$dir/install-tmp"

	t_inst=$(mdb_elapsed "$t0")
	# Start every server at once, then wait for all of them.
	for ((i = 1; i <= n; i++)); do
		_mdb_launch "$i"
	done
	[ "${#fresh[@]}" -eq 0 ] || _mdb_wait_ready_many 1 "${fresh[@]}" || return 1
	[ "${#fixed[@]}" -eq 0 ] || _mdb_wait_ready_many 0 "${fixed[@]}" || return 1

	t_start=$(mdb_elapsed "$t0")
	# Accounts and databases, identical on every server and kept out of the
	# binlog, so every server starts with an empty GTID history. (The
	# proxies_priv row for this host's name only earns a warning at every
	# start under skip_name_resolve.)
	setup="SET SESSION sql_log_bin=0;
DELETE FROM mysql.proxies_priv WHERE Host NOT IN ('localhost', '%');
FLUSH PRIVILEGES;
CREATE USER 'sentinel'@'%' IDENTIFIED BY '$pw_s'$req;
GRANT $MDB_SENTINEL_PRIVILEGES ON *.* TO 'sentinel'@'%';
CREATE USER 'repl'@'%' IDENTIFIED BY '$pw_r'$req;
GRANT REPLICATION SLAVE ON *.* TO 'repl'@'%';
CREATE DATABASE app;
CREATE DATABASE test;
CREATE USER 'app'@'%' IDENTIFIED BY '$pw_a';
GRANT $MDB_APP_PRIVILEGES ON app.* TO 'app'@'%';
GRANT $MDB_APP_PRIVILEGES ON test.* TO 'app'@'%';"
	sqls=()
	for ((i = 1; i <= n; i++)); do
		sqls+=("$i:$setup")
	done
	_mdb_sql_parallel "${sqls[@]}" || return 1

	# Replicas follow server 1 by GTID.
	sqls=()
	for ((i = 2; i <= n; i++)); do
		sqls+=("$i:SET GLOBAL read_only=ON;
CHANGE MASTER TO MASTER_HOST='$(_mdb_get HOST 1)', MASTER_PORT=$(_mdb_get PORT 1),
  MASTER_USER='repl', MASTER_PASSWORD='$pw_r', MASTER_USE_GTID=slave_pos,
  MASTER_CONNECT_RETRY=1$ssl;
START SLAVE;")
	done
	if [ "${#sqls[@]}" -gt 0 ]; then
		_mdb_sql_parallel "${sqls[@]}" || return 1
	fi
	for ((i = 2; i <= n; i++)); do
		_mdb_wait_slave_running "$i" || return 1
	done

	# Semi-sync: the primary must count every replica as a semi-sync client.
	if [ "$MDB_SEMISYNC" = 1 ] && [ "$n" -gt 1 ]; then
		deadline=$(($(_mdb_now_us) + MDB_REPL_TIMEOUT_S * 1000000))
		while :; do
			clients=$(mdb_status_var 1 Rpl_semi_sync_master_clients) || return 1
			[ "$clients" != $((n - 1)) ] || break
			if [ "$(_mdb_now_us)" -ge "$deadline" ]; then
				_mdb_err "primary has $clients semi-sync clients, not $((n - 1)), after ${MDB_REPL_TIMEOUT_S} s"
				return 1
			fi
			sleep 0.05
		done
	fi

	_mdb_write_env || return 1
	_mdb_log "cluster of $n up in $(mdb_elapsed "$t0") s (install-db done at $t_inst s, servers up at $t_start s): $dir (primary $(_mdb_get HOST 1):$(_mdb_get PORT 1))"
}

# ------------------------------------------------------------- teardown ----

_mdb_forget() {
	local d
	local -a keep=()
	for d in "${_MDB_OWNED_DIRS[@]}"; do
		[ "${d#*:}" = "$1" ] || keep+=("$d")
	done
	_MDB_OWNED_DIRS=("${keep[@]}")
}

# _mdb_owned PID: the directories of the clusters process PID owns (callers
# pass their $BASHPID, read before any command or process substitution).
_mdb_owned() {
	local d
	for d in "${_MDB_OWNED_DIRS[@]}"; do
		[ "${d%%:*}" != "$1" ] || printf '%s\n' "${d#*:}"
	done
}

# mdb_cluster_down [DIR]: stop every mariadbd this harness started for the
# cluster in DIR (default: the current one) - by the PIDs recorded from $!
# and from the pid files, never by name - SIGTERM, bounded wait, SIGKILL;
# verify they are gone, then remove DIR (unless MDB_KEEP_DIR is set).
# Refuses a directory without the harness's marker file.
mdb_cluster_down() {
	local dir=${1:-${MDB_DIR:-}} srv
	local -a ents=() more
	[ -n "$dir" ] || return 0
	if [ ! -e "$dir" ]; then
		_mdb_forget "$dir"
		return 0
	fi
	if [ ! -f "$dir/.mdb-cluster" ]; then
		_mdb_err "refusing to tear down '$dir': not a harness cluster directory (no .mdb-cluster)"
		return 1
	fi
	for srv in "$dir"/srv*; do
		[ -d "$srv" ] || continue
		mapfile -t more < <(_mdb_entries "$srv")
		ents+=("${more[@]}")
	done
	if [ "${#ents[@]}" -gt 0 ]; then
		_mdb_stop_entries "cluster $dir" "${ents[@]}" || {
			_mdb_err "not removing $dir: servers still running"
			return 1
		}
	fi
	if [ -n "${MDB_KEEP_DIR:-}" ]; then
		_mdb_log "servers of $dir stopped; directory kept (MDB_KEEP_DIR)"
	else
		rm -rf "$dir"
		if [ -e "$dir" ]; then
			_mdb_err "could not remove $dir"
			return 1
		fi
	fi
	_mdb_forget "$dir"
	return 0
}

# mdb_teardown_all: tear down every cluster this process started or adopted.
mdb_teardown_all() {
	local d rc=0 me=$BASHPID
	local -a dirs
	mapfile -t dirs < <(_mdb_owned "$me")
	for d in "${dirs[@]}"; do
		mdb_cluster_down "$d" || rc=1
	done
	return "$rc"
}

# mdb_dump_logs [DIR]: the tail of every server's error log, on stderr.
mdb_dump_logs() {
	local dir=${1:-${MDB_DIR:-}} srv
	[ -d "$dir" ] || return 0
	for srv in "$dir"/srv*; do
		[ -f "$srv/error.log" ] || continue
		printf 'mdb-harness: ---- tail of %s ----\n' "$srv/error.log" >&2
		tail -n 30 "$srv/error.log" | sed 's/^/  | /' >&2
	done
}

_mdb_exit_trap() {
	local rc=$? d me=$BASHPID
	set +e
	trap - EXIT
	if [ "$rc" -ne 0 ]; then
		while read -r d; do
			mdb_dump_logs "$d"
		done < <(_mdb_owned "$me")
	fi
	if ! mdb_teardown_all; then
		_mdb_err "teardown failed"
		[ "$rc" -ne 0 ] || rc=1
	fi
	for d in "${_MDB_EXIT_HOOKS[@]}"; do
		[ "${d%%:*}" = "$me" ] || continue
		eval "${d#*:}" || { [ "$rc" -ne 0 ] || rc=1; }
	done
	exit "$rc"
}

# mdb_on_exit CMD: also run CMD (eval'ed) in this process's EXIT trap,
# after the teardown (not in subshells, which inherit the list).
mdb_on_exit() {
	_MDB_EXIT_HOOKS+=("$BASHPID:$1")
}

# mdb_trap_teardown: on EXIT (and on INT/TERM/HUP, which then exit), tear
# down every cluster of this shell, showing the error logs first when the
# script is failing. Replaces the shell's EXIT trap; a script with its own
# cleanup should call mdb_teardown_all from its trap instead.
mdb_trap_teardown() {
	trap _mdb_exit_trap EXIT
	trap 'exit 129' HUP
	trap 'exit 130' INT
	trap 'exit 143' TERM
}

# --------------------------------------------------------------- status ----

# mdb_cluster_status: one line per server; returns 1 if any is not running.
mdb_cluster_status() {
	_mdb_need_cluster || return 1
	local i rc=0 pid ro gtid io sql semi out m s
	printf '%-4s %-22s %-8s %-8s %-3s %-24s %-8s %s\n' SRV ADDRESS PID STATE RO GTID_CURRENT_POS IO/SQL SEMISYNC
	for ((i = 1; i <= MDB_N; i++)); do
		if pid=$(mdb_pid "$i" 2>/dev/null) && out=$(mdb_sql "$i" "SELECT CONCAT_WS('|', @@read_only, @@gtid_current_pos, @@rpl_semi_sync_master_enabled, @@rpl_semi_sync_slave_enabled)" 2>/dev/null); then
			IFS='|' read -r ro gtid m s <<<"$out"
			io=$(mdb_slave_field "$i" Slave_IO_Running 2>/dev/null)
			sql=$(mdb_slave_field "$i" Slave_SQL_Running 2>/dev/null)
			semi=off
			case "$m" in 1 | ON) semi="master:$(mdb_status_var "$i" Rpl_semi_sync_master_status 2>/dev/null)" ;; esac
			case "$s" in 1 | ON) semi="slave:$(mdb_status_var "$i" Rpl_semi_sync_slave_status 2>/dev/null)" ;; esac
			printf '%-4s %-22s %-8s %-8s %-3s %-24s %-8s %s\n' "$i" "$(_mdb_get HOST "$i"):$(_mdb_get PORT "$i")" \
				"$pid" up "$ro" "${gtid:--}" "${io:--}/${sql:--}" "$semi"
		else
			printf '%-4s %-22s %-8s %-8s\n' "$i" "$(_mdb_get HOST "$i"):$(_mdb_get PORT "$i")" "${pid:--}" down
			rc=1
		fi
	done
	return "$rc"
}

# ----------------------------------------------------------- assertions ----
# For test scripts: print what is asserted; on failure print why and exit 1
# (the EXIT trap then tears the cluster down).

_mdb_ok() {
	_MDB_ASSERTIONS=$((_MDB_ASSERTIONS + 1))
	printf 'ok %d - %s\n' "$_MDB_ASSERTIONS" "$1"
}

_mdb_not_ok() {
	_MDB_ASSERTIONS=$((_MDB_ASSERTIONS + 1))
	printf 'not ok %d - %s\n' "$_MDB_ASSERTIONS" "$1"
	shift
	[ $# -eq 0 ] || printf '#   %s\n' "$@"
	exit 1
}

# mdb_assert DESC CMD...: CMD succeeds.
mdb_assert() {
	local desc=$1 out
	shift
	if out=$("$@" 2>&1); then
		_mdb_ok "$desc"
	else
		_mdb_not_ok "$desc" "command failed: $*" "${out:-(no output)}"
	fi
}

# mdb_assert_fails DESC CMD...: CMD fails. Its output is kept in MDB_LAST_OUT.
mdb_assert_fails() {
	local desc=$1
	shift
	if MDB_LAST_OUT=$("$@" 2>&1); then
		_mdb_not_ok "$desc" "command succeeded but should have failed: $*" "$MDB_LAST_OUT"
	else
		_mdb_ok "$desc"
	fi
}

# mdb_assert_eq DESC EXPECTED ACTUAL
mdb_assert_eq() {
	if [ "$2" = "$3" ]; then
		_mdb_ok "$1"
	else
		_mdb_not_ok "$1" "expected: '$2'" "actual:   '$3'"
	fi
}

# mdb_assert_match DESC ERE ACTUAL
mdb_assert_match() {
	if [[ $3 =~ $2 ]]; then
		_mdb_ok "$1"
	else
		_mdb_not_ok "$1" "expected to match: /$2/" "actual: '$3'"
	fi
}

# mdb_done NAME: the final line of a passing test.
mdb_done() {
	printf 'PASS: %s (%d checks)\n' "$1" "$_MDB_ASSERTIONS"
}
