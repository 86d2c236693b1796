#!/bin/bash
# e2e: a mail session whose mailbox another program rewrites in place under it (a second
# session's quit in a spool the user cannot write) ends with a clear message and exit 1, not
# a core dump from SIGBUS; its own changes are not written, the other program's stay.
. "$SRCDIR/tests/e2e/lib.bash"
make_world
MAIL=$BUILD/mail
box=$W/box
python3 - "$box" <<'PY'
import sys
with open(sys.argv[1], "w") as f:
    for i in range(400):   # ~2 MB: several pages past what the shrunk file keeps
        f.write("From s%d@example.org Thu Dec  3 10:00:00 2026\nSubject: m%d\n\n%s\n\n" % (i, i, "x" * 5000))
PY
python3 - "$MAIL" "$W/mda.conf" "$box" "$W/out" <<'PY'
import os, subprocess, sys, time
mail, conf, box, out = sys.argv[1:]
env = dict(os.environ, HOME=os.path.dirname(box), MAILRC="/dev/null")
p = subprocess.Popen([mail, "-C", conf, "-N", "-f", box], stdin=subprocess.PIPE,
                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
p.stdin.write(b"d 1\n"); p.stdin.flush()
time.sleep(1)
# What an in-place rewrite that dropped most messages leaves: the first message, then the end.
with open(box, "r+b") as f:
    head = f.read(5100)
    f.seek(0); f.write(head[:head.index(b"\nFrom ", 1) + 1]); f.truncate()
p.stdin.write(b"p 300\nq\n"); p.stdin.close()
err = p.stderr.read().decode()
rc = p.wait(timeout=20)
open(out, "w").write("%d\n%s" % (rc, err))
PY
rc=$(head -1 "$W/out")
check "exit 1, not a signal (got $rc)" [ "$rc" = 1 ]
check "the message names the mailbox" grep -q "mail: $box was rewritten by another program while this session read it" "$W/out"
check "the session's 'd 1' was not written: the rewrite's one message is there" [ "$(grep -c '^From ' "$box")" = 1 ]
check "no core file" [ ! -e "$W/core" ]
echo ok
