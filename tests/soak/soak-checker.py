#!/usr/bin/env python3
"""The chaos soak's helper (tests/soak/soak.sh). The 50 ms sampler is tests/netns/partition-checker.py
(its `sample` mode writes the timeline this reads; its loader is reused here).

  soak-checker.py plan SEED COUNT
      COUNT lines "KIND HOLD_S PICK": the faults of a seed, in order (Python's random.Random(SEED),
      so a seed replays the same faults on any machine). PICK chooses the target among those the
      kind has at the time (a replica, a zone, a pair of zones).

  soak-checker.py fill HOST:PORT USER PASSWORD_FILE OUT
      Opens connections to HOST:PORT as USER until the server refuses one (or 2000 are open); writes
      "full N ERRNO MESSAGE" to OUT, then holds them until SIGTERM and closes them.

  soak-checker.py converge --ctl SENTINELCTL --sock Z=SOCKET... --timeline FILE --addr NAME=IP...
                           --since T_MS --limit-ms MS [--alive Z=PID...]
      Polls (every 100 ms, at most MS) until every sentinel shows the same epoch and primary, no run
      in progress, every peer reachable, and the timeline's last sample (taken after T_MS) has exactly
      one writable server, that primary, with the DNS name answering its address. Prints
      "ok MS PRIMARY EPOCH" (MS since T_MS), or "no MS LAST-STATE" and exits 1.

  soak-checker.py proc PID
      "FDS RSS_KIB" of a process: the fewest open fds of three looks 100 ms apart (a sentinelctl
      connection being served is not a leak), and VmRSS.

  soak-checker.py analyze DIR
      The end of a soak: reads DIR/faults.jsonl (one record per fault, written by soak.sh),
      DIR/timeline, DIR/s-*/state/audit.jsonl, DIR/writer.json, DIR/final.json; prints the fault
      table and the figures block; exit 1 when an invariant was violated.
"""
import ctypes
import importlib.util
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
_spec = importlib.util.spec_from_file_location("pchecker", os.path.join(HERE, "../netns/partition-checker.py"))
pchecker = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(pchecker)

KINDS = ["kill-primary", "kill-replica", "kill-sentinel", "isolate-az", "flap-link", "restart-named",
         "fill-connections"]
ER_CON_COUNT_ERROR = 1040


def plan(argv):
    rng = random.Random(int(argv[0]))
    for _ in range(int(argv[1])):
        print(rng.choice(KINDS), rng.randint(1, 8), rng.randrange(1 << 30))
    return 0


def fill(argv):
    (host, port), user, pwfile, out = argv[0].rsplit(":", 1), argv[1], argv[2], argv[3]
    password = open(pwfile).read().strip().encode()
    pchecker.Server.load()
    lib = pchecker.Server.lib
    lib.mysql_errno.restype = ctypes.c_uint
    lib.mysql_errno.argtypes = [ctypes.c_void_p]
    lib.mysql_error.restype = ctypes.c_char_p
    lib.mysql_error.argtypes = [ctypes.c_void_p]
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    handles, err = [], (0, "")
    two = ctypes.c_uint(2)
    while len(handles) < 2000 and not stop:
        h = lib.mysql_init(None)
        for opt in (pchecker.MYSQL_OPT_CONNECT_TIMEOUT, pchecker.MYSQL_OPT_READ_TIMEOUT):
            lib.mysql_options(h, opt, ctypes.byref(two))
        if not lib.mysql_real_connect(h, host.encode(), user.encode(), password, None, int(port), None, 0):
            err = (lib.mysql_errno(h), (lib.mysql_error(h) or b"").decode(errors="replace"))
            lib.mysql_close(h)
            break
        handles.append(h)
    with open(out + ".tmp", "w") as f:
        f.write("full %d %d %s\n" % (len(handles), err[0], err[1]))
    os.rename(out + ".tmp", out)
    while not stop:
        time.sleep(0.05)
    for h in handles:
        lib.mysql_close(h)
    return 0


def status(ctl, sock):
    try:
        p = subprocess.run([ctl, "-s", sock, "status", "--json"], capture_output=True, text=True, timeout=3)
    except subprocess.TimeoutExpired:
        return None, "sentinelctl timed out"
    if p.returncode != 0:
        return None, "exit %d %s" % (p.returncode, p.stderr.strip()[:120])
    try:
        return json.loads(p.stdout), None
    except ValueError as e:
        return None, "bad JSON %s" % e


def last_sample(path):
    last = None
    names = []
    with open(path) as f:
        for line in f:
            p = line.split()
            if not p:
                continue
            if p[0] == "#":
                names = p[2:-1]
            elif len(p) == len(names) + 2:
                last = (int(p[0]), dict(zip(names, p[1:-1])), p[-1])
    return last


def opts(argv):
    o, i = {}, 0
    while i < len(argv):
        o.setdefault(argv[i].lstrip("-"), []).append(argv[i + 1])
        i += 2
    return o


def converge(argv):
    o = opts(argv)
    ctl, tlfile = o["ctl"][0], o["timeline"][0]
    socks = dict(x.split("=", 1) for x in o.get("sock", []))
    addr = dict(x.split("=", 1) for x in o.get("addr", []))
    since, limit = int(o["since"][0]), int(o["limit-ms"][0])
    deadline = time.monotonic() + limit / 1000
    last = "nothing yet"
    while True:
        views, why = set(), []
        for z, s in sorted(socks.items()):
            d, err = status(ctl, s)
            if d is None:
                why.append("s-%s: %s" % (z, err))
                continue
            c = (d.get("clusters") or [{}])[0]
            views.add((c.get("primary"), c.get("epoch")))
            if c.get("state") in ("failover", "switchover"):
                why.append("s-%s: %s" % (z, c.get("state")))
            down = [p["name"] for p in d["sentinel"]["peers"] if not p.get("reachable")]
            if down:
                why.append("s-%s: peers unreachable %s" % (z, ",".join(down)))
        if len(views) != 1:
            why.append("views %s" % " ".join("%s@%s" % v for v in sorted(views, key=str)))
        s = last_sample(tlfile)
        prim = next(iter(views))[0] if len(views) == 1 else None
        if not s or s[0] <= since:
            why.append("no sample yet")
        else:
            w = [n for n, v in s[1].items() if v == "0"]
            if w != [prim]:
                why.append("writable %s" % (",".join(w) or "none"))
            if prim and s[2] != addr.get(prim):
                why.append("dns %s" % s[2])
        ms = int(time.time() * 1000) - since
        if not why:
            print("ok %d %s %s" % (ms, prim, next(iter(views))[1]))
            return 0
        last = "; ".join(why)
        if time.monotonic() >= deadline:
            print("no %d %s" % (ms, last))
            return 1
        time.sleep(0.1)


def proc(argv):
    pid = argv[0]
    fds = []
    for k in range(3):
        try:
            fds.append(len(os.listdir("/proc/%s/fd" % pid)))
        except OSError:
            pass
        if k < 2:
            time.sleep(0.1)
    rss = "-"
    try:
        for line in open("/proc/%s/status" % pid):
            if line.startswith("VmRSS:"):
                rss = line.split()[1]
    except OSError:
        pass
    print("%s %s" % (min(fds) if fds else "-", rss))
    return 0


# ---- analyze ----

RSS_MARGIN_KIB = 4096     # absolute ...
RSS_MARGIN_FRAC = 0.25    # ... or relative, whichever is larger
FD_MARGIN = 2
# Connections to one server a sentinel may hold: its probe's, and the server actions it keeps for
# reuse once used: the reconciler's per server and its observer (sentinel/daemon-reconcile.c), the
# self-fence's (sentinel/daemon-fence.c). Opened lazily, so they appear after the baseline.
DB_CONNS_MAX = 4


def promotions(d):
    """Every successful failover-run or switchover-run over the three audit logs: (zone, epoch, old, new, kind)."""
    out = []
    for z in "abc":
        try:
            lines = open("%s/s-%s/state/audit.jsonl" % (d, z)).read().splitlines()
        except OSError:
            continue
        for l in lines:
            try:
                r = json.loads(l)
            except ValueError:
                continue
            if r.get("decision") not in ("failover-run", "switchover-run"):
                continue
            run = (r.get("inputs") or {}).get("run") or {}
            if run.get("result") in ("ok", "degraded"):
                out.append((z, run.get("epoch", r.get("epoch")), run.get("old_primary"), run.get("new_primary"),
                            r["decision"]))
    return sorted(out, key=lambda p: (p[1] is None, p[1] or 0, p[0]))


def fd_kinds(path):
    """The fds of one fds-*.txt dump (soak.sh's fd_dump) by kind: non-socket targets, and sockets by
    protocol, state and the other end (a peer's connection to our port 26400: by its address only)."""
    kinds = {}
    try:
        lines = open(path).read().splitlines()
    except OSError:
        return kinds
    for l in lines:
        p = l.split()
        if len(p) == 2 and not p[1].startswith("socket:"):
            k = p[1] if not p[1].startswith(("anon_inode:", "pipe:")) else p[1].split("[")[0]
        elif len(p) >= 6 and p[0] in ("tcp", "udp"):
            if p[5].endswith(":*"):
                k = "%s %s %s" % (p[0], p[1], p[4])                       # listening, or unconnected UDP
            elif p[4].endswith(":26400"):
                k = "%s %s in from %s" % (p[0], p[1], p[5].rsplit(":", 1)[0])  # a peer's connection to us
            else:
                k = "%s %s to %s" % (p[0], p[1], p[5])
        else:
            continue
        kinds[k] = kinds.get(k, 0) + 1
    return kinds


def db_connections(sdir):
    """(excused, over): the connections to servers (port 3306) a sentinel opened since its baseline up
    to DB_CONNS_MAX per server, which are not a leak; and the servers it has more than that to."""
    def per_server(path):
        return {k.split(" to ", 1)[1]: n for k, n in fd_kinds(path).items()
                if " to " in k and k.endswith(":3306") and k.startswith("tcp ESTAB")}
    a, b = per_server(os.path.join(sdir, "fds-start.txt")), per_server(os.path.join(sdir, "fds-end.txt"))
    excused = sum(max(0, min(n, DB_CONNS_MAX) - a.get(srv, 0)) for srv, n in b.items())
    return excused, ["%d to %s" % (n, srv) for srv, n in sorted(b.items()) if n > DB_CONNS_MAX]


def fd_growth(sdir):
    """What a sentinel has more of at the end than at its baseline (from the fds-*.txt dumps)."""
    a, b = fd_kinds(os.path.join(sdir, "fds-start.txt")), fd_kinds(os.path.join(sdir, "fds-end.txt"))
    more = ["%+d %s" % (b.get(k, 0) - a.get(k, 0), k) for k in sorted(set(a) | set(b)) if b.get(k, 0) != a.get(k, 0)]
    return "; ".join(more) or "no difference by kind"


def analyze(argv):
    d = argv[0]
    faults = [json.loads(l) for l in open(os.path.join(d, "faults.jsonl")) if l.strip()]
    final = json.load(open(os.path.join(d, "final.json")))
    try:
        w = json.load(open(os.path.join(d, "writer.json")))
    except (OSError, ValueError):
        w = {}
    w0 = final["writer_t0_ms"]
    gaps = [(w0 + g["start_ms"], w0 + g["start_ms"] + g["gap_ms"]) for g in w.get("gaps", [])]
    names, rows = pchecker.load(os.path.join(d, "timeline"), final["t_start_ms"], final["t_end_ms"])
    violations = list(final.get("violations", []))

    # never two writable servers in one sample
    two = [r for r in rows if sum(1 for n in names if r[1][n] == "0") >= 2]
    if two:
        violations.append("two writable servers in %d sample(s), first at t+%.1f s: %s" % (
            len(two), (two[0][0] - final["t_start_ms"]) / 1000, pchecker.fmt(names, two[0])))

    # at most one promotion per epoch, across the three audit logs
    promos = promotions(d)
    by_epoch = {}
    for p in promos:
        by_epoch.setdefault(p[1], []).append(p)
    for e, ps in sorted(by_epoch.items(), key=lambda x: (x[0] is None, x[0])):
        if len(ps) > 1:
            violations.append("%d promotions in epoch %s: %s" % (len(ps), e, "; ".join(
                "s-%s %s %s->%s" % (z, k, o, n) for z, _, o, n, k in ps)))

    # per fault: convergence, failovers, unavailability
    def nowrite_ms(t0, t1):
        """The longest run of samples in [t0, t1] with no writable server (ms)."""
        best, start = 0, None
        for r in rows:
            if r[0] < t0 or r[0] > t1:
                continue
            none = not any(r[1][n] == "0" for n in names)
            if none and start is None:
                start = r[0]
            if not none and start is not None:
                best, start = max(best, r[0] - start), None
        if start is not None:
            best = max(best, t1 - start)
        return best

    def writer_gap_ms(t0, t1):
        return max([b - a for a, b in gaps if b >= t0 and a <= t1] or [0])

    unavail = []
    print("fault timeline (t+s since the writer started; conv: ms from the heal until all agree; fo: failovers;"
          " gap: the writer's longest write gap in the fault's window; ro: longest time no server was writable):")
    t_first = final["t_start_ms"]
    for k, f in enumerate(faults, 1):
        t1 = f.get("t_settled") or f.get("t_converged") or f["t_heal"]
        f["gap"], f["ro"] = writer_gap_ms(f["t_inject"], t1), nowrite_ms(f["t_inject"], t1)
        print("  %3d t+%6.1f %-16s %-10s hold %d s, healed t+%.1f, conv %s, fo %d%s, gap %d ms, ro %d ms%s" % (
            k, (f["t_inject"] - t_first) / 1000, f["kind"], f["target"], f["hold"], (f["t_heal"] - t_first) / 1000,
            ("%d ms" % f["conv_ms"]) if f.get("converged") else "NOT (%s)" % f.get("conv_note", "?"),
            f["failovers"], (" (epoch %s)" % ",".join(map(str, f["epochs"]))) if f["epochs"] else "",
            f["gap"], f["ro"], ("  [%s]" % "; ".join(f["notes"])) if f.get("notes") else ""))
        if not f.get("converged"):
            violations.append("fault %d (%s %s): not converged within 10 s of the heal: %s" % (
                k, f["kind"], f["target"], f.get("conv_note", "?")))
        if f["kind"] == "fill-connections" and f["failovers"]:
            violations.append("fault %d: a failover of a primary that was only full (max_connections)" % k)
        if f["failovers"]:
            unavail.append((f["gap"], f["ro"]))
        for v in f.get("violations", []):
            violations.append("fault %d (%s %s): %s" % (k, f["kind"], f["target"], v))

    # the end: DNS on the final primary, every acked write there, the sentinels, fds and RSS
    if final.get("dns") != final.get("primary_addr"):
        violations.append("the name answers %s at the end, the final primary %s is %s" % (
            final.get("dns"), final.get("primary"), final.get("primary_addr")))
    lost = final.get("lost")
    if lost is None:
        violations.append("the acknowledged writes could not be verified: %s" % final.get("verify", "?"))
    elif lost:
        violations.append("%d acknowledged write(s) missing on the final primary %s (semi-sync on): %s" % (
            lost, final.get("primary"), final.get("verify", "")))
    res = []
    for z, r in sorted(final.get("resources", {}).items()):
        f0, f1, r0, r1 = r["fd0"], r["fd1"], r["rss0"], r["rss1"]
        res.append("s-%s %s fds %s->%s, RSS %s->%s KiB" % (z, r["since"], f0, f1, r0, r1))
        try:
            sdir = os.path.join(d, "s-%s" % z)
            excused, over = db_connections(sdir)
            if over:
                violations.append("s-%s: more than %d connections to one server at the end: %s" % (
                    z, DB_CONNS_MAX, "; ".join(over)))
            if int(f1) > int(f0) + FD_MARGIN + excused:
                violations.append("s-%s: open fds grew %s -> %s (more than +%d, +%d of them connections to servers"
                                  " within the bound): %s" % (z, f0, f1, FD_MARGIN + excused, excused, fd_growth(sdir)))
            elif excused:
                res[-1] += " (+%d server connection(s) kept for reuse)" % excused
            if int(r1) > int(r0) + max(RSS_MARGIN_KIB, int(int(r0) * RSS_MARGIN_FRAC)):
                violations.append("s-%s: RSS grew %s -> %s KiB (more than max(4 MiB, 25%%))" % (z, r0, r1))
        except ValueError:
            violations.append("s-%s: no fd/RSS figures (%s)" % (z, res[-1]))

    kinds = {}
    for f in faults:
        kinds[f["kind"]] = kinds.get(f["kind"], 0) + 1
    gaps_fo = sorted(u[0] for u in unavail)
    ro_fo = sorted(u[1] for u in unavail)
    print("")
    print("figures (seed %s, %d s of faults, %s):" % (final["seed"], final["duration"], final["mode"]))
    print("  faults injected:        %d (%s)" % (len(faults), ", ".join("%s %d" % (k, kinds[k]) for k in KINDS if k in kinds)))
    print("  failovers done:         %d (epochs %s)" % (len(promos), ",".join(str(p[1]) for p in promos) or "-"))
    print("  invariant violations:   %d" % len(violations))
    for v in violations:
        print("    - %s" % v)
    print("  acknowledged writes:    %s acked, %s lost (semi-sync on, AFTER_SYNC, timeout %s ms); %s errors" % (
        w.get("acked", "?"), "?" if lost is None else lost, final.get("semisync_timeout_ms"), w.get("errors", "?")))
    if gaps_fo:
        print("  unavailability/failover: writer gap max %d ms, median %d ms; no writable server max %d ms, median %d ms (%d failovers)" % (
            gaps_fo[-1], statistics.median(gaps_fo), ro_fo[-1], statistics.median(ro_fo), len(gaps_fo)))
    else:
        print("  unavailability/failover: no failover")
    print("  writer longest gap:     %s ms overall" % w.get("max_gap_ms", "?"))
    for line in final.get("findings", []):
        print("  finding:                %s" % line)
    print("  sentinels:              %s" % "; ".join(res))
    print("  samples:                %d (every 50 ms)" % len(rows))
    print("  replay:                 tests/soak/soak.sh --seed %s --duration %s" % (final["seed"], final["duration"]))
    return 1 if violations else 0


def main():
    modes = {"plan": plan, "fill": fill, "converge": converge, "proc": proc, "analyze": analyze}
    if len(sys.argv) < 2 or sys.argv[1] not in modes:
        print(__doc__, file=sys.stderr)
        return 2
    return modes[sys.argv[1]](sys.argv[2:])


if __name__ == "__main__":
    sys.exit(main())
