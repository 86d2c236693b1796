# bench/nss.sh: the `nss` part of bench/run.sh (sourced): deliveries to real system users,
# looked up through NSS (/etc/nsswitch.conf), not the bench's passwd_file. The bench creates
# NSS_USERS users with useradd (comment $NSS_GECOS, homes under $WORK) and removes them, and
# stops its Dovecot, from the EXIT trap (nss_cleanup). Nothing under /etc/dovecot is read or
# changed and no system service is started: Dovecot runs from a private config and base_dir.
#
# Environment: BENCH_NSS_N (stdin deliveries per run, default 200), BENCH_NSS_LMTP_N (LMTP
# messages per run, default 400), BENCH_NSS_RUNS (interleaved runs, default 5), BENCH_NSS_USERS
# (system users = LMTP mailboxes, default 10), BENCH_NSS_SHAPES (spool shapes of the stdin rows,
# default "sticky mailgroup").

NSS_PREFIX=mdabench
NSS_GECOS="mda bench user (temporary)"
NSS_USERS=${BENCH_NSS_USERS:-10}
NSS_RUNS=${BENCH_NSS_RUNS:-5}
if [ "$FULL" = 1 ]; then
	NSS_N=${BENCH_NSS_N:-1000} NSS_LMTP_N=${BENCH_NSS_LMTP_N:-2000}
else
	NSS_N=${BENCH_NSS_N:-200} NSS_LMTP_N=${BENCH_NSS_LMTP_N:-400}
fi
NSS_SHAPES=${BENCH_NSS_SHAPES:-sticky mailgroup}
NSS_CREATED=()   # users this run made: the only ones nss_cleanup removes
NSS_DOVECOT=     # PID of our Dovecot master (dovecot -F)
NSS_W=           # the part's world

nss_user() { printf '%s%03d' "$NSS_PREFIX" "$1"; }

# nss_users_create WORLD: useradd NSS_USERS users with homes under WORLD/home; a leftover of a
# killed run (same name, our comment) is removed first; any other user of that name stops it.
nss_users_create() {
	local w=$1 i u
	mkdir -p "$w/home"
	for ((i = 0; i < NSS_USERS; i++)); do
		u=$(nss_user "$i")
		if getent passwd "$u" >/dev/null; then
			if [ "$(getent passwd "$u" | cut -d: -f5)" != "$NSS_GECOS" ]; then
				say "bench: nss: a user $u exists and is not the bench's: skipping the part"
				return 1
			fi
			say "bench: nss: removing $u, left over by an earlier run"
			nss_userdel "$u"
		fi
		useradd -M -U -d "$w/home/$u" -s /bin/sh -c "$NSS_GECOS" "$u" || { say "bench: nss: useradd $u failed"; return 1; }
		NSS_CREATED+=("$u")
		mkdir -p "$w/home/$u" && chown "$u:" "$w/home/$u" && chmod 755 "$w/home/$u"
	done
}

nss_userdel() {
	userdel "$1" >/dev/null 2>&1
	getent group "$1" >/dev/null && groupdel "$1" >/dev/null 2>&1
	getent passwd "$1" >/dev/null && say "bench: nss: could not remove user $1"
}

# Called from run.sh's EXIT trap: Dovecot first (its processes may still hold a user's uid).
nss_cleanup() {
	nss_dovecot_stop
	local u
	for u in "${NSS_CREATED[@]}"; do nss_userdel "$u"; done
	NSS_CREATED=()
}

# nss_spool DIR SHAPE NBOXES SEED: a fresh spool of that shape with a mailbox per user, as
# Debian makes them: sticky = root:root 1777, mailbox user:user 0600; mailgroup = root:mail
# 2775 (Debian's /var/mail), mailbox user:mail 0660. SEED 1 puts one message in each. Each was
# last read an hour ago: procmail sleeps a second when its first write leaves the mtime equal
# to the atime (so that "new mail" shows), which a mailbox made this second would cost it.
nss_spool() {
	local d=$1 shape=$2 n=$3 seed=$4 i u
	rm -rf "$d"
	mkdir -p "$d"
	case $shape in
	sticky) chown root:root "$d"; chmod 1777 "$d" ;;
	mailgroup) chown root:mail "$d"; chmod 2775 "$d" ;;
	esac
	for ((i = 0; i < n; i++)); do
		u=$(nss_user "$i")
		if [ "$shape" = sticky ]; then install -o "$u" -g "$u" -m 600 /dev/null "$d/$u"
		else install -o "$u" -g mail -m 660 /dev/null "$d/$u"; fi
		[ "$seed" = 1 ] && { printf 'From seed@example.org  Thu Jan  1 00:00:00 2026\n'; cat "$MSG"; echo; } >>"$d/$u"
		touch -a -d '1 hour ago' "$d/$u"
	done
}

# nss_world WORLD: mda.conf with no passwd_file (getpwnam through NSS), a small aliases
# database readable by every user, a 1777 tmp_dir (the retry memory is per uid).
nss_world() {
	local w=$1
	mkdir -p "$w/tmp"
	chmod 755 "$w"
	chmod 1777 "$w/tmp"
	printf 'postmaster: %s\n' "$(nss_user 0)" >"$w/aliases"
	cat >"$w/mda.conf" <<EOF
spool_dir = $w/spool
aliases_db = $w/aliases.db
aliases_file = $w/aliases
tmp_dir = $w/tmp
log = stderr
mail_group = mail
EOF
	chmod 644 "$w/mda.conf" "$w/aliases"
	"$BUILD/newaliases" -C "$w/mda.conf" >/dev/null 2>&1 && chmod 644 "$w/aliases.db"
}

# in_spool_ns SPOOL CMD...: CMD in a private mount namespace where /var/mail is SPOOL (procmail
# has the spool compiled in); /etc is the real one, so users are looked up through NSS.
in_spool_ns() {
	local spool=$1
	shift
	unshare -m --propagation private sh -c 'mount --bind "$1" /var/mail && shift && exec "$@"' sh "$spool" "$@"
}

# as_recipient USER CMD...: CMD as USER with the user's primary group and no supplementary
# groups, and a clean environment, as Postfix local(8) runs a mailbox_command.
as_recipient() {
	local u=$1
	shift
	setpriv --reuid="$(id -u "$u")" --regid="$(id -g "$u")" --clear-groups \
		env -i PATH=/usr/bin:/bin HOME="$(getent passwd "$u" | cut -d: -f6)" USER="$u" LOGNAME="$u" SHELL=/bin/sh "$@"
}

# nss_stdin_run WORLD SUBJECT: one run of NSS_N deliveries to user 000; prints forkloop's line.
nss_stdin_run() {
	local w=$1 s=$2 u
	u=$(nss_user 0)
	local loop=("$BIN/forkloop" -n "$NSS_N" -b 1 -p "$NSS_PREFIX" -i "$MSG" --)
	case $s in
	mda-root) env -i PATH=/usr/bin:/bin HOME=/root USER=root LOGNAME=root "${loop[@]}" "$BUILD/mda" -C "$w/mda.conf" -f sender@example.org -d %B ;;
	mda-as-user) as_recipient "$u" "${loop[@]}" "$BUILD/mda" -C "$w/mda.conf" -f sender@example.org -- %B ;;
	procmail-root) in_spool_ns "$w/spool" env -i PATH=/usr/bin:/bin HOME=/root USER=root LOGNAME=root "${loop[@]}" procmail -f sender@example.org -d %B ;;
	floor-as-user) as_recipient "$u" "${loop[@]}" "$BIN/floor" "$w/spool/%B" ;;
	esac
}

# Stdin mode, one process per message, to one system user: mda as root (Exim without user=,
# mda -d; mda forks a child that drops to the user) and as the recipient (Postfix
# mailbox_command), procmail -d as root, and the floor as the recipient. Runs interleave, the
# order rotating, each with a fresh mailbox; medians of the runs' wall and CPU ms/msg.
nss_stdin() {
	local w=$1 shape subjects=(mda-root mda-as-user floor-as-user) s r k line got ok
	ensure_cmd procmail procmail && subjects+=(procmail-root) || say "bench: nss: skipping procmail"
	ensure_cmd dotlockfile liblockfile-bin || say "bench: nss: no dotlockfile: mda as the user cannot lock in a root:mail 2775 spool"
	for shape in $NSS_SHAPES; do
		local what="stdin 4KB to a system user, $shape spool"
		say "== nss: $what: $NSS_N deliveries per run, $NSS_RUNS interleaved runs (${subjects[*]})"
		declare -A wall=() cpu=()
		for ((r = 0; r < NSS_RUNS; r++)); do
			for ((k = 0; k < ${#subjects[@]}; k++)); do
				s=${subjects[$(((k + r) % ${#subjects[@]}))]}
				nss_spool "$w/spool" "$shape" 1 1
				line=$(nss_stdin_run "$w" "$s")
				got=$(($(count_from "$w/spool/$(nss_user 0)") - 1))
				ok=0
				[ "$(kv fail "$line")" = 0 ] && [ "$got" = "$NSS_N" ] ||
					{ ok=1; say "bench: nss $s ($shape) run $r: $line; From_ lines in the mailbox: $got"; }
				tally $ok "$s" wall "$(kv ms_per_msg "$line")" cpu "$(kv cpu_ms_per_msg "$line")"
			done
		done
		declare -A med=() cmed=()
		for s in "${subjects[@]}"; do med[$s]=$(median_runs "${wall[$s]}") cmed[$s]=$(median_runs "${cpu[$s]}"); done
		# mda-root comes first, so the table's ratio column is root / as-user for mda-as-user;
		# the note of the floor gives as-user / floor, the other target.
		local note
		for s in "${subjects[@]}"; do
			note="runs: ${wall[$s]}"
			[ "$s" = mda-as-user ] && note+="; root / as-user $(ratio "${med[mda-root]}" "${med[$s]}") (target <= 1.2)"
			[ "$s" = floor-as-user ] && note+="; mda-as-user / floor $(ratio "${med[mda-as-user]}" "${med[$s]}") (target <= 1.2)"
			record nss "$what, wall" "$s" "${med[$s]}" ms/msg lower "$note"
		done
		for s in "${subjects[@]}"; do
			record nss "$what, CPU" "$s" "${cmed[$s]}" ms/msg lower "user+system of the delivery processes; runs: ${cpu[$s]:-}"
		done
		unset wall cpu med cmed
	done
}

# Dovecot: its own master, auth and lmtp services from a private config (mbox under the temp
# spool, system users through passdb/userdb passwd, mail_fsync = always), run as root.
nss_dovecot_conf() {
	local w=$1 spool=$2
	mkdir -p "$w/dvrun" "$w/dvstate"
	cat >"$w/dovecot.conf" <<EOF
# written by bench/nss.sh; nothing else is included
instance_name = mda-bench-dovecot
base_dir = $w/dvrun
state_dir = $w/dvstate
log_path = $w/dovecot.log
info_log_path = $w/dovecot.info
protocols = lmtp
ssl = no
auth_username_format = %Ln
mail_location = mbox:~/mail:INBOX=$spool/%u
mail_privileged_group = mail
mail_fsync = always
mbox_write_locks = dotlock fcntl
passdb {
  driver = passwd
}
userdb {
  driver = passwd
}
service lmtp {
  unix_listener lmtp {
    mode = 0600
  }
}
EOF
}

nss_dovecot_start() { # WORLD SPOOL
	local w=$1
	nss_dovecot_conf "$w" "$2"
	/usr/sbin/dovecot -F -c "$w/dovecot.conf" 2>>"$w/dovecot.log" &
	NSS_DOVECOT=$!
	wait_socket "$w/dvrun/lmtp" && return 0
	say "bench: nss: Dovecot did not create its LMTP socket:"
	tail -5 "$w/dovecot.log" >&2
	nss_dovecot_stop
	return 1
}

# The master ends its children on SIGTERM; we wait for each of them by PID, then KILL leftovers.
nss_dovecot_stop() {
	[ -n "$NSS_DOVECOT" ] || return 0
	local kids i p
	kids=$(pgrep -P "$NSS_DOVECOT" 2>/dev/null)
	kill "$NSS_DOVECOT" 2>/dev/null
	wait "$NSS_DOVECOT" 2>/dev/null
	for ((i = 0; i < 50; i++)); do
		local alive=0
		for p in $kids; do kill -0 "$p" 2>/dev/null && alive=1; done
		[ $alive = 0 ] && break
		sleep 0.1
	done
	for p in $kids; do kill -KILL "$p" 2>/dev/null; done
	NSS_DOVECOT=
}

# nss_lmtp_send SUBJECT CLIENTS N: N messages through SUBJECT's socket; prints the JSON line.
nss_lmtp_send() {
	local sock=$NSS_W/mda-lmtp.sock
	[ "$1" = dovecot-lmtp ] && sock=$NSS_W/dvrun/lmtp
	python3 "$SRC/bench/lmtp_load.py" --unix "$sock" --clients "$2" --messages "$3" \
		--boxes "$NSS_USERS" --prefix "$NSS_PREFIX" --msg "$MSG"
}

# LMTP to NSS_USERS system users in a root:mail 2775 spool: mda -L as root (a privilege-dropped
# child per delivery) against Dovecot's lmtp. Both daemons are started once and kept; each has
# its own spool, made once and warmed with a message per user (Dovecot builds its index then),
# which then grows over the runs as a real one does; the runs alternate the order.
nss_lmtp() {
	local w=$1 subjects=(mda-L-root) s r k c out got ok
	NSS_W=$w
	for ((k = 0; k < NSS_USERS; k++)); do rm -rf "$w/home/$(nss_user "$k")/mail"; done
	nss_spool "$w/lmtp-spool.mda-L-root" mailgroup "$NSS_USERS" 0
	nss_spool "$w/lmtp-spool.dovecot-lmtp" mailgroup "$NSS_USERS" 0
	if ensure_cmd /usr/sbin/dovecot dovecot-core && ensure_cmd /usr/lib/dovecot/lmtp dovecot-lmtpd &&
		nss_dovecot_start "$w" "$w/lmtp-spool.dovecot-lmtp"; then
		subjects+=(dovecot-lmtp)
	else
		say "bench: nss: skipping Dovecot LMTP"
	fi
	"$BUILD/mda" -C "$w/mda.conf" -o lmtp_socket_group= -o "spool_dir=$w/lmtp-spool.mda-L-root" \
		-L "unix:$w/mda-lmtp.sock" 2>"$w/mda-lmtp.log" &
	local dpid=$!
	DAEMONS+=("$dpid")
	wait_socket "$w/mda-lmtp.sock" || { say "bench: nss: mda -L did not create its socket"; tail -3 "$w/mda-lmtp.log" >&2; return; }
	declare -A sent=()
	for s in "${subjects[@]}"; do
		out=$(nss_lmtp_send "$s" 1 "$NSS_USERS")
		[ "$(json_field fail "$out")" = 0 ] || say "bench: nss lmtp $s warm-up: $out"
		sent[$s]=$NSS_USERS
	done
	for c in 1 4 16; do
		say "== nss: lmtp 4KB to $NSS_USERS system users, $c client(s): $NSS_LMTP_N messages per run, $NSS_RUNS interleaved runs (${subjects[*]})"
		declare -A rate=() p99=()
		for ((r = 0; r < NSS_RUNS; r++)); do
			for ((k = 0; k < ${#subjects[@]}; k++)); do
				s=${subjects[$(((k + r) % ${#subjects[@]}))]}
				out=$(nss_lmtp_send "$s" "$c" "$NSS_LMTP_N")
				sent[$s]=$((sent[$s] + NSS_LMTP_N))
				got=$(count_from "$w/lmtp-spool.$s"/*)
				ok=0
				if [ "$(json_field fail "$out")" != 0 ] || [ "$got" != "${sent[$s]}" ]; then
					say "bench: nss lmtp $s c=$c run $r: $out; From_ lines in its spool: $got (expected ${sent[$s]})"
					ok=1 sent[$s]=$got
				fi
				tally $ok "$s" rate "$(json_field msgs_per_s "$out")" p99 "$(json_field p99_ms "$out")"
			done
		done
		for s in "${subjects[@]}"; do
			record nss "lmtp 4KB to $NSS_USERS system users, $c client(s), msg/s" "$s" "$(median_runs "${rate[$s]}")" msg/s higher "runs: ${rate[$s]}"
			record nss "lmtp 4KB to $NSS_USERS system users, $c client(s), p99 latency" "$s" "$(median_runs "${p99[$s]}")" ms lower "runs: ${p99[$s]}"
		done
		unset rate p99
	done
	kill "$dpid" 2>/dev/null
	wait "$dpid" 2>/dev/null
	nss_dovecot_stop
}

bench_nss() {
	: >"$RESDIR/nss.tsv"
	if [ "$(id -u)" != 0 ] || ! command -v useradd >/dev/null || ! command -v setpriv >/dev/null; then
		say "bench: nss: needs root, useradd and setpriv (it creates system users): skipped"
		return 0
	fi
	have_mda && have_newaliases || { say "bench: nss: no $BUILD/mda or newaliases: skipped"; return 0; }
	local w=$WORK/nss
	mkdir -p "$w"
	nss_users_create "$w" || { nss_cleanup; return 0; }
	nss_world "$w"
	nss_stdin "$w"
	nss_lmtp "$w"
	nss_cleanup
}

# The notes under the tables of RESULTS.md (render() in run.sh).
nss_describe() {
	cat <<EOF
Users $(nss_user 0).. are made by useradd for the run (comment "$NSS_GECOS", removed at
the end) and looked up through /etc/nsswitch.conf (passwd: $(sed -n 's/^passwd:[[:space:]]*//p' /etc/nsswitch.conf));
no passwd_file. Mailboxes exist as Debian makes them: \`sticky\` is a root:root 1777 spool with
user:user 0600 mailboxes, \`mailgroup\` Debian's root:mail 2775 /var/mail with user:mail 0660
mailboxes, last read an hour ago (procmail sleeps a second when a write leaves a mailbox's
mtime equal to its atime). Each stdin run starts from a fresh spool whose mailbox holds one
message. The subjects take turns, the order rotating from run to run; medians over the runs.

- mda-root: \`mda -f sender -d USER\` run as root (Exim without user=, OpenSMTPD, mda -d):
  mda forks a child that drops to the user (primary group plus mail_group) for the delivery.
- mda-as-user: \`mda -f sender -- USER\` run as the user with the primary group only and a
  clean environment (setpriv), as Postfix's mailbox_command runs. In the mailgroup spool the
  user cannot create the dotlock, so mda runs the setgid dotlockfile helper to lock and unlock.
- procmail-root: \`procmail -f sender -d USER\` as root (procmail is setuid root, setgid mail),
  in a private mount namespace whose /var/mail is the temp spool; /etc is the real one.
- floor-as-user: bench/floor.c (open O_APPEND, fcntl lock, write, fsync; no dotlock) as the user.
- LMTP: lmtp_load.py as root through a UNIX socket, one session per client kept for all its
  messages, round robin over $NSS_USERS users. Each daemon has its own mailgroup spool, warmed
  with one message per user before the first run and growing over the runs. mda-L-root is
  \`mda -L unix:SOCK -o lmtp_socket_group=\` as root: a process per session, a
  privilege-dropped child per delivery. dovecot-lmtp is Dovecot $(/usr/sbin/dovecot --version 2>/dev/null | cut -d' ' -f1)
  with its own master, auth and lmtp services from a private config and base_dir in the temp
  dir (nothing under /etc/dovecot read or changed), run as root: passdb and userdb passwd,
  auth_username_format = %Ln, mail_location = mbox:~/mail:INBOX=SPOOL/%u,
  mail_privileged_group = mail, mail_fsync = always, service defaults otherwise (an lmtp
  process per connection). Both daemons are started once and stopped at the end.
EOF
}
