# Sourced by tests/e2e/postfix_shape_*.sh: one way of plugging mda into Postfix, configured
# from the README's own blocks (<!-- e2e:SHAPE:KIND --> before a fenced block), on the
# system's Postfix in a private config directory. The same mail in every shape:
#   team -> ua, ub (alias with two members)   staff -> team, ua (reaches ua twice)
#   ub's ~/.forward: uc, \ub    uc's ~/.forward: \uc, "|command" (counts its runs)
#   ud: no mailbox yet          nosuch: unknown
# One message to staff and ud; one to nosuch. Expected: one copy in every mailbox, the
# command run once, nosuch refused 5.1.1, ud deferred with the command that creates its
# mailbox (as-user shape) or created (root daemon), an empty queue at the end. Where mda
# expands (local_transport), also RCPT ua + RCPT team in one transaction: ua gets it once.
# (Postfix's own local(8) removes duplicates within one recipient's expansion only, and
# re-submits .forward destinations as new mail: across RCPTs it delivers twice, by design.)
# (Not *.sh: not a test by itself.)
. "$SRCDIR/tests/e2e/lib.bash"
. "$SRCDIR/tests/e2e/postfix-lib.bash"

MDA=$BUILD/mda NEWALIASES=$BUILD/newaliases
SFX=$$
UA=ua$SFX UB=ub$SFX UC=uc$SFX UD=ud$SFX
USERS="$UA $UB $UC $UD"
DPID=

# readme_block SHAPE KIND: the lines of the fenced block marked for SHAPE/KIND in README.md,
# with the installed paths replaced by this world's.
readme_block() {
	awk -v tag="<!-- e2e:$1:$2 -->" '
		$0 == tag { want = 1; next }
		want && /^```/ { if (inside) exit; inside = 1; next }
		want && inside { print }' "$SRCDIR/README.md" |
		sed -e "s|/usr/local/libexec/mda|$MDA -C $W/mda.conf|g" \
		    -e "s|/var/spool/postfix/|$W/pf/queue/|g"
}

shape_cleanup() {
	[ -z "$DPID" ] || kill "$DPID" 2>/dev/null || true
	pf_stop
	local u
	for u in $USERS; do
		pkill -KILL -u "$u" 2>/dev/null || true
		userdel "$u" 2>/dev/null || true
	done
}

# shape_setup SHAPE: users, homes, .forward files, aliases, Debian's root:mail 2775 spool with
# mailboxes for ua..uc only, mda.conf with the README's lines, Postfix with the README's.
shape_setup() {
	SHAPE=$1
	why=$(pf_available) || skip "$why"
	getent group mail >/dev/null || skip "no mail group"
	trap shape_cleanup EXIT
	make_world
	chmod 755 "$W" "$W/home"
	local u
	for u in $USERS; do
		useradd -M -d "$W/home/$u" -s /bin/sh "$u" || skip "useradd $u failed"
		mkdir -p "$W/home/$u"
		chown "$u:" "$W/home/$u"
	done
	mkdir -p "$W/cmd" && chmod 1777 "$W/cmd"
	printf '%s, \\%s\n' "$UC" "$UB" >"$W/home/$UB/.forward"
	printf '\\%s, "|/bin/sh -c '"'"'echo run >>%s/cmd/runs'"'"'"\n' "$UC" "$W" >"$W/home/$UC/.forward"
	chown "$UB:" "$W/home/$UB/.forward"; chown "$UC:" "$W/home/$UC/.forward"
	chmod 644 "$W/home/$UB/.forward" "$W/home/$UC/.forward"
	printf 'postmaster: %s\nteam: %s, %s\nstaff: team, %s\n' "$UA" "$UA" "$UB" "$UA" >"$W/aliases"
	chown root:mail "$W/spool" && chmod 2775 "$W/spool"
	for u in $UA $UB $UC; do install -m 0600 -o "$u" -g mail /dev/null "$W/spool/$u"; done
	# Real users, syslog: mda as it runs on a host (no passwd_file, no test logging).
	sed -i -e 's|^passwd_file = .*|passwd_file =|' -e 's|^log = .*|log = syslog|' \
		-e "s|^aliases_db = .*|aliases_db = $W/aliases.mda.db|" "$W/mda.conf"
	echo "mail_group = mail" >>"$W/mda.conf"
	readme_block "$SHAPE" mda.conf >>"$W/mda.conf"
	chmod 644 "$W/mda.conf"
	PORT=$((20000 + SFX % 20000))
	local cmd="" lines=()
	mapfile -t lines < <(readme_block "$SHAPE" main.cf)
	[ ${#lines[@]} -gt 0 ] || fail "README.md has no main.cf block for $SHAPE"
	if [ "$SHAPE" != local_transport ]; then
		# Postfix expands aliases: its own Berkeley DB, made by its own tool.
		mkdir -p "$W/pf-empty" && : >"$W/pf-empty/main.cf"
		postalias -c "$W/pf-empty" "hash:$W/aliases" || fail "postalias"
		lines=("alias_maps = hash:$W/aliases" "alias_database = hash:$W/aliases"
			"local_recipient_maps = proxy:unix:passwd.byname \$alias_maps" "${lines[@]}")
	else
		"$NEWALIASES" -C "$W/mda.conf" >/dev/null || fail "mda-newaliases"
	fi
	pf_start "$W/pf" "$PORT" "$cmd" "${lines[@]}" || fail "postfix did not start: $(tail -3 "$W/pf/maillog" 2>/dev/null)"
	local daemon
	daemon=$(readme_block "$SHAPE" daemon)
	if [ -n "$daemon" ]; then
		# exec: DPID is the daemon itself, which the cleanup must stop (not a subshell around it)
		eval "exec $daemon" 2>>"$W/daemon.log" &
		DPID=$!
		local sock=$W/pf/queue/private/mda-lmtp i
		for i in $(seq 100); do
			[ -S "$sock" ] && break
			kill -0 "$DPID" 2>/dev/null || { wait "$DPID"; fail "the README's daemon exited ($?): $(tail -3 "$W/daemon.log")"; }
			sleep 0.1
		done
		[ -S "$sock" ] || fail "the README's daemon did not listen in 10 s: $(tail -3 "$W/daemon.log"; ls -la "$W/pf/queue/private" | tail -5)"
	fi
	note "shape $SHAPE: main.cf from README: ${lines[*]: -3}"
}

note() { echo "  $*"; }

# send_multi FROM RCPT...: one SMTP transaction, prints the queue id.
send_multi() {
	printf 'From: sender@example.org\r\nSubject: shape test\r\nMessage-ID: <shape.%s@example.org>\r\n\r\n%s\r\n' \
		"$2" "one message, several ways to reach the same people" >"$W/outgoing"
	pf_send_many "$W/outgoing" "$@"
}

copies() { local n; n=$(grep -c '^Subject: shape test' "$W/spool/$1" 2>/dev/null); echo "${n:-0}"; }

# wait_copies USER N: until USER's mailbox holds N copies (forwarded mail is a new message).
wait_copies() {
	local i
	for i in $(seq 100); do [ "$(copies "$1")" -ge "$2" ] && return 0; sleep 0.2; done
	return 0
}

# wait_done QID RCPT...: each RCPT (as to= or orig_to=) of QID has a status line.
wait_done() {
	local qid=$1 r i
	shift
	for r in "$@"; do
		for i in $(seq 200); do
			grep -F "$qid: " "$W/pf/maillog" | grep 'status=' | grep -qE "(to|orig_to)=<$r@" && break
			sleep 0.2
		done
		[ "$i" -lt 200 ] || fail "no status for $r: $(tail -5 "$W/pf/maillog")"
	done
}

run_shape() {
	shape_setup "$1"
	echo "== $SHAPE: staff (ua twice, ub, uc through ub's .forward) + ud in one message"
	local qid
	qid=$(send_multi sender@example.org "staff@localhost" "$UD@localhost") || fail "submission failed"
	wait_done "$qid" staff "$UD"
	wait_copies "$UC" 1
	check "ua has one copy ($(copies $UA))" [ "$(copies $UA)" = 1 ]
	check "ub has one copy ($(copies $UB))" [ "$(copies $UB)" = 1 ]
	check "uc has one copy, through ub's .forward ($(copies $UC))" [ "$(copies $UC)" = 1 ]
	check "uc's command ran once ($(cat "$W/cmd/runs" 2>/dev/null | wc -l))" [ "$(wc -l <"$W/cmd/runs")" = 1 ]
	local line
	line=$(grep -F "$qid: to=<$UD@localhost>" "$W/pf/maillog" | grep 'status=' | tail -1)
	if [ "$SHAPE" = mailbox_command ]; then
		echo "  $line"
		case "$line" in *status=deferred*"install -m 0600 -o $UD -g mail /dev/null $W/spool/$UD"*) ;;
		*) fail "ud: want deferred with the command that creates the mailbox: $line" ;; esac
		check "ud's mailbox not created by the user" [ ! -e "$W/spool/$UD" ]
		# The administrator runs what the deferral said; the retry delivers.
		install -m 0600 -o "$UD" -g mail /dev/null "$W/spool/$UD"
		local skip_n
		skip_n=$(pf_log_lines)
		pf_flush
		line=$(pf_wait_status "$qid" "$UD@localhost" 40 "$skip_n") || fail "no retry status for ud"
		case "$line" in *status=sent*) ;; *) fail "ud after the fix: $line" ;; esac
	else
		case "$line" in *status=sent*) ;; *) fail "ud: want sent (the root daemon creates the mailbox): $line" ;; esac
		check "ud's new mailbox: owner, group, mode ($(stat -c '%U %G %a' "$W/spool/$UD"))" \
			[ "$(stat -c '%U %G %a' "$W/spool/$UD")" = "$UD mail 600" ]
	fi
	check "ud has one copy" [ "$(copies $UD)" = 1 ]
	local want=1111 runs=1
	if [ "$SHAPE" = local_transport ]; then
		echo "== $SHAPE: RCPT ua and RCPT team in one transaction: one copy each"
		qid=$(send_multi sender@example.org "$UA@localhost" "team@localhost") || fail "submission failed"
		wait_done "$qid" "$UA" team
		check "ua once more, not twice ($(copies $UA))" [ "$(copies $UA)" = 2 ]
		check "ub once more ($(copies $UB))" [ "$(copies $UB)" = 2 ]
		check "uc once more ($(copies $UC))" [ "$(copies $UC)" = 2 ]
		check "command once more ($(wc -l <"$W/cmd/runs"))" [ "$(wc -l <"$W/cmd/runs")" = 2 ]
		want=2221 runs=2
	fi
	echo "== $SHAPE: unknown user"
	local rc=0 out
	if [ "$SHAPE" = local_transport ]; then
		qid=$(send_multi "" "nosuch$SFX@localhost") || fail "submission failed"
		line=$(pf_wait_status "$qid" "nosuch$SFX@localhost" 40) || fail "no status for nosuch"
		echo "  $line"
		case "$line" in *dsn=5.1.1*status=bounced*) ;; *) fail "nosuch: want bounced 5.1.1: $line" ;; esac
	else
		out=$(send_multi "" "nosuch$SFX@localhost" 2>&1) || rc=$?
		echo "  $out"
		[ "$rc" != 0 ] && grep -q '550.*5\.1\.1' <<<"$out" || fail "nosuch: want 550 5.1.1 at RCPT: $out"
	fi
	echo "== $SHAPE: queue empty after a flush"
	pf_flush
	sleep 2
	out=$(postqueue -c "$PF_CONF" -p)
	grep -q 'Mail queue is empty' <<<"$out" || fail "queue not empty: $out"
	check "no copy more after the flush" [ "$(copies $UA)$(copies $UB)$(copies $UC)$(copies $UD)" = $want ]
	check "no command run more" [ "$(wc -l <"$W/cmd/runs")" = $runs ]
	echo ok
}
