#!/usr/bin/env python3
"""Delivery latency with and without a Sieve script, measured in pairs: messages alternate
between a user who has the script (WITH) and one who has none (WITHOUT), so both see the same
machine load at the same moments (a shared machine's load drifts by more than the effect).

usage: sieve_pair.py --unix SOCKET | --stdin "CMD ... %B"   --with USER --without USER
                     --messages N --msg FILE
LMTP: one session, MAIL FROM to the final reply per message. stdin: one process per message,
start to exit. Prints one JSON line: median and mean ms of each side, and the medians of the
per-pair difference and ratio (message 2k with the script against message 2k+1 without)."""
import argparse
import json
import socket
import statistics
import subprocess
import sys
import time


def lmtp(path, users, n, data):
    s = socket.socket(socket.AF_UNIX)
    s.connect(path)
    r, w = s.makefile("rb"), s.makefile("wb")

    def reply():
        while True:
            ln = r.readline()
            if not ln:
                raise IOError("connection closed")
            if len(ln) < 4 or ln[3:4] != b"-":
                return int(ln[:3])

    def cmd(text):
        w.write(text.encode() + b"\r\n")
        w.flush()
        return reply()

    reply()
    cmd("LHLO bench")
    lat = {u: [] for u in users}
    for i in range(n):
        u = users[i % 2]
        t0 = time.perf_counter()
        codes = [cmd("MAIL FROM:<sender@example.org>"), cmd("RCPT TO:<%s@localhost>" % u), cmd("DATA")]
        w.write(data + b".\r\n")
        w.flush()
        codes.append(reply())
        if codes != [250, 250, 354, 250]:
            sys.exit("delivery %d to %s: replies %s" % (i, u, codes))
        lat[u].append((time.perf_counter() - t0) * 1000)
    cmd("QUIT")
    return lat


def stdin(cmdline, users, n, raw):
    lat = {u: [] for u in users}
    for i in range(n):
        u = users[i % 2]
        argv = [x.replace("%B", u) for x in cmdline.split()]
        t0 = time.perf_counter()
        p = subprocess.run(argv, input=raw, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if p.returncode != 0:
            sys.exit("delivery %d to %s: exit %d" % (i, u, p.returncode))
        lat[u].append((time.perf_counter() - t0) * 1000)
    return lat


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--unix")
    ap.add_argument("--stdin")
    ap.add_argument("--with", dest="with_", required=True)
    ap.add_argument("--without", required=True)
    ap.add_argument("--messages", type=int, default=1000)
    ap.add_argument("--msg", required=True)
    a = ap.parse_args()
    raw = open(a.msg, "rb").read()
    users = [a.with_, a.without]
    if a.unix:
        data = b"".join((b"." + l if l.startswith(b".") else l) + b"\r\n" for l in raw.split(b"\n")[:-1])
        lat = lmtp(a.unix, users, a.messages, data)
    else:
        lat = stdin(a.stdin, users, a.messages, raw)
    w, o = lat[a.with_], lat[a.without]
    mw, mo = statistics.median(w), statistics.median(o)
    # Each message with the script against the one without it just before: the load of that
    # moment cancels out, which the two medians alone do not do.
    pairs = list(zip(w, o))
    print(json.dumps({"with_median_ms": round(mw, 4), "without_median_ms": round(mo, 4),
                      "with_mean_ms": round(statistics.mean(w), 4), "without_mean_ms": round(statistics.mean(o), 4),
                      "pair_diff_median_ms": round(statistics.median(x - y for x, y in pairs), 4),
                      "pair_ratio_median": round(statistics.median(x / y for x, y in pairs), 4),
                      "pairs": len(pairs)}))


if __name__ == "__main__":
    main()
