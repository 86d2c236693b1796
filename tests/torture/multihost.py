#!/usr/bin/env python3
"""Driver and checker of tests/torture/multihost.sh: two mda hosts on one shared spool.

The shell made the hosts (a process holding each host's UTS, mount and network namespaces,
listed in HOSTS as name:pid:address) and a Postfix whose LMTP destination resolves to both
addresses. This script boots `mda -L inet:ADDRESS:24` in each host, each boot in a PID
namespace of its own whose PIDs start at a different base (real hosts rarely share PIDs; two
fresh namespaces would share all the small ones), then runs two phases on BOXES mailboxes:

  steady  MESSAGES/2 messages submitted to Postfix by 4 SMTP clients while a `mail` session
          loop on each host saves the first 1-3 messages of a mailbox to a file of its own,
          deletes them and quits (every other quit rewrites in place), never two sessions on
          one mailbox at once, hosts taking turns. Then every message Postfix logged as sent
          (the LMTP 250) must be in a mailbox or a session's file exactly once, intact, and
          nothing else may be there (mbox_check.py, strict); both hosts must have delivered.
  crash   the same again, and when 30% of them are sent host a's daemon (PID 1 of its PID
          namespace, so its sessions and host a's mail sessions die too) gets SIGKILL; it is
          booted again a second later (--crashes N: N such kills spread over the phase, the
          hosts taking turns). Postfix retries what was cut off. With --shared-spool
          (shared_spool = yes: dotlocks stale by age only) the dotlocks the dead host held
          would keep their mailboxes locked for liblockfile's 5 minutes; the simulation lets
          those minutes pass for them alone (age_dead_locks) when the host is back. The same check, where a
          message may appear twice only when Postfix logged a cut-off attempt for it that it
          calls "may be sent more than once" (the LMTP window between the append and the 250
          reaching the client), or a mail session killed with the host (or refused at quit
          because the undo of the killed host's in-place rewrite changed the file under it)
          had saved it before its quit could delete it; every such duplicate is counted and
          reported. Litter (temporary files of killed processes that nobody reads) is
          reported; a lock, a recovery record or any other file left in the spool fails.

Each reader session must exit 0 having seen at least the messages owed to its mailbox
(confirmed deliveries minus completed deletions), or see an empty mailbox when none are owed.
MULTIHOST_READER=file|system (default: both, alternating) chooses `mail -f PATH` (fcntl lock only,
Heirloom's rule for -f) or `mail -u USER` (the system mailbox: dotlock and fcntl) for the sessions.
--store files runs everything with MBOX_TEST_NO_XATTR=1 (the recovery records in files beside
the mailbox, as on an NFS without user xattrs). --probe-locks instead shows, as notes, what
the dotlock does between the hosts."""
import argparse
import collections
import os
import random
import re
import signal
import smtplib
import socket
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import tortlib

STATUS = re.compile(r" ([0-9A-F]+): to=<([^>]*)>, relay=([^,]*),.* status=(\w+) (.*)")
# A cut-off attempt that the lmtp client then retried on the other address in the same run.
CUT = re.compile(r" ([0-9A-F]+): (lost connection with .*)")
BANNER = re.compile(rb'^"[^"\n]*": (\d+) messages?\b', re.M)
lock = threading.Lock()


def note(text):
    print("  " + text, flush=True)


class Host:
    """One simulated host; boot() starts its daemon in a new PID namespace."""

    def __init__(self, name, holder, addr, a):
        self.name, self.holder, self.addr, self.a = name, int(holder), addr, a
        self.init = None
        self.proc = None
        self.crashed_at = 0.0
        self.env = dict(os.environ)
        if a.store == "files":
            self.env["MBOX_TEST_NO_XATTR"] = "1"

    def boot(self, pidbase):
        log = open(os.path.join(self.a.out, self.name + ".mda.log"), "ab")
        cmd = ["nsenter", "-t", str(self.holder), "-u", "-m", "-n", "--", "unshare", "--pid", "--fork",
               "sh", "-c", 'echo "$0" >/proc/sys/kernel/ns_last_pid && exec "$@"', str(pidbase),
               self.a.mda, "-C", self.a.conf, "-L", "inet:%s:24" % self.addr]
        self.proc = subprocess.Popen(cmd, stdout=log, stderr=log, env=self.env)
        for _ in range(100):
            kids = open("/proc/%d/task/%d/children" % (self.proc.pid, self.proc.pid)).read().split()
            if kids:
                break
            time.sleep(0.05)
        else:
            raise SystemExit("%s: no init process in the new PID namespace" % self.name)
        self.init = int(kids[0])
        with open(self.a.boots, "a") as f:
            f.write("%d\n" % self.init)
        for _ in range(100):
            try:
                s = socket.create_connection((self.addr, 24), timeout=2)
                greeting = s.recv(512)
                s.sendall(b"QUIT\r\n")
                s.close()
                if greeting.startswith(b"220 " + self.name.encode()):
                    return
                raise SystemExit("%s greets %r: not its own hostname" % (self.name, greeting))
            except OSError:
                time.sleep(0.05)
        raise SystemExit("%s: mda -L did not listen on %s:24" % (self.name, self.addr))

    def crash(self):
        with lock:
            init, self.init = self.init, None
            self.crashed_at = time.monotonic()
        os.kill(init, signal.SIGKILL)
        self.proc.wait()

    def stop(self):
        if self.init is None:
            return
        os.kill(self.init, signal.SIGTERM)   # the daemon drains its sessions
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.kill(self.init, signal.SIGKILL)
            self.proc.wait()
        self.init = None

    def run(self, argv, data=b"", env=None, background=False):
        """argv inside the host (its namespaces and its current PID namespace); None when down."""
        init = self.init
        if init is None:
            return None
        cmd = ["nsenter", "-t", str(init), "-u", "-m", "-n", "-p", "--"] + argv
        if background:
            return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env or self.env)
        return subprocess.run(cmd, input=data, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              env=env or self.env)


class Tracker(threading.Thread):
    """Reads Postfix's log: per queue id its final status, its relay, and cut-off attempts.
    A delivery can be logged before its submitter has read "queued as": lines of queue ids
    not registered yet wait in early[] until register() replays them."""

    def __init__(self, path):
        super().__init__(daemon=True)
        self.path, self.pos = path, 0
        self.qids = {}                 # qid -> (mid, box)
        self.early = collections.defaultdict(list)
        self.sent = {}                 # qid -> relay address
        self.other = {}                # qid -> final non-sent status line
        self.twice = collections.Counter()   # mid -> attempts "may be sent more than once"
        self.deferrals = collections.Counter()
        self.sent_box = collections.Counter()
        self.deleted = collections.Counter()   # box -> messages removed by completed mail sessions
        self.stop = threading.Event()

    def register(self, qid, mid, box):
        with lock:
            self.qids[qid] = (mid, box)
            for ln in self.early.pop(qid, []):
                self.event(qid, ln)

    def event(self, qid, ln):
        """One log line about qid (registered), under the lock."""
        mid, box = self.qids[qid]
        m = STATUS.search(ln)
        if not m:
            why = CUT.search(ln).group(2)
            self.deferrals[re.sub(r"\[[^]]*\]", "", why)[:90]] += 1
            if "more than once" in why:
                self.twice[mid] += 1
        elif m.group(4) == "sent":
            self.sent[qid] = re.sub(r".*\[([0-9.]+)\].*", r"\1", m.group(3))
            self.sent_box[box] += 1
        elif m.group(4) == "deferred":
            self.deferrals["deferred " + re.sub(r"\[[^]]*\]|<[^>]*>|:\d+", "", m.group(5))[:90]] += 1
            if "more than once" in m.group(5):
                self.twice[mid] += 1
        else:
            self.other[qid] = ln

    def poll(self):
        try:
            with open(self.path, "rb") as f:
                f.seek(self.pos)
                data = f.read()
        except FileNotFoundError:
            return
        data = data[:data.rfind(b"\n") + 1]
        self.pos += len(data)
        for ln in data.decode(errors="replace").splitlines():
            m = STATUS.search(ln) or CUT.search(ln)
            if not m:
                continue
            with lock:
                if m.group(1) in self.qids:
                    self.event(m.group(1), ln)
                else:
                    self.early[m.group(1)].append(ln)

    def run(self):
        while not self.stop.is_set():
            self.poll()
            time.sleep(0.1)


def submit(a, tr, ids, seed, errors):
    r = random.Random(seed)
    try:
        s = smtplib.SMTP("127.0.0.1", a.smtp_port, local_hostname="torture.test", timeout=120)
        for mid in ids:
            box = "u%03d" % r.randrange(a.boxes)
            raw = tortlib.make_message(mid, r.choice([500, 3000, 20000]), r)
            s.mail("torture@example.org")
            code, msg = s.rcpt("%s@localhost" % box)
            if code == 250:
                code, msg = s.data(raw.replace(b"\n", b"\r\n"))
            m = re.search(rb"queued as ([0-9A-F]+)", msg)
            if code != 250 or not m:
                with lock:
                    errors.append("submission of %s: %d %r" % (mid, code, msg))
                continue
            tr.register(m.group(1).decode(), mid, box)
        s.quit()
    except Exception as e:
        with lock:
            errors.append("submission: %r" % e)


class Readers:
    """A mail session loop per host on the shared mailboxes, one session per mailbox at once."""

    def __init__(self, a, hosts, tr, phase):
        self.a, self.hosts, self.tr, self.phase = a, hosts, tr, phase
        self.box_locks = {"u%03d" % i: threading.Lock() for i in range(a.boxes)}
        self.deleted = tr.deleted      # across phases: the floor compares with all deliveries
        self.runs = collections.Counter()
        self.killed_files = []
        self.failures = []
        self.empty = 0
        self.recoveries = collections.Counter()
        self.n = 0
        self.done = threading.Event()
        self.threads = [threading.Thread(target=self.loop, args=(h,)) for h in hosts]

    def start(self):
        for t in self.threads:
            t.start()

    def finish(self):
        self.done.set()
        for t in self.threads:
            t.join()

    def loop(self, host):
        r = random.Random(host.name + self.phase)
        while not self.done.is_set():
            boxes = list(self.box_locks)
            r.shuffle(boxes)
            for box in boxes:
                if self.box_locks[box].acquire(blocking=False):
                    try:
                        self.session(host, box, r)
                    finally:
                        self.box_locks[box].release()
                    break
            time.sleep(r.uniform(0, 0.05))

    def session(self, host, box, r):
        with lock:
            self.n += 1
            n = self.n
            floor = max(0, self.tr.sent_box[box] - self.deleted[box])
        saved = os.path.join(self.a.out, "saved", "%s-%s-%05d.mbox" % (self.phase, host.name, n))
        # Never more than the messages surely there: with fewer, "s 1-k" fails, the system
        # mailbox's new-mail check before the next prompt (Heirloom's) loads what arrived, and
        # "d 1-k" then deletes messages nobody saved, as the user asked, which this run would
        # count as lost (seen: 2 of 1,000).
        k = min(r.randint(1, 3), floor)
        env = dict(host.env)
        if n % 2:
            env["MBOX_TEST_IN_PLACE"] = "1"
        kind = os.environ.get("MULTIHOST_READER", "both")
        if kind == "file" or (kind == "both" and n % 4 < 2):
            # mail -f PATH: "any file", locked with fcntl only (Heirloom's rule for -f).
            argv = [self.a.mail, "-C", self.a.conf, "-f", os.path.join(self.a.mnt, "spool", box)]
        else:
            # The system mailbox (mail -u USER): fcntl and the dotlock; HOME holds its ~/mbox.
            env["HOME"] = os.path.join(self.a.out, "home", box)
            os.makedirs(env["HOME"], exist_ok=True)
            argv = [self.a.mail, "-C", self.a.conf, "-u", box]
        began = time.monotonic()
        script = "s 1-%d %s\nd 1-%d\nq\n" % (k, saved, k) if k else "q\n"
        p = host.run(argv, script.encode(), env=env)
        if p is None:
            time.sleep(0.1)           # the host is down
            return
        out = p.stdout
        with open(saved[:-len(".mbox")] + ".out", "wb") as f:   # for the post-mortem
            f.write(("%s %s exit %d, began %.3f, %s\n" % (host.name, " ".join(argv[3:]), p.returncode, began,
                                                         "in place" if n % 2 else "rename")).encode() + out)
        for what in (b"removed torn tail", b"undid an in-place rewrite"):
            self.recoveries[what.decode()] += out.count(what)
        with lock:
            killed = host.crashed_at >= began
        if killed:
            # Killed with its host: what it saved may still be in the mailbox (the quit never
            # ran, or was undone by the next locker), or not; the floor takes the lower count.
            self.killed_files.append(saved)
            if os.path.exists(saved):
                with lock:
                    self.deleted[box] += len(tortlib.split_mbox(open(saved, "rb").read()))
            self.runs["killed with the host"] += 1
            return
        self.runs[host.name] += 1
        with lock:
            last_crash = max(h.crashed_at for h in self.hosts)
        if b"was changed by another program since it was read" in out and 0 < last_crash < began and \
                time.monotonic() - last_crash < 30:
            # It indexed the mixed bytes of the killed host's in-place rewrite (mbox.h: a reader
            # sees them until the next writer's lock undoes it); the undo then changed the file
            # and its quit refused. What it saved may still be in the mailbox. main() requires
            # an undo in the logs for every such refusal.
            self.killed_files.append(saved)
            self.runs["refused after a crash"] += 1
            return
        if p.returncode == 0 and os.path.exists(saved):
            # Exit 0: the quit rewrote the mailbox (mail exits 1 when it could not), so what
            # the session saved and deleted is gone from it. Counted from the exit status, not
            # from "Held N messages": a system mailbox emptied by the quit prints nothing, and
            # an uncounted deletion raised every later floor on that mailbox by one.
            with lock:
                self.deleted[box] += len(tortlib.split_mbox(open(saved, "rb").read()))
        m = BANNER.search(out)
        # No mailbox yet: "No mail for USER" (mail -u), "PATH: No such file or directory" (-f).
        missing = out.startswith(b"No mail for ") or out.startswith(argv[-1].encode() + b": No such file or directory\n")
        seen = int(m.group(1)) if m else (0 if missing else None)
        if p.returncode == 0 and seen is not None and seen >= max(floor, 1):
            return
        if p.returncode == 1 and seen == 0 and floor == 0:
            self.empty += 1
            return
        self.failures.append("%s session on %s: exit %d, saw %s, owed at least %d: %s" % (
            host.name, box, p.returncode, seen, floor, out.decode(errors="replace")[-300:]))


def census(paths):
    """id -> copies, the torn messages, the ids per file."""
    copies, torn, per_file = collections.Counter(), [], {}
    for path in paths:
        try:
            data = open(path, "rb").read()
        except FileNotFoundError:
            continue
        ids = []
        for k, msg in enumerate(tortlib.split_mbox(data)):
            mid, good, why = tortlib.check_message(msg)
            if not good:
                torn.append("%s message %d (id %s): %s" % (path, k + 1, mid, why))
            if mid:
                copies[mid] += 1
                ids.append(mid)
        per_file[path] = ids
    return copies, torn, per_file


def files_to_check(a):
    boxes = [os.path.join(a.export, "u%03d" % i) for i in range(a.boxes)]
    sd = os.path.join(a.out, "saved")
    boxes += [os.path.join(a.out, "home", b, "mbox") for b in os.listdir(os.path.join(a.out, "home"))]
    return boxes + sorted(os.path.join(sd, f) for f in os.listdir(sd) if f.endswith(".mbox") and f[0] != ".")


def wait_sent(tr, total_before, n, timeout):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        with lock:
            if len(tr.sent) + len(tr.other) >= total_before + n:
                return True
        time.sleep(0.2)
    return False


def phase(a, hosts, tr, name, n, crashes=()):
    """Submits n messages with the readers running; after each fraction of CRASHES of them is
    sent, kills one host's daemon (hosta first, then they alternate) and boots it again.
    Returns the phase's problems and its readers."""
    problems = []
    start = time.monotonic()
    before = len(tr.sent) + len(tr.other)
    readers = Readers(a, hosts, tr, name)
    readers.start()
    ids = ["%s%s%d" % (a.store[0], name[0], i) for i in range(n)]
    errors = []
    subs = [threading.Thread(target=submit, args=(a, tr, ids[k::4], "%s%d" % (name, k), errors)) for k in range(4)]
    for t in subs:
        t.start()
    done = []
    for k, frac in enumerate(crashes):
        victim = hosts[k % 2]
        while len(tr.sent) < before + frac * n and time.monotonic() - start < 300:
            time.sleep(0.01)
        c = {"host": victim, "sent_before": len(tr.sent) - before}
        victim.crash()
        held = locks_now(a)
        time.sleep(1)
        victim.boot(a.pidbase + 16000 + 2000 * k)
        c["aged"] = age_dead_locks(a, held) if a.shared_spool else 0
        c["down_s"] = time.monotonic() - victim.crashed_at
        c["booted_at_sent"] = len(tr.sent)
        done.append(c)
    for t in subs:
        t.join()
    if not wait_sent(tr, before, n - len(errors), 300):
        problems.append("not every message was sent in time: %d of %d" % (len(tr.sent) - before, n))
    readers.finish()
    secs = time.monotonic() - start
    problems += errors[:5] + readers.failures[:5]
    with lock:
        relays = collections.Counter(tr.sent[q] for q, (mid, _b) in tr.qids.items() if q in tr.sent and mid in ids)
    note("%s: %d messages in %.1f s (%.0f msg/s), sent by hosta %d, hostb %d; mail sessions: hosta %d, hostb %d, "
         "killed with the host %d, quit refused after the undo of a killed rewrite %d; %d messages deleted in all, %d empty views with nothing owed" % (
             name, n, secs, n / secs, relays[hosts[0].addr], relays[hosts[1].addr], readers.runs["hosta"],
             readers.runs["hostb"], readers.runs["killed with the host"], readers.runs["refused after a crash"], sum(readers.deleted.values()), readers.empty))
    for h in hosts:
        if relays[h.addr] == 0:
            problems.append("%s delivered nothing in the %s phase: Postfix did not spread" % (h.name, name))
        if readers.runs[h.name] == 0:
            problems.append("no mail session ran on %s" % h.name)
    if sum(readers.deleted.values()) == 0:
        problems.append("no mail session deleted a message: the readers were not exercised")
    for k, c in enumerate(done):
        end = done[k + 1]["booted_at_sent"] if k + 1 < len(done) else None
        with lock:
            after = collections.Counter(tr.sent[q] for q in list(tr.sent)[c["booted_at_sent"]:end])
        v = c["host"]
        note("crash %d: %s's daemon got SIGKILL after %d sends of this phase, down %.1f s; then the new %s sent %d, "
             "the other host %d; dotlocks the dead host left, aged past 5 minutes: %d" % (
                 k + 1, v.name, c["sent_before"], c["down_s"], v.name, after[v.addr],
                 sum(after.values()) - after[v.addr], c["aged"]))
        if after[v.addr] == 0 and end is None:
            problems.append("the rebooted %s delivered nothing" % v.name)
    for what, k in readers.recoveries.items():
        if k:
            note("%s (seen by mail sessions): %d" % (what, k))
    return problems, readers


def check(a, tr, killed_files, strict):
    """Every sent message once (or within its documented allowance), intact; nothing else."""
    paths = files_to_check(a)
    copies, torn, per_file = census(paths)
    with lock:
        ok = {tr.qids[q][0] for q in tr.sent}
        maybe = {tr.qids[q][0] for q in tr.qids if q not in tr.sent}
        twice = dict(tr.twice)
    allow = collections.Counter(twice)
    for f in killed_files:
        for mid in set(per_file.get(f, [])):
            allow[mid] += 1
    # A session killed while saving may leave its own save file torn (its append journal stays
    # beside it until that file is locked again, which nobody does): counted apart.
    torn_killed = [t for t in torn if any(t.startswith(f + " ") for f in killed_files)]
    torn = [t for t in torn if t not in torn_killed]
    if torn_killed:
        note("torn in the save file of a session killed while saving (repaired at its next lock): %d" % len(torn_killed))
    problems = list(torn[:10])
    dup_lmtp = dup_reader = 0
    for mid, c in copies.items():
        if mid not in ok and mid not in maybe:
            problems.append("id %s present but never submitted" % mid)
        if c > 1:
            if c > 1 + allow[mid]:
                problems.append("id %s present %d times (allowed %d)" % (mid, c, 1 + allow[mid]))
            elif twice.get(mid):
                dup_lmtp += 1
            else:
                dup_reader += 1
    lost = sorted(ok - set(copies))
    problems += ["id %s LOST: Postfix logged it sent (250) but it is nowhere" % m for m in lost[:10]]
    if maybe:
        problems.append("%d messages were never sent" % len(maybe))
    note("check: %d messages sent, %d distinct ids present, %d torn, %d lost, %d duplicated in the LMTP "
         "window (cut off after DATA, %d such attempts), %d kept twice by a session killed with its host or refused "
         "after the undo" % (
             len(ok), len(copies), len(torn), len(lost), dup_lmtp, sum(twice.values()), dup_reader))
    if strict or not (dup_lmtp or dup_reader):
        okf, mayf = os.path.join(a.out, "ok.ids"), os.path.join(a.out, "maybe.ids")
        open(okf, "w").write("\n".join(sorted(ok)) + "\n")
        open(mayf, "w").write("\n".join(sorted(maybe)) + "\n")
        p = subprocess.run([sys.executable, os.path.join(HERE, "mbox_check.py"), "--ok", okf, "--maybe", mayf] + paths,
                           stdout=subprocess.PIPE, text=True)
        note("mbox_check.py (exactly once, intact): " + p.stdout.splitlines()[0])
        if p.returncode != 0:
            problems.append("mbox_check.py: " + p.stdout.strip()[:800])
    return problems


def leftovers(a):
    """Lock and record files left in the spool, and recovery xattrs still on the mailboxes.
    Temporary files of killed processes nobody will read are litter, reported, not failures:
    liblockfile's .lk<pid><t><host> (killed inside lockfile_create), a rename rewrite's
    .NAME.rewrite.XXXXXX and an in-place rewrite's backup .NAME.mda-backup.XXXXXX made before
    its record, and the temporary file of a record file being written (.NAME.mda-rewrite.XXXXXX)
    (a mail session killed during its quit). A backup that a record still names is no litter:
    the record is reported (the xattr, or its file, which is no litter name)."""
    bad, litter = [], []
    for f in sorted(os.listdir(a.export)):
        p = os.path.join(a.export, f)
        if re.fullmatch(r"u\d{3}", f):
            for x in os.listxattr(p):
                if x.startswith("user.mda."):
                    bad.append("%s still carries %s" % (f, x))
        elif f.startswith(".lk") or re.fullmatch(r"\.u\d{3}\.(rewrite|mda-backup|mda-rewrite|mda-journal)\.\w{6}", f):
            litter.append("%s (%d bytes)" % (f, os.path.getsize(p)))
        else:
            bad.append("%s left in the spool" % f)
    if litter:
        note("temporary files of killed processes left in the spool, never removed: " + ", ".join(litter))
    return bad


def mda_log_counts(a, hosts):
    c = collections.Counter()
    for h in hosts:
        try:
            text = open(os.path.join(a.out, h.name + ".mda.log"), errors="replace").read()
        except FileNotFoundError:
            continue
        for what in ("removed torn tail", "undid an in-place rewrite", "status=sent", "mailbox locked"):
            c[what] += text.count(what)
    return c


def probe_locks(a, hosts, shared):
    """The dotlock between hosts, with shared_spool = no (liblockfile's L_PID test, which asks
    this host's kernel: notes) and = yes (age only: asserted). Returns problems."""
    box = os.path.join(a.mnt, "spool", "u003")
    lk = box + ".lock"
    path = os.path.join(a.export, "u003.lock")
    raw = tortlib.make_message("probe", 500, random.Random(1))
    opt = "shared_spool=" + ("yes" if shared else "no")

    def deliver(h):
        t = time.monotonic()
        p = h.run([a.mda, "-C", a.conf, "-o", "lock_timeout=2", "-o", opt, "-f", "probe@example.org", "u003"], raw)
        return p.returncode, time.monotonic() - t

    holder = hosts[0].run(["dotlockfile", "-l", "-p", lk, "sleep", "6"], background=True)
    for _ in range(100):
        if os.path.exists(path):
            break
        time.sleep(0.05)
    live = deliver(hosts[0]) + deliver(hosts[1])
    holder.wait()
    # A lock left by a dead host whose PID happens to be alive on the other host.
    sleeper = hosts[1].run(["sh", "-c", "echo $$; exec sleep 8"], background=True)
    pid = sleeper.stdout.readline().decode().strip()
    with open(path, "w") as f:
        f.write(pid + "\n")
    old = time.time() - 3600
    os.utime(path, (old, old))
    dead = deliver(hosts[1])
    left = os.path.exists(path)
    dead += deliver(hosts[0])
    sleeper.kill()
    sleeper.wait()
    if os.path.exists(path):
        os.unlink(path)
    note("lock probe, %s: a live process on hosta holds u003.lock (dotlockfile -p): an mda on hosta exits %d "
         "after %.1f s, one on hostb exits %d after %.2f s" % ((opt,) + live))
    note("lock probe, %s: an hour-old u003.lock naming PID %s, dead on hosta, alive on hostb: hostb's mda exits "
         "%d after %.2f s, hosta's %d after %.2f s" % ((opt, pid) + dead))
    if not shared:
        if live[2] == 0:
            note("  so with shared_spool = no, hostb's liblockfile removed hosta's live lock as stale "
                 "(kill(pid, 0) on hostb finds no such process); only the fcntl lock kept them apart")
        return []
    problems = []
    if live[0] != 75 or live[2] != 75:
        problems.append("%s: a live lock on hosta did not make both hosts wait and defer (exits %d, %d)" % (
            opt, live[0], live[2]))
    if dead[0] != 0 or left:
        problems.append("%s: hostb did not remove an hour-old lock (exit %d)" % (opt, dead[0]))
    return problems


def locks_now(a):
    """The dotlocks in the spool: name -> (inode, ctime), which a new lock at the name changes."""
    got = {}
    for f in os.listdir(a.export):
        if f.endswith(".lock"):
            try:
                st = os.stat(os.path.join(a.export, f))
            except FileNotFoundError:
                continue
            got[f] = (st.st_ino, st.st_ctime_ns)
    return got


def age_dead_locks(a, before):
    """With shared_spool = yes a dotlock is stale only after liblockfile's 5 minutes: the locks
    the killed host held are still there, and mail to those mailboxes would wait that long.
    The simulation lets the 5 minutes pass for them only: a lock that was there at the kill
    and is the same file after the reboot (no live process holds one for a second) gets an
    mtime 10 minutes back. Returns how many."""
    n = 0
    for f, ident in locks_now(a).items():
        if before.get(f) == ident:
            old = time.time() - 600
            try:
                os.utime(os.path.join(a.export, f), (old, old))
                n += 1
            except FileNotFoundError:
                pass
    return n


def main():
    ap = argparse.ArgumentParser()
    for k in ("mda", "mail", "conf", "export", "mnt", "hosts", "boots", "maillog", "out"):
        ap.add_argument("--" + k)
    ap.add_argument("--smtp-port", type=int)
    ap.add_argument("--messages", type=int, default=300)
    ap.add_argument("--boxes", type=int, default=4)
    ap.add_argument("--store", default="xattr", choices=("xattr", "files"))
    ap.add_argument("--pidbase", type=int, default=2000)
    ap.add_argument("--crashes", type=int, default=1)
    ap.add_argument("--probe-locks", action="store_true")
    ap.add_argument("--shared-spool", action="store_true", help="the configuration says shared_spool = yes")
    a = ap.parse_args()
    os.makedirs(os.path.join(a.out, "saved"), exist_ok=True)
    os.makedirs(os.path.join(a.out, "home"), exist_ok=True)
    hosts = [Host(*ln.strip().split(":"), a) for ln in open(a.hosts) if ln.strip()]
    problems, all_readers = [], []
    try:
        hosts[0].boot(a.pidbase)
        hosts[1].boot(a.pidbase + 8000)
        if a.probe_locks:
            problems = probe_locks(a, hosts, False) + probe_locks(a, hosts, True)
            for p in problems:
                print("  PROBLEM: " + p)
            return 1 if problems else 0
        tr = Tracker(a.maillog)
        tr.start()
        half = a.messages // 2
        p, readers = phase(a, hosts, tr, "steady", half)
        all_readers.append(readers)
        problems += p + check(a, tr, [], strict=True)
        if not problems:
            p, readers = phase(a, hosts, tr, "crash", a.messages - half, [0.3] if a.crashes == 1 else
                               [0.1 + 0.6 * k / (a.crashes - 1) for k in range(a.crashes)])
            all_readers.append(readers)
            problems += p + check(a, tr, readers.killed_files, strict=False)
        tr.stop.set()
    finally:
        for h in hosts:
            h.stop()
    if not a.probe_locks:
        c = mda_log_counts(a, hosts)
        note("daemon logs: %d status=sent, torn tails removed %d, in-place rewrites undone %d, lock waits that "
             "deferred %d" % (c["status=sent"], c["removed torn tail"], c["undid an in-place rewrite"], c["mailbox locked"]))
        if tr.deferrals:
            note("Postfix, cut-off attempts and deferrals: " + "; ".join("%s (%d)" % kv for kv in tr.deferrals.most_common(4)))
        problems += leftovers(a)
        undone = c["undid an in-place rewrite"] + sum(r.recoveries["undid an in-place rewrite"] for r in all_readers)
        refused = sum(r.runs["refused after a crash"] for r in all_readers)
        if refused and not undone:
            problems.append("%d mail sessions were refused at quit after a crash, but no rewrite was undone" % refused)
    for p in problems:
        print("  PROBLEM: " + p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
