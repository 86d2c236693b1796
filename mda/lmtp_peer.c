/* LMTP peer identification: the uid of a local client (SO_PEERCRED, or sock_diag for TCP from
 * this host) or the address of a remote one, so that per-client limits count the right thing. */
#include "mda/lmtp_peer.h"

#include <arpa/inet.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pwd.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

static void peer_unknown(struct lmtp_peer *p, const char *name)
{
	memset(p, 0, sizeof *p);
	p->kind = PEER_UNKNOWN;
	snprintf(p->name, sizeof p->name, "%s", name);
}

/* The address octets and port of an AF_INET/AF_INET6 address; IPv4-mapped IPv6 becomes IPv4
 * (one host must not get two limits by connecting both ways). False for other families. */
static bool inet_parts(const struct sockaddr_storage *ss, int *family, unsigned char addr[16],
		       unsigned short *port)
{
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)ss;
		*family = AF_INET;
		memcpy(addr, &in->sin_addr, 4);
		*port = in->sin_port;
		return true;
	}
	if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)ss;
		*port = in6->sin6_port;
		if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr)) {
			*family = AF_INET;
			memcpy(addr, in6->sin6_addr.s6_addr + 12, 4);
		} else {
			*family = AF_INET6;
			memcpy(addr, in6->sin6_addr.s6_addr, 16);
		}
		return true;
	}
	return false;
}

/* Asks the kernel who owns the client's end of a TCP connection (the socket whose local address
 * is the peer's and whose remote address is ours, as `ss -e` does). Found only when the client
 * runs on this host, in this network namespace; false otherwise, and on any error. */
static bool tcp_owner(int fd, const struct sockaddr_storage *peer, uid_t *uid)
{
	struct sockaddr_storage self;
	socklen_t sl = sizeof self;
	unsigned char paddr[16] = { 0 }, saddr[16] = { 0 };
	unsigned short pport, sport;
	int pfam, sfam;
	if (getsockname(fd, (struct sockaddr *)&self, &sl) != 0 || self.ss_family != peer->ss_family ||
	    !inet_parts(peer, &pfam, paddr, &pport) || !inet_parts(&self, &sfam, saddr, &sport) ||
	    pfam != (int)peer->ss_family)
		return false;      /* IPv4-mapped sockets are left to the per-address limit */
	struct {
		struct nlmsghdr nlh;
		struct inet_diag_req_v2 req;
	} msg;
	memset(&msg, 0, sizeof msg);
	msg.nlh.nlmsg_len = sizeof msg;
	msg.nlh.nlmsg_type = SOCK_DIAG_BY_FAMILY;
	msg.nlh.nlmsg_flags = NLM_F_REQUEST;
	msg.req.sdiag_family = (unsigned char)pfam;
	msg.req.sdiag_protocol = IPPROTO_TCP;
	msg.req.idiag_states = ~0U;
	msg.req.id.idiag_sport = pport;
	msg.req.id.idiag_dport = sport;
	memcpy(msg.req.id.idiag_src, paddr, sizeof msg.req.id.idiag_src);
	memcpy(msg.req.id.idiag_dst, saddr, sizeof msg.req.id.idiag_dst);
	msg.req.id.idiag_cookie[0] = msg.req.id.idiag_cookie[1] = INET_DIAG_NOCOOKIE;
	int nl = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
	if (nl < 0)
		return false;
	struct timeval tv = { .tv_sec = 1 };     /* the accept loop must never stall on this */
	setsockopt(nl, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };
	long buf[2048 / sizeof(long)];
	bool found = false;
	if (sendto(nl, &msg, sizeof msg, 0, (struct sockaddr *)&kernel, sizeof kernel) == (ssize_t)sizeof msg) {
		ssize_t n = recv(nl, buf, sizeof buf, 0);
		const struct nlmsghdr *h = (const struct nlmsghdr *)buf;
		if (n > 0 && NLMSG_OK(h, (size_t)n) && h->nlmsg_type == SOCK_DIAG_BY_FAMILY &&
		    h->nlmsg_len >= NLMSG_LENGTH(sizeof(struct inet_diag_msg))) {
			const struct inet_diag_msg *m = NLMSG_DATA(h);
			/* The answer must be the socket asked about, not merely a socket. */
			if (m->id.idiag_sport == pport && m->id.idiag_dport == sport &&
			    memcmp(m->id.idiag_src, paddr, pfam == AF_INET ? 4 : 16) == 0) {
				*uid = m->idiag_uid;
				found = true;
			}
		}
	}
	close(nl);
	return found;
}

void lmtp_peer_identify(int fd, const struct sockaddr_storage *ss, socklen_t len, struct lmtp_peer *p)
{
	char host[INET6_ADDRSTRLEN] = "", port[16] = "";
	unsigned short nport;
	uid_t uid;
	if (len == 0 || ss->ss_family == AF_UNIX) {
		struct ucred cred;
		socklen_t cl = sizeof cred;
		peer_unknown(p, "local");
		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &cl) == 0 && cl == sizeof cred) {
			p->kind = PEER_UID;
			p->uid = cred.uid;
			snprintf(p->name, sizeof p->name, "local[uid=%lu]", (unsigned long)cred.uid);
		}
		return;
	}
	peer_unknown(p, "unknown");
	if (!inet_parts(ss, &p->family, p->addr, &nport) ||
	    getnameinfo((const struct sockaddr *)ss, len, host, sizeof host, port, sizeof port,
			NI_NUMERICHOST | NI_NUMERICSERV) != 0)
		return;
	p->kind = PEER_ADDR;
	snprintf(p->name, sizeof p->name, "[%s]:%s", host, port);
	/* All local users share 127.0.0.1 (and may pick any of 127/8): a per-address limit there
	 * would let one of them lock out the MTA, so local clients are limited per uid. */
	if (tcp_owner(fd, ss, &uid)) {
		p->kind = PEER_UID;
		p->uid = uid;
		snprintf(p->name, sizeof p->name, "[%s]:%s uid=%lu", host, port, (unsigned long)uid);
	}
}

bool lmtp_peer_same(const struct lmtp_peer *a, const struct lmtp_peer *b)
{
	if (a->kind != b->kind)
		return false;
	switch (a->kind) {
	case PEER_UID:
		return a->uid == b->uid;
	case PEER_ADDR:
		return a->family == b->family &&
		       memcmp(a->addr, b->addr, a->family == AF_INET ? 4 : 16) == 0;
	default:
		return true;
	}
}

/* True when the first bits of a and b agree. */
static bool prefix_equal(const unsigned char *a, const unsigned char *b, unsigned bits)
{
	unsigned bytes = bits / 8, rest = bits % 8;
	if (memcmp(a, b, bytes) != 0)
		return false;
	return rest == 0 || ((a[bytes] ^ b[bytes]) & (unsigned char)(0xff << (8 - rest))) == 0;
}

/* One address or network item against the peer's address. */
static bool addr_item_matches(const struct lmtp_peer *p, char *item)
{
	unsigned char net[16];
	char *slash = strchr(item, '/');
	int family = strchr(item, ':') ? AF_INET6 : AF_INET, max = family == AF_INET ? 32 : 128;
	long bits = max;
	if (slash) {
		char *end;
		*slash = '\0';
		bits = strtol(slash + 1, &end, 10);
		if (*end || bits < 0 || bits > max)
			return false;
	}
	if (inet_pton(family, item, net) != 1 || p->family != family)
		return false;
	return prefix_equal(net, p->addr, (unsigned)bits);
}

/* One user name item against a local peer's uid. */
static bool user_item_matches(const struct lmtp_peer *p, const char *item)
{
	struct passwd pw, *found = NULL;
	char buf[4096];
	return p->kind == PEER_UID && getpwnam_r(item, &pw, buf, sizeof buf, &found) == 0 && found &&
	       found->pw_uid == p->uid;
}

bool lmtp_peer_listed(const struct lmtp_peer *p, const char *list)
{
	char item[128];
	const char *q = list;
	while (*q) {
		size_t n = strcspn(q, ", \t");
		if (n > 0 && n < sizeof item) {
			memcpy(item, q, n);
			item[n] = '\0';
			bool is_addr = strspn(item, "0123456789abcdefABCDEF:./") == n && (strchr(item, '.') || strchr(item, ':'));
			if (is_addr ? addr_item_matches(p, item) : user_item_matches(p, item))
				return true;
		}
		q += n;
		q += strspn(q, ", \t");
	}
	return false;
}
