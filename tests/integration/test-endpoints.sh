#!/usr/bin/env bash
# Every endpoint of a cluster at once (lib/io/endpoints.c): starts named on loopback with a
# TSIG-signed dynamic zone (tests/harness/named-harness.sh) and runs the C test program
# test-endpoints.c against it, with ENDPOINTS_DIR (inside named's harness directory, removed with
# it) for the exec endpoints' scripts and records. On exit, also on failure: every process group a
# script recorded in ENDPOINTS_DIR/pids that still runs one of our scripts gets SIGKILL, then named
# is torn down by PID. Skipped (77) when named or dig is not installed; needs no root.
#
#   test-endpoints.sh [TEST_BINARY]     default: $TEST_ENDPOINTS_BIN or $BUILD_ROOT/tests/test-endpoints
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
: "${SOURCE_ROOT:=$(cd "$here/../.." && pwd)}"
: "${BUILD_ROOT:=$SOURCE_ROOT/build}"
bin=${1:-${TEST_ENDPOINTS_BIN:-$BUILD_ROOT/tests/test-endpoints}}
if [ ! -x "$bin" ]; then
	echo "test-endpoints.sh: $bin is not built" >&2
	exit 1
fi

# shellcheck source=SCRIPTDIR/../harness/named-harness.sh
. "$here/../harness/named-harness.sh"
for tool in named dig tsig-keygen; do
	if ! _named_find_bin "$tool" >/dev/null 2>&1; then
		echo "test-endpoints.sh: $tool is not installed; skipping" >&2
		exit 77
	fi
done

ENDPOINTS_DIR=''

# Kills the process group of every recorded pid whose command line still names a script of ours.
kill_scripts() {
	local pid
	[ -n "$ENDPOINTS_DIR" ] && [ -f "$ENDPOINTS_DIR/pids" ] || return 0
	while read -r pid; do
		[[ $pid =~ ^[0-9]+$ ]] || continue
		if tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF "$ENDPOINTS_DIR/"; then
			echo "test-endpoints.sh: killing the leftover process group $pid" >&2
			kill -KILL -- "-$pid" 2>/dev/null || true
		fi
	done <"$ENDPOINTS_DIR/pids"
}

on_exit() {
	local rc=$?
	set +e
	kill_scripts
	(exit "$rc")
	_named_exit_trap
}

named_trap_teardown
trap on_exit EXIT

named_up
ENDPOINTS_DIR=$NAMED_DIR/endpoints
mkdir "$ENDPOINTS_DIR"
export ENDPOINTS_DIR
"$bin"
