#!/bin/bash
# The README's first command: install dependencies, build, deliver a sample message through mda
# into a mailbox in a temporary spool, then list and read it with mail -f.
set -euo pipefail
cd "$(dirname "$0")"
scripts/install-deps.sh
make -j2 >/dev/null
W=$(mktemp -d /tmp/mda-demo.XXXXXX)
mkdir -p "$W/spool" "$W/home/$(id -un)"
echo "$(id -un):x:$(id -u):$(id -g):demo user:$W/home/$(id -un):/bin/sh" >"$W/passwd"
cat >"$W/mda.conf" <<EOC
spool_dir = $W/spool
passwd_file = $W/passwd
aliases_db = $W/aliases.db
aliases_file = $W/aliases
tmp_dir = $W
log = stderr
mail_group =
EOC
me=$(id -un)
printf 'From: Yuki <yuki@example.org>\nTo: %s\nSubject: Hello from mda\nDate: %s\n\nThis message was delivered by mda.\nFrom here on, lines starting with From are quoted.\n' \
	"$me" "$(date -R)" | build/mda -C "$W/mda.conf" -f yuki@example.org "$me"
echo "mda exit status: $? -> $W/spool/$me"
echo "--- mailbox file ---"
cat "$W/spool/$me"
echo "--- mail -H -f ---"
build/mail -C "$W/mda.conf" -H -f "$W/spool/$me"
echo "--- mail -f, command 'type 1' then 'exit' ---"
printf 'type 1\nexit\n' | build/mail -C "$W/mda.conf" -N -f "$W/spool/$me"
echo "(demo files are in $W)"
