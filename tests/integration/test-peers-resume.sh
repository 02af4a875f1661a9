#!/usr/bin/env bash
# A leader that died between the write-ahead of the new primary and its promotion, with peers
# (issue 5; peers-lib.sh: three sentinels, quorum 2). The crash is made exact, as in
# test-failover-resume.sh: the sentinels are stopped, the primary killed, and the state files written
# as they are at that moment: s-1 (the leader) voted for itself in epoch 1 and recorded db-2 as the
# primary of epoch 1, pending (written ahead, not promoted); s-2 and s-3 granted it their votes in
# epoch 1 and still know db-1 (a pending configuration is never adopted). s-2 and s-3 run with
# failover.auto = false, so that only s-1 can lead and the test is deterministic.
#   - s-1 finishes the promotion of db-2 in a new epoch (2: it asks once it sees db-1 ODOWN; a later
#     one only when a vote request met a peer that did not see ODOWN yet): its vote request names
#     db-1, which s-2 and s-3 still know and see ODOWN, so they grant it; exactly one promotion; all
#     three agree on db-2 in that epoch; db-3 follows db-2; s-1's configuration is committed.
#   - s-2 and s-3 never adopt the pending configuration of epoch 1.
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

peers_up sentinel-peers-resume || exit 1
for i in 1 2 3; do write_conf "$i" peer.key; done
for i in 2 3; do sed -i 's/auto = true;/auto = false;/' "$MON_DIR/s-$i/sentinel.conf"; done
check "s-2 and s-3 run with failover.auto = false" grep -q 'auto = false;' "$MON_DIR/s-2/sentinel.conf"
start 1; start 2; start 3
for i in 1 2 3; do
  out=$(q "$i" wait "c.get(\"state\") == \"healthy\" and c.get(\"primary\") == \"db-1\" and len($REACH) == 2" 15000 '' \
    "[c.get(\"state\"), c.get(\"primary\"), $REACH]")
  check "s-$i: healthy with primary db-1, both peers reachable ($out)" test $? -eq 0
done
mdb_sql_as app 1 "CREATE TABLE app.t (id INT PRIMARY KEY)"
mdb_sql_as app 1 "INSERT INTO app.t VALUES (1), (2), (3)"
mdb_wait_replicated

# The crash: every sentinel stopped, the primary killed, the state files of that moment.
for i in 1 2 3; do stop "$i"; done
mdb_kill 1
# craft I EPOCH VOTE [PRIMARY CONFIG_EPOCH PENDING]: s-I's state.json with current_epoch EPOCH, a vote for
# VOTE in it, and (when given) main's primary
craft() {
  python3 - "$MON_DIR/s-$1/state/state.json" "${@:2}" <<'PY'
import hashlib, json, sys
path, epoch, vote = sys.argv[1], int(sys.argv[2]), sys.argv[3]
s = json.loads(open(path).read().rsplit("sha256:", 1)[0])
s["current_epoch"] = epoch
s["votes"] = [v for v in s["votes"] if v["epoch"] < epoch] + [{"epoch": epoch, "candidate": vote}]
if len(sys.argv) > 4:
    c = next(c for c in s["clusters"] if c["name"] == "main")
    c.update(primary=sys.argv[4], config_epoch=int(sys.argv[5]))
    if sys.argv[6] == "true":
        c["pending"] = True
body = json.dumps(s, indent=2) + "\n"
open(path, "w").write(body + "sha256:" + hashlib.sha256(body.encode()).hexdigest() + "\n")
PY
}
craft 1 1 s-1 db-2 1 true
craft 2 1 s-1
craft 3 1 s-1
check "db-2 is still a read-only replica before the restart" test "$(mdb_var 2 read_only)" = 1

t0=$(date +%s%N)
start 2; start 3; start 1
ms=$(q 1 wait 'c.get("primary") == "db-2" and c.get("epoch") >= 2 and srv["db-2"]["role"] == "primary" and srv["db-2"]["read_only"] is False' 30000 "$t0" \
  '[c.get("state"), c.get("primary"), c.get("epoch")]'); rc=$?
E=$(q 1 get 'c.get("epoch")')
check "s-1 finished the promotion of db-2 in epoch $E ($ms ms after the restart)" test "$rc" -eq 0
check "...it logged that it resumed" grep -qE 'reason=RESUME.*db-2 is the recorded primary of epoch 1' "$MON_DIR/s-1/sentinel.log"
for i in 2 3; do
  check "s-$i granted s-1 its vote in epoch $E" python3 -c '
import json, sys
sys.exit(0 if any(r.get("decision") == "vote-granted" and r.get("epoch") == int(sys.argv[2]) for r in map(json.loads, open(sys.argv[1]))) else 1)' \
    "$MON_DIR/s-$i/state/audit.jsonl" "$E"
  out=$(q "$i" wait "c.get(\"primary\") == \"db-2\" and c.get(\"epoch\") == $E" 10000 '' '[c.get("primary"), c.get("epoch")]'); rc=$?
  check "s-$i adopted db-2 in epoch $E ($out)" test "$rc" -eq 0
  check "...and never the pending configuration of epoch 1" python3 -c '
import json, sys
sys.exit(1 if any(r.get("decision") == "config-adopted" and r.get("epoch") == 1 for r in map(json.loads, open(sys.argv[1]))) else 0)' \
    "$MON_DIR/s-$i/state/audit.jsonl"
done
check "exactly one failover-run, by s-1, ok, db-2 in epoch $E" python3 - "$MON_DIR" "$E" <<'PY'
import json, sys
runs = [(i, json.loads(l)) for i in (1, 2, 3) for l in open("%s/s-%d/state/audit.jsonl" % (sys.argv[1], i))
        if '"failover-run"' in l]
r = runs[0][1]["inputs"]["run"] if len(runs) == 1 and runs[0][0] == 1 else {}
sys.exit(0 if r.get("result") == "ok" and r.get("new_primary") == "db-2" and r.get("epoch") == int(sys.argv[2]) else 1)
PY
check "s-1's state: db-2 in config epoch $E, committed (not pending)" python3 -c '
import json, sys
s = json.loads(open(sys.argv[1]).read().rsplit("sha256:", 1)[0])
c = [c for c in s["clusters"] if c["name"] == "main"][0]
sys.exit(0 if c.get("primary") == "db-2" and c.get("config_epoch") == int(sys.argv[2]) and "pending" not in c else 1)' "$MON_DIR/s-1/state/state.json" "$E"
# Usually epoch 2; a voter that had not seen ODOWN yet when asked (a few ms of difference in when the
# opinions arrive) denies NOT_ODOWN, which fails that election at once, and the retry comes later.
echo "    elections: $((E - 1)) (epoch $E)"
check "db-3 replicates from db-2" mon_wait 10 q 1 true 'srv["db-3"]["replicating_from"] == "db-2"'
check "exactly one promotion: db-3 is read-only" test "$(mdb_var 3 read_only)" = 1
check "the rows are on the new primary" test "$(mdb_sql 2 'SELECT COUNT(*) FROM app.t')" = 3

for i in 1 2 3; do [ -z "${PID[$i]}" ] || stop "$i"; done   # SIGTERM: a clean exit lets LeakSanitizer report
for i in 1 2 3; do check "s-$i has no sanitizer report" bash -c "! grep -qE 'ERROR: (Address|Leak)Sanitizer|runtime error:' '$MON_DIR/s-$i/sentinel.log'"; done
mon_finish
