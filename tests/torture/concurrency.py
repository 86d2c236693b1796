#!/usr/bin/env python3
"""Concurrency torture driver: 4 stdin-mode writers and 4 LMTP writers (one reused session
each) deliver TOTAL messages to one mailbox while a `mail` session keeps saving message 1 to
SAVED, deleting it and quitting. With PF_PORT/PF_LOG/PF_COUNT, PF_COUNT of the messages go
through a throwaway Postfix whose local(8) appends to the same mailbox under its own
dotlock + fcntl locking. READER_PREFIX (env, space separated) runs the `mail` session as the
mailbox owner. Writes OUT/ok.ids and OUT/maybe.ids.
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
reader_runs = [0, 0]
reader_errs = collections.Counter()


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


def wait_for_postfix(queued):
    """Waits for local(8)'s final status of every queued message. A deferral because the
    mailbox was replaced while local(8) waited for the lock ("target file status changed
    unexpectedly": `mail` rewrites by rename, local(8) opens before locking) is Postfix's own
    safe retry; those are flushed and must then be sent. Any other deferral is a failure."""
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
                    if "status changed unexpectedly" not in why:
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


def reader():
    while not done.is_set():
        p = subprocess.run(reader_prefix + [mail, "-C", conf, "-f", os.path.join(os.path.dirname(conf), "spool", user)],
                           input=("s 1 %s\nd 1\nq\n" % saved).encode(), stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, cwd=os.path.dirname(saved))
        reader_runs[0] += 1
        if p.returncode != 0:
            reader_runs[1] += 1
            reader_errs["exit %d: %s" % (p.returncode, p.stdout.decode(errors="replace").strip()[-300:])] += 1
        time.sleep(random.uniform(0, 0.05))


ids = ["c%d" % i for i in range(total - pf_count)]
threads = []
for k in range(8):
    share = ids[k::8]
    threads.append(threading.Thread(target=stdin_writer if k < 4 else lmtp_writer, args=(k, share)))
if pf_count:
    threads.append(threading.Thread(target=postfix_writer, args=(["p%d" % i for i in range(pf_count)],)))
start = time.monotonic()
rt = threading.Thread(target=reader)
rt.start()
for t in threads:
    t.start()
for t in threads:
    t.join()
done.set()
rt.join()
open(out + "/ok.ids", "w").write("\n".join(ok) + "\n")
open(out + "/maybe.ids", "w").write("\n".join(maybe) + "\n")
print("  messages=%d (postfix local: %d, deferred and retried: %d) ok=%d failed=%d reader_sessions=%d reader_nonzero_exits=%d seconds=%.0f" %
      (total, pf_count, len(pf_deferrals), len(ok), len(maybe), reader_runs[0], reader_runs[1], time.monotonic() - start))
for e, n in reader_errs.most_common(5):
    print("  mail session exit != 0 (%d times): %s" % (n, e))
for e in errors[:5]:
    print("  " + e)
sys.exit(1 if errors else 0)
