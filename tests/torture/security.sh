#!/bin/bash
# Security torture (root): a mailbox that is a symlink to a copy of /etc/passwd (and a dangling
# one), a hard-linked mailbox, a world-writable .forward, a .forward owned by another user, and
# :include: files the rules refuse (unreadable to the user, world-writable). Each is refused
# as mda(8)/forward(5)/aliases(5) say and no target file changes. Never the real /etc/passwd.
. "$(dirname "$0")/lib.sh"
need_binaries
[ "$(id -u)" = 0 ] || skip "needs root (mailbox ownership, privilege drop to the recipients)"
W=$T/world
world "$W" 1
chmod 755 "$T" "$W" "$W/home"
chmod 1777 "$W/spool" "$W/tmp"
# Unprivileged recipients with their own uids (no real accounts needed: mda drops to them).
for u in alice:61001 mallory:61002; do
	n=${u%:*} id=${u#*:}
	mkdir -p "$W/home/$n"
	chown "$id:$id" "$W/home/$n"
	echo "$n:x:$id:$id:$n:$W/home/$n:/bin/sh" >>"$W/passwd"
done
msg() { printf 'From: x@example.org\nSubject: %s\n\nbody\n' "$1"; }
deliver() { msg "$2" | "$MDA" -C "$W/mda.conf" -f x@example.org "$1" 2>"$T/err"; }
sum() { sha1sum <"$1"; }
checks=0
expect_rc() {   # WHAT RC WANT
	[ "$2" = "$3" ] || fail "$1: exit $2, want $3; stderr: $(tail -2 "$T/err")"
	checks=$((checks + 1))
}
victim=$T/victim-passwd
cp /etc/passwd "$victim"
chmod 644 "$victim"
before=$(sum "$victim")

# 1. Mailbox is a symlink to the victim: temporary failure, victim and link untouched.
ln -s "$victim" "$W/spool/alice"
deliver alice symlink; expect_rc "symlinked mailbox" $? 75
[ "$(sum "$victim")" = "$before" ] || fail "symlinked mailbox: the victim changed"
[ -L "$W/spool/alice" ] || fail "symlinked mailbox: the link was replaced"
note "symlink to a passwd copy: exit 75 ($(tail -1 "$T/err" | cut -c1-100)), victim unchanged"
rm "$W/spool/alice"
# 1b. Dangling symlink: the target must not be created.
ln -s "$T/created-through-link" "$W/spool/alice"
deliver alice dangling; expect_rc "dangling symlink mailbox" $? 75
[ ! -e "$T/created-through-link" ] || fail "dangling symlink: mda created its target"
rm "$W/spool/alice"

# 2. Hard-linked mailbox (the link is the recipient's own file: only nlink is wrong).
cp "$victim" "$T/victim-hard" && chown 61001:61001 "$T/victim-hard" && chmod 600 "$T/victim-hard"
hb=$(sum "$T/victim-hard")
ln "$T/victim-hard" "$W/spool/alice"
deliver alice hardlink; expect_rc "hard-linked mailbox" $? 75
[ "$(sum "$T/victim-hard")" = "$hb" ] || fail "hard-linked mailbox: the victim changed"
note "hard-linked mailbox: exit 75 ($(tail -1 "$T/err" | cut -c1-100)), victim unchanged"
rm "$W/spool/alice"

# 3. World-writable .forward: ignored, ordinary delivery, its command never runs.
fwd=$W/home/alice/.forward
printf '"|touch %s/canary-ww"\nmallory\n' "$T" >"$fwd"
chown 61001:61001 "$fwd" && chmod 666 "$fwd"
deliver alice ww-forward; expect_rc "world-writable .forward" $? 0
[ ! -e "$T/canary-ww" ] || fail "world-writable .forward: its command ran"
[ ! -e "$W/spool/mallory" ] || fail "world-writable .forward: forwarded to mallory"
grep -q '^Subject: ww-forward$' "$W/spool/alice" || fail "world-writable .forward: not delivered to the mailbox"
grep -qi 'writable' "$T/err" || fail "world-writable .forward: no reason logged"
note "world-writable .forward: ignored, delivered to the mailbox, logged: $(grep -i writable "$T/err" | head -1 | cut -c1-90)"

# 4. .forward owned by another user: ignored likewise.
printf '"|touch %s/canary-owner"\nmallory\n' "$T" >"$fwd"
chown 61002:61002 "$fwd" && chmod 644 "$fwd"
deliver alice foreign-forward; expect_rc ".forward owned by another user" $? 0
[ ! -e "$T/canary-owner" ] || fail "foreign .forward: its command ran"
[ ! -e "$W/spool/mallory" ] || fail "foreign .forward: forwarded to mallory"
grep -q '^Subject: foreign-forward$' "$W/spool/alice" || fail "foreign .forward: not delivered to the mailbox"
note "foreign-owned .forward: ignored, delivered to the mailbox"

# 5. :include: of a file alice may not read (root's, 0600), from her .forward: refused, its
#    content (a user name) never used or shown.
secret=$T/secret.list
printf 'mallory\n' >"$secret" && chmod 600 "$secret"
sb=$(sum "$secret")
printf ':include:%s\n' "$secret" >"$fwd"
chown 61001:61001 "$fwd" && chmod 644 "$fwd"
deliver alice unreadable-include; rc=$?
[ "$rc" != 0 ] || fail ":include: of an unreadable file: delivered (exit 0)"
checks=$((checks + 1))
[ ! -e "$W/spool/mallory" ] || fail ":include: of an unreadable file: its content was used"
[ "$(sum "$secret")" = "$sb" ] || fail ":include: of an unreadable file: it changed"
note ":include: unreadable to the user: exit $rc ($(tail -1 "$T/err" | cut -c1-100))"
rm "$fwd"

# 6. Alias :include: of a world-writable list: refused, list untouched.
ww=$T/ww.list
printf 'mallory\n' >"$ww" && chmod 666 "$ww"
wb=$(sum "$ww")
printf 'postmaster: u000\nlist: :include:%s\n' "$ww" >"$W/aliases"
"$NEWALIASES" -C "$W/mda.conf" >/dev/null 2>&1 || fail "newaliases"
deliver list ww-include; rc=$?
[ "$rc" != 0 ] || fail "alias :include: of a world-writable file: delivered (exit 0)"
checks=$((checks + 1))
[ ! -e "$W/spool/mallory" ] || fail "alias :include: of a world-writable file: its content was used"
[ "$(sum "$ww")" = "$wb" ] || fail "alias :include: of a world-writable file: it changed"
note "alias :include: of a world-writable file: exit $rc ($(tail -1 "$T/err" | cut -c1-100))"

[ "$(sum "$victim")" = "$before" ] || fail "the passwd copy changed"
note "$checks refusals checked, every target file unchanged"
echo "PASS"
