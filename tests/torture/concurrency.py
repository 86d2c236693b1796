#!/usr/bin/env python3
"""Concurrency torture driver: 4 stdin-mode writers and 4 LMTP writers (one reused session
each) deliver TOTAL messages to one mailbox while a `mail` session keeps saving message 1 to
SAVED, deleting it and quitting. With PF_PORT/PF_LOG/PF_COUNT, PF_COUNT of the messages go
through a throwaway Postfix whose local(8) appends to the same mailbox under its own
dotlock + fcntl locking. READER_PREFIX (env, space separated) runs the `mail` session as the
mailbox owner. Every other quit rewrites the file in place (MBOX_TEST_IN_PLACE, as in a spool
the reader cannot write), the others by rename. Beside the session a watcher (mail -N -R, as a
login's mail check) keeps indexing the mailbox read-only. Writes OUT/ok.ids and OUT/maybe.ids.

Every reader and watcher session is checked: it must exit 0 having seen at least the messages
that must be in the mailbox (deliveries confirmed when it started, minus every message the
session may have deleted by the time it ended). The one empty view that is right is the one
where that floor is 0: before the first delivery has created the mailbox or finished its
append (the reader starts first), or once the reader has deleted everything delivered so far
while the writers queue for the lock; mail(1) then says "0 messages" and exits 1. Any other
exit status, a signal (SIGBUS from a file shrinking under the scan), or fewer messages than
the floor fails the run.
usage: concurrency.py MDA MAIL CONF SOCKET USER TOTAL SAVED OUT [PF_PORT PF_LOG PF_COUNT]"""
import collections
import os
import random
import re
import smtplib
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tortlib

mda, mail, conf, sock, user, total, saved, out = sys.argv[1:9]
total = int(total)
pf_port, pf_log, pf_count = (sys.argv[9], sys.argv[10], int(sys.argv[11])) if len(sys.argv) > 11 else (None, None, 0)
reader_prefix = os.environ.get("READER_PREFIX", "").split()
os.makedirs(out, exist_ok=True)
lock = threading.Lock()
ok, maybe, errors = [], [], []
reader = {"runs": 0, "deleted": 0, "empty": 0}
watcher = {"runs": 0, "empty": 0}
reader_errs = collections.Counter()
reader_fail = []
BANNER = re.compile(rb'^"[^"\n]*": (\d+) messages?\b', re.M)


def stdin_writer(k, ids):
    r = random.Random(k)
    for mid in ids:
        raw = tortlib.make_message(mid, r.choice([500, 3000, 20000]), r)
        p = subprocess.run([mda, "-C", conf, "-f", "torture@example.org", user], input=raw,
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        with lock:
            (ok if p.returncode == 0 else maybe).append(mid)
            if p.returncode != 0:
                errors.append("stdin %s: exit %d %s" % (mid, p.returncode, p.stderr.decode(errors="replace")[-200:]))


def lmtp_writer(k, ids):
    r = random.Random(100 + k)
    try:
        s = tortlib.LMTP(sock)
        s.hello()
    except Exception as e:
        with lock:
            maybe.extend(ids)
            errors.append("lmtp connect: %r" % e)
        return
    for mid in ids:
        raw = tortlib.make_message(mid, r.choice([500, 3000, 20000]), r)
        try:
            res = s.deliver("torture@example.org", ["%s@localhost" % user], raw)
            code = res[0][1]
        except Exception as e:
            code = repr(e)
        with lock:
            (ok if code == 250 else maybe).append(mid)
            if code != 250:
                errors.append("lmtp %s: %s" % (mid, res if not isinstance(code, str) else code))
    s.quit()


def postfix_writer(ids):
    """Submits over SMTP; the delivery result is local(8)'s status= line in the log."""
    r = random.Random(7)
    queued = {}
    try:
        s = smtplib.SMTP("127.0.0.1", int(pf_port), local_hostname="torture.test", timeout=60)
        for mid in ids:
            # Postfix quotes mboxo style (">From" lines stay as they are), so no From lines.
            raw = tortlib.make_message(mid, r.choice([500, 3000, 20000]), r, quote_lines=False)
            s.mail("torture@example.org")
            code, msg = s.rcpt("%s@localhost" % user)
            if code == 250:
                # smtplib leaves bytes alone: a bare-LF message would gain an empty last line.
                code, msg = s.data(raw.replace(b"\n", b"\r\n"))
            m = re.search(rb"queued as ([0-9A-Za-z]+)", msg)
            if code == 250 and m:
                queued[m.group(1).decode()] = mid
            else:
                with lock:
                    maybe.append(mid)
                    errors.append("postfix %s: %d %r" % (mid, code, msg))
        s.quit()
    except Exception as e:
        with lock:
            errors.append("postfix submission: %r" % e)
    wait_for_postfix(queued)


SAFE_DEFERRALS = ("status changed unexpectedly", "unable to create lock file")


def wait_for_postfix(queued):
    """Waits for local(8)'s final status of every queued message. A deferral because the
    mailbox was replaced while local(8) waited for the lock ("target file status changed
    unexpectedly": `mail` rewrites by rename, local(8) opens before locking), or because its
    dotlock attempts (one a second, deliver_lock_attempts) always found the lock of one of the
    eight writers queueing for the mailbox ("unable to create lock file ...: File exists"), is
    Postfix's own safe retry; those are flushed and must then be sent. Any other deferral is
    a failure."""
    pending = dict(queued)
    seen_lines = set()
    deadline = time.monotonic() + 600
    status_re = re.compile(r" ([0-9A-F]+): to=<[^>]*>.* status=(\w+) (.*)")
    conf_dir = os.path.join(os.path.dirname(pf_log), "etc")
    while pending and time.monotonic() < deadline:
        deferred = False
        for ln in open(pf_log, errors="replace"):
            m = status_re.search(ln)
            if not m or m.group(1) not in pending or ln in seen_lines:
                continue
            seen_lines.add(ln)
            qid, status, why = m.groups()
            if status == "deferred":
                deferred = True
                with lock:
                    pf_deferrals.append(qid)
                    if not any(w in why for w in SAFE_DEFERRALS):
                        errors.append("postfix %s: deferred %s" % (pending[qid], why))
                continue
            mid = pending.pop(qid)
            with lock:
                if status == "sent":
                    ok.append(mid)
                else:
                    maybe.append(mid)
                    errors.append("postfix %s: status=%s %s" % (mid, status, why))
        if deferred:
            subprocess.run(["postqueue", "-c", conf_dir, "-f"], stderr=subprocess.DEVNULL)
        time.sleep(0.5)
    with lock:
        maybe.extend(pending.values())
        for mid in pending.values():
            errors.append("postfix %s: not sent in time" % mid)

done = threading.Event()
pf_deferrals = []


def reader_seen(p):
    """Messages the session says the mailbox holds (its banner, or "No mail"), None if neither."""
    m = BANNER.search(p.stdout)
    if m:
        return int(m.group(1))
    return 0 if p.stdout.startswith(b"No mail for ") else None


def reader_said(p):
    """The session's banner line and its last line, for the report."""
    lines = p.stdout.decode(errors="replace").strip().splitlines() or ["(no output)"]
    banner = [ln for ln in lines if BANNER.match(ln.encode(errors="replace"))]
    return " ... ".join(dict.fromkeys(banner[:1] + lines[-1:]))[:300]


def session_check(p, floor, who):
    """None when the session saw what it should, else why not (counted in who)."""
    seen = reader_seen(p)
    if p.returncode == 0 and seen is not None and seen >= max(floor, 1):
        return None
    # Nothing owed to the mailbox: empty is right, and so is no mailbox yet (the first
    # delivery has not created it), which `mail -f PATH` reports as Heirloom does.
    missing = p.stdout.endswith(b": No such file or directory\n") and b"\n" not in p.stdout[:-1]
    if p.returncode == 1 and (seen == 0 or missing) and floor == 0:
        who["empty"] += 1
        return None
    how = "signal %d" % -p.returncode if p.returncode < 0 else "exit %d" % p.returncode
    return "%s, saw %s messages, at least %d there" % (how, "?" if seen is None else seen, floor)


def session_failed(why, p, name):
    reader_fail.append(why)
    reader_errs["%s %s: %s" % (name, why, reader_said(p))] += 1


def reader_loop():
    path = os.path.join(os.path.dirname(conf), "spool", user)
    # Every other quit rewrites in place, as where the spool is not the reader's to write
    # (Debian's root:mail 2775): it moves every byte of the file under the watcher's index.
    in_place = dict(os.environ, MBOX_TEST_IN_PLACE="1")
    while not done.is_set():
        with lock:
            # Confirmed deliveries are in the file. The reader may delete one before its
            # confirmation is counted (local(8)'s status= line is read later): hence max.
            floor = max(0, len(ok) - reader["deleted"])
        p = subprocess.run(reader_prefix + [mail, "-C", conf, "-f", path],
                           input=("s 1 %s\nd 1\nq\n" % saved).encode(), stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, cwd=os.path.dirname(saved),
                           env=in_place if reader["runs"] % 2 else None)
        with lock:
            reader["runs"] += 1
            if b'" complete\n' in p.stdout:
                reader["deleted"] += 1   # quit rewrote the file without message 1
        why = session_check(p, floor, reader)
        if why:
            session_failed(why, p, "mail session")
        time.sleep(random.uniform(0, 0.05))


def watcher_loop():
    """A second reader beside the session, read-only (-R: no rewrite), as a login's mail
    check or a biff runs: it indexes while the session's quits rewrite the file. It must see
    the confirmed deliveries minus every deletion that may have happened until it finished
    (the session's quit under way included)."""
    path = os.path.join(os.path.dirname(conf), "spool", user)
    while not done.is_set():
        with lock:
            owed = len(ok)
        p = subprocess.run(reader_prefix + [mail, "-C", conf, "-N", "-R", "-f", path], input=b"q\n",
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        with lock:
            floor = max(0, owed - reader["deleted"] - 1)
        watcher["runs"] += 1
        why = session_check(p, floor, watcher)
        if why:
            session_failed(why, p, "watcher")
        time.sleep(random.uniform(0.02, 0.08))   # a busy login's mail checks, not a spin


ids = ["c%d" % i for i in range(total - pf_count)]
threads = []
for k in range(8):
    share = ids[k::8]
    threads.append(threading.Thread(target=stdin_writer if k < 4 else lmtp_writer, args=(k, share)))
if pf_count:
    threads.append(threading.Thread(target=postfix_writer, args=(["p%d" % i for i in range(pf_count)],)))
start = time.monotonic()
rt = [threading.Thread(target=reader_loop), threading.Thread(target=watcher_loop)]
for t in rt:
    t.start()
for t in threads:
    t.start()
for t in threads:
    t.join()
done.set()
for t in rt:
    t.join()
open(out + "/ok.ids", "w").write("\n".join(ok) + "\n")
open(out + "/maybe.ids", "w").write("\n".join(maybe) + "\n")
print("  messages=%d (postfix local: %d, deferred and retried: %d) ok=%d failed=%d seconds=%.0f" %
      (total, pf_count, len(pf_deferrals), len(ok), len(maybe), time.monotonic() - start))
print("  reader sessions=%d (every other rewriting in place) deleted=%d watcher sessions=%d "
      "empty_with_none_owed=%d+%d failed=%d" % (reader["runs"], reader["deleted"], watcher["runs"],
                                                reader["empty"], watcher["empty"], len(reader_fail)))
for e, n in reader_errs.most_common(5):
    print("  %s (%d times)" % (e, n))
if reader["deleted"] == 0:
    reader_fail.append("no reader session deleted a message: the reader was not exercised")
    print("  " + reader_fail[-1])
for e in errors[:5]:
    print("  " + e)
sys.exit(1 if errors or reader_fail else 0)
