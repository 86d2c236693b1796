#!/bin/bash
# mail(1) send mode: a pipe composes without prompts, the message reaches sendmail with
# -oi -- and every recipient, Bcc stays out of the headers, MIME is right, failure keeps
# dead.letter and exits non-zero.
. "$(dirname "$0")/lib.bash"
make_world
export HOME=$W/home/alice MAILRC=/dev/null NAILRC_SKIP_SYSTEM=1
cat >"$W/fake-sendmail" <<EOS
#!/bin/sh
echo "\$@" >"$W/sent.args"
cat >"$W/sent.msg"
EOS
chmod +x "$W/fake-sendmail"
M() { "$BUILD/mail" -C "$W/mda.conf" -o sendmail_path="$W/fake-sendmail" "$@"; }

echo hi | M -s test bob@example.com || fail "plain send failed"
check "args" grep -qx -- '-oi -- bob@example.com' "$W/sent.args"
check "subject" grep -qx 'Subject: test' "$W/sent.msg"
check "to" grep -qx 'To: bob@example.com' "$W/sent.msg"
check "mime" grep -qx 'MIME-Version: 1.0' "$W/sent.msg"
check "ascii" grep -qx 'Content-Type: text/plain; charset=us-ascii' "$W/sent.msg"
check "body" bash -c "tail -1 '$W/sent.msg' | grep -qx hi"
check "date" grep -q '^Date: ' "$W/sent.msg"
check "msgid" grep -q '^Message-ID: <.*@test.example>' "$W/sent.msg"
# Without a hostname key: the name Postfix uses on this host (its myhostname default).
sed -i '/^hostname = /d' "$W/mda.conf"
echo hi | M -s fqdn bob@example.com || fail "send without hostname failed"
if command -v postconf >/dev/null; then
	mkdir -p "$W/pfd" && : >"$W/pfd/main.cf" && : >"$W/pfd/master.cf"
	pfname=$(postconf -c "$W/pfd" -dh myhostname)
	check "From: names Postfix's myhostname $pfname" grep -q "^From: .*@$pfname\$" "$W/sent.msg"
	check "Message-ID names $pfname" grep -q "^Message-ID: <.*@$pfname>\$" "$W/sent.msg"
fi
check "a fully qualified name" grep -q '^Message-ID: <.*@[^>.]*\.[^>]*>$' "$W/sent.msg"
echo "hostname = test.example" >>"$W/mda.conf"

printf 'Grüße\n' | M -s 'Grüße aus Köln' -c carol@example.com -b secret@example.com bob@example.com ||
	fail "utf-8 send failed"
check "cc+bcc args" grep -qx -- '-oi -- bob@example.com carol@example.com secret@example.com' "$W/sent.args"
check "no bcc header" bash -c "! grep -qi secret '$W/sent.msg'"
check "2047" grep -q '^Subject: =?UTF-8?Q?Gr=C3=BC=C3=9Fe_aus_K=C3=B6ln?=' "$W/sent.msg"
check "8bit" grep -qx 'Content-Transfer-Encoding: 8bit' "$W/sent.msg"

printf 'data\x01\x02' >"$W/blob.bin"
echo "see attachment" | M -s att -a "$W/blob.bin" bob@example.com || fail "attachment send failed"
check "multipart" grep -q '^Content-Type: multipart/mixed;' "$W/sent.msg"
check "base64" grep -qx 'ZGF0YQEC' "$W/sent.msg"
check "filename" grep -q 'filename="blob.bin"' "$W/sent.msg"

# -r: the envelope sender for the MTA (-f, with -F for a full name) and the From: header
echo hi | M -r 'Ann Example <ann@example.org>' -s from bob@example.com || fail "send with -r failed"
check "-r as -F name -f address" grep -qx -- '-oi -F Ann Example -f ann@example.org -- bob@example.com' "$W/sent.args"
check "-r as From:" grep -qx 'From: Ann Example <ann@example.org>' "$W/sent.msg"
echo hi | M -r ann@example.org -s from bob@example.com || fail "send with bare -r failed"
check "bare -r as -f" grep -qx -- '-oi -f ann@example.org -- bob@example.com' "$W/sent.args"
# -n skips only the system-wide rc file: MAILRC (~/.mailrc) is still read
printf 'alias team carol@example.com\n' >"$W/rc.user"
printf 'alias team system@example.com\n' >"$W/rc.system"
echo hi | (unset NAILRC_SKIP_SYSTEM; MAIL_SYSRC="$W/rc.system" MAILRC="$W/rc.user" M -n -s x team) || fail "-n send"
check "-n: user rc read, system rc not" grep -qx -- '-oi -- carol@example.com' "$W/sent.args"
echo hi | (unset NAILRC_SKIP_SYSTEM; MAIL_SYSRC="$W/rc.system" MAILRC="$W/rc.user" M -s x team) || fail "rc send"
check "without -n: both" grep -qx -- '-oi -- system@example.com carol@example.com' "$W/sent.args"

echo "lost?" | "$BUILD/mail" -C "$W/mda.conf" -o sendmail_path=/bin/false -s x bob@example.com &&
	fail "failed send exited 0"
check "dead.letter" grep -qx 'lost?' "$HOME/dead.letter"
# record: every sent message is kept, in mbox form, in the file it names (+ is under folder)
printf 'set folder=Mail record=+sent\n' >"$W/rc.record"
mkdir -p "$HOME/Mail"
printf 'From here on\n' | MAILRC="$W/rc.record" M -s rec1 bob@example.com || fail "send with record"
echo two | MAILRC="$W/rc.record" M -s rec2 bob@example.com || fail "second send with record"
echo lost | MAILRC="$W/rc.record" "$BUILD/mail" -C "$W/mda.conf" -o sendmail_path=/bin/false -s rec3 bob@example.com &&
	fail "failed send exited 0"
check "record quoted" grep -qx '>From here on' "$HOME/Mail/sent"
hl=$("$BUILD/mail" -C "$W/mda.conf" -Hf "$HOME/Mail/sent")
[ "$(echo "$hl" | wc -l)" = 2 ] || fail "record should hold 2 messages: $hl"
check "record subjects" bash -c "echo '$hl' | grep -q ' rec1$' && echo '$hl' | grep -q ' rec2$'"
echo "mail_send: ok"
