# bench/lib.sh: shared helpers for bench/run.sh (sourced). Every benchmark measures the project
# and its peers in the same run, several times, interleaved, and records medians in a TSV.

say() { printf '%s\n' "$*" >&2; }

# ensure_cmd CMD PACKAGE: installs PACKAGE with apt-get when CMD is missing (once per package);
# returns 1 when it is still missing, so the caller skips that peer with a message.
ensure_cmd() {
	local cmd=$1 pkg=$2
	command -v "$cmd" >/dev/null 2>&1 || [ -x "$cmd" ] && return 0
	if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
		say "bench: installing $pkg for $cmd"
		DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$pkg" >"$WORK/apt-$pkg.log" 2>&1 ||
			say "bench: apt-get install $pkg failed (see $WORK/apt-$pkg.log)"
	fi
	command -v "$cmd" >/dev/null 2>&1 || [ -x "$cmd" ]
}

# build_helpers: compiles the C drivers and floors of bench/ into $BIN.
build_helpers() {
	mkdir -p "$BIN"
	local f
	for f in floor forkloop; do
		[ "$BIN/$f" -nt "$SRC/bench/$f.c" ] || cc -O2 -Wall -Wextra -o "$BIN/$f" "$SRC/bench/$f.c" || return 1
	done
	[ "$BIN/gdbm_floor" -nt "$SRC/bench/gdbm_floor.c" ] ||
		cc -O2 -Wall -Wextra -o "$BIN/gdbm_floor" "$SRC/bench/gdbm_floor.c" -lgdbm || say "bench: gdbm_floor does not build"
}

# mkworld DIR NBOXES: a private mail world for the project (mda.conf, passwd_file with users
# u000.. all mapped to the caller's uid, spool, tmp, aliases) plus the system-style passwd used
# inside the mount namespace by peers that look users up with getpwnam (procmail -d, maildrop
# -d, Mailutils).
mkworld() {
	local d=$1 n=$2 i
	rm -rf "$d"
	mkdir -p "$d/spool" "$d/tmp" "$d/home" "$d/dvhome" "$d/dvrun"
	chmod 755 "$d"
	chmod 1777 "$d/spool" "$d/dvhome" "$d/dvrun"
	: >"$d/passwd"
	for ((i = 0; i < n; i++)); do
		printf 'u%03d:x:%d:%d:bench user:%s:/bin/sh\n' "$i" "$(id -u)" "$(id -g)" "$d/home" >>"$d/passwd"
		# Existing mailboxes, as useradd makes them (procmail sleeps a second creating one).
		: >"$d/spool/$(printf u%03d "$i")"
		chmod 600 "$d/spool/$(printf u%03d "$i")"
	done
	printf 'postmaster: u000\n' >"$d/aliases"
	cat >"$d/mda.conf" <<EOF
spool_dir = $d/spool
passwd_file = $d/passwd
aliases_db = $d/aliases.db
aliases_file = $d/aliases
tmp_dir = $d/tmp
log = stderr
mail_group =
EOF
	[ -x "$BUILD/newaliases" ] && "$BUILD/newaliases" -C "$d/mda.conf" >/dev/null 2>&1
	cat >"$d/dovecot.conf" <<EOF
base_dir = $d/dvrun
log_path = $d/dvrun/log
info_log_path = /dev/null
ssl = no
first_valid_uid = 0
mbox_write_locks = dotlock fcntl
mail_location = mbox:$d/dvhome/mail:INBOX=$d/spool/u000
EOF
	chmod 644 "$d/dovecot.conf"
	return 0
}

# private_etc: a copy of /etc whose passwd also lists u000..u099 (uid 0, home $WORK/home), for
# in_ns. /etc as a whole is bound, not /etc/passwd alone: useradd/userdel run by other tests
# replace /etc/passwd by rename, which would silently detach a bind on the file.
private_etc() {
	[ -d "$WORK/etc" ] && return 0
	cp -a /etc "$WORK/etc" 2>/dev/null
	mkdir -p "$WORK/home"
	local i
	for ((i = 0; i < 100; i++)); do
		printf 'u%03d:x:0:0:bench user:%s:/bin/sh\n' "$i" "$WORK/home" >>"$WORK/etc/passwd"
	done
}

# in_ns WORLD CMD...: runs CMD in a private mount namespace where /var/mail is WORLD/spool and
# /etc is the private copy (the real files are untouched; the binds vanish with the namespace).
in_ns() {
	local w=$1
	shift
	private_etc
	unshare -m --propagation private sh -c 'mount --bind "$1" /etc && mount --bind "$2" /var/mail && shift 2 && exec "$@"' \
		sh "$WORK/etc" "$w/spool" "$@"
}

ns_works() {
	[ "$(id -u)" = 0 ] || return 1
	local w=$WORK/nscheck
	mkworld "$w" 1
	in_ns "$w" sh -c 'grep -q "^u000:" /etc/passwd' 2>/dev/null
}

# record PART WORKLOAD PROGRAM VALUE UNIT BETTER NOTE: one median into the part's TSV.
record() {
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$@" >>"$RESDIR/$1.tsv"
	printf '  %-28s %-34s %12s %s\n' "$2" "$3" "$4" "$5" >&2
}

median() { python3 -c 'import sys,statistics; v=[float(x) for x in sys.argv[1:]]; print("%.3f" % statistics.median(v)) if v else print("")' "$@"; }

# kv KEY LINE: the value of KEY=value in a forkloop output line.
kv() { printf '%s\n' "$2" | tr ' ' '\n' | sed -n "s/^$1=//p"; }

# hyperfine_median JSONFILE INDEX: median seconds of command INDEX in a hyperfine export;
# FAIL when any run exited non-zero (hyperfine runs with --ignore-failure so that one broken
# peer does not stop the others, and a failing command is often fast).
hyperfine_median() {
	python3 -c 'import json,sys; r=json.load(open(sys.argv[1]))["results"][int(sys.argv[2])]
print("FAIL" if any(r.get("exit_codes") or [1]) else "%.4f" % r["median"])' "$1" "$2"
}

count_from() { cat "$@" 2>/dev/null | grep -c '^From '; }

machine_description() {
	local fs
	fs=$(stat -f -c %T "$WORK" 2>/dev/null)
	echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC'), commit $(git -C "$SRC" rev-parse --short HEAD 2>/dev/null)"
	echo "- nproc: $(nproc); CPU: $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)"
	echo "- kernel: $(uname -r); OS: $(. /etc/os-release 2>/dev/null; echo "$PRETTY_NAME")"
	echo "- temp dir: $WORK on $fs ($(df -T "$WORK" | awk 'NR==2 {print $1, $2}'))"
	echo "- load average at the start: $LOAD_START; at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
}

minmax() { python3 -c 'import sys; v=[float(x) for x in sys.argv[1:] if x != "FAIL"]; print("%.2f/%.2f" % (min(v), max(v)) if v else "")' "$@"; }

# json_field KEY JSON: one field of lmtp_load.py's output line (empty when JSON is not JSON).
json_field() { python3 -c 'import json,sys; print(json.loads(sys.argv[2])[sys.argv[1]])' "$1" "$2" 2>/dev/null; }

# write_meta PART START_LOAD: when, at which commit and with which sizes PART was measured, for
# the line under its table (a run of some parts leaves the other tables as they were).
write_meta() {
	local dirty=""
	[ -n "$(git -C "$SRC" status --porcelain --untracked-files=no -- . ':!bench' 2>/dev/null)" ] &&
		dirty=" plus uncommitted changes in the tree"
	local sizes
	sizes=$(env | grep -E '^BENCH_' | grep -vE '^BENCH_(FULL|TMP|CACHE|KEEP)=' | sort | tr '\n' ' ')
	printf 'measured %s at commit %s%s, BENCH_FULL=%s%s, on %s x %s; load average %s at the start, %s at the end\n' \
		"$(date -u '+%Y-%m-%d %H:%M UTC')" "$(git -C "$SRC" rev-parse --short HEAD 2>/dev/null)" "$dirty" \
		"$FULL" "${sizes:+ ${sizes% }}" "$(nproc)" "$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)" \
		"$2" "$(cut -d' ' -f1-3 /proc/loadavg)" >"$RESDIR/$1.meta"
}

# ratio A B: A / B with two decimals, n/a when either is not a number.
ratio() {
	python3 -c 'import sys
try: print("%.2f" % (float(sys.argv[1]) / float(sys.argv[2])))
except (ValueError, ZeroDivisionError): print("n/a")' "$1" "$2"
}

# tally OK KEY ARRAY VALUE [ARRAY VALUE...]: one run's figures appended to the associative
# arrays named ARRAY under KEY, or FAIL to each when OK is not 0 (median_runs then says FAIL).
tally() {
	local ok=$1 key=$2
	shift 2
	while [ $# -ge 2 ]; do
		local -n _tally_arr=$1
		if [ "$ok" = 0 ]; then _tally_arr[$key]+="$2 "; else _tally_arr[$key]+="FAIL "; fi
		unset -n _tally_arr
		shift 2
	done
}

# median_runs "V V ...": their median, FAIL when a run failed.
median_runs() { if [[ $1 == *FAIL* ]]; then echo FAIL; else median $1; fi; }
