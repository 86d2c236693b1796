#!/bin/bash
# e2e: every man page is clean under mandoc -Tlint -Wstyle (references to the project's own
# pages aside, which are not installed here), renders with man(1) at 80 columns without a
# warning or a longer line, and carries the Makefile's VERSION in its footer; every program
# answers --help and --version (and -V) on standard output with exit 0.
. "$SRCDIR/tests/e2e/lib.bash"
command -v mandoc >/dev/null || skip "mandoc not installed (apt-get install mandoc)"
cd "$SRCDIR"
version=$(sed -n 's/^VERSION *= *//p' Makefile)
[ -n "$version" ] || fail "no VERSION in the Makefile"
own='mda\|mda.conf\|newaliases\|mda-newaliases\|aliases\|forward\|mail\|mda-sievec\|mda-sieve-test\|mda-sieve'
pages=0
for page in man/*.[1578]; do
	out=$(mandoc -Tlint -Wstyle "$page" 2>&1 | grep -v 'outdated mandoc.db' |
		grep -v "referenced manual not found: Xr \($own\) [1578]") || true
	[ -z "$out" ] || fail "mandoc -Tlint -Wstyle $page: $out"
	if command -v man >/dev/null; then
		warn=$(MANWIDTH=80 man -l "$page" 2>&1 >/dev/null)
		[ -z "$warn" ] || fail "man -l $page: $warn"
		wide=$(MANWIDTH=80 man -l "$page" 2>/dev/null | python3 -c '
import sys
for l in sys.stdin:
    if len(l.rstrip("\n")) > 80: print(len(l.rstrip("\n")), l.rstrip())' | head -3)
		[ -z "$wide" ] || fail "$page renders wider than 80 columns: $wide"
	fi
	grep -Eq "^\.TH .* \"mda $version\"|^\.Os mda $version\$" "$page" || fail "$page: footer is not mda $version"
	pages=$((pages + 1))
done
for p in mda newaliases mail mda-sievec mda-sieve-test; do
	for opt in --help --version -V; do
		out=$("$BUILD/$p" $opt 2>&1) || fail "$p $opt exited $?"
		[ -n "$out" ] || fail "$p $opt printed nothing"
	done
	"$BUILD/$p" --version | head -1 | grep -Eq "^(mda|mda-newaliases|newaliases|mail|mda-sievec|mda-sieve-test) $version\$" || fail "$p --version: $("$BUILD/$p" --version)"
	"$BUILD/$p" --version | grep -q 'built with GDBM [0-9].*PCRE2 [0-9].*liblockfile' || fail "$p --version names no libraries"
	"$BUILD/$p" --help 2>/dev/null | grep -q '^usage: ' || fail "$p --help has no usage line"
done
echo "ok: $pages pages, version $version"
