#!/usr/bin/env bash
# Three sentinels agreeing (SPEC 1, 5.2-5.5; issue 5), all on 127.0.0.1 with their own peer ports,
# state dirs and control sockets, the same 0600 peer_secret_file, over one 3-server harness cluster
# (semi-sync), quorum 2 (the setup is peers-lib.sh's):
#   1. s-3 started with a WRONG peer secret: s-1 and s-2 see each other, never s-3 (its frames are
#      logged as bad-mac), and s-3 sees nobody.
#   2. s-3 restarted with the right secret: all three see each other (status peers reachable).
#   3. kill -9 the primary: exactly one successful failover-run record across the three audit logs
#      (one leader), all three converge to the same epoch and primary, the other replica follows it.
#   4. kill -9 s-1: the others raise peer-down and keep a majority; kill -9 s-2: s-3 raises quorum-lost.
# Every process is killed by PID in the exit trap, also on failure. PEERS_KEEP=DIR keeps a copy of
# the sentinels' directories (configs, logs, state, audit logs) at exit, for debugging.
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
. "$here/lib.sh"
# shellcheck source=../harness/mdb-harness.sh
. "$here/../harness/mdb-harness.sh"
mdb_trap_teardown

if [ ! -x "$SENTINEL" ] || [ ! -x "$SENTINELCTL" ]; then echo "FAIL: $SENTINEL or $SENTINELCTL is not built"; exit 1; fi

# shellcheck source=peers-lib.sh
. "$here/peers-lib.sh"

peers_up sentinel-peers || exit 1
write_secret "$MON_DIR" wrong.key "a-wrong-peer-secret"

# ---- 1. a wrong secret ----
write_conf 1 peer.key; write_conf 2 peer.key; write_conf 3 wrong.key
start 1; start 2; start 3
for i in 1 2 3; do
  q "$i" wait 'c.get("state") == "healthy" and c.get("primary") == "db-1"' 15000 >/dev/null
  check "s-$i: healthy with primary db-1" q "$i" true 'c["state"] == "healthy" and c["primary"] == "db-1"'
done
out=$(q 1 wait "$REACH == [\"s-2\"]" 10000 '' "$REACH")
check "s-1 sees s-2 reachable ($out ms)" test $? -eq 0 -a -n "$out"
out=$(q 1 hold "$REACH == [\"s-2\"]" 3000 '' "$REACH")
check "s-1 never counts s-3 (wrong secret) reachable: $out" test $? -eq 0
check "s-2 sees s-1 but not s-3" q 2 true "$REACH == [\"s-1\"]"
check "s-3 (wrong secret) sees nobody" q 3 true "$REACH == []"
check "s-1 logged s-3's frames as bad-mac" grep -q 'rejected .*bad-mac=' "$MON_DIR/s-1/sentinel.log"
check "s-3 logged the others' frames as bad-mac" grep -q 'rejected .*bad-mac=' "$MON_DIR/s-3/sentinel.log"
grep -h 'rejected .*bad-mac=' "$MON_DIR/s-1/sentinel.log" | head -n 1 | sed 's/^/    s-1: /'

# ---- 2. the right secret ----
stop 3
write_conf 3 peer.key
start 3
for i in 1 2 3; do
  out=$(q "$i" wait "len($REACH) == 2" 10000 '' "$REACH")
  check "s-$i sees both peers reachable ($out)" test $? -eq 0
done
q 1 get 'd["sentinel"]["peers"]' | sed 's/^/    s-1 peers: /'

# ---- 3. kill -9 the primary ----
mdb_kill 1
T0=$(date +%s%N)
for i in 1 2 3; do
  out=$(q "$i" wait 'c.get("primary") not in (None, "db-1") and c.get("epoch", 0) >= 1 and c.get("state") != "failover"' 30000 \
    "$T0" '[c.get("primary"), c.get("epoch"), c.get("state")]')
  check "s-$i: a new primary ($out ms after the kill)" test $? -eq 0
done
sleep 2
views=$(for i in 1 2 3; do q "$i" get '"%s@%s" % (c.get("primary"), c.get("epoch"))'; done | sort -u)
echo "    views: $(tr '\n' ' ' <<<"$views")"
check "all three agree on one primary and epoch" test "$(wc -l <<<"$views")" -eq 1
newp=$(cut -d@ -f1 <<<"$views" | head -n 1)
runs=$(python3 - "$MON_DIR" <<'PY'
import json, sys
ok = []
for i in (1, 2, 3):
    for l in open("%s/s-%d/state/audit.jsonl" % (sys.argv[1], i)):
        r = json.loads(l)
        if r.get("decision") != "failover-run":
            continue
        run = (r.get("inputs") or {}).get("run") or {}
        print("    s-%d failover-run epoch=%s reason=%s result=%s" % (i, r.get("epoch"), r.get("reason"), run.get("result")), file=sys.stderr)
        if run.get("result") in ("ok", "degraded"):
            ok.append(i)
print(len(ok))
PY
)
votes=$(cat "$MON_DIR"/s-*/state/audit.jsonl | grep -c '"vote-granted"')
check "the leader got votes from its peers ($votes vote-granted records)" test "$votes" -ge 1
check "s-1 raised odown" grep -q '"odown"' "$MON_DIR/s-1/state/audit.jsonl"
check "s-1 raised peer-up" grep -q '"peer-up"' "$MON_DIR/s-1/state/audit.jsonl"
check "exactly one successful failover-run across the three audit logs (got $runs)" test "$runs" = 1
other=''
for s in db-2 db-3; do [ "$s" = "$newp" ] || other=${s#db-}; done
newi=${newp#db-}
if [ -n "$other" ] && [ -n "$newi" ]; then
  check "the new primary db-$newi is writable" test "$(mdb_var "$newi" read_only)" = 0
  for _ in $(seq 100); do
    [ "$(mdb_sql "$other" "SELECT Master_Port FROM information_schema.SLAVE_STATUS" 2>/dev/null)" = "$(_mdb_get PORT "$newi" 2>/dev/null)" ] && break
    sleep 0.1
  done
  src=$(mdb_sql_vertical "$other" "SHOW SLAVE STATUS" 2>/dev/null | awk -F': ' '/Master_Port/ {print $2}')
  check "the other replica db-$other follows db-$newi (port $src)" test "$src" = "$(_mdb_get PORT "$newi")"
else
  fail "no new primary to check ($views)"
fi

# ---- 4. peers going away ----
# audit_count I DECISION; audit_more I DECISION N: more than N such records now (s-3's audit log also
# holds phase 1, when it ran with the wrong secret)
audit_count() { grep -c "\"decision\": *\"$2\"" "$MON_DIR/s-$1/state/audit.jsonl"; }
audit_more() { [ "$(audit_count "$1" "$2")" -gt "$3" ]; }
n2=$(audit_count 2 peer-down) n3=$(audit_count 3 peer-down) q2=$(audit_count 2 quorum-lost) q3=$(audit_count 3 quorum-lost)
kill -KILL "${PID[1]}"; wait "${PID[1]}" 2>/dev/null; PID[1]=''
check "s-1 killed: s-2 audits peer-down within 5 s" mon_wait 5 audit_more 2 peer-down "$n2"
check "...s-3 too" mon_wait 5 audit_more 3 peer-down "$n3"
out=$(q 2 get "$REACH")
check "...s-2 shows only s-3 reachable ($out)" test "$out" = '["s-3"]'
check "...and keeps a majority (no new quorum-lost)" test "$(audit_count 2 quorum-lost)" -eq "$q2" -a "$(audit_count 3 quorum-lost)" -eq "$q3"
kill -KILL "${PID[2]}"; wait "${PID[2]}" 2>/dev/null; PID[2]=''
check "s-2 killed too: s-3 audits quorum-lost within 5 s" mon_wait 5 audit_more 3 quorum-lost "$q3"
out=$(q 3 get "$REACH")
check "...and shows no peer reachable ($out)" test "$out" = "[]"

for i in 1 2 3; do [ -z "${PID[$i]}" ] || stop "$i"; done   # SIGTERM: a clean exit lets LeakSanitizer report, when built with it
for i in 1 2 3; do check "s-$i has no sanitizer report" bash -c "! grep -qE 'ERROR: (Address|Leak)Sanitizer|runtime error:' '$MON_DIR/s-$i/sentinel.log'"; done
mon_finish
