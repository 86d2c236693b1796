#!/bin/bash
# e2e: `make install PREFIX=... DESTDIR=...` puts the three programs and every man page under
# DESTDIR+PREFIX and nowhere else, with the right modes, and the installed mda and mail work.
. "$SRCDIR/tests/e2e/lib.sh"
make_world
root=$W/destdir
prefix=/opt/mda-test
make -s -C "$SRCDIR" BUILD="$BUILD" PREFIX="$prefix" DESTDIR="$root" install >"$W/make.log" 2>&1 ||
	fail "make install: $(tail -5 "$W/make.log")"
p=$root$prefix
[ "$(ls -A "$root")" = "${prefix#/}" ] || [ "$(ls -A "$root")" = opt ] || fail "wrote outside PREFIX: $(ls -A "$root")"
for f in libexec/mda sbin/mda-newaliases bin/mail; do
	[ -f "$p/$f" ] || fail "$f not installed"
	[ "$(stat -c %a "$p/$f")" = 755 ] || fail "$f mode $(stat -c %a "$p/$f")"
	[ ! -u "$p/$f" ] && [ ! -g "$p/$f" ] || fail "$f must not be setuid/setgid"
done
pages=0
for src in "$SRCDIR"/man/*.[158]; do
	name=${src##*/}
	[ "$name" = newaliases.8 ] && name=mda-newaliases.8
	dst=$p/share/man/man${name##*.}/$name
	[ -f "$dst" ] || fail "man page $name not installed as $dst"
	[ "$(stat -c %a "$dst")" = 644 ] || fail "$name mode $(stat -c %a "$dst")"
	cmp -s "$src" "$dst" || fail "$name differs from the source"
	pages=$((pages + 1))
done
for want in mda.8 mda.conf.5 mda-newaliases.8 aliases.5 forward.5 mail.1; do
	[ -f "$p/share/man/man${want##*.}/$want" ] || fail "$want missing"
done
[ ! -e "$p/sbin/newaliases" ] || fail "installed as newaliases: it would shadow the MTA's"
# The installed programs are the built ones and work from their new place.
printf 'Subject: installed\n\nhello from the installed mda\n' |
	env -u SENDER -u RECIPIENT "$p/libexec/mda" -C "$W/mda.conf" -f sender@example.org alice ||
	fail "installed mda exited $?"
grep -q '^From sender@example.org ' "$W/spool/alice" || fail "no From_ line in the mailbox"
grep -q '^hello from the installed mda$' "$W/spool/alice" || fail "message not delivered"
out=$("$p/bin/mail" -C "$W/mda.conf" -H -f "$W/spool/alice" 2>&1) || fail "installed mail -H -f: $out"
grep -q installed <<<"$out" || fail "mail -H does not list the message: $out"
echo "ok: 3 programs and $pages man pages under DESTDIR$prefix"
