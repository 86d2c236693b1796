/* Who is on the other end of an LMTP connection: for log lines and per-client connection limits. */
#ifndef MDA_LMTP_PEER_H
#define MDA_LMTP_PEER_H

#include <stdbool.h>
#include <sys/socket.h>
#include <sys/types.h>

enum lmtp_peer_kind {
	PEER_UNKNOWN,   /* nothing learnt: all such clients share one limit */
	PEER_UID,       /* a local process: limited per uid */
	PEER_ADDR,      /* a remote host: limited per IP address */
};

struct lmtp_peer {
	enum lmtp_peer_kind kind;
	uid_t uid;                     /* PEER_UID */
	int family;                    /* PEER_ADDR: AF_INET or AF_INET6 */
	unsigned char addr[16];        /* PEER_ADDR: 4 or 16 octets, IPv4-mapped IPv6 as IPv4 */
	char name[128];                /* for logs: local[uid=N], [ADDR]:PORT, [ADDR]:PORT uid=N */
};

/* Identifies the client of the connected socket fd whose address accept() or getpeername()
 * gave as ss/len: SO_PEERCRED on a UNIX socket; on TCP the owner of the client's socket when it
 * lives on this host (sock_diag), else its address. Never fails: at worst PEER_UNKNOWN. */
void lmtp_peer_identify(int fd, const struct sockaddr_storage *ss, socklen_t len, struct lmtp_peer *p);

/* True when the peer is on list (lmtp_xforward_clients): items separated by commas or
 * spaces, each an IPv4/IPv6 address or network (ADDR/BITS), matched against a TCP client's
 * address, or a user name, matched against the uid of a local client (SO_PEERCRED on a UNIX
 * socket, sock_diag on TCP from this host). An empty list matches nobody. */
bool lmtp_peer_listed(const struct lmtp_peer *p, const char *list);

/* True when a and b count against the same lmtp_client_connection_limit. */
bool lmtp_peer_same(const struct lmtp_peer *a, const struct lmtp_peer *b);

#endif
