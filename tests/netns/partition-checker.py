#!/usr/bin/env python3
"""The partition tests' checker (tests/netns/test-partition.sh).

  partition-checker.py sample OUT --server NAME=SOCKET... [--dns HOST:PORT --name NAME] [--every-ms 50]
      Every 50 ms, one line appended to OUT (flushed):  T_MS V1 V2 ... DNS
      T_MS: wall clock, ms since the epoch; Vi for each --server in order: 0 writable
      (@@read_only = 0), 1 read-only, - no answer; DNS: the first A record the name has at the
      authoritative server (asked directly, no recursion), "nx" none, "-" no answer. The first line
      is "# t_ms NAME... dns". Each server is asked over its unix socket as the harness's admin
      (socket authentication), on one connection kept open (re-opened after any error) with 1 s
      connect and read timeouts: partitions made with nftables do not affect unix sockets, so the
      samples show what each server really does, however the network is cut. Runs until killed.

  partition-checker.py check OUT MODE ARGS...      asserts over the samples with T0 <= t <= T1
      never-two T0 T1            no sample with two or more writable servers
      always NAME VALUE T0 T1    NAME is VALUE in every sample (at least one sample)
      first NAME VALUE T0 [T1]   prints the ms from T0 to the first sample where NAME is VALUE
      became NAME VALUE T0 T1    prints how many times NAME turned VALUE (from another value)
      dns-first ADDR T0 [T1]     prints the ms from T0 to the first sample answering ADDR
      dns-stays ADDR T0 T1       from the first sample answering ADDR on, every answer is ADDR
      show T0 T1                 the distinct consecutive states, with when each began
  Exit 0 when the assertion holds, 1 when it does not (with the offending samples on stdout), 2 on
  usage errors. T0/T1 are ms since the epoch.
"""
import ctypes
import os
import random
import socket
import struct
import sys
import time

MYSQL_OPT_CONNECT_TIMEOUT = 0
MYSQL_OPT_READ_TIMEOUT = 11
MYSQL_OPT_WRITE_TIMEOUT = 12


class Server:
    """One server's @@read_only over its unix socket, via Connector/C (libmariadb) through ctypes."""

    lib = None

    @classmethod
    def load(cls):
        if cls.lib:
            return
        lib = ctypes.CDLL("libmariadb.so.3")
        vp = ctypes.c_void_p
        lib.mysql_init.restype = vp
        lib.mysql_init.argtypes = [vp]
        lib.mysql_options.restype = ctypes.c_int
        lib.mysql_options.argtypes = [vp, ctypes.c_int, vp]
        lib.mysql_real_connect.restype = vp
        lib.mysql_real_connect.argtypes = [vp, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p,
                                           ctypes.c_char_p, ctypes.c_uint, ctypes.c_char_p, ctypes.c_ulong]
        lib.mysql_query.restype = ctypes.c_int
        lib.mysql_query.argtypes = [vp, ctypes.c_char_p]
        lib.mysql_store_result.restype = vp
        lib.mysql_store_result.argtypes = [vp]
        lib.mysql_fetch_row.restype = ctypes.POINTER(ctypes.c_char_p)
        lib.mysql_fetch_row.argtypes = [vp]
        lib.mysql_free_result.argtypes = [vp]
        lib.mysql_close.argtypes = [vp]
        cls.lib = lib

    def __init__(self, name, sock, user):
        self.load()
        self.name, self.sock, self.user, self.h = name, sock.encode(), user.encode(), None

    def close(self):
        if self.h:
            self.lib.mysql_close(self.h)
            self.h = None

    def connect(self):
        lib = self.lib
        h = lib.mysql_init(None)
        if not h:
            return False
        one = ctypes.c_uint(1)
        for opt in (MYSQL_OPT_CONNECT_TIMEOUT, MYSQL_OPT_READ_TIMEOUT, MYSQL_OPT_WRITE_TIMEOUT):
            lib.mysql_options(h, opt, ctypes.byref(one))
        if not lib.mysql_real_connect(h, b"localhost", self.user, None, None, 0, self.sock, 0):
            lib.mysql_close(h)
            return False
        self.h = h
        return True

    def read_only(self):
        """'0', '1', or '-' when the server does not answer."""
        if not os.path.exists(self.sock):
            self.close()
            return "-"
        for _ in range(2):  # a connection broken since the last sample gets one fresh try
            if not self.h and not self.connect():
                return "-"
            if self.lib.mysql_query(self.h, b"SELECT @@GLOBAL.read_only") == 0:
                res = self.lib.mysql_store_result(self.h)
                if res:
                    row = self.lib.mysql_fetch_row(res)
                    v = row[0].decode() if row and row[0] is not None else None
                    self.lib.mysql_free_result(res)
                    if v in ("0", "1"):
                        return v
            self.close()
        return "-"


def dns_query(server, name, timeout=0.2):
    """The first A record of name at server (host, port), 'nx' when it has none, '-' without an answer."""
    qid = random.randrange(65536)
    q = struct.pack(">HHHHHH", qid, 0, 1, 0, 0, 0)  # RD=0: an authoritative answer only
    for label in name.rstrip(".").split("."):
        q += bytes([len(label)]) + label.encode()
    q += b"\0" + struct.pack(">HH", 1, 1)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(timeout)
    try:
        s.sendto(q, server)
        deadline = time.monotonic() + timeout
        while True:
            s.settimeout(max(0.001, deadline - time.monotonic()))
            data = s.recv(4096)
            if len(data) >= 12 and struct.unpack(">H", data[:2])[0] == qid:
                break
    except OSError:
        return "-"
    finally:
        s.close()
    try:
        _, flags, qd, an, _, _ = struct.unpack(">HHHHHH", data[:12])
        if flags & 0xF:
            return "nx"
        off = 12
        for _ in range(qd):
            off = skip_name(data, off) + 4
        for _ in range(an):
            off = skip_name(data, off)
            rtype, _, _, rdlen = struct.unpack(">HHIH", data[off:off + 10])
            off += 10
            if rtype == 1 and rdlen == 4:
                return socket.inet_ntoa(data[off:off + 4])
            off += rdlen
    except (struct.error, IndexError):
        return "-"
    return "nx"


def skip_name(data, off):
    while True:
        n = data[off]
        if n == 0:
            return off + 1
        if n & 0xC0 == 0xC0:
            return off + 2
        off += 1 + n


def sample(argv):
    out, servers, dns, name, every = argv[0], [], None, None, 0.05
    user = os.environ.get("MDB_ADMIN_USER", "root")
    i = 1
    while i < len(argv):
        a = argv[i]
        if a == "--server":
            n, s = argv[i + 1].split("=", 1)
            servers.append(Server(n, s, user))
        elif a == "--dns":
            h, p = argv[i + 1].rsplit(":", 1)
            dns = (h, int(p))
        elif a == "--name":
            name = argv[i + 1]
        elif a == "--every-ms":
            every = int(argv[i + 1]) / 1000
        else:
            print("partition-checker: unknown option %s" % a, file=sys.stderr)
            return 2
        i += 2
    with open(out, "a", buffering=1) as f:
        f.write("# t_ms %s dns\n" % " ".join(s.name for s in servers))
        nxt = time.monotonic()
        while True:
            t = int(time.time() * 1000)
            vals = [s.read_only() for s in servers]
            d = dns_query(dns, name) if dns and name else "-"
            f.write("%d %s %s\n" % (t, " ".join(vals), d))
            nxt += every
            delay = nxt - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            else:
                nxt = time.monotonic()


def load(path, t0, t1):
    names, rows = [], []
    for line in open(path):
        p = line.split()
        if not p:
            continue
        if p[0] == "#":
            names = p[2:-1]
            continue
        if len(p) != len(names) + 2:
            continue  # a line being written
        t = int(p[0])
        if t0 <= t <= t1:
            rows.append((t, dict(zip(names, p[1:-1])), p[-1]))
    return names, rows


def fmt(names, row):
    t, v, d = row
    return "%d %s dns=%s" % (t, " ".join("%s=%s" % (n, v[n]) for n in names), d)


def excerpt(names, rows, k, before=3, after=3):
    for r in rows[max(0, k - before):k + after + 1]:
        print("    " + fmt(names, r))


def check(argv):
    path, mode, args = argv[0], argv[1], argv[2:]
    big = 1 << 62

    def window(a, b):
        return int(a), int(b) if b is not None else big

    if mode == "never-two":
        names, rows = load(path, *window(args[0], args[1]))
        for k, r in enumerate(rows):
            w = [n for n in names if r[1][n] == "0"]
            if len(w) >= 2:
                print("two writable servers (%s) at sample %d of %d, %d ms into the window:" %
                      (" ".join(w), k + 1, len(rows), r[0] - int(args[0])))
                excerpt(names, rows, k)
                return 1
        print("%d samples, never two writable" % len(rows))
        return 0 if rows else 1
    if mode == "always":
        n, val = args[0], args[1]
        names, rows = load(path, *window(args[2], args[3]))
        for k, r in enumerate(rows):
            if r[1].get(n) != val:
                print("%s is %s, not %s, at sample %d of %d, %d ms into the window:" %
                      (n, r[1].get(n), val, k + 1, len(rows), r[0] - int(args[2])))
                excerpt(names, rows, k)
                return 1
        print("%d samples" % len(rows))
        return 0 if rows else 1
    if mode == "first":
        n, val = args[0], args[1]
        names, rows = load(path, *window(args[2], args[3] if len(args) > 3 else None))
        for r in rows:
            if r[1].get(n) == val:
                print("%d" % (r[0] - int(args[2])))
                return 0
        print("never in %d samples" % len(rows))
        return 1
    if mode == "became":
        n, val = args[0], args[1]
        names, rows = load(path, *window(args[2], args[3]))
        count, prev = 0, None
        for r in rows:
            v = r[1].get(n)
            if v == val and prev is not None and prev != val:
                count += 1
            prev = v
        print(count)
        return 0
    if mode == "dns-first":
        names, rows = load(path, *window(args[1], args[2] if len(args) > 2 else None))
        for r in rows:
            if r[2] == args[0]:
                print("%d" % (r[0] - int(args[1])))
                return 0
        print("never in %d samples (last: %s)" % (len(rows), rows[-1][2] if rows else "none"))
        return 1
    if mode == "dns-stays":
        names, rows = load(path, *window(args[1], args[2]))
        seen = False
        for k, r in enumerate(rows):
            seen = seen or r[2] == args[0]
            if seen and r[2] not in (args[0], "-"):
                print("the name answered %s after %s, at sample %d of %d:" % (r[2], args[0], k + 1, len(rows)))
                excerpt(names, rows, k)
                return 1
        print("%d samples" % len(rows))
        return 0 if seen else 1
    if mode == "show":
        names, rows = load(path, *window(args[0], args[1]))
        last = None
        for r in rows:
            state = (tuple(r[1][n] for n in names), r[2])
            if state != last:
                print("    +%6d ms  %s dns=%s" % (r[0] - int(args[0]),
                                                  " ".join("%s=%s" % (n, r[1][n]) for n in names), r[2]))
                last = state
        print("    (%d samples)" % len(rows))
        return 0
    print("partition-checker: unknown mode %s" % mode, file=sys.stderr)
    return 2


def main():
    if len(sys.argv) < 3 or sys.argv[1] not in ("sample", "check"):
        print(__doc__, file=sys.stderr)
        return 2
    try:
        return sample(sys.argv[2:]) if sys.argv[1] == "sample" else check(sys.argv[2:])
    except (IndexError, ValueError) as e:
        print("partition-checker: %s" % e, file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
