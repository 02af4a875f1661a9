#!/usr/bin/env bash
# shellcheck shell=bash
#
# named-harness.sh - run a real BIND `named` on loopback, with a dynamic zone that accepts
# RFC 2136 updates signed with a TSIG key the harness generates, for the DNS endpoint's
# integration tests and the demo; stop and restart it to simulate an outage; tear it down by PID.
#
# As a library (bash; it changes none of the caller's shell options):
#
#     . tests/harness/named-harness.sh
#     named_trap_teardown          # EXIT/INT/TERM: stop our named, rm its dir (chains into
#                                  # mdb_trap_teardown's trap when mdb-harness.sh is in use)
#     named_up                     # sets NAMED_* variables, writes $NAMED_DIR/named.env
#     named_dig +short primary.db.test. A
#     named_stop; named_start      # an outage: same port, same zone (with its journal)
#
# As a command (for a test in another language, which gets DIR from the environment):
#
#     named-harness.sh up DIR        start; DIR must not exist or be empty; prints the env file
#     named-harness.sh stop DIR      SIGTERM, bounded, then SIGKILL
#     named-harness.sh start DIR     start again with the same configuration; wait until it answers
#     named-harness.sh status DIR    exit 0 when it runs and answers
#     named-harness.sh down DIR      stop and remove DIR
#     named-harness.sh dig DIR ARGS...   dig @server -p port, signed with the update key
#
# DIR holds:
#     named.env            the NAMED_* variables below, shell-quoted (source it)
#     named.conf           options (listen-on 127.0.0.1 and ::1 when usable, port NAMED_PORT,
#                          no recursion, no control channel), the keys, the zone
#     sentinel.key         the update key, BIND's key "sentinel-key" { algorithm hmac-sha256; ... },
#                          mode 0600: usable as the endpoint's tsig_key_file as is
#     reader.key           a second key named knows but which may not update (for REFUSED tests)
#     zone.db (+ .jnl)     the zone, SOA and NS only at first; the journal keeps updates across restarts
#     named.log            named's own log (-g: everything on stderr)
#     pids                 every PID ever launched ($!); only these are ever signalled, and only
#                          while their command line still names this DIR's named.conf
#     .named-harness       marker: teardown refuses a directory without it
#
# Variables set (and in named.env): NAMED_DIR NAMED_HOST (127.0.0.1) NAMED_HOST6 (::1, or empty
# when IPv6 loopback is unusable) NAMED_PORT NAMED_ZONE NAMED_KEY_FILE NAMED_KEY_NAME
# NAMED_READER_KEY_FILE NAMED_READER_KEY_NAME NAMED_CONF NAMED_LOG NAMED_PID NAMED_PREFIX.
#
# Tunables: NAMED_ZONE (db.test.), NAMED_KEY_ALGORITHM (hmac-sha256), NAMED_PORT_MIN/MAX
# (20000/32000), NAMED_START_TIMEOUT_S (30), NAMED_STOP_TIMEOUT_S (10), NAMED_BIN, NAMED_KEEP_DIR,
# NAMED_QUIET. For a named in a network namespace (tests/netns/), set before named_up: NAMED_BIND
# (the IPv4 address to listen on, default 127.0.0.1; [::1] is added only for 127.0.0.1) and
# NAMED_PREFIX (a command prefix such as "ip netns exec NS" under which named, its port check, dig
# and nsupdate run; kept in named.env). Functions return non-zero with one "named-harness: error:
# ..." line on stderr instead of exiting. Root is not needed (named stays the user that starts it).

if [ -z "${BASH_VERSION:-}" ]; then
	echo "named-harness.sh: needs bash" >&2
	# shellcheck disable=SC2317 # exit when executed rather than sourced
	return 1 2>/dev/null || exit 1
fi

: "${NAMED_ZONE:=db.test.}"
: "${NAMED_KEY_ALGORITHM:=hmac-sha256}"
: "${NAMED_PORT_MIN:=20000}"
: "${NAMED_PORT_MAX:=32000}"
: "${NAMED_START_TIMEOUT_S:=30}"
: "${NAMED_STOP_TIMEOUT_S:=10}"

NAMED_HARNESS=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/named-harness.sh
export NAMED_HARNESS

if [ -z "${_NAMED_LOADED:-}" ]; then
	_NAMED_OWNED_DIRS=() # "OWNER_BASHPID:DIR"
	_NAMED_LOADED=1
fi

_named_log() {
	[ -n "${NAMED_QUIET:-}" ] || printf 'named-harness: %s\n' "$*" >&2
}

_named_err() {
	printf 'named-harness: error: %s\n' "$*" >&2
}

_named_now_us() {
	local t=${EPOCHREALTIME:-}
	if [ -n "$t" ]; then
		printf '%s\n' "${t//[.,]/}"
	else
		printf '%s000000\n' "$(date +%s)"
	fi
}

_named_find_bin() {
	local c
	for c in "$(command -v "$1" 2>/dev/null)" /usr/sbin/"$1" /usr/bin/"$1" /usr/local/sbin/"$1"; do
		if [ -n "$c" ] && [ -x "$c" ]; then
			printf '%s\n' "$c"
			return 0
		fi
	done
	_named_err "$1 not found (run scripts/bootstrap: packages bind9, bind9-utils, bind9-dnsutils)"
	return 1
}

# named_load DIR: adopt the named of DIR/named.env (no teardown ownership).
named_load() {
	local dir=${1:-}
	if [ ! -f "$dir/named.env" ] || [ ! -f "$dir/.named-harness" ]; then
		_named_err "$dir is not a named-harness directory"
		return 1
	fi
	# shellcheck source=/dev/null
	. "$dir/named.env"
}

_named_write_env() {
	local v
	{
		for v in NAMED_DIR NAMED_HOST NAMED_HOST6 NAMED_PORT NAMED_ZONE NAMED_KEY_FILE NAMED_KEY_NAME \
			NAMED_READER_KEY_FILE NAMED_READER_KEY_NAME NAMED_CONF NAMED_LOG NAMED_PID NAMED_PREFIX; do
			printf 'export %s=%q\n' "$v" "${!v:-}"
		done
	} >"$NAMED_DIR/named.env.tmp" && mv -f "$NAMED_DIR/named.env.tmp" "$NAMED_DIR/named.env"
}

# _named_pid_is_ours PID CONF: alive, not a zombie, and started with -c CONF.
_named_pid_is_ours() {
	local pid=$1 conf=$2 stat state
	case "$pid" in '' | *[!0-9]*) return 1 ;; esac
	stat=$(cat "/proc/$pid/stat" 2>/dev/null) || return 1
	state=${stat##*) }
	state=${state%% *}
	[ "$state" != Z ] || return 1
	tr '\0' '\n' 2>/dev/null <"/proc/$pid/cmdline" | grep -Fxq -- "$conf"
}

# _named_pids DIR: the live PIDs of DIR's named that we launched.
_named_pids() {
	local dir=$1 pid
	sort -u "$dir/pids" 2>/dev/null | while read -r pid; do
		if _named_pid_is_ours "$pid" "$dir/named.conf"; then
			printf '%s\n' "$pid"
		fi
	done
}

# _named_prefixed CMD...: CMD under NAMED_PREFIX (e.g. in named's network namespace), or as is.
_named_prefixed() {
	local -a prefix
	read -ra prefix <<<"${NAMED_PREFIX:-}"
	"${prefix[@]}" "$@"
}

# _named_port_free PORT: no TCP or UDP socket uses PORT.
_named_port_free() {
	[ -z "$(_named_prefixed ss -Htuan "( sport = :$1 )" 2>/dev/null)" ]
}

_named_pick_port() {
	local p i
	for ((i = 0; i < 200; i++)); do
		p=$((NAMED_PORT_MIN + RANDOM % (NAMED_PORT_MAX - NAMED_PORT_MIN)))
		if _named_port_free "$p"; then
			printf '%s\n' "$p"
			return 0
		fi
	done
	_named_err "no free port in $NAMED_PORT_MIN..$NAMED_PORT_MAX"
	return 1
}

_named_write_conf() {
	local dir=$NAMED_DIR v6=
	[ -z "$NAMED_HOST6" ] || v6="$NAMED_HOST6;"
	cat >"$dir/named.conf" <<EOF
// written by named-harness.sh
include "$dir/sentinel.key";
include "$dir/reader.key";
options {
	directory "$dir";
	pid-file "$dir/named.pid";
	session-keyfile "$dir/session.key";
	managed-keys-directory "$dir";
	listen-on port $NAMED_PORT { $NAMED_HOST; };
	listen-on-v6 port $NAMED_PORT { $v6 };
	recursion no;
	dnssec-validation no;
	notify no;
	allow-query { any; };
	minimal-responses yes;
};
controls { };
zone "$NAMED_ZONE" {
	type primary;
	file "$dir/zone.db";
	update-policy { grant $NAMED_KEY_NAME zonesub ANY; };
};
EOF
}

# _named_launch: start named in the background, record its PID.
_named_launch() {
	local named
	local -a prefix
	named=$(_named_find_bin named) || return 1
	printf -- '---- %s start\n' "$(date '+%F %T')" >>"$NAMED_LOG"
	_NAMED_LOG_OFFSET=$(stat -c %s "$NAMED_LOG")
	read -ra prefix <<<"${NAMED_PREFIX:-}"
	# a simple command, so that $! is named itself (a prefix such as ip netns exec execs it)
	"${prefix[@]}" "$named" -g -c "$NAMED_CONF" </dev/null >>"$NAMED_LOG" 2>&1 &
	NAMED_PID=$!
	printf '%s\n' "$NAMED_PID" >>"$NAMED_DIR/pids"
	_named_write_env
}

# named_answers: the server answers authoritatively for the zone.
named_answers() {
	_named_prefixed dig @"$NAMED_HOST" -p "$NAMED_PORT" +norec +time=1 +tries=1 "$NAMED_ZONE" SOA 2>/dev/null |
		grep -q 'status: NOERROR'
}

# _named_wait_ready: 0 answering; 1 failed; 2 the port was taken (try another).
_named_wait_ready() {
	local deadline
	deadline=$(($(_named_now_us) + NAMED_START_TIMEOUT_S * 1000000))
	while [ "$(_named_now_us)" -lt "$deadline" ]; do
		if tail -c +"$((${_NAMED_LOG_OFFSET:-0} + 1))" "$NAMED_LOG" 2>/dev/null | grep -q 'address in use'; then
			_named_kill_all "$NAMED_DIR" >/dev/null 2>&1
			return 2
		fi
		if ! _named_pid_is_ours "$NAMED_PID" "$NAMED_CONF"; then
			_named_err "named exited during startup; see $NAMED_LOG"
			tail -n 15 "$NAMED_LOG" | sed 's/^/  | /' >&2
			return 1
		fi
		named_answers && return 0
		sleep 0.05
	done
	_named_err "named did not answer on $NAMED_HOST:$NAMED_PORT within ${NAMED_START_TIMEOUT_S}s; see $NAMED_LOG"
	return 1
}

# named_up [--dir DIR] [--zone ZONE]: generate keys and zone, start named on a free port.
named_up() {
	local dir='' zone=$NAMED_ZONE keygen try rc
	while [ $# -gt 0 ]; do
		case "$1" in
		--dir) dir=$2; shift 2 ;;
		--zone) zone=$2; shift 2 ;;
		*) _named_err "named_up: unknown option $1"; return 1 ;;
		esac
	done
	_named_find_bin named >/dev/null && _named_find_bin dig >/dev/null || return 1
	keygen=$(_named_find_bin tsig-keygen) || return 1
	if [ -z "$dir" ]; then
		dir=$(mktemp -d "${TMPDIR:-/tmp}/named-harness.XXXXXX") || return 1
	elif [ -e "$dir" ] && [ -n "$(ls -A "$dir")" ]; then
		_named_err "$dir is not empty"
		return 1
	fi
	mkdir -p "$dir" && chmod 0700 "$dir" && : >"$dir/.named-harness" || return 1
	dir=$(cd "$dir" && pwd)
	_NAMED_OWNED_DIRS+=("$BASHPID:$dir")
	case "$zone" in *.) ;; *) zone="$zone." ;; esac
	NAMED_DIR=$dir NAMED_ZONE=$zone NAMED_HOST=${NAMED_BIND:-127.0.0.1} NAMED_HOST6= NAMED_PREFIX=${NAMED_PREFIX:-}
	NAMED_CONF=$dir/named.conf NAMED_LOG=$dir/named.log
	NAMED_KEY_NAME=sentinel-key NAMED_KEY_FILE=$dir/sentinel.key
	NAMED_READER_KEY_NAME=reader-key NAMED_READER_KEY_FILE=$dir/reader.key
	if [ "$NAMED_HOST" = 127.0.0.1 ] && _named_prefixed ip -6 addr show dev lo 2>/dev/null | grep -q 'inet6 ::1/'; then
		NAMED_HOST6=::1
	fi
	(
		umask 077
		"$keygen" -a "$NAMED_KEY_ALGORITHM" "$NAMED_KEY_NAME" >"$NAMED_KEY_FILE" &&
			"$keygen" -a "$NAMED_KEY_ALGORITHM" "$NAMED_READER_KEY_NAME" >"$NAMED_READER_KEY_FILE"
	) || { _named_err "tsig-keygen failed"; return 1; }
	cat >"$dir/zone.db" <<EOF
\$TTL 60
@	IN SOA ns.$zone hostmaster.$zone 1 3600 600 86400 5
@	IN NS ns.$zone
ns	IN A 127.0.0.1
EOF
	for try in 1 2 3 4 5; do
		NAMED_PORT=$(_named_pick_port) || return 1
		_named_write_conf
		if [ "$try" -eq 1 ]; then
			"$(_named_find_bin named-checkconf)" -z "$NAMED_CONF" >/dev/null || {
				_named_err "named-checkconf refused $NAMED_CONF"
				return 1
			}
		fi
		_named_launch || return 1
		_named_wait_ready
		rc=$?
		[ "$rc" -eq 2 ] || break
		_named_log "port $NAMED_PORT was taken; trying another"
	done
	[ "$rc" -eq 0 ] || return 1
	export NAMED_DIR NAMED_HOST NAMED_HOST6 NAMED_PORT NAMED_ZONE NAMED_KEY_FILE NAMED_KEY_NAME \
		NAMED_READER_KEY_FILE NAMED_READER_KEY_NAME NAMED_CONF NAMED_LOG NAMED_PID NAMED_PREFIX
	_named_log "named $NAMED_PID answers for $NAMED_ZONE on $NAMED_HOST:$NAMED_PORT${NAMED_HOST6:+ and [$NAMED_HOST6]:$NAMED_PORT} ($dir)"
}

# _named_kill_all DIR: SIGTERM every named of DIR, bounded, then SIGKILL; 1 if one survives.
_named_kill_all() {
	local dir=$1 pid deadline
	local -a pids
	mapfile -t pids < <(_named_pids "$dir")
	[ ${#pids[@]} -gt 0 ] || return 0
	kill -TERM "${pids[@]}" 2>/dev/null
	deadline=$(($(_named_now_us) + NAMED_STOP_TIMEOUT_S * 1000000))
	while [ -n "$(_named_pids "$dir")" ] && [ "$(_named_now_us)" -lt "$deadline" ]; do
		sleep 0.05
	done
	for pid in $(_named_pids "$dir"); do
		_named_log "named $pid ignored SIGTERM; SIGKILL"
		kill -KILL "$pid" 2>/dev/null
	done
	deadline=$(($(_named_now_us) + 5000000))
	while [ -n "$(_named_pids "$dir")" ] && [ "$(_named_now_us)" -lt "$deadline" ]; do
		sleep 0.05
	done
	for pid in "${pids[@]}"; do # reap our own children; others are reaped by their parent
		wait "$pid" 2>/dev/null || true
	done
	[ -z "$(_named_pids "$dir")" ]
}

# named_stop [DIR]: stop the server (an outage); the directory, port and zone stay.
named_stop() {
	local dir=${1:-${NAMED_DIR:-}}
	[ -f "$dir/.named-harness" ] || { _named_err "named_stop: '$dir' is not a named-harness directory"; return 1; }
	_named_kill_all "$dir" || { _named_err "named of $dir would not die"; return 1; }
}

# named_start [DIR]: start it again (same configuration and port); wait until it answers.
named_start() {
	local dir=${1:-${NAMED_DIR:-}}
	named_load "$dir" || return 1
	if [ -n "$(_named_pids "$dir")" ]; then
		_named_err "named of $dir already runs"
		return 1
	fi
	_named_launch || return 1
	if ! _named_wait_ready; then
		_named_err "named did not come back on port $NAMED_PORT"
		return 1
	fi
}

# named_is_running [DIR]
named_is_running() {
	[ -n "$(_named_pids "${1:-${NAMED_DIR:-}}")" ]
}

# named_down [DIR]: stop it and remove DIR (kept when NAMED_KEEP_DIR is set). Idempotent.
named_down() {
	local dir=${1:-${NAMED_DIR:-}}
	[ -n "$dir" ] && [ -e "$dir" ] || return 0
	[ -f "$dir/.named-harness" ] || { _named_err "refusing to remove $dir: no .named-harness marker"; return 1; }
	named_stop "$dir" || return 1
	if [ -n "${NAMED_KEEP_DIR:-}" ]; then
		_named_log "kept $dir"
	else
		rm -rf -- "$dir"
	fi
}

# named_teardown_all: named_down every directory this process started.
named_teardown_all() {
	local e rc=0
	for e in "${_NAMED_OWNED_DIRS[@]}"; do
		[ "${e%%:*}" = "$BASHPID" ] || continue
		named_down "${e#*:}" || rc=1
	done
	return "$rc"
}

_named_exit_trap() {
	local rc=$? e
	set +e
	trap - EXIT
	if [ "$rc" -ne 0 ]; then
		for e in "${_NAMED_OWNED_DIRS[@]}"; do
			if [ "${e%%:*}" != "$BASHPID" ] || [ ! -f "${e#*:}/named.log" ]; then
				continue
			fi
			printf 'named-harness: ---- tail of %s ----\n' "${e#*:}/named.log" >&2
			tail -n 20 "${e#*:}/named.log" | sed 's/^/  | /' >&2
		done
	fi
	named_teardown_all || { _named_err "teardown failed"; [ "$rc" -ne 0 ] || rc=1; }
	exit "$rc"
}

# named_trap_teardown: tear down on EXIT (INT/TERM/HUP exit first). With mdb-harness.sh's
# mdb_trap_teardown already installed, hook into its trap instead of replacing it.
named_trap_teardown() {
	if declare -F mdb_on_exit >/dev/null && [ "$(trap -p EXIT)" != "" ]; then
		mdb_on_exit named_teardown_all
		return 0
	fi
	trap _named_exit_trap EXIT
	trap 'exit 129' HUP
	trap 'exit 130' INT
	trap 'exit 143' TERM
}

# named_dig ARGS...: dig at our server, signed with the update key, no recursion.
named_dig() {
	_named_prefixed dig @"$NAMED_HOST" -p "$NAMED_PORT" -k "$NAMED_KEY_FILE" +norec +time=1 +tries=2 "$@"
}

# named_nsupdate [KEYFILE]: nsupdate with "server" and "zone" set; commands on stdin, then "send".
named_nsupdate() {
	{
		printf 'server %s %s\nzone %s\n' "$NAMED_HOST" "$NAMED_PORT" "$NAMED_ZONE"
		cat
		printf 'send\n'
	} | _named_prefixed nsupdate -t 3 -k "${1:-$NAMED_KEY_FILE}"
}

# ---- command mode ----
_named_main() {
	local cmd=${1:-} dir=${2:-}
	if [ -z "$cmd" ] || [ -z "$dir" ]; then
		echo "usage: named-harness.sh up|stop|start|status|down|dig DIR [ARGS...]" >&2
		return 2
	fi
	shift 2
	case "$cmd" in
	up)
		named_up --dir "$dir" "$@" || { named_down "$dir"; return 1; }
		cat "$dir/named.env"
		;;
	stop) named_stop "$dir" ;;
	start) named_start "$dir" ;;
	status) named_load "$dir" && named_is_running "$dir" && named_answers ;;
	down) named_down "$dir" ;;
	dig) named_load "$dir" && named_dig "$@" ;;
	*)
		echo "named-harness.sh: unknown command $cmd" >&2
		return 2
		;;
	esac
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
	_named_main "$@"
	exit $?
fi
