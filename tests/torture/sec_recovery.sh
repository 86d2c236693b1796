#!/bin/bash
# Security torture (root): the files the recovery machinery reads, planted by a second local
# user (mallory, 61002) against alice (61001) in a sticky 1777 spool and in a root:mail 2775
# spool (mallory then in group mail): a forged in-place rewrite record naming alice's
# ~/.profile and a file of mallory's, a forged append journal, a FIFO at the retry state and
# at the lock name. Each time: the named files are unchanged, every message delivered with
# exit 0 is in alice's mailbox, nothing blocks past its timeout, mallory learns nothing.
. "$(dirname "$0")/lib.sh"
need_binaries
[ "$(id -u)" = 0 ] || skip "needs root (two users, privilege drop to the recipient)"
command -v setpriv >/dev/null || skip "setpriv (util-linux) is missing"
getent group mail >/dev/null || skip "no mail group"
A=61001 M=61002
sum() { sha256sum <"$1" | cut -c1-16; }
fnv() { python3 -c 'import sys
h=1469598103934665603
for b in open(sys.argv[1],"rb").read(): h=((h^b)*1099511628211)&0xffffffffffffffff
print("%016x" % h)' "$1"; }
checks=0
ok() { checks=$((checks + 1)); }

# setup SHAPE: a fresh world $W with alice and mallory, the spool in that shape.
setup() {
	W=$T/$1
	rm -rf "$W"
	mkdir -p "$W/spool" "$W/tmp" "$W/home/alice" "$W/home/mallory"
	chmod 755 "$T" "$W" "$W/home"
	chmod 1777 "$W/tmp"
	chown $A:$A "$W/home/alice"; chown $M:$M "$W/home/mallory"
	printf 'alice:x:%d:%d::%s:/bin/sh\nmallory:x:%d:%d::%s:/bin/sh\n' $A $A "$W/home/alice" $M $M "$W/home/mallory" >"$W/passwd"
	cat >"$W/mda.conf" <<EOC
spool_dir = $W/spool
tmp_dir = $W/tmp
passwd_file = $W/passwd
aliases_db =
log = stderr
lock_timeout = 5
EOC
	chmod 644 "$W/passwd" "$W/mda.conf"
	spool_shape "$W/spool" "$1"
	printf 'export PATH=/usr/bin:/bin\n' >"$W/home/alice/.profile"
	chown $A:$A "$W/home/alice/.profile"; chmod 644 "$W/home/alice/.profile"
	printf 'mallory keeps this file\n' >"$W/home/mallory/loot"
	chown $M:$M "$W/home/mallory/loot"; chmod 666 "$W/home/mallory/loot"
	MAL=$M:$M; [ "$1" = mailgroup ] && MAL=$M:$M:mail
	n_sent=0
	deliver x   # alice's mailbox exists, owned by alice
}
msg() { printf 'From: x@example.org\nSubject: %s\n\nbody of %s\n' "$1" "$1"; }
# deliver SUBJECT [ENV...]: root runs mda as Exim or the LMTP daemon would; exit 0 counts.
deliver() {
	local s=$1 rc=0
	shift
	msg "$s" | timeout 30 env "$@" "$MDA" -C "$W/mda.conf" -f x@example.org -- alice 2>>"$W/err" || rc=$?
	[ $rc = 124 ] && fail "$SHAPE: delivery of $s blocked past 30 s"
	[ $rc = 0 ] && { n_sent=$((n_sent + 1)); echo "$s" >>"$W/sent"; }
	return $rc
}
# must_deliver SUBJECT [ENV...]: a plant must not even defer alice's mail.
must_deliver() {
	deliver "$@" || fail "$SHAPE: delivery of $1 failed (exit $?): $(tail -1 "$W/err")"
}
all_present() {
	local s
	while read -r s; do
		grep -qx "Subject: $s" "$W/spool/alice" || fail "$SHAPE: message '$s' delivered with exit 0 is gone ($1)"
	done <"$W/sent"
	ok
}
unchanged() {   # WHAT FILE HASH
	[ "$(sum "$2")" = "$3" ] || fail "$SHAPE: $1: $2 changed"
	ok
}
mbox_id() { stat -c '%d %i' "$W/spool/alice"; }
file_id() { stat -c '%d %i' "$1"; }

attack_rewrite_record() {   # NO_XATTR(0|1)
	local prof=$W/home/alice/.profile loot=$W/home/mallory/loot len hp hl
	local env=(); [ "$1" = 1 ] && env=(MBOX_TEST_NO_XATTR=1)
	hp=$(sum "$prof") hl=$(sum "$loot")
	len=$(stat -c %s "$W/spool/alice")
	# The audit's record: "our bytes are [0, len)", put back the target's bytes (hash right).
	as_user "$MAL" sh -c "printf '%s 1 w %s %s %s %s %s 1 %s\n' '$(mbox_id)' $len $len $(stat -c %s "$prof") $(fnv "$prof") '$(file_id "$prof")' '$prof' >'$W/spool/.alice.mda-rewrite'" ||
		fail "$SHAPE: mallory could not plant the rewrite record"
	must_deliver "after-record-profile-$1" "${env[@]}"
	unchanged "record naming ~/.profile" "$prof" "$hp"
	as_user "$MAL" rm -f "$W/spool/.alice.mda-rewrite"
	as_user "$MAL" sh -c "printf '%s 1 w %s %s 0 %s %s 1 %s\n' '$(mbox_id)' 1 1 $(fnv /dev/null) '$(file_id "$loot")' '$loot' >'$W/spool/.alice.mda-rewrite'"
	must_deliver "after-record-loot-$1" "${env[@]}"
	unchanged "record naming mallory's file (would receive alice's mail)" "$loot" "$hl"
	grep -q 'body of' "$loot" && fail "$SHAPE: alice's mail was copied into mallory's file"
	as_user "$MAL" rm -f "$W/spool/.alice.mda-rewrite"
	all_present "forged rewrite records"
	note "$SHAPE: forged rewrite records (xattr-less=$1) ignored; ~/.profile and mallory's file unchanged"
}

attack_journal() {   # NO_XATTR
	local env=(); [ "$1" = 1 ] && env=(MBOX_TEST_NO_XATTR=1)
	as_user "$MAL" sh -c "printf '%s %s 99999999 1\n' '$(mbox_id)' $(stat -c %s "$W/spool/alice") >'$W/spool/.alice.mda-journal'" ||
		fail "$SHAPE: mallory could not plant the journal"
	for i in 1 2 3; do must_deliver "after-journal-$1-$i" "${env[@]}"; done
	all_present "forged append journal"
	as_user "$MAL" rm -f "$W/spool/.alice.mda-journal"
	note "$SHAPE: forged append journal (xattr-less=$1): 3 deliveries with exit 0 all kept"
}

attack_retry_fifo() {   # (argument ignored)
	as_user "$MAL" mkfifo "$W/tmp/mda-retry.0" || fail "mkfifo"
	local t0=$SECONDS
	deliver after-retry-fifo || fail "$SHAPE: delivery with a FIFO at the retry state failed: $(tail -2 "$W/err")"
	[ $((SECONDS - t0)) -lt 10 ] || fail "$SHAPE: delivery took $((SECONDS - t0)) s"
	all_present "retry FIFO"
	# The LMTP daemon (root): one session, one message, answered well before its idle timeout.
	"$MDA" -C "$W/mda.conf" -o lmtp_idle_timeout=20 -o lmtp_socket_group= -L "unix:$W/lmtp.sock" 2>>"$W/err" &
	local dpid=$! i
	for i in $(seq 50); do [ -S "$W/lmtp.sock" ] && break; sleep 0.1; done
	timeout 15 python3 - "$W/lmtp.sock" <<'EOP' || fail "$SHAPE: LMTP delivery with a FIFO at the retry state did not answer 250"
import socket, sys
s = socket.socket(socket.AF_UNIX); s.settimeout(12); s.connect(sys.argv[1]); f = s.makefile("rwb")
def cmd(line):
    if line: f.write(line + b"\r\n"); f.flush()
    r = f.readline()
    while r[3:4] == b"-": r = f.readline()
    return r
assert cmd(None).startswith(b"220"); cmd(b"LHLO t"); cmd(b"MAIL FROM:<x@example.org>")
assert cmd(b"RCPT TO:<alice>").startswith(b"250")
assert cmd(b"DATA").startswith(b"354")
f.write(b"Subject: after-retry-fifo-lmtp\r\n\r\nbody\r\n.\r\n"); f.flush()
r = f.readline(); assert r.startswith(b"250"), r
EOP
	echo after-retry-fifo-lmtp >>"$W/sent"
	kill -TERM $dpid
	for i in $(seq 50); do kill -0 $dpid 2>/dev/null || break; sleep 0.1; done
	kill -0 $dpid 2>/dev/null && { kill -9 $dpid; fail "$SHAPE: the LMTP daemon ignored SIGTERM"; }
	all_present "retry FIFO, LMTP"
	as_user "$MAL" rm -f "$W/tmp/mda-retry.0"
	note "$SHAPE: FIFO at tmp_dir/mda-retry.0: root stdin delivery in $((SECONDS - t0)) s, LMTP answered 250, SIGTERM honoured"
}

attack_lock_fifo() {   # (argument ignored)
	as_user "$MAL" mkfifo "$W/spool/alice.lock" || fail "mkfifo lock"
	local t0=$SECONDS rc=0
	deliver lock-fifo-root || rc=$?
	[ $rc = 75 ] || fail "$SHAPE: with a FIFO lock: exit $rc, want 75 (mail deferred, not lost)"
	rc=0
	msg lock-fifo-user | timeout 30 setpriv --reuid=$A --regid=$A --clear-groups "$MDA" -C "$W/mda.conf" -f x@example.org -- alice 2>>"$W/err" || rc=$?
	[ $rc = 75 ] || fail "$SHAPE: as alice with a FIFO lock: exit $rc, want 75"
	[ $((SECONDS - t0)) -le 12 ] || fail "$SHAPE: two deliveries with a FIFO lock took $((SECONDS - t0)) s (lock_timeout 5)"
	ls -A "$W/spool" | grep -q '^\.lk' && fail "$SHAPE: .lk temporary files left: $(ls -A "$W/spool")"
	grep -q 'alice.lock: lock file is a FIFO' "$W/err" || fail "$SHAPE: the FIFO is not named in the log"
	as_user "$MAL" rm -f "$W/spool/alice.lock"
	deliver lock-fifo-after || fail "$SHAPE: delivery after the FIFO is gone failed"
	all_present "FIFO lock"
	note "$SHAPE: FIFO at spool/alice.lock: exit 75 within lock_timeout as root and as alice, no .lk left, logged"
}

for SHAPE in sticky mailgroup; do
	setup $SHAPE
	# SEC_ATTACKS (env) runs only some, e.g. to see each fail on an older build.
	for a in ${SEC_ATTACKS:-rewrite_record:0 rewrite_record:1 journal:0 journal:1 retry_fifo lock_fifo}; do
		"attack_${a%%:*}" ${a#*:}
	done
	[ "$(stat -c %u "$W/spool/alice")" = $A ] || fail "$SHAPE: alice's mailbox changed owner"
	note "$SHAPE: $n_sent messages delivered with exit 0, all present"
done
note "$checks checks"
echo PASS
