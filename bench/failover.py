#!/usr/bin/env python3
"""Helper of bench/failover (see its header): the measuring loop around a kill -9, the audit log's
run records, and the final table. Python 3 standard library only; the database pollers are
persistent `mariadb` client processes fed one query per round over a pipe (no driver needed).

  failover.py measure --kill PID --old HOST --candidates HOST:PORT,... --client PATH
                      --user U --password-file F --dns SERVER:PORT --name NAME --acked FILE
                      [--timeout-s S] [--period-ms 5] [--dns-period-ms 10]
      polls every candidate's @@read_only, the DNS name's A records at the authoritative server,
      and the writer's acked file; after a baseline of 300 ms sends SIGKILL to PID and reports as
      JSON, in ms after the kill: dead (PID gone or a zombie), writable (first read_only=0 on a
      candidate, and which), dns (first answer naming a candidate's address), first_ack (the acked
      file grew, 2 ms or more after PID died: the writer's first commit acknowledged by the new
      primary); plus the poll periods actually achieved.
  failover.py run AUDIT DECISION KILL_EPOCH_S
      the last DECISION record (failover-run or switchover-run) of the audit log: its phases'
      durations, "after detection" (elect start -> end), and the time from the kill (wall clock,
      seconds; 0: none) to the start of the elect phase (detection), as JSON.
  failover.py peers KILL_EPOCH_S NAME=AUDIT...
      the peers setting: the same for the leader (the sentinel whose audit log has a successful
      failover-run record after the kill), plus from the leader's sdown and odown records (their
      1 ms timestamps) kill -> sdown and kill -> odown, odown -> elect start, the leader's votes
      (its failover-start record), and every sentinel's failed attempts after the kill (failed
      failover-run and election-lost records).
  failover.py table RESULTS.jsonl
      median and max of every metric per configuration, and the goal lines.
"""
import json
import os
import random
import select
import signal
import socket
import statistics
import struct
import subprocess
import sys
import time

PHASES = ["detect", "elect", "pre-hooks", "fence", "select", "catch-up", "promote", "endpoints",
          "repoint-replicas"]


# ---- DNS: one A query, no recursion, parsed by hand --------------------------------------------

def dns_query(name, qid):
    hdr = struct.pack(">HHHHHH", qid, 0, 1, 0, 0, 0)
    q = b"".join(bytes([len(p)]) + p.encode() for p in name.rstrip(".").split(".")) + b"\0"
    return hdr + q + struct.pack(">HH", 1, 1)


def dns_skip_name(buf, off):
    while True:
        n = buf[off]
        if n == 0:
            return off + 1
        if n & 0xC0 == 0xC0:
            return off + 2
        off += 1 + n


def dns_answer(buf):
    """(id, [IPv4 addresses]) of an answer, or None when it cannot be parsed."""
    try:
        qid, flags, qd, an, _, _ = struct.unpack(">HHHHHH", buf[:12])
        off = 12
        for _ in range(qd):
            off = dns_skip_name(buf, off) + 4
        out = []
        for _ in range(an):
            off = dns_skip_name(buf, off)
            rtype, _, _, rdlen = struct.unpack(">HHIH", buf[off:off + 10])
            off += 10
            if rtype == 1 and rdlen == 4:
                out.append(socket.inet_ntoa(buf[off:off + 4]))
            off += rdlen
        return qid, out
    except (struct.error, IndexError):
        return None


# ---- database pollers ------------------------------------------------------------------------

class Poller:
    """One persistent `mariadb` client on a server: one SELECT per call, its answer one line."""

    def __init__(self, client, host, port, user, password):
        self.args = [client, "--no-defaults", "-h", host, "-P", str(port), "-u", user, "-N", "-B", "-n",
                     "--connect-timeout=2"]
        self.env = dict(os.environ, MYSQL_PWD=password)
        self.host, self.port, self.proc = host, port, None
        self.start()

    def start(self):
        self.stop()
        self.proc = subprocess.Popen(self.args, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.DEVNULL, env=self.env, bufsize=0)

    def read_only(self, timeout=0.5):
        """'0', '1', or None (no answer: the client is restarted)."""
        try:
            self.proc.stdin.write(b"SELECT @@global.read_only;\n")
            r, _, _ = select.select([self.proc.stdout], [], [], timeout)
            if r:
                line = self.proc.stdout.readline()
                if line:
                    return line.strip().decode()
        except (BrokenPipeError, OSError):
            pass
        self.start()
        return None

    def stop(self):
        if self.proc:
            try:
                self.proc.kill()
            except OSError:
                pass
            self.proc.wait()
            self.proc = None


def alive(pid):
    """The process exists and is not a zombie."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(") ", 1)[1][0] != "Z"
    except (OSError, IndexError):
        return False


def measure(argv):
    import argparse
    ap = argparse.ArgumentParser(prog="failover.py measure")
    ap.add_argument("--kill", type=int, required=True)
    ap.add_argument("--old", required=True)
    ap.add_argument("--candidates", required=True)
    ap.add_argument("--client", required=True)
    ap.add_argument("--user", required=True)
    ap.add_argument("--password-file", required=True)
    ap.add_argument("--dns", required=True)
    ap.add_argument("--name", required=True)
    ap.add_argument("--acked", required=True)
    ap.add_argument("--timeout-s", type=float, default=30)
    ap.add_argument("--period-ms", type=float, default=5)
    ap.add_argument("--dns-period-ms", type=float, default=10)
    a = ap.parse_args(argv)

    password = open(a.password_file).read().strip()
    cands = []
    for c in a.candidates.split(","):
        h, p = c.rsplit(":", 1)
        cands.append(Poller(a.client, h, int(p), a.user, password))
    cand_hosts = {c.host for c in cands}
    dhost, dport = a.dns.rsplit(":", 1)
    dsock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    dsock.connect((dhost, int(dport)))
    dsock.setblocking(False)

    res = {"kill_at": None, "writable_ms": None, "writable_server": None, "dns_ms": None, "dns_address": None,
           "first_ack_ms": None, "dead_ms": None, "baseline_dns": None, "baseline_read_only": None, "timed_out": False}
    periods, dns_rtts = [], []
    pending = {}
    last_dns = 0.0
    kill_at = None
    dead_at = None
    acked_size = None
    t_start = time.time()
    baseline_end = t_start + 0.3
    deadline = None
    last_round = None

    def cleanup():
        for c in cands:
            c.stop()
        dsock.close()

    signal.signal(signal.SIGTERM, lambda *_: (cleanup(), sys.exit(143)))
    try:
        while True:
            now = time.time()
            if last_round is not None and kill_at is not None:
                periods.append((now - last_round) * 1000)
            last_round = now
            # the candidates' read_only
            ro = []
            for c in cands:
                v = c.read_only()
                ro.append(v)
                if kill_at is not None and v == "0" and res["writable_ms"] is None:
                    res["writable_ms"] = (time.time() - kill_at) * 1000
                    res["writable_server"] = "%s:%s" % (c.host, c.port)
            if kill_at is None:
                res["baseline_read_only"] = ro
            # DNS: send every dns period, read whatever came back
            if now - last_dns >= a.dns_period_ms / 1000:
                qid = random.randrange(65536)
                pending[qid] = now
                try:
                    dsock.send(dns_query(a.name, qid))
                except OSError:
                    pass
                last_dns = now
            while True:
                try:
                    buf = dsock.recv(4096)
                except (BlockingIOError, ConnectionRefusedError, OSError):
                    break
                ans = dns_answer(buf)
                if not ans:
                    continue
                qid, addrs = ans
                sent = pending.pop(qid, None)
                if sent is None:
                    continue
                dns_rtts.append((time.time() - sent) * 1000)
                if kill_at is None:
                    res["baseline_dns"] = addrs
                elif res["dns_ms"] is None and sent >= kill_at and any(x in cand_hosts for x in addrs):
                    res["dns_ms"] = (time.time() - kill_at) * 1000
                    res["dns_address"] = addrs
            # the writer's acknowledgements
            try:
                size = os.stat(a.acked).st_size
            except OSError:
                size = 0
            if kill_at is not None and dead_at is None and not alive(a.kill):
                dead_at = time.time()
                res["dead_ms"] = (dead_at - kill_at) * 1000
            if dead_at is None or time.time() - dead_at < 0.002:
                acked_size = size  # an ack of the old primary, written as the kill landed
            elif size > acked_size and res["first_ack_ms"] is None:
                res["first_ack_ms"] = (time.time() - kill_at) * 1000
            # the kill, after the baseline
            if kill_at is None and time.time() >= baseline_end:
                kill_at = time.time()
                os.kill(a.kill, signal.SIGKILL)
                res["kill_at"] = kill_at
                deadline = kill_at + a.timeout_s
            if kill_at is not None and None not in (res["writable_ms"], res["dns_ms"], res["first_ack_ms"]):
                break
            if deadline is not None and time.time() >= deadline:
                res["timed_out"] = True
                break
            left = a.period_ms / 1000 - (time.time() - now)
            if left > 0:
                time.sleep(left)
    finally:
        cleanup()
    periods.sort()
    res["poll_period_ms"] = {"median": round(statistics.median(periods), 2) if periods else None,
                             "max": round(periods[-1], 2) if periods else None}
    res["dns_rtt_ms_median"] = round(statistics.median(dns_rtts), 2) if dns_rtts else None
    for k in ("writable_ms", "dns_ms", "first_ack_ms", "dead_ms"):
        if res[k] is not None:
            res[k] = round(res[k], 1)
    print(json.dumps(res))


# ---- the audit log's run record --------------------------------------------------------------

def read_audit(path):
    out = []
    for line in open(path):
        if line.strip():
            try:
                out.append(json.loads(line))
            except ValueError:
                pass  # a torn last line
    return out


def ts_epoch(rec):
    """An audit record's "ts" (RFC 3339, UTC, ms) in seconds since the epoch, or None."""
    import datetime
    try:
        t = datetime.datetime.strptime(rec["ts"], "%Y-%m-%dT%H:%M:%S.%fZ")
    except (KeyError, TypeError, ValueError):
        return None
    return t.replace(tzinfo=datetime.timezone.utc).timestamp()


def run_record(argv):
    path, decision, kill_at = argv[0], argv[1], float(argv[2])
    rec = None
    for r in read_audit(path):
        if r.get("decision") == decision:
            rec = r
    if rec is None:
        print(json.dumps({"error": "no %s record" % decision}))
        return
    print(json.dumps(run_fields(rec, kill_at)))


def run_ok(rec):
    return ((rec.get("inputs") or {}).get("run") or {}).get("result") in ("ok", "degraded")


def peers_record(argv):
    kill_at = float(argv[0])
    logs = {}
    for a in argv[1:]:
        name, path = a.split("=", 1)
        # the records written after the kill (1 ms timestamps: a little slack)
        logs[name] = [r for r in read_audit(path) if (ts_epoch(r) or 0) >= kill_at - 0.002]
    leader, rec = None, None
    for name, recs in logs.items():
        for r in recs:
            if r.get("decision") == "failover-run" and run_ok(r) and (rec is None or r.get("epoch", 0) > rec.get("epoch", 0)):
                leader, rec = name, r
    failed = ["%s epoch %s %s" % (name, r.get("epoch"), r.get("reason")) for name, recs in logs.items() for r in recs
              if (r.get("decision") == "failover-run" and not run_ok(r)) or r.get("decision") == "election-lost"]
    if rec is None:
        print(json.dumps({"error": "no successful failover-run record", "failed_attempts": len(failed), "failed": failed}))
        return
    out = run_fields(rec, kill_at)
    out.update({"leader": leader, "failed_attempts": len(failed), "failed": failed,
                "votes_granted": sum(1 for recs in logs.values() for r in recs if r.get("decision") == "vote-granted"
                                     and r.get("epoch") == rec.get("epoch")),
                "votes_denied": sum(1 for recs in logs.values() for r in recs if r.get("decision") == "vote-denied")})
    lrecs = logs[leader]
    for r in lrecs:
        if r.get("decision") == "failover-start" and r.get("epoch") == rec.get("epoch"):
            out["votes"] = (r.get("inputs") or {}).get("votes")
    for ev in ("sdown", "odown"):
        # sdown names its server, odown the primary as old_primary
        first = next((r for r in lrecs if r.get("decision") == ev and
                      (r.get("inputs") or {}).get("server" if ev == "sdown" else "old_primary") ==
                      rec["inputs"]["run"].get("old_primary")), None)
        if first is not None and kill_at > 0:
            out["kill_to_%s_ms" % ev] = round((ts_epoch(first) - kill_at) * 1000, 1)
    if out.get("kill_to_elect_ms") is not None and out.get("kill_to_odown_ms") is not None:
        out["odown_to_elect_ms"] = round(out["kill_to_elect_ms"] - out["kill_to_odown_ms"], 1)
    print(json.dumps(out))


def run_fields(rec, kill_at):
    run = rec["inputs"]["run"]
    out = {"epoch": rec.get("epoch"), "result": run.get("result"), "reason": run.get("reason"),
           "old_primary": run.get("old_primary"), "new_primary": run.get("new_primary"),
           "lossy": run.get("lossy"), "phases": {}}
    elect = None
    for p in run.get("phases", []):
        if p.get("duration_ms") is not None:
            out["phases"][p["phase"]] = float(p["duration_ms"])
        if p["phase"] == "elect":
            elect = p
    if elect and run.get("ended_usec"):
        out["after_detection_ms"] = (run["ended_usec"] - elect["start_usec"]) / 1000
        if kill_at > 0 and run.get("started_realtime_usec"):
            elect_rt = (run["started_realtime_usec"] + elect["start_usec"] - run["started_usec"]) / 1e6
            out["kill_to_elect_ms"] = (elect_rt - kill_at) * 1000
    return out


# ---- the table -------------------------------------------------------------------------------

def fmt(v):
    if v is None:
        return "-"
    if isinstance(v, int) or (abs(v) < 100 and float(v).is_integer() and not isinstance(v, float)):
        return "%d" % v
    return "%.0f" % v if abs(v) >= 100 else "%.1f" % v


def table(argv):
    rows = [json.loads(l) for l in open(argv[0]) if l.strip()]
    configs = []
    for r in rows:
        if r["config"] not in configs:
            configs.append(r["config"])
    goals = []
    for cfg in configs:
        fo = [r for r in rows if r["config"] == cfg and r["kind"] == "failover"]
        so = [r for r in rows if r["config"] == cfg and r["kind"] == "switchover"]
        print()
        print("== %s: %d failovers (kill -9 of the primary), %d switchovers ==" % (cfg, len(fo), len(so)))
        print("%-52s %9s %9s %9s   %s" % ("metric (ms unless said)", "median", "max", "min", "n"))

        def line(label, vals):
            vals = [v for v in vals if v is not None]
            if not vals:
                print("%-52s %9s %9s %9s   0" % (label, "-", "-", "-"))
                return None
            med = statistics.median(vals)
            if all(isinstance(v, int) for v in vals) and float(med).is_integer():
                med = int(med)
            print("%-52s %9s %9s %9s   %d" % (label, fmt(med), fmt(max(vals)), fmt(min(vals)), len(vals)))
            return statistics.median(vals)

        line("kill -> new primary writable (read_only=0)", [r.get("writable_ms") for r in fo])
        line("kill -> first write acked by the new primary", [r.get("first_ack_ms") for r in fo])
        line("kill -> DNS name answers the new primary", [r.get("dns_ms") for r in fo])
        line("kill -> elect starts (detection)", [r.get("kill_to_elect_ms") for r in fo])
        for p in PHASES:
            line("  phase %s" % p, [r.get("phases", {}).get(p) for r in fo])
        ad = line("after detection (elect start -> run end)", [r.get("after_detection_ms") for r in fo])
        elect = None
        if any("leader" in r for r in fo):
            line("kill -> sdown (the leader's record, 1 ms)", [r.get("kill_to_sdown_ms") for r in fo])
            line("kill -> odown (the leader's record, 1 ms)", [r.get("kill_to_odown_ms") for r in fo])
            line("odown -> elect starts (staggered start: 50 ms + interval per rank)", [r.get("odown_to_elect_ms") for r in fo])
            elect = line("election (phase elect: the vote round)", [r.get("phases", {}).get("elect") for r in fo])

            def share(r, key):
                e, t = r.get("phases", {}).get("elect"), r.get(key)
                return None if e is None or not t else 100 * e / t
            line("election's share of kill -> writable (%)", [share(r, "writable_ms") for r in fo])
            line("election's share of after detection (%)", [share(r, "after_detection_ms") for r in fo])
            line("votes the leader counted (of 3)", [r.get("votes") for r in fo])
            line("failed election attempts (all sentinels; count)", [r.get("failed_attempts") for r in fo])
            leaders = {}
            for r in fo:
                leaders[r.get("leader")] = leaders.get(r.get("leader"), 0) + 1
            print("leaders: %s" % ", ".join("%s x%d" % (k, v) for k, v in sorted(leaders.items(), key=str)))
        line("writer's longest write gap (failover)", [r.get("max_gap_ms") for r in fo])
        lost_fo = [r.get("lost") for r in fo]
        line("lost acknowledged writes (failover; count)", lost_fo)
        sgap = line("writer's longest write gap (switchover)", [r.get("max_gap_ms") for r in so])
        line("switchover: sentinelctl wall time", [r.get("wall_ms") for r in so])
        line("switchover: after detection (elect -> end)", [r.get("after_detection_ms") for r in so])
        lost_so = [r.get("lost") for r in so]
        line("lost acknowledged writes (switchover; count)", lost_so)
        bad = [r for r in fo + so if r.get("result") not in ("ok",)]
        if bad:
            print("runs not ok: %s" % "; ".join("%s #%s %s %s" % (r["kind"], r["run"], r.get("result"), r.get("reason"))
                                                 for r in bad))
        timed = [r for r in fo if r.get("timed_out")]
        if timed:
            print("measurements that timed out: %s" % ", ".join("#%s" % r["run"] for r in timed))
        lossy = [r for r in fo if r.get("lossy")]
        if lossy:
            print("runs the sentinel declared lossy: %s" % ", ".join("#%s" % r["run"] for r in lossy))
        all_lost = [v for v in lost_fo + lost_so if v is not None]
        goals.append("%-8s after detection <= 200 ms median: %s ms -> %s" % (
            cfg, fmt(ad), "MET" if ad is not None and ad <= 200 else "NOT MET"))
        if elect is not None:
            goals.append("%-8s election <= 50 ms median (issue 5): %s ms -> %s" % (
                cfg, fmt(elect), "MET" if elect <= 50 else "NOT MET"))
        if so:
            goals.append("%-8s switchover write gap <= 300 ms median: %s ms -> %s" % (
                cfg, fmt(sgap), "MET" if sgap is not None and sgap <= 300 else "NOT MET"))
        goals.append("%-8s lost acknowledged writes = 0: %d lost over %d runs -> %s" % (
            cfg, sum(all_lost), len(all_lost), "MET" if all_lost and sum(all_lost) == 0 else "NOT MET"))
    print()
    print("goals (issues 4 and 5; figures, not asserts):")
    for g in goals:
        print("  " + g)


def main():
    if len(sys.argv) < 2:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    cmd, argv = sys.argv[1], sys.argv[2:]
    if cmd == "measure":
        measure(argv)
    elif cmd == "run":
        run_record(argv)
    elif cmd == "peers":
        peers_record(argv)
    elif cmd == "table":
        table(argv)
    else:
        print("failover.py: unknown command %s" % cmd, file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
