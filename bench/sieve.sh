#!/bin/bash
# Sieve cost: bench/sieve_bench.c (a 100-rule script with header, address, body and regex
# tests against a 4 KB message: compile once, execute many times, in process) and, as a
# peer measured in the same run, one process per message: mda-sieve-test against
# Pigeonhole's sieve-test on the same script and message (both compile and run the script
# each time). Medians of BENCH_RUNS runs, interleaved. Not part of `make test`.
# usage: BUILD=build bench/sieve.sh   (BENCH_SIEVE_N processes per run, default 200)
set -eu
SRC=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$(cd "$SRC/${BUILD:-build}" && pwd)
RUNS=${BENCH_RUNS:-3}
N=${BENCH_SIEVE_N:-200}
W=$(mktemp -d "${BENCH_TMP:-/tmp}/sieve-bench.XXXXXX")
trap 'rm -rf "$W"' EXIT
chmod 755 "$W"
cc -O2 -std=c11 -D_GNU_SOURCE -Wall -Wextra -I"$SRC" -o "$W/sieve_bench" "$SRC/bench/sieve_bench.c" \
	"$BUILD/libsieve.a" "$BUILD/libmbox.a" "$BUILD/libcommon.a" $(pkg-config --libs libpcre2-8) -lgdbm -llockfile
(cd "$W" && ./sieve_bench -w)
chmod 644 "$W/sieve-bench.sieve" "$W/sieve-bench.eml"
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

# per-process loop: seconds for N runs of "$@"
loop() {
	local start end
	start=$(date +%s.%N)
	for _ in $(seq "$N"); do "$@" >/dev/null 2>&1 || true; done
	end=$(date +%s.%N)
	echo "$start $end" | awk -v n="$N" '{printf "%.3f\n", ($2 - $1) * 1000 / n}'
}

peer=()
if command -v sieve-test >/dev/null; then
	mkdir -p "$W/mail" && chmod 777 "$W/mail"
	printf 'mail_location = mbox:%s/mail:INBOX=%s/inbox\n' "$W" "$W" >"$W/dovecot.conf"
	chmod 644 "$W/dovecot.conf"
	as=()
	[ "$(id -u)" -ne 0 ] || as=(runuser -u nobody --)
	peer=("${as[@]}" env HOME="$W" sieve-test -c "$W/dovecot.conf" "$W/sieve-bench.sieve" "$W/sieve-bench.eml")
fi
ours=("$BUILD/mda-sieve-test" -f sender@example.org -r rcpt@example.org "$W/sieve-bench.sieve" "$W/sieve-bench.eml")

: >"$W/inproc" >"$W/ours" >"$W/peer"
for _ in $(seq "$RUNS"); do
	"$W/sieve_bench" -n 20000 | tail -1 >>"$W/inproc"
	loop "${ours[@]}" >>"$W/ours"
	[ ${#peer[@]} -eq 0 ] || loop "${peer[@]}" >>"$W/peer"
done
compile=$(sed 's/.*compile_us=\([0-9.]*\).*/\1/' "$W/inproc" | median)
exec=$(sed 's/.*exec_us=\([0-9.]*\).*/\1/' "$W/inproc" | median)
o=$(median <"$W/ours")
echo "sieve: 100-rule script (7 KB), 4 KB message, load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "sieve: in process: compile ${compile} us, execute ${exec} us per message (median of $RUNS)"
echo "sieve: per process: mda-sieve-test ${o} ms"
if [ -s "$W/peer" ]; then
	p=$(median <"$W/peer")
	echo "sieve: per process: Pigeonhole sieve-test ${p} ms (ratio mda/Pigeonhole $(echo "$o $p" | awk '{printf "%.2f", $1 / $2}'))"
fi
