/* comsat notification: one non-blocking UDP datagram to localhost per mailbox delivery. */
#include "mda/biff.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* Test hook: MDA_TEST_BIFF_PORT sends to another port (the e2e listener). */
static unsigned short biff_port(void)
{
	static unsigned short port;     /* /etc/services, parsed once per process, not per delivery */
	const char *t = getenv("MDA_TEST_BIFF_PORT");
	if (t && *t)
		return (unsigned short)atoi(t);
	if (!port) {
		struct servent *se = getservbyname("biff", "udp");
		port = se ? ntohs((unsigned short)se->s_port) : 512;
	}
	return port;
}

void biff_notify(const char *user, off_t offset, const char *mailbox)
{
	char msg[2048];
	int n = snprintf(msg, sizeof msg, "%s@%jd:%s", user, (intmax_t)offset, mailbox);
	if (n <= 0 || (size_t)n >= sizeof msg)
		return;
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return;
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(biff_port()),
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	(void)!sendto(fd, msg, (size_t)n, MSG_DONTWAIT, (struct sockaddr *)&sa, sizeof sa);
	close(fd);
}
