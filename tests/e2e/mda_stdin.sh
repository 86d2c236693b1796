#!/bin/bash
# e2e: the built mda in stdin mode, driven as an MTA drives it: delivery, exit codes, stderr
# lines, refusals, and a failed delivery leaving the mailbox byte-for-byte as it was.
. "$SRCDIR/tests/e2e/lib.bash"
make_world
MDA=$BUILD/mda
as_user=()
if [ "$(id -u)" = 0 ]; then
	# Root can write anywhere, so "unwritable" means nothing to it: run mda the way Postfix
	# does, as the (unprivileged) recipient, and let the world belong to that user.
	sed -i "s/:0:0:/:65534:65534:/" "$W/passwd"
	chown -R 65534:65534 "$W"
	chmod 755 "$W"
	as_user=(setpriv --reuid=65534 --regid=65534 --clear-groups)
fi
run_mda() { "${as_user[@]}" env -u SENDER -u RECIPIENT -u LOCAL -u ORIGINAL_RECIPIENT "$MDA" -C "$W/mda.conf" "$@"; }
box() { cat "$W/spool/$1"; }
count() { grep -c -- "$1" "$2" || true; }

postfix_msg() {
	printf 'From sender@example.org  Mon Nov 23 05:53:19 2026\n'
	printf 'Return-Path: <sender@example.org>\nX-Original-To: %s@localhost\nDelivered-To: %s@localhost\n' "$1" "$1"
	printf 'Received: by mda-test.localdomain (Postfix)\nSubject: e2e %s\n\nbody for %s\n' "$1" "$1"
}

echo "== Postfix-style input: one From_ line, one set of trace headers"
postfix_msg alice | run_mda alice 2>"$W/err" || fail "delivery failed: $(cat "$W/err")"
f=$W/spool/alice
check "one From_ line" [ "$(count '^From ' "$f")" = 1 ]
check "one Return-Path" [ "$(count '^Return-Path:' "$f")" = 1 ]
check "one Delivered-To" [ "$(count '^Delivered-To:' "$f")" = 1 ]
check "one X-Original-To" [ "$(count '^X-Original-To:' "$f")" = 1 ]
check "Return-Path value" grep -qx 'Return-Path: <sender@example.org>' "$f"
check "Delivered-To value" grep -qx 'Delivered-To: alice@test.example' "$f"
check "body" grep -qx 'body for alice' "$f"
check "log line" grep -q 'to=<alice@test.example>, orig_to=<alice@localhost>, relay=local, expansion=mda, size=[0-9]*, dest="mailbox [^"]*/spool/alice", delay=[0-9.]*, delay_ms=[0-9]*, dsn=2.0.0, status=sent (delivered to mailbox' "$W/err"

echo "== several recipients"
postfix_msg multi | run_mda bob carol 2>"$W/err" || fail "multi: $(cat "$W/err")"
check "bob" grep -q 'body for multi' "$W/spool/bob"
check "carol" grep -q 'body for multi' "$W/spool/carol"

echo "== environment only (mailbox_command with no arguments)"
printf 'Subject: env\n\nvia env\n' | "${as_user[@]}" env LOCAL=bob DOMAIN=localhost SENDER= USER=root "$MDA" -C "$W/mda.conf" 2>"$W/err" \
	|| fail "env delivery: $(cat "$W/err")"
check "Delivered-To keeps the MTA's domain" grep -qx 'Delivered-To: bob@localhost' "$W/spool/bob"
check "null sender From_ line" grep -q '^From MAILER-DAEMON ' "$W/spool/bob"
check "null sender Return-Path" grep -qx 'Return-Path: <>' "$W/spool/bob"

echo "== no user and no MTA environment, or a terminal: usage, nothing delivered"
before=$(cat "$W"/spool/* | md5sum)
rc=0; printf 'Subject: stray\n\ntyped\n' | run_mda 2>"$W/err" || rc=$?
check "exit 75 without a user (got $rc)" [ "$rc" = 75 ]
check "the reason and the usage" grep -q '^4\.3\.5 mda: no user given, and no MTA environment' "$W/err"
check "usage text" grep -q '^usage: mda ' "$W/err"
rc=0; ERR=$W/err python3 -c '
import os, pty, subprocess, sys
master, slave = pty.openpty()
sys.exit(subprocess.run(sys.argv[1:], stdin=slave, stdout=subprocess.DEVNULL, stderr=open(os.environ["ERR"], "w"),
                        timeout=20).returncode)' "${as_user[@]}" env LOCAL=bob RECIPIENT=bob@localhost "$MDA" -C "$W/mda.conf" \
	|| rc=$?
check "a terminal on stdin: exit 75 even with LOCAL set (got $rc)" [ "$rc" = 75 ]
check "the terminal is named" grep -q 'this terminal' "$W/err"
check "no mailbox changed" [ "$(cat "$W"/spool/* | md5sum)" = "$before" ]

echo "== unknown user: 67 and a 5.1.1 line"
rc=0; postfix_msg nosuch | run_mda nosuchuser 2>"$W/err" || rc=$?
check "exit 67 (got $rc)" [ "$rc" = 67 ]
check "stderr 5.1.1" grep -q '^5\.1\.1 ' "$W/err"

echo "== ../../etc/passwd is refused before any path is built"
sum=$(md5sum /etc/passwd)
rc=0; postfix_msg x | run_mda ../../etc/passwd 2>"$W/err" || rc=$?
check "exit 67 (got $rc)" [ "$rc" = 67 ]
check "reason" grep -q 'invalid user name' "$W/err"
check "/etc/passwd untouched" [ "$(md5sum /etc/passwd)" = "$sum" ]
check "nothing outside the spool" [ ! -e "$W/etc" ]

echo "== unwritable mailbox: 75, mailbox untouched"
before=$(md5sum <"$f")
chmod 0444 "$f"
rc=0; postfix_msg alice | run_mda alice 2>"$W/err" || rc=$?
chmod 0600 "$f"
check "exit 75 (got $rc: $(cat "$W/err"))" [ "$rc" = 75 ]
check "stderr 4.x.x line" grep -q '^4\.[0-9]\.[0-9] ' "$W/err"
check "mailbox untouched" [ "$(md5sum <"$f")" = "$before" ]

echo "== locked mailbox: 75 after lock_timeout, untouched"
"${as_user[@]}" touch "$f.lock"
rc=0; postfix_msg alice | run_mda -o lock_timeout=1 alice 2>"$W/err" || rc=$?
rm -f "$f.lock"
check "exit 75 (got $rc: $(cat "$W/err"))" [ "$rc" = 75 ]
check "mailbox untouched" [ "$(md5sum <"$f")" = "$before" ]

echo "== a loop is the recipient in a Delivered-To below the MTA's block"
{ postfix_msg alice | sed '/^Received:/a Delivered-To: alice@test.example'; } | run_mda alice 2>"$W/err" && rc=0 || rc=$?
check "exit 65 (got $rc)" [ "$rc" = 65 ]
check "5.4.6" grep -q '^5\.4\.6 ' "$W/err"
check "mailbox untouched" [ "$(md5sum <"$f")" = "$before" ]

echo "== too big: 65 with 5.3.4"
rc=0; postfix_msg alice | run_mda -o message_size_limit=20 alice 2>"$W/err" || rc=$?
check "exit 65 (got $rc)" [ "$rc" = 65 ]
check "5.3.4" grep -q '^5\.3\.4 ' "$W/err"

echo "== configuration and usage mistakes defer (75), never bounce"
rc=0; postfix_msg alice | "${as_user[@]}" "$MDA" -C "$W/missing.conf" alice 2>"$W/err" || rc=$?
check "missing -C file: 75 (got $rc)" [ "$rc" = 75 ]
rc=0; postfix_msg alice | run_mda -o no_such_key=1 alice 2>"$W/err" || rc=$?
check "bad -o: 75 (got $rc)" [ "$rc" = 75 ]
rc=0; postfix_msg alice | run_mda -Z alice 2>"$W/err" || rc=$?
check "unknown flag: 75 (got $rc)" [ "$rc" = 75 ]
check "mailbox untouched" [ "$(md5sum <"$f")" = "$before" ]

echo "== mixed results: temporary wins; the MTA's retry delivers each recipient once"
mixed=$W/mixed.txt
printf 'Subject: mixed %s\n\nmixed body\n' "$$" >"$mixed"
chmod 0444 "$W/spool/bob"
rc=0; run_mda alice bob <"$mixed" 2>"$W/err" || rc=$?
check "exit 75 (got $rc)" [ "$rc" = 75 ]
check "stderr names bob" grep -q '^4\.[0-9]\.[0-9] <bob>' "$W/err"
check "alice got it" [ "$(grep -c "^Subject: mixed $$" "$f")" = 1 ]
chmod 0600 "$W/spool/bob"
run_mda alice bob <"$mixed" 2>"$W/err" || fail "retry failed: $(cat "$W/err")"
check "retry logs alice as done before" grep -q 'already delivered' "$W/err"
check "alice still once" [ "$(grep -c "^Subject: mixed $$" "$f")" = 1 ]
check "bob once" [ "$(grep -c "^Subject: mixed $$" "$W/spool/bob")" = 1 ]
rdir=$W/tmp/mda-retry.$("${as_user[@]}" id -u)
check "retry memory is private" [ "$(stat -c %a "$rdir")" = 700 ] && [ "$(stat -c %a "$rdir/state")" = 600 ]

echo "== -d USER as mail.local, -f overrides the block"
postfix_msg alice | run_mda -f other@example.net -d alice 2>"$W/err" || fail "-d: $(cat "$W/err")"
check "-f sender" grep -qx 'Return-Path: <other@example.net>' "$f"
echo "ok"
