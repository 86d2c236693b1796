#!/bin/bash
# Two delivery hosts on one shared spool, simulated on one kernel: two `mda -L` daemons, each in
# its own UTS (hostname: liblockfile names its temporary lock files after it), mount, network
# and PID namespace, with the same spool directory bind-mounted into both, each listening on
# its own address. A throwaway Postfix delivers to both through one LMTP destination whose name
# resolves to both addresses (8 concurrent deliveries) while `mail` sessions on both hosts save,
# delete and quit on the same mailboxes. Then host a's daemon is killed with SIGKILL in the
# middle of deliveries (as PID 1 of its PID namespace it takes its sessions and host a's mail
# sessions with it, as a host crash does) and booted again. multihost.py drives and checks it.
# Sizes: MULTIHOST_MESSAGES (per round; 2000 with QUICK=1, else 10000), MULTIHOST_CRASHES
# (kills per round; 1 with QUICK=1, else 5), MULTIHOST_STORES ("xattr files"), MULTIHOST_READER
# (see multihost.py). What this cannot show: NFS itself (attribute caches, lockd, server
# reboots); see README.md, "Several delivery hosts on one spool".
. "$(dirname "$0")/lib.sh"
. "$HERE/../e2e/postfix-lib.bash"
need_binaries
[ "$(id -u)" = 0 ] || skip "needs root (namespaces, veth, Postfix)"
for c in unshare nsenter ip python3; do command -v $c >/dev/null || skip "$c is not installed"; done
why=$(pf_available) || skip "no Postfix: $why"
unshare --uts --mount --net --pid --fork true 2>/dev/null || skip "unshare of uts/mount/net/pid namespaces refused"
ip link add "mhp$$" type veth peer name "mhq$$" 2>/dev/null || skip "no veth pairs (ip link add type veth refused)"
ip link del "mhp$$"

# Postfix must resolve one name to both hosts: a private /etc/hosts, in a mount namespace of
# this script only (the system's file is never touched).
if [ "${MULTIHOST_PRIVATE_NS:-}" != 1 ]; then
	exec env MULTIHOST_PRIVATE_NS=1 unshare --mount --propagation private bash "$0" "$@"
fi
{ cat /etc/hosts; echo; } >"$T/hosts"

W=$T/world
world "$W" 4
boxes=4 msgs=${MULTIHOST_MESSAGES:-10000} crashes=${MULTIHOST_CRASHES:-5}
[ "$QUICK" = 1 ] && msgs=${MULTIHOST_MESSAGES:-2000} crashes=${MULTIHOST_CRASHES:-1}
# The spool as the file server holds it, and the path at which both hosts mount it.
EXPORT=$T/export MNT=$T/mnt
mkdir -p "$EXPORT" "$MNT/spool" "$MNT/local"
chmod 755 "$T" "$W"
# What README.md tells sites with several hosts to set (MULTIHOST_SHARED_SPOOL=no: the default
# instead, where liblockfile's PID test breaks the other host's dotlocks and only the fcntl
# lock keeps them apart).
shared=${MULTIHOST_SHARED_SPOOL:-yes}
shared_opt=()
[ "$shared" = yes ] && shared_opt=(--shared-spool)
cat >"$W/host.conf" <<EOC
spool_dir = $MNT/spool
tmp_dir = $MNT/local/tmp
passwd_file = $W/passwd
aliases_db = $W/aliases.db
aliases_file = $W/aliases
log = stderr
mail_group =
lock_timeout = 30
shared_spool = $shared
EOC
# NET: a 10.X prefix no interface of this machine uses, so that two runs at once (several
# make torture on one machine) never route one's deliveries to the other's hosts.
NET=
for _ in $(seq 50); do
	x=$((RANDOM % 200 + 20))
	ip -o -4 addr | grep -q " 10\.$x\." || { NET=10.$x; break; }
done
[ -n "$NET" ] || fail "no free 10.X prefix for the hosts' addresses"
HOLDERS=() VETHS=()
cleanup() {
	local p v
	# Boots (each host's PID namespace) first: their init's PID is in T/boots.
	[ -f "$T/boots" ] && while read -r p; do kill -9 "$p" 2>/dev/null; done <"$T/boots"
	for p in "${HOLDERS[@]}"; do kill "$p" 2>/dev/null; done
	for v in "${VETHS[@]}"; do ip link del "$v" 2>/dev/null; done
	pf_stop
}
trap cleanup EXIT

# host_up NAME N: a "host": a process holding a UTS namespace (hostname NAME), a mount
# namespace in which EXPORT is mounted at MNT/spool and NAME's own local directory at
# MNT/local, and a network namespace joined to ours by a veth pair (NET.N.2 there, NET.N.1
# here). Prints the holder's PID. Daemons boot in it with a PID namespace each.
host_up() {
	local name=$1 n=$2 v pid
	v=mh$$$n
	mkdir -p "$T/$name/local/tmp"
	unshare --uts --mount --net --propagation private sh -c '
		hostname "$1" && mount --bind "$2" "$3/spool" && mount --bind "$4" "$3/local" || exit 1
		exec sleep 100000' sh "$name" "$EXPORT" "$MNT" "$T/$name/local" &
	pid=$!
	for _ in $(seq 50); do
		[ "$(nsenter -t "$pid" -u hostname 2>/dev/null)" = "$name" ] &&
			nsenter -t "$pid" -m mountpoint -q "$MNT/local" && break
		sleep 0.1
	done
	HOLDERS+=("$pid")
	ip link add "$v" type veth peer name eth0 netns "$pid" || fail "veth for $name"
	VETHS+=("$v")
	ip addr add "$NET.$n.1/30" dev "$v" && ip link set "$v" up || fail "address of $v"
	nsenter -t "$pid" -n sh -c "ip link set lo up && ip addr add $NET.$n.2/30 dev eth0 && ip link set eth0 up" ||
		fail "address of $name"
	echo "$name:$pid:$NET.$n.2" >>"$T/hosts.list"
	echo "$NET.$n.2 mdahosts" >>"$T/hosts"
}
: >"$T/hosts.list"
host_up hosta 17
host_up hostb 18
mount --bind "$T/hosts" /etc/hosts || fail "cannot bind the private /etc/hosts"
getent ahostsv4 mdahosts | awk '$2 == "STREAM" {print $1}' | sort | tr '\n' ' ' | grep -qx "$NET.17.2 $NET.18.2 " ||
	fail "mdahosts does not resolve to both hosts: $(getent ahostsv4 mdahosts | tr '\n' ' ')"
[ "$(nsenter -t "${HOLDERS[0]}" -u hostname)" != "$(nsenter -t "${HOLDERS[1]}" -u hostname)" ] || fail "hostnames"
touch "$EXPORT/.probe"
nsenter -t "${HOLDERS[1]}" -m test -f "$MNT/spool/.probe" && [ ! -e "$MNT/spool/.probe" ] ||
	fail "the spool is not shared by bind mount only inside the hosts"
rm -f "$EXPORT/.probe"
note "shared_spool = $shared"
note "hosts: hosta ($NET.17.2) and hostb ($NET.18.2): own hostname, mount, network and PID namespaces; spool $EXPORT bind-mounted at $MNT/spool in both"

port=$((20000 + $$ % 20000))
# lmtp_host_lookup = native reads the private /etc/hosts; connections are reused for at most
# 20 deliveries, so new ones keep choosing among both addresses (randomized); retries of a
# deferred message come after a second, not minutes.
pf_start "$W/pf" "$port" "" "local_recipient_maps =" "local_transport = lmtp:inet:mdahosts:24" \
	"lmtp_host_lookup = native" "lmtp_destination_concurrency_limit = 8" \
	"lmtp_initial_destination_concurrency = 8" "lmtp_connection_reuse_count_limit = 20" \
	"minimal_backoff_time = 1s" "maximal_backoff_time = 2s" "queue_run_delay = 1s" ||
	fail "postfix did not start: $(tail -5 "$W/pf/maillog" 2>/dev/null)"
note "Postfix $(postconf -c "$PF_CONF" -h mail_version): local_transport = lmtp:inet:mdahosts:24, 8 concurrent LMTP deliveries"

# Both record stores: user xattrs on the mailbox (a local disk, NFSv4.2 with user xattrs) and
# the files beside it (NFSv3, v4.0/4.1, or a server without user xattrs).
stores=${MULTIHOST_STORES:-xattr files}
for store in $stores; do
	note "--- recovery records in $store"
	find "$EXPORT" -mindepth 1 -delete
	python3 "$HERE/multihost.py" --mda "$MDA" --mail "$MAIL" --conf "$W/host.conf" --export "$EXPORT" \
		--mnt "$MNT" --hosts "$T/hosts.list" --boots "$T/boots" --smtp-port "$port" --maillog "$W/pf/maillog" \
		--messages "$msgs" --crashes "$crashes" --boxes "$boxes" --store "$store" --out "$T/out-$store" "${shared_opt[@]}" ||
		fail "the $store round failed (see above)"
	for ((i = 0; i < boxes; i++)); do
		b=$EXPORT/u$(printf %03d $i)
		[ -f "$b" ] || continue
		readers_agree "$b" "$(python3 "$HERE/mbox_check.py" "$b" | sed -n 's/^intact=\([0-9]*\).*/\1/p')"
	done
done

# What the dotlock does between hosts: with shared_spool = no liblockfile is called with L_PID,
# and kill(PID, 0) answers for this host's processes only (notes); with yes a lock is judged by
# its age, so a live lock holds on both hosts and an old one is stale on both (asserted).
if command -v dotlockfile >/dev/null; then
	python3 "$HERE/multihost.py" --mda "$MDA" --mail "$MAIL" --conf "$W/host.conf" --export "$EXPORT" \
		--mnt "$MNT" --hosts "$T/hosts.list" --boots "$T/boots" --probe-locks --out "$T/out-probe" ||
		fail "lock probe failed (see above)"
else
	note "lock probe skipped: no dotlockfile(1) to hold a lock (Debian: liblockfile-bin)"
fi
echo "PASS"
