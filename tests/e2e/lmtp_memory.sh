#!/bin/bash
# LMTP memory bounds in stdio mode: a 100 MB message is streamed (peak RSS under 16 MB) and a
# long session's RSS stays flat (every transaction frees its spool and recipients).
. "$SRCDIR/tests/e2e/lib.bash"
export MDA=${MDA:-$BUILD/mda}
[ -x "$MDA" ] || fail "no mda binary at $MDA"
command -v python3 >/dev/null || skip "python3 missing"
make_world
# Under ASan freed blocks sit in a 256 MB quarantine and RSS grows with every free; measure
# the allocator, not the quarantine (use-after-free is the other tests' business).
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=0"
# fsync off: this measures memory, not the disk; no size limit for the big message
printf 'fsync = no\nmessage_size_limit = 0\n' >>"$W/mda.conf"
client() { python3 "$SRCDIR/tests/e2e/lmtp_client.py" "exec:$W/mda.conf" "$@" 2>>"$W/client.log" || { tail -5 "$W/client.log"; fail "lmtp_client $*"; }; }
client bigmessage 100 16384
check "the big message arrived whole" [ "$(stat -c %s "$W/spool/alice")" -gt 100000000 ]
rm -f "$W/spool/alice"
client longsession 5000 256
check "5000 messages for bob" [ "$(grep -c '^From ' "$W/spool/bob")" = 5000 ]
check "no temporary files left" [ -z "$(ls -A "$W/tmp")" ]
echo ok
