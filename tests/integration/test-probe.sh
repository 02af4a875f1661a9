#!/usr/bin/env bash
# The non-blocking probe (lib/io/probe.c, lib/io/db.c) against real servers: brings up a 3-server
# semi-sync GTID cluster with the shared harness, runs the C test program test-probe.c against it
# (its env: the cluster's MDB_* variables, MDB_CLUSTER_CMD, MDB_EXTRA_PORT_2), and tears the
# cluster down by PID in the harness's EXIT trap, also when the test fails or is interrupted.
#
#   test-probe.sh [TEST_PROBE_BINARY]     default: $TEST_PROBE_BIN or $BUILD_ROOT/tests/test-probe
#
# Under ASan+UBSan it runs with the same ASAN_OPTIONS as every other test: Connector/C's coroutine
# stacks need no sanitizer option turned off (why: the comment at the top of lib/io/db.c).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
: "${SOURCE_ROOT:=$(cd "$here/../.." && pwd)}"
: "${BUILD_ROOT:=$SOURCE_ROOT/build}"
bin=${1:-${TEST_PROBE_BIN:-$BUILD_ROOT/tests/test-probe}}
if [ ! -x "$bin" ]; then
	echo "test-probe.sh: $bin is not built" >&2
	exit 1
fi

# shellcheck source=../harness/mdb-harness.sh
. "$here/../harness/mdb-harness.sh"
mdb_trap_teardown

mdb_cluster_up 3 --semisync

# A free port for replica 2's extra_port (the max_connections test), picked like the harness
# picks server ports: below the ephemeral range, not used by any socket now.
extra=
for _ in $(seq 200); do
	p=$((MDB_PORT_MIN + RANDOM % (MDB_PORT_MAX - MDB_PORT_MIN)))
	case " $MDB_PORT_1 $MDB_PORT_2 $MDB_PORT_3 " in *" $p "*) continue ;; esac
	if [ -z "$(ss -Htan "( sport = :$p )" 2>/dev/null)" ]; then
		extra=$p
		break
	fi
done
[ -n "$extra" ] || { echo "test-probe.sh: no free port for extra_port" >&2; exit 1; }

export MDB_CLUSTER_CMD="$here/../harness/mdb-cluster" MDB_EXTRA_PORT_2=$extra
"$bin"
