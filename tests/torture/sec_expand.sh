#!/bin/bash
# Security torture (root): recipient expansion against a second local user (mallory, uid 61002)
# through mda run as root, as Exim/OpenSMTPD run `mda -C conf user` and as the LMTP daemon.
# (a) mallory's ~/.forward names :include: files inside a 0700 root directory: a 0644 file and a
#     missing one. Nothing of the file may reach stderr, the log, a bounce or an LMTP reply, the
#     two must fail alike (no telling which exists), and no destination listed there is used.
# (b) mallory's ~/.forward includes ~/list of 49,000 remote addresses; one LMTP transaction
#     with 30 RCPTs for him: the first is accepted, the rest get 452 4.5.3 (expansion_limit per
#     message), the session process stays under a memory bound, RSET gives the budget back;
#     stdin mode exits 69 for a recipient over the limit alone and 75 for one over it only
#     with the recipients before it.
# SEC_ATTACKS (env) runs only some ("a", "b"), e.g. to see each fail on an older build.
. "$(dirname "$0")/lib.sh"
need_binaries
[ "$(id -u)" = 0 ] || skip "needs root (mda reading for other users, files of other owners)"
PY=/usr/bin/python3
[ -x "$PY" ] || skip "no $PY"
W=$T/world
world "$W" 1
chmod 755 "$T" "$W" "$W/home"
chmod 1777 "$W/tmp"
mkdir -p "$W/home/alice" "$W/home/mallory" "$T/run" "$T/sent"
chown 61001:61001 "$W/home/alice"
chown 61002:61002 "$W/home/mallory"
chmod 1777 "$T/sent"
cat >>"$W/passwd" <<EOP
alice:x:61001:61001:alice:$W/home/alice:/bin/sh
mallory:x:61002:61002:mallory:$W/home/mallory:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin
EOP
# The forwarding "MTA" records whom it was asked to send to; nothing else.
cat >"$T/sendmail" <<EOS
#!/bin/sh
echo "\$*" >>$T/sent/log
cat >/dev/null
EOS
chmod 755 "$T/sendmail"
printf 'sendmail_path = %s\nfsync = no\n' "$T/sendmail" >>"$W/mda.conf"
printf 'small: a@small.example, b@small.example, c@small.example\n' >>"$W/aliases"
"$NEWALIASES" -C "$W/mda.conf" >/dev/null || fail "newaliases"
MSG=$'Subject: hello\n\nbody\n'
DPIDS=()
cleanup() { for p in "${DPIDS[@]}"; do kill "$p" 2>/dev/null; done; wait 2>/dev/null; }
trap cleanup EXIT

# daemon LOG SOCKET [-o ...]: mda -L as root in the background (run through WRAP), once it listens.
WRAP=()
daemon() {
	local log=$1 sock=$2
	shift 2
	: >"$log"
	"${WRAP[@]}" "$MDA" -C "$W/mda.conf" "$@" -L "unix:$sock" 2>"$log" &
	DPIDS+=($!)
	for _ in $(seq 50); do grep -q "listening on" "$log" && return 0; sleep 0.1; done
	cat "$log"; fail "mda -L did not start"
}

cat >"$T/lmtp_exp.py" <<'EOP'
"""Clients for sec_expand.sh: deliver SOCK RCPT | rcpts SOCK DAEMON_PID N RCPT_PREFIX."""
import os, socket, sys

class Conn:
    def __init__(self, path):
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.s.connect(path)
        self.s.settimeout(60)
        self.buf = b""
    def line(self):
        while b"\n" not in self.buf:
            chunk = self.s.recv(65536)
            if not chunk:
                return None
            self.buf += chunk
        l, self.buf = self.buf.split(b"\n", 1)
        return l.rstrip(b"\r").decode(errors="replace")
    def reply(self):
        l = self.line()
        while l is not None and len(l) > 3 and l[3] == "-":
            l = self.line()
        return l
    def cmd(self, text):
        self.s.sendall(text.encode() + b"\r\n")
        return self.reply()

def hello(path):
    c = Conn(path)
    c.reply()
    c.cmd("LHLO mta.example")
    return c

def deliver(path, rcpt):
    """Prints every reply of one delivery."""
    c = hello(path)
    print(c.cmd("MAIL FROM:<sender@example.org>"))
    print(c.cmd("RCPT TO:<%s>" % rcpt))
    print(c.cmd("DATA"))
    c.s.sendall(b"Subject: hello\r\n\r\nbody\r\n.\r\n")
    print(c.reply())
    c.cmd("QUIT")

def vm(pid, key):
    for l in open("/proc/%d/status" % pid):
        if l.startswith(key + ":"):
            return int(l.split()[1])
    return -1

def rcpts(path, daemon, n, prefix):
    """N RCPTs in one transaction: each reply, the session's VmRSS/VmHWM (kB), then RSET and
    one more transaction."""
    c = hello(path)
    kids = open("/proc/%s/task/%s/children" % (daemon, daemon)).read().split()
    session = int(kids[-1])
    print("rss-start %d" % vm(session, "VmRSS"))
    print(c.cmd("MAIL FROM:<sender@example.org>"))
    for i in range(int(n)):
        print("rcpt %d %s" % (i, c.cmd("RCPT TO:<%s+%d>" % (prefix, i))))
        if i == 0:
            print("rss-first %d" % vm(session, "VmRSS"))
    print("rss-end %d" % vm(session, "VmRSS"))
    print("hwm %d" % vm(session, "VmHWM"))
    print("rset %s" % c.cmd("RSET"))
    print(c.cmd("MAIL FROM:<sender@example.org>"))
    print("again %s" % c.cmd("RCPT TO:<%s>" % prefix))
    c.cmd("QUIT")

globals()[sys.argv[1]](*sys.argv[2:])
EOP

part() { [[ " ${SEC_ATTACKS:-a b} " == *" $1 "* ]]; }

attack_a() {
	local rc before VDIR=$T/victim
	mkdir -m 700 "$VDIR"
	printf 'Victim-Secret-Line-One\nvictim-secret-two@victim.example\n|touch %s/pwned\n' "$T" >"$VDIR/readable.txt"
	chmod 644 "$VDIR/readable.txt"
	before=$(sha1sum "$VDIR/readable.txt")
	as_user 61002 sh -c "printf ':include:%s\n:include:%s\n' '$VDIR/readable.txt' '$VDIR/missing.txt' >'$W/home/mallory/.forward'
		chmod 644 '$W/home/mallory/.forward'" || fail "(a) mallory cannot write his .forward"
	secret_in() { grep -il 'secret' "$@"; }

	printf '%s' "$MSG" | timeout 30 "$MDA" -C "$W/mda.conf" -f sender@example.org -- mallory >"$T/a.out" 2>"$T/a.err"
	rc=$?
	[ "$rc" = 124 ] && fail "(a) stdin mode hung"
	secret_in "$T/a.out" "$T/a.err" && fail "(a) the victim file reached stdin mode's output: $(cat "$T/a.err")"
	for f in readable missing; do
		grep -qF "cannot open :include: file $VDIR/$f.txt: Permission denied" "$T/a.err" ||
			fail "(a) $f.txt does not fail as 'cannot open ... Permission denied': $(cat "$T/a.err")"
	done
	[ "$rc" = 69 ] || fail "(a) stdin mode exit $rc, expected 69 (both branches failed): $(cat "$T/a.err")"
	note "(a) stdin mode as root: exit $rc, $(head -1 "$T/a.err" | cut -c1-110)"

	daemon "$T/a.log" "$T/run/a.sock"
	timeout 60 "$PY" "$T/lmtp_exp.py" deliver "$T/run/a.sock" mallory >"$T/a.lmtp" 2>&1 || fail "(a) LMTP client: $(cat "$T/a.lmtp")"
	kill "${DPIDS[-1]}"; wait "${DPIDS[-1]}" 2>/dev/null
	secret_in "$T/a.lmtp" "$T/a.log" && fail "(a) the victim file reached the LMTP replies or log: $(cat "$T/a.lmtp")"
	grep -q "^5[0-9][0-9] .*cannot open :include: file $VDIR/readable.txt: Permission denied" "$T/a.lmtp" ||
		fail "(a) LMTP reply: $(cat "$T/a.lmtp")"
	note "(a) LMTP daemon as root: $(tail -1 "$T/a.lmtp" | cut -c1-110)"
	[ -e "$T/pwned" ] && fail "(a) a command from the victim file ran"
	[ -s "$T/sent/log" ] && fail "(a) something was forwarded: $(cat "$T/sent/log")"
	[ "$(sha1sum "$VDIR/readable.txt")" = "$before" ] || fail "(a) the victim file changed"
	[ -e "$VDIR/missing.txt" ] && fail "(a) $VDIR/missing.txt appeared"
	note "(a) victim file unchanged and unread, nothing forwarded, no command run"
}

attack_b() {
	local rc asan dpid start secs n452 hwm first base
	as_user 61002 sh -c "seq -f 'member%06g@list.example.org' 0 48999 >'$W/home/mallory/list' &&
		printf ':include:%s\n' '$W/home/mallory/list' >'$W/home/mallory/.forward'" || fail "(b) mallory cannot write his list"
	chmod 644 "$W/home/mallory/list" "$W/home/mallory/.forward"
	# A regression must not take the machine with it: the session may have 1 GB of address space
	# (ASan needs terabytes of it, and its quarantine keeps freed memory: no bound there).
	asan=0
	grep -q __asan_init "$MDA" && asan=1
	[ "$asan" = 0 ] && WRAP=(bash -c 'ulimit -v 1048576 && exec "$@"' limit)
	daemon "$T/b.log" "$T/run/b.sock"
	dpid=${DPIDS[-1]}
	start=$(date +%s)
	timeout 300 "$PY" "$T/lmtp_exp.py" rcpts "$T/run/b.sock" "$dpid" 30 mallory >"$T/b.out" 2>&1 ||
		fail "(b) LMTP client: $(tail -5 "$T/b.out")"
	secs=$(($(date +%s) - start))
	grep -q '^rcpt 0 250 ' "$T/b.out" || fail "(b) the first RCPT was not accepted: $(grep '^rcpt 0' "$T/b.out")"
	n452=$(grep -c '^rcpt [0-9]* 452 4\.5\.3 .*expansion_limit' "$T/b.out")
	[ "$n452" = 29 ] || fail "(b) $n452 of 29 later RCPTs got 452 4.5.3: $(grep '^rcpt' "$T/b.out" | sort -u -k3 | head -3)"
	grep -q '^again 250 ' "$T/b.out" || fail "(b) after RSET the recipient is still refused: $(grep '^again' "$T/b.out")"
	hwm=$(sed -n 's/^hwm //p' "$T/b.out")
	first=$(sed -n 's/^rss-first //p' "$T/b.out")
	base=$(sed -n 's/^rss-start //p' "$T/b.out")
	if [ "$asan" = 0 ]; then
		# 49,000 destinations held (~5 MB), one more expansion at a time, the 1.2 MB list text.
		[ "$hwm" -lt 65536 ] || fail "(b) the session's peak RSS is $hwm kB (bound 64 MB)"
	fi
	note "(b) 30 RCPTs x 49,000 addresses in ${secs}s: 1 accepted, 29 x 452 4.5.3; session RSS ${base} kB -> ${first} kB after the first, peak ${hwm} kB; RSET frees the budget"
	grep -m1 '^rcpt 1 ' "$T/b.out" | cut -c1-120 | sed 's/^/  /'

	printf '%s' "$MSG" | timeout 60 "$MDA" -C "$W/mda.conf" -o expansion_limit=1000 -f s@example.org -- mallory >/dev/null 2>"$T/b1.err"
	rc=$?
	[ "$rc" = 69 ] || fail "(b) stdin mode over the limit alone: exit $rc, expected 69: $(head -1 "$T/b1.err")"
	grep -q '^5\.2\.4 .*expansion_limit' "$T/b1.err" || fail "(b) stdin mode: $(head -1 "$T/b1.err")"
	printf '%s' "$MSG" | timeout 60 "$MDA" -C "$W/mda.conf" -o expansion_limit=5 -f s@example.org -- small small+again >/dev/null 2>"$T/b2.err"
	rc=$?
	[ "$rc" = 75 ] || fail "(b) stdin mode over the limit with the recipient before: exit $rc, expected 75: $(head -1 "$T/b2.err")"
	grep -q '^4\.5\.3 ' "$T/b2.err" || fail "(b) stdin mode: $(head -1 "$T/b2.err")"
	[ "$(grep -c small.example "$T/sent/log")" = 3 ] || fail "(b) the first recipient's 3 forwards: $(cat "$T/sent/log")"
	note "(b) stdin mode: exit 69 ($(head -1 "$T/b1.err" | cut -c1-60)...), exit 75 for the second of two"
}

# (a) :include: of a file in a 0700 root directory; (b) 49,000 addresses per RCPT, 30 RCPTs
part a && attack_a
part b && attack_b
echo ok
