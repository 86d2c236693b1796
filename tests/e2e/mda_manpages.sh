#!/bin/bash
# e2e: mda(8) and mda.conf(5) are clean under mandoc -Tlint, and mda.conf(5) and the sample
# mda.conf document every key that common/config.c knows (and no key it does not).
. "$SRCDIR/tests/e2e/lib.bash"
command -v mandoc >/dev/null || skip "mandoc not installed (apt-get install mandoc)"
cd "$SRCDIR"
for page in man/mda.8 man/mda.conf.5; do
	[ -f "$page" ] || fail "$page missing"
	out=$(mandoc -Tlint -W warning "$page" 2>&1) || fail "mandoc -Tlint $page: $out"
	[ -z "$out" ] || fail "mandoc -Tlint $page: $out"
done
check "mda.8 has an LMTP MODE section" grep -q '^\.SH LMTP MODE' man/mda.8
check "mda.8 has an EXIT STATUS section" grep -q '^\.SH EXIT STATUS' man/mda.8
# The keys as common/config.c declares them in its table.
keys=$(sed -n 's/^[[:space:]]*\(STR\|INT\|SIZE\|BOOL\)(\([a-z_]*\),.*/\2/p; s/^[[:space:]]*{ "\([a-z_]*\)", K_.*/\1/p' common/config.c)
[ "$(wc -w <<<"$keys")" -ge 20 ] || fail "could not read the key table of common/config.c: $keys"
documented=$(sed -n 's/^\.BR \([a-z_]*\) " (default.*/\1/p' man/mda.conf.5)
for k in $keys; do
	grep -qx "$k" <<<"$documented" || fail "mda.conf.5 does not document $k"
done
for k in $documented; do
	grep -qx "$k" <<<"$keys" || fail "mda.conf.5 documents $k, which common/config.c does not know"
done
# The sample mda.conf that make install puts in place shows every key, commented out.
sample=$(sed -n 's/^#\([a-z_]*\) =.*/\1/p' contrib/mda.conf.sample)
for k in $keys; do
	grep -qx "$k" <<<"$sample" || fail "contrib/mda.conf.sample does not show $k"
done
for k in $sample; do
	grep -qx "$k" <<<"$keys" || fail "contrib/mda.conf.sample shows $k, which common/config.c does not know"
done
echo "ok: $(wc -w <<<"$keys") keys documented and in the sample"
