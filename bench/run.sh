#!/bin/bash
# Benchmarks of mda, mail and newaliases against their peers, measured in the same run and
# reported as medians and ratios. usage: bench/run.sh [delivery|lmtp|reader|aliases|memory|nss|largembox|multihost|sieve ...]
#
# Environment: BUILD (build dir, default build), BENCH_FULL=1 (the full sizes), BENCH_N
# (messages per delivery run), BENCH_RUNS (repetitions, medians are quoted), BENCH_TMP (where
# the temp worlds live, default /tmp), BENCH_CACHE (generated inputs, default /var/tmp/mda-bench).
# Writes bench/results/PART.tsv (and PART.meta: when and at which commit) and renders
# bench/RESULTS.md from every PART.tsv present. The nss part (bench/nss.sh, as root) creates
# system users for its run and removes them on exit; see that file for its BENCH_NSS_* sizes.
set -u
SRC=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$(cd "$SRC" && cd "${BUILD:-build}" 2>/dev/null && pwd || echo "$SRC/${BUILD:-build}")
FULL=${BENCH_FULL:-0}
if [ "$FULL" = 1 ]; then
	N=${BENCH_N:-10000} RUNS=${BENCH_RUNS:-5} CHUNK=${BENCH_CHUNK:-100}
	MBOX_COUNT=100000 MBOX_BYTES=1073741824 ALIASES=1000000 LMTP_N=${BENCH_LMTP_N:-10000} MEM_LMTP_N=100000 BIGMSG=104857600
else
	N=${BENCH_N:-1000} RUNS=${BENCH_RUNS:-3} CHUNK=${BENCH_CHUNK:-100}
	MBOX_COUNT=50000 MBOX_BYTES=190000000 ALIASES=1000000 LMTP_N=${BENCH_LMTP_N:-1000} MEM_LMTP_N=10000 BIGMSG=104857600
fi
WORK=$(mktemp -d "${BENCH_TMP:-/tmp}/mda-bench.XXXXXX")
chmod 755 "$WORK"
CACHE=${BENCH_CACHE:-/var/tmp/mda-bench}
BIN=$WORK/bin
RESDIR=$SRC/bench/results
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
mkdir -p "$CACHE" "$RESDIR"
. "$SRC/bench/lib.sh"
. "$SRC/bench/nss.sh"
. "$SRC/bench/largembox.sh"
. "$SRC/bench/multihost.sh"
DAEMONS=()
cleanup() {
	local p
	for p in "${DAEMONS[@]}"; do kill "$p" 2>/dev/null; done
	nss_cleanup
	[ "${BENCH_KEEP:-0}" = 1 ] || rm -rf "$WORK"
}
trap cleanup EXIT
# A signal ends the script through exit, so the EXIT trap removes the nss part's users too.
trap 'exit 130' INT
trap 'exit 143' TERM HUP

have_mda() { [ -x "$BUILD/mda" ]; }
have_mail() { [ -x "$BUILD/mail" ]; }
have_newaliases() { [ -x "$BUILD/newaliases" ]; }
MSG=$CACHE/msg4k
[ -s "$MSG" ] || python3 "$SRC/bench/gen_msg.py" 4096 >"$MSG"

# ------------------------------------------------------------------------------------------
# 1. Delivery, one process per message.
# ------------------------------------------------------------------------------------------
# subject NAME: sets CMD (argv, %B = mailbox) and RUNAS/NS for a delivery subject; 1 = skip.
delivery_subject() {
	local w=$1 name=$2
	NS=0 ASNOBODY=0
	case $name in
	floor) CMD=("$BIN/floor" "$w/spool/%B") ;;
	mda) have_mda || return 1; CMD=("$BUILD/mda" -C "$w/mda.conf" -f sender@example.org %B) ;;
	procmail) ensure_cmd procmail procmail && [ "$NSOK" = 1 ] || return 1
		NS=1; CMD=(procmail -f sender@example.org -d %B) ;;
	mailutils) ensure_cmd /usr/sbin/mda mailutils-mda && [ "$NSOK" = 1 ] || return 1
		NS=1; CMD=(/usr/sbin/mda -f sender@example.org %B) ;;
	dovecot) ensure_cmd /usr/lib/dovecot/dovecot-lda dovecot-core && command -v setpriv >/dev/null || return 1
		ASNOBODY=1
		chown 65534:65534 "$w"/spool/u* 2>/dev/null
		CMD=(/usr/lib/dovecot/dovecot-lda -c "$w/dovecot.conf" -o "mail_location=mbox:$w/dvhome/mail:INBOX=$w/spool/%B" -f sender@example.org) ;;
	maildrop) ensure_cmd maildrop maildrop && [ "$NSOK" = 1 ] || return 1
		NS=1; CMD=(maildrop -f sender@example.org -d %B) ;;
	esac
	return 0
}

run_subject() { # WORLD N BOXES START: runs CMD through forkloop, prints its line
	local w=$1 n=$2 b=$3 s=$4
	local loop=("$BIN/forkloop" -n "$n" -b "$b" -s "$s" -i "$MSG" -- "${CMD[@]}")
	if [ "$NS" = 1 ]; then
		in_ns "$w" "${loop[@]}"
	elif [ "$ASNOBODY" = 1 ]; then
		setpriv --reuid=65534 --regid=65534 --clear-groups env HOME="$w/dvhome" USER=nobody "${loop[@]}"
	else
		"${loop[@]}"
	fi
}

fsync_discipline() { # NAME: one delivery under strace, counts of the syncing calls
	local w=$WORK/strace st
	mkworld "$w" 1
	delivery_subject "$w" "$1" || return
	local c=("${CMD[@]//%B/u000}") pre=()
	[ "$NS" = 1 ] && pre=(in_ns "$w")
	[ "$ASNOBODY" = 1 ] && pre=(setpriv --reuid=65534 --regid=65534 --clear-groups env HOME="$w/dvhome")
	"${pre[@]}" strace -f -c -o "$w/dvrun/st" -e trace=fsync,fdatasync,sync_file_range,syncfs,fcntl,flock,link,rename "${c[@]}" <"$MSG" >/dev/null 2>&1
	st=$(awk '$NF ~ /^(fsync|fdatasync|sync_file_range|syncfs|fcntl|flock|link|rename)$/ {printf "%s %s, ", $NF, $4}' "$w/dvrun/st" 2>/dev/null)
	local disc="none: reports success before the data is on disk"
	[[ $st == *fsync* || $st == *fdatasync* || $st == *syncfs* ]] && disc="syncs before reporting success"
	echo "| $1 | \`${c[*]}\` | ${st%, } | $disc |" >>"$RESDIR/delivery.notes"
}

# The subjects take turns in chunks of CHUNK messages (ROUNDS rounds), each in its own world
# kept across rounds (so one mailbox really grows to N messages): a burst of load from
# elsewhere on a shared machine then hits every subject alike instead of one whole run.
# Reported: the median over the chunks of wall ms/msg, and of CPU ms/msg (user+system of the
# delivery processes) as a second opinion that other load disturbs less.
bench_delivery() {
	local rounds=$((N / CHUNK)) slow_chunk=$((CHUNK / 5))
	[ "$rounds" -ge 1 ] || rounds=1
	[ "$slow_chunk" -ge 1 ] || slow_chunk=1
	say "== delivery: $((rounds * CHUNK)) messages of 4 KB per subject ($((rounds * slow_chunk)) for Mailutils and Dovecot), one process each, $rounds interleaved chunks (medians)"
	: >"$RESDIR/delivery.tsv"
	printf '| subject | command (one delivery) | syncing and locking calls seen by strace -f -c | fsync discipline |\n|---|---|---|---|\n' >"$RESDIR/delivery.notes"
	local subjects=(floor mda procmail maildrop mailutils dovecot) s boxes r line
	local active=()
	for s in "${subjects[@]}"; do
		if delivery_subject "$WORK/probe" "$s"; then active+=("$s"); fsync_discipline "$s"
		else say "bench: delivery: skipping $s (not installed, not runnable here, or no project binary)"; fi
	done
	for boxes in 1 100; do
		declare -A wall=() cpu=() sent=()
		for s in "${active[@]}"; do mkworld "$WORK/d-$s-$boxes" 100; sent[$s]=0; done
		for ((r = 0; r < rounds; r++)); do
			for s in "${active[@]}"; do
				local w=$WORK/d-$s-$boxes n=$CHUNK
				case $s in mailutils | dovecot) n=$slow_chunk ;; esac
				delivery_subject "$w" "$s"
				line=$(run_subject "$w" "$n" "$boxes" "${sent[$s]}")
				sent[$s]=$((sent[$s] + n))
				[ "$(kv fail "$line")" = 0 ] || say "bench: delivery $s ($boxes boxes) chunk $r: $line"
				tally "$(kv fail "$line")" "$s" wall "$(kv ms_per_msg "$line")" cpu "$(kv cpu_ms_per_msg "$line")"
			done
		done
		for s in "${active[@]}"; do
			local got v c
			got=$(count_from "$WORK/d-$s-$boxes"/spool/u*)
			if [ "$got" != "${sent[$s]}" ]; then
				say "bench: delivery $s ($boxes boxes): $got From_ lines in the spool, ${sent[$s]} messages sent"
				wall[$s]+="FAIL "
			fi
			if [[ ${wall[$s]} == *FAIL* ]]; then v=FAIL c=FAIL; else v=$(median ${wall[$s]}); c=$(median ${cpu[$s]}); fi
			record delivery "delivery 4KB, $boxes mailbox(es), wall" "$s" "$v" ms/msg lower "${sent[$s]} msgs, $rounds chunks, min/max $(minmax ${wall[$s]})"
			record delivery "delivery 4KB, $boxes mailbox(es), CPU" "$s" "$c" ms/msg lower "user+system of the delivery processes"
			rm -rf "$WORK/d-$s-$boxes"
		done
		unset wall cpu sent
	done
}

# ------------------------------------------------------------------------------------------
# 2. LMTP.
# ------------------------------------------------------------------------------------------
wait_socket() { local i; for ((i = 0; i < 100; i++)); do [ -S "$1" ] && return 0; sleep 0.1; done; return 1; }

bench_lmtp() {
	say "== lmtp: $LMTP_N messages of 4 KB over 100 mailboxes (fewer for one process per message), 1/4/16 clients, $RUNS runs"
	: >"$RESDIR/lmtp.tsv"
	# One process per message costs 10 to 100 ms here: those subjects get at most SLOW
	# messages a run (msg/s is a rate, so the figures stay comparable).
	local slow=100
	[ "$FULL" = 1 ] && slow=400
	local c r s out w=$WORK/lmtp mu_n=$((LMTP_N < slow ? LMTP_N : slow))
	local subjects=()
	have_mda && subjects+=(mda-L-reused mda-l-spawn mda-stdin)
	if ensure_cmd /usr/sbin/lmtpd mailutils-mda && [ "$NSOK" = 1 ]; then subjects+=(mailutils-lmtpd)
	else say "bench: lmtp: skipping GNU Mailutils lmtpd"; fi
	say "bench: lmtp: skipping Dovecot lmtp: it needs its master process, auth service and a userdb; not set up in a temp world"
	for c in 1 4 16; do
		declare -A rate=() p99=()
		for ((r = 1; r <= RUNS; r++)); do
			for s in "${subjects[@]}"; do
				mkworld "$w" 100
				local n=$LMTP_N args=()
				case $s in
				mda-L-reused)
					"$BUILD/mda" -C "$w/mda.conf" -L "unix:$w/lmtp.sock" 2>"$w/daemon.log" &
					local dpid=$!
					DAEMONS+=("$dpid")
					wait_socket "$w/lmtp.sock" || { say "bench: mda -L did not create its socket"; kill $dpid; continue; }
					args=(--unix "$w/lmtp.sock") ;;
				mda-l-spawn) n=$mu_n; args=(--spawn "$BUILD/mda -C $w/mda.conf -l") ;;
				mda-stdin) n=$((LMTP_N < 4 * slow ? LMTP_N : 4 * slow)); args=(--stdin "$BUILD/mda -C $w/mda.conf -f sender@example.org %B") ;;
				mailutils-lmtpd) n=$mu_n; args=(--spawn "/usr/sbin/lmtpd -i --stderr") ;;
				esac
				if [ "$s" = mailutils-lmtpd ]; then
					out=$(in_ns "$w" python3 "$SRC/bench/lmtp_load.py" "${args[@]}" --clients "$c" --messages "$n" --boxes 100 --msg "$MSG")
				else
					out=$(python3 "$SRC/bench/lmtp_load.py" "${args[@]}" --clients "$c" --messages "$n" --boxes 100 --msg "$MSG")
				fi
				[ "$s" = mda-L-reused ] && { kill "$dpid"; wait "$dpid" 2>/dev/null; }
				local got fail
				got=$(count_from "$w"/spool/u*)
				fail=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["fail"])' "$out" 2>/dev/null || echo 1)
				if [ "$fail" != 0 ] || [ "$got" != "$n" ]; then
					say "bench: lmtp $s c=$c run $r: $out; From_ lines in the spool: $got (expected $n)"
					rate[$s]+="FAIL "; p99[$s]+="FAIL "
				else
					rate[$s]+="$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["msgs_per_s"])' "$out") "
					p99[$s]+="$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["p99_ms"])' "$out") "
				fi
			done
		done
		for s in "${subjects[@]}"; do
			local v q
			if [[ ${rate[$s]} == *FAIL* ]]; then v=FAIL q=FAIL; else v=$(median ${rate[$s]}); q=$(median ${p99[$s]}); fi
			record lmtp "lmtp 4KB, $c client(s), msg/s" "$s" "$v" msg/s higher "runs: ${rate[$s]}"
			record lmtp "lmtp 4KB, $c client(s), p99 latency" "$s" "$q" ms lower "runs: ${p99[$s]}"
		done
		unset rate p99
	done
}

# ------------------------------------------------------------------------------------------
# 3. Reader: header summary of a big mbox.
# ------------------------------------------------------------------------------------------
big_mbox() {
	BIGMBOX=$CACHE/mbox.$MBOX_COUNT.$MBOX_BYTES
	[ -s "$BIGMBOX" ] || { say "bench: generating $BIGMBOX"; python3 "$SRC/bench/gen_mbox.py" "$MBOX_COUNT" "$MBOX_BYTES" "$BIGMBOX.tmp" && mv "$BIGMBOX.tmp" "$BIGMBOX"; }
}

bench_reader() {
	big_mbox
	say "== reader: header summary of $BIGMBOX ($(du -m "$BIGMBOX" | cut -f1) MB, $MBOX_COUNT messages), $RUNS runs"
	: >"$RESDIR/reader.tsv"
	local w=$WORK/reader names=() cmds=() before
	mkworld "$w" 1
	before=$(stat -c '%s %Y' "$BIGMBOX")
	if have_mail; then names+=(mail-H); cmds+=("$BUILD/mail -C $w/mda.conf -H -f $BIGMBOX </dev/null"); fi
	ensure_cmd s-nail s-nail && { names+=(s-nail); cmds+=("s-nail -N -R -Snosave -H -f $BIGMBOX </dev/null"); }
	ensure_cmd bsd-mailx bsd-mailx && { names+=(bsd-mailx-open-exit); cmds+=("echo x | bsd-mailx -N -f $BIGMBOX"); }
	# frm exits 1 after listing the messages (Mailutils 3.15): only a status over 1 is a failure.
	ensure_cmd frm mailutils && { names+=(frm); cmds+=("frm $BIGMBOX || [ \$? = 1 ]"); }
	# Into a file: with stdout on /dev/null (as hyperfine runs it) GNU grep stops at the first
	# match, which made this floor 6 ms for a 1 GB file.
	names+=(grep-c); cmds+=("grep -c '^From ' $BIGMBOX >$w/grep.out")
	hyperfine -N 2>/dev/null | grep -q unexpected && true
	hyperfine --warmup 1 --runs "$RUNS" --ignore-failure --export-json "$w/h.json" "${cmds[@]}" >"$w/h.out" 2>&1 ||
		{ say "bench: hyperfine failed:"; tail -5 "$w/h.out" >&2; }
	local i
	for i in "${!names[@]}"; do
		record reader "header summary, $MBOX_COUNT msgs" "${names[$i]}" "$(hyperfine_median "$w/h.json" "$i" 2>/dev/null || echo FAIL)" s lower "${cmds[$i]}"
	done
	if have_mail; then
		local n
		n=$("$BUILD/mail" -C "$w/mda.conf" -H -f "$BIGMBOX" </dev/null 2>/dev/null | wc -l)
		[ "$n" = "$MBOX_COUNT" ] || say "bench: reader: mail -H printed $n lines for $MBOX_COUNT messages"
	fi
	[ "$before" = "$(stat -c '%s %Y' "$BIGMBOX")" ] || say "bench: reader: THE MBOX WAS MODIFIED by a reader (size/mtime changed)"
}

# ------------------------------------------------------------------------------------------
# 4. newaliases.
# ------------------------------------------------------------------------------------------
# pa_conf WORLD: an empty main.cf for `postalias -c`, so the peer runs with Postfix's
# defaults even where /etc/postfix/main.cf is missing (it is fatal then).
pa_conf() { mkdir -p "$1/pa" && : >"$1/pa/main.cf"; }

bench_aliases() {
	local al=$CACHE/aliases.$ALIASES w=$WORK/aliases
	[ -s "$al" ] || python3 "$SRC/bench/gen_aliases.py" "$ALIASES" "$al"
	say "== aliases: $ALIASES aliases ($(du -m "$al" | cut -f1) MB), $RUNS runs"
	: >"$RESDIR/aliases.tsv"
	mkworld "$w" 1
	mkdir -p "$w/pa"
	cp "$al" "$w/aliases"
	cp "$al" "$w/pa/aliases"
	pa_conf "$w"
	local names=() cmds=() i
	have_newaliases && { names+=(newaliases); cmds+=("$BUILD/newaliases -C $w/mda.conf"); }
	ensure_cmd postalias postfix && { names+=(postalias); cmds+=("postalias -c $w/pa hash:$w/pa/aliases"); }
	hyperfine --runs "$RUNS" --ignore-failure --export-json "$w/h.json" "${cmds[@]}" >"$w/h.out" 2>&1 ||
		{ say "bench: hyperfine failed:"; tail -5 "$w/h.out" >&2; }
	for i in "${!names[@]}"; do
		record aliases "compile $ALIASES aliases" "${names[$i]}" "$(hyperfine_median "$w/h.json" "$i" 2>/dev/null || echo FAIL)" s lower "${cmds[$i]}"
	done
	if [ -x "$BIN/gdbm_floor" ]; then
		# The naive loop takes half a minute or more: one run in a quick run.
		local fr=$RUNS
		fr=${BENCH_FLOOR_RUNS:-1}
		hyperfine --runs "$fr" --export-json "$w/g.json" "$BIN/gdbm_floor $al $w/floor.db" >"$w/g.out" 2>&1
		record aliases "compile $ALIASES aliases" gdbm_store-loop "$(hyperfine_median "$w/g.json" 0 2>/dev/null || echo FAIL)" s lower "naive gdbm_store loop, $fr run(s)"
	fi
	# Lookups: only what the binaries offer, one process per lookup.
	local lk=1000
	if have_newaliases; then
		local line
		line=$("$BIN/forkloop" -n $lk -k "$ALIASES" -- "$BUILD/newaliases" -C "$w/mda.conf" -q listalias%K)
		[ "$(kv fail "$line")" = 0 ] || say "bench: aliases: newaliases -q failures: $line"
		record aliases "lookup, one process each" "newaliases -q" "$(kv ms_per_msg "$line")" ms/lookup lower "$lk lookups"
	fi
	if command -v postalias >/dev/null; then
		line=$("$BIN/forkloop" -n $lk -k "$ALIASES" -- postalias -c "$w/pa" -q listalias%K "hash:$w/pa/aliases")
		[ "$(kv fail "$line")" = 0 ] || say "bench: aliases: postalias -q failures: $line"
		record aliases "lookup, one process each" "postalias -q" "$(kv ms_per_msg "$line")" ms/lookup lower "$lk lookups"
	fi
}

# ------------------------------------------------------------------------------------------
# 5. Memory: peak RSS.
# ------------------------------------------------------------------------------------------
maxrss() { # CMD...: peak RSS in MB of CMD (stdin inherited) by /usr/bin/time -v
	/usr/bin/time -v -o "$WORK/time.out" "$@" >/dev/null 2>"$WORK/time.err"
	local rc=$?
	local kb
	kb=$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$WORK/time.out")
	[ $rc = 0 ] && [ -n "$kb" ] && awk -v k="$kb" 'BEGIN {printf "%.1f", k / 1024}' || echo FAIL
}

bench_memory() {
	ensure_cmd /usr/bin/time time || { say "bench: memory: no /usr/bin/time"; return; }
	: >"$RESDIR/memory.tsv"
	local big=$CACHE/msg.$BIGMSG w=$WORK/mem
	[ -s "$big" ] || python3 "$SRC/bench/gen_msg.py" "$BIGMSG" >"$big"
	say "== memory: peak RSS"
	mkworld "$w" 1
	have_mda && record memory "deliver a $((BIGMSG >> 20)) MB message" mda "$(maxrss "$BUILD/mda" -C "$w/mda.conf" -o message_size_limit=0 -f s@example.org u000 <"$big")" MB lower "target < 16 MB"
	if [ "$NSOK" = 1 ]; then
		command -v procmail >/dev/null && record memory "deliver a $((BIGMSG >> 20)) MB message" procmail "$(in_ns "$w" /bin/sh -c 'exec "$@" <"$0"' "$big" /usr/bin/time -v -o "$w/t" procmail -d u000 >/dev/null 2>&1; sed -n 's/.*Maximum resident set size (kbytes): //p' "$w/t" | awk '{printf "%.1f", $1/1024}')" MB lower ""
		[ -x /usr/sbin/mda ] && record memory "deliver a $((BIGMSG >> 20)) MB message" mailutils "$(in_ns "$w" /bin/sh -c 'exec "$@" <"$0"' "$big" /usr/bin/time -v -o "$w/t" /usr/sbin/mda -f s@example.org u000 >/dev/null 2>&1; sed -n 's/.*Maximum resident set size (kbytes): //p' "$w/t" | awk '{printf "%.1f", $1/1024}')" MB lower ""
	fi
	big_mbox
	have_mail && record memory "header summary, $MBOX_COUNT msgs" mail-H "$(maxrss "$BUILD/mail" -C "$w/mda.conf" -H -f "$BIGMBOX" </dev/null)" MB lower ""
	record memory "header summary, $MBOX_COUNT msgs" s-nail "$(maxrss s-nail -N -R -Snosave -H -f "$BIGMBOX" </dev/null)" MB lower ""
	local al=$CACHE/aliases.$ALIASES
	[ -s "$al" ] || python3 "$SRC/bench/gen_aliases.py" "$ALIASES" "$al"
	cp "$al" "$w/aliases"
	mkdir -p "$w/pa" && cp "$al" "$w/pa/aliases" && pa_conf "$w"
	have_newaliases && record memory "compile $ALIASES aliases" newaliases "$(maxrss "$BUILD/newaliases" -C "$w/mda.conf")" MB lower ""
	command -v postalias >/dev/null && record memory "compile $ALIASES aliases" postalias "$(maxrss postalias -c "$w/pa" "hash:$w/pa/aliases")" MB lower ""
	have_mda || return 0
	# One LMTP session of MEM_LMTP_N messages (`mda -l` runs the same session code the daemon
	# forks per connection): its RSS after a tenth of them and at the end must be equal.
	mkworld "$w" 1
	printf 'alice:x:%d:%d::%s:/bin/sh\nbob:x:%d:%d::%s:/bin/sh\n' "$(id -u)" "$(id -g)" "$w/home" \
		"$(id -u)" "$(id -g)" "$w/home" >>"$w/passwd"
	printf 'fsync = no\n' >>"$w/mda.conf"     # this measures memory, not the disk
	local line r1 r2 k=$((MEM_LMTP_N / 10))
	line=$(MDA=$BUILD/mda python3 "$SRC/tests/e2e/lmtp_client.py" "exec:$w/mda.conf" longsession "$MEM_LMTP_N" 1000000 2>/dev/null | grep '^RSS')
	r1=$(awk '{print $2}' <<<"$line") r2=$(awk '{print $7}' <<<"$line")
	record memory "one LMTP session, RSS after $k msgs" mda-l "$(awk -v k="${r1:-0}" 'BEGIN {printf "%.1f", k/1024}')" MB lower "${line:-FAILED}"
	record memory "one LMTP session, RSS after $MEM_LMTP_N msgs" mda-l "$(awk -v k="${r2:-0}" 'BEGIN {printf "%.1f", k/1024}')" MB lower "should equal the line above"
	# The listener of `mda -L` across many sessions (4 clients, the same total).
	mkworld "$w" 100
	"$BUILD/mda" -C "$w/mda.conf" -L "unix:$w/lmtp.sock" 2>/dev/null &
	local dpid=$!
	DAEMONS+=("$dpid")
	if wait_socket "$w/lmtp.sock"; then
		python3 "$SRC/bench/lmtp_load.py" --unix "$w/lmtp.sock" --clients 4 --messages 200 --boxes 100 --msg "$MSG" >/dev/null
		r1=$(awk '/VmRSS/ {print $2}' /proc/$dpid/status)
		python3 "$SRC/bench/lmtp_load.py" --unix "$w/lmtp.sock" --clients 4 --messages "$MEM_LMTP_N" --boxes 100 --msg "$MSG" >/dev/null
		r2=$(awk '/VmRSS/ {print $2}' /proc/$dpid/status)
		record memory "mda -L listener RSS after 200 msgs" mda-L "$(awk -v k="$r1" 'BEGIN {printf "%.1f", k/1024}')" MB lower ""
		record memory "mda -L listener RSS after $((200 + MEM_LMTP_N)) msgs" mda-L "$(awk -v k="$r2" 'BEGIN {printf "%.1f", k/1024}')" MB lower "should equal the line above"
	else
		say "bench: memory: mda -L did not create its socket"
	fi
	kill "$dpid" 2>/dev/null
}

# ------------------------------------------------------------------------------------------
render() {
	{
		echo "# Benchmark results"
		echo
		echo "Generated by \`bench/run.sh\` (medians of several runs; BENCH_FULL=1 is the full sizes). Every"
		echo "figure of a table was measured in the same run as the others, interleaved; ratios are"
		echo "project / peer of the medians (for msg/s higher is better, elsewhere lower is better)."
		echo "The machine is shared with other builds, so absolute numbers are noisy: read the ratios."
		echo "A run of some parts leaves the other tables as they were: the line under each title says"
		echo "when, at which commit and with which sizes that table was measured."
		echo
		echo "## Machine (of the last run)"
		machine_description
		echo
		python3 "$SRC/bench/render.py" "$RESDIR"
		if [ -s "$RESDIR/delivery.notes" ]; then
			echo
			echo "## What each delivery subject does (one delivery under strace)"
			echo
			cat "$RESDIR/delivery.notes"
			echo
			echo "floor = bench/floor.c (open O_APPEND, fcntl lock, write, fsync, close; no dotlock)."
			echo "procmail, maildrop and Mailutils mda run as root in a private mount namespace in which"
			echo "/var/mail is the temp spool and /etc/passwd lists the bench users (uid 0); dovecot-lda"
			echo "runs as nobody (as root it insists on -d and an auth-userdb socket) with"
			echo "mail_location=mbox and INBOX the temp mailbox. The project's mda runs as root with"
			echo "passwd_file pointing at the temp world."
		fi
		if [ -s "$RESDIR/nss.tsv" ]; then
			echo
			echo "## How the system-user (NSS) rows run"
			echo
			nss_describe
		fi
	} >"$SRC/bench/RESULTS.md"
	say "bench: wrote bench/RESULTS.md"
}

# Sieve: bench/sieve.sh measures in its own world (the script in process, whole deliveries with
# and without it, Pigeonhole's sieve-test as the peer) and writes $RESDIR/sieve.tsv.
bench_sieve() {
	have_mda || { say "bench: sieve: no $BUILD/mda"; return; }
	say "== sieve: a 100-rule script at delivery, $RUNS runs"
	BUILD=$BUILD BENCH_RUNS=$RUNS BENCH_TMP=$WORK BENCH_SIEVE_RESULTS=$RESDIR BENCH_SIEVE_N=$((FULL == 1 ? 1000 : 200)) \
		BENCH_SIEVE_LMTP_N=$LMTP_N bash "$SRC/bench/sieve.sh" >&2 || say "bench: sieve failed"
}

build_helpers || { say "bench: cannot build the helpers"; exit 1; }
NSOK=0
ns_works && NSOK=1 || say "bench: no private mount namespace (not root or unshare refused): peers needing system users are skipped"
ensure_cmd hyperfine hyperfine || { say "bench: hyperfine is required"; exit 1; }
have_mda || say "bench: $BUILD/mda missing: measuring the peers only"
parts=("$@")
[ ${#parts[@]} -gt 0 ] || parts=(delivery lmtp reader aliases memory nss largembox multihost sieve)
for p in "${parts[@]}"; do
	case $p in
	delivery | lmtp | reader | aliases | memory | nss | largembox | multihost | sieve) ;;
	*) say "usage: bench/run.sh [delivery|lmtp|reader|aliases|memory|nss|largembox|multihost|sieve ...]"; exit 64 ;;
	esac
done
for p in "${parts[@]}"; do
	load=$(cut -d' ' -f1-3 /proc/loadavg)
	"bench_$p"
	write_meta "$p" "$load"
done
render
cat "$SRC/bench/RESULTS.md"
