#!/bin/bash
# e2e: the built newaliases: summary line, -s, -q, -p round trip, FILE argument, exit codes
# with FILE:LINE messages, atomic replacement keeping the mode, 20,000 aliases, and mda
# expanding an alias compiled a moment before.
. "$SRCDIR/tests/e2e/lib.bash"
make_world
NA=$BUILD/newaliases
na() { "$NA" -C "$W/mda.conf" "$@"; }
expect_rc() { local want=$1; shift; set +e; "$@"; local rc=$?; set -e; [ "$rc" = "$want" ] || fail "$* exited $rc, expected $want"; }

cat >"$W/aliases" <<'EOF'
# test aliases
postmaster: root
Staff: alice,
	bob
"mail team": carol, "|/bin/cat > /dev/null"
EOF

echo "== summary line, exit 0"
na >"$W/out" 2>"$W/err" || fail "newaliases failed: $(cat "$W/err")"
check "summary line" grep -qx "$W/aliases: 3 aliases, longest 30 bytes, 68 bytes total" "$W/out"
check "nothing on stderr" [ ! -s "$W/err" ]
check "database created 0644" [ "$(stat -c %a "$W/aliases.db")" = 644 ]
check "no temporary files" [ -z "$(ls "$W" | grep '\.tmp')" ]

echo "== -s is silent"
na -s >"$W/out" 2>&1 || fail "-s failed"
check "-s prints nothing" [ ! -s "$W/out" ]

echo "== -q NAME"
check "-q value" [ "$(na -q staff)" = "alice, bob" ]
check "-q is case-insensitive" [ "$(na -q STAFF)" = "alice, bob" ]
check "-q quoted name" [ "$(na -q 'mail team')" = 'carol, "|/bin/cat > /dev/null"' ]
expect_rc 1 na -q nosuchalias
check "-q absent prints nothing" [ -z "$(na -q nosuchalias || true)" ]

echo "== -p prints aliases(5) that compiles to the same database"
na -p | sort >"$W/p1"
check "-p has every alias" [ "$(wc -l <"$W/p1")" = 3 ]
check "-p quotes names with spaces" grep -qx '"mail team": carol, "|/bin/cat > /dev/null"' "$W/p1"
check "-p omits the sentinel" [ -z "$(grep '^@' "$W/p1")" ]
cp "$W/p1" "$W/printed"
na -s "$W/printed" || fail "recompiling -p output failed"
na -p "$W/printed" | sort >"$W/p2"
check "-p round trip" cmp -s "$W/p1" "$W/p2"

echo "== FILE argument compiles FILE into FILE.db"
printf 'other: bob\n' >"$W/other"
na "$W/other" >"$W/out" || fail "FILE argument"
check "FILE summary" grep -qx "$W/other: 1 aliases, longest 3 bytes, 8 bytes total" "$W/out"
check "FILE.db exists" [ -f "$W/other.db" ]
check "-q with FILE" [ "$(na -q other "$W/other")" = bob ]
expect_rc 1 na -q other   # not in the configured database

echo "== bad lines: FILE:LINE on stderr, exit 65, good entries still compiled"
printf 'good: alice\nno colon here\n"open: x\nbad: "|unterminated\nfine: bob\n' >"$W/bad"
expect_rc 65 na -s "$W/bad" 2>"$W/err"
check "line 2 reported" grep -qx "$W/bad:2: missing colon after alias name" "$W/err"
check "line 3 reported" grep -qx "$W/bad:3: unterminated quote in alias name" "$W/err"
check "line 4 reported" grep -qx "$W/bad:4: alias bad: unterminated quote" "$W/err"
check "good entries compiled" [ "$(na -q fine "$W/bad")" = bob ]

echo "== duplicates: warning, first wins, exit 0"
printf 'dup: alice\ndup: bob\n' >"$W/dups"
na -s "$W/dups" 2>"$W/err" || fail "duplicates must not fail"
check "duplicate warning" grep -qx "$W/dups:2: warning: duplicate alias dup ignored (the first one wins)" "$W/err"
check "first wins" [ "$(na -q dup "$W/dups")" = alice ]

echo "== I/O failures leave the old database untouched"
cp "$W/aliases.db" "$W/before.db"
mv "$W/aliases" "$W/aliases.away"
expect_rc 66 na -s 2>"$W/err"
check "66 names the file" grep -q "cannot open $W/aliases" "$W/err"
check "old database untouched" cmp -s "$W/aliases.db" "$W/before.db"
mv "$W/aliases.away" "$W/aliases"
expect_rc 73 na -s -o "aliases_db=$W/no/such/dir/aliases.db" 2>"$W/err"
check "73 names the database, not a temporary file: $(cat "$W/err")" grep -qx "newaliases: cannot create $W/no/such/dir/aliases.db: No such file or directory" "$W/err"
printf 'this is not a gdbm database, but long enough to look like a file\n' >"$W/junk.db"
printf 'x: y\n' >"$W/junk"
expect_rc 78 na -q x "$W/junk" 2>"$W/err"
check "78 names the file and what it is" grep -q "$W/junk.db is not a database format mda knows, not mda's GDBM aliases" "$W/err"
expect_rc 78 na -s "$W/junk" 2>"$W/err"
check "a foreign file is not overwritten" grep -q "not overwriting it" "$W/err"
if command -v postalias >/dev/null; then
	# The MTA's /etc/aliases.db: Postfix's postalias writes Berkeley DB hash.
	: >"$W/main.cf"
	cp "$W/aliases" "$W/pf"
	postalias -c "$W" "hash:$W/pf" || fail "postalias"
	cp "$W/pf.db" "$W/pf.before"
	expect_rc 78 na -s "$W/pf" 2>"$W/err"
	check "postalias file named" grep -q "$W/pf.db is a Berkeley DB hash file (Postfix or sendmail)" "$W/err"
	check "postalias file untouched" cmp -s "$W/pf.db" "$W/pf.before"
	postalias -c "$W" -q postmaster "hash:$W/pf" >/dev/null || fail "Postfix can no longer read its file"
fi
expect_rc 64 na -q a -p

echo "== atomic replacement keeps the mode"
chmod 0640 "$W/aliases.db"
ino=$(stat -c %i "$W/aliases.db")
na -s || fail "recompile"
check "mode kept" [ "$(stat -c %a "$W/aliases.db")" = 640 ]
check "new inode (renamed into place)" [ "$(stat -c %i "$W/aliases.db")" != "$ino" ]
if [ "$(id -u)" = 0 ]; then
	chown 65534:65534 "$W/aliases.db"
	na -s || fail "recompile"
	check "owner kept" [ "$(stat -c %u:%g "$W/aliases.db")" = 65534:65534 ]
else
	echo "owner check skipped: not root"
fi

echo "== 20,000 aliases"
awk 'BEGIN { for (i = 0; i < 20000; i++) printf "user%05d: target%05d, x%d@example.org\n", i, i, i }' >"$W/many"
na "$W/many" >"$W/out" || fail "20000 aliases"
check "count in summary" grep -q ": 20000 aliases," "$W/out"
check "first" [ "$(na -q user00000 "$W/many")" = "target00000, x0@example.org" ]
check "last" [ "$(na -q user19999 "$W/many")" = "target19999, x19999@example.org" ]
check "-p lists all" [ "$(na -p "$W/many" | wc -l)" = 20000 ]

echo "== mda expands an alias compiled a moment ago"
msg() { printf 'From: sender@example.org\nSubject: alias test %s\n\nbody %s\n' "$1" "$1"; }
printf 'team: alice, bob\n' >"$W/aliases"
na -s || fail "compile team"
msg one | "$BUILD/mda" -C "$W/mda.conf" -f sender@example.org team 2>"$W/err" || fail "mda team: $(cat "$W/err")"
check "alice got it" grep -q 'body one' "$W/spool/alice"
check "bob got it" grep -q 'body one' "$W/spool/bob"
printf 'team: carol\n' >"$W/aliases"
na -s || fail "recompile team"
msg two | "$BUILD/mda" -C "$W/mda.conf" -f sender@example.org team 2>"$W/err" || fail "mda team 2: $(cat "$W/err")"
check "carol got the second" grep -q 'body two' "$W/spool/carol"
check "alice did not" [ -z "$(grep 'body two' "$W/spool/alice")" ]
echo "ok"
