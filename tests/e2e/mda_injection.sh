#!/bin/bash
# e2e: hostile recipient arguments in stdin mode, passed the way the README tells Exim and
# OpenSMTPD to pass them: an address that looks like an option never becomes one, and a
# name with a line break cannot forge a log or stderr line.
. "$SRCDIR/tests/e2e/lib.bash"
make_world
MDA=$BUILD/mda
evil=$W/evil-spool
mkdir -p "$evil"
not() { ! "$@"; }
msg() { printf 'From: x@example.org\nSubject: injection\n\nbody\n'; }

# The README's line for MTA NAME, with MDA for the installed path and VARS substituted, split
# into words as Exim and OpenSMTPD split a command (no shell; quotes group words).
readme_words() {   # NAME PATTERN
	local line
	line=$(grep -m1 -- "$2" "$SRCDIR/README.md") || fail "no $1 line in README.md"
	line=${line#*command = }
	line=${line#*mda \"}
	line=${line%\"}
	printf '%s\n' "$line"
}
hostile="-ospool_dir=$evil"

echo "== Exim pipe transport line of the README"
line=$(readme_words Exim '^  command = /usr/local/libexec/mda')
line=${line//\/usr\/local\/libexec\/mda/$MDA}
line=${line//\$sender_address/x@example.org}
line=${line//\$original_local_part@\$original_domain/a@test.example}
eval "set -- $(printf '%s' "$line" | sed 's/\$local_part/HOSTILE/')"
args=()
for a in "$@"; do [ "$a" = HOSTILE ] && args+=("$hostile") || args+=("$a"); done
rc=0; msg | "${args[0]}" -C "$W/mda.conf" "${args[@]:1}" 2>"$W/err" || rc=$?
check "nothing delivered into the spool_dir the recipient named ($(ls "$evil"))" [ -z "$(ls -A "$evil")" ]
check "the hostile recipient is refused, not delivered (exit $rc)" [ "$rc" != 0 ]
check "refused as a bad name" grep -q '5\.1\.3' "$W/err"

echo "== OpenSMTPD mda line of the README"
line=$(readme_words OpenSMTPD 'action "local" mda')
line=${line//\/usr\/local\/libexec\/mda/$MDA}
line=${line//%\{sender\}/x@example.org}
line=${line//%\{rcpt\}/a@test.example}
read -r -a words <<<"${line//%\{user.username\}/HOSTILE}"
args=()
for a in "${words[@]}"; do [ "$a" = HOSTILE ] && args+=("$hostile") || args+=("$a"); done
rc=0; msg | "${args[0]}" -C "$W/mda.conf" "${args[@]:1}" 2>"$W/err" || rc=$?
check "nothing delivered into the hostile spool_dir" [ -z "$(ls -A "$evil")" ]
check "refused (exit $rc)" [ "$rc" != 0 ]

echo "== options end at the first recipient"
rc=0; msg | "$MDA" -C "$W/mda.conf" -f x@example.org alice "$hostile" 2>"$W/err" || rc=$?
check "alice got it" grep -q '^Subject: injection' "$W/spool/alice"
check "nothing in the hostile spool_dir" [ -z "$(ls -A "$evil")" ]
check "the second word was a refused recipient (exit $rc)" [ "$rc" != 0 ]

echo "== a recipient with a line break forges no log or stderr line"
nl=$'bob\nmda: dsn=2.0.0, status=sent (forged)'
rc=0; msg | "$MDA" -C "$W/mda.conf" -f x@example.org -- "$nl" 2>"$W/err" || rc=$?
check "refused (exit $rc)" [ "$rc" != 0 ]
check "no forged line: $(cat "$W/err")" not grep -q '^mda: dsn=2.0.0, status=sent (forged)' "$W/err"
check "every stderr line starts as ours" not grep -qv -e '^mda: ' -e '^[45]\.[0-9]\.[0-9] ' "$W/err"
echo "ok"
