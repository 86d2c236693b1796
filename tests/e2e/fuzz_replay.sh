#!/bin/bash
# Replays every fuzz seed corpus and kept crash input (tests/fuzz/corpus/NAME/) through its
# target built without libFuzzer ($BUILD/tests/fuzz/fuzz_NAME, see the Makefile), so each bug
# the fuzzers found stays fixed in `make test` and `make check-asan`, with or without clang.
. "$SRCDIR/tests/e2e/lib.bash"
n=0
for src in "$SRCDIR"/tests/fuzz/fuzz_*.c; do
	name=$(basename "$src" .c)
	bin=$BUILD/tests/fuzz/$name corpus=$SRCDIR/tests/fuzz/corpus/${name#fuzz_}
	[ -x "$bin" ] || fail "$bin is not built (make BUILD=... test builds it)"
	[ -d "$corpus" ] || fail "$name has no seed corpus $corpus"
	out=$("$bin" "$corpus" 2>&1) || { echo "$out" | tail -30; fail "$name fails on its corpus"; }
	echo "$out"
	n=$((n + 1))
done
[ "$n" -ge 7 ] || fail "only $n fuzz targets found"
echo "replayed the corpora of $n fuzz targets"
