# Sourced by e2e scripts: a private world under $TMPDIR and small assertion helpers.
set -eu
W=${TMPDIR:?}
fail() { echo "FAIL: $*" >&2; exit 1; }
skip() { echo "skipped: $*"; exit 77; }
check() { local what=$1; shift; "$@" || fail "$what"; }
# make_world: spool, homes, passwd file with alice/bob/carol at our uid, a config file $W/mda.conf
make_world() {
	mkdir -p "$W/spool" "$W/tmp" "$W/home"
	chmod 1777 "$W/tmp"
	: >"$W/passwd"
	for u in alice bob carol; do
		mkdir -p "$W/home/$u"
		echo "$u:x:$(id -u):$(id -g):$u:$W/home/$u:/bin/sh" >>"$W/passwd"
	done
	cat >"$W/mda.conf" <<EOC
spool_dir = $W/spool
tmp_dir = $W/tmp
passwd_file = $W/passwd
aliases_file = $W/aliases
aliases_db = $W/aliases.db
log = stderr
mail_group =
hostname = test.example
lock_timeout = 5
EOC
}
