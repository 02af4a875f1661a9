#!/usr/bin/env bash
# Maintenance mode goes through the peers (issue 5), and a configuration written ahead of its
# promotion never leaks to them. Three sentinels (peers-lib.sh: quorum 2, semi-sync cluster):
#   1. maintenance on at s-1: s-2 and s-3 show it within a few seconds (status, audit PEER from s-1,
#      set time persisted); the reply says to how many peers it was sent.
#   2. maintenance off at s-2: off everywhere.
#   3. s-3 stopped while maintenance goes on at s-2 (sent to 1 of 2): s-3 converges after its
#      restart, and its stale record does not turn the others off; the same with off.
#   4. on with a TTL at s-3: on everywhere, then expired everywhere (maintenance-off EXPIRED).
#   5. a pending configuration (written ahead of a promotion: s-3's state.json crafted with another
#      primary in a higher epoch and "pending": true): s-3 advertises it, s-1 and s-2 keep theirs.
#   6. maintenance on, kill -9 the primary: no failover anywhere (primary and epoch stay), each
#      audit log refuses with MAINTENANCE.
#   7. maintenance off at s-2 (the primary still dead): exactly one failover, all agree.
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

peers_up sentinel-peers-maint || exit 1

# ctl I ARGS...: sentinelctl against s-I
ctl() { local i=$1; shift; "$SENTINELCTL" -s "$MON_DIR/s-$i/control.sock" "$@"; }

# audit_n I EXPR: evaluates EXPR over s-I's audit log (R: the records; ev(DECISION, REASON, FROM)
# the matching ones), prints it; 0 when true
audit_n() {
  python3 - "$MON_DIR/s-$1/state/audit.jsonl" "$2" <<'PY'
import json, sys
R = [json.loads(l) for l in open(sys.argv[1])]
def ev(d, reason=None, frm=None):
    return [r for r in R if r.get("decision") == d and (reason is None or r.get("reason") == reason)
            and (frm is None or (r.get("inputs") or {}).get("from") == frm)]
v = eval(sys.argv[2])
print(v if isinstance(v, str) else json.dumps(v))
sys.exit(0 if v else 1)
PY
}
audit() { audit_n "$@" >/dev/null; }

# all_maint ON [LIMIT_MS]: every running sentinel shows maintenance ON (True/False) within LIMIT_MS
all_maint() {
  local i ok=0
  for i in 1 2 3; do
    [ -n "${PID[$i]}" ] || continue
    q "$i" wait "c.get(\"maintenance\") is $1" "${2:-5000}" >/dev/null || ok=1
  done
  return $ok
}

# set_usec I: the maintenance_set_usec in s-I's state.json (0 when none)
set_usec() {
  python3 -c '
import json, sys
body = open(sys.argv[1]).read().rsplit("sha256:", 1)[0]
print(next((c.get("maintenance_set_usec", 0) for c in json.loads(body)["clusters"] if c["name"] == "main"), 0))' \
    "$MON_DIR/s-$1/state/state.json"
}

for i in 1 2 3; do write_conf "$i" peer.key; done
start 1; start 2; start 3
for i in 1 2 3; do
  q "$i" wait 'c.get("state") == "healthy" and c.get("primary") == "db-1"' 15000 >/dev/null
  out=$(q "$i" wait "len($REACH) == 2" 10000 '' "$REACH")
  check "s-$i: healthy with primary db-1, both peers reachable ($out)" \
    q "$i" true "c[\"state\"] == \"healthy\" and c[\"primary\"] == \"db-1\" and len($REACH) == 2"
done

# ---- 1. on at s-1 ----
out=$(ctl 1 maintenance main on 2>&1); rc=$?
check "s-1: maintenance main on: exit 0 ($out)" test "$rc" -eq 0
check "...the reply says it was sent to 2 of 2 peers" grep -q 'sent to 2 of 2 peer' <<<"$out"
t0=$(date +%s%N)
for i in 2 3; do
  ms=$(q "$i" wait 'c.get("maintenance") is True and c.get("state") == "maintenance"' 5000 "$t0" \
    '[c.get("maintenance"), c.get("state")]'); rc=$?
  check "s-$i shows maintenance on ($ms ms)" test "$rc" -eq 0
  check "...audited maintenance-on PEER from s-1" audit "$i" 'ev("maintenance-on", "PEER", "s-1")'
  check "...and the set time is s-1's, persisted" test "$(set_usec "$i")" = "$(set_usec 1)" -a "$(set_usec 1)" != 0
done
check "s-1 audited maintenance-on OPERATOR, sent to 2 peers" \
  audit 1 'any((r["inputs"] or {}).get("peers_sent") == 2 for r in ev("maintenance-on", "OPERATOR"))'
check "s-2 logged the change on one line with its reason" grep -qE 'reason=PEER.*maintenance mode on by sentinel s-1' "$MON_DIR/s-2/sentinel.log"

# ---- 2. off at s-2 ----
out=$(ctl 2 maintenance main off 2>&1); rc=$?
check "s-2: maintenance main off: exit 0 ($out)" test "$rc" -eq 0
check "...off everywhere within 5 s" all_maint False 5000
for i in 1 3; do check "...s-$i audited maintenance-off PEER from s-2" audit "$i" 'ev("maintenance-off", "PEER", "s-2")'; done
check "...all healthy again" q 1 wait 'c.get("state") == "healthy"' 3000

# ---- 3. a sentinel stopped during a change ----
stop 3
for i in 1 2; do q "$i" wait "$REACH == [\"s-$((3 - i))\"]" 5000 >/dev/null; done
out=$(ctl 2 maintenance main on 2>&1); rc=$?
check "s-3 stopped; s-2: maintenance on: exit 0 ($out)" test "$rc" -eq 0
check "...the reply says it was sent to 1 of 2 peers" grep -q 'sent to 1 of 2 peer' <<<"$out"
check "...s-1 on" q 1 wait 'c.get("maintenance") is True' 5000
check "...s-3's state still says off (it was down)" test "$(set_usec 3)" -lt "$(set_usec 2)"
t0=$(date +%s%N)
start 3
ms=$(q 3 wait 'c.get("maintenance") is True' 10000 "$t0"); rc=$?
check "s-3 restarted: converges to on ($ms ms after its start)" test "$rc" -eq 0
check "...audited maintenance-on PEER" audit 3 'ev("maintenance-on", "PEER")'
out=$(q 1 hold 'c.get("maintenance") is True' 2000 '' 'c.get("maintenance")'); rc=$?
check "...and its stale record did not turn s-1 off ($out)" test "$rc" -eq 0
check "...nor s-2" q 2 true 'c.get("maintenance") is True'
stop 3
out=$(ctl 1 maintenance main off 2>&1); rc=$?
check "s-3 stopped; s-1: maintenance off: exit 0 ($out)" test "$rc" -eq 0
check "...s-2 off" q 2 wait 'c.get("maintenance") is False' 5000
start 3
check "s-3 restarted: converges to off" q 3 wait 'c.get("maintenance") is False and c.get("state") == "healthy"' 10000
out=$(q 2 hold 'c.get("maintenance") is False' 2000 '' 'c.get("maintenance")'); rc=$?
check "...and s-2 stays off ($out)" test "$rc" -eq 0
for i in 1 2; do q "$i" wait "len($REACH) == 2" 10000 >/dev/null; done

# ---- 4. a TTL expires everywhere ----
out=$(ctl 3 maintenance main on --ttl 4 2>&1); rc=$?
check "s-3: maintenance on --ttl 4: exit 0 ($out)" test "$rc" -eq 0
check "...on everywhere" all_maint True 3000
t0=$(date +%s%N)
check "...then off everywhere within 4 + 3 s" all_maint False 7000
for i in 1 2 3; do check "s-$i audited maintenance-off EXPIRED" audit "$i" 'ev("maintenance-off", "EXPIRED")'; done

# ---- 5. a pending configuration is not adopted ----
out=$(ctl 1 maintenance main on 2>&1); rc=$?   # on: s-3's crafted belief must not make it act on the servers
check "s-1: maintenance on again: exit 0" test "$rc" -eq 0
check "...on everywhere" all_maint True 5000
stop 3
cp "$MON_DIR/s-3/state/state.json" "$MON_DIR/s-3-state.json.saved"
python3 - "$MON_DIR/s-3/state/state.json" <<'PY'
import hashlib, json, sys
path = sys.argv[1]
s = json.loads(open(path).read().rsplit("sha256:", 1)[0])
s["current_epoch"] = 5
s["votes"] = [v for v in s["votes"] if v["epoch"] < 5] + [{"epoch": 5, "candidate": "s-3"}]
c = next(c for c in s["clusters"] if c["name"] == "main")
c.update(primary="db-2", config_epoch=5, pending=True)
body = json.dumps(s, indent=2) + "\n"
open(path, "w").write(body + "sha256:" + hashlib.sha256(body.encode()).hexdigest() + "\n")
PY
start 3
check "s-3 (crafted: db-2 pending in epoch 5) believes db-2, epoch 5" q 3 wait 'c.get("primary") == "db-2" and c.get("epoch") == 5' 10000
for i in 1 2; do
  q "$i" wait "len($REACH) == 2" 10000 >/dev/null
  out=$(q "$i" hold "c.get(\"primary\") == \"db-1\" and c.get(\"config_epoch\") == 0 and len($REACH) == 2" 3000 '' \
    '[c.get("primary"), c.get("config_epoch"), c.get("epoch")]'); rc=$?
  check "s-$i hears s-3 and keeps db-1 in epoch 0 ($out)" test "$rc" -eq 0
  # (a config-adopted of db-1 in epoch 0 is fine: a sentinel that had not yet discovered the primary
  # when a peer announced it takes it from the peer)
  check "...no config-adopted of another primary or epoch in its audit log" \
    audit "$i" 'not [r for r in ev("config-adopted") if r.get("epoch") != 0 or (r.get("inputs") or {}).get("primary") != "db-1"]'
done
stop 3
cp "$MON_DIR/s-3-state.json.saved" "$MON_DIR/s-3/state/state.json"
start 3
check "s-3 with its own state again: db-1, epoch 0, maintenance on" \
  q 3 wait 'c.get("primary") == "db-1" and c.get("config_epoch") == 0 and c.get("maintenance") is True' 10000
for i in 1 2 3; do q "$i" wait "len($REACH) == 2" 10000 >/dev/null; done

# ---- 6. kill -9 the primary in maintenance: no failover anywhere ----
mdb_kill 1
for i in 1 2 3; do
  q "$i" wait 'srv["db-1"]["sdown"] is True' 5000 >/dev/null
done
for i in 1 2 3; do
  out=$(q "$i" hold 'c.get("primary") == "db-1" and c.get("config_epoch") == 0 and c.get("maintenance") is True' 1500 '' \
    '[c.get("primary"), c.get("epoch"), c.get("state")]'); rc=$?
  check "s-$i: db-1 dead, maintenance: primary and epoch stay ($out)" test "$rc" -eq 0
  check "...refused MAINTENANCE in its audit log" mon_wait 3 audit "$i" 'ev("failover-refused", "MAINTENANCE")'
done
check "no failover-run anywhere" bash -c "! grep -q '\"failover-run\"' '$MON_DIR'/s-*/state/audit.jsonl"
check "db-2 and db-3 are still read-only" test "$(mdb_var 2 read_only)$(mdb_var 3 read_only)" = 11

# ---- 7. off at s-2: the failover happens, once ----
out=$(ctl 2 maintenance main off 2>&1); rc=$?
check "s-2: maintenance off with the primary dead: exit 0 ($out)" test "$rc" -eq 0
for i in 1 2 3; do
  out=$(q "$i" wait 'c.get("primary") not in (None, "db-1") and c.get("epoch", 0) >= 1 and c.get("state") != "failover"' 30000 \
    '' '[c.get("primary"), c.get("epoch"), c.get("state")]'); rc=$?
  check "s-$i: a new primary ($out)" test "$rc" -eq 0
done
sleep 1
views=$(for i in 1 2 3; do q "$i" get '"%s@%s" % (c.get("primary"), c.get("epoch"))'; done | sort -u)
check "all three agree on one primary and epoch ($(tr '\n' ' ' <<<"$views"))" test "$(wc -l <<<"$views")" -eq 1
runs=$(cat "$MON_DIR"/s-*/state/audit.jsonl | python3 -c '
import json, sys
print(sum(1 for l in sys.stdin if (r := json.loads(l)).get("decision") == "failover-run"
          and ((r.get("inputs") or {}).get("run") or {}).get("result") in ("ok", "degraded")))')
check "exactly one successful failover-run across the three audit logs (got $runs)" test "$runs" = 1

for i in 1 2 3; do [ -z "${PID[$i]}" ] || stop "$i"; done   # SIGTERM: a clean exit lets LeakSanitizer report
for i in 1 2 3; do check "s-$i has no sanitizer report" bash -c "! grep -qE 'ERROR: (Address|Leak)Sanitizer|runtime error:' '$MON_DIR/s-$i/sentinel.log'"; done
mon_finish
