#!/usr/bin/env python3
"""LMTP / stdin-mode load generator: C concurrent clients deliver N messages in total to BOXES
mailboxes (u000.., or --prefix P: P000..), and the throughput and latency percentiles are printed as one JSON line.

Targets:
  --unix PATH          an LMTP listener on a UNIX socket (mda -L unix:PATH); a client keeps
                       one session open and sends every message through it (RSET-free reuse),
                       unless --session-per-message
  --spawn "CMD ..."    one LMTP session on the stdin/stdout of a new process per message
                       (inetd style: mda -l, Mailutils lmtpd -i); argv split on spaces
  --stdin "CMD ..."    stdin mode: one process per message, %B in CMD replaced by the mailbox,
                       the message on stdin; success = exit 0
Latency is measured per message from MAIL FROM (or process start) to the final reply.
"""
import argparse
import json
import os
import socket
import subprocess
import sys
import threading
import time


class Session:
    def __init__(self, rfile, wfile, closer):
        self.r, self.w, self.closer = rfile, wfile, closer

    def reply(self):
        lines = []
        while True:
            ln = self.r.readline()
            if not ln:
                raise IOError("connection closed after %r" % lines)
            lines.append(ln.decode("latin-1").rstrip("\r\n"))
            if len(ln) < 4 or ln[3:4] != b"-":
                return int(lines[-1][:3]), lines

    def cmd(self, text):
        self.w.write(text.encode() + b"\r\n")
        self.w.flush()
        return self.reply()

    def lhlo(self):
        code, _ = self.reply()  # greeting
        if code != 220:
            raise IOError("greeting %d" % code)
        code, _ = self.cmd("LHLO bench.example.org")
        if code != 250:
            raise IOError("LHLO %d" % code)

    def send(self, sender, rcpts, data):
        code, l = self.cmd("MAIL FROM:<%s>" % sender)
        if code != 250:
            return [code] * len(rcpts)
        ok = []
        for r in rcpts:
            c, _ = self.cmd("RCPT TO:<%s>" % r)
            if c == 250:
                ok.append(r)
        if not ok:
            self.cmd("RSET")
            return [550] * len(rcpts)
        c, _ = self.cmd("DATA")
        if c != 354:
            return [c] * len(rcpts)
        self.w.write(data + b".\r\n")
        self.w.flush()
        return [self.reply()[0] for _ in ok]

    def quit(self):
        try:
            self.cmd("QUIT")
        except Exception:
            pass
        self.closer()


def dot_stuff(raw):
    out = []
    for ln in raw.split(b"\n")[:-1] if raw.endswith(b"\n") else raw.split(b"\n"):
        if ln.startswith(b"."):
            ln = b"." + ln
        out.append(ln + b"\r\n")
    return b"".join(out)


def open_unix(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(path)
    rf, wf = s.makefile("rb"), s.makefile("wb")
    def close():
        rf.close(); wf.close(); s.close()
    return Session(rf, wf, close)


def open_spawn(argv):
    p = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.DEVNULL)
    def close():
        p.stdin.close(); p.stdout.close(); p.wait()
    return Session(p.stdout, p.stdin, close)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--unix")
    ap.add_argument("--spawn")
    ap.add_argument("--stdin")
    ap.add_argument("--session-per-message", action="store_true")
    ap.add_argument("--clients", type=int, default=1)
    ap.add_argument("--messages", type=int, default=1000)
    ap.add_argument("--boxes", type=int, default=1)
    ap.add_argument("--domain", default="localhost")
    ap.add_argument("--prefix", default="u", help="mailbox names are PREFIX000, PREFIX001, ...")
    ap.add_argument("--msg", required=True)
    ap.add_argument("--label", default="")
    a = ap.parse_args()
    raw = open(a.msg, "rb").read()
    data = dot_stuff(raw)
    lat, fails, lock = [], [0], threading.Lock()
    errors = []

    def worker(k):
        mine = range(k, a.messages, a.clients)
        sess = None
        try:
            for i in mine:
                box = "%s%03d" % (a.prefix, i % a.boxes)
                t = time.monotonic()
                if a.stdin:
                    argv = [x.replace("%B", box) for x in a.stdin.split()]
                    p = subprocess.run(argv, stdin=open(a.msg, "rb"), stdout=subprocess.DEVNULL,
                                       stderr=subprocess.DEVNULL)
                    codes = [250 if p.returncode == 0 else p.returncode]
                else:
                    if sess is None:
                        sess = open_unix(a.unix) if a.unix else open_spawn(a.spawn.split())
                        sess.lhlo()
                    codes = sess.send("sender@example.org", ["%s@%s" % (box, a.domain)], data)
                    if a.session_per_message or a.spawn:
                        sess.quit()
                        sess = None
                dt = (time.monotonic() - t) * 1000.0
                with lock:
                    lat.append(dt)
                    if any(c != 250 for c in codes):
                        fails[0] += 1
                        if len(errors) < 3:
                            errors.append(codes)
            if sess:
                sess.quit()
        except Exception as e:  # a broken session fails the rest of this client's share
            with lock:
                errors.append(repr(e))
                fails[0] += len([i for i in mine]) - 0

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(a.clients)]
    t0 = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    total = time.monotonic() - t0
    lat.sort()
    n = len(lat)
    pct = lambda q: lat[min(n - 1, int(n * q))] if n else 0.0
    print(json.dumps({"label": a.label, "clients": a.clients, "messages": a.messages,
                      "done": n, "fail": fails[0], "seconds": round(total, 3),
                      "msgs_per_s": round(n / total, 1) if total else 0,
                      "p50_ms": round(pct(0.5), 2), "p99_ms": round(pct(0.99), 2),
                      "errors": errors[:3]}))
    return 1 if fails[0] else 0


if __name__ == "__main__":
    sys.exit(main())
