#!/usr/bin/env python3
# The HTTP tests' client and Prometheus reader (test-http*.sh): python3 http-q.py BASE_URL MODE ...
#   fetch PATH [METHOD]   one request: prints {"status", "ctype", "allow", "body"} as JSON
#   poll PATH STATUS MS   fetches PATH every 20 ms until it answers STATUS: prints "MS BODY"; 1 on timeout
#   q MODE EXPR [MS [NOTE]]  EXPR (Python) over one /metrics scrape, parsed by prometheus_client:
#       m(NAME, **labels)  the value of the sample mariadb_sentinel_NAME whose labels include those
#                          (None when there is none); fams: the families by name; text: the raw text
#     get: print the value; true: 0 when true; wait: poll every 50 ms until true (print the ms; on
#     timeout print NOTE's last value and return 1)
import json, sys, time, urllib.error, urllib.request
from prometheus_client.parser import text_string_to_metric_families

base, mode = sys.argv[1], sys.argv[2]
args = sys.argv[3:]

def fetch(path, method="GET"):
    req = urllib.request.Request(base + path, method=method)
    try:
        with urllib.request.urlopen(req, timeout=5) as r:
            return r.status, r.headers.get("Content-Type"), r.headers.get("Allow"), r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get("Content-Type"), e.headers.get("Allow"), e.read().decode()

def scrape():
    status, ctype, _, text = fetch("/metrics")
    if status != 200:
        raise RuntimeError("/metrics answered %d" % status)
    fams = {f.name: f for f in text_string_to_metric_families(text)}
    def m(name, **labels):
        full = "mariadb_sentinel_" + name
        for f in fams.values():
            for s in f.samples:
                if s.name == full and all(s.labels.get(k) == v for k, v in labels.items()):
                    return s.value
        return None
    return {"m": m, "fams": fams, "text": text, "ctype": ctype}

def ev(expr):
    try:
        env = scrape()
        return True, eval(expr, dict(env))
    except Exception as x:
        return False, "%s: %s" % (type(x).__name__, x)

if mode == "fetch":
    st, ct, allow, body = fetch(args[0], args[1] if len(args) > 1 else "GET")
    print(json.dumps({"status": st, "ctype": ct, "allow": allow, "body": body}))
elif mode == "poll":
    t0, end = time.monotonic(), time.monotonic() + float(args[2]) / 1000
    while time.monotonic() < end:
        try:
            st, _, _, body = fetch(args[0])
        except Exception as x:
            st, body = None, str(x)
        if st == int(args[1]):
            print("%d %s" % ((time.monotonic() - t0) * 1000, body.strip())); sys.exit(0)
        time.sleep(0.02)
    print("not after %s ms; last: %s %s" % (args[2], st, body.strip())); sys.exit(1)
elif mode == "q":
    sub, expr = args[0], args[1]
    limit = float(args[2]) if len(args) > 2 and args[2] else 0
    note = args[3] if len(args) > 3 and args[3] else expr
    if sub in ("get", "true"):
        ok, v = ev(expr)
        if sub == "get":
            print(v if isinstance(v, str) else json.dumps(v)); sys.exit(0 if ok else 1)
        sys.exit(0 if ok and v else 1)
    t0, end = time.monotonic(), time.monotonic() + limit / 1000
    while True:
        ok, v = ev(expr)
        if ok and v:
            print("%d" % ((time.monotonic() - t0) * 1000)); sys.exit(0)
        if time.monotonic() >= end:
            break
        time.sleep(0.05)
    print("not after %d ms; last: %s" % (limit, ev(note)[1])); sys.exit(1)
