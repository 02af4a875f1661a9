# shellcheck shell=bash
# The three-AZ namespace setup shared by tests/netns/test-partition.sh and tests/soak/soak.sh
# (sourced). AZ namespaces a, b, c, each joined by a veth pair to a Linux bridge in a fourth, bridge
# namespace, on $AZ_NET.0.0/16 (AZ n: the sentinel on $AZ_NET.n.10, mariadbd on $AZ_NET.n.20:3306;
# named on $AZ_NET.0.1 in the bridge namespace). Each AZ runs one real mariadb-sentinel (quorum 2 of 3)
# and one mariadbd of a semi-sync harness cluster: db-a primary, db-b replica, db-c replica with
# promotable = false. The cluster's DNS endpoint is a real named with a TSIG-signed dynamic zone. Links
# are cut with nftables rules inside the AZ namespaces. A checker (partition-checker.py) samples every
# 50 ms which servers are writable (over their unix sockets, which no partition cuts) and what the DNS
# name answers at named, into $AZ_DIR/timeline.
#
# Set before sourcing: AZ_NAME (the script's name, for messages), AZ_NS_PREFIX (namespace names begin
# with it, default "pt"), AZ_NET (the first two octets, default 10.231; each user has its own, though the
# namespaces alone already keep concurrent runs apart: every address, veth, port and nft table lives in
# namespaces of the run). Namespace names carry "$$-$RANDOM", so runs never share one.
# Before az_setup: AZ_SLAVE_NET_TIMEOUT (seconds, default 2; '' keeps the server's default),
# MDB_SEMISYNC_TIMEOUT_MS (the harness's), AZ_KEEP (a directory: copy AZ_DIR there at exit), and an
# optional function az_on_exit, run first by the exit trap (for the caller's own processes).
#
# Every process (checker, sentinels, mariadbd, named) is killed by PID and the namespaces (with their
# veths and nft tables) are deleted in the exit trap, also on failure.
az_here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../integration/lib.sh
. "$az_here/../integration/lib.sh"
# shellcheck source=../harness/mdb-harness.sh
. "$az_here/../harness/mdb-harness.sh"
# shellcheck source=../harness/named-harness.sh
. "$az_here/../harness/named-harness.sh"

: "${AZ_NAME:=az-lib.sh}" "${AZ_NS_PREFIX:=pt}" "${AZ_NET:=10.231}"
PEER_SEND=$BUILD_ROOT/tests/peer-send
CHECKER=$az_here/partition-checker.py

# az_require: root, the tools and the built programs; exit 77 (skipped) or 1 without them
az_require() {
  local tool b
  if [ "$(id -u)" -ne 0 ]; then echo "$AZ_NAME: needs root; skipped"; exit 77; fi
  for tool in ip nft named dig tsig-keygen python3; do
    if ! command -v "$tool" >/dev/null 2>&1 && ! _named_find_bin "$tool" >/dev/null 2>&1; then
      echo "$AZ_NAME: $tool is not installed; skipped"
      exit 77
    fi
  done
  for b in "$SENTINEL" "$SENTINELCTL" "$PEER_SEND"; do
    if [ ! -x "$b" ]; then echo "FAIL: $b is not built"; exit 1; fi
  done
}

# ---- names and addresses ----
SFX="$$-$RANDOM"
NS_BR="$AZ_NS_PREFIX-br-$SFX"
declare -A NS=([a]="$AZ_NS_PREFIX-a-$SFX" [b]="$AZ_NS_PREFIX-b-$SFX" [c]="$AZ_NS_PREFIX-c-$SFX")
declare -A IDX=([a]=1 [b]=2 [c]=3)
declare -A SPID=([a]='' [b]='' [c]='')
ZONES=(a b c)
DB_PORT=3306
PEER_PORT=26400
SELF_FENCE_MS=600
FAILOVER_TIMEOUT_MS=6000
AZ_DIR='' CHECKER_PID='' NETNS_MADE='' AZ_FINISHED=''

# now_ms: wall clock in ms since the epoch (the checker's timeline uses the same clock)
now_ms() { local t=${EPOCHREALTIME//[.,]/}; echo $((t / 1000)); }
# elapsed_s T0_NS: seconds since T0_NS (date +%s%N) as S.S
elapsed_s() { local d=$((($(date +%s%N) - $1) / 1000000)); printf '%d.%d' $((d / 1000)) $((d % 1000 / 100)); }
# sent_addr Z: the sentinel's address in AZ Z; db_addr Z: the server's
sent_addr() { echo "$AZ_NET.${IDX[$1]}.10"; }
db_addr() { echo "$AZ_NET.${IDX[$1]}.20"; }
# in_ns Z CMD...: CMD in AZ Z's network namespace
in_ns() { local z=$1; shift; ip netns exec "${NS[$z]}" "$@"; }

# ---- cleanup ----

# az_show_logs: the tail of each sentinel's log and its audit decisions (on failure)
az_show_logs() {
  local z
  [ -n "$AZ_DIR" ] || return 0
  for z in "${ZONES[@]}"; do
    echo "--- s-$z log (tail):"; grep -v ': debug:' "$AZ_DIR/s-$z/sentinel.log" 2>/dev/null | tail -n 40 | cut -c1-400 | sed 's/^/    /'
    echo "--- s-$z audit (decisions):"
    python3 -c '
import json, sys
for l in open(sys.argv[1]):
    try:
        r = json.loads(l)
    except ValueError:
        continue
    if r.get("decision") != "hook":
        print("    %s %s epoch=%s reason=%s" % (r.get("ts"), r.get("decision"), r.get("epoch"), r.get("reason")))' \
      "$AZ_DIR/s-$z/state/audit.jsonl" 2>/dev/null | tail -n 40
  done
}

# az_kill PID: SIGKILL (and SIGCONT, for a stopped one) and reap
az_kill() { [ -n "$1" ] || return 0; kill -KILL "$1" 2>/dev/null; kill -CONT "$1" 2>/dev/null; wait "$1" 2>/dev/null; true; }

# az_exit (EXIT trap): the caller's processes (az_on_exit), checker and sentinels by PID, then the
# servers, named, namespaces
az_exit() {
  local rc=$? z
  set +e
  trap - EXIT
  [ -n "$AZ_DIR" ] || exit "$rc" # nothing set up yet (a skip)
  ! declare -F az_on_exit >/dev/null || az_on_exit
  az_kill "$CHECKER_PID"; CHECKER_PID=''
  for z in "${ZONES[@]}"; do az_kill "${SPID[$z]}"; SPID[$z]=''; done
  if [ -z "$AZ_FINISHED" ] || [ "$_fails" -gt 0 ]; then
    az_show_logs
    [ "$rc" -ne 0 ] || rc=1
    mdb_dump_logs 2>&1 | tail -n 60
  fi
  [ -z "${AZ_KEEP:-}" ] || [ -z "$AZ_DIR" ] || cp -a "$AZ_DIR" "$AZ_KEEP"
  mdb_teardown_all || { echo "$AZ_NAME: mariadbd teardown failed"; rc=1; }
  named_teardown_all || { echo "$AZ_NAME: named teardown failed"; rc=1; }
  if [ -n "$NETNS_MADE" ]; then
    for z in "${ZONES[@]}"; do ip netns del "${NS[$z]}" 2>/dev/null; done
    ip netns del "$NS_BR" 2>/dev/null
  fi
  [ -z "$AZ_DIR" ] || rm -rf "$AZ_DIR"
  exit "$rc"
}
trap az_exit EXIT
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 143' TERM

# ---- the network ----

# netns_up: the bridge namespace, the three AZ namespaces with their veths and addresses, an empty
# nftables table with input and output chains in each AZ; 77 when namespaces cannot be made
netns_up() {
  local z n
  ip netns add "$NS_BR" 2>/dev/null || return 77
  NETNS_MADE=1
  ip -n "$NS_BR" link set lo up || return 1
  ip -n "$NS_BR" link add br0 type bridge || return 1
  ip -n "$NS_BR" addr add "$AZ_NET.0.1/16" dev br0 || return 1
  ip -n "$NS_BR" link set br0 up || return 1
  for z in "${ZONES[@]}"; do
    n=${IDX[$z]}
    ip netns add "${NS[$z]}" || return 1
    ip -n "${NS[$z]}" link set lo up || return 1
    ip -n "${NS[$z]}" link add eth0 type veth peer name "veth-$z" netns "$NS_BR" || return 1
    # the sentinel's address first: it is the source of every connection leaving the AZ
    ip -n "${NS[$z]}" addr add "$AZ_NET.$n.10/16" dev eth0 || return 1
    ip -n "${NS[$z]}" addr add "$AZ_NET.$n.20/16" dev eth0 || return 1
    ip -n "${NS[$z]}" link set eth0 up || return 1
    ip -n "$NS_BR" link set "veth-$z" master br0 up || return 1
    in_ns "$z" nft -f - <<'NFT' || return 1
table inet partition {
  chain input { type filter hook input priority 0; policy accept; }
  chain output { type filter hook output priority 0; policy accept; }
}
NFT
  done
}

# nft_isolate Z: drop everything in and out of AZ Z except loopback
nft_isolate() {
  in_ns "$1" nft add rule inet partition input iifname != lo drop &&
    in_ns "$1" nft add rule inet partition output oifname != lo drop
}

# nft_cut_pair Z OTHER: drop everything between AZ Z and AZ OTHER (rules in Z, both directions)
nft_cut_pair() {
  in_ns "$1" nft add rule inet partition input ip saddr "$AZ_NET.${IDX[$2]}.0/24" drop &&
    in_ns "$1" nft add rule inet partition output ip daddr "$AZ_NET.${IDX[$2]}.0/24" drop
}

# nft_cut_local_db Z: drop what AZ Z's own processes (its sentinel) send to its server's port; the
# other AZs still reach the server, and its replies to them still leave
nft_cut_local_db() {
  in_ns "$1" nft add rule inet partition output ip daddr "$(db_addr "$1")" tcp dport "$DB_PORT" drop
}

# nft_heal Z: remove every rule of AZ Z
nft_heal() {
  in_ns "$1" nft flush chain inet partition input && in_ns "$1" nft flush chain inet partition output
}

# ---- sentinels ----

# write_conf Z: AZ Z's sentinel configuration
write_conf() {
  local z=$1 o sep=''
  mkdir -p "$AZ_DIR/s-$z/state" && chmod 0700 "$AZ_DIR/s-$z/state"
  {
    printf 'sentinel = {\n  name = "s-%s";\n  zone = "zone-%s";\n  listen = "%s:%s";\n' "$z" "$z" "$(sent_addr "$z")" "$PEER_PORT"
    printf '  control_socket = "%s";\n  state_dir = "%s";\n  peer_secret_file = "%s";\n  peers = (\n' \
      "$AZ_DIR/s-$z/control.sock" "$AZ_DIR/s-$z/state" "$AZ_DIR/peer.key"
    for o in "${ZONES[@]}"; do
      [ "$o" != "$z" ] || continue
      printf '%s    { name = "s-%s"; zone = "zone-%s"; address = "%s:%s"; }' "$sep" "$o" "$o" "$(sent_addr "$o")" "$PEER_PORT"
      sep=$',\n'
    done
    cat <<CONF

  );
};
clusters = (
  {
    name = "main";
    quorum = 2;
    user = "$MDB_SENTINEL_USER";
    password_file = "$MDB_SENTINEL_PASSWORD_FILE";
    replication_user = "$MDB_REPL_USER";
    replication_password_file = "$MDB_REPL_PASSWORD_FILE";
    servers = (
      { name = "db-a"; host = "$(db_addr a)"; port = $DB_PORT; zone = "zone-a"; priority = 100; },
      { name = "db-b"; host = "$(db_addr b)"; port = $DB_PORT; zone = "zone-b"; priority = 90; },
      { name = "db-c"; host = "$(db_addr c)"; port = $DB_PORT; zone = "zone-c"; promotable = false; }
    );
    probe = { interval_ms = 200; timeout_ms = 200; down_after_ms = 1000; };
    failover = { auto = true; cooldown_s = 0; timeout_ms = $FAILOVER_TIMEOUT_MS; };
    fencing = { self_fence_after_ms = $SELF_FENCE_MS; };
    endpoints = (
      { type = "dns"; server = "$NAMED_HOST:$NAMED_PORT"; zone = "$NAMED_ZONE"; name = "$DNS_NAME";
        ttl = 1; tsig_key_file = "$NAMED_KEY_FILE"; }
    );
  }
);
CONF
  } >"$AZ_DIR/s-$z/sentinel.conf"
}

# start Z: AZ Z's sentinel, in its namespace (ip netns exec execs it: $! is the sentinel)
start() {
  ip netns exec "${NS[$1]}" "$SENTINEL" --config "$AZ_DIR/s-$1/sentinel.conf" 2>>"$AZ_DIR/s-$1/sentinel.log" &
  SPID[$1]=$!
}

# stop Z: SIGTERM (a clean exit lets LeakSanitizer report), SIGKILL after 10 s
stop() {
  local p=${SPID[$1]}
  [ -n "$p" ] || return 0
  kill -CONT "$p" 2>/dev/null; kill -TERM "$p" 2>/dev/null
  for _ in $(seq 200); do _mon_alive "$p" || break; sleep 0.05; done
  kill -KILL "$p" 2>/dev/null; wait "$p" 2>/dev/null
  SPID[$1]=''
}

# crash Z: kill -9 AZ Z's sentinel
crash() { az_kill "${SPID[$1]}"; SPID[$1]=''; }

# q Z MODE EXPR [LIMIT_MS [T0_NS [NOTE]]]: mon_q (lib.sh) against AZ Z's sentinel
q() { local z=$1; shift; MON_SOCK=$AZ_DIR/s-$z/control.sock MON_PID=${SPID[$z]} mon_q "$@"; }

# views: "primary@epoch" of every running sentinel, distinct, space-separated
views() {
  local z
  for z in "${ZONES[@]}"; do [ -z "${SPID[$z]}" ] || q "$z" get '"%s@%s" % (c.get("primary"), c.get("epoch"))'; done | sort -u | tr '\n' ' '
}

HEALTHY='c.get("state") == "healthy" and all(p["reachable"] for p in d["sentinel"]["peers"])'
# healthy PRIMARY [LIMIT_MS]: every sentinel healthy with PRIMARY writable, every peer reachable, one epoch
healthy() {
  local z out rc=0
  for z in "${ZONES[@]}"; do
    out=$(q "$z" wait "$HEALTHY and c.get('primary') == '$1' and srv['$1']['read_only'] is False" "${2:-15000}" '' \
      '[c.get("state"), c.get("primary"), c.get("epoch"), srv["'"$1"'"]["read_only"], c.get("state_reasons"), [p["name"] for p in d["sentinel"]["peers"] if not p["reachable"]]]') ||
      { echo "    s-$z not healthy with $1: $out"; rc=1; }
  done
  [ "$rc" -eq 0 ] && [ "$(views | wc -w)" -eq 1 ]
}

# epoch_of Z: AZ Z's sentinel's epoch of the cluster
epoch_of() { q "$1" get 'c.get("epoch")'; }

# ---- audit logs ----

# mark: the audit logs' line counts now ("a=N b=N c=N"), to look only at what comes after
mark() {
  local z
  for z in "${ZONES[@]}"; do printf '%s=%s ' "$z" "$(wc -l <"$AZ_DIR/s-$z/state/audit.jsonl" 2>/dev/null || echo 0)"; done
}

# audit MARK runs|decisions [DECISION...]: the records after MARK, over the three audit logs:
#   runs       every failover-run: "Z EPOCH OLD NEW RESULT REASON"
#   decisions  every record with one of the DECISIONs: "Z EPOCH REASON CANDIDATE"
audit() {
  python3 - "$AZ_DIR" "$@" <<'PY'
import json, signal, sys
signal.signal(signal.SIGPIPE, signal.SIG_DFL)
d, mark, what, want = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
start = dict(x.split("=") for x in mark.split())
for z in "abc":
    try:
        lines = open("%s/s-%s/state/audit.jsonl" % (d, z)).read().splitlines()
    except OSError:
        continue
    for l in lines[int(start.get(z, 0)):]:
        try:
            r = json.loads(l)
        except ValueError:
            continue
        inp = r.get("inputs") or {}
        if what == "runs" and r.get("decision") == "failover-run":
            run = inp.get("run") or {}
            print(z, run.get("epoch"), run.get("old_primary"), run.get("new_primary"), run.get("result"), run.get("reason"))
        elif what == "decisions" and r.get("decision") in want:
            cand = (inp.get("request") or {}).get("candidate")
            print(z, r.get("epoch"), r.get("reason"), cand or "-")
PY
}

# ok_runs MARK: the successful (ok or degraded) failover-runs after MARK
ok_runs() { audit "$1" runs | awk '$5 == "ok" || $5 == "degraded"'; }

# ---- the timeline ----

# tl MODE ARGS...: partition-checker.py check over the timeline
tl() { python3 "$CHECKER" check "$AZ_DIR/timeline" "$@"; }

# tl_q MODE ARGS...: tl without its output, for checks and waits
tl_q() { tl "$@" >/dev/null; }

# tl_show T0 T1: the states the timeline went through, for the record
tl_show() { echo "    timeline (+ms from the start of the scenario):"; tl show "$@" | tail -n 30; }

# ---- setup ----

# az_setup DIRNAME: AZ_DIR (a temp dir named after DIRNAME), the namespaces, the cluster (db-a primary,
# table app.t), named, the three sentinels (healthy with db-a) and the checker; checks (lib.sh) for the
# two setup conditions; exits 77 when namespaces cannot be made, 1 on any other failure
az_setup() {
  local z i rc opts=() t0_setup
  t0_setup=$(date +%s%N)
  AZ_DIR=$(mktemp -d "${TMPDIR:-/tmp}/$1.XXXXXX") || exit 1
  netns_up; rc=$?
  if [ "$rc" -eq 77 ]; then echo "$AZ_NAME: cannot create network namespaces; skipped"; exit 77; fi
  [ "$rc" -eq 0 ] || { echo "FAIL: the namespaces could not be set up"; exit 1; }

  for z in "${ZONES[@]}"; do
    i=${IDX[$z]}
    export "MDB_PREFIX_FOR_$i=ip netns exec ${NS[$z]}" "MDB_BIND_FOR_$i=$(db_addr "$z")" "MDB_PORT_FOR_$i=$DB_PORT"
  done
  # A replica whose IO thread still says Yes counts against ODOWN (SPEC 5.2). Behind a partition (no
  # RST) that thread says Yes until slave_net_timeout passes without a packet: MariaDB's default of
  # 60 s held off the failover of test-partition's [2] for about 43 s. 2 s (heartbeats every 1 s) lets
  # the replicas notice within a scenario's time; AZ_SLAVE_NET_TIMEOUT='' keeps the server's default.
  [ -z "${AZ_SLAVE_NET_TIMEOUT-2}" ] || opts=(--opt "--slave-net-timeout=${AZ_SLAVE_NET_TIMEOUT-2}")
  MDB_QUIET=1 mdb_cluster_up 3 --semisync --dir "$AZ_DIR/mdb" "${opts[@]}" || { echo "FAIL: the cluster did not come up"; exit 1; }
  NAMED_BIND=$AZ_NET.0.1 NAMED_PREFIX="ip netns exec $NS_BR" NAMED_QUIET=1 named_up --dir "$AZ_DIR/named" ||
    { echo "FAIL: named did not start"; exit 1; }
  DNS_NAME=primary.$NAMED_ZONE
  mdb_sql 1 "CREATE TABLE app.t (id INT AUTO_INCREMENT PRIMARY KEY, v INT)" || exit 1
  mdb_wait_replicated || exit 1

  write_secret "$AZ_DIR" peer.key "the-right-peer-secret-$RANDOM$RANDOM"
  for z in "${ZONES[@]}"; do write_conf "$z"; : >"$AZ_DIR/s-$z/sentinel.log"; done
  for z in "${ZONES[@]}"; do start "$z"; done

  ip netns exec "$NS_BR" python3 "$CHECKER" sample "$AZ_DIR/timeline" \
    --server "db-a=$MDB_SOCKET_1" --server "db-b=$MDB_SOCKET_2" --server "db-c=$MDB_SOCKET_3" \
    --dns "$NAMED_HOST:$NAMED_PORT" --name "$DNS_NAME" 2>"$AZ_DIR/checker.err" &
  CHECKER_PID=$!

  healthy db-a 20000; rc=$?
  check "setup: three sentinels healthy with db-a, every peer reachable, one epoch ($(views))" test "$rc" -eq 0
  mon_wait 5 az_samples 10
  mon_wait 5 az_writable_last_s
  check "setup: the checker samples, db-a writable" az_writable_last_s
  tl_show "$(head -n 2 "$AZ_DIR/timeline" | tail -n 1 | cut -d' ' -f1)" "$(now_ms)"
  echo "TIME: setup $(elapsed_s "$t0_setup") s"
  [ "$_fails" -eq 0 ] || { finish; exit 1; }
}

# az_samples N: the timeline has at least N samples
az_samples() { [ "$(grep -vc '^#' "$AZ_DIR/timeline" 2>/dev/null)" -ge "$1" ]; }
# az_writable_last_s: db-a writable in every sample of the last second (a sentinel that starts in the
# primary's zone holds it read-only until it hears a majority: sentinel/daemon-fence.c)
az_writable_last_s() { local t; t=$(now_ms); tl_q always db-a 0 $((t - 1000)) "$t"; }
