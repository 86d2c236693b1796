#!/usr/bin/env python3
"""Kill -9 torture driver: delivers messages with `mda` (stdin mode) while SIGKILLing some of
the deliveries at random moments and letting concurrent unkilled deliveries run. Writes
OUT/ok.ids (exit 0: must be present exactly once) and OUT/maybe.ids (killed or failed: may be
present, once, intact). usage: killnine.py MDA CONF USER KILLS WRITERS OUT"""
import os
import random
import signal
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tortlib

mda, conf, user, kills, writers, out = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]), sys.argv[6]
os.makedirs(out + "/msgs", exist_ok=True)
lock = threading.Lock()
ok, maybe, normal_fail = [], [], []
rnd = random.Random(99)
sizes = [300, 4000, 60000, 700000, 2500000]


def msgfile(mid, size, r):
    path = "%s/msgs/%s" % (out, mid)
    with open(path, "wb") as f:
        f.write(tortlib.make_message(mid, size, r))
    return path


def run(mid, path, kill_after=None):
    with open(path, "rb") as f:
        p = subprocess.Popen([mda, "-C", conf, "-f", "torture@example.org", user], stdin=f,
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        if kill_after is not None:
            time.sleep(kill_after)
            p.send_signal(signal.SIGKILL)
        err = p.communicate()[1]
    return p.returncode, err


# Calibrate: how long does a delivery of each size take here?
cal = {}
for s in sizes:
    t = time.monotonic()
    mid = "cal-%d" % s
    rc, err = run(mid, msgfile(mid, s, rnd))
    (ok if rc == 0 else maybe).append(mid)
    cal[s] = time.monotonic() - t

done = threading.Event()


def normal_writer(k):
    r = random.Random(1000 + k)
    i = 0
    while not done.is_set():
        mid = "w%d-%d" % (k, i)
        i += 1
        rc, err = run(mid, msgfile(mid, r.choice(sizes[:3]), r))
        with lock:
            if rc == 0:
                ok.append(mid)
            else:
                maybe.append(mid)
                normal_fail.append("%s exit %s: %s" % (mid, rc, err.decode(errors="replace").strip()[-200:]))


threads = [threading.Thread(target=normal_writer, args=(k,)) for k in range(writers)]
for t in threads:
    t.start()
# Count only the deliveries that really died of the SIGKILL (a kill that lands after a quick
# delivery exited kills nothing); attempts are bounded so a machine where every delivery
# finishes before its kill still terminates (and then fails the kill count).
killed_before_exit = 0
attempts = 0
while killed_before_exit < kills and attempts < 4 * kills:
    i = attempts
    attempts += 1
    s = rnd.choice(sizes)
    mid = "k%d" % i
    path = msgfile(mid, s, rnd)
    rc, err = run(mid, path, kill_after=rnd.uniform(0, 1.3 * cal[s]))
    with lock:
        if rc == 0:
            ok.append(mid)
        else:
            maybe.append(mid)
            killed_before_exit += rc == -signal.SIGKILL
    os.unlink(path)
done.set()
for t in threads:
    t.join()
# The normal delivery that takes the lock after the last kill (and repairs a torn tail).
rc, err = run("final", msgfile("final", 1000, rnd))
(ok if rc == 0 else maybe).append("final")
open(out + "/ok.ids", "w").write("\n".join(ok) + "\n")
open(out + "/maybe.ids", "w").write("\n".join(maybe) + "\n")
print("  attempts=%d sigkilled=%d ok=%d maybe=%d normal_failures=%d final_rc=%d" %
      (attempts, killed_before_exit, len(ok), len(maybe), len(normal_fail), rc))
if killed_before_exit < kills:
    print("  only %d deliveries died of SIGKILL, wanted %d" % (killed_before_exit, kills))
for f in normal_fail[:5]:
    print("  normal delivery failed: " + f)
sys.exit(0 if rc == 0 and not normal_fail and killed_before_exit >= kills else 1)
