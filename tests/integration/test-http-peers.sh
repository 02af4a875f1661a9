#!/usr/bin/env bash
# The HTTP endpoints with peers: three sentinels on 127.0.0.1 (peers-lib.sh) over one harness cluster,
# s-3 with a wrong peer secret, http_listen on s-1 (zone-1, db-1's zone). /metrics is parsed with
# python3-prometheus-client (tests/integration/http-q.py):
#   1. peer_up{s-2} 1, peer_up{s-3} 0, quorum_ok 1 (2 of 3), /health 200; s-3's frames counted in
#      peer_messages_rejected_total{peer="(unattributed)",reason="bad-mac"} (every peer is on
#      127.0.0.1: the source address names none of them); the primary endpoint answers db-1;
#   2. s-2 stopped (SIGSTOP): peer_up{s-2} 0, quorum_ok 0, /health 503 with the reason on one line;
#      s-1 self-fences db-1: self_fences_total{reason="MAJORITY_SILENT"} 1, the cluster fenced, and
#      /v1/clusters/main/primary 503;
#   3. s-2 back (SIGCONT): quorum_ok 1, /health 200, the fence lifted, the primary endpoint 200 again.
# Every sentinel is killed by PID at exit, also on failure.
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
. "$here/lib.sh"
# shellcheck source=../harness/mdb-harness.sh
. "$here/../harness/mdb-harness.sh"
# shellcheck source=peers-lib.sh
. "$here/peers-lib.sh"
mdb_trap_teardown

if [ ! -x "$SENTINEL" ] || [ ! -x "$SENTINELCTL" ]; then echo "FAIL: $SENTINEL or $SENTINELCTL is not built"; exit 1; fi
PY=''
for c in python3 /usr/bin/python3; do
  if "$c" -c 'from prometheus_client.parser import text_string_to_metric_families' 2>/dev/null; then PY=$c; break; fi
done
if [ -z "$PY" ]; then
  echo "FAIL: no python3 with prometheus_client (Debian python3-prometheus-client; run scripts/bootstrap)"
  exit 1
fi

peers_up sentinel-http-peers || exit 1
write_secret "$MON_DIR" wrong.key "a-wrong-peer-secret"
write_conf 1 peer.key; write_conf 2 peer.key; write_conf 3 wrong.key
# shellcheck source=http-lib.sh
. "$here/http-lib.sh"
http_listen_add "$MON_DIR/s-1/sentinel.conf" || exit 1
h1=$MDB_HOST_1:$MDB_PORT_1

start 1; start 2; start 3
ms=$(q 1 wait 'c.get("state") == "healthy" and c.get("primary") == "db-1"' 15000 '' '[c.get("state"), c.get("primary")]'); rc=$?
check "s-1: healthy with primary db-1 ($ms ms)" test "$rc" -eq 0

# ---- 1. reachability, quorum, rejects ----
ms=$(hq wait 'm("peer_up", peer="s-2") == 1 and m("quorum_ok") == 1' 10000 \
  '[m("peer_up", peer="s-2"), m("peer_up", peer="s-3"), m("quorum_ok")]'); rc=$?
check "peer_up{s-2} 1 and quorum_ok 1 ($ms ms)" test "$rc" -eq 0
check "...peer_up{s-3} 0 (wrong secret)" hq true 'm("peer_up", peer="s-3") == 0'
# All three share 127.0.0.1, so a frame that fails authentication cannot be pinned on one peer by its
# source address (daemon-peers.c): s-3's frames are counted as "(unattributed)".
ms=$(hq wait 'm("peer_messages_rejected_total", peer="(unattributed)", reason="bad-mac") > 0' 5000 \
  '[(s.labels, s.value) for s in fams["mariadb_sentinel_peer_messages_rejected"].samples]'); rc=$?
check "peer_messages_rejected_total{peer=(unattributed),reason=bad-mac} counts s-3's frames ($(hq get 'm("peer_messages_rejected_total", peer="(unattributed)", reason="bad-mac")'), $ms ms)" \
  test "$rc" -eq 0
check "...and nothing from s-2" hq true 'm("peer_messages_rejected_total", peer="s-2") is None'
check "/health: 200 ok" fetch_is /health 'r["status"] == 200 and r["body"] == "ok\n"'
out=$(ht poll /v1/clusters/main/primary 200 5000); rc=$?
check "/v1/clusters/main/primary: 200 $h1 (${out%% *} ms)" test "$rc" -eq 0 -a "${out#* }" = "$h1"
fences=$(hq get 'm("self_fences_total", cluster="main", reason="MAJORITY_SILENT")')

# ---- 2. s-2 silent: no quorum, db-1 self-fenced ----
kill -STOP "${PID[2]}"
ms=$(hq wait 'm("peer_up", peer="s-2") == 0 and m("quorum_ok") == 0' 5000 '[m("peer_up", peer="s-2"), m("quorum_ok")]'); rc=$?
check "s-2 stopped: peer_up{s-2} 0, quorum_ok 0 ($ms ms)" test "$rc" -eq 0
out=$(ht poll /health 503 3000); rc=$?
check "/health: 503 with one line: ${out#* }" test "$rc" -eq 0
check "...naming the count and the majority" mon_one_line "${out#* }" "no quorum: 1 of 3 sentinels reachable, below the majority of 2"
ms=$(hq wait "m('self_fences_total', cluster='main', reason='MAJORITY_SILENT') == ${fences:-0} + 1 and m('cluster_state', state='fenced') == 1" 5000 \
  '[m("self_fences_total", reason="MAJORITY_SILENT"), [s.labels["state"] for s in fams["mariadb_sentinel_cluster_state"].samples if s.value]]'); rc=$?
check "s-1 self-fenced db-1: self_fences_total{MAJORITY_SILENT} +1, cluster_state fenced ($ms ms)" test "$rc" -eq 0
out=$(ht poll /v1/clusters/main/primary 503 3000); rc=$?
check "/v1/clusters/main/primary: 503 while fenced: ${out#* }" test "$rc" -eq 0
check "...server_read_only{db-1} 1" hq true 'm("server_read_only", server="db-1") == 1'

# ---- 3. s-2 back ----
kill -CONT "${PID[2]}"
ms=$(hq wait 'm("peer_up", peer="s-2") == 1 and m("quorum_ok") == 1' 5000); rc=$?
check "s-2 back: peer_up{s-2} 1, quorum_ok 1 ($ms ms)" test "$rc" -eq 0
check "/health: 200 again" fetch_is /health 'r["status"] == 200'
out=$(ht poll /v1/clusters/main/primary 200 5000); rc=$?
check "the fence lifted: /v1/clusters/main/primary 200 $h1 again (${out%% *} ms)" test "$rc" -eq 0 -a "${out#* }" = "$h1"

for i in 1 2 3; do stop "$i"; done
check "no sanitizer report in s-1's log" eval '! grep -qE "ERROR: (Address|Leak)Sanitizer|runtime error:" "$MON_DIR/s-1/sentinel.log"'
mon_finish
