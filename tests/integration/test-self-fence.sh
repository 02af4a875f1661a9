#!/usr/bin/env bash
# Self-fencing (SPEC 5.5; issue 5), three sentinels on 127.0.0.1 over one harness cluster (db-1 the
# primary, in zone-1 like s-1), self_fence_after_ms 600 < down_after_ms 1000. Silence is made with
# SIGSTOP (a stalled or cut-off peer), which SIGCONT undoes:
#   1. all three up: db-1 ends writable (a first start may hold it read-only for one round).
#   2. s-2 and s-3 silent: s-1 fences db-1 (read_only=ON) soon after self_fence_after_ms, audits
#      self-fence MAJORITY_SILENT and raises fenced; status shows the cluster fenced.
#   3. an operator makes db-1 writable meanwhile: s-1 fences it again.
#   4. s-2 back: a majority (s-1, s-2) confirms db-1 again and s-1 lifts its fence.
#   5. s-1 restarted (kill -9): db-1 writable again soon after (held at most until confirmed).
#   5b. s-1 killed (kill -9) and down 8 s, so that the others' backoff to it has grown to 5 s, then
#      restarted: its startup hold (NEVER_HEARD) ends within 1000 ms, because the others connect to it
#      as soon as they hear it instead of at the end of their backoff (peer_link_connect_now()).
#   6. s-1 and s-3 silent: s-2 is not in db-1's zone and never fences it.
# No failover happens at any point (the primary never stops answering). Every process is killed by
# PID at exit, also on failure.
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

peers_up sentinel-self-fence || exit 1

# audit_count I DECISION; audit_more I DECISION N: more than N such records in s-I's audit log now
audit_count() { grep -c "\"decision\": *\"$2\"" "$MON_DIR/s-$1/state/audit.jsonl" 2>/dev/null; }
audit_more() { [ "$(audit_count "$1" "$2")" -gt "$3" ]; }

# read_only_is N V: db-N's read_only is V (0 or 1)
read_only_is() { [ "$(mdb_var "$1" read_only 2>/dev/null)" = "$2" ]; }
# wait_read_only N V SECONDS: prints the milliseconds it took; fails after SECONDS
wait_read_only() {
  local t0 t=$(($3 * 20))
  t0=$(date +%s%N)
  while ((t-- > 0)); do
    if read_only_is "$1" "$2"; then echo $((($(date +%s%N) - t0) / 1000000)); return 0; fi
    sleep 0.05
  done
  return 1
}

for i in 1 2 3; do write_conf "$i" peer.key; start "$i"; done

# ---- 1. all up ----
for i in 1 2 3; do
  out=$(q "$i" wait 'c.get("primary") == "db-1" and len('"$REACH"') == 2' 15000 '' '[c.get("state"), c.get("primary")]')
  check "s-$i knows db-1 and sees both peers ($out)" test $? -eq 0
done
ms=$(wait_read_only 1 0 10)
check "db-1 is writable with all three sentinels up (after $ms ms)" test -n "$ms"
sleep 1
check "...and stays writable" read_only_is 1 0
check "no failover happened" test "$(cat "$MON_DIR"/s-*/state/audit.jsonl | grep -c '"failover-run"')" -eq 0

# ---- 2. silence ----
f0=$(audit_count 1 fenced) s0=$(audit_count 1 self-fence)
kill -STOP "${PID[2]}" "${PID[3]}"
ms=$(wait_read_only 1 1 5)
check "s-2 and s-3 silent: s-1 fenced db-1 ($ms ms after the silence began; self_fence_after_ms 600)" test -n "$ms"
check "...audited as self-fence MAJORITY_SILENT" grep -q '"decision": *"self-fence", *"reason": *"MAJORITY_SILENT"\|"reason": *"MAJORITY_SILENT".*"decision": *"self-fence"' "$MON_DIR/s-1/state/audit.jsonl"
check "...more self-fence records than before" audit_more 1 self-fence "$s0"
check "...and raised fenced" mon_wait 3 audit_more 1 fenced "$f0"
out=$(q 1 wait 'c.get("state") == "fenced"' 5000 '' 'c.get("state")')
check "...s-1's status shows the cluster fenced ($out)" test $? -eq 0

# ---- 3. an operator lifts it behind the sentinel's back ----
mdb_sql 1 "SET GLOBAL read_only=0" >/dev/null
ms=$(wait_read_only 1 1 5)
check "made writable by hand while the majority is silent: fenced again ($ms ms)" test -n "$ms"

# ---- 4. a majority again ----
l0=$(audit_count 1 self-fence-lifted)
kill -CONT "${PID[2]}"
ms=$(wait_read_only 1 0 5)
check "s-2 back: s-1 lifted its fence ($ms ms)" test -n "$ms"
check "...audited self-fence-lifted" audit_more 1 self-fence-lifted "$l0"
sleep 1
check "...db-1 stays writable with s-3 still silent (s-1 and s-2 are a majority)" read_only_is 1 0
kill -CONT "${PID[3]}"

# ---- 5. restart of the zone's sentinel ----
kill -KILL "${PID[1]}"; wait "${PID[1]}" 2>/dev/null; PID[1]=''
check "s-1 killed: db-1 stays writable (s-1 fences only when it runs)" read_only_is 1 0
start 1
out=$(q 1 wait 'len('"$REACH"') == 2' 10000 '' "$REACH")
check "s-1 restarted and sees both peers ($out)" test $? -eq 0
ms=$(wait_read_only 1 0 5)
check "db-1 writable after s-1's restart (within $ms ms of it seeing its peers)" test -n "$ms"
sleep 1
check "...and stays writable" read_only_is 1 0
grep -h 'self-fenc\|lifting' "$MON_DIR/s-1/sentinel.log" | tail -n 3 | cut -c1-180 | sed 's/^/    /'

# ---- 5b. restart of the zone's sentinel after the others backed off ----
# hold_ms I FROM_LINE: the milliseconds between s-I's first NEVER_HEARD self-fence record after line
# FROM_LINE of its audit log and the next self-fence-lifted record (0: no such fence; empty: not lifted)
hold_ms() {
  python3 -c '
import datetime, json, sys
fence = None
for n, l in enumerate(open(sys.argv[1])):
    if n < int(sys.argv[2]):
        continue
    r = json.loads(l)
    ts = datetime.datetime.strptime(r["ts"], "%Y-%m-%dT%H:%M:%S.%fZ")
    if fence is None and r.get("decision") == "self-fence" and r.get("reason") == "NEVER_HEARD":
        fence = ts
    elif fence is not None and r.get("decision") == "self-fence-lifted":
        print(int((ts - fence).total_seconds() * 1000))
        sys.exit(0)
print(0 if fence is None else "")' "$MON_DIR/s-$1/state/audit.jsonl" "$2"
}
kill -KILL "${PID[1]}"; wait "${PID[1]}" 2>/dev/null; PID[1]=''
t0=$(date +%s%N)
out=$(q 2 wait '"s-1" not in '"$REACH" 10000 '' "$REACH")
check "s-1 killed: s-2 sees it unreachable ($out)" test $? -eq 0
# The others' attempts to reach s-1 come 0.1, 0.3, 0.7, 1.5, 3.1, 6.3, 11.3 s after its death (each
# delay +-20%): restarted at 8 s, it would wait for them for about 3 s (more than 1 s in any case).
sleep "$(python3 -c 'import sys; print(max(0, 8 - (int(sys.argv[1]) - int(sys.argv[2])) / 1e9))' "$(date +%s%N)" "$t0")"
n0=$(wc -l <"$MON_DIR/s-1/state/audit.jsonl")
start 1
out=$(q 1 wait 'len('"$REACH"') == 2' 10000 '' "$REACH")
check "s-1 restarted after 8 s down and sees both peers ($out ms)" test $? -eq 0
ms=$(wait_read_only 1 0 10)
check "db-1 writable after s-1's restart ($ms ms after it saw its peers)" test -n "$ms"
hold=''
for _ in $(seq 100); do hold=$(hold_ms 1 "$n0"); [ -z "$hold" ] || break; sleep 0.1; done
echo "    s-1's startup hold after 8 s down: ${hold:-not lifted} ms"
check "...its startup hold lasted ${hold:-?} ms (within 1000 ms)" test -n "$hold" -a "${hold:-99999}" -le 1000
check "...s-2 connected to s-1 as soon as it heard it" grep -q 'heard peer sentinel s-1: connecting to it now' "$MON_DIR/s-2/sentinel.log"
sleep 1
check "...and db-1 stays writable" read_only_is 1 0

# ---- 6. the sentinel of another zone never fences ----
kill -STOP "${PID[1]}" "${PID[3]}"
bad=0
for _ in $(seq 40); do read_only_is 1 0 || bad=$((bad + 1)); sleep 0.05; done
check "s-1 and s-3 silent for 2 s: s-2 (zone-2) never fenced db-1 (read-only samples: $bad)" test "$bad" -eq 0
check "...s-2 wrote no self-fence record" test "$(audit_count 2 self-fence)" -eq 0
kill -CONT "${PID[1]}" "${PID[3]}"
ms=$(wait_read_only 1 0 5)
check "all back: db-1 writable ($ms ms)" test -n "$ms"
check "no failover happened at any point" test "$(cat "$MON_DIR"/s-*/state/audit.jsonl | grep -c '"failover-run"')" -eq 0

for i in 1 2 3; do [ -z "${PID[$i]}" ] || stop "$i"; done   # SIGTERM: a clean exit lets LeakSanitizer report
for i in 1 2 3; do check "s-$i has no sanitizer report" bash -c "! grep -qE 'ERROR: (Address|Leak)Sanitizer|runtime error:' '$MON_DIR/s-$i/sentinel.log'"; done
mon_finish
