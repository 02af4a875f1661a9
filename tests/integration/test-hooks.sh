#!/usr/bin/env bash
# The shipped hooks (scripts/hooks/: pagerduty, webhook, email), each run as lib/io/hook.c runs it:
# its own process group, only the SPEC 6 environment (SENTINEL_*, PATH, LANG; plus the variable that
# names the test's settings file), the event's JSON on stdin. pagerduty and webhook POST to an HTTP
# receiver this test starts on 127.0.0.1, which records every request; the payloads are checked
# field by field (routing key, action, one dedup_key for a start/end pair, severity, summary; the
# webhook's text). A receiver that is down fails a hook at once; one that never answers fails it
# within its own timeout; neither prints a secret. email goes to a fake sendmail that records its
# arguments and stdin. Last, end to end: a sentinel runs the webhook hook on a harness cluster and
# the receiver gets the sdown of a killed replica.
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
. "$here/lib.sh"
# shellcheck source=../harness/mdb-harness.sh
. "$here/../harness/mdb-harness.sh"
mdb_trap_teardown

HOOKS=$SOURCE_ROOT/scripts/hooks
T=$(mktemp -d "${TMPDIR:-/tmp}/test-hooks.XXXXXX") || exit 1
PIDS=()
hk_cleanup() {
  local p
  for p in "${PIDS[@]}"; do kill -KILL "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
  rm -rf "$T"
}
mdb_on_exit hk_cleanup

for h in pagerduty webhook email; do
  check "scripts/hooks/$h is executable" test -x "$HOOKS/$h"
done
[ -x /usr/bin/python3 ] || { echo "FAIL: /usr/bin/python3 (the hooks' interpreter) is missing"; exit 1; }

# ---- the receiver: records each request as one JSON line {path, headers, body}; the answer depends
# on the path: /status/CODE[/...] answers CODE, /flaky answers 503 the first time and 202 after,
# /redirect answers 302; anything else 202 with PagerDuty's answer ----
cat >"$T/receiver.py" <<'PY'
import json, sys, threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
record, portfile = sys.argv[1:3]
lock = threading.Lock()
seen = set()
class H(BaseHTTPRequestHandler):
    def log_message(self, *a):
        pass
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode("utf-8", "replace")
        with lock:
            with open(record, "a") as f:
                f.write(json.dumps({"path": self.path, "headers": {k.lower(): v for k, v in self.headers.items()},
                                    "body": body}) + "\n")
            first = self.path not in seen
            seen.add(self.path)
        parts = self.path.split("/")
        code = 202
        if len(parts) > 2 and parts[1] == "status":
            code = int(parts[2])
        elif self.path == "/flaky" and first:
            code = 503
        elif self.path == "/redirect":
            code = 302
        out = json.dumps({"status": "success" if code == 202 else "error", "message": "recorded"}).encode()
        self.send_response(code)
        if code == 302:
            self.send_header("Location", "http://127.0.0.1:1/elsewhere")
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)
s = ThreadingHTTPServer(("127.0.0.1", 0), H)
open(portfile + ".tmp", "w").write(str(s.server_address[1]))
import os; os.rename(portfile + ".tmp", portfile)
s.serve_forever()
PY
REC=$T/requests.jsonl
: >"$REC"
python3 "$T/receiver.py" "$REC" "$T/port" &
PIDS+=("$!")
# A peer that accepts connections and never answers (the kernel completes the handshake from the backlog).
python3 -c '
import os, socket, sys, time
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(16)
open(sys.argv[1] + ".tmp", "w").write(str(s.getsockname()[1])); os.rename(sys.argv[1] + ".tmp", sys.argv[1])
time.sleep(3600)' "$T/hole-port" &
PIDS+=("$!")
for _ in $(seq 100); do [ -s "$T/port" ] && [ -s "$T/hole-port" ] && break; sleep 0.05; done
PORT=$(cat "$T/port") HOLE=$(cat "$T/hole-port")
# A port nobody listens on: bound and closed again.
DOWN=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
URL=http://127.0.0.1:$PORT
check "the receiver listens on 127.0.0.1:$PORT, the black hole on $HOLE, nothing on $DOWN" test -n "$PORT" -a -n "$HOLE"

# ---- settings and secrets, as an operator would lay them out ----
mkdir -p "$T/etc" "$T/creds"
SETTINGS=$T/etc/hooks.env
PD_KEY=pdkey-$RANDOM$RANDOM$RANDOM
TOKEN=token-$RANDOM$RANDOM$RANDOM
write_secret "$T/etc" pagerduty.key "$PD_KEY"
write_secret "$T/etc" webhook.token "$TOKEN"
cat >"$SETTINGS" <<EOF
# the test's hooks.env
PAGERDUTY_URL=$URL/v2/enqueue
PAGERDUTY_ROUTING_KEY_FILE=pagerduty.key
WEBHOOK_URL="$URL/hook"
WEBHOOK_TOKEN_FILE=webhook.token
EMAIL_TO=ops@example.com, dba@example.com
EMAIL_FROM=mariadb-sentinel <sentinel@example.com>
SENDMAIL=$T/sendmail
EOF

# ---- running a hook as lib/io/hook.c does ----
# hookrun HOOK EVENT_JSON [VAR=VALUE...] [-- ARGS...]: EVENT_JSON is completed (cluster main, epoch 7,
# sentinel az-a in eu-west-2a, the event's severity, ...) into the document the sentinel sends; the
# hook gets it on stdin, the SENTINEL_* variables built from it (hook-event.c), PATH and LANG, the
# extra VAR=VALUEs (MARIADB_SENTINEL_HOOKS_ENV=$SETTINGS unless given), its own session. Sets OUT,
# ERR, RC, MS (elapsed) and DOC (the document sent).
cat >"$T/hookrun.py" <<'PY'
import json, os, subprocess, sys, time
hook, spec, outdir = sys.argv[1], json.loads(sys.argv[2]), sys.argv[3]
rest = sys.argv[4:]
extra, args = {}, []
if "--" in rest:
    args = rest[rest.index("--") + 1:]
    rest = rest[:rest.index("--")]
for a in rest:
    k, v = a.split("=", 1)
    extra[k] = v
severity = {"sdown": "warning", "sdown-cleared": "info", "odown": "critical", "failover-start": "critical",
            "failover-end": "warning", "failover-failed": "critical", "switchover-start": "info",
            "switchover-end": "info", "errant": "warning", "peer-down": "warning", "peer-up": "info",
            "endpoint-failed": "critical", "endpoint-updated": "info"}
none = {"name": None, "host": None, "port": None}
doc = {"event": spec["event"], "cluster": "main", "epoch": 7, "severity": severity.get(spec["event"], "critical"),
       "sentinel": {"name": "az-a", "zone": "eu-west-2a"}, "old_primary": none, "new_primary": none,
       "message": "something happened", "at": "2026-11-29T03:41:07.123Z", "details": {}}
doc.update(spec)
def server(s):
    if not s.get("host"):
        return s.get("name") or ""
    addr = "%s:%s" % (s["host"], s["port"]) if s.get("port") else s["host"]
    return "%s %s" % (s["name"], addr) if s.get("name") else addr
env = {"SENTINEL_EVENT": doc["event"], "SENTINEL_CLUSTER": doc["cluster"], "SENTINEL_EPOCH": str(doc["epoch"]),
       "SENTINEL_SEVERITY": doc["severity"], "SENTINEL_NAME": doc["sentinel"]["name"],
       "SENTINEL_ZONE": doc["sentinel"]["zone"], "SENTINEL_OLD_PRIMARY": server(doc["old_primary"]),
       "SENTINEL_NEW_PRIMARY": server(doc["new_primary"]), "SENTINEL_MESSAGE": doc["message"],
       "PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8"}
env.update(extra)
t0 = time.monotonic()
p = subprocess.run([hook] + args, input=(json.dumps(doc) + "\n").encode(), env=env, cwd="/",
                   capture_output=True, start_new_session=True, timeout=60)
ms = int((time.monotonic() - t0) * 1000)
for name, data in (("out", p.stdout), ("err", p.stderr)):
    open(os.path.join(outdir, name), "wb").write(data)
    open(os.path.join(outdir, "all-output"), "ab").write(data)
open(os.path.join(outdir, "doc"), "w").write(json.dumps(doc))
print(p.returncode, ms)
PY
hookrun() {
  local hook=$1 spec=$2 res
  shift 2
  [[ " $* " == *" MARIADB_SENTINEL_HOOKS_ENV="* ]] || set -- "MARIADB_SENTINEL_HOOKS_ENV=$SETTINGS" "$@"
  res=$(python3 "$T/hookrun.py" "$HOOKS/$hook" "$spec" "$T" "$@") || { RC=255 MS=0 OUT='' ERR='hookrun failed'; return; }
  read -r RC MS <<<"$res"
  OUT=$(cat "$T/out") ERR=$(cat "$T/err") DOC=$(cat "$T/doc")
  echo "    $hook $(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["event"])' "$spec"): exit $RC after $MS ms: ${OUT}${ERR}"
}
# req EXPR: EXPR (Python) over the last request recorded: r (path, headers), b (its body, parsed), d (DOC)
req() {
  python3 -c '
import json, sys
lines = open(sys.argv[1]).read().splitlines()
r = json.loads(lines[-1]) if lines else {"path": None, "headers": {}, "body": "null"}
b, d = json.loads(r["body"]), json.loads(sys.argv[3])
sys.exit(0 if eval(sys.argv[2]) else 1)' "$REC" "$1" "$DOC"
}
# reqget EXPR: print EXPR over the last request
reqget() {
  python3 -c '
import json, sys
r = json.loads(open(sys.argv[1]).read().splitlines()[-1]); b = json.loads(r["body"])
v = eval(sys.argv[2]); print(v if isinstance(v, str) else json.dumps(v))' "$REC" "$1"
}
nreq() { wc -l <"$REC"; }
# A hook's start-up and exit on top of its timeout, generous for a loaded machine (parallel tests, ASan).
SLACK_MS=1000
one_line() { [ -n "$1" ] && [ "$(wc -l <<<"$1")" -eq 1 ]; }

MSG='primary db-1 (10.0.0.1:3306) is down: failing over to db-2'
OLD='"old_primary": {"name": "db-1", "host": "10.0.0.1", "port": 3306}'
NEW='"new_primary": {"name": "db-2", "host": "10.0.0.2", "port": 3306}'

# ---- 1. pagerduty: a failover-start triggers, its failover-end resolves the same alert ----
hookrun pagerduty "{\"event\": \"failover-start\", \"message\": \"$MSG\", $OLD, $NEW}"
check "pagerduty failover-start: exit 0" test "$RC" -eq 0
check "...one line on stdout naming the action and the key: $OUT" one_line "$OUT"
check "...POST to /v2/enqueue as JSON" req 'r["path"] == "/v2/enqueue" and r["headers"]["content-type"] == "application/json"'
check "...routing_key is the key file's content" req "b['routing_key'] == '$PD_KEY'"
check "...event_action trigger ($(reqget 'b["event_action"]'))" req 'b["event_action"] == "trigger"'
check "...dedup_key mariadb-sentinel/main/failover ($(reqget 'b["dedup_key"]'))" req 'b["dedup_key"] == "mariadb-sentinel/main/failover"'
check "...severity critical" req 'b["payload"]["severity"] == "critical"'
check "...summary [main] failover-start: the message ($(reqget 'b["payload"]["summary"]'))" \
  req "b['payload']['summary'] == '[main] failover-start: $MSG'"
check "...source az-a/eu-west-2a, group main, class failover-start, component db-1" \
  req 'b["payload"]["source"] == "az-a/eu-west-2a" and b["payload"]["group"] == "main" and b["payload"]["class"] == "failover-start" and b["payload"]["component"] == "db-1"'
check "...timestamp is the event's" req 'b["payload"]["timestamp"] == d["at"]'
check "...custom_details is the event's JSON from stdin, unchanged" req 'b["payload"]["custom_details"] == d'
start_key=$(reqget 'b["dedup_key"]')
hookrun pagerduty "{\"event\": \"failover-end\", \"message\": \"failover of main done: db-2 is the primary\", $OLD, $NEW}"
check "pagerduty failover-end: exit 0" test "$RC" -eq 0
check "...event_action resolve ($(reqget 'b["event_action"]'))" req 'b["event_action"] == "resolve"'
check "...the same dedup_key as the failover-start ($start_key)" req "b['dedup_key'] == '$start_key'"
check "...routing_key set, no payload (a resolve needs none)" req "b['routing_key'] == '$PD_KEY' and 'payload' not in b"
hookrun pagerduty "{\"event\": \"failover-failed\", \"message\": \"failover of main failed in promote\", $OLD}"
check "pagerduty failover-failed: trigger, same key (the alert stays open)" \
  req "b['event_action'] == 'trigger' and b['dedup_key'] == '$start_key' and b['payload']['severity'] == 'critical'"

# ---- 2. pagerduty: sdown/sdown-cleared, switchover, an unpaired event ----
hookrun pagerduty '{"event": "sdown", "message": "replica db-2 (10.0.0.2:3306) is down for this sentinel", "details": {"server": "db-2"}}'
check "pagerduty sdown: trigger, severity warning, key .../sdown/db-2/az-a ($(reqget 'b["dedup_key"]'))" \
  req 'b["event_action"] == "trigger" and b["payload"]["severity"] == "warning" and b["dedup_key"] == "mariadb-sentinel/main/sdown/db-2/az-a" and b["payload"]["component"] == "db-2"'
hookrun pagerduty '{"event": "sdown-cleared", "message": "replica db-2 answers again", "details": {"server": "db-2"}}'
check "pagerduty sdown-cleared: resolve, the same key" \
  req 'b["event_action"] == "resolve" and b["dedup_key"] == "mariadb-sentinel/main/sdown/db-2/az-a"'
hookrun pagerduty "{\"event\": \"switchover-start\", \"message\": \"switchover to db-2\", $OLD, $NEW}"
check "pagerduty switchover-start: trigger, severity info, key .../switchover" \
  req 'b["event_action"] == "trigger" and b["payload"]["severity"] == "info" and b["dedup_key"] == "mariadb-sentinel/main/switchover"'
hookrun pagerduty '{"event": "switchover-end", "message": "switchover done"}'
check "pagerduty switchover-end: resolve, key .../switchover" \
  req 'b["event_action"] == "resolve" and b["dedup_key"] == "mariadb-sentinel/main/switchover"'
hookrun pagerduty '{"event": "peer-down", "message": "peer az-c silent", "details": {"peer": "az-c"}}'
check "pagerduty peer-down: trigger, key .../peer/az-c/az-a" req 'b["event_action"] == "trigger" and b["dedup_key"] == "mariadb-sentinel/main/peer/az-c/az-a"'
hookrun pagerduty '{"event": "endpoint-updated", "message": "dns endpoint (retried): primary.db. -> 10.0.0.2"}'
check "pagerduty endpoint-updated (retried, no details): resolve, key .../endpoint/dns" \
  req 'b["event_action"] == "resolve" and b["dedup_key"] == "mariadb-sentinel/main/endpoint/dns"'
hookrun pagerduty '{"event": "endpoint-updated", "message": "vip endpoint (retried): 10.0.0.9 on eth0", "details": {"endpoint": "vip", "index": 1, "duration_ms": 3, "retried": true}}'
check "pagerduty endpoint-updated (retried, with details): resolve, key .../endpoint/vip" \
  req 'b["event_action"] == "resolve" and b["dedup_key"] == "mariadb-sentinel/main/endpoint/vip"'
hookrun pagerduty '{"event": "errant", "epoch": 12, "message": "db-3 has errant transactions 0-3-5", "details": {"server": "db-3"}}'
check "pagerduty errant (no pair): trigger, key per event and epoch .../errant/db-3/12 ($(reqget 'b["dedup_key"]'))" \
  req 'b["event_action"] == "trigger" and b["dedup_key"] == "mariadb-sentinel/main/errant/db-3/12"'

# ---- 3. pagerduty: the routing key's file ----
write_secret "$T/creds" pagerduty.key "creds-$PD_KEY"
hookrun pagerduty '{"event": "odown"}' "CREDENTIALS_DIRECTORY=$T/creds"
check "a key in \$CREDENTIALS_DIRECTORY wins over the one beside the settings file" \
  req "b['routing_key'] == 'creds-$PD_KEY' and b['dedup_key'] == 'mariadb-sentinel/main/failover'"
chmod 0644 "$T/creds/pagerduty.key"
n=$(nreq)
hookrun pagerduty '{"event": "odown"}' "CREDENTIALS_DIRECTORY=$T/creds"
check "a key file readable by others: exit 2, nothing sent" test "$RC" -eq 2 -a "$(nreq)" -eq "$n"
check "...one line saying so: $ERR" mon_one_line "$ERR" "pagerduty: *pagerduty.key is accessible by group or others*chmod 0600*"
# A systemd credential on a file system with ACLs: owner root, mode 0400 plus an ACL entry for the
# service's user, which shows as mode 0440. That is private; an entry for another user is not.
# set_acl FILE UID: USER_OBJ r, USER(UID) r, GROUP_OBJ -, MASK r, OTHER -; prints the mode after
set_acl() {
  python3 -c '
import os, struct, sys
e = [(0x01, 4, 0xffffffff), (0x02, 4, int(sys.argv[2])), (0x04, 0, 0xffffffff), (0x10, 4, 0xffffffff), (0x20, 0, 0xffffffff)]
os.setxattr(sys.argv[1], "system.posix_acl_access", struct.pack("<I", 2) + b"".join(struct.pack("<HHI", *x) for x in e))
print("%04o" % (os.stat(sys.argv[1]).st_mode & 0o7777))' "$@" 2>/dev/null
}
chmod 0400 "$T/creds/pagerduty.key"
if mode=$(set_acl "$T/creds/pagerduty.key" "$(id -u)"); then
  hookrun pagerduty '{"event": "odown"}' "CREDENTIALS_DIRECTORY=$T/creds"
  check "a credential with systemd's ACL for this user (mode $mode): exit 0" test "$RC" -eq 0
  check "...and its key is the one sent" req "b['routing_key'] == 'creds-$PD_KEY'"
  mode=$(set_acl "$T/creds/pagerduty.key" "$(($(id -u) + 4711))")
  hookrun pagerduty '{"event": "odown"}' "CREDENTIALS_DIRECTORY=$T/creds"
  check "...an ACL that lets another user read it (mode $mode): exit 2: $ERR" \
    mon_one_line "$ERR" "pagerduty: *pagerduty.key is accessible by group or others (mode 0440)*"
else
  echo "    (no POSIX ACLs on $T: the credential ACL checks are not run)"
fi
n=$(nreq)
hookrun pagerduty '{"event": "odown"}' -- --routing-key-file "$T/nope.key"
check "a missing key file (--routing-key-file): exit 2, one line: $ERR" \
  test "$RC" -eq 2 -a "$(nreq)" -eq "$n" -a "$ERR" = "pagerduty: cannot open the PagerDuty routing key file $T/nope.key: No such file or directory"

# ---- 4. pagerduty: answers and failures ----
hookrun pagerduty '{"event": "odown"}' -- --url "$URL/status/400"
check "HTTP 400: exit 1, one line with the status: $ERR" \
  test "$RC" -eq 1 -a "${ERR#"pagerduty: POST $URL: HTTP 400 "}" != "$ERR" -a "$(wc -l <<<"$ERR")" -eq 1
n=$(nreq)
hookrun pagerduty '{"event": "odown"}' -- --url "$URL/flaky"
check "HTTP 503 then 202: retried once, exit 0 ($((  $(nreq) - n )) requests)" test "$RC" -eq 0 -a "$(( $(nreq) - n ))" -eq 2
hookrun pagerduty '{"event": "odown"}' "PAGERDUTY_URL=http://127.0.0.1:$DOWN/v2/enqueue"
check "receiver down (closed port $DOWN): exit 1 at once ($MS ms < $SLACK_MS)" test "$RC" -eq 1 -a "$MS" -lt "$SLACK_MS"
check "...one line: $ERR" test "$ERR" = "pagerduty: POST http://127.0.0.1:$DOWN: connection refused"
hookrun pagerduty '{"event": "odown"}' "PAGERDUTY_URL=http://127.0.0.1:$HOLE/v2/enqueue" PAGERDUTY_TIMEOUT_MS=1500
echo "    FIGURE: pagerduty against a receiver that never answers, PAGERDUTY_TIMEOUT_MS=1500: failed after $MS ms"
check "receiver never answers: exit 1 within its own timeout (1500 <= $MS ms < 1500 + $SLACK_MS slack)" \
  test "$RC" -eq 1 -a "$MS" -ge 1500 -a "$MS" -lt $((1500 + SLACK_MS))
check "...one line: $ERR" test "$ERR" = "pagerduty: timed out after 1500 ms: POST http://127.0.0.1:$HOLE: no answer"
hookrun pagerduty '{"event": "odown"}' "PAGERDUTY_URL=http://127.0.0.1:$HOLE/v2/enqueue"
echo "    FIGURE: the same with the default timeout: failed after $MS ms"
check "...with the default timeout: exit 1 after 5000 <= $MS ms < $((5000 + SLACK_MS)) (below the sentinel's default hook timeout, 10000)" \
  test "$RC" -eq 1 -a "$MS" -ge 5000 -a "$MS" -lt $((5000 + SLACK_MS))
hookrun pagerduty '{"event": "odown"}' "PAGERDUTY_URL=ftp://127.0.0.1/x"
check "a URL that is not http(s): exit 2: $ERR" test "$RC" -eq 2 -a "$ERR" = "pagerduty: PAGERDUTY_URL must be an http:// or https:// URL"
printf 'PAGERDUTY_ROUTNG_KEY_FILE=x\n' >"$T/etc/typo.env"
hookrun pagerduty '{"event": "odown"}' "MARIADB_SENTINEL_HOOKS_ENV=$T/etc/typo.env"
check "a misspelt setting: exit 2, FILE:LINE and a suggestion: $ERR" \
  test "$RC" -eq 2 -a "$ERR" = "pagerduty: $T/etc/typo.env:1: unknown setting PAGERDUTY_ROUTNG_KEY_FILE (did you mean PAGERDUTY_ROUTING_KEY_FILE?)"

# ---- 5. webhook ----
WMSG='replica db-3 <lagging> & "slow"'
hookrun webhook "{\"event\": \"failover-start\", \"message\": \"$MSG\", $OLD, $NEW}"
check "webhook failover-start: exit 0, one line: $OUT" test "$RC" -eq 0 -a "$OUT" = "webhook: failover-start main: accepted by $URL (HTTP 202)"
check "...POST to WEBHOOK_URL as JSON with the bearer token" \
  req "r['path'] == '/hook' and r['headers']['content-type'] == 'application/json' and r['headers']['authorization'] == 'Bearer $TOKEN'"
check "...text: $(reqget 'b["text"]')" \
  req "b['text'] == '[mariadb-sentinel] CRITICAL failover-start main: $MSG (sentinel az-a (eu-west-2a))'"
check "...every field of the event's JSON, unchanged, beside text" req '{k: v for k, v in b.items() if k != "text"} == d'
hookrun webhook "{\"event\": \"sdown\", \"message\": \"${WMSG//\"/\\\"}\", \"details\": {\"server\": \"db-3\"}}"
check "webhook sdown: text escapes &, <, > for Slack: $(reqget 'b["text"]')" \
  req 'b["text"] == "[mariadb-sentinel] WARNING sdown main: replica db-3 &lt;lagging&gt; &amp; \"slow\" (sentinel az-a (eu-west-2a))"'
check "...the message field stays raw" req "b['message'] == d['message'] and b['details'] == {'server': 'db-3'}"
hookrun webhook '{"event": "odown"}' -- --url "$URL/other"
check "--url wins over WEBHOOK_URL of the settings file" req 'r["path"] == "/other"'
write_secret "$T/creds" webhook.url "$URL/status/404/SeCrEtPaThToKeN"
printf 'WEBHOOK_URL_FILE=webhook.url\n' >"$T/etc/url-file.env"
hookrun webhook '{"event": "odown"}' "MARIADB_SENTINEL_HOOKS_ENV=$T/etc/url-file.env" "CREDENTIALS_DIRECTORY=$T/creds"
check "WEBHOOK_URL_FILE: the URL from the credential file is used" req 'r["path"] == "/status/404/SeCrEtPaThToKeN"'
check "...HTTP 404: exit 1, one line with the origin only, not the path: $ERR" \
  test "$RC" -eq 1 -a "$ERR" = "webhook: POST $URL: HTTP 404 Not Found: {\"status\": \"error\", \"message\": \"recorded\"}"
hookrun webhook '{"event": "odown"}' -- --url "$URL/redirect"
check "a redirect is not followed: exit 1: $ERR" \
  test "$RC" -eq 1 -a "$ERR" = "webhook: POST $URL: HTTP 302 Found: a redirect, not followed (use the final URL)"
hookrun webhook '{"event": "odown"}' "WEBHOOK_URL=http://127.0.0.1:$DOWN/x"
check "webhook, receiver down: exit 1 at once ($MS ms < $SLACK_MS): $ERR" \
  test "$RC" -eq 1 -a "$MS" -lt "$SLACK_MS" -a "$ERR" = "webhook: POST http://127.0.0.1:$DOWN: connection refused"
hookrun webhook '{"event": "odown"}' "WEBHOOK_URL=http://127.0.0.1:$HOLE/x" WEBHOOK_TIMEOUT_MS=1000
echo "    FIGURE: webhook against a receiver that never answers, WEBHOOK_TIMEOUT_MS=1000: failed after $MS ms"
check "webhook, receiver never answers: exit 1 within 1000 <= $MS ms < $((1000 + SLACK_MS)): $ERR" \
  test "$RC" -eq 1 -a "$MS" -ge 1000 -a "$MS" -lt $((1000 + SLACK_MS))
printf '# nothing\n' >"$T/etc/empty.env"
hookrun webhook '{"event": "odown"}' "MARIADB_SENTINEL_HOOKS_ENV=$T/etc/empty.env"
check "webhook without a URL: exit 2: $ERR" test "$RC" -eq 2 -a "${ERR#webhook: no URL: set WEBHOOK_URL or WEBHOOK_URL_FILE}" != "$ERR"

# ---- 6. email through a fake sendmail ----
cat >"$T/sendmail" <<EOF
#!/bin/sh
printf '%s\n' "\$*" >"$T/sendmail.args"
cat >"$T/sendmail.in"
case "\${FAKE_SENDMAIL:-}" in
fail) echo "sendmail: queue file write error"; exit 75 ;;
hang) echo \$\$ >"$T/sendmail.pid"; exec sleep 60 ;;
esac
EOF
chmod 0755 "$T/sendmail"
hookrun email "{\"event\": \"failover-start\", \"message\": \"$MSG\", $OLD, $NEW}"
check "email failover-start: exit 0, one line: $OUT" test "$RC" -eq 0 -a "$OUT" = "email: failover-start main: mailed to ops@example.com, dba@example.com"
check "...sendmail run as sendmail -t -oi ($(cat "$T/sendmail.args"))" test "$(cat "$T/sendmail.args")" = "-t -oi"
mail_is() {
  python3 -c '
import email, email.policy, json, sys
m = email.message_from_binary_file(open(sys.argv[1], "rb"), policy=email.policy.default)
d = json.loads(sys.argv[3]); body = m.get_content()
sys.exit(0 if eval(sys.argv[2]) else 1)' "$T/sendmail.in" "$1" "$DOC"
}
check "...To: both recipients" mail_is 'm["To"] == "ops@example.com, dba@example.com"'
check "...From: EMAIL_FROM" mail_is 'm["From"] == "mariadb-sentinel <sentinel@example.com>"'
check "...Subject: [mariadb-sentinel] failover-start main: the message" \
  mail_is "m['Subject'] == '[mariadb-sentinel] failover-start main: $MSG'"
check "...X-Mariadb-Sentinel-Event/-Cluster/-Severity headers" \
  mail_is 'm["X-Mariadb-Sentinel-Event"] == "failover-start" and m["X-Mariadb-Sentinel-Cluster"] == "main" and m["X-Mariadb-Sentinel-Severity"] == "critical"'
check "...the body starts with the message, names the sentinel and both primaries" \
  mail_is 'body.startswith(d["message"] + "\n") and "az-a (eu-west-2a)" in body and "db-1 10.0.0.1:3306" in body and "db-2 10.0.0.2:3306" in body'
check "...and ends with the event's JSON, unchanged" mail_is 'json.loads(body[body.index("\n{"):]) == d'
hookrun email '{"event": "sdown", "message": "'"$(printf 'x%.0s' $(seq 300))"'"}'
check "a long message is cut in the subject (at most 200 characters)" mail_is 'len(m["Subject"]) <= 200 and m["Subject"].endswith("\u2026")'
hookrun email '{"event": "odown"}' FAKE_SENDMAIL=fail
check "sendmail fails: exit 1, its status and first line: $ERR" \
  test "$RC" -eq 1 -a "$ERR" = "email: $T/sendmail exited with status 75: sendmail: queue file write error"
rm -f "$T/sendmail.pid"
hookrun email '{"event": "odown"}' FAKE_SENDMAIL=hang EMAIL_TIMEOUT_MS=1000
echo "    FIGURE: email with a sendmail that hangs, EMAIL_TIMEOUT_MS=1000: failed after $MS ms"
check "sendmail hangs: exit 1 within 1000 <= $MS ms < $((1000 + SLACK_MS)): $ERR" \
  test "$RC" -eq 1 -a "$MS" -ge 1000 -a "$MS" -lt $((1000 + SLACK_MS))
sendmail_gone() { ! _mon_alive "$(cat "$T/sendmail.pid")"; }   # killed: gone, or a zombie not yet reaped
check "...and the hung sendmail was killed" mon_wait 2 sendmail_gone
hookrun email '{"event": "odown"}' "MARIADB_SENTINEL_HOOKS_ENV=$T/etc/empty.env"
check "email without EMAIL_TO: exit 2: $ERR" test "$RC" -eq 2 -a "${ERR#email: no recipient}" != "$ERR"
hookrun email '{"event": "odown"}' "SENDMAIL=$T/no-sendmail"
check "no sendmail: exit 2: $ERR" test "$RC" -eq 2 -a "${ERR#"email: cannot run $T/no-sendmail: No such file or directory"}" != "$ERR"

# ---- 7. no secret in any output ----
check "no hook printed the routing key, the token or the secret URL's path (in $(wc -l <"$T/all-output") lines)" \
  eval '! grep -qE "$PD_KEY|$TOKEN|SeCrEtPaThToKeN" "$T/all-output"'

# ---- 8. end to end: a sentinel runs the webhook hook; a replica killed -> the receiver gets its sdown ----
# The sentinel passes hooks no settings (a clean environment): a wrapper, as a site would write one for
# a second receiver, sets WEBHOOK_URL and runs the shipped hook.
if [ ! -x "$SENTINEL" ] || [ ! -x "$SENTINELCTL" ]; then echo "FAIL: $SENTINEL or $SENTINELCTL is not built"; exit 1; fi
mdb_cluster_up 3 >/dev/null || exit 1
mon_init sentinel-hooks || exit 1
mon_notify_listen || exit 1
printf '#!/bin/sh\nexec /usr/bin/env WEBHOOK_URL=%s/e2e MARIADB_SENTINEL_HOOKS_ENV=%s %s/webhook\n' \
  "$URL" "$T/etc/empty.env" "$HOOKS" >"$MON_DIR/hook"
MON_AUTO=false mon_write_config demo
mon_start
check "the sentinel is ready" mon_wait 10 grep -qx 'READY=1' "$MON_NOTIFY"
mon_q wait 'c["state"] == "healthy"' 5000 >/dev/null
mon_require_alive "after its start"
e2e_got() {
  python3 -c '
import json, sys
for line in open(sys.argv[1]):
    r = json.loads(line)
    b = json.loads(r["body"])
    if r["path"] == "/e2e" and b.get("event") == sys.argv[2] and b.get("details", {}).get("server") == sys.argv[3] \
            and b.get("cluster") == "demo" and b["text"].startswith("[mariadb-sentinel] %s %s demo: " % (sys.argv[4], sys.argv[2])):
        sys.exit(0)
sys.exit(1)' "$REC" "$@"
}
t0=$(date +%s%N)
mdb_kill 2 KILL
check "kill -9 db-2: the receiver got the sentinel's sdown for db-2 through the webhook hook" mon_wait 10 e2e_got sdown db-2 WARNING
echo "    FIGURE: kill -9 of a replica to the webhook's POST: $((($(date +%s%N) - t0) / 1000000)) ms (down_after_ms 1000)"
hook_audited() {
  python3 -c '
import json, sys
for line in open(sys.argv[1]):
    r = json.loads(line)
    i = r.get("inputs") or {}
    if r.get("decision") == "hook" and i.get("event") == "sdown" and i.get("outcome") == "success" \
            and i.get("exit_status") == 0 and "sdown demo: accepted by" in (i.get("output_head") or ""):
        sys.exit(0)
sys.exit(1)' "$MON_AUDIT"
}
check "...and audited the hook: success, exit 0, its output line" mon_wait 5 hook_audited
mon_require_alive "after the replica's kill"
mon_finish
