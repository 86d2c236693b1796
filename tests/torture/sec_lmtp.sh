#!/bin/bash
# Security torture (root): the LMTP daemon against a second local user (uid 61002, no groups).
# (a) the default unix socket (0660, group postfix) lets the attacker not even connect, while a
#     member of group postfix can; (b) on a socket he may use (0666, and inet:127.0.0.1) he opens
#     all the connections he can and sends NOOP every second: another uid still gets 220 and
#     delivers, and his connections are cut after the junk limit; (c) SMTP smuggling with a
#     bare-LF end of data: one message per attempt, the real sender, nothing with the forged one.
. "$(dirname "$0")/lib.sh"
need_binaries
[ "$(id -u)" = 0 ] || skip "needs root (sockets owned by root, clients of other uids)"
PY=/usr/bin/python3
[ -x "$PY" ] || skip "no $PY (the attacker needs a python3 outside root's home)"
W=$T/world
world "$W" 1
chmod 755 "$T" "$W" "$W/home"
spool_shape "$W/spool" sticky
chmod 1777 "$W/tmp"
mkdir -p "$W/home/alice" "$T/run" "$T/att"
chown 61001:61001 "$W/home/alice"
chown 61002:61002 "$T/att"      # the attacker's marker files
chmod 755 "$T/run"
echo "alice:x:61001:61001:alice:$W/home/alice:/bin/sh" >>"$W/passwd"
DPIDS=()
cleanup() { for p in "${DPIDS[@]}"; do kill "$p" 2>/dev/null; done; wait 2>/dev/null; }
trap cleanup EXIT
conf_before=$(sha1sum "$W/mda.conf" "$W/passwd")

# daemon LOG ADDRESS [-o ...]: starts mda -L in the background and waits until it listens
daemon() {
	local log=$1 addr=$2
	shift 2
	: >"$log"
	"$MDA" -C "$W/mda.conf" "$@" -L "$addr" 2>"$log" &
	DPIDS+=($!)
	for _ in $(seq 50); do grep -q "listening on" "$log" && return 0; sleep 0.1; done
	cat "$log"; fail "mda -L $addr did not start"
}

cat >"$T/lmtp_sec.py" <<'EOP'
"""Clients for sec_lmtp.sh: probe TARGET | attack TARGET N SECONDS MARKER | deliver TARGET FROM
| smuggle TARGET FORM. TARGET is unix:PATH or inet:HOST:PORT."""
import select, socket, sys, time

def connect(target):
    if target.startswith("unix:"):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(target[5:])
    else:
        host, port = target[5:].rsplit(":", 1)
        s = socket.create_connection((host, int(port)))
    s.settimeout(10)
    return s

class Conn:
    def __init__(self, target):
        self.s, self.buf = connect(target), b""
    def line(self):
        while b"\n" not in self.buf:
            chunk = self.s.recv(4096)
            if not chunk:
                return None
            self.buf += chunk
        l, self.buf = self.buf.split(b"\n", 1)
        return l.rstrip(b"\r").decode()
    def reply(self):
        l = self.line()
        while l is not None and len(l) > 3 and l[3] == "-":
            l = self.line()
        return l
    def expect(self, prefix):
        l = self.reply()
        if l is None or not l.startswith(prefix):
            sys.exit("expected %r, got %r" % (prefix, l))
        return l

def probe(target):
    """Exit 0 with the greeting if we may connect, 3 if the socket refuses us."""
    try:
        c = Conn(target)
    except PermissionError as e:
        print("refused: %s" % e)
        sys.exit(3)
    print(c.reply())

def attack(target, n, seconds, marker):
    conns, greeted, refused = [], 0, {}
    for _ in range(int(n)):
        try:
            c = Conn(target)
            l = c.reply()
        except OSError as e:
            l = "connect: " + e.__class__.__name__
        if l and l.startswith("220"):
            c.s.sendall(b"LHLO evil.example\r\n")
            c.expect("250 ")
            conns.append(c)
            greeted += 1
        else:
            refused[l or "EOF"] = refused.get(l or "EOF", 0) + 1
    open(marker, "w").close()
    start, cut = time.time(), []
    while conns and time.time() - start < float(seconds):
        time.sleep(1)
        for c in list(conns):
            try:
                # what the server said after the last 250 (its 421), or the next NOOP's reply
                if c.buf or select.select([c.s], [], [], 0)[0]:
                    l = c.reply()
                else:
                    c.s.sendall(b"NOOP\r\n")
                    l = c.reply()
                    if l and l.startswith("250"):
                        continue
            except OSError as e:
                l = "error " + e.__class__.__name__
            cut.append("%.0fs %s" % (time.time() - start, l or "EOF"))
            conns.remove(c)
    print("greeted=%d still_open=%d" % (greeted, len(conns)))
    for k, v in refused.items():
        print("refused %d: %s" % (v, k))
    for l in cut:
        print("cut: " + l)

def deliver(target, sender):
    c = Conn(target)
    c.expect("220 ")
    c.s.sendall(b"LHLO victim.example\r\n")
    c.expect("250 ")
    c.s.sendall(("MAIL FROM:<%s>\r\nRCPT TO:<alice>\r\nDATA\r\n" % sender).encode())
    for want in ("250 2.1.0", "250 2.1.5", "354 "):
        c.expect(want)
    c.s.sendall(("Subject: from %s\r\n\r\ndelivered while under attack\r\n.\r\nQUIT\r\n" % sender).encode())
    print(c.expect("250 2.0.0 <alice>"))
    c.expect("221 ")

FORMS = {"lf": "\n.\n", "crlf-lf": "\r\n.\n", "lf-crlf": "\n.\r\n"}

def smuggle(target, form):
    """The whole conversation in one write, as a smuggling MTA would relay it; prints replies."""
    c = Conn(target)
    c.expect("220 ")
    c.s.sendall(("LHLO relay.example\r\nMAIL FROM:<real@example.org>\r\nRCPT TO:<alice>\r\nDATA\r\n"
                 "Subject: real %s\r\n\r\nreal body%sMAIL FROM:<forged@evil.example>\r\n"
                 "RCPT TO:<alice>\r\nDATA\r\nSubject: forged %s\r\n\r\nforged body\r\n.\r\nQUIT\r\n"
                 % (form, FORMS[form], form)).encode())
    while True:
        l = c.reply()
        if l is None:
            break
        print(l)

globals()[sys.argv[1]](*sys.argv[2:])
EOP
chmod 644 "$T/lmtp_sec.py"
attacker() { as_user 61002 timeout 60 "$PY" "$T/lmtp_sec.py" "$@"; }
victim() { as_user 61001 timeout 30 "$PY" "$T/lmtp_sec.py" "$@"; }

# (a) defaults: mode 0660, group postfix (or the daemon's own group where there is no postfix)
daemon "$T/a.log" "unix:$T/run/a.sock"
mode=$(stat -c '%a %U %G' "$T/run/a.sock")
[ "${mode%% *}" = 660 ] || fail "default socket mode is ${mode%% *}, not 660"
attacker probe "unix:$T/run/a.sock" >"$T/a.out" 2>&1
rc=$?
[ "$rc" = 3 ] || fail "(a) the attacker could connect to the default socket ($mode): rc $rc, $(cat "$T/a.out")"
note "(a) default socket $mode: attacker refused ($(cut -c1-60 "$T/a.out"))"
if getent passwd postfix >/dev/null && [ "${mode##* }" = postfix ]; then
	out=$(as_user "$(id -u postfix):$(id -g postfix)" timeout 30 "$PY" "$T/lmtp_sec.py" probe "unix:$T/run/a.sock") ||
		fail "(a) user postfix cannot connect to the default socket: $out"
	note "(a) user postfix connects: $out"
fi

# (b) sockets the attacker may use; small limits keep it short: 4 sessions per uid of 8, cut
#     after 5 junk commands + 3 errors (~8 s of one NOOP a second)
limits=(-o lmtp_socket_mode=0666 -o lmtp_max_connections=8 -o lmtp_client_connection_limit=4
	-o lmtp_junk_command_limit=5 -o lmtp_max_errors=3 -o lmtp_idle_timeout=30)
port=$($PY -c "import socket; s=socket.socket(); s.bind(('127.0.0.1', 0)); print(s.getsockname()[1])")
daemon "$T/b.log" "unix:$T/run/b.sock" "${limits[@]}"
daemon "$T/i.log" "inet:127.0.0.1:$port" "${limits[@]}"
for target in "unix:$T/run/b.sock" "inet:127.0.0.1:$port"; do
	name=${target%%:*}
	rm -f "$T/att/mark"
	attacker attack "$target" 20 14 "$T/att/mark" >"$T/att-$name.out" 2>&1 &
	apid=$!
	for _ in $(seq 100); do [ -e "$T/att/mark" ] && break; sleep 0.1; done
	[ -e "$T/att/mark" ] || fail "($name) the attacker never got its connections open"
	out=$(victim deliver "$target" "victim-$name@example.org" 2>&1) ||
		fail "($name) another uid could not deliver while the attacker holds connections: $out; $(cat "$T/att-$name.out")"
	note "($name) victim delivered under attack: $out"
	wait $apid || fail "($name) attacker script: $(cat "$T/att-$name.out")"
	greeted=$(sed -n 's/^greeted=\([0-9]*\).*/\1/p' "$T/att-$name.out")
	open=$(sed -n 's/.*still_open=\([0-9]*\)/\1/p' "$T/att-$name.out")
	[ -n "$greeted" ] && [ "$greeted" -le 4 ] || fail "($name) the attacker got $greeted sessions: $(cat "$T/att-$name.out")"
	[ "$open" = 0 ] || fail "($name) $open attacker sessions outlived the junk limit: $(cat "$T/att-$name.out")"
	grep -q '^refused [0-9]*: 421 4.7.0 .*too many connections from your uid' "$T/att-$name.out" ||
		fail "($name) no per-uid refusal: $(cat "$T/att-$name.out")"
	[ "$(grep -c '^cut: .*421 4.7.0' "$T/att-$name.out")" = "$greeted" ] ||
		fail "($name) not every attacker session was cut with 421 4.7.0: $(cat "$T/att-$name.out")"
	note "($name) attacker: $(head -1 "$T/att-$name.out"), $(grep -m1 '^refused' "$T/att-$name.out" | cut -c1-70), $(grep -m1 '^cut' "$T/att-$name.out")"
done
grep -q "refusing connection from .*uid=61002.*too many connections from your uid" "$T/b.log" ||
	fail "(b) the per-uid refusal is not logged"

# (c) smuggling through the 0666 socket, by the attacker: each attempt is one message
for form in lf crlf-lf lf-crlf; do
	attacker smuggle "unix:$T/run/b.sock" "$form" >"$T/c-$form.out" 2>&1 || fail "(c) smuggle $form: $(cat "$T/c-$form.out")"
	grep -q "forged" "$T/c-$form.out" && fail "(c) $form: the smuggled MAIL was answered: $(cat "$T/c-$form.out")"
	[ "$(grep -c '^250 2.0.0 <alice>' "$T/c-$form.out")" = 1 ] || fail "(c) $form: replies $(cat "$T/c-$form.out")"
done
mb=$W/spool/alice
readers_agree "$mb" 5
[ "$(grep -c '^From real@example.org ' "$mb")" = 3 ] || fail "(c) not one message per smuggling attempt from the real sender"
grep -q '^From forged@evil.example ' "$mb" && fail "(c) a message with the forged envelope was delivered"
for form in lf crlf-lf lf-crlf; do
	grep -qx "Subject: forged $form" "$mb" || fail "(c) $form: the smuggled text is not content of the real message"
done
[ "$(grep -c '^From victim-' "$mb")" = 2 ] || fail "(b) the victim's messages are not all in the mailbox"
[ "$(stat -c %u "$mb")" = 61001 ] || fail "the mailbox is not alice's"
[ "$(sha1sum "$W/mda.conf" "$W/passwd")" = "$conf_before" ] || fail "a file outside the mailbox changed"
note "(c) 3 smuggling attempts: 3 messages from real@example.org, none from forged@evil.example"
echo ok
