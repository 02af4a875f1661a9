#!/usr/bin/env bash
# The operator's actions go through the peers (SPEC 2, 5.3; issue 5): three sentinels on 127.0.0.1
# (peers-lib.sh: s-I in zone-I, db-I in zone-I, quorum 2) over one 3-server semi-sync harness
# cluster. s-3 reaches db-1 only through a TCP relay the test controls, so that db-1 can fail for s-3
# alone (s-3 sees the replicas' source by its server_id then: a follows-alias mismatch, only there).
#   1. `switchover --to db-2` asked of s-2 (not in the primary's zone) with a writer running: exit 0,
#      one leader (s-2 has the one switchover-run, ok; s-1 and s-3 granted a "switchover" vote and ran
#      nothing), all three agree on db-2 and the epoch, db-1 is a read-only replica of db-2; then back
#      to db-1 the same way; the writer lost no acknowledged write.
#   2. switchovers asked of s-2 and s-3 at the same time: exactly one succeeds; the other exits 1,
#      either naming its lost election (an election-lost record with the tally, not a run) or BUSY
#      (it had voted for the other one first); no failed run anywhere.
#   3. s-1 stopped: a switchover asked of s-2 still works (2 of 3 sentinels); s-1 restarted adopts it.
#   4. s-1 and s-3 stopped: a switchover asked of s-2 is refused at once (exit 1, one line naming
#      QUORUM_LOST and the majority); nothing changes.
#   5. db-1 the primary and unreachable for s-3 only: with failover.timeout_ms too short to wait for
#      db-1's zone sentinel, `failover --force` at s-3 is refused at once (TIMEOUT), no vote asked;
#      with 10 s, `failover --force --no-quorum --to db-2` asked of s-3 succeeds through the peers (s-1 and s-2 grant "forced" votes while they see db-1 healthy);
#      s-3 logs once that it waits for db-1's zone sentinel to fence it and promotes no earlier than
#      self_fence_after_ms after its election; a sampler never sees db-1 and db-2 writable at once;
#      all agree on db-2, and db-1 ends read-only, a replica of db-2.
#   6. s-1 and s-3 killed, a switchover asked of s-2 before it notices: its election times out, exit 1
#      naming the lost election; s-2's audit log has election-lost with the tally (no run record, no
#      switchover-failed page), its `history` shows only real runs and its `why` explains the loss.
# Every process is killed by PID in the exit trap, also on failure. PEERS_KEEP=DIR keeps a copy of
# the sentinels' directories (configs, logs, state, audit logs) at exit, for debugging.
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
. "$here/lib.sh"
# shellcheck source=../harness/mdb-harness.sh
. "$here/../harness/mdb-harness.sh"
# shellcheck source=peers-lib.sh
. "$here/peers-lib.sh"
mdb_trap_teardown

WRITER=$BUILD_ROOT/tests/writer
for f in "$SENTINEL" "$SENTINELCTL" "$WRITER"; do
  [ -x "$f" ] || { echo "FAIL: $f is not built"; exit 1; }
done

peers_up sentinel-peers-operator || exit 1
# A run budget of 10 s: a sentinel that adopted another leader's configuration leaves what disagrees
# with it (db-1 after the forced failover) to that leader for this long before it reconciles itself.
cluster_block=$(sed 's/failover = { auto = true; };/failover = { auto = true; timeout_ms = 10000; };/' <<<"$cluster_block")
grep -q 'timeout_ms = 10000;' <<<"$cluster_block" || { echo "FAIL: cannot set failover.timeout_ms"; exit 1; }
sfa_ms=600   # mon_cluster_block's fencing.self_fence_after_ms

# ---- the relay from s-3 to db-1 ----
relay_port=$(mon_free_port "${ports[@]}") || { echo "FAIL: no free port for the relay"; exit 1; }
cat >"$MON_DIR/relay.py" <<'PY'
import asyncio, sys
lport, host, port = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])

async def pipe(r, w):
    try:
        while True:
            data = await r.read(65536)
            if not data:
                break
            w.write(data)
            await w.drain()
    except Exception:
        pass
    finally:
        w.close()

async def handle(r, w):
    try:
        ur, uw = await asyncio.open_connection(host, port)
    except Exception:
        w.close()
        return
    await asyncio.gather(pipe(r, uw), pipe(ur, w))

async def main():
    srv = await asyncio.start_server(handle, "127.0.0.1", lport, reuse_address=True)
    async with srv:
        await srv.serve_forever()

asyncio.run(main())
PY
RELAY_PID=''
relay_start() {
  python3 "$MON_DIR/relay.py" "$relay_port" "$MDB_HOST_1" "$MDB_PORT_1" 2>>"$MON_DIR/relay.log" &
  RELAY_PID=$!
  MON_PIDS+=("$RELAY_PID")
  for _ in $(seq 100); do [ -n "$(ss -Htln "( sport = :$relay_port )" 2>/dev/null)" ] && return 0; sleep 0.05; done
  echo "FAIL: the relay does not listen"; return 1
}
relay_stop() { kill -KILL "$RELAY_PID" 2>/dev/null; wait "$RELAY_PID" 2>/dev/null; RELAY_PID=''; }
relay_start || exit 1

for i in 1 2 3; do write_conf "$i" peer.key; done
sed -i "s/name = \"db-1\"; host = \"$MDB_HOST_1\"; port = $MDB_PORT_1;/name = \"db-1\"; host = \"127.0.0.1\"; port = $relay_port;/" \
  "$MON_DIR/s-3/sentinel.conf"
grep -q "port = $relay_port;" "$MON_DIR/s-3/sentinel.conf" || { echo "FAIL: s-3's config does not use the relay"; exit 1; }
for i in 1 2 3; do
  "$SENTINEL" --check-config --config "$MON_DIR/s-$i/sentinel.conf" >/dev/null 2>"$MON_DIR/check.err" ||
    { echo "FAIL: the config of s-$i is refused: $(cat "$MON_DIR/check.err")"; exit 1; }
done
start 1; start 2; start 3
for i in 1 2 3; do
  # (s-3 sees the replicas follow an unconfigured address: degraded there)
  out=$(q "$i" wait "c.get('state') in ('healthy', 'degraded') and c.get('primary') == 'db-1' and len($REACH) == 2" 20000 '' \
    "[c.get('state'), c.get('primary'), $REACH]")
  check "s-$i: primary db-1, both peers reachable ($out)" test $? -eq 0
done
check "s-1 and s-2 healthy" eval "q 1 true \"c['state'] == 'healthy'\" && q 2 true \"c['state'] == 'healthy'\""

# ---- helpers ----
ctl() { local i=$1; shift; "$SENTINELCTL" -s "$MON_DIR/s-$i/control.sock" "$@"; }
AUTH=(--user "$MDB_APP_USER" --password-file "$MDB_APP_PASSWORD_FILE")
TARGETS="$MDB_HOST_1:$MDB_PORT_1,$MDB_HOST_2:$MDB_PORT_2,$MDB_HOST_3:$MDB_PORT_3"
port_of() { _mdb_get PORT "${1#db-}"; }
# audit I EXPR: a Python expression over recs (s-I's audit records) is true (or printed when not bool)
audit() {
  python3 -c '
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
def ev(d, epoch=None):
    return [r for r in recs if r.get("decision") == d and (epoch is None or r.get("epoch") == epoch)]
def inp(r):
    return r.get("inputs") or {}
v = eval(sys.argv[2])
if isinstance(v, bool):
    sys.exit(0 if v else 1)
print(v if isinstance(v, str) else json.dumps(v))
' "$MON_DIR/s-$1/state/audit.jsonl" "$2"
}
# agree PRIMARY EPOCH [SENTINELS]: each running sentinel shows that primary and epoch, not in a run
agree() {
  local i out rc=0
  for i in ${3:-1 2 3}; do
    out=$(q "$i" wait "c.get('primary') == '$1' and c.get('epoch') == $2 and c.get('state') not in ('switchover', 'failover')" \
      15000 '' "[c.get('primary'), c.get('epoch'), c.get('state')]") || { echo "s-$i: $out"; rc=1; }
  done
  return $rc
}
epoch_of() { q "$1" get 'c["epoch"]'; }
# replica_of OLD NEW: OLD is read-only and replicates from NEW, both threads running
replica_of() {
  local o=${1#db-}
  [ "$(mdb_var "$o" read_only)" = 1 ] && [ "$(mdb_slave_field "$o" Master_Port)" = "$(port_of "$2")" ] &&
    [ "$(mdb_slave_field "$o" Slave_IO_Running)" = Yes ] && [ "$(mdb_slave_field "$o" Slave_SQL_Running)" = Yes ]
}
writable_count() {
  local i n=0
  for i in 1 2 3; do [ "$(mdb_var "$i" read_only 2>/dev/null)" = 0 ] && n=$((n + 1)); done
  echo "$n"
}
# switch_at I TO: `switchover main --to TO` asked of s-I; OUT and RC
switch_at() { OUT=$(ctl "$1" switchover main --to "$2" 2>&1); RC=$?; }
# one_leader EPOCH LEADER KIND: only LEADER has a run record of EPOCH (ok), the others granted a KIND vote
one_leader() {
  local e=$1 l=$2 kind=$3 i rc=0
  for i in 1 2 3; do
    if [ "s-$i" = "$l" ]; then
      audit "$i" "len([r for r in ev('switchover-run', $e) + ev('failover-run', $e) if inp(r)['run']['result'] == 'ok']) == 1" ||
        { echo "s-$i: no ok run record of epoch $e"; rc=1; }
    else
      audit "$i" "not ev('switchover-run', $e) and not ev('failover-run', $e)" || { echo "s-$i ran epoch $e too"; rc=1; }
    fi
  done
  local granted=0 n
  for i in 1 2 3; do
    n=$(audit "$i" "len([r for r in ev('vote-granted', $e) if inp(r)['request']['kind'] == '$kind' and inp(r)['request']['candidate'] == '$l'])")
    granted=$((granted + ${n:-0}))
  done
  [ "$granted" -ge 1 ] || { echo "no $kind vote granted to $l in epoch $e"; rc=1; }
  return $rc
}

# ---- 1. a switchover asked of a sentinel outside the primary's zone, there and back ----
W_PID=''
"$WRITER" run "${AUTH[@]}" --target "$TARGETS" --table app.writes --acked "$MON_DIR/w.acked" \
  --report "$MON_DIR/w.json" >"$MON_DIR/w.out" 2>"$MON_DIR/w.err" &
W_PID=$!
MON_PIDS+=("$W_PID")
mon_wait 10 eval '[ -s "$MON_DIR/w.acked" ]' || fail "the writer acknowledged nothing within 10 s"
e0=$(epoch_of 2)
switch_at 2 db-2
echo "$OUT" | head -n 2 | sed 's/^/    s-2: /'
check "1. switchover --to db-2 at s-2: exit 0 (got $RC)" test "$RC" -eq 0
check "...prints 'db-2 is the primary of main (epoch $((e0 + 1)))'" grep -q "^db-2 is the primary of main (epoch $((e0 + 1)))" <<<"$OUT"
check "...all three agree on db-2 in epoch $((e0 + 1))" agree db-2 $((e0 + 1))
check "...one leader, s-2; the others granted switchover votes" one_leader $((e0 + 1)) s-2 switchover
check "...db-1 is a read-only replica of db-2" mdb_wait_until 10 replica_of db-1 db-2
check "...one writable server ($(writable_count))" test "$(writable_count)" -eq 1
switch_at 2 db-1
check "...and back: switchover --to db-1 at s-2: exit 0 (got $RC: $(head -n 1 <<<"$OUT"))" test "$RC" -eq 0
check "...all three agree on db-1 in epoch $((e0 + 2))" agree db-1 $((e0 + 2))
check "...one leader, s-2" one_leader $((e0 + 2)) s-2 switchover
check "...db-2 is a read-only replica of db-1" mdb_wait_until 10 replica_of db-2 db-1
sleep 0.5
kill -TERM "$W_PID" 2>/dev/null
for _ in $(seq 200); do _mon_alive "$W_PID" || break; sleep 0.05; done
kill -KILL "$W_PID" 2>/dev/null; wait "$W_PID" 2>/dev/null; W_PID=''
echo "    writer: $(cat "$MON_DIR/w.out")"
vout=$("$WRITER" verify "${AUTH[@]}" --target "$MDB_HOST_1:$MDB_PORT_1" --table app.writes --acked "$MON_DIR/w.acked" 2>&1); vrc=$?
check "...the writer lost no acknowledged write ($(head -n 1 <<<"$vout"))" test "$vrc" -eq 0

# ---- 2. two switchovers at once ----
e1=$(epoch_of 2)
OUT2=$MON_DIR/sw-2.out OUT3=$MON_DIR/sw-3.out
ctl 2 switchover main --to db-2 >"$OUT2" 2>&1 &
p2=$!
ctl 3 switchover main --to db-3 >"$OUT3" 2>&1 &
p3=$!
wait "$p2"; rc2=$?
wait "$p3"; rc3=$?
sed 's/^/    s-2: /' "$OUT2" | head -n 1; sed 's/^/    s-3: /' "$OUT3" | head -n 1
if [ "$rc2" -eq 0 ] && [ "$rc3" -ne 0 ]; then W=2 L=3 NEWP=db-2
elif [ "$rc3" -eq 0 ] && [ "$rc2" -ne 0 ]; then W=3 L=2 NEWP=db-3
else W='' L='' NEWP=''
fi
check "2. two switchovers at once: exactly one succeeds (s-2 exit $rc2, s-3 exit $rc3)" test -n "$W"
if [ -n "$W" ]; then
  eW=$(q "$W" wait "c.get('primary') == '$NEWP' and c.get('state') != 'switchover'" 15000 >/dev/null; epoch_of "$W")
  check "...all three agree on $NEWP in epoch $eW" agree "$NEWP" "$eW"
  lost=$(cat "$MON_DIR/sw-$L.out")
  # The loser either ran its election and lost it, or had voted for the winner already (its request
  # came first) and was refused BUSY without an election of its own.
  if grep -q "election for a switchover of db-1 lost in epoch" <<<"$lost"; then
    check "...s-$L lost its election: one line naming it ($lost)" test "$(wc -l <<<"$lost")" -eq 1
    check "...s-$L's audit: an election-lost record with the tally, no run of its own" \
      audit "$L" "len(ev('election-lost')) == 1 and inp(ev('election-lost')[0])['count'] == 1 and inp(ev('election-lost')[0])['needed'] == 2 and inp(ev('election-lost')[0])['vote_kind'] == 'switchover' and all(inp(r)['run']['result'] == 'ok' for r in ev('switchover-run'))"
  else
    check "...s-$L was refused BUSY, having voted for s-$W: one line ($lost)" \
      eval '[ "$(wc -l <<<"$lost")" -eq 1 ] && grep -q "^sentinelctl: .*BUSY: this sentinel voted in an election of main" <<<"$lost"'
    check "...s-$L's audit: no election-lost, no run of its own" \
      audit "$L" "not ev('election-lost') and all(inp(r)['run']['result'] == 'ok' for r in ev('switchover-run'))"
  fi
  check "...no failed run anywhere" bash -c "! grep -h '\"switchover-run\"' $MON_DIR/s-*/state/audit.jsonl | grep -q '\"result\":\"failed\"'"
  check "...${NEWP#db-}: the new primary, db-1 a read-only replica of it" mdb_wait_until 10 replica_of db-1 "$NEWP"
fi

# ---- 3. one peer down: a majority of 2 of 3 still elects ----
cur=$(q 2 get 'c["primary"]')
e2=$(epoch_of 2)
stop 1
check "3. s-1 stopped: s-2 sees only s-3 ($(q 2 wait "$REACH == ['s-3']" 10000 '' "$REACH"))" q 2 true "$REACH == ['s-3']"
switch_at 2 db-1
check "...switchover --to db-1 at s-2: exit 0 (got $RC: $(head -n 1 <<<"$OUT"))" test "$RC" -eq 0
check "...s-2 and s-3 agree on db-1 in epoch $((e2 + 1))" agree db-1 $((e2 + 1)) "2 3"
check "...one leader, s-2 (s-3's switchover vote)" one_leader $((e2 + 1)) s-2 switchover
check "...$cur is a read-only replica of db-1" mdb_wait_until 10 replica_of "$cur" db-1
start 1
check "...s-1 restarted adopts db-1 in epoch $((e2 + 1))" agree db-1 $((e2 + 1))

# ---- 4. two peers down: no majority, refused at once ----
e3=$(epoch_of 2)
stop 1; stop 3
q 2 wait "$REACH == []" 10000 >/dev/null
check "4. s-1 and s-3 stopped: s-2 sees no peer" q 2 true "$REACH == []"
t=$(date +%s%N)
switch_at 2 db-2
ms=$((($(date +%s%N) - t) / 1000000))
echo "    s-2: $OUT"
check "...switchover at s-2: exit 1 within 2 s (got $RC after $ms ms)" test "$RC" -eq 1 -a "$ms" -lt 2000
check "...one line naming QUORUM_LOST and the majority" \
  eval '[ "$(wc -l <<<"$OUT")" -eq 1 ] && grep -q "^sentinelctl: .*QUORUM_LOST: .*reaches 1 of 3 sentinels.*majority of 2" <<<"$OUT"'
check "...nothing changed: db-1 primary in epoch $e3 at s-2" q 2 true "c['primary'] == 'db-1' and c['epoch'] == $e3"
check "...db-1 writable" test "$(mdb_var 1 read_only)" = 0
start 1; start 3
for i in 1 2 3; do
  out=$(q "$i" wait "len($REACH) == 2 and c.get('primary') == 'db-1' and srv['db-1']['read_only'] is False" 20000 '' \
    "[$REACH, c.get('primary'), srv['db-1']['read_only']]")
  check "...restarted: s-$i sees both peers and db-1 writable ($out)" test $? -eq 0
done

# ---- 5. a forced failover while the others still reach the primary ----
e4=$(epoch_of 2)
SAMPLES=$MON_DIR/samples
( while :; do printf '%s %s %s\n' "$(date +%s%N)" "$(mdb_var 1 read_only 2>/dev/null)" "$(mdb_var 2 read_only 2>/dev/null)"; done ) >"$SAMPLES" &
S_PID=$!
MON_PIDS+=("$S_PID")
relay_stop
out=$(q 3 wait "srv['db-1']['sdown'] is True" 10000 '' "srv['db-1']")
check "5. the relay stopped: db-1 is SDOWN for s-3 ($out ms)" test $? -eq 0
check "...but healthy for s-1 and s-2" eval "q 1 true \"srv['db-1']['sdown'] is False and srv['db-1']['reachable']\" && q 2 true \"srv['db-1']['sdown'] is False\""
# A run budget too short for the wait: refused before any election.
sed -i 's/timeout_ms = 10000;/timeout_ms = 1500;/' "$MON_DIR/s-3/sentinel.conf"
ctl 3 reload >/dev/null 2>&1
OUT=$(ctl 3 failover main --force --no-quorum --to db-2 2>&1); RC=$?
echo "    s-3 (failover.timeout_ms 1500): $OUT"
check "...with failover.timeout_ms 1500 at s-3: refused at once, exit 1, TIMEOUT, not promoting early (got $RC)" \
  eval '[ "$RC" -eq 1 ] && [ "$(wc -l <<<"$OUT")" -eq 1 ] && grep -q "TIMEOUT: .*would have to promote early" <<<"$OUT"'
check "...no election: epoch $e4 everywhere, no vote asked" \
  eval "agree db-1 $e4 && ! grep -q '\"vote-granted\"' <(cat $MON_DIR/s-*/state/audit.jsonl | grep '\"epoch\":$((e4 + 1))')"
sed -i 's/timeout_ms = 1500;/timeout_ms = 10000;/' "$MON_DIR/s-3/sentinel.conf"
ctl 3 reload >/dev/null 2>&1
OUT=$(ctl 3 failover main --force --no-quorum --to db-2 2>&1); RC=$?
echo "$OUT" | head -n 2 | sed 's/^/    s-3: /'
check "...failover --force --no-quorum --to db-2 at s-3: exit 0 (got $RC)" test "$RC" -eq 0
check "...all three agree on db-2 in epoch $((e4 + 1))" agree db-2 $((e4 + 1))
check "...one leader, s-3; the others granted forced votes" one_leader $((e4 + 1)) s-3 forced
nwait=$(grep -c "old primary db-1 not reached: waiting [0-9]* ms for its zone's sentinel to fence it" "$MON_DIR/s-3/sentinel.log")
check "...s-3 logged its wait for db-1's zone sentinel once (got $nwait)" test "$nwait" -eq 1
gap=$(audit 3 "int((next(p for p in inp(ev('failover-run', $((e4 + 1)))[0])['run']['phases'] if p['phase'] == 'promote')['start_usec'] - next(p for p in inp(ev('failover-run', $((e4 + 1)))[0])['run']['phases'] if p['phase'] == 'elect')['end_usec']) / 1000)")
check "...s-3 promoted $gap ms after its election: at least self_fence_after_ms ($sfa_ms)" test "${gap:-0}" -ge "$sfa_ms"
check "...db-1 ends read-only, a replica of db-2 (rejoined by s-1 or s-2 once the run budget passed)" \
  mdb_wait_until 25 replica_of db-1 db-2
kill -KILL "$S_PID" 2>/dev/null; wait "$S_PID" 2>/dev/null
both=$(awk '$2 == "0" && $3 == "0"' "$SAMPLES" | wc -l)
check "...the sampler never saw db-1 and db-2 writable at once ($(wc -l <"$SAMPLES") samples, $both both writable)" test "$both" -eq 0
audit 1 "[r.get('decision') + ' ' + str(r.get('reason')) for r in recs if r.get('decision') in ('self-fence', 'fenced', 'rejoined', 'config-adopted') and (r.get('epoch') or 0) >= $((e4 + 1))]" |
  sed 's/^/    s-1 after the forced failover: /' 
relay_start || true
out=$(q 3 wait "srv['db-1']['role'] == 'replica' and srv['db-1']['read_only'] is True" 15000 '' "srv['db-1']")
check "...the relay back: s-3 sees db-1 as a read-only replica ($out)" test $? -eq 0

# ---- 6. a lost election is recorded as one, not as a failed run ----
e5=$(epoch_of 2)
cur=$(q 2 get 'c["primary"]')
other=db-3; [ "$cur" != db-3 ] || other=db-1
kill -KILL "${PID[1]}" "${PID[3]}" 2>/dev/null; wait "${PID[1]}" "${PID[3]}" 2>/dev/null; PID[1]='' PID[3]=''
# s-2 still counts them reachable for a moment: the switchover starts, nobody answers its election
OUT=$(ctl 2 switchover main --to "$other" 2>&1); RC=$?
echo "    s-2: $OUT"
if grep -q "QUORUM_LOST" <<<"$OUT"; then
  echo "    (s-2 noticed the peers gone before the switchover: no election to lose; skipping 6)"
else
  check "6. s-1 and s-3 killed: a switchover at s-2 exits 1 naming its lost election (got $RC)" \
    eval '[ "$RC" -eq 1 ] && [ "$(wc -l <<<"$OUT")" -eq 1 ] && grep -q "election for a switchover of $cur lost in epoch $((e5 + 1)): 1 of 3 sentinel(s) voted for s-2, 2 needed, 0 denied; no peer answered" <<<"$OUT"'
  check "...s-2's audit: election-lost in epoch $((e5 + 1)) with the tally; no switchover-run, switchover-failed or page for it" \
    audit 2 "len(ev('election-lost', $((e5 + 1)))) == 1 and inp(ev('election-lost', $((e5 + 1)))[0])['count'] == 1 and inp(ev('election-lost', $((e5 + 1)))[0])['reason'] == 'TIMEOUT' and not ev('switchover-run', $((e5 + 1))) and not ev('switchover-failed', $((e5 + 1))) and not ev('switchover-start', $((e5 + 1)))"
  hist=$(ctl 2 history main --json)
  check "...s-2's history shows only its real runs, all ok" python3 -c '
import json, sys
d = json.loads(sys.argv[1])
runs = d["runs"]
sys.exit(0 if runs and all(r["run"]["result"] == "ok" for r in runs) and not any(r["run"].get("epoch") == int(sys.argv[2]) for r in runs) else 1)' "$hist" $((e5 + 1))
  why=$(ctl 2 why main)
  grep '^The last election' <<<"$why" | sed 's/^/    s-2 why: /'
  check "...s-2's why explains the lost election" grep -q "^The last election this sentinel ran.*lost in epoch $((e5 + 1))" <<<"$why"
fi

for i in 1 2 3; do [ -z "${PID[$i]}" ] || stop "$i"; done   # SIGTERM: a clean exit lets LeakSanitizer report
for i in 1 2 3; do check "s-$i has no sanitizer report" bash -c "! grep -qE 'ERROR: (Address|Leak)Sanitizer|runtime error:' '$MON_DIR/s-$i/sentinel.log'"; done
mon_finish
