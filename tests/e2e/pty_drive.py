#!/usr/bin/env python3
"""Drives a program through a pseudo-terminal from a tiny script (for mail(1) e2e tests).

usage: pty_drive.py SCRIPT -- PROGRAM ARGS...
Script lines:  "> text" types text + Enter;  "? regex" waits (5 s) for regex in the output
after the previous match;  "! command" runs a shell command (e.g. deliver mail meanwhile);
"^D" sends end-of-file.  The whole transcript is written to stdout; exit 1 on a timeout.
"""
import os, pty, re, select, subprocess, sys, time

def main():
    sep = sys.argv.index("--")
    script, argv = sys.argv[1], sys.argv[sep + 1:]
    pid, fd = pty.fork()
    if pid == 0:
        os.environ["COLUMNS"] = os.environ.get("COLUMNS", "80")
        os.execvp(argv[0], argv)
    out, pos = b"", 0

    def read_some(timeout):
        nonlocal out
        r, _, _ = select.select([fd], [], [], timeout)
        if not r:
            return False
        try:
            data = os.read(fd, 4096)
        except OSError:
            return False
        out += data
        return bool(data)

    for line in open(script, encoding="utf-8").read().splitlines():
        if line.startswith("> "):
            time.sleep(0.05)
            os.write(fd, line[2:].encode() + b"\n")
        elif line == ">":
            os.write(fd, b"\n")
        elif line == "^D":
            os.write(fd, b"\x04")
        elif line.startswith("! "):
            subprocess.run(line[2:], shell=True, check=True)
        elif line.startswith("? "):
            rx = re.compile(line[2:].encode())
            deadline = time.time() + 5
            while True:
                m = rx.search(out, pos)
                if m:
                    pos = m.end()
                    break
                if time.time() > deadline or not read_some(deadline - time.time()):
                    if not rx.search(out, pos):
                        sys.stdout.write(out.decode(errors="replace"))
                        print("\npty_drive: timed out waiting for %r" % line[2:])
                        sys.exit(1)
    deadline = time.time() + 5
    while time.time() < deadline and read_some(0.5):
        pass
    _, status = os.waitpid(pid, 0)
    sys.stdout.write(out.decode(errors="replace"))
    sys.exit(os.waitstatus_to_exitcode(status) if hasattr(os, "waitstatus_to_exitcode") else 0)

main()
