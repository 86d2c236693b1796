#!/bin/bash
# mail -H on a mailbox of many messages pays once per session, not once per message, for what
# does not change between messages: the terminal's width (an ioctl per summary line before),
# the time zone (glibc's mktime stats /etc/localtime on every call: one per From_ line before).
# Counted with strace on 2000 messages; the bound is far below one call per message.
. "$SRCDIR/tests/e2e/lib.bash"
command -v strace >/dev/null || skip "strace missing"
command -v python3 >/dev/null || skip "python3 missing"
make_world
# LeakSanitizer cannot run under ptrace (a SAN=1 build): the leak checks are other tests' job.
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"
n=2000
python3 "$SRCDIR/bench/gen_mbox.py" "$n" 2000000 "$W/box"
# TZ unset: the zone comes from /etc/localtime, the case where mktime checks the file each time.
env -u TZ strace -f -c -o "$W/st" "$BUILD/mail" -C "$W/mda.conf" -H -f "$W/box" </dev/null >"$W/out" 2>"$W/err" ||
	{ cat "$W/err"; fail "mail -H failed"; }
check "one summary line per message" [ "$(wc -l <"$W/out")" = "$n" ]
calls() { awk -v s="$1" '$NF == s { print ($4 ~ /^[0-9]+$/) ? $4 : $5 }' "$W/st" | head -1; }
for sc in ioctl newfstatat stat fstat openat read; do
	c=$(calls "$sc")
	echo "$sc: ${c:-0} calls for $n messages"
	check "$sc is not called per message (${c:-0} calls for $n messages)" [ "${c:-0}" -lt 100 ]
done
echo ok
