# bench/multihost.sh: the `multihost` part of bench/run.sh (sourced): two `mda -L` daemons on
# one spool against one daemon, with the same clients and messages. Each daemon runs in a
# simulated host (its own UTS namespace and hostname, mount namespace and PID namespace, the
# spool directory bind-mounted in, tmp_dir private), as tests/torture/multihost.sh does; the
# clients run here and reach each daemon's UNIX socket. One kernel and one disk serve both
# "hosts", so this measures what the second daemon and the cross-host locking cost or gain on
# the same hardware, not what a second machine adds; see README.md, "Several delivery hosts
# on one spool", for the capacity model these figures feed.
#
# Rows: msg/s and p99 latency for C clients (C/2 per daemon with two) over 100 mailboxes and
# over one; then the spool operations of one LMTP delivery (strace -f -y of the daemon: calls
# on spool paths and descriptors, per delivery). Needs root; otherwise the part says why and
# records nothing. Environment: BENCH_MH_N (messages per run, default LMTP_N),
# BENCH_MH_CLIENTS (default "2 8").

MH_PID= MH_LINE=

# mh_host WORLD NAME: a process holding NAME's UTS and mount namespaces, in which WORLD/export
# (the file server's directory) is mounted at WORLD/spool and NAME's own tmp at WORLD/tmp.
# Sets MH_PID.
mh_host() {
	local w=$1 name=$2
	mkdir -p "$w/$name/tmp"
	unshare --uts --mount --propagation private sh -c 'hostname "$1" && mount --bind "$2/export" "$2/spool" &&
		mount --bind "$2/$1/tmp" "$2/tmp" && exec sleep 100000' sh "$name" "$w" </dev/null >/dev/null 2>&1 &
	MH_PID=$!
	DAEMONS+=("$MH_PID")
	for _ in $(seq 50); do nsenter -t "$MH_PID" -m mountpoint -q "$w/tmp" 2>/dev/null && return 0; sleep 0.05; done
	say "bench: multihost: host $name did not come up"
	return 1
}

# mh_boot WORLD NAME HOLDER PIDBASE [SHARED]: mda -L unix:WORLD/NAME/lmtp.sock in a new PID
# namespace of the host (PIDs from PIDBASE, so the two hosts' PIDs differ as on real machines),
# with shared_spool = SHARED (default no). Sets MH_PID to the daemon (PID 1 there); SIGTERM to
# it drains and stops it.
mh_boot() {
	local w=$1 name=$2 holder=$3 base=$4 shared=${5:-no} u
	mkdir -p "$w/$name"
	nsenter -t "$holder" -u -m -- unshare --pid --fork --kill-child sh -c \
		'echo "$0" >/proc/sys/kernel/ns_last_pid && exec "$@"' "$base" \
		"$BUILD/mda" -C "$w/mda.conf" -o lmtp_socket_group= -o shared_spool="$shared" -L "unix:$w/$name/lmtp.sock" \
		</dev/null >/dev/null 2>>"$w/$name.log" &
	u=$!
	DAEMONS+=("$u")
	wait_socket "$w/$name/lmtp.sock" || { say "bench: multihost: $name's mda -L did not listen"; return 1; }
	MH_PID=$(awk '{print $1}' "/proc/$u/task/$u/children")
}

# mh_world W: mkworld with the spool moved to W/export (what the hosts mount at W/spool).
mh_world() {
	mkworld "$1" 100
	mv "$1/spool" "$1/export" && mkdir "$1/spool"
}

# mh_stop PID...: SIGTERM, then waits until each is gone (none is a child of this shell).
mh_stop() {
	local p
	for p in "$@"; do kill "$p" 2>/dev/null; done
	for p in "$@"; do
		for _ in $(seq 200); do kill -0 "$p" 2>/dev/null || break; sleep 0.05; done
	done
}

# mh_run CONFIG CLIENTS BOXES N: one run; sets MH_LINE to "msg/s p99" or FAIL. CONFIG is 1 (one
# daemon, shared_spool = no as on one host) or 2 (two daemons with shared_spool = yes, as
# README.md tells sites with several hosts: their dotlocks hold across the hosts); either way
# two load processes of CLIENTS/2 clients and N/2 messages run at once, each against one
# socket: the same clients, only the daemons differ.
mh_run() {
	local cfg=$1 c=$2 boxes=$3 n=$4 w=$WORK/multihost ha hb da db= sa sb shared=no
	[ "$cfg" = 2 ] && shared=yes
	MH_LINE=FAIL
	mh_world "$w"
	mh_host "$w" hosta && ha=$MH_PID || return
	mh_host "$w" hostb && hb=$MH_PID || { mh_stop "$ha"; return; }
	mh_boot "$w" hosta "$ha" 2000 "$shared" && da=$MH_PID || { mh_stop "$ha" "$hb"; return; }
	sa=$w/hosta/lmtp.sock sb=$w/hosta/lmtp.sock
	if [ "$cfg" = 2 ]; then
		mh_boot "$w" hostb "$hb" 10000 "$shared" && db=$MH_PID || { mh_stop "$da" "$ha" "$hb"; return; }
		sb=$w/hostb/lmtp.sock
	fi
	python3 "$SRC/bench/lmtp_load.py" --unix "$sa" --clients $((c / 2)) --messages $((n / 2)) --boxes "$boxes" --msg "$MSG" >"$w/l1" &
	local l1=$!
	python3 "$SRC/bench/lmtp_load.py" --unix "$sb" --clients $((c / 2)) --messages $((n / 2)) --boxes "$boxes" --msg "$MSG" >"$w/l2"
	wait "$l1"
	mh_stop $da $db
	mh_stop "$ha" "$hb"
	MH_LINE=$(python3 - "$(cat "$w/l1")" "$(cat "$w/l2")" "$(count_from "$w"/export/u*)" "$n" <<-'EOF'
	import json, sys
	try:
	    a, b = json.loads(sys.argv[1]), json.loads(sys.argv[2])
	except ValueError:
	    print("FAIL"); sys.exit()
	if a["fail"] or b["fail"] or int(sys.argv[3]) != int(sys.argv[4]):
	    print("FAIL")
	else:
	    print("%.1f %.2f" % ((a["done"] + b["done"]) / max(a["seconds"], b["seconds"]), max(a["p99_ms"], b["p99_ms"])))
	EOF
	)
	[ "$MH_LINE" = FAIL ] && say "bench: multihost: run failed ($cfg daemon(s), $c clients, $boxes boxes): $(cat "$w/l1" "$w/l2" | tr '\n' ' ')"
}

# mh_syscalls xattr|files: strace -f -y of one daemon (in its host) during M deliveries by
# one client; records per delivery the calls that name a spool path or a descriptor of a
# spool file. files: the recovery records as on a file system without user xattrs (NFS
# before 4.2), by mbox's test switch MBOX_TEST_NO_XATTR.
mh_syscalls() {
	local w=$WORK/multihost m=200 ha da spid store=$1 noxattr=0
	[ "$store" = files ] && noxattr=1
	mh_world "$w"
	mh_host "$w" hosta && ha=$MH_PID || return
	MBOX_TEST_NO_XATTR=$noxattr mh_boot "$w" hosta "$ha" 2000 && da=$MH_PID || { mh_stop "$ha"; return; }
	strace -f -y -qq -o "$w/strace" -p "$da" 2>/dev/null &
	spid=$!
	sleep 0.5
	python3 "$SRC/bench/lmtp_load.py" --unix "$w/hosta/lmtp.sock" --clients 1 --messages "$m" --boxes 100 --msg "$MSG" >/dev/null
	sleep 0.2
	kill -INT "$spid"; wait "$spid" 2>/dev/null
	mh_stop "$da" "$ha"
	python3 - "$w/strace" "$w" "$m" <<-'EOF' | while IFS=$'\t' read -r call per note; do
	import collections, re, sys
	path, w, m = sys.argv[1], sys.argv[2], int(sys.argv[3])
	spool = w + "/spool/"
	n = collections.Counter()
	for ln in open(path, errors="replace"):
	    mt = re.match(r"\d+\s+(\w+)\((.*)", ln)
	    if mt and (spool in mt.group(2) or w + "/export/" in mt.group(2)):
	        n[mt.group(1)] += 1
	for call, k in n.most_common():
	    if k >= m / 2:
	        print("%s\t%.2f\t%d calls in %d deliveries" % (call, k / m, k, m))
	EOF
		record multihost "spool operations per LMTP delivery, records in $store (strace -f -y)" "$call" "$per" calls lower "$note"
	done
}

bench_multihost() {
	: >"$RESDIR/multihost.tsv"
	if [ "$(id -u)" != 0 ] || ! unshare --uts --mount --pid --fork true 2>/dev/null || ! have_mda; then
		say "bench: multihost: needs root, namespaces and the project's mda; skipped"
		return
	fi
	local n=${BENCH_MH_N:-$LMTP_N} clients=${BENCH_MH_CLIENTS:-2 8} c boxes r cfg
	say "== multihost: $n messages of 4 KB, two daemons on one spool (two simulated hosts) against one, $RUNS runs"
	for boxes in 100 1; do
		for c in $clients; do
			declare -A rate=() p99=()
			for ((r = 1; r <= RUNS; r++)); do
				for cfg in 1 2; do
					mh_run "$cfg" "$c" "$boxes" "$n"
					tally "$([ "$MH_LINE" = FAIL ] && echo 1 || echo 0)" "$cfg" rate "${MH_LINE% *}" p99 "${MH_LINE#* }"
				done
			done
			local wl="lmtp 4KB, $c clients, $boxes mailbox(es)"
			record multihost "$wl, msg/s" mda-2-daemons "$(median_runs "${rate[2]}")" msg/s higher "runs: ${rate[2]}; $((c / 2)) client(s) on each daemon, shared_spool = yes"
			record multihost "$wl, msg/s" mda-1-daemon "$(median_runs "${rate[1]}")" msg/s higher "runs: ${rate[1]}; all $c on one daemon"
			record multihost "$wl, p99 latency" mda-2-daemons "$(median_runs "${p99[2]}")" ms lower "runs: ${p99[2]}"
			record multihost "$wl, p99 latency" mda-1-daemon "$(median_runs "${p99[1]}")" ms lower "runs: ${p99[1]}"
			unset rate p99
		done
	done
	if command -v strace >/dev/null; then mh_syscalls xattr; mh_syscalls files; fi
}
