/* The delivery floor: one process per message doing the least a safe mbox append must do:
 * open (O_APPEND|O_CREAT), fcntl write lock, append stdin plus a blank line, fsync, close.
 * No dotlock, no From_ quoting, no headers: a lower bound, not a delivery agent.
 * usage: floor MAILBOX < message */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

int main(int argc, char **argv)
{
	static char buf[1 << 16];
	if (argc != 2) {
		fprintf(stderr, "usage: floor MAILBOX < message\n");
		return 64;
	}
	int fd = open(argv[1], O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		perror(argv[1]);
		return 75;
	}
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
	if (fcntl(fd, F_SETLKW, &fl) < 0) {
		perror("fcntl");
		return 75;
	}
	char from[128];
	int n = snprintf(from, sizeof from, "From floor@localhost %ld\n", (long)time(NULL));
	if (write_all(fd, from, (size_t)n) < 0)
		return 75;
	ssize_t r;
	while ((r = read(0, buf, sizeof buf)) > 0)
		if (write_all(fd, buf, (size_t)r) < 0)
			return 75;
	if (r < 0 || write_all(fd, "\n", 1) < 0 || fsync(fd) < 0 || close(fd) < 0)
		return 75;
	return 0;
}
