#!/usr/bin/env bash
# The vip endpoint (lib/io/endpoint-vip.c) in network namespaces this script creates: A and B joined
# by a veth pair (vethA in A, vethB in B) with fixed MACs and 10.200.77.0/24 + fd00:200:77::/64
# addresses that exist only inside these namespaces. Runs the C test program inside A; the EXIT trap
# deletes both namespaces (and with them the veth pair), also on failure. Needs root; exit 77 (skip)
# when not root or when `ip netns` is unavailable.
#
#   test-endpoint-vip.sh [TEST_BINARY]     default: $TEST_ENDPOINT_VIP_BIN or $BUILD_ROOT/tests/test-endpoint-vip
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
: "${SOURCE_ROOT:=$(cd "$here/../.." && pwd)}"
: "${BUILD_ROOT:=$SOURCE_ROOT/build}"
bin=${1:-${TEST_ENDPOINT_VIP_BIN:-$BUILD_ROOT/tests/test-endpoint-vip}}
if [ ! -x "$bin" ]; then
	echo "test-endpoint-vip.sh: $bin is not built" >&2
	exit 1
fi
if [ "$(id -u)" -ne 0 ] || ! command -v ip >/dev/null; then
	echo "test-endpoint-vip.sh: needs root and iproute2; skipped" >&2
	exit 77
fi

# Unique per run, so parallel runs and leftovers of a killed run never collide.
suffix="$$-$RANDOM"
ns_a="vip-a-$suffix"
ns_b="vip-b-$suffix"
mac_a=02:00:00:00:0a:01
mac_b=02:00:00:00:0b:01

test_pid=
cleanup() {
	if [ -n "$test_pid" ]; then
		kill "$test_pid" 2>/dev/null || true
		wait "$test_pid" 2>/dev/null || true
	fi
	ip netns del "$ns_a" 2>/dev/null || true
	ip netns del "$ns_b" 2>/dev/null || true
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

if ! ip netns add "$ns_a"; then
	echo "test-endpoint-vip.sh: cannot create network namespaces; skipped" >&2
	exit 77
fi
ip netns add "$ns_b"
ip -n "$ns_a" link add vethA address "$mac_a" type veth peer name vethB address "$mac_b" netns "$ns_b"
for side in a b; do
	if [ "$side" = a ]; then ns=$ns_a dev=vethA host=1; else ns=$ns_b dev=vethB host=2; fi
	ip -n "$ns" link set lo up
	ip -n "$ns" addr add "10.200.77.$host/24" dev "$dev"
	ip -n "$ns" addr add "fd00:200:77::$host/64" dev "$dev" nodad
	ip -n "$ns" link set "$dev" up
done

# Wait (up to 5 s) for the link-local addresses to finish DAD: until then a fresh link drops the
# IPv6 neighbour discovery this test relies on, which a long-up production interface never does.
for _ in $(seq 50); do
	if [ -z "$(ip -n "$ns_a" -6 addr show tentative)$(ip -n "$ns_b" -6 addr show tentative)" ]; then
		break
	fi
	sleep 0.1
done

# Linux replaces an existing neighbour entry on a gratuitous ARP without arp_accept; keep it at
# its default (0) in both namespaces, so the test proves exactly that.
ip netns exec "$ns_b" sysctl -q -w net.ipv4.conf.vethB.arp_accept=0
ip netns exec "$ns_a" sysctl -q -w net.ipv4.conf.vethA.arp_accept=0

VIP_TEST_NS_A=$ns_a VIP_TEST_NS_B=$ns_b VIP_TEST_MAC_A=$mac_a VIP_TEST_MAC_B=$mac_b \
	ip netns exec "$ns_a" "$bin" &
# In the background and waited for, so that a signal reaches the trap at once (bash runs traps only
# between commands) and the trap can stop the program by its PID (ip netns exec execs it).
test_pid=$!
wait "$test_pid"
test_pid=
