#!/bin/bash
# Hostile input torture: nasty messages (bare CR, NUL, 1 MB line, no separator, 10,000 headers,
# From lines, no final newline, invalid UTF-8, a 200 MB message) and hostile recipients ("../",
# "|cmd", shell metacharacters, 10,000 RCPTs): the right reply, nothing lost, nothing executed.
. "$(dirname "$0")/lib.sh"
need_binaries
W=$T/world
world "$W" 4
big=200
[ "$QUICK" = 1 ] && big=60   # still over the default message_size_limit (51200000)
"$MDA" -C "$W/mda.conf" -L "unix:$W/lmtp.sock" 2>"$T/daemon.log" &
dpid=$!
trap 'kill $dpid 2>/dev/null' EXIT
for i in $(seq 50); do [ -S "$W/lmtp.sock" ] && break; sleep 0.1; done
[ -S "$W/lmtp.sock" ] || fail "mda -L did not create its socket: $(tail -3 "$T/daemon.log")"
python3 "$HERE/hostile.py" "$MDA" "$W/mda.conf" "$W/lmtp.sock" "$W/spool" "$T/canary" "$big" || fail "see above"
for u in u000 u001 u002 u003; do
	[ -f "$W/spool/$u" ] || continue
	n=$(python3 -c 'import sys; sys.path.insert(0, sys.argv[1]); import tortlib; print(len(tortlib.split_mbox(open(sys.argv[2], "rb").read())))' "$HERE" "$W/spool/$u")
	readers_agree "$W/spool/$u" "$n"
done
echo "PASS"
