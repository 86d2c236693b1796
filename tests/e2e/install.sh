#!/bin/bash
# e2e: `make install PREFIX=... DESTDIR=...` puts the programs, man pages, systemd units (with
# ExecStart naming the installed mda), docs and a sample mda.conf under DESTDIR and nowhere
# else, with the right modes; the installed programs work and read PREFIX's configuration
# file; a second install keeps an edited mda.conf; `make uninstall` then removes exactly what
# install put there (an edited mda.conf stays), and an install + uninstall round trip leaves
# an empty tree. PREFIX=/usr puts the configuration in /etc.
. "$SRCDIR/tests/e2e/lib.bash"
make_world
root=$W/destdir
prefix=/opt/mda-test
mk() { make -s -C "$SRCDIR" BUILD="$BUILD" DESTDIR="$root" "$@" >>"$W/make.log" 2>&1 || fail "make $*: $(tail -5 "$W/make.log")"; }
# The shared build dir ends as it was: built for the default PREFIX.
trap 'make -s -C "$SRCDIR" BUILD="$BUILD" >/dev/null 2>&1' EXIT
mk PREFIX="$prefix" install
p=$root$prefix
[ "$(ls -A "$root")" = opt ] || fail "wrote outside PREFIX: $(ls -A "$root")"
for f in libexec/mda sbin/mda-newaliases bin/mail; do
	[ -f "$p/$f" ] || fail "$f not installed"
	[ "$(stat -c %a "$p/$f")" = 755 ] || fail "$f mode $(stat -c %a "$p/$f")"
	[ ! -u "$p/$f" ] && [ ! -g "$p/$f" ] || fail "$f must not be setuid/setgid"
done
[ ! -e "$p/sbin/newaliases" ] || fail "installed as newaliases: it would shadow the MTA's"
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
for u in mda-lmtp.service mda-lmtp.socket; do
	[ -f "$p/lib/systemd/system/$u" ] || fail "$u not installed"
done
grep -qx "ExecStart=$prefix/libexec/mda -L systemd" "$p/lib/systemd/system/mda-lmtp.service" ||
	fail "ExecStart does not name the installed mda: $(grep ExecStart "$p/lib/systemd/system/mda-lmtp.service")"
[ -f "$p/share/doc/mda/README.md" ] || fail "README not installed"
cmp -s "$SRCDIR/contrib/mda.conf.sample" "$p/etc/mda.conf" || fail "no sample $prefix/etc/mda.conf"
"$p/libexec/mda" --version | grep -qx "configuration file: $prefix/etc/mda.conf" ||
	fail "the installed mda does not read $prefix/etc/mda.conf: $("$p/libexec/mda" --version)"
# The installed programs are the built ones and work from their new place.
printf 'Subject: installed\n\nhello from the installed mda\n' |
	env -u SENDER -u RECIPIENT "$p/libexec/mda" -C "$W/mda.conf" -f sender@example.org alice ||
	fail "installed mda exited $?"
grep -q '^hello from the installed mda$' "$W/spool/alice" || fail "message not delivered"
out=$("$p/bin/mail" -C "$W/mda.conf" -H -f "$W/spool/alice" 2>&1) || fail "installed mail -H -f: $out"
grep -q installed <<<"$out" || fail "mail -H does not list the message: $out"
# An edited configuration survives a second install and the uninstall.
echo "spool_dir = /srv/mail" >>"$p/etc/mda.conf"
cp "$p/etc/mda.conf" "$W/edited.conf"
mk PREFIX="$prefix" install
cmp -s "$W/edited.conf" "$p/etc/mda.conf" || fail "a second install overwrote the edited mda.conf"
mk PREFIX="$prefix" uninstall
left=$(cd "$root" && find . -mindepth 1 | sort | tr '\n' ' ')
[ "$left" = "./opt ./opt/mda-test ./opt/mda-test/etc ./opt/mda-test/etc/mda.conf " ] ||
	fail "uninstall left other files or missed some: $left"
rm -rf "$root"
# Round trip, PREFIX=/usr: /etc/mda.conf, /lib/systemd/system; nothing left after.
mk PREFIX=/usr install
[ -f "$root/etc/mda.conf" ] && [ -f "$root/lib/systemd/system/mda-lmtp.socket" ] && [ -x "$root/usr/libexec/mda" ] ||
	fail "PREFIX=/usr layout: $(cd "$root" && find . -type f | sort | tr '\n' ' ')"
"$root/usr/libexec/mda" --version | grep -qx "configuration file: /etc/mda.conf" || fail "PREFIX=/usr mda does not read /etc/mda.conf"
mk PREFIX=/usr uninstall
[ -z "$(ls -A "$root")" ] || fail "install + uninstall left: $(cd "$root" && find . | sort | tr '\n' ' ')"
echo "ok: 3 programs, $pages man pages, 2 units, docs, sample mda.conf; round trip leaves nothing"
