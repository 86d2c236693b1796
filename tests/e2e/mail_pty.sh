#!/bin/bash
# mail(1) at a terminal: banner, summary, & prompt, type, delete, reply, save, mail arriving
# while the session is open, quit moving read mail to ~/mbox.
. "$(dirname "$0")/lib.sh"
make_world
export HOME=$W/home/alice MAILRC=/dev/null NAILRC_SKIP_SYSTEM=1 TZ=UTC
unset MAIL
cat >"$W/fake-sendmail" <<EOS
#!/bin/sh
echo "\$@" >"$W/sent.args"
cat >"$W/sent.msg"
EOS
chmod +x "$W/fake-sendmail"
msg() { printf 'From %s Fri Sep 29 04:0%s:11 2023\nFrom: %s\nTo: alice@test.example\nSubject: %s\nMessage-ID: <%s@x>\n\n%s\n\n' "$1" "$2" "$1" "$3" "$2" "$4"; }
{ msg bob@example.com 1 "Hello there" "first body"; msg carol@example.com 2 "Lunch" "second body";
  msg dave@example.com 3 "Invoice" "third body"; } >"$W/spool/alice"
cat >"$W/script" <<EOS
? Type \? for help\.
? "$W/spool/alice": 3 messages 3 new 3 unread
? >N  1 bob@example.com    Fri Sep 29 04:01    8/143   "Hello there"
? & $
> t 1
? Message 1:
? first body
? & $
> d 2
? & $
> h
? >N  3 dave@example.com
? & $
> s 3 +saved
? "\+saved" \[New file\]
> R 1
? To: bob@example.com
? Subject: Re: Hello there
> my answer
> ~.
? EOT
? & $
> q
? Saved 1 message in $W/home/alice/mbox
EOS
out=$(python3 "$SRCDIR/tests/e2e/pty_drive.py" "$W/script" -- env COLUMNS=80 "$BUILD/mail" -C "$W/mda.conf" \
	-o sendmail_path="$W/fake-sendmail" -u alice) || { echo "$out"; fail "pty session"; }
echo "$out"
check "reply args" grep -qx -- '-oi -- bob@example.com' "$W/sent.args"
check "reply quoted" grep -qx '> first body' "$W/sent.msg"
check "in-reply-to" grep -qx 'In-Reply-To: <1@x>' "$W/sent.msg"
check "saved file" grep -q '^Subject: Invoice' "$W/home/alice/saved"
check "mbox has read msg" grep -q '^Subject: Hello there' "$W/home/alice/mbox"
check "spool lost deleted+saved" bash -c "! grep -qE 'Subject: (Lunch|Invoice|Hello)' '$W/spool/alice'"

# mail arriving while the session is open
msg bob@example.com 4 "Keep me" "kept" >"$W/spool/alice"
cat >"$W/script2" <<EOS
? & $
> d 1
? & $
! printf 'From eve@example.com Fri Sep 29 04:05:11 2023\nFrom: eve@example.com\nSubject: Late\n\nlate\n\n' >"$W/late.msg"
EOS
if [ -x "$BUILD/mda" ]; then
	echo "! \"$BUILD/mda\" -C \"$W/mda.conf\" alice <\"$W/late.msg\" || cat \"$W/late.msg\" >>\"$W/spool/alice\"" >>"$W/script2"
else
	echo "note: $BUILD/mda missing; simulating arrival by appending to the spool" >&2
	echo "! cat \"$W/late.msg\" >>\"$W/spool/alice\"" >>"$W/script2"
fi
cat >>"$W/script2" <<EOS
> =
? New mail has arrived\.
? & $
> q
EOS
out=$(python3 "$SRCDIR/tests/e2e/pty_drive.py" "$W/script2" -- "$BUILD/mail" -C "$W/mda.conf" -u alice) ||
	{ echo "$out"; fail "pty session 2"; }
echo "$out"
check "late mail kept" grep -q '^Subject: Late' "$W/spool/alice"
check "deleted gone" bash -c "! grep -q 'Subject: Keep me' '$W/spool/alice'"
echo "mail_pty: ok"
