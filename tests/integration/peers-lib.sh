# Three sentinels on 127.0.0.1 (sourced by test-peers*.sh): each with its own peer port, state dir and
# control socket, the same 0600 peer_secret_file, over one 3-server harness cluster (semi-sync),
# quorum 2. Needs lib.sh and tests/harness/mdb-harness.sh sourced and mdb_trap_teardown armed.
# Every sentinel is killed by PID in the exit trap, also on failure. PEERS_KEEP=DIR keeps a copy of
# the sentinels' directories (configs, logs, state, audit logs) at exit, for debugging.
#
#   peers_up NAME        the harness cluster, MON_DIR (mon_init NAME), three free ports, the secret
#                        MON_DIR/peer.key, cluster_block (cluster "main", quorum 2)
#   write_conf I KEY     MON_DIR/s-I/sentinel.conf with the secret file MON_DIR/KEY
#   start I / stop I     the daemon of s-I (stderr to MON_DIR/s-I/sentinel.log); stop: TERM, KILL after 10 s
#   q I MODE EXPR ...    mon_q against s-I
#   REACH                a Python expression: the sorted names of the peers a sentinel sees reachable

declare -A PID=()
# peers_cleanup (exit trap, before mon_cleanup removes MON_DIR): every sentinel by PID, logs on failure
peers_cleanup() {
  local i
  [ -z "${PEERS_KEEP:-}" ] || [ -z "${MON_DIR:-}" ] || cp -a "$MON_DIR" "$PEERS_KEEP"   # debugging: keep a copy
  for i in "${!PID[@]}"; do
    [ -n "${PID[$i]}" ] || continue
    kill -KILL "${PID[$i]}" 2>/dev/null; wait "${PID[$i]}" 2>/dev/null; PID[$i]=''
  done
  if [ -n "${MON_DIR:-}" ] && { [ -z "${MON_FINISHED:-}" ] || [ "${_fails:-0}" -gt 0 ]; }; then
    for i in 1 2 3; do
      echo "--- s-$i log (tail):"; tail -n 40 "$MON_DIR/s-$i/sentinel.log" 2>/dev/null | sed 's/^/    /'
      echo "--- s-$i audit (decisions):"
      python3 -c '
import json, sys
for l in open(sys.argv[1]):
    r = json.loads(l)
    print("    %s epoch=%s reason=%s" % (r.get("decision"), r.get("epoch"), r.get("reason")))' "$MON_DIR/s-$i/state/audit.jsonl" 2>/dev/null
    done
  fi
  true
}

# peers_up NAME: see the top
peers_up() {
  local p
  mdb_cluster_up 3 --semisync >/dev/null || return 1
  mdb_on_exit peers_cleanup   # registered first: runs before mon_cleanup removes MON_DIR
  mon_init "$1" || return 1
  ports=()
  for _ in 1 2 3; do
    p=$(mon_free_port "${ports[@]}") || { echo "FAIL: no free ports"; return 1; }
    ports+=("$p")
  done
  write_secret "$MON_DIR" peer.key "the-right-peer-secret"
  cluster_block=$(mon_cluster_block main | sed 's/quorum = 1;/quorum = 2;/')
}

# write_conf I KEYFILE
write_conf() {
  local i=$1 key=$2 j sep=''
  mkdir -p "$MON_DIR/s-$i"
  {
    printf 'sentinel = {\n  name = "s-%s";\n  zone = "zone-%s";\n  listen = "127.0.0.1:%s";\n' "$i" "$i" "${ports[$((i - 1))]}"
    printf '  control_socket = "%s";\n  state_dir = "%s";\n  peer_secret_file = "%s";\n  peers = (\n' \
      "$MON_DIR/s-$i/control.sock" "$MON_DIR/s-$i/state" "$MON_DIR/$key"
    for j in 1 2 3; do
      [ "$j" != "$i" ] || continue
      printf '%s    { name = "s-%s"; zone = "zone-%s"; address = "127.0.0.1:%s"; }' "$sep" "$j" "$j" "${ports[$((j - 1))]}"
      sep=$',\n'
    done
    printf '\n  );\n};\nclusters = (\n%s\n);\n' "$cluster_block"
  } >"$MON_DIR/s-$i/sentinel.conf"
}

# start I
start() {
  "$SENTINEL" --config "$MON_DIR/s-$1/sentinel.conf" 2>>"$MON_DIR/s-$1/sentinel.log" &
  PID[$1]=$!
}

# stop I: TERM, KILL after 10 s
stop() {
  local p=${PID[$1]}
  kill -TERM "$p" 2>/dev/null
  for _ in $(seq 200); do _mon_alive "$p" || break; sleep 0.05; done
  kill -KILL "$p" 2>/dev/null; wait "$p" 2>/dev/null
  PID[$1]=''
}

# q I MODE EXPR [LIMIT_MS]: mon_q against sentinel I
q() { local i=$1; shift; MON_SOCK=$MON_DIR/s-$i/control.sock MON_PID=${PID[$i]} mon_q "$@"; }

# reach I: the names of the peers sentinel I sees reachable, sorted, as Python expression
REACH='sorted(p["name"] for p in d["sentinel"]["peers"] if p["reachable"])'
