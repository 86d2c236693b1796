#!/bin/bash
# `mda -L unix:...`: the daemon. Conversations, concurrency, socket mode/owner/group, limits after
# a SIGHUP reload, timeouts, max connections (overall and per uid), junk commands, the session time
# limit, no zombies, SIGTERM draining, stale/foreign socket files, and systemd socket activation.
. "$SRCDIR/tests/e2e/lib.bash"
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

# the clients run as the daemon's user: the socket keeps the daemon's group
echo "lmtp_socket_mode = 0660" >>"$W/mda.conf"
echo "lmtp_socket_group =" >>"$W/mda.conf"
echo "message_size_limit = 2000" >>"$W/mda.conf"
start_daemon
check "socket mode from lmtp_socket_mode" [ "$(stat -c %a "$SOCK")" = 660 ]
check "socket group kept with lmtp_socket_group empty" [ "$(stat -c %g "$SOCK")" = "$(id -g)" ]
# socket_as GROUP [OWNER]: "mode user group" of a socket made with those keys, and its log
socket_as() {
	local s=$W/own.sock pid
	"$MDA" -C "$W/mda.conf" -o "lmtp_socket_group=$1" -o "lmtp_socket_owner=${2:-}" -L "unix:$s" 2>"$W/own.log" &
	pid=$!
	for _ in $(seq 50); do [ -S "$s" ] && break; sleep 0.1; done
	stat -c '%a %U %G' "$s"
	kill -TERM "$pid"; wait "$pid" || true
}
got=$(socket_as no-such-group-mda)
check "unknown group: socket kept closed ($got)" [ "$got" = "660 $(id -un) $(id -gn)" ]
check "unknown group: one warning" [ "$(grep -c 'cannot give the LMTP socket' "$W/own.log")" = 1 ]
if [ "$(id -u)" = 0 ] && getent group mail >/dev/null && getent passwd nobody >/dev/null; then
	check "lmtp_socket_owner/group applied" [ "$(socket_as mail nobody)" = "660 nobody mail" ]
	if getent group postfix >/dev/null; then
		grep -v '^lmtp_socket_group' "$W/mda.conf" >"$W/default.conf"
		got=$("$MDA" -C "$W/default.conf" -L "unix:$W/def.sock" 2>"$W/own.log" & p=$!
		      for _ in $(seq 50); do [ -S "$W/def.sock" ] && break; sleep 0.1; done
		      stat -c '%a %U %G' "$W/def.sock"; kill -TERM $p; wait $p)
		check "default socket: 0660 root:postfix ($got)" [ "$got" = "660 root postfix" ]
	fi
else
	echo "socket owner/group part skipped: not root, or no mail group / nobody user"
fi
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

# per-uid limit, junk commands, session time limit
cat >>"$W/mda.conf" <<EOC
lmtp_max_connections = 4
lmtp_client_connection_limit = 2
lmtp_junk_command_limit = 3
EOC
kill -HUP "$DPID"
sleep 0.5
python3 "$SRCDIR/tests/e2e/lmtp_client.py" "unix:$SOCK" hold 6 "$W/m.u1" 2>>"$W/client.log" & H1=$!
python3 "$SRCDIR/tests/e2e/lmtp_client.py" "unix:$SOCK" hold 6 "$W/m.u2" 2>>"$W/client.log" & H2=$!
await "$W/m.u1"; await "$W/m.u2"
client busy_client uid
grep -q "refusing connection from local\[uid=$(id -u)\]: Error: too many connections from your uid" "$W/daemon.log" ||
	fail "per-uid refusal not logged"
# the held sessions send a NOOP every 0.5 s: past 3 junk + 5 errors they are cut with 421 4.7.0
wait $H1 && fail "a session of NOOPs only outlived the junk limit"
wait $H2 && fail "a session of NOOPs only outlived the junk limit"
check "junk limit logged for both" [ "$(grep -c '3 junk commands from local\[uid=' "$W/daemon.log")" = 2 ]
client junk 3 5
echo "lmtp_session_time_limit = 1" >>"$W/mda.conf"
kill -HUP "$DPID"
sleep 0.5
client session_limit 1
echo "lmtp_session_time_limit = 3600" >>"$W/mda.conf"
kill -HUP "$DPID"
sleep 0.5

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
# A socket whose whole path is longer than sun_path's 108 bytes: Postfix connects to
# private/NAME from its queue directory, so only the name has to fit (a deep queue_directory).
deep=$W/deep/$(printf 'd%.0s' $(seq 60))/$(printf 'e%.0s' $(seq 60))
mkdir -p "$deep"
SOCK=$deep/mda-lmtp start_daemon
SOCK=mda-lmtp
(cd "$deep" && client transcript)
kill -TERM "$DPID"; wait "$DPID" || fail "deep-path daemon exit status"
DPID=
check "the deep socket is removed at SIGTERM" [ ! -e "$deep/mda-lmtp" ]
echo ok
