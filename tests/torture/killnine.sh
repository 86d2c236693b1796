#!/bin/bash
# Kill -9 torture: SIGKILL deliveries at random moments with concurrent normal deliveries; every
# delivery that exited 0 is in the mailbox exactly once and intact, nothing torn is visible.
. "$(dirname "$0")/lib.sh"
need_binaries
W=$T/world
world "$W" 2
kills=1000 writers=2
[ "$QUICK" = 1 ] && kills=50
note "$kills kills, $writers concurrent unkilled writers"
python3 "$HERE/killnine.py" "$MDA" "$W/mda.conf" u000 "$kills" "$writers" "$T/out" || fail "too few kills, or deliveries that were not killed failed (see above)"
ls "$W/spool"/u000.* 2>/dev/null && note "files left beside the mailbox: $(ls "$W/spool")"
out=$(python3 "$HERE/mbox_check.py" --ok "$T/out/ok.ids" --maybe "$T/out/maybe.ids" "$W/spool/u000") ||
	fail "mailbox check: $out"
echo "  $out"
intact=$(printf '%s\n' "$out" | sed -n 's/^intact=\([0-9]*\).*/\1/p')
readers_agree "$W/spool/u000" "$intact"
echo "PASS"
