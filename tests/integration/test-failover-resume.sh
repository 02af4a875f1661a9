#!/usr/bin/env bash
# A sentinel that dies in the middle of a failover, after it recorded the new primary (write-ahead,
# epoch 1) and before it promoted it, must finish that promotion when it starts again, and never
# promote a second server. The crash is made exact: the sentinel is stopped, the primary killed, and
# state.json written as the engine writes it just before its promote step (vote and config epoch 1,
# primary db-2, pending: written ahead, not committed), checksum included; then the sentinel starts on
# it. Once the promotion is finished the configuration is committed (no longer pending).
# Also: a sentinel restarted after a failover keeps the new primary and its epoch, and an old
# primary that comes back then is rejoined, not promoted.
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
. "$here/lib.sh"
# shellcheck source=../harness/mdb-harness.sh
. "$here/../harness/mdb-harness.sh"
mdb_trap_teardown

if [ ! -x "$SENTINEL" ] || [ ! -x "$SENTINELCTL" ]; then echo "FAIL: $SENTINEL or $SENTINELCTL is not built"; exit 1; fi
mdb_cluster_up 3 --semisync >/dev/null || exit 1
mon_init sentinel-failover-resume || exit 1
mon_write_config main
mon_start
mon_q wait 'c["state"] == "healthy" and c["primary"] == "db-1"' 10000 >/dev/null
check "healthy with primary db-1" mon_q true 'c["state"] == "healthy" and c["primary"] == "db-1"'
mdb_sql_as app 1 "CREATE TABLE app.t (id INT PRIMARY KEY)"
mdb_sql_as app 1 "INSERT INTO app.t VALUES (1), (2), (3)"
mdb_wait_replicated

# The crash: the sentinel goes away, then the primary dies, and the state is what the engine
# persisted right before promoting db-2 in epoch 1.
mon_stop
check "the sentinel stopped cleanly (exit $MON_RC)" test "$MON_RC" = 0
mdb_kill 1
python3 - "$MON_DIR/state/state.json" <<'PY'
import hashlib, json, sys
body = json.dumps({"version": 1, "current_epoch": 1, "votes": [{"epoch": 1, "candidate": "mon-a"}],
                   "clusters": [{"name": "main", "primary": "db-2", "config_epoch": 1, "pending": True}]}, indent=2) + "\n"
with open(sys.argv[1], "w") as f:
    f.write(body + "sha256:" + hashlib.sha256(body.encode()).hexdigest() + "\n")
PY
check "db-2 is still a read-only replica before the restart" test "$(mdb_var 2 read_only)" = 1

t0=$(date +%s%N)
mon_start
ms=$(mon_q wait 'c["primary"] == "db-2" and srv["db-2"]["role"] == "primary" and srv["db-2"]["read_only"] is False and srv["db-3"]["role"] == "replica"' 20000 "$t0" '[c["state"], c["primary"], [(s["name"], s["role"], s["read_only"]) for s in c["servers"]]]'); rc=$?
check "the interrupted promotion of db-2 is finished after the restart ($ms ms)" test "$rc" -eq 0
check "the log says it resumed" mon_wait 5 grep -qE 'reason=RESUME.*db-2 is the recorded primary of epoch 1' "$MON_LOG"
sleep 1 # time for a wrong second run to show
check "exactly one failover-run record, result ok, promoting db-2 in epoch 2" python3 -c '
import json, sys
runs = [json.loads(l) for l in open(sys.argv[1]) if "\"failover-run\"" in l]
r = runs[0]["inputs"]["run"] if len(runs) == 1 else {}
sys.exit(0 if r.get("result") == "ok" and r.get("new_primary") == "db-2" and r.get("epoch") == 2 else 1)' "$MON_AUDIT"
check "epoch 2 (a new epoch for the finishing run)" mon_q true 'c["epoch"] == 2'
check "state.json: db-2 in config epoch 2, committed (not pending)" python3 -c '
import json, sys
s = json.loads(open(sys.argv[1]).read().rsplit("sha256:", 1)[0])
c = [c for c in s["clusters"] if c["name"] == "main"][0]
sys.exit(0 if c.get("primary") == "db-2" and c.get("config_epoch") == 2 and "pending" not in c else 1)' "$MON_DIR/state/state.json"
check "db-3 replicates from db-2" mon_q true 'srv["db-3"]["replicating_from"] == "db-2"'
check "exactly one promotion: only db-2 is writable" test "$(mdb_var 3 read_only)" = 1
check "the rows are on the new primary" test "$(mdb_sql 2 'SELECT COUNT(*) FROM app.t')" = 3
mdb_sql_as app 2 "INSERT INTO app.t VALUES (4)"
check "the new primary takes writes" test "$(mdb_sql 2 'SELECT COUNT(*) FROM app.t')" = 4

# A plain restart after the failover keeps epoch and primary; the old primary returning is rejoined.
mon_stop
check "the sentinel stopped cleanly again (exit $MON_RC)" test "$MON_RC" = 0
mon_start
mon_q wait 'c["primary"] == "db-2"' 10000 >/dev/null
check "after a restart: primary db-2, epoch 2" mon_q true 'c["primary"] == "db-2" and c["epoch"] == 2'
mdb_start 1 >/dev/null
ms=$(mon_q wait 'srv["db-1"]["role"] == "replica" and srv["db-1"]["read_only"] is True and c["state"] == "healthy"' 15000 '' '[c["state"], [(s["name"], s["role"], s["read_only"]) for s in c["servers"]]]'); rc=$?
check "the old primary db-1 came back and was rejoined as a replica ($ms)" test "$rc" -eq 0
check "rejoined is in the audit log" mon_wait 5 grep -q '"decision":"rejoined"' "$MON_AUDIT"
check "db-1 got the write made after the failover" mon_wait 10 test "$(mdb_sql 1 'SELECT COUNT(*) FROM app.t')" = 4
check "still epoch 2: no failover for the returning server" mon_q true 'c["epoch"] == 2 and c["primary"] == "db-2"'

mon_stop
check "clean exit (exit $MON_RC)" test "$MON_RC" = 0
check "no sanitizer report in the sentinel's log" mon_sanitizer_clean
MON_FINISHED=1
finish
