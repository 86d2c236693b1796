#!/bin/bash
# e2e: what a modern Postfix sends over LMTP (local_transport = lmtp:, smtputf8_enable = yes,
# DSN advertised): an internationalised message is delivered, not bounced; the DSN ORCPT
# Postfix passes (a virtual alias rewrote the recipient) becomes X-Original-To; an
# over-quota recipient is bounced 5.2.2 while the other recipient of the same message is
# delivered; a full mailbox is refused at RCPT time; XFORWARD names the SMTP client in the
# Received line and the log; biff reaches a comsat listener.
. "$SRCDIR/tests/e2e/lib.bash"
. "$SRCDIR/tests/e2e/postfix-lib.bash"
why=$(pf_available) || skip "$why"
MDA=$BUILD/mda
SFX=$$
UA=ma$SFX UB=mb$SFX
DPID= BPID=
cleanup() {
	[ -z "$DPID" ] || kill "$DPID" 2>/dev/null || true
	[ -z "$BPID" ] || kill "$BPID" 2>/dev/null || true
	pf_stop
	for u in $UA $UB; do userdel "$u" 2>/dev/null || true; done
}
trap cleanup EXIT
make_world
chmod 755 "$W" "$W/home"
for u in $UA $UB; do
	useradd -M -d "$W/home/$u" -s /bin/sh "$u" || skip "useradd $u failed"
	mkdir -p "$W/home/$u" && chown "$u:" "$W/home/$u"
done
chown root:mail "$W/spool" && chmod 2775 "$W/spool"
# ub may hold 3000 bytes: the first message fits, the second does not.
printf '%s 3000\n' "$UB" >"$W/quota"
sed -i -e 's|^passwd_file = .*|passwd_file =|' -e "s|^aliases_db = .*|aliases_db =|" "$W/mda.conf"
cat >>"$W/mda.conf" <<EOC
mail_group = mail
expansion = mda
quota_file = $W/quota
lmtp_xforward_clients = postfix
EOC
chmod 644 "$W/mda.conf" "$W/quota"
# A comsat stand-in: every datagram to the test port goes to a file.
BIFF_PORT=$((30000 + SFX % 20000))
python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", int(sys.argv[1])))
out = open(sys.argv[2], "ab", buffering=0)
while True:
    out.write(s.recv(4096) + b"\n")' "$BIFF_PORT" "$W/biff.log" &
BPID=$!
printf 'sales@localhost %s@localhost\n' "$UA" >"$W/virtual"
PORT=$((20000 + SFX % 20000))
pf_start "$W/pf" "$PORT" "" "local_transport = lmtp:unix:private/mda-lmtp" "alias_maps =" \
	"local_recipient_maps =" "smtputf8_enable = yes" "virtual_alias_maps = texthash:$W/virtual" \
	"lmtp_send_xforward_command = yes" ||
	fail "postfix did not start"
MDA_TEST_BIFF_PORT=$BIFF_PORT "$MDA" -C "$W/mda.conf" -L "unix:$W/pf/queue/private/mda-lmtp" 2>>"$W/daemon.log" &
DPID=$!
for _ in $(seq 50); do [ -S "$W/pf/queue/private/mda-lmtp" ] && break; sleep 0.1; done
[ -S "$W/pf/queue/private/mda-lmtp" ] || fail "mda -L did not listen: $(tail -3 "$W/daemon.log")"

# send FROM RCPT... < message
send() { cat >"$W/outgoing" && pf_send_many "$W/outgoing" "$@"; }
status_of() {   # QID RCPT
	local i line
	for i in $(seq 150); do
		line=$(grep -F "$1: to=<$2>" "$W/pf/maillog" | grep 'status=' | tail -1)
		[ -n "$line" ] && { echo "$line"; return 0; }
		sleep 0.2
	done
	fail "no status for $2: $(tail -3 "$W/pf/maillog")"
}

echo "== SMTPUTF8: a UTF-8 sender and subject reach the mailbox"
qid=$(printf 'From: J\xc3\xbcrgen <j\xc3\xbcrgen@example.org>\r\nSubject: Gr\xc3\xbc\xc3\x9fe\r\n\r\nk\xc3\xb6ln\r\n' |
	send "j$(printf '\xc3\xbc')rgen@example.org" "$UA@localhost") || fail "SMTPUTF8 submission"
line=$(status_of "$qid" "$UA@localhost")
echo "  $line"
case "$line" in *status=sent*) ;; *) fail "UTF-8 message not delivered: $line" ;; esac
check "UTF-8 From_ sender" grep -q "^From j$(printf '\xc3\xbc')rgen@example.org " "$W/spool/$UA"
check "UTF-8 subject kept" grep -q "^Subject: Gr$(printf '\xc3\xbc\xc3\x9f')e" "$W/spool/$UA"

echo "== DSN ORCPT: the address before Postfix's virtual alias is X-Original-To"
qid=$(printf 'Subject: to sales\r\n\r\nfor sales\r\n' | send sender@example.org "sales@localhost") || fail "submission"
line=$(status_of "$qid" "$UA@localhost")
case "$line" in *status=sent*) ;; *) fail "sales: $line" ;; esac
check "X-Original-To from ORCPT" grep -qx "X-Original-To: sales@localhost" "$W/spool/$UA"

echo "== quota: the over-quota recipient bounces 5.2.2, the other of the same message is delivered"
big=$(head -c 2500 /dev/zero | tr '\0' x)
printf 'Subject: fits\r\n\r\n%s\r\n' "small" | send sender@example.org "$UB@localhost" >/dev/null || fail "submission"
for _ in $(seq 100); do grep -q '^Subject: fits' "$W/spool/$UB" 2>/dev/null && break; sleep 0.2; done
qid=$(printf 'Subject: too big for ub\r\n\r\n%s\r\n' "$big" | send sender@example.org "$UA@localhost" "$UB@localhost") ||
	fail "submission"
la=$(status_of "$qid" "$UA@localhost") lb=$(status_of "$qid" "$UB@localhost")
echo "  $la"
echo "  $lb"
case "$la" in *status=sent*) ;; *) fail "ua not delivered: $la" ;; esac
case "$lb" in *dsn=5.2.2*status=bounced*) ;; *) fail "ub not bounced 5.2.2: $lb" ;; esac
check "ub's mailbox unchanged" [ "$(grep -c '^From ' "$W/spool/$UB")" = 1 ]
echo "== a full mailbox is refused at RCPT time"
printf '%s 10\n' "$UB" >"$W/quota"
qid=$(printf 'Subject: x\r\n\r\nx\r\n' | send sender@example.org "$UB@localhost") || fail "submission"
lb=$(status_of "$qid" "$UB@localhost")
echo "  $lb"
case "$lb" in *5.2.2*"RCPT TO"*) ;; *) fail "not refused at RCPT: $lb" ;; esac

echo "== XFORWARD from Postfix (a trusted client): the Received line and the log name the SMTP client"
check "mda's Received line names the SMTP client" grep -qE "^Received: from client\.test \(localhost\[127\.0\.0\.1\]\) \(forwarded by local\[uid=$(id -u postfix)\]\)" "$W/spool/$UA"
check "a structured log line per delivery" grep -qE "to=<$UA@localhost>, relay=local, expansion=mda, client=localhost\[127\.0\.0\.1\], size=[0-9]+, dest=\"mailbox $W/spool/$UA\", delay=[0-9.]+, delay_ms=[0-9]+, dsn=2\.0\.0, status=sent" "$W/daemon.log"
grep -m1 "client=localhost" "$W/daemon.log" | sed 's/^/  /'

echo "== biff: one datagram per mailbox delivery"
check "comsat got $UA@offset:mailbox" grep -q "^$UA@[0-9]*:$W/spool/$UA\$" "$W/biff.log"
echo "  $(wc -l <"$W/biff.log") datagrams"
pf_flush
echo ok
