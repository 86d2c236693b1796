#!/bin/bash
# LMTP (`mda -l`, where expansion = auto is mda): one transaction with RCPT alice, RCPT team (alice, bob,
# carol), RCPT twin (an alias of alice alone) and RCPT carol (whose ~/.forward keeps a copy and
# runs a command) delivers once per mailbox and runs the command once; every RCPT gets its own
# 250 after DATA, in order (twin's destination was served already: 250 as Postfix gives); the
# duplicates are logged as such, without status=. The next transaction is a new message.
. "$SRCDIR/tests/e2e/lib.bash"
export MDA=${MDA:-$BUILD/mda}
[ -x "$MDA" ] || fail "no mda binary at $MDA"
command -v python3 >/dev/null || skip "python3 missing"
make_world
mkdir -p "$W/out" && chmod 1777 "$W/out" "$W/spool"
chmod 755 "$W" "$W/home"
# As root the world's users share uid 0, and commands never run as root: carol gets a uid.
if [ "$(id -u)" = 0 ]; then
	sed -i "s|^carol:x:0:0:|carol:x:61003:61003:|" "$W/passwd"
	chown 61003:61003 "$W/home/carol"
fi
printf 'team: alice, bob, carol\ntwin: alice\n' >"$W/aliases"
"$BUILD/newaliases" -C "$W/mda.conf" >/dev/null || fail "newaliases"
printf '\\carol, "|echo ran >> %s/out/runs"\n' "$W" >"$W/home/carol/.forward"
[ "$(id -u)" = 0 ] && chown 61003:61003 "$W/home/carol/.forward"

cat >"$W/client.py" <<'EOP'
import os, socket, subprocess, sys

def run(conf, transactions):
    ours, theirs = socket.socketpair()
    child = subprocess.Popen([os.environ["MDA"], "-C", conf, "-l"], stdin=theirs, stdout=theirs,
                             stderr=open(os.environ["W"] + "/mda.log", "a"))
    theirs.close()
    f = ours.makefile("rwb")
    def reply():
        while True:
            l = f.readline().decode().rstrip("\r\n")
            if len(l) < 4 or l[3] != "-":
                return l
    def cmd(c):
        f.write((c + "\r\n").encode()); f.flush()
        return reply()
    out = [reply(), cmd("LHLO client.test")]
    for rcpts in transactions:
        out.append(cmd("MAIL FROM:<sender@example.org>"))
        for r in rcpts:
            out.append(cmd("RCPT TO:<%s@test.example>" % r))
        out.append(cmd("DATA"))
        f.write(b"Subject: dedup\r\n\r\nhello\r\n.\r\n"); f.flush()
        out.extend(reply() for _ in rcpts)
    out.append(cmd("QUIT"))
    child.wait(timeout=30)
    print("\n".join(out))

run(sys.argv[1], [["alice", "team", "twin", "carol"], ["team"]])
EOP
W=$W python3 "$W/client.py" "$W/mda.conf" >"$W/replies" || fail "client: $(tail -3 "$W/replies")"
copies() { grep -c '^Subject: dedup$' "$W/spool/$1" 2>/dev/null || echo 0; }
# After DATA one reply per RCPT, in RCPT order, each 250 (twin's only destination was served).
after_data=$(grep -A4 -m1 '^354' "$W/replies" | tail -4 | cut -d' ' -f1,3 | tr '\n' ' ')
[ "$after_data" = "250 <alice@test.example> 250 <team@test.example> 250 <twin@test.example> 250 <carol@test.example> " ] ||
	fail "replies after DATA: $after_data; all: $(cat "$W/replies")"
check "alice got the first message once (and the second)" [ "$(copies alice)" = 2 ]
check "bob once per message" [ "$(copies bob)" = 2 ]
check "carol once per message" [ "$(copies carol)" = 2 ]
check "carol's command ran once per message" [ "$(wc -l <"$W/out/runs")" = 2 ]
check "the duplicate is logged" grep -q 'to=<alice@test.example>, orig_to=<team@test.example>, relay=local, expansion=mda, duplicate of mailbox alice in this message, not delivered again (first copy: sent)' "$W/mda.log"
check "twin's only destination was served: logged, not delivered" grep -q 'orig_to=<twin@test.example>, relay=local, expansion=mda, duplicate of mailbox alice' "$W/mda.log"
sent=$(grep -c 'status=sent' "$W/mda.log")
check "one status=sent per copy delivered (8, got $sent)" [ "$sent" = 8 ]
echo "ok"
