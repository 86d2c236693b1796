# bench/largembox.sh: the `largembox` part of bench/run.sh (sourced): mail(1) on a mailbox of
# BENCH_LM_COUNT messages (default 50,000) and about BENCH_LM_BYTES bytes (default 86,000,000,
# 84 MiB), against s-nail and `grep -c '^From '` on the same file in the same run.
#
# Rows: the header summary (mail -H; s-nail -H; grep -c as the floor of reading the file once),
# wall time, CPU time and peak RSS; then a session that deletes the first half of the messages and quits
# (the other half written back), peak RSS and wall time, each run on a fresh copy of the
# mailbox: by rename (the directory is writable) and, as root, in place as user nobody in a
# directory nobody cannot write (Debian's /var/mail for mail(1), which is not set-id).
# Targets (issue 13): mail -H within 3x of grep -c, peak RSS within 2x of s-nail.

lm_mbox() {
	local count=${BENCH_LM_COUNT:-50000} bytes=${BENCH_LM_BYTES:-86000000}
	LM_COUNT=$count
	LM_MBOX=$CACHE/mbox.$count.$bytes
	[ -s "$LM_MBOX" ] || { say "bench: generating $LM_MBOX"; python3 "$SRC/bench/gen_mbox.py" "$count" "$bytes" "$LM_MBOX.tmp" && mv "$LM_MBOX.tmp" "$LM_MBOX"; }
}

# lm_cpu JSONFILE INDEX: mean user+system seconds of command INDEX in a hyperfine export.
lm_cpu() {
	python3 -c 'import json,sys; r=json.load(open(sys.argv[1]))["results"][int(sys.argv[2])]
print("%.4f" % (r["user"] + r["system"]))' "$1" "$2"
}

# lm_rss_runs PART WORKLOAD NAME NOTE CMD...: RUNS peak RSS figures of CMD (stdin /dev/null), median recorded.
lm_rss_runs() {
	local part=$1 wl=$2 name=$3 note=$4 r v all=""
	shift 4
	for ((r = 0; r < RUNS; r++)); do
		v=$(maxrss "$@" </dev/null)
		all+="$v "
	done
	[[ $all == *FAIL* ]] && v=FAIL || v=$(median $all)
	record "$part" "$wl" "$name" "$v" MB lower "runs: $all${note:+; $note}"
}

# lm_quit_once MODE PROG COPY: one delete-half-and-quit session on COPY (a fresh copy of the
# mailbox); prints "seconds peak_MB messages_left". MODE rename|inplace (as nobody).
lm_quit_once() {
	local mode=$1 prog=$2 copy=$3 half=$((LM_COUNT / 2)) pre=() cmd
	case $prog in
	mail) cmd=("$BUILD/mail" -C "$WORK/lm/mda.conf" -N -f "$copy") ;;
	s-nail) cmd=(s-nail -N -Snosave -f "$copy") ;;
	esac
	[ "$mode" = inplace ] && pre=(setpriv --reuid=65534 --regid=65534 --clear-groups env HOME="$WORK/lm/tmp")
	printf 'd 1-%d\nq\n' "$half" | /usr/bin/time -f '%e %M' -o "$WORK/lm/t" "${pre[@]}" "${cmd[@]}" >/dev/null 2>"$WORK/lm/err"
	local rc=$? left
	left=$(grep -c '^From ' "$copy")
	if [ $rc != 0 ] || [ "$left" != $((LM_COUNT - half)) ]; then
		say "bench: largembox: $prog ($mode) exit $rc, $left messages left: $(tail -2 "$WORK/lm/err")"
		echo "FAIL FAIL $left"
		return
	fi
	awk -v left="$left" '{printf "%s %.1f %s\n", $1, $2 / 1024, left}' "$WORK/lm/t"
}

# lm_quit MODE: RUNS interleaved sessions of mail and s-nail, medians recorded; the mailboxes
# they leave are compared byte for byte.
lm_quit() {
	local mode=$1 dir=$WORK/lm/$1 r p line
	declare -A secs=() mb=()
	mkdir -p "$dir"
	[ "$mode" = inplace ] && chmod 755 "$dir"
	for ((r = 0; r < RUNS; r++)); do
		for p in mail s-nail; do
			rm -f "$dir/$p"
			cp "$LM_MBOX" "$dir/$p"
			[ "$mode" = inplace ] && chown 65534:65534 "$dir/$p" && chmod 600 "$dir/$p"
			line=$(lm_quit_once "$mode" "$p" "$dir/$p")
			secs[$p]+="${line%% *} "
			line=${line#* }
			mb[$p]+="${line%% *} "
		done
	done
	local same="the mailboxes mail and s-nail left differ"
	cmp -s "$dir/mail" "$dir/s-nail" && same="mail and s-nail leave the same bytes"
	local wl="delete $((LM_COUNT / 2)) of $LM_COUNT msgs and quit, $mode"
	[ "$mode" = inplace ] && wl+=" (as nobody, directory not writable)"
	for p in mail s-nail; do
		local name=$p v w
		[ "$p" = mail ] && name=mail-quit
		[[ ${mb[$p]} == *FAIL* ]] && v=FAIL || v=$(median ${mb[$p]})
		[[ ${secs[$p]} == *FAIL* ]] && w=FAIL || w=$(median ${secs[$p]})
		record largembox "$wl, peak RSS" "$name" "$v" MB lower "runs: ${mb[$p]}; $same"
		record largembox "$wl, wall" "$name" "$w" s lower "runs: ${secs[$p]}"
	done
	unset secs mb
}

bench_largembox() {
	ensure_cmd /usr/bin/time time || { say "bench: largembox: no /usr/bin/time"; return; }
	ensure_cmd s-nail s-nail || { say "bench: largembox: no s-nail"; return; }
	have_mail || { say "bench: largembox: no $BUILD/mail"; return; }
	lm_mbox
	local w=$WORK/lm mb=$LM_MBOX
	say "== largembox: mail on $mb ($(du -m "$mb" | cut -f1) MB, $LM_COUNT messages), $RUNS runs"
	: >"$RESDIR/largembox.tsv"
	mkworld "$w" 1
	chmod 644 "$w/mda.conf"
	chmod 1777 "$w/tmp"
	local names=(mail-H s-nail grep-c) cmds=("$BUILD/mail -C $w/mda.conf -H -f $mb </dev/null"
		"s-nail -N -R -Snosave -H -f $mb </dev/null" "grep -c '^From ' $mb >$w/grep.out") i
	hyperfine --warmup 1 --runs "$RUNS" --ignore-failure --export-json "$w/h.json" "${cmds[@]}" >"$w/h.out" 2>&1 ||
		{ say "bench: hyperfine failed:"; tail -5 "$w/h.out" >&2; }
	local wl="header summary, $LM_COUNT msgs ($(du -m "$mb" | cut -f1) MB)"
	for i in "${!names[@]}"; do
		record largembox "$wl, wall" "${names[$i]}" "$(hyperfine_median "$w/h.json" "$i" 2>/dev/null || echo FAIL)" s lower "${cmds[$i]}"
	done
	# CPU time as a second opinion: on a shared machine the wall time of a 0.2 s run is
	# mostly how long it waited for a core.
	for i in "${!names[@]}"; do
		record largembox "$wl, CPU" "${names[$i]}" "$(lm_cpu "$w/h.json" "$i" 2>/dev/null || echo FAIL)" s lower "user+system, mean of the runs"
	done
	local n
	n=$("$BUILD/mail" -C "$w/mda.conf" -H -f "$mb" </dev/null 2>/dev/null | wc -l)
	[ "$n" = "$LM_COUNT" ] || say "bench: largembox: mail -H printed $n lines for $LM_COUNT messages"
	lm_rss_runs largembox "$wl, peak RSS" mail-H "" "$BUILD/mail" -C "$w/mda.conf" -H -f "$mb"
	lm_rss_runs largembox "$wl, peak RSS" s-nail "" s-nail -N -R -Snosave -H -f "$mb"
	lm_quit rename
	if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null; then
		lm_quit inplace
	else
		say "bench: largembox: the in-place rows need root (to run the sessions as nobody)"
	fi
}
