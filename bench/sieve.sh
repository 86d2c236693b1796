#!/bin/bash
# Sieve cost: bench/sieve_bench.c (a 100-rule script with header, address, body and regex
# tests against a 4 KB message: compile once, execute many times, in process) and, as a
# peer measured in the same run, one process per message: mda-sieve-test against
# Pigeonhole's sieve-test on the same script and message (both compile and run the script
# each time). Then whole deliveries with and without that script (its last rule keeps the
# message, so both write the spool mailbox): over one LMTP session of mda -L (the script
# compiled once and cached) and in stdin mode (a process per message, compiled each time),
# against the budgets of issue 14 (+10 % per LMTP delivery, +0.5 ms per stdin delivery).
# Medians of BENCH_RUNS runs, interleaved. Not part of `make test`.
# usage: BUILD=build bench/sieve.sh   (BENCH_SIEVE_N processes per run, default 200;
#        BENCH_SIEVE_LMTP_N messages per LMTP run, default 2000; BENCH_SIEVE_FSYNC=no)
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

# ---- whole deliveries: the same world with and without ~/.dovecot.sieve ----
LN=${BENCH_SIEVE_LMTP_N:-2000}
SN=$N
# deliver_world DIR [script]: spool, one user u000 (our uid) whose home holds the script.
deliver_world() {
	local d=$1
	rm -rf "$d" && mkdir -p "$d/spool" "$d/tmp" "$d/home/u000"
	printf 'u000:x:%d:%d:bench:%s/home/u000:/bin/sh\n' "$(id -u)" "$(id -g)" "$d" >"$d/passwd"
	cat >"$d/mda.conf" <<-EOC
	spool_dir = $d/spool
	tmp_dir = $d/tmp
	passwd_file = $d/passwd
	aliases_file = $d/aliases
	aliases_db = $d/aliases.db
	log = stderr
	mail_group =
	hostname = bench.example
	fsync = ${BENCH_SIEVE_FSYNC:-yes}
	EOC
	if [ -n "${2:-}" ]; then
		sed 's|fileinto "Bench/${1}";|keep;|' "$2" >"$d/home/u000/.dovecot.sieve"
		chmod 644 "$d/home/u000/.dovecot.sieve"
	fi
}
# deliveries WORLD MODE N: "wall cpu", the mean ms per delivery as the client saw it and
# the CPU ms per delivery of mda (LMTP: the daemon and its sessions; stdin: every process,
# plus the load generator's own, which both variants share), after checking every message
# landed. The CPU figure holds when other jobs load the machine; the wall one does not.
deliveries() {
	local d=$1 mode=$2 n=$3 out args dpid=
	if [ "$mode" = lmtp ]; then
		/usr/bin/time -f "%U %S" -o "$d/cpu" "$BUILD/mda" -C "$d/mda.conf" -L "unix:$d/lmtp.sock" 2>"$d/daemon.log" &
		dpid=$!
		for _ in $(seq 100); do [ -S "$d/lmtp.sock" ] && break; sleep 0.05; done
		out=$(python3 "$SRC/bench/lmtp_load.py" --unix "$d/lmtp.sock" --clients 1 --messages "$n" --boxes 1 --msg "$W/sieve-bench.eml")
		pkill -TERM -P "$dpid" || true
		wait "$dpid" 2>/dev/null || true
	else
		out=$(/usr/bin/time -f "%U %S" -o "$d/cpu" python3 "$SRC/bench/lmtp_load.py" \
			--stdin "$BUILD/mda -C $d/mda.conf -f sender@example.org %B" --clients 1 --messages "$n" --boxes 1 --msg "$W/sieve-bench.eml")
	fi
	local got
	got=$(grep -c '^From ' "$d/spool/u000" 2>/dev/null || echo 0)
	[ "$got" = "$n" ] || { echo "sieve: $mode delivery lost mail: $got of $n ($out)" >&2; echo "FAIL FAIL"; return; }
	python3 -c 'import json,sys; j=json.loads(sys.argv[1]); u,s=map(float,open(sys.argv[2]).read().split()[-2:]); print("%.4f %.4f" % (j["seconds"]*1000/j["done"], (u+s)*1000/j["done"]))' "$out" "$d/cpu"
}
: >"$W/l0" >"$W/l1" >"$W/s0" >"$W/s1"
for _ in $(seq "$RUNS"); do
	deliver_world "$W/d0" && deliveries "$W/d0" lmtp "$LN" >>"$W/l0"
	deliver_world "$W/d1" "$W/sieve-bench.sieve" && deliveries "$W/d1" lmtp "$LN" >>"$W/l1"
	deliver_world "$W/d0" && deliveries "$W/d0" stdin "$SN" >>"$W/s0"
	deliver_world "$W/d1" "$W/sieve-bench.sieve" && deliveries "$W/d1" stdin "$SN" >>"$W/s1"
done
grep -q Status: "$W/d1/spool/u000" || echo "sieve: the script did not run (no Status: in the mailbox)" >&2
col() { cut -d' ' -f"$1" "$2" | median; }
pct() { echo "$1 $2" | awk '{printf "%+.1f", ($2 / $1 - 1) * 100}'; }
dms() { echo "$1 $2" | awk '{printf "%+.3f", $2 - $1}'; }
l0=$(col 1 "$W/l0") l1=$(col 1 "$W/l1") c0=$(col 2 "$W/l0") c1=$(col 2 "$W/l1")
echo "sieve: LMTP delivery (one session, $LN messages, fsync=${BENCH_SIEVE_FSYNC:-yes}): no script ${l0} ms, 100-rule script ${l1} ms ($(pct "$l0" "$l1") %, budget +10 %);" \
	"CPU of mda ${c0} -> ${c1} ms ($(pct "$c0" "$c1") %)"
s0=$(col 1 "$W/s0") s1=$(col 1 "$W/s1") c0=$(col 2 "$W/s0") c1=$(col 2 "$W/s1")
echo "sieve: stdin delivery (a process per message, $SN messages): no script ${s0} ms, 100-rule script ${s1} ms ($(dms "$s0" "$s1") ms, budget +0.5 ms);" \
	"CPU ${c0} -> ${c1} ms ($(dms "$c0" "$c1") ms)"
