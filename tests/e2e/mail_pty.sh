#!/bin/bash
# mail(1) at a terminal: banner, summary, & prompt, type, delete, reply, save, mail arriving
# while the session is open, quit moving read mail to ~/mbox.
. "$(dirname "$0")/lib.bash"
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
? "$W/spool/alice": 3 messages 3 new\r
? >N  1 bob@example.com    Fri Sep 29 04:01    8/143   Hello there\r
? \? $
> t 1
? Message  1:
? first body
? \? $
> d 2
? \? $
> h
? >N  3 dave@example.com
? \? $
> s 3 +saved
? "[^"]*/home/alice/saved" \[New file\]
> set quote
? \? $
> R 1
? To: bob@example.com
? Subject: Re: Hello there
> my answer
> ~.
? EOT
? \? $
> q
? Saved 1 message in $W/home/alice/mbox
EOS
out=$(python3 "$SRCDIR/tests/e2e/pty_drive.py" "$W/script" -- env COLUMNS=80 "$BUILD/mail" -C "$W/mda.conf" \
	-o sendmail_path="$W/fake-sendmail" -u alice) || { echo "$out"; fail "pty session"; }
echo "$out"
check "reply args" grep -qx -- '-oi -- bob@example.com' "$W/sent.args"
# Heirloom: quote set gives "FROM wrote:", a blank line, the body indented by a tab
check "reply heading" grep -qx 'bob@example.com wrote:' "$W/sent.msg"
check "reply quoted with a tab" grep -qx "$(printf '\tfirst body')" "$W/sent.msg"
check "in-reply-to" grep -qx 'In-Reply-To: <1@x>' "$W/sent.msg"
check "saved file" grep -q '^Subject: Invoice' "$W/home/alice/saved"
check "mbox has read msg" grep -q '^Subject: Hello there' "$W/home/alice/mbox"
check "spool lost deleted+saved" bash -c "! grep -qE 'Subject: (Lunch|Invoice|Hello)' '$W/spool/alice'"

# mail arriving while the session is open
msg bob@example.com 4 "Keep me" "kept" >"$W/spool/alice"
cat >"$W/script2" <<EOS
? \? $
> d 1
? \? $
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
? \? $
> q
EOS
out=$(python3 "$SRCDIR/tests/e2e/pty_drive.py" "$W/script2" -- "$BUILD/mail" -C "$W/mda.conf" -u alice) ||
	{ echo "$out"; fail "pty session 2"; }
echo "$out"
check "late mail kept" grep -q '^Subject: Late' "$W/spool/alice"
check "deleted gone" bash -c "! grep -q 'Subject: Keep me' '$W/spool/alice'"
# Session 3: an rc file with if/else, encoded headers shown decoded, wide subjects, Save,
# ~h/~m/~f/~e while replying, record, and quit putting read mail in front of ~/mbox.
cd "$W" || fail "cd"
cat >"$W/rc3" <<EOS
if s
  set subject_only_when_sending
else
  set record=+sent.rc
endif
set indentprefix=">> "
EOS
cat >"$W/editor" <<'EOS'
#!/bin/sh
sed -i 's/^TYPO$/edited by editor/' "$1"
EOS
chmod +x "$W/editor"
printf 'From zed@example.com Thu Sep 28 01:00:00 2023\nFrom: zed@example.com\nSubject: older\nStatus: RO\n\nolder\n\n' >"$HOME/mbox"
{ printf 'From bob@example.com Fri Sep 29 04:01:11 2023\nFrom: =?UTF-8?Q?B=C3=B6b?= <bob@example.com>\nTo: alice@test.example\nSubject: =?UTF-8?B?5pel5pys6Kqe44Gu44Oh44O844Or?=\nMessage-ID: <9@x>\n\nquote me\n\n';
  msg carol@example.com 2 "Second" "second body"; } >"$W/spool/alice"
cat >"$W/script3" <<EOS
? >N  1 bob@example.com    Fri Sep 29 04:01 .*日本語のメール
? \? $
> t 1
? From: Böb <bob@example.com>
? Subject: 日本語のメール
? quote me
? \? $
> S 1
? "[^"]*bob" \[New file\]
? \? $
> m dave@example.com
? To: dave@example.com
? Subject: $
>
> ~h
? To \[dave@example.com\]: $
>
? Subject: $
> Via tilde h
? Cc: $
> erin@example.com
? Bcc: $
>
> ~m 2
? Interpolating: 2
? \(continue\)
> ~f 2
? Interpolating: 2
? \(continue\)
> TYPO
> ~e
? \(continue\)
> ~.
? EOT
? \? $
> t 2
? second body
? \? $
> q
? Saved 1 message in $W/home/alice/mbox
EOS
out=$(python3 "$SRCDIR/tests/e2e/pty_drive.py" "$W/script3" -- env LANG=C.UTF-8 LC_ALL=C.UTF-8 COLUMNS=80 \
	MAILRC="$W/rc3" EDITOR="$W/editor" "$BUILD/mail" -C "$W/mda.conf" -o sendmail_path="$W/fake-sendmail" -u alice) ||
	{ echo "$out"; fail "pty session 3"; }
echo "$out"
check "~h subject" grep -qx 'Subject: Via tilde h' "$W/sent.msg"
check "~h cc" grep -qx 'Cc: erin@example.com' "$W/sent.msg"
check "~h cc is a recipient" grep -qx -- '-oi -- dave@example.com erin@example.com' "$W/sent.args"
check "~m indents" grep -qx '>> second body' "$W/sent.msg"
check "~f does not" grep -qx 'second body' "$W/sent.msg"
check "~e edited" grep -qx 'edited by editor' "$W/sent.msg"
check "rc else branch: record" grep -q '^Subject: Via tilde h' "$W/home/alice/sent.rc"
check "saved message left the spool" bash -c "! grep -q '<9@x>' '$W/spool/alice'"
check "Save named after sender" grep -q '^Message-ID: <9@x>' "$W/bob"
check "read mail in front of mbox" bash -c "head -1 '$HOME/mbox' | grep -q '^From carol@example.com '"
check "older mail still in mbox" grep -q '^Subject: older' "$HOME/mbox"

# Session 4: edit and visual with $EDITOR/$VISUAL (sed scripts): the edited copy is what
# `type` shows, quit writes it back re-quoted under the original From_ line; exit drops it.
cat >"$W/ed.sed" <<'EOS'
s/^Subject: Edit me$/Subject: Edited/
s/^original text$/edited text/
s/^From inside$/From inside (now unquoted by the user)/
EOS
cat >"$W/vis.sed" <<'EOS'
s/^second body$/changed by visual/
EOS
{ printf 'From bob@example.com Fri Sep 29 04:01:11 2023\nFrom: bob@example.com\nTo: alice@test.example\nSubject: Edit me\nMessage-ID: <e1@x>\n\noriginal text\n>From inside\n\n';
  msg carol@example.com 2 "Second" "second body"; } >"$W/spool/alice"
cp "$W/spool/alice" "$W/spool.before"
cat >"$W/script4" <<EOS
? \? $
> e 1
? \? $
> t 1
? Subject: Edited
? edited text
? >From inside \(now unquoted by the user\)
? \? $
> v 2
? \? $
> h
? 9/180   Edited\r
? \? $
> x
EOS
out=$(python3 "$SRCDIR/tests/e2e/pty_drive.py" "$W/script4" -- env EDITOR="sed -i -f $W/ed.sed" VISUAL="sed -i -f $W/vis.sed" \
	"$BUILD/mail" -C "$W/mda.conf" -u alice) || { echo "$out"; fail "pty session 4 (exit)"; }
echo "$out"
check "exit leaves the edited mailbox untouched" cmp -s "$W/spool/alice" "$W/spool.before"
sed -i 's/^> x$/> q/' "$W/script4"
echo "? Held 2 messages in $W/spool/alice" >>"$W/script4"
echo "set hold" >"$W/rc4"
out=$(python3 "$SRCDIR/tests/e2e/pty_drive.py" "$W/script4" -- env EDITOR="sed -i -f $W/ed.sed" VISUAL="sed -i -f $W/vis.sed" \
	MAILRC="$W/rc4" "$BUILD/mail" -C "$W/mda.conf" -u alice) || { echo "$out"; fail "pty session 4 (quit)"; }
echo "$out"
check "edit written back" grep -qx 'edited text' "$W/spool/alice"
check "edited subject" grep -qx 'Subject: Edited' "$W/spool/alice"
check "visual written back" grep -qx 'changed by visual' "$W/spool/alice"
check "From_ line kept" grep -qx 'From bob@example.com Fri Sep 29 04:01:11 2023' "$W/spool/alice"
check "body From re-quoted" grep -qx '>From inside (now unquoted by the user)' "$W/spool/alice"
check "still two messages" test "$(grep -c '^From ' "$W/spool/alice")" = 2
# Send mode at a terminal: Heirloom's asksub asks for the Subject; ~q keeps the draft in
# dead.letter in mbox form and says '"PATH" lines/bytes'; an aborted draft gets no EOT.
rm -f "$HOME/dead.letter"
cat >"$W/script5" <<EOS
? Subject: $
> From a tty
> line one
> ~q
? "$HOME/dead.letter" [0-9]+/[0-9]+
EOS
out=$(python3 "$SRCDIR/tests/e2e/pty_drive.py" "$W/script5" -- "$BUILD/mail" -C "$W/mda.conf" \
	-o sendmail_path="$W/fake-sendmail" bob@example.com) || true   # exits 1: nothing was sent
echo "$out"
case $out in *"pty_drive: timed out"*) fail "pty session 5";; esac
check "~q: no EOT" bash -c "! printf '%s' \"\$1\" | grep -q EOT" _ "$out"
check "dead.letter in mbox form" bash -c "head -1 '$HOME/dead.letter' | grep -q '^From [^ ]* [A-Z][a-z][a-z] '"
check "dead.letter subject" grep -qx 'Subject: From a tty' "$HOME/dead.letter"
check "dead.letter body" grep -qx 'line one' "$HOME/dead.letter"

# Heirloom's z forms over 25 messages (screen 20), top's toplines+1 stored lines, - and +.
for i in $(seq 1 25); do
	printf 'From m%d@example.com Fri Sep 29 04:01:%02d 2023\nFrom: m%d@example.com\nSubject: number %d\n\nbody %d\n\n' \
		"$i" "$i" "$i" "$i" "$i"
done >"$W/spool/alice"
cat >"$W/script6" <<EOS
? N 20 m20@example.com
? \? $
> z
? N 25 m25@example.com
? \? $
> z
? On last screenful of messages
? \? $
> z-
? N  1 m1@example.com
? \? $
> z-
? On first screenful of messages
? \? $
> set toplines=2
? \? $
> top 3
? Message  3:\r\nFrom m3@example.com Fri Sep 29 04:01:03 2023\r\nFrom: m3@example.com\r\nSubject: number 3\r\n\? $
> -
? Message  2:
? \? $
> +
? Message  3:
? \? $
> 1
? \? $
> -
? Referencing before 1
? \? $
> x
EOS
out=$(python3 "$SRCDIR/tests/e2e/pty_drive.py" "$W/script6" -- "$BUILD/mail" -C "$W/mda.conf" -u alice) ||
	{ echo "$out"; fail "pty session 6"; }
echo "$out"

# Session 7: more/page/More page through PAGER whatever the length (type does not: crt is
# unset), show prints the stored text undecoded; quota says there is no limit.
{ msg bob@example.com 1 "Hello there" "first body"
  printf 'From c@x Fri Sep 29 04:02:11 2023\nFrom: c@x\nSubject: qp\nMIME-Version: 1.0\n'
  printf 'Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: quoted-printable\n\ncaf=C3=A9\n\n'; } >"$W/spool/alice"
cat >"$W/script7" <<EOS
? \? $
> t 1
? \r\nfirst body\r\n
? \? $
> more 1
? PG:first body
? \? $
> page 2
? PG:caf
? \? $
> More 1
? PG:Message-ID: <1@x>
? \? $
> show 2
? \r\ncaf=C3=A9\r\n
? \? $
> quota
? Mailbox $W/spool/alice: [0-9]+ bytes, no limit
? \? $
> x
EOS
out=$(python3 "$SRCDIR/tests/e2e/pty_drive.py" "$W/script7" -- env PAGER="sed s/^/PG:/" "$BUILD/mail" -C "$W/mda.conf" \
	-u alice) || { echo "$out"; fail "pty session 7"; }
echo "$out"
case $out in *"PG:first body"*"PG:first body"*"PG:first body"*) fail "type went through the pager";; esac
echo "mail_pty: ok"
