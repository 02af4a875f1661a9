#!/usr/bin/env bash
# The HTTP endpoints (SPEC 7, issue 6) of one sentinel (quorum 1, automatic failover) with
# sentinel.http_listen on 127.0.0.1 and a free port, over a real 3-server cluster. /metrics is parsed
# with a real Prometheus parser (python3-prometheus-client's text_string_to_metric_families), and its
# values are checked to move with the cluster:
#   1. at start: the format (content type, HELP/TYPE, prefix), every server up with its role, read_only,
#      lag and SDOWN, the cluster healthy in epoch 0 with its primary info, quorum ok, the run counters
#      at 0, probe durations counted; /health 200; /v1/status is sentinelctl's status; the primary
#      endpoint answers db-1's host:port; 404 for anything else, 405 for POST, HEAD without a body;
#   2. a replica killed: its server_up 0, server_sdown 1, role down, the cluster degraded; back: 1, 0;
#   3. the primary killed (kill -9): /v1/clusters/main/primary answers 503 while there is no writable
#      primary (polled every 20 ms from the kill: the window is at least down_after_ms = 1000 ms, from
#      the first failed probe to the promotion), then the new primary's host:port; failovers_total
#      {result="ok"} 1, one observation per phase in the phase histogram, epoch 1, primary info names
#      the new primary, the hooks' runs counted; /health still 200;
#   4. reloads (a good one, a refused one) counted;
#   5. a second sentinel asking for the same http_listen exits 1 with one line naming the address.
# Every process is killed by PID in the exit trap, also on failure.
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
. "$here/lib.sh"
# shellcheck source=../harness/mdb-harness.sh
. "$here/../harness/mdb-harness.sh"

for b in "$SENTINEL" "$SENTINELCTL"; do
  if [ ! -x "$b" ]; then echo "FAIL: $b is not built"; exit 1; fi
done
# The parser: python3-prometheus-client (scripts/bootstrap installs it), in whichever python3 has it.
PY=''
for c in python3 /usr/bin/python3; do
  if "$c" -c 'from prometheus_client.parser import text_string_to_metric_families' 2>/dev/null; then PY=$c; break; fi
done
if [ -z "$PY" ]; then
  echo "FAIL: no python3 with prometheus_client (Debian python3-prometheus-client; run scripts/bootstrap)"
  exit 1
fi

mdb_trap_teardown
mdb_cluster_up 3 >/dev/null || exit 1
mon_init sentinel-http || exit 1
mon_write_config main

# shellcheck source=http-lib.sh
. "$here/http-lib.sh"
http_listen_add "$MON_CONF" || exit 1
hostport_of() { local h=MDB_HOST_$1 p=MDB_PORT_$1; printf '%s:%s\n' "${!h}" "${!p}"; }

mon_start
ms=$(mon_q wait 'c.get("state") == "healthy" and c.get("primary") == "db-1"' 10000 '' '[c.get("state"), c.get("primary")]'); rc=$?
check "the sentinel runs: main healthy with primary db-1 ($ms ms)" test "$rc" -eq 0
mon_require_alive "after its start"
check "one line at start names the address: $(grep -m1 'HTTP on' "$MON_LOG")" \
  grep -q "HTTP on 127.0.0.1:$HTTP_PORT: /metrics" "$MON_LOG"

# ---- 1. at start ----
check "/metrics: 200, Content-Type text/plain; version=0.0.4" \
  fetch_is /metrics 'r["status"] == 200 and r["ctype"].startswith("text/plain; version=0.0.4")'
ms=$(hq wait 'm("server_up", cluster="main", server="db-3") == 1' 5000); rc=$?
check "/metrics parses with prometheus_client ($ms ms)" test "$rc" -eq 0
check "every family is prefixed mariadb_sentinel_ and has HELP and TYPE" hq true \
  'all(n.startswith("mariadb_sentinel_") and f.documentation and f.type in ("counter", "gauge", "histogram") for n, f in fams.items()) and len(fams) >= 20'
check "...HELP and TYPE lines for each family in the raw text" hq true \
  'all(("# HELP %s_total " % n if f.type == "counter" else "# HELP %s " % n) in text and "# TYPE " in text for n, f in fams.items())'
for i in 1 2 3; do
  check "db-$i: server_up 1, server_sdown 0" \
    hq true "m('server_up', cluster='main', server='db-$i') == 1 and m('server_sdown', cluster='main', server='db-$i') == 0"
done
check "server_role: db-1 primary 1 (replica 0), db-2 and db-3 replica 1 (primary 0)" hq true \
  'm("server_role", server="db-1", role="primary") == 1 and m("server_role", server="db-1", role="replica") == 0 and all(m("server_role", server=s, role="replica") == 1 and m("server_role", server=s, role="primary") == 0 for s in ("db-2", "db-3"))'
check "server_read_only: db-1 0, db-2 1, db-3 1" hq true \
  'm("server_read_only", server="db-1") == 0 and m("server_read_only", server="db-2") == 1 and m("server_read_only", server="db-3") == 1'
check "server_replication_lag_seconds 0 everywhere ($(hq get '[m("server_replication_lag_seconds", server="db-%d" % i) for i in (1, 2, 3)]'))" \
  hq true 'all(m("server_replication_lag_seconds", server="db-%d" % i) == 0 for i in (1, 2, 3))'
check "cluster_state{state=healthy} 1, every other state 0" hq true \
  'm("cluster_state", cluster="main", state="healthy") == 1 and sum(s.value for s in fams["mariadb_sentinel_cluster_state"].samples) == 1 and len(fams["mariadb_sentinel_cluster_state"].samples) == 9'
check "cluster_epoch 0, cluster_maintenance 0, quorum_ok 1" hq true \
  'm("cluster_epoch", cluster="main") == 0 and m("cluster_maintenance", cluster="main") == 0 and m("quorum_ok") == 1'
h1=$(hostport_of 1)
check "cluster_primary_info names db-1 at $h1" hq true \
  "m('cluster_primary_info', cluster='main', server='db-1', host='${h1%:*}', port='${h1##*:}') == 1 and len(fams['mariadb_sentinel_cluster_primary_info'].samples) == 1"
check "failovers_total and switchovers_total at 0 for each result" hq true \
  'all(m("failovers_total", cluster="main", result=r) == 0 and m("switchovers_total", cluster="main", result=r) == 0 for r in ("ok", "degraded", "failed", "aborted"))'
check "info names the sentinel mon-a in zone-1" hq true 'm("info", sentinel="mon-a", zone="zone-1") == 1'
n1=$(hq get 'm("probe_duration_seconds_count", cluster="main")')
ms=$(hq wait "m('probe_duration_seconds_count', cluster='main') > ${n1:-0} + 3" 3000); rc=$?
check "probe_duration_seconds_count grows with the probes (from $n1, $ms ms)" test "$rc" -eq 0
check "...its +Inf bucket equals its count, its sum is above 0" hq true \
  'm("probe_duration_seconds_bucket", cluster="main", le="+Inf") == m("probe_duration_seconds_count", cluster="main") and m("probe_duration_seconds_sum", cluster="main") > 0'

check "/health: 200 ok" fetch_is /health 'r["status"] == 200 and r["body"] == "ok\n"'
check "/v1/clusters/main/primary: 200 $h1" fetch_is /v1/clusters/main/primary "r['status'] == 200 and r['body'] == '$h1\n'"
check "/v1/clusters/nope/primary: 404" fetch_is /v1/clusters/nope/primary 'r["status"] == 404'
check "/nope, /v1/clusters/main, /metrics/x: 404" eval \
  'fetch_is /nope "r[\"status\"] == 404" && fetch_is /v1/clusters/main "r[\"status\"] == 404" && fetch_is /metrics/x "r[\"status\"] == 404"'
check "POST /metrics: 405 with Allow: GET, HEAD" fetch_is /metrics POST 'r["status"] == 405 and r["allow"] == "GET, HEAD"'
check "HEAD /metrics: 200 without a body" fetch_is /metrics HEAD 'r["status"] == 200 and r["body"] == ""'

# /v1/status against sentinelctl status --json (the same builder): names, primary, sentinel
status_same() {
  local http ctl
  http=$(ht fetch /v1/status) || return 1
  ctl=$(mon_ctl status --json) || return 1
  "$PY" -c '
import json, sys
r = json.loads(sys.argv[1]); a = json.loads(r["body"]); b = json.loads(sys.argv[2])
pick = lambda d: (d["sentinel"]["name"], [(c["name"], c["primary"], c["state"], c["epoch"], [s["name"] for s in c["servers"]]) for c in d["clusters"]])
ok = r["status"] == 200 and r["ctype"] == "application/json" and pick(a) == pick(b)
print(pick(a), pick(b))
sys.exit(0 if ok else 1)' "$http" "$ctl"
}
out=$(status_same); rc=$?
check "/v1/status is JSON and equals sentinelctl status --json in sentinel, clusters, primary, state, servers: $out" test "$rc" -eq 0
mon_require_alive "after the first scrapes"

# ---- 2. a replica killed, then back ----
t0=$(date +%s%N)
mdb_kill 3 || exit 1
ms=$(hq wait 'm("server_up", server="db-3") == 0 and m("server_sdown", server="db-3") == 1' 5000 \
  '[m("server_up", server="db-3"), m("server_sdown", server="db-3")]'); rc=$?
check "db-3 killed: server_up 0 and server_sdown 1 ($ms ms; down_after_ms 1000)" test "$rc" -eq 0
check "...server_role{db-3, role=down} 1, cluster_state degraded 1" hq true \
  'm("server_role", server="db-3", role="down") == 1 and m("server_role", server="db-3", role="replica") == 0 and m("cluster_state", state="degraded") == 1'
check "...db-3's read_only and lag are absent (unknown), db-1 still up" hq true \
  'm("server_read_only", server="db-3") is None and m("server_replication_lag_seconds", server="db-3") is None and m("server_up", server="db-1") == 1'
check "...the primary endpoint still answers $h1" fetch_is /v1/clusters/main/primary "r['status'] == 200 and r['body'] == '$h1\n'"
mdb_start 3 >/dev/null || exit 1
ms=$(hq wait 'm("server_up", server="db-3") == 1 and m("server_sdown", server="db-3") == 0 and m("cluster_state", state="healthy") == 1' 10000 \
  '[m("server_up", server="db-3"), m("server_sdown", server="db-3"), m("cluster_state", state="healthy")]'); rc=$?
check "db-3 back: server_up 1, server_sdown 0, healthy ($ms ms)" test "$rc" -eq 0
mdb_wait_replicated -p 1 2 3 >/dev/null 2>&1
mon_require_alive "after the replica's outage"

# ---- 3. the primary killed: 503 while there is none, then the new primary ----
mdb_kill 1 || exit 1
out=$(ht poll /v1/clusters/main/primary 503 3000); rc=$?
check "primary killed: /v1/clusters/main/primary 503 (after ${out%% *} ms, 20 ms polls): ${out#* }" test "$rc" -eq 0
ms=$(mon_q wait 'c.get("primary") in ("db-2", "db-3") and c.get("epoch") == 1 and srv[c["primary"]]["role"] == "primary"' 15000 '' \
  '[c.get("primary"), c.get("epoch"), c.get("state")]'); rc=$?
new=$(mon_q get 'c["primary"]')
check "failover: $new is the primary in epoch 1 ($ms ms)" test "$rc" -eq 0
hn=$(hostport_of "${new#db-}")
out=$(ht poll /v1/clusters/main/primary 200 10000); rc=$?
check "/v1/clusters/main/primary: 200 again, with $new's $hn: ${out#* }" test "$rc" -eq 0 -a "${out#* }" = "$hn"
ms=$(hq wait 'm("failovers_total", cluster="main", result="ok") == 1' 10000 \
  '{r: m("failovers_total", cluster="main", result=r) for r in ("ok", "degraded", "failed", "aborted")}'); rc=$?
check "failovers_total{result=ok} 1 ($ms ms)" test "$rc" -eq 0
check "...degraded, failed, aborted 0; switchovers 0; elections lost 0" hq true \
  'all(m("failovers_total", result=r) == 0 for r in ("degraded", "failed", "aborted")) and all(m("switchovers_total", result=r) == 0 for r in ("ok", "failed")) and m("elections_lost_total", cluster="main") == 0'
phases='("detect", "elect", "pre-hooks", "fence", "select", "catch-up", "promote", "endpoints", "repoint-replicas")'
check "failover_phase_duration_seconds: one observation per phase ($(hq get "{p: m('failover_phase_duration_seconds_count', phase=p) for p in $phases}"))" \
  hq true "all(m('failover_phase_duration_seconds_count', cluster='main', kind='failover', phase=p) == 1 for p in $phases)"
check "...each phase's +Inf bucket 1, le=120 1, sum >= 0; detect took about down_after_ms ($(hq get 'm("failover_phase_duration_seconds_sum", phase="detect")') s)" \
  hq true "all(m('failover_phase_duration_seconds_bucket', phase=p, le='+Inf') == 1 and m('failover_phase_duration_seconds_bucket', phase=p, le='120') == 1 and m('failover_phase_duration_seconds_sum', phase=p) >= 0 for p in $phases) and 0.5 < m('failover_phase_duration_seconds_sum', phase='detect') < 10"
check "cluster_epoch 1, cluster_config_epoch 1" hq true \
  'm("cluster_epoch", cluster="main") == 1 and m("cluster_config_epoch", cluster="main") == 1'
check "cluster_primary_info names $new at $hn (and only it)" hq true \
  "m('cluster_primary_info', cluster='main', server='$new', host='${hn%:*}', port='${hn##*:}') == 1 and len(fams['mariadb_sentinel_cluster_primary_info'].samples) == 1"
check "db-1: server_up 0, role down 1; $new: role primary 1, read_only 0" hq true \
  "m('server_up', server='db-1') == 0 and m('server_role', server='db-1', role='down') == 1 and m('server_role', server='$new', role='primary') == 1 and m('server_read_only', server='$new') == 0"
ms=$(hq wait 'm("hook_runs_total", cluster="main", event="failover-end", outcome="success") == 1 and m("hook_runs_total", event="failover-start", outcome="success") == 1' 10000 \
  '[(s.labels, s.value) for s in fams["mariadb_sentinel_hook_runs"].samples]'); rc=$?
check "hook_runs_total counts the hook's failover-start and failover-end runs ($ms ms)" test "$rc" -eq 0
check "...hook_failures_total has nothing" hq true \
  'all(s.value == 0 for s in fams["mariadb_sentinel_hook_failures"].samples)'
check "/health: 200 ok" fetch_is /health 'r["status"] == 200 and r["body"] == "ok\n"'
out=$(status_same); rc=$?
check "/v1/status still equals sentinelctl status --json: $out" test "$rc" -eq 0
mon_require_alive "after the failover"

# ---- 4. reloads ----
mon_ctl reload >/dev/null 2>&1
check "sentinelctl reload: config_reloads_total 1, config_reload_failures_total 0" hq true \
  'm("config_reloads_total") == 1 and m("config_reload_failures_total") == 0'
cp "$MON_CONF" "$MON_CONF.good"
sed -i '0,/quorum = 1;/s//quorum = 9;/' "$MON_CONF"
mon_ctl reload >/dev/null 2>&1
check "a refused reload (quorum = 9): config_reloads_total 2, config_reload_failures_total 1" hq true \
  'm("config_reloads_total") == 2 and m("config_reload_failures_total") == 1'
cp "$MON_CONF.good" "$MON_CONF"

# ---- 5. the same address for a second sentinel: a clear one-line error, exit 1 ----
conf2=$MON_DIR/second.conf
sed -e "s|$MON_SOCK|$MON_DIR/second.sock|" -e "s|$MON_DIR/state\"|$MON_DIR/second-state\"|" -e 's|name = "mon-a"|name = "mon-b"|' \
  "$MON_CONF" >"$conf2"
timeout 20 "$SENTINEL" --config "$conf2" >"$MON_DIR/second.out" 2>"$MON_DIR/second.err"; rc=$?
err=$(grep -v '^$' "$MON_DIR/second.err" | grep -E 'HTTP|http')
check "a second sentinel on the same http_listen: exit 1 (got $rc)" test "$rc" -eq 1
check "...one line naming 127.0.0.1:$HTTP_PORT: $err" \
  mon_one_line "$err" "*cannot serve HTTP on 127.0.0.1:$HTTP_PORT (sentinel.http_listen): *in use*"
check "...no sanitizer report from it" eval '! grep -qE "ERROR: (Address|Leak)Sanitizer|runtime error:" "$MON_DIR/second.err"'
check "...the first one still serves /health" fetch_is /health 'r["status"] == 200'

mon_stop
check "SIGTERM: exit 0 (got $MON_RC)" test "$MON_RC" = 0
check "the port is closed after the exit" eval '! ht fetch /health >/dev/null 2>&1'
check "no sanitizer report in the daemon's stderr" mon_sanitizer_clean

mon_finish
