#!/bin/bash
# Concurrency torture: 8 writers (4 stdin, 4 LMTP) and a mail session that saves, deletes and
# quits in a loop, on one mailbox: nothing lost, duplicated or interleaved. As root with Postfix
# installed, a throwaway Postfix's local(8) (dotlock + fcntl, its defaults) is a ninth writer.
. "$(dirname "$0")/lib.sh"
. "$HERE/../e2e/postfix-lib.bash"
need_binaries
W=$T/world
world "$W" 2
total=10000 pf_count=0 user=u000
[ "$QUICK" = 1 ] && total=1000
export READER_PREFIX=
pfuser=tort$$
cleanup() {
	[ -n "${dpid:-}" ] && kill "$dpid" 2>/dev/null
	if [ "$pf_count" -gt 0 ]; then
		pf_stop
		userdel "$pfuser" 2>/dev/null
	fi
}
trap cleanup EXIT
if why=$(pf_available); then
	useradd -M -d "$W/home/$pfuser" -s /bin/sh "$pfuser" || fail "useradd $pfuser"
	user=$pfuser pf_count=$((total / 10))
	# The same user for mda (passwd_file) and Postfix (the system's passwd); local(8) makes
	# its dotlock as the user, so the spool is sticky and world-writable like /var/mail often is.
	getent passwd "$pfuser" >>"$W/passwd"
	chmod 1777 "$W/spool"
	chmod 755 "$W"
	chmod 644 "$W/mda.conf" "$W/passwd"
	mkdir -p "$T/reader" && chown "$pfuser" "$T/reader"
	READER_PREFIX="setpriv --reuid=$pfuser --regid=$(id -g "$pfuser") --clear-groups"
	port=$((20000 + $$ % 20000))
	pf_start "$W/pf" "$port" "" "mail_spool_directory = $W/spool" "home_mailbox =" "mailbox_size_limit = 0" ||
		fail "postfix did not start: $(tail -5 "$W/pf/maillog" 2>/dev/null)"
	note "Postfix local(8) is a peer writer (Postfix $(postconf -c "$PF_CONF" -h mail_version), mailbox_delivery_lock = $(postconf -c "$PF_CONF" -h mailbox_delivery_lock))"
	pfargs=("$port" "$W/pf/maillog" "$pf_count")
	saved=$T/reader/saved.mbox
else
	note "no Postfix peer: $why"
	pfargs=()
	saved=$T/saved.mbox
fi
"$MDA" -C "$W/mda.conf" -L "unix:$W/lmtp.sock" 2>"$T/daemon.log" &
dpid=$!
for i in $(seq 50); do [ -S "$W/lmtp.sock" ] && break; sleep 0.1; done
[ -S "$W/lmtp.sock" ] || fail "mda -L did not create its socket: $(tail -3 "$T/daemon.log")"
note "$total messages, 4 stdin + 4 LMTP writers ($pf_count through Postfix), one mail session looping s 1 / d 1 / q"
python3 "$HERE/concurrency.py" "$MDA" "$MAIL" "$W/mda.conf" "$W/lmtp.sock" "$user" "$total" "$saved" "$T/out" "${pfargs[@]}" ||
	fail "some deliveries or reader sessions failed (see above)"
out=$(python3 "$HERE/mbox_check.py" --ok "$T/out/ok.ids" --maybe "$T/out/maybe.ids" "$W/spool/$user" "$saved") ||
	fail "mailbox + saved check: $out"
echo "  $out"
left=$(python3 "$HERE/mbox_check.py" "$W/spool/$user" | sed -n 's/^intact=\([0-9]*\).*/\1/p')
readers_agree "$W/spool/$user" "$left"
echo "PASS"
