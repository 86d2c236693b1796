#!/bin/bash
# A real MTA in front of `mda -L`: a throwaway Postfix (everything under $W/pf, system instance
# untouched) with local_transport = lmtp:unix:... so that one SMTP message to three local users
# becomes one LMTP transaction with three RCPTs. One mailbox is broken (a directory where the
# mbox should be): Postfix must log sent for two, deferred for the third, and after the repair
# and a queue flush the third gets the message once and the others get no second copy.
. "$SRCDIR/tests/e2e/lib.bash"
export MDA=${MDA:-$BUILD/mda}
[ -x "$MDA" ] || fail "no mda binary at $MDA"
[ "$(id -u)" = 0 ] || skip "needs root (Postfix runs its own master and lmtp client as postfix)"
command -v postfix >/dev/null && command -v postconf >/dev/null && command -v postqueue >/dev/null ||
	skip "postfix is not installed"
getent passwd postfix >/dev/null || skip "no postfix user"
command -v python3 >/dev/null || skip "python3 missing"

make_world
# Postfix's lmtp client runs as the postfix user: it must reach the socket.
chmod 755 "$W"
PF=$W/pf
SOCK=$W/lmtp/lmtp.sock
mkdir -p "$PF/etc" "$PF/spool" "$W/lmtp"
chmod 755 "$PF" "$PF/etc" "$PF/spool" "$W/lmtp"
DPID=
cleanup() {
	postfix -c "$PF/etc" stop >/dev/null 2>&1 || true
	[ -z "$DPID" ] || kill "$DPID" 2>/dev/null || true
	wait 2>/dev/null || true
}
trap cleanup EXIT

"$MDA" -C "$W/mda.conf" -L "unix:$SOCK" 2>>"$W/mda.log" &
DPID=$!
for _ in $(seq 50); do [ -S "$SOCK" ] && break; sleep 0.1; done
[ -S "$SOCK" ] || { cat "$W/mda.log"; fail "mda did not listen on $SOCK"; }

PORT=$(python3 -c "import socket; s=socket.socket(); s.bind(('127.0.0.1', 0)); print(s.getsockname()[1])")
cat >"$PF/etc/main.cf" <<EOC
compatibility_level = 3.6
queue_directory = $PF/spool
data_directory = $PF/data
maillog_file = $PF/maillog
maillog_file_prefixes = $PF
mail_owner = postfix
setgid_group = postdrop
myhostname = mda-test.localdomain
mydomain = localdomain
myorigin = \$myhostname
mydestination = \$myhostname, localhost
inet_interfaces = loopback-only
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
smtpd_relay_restrictions = permit_mynetworks, reject
default_transport = error:nothing leaves this test
alias_maps =
alias_database =
local_recipient_maps =
biff = no
smtputf8_enable = no
local_transport = lmtp:unix:$SOCK
EOC
# chroot off everywhere: the lmtp client must see $SOCK at its real path.
cat >"$PF/etc/master.cf" <<EOC
127.0.0.1:$PORT inet n - n - - smtpd
pickup unix n - n 60 1 pickup
cleanup unix n - n - 0 cleanup
qmgr unix n - n 300 1 qmgr
rewrite unix - - n - - trivial-rewrite
bounce unix - - n - 0 bounce
defer unix - - n - 0 bounce
trace unix - - n - 0 bounce
verify unix - - n - 1 verify
flush unix n - n 1000? 0 flush
proxymap unix - - n - - proxymap
showq unix n - n - - showq
error unix - - n - - error
retry unix - - n - - error
discard unix - - n - - discard
lmtp unix - - n - - lmtp
anvil unix - - n - 1 anvil
scache unix - - n - 1 scache
postlog unix-dgram n - n - 1 postlogd
EOC
# Postfix naps until a config file is over a second old; an old mtime avoids seconds of waiting.
touch -d '1 minute ago' "$PF/etc/main.cf" "$PF/etc/master.cf"
postfix -c "$PF/etc" start >/dev/null 2>&1 || { tail "$PF/maillog" 2>/dev/null; fail "postfix did not start"; }

# wait_log ERE [SKIP]: until ERE shows up in the Postfix log after the first SKIP lines
wait_log() {
	for _ in $(seq 300); do
		tail -n +$(( ${2:-0} + 1 )) "$PF/maillog" 2>/dev/null | grep -Eq -- "$1" && return 0
		sleep 0.1
	done
	tail -20 "$PF/maillog"; tail -20 "$W/mda.log"; fail "no /$1/ in the Postfix log"
}
copies() { grep -c '^Subject: lmtp postfix test' "$W/spool/$1" 2>/dev/null || echo 0; }

mkdir "$W/spool/carol"     # the broken mailbox: root ignores modes, but not a directory
QID=$(python3 - "$PORT" <<'EOP'
import re, smtplib, sys
s = smtplib.SMTP("127.0.0.1", int(sys.argv[1]))
s.ehlo("client.test")
code, text = s.mail("sender@example.org")[0], None
for r in ("alice@localhost", "bob@localhost", "carol@localhost"):
    if s.rcpt(r)[0] != 250:
        sys.exit("RCPT %s refused" % r)
code, text = s.data("From: sender@example.org\r\nSubject: lmtp postfix test\r\n\r\nbody\r\n.dot line\r\n")
s.quit()
m = re.search(rb"queued as ([0-9A-Za-z]+)", text)
if code != 250 or not m:
    sys.exit("DATA: %d %r" % (code, text))
print(m.group(1).decode())
EOP
) || fail "SMTP submission to Postfix"
echo "Postfix queue id $QID"

wait_log "$QID: to=<alice@localhost>.*status=sent"
wait_log "$QID: to=<bob@localhost>.*status=sent"
wait_log "$QID: to=<carol@localhost>.*status=deferred"
grep -E "$QID: to=<carol@localhost>.*status=deferred" "$PF/maillog" | grep -q '4\.2\.0.*not a regular file' ||
	fail "carol's deferral does not carry mda's 4.2.0 reason (mailbox refused: not a regular file)"
check "alice got it once" [ "$(copies alice)" = 1 ]
check "bob got it once" [ "$(copies bob)" = 1 ]
check "dot-unstuffed through Postfix" grep -qx '\.dot line' "$W/spool/alice"
# one LMTP transaction carried all three: mda logged alice and bob under one queue id
ids=$(sed -n 's/^mda: \([0-9A-F]*\): to=<\(alice\|bob\)@localhost>.*status=sent.*/\1/p' "$W/mda.log" | sort -u | wc -l)
check "alice and bob delivered in one LMTP transaction" [ "$ids" = 1 ]

# repair, retry: carol gets it once, nobody gets a second copy
rmdir "$W/spool/carol"
skip_lines=$(wc -l <"$PF/maillog")
postqueue -c "$PF/etc" -f
wait_log "$QID: to=<carol@localhost>.*status=sent" "$skip_lines"
wait_log "$QID: removed" "$skip_lines"
check "carol got it once" [ "$(copies carol)" = 1 ]
check "alice has no second copy" [ "$(copies alice)" = 1 ]
check "bob has no second copy" [ "$(copies bob)" = 1 ]
echo ok
