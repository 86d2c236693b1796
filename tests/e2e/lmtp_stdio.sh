#!/bin/bash
# LMTP on stdin/stdout (`mda -l`): smtplib.LMTP and raw conversations over a socketpair, then
# what reached the mailboxes (once each, dot-unstuffed, LF line ends) and what did not.
. "$SRCDIR/tests/e2e/lib.bash"
export MDA=${MDA:-$BUILD/mda}
[ -x "$MDA" ] || fail "no mda binary at $MDA"
command -v python3 >/dev/null || skip "python3 missing"
make_world
client() { python3 "$SRCDIR/tests/e2e/lmtp_client.py" "$@" 2>>"$W/client.log" || { tail -5 "$W/client.log"; fail "lmtp_client $*"; }; }
absent() { ! "$@"; }
count() { grep -c '^From ' "$W/spool/$1" 2>/dev/null || echo 0; }

# three messages over one session, each to alice, bob, carol (and one unknown user)
client "exec:$W/mda.conf" smtplib 3
for u in alice bob carol; do check "$u has 3 messages" [ "$(count $u)" = 3 ]; done
check "dot-unstuffed" grep -qx '\.leading dot' "$W/spool/alice"
check "From_ quoted in the body" grep -qx '>From here' "$W/spool/alice"
check "no CR reached the mailbox" absent grep -q $'\r' "$W/spool/alice"
check "no mailbox for the unknown user" [ ! -e "$W/spool/nosuchuser" ]
# one queue id per transaction, shared by that transaction's deliveries
ids=$(sed -n 's/^mda: \([0-9A-F]*\): to=<alice@test.example>.*status=sent.*/\1/p' "$W/client.log" | sort -u | wc -l)
check "three distinct queue ids for alice ($ids)" [ "$ids" = 3 ]

client "exec:$W/mda.conf" transcript
client "exec:$W/mda.conf" pipelined 4
check "pipelined messages delivered" [ "$(count bob)" = $((3 + 1 + 4)) ]
client "exec:$W/mda.conf" malformed
check "the message with an overlong line was not delivered" absent grep -q '^Subject: long' "$W/spool/alice"

# SMTP smuggling: <LF>.<LF> and the half-CRLF forms never end DATA; what follows is content of
# the one real message, and no message carries the forged envelope
for form in lf crlf-lf lf-crlf; do
	before=$(count carol)
	client "exec:$W/mda.conf" smuggle "$form" carol
	check "smuggle $form: exactly one more message" [ "$(count carol)" = $((before + 1)) ]
	check "smuggle $form: the real sender" grep -q "^From real@example.org .*" "$W/spool/carol"
	check "smuggle $form: the forged text is in the body" grep -qx "Subject: forged $form" "$W/spool/carol"
done
check "no message with the forged envelope" absent grep -q '^From forged@evil.example' "$W/spool/carol"
check "every real message kept" [ "$(grep -c '^From real@example.org ' "$W/spool/carol")" = 3 ]
# lmtp_bare_newline = reject: refused per recipient, nothing delivered, the session in step
cp "$W/mda.conf" "$W/reject.conf"
echo "lmtp_bare_newline = reject" >>"$W/reject.conf"
before=$(count alice)
client "exec:$W/reject.conf" bare_reject
check "reject mode: nothing delivered" [ "$(count alice)" = "$before" ]

# message_size_limit: advertised, enforced per recipient
cp "$W/mda.conf" "$W/small.conf"
echo "message_size_limit = 2000" >>"$W/small.conf"
client "exec:$W/small.conf" size 2000

# a client vanishing mid-DATA leaves no message and no temporary file
before=$(count alice)
client "exec:$W/mda.conf" vanish
sleep 0.3
check "no partial message" [ "$(count alice)" = "$before" ]
check "no temporary files left in tmp_dir" [ -z "$(ls -A "$W/tmp")" ]
check "no Subject: never" absent grep -q '^Subject: never' "$W/spool/alice"
echo "ok"
