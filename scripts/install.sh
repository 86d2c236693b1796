#!/bin/sh
# `make install` / `make uninstall`: one list of what goes where, so uninstall removes exactly
# what install put there. Environment: BUILD, PREFIX, DESTDIR, SYSCONFDIR (from the Makefile).
# The sample mda.conf never overwrites an existing one, and uninstall removes it only when
# it is still the sample (an administrator's edits stay).
set -eu
cd "$(dirname "$0")/.."
: "${BUILD:=build}" "${PREFIX:=/usr/local}" "${DESTDIR:=}" "${SYSCONFDIR:=$PREFIX/etc}"
case $PREFIX in /usr) UNITDIR=/lib/systemd/system ;; *) UNITDIR=$PREFIX/lib/systemd/system ;; esac
DOCDIR=$PREFIX/share/doc/mda

# entries: MODE SOURCE DESTINATION (absolute, without DESTDIR)
entries() {
	echo "0755 $BUILD/mda $PREFIX/libexec/mda"
	# mda-newaliases: never shadow the MTA's newaliases (its Berkeley DB /etc/aliases.db).
	echo "0755 $BUILD/newaliases $PREFIX/sbin/mda-newaliases"
	echo "0755 $BUILD/mail $PREFIX/bin/mail"
	echo "0755 $BUILD/mda-sievec $PREFIX/bin/mda-sievec"
	echo "0755 $BUILD/mda-sieve-test $PREFIX/bin/mda-sieve-test"
	for p in man/*.[1578]; do
		n=${p##*/}
		[ "$n" = newaliases.8 ] && n=mda-newaliases.8
		echo "0644 $p $PREFIX/share/man/man${n##*.}/$n"
	done
	for u in contrib/systemd/*.service contrib/systemd/*.socket; do
		echo "0644 $u $UNITDIR/${u##*/}"
	done
	echo "0644 README.md $DOCDIR/README.md"
	echo "0644 contrib/mda.conf.sample $DOCDIR/mda.conf.sample"
}
CONF=$SYSCONFDIR/mda.conf

# The unit files name the installed mda.
unit_text() { sed "s|/usr/local/libexec/mda|$PREFIX/libexec/mda|g" "$1"; }

do_install() {
	entries | while read -r mode src dst; do
		install -d "$DESTDIR${dst%/*}"
		case $src in
		contrib/systemd/*) unit_text "$src" >"$DESTDIR$dst.tmp" && chmod "$mode" "$DESTDIR$dst.tmp" &&
			mv "$DESTDIR$dst.tmp" "$DESTDIR$dst" ;;
		*) install -m "$mode" "$src" "$DESTDIR$dst" ;;
		esac
	done
	install -d "$DESTDIR$SYSCONFDIR"
	if [ -e "$DESTDIR$CONF" ]; then
		echo "install: keeping the existing $DESTDIR$CONF (the sample is in $DOCDIR)"
	else
		install -m 0644 contrib/mda.conf.sample "$DESTDIR$CONF"
	fi
}

# Removes FILE's directory and its parents while they are empty. Into a DESTDIR that is
# the whole tree install made; on the live system only mda's own doc directory, never a
# shared one such as /usr/local/sbin that happens to be empty.
prune() {
	d=${1%/*}
	[ -n "$DESTDIR" ] || [ "$d" = "$DOCDIR" ] || return 0
	while [ -n "$d" ] && [ "$d" != "$DESTDIR" ] && [ "$d" != "$DESTDIR/" ]; do
		rmdir "$d" 2>/dev/null || return 0
		d=${d%/*}
	done
}

do_uninstall() {
	entries | while read -r mode src dst; do
		rm -f "$DESTDIR$dst"
		prune "$DESTDIR$dst"
	done
	if [ -f "$DESTDIR$CONF" ] && cmp -s contrib/mda.conf.sample "$DESTDIR$CONF"; then
		rm -f "$DESTDIR$CONF"
		prune "$DESTDIR$CONF"
	elif [ -e "$DESTDIR$CONF" ]; then
		echo "uninstall: keeping $DESTDIR$CONF (changed from the sample)"
	fi
}

case ${1:-} in
install) do_install ;;
uninstall) do_uninstall ;;
*) echo "usage: scripts/install.sh install|uninstall" >&2; exit 64 ;;
esac
