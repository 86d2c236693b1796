#!/bin/bash
# e2e: a real Postfix with mailbox_command = the built mda. Checks what an MTA sees: sent with
# exactly one From_/Return-Path/Delivered-To (Postfix's own Delivered-To is no loop), deferred
# (never bounced) when the mailbox is unwritable, and a retry that delivers once.
. "$SRCDIR/tests/e2e/lib.bash"
. "$SRCDIR/tests/e2e/postfix-lib.bash"
why=$(pf_available) || skip "$why"
MDA=$BUILD/mda
user=mdapf$$
PORT=$((20000 + $$ % 20000))
cleanup() {
	pf_stop
	pkill -KILL -u "$user" 2>/dev/null || true
	userdel "$user" 2>/dev/null || true
}
trap cleanup EXIT

make_world
chmod 755 "$W"
chmod 1777 "$W/spool"
useradd -M -d "$W/home/$user" -s /bin/sh "$user" || skip "useradd failed"
mkdir -p "$W/home/$user"
chown "$user:" "$W/home/$user"
# Real users (no passwd_file), syslog as in production (Postfix shows stderr only on failure).
sed -i -e 's|^passwd_file = .*|passwd_file =|' -e 's|^log = .*|log = syslog|' "$W/mda.conf"
chmod 644 "$W/mda.conf"
# Postfix runs the command as the recipient: the binary and every parent must be reachable.
setpriv --reuid="$user" --regid="$(id -g "$user")" --clear-groups test -x "$MDA" \
	|| fail "$MDA is not executable by $user (check the modes of its parent directories)"

pf_start "$W/pf" "$PORT" "$MDA -C $W/mda.conf" || fail "postfix did not start"
msg=$W/msg.txt
printf 'From: Sender <sender@example.org>\nTo: %s@localhost\nSubject: via postfix\n\nbody one\n' "$user" >"$msg"

echo "== first message: sent"
qid=$(pf_send sender@example.org "$user@localhost" "$msg") || fail "SMTP submission failed"
line=$(pf_wait_status "$qid" "$user@localhost") || fail "no delivery status; log: $(tail -5 "$W/pf/maillog")"
echo "$line"
case "$line" in *status=sent*) ;; *) fail "not sent: $line" ;; esac
box=$W/spool/$user
check "one From_ line" [ "$(grep -c '^From ' "$box")" = 1 ]
check "From_ has the sender" grep -q '^From sender@example.org ' "$box"
check "one Return-Path" [ "$(grep -c '^Return-Path:' "$box")" = 1 ]
check "one Delivered-To" [ "$(grep -c '^Delivered-To:' "$box")" = 1 ]
check "at most one X-Original-To" [ "$(grep -c '^X-Original-To:' "$box")" -le 1 ]
check "Delivered-To value" grep -qx "Delivered-To: $user@localhost" "$box"
check "Postfix's Received kept" grep -q '^Received: from client.test' "$box"
check "body" grep -qx 'body one' "$box"
check "mailbox owned by the user" [ "$(stat -c %U "$box")" = "$user" ]

echo "== unwritable mailbox: deferred, never bounced, mailbox untouched"
sum=$(md5sum <"$box")
chmod 0444 "$box"
skip_lines=$(pf_log_lines)
sed -i 's/body one/body two/' "$msg"
qid2=$(pf_send sender@example.org "$user@localhost" "$msg") || fail "SMTP submission failed"
line=$(pf_wait_status "$qid2" "$user@localhost" 30 "$skip_lines") || fail "no status for $qid2"
echo "$line"
case "$line" in *status=deferred*) ;; *) fail "expected deferred: $line" ;; esac
check "no bounce" sh -c "! grep -q '$qid2: .*status=bounced' '$W/pf/maillog'"
check "mailbox untouched" [ "$(md5sum <"$box")" = "$sum" ]

echo "== locked mailbox: deferred too"
chmod 0600 "$box"
chown "$user:" "$box"
touch "$box.lock"
sed -i -e 's|^lock_timeout = .*|lock_timeout = 1|' "$W/mda.conf"
skip_lines=$(pf_log_lines)
pf_flush
line=$(pf_wait_status "$qid2" "$user@localhost" 30 "$skip_lines") || fail "no retry status for $qid2"
echo "$line"
case "$line" in *status=deferred*) ;; *) fail "expected deferred while locked: $line" ;; esac
check "mailbox untouched" [ "$(md5sum <"$box")" = "$sum" ]

echo "== fixed: the retry delivers, once"
rm -f "$box.lock"
skip_lines=$(pf_log_lines)
pf_flush
line=$(pf_wait_status "$qid2" "$user@localhost" 30 "$skip_lines") || fail "no retry status for $qid2"
echo "$line"
case "$line" in *status=sent*) ;; *) fail "retry not sent: $line" ;; esac
check "two messages now" [ "$(grep -c '^From ' "$box")" = 2 ]
check "second body once" [ "$(grep -c '^body two$' "$box")" = 1 ]
check "one Delivered-To per message" [ "$(grep -c '^Delivered-To:' "$box")" = 2 ]

echo "== mailbox_command with -f \"\$SENDER\" -a \"\$RECIPIENT\" (run through sh), null sender, extension"
postconf -c "$PF_CONF" -e "mailbox_command = $MDA -C $W/mda.conf -f \"\$SENDER\" -a \"\$RECIPIENT\""
pf_backdate
postfix -c "$PF_CONF" reload >/dev/null 2>&1
sleep 1
skip_lines=$(pf_log_lines)
sed -i 's/body two/body three/' "$msg"
qid3=$(pf_send "" "$user+box@localhost" "$msg") || fail "SMTP submission failed"
line=$(pf_wait_status "$qid3" "$user+box@localhost" 30 "$skip_lines") || fail "no status for $qid3"
echo "$line"
case "$line" in *status=sent*) ;; *) fail "not sent: $line" ;; esac
check "three messages" [ "$(grep -c '^From ' "$box")" = 3 ]
check "null sender From_" grep -q '^From MAILER-DAEMON ' "$box"
check "null Return-Path" grep -qx 'Return-Path: <>' "$box"
check "Delivered-To with extension" grep -qx "Delivered-To: $user+box@localhost" "$box"
check "one Delivered-To per message" [ "$(grep -c '^Delivered-To:' "$box")" = 3 ]
# The readers people use see the three messages Postfix handed to mda (a copy: readers may
# write Status back on exit).
cp "$box" "$W/readers.mbox"
if command -v s-nail >/dev/null; then
	n=$(MAILRC=/dev/null s-nail -n -N -R -Snosave -H -f "$W/readers.mbox" </dev/null 2>/dev/null | grep -c 'via postfix')
	check "s-nail lists the 3 messages (got $n)" [ "$n" = 3 ]
fi
if command -v bsd-mailx >/dev/null; then
	n=$(echo x | MAILRC=/dev/null bsd-mailx -n -f "$W/readers.mbox" 2>/dev/null | grep -c 'via postfix')
	check "bsd-mailx lists the 3 messages (got $n)" [ "$n" = 3 ]
	body=$(printf 'p 3\nx\n' | MAILRC=/dev/null bsd-mailx -n -N -f "$W/readers.mbox" 2>/dev/null)
	check "bsd-mailx shows the third body" grep -q 'body three' <<<"$body"
fi
echo ok
