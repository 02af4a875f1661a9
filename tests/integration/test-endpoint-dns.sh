#!/usr/bin/env bash
# The DNS endpoint (lib/io/endpoint-dns.c) against a real BIND named: starts named on loopback with
# a TSIG-signed dynamic zone (tests/harness/named-harness.sh), runs the C test program
# test-endpoint-dns.c against it (its env: named.env's NAMED_* and NAMED_HARNESS, through which it
# stops and restarts named), and tears named down by PID in the EXIT trap, also on failure.
#
#   test-endpoint-dns.sh [TEST_BINARY]     default: $TEST_ENDPOINT_DNS_BIN or $BUILD_ROOT/tests/test-endpoint-dns
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
: "${SOURCE_ROOT:=$(cd "$here/../.." && pwd)}"
: "${BUILD_ROOT:=$SOURCE_ROOT/build}"
bin=${1:-${TEST_ENDPOINT_DNS_BIN:-$BUILD_ROOT/tests/test-endpoint-dns}}
if [ ! -x "$bin" ]; then
	echo "test-endpoint-dns.sh: $bin is not built" >&2
	exit 1
fi

# shellcheck source=SCRIPTDIR/../harness/named-harness.sh
. "$here/../harness/named-harness.sh"
named_trap_teardown

named_up
"$bin"
