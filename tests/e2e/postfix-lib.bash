# Sourced by tests/e2e/postfix*.sh: a private Postfix instance under one directory (config,
# queue, log), listening on 127.0.0.1:PORT, that delivers only locally. Needs root and the
# postfix package; nothing outside the directory is written. (Not *.sh: it is not a test.)

PF_DIR= PF_PORT= PF_CONF=

# pf_available: true when this machine can run the sandbox (else prints why).
pf_available() {
	[ "$(id -u)" = 0 ] || { echo "needs root (Postfix runs the mailbox_command as the recipient)"; return 1; }
	command -v postfix >/dev/null && command -v postconf >/dev/null || { echo "postfix not installed"; return 1; }
	command -v python3 >/dev/null || { echo "python3 missing"; return 1; }
	getent passwd postfix >/dev/null && getent group postdrop >/dev/null || { echo "no postfix user/postdrop group"; return 1; }
	# Postfix's daemons and the recipient's mda look users up without root.
	[ "$(stat -c %a /etc/passwd)" = 644 ] || { echo "/etc/passwd is mode $(stat -c %a /etc/passwd), not 644: non-root lookups fail"; return 1; }
}

# pf_default NAME: a built-in default, asked of postconf so any distribution's layout works.
pf_default() {
	local empty=$PF_DIR/defaults
	mkdir -p "$empty" && : >"$empty/main.cf" && : >"$empty/master.cf"
	postconf -c "$empty" -dh "$1" 2>/dev/null
}

# Postfix re-reads a config file until its mtime is over a second old; a fresh file would
# cost seconds per command.
pf_backdate() { touch -d '1 minute ago' "$PF_CONF/main.cf" "$PF_CONF/master.cf"; }

# pf_start DIR PORT MAILBOX_COMMAND [extra main.cf lines...]
pf_start() {
	PF_DIR=$1 PF_PORT=$2 PF_CONF=$1/etc
	local cmd=$3 line
	shift 3
	mkdir -p "$PF_CONF" "$PF_DIR/queue"
	chmod 755 "$PF_DIR" "$PF_CONF" "$PF_DIR/queue"
	{
		echo "compatibility_level = 3.6"
		for p in daemon_directory command_directory meta_directory shlib_directory; do
			echo "$p = $(pf_default $p)"
		done
		cat <<-EOF
		queue_directory = $PF_DIR/queue
		data_directory = $PF_DIR/data
		mail_owner = postfix
		setgid_group = postdrop
		maillog_file = $PF_DIR/maillog
		maillog_file_prefixes = $PF_DIR
		myhostname = mda-e2e.localdomain
		mydestination = \$myhostname, localhost
		inet_interfaces = 127.0.0.1
		inet_protocols = ipv4
		mynetworks = 127.0.0.0/8
		smtpd_relay_restrictions = permit_mynetworks, reject
		default_transport = error:nothing leaves the e2e sandbox
		alias_maps =
		alias_database =
		local_recipient_maps = proxy:unix:passwd.byname
		recipient_delimiter = +
		biff = no
		smtputf8_enable = no
		mailbox_command = $cmd
		EOF
	} >"$PF_CONF/main.cf"
	# Extra lines replace defaults in place (postconf -e): a duplicate key would warn on
	# every Postfix command.
	for line in "$@"; do postconf -c "$PF_CONF" -e "$line" || return 1; done
	# No chroot anywhere: the test paths exist only outside the queue directory.
	cat >"$PF_CONF/master.cf" <<-EOF
	127.0.0.1:$PF_PORT inet n - n - - smtpd
	pickup unix n - n 60 1 pickup
	cleanup unix n - n - 0 cleanup
	qmgr unix n - n 300 1 qmgr
	rewrite unix - - n - - trivial-rewrite
	bounce unix - - n - 0 bounce
	defer unix - - n - 0 bounce
	trace unix - - n - 0 bounce
	flush unix n - n 1000? 0 flush
	showq unix n - n - - showq
	proxymap unix - - n - - proxymap
	error unix - - n - - error
	retry unix - - n - - error
	local unix - n n - - local
	lmtp unix - - n - - lmtp
	anvil unix - - n - 1 anvil
	scache unix - - n - 1 scache
	postlog unix-dgram n - n - 1 postlogd
	EOF
	pf_backdate
	# postfix(1) reports errors only on a tty; script(1) gives it one so a failure says why.
	if ! script -qec "postfix -c '$PF_CONF' start" /dev/null >"$PF_DIR/start.out" 2>&1; then
		cat "$PF_DIR/start.out" >&2
		return 1
	fi
	# postfix start can report success while master dies on a fatal error: check it lives.
	local pid
	pid=$(tr -d ' ' <"$PF_DIR/queue/pid/master.pid" 2>/dev/null || true)
	if [ -z "$pid" ] || ! kill -0 "$pid" 2>/dev/null; then
		echo "postfix master is not running:" >&2
		tail -5 "$PF_DIR/maillog" >&2 2>/dev/null
		return 1
	fi
}

# pf_stop: stops master and waits for every Postfix process of this instance to go.
pf_stop() {
	[ -n "$PF_CONF" ] && [ -d "$PF_CONF" ] || return 0
	local pid
	pid=$(tr -d ' ' <"$PF_DIR/queue/pid/master.pid" 2>/dev/null || true)
	postfix -c "$PF_CONF" stop >/dev/null 2>&1 || true
	for _ in $(seq 100); do
		[ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	[ -n "$pid" ] && kill -9 -- "-$pid" 2>/dev/null || true
}

# pf_send_many FILE FROM RCPT...: submits FILE over SMTP to PF_PORT in one transaction (with
# SMTPUTF8 when an address needs it) and prints the queue id; fails when a RCPT is refused.
pf_send_many() {
	python3 - "$PF_PORT" "$@" <<-'EOF'
	import re, smtplib, sys
	port, path, sender, rcpts = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
	with open(path, "rb") as f:
	    data = f.read()
	s = smtplib.SMTP("127.0.0.1", int(port), local_hostname="client.test", timeout=20)
	s.ehlo()
	utf8 = any(ord(c) > 127 for c in sender + "".join(rcpts))
	s.mail(sender, ["SMTPUTF8", "BODY=8BITMIME"] if utf8 else [])
	for r in rcpts:
	    code, msg = s.rcpt(r)
	    if code != 250:
	        sys.exit("RCPT %s refused: %d %s" % (r, code, msg))
	code, msg = s.data(data)
	s.quit()
	m = re.search(rb"queued as ([0-9A-Za-z]+)", msg)
	if code != 250 or not m:
	    sys.exit("DATA: %d %s" % (code, msg))
	print(m.group(1).decode())
	EOF
}

# pf_send FROM TO FILE: one recipient.
pf_send() { pf_send_many "$3" "$1" "$2"; }

# pf_wait_status QID RCPT [SECS] [SKIP]: waits for the delivery status line of QID and prints
# it; SKIP log lines are ignored (count them before a retry).
pf_wait_status() {
	local qid=$1 rcpt=$2 end=$(($(date +%s) + ${3:-30})) skip=${4:-0} line
	while :; do
		line=$(tail -n +"$((skip + 1))" "$PF_DIR/maillog" 2>/dev/null | grep -F "$qid: to=<$rcpt>" | grep 'status=' | tail -1)
		[ -n "$line" ] && { echo "$line"; return 0; }
		[ "$(date +%s)" -ge "$end" ] && { echo "no status for $qid in time" >&2; return 1; }
		sleep 0.1
	done
}

pf_log_lines() { wc -l <"$PF_DIR/maillog"; }
pf_flush() { postqueue -c "$PF_CONF" -f; }
