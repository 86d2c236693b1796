#!/usr/bin/env python3
"""Disk-full and quota driver. Fills the filesystem holding the mailbox (FS) with a filler file,
then delivers until a delivery fails: every failure must be EX_TEMPFAIL (stdin) or 452 (LMTP),
leave the mailbox byte-identical, and deliveries must succeed again once the filler is gone.
The quota case is RLIMIT_FSIZE on the delivering process (see diskfull.sh).
usage: diskfull.py MDA CONF SOCKET USER FS OUT"""
import hashlib
import os
import random
import resource
import signal
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tortlib

mda, conf, sock, user, fs, out = sys.argv[1:7]
mbox = os.path.join(fs, "spool", user)
rnd = random.Random(5)
ok, problems = [], []
serial = [0]


def digest():
    try:
        return hashlib.sha1(open(mbox, "rb").read()).hexdigest()
    except FileNotFoundError:
        return "absent"


def next_message(size=20000):
    serial[0] += 1
    mid = "d%d" % serial[0]
    return mid, tortlib.make_message(mid, size, rnd)


def fill(leave):
    """Fills FS so that about `leave` bytes stay free."""
    st = os.statvfs(fs)
    free = st.f_bavail * st.f_frsize
    with open(os.path.join(fs, "filler"), "ab") as f:
        f.write(b"\0" * max(0, free - leave))


def unfill():
    os.unlink(os.path.join(fs, "filler"))


def deliver_stdin(raw, limit=None, extra=()):
    def cap():
        signal.signal(signal.SIGXFSZ, signal.SIG_DFL)  # as an MTA would leave it
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    p = subprocess.run([mda, "-C", conf, *extra, "-f", "torture@example.org", user], input=raw,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                       preexec_fn=cap if limit is not None else None)
    return p.returncode, p.stderr.decode(errors="replace").strip()[-200:]


def deliver_lmtp(raw):
    s = tortlib.LMTP(sock)
    s.hello()
    res = s.deliver("torture@example.org", ["%s@localhost" % user], raw)
    s.quit()
    return res[0][1], res[0][2]


def until_failure(phase, deliver, want_fail, limit_tries=400, size=20000):
    """Delivers until the first failure, checks it, then checks that two more fail the same
    way and leave the mailbox alone. Returns the number of successes before the failure."""
    good = 0
    for _ in range(limit_tries):
        mid, raw = next_message(size)
        before = digest()
        code, why = deliver(raw)
        if code in (0, 250):
            ok.append(mid)
            good += 1
            continue
        if code != want_fail:
            problems.append("%s: %s failed with %r (%s), want %r" % (phase, mid, code, why, want_fail))
        if digest() != before:
            problems.append("%s: failed delivery %s changed the mailbox" % (phase, mid))
        for _ in range(2):
            mid, raw = next_message(size)
            before = digest()
            code2, why2 = deliver(raw)
            if code2 != want_fail or digest() != before:
                problems.append("%s: repeated failure %s: %r (%s), mailbox %s" %
                                (phase, mid, code2, why2, "same" if digest() == before else "CHANGED"))
        print("  %s: %d delivered, then %r: %s" % (phase, good, code, why))
        return good
    problems.append("%s: no failure after %d deliveries" % (phase, limit_tries))
    return good


def succeeds_again(phase, deliver):
    mid, raw = next_message()
    code, why = deliver(raw)
    if code in (0, 250):
        ok.append(mid)
    else:
        problems.append("%s: after freeing space delivery failed: %r %s" % (phase, code, why))


# 1. Disk full, stdin mode, spool file outside the full filesystem: the append hits ENOSPC.
fill(150000)
until_failure("full fs, stdin", deliver_stdin, 75)
# 2. LMTP on the same filesystem, filled afresh.
unfill()
fill(150000)
until_failure("full fs, LMTP", deliver_lmtp, 452)
unfill()
succeeds_again("freed, stdin", deliver_stdin)
succeeds_again("freed, LMTP", deliver_lmtp)
# 3. Quota: a file size limit just above the current mailbox (EFBIG mid-append).
size = os.path.getsize(mbox)
until_failure("RLIMIT_FSIZE quota, stdin", lambda raw: deliver_stdin(raw, size + 70000), 75)
succeeds_again("quota lifted, stdin", deliver_stdin)
# 4. The spool file (tmp_dir) on the full filesystem: spooling fails before any lock.
os.makedirs(os.path.join(fs, "tmp"), exist_ok=True)
fill(8000)
until_failure("full fs, stdin, spool file there too", lambda raw: deliver_stdin(raw, extra=("-o", "tmp_dir=%s/tmp" % fs)), 75)
unfill()
succeeds_again("freed, spool file there too", lambda raw: deliver_stdin(raw, extra=("-o", "tmp_dir=%s/tmp" % fs)))

open(os.path.join(out, "ok.ids"), "w").write("\n".join(ok) + "\n")
print("  delivered=%d problems=%d" % (len(ok), len(problems)))
for p in problems[:20]:
    print("  PROBLEM " + p)
sys.exit(1 if problems else 0)
