#!/usr/bin/env bash
# Automatic failover end to end, against real servers: a 3-server semi-sync (AFTER_SYNC) cluster, a
# real named with a TSIG-signed dynamic zone as the cluster's DNS endpoint, one sentinel (quorum 1)
# with the recording hook for every event, and the test writer following the DNS name.
#   1. kill -9 the primary with the writer running: a replica is promoted (epoch 1), the other follows
#      it, the name and its epoch TXT record answer the new primary, the hooks got failover-start and
#      failover-end with the right environment, and no acknowledged write is missing on the new
#      primary (nor on the other replica). FIGURE lines: the writer's longest gap, the run's phases.
#   2. the old primary restarted (with its my.cnf's read_only=OFF): rejoined as a read-only replica of
#      the new primary, semi-sync master side off, every acknowledged write on it; or, when the kill
#      left it with a transaction no replica received (an unacknowledged write: a race the kill
#      decides), refused with rejoin-failed DIVERGED, left read-only, nothing discarded.
#   3. named stopped, the new primary killed: the failover completes at the database level (epoch 2,
#      a writable primary), the run ends degraded, endpoint-failed is audited and paged; named back:
#      the name answers the newest primary within 10 s and endpoint-updated is audited and paged.
# Each server listens on the same port on its own loopback address (127.0.0.11..13), so the DNS name
# alone (its A record) tells clients where the primary is, as in production. Skipped (77) when named,
# dig, tsig-keygen or nsupdate is not installed. Every process (writer, named, mariadbd, sentinel) is
# killed by PID in the exit trap, also on failure.
# Knobs: FO_DIVERGE=1 forces the diverged case of 2; FO_KEEP=DIR keeps a copy of the sentinel's
# directory (config, log, audit log, hook records, writer files) at exit, for debugging.
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
. "$here/lib.sh"
# shellcheck source=../harness/mdb-harness.sh
. "$here/../harness/mdb-harness.sh"
# shellcheck source=../harness/named-harness.sh
. "$here/../harness/named-harness.sh"

for tool in named dig tsig-keygen nsupdate; do
  if ! _named_find_bin "$tool" >/dev/null 2>&1; then
    echo "test-failover.sh: $tool is not installed; skipping"
    exit 77
  fi
done
WRITER=$BUILD_ROOT/tests/writer
for b in "$SENTINEL" "$SENTINELCTL" "$WRITER"; do
  if [ ! -x "$b" ]; then echo "FAIL: $b is not built"; exit 1; fi
done

mdb_trap_teardown
W_PID=''
# fo_cleanup (exit trap, before mon_cleanup removes MON_DIR): the writer by PID; its stderr on failure
fo_cleanup() {
  [ -z "${FO_KEEP:-}" ] || [ -z "${MON_DIR:-}" ] || cp -a "$MON_DIR" "$FO_KEEP"   # debugging: keep a copy
  if [ -n "${W_PID:-}" ]; then kill -KILL "$W_PID" 2>/dev/null; wait "$W_PID" 2>/dev/null; W_PID=''; fi
  if [ -n "${MON_DIR:-}" ] && { [ -z "${MON_FINISHED:-}" ] || [ "${_fails:-0}" -gt 0 ]; }; then
    for f in "$MON_DIR"/*.err; do [ -s "$f" ] && { echo "--- $f (tail):"; tail -n 20 "$f" | sed 's/^/    /'; }; done
    [ -s "$MON_AUDIT" ] && { echo "--- audit log (decisions):"; python3 -c '
import json, sys
for l in open(sys.argv[1]):
    r = json.loads(l)
    print("    %s epoch=%s reason=%s %s" % (r.get("decision"), r.get("epoch"), r.get("reason"), (r.get("inputs") or {}).get("message", "")))' "$MON_AUDIT" 2>/dev/null; }
  fi
  true
}
mdb_on_exit fo_cleanup

# ---- the cluster: one port, three loopback addresses ----
port=$(mon_free_port) || { echo "FAIL: no free port"; exit 1; }
for i in 1 2 3; do
  export "MDB_BIND_FOR_$i=127.0.0.$((10 + i))" "MDB_PORT_FOR_$i=$port"
done
mdb_cluster_up 3 --semisync >/dev/null || exit 1
check "semi-sync AFTER_SYNC on the primary" \
  test "$(mdb_var 1 rpl_semi_sync_master_wait_point)" = AFTER_SYNC -a "$(mdb_var 1 rpl_semi_sync_master_enabled)" = 1
named_trap_teardown
named_up >/dev/null 2>&1 || { echo "FAIL: named did not start"; exit 1; }
DNS_NAME=primary.$NAMED_ZONE   # absolute
EPOCH_OWNER=_sentinel-epoch.$DNS_NAME

mon_init sentinel-failover || exit 1
W_ACKED=$MON_DIR/writer.acked W_REPORT=$MON_DIR/writer.json

# fo_write_config: mon_cluster_head's cluster (probe 200/200/1000, the recording hook for every
# event) plus the DNS endpoint, and no cooldown (this test fails over twice)
fo_write_config() {
  {
    mon_sentinel_block
    printf 'clusters = (\n'
    mon_cluster_head main
    cat <<CONF
    probe = { interval_ms = 200; timeout_ms = 200; down_after_ms = 1000; };
    failover = { auto = true; cooldown_s = 0; };
    fencing = { self_fence_after_ms = 600; };
    endpoints = (
      { type = "dns"; server = "$NAMED_HOST:$NAMED_PORT"; zone = "$NAMED_ZONE"; name = "$DNS_NAME";
        ttl = 1; tsig_key_file = "$NAMED_KEY_FILE"; }
    );
    hooks = ( { command = "$MON_DIR/hook"; events = [ "*" ]; timeout_ms = 5000; } );
  }
);
CONF
  } >"$MON_CONF"
}

# ---- helpers ----
host_of() { local h=MDB_HOST_${1#db-}; printf '%s\n' "${!h}"; }
dig_a() { dig @"$NAMED_HOST" -p "$NAMED_PORT" +norec +time=1 +tries=1 "$DNS_NAME" A +short 2>/dev/null; }
dig_txt() { dig @"$NAMED_HOST" -p "$NAMED_PORT" +norec +time=1 +tries=1 "$EPOCH_OWNER" TXT +short 2>/dev/null; }
dig_a_is() { [ "$(dig_a)" = "$(host_of "$1")" ]; }
dig_txt_is() { [ "$(dig_txt)" = "\"epoch=$1 primary=$2\"" ]; }
dns_is() { dig_a_is "$1" && dig_txt_is "$2" "$1"; }
# audit_run EPOCH EXPR: a Python expression over r, inputs.run of the failover-run record of EPOCH
# (exit 1 when there is none); prints the value
audit_run() {
  python3 -c '
import json, sys
runs = [json.loads(l) for l in open(sys.argv[1]) if "\"failover-run\"" in l]
runs = [x["inputs"]["run"] for x in runs if x["inputs"]["run"].get("epoch") == int(sys.argv[2])]
if not runs:
    sys.exit(1)
r = runs[-1]
v = eval(sys.argv[3])
print(v if isinstance(v, str) else json.dumps(v))' "$MON_AUDIT" "$1" "$2"
}
audit_run_true() { [ "$(audit_run "$@" 2>/dev/null)" = true ]; }
# audit_event EVENT EPOCH: a record with decision EVENT and that epoch
audit_event() {
  python3 -c '
import json, sys
for l in open(sys.argv[1]):
    r = json.loads(l)
    if r.get("decision") == sys.argv[2] and r.get("epoch") == int(sys.argv[3]):
        sys.exit(0)
sys.exit(1)' "$MON_AUDIT" "$1" "$2"
}
# db1_state: db-1's read_only, replication threads (empty: not a replica) and gtid_binlog_pos
db1_state() {
  echo "read_only=$(mdb_var 1 read_only) io=$(mdb_slave_field 1 Slave_IO_Running 2>/dev/null) sql=$(mdb_slave_field 1 Slave_SQL_Running 2>/dev/null) binlog=$(mdb_sql 1 'SELECT @@gtid_binlog_pos')"
}
# audit_lines: the number of records in the audit log so far
audit_lines() { { wc -l <"$MON_AUDIT"; } 2>/dev/null || echo 0; }
# audit_since N DECISION: the messages of the records with that decision after the first N records
audit_since() {
  python3 -c '
import json, sys
for l in open(sys.argv[1]).readlines()[int(sys.argv[2]):]:
    r = json.loads(l)
    if r.get("decision") == sys.argv[3]:
        print("%s/%s: %s" % (r.get("epoch"), r.get("reason"), (r.get("inputs") or {}).get("message")))' "$MON_AUDIT" "$1" "$2"
}
# hook_env EVENT EPOCH: the SENTINEL_* environment (JSON) of the first hook run for EVENT in EPOCH
# whose stdin JSON names the same event; exit 1 when there is none
hook_env() {
  python3 -c '
import json, sys
path, event, epoch = sys.argv[1:4]
for rec in open(path).read().split("--- end\n"):
    if "--- stdin\n" not in rec:
        continue
    env, body = rec.split("--- stdin\n", 1)
    env = dict(l.split("=", 1) for l in env.splitlines() if "=" in l)
    try:
        j = json.loads(body)
    except ValueError:
        continue
    if env.get("SENTINEL_EVENT") == event and env.get("SENTINEL_EPOCH") == epoch and j.get("event") == event:
        print(json.dumps(env, sort_keys=True)); sys.exit(0)
sys.exit(1)' "$MON_HOOKS" "$1" "$2"
}
retried_details() {  # the last endpoint-updated record of epoch 2 was a retry and names its endpoint
  python3 -c '
import json, sys
rs = [json.loads(l) for l in open(sys.argv[1])]
rs = [r for r in rs if r.get("decision") == "endpoint-updated" and r.get("epoch") == 2]
i = rs[-1].get("inputs") or {} if rs else {}
ok = rs and rs[-1].get("reason") == "RETRIED" and i.get("endpoint") == "dns" and i.get("retried") is True
ok or print("    the records:", rs)
sys.exit(0 if ok else 1)' "$MON_AUDIT"
}
# hook_true EVENT EPOCH EXPR: EXPR (Python, over e = hook_env's environment) is true
hook_true() {
  local env
  env=$(hook_env "$1" "$2") || return 1
  python3 -c 'import json, sys; e = json.loads(sys.argv[1]); sys.exit(0 if eval(sys.argv[2]) else 1)' "$env" "$3"
}
jq_() { python3 -c 'import json, sys; d = json.load(open(sys.argv[1])); v = eval(sys.argv[2]); print(v if isinstance(v, str) else json.dumps(v))' "$1" "$2"; }
w_start() {
  "$WRITER" run --user "$MDB_APP_USER" --password-file "$MDB_APP_PASSWORD_FILE" \
    --dns-server "$NAMED_HOST:$NAMED_PORT" --dns-name "${DNS_NAME%.}" --db-port "$port" \
    --table app.writes --acked "$W_ACKED" --report "$W_REPORT" --rw-timeout-ms 1000 --connect-timeout-ms 200 \
    "$@" >"$MON_DIR/writer.out" 2>"$MON_DIR/writer.err" &
  W_PID=$!
}
# w_stop: SIGTERM, at most 10 s (then KILL); W_RC
w_stop() {
  kill -TERM "$W_PID" 2>/dev/null
  for _ in $(seq 200); do _mon_alive "$W_PID" || break; sleep 0.05; done
  if _mon_alive "$W_PID"; then kill -KILL "$W_PID"; wait "$W_PID" 2>/dev/null; W_RC=hung; else wait "$W_PID"; W_RC=$?; fi
  W_PID=''
}
acked() { { wc -l <"$W_ACKED"; } 2>/dev/null || echo 0; }
acked_ge() { [ "$(acked)" -ge "$1" ]; }
# verify SERVER [ACKED]: `writer verify` of ACKED (default W_ACKED) on that server; prints its first
# lines; 0 when none is missing
verify() {
  local out rc
  out=$("$WRITER" verify --user "$MDB_APP_USER" --password-file "$MDB_APP_PASSWORD_FILE" \
    --target "$(host_of "$1"):$port" --table app.writes --acked "${2:-$W_ACKED}" 2>>"$MON_DIR/verify.err"); rc=$?
  printf '%s\n' "$out" | head -n 3
  return "$rc"
}
view='[c["state"], c["primary"], c["epoch"], [(s["name"], s["role"], s["read_only"], s["replicating_from"], s["sdown"]) for s in c["servers"]]]'

# ---- start: the name points at db-1 (epoch 0, as an operator bootstraps it), the sentinel watches ----
printf 'update add %s 1 A %s\nupdate add %s 1 TXT "epoch=0 primary=db-1"\n' "$DNS_NAME" "$MDB_HOST_1" "$EPOCH_OWNER" |
  named_nsupdate >/dev/null || { echo "FAIL: nsupdate of the initial records"; exit 1; }
check "the name answers db-1 at epoch 0 before the sentinel starts" dns_is db-1 0
fo_write_config
mon_start
ms=$(mon_q wait 'c["state"] == "healthy" and c["primary"] == "db-1" and c["epoch"] == 0' 10000 '' "$view"); rc=$?
check "healthy, primary db-1, epoch 0 ($ms ms)" test "$rc" -eq 0
mon_require_alive "after its start"

# ==== 1. kill -9 the primary with the writer running ====
w_start
check "the writer acks writes through the DNS name (>= 100 acked)" mon_wait 15 acked_ge 100
before=$(acked)
a_kill1=$(audit_lines)
t0=$(date +%s%N)
mdb_kill 1 || exit 1
failed_over='c["primary"] in ("db-2", "db-3") and c["epoch"] == 1 and srv[c["primary"]]["role"] == "primary" and srv[c["primary"]]["read_only"] is False'
ms=$(mon_q wait "$failed_over" 15000 "$t0" "$view"); rc=$?
echo "    FIGURE: kill -9 -> status shows the new primary: $ms ms"
check "kill -9 db-1: a new primary among db-2/db-3 at epoch 1, writable, within 15 s ($ms)" test "$rc" -eq 0
[ "$rc" -eq 0 ] || { finish; exit 1; }
mon_require_alive "during the first failover"
NEW=$(mon_q get 'c["primary"]')
OTHER=db-2; [ "$NEW" = db-2 ] && OTHER=db-3
echo "    new primary $NEW ($(host_of "$NEW"):$port), the other replica $OTHER"
ms=$(mon_q wait "srv['$OTHER']['role'] == 'replica' and srv['$OTHER']['replicating_from'] == '$NEW' and not srv['$OTHER']['sdown'] and srv['$OTHER']['read_only'] is True and not c.get('mismatches')" 10000 "$t0" "$view"); rc=$?
check "$OTHER is a read-only replica of $NEW, no topology mismatch ($ms ms after the kill)" test "$rc" -eq 0
check "...and its IO and SQL threads run against $NEW's address" \
  test "$(mdb_slave_field "${OTHER#db-}" Master_Host) $(mdb_slave_field "${OTHER#db-}" Slave_IO_Running) $(mdb_slave_field "${OTHER#db-}" Slave_SQL_Running)" = "$(host_of "$NEW") Yes Yes"
check "$NEW is really writable (read_only=0 on the server)" test "$(mdb_var "${NEW#db-}" read_only)" = 0
check "$NEW runs the semi-sync master side; $OTHER the slave side" \
  test "$(mdb_var "${NEW#db-}" rpl_semi_sync_master_enabled) $(mdb_var "${OTHER#db-}" rpl_semi_sync_slave_enabled)" = "1 1"
t_dns0=$(date +%s%N)
mon_wait 5 dig_a_is "$NEW"
check "dig $DNS_NAME A answers $NEW's address $(host_of "$NEW") [$(dig_a)]" dig_a_is "$NEW"
echo "    FIGURE: kill -9 -> the name answers the new primary: $((($(date +%s%N) - t0) / 1000000)) ms (polled after the status showed it, +$((($(date +%s%N) - t_dns0) / 1000000)) ms)"
check "the epoch record $EPOCH_OWNER says epoch=1 primary=$NEW [$(dig_txt)]" test "$(dig_txt)" = "\"epoch=1 primary=$NEW\""
check "the failover-run record of epoch 1: result ok, db-1 -> $NEW" \
  mon_wait 5 audit_run_true 1 "r['result'] == 'ok' and r['old_primary'] == 'db-1' and r['new_primary'] == '$NEW' and not r.get('lossy')"
echo "    FIGURE: phases of the epoch-1 run (ms): $(audit_run 1 '" ".join("%s=%s" % (p["phase"], p.get("duration_ms")) for p in r["phases"])')"
check "the run went through fence, select, catch-up, promote, endpoints and repoint ($(audit_run 1 '[p["phase"] for p in r["phases"]]'))" \
  audit_run_true 1 'all(x in [p["phase"] for p in r["phases"]] for x in ("fence", "select", "catch-up", "promote", "endpoints", "repoint-replicas"))'
check "the audit log has failover-start and failover-end at epoch 1" eval 'audit_event failover-start 1 && audit_event failover-end 1'
check "the audit log has endpoint-updated at epoch 1" audit_event endpoint-updated 1
for ev in failover-start failover-end; do
  mon_wait 5 eval 'hook_env "$ev" 1 >/dev/null'
  check "the hook got $ev with SENTINEL_EPOCH=1, OLD_PRIMARY 'db-1 ...', NEW_PRIMARY '$NEW $(host_of "$NEW"):$port' [$(hook_env "$ev" 1)]" \
    hook_true "$ev" 1 "e['SENTINEL_CLUSTER'] == 'main' and e['SENTINEL_OLD_PRIMARY'].startswith('db-1 ') and e['SENTINEL_NEW_PRIMARY'] == '$NEW $(host_of "$NEW"):$port' and e['SENTINEL_NAME'] == 'mon-a' and e['SENTINEL_ZONE'] == 'zone-1' and e['SENTINEL_SEVERITY'] in ('info', 'warning', 'critical') and e.get('SENTINEL_MESSAGE')"
done
check "the writer acks again after the failover (through the name, on $NEW)" mon_wait 10 acked_ge $((before + 50))
w_stop
check "the writer exited 0 on SIGTERM ($W_RC)" test "$W_RC" = 0
echo "    $(cat "$MON_DIR/writer.out")"
echo "    FIGURE: writer's longest write gap across the failover: $(jq_ "$W_REPORT" 'd["max_gap_ms"]') ms ($(jq_ "$W_REPORT" 'd["acked"]') acked, $(jq_ "$W_REPORT" 'd["errors"]') errors, $(jq_ "$W_REPORT" 'len(d["unknown_ids"])') unknown)"
check "the writer wrote to db-1 then $NEW only ($(jq_ "$W_REPORT" '[p["address"] for p in d["primaries"]]'))" \
  test "$(jq_ "$W_REPORT" '[p["address"] for p in d["primaries"]]')" = "[\"$MDB_HOST_1:$port\", \"$(host_of "$NEW"):$port\"]"
# the ids acknowledged by db-1: below the first id the writer sent to the new primary
first_new=$(sed -n "s/.*writing to $(host_of "$NEW"):$port (read_only=0), next id \([0-9]*\).*/\1/p" "$MON_DIR/writer.err" | head -n 1)
awk -v n="${first_new:-0}" '$1 < n' "$W_ACKED" >"$MON_DIR/acked-by-db-1"
check "the writer's log names the first id sent to $NEW ($first_new; $(wc -l <"$MON_DIR/acked-by-db-1") acked by db-1)" \
  test -n "$first_new" -a -s "$MON_DIR/acked-by-db-1"
out=$(verify "$NEW"); rc=$?
check "writer verify on the new primary $NEW: 0 acknowledged writes missing [$out]" test "$rc" -eq 0
check "...$OTHER catches up with $NEW" mdb_wait_replicated -t 15 -p "${NEW#db-}" "${OTHER#db-}"
out=$(verify "$OTHER"); rc=$?
check "writer verify on $OTHER: 0 missing [$out]" test "$rc" -eq 0
# The sentinel repointed db-3 itself: nothing disagreed with the topology it made, so nothing to page.
sleep 0.5
out=$(audit_since "$a_kill1" topology-mismatch)
check "no topology-mismatch paged from the kill to here (a clean failover) [${out//$'\n'/; }]" test -z "$out"
mon_require_alive "after the first failover"

# ==== 2. the old primary comes back ====
# Restarted as its my.cnf says (read_only=OFF, semi-sync master side on). Whether its history is a
# prefix of the new primary's is a race the kill decides: AFTER_SYNC acknowledges a commit once a
# replica has it, but the transaction is in the primary's binlog before that, and crash recovery
# commits what the binlog holds. When the kill landed in that window, db-1 comes back with one
# transaction no replica received (the writer's unknown id, never acknowledged): it must then be
# refused as diverged (rejoin-failed), left read-only, nothing discarded. Otherwise it must rejoin.
# To know which case to expect (before the sentinel can act on it), db-1 is first started isolated (no
# TCP: crash recovery runs, its position is read over the socket) and stopped again; FO_DIVERGE=1 also
# gives it a local transaction then, to force the first case.
mdb_start 1 --skip-networking --skip-slave-start >/dev/null || exit 1
[ -z "${FO_DIVERGE:-}" ] || mdb_sql 1 "INSERT INTO app.writes VALUES (20000000, 0)" || exit 1
e1=$(mdb_sql 1 "SELECT @@gtid_binlog_pos")
mdb_stop 1 || exit 1
# against the position the new primary was promoted at (every GTID of db-1 it has)
p1=$(audit_run 1 'r["new_primary_gtid"]')
diverged=''
if [[ $e1 =~ ^0-1-([0-9]+)$ && $p1 =~ ^0-1-([0-9]+)$ ]]; then
  [ "${e1##*-}" -le "${p1##*-}" ] || diverged=1
else
  fail "db-1's position $e1 and the promotion position $p1 are not both 0-1-N"
fi
# shellcheck disable=SC2034 # used in eval'ed checks
a_restart1=$(audit_lines)
mdb_start 1 >/dev/null || exit 1
if [ -z "$diverged" ]; then
  echo "    db-1 came back at $e1; $NEW was promoted at $p1: a prefix, db-1 must rejoin"
  ms=$(mon_q wait "srv['db-1']['role'] == 'replica' and srv['db-1']['read_only'] is True and srv['db-1']['replicating_from'] == '$NEW' and c['primary'] == '$NEW' and c['epoch'] == 1" 15000 '' "$view"); rc=$?
  check "db-1 restarted (read_only=OFF in its my.cnf): a read-only replica of $NEW ($ms ms)" test "$rc" -eq 0
  check "the audit log has rejoined for db-1 at epoch 1" mon_wait 5 audit_event rejoined 1
  check "the hook got rejoined" mon_wait 5 hook_true rejoined 1 "'db-1' in e.get('SENTINEL_MESSAGE', '')"
  check "no rejoin-failed" eval '[ -z "$(audit_since "$a_restart1" rejoin-failed)" ]'
  db1_vars() { echo "$(mdb_var 1 read_only) $(mdb_var 1 rpl_semi_sync_master_enabled) $(mdb_slave_field 1 Master_Host) $(mdb_slave_field 1 Slave_IO_Running) $(mdb_slave_field 1 Slave_SQL_Running)"; }
  want="1 0 $(host_of "$NEW") Yes Yes"
  mon_wait 10 eval '[ "$(db1_vars)" = "$want" ]'
  check "db-1: read_only=1, semi-sync master side off, IO/SQL running from $(host_of "$NEW") [$(db1_vars)]" \
    test "$(db1_vars)" = "$want"
  check "...db-1 catches up with $NEW" mdb_wait_replicated -t 15 -p "${NEW#db-}" 1
  check "still one primary, epoch 1, state healthy" mon_wait 5 mon_q true "c['state'] == 'healthy' and c['primary'] == '$NEW' and c['epoch'] == 1"
else
  echo "    db-1 came back at $e1; $NEW was promoted at $p1: db-1 has transactions $NEW lacks, it must be refused"
  m=${p1##*-} k=${e1##*-}
  extra_gtids=0-1-$((m + 1)); [ "$k" -eq $((m + 1)) ] || extra_gtids="0-1-$((m + 1))..$k"
  check "the audit log has rejoin-failed DIVERGED for db-1 at epoch 1, naming the extra GTIDs ($extra_gtids)" \
    mon_wait 10 eval 'audit_since "$a_restart1" rejoin-failed | grep -qF "1/DIVERGED: db-1 cannot rejoin as a replica of $NEW: it has transactions $NEW lacks ($extra_gtids)"'
  check "the hook got rejoin-failed" mon_wait 5 hook_true rejoin-failed 1 "'db-1' in e.get('SENTINEL_MESSAGE', '')"
  sleep 1   # time for a wrong rejoin to show
  check "no rejoined" eval '[ -z "$(audit_since "$a_restart1" rejoined)" ]'
  check "db-1 stays read-only, replicates from nobody, keeps $e1 (nothing discarded) [$(db1_state)]" \
    test "$(db1_state)" = "read_only=1 io= sql= binlog=$e1"
  check "status: db-1 read-only and not a replica of $NEW; primary $NEW, epoch 1" \
    mon_q true "srv['db-1']['read_only'] is True and srv['db-1']['replicating_from'] is None and c['primary'] == '$NEW' and c['epoch'] == 1"
  extra=$(comm -23 <(mdb_sql 1 "SELECT id FROM app.writes" | sort) <(mdb_sql "${NEW#db-}" "SELECT id FROM app.writes" | sort))
  check "db-1's extra rows (ids ${extra//$'\n'/ }) were never acknowledged to the writer" \
    test -n "$extra" -a -z "$(comm -12 <(sort <<<"$extra") <(sort "$W_ACKED"))"
fi
if [ -z "$diverged" ]; then
  out=$(verify db-1); rc=$?
  check "writer verify on db-1: 0 acknowledged writes missing [$out]" test "$rc" -eq 0
else
  out=$(verify db-1 "$MON_DIR/acked-by-db-1"); rc=$?
  check "writer verify on db-1 of the writes it acknowledged itself: 0 missing [$out]" test "$rc" -eq 0
fi
mon_require_alive "after db-1 came back"

# ==== 3. named stopped, the new primary killed: degraded, then fixed when named returns ====
named_stop || exit 1
a_kill2=$(audit_lines)
check "named is down (no answer for the zone)" eval '! named_answers'
t0=$(date +%s%N)
mdb_kill "${NEW#db-}" || exit 1
cands="('db-1', '$OTHER')"; [ -z "$diverged" ] || cands="('$OTHER',)"   # a diverged db-1 is no candidate
failed_over2="c['primary'] in $cands and c['epoch'] == 2 and srv[c['primary']]['role'] == 'primary' and srv[c['primary']]['read_only'] is False"
ms=$(mon_q wait "$failed_over2" 15000 "$t0" "$view"); rc=$?
check "kill -9 $NEW with named down: a new primary at epoch 2, writable, within 15 s ($ms)" test "$rc" -eq 0
[ "$rc" -eq 0 ] || { finish; exit 1; }
mon_require_alive "during the second failover"
NEWEST=$(mon_q get 'c["primary"]')
REST=db-1; [ "$NEWEST" = db-1 ] && REST=$OTHER
echo "    newest primary $NEWEST, the other replica $REST"
check "$NEWEST takes an app write" mdb_sql_as app "${NEWEST#db-}" "INSERT INTO app.writes VALUES (10000000, 0)"
check "the failover-run record of epoch 2: result degraded, $NEW -> $NEWEST ($(audit_run 2 '[r["result"], r.get("reason")]' 2>/dev/null))" \
  mon_wait 20 audit_run_true 2 "r['result'] == 'degraded' and r['old_primary'] == '$NEW' and r['new_primary'] == '$NEWEST'"
echo "    FIGURE: phases of the epoch-2 run (ms): $(audit_run 2 '" ".join("%s=%s" % (p["phase"], p.get("duration_ms")) for p in r["phases"])')"
check "the audit log has endpoint-failed at epoch 2" audit_event endpoint-failed 2
check "the hook got endpoint-failed at epoch 2, NEW_PRIMARY $NEWEST" \
  mon_wait 5 hook_true endpoint-failed 2 "e['SENTINEL_NEW_PRIMARY'].startswith('$NEWEST ')"
check "no endpoint-updated at epoch 2 while named is down" eval '! audit_event endpoint-updated 2'
if [ -z "$diverged" ]; then
  check "$REST follows $NEWEST" mon_wait 10 mon_q true "srv['$REST']['role'] == 'replica' and srv['$REST']['replicating_from'] == '$NEWEST'"
else
  sleep 1   # time for the repoint of a replica that is none to show
  check "the diverged db-1 was left alone by the epoch-2 run: read-only, replicating from nobody, at $e1 [$(db1_state); $(mdb_slave_field 1 Last_SQL_Error 2>/dev/null | cut -c1-160)]" \
    test "$(db1_state)" = "read_only=1 io= sql= binlog=$e1"
fi
named_start || exit 1
t1=$(date +%s%N)
mon_wait 10 dig_a_is "$NEWEST"
check "named back: dig answers $NEWEST's address within 10 s [$(dig_a)]" dig_a_is "$NEWEST"
echo "    FIGURE: named restarted -> the name answers the newest primary: $((($(date +%s%N) - t1) / 1000000)) ms"
mon_wait 5 dig_txt_is 2 "$NEWEST"
check "the epoch record says epoch=2 primary=$NEWEST [$(dig_txt)]" dig_txt_is 2 "$NEWEST"
check "the audit log has endpoint-updated at epoch 2" mon_wait 5 audit_event endpoint-updated 2
check "...RETRIED, with the endpoint's details (endpoint dns, retried)" retried_details
check "the hook got endpoint-updated at epoch 2" mon_wait 5 hook_true endpoint-updated 2 "e['SENTINEL_NEW_PRIMARY'].startswith('$NEWEST ')"
: >"$W_ACKED"
w_start --duration-ms 800
for _ in $(seq 100); do _mon_alive "$W_PID" || break; sleep 0.05; done
w_stop
check "a writer through the name now writes to $NEWEST only ($(jq_ "$W_REPORT" '[d["acked"], [p["address"] for p in d["primaries"]]]'))" \
  python3 -c 'import json, sys; d = json.load(open(sys.argv[1])); sys.exit(0 if d["acked"] > 10 and [p["address"] for p in d["primaries"]] == [sys.argv[2]] else 1)' \
  "$W_REPORT" "$(host_of "$NEWEST"):$port"

out=$(audit_since "$a_kill2" topology-mismatch)
# (with db-1 diverged, two are true once the run ends: db-1 replicates from nobody, and the new primary
# has no replica left to make semi-sync)
[ -z "$diverged" ] || out=$(grep -vE "^2/(not-replicating: db-1 |semi-sync-fallback: the primary $NEWEST )" <<<"$out")
check "no topology-mismatch paged since the second kill [${out//$'\n'/; }]" test -z "$out"

# ---- history, why, a clean stop ----
hist=$(mon_ctl history main); rc=$?
printf '%s\n' "$hist" | sed 's/^/    | /'
check "sentinelctl history main: exit 0, both runs with their phases" \
  eval '[ "$rc" -eq 0 ] && grep -q degraded <<<"$hist" && grep -q "$NEWEST" <<<"$hist" && grep -q promote <<<"$hist"'
hist_json=$(mon_ctl history main --json)
check "history --json: two failover runs, epoch 1 ok and epoch 2 degraded" python3 -c '
import json, sys
d = json.loads(sys.argv[1])
got = sorted((r["kind"], r["run"]["epoch"], r["run"]["result"]) for r in d["runs"])
sys.exit(0 if got == [("failover", 1, "ok"), ("failover", 2, "degraded")] else 1)' "$hist_json"
echo "    why: $(mon_ctl why main)"
mon_stop
check "SIGTERM: exit 0 (got $MON_RC)" test "$MON_RC" = 0
check "no sanitizer report in the daemon's stderr" mon_sanitizer_clean
check "no sanitizer report in the writer's stderr" eval '! grep -qE "ERROR: (Address|Leak)Sanitizer|runtime error:" "$MON_DIR"/writer.err'
mon_finish
