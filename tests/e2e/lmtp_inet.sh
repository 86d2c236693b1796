#!/bin/bash
# `mda -L inet:HOST:PORT`: the daemon over TCP, IPv4 and (when the host has it) IPv6; a client on
# this host is known by the uid owning its socket and limited per uid, not per shared 127.0.0.1.
. "$SRCDIR/tests/e2e/lib.bash"
export MDA=${MDA:-$BUILD/mda}
[ -x "$MDA" ] || fail "no mda binary at $MDA"
command -v python3 >/dev/null || skip "python3 missing"
make_world
DPID=
cleanup() { [ -z "$DPID" ] || kill "$DPID" 2>/dev/null || true; wait 2>/dev/null || true; }
trap cleanup EXIT
free_port() { python3 -c "import socket; s=socket.socket(socket.$1); s.bind(('$2', 0)); print(s.getsockname()[1])"; }
client() { python3 "$SRCDIR/tests/e2e/lmtp_client.py" "$@" 2>>"$W/client.log" || { tail -5 "$W/client.log"; tail -5 "$W/daemon.log"; fail "lmtp_client $*"; }; }
serve() {
	"$MDA" -C "$W/mda.conf" -L "inet:$1" 2>>"$W/daemon.log" &
	DPID=$!
	for _ in $(seq 50); do
		grep -qF "listening on inet:$1" "$W/daemon.log" && return 0
		kill -0 "$DPID" 2>/dev/null || { cat "$W/daemon.log"; fail "daemon on inet:$1 exited"; }
		sleep 0.1
	done
	fail "daemon on inet:$1 not listening"
}
stop() { kill -TERM "$DPID"; wait "$DPID" || fail "daemon exit status"; DPID=; }

await() { for _ in $(seq 100); do [ -e "$1" ] && return 0; sleep 0.1; done; fail "client never got to $1"; }
echo "lmtp_client_connection_limit = 2" >>"$W/mda.conf"
port=$(free_port AF_INET 127.0.0.1)
serve "127.0.0.1:$port"
client "inet:127.0.0.1:$port" transcript
client "inet:127.0.0.1:$port" pipelined 3
grep -q "connect from \[127.0.0.1\]:" "$W/daemon.log" || fail "peer address not logged"
grep -q "connect from \[127.0.0.1\]:[0-9]* uid=$(id -u)\$" "$W/daemon.log" || fail "the local client's uid not found"
sleep 0.5     # the sessions above are reaped
python3 "$SRCDIR/tests/e2e/lmtp_client.py" "inet:127.0.0.1:$port" hold 3 "$W/m.1" 2>>"$W/client.log" & H1=$!
python3 "$SRCDIR/tests/e2e/lmtp_client.py" "inet:127.0.0.1:$port" hold 3 "$W/m.2" 2>>"$W/client.log" & H2=$!
await "$W/m.1"; await "$W/m.2"
client "inet:127.0.0.1:$port" busy_client uid
wait $H1 || fail "first held session"
wait $H2 || fail "second held session"
stop
check "bob got the pipelined messages" [ "$(grep -c '^From ' "$W/spool/bob")" = 4 ]

if port6=$(free_port AF_INET6 ::1 2>/dev/null); then
	serve "[::1]:$port6"
	client "inet:[::1]:$port6" transcript
	stop
else
	echo "IPv6 part skipped: no ::1 on this host"
fi
check "a bad address is refused" bash -c "! '$MDA' -C '$W/mda.conf' -L inet:nonsense 2>/dev/null"
echo ok
