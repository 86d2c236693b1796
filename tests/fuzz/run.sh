#!/bin/bash
# `make fuzz`: builds every tests/fuzz/fuzz_*.c as a libFuzzer target (clang, ASan+UBSan) and runs
# each for FUZZ_SECONDS (default 60) from its seed corpus tests/fuzz/corpus/NAME/. Any crash,
# leak or sanitizer report fails the run; the reproducer is left in build-fuzz/findings/NAME/.
set -euo pipefail
cd "$(dirname "$0")/../.."
SECONDS_EACH=${FUZZ_SECONDS:-60}
B=build-fuzz
command -v clang >/dev/null || { echo "fuzz: clang is missing (apt-get install clang libclang-rt-14-dev)" >&2; exit 1; }
make -s BUILD=$B CC=clang SAN=fuzz $B/libmailcmd.a $B/libmda.a $B/libsieve.a $B/libaliases.a $B/libforward.a $B/libmbox.a $B/libcommon.a
LIBS="$B/libmailcmd.a $B/libmda.a $B/libsieve.a $B/libaliases.a $B/libforward.a $B/libmbox.a $B/libcommon.a"
LDLIBS="$(pkg-config --libs libpcre2-8) -lgdbm -llockfile"
fail=0 total=0
for src in tests/fuzz/fuzz_*.c; do
	name=$(basename "$src" .c)
	total=$((total + 1))
	clang -std=c11 -D_GNU_SOURCE -I. -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
		"$src" $LIBS $LDLIBS -o "$B/$name"
	seeds=tests/fuzz/corpus/${name#fuzz_}
	work=$B/corpus/$name findings=$B/findings/$name
	mkdir -p "$work" "$findings"
	echo "fuzz: $name for ${SECONDS_EACH}s"
	if ! "$B/$name" -max_total_time="$SECONDS_EACH" -max_len=65536 -timeout=10 -rss_limit_mb=2048 \
		-artifact_prefix="$findings/" -print_final_stats=1 "$work" "$seeds" >"$B/$name.log" 2>&1; then
		echo "fuzz: FINDING in $name (see $B/$name.log and $findings/)"; tail -30 "$B/$name.log"; fail=$((fail + 1))
	else
		grep -E 'stat::number_of_executed_units' "$B/$name.log" | sed "s/^/fuzz: $name /"
	fi
done
echo "fuzz: $((total - fail)) passed, $fail failed"
[ "$fail" -eq 0 ]
