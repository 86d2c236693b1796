/* Child processes of delivery: privilege-dropped workers and |command / sendmail runners. */
#include "mda/deliver_int.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define RUN_CHUNK 65536
#define RUN_ERRLINE 200

static bool write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return false;
		p += n;
		len -= (size_t)n;
	}
	return true;
}

static size_t read_all(int fd, void *buf, size_t len)
{
	char *p = buf;
	size_t got = 0;
	while (got < len) {
		ssize_t n = read(fd, p + got, len - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	return got;
}

/* The mail group's gid, looked up once per process (-1 when unset or unknown). */
static gid_t mail_group_gid(const struct config *cfg)
{
	static char looked_up[64];
	static gid_t gid = (gid_t)-1;
	static bool done;
	if (!done || strcmp(looked_up, cfg->mail_group) != 0) {
		struct group *g = cfg->mail_group[0] ? getgrnam(cfg->mail_group) : NULL;
		gid = g ? g->gr_gid : (gid_t)-1;
		snprintf(looked_up, sizeof looked_up, "%s", cfg->mail_group);
		done = true;
	}
	return gid;
}

/* The user's primary group only, plus the mail group for mailbox delivery (with it the child
 * can create the mailbox and its dotlock in a 2775 root:mail spool without any setgid bit).
 * No supplementary groups, as Postfix's local(8) does for mailbox, file and command
 * deliveries: fewer rights, and no group-membership walk through every NSS module (with
 * Debian's "group: files systemd" initgroups costs ~100 openat(2) per delivery). */
static int set_groups(const struct config *cfg, const struct user_info *u, bool add_mail, struct result *r)
{
	gid_t list[2] = { u->gid, (gid_t)-1 };
	size_t n = 1;
	gid_t mail = add_mail ? mail_group_gid(cfg) : (gid_t)-1;
	if (mail != (gid_t)-1 && mail != u->gid)
		list[n++] = mail;
	if (setgroups(n, list) != 0)
		return res_errno(r, errno, false, "setgroups for %s", u->name);
	return EX_OK;
}

/* Becomes the user for good; verifies that root cannot be regained. */
static int drop_privileges(const struct config *cfg, const struct user_info *u, bool add_mail,
			   struct result *r)
{
	if (set_groups(cfg, u, add_mail, r) != EX_OK)
		return r->ex;
	if (setgid(u->gid) != 0)
		return res_errno(r, errno, false, "setgid %u", (unsigned)u->gid);
	if (setuid(u->uid) != 0)
		return res_errno(r, errno, false, "setuid %u", (unsigned)u->uid);
	if (u->uid != 0 && (setuid(0) == 0 || geteuid() == 0))
		return res_set(r, EX_SOFTWARE, "4.3.0", "privileges not dropped for %s", u->name);
	return EX_OK;
}

/* The CPUs this process may use, as it started; commands get them back (child_exec). */
static cpu_set_t all_cpus;
static bool all_cpus_known;

/* A delivery child lives for one append while its parent only waits for it: started on the
 * parent's CPU it runs at once, where a wakeup on another (idle, on a VM often deeply idle)
 * CPU has been measured to cost milliseconds per delivery. The parent's own CPU set is
 * restored right after the fork. */
static bool pin_to_this_cpu(void)
{
	int cpu = sched_getcpu();
	cpu_set_t one;
	if (cpu < 0 || (!all_cpus_known && sched_getaffinity(0, sizeof all_cpus, &all_cpus) != 0))
		return false;
	all_cpus_known = true;
	CPU_ZERO(&one);
	CPU_SET(cpu, &one);
	return sched_setaffinity(0, sizeof one, &one) == 0;
}

static void unpin(bool pinned)
{
	if (pinned)
		sched_setaffinity(0, sizeof all_cpus, &all_cpus);
}

int deliver_as_user(const struct config *cfg, const struct user_info *runas, bool add_mail_group,
		    int (*fn)(void *arg, struct result *r), void *arg, struct result *r)
{
	int p[2], status;
	struct result child = { .ex = EX_SOFTWARE };
	if (geteuid() != 0 || runas->uid == 0)
		return fn(arg, r);
	if (pipe2(p, O_CLOEXEC) != 0)
		return res_errno(r, errno, false, "pipe");
	bool pinned = pin_to_this_cpu();
	pid_t pid = fork();
	if (pid != 0)
		unpin(pinned);
	if (pid < 0) {
		close(p[0]);
		close(p[1]);
		return res_errno(r, errno, false, "fork");
	}
	if (pid == 0) {
		close(p[0]);
		umask(077);
		/* The function's return value is the verdict, whatever it left in the result. */
		if (drop_privileges(cfg, runas, add_mail_group, &child) == EX_OK)
			child.ex = fn(arg, &child);
		_exit(write_all(p[1], &child, sizeof child) ? 0 : 1);
	}
	close(p[1]);
	size_t got = read_all(p[0], &child, sizeof child);
	close(p[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (got != sizeof child)
		return res_set(r, EX_TEMPFAIL, "4.3.0", "delivery process for %s died", runas->name);
	child.dsn[sizeof child.dsn - 1] = '\0';
	child.reason[sizeof child.reason - 1] = '\0';
	*r = child;
	return r->ex;
}

/* Feeds prefix+message into the child's stdin and keeps its first stderr line. */
struct run_io {
	const struct deliver_spawn_req *req;
	int in_fd, err_fd;
	size_t prefix_off;
	off_t msg_off;
	char buf[RUN_CHUNK];
	size_t buf_len, buf_off;
	bool input_done;
	char errline[RUN_ERRLINE];
	size_t err_len;
	bool err_line_done;
	int io_errno;             /* spool read failure: delivery must not count as done */
};

static void load_chunk(struct run_io *io)
{
	const char *prefix = io->req->prefix ? io->req->prefix : "";
	size_t plen = strlen(prefix);
	io->buf_off = io->buf_len = 0;
	if (io->prefix_off < plen) {
		size_t n = plen - io->prefix_off < RUN_CHUNK ? plen - io->prefix_off : RUN_CHUNK;
		memcpy(io->buf, prefix + io->prefix_off, n);
		io->prefix_off += n;
		io->buf_len = n;
		return;
	}
	ssize_t n;
	do
		n = pread(io->req->msg->fd, io->buf, RUN_CHUNK, io->msg_off);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		io->io_errno = errno;
	if (n <= 0) {
		io->input_done = true;
		return;
	}
	io->msg_off += n;
	io->buf_len = (size_t)n;
}

static void close_input(struct run_io *io)
{
	if (io->in_fd >= 0)
		close(io->in_fd);
	io->in_fd = -1;
	io->input_done = true;
}

static void feed_input(struct run_io *io)
{
	if (io->buf_off == io->buf_len)
		load_chunk(io);
	if (io->input_done) {
		close_input(io);
		return;
	}
	ssize_t n = write(io->in_fd, io->buf + io->buf_off, io->buf_len - io->buf_off);
	if (n > 0)
		io->buf_off += (size_t)n;
	else if (n < 0 && errno != EAGAIN && errno != EINTR)
		close_input(io);   /* EPIPE: the command need not read everything */
}

static void drain_stderr(struct run_io *io)
{
	char tmp[4096];
	ssize_t n = read(io->err_fd, tmp, sizeof tmp);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		close(io->err_fd);
		io->err_fd = -1;
		return;
	}
	for (ssize_t i = 0; i < n && !io->err_line_done; i++) {
		if (tmp[i] == '\n' || io->err_len + 1 >= sizeof io->errline) {
			io->err_line_done = true;
			break;
		}
		io->errline[io->err_len++] = ((unsigned char)tmp[i] < 0x20) ? ' ' : tmp[i];
	}
	io->errline[io->err_len] = '\0';
}

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Pumps both pipes until the child closed stderr and took its input, or the deadline. */
static bool pump(struct run_io *io, long long deadline)
{
	while (io->in_fd >= 0 || io->err_fd >= 0) {
		struct pollfd pf[2] = { { .fd = io->in_fd, .events = POLLOUT }, { .fd = io->err_fd, .events = POLLIN } };
		int wait = deadline ? (int)(deadline - now_ms()) : -1;
		if (deadline && wait <= 0)
			return false;
		int n = poll(pf, 2, wait);
		if (n < 0 && errno != EINTR)
			return false;
		if (n <= 0)
			continue;
		if (pf[0].revents & (POLLOUT | POLLERR | POLLHUP))
			feed_input(io);
		if (pf[1].revents & (POLLIN | POLLERR | POLLHUP))
			drain_stderr(io);
	}
	return true;
}

/* Waits for the child until the deadline; false on timeout. */
static bool wait_child(pid_t pid, int *status, long long deadline)
{
	long nap = 1;
	for (;;) {
		pid_t w = waitpid(pid, status, deadline ? WNOHANG : 0);
		if (w == pid)
			return true;
		if (w < 0 && errno != EINTR)
			return true;
		if (deadline && now_ms() >= deadline)
			return false;
		struct timespec ts = { 0, nap * 1000000L };
		nanosleep(&ts, NULL);
		if (nap < 50)
			nap *= 2;
	}
}

static void child_exec(const struct deliver_spawn_req *req, int in_fd, int err_fd)
{
	int devnull = open("/dev/null", O_WRONLY);
	setsid();   /* its own process group, so a timeout kills every descendant */
	if (dup2(in_fd, 0) < 0 || dup2(err_fd, 2) < 0 || devnull < 0 || dup2(devnull, 1) < 0)
		_exit(EX_OSERR);
	signal(SIGPIPE, SIG_DFL);   /* SIG_IGN would survive exec */
	signal(SIGXFSZ, SIG_DFL);   /* main() ignores it */
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	if (all_cpus_known)
		sched_setaffinity(0, sizeof all_cpus, &all_cpus);   /* a command may use every CPU */
	umask(077);
	if (req->dir && chdir(req->dir) != 0 && chdir("/") != 0)
		_exit(EX_OSERR);
	execve(req->argv[0], (char *const *)req->argv, (char *const *)req->envp);
	dprintf(2, "cannot execute %s: %s\n", req->argv[0], strerror(errno));
	_exit(EX_TEMPFAIL);
}

static int classify(const struct deliver_spawn_req *req, int status, const struct run_io *io, struct result *r)
{
	const char *sep = io->errline[0] ? ": " : "";
	if (io->io_errno)
		return res_errno(r, io->io_errno, false, "reading the spooled message for %s", req->what);
	if (WIFSIGNALED(status))
		return res_set(r, EX_TEMPFAIL, "4.3.0", "%s killed by signal %d%s%s", req->what,
			       WTERMSIG(status), sep, io->errline);
	int code = WIFEXITED(status) ? WEXITSTATUS(status) : EX_SOFTWARE;
	if (code == 0) {
		*r = res_ok(NULL);
		return EX_OK;
	}
	if (code == EX_TEMPFAIL || code == EX_OSERR)
		return res_set(r, EX_TEMPFAIL, "4.3.0", "%s temporary failure (exit %d)%s%s", req->what, code,
			       sep, io->errline);
	return res_set(r, EX_UNAVAILABLE, "5.3.0", "%s failed with exit status %d%s%s", req->what, code, sep,
		       io->errline);
}

/* The parent's side: feed, collect, wait, kill on timeout, classify. */
static int supervise(const struct deliver_spawn_req *req, pid_t pid, struct run_io *io, struct result *r)
{
	int status = 0;
	struct sigaction ign = { .sa_handler = SIG_IGN }, old;
	fcntl(io->in_fd, F_SETFL, O_NONBLOCK);
	fcntl(io->err_fd, F_SETFL, O_NONBLOCK);
	sigaction(SIGPIPE, &ign, &old);
	long long deadline = req->timeout > 0 ? now_ms() + (long long)req->timeout * 1000 : 0;
	bool in_time = pump(io, deadline) && wait_child(pid, &status, deadline);
	sigaction(SIGPIPE, &old, NULL);
	if (io->in_fd >= 0)
		close(io->in_fd);
	if (io->err_fd >= 0)
		close(io->err_fd);
	if (!in_time) {
		kill(-pid, SIGKILL);
		kill(pid, SIGKILL);   /* in case it had not reached setsid() yet */
		while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
			;
		return res_set(r, EX_TEMPFAIL, "4.3.0", "%s time limit of %d s exceeded%s%s", req->what,
			       req->timeout, io->errline[0] ? ": " : "", io->errline);
	}
	return classify(req, status, io, r);
}

int deliver_spawn(const struct deliver_spawn_req *req, struct result *r)
{
	int in[2], err[2];
	if (pipe2(in, O_CLOEXEC) != 0)
		return res_errno(r, errno, false, "pipe");
	if (pipe2(err, O_CLOEXEC) != 0) {
		close(in[0]);
		close(in[1]);
		return res_errno(r, errno, false, "pipe");
	}
	pid_t pid = fork();
	if (pid == 0)
		child_exec(req, in[0], err[1]);
	close(in[0]);
	close(err[1]);
	/* 64 KB buffer: off the stack, and not static so concurrent users stay possible. */
	struct run_io *io = pid > 0 ? calloc(1, sizeof *io) : NULL;
	if (!io) {
		int e = pid < 0 ? errno : ENOMEM;
		close(in[1]);
		close(err[0]);
		if (pid > 0) {
			kill(pid, SIGKILL);
			waitpid(pid, NULL, 0);
		}
		return res_errno(r, e, false, "starting %s", req->what);
	}
	io->req = req;
	io->in_fd = in[1];
	io->err_fd = err[0];
	supervise(req, pid, io, r);
	free(io);
	return r->ex;
}
