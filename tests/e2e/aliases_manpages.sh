#!/bin/bash
# e2e: newaliases(8), aliases(5) and forward(5) are clean under mandoc -Tlint, have the
# sections a reader looks for, and newaliases(8) documents every option newaliases accepts.
. "$SRCDIR/tests/e2e/lib.bash"
command -v mandoc >/dev/null || skip "mandoc not installed (apt-get install mandoc)"
cd "$SRCDIR"
for page in man/newaliases.8 man/aliases.5 man/forward.5; do
	[ -f "$page" ] || fail "$page missing"
	out=$(mandoc -Tlint -W warning "$page" 2>&1) || fail "mandoc -Tlint $page: $out"
	[ -z "$out" ] || fail "mandoc -Tlint $page: $out"
	for s in NAME SYNOPSIS DESCRIPTION FILES EXAMPLES "SEE ALSO"; do
		grep -q "^\.SH $s\$" "$page" || fail "$page has no $s section"
	done
done
check "newaliases.8 EXIT STATUS" grep -q '^\.SH EXIT STATUS' man/newaliases.8
check "newaliases.8 OPTIONS" grep -q '^\.SH OPTIONS' man/newaliases.8
check "aliases.5 SYNTAX" grep -q '^\.SH SYNTAX' man/aliases.5
check "forward.5 SECURITY" grep -q '^\.SH SECURITY' man/forward.5
# Every option letter in newaliases' getopt string has a .TP entry in OPTIONS.
opts=$(sed -n 's/.*getopt\(_long\)\{0,1\}(argc, argv, "\([^"]*\)".*/\2/p' aliases/newaliases.c | tr -d :)
[ -n "$opts" ] || fail "could not read the getopt string of aliases/newaliases.c"
for o in $(grep -o . <<<"$opts"); do
	grep -q "^\.B[IR]* \\\\-$o\\b" man/newaliases.8 || fail "newaliases.8 does not document -$o"
done
# Every exit status newaliases can return is listed.
for code in 0 1 64 65 66 73 75 78; do
	grep -qx "\.B $code" man/newaliases.8 || fail "newaliases.8 EXIT STATUS lacks $code"
done
echo "ok: 3 pages, options -$opts documented"
