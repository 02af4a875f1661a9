#!/usr/bin/env bash
# `sentinelctl switchover` against a real 3-server semi-sync cluster (server 1 primary), one sentinel
# with a DNS endpoint on a real named (TSIG-signed dynamic zone, tests/harness/named-harness.sh) and
# the recording hook. The servers listen on 127.0.0.11-13, all on one port, so the endpoint's A
# record names each one and the test writer (tests/tools/writer.c) finds the primary through DNS as
# an application would. The operator seeds the A record of the initial primary before the start.
#   (a) there and back with the writer running: `switchover main --to db-2`, then `--to db-1`; each
#       exits 0 and prints "<new> is the primary of main (epoch N)" and the phases; the status, the
#       servers themselves (read_only, SHOW SLAVE STATUS, semi-sync master side), dig (the A record
#       and the epoch TXT), the audit log's switchover-run record and the hook (switchover-start,
#       fenced, rejoined, switchover-end with the epoch) agree: the old primary is a read-only
#       replica of the new one, the third replica follows the new one, the epoch went up by one;
#       no false topology-mismatch page after it; the writer's longest gap per switchover is printed
#       (FIGURE); in the end `writer verify` finds every acknowledged write on the final primary.
#   (b) `--to db-3` with db-3's SQL thread stopped and writes it has not applied (once the status
#       shows both): refused, exit 1,
#       one stderr line starting "sentinelctl:", nothing changed (db-1 writable and the primary,
#       same epoch, no switchover started, no fence).
#   (c) `--to` an unknown server, and an unknown cluster: exit 1 or 2, one line naming it.
#   (e) a failure before the promotion: a `pre` hook stops the candidate's SQL thread and writes
#       one row, so its catch-up cannot finish: `--timeout 2000` exits 1 (CATCH_UP_FAILED) within
#       the timeout + the pre hook's timeout (1000) + 1 s, switchover-failed paged, the audit record
#       failed in catch-up, the old primary writable again with semi-sync on, still the primary.
#   (d) named stopped: the switchover promotes (status, read_only, dig unchanged) but exits 1
#       with the degraded/ENDPOINT_FAILED reason, endpoint-failed paged; once named is back the
#       sentinel's retry makes dig answer the new primary.
# Ends with a clean SIGTERM and no sanitizer report. Every process is killed by PID in the exit trap.
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
. "$here/lib.sh"
# shellcheck source=../harness/mdb-harness.sh
. "$here/../harness/mdb-harness.sh"
# shellcheck source=../harness/named-harness.sh
. "$here/../harness/named-harness.sh"
mdb_trap_teardown
named_trap_teardown

WRITER=$BUILD_ROOT/tests/writer
for f in "$SENTINEL" "$SENTINELCTL" "$WRITER"; do
  [ -x "$f" ] || { echo "FAIL: $f is not built"; exit 1; }
done
for tool in named dig nsupdate; do
  _named_find_bin "$tool" >/dev/null 2>&1 || { echo "test-switchover.sh: $tool is not installed; skipping"; exit 77; }
done

# One port for the three servers, free on every address (nothing bound to it at all).
port=$(mon_free_port) || { echo "FAIL: no free port"; exit 1; }
for i in 1 2 3; do export "MDB_BIND_FOR_$i=127.0.0.1$i" "MDB_PORT_FOR_$i=$port"; done

mdb_cluster_up 3 --semisync >/dev/null || exit 1
named_up >/dev/null || exit 1
mon_init sentinel-switchover || exit 1
DNS_NAME=primary.$NAMED_ZONE
EPOCH_NAME=_sentinel-epoch.$DNS_NAME

# The cluster block of mon_write_config, plus the DNS endpoint and a `pre` hook (scenario e).
mon_write_config main
python3 - "$MON_CONF" "$NAMED_HOST:$NAMED_PORT" "$NAMED_ZONE" "$DNS_NAME" "$NAMED_KEY_FILE" "$MON_DIR/pre-hook" <<'PY' || exit 1
import sys
path, server, zone, name, key, pre = sys.argv[1:]
s = open(path).read()
ep = ('    endpoints = ( { type = "dns"; server = "%s"; zone = "%s"; name = "%s"; ttl = 1; tsig_key_file = "%s"; } );\n'
      % (server, zone, name, key))
s = s.replace("    hooks = (", ep + "    hooks = (", 1)
s = s.replace('timeout_ms = 5000; } );',
              'timeout_ms = 5000; },\n              { command = "%s"; class = "pre"; events = [ "switchover-start" ]; timeout_ms = 1000; } );' % pre, 1)
open(path, "w").write(s)
PY
# The pre hook does nothing unless MON_DIR/stall names a server: then it stops that server's SQL
# thread and writes one row on the primary (which that server can then not apply), and exits 0.
cat >"$MON_DIR/pre-hook" <<HOOK
#!/bin/sh
[ -f "$MON_DIR/stall" ] || exit 0
cand=\$(cat "$MON_DIR/stall")
rm -f "$MON_DIR/stall"
"$MDB_CLIENT" --no-defaults -S "$MDB_DIR/s\$cand.sock" -u "$MDB_ADMIN_USER" -e "STOP SLAVE SQL_THREAD" || exit 0
"$MDB_CLIENT" --no-defaults -S "$MDB_DIR/s1.sock" -u "$MDB_ADMIN_USER" -e "INSERT INTO app.marker VALUES (NULL)"
exit 0
HOOK
chmod 0755 "$MON_DIR/pre-hook"
"$SENTINEL" --check-config --config "$MON_CONF" >/dev/null 2>"$MON_DIR/check.err" ||
  { echo "FAIL: the generated config is refused: $(cat "$MON_DIR/check.err")"; exit 1; }

# The operator's starting point: the name answers the initial primary.
printf 'update add %s 1 A %s\n' "$DNS_NAME" "$MDB_HOST_1" | named_nsupdate "$NAMED_KEY_FILE" || { echo "FAIL: nsupdate"; exit 1; }
mdb_sql 1 "CREATE TABLE app.marker (id INT AUTO_INCREMENT PRIMARY KEY)" || exit 1

mon_start
check "healthy with primary db-1 ($(mon_q wait 'c["state"] == "healthy" and c["primary"] == "db-1"' 10000))" \
  mon_q true 'c["state"] == "healthy" and c["primary"] == "db-1"'
mon_require_alive "after its start"

# ---- helpers ----
AUTH=(--user "$MDB_APP_USER" --password-file "$MDB_APP_PASSWORD_FILE")
W_PID=''
# w_start NAME: the writer through DNS into app.writes; NAME.acked, NAME.json, NAME.out, NAME.err
w_start() {
  "$WRITER" run "${AUTH[@]}" --dns-server "$NAMED_HOST:$NAMED_PORT" --dns-name "$DNS_NAME" --db-port "$port" \
    --table app.writes --acked "$MON_DIR/$1.acked" --report "$MON_DIR/$1.json" --gap-threshold-ms 50 \
    >"$MON_DIR/$1.out" 2>"$MON_DIR/$1.err" &
  W_PID=$!
  MON_PIDS+=("$W_PID")
}
# w_stop: SIGTERM, at most 10 s, then KILL
w_stop() {
  kill -TERM "$W_PID" 2>/dev/null
  for _ in $(seq 200); do _mon_alive "$W_PID" || break; sleep 0.05; done
  kill -KILL "$W_PID" 2>/dev/null
  wait "$W_PID" 2>/dev/null
  W_PID=''
}
acked_at_least() { [ -f "$1" ] && [ "$(wc -l <"$1")" -ge "$2" ]; }
jget() { python3 -c 'import json, sys; d = json.load(open(sys.argv[1])); v = eval(sys.argv[2]); print(v if isinstance(v, str) else json.dumps(v))' "$1" "$2"; }
dig_a() { named_dig +short "$DNS_NAME" A 2>/dev/null | tr '\n' ' ' | sed 's/ $//'; }
dig_is() { [ "$(dig_a)" = "$1" ]; }
dig_epoch() { named_dig +short "$EPOCH_NAME" TXT 2>/dev/null | tr -d '"'; }
epoch_now() { mon_q get 'c["epoch"]'; }
# hook_got EVENT EPOCH [NEW_PRIMARY]: the hook ran for EVENT of main in EPOCH (and that new primary)
hook_got() {
  python3 -c '
import json, sys
path, event, epoch = sys.argv[1:4]
newp = sys.argv[4] if len(sys.argv) > 4 else None
for rec in open(path).read().split("--- end\n"):
    if "--- stdin\n" not in rec:
        continue
    env, body = rec.split("--- stdin\n", 1)
    env = dict(l.split("=", 1) for l in env.splitlines() if "=" in l)
    try:
        j = json.loads(body)
    except ValueError:
        continue
    if (env.get("SENTINEL_EVENT") == event and env.get("SENTINEL_CLUSTER") == "main" and j.get("event") == event
            and env.get("SENTINEL_EPOCH") == epoch
            and (newp is None or env.get("SENTINEL_NEW_PRIMARY", "").split(" ")[0] == newp)):
        sys.exit(0)
sys.exit(1)
' "$MON_HOOKS" "$@"
}
hook_count() { grep -c "^SENTINEL_EVENT=$1\$" "$MON_HOOKS"; }
# audit_run EPOCH EXPR: EXPR over the switchover-run record of EPOCH (r; run = its inputs.run)
audit_run() {
  python3 -c '
import json, sys
for line in open(sys.argv[1]):
    r = json.loads(line)
    if r.get("decision") == "switchover-run" and r.get("epoch") == int(sys.argv[2]):
        run = r["inputs"]["run"]
        v = eval(sys.argv[3])
        if isinstance(v, bool):
            sys.exit(0 if v else 1)
        print(v if isinstance(v, str) else json.dumps(v)); sys.exit(0)
print("no switchover-run record for epoch %s" % sys.argv[2]); sys.exit(1)
' "$MON_AUDIT" "$@"
}
audit_count() { grep -c "\"decision\":\"$1\"" "$MON_AUDIT"; }
slave_of() { mdb_slave_field "$1" Master_Host; }
repl_running() { [ "$(mdb_slave_field "$1" Slave_IO_Running)" = Yes ] && [ "$(mdb_slave_field "$1" Slave_SQL_Running)" = Yes ]; }
semi_status() { mdb_status_var "$1" Rpl_semi_sync_master_status; }

# after_switchover NEW OLD OTHER EPOCH: everything that must hold once OLD handed over to NEW
after_switchover() {
  local new=$1 old=$2 other=$3 epoch=$4 n=${1#db-} o=${2#db-} x=${3#db-} h ms rc
  h=MDB_HOST_$n
  ms=$(mon_q wait "(c['primary'] == '$new' and c['epoch'] == $epoch and c['state'] == 'healthy'
      and srv['$new']['role'] == 'primary' and srv['$new']['read_only'] is False
      and srv['$old']['role'] == 'replica' and srv['$old']['read_only'] is True and srv['$old']['replicating_from'] == '$new'
      and srv['$other']['role'] == 'replica' and srv['$other']['replicating_from'] == '$new')" 5000 '' \
    '[c["state"], c["primary"], c["epoch"], [(s["name"], s["role"], s["read_only"], s["replicating_from"]) for s in c["servers"]]]'); rc=$?
  check "status: $new primary, epoch $epoch, healthy; $old and $other read-only replicas of $new ($ms)" test "$rc" -eq 0
  check "$new: read_only=0, not a replica ($(mdb_var "$n" read_only), '$(slave_of "$n")')" \
    test "$(mdb_var "$n" read_only)" = 0 -a -z "$(slave_of "$n")"
  check "$old: read_only=1, replicating from $new (${!h}), both threads running" \
    mdb_wait_until 5 eval "[ \"\$(mdb_var $o read_only)\" = 1 ] && [ \"\$(slave_of $o)\" = ${!h} ] && repl_running $o"
  check "$other: replicating from $new, both threads running" \
    mdb_wait_until 5 eval "[ \"\$(slave_of $x)\" = ${!h} ] && repl_running $x"
  check "semi-sync follows the role: master side on at $new, off at $old ($(mdb_var "$n" rpl_semi_sync_master_enabled)/$(mdb_var "$o" rpl_semi_sync_master_enabled))" \
    test "$(mdb_var "$n" rpl_semi_sync_master_enabled)" = 1 -a "$(mdb_var "$o" rpl_semi_sync_master_enabled)" = 0
  check "$new runs semi-sync (Rpl_semi_sync_master_status ON, 2 clients)" \
    mdb_wait_until 5 eval "[ \"\$(semi_status $n)\" = ON ] && [ \"\$(mdb_status_var $n Rpl_semi_sync_master_clients)\" = 2 ]"
  check "dig: $DNS_NAME A is ${!h} ($(dig_a))" test "$(dig_a)" = "${!h}"
  check "dig: $EPOCH_NAME TXT is 'epoch=$epoch primary=$new' ($(dig_epoch))" test "$(dig_epoch)" = "epoch=$epoch primary=$new"
  check "audit: switchover-run of epoch $epoch, result ok, $old -> $new ($(audit_run "$epoch" '[run["result"], run["reason"], run["old_primary"], run["new_primary"]]'))" \
    audit_run "$epoch" "run['result'] == 'ok' and run['old_primary'] == '$old' and run['new_primary'] == '$new' and r['reason'] == 'OK'"
  check "audit: its phases include fence, catch-up, promote, endpoints, repoint-replicas, each ended ($(audit_run "$epoch" '" ".join("%s=%s" % (p["phase"], p["duration_ms"]) for p in run["phases"])'))" \
    audit_run "$epoch" "all(any(p['phase'] == n and p['duration_ms'] is not None for p in run['phases']) for n in ('fence', 'catch-up', 'promote', 'endpoints', 'repoint-replicas'))"
  for ev in switchover-start fenced rejoined switchover-end; do
    check "hook: $ev, epoch $epoch, new primary $new" mon_wait 5 hook_got "$ev" "$epoch" "$new"
  done
  check "hook: endpoint-updated, epoch $epoch" mon_wait 5 hook_got endpoint-updated "$epoch"
}

# switch_there NEW OLD OTHER: the switchover with a writer running; prints the FIGURE of its gap
declare -a ACKED=()
switch_there() {
  local new=$1 old=$2 other=$3 e0 e1 out rc w=sw-$1
  e0=$(epoch_now); e1=$((e0 + 1))
  w_start "$w"
  ACKED+=("$MON_DIR/$w.acked")
  check "writer ($w) acks writes through DNS before the switchover" mon_wait 10 acked_at_least "$MON_DIR/$w.acked" 200
  out=$(mon_ctl switchover main --to "$new" 2>"$MON_DIR/sw.err"); rc=$?
  printf '%s\n' "$out" | sed 's/^/    | /'
  check "switchover main --to $new: exit 0 ($rc; stderr: $(cat "$MON_DIR/sw.err"))" test "$rc" -eq 0
  check "...first line '$new is the primary of main (epoch $e1)' ($(head -n 1 <<<"$out"))" \
    test "$(head -n 1 <<<"$out")" = "$new is the primary of main (epoch $e1)"
  check "...and the phases (fence, catch-up, promote, endpoints)" \
    eval "grep -q fence <<<\"\$out\" && grep -q catch-up <<<\"\$out\" && grep -q promote <<<\"\$out\" && grep -q endpoints <<<\"\$out\""
  check "dig answers $new as soon as the command returned ($(dig_a))" test "$(dig_a)" = "$(eval echo "\$MDB_HOST_${new#db-}")"
  local n0; n0=$(wc -l <"$MON_DIR/$w.acked")
  check "writer ($w) acks writes after the switchover" mon_wait 10 acked_at_least "$MON_DIR/$w.acked" $((n0 + 200))
  w_stop
  echo "    FIGURE: switchover $old -> $new: writer's longest write gap $(jget "$MON_DIR/$w.json" 'd["max_gap_ms"]') ms ($(cat "$MON_DIR/$w.out"); gaps > 50 ms: $(jget "$MON_DIR/$w.json" 'd["gaps"]'); primaries: $(jget "$MON_DIR/$w.json" '[p["address"] for p in d["primaries"]]'))"
  after_switchover "$new" "$old" "$other" "$e1"
  mon_require_alive "after the switchover to $new"
}

# ---- (a) there and back with the writer running ----
mm0=$(hook_count topology-mismatch) er0=$(hook_count errant)
switch_there db-2 db-1 db-3
switch_there db-1 db-2 db-3
sleep 1 # a probe round or five after the second switchover
check "no topology-mismatch or errant paged around the two switchovers (hook runs: $(hook_count topology-mismatch) topology-mismatch, $(hook_count errant) errant; log: $(grep -E 'event=(topology-mismatch|errant)' "$MON_LOG" | sed 's/.*event=//' | tr '\n' '|'))" \
  test "$(hook_count topology-mismatch)" -eq "$mm0" -a "$(hook_count errant)" -eq "$er0"
mdb_wait_replicated -p 1 || true
for a in "${ACKED[@]}"; do
  vout=$("$WRITER" verify "${AUTH[@]}" --target "$MDB_HOST_1:$port" --table app.writes --acked "$a" 2>&1); vrc=$?
  check "writer verify on the final primary db-1, $(basename "$a"): 0 missing ($(head -n 1 <<<"$vout"))" test "$vrc" -eq 0
done
epoch_a=$(epoch_now)

# ---- (b) a lagging candidate (SQL thread stopped, writes it has not applied): refused ----
mdb_sql 3 "STOP SLAVE SQL_THREAD" || exit 1
for _ in 1 2 3 4 5; do mdb_sql_as app 1 "INSERT INTO app.marker VALUES (NULL)" || exit 1; done
ms=$(mon_q wait '(srv["db-3"]["replication"] or {}).get("sql_running") is False and srv["db-3"]["gtid_behind"] is True' 5000 '' \
  '[srv["db-1"]["gtid_current_pos"], srv["db-3"]["gtid_current_pos"], srv["db-3"]["replication"]]'); rc=$?
check "the sentinel sees db-3's SQL thread stopped and db-3 behind db-1 ($ms)" test "$rc" -eq 0
starts=$(audit_count switchover-start) fences=$(hook_count fenced)
out=$(mon_ctl switchover main --to db-3 2>"$MON_DIR/sw.err"); rc=$?; err=$(cat "$MON_DIR/sw.err")
echo "    | $err"
check "switchover --to db-3 (lagging): exit 1 ($rc)" test "$rc" -eq 1
check "...one stderr line starting 'sentinelctl:', nothing on stdout" mon_one_line "$err" 'sentinelctl:*'
check "...stdout empty ('$out')" test -z "$out"
check "...nothing changed: db-1 the primary, healthy or degraded, epoch $epoch_a ($(mon_q get '[c["primary"], c["state"], c["epoch"]]'))" \
  mon_q true "c['primary'] == 'db-1' and c['epoch'] == $epoch_a and srv['db-1']['read_only'] is False"
check "...db-1 still writable (read_only=0) and takes an app write" \
  eval '[ "$(mdb_var 1 read_only)" = 0 ] && mdb_sql_as app 1 "INSERT INTO app.marker VALUES (NULL)"'
check "...no switchover started, no fence (audit switchover-start $starts -> $(audit_count switchover-start), fenced hooks $fences -> $(hook_count fenced))" \
  test "$(audit_count switchover-start)" -eq "$starts" -a "$(hook_count fenced)" -eq "$fences"
check "...the refusal is audited (switchover-requested, reason $(python3 -c 'import json,sys; print([json.loads(l) for l in open(sys.argv[1]) if "switchover-requested" in l][-1]["reason"])' "$MON_AUDIT"))" \
  python3 -c 'import json,sys; r=[json.loads(l) for l in open(sys.argv[1]) if "switchover-requested" in l][-1]; sys.exit(r["reason"] == "OK")' "$MON_AUDIT"
mdb_sql 3 "START SLAVE SQL_THREAD" || exit 1
mdb_wait_replicated -p 1 || exit 1
ms=$(mon_q wait 'c["state"] == "healthy"' 5000); check "db-3 caught up: healthy again ($ms)" mon_q true 'c["state"] == "healthy"'

# ---- (c) unknown names ----
out=$(mon_ctl switchover main --to db-9 2>"$MON_DIR/sw.err"); rc=$?; err=$(cat "$MON_DIR/sw.err")
echo "    | $err"
check "switchover --to db-9 (no such server): exit 1 or 2 ($rc)" test "$rc" -eq 1 -o "$rc" -eq 2
check "...one stderr line starting 'sentinelctl:' naming db-9" mon_one_line "$err" 'sentinelctl:*db-9*'
out=$(mon_ctl switchover nosuch --to db-2 2>"$MON_DIR/sw.err"); rc=$?; err=$(cat "$MON_DIR/sw.err")
echo "    | $err"
check "switchover nosuch (no such cluster): exit 1 or 2 ($rc)" test "$rc" -eq 1 -o "$rc" -eq 2
check "...one stderr line starting 'sentinelctl:' naming nosuch" mon_one_line "$err" 'sentinelctl:*nosuch*'
check "...nothing changed: db-1 primary, epoch $epoch_a" mon_q true "c['primary'] == 'db-1' and c['epoch'] == $epoch_a"

# ---- (e) failure before the promotion: the old primary is made writable again ----
echo 2 >"$MON_DIR/stall"
t0=$(date +%s%N)
out=$(mon_ctl switchover main --to db-2 --timeout 2000 2>"$MON_DIR/sw.err"); rc=$?; err=$(cat "$MON_DIR/sw.err")
took=$((($(date +%s%N) - t0) / 1000000))
echo "    | $err"
e_fail=$((epoch_a + 1))
check "switchover --to db-2 whose catch-up cannot finish (--timeout 2000): exit 1 ($rc)" test "$rc" -eq 1
check "...within --timeout 2000 + the pre hook's timeout 1000 + 1000 ms ($took ms)" test "$took" -le 4000
check "...one stderr line starting 'sentinelctl:' saying CATCH_UP_FAILED" mon_one_line "$err" 'sentinelctl:*CATCH_UP_FAILED*'
check "...db-1 writable again (read_only=0)" mdb_wait_until 5 eval '[ "$(mdb_var 1 read_only)" = 0 ]'
check "...with its semi-sync master side on again ($(mdb_var 1 rpl_semi_sync_master_enabled))" \
  test "$(mdb_var 1 rpl_semi_sync_master_enabled)" = 1
check "...db-2 still a read-only replica ($(mdb_var 2 read_only))" test "$(mdb_var 2 read_only)" = 1
check "...db-1 takes an app write" mdb_sql_as app 1 "INSERT INTO app.marker VALUES (NULL)"
ms=$(mon_q wait "c['primary'] == 'db-1' and srv['db-1']['read_only'] is False and c['state'] != 'switchover'" 5000 '' \
  '[c["state"], c["primary"], c["epoch"]]'); rc=$?
check "...status: db-1 the writable primary ($ms; epoch $(epoch_now))" test "$rc" -eq 0
check "...switchover-failed paged in epoch $e_fail" mon_wait 5 hook_got switchover-failed "$e_fail"
check "...audit: switchover-run of epoch $e_fail failed in catch-up ($(audit_run "$e_fail" '[run["result"], run["failed_phase"], run["reason"]]'))" \
  audit_run "$e_fail" "run['result'] == 'failed' and run['failed_phase'] == 'catch-up'"
check "...dig still answers db-1 ($(dig_a))" test "$(dig_a)" = "$MDB_HOST_1"
mdb_sql 2 "START SLAVE SQL_THREAD" || exit 1
mdb_wait_replicated -p 1 || exit 1
ms=$(mon_q wait 'c["state"] == "healthy"' 5000); check "healthy again ($ms)" mon_q true 'c["state"] == "healthy"'
epoch_e=$(epoch_now)

# ---- (d) named stopped: promoted, but degraded (exit 1); fixed when named returns ----
named_stop || exit 1
e_d=$((epoch_e + 1))
t0=$(date +%s%N)
out=$(mon_ctl switchover main --to db-2 --timeout 4000 2>"$MON_DIR/sw.err"); rc=$?; err=$(cat "$MON_DIR/sw.err")
took=$((($(date +%s%N) - t0) / 1000000))
echo "    | $err"
check "named stopped: switchover --to db-2 exits 1 after $took ms ($rc)" test "$rc" -eq 1
check "...one stderr line starting 'sentinelctl:' saying degraded and ENDPOINT_FAILED" \
  mon_one_line "$err" 'sentinelctl:*degraded*ENDPOINT_FAILED*'
check "...but db-2 was promoted: read_only=0" test "$(mdb_var 2 read_only)" = 0
ms=$(mon_q wait "c['primary'] == 'db-2' and c['epoch'] == $e_d and srv['db-1']['replicating_from'] == 'db-2' and srv['db-3']['replicating_from'] == 'db-2'" 5000 '' \
  '[c["state"], c["primary"], c["epoch"]]'); rc=$?
check "...status: db-2 primary of epoch $e_d, db-1 and db-3 replicate from it ($ms)" test "$rc" -eq 0
check "...endpoint-failed paged in epoch $e_d" mon_wait 5 hook_got endpoint-failed "$e_d"
check "...audit: switchover-run of epoch $e_d degraded, ENDPOINT_FAILED ($(audit_run "$e_d" '[run["result"], r["reason"]]'))" \
  audit_run "$e_d" "run['result'] == 'degraded' and r['reason'] == 'ENDPOINT_FAILED'"
named_start || exit 1
t0=$(date +%s%N)
check "named back: dig answers db-2 ($MDB_HOST_2) after the sentinel's retry" mon_wait 15 dig_is "$MDB_HOST_2"
echo "    FIGURE: named restarted -> dig answers the new primary after $((($(date +%s%N) - t0) / 1000000)) ms"
check "...the epoch record says epoch $e_d, db-2 ($(dig_epoch))" test "$(dig_epoch)" = "epoch=$e_d primary=db-2"
check "...endpoint-updated paged for epoch $e_d" mon_wait 5 hook_got endpoint-updated "$e_d"
mon_require_alive "after the degraded switchover"

# ---- SIGTERM: exit 0, sanitizer-clean ----
mon_stop
check "SIGTERM: exit 0 (got $MON_RC)" test "$MON_RC" = 0
check "no sanitizer report in the daemon's stderr" mon_sanitizer_clean

mon_finish
