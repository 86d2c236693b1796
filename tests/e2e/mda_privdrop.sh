#!/bin/bash
# e2e: mda run as root (Exim, OpenSMTPD) drops to each recipient before touching anything:
# .forward command and file deliveries and spool mailboxes belong to the real users.
. "$SRCDIR/tests/e2e/lib.bash"
[ "$(id -u)" = 0 ] || skip "needs root to create users and drop privileges (run as root, as CI does)"
command -v useradd >/dev/null || skip "useradd missing"
getent group mail >/dev/null || skip "no mail group"
make_world
MDA=$BUILD/mda
u1=mdapd$$a
u2=mdapd$$b
cleanup() { userdel "$u1" 2>/dev/null || true; userdel "$u2" 2>/dev/null || true; }
trap cleanup EXIT
chmod 755 "$W"
for u in "$u1" "$u2"; do
	useradd -M -d "$W/home/$u" -s /bin/sh "$u" || skip "useradd $u failed"
	mkdir -p "$W/home/$u"
	chown "$u:" "$W/home/$u"
	chmod 755 "$W/home/$u"
done
# The Debian spool: root:mail 2775; the delivery child gets the mail group to create mailboxes.
chown root:mail "$W/spool"
chmod 2775 "$W/spool"
sed -i -e 's|^passwd_file = .*|passwd_file =|' -e 's|^mail_group =.*|mail_group = mail|' "$W/mda.conf"
h1=$W/home/$u1
printf '"|id -u > %s/cmd.uid; id -G > %s/cmd.groups; cat > %s/cmd.msg"\n%s/saved.mbox\n\\%s\n' \
	"$h1" "$h1" "$h1" "$h1" "$u1" >"$h1/.forward"
chown "$u1:" "$h1/.forward"
chmod 644 "$h1/.forward"

printf 'Subject: privdrop\n\nhello users\n' | "$MDA" -C "$W/mda.conf" -f sender@example.org "$u1" "$u2" 2>"$W/err" \
	|| fail "delivery as root failed: $(cat "$W/err")"
cat "$W/err"
uid1=$(id -u "$u1")
check "command ran as $u1 ($uid1), got $(cat "$h1/cmd.uid" 2>/dev/null)" [ "$(cat "$h1/cmd.uid")" = "$uid1" ]
check "command has no root group" sh -c "! grep -qw 0 '$h1/cmd.groups'"
check "command got the message" grep -q 'hello users' "$h1/cmd.msg"
check "command output owned by $u1" [ "$(stat -c %u "$h1/cmd.msg")" = "$uid1" ]
check "file delivery owned by $u1" [ "$(stat -c %u "$h1/saved.mbox")" = "$uid1" ]
check "file delivery content" grep -q 'hello users' "$h1/saved.mbox"
check "\\$u1 mailbox owned by $u1" [ "$(stat -c %u "$W/spool/$u1")" = "$uid1" ]
check "$u2 mailbox owned by $u2" [ "$(stat -c %u "$W/spool/$u2")" = "$(id -u "$u2")" ]
check "$u2 mailbox content" grep -q 'hello users' "$W/spool/$u2"
check "no root-owned file in the spool" [ -z "$(find "$W/spool" -mindepth 1 -user root)" ]
check "no root-owned file in the homes" [ -z "$(find "$W/home/$u1" "$W/home/$u2" -mindepth 1 -user root)" ]
check "the binary has no set-id bit" [ -z "$(find "$MDA" -perm /6000)" ]

echo "== a mailbox replaced by a symlink is refused, temporarily"
ln -s "$W/victim" "$W/spool/$u2.tmp"
mv -f "$W/spool/$u2.tmp" "$W/spool/$u2"
rc=0; printf 'Subject: x\n\ny\n' | "$MDA" -C "$W/mda.conf" "$u2" 2>"$W/err" || rc=$?
check "symlinked mailbox: 75 (got $rc)" [ "$rc" = 75 ]
check "symlink target not created" [ ! -e "$W/victim" ]
echo ok
