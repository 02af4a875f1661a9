#!/usr/bin/env bash
# The test writer (tests/tools/writer.c) against a real 3-server cluster (server 1 primary): usage
# errors; `writer run` through a --target list whose first server is a read-only replica, stopped by
# SIGTERM, its stdout line, JSON report and acked file agreeing; `writer verify` with 0 missing on the
# primary and on a caught-up replica; acked rows deleted on the primary with sql_log_bin=0 reported
# as exactly those missing (exit 1) there, not on the replica; a read_only=ON window on the primary
# (insert errors, unknown ids never acked, the gap measured, nothing acked missing, ids continuing
# after the table's largest); a hung (SIGSTOP) primary (INSERT and connect timeouts); --duration-ms;
# and the DNS mode against a real named (the primary's port, a replica's, a name without records).
# Every writer is killed by PID in the harness's exit trap, also on failure or SIGTERM.
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
if [ ! -x "$WRITER" ]; then echo "FAIL: $WRITER is not built"; exit 1; fi

W_DIR=$(mktemp -d "${TMPDIR:-/tmp}/test-writer.XXXXXX") || exit 1
W_PID='' W_FINISHED=''
# w_cleanup (exit trap): the writer by PID (KILL), then W_DIR; its stderr when the test failed
w_cleanup() {
  if [ -n "${W_PID:-}" ]; then kill -KILL "$W_PID" 2>/dev/null; wait "$W_PID" 2>/dev/null; W_PID=''; fi
  if [ -z "$W_FINISHED" ] || [ "$_fails" -gt 0 ]; then
    for f in "$W_DIR"/*.err; do [ -s "$f" ] && { echo "--- $f:"; tail -n 30 "$f" | sed 's/^/    /'; }; done
  fi
  rm -rf "$W_DIR"
  true
}
mdb_on_exit w_cleanup

mdb_cluster_up 3 >/dev/null || exit 1
named_up >/dev/null || exit 1
P1=$MDB_HOST_1:$MDB_PORT_1 P2=$MDB_HOST_2:$MDB_PORT_2 P3=$MDB_HOST_3:$MDB_PORT_3
AUTH=(--user "$MDB_APP_USER" --password-file "$MDB_APP_PASSWORD_FILE")

# w_start NAME ARGS...: `writer run ARGS` in the background, stdout NAME.out, stderr NAME.err; W_PID
w_start() { local n=$1; shift; "$WRITER" run "${AUTH[@]}" "$@" >"$W_DIR/$n.out" 2>"$W_DIR/$n.err" & W_PID=$!; }
# w_wait LIMIT_S: wait for the writer to exit by itself (KILL after LIMIT_S); W_RC, or "hung"
w_wait() {
  local t=$(($1 * 20))
  while ((t-- > 0)) && _mon_alive "$W_PID"; do sleep 0.05; done
  if _mon_alive "$W_PID"; then
    kill -KILL "$W_PID"; wait "$W_PID" 2>/dev/null; W_RC=hung
  else
    wait "$W_PID"; W_RC=$?
  fi
  W_PID=''
}
# w_stop: SIGTERM and w_wait 10
w_stop() { kill -TERM "$W_PID"; w_wait 10; }
# jq_ FILE EXPR: print a Python expression over the JSON document d of FILE
jq_() { python3 -c 'import json, sys; d = json.load(open(sys.argv[1])); v = eval(sys.argv[2]); print(v if isinstance(v, str) else json.dumps(v))' "$1" "$2"; }
# jq_true FILE EXPR: the expression is true
jq_true() { python3 -c 'import json, sys; d = json.load(open(sys.argv[1])); sys.exit(0 if eval(sys.argv[2]) else 1)' "$1" "$2"; }
# verify TARGET ACKED [TABLE]: `writer verify` (default table app.writes); stdout in VOUT, status in VRC
verify() {
  VOUT=$("$WRITER" verify "${AUTH[@]}" --target "$1" --table "${3:-app.writes}" --acked "$2" 2>>"$W_DIR/verify.err"); VRC=$?
  printf '%s\n' "$VOUT" | sed 's/^/    | /'
}
# usage_case DESC ARGS...: exit 2 and exactly one line on stderr, nothing on stdout
usage_case() {
  local d=$1 out err rc; shift
  out=$("$WRITER" "$@" 2>"$W_DIR/usage.err"); rc=$?; err=$(cat "$W_DIR/usage.err")
  check "usage error, $d: exit 2 ($rc), one stderr line, no stdout: $err" \
    test "$rc" -eq 2 -a -z "$out" -a "$(wc -l <"$W_DIR/usage.err")" -eq 1
}

# ---- 1. usage ----
usage_case "no command"
usage_case "unknown command" frobnicate
usage_case "run without --acked" run "${AUTH[@]}" --target "$P1" --table app.writes
usage_case "bad --table" run "${AUTH[@]}" --target "$P1" --table writes --acked "$W_DIR/x"
usage_case "bad --target" run "${AUTH[@]}" --target 127.0.0.1 --table app.writes --acked "$W_DIR/x"
usage_case "--target with --dns-name" run "${AUTH[@]}" --target "$P1" --dns-name x --table app.w --acked "$W_DIR/x"
usage_case "bad number" run "${AUTH[@]}" --target "$P1" --table app.w --acked "$W_DIR/x" --duration-ms 5s
usage_case "unknown option" run --frob
usage_case "missing password file" verify --user app --password-file "$W_DIR/none" --target "$P1" --table app.w --acked "$W_DIR/x"
usage_case "verify with two targets" verify "${AUTH[@]}" --target "$P1,$P2" --table app.w --acked "$W_DIR/x"
help=$("$WRITER" --help); rc=$?
check "--help: exit 0, usage text on stdout" test "$rc" -eq 0 -a "${help:0:13}" = "usage: writer"

# ---- 2. run through a target list whose first server is read-only; stopped by SIGTERM ----
w_start a --target "$P2,$P1,$P3" --table app.writes --acked "$W_DIR/a.acked" --report "$W_DIR/a.json"
sleep 2
w_stop
line=$(cat "$W_DIR/a.out")
echo "    | $line"
check "run a: exit 0 on SIGTERM ($W_RC)" test "$W_RC" = 0
check "run a: one stdout line 'writer: N acked, E errors, longest write gap G ms'" \
  mon_one_line "$line" 'writer: +([0-9]) acked, +([0-9]) errors, longest write gap +([0-9]) ms'
n_acked=$(wc -l <"$W_DIR/a.acked")
check "run a: acked file has as many lines as reported acked ($n_acked = $(jq_ "$W_DIR/a.json" 'd["acked"]'))" \
  test "$n_acked" = "$(jq_ "$W_DIR/a.json" 'd["acked"]')" -a "$line" != "${line/ $n_acked acked/}"
check "run a: more than 50 writes acked in 2 s ($n_acked)" test "$n_acked" -gt 50
check "run a: 0 errors, nothing unknown, stopped by the signal" \
  test "$(jq_ "$W_DIR/a.json" '[d["errors"], d["unknown_ids"], d["stopped_by"]]')" = '[0, [], "signal"]'
check "run a: ids 1..$n_acked in order in the acked file, first/last_acked_id agree" \
  test "$(seq "$n_acked" | cmp - "$W_DIR/a.acked" && jq_ "$W_DIR/a.json" '[d["first_acked_id"], d["last_acked_id"]]')" = "[1, $n_acked]"
check "run a: read-only server $P2 skipped, wrote to $P1 only ($(jq_ "$W_DIR/a.json" 'd["primaries"]'))" \
  test "$(jq_ "$W_DIR/a.json" '[d["read_only_skips"] >= 1, [p["address"] for p in d["primaries"]]]')" = "[true, [\"$P1\"]]"
check "run a: max_gap_ms in the report = the stdout line's ($(jq_ "$W_DIR/a.json" 'd["max_gap_ms"]') ms)" \
  test "${line##*gap }" = "$(jq_ "$W_DIR/a.json" 'd["max_gap_ms"]') ms"
check "run a: the table has the rows on the primary" \
  test "$(mdb_sql 1 'SELECT COUNT(*) FROM app.writes')" -ge "$n_acked"

# ---- 3. verify: the primary, a caught-up replica ----
verify "$P1" "$W_DIR/a.acked"
check "verify on the primary: exit 0, '$n_acked acked, 0 missing'" \
  test "$VRC" -eq 0 -a "$(head -n1 <<<"$VOUT")" = "verify: $n_acked acked, 0 missing"
mdb_wait_replicated 2 3 || exit 1
verify "$P3" "$W_DIR/a.acked"
check "verify on replica 3 after catch-up: exit 0, '$n_acked acked, 0 missing'" \
  test "$VRC" -eq 0 -a "$(head -n1 <<<"$VOUT")" = "verify: $n_acked acked, 0 missing"

# ---- 4. acked rows deleted on the primary only (sql_log_bin=0): exactly those missing ----
del=$(sed -n "3p;$((n_acked / 2))p;${n_acked}p" "$W_DIR/a.acked" | sort -n | tr '\n' ' ')
del=${del% }
mdb_sql 1 "SET SESSION sql_log_bin=0; DELETE FROM app.writes WHERE id IN (${del// /,})"
verify "$P1" "$W_DIR/a.acked"
check "verify after deleting ids $del on the primary: exit 1 ($VRC)" test "$VRC" -eq 1
check "...'$n_acked acked, 3 missing'" test "$(head -n1 <<<"$VOUT")" = "verify: $n_acked acked, 3 missing"
check "...the missing ids are exactly $del" grep -qx "verify: missing ids: $del" <<<"$VOUT"
verify "$P2" "$W_DIR/a.acked"
check "verify on replica 2 (the deletes were not replicated): exit 0" test "$VRC" -eq 0
verify "$P1" "$W_DIR/nonexistent"
check "verify with a missing acked file: exit 2" test "$VRC" -eq 2

# ---- 5. read_only=ON on the primary for ~400 ms: insert errors, a gap, nothing acked lost ----
mdb_sql 1 "INSERT INTO app.writes VALUES (100000, 0)"   # ids continue after the table's largest
w_start b --target "$P1" --table app.writes --acked "$W_DIR/b.acked" --report "$W_DIR/b.json" --rw-timeout-ms 500
sleep 0.7
mdb_sql 1 "SET GLOBAL read_only=ON"
sleep 0.4
mdb_sql 1 "SET GLOBAL read_only=OFF"
sleep 0.7
w_stop
echo "    | $(cat "$W_DIR/b.out")"
check "run b: exit 0 ($W_RC)" test "$W_RC" = 0
check "run b: ids start after the table's largest (first_acked_id $(jq_ "$W_DIR/b.json" 'd["first_acked_id"]'))" \
  test "$(jq_ "$W_DIR/b.json" 'd["first_acked_id"]')" = 100001
check "run b: insert errors and read-only skips counted ($(jq_ "$W_DIR/b.json" '[d["insert_errors"], d["read_only_skips"], d["last_error"]]'))" \
  jq_true "$W_DIR/b.json" 'd["insert_errors"] >= 1 and d["read_only_skips"] >= 1 and "1290" in d["last_error"]'
check "run b: acks before and after the read-only window" \
  jq_true "$W_DIR/b.json" 'd["acked"] > 20 and len(d["primaries"]) == 1'
check "run b: unknown ids ($(jq_ "$W_DIR/b.json" 'd["unknown_ids"]')) are not in the acked file, and no id is acked twice" \
  python3 -c 'import json, sys; d = json.load(open(sys.argv[1])); a = [int(l) for l in open(sys.argv[2])]
sys.exit(not (d["unknown_ids"] and not set(d["unknown_ids"]) & set(a) and len(set(a)) == len(a) and a == sorted(a)))' \
  "$W_DIR/b.json" "$W_DIR/b.acked"
check "run b: one gap of at least 350 ms, and it is max_gap_ms ($(jq_ "$W_DIR/b.json" '[d["max_gap_ms"], d["gaps"]]'))" \
  jq_true "$W_DIR/b.json" 'd["max_gap_ms"] >= 350 and d["max_gap_ms"] == max(g["gap_ms"] for g in d["gaps"]) and d["max_gap_ms"] < 5000'
check "run b: the gap started 500-3000 ms after the writer's start" \
  jq_true "$W_DIR/b.json" '[500 <= g["start_ms"] <= 3000 for g in d["gaps"] if g["gap_ms"] == d["max_gap_ms"]] == [True]'
verify "$P1" "$W_DIR/b.acked"
check "verify run b on the primary: exit 0" test "$VRC" -eq 0

# ---- 6. the primary hung (SIGSTOP) for ~1 s: the INSERT and the connects time out, then resume ----
w_start h --target "$P1" --table app.writes --acked "$W_DIR/h.acked" --report "$W_DIR/h.json" --rw-timeout-ms 300 \
  --connect-timeout-ms 200
sleep 0.5
mdb_kill 1 STOP
sleep 1
mdb_kill 1 CONT
sleep 0.5
w_stop
echo "    | $(cat "$W_DIR/h.out")"
check "run h: exit 0 ($W_RC)" test "$W_RC" = 0
check "run h: the INSERT timed out (its id unknown), connects timed out too ($(jq_ "$W_DIR/h.json" '[d["insert_errors"], d["connect_errors"], d["unknown_ids"]]'))" \
  jq_true "$W_DIR/h.json" 'd["insert_errors"] >= 1 and len(d["unknown_ids"]) == d["insert_errors"] and d["connect_errors"] >= 1'
check "run h: the timeout errors are in the log" grep -q 'no answer within 300 ms' "$W_DIR/h.err"
check "run h: the gap covers the hang: 900-3000 ms ($(jq_ "$W_DIR/h.json" 'd["max_gap_ms"]') ms), acks after it" \
  jq_true "$W_DIR/h.json" '900 <= d["max_gap_ms"] <= 3000 and d["last_ack_ms"] > d["gaps"][-1]["start_ms"] + d["gaps"][-1]["gap_ms"] - 1'
verify "$P1" "$W_DIR/h.acked"
check "verify run h on the primary: exit 0" test "$VRC" -eq 0

# ---- 7. --duration-ms: stops by itself ----
t0=$(date +%s%N)
w_start c --target "$P1" --table app.c --acked "$W_DIR/c.acked" --report "$W_DIR/c.json" --duration-ms 500 --interval-ms 10
w_wait 10
ms=$((($(date +%s%N) - t0) / 1000000))
check "run c: --duration-ms 500 exits 0 by itself in $ms ms" test "$W_RC" = 0 -a "$ms" -lt 3000
check "run c: stopped_by duration, table app.c created, 5-60 acks at --interval-ms 10 ($(jq_ "$W_DIR/c.json" 'd["acked"]'))" \
  jq_true "$W_DIR/c.json" 'd["stopped_by"] == "duration" and 5 <= d["acked"] <= 60'
verify "$P1" "$W_DIR/c.acked" app.c
check "verify run c: exit 0" test "$VRC" -eq 0 -a "$(head -n1 <<<"$VOUT")" = "verify: $(wc -l <"$W_DIR/c.acked") acked, 0 missing"

# ---- 8. DNS mode: the name's A record asked of named directly; only read_only=0 counts ----
printf 'update add primary.%s 5 A %s\n' "$NAMED_ZONE" "$MDB_HOST_1" | named_nsupdate "$NAMED_KEY_FILE" || exit 1
w_start d --dns-server "$NAMED_HOST:$NAMED_PORT" --dns-name "primary.${NAMED_ZONE%.}" --db-port "$MDB_PORT_1" \
  --table app.d --acked "$W_DIR/d.acked" --report "$W_DIR/d.json" --duration-ms 500
w_wait 10
check "run d: exit 0 ($W_RC)" test "$W_RC" = 0
check "run d (DNS, primary's port): acks, no errors, wrote to $P1 ($(jq_ "$W_DIR/d.json" '[d["acked"], d["errors"], d["primaries"]]'))" \
  jq_true "$W_DIR/d.json" 'd["acked"] > 10 and d["errors"] == 0 and [p["address"] for p in d["primaries"]] == ["'"$P1"'"]'
verify "$P1" "$W_DIR/d.acked" app.d
check "verify run d: exit 0" test "$VRC" -eq 0
w_start e --dns-server "$NAMED_HOST:$NAMED_PORT" --dns-name "primary.${NAMED_ZONE%.}" --db-port "$MDB_PORT_2" \
  --table app.d --acked "$W_DIR/e.acked" --report "$W_DIR/e.json" --duration-ms 300
w_wait 10
check "run e: exit 0 ($W_RC)" test "$W_RC" = 0
check "run e (DNS, a replica's port): nothing acked, read-only skips ($(jq_ "$W_DIR/e.json" '[d["acked"], d["read_only_skips"]]'))" \
  jq_true "$W_DIR/e.json" 'd["acked"] == 0 and d["read_only_skips"] >= 5 and d["max_gap_ms"] == 0'
w_start f --dns-server "$NAMED_HOST:$NAMED_PORT" --dns-name "nothing.${NAMED_ZONE%.}" --db-port "$MDB_PORT_1" \
  --table app.d --acked "$W_DIR/f.acked" --report "$W_DIR/f.json" --duration-ms 300
w_wait 10
check "run f: exit 0 ($W_RC)" test "$W_RC" = 0
check "run f (DNS, a name without records): nothing acked, errors say NXDOMAIN ($(jq_ "$W_DIR/f.json" 'd["last_error"]'))" \
  jq_true "$W_DIR/f.json" 'd["acked"] == 0 and d["errors"] >= 5 and "NXDOMAIN" in d["last_error"]'

# Under -Db_sanitize=address,undefined: a UBSan report does not change the exit status by default
check "no sanitizer report in any writer's stderr" \
  test -z "$(grep -lE 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$W_DIR"/*.err)"

W_FINISHED=1
finish
