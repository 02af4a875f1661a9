#!/usr/bin/env bash
# Chaos soak (issue 7): random faults, drawn from a seed, against the three-AZ namespace setup of
# tests/netns/az-lib.sh (a sentinel and a semi-sync mariadbd per AZ, named with the cluster's DNS name,
# the 50 ms checker), with a writer that writes through the DNS name the whole time and records every
# acknowledged write.
#
#   tests/soak/soak.sh [--seed N] [--duration SECONDS] [--ci]
#     --ci          120 s of faults (what CI runs); default 1800 s
#     --seed N      the faults' seed (default: random); printed first, with the command that replays it
#
# One fault at a time: inject, hold 1-8 s, heal (restart what was killed, remove the cut, start named,
# release the connections), wait until every sentinel agrees (same epoch and primary, no run, every
# peer reachable, exactly one writable server and the DNS name on it: 10 s limit after the heal), let
# the cluster settle (healthy: the replicas back), next. Kinds: kill-primary, kill-replica (kill -9,
# restart), kill-sentinel (any AZ), isolate-az (nftables), flap-link (a pair of AZs cut and joined every
# 1 s), restart-named (kill -9, start on the same zone files), fill-connections (the primary's
# max_connections taken by the application user).
# The invariants (tests/soak/README.md) are checked at the end by soak-checker.py analyze; exit 0 only
# when none was violated. SOAK_KEEP=DIR keeps the soak's directory (logs, audit logs, timeline,
# faults.jsonl, the writer's report). Needs root and the tools of test-partition.sh: exit 77 without.
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

seed='' duration=1800 mode=long
while [ $# -gt 0 ]; do
  case "$1" in
    --seed) seed=$2; shift 2 ;;
    --duration) duration=$2; shift 2 ;;
    --ci) duration=120 mode=ci; shift ;;
    -h | --help) sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "soak.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done
[ -n "$seed" ] || seed=$(( (RANDOM << 15 | RANDOM) % 1000000 ))
[[ $seed =~ ^[0-9]+$ && $duration =~ ^[0-9]+$ ]] || { echo "soak.sh: --seed and --duration take whole numbers" >&2; exit 2; }
echo "seed $seed"
echo "replay: tests/soak/soak.sh --seed $seed --duration $duration"

# shellcheck disable=SC2034 # read by az-lib.sh
AZ_NAME=soak.sh AZ_NS_PREFIX=sk AZ_NET=10.232 AZ_KEEP=${SOAK_KEEP:-}
# Semi-sync must not fall back to async during a fault (that makes a failover lossy, legitimately):
# a primary waits up to 60 s for an ack, longer than any hold plus failover here.
export MDB_SEMISYNC_TIMEOUT_MS=60000
# shellcheck source=../netns/az-lib.sh
. "$here/../netns/az-lib.sh"
WRITER=$BUILD_ROOT/tests/writer
SOAK=$here/soak-checker.py
az_require
[ -x "$WRITER" ] || { echo "FAIL: $WRITER is not built"; exit 1; }

WPID='' FPID=''
declare -A SINCE=() RES0=()
VIOL=() FINDINGS=()
# az_on_exit (az-lib.sh's exit trap): the writer and the connection filler
az_on_exit() { az_kill "$WPID"; WPID=''; az_kill "$FPID"; FPID=''; }

az_setup soak
# the name starts on db-a (the sentinels write it at their first failover; an application's DNS has it)
printf 'update add %s 1 A %s\n' "$DNS_NAME" "$(db_addr a)" | named_nsupdate >"$AZ_DIR/nsupdate.log" 2>&1 ||
  { fail "nsupdate of $DNS_NAME failed: $(cat "$AZ_DIR/nsupdate.log")"; finish; exit 1; }
for z in "${ZONES[@]}"; do SINCE[$z]=start; done

# ---- helpers ----

# idx_of NAME: the harness index of db-a/db-b/db-c; zone_of NAME: its AZ
idx_of() { echo "${IDX[${1#db-}]}"; }
zone_of() { echo "${1#db-}"; }
# primary: the primary the sentinels agree on (the first one that answers)
primary() { local z p; for z in "${ZONES[@]}"; do p=$(q "$z" get 'c.get("primary")' 2>/dev/null) && [ -n "$p" ] && [ "$p" != None ] && { echo "$p"; return 0; }; done; return 1; }
# converge SINCE_MS LIMIT_MS: soak-checker.py converge over the three sentinels and the timeline
converge() {
  local z a=()
  for z in "${ZONES[@]}"; do a+=(--sock "$z=$AZ_DIR/s-$z/control.sock" --addr "db-$z=$(db_addr "$z")"); done
  python3 "$SOAK" converge --ctl "$SENTINELCTL" --timeline "$AZ_DIR/timeline" --since "$1" --limit-ms "$2" "${a[@]}"
}
# resources Z: "FDS RSS_KIB" of AZ Z's sentinel
resources() { python3 "$SOAK" proc "${SPID[$1]}"; }
# fd_dump Z FILE: what AZ Z's sentinel's fds are (targets, and its TCP/UDP sockets), for a growth
fd_dump() {
  local p=${SPID[$1]}
  { ls -l "/proc/$p/fd" | awk 'NR > 1 {print $9, $11}'; in_ns "$1" ss -tuanp | grep "pid=$p,"; } >"$2" 2>&1
}
# baseline Z: AZ Z's sentinel's fds and RSS now, the start of its comparison
baseline() { RES0[$1]=$(resources "$1"); fd_dump "$1" "$AZ_DIR/s-$1/fds-start.txt"; }
# sentinels_alive: every sentinel the soak did not kill still runs; one that died is a violation (its
# exit status and log tail are recorded) and is started again so that the soak goes on
sentinels_alive() {
  local z st
  for z in "${ZONES[@]}"; do
    [ -n "${SPID[$z]}" ] || continue
    _mon_alive "${SPID[$z]}" && continue
    wait "${SPID[$z]}"; st=$?
    VIOL+=("s-$z (PID ${SPID[$z]}) died unexpectedly, exit status $st: $(grep -v ': debug:' "$AZ_DIR/s-$z/sentinel.log" | tail -n 2 | tr '\n' ' ' | cut -c1-300)")
    start "$z"; SINCE[$z]="restart at t+$(( ($(now_ms) - T_START) / 1000 ))s"; sleep 2; baseline "$z"
  done
}
# kill_server NAME: kill -9 a server and reap it (it is this shell's child: no "Killed" notice later)
kill_server() { local i p; i=$(idx_of "$1"); p=$(mdb_pid "$i") && mdb_kill "$i" && { wait "$p" 2>/dev/null; true; }; }
# restart_server NAME: start a killed server again read-only, with a role-neutral semi-sync setup (the
# sentinel turns the master side on at a promotion, SPEC 5.11; the harness gave db-a, the first primary,
# the master side on its command line). The slave side on: its crash recovery then truncates a binlog
# tail no replica acknowledged (MariaDB's semi-sync failover recovery), so a killed primary can rejoin
# the new one instead of diverging.
restart_server() {
  mdb_start "$(idx_of "$1")" --read-only=ON --rpl-semi-sync-master-enabled=OFF --rpl-semi-sync-slave-enabled=ON >/dev/null
}
# json_str S: S as a JSON string
json_str() { python3 -c 'import json, sys; print(json.dumps(sys.argv[1]))' "$1"; }
# join_json ITEM...: a JSON array of strings
join_json() { python3 -c 'import json, sys; print(json.dumps(sys.argv[1:]))' "$@"; }

# ---- the writer ----
T_START=$(now_ms) T0_NS=$(date +%s%N)
W0=$(now_ms)
ip netns exec "$NS_BR" "$WRITER" run --user "$MDB_APP_USER" --password-file "$MDB_APP_PASSWORD_FILE" \
  --dns-server "$NAMED_HOST:$NAMED_PORT" --dns-name "$DNS_NAME" --db-port "$DB_PORT" --table app.writes \
  --acked "$AZ_DIR/writer.acked" --report "$AZ_DIR/writer.json" --gap-threshold-ms 100 --interval-ms 2 \
  >"$AZ_DIR/writer.out" 2>"$AZ_DIR/writer.log" &
WPID=$!
acked() { [ -f "$AZ_DIR/writer.acked" ] && wc -l <"$AZ_DIR/writer.acked" || echo 0; }
writer_going() { _mon_alive "$WPID" && [ "$(acked)" -ge "$1" ]; }
mon_wait 10 writer_going 50 || { fail "the writer acknowledged fewer than 50 writes in 10 s ($(tail -n 3 "$AZ_DIR/writer.log"))"; finish; exit 1; }
echo "writer: $(acked) writes acknowledged through $DNS_NAME; semi-sync on db-a: $(mdb_status_var 1 Rpl_semi_sync_master_status), $(mdb_status_var 1 Rpl_semi_sync_master_clients) clients, wait point $(mdb_var 1 rpl_semi_sync_master_wait_point), timeout $(mdb_var 1 rpl_semi_sync_master_timeout) ms"
sleep 2
for z in "${ZONES[@]}"; do baseline "$z"; done

# ---- the faults ----
mapfile -t PLAN < <(python3 "$SOAK" plan "$seed" 5000)
: >"$AZ_DIR/faults.jsonl"
t_end=$(( $(now_ms) + duration * 1000 ))
n=0
echo "faults for $duration s (t+s since the writer started):"
while [ "$(now_ms)" -lt "$t_end" ] && [ "$n" -lt "${#PLAN[@]}" ]; do
  read -r kind hold pick <<<"${PLAN[$n]}"
  n=$((n + 1))
  P=$(primary) || { VIOL+=("before fault $n: no sentinel answers with a primary"); break; }
  PZ=$(zone_of "$P")
  replicas=(); for z in "${ZONES[@]}"; do [ "db-$z" = "$P" ] || replicas+=("db-$z"); done
  m=$(mark) notes=() fviol=()
  t_inject=$(now_ms)
  case "$kind" in
    kill-primary)
      target=$P
      kill_server "$P" || fviol+=("kill -9 of $P failed")
      sleep "$hold" ;;
    kill-replica)
      target=${replicas[pick % 2]}
      kill_server "$target" || fviol+=("kill -9 of $target failed")
      sleep "$hold" ;;
    kill-sentinel)
      z=${ZONES[pick % 3]} target=s-${ZONES[pick % 3]}
      [ "$z" != "$PZ" ] || target="$target(primary's AZ)"
      crash "$z"
      sleep "$hold" ;;
    isolate-az)
      z=${ZONES[pick % 3]} target=az-${ZONES[pick % 3]}
      [ "$z" != "$PZ" ] || target="$target(primary's)"
      nft_isolate "$z" || fviol+=("nft_isolate $z failed")
      sleep "$hold" ;;
    flap-link)
      pairs=("a b" "a c" "b c"); read -r z o <<<"${pairs[pick % 3]}"; target="$z<->$o"
      for ((k = 0; k < hold; k++)); do
        if ((k % 2 == 0)); then nft_cut_pair "$z" "$o"; else nft_heal "$z"; fi
        sleep 1
      done ;;
    restart-named)
      target=named
      az_kill "$NAMED_PID"
      sleep "$hold" ;;
    fill-connections)
      target=$P
      rm -f "$AZ_DIR/filler.out"
      ip netns exec "$NS_BR" python3 "$SOAK" fill "$(db_addr "$PZ"):$DB_PORT" "$MDB_APP_USER" "$MDB_APP_PASSWORD_FILE" \
        "$AZ_DIR/filler.out" 2>>"$AZ_DIR/filler.err" &
      FPID=$!
      mon_wait 20 test -s "$AZ_DIR/filler.out"
      read -r _ nconn errno errmsg <"$AZ_DIR/filler.out" 2>/dev/null
      notes+=("filled: ${nconn:-?} connections, then error ${errno:-?} ${errmsg:-}")
      [ "${errno:-}" = 1040 ] || notes+=("the server did not refuse with ER_CON_COUNT_ERROR (1040)")
      # the sentinels' view of the full primary, half-way through the hold
      sleep "$(( (hold + 1) / 2 ))"
      for z in "${ZONES[@]}"; do
        notes+=("s-$z sees $P $(q "$z" get "[srv['$P']['role'], srv['$P']['reachable'], srv['$P']['sdown'], c.get('state')]" 2>&1 | tr -d ' ')")
      done
      sleep "$(( hold / 2 ))" ;;
  esac
  # heal
  t_heal=$(now_ms)
  case "$kind" in
    kill-primary | kill-replica) restart_server "$target" || fviol+=("$target did not start again") ;;
    kill-sentinel) start "$z"; SINCE[$z]="restart at t+$(( (t_heal - T_START) / 1000 ))s" ;;
    isolate-az | flap-link) nft_heal "$z" ;;
    restart-named) named_start >/dev/null || fviol+=("named did not start again") ;;
    fill-connections) kill -TERM "$FPID" 2>/dev/null; for _ in $(seq 100); do _mon_alive "$FPID" || break; sleep 0.05; done; az_kill "$FPID"; FPID='' ;;
  esac
  out=$(converge "$t_heal" 10000); crc=$?
  t_conv=$(now_ms)
  conv_ms=$(awk '{print $2}' <<<"$out")
  # settle: healthy on every sentinel (the replicas back and replicating), at most 20 s more
  P2=$(primary)
  if healthy "$P2" 20000 >"$AZ_DIR/settle.out" 2>&1; then
    :
  else
    notes+=("not healthy 20 s after the heal: views $(views)$(tr '\n' ' ' <"$AZ_DIR/settle.out" | sed 's/  */ /g' | cut -c1-400)")
    r=$(audit "$m" decisions rejoin-failed)
    [ -z "$r" ] || notes+=("rejoin-failed: ${r//$'\n'/; }")
    FINDINGS+=("fault $n ($kind $target): not healthy 20 s after the heal")
  fi
  t_settled=$(now_ms)
  sentinels_alive
  [ "$kind" != kill-sentinel ] || baseline "$z"
  runs=$(ok_runs "$m")
  nfo=0 epochs=()
  [ -z "$runs" ] || { nfo=$(wc -l <<<"$runs"); mapfile -t epochs < <(awk '{print $2}' <<<"$runs"); }
  [ "$crc" -eq 0 ] && conv="${conv_ms} ms" || conv="NOT within 10 s ($(cut -d' ' -f3- <<<"$out"))"
  printf '  t+%6.1f %-16s %-22s hold %d s  converged %s  failovers %d%s  primary %s\n' \
    "$(awk -v a="$t_inject" -v b="$T_START" 'BEGIN{print (a-b)/1000}')" "$kind" "$target" "$hold" "$conv" "$nfo" \
    "${epochs[*]:+ (epoch ${epochs[*]})}" "$P2"
  for x in "${notes[@]}"; do echo "           $x"; done
  for x in "${fviol[@]}"; do echo "           VIOLATION: $x"; done
  printf '{"kind": "%s", "target": %s, "hold": %d, "t_inject": %d, "t_heal": %d, "t_converged": %d, "t_settled": %d, "converged": %s, "conv_ms": %s, "conv_note": %s, "failovers": %d, "epochs": [%s], "primary_before": "%s", "primary_after": "%s", "notes": %s, "violations": %s}\n' \
    "$kind" "$(json_str "$target")" "$hold" "$t_inject" "$t_heal" "$t_conv" "$t_settled" \
    "$([ "$crc" -eq 0 ] && echo true || echo false)" "${conv_ms:-null}" "$(json_str "$(cut -d' ' -f3- <<<"$out")")" \
    "$nfo" "$(IFS=,; echo "${epochs[*]}")" "$P" "$P2" "$(join_json "${notes[@]}")" "$(join_json "${fviol[@]}")" >>"$AZ_DIR/faults.jsonl"
  sleep 1
done

# ---- the end ----
echo "faults done; final checks"
P=$(primary)
healthy "$P" 10000 >"$AZ_DIR/settle.out" 2>&1 || FINDINGS+=("not healthy at the end: views $(views)$(tr '\n' ' ' <"$AZ_DIR/settle.out" | sed 's/  */ /g' | cut -c1-300)")
sentinels_alive
kill -TERM "$WPID" 2>/dev/null
for _ in $(seq 100); do _mon_alive "$WPID" || break; sleep 0.05; done
wait "$WPID" 2>/dev/null; WPID=''
echo "writer: $(cat "$AZ_DIR/writer.out")"
sleep 0.5
T_END=$(now_ms)
vout=$(ip netns exec "$NS_BR" "$WRITER" verify --user "$MDB_APP_USER" --password-file "$MDB_APP_PASSWORD_FILE" \
  --target "$(db_addr "$(zone_of "$P")"):$DB_PORT" --table app.writes --acked "$AZ_DIR/writer.acked" 2>&1)
lost=$(sed -n 's/^verify: [0-9]* acked, \([0-9]*\) missing.*/\1/p' <<<"$vout" | head -n 1)
dns=$(tail -n 1 "$AZ_DIR/timeline" | awk '{print $NF}')
res='' sep=''
for z in "${ZONES[@]}"; do
  read -r f1 r1 <<<"$(resources "$z")"
  fd_dump "$z" "$AZ_DIR/s-$z/fds-end.txt"
  read -r f0 r0 <<<"${RES0[$z]}"
  res+="$sep\"$z\": {\"since\": \"${SINCE[$z]}\", \"fd0\": \"$f0\", \"fd1\": \"$f1\", \"rss0\": \"$r0\", \"rss1\": \"$r1\"}"; sep=', '
done
# a clean stop lets LeakSanitizer report; a sanitizer report in any log is a violation
for z in "${ZONES[@]}"; do stop "$z"; done
for z in "${ZONES[@]}"; do
  ! grep -qE 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$AZ_DIR/s-$z/sentinel.log" ||
    VIOL+=("s-$z: sanitizer report: $(grep -m1 -E 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$AZ_DIR/s-$z/sentinel.log" | cut -c1-200)")
done
[ -s "$AZ_DIR/checker.err" ] && VIOL+=("the checker wrote errors: $(head -c 300 "$AZ_DIR/checker.err")")
_mon_alive "$CHECKER_PID" || VIOL+=("the checker died")
cat >"$AZ_DIR/final.json" <<JSON
{"seed": $seed, "duration": $duration, "mode": "$mode", "t_start_ms": $T_START, "t_end_ms": $T_END, "writer_t0_ms": $W0,
 "primary": "$P", "primary_addr": "$(db_addr "$(zone_of "$P")")", "dns": "$dns",
 "lost": ${lost:-null}, "verify": $(json_str "$vout"), "semisync_timeout_ms": $MDB_SEMISYNC_TIMEOUT_MS,
 "violations": $(join_json "${VIOL[@]}"), "findings": $(join_json "${FINDINGS[@]}"),
 "resources": {$res}}
JSON
python3 "$SOAK" analyze "$AZ_DIR"; rc=$?
echo "seed $seed; replay: tests/soak/soak.sh --seed $seed --duration $duration"
echo "TIME: the soak $(elapsed_s "$T0_NS") s after the setup"
if [ "$rc" -eq 0 ]; then pass "the soak: no invariant violated"; else fail "the soak: invariants violated (above)"; fi
AZ_FINISHED=1
finish
