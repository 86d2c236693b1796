#!/usr/bin/env python3
"""Differential test of mda-sieve-test against Pigeonhole's sieve-test (tests/e2e/sieve_differential.sh).

Runs every script of tests/data/sieve/scripts against every message of tests/data/sieve/messages
with both tools, turns both outputs into one canonical form (a sorted list of actions: where the
message goes, with which flags, what is sent) and compares them. A pair that differs must be
listed in tests/data/sieve/known-differences with the RFC section that decides; any other
difference fails. Usage: sieve_diff.py MDA_SIEVE_TEST WORKDIR [--verbose]
"""
import os
import re
import shutil
import subprocess
import sys

SRC = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DATA = os.path.join(SRC, "tests", "data", "sieve")
DEFAULT_ARGS = ["-f", "sender@example.com", "-r", "bob+box@example.org"]


def script_args(path):
    """The '# args:' line of a script: extra envelope/options for both tools."""
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            if line.startswith("# args:"):
                return line[len("# args:"):].split()
    return []


def norm_flags(flags):
    return " ".join(sorted(set(f.lower() for f in flags)))


def norm_text(s):
    return " ".join(s.replace("??", " ").split())


def action(kind, target="", copy=False, create=False, flags=()):
    s = kind
    if target:
        s += " " + target
    if copy:
        s += " :copy"
    if create:
        s += " :create"
    if flags:
        s += " flags=" + norm_flags(flags)
    return s


# ---------------------------------------------------------------- Pigeonhole's output

def parse_pigeonhole(out, rc):
    if rc == 89 or "failed to compile" in out:
        return ["COMPILE-ERROR"]
    result = []
    if "final result: failed" in out:
        return ["ERROR", "keep"]
    sections = re.split(r"^## Executing script: .*$", out, flags=re.M)
    sections = [s for s in sections if "Performed actions:" in s] or [out]
    for i, sec in enumerate(sections):
        perf, _, impl = sec.partition("Implicit keep:")
        result += parse_actions(perf.split("Performed actions:", 1)[-1])
        if i == len(sections) - 1:
            result += parse_actions(impl)
    return sorted(result)


def parse_actions(text):
    acts = []
    cur = None
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        i += 1
        m = re.match(r"^ \* (.*)$", line)
        if m:
            if cur:
                acts.append(cur)
            what = m.group(1)
            cur = {"kind": what, "flags": [], "copy": False, "create": False, "vac": {}}
            continue
        if cur is None:
            continue
        d = line.strip()
        if d.startswith("+ add IMAP flags:"):
            cur["flags"] += d.split(":", 1)[1].split()
        elif d == "+ preserve implicit keep":
            cur["copy"] = True
        elif d == "+ create mailbox if it does not exist":
            cur["create"] = True
        elif d.startswith("=>"):
            k, _, v = d[2:].partition(":")
            cur["vac"][k.strip()] = v.strip()
        elif d == "START MESSAGE":
            body = []
            while i < len(lines) and lines[i] != "END MESSAGE":
                body.append(lines[i])
                i += 1
            i += 1
            cur["vac"]["reason"] = "\n".join(body)
    if cur:
        acts.append(cur)
    return [c for c in (canon_pigeonhole(a) for a in acts) if c]


def canon_pigeonhole(a):
    k = a["kind"]
    if k.startswith("store message in folder: "):
        folder = k.split(": ", 1)[1]
        if folder == "INBOX":
            return action("keep", flags=a["flags"])
        return action("fileinto", folder, a["copy"], a["create"], a["flags"])
    if k == "keep":
        return action("keep", flags=a["flags"])
    if k.startswith("redirect message to: "):
        return action("redirect", k.split(": ", 1)[1].strip("<>"), a["copy"])
    if k.startswith("reject message with reason: "):
        return "reject " + norm_text(k.split(": ", 1)[1])
    if k == "discard":
        return "discard"
    if k.startswith("track duplicate"):
        return None        # bookkeeping of the duplicate test, not an action
    if k.startswith("send vacation message"):
        v = a["vac"]
        s = "vacation seconds=%s reason=%s" % (v.get("seconds"), norm_text(v.get("reason", "")))
        for key in ("subject", "from", "handle"):
            if key in v:
                s += " %s=%s" % (key, v[key])
        return s
    return "UNKNOWN " + k


# ---------------------------------------------------------------- ours

STR = r'"((?:[^"\\]|\\.)*)"'


def unq(s):
    return re.sub(r"\\(.)", lambda m: "\n" if m.group(1) == "n" else m.group(1), s)


def parse_ours(out, rc):
    if rc == 65:
        return ["COMPILE-ERROR"]
    acts = []
    failed = False
    for line in out.splitlines():
        if line.startswith("error "):
            failed = True
            continue
        flags = []
        m = re.search(r' :flags ' + STR, line)
        if m:
            flags = unq(m.group(1)).split()
        if line.startswith("keep") or line.startswith("implicit keep"):
            acts.append(action("keep", flags=flags))
        elif line.startswith("fileinto"):
            folder = unq(re.findall(STR, line)[-1])
            acts.append(action("fileinto", folder, " :copy" in line, " :create" in line, flags))
        elif line.startswith("redirect"):
            acts.append(action("redirect", unq(re.findall(STR, line)[-1]), " :copy" in line))
        elif line.startswith("reject "):
            acts.append("reject " + norm_text(unq(re.findall(STR, line)[0])))
        elif line.startswith("ereject "):
            acts.append("ereject " + norm_text(unq(re.findall(STR, line)[0])))
        elif line == "discard":
            acts.append("discard")
        elif line.startswith("vacation"):
            acts.append(line)
    if failed:
        return ["ERROR", "keep"]
    return sorted(acts)


def vacation_fields(line):
    """Our vacation line as a dict: to, from, subject, seconds, handle, reason."""
    d = {}
    for k in ("to", "from", "subject", "handle"):
        m = re.search(r":%s %s" % (k, STR), line)
        if m:
            d[k] = unq(m.group(1))
    m = re.search(r":seconds (\d+)", line)
    d["seconds"] = m.group(1) if m else None
    body = line.split(" # not sent:")[0]
    d["reason"] = unq(re.findall(STR, body)[-1])
    return d


def same(ours, theirs):
    """Compares canonical lists; vacation lines compare the fields Pigeonhole prints."""
    if len(ours) != len(theirs):
        return False
    vo = [x for x in ours if x.startswith("vacation")]
    vt = [x for x in theirs if x.startswith("vacation")]
    if [x for x in ours if not x.startswith("vacation")] != [x for x in theirs if not x.startswith("vacation")]:
        return False
    if len(vo) != len(vt):
        return False
    for o, t in zip(vo, vt):
        d = vacation_fields(o)
        m = re.match(r"vacation seconds=(\S+) reason=(.*?)(?: (subject|from|handle)=|$)", t)
        if not m or m.group(1) != d["seconds"] or m.group(2) != norm_text(d["reason"]):
            return False
        for key in ("subject", "from", "handle"):
            tm = re.search(r" %s=(.*?)(?: (?:subject|from|handle)=|$)" % key, t)
            # a handle neither side was given is derived from the arguments, printed
            # over several lines by Pigeonhole: only given handles are compared
            if key == "handle" and d.get(key, "").endswith("MIME>"):
                continue
            if tm and tm.group(1) != d.get(key):
                return False
    return True


# ---------------------------------------------------------------- GNU Mailutils' sieve

def parse_mailutils(out, rc):
    """sieve -n -v logs one line per action; the implicit keep is not logged."""
    acts = []
    for line in out.splitlines():
        m = re.search(r": (FILEINTO|KEEP|DISCARD|REJECT|REDIRECT) on msg uid \d+(?:: (.*))?$", line)
        if not m:
            if "error" in line.lower() or "cannot" in line.lower():
                acts.append("ERROR")
            continue
        kind, rest = m.group(1), m.group(2) or ""
        if kind == "FILEINTO":
            acts.append("fileinto " + rest.replace("delivering into ", "", 1))
        elif kind == "REDIRECT":
            acts.append("redirect " + rest.split()[-1].strip("<>") if rest else "redirect")
        else:
            acts.append(kind.lower())
    if rc != 0 and not acts:
        return ["ERROR"]
    return sorted(acts)


def ours_for_mailutils(o_out, o_rc):
    """Our actions as Mailutils logs them: no implicit keep, flags or reasons."""
    ours = parse_ours("\n".join(l for l in o_out.splitlines() if not l.startswith("implicit keep")), o_rc)
    if ours[:1] in (["ERROR"], ["COMPILE-ERROR"]):
        return ours[:1]
    out = []
    for a in ours:
        if a.startswith("keep") or a.startswith("vacation"):
            if a.startswith("keep"):
                out.append("keep")
            continue
        a = re.sub(r" (:copy|:create|flags=.*)$", "", re.sub(r" flags=.*$", "", a))
        out.append(a.split(" ")[0] if a.startswith("reject") else a)
    return sorted(out)


def mailutils_compiles(script):
    try:
        return subprocess.run(["sieve", "-c", script], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              timeout=20).returncode == 0
    except subprocess.TimeoutExpired:
        return False


# ---------------------------------------------------------------- running

def run(cmd, env=None):
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, timeout=60)
    return p.stdout.decode("utf-8", "replace"), p.returncode


def pigeonhole_setup(work):
    os.makedirs(work, exist_ok=True)
    for d in ("mail", "personal", "global", "before"):
        os.makedirs(os.path.join(work, d), exist_ok=True)
    for d in ("personal", "global", "before"):
        for f in os.listdir(os.path.join(DATA, d)):
            shutil.copy(os.path.join(DATA, d, f), os.path.join(work, d, f))
    conf = os.path.join(work, "dovecot.conf")
    with open(conf, "w") as f:
        f.write("mail_location = mbox:%s/mail:INBOX=%s/inbox\n" % (work, work))
        f.write("plugin {\n  sieve = file:%s/personal\n  sieve_global = file:%s/global\n"
                "  sieve_extensions = +vacation-seconds\n}\n" % (work, work))
    for root, dirs, files in os.walk(work):
        os.chmod(root, 0o777)
        for x in files:
            os.chmod(os.path.join(root, x), 0o666)
    return conf


def load_known(name):
    known = {}
    with open(os.path.join(DATA, name), encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if line and not line.startswith("#"):
                key, _, why = line.partition(":")
                known[tuple(key.split())] = why.strip()
    return known


def main():
    ours_bin, work = sys.argv[1], sys.argv[2]
    verbose = "--verbose" in sys.argv
    conf = pigeonhole_setup(work)
    as_user = ["runuser", "-u", "nobody", "--"] if os.geteuid() == 0 else []
    env = dict(os.environ, TZ="UTC", HOME=work)
    known = load_known("known-differences")
    known_mu = load_known("known-differences-mailutils")
    have_mu = shutil.which("sieve") is not None
    mu = {"agree": 0, "known": 0, "scripts": 0, "skipped": 0}
    scripts = sorted(x for x in os.listdir(os.path.join(DATA, "scripts")) if x.endswith(".sieve"))
    messages = sorted(x for x in os.listdir(os.path.join(DATA, "messages")) if x.endswith(".eml"))
    agree = differ_known = 0
    failures = []
    for s in scripts:
        spath = os.path.join(work, s)
        shutil.copy(os.path.join(DATA, "scripts", s), spath)
        os.chmod(spath, 0o644)
        extra = [a.replace("PERSONAL", os.path.join(work, "personal")).replace("GLOBAL", os.path.join(work, "global"))
                 .replace("BEFORE", os.path.join(work, "before")) for a in script_args(spath)]
        ours_extra, theirs_extra = [], []
        i = 0
        while i < len(extra):
            a = extra[i]
            if a == "-m":      # a folder that exists: ours by name, Pigeonhole's as an mbox file
                ours_extra += ["-m", extra[i + 1]]
                open(os.path.join(work, "mail", extra[i + 1]), "a").close()
                os.chmod(os.path.join(work, "mail", extra[i + 1]), 0o666)
                i += 2
            elif a in ("-P", "-I"):
                ours_extra += [a, extra[i + 1]]
                i += 2
            else:
                ours_extra.append(a)
                theirs_extra.append(a)
                i += 1
        base = DEFAULT_ARGS if not any(a in ("-f", "-r") for a in theirs_extra) else []
        use_mu = have_mu and not extra and mailutils_compiles(spath)
        if have_mu:
            mu["scripts" if use_mu else "skipped"] += 1
        for m in messages:
            mpath = os.path.join(work, m)
            shutil.copy(os.path.join(DATA, "messages", m), mpath)
            os.chmod(mpath, 0o644)
            o_out, o_rc = run([ours_bin, "-t", "1744000000"] + base + ours_extra + [spath, mpath], env)
            t_out, t_rc = run(as_user + ["sieve-test", "-c", conf] + base + theirs_extra + [spath, mpath], env)
            ours, theirs = parse_ours(o_out, o_rc), parse_pigeonhole(t_out, t_rc)
            key = (s, m)
            wild = (s, "*")
            if use_mu:
                mbox = mpath + ".mbox"
                with open(mbox, "w", encoding="utf-8", errors="surrogateescape") as f, \
                        open(mpath, encoding="utf-8", errors="surrogateescape") as g:
                    f.write("From sender@example.com Tue Apr  1 10:20:30 2025\n" + g.read() + "\n")
                u_out, u_rc = run(["sieve", "-n", "-v", "-f", mbox, spath], env)
                mine, theirs_mu = ours_for_mailutils(o_out, o_rc), parse_mailutils(u_out, u_rc)
                if mine == theirs_mu:
                    mu["agree"] += 1
                else:
                    why = known_mu.get(key) or known_mu.get(wild)
                    line = "%s %s\n    ours:       %s\n    mailutils:  %s" % (s, m, mine, theirs_mu)
                    if why:
                        mu["known"] += 1
                        print("known  %s\n    why:        %s" % (line, why))
                    else:
                        failures.append(line)
                        print("DIFFER %s" % line)
            if same(ours, theirs):
                agree += 1
                if verbose:
                    print("agree  %s %s: %s" % (s, m, ours))
                continue
            why = known.get(key) or known.get(wild)
            line = "%s %s\n    ours:       %s\n    pigeonhole: %s" % (s, m, ours, theirs)
            if why:
                differ_known += 1
                print("known  %s\n    why:        %s" % (line, why))
            else:
                failures.append(line)
                print("DIFFER %s" % line)
                if verbose:
                    print(t_out)
    total = len(scripts) * len(messages)
    print("sieve differential: %d scripts x %d messages = %d runs: %d agree, %d differ as listed, %d differ"
          % (len(scripts), len(messages), total, agree, differ_known, len(failures)))
    if have_mu:
        print("sieve differential: GNU Mailutils sieve: %d scripts it compiles x %d messages: %d agree, "
              "%d differ as listed (%d scripts it cannot compile or that need options are left out)"
              % (mu["scripts"], len(messages), mu["agree"], mu["known"], mu["skipped"]))
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
