#!/bin/bash
# `mda -L unix:...`: the daemon. Conversations, concurrency, socket mode, limits after a SIGHUP
# reload, timeouts, max connections, no zombies, SIGTERM draining, stale/foreign socket files,
# and systemd socket activation.
. "$SRCDIR/tests/e2e/lib.sh"
export MDA=${MDA:-$BUILD/mda}
[ -x "$MDA" ] || fail "no mda binary at $MDA"
command -v python3 >/dev/null || skip "python3 missing"
make_world
SOCK=$W/lmtp.sock
DPID=
cleanup() { [ -z "$DPID" ] || kill "$DPID" 2>/dev/null || true; wait 2>/dev/null || true; }
trap cleanup EXIT
absent() { ! "$@"; }
client() { python3 "$SRCDIR/tests/e2e/lmtp_client.py" "unix:$SOCK" "$@" 2>>"$W/client.log" || { tail -5 "$W/client.log"; tail -5 "$W/daemon.log"; fail "lmtp_client $*"; }; }
count() { grep -c '^From ' "$W/spool/$1" 2>/dev/null || echo 0; }
zombies() { ps -o stat= --ppid "$DPID" 2>/dev/null | grep -c '^Z' || true; }
# waits for a background client to write its marker file
await() { for _ in $(seq 100); do [ -e "$1" ] && return 0; sleep 0.1; done; fail "client never got to $1"; }
start_daemon() {
	"$MDA" -C "$W/mda.conf" -L "unix:$SOCK" 2>>"$W/daemon.log" &
	DPID=$!
	for _ in $(seq 50); do [ -S "$SOCK" ] && return 0; sleep 0.1; done
	cat "$W/daemon.log"; fail "daemon did not create $SOCK"
}

echo "lmtp_socket_mode = 0660" >>"$W/mda.conf"
echo "message_size_limit = 2000" >>"$W/mda.conf"
start_daemon
check "socket mode from lmtp_socket_mode" [ "$(stat -c %a "$SOCK")" = 660 ]
client smtplib 3
for u in alice bob carol; do check "$u has 3 messages" [ "$(count $u)" = 3 ]; done
client transcript
client pipelined 5
client malformed
client size 2000

# sessions run concurrently: a held-open session does not block another client
python3 "$SRCDIR/tests/e2e/lmtp_client.py" "unix:$SOCK" hold 4 "$W/m.hold" 2>>"$W/client.log" & HOLD=$!
await "$W/m.hold"
client transcript
check "second session served while the first is still open" kill -0 $HOLD
wait $HOLD || fail "held session"

# disconnect mid-DATA: no message, no temporary file, no zombie
before=$(count alice)
client vanish
sleep 0.5
check "no partial message" [ "$(count alice)" = "$before" ]
check "no temporary files in tmp_dir" [ -z "$(ls -A "$W/tmp")" ]
check "no zombie session processes" [ "$(zombies)" = 0 ]

# SIGHUP: new limits and host name for new sessions
cat >>"$W/mda.conf" <<EOC
hostname = reloaded.example
lmtp_max_errors = 5
lmtp_max_recipients = 3
lmtp_idle_timeout = 2
lmtp_max_connections = 2
EOC
kill -HUP "$DPID"
sleep 0.5
check "daemon survived SIGHUP" kill -0 "$DPID"
python3 "$SRCDIR/tests/e2e/lmtp_client.py" "unix:$SOCK" greeting 2>>"$W/client.log" | grep -q '^220 reloaded.example LMTP' ||
	fail "greeting after reload"
client too_many_errors 5
client recipient_limit 3
client slowloris 2
# lmtp_max_connections = 2: a third concurrent client gets 421 4.3.2
python3 "$SRCDIR/tests/e2e/lmtp_client.py" "unix:$SOCK" hold 6 "$W/m.h1" 2>>"$W/client.log" & H1=$!
python3 "$SRCDIR/tests/e2e/lmtp_client.py" "unix:$SOCK" hold 6 "$W/m.h2" 2>>"$W/client.log" & H2=$!
await "$W/m.h1"; await "$W/m.h2"
client busy
wait $H1 || fail "first held session"
wait $H2 || fail "second held session"
sleep 0.3
client transcript
check "no zombies after many sessions" [ "$(zombies)" = 0 ]

# SIGTERM with a transaction in flight: it completes, then the session gets 421 4.3.2
before=$(count alice)
python3 "$SRCDIR/tests/e2e/lmtp_client.py" "unix:$SOCK" quit_expected "421 4.3.2" "$W/m.txn" 2>>"$W/client.log" & INFLIGHT=$!
await "$W/m.txn"
kill -TERM "$DPID"
sleep 0.3
check "listener closed and socket removed at SIGTERM" [ ! -e "$SOCK" ]
check "daemon waits for the session in flight" kill -0 "$DPID"
wait $INFLIGHT || { tail -5 "$W/client.log"; fail "the in-flight transaction was not finished"; }
wait "$DPID" || fail "daemon exit status $?"
DPID=
check "in-flight message delivered" [ "$(count alice)" = $((before + 1)) ]

# a stale socket file (no listener) is replaced; a live one or a non-socket is left alone
python3 -c "import socket; s=socket.socket(socket.AF_UNIX); s.bind('$SOCK')"
check "stale socket prepared" [ -S "$SOCK" ]
start_daemon
client transcript
check "second daemon on a live socket refuses" absent "$MDA" -C "$W/mda.conf" -L "unix:$SOCK" 2>>"$W/daemon.log"
client transcript
kill -TERM "$DPID"; wait "$DPID" || true; DPID=
echo "not a socket" >"$SOCK"
check "a regular file is not replaced" absent "$MDA" -C "$W/mda.conf" -L "unix:$SOCK" 2>>"$W/daemon.log"
check "the regular file is intact" grep -q "not a socket" "$SOCK"
rm -f "$SOCK"

# systemd socket activation (Accept=no): the listening socket arrives as fd 3
python3 "$SRCDIR/tests/e2e/lmtp_activate.py" "$W/sd.sock" "$MDA" -C "$W/mda.conf" -L systemd 2>>"$W/daemon.log" &
DPID=$!
sleep 0.5
SOCK=$W/sd.sock client transcript
python3 "$SRCDIR/tests/e2e/lmtp_client.py" "unix:$W/sd.sock" transcript 2>>"$W/client.log" || fail "systemd-activated daemon"
kill -TERM "$DPID"; wait "$DPID" || fail "activated daemon exit status"
DPID=
check "systemd's socket file is systemd's to remove" [ -S "$W/sd.sock" ]
check "activated daemon refuses without LISTEN_PID" absent "$MDA" -C "$W/mda.conf" -L systemd 2>/dev/null
echo ok
