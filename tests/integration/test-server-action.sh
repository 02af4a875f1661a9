#!/usr/bin/env bash
# The failover's database actions (lib/io/server-action.c) against real servers: brings up a 3-server
# semi-sync GTID cluster with the shared harness, runs the C test program test-server-action.c
# against it (its env: the cluster's MDB_* variables and MDB_CLUSTER_CMD), and tears the cluster
# down by PID in the harness's EXIT trap, also when the test fails or is interrupted (a server the
# test left stopped with SIGSTOP is continued and terminated too).
#
#   test-server-action.sh [TEST_SERVER_ACTION_BINARY]
#       default: $TEST_SERVER_ACTION_BIN or $BUILD_ROOT/tests/test-server-action
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
: "${SOURCE_ROOT:=$(cd "$here/../.." && pwd)}"
: "${BUILD_ROOT:=$SOURCE_ROOT/build}"
bin=${1:-${TEST_SERVER_ACTION_BIN:-$BUILD_ROOT/tests/test-server-action}}
if [ ! -x "$bin" ]; then
	echo "test-server-action.sh: $bin is not built" >&2
	exit 1
fi

# shellcheck source=../harness/mdb-harness.sh
. "$here/../harness/mdb-harness.sh"
mdb_trap_teardown

mdb_cluster_up 3 --semisync

export MDB_CLUSTER_CMD="$here/../harness/mdb-cluster"
"$bin"
