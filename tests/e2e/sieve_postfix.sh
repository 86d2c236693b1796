#!/bin/bash
# e2e: Sieve behind a real Postfix, first in stdin mode (mailbox_command), then over LMTP
# (local_transport): a user's ~/.dovecot.sieve with fileinto + imap4flags + vacation +
# reject. mail -f +Filed lists the filed messages flagged; the vacation reply reaches the
# sender once for two messages (and not again over LMTP: the memory is the user's); a
# rejected message comes back to the sender as a bounce with the reason; one LMTP
# transaction with two recipients, one rejecting, gets 550 and 250; the queue ends empty.
. "$SRCDIR/tests/e2e/lib.bash"
. "$SRCDIR/tests/e2e/postfix-lib.bash"
why=$(pf_available) || skip "$why"
getent group mail >/dev/null || skip "no mail group"
MDA=$BUILD/mda
SFX=$$
SA=sa$SFX SB=sb$SFX SC=sc$SFX
DPID=
cleanup() {
	[ -z "$DPID" ] || kill "$DPID" 2>/dev/null || true
	pf_stop
	for u in $SA $SB $SC; do userdel "$u" 2>/dev/null || true; done
}
trap cleanup EXIT
make_world
chmod 755 "$W" "$W/home"
for u in $SA $SB $SC; do
	useradd -M -d "$W/home/$u" -s /bin/sh "$u" || skip "useradd $u failed"
	mkdir -p "$W/home/$u" && chown "$u:" "$W/home/$u"
done
chown root:mail "$W/spool" && chmod 2775 "$W/spool"
for u in $SA $SB $SC; do install -m 0600 -o "$u" -g mail /dev/null "$W/spool/$u"; done
PORT=$((20000 + SFX % 20000))
# sendmail_path: mail re-injected into this sandbox's Postfix over SMTP (its own sendmail
# would need root to use a private configuration directory).
cat >"$W/sendmail" <<EOF
#!/usr/bin/python3
import smtplib, sys
args, sender, rcpts = sys.argv[1:], None, []
while args:
    a = args.pop(0)
    if a == "-f": sender = args.pop(0)
    elif a == "--": rcpts += args; break
    elif not a.startswith("-"): rcpts.append(a)
sender = "" if sender in (None, "<>") else sender
s = smtplib.SMTP("127.0.0.1", $PORT, local_hostname="mda.test", timeout=20)
s.sendmail(sender, rcpts, sys.stdin.buffer.read().replace(b"\n", b"\r\n"))
s.quit()
EOF
chmod 755 "$W/sendmail"
sed -i -e 's|^passwd_file = .*|passwd_file =|' -e "s|^aliases_db = .*|aliases_db =|" "$W/mda.conf"
printf 'mail_group = mail\nsendmail_path = %s/sendmail\n' "$W" >>"$W/mda.conf"
chmod 644 "$W/mda.conf"
cat >"$W/home/$SA/.dovecot.sieve" <<'EOF'
require ["fileinto", "imap4flags", "vacation", "reject"];
if header :contains "subject" "reject-me" {
	reject "no thanks, not here";
	stop;
}
if header :contains "subject" "file-me" {
	fileinto :flags ["\\Seen", "\\Flagged"] "Filed";
}
vacation :days 1 :subject "on holiday" "Back next week.";
EOF
echo 'set folder=mail' >"$W/home/$SA/.mailrc"
chown "$SA:" "$W/home/$SA/.dovecot.sieve" "$W/home/$SA/.mailrc"
chmod 644 "$W/home/$SA/.dovecot.sieve"

pf_start "$W/pf" "$PORT" "$MDA -C $W/mda.conf" || fail "postfix did not start"

# send SUBJECT RCPT...: from SB, prints the queue id.
send() {
	local subject=$1
	shift
	printf 'From: %s@localhost\r\nTo: %s@localhost\r\nSubject: %s\r\nMessage-ID: <%s.%s@example.org>\r\n\r\nhello\r\n' \
		"$SB" "$SA" "$subject" "${subject// /-}" "$SFX" >"$W/outgoing"
	pf_send_many "$W/outgoing" "$SB@localhost" "$@"
}
status_of() {   # QID RCPT
	pf_wait_status "$1" "$2@localhost" 40 || fail "no status for $2: $(tail -3 "$W/pf/maillog")"
}
# count_in USER PATTERN: lines of USER's spool matching PATTERN (extended regex).
count_in() { grep -cE "$2" "$W/spool/$1" 2>/dev/null || true; }
wait_for() {    # USER PATTERN N
	for _ in $(seq 150); do [ "$(count_in "$1" "$2")" -ge "$3" ] && return 0; sleep 0.2; done
	fail "$1 did not get $3 x '$2': $(tail -3 "$W/pf/maillog")"
}
expect() {      # LINE PATTERN WHAT
	echo "  $1"
	case "$1" in $2) ;; *) fail "$3: $1" ;; esac
}

echo "== stdin mode (mailbox_command): fileinto with flags, vacation once for two messages"
qid=$(send "file-me one" "$SA@localhost") || fail "submission"
expect "$(status_of "$qid" "$SA")" "*status=sent*" "first message"
wait_for "$SB" '^Subject: on holiday' 1
qid=$(send "file-me two" "$SA@localhost") || fail "submission"
expect "$(status_of "$qid" "$SA")" "*status=sent*" "second message"
pf_flush
sleep 2
check "one vacation reply for two messages ($(count_in "$SB" '^Subject: on holiday'))" \
	[ "$(count_in "$SB" '^Subject: on holiday')" = 1 ]
check "the reply came from the null sender" grep -q '^Return-Path: <>' "$W/spool/$SB"
check "the reply is marked automatic" grep -q '^Auto-Submitted: auto-replied' "$W/spool/$SB"
check "nothing in the spool of $SA (all filed)" [ "$(count_in "$SA" '^From ')" = 0 ]
out=$(cd / && runuser -u "$SA" -- env HOME="$W/home/$SA" "$BUILD/mail" -H -f +Filed 2>&1) || fail "mail -H -f +Filed: $out"
echo "$out" | sed 's/^/  /'
check "mail -f +Filed lists both, flagged" [ "$(grep -cE '^.F +[0-9]+ .*file-me' <<<"$out")" = 2 ]
# Postfix runs mailbox_command as the user: that process keeps the compiled script for the next.
bin=$W/home/$SA/.mda-sieve.bin
check "the compiled script is kept in ~/.mda-sieve.bin, the user's, 0600" \
	[ "$(stat -c '%U %a' "$bin" 2>/dev/null)" = "$SA 600" ]

echo "== stdin mode: reject bounces to the sender with the reason"
qid=$(send "reject-me please" "$SA@localhost") || fail "submission"
expect "$(status_of "$qid" "$SA")" "*dsn=5.7.1*status=bounced*no thanks, not here*" "reject"
# Postfix's bounces, counted by their subject: the vacation reply came from <> as well.
wait_for "$SB" '^Subject: Undelivered Mail Returned to Sender' 1
check "the bounce quotes the reason" grep -q "Sieve filter: no thanks" "$W/spool/$SB"

echo "== LMTP (local_transport): one transaction, two recipients, one rejecting"
postconf -c "$PF_CONF" -e "mailbox_command =" "local_transport = lmtp:unix:private/mda-lmtp" \
	"local_recipient_maps =" || fail "postconf"
pf_backdate
postfix -c "$PF_CONF" reload >/dev/null 2>&1 || fail "postfix reload"
"$MDA" -C "$W/mda.conf" -L "unix:$W/pf/queue/private/mda-lmtp" 2>>"$W/daemon.log" &
DPID=$!
for _ in $(seq 50); do [ -S "$W/pf/queue/private/mda-lmtp" ] && break; sleep 0.1; done
[ -S "$W/pf/queue/private/mda-lmtp" ] || fail "mda -L did not listen: $(tail -3 "$W/daemon.log")"
replies=$(python3 - "$W/pf/queue/private/mda-lmtp" "$SB" "$SA" "$SC" <<'EOF'
import socket, sys
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); f = s.makefile("rb")
def reply():
    while True:
        line = f.readline().decode()
        if len(line) < 4 or line[3] != "-":
            return line.strip()
reply()
for cmd in ["LHLO test", "MAIL FROM:<%s@localhost>" % sys.argv[2], "RCPT TO:<%s@localhost>" % sys.argv[3],
            "RCPT TO:<%s@localhost>" % sys.argv[4], "DATA"]:
    s.sendall((cmd + "\r\n").encode()); reply()
s.sendall(b"Subject: reject-me direct\r\n\r\nhello\r\n.\r\n")
print(reply()); print(reply())
s.sendall(b"QUIT\r\n"); reply()
EOF
)
echo "$replies" | sed 's/^/  /'
check "first recipient (the script's) 550 5.7.1" grep -q '^550 5\.7\.1 .*no thanks' <<<"$replies"
check "second recipient 250" grep -q '^250 ' <<<"$(sed -n 2p <<<"$replies")"
qid=$(send "reject-me lmtp" "$SA@localhost" "$SC@localhost") || fail "submission"
line=$(status_of "$qid" "$SA")
expect "$line" "*dsn=5.7.1*status=bounced*" "LMTP reject"
check "Postfix got 550 5.7.1 from mda" grep -q 'said: 550 5.7.1 .*no thanks' <<<"$line"
expect "$(status_of "$qid" "$SC")" "*status=sent*250 2.0.0*" "LMTP other recipient"
# mda names each LMTP transaction: the last rejection's id must carry the other recipient too.
tid=$(grep -F "to=<$SA@localhost>" "$W/daemon.log" | grep 'dsn=5.7.1' | tail -1 | sed -E 's/^mda: (warning: )?([^:]+):.*/\2/')
check "one LMTP transaction carried both ($tid)" grep -qF "$tid: to=<$SC@localhost>" "$W/daemon.log"
wait_for "$SB" '^Subject: Undelivered Mail Returned to Sender' 2
check "$SC got the message" [ "$(count_in "$SC" '^Subject: reject-me lmtp')" = 1 ]

echo "== LMTP: fileinto again, and no second vacation reply (the memory is the user's)"
qid=$(send "file-me three" "$SA@localhost") || fail "submission"
expect "$(status_of "$qid" "$SA")" "*status=sent*" "third message"
pf_flush
sleep 2
out=$(cd / && runuser -u "$SA" -- env HOME="$W/home/$SA" "$BUILD/mail" -H -f +Filed 2>&1) || fail "mail: $out"
check "three filed, flagged" [ "$(grep -cE '^.F +[0-9]+ .*file-me' <<<"$out")" = 3 ]
check "still one vacation reply" [ "$(count_in "$SB" '^Subject: on holiday')" = 1 ]
check "queue empty" grep -q 'Mail queue is empty' <<<"$(postqueue -c "$PF_CONF" -p)"
echo ok
