#!/bin/bash
# Disk full and quota torture: a 2 MB tmpfs is the spool. Deliveries past full get EX_TEMPFAIL
# (stdin) / 452 (LMTP) and leave the mailbox byte-identical; after space is freed they succeed.
# Quota is simulated with RLIMIT_FSIZE on the delivering process (a real user quota needs
# quota tools and a quota-enabled filesystem: impractical in CI); EFBIG takes the same path.
. "$(dirname "$0")/lib.sh"
need_binaries
[ "$(id -u)" = 0 ] || skip "needs root to mount a tmpfs as the spool"
W=$T/world
world "$W" 2
FS=$T/fs
mkdir -p "$FS"
mount -t tmpfs -o size=2m,mode=0755 torture-spool "$FS" || skip "cannot mount a tmpfs here"
cleanup() {
	[ -n "${dpid:-}" ] && kill "$dpid" 2>/dev/null && wait "$dpid" 2>/dev/null
	umount "$FS"
}
trap cleanup EXIT
mkdir "$FS/spool"
sed -i "s|^spool_dir = .*|spool_dir = $FS/spool|" "$W/mda.conf"
"$MDA" -C "$W/mda.conf" -L "unix:$W/lmtp.sock" 2>"$T/daemon.log" &
dpid=$!
for i in $(seq 50); do [ -S "$W/lmtp.sock" ] && break; sleep 0.1; done
[ -S "$W/lmtp.sock" ] || fail "mda -L did not create its socket: $(tail -3 "$T/daemon.log")"
mkdir -p "$T/out"
python3 "$HERE/diskfull.py" "$MDA" "$W/mda.conf" "$W/lmtp.sock" u000 "$FS" "$T/out" || fail "see above"
out=$(python3 "$HERE/mbox_check.py" --ok "$T/out/ok.ids" "$FS/spool/u000") || fail "mailbox check: $out"
echo "  $out"
n=$(printf '%s\n' "$out" | sed -n 's/^intact=\([0-9]*\).*/\1/p')
readers_agree "$FS/spool/u000" "$n"
leftover=$(find "$FS/spool" "$FS/tmp" -mindepth 1 ! -name u000)
[ -z "$leftover" ] || fail "files left in the spool: $leftover"
echo "PASS"
