# The HTTP side of a sentinel under test (sourced by test-http*.sh after lib.sh; PY is the python3
# with prometheus_client, here the test's directory).
#
#   http_listen_add CONF   a free port below the harness's range (20000..32000) and the kernel's
#                          ephemeral one, set as sentinel.http_listen in CONF; BASE its URL
#   ht MODE ...            tests/integration/http-q.py against BASE (see there); hq: ht q
#   fetch_is PATH [METHOD] EXPR   EXPR (Python) over r = the fetch's JSON is true

http_listen_add() {
  HTTP_PORT=$(mon_free_port_in 12000 7000) || { echo "FAIL: no free port"; return 1; }
  BASE=http://127.0.0.1:$HTTP_PORT
  sed -i "s|^  state_dir = .*|&\n  http_listen = \"127.0.0.1:$HTTP_PORT\";|" "$1"
  grep -q "http_listen = \"127.0.0.1:$HTTP_PORT\"" "$1" || { echo "FAIL: cannot set http_listen in $1"; return 1; }
}

ht() { "$PY" "$here/http-q.py" "$BASE" "$@"; }
hq() { ht q "$@"; }
fetch_is() {
  local j path=$1 method=GET
  [ $# -lt 3 ] || { method=$2; shift; }
  j=$(ht fetch "$path" "$method") || return 1
  "$PY" -c 'import json, sys; r = json.loads(sys.argv[1]); sys.exit(0 if eval(sys.argv[2]) else 1)' "$j" "$2"
}
