#!/bin/bash
# Sieve cost: bench/sieve_bench.c (a 100-rule script with header, address, body and regex
# tests against a 4 KB message: compile once, execute many times, in process) and, as a
# peer measured in the same run, one process per message: mda-sieve-test against
# Pigeonhole's sieve-test on the same script and message (both compile and run the script
# each time). Then whole deliveries with and without that script (its last rule keeps the
# message, so both write the spool mailbox): over one LMTP session of mda -L (the script
# compiled once and cached) and in stdin mode (a process per message: the first compiles the
# script and keeps the compiled form in sieve_cache, the others read it back; and once more
# with sieve_cache off, compiling every time), against the budgets of issue 14 (+10 % per
# LMTP delivery, +0.5 ms per stdin delivery).
# Medians of BENCH_RUNS runs, interleaved. Not part of `make test`.
# usage: BUILD=build bench/sieve.sh   (BENCH_SIEVE_N processes per run, default 200;
#        BENCH_SIEVE_LMTP_N messages per LMTP run, default 2000; BENCH_SIEVE_FSYNC=no;
#        BENCH_SIEVE_RESULTS=DIR also writes DIR/sieve.tsv for bench/render.py)
set -eu
SRC=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$(cd "$SRC" && cd "${BUILD:-build}" && pwd)
RUNS=${BENCH_RUNS:-3}
N=${BENCH_SIEVE_N:-200}
W=$(mktemp -d "${BENCH_TMP:-/tmp}/sieve-bench.XXXXXX")
trap 'rm -rf "$W"' EXIT
chmod 755 "$W"
cc -O2 -std=c11 -D_GNU_SOURCE -Wall -Wextra -I"$SRC" -o "$W/sieve_bench" "$SRC/bench/sieve_bench.c" \
	"$BUILD/libsieve.a" "$BUILD/libmbox.a" "$BUILD/libcommon.a" $(pkg-config --libs libpcre2-8) -lgdbm -llockfile
(cd "$W" && ./sieve_bench -w)
chmod 644 "$W/sieve-bench.sieve" "$W/sieve-bench.eml"
. "$SRC/bench/lib.sh"   # median, mkworld

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
compile=$(median $(sed 's/.*compile_us=\([0-9.]*\).*/\1/' "$W/inproc"))
exec=$(median $(sed 's/.*exec_us=\([0-9.]*\).*/\1/' "$W/inproc"))
o=$(median $(cat "$W/ours"))
p=
[ ! -s "$W/peer" ] || p=$(median $(cat "$W/peer"))
echo "sieve: 100-rule script (7 KB), 4 KB message, load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "sieve: in process: compile ${compile} us, execute ${exec} us per message (median of $RUNS)"
echo "sieve: per process: mda-sieve-test ${o} ms"
if [ -n "$p" ]; then
	echo "sieve: per process: Pigeonhole sieve-test ${p} ms (ratio mda/Pigeonhole $(echo "$o $p" | awk '{printf "%.2f", $1 / $2}'))"
fi

# ---- whole deliveries: one world, u000 has the script, u001 has none; messages alternate ----
LN=${BENCH_SIEVE_LMTP_N:-2000}
SN=$N
D=$W/deliver
mkworld "$D" 2
mkdir -p "$D/home/u000" "$D/home/u001"
for u in u000 u001; do printf '%s:x:%d:%d:bench:%s/home/%s:/bin/sh\n' "$u" "$(id -u)" "$(id -g)" "$D" "$u"; done >"$D/passwd"
printf 'hostname = bench.example\nfsync = %s\n' "${BENCH_SIEVE_FSYNC:-yes}" >>"$D/mda.conf"
{ cat "$D/mda.conf"; echo 'sieve_cache ='; } >"$D/nocache.conf"
sed 's|fileinto "Bench/${1}";|keep;|' "$W/sieve-bench.sieve" >"$D/home/u000/.dovecot.sieve"
chmod 644 "$D/home/u000/.dovecot.sieve"
pair() { python3 "$SRC/bench/sieve_pair.py" --with u000 --without u001 --msg "$W/sieve-bench.eml" "$@"; }
field() { python3 -c 'import json,sys; print(json.loads(sys.argv[2])[sys.argv[1]])' "$1" "$2"; }
: >"$W/lmtp" >"$W/stdin" >"$W/nocache"
for _ in $(seq "$RUNS"); do
	rm -f "$D"/spool/u00?
	"$BUILD/mda" -C "$D/mda.conf" -L "unix:$D/lmtp.sock" 2>"$D/daemon.log" &
	dpid=$!
	for _ in $(seq 100); do [ -S "$D/lmtp.sock" ] && break; sleep 0.05; done
	pair --unix "$D/lmtp.sock" --messages "$LN" >>"$W/lmtp" || echo "sieve: LMTP deliveries failed" >&2
	kill "$dpid"
	wait "$dpid" 2>/dev/null || true
	pair --stdin "$BUILD/mda -C $D/mda.conf -f sender@example.org %B" --messages "$SN" >>"$W/stdin" ||
		echo "sieve: stdin deliveries failed" >&2
	pair --stdin "$BUILD/mda -C $D/nocache.conf -f sender@example.org %B" --messages "$SN" >>"$W/nocache" ||
		echo "sieve: stdin deliveries without sieve_cache failed" >&2
done
[ -s "$D/home/u000/.mda-sieve.bin" ] || echo "sieve: no compiled script kept in sieve_cache" >&2
for u in u000 u001; do
	got=$(grep -c '^From ' "$D/spool/$u" 2>/dev/null || echo 0)
	[ "$got" = $(((LN + 2 * SN) / 2)) ] || echo "sieve: $u has $got messages, expected $(((LN + 2 * SN) / 2))" >&2
done
grep -q '^Status: RO' "$D/spool/u000" || echo "sieve: the script did not run (no Status: in u000's mailbox)" >&2
# medians over the runs of each run's median
over() { median $(while read -r line; do field "$1" "$line"; done <"$2"); }
l1=$(over with_median_ms "$W/lmtp") l0=$(over without_median_ms "$W/lmtp") lr=$(over pair_ratio_median "$W/lmtp")
s1=$(over with_median_ms "$W/stdin") s0=$(over without_median_ms "$W/stdin") sd=$(over pair_diff_median_ms "$W/stdin")
c1=$(over with_median_ms "$W/nocache") c0=$(over without_median_ms "$W/nocache") cd=$(over pair_diff_median_ms "$W/nocache")
echo "sieve: LMTP delivery, one session, $LN messages alternating (fsync=${BENCH_SIEVE_FSYNC:-yes}): no script ${l0} ms," \
	"100-rule script ${l1} ms; per pair with/without ${lr} (budget 1.10)"
echo "sieve: stdin delivery, a process per message, $SN alternating: no script ${s0} ms, 100-rule script ${s1} ms;" \
	"per pair +${sd} ms (budget +0.5 ms)"
echo "sieve: stdin delivery without sieve_cache (compiled every time): no script ${c0} ms, 100-rule script ${c1} ms;" \
	"per pair +${cd} ms"

# The rows for bench/render.py (part, workload, program, median, unit, better, note): the first
# mda- row of a workload is the reference, so "project / this" is with / without the script.
[ -n "${BENCH_SIEVE_RESULTS:-}" ] || exit 0
runs() { tr '\n' ' ' <"$1"; }
pairs() { while read -r line; do field "$1" "$line"; done <"$2" | tr '\n' ' '; }
{
	printf 'sieve\tlibsieve compile, 100 rules\tmda-sieve\t%s\tus\tlower\tin process\n' "$compile"
	printf 'sieve\tlibsieve execute, 100 rules, 4 KB message\tmda-sieve\t%s\tus\tlower\tin process\n' "$exec"
	printf 'sieve\tone process per message: compile + run\tmda-sieve-test\t%s\tms\tlower\t%s runs: %s\n' "$o" "$N" "$(runs "$W/ours")"
	[ -z "$p" ] || printf 'sieve\tone process per message: compile + run\tPigeonhole sieve-test\t%s\tms\tlower\truns: %s\n' "$p" "$(runs "$W/peer")"
	printf 'sieve\tLMTP delivery 4KB, one session\tmda-sieve\t%s\tms/msg\tlower\t%s msgs a run, alternating; per pair with/without %s (runs: %s), budget 1.10\n' \
		"$l1" "$LN" "$lr" "$(pairs pair_ratio_median "$W/lmtp")"
	printf 'sieve\tLMTP delivery 4KB, one session\tmda-no-script\t%s\tms/msg\tlower\t\n' "$l0"
	printf 'sieve\tstdin delivery 4KB, a process each\tmda-sieve\t%s\tms/msg\tlower\t%s msgs a run, alternating; per pair +%s ms (runs: %s), budget +0.5 ms\n' \
		"$s1" "$SN" "$sd" "$(pairs pair_diff_median_ms "$W/stdin")"
	printf 'sieve\tstdin delivery 4KB, a process each\tmda-no-script\t%s\tms/msg\tlower\t\n' "$s0"
	printf 'sieve\tstdin delivery 4KB, sieve_cache off (compiled each time)\tmda-sieve\t%s\tms/msg\tlower\t%s msgs a run, alternating; per pair +%s ms (runs: %s)\n' \
		"$c1" "$SN" "$cd" "$(pairs pair_diff_median_ms "$W/nocache")"
	printf 'sieve\tstdin delivery 4KB, sieve_cache off (compiled each time)\tmda-no-script\t%s\tms/msg\tlower\t\n' "$c0"
} >"$BENCH_SIEVE_RESULTS/sieve.tsv"
