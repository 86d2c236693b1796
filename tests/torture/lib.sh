# tests/torture/lib.sh: sourced by each torture part. Needs BUILD (absolute), T (temp dir).
set -u
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
QUICK=${TORTURE_QUICK:-0}
MDA=$BUILD/mda MAIL=$BUILD/mail NEWALIASES=$BUILD/newaliases

fail() { echo "FAIL: $*"; exit 1; }
skip() { echo "SKIP: $*"; exit 77; }
note() { echo "  $*"; }

need_binaries() {
	local b
	for b in "$MDA" "$MAIL" "$NEWALIASES"; do [ -x "$b" ] || skip "$b is not built"; done
}

# world DIR [NUSERS] [UID]: conf, passwd_file with u000.. (UID, default ours), spool, tmp.
world() {
	local d=$1 n=${2:-4} uid=${3:-$(id -u)} i
	mkdir -p "$d/spool" "$d/tmp" "$d/home"
	: >"$d/passwd"
	for ((i = 0; i < n; i++)); do
		mkdir -p "$d/home/u$(printf %03d $i)"
		printf 'u%03d:x:%d:%d:torture:%s/home/u%03d:/bin/sh\n' "$i" "$uid" "$(id -g)" "$d" "$i" >>"$d/passwd"
	done
	printf 'postmaster: u000\n' >"$d/aliases"
	cat >"$d/mda.conf" <<EOC
spool_dir = $d/spool
passwd_file = $d/passwd
aliases_db = $d/aliases.db
aliases_file = $d/aliases
tmp_dir = $d/tmp
log = stderr
mail_group =
lock_timeout = 30
EOC
	"$NEWALIASES" -C "$d/mda.conf" >/dev/null 2>&1 || fail "newaliases -C $d/mda.conf failed"
}

# counts MBOX: "grep=N mail=N snail=N" message counts of three independent readers.
counts() {
	local g m s
	g=$(grep -c '^From ' "$1" 2>/dev/null)
	m=$("$MAIL" -C "$W/mda.conf" -H -f "$1" </dev/null 2>/dev/null | grep -c .)
	if command -v s-nail >/dev/null; then
		s=$(s-nail -N -R -Snosave -H -f "$1" </dev/null 2>/dev/null | grep -c .)
	else
		s=$g
	fi
	echo "grep=$g mail=$m snail=$s"
}

# readers_agree MBOX N: the three readers count N messages.
readers_agree() {
	local c
	c=$(counts "$1")
	[ "$c" = "grep=$2 mail=$2 snail=$2" ] || fail "readers disagree on $1: $c, expected $2 intact messages"
	note "readers agree: $c"
}

# as_user UID[:GID[:GROUPS]] CMD...: runs CMD as another unprivileged user (the attacker or the
# victim of a security part), with no supplementary groups unless GROUPS (comma list) says so.
as_user() {
	local spec=$1 uid gid groups
	shift
	uid=${spec%%:*}
	gid=${spec#*:}; [ "$gid" = "$spec" ] && gid=$uid
	groups=${gid#*:}; [ "$groups" = "$gid" ] && groups=
	gid=${gid%%:*}
	if [ -n "$groups" ]; then
		setpriv --reuid="$uid" --regid="$gid" --groups="$groups" -- "$@"
	else
		setpriv --reuid="$uid" --regid="$gid" --clear-groups -- "$@"
	fi
}

# spool_shape DIR sticky|mailgroup: the two shared spools a security part attacks: a sticky
# world-writable one (chmod 1777, as the README allows) and Debian's root:mail 2775.
spool_shape() {
	case $2 in
	sticky) chown root:root "$1"; chmod 1777 "$1" ;;
	mailgroup) chown root:mail "$1"; chmod 2775 "$1" ;;
	*) fail "spool_shape: unknown shape $2" ;;
	esac
}
